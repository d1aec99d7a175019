// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Stage specs of the executor (exec/exec_plan.c) on resnet18, whose stage
 * ends are layers 1, 4, 7, 11, 14, 18, 21, 25, 28 (its cut points) and 31
 * (prob, the last layer): good specs with indices and names, each rule
 * broken once with the one line it must give, and formatting back. Only
 * CPU 0 is assumed online.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "exec_tiny.h"

static struct dnn_model *resnet18(void)
{
	struct dnn_model *m = dnn_model_alloc();
	char err[512] = "";

	cr_assert_not_null(m);
	cr_assert_eq(zoo_load_named(zoo_default_dir(), "resnet18", m, err, sizeof(err)), 0, "%s",
		     err);
	return m;
}

static void expect_stage(const struct exec_plan *p, int s, int first, int last, int threads,
			 int cpus)
{
	cr_assert_eq(p->stages[s].first, first, "stage %d", s + 1);
	cr_assert_eq(p->stages[s].last, last, "stage %d", s + 1);
	cr_assert_eq(p->stages[s].threads, threads, "stage %d", s + 1);
	cr_assert_eq(CPU_COUNT(&p->stages[s].cpus), cpus, "stage %d", s + 1);
}

Test(exec_plan, good_specs)
{
	struct dnn_model *m = resnet18();
	struct exec_plan p;
	char err[512] = "";

	cr_assert_eq(exec_plan_parse(m, "0-31", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.nr_stages, 1);
	expect_stage(&p, 0, 0, 31, 1, 0);
	cr_assert_eq(exec_plan_parse(m, "0-11x2@0/12-31x1", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.nr_stages, 2);
	expect_stage(&p, 0, 0, 11, 2, 1);
	cr_assert(CPU_ISSET(0, &p.stages[0].cpus));
	expect_stage(&p, 1, 12, 31, 1, 0);
	cr_assert_eq(exec_plan_parse(m, "0-1x16/2-28x3@0/29-31", &p, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(p.nr_stages, 3);
	expect_stage(&p, 0, 0, 1, 16, 0);
	expect_stage(&p, 1, 2, 28, 3, 1);
	expect_stage(&p, 2, 29, 31, 1, 0);
	dnn_model_free(m);
}

Test(exec_plan, names_instead_of_indices)
{
	struct dnn_model *m = resnet18();
	struct exec_plan p;
	char err[512] = "";

	cr_assert_eq(exec_plan_parse(m, "conv1-layer2.0.addx2@0/layer2.1.conv1-prob", &p, err,
				     sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(p.nr_stages, 2);
	expect_stage(&p, 0, 0, 11, 2, 1);
	expect_stage(&p, 1, 12, 31, 1, 0);
	/* Names and indices mixed. */
	cr_assert_eq(exec_plan_parse(m, "0-maxpool/2-prob", &p, err, sizeof(err)), 0, "%s", err);
	expect_stage(&p, 0, 0, 1, 1, 0);
	dnn_model_free(m);
}

/* A name ending in "x<digits>" is a name first when the count does not
 * leave one. */
Test(exec_plan, names_ending_in_x_and_digits)
{
	static const int pad[4] = { 1, 1, 1, 1 };
	struct dnn_model *m = tiny_model(4, 4, 2);
	struct exec_plan p;
	char err[512] = "";

	tiny_conv(m, tiny_conv(m, DNN_INPUT, 3, 3, 1, pad, 1, DNN_ACT_NONE), 2, 3, 1, pad, 1,
		  DNN_ACT_NONE);
	snprintf(m->layers[0].name, sizeof(m->layers[0].name), "conv3x3");
	tiny_finish(m, true);
	cr_assert_eq(exec_plan_parse(m, "0-conv3x3/1-1", &p, err, sizeof(err)), 0, "%s", err);
	expect_stage(&p, 0, 0, 0, 1, 0);
	cr_assert_eq(exec_plan_parse(m, "0-conv3x3x2/1-1x3", &p, err, sizeof(err)), 0, "%s", err);
	expect_stage(&p, 0, 0, 0, 2, 0);
	expect_stage(&p, 1, 1, 1, 3, 0);
	dnn_model_free(m);
}

Test(exec_plan, auto_is_one_stage_on_every_cpu)
{
	struct dnn_model *m = resnet18();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct exec_plan p;
	char err[512] = "";

	cr_assert_eq(exec_plan_parse(m, "auto", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.nr_stages, 1);
	expect_stage(&p, 0, 0, 31, cpus > EXEC_MAX_THREADS ? EXEC_MAX_THREADS : (int)cpus, 0);
	dnn_model_free(m);
}

/* spec fails with one line holding every needle. */
static void expect_bad(struct dnn_model *m, const char *spec, const char *const *needles)
{
	struct exec_plan p;
	char err[512] = "";

	cr_assert_eq(exec_plan_parse(m, spec, &p, err, sizeof(err)), -1, "\"%s\" parsed", spec);
	cr_assert_null(strchr(err, '\n'), "more than one line: %s", err);
	for (; *needles; needles++)
		cr_assert(strstr(err, *needles), "\"%s\": \"%s\" not in: %s", spec, *needles, err);
}

Test(exec_plan, bad_specs_say_what_is_wrong)
{
	struct dnn_model *m = resnet18();

	expect_bad(m, "0-5/6-31",
		   (const char *const[]){
			   "stage 1 (\"0-5\"): ", "layer 5 (layer1.1.conv1) is not a cut point",
			   "4 (layer1.0.add) and 7 (layer1.1.add)", NULL });
	expect_bad(m, "0-11/10-31",
		   (const char *const[]){ "stage 2 (\"10-31\"): ", "inside stage 1",
					  "ends at layer 11 (layer2.0.add)", "overlap", NULL });
	expect_bad(m, "0-11/14-31",
		   (const char *const[]){ "stage 2 (\"14-31\"): ", "layers 12-13 are in no stage",
					  NULL });
	expect_bad(
		m, "0-31x0",
		(const char *const[]){ "stage 1 (\"0-31x0\"): 0 threads, expected 1 to 16", NULL });
	expect_bad(m, "0-11/12-31x17",
		   (const char *const[]){ "stage 2 (\"12-31x17\"): 17 threads, expected 1 to 16",
					  NULL });
	expect_bad(m, "0-31@1000",
		   (const char *const[]){
			   "stage 1 (\"0-31@1000\"): CPU 1000 is not online (online: ", NULL });
	expect_bad(m, "0-11/12-28",
		   (const char *const[]){
			   "stage 2 (\"12-28\"): ",
			   "the last stage must end at the model's last layer 31 (prob)", NULL });
	expect_bad(m, "2-31",
		   (const char *const[]){ "stage 1 (\"2-31\"): starts at layer 2", NULL });
	expect_bad(
		m, "0-99",
		(const char *const[]){
			"stage 1 (\"0-99\"): layer 99 is not in the model (layers 0-31)", NULL });
	expect_bad(m, "0-nosuch/2-31",
		   (const char *const[]){
			   "stage 1 (\"0-nosuch\"): \"nosuch\" is neither a layer index nor a "
			   "layer of resnet18",
			   NULL });
	expect_bad(m, "0-31xa",
		   (const char *const[]){ "stage 1 (\"0-31xa\"): \"a\" is not a thread count", NULL });
	expect_bad(m, "0-1/2-4/5-7/8-31", (const char *const[]){ "more than 3 stages", NULL });
	dnn_model_free(m);
}

Test(exec_plan, garbage)
{
	static const char *const garbage[] = {
		"hello", "0-31x", "0-31x2x", "0-31@", "0-31@a", "0-31@0-", "0-31@,0", "0-31@0,",
		"0-31/", "/0-31", "0_31",    "0--31", "-0-31",	"0-31 ",   "0-nosuch"
	};
	struct dnn_model *m = resnet18();

	for (size_t k = 0; k < sizeof(garbage) / sizeof(garbage[0]); k++)
		expect_bad(m, garbage[k], (const char *const[]){ "stage ", NULL });
	expect_bad(m, "", (const char *const[]){ "plan: empty", NULL });
	expect_bad(m, "x", (const char *const[]){ "stage 1 (\"x\"): expected FIRST-LAST", NULL });
	dnn_model_free(m);
}

Test(exec_plan, check_names_stages_by_their_layers)
{
	struct dnn_model *m = resnet18();
	struct exec_plan p;
	char err[512] = "";

	exec_plan_single(m, 2, &p);
	cr_assert_eq(exec_plan_check(m, &p, err, sizeof(err)), 0, "%s", err);
	p.stages[0].last = 20;
	cr_assert_eq(exec_plan_check(m, &p, err, sizeof(err)), -1);
	cr_assert(
		strstr(err, "stage 1 (layers 0-20): layer 20 (layer3.1.conv2) is not a cut point"),
		"%s", err);
	p.nr_stages = 0;
	cr_assert_eq(exec_plan_check(m, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "0 stages, expected 1 to 3"), "%s", err);
	dnn_model_free(m);
}

Test(exec_plan, format_round_trips)
{
	static const char *const specs[] = { "0-31x1", "0-11x2@0/12-31x1",
					     "0-1x16/2-28x3@0/29-31x1" };
	struct dnn_model *m = resnet18();
	struct exec_plan p, q;
	char err[512] = "", text[256];

	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
		cr_assert_eq(exec_plan_parse(m, specs[k], &p, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(exec_plan_format(&p, text, sizeof(text)), (int)strlen(specs[k]));
		cr_assert_str_eq(text, specs[k]);
		cr_assert_eq(exec_plan_parse(m, text, &q, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(memcmp(&p, &q, sizeof(p)), 0, "%s", text);
	}
	cr_assert_eq(exec_plan_parse(m, "conv1-layer2.0.addx2@0/12-prob", &p, err, sizeof(err)), 0,
		     "%s", err);
	exec_plan_format(&p, text, sizeof(text));
	cr_assert_str_eq(text, "0-11x2@0/12-31x1");
	/* CPU lists as ranges; format does not check what is online. */
	CPU_ZERO(&p.stages[1].cpus);
	for (int cpu = 0; cpu < 4; cpu++)
		CPU_SET(cpu, &p.stages[1].cpus);
	CPU_SET(6, &p.stages[1].cpus);
	CPU_SET(8, &p.stages[1].cpus);
	CPU_SET(9, &p.stages[1].cpus);
	cr_assert_eq(exec_plan_format(&p, text, sizeof(text)), 26);
	cr_assert_str_eq(text, "0-11x2@0/12-31x1@0-3,6,8-9");
	/* Too short: -1, and what fits, terminated. */
	cr_assert_eq(exec_plan_format(&p, text, 8), -1);
	cr_assert_str_eq(text, "0-11x2@");
	dnn_model_free(m);
}

/* "@gpu" in place of the CPU list: the unit, no CPUs, threads (its CPU
 * fallback's) 1 unless given. */
Test(exec_plan, gpu_stages)
{
	struct dnn_model *m = resnet18();
	struct exec_plan p;
	char err[512] = "";

	cr_assert_eq(exec_plan_parse(m, "0-11@gpu/12-31x2@0", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.nr_stages, 2);
	expect_stage(&p, 0, 0, 11, 1, 0);
	cr_assert_eq(p.stages[0].unit, EXEC_UNIT_GPU);
	expect_stage(&p, 1, 12, 31, 2, 1);
	cr_assert_eq(p.stages[1].unit, EXEC_UNIT_CPU);
	cr_assert_eq(exec_plan_parse(m, "conv1-layer2.0.addx3@gpu/layer2.1.conv1-prob@gpu", &p, err,
				     sizeof(err)),
		     0, "%s", err);
	expect_stage(&p, 0, 0, 11, 3, 0);
	expect_stage(&p, 1, 12, 31, 1, 0);
	cr_assert_eq(p.stages[0].unit, EXEC_UNIT_GPU);
	cr_assert_eq(p.stages[1].unit, EXEC_UNIT_GPU);
	cr_assert_eq(exec_plan_parse(m, "0-31x2@gpu", &p, err, sizeof(err)), 0, "%s", err);
	expect_stage(&p, 0, 0, 31, 2, 0);
	cr_assert_eq(p.stages[0].unit, EXEC_UNIT_GPU);
	/* Zeroed and single plans are CPU plans. */
	exec_plan_single(m, 2, &p);
	cr_assert_eq(p.stages[0].unit, EXEC_UNIT_CPU);
	cr_assert_eq(exec_plan_parse(m, "auto", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.stages[0].unit, EXEC_UNIT_CPU);
	cr_assert_eq(exec_plan_parse(m, "0-31@0", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.stages[0].unit, EXEC_UNIT_CPU);
	dnn_model_free(m);
}

Test(exec_plan, bad_gpu_specs_say_what_is_wrong)
{
	struct dnn_model *m = resnet18();

	expect_bad(m, "0-11@gpu,0/12-31",
		   (const char *const[]){ "stage 1 (\"0-11@gpu,0\"): \"gpu,0\": a stage runs on "
					  "the GPU (@gpu) or on a CPU list, not both",
					  NULL });
	expect_bad(m, "0-11/12-31@0,gpu",
		   (const char *const[]){ "stage 2 (\"12-31@0,gpu\"): ", "not both", NULL });
	expect_bad(m, "0-11/12-31@gpu@0",
		   (const char *const[]){ "stage 2 (\"12-31@gpu@0\"): ", "not both", NULL });
	expect_bad(m, "0-11/12-31@gpx",
		   (const char *const[]){ "stage 2 (\"12-31@gpx\"): \"gpx\" is neither gpu nor "
					  "a CPU list like 0-3,6",
					  NULL });
	expect_bad(m, "0-31@GPU",
		   (const char *const[]){ "stage 1 (\"0-31@GPU\"): \"GPU\" is neither gpu", NULL });
	expect_bad(m, "0-31@",
		   (const char *const[]){ "stage 1 (\"0-31@\"): \"\" is not a CPU list", NULL });
	expect_bad(m, "0-31x17@gpu",
		   (const char *const[]){ "stage 1 (\"0-31x17@gpu\"): 17 threads, expected 1 to 16",
					  NULL });
	expect_bad(m, "0-5@gpu/6-31",
		   (const char *const[]){ "stage 1 (\"0-5@gpu\"): ",
					  "layer 5 (layer1.1.conv1) is not a cut point", NULL });
	dnn_model_free(m);
}

Test(exec_plan, check_refuses_gpu_stages_with_cpus_and_unknown_units)
{
	struct dnn_model *m = resnet18();
	struct exec_plan p;
	char err[512] = "";

	cr_assert_eq(exec_plan_parse(m, "0-11@gpu/12-31", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(exec_plan_check(m, &p, err, sizeof(err)), 0, "%s", err);
	CPU_SET(0, &p.stages[0].cpus);
	cr_assert_eq(exec_plan_check(m, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "stage 1 (layers 0-11): a GPU stage takes no CPU list"), "%s", err);
	CPU_ZERO(&p.stages[0].cpus);
	p.stages[1].unit = (enum exec_unit)7;
	cr_assert_eq(exec_plan_check(m, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "stage 2 (layers 12-31): unit 7, expected 0 (cpu) or 1 (gpu)"), "%s",
		  err);
	dnn_model_free(m);
}

Test(exec_plan, gpu_format_round_trips)
{
	static const char *const specs[] = { "0-31x1@gpu", "0-11x2@gpu/12-31x1",
					     "0-1x1/2-28x3@gpu/29-31x1@0",
					     "0-11x1@0/12-31x4@gpu" };
	struct dnn_model *m = resnet18();
	struct exec_plan p, q;
	char err[512] = "", text[256];

	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
		cr_assert_eq(exec_plan_parse(m, specs[k], &p, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(exec_plan_format(&p, text, sizeof(text)), (int)strlen(specs[k]));
		cr_assert_str_eq(text, specs[k]);
		cr_assert_eq(exec_plan_parse(m, text, &q, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(memcmp(&p, &q, sizeof(p)), 0, "%s", text);
	}
	/* A spec without a thread count gets x1 written. */
	cr_assert_eq(exec_plan_parse(m, "0-11@gpu/12-prob", &p, err, sizeof(err)), 0, "%s", err);
	exec_plan_format(&p, text, sizeof(text));
	cr_assert_str_eq(text, "0-11x1@gpu/12-31x1");
	dnn_model_free(m);
}

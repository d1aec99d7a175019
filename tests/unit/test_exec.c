// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The CPU executor (exec/exec.h) as a whole: zoo models against the
 * reference, pipelines against one stage, plans changed under a stream of
 * inferences, thread ids and their CPUs, failures that must not hang, the
 * per-layer times, and the stage spec grammar. Runs from the repository
 * root, where models/zoo is.
 *
 * Tolerance against the reference: max |exec - ref| <= 1e-4 * (1 + max
 * |ref|) per output; the logits before each softmax are compared too, since
 * a saturated softmax would hide errors. Measured on all ten zoo models the
 * error is 4e-6 relative or less (float sums in another order over up to
 * 25088 products per output, through 12-125 layers).
 *
 * Pipelines and thread counts are compared bit for bit: XNNPACK splits a
 * layer's work over its outputs, never over a reduction, so neither the
 * stage a layer runs in nor the number of threads changes a single bit
 * (checked: 1 and 2 threads give identical outputs on all ten zoo
 * models).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "exec_impl.h" /* exec_test_fail_layer() */
#include "exec_tiny.h"

#define TOL  1e-4
#define SEED 1234

static char err[512];

/* A zoo model with the input of each softmax among its outputs. */
static struct dnn_model *load(const char *name)
{
	struct dnn_model *m = dnn_model_alloc();
	int nr = 0;

	cr_assert_not_null(m);
	cr_assert_eq(zoo_load_named(zoo_default_dir(), name, m, err, sizeof(err)), 0, "%s", err);
	nr = m->nr_outputs;
	for (int o = 0; o < nr; o++)
		if (m->layers[m->outputs[o]].type == DNN_SOFTMAX)
			m->outputs[m->nr_outputs++] = m->layers[m->outputs[o]].inputs[0];
	cr_assert_eq(dnn_model_check(m, name, err, sizeof(err)), 0, "%s", err);
	return m;
}

static size_t input_floats(const struct dnn_model *m)
{
	return (size_t)m->input_shape[1] * m->input_shape[2] * m->input_shape[3];
}

static float *new_input(const struct dnn_model *m, uint64_t seed)
{
	float *in = malloc(sizeof(float) * input_floats(m));

	cr_assert_not_null(in);
	tiny_fill(in, input_floats(m), seed, -1, 1);
	return in;
}

static struct dnn_exec *create(const struct dnn_model *m, const struct exec_plan *plan)
{
	struct dnn_exec *e;

	cr_assert_eq(exec_create(m, SEED, plan, &e, err, sizeof(err)), 0, "%s", err);
	return e;
}

static struct dnn_exec *create_spec(const struct dnn_model *m, const char *spec)
{
	struct exec_plan plan;

	cr_assert_eq(exec_plan_parse(m, spec, &plan, err, sizeof(err)), 0, "%s: %s", spec, err);
	return create(m, &plan);
}

/* Outputs of inputs seeded 1..n, in order, from e (n * out floats). */
static float *run_all(struct dnn_exec *e, const struct dnn_model *m, int n)
{
	size_t nr_out = exec_output_floats(e);
	float *out = malloc(sizeof(float) * nr_out * n);

	cr_assert_not_null(out);
	for (int k = 0; k < n; k++) {
		float *in = new_input(m, k + 1);

		cr_assert_eq(exec_submit(e, in, k), 0, "%s", exec_error(e));
		free(in);
	}
	for (int k = 0; k < n; k++) {
		struct exec_result r;

		cr_assert_eq(exec_collect(e, out + nr_out * k, &r), 0, "%s", exec_error(e));
		cr_assert_eq(r.tag, (uint64_t)k);
	}
	return out;
}

/* ---- whole models against the reference ----------------------------------------- */

static void expect_model_matches_reference(const char *name)
{
	struct dnn_model *m = load(name);
	struct dnn_exec *e = create_spec(m, "auto");
	size_t nr_out = exec_output_floats(e), at = 0;
	float *in = new_input(m, 1), *ref = malloc(sizeof(float) * nr_out), *out;

	out = run_all(e, m, 1);
	exec_destroy(e);
	cr_assert_eq(exec_reference(m, SEED, in, ref, err, sizeof(err)), 0, "%s", err);
	for (int o = 0; o < m->nr_outputs; o++) {
		const int *s = m->layers[m->outputs[o]].shape;
		size_t n = (size_t)s[1] * s[2] * s[3];
		double big, worst = tiny_max_diff(out + at, ref + at, n, &big);

		cr_assert_leq(worst, TOL * (1 + big),
			      "%s: output %s: max |exec - ref| %g, max |ref| %g", name,
			      m->layers[m->outputs[o]].name, worst, big);
		at += n;
	}
	free(in);
	free(ref);
	free(out);
	dnn_model_free(m);
}

Test(exec_models, resnet18_matches_reference)
{
	expect_model_matches_reference("resnet18");
}

Test(exec_models, mobilenetv2_matches_reference)
{
	expect_model_matches_reference("mobilenetv2");
}

Test(exec_models, squeezenet11_matches_reference)
{
	expect_model_matches_reference("squeezenet11");
}

/* Swish, sigmoid and the squeeze-and-excitation gates at model scale. */
Test(exec_models, efficientnetb0_matches_reference)
{
	expect_model_matches_reference("efficientnetb0");
}

/* Two outputs, leaky, slice, the nearest upsample, concat after it. */
Test(exec_models, yolov4tiny_matches_reference, .timeout = 60)
{
	expect_model_matches_reference("yolov4tiny");
}

/* ---- pipelines -------------------------------------------------------------------- */

#define NR_PIPELINED 6

static void expect_same_as_single(const char *name, const char *const *specs, int threads)
{
	struct dnn_model *m = load(name);
	struct exec_plan single;
	struct dnn_exec *e;
	float *want, *got;
	size_t bytes;

	exec_plan_single(m, threads, &single);
	e = create(m, &single);
	bytes = sizeof(float) * exec_output_floats(e) * NR_PIPELINED;
	want = run_all(e, m, NR_PIPELINED);
	exec_destroy(e);
	for (; *specs; specs++) {
		e = create_spec(m, *specs);
		got = run_all(e, m, NR_PIPELINED);
		cr_assert_eq(memcmp(got, want, bytes), 0, "%s: %s differs from one stage", name,
			     *specs);
		free(got);
		exec_destroy(e);
	}
	free(want);
	dnn_model_free(m);
}

Test(exec, pipelines_equal_one_stage_bit_for_bit)
{
	expect_same_as_single("mobilenetv2",
			      (const char *const[]){ "0-27x1/28-64x1", "0-12x1/13-42x1/43-64x1",
						     "0-0x1/1-61x1/62-64x1", NULL },
			      1);
	expect_same_as_single(
		"mobilenetv2",
		(const char *const[]){ "0-27x2/28-64x2", "0-12x2/13-42x2/43-64x2", NULL }, 2);
	expect_same_as_single(
		"squeezenet11",
		(const char *const[]){ "0-features.5x1/11-38x1", "0-1x1/2-14/15-38", NULL }, 1);
}

/* A cut after a layer that is also a model output: its tensor goes to the
 * result and on to the next stage. */
Test(exec, cut_after_a_model_output)
{
	static const int pad[4] = { 1, 1, 1, 1 };
	struct dnn_model *m = tiny_model(6, 6, 3);
	struct dnn_exec *e;
	float *one, *two, *ref, *in = new_input(m, 1);
	size_t nr_out;

	tiny_conv(m,
		  tiny_conv(m, tiny_conv(m, DNN_INPUT, 4, 3, 1, pad, 1, DNN_ACT_RELU), 5, 3, 1, pad,
			    1, DNN_ACT_NONE),
		  2, 1, 1, (const int[4]){ 0 }, 1, DNN_ACT_NONE);
	tiny_finish(m, true);
	m->outputs[m->nr_outputs++] = 0;
	m->layers[1].cut_after = false; /* conv0 and conv1 are both live after conv1 */
	cr_assert_eq(dnn_model_check(m, "tiny", err, sizeof(err)), 0, "%s", err);
	e = create_spec(m, "0-0/1-2");
	nr_out = exec_output_floats(e);
	two = run_all(e, m, 1);
	exec_destroy(e);
	e = create_spec(m, "0-2");
	one = run_all(e, m, 1);
	exec_destroy(e);
	cr_assert_eq(memcmp(one, two, sizeof(float) * nr_out), 0);
	ref = malloc(sizeof(float) * nr_out);
	cr_assert_eq(exec_reference(m, SEED, in, ref, err, sizeof(err)), 0, "%s", err);
	cr_assert_leq(tiny_max_diff(two, ref, nr_out, NULL), 1e-4);
	free(one);
	free(two);
	free(ref);
	free(in);
	dnn_model_free(m);
}

/* ---- plans changed under a stream --------------------------------------------------- */

#define NR_REMAP 40

Test(exec, live_remapping_keeps_every_inference_in_order, .timeout = 120)
{
	static const struct {
		int before; /* submitted before the change */
		const char *spec;
	} changes[] = {
		{ 6, "0-12x1/13-42x2/43-64x1" }, /* 1 -> 3 stages */
		{ 14, "0-27x2/28-64x1" },	 /* 3 -> 2 */
		{ 15, "0-27x1/28-64x2" },	 /* right after: threads changed */
		{ 24, "0-64x2" },		 /* 2 -> 1 */
		{ 31, "0-5x1@0/6-38x1/39-64x2@0" },
	};
	struct dnn_model *m = load("mobilenetv2");
	struct dnn_exec *e = create_spec(m, "0-64x1");
	uint64_t gen_of[NR_REMAP], generation = 1, last_gen = 0, last_end = 0;
	size_t nr_out = exec_output_floats(e), c = 0;
	float *want = run_all(e, m, NR_REMAP), *out = malloc(sizeof(float) * nr_out);
	int next_collect = 0;

	/* want: every input through the first plan, collected right away. */
	for (int k = 0; k < NR_REMAP; k++) {
		float *in = new_input(m, k + 1);
		struct exec_plan plan;
		uint64_t now_gen;

		if (c < sizeof(changes) / sizeof(changes[0]) && changes[c].before == k) {
			cr_assert_eq(exec_plan_parse(m, changes[c].spec, &plan, err, sizeof(err)),
				     0, "%s", err);
			cr_assert_eq(exec_set_plan(e, &plan, err, sizeof(err)), 0, "%s", err);
			exec_get_plan(e, NULL, &now_gen);
			cr_assert_eq(now_gen, ++generation);
			/* Everything before the change finished under the old plan and
			 * waits to be collected. */
			cr_assert_eq(exec_in_flight(e), k - next_collect);
			c++;
		}
		cr_assert_eq(exec_submit(e, in, 1000 + k), 0, "%s", exec_error(e));
		gen_of[k] = generation;
		free(in);
		/* Collect now and then, so results are taken while others run. */
		if (k % 7 == 3) {
			struct exec_result r;

			cr_assert_eq(exec_collect(e, out, &r), 0);
			cr_assert_eq(r.tag, 1000u + next_collect);
			cr_assert_eq(
				memcmp(out, want + nr_out * next_collect, sizeof(float) * nr_out),
				0, "tag %d", next_collect);
			cr_assert_eq(r.plan_generation, gen_of[next_collect]);
			last_gen = r.plan_generation;
			last_end = r.end_ns;
			next_collect++;
		}
	}
	cr_assert_eq(exec_in_flight(e), NR_REMAP - next_collect);
	for (; next_collect < NR_REMAP; next_collect++) {
		struct exec_result r;

		cr_assert_eq(exec_collect(e, out, &r), 0, "%s", exec_error(e));
		cr_assert_eq(r.tag, 1000u + next_collect, "tag %lu, expected %d",
			     (unsigned long)r.tag, 1000 + next_collect);
		cr_assert_eq(memcmp(out, want + nr_out * next_collect, sizeof(float) * nr_out), 0,
			     "tag %d: output differs from one stage's", next_collect);
		cr_assert_eq(r.plan_generation, gen_of[next_collect]);
		cr_assert_geq(r.plan_generation, last_gen);
		cr_assert_geq(r.end_ns, r.begin_ns);
		cr_assert_geq(r.end_ns, last_end);
		last_gen = r.plan_generation;
		last_end = r.end_ns;
	}
	cr_assert_eq(exec_collect(e, out, NULL), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(exec_in_flight(e), 0);
	exec_destroy(e);
	free(want);
	free(out);
	dnn_model_free(m);
}

Test(exec, set_plan_refuses_a_bad_plan_and_changes_nothing)
{
	struct dnn_model *m = load("squeezenet11");
	struct dnn_exec *e = create_spec(m, "0-14x1/15-38x1");
	struct exec_plan before, bad, after;
	uint64_t gen;

	exec_get_plan(e, &before, &gen);
	cr_assert_eq(gen, 1);
	exec_plan_single(m, 1, &bad);
	bad.stages[0].last = 20; /* not the last layer, not a cut */
	cr_assert_eq(exec_set_plan(e, &bad, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a cut point"), "%s", err);
	exec_get_plan(e, &after, &gen);
	cr_assert_eq(gen, 1);
	cr_assert_eq(memcmp(&before, &after, sizeof(before)), 0);
	free(run_all(e, m, 2));
	exec_destroy(e);
	dnn_model_free(m);
}

/* ---- threads ------------------------------------------------------------------------- */

static bool task_exists(pid_t tid)
{
	char path[64];
	DIR *d;

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	d = opendir(path);
	if (d)
		closedir(d);
	return d != NULL;
}

static void expect_tids(struct dnn_exec *e, const struct exec_plan *p)
{
	pid_t all[EXEC_MAX_STAGES * EXEC_MAX_THREADS];
	int nr_all = 0;

	for (int s = 0; s < p->nr_stages; s++) {
		pid_t tids[EXEC_MAX_THREADS + 4];
		int n = exec_stage_tids(e, s, tids, EXEC_MAX_THREADS + 4);

		cr_assert_eq(n, p->stages[s].threads, "stage %d: %d tids for %d threads", s + 1, n,
			     p->stages[s].threads);
		for (int k = 0; k < n; k++) {
			cpu_set_t set;

			cr_assert(task_exists(tids[k]), "tid %d is not in /proc/self/task",
				  tids[k]);
			for (int j = 0; j < nr_all; j++)
				cr_assert_neq(all[j], tids[k], "tid %d twice", tids[k]);
			all[nr_all++] = tids[k];
			if (!CPU_COUNT(&p->stages[s].cpus))
				continue;
			cr_assert_eq(sched_getaffinity(tids[k], sizeof(set), &set), 0);
			cr_assert(CPU_EQUAL(&set, &p->stages[s].cpus),
				  "stage %d: tid %d runs on %d CPUs, not the stage's", s + 1,
				  tids[k], CPU_COUNT(&set));
		}
	}
	cr_assert_eq(exec_stage_tids(e, p->nr_stages, all, 1), 0);
}

Test(exec, stage_tids_and_affinity)
{
	struct dnn_model *m = load("squeezenet11");
	struct exec_plan plan;
	struct dnn_exec *e;

	cr_assert_eq(exec_plan_parse(m, "0-5x2@0/6-27x3/28-38x1@0", &plan, err, sizeof(err)), 0,
		     "%s", err);
	e = create(m, &plan);
	expect_tids(e, &plan);
	free(run_all(e, m, 3));
	cr_assert_eq(exec_plan_parse(m, "0-14x4@0/15-38x2", &plan, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(exec_set_plan(e, &plan, err, sizeof(err)), 0, "%s", err);
	expect_tids(e, &plan);
	free(run_all(e, m, 3));
	exec_destroy(e);
	dnn_model_free(m);
}

/* ---- failures, times ------------------------------------------------------------------ */

Test(exec, a_failing_layer_fails_submit_and_collect_without_hanging, .timeout = 30)
{
	struct dnn_model *m = load("squeezenet11");
	struct dnn_exec *e = create_spec(m, "0-14/15-38");
	float *in = new_input(m, 1);
	struct exec_plan plan;
	int failed_at = -1;

	cr_assert_str_eq(exec_error(e), "");
	exec_test_fail_layer(e, 20); /* in the second stage */
	for (int k = 0; k < 8 && failed_at < 0; k++)
		if (exec_submit(e, in, k))
			failed_at = k;
	if (failed_at >= 0)
		cr_assert_eq(errno, EPIPE);
	cr_assert_eq(exec_collect(e, NULL, NULL), -1);
	cr_assert_eq(errno, EPIPE);
	cr_assert(strstr(exec_error(e), "layers[20]"), "%s", exec_error(e));
	cr_assert(strstr(exec_error(e), "stage 2"), "%s", exec_error(e));
	cr_assert_eq(exec_submit(e, in, 99), -1);
	cr_assert_eq(errno, EPIPE);
	exec_plan_single(m, 1, &plan);
	cr_assert_eq(exec_set_plan(e, &plan, err, sizeof(err)), -1);
	cr_assert(strstr(err, "failed"), "%s", err);
	exec_destroy(e);
	free(in);
	dnn_model_free(m);
}

Test(exec, layer_times)
{
	struct dnn_model *m = load("squeezenet11");
	struct dnn_exec *e = create_spec(m, "0-14/15-38");
	double *ms = calloc(m->nr_layers, sizeof(*ms)), sum = 0;

	free(run_all(e, m, 4));
	cr_assert_eq(exec_layer_times(e, ms), 4);
	for (int i = 0; i < m->nr_layers; i++) {
		cr_assert_gt(ms[i], 0, "layers[%d] (%s)", i, m->layers[i].name);
		sum += ms[i];
	}
	cr_assert_lt(sum, 10000);
	exec_layer_times_reset(e);
	cr_assert_eq(exec_layer_times(e, ms), 0);
	for (int i = 0; i < m->nr_layers; i++)
		cr_assert_eq(ms[i], 0);
	exec_destroy(e);
	free(ms);
	dnn_model_free(m);
}

Test(exec, collect_with_nothing_in_flight)
{
	struct dnn_model *m = load("squeezenet11");
	struct dnn_exec *e = create_spec(m, "auto");

	cr_assert_eq(exec_in_flight(e), 0);
	cr_assert_eq(exec_collect(e, NULL, NULL), -1);
	cr_assert_eq(errno, EAGAIN);
	exec_destroy(e);
	dnn_model_free(m);
}

/* Destroy waits for what was submitted and never collected. */
Test(exec, destroy_with_inferences_in_flight, .timeout = 30)
{
	struct dnn_model *m = load("squeezenet11");
	struct dnn_exec *e = create_spec(m, "0-5/6-27/28-38");
	float *in = new_input(m, 1);

	for (int k = 0; k < 9; k++)
		cr_assert_eq(exec_submit(e, in, k), 0);
	cr_assert_eq(exec_in_flight(e), 9);
	exec_destroy(e);
	free(in);
	dnn_model_free(m);
}

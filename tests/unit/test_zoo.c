// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The model zoo: every checked-in model loads and passes the reader's own
 * arithmetic; its totals agree with the figures published for the network
 * (kept here, not read from the file under test, so a wrong layer table
 * cannot agree with itself); the planner's view keeps every FLOP and gets
 * usable cut points; and malformed files fail with a line naming the field.
 * Runs from the repository root, where models/zoo is.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zoo.h"

#define MODELS_DIR "models/zoo"

/*
 * Published size of each network. Parameters are counted before batch norm
 * is folded (so they hold 2 per normalised channel where the zoo holds 1
 * bias: within 0.5%); MACs are multiply-accumulates of the convolutions and
 * fully connected layers, which is what torchvision's "GFLOPS" and the
 * papers count, and what the zoo's conv and fc flops / 2 sum to.
 */
static const struct published {
	const char *name;
	double params;
	double macs;
	int input; /* H = W */
} published[] = {
	/* torchvision AlexNet_Weights.IMAGENET1K_V1: 61,100,840 params, 0.71 GFLOPS */
	{ "alexnet", 61100840, 0.71e9, 224 },
	/* torchvision VGG16_Weights.IMAGENET1K_V1: 138,357,544 params, 15.47 GFLOPS */
	{ "vgg16", 138357544, 15.47e9, 224 },
	/* torchvision ResNet18_Weights.IMAGENET1K_V1: 11,689,512 params, 1.81 GFLOPS */
	{ "resnet18", 11689512, 1.81e9, 224 },
	/* torchvision ResNet50_Weights.IMAGENET1K_V1: 25,557,032 params, 4.09 GFLOPS */
	{ "resnet50", 25557032, 4.09e9, 224 },
	/* torchvision MobileNet_V2_Weights.IMAGENET1K_V1: 3,504,872 params, 0.30 GFLOPS
	 * (the paper: 3.4M, 300M MACs) */
	{ "mobilenetv2", 3504872, 0.30e9, 224 },
	/* torchvision SqueezeNet1_1_Weights.IMAGENET1K_V1: 1,235,496 params, 0.35 GFLOPS */
	{ "squeezenet11", 1235496, 0.35e9, 224 },
	/* torchvision GoogLeNet_Weights.IMAGENET1K_V1: 6,624,904 params (auxiliary
	 * classifiers dropped after loading), 1.50 GFLOPS */
	{ "googlenet", 6624904, 1.50e9, 224 },
	/* Keras applications InceptionV3: 23,851,784 params without an auxiliary head
	 * (torchvision's 27,161,264 include AuxLogits); torchvision
	 * Inception_V3_Weights.IMAGENET1K_V1: 5.71 GFLOPS at 299x299 */
	{ "inceptionv3", 23851784, 5.71e9, 299 },
	/* EfficientNet paper (Tan, Le, ICML 2019), Table 2: 5.3M params, 0.39B FLOPS
	 * (multiply-adds); torchvision EfficientNet_B0: 5,288,548 params, 0.39 GFLOPS */
	{ "efficientnetb0", 5.3e6, 0.39e9, 224 },
	/* darknet (AlexeyAB) prints 6.910 BFLOPs for yolov4-tiny.cfg at 416x416,
	 * 2 per multiply-accumulate; about 6.06M params */
	{ "yolov4tiny", 6.06e6, 6.910e9 / 2, 416 },
};

#define NR_MODELS (sizeof(published) / sizeof(published[0]))

static struct dnn_model *load(const char *name)
{
	struct dnn_model *m = dnn_model_alloc();
	char err[512] = "";

	cr_assert_not_null(m);
	cr_assert_eq(zoo_load_named(MODELS_DIR, name, m, err, sizeof(err)), 0, "%s: %s", name, err);
	return m;
}

Test(zoo, every_model_loads_and_validates)
{
	for (size_t k = 0; k < NR_MODELS; k++) {
		struct dnn_model *m = load(published[k].name);
		char err[512] = "";

		cr_assert_str_eq(m->name, published[k].name);
		cr_assert_eq(dnn_model_check(m, m->name, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(m->input_shape[1], published[k].input, "%s", m->name);
		cr_assert_eq(m->input_shape[2], published[k].input, "%s", m->name);
		cr_assert_eq(m->input_shape[3], 3, "%s", m->name);
		cr_assert_leq(m->nr_layers, PLAN_MAX_LAYERS);
		dnn_model_free(m);
	}
}

Test(zoo, list_holds_the_ten_models_sorted)
{
	char names[ZOO_MAX_MODELS][PLAN_NAME_MAX];
	char err[512] = "";
	int n = zoo_list(MODELS_DIR, names, ZOO_MAX_MODELS, err, sizeof(err));

	cr_assert_geq(n, (int)NR_MODELS, "%s", err);
	for (int k = 1; k < n; k++)
		cr_assert_lt(strcmp(names[k - 1], names[k]), 0);
	for (size_t k = 0; k < NR_MODELS; k++) {
		bool found = false;

		for (int j = 0; j < n; j++)
			found |= !strcmp(names[j], published[k].name);
		cr_assert(found, "%s not listed", published[k].name);
	}
}

Test(zoo, totals_within_5_percent_of_published)
{
	for (size_t k = 0; k < NR_MODELS; k++) {
		struct dnn_model *m = load(published[k].name);
		struct dnn_totals tot;
		double dp, dm;

		dnn_model_totals(m, &tot);
		dp = tot.params / published[k].params - 1;
		dm = tot.macs_conv_fc / published[k].macs - 1;
		cr_assert_lt(fabs(dp), 0.05, "%s: %.0f params, published %.0f (%+.2f%%)", m->name,
			     tot.params, published[k].params, 100 * dp);
		cr_assert_lt(fabs(dm), 0.05, "%s: %.4g MACs, published %.4g (%+.2f%%)", m->name,
			     tot.macs_conv_fc, published[k].macs, 100 * dm);
		dnn_model_free(m);
	}
}

Test(zoo, plan_model_keeps_flops_and_cuts)
{
	struct plan_model *pm = malloc(sizeof(*pm));

	cr_assert_not_null(pm);
	for (size_t k = 0; k < NR_MODELS; k++) {
		struct dnn_model *m = load(published[k].name);
		double flops = 0, plan_flops = 0, weights = 0, acts = 0;
		char err[512] = "";
		int cuts = 0;

		cr_assert_eq(zoo_to_plan_model(m, pm, err, sizeof(err)), 0, "%s", err);
		cr_assert_str_eq(pm->name, m->name);
		cr_assert_eq(pm->nr_layers, m->nr_layers);
		for (int i = 0; i < m->nr_layers; i++) {
			const struct plan_layer *pl = &pm->layers[i];

			flops += m->layers[i].flops;
			plan_flops += pl->flops;
			weights += pl->param_bytes;
			acts += pl->out_bytes;
			cr_assert_eq(pl->param_bytes, 4 * m->layers[i].params);
			cr_assert_gt(pl->in_bytes, 0, "%s: layers[%d]", m->name, i);
			if (!pl->cut_after) {
				cr_assert_eq(pl->cut_bytes, 0);
				continue;
			}
			cuts++;
			cr_assert_gt(pl->cut_bytes, 0, "%s: layers[%d]", m->name, i);
			/* One tensor is live at a cut: the one this layer wrote. */
			cr_assert_eq(pl->cut_bytes, pl->out_bytes, "%s: layers[%d]", m->name, i);
		}
		cr_assert_geq(cuts, 4, "%s: %d cut points", m->name, cuts);
		cr_assert_eq(plan_flops, flops, "%s", m->name);
		cr_assert_gt(pm->mem_bytes, weights, "%s", m->name);
		cr_assert_leq(pm->mem_bytes, weights + acts + dnn_tensor_bytes(m, DNN_INPUT), "%s",
			      m->name);
		cr_assert_eq(pm->layers[m->nr_layers - 1].cut_after, false);
		dnn_model_free(m);
	}
	free(pm);
}

Test(zoo, op_classes)
{
	struct plan_model *pm = malloc(sizeof(*pm));
	struct dnn_model *m = load("mobilenetv2");
	int counts[PLAN_OP__COUNT] = { 0 };
	char err[512] = "";

	cr_assert_eq(zoo_to_plan_model(m, pm, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < pm->nr_layers; i++) {
		counts[pm->layers[i].op]++;
		if (m->layers[i].type == DNN_CONV && m->layers[i].groups > 1)
			cr_assert_eq(m->layers[i].groups, m->layers[i].shape[3]);
	}
	/* 17 inverted residuals, one depthwise convolution each. */
	cr_assert_eq(counts[PLAN_OP_DWCONV], 17);
	cr_assert_eq(counts[PLAN_OP_FC], 1);
	cr_assert_eq(counts[PLAN_OP_POOL], 1);
	cr_assert_gt(counts[PLAN_OP_CONV], 17);
	cr_assert_gt(counts[PLAN_OP_ELTWISE], 1);
	dnn_model_free(m);
	free(pm);
}

Test(zoo, yolov4tiny_graph)
{
	static const int head13[4] = { 1, 13, 13, 255 }, head26[4] = { 1, 26, 26, 255 };
	struct dnn_model *m = load("yolov4tiny");
	int slices = 0, upsamples = 0, last_cut = -1;

	cr_assert_eq(m->nr_outputs, 2);
	cr_assert_arr_eq(head13, m->layers[m->outputs[0]].shape, sizeof(head13));
	cr_assert_arr_eq(head26, m->layers[m->outputs[1]].shape, sizeof(head26));
	for (int i = 0; i < m->nr_layers; i++) {
		const struct dnn_layer *l = &m->layers[i];

		if (l->type == DNN_SLICE) {
			/* groups=2 group_id=1: the second half of the channels */
			cr_assert_eq(l->channels[1], dnn_tensor_shape(m, l->inputs[0])[3]);
			cr_assert_eq(2 * l->channels[0], l->channels[1]);
			slices++;
		}
		upsamples += l->type == DNN_UPSAMPLE;
		if (l->type == DNN_CONV && l->act == DNN_ACT_LEAKY)
			cr_assert_float_eq(l->alpha, 0.1, 1e-12);
		if (l->cut_after)
			last_cut = i;
	}
	cr_assert_eq(slices, 3);
	cr_assert_eq(upsamples, 1);
	/* The third CSP block's 1x1 output feeds the 26x26 head: no cut after it. */
	cr_assert_str_eq(m->layers[last_cut].name, "maxpool17");
	dnn_model_free(m);
}

Test(zoo, cut_where_two_tensors_live_is_refused)
{
	struct dnn_model *m = load("yolov4tiny");
	char err[512] = "";
	int i;

	for (i = 0; i < m->nr_layers; i++)
		if (!strcmp(m->layers[i].name, "conv26"))
			break;
	cr_assert_lt(i, m->nr_layers);
	m->layers[i].cut_after = true;
	cr_assert_eq(dnn_model_check(m, "yolov4tiny.json", err, sizeof(err)), -1);
	cr_assert(strstr(err, "(conv26): cut_after where 2 tensors are live"), "%s", err);
	dnn_model_free(m);
}

Test(zoo, cut_inside_a_block_is_refused)
{
	struct dnn_model *m = load("resnet18");
	char err[512] = "";

	cr_assert_str_eq(m->layers[2].name, "layer1.0.conv1");
	m->layers[2].cut_after = true;
	cr_assert_eq(dnn_model_check(m, "resnet18.json", err, sizeof(err)), -1);
	cr_assert(strstr(err, "layers[2] (layer1.0.conv1): cut_after inside block"), "%s", err);
	dnn_model_free(m);
}

Test(zoo, default_dir)
{
	/* Each test is a process of its own: the environment change stays here. */
	unsetenv(ZOO_MODELS_ENV);
	cr_assert_str_eq(zoo_default_dir(), MODELS_DIR);
	setenv(ZOO_MODELS_ENV, "/somewhere/models", 1);
	cr_assert_str_eq(zoo_default_dir(), "/somewhere/models");
}

/* ---- malformed files ----------------------------------------------------------- */

/* A valid three-layer model; each test breaks one thing in it. */
static const char tiny[] =
	"{\n"
	" \"format\": \"triage-model/1\", \"name\": \"tiny\", \"title\": \"Tiny\",\n"
	" \"source\": \"this test\",\n"
	" \"published\": {\"params\": 122, \"macs\": 6920, \"source\": \"this test\"},\n"
	" \"input\": {\"name\": \"input\", \"shape\": [1, 8, 8, 3]},\n"
	" \"outputs\": [\"fc\"],\n"
	" \"blocks\": [\"stem\", \"pool\", \"classifier\"],\n"
	" \"layers\": [\n"
	"  {\"name\": \"conv1\", \"type\": \"conv\", \"inputs\": [\"input\"], \"shape\": [1, 8, 8, 4],"
	" \"kernel\": [3, 3], \"stride\": [1, 1], \"pad\": [1, 1, 1, 1], \"dilation\": [1, 1],"
	" \"groups\": 1, \"bias\": true, \"act\": \"relu\", \"flops\": 13824, \"params\": 112,"
	" \"out_bytes\": 1024, \"block\": 0, \"cut_after\": true},\n"
	"  {\"name\": \"pool\", \"type\": \"gavgpool\", \"inputs\": [\"conv1\"], \"shape\": [1, 1, 1, 4],"
	" \"flops\": 256, \"params\": 0, \"out_bytes\": 16, \"block\": 1, \"cut_after\": true},\n"
	"  {\"name\": \"fc\", \"type\": \"fc\", \"inputs\": [\"pool\"], \"shape\": [1, 1, 1, 2],"
	" \"bias\": true, \"act\": \"none\", \"flops\": 16, \"params\": 10, \"out_bytes\": 8,"
	" \"block\": 2, \"cut_after\": false}\n"
	" ]\n"
	"}\n";

struct tmpdir {
	char path[4096];
	char file[4200];
};

/* A fresh directory per test: Criterion runs tests in parallel processes. */
static void write_model(struct tmpdir *d, const char *name, const char *text)
{
	const char *base = getenv("TMPDIR");
	FILE *f;

	if (!d->path[0]) {
		snprintf(d->path, sizeof(d->path), "%s/triage-zoo-XXXXXX",
			 base && *base ? base : "/tmp");
		cr_assert_not_null(mkdtemp(d->path), "mkdtemp: %s", strerror(errno));
	}
	snprintf(d->file, sizeof(d->file), "%s/%s.json", d->path, name);
	f = fopen(d->file, "w");
	cr_assert_not_null(f, "%s: %s", d->file, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static void remove_dir(struct tmpdir *d, const char *name)
{
	char file[4200];

	snprintf(file, sizeof(file), "%s/%s.json", d->path, name);
	unlink(file);
	rmdir(d->path);
}

/* tiny with the one occurrence of from replaced by to. */
static char *tiny_with(const char *from, const char *to)
{
	const char *at = strstr(tiny, from);
	char *out;

	cr_assert_not_null(at, "\"%s\" is not in the tiny model", from);
	cr_assert_null(strstr(at + 1, from), "\"%s\" is in the tiny model twice", from);
	out = malloc(sizeof(tiny) + strlen(to));
	cr_assert_not_null(out);
	sprintf(out, "%.*s%s%s", (int)(at - tiny), tiny, to, at + strlen(from));
	return out;
}

/* Loads text as tiny.json; expects failure with every one of the strings in
 * the error. */
static void expect_error(const char *text, const char *const *needles)
{
	struct dnn_model *m = dnn_model_alloc();
	struct tmpdir d = { 0 };
	char err[1024] = "";

	write_model(&d, "tiny", text);
	cr_assert_eq(zoo_load_named(d.path, "tiny", m, err, sizeof(err)), -1, "loaded");
	remove_dir(&d, "tiny");
	for (; *needles; needles++)
		cr_assert(strstr(err, *needles), "\"%s\" not in: %s", *needles, err);
	cr_assert_null(strchr(err, '\n'), "more than one line: %s", err);
	dnn_model_free(m);
}

static void expect_replaced_error(const char *from, const char *to, const char *const *needles)
{
	char *text = tiny_with(from, to);

	expect_error(text, needles);
	free(text);
}

Test(zoo, tiny_model_is_valid)
{
	struct plan_model *pm = malloc(sizeof(*pm));
	struct dnn_model *m = dnn_model_alloc();
	struct tmpdir d = { 0 };
	char err[512] = "";

	write_model(&d, "tiny", tiny);
	cr_assert_eq(zoo_load_named(d.path, "tiny", m, err, sizeof(err)), 0, "%s", err);
	remove_dir(&d, "tiny");
	cr_assert_eq(m->nr_layers, 3);
	cr_assert_eq(m->layers[1].inputs[0], 0);
	cr_assert_eq(m->layers[0].inputs[0], DNN_INPUT);
	cr_assert_eq(zoo_to_plan_model(m, pm, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pm->layers[0].op, PLAN_OP_CONV);
	cr_assert_eq(pm->layers[1].op, PLAN_OP_POOL);
	cr_assert_eq(pm->layers[2].op, PLAN_OP_FC);
	cr_assert_eq(pm->layers[0].in_bytes, 4 * 8 * 8 * 3);
	cr_assert_eq(pm->layers[0].cut_bytes, 1024);
	/* Peak: input and conv1 output while conv1 runs. */
	cr_assert_eq(pm->mem_bytes, 4 * 122 + 768 + 1024);
	dnn_model_free(m);
	free(pm);
}

Test(zoo, unknown_type)
{
	expect_replaced_error("\"gavgpool\"", "\"globalpool\"",
			      (const char *const[]){ "tiny.json: layers[1] (pool).type: ",
						     "unknown type \"globalpool\"", NULL });
}

Test(zoo, forward_reference)
{
	expect_replaced_error("\"inputs\": [\"conv1\"]", "\"inputs\": [\"fc\"]",
			      (const char *const[]){ "tiny.json: layers[1] (pool).inputs[0]: ",
						     "\"fc\" is layers[2], which comes later",
						     NULL });
}

Test(zoo, missing_input)
{
	expect_replaced_error("\"inputs\": [\"conv1\"]", "\"inputs\": [\"conv0\"]",
			      (const char *const[]){ "layers[1] (pool).inputs[0]: ",
						     "no layer or input is named \"conv0\"",
						     NULL });
}

Test(zoo, duplicate_name)
{
	expect_replaced_error(
		"\"name\": \"pool\"", "\"name\": \"conv1\"",
		(const char *const[]){
			"layers[1] (conv1).name: ", "already the name of an earlier layer", NULL });
}

Test(zoo, wrong_shape)
{
	expect_replaced_error(
		"\"shape\": [1, 8, 8, 4]", "\"shape\": [1, 7, 8, 4]",
		(const char *const[]){ "tiny.json: layers[0] (conv1): shape [1,7,8,4] "
				       "does not follow from its inputs and "
				       "attributes ([1,8,8,4])",
				       NULL });
}

Test(zoo, wrong_flops)
{
	expect_replaced_error(
		"13824", "13000",
		(const char *const[]){ "tiny.json: layers[0] (conv1): flops 13000 "
				       "does not match 2*MACs from its shapes (13824)",
				       NULL });
}

Test(zoo, wrong_params)
{
	expect_replaced_error("\"params\": 10,", "\"params\": 8,",
			      (const char *const[]){ "layers[2] (fc): params 8 does not match",
						     NULL });
}

Test(zoo, wrong_out_bytes)
{
	expect_replaced_error("\"out_bytes\": 16", "\"out_bytes\": 4",
			      (const char *const[]){ "layers[1] (pool): out_bytes 4", NULL });
}

Test(zoo, missing_field)
{
	expect_replaced_error("\"kernel\": [3, 3], ", "",
			      (const char *const[]){ "tiny.json: layers[0] (conv1).kernel: ",
						     "required key missing", NULL });
}

Test(zoo, unknown_field)
{
	expect_replaced_error("\"groups\": 1,", "\"groups\": 1, \"padding\": 1,",
			      (const char *const[]){ "layers[0] (conv1).padding: unknown key",
						     NULL });
}

Test(zoo, unknown_format)
{
	expect_replaced_error("triage-model/1", "triage-model/2",
			      (const char *const[]){ "tiny.json: format: ",
						     "unknown format \"triage-model/2\"", NULL });
}

Test(zoo, leaky_needs_alpha)
{
	expect_replaced_error("\"act\": \"relu\"", "\"act\": \"leaky\"",
			      (const char *const[]){ "layers[0] (conv1).alpha: required key missing",
						     NULL });
}

Test(zoo, illegal_cut)
{
	/* After the last layer nothing follows. */
	expect_replaced_error("\"cut_after\": false", "\"cut_after\": true",
			      (const char *const[]){ "layers[2] (fc): cut_after on the last layer",
						     NULL });
}

Test(zoo, unread_layer)
{
	expect_replaced_error("\"outputs\": [\"fc\"]", "\"outputs\": [\"pool\"]",
			      (const char *const[]){ "layers[2] (fc): nothing reads its output",
						     NULL });
}

Test(zoo, name_must_match_file)
{
	expect_replaced_error("\"name\": \"tiny\"", "\"name\": \"small\"",
			      (const char *const[]){ "tiny.json: name: \"small\"", NULL });
}

Test(zoo, invalid_json_names_line)
{
	expect_replaced_error("\"outputs\": [\"fc\"],", "\"outputs\": [\"fc\"]",
			      (const char *const[]){ "tiny.json: line 7", NULL });
}

Test(zoo, too_many_layers)
{
	size_t cap = 200 * (PLAN_MAX_LAYERS + 2) + 1024;
	char *text = malloc(cap);
	size_t used;

	cr_assert_not_null(text);
	used = snprintf(
		text, cap,
		"{\"format\": \"triage-model/1\", \"name\": \"tiny\", \"title\": \"t\","
		" \"source\": \"s\", \"published\": {\"params\": 0, \"macs\": 0,"
		" \"source\": \"s\"}, \"input\": {\"name\": \"input\", \"shape\": [1, 1, 1, 1]},"
		" \"outputs\": [\"a%d\"], \"blocks\": [\"all\"], \"layers\": [",
		PLAN_MAX_LAYERS);
	for (int i = 0; i <= PLAN_MAX_LAYERS; i++) {
		char prev[16];

		snprintf(prev, sizeof(prev), i ? "a%d" : "input", i - 1);
		used += snprintf(text + used, cap - used,
				 "%s{\"name\": \"a%d\", \"type\": \"act\", \"inputs\": [\"%s\"],"
				 " \"shape\": [1, 1, 1, 1], \"act\": \"relu\", \"flops\": 1,"
				 " \"params\": 0, \"out_bytes\": 4, \"block\": 0,"
				 " \"cut_after\": false}",
				 i ? ", " : "", i, prev);
	}
	snprintf(text + used, cap - used, "]}\n");
	expect_error(text, (const char *const[]){
				   "tiny.json: layers: 513 layers, expected 1 to 512", NULL });
	free(text);
}

Test(zoo, unknown_model_name_lists_the_models)
{
	struct dnn_model *m = dnn_model_alloc();
	struct tmpdir d = { 0 };
	char err[1024] = "";

	cr_assert_eq(zoo_load_named(MODELS_DIR, "resnet19", m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "unknown model \"resnet19\""), "%s", err);
	cr_assert(strstr(err, "alexnet, efficientnetb0, googlenet"), "%s", err);
	cr_assert(strstr(err, "yolov4tiny"), "%s", err);

	write_model(&d, "tiny", tiny);
	cr_assert_eq(zoo_load_named(d.path, "../tiny", m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "unknown model \"../tiny\"") && strstr(err, ": tiny)"), "%s", err);
	remove_dir(&d, "tiny");
	dnn_model_free(m);
}

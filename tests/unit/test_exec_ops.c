// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Every layer type and form the executor maps onto XNNPACK (exec/exec_ops.c),
 * on small models built in memory, against exec_reference() (exec/ref_ops.c
 * on the same seeded weights), at one and at two compute threads.
 *
 * Tolerance: max |exec - ref| <= 1e-4 * (1 + max |ref|). The two sum in
 * different orders (XNNPACK's microkernels vs the reference's plain loop)
 * and XNNPACK's exp and sigmoid are approximations of a few ulp; with the
 * reductions here (at most 3*3*8 = 72 products, or the fc's 36) rounding
 * stays near 1e-6 relative, so 1e-4 passes every correct mapping and fails
 * any wrong index, padding, divisor or activation, which are off by O(1).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "exec.h"
#include "exec_tiny.h"

#define TOL  1e-4
#define SEED 20240601

static const int no_pad[4] = { 0, 0, 0, 0 };
static const int pad1[4] = { 1, 1, 1, 1 };

/* Runs m (finished here) on inputs in [lo, hi) at 1 and 2 threads. */
static void expect_reference(struct dnn_model *m, float lo, float hi)
{
	struct exec_plan plan;
	struct dnn_exec *e;
	char err[512] = "";
	size_t nr_in, nr_out;
	float *in, *out, *ref;

	tiny_finish(m, false);
	nr_in = (size_t)m->input_shape[1] * m->input_shape[2] * m->input_shape[3];
	exec_plan_single(m, 1, &plan);
	cr_assert_eq(exec_create(m, SEED, &plan, &e, err, sizeof(err)), 0, "%s", err);
	nr_out = exec_output_floats(e);
	cr_assert_eq(exec_input_floats(e), nr_in);
	exec_destroy(e);
	in = malloc(sizeof(float) * nr_in);
	out = malloc(sizeof(float) * nr_out);
	ref = malloc(sizeof(float) * nr_out);
	cr_assert(in && out && ref);
	tiny_fill(in, nr_in, 7, lo, hi);
	cr_assert_eq(exec_reference(m, SEED, in, ref, err, sizeof(err)), 0, "%s", err);
	for (int threads = 1; threads <= 2; threads++) {
		struct exec_result r;
		double worst, big;

		exec_plan_single(m, threads, &plan);
		cr_assert_eq(exec_create(m, SEED, &plan, &e, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(exec_submit(e, in, 1), 0);
		cr_assert_eq(exec_collect(e, out, &r), 0, "%s", exec_error(e));
		worst = tiny_max_diff(out, ref, nr_out, &big);
		cr_assert_leq(worst, TOL * (1 + big),
			      "%s (%s): %d threads: max |exec - ref| %g, max |ref| %g",
			      m->layers[m->nr_layers - 1].name,
			      dnn_layer_type_name(m->layers[m->nr_layers - 1].type), threads, worst,
			      big);
		exec_destroy(e);
	}
	free(in);
	free(out);
	free(ref);
	dnn_model_free(m);
}

Test(exec_ops, conv_3x3_stride2_asymmetric_pad)
{
	static const int pads[][4] = { { 1, 0, 2, 1 }, { 0, 2, 1, 0 }, { 1, 1, 1, 1 } };

	for (size_t k = 0; k < sizeof(pads) / sizeof(pads[0]); k++) {
		struct dnn_model *m = tiny_model(9, 11, 5);

		tiny_conv(m, DNN_INPUT, 7, 3, 2, pads[k], 1, DNN_ACT_NONE);
		expect_reference(m, -1, 1);
	}
}

Test(exec_ops, conv_dilated_no_bias)
{
	struct dnn_model *m = tiny_model(10, 9, 4);
	struct dnn_layer l = { .type = DNN_CONV,
			       .nr_inputs = 1,
			       .inputs = { DNN_INPUT },
			       .kernel = { 3, 2 },
			       .stride = { 1, 2 },
			       .dilation = { 2, 1 },
			       .pad = { 2, 1, 2, 0 },
			       .groups = 1,
			       .bias = false };

	l.shape[3] = 6;
	tiny_add(m, &l);
	expect_reference(m, -1, 1);
}

Test(exec_ops, grouped_conv)
{
	struct dnn_model *m = tiny_model(7, 7, 6);

	tiny_conv(m, DNN_INPUT, 8, 3, 1, pad1, 2, DNN_ACT_RELU);
	expect_reference(m, -1, 1);
}

Test(exec_ops, depthwise_conv)
{
	struct dnn_model *m = tiny_model(8, 8, 8);

	tiny_conv(m, DNN_INPUT, 8, 3, 1, pad1, 8, DNN_ACT_RELU6);
	expect_reference(m, -1, 1);
	/* Stride 2 with the zoo's ceil-style extra bottom/right padding. */
	m = tiny_model(9, 9, 8);
	tiny_conv(m, DNN_INPUT, 8, 5, 2, (const int[4]){ 1, 1, 2, 2 }, 8, DNN_ACT_NONE);
	expect_reference(m, -1, 1);
	/* A channel multiplier of 2: groups = C, two outputs per group. */
	m = tiny_model(6, 6, 4);
	tiny_conv(m, DNN_INPUT, 8, 3, 1, pad1, 4, DNN_ACT_NONE);
	expect_reference(m, -1, 1);
}

Test(exec_ops, pointwise_conv)
{
	struct dnn_model *m = tiny_model(6, 5, 16);

	tiny_conv(m, DNN_INPUT, 12, 1, 1, no_pad, 1, DNN_ACT_RELU);
	expect_reference(m, -1, 1);
}

Test(exec_ops, every_fused_activation)
{
	static const enum dnn_act acts[] = { DNN_ACT_RELU, DNN_ACT_RELU6, DNN_ACT_LEAKY,
					     DNN_ACT_SWISH, DNN_ACT_SIGMOID };

	for (size_t k = 0; k < sizeof(acts) / sizeof(acts[0]); k++) {
		struct dnn_model *m = tiny_model(6, 6, 4);

		/* Inputs up to 4 put relu6's clamp and both of leaky's slopes to work. */
		tiny_conv(m, DNN_INPUT, 5, 3, 1, pad1, 1, acts[k]);
		expect_reference(m, -4, 4);
	}
}

Test(exec_ops, fc)
{
	struct dnn_model *m = tiny_model(3, 3, 4);
	struct dnn_layer l = { .type = DNN_FC,
			       .nr_inputs = 1,
			       .inputs = { DNN_INPUT },
			       .bias = true,
			       .act = DNN_ACT_RELU };

	l.shape[3] = 10;
	tiny_add(m, &l);
	expect_reference(m, -1, 1);
	m = tiny_model(1, 1, 20);
	l.bias = false;
	l.act = DNN_ACT_SIGMOID;
	tiny_add(m, &l);
	expect_reference(m, -1, 1);
}

Test(exec_ops, maxpool_with_padding)
{
	struct dnn_model *m = tiny_model(7, 7, 3);

	/* All inputs negative: a padded zero winning a max would show. */
	tiny_pool(m, DNN_MAXPOOL, DNN_INPUT, 3, 2, (const int[4]){ 0, 0, 1, 1 }, false);
	expect_reference(m, -2, -1);
	m = tiny_model(6, 6, 3);
	tiny_pool(m, DNN_MAXPOOL, DNN_INPUT, 3, 1, pad1, false);
	expect_reference(m, -2, -1);
}

Test(exec_ops, avgpool_count_pad_and_not)
{
	for (int count_pad = 0; count_pad <= 1; count_pad++) {
		struct dnn_model *m = tiny_model(6, 7, 4);

		/* Positive inputs: the divisor shows fully in every border output. */
		tiny_pool(m, DNN_AVGPOOL, DNN_INPUT, 3, 1, pad1, count_pad);
		expect_reference(m, 1, 2);
		m = tiny_model(7, 7, 4);
		tiny_pool(m, DNN_AVGPOOL, DNN_INPUT, 3, 2, (const int[4]){ 0, 0, 1, 1 }, count_pad);
		expect_reference(m, 1, 2);
		m = tiny_model(8, 8, 4);
		tiny_pool(m, DNN_AVGPOOL, DNN_INPUT, 2, 2, no_pad, count_pad);
		expect_reference(m, 1, 2);
	}
}

Test(exec_ops, gavgpool)
{
	struct dnn_model *m = tiny_model(7, 5, 9);
	struct dnn_layer l = { .type = DNN_GAVGPOOL, .nr_inputs = 1, .inputs = { DNN_INPUT } };

	tiny_add(m, &l);
	expect_reference(m, -1, 1);
}

Test(exec_ops, add)
{
	struct dnn_model *m = tiny_model(5, 5, 6);
	int conv = tiny_conv(m, DNN_INPUT, 6, 3, 1, pad1, 1, DNN_ACT_NONE);
	struct dnn_layer l = {
		.type = DNN_ADD, .nr_inputs = 2, .inputs = { conv, DNN_INPUT }, .act = DNN_ACT_RELU
	};

	tiny_add(m, &l);
	expect_reference(m, -1, 1);
}

Test(exec_ops, mul_per_channel_and_same_shape)
{
	struct dnn_model *m = tiny_model(5, 4, 8);
	struct dnn_layer pool = { .type = DNN_GAVGPOOL, .nr_inputs = 1, .inputs = { DNN_INPUT } };
	struct dnn_layer gate = { .type = DNN_ACT, .nr_inputs = 1, .act = DNN_ACT_SIGMOID };
	struct dnn_layer mul = { .type = DNN_MUL, .nr_inputs = 2, .act = DNN_ACT_NONE };

	/* Squeeze-and-excitation: x * sigmoid(mean(x)) per channel. */
	gate.inputs[0] = tiny_add(m, &pool);
	mul.inputs[0] = DNN_INPUT;
	mul.inputs[1] = tiny_add(m, &gate);
	tiny_add(m, &mul);
	expect_reference(m, -2, 2);
	m = tiny_model(4, 4, 3);
	mul.inputs[0] = tiny_conv(m, DNN_INPUT, 3, 1, 1, no_pad, 1, DNN_ACT_NONE);
	mul.inputs[1] = DNN_INPUT;
	mul.act = DNN_ACT_RELU6;
	tiny_add(m, &mul);
	expect_reference(m, -3, 3);
}

Test(exec_ops, concat_of_three)
{
	struct dnn_model *m = tiny_model(5, 6, 5);
	struct dnn_layer l = { .type = DNN_CONCAT, .nr_inputs = 3, .axis = 3 };

	l.inputs[0] = tiny_conv(m, DNN_INPUT, 4, 1, 1, no_pad, 1, DNN_ACT_NONE);
	l.inputs[1] = DNN_INPUT;
	l.inputs[2] = tiny_conv(m, DNN_INPUT, 3, 3, 1, pad1, 1, DNN_ACT_NONE);
	tiny_add(m, &l);
	expect_reference(m, -1, 1);
}

Test(exec_ops, slice)
{
	struct dnn_model *m = tiny_model(4, 5, 8);
	struct dnn_layer l = {
		.type = DNN_SLICE, .nr_inputs = 1, .inputs = { DNN_INPUT }, .channels = { 2, 6 }
	};

	tiny_add(m, &l);
	expect_reference(m, -1, 1);
	m = tiny_model(3, 3, 6);
	l.channels[0] = 3;
	tiny_add(m, &l);
	expect_reference(m, -1, 1);
}

Test(exec_ops, upsample)
{
	for (int scale = 2; scale <= 3; scale++) {
		struct dnn_model *m = tiny_model(4, 3, 5);
		struct dnn_layer l = { .type = DNN_UPSAMPLE,
				       .nr_inputs = 1,
				       .inputs = { DNN_INPUT },
				       .scale = scale };

		tiny_add(m, &l);
		expect_reference(m, -1, 1);
	}
}

Test(exec_ops, act_layer)
{
	static const enum dnn_act acts[] = { DNN_ACT_RELU, DNN_ACT_RELU6, DNN_ACT_LEAKY,
					     DNN_ACT_SWISH, DNN_ACT_SIGMOID };

	for (size_t k = 0; k < sizeof(acts) / sizeof(acts[0]); k++) {
		struct dnn_model *m = tiny_model(5, 4, 6);
		struct dnn_layer l = { .type = DNN_ACT,
				       .nr_inputs = 1,
				       .inputs = { DNN_INPUT },
				       .act = acts[k],
				       .alpha = 0.25 };

		tiny_add(m, &l);
		expect_reference(m, -8, 8);
	}
}

Test(exec_ops, softmax)
{
	struct dnn_model *m = tiny_model(3, 3, 10);
	struct dnn_layer l = { .type = DNN_SOFTMAX, .nr_inputs = 1, .inputs = { DNN_INPUT } };

	tiny_add(m, &l);
	expect_reference(m, -5, 5);
}

Test(exec_ops, one_by_one_pools_run_the_reference)
{
	struct dnn_model *m = tiny_model(6, 6, 3);

	/* XNNPACK refuses a 1x1 window; the executor falls back to ref_ops. */
	tiny_pool(m, DNN_MAXPOOL, DNN_INPUT, 1, 2, no_pad, false);
	expect_reference(m, -1, 1);
	m = tiny_model(6, 6, 3);
	tiny_pool(m, DNN_AVGPOOL, DNN_INPUT, 1, 2, no_pad, false);
	expect_reference(m, -1, 1);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The elastic kernels' bodies (cuda/kernels/ops.h) against the reference
 * operators (exec/ref_ops.c), on the CPU: every op on small random shapes
 * (odd sizes, strides, asymmetric padding, dilation, groups, every
 * activation), each run through the launch emulator (cuda_emu.h) under many
 * slicings of its logical grid: whole, in one persistent block, cut into 1
 * to 7 slices launched in shuffled order with fewer (or more) physical
 * blocks than logical ones, with every block-size variant. Each run must
 * compute every item exactly once, touch nothing past its buffers, agree
 * with the reference, and equal the first run bit for bit: the result may
 * not depend on the slicing.
 *
 * Tolerance: |kernel - reference| <= 1e-5 |reference| + 1e-5. Both sides
 * sum in float, in the same order over the window but with the bias added
 * first by the kernel and last by the reference, and the kernel's swish is
 * x / (1 + e^-x) where the reference's is x * sigmoid(x); these differ by a
 * few ulps of the partial sums. With values in [-1, 1] and at most a few
 * hundred terms a sum stays below ~100 in magnitude, whose ulp is ~1e-5 at
 * worst: 1e-5 absolute covers the sums near zero, 1e-5 relative the rest,
 * while an indexing error moves a result by ~0.1 or more.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "ref_ops.h"
#include "cuda_emu.h"

#define REL_TOL 1e-5
#define ABS_TOL 1e-5

static struct emu_rng rng = { 0x9e3779b97f4a7c15ull };

static float *random_buffer(size_t n, float scale)
{
	return emu_random_buffer(&rng, n, scale);
}

static void check_launches(const char *what, const struct tk_launch *launches, int nr, float *out,
			   size_t out_n, const float *ref)
{
	emu_check_launches(&rng, what, launches, nr, out, out_n, ref, REL_TOL, ABS_TOL);
}

static void check_one(const char *what, const struct tk_launch *t, float *out, size_t out_n,
		      const float *ref)
{
	check_launches(what, t, 1, out, out_n, ref);
}

/* ---- convolutions ------------------------------------------------------------ */

struct conv_case {
	int h, w, c, oc;
	int kh, kw, sh, sw, dh, dw;
	int pad[4]; /* top, left, bottom, right */
	int groups;
	enum dnn_act act;
	bool bias;
};

static void run_conv(enum tk_op op, const struct conv_case *cc)
{
	struct ref_window win = { cc->kh, cc->kw, cc->sh,     cc->sw,
				  cc->dh, cc->dw, cc->pad[0], cc->pad[1] };
	int oh = ref_window_out(cc->h, cc->kh, cc->sh, cc->dh, cc->pad[0], cc->pad[2]);
	int ow = ref_window_out(cc->w, cc->kw, cc->sw, cc->dw, cc->pad[1], cc->pad[3]);
	size_t in_n = (size_t)cc->h * cc->w * cc->c, out_n = (size_t)oh * ow * cc->oc;
	size_t w_n = (size_t)cc->oc * cc->kh * cc->kw * (cc->c / cc->groups);
	float *in = random_buffer(in_n, 1.0f), *weight = random_buffer(w_n, 1.0f);
	float *bias = cc->bias ? random_buffer((size_t)cc->oc, 1.0f) : NULL;
	float *out = emu_alloc(out_n), *ref = malloc(out_n * sizeof(float));
	struct tk_launch t = { .op = op };
	char what[160];

	cr_assert(oh > 0 && ow > 0 && ref);
	ref_conv2d(in, cc->h, cc->w, cc->c, weight, bias, cc->oc, cc->groups, &win, cc->act, 0.1f,
		   ref, oh, ow);
	t.args.conv = (struct tk_conv_args){
		.in = emu_dptr(in),
		.weight = emu_dptr(weight),
		.bias = bias ? emu_dptr(bias) : 0,
		.out = emu_dptr(out),
		.h = cc->h,
		.w = cc->w,
		.c = cc->c,
		.oh = oh,
		.ow = ow,
		.oc = cc->oc,
		.kh = cc->kh,
		.kw = cc->kw,
		.sh = cc->sh,
		.sw = cc->sw,
		.dh = cc->dh,
		.dw = cc->dw,
		.pad_top = cc->pad[0],
		.pad_left = cc->pad[1],
		.groups = cc->groups,
		.act = cc->act,
		.alpha = 0.1f,
	};
	cr_assert_eq(tk_args_items(op, &t.args), (int64_t)out_n);
	snprintf(what, sizeof(what), "conv %dx%dx%d->%d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d g%d %s%s",
		 cc->h, cc->w, cc->c, cc->oc, cc->kh, cc->kw, cc->sh, cc->sw, cc->dh, cc->dw,
		 cc->pad[0], cc->pad[1], cc->pad[2], cc->pad[3], cc->groups, dnn_act_name(cc->act),
		 cc->bias ? " bias" : "");
	check_one(what, &t, out, out_n, ref);
	cr_assert(emu_guards_intact(in, in_n) && emu_guards_intact(weight, w_n));
	emu_free(in);
	emu_free(weight);
	emu_free(bias);
	emu_free(out);
	free(ref);
}

static const struct conv_case direct_cases[] = {
	{ 7, 9, 3, 5, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, DNN_ACT_RELU, true },
	{ 11, 8, 4, 6, 3, 3, 2, 2, 1, 1, { 1, 1, 0, 1 }, 1, DNN_ACT_LEAKY, true },
	{ 9, 9, 6, 9, 3, 3, 1, 1, 2, 2, { 2, 2, 2, 2 }, 3, DNN_ACT_SWISH, false },
	{ 13, 10, 4, 4, 5, 3, 2, 1, 1, 2, { 2, 1, 2, 2 }, 2, DNN_ACT_SIGMOID, true },
	{ 6, 7, 5, 7, 1, 1, 2, 2, 1, 1, { 0, 0, 0, 0 }, 1, DNN_ACT_RELU6, true },
	{ 17, 15, 3, 8, 7, 7, 2, 2, 1, 1, { 3, 3, 3, 3 }, 1, DNN_ACT_NONE, true },
	{ 5, 6, 8, 8, 1, 7, 1, 1, 1, 1, { 0, 3, 0, 3 }, 1, DNN_ACT_RELU, true },
	{ 6, 5, 8, 6, 7, 1, 1, 1, 1, 1, { 3, 0, 3, 0 }, 2, DNN_ACT_RELU, false },
	{ 4, 4, 2, 3, 3, 3, 3, 3, 1, 1, { 0, 0, 2, 2 }, 1, DNN_ACT_NONE, true },
	{ 23, 19, 3, 4, 3, 3, 2, 2, 1, 1, { 0, 0, 1, 1 }, 1, DNN_ACT_LEAKY, true },
};

static const struct conv_case depthwise_cases[] = {
	{ 9, 11, 7, 7, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 7, DNN_ACT_RELU6, true },
	{ 10, 9, 5, 5, 5, 5, 2, 2, 1, 1, { 2, 2, 2, 2 }, 5, DNN_ACT_SWISH, true },
	{ 8, 8, 6, 6, 3, 3, 2, 2, 1, 1, { 0, 0, 1, 1 }, 6, DNN_ACT_NONE, false },
	{ 7, 7, 4, 4, 3, 3, 1, 1, 2, 2, { 2, 2, 2, 2 }, 4, DNN_ACT_LEAKY, true },
	{ 21, 17, 19, 19, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 19, DNN_ACT_SIGMOID, true },
};

static const struct conv_case pointwise_cases[] = {
	{ 7, 5, 13, 9, 1, 1, 1, 1, 1, 1, { 0 }, 1, DNN_ACT_RELU, true },
	{ 1, 1, 37, 11, 1, 1, 1, 1, 1, 1, { 0 }, 1, DNN_ACT_SWISH, true },
	{ 4, 6, 3, 17, 1, 1, 1, 1, 1, 1, { 0 }, 1, DNN_ACT_SIGMOID, false },
	{ 9, 8, 64, 24, 1, 1, 1, 1, 1, 1, { 0 }, 1, DNN_ACT_NONE, true },
};

#define NR(a) (int)(sizeof(a) / sizeof((a)[0]))

Test(cuda_kernels, conv_direct)
{
	for (int k = 0; k < NR(direct_cases); k++)
		run_conv(TK_CONV_DIRECT, &direct_cases[k]);
}

Test(cuda_kernels, conv_direct_every_activation)
{
	for (int act = 0; act < DNN_ACT__COUNT; act++) {
		struct conv_case cc = direct_cases[1];

		cc.act = act;
		run_conv(TK_CONV_DIRECT, &cc);
	}
}

/* The specialised kernels, and the direct kernel on their shapes too: the
 * mapping may pick either. */
Test(cuda_kernels, conv_depthwise)
{
	for (int k = 0; k < NR(depthwise_cases); k++) {
		const struct conv_case *cc = &depthwise_cases[k];

		cr_assert(cc->groups == cc->c && cc->c == cc->oc);
		run_conv(TK_CONV_DEPTHWISE, cc);
		run_conv(TK_CONV_DIRECT, cc);
	}
}

Test(cuda_kernels, conv_pointwise)
{
	for (int k = 0; k < NR(pointwise_cases); k++) {
		const struct conv_case *cc = &pointwise_cases[k];

		cr_assert(cc->kh == 1 && cc->kw == 1 && cc->sh == 1 && cc->sw == 1 &&
			  cc->groups == 1);
		run_conv(TK_CONV_POINTWISE, cc);
		run_conv(TK_CONV_DIRECT, cc);
	}
}

/* ---- fully connected ----------------------------------------------------------- */

static void run_fc(int in_n, int out_n, bool with_bias, enum dnn_act act)
{
	float *in = random_buffer((size_t)in_n, 1.0f);
	float *weight = random_buffer((size_t)in_n * out_n, 1.0f);
	float *bias = with_bias ? random_buffer((size_t)out_n, 1.0f) : NULL;
	float *out = emu_alloc((size_t)out_n), *ref = malloc((size_t)out_n * sizeof(float));
	struct tk_launch t = { .op = TK_FC };
	char what[96];

	ref_fc(in, in_n, weight, bias, out_n, act, 0.1f, ref);
	t.args.fc = (struct tk_fc_args){
		.in = emu_dptr(in),
		.weight = emu_dptr(weight),
		.bias = bias ? emu_dptr(bias) : 0,
		.out = emu_dptr(out),
		.in_features = in_n,
		.out_features = out_n,
		.act = act,
		.alpha = 0.1f,
	};
	snprintf(what, sizeof(what), "fc %d->%d %s%s", in_n, out_n, dnn_act_name(act),
		 with_bias ? " bias" : "");
	check_one(what, &t, out, (size_t)out_n, ref);
	emu_free(in);
	emu_free(weight);
	emu_free(bias);
	emu_free(out);
	free(ref);
}

Test(cuda_kernels, fc)
{
	run_fc(37, 19, true, DNN_ACT_RELU);
	run_fc(300, 70, false, DNN_ACT_NONE);
	run_fc(1, 5, true, DNN_ACT_SIGMOID);
	run_fc(64, 600, true, DNN_ACT_LEAKY);
	for (int act = 0; act < DNN_ACT__COUNT; act++)
		run_fc(23, 29, true, act);
}

/* ---- pools --------------------------------------------------------------------- */

struct pool_case {
	int h, w, c, kh, kw, sh, sw;
	int pad[4];
};

static const struct pool_case pool_cases[] = {
	{ 9, 11, 5, 3, 3, 2, 2, { 1, 1, 1, 1 } },  { 8, 8, 3, 2, 2, 2, 2, { 0, 0, 0, 0 } },
	{ 13, 13, 4, 3, 3, 2, 2, { 0, 0, 1, 1 } }, /* ceil mode as bottom/right padding */
	{ 7, 5, 6, 3, 3, 1, 1, { 1, 1, 1, 1 } },   { 12, 10, 3, 3, 2, 3, 2, { 2, 0, 1, 1 } },
	{ 19, 17, 7, 5, 5, 3, 3, { 2, 2, 2, 2 } },
};

static void run_pool(enum tk_op op, const struct pool_case *pc, bool count_pad)
{
	struct ref_window win = { pc->kh, pc->kw, pc->sh, pc->sw, 1, 1, pc->pad[0], pc->pad[1] };
	int oh = ref_window_out(pc->h, pc->kh, pc->sh, 1, pc->pad[0], pc->pad[2]);
	int ow = ref_window_out(pc->w, pc->kw, pc->sw, 1, pc->pad[1], pc->pad[3]);
	size_t in_n = (size_t)pc->h * pc->w * pc->c, out_n = (size_t)oh * ow * pc->c;
	float *in = random_buffer(in_n, 1.0f), *out = emu_alloc(out_n);
	float *ref = malloc(out_n * sizeof(float));
	struct tk_launch t = { .op = op };
	char what[128];

	if (op == TK_MAXPOOL)
		ref_maxpool(in, pc->h, pc->w, pc->c, &win, ref, oh, ow);
	else
		ref_avgpool(in, pc->h, pc->w, pc->c, &win, count_pad, ref, oh, ow);
	t.args.pool = (struct tk_pool_args){
		.in = emu_dptr(in),
		.out = emu_dptr(out),
		.h = pc->h,
		.w = pc->w,
		.c = pc->c,
		.oh = oh,
		.ow = ow,
		.kh = pc->kh,
		.kw = pc->kw,
		.sh = pc->sh,
		.sw = pc->sw,
		.pad_top = pc->pad[0],
		.pad_left = pc->pad[1],
		.count_pad = count_pad,
	};
	snprintf(what, sizeof(what), "%s %dx%dx%d k%dx%d s%d,%d p%d,%d,%d,%d%s", tk_op_name(op),
		 pc->h, pc->w, pc->c, pc->kh, pc->kw, pc->sh, pc->sw, pc->pad[0], pc->pad[1],
		 pc->pad[2], pc->pad[3], count_pad ? " count_pad" : "");
	check_one(what, &t, out, out_n, ref);
	emu_free(in);
	emu_free(out);
	free(ref);
}

Test(cuda_kernels, maxpool)
{
	for (int k = 0; k < NR(pool_cases); k++)
		run_pool(TK_MAXPOOL, &pool_cases[k], false);
}

Test(cuda_kernels, avgpool)
{
	for (int k = 0; k < NR(pool_cases); k++) {
		run_pool(TK_AVGPOOL, &pool_cases[k], false);
		run_pool(TK_AVGPOOL, &pool_cases[k], true);
	}
}

static void run_gavgpool(int h, int w, int c)
{
	size_t in_n = (size_t)h * w * c;
	float *in = random_buffer(in_n, 1.0f), *out = emu_alloc((size_t)c);
	float *ref = malloc((size_t)c * sizeof(float));
	struct tk_launch t = { .op = TK_GAVGPOOL };
	char what[64];

	ref_gavgpool(in, h, w, c, ref);
	t.args.pool = (struct tk_pool_args){
		.in = emu_dptr(in),
		.out = emu_dptr(out),
		.h = h,
		.w = w,
		.c = c,
		.oh = 1,
		.ow = 1,
		.kh = h,
		.kw = w,
		.sh = 1,
		.sw = 1,
	};
	snprintf(what, sizeof(what), "gavgpool %dx%dx%d", h, w, c);
	check_one(what, &t, out, (size_t)c, ref);
	emu_free(in);
	emu_free(out);
	free(ref);
}

Test(cuda_kernels, gavgpool)
{
	run_gavgpool(7, 5, 13);
	run_gavgpool(1, 1, 9);
	run_gavgpool(16, 12, 3);
	run_gavgpool(3, 3, 300);
}

/* ---- element-wise -------------------------------------------------------------- */

static void run_eltwise(enum tk_op op, int h, int w, int c, bool per_channel, enum dnn_act act)
{
	size_t n = (size_t)h * w * c, b_n = op == TK_ACT ? 0 : per_channel ? (size_t)c : n;
	/* x4: past relu6's clip and deep into the sigmoid's tails. */
	float *a = random_buffer(n, 4.0f), *b = b_n ? random_buffer(b_n, 2.0f) : NULL;
	float *out = emu_alloc(n), *ref = malloc(n * sizeof(float));
	struct tk_launch t = { .op = op };
	char what[96];

	if (op == TK_ADD)
		ref_add(a, b, n, act, 0.1f, ref);
	else if (op == TK_MUL)
		ref_mul(a, b, n, c, per_channel, act, 0.1f, ref);
	else
		ref_activation(a, n, act, 0.1f, ref);
	t.args.eltwise = (struct tk_eltwise_args){
		.a = emu_dptr(a),
		.b = b ? emu_dptr(b) : 0,
		.out = emu_dptr(out),
		.n = (int64_t)n,
		.c = c,
		.b_per_channel = per_channel,
		.act = act,
		.alpha = 0.1f,
	};
	snprintf(what, sizeof(what), "%s %dx%dx%d%s %s", tk_op_name(op), h, w, c,
		 per_channel ? " per channel" : "", dnn_act_name(act));
	check_one(what, &t, out, n, ref);
	if (b)
		cr_assert(emu_guards_intact(b, b_n));
	emu_free(a);
	emu_free(b);
	emu_free(out);
	free(ref);
}

Test(cuda_kernels, add)
{
	for (int act = 0; act < DNN_ACT__COUNT; act++)
		run_eltwise(TK_ADD, 5, 7, 11, false, act);
	run_eltwise(TK_ADD, 1, 1, 1, false, DNN_ACT_NONE);
	run_eltwise(TK_ADD, 10, 10, 10, false, DNN_ACT_RELU);
}

Test(cuda_kernels, mul)
{
	run_eltwise(TK_MUL, 5, 7, 11, false, DNN_ACT_NONE);
	run_eltwise(TK_MUL, 9, 7, 13, true, DNN_ACT_NONE);
	run_eltwise(TK_MUL, 1, 1, 29, true, DNN_ACT_SIGMOID);
	for (int act = 0; act < DNN_ACT__COUNT; act++)
		run_eltwise(TK_MUL, 3, 11, 7, true, act);
}

Test(cuda_kernels, act)
{
	for (int act = 0; act < DNN_ACT__COUNT; act++) {
		run_eltwise(TK_ACT, 5, 7, 11, false, act);
		run_eltwise(TK_ACT, 1, 3, 1, false, act);
	}
}

/* ---- data movement ------------------------------------------------------------- */

Test(cuda_kernels, concat_as_copy_channels)
{
	enum { H = 5, W = 7, NR_IN = 3 };
	const int cs[NR_IN] = { 3, 5, 2 };
	const float *ins[NR_IN];
	float *bufs[NR_IN];
	struct tk_launch t[NR_IN];
	int total = 0, dst = 0;

	for (int k = 0; k < NR_IN; k++)
		total += cs[k];
	for (int k = 0; k < NR_IN; k++)
		ins[k] = bufs[k] = random_buffer((size_t)H * W * cs[k], 1.0f);

	size_t out_n = (size_t)H * W * total;
	float *out = emu_alloc(out_n), *ref = malloc(out_n * sizeof(float));

	ref_concat(ins, cs, NR_IN, H, W, ref);
	for (int k = 0; k < NR_IN; k++) {
		t[k] = (struct tk_launch){ .op = TK_COPY_CHANNELS };
		t[k].args.copy = (struct tk_copy_args){
			.in = emu_dptr(ins[k]),
			.out = emu_dptr(out),
			.h = H,
			.w = W,
			.in_c = cs[k],
			.out_c = total,
			.src_c0 = 0,
			.dst_c0 = dst,
			.nr_c = cs[k],
			.scale = 1,
		};
		dst += cs[k];
	}
	check_launches("concat 3+5+2", t, NR_IN, out, out_n, ref);
	for (int k = 0; k < NR_IN; k++)
		emu_free(bufs[k]);
	emu_free(out);
	free(ref);
}

static void run_slice(int h, int w, int c, int c0, int c1)
{
	size_t in_n = (size_t)h * w * c, out_n = (size_t)h * w * (c1 - c0);
	float *in = random_buffer(in_n, 1.0f), *out = emu_alloc(out_n);
	float *ref = malloc(out_n * sizeof(float));
	struct tk_launch t = { .op = TK_COPY_CHANNELS };
	char what[64];

	ref_slice(in, h, w, c, c0, c1, ref);
	t.args.copy = (struct tk_copy_args){
		.in = emu_dptr(in),
		.out = emu_dptr(out),
		.h = h,
		.w = w,
		.in_c = c,
		.out_c = c1 - c0,
		.src_c0 = c0,
		.dst_c0 = 0,
		.nr_c = c1 - c0,
		.scale = 1,
	};
	snprintf(what, sizeof(what), "slice [%d,%d) of %dx%dx%d", c0, c1, h, w, c);
	check_one(what, &t, out, out_n, ref);
	emu_free(in);
	emu_free(out);
	free(ref);
}

Test(cuda_kernels, slice_as_copy_channels)
{
	run_slice(5, 7, 9, 2, 7);
	run_slice(13, 11, 8, 4, 8);
	run_slice(3, 3, 6, 0, 1);
}

static void run_upsample(int h, int w, int c, int scale)
{
	size_t in_n = (size_t)h * w * c, out_n = in_n * scale * scale;
	float *in = random_buffer(in_n, 1.0f), *out = emu_alloc(out_n);
	float *ref = malloc(out_n * sizeof(float));
	struct tk_launch t = { .op = TK_UPSAMPLE };
	char what[64];

	ref_upsample(in, h, w, c, scale, ref);
	t.args.copy = (struct tk_copy_args){
		.in = emu_dptr(in),
		.out = emu_dptr(out),
		.h = h * scale,
		.w = w * scale,
		.in_c = c,
		.out_c = c,
		.src_c0 = 0,
		.dst_c0 = 0,
		.nr_c = c,
		.scale = scale,
	};
	snprintf(what, sizeof(what), "upsample %dx%dx%d by %d", h, w, c, scale);
	check_one(what, &t, out, out_n, ref);
	emu_free(in);
	emu_free(out);
	free(ref);
}

Test(cuda_kernels, upsample)
{
	run_upsample(5, 3, 4, 2);
	run_upsample(4, 7, 3, 3);
	run_upsample(6, 6, 5, 1);
}

/* ---- softmax ------------------------------------------------------------------- */

static void run_softmax(int pixels, int c, float scale)
{
	size_t n = (size_t)pixels * c;
	float *in = random_buffer(n, scale), *out = emu_alloc(n), *ref = malloc(n * sizeof(float));
	struct tk_launch t = { .op = TK_SOFTMAX };
	char what[64];

	ref_softmax(in, pixels, c, ref);
	t.args.softmax = (struct tk_softmax_args){
		.in = emu_dptr(in), .out = emu_dptr(out), .pixels = pixels, .c = c
	};
	snprintf(what, sizeof(what), "softmax %d x %d, logits up to %g", pixels, c, scale);
	check_one(what, &t, out, n, ref);
	emu_free(in);
	emu_free(out);
	free(ref);
}

Test(cuda_kernels, softmax)
{
	run_softmax(13, 10, 1.0f);
	run_softmax(1, 1000, 5.0f);
	run_softmax(300, 3, 2.0f);
	/* e^100 overflows a float: only a softmax that takes the max out first
	 * gives numbers here. */
	run_softmax(7, 9, 100.0f);
	run_softmax(5, 1, 1.0f);
}

/* ---- the emulator and the loop themselves ----------------------------------- */

/* An empty slice runs nothing; a slice of the grid runs exactly its items. */
Test(cuda_kernels, a_slice_runs_its_items_only)
{
	struct tk_eltwise_args a = { .n = 1000, .c = 1 };
	float *in = random_buffer(1000, 1.0f), *out = emu_alloc(1000);
	uint32_t visits[1000];

	a.a = emu_dptr(in);
	a.out = emu_dptr(out);
	memset(visits, 0, sizeof(visits));
	emu_launch(TK_ACT, &a, (struct tk_slice){ 2, 2 }, 4, 64, visits);
	for (int g = 0; g < 1000; g++)
		cr_assert_eq(visits[g], 0);
	emu_launch(TK_ACT, &a, (struct tk_slice){ 1, 3 }, 1, 128, visits);
	for (int g = 0; g < 1000; g++)
		cr_assert_eq(visits[g], g >= 256 && g < 768 ? 1u : 0u, "item %d", g);
	/* The last logical block holds 1000 - 3 * 256 = 232 items. */
	emu_launch(TK_ACT, &a, (struct tk_slice){ 3, 4 }, 1, 64, visits);
	for (int g = 0; g < 1000; g++)
		cr_assert_eq(visits[g], g >= 256 ? 1u : 0u, "item %d", g);
	cr_assert(emu_guards_intact(out, 1000));
	emu_free(in);
	emu_free(out);
}

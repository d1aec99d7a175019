// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Every elastic kernel, in every block-size variant, against the CPU
 * reference (exec/ref_ops.h) on random inputs, each run under a random
 * slicing with random physical grids; the variants must also agree with
 * each other bit for bit, since the contract (cuda/kernels/elastic.h)
 * makes the result independent of slicing and block size. Then the
 * exactly-once test: an in-place add of ones over a grid sliced at random,
 * many times over, must raise every element by exactly the number of
 * rounds and touch nothing past the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_dnn.h"
#include "kernels/kernels.h"
#include "ref_ops.h"
#include "gpu_tests.h"

#define MAX_TENSORS 4

/* One op on random tensors, with the output the CPU reference expects. */
struct op_case {
	const char *what;
	struct tk_launch launch;
	float *host[MAX_TENSORS];
	CUdeviceptr dev[MAX_TENSORS];
	int nr;
	CUdeviceptr out;
	size_t out_n;
	float *want;
};

static float *new_tensor(struct op_case *c, size_t n, float lo, float hi, unsigned *seed,
			 tk_dptr *dptr)
{
	float *h = malloc(n * sizeof(float));

	fill_random(h, n, lo, hi, seed);
	c->host[c->nr] = h;
	c->dev[c->nr] = dev_upload(h, n);
	*dptr = c->dev[c->nr];
	c->nr++;
	return h;
}

static void new_output(struct op_case *c, size_t n, tk_dptr *dptr)
{
	c->out_n = n;
	c->out = dev_alloc(n);
	c->want = malloc(n * sizeof(float));
	*dptr = c->out;
}

static void free_case(struct op_case *c)
{
	for (int i = 0; i < c->nr; i++) {
		free(c->host[i]);
		dev_free(c->dev[i]);
	}
	dev_free(c->out);
	free(c->want);
}

static void conv_case(struct op_case *c, enum tk_op op, unsigned *seed)
{
	struct tk_conv_args *a = &c->launch.args.conv;
	struct ref_window win;
	const float *in, *w, *b;

	c->launch.op = op;
	memset(a, 0, sizeof(*a));
	a->h = 19;
	a->w = 23;
	a->c = op == TK_CONV_DEPTHWISE ? 8 : 6;
	a->oc = op == TK_CONV_DIRECT ? 10 : op == TK_CONV_DEPTHWISE ? 8 : 12;
	a->groups = op == TK_CONV_DIRECT ? 2 : op == TK_CONV_DEPTHWISE ? 8 : 1;
	a->kh = a->kw = op == TK_CONV_POINTWISE ? 1 : 3;
	a->sh = a->sw = op == TK_CONV_DIRECT ? 2 : 1;
	a->dh = a->dw = 1;
	a->pad_top = a->pad_left = op == TK_CONV_POINTWISE ? 0 : 1;
	a->act = op == TK_CONV_DIRECT ? TK_ACT_RELU : op == TK_CONV_DEPTHWISE ? TK_ACT_RELU6
									     : TK_ACT_SWISH;
	win = (struct ref_window){ a->kh, a->kw, a->sh, a->sw, a->dh, a->dw, a->pad_top,
				   a->pad_left };
	a->oh = ref_window_out(a->h, a->kh, a->sh, a->dh, a->pad_top, a->pad_top);
	a->ow = ref_window_out(a->w, a->kw, a->sw, a->dw, a->pad_left, a->pad_left);
	in = new_tensor(c, (size_t)a->h * a->w * a->c, -1, 1, seed, &a->in);
	w = new_tensor(c, (size_t)a->oc * a->kh * a->kw * (a->c / a->groups), -0.5, 0.5, seed,
		       &a->weight);
	b = new_tensor(c, (size_t)a->oc, -0.2, 0.2, seed, &a->bias);
	new_output(c, (size_t)a->oh * a->ow * a->oc, &a->out);
	ref_conv2d(in, a->h, a->w, a->c, w, b, a->oc, a->groups, &win, (enum dnn_act)a->act,
		   a->alpha, c->want, a->oh, a->ow);
}

static void fc_case(struct op_case *c, unsigned *seed)
{
	struct tk_fc_args *a = &c->launch.args.fc;
	const float *in, *w, *b;

	c->launch.op = TK_FC;
	memset(a, 0, sizeof(*a));
	a->in_features = 300;
	a->out_features = 1001;
	a->act = TK_ACT_SIGMOID;
	in = new_tensor(c, 300, -1, 1, seed, &a->in);
	w = new_tensor(c, 300 * 1001, -0.1, 0.1, seed, &a->weight);
	b = new_tensor(c, 1001, -0.1, 0.1, seed, &a->bias);
	new_output(c, 1001, &a->out);
	ref_fc(in, 300, w, b, 1001, DNN_ACT_SIGMOID, 0, c->want);
}

static void pool_case(struct op_case *c, enum tk_op op, bool count_pad, unsigned *seed)
{
	struct tk_pool_args *a = &c->launch.args.pool;
	struct ref_window win;
	const float *in;

	c->launch.op = op;
	memset(a, 0, sizeof(*a));
	a->h = 21;
	a->w = 17;
	a->c = 24;
	if (op == TK_GAVGPOOL) {
		a->kh = a->h;
		a->kw = a->w;
		a->sh = a->sw = 1;
		a->oh = a->ow = 1;
	} else {
		a->kh = a->kw = 3;
		a->sh = a->sw = 2;
		a->pad_top = a->pad_left = 1;
		a->count_pad = count_pad;
		a->oh = ref_window_out(a->h, 3, 2, 1, 1, 1);
		a->ow = ref_window_out(a->w, 3, 2, 1, 1, 1);
	}
	win = (struct ref_window){ a->kh, a->kw, a->sh, a->sw, 1, 1, a->pad_top, a->pad_left };
	in = new_tensor(c, (size_t)a->h * a->w * a->c, -3, 3, seed, &a->in);
	new_output(c, (size_t)a->oh * a->ow * a->c, &a->out);
	if (op == TK_MAXPOOL)
		ref_maxpool(in, a->h, a->w, a->c, &win, c->want, a->oh, a->ow);
	else if (op == TK_AVGPOOL)
		ref_avgpool(in, a->h, a->w, a->c, &win, count_pad, c->want, a->oh, a->ow);
	else
		ref_gavgpool(in, a->h, a->w, a->c, c->want);
}

static void eltwise_case(struct op_case *c, enum tk_op op, unsigned *seed)
{
	struct tk_eltwise_args *a = &c->launch.args.eltwise;
	const size_t n = 13 * 11 * 40;
	const float *x, *y = NULL;

	c->launch.op = op;
	memset(a, 0, sizeof(*a));
	a->n = (int64_t)n;
	a->c = 40;
	a->b_per_channel = op == TK_MUL;
	a->act = op == TK_ADD ? TK_ACT_LEAKY : op == TK_MUL ? TK_ACT_NONE : TK_ACT_SWISH;
	a->alpha = 0.1f;
	x = new_tensor(c, n, -4, 4, seed, &a->a);
	if (op != TK_ACT)
		y = new_tensor(c, op == TK_MUL ? 40 : n, -2, 2, seed, &a->b);
	new_output(c, n, &a->out);
	if (op == TK_ADD)
		ref_add(x, y, n, DNN_ACT_LEAKY, 0.1f, c->want);
	else if (op == TK_MUL)
		ref_mul(x, y, n, 40, true, DNN_ACT_NONE, 0.1f, c->want);
	else
		ref_activation(x, n, DNN_ACT_SWISH, 0.1f, c->want);
}

static void copy_case(struct op_case *c, enum tk_op op, unsigned *seed)
{
	struct tk_copy_args *a = &c->launch.args.copy;
	const int h = 15, w = 14, ch = 20;
	const float *in;

	c->launch.op = op;
	memset(a, 0, sizeof(*a));
	in = new_tensor(c, (size_t)h * w * ch, -1, 1, seed, &a->in);
	if (op == TK_UPSAMPLE) {
		a->h = 2 * h;
		a->w = 2 * w;
		a->in_c = a->out_c = a->nr_c = ch;
		a->scale = 2;
		new_output(c, (size_t)4 * h * w * ch, &a->out);
		ref_upsample(in, h, w, ch, 2, c->want);
		return;
	}
	/* A channel slice [5, 17). */
	a->h = h;
	a->w = w;
	a->in_c = ch;
	a->out_c = a->nr_c = 12;
	a->src_c0 = 5;
	a->scale = 1;
	new_output(c, (size_t)h * w * 12, &a->out);
	ref_slice(in, h, w, ch, 5, 17, c->want);
}

static void softmax_case(struct op_case *c, unsigned *seed)
{
	struct tk_softmax_args *a = &c->launch.args.softmax;
	const float *in;

	c->launch.op = TK_SOFTMAX;
	a->pixels = 300;
	a->c = 37;
	in = new_tensor(c, 300 * 37, -8, 8, seed, &a->in);
	new_output(c, 300 * 37, &a->out);
	ref_softmax(in, 300, 37, c->want);
}

static void make_case(struct op_case *c, int op, unsigned *seed)
{
	memset(c, 0, sizeof(*c));
	switch (op) {
	case TK_CONV_DIRECT:
	case TK_CONV_DEPTHWISE:
	case TK_CONV_POINTWISE:
		conv_case(c, op, seed);
		break;
	case TK_FC:
		fc_case(c, seed);
		break;
	case TK_MAXPOOL:
	case TK_AVGPOOL:
	case TK_GAVGPOOL:
		pool_case(c, op, false, seed);
		break;
	case TK_ADD:
	case TK_MUL:
	case TK_ACT:
		eltwise_case(c, op, seed);
		break;
	case TK_COPY_CHANNELS:
	case TK_UPSAMPLE:
		copy_case(c, op, seed);
		break;
	case TK_SOFTMAX:
		softmax_case(c, seed);
		break;
	default:
		break;
	}
}

/* Cuts [0, n) into random slices, launched in a random order, each with a
 * random number of physical blocks (1 to the slice's length). Returns how
 * many launches, or -1. */
static int launch_sliced(struct gpu_device *g, enum tk_op op, int v, const void *args,
			 uint32_t n, CUstream s, unsigned *seed)
{
	struct tk_slice *slices = malloc((n + 1) * sizeof(*slices));
	char err[512];
	int nr = 0;

	for (uint32_t at = 0; at < n; nr++) {
		uint32_t len = 1 + (uint32_t)rand_r(seed) % (n / 3 + 1);

		slices[nr].begin = at;
		slices[nr].end = at + len < n ? at + len : n;
		at = slices[nr].end;
	}
	for (int i = nr - 1; i > 0; i--) {
		int j = rand_r(seed) % (i + 1);
		struct tk_slice t = slices[i];

		slices[i] = slices[j];
		slices[j] = t;
	}
	for (int i = 0; i < nr; i++) {
		uint32_t len = slices[i].end - slices[i].begin;
		uint32_t blocks = 1 + (uint32_t)rand_r(seed) % len;

		if (gpu_launch(g, op, v, blocks, slices[i], args, s, err, sizeof(err))) {
			fprintf(stderr, "gpu-tests: %s\n", err);
			free(slices);
			return -1;
		}
	}
	free(slices);
	return cu.StreamSynchronize(s) == CUDA_SUCCESS ? nr : -1;
}

void test_kernels(struct gpu_device *g)
{
	unsigned seed = 20240607;
	CUstream s;
	char err[512];

	if (gpu_stream_create_default(g, &s, err, sizeof(err))) {
		tap_not_ok("kernels: %s", err);
		return;
	}
	for (int op = 0; op < TK_OP__COUNT; op++) {
		struct op_case c;
		float *first = NULL, *got;
		uint32_t blocks;

		make_case(&c, op, &seed);
		blocks = tk_args_logical_blocks(op, &c.launch.args);
		got = malloc(c.out_n * sizeof(float));
		for (int v = TK_NR_BLOCK_VARIANTS - 1; v >= 0; v--) {
			const char *name = tk_op_name(op);
			int threads = tk_block_variants[v], launches;
			size_t bad = 0;

			cu.MemsetD32(c.out, GPU_DNN_POISON, c.out_n);
			launches = launch_sliced(g, op, v, &c.launch.args, blocks, s, &seed);
			if (launches < 0 || dev_download(got, c.out, c.out_n)) {
				tap_not_ok("kernel %s t%d: launch failed", name, threads);
				continue;
			}
			if (!close_enough(got, c.want, c.out_n, 1e-5, 1e-4, &bad)) {
				tap_not_ok("kernel %s t%d: element %zu is %.9g, the CPU reference %.9g",
					   name, threads, bad, got[bad], c.want[bad]);
				continue;
			}
			if (!first) {
				first = malloc(c.out_n * sizeof(float));
				memcpy(first, got, c.out_n * sizeof(float));
			} else if (memcmp(first, got, c.out_n * sizeof(float))) {
				tap_not_ok("kernel %s t%d: not bit-identical to the t256 result",
					   name, threads);
				continue;
			}
			tap_ok("kernel %s t%d matches the CPU reference (%zu outputs, %u logical "
			       "blocks in %d random slices)",
			       name, threads, c.out_n, blocks, launches);
		}
		free(first);
		free(got);
		free_case(&c);
	}
	cu.StreamDestroy(s);
}

void test_coverage(struct gpu_device *g)
{
	const size_t n = 100003, guard = 4096;
	const uint32_t blocks = (uint32_t)((n + TK_LOGICAL_THREADS - 1) / TK_LOGICAL_THREADS);
	const int rounds = 60;
	unsigned seed = 777;
	float *host = malloc((n + guard) * sizeof(float));
	float *ones = malloc(n * sizeof(float));
	CUdeviceptr a, b;
	struct tk_eltwise_args args;
	char err[512];
	CUstream s;
	size_t wrong = 0;
	int launches = 0;

	for (size_t i = 0; i < n + guard; i++)
		host[i] = i < n ? (float)(i % 1000) : -1.0f;
	for (size_t i = 0; i < n; i++)
		ones[i] = 1.0f;
	a = dev_upload(host, n + guard);
	b = dev_upload(ones, n);
	if (!a || !b || gpu_stream_create_default(g, &s, err, sizeof(err))) {
		tap_not_ok("sliced launches cover the grid exactly once: setup failed");
		goto out;
	}
	/* out aliases a: a block run twice adds 2, a block skipped adds 0. */
	memset(&args, 0, sizeof(args));
	args.a = a;
	args.b = b;
	args.out = a;
	args.n = (int64_t)n;
	args.c = 1;
	for (int r = 0; r < rounds; r++) {
		int v = rand_r(&seed) % TK_NR_BLOCK_VARIANTS;
		int k = launch_sliced(g, TK_ADD, v, &args, blocks, s, &seed);

		if (k < 0) {
			tap_not_ok("sliced launches cover the grid exactly once: launch failed");
			cu.StreamDestroy(s);
			goto out;
		}
		launches += k;
	}
	dev_download(host, a, n + guard);
	for (size_t i = 0; i < n + guard; i++) {
		float want = i < n ? (float)(i % 1000 + rounds) : -1.0f;

		if (host[i] != want && !wrong++)
			fprintf(stderr, "gpu-tests: element %zu is %g, expected %g\n", i, host[i],
				want);
	}
	if (wrong)
		tap_not_ok("sliced launches cover the grid exactly once: %zu of %zu elements wrong",
			   wrong, n + guard);
	else
		tap_ok("sliced launches cover the grid exactly once (%d rounds, %d random slices, "
		       "random variants and grids, guard untouched)",
		       rounds, launches);
	cu.StreamDestroy(s);
out:
	dev_free(a);
	dev_free(b);
	free(host);
	free(ones);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The host side of the elastic kernels (cuda/kernels/kernels.c): kernel
 * symbol names, item and logical-block arithmetic on fixed inputs, and the
 * mapping of zoo layers to launches. Every layer of every model in
 * models/zoo must map, its launches must cover its output exactly (items =
 * output elements; pixels for softmax) at the addresses given; and the
 * layers of three models that between them hold every layer type are run
 * through the launch emulator and compared with ref_layer(), so that the
 * mapping's arguments mean what the layer means. Runs from the repository
 * root, where models/zoo is.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/fatbin.h"
#include "kernels/kernels.h"
#include "ref_ops.h"
#include "cuda_emu.h"

static char err[256];
static struct emu_rng rng = { 0x243f6a8885a308d3ull };

/* The op names of elastic.h, in enum order: the symbols part of the
 * contract, spelt out here rather than taken from the code under test. */
static const char *const expected_names[TK_OP__COUNT] = {
	"conv_direct",
	"conv_depthwise",
	"conv_pointwise",
	"fc",
	"maxpool",
	"avgpool",
	"gavgpool",
	"add",
	"mul",
	"act",
	"copy_channels",
	"upsample",
	"softmax",
};

Test(cuda_kernels, symbol_names)
{
	static const int variants[] = { 64, 128, 256 };
	char buf[TK_SYMBOL_MAX], want[64];

	cr_assert_eq(TK_NR_BLOCK_VARIANTS, 3);
	for (int v = 0; v < TK_NR_BLOCK_VARIANTS; v++)
		cr_assert_eq(tk_block_variants[v], variants[v]);
	for (int op = 0; op < TK_OP__COUNT; op++) {
		cr_assert_str_eq(tk_op_name(op), expected_names[op]);
		cr_assert_eq(tk_op_parse(expected_names[op]), op);
		for (int v = 0; v < TK_NR_BLOCK_VARIANTS; v++) {
			snprintf(want, sizeof(want), "tk_%s_t%d", expected_names[op], variants[v]);
			cr_assert_eq(tk_kernel_symbol(op, variants[v], buf, sizeof(buf)), 0);
			cr_assert_str_eq(buf, want);
		}
	}
	cr_assert_eq(tk_kernel_symbol(TK_CONV_POINTWISE, 256, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "tk_conv_pointwise_t256");
	cr_assert_str_eq(tk_op_name(TK_OP__COUNT), "?");
	cr_assert_eq(tk_op_parse("conv"), -1);
}

Test(cuda_kernels, symbol_errors)
{
	char buf[TK_SYMBOL_MAX];

	cr_assert_eq(tk_kernel_symbol(TK_FC, 32, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(tk_kernel_symbol(TK_FC, 0, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(tk_kernel_symbol(TK_FC, 512, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(tk_kernel_symbol(TK_OP__COUNT, 128, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(tk_kernel_symbol((enum tk_op) - 1, 128, buf, sizeof(buf)), -EINVAL);
	/* "tk_fc_t128" is 10 characters and its NUL. */
	cr_assert_eq(tk_kernel_symbol(TK_FC, 128, buf, 10), -ENOSPC);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(tk_kernel_symbol(TK_FC, 128, buf, 11), 0);
	cr_assert_str_eq(buf, "tk_fc_t128");
	cr_assert(tk_block_variant_ok(64) && tk_block_variant_ok(128) && tk_block_variant_ok(256));
	cr_assert(!tk_block_variant_ok(96) && !tk_block_variant_ok(1024));
}

Test(cuda_kernels, items_and_blocks_arithmetic)
{
	struct tk_conv_args conv = { .oh = 7, .ow = 5, .oc = 3 };
	struct tk_fc_args fc = { .in_features = 9216, .out_features = 4096 };
	struct tk_pool_args pool = { .h = 56, .w = 56, .c = 64, .oh = 28, .ow = 28 };
	struct tk_eltwise_args elt = { .n = 1000000 };
	struct tk_copy_args copy = { .h = 26, .w = 26, .in_c = 128, .out_c = 384, .nr_c = 128 };
	struct tk_softmax_args sm = { .pixels = 13, .c = 1000 };

	cr_assert_eq(tk_args_items(TK_CONV_DIRECT, &conv), 105);
	cr_assert_eq(tk_args_logical_blocks(TK_CONV_DIRECT, &conv), 1);
	conv.oc = 256 / 35 + 1; /* 8: 280 items, two blocks */
	cr_assert_eq(tk_args_items(TK_CONV_POINTWISE, &conv), 280);
	cr_assert_eq(tk_args_logical_blocks(TK_CONV_DEPTHWISE, &conv), 2);
	cr_assert_eq(tk_args_items(TK_FC, &fc), 4096);
	cr_assert_eq(tk_args_logical_blocks(TK_FC, &fc), 16);
	cr_assert_eq(tk_args_items(TK_MAXPOOL, &pool), 28 * 28 * 64);
	cr_assert_eq(tk_args_logical_blocks(TK_AVGPOOL, &pool), 196);
	cr_assert_eq(tk_args_items(TK_ADD, &elt), 1000000);
	cr_assert_eq(tk_args_logical_blocks(TK_MUL, &elt), 3907); /* 3906.25 */
	cr_assert_eq(tk_args_items(TK_COPY_CHANNELS, &copy), 26 * 26 * 128);
	cr_assert_eq(tk_args_logical_blocks(TK_UPSAMPLE, &copy), 338);
	cr_assert_eq(tk_args_items(TK_SOFTMAX, &sm), 13);
	cr_assert_eq(tk_args_logical_blocks(TK_SOFTMAX, &sm), 1);
	elt.n = 256;
	cr_assert_eq(tk_args_logical_blocks(TK_ACT, &elt), 1);
	elt.n = 257;
	cr_assert_eq(tk_args_logical_blocks(TK_ACT, &elt), 2);
	elt.n = 0;
	cr_assert_eq(tk_args_logical_blocks(TK_ACT, &elt), 0);
	cr_assert_eq(tk_args_items(TK_OP__COUNT, &elt), 0);
	cr_assert_eq(tk_logical_blocks(-5), 0);
}

Test(cuda_kernels, args_sizes)
{
	cr_assert_eq(tk_args_size(TK_CONV_DEPTHWISE), sizeof(struct tk_conv_args));
	cr_assert_eq(tk_args_size(TK_FC), sizeof(struct tk_fc_args));
	cr_assert_eq(tk_args_size(TK_GAVGPOOL), sizeof(struct tk_pool_args));
	cr_assert_eq(tk_args_size(TK_ACT), sizeof(struct tk_eltwise_args));
	cr_assert_eq(tk_args_size(TK_UPSAMPLE), sizeof(struct tk_copy_args));
	cr_assert_eq(tk_args_size(TK_SOFTMAX), sizeof(struct tk_softmax_args));
	cr_assert_eq(tk_args_size(TK_OP__COUNT), 0);
}

/* The embedded fatbin links whether or not nvcc built it; when it did, it
 * starts with the fatbin magic (0xba55ed50, little-endian). */
Test(cuda_kernels, embedded_fatbin_links)
{
	if (!triage_kernels_fatbin_size)
		return;
	cr_assert_gt(triage_kernels_fatbin_size, 16);
	cr_assert_eq(triage_kernels_fatbin[0], 0x50);
	cr_assert_eq(triage_kernels_fatbin[1], 0xed);
	cr_assert_eq(triage_kernels_fatbin[2], 0x55);
	cr_assert_eq(triage_kernels_fatbin[3], 0xba);
	cr_assert_eq((uintptr_t)triage_kernels_fatbin % 16, 0);
}

/* ---- zoo layers --------------------------------------------------------------- */

/* A recognisable fake device address per tensor (t = DNN_INPUT or a layer). */
static tk_dptr fake_tensor(int t)
{
	return 0x10000000ull + ((tk_dptr)(t + 1) << 20);
}

static void fake_buffers(const struct dnn_model *m, int i, struct tk_layer_buffers *buf)
{
	const struct dnn_layer *l = &m->layers[i];

	memset(buf, 0, sizeof(*buf));
	for (int k = 0; k < l->nr_inputs; k++)
		buf->in[k] = fake_tensor(l->inputs[k]);
	buf->out = fake_tensor(i);
	buf->weight = 0xa0000000ull;
	buf->bias = 0xb0000000ull;
}

static int64_t elems(const int *s)
{
	return (int64_t)s[0] * s[1] * s[2] * s[3];
}

static struct dnn_model *load(const char *name)
{
	struct dnn_model *m = dnn_model_alloc();

	cr_assert_not_null(m);
	cr_assert_eq(zoo_load_named(zoo_default_dir(), name, m, err, sizeof(err)), 0, "%s: %s",
		     name, err);
	return m;
}

/* What every launch of layer i must satisfy, whatever its op. */
static void check_mapping(const struct dnn_model *m, int i, const struct tk_layer_buffers *buf,
			  const struct tk_launch *t, int nr)
{
	const struct dnn_layer *l = &m->layers[i];
	const int *in = dnn_tensor_shape(m, l->inputs[0]);
	int64_t items = 0, weight, bias;

	for (int k = 0; k < nr; k++) {
		cr_assert_lt((unsigned)t[k].op, TK_OP__COUNT);
		items += tk_args_items(t[k].op, &t[k].args);
		cr_assert_leq(tk_args_logical_blocks(t[k].op, &t[k].args),
			      (TK_MAX_ITEMS + 255u) / 256u);
	}
	if (l->type == DNN_SOFTMAX)
		cr_assert_eq(items, (int64_t)l->shape[1] * l->shape[2], "%s %s", m->name, l->name);
	else
		cr_assert_eq(items, elems(l->shape), "%s %s: %lld items for %lld elements", m->name,
			     l->name, (long long)items, (long long)elems(l->shape));
	tk_layer_param_elems(m, i, &weight, &bias);
	cr_assert_eq((double)(weight + bias), l->params, "%s %s", m->name, l->name);

	switch (l->type) {
	case DNN_CONV: {
		const struct tk_conv_args *a = &t[0].args.conv;

		cr_assert_eq(nr, 1);
		cr_assert(a->in == buf->in[0] && a->out == buf->out && a->weight == buf->weight);
		cr_assert_eq(a->bias, l->bias ? buf->bias : 0);
		cr_assert(a->c == in[3] && a->oc == l->shape[3] && a->groups == l->groups);
		cr_assert(a->kh == l->kernel[0] && a->kw == l->kernel[1] && a->sh == l->stride[0] &&
			  a->sw == l->stride[1] && a->dh == l->dilation[0] &&
			  a->dw == l->dilation[1] && a->pad_top == l->pad[0] &&
			  a->pad_left == l->pad[1]);
		cr_assert(a->act == (int32_t)l->act && a->alpha == (float)l->alpha);
		if (t[0].op == TK_CONV_POINTWISE)
			cr_assert(a->kh == 1 && a->kw == 1 && a->sh == 1 && a->sw == 1 &&
				  a->pad_top == 0 && a->pad_left == 0 && a->groups == 1 &&
				  a->oh == a->h && a->ow == a->w);
		else if (t[0].op == TK_CONV_DEPTHWISE)
			cr_assert(a->groups == a->c && a->c == a->oc);
		else
			cr_assert_eq(t[0].op, TK_CONV_DIRECT);
		break;
	}
	case DNN_MAXPOOL:
	case DNN_AVGPOOL: {
		const struct tk_pool_args *a = &t[0].args.pool;

		cr_assert_eq(nr, 1);
		cr_assert(a->kh == l->kernel[0] && a->kw == l->kernel[1] && a->sh == l->stride[0] &&
			  a->sw == l->stride[1] && a->pad_top == l->pad[0] &&
			  a->pad_left == l->pad[1]);
		cr_assert_eq(a->count_pad, l->type == DNN_AVGPOOL && l->count_pad);
		break;
	}
	case DNN_CONCAT:
		cr_assert_eq(nr, l->nr_inputs);
		for (int k = 0, c0 = 0; k < nr; k++) {
			const struct tk_copy_args *a = &t[k].args.copy;

			cr_assert_eq(t[k].op, TK_COPY_CHANNELS);
			cr_assert(a->in == buf->in[k] && a->out == buf->out);
			cr_assert(a->dst_c0 == c0 && a->src_c0 == 0 && a->out_c == l->shape[3]);
			c0 += a->nr_c;
		}
		break;
	default:
		cr_assert_eq(nr, 1);
		break;
	}
}

Test(cuda_kernels, every_zoo_layer_maps)
{
	char names[ZOO_MAX_MODELS][PLAN_NAME_MAX];
	int nr_models = zoo_list(zoo_default_dir(), names, ZOO_MAX_MODELS, err, sizeof(err));
	int seen[TK_OP__COUNT] = { 0 };

	cr_assert_geq(nr_models, 10, "%s", err);
	for (int k = 0; k < nr_models; k++) {
		struct dnn_model *m = load(names[k]);

		for (int i = 0; i < m->nr_layers; i++) {
			struct tk_layer_buffers buf;
			struct tk_launch t[TK_MAX_LAUNCHES];
			int nr;

			fake_buffers(m, i, &buf);
			nr = tk_layer_launches(m, i, &buf, t, TK_MAX_LAUNCHES, err, sizeof(err));
			cr_assert_gt(nr, 0, "%s", err);
			check_mapping(m, i, &buf, t, nr);
			for (int j = 0; j < nr; j++)
				seen[t[j].op]++;
		}
		dnn_model_free(m);
	}
	/* The zoo has no stand-alone act layer (its activations are fused). */
	for (int op = 0; op < TK_OP__COUNT; op++)
		if (op != TK_ACT)
			cr_assert_gt(seen[op], 0, "no zoo layer maps to %s", tk_op_name(op));
}

Test(cuda_kernels, mapping_errors)
{
	struct dnn_model *m = load("yolov4tiny");
	struct tk_layer_buffers buf;
	struct tk_launch t[TK_MAX_LAUNCHES];
	int concat = -1, conv = -1;

	for (int i = 0; i < m->nr_layers; i++) {
		if (m->layers[i].type == DNN_CONCAT && concat < 0)
			concat = i;
		if (m->layers[i].type == DNN_CONV && conv < 0)
			conv = i;
	}
	cr_assert(concat >= 0 && conv >= 0);

	fake_buffers(m, concat, &buf);
	cr_assert_eq(tk_layer_launches(m, concat, &buf, t, 1, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, m->layers[concat].name), "%s", err);
	m->layers[concat].axis = 1;
	cr_assert_eq(tk_layer_launches(m, concat, &buf, t, TK_MAX_LAUNCHES, err, sizeof(err)),
		     -EOPNOTSUPP);
	cr_assert(strstr(err, "axis 1"), "%s", err);

	fake_buffers(m, conv, &buf);
	buf.weight = 0;
	cr_assert_eq(tk_layer_launches(m, conv, &buf, t, TK_MAX_LAUNCHES, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "weights"), "%s", err);
	fake_buffers(m, conv, &buf);
	buf.in[0] = 0;
	cr_assert_eq(tk_layer_launches(m, conv, &buf, t, TK_MAX_LAUNCHES, err, sizeof(err)),
		     -EINVAL);
	fake_buffers(m, conv, &buf);
	m->layers[conv].shape[3] = 1 << 20; /* 208 x 208 x 2^20 elements */
	cr_assert_eq(tk_layer_launches(m, conv, &buf, t, TK_MAX_LAUNCHES, err, sizeof(err)),
		     -ERANGE);
	cr_assert_eq(tk_layer_launches(m, m->nr_layers, &buf, t, TK_MAX_LAUNCHES, err, sizeof(err)),
		     -EINVAL);
	dnn_model_free(m);
}

/* ---- zoo layers run through the emulator ---------------------------------------- */

/* Per-layer budget of multiply-accumulates, so the test stays quick; the
 * layers left out are larger copies of shapes that are run. */
#define RUN_MAX_FLOPS 60e6

static void run_zoo_layer(const struct dnn_model *m, int i)
{
	const struct dnn_layer *l = &m->layers[i];
	const float *ins[DNN_MAX_INPUTS];
	float *bufs[DNN_MAX_INPUTS];
	struct tk_layer_buffers buf = { 0 };
	struct tk_launch t[TK_MAX_LAUNCHES];
	int64_t weight_n, bias_n;
	size_t out_n = (size_t)elems(l->shape);
	float *weight, *bias, *out = emu_alloc(out_n), *ref = malloc(out_n * sizeof(float));
	int nr;

	tk_layer_param_elems(m, i, &weight_n, &bias_n);
	weight = weight_n ? emu_random_buffer(&rng, (size_t)weight_n, 0.5f) : NULL;
	bias = bias_n ? emu_random_buffer(&rng, (size_t)bias_n, 0.5f) : NULL;
	for (int k = 0; k < l->nr_inputs; k++) {
		ins[k] = bufs[k] =
		    emu_random_buffer(&rng, (size_t)elems(dnn_tensor_shape(m, l->inputs[k])), 1.0f);
		buf.in[k] = emu_dptr(bufs[k]);
	}
	buf.out = emu_dptr(out);
	buf.weight = weight ? emu_dptr(weight) : 0;
	buf.bias = bias ? emu_dptr(bias) : 0;
	nr = tk_layer_launches(m, i, &buf, t, TK_MAX_LAUNCHES, err, sizeof(err));
	cr_assert_gt(nr, 0, "%s", err);
	cr_assert_eq(ref_layer(m, i, ins, weight, bias, ref, err, sizeof(err)), 0, "%s", err);
	for (int k = 0; k < nr; k++)
		emu_launch_whole(t[k].op, &t[k].args);
	cr_assert(emu_guards_intact(out, out_n), "%s %s", m->name, l->name);
	for (size_t e = 0; e < out_n; e++) {
		/* Sums of up to a few thousand terms: 1e-4 relative and absolute
		 * covers their float rounding (see test_cuda_kernels.c). */
		double tol = 1e-4 * fabs(ref[e]) + 1e-4;

		cr_assert(fabs((double)out[e] - ref[e]) <= tol,
			  "%s %s (%s): out[%zu] = %.9g, ref %.9g", m->name, l->name,
			  tk_op_name(t[0].op), e, out[e], ref[e]);
	}
	for (int k = 0; k < l->nr_inputs; k++)
		emu_free(bufs[k]);
	emu_free(weight);
	emu_free(bias);
	emu_free(out);
	free(ref);
}

Test(cuda_kernels, zoo_layers_match_the_reference, .timeout = 120)
{
	/* Between them: every conv form (1x7 and 7x1 in Inception v3), the
	 * pools (avgpool counting padding in Inception v3), fc, add,
	 * per-channel mul, concat, slice, upsample, softmax; relu (SqueezeNet),
	 * swish and sigmoid (EfficientNet), leaky (YOLOv4-tiny). */
	static const char *const models[] = { "squeezenet11", "efficientnetb0", "yolov4tiny",
					      "inceptionv3" };
	int ran = 0;

	for (size_t k = 0; k < sizeof(models) / sizeof(models[0]); k++) {
		struct dnn_model *m = load(models[k]);

		for (int i = 0; i < m->nr_layers; i++)
			if (m->layers[i].flops <= RUN_MAX_FLOPS) {
				run_zoo_layer(m, i);
				ran++;
			}
		dnn_model_free(m);
	}
	cr_assert_gt(ran, 100);
}

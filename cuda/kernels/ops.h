/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The work-item bodies of the elastic kernels: for each op, what logical
 * thread g computes (one output element, or one pixel for softmax), and how
 * many items the op's logical grid holds. The same text compiles as plain
 * C11 (the CPU-side tests run it through a launch emulator) and as CUDA (the
 * __global__ wrappers in the .cu files call it), so what the tests check
 * is the code the GPU runs, not a second copy of it.
 *
 * Why one item per logical thread and no shared memory: the contract of
 * elastic.h lets a launch cover any slice of the logical grid with any
 * number of physical blocks and threads. A body that depends on nothing but
 * g keeps the result independent of the slicing and of the block-size
 * variant, bit for bit, which is the property the coordinator relies on.
 *
 * Bodies assume what cuda/kernels/kernels.c checks before it fills an args
 * struct: every tensor holds fewer than 2^31 elements (indices are 32-bit,
 * cheaper to divide on the GPU) and the shapes agree with each other.
 */
#ifndef TRIAGE_CUDA_OPS_H
#define TRIAGE_CUDA_OPS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "elastic.h"

#ifdef __CUDACC__
#define TK_HD __host__ __device__
/* The persistent loops run a few times at most: unrolling them only grows
 * the code (several-fold on sm_110) and the build. */
#define TK_ONCE_PER_TRIP _Pragma("unroll 1")
#else
#define TK_HD
#define TK_ONCE_PER_TRIP
#endif

/* A tk_dptr as a pointer of the space the code runs in: a device address in
 * a kernel, a host address in the emulator. */
#define TK_IN(d)  ((const float *)(uintptr_t)(d))
#define TK_OUT(d) ((float *)(uintptr_t)(d))

/*
 * The persistent-block rule of elastic.h, shared by the .cu wrappers and the
 * CPU emulator so that both walk the same items: the physical thread
 * (block, thread) of a launch of grid blocks of threads threads runs the
 * statement after the macro once for each of its logical items g below
 * items. The innermost "loop" only declares g and runs at most once.
 */
/* clang-format off */
#define TK_FOR_EACH_ITEM(g, items, slice, block, grid, thread, threads)                        \
	TK_ONCE_PER_TRIP                                                                        \
	for (uint32_t tk_lb_ = (slice).begin + (block); tk_lb_ < (slice).end; tk_lb_ += (grid)) \
		TK_ONCE_PER_TRIP                                                                \
		for (uint32_t tk_lt_ = (thread); tk_lt_ < TK_LOGICAL_THREADS;                   \
		     tk_lt_ += (threads))                                                       \
			for (int64_t g = (int64_t)tk_lb_ * TK_LOGICAL_THREADS + tk_lt_; g < (items); \
			     g = (items))
/* clang-format on */

/* The fused activation, applied last (enum tk_act). */
TK_HD static inline float tk_activate(float x, int32_t act, float alpha)
{
	switch (act) {
	case TK_ACT_RELU:
		return x > 0.0f ? x : 0.0f;
	case TK_ACT_RELU6:
		return x > 0.0f ? (x < 6.0f ? x : 6.0f) : 0.0f;
	case TK_ACT_LEAKY:
		return x >= 0.0f ? x : alpha * x;
	case TK_ACT_SWISH:
		return x / (1.0f + expf(-x));
	case TK_ACT_SIGMOID:
		return 1.0f / (1.0f + expf(-x));
	default:
		return x;
	}
}

/* ---- items and logical blocks ------------------------------------------ */

TK_HD static inline int64_t tk_conv_items(const struct tk_conv_args *a)
{
	return (int64_t)a->oh * a->ow * a->oc;
}

TK_HD static inline int64_t tk_fc_items(const struct tk_fc_args *a)
{
	return a->out_features;
}

TK_HD static inline int64_t tk_pool_items(const struct tk_pool_args *a)
{
	return (int64_t)a->oh * a->ow * a->c;
}

TK_HD static inline int64_t tk_eltwise_items(const struct tk_eltwise_args *a)
{
	return a->n;
}

TK_HD static inline int64_t tk_copy_items(const struct tk_copy_args *a)
{
	return (int64_t)a->h * a->w * a->nr_c;
}

TK_HD static inline int64_t tk_softmax_items(const struct tk_softmax_args *a)
{
	return a->pixels;
}

/* Items of op on args (a struct tk_<x>_args of that op); 0 for an unknown
 * op, which then has an empty grid. */
TK_HD static inline int64_t tk_op_items(int op, const void *args)
{
	switch (op) {
	case TK_CONV_DIRECT:
	case TK_CONV_DEPTHWISE:
	case TK_CONV_POINTWISE:
		return tk_conv_items((const struct tk_conv_args *)args);
	case TK_FC:
		return tk_fc_items((const struct tk_fc_args *)args);
	case TK_MAXPOOL:
	case TK_AVGPOOL:
	case TK_GAVGPOOL:
		return tk_pool_items((const struct tk_pool_args *)args);
	case TK_ADD:
	case TK_MUL:
	case TK_ACT:
		return tk_eltwise_items((const struct tk_eltwise_args *)args);
	case TK_COPY_CHANNELS:
	case TK_UPSAMPLE:
		return tk_copy_items((const struct tk_copy_args *)args);
	case TK_SOFTMAX:
		return tk_softmax_items((const struct tk_softmax_args *)args);
	default:
		return 0;
	}
}

/* Bytes of the args struct op takes (what cuLaunchKernel copies); 0 for an
 * unknown op. */
TK_HD static inline size_t tk_args_size(int op)
{
	switch (op) {
	case TK_CONV_DIRECT:
	case TK_CONV_DEPTHWISE:
	case TK_CONV_POINTWISE:
		return sizeof(struct tk_conv_args);
	case TK_FC:
		return sizeof(struct tk_fc_args);
	case TK_MAXPOOL:
	case TK_AVGPOOL:
	case TK_GAVGPOOL:
		return sizeof(struct tk_pool_args);
	case TK_ADD:
	case TK_MUL:
	case TK_ACT:
		return sizeof(struct tk_eltwise_args);
	case TK_COPY_CHANNELS:
	case TK_UPSAMPLE:
		return sizeof(struct tk_copy_args);
	case TK_SOFTMAX:
		return sizeof(struct tk_softmax_args);
	default:
		return 0;
	}
}

/* ceil(items / TK_LOGICAL_THREADS): the logical grid a slice indexes. */
TK_HD static inline int64_t tk_logical_blocks(int64_t items)
{
	return items <= 0 ? 0 : (items + TK_LOGICAL_THREADS - 1) / TK_LOGICAL_THREADS;
}

/* ---- convolutions ------------------------------------------------------ */

/* Any convolution: groups, stride, padding, dilation. Item g is output
 * element (oy, ox, co) in NHWC order; its dot product runs along the input
 * channels of co's group, contiguous in both the input pixel and the
 * weight row [co][ky][kx][0..IC/groups). */
TK_HD static inline void tk_conv_direct_item(const struct tk_conv_args *a, int64_t g)
{
	const float *__restrict__ in = TK_IN(a->in);
	const float *__restrict__ weight = TK_IN(a->weight);
	const int32_t i = (int32_t)g;
	const int32_t co = i % a->oc, p = i / a->oc;
	const int32_t oy = p / a->ow, ox = p % a->ow;
	const int32_t icg = a->c / a->groups, ocg = a->oc / a->groups;
	const int32_t ci0 = co / ocg * icg;
	const int32_t iy0 = oy * a->sh - a->pad_top, ix0 = ox * a->sw - a->pad_left;
	float acc = a->bias ? TK_IN(a->bias)[co] : 0.0f;

	for (int32_t ky = 0; ky < a->kh; ky++) {
		const int32_t iy = iy0 + ky * a->dh;

		if (iy < 0 || iy >= a->h)
			continue;
		for (int32_t kx = 0; kx < a->kw; kx++) {
			const int32_t ix = ix0 + kx * a->dw;

			if (ix < 0 || ix >= a->w)
				continue;
			const float *__restrict__ src = in + (iy * a->w + ix) * a->c + ci0;
			const float *__restrict__ wrow =
			    weight + ((co * a->kh + ky) * a->kw + kx) * icg;

			for (int32_t k = 0; k < icg; k++)
				acc += src[k] * wrow[k];
		}
	}
	TK_OUT(a->out)[i] = tk_activate(acc, a->act, a->alpha);
}

/* groups == IC == OC: one input channel per output channel, so neighbouring
 * items read neighbouring input elements (coalesced on the GPU). */
TK_HD static inline void tk_conv_depthwise_item(const struct tk_conv_args *a, int64_t g)
{
	const float *__restrict__ in = TK_IN(a->in);
	const float *__restrict__ weight = TK_IN(a->weight);
	const int32_t i = (int32_t)g;
	const int32_t ch = i % a->oc, p = i / a->oc;
	const int32_t oy = p / a->ow, ox = p % a->ow;
	const int32_t iy0 = oy * a->sh - a->pad_top, ix0 = ox * a->sw - a->pad_left;
	const float *__restrict__ wch = weight + ch * a->kh * a->kw;
	float acc = a->bias ? TK_IN(a->bias)[ch] : 0.0f;

	for (int32_t ky = 0; ky < a->kh; ky++) {
		const int32_t iy = iy0 + ky * a->dh;

		if (iy < 0 || iy >= a->h)
			continue;
		for (int32_t kx = 0; kx < a->kw; kx++) {
			const int32_t ix = ix0 + kx * a->dw;

			if (ix < 0 || ix >= a->w)
				continue;
			acc += in[(iy * a->w + ix) * a->c + ch] * wch[ky * a->kw + kx];
		}
	}
	TK_OUT(a->out)[i] = tk_activate(acc, a->act, a->alpha);
}

/* 1x1, stride 1, no padding, groups 1: a matrix product of the pixels
 * [H*W][IC] by the weights [OC][IC]; both operands of the dot product are
 * contiguous rows. */
TK_HD static inline void tk_conv_pointwise_item(const struct tk_conv_args *a, int64_t g)
{
	const int32_t i = (int32_t)g;
	const int32_t co = i % a->oc, p = i / a->oc;
	const float *__restrict__ src = TK_IN(a->in) + p * a->c;
	const float *__restrict__ wrow = TK_IN(a->weight) + co * a->c;
	float acc = a->bias ? TK_IN(a->bias)[co] : 0.0f;

	for (int32_t k = 0; k < a->c; k++)
		acc += src[k] * wrow[k];
	TK_OUT(a->out)[i] = tk_activate(acc, a->act, a->alpha);
}

/* ---- fully connected ---------------------------------------------------- */

TK_HD static inline void tk_fc_item(const struct tk_fc_args *a, int64_t g)
{
	const int32_t o = (int32_t)g;
	const float *__restrict__ in = TK_IN(a->in);
	const float *__restrict__ wrow = TK_IN(a->weight) + (int64_t)o * a->in_features;
	float acc = a->bias ? TK_IN(a->bias)[o] : 0.0f;

	for (int32_t k = 0; k < a->in_features; k++)
		acc += in[k] * wrow[k];
	TK_OUT(a->out)[o] = tk_activate(acc, a->act, a->alpha);
}

/* ---- pools ----------------------------------------------------------------- */

/* Padding never wins a max: only pixels inside the input are compared. */
TK_HD static inline void tk_maxpool_item(const struct tk_pool_args *a, int64_t g)
{
	const float *__restrict__ in = TK_IN(a->in);
	const int32_t i = (int32_t)g;
	const int32_t ch = i % a->c, p = i / a->c;
	const int32_t iy0 = p / a->ow * a->sh - a->pad_top;
	const int32_t ix0 = p % a->ow * a->sw - a->pad_left;
	float best = -INFINITY;

	for (int32_t iy = iy0 > 0 ? iy0 : 0; iy < iy0 + a->kh && iy < a->h; iy++)
		for (int32_t ix = ix0 > 0 ? ix0 : 0; ix < ix0 + a->kw && ix < a->w; ix++) {
			const float v = in[(iy * a->w + ix) * a->c + ch];

			if (v > best)
				best = v;
		}
	TK_OUT(a->out)[i] = best;
}

/* count_pad divides by the whole window (PyTorch's count_include_pad), else
 * by the pixels of the window inside the input. */
TK_HD static inline void tk_avgpool_item(const struct tk_pool_args *a, int64_t g)
{
	const float *__restrict__ in = TK_IN(a->in);
	const int32_t i = (int32_t)g;
	const int32_t ch = i % a->c, p = i / a->c;
	const int32_t iy0 = p / a->ow * a->sh - a->pad_top;
	const int32_t ix0 = p % a->ow * a->sw - a->pad_left;
	float sum = 0.0f;
	int32_t inside = 0;

	for (int32_t iy = iy0 > 0 ? iy0 : 0; iy < iy0 + a->kh && iy < a->h; iy++)
		for (int32_t ix = ix0 > 0 ? ix0 : 0; ix < ix0 + a->kw && ix < a->w; ix++) {
			sum += in[(iy * a->w + ix) * a->c + ch];
			inside++;
		}
	if (a->count_pad)
		inside = a->kh * a->kw;
	TK_OUT(a->out)[i] = inside ? sum / (float)inside : 0.0f;
}

/* The mean of one channel over H x W; neighbouring items are neighbouring
 * channels, so each step of the loop reads one contiguous run. */
TK_HD static inline void tk_gavgpool_item(const struct tk_pool_args *a, int64_t g)
{
	const float *__restrict__ in = TK_IN(a->in);
	const int32_t ch = (int32_t)g;
	const int32_t pixels = a->h * a->w;
	float sum = 0.0f;

	for (int32_t p = 0; p < pixels; p++)
		sum += in[p * a->c + ch];
	TK_OUT(a->out)[ch] = sum / (float)pixels;
}

/* ---- element-wise ---------------------------------------------------------- */

TK_HD static inline void tk_add_item(const struct tk_eltwise_args *a, int64_t g)
{
	TK_OUT(a->out)[g] = tk_activate(TK_IN(a->a)[g] + TK_IN(a->b)[g], a->act, a->alpha);
}

/* b_per_channel: b is [1,1,1,C], one factor per channel for every pixel
 * (squeeze-and-excitation). */
TK_HD static inline void tk_mul_item(const struct tk_eltwise_args *a, int64_t g)
{
	const int64_t j = a->b_per_channel ? (int32_t)g % a->c : g;

	TK_OUT(a->out)[g] = tk_activate(TK_IN(a->a)[g] * TK_IN(a->b)[j], a->act, a->alpha);
}

TK_HD static inline void tk_act_item(const struct tk_eltwise_args *a, int64_t g)
{
	TK_OUT(a->out)[g] = tk_activate(TK_IN(a->a)[g], a->act, a->alpha);
}

/* ---- data movement ---------------------------------------------------------- */

/* One channel range of a pixel into another tensor's channel range: a
 * concat is one launch per input, a slice one launch. */
TK_HD static inline void tk_copy_channels_item(const struct tk_copy_args *a, int64_t g)
{
	const int32_t i = (int32_t)g;
	const int32_t k = i % a->nr_c, p = i / a->nr_c;

	TK_OUT(a->out)[p * a->out_c + a->dst_c0 + k] = TK_IN(a->in)[p * a->in_c + a->src_c0 + k];
}

/* Nearest neighbour: output pixel (y, x) of the h x w output reads input
 * pixel (y / scale, x / scale) of the (h / scale) x (w / scale) input. */
TK_HD static inline void tk_upsample_item(const struct tk_copy_args *a, int64_t g)
{
	const int32_t i = (int32_t)g;
	const int32_t k = i % a->nr_c, p = i / a->nr_c;
	const int32_t y = p / a->w, x = p % a->w;
	const int32_t src = (y / a->scale) * (a->w / a->scale) + x / a->scale;

	TK_OUT(a->out)[p * a->out_c + a->dst_c0 + k] = TK_IN(a->in)[src * a->in_c + a->src_c0 + k];
}

/* One pixel's channel vector; the max is taken out first so that expf
 * cannot overflow on large logits. */
TK_HD static inline void tk_softmax_item(const struct tk_softmax_args *a, int64_t g)
{
	const float *__restrict__ in = TK_IN(a->in) + g * a->c;
	float *__restrict__ out = TK_OUT(a->out) + g * a->c;
	float top = in[0], sum = 0.0f;

	for (int32_t k = 1; k < a->c; k++)
		if (in[k] > top)
			top = in[k];
	for (int32_t k = 0; k < a->c; k++) {
		const float e = expf(in[k] - top);

		out[k] = e;
		sum += e;
	}
	for (int32_t k = 0; k < a->c; k++)
		out[k] /= sum;
}

/* Item g of op on args: the emulator's entry; the kernels call the bodies
 * above directly, one op per symbol. */
TK_HD static inline void tk_op_item(int op, const void *args, int64_t g)
{
	switch (op) {
	case TK_CONV_DIRECT:
		tk_conv_direct_item((const struct tk_conv_args *)args, g);
		break;
	case TK_CONV_DEPTHWISE:
		tk_conv_depthwise_item((const struct tk_conv_args *)args, g);
		break;
	case TK_CONV_POINTWISE:
		tk_conv_pointwise_item((const struct tk_conv_args *)args, g);
		break;
	case TK_FC:
		tk_fc_item((const struct tk_fc_args *)args, g);
		break;
	case TK_MAXPOOL:
		tk_maxpool_item((const struct tk_pool_args *)args, g);
		break;
	case TK_AVGPOOL:
		tk_avgpool_item((const struct tk_pool_args *)args, g);
		break;
	case TK_GAVGPOOL:
		tk_gavgpool_item((const struct tk_pool_args *)args, g);
		break;
	case TK_ADD:
		tk_add_item((const struct tk_eltwise_args *)args, g);
		break;
	case TK_MUL:
		tk_mul_item((const struct tk_eltwise_args *)args, g);
		break;
	case TK_ACT:
		tk_act_item((const struct tk_eltwise_args *)args, g);
		break;
	case TK_COPY_CHANNELS:
		tk_copy_channels_item((const struct tk_copy_args *)args, g);
		break;
	case TK_UPSAMPLE:
		tk_upsample_item((const struct tk_copy_args *)args, g);
		break;
	case TK_SOFTMAX:
		tk_softmax_item((const struct tk_softmax_args *)args, g);
		break;
	default:
		break;
	}
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The launch contract of triage's elastic kernels, shared by the CUDA
 * sources (the .cu files of cuda/kernels/), the driver-API runtime and
 * coordinator (the .c files of cuda/) and the CPU-side tests. Plain C that
 * nvcc also compiles.
 *
 * Why elastic (Miriam, SenSys 2023): a best-effort kernel launched whole
 * takes every SM it can and a critical kernel that arrives later waits for
 * its blocks to drain. Launched in slices of its logical grid, each slice
 * sized to the SMs the running critical kernels leave free, it shrinks
 * while critical work runs and grows back when it ends.
 *
 * Every kernel works on a 1-D logical grid: nr_logical_blocks(op, args)
 * blocks of TK_LOGICAL_THREADS logical threads, logical thread g =
 * block * TK_LOGICAL_THREADS + thread computing work item g (and nothing
 * when g is past the op's item count). A launch covers the slice
 * [slice.begin, slice.end) of logical blocks:
 *   - grid elasticity: the slice is any sub-range, so a logical grid may be
 *     run as several launches, in order or not, each block exactly once;
 *   - block elasticity: gridDim.x may be smaller than the slice (each
 *     physical block loops over logical blocks begin + blockIdx.x,
 *     + gridDim.x, ...) and blockDim.x may be smaller than
 *     TK_LOGICAL_THREADS (each thread loops over logical threads
 *     threadIdx.x, + blockDim.x, ...), i.e. persistent blocks.
 * So the result never depends on how a logical grid is sliced or on which
 * block-size variant runs it.
 *
 * Kernel symbols: "tk_<op>_t<threads>", extern "C", one per op and
 * block-size variant in TK_BLOCK_VARIANTS, e.g. "tk_conv_direct_t128".
 * Parameters: (struct tk_slice slice, struct tk_<args> args), both by
 * value, so cuLaunchKernel's kernelParams is { &slice, &args }.
 *
 * Tensors are NHWC float32 at batch 1 in device memory, addressed as
 * tk_dptr (a CUdeviceptr's bits). Weights: conv [OC][KH][KW][IC/groups],
 * fc [OUT][IN] over the NHWC-flattened input; biases [OC] or 0 for none.
 */
#ifndef TRIAGE_CUDA_ELASTIC_H
#define TRIAGE_CUDA_ELASTIC_H

#include <stdint.h>

#define TK_LOGICAL_THREADS 256
/* Block-size variants precompiled for every op. */
#define TK_BLOCK_VARIANTS { 64, 128, 256 }
#define TK_NR_BLOCK_VARIANTS 3

typedef uint64_t tk_dptr;

struct tk_slice {
	uint32_t begin; /* first logical block */
	uint32_t end;	/* one past the last */
};

/* Fused activation, applied last (the zoo's dnn_act, same values). */
enum tk_act {
	TK_ACT_NONE,
	TK_ACT_RELU,
	TK_ACT_RELU6,
	TK_ACT_LEAKY,
	TK_ACT_SWISH,
	TK_ACT_SIGMOID,
};

/* The ops, in enum order: X(ENUM, "name", what the op takes). The name is
 * the one of the kernel symbols ("tk_<name>_t<threads>"); the host side
 * (kernels.c) and the driver stand-in (tests/gpu/fake) both read it here. */
#define TK_OPS(X)                                                                              \
	X(TK_CONV_DIRECT, "conv_direct")	 /* any conv: tk_conv_args; item = one output */   \
	X(TK_CONV_DEPTHWISE, "conv_depthwise")	 /* groups == IC == OC: tk_conv_args */            \
	X(TK_CONV_POINTWISE, "conv_pointwise")	 /* 1x1, stride 1, no pad, groups 1 */              \
	X(TK_FC, "fc")				 /* tk_fc_args; item = one output */                \
	X(TK_MAXPOOL, "maxpool")		 /* tk_pool_args; item = one output element */      \
	X(TK_AVGPOOL, "avgpool")		 /* tk_pool_args */                                 \
	X(TK_GAVGPOOL, "gavgpool")		 /* tk_pool_args (window = the whole H x W) */      \
	X(TK_ADD, "add")			 /* tk_eltwise_args; item = one element */          \
	X(TK_MUL, "mul")			 /* tk_eltwise_args; b broadcast over H, W */       \
	X(TK_ACT, "act")			 /* tk_eltwise_args (b unused) */                   \
	X(TK_COPY_CHANNELS, "copy_channels")	 /* tk_copy_args: concat parts, channel slices */   \
	X(TK_UPSAMPLE, "upsample")		 /* tk_copy_args with scale; nearest neighbour */   \
	X(TK_SOFTMAX, "softmax")		 /* tk_softmax_args; item = one pixel's channels */

#define TK_OP_ENUM(e, name) e,
enum tk_op {
	TK_OPS(TK_OP_ENUM)
	TK_OP__COUNT,
};
#undef TK_OP_ENUM

struct tk_conv_args {
	tk_dptr in, weight, bias, out;
	int32_t h, w, c;    /* input */
	int32_t oh, ow, oc; /* output */
	int32_t kh, kw, sh, sw, dh, dw;
	int32_t pad_top, pad_left;
	int32_t groups;
	int32_t act; /* enum tk_act */
	float alpha; /* leaky slope */
};

struct tk_fc_args {
	tk_dptr in, weight, bias, out;
	int32_t in_features, out_features;
	int32_t act;
	float alpha;
};

struct tk_pool_args {
	tk_dptr in, out;
	int32_t h, w, c, oh, ow;
	int32_t kh, kw, sh, sw, pad_top, pad_left;
	int32_t count_pad; /* avgpool: padding counts in the divisor */
};

struct tk_eltwise_args {
	tk_dptr a, b, out;
	int64_t n; /* elements of out */
	int32_t c; /* channels, for the broadcast of b */
	int32_t b_per_channel;
	int32_t act;
	float alpha;
};

/* out[..., dst_c0 + k] = in[..., src_c0 + k] for k < nr_c, at every pixel;
 * upsample: out pixel (y, x) reads in pixel (y / scale, x / scale). */
struct tk_copy_args {
	tk_dptr in, out;
	int32_t h, w;	     /* output pixels */
	int32_t in_c, out_c; /* channel counts of the two tensors */
	int32_t src_c0, dst_c0, nr_c;
	int32_t scale; /* 1 for a copy */
};

struct tk_softmax_args {
	tk_dptr in, out;
	int32_t pixels, c;
};

/* The args of any op: what a launch copies, sized for the largest. */
union tk_args {
	struct tk_conv_args conv;
	struct tk_fc_args fc;
	struct tk_pool_args pool;
	struct tk_eltwise_args eltwise;
	struct tk_copy_args copy;
	struct tk_softmax_args softmax;
};

#endif

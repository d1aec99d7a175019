/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The __global__ side of the elastic kernels: one extern "C" symbol
 * "tk_<op>_t<threads>" per op and block-size variant, each the persistent
 * loop of elastic.h around the op's body from ops.h. Only the symbol name
 * and __launch_bounds__ differ between variants: launch bounds let ptxas
 * fit registers to the block size, so that a 64-thread variant may be
 * resident in as many blocks per SM as the coordinator asks for.
 */
#ifndef TRIAGE_CUDA_WRAPPER_CUH
#define TRIAGE_CUDA_WRAPPER_CUH

#include "ops.h"

static_assert(TK_NR_BLOCK_VARIANTS == 3, "TK_DEFINE_KERNELS emits the variants 64, 128, 256");

/* The loop walks blockDim.x rather than the variant's size, so a launch with
 * fewer threads than the variant was built for still covers every item. */
#define TK_DEFINE_KERNEL(op, threads, args_type, items_fn)                                    \
	extern "C" __global__ void __launch_bounds__(threads, 1024 / threads)                          \
		tk_##op##_t##threads(struct tk_slice slice, struct args_type args)            \
	{                                                                                      \
		const int64_t items = items_fn(&args);                                         \
		TK_FOR_EACH_ITEM(g, items, slice, blockIdx.x, gridDim.x, threadIdx.x, blockDim.x) \
		tk_##op##_item(&args, g);                                                      \
	}

#define TK_DEFINE_KERNELS(op, args_type, items_fn)        \
	TK_DEFINE_KERNEL(op, 64, args_type, items_fn)     \
	TK_DEFINE_KERNEL(op, 128, args_type, items_fn)    \
	TK_DEFINE_KERNEL(op, 256, args_type, items_fn)

#endif

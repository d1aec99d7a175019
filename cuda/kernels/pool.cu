/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Elastic pools: windowed max and mean, global mean. */
#include "wrapper.cuh"

TK_DEFINE_KERNELS(maxpool, tk_pool_args, tk_pool_items)
TK_DEFINE_KERNELS(avgpool, tk_pool_args, tk_pool_items)
TK_DEFINE_KERNELS(gavgpool, tk_pool_args, tk_pool_items)

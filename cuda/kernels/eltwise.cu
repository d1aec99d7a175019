/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Elastic element-wise ops: add, mul (per-channel broadcast too), act. */
#include "wrapper.cuh"

TK_DEFINE_KERNELS(add, tk_eltwise_args, tk_eltwise_items)
TK_DEFINE_KERNELS(mul, tk_eltwise_args, tk_eltwise_items)
TK_DEFINE_KERNELS(act, tk_eltwise_args, tk_eltwise_items)

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Elastic softmax over channels, one pixel per item. */
#include "wrapper.cuh"

TK_DEFINE_KERNELS(softmax, tk_softmax_args, tk_softmax_items)

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Elastic fully connected layer. */
#include "wrapper.cuh"

TK_DEFINE_KERNELS(fc, tk_fc_args, tk_fc_items)

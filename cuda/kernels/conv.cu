/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Elastic convolutions: direct (any), depthwise, pointwise (1x1). */
#include "wrapper.cuh"

TK_DEFINE_KERNELS(conv_direct, tk_conv_args, tk_conv_items)
TK_DEFINE_KERNELS(conv_depthwise, tk_conv_args, tk_conv_items)
TK_DEFINE_KERNELS(conv_pointwise, tk_conv_args, tk_conv_items)

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Elastic data movement: channel copies (concat, slice), upsample. */
#include "wrapper.cuh"

TK_DEFINE_KERNELS(copy_channels, tk_copy_args, tk_copy_items)
TK_DEFINE_KERNELS(upsample, tk_copy_args, tk_copy_items)

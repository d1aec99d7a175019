/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Every elastic kernel in one translation unit, which cuda/kernels.mk
 * compiles once per target. Why one unit: a fatbin holds one image per
 * target and the driver loads one of them, so without relocatable device
 * code (whose PTX could not be JIT-compiled as a whole) all kernels of a
 * target must come out of one compilation. The families stay in their own
 * files; make -j compiles the targets in parallel instead.
 */
#include "conv.cu"
#include "fc.cu"
#include "pool.cu"
#include "eltwise.cu"
#include "copy.cu"
#include "softmax.cu"

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The fatbin of the elastic kernels, embedded in libtriage.a by
 * cuda/kernels/fatbin.S: sm_87, sm_90 and sm_110 code and compute_87 PTX,
 * holding every "tk_<op>_t<threads>" kernel of elastic.h. Pass
 * triage_kernels_fatbin to cuModuleLoadData (or cuModuleLoadFatBinary).
 * triage_kernels_fatbin_size is 0 when the library was built without nvcc:
 * there are no GPU kernels to load.
 */
#ifndef TRIAGE_CUDA_FATBIN_H
#define TRIAGE_CUDA_FATBIN_H

#include <stdint.h>

extern const unsigned char triage_kernels_fatbin[];
extern const uint64_t triage_kernels_fatbin_size;

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Green contexts as a static SM partition: the "greenctx" baseline gives
 * the critical DNNs one set of SMs and the best-effort DNNs the rest, so
 * neither can take the other's SMs, at the price of leaving the critical
 * part idle between requests. Where the driver or GPU has no green
 * contexts (drivers before CUDA 12.4; Jetson Orin, per NVIDIA) this says
 * so in one line and the baseline is reported unsupported.
 */
#ifndef TRIAGE_CUDA_GREENCTX_H
#define TRIAGE_CUDA_GREENCTX_H

#include "device.h"

enum gpu_green_part {
	GPU_GREEN_CRITICAL,
	GPU_GREEN_BEST_EFFORT,
	GPU_GREEN__COUNT,
};

struct gpu_green {
	CUgreenCtx ctx[GPU_GREEN__COUNT];
	unsigned int sms[GPU_GREEN__COUNT];
};

/* Splits g's SMs: at least critical_sms (rounded up to the GPU's partition
 * granularity; 0 asks for half) for the critical part, the rest for the
 * best-effort part. Returns 0, -EOPNOTSUPP when green contexts are not
 * available, or another negative errno; one line in err either way. */
int gpu_green_split(struct gpu_device *g, int critical_sms, struct gpu_green *gr, char *err,
		    size_t errlen);

/* A stream whose kernels run only on the part's SMs. */
int gpu_green_stream(struct gpu_green *gr, enum gpu_green_part part, int priority, CUstream *s,
		     char *err, size_t errlen);

/* Streams made by gpu_green_stream() must be destroyed first. */
void gpu_green_destroy(struct gpu_green *gr);

#endif

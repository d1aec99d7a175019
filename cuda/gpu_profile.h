/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * `triage-gpud --profile`: measures one GPU as the planner's unit "gpu" on
 * triage's own elastic kernels, and the hand-overs between it and every
 * CPU unit, and writes them into the platform profile (docs/platforms.md
 * format) beside the CPU units that `triage-run --profile` measured.
 * docs/gpud.md says what is measured and how.
 *
 * Here in cuda/ rather than beside triage-gpud's main in tools/: it needs
 * only the runtime (device, gpu_dnn) and the parts below it (the platform
 * reader, the zoo, lib/), and so it is in libtriage-gpu.a, where the GPU
 * tests reach it as they reach the coordinator.
 */
#ifndef TRIAGE_CUDA_GPU_PROFILE_H
#define TRIAGE_CUDA_GPU_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "device.h"

/* The name of the unit written (and replaced by a later run). */
#define GPU_PROFILE_UNIT "gpu"

/* How much to measure. Zero fields take the defaults in brackets. */
struct gpud_profile_opts {
	const char *models_dir;	   /* the zoo [zoo_default_dir()] */
	const char *const *models; /* timed models [resnet18, mobilenetv2] */
	int nr_models;		   /* 1 to 4 */
	int runs;		   /* timed inferences per model, copies per figure; medians [5] */
	double warmup_s;	   /* untimed inferences per model first, at least one [0: one] */
	size_t copy_bytes;	   /* tensor of the bandwidth kernel [64 MiB] */
	size_t xfer_bytes;	   /* host <-> device copy for the hand-over bandwidth [4 MiB] */
	int launches;		   /* one-block launches and small copies averaged [200] */
};

/* Measures g (gpu_device_open()ed, its context current on this thread)
 * and writes the result into the profile at output (NULL:
 * <platform_default_dir()>/host.json), through output.tmp renamed over
 * it, only once the whole profile reads back through the platform reader.
 *
 * An existing output must read back too (else nothing is measured): its
 * unit of kind gpu is replaced (with its hand-overs), or the GPU unit is
 * appended, and everything else is kept, "measured" included. Without an
 * output the CPU units are platform_detect_host()'s sysfs estimates, and
 * "measured" is false. One line per figure on stderr when verbose, and a
 * summary line in any case. 0, or -1 with one line in err. */
int gpud_profile(struct gpu_device *g, const char *models_dir, const char *output, bool verbose,
		 char *err, size_t errlen);

/* The same with the amounts given (the GPU tests measure less on the CPU
 * stand-in driver); o NULL: the defaults, as gpud_profile(). */
int gpud_profile_with(struct gpu_device *g, const struct gpud_profile_opts *o, const char *output,
		      bool verbose, char *err, size_t errlen);

#endif

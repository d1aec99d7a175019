/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One GPU as the runtime uses it: the device's primary context, the
 * elastic kernels loaded from the embedded fatbin (every op and block-size
 * variant of cuda/kernels/elastic.h), their occupancy, the stream priority
 * range, and the sliced launch itself.
 *
 * The primary context, not a context of its own: several DNNs share it so
 * that their kernels can run side by side on the SMs (kernels of different
 * contexts time-slice), and green contexts are carved out of it.
 */
#ifndef TRIAGE_CUDA_DEVICE_H
#define TRIAGE_CUDA_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "cudrv.h"
#include "kernels/elastic.h"

struct gpu_device {
	CUdevice dev;
	CUcontext ctx;
	CUmodule module;
	char name[128];
	int ordinal;
	int cc_major, cc_minor;
	int nr_sms;
	int max_threads_per_sm;
	int max_blocks_per_sm;
	/* Its memory is the host's (Jetson), and it can map registered host
	 * memory into its address space: what zero copy needs. */
	bool integrated, can_map_host;
	/* Stream priorities: lower numbers are higher; (0, 0) where the
	 * device has none. */
	int prio_least, prio_greatest;
	CUfunction fn[TK_OP__COUNT][TK_NR_BLOCK_VARIANTS];
	/* cuOccupancyMaxActiveBlocksPerMultiprocessor of each function at
	 * its variant's block size: what cuda/slice.c plans with. */
	uint32_t per_sm[TK_OP__COUNT][TK_NR_BLOCK_VARIANTS];
};

/* Loads the driver, opens device ordinal, retains and makes current its
 * primary context, reads its attributes, loads the kernels and measures
 * their occupancy. Returns 0, or a negative errno with one line in err:
 * those of cudrv_load(), -ENOEXEC when the library holds no kernels
 * (built without nvcc) or the driver cannot load them for this GPU. */
int gpu_device_open(struct gpu_device *g, int ordinal, char *err, size_t errlen);

void gpu_device_close(struct gpu_device *g);

/* A non-blocking stream; high picks the greatest priority, else the
 * least (the default priority when the device has no range). */
int gpu_stream_create(struct gpu_device *g, bool high, CUstream *s, char *err, size_t errlen);

/* Priority neither high nor low: the device default, 0. */
int gpu_stream_create_default(struct gpu_device *g, CUstream *s, char *err, size_t errlen);

/* Launches kernel op in block-size variant v (index into
 * TK_BLOCK_VARIANTS) over slice with blocks physical blocks of that size;
 * args is the op's struct tk_<x>_args. */
int gpu_launch(struct gpu_device *g, enum tk_op op, int v, uint32_t blocks, struct tk_slice slice,
	       const void *args, CUstream s, char *err, size_t errlen);

/* Whole launch: one 256-thread block per logical block, the conventional
 * way to run a kernel (and the critical kernels' way). */
int gpu_launch_whole(struct gpu_device *g, enum tk_op op, uint32_t logical_blocks,
		     const void *args, CUstream s, char *err, size_t errlen);

#endif

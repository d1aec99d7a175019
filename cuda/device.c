// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * One GPU for the runtime (cuda/device.h): primary context, the elastic
 * kernels from the embedded fatbin, their occupancy, streams and launches.
 *
 * Occupancy is measured once per kernel and block size at open: it
 * depends only on the compiled kernel (registers, static shared memory)
 * and the block size, and the coordinator needs it before every slice.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "errbuf.h"
#include "device.h"
#include "kernels/fatbin.h"
#include "kernels/kernels.h"

static int attribute(struct gpu_device *g, CUdevice_attribute a, const char *what, int *value,
		     char *err, size_t errlen)
{
	char where[96];
	CUresult r = cu.DeviceGetAttribute(value, a, g->dev);

	if (r == CUDA_SUCCESS)
		return 0;
	snprintf(where, sizeof(where), "GPU %d: cuDeviceGetAttribute(%s)", g->ordinal, what);
	return cudrv_fail(r, err, errlen, where);
}

static int load_kernels(struct gpu_device *g, char *err, size_t errlen)
{
	char sym[TK_SYMBOL_MAX], where[256];
	CUresult r;

	if (!triage_kernels_fatbin_size) {
		set_error(err, errlen,
			  "no GPU kernels: this build had no nvcc (see docs/gpu-kernels.md)");
		return -ENOEXEC;
	}
	r = cu.ModuleLoadData(&g->module, triage_kernels_fatbin);
	if (r != CUDA_SUCCESS) {
		snprintf(where, sizeof(where), "%s (sm_%d%d): loading the kernels' fatbin", g->name,
			 g->cc_major, g->cc_minor);
		cudrv_fail(r, err, errlen, where);
		return -ENOEXEC;
	}
	for (int op = 0; op < TK_OP__COUNT; op++) {
		for (int v = 0; v < TK_NR_BLOCK_VARIANTS; v++) {
			int threads = tk_block_variants[v], blocks = 0;

			tk_kernel_symbol(op, threads, sym, sizeof(sym));
			r = cu.ModuleGetFunction(&g->fn[op][v], g->module, sym);
			if (r != CUDA_SUCCESS) {
				snprintf(where, sizeof(where), "kernel %s", sym);
				cudrv_fail(r, err, errlen, where);
				return -ENOEXEC;
			}
			r = cu.OccupancyMaxActiveBlocksPerMultiprocessor(&blocks, g->fn[op][v],
									 threads, 0);
			if (r != CUDA_SUCCESS) {
				snprintf(where, sizeof(where), "occupancy of %s", sym);
				return cudrv_fail(r, err, errlen, where);
			}
			g->per_sm[op][v] = blocks > 0 ? (uint32_t)blocks : 0;
		}
		/* Critical kernels launch at 256 threads: that variant must fit. */
		if (!g->per_sm[op][TK_NR_BLOCK_VARIANTS - 1]) {
			set_error(err, errlen, "kernel tk_%s_t256: 0 blocks fit on an SM",
				  tk_op_name(op));
			return -ENOEXEC;
		}
	}
	return 0;
}

int gpu_device_open(struct gpu_device *g, int ordinal, char *err, size_t errlen)
{
	char where[192];
	CUresult r;
	int ret;

	memset(g, 0, sizeof(*g));
	g->ordinal = ordinal;
	ret = cudrv_load(err, errlen);
	if (ret)
		return ret;
	r = cu.DeviceGet(&g->dev, ordinal);
	if (r != CUDA_SUCCESS) {
		snprintf(where, sizeof(where), "GPU %d", ordinal);
		cudrv_fail(r, err, errlen, where);
		return -ENODEV;
	}
	if (cu.DeviceGetName(g->name, sizeof(g->name), g->dev) != CUDA_SUCCESS)
		snprintf(g->name, sizeof(g->name), "GPU %d", ordinal);
	if ((ret = attribute(g, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "compute capability",
			     &g->cc_major, err, errlen)) ||
	    (ret = attribute(g, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "compute capability",
			     &g->cc_minor, err, errlen)) ||
	    (ret = attribute(g, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "SM count", &g->nr_sms,
			     err, errlen)) ||
	    (ret = attribute(g, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR,
			     "threads per SM", &g->max_threads_per_sm, err, errlen)) ||
	    (ret = attribute(g, CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR,
			     "blocks per SM", &g->max_blocks_per_sm, err, errlen)))
		return ret;
	/* Optional: a driver that cannot say is taken for a discrete GPU. */
	{
		int v = 0;

		g->integrated = cu.DeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_INTEGRATED, g->dev) ==
					CUDA_SUCCESS && v;
		v = 0;
		g->can_map_host = cu.DeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY,
							g->dev) == CUDA_SUCCESS && v;
	}
	r = cu.DevicePrimaryCtxRetain(&g->ctx, g->dev);
	if (r != CUDA_SUCCESS) {
		snprintf(where, sizeof(where), "%s: primary context", g->name);
		return cudrv_fail(r, err, errlen, where);
	}
	r = cu.CtxSetCurrent(g->ctx);
	if (r != CUDA_SUCCESS) {
		gpu_device_close(g);
		return cudrv_fail(r, err, errlen, "cuCtxSetCurrent");
	}
	r = cu.CtxGetStreamPriorityRange(&g->prio_least, &g->prio_greatest);
	if (r != CUDA_SUCCESS)
		g->prio_least = g->prio_greatest = 0;
	ret = load_kernels(g, err, errlen);
	if (ret)
		gpu_device_close(g);
	return ret;
}

void gpu_device_close(struct gpu_device *g)
{
	if (!g->ctx)
		return;
	if (g->module)
		cu.ModuleUnload(g->module);
	g->module = NULL;
	cu.CtxSetCurrent(NULL);
	cu.DevicePrimaryCtxRelease(g->dev);
	g->ctx = NULL;
}

static int stream_create(CUstream *s, int priority, char *err, size_t errlen)
{
	CUresult r = cu.StreamCreateWithPriority(s, CU_STREAM_NON_BLOCKING, priority);

	return r == CUDA_SUCCESS ? 0 : cudrv_fail(r, err, errlen, "cuStreamCreateWithPriority");
}

int gpu_stream_create(struct gpu_device *g, bool high, CUstream *s, char *err, size_t errlen)
{
	return stream_create(s, high ? g->prio_greatest : g->prio_least, err, errlen);
}

int gpu_stream_create_default(struct gpu_device *g, CUstream *s, char *err, size_t errlen)
{
	(void)g;
	return stream_create(s, 0, err, errlen);
}

int gpu_launch(struct gpu_device *g, enum tk_op op, int v, uint32_t blocks, struct tk_slice slice,
	       const void *args, CUstream s, char *err, size_t errlen)
{
	void *params[2] = { &slice, (void *)args };
	char where[96];
	CUresult r;

	if ((unsigned)op >= TK_OP__COUNT || v < 0 || v >= TK_NR_BLOCK_VARIANTS || !blocks ||
	    slice.end <= slice.begin) {
		set_error(err, errlen, "launch of op %d variant %d: %u blocks over [%u, %u)",
			  (int)op, v, blocks, slice.begin, slice.end);
		return -EINVAL;
	}
	r = cu.LaunchKernel(g->fn[op][v], blocks, 1, 1, (unsigned)tk_block_variants[v], 1, 1, 0, s,
			    params, NULL);
	if (r == CUDA_SUCCESS)
		return 0;
	snprintf(where, sizeof(where), "launch of tk_%s_t%d, %u blocks over [%u, %u)",
		 tk_op_name(op), tk_block_variants[v], blocks, slice.begin, slice.end);
	return cudrv_fail(r, err, errlen, where);
}

int gpu_launch_whole(struct gpu_device *g, enum tk_op op, uint32_t logical_blocks,
		     const void *args, CUstream s, char *err, size_t errlen)
{
	struct tk_slice all = { 0, logical_blocks };

	return gpu_launch(g, op, TK_NR_BLOCK_VARIANTS - 1, logical_blocks, all, args, s, err,
			  errlen);
}

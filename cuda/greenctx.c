// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Green contexts (cuda/greenctx.h): cuDeviceGetDevResource ->
 * cuDevSmResourceSplitByCount -> cuDevResourceGenerateDesc ->
 * cuGreenCtxCreate -> cuGreenCtxStreamCreate.
 *
 * One split call yields both parts: the group of at least the asked SMs
 * and the remainder. Both come from the same split instance, as the
 * driver requires of resources that are later used together, and the
 * remainder is used as is rather than split again, which the driver
 * discourages.
 *
 * Kernels are launched on these streams with the functions of the module
 * loaded in the primary context: a green context is the primary context
 * with fewer SMs, sharing its memory and modules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "greenctx.h"

static int unsupported(CUresult r, char *err, size_t errlen, const char *what)
{
	set_error(err, errlen, "green contexts unavailable: %s: %s", what, cudrv_strerror(r));
	return r == CUDA_ERROR_NOT_SUPPORTED || r == CUDA_ERROR_INVALID_RESOURCE_TYPE ||
			       r == CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION
		       ? -EOPNOTSUPP
		       : -EIO;
}

int gpu_green_split(struct gpu_device *g, int critical_sms, struct gpu_green *gr, char *err,
		    size_t errlen)
{
	CUdevResource all, part[GPU_GREEN__COUNT];
	unsigned int groups = 1;
	CUresult r;

	memset(gr, 0, sizeof(*gr));
	if (!cudrv_has_green_ctx()) {
		set_error(err, errlen,
			  "green contexts unavailable: driver %d.%d has no cuGreenCtxCreate "
			  "(green contexts came with CUDA 12.4 drivers)",
			  cu.driver_version / 1000, cu.driver_version % 1000 / 10);
		return -EOPNOTSUPP;
	}
	if (critical_sms <= 0)
		critical_sms = g->nr_sms / 2;
	if (critical_sms >= g->nr_sms) {
		set_error(err, errlen, "green contexts: %d SMs asked for the critical part of %d",
			  critical_sms, g->nr_sms);
		return -EINVAL;
	}
	memset(&all, 0, sizeof(all));
	memset(part, 0, sizeof(part));
	r = cu.DeviceGetDevResource(g->dev, &all, CU_DEV_RESOURCE_TYPE_SM);
	if (r != CUDA_SUCCESS)
		return unsupported(r, err, errlen, "cuDeviceGetDevResource");
	r = cu.DevSmResourceSplitByCount(&part[GPU_GREEN_CRITICAL], &groups, &all,
					 &part[GPU_GREEN_BEST_EFFORT], 0, (unsigned)critical_sms);
	if (r != CUDA_SUCCESS)
		return unsupported(r, err, errlen, "cuDevSmResourceSplitByCount");
	if (groups != 1 || !part[GPU_GREEN_BEST_EFFORT].sm.smCount) {
		set_error(err, errlen,
			  "green contexts: %d of %d SMs for the critical part leave none for "
			  "best-effort (the GPU's partitions are at least %u SMs)",
			  critical_sms, g->nr_sms, all.sm.minSmPartitionSize);
		return -EINVAL;
	}
	for (int p = 0; p < GPU_GREEN__COUNT; p++) {
		CUdevResourceDesc desc;

		r = cu.DevResourceGenerateDesc(&desc, &part[p], 1);
		if (r != CUDA_SUCCESS) {
			gpu_green_destroy(gr);
			return unsupported(r, err, errlen, "cuDevResourceGenerateDesc");
		}
		r = cu.GreenCtxCreate(&gr->ctx[p], desc, g->dev, CU_GREEN_CTX_DEFAULT_STREAM);
		if (r != CUDA_SUCCESS) {
			gpu_green_destroy(gr);
			return unsupported(r, err, errlen, "cuGreenCtxCreate");
		}
		gr->sms[p] = part[p].sm.smCount;
	}
	/* Creating a green context may leave it current on some drivers; the
	 * runtime's calls are meant for the primary context. */
	cu.CtxSetCurrent(g->ctx);
	return 0;
}

int gpu_green_stream(struct gpu_green *gr, enum gpu_green_part part, int priority, CUstream *s,
		     char *err, size_t errlen)
{
	CUresult r = cu.GreenCtxStreamCreate(s, gr->ctx[part], CU_STREAM_NON_BLOCKING, priority);

	return r == CUDA_SUCCESS ? 0 : cudrv_fail(r, err, errlen, "cuGreenCtxStreamCreate");
}

void gpu_green_destroy(struct gpu_green *gr)
{
	for (int p = 0; p < GPU_GREEN__COUNT; p++) {
		if (gr->ctx[p])
			cu.GreenCtxDestroy(gr->ctx[p]);
		gr->ctx[p] = NULL;
	}
}

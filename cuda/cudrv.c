// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Loads the CUDA driver API with dlopen (cuda/cudrv.h says why).
 *
 * Names are resolved with dlsym rather than cuGetProcAddress: dlsym needs
 * no driver initialized first and reports a missing name the same way on
 * every driver since CUDA 4, and each name below is the exact ABI this file
 * calls (the _v2 ones take size_t sizes and 64-bit device pointers). The
 * driver's own per-thread-default-stream variants are not wanted: every
 * launch here names its stream.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "cudrv.h"

struct cudrv cu;

struct entry {
	const char *name; /* the exported symbol */
	size_t offset;	  /* of its pointer in struct cudrv */
	bool required;
};

#define REQ(field, symbol) { symbol, offsetof(struct cudrv, field), true }
#define OPT(field, symbol) { symbol, offsetof(struct cudrv, field), false }

static const struct entry entries[] = {
	REQ(Init, "cuInit"),
	REQ(DriverGetVersion, "cuDriverGetVersion"),
	REQ(GetErrorName, "cuGetErrorName"),
	REQ(GetErrorString, "cuGetErrorString"),
	REQ(DeviceGet, "cuDeviceGet"),
	REQ(DeviceGetCount, "cuDeviceGetCount"),
	REQ(DeviceGetName, "cuDeviceGetName"),
	REQ(DeviceGetAttribute, "cuDeviceGetAttribute"),
	REQ(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
	REQ(DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
	REQ(CtxSetCurrent, "cuCtxSetCurrent"),
	REQ(CtxSynchronize, "cuCtxSynchronize"),
	REQ(CtxGetStreamPriorityRange, "cuCtxGetStreamPriorityRange"),
	REQ(ModuleLoadData, "cuModuleLoadData"),
	REQ(ModuleUnload, "cuModuleUnload"),
	REQ(ModuleGetFunction, "cuModuleGetFunction"),
	REQ(FuncGetAttribute, "cuFuncGetAttribute"),
	REQ(OccupancyMaxActiveBlocksPerMultiprocessor, "cuOccupancyMaxActiveBlocksPerMultiprocessor"),
	REQ(StreamCreateWithPriority, "cuStreamCreateWithPriority"),
	REQ(StreamDestroy, "cuStreamDestroy_v2"),
	REQ(StreamSynchronize, "cuStreamSynchronize"),
	REQ(StreamQuery, "cuStreamQuery"),
	REQ(EventCreate, "cuEventCreate"),
	REQ(EventDestroy, "cuEventDestroy_v2"),
	REQ(EventRecord, "cuEventRecord"),
	REQ(EventQuery, "cuEventQuery"),
	REQ(EventSynchronize, "cuEventSynchronize"),
	/* The original: its _v2 exists only from CUDA 12.8, and both take
	 * the same arguments. */
	REQ(EventElapsedTime, "cuEventElapsedTime"),
	REQ(MemAlloc, "cuMemAlloc_v2"),
	REQ(MemFree, "cuMemFree_v2"),
	REQ(MemcpyHtoD, "cuMemcpyHtoD_v2"),
	REQ(MemcpyDtoH, "cuMemcpyDtoH_v2"),
	REQ(MemsetD32, "cuMemsetD32_v2"),
	REQ(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
	REQ(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
	REQ(MemHostRegister, "cuMemHostRegister_v2"),
	REQ(MemHostUnregister, "cuMemHostUnregister"),
	REQ(MemHostGetDevicePointer, "cuMemHostGetDevicePointer_v2"),
	REQ(LaunchKernel, "cuLaunchKernel"),
	OPT(DeviceTotalMem, "cuDeviceTotalMem_v2"),
	OPT(DeviceGetDevResource, "cuDeviceGetDevResource"),
	OPT(DevSmResourceSplitByCount, "cuDevSmResourceSplitByCount"),
	OPT(DevResourceGenerateDesc, "cuDevResourceGenerateDesc"),
	OPT(GreenCtxCreate, "cuGreenCtxCreate"),
	OPT(GreenCtxDestroy, "cuGreenCtxDestroy"),
	OPT(GreenCtxStreamCreate, "cuGreenCtxStreamCreate"),
};

static int load_status = 1; /* 1: not tried; else cudrv_load's result */
static char load_error[256];

const char *cudrv_strerror(CUresult r)
{
	static __thread char buf[192];
	const char *name = NULL, *text = NULL;

	if (cu.GetErrorName && cu.GetErrorName(r, &name) != CUDA_SUCCESS)
		name = NULL;
	if (cu.GetErrorString && cu.GetErrorString(r, &text) != CUDA_SUCCESS)
		text = NULL;
	if (name && text)
		snprintf(buf, sizeof(buf), "%s (%s)", name, text);
	else if (name)
		snprintf(buf, sizeof(buf), "%s", name);
	else
		snprintf(buf, sizeof(buf), "CUDA error %d", (int)r);
	return buf;
}

int cudrv_fail(CUresult r, char *err, size_t errlen, const char *what)
{
	set_error(err, errlen, "%s: %s", what, cudrv_strerror(r));
	return -EIO;
}

static int load(void)
{
	const char *path = getenv(CUDRV_LIBRARY_ENV);
	int count = 0;
	CUresult r;

	if (!path || !*path)
		path = TRIAGE_LIBCUDA_DEFAULT;
	cu.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!cu.lib) {
		const char *why = dlerror();

		set_error(load_error, sizeof(load_error),
			  "no CUDA driver: cannot load %s (%s)", path,
			  why ? why : "not found");
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		void *sym = dlsym(cu.lib, entries[i].name);

		if (!sym && entries[i].required) {
			set_error(load_error, sizeof(load_error),
				  "CUDA driver %s lacks %s: driver too old or not NVIDIA's", path,
				  entries[i].name);
			return -ENOSYS;
		}
		*(void **)((char *)&cu + entries[i].offset) = sym;
	}
	r = cu.Init(0);
	if (r != CUDA_SUCCESS) {
		/* CUDA_ERROR_NO_DEVICE lands here on a machine with the driver
		 * package but no GPU, and the stub library returns an error
		 * here too: both are "no device". */
		set_error(load_error, sizeof(load_error), "no CUDA device: cuInit: %s%s",
			  cudrv_strerror(r),
			  r == CUDA_ERROR_STUB_LIBRARY ? " (the toolkit's stub, not a driver)" : "");
		return -ENODEV;
	}
	if (cu.DriverGetVersion(&cu.driver_version) != CUDA_SUCCESS)
		cu.driver_version = 0;
	r = cu.DeviceGetCount(&count);
	if (r != CUDA_SUCCESS || count < 1) {
		set_error(load_error, sizeof(load_error), "no CUDA device: %s",
			  r != CUDA_SUCCESS ? cudrv_strerror(r) : "the driver sees none");
		return -ENODEV;
	}
	return 0;
}

int cudrv_load(char *err, size_t errlen)
{
	if (load_status == 1) {
		load_status = load();
		/* A half-filled table must not look usable. */
		if (load_status && cu.lib) {
			void *lib = cu.lib;

			memset(&cu, 0, sizeof(cu));
			dlclose(lib);
		}
	}
	if (load_status)
		set_error(err, errlen, "%s", load_error);
	return load_status;
}

bool cudrv_has_green_ctx(void)
{
	return cu.DeviceGetDevResource && cu.DevSmResourceSplitByCount &&
	       cu.DevResourceGenerateDesc && cu.GreenCtxCreate && cu.GreenCtxDestroy &&
	       cu.GreenCtxStreamCreate;
}

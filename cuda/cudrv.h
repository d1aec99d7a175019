/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The CUDA driver API, loaded at run time with dlopen("libcuda.so.1"), so
 * that every triage binary starts (and says why the GPU is off) on a
 * machine without an NVIDIA driver. cuda.h gives the types; the entry
 * points are looked up here by their real, versioned names, because
 * cuda.h maps some base names by macro (cuMemAlloc -> cuMemAlloc_v2,
 * cuEventElapsedTime -> _v2, which only CUDA 12.8+ drivers have) and the
 * name a driver exports is what dlsym needs.
 *
 * One table per process, filled once by cudrv_load(); calls go through
 * it: cu.LaunchKernel(...). The green-context entry points are optional
 * (CUDA 12.4+ drivers), and so is cuDeviceTotalMem: NULL where the driver
 * lacks them.
 */
#ifndef TRIAGE_CUDA_CUDRV_H
#define TRIAGE_CUDA_CUDRV_H

#include <cuda.h>
#include <stdbool.h>
#include <stddef.h>
#include <triage/gpu.h>

struct cudrv {
	void *lib;
	int driver_version; /* 12060 for CUDA 12.6 */

	CUresult (*Init)(unsigned int flags);
	CUresult (*DriverGetVersion)(int *version);
	CUresult (*GetErrorName)(CUresult err, const char **name);
	CUresult (*GetErrorString)(CUresult err, const char **text);
	CUresult (*DeviceGet)(CUdevice *dev, int ordinal);
	CUresult (*DeviceGetCount)(int *count);
	CUresult (*DeviceGetName)(char *name, int len, CUdevice dev);
	CUresult (*DeviceGetAttribute)(int *value, CUdevice_attribute attr, CUdevice dev);
	CUresult (*DevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice dev);
	CUresult (*DevicePrimaryCtxRelease)(CUdevice dev);
	CUresult (*CtxSetCurrent)(CUcontext ctx);
	CUresult (*CtxSynchronize)(void);
	CUresult (*CtxGetStreamPriorityRange)(int *least, int *greatest);
	CUresult (*ModuleLoadData)(CUmodule *mod, const void *image);
	CUresult (*ModuleUnload)(CUmodule mod);
	CUresult (*ModuleGetFunction)(CUfunction *fn, CUmodule mod, const char *name);
	CUresult (*FuncGetAttribute)(int *value, CUfunction_attribute attr, CUfunction fn);
	CUresult (*OccupancyMaxActiveBlocksPerMultiprocessor)(int *blocks, CUfunction fn,
							      int block_size, size_t dyn_smem);
	CUresult (*StreamCreateWithPriority)(CUstream *stream, unsigned int flags, int priority);
	CUresult (*StreamDestroy)(CUstream stream);
	CUresult (*StreamSynchronize)(CUstream stream);
	CUresult (*StreamQuery)(CUstream stream);
	CUresult (*EventCreate)(CUevent *event, unsigned int flags);
	CUresult (*EventDestroy)(CUevent event);
	CUresult (*EventRecord)(CUevent event, CUstream stream);
	CUresult (*EventQuery)(CUevent event);
	CUresult (*EventSynchronize)(CUevent event);
	CUresult (*EventElapsedTime)(float *ms, CUevent start, CUevent end);
	CUresult (*MemAlloc)(CUdeviceptr *ptr, size_t bytes);
	CUresult (*MemFree)(CUdeviceptr ptr);
	CUresult (*MemcpyHtoD)(CUdeviceptr dst, const void *src, size_t bytes);
	CUresult (*MemcpyDtoH)(void *dst, CUdeviceptr src, size_t bytes);
	CUresult (*MemsetD32)(CUdeviceptr dst, unsigned int value, size_t count);
	CUresult (*MemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t bytes,
				    CUstream stream);
	CUresult (*MemcpyDtoHAsync)(void *dst, CUdeviceptr src, size_t bytes, CUstream stream);
	CUresult (*MemHostRegister)(void *p, size_t bytes, unsigned int flags);
	CUresult (*MemHostUnregister)(void *p);
	CUresult (*MemHostGetDevicePointer)(CUdeviceptr *dptr, void *p, unsigned int flags);
	CUresult (*LaunchKernel)(CUfunction fn, unsigned int grid_x, unsigned int grid_y,
				 unsigned int grid_z, unsigned int block_x, unsigned int block_y,
				 unsigned int block_z, unsigned int smem, CUstream stream,
				 void **params, void **extra);

	/* Optional: only the planner's profile reads it (cuda/gpu_profile.c),
	 * and nothing else should fail to start for its lack. */
	CUresult (*DeviceTotalMem)(size_t *bytes, CUdevice dev);

	/* Green contexts: optional. */
	CUresult (*DeviceGetDevResource)(CUdevice dev, CUdevResource *res, CUdevResourceType type);
	CUresult (*DevSmResourceSplitByCount)(CUdevResource *result, unsigned int *nr_groups,
					      const CUdevResource *input, CUdevResource *remaining,
					      unsigned int flags, unsigned int min_count);
	CUresult (*DevResourceGenerateDesc)(CUdevResourceDesc *desc, CUdevResource *res,
					    unsigned int nr);
	CUresult (*GreenCtxCreate)(CUgreenCtx *ctx, CUdevResourceDesc desc, CUdevice dev,
				   unsigned int flags);
	CUresult (*GreenCtxDestroy)(CUgreenCtx ctx);
	CUresult (*GreenCtxStreamCreate)(CUstream *stream, CUgreenCtx ctx, unsigned int flags,
					 int priority);
};

extern struct cudrv cu;

/* Where to load the driver from: $TRIAGE_LIBCUDA, else "libcuda.so.1". */
#define CUDRV_LIBRARY_ENV TRIAGE_LIBCUDA_ENV

/* Loads the driver, resolves every required entry point, runs cuInit(0)
 * and counts the devices. Idempotent. Returns 0, or with one line in err:
 * -ENOENT no driver library, -ENOSYS a required entry point missing,
 * -ENODEV cuInit failed or no device. */
int cudrv_load(char *err, size_t errlen);

/* Whether the driver has every green-context entry point. */
bool cudrv_has_green_ctx(void);

/* "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", or the number when the
 * driver cannot name it. The string is static for the names, per thread
 * for the numbers. */
const char *cudrv_strerror(CUresult r);

/* Formats "<what>: <cudrv_strerror(r)>" into err and returns -EIO: the
 * one-line error of every failed driver call. */
int cudrv_fail(CUresult r, char *err, size_t errlen, const char *what);

#endif

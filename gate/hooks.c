// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libtriage-gate.so's entry points: the CUDA driver functions that launch
 * work, reached however a program reaches the driver (gate/README.md).
 *
 * - Linked against libcuda.so.1 (the driver API, or the shared runtime
 *   of old toolkits): LD_PRELOAD puts these definitions first.
 * - Through dlsym (the static runtime, nvcc's default, dlopens
 *   libcuda.so.1 and looks up cuGetProcAddress_v2; so do programs that
 *   load the driver themselves): dlsym itself is defined here, the real
 *   one found with dlvsym; a hooked name comes back as its hook.
 * - Through cuGetProcAddress and cuGetProcAddress_v2 (the runtime since
 *   CUDA 11.3): the real one answers, and a pointer that is one of the
 *   hooked driver functions, whichever version and stream flavour the
 *   caller asked for, comes back as its hook. Matching the pointer, not
 *   the name, keeps every other version and symbol untouched.
 *
 * A hook calls the real function it stands for; when that was never
 * found it answers CUDA_ERROR_NOT_INITIALIZED, as a driver that is not
 * loaded would.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "triage/gpu.h"

#undef cuGetProcAddress
#define EXPORT __attribute__((visibility("default")))

/* The hooked entry points: id, name, whether its stream is per-thread. */
#define GATE_HOOKS(X)                                                   \
	X(LAUNCH, "cuLaunchKernel", false)                              \
	X(LAUNCH_PTSZ, "cuLaunchKernel_ptsz", true)                     \
	X(LAUNCH_EX, "cuLaunchKernelEx", false)                         \
	X(LAUNCH_EX_PTSZ, "cuLaunchKernelEx_ptsz", true)                \
	X(COOP, "cuLaunchCooperativeKernel", false)                     \
	X(COOP_PTSZ, "cuLaunchCooperativeKernel_ptsz", true)            \
	X(GRAPH, "cuGraphLaunch", false)                                \
	X(GRAPH_PTSZ, "cuGraphLaunch_ptsz", true)                       \
	X(GETPROC, "cuGetProcAddress", false)                           \
	X(GETPROC_V2, "cuGetProcAddress_v2", false)

#define X_ID(id, name, ptsz) H_##id,
enum { GATE_HOOKS(X_ID) H__COUNT };
#undef X_ID

#define X_NAME(id, name, ptsz) name,
static const char *const hook_names[H__COUNT] = { GATE_HOOKS(X_NAME) };
#undef X_NAME

typedef CUresult (*launch_fn)(CUfunction, unsigned int, unsigned int, unsigned int, unsigned int,
			      unsigned int, unsigned int, unsigned int, CUstream, void **, void **);
typedef CUresult (*launch_ex_fn)(const CUlaunchConfig *, CUfunction, void **, void **);
typedef CUresult (*coop_fn)(CUfunction, unsigned int, unsigned int, unsigned int, unsigned int,
			    unsigned int, unsigned int, unsigned int, CUstream, void **);
typedef CUresult (*graph_fn)(CUgraphExec, CUstream);
typedef CUresult (*getproc_fn)(const char *, void **, int, cuuint64_t);
typedef CUresult (*getproc_v2_fn)(const char *, void **, int, cuuint64_t,
				  CUdriverProcAddressQueryResult *);
typedef void *(*dlsym_fn)(void *, const char *);

static void *real[H__COUNT];	    /* the driver's own, once found */
static void *const hooks[H__COUNT]; /* ours: the table at the end */
static dlsym_fn real_dlsym;
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Set while setup() loads the driver: a dlsym from its constructors must
 * not wait for the setup it is part of. */
static __thread bool in_setup;

/* glibc's dlsym: 2.34 moved it into libc under a new version. */
static void find_real_dlsym(void)
{
	static const char *const versions[] = { "GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.0" };

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]) && !real_dlsym; i++)
		real_dlsym = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", versions[i]);
}

static void *find(void *lib, const char *name)
{
	return lib && real_dlsym ? real_dlsym(lib, name) : NULL;
}

static void setup(void)
{
	const char *path = getenv(TRIAGE_LIBCUDA_ENV);
	void *lib;
	struct gate_driver drv;

	in_setup = true;
	find_real_dlsym();
	/* The same file the program loads (or will): dlopen returns its
	 * handle, and the driver is initialized once per process. */
	lib = dlopen(path && *path ? path : TRIAGE_LIBCUDA_DEFAULT, RTLD_NOW | RTLD_GLOBAL);
	for (int i = 0; i < H__COUNT; i++)
		if (!real[i])
			real[i] = find(lib, hook_names[i]);
	drv = (struct gate_driver){
		.event_create = (CUresult(*)(CUevent *, unsigned int))find(lib, "cuEventCreate"),
		.event_record = (CUresult(*)(CUevent, CUstream))find(lib, "cuEventRecord"),
		.event_query = (CUresult(*)(CUevent))find(lib, "cuEventQuery"),
		.event_elapsed = (CUresult(*)(float *, CUevent, CUevent))find(lib, "cuEventElapsedTime"),
		.ctx_get_current = (CUresult(*)(CUcontext *))find(lib, "cuCtxGetCurrent"),
		.ctx_set_current = (CUresult(*)(CUcontext))find(lib, "cuCtxSetCurrent"),
		.stream_is_capturing = (CUresult(*)(CUstream, CUstreamCaptureStatus *))find(
			lib, "cuStreamIsCapturing"),
		.stream_is_capturing_ptsz = (CUresult(*)(CUstream, CUstreamCaptureStatus *))find(
			lib, "cuStreamIsCapturing_ptsz"),
		.exchange_capture_mode = (CUresult(*)(CUstreamCaptureMode *))find(
			lib, "cuThreadExchangeStreamCaptureMode"),
	};
	in_setup = false;
	gate_init(lib ? &drv : NULL);
}

static void ready(void)
{
	pthread_once(&once, setup);
}

/* The hook of a real driver function's pointer, or p itself. */
static void *hook_of(void *p)
{
	if (!p)
		return p;
	for (int i = 0; i < H__COUNT; i++)
		if (real[i] == p)
			return hooks[i];
	return p;
}

/* ---- the launches ---------------------------------------------------- */

static CUresult launch(int id, CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		       unsigned int bx, unsigned int by, unsigned int bz, unsigned int smem,
		       CUstream s, void **params, void **extra)
{
	bool ptsz = id == H_LAUNCH_PTSZ;
	CUresult r;

	ready();
	if (!real[id])
		return CUDA_ERROR_NOT_INITIALIZED;
	gate_before_launch(s, ptsz);
	r = ((launch_fn)real[id])(f, gx, gy, gz, bx, by, bz, smem, s, params, extra);
	if (r == CUDA_SUCCESS)
		gate_after_launch(s, ptsz);
	return r;
}

EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
			       unsigned int bx, unsigned int by, unsigned int bz, unsigned int smem,
			       CUstream s, void **params, void **extra)
{
	return launch(H_LAUNCH, f, gx, gy, gz, bx, by, bz, smem, s, params, extra);
}

EXPORT CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy,
				    unsigned int gz, unsigned int bx, unsigned int by,
				    unsigned int bz, unsigned int smem, CUstream s, void **params,
				    void **extra)
{
	return launch(H_LAUNCH_PTSZ, f, gx, gy, gz, bx, by, bz, smem, s, params, extra);
}

static CUresult launch_ex(int id, const CUlaunchConfig *cfg, CUfunction f, void **params,
			  void **extra)
{
	bool ptsz = id == H_LAUNCH_EX_PTSZ;
	CUstream s = cfg ? cfg->hStream : NULL;
	CUresult r;

	ready();
	if (!real[id])
		return CUDA_ERROR_NOT_INITIALIZED;
	gate_before_launch(s, ptsz);
	r = ((launch_ex_fn)real[id])(cfg, f, params, extra);
	if (r == CUDA_SUCCESS)
		gate_after_launch(s, ptsz);
	return r;
}

EXPORT CUresult cuLaunchKernelEx(const CUlaunchConfig *cfg, CUfunction f, void **params,
				 void **extra)
{
	return launch_ex(H_LAUNCH_EX, cfg, f, params, extra);
}

EXPORT CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *cfg, CUfunction f, void **params,
				      void **extra)
{
	return launch_ex(H_LAUNCH_EX_PTSZ, cfg, f, params, extra);
}

static CUresult coop(int id, CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		     unsigned int bx, unsigned int by, unsigned int bz, unsigned int smem,
		     CUstream s, void **params)
{
	bool ptsz = id == H_COOP_PTSZ;
	CUresult r;

	ready();
	if (!real[id])
		return CUDA_ERROR_NOT_INITIALIZED;
	gate_before_launch(s, ptsz);
	r = ((coop_fn)real[id])(f, gx, gy, gz, bx, by, bz, smem, s, params);
	if (r == CUDA_SUCCESS)
		gate_after_launch(s, ptsz);
	return r;
}

EXPORT CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy,
					  unsigned int gz, unsigned int bx, unsigned int by,
					  unsigned int bz, unsigned int smem, CUstream s,
					  void **params)
{
	return coop(H_COOP, f, gx, gy, gz, bx, by, bz, smem, s, params);
}

EXPORT CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy,
					       unsigned int gz, unsigned int bx, unsigned int by,
					       unsigned int bz, unsigned int smem, CUstream s,
					       void **params)
{
	return coop(H_COOP_PTSZ, f, gx, gy, gz, bx, by, bz, smem, s, params);
}

static CUresult graph(int id, CUgraphExec g, CUstream s)
{
	bool ptsz = id == H_GRAPH_PTSZ;
	CUresult r;

	ready();
	if (!real[id])
		return CUDA_ERROR_NOT_INITIALIZED;
	gate_before_launch(s, ptsz);
	r = ((graph_fn)real[id])(g, s);
	if (r == CUDA_SUCCESS)
		gate_after_launch(s, ptsz);
	return r;
}

EXPORT CUresult cuGraphLaunch(CUgraphExec g, CUstream s)
{
	return graph(H_GRAPH, g, s);
}

EXPORT CUresult cuGraphLaunch_ptsz(CUgraphExec g, CUstream s)
{
	return graph(H_GRAPH_PTSZ, g, s);
}

/* ---- how programs find the driver's functions -------------------------- */

EXPORT CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, cuuint64_t flags)
{
	CUresult r;

	ready();
	if (!real[H_GETPROC])
		return CUDA_ERROR_NOT_INITIALIZED;
	r = ((getproc_fn)real[H_GETPROC])(symbol, pfn, version, flags);
	if (r == CUDA_SUCCESS && pfn)
		*pfn = hook_of(*pfn);
	return r;
}

EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
				    CUdriverProcAddressQueryResult *status)
{
	CUresult r;

	ready();
	if (!real[H_GETPROC_V2])
		return CUDA_ERROR_NOT_INITIALIZED;
	r = ((getproc_v2_fn)real[H_GETPROC_V2])(symbol, pfn, version, flags, status);
	if (r == CUDA_SUCCESS && pfn)
		*pfn = hook_of(*pfn);
	return r;
}

EXPORT void *dlsym(void *handle, const char *name)
{
	void *p;

	if (!real_dlsym)
		find_real_dlsym();
	if (!real_dlsym)
		return NULL;
	/* Caveat: RTLD_NEXT is taken from here, the gate, not from the
	 * caller (gate/README.md). */
	p = real_dlsym(handle, name);
	if (!p || strncmp(name, "cu", 2) || in_setup)
		return p;
	ready();
	for (int i = 0; i < H__COUNT; i++)
		if (!strcmp(name, hook_names[i])) {
			/* The program's driver may be another file than the
			 * one the gate opened: then this is the real one. */
			if (!real[i])
				real[i] = p;
			return p == real[i] ? hooks[i] : p;
		}
	return hook_of(p);
}

static void *const hooks[H__COUNT] = {
	[H_LAUNCH] = (void *)cuLaunchKernel,
	[H_LAUNCH_PTSZ] = (void *)cuLaunchKernel_ptsz,
	[H_LAUNCH_EX] = (void *)cuLaunchKernelEx,
	[H_LAUNCH_EX_PTSZ] = (void *)cuLaunchKernelEx_ptsz,
	[H_COOP] = (void *)cuLaunchCooperativeKernel,
	[H_COOP_PTSZ] = (void *)cuLaunchCooperativeKernel_ptsz,
	[H_GRAPH] = (void *)cuGraphLaunch,
	[H_GRAPH_PTSZ] = (void *)cuGraphLaunch_ptsz,
	[H_GETPROC] = (void *)cuGetProcAddress,
	[H_GETPROC_V2] = (void *)cuGetProcAddress_v2,
};

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A CUDA driver-API program for the launch gate's tests (tests/e2e/gate.sh)
 * and benchmark (bench/gpu-gate): it finds the driver's functions the way
 * real programs do, launches the stand-in driver's sleeping kernel
 * ("fake_sleep_us"; on a GPU, a spin of the same length from its own
 * module is not needed: this program is for the stand-in), and reports
 * what it saw.
 *
 *   gate-app [--resolve dlsym|getproc|getproc1|linked] [--entry NAME|all]
 *            [--kernel-us N] [--burst N] [--gap-us N] [--seconds S | --launches N]
 *            [--default-stream] [--fork-child-ms N]
 *
 * --resolve: dlopen("libcuda.so.1") and dlsym each function (what a
 * program loading the driver itself does); or dlsym cuGetProcAddress_v2
 * (getproc) or cuGetProcAddress (getproc1) and ask it for the rest (what
 * the CUDA runtime does since 11.3); or call the functions it is linked
 * against (linked: built as gate-app-linked, DT_NEEDED on the driver).
 * --entry: which launch entry point (cuLaunchKernel, ..._ptsz,
 * cuLaunchKernelEx[_ptsz], cuLaunchCooperativeKernel[_ptsz],
 * cuGraphLaunch[_ptsz]); all: each in turn.
 * It launches bursts of --burst kernels of --kernel-us, synchronizes the
 * stream after each burst, sleeps --gap-us, and stops after --seconds or
 * --launches. --default-stream: launch on stream 0, which a _ptsz entry
 * point takes as the calling thread's own default stream (only with
 * those). --fork-child-ms: after the first burst is launched, before it
 * is synchronized, fork a child that uses no CUDA, sleeps N ms and exits
 * (through exit(), so atexit handlers run), and wait for it: what a data
 * loader worker does. Last line on stdout:
 *   launches N bursts B seconds S call_us_max M call_us_total T
 * where call_us is the time the launch calls took (a held launch's wait).
 */
#include <cuda.h>
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#undef cuGetProcAddress

#define ENTRIES(X)                                \
	X(LAUNCH, "cuLaunchKernel")               \
	X(LAUNCH_PTSZ, "cuLaunchKernel_ptsz")     \
	X(EX, "cuLaunchKernelEx")                 \
	X(EX_PTSZ, "cuLaunchKernelEx_ptsz")       \
	X(COOP, "cuLaunchCooperativeKernel")      \
	X(COOP_PTSZ, "cuLaunchCooperativeKernel_ptsz") \
	X(GRAPH, "cuGraphLaunch")                 \
	X(GRAPH_PTSZ, "cuGraphLaunch_ptsz")

#define X_ID(id, name) E_##id,
enum { ENTRIES(X_ID) E__COUNT };
#undef X_ID
#define X_NAME(id, name) name,
static const char *const entry_names[E__COUNT] = { ENTRIES(X_NAME) };
#undef X_NAME

typedef CUresult (*launch_fn)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
			      unsigned, unsigned, CUstream, void **, void **);
typedef CUresult (*ex_fn)(const CUlaunchConfig *, CUfunction, void **, void **);
typedef CUresult (*coop_fn)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
			    unsigned, unsigned, CUstream, void **);
typedef CUresult (*graph_fn)(CUgraphExec, CUstream);
typedef CUresult (*getproc_v2_fn)(const char *, void **, int, cuuint64_t,
				  CUdriverProcAddressQueryResult *);
typedef CUresult (*getproc_fn)(const char *, void **, int, cuuint64_t);

static struct {
	CUresult (*init)(unsigned);
	CUresult (*device_get)(CUdevice *, int);
	CUresult (*retain)(CUcontext *, CUdevice);
	CUresult (*set_current)(CUcontext);
	CUresult (*module_load)(CUmodule *, const void *);
	CUresult (*get_function)(CUfunction *, CUmodule, const char *);
	CUresult (*stream_create)(CUstream *, unsigned, int);
	CUresult (*stream_sync)(CUstream);
	void *entry[E__COUNT];
} D;

static void die(const char *what)
{
	fprintf(stderr, "gate-app: %s\n", what);
	exit(1);
}

#ifdef GATE_APP_LINKED
#undef cuDeviceTotalMem
CUresult cuLaunchKernel_ptsz(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
			     unsigned, unsigned, CUstream, void **, void **);
CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *, CUfunction, void **, void **);
CUresult cuLaunchCooperativeKernel_ptsz(CUfunction, unsigned, unsigned, unsigned, unsigned,
					unsigned, unsigned, unsigned, CUstream, void **);
CUresult cuGraphLaunch_ptsz(CUgraphExec, CUstream);

static void resolve_linked(void)
{
	D.init = cuInit;
	D.device_get = cuDeviceGet;
	D.retain = cuDevicePrimaryCtxRetain;
	D.set_current = cuCtxSetCurrent;
	D.module_load = cuModuleLoadData;
	D.get_function = cuModuleGetFunction;
	D.stream_create = cuStreamCreateWithPriority;
	D.stream_sync = cuStreamSynchronize;
	D.entry[E_LAUNCH] = (void *)cuLaunchKernel;
	D.entry[E_LAUNCH_PTSZ] = (void *)cuLaunchKernel_ptsz;
	D.entry[E_EX] = (void *)cuLaunchKernelEx;
	D.entry[E_EX_PTSZ] = (void *)cuLaunchKernelEx_ptsz;
	D.entry[E_COOP] = (void *)cuLaunchCooperativeKernel;
	D.entry[E_COOP_PTSZ] = (void *)cuLaunchCooperativeKernel_ptsz;
	D.entry[E_GRAPH] = (void *)cuGraphLaunch;
	D.entry[E_GRAPH_PTSZ] = (void *)cuGraphLaunch_ptsz;
}
#endif

/* name through dlsym, or through cuGetProcAddress[_v2]; _ptsz names are
 * asked for by base name and the per-thread flag, as the runtime does. */
static void *get(void *lib, const char *resolve, void *gp, const char *name)
{
	char base[128];
	cuuint64_t flags = CU_GET_PROC_ADDRESS_DEFAULT;
	void *p = NULL;
	size_t len = strlen(name);

	if (!strcmp(resolve, "dlsym"))
		return dlsym(lib, name);
	snprintf(base, sizeof(base), "%s", name);
	if (len > 5 && !strcmp(name + len - 5, "_ptsz")) {
		base[len - 5] = '\0';
		flags = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
	}
	if (!strcmp(resolve, "getproc")) {
		CUdriverProcAddressQueryResult st;

		if (((getproc_v2_fn)gp)(base, &p, 12000, flags, &st) != CUDA_SUCCESS)
			return NULL;
	} else if (((getproc_fn)gp)(base, &p, 12000, flags) != CUDA_SUCCESS) {
		return NULL;
	}
	return p;
}

static void resolve_loaded(const char *resolve)
{
	void *lib = dlopen("libcuda.so.1", RTLD_NOW);
	void *gp = NULL;

	if (!lib)
		die(dlerror());
	if (!strcmp(resolve, "getproc"))
		gp = dlsym(lib, "cuGetProcAddress_v2");
	else if (!strcmp(resolve, "getproc1"))
		gp = dlsym(lib, "cuGetProcAddress");
	else if (strcmp(resolve, "dlsym"))
		die("--resolve: dlsym, getproc, getproc1 or linked");
	if (strcmp(resolve, "dlsym") && !gp)
		die("no cuGetProcAddress in the driver");
	/* A program asking cuGetProcAddress for itself gets what it asks. */
	if (gp && get(lib, resolve, gp, "cuGetProcAddress") != gp && strcmp(resolve, "getproc1"))
		fprintf(stderr, "gate-app: cuGetProcAddress answers another cuGetProcAddress\n");
	D.init = (CUresult(*)(unsigned))get(lib, resolve, gp, "cuInit");
	D.device_get = (CUresult(*)(CUdevice *, int))get(lib, resolve, gp, "cuDeviceGet");
	D.retain = (CUresult(*)(CUcontext *, CUdevice))get(lib, resolve, gp, "cuDevicePrimaryCtxRetain");
	D.set_current = (CUresult(*)(CUcontext))get(lib, resolve, gp, "cuCtxSetCurrent");
	D.module_load = (CUresult(*)(CUmodule *, const void *))get(lib, resolve, gp, "cuModuleLoadData");
	D.get_function = (CUresult(*)(CUfunction *, CUmodule, const char *))get(
		lib, resolve, gp, "cuModuleGetFunction");
	D.stream_create = (CUresult(*)(CUstream *, unsigned, int))get(lib, resolve, gp,
								      "cuStreamCreateWithPriority");
	D.stream_sync = (CUresult(*)(CUstream))get(lib, resolve, gp, "cuStreamSynchronize");
	for (int e = 0; e < E__COUNT; e++)
		D.entry[e] = get(lib, resolve, gp, entry_names[e]);
}

static CUresult launch(int e, CUfunction f, CUstream s, unsigned us)
{
	void *params[] = { &us };
	CUlaunchConfig cfg = { .gridDimX = 1, .gridDimY = 1, .gridDimZ = 1, .blockDimX = 1,
			       .blockDimY = 1, .blockDimZ = 1, .hStream = s };

	switch (e) {
	case E_LAUNCH:
	case E_LAUNCH_PTSZ:
		return ((launch_fn)D.entry[e])(f, 1, 1, 1, 1, 1, 1, 0, s, params, NULL);
	case E_EX:
	case E_EX_PTSZ:
		return ((ex_fn)D.entry[e])(&cfg, f, params, NULL);
	case E_COOP:
	case E_COOP_PTSZ:
		return ((coop_fn)D.entry[e])(f, 1, 1, 1, 1, 1, 1, 0, s, params);
	default:
		/* The stand-in takes any handle for a graph of no work. */
		return ((graph_fn)D.entry[e])((CUgraphExec)&D, s);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resolve", required_argument, NULL, 'r' }, { "entry", required_argument, NULL, 'e' },
		{ "kernel-us", required_argument, NULL, 'k' }, { "burst", required_argument, NULL, 'b' },
		{ "gap-us", required_argument, NULL, 'g' }, { "seconds", required_argument, NULL, 's' },
		{ "launches", required_argument, NULL, 'n' },
		{ "default-stream", no_argument, NULL, 'd' },
		{ "fork-child-ms", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 },
	};
	const char *resolve = "dlsym", *entry = "cuLaunchKernel";
	unsigned kernel_us = 1000, burst = 1, gap_us = 0;
	double seconds = 0, t0, call_max = 0, call_total = 0;
	long max_launches = 0, launches = 0, bursts = 0;
	int first_entry = -1, c, default_stream = 0;
	long fork_child_ms = 0;
	CUdevice dev;
	CUcontext ctx;
	CUmodule mod;
	CUfunction fn;
	CUstream stream;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': resolve = optarg; break;
		case 'e': entry = optarg; break;
		case 'k': kernel_us = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': burst = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'g': gap_us = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'n': max_launches = strtol(optarg, NULL, 10); break;
		case 'd': default_stream = 1; break;
		case 'f': fork_child_ms = strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (!burst || (seconds <= 0 && max_launches <= 0))
		die("--burst must be > 0, and --seconds or --launches given");
	for (int e = 0; e < E__COUNT; e++)
		if (!strcmp(entry, entry_names[e]))
			first_entry = e;
	if (first_entry < 0 && strcmp(entry, "all"))
		die("--entry: unknown entry point");
	if (default_stream && (first_entry < 0 || !strstr(entry_names[first_entry], "_ptsz")))
		die("--default-stream: only with one _ptsz entry point");
	if (!strcmp(resolve, "linked")) {
#ifdef GATE_APP_LINKED
		resolve_linked();
#else
		die("--resolve linked: this is gate-app; run gate-app-linked");
#endif
	} else {
		resolve_loaded(resolve);
	}
	for (int e = 0; e < E__COUNT; e++)
		if (!D.entry[e])
			die("an entry point was not found");
	if (!D.init || D.init(0) || D.device_get(&dev, 0) || D.retain(&ctx, dev) ||
	    D.set_current(ctx) || D.module_load(&mod, "fake") ||
	    D.get_function(&fn, mod, "fake_sleep_us") || D.stream_create(&stream, 0, 0))
		die("the driver refused the set-up (is this the stand-in driver?)");
	t0 = mono_s();
	while ((max_launches <= 0 || launches < max_launches) && (seconds <= 0 || mono_s() - t0 < seconds)) {
		for (unsigned i = 0; i < burst && (max_launches <= 0 || launches < max_launches); i++) {
			int e = first_entry >= 0 ? first_entry : (int)(launches % E__COUNT);
			double before = mono_s(), took;

			if (launch(e, fn, default_stream ? NULL : stream, kernel_us) != CUDA_SUCCESS)
				die("a launch failed");
			took = (mono_s() - before) * 1e6;
			call_total += took;
			if (took > call_max)
				call_max = took;
			launches++;
		}
		if (fork_child_ms > 0 && bursts == 0) {
			pid_t child = fork();

			if (child < 0)
				die("fork failed");
			if (!child) {
				usleep((useconds_t)fork_child_ms * 1000);
				exit(0);
			}
			if (waitpid(child, NULL, 0) != child)
				die("waitpid failed");
		}
		D.stream_sync(default_stream ? CU_STREAM_PER_THREAD : stream);
		bursts++;
		if (gap_us)
			usleep(gap_us);
	}
	printf("launches %ld bursts %ld seconds %.3f call_us_max %.0f call_us_total %.0f\n", launches,
	       bursts, mono_s() - t0, call_max, call_total);
	return 0;
}

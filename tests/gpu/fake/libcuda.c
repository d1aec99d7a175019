// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A stand-in for libcuda.so.1 that runs the elastic kernels on the CPU,
 * loaded by the runtime through TRIAGE_LIBCUDA: the driver-API runtime,
 * the coordinator, the GPU tests and the benchmark then run end to end on
 * a machine without a GPU (tests/e2e/cuda-runtime.sh). It checks what the
 * runtime does (every launch, every slice, every event), not how fast a
 * GPU would do it: it has no notion of SMs running side by side.
 *
 * It plays a 16-SM GPU of compute capability 8.7, Jetson Orin's, with
 * stream priorities 0 (least) to -5 (greatest). Device memory is host
 * memory. Streams are queues that advance lazily: querying an unfinished
 * event runs one pending launch of its stream, so work stays in flight
 * across the coordinator's loop turns as it would on a GPU, and critical
 * kernels are seen running while best-effort slices are planned.
 *
 * Launch checks a real driver also makes: a kernel of the variant tN takes
 * at most N threads per block (its __launch_bounds__), a grid is at least
 * one block, and each argument block has its op's size.
 */
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "kernels/ops.h"

/* cuda.h maps these names to newer versions; this library exports the
 * names the runtime resolves. */
#undef cuEventElapsedTime
#undef cuGetProcAddress
CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end);
CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, cuuint64_t flags);

/* One lock over the whole driver, taken by every entry point (and again,
 * recursively, when one calls another): the launch gate's poller thread
 * queries events while the program launches, as on a real driver. */
static pthread_mutex_t driver_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static void unlock_driver(pthread_mutex_t **m)
{
	pthread_mutex_unlock(*m);
}

#define GUARD()                                                                   \
	pthread_mutex_t *guard_ __attribute__((cleanup(unlock_driver))) = &driver_lock; \
	pthread_mutex_lock(guard_)

#define FAKE_SMS 16
#define FAKE_THREADS_PER_SM 1536
#define FAKE_BLOCKS_PER_SM 16
#define FAKE_PRIO_GREATEST (-5)

#define TK_OP_NAME(e, name) [e] = name,
static const char *const op_names[TK_OP__COUNT] = { TK_OPS(TK_OP_NAME) };
#undef TK_OP_NAME

struct fake_function {
	int op; /* FAKE_SLEEP: the sleeping kernel */
	unsigned int threads;
};

/* "fake_sleep_us": a kernel that takes as long as its one argument (a
 * uint32_t of microseconds) says, for tests that need work in flight for
 * a known time (the launch gate's). */
#define FAKE_SLEEP (-1)
static struct fake_function sleep_function = { FAKE_SLEEP, 1024 };

static struct fake_function functions[TK_OP__COUNT][3];

struct fake_event;

struct item {
	struct item *next;
	struct fake_event *event; /* an event record, or NULL for a launch */
	uint64_t gen;		  /* of the record: only the event's latest counts */
	int noop;		  /* a graph launch, or a record of an event gone */
	uint32_t sleep_us;
	void *copy_dst;		  /* an asynchronous copy, when fn and event are NULL */
	const void *copy_src;
	size_t copy_bytes;
	const struct fake_function *fn;
	unsigned int grid, block;
	struct tk_slice slice;
	union tk_args args;
};

struct fake_stream {
	int priority;
	struct item *head, *tail;
};

struct fake_event {
	struct fake_stream *stream; /* where its latest record waits; NULL once done */
	double done_at;
	int recorded;
	uint64_t gen; /* records so far */
};

static int initialized;
static int context_token;

/* Every physical thread of the launch, in turn, by the contract's loop. */
static void run_launch(const struct item *it)
{
	const int64_t items = tk_op_items(it->fn->op, &it->args);

	for (unsigned int block = 0; block < it->grid; block++)
		for (unsigned int thread = 0; thread < it->block; thread++)
			TK_FOR_EACH_ITEM(g, items, it->slice, block, it->grid, thread, it->block)
			tk_op_item(it->fn->op, &it->args, g);
}

/* Runs the oldest pending item of s; 0 when there was none. */
static int step(struct fake_stream *s)
{
	struct item *it = s->head;

	if (!it)
		return 0;
	s->head = it->next;
	if (!s->head)
		s->tail = NULL;
	if (it->noop) {
		/* nothing: a graph's work, or a record of a destroyed event */
	} else if (it->event) {
		if (it->gen == it->event->gen) {
			it->event->stream = NULL;
			it->event->done_at = mono_s();
		}
	} else if (it->fn && it->fn->op == FAKE_SLEEP) {
		struct timespec ts = { it->sleep_us / 1000000, (long)(it->sleep_us % 1000000) * 1000 };

		nanosleep(&ts, NULL);
	} else if (!it->fn) {
		memcpy(it->copy_dst, it->copy_src, it->copy_bytes);
	} else {
		run_launch(it);
	}
	free(it);
	return 1;
}

static void push(struct fake_stream *s, struct item *it)
{
	it->next = NULL;
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
}

/* Streams made so far, for cuCtxSynchronize. */
static struct fake_stream *streams[256];
static int nr_streams;

/* The legacy and per-thread default streams (one here) for handles that
 * name them; NULL stays NULL, which launches refuse. */
static struct fake_stream default_stream;

static struct fake_stream *stream_of(CUstream s)
{
	if (s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD)
		return &default_stream;
	return (struct fake_stream *)s;
}

CUresult cuInit(unsigned int flags)
{
	GUARD();
	(void)flags;
	initialized = 1;
	for (int op = 0; op < TK_OP__COUNT; op++)
		for (int v = 0; v < 3; v++)
			functions[op][v] = (struct fake_function){ op, 64u << v };
	return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *version)
{
	GUARD();
	*version = 12060;
	return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult err, const char **name)
{
	GUARD();
	switch (err) {
	case CUDA_SUCCESS:
		*name = "CUDA_SUCCESS";
		return CUDA_SUCCESS;
	case CUDA_ERROR_INVALID_VALUE:
		*name = "CUDA_ERROR_INVALID_VALUE";
		return CUDA_SUCCESS;
	case CUDA_ERROR_NOT_READY:
		*name = "CUDA_ERROR_NOT_READY";
		return CUDA_SUCCESS;
	case CUDA_ERROR_NOT_FOUND:
		*name = "CUDA_ERROR_NOT_FOUND";
		return CUDA_SUCCESS;
	case CUDA_ERROR_OUT_OF_MEMORY:
		*name = "CUDA_ERROR_OUT_OF_MEMORY";
		return CUDA_SUCCESS;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
}

CUresult cuGetErrorString(CUresult err, const char **text)
{
	GUARD();
	const char *name;

	if (cuGetErrorName(err, &name) != CUDA_SUCCESS)
		return CUDA_ERROR_INVALID_VALUE;
	*text = "reported by the CPU fake driver";
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *dev, int ordinal)
{
	GUARD();
	if (!initialized)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (ordinal != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*dev = 0;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count)
{
	GUARD();
	*count = 1;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
	GUARD();
	(void)dev;
	snprintf(name, (size_t)len, "triage CPU fake (16 SMs, sm_87)");
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute attr, CUdevice dev)
{
	GUARD();
	(void)dev;
	switch (attr) {
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
		*value = FAKE_SMS;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR:
		*value = FAKE_THREADS_PER_SM;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR:
		*value = FAKE_BLOCKS_PER_SM;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
		*value = 8;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
		*value = 7;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_INTEGRATED: /* sm_87: an Orin's */
	case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY:
		*value = 1;
		return CUDA_SUCCESS;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
}

/* Integrated, as the sm_87 it plays: the device's memory is the host's. */
CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	GUARD();
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	if (dev != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*bytes = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)4 << 30;
	return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev)
{
	GUARD();
	(void)dev;
	*ctx = (CUcontext)&context_token;
	return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	GUARD();
	(void)dev;
	return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx)
{
	GUARD();
	(void)ctx;
	return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize(void)
{
	GUARD();
	for (int i = 0; i < nr_streams; i++)
		while (streams[i] && step(streams[i]))
			;
	while (step(&default_stream))
		;
	return CUDA_SUCCESS;
}

CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest)
{
	GUARD();
	*least = 0;
	*greatest = FAKE_PRIO_GREATEST;
	return CUDA_SUCCESS;
}

CUresult cuModuleLoadData(CUmodule *mod, const void *image)
{
	GUARD();
	(void)image;
	*mod = (CUmodule)&context_token;
	return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule mod)
{
	GUARD();
	(void)mod;
	return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *fn, CUmodule mod, const char *name)
{
	GUARD();
	(void)mod;
	if (!strcmp(name, "fake_sleep_us")) {
		*fn = (CUfunction)&sleep_function;
		return CUDA_SUCCESS;
	}
	for (int op = 0; op < TK_OP__COUNT; op++) {
		size_t len = strlen(op_names[op]);

		if (strncmp(name, "tk_", 3) || strncmp(name + 3, op_names[op], len) ||
		    strncmp(name + 3 + len, "_t", 2))
			continue;
		for (int v = 0; v < 3; v++) {
			char want[16];

			snprintf(want, sizeof(want), "%u", functions[op][v].threads);
			if (!strcmp(name + 5 + len, want)) {
				*fn = (CUfunction)&functions[op][v];
				return CUDA_SUCCESS;
			}
		}
	}
	return CUDA_ERROR_NOT_FOUND;
}

CUresult cuFuncGetAttribute(int *value, CUfunction_attribute attr, CUfunction fn)
{
	GUARD();
	(void)attr;
	*value = (int)((struct fake_function *)fn)->threads;
	return CUDA_SUCCESS;
}

/* Like Ampere: limited by threads, at most 16 blocks. */
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, CUfunction fn, int block_size,
						     size_t dyn_smem)
{
	GUARD();
	(void)dyn_smem;
	if (block_size < 1 || (unsigned int)block_size > ((struct fake_function *)fn)->threads)
		return CUDA_ERROR_INVALID_VALUE;
	*blocks = FAKE_THREADS_PER_SM / block_size;
	if (*blocks > FAKE_BLOCKS_PER_SM)
		*blocks = FAKE_BLOCKS_PER_SM;
	return CUDA_SUCCESS;
}

CUresult cuStreamCreateWithPriority(CUstream *stream, unsigned int flags, int priority)
{
	GUARD();
	struct fake_stream *s;

	(void)flags;
	if (nr_streams == (int)(sizeof(streams) / sizeof(streams[0])))
		return CUDA_ERROR_OUT_OF_MEMORY;
	s = calloc(1, sizeof(*s));
	if (!s)
		return CUDA_ERROR_OUT_OF_MEMORY;
	s->priority = priority;
	streams[nr_streams++] = s;
	*stream = (CUstream)s;
	return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream stream)
{
	GUARD();
	struct fake_stream *s = (struct fake_stream *)stream;

	while (step(s))
		;
	for (int i = 0; i < nr_streams; i++)
		if (streams[i] == s)
			streams[i] = NULL;
	free(s);
	return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream stream)
{
	GUARD();
	while (step(stream_of(stream)))
		;
	return CUDA_SUCCESS;
}

CUresult cuStreamQuery(CUstream stream)
{
	GUARD();
	struct fake_stream *s = stream_of(stream);

	step(s);
	return s->head ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent *event, unsigned int flags)
{
	GUARD();
	(void)flags;
	*event = (CUevent)calloc(1, sizeof(struct fake_event));
	return *event ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult cuEventDestroy_v2(CUevent event)
{
	GUARD();
	struct fake_event *e = (struct fake_event *)event;
	struct fake_stream *all[258];
	int n = 0;

	/* Records of it still queued (the latest and any it replaced) would
	 * dangle: they become no-ops. */
	for (int i = 0; i < nr_streams; i++)
		all[n++] = streams[i];
	all[n++] = &default_stream;
	for (int i = 0; i < n; i++)
		for (struct item *it = all[i] ? all[i]->head : NULL; it; it = it->next)
			if (it->event == e) {
				it->event = NULL;
				it->noop = 1;
			}
	free(e);
	return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent event, CUstream stream)
{
	GUARD();
	struct fake_event *e = (struct fake_event *)event;
	struct item *it;

	if (!stream)
		return CUDA_ERROR_INVALID_VALUE;
	/* A re-record replaces the last one, finished or not: the event
	 * completes when the stream reaches the new record. */
	it = calloc(1, sizeof(*it));
	if (!it)
		return CUDA_ERROR_OUT_OF_MEMORY;
	it->event = e;
	it->gen = ++e->gen;
	e->stream = stream_of(stream);
	e->recorded = 1;
	push(e->stream, it);
	return CUDA_SUCCESS;
}

CUresult cuEventQuery(CUevent event)
{
	GUARD();
	struct fake_event *e = (struct fake_event *)event;

	if (e->stream)
		step(e->stream);
	return e->stream ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent event)
{
	GUARD();
	struct fake_event *e = (struct fake_event *)event;

	while (e->stream)
		step(e->stream);
	return CUDA_SUCCESS;
}

CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end)
{
	GUARD();
	struct fake_event *a = (struct fake_event *)start, *b = (struct fake_event *)end;

	if (!a->recorded || !b->recorded)
		return CUDA_ERROR_INVALID_HANDLE;
	if (a->stream || b->stream)
		return CUDA_ERROR_NOT_READY;
	*ms = (float)((b->done_at - a->done_at) * 1e3);
	return CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes)
{
	GUARD();
	void *p = aligned_alloc(256, (bytes + 255) / 256 * 256);

	if (!p)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*ptr = (CUdeviceptr)(uintptr_t)p;
	return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr ptr)
{
	GUARD();
	free((void *)(uintptr_t)ptr);
	return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes)
{
	GUARD();
	cuCtxSynchronize();
	memcpy((void *)(uintptr_t)dst, src, bytes);
	return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes)
{
	GUARD();
	cuCtxSynchronize();
	memcpy(dst, (const void *)(uintptr_t)src, bytes);
	return CUDA_SUCCESS;
}

/* Asynchronous copies run in stream order, when the stream reaches them,
 * as on a GPU: a host buffer read or written too early shows. */
static CUresult push_copy(void *dst, const void *src, size_t bytes, CUstream stream)
{
	struct item *it;

	if (!stream || (bytes && (!dst || !src)))
		return CUDA_ERROR_INVALID_VALUE;
	it = calloc(1, sizeof(*it));
	if (!it)
		return CUDA_ERROR_OUT_OF_MEMORY;
	it->copy_dst = dst;
	it->copy_src = src;
	it->copy_bytes = bytes;
	push((struct fake_stream *)stream, it);
	return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream)
{
	GUARD();
	return push_copy((void *)(uintptr_t)dst, src, bytes, stream);
}

CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes, CUstream stream)
{
	GUARD();
	return push_copy(dst, (const void *)(uintptr_t)src, bytes, stream);
}

/* Host memory is device memory here: registering only checks the call. */
CUresult cuMemHostRegister_v2(void *p, size_t bytes, unsigned int flags)
{
	GUARD();
	(void)flags;
	return p && bytes ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* Registered memory maps at the same address: the fake's device memory
 * is host memory. */
CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *dptr, void *p, unsigned int flags)
{
	GUARD();
	if (!dptr || !p || flags)
		return CUDA_ERROR_INVALID_VALUE;
	*dptr = (CUdeviceptr)(uintptr_t)p;
	return CUDA_SUCCESS;
}

CUresult cuMemHostUnregister(void *p)
{
	GUARD();
	return p ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int value, size_t count)
{
	GUARD();
	uint32_t *p = (uint32_t *)(uintptr_t)dst;

	cuCtxSynchronize();
	for (size_t i = 0; i < count; i++)
		p[i] = value;
	return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction fn, unsigned int grid_x, unsigned int grid_y,
			unsigned int grid_z, unsigned int block_x, unsigned int block_y,
			unsigned int block_z, unsigned int smem, CUstream stream, void **params,
			void **extra)
{
	GUARD();
	const struct fake_function *f = (const struct fake_function *)fn;
	struct item *it;

	if (!f || !stream || !params || extra || smem || grid_x < 1 || grid_y != 1 ||
	    grid_z != 1 || block_x < 1 || block_x > f->threads || block_y != 1 || block_z != 1)
		return CUDA_ERROR_INVALID_VALUE;
	it = calloc(1, sizeof(*it));
	if (!it)
		return CUDA_ERROR_OUT_OF_MEMORY;
	it->fn = f;
	it->grid = grid_x;
	it->block = block_x;
	if (f->op == FAKE_SLEEP) {
		memcpy(&it->sleep_us, params[0], sizeof(it->sleep_us));
	} else {
		memcpy(&it->slice, params[0], sizeof(it->slice));
		memcpy(&it->args, params[1], tk_args_size(f->op));
	}
	push(stream_of(stream), it);
	return CUDA_SUCCESS;
}

/* The other launch entry points a program may reach (the launch gate
 * hooks each): the same checks and the same queue. */
CUresult cuLaunchKernel_ptsz(CUfunction fn, unsigned int grid_x, unsigned int grid_y,
			     unsigned int grid_z, unsigned int block_x, unsigned int block_y,
			     unsigned int block_z, unsigned int smem, CUstream stream, void **params,
			     void **extra)
{
	return cuLaunchKernel(fn, grid_x, grid_y, grid_z, block_x, block_y, block_z, smem,
			      stream ? stream : CU_STREAM_PER_THREAD, params, extra);
}

CUresult cuLaunchKernelEx(const CUlaunchConfig *cfg, CUfunction fn, void **params, void **extra)
{
	if (!cfg)
		return CUDA_ERROR_INVALID_VALUE;
	return cuLaunchKernel(fn, cfg->gridDimX, cfg->gridDimY, cfg->gridDimZ, cfg->blockDimX,
			      cfg->blockDimY, cfg->blockDimZ, cfg->sharedMemBytes, cfg->hStream,
			      params, extra);
}

CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *cfg, CUfunction fn, void **params,
			       void **extra)
{
	CUlaunchConfig c;

	if (!cfg)
		return CUDA_ERROR_INVALID_VALUE;
	c = *cfg;
	if (!c.hStream)
		c.hStream = CU_STREAM_PER_THREAD;
	return cuLaunchKernelEx(&c, fn, params, extra);
}

CUresult cuLaunchCooperativeKernel(CUfunction fn, unsigned int grid_x, unsigned int grid_y,
				   unsigned int grid_z, unsigned int block_x, unsigned int block_y,
				   unsigned int block_z, unsigned int smem, CUstream stream,
				   void **params)
{
	return cuLaunchKernel(fn, grid_x, grid_y, grid_z, block_x, block_y, block_z, smem, stream,
			      params, NULL);
}

CUresult cuLaunchCooperativeKernel_ptsz(CUfunction fn, unsigned int grid_x, unsigned int grid_y,
					unsigned int grid_z, unsigned int block_x,
					unsigned int block_y, unsigned int block_z, unsigned int smem,
					CUstream stream, void **params)
{
	return cuLaunchKernel(fn, grid_x, grid_y, grid_z, block_x, block_y, block_z, smem,
			      stream ? stream : CU_STREAM_PER_THREAD, params, NULL);
}

/* Any non-NULL handle is a graph whose work takes no time. */
CUresult cuGraphLaunch(CUgraphExec exec, CUstream stream)
{
	struct item *it;

	GUARD();
	if (!exec || !stream)
		return CUDA_ERROR_INVALID_VALUE;
	it = calloc(1, sizeof(*it));
	if (!it)
		return CUDA_ERROR_OUT_OF_MEMORY;
	it->noop = 1;
	push(stream_of(stream), it);
	return CUDA_SUCCESS;
}

CUresult cuGraphLaunch_ptsz(CUgraphExec exec, CUstream stream)
{
	return cuGraphLaunch(exec, stream ? stream : CU_STREAM_PER_THREAD);
}

CUresult cuCtxGetCurrent(CUcontext *ctx)
{
	GUARD();
	if (!ctx)
		return CUDA_ERROR_INVALID_VALUE;
	*ctx = (CUcontext)&context_token;
	return CUDA_SUCCESS;
}

/* No stream capture here: every stream runs its work, unless the test
 * says every stream is being captured (FAKE_CUDA_CAPTURING=1). */
CUresult cuStreamIsCapturing(CUstream stream, CUstreamCaptureStatus *status)
{
	/* Read once: the gate asks before every launch, and a driver's
	 * answer costs no environment scan. */
	static int all = -1;

	(void)stream;
	if (!status)
		return CUDA_ERROR_INVALID_VALUE;
	int on = __atomic_load_n(&all, __ATOMIC_RELAXED);

	if (on < 0) {
		const char *v = getenv("FAKE_CUDA_CAPTURING");

		on = v && !strcmp(v, "1");
		__atomic_store_n(&all, on, __ATOMIC_RELAXED);
	}
	*status = on ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
	return CUDA_SUCCESS;
}

CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode)
{
	static __thread CUstreamCaptureMode current = CU_STREAM_CAPTURE_MODE_GLOBAL;
	CUstreamCaptureMode was = current;

	if (!mode)
		return CUDA_ERROR_INVALID_VALUE;
	current = *mode;
	*mode = was;
	return CUDA_SUCCESS;
}

/* ---- cuGetProcAddress: the functions of this file by name ------------------ */

#define FAKE_SYM(name) { #name, (void *)name },
static const struct {
	const char *name;
	void *fn;
} symbols[] = {
	FAKE_SYM(cuInit) FAKE_SYM(cuDriverGetVersion) FAKE_SYM(cuGetErrorName)
	FAKE_SYM(cuGetErrorString) FAKE_SYM(cuDeviceGet) FAKE_SYM(cuDeviceGetCount)
	FAKE_SYM(cuDeviceGetName) FAKE_SYM(cuDeviceGetAttribute) FAKE_SYM(cuDeviceTotalMem_v2)
	FAKE_SYM(cuDevicePrimaryCtxRetain) FAKE_SYM(cuDevicePrimaryCtxRelease_v2)
	FAKE_SYM(cuCtxSetCurrent) FAKE_SYM(cuCtxGetCurrent) FAKE_SYM(cuCtxSynchronize)
	FAKE_SYM(cuCtxGetStreamPriorityRange) FAKE_SYM(cuModuleLoadData) FAKE_SYM(cuModuleUnload)
	FAKE_SYM(cuModuleGetFunction) FAKE_SYM(cuFuncGetAttribute)
	FAKE_SYM(cuOccupancyMaxActiveBlocksPerMultiprocessor) FAKE_SYM(cuStreamCreateWithPriority)
	FAKE_SYM(cuStreamDestroy_v2) FAKE_SYM(cuStreamSynchronize) FAKE_SYM(cuStreamQuery)
	FAKE_SYM(cuEventCreate) FAKE_SYM(cuEventDestroy_v2) FAKE_SYM(cuEventRecord)
	FAKE_SYM(cuEventQuery) FAKE_SYM(cuEventSynchronize) FAKE_SYM(cuEventElapsedTime)
	FAKE_SYM(cuMemAlloc_v2) FAKE_SYM(cuMemFree_v2) FAKE_SYM(cuMemcpyHtoD_v2)
	FAKE_SYM(cuMemcpyDtoH_v2) FAKE_SYM(cuMemcpyHtoDAsync_v2) FAKE_SYM(cuMemcpyDtoHAsync_v2)
	FAKE_SYM(cuMemHostRegister_v2) FAKE_SYM(cuMemHostGetDevicePointer_v2)
	FAKE_SYM(cuMemHostUnregister) FAKE_SYM(cuMemsetD32_v2) FAKE_SYM(cuLaunchKernel)
	FAKE_SYM(cuLaunchKernel_ptsz) FAKE_SYM(cuLaunchKernelEx) FAKE_SYM(cuLaunchKernelEx_ptsz)
	FAKE_SYM(cuLaunchCooperativeKernel) FAKE_SYM(cuLaunchCooperativeKernel_ptsz)
	FAKE_SYM(cuGraphLaunch) FAKE_SYM(cuGraphLaunch_ptsz) FAKE_SYM(cuGetProcAddress)
	FAKE_SYM(cuGetProcAddress_v2) FAKE_SYM(cuStreamIsCapturing)
	FAKE_SYM(cuThreadExchangeStreamCaptureMode)
};
#undef FAKE_SYM

static void *symbol(const char *name)
{
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++)
		if (!strcmp(symbols[i].name, name))
			return symbols[i].fn;
	return NULL;
}

/* As the driver does: the per-thread flavour when asked for, then the
 * newest version this file has (_v2), then the base name. */
static void *lookup(const char *base, cuuint64_t flags)
{
	char name[128];
	void *p = NULL;

	if (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) {
		snprintf(name, sizeof(name), "%s_ptsz", base);
		p = symbol(name);
	}
	if (!p) {
		snprintf(name, sizeof(name), "%s_v2", base);
		p = symbol(name);
	}
	return p ? p : symbol(base);
}

CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int version, cuuint64_t flags,
			     CUdriverProcAddressQueryResult *status)
{
	(void)version;
	if (!sym || !pfn)
		return CUDA_ERROR_INVALID_VALUE;
	*pfn = lookup(sym, flags);
	if (status)
		*status = *pfn ? CU_GET_PROC_ADDRESS_SUCCESS : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	return *pfn ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

CUresult cuGetProcAddress(const char *sym, void **pfn, int version, cuuint64_t flags)
{
	return cuGetProcAddress_v2(sym, pfn, version, flags, NULL);
}

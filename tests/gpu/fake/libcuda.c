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
CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end);

#define FAKE_SMS 16
#define FAKE_THREADS_PER_SM 1536
#define FAKE_BLOCKS_PER_SM 16
#define FAKE_PRIO_GREATEST (-5)

#define TK_OP_NAME(e, name) [e] = name,
static const char *const op_names[TK_OP__COUNT] = { TK_OPS(TK_OP_NAME) };
#undef TK_OP_NAME

struct fake_function {
	int op;
	unsigned int threads;
};

static struct fake_function functions[TK_OP__COUNT][3];

struct fake_event;

struct item {
	struct item *next;
	struct fake_event *event; /* an event record, or NULL for a launch */
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
	struct fake_stream *stream; /* where it waits; NULL once done */
	double done_at;
	int recorded;
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
	if (it->event) {
		it->event->stream = NULL;
		it->event->done_at = mono_s();
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

CUresult cuInit(unsigned int flags)
{
	(void)flags;
	initialized = 1;
	for (int op = 0; op < TK_OP__COUNT; op++)
		for (int v = 0; v < 3; v++)
			functions[op][v] = (struct fake_function){ op, 64u << v };
	return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *version)
{
	*version = 12060;
	return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult err, const char **name)
{
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
	const char *name;

	if (cuGetErrorName(err, &name) != CUDA_SUCCESS)
		return CUDA_ERROR_INVALID_VALUE;
	*text = "reported by the CPU fake driver";
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *dev, int ordinal)
{
	if (!initialized)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (ordinal != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*dev = 0;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count)
{
	*count = 1;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
	(void)dev;
	snprintf(name, (size_t)len, "triage CPU fake (16 SMs, sm_87)");
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute attr, CUdevice dev)
{
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
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	if (dev != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*bytes = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)4 << 30;
	return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev)
{
	(void)dev;
	*ctx = (CUcontext)&context_token;
	return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	(void)dev;
	return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx)
{
	(void)ctx;
	return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize(void)
{
	for (int i = 0; i < nr_streams; i++)
		while (streams[i] && step(streams[i]))
			;
	return CUDA_SUCCESS;
}

CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest)
{
	*least = 0;
	*greatest = FAKE_PRIO_GREATEST;
	return CUDA_SUCCESS;
}

CUresult cuModuleLoadData(CUmodule *mod, const void *image)
{
	(void)image;
	*mod = (CUmodule)&context_token;
	return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule mod)
{
	(void)mod;
	return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *fn, CUmodule mod, const char *name)
{
	(void)mod;
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
	(void)attr;
	*value = (int)((struct fake_function *)fn)->threads;
	return CUDA_SUCCESS;
}

/* Like Ampere: limited by threads, at most 16 blocks. */
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, CUfunction fn, int block_size,
						     size_t dyn_smem)
{
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
	while (step((struct fake_stream *)stream))
		;
	return CUDA_SUCCESS;
}

CUresult cuStreamQuery(CUstream stream)
{
	struct fake_stream *s = (struct fake_stream *)stream;

	step(s);
	return s->head ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent *event, unsigned int flags)
{
	(void)flags;
	*event = (CUevent)calloc(1, sizeof(struct fake_event));
	return *event ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult cuEventDestroy_v2(CUevent event)
{
	struct fake_event *e = (struct fake_event *)event;

	/* Pending records of it would dangle: finish its stream first. */
	if (e->stream)
		while (step(e->stream))
			;
	free(e);
	return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent event, CUstream stream)
{
	struct fake_event *e = (struct fake_event *)event;
	struct item *it;

	/* A re-record before the last one finished moves it: finish that. */
	if (e->stream)
		while (e->stream && step(e->stream))
			;
	it = calloc(1, sizeof(*it));
	if (!it)
		return CUDA_ERROR_OUT_OF_MEMORY;
	it->event = e;
	e->stream = (struct fake_stream *)stream;
	e->recorded = 1;
	push(e->stream, it);
	return CUDA_SUCCESS;
}

CUresult cuEventQuery(CUevent event)
{
	struct fake_event *e = (struct fake_event *)event;

	if (e->stream)
		step(e->stream);
	return e->stream ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent event)
{
	struct fake_event *e = (struct fake_event *)event;

	while (e->stream)
		step(e->stream);
	return CUDA_SUCCESS;
}

CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end)
{
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
	void *p = aligned_alloc(256, (bytes + 255) / 256 * 256);

	if (!p)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*ptr = (CUdeviceptr)(uintptr_t)p;
	return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr ptr)
{
	free((void *)(uintptr_t)ptr);
	return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes)
{
	cuCtxSynchronize();
	memcpy((void *)(uintptr_t)dst, src, bytes);
	return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes)
{
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
	return push_copy((void *)(uintptr_t)dst, src, bytes, stream);
}

CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes, CUstream stream)
{
	return push_copy(dst, (const void *)(uintptr_t)src, bytes, stream);
}

/* Host memory is device memory here: registering only checks the call. */
CUresult cuMemHostRegister_v2(void *p, size_t bytes, unsigned int flags)
{
	(void)flags;
	return p && bytes ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* Registered memory maps at the same address: the fake's device memory
 * is host memory. */
CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *dptr, void *p, unsigned int flags)
{
	if (!dptr || !p || flags)
		return CUDA_ERROR_INVALID_VALUE;
	*dptr = (CUdeviceptr)(uintptr_t)p;
	return CUDA_SUCCESS;
}

CUresult cuMemHostUnregister(void *p)
{
	return p ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int value, size_t count)
{
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
	memcpy(&it->slice, params[0], sizeof(it->slice));
	memcpy(&it->args, params[1], tk_args_size(f->op));
	push((struct fake_stream *)stream, it);
	return CUDA_SUCCESS;
}

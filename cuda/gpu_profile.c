// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Measuring the GPU for the planner (gpu_profile.h).
 *
 * The planner sees a GPU as one unit: a whole-GPU rate per op class, a
 * fixed cost per layer, a memory bandwidth, and a hand-over cost each way
 * to every CPU unit (docs/platforms.md). Each is measured the way gpud
 * runs stages, on the kernels it runs:
 *  - op-class rates from the GPU time of every layer of whole inferences
 *    (CUDA events between layers), every kernel whole on one stream as a
 *    critical stage runs, so the rates are what these kernels reach on
 *    these shapes, not a peak;
 *  - the fixed cost from back-to-back launches of a one-block kernel: in
 *    a stage, launches follow each other the same way;
 *  - bandwidth from the copy kernel over a tensor far past the L2;
 *  - hand-overs from the driver's copies between registered host memory
 *    (gpud registers each client's file) and the device, issued from a
 *    thread on each CPU unit, timed to completion on the host, since that
 *    is when the next stage may start.
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cpulist.h"
#include "errbuf.h"
#include "fsutil.h"
#include "gpu_dnn.h"
#include "gpu_profile.h"
#include "platform.h"
#include "quantile.h"
#include "zoo.h"

#define PROFILE_RUNS 5
#define PROFILE_WARMUP_S 0.5 /* GPU clocks ramp up; the first run pays lazy loading */
#define PROFILE_COPY_BYTES ((size_t)64 << 20) /* in and out: past any edge GPU's L2 */
#define PROFILE_XFER_BYTES ((size_t)4 << 20)
#define PROFILE_SMALL_XFER 4096 /* the fixed cost of a hand-over */
#define PROFILE_LAUNCHES 200
#define PROFILE_BATCHES 3 /* of launches, median */
#define PROFILE_MAX_MODELS 4
#define PROFILE_SEED 1 /* weights need only be the same every run */
#define COPY_CHANNELS 64
/* The profile reader's ceiling for a file is 1 MiB. */
#define PROFILE_MAX_TEXT (1024 * 1024)
/* Marks the part of a "why" string this file writes, so that a second run
 * replaces its own words instead of adding to them. */
#define WHY_XFER_MARK " GPU hand-overs (triage-gpud --profile): "
#define WHY_DRAM_MARK " Raised by triage-gpud --profile: "
#define SOURCE_LINE "measured on this machine by triage-gpud --profile (docs/gpud.md)"

static const char *const default_models[] = { "resnet18", "mobilenetv2" };
static const char *const op_keys[PLAN_OP__COUNT] = { "conv", "dwconv", "fc", "pool", "eltwise" };

struct amounts {
	const char *models_dir;
	const char *models[PROFILE_MAX_MODELS];
	int nr_models, runs, launches;
	double warmup_s;
	size_t copy_bytes, xfer_bytes;
};

struct gpu_figures {
	double gflops[PLAN_OP__COUNT];
	int layers[PLAN_OP__COUNT];	/* that gave each rate; 0: borrowed */
	double inference_ms[PROFILE_MAX_MODELS]; /* sum of the layers' medians */
	double launch_us, mem_gbps, mem_mb;
	char mem_why[256];
	int integrated; /* -1 unknown */
	bool pinned;	/* the hand-over buffer was registered */
	/* Per unit index of the profile: CPU -> GPU and GPU -> CPU. */
	double h2d_gbps[PLAN_MAX_UNITS], h2d_us[PLAN_MAX_UNITS];
	double d2h_gbps[PLAN_MAX_UNITS], d2h_us[PLAN_MAX_UNITS];
};

/* The profile being extended: its JSON, what the reader made of it, and
 * where its GPU unit was. */
struct base {
	struct json_object *root;
	struct plan_platform p;
	bool existed, measured;
	int gpu_index;		    /* in "units", -1 for none */
	char gpu_name[PLAN_NAME_MAX]; /* the unit replaced */
	double gpu_mem_mb;
};

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static double round3(double v)
{
	return round(v * 1000) / 1000;
}

/* Written as a person would, "0.9" and not json-c's "0.90000000000000002":
 * the profile is read and edited by hand too. */
static struct json_object *jnum_prec(double v, int decimals)
{
	char text[64];
	size_t len;

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	if (strchr(text, '.')) {
		len = strlen(text);
		while (text[len - 1] == '0')
			text[--len] = '\0';
		if (text[len - 1] == '.')
			text[--len] = '\0';
	}
	return json_object_new_double_s(v, text);
}

static struct json_object *jnum(double v)
{
	return jnum_prec(round3(v), 3);
}

/* "4 KiB", "64 MiB": sizes as the why strings give them. */
static const char *size_text(size_t bytes, char buf[32])
{
	if (bytes >= (1u << 20) && !(bytes % (1u << 20)))
		snprintf(buf, 32, "%zu MiB", bytes >> 20);
	else if (bytes >= 1024 && !(bytes % 1024))
		snprintf(buf, 32, "%zu KiB", bytes >> 10);
	else
		snprintf(buf, 32, "%zu bytes", bytes);
	return buf;
}

static const char *plural(int n)
{
	return n == 1 ? "" : "s";
}

static int fail_cu(CUresult r, char *err, size_t errlen, const char *fmt, const char *arg)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, arg);
	cudrv_fail(r, err, errlen, what);
	return -1;
}

/* ---- layers ---------------------------------------------------------------- */

/* Records ev[i] before layer i's first kernel and ev[n] after the last:
 * gpu_dnn lays out kernels in layer order, every layer at least one. */
static int launch_timed(struct gpu_device *g, const struct gpu_dnn *d, CUstream s, CUevent *ev,
			char *err, size_t errlen)
{
	CUresult r = cu.EventRecord(ev[0], s);

	if (r != CUDA_SUCCESS)
		return fail_cu(r, err, errlen, "%s: cuEventRecord", d->name);
	for (int k = 0; k < d->nr_kernels; k++) {
		const struct gpu_kernel *kn = &d->kernels[k];

		if (gpu_launch_whole(g, kn->launch.op, kn->logical_blocks, &kn->launch.args, s, err,
				     errlen))
			return -1;
		if (k + 1 < d->nr_kernels && d->kernels[k + 1].layer == kn->layer)
			continue;
		r = cu.EventRecord(ev[kn->layer + 1], s);
		if (r != CUDA_SUCCESS)
			return fail_cu(r, err, errlen, "%s: cuEventRecord", d->name);
	}
	r = cu.EventSynchronize(ev[d->model->nr_layers]);
	return r == CUDA_SUCCESS ? 0 : fail_cu(r, err, errlen, "%s: cuEventSynchronize", d->name);
}

/* Median GPU time of every layer over a->runs inferences, in ms. */
static int time_layers(struct gpu_device *g, const struct gpu_dnn *d, CUstream s,
		       const struct amounts *a, double *layer_ms, char *err, size_t errlen)
{
	int n = d->model->nr_layers, made = 0, ret = -1;
	CUevent *ev = calloc((size_t)n + 1, sizeof(*ev));
	double *t = calloc((size_t)a->runs * (size_t)n, sizeof(*t));
	double start;

	if (!ev || !t) {
		set_error(err, errlen, "%s: out of memory", d->name);
		goto out;
	}
	for (int k = 0; k < d->nr_kernels; k++) {
		int prev = k ? d->kernels[k - 1].layer : -1, now = d->kernels[k].layer;

		if (now != prev && now != prev + 1) {
			set_error(err, errlen, "%s: kernel %d computes layer %d after layer %d: not in layer order",
				  d->name, k, now, prev);
			goto out;
		}
	}
	if (!d->nr_kernels || d->kernels[d->nr_kernels - 1].layer != n - 1) {
		set_error(err, errlen, "%s: its kernels do not cover all %d layers", d->name, n);
		goto out;
	}
	for (; made <= n; made++) {
		CUresult r = cu.EventCreate(&ev[made], CU_EVENT_DEFAULT);

		if (r != CUDA_SUCCESS) {
			fail_cu(r, err, errlen, "%s: cuEventCreate", d->name);
			goto out;
		}
	}
	start = mono_s();
	do {
		if (launch_timed(g, d, s, ev, err, errlen))
			goto out;
	} while (mono_s() - start < a->warmup_s);
	for (int run = 0; run < a->runs; run++) {
		if (launch_timed(g, d, s, ev, err, errlen))
			goto out;
		for (int i = 0; i < n; i++) {
			float ms = 0;
			CUresult r = cu.EventElapsedTime(&ms, ev[i], ev[i + 1]);

			if (r != CUDA_SUCCESS) {
				fail_cu(r, err, errlen, "%s: cuEventElapsedTime", d->name);
				goto out;
			}
			t[(size_t)i * a->runs + run] = ms;
		}
	}
	for (int i = 0; i < n; i++)
		layer_ms[i] = quantile_median(&t[(size_t)i * a->runs], (size_t)a->runs);
	ret = 0;
out:
	for (int i = 0; i < made; i++)
		cu.EventDestroy(ev[i]);
	free(ev);
	free(t);
	return ret;
}

static int measure_models(struct gpu_device *g, CUstream s, const struct amounts *a,
			  struct gpu_figures *f, bool verbose, char *err, size_t errlen)
{
	double flops[PLAN_OP__COUNT] = { 0 }, ms[PLAN_OP__COUNT] = { 0 }, lowest = 0;
	struct plan_model *pm = calloc(1, sizeof(*pm));
	double *layer_ms = calloc(DNN_MAX_LAYERS, sizeof(*layer_ms));
	int ret = -1;

	if (!pm || !layer_ms) {
		set_error(err, errlen, "out of memory");
		goto out;
	}
	for (int k = 0; k < a->nr_models; k++) {
		struct gpu_dnn d;

		if (gpu_dnn_load(g, a->models_dir, a->models[k], PROFILE_SEED, &d, err, errlen))
			goto out;
		if (zoo_to_plan_model(d.model, pm, err, errlen) ||
		    time_layers(g, &d, s, a, layer_ms, err, errlen)) {
			gpu_dnn_free(&d);
			goto out;
		}
		for (int i = 0; i < pm->nr_layers; i++) {
			const struct plan_layer *l = &pm->layers[i];

			f->inference_ms[k] += layer_ms[i];
			/* Data movement (concat, slice, upsample) has no
			 * FLOPs: the planner costs it by its bytes. */
			if (l->flops <= 0)
				continue;
			flops[l->op] += l->flops;
			ms[l->op] += layer_ms[i];
			f->layers[l->op]++;
		}
		if (verbose)
			fprintf(stderr, "triage-gpud:   %s: %.3f ms of GPU time per inference, %d kernels\n",
				d.name, f->inference_ms[k], d.nr_kernels);
		gpu_dnn_free(&d);
	}
	for (int op = 0; op < PLAN_OP__COUNT; op++) {
		if (ms[op] > 0 && flops[op] > 0) {
			f->gflops[op] = clamp(flops[op] / (ms[op] * 1e6), 0.01, 1e6);
			if (!lowest || f->gflops[op] < lowest)
				lowest = f->gflops[op];
		} else {
			f->layers[op] = 0;
		}
	}
	if (!lowest) {
		set_error(err, errlen, "%s: no layer took measurable GPU time", a->models[0]);
		goto out;
	}
	/* A class the models lack (none with the default two) borrows
	 * eltwise's rate, else the lowest one: the planner needs all five. */
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		if (!f->layers[op])
			f->gflops[op] = f->layers[PLAN_OP_ELTWISE] ? f->gflops[PLAN_OP_ELTWISE]
								   : lowest;
	ret = 0;
out:
	free(pm);
	free(layer_ms);
	return ret;
}

/* ---- fixed cost and bandwidth -------------------------------------------- */

static int measure_launch(struct gpu_device *g, CUstream s, const struct amounts *a,
			  struct gpu_figures *f, char *err, size_t errlen)
{
	struct tk_eltwise_args args = { .n = TK_LOGICAL_THREADS, .c = TK_LOGICAL_THREADS };
	double batch_us[PROFILE_BATCHES];
	CUdeviceptr buf = 0;
	CUresult r;
	int ret = -1;

	r = cu.MemAlloc(&buf, 2 * TK_LOGICAL_THREADS * sizeof(float));
	if (r != CUDA_SUCCESS)
		return fail_cu(r, err, errlen, "%s", "launch cost: cuMemAlloc");
	/* The memset runs on the legacy stream, which a non-blocking
	 * stream does not wait for. */
	r = cu.MemsetD32(buf, 0, 2 * TK_LOGICAL_THREADS);
	if (r == CUDA_SUCCESS)
		r = cu.CtxSynchronize();
	if (r != CUDA_SUCCESS) {
		fail_cu(r, err, errlen, "%s", "launch cost: cuMemsetD32");
		goto out;
	}
	args.a = args.b = buf;
	args.out = buf + TK_LOGICAL_THREADS * sizeof(float);
	/* One batch unmeasured: the first launches of a kernel pay its load. */
	for (int b = -1; b < PROFILE_BATCHES; b++) {
		uint64_t t0 = mono_ns();

		for (int i = 0; i < a->launches; i++)
			if (gpu_launch_whole(g, TK_ADD, 1, &args, s, err, errlen))
				goto out;
		r = cu.StreamSynchronize(s);
		if (r != CUDA_SUCCESS) {
			fail_cu(r, err, errlen, "%s", "launch cost: cuStreamSynchronize");
			goto out;
		}
		if (b >= 0)
			batch_us[b] = (double)(mono_ns() - t0) / 1e3 / a->launches;
	}
	f->launch_us = clamp(quantile_median(batch_us, PROFILE_BATCHES), 0, 1e6);
	ret = 0;
out:
	cu.MemFree(buf);
	return ret;
}

static int measure_bandwidth(struct gpu_device *g, CUstream s, const struct amounts *a,
			     struct gpu_figures *f, char *err, size_t errlen)
{
	size_t elems = a->copy_bytes / sizeof(float) / COPY_CHANNELS * COPY_CHANNELS;
	size_t bytes = elems * sizeof(float);
	struct tk_copy_args args = { .h = (int32_t)(elems / COPY_CHANNELS), .w = 1,
				     .in_c = COPY_CHANNELS, .out_c = COPY_CHANNELS,
				     .nr_c = COPY_CHANNELS, .scale = 1 };
	double *ms = calloc((size_t)a->runs, sizeof(*ms));
	CUdeviceptr in = 0, out = 0;
	CUevent ev[2] = { 0, 0 };
	uint32_t blocks;
	CUresult r;
	int ret = -1;

	if (!ms) {
		set_error(err, errlen, "bandwidth: out of memory");
		return -1;
	}
	if ((r = cu.MemAlloc(&in, bytes)) != CUDA_SUCCESS ||
	    (r = cu.MemAlloc(&out, bytes)) != CUDA_SUCCESS) {
		fail_cu(r, err, errlen, "bandwidth: cuMemAlloc of %s", "two tensors");
		goto out;
	}
	/* Touched first, so that no page is mapped in while timed, and
	 * waited for: the memsets run on the legacy stream. */
	if ((r = cu.MemsetD32(in, 0, elems)) != CUDA_SUCCESS ||
	    (r = cu.MemsetD32(out, 0, elems)) != CUDA_SUCCESS ||
	    (r = cu.CtxSynchronize()) != CUDA_SUCCESS) {
		fail_cu(r, err, errlen, "%s", "bandwidth: cuMemsetD32");
		goto out;
	}
	for (int i = 0; i < 2; i++)
		if ((r = cu.EventCreate(&ev[i], CU_EVENT_DEFAULT)) != CUDA_SUCCESS) {
			fail_cu(r, err, errlen, "%s", "bandwidth: cuEventCreate");
			goto out;
		}
	args.in = in;
	args.out = out;
	blocks = tk_args_logical_blocks(TK_COPY_CHANNELS, &args);
	for (int run = -1; run < a->runs; run++) {
		float t = 0;

		if ((r = cu.EventRecord(ev[0], s)) != CUDA_SUCCESS ||
		    gpu_launch_whole(g, TK_COPY_CHANNELS, blocks, &args, s, err, errlen) ||
		    (r = cu.EventRecord(ev[1], s)) != CUDA_SUCCESS ||
		    (r = cu.EventSynchronize(ev[1])) != CUDA_SUCCESS ||
		    (r = cu.EventElapsedTime(&t, ev[0], ev[1])) != CUDA_SUCCESS) {
			if (r != CUDA_SUCCESS)
				fail_cu(r, err, errlen, "%s", "bandwidth: the copy kernel's events");
			goto out;
		}
		if (run >= 0)
			ms[run] = t;
	}
	{
		double med = quantile_median(ms, (size_t)a->runs);

		if (!(med > 0)) {
			set_error(err, errlen, "bandwidth: the copy kernel took no measurable time");
			goto out;
		}
		f->mem_gbps = clamp(2.0 * (double)bytes / (med * 1e6), 0.01, 1e4);
	}
	ret = 0;
out:
	for (int i = 0; i < 2; i++)
		if (ev[i])
			cu.EventDestroy(ev[i]);
	if (in)
		cu.MemFree(in);
	if (out)
		cu.MemFree(out);
	free(ms);
	return ret;
}

/* mem_mb, the knapsack baselines' capacity: 80% of the device's memory
 * (Ibis' rule), half of that where the CPUs share it (as the shipped
 * profiles split an integrated board's). */
static void measure_memory(struct gpu_device *g, const struct base *b, struct gpu_figures *f)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	double share = f->integrated == 0 ? 0.8 : 0.4;
	size_t bytes = 0;

	if (cu.DeviceTotalMem && cu.DeviceTotalMem(&bytes, g->dev) == CUDA_SUCCESS && bytes) {
		f->mem_mb = share * (double)bytes / (1 << 20);
		snprintf(f->mem_why, sizeof(f->mem_why),
			 "%s of the %.0f MiB cuDeviceTotalMem reports%s (Ibis' 80%% rule)",
			 f->integrated == 0 ? "80%" : "half of 80%", (double)bytes / (1 << 20),
			 f->integrated == 0 ? "" : ", memory the CPUs share");
	} else if (b->gpu_index >= 0 && b->gpu_mem_mb > 0) {
		f->mem_mb = b->gpu_mem_mb;
		snprintf(f->mem_why, sizeof(f->mem_why),
			 "kept from the unit replaced: this driver has no cuDeviceTotalMem");
	} else {
		f->mem_mb = 0.4 * (pages > 0 && page > 0 ? (double)pages * page : 4.0 * (1 << 30)) /
			    (1 << 20);
		snprintf(f->mem_why, sizeof(f->mem_why),
			 "this driver has no cuDeviceTotalMem: half of 80%% of physical memory, as for a GPU that shares it");
	}
	f->mem_mb = clamp(f->mem_mb, 1, 1e8);
}

/* ---- hand-overs -------------------------------------------------------------- */

/* Host time of one copy to completion, median over n, in us. */
static int time_copy(CUstream s, bool to_device, CUdeviceptr dev, void *host, size_t bytes,
		     int n, double *us, char *err, size_t errlen)
{
	double *t = calloc((size_t)n, sizeof(*t));

	if (!t) {
		set_error(err, errlen, "hand-over: out of memory");
		return -1;
	}
	for (int i = -1; i < n; i++) {
		uint64_t t0 = mono_ns();
		CUresult r = to_device ? cu.MemcpyHtoDAsync(dev, host, bytes, s)
				       : cu.MemcpyDtoHAsync(host, dev, bytes, s);

		if (r == CUDA_SUCCESS)
			r = cu.StreamSynchronize(s);
		if (r != CUDA_SUCCESS) {
			free(t);
			return fail_cu(r, err, errlen, "hand-over: %s", to_device ? "cuMemcpyHtoDAsync"
										  : "cuMemcpyDtoHAsync");
		}
		if (i >= 0)
			t[i] = (double)(mono_ns() - t0) / 1e3;
	}
	*us = quantile_median(t, (size_t)n);
	free(t);
	return 0;
}

/* gbps and us of one direction: the fixed cost is the small copy's, the
 * rate what the large one adds to it (the planner adds them back up). */
static int time_direction(CUstream s, bool to_device, CUdeviceptr dev, void *host,
			  const struct amounts *a, double *gbps, double *us, char *err,
			  size_t errlen)
{
	double small, large, extra;

	if (time_copy(s, to_device, dev, host, PROFILE_SMALL_XFER, a->launches, &small, err,
		      errlen) ||
	    time_copy(s, to_device, dev, host, a->xfer_bytes, a->runs, &large, err, errlen))
		return -1;
	extra = large - small > 0.05 * large ? large - small : large;
	*gbps = clamp((double)a->xfer_bytes / (extra * 1e3), 0.001, 1e4);
	*us = clamp(small, 0, 1e6);
	return 0;
}

static int measure_handovers(CUstream s, const struct base *b, const struct amounts *a,
			     struct gpu_figures *f, bool verbose, char *err, size_t errlen)
{
	void *host = aligned_alloc(4096, a->xfer_bytes);
	CUdeviceptr dev = 0;
	cpu_set_t saved;
	bool have_saved = !sched_getaffinity(0, sizeof(saved), &saved);
	CUresult r;
	int ret = -1;

	if (!host) {
		set_error(err, errlen, "hand-over: out of memory");
		return -1;
	}
	memset(host, 1, a->xfer_bytes);
	/* As gpud registers each client's file; pageable where the driver
	 * refuses, as gpud then runs too. */
	f->pinned = cu.MemHostRegister(host, a->xfer_bytes, 0) == CUDA_SUCCESS;
	r = cu.MemAlloc(&dev, a->xfer_bytes);
	if (r != CUDA_SUCCESS) {
		fail_cu(r, err, errlen, "%s", "hand-over: cuMemAlloc");
		goto out;
	}
	for (int u = 0; u < b->p.nr_units; u++) {
		const struct plan_unit *unit = &b->p.units[u];
		cpu_set_t cpus;

		if (unit->kind != PLAN_UNIT_CPU || unit->aggregate)
			continue;
		/* From the unit's own cores: a LITTLE core copies slower. A
		 * profile of other clusters gets every CPU (the reader's
		 * rule), and a refused pinning measures from where we are. */
		if (platform_unit_cpus(&b->p, u, &cpus) >= 0)
			sched_setaffinity(0, sizeof(cpus), &cpus);
		if (time_direction(s, true, dev, host, a, &f->h2d_gbps[u], &f->h2d_us[u], err,
				   errlen) ||
		    time_direction(s, false, dev, host, a, &f->d2h_gbps[u], &f->d2h_us[u], err,
				   errlen))
			goto out;
		if (verbose)
			fprintf(stderr,
				"triage-gpud:   %s -> gpu %.2f GB/s + %.1f us, gpu -> %s %.2f GB/s + %.1f us (%s)\n",
				unit->name, f->h2d_gbps[u], f->h2d_us[u], unit->name,
				f->d2h_gbps[u], f->d2h_us[u], f->pinned ? "registered host memory" : "pageable host memory");
	}
	ret = 0;
out:
	if (have_saved)
		sched_setaffinity(0, sizeof(saved), &saved);
	if (dev)
		cu.MemFree(dev);
	if (f->pinned)
		cu.MemHostUnregister(host);
	free(host);
	return ret;
}

/* ---- the profile to extend ----------------------------------------------------- */

/* The file's stem when the reader takes it as a name, else "host": a new
 * profile must be named as its file for platform_load_file(). */
static void stem_name(const char *path, char out[PLAN_NAME_MAX])
{
	const char *b = path_base(path);
	size_t len = strlen(b);
	bool ok;

	if (len > 5 && !strcmp(b + len - 5, ".json"))
		len -= 5;
	ok = len > 0 && len < PLAN_NAME_MAX;
	for (size_t i = 0; ok && i < len; i++) {
		char c = b[i];

		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		     ((c == '-' || c == '_') && i);
	}
	snprintf(out, PLAN_NAME_MAX, "%.*s", ok ? (int)len : 4, ok ? b : "host");
}

static void add_string(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s));
}

/* A new profile: the CPU clusters platform_detect_host() reads from sysfs,
 * said to be estimates at every figure. Where the GPU shares the memory
 * (or may), the clusters get half of what DNNs may use, as the shipped
 * profiles of boards with a GPU split it; measure_memory() gives the GPU
 * the other half. */
static struct json_object *detected_json(const struct plan_platform *p, const char *name,
					 int integrated)
{
	static const char *const estimate =
		"not measured: platform_detect_host()'s estimate from sysfs (docs/platforms.md, section host); triage-run --profile measures it";
	struct json_object *root = json_object_new_object(), *units = json_object_new_array(),
			   *transfers = json_object_new_object(), *why = json_object_new_object(),
			   *sources = json_object_new_array();
	char text[256];
	int nr_cpu = 0;

	add_string(root, "name", name);
	for (int u = 0; u < p->nr_units; u++)
		nr_cpu += p->units[u].kind == PLAN_UNIT_CPU && !p->units[u].aggregate;
	snprintf(text, sizeof(text), "this machine: %d CPU cluster%s (sysfs estimates) and its GPU",
		 nr_cpu, plural(nr_cpu));
	add_string(root, "description", text);
	json_object_object_add(root, "measured", json_object_new_boolean(0));
	add_string(root, "note",
		   "CPU units are sysfs estimates: run triage-run --profile (it writes CPU units only), then triage-gpud --profile again");
	json_object_object_add(root, "dram_gbps", jnum(p->dram_gbps));
	for (int u = 0; u < p->nr_units; u++) {
		const struct plan_unit *unit = &p->units[u];
		struct json_object *o, *g, *uwhy, *row;
		char cpus_text[256] = "";
		cpu_set_t cpus;

		if (unit->kind != PLAN_UNIT_CPU || unit->aggregate)
			continue;
		o = json_object_new_object();
		g = json_object_new_object();
		uwhy = json_object_new_object();
		add_string(o, "name", unit->name);
		add_string(o, "kind", "cpu");
		json_object_object_add(o, "cores", json_object_new_int(unit->cores));
		for (int op = 0; op < PLAN_OP__COUNT; op++)
			json_object_object_add(g, op_keys[op], jnum(unit->gflops[op]));
		json_object_object_add(o, "gflops", g);
		json_object_object_add(o, "parallel_eff", jnum(unit->parallel_eff));
		json_object_object_add(o, "mem_gbps", jnum(unit->mem_gbps));
		json_object_object_add(o, "launch_us", jnum(unit->launch_us));
		json_object_object_add(o, "mem_mb",
				       jnum_prec(round(unit->mem_mb * (integrated ? 0.5 : 1)), 0));
		add_string(uwhy, "kind", "a CPU cluster (cpufreq policy)");
		if (platform_unit_cpus(p, u, &cpus) >= 0)
			cpulist_format(&cpus, cpus_text, sizeof(cpus_text));
		snprintf(text, sizeof(text), "CPUs %s", cpus_text[0] ? cpus_text : "?");
		add_string(uwhy, "cores", text);
		add_string(uwhy, "gflops", estimate);
		add_string(uwhy, "parallel_eff", estimate);
		add_string(uwhy, "mem_gbps", estimate);
		add_string(uwhy, "launch_us", estimate);
		add_string(uwhy, "mem_mb",
			   integrated ? "80% of physical memory (Ibis' feasibility rule), half of it to the GPU that shares it, the rest split by cores"
				      : "80% of physical memory, split by cores (Ibis' feasibility rule)");
		json_object_object_add(o, "why", uwhy);
		json_object_array_add(units, o);
		row = json_object_new_object();
		for (int v = 0; v < p->nr_units; v++) {
			struct json_object *cell;

			if (v == u || p->units[v].kind != PLAN_UNIT_CPU || p->units[v].aggregate)
				continue;
			cell = json_object_new_object();
			json_object_object_add(cell, "gbps", jnum(p->xfer_gbps[u][v]));
			json_object_object_add(cell, "us", jnum(p->xfer_us[u][v]));
			json_object_object_add(row, p->units[v].name, cell);
		}
		json_object_object_add(transfers, unit->name, row);
	}
	json_object_object_add(root, "units", units);
	json_object_object_add(root, "transfers", transfers);
	add_string(why, "dram_gbps", "not measured: the CPU clusters' estimated bandwidths summed (platform_detect_host())");
	add_string(why, "transfers",
		   "CPU to CPU not measured: the slower cluster's bandwidth after a 10 us wake-up (platform_detect_host()).");
	json_object_object_add(root, "why", why);
	json_object_array_add(sources, json_object_new_string(
					       "platform_detect_host(): CPU figures estimated from sysfs (docs/platforms.md, section host)"));
	json_object_object_add(root, "sources", sources);
	return root;
}

/* The profile at path, or a detected one when there is none. An existing
 * file that the reader refuses is an error: it would be lost otherwise. */
static int load_base(const char *path, int integrated, struct base *b, char *err, size_t errlen)
{
	struct platform_info info;
	char *text, name[PLAN_NAME_MAX];
	int nr_gpu = 0, file_index = 0, ret;

	memset(b, 0, sizeof(*b));
	b->gpu_index = -1;
	ret = read_file_alloc(path, PROFILE_MAX_TEXT, &text, NULL);
	if (ret == -EFBIG) {
		set_error(err, errlen, "%s: larger than 1 MiB, not a profile", path);
		return -1;
	}
	if (ret == -ENOENT) {
		if (platform_detect_host(&b->p, err, errlen))
			return -1;
		stem_name(path, name);
		snprintf(b->p.name, sizeof(b->p.name), "%s", name);
		b->root = detected_json(&b->p, name, integrated);
		return 0;
	}
	if (ret) {
		set_error(err, errlen, "%s: %s", path,
			  ret == -EIO ? "read error" : ret == -ENOMEM ? "out of memory" : strerror(-ret));
		return -1;
	}
	b->existed = true;
	if (platform_parse(text, path_base(path), &b->p, &info, err, errlen)) {
		free(text);
		return -1;
	}
	b->root = json_tokener_parse(text);
	free(text);
	if (!b->root) {
		set_error(err, errlen, "%s: json-c cannot read what the profile reader took", path);
		return -1;
	}
	b->measured = info.measured;
	for (int u = 0; u < b->p.nr_units; u++) {
		if (b->p.units[u].aggregate)
			continue;
		if (b->p.units[u].kind == PLAN_UNIT_GPU) {
			nr_gpu++;
			b->gpu_index = file_index;
			snprintf(b->gpu_name, sizeof(b->gpu_name), "%s", b->p.units[u].name);
			b->gpu_mem_mb = b->p.units[u].mem_mb;
		}
		file_index++;
	}
	if (nr_gpu > 1) {
		set_error(err, errlen,
			  "%s: units: %d GPU units; triage-gpud --profile measures one GPU into one unit: remove the others first",
			  path, nr_gpu);
		return -1;
	}
	return 0;
}

/* ---- writing the GPU in -------------------------------------------------------- */

static struct json_object *gpu_unit_json(const struct gpu_device *g, const struct amounts *a,
					 const struct gpu_figures *f)
{
	struct json_object *o = json_object_new_object(), *gf = json_object_new_object(),
			   *why = json_object_new_object();
	char text[1024], models[160] = "", classes[256] = "", size[32];
	size_t used = 0;

	for (int k = 0; k < a->nr_models; k++)
		used += snprintf(models + used, used < sizeof(models) ? sizeof(models) - used : 0,
				 "%s%s (%.3f ms of GPU time)", k ? (k + 1 == a->nr_models ? " and " : ", ") : "",
				 a->models[k], f->inference_ms[k]);
	used = 0;
	for (int op = 0; op < PLAN_OP__COUNT; op++) {
		char one[64];

		if (f->layers[op])
			snprintf(one, sizeof(one), "%s %d layer%s", op_keys[op], f->layers[op],
				 plural(f->layers[op]));
		else
			snprintf(one, sizeof(one), "%s none: borrowed %s", op_keys[op],
				 f->layers[PLAN_OP_ELTWISE] ? "eltwise's rate" : "the lowest rate");
		used += snprintf(classes + used,
				 used < sizeof(classes) ? sizeof(classes) - used : 0, "%s%s",
				 op ? ", " : "", one);
	}
	add_string(o, "name", GPU_PROFILE_UNIT);
	add_string(o, "kind", "gpu");
	json_object_object_add(o, "cores", json_object_new_int(g->nr_sms));
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		json_object_object_add(gf, op_keys[op], jnum(f->gflops[op]));
	json_object_object_add(o, "gflops", gf);
	json_object_object_add(o, "parallel_eff", json_object_new_int(1));
	json_object_object_add(o, "mem_gbps", jnum(f->mem_gbps));
	json_object_object_add(o, "launch_us", jnum(f->launch_us));
	json_object_object_add(o, "mem_mb", jnum_prec(round(f->mem_mb), 0));
	snprintf(text, sizeof(text), "CUDA device %d, %.100s, sm_%d%d, %s", g->ordinal, g->name,
		 g->cc_major, g->cc_minor,
		 f->integrated < 0 ? "integrated or discrete unknown"
		 : f->integrated   ? "integrated (host memory shared)"
				   : "discrete");
	add_string(why, "kind", text);
	add_string(why, "cores", "the device's SMs (CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)");
	snprintf(text, sizeof(text),
		 "measured by triage-gpud --profile on %.100s: whole GPU, FLOPs / GPU time per op class over the layers of %s, each layer's time between CUDA events, median of %d inference%s, every kernel whole on one stream (triage's elastic kernels, FP32); %s",
		 g->name, models, a->runs, plural(a->runs), classes);
	add_string(why, "gflops", text);
	add_string(why, "parallel_eff", "unused on a GPU: gflops are the whole unit's");
	snprintf(text, sizeof(text),
		 "measured by triage-gpud --profile on %.100s: the copy_channels kernel over a %s tensor, bytes read + written / GPU time, median of %d run%s",
		 g->name, size_text(a->copy_bytes, size), a->runs, plural(a->runs));
	add_string(why, "mem_gbps", text);
	snprintf(text, sizeof(text),
		 "measured by triage-gpud --profile on %.100s: %d back-to-back launches of a one-block kernel on one stream, host time to completion / %d, median of %d batches",
		 g->name, a->launches, a->launches, PROFILE_BATCHES);
	add_string(why, "launch_us", text);
	add_string(why, "mem_mb", f->mem_why);
	json_object_object_add(o, "why", why);
	return o;
}

static struct json_object *get_or_add_object(struct json_object *parent, const char *key)
{
	struct json_object *o;

	if (json_object_object_get_ex(parent, key, &o) && json_object_is_type(o, json_type_object))
		return o;
	o = json_object_new_object();
	json_object_object_add(parent, key, o);
	return o;
}

/* why[key] = its text up to our mark, then the mark and ours. */
static void why_append(struct json_object *why, const char *key, const char *mark, const char *ours)
{
	struct json_object *old;
	char text[2048];
	const char *was = "";
	int keep;

	if (json_object_object_get_ex(why, key, &old) && json_object_is_type(old, json_type_string))
		was = json_object_get_string(old);
	keep = strstr(was, mark) ? (int)(strstr(was, mark) - was) : (int)strlen(was);
	/* Ours is a sentence of its own after theirs. */
	snprintf(text, sizeof(text), "%.*s%s%s%s", keep, was,
		 keep && !strchr(".;:", was[keep - 1]) ? "." : "", keep ? mark : mark + 1, ours);
	add_string(why, key, text);
}

static void cell(struct json_object *row, const char *to, double gbps, double us)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(c, "gbps", jnum(gbps));
	json_object_object_add(c, "us", jnum(us));
	json_object_object_add(row, to, c);
}

static void merge_gpu(struct base *b, const struct gpu_device *g, const struct amounts *a,
		      const struct gpu_figures *f)
{
	struct json_object *root = b->root, *units, *transfers, *why, *sources, *val, *row;
	double dram = 0, mem = round3(f->mem_gbps);
	char text[512], small[32], large[32];
	bool cited = false;

	json_object_object_get_ex(root, "units", &units);
	if (b->gpu_index >= 0)
		json_object_array_put_idx(units, (size_t)b->gpu_index, gpu_unit_json(g, a, f));
	else
		json_object_array_add(units, gpu_unit_json(g, a, f));

	/* The replaced unit's hand-overs go with it, whatever its name. */
	transfers = get_or_add_object(root, "transfers");
	json_object_object_del(transfers, GPU_PROFILE_UNIT);
	if (b->gpu_name[0])
		json_object_object_del(transfers, b->gpu_name);
	{
		json_object_object_foreach(transfers, from, r)
		{
			(void)from;
			if (!json_object_is_type(r, json_type_object))
				continue;
			json_object_object_del(r, GPU_PROFILE_UNIT);
			if (b->gpu_name[0])
				json_object_object_del(r, b->gpu_name);
		}
	}
	row = get_or_add_object(transfers, GPU_PROFILE_UNIT);
	for (int u = 0; u < b->p.nr_units; u++) {
		const struct plan_unit *unit = &b->p.units[u];

		if (unit->kind != PLAN_UNIT_CPU || unit->aggregate)
			continue;
		cell(get_or_add_object(transfers, unit->name), GPU_PROFILE_UNIT, f->h2d_gbps[u],
		     f->h2d_us[u]);
		cell(row, unit->name, f->d2h_gbps[u], f->d2h_us[u]);
	}

	why = get_or_add_object(root, "why");
	snprintf(text, sizeof(text),
		 "measured on %.100s: a %s and a %s copy between %s host memory and the device, cuMemcpyHtoDAsync (CPU to GPU) and cuMemcpyDtoHAsync (GPU to CPU), issued from a thread on each CPU unit, host time to completion, medians; us = the small copy, gbps = what the large one adds",
		 g->name, size_text(PROFILE_SMALL_XFER, small), size_text(a->xfer_bytes, large),
		 f->pinned ? "registered" : "pageable (registering failed)");
	why_append(why, "transfers", WHY_XFER_MARK, text);

	/* The reader refuses a unit faster than the DRAM: an integrated GPU
	 * streams faster than CPU copies show, so the DRAM is at least that. */
	if (json_object_object_get_ex(root, "dram_gbps", &val))
		dram = json_object_get_double(val);
	if (mem > dram) {
		json_object_object_add(root, "dram_gbps", jnum(mem));
		snprintf(text, sizeof(text),
			 "to the GPU's copy bandwidth, %.3g GB/s, which the DRAM must at least reach (a unit cannot outrun the DRAM it shares)",
			 mem);
		why_append(why, "dram_gbps", WHY_DRAM_MARK, text);
	}

	if (!json_object_object_get_ex(root, "sources", &sources) ||
	    !json_object_is_type(sources, json_type_array)) {
		sources = json_object_new_array();
		json_object_object_add(root, "sources", sources);
	}
	for (size_t i = 0; i < json_object_array_length(sources); i++)
		cited |= !strcmp(json_object_get_string(json_object_array_get_idx(sources, i)),
				 SOURCE_LINE);
	if (!cited)
		json_object_array_add(sources, json_object_new_string(SOURCE_LINE));
}

/* Checked through the platform reader, then written aside and renamed:
 * a failed run leaves the old profile whole. */
static int write_checked(struct json_object *root, const char *path, const struct gpu_device *g,
			 char *err, size_t errlen)
{
	const char *text = json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB |
			      JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct plan_platform check;
	int u, ret;

	if (platform_parse(text, path_base(path), &check, NULL, err, errlen))
		return -1;
	u = platform_unit_index(&check, GPU_PROFILE_UNIT);
	if (u < 0 || check.units[u].kind != PLAN_UNIT_GPU || check.units[u].cores != g->nr_sms) {
		set_error(err, errlen, "%s: the profile read back has no GPU unit \"%s\" of %d SMs",
			  path, GPU_PROFILE_UNIT, g->nr_sms);
		return -1;
	}
	ret = write_text_atomic(path, text);
	if (ret) {
		set_error(err, errlen, "%s: %s", path, strerror(-ret));
		return -1;
	}
	return 0;
}

/* The file is written as path.tmp renamed over path: its directory must
 * take a new file. */
static int check_writable(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (access(dir, W_OK | X_OK)) {
		set_error(err, errlen, "%s: cannot write the profile there: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the whole run ---------------------------------------------------------------- */

static int resolve(const struct gpud_profile_opts *o, struct amounts *a, char *err, size_t errlen)
{
	static const struct gpud_profile_opts defaults = { .warmup_s = PROFILE_WARMUP_S };

	if (!o)
		o = &defaults;
	memset(a, 0, sizeof(*a));
	a->models_dir = o->models_dir ? o->models_dir : zoo_default_dir();
	if (o->models && (o->nr_models < 1 || o->nr_models > PROFILE_MAX_MODELS)) {
		set_error(err, errlen, "profile: %d models, 1 to %d", o->nr_models, PROFILE_MAX_MODELS);
		return -1;
	}
	a->nr_models = o->models ? o->nr_models : 2;
	for (int k = 0; k < a->nr_models; k++)
		a->models[k] = o->models ? o->models[k] : default_models[k];
	a->runs = o->runs > 0 ? (o->runs < 1000 ? o->runs : 1000) : PROFILE_RUNS;
	a->launches = o->launches > 0 ? (o->launches < 100000 ? o->launches : 100000)
				      : PROFILE_LAUNCHES;
	a->warmup_s = o->warmup_s > 0 ? o->warmup_s : 0;
	/* The copy kernel indexes with 32-bit integers. */
	a->copy_bytes = clamp(o->copy_bytes ? (double)o->copy_bytes : PROFILE_COPY_BYTES, 64 << 10,
			      (double)(1u << 30));
	a->xfer_bytes = clamp(o->xfer_bytes ? (double)o->xfer_bytes : PROFILE_XFER_BYTES,
			      4 * PROFILE_SMALL_XFER, (double)(1u << 30));
	/* aligned_alloc() takes whole pages. */
	a->xfer_bytes = (a->xfer_bytes + 4095) / 4096 * 4096;
	return 0;
}

int gpud_profile_with(struct gpu_device *g, const struct gpud_profile_opts *o, const char *output,
		      bool verbose, char *err, size_t errlen)
{
	struct gpu_figures *f = calloc(1, sizeof(*f));
	char path[4096], size[32];
	struct amounts a;
	struct base b = { .root = NULL };
	CUstream s = 0;
	int ret = -1, integrated;
	CUresult r;

	if (!f) {
		set_error(err, errlen, "out of memory");
		return -1;
	}
	if (resolve(o, &a, err, errlen))
		goto out;
	if (output && !output[0]) {
		set_error(err, errlen, "profile: the output path is empty");
		goto out;
	}
	if (output)
		snprintf(path, sizeof(path), "%s", output);
	else
		snprintf(path, sizeof(path), "%s/host.json", platform_default_dir());
	r = cu.DeviceGetAttribute(&integrated, CU_DEVICE_ATTRIBUTE_INTEGRATED, g->dev);
	f->integrated = r == CUDA_SUCCESS ? integrated != 0 : -1;
	/* First, so that a profile that cannot be extended or written costs
	 * no run. */
	if (load_base(path, f->integrated, &b, err, errlen) || check_writable(path, err, errlen))
		goto out;
	if (b.p.nr_units > PLATFORM_MAX_FILE_UNITS && b.gpu_index < 0) {
		set_error(err, errlen, "%s: units: already %d, no room for a GPU unit (at most %d)",
			  path, b.p.nr_units - 1, PLATFORM_MAX_FILE_UNITS);
		goto out;
	}
	if (gpu_stream_create_default(g, &s, err, errlen))
		goto out;
	if (verbose)
		fprintf(stderr, "triage-gpud: profiling %s (%d SMs) into %s%s\n", g->name, g->nr_sms,
			path, b.existed ? "" : " (new: CPU units from sysfs)");
	if (measure_models(g, s, &a, f, verbose, err, errlen) ||
	    measure_launch(g, s, &a, f, err, errlen) || measure_bandwidth(g, s, &a, f, err, errlen))
		goto out;
	measure_memory(g, &b, f);
	if (verbose) {
		for (int op = 0; op < PLAN_OP__COUNT; op++)
			fprintf(stderr, "triage-gpud:   gflops.%s %.3f (%d layer%s%s)\n", op_keys[op],
				f->gflops[op], f->layers[op], plural(f->layers[op]),
				f->layers[op] ? "" : ": borrowed");
		fprintf(stderr, "triage-gpud:   launch_us %.3f (%d one-block launches)\n", f->launch_us,
			a.launches);
		fprintf(stderr, "triage-gpud:   mem_gbps %.3f (the copy kernel over %s)\n",
			f->mem_gbps, size_text(a.copy_bytes, size));
		fprintf(stderr, "triage-gpud:   mem_mb %.0f (%s)\n", f->mem_mb, f->mem_why);
	}
	if (measure_handovers(s, &b, &a, f, verbose, err, errlen))
		goto out;
	merge_gpu(&b, g, &a, f);
	if (write_checked(b.root, path, g, err, errlen))
		goto out;
	{
		double to = 0, from = 0;
		int n = 0;

		for (int u = 0; u < b.p.nr_units; u++)
			if (b.p.units[u].kind == PLAN_UNIT_CPU && !b.p.units[u].aggregate) {
				to += f->h2d_gbps[u];
				from += f->d2h_gbps[u];
				n++;
			}
		fprintf(stderr,
			"triage-gpud: profile of %s written to %s: conv %.1f GFLOP/s, dwconv %.1f, fc %.1f, pool %.1f, eltwise %.1f; launch %.1f us; memory %.1f GB/s; CPU to GPU %.2f GB/s, back %.2f GB/s\n",
			g->name, path, f->gflops[PLAN_OP_CONV], f->gflops[PLAN_OP_DWCONV],
			f->gflops[PLAN_OP_FC], f->gflops[PLAN_OP_POOL], f->gflops[PLAN_OP_ELTWISE],
			f->launch_us, f->mem_gbps, n ? to / n : 0, n ? from / n : 0);
	}
	/* The agent's platform "auto" reads host.json only when measured. */
	if (!b.measured && !strcmp(path_base(path), "host.json"))
		fprintf(stderr,
			"triage-gpud: %s: \"measured\": false (its CPU units are not measured), so the agent's platform \"auto\" passes it over: run triage-run --profile, then triage-gpud --profile again\n",
			path);
	ret = 0;
out:
	if (s)
		cu.StreamDestroy(s);
	json_object_put(b.root);
	free(f);
	return ret;
}

int gpud_profile(struct gpu_device *g, const char *models_dir, const char *output, bool verbose,
		 char *err, size_t errlen)
{
	const struct gpud_profile_opts o = { .models_dir = models_dir,
					     .warmup_s = PROFILE_WARMUP_S };

	return gpud_profile_with(g, &o, output, verbose, err, errlen);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Measuring this machine for the planner (tools/run_profile.h).
 *
 * The planner's CPU model is per-core GFLOP/s per op class, a parallel
 * efficiency exponent, a per-layer fixed cost and memory bandwidth. Each
 * is measured the way the planner uses it: op-class rates from the layer
 * times of real models on one pinned thread (so they include what XNNPACK
 * reaches on those shapes, not a peak), the exponent from the same models
 * on all of a cluster's cores, bandwidth from copies on every core of the
 * cluster at once. Two models cover every op class: resnet18 (dense conv,
 * pools, add, fc) and mobilenetv2 (depthwise, pointwise, relu6).
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpulist.h"
#include "clock.h"
#include "exec.h"
#include "platform.h"
#include "fsutil.h"
#include "run_profile.h"
#include "zoo.h"

#define PROFILE_SECONDS 1.5 /* of timed inferences per model and setting */
#define PROFILE_MIN_RUNS 3
#define COPY_BYTES (32u << 20) /* per thread: well past any cache */
#define COPY_ROUNDS 4

static const char *const profile_models[] = { "resnet18", "mobilenetv2" };
static const char *const op_keys[PLAN_OP__COUNT] = { "conv", "dwconv", "fc", "pool", "eltwise" };

/* What one model told on one setting. */
struct model_times {
	double per_inference_ms; /* median-free mean over the timed runs */
	double layer_ms[DNN_MAX_LAYERS];
};

static int time_model(const struct dnn_model *m, int threads, const cpu_set_t *cpus,
		      struct model_times *t, char *err, size_t errlen)
{
	/* Warm-up: first runs pay page faults and pool start. */
	struct exec_time_opts o = { .warmup = 2, .runs = PROFILE_MIN_RUNS,
				    .min_seconds = PROFILE_SECONDS };
	struct exec_timing tm;
	struct exec_plan plan;
	struct dnn_exec *e;
	char msg[512];

	exec_plan_single(m, threads, &plan);
	plan.stages[0].cpus = *cpus;
	if (exec_create(m, 1, &plan, &e, err, errlen))
		return -1;
	if (exec_time(e, &o, &tm, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s: %s", m->name, msg);
		exec_destroy(e);
		return -1;
	}
	t->per_inference_ms = tm.mean_ms;
	exec_layer_times(e, t->layer_ms);
	exec_destroy(e);
	return 0;
}

struct copy_job {
	int cpu;
	double seconds;
	int failed;
};

static void *copy_thread(void *arg)
{
	struct copy_job *j = arg;
	char *a = malloc(COPY_BYTES), *b = malloc(COPY_BYTES);
	cpu_set_t one;
	double t0;

	CPU_ZERO(&one);
	CPU_SET(j->cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
	if (!a || !b) {
		j->failed = 1;
		free(a);
		free(b);
		return NULL;
	}
	memset(a, 1, COPY_BYTES);
	memset(b, 2, COPY_BYTES);
	t0 = mono_s();
	for (int r = 0; r < COPY_ROUNDS; r++) {
		memcpy(r & 1 ? a : b, r & 1 ? b : a, COPY_BYTES);
		/* The compiler knows both buffers' contents from the
		 * memsets and would drop the copies: make them opaque. */
		__asm__ volatile("" : : "r"(a), "r"(b) : "memory");
	}
	j->seconds = mono_s() - t0;
	free(a);
	free(b);
	return NULL;
}

/* GB/s of copies (read + write) on every CPU of set at once. */
static double copy_gbps(const cpu_set_t *set)
{
	pthread_t th[CPU_SETSIZE > 256 ? 256 : CPU_SETSIZE];
	struct copy_job jobs[256];
	double worst = 0;
	int n = 0;

	for (int cpu = 0; cpu < CPU_SETSIZE && n < 256; cpu++) {
		if (!CPU_ISSET(cpu, set))
			continue;
		jobs[n] = (struct copy_job){ .cpu = cpu };
		if (pthread_create(&th[n], NULL, copy_thread, &jobs[n]))
			break;
		n++;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (!jobs[i].failed && jobs[i].seconds > worst)
			worst = jobs[i].seconds;
	}
	return worst > 0 ? 2.0 * COPY_BYTES * COPY_ROUNDS * n / worst / 1e9 : 0;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

struct unit_figures {
	double gflops[PLAN_OP__COUNT];
	double parallel_eff, mem_gbps, launch_us;
	double one_thread_ms[2], all_threads_ms[2];
};

static int measure_unit(struct dnn_model *const models[2], struct plan_model *const pms[2],
			const struct plan_unit *u, const cpu_set_t *cpus, struct unit_figures *f,
			bool verbose, char *err, size_t errlen)
{
	double flops[PLAN_OP__COUNT] = { 0 }, ms[PLAN_OP__COUNT] = { 0 }, min_layer_ms = 1e9;
	struct model_times *t = malloc(sizeof(*t));
	double speedup = 0;
	cpu_set_t first;
	int cpu0 = 0;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (cpu0 < CPU_SETSIZE && !CPU_ISSET(cpu0, cpus))
		cpu0++;
	CPU_ZERO(&first);
	CPU_SET(cpu0, &first);
	for (int k = 0; k < 2; k++) {
		if (time_model(models[k], 1, &first, t, err, errlen))
			goto failed;
		f->one_thread_ms[k] = t->per_inference_ms;
		for (int i = 0; i < models[k]->nr_layers; i++) {
			const struct plan_layer *l = &pms[k]->layers[i];

			flops[l->op] += l->flops;
			ms[l->op] += t->layer_ms[i];
			if (t->layer_ms[i] > 0 && t->layer_ms[i] < min_layer_ms)
				min_layer_ms = t->layer_ms[i];
		}
		if (u->cores > 1) {
			if (time_model(models[k], u->cores, cpus, t, err, errlen))
				goto failed;
			f->all_threads_ms[k] = t->per_inference_ms;
			speedup += f->one_thread_ms[k] / t->per_inference_ms / 2;
		}
		if (verbose)
			fprintf(stderr, "  %s: %s %.1f ms on 1 thread, %.1f ms on %d\n", u->name,
				models[k]->name, f->one_thread_ms[k],
				u->cores > 1 ? f->all_threads_ms[k] : f->one_thread_ms[k], u->cores);
	}
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		f->gflops[op] = ms[op] > 0 ? clamp(flops[op] / (ms[op] * 1e6), 0.01, 1e4) : 0;
	/* Classes the models lack (none today) borrow eltwise's rate. */
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		if (!f->gflops[op])
			f->gflops[op] = f->gflops[PLAN_OP_ELTWISE] ? f->gflops[PLAN_OP_ELTWISE] : 1;
	f->parallel_eff = u->cores > 1 ? clamp(log(speedup > 1 ? speedup : 1) / log(u->cores), 0.1, 1)
				       : 1;
	f->launch_us = clamp(min_layer_ms * 1e3, 0.5, 1000);
	f->mem_gbps = copy_gbps(cpus);
	if (!(f->mem_gbps > 0)) {
		snprintf(err, errlen, "%s: the copy bandwidth test failed", u->name);
		goto failed;
	}
	free(t);
	return 0;
failed:
	free(t);
	return -1;
}

static struct json_object *jnum(double v)
{
	return json_object_new_double(round(v * 1000) / 1000);
}

static struct json_object *unit_json(const struct plan_unit *u, const struct unit_figures *f,
				     const char *cpus_text)
{
	struct json_object *o = json_object_new_object(), *g = json_object_new_object(),
			   *why = json_object_new_object();
	char text[512];

	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "kind", json_object_new_string("cpu"));
	json_object_object_add(o, "cores", json_object_new_int(u->cores));
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		json_object_object_add(g, op_keys[op], jnum(f->gflops[op]));
	json_object_object_add(o, "gflops", g);
	json_object_object_add(o, "parallel_eff", jnum(f->parallel_eff));
	json_object_object_add(o, "mem_gbps", jnum(f->mem_gbps));
	json_object_object_add(o, "launch_us", jnum(f->launch_us));
	json_object_object_add(o, "mem_mb", jnum(u->mem_mb));
	json_object_object_add(why, "kind", json_object_new_string("a CPU cluster (cpufreq policy)"));
	snprintf(text, sizeof(text), "CPUs %s", cpus_text);
	json_object_object_add(why, "cores", json_object_new_string(text));
	snprintf(text, sizeof(text),
		 "measured: FLOPs / layer time per op class of resnet18 and mobilenetv2 on one thread pinned to this cluster (%.1f and %.1f ms per inference)",
		 f->one_thread_ms[0], f->one_thread_ms[1]);
	json_object_object_add(why, "gflops", json_object_new_string(text));
	if (u->cores > 1)
		snprintf(text, sizeof(text),
			 "measured: log(speed-up)/log(%d) of the same models on all %d cores (%.1f and %.1f ms)",
			 u->cores, u->cores, f->all_threads_ms[0], f->all_threads_ms[1]);
	else
		snprintf(text, sizeof(text), "one core");
	json_object_object_add(why, "parallel_eff", json_object_new_string(text));
	json_object_object_add(why, "mem_gbps",
			       json_object_new_string("measured: memcpy of 32 MiB buffers on every core of the cluster at once, read + write"));
	json_object_object_add(why, "launch_us",
			       json_object_new_string("measured: the shortest layer time seen, the fixed cost of a layer"));
	json_object_object_add(why, "mem_mb",
			       json_object_new_string("80% of physical memory, split by cores (Ibis' feasibility rule)"));
	json_object_object_add(o, "why", why);
	return o;
}

/* Checked through the platform reader before anything is written, then
 * written aside and renamed: a failed run leaves the old profile whole. */
static int write_profile(struct json_object *root, const char *path, char *err, size_t errlen)
{
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	struct plan_platform check;
	int ret;

	if (platform_parse(text, "the measured profile", &check, NULL, err, errlen))
		return -1;
	ret = write_text_atomic(path, text);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return -1;
	}
	return 0;
}

/* The GPU units of the profile at path, which triage-gpud --profile wrote
 * there, with their hand-overs to and from the CPU units measured now: a
 * new measurement of the CPUs keeps what the GPU's said. dram_gbps is
 * raised to a kept unit's bandwidth, as the reader requires. */
static void keep_gpu_units(const char *path, struct json_object *units,
			   struct json_object *transfers, double *dram)
{
	struct json_object *old = json_object_from_file(path), *old_units, *old_xfer, *v;
	int kept = 0;

	if (!old || !json_object_object_get_ex(old, "units", &old_units) ||
	    !json_object_is_type(old_units, json_type_array)) {
		json_object_put(old);
		return;
	}
	if (!json_object_object_get_ex(old, "transfers", &old_xfer))
		old_xfer = NULL;
	for (size_t i = 0; i < json_object_array_length(old_units); i++) {
		struct json_object *u = json_object_array_get_idx(old_units, i), *row, *cell;
		const char *name;

		if (!json_object_object_get_ex(u, "kind", &v) ||
		    strcmp(json_object_get_string(v), "gpu") ||
		    !json_object_object_get_ex(u, "name", &v))
			continue;
		name = json_object_get_string(v);
		/* Every ordered pair needs its hand-over (the reader's rule): a
		 * GPU unit measured beside other CPU units is measured again. */
		for (size_t k = 0; k < json_object_array_length(units) && u; k++) {
			struct json_object *cn;
			const char *cpu_name;

			if (!json_object_object_get_ex(json_object_array_get_idx(units, k), "name", &cn))
				continue;
			cpu_name = json_object_get_string(cn);
			if (!old_xfer || !json_object_object_get_ex(old_xfer, name, &row) ||
			    !json_object_object_get_ex(row, cpu_name, &cell) ||
			    !json_object_object_get_ex(old_xfer, cpu_name, &row) ||
			    !json_object_object_get_ex(row, name, &cell)) {
				fprintf(stderr, "triage-run: the GPU unit %s of %s has no hand-over to %s: dropped; run triage-gpud --profile again\n",
					name, path, cpu_name);
				u = NULL;
			}
		}
		if (!u)
			continue;
		json_object_array_add(units, json_object_get(u));
		kept++;
		if (json_object_object_get_ex(u, "mem_gbps", &v) && json_object_get_double(v) > *dram)
			*dram = json_object_get_double(v);
		for (size_t k = 0; old_xfer && k + 1 < json_object_array_length(units); k++) {
			struct json_object *cpu = json_object_array_get_idx(units, k), *cn, *to;
			const char *cpu_name;

			if (!json_object_object_get_ex(cpu, "name", &cn))
				continue;
			cpu_name = json_object_get_string(cn);
			if (json_object_object_get_ex(old_xfer, name, &row) &&
			    json_object_object_get_ex(row, cpu_name, &cell)) {
				if (!json_object_object_get_ex(transfers, name, &to)) {
					to = json_object_new_object();
					json_object_object_add(transfers, name, to);
				}
				json_object_object_add(to, cpu_name, json_object_get(cell));
			}
			if (json_object_object_get_ex(old_xfer, cpu_name, &row) &&
			    json_object_object_get_ex(row, name, &cell)) {
				if (!json_object_object_get_ex(transfers, cpu_name, &to)) {
					to = json_object_new_object();
					json_object_object_add(transfers, cpu_name, to);
				}
				json_object_object_add(to, name, json_object_get(cell));
			}
		}
	}
	if (kept)
		fprintf(stderr, "triage-run: kept the GPU unit%s of %s (triage-gpud --profile)\n",
			kept == 1 ? "" : "s", path);
	json_object_put(old);
}

int run_profile_host(const char *models_dir, const char *output, bool verbose, char *err,
		     size_t errlen)
{
	struct dnn_model *models[2] = { NULL, NULL };
	struct plan_model *pms[2] = { NULL, NULL };
	struct plan_platform p;
	struct json_object *root = NULL, *units, *why, *sources, *transfers;
	char path[4096], text[512];
	double dram = 0;
	cpu_set_t all;
	int ret = -1;

	if (platform_detect_host(&p, err, errlen))
		return -1;
	if (output)
		snprintf(path, sizeof(path), "%s", output);
	else
		snprintf(path, sizeof(path), "%s/host.json", platform_default_dir());
	for (int k = 0; k < 2; k++) {
		models[k] = dnn_model_alloc();
		pms[k] = calloc(1, sizeof(*pms[k]));
		if (!models[k] || !pms[k]) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (zoo_load_named(models_dir, profile_models[k], models[k], err, errlen) ||
		    zoo_to_plan_model(models[k], pms[k], err, errlen))
			goto out;
	}
	root = json_object_new_object();
	json_object_object_add(root, "name", json_object_new_string("host"));
	json_object_object_add(root, "measured", json_object_new_boolean(1));
	units = json_object_new_array();
	CPU_ZERO(&all);
	for (int u = 0; u < p.nr_units; u++) {
		const struct plan_unit *unit = &p.units[u];
		struct unit_figures f;
		cpu_set_t cpus;
		char cpus_text[256];

		if (unit->kind != PLAN_UNIT_CPU || unit->aggregate)
			continue;
		platform_unit_cpus(&p, u, &cpus);
		CPU_OR(&all, &all, &cpus);
		cpulist_format(&cpus, cpus_text, sizeof(cpus_text));
		if (verbose)
			fprintf(stderr, "triage-run: measuring %s (CPUs %s)...\n", unit->name, cpus_text);
		if (measure_unit(models, pms, unit, &cpus, &f, verbose, err, errlen))
			goto out;
		json_object_array_add(units, unit_json(unit, &f, cpus_text));
	}
	dram = copy_gbps(&all);
	/* A unit cannot outrun the DRAM it shares (the reader's rule): copy
	 * figures of one run may cross by noise. */
	for (size_t i = 0; i < json_object_array_length(units); i++) {
		struct json_object *uo = json_object_array_get_idx(units, i), *g;

		json_object_object_get_ex(uo, "mem_gbps", &g);
		if (json_object_get_double(g) > dram)
			dram = json_object_get_double(g);
	}
	snprintf(text, sizeof(text), "%s, measured by triage-run --profile: %d CPU cluster%s",
		 "this machine", (int)json_object_array_length(units),
		 json_object_array_length(units) == 1 ? "" : "s");
	json_object_object_add(root, "description", json_object_new_string(text));
	json_object_object_add(root, "units", units);
	transfers = json_object_new_object();
	for (int a = 0; a < p.nr_units; a++) {
		struct json_object *row;

		if (p.units[a].aggregate || p.units[a].kind != PLAN_UNIT_CPU)
			continue;
		row = json_object_new_object();
		for (int b = 0; b < p.nr_units; b++) {
			struct json_object *cell;

			if (a == b || p.units[b].aggregate || p.units[b].kind != PLAN_UNIT_CPU)
				continue;
			cell = json_object_new_object();
			json_object_object_add(cell, "gbps", jnum(p.xfer_gbps[a][b]));
			json_object_object_add(cell, "us", jnum(p.xfer_us[a][b]));
			json_object_object_add(row, p.units[b].name, cell);
		}
		if (json_object_object_length(row))
			json_object_object_add(transfers, p.units[a].name, row);
		else
			json_object_put(row);
	}
	keep_gpu_units(path, units, transfers, &dram);
	json_object_object_add(root, "dram_gbps", jnum(dram));
	json_object_object_add(root, "transfers", transfers);
	why = json_object_new_object();
	json_object_object_add(why, "dram_gbps",
			       json_object_new_string("measured: memcpy on every CPU at once, read + write"));
	json_object_object_add(why, "transfers",
			       json_object_new_string("not measured: a hand-over is the reader pulling the tensor at the slower cluster's bandwidth after a 10 us wake-up (platform_detect_host())"));
	json_object_object_add(root, "why", why);
	sources = json_object_new_array();
	json_object_array_add(sources, json_object_new_string("measured on this machine by triage-run --profile (docs/executor.md)"));
	json_object_object_add(root, "sources", sources);
	ret = write_profile(root, path, err, errlen);
	if (!ret && verbose)
		fprintf(stderr, "triage-run: wrote %s\n", path);
out:
	json_object_put(root);
	for (int k = 0; k < 2; k++) {
		dnn_model_free(models[k]);
		free(pms[k]);
	}
	return ret;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * cpu-estimate: the planner's estimator against the CPU executor on this
 * machine, and the machine's peak FLOP rate.
 *
 *   cpu-estimate [--platform FILE] [--models DIR] [--seconds S] [--warmup S]
 *                [--alpha A] [--limit N]
 *   cpu-estimate --peak
 *   cpu-estimate --speed [--runs N] [--models DIR]
 *
 * Default mode: a fixed list of mappings of 1 to 3 zoo DNNs, each DNN one
 * stage on the host's CPU cluster or on the aggregate unit "cpu" (on a
 * one-cluster host a DNN cannot be cut: stages need distinct units). For
 * each mapping plan_estimate() decides the cores (owned while there are
 * enough, else time-shared) and says each DNN's throughput; then the same
 * DNNs run at once on the executor, one dnn_exec each driven flat out by
 * its own thread, with the threads and CPUs the mapping gives (owned cores
 * are distinct CPUs, time-sharing stages share what nobody owns), and the
 * throughput measured in a common window after a warm-up is compared.
 * Every DNN is rank 1: plain threads share a CPU equally, so equal weights
 * are what the estimator must predict.
 *
 * The online correction is scored as a prediction: mappings are taken in
 * order, each model keeps the correction plan_correction_update() learnt
 * from its earlier mappings (the agent's EWMA), and an estimate is scored
 * multiplied by the correction known before it was measured.
 *
 * --peak: GFLOP/s of a register-resident FMA loop (AVX2+FMA when the CPU
 * has them, else plain float code) on 1..N pinned threads at once, the
 * yardstick for the executor's speed. --speed: the executor's ms per
 * inference of resnet18 and mobilenetv2 on 1 and 2 threads (median after
 * warm-up) and their fraction of that peak, for a tree without
 * bench/exec-speed.
 *
 * Output is Markdown on stdout (the MAPE summary, then every DNN-mapping),
 * and key-value lines for scripts (platform, mape_before, mape_after,
 * mappings, dnn_mappings); progress on stderr.
 */
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#include "cpulist.h"
#include "clock.h"
#include "exec.h"
#include "numparse.h"
#include "platform.h"
#include "zoo.h"
#include "planner.h"

#define MAX_MODELS 8
#define MAX_CPUS 256

/* Every model a mapping below names. Small and mid-sized ones: each must
 * finish a few inferences per second even three to a machine. */
static const char *const model_names[] = { "squeezenet11", "mobilenetv2", "efficientnetb0",
					   "resnet18",	   "googlenet",	  "alexnet" };
#define NR_MODELS ((int)(sizeof(model_names) / sizeof(model_names[0])))

/* A mapping: its DNNs (indices into model_names), all on the cluster or
 * all on the aggregate (the planner refuses both in one mapping). */
struct mapping_spec {
	bool aggregate;
	int nr;
	int model[3];
};

/* Alone first (the agent learns each model before mixing it), then pairs
 * on owned cores, the same pairs time-shared, then triples. */
static const struct mapping_spec mappings[] = {
	{ false, 1, { 0 } },	   { false, 1, { 1 } },	      { false, 1, { 2 } },
	{ false, 1, { 3 } },	   { false, 1, { 4 } },	      { false, 1, { 5 } },
	{ false, 2, { 0, 1 } },	   { false, 2, { 3, 1 } },    { false, 2, { 4, 0 } },
	{ false, 2, { 2, 3 } },	   { false, 2, { 5, 1 } },    { false, 2, { 4, 2 } },
	{ true, 2, { 0, 1 } },	   { true, 2, { 3, 1 } },     { true, 2, { 4, 0 } },
	{ true, 2, { 2, 3 } },	   { true, 2, { 5, 1 } },     { true, 2, { 4, 2 } },
	{ false, 3, { 0, 1, 3 } }, { false, 3, { 4, 2, 0 } }, { false, 3, { 3, 5, 1 } },
	{ false, 3, { 2, 1, 4 } }, { true, 3, { 0, 1, 3 } },  { true, 3, { 4, 2, 5 } },
};
#define NR_MAPPINGS ((int)(sizeof(mappings) / sizeof(mappings[0])))

struct options {
	const char *platform, *models;
	double seconds, warmup, alpha;
	int limit, runs;
	bool peak, speed;
};

static int online_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

/* ---- peak FLOP rate ------------------------------------------------------- */

/* Twelve independent chains keep both FMA pipes busy through their
 * latency; a*x+y with x just under 1 stays finite and normal. */
#define FMA_CHAINS 12
#if HAVE_X86
#define FMA_FLOPS_PER_ITER (FMA_CHAINS * 8 * 2)

__attribute__((target("avx2,fma"))) static float fma_loop(uint64_t iters)
{
	const __m256 x = _mm256_set1_ps(0.9999f), y = _mm256_set1_ps(1e-4f);
	__m256 a0 = _mm256_set1_ps(0.10f), a1 = _mm256_set1_ps(0.11f), a2 = _mm256_set1_ps(0.12f),
	       a3 = _mm256_set1_ps(0.13f), a4 = _mm256_set1_ps(0.14f), a5 = _mm256_set1_ps(0.15f),
	       a6 = _mm256_set1_ps(0.16f), a7 = _mm256_set1_ps(0.17f), a8 = _mm256_set1_ps(0.18f),
	       a9 = _mm256_set1_ps(0.19f), a10 = _mm256_set1_ps(0.20f), a11 = _mm256_set1_ps(0.21f);
	float out[8], sum = 0;

	for (uint64_t i = 0; i < iters; i++) {
		a0 = _mm256_fmadd_ps(a0, x, y);
		a1 = _mm256_fmadd_ps(a1, x, y);
		a2 = _mm256_fmadd_ps(a2, x, y);
		a3 = _mm256_fmadd_ps(a3, x, y);
		a4 = _mm256_fmadd_ps(a4, x, y);
		a5 = _mm256_fmadd_ps(a5, x, y);
		a6 = _mm256_fmadd_ps(a6, x, y);
		a7 = _mm256_fmadd_ps(a7, x, y);
		a8 = _mm256_fmadd_ps(a8, x, y);
		a9 = _mm256_fmadd_ps(a9, x, y);
		a10 = _mm256_fmadd_ps(a10, x, y);
		a11 = _mm256_fmadd_ps(a11, x, y);
	}
	a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
			   _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
	a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
	_mm256_storeu_ps(out, a0);
	for (int k = 0; k < 8; k++)
		sum += out[k];
	return sum;
}
#endif

/* The fallback: what plain float code of this build reaches. */
#define SCALAR_FLOPS_PER_ITER (FMA_CHAINS * 2)
static float scalar_loop(uint64_t iters)
{
	float a[FMA_CHAINS], sum = 0;

	for (int k = 0; k < FMA_CHAINS; k++)
		a[k] = 0.1f + 0.01f * (float)k;
	for (uint64_t i = 0; i < iters; i++)
		for (int k = 0; k < FMA_CHAINS; k++)
			a[k] = a[k] * 0.9999f + 1e-4f;
	for (int k = 0; k < FMA_CHAINS; k++)
		sum += a[k];
	return sum;
}

static bool have_fma(void)
{
#if HAVE_X86
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return false;
#endif
}

static float peak_loop(bool fma, uint64_t iters)
{
#if HAVE_X86
	if (fma)
		return fma_loop(iters);
#endif
	(void)fma;
	return scalar_loop(iters);
}

static double peak_flops_per_iter(bool fma)
{
#if HAVE_X86
	if (fma)
		return FMA_FLOPS_PER_ITER;
#endif
	(void)fma;
	return SCALAR_FLOPS_PER_ITER;
}

struct peak_job {
	int cpu;
	bool fma;
	uint64_t iters;
	pthread_barrier_t *start;
	double seconds;
	volatile float sink;
};

static void *peak_thread(void *arg)
{
	struct peak_job *j = arg;
	cpu_set_t one;
	uint64_t t0;

	CPU_ZERO(&one);
	CPU_SET(j->cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
	peak_loop(j->fma, j->iters / 8); /* wake the core to its clock */
	pthread_barrier_wait(j->start);
	t0 = mono_ns();
	j->sink = peak_loop(j->fma, j->iters);
	j->seconds = (double)(mono_ns() - t0) / 1e9;
	return NULL;
}

/* GFLOP/s of `threads` loops at once, each pinned to its own CPU: the best
 * of ten rounds of about 0.15 s (other load only ever slows it, and short
 * rounds are likelier to find the CPUs free on a shared machine). */
static double measure_peak(int threads, bool fma)
{
	int cpus[MAX_CPUS], n = online_cpus(cpus, MAX_CPUS);
	struct peak_job jobs[MAX_CPUS];
	pthread_t th[MAX_CPUS];
	pthread_barrier_t start;
	uint64_t iters = 1u << 20, t0;
	double best = 0;

	if (threads > n)
		threads = n;
	/* Calibrate on this thread: iterations for about 0.15 s. */
	t0 = mono_ns();
	jobs[0].sink = peak_loop(fma, iters);
	iters = (uint64_t)((double)iters * 0.15e9 / (double)(mono_ns() - t0 + 1));
	if (iters < 1000)
		iters = 1000;
	for (int round = 0; round < 10; round++) {
		double total = 0;
		int started = 0;

		pthread_barrier_init(&start, NULL, (unsigned)threads);
		for (int t = 0; t < threads; t++) {
			jobs[t] = (struct peak_job){ .cpu = cpus[t], .fma = fma, .iters = iters,
						     .start = &start };
			if (pthread_create(&th[t], NULL, peak_thread, &jobs[t]))
				break;
			started++;
		}
		if (started < threads) {
			/* The barrier would never open: give up on this round. */
			fprintf(stderr, "cpu-estimate: --peak: cannot start %d threads\n", threads);
			exit(1);
		}
		for (int t = 0; t < threads; t++) {
			pthread_join(th[t], NULL);
			total += peak_flops_per_iter(fma) * (double)iters / jobs[t].seconds / 1e9;
		}
		pthread_barrier_destroy(&start);
		if (total > best)
			best = total;
	}
	return best;
}

static int run_peak(void)
{
	int cpus[MAX_CPUS], n = online_cpus(cpus, MAX_CPUS);
	bool fma = have_fma();

	for (int t = 1; t <= n; t++)
		printf("peak %d %.1f %s\n", t, measure_peak(t, fma), fma ? "avx2-fma" : "scalar");
	return 0;
}

/* ---- models ----------------------------------------------------------------- */

struct model {
	struct dnn_model *dnn;
	struct plan_model *plan;
	double gflop;
};

static int load_models(const char *dir, struct model *ms)
{
	char err[512];

	for (int k = 0; k < NR_MODELS; k++) {
		struct dnn_totals t;

		ms[k].dnn = dnn_model_alloc();
		ms[k].plan = calloc(1, sizeof(*ms[k].plan));
		if (!ms[k].dnn || !ms[k].plan) {
			fprintf(stderr, "cpu-estimate: out of memory\n");
			return -1;
		}
		if (zoo_load_named(dir, model_names[k], ms[k].dnn, err, sizeof(err)) ||
		    zoo_to_plan_model(ms[k].dnn, ms[k].plan, err, sizeof(err))) {
			fprintf(stderr, "cpu-estimate: %s\n", err);
			return -1;
		}
		dnn_model_totals(ms[k].dnn, &t);
		ms[k].gflop = t.flops / 1e9;
	}
	return 0;
}

static void free_models(struct model *ms)
{
	for (int k = 0; k < NR_MODELS; k++) {
		dnn_model_free(ms[k].dnn);
		free(ms[k].plan);
	}
}

/* ---- the executor, flat out ------------------------------------------------------ */

struct worker {
	struct dnn_exec *e;
	float *input;
	uint64_t win_begin, win_end; /* the measuring window, CLOCK_MONOTONIC */
	uint64_t started, first, last, end; /* first and last in the window */
	unsigned long in_window, total;
	bool failed;
	char err[256];
};

/* Inferences back to back until the first that ends after the window: every
 * DNN stays busy over the whole window, so each sees the others' load. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct exec_result r;

	w->started = mono_ns();
	for (;;) {
		if (exec_submit(w->e, w->input, w->total) || exec_collect(w->e, NULL, &r)) {
			w->failed = true;
			snprintf(w->err, sizeof(w->err), "%s", exec_error(w->e));
			return NULL;
		}
		w->total++;
		w->end = r.end_ns;
		if (r.end_ns > w->win_end)
			break;
		if (r.end_ns >= w->win_begin) {
			if (!w->in_window++)
				w->first = r.end_ns;
			w->last = r.end_ns;
		}
	}
	return NULL;
}

/* Inferences per second in the window: between its first and last
 * completion when there were three or more, else over the whole run. */
static double worker_rate(const struct worker *w)
{
	if (w->in_window >= 3)
		return (double)(w->in_window - 1) / ((double)(w->last - w->first) / 1e9);
	return (double)w->total / ((double)(w->end - w->started) / 1e9);
}

/* ---- estimate versus measure ------------------------------------------------------ */

/* The executor's plan of DNN i of m: one stage over every layer; owned
 * cores become distinct CPUs of the unit, taken in order by the DNNs that
 * own some; a time-sharing stage runs one thread per CPU nobody owns. */
static void exec_plan_of(const struct plan_platform *p, const struct plan_mapping *m, int i,
			 const struct plan_model *pm, struct exec_plan *ep)
{
	const struct plan_stage *st = &m->dnn[i].stages[0];
	cpu_set_t unit, owned, mine;

	platform_unit_cpus(p, st->unit, &unit);
	CPU_ZERO(&owned);
	CPU_ZERO(&mine);
	for (int j = 0; j < m->nr_dnns; j++) {
		const struct plan_stage *o = &m->dnn[j].stages[0];

		if (o->unit != st->unit || o->cores <= 0)
			continue;
		for (int c = 0, got = 0; c < CPU_SETSIZE && got < o->cores; c++) {
			if (!CPU_ISSET(c, &unit) || CPU_ISSET(c, &owned))
				continue;
			CPU_SET(c, &owned);
			if (j == i)
				CPU_SET(c, &mine);
			got++;
		}
	}
	if (st->cores <= 0) {
		CPU_XOR(&mine, &unit, &owned);
		if (!CPU_COUNT(&mine))
			mine = unit;
	}
	memset(ep, 0, sizeof(*ep));
	ep->nr_stages = 1;
	ep->stages[0].first = 0;
	ep->stages[0].last = pm->nr_layers - 1;
	ep->stages[0].threads = st->cores > 0 ? st->cores : CPU_COUNT(&mine);
	if (ep->stages[0].threads > EXEC_MAX_THREADS)
		ep->stages[0].threads = EXEC_MAX_THREADS;
	if (ep->stages[0].threads < 1)
		ep->stages[0].threads = 1;
	ep->stages[0].cpus = mine;
}

/* One DNN of one mapping, as the table shows it. */
struct row {
	int mapping, model;
	char where[128];
	double est, pred, meas;
	bool corrected; /* a correction learnt from an earlier mapping applied */
	int klass;	/* 0 alone, 1 owned cores, 2 time-shared */
};

static const char *const class_names[] = { "alone (1 DNN)", "2-3 DNNs on owned cores",
					   "2-3 DNNs time-shared" };

/* Runs mapping k; fills rows[*nr..]. 0, or -1 with a message printed. */
static int run_mapping(const struct options *o, const struct plan_platform *plat, int cluster,
		       int agg, struct model *ms, int k, double *corr, struct row *rows, int *nr)
{
	const struct mapping_spec *sp = &mappings[k];
	struct plan_problem *pb = calloc(1, sizeof(*pb));
	struct plan_mapping *m = calloc(1, sizeof(*m)), *mc = calloc(1, sizeof(*mc));
	struct plan_estimate est, pred;
	struct worker w[3];
	pthread_t th[3];
	char err[512];
	int ret = -1, created = 0, started = 0;
	uint64_t t0;

	memset(w, 0, sizeof(w));
	if (!pb || !m || !mc) {
		fprintf(stderr, "cpu-estimate: out of memory\n");
		goto out;
	}
	pb->platform = plat;
	pb->nr_dnns = sp->nr;
	for (int i = 0; i < sp->nr; i++) {
		struct plan_workload *wl = &pb->dnn[i];

		snprintf(wl->name, sizeof(wl->name), "%s", model_names[sp->model[i]]);
		wl->model = ms[sp->model[i]].plan;
		wl->rank = 1;
	}
	if (plan_problem_prepare(pb, err, sizeof(err))) {
		fprintf(stderr, "cpu-estimate: mapping %d: %s\n", k + 1, err);
		goto out;
	}
	m->nr_dnns = sp->nr;
	for (int i = 0; i < sp->nr; i++) {
		m->dnn[i].nr_stages = 1;
		m->dnn[i].stages[0] = (struct plan_stage){
			.unit = sp->aggregate ? agg : cluster,
			.first = 0,
			.last = ms[sp->model[i]].plan->nr_layers - 1,
		};
	}
	if (plan_mapping_validate(pb, m, err, sizeof(err))) {
		fprintf(stderr, "cpu-estimate: mapping %d: %s\n", k + 1, err);
		goto out;
	}
	*mc = *m;
	plan_estimate(pb, m, &est); /* corrections at 1: the estimator alone */
	for (int i = 0; i < sp->nr; i++)
		pb->correction[i] = corr[sp->model[i]];
	plan_estimate(pb, mc, &pred);

	for (int i = 0; i < sp->nr; i++) {
		const struct model *md = &ms[sp->model[i]];
		struct row *r = &rows[*nr + i];
		struct exec_plan ep;
		char cpus[64];

		exec_plan_of(plat, m, i, md->plan, &ep);
		if (exec_create(md->dnn, 1, &ep, &w[i].e, err, sizeof(err))) {
			fprintf(stderr, "cpu-estimate: mapping %d: %s: %s\n", k + 1, md->dnn->name,
				err);
			goto out;
		}
		created++;
		w[i].input = exec_input_alloc(w[i].e);
		if (!w[i].input) {
			fprintf(stderr, "cpu-estimate: out of memory\n");
			goto out;
		}
		cpulist_format(&ep.stages[0].cpus, cpus, sizeof(cpus));
		*r = (struct row){ .mapping = k + 1,
				   .model = sp->model[i],
				   .est = est.throughput[i],
				   .pred = pred.throughput[i] };
		snprintf(r->where, sizeof(r->where), "%s %s x%d @%s",
			 plat->units[m->dnn[i].stages[0].unit].name,
			 m->dnn[i].stages[0].cores > 0 ? "own" : "shared", ep.stages[0].threads,
			 cpus);
		r->klass = sp->nr == 1 ? 0 : m->dnn[i].stages[0].cores > 0 ? 1 : 2;
	}
	t0 = mono_ns();
	for (int i = 0; i < sp->nr; i++) {
		w[i].win_begin = t0 + (uint64_t)(o->warmup * 1e9);
		w[i].win_end = w[i].win_begin + (uint64_t)(o->seconds * 1e9);
	}
	for (int i = 0; i < sp->nr; i++) {
		if (pthread_create(&th[i], NULL, worker_main, &w[i])) {
			fprintf(stderr, "cpu-estimate: cannot start a thread\n");
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (started < sp->nr)
		goto out;
	for (int i = 0; i < sp->nr; i++) {
		struct row *r = &rows[*nr + i];

		if (w[i].failed) {
			fprintf(stderr, "cpu-estimate: mapping %d: %s: %s\n", k + 1,
				model_names[sp->model[i]], w[i].err);
			goto out;
		}
		r->meas = worker_rate(&w[i]);
		r->corrected = corr[sp->model[i]] != 1.0;
		/* Learn after scoring: the next mapping of this model gets it. */
		corr[sp->model[i]] = plan_correction_update(corr[sp->model[i]], r->meas, r->pred,
							    o->alpha);
		fprintf(stderr, "  %-14s %-26s est %7.2f/s  measured %7.2f/s (%lu in window)\n",
			model_names[sp->model[i]], r->where, r->est, r->meas, w[i].in_window);
	}
	*nr += sp->nr;
	ret = 0;
out:
	for (int i = 0; i < created; i++) {
		exec_destroy(w[i].e);
		free(w[i].input);
	}
	if (pb)
		plan_problem_release(pb);
	free(pb);
	free(m);
	free(mc);
	return ret;
}

static double ape(double est, double meas)
{
	return fabs(est - meas) / meas;
}

/* The figures the estimator works from, as one key-value line. */
static void print_platform(const struct plan_platform *p, int cluster)
{
	const struct plan_unit *u = &p->units[cluster];

	printf("platform %s: %s, %d cores, GFLOP/s per core conv %.1f, dwconv %.1f, fc %.1f, "
	       "pool %.1f, eltwise %.1f; parallel_eff %.2f; %.1f GB/s; %.1f us per layer\n",
	       p->name, u->name, u->cores, u->gflops[PLAN_OP_CONV], u->gflops[PLAN_OP_DWCONV],
	       u->gflops[PLAN_OP_FC], u->gflops[PLAN_OP_POOL], u->gflops[PLAN_OP_ELTWISE],
	       u->parallel_eff, u->mem_gbps, u->launch_us);
}

static int run_estimate(const struct options *o)
{
	struct plan_platform plat;
	struct model ms[NR_MODELS];
	struct row rows[NR_MAPPINGS * 3];
	double corr[NR_MODELS];
	char err[512];
	int cluster = -1, agg = -1, nr = 0, n = o->limit > 0 && o->limit < NR_MAPPINGS ? o->limit :
											NR_MAPPINGS;

	memset(ms, 0, sizeof(ms));
	if (o->platform ? platform_load_file(o->platform, &plat, NULL, err, sizeof(err)) :
			  platform_detect_host(&plat, err, sizeof(err))) {
		fprintf(stderr, "cpu-estimate: %s\n", err);
		return 1;
	}
	for (int u = 0; u < plat.nr_units; u++) {
		if (plat.units[u].kind != PLAN_UNIT_CPU)
			continue;
		if (plat.units[u].aggregate)
			agg = u;
		else if (cluster < 0)
			cluster = u;
	}
	if (cluster < 0 || agg < 0) {
		fprintf(stderr, "cpu-estimate: platform %s has no CPU cluster\n", plat.name);
		return 1;
	}
	if (load_models(o->models, ms)) {
		free_models(ms);
		return 1;
	}
	for (int k = 0; k < NR_MODELS; k++)
		corr[k] = 1;
	print_platform(&plat, cluster);
	fprintf(stderr,
		"cpu-estimate: %d mappings on %s (cluster %s, %d cores), "
		"%.1f s each after %.1f s\n",
		n, plat.name, plat.units[cluster].name, plat.units[cluster].cores, o->seconds,
		o->warmup);
	for (int k = 0; k < n; k++) {
		fprintf(stderr, "mapping %d/%d\n", k + 1, n);
		if (run_mapping(o, &plat, cluster, agg, ms, k, corr, rows, &nr)) {
			free_models(ms);
			return 1;
		}
	}

	/* MAPE: overall, over the DNNs that had a correction, and by class. */
	double before = 0, after = 0, before_c = 0, after_c = 0, bk[3] = { 0 }, ak[3] = { 0 };
	int nc = 0, nk[3] = { 0 };

	for (int j = 0; j < nr; j++) {
		const struct row *r = &rows[j];

		before += ape(r->est, r->meas);
		after += ape(r->pred, r->meas);
		if (r->corrected) {
			before_c += ape(r->est, r->meas);
			after_c += ape(r->pred, r->meas);
			nc++;
		}
		bk[r->klass] += ape(r->est, r->meas);
		ak[r->klass] += ape(r->pred, r->meas);
		nk[r->klass]++;
	}
	printf("| DNN-mappings | n | MAPE before correction | MAPE after correction |\n");
	printf("|---|---:|---:|---:|\n");
	printf("| all | %d | %.1f%% | %.1f%% |\n", nr, 100 * before / nr, 100 * after / nr);
	if (nc)
		printf("| those with a correction learnt | %d | %.1f%% | %.1f%% |\n", nc,
		       100 * before_c / nc, 100 * after_c / nc);
	for (int c = 0; c < 3; c++)
		if (nk[c])
			printf("| %s | %d | %.1f%% | %.1f%% |\n", class_names[c], nk[c],
			       100 * bk[c] / nk[c], 100 * ak[c] / nk[c]);
	printf("\n");
	printf("| # | DNN | stage | estimated /s | measured /s | error | with correction /s "
	       "| error |\n");
	printf("|---:|---|---|---:|---:|---:|---:|---:|\n");
	for (int j = 0; j < nr; j++) {
		const struct row *r = &rows[j];

		printf("| %d | %s | %s | %.2f | %.2f | %.0f%% | %.2f%s | %.0f%% |\n", r->mapping,
		       model_names[r->model], r->where, r->est, r->meas, 100 * ape(r->est, r->meas),
		       r->pred, r->corrected ? "" : " (none yet)", 100 * ape(r->pred, r->meas));
	}
	printf("\nmape_before %.4f\nmape_after %.4f\nmappings %d\ndnn_mappings %d\n", before / nr,
	       after / nr, n, nr);
	free_models(ms);
	return 0;
}

/* ---- executor speed (without bench/exec-speed) -------------------------------------- */

/* Median ms of `runs` lone inferences of m after 3 (the upper middle one
 * for an even count), one stage of `threads` threads pinned to the first
 * CPUs. 0, or -1 with err. */
static int median_ms(const struct dnn_model *m, int threads, const int *cpus, int runs,
		     double *med, char *err, size_t errlen)
{
	struct exec_time_opts o = { .warmup = 3, .runs = runs };
	struct exec_timing t;
	struct exec_plan ep;
	struct dnn_exec *e;
	int ret;

	exec_plan_single(m, threads, &ep);
	CPU_ZERO(&ep.stages[0].cpus);
	for (int c = 0; c < threads; c++)
		CPU_SET(cpus[c], &ep.stages[0].cpus);
	if (exec_create(m, 1, &ep, &e, err, errlen))
		return -1;
	ret = exec_time(e, &o, &t, err, errlen);
	*med = t.median_ms;
	exec_destroy(e);
	return ret;
}

static int run_speed(const struct options *o)
{
	static const char *const names[] = { "resnet18", "mobilenetv2" };
	int cpus[MAX_CPUS], n = online_cpus(cpus, MAX_CPUS);
	bool fma = have_fma();
	double peak[3] = { 0 };
	char err[512];

	for (int t = 1; t <= 2 && t <= n; t++)
		peak[t] = measure_peak(t, fma);
	printf("| model | threads | ms per inference (median of %d) | GFLOP/s "
	       "| peak GFLOP/s (%s) | of peak |\n",
	       o->runs, fma ? "AVX2 FMA" : "scalar");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct dnn_model *m = dnn_model_alloc();
		struct dnn_totals tot;

		if (!m || zoo_load_named(o->models, names[k], m, err, sizeof(err))) {
			fprintf(stderr, "cpu-estimate: %s\n", m ? err : "out of memory");
			dnn_model_free(m);
			return 1;
		}
		dnn_model_totals(m, &tot);
		for (int t = 1; t <= 2 && t <= n; t++) {
			double med, gf;

			if (median_ms(m, t, cpus, o->runs, &med, err, sizeof(err))) {
				fprintf(stderr, "cpu-estimate: %s: %s\n", names[k], err);
				dnn_model_free(m);
				return 1;
			}
			gf = tot.flops / (med * 1e6);
			printf("| %s | %d | %.1f | %.1f | %.1f | %.0f%% |\n", names[k], t, med, gf,
			       peak[t], 100 * gf / peak[t]);
		}
		dnn_model_free(m);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cpu-estimate [--platform FILE] [--models DIR] [--seconds S]\n"
		   "                    [--warmup S] [--alpha A] [--limit N]\n"
		   "       cpu-estimate --peak\n"
		   "       cpu-estimate --speed [--runs N] [--models DIR]\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "models", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'l' },
		{ "runs", required_argument, NULL, 'n' },
		{ "peak", no_argument, NULL, 'P' },
		{ "speed", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .seconds = 3, .warmup = 1, .alpha = 0.3, .runs = 25 };
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p': o.platform = optarg; break;
		case 'm': o.models = optarg; break;
		case 's': o.seconds = opt_double_above("--seconds", optarg, 0, DBL_MAX); break;
		case 'w': o.warmup = opt_double("--warmup", optarg, 0, DBL_MAX); break;
		case 'a': o.alpha = opt_double_above("--alpha", optarg, 0, 1); break;
		case 'l': o.limit = (int)opt_long("--limit", optarg, 0, INT_MAX); break;
		case 'n': o.runs = (int)opt_long("--runs", optarg, 1, INT_MAX); break;
		case 'P': o.peak = true; break;
		case 'S': o.speed = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (!o.models)
		o.models = zoo_default_dir();
	if (o.peak)
		return run_peak();
	if (o.speed)
		return run_speed(&o);
	return run_estimate(&o);
}

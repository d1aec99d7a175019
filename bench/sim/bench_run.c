// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * planner-sim's experiments: random mixes decided by every policy and
 * played by the simulator; the gap between RankMap and the exhaustive
 * optimum on instances small enough to enumerate; RankMap's decision time.
 *
 * Every random draw comes from a stream named by (seed, experiment, index),
 * so a mix is the same whichever platforms or policies are chosen, and all
 * policies of one mix see the same simulated arrivals and jitter.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "quantile.h"
#include "bench.h"
#include "sim.h"
#include "sim_rng.h"

/* Streams of the three experiments. */
#define STREAM_MIX 0ULL
#define STREAM_GAP (1ULL << 32)
#define STREAM_DECISION (2ULL << 32)

/* The critical DNN asks for a quarter of what it could do alone, so it fits
 * on most mappings that keep it out of the crowd, and must finish within
 * three times its time alone, which a mapping that piles the others on its
 * units misses: the constraint decides something without being hopeless. */
#define CRITICAL_RATE_OF_POTENTIAL 0.25
#define CRITICAL_TARGET_OF_ALONE 3.0

double bench_percentile(double *v, int n, double pct)
{
	return n > 0 ? quantile(v, (size_t)n, pct / 100) : NAN;
}

/* n distinct models and ranks 1..n in random order. */
static void draw_mix(struct sim_rng *r, int nr_models, int n, int *model, int *rank)
{
	int pool[BENCH_MAX_MODELS];

	for (int i = 0; i < nr_models; i++)
		pool[i] = i;
	for (int i = 0; i < n; i++) {
		int j = i + (int)sim_rng_below(r, nr_models - i), t = pool[i];

		pool[i] = pool[j];
		pool[j] = t;
		model[i] = pool[i];
		rank[i] = i + 1;
	}
	for (int i = n - 1; i > 0; i--) {
		int j = (int)sim_rng_below(r, i + 1), t = rank[i];

		rank[i] = rank[j];
		rank[j] = t;
	}
}

static int prepare(struct plan_problem *pb, const struct plan_platform *pf,
		   struct plan_model *const *models, int n, const int *rank, char *err,
		   size_t errlen)
{
	memset(pb, 0, sizeof(*pb));
	pb->platform = pf;
	pb->nr_dnns = n;
	plan_params_default(&pb->params);
	for (int i = 0; i < n; i++) {
		snprintf(pb->dnn[i].name, sizeof(pb->dnn[i].name), "%s", models[i]->name);
		pb->dnn[i].model = models[i];
		pb->dnn[i].rank = rank[i];
	}
	return plan_problem_prepare(pb, err, errlen);
}

/* Seconds one inference of DNN i takes alone on its best mapping, nothing
 * queued: the yardstick of a critical DNN's latency target. */
static double alone_latency_s(const struct plan_problem *pb, int i)
{
	const struct plan_dnn_map *dm = &pb->potential_map[i].dnn[0];
	const struct plan_model *model = pb->dnn[i].model;
	double t = 0;

	for (int s = 0; s < dm->nr_stages; s++) {
		const struct plan_stage *st = &dm->stages[s];
		const struct plan_unit *u = &pb->platform->units[st->unit];
		int k = st->cores > 0 ? st->cores : u->cores;

		for (int l = st->first; l <= st->last; l++) {
			struct plan_cost c = plan_layer_cost(u, &model->layers[l], k);

			t += c.compute_s + c.memory_s;
		}
		if (s + 1 < dm->nr_stages)
			t += plan_transfer_s(pb->platform, st->unit, dm->stages[s + 1].unit,
					     model->layers[st->last].cut_bytes);
	}
	return t;
}

static void search_cfg(const struct bench_opts *o, uint64_t seed, struct plan_search_cfg *cfg)
{
	plan_search_cfg_default(cfg);
	cfg->seed = seed;
	/* Every mix here is a new decision: a tree kept from an earlier mix
	 * that happens to match would make the decision look cheaper. */
	cfg->keep_tree = false;
	if (o->rankmap_ms > 0)
		cfg->max_ms = o->rankmap_ms;
}

static void trace_run(const struct bench_opts *o, const struct plan_problem *pb,
		      const struct plan_mapping *m, enum plan_policy policy, int mix,
		      const struct bench_run *run)
{
	char text[PLAN_MAX_DNNS * 128], *line, *save;

	if (plan_mapping_format(pb, m, text, sizeof(text)) < 0)
		text[0] = 0;
	line = strtok_r(text, "\n", &save);
	for (int i = 0; i < pb->nr_dnns; i++) {
		const struct bench_dnn *d = &run->dnn[i];

		fprintf(o->trace, "%s\t%d\t%d\t%s\t%s\t%d\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\t%s\n",
			pb->platform->name, mix, pb->dnn[i].critical, plan_policy_name(policy),
			pb->dnn[i].name, d->rank, d->potential, d->est_tp, d->sim_tp, d->sim_lat_ms,
			d->target_ms, line ? line : "");
		line = strtok_r(NULL, "\n", &save);
	}
}

static void run_policy(const struct bench_opts *o, struct planner *pl, struct plan_problem *pb,
		       enum plan_policy policy, int mix, uint64_t seed, struct bench_run *run)
{
	struct plan_search_cfg cfg;
	struct plan_result res;
	struct plan_estimate est;
	struct sim_config sc;
	struct sim_result sr;
	char err[256];
	double t0;
	int rc;

	search_cfg(o, seed, &cfg);
	t0 = mono_ms();
	rc = plan_policy_run(policy, pl, pb, &cfg, &res, err, sizeof(err));
	run->decision_ms = mono_ms() - t0;
	if (rc) {
		fprintf(stderr, "planner-sim: %s: %s\n", plan_policy_name(policy), err);
		return;
	}
	/* The simulator needs the cores and weights the estimator gives. */
	plan_estimate(pb, &res.mapping, &est);

	sim_config_default(&sc);
	sc.duration_s = o->sim_seconds;
	sc.warmup_s = o->warmup_seconds;
	sc.seed = seed;
	t0 = cputime_ms();
	rc = sim_run(pb, &res.mapping, &sc, &sr, err, sizeof(err));
	run->sim_cpu_ms = cputime_ms() - t0;
	if (rc) {
		fprintf(stderr, "planner-sim: %s: simulator: %s\n", plan_policy_name(policy), err);
		return;
	}
	run->sim_events = sr.events;
	for (int i = 0; i < pb->nr_dnns; i++) {
		struct bench_dnn *d = &run->dnn[i];

		d->rank = pb->dnn[i].rank;
		d->potential = pb->potential[i];
		d->est_tp = est.throughput[i];
		d->sim_tp = sr.dnn[i].throughput;
		d->sim_lat_ms = sr.dnn[i].latency_ms;
		d->sim_p99_ms = sr.dnn[i].latency_p99_ms;
		d->target_ms = pb->dnn[i].critical ? pb->dnn[i].latency_ms : 0;
	}
	run->ok = true;
	if (o->trace)
		trace_run(o, pb, &res.mapping, policy, mix, run);
}

static int run_mix(const struct bench_opts *o, struct planner *pl, const struct plan_platform *pf,
		   const struct bench_zoo *zoo, int k, struct bench_mix *mix)
{
	struct plan_problem *pb = malloc(sizeof(*pb));
	struct plan_model *models[PLAN_MAX_DNNS] = { NULL };
	int model[PLAN_MAX_DNNS], rank[PLAN_MAX_DNNS];
	struct sim_rng rng;
	char err[256];
	int n = o->sizes[k % o->nr_sizes];

	if (!pb)
		return -1;
	if (n > zoo->nr)
		n = zoo->nr;
	sim_rng_seed(&rng, o->seed, STREAM_MIX + k);
	draw_mix(&rng, zoo->nr, n, model, rank);
	for (int i = 0; i < n; i++)
		models[i] = zoo->model[model[i]];
	if (prepare(pb, pf, models, n, rank, err, sizeof(err))) {
		fprintf(stderr, "planner-sim: %s: mix %d: %s\n", pf->name, k, err);
		free(pb);
		return -1;
	}
	mix->nr_dnns = n;
	mix->critical = k >= o->mixes;
	for (int i = 0; i < n; i++)
		if (rank[i] == 1)
			mix->top = i;
	if (mix->critical) {
		struct plan_workload *w = &pb->dnn[mix->top];

		w->critical = true;
		w->rate_hz = CRITICAL_RATE_OF_POTENTIAL * pb->potential[mix->top];
		w->latency_ms = CRITICAL_TARGET_OF_ALONE * 1e3 * alone_latency_s(pb, mix->top);
	}
	for (int p = 0; p < PLAN_POLICY__COUNT; p++) {
		if (!o->policy[p] && p != PLAN_POLICY_LINUX)
			continue;
		run_policy(o, pl, pb, p, k, o->seed ^ ((uint64_t)k << 20), &mix->run[p]);
	}
	plan_problem_release(pb);
	free(pb);
	return 0;
}

/* A copy of src that may be cut at only `keep` places, spread evenly over
 * its cut points, so that exhaustive search of a small mix stays small. */
static void thin_cuts(const struct plan_model *src, struct plan_model *dst, int keep)
{
	int cuts[PLAN_MAX_LAYERS], n = 0;

	*dst = *src;
	for (int l = 0; l + 1 < src->nr_layers; l++)
		if (src->layers[l].cut_after)
			cuts[n++] = l;
	for (int l = 0; l < dst->nr_layers; l++)
		dst->layers[l].cut_after = false;
	if (keep > n)
		keep = n;
	for (int j = 0; j < keep; j++)
		dst->layers[cuts[(int)((j + 0.5) * n / keep)]].cut_after = true;
}

static void run_gaps(const struct bench_opts *o, struct planner *pl, const struct plan_platform *pf,
		     const struct bench_zoo *zoo, struct bench_platform *out)
{
	struct plan_problem *pb = malloc(sizeof(*pb));
	struct plan_model *thin[3] = { NULL };
	struct plan_result *res = malloc(sizeof(*res));

	out->gap = calloc(o->gap_instances > 0 ? o->gap_instances : 1, sizeof(*out->gap));
	for (int i = 0; i < 3; i++)
		thin[i] = malloc(sizeof(*thin[i]));
	if (!pb || !res || !out->gap || !thin[0] || !thin[1] || !thin[2]) {
		snprintf(out->error, sizeof(out->error), "out of memory for the gap instances");
		goto out;
	}
	for (int g = 0; g < o->gap_instances; g++) {
		int n = 2 + g % 2, model[3], rank[3];
		struct plan_search_cfg cfg;
		struct bench_gap *gap = &out->gap[out->nr_gaps];
		struct sim_rng rng;
		char err[256];
		double t0;

		sim_rng_seed(&rng, o->seed, STREAM_GAP + g);
		draw_mix(&rng, zoo->nr, n, model, rank);
		for (int i = 0; i < n; i++)
			thin_cuts(zoo->model[model[i]], thin[i], o->gap_cuts);
		if (prepare(pb, pf, thin, n, rank, err, sizeof(err))) {
			fprintf(stderr, "planner-sim: %s: gap %d: %s\n", pf->name, g, err);
			out->gaps_skipped++;
			continue;
		}
		gap->space = plan_space_size(pb);
		t0 = mono_ms();
		if (plan_exhaustive(pb, o->gap_limit, false, res, err, sizeof(err))) {
			out->gaps_skipped++;
			plan_problem_release(pb);
			continue;
		}
		gap->exhaustive_ms = mono_ms() - t0;
		gap->optimum = res->reward;
		search_cfg(o, o->seed ^ g, &cfg);
		if (plan_policy_run(PLAN_POLICY_RANKMAP, pl, pb, &cfg, res, err, sizeof(err))) {
			fprintf(stderr, "planner-sim: %s: gap %d: rankmap: %s\n", pf->name, g, err);
			out->gaps_skipped++;
		} else {
			gap->rankmap = res->reward;
			gap->scored_whole = res->exhaustive;
			out->nr_gaps++;
		}
		plan_problem_release(pb);
	}
out:
	for (int i = 0; i < 3; i++)
		free(thin[i]);
	free(res);
	free(pb);
}

static void describe_units(const struct plan_platform *pf, struct bench_platform *out)
{
	size_t len = 0;

	out->nr_search_units = 0;
	for (int u = 0; u < pf->nr_units; u++) {
		const struct plan_unit *pu = &pf->units[u];

		if (pu->aggregate)
			continue;
		out->nr_search_units++;
		len += snprintf(out->units + len,
				len < sizeof(out->units) ? sizeof(out->units) - len : 0,
				pu->kind == PLAN_UNIT_CPU ? "%s%s (%d cores)" : "%s%s (GPU)",
				len ? ", " : "", pu->name, pu->cores);
		if (len >= sizeof(out->units))
			break;
	}
}

int bench_platform_run(const struct bench_opts *o, const struct plan_platform *pf,
		       const struct bench_zoo *zoo, struct bench_platform *out)
{
	int total = o->mixes + o->critical_mixes;
	struct planner *pl = planner_create(BENCH_ARENA_BYTES);

	snprintf(out->name, sizeof(out->name), "%s", pf->name);
	describe_units(pf, out);
	out->mix = calloc(total > 0 ? total : 1, sizeof(*out->mix));
	if (!pl || !out->mix) {
		planner_destroy(pl);
		snprintf(out->error, sizeof(out->error), "out of memory");
		return -1;
	}
	for (int k = 0; k < total; k++) {
		if (run_mix(o, pl, pf, zoo, k, &out->mix[out->nr_mixes]) == 0)
			out->nr_mixes++;
		if ((k + 1) % 25 == 0 || k + 1 == total)
			fprintf(stderr, "planner-sim: %s: %d/%d mixes\n", pf->name, k + 1, total);
	}
	run_gaps(o, pl, pf, zoo, out);
	fprintf(stderr, "planner-sim: %s: %d gap instances (%d skipped)\n", pf->name, out->nr_gaps,
		out->gaps_skipped);
	planner_destroy(pl);
	return 0;
}

int bench_decisions_run(const struct bench_opts *o, const struct plan_platform *pf,
			const struct bench_zoo *zoo, struct bench_decisions *out)
{
	struct planner *pl = planner_create(BENCH_ARENA_BYTES);
	struct plan_problem *pb = malloc(sizeof(*pb));
	struct plan_result *res = malloc(sizeof(*res));
	int n = o->decision_dnns < zoo->nr ? o->decision_dnns : zoo->nr, ret = -1;
	struct plan_model *models[PLAN_MAX_DNNS];
	int model[PLAN_MAX_DNNS], rank[PLAN_MAX_DNNS];

	snprintf(out->platform, sizeof(out->platform), "%s", pf->name);
	out->nr_dnns = n;
	out->nr_units = 0;
	for (int u = 0; u < pf->nr_units; u++)
		out->nr_units += !pf->units[u].aggregate;
	out->ms = calloc(o->decisions > 0 ? o->decisions : 1, sizeof(*out->ms));
	out->iterations = calloc(o->decisions > 0 ? o->decisions : 1, sizeof(*out->iterations));
	if (!pl || !pb || !res || !out->ms || !out->iterations) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		goto out;
	}
	for (int d = 0; d < o->decisions; d++) {
		struct plan_search_cfg cfg;
		struct sim_rng rng;
		char err[200];
		double t0, t1;
		int rc;

		sim_rng_seed(&rng, o->seed, STREAM_DECISION + d);
		draw_mix(&rng, zoo->nr, n, model, rank);
		for (int i = 0; i < n; i++)
			models[i] = zoo->model[model[i]];
		if (prepare(pb, pf, models, n, rank, err, sizeof(err))) {
			snprintf(out->error, sizeof(out->error), "%s", err);
			goto out;
		}
		search_cfg(o, o->seed ^ d, &cfg);
		out->budget_ms = cfg.max_ms;
		t0 = mono_ms();
		rc = plan_policy_run(PLAN_POLICY_RANKMAP, pl, pb, &cfg, res, err, sizeof(err));
		t1 = mono_ms();
		plan_problem_release(pb);
		if (rc) {
			snprintf(out->error, sizeof(out->error), "rankmap: %s", err);
			goto out;
		}
		out->ms[out->n] = t1 - t0;
		out->iterations[out->n++] = res->iterations;
	}
	ret = 0;
out:
	free(res);
	free(pb);
	planner_destroy(pl);
	return ret;
}

void bench_results_free(struct bench_results *r)
{
	for (int p = 0; p < r->nr_platforms; p++) {
		free(r->platform[p].mix);
		free(r->platform[p].gap);
	}
	free(r->decisions.ms);
	free(r->decisions.iterations);
}

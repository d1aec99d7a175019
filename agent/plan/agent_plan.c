// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The planning step of the agent. The planner is pure and knows nothing of
 * cgroups; this file turns the workload registry into its problem: every
 * workload with a model is a DNN, ranked by its level, critical when its
 * level ranks first and it has a latency target. Models are loaded once and
 * kept, so a new mix costs a search and no file reads.
 *
 * The search runs on the agent's only thread, between two ticks, so it gets
 * a time budget (planner.budget_ms) and one arena fixed at start: a bigger
 * mix makes a shallower tree, never a longer stall or a growing heap. The
 * tree is kept while the mix holds, so the periodic searches go on where
 * the last one stopped.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "plan/agent_plan.h"
#include "config/config_sched.h"
#include "log.h"

_Static_assert(CONFIG_MODEL_MAX == PLAN_NAME_MAX, "a model name must fit the planner's");
_Static_assert(TRIAGE_NAME_MAX <= PLAN_NAME_MAX, "a workload name must fit the planner's");

static void forget_mix(struct agent_plan *ap)
{
	if (ap->prepared)
		plan_problem_release(ap->pb);
	ap->prepared = false;
	ap->search_due = false;
	ap->nr_dnns = 0;
	ap->have_result = false;
	ap->mapping_text[0] = '\0';
}

void agent_plan_off(struct agent_plan *ap, const char *fmt, ...)
{
	va_list ap_args;

	if (ap->state != AGENT_PLAN_ON)
		return;
	va_start(ap_args, fmt);
	vsnprintf(ap->why, sizeof(ap->why), fmt, ap_args);
	va_end(ap_args);
	ap->state = AGENT_PLAN_OFF;
	forget_mix(ap);
	log_warn("planner: off: %s", ap->why);
}

int agent_plan_init(struct agent_plan *ap, const struct planner_cfg *cfg,
		    const struct plan_platform *platform, const char *platform_desc,
		    const struct agent_plan_source *src)
{
	memset(ap, 0, sizeof(*ap));
	ap->cfg = *cfg;
	if (src)
		ap->src = *src;
	if (!cfg->enabled) {
		ap->state = AGENT_PLAN_DISABLED;
		snprintf(ap->why, sizeof(ap->why), "planner.enabled is false in the config");
		return 0;
	}
	ap->state = AGENT_PLAN_ON;
	if (!platform) {
		agent_plan_off(ap, "%s", platform_desc);
		return -1;
	}
	ap->platform = ap->full = *platform;
	ap->gpu_on = true;
	snprintf(ap->platform_desc, sizeof(ap->platform_desc), "%s", platform_desc);
	ap->pb = calloc(1, sizeof(*ap->pb));
	ap->pl = planner_create(AGENT_PLAN_ARENA_BYTES);
	if (!ap->pb || !ap->pl) {
		agent_plan_off(ap, "no memory for the search tree (%u MiB)",
			       AGENT_PLAN_ARENA_BYTES >> 20);
		return -1;
	}
	return 0;
}

void agent_plan_close(struct agent_plan *ap)
{
	forget_mix(ap);
	for (int i = 0; i < ap->nr_models; i++)
		free(ap->models[i].model);
	ap->nr_models = 0;
	free(ap->pb);
	ap->pb = NULL;
	if (ap->pl)
		planner_destroy(ap->pl);
	ap->pl = NULL;
}

const struct plan_model *agent_plan_model(struct agent_plan *ap, const char *name, char *err,
					  size_t errlen)
{
	struct plan_model *m;
	char why[640], there[512] = "";

	for (int i = 0; i < ap->nr_models; i++)
		if (!strcmp(ap->models[i].name, name))
			return ap->models[i].model;
	if (!ap->src.load_model) {
		snprintf(err, errlen, "model %s: no model zoo to load it from", name);
		return NULL;
	}
	if (ap->nr_models >= AGENT_PLAN_MAX_MODELS) {
		snprintf(err, errlen, "model %s: already %d distinct models loaded, no more", name,
			 AGENT_PLAN_MAX_MODELS);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "model %s: %s", name, strerror(ENOMEM));
		return NULL;
	}
	if (ap->src.load_model(ap->src.ctx, name, m, why, sizeof(why))) {
		free(m);
		if (ap->src.list_models)
			ap->src.list_models(ap->src.ctx, there, sizeof(there));
		if (ap->src.list_models)
			snprintf(err, errlen, "%s (available: %s)", why, there[0] ? there : "none");
		else
			snprintf(err, errlen, "%s", why);
		return NULL;
	}
	snprintf(ap->models[ap->nr_models].name, sizeof(ap->models[0].name), "%s", name);
	ap->models[ap->nr_models++].model = m;
	return m;
}

/* full's units but its GPU ones (when off), and the transfer costs between
 * those left. */
static void platform_of(const struct plan_platform *full, bool gpu, struct plan_platform *out)
{
	int map[PLAN_MAX_UNITS], n = 0;

	*out = *full;
	for (int u = 0; u < full->nr_units; u++) {
		map[u] = -1;
		if (gpu || full->units[u].kind != PLAN_UNIT_GPU)
			map[u] = n++;
	}
	out->nr_units = n;
	for (int a = 0; a < full->nr_units; a++) {
		if (map[a] < 0)
			continue;
		out->units[map[a]] = full->units[a];
		for (int b = 0; b < full->nr_units; b++) {
			if (map[b] < 0)
				continue;
			out->xfer_gbps[map[a]][map[b]] = full->xfer_gbps[a][b];
			out->xfer_us[map[a]][map[b]] = full->xfer_us[a][b];
		}
	}
}

void agent_plan_set_gpu(struct agent_plan *ap, bool on)
{
	int gpus = 0;

	if (ap->state != AGENT_PLAN_ON || on == ap->gpu_on)
		return;
	for (int u = 0; u < ap->full.nr_units; u++)
		gpus += ap->full.units[u].kind == PLAN_UNIT_GPU;
	ap->gpu_on = on;
	if (!gpus)
		return;
	platform_of(&ap->full, on, &ap->platform);
	/* Unit indices moved: the mix is planned anew at the next step. */
	forget_mix(ap);
	ap->seen_any = false;
	log_info("planner: %s %d GPU unit%s of %s (triage-gpud %s)", on ? "plans on" : "leaves out",
		 gpus, gpus == 1 ? "" : "s", ap->full.name, on ? "serves" : "is not running");
}

bool agent_plan_outside(const struct agent_plan *ap, const struct triage_config *cfg, int level)
{
	for (int u = 0; ap->state == AGENT_PLAN_ON && u < ap->platform.nr_units; u++)
		if (ap->platform.units[u].kind == PLAN_UNIT_GPU)
			return false;
	return config_sched_realtime(&cfg->levels[level].sched);
}

int agent_plan_find(const struct agent_plan *ap, uint32_t wl_id)
{
	for (int i = 0; i < ap->nr_dnns; i++)
		if (ap->dnn[i].wl_id == wl_id)
			return i;
	return -1;
}

/* Most important first; the name breaks ties so that the order, and with
 * it the search for a seed, does not depend on the registry's order. */
static bool dnn_before(const struct agent_plan_dnn *a, const struct agent_plan_dnn *b)
{
	int c;

	if (a->rank != b->rank)
		return a->rank < b->rank;
	c = strcmp(a->name, b->name);
	return c ? c < 0 : a->wl_id < b->wl_id;
}

/* The PLAN_MAX_DNNS most important modeled workloads into mix, sorted;
 * returns how many, and in *left_out how many more there were. */
static int collect_mix(const struct agent_plan *ap, const struct triage_config *cfg,
		       const struct workloads *reg,
		       struct agent_plan_dnn mix[PLAN_MAX_DNNS], int *left_out)
{
	int nr = 0;

	*left_out = 0;
	for (int k = 0; k < reg->nr; k++) {
		const struct workload *w = reg->wl[k];
		struct agent_plan_dnn d;
		int at;

		/* A real-time level's DNN runs whole, ahead of every other
		 * on any CPU (clients.c): not the plan's to map. The others
		 * are planned on what it leaves, which their measured
		 * throughput teaches the estimates. */
		if (!w->model[0] || agent_plan_outside(ap, cfg, w->level))
			continue;
		memset(&d, 0, sizeof(d));
		d.wl_id = w->id;
		d.level = w->level;
		d.rank = cfg->levels[w->level].rank;
		snprintf(d.name, sizeof(d.name), "%.15s/%.15s", cfg->levels[w->level].name,
			 w->name);
		snprintf(d.model, sizeof(d.model), "%s", w->model);
		d.latency_ms = w->latency_ms;
		d.rate_hz = w->rate_hz;
		d.correction = 1;
		for (at = nr; at > 0 && dnn_before(&d, &mix[at - 1]); at--)
			;
		if (at >= PLAN_MAX_DNNS) {
			(*left_out)++;
			continue;
		}
		if (nr == PLAN_MAX_DNNS)
			(*left_out)++;
		else
			nr++;
		memmove(&mix[at + 1], &mix[at], (size_t)(nr - 1 - at) * sizeof(mix[0]));
		mix[at] = d;
	}
	return nr;
}

static bool same_mix(const struct agent_plan *ap, const struct agent_plan_dnn *mix, int nr)
{
	if (nr != ap->nr_dnns)
		return false;
	for (int i = 0; i < nr; i++) {
		const struct agent_plan_dnn *a = &ap->dnn[i], *b = &mix[i];

		if (a->wl_id != b->wl_id || a->rank != b->rank || strcmp(a->name, b->name) ||
		    strcmp(a->model, b->model) || a->latency_ms != b->latency_ms ||
		    a->rate_hz != b->rate_hz)
			return false;
	}
	return true;
}

/* A new problem for the mix in ap->dnn: models, ranks, P_i. */
static int build_problem(struct agent_plan *ap, const struct triage_config *cfg)
{
	struct plan_problem *pb = ap->pb;
	char err[768];

	if (ap->prepared)
		plan_problem_release(pb);
	ap->prepared = false;
	memset(pb, 0, sizeof(*pb));
	pb->platform = &ap->platform;
	pb->nr_dnns = ap->nr_dnns;
	plan_params_default(&pb->params);
	pb->params.floor = ap->cfg.floor;
	pb->params.rank_decay = ap->cfg.rank_decay;
	for (int i = 0; i < ap->nr_dnns; i++) {
		const struct agent_plan_dnn *d = &ap->dnn[i];
		struct plan_workload *w = &pb->dnn[i];

		w->model = agent_plan_model(ap, d->model, err, sizeof(err));
		if (!w->model) {
			agent_plan_off(ap, "workload %s: %s", d->name, err);
			return -1;
		}
		snprintf(w->name, sizeof(w->name), "%s", d->name);
		w->rank = d->rank;
		w->latency_ms = d->latency_ms;
		w->rate_hz = d->rate_hz;
		w->critical = cfg->levels[d->level].rank == 1 && d->latency_ms > 0;
		pb->correction[i] = d->correction > 0 ? d->correction : 1;
	}
	if (plan_problem_prepare(pb, err, sizeof(err))) {
		agent_plan_off(ap, "%s", err);
		return -1;
	}
	ap->prepared = true;
	return 0;
}

static void log_decision(const struct agent_plan *ap)
{
	const struct plan_result *r = &ap->res;
	const char *line = ap->mapping_text;

	log_info("planner: plan for %d DNN%s on %s: reward %.3f, %u iterations, %.1f ms%s",
		 ap->nr_dnns, ap->nr_dnns == 1 ? "" : "s", ap->platform.name, r->reward,
		 r->iterations, ap->decision_ms, r->arena_full ? " (search tree full)" : "");
	for (int i = 0; i < ap->nr_dnns && *line; i++) {
		int len = (int)strcspn(line, "\n");

		log_info("planner:   %.*s (%s): %.1f/s, %.1f ms", len, line, ap->dnn[i].model,
			 r->estimate.throughput[i], r->estimate.latency_ms[i]);
		line += len;
		if (*line)
			line++;
	}
}

/* max_ms: what is left of the budget this tick. */
static int search(struct agent_plan *ap, uint64_t now_ns, double max_ms)
{
	double started_ms = mono_ms();
	struct plan_search_cfg sc;
	char err[512], text[sizeof(ap->mapping_text)];

	plan_search_cfg_default(&sc);
	sc.seed = ap->cfg.seed;
	sc.max_iterations = ap->cfg.iterations;
	sc.max_ms = max_ms;
	sc.keep_tree = true;
	ap->search_due = false;
	if (planner_search(ap->pl, ap->pb, &sc, &ap->res, err, sizeof(err))) {
		agent_plan_off(ap, "search: %s", err);
		return -1;
	}
	ap->search_ms = mono_ms() - started_ms;
	ap->decision_ms = ap->prepare_ms + ap->search_ms;
	ap->prepare_ms = 0;
	ap->searched_ns = now_ns;
	ap->nr_searches++;
	ap->have_result = true;
	if (plan_mapping_format(ap->pb, &ap->res.mapping, text, sizeof(text)) < 0)
		snprintf(text + sizeof(text) - 4, 4, "...");
	if (!strcmp(text, ap->mapping_text)) {
		log_debug("planner: same plan (reward %.3f, %u iterations, %.1f ms)",
			  ap->res.reward, ap->res.iterations, ap->decision_ms);
		return 1;
	}
	memcpy(ap->mapping_text, text, sizeof(text));
	ap->decided_unix = wall_s();
	ap->nr_decisions++;
	log_decision(ap);
	return 1;
}

/* A new mix costs P_i of every DNN before the search (an exhaustive search
 * of each alone, milliseconds for a big mix): when that ate the budget,
 * the search waits for the next tick, so one tick never stalls for both. */
static int plan_new_mix(struct agent_plan *ap, const struct triage_config *cfg, uint64_t now_ns)
{
	double started_ms = mono_ms();

	if (build_problem(ap, cfg))
		return -1;
	ap->prepare_ms = mono_ms() - started_ms;
	if (ap->prepare_ms >= ap->cfg.budget_ms / 2) {
		ap->search_due = true;
		return 0;
	}
	return search(ap, now_ns, ap->cfg.budget_ms - ap->prepare_ms);
}

int agent_plan_step(struct agent_plan *ap, const struct triage_config *cfg,
		    const struct workloads *reg, uint64_t now_ns)
{
	struct agent_plan_dnn mix[PLAN_MAX_DNNS];
	int nr, left_out;

	if (ap->state != AGENT_PLAN_ON)
		return 0;
	if (!ap->seen_any || reg->generation != ap->seen_generation) {
		ap->seen_any = true;
		ap->seen_generation = reg->generation;
		nr = collect_mix(ap, cfg, reg, mix, &left_out);
		if (left_out && !ap->nr_left_out)
			log_warn("planner: %d modeled workloads, the planner takes %d: the %d least important are not planned",
				 nr + left_out, PLAN_MAX_DNNS, left_out);
		ap->nr_left_out = left_out;
		if (!same_mix(ap, mix, nr)) {
			bool had = ap->nr_dnns > 0;

			/* What was learnt of a DNN outlives a change of the mix. */
			for (int k = 0; k < nr; k++) {
				int old = agent_plan_find(ap, mix[k].wl_id);

				if (old >= 0 && !strcmp(ap->dnn[old].model, mix[k].model))
					mix[k].correction = ap->dnn[old].correction;
			}
			forget_mix(ap);
			memcpy(ap->dnn, mix, (size_t)nr * sizeof(mix[0]));
			ap->nr_dnns = nr;
			if (nr)
				return plan_new_mix(ap, cfg, now_ns);
			if (had)
				log_info("planner: no modeled workload left, nothing to plan");
			return 0;
		}
	}
	if (ap->search_due)
		return search(ap, now_ns, ap->cfg.budget_ms);
	if (!ap->nr_dnns || now_ns - ap->searched_ns < ap->cfg.replan_ms * 1000000ull)
		return 0;
	return search(ap, now_ns, ap->cfg.budget_ms);
}

int agent_plan_measured(struct agent_plan *ap, uint32_t wl_id, double throughput,
			uint64_t now_ns)
{
	int i = agent_plan_find(ap, wl_id);
	double estimated, drift;

	if (ap->state != AGENT_PLAN_ON || i < 0 || !ap->have_result || !ap->prepared ||
	    !(throughput > 0))
		return 0;
	estimated = ap->res.estimate.throughput[i];
	if (!(estimated > 0))
		return 0;
	ap->dnn[i].measured = throughput;
	ap->dnn[i].correction = plan_correction_update(ap->pb->correction[i], throughput, estimated,
						       AGENT_PLAN_CORRECTION_ALPHA);
	ap->pb->correction[i] = ap->dnn[i].correction;
	/* The next sample is weighed against an estimate made with the
	 * correction it updates. */
	plan_estimate(ap->pb, &ap->res.mapping, &ap->res.estimate);
	drift = throughput / estimated - 1;
	if (fabs(drift) <= AGENT_PLAN_DRIFT || ap->search_due ||
	    now_ns - ap->searched_ns < AGENT_PLAN_DRIFT_HOLD_MS * 1000000ull)
		return 0;
	log_info("planner: %s measured %.1f/s, estimated %.1f/s (%+.0f%%): planning again",
		 ap->dnn[i].name, throughput, estimated, 100 * drift);
	ap->search_due = true;
	return 1;
}

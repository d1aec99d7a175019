// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The simulator's set-up and results: checking the mapping, the per-layer
 * costs of every stage at the cores it runs with (from plan_layer_cost, the
 * estimator's own basis), the jitter table, and the figures of a finished
 * run. The event loop is in sim.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantile.h"
#include "sim_impl.h"

void sim_config_default(struct sim_config *c)
{
	c->duration_s = 10.0;
	c->warmup_s = 1.0;
	c->seed = 1;
	c->jitter_cv = 0.10;
	c->queue_depth = PLAN_QUEUE_DEPTH;
}

/* What a running layer draws from DRAM: its traffic spread over its time
 * alone. plan_layer_cost() puts a memory-bound layer's whole traffic time
 * in memory_s and a compute-bound layer's in nothing, so traffic / memory_s
 * would be the unit's link speed for the first and undefined for the
 * second, which still moves its bytes. Spread over compute_s + memory_s,
 * the draw of the first is that link speed (less the launch cost) and the
 * second counts too; over a run the draws add up to the estimator's
 * traffic, throughput times bytes per inference. */
static double layer_dram_bps(const struct plan_layer *l, const struct plan_cost *c)
{
	double t = c->compute_s + c->memory_s;
	double bytes = l->param_bytes + l->in_bytes + l->out_bytes;

	return t > 0 ? bytes / t : 0;
}

/* ---- jitter ------------------------------------------------------------------ */

static double normal_quantile(double p)
{
	double x = 0;

	if (p > 0.5)
		return -normal_quantile(1 - p);
	/* Newton from 0: the CDF is convex below 0, so the iterates fall
	 * monotonically onto the root without overshooting. */
	for (int i = 0; i < 200; i++) {
		double step = (0.5 * erfc(-x / M_SQRT2) - p) / (exp(-0.5 * x * x) / sqrt(2 * M_PI));

		x -= step;
		if (fabs(step) < 1e-12)
			break;
	}
	return x;
}

/* Lognormal levels at the midpoints of SIM_JITTER_LEVELS equal slices of
 * probability, scaled so that their mean is exactly 1: a layer's expected
 * time is its cost, as the estimator assumes. The standard normal
 * quantiles are the same for every run, so they are computed once. */
static void jitter_table(double cv, double *table)
{
	static double z[SIM_JITTER_LEVELS];
	static bool z_ready;
	double sigma = sqrt(log1p(cv * cv)), sum = 0;

	if (!z_ready) {
		for (int k = 0; k < SIM_JITTER_LEVELS; k++)
			z[k] = normal_quantile((k + 0.5) / SIM_JITTER_LEVELS);
		z_ready = true;
	}
	for (int k = 0; k < SIM_JITTER_LEVELS; k++) {
		table[k] = exp(sigma * z[k]);
		sum += table[k];
	}
	for (int k = 0; k < SIM_JITTER_LEVELS; k++)
		table[k] *= SIM_JITTER_LEVELS / sum;
}

/* ---- set-up ---------------------------------------------------------------- */

static int check_dnn(const struct sim *s, const struct plan_problem *pb,
		     const struct plan_mapping *m, int d, char *err, size_t errlen)
{
	const struct plan_model *model = pb->dnn[d].model;
	const struct plan_dnn_map *dm = &m->dnn[d];
	int next = 0;

	if (!model || model->nr_layers <= 0) {
		snprintf(err, errlen, "dnn %d: no model or no layers", d);
		return -1;
	}
	if (dm->nr_stages < 1 || dm->nr_stages > PLAN_MAX_STAGES) {
		snprintf(err, errlen, "%s: %d stages", model->name, dm->nr_stages);
		return -1;
	}
	for (int i = 0; i < dm->nr_stages; i++) {
		const struct plan_stage *ps = &dm->stages[i];

		if (ps->unit < 0 || ps->unit >= s->pf->nr_units || ps->first != next ||
		    ps->last < ps->first || ps->last >= model->nr_layers || ps->cores < 0) {
			snprintf(err, errlen,
				 "%s: stage %d (unit %d, layers %d-%d, %d cores) invalid",
				 model->name, i, ps->unit, ps->first, ps->last, ps->cores);
			return -1;
		}
		next = ps->last + 1;
	}
	if (next != model->nr_layers) {
		snprintf(err, errlen, "%s: stages end at layer %d of %d", model->name, next,
			 model->nr_layers);
		return -1;
	}
	return 0;
}

/* Cores nobody owns on each CPU unit: what the time-sharing stages share. */
static int count_pools(struct sim *s, const struct plan_mapping *m, char *err, size_t errlen)
{
	int owned[PLAN_MAX_UNITS] = { 0 };
	bool sharers[PLAN_MAX_UNITS] = { false };

	for (int d = 0; d < m->nr_dnns; d++)
		for (int i = 0; i < m->dnn[d].nr_stages; i++) {
			const struct plan_stage *ps = &m->dnn[d].stages[i];

			if (s->pf->units[ps->unit].kind == PLAN_UNIT_GPU)
				continue;
			owned[ps->unit] += ps->cores;
			sharers[ps->unit] |= ps->cores == 0;
		}
	for (int u = 0; u < s->pf->nr_units; u++) {
		const struct plan_unit *pu = &s->pf->units[u];

		s->pool_cores[u] = pu->cores - owned[u];
		s->inv_cores[u] = pu->cores > 0 ? 1.0 / pu->cores : 0;
		if (pu->kind == PLAN_UNIT_GPU)
			continue;
		if (s->pool_cores[u] < 0 || (sharers[u] && s->pool_cores[u] == 0)) {
			snprintf(err, errlen, "unit %s: stages own %d of %d cores%s", pu->name,
				 owned[u], pu->cores,
				 sharers[u] ? " and others time-share none" : "");
			return -1;
		}
	}
	return 0;
}

int sim_setup(struct sim *s, const struct plan_problem *pb, const struct plan_mapping *m,
	      const struct sim_config *cfg, char *err, size_t errlen)
{
	size_t nr_costs = 0, used = 0;

	if (!pb->platform || pb->platform->nr_units < 1 ||
	    pb->platform->nr_units > PLAN_MAX_UNITS) {
		snprintf(err, errlen, "no platform or no unit");
		return -1;
	}
	s->pf = pb->platform;
	if (pb->nr_dnns < 1 || pb->nr_dnns > PLAN_MAX_DNNS || m->nr_dnns != pb->nr_dnns) {
		snprintf(err, errlen, "%d DNNs in the problem, %d in the mapping", pb->nr_dnns,
			 m->nr_dnns);
		return -1;
	}
	if (!(cfg->duration_s > 0) || !(cfg->warmup_s >= 0) || !(cfg->jitter_cv >= 0) ||
	    cfg->queue_depth < 1 || cfg->queue_depth > SIM_MAX_QUEUE_DEPTH) {
		snprintf(err, errlen,
			 "bad configuration: duration %g s, warm-up %g s, jitter %g, "
			 "queue depth %d (1..%d)",
			 cfg->duration_s, cfg->warmup_s, cfg->jitter_cv, cfg->queue_depth,
			 SIM_MAX_QUEUE_DEPTH);
		return -1;
	}
	for (int d = 0; d < pb->nr_dnns; d++) {
		if (check_dnn(s, pb, m, d, err, errlen))
			return -1;
		nr_costs += pb->dnn[d].model->nr_layers;
	}
	if (count_pools(s, m, err, errlen))
		return -1;
	s->costs = malloc(nr_costs * sizeof(*s->costs));
	if (!s->costs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}

	s->depth = cfg->queue_depth;
	s->window_start = cfg->warmup_s;
	s->end = cfg->warmup_s + cfg->duration_s;
	jitter_table(cfg->jitter_cv, s->jitter);
	s->dram_bps = s->pf->dram_gbps * 1e9;
	s->inflation = 1.0;
	s->nr_flows = pb->nr_dnns;

	for (int d = 0; d < pb->nr_dnns; d++) {
		const struct plan_model *model = pb->dnn[d].model;
		const struct plan_dnn_map *dm = &m->dnn[d];
		struct flow *f = &s->flows[d];

		f->nr_stages = dm->nr_stages;
		f->rate_hz = pb->dnn[d].rate_hz;
		f->out = &s->res->dnn[d];
		sim_rng_seed(&f->rng, cfg->seed, (uint64_t)d * (PLAN_MAX_STAGES + 1));
		if (f->rate_hz > 0)
			f->next_arrival = sim_rng_exponential(&f->rng, 1.0 / f->rate_hz);
		for (int i = 0; i < dm->nr_stages; i++) {
			const struct plan_stage *ps = &dm->stages[i];
			const struct plan_unit *pu = &s->pf->units[ps->unit];
			struct stage *st = &s->stages[s->nr_stages++];
			struct layer_cost *c = &s->costs[used];
			int k;

			f->stage[i] = st;
			st->dnn = d;
			st->idx = i;
			st->unit = ps->unit;
			st->first = ps->first;
			st->last = ps->last;
			st->weight = ps->weight > 0
					     ? ps->weight
					     : plan_rank_weight(&pb->params, pb->dnn[d].rank);
			if (!(st->weight > 0)) {
				snprintf(err, errlen, "%s: stage %d has weight %g", model->name, i,
					 st->weight);
				return -1;
			}
			st->inv_weight = 1 / st->weight;
			st->shared = pu->kind == PLAN_UNIT_GPU || ps->cores == 0;
			st->owned = st->shared ? 0 : ps->cores;
			k = pu->kind == PLAN_UNIT_GPU ? pu->cores
			    : st->shared	      ? s->pool_cores[ps->unit]
						      : ps->cores;
			for (int l = ps->first; l <= ps->last; l++) {
				struct plan_cost pc = plan_layer_cost(pu, &model->layers[l], k);

				c[l - ps->first].compute_s = pc.compute_s;
				c[l - ps->first].memory_s = pc.memory_s;
				c[l - ps->first].dram_bps = layer_dram_bps(&model->layers[l], &pc);
			}
			used += ps->last - ps->first + 1;
			st->cost = c;
			if (i + 1 < dm->nr_stages)
				st->xfer_s =
					plan_transfer_s(s->pf, ps->unit, dm->stages[i + 1].unit,
							model->layers[ps->last].cut_bytes);
			sim_rng_seed(&st->rng, cfg->seed,
				     (uint64_t)d * (PLAN_MAX_STAGES + 1) + 1 + i);
			st->state = STAGE_IDLE;
		}
	}
	return 0;
}

/* ---- results ---------------------------------------------------------------- */

void sim_finish(struct sim *s, double window)
{
	struct sim_result *r = s->res;

	for (int d = 0; d < s->nr_flows; d++) {
		struct flow *f = &s->flows[d];
		struct sim_dnn *o = f->out;
		double sum = 0;
		uint64_t inside = f->entry_len;

		if (o->measured >= 2 && f->last_done - f->first_done >= window / 2)
			o->throughput = (o->measured - 1) / (f->last_done - f->first_done);
		else
			o->throughput = o->measured / window;
		for (size_t i = 0; i < f->nr_lat; i++)
			sum += f->lat[i];
		if (f->nr_lat) {
			o->latency_ms = 1e3 * sum / f->nr_lat;
			/* By selection: only the p99 is wanted, and a sort
			 * would cost more than the run. */
			o->latency_p99_ms = 1e3 * quantile_select(f->lat, f->nr_lat, 0.99);
		}
		/* Counted where the inferences are, so that a lost one shows. */
		for (int i = 0; i < f->nr_stages; i++)
			inside += f->stage[i]->fifo_len + (f->stage[i]->state != STAGE_IDLE);
		o->in_flight = inside;
	}
	for (int u = 0; u < s->pf->nr_units; u++)
		r->unit_util[u] = s->util_acc[u] / window;
	r->dram_inflation_mean = s->inflation_acc / window;
	r->dram_inflation_max = s->inflation_max;
}

void sim_free(struct sim *s)
{
	for (int d = 0; d < s->nr_flows; d++) {
		free(s->flows[d].entry);
		free(s->flows[d].lat);
	}
	free(s->costs);
	free(s);
}

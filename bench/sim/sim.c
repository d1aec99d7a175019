// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The simulator's event loop (sim.h says what it models; sim_setup.c
 * builds the state and reads the results out).
 *
 * Processor sharing is run exactly rather than in time steps: each running
 * stage has a rate (fraction of its current layer per second) that holds
 * until the next event and the time its layer would end at that rate.
 * After every event the shares and the DRAM inflation are updated from the
 * new set of running layers; a stage whose rate changes turns what is left
 * of its layer into a new end time. A mix has at most PLAN_MAX_DNNS x
 * PLAN_MAX_STAGES stages, so a plain scan for the earliest end beats any
 * priority queue. An event costs a few tens of nanoseconds only because
 * nothing is recomputed that did not change (see update_rates): a 5-DNN mix
 * on a fast GPU makes half a million layer events in ten seconds.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_impl.h"

/* ---- growable arrays ------------------------------------------------------ */

static bool entry_push(struct sim *s, struct flow *f, double arrival)
{
	if (f->entry_len == f->entry_cap) {
		size_t cap = f->entry_cap ? 2 * f->entry_cap : 64;
		double *e = malloc(cap * sizeof(*e));

		if (!e) {
			s->out_of_memory = true;
			return false;
		}
		for (size_t i = 0; i < f->entry_len; i++)
			e[i] = f->entry[(f->entry_head + i) % f->entry_cap];
		free(f->entry);
		f->entry = e;
		f->entry_head = 0;
		f->entry_cap = cap;
	}
	f->entry[(f->entry_head + f->entry_len) % f->entry_cap] = arrival;
	f->entry_len++;
	return true;
}

static double entry_pop(struct flow *f)
{
	double a = f->entry[f->entry_head];

	f->entry_head = (f->entry_head + 1) % f->entry_cap;
	f->entry_len--;
	return a;
}

static void latency_add(struct sim *s, struct flow *f, double seconds)
{
	if (f->nr_lat == f->lat_cap) {
		size_t cap = f->lat_cap ? 2 * f->lat_cap : 256;
		double *l = realloc(f->lat, cap * sizeof(*l));

		if (!l) {
			s->out_of_memory = true;
			return;
		}
		f->lat = l;
		f->lat_cap = cap;
	}
	f->lat[f->nr_lat++] = seconds;
}

/* ---- stage transitions ----------------------------------------------------- */

static void begin_layer(struct sim *s, struct stage *st)
{
	st->state = STAGE_RUN;
	st->jitter = s->jitter[sim_rng_next(&st->rng) >> 52];
	if (!st->dirty) {
		st->dirty = true;
		s->dirty[s->nr_dirty++] = st;
	}
}

static void start_inference(struct sim *s, struct stage *st, double arrival)
{
	st->arrival = arrival;
	st->layer = st->first;
	s->running_changed = true;
	begin_layer(s, st);
}

static void inference_done(struct sim *s, struct flow *f, double arrival)
{
	struct sim_dnn *o = f->out;

	o->completed++;
	if (s->now < s->window_start)
		return;
	if (!o->measured)
		f->first_done = s->now;
	f->last_done = s->now;
	o->measured++;
	latency_add(s, f, s->now - arrival);
}

/* An idle stage takes the next inference waiting in front of it. */
static void take_input(struct sim *s, struct flow *f, struct stage *st)
{
	if (st->idx > 0) {
		if (!st->fifo_len)
			return;
		double a = st->fifo[st->fifo_head];

		st->fifo_head = (st->fifo_head + 1) % s->depth;
		st->fifo_len--;
		start_inference(s, st, a);
	} else if (f->rate_hz <= 0) {
		f->out->entered++;
		start_inference(s, st, s->now);
	} else if (f->entry_len) {
		start_inference(s, st, entry_pop(f));
	}
}

/* Moves inferences along a DNN's pipeline as far as the FIFOs allow. Going
 * from the last stage back to the first, every slot freed downstream is
 * seen by the stage in front of it within one pass. */
static void settle(struct sim *s, struct flow *f)
{
	for (int i = f->nr_stages - 1; i >= 0; i--) {
		struct stage *st = f->stage[i];

		if (st->state == STAGE_BLOCKED) {
			struct stage *next = f->stage[i + 1];

			if (next->fifo_len == s->depth)
				continue;
			next->fifo[(next->fifo_head + next->fifo_len) % s->depth] = st->arrival;
			next->fifo_len++;
			if (next->fifo_len > f->out->max_queued[i + 1])
				f->out->max_queued[i + 1] = next->fifo_len;
			f->out->blocked_s[i] += s->now - st->blocked_since;
			st->state = STAGE_IDLE;
			if (next->state == STAGE_IDLE)
				take_input(s, f, next);
		}
		if (st->state == STAGE_IDLE)
			take_input(s, f, st);
	}
}

static void block(struct sim *s, struct stage *st)
{
	st->state = STAGE_BLOCKED;
	st->blocked_since = s->now;
}

static void layer_done(struct sim *s, struct stage *st)
{
	struct flow *f = &s->flows[st->dnn];

	if (st->layer < st->last) {
		st->layer++;
		begin_layer(s, st);
		return;
	}
	s->running_changed = true;
	if (st->idx == f->nr_stages - 1) {
		inference_done(s, f, st->arrival);
		st->state = STAGE_IDLE;
	} else if (st->xfer_s > 0) {
		st->state = STAGE_XFER;
		st->until = s->now + st->xfer_s;
	} else {
		block(s, st);
	}
	settle(s, f);
}

/* ---- rates ---------------------------------------------------------------- */

/* Adds the unit and DRAM figures in force since the last call, the part
 * inside the window; called before they change and at the end. */
static void accumulate(struct sim *s)
{
	double lo = s->acc_since > s->window_start ? s->acc_since : s->window_start;

	if (s->now > lo) {
		for (int u = 0; u < s->pf->nr_units; u++)
			s->util_acc[u] += s->unit_busy[u] * (s->now - lo);
		s->inflation_acc += s->inflation * (s->now - lo);
		if (s->inflation > s->inflation_max)
			s->inflation_max = s->inflation;
	}
	s->acc_since = s->now;
}

static double share_of(const struct sim *s, const struct stage *st)
{
	return st->shared ? st->weight / s->wsum[st->unit] : 1.0;
}

/* A new rate for a running stage: what is left of its layer (all of it
 * for a new layer) at the new rate gives its new end. */
static void rerate(struct sim *s, struct stage *st)
{
	const struct layer_cost *c = &st->cost[st->layer - st->first];
	double t = (c->compute_s + c->memory_s * s->inflation) * st->jitter;
	double left = st->dirty ? 1.0 : (st->finish - s->now) * st->rate;

	/* A free layer still takes an event; a picosecond keeps the
	 * arithmetic finite. */
	if (t < 1e-12)
		t = 1e-12;
	if (left < 0)
		left = 0;
	st->inv_rate = st->shared ? t * s->wsum[st->unit] * st->inv_weight : t;
	st->rate = 1 / st->inv_rate;
	st->finish = s->now + left * st->inv_rate;
	st->dirty = false;
}

/* DRAM demand, unit sums and busy figures from scratch, after a stage
 * started or stopped running; marks the units whose weight sums changed. */
static void recount(struct sim *s, bool *unit_changed)
{
	double wsum[PLAN_MAX_UNITS] = { 0 }, wbps[PLAN_MAX_UNITS] = { 0 };
	int owned_busy[PLAN_MAX_UNITS] = { 0 };

	s->demand = 0;
	for (int i = 0; i < s->nr_stages; i++) {
		struct stage *st = &s->stages[i];

		if (st->state != STAGE_RUN)
			continue;
		st->bps = st->cost[st->layer - st->first].dram_bps;
		if (st->shared) {
			wsum[st->unit] += st->weight;
			wbps[st->unit] += st->weight * st->bps;
		} else {
			owned_busy[st->unit] += st->owned;
			s->demand += st->bps;
		}
	}
	accumulate(s);
	for (int u = 0; u < s->pf->nr_units; u++) {
		if (wsum[u] > 0)
			s->demand += wbps[u] / wsum[u];
		/* Sums taken in the same order over the same weights are
		 * bitwise equal, so equality is the right test. */
		unit_changed[u] = wsum[u] != s->wsum[u];
		s->wsum[u] = wsum[u];
		if (s->pf->units[u].kind == PLAN_UNIT_GPU)
			s->unit_busy[u] = wsum[u] > 0;
		else
			s->unit_busy[u] = (owned_busy[u] + (wsum[u] > 0 ? s->pool_cores[u] : 0)) *
					  s->inv_cores[u];
	}
}

/*
 * A running stage's rate depends on its layer and jitter, on the weights
 * of the sharing stages running on its unit, and on the DRAM inflation.
 * Most events only move one stage to its next layer: then the demand
 * changes by that layer's difference, and unless that moves the inflation
 * only that stage needs a new rate. When stages start or stop running,
 * everything is recounted, which also stops rounding from accumulating.
 */
static void update_rates(struct sim *s)
{
	bool unit_changed[PLAN_MAX_UNITS] = { false };
	double inflation;
	bool all;

	if (s->running_changed) {
		recount(s, unit_changed);
	} else {
		for (int i = 0; i < s->nr_dirty; i++) {
			struct stage *st = s->dirty[i];
			double bps = st->cost[st->layer - st->first].dram_bps;

			s->demand += share_of(s, st) * (bps - st->bps);
			st->bps = bps;
		}
	}
	inflation = s->dram_bps > 0 && s->demand > s->dram_bps ? s->demand / s->dram_bps : 1.0;
	all = inflation != s->inflation;
	if (all) {
		accumulate(s);
		s->inflation = inflation;
	}
	if (all || s->running_changed) {
		for (int i = 0; i < s->nr_stages; i++) {
			struct stage *st = &s->stages[i];

			if (st->state == STAGE_RUN && (all || st->dirty || unit_changed[st->unit]))
				rerate(s, st);
		}
	} else {
		for (int i = 0; i < s->nr_dirty; i++)
			rerate(s, s->dirty[i]);
	}
	for (int i = 0; i < s->nr_dirty; i++)
		s->dirty[i]->dirty = false;
	s->nr_dirty = 0;
	s->running_changed = false;
}

/* ---- the loop -------------------------------------------------------------- */

int sim_run(const struct plan_problem *pb, const struct plan_mapping *m,
	    const struct sim_config *cfg, struct sim_result *r, char *err, size_t errlen)
{
	struct sim *s = calloc(1, sizeof(*s));
	int ret = -1;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(r, 0, sizeof(*r));
	r->nr_dnns = pb->nr_dnns;
	r->nr_units = pb->platform ? pb->platform->nr_units : 0;
	s->res = r;
	if (sim_setup(s, pb, m, cfg, err, errlen))
		goto out;

	for (int d = 0; d < s->nr_flows; d++)
		settle(s, &s->flows[d]);
	update_rates(s);
	while (!s->out_of_memory) {
		struct stage *first = NULL;
		struct flow *arrival = NULL;
		double t = s->end;

		for (int i = 0; i < s->nr_stages; i++) {
			struct stage *st = &s->stages[i];
			double at;

			if (st->state == STAGE_RUN)
				at = st->finish;
			else if (st->state == STAGE_XFER)
				at = st->until;
			else
				continue;
			if (at < t) {
				t = at;
				first = st;
			}
		}
		for (int d = 0; d < s->nr_flows; d++) {
			struct flow *f = &s->flows[d];

			if (f->rate_hz > 0 && f->next_arrival < t) {
				t = f->next_arrival;
				arrival = f;
				first = NULL;
			}
		}
		s->now = t;
		if (!first && !arrival)
			break;
		r->events++;
		if (arrival) {
			arrival->out->entered++;
			entry_push(s, arrival, s->now);
			arrival->next_arrival +=
				sim_rng_exponential(&arrival->rng, 1.0 / arrival->rate_hz);
			settle(s, arrival);
		} else if (first->state == STAGE_XFER) {
			block(s, first);
			settle(s, &s->flows[first->dnn]);
		} else {
			layer_done(s, first);
		}
		update_rates(s);
	}
	accumulate(s);
	if (s->out_of_memory) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sim_finish(s, cfg->duration_s);
	ret = 0;
out:
	sim_free(s);
	return ret;
}

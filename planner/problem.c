// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The problem and its mappings: defaults, preparation (cost tables and each
 * DNN's potential P_i), the validity rules, the text form, and the
 * enumeration of one DNN's choices that the exhaustive search, the
 * potentials and the baselines share.
 *
 * Validity follows OmniBoost's rules, which RankMap keeps: at most three
 * contiguous stages, each on a distinct unit, cut only where the model allows
 * it (one tensor live across the cut).
 */
#include <float.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "planner_impl.h"

void plan_params_default(struct plan_params *p)
{
	p->floor = 0.10;
	p->floor_guard = 0.25;
	p->rank_decay = 0.5;
	p->latency_slack = 0.0;
}

void plan_choice_apply(const struct plan_problem *pb, int i, const struct plan_choice *c,
		       struct plan_dnn_map *map)
{
	const struct plan_dnn_tables *t = &pb->tables->dnn[i];
	int start = 0;

	memset(map, 0, sizeof(*map));
	map->nr_stages = c->nr_stages;
	for (int s = 0; s < c->nr_stages; s++) {
		struct plan_stage *st = &map->stages[s];

		st->unit = c->units[s];
		st->first = t->bound[start];
		st->last = t->bound[c->ends[s]] - 1;
		start = c->ends[s];
	}
}

int plan_choices_each(const struct plan_problem *pb, int i,
		      int (*fn)(const struct plan_choice *c, void *arg), void *arg)
{
	int units[PLAN_MAX_UNITS], nu = plan_search_units(pb->platform, units);
	int last = pb->tables->dnn[i].nb - 1, ret;
	struct plan_choice c;

	for (int a = 0; a < nu; a++) {
		c = (struct plan_choice){ 1, { units[a] }, { last } };
		if ((ret = fn(&c, arg)))
			return ret;
	}
	for (int e1 = 1; e1 < last; e1++)
		for (int a = 0; a < nu; a++)
			for (int b = 0; b < nu; b++) {
				if (b == a)
					continue;
				c = (struct plan_choice){ 2, { units[a], units[b] }, { e1, last } };
				if ((ret = fn(&c, arg)))
					return ret;
			}
	for (int e1 = 1; e1 < last; e1++)
		for (int e2 = e1 + 1; e2 < last; e2++)
			for (int a = 0; a < nu; a++)
				for (int b = 0; b < nu; b++)
					for (int d = 0; d < nu; d++) {
						if (b == a || d == a || d == b)
							continue;
						c = (struct plan_choice){
							3,
							{ units[a], units[b], units[d] },
							{ e1, e2, last },
						};
						if ((ret = fn(&c, arg)))
							return ret;
					}
	return 0;
}

uint64_t plan_dnn_choices(const struct plan_problem *pb, int i)
{
	int units[PLAN_MAX_UNITS];
	uint64_t u = plan_search_units(pb->platform, units);
	uint64_t cuts = pb->tables->dnn[i].nb - 2;

	return u + cuts * u * (u - 1) +
	       (cuts >= 2 ? cuts * (cuts - 1) / 2 * u * (u - 1) * (u > 2 ? u - 2 : 0) : 0);
}

uint64_t plan_space_size(const struct plan_problem *pb)
{
	uint64_t total = 1;

	for (int i = 0; i < pb->nr_dnns; i++) {
		uint64_t c = plan_dnn_choices(pb, i);

		if (c && total > UINT64_MAX / c)
			return UINT64_MAX;
		total *= c;
	}
	return total;
}

void plan_rank_order(const struct plan_problem *pb, int *order)
{
	for (int i = 0; i < pb->nr_dnns; i++)
		order[i] = i;
	for (int i = 1; i < pb->nr_dnns; i++)
		for (int j = i; j > 0 && pb->dnn[order[j]].rank < pb->dnn[order[j - 1]].rank; j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
}

/* ---- potentials: each DNN alone, every choice ------------------------------ */

struct alone_search {
	struct plan_problem *alone; /* a one-DNN copy of the problem */
	double best;
	struct plan_mapping best_map;
};

static int alone_try(const struct plan_choice *c, void *arg)
{
	struct alone_search *s = arg;
	struct plan_mapping m = { .nr_dnns = 1 };
	struct plan_estimate e;

	plan_choice_apply(s->alone, 0, c, &m.dnn[0]);
	plan_estimate(s->alone, &m, &e);
	if (e.throughput[0] > s->best) {
		s->best = e.throughput[0];
		s->best_map = m;
	}
	return 0;
}

/* P_i ignores any request rate: it is what the DNN could do, the yardstick
 * of T_i/P_i. */
static void potential_of(struct plan_problem *pb, int i)
{
	static const struct plan_tables no_tables;
	struct plan_problem alone = *pb;
	struct plan_tables one = no_tables;
	struct alone_search s = { .alone = &alone, .best = 0 };

	alone.nr_dnns = 1;
	alone.dnn[0] = pb->dnn[i];
	alone.dnn[0].rate_hz = 0;
	alone.correction[0] = pb->correction[i];
	one.nr_dnns = 1;
	one.dnn[0] = pb->tables->dnn[i];
	alone.tables = &one;
	plan_choices_each(&alone, 0, alone_try, &s);
	pb->potential[i] = s.best;
	pb->potential_map[i] = s.best_map;
}

int plan_problem_prepare(struct plan_problem *pb, char *err, size_t errlen)
{
	const struct plan_platform *p = pb->platform;
	int units[PLAN_MAX_UNITS];

	if (!p || p->nr_units < 1 || p->nr_units > PLAN_MAX_UNITS ||
	    plan_search_units(p, units) < 1) {
		snprintf(err, errlen, "planner: the platform has no unit the search may use");
		return -1;
	}
	if (pb->nr_dnns < 0 || pb->nr_dnns > PLAN_MAX_DNNS) {
		snprintf(err, errlen, "planner: %d DNNs, at most %d", pb->nr_dnns, PLAN_MAX_DNNS);
		return -1;
	}
	if (pb->params.floor <= 0 && pb->params.rank_decay <= 0)
		plan_params_default(&pb->params);
	for (int i = 0; i < pb->nr_dnns; i++) {
		const struct plan_workload *w = &pb->dnn[i];

		if (!w->model || w->model->nr_layers < 1 || w->model->nr_layers > PLAN_MAX_LAYERS) {
			snprintf(err, errlen, "planner: DNN %d (%s): no model or a model without layers",
				 i, w->name);
			return -1;
		}
		if (w->rank < 1) {
			snprintf(err, errlen, "planner: DNN %d (%s): rank %d, must be >= 1", i,
				 w->name, w->rank);
			return -1;
		}
		if (!(pb->correction[i] > 0))
			pb->correction[i] = 1;
	}
	if (plan_tables_build(pb, err, errlen))
		return -1;
	for (int i = 0; i < pb->nr_dnns; i++)
		potential_of(pb, i);
	return 0;
}

void plan_problem_release(struct plan_problem *pb)
{
	plan_tables_free(pb);
}

/* ---- validity and text ----------------------------------------------------- */

static int stage_error(char *err, size_t errlen, const struct plan_problem *pb, int i, int s,
		       const char *what)
{
	snprintf(err, errlen, "mapping: dnn[%d] (%s): stage %d: %s", i, pb->dnn[i].name, s, what);
	return -1;
}

static int dnn_validate(const struct plan_problem *pb, int i, const struct plan_dnn_map *d,
			bool *any_aggregate, bool *any_cluster, char *err, size_t errlen)
{
	const struct plan_platform *p = pb->platform;
	const struct plan_model *m = pb->dnn[i].model;
	int next = 0;

	if (d->nr_stages < 1 || d->nr_stages > PLAN_MAX_STAGES) {
		snprintf(err, errlen, "mapping: dnn[%d] (%s): %d stages, must be 1..%d", i,
			 pb->dnn[i].name, d->nr_stages, PLAN_MAX_STAGES);
		return -1;
	}
	for (int s = 0; s < d->nr_stages; s++) {
		const struct plan_stage *st = &d->stages[s];

		if (st->unit < 0 || st->unit >= p->nr_units)
			return stage_error(err, errlen, pb, i, s, "no such unit");
		const struct plan_unit *u = &p->units[st->unit];

		for (int t = 0; t < s; t++)
			if (d->stages[t].unit == st->unit)
				return stage_error(err, errlen, pb, i, s,
						   "unit already holds an earlier stage of this DNN");
		if (st->first != next)
			return stage_error(err, errlen, pb, i, s,
					   "stages must be contiguous and start at layer 0");
		if (st->last < st->first || st->last >= m->nr_layers)
			return stage_error(err, errlen, pb, i, s, "layer range out of the model");
		if (s < d->nr_stages - 1 && !m->layers[st->last].cut_after)
			return stage_error(err, errlen, pb, i, s,
					   "ends after a layer the model cannot be cut after");
		if (st->cores < 0 || (u->kind == PLAN_UNIT_CPU && st->cores > u->cores) ||
		    (u->kind == PLAN_UNIT_GPU && st->cores > 0))
			return stage_error(err, errlen, pb, i, s, "cores out of the unit's range");
		if (st->weight < 0)
			return stage_error(err, errlen, pb, i, s, "negative weight");
		if (u->aggregate) {
			if (d->nr_stages > 1)
				return stage_error(err, errlen, pb, i, s,
						   "an aggregate unit takes a whole DNN");
			*any_aggregate = true;
		} else if (u->kind == PLAN_UNIT_CPU) {
			*any_cluster = true;
		}
		next = st->last + 1;
	}
	if (next != m->nr_layers) {
		snprintf(err, errlen, "mapping: dnn[%d] (%s): stages end at layer %d of %d", i,
			 pb->dnn[i].name, next - 1, m->nr_layers);
		return -1;
	}
	return 0;
}

int plan_mapping_validate(const struct plan_problem *pb, const struct plan_mapping *m, char *err,
			  size_t errlen)
{
	bool any_aggregate = false, any_cluster = false;

	if (m->nr_dnns != pb->nr_dnns) {
		snprintf(err, errlen, "mapping: %d DNNs for a problem of %d", m->nr_dnns,
			 pb->nr_dnns);
		return -1;
	}
	for (int i = 0; i < m->nr_dnns; i++)
		if (dnn_validate(pb, i, &m->dnn[i], &any_aggregate, &any_cluster, err, errlen))
			return -1;
	if (any_aggregate && any_cluster) {
		snprintf(err, errlen,
			 "mapping: the aggregate CPU unit and a CPU cluster cannot both be used");
		return -1;
	}
	return 0;
}

int plan_mapping_format(const struct plan_problem *pb, const struct plan_mapping *m, char *out,
			size_t len)
{
	size_t used = 0;

	if (len)
		out[0] = '\0';
	for (int i = 0; i < m->nr_dnns && used < len; i++) {
		used += snprintf(out + used, len - used, "%s%s:", i ? "\n" : "", pb->dnn[i].name);
		for (int s = 0; s < m->dnn[i].nr_stages && used < len; s++) {
			const struct plan_stage *st = &m->dnn[i].stages[s];

			used += snprintf(out + used, len - used, "%s %s[%d-%d]", s ? " >" : "",
					 pb->platform->units[st->unit].name, st->first, st->last);
			if (used < len && st->cores > 0)
				used += snprintf(out + used, len - used, "x%d", st->cores);
		}
	}
	return used < len ? (int)used : -1;
}

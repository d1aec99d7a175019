// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The protection loop's controller: AIMD on the CPU limit of throttleable
 * levels. Cutting the lowest-ranked active level first keeps the work that
 * matters most running longest; cutting from what the level actually used
 * (not from its ceiling) makes the first cut bite at once, since an idle
 * quota slack protects no one. Relaxing goes highest rank first, one step a
 * tick, so a misjudged cut costs the more important levels least.
 */
#include <math.h>

#include "protect.h"

#define LIMIT_EPSILON 1e-6

bool protect_unlimited(const struct protect_level_state *l)
{
	return l->limit >= l->ceiling - LIMIT_EPSILON;
}

void protect_init(struct protect_state *st, const struct triage_config *cfg, const double ceiling[])
{
	st->nr_levels = cfg->nr_levels;
	st->calm = 0;
	for (int i = 0; i < cfg->nr_levels; i++) {
		st->level[i].ceiling = ceiling[i];
		st->level[i].limit = ceiling[i];
		st->level[i].floor = 0;
		st->level[i].active = false;
	}
}

static struct protect_decision decision_none(void)
{
	return (struct protect_decision){ .action = PROTECT_NONE, .level = -1, .cause = -1 };
}

static struct protect_decision set_limit(struct protect_level_state *l, int level,
					 enum protect_action action, double limit, int cause)
{
	struct protect_decision d = {
		.action = action, .level = level, .old_limit = l->limit, .cause = cause,
	};

	l->limit = fmin(limit, l->ceiling);
	d.new_limit = l->limit;
	return d;
}

/* A level whose workloads need more than its limit gets its floor back
 * first: no tick may leave a workload under its starvation floor. */
static int level_under_floor(const struct protect_state *st)
{
	for (int i = 0; i < st->nr_levels; i++) {
		const struct protect_level_state *l = &st->level[i];

		if (l->limit < fmin(l->floor, l->ceiling) - LIMIT_EPSILON)
			return i;
	}
	return -1;
}

static struct protect_decision cut_below(struct protect_state *st, const struct triage_config *cfg,
					 const struct protect_sample *sample, int victim_of)
{
	for (int i = st->nr_levels - 1; i > victim_of; i--) {
		struct protect_level_state *l = &st->level[i];
		double from, to;

		if (!cfg->levels[i].throttle || !l->active || l->limit <= l->floor + LIMIT_EPSILON)
			continue;
		from = fmin(l->limit, sample->used_cores[i]);
		to = fmax(l->floor, from * cfg->protection.decrease);
		if (to >= l->limit - LIMIT_EPSILON)
			to = fmax(l->floor, l->limit * cfg->protection.decrease);
		return set_limit(l, i, PROTECT_CUT, to, victim_of);
	}
	return decision_none();
}

static struct protect_decision relax(struct protect_state *st, const struct triage_config *cfg)
{
	for (int i = 0; i < st->nr_levels; i++) {
		struct protect_level_state *l = &st->level[i];

		if (!cfg->levels[i].throttle || protect_unlimited(l))
			continue;
		return set_limit(l, i, PROTECT_RELAX, l->limit + cfg->protection.increase_cores, -1);
	}
	return decision_none();
}

struct protect_decision protect_tick(struct protect_state *st, const struct triage_config *cfg,
				     const struct protect_sample *sample)
{
	int violated = -1, under;

	for (int i = 0; i < st->nr_levels; i++) {
		struct protect_level_state *l = &st->level[i];

		l->floor = sample->nr_workloads[i] * cfg->levels[i].floor_cores;
		l->active = sample->nr_workloads[i] > 0 && sample->used_cores[i] > 0;
		if (violated < 0 && sample->violated[i])
			violated = i;
	}

	under = level_under_floor(st);
	if (under >= 0)
		return set_limit(&st->level[under], under, PROTECT_RELAX, st->level[under].floor, -1);

	if (violated >= 0) {
		st->calm = 0;
		return cut_below(st, cfg, sample, violated);
	}
	if (st->calm < cfg->protection.calm_ticks) {
		st->calm++;
		return decision_none();
	}
	return relax(st, cfg);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The protection loop's controller: AIMD on the CPU limit of throttleable
 * levels. Cutting the lowest-ranked active level first keeps the work that
 * matters most running longest; cutting from what the level actually used
 * (not from its ceiling) makes the first cut bite at once, since an idle
 * quota slack protects no one. Relaxing goes highest rank first, one step a
 * tick, so a misjudged cut costs the more important levels least.
 *
 * A miss must last confirm_ticks before anything is cut, so one late
 * wakeup does not cost best-effort work its quota; and a cut must show its
 * worth within verify_ticks or it is undone (see protect.h).
 */
#include <math.h>

#include "policy/protect.h"

#define LIMIT_EPSILON 1e-6

bool protect_unlimited(const struct protect_level_state *l)
{
	return l->limit >= l->ceiling - LIMIT_EPSILON;
}

void protect_init(struct protect_state *st, const struct triage_config *cfg, const double ceiling[])
{
	st->nr_levels = cfg->nr_levels;
	st->calm = 0;
	st->violating = 0;
	for (int i = 0; i < cfg->nr_levels; i++) {
		st->level[i] = (struct protect_level_state){
			.ceiling = ceiling[i],
			.limit = ceiling[i],
			.backoff = cfg->protection.hold_off_ticks,
		};
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
	if (protect_unlimited(l))
		l->cut_age = 0; /* the episode is over */
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

/* The first level below the missed one whose cuts have not helped. */
static int level_cut_in_vain(const struct protect_state *st, const struct triage_config *cfg,
			     int missed, double severity)
{
	for (int i = st->nr_levels - 1; i > missed; i--) {
		const struct protect_level_state *l = &st->level[i];

		if (l->cut_age > cfg->protection.verify_ticks && !l->helped &&
		    severity > PROTECT_HELPED_RATIO * l->cut_severity)
			return i;
	}
	return -1;
}

static struct protect_decision revert(struct protect_state *st, const struct triage_config *cfg,
				      int level, int missed, double severity)
{
	struct protect_level_state *l = &st->level[level];
	struct protect_decision d;
	double was = l->cut_severity;

	d = set_limit(l, level, PROTECT_REVERT, l->ceiling, missed);
	d.severity = severity;
	d.was = was;
	d.hold_off = l->backoff;
	l->hold_off = l->backoff;
	if (l->backoff < cfg->protection.hold_off_ticks * PROTECT_MAX_BACKOFF)
		l->backoff *= 2;
	return d;
}

static struct protect_decision cut_below(struct protect_state *st, const struct triage_config *cfg,
					 const struct protect_sample *sample, int missed)
{
	for (int i = st->nr_levels - 1; i > missed; i--) {
		struct protect_level_state *l = &st->level[i];
		struct protect_decision d;
		double from, to;

		if (!cfg->levels[i].throttle || !l->active || l->hold_off ||
		    l->limit <= l->floor + LIMIT_EPSILON)
			continue;
		from = fmin(l->limit, sample->used_cores[i]);
		to = fmax(l->floor, from * cfg->protection.decrease);
		if (to >= l->limit - LIMIT_EPSILON)
			to = fmax(l->floor, l->limit * cfg->protection.decrease);
		if (!l->cut_age) {
			l->cut_age = 1;
			l->cut_severity = sample->severity[missed];
			l->helped = false;
		}
		d = set_limit(l, i, PROTECT_CUT, to, missed);
		d.severity = sample->severity[missed];
		return d;
	}
	return decision_none();
}

static struct protect_decision relax(struct protect_state *st, const struct triage_config *cfg)
{
	for (int i = 0; i < st->nr_levels; i++) {
		struct protect_level_state *l = &st->level[i];
		struct protect_decision d;

		if (!cfg->levels[i].throttle || protect_unlimited(l))
			continue;
		d = set_limit(l, i, PROTECT_RELAX, l->limit + cfg->protection.increase_cores, -1);
		/* An episode whose cuts worked resets the hold-off escalation. */
		if (protect_unlimited(l) && l->helped)
			l->backoff = cfg->protection.hold_off_ticks;
		return d;
	}
	return decision_none();
}

struct protect_decision protect_tick(struct protect_state *st, const struct triage_config *cfg,
				     const struct protect_sample *sample)
{
	int missed = -1, under, vain;

	for (int i = 0; i < st->nr_levels; i++) {
		struct protect_level_state *l = &st->level[i];

		l->floor = sample->nr_workloads[i] * cfg->levels[i].floor_cores;
		l->active = sample->nr_workloads[i] > 0 && sample->used_cores[i] > 0;
		if (l->hold_off)
			l->hold_off--;
		if (l->cut_age)
			l->cut_age++;
		if (missed < 0 && sample->severity[i] >= 1)
			missed = i;
	}

	under = level_under_floor(st);
	if (under >= 0)
		return set_limit(&st->level[under], under, PROTECT_RELAX, st->level[under].floor, -1);

	if (missed < 0) {
		st->violating = 0;
		for (int i = 0; i < st->nr_levels; i++)
			if (st->level[i].cut_age)
				st->level[i].helped = true;
		if (st->calm < cfg->protection.calm_ticks) {
			st->calm++;
			return decision_none();
		}
		return relax(st, cfg);
	}
	st->calm = 0;
	if (++st->violating < cfg->protection.confirm_ticks)
		return decision_none();
	vain = level_cut_in_vain(st, cfg, missed, sample->severity[missed]);
	if (vain >= 0)
		return revert(st, cfg, vain, missed, sample->severity[missed]);
	return cut_below(st, cfg, sample, missed);
}

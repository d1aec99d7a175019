/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The protection loop's quota controller, pure: samples in, limits out.
 * When a protected workload (a level with a wait or interference target)
 * misses its target for confirm_ticks in a row, the lowest-ranked active
 * throttleable level below it loses quota multiplicatively; after calm
 * ticks the throttled levels get quota back additively, the highest-ranked
 * first. A level's limit never goes under the sum of its workloads'
 * starvation floors.
 *
 * Every cut is verified: if verify_ticks after the first cut of an episode
 * the miss is not at least a fifth smaller, the cut did not help (on some
 * kernels throttling a group even delays others when it is unthrottled),
 * so the level gets its quota back and is not cut again for a hold-off
 * that doubles each time this repeats.
 */
#ifndef TRIAGE_PROTECT_H
#define TRIAGE_PROTECT_H

#include <stdbool.h>

#include "config/config.h"

/* A verified cut must bring the miss below this share of what it was. */
#define PROTECT_HELPED_RATIO 0.8
/* Longest hold-off, in multiples of the configured first one. */
#define PROTECT_MAX_BACKOFF 16

struct protect_level_state {
	double limit;   /* cores; >= ceiling means unlimited */
	double ceiling; /* cores the level could use (its cpuset size) */
	double floor;   /* cores: nr_workloads * floor_cores */
	bool active;    /* its workloads ran in the last tick */
	unsigned cut_age;      /* ticks since the episode's first cut, 0 = none */
	double cut_severity;   /* the miss that started the episode */
	bool helped;           /* a calm tick came since the episode began */
	unsigned hold_off;     /* ticks left in which the level is not cut */
	unsigned backoff;      /* length of the next hold-off, ticks */
};

struct protect_state {
	int nr_levels;
	struct protect_level_state level[TRIAGE_MAX_LEVELS];
	unsigned calm;      /* consecutive ticks without a miss */
	unsigned violating; /* consecutive ticks with a miss */
};

struct protect_sample {
	int nr_levels;
	/* worst protected workload of each level in this tick: how far past
	 * its target, as a ratio (>= 1 means missed, 0 = no target) */
	double severity[TRIAGE_MAX_LEVELS];
	double used_cores[TRIAGE_MAX_LEVELS]; /* CPU use of the level */
	int nr_workloads[TRIAGE_MAX_LEVELS];
};

enum protect_action {
	PROTECT_NONE,
	PROTECT_CUT,    /* limit lowered for a miss */
	PROTECT_RELAX,  /* limit raised: calm, or back up to the floor */
	PROTECT_REVERT, /* a cut did not help: limit back to the ceiling */
};

struct protect_decision {
	enum protect_action action;
	int level;        /* level whose limit changed, -1 for none */
	double old_limit; /* cores */
	double new_limit; /* cores */
	int cause;        /* for a cut or revert: the level that missed */
	double severity;  /* for a revert: the miss now; for a cut: the miss */
	double was;       /* for a revert: the miss when the episode began */
	unsigned hold_off; /* for a revert: ticks without cuts to that level */
};

void protect_init(struct protect_state *st, const struct triage_config *cfg, const double ceiling[]);

/* One tick: updates st and says what changed (at most one level). */
struct protect_decision protect_tick(struct protect_state *st, const struct triage_config *cfg,
				     const struct protect_sample *sample);

bool protect_unlimited(const struct protect_level_state *l);

#endif

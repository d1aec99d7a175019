/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The protection loop's quota controller, pure: samples in, limits out.
 * When a protected workload (a level with a wait or interference target)
 * misses its target in a tick, the lowest-ranked active throttleable level
 * below it loses quota multiplicatively; after calm ticks the throttled
 * levels get quota back additively, the highest-ranked first. A level's
 * limit never goes under the sum of its workloads' starvation floors.
 */
#ifndef TRIAGE_PROTECT_H
#define TRIAGE_PROTECT_H

#include <stdbool.h>

#include "config.h"

struct protect_level_state {
	double limit;   /* cores; >= ceiling means unlimited */
	double ceiling; /* cores the level could use (its cpuset size) */
	double floor;   /* cores: nr_workloads * floor_cores */
	bool active;    /* its workloads ran in the last tick */
};

struct protect_state {
	int nr_levels;
	struct protect_level_state level[TRIAGE_MAX_LEVELS];
	unsigned calm;  /* consecutive ticks without a violation */
};

struct protect_sample {
	int nr_levels;
	/* worst protected workload of each level in this tick */
	bool violated[TRIAGE_MAX_LEVELS];
	double used_cores[TRIAGE_MAX_LEVELS]; /* CPU use of the level */
	int nr_workloads[TRIAGE_MAX_LEVELS];
};

enum protect_action { PROTECT_NONE, PROTECT_CUT, PROTECT_RELAX };

struct protect_decision {
	enum protect_action action;
	int level;        /* level whose limit changed, -1 for none */
	double old_limit; /* cores */
	double new_limit; /* cores */
	int cause;        /* for a cut: the violated level */
};

void protect_init(struct protect_state *st, const struct triage_config *cfg, const double ceiling[]);

/* One tick: updates st and says what changed (at most one level). */
struct protect_decision protect_tick(struct protect_state *st, const struct triage_config *cfg,
				     const struct protect_sample *sample);

bool protect_unlimited(const struct protect_level_state *l);

#endif

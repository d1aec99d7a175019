/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The guard that chrt lacks: a real-time workload that uses more than its
 * budget of CPU time over the sliding window (guard.window_ms) is demoted
 * to SCHED_OTHER at the tick that sees it, and is given its class back once
 * it has stayed under GUARD_BEHAVE_RATIO of the budget for guard.behave_ms;
 * that wait doubles with each demotion that follows a restore within
 * GUARD_FORGIVE_NS, up to GUARD_MAX_BACKOFF times.
 *
 * Pure: CPU-time samples in, decisions out. The budget is in cores: the
 * level's budget_pct of its CPUs.
 */
#ifndef TRIAGE_GUARD_H
#define TRIAGE_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

#define GUARD_RING 64
#define GUARD_BEHAVE_RATIO 0.8
#define GUARD_MAX_BACKOFF 16
#define GUARD_FORGIVE_NS (60ull * 1000000000ull)

struct guard_state {
	uint64_t t_ns[GUARD_RING], cpu_ns[GUARD_RING];
	int nr, head; /* ring of samples at least window/GUARD_RING apart */
	uint64_t last_cpu_ns, last_t_ns;
	bool demoted;
	uint64_t good_since_ns; /* demoted: since when it stays in budget, 0 = not now */
	uint64_t restored_at_ns;
	unsigned strikes;       /* demotions in a row without GUARD_FORGIVE_NS between */
	double use_cores;       /* CPU use over the window at the last sample */
};

enum guard_action {
	GUARD_NONE,
	GUARD_DEMOTE,  /* over budget: to SCHED_OTHER, capped to the budget */
	GUARD_RESTORE, /* behaved: its class back */
};

/* One sample: cpu_ns is the workload's CPU time since some fixed point
 * (it only grows; a drop, as when a process leaves, restarts the window). */
enum guard_action guard_sample(struct guard_state *g, const struct guard_cfg *cfg, uint64_t now_ns,
			       uint64_t cpu_ns, double budget_cores);

/* How long the demoted workload must behave before its class comes back. */
uint64_t guard_behave_ns(const struct guard_state *g, const struct guard_cfg *cfg);

#endif

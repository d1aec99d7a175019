// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>

#include "sched/guard.h"

uint64_t guard_behave_ns(const struct guard_state *g, const struct guard_cfg *cfg)
{
	unsigned shift = g->strikes > 1 ? g->strikes - 1 : 0;
	uint64_t factor = 1ull << (shift > 4 ? 4 : shift); /* GUARD_MAX_BACKOFF = 2^4 */

	return cfg->behave_ms * 1000000ull * factor;
}

/* CPU time used over the last window: from the newest sample at least a
 * window old, over the time since it; while the history is shorter than
 * the window, from the oldest sample over the whole window, so a burst
 * shorter than the window is diluted either way. */
static double window_use(const struct guard_state *g, uint64_t window_ns, uint64_t now_ns,
			 uint64_t cpu_ns)
{
	int oldest = (g->head - g->nr + GUARD_RING) % GUARD_RING;
	uint64_t from = g->cpu_ns[oldest], span = window_ns;

	for (int k = 0; k < g->nr; k++) {
		int i = (g->head - 1 - k + GUARD_RING) % GUARD_RING;

		if (now_ns - g->t_ns[i] >= window_ns) {
			from = g->cpu_ns[i];
			span = now_ns - g->t_ns[i];
			break;
		}
	}
	return cpu_ns >= from ? (double)(cpu_ns - from) / (double)span : 0;
}

static void remember(struct guard_state *g, uint64_t window_ns, uint64_t now_ns, uint64_t cpu_ns)
{
	uint64_t spacing = window_ns / GUARD_RING;

	if (g->nr && now_ns - g->t_ns[(g->head - 1 + GUARD_RING) % GUARD_RING] < spacing)
		return;
	g->t_ns[g->head] = now_ns;
	g->cpu_ns[g->head] = cpu_ns;
	g->head = (g->head + 1) % GUARD_RING;
	if (g->nr < GUARD_RING)
		g->nr++;
}

enum guard_action guard_sample(struct guard_state *g, const struct guard_cfg *cfg, uint64_t now_ns,
			       uint64_t cpu_ns, double budget_cores)
{
	uint64_t window_ns = cfg->window_ms * 1000000ull;

	if (g->nr && cpu_ns < g->last_cpu_ns) {
		/* A member left and took its time with it: start again. */
		g->nr = 0;
		g->head = 0;
	}
	g->last_cpu_ns = cpu_ns;
	g->last_t_ns = now_ns;
	g->use_cores = g->nr ? window_use(g, window_ns, now_ns, cpu_ns) : 0;
	remember(g, window_ns, now_ns, cpu_ns);

	if (!g->demoted) {
		if (g->use_cores <= budget_cores)
			return GUARD_NONE;
		g->demoted = true;
		g->good_since_ns = 0;
		g->strikes = g->restored_at_ns && now_ns - g->restored_at_ns < GUARD_FORGIVE_NS
				     ? g->strikes + 1
				     : 1;
		return GUARD_DEMOTE;
	}
	if (g->use_cores > GUARD_BEHAVE_RATIO * budget_cores) {
		g->good_since_ns = 0;
		return GUARD_NONE;
	}
	if (!g->good_since_ns)
		g->good_since_ns = now_ns;
	if (now_ns - g->good_since_ns < guard_behave_ns(g, cfg))
		return GUARD_NONE;
	g->demoted = false;
	g->restored_at_ns = now_ns;
	return GUARD_RESTORE;
}

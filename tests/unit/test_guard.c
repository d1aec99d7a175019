// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The real-time guard: a workload over its budget over the window is
 * demoted at the sample that shows it; a burst shorter than the window is
 * not; the class comes back after behave_ms in budget, later each time it
 * runs away again soon after. */
#include <criterion/criterion.h>

#include "sched/guard.h"

#define MS 1000000ull
static const struct guard_cfg cfg = { .window_ms = 1000, .behave_ms = 2000 };
static struct guard_state g;
static uint64_t now, cpu;

/* Runs ticks of 50 ms at `cores`; returns the first action, or NONE. */
static enum guard_action run(double cores, unsigned ms, double budget, uint64_t *at)
{
	for (unsigned t = 0; t < ms; t += 50) {
		enum guard_action act;

		now += 50 * MS;
		cpu += (uint64_t)(cores * 50 * MS);
		act = guard_sample(&g, &cfg, now, cpu, budget);
		if (act != GUARD_NONE) {
			if (at)
				*at = now;
			return act;
		}
	}
	return GUARD_NONE;
}

static void setup(void)
{
	memset(&g, 0, sizeof(g));
	now = 1000 * MS;
	cpu = 0;
}

TestSuite(guard, .init = setup);

Test(guard, a_steady_workload_in_budget_is_left_alone)
{
	cr_assert_eq(run(0.5, 10000, 1.5, NULL), GUARD_NONE);
	cr_assert_float_eq(g.use_cores, 0.5, 0.06);
}

Test(guard, a_burst_shorter_than_the_window_is_diluted)
{
	/* 300 ms at 2 cores inside a second at 0.3: 0.81 core-s per s. */
	cr_assert_eq(run(0.3, 3000, 1.5, NULL), GUARD_NONE);
	cr_assert_eq(run(2.0, 300, 1.5, NULL), GUARD_NONE);
	cr_assert_eq(run(0.3, 3000, 1.5, NULL), GUARD_NONE);
}

Test(guard, a_spin_is_demoted_once_the_window_passes_the_budget)
{
	uint64_t start, at = 0;

	run(0.3, 3000, 1.5, NULL);
	start = now;
	cr_assert_eq(run(2.0, 5000, 1.5, &at), GUARD_DEMOTE);
	/* window: 0.3 * (1 - x) + 2 x > 1.5 at x = 0.71 s, so the tick after */
	cr_assert(at - start >= 700 * MS && at - start <= 800 * MS, "after %llu ms",
		  (unsigned long long)((at - start) / MS));
	cr_assert(g.demoted);
	cr_assert_gt(g.use_cores, 1.5);
	cr_assert_eq(g.strikes, 1);
}

Test(guard, demoted_it_gets_its_class_back_after_behaving_for_behave_ms)
{
	uint64_t calm_from, at = 0;

	cr_assert_eq(run(2.0, 2000, 1.5, NULL), GUARD_DEMOTE);
	/* Held at its budget (its quota): not in budget by the 0.8 ratio. */
	cr_assert_eq(run(1.5, 10000, 1.5, NULL), GUARD_NONE);
	calm_from = now;
	cr_assert_eq(run(0.2, 10000, 1.5, &at), GUARD_RESTORE);
	/* The window must first fall under 1.2 (about 0.2 s), then 2 s pass. */
	cr_assert(at - calm_from >= 2000 * MS && at - calm_from <= 2500 * MS, "after %llu ms",
		  (unsigned long long)((at - calm_from) / MS));
	cr_assert_not(g.demoted);
}

Test(guard, a_second_runaway_soon_after_waits_twice_as_long)
{
	cr_assert_eq(run(2.0, 2000, 1.5, NULL), GUARD_DEMOTE);
	cr_assert_eq(run(0.1, 10000, 1.5, NULL), GUARD_RESTORE);
	cr_assert_eq(run(2.0, 2000, 1.5, NULL), GUARD_DEMOTE);
	cr_assert_eq(g.strikes, 2);
	cr_assert_eq(guard_behave_ns(&g, &cfg), 4000 * MS);
	/* 60 s in budget after a restore forgives: the next is a first strike. */
	cr_assert_eq(run(0.1, 10000, 1.5, NULL), GUARD_RESTORE);
	cr_assert_eq(run(0.1, 61000, 1.5, NULL), GUARD_NONE);
	cr_assert_eq(run(2.0, 2000, 1.5, NULL), GUARD_DEMOTE);
	cr_assert_eq(g.strikes, 1);
}

Test(guard, the_backoff_stops_at_sixteen_times)
{
	g.strikes = 40;
	cr_assert_eq(guard_behave_ns(&g, &cfg), 16 * 2000 * MS);
}

Test(guard, cpu_time_that_drops_restarts_the_window)
{
	cr_assert_eq(run(1.0, 2000, 1.5, NULL), GUARD_NONE);
	/* A member left with its time: the sum falls; nothing counts as used. */
	cpu /= 4;
	now += 50 * MS;
	cr_assert_eq(guard_sample(&g, &cfg, now, cpu, 1.5), GUARD_NONE);
	cr_assert_float_eq(g.use_cores, 0, 1e-9);
}

Test(guard, the_use_is_the_rate_whatever_the_tick_spacing)
{
	/* Ticks 70 ms apart (late timers): the window's start sample is up to
	 * a tick more than a window old; the use stays the true 2 cores. */
	for (int t = 0; t < 100; t++) {
		now += 70 * MS;
		cpu += 2 * 70 * MS;
		guard_sample(&g, &cfg, now, cpu, 9);
		if (t > 20)
			cr_assert_float_eq(g.use_cores, 2.0, 1e-6, "tick %d: %f", t, g.use_cores);
	}
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The quota controller: who gets cut, by how much, the floor, the relax. */
#include <criterion/criterion.h>
#include <math.h>

#include "policy/protect.h"

static struct triage_config cfg;
static struct protect_state st;
static struct protect_sample sample;

/* Default-like levels: critical, high (not throttled), normal, best-effort. */
static void setup(void)
{
	static const char *const names[] = { "critical", "high", "normal", "best-effort" };
	double ceiling[4] = { 2, 2, 2, 2 };

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_levels = 4;
	for (int i = 0; i < 4; i++) {
		strcpy(cfg.levels[i].name, names[i]);
		cfg.levels[i].rank = i + 1;
		cfg.levels[i].floor_cores = 0.1;
		cfg.levels[i].throttle = i >= 2;
	}
	cfg.protection = (struct protection_cfg){
		.period_us = 100000, .decrease = 0.5, .increase_cores = 0.05, .calm_ticks = 2,
		.confirm_ticks = 1, .verify_ticks = 1000, .hold_off_ticks = 100,
	};
	protect_init(&st, &cfg, ceiling);
	memset(&sample, 0, sizeof(sample));
	sample.nr_levels = 4;
	for (int i = 0; i < 4; i++) {
		sample.nr_workloads[i] = 1;
		sample.used_cores[i] = 0.5;
	}
}

TestSuite(protect, .init = setup);

Test(protect, starts_unlimited_and_calm_does_nothing)
{
	for (int i = 0; i < 4; i++)
		cr_assert(protect_unlimited(&st.level[i]));
	for (int t = 0; t < 10; t++)
		cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
}

Test(protect, violation_cuts_lowest_active_level_from_its_use)
{
	struct protect_decision d;

	sample.severity[0] = 2.0;
	sample.used_cores[3] = 1.6;
	d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.action, PROTECT_CUT);
	cr_assert_eq(d.level, 3);
	cr_assert_eq(d.cause, 0);
	cr_assert_float_eq(d.old_limit, 2.0, 1e-9);
	cr_assert_float_eq(d.new_limit, 0.8, 1e-9, "half of the 1.6 cores it used");
	d = protect_tick(&st, &cfg, &sample);
	cr_assert_float_eq(d.new_limit, 0.4, 1e-9, "multiplicative again from its limit");
}

Test(protect, idle_lowest_level_is_skipped)
{
	struct protect_decision d;

	sample.severity[0] = 2.0;
	sample.used_cores[3] = 0;
	d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.level, 2, "best-effort idle: normal is the lowest active level");
}

Test(protect, never_under_floor_then_next_level)
{
	struct protect_decision d;

	sample.severity[0] = 2.0;
	sample.nr_workloads[3] = 3; /* floor 0.3 cores */
	for (int t = 0; t < 20; t++) {
		d = protect_tick(&st, &cfg, &sample);
		cr_assert_geq(st.level[3].limit, 0.3 - 1e-9);
		if (d.level == 2)
			cr_assert_float_eq(st.level[3].limit, 0.3, 1e-9,
					   "normal is cut only once best-effort is at its floor");
	}
	cr_assert_float_eq(st.level[3].limit, 0.3, 1e-9);
	cr_assert_eq(d.action, PROTECT_NONE, "both at their floors: nothing left to cut");
	cr_assert_float_eq(st.level[2].limit, 0.1, 1e-9, "normal ends at its own floor");
	cr_assert(protect_unlimited(&st.level[1]), "high is not throttleable");
}

Test(protect, nothing_cut_for_violation_of_lowest_level)
{
	sample.severity[3] = 2.0;
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
	for (int i = 0; i < 4; i++)
		cr_assert(protect_unlimited(&st.level[i]));
}

Test(protect, violation_of_normal_cuts_only_below_it)
{
	struct protect_decision d;

	sample.severity[2] = 2.0;
	sample.used_cores[3] = 0;
	d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.action, PROTECT_NONE, "nothing active below normal");
}

Test(protect, relax_after_calm_ticks_highest_rank_first)
{
	struct protect_decision d;

	sample.severity[0] = 2.0;
	sample.used_cores[2] = 1.0;
	sample.used_cores[3] = 1.0;
	protect_tick(&st, &cfg, &sample); /* best-effort 0.5 */
	sample.used_cores[3] = 0;
	protect_tick(&st, &cfg, &sample); /* normal 0.5 */
	sample.severity[0] = 0;
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
	d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.action, PROTECT_RELAX);
	cr_assert_eq(d.level, 2, "normal outranks best-effort: relaxed first");
	cr_assert_float_eq(d.new_limit, 0.55, 1e-9, "additive step");
	while (!protect_unlimited(&st.level[2]))
		protect_tick(&st, &cfg, &sample);
	cr_assert_float_eq(st.level[3].limit, 0.5, 1e-9, "best-effort waited for normal");
	d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.level, 3);
}

Test(protect, a_violation_resets_calm)
{
	sample.severity[0] = 2.0;
	protect_tick(&st, &cfg, &sample);
	sample.severity[0] = 0;
	protect_tick(&st, &cfg, &sample);
	sample.severity[0] = 2.0;
	protect_tick(&st, &cfg, &sample);
	sample.severity[0] = 0;
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_RELAX);
}

Test(protect, new_workloads_raise_limit_to_floor)
{
	struct protect_decision d;

	sample.severity[0] = 2.0;
	for (int t = 0; t < 10; t++)
		protect_tick(&st, &cfg, &sample);
	cr_assert_float_eq(st.level[3].limit, 0.1, 1e-9);
	sample.nr_workloads[3] = 4;
	d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.action, PROTECT_RELAX);
	cr_assert_eq(d.level, 3);
	cr_assert_float_eq(st.level[3].limit, 0.4, 1e-9, "four workloads, four floors");
}

Test(protect, floor_above_ceiling_means_unlimited)
{
	sample.severity[0] = 2.0;
	sample.nr_workloads[3] = 30; /* 3 cores of floor on 2 cores */
	for (int t = 0; t < 5; t++)
		protect_tick(&st, &cfg, &sample);
	cr_assert(protect_unlimited(&st.level[3]));
}

Test(protect, a_miss_must_last_confirm_ticks)
{
	cfg.protection.confirm_ticks = 3;
	sample.severity[0] = 2.0;
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_CUT, "third missed tick in a row");
	sample.severity[0] = 0;
	protect_tick(&st, &cfg, &sample);
	sample.severity[0] = 2.0;
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE, "a calm tick restarts the count");
}

Test(protect, a_severity_under_one_is_no_miss)
{
	sample.severity[0] = 0.99;
	for (int t = 0; t < 5; t++)
		cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE);
}

Test(protect, a_cut_that_does_not_help_is_reverted_and_held_off)
{
	struct protect_decision d;
	int t;

	cfg.protection.verify_ticks = 4;
	sample.severity[0] = 2.0;
	sample.used_cores[3] = 1.6;
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_CUT);
	for (t = 0; t < 10; t++) {
		d = protect_tick(&st, &cfg, &sample);
		if (d.action == PROTECT_REVERT)
			break;
		cr_assert_eq(d.action, PROTECT_CUT, "cuts go on until the verification");
	}
	cr_assert_eq(d.action, PROTECT_REVERT, "the miss stayed as bad: the cut is undone");
	cr_assert_eq(d.level, 3);
	cr_assert_eq(d.cause, 0);
	cr_assert_float_eq(d.was, 2.0, 1e-9);
	cr_assert_eq(d.hold_off, 100);
	cr_assert(protect_unlimited(&st.level[3]), "best-effort has its quota back");
	d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.level, 2, "held off: the next level up is cut instead");
	cr_assert(protect_unlimited(&st.level[3]));
}

Test(protect, hold_off_ends_and_doubles_on_repeat)
{
	struct protect_decision d = { 0 };
	int t;

	cfg.protection.verify_ticks = 2;
	cfg.levels[2].throttle = false; /* only best-effort can be cut */
	sample.severity[0] = 2.0;
	for (t = 0; t < 10 && d.action != PROTECT_REVERT; t++)
		d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.action, PROTECT_REVERT);
	for (t = 0; t < 99; t++)
		cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_NONE, "held off at tick %d", t);
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_CUT, "hold-off over");
	d.action = PROTECT_NONE;
	for (t = 0; t < 10 && d.action != PROTECT_REVERT; t++)
		d = protect_tick(&st, &cfg, &sample);
	cr_assert_eq(d.action, PROTECT_REVERT);
	cr_assert_eq(d.hold_off, 200, "second time in vain: twice as long");
}

Test(protect, a_cut_that_helped_is_kept)
{
	struct protect_decision d;

	cfg.protection.verify_ticks = 2;
	cfg.levels[2].throttle = false; /* only best-effort can be cut */
	sample.severity[0] = 2.0;
	cr_assert_eq(protect_tick(&st, &cfg, &sample).action, PROTECT_CUT);
	sample.severity[0] = 0;
	protect_tick(&st, &cfg, &sample); /* calm: the cut helped */
	sample.severity[0] = 2.0;
	for (int t = 0; t < 10; t++) {
		d = protect_tick(&st, &cfg, &sample);
		cr_assert_neq(d.action, PROTECT_REVERT, "a cut that once brought calm is not undone");
	}
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The sensors' shared arithmetic (include/triage/sensors_math.h), compiled
 * here as the BPF programs and triage.ko compile it: buckets, slices, and a
 * runqueue wait's charge with its interference. */
#include <criterion/criterion.h>
#include <string.h>

#include "triage/sensors_math.h"

#define PLAIN_ADD(field, n) ((field) += (n))
#define PLAIN_SET(field, v) ((field) = (v))

Test(sensors_math, log2_and_buckets)
{
	cr_assert_eq(triage_log2_u64(0), 0);
	for (int b = 0; b < 64; b++) {
		__u64 v = 1ULL << b;

		cr_assert_eq(triage_log2_u64(v), (__u64)b, "2^%d", b);
		if (b > 1)
			cr_assert_eq(triage_log2_u64(v - 1), (__u64)(b - 1), "2^%d - 1", b);
	}
	cr_assert_eq(triage_wait_hist_bucket(999), 0, "under 1 us");
	cr_assert_eq(triage_wait_hist_bucket(1000), 0, "[1, 2) us");
	cr_assert_eq(triage_wait_hist_bucket(2000), 1);
	cr_assert_eq(triage_wait_hist_bucket(1023999), 9);
	cr_assert_eq(triage_wait_hist_bucket(1024000), 10);
	cr_assert_eq(triage_wait_hist_bucket(~0ULL), TRIAGE_HIST_BUCKETS - 1, "the last takes all");
}

Test(sensors_math, slice_goes_to_its_slot_or_idle)
{
	struct triage_cpu_stats cs;

	memset(&cs, 0, sizeof(cs));
	cr_assert(triage_slice_charge(&cs, 42, 2, 500));
	cr_assert_eq(cs.busy_ns[2], 500);
	cr_assert_not(triage_slice_charge(&cs, 0, 2, 300), "the idle task is no slot's");
	cr_assert_eq(cs.idle_ns, 300);
	cr_assert_eq(cs.busy_ns[2], 500);
	cr_assert_not(triage_slice_charge(&cs, 42, TRIAGE_NR_SLOTS, 100));
	cr_assert_eq(triage_missed_slice(1000, 5400, 5000), 400);
	cr_assert_eq(triage_missed_slice(300, 5400, 5000), 300, "never more than the gap");
	cr_assert(triage_fair_policy(0) && triage_fair_policy(3) && triage_fair_policy(5));
	cr_assert_not(triage_fair_policy(1), "SCHED_FIFO");
}

/* Level 1 waits on CPU 3 while level 5 runs there for 700 of its 1000 ns. */
Test(sensors_math, interference_is_lower_time_during_the_wait)
{
	struct triage_cpu_stats cs;
	struct triage_wait_state w;
	struct triage_wait_charge c;
	struct triage_wl_stats wl;

	memset(&cs, 0, sizeof(cs));
	memset(&wl, 0, sizeof(wl));
	cs.busy_ns[5] = 10000;
	cs.busy_ns[0] = 99999; /* a higher level: never interference for 1 */
	cr_assert(triage_wait_begin(&w, 1, 2000, 3));
	cr_assert(triage_waiting(&w));
	/* Level 5 was switched in at 1800: 200 ns of its slice are not in busy_ns yet. */
	triage_wait_snapshot(&w, 1, triage_lower_levels_busy(&cs, 1), 5, 1800, 2000);
	cr_assert_eq(w.intf_snap, 10200);
	cs.busy_ns[5] = 10900; /* its slice ends at 2700 */
	cr_assert(triage_wait_end(&w, &cs, 1, 3000, 3, &c));
	cr_assert_not(triage_waiting(&w));
	cr_assert_eq(c.wait_ns, 1000);
	cr_assert_eq(c.intf_ns, 700);
	cr_assert_eq(cs.wait_ns[1], 1000);
	cr_assert_eq(cs.wait_count[1], 1);
	cr_assert_eq(cs.intf_ns[1], 700);
	cr_assert_eq(cs.intf_count[1], 1);
	TRIAGE_WL_CHARGE_WAIT(&wl, &c, 3, PLAIN_ADD, PLAIN_SET);
	cr_assert_eq(wl.wait_ns, 1000);
	cr_assert_eq(wl.intf_ns, 700);
	cr_assert_eq(wl.wait_hist[triage_wait_hist_bucket(1000)], 1);
	cr_assert_eq(wl.last_cpu, 3);
	cr_assert_eq(wl.slot, 1);
}

Test(sensors_math, interference_never_exceeds_the_wait)
{
	struct triage_cpu_stats cs;
	struct triage_wait_state w;
	struct triage_wait_charge c;

	memset(&cs, 0, sizeof(cs));
	triage_wait_begin(&w, 0, 100, 0);
	triage_wait_snapshot(&w, 0, 0, TRIAGE_SLOT_IDLE, 0, 100);
	cs.busy_ns[7] = 5000; /* more lower time than the wait lasted */
	cr_assert(triage_wait_end(&w, &cs, 0, 400, 0, &c));
	cr_assert_eq(c.wait_ns, 300);
	cr_assert_eq(c.intf_ns, 300);
}

Test(sensors_math, a_migrated_wait_counts_no_interference)
{
	struct triage_cpu_stats cs;
	struct triage_wait_state w;
	struct triage_wait_charge c;

	memset(&cs, 0, sizeof(cs));
	triage_wait_begin(&w, 1, 1000, 2);
	triage_wait_snapshot(&w, 1, 0, 0, 0, 1000);
	cs.busy_ns[4] = 800;
	cr_assert(triage_wait_end(&w, &cs, 1, 1500, 6, &c), "ends on CPU 6");
	cr_assert_eq(c.wait_ns, 500);
	cr_assert_eq(c.intf_ns, 0);
	cr_assert_eq(cs.intf_count[1], 0);
}

Test(sensors_math, untagged_and_clock_behind)
{
	struct triage_cpu_stats cs;
	struct triage_wait_state w;
	struct triage_wait_charge c;

	memset(&cs, 0, sizeof(cs));
	/* Untagged tasks wait in slot TRIAGE_SLOT_UNTAGGED: no snapshot. */
	cr_assert_not(triage_wait_begin(&w, TRIAGE_SLOT_UNTAGGED, 500, 0));
	cr_assert(triage_wait_end(&w, &cs, TRIAGE_SLOT_UNTAGGED, 400, 0, &c),
		  "a clock behind is a wait of 0");
	cr_assert_eq(c.wait_ns, 0);
	cr_assert_eq(cs.wait_count[TRIAGE_SLOT_UNTAGGED], 1);
	triage_wait_begin(&w, 1, 0, 0);
	cr_assert(triage_waiting(&w), "a wait begun at clock 0 still waits");
	cr_assert_not(triage_wait_end(&w, &cs, TRIAGE_NR_SLOTS, 10, 0, &c), "no such slot");
}

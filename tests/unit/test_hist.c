// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Wait-histogram math: bucket numbering must agree with the sensors, and
 * quantiles drive the protection loop, so both are pinned down here. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "sensors/hist.h"

Test(hist, bucket_of_sub_microsecond_waits_is_zero)
{
	cr_assert_eq(hist_bucket(0), 0);
	cr_assert_eq(hist_bucket(999), 0);
}

Test(hist, bucket_of_microseconds)
{
	cr_assert_eq(hist_bucket(1000), 0);     /* 1 us */
	cr_assert_eq(hist_bucket(1999), 0);     /* still 1 us */
	cr_assert_eq(hist_bucket(2000), 1);     /* 2 us */
	cr_assert_eq(hist_bucket(3000), 1);     /* 3 us */
	cr_assert_eq(hist_bucket(4000), 2);     /* 4 us */
	cr_assert_eq(hist_bucket(1023999), 9);  /* 1023 us */
	cr_assert_eq(hist_bucket(1024000), 10); /* 1024 us */
}

Test(hist, bucket_of_one_second)
{
	/* 10^6 us lies in [2^19, 2^20). */
	cr_assert_eq(hist_bucket(1000000000ULL), 19);
}

Test(hist, huge_waits_clamp_to_last_bucket)
{
	cr_assert_eq(hist_bucket(UINT64_MAX), TRIAGE_HIST_BUCKETS - 1);
	cr_assert_eq(hist_bucket((1ULL << TRIAGE_HIST_BUCKETS) * 1000), TRIAGE_HIST_BUCKETS - 1);
	cr_assert_eq(hist_bucket((1ULL << (TRIAGE_HIST_BUCKETS - 1)) * 1000),
		     TRIAGE_HIST_BUCKETS - 1);
}

Test(hist, bounds)
{
	double lo, hi;

	hist_bucket_bounds_us(0, &lo, &hi);
	cr_assert_float_eq(lo, 0.0, 1e-9);
	cr_assert_float_eq(hi, 2.0, 1e-9);
	hist_bucket_bounds_us(1, &lo, &hi);
	cr_assert_float_eq(lo, 2.0, 1e-9);
	cr_assert_float_eq(hi, 4.0, 1e-9);
	hist_bucket_bounds_us(10, &lo, &hi);
	cr_assert_float_eq(lo, 1024.0, 1e-9);
	cr_assert_float_eq(hi, 2048.0, 1e-9);
	hist_bucket_bounds_us(TRIAGE_HIST_BUCKETS - 1, &lo, &hi);
	cr_assert_float_eq(lo, ldexp(1, TRIAGE_HIST_BUCKETS - 1), 1e-3);
	cr_assert_float_eq(hi, ldexp(1, TRIAGE_HIST_BUCKETS), 1e-3);
}

Test(hist, every_bucket_holds_its_own_lower_bound)
{
	for (unsigned b = 1; b < TRIAGE_HIST_BUCKETS; b++) {
		double lo, hi;

		hist_bucket_bounds_us(b, &lo, &hi);
		cr_assert_eq(hist_bucket((uint64_t)lo * 1000), b, "bucket %u", b);
		cr_assert_eq(hist_bucket((uint64_t)hi * 1000 - 1), b, "bucket %u", b);
	}
}

Test(hist, delta_and_count)
{
	__u64 before[TRIAGE_HIST_BUCKETS] = { [0] = 5, [3] = 10, [7] = 100 };
	__u64 now[TRIAGE_HIST_BUCKETS] = { [0] = 8, [3] = 10, [7] = 4, [9] = 2 };
	__u64 out[TRIAGE_HIST_BUCKETS];

	hist_delta(now, before, out);
	cr_assert_eq(out[0], 3);
	cr_assert_eq(out[3], 0);
	cr_assert_eq(out[7], 0, "a reset bucket yields 0, not a wrapped difference");
	cr_assert_eq(out[9], 2);
	cr_assert_eq(hist_count(out), 5);
	cr_assert_eq(hist_count(now), 24);
}

Test(hist, quantile_of_empty_histogram_is_zero)
{
	__u64 h[TRIAGE_HIST_BUCKETS] = { 0 };

	cr_assert_float_eq(hist_quantile_us(h, 0.5), 0.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 0.99), 0.0, 1e-9);
}

Test(hist, quantile_inside_a_single_bucket)
{
	__u64 h[TRIAGE_HIST_BUCKETS] = { [3] = 10 }; /* [8, 16) us */

	cr_assert_float_eq(hist_quantile_us(h, 0.0), 8.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 0.5), 12.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 0.99), 15.92, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 1.0), 16.0, 1e-9);
}

Test(hist, quantile_across_two_buckets)
{
	/* Half the waits under 2 us, half in [1024, 2048) us. */
	__u64 h[TRIAGE_HIST_BUCKETS] = { [0] = 5, [10] = 5 };

	cr_assert_float_eq(hist_quantile_us(h, 0.0), 0.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 0.2), 0.8, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 0.5), 2.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 0.75), 1536.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 1.0), 2048.0, 1e-9);
}

Test(hist, quantile_skips_empty_buckets_at_the_edges)
{
	__u64 h[TRIAGE_HIST_BUCKETS] = { [4] = 1, [6] = 3 };

	/* q = 0 is the bottom of the first non-empty bucket, q = 1 the top of
	 * the last one, whatever lies around them. */
	cr_assert_float_eq(hist_quantile_us(h, 0.0), 16.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 1.0), 128.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 0.25), 32.0, 1e-9);
}

Test(hist, quantile_clamps_q)
{
	__u64 h[TRIAGE_HIST_BUCKETS] = { [2] = 4 }; /* [4, 8) us */

	cr_assert_float_eq(hist_quantile_us(h, -1.0), 4.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, 2.0), 8.0, 1e-9);
	cr_assert_float_eq(hist_quantile_us(h, NAN), 4.0, 1e-9);
}

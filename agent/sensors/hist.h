/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Math on the log2 wait histograms of wl_stats (see triage/sensors.h).
 * Histograms are __u64 arrays, the type of the shared counter structs. */
#ifndef TRIAGE_HIST_H
#define TRIAGE_HIST_H

#include <linux/types.h>
#include <stdint.h>

#include "triage/abi.h"

/* Bucket of a wait of ns nanoseconds, as the sensors compute it
 * (triage_wait_hist_bucket() of triage/sensors_math.h). */
unsigned hist_bucket(uint64_t ns);

/* Lower and upper bound of bucket b in microseconds: [lo, hi). */
void hist_bucket_bounds_us(unsigned b, double *lo, double *hi);

/* out = now - before, bucket by bucket (a window between two samples). A
 * bucket that went backwards (counters reset) yields 0. */
void hist_delta(const __u64 now[TRIAGE_HIST_BUCKETS], const __u64 before[TRIAGE_HIST_BUCKETS],
		__u64 out[TRIAGE_HIST_BUCKETS]);

__u64 hist_count(const __u64 h[TRIAGE_HIST_BUCKETS]);

/* Bucket that holds quantile q, or -1 for an empty histogram. */
int hist_quantile_bucket(const __u64 h[TRIAGE_HIST_BUCKETS], double q);

/* Quantile q in [0,1] in microseconds, linear inside the bucket that holds
 * it; 0 for an empty histogram. */
double hist_quantile_us(const __u64 h[TRIAGE_HIST_BUCKETS], double q);

#endif

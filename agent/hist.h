/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Math on the log2 wait histograms of wl_stats (see triage/sensors.h). */
#ifndef TRIAGE_HIST_H
#define TRIAGE_HIST_H

#include <stdint.h>

#include "triage/abi.h"

/* Bucket of a wait of ns nanoseconds, as the sensors compute it. */
unsigned hist_bucket(uint64_t ns);

/* Lower and upper bound of bucket b in microseconds: [lo, hi). */
void hist_bucket_bounds_us(unsigned b, double *lo, double *hi);

/* out = now - before, bucket by bucket (a window between two samples). A
 * bucket that went backwards (counters reset) yields 0. */
void hist_delta(const uint64_t now[TRIAGE_HIST_BUCKETS], const uint64_t before[TRIAGE_HIST_BUCKETS],
		uint64_t out[TRIAGE_HIST_BUCKETS]);

uint64_t hist_count(const uint64_t h[TRIAGE_HIST_BUCKETS]);

/* Quantile q in [0,1] in microseconds, linear inside the bucket that holds
 * it; 0 for an empty histogram. */
double hist_quantile_us(const uint64_t h[TRIAGE_HIST_BUCKETS], double q);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Math on the log2 runqueue-wait histograms the sensors fill (wl_stats):
 * the bucket rule of the BPF and kmod side (triage/sensors_math.h, compiled
 * into all three), windows between two samples, and quantiles for the
 * protection loop's p99 targets.
 */
#include "sensors/hist.h"

#include "triage/sensors_math.h"

unsigned hist_bucket(uint64_t ns)
{
	/* The sensors' own rule: waits under 1 us share bucket 0 with
	 * [1, 2) us, the last bucket holds everything above. */
	return triage_wait_hist_bucket(ns);
}

void hist_bucket_bounds_us(unsigned b, double *lo, double *hi)
{
	if (b >= TRIAGE_HIST_BUCKETS)
		b = TRIAGE_HIST_BUCKETS - 1;
	*lo = b ? (double)(1ULL << b) : 0.0;
	*hi = (double)(1ULL << (b + 1));
}

void hist_delta(const __u64 now[TRIAGE_HIST_BUCKETS], const __u64 before[TRIAGE_HIST_BUCKETS],
		__u64 out[TRIAGE_HIST_BUCKETS])
{
	/* A counter below its previous value was reset (map recreated, agent
	 * restarted); its window is unknown, and a wrapped difference would
	 * look like billions of waits. */
	for (unsigned b = 0; b < TRIAGE_HIST_BUCKETS; b++)
		out[b] = now[b] >= before[b] ? now[b] - before[b] : 0;
}

__u64 hist_count(const __u64 h[TRIAGE_HIST_BUCKETS])
{
	__u64 count = 0;

	for (unsigned b = 0; b < TRIAGE_HIST_BUCKETS; b++)
		count += h[b];
	return count;
}

int hist_quantile_bucket(const __u64 h[TRIAGE_HIST_BUCKETS], double q)
{
	__u64 count = hist_count(h);
	double rank, below = 0;
	int last = -1;

	if (!count)
		return -1;
	rank = (q > 1 ? 1 : q > 0 ? q : 0) * (double)count;
	for (unsigned b = 0; b < TRIAGE_HIST_BUCKETS; b++) {
		if (!h[b])
			continue;
		last = (int)b;
		if (below + (double)h[b] >= rank)
			return (int)b;
		below += (double)h[b];
	}
	return last;
}

double hist_quantile_us(const __u64 h[TRIAGE_HIST_BUCKETS], double q)
{
	__u64 count = hist_count(h);
	double rank, below = 0, lo, hi;
	int last = -1;

	if (!count)
		return 0;
	if (!(q > 0)) /* also NaN */
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)count;

	for (unsigned b = 0; b < TRIAGE_HIST_BUCKETS; b++) {
		if (!h[b])
			continue;
		last = (int)b;
		if (below + (double)h[b] >= rank) {
			hist_bucket_bounds_us(b, &lo, &hi);
			return lo + (hi - lo) * (rank - below) / (double)h[b];
		}
		below += (double)h[b];
	}
	/* Only reached through rounding at q = 1: the top of the last bucket. */
	hist_bucket_bounds_us((unsigned)last, &lo, &hi);
	return hi;
}

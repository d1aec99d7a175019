/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Exact quantiles of samples (every sample kept, no histogram), for the
 * latency figures of the client library, triage-run, the GPU coordinator,
 * the simulator and the benchmarks.
 *
 * The rule is nearest rank: the q-quantile of n values is the
 * ceil(q * n)-th smallest (1-based, at least the first), the smallest
 * value with at least q * n values at or below it. Nearest rank rather
 * than interpolation: every reported p99 is a latency some request really
 * had, and the p99 of fewer than 100 samples is their maximum.
 *
 * Two benchmarks keep their older rules on the interpolation point
 * q * (n - 1) (quantile_sorted_round(), quantile_sorted_up()), so that
 * their figures stay comparable with the results already written down.
 */
#ifndef TRIAGE_LIB_QUANTILE_H
#define TRIAGE_LIB_QUANTILE_H

#include <stddef.h>
#include <stdint.h>

/* 0-based index of the nearest-rank q-quantile among n > 0 sorted values. */
size_t quantile_rank(size_t n, double q);

/* The nearest-rank q-quantile of n sorted values; 0 for none. */
double quantile_sorted(const double *sorted, size_t n, double q);

/* Sorts v (n values) ascending. */
void quantile_sort(double *v, size_t n);

/* Sorts v in place, then quantile_sorted(). */
double quantile(double *v, size_t n, double q);

/* The same over a sorted copy of v, which is left as it is; 0 for none or
 * when the copy cannot be allocated. */
double quantile_copy(const double *v, size_t n, double q);

/* The k-th smallest of v[0..n) (0-based, k < n) by Hoare's selection,
 * expected O(n): v is reordered so that v[0..k] <= v[k] <= v[k..n). */
double select_kth(double *v, size_t n, size_t k);
uint64_t select_kth_u64(uint64_t *v, size_t n, size_t k);

/* The nearest-rank q-quantile by select_kth() (v reordered, not sorted),
 * for when one quantile is wanted and a sort would cost more; 0 for none. */
double quantile_select(double *v, size_t n, double q);

/* The middle value of v, the upper of the two middle ones for an even n
 * (sorts v); 0 for none. */
double quantile_median(double *v, size_t n);

/* The older rules on the interpolation point q * (n - 1) of n sorted
 * values: the value at that index rounded to the nearest (bench/kmod-
 * roundtrip), or rounded up (bench/periodic's p99); 0 for none. */
double quantile_sorted_round(const double *sorted, size_t n, double q);
double quantile_sorted_up(const double *sorted, size_t n, double q);

struct quantile_summary {
	size_t n;
	double p50, p99, mean, max;
};

/* Sorts v (n values) in place and summarizes it; all zero for n = 0. */
void quantile_summarize(double *v, size_t n, struct quantile_summary *s);

#endif

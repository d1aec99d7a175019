/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Latency summaries for the GPU coordinator and benchmark: nearest-rank
 * quantiles over all samples (no histogram: a run keeps at most a few
 * hundred thousand requests, and p99 against isolated is the figure the
 * benchmark is judged on, so it is computed exactly). Pure C.
 */
#ifndef TRIAGE_CUDA_LATENCY_H
#define TRIAGE_CUDA_LATENCY_H

#include <stddef.h>

struct latency_summary {
	size_t n;
	double p50, p99, mean, max;
};

/* The nearest-rank q-quantile of n sorted values: the smallest value with
 * at least q * n values at or below it; 0 for none. */
double latency_quantile(const double *sorted, size_t n, double q);

/* Sorts v (n values) in place and summarizes it; all zero for n = 0. */
void latency_summarize(double *v, size_t n, struct latency_summary *s);

#endif

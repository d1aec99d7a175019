// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Nearest-rank latency quantiles (cuda/latency.h). Nearest rank rather than
 * interpolation: every reported p99 is a latency some request really had.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double latency_quantile(const double *sorted, size_t n, double q)
{
	size_t rank;

	if (!n)
		return 0.0;
	if (q <= 0.0)
		return sorted[0];
	/* The epsilon keeps 0.99 * 100 at rank 99, not 100, despite 0.99
	 * being just over 99/100 in binary. */
	rank = (size_t)ceil(q * (double)n - 1e-9);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

void latency_summarize(double *v, size_t n, struct latency_summary *s)
{
	double sum = 0.0;

	memset(s, 0, sizeof(*s));
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s->n = n;
	s->p50 = latency_quantile(v, n, 0.50);
	s->p99 = latency_quantile(v, n, 0.99);
	s->mean = sum / (double)n;
	s->max = v[n - 1];
}

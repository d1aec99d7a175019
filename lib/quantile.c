// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Exact quantiles (lib/quantile.h): nearest rank, so that a reported p99
 * is a latency some request really had. No libm: libtriage.so carries
 * this file and links nothing but libc.
 */
#include <stdlib.h>
#include <string.h>

#include "quantile.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ceil(x) as an index, 0 for x <= 0 or NaN. */
static size_t ceil_index(double x)
{
	size_t i;

	if (!(x > 0.0))
		return 0;
	i = (size_t)x;
	return i + ((double)i < x);
}

size_t quantile_rank(size_t n, double q)
{
	size_t rank;

	if (!n || !(q > 0.0))
		return 0;
	if (q >= 1.0)
		return n - 1;
	/* The epsilon keeps a product that should be a whole number, should
	 * it come out just over one in binary, at that rank: 0.99 * 100 is
	 * rank 99, not 100. */
	rank = ceil_index(q * (double)n - 1e-9);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return rank - 1;
}

double quantile_sorted(const double *sorted, size_t n, double q)
{
	return n ? sorted[quantile_rank(n, q)] : 0.0;
}

void quantile_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
}

double quantile(double *v, size_t n, double q)
{
	quantile_sort(v, n);
	return quantile_sorted(v, n, q);
}

double quantile_copy(const double *v, size_t n, double q)
{
	double *tmp, r;

	if (!n)
		return 0.0;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return 0.0;
	memcpy(tmp, v, n * sizeof(*tmp));
	r = quantile(tmp, n, q);
	free(tmp);
	return r;
}

/* Hoare's selection with the middle element as pivot, for each type. The
 * indices are signed: j steps below lo when a swap meets at lo. */
#define DEFINE_SELECT_KTH(name, type)					\
type name(type *v, size_t n, size_t k)					\
{									\
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;	\
									\
	while (lo < hi) {						\
		type pivot = v[lo + (hi - lo) / 2], t;			\
		ptrdiff_t i = lo, j = hi;				\
									\
		while (i <= j) {					\
			while (v[i] < pivot)				\
				i++;					\
			while (v[j] > pivot)				\
				j--;					\
			if (i <= j) {					\
				t = v[i];				\
				v[i++] = v[j];				\
				v[j--] = t;				\
			}						\
		}							\
		if (kk <= j)						\
			hi = j;						\
		else if (kk >= i)					\
			lo = i;						\
		else							\
			break;						\
	}								\
	return v[kk];							\
}

DEFINE_SELECT_KTH(select_kth, double)
DEFINE_SELECT_KTH(select_kth_u64, uint64_t)

double quantile_select(double *v, size_t n, double q)
{
	return n ? select_kth(v, n, quantile_rank(n, q)) : 0.0;
}

double quantile_median(double *v, size_t n)
{
	if (!n)
		return 0.0;
	quantile_sort(v, n);
	return v[n / 2];
}

double quantile_sorted_round(const double *sorted, size_t n, double q)
{
	double at;

	if (!n)
		return 0.0;
	at = q * (double)(n - 1) + 0.5;
	return sorted[at > 0.0 ? ((size_t)at < n ? (size_t)at : n - 1) : 0];
}

double quantile_sorted_up(const double *sorted, size_t n, double q)
{
	size_t at;

	if (!n)
		return 0.0;
	at = ceil_index(q * (double)(n - 1));
	return sorted[at < n ? at : n - 1];
}

void quantile_summarize(double *v, size_t n, struct quantile_summary *s)
{
	double sum = 0.0;

	memset(s, 0, sizeof(*s));
	if (!n)
		return;
	quantile_sort(v, n);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s->n = n;
	s->p50 = quantile_sorted(v, n, 0.50);
	s->p99 = quantile_sorted(v, n, 0.99);
	s->mean = sum / (double)n;
	s->max = v[n - 1];
}

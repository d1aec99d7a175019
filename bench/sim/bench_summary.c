// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * planner-sim's metrics: the raw runs of a platform reduced to one
 * summary per policy and set of mixes, the gap values and the best
 * baseline. Markdown and JSON both read them from here, so that the two
 * outputs and the PASS/MISS verdicts cannot disagree.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static double ratio_floor(double x)
{
	return x > BENCH_RATIO_FLOOR ? x : BENCH_RATIO_FLOOR;
}

/* The rank-1 DNN's T/P over the mean T/P of the others. */
static double prioritization(const struct bench_mix *mix, const struct bench_run *run)
{
	double others = 0;
	int n = 0;

	for (int i = 0; i < mix->nr_dnns; i++)
		if (i != mix->top) {
			others += run->dnn[i].sim_tp / run->dnn[i].potential;
			n++;
		}
	if (!n)
		return 1;
	return ratio_floor(run->dnn[mix->top].sim_tp / run->dnn[mix->top].potential) /
	       ratio_floor(others / n);
}

void bench_summarize(const struct bench_platform *bp, bool critical, int policy,
		     struct bench_summary *s)
{
	struct plan_params params;
	double *dec = calloc(bp->nr_mixes + 1, sizeof(*dec));
	double *lat = calloc(bp->nr_mixes + 1, sizeof(*lat));
	double log_prio = 0, ape = 0;
	int nr_lat = 0;

	plan_params_default(&params);
	memset(s, 0, sizeof(*s));
	for (int k = 0; k < bp->nr_mixes; k++) {
		const struct bench_mix *mix = &bp->mix[k];
		const struct bench_run *run = &mix->run[policy];
		const struct bench_run *linux_run = &mix->run[PLAN_POLICY_LINUX];
		double sum = 0, sum_linux = 0, sum_tp_p = 0;

		if (mix->critical != critical)
			continue;
		if (!run->ok || !linux_run->ok) {
			s->failed++;
			continue;
		}
		for (int i = 0; i < mix->nr_dnns; i++) {
			const struct bench_dnn *d = &run->dnn[i];

			sum += d->sim_tp;
			sum_linux += linux_run->dnn[i].sim_tp;
			sum_tp_p += d->sim_tp / d->potential;
			s->dnns++;
			s->starved += d->sim_tp / d->potential < params.floor;
			if (d->sim_tp > 0) {
				ape += fabs(d->est_tp - d->sim_tp) / d->sim_tp;
				s->mape_n++;
			}
		}
		s->norm_tp += sum_linux > 0 ? sum / sum_linux : 0;
		s->tp_over_p += sum_tp_p;
		log_prio += log(prioritization(mix, run));
		if (dec)
			dec[s->mixes] = run->decision_ms;
		s->mixes++;
		if (critical) {
			const struct bench_dnn *d = &run->dnn[mix->top];
			double limit = d->target_ms * (1 + params.latency_slack);

			s->crit_n++;
			/* A DNN that completed nothing has no latency: a miss. */
			s->crit_miss += !(d->sim_lat_ms > 0) || d->sim_lat_ms > limit;
			s->crit_p99_miss += !(d->sim_p99_ms > 0) || d->sim_p99_ms > limit;
			if (lat)
				lat[nr_lat++] =
					d->sim_lat_ms > 0 ? d->sim_lat_ms / d->target_ms : INFINITY;
		}
	}
	if (s->mixes) {
		s->norm_tp /= s->mixes;
		s->tp_over_p /= s->mixes;
		s->prio = exp(log_prio / s->mixes);
	}
	s->mape = s->mape_n ? 100 * ape / s->mape_n : NAN;
	s->dec_p50 = dec ? bench_percentile(dec, s->mixes, 50) : NAN;
	s->dec_p99 = dec ? bench_percentile(dec, s->mixes, 99) : NAN;
	s->crit_lat_ratio = lat ? bench_percentile(lat, nr_lat, 50) : NAN;
	free(dec);
	free(lat);
}

bool bench_policy_ran(const struct bench_opts *o, int p)
{
	return o->policy[p] || p == PLAN_POLICY_LINUX;
}

int bench_best_baseline(const struct bench_opts *o, const struct bench_summary *s, bool by_prio)
{
	int best = -1;

	for (int p = 0; p < PLAN_POLICY__COUNT; p++) {
		if (p == PLAN_POLICY_RANKMAP || !bench_policy_ran(o, p) || !s[p].mixes)
			continue;
		if (best < 0 ||
		    (by_prio ? s[p].prio > s[best].prio : s[p].norm_tp > s[best].norm_tp))
			best = p;
	}
	return best;
}

double bench_gap_of(const struct bench_gap *gap)
{
	return fmax(0, (gap->optimum - gap->rankmap) / gap->optimum);
}

int bench_gap_values(const struct bench_results *r, double *out, int *infeasible, int *exact)
{
	int n = 0;

	*infeasible = *exact = 0;
	for (int p = 0; p < r->nr_platforms; p++)
		for (int g = 0; g < r->platform[p].nr_gaps; g++) {
			const struct bench_gap *gap = &r->platform[p].gap[g];

			if (!(gap->optimum > 0)) {
				(*infeasible)++;
				continue;
			}
			out[n] = bench_gap_of(gap);
			*exact += out[n] < 1e-9;
			n++;
		}
	return n;
}

int bench_nr_gaps(const struct bench_results *r)
{
	int n = 0;

	for (int p = 0; p < r->nr_platforms; p++)
		n += r->platform[p].nr_gaps;
	return n;
}

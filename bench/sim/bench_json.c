// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * planner-sim's JSON output: the same summaries as the markdown report
 * (bench_summary.c), for scripts that compare runs.
 */
#include <math.h>
#include <stdlib.h>

#include "bench.h"

/* JSON has no NaN or infinity. */
static void json_num(FILE *f, const char *key, double v, bool comma)
{
	if (isfinite(v))
		fprintf(f, "\"%s\": %.6g%s", key, v, comma ? ", " : "");
	else
		fprintf(f, "\"%s\": null%s", key, comma ? ", " : "");
}

static void json_summary(FILE *f, const struct bench_summary *s)
{
	fprintf(f, "{\"mixes\": %d, \"failed\": %d, ", s->mixes, s->failed);
	json_num(f, "norm_throughput", s->norm_tp, true);
	json_num(f, "sum_t_over_p", s->tp_over_p, true);
	json_num(f, "prioritization", s->prio, true);
	fprintf(f,
		"\"starved\": %d, \"dnns\": %d, \"latency_misses\": %d, "
		"\"p99_misses\": %d, \"critical_mixes\": %d, ",
		s->starved, s->dnns, s->crit_miss, s->crit_p99_miss, s->crit_n);
	json_num(f, "median_latency_over_target", s->crit_lat_ratio, true);
	json_num(f, "decision_p50_ms", s->dec_p50, true);
	json_num(f, "decision_p99_ms", s->dec_p99, true);
	json_num(f, "estimator_mape_pct", s->mape, false);
	fprintf(f, "}");
}

void bench_report_json(FILE *f, const struct bench_opts *o, const struct bench_zoo *zoo,
		       const struct bench_results *r)
{
	const struct bench_decisions *d = &r->decisions;
	double *v = calloc(d->n + bench_nr_gaps(r) + 1, sizeof(*v));
	int n = 0, infeasible = 0, exact = 0;

	fprintf(f,
		"{\n  \"seed\": %llu, \"sim_seconds\": %g, \"warmup_seconds\": %g, "
		"\"models\": %d,\n  \"platforms\": [",
		(unsigned long long)o->seed, r->sim_seconds, r->warmup_seconds, zoo->nr);
	for (int p = 0; p < r->nr_platforms; p++) {
		const struct bench_platform *bp = &r->platform[p];

		fprintf(f,
			"%s\n    {\"name\": \"%s\", \"search_units\": %d, \"gap_instances\": %d, "
			"\"policies\": {",
			p ? "," : "", bp->name, bp->nr_search_units, bp->nr_gaps);
		for (int q = 0, first = 1; q < PLAN_POLICY__COUNT; q++) {
			struct bench_summary flat, crit;

			if (!bench_policy_ran(o, q))
				continue;
			bench_summarize(bp, false, q, &flat);
			bench_summarize(bp, true, q, &crit);
			fprintf(f, "%s\n      \"%s\": {\"flat\": ", first ? "" : ",",
				plan_policy_name(q));
			json_summary(f, &flat);
			fprintf(f, ", \"critical\": ");
			json_summary(f, &crit);
			fprintf(f, "}");
			first = 0;
		}
		fprintf(f, "}}");
	}
	fprintf(f, "\n  ],\n");
	if (v)
		n = bench_gap_values(r, v, &infeasible, &exact);
	fprintf(f, "  \"gap\": {\"instances\": %d, \"infeasible\": %d, \"exact\": %d, ", n,
		infeasible, exact);
	json_num(f, "median", v ? bench_percentile(v, n, 50) : NAN, true);
	json_num(f, "worst", v ? bench_percentile(v, n, 100) : NAN, false);
	fprintf(f,
		"},\n  \"decisions\": {\"platform\": \"%s\", \"units\": %d, \"dnns\": %d, "
		"\"n\": %d, ",
		d->platform, d->nr_units, d->nr_dnns, d->n);
	for (int i = 0; v && i < d->n; i++)
		v[i] = d->ms[i];
	json_num(f, "p50_ms", v ? bench_percentile(v, d->n, 50) : NAN, true);
	json_num(f, "p99_ms", v ? bench_percentile(v, d->n, 99) : NAN, true);
	json_num(f, "max_ms", v ? bench_percentile(v, d->n, 100) : NAN, false);
	fprintf(f, "}\n}\n");
	free(v);
}

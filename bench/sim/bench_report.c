// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * planner-sim's report: the raw runs turned into the figures of
 * docs/results/planner.md (markdown) and a JSON twin. Every metric is
 * computed here, once, by bench_summarize(), so that the two outputs and the
 * PASS/MISS verdicts cannot disagree.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "sim.h"

/* RankMap's abstract (DATE 2025): against existing managers. */
#define PAPER_THROUGHPUT 3.6
#define PAPER_PRIORITIZATION 57.5

#define TARGET_DECISION_P99_MS 10.0
#define TARGET_GAP 0.02

static const char *verdict(bool pass)
{
	return pass ? "**PASS**" : "**MISS**";
}

/* ---- markdown --------------------------------------------------------------- */

static void md_setup(FILE *f, const struct bench_opts *o, const struct bench_zoo *zoo,
		     const struct bench_results *r)
{
	struct plan_search_cfg cfg;
	struct plan_params params;
	struct sim_config sc;

	plan_search_cfg_default(&cfg);
	plan_params_default(&params);
	sim_config_default(&sc);
	fprintf(f, "## Set-up\n\n");
	fprintf(f, "- Program: `%s`.\n", o->command);
	fprintf(f, "- Zoo: %d models (", zoo->nr);
	for (int i = 0; i < zoo->nr; i++)
		fprintf(f, "%s%s", i ? ", " : "", zoo->model[i]->name);
	fprintf(f, ").\n");
	fprintf(f, "- Mixes: %d flat-out mixes per platform, sizes", o->mixes);
	for (int i = 0; i < o->nr_sizes; i++)
		fprintf(f, "%s%d", i ? "," : " ", o->sizes[i]);
	fprintf(f,
		" in turn, models drawn without replacement, ranks a random permutation of "
		"1..n, every DNN flat out (no request rate). Then %d mixes drawn the same way "
		"whose rank-1 DNN is critical: requests at a Poisson rate of 0.25 P and a "
		"latency target of 3x its time alone on its best mapping. Seed %llu.\n",
		o->critical_mixes, (unsigned long long)o->seed);
	fprintf(f,
		"- Simulator (bench/sim/): %.0f s measured after %.0f s of warm-up per run, "
		"per-layer lognormal jitter with CV %.0f%%, FIFOs of depth %d between stages, "
		"weighted processor sharing on the GPU and on time-shared CPU cores, DRAM "
		"inflation recomputed at every event. Every policy of a mix sees the same "
		"arrivals and jitter.\n",
		r->sim_seconds, r->warmup_seconds, 100 * sc.jitter_cv, sc.queue_depth);
	fprintf(f,
		"- RankMap: `planner_search` with its defaults (%u iterations, %.0f ms "
		"budget, exploration %.2f%s), a fresh tree per mix. OmniBoost: 500 "
		"iterations, exploration 2, throughput-only reward, tree rebuilt. The other "
		"baselines as planner/baselines.c has them; only RankMap weighs stages "
		"by rank (w = %.2f^(rank-1)).\n",
		cfg.max_iterations, o->rankmap_ms > 0 ? o->rankmap_ms : cfg.max_ms, cfg.exploration,
		cfg.polish ? ", hill-climb polish" : "", params.rank_decay);
	if (o->pinned_cpu >= 0)
		fprintf(f,
			"- Decision times: CLOCK_MONOTONIC around `plan_policy_run`, the process "
			"pinned to CPU %d.\n",
			o->pinned_cpu);
	else
		fprintf(f, "- Decision times: CLOCK_MONOTONIC around `plan_policy_run`, not "
			   "pinned.\n");
	fprintf(f, "\n## Definitions\n\n");
	fprintf(f,
		"- T_i: DNN i's simulated throughput (completions per second between the "
		"first and the last completion in the measured window; the count over the "
		"window when those span less than half of it). P_i: its potential, "
		"the estimator's throughput of its best mapping alone (`plan_problem_prepare`).\n");
	fprintf(f, "- Norm. throughput: for each mix, sum_i T_i under the policy over sum_i T_i "
		   "under Linux (both simulated); the arithmetic mean over mixes.\n");
	fprintf(f, "- Sum T/P: sum_i T_i/P_i of a mix (the throughput each DNN keeps of what it "
		   "could do alone), mean over mixes.\n");
	fprintf(f,
		"- Prioritization: (T/P of the rank-1 DNN) / (mean T/P of the others), "
		"each T/P taken as at least %g; the geometric mean over mixes.\n",
		BENCH_RATIO_FLOOR);
	fprintf(f,
		"- Starved: DNNs with T_i/P_i < %.2f (the planner's floor), summed over "
		"mixes.\n",
		params.floor);
	fprintf(f,
		"- Latency miss: the critical DNN's simulated mean latency (arrival to "
		"result) above its target x %.2f (the planner's slack); p99 misses beside.\n",
		1 + params.latency_slack);
	fprintf(f, "- Estimator error: mean over all DNNs of |estimated T - simulated T| / "
		   "simulated T, the estimator run on the mapping the policy chose.\n\n");
}

static void md_platform(FILE *f, const struct bench_opts *o, const struct bench_platform *bp)
{
	struct bench_summary s[PLAN_POLICY__COUNT];

	fprintf(f, "## %s: %s\n\n", bp->name, bp->units);
	if (bp->error[0])
		fprintf(f, "Set-up error: %s\n\n", bp->error);

	for (int p = 0; p < PLAN_POLICY__COUNT; p++)
		if (bench_policy_ran(o, p))
			bench_summarize(bp, false, p, &s[p]);
	fprintf(f, "### Flat-out mixes (%d)\n\n", s[PLAN_POLICY_LINUX].mixes);
	fprintf(f, "| policy | norm. throughput | sum T/P | prioritization | starved | "
		   "decision p50 ms | decision p99 ms | estimator error |\n");
	fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int p = 0; p < PLAN_POLICY__COUNT; p++) {
		if (!bench_policy_ran(o, p))
			continue;
		fprintf(f, "| %s | %.2f | %.2f | %.2f | %d / %d | %.3f | %.3f | %.1f %% |",
			plan_policy_name(p), s[p].norm_tp, s[p].tp_over_p, s[p].prio, s[p].starved,
			s[p].dnns, s[p].dec_p50, s[p].dec_p99, s[p].mape);
		if (s[p].failed)
			fprintf(f, " %d failed", s[p].failed);
		fprintf(f, "\n");
	}

	for (int p = 0; p < PLAN_POLICY__COUNT; p++)
		if (bench_policy_ran(o, p))
			bench_summarize(bp, true, p, &s[p]);
	fprintf(f, "\n### Mixes with a critical rank-1 DNN (%d)\n\n", s[PLAN_POLICY_LINUX].mixes);
	fprintf(f, "| policy | latency misses | p99 misses | median latency / target | "
		   "norm. throughput | starved |\n");
	fprintf(f, "|---|---:|---:|---:|---:|---:|\n");
	for (int p = 0; p < PLAN_POLICY__COUNT; p++) {
		if (!bench_policy_ran(o, p))
			continue;
		fprintf(f, "| %s | %d / %d | %d / %d | %.2f | %.2f | %d / %d |\n",
			plan_policy_name(p), s[p].crit_miss, s[p].crit_n, s[p].crit_p99_miss,
			s[p].crit_n, s[p].crit_lat_ratio, s[p].norm_tp, s[p].starved, s[p].dnns);
	}
	fprintf(f, "\n");
}

static void md_gap(FILE *f, const struct bench_opts *o, const struct bench_results *r)
{
	int total = bench_nr_gaps(r), n, infeasible, exact;
	double *v = calloc(total + 1, sizeof(*v));

	fprintf(f, "## Gap to the exhaustive optimum\n\n");
	fprintf(f,
		"Mixes of 2 and 3 DNNs (alternating) whose models keep %d cut points "
		"each, spread evenly, so that `plan_exhaustive` can score every mapping "
		"(at most %llu). Gap = (optimum's reward - RankMap's reward) / optimum's "
		"reward, both by the estimator: it measures the search, not the model.\n\n",
		o->gap_cuts, (unsigned long long)o->gap_limit);
	fprintf(f, "| platform | instances | skipped | median mappings | median exhaustive ms |\n");
	fprintf(f, "|---|---:|---:|---:|---:|\n");
	for (int p = 0; p < r->nr_platforms; p++) {
		const struct bench_platform *bp = &r->platform[p];
		double *sp = calloc(bp->nr_gaps + 1, sizeof(*sp));
		double *ms = calloc(bp->nr_gaps + 1, sizeof(*ms));

		for (int g = 0; sp && ms && g < bp->nr_gaps; g++) {
			sp[g] = (double)bp->gap[g].space;
			ms[g] = bp->gap[g].exhaustive_ms;
		}
		fprintf(f, "| %s | %d | %d | %.0f | %.0f |\n", bp->name, bp->nr_gaps,
			bp->gaps_skipped, sp ? bench_percentile(sp, bp->nr_gaps, 50) : NAN,
			ms ? bench_percentile(ms, bp->nr_gaps, 50) : NAN);
		free(sp);
		free(ms);
	}
	n = v ? bench_gap_values(r, v, &infeasible, &exact) : 0;
	fprintf(f,
		"\nOver %d instances with a feasible optimum (%d without one): RankMap found "
		"the optimum in %d; median gap %.2f %%, worst %.2f %%.\n\n",
		n, v ? infeasible : 0, v ? exact : 0, 100 * bench_percentile(v, n, 50),
		100 * bench_percentile(v, n, 100));

	/* The search scores a space within its iteration budget whole: those
	 * instances say nothing of the tree, so it is also shown without them. */
	int whole = 0, tree = 0, tree_exact = 0;
	double tree_worst = 0;

	for (int p = 0; p < r->nr_platforms; p++)
		for (int g = 0; g < r->platform[p].nr_gaps; g++) {
			const struct bench_gap *gap = &r->platform[p].gap[g];

			if (!(gap->optimum > 0))
				continue;
			if (gap->scored_whole) {
				whole++;
				continue;
			}
			double x = bench_gap_of(gap);

			tree++;
			tree_exact += x < 1e-9;
			tree_worst = fmax(tree_worst, x);
		}
	fprintf(f,
		"%d of them fit RankMap's iteration budget, so it scored every mapping "
		"itself. On the other %d the tree search and the hill-climb decided: the "
		"optimum in %d, worst gap %.2f %%.\n\n",
		whole, tree, tree_exact, 100 * tree_worst);
	free(v);
}

static void md_decisions(FILE *f, const struct bench_results *r)
{
	const struct bench_decisions *d = &r->decisions;
	double *v = calloc(d->n + 1, sizeof(*v));
	double iters = 0;
	int at_budget = 0;

	fprintf(f, "## Decision time\n\n");
	if (d->error[0])
		fprintf(f, "Error: %s\n\n", d->error);
	for (int i = 0; i < d->n; i++) {
		if (v)
			v[i] = d->ms[i];
		iters += d->iterations[i];
		at_budget += d->budget_ms > 0 && d->ms[i] >= d->budget_ms;
	}
	fprintf(f,
		"RankMap deciding %d random %d-DNN mixes on %s (%d units the search may "
		"use), one core:\n\n",
		d->n, d->nr_dnns, d->platform, d->nr_units);
	fprintf(f,
		"| p50 ms | p99 ms | max ms | mean iterations | decisions at the %.0f ms "
		"budget |\n|---:|---:|---:|---:|---:|\n",
		d->budget_ms);
	fprintf(f, "| %.3f | %.3f | %.3f | %.0f | %d |\n\n", bench_percentile(v, d->n, 50),
		bench_percentile(v, d->n, 99), bench_percentile(v, d->n, 100),
		d->n ? iters / d->n : NAN, at_budget);
	free(v);
}

static void md_published(FILE *f, const struct bench_opts *o, const struct bench_zoo *zoo,
			 const struct bench_results *r)
{
	fprintf(f, "## RankMap's published figures beside ours\n\n");
	fprintf(f, "| ratio (flat-out mixes) | paper |");
	for (int p = 0; p < r->nr_platforms; p++)
		fprintf(f, " %s |", r->platform[p].name);
	fprintf(f, "\n|---|---:|");
	for (int p = 0; p < r->nr_platforms; p++)
		fprintf(f, "---:|");
	for (int row = 0; row < 4; row++) {
		bool prio = row >= 2, over_linux = row % 2;

		fprintf(f, "\n| %s, RankMap over %s | %s |",
			prio ? "prioritization" : "average throughput",
			over_linux ? "Linux" : "the best baseline",
			over_linux ? ""
			: prio	   ? "x57.5"
				   : "x3.6");
		for (int p = 0; p < r->nr_platforms; p++) {
			struct bench_summary s[PLAN_POLICY__COUNT];
			int base;

			for (int q = 0; q < PLAN_POLICY__COUNT; q++)
				if (bench_policy_ran(o, q))
					bench_summarize(&r->platform[p], false, q, &s[q]);
			base = over_linux ? PLAN_POLICY_LINUX : bench_best_baseline(o, s, prio);
			if (!o->policy[PLAN_POLICY_RANKMAP] || base < 0) {
				fprintf(f, " - |");
				continue;
			}
			fprintf(f, " x%.2f (%s) |",
				prio ? s[PLAN_POLICY_RANKMAP].prio / s[base].prio
				     : s[PLAN_POLICY_RANKMAP].norm_tp / s[base].norm_tp,
				plan_policy_name(base));
		}
	}
	fprintf(f, "\n\n");
	fprintf(f,
		"The paper's x%.1f and x%.1f come from a board running real DNNs, against "
		"existing managers; these come from the simulator. What differs: (1) simulated, "
		"not measured: every layer's time is the roofline of the platform profile "
		"(plan_layer_cost), so the ratios say how the decisions compare under that cost "
		"model and its dynamics (pipelining, blocking FIFOs, processor sharing, DRAM "
		"contention, jitter), not how a board behaves; (2) our estimator is analytic "
		"(weighted max-min sharing with a DRAM bisection), not the paper's learned "
		"multi-task estimator, and it is the same cost basis the simulator uses, so the "
		"search is judged on the consequences of contention rather than on a model "
		"learned from a board; (3) our zoo of %d ImageNet and detection networks, not "
		"the paper's; (4) our rank weights (w = 0.5^(rank-1), floor 0.10 of P), which "
		"the paper does not publish; (5) every DNN flat out, so throughput is what each "
		"mapping can sustain, where a board run would also see the models' own input "
		"pipelines. Prioritization here is a ratio of T/P between the rank-1 DNN and the "
		"rest; the paper's exact formula is not published, so x57.5 and our figure "
		"share a direction, not a definition. Linux here is one mapping (every DNN on "
		"all CPU cores with equal shares), not a measured CFS.\n\n",
		PAPER_THROUGHPUT, PAPER_PRIORITIZATION, zoo->nr);
}

static void md_targets(FILE *f, const struct bench_opts *o, const struct bench_results *r)
{
	const struct bench_decisions *d = &r->decisions;
	int total = bench_nr_gaps(r), n, infeasible, exact, starved = 0, dnns = 0;
	double *v = calloc(total + d->n + 1, sizeof(*v));
	double p99, median_gap, worst_gap;

	if (!v)
		return;
	for (int i = 0; i < d->n; i++)
		v[i] = d->ms[i];
	p99 = bench_percentile(v, d->n, 99);
	n = bench_gap_values(r, v, &infeasible, &exact);
	median_gap = bench_percentile(v, n, 50);
	worst_gap = bench_percentile(v, n, 100);
	free(v);

	fprintf(f, "## Targets\n\n| target | ours | verdict |\n|---|---|---|\n");
	fprintf(f, "| decision p99 <= %.0f ms, %d DNNs on %d units (%s) | %.3f ms | %s |\n",
		TARGET_DECISION_P99_MS, d->nr_dnns, d->nr_units, d->platform, p99,
		verdict(d->n > 0 && p99 <= TARGET_DECISION_P99_MS));
	fprintf(f, "| gap to the exhaustive optimum <= %.0f %% (median) | %.2f %% over %d | %s |\n",
		100 * TARGET_GAP, 100 * median_gap, n, verdict(n > 0 && median_gap <= TARGET_GAP));
	fprintf(f, "| gap to the exhaustive optimum <= %.0f %% (worst) | %.2f %% over %d | %s |\n",
		100 * TARGET_GAP, 100 * worst_gap, n, verdict(n > 0 && worst_gap <= TARGET_GAP));
	for (int p = 0; p < r->nr_platforms; p++)
		for (int set = 0; set < 2; set++) {
			struct bench_summary s;

			bench_summarize(&r->platform[p], set, PLAN_POLICY_RANKMAP, &s);
			starved += s.starved;
			dnns += s.dnns;
		}
	fprintf(f,
		"| zero starved DNNs under RankMap (all platforms, all mixes) | %d of %d | %s |\n",
		starved, dnns, verdict(dnns > 0 && starved == 0));
	for (int p = 0; p < r->nr_platforms; p++) {
		struct bench_summary s[PLAN_POLICY__COUNT];
		int tp_best, prio_best;

		for (int q = 0; q < PLAN_POLICY__COUNT; q++)
			if (bench_policy_ran(o, q))
				bench_summarize(&r->platform[p], false, q, &s[q]);
		tp_best = bench_best_baseline(o, s, false);
		prio_best = bench_best_baseline(o, s, true);
		if (tp_best < 0 || prio_best < 0 || !o->policy[PLAN_POLICY_RANKMAP])
			continue;
		fprintf(f, "| %s: throughput above every baseline | %.2f vs %.2f (%s) | %s |\n",
			r->platform[p].name, s[PLAN_POLICY_RANKMAP].norm_tp, s[tp_best].norm_tp,
			plan_policy_name(tp_best),
			verdict(s[PLAN_POLICY_RANKMAP].norm_tp > s[tp_best].norm_tp));
		fprintf(f, "| %s: prioritization above every baseline | %.2f vs %.2f (%s) | %s |\n",
			r->platform[p].name, s[PLAN_POLICY_RANKMAP].prio, s[prio_best].prio,
			plan_policy_name(prio_best),
			verdict(s[PLAN_POLICY_RANKMAP].prio > s[prio_best].prio));
	}
	fprintf(f, "\n");
}

/* How long the simulator takes: the benchmark's own cost, and the
 * simulator's budget (a 5-DNN mix for 10 simulated seconds well under 50 ms). */
static void md_sim_speed(FILE *f, const struct bench_results *r)
{
	fprintf(f, "## Simulator speed\n\n");
	fprintf(f,
		"CPU time of one `sim_run` (%.0f + %.0f simulated seconds), over every "
		"policy's run:\n\n",
		r->warmup_seconds, r->sim_seconds);
	fprintf(f, "| platform | DNNs | runs | events per run (mean) | CPU ms mean | CPU ms p99 | "
		   "CPU ms max | ns per event |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int p = 0; p < r->nr_platforms; p++) {
		const struct bench_platform *bp = &r->platform[p];

		for (int n = 1; n <= PLAN_MAX_DNNS; n++) {
			int runs = 0, cap = bp->nr_mixes * PLAN_POLICY__COUNT + 1;
			double *ms = calloc(cap, sizeof(*ms)), sum = 0, events = 0;

			if (!ms)
				return;
			for (int k = 0; k < bp->nr_mixes; k++)
				for (int q = 0; bp->mix[k].nr_dnns == n && q < PLAN_POLICY__COUNT;
				     q++)
					if (bp->mix[k].run[q].ok) {
						ms[runs++] = bp->mix[k].run[q].sim_cpu_ms;
						sum += bp->mix[k].run[q].sim_cpu_ms;
						events += bp->mix[k].run[q].sim_events;
					}
			if (runs)
				fprintf(f, "| %s | %d | %d | %.0f | %.2f | %.2f | %.2f | %.0f |\n",
					bp->name, n, runs, events / runs, sum / runs,
					bench_percentile(ms, runs, 99),
					bench_percentile(ms, runs, 100),
					events > 0 ? 1e6 * sum / events : NAN);
			free(ms);
		}
	}
	fprintf(f, "\n");
}

void bench_report_markdown(FILE *f, const struct bench_opts *o, const struct bench_zoo *zoo,
			   const struct bench_results *r)
{
	md_setup(f, o, zoo, r);
	md_targets(f, o, r);
	for (int p = 0; p < r->nr_platforms; p++)
		md_platform(f, o, &r->platform[p]);
	md_gap(f, o, r);
	md_decisions(f, r);
	md_published(f, o, zoo, r);
	md_sim_speed(f, r);
}

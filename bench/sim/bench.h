/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * planner-sim, the benchmark that judges the planner's policies by the
 * simulator: what its three parts (main.c: options and set-up; bench_run.c:
 * the experiments; bench_report.c: markdown and JSON) hand each other.
 * Everything measured is kept raw until the report, which does the
 * arithmetic in one place.
 */
#ifndef TRIAGE_BENCH_PLANNER_SIM_H
#define TRIAGE_BENCH_PLANNER_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "planner.h"

#define BENCH_MAX_PLATFORMS 8
#define BENCH_MAX_MODELS 32
#define BENCH_MAX_SIZES 8
#define BENCH_ARENA_BYTES (8u << 20) /* the agent's planner arena */

struct bench_opts {
	const char *platforms[BENCH_MAX_PLATFORMS];
	int nr_platforms;
	const char *platforms_dir, *models_dir; /* NULL: the readers' defaults */
	int mixes;				/* flat-out mixes per platform */
	int critical_mixes;			/* mixes whose rank-1 DNN is critical */
	int sizes[BENCH_MAX_SIZES];
	int nr_sizes;
	uint64_t seed;
	double sim_seconds, warmup_seconds;
	bool policy[PLAN_POLICY__COUNT]; /* which run (Linux always: it normalizes) */
	double rankmap_ms;		 /* RankMap's time budget; 0: its default */
	int gap_instances;		 /* per platform */
	int gap_cuts;			 /* cut points kept per model there */
	uint64_t gap_limit;		 /* plan_exhaustive's max_mappings */
	const char *decision_platform;
	int decisions, decision_dnns;
	const char *out, *json;
	FILE *trace;	     /* one line per DNN per policy per mix, or NULL */
	const char *command; /* as typed, for the report */
	bool no_pin;
	int pinned_cpu; /* the CPU it runs on; -1: not pinned */
};

struct bench_zoo {
	int nr;
	struct plan_model *model[BENCH_MAX_MODELS];
};

/* One DNN of one mix under one policy. */
struct bench_dnn {
	int rank;
	double potential; /* P_i, estimator, alone */
	double est_tp;	  /* the estimator on the chosen mapping */
	double sim_tp;
	double sim_lat_ms, sim_p99_ms;
	double target_ms; /* critical DNN: its latency target; else 0 */
};

struct bench_run {
	bool ok; /* the policy decided and the simulator ran */
	double decision_ms;
	double sim_cpu_ms;
	uint64_t sim_events;
	struct bench_dnn dnn[PLAN_MAX_DNNS];
};

struct bench_mix {
	int nr_dnns;
	bool critical; /* the rank-1 DNN has a rate and a latency target */
	int top;       /* index of the rank-1 DNN */
	struct bench_run run[PLAN_POLICY__COUNT];
};

struct bench_gap {
	uint64_t space; /* mappings plan_exhaustive() went through */
	double optimum; /* its reward */
	double rankmap; /* RankMap's reward (the estimator's) */
	double exhaustive_ms;
	bool scored_whole; /* within RankMap's budget: it enumerated the space */
};

struct bench_platform {
	char name[PLAN_NAME_MAX];
	int nr_search_units; /* units the search may use */
	char units[128];     /* "big (4 cores), gpu (GPU)" */
	int nr_mixes;
	struct bench_mix *mix;
	int nr_gaps, gaps_skipped;
	struct bench_gap *gap;
	char error[256]; /* a set-up error that skipped the platform */
};

struct bench_decisions {
	char platform[PLAN_NAME_MAX];
	int nr_units, nr_dnns, n;
	double *ms;
	unsigned *iterations;
	double budget_ms;
	char error[256];
};

struct bench_results {
	int nr_platforms;
	struct bench_platform platform[BENCH_MAX_PLATFORMS];
	struct bench_decisions decisions;
	double sim_seconds, warmup_seconds;
};

/* bench_run.c */
int bench_platform_run(const struct bench_opts *o, const struct plan_platform *pf,
		       const struct bench_zoo *zoo, struct bench_platform *out);
int bench_decisions_run(const struct bench_opts *o, const struct plan_platform *pf,
			const struct bench_zoo *zoo, struct bench_decisions *out);
void bench_results_free(struct bench_results *r);

/* bench_summary.c: one policy on one platform, over its flat-out mixes or
 * over those with a critical DNN. */
struct bench_summary {
	int mixes; /* where the policy and Linux both ran */
	int failed;
	double norm_tp;	  /* mean over mixes of sum T / sum T under Linux */
	double tp_over_p; /* mean over mixes of sum T/P */
	double prio;	  /* geometric mean over mixes */
	int starved, dnns;
	int crit_miss, crit_p99_miss, crit_n;
	double crit_lat_ratio; /* median of latency / target */
	double dec_p50, dec_p99;
	double mape; /* the estimator's throughput against the simulator's */
	int mape_n;
};

/* T/P below this counts as this when a ratio of two of them is taken, so
 * that a starved DNN gives a large but finite prioritization. */
#define BENCH_RATIO_FLOOR 1e-4

bool bench_policy_ran(const struct bench_opts *o, int policy);
void bench_summarize(const struct bench_platform *bp, bool critical, int policy,
		     struct bench_summary *s);
/* The baseline (not RankMap) with the highest throughput, or the highest
 * prioritization; -1 when none ran. */
int bench_best_baseline(const struct bench_opts *o, const struct bench_summary *s, bool by_prio);
/* RankMap's gaps to the optimum (fractions) over the instances whose
 * optimum is feasible; returns how many; the others are counted in
 * *infeasible, exact hits in *exact. out holds bench_nr_gaps(r) values. */
int bench_gap_values(const struct bench_results *r, double *out, int *infeasible, int *exact);
/* (optimum - RankMap) / optimum, at least 0, of an instance with a feasible
 * optimum. */
double bench_gap_of(const struct bench_gap *gap);
int bench_nr_gaps(const struct bench_results *r);

/* bench_report.c, bench_json.c */
void bench_report_markdown(FILE *f, const struct bench_opts *o, const struct bench_zoo *zoo,
			   const struct bench_results *r);
void bench_report_json(FILE *f, const struct bench_opts *o, const struct bench_zoo *zoo,
		       const struct bench_results *r);

/* Nearest-rank percentile of v[0..n) (sorts v); NAN when n == 0. */
double bench_percentile(double *v, int n, double pct);

#endif

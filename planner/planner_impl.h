/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the planner's files share and nobody else needs: the per-stage cost
 * tables, the enumeration of one DNN's mappings, and a small seeded random
 * generator (the search must repeat itself for a seed on every libc).
 */
#ifndef TRIAGE_PLANNER_IMPL_H
#define TRIAGE_PLANNER_IMPL_H

#include "planner.h"

/*
 * A stage always starts and ends at a boundary: before layer 0, after a
 * cut_after layer, or after the last layer. Boundary p is the index of the
 * first layer after it (bound[0] = 0, bound[nb-1] = nr_layers). For every
 * unit and core count the tables hold prefix sums over boundaries, so that a
 * stage's cost is two subtractions.
 */
struct plan_dnn_tables {
	int nb;              /* boundaries */
	int *bound;          /* [nb] first layer after each boundary */
	int *pos_of_last;    /* [nr_layers] boundary after layer l, or -1 */
	double *cut_bytes;   /* [nb] bytes handed over at each boundary */
	double *bytes;       /* [nb] prefix: DRAM bytes per inference */
	int kbase[PLAN_MAX_UNITS]; /* where unit u's core counts start, in nb rows */
	double *compute;     /* [rows][nb] prefix: compute-bound seconds */
	double *memory;      /* [rows][nb] prefix: memory-bound seconds */
};

struct plan_tables {
	int nr_dnns;
	struct plan_dnn_tables dnn[PLAN_MAX_DNNS];
};

/* Core counts a unit's tables cover: 1..cores on a CPU, 1 on a GPU. */
static inline int plan_unit_kmax(const struct plan_unit *u)
{
	return u->kind == PLAN_UNIT_CPU ? (u->cores > 0 ? u->cores : 1) : 1;
}

/* Compute and memory seconds of layers [bound[p0], bound[p1]) on unit u with
 * k cores (clamped to the unit). */
void plan_tables_stage(const struct plan_problem *pb, int dnn, int unit, int k, int p0, int p1,
		       double *compute_s, double *memory_s);

int plan_tables_build(struct plan_problem *pb, char *err, size_t errlen);
void plan_tables_free(struct plan_problem *pb);

/* Units the search may choose (not aggregates). */
int plan_search_units(const struct plan_platform *p, int *units);

/*
 * One DNN's mapping as boundary positions: stages end at ends[0..n-1]
 * (ends[n-1] = nb-1) on units[0..n-1].
 */
struct plan_choice {
	int nr_stages;
	int units[PLAN_MAX_STAGES];
	int ends[PLAN_MAX_STAGES];
};

/* Writes choice c of DNN i into map (cores and shares left for the
 * estimator; weight 0 so that the estimator fills it). */
void plan_choice_apply(const struct plan_problem *pb, int i, const struct plan_choice *c,
		       struct plan_dnn_map *map);

/* Calls fn for every valid choice of DNN i; stops early when fn returns
 * non-zero and returns that value. */
int plan_choices_each(const struct plan_problem *pb, int i,
		      int (*fn)(const struct plan_choice *c, void *arg), void *arg);

/* The choice of DNN i that d is; one choice per DNN of a valid mapping. */
void plan_choices_of_dnn(const struct plan_problem *pb, int i, const struct plan_dnn_map *d,
			 struct plan_choice *c);
void plan_choices_of(const struct plan_problem *pb, const struct plan_mapping *m,
		     struct plan_choice *c);

/* Hill-climbs from c (the mix's choices, whose score is res->reward) until
 * no single move of one DNN improves it, or deadline_ms (CLOCK_MONOTONIC,
 * 0: none) passes; res and c follow every improvement. */
void plan_polish(const struct plan_problem *pb, bool throughput_only, struct plan_choice *c,
		 struct plan_result *res, double deadline_ms);

/* plan_exhaustive() with a deadline (CLOCK_MONOTONIC ms, 0: none): 1 when
 * every mapping was scored, 0 when the deadline cut it short (res holds the
 * best seen), -1 with err set when the space is over max_mappings or
 * memory runs out. */
int plan_enumerate(const struct plan_problem *pb, uint64_t max_mappings, bool throughput_only,
		   double deadline_ms, struct plan_result *res, char *err, size_t errlen);

/* xorshift64*: small, fast, the same everywhere. */
struct plan_rng {
	uint64_t s;
};

static inline void plan_rng_seed(struct plan_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static inline uint64_t plan_rng_next(struct plan_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n). */
static inline unsigned plan_rng_below(struct plan_rng *r, unsigned n)
{
	return (unsigned)((plan_rng_next(r) >> 11) % n);
}

static inline double plan_rng_unit(struct plan_rng *r)
{
	return (double)(plan_rng_next(r) >> 11) / 9007199254740992.0;
}

/* DNN indices by rank, most important first, ties in index order. */
void plan_rank_order(const struct plan_problem *pb, int *order);

/* Evaluates m (estimate + reward of the requested kind). */
double plan_evaluate(const struct plan_problem *pb, struct plan_mapping *m, bool throughput_only,
		     struct plan_estimate *e);

#endif

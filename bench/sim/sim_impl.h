/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The simulator's state, shared by its event loop (sim.c) and its set-up
 * and results (sim_setup.c), and by nothing else.
 */
#ifndef TRIAGE_BENCH_SIM_IMPL_H
#define TRIAGE_BENCH_SIM_IMPL_H

#include <stdbool.h>

#include "sim.h"
#include "sim_rng.h"

/* Jitter is drawn from this many equiprobable lognormal levels: a table
 * look-up instead of a normal deviate and an exp() per layer, which would
 * cost more than the rest of the event. */
#define SIM_JITTER_LEVELS 4096

enum stage_state {
	STAGE_IDLE,    /* nothing to do: its input is empty */
	STAGE_RUN,     /* a layer in progress */
	STAGE_XFER,    /* handing its result to the next unit */
	STAGE_BLOCKED, /* result ready, the next FIFO full */
};

struct layer_cost {
	double compute_s;
	double memory_s;
	double dram_bps; /* DRAM bandwidth it draws running alone */
};

struct stage {
	int dnn, idx, unit;
	int first, last;
	double weight, inv_weight;
	bool shared;		       /* weighted processor sharing with the unit's others */
	int owned;		       /* cores it owns (CPU, not shared) */
	const struct layer_cost *cost; /* indexed by layer - first */
	double xfer_s;		       /* paid after the last layer, toward the next stage */
	struct sim_rng rng;

	enum stage_state state;
	bool dirty; /* a new layer: its rate must be recomputed */
	int layer;
	double arrival; /* of the inference it holds */
	double jitter;
	double rate;	 /* fraction of the layer per second, until the next event */
	double inv_rate; /* seconds per layer at that rate */
	double finish;	 /* when the layer ends at that rate */
	double bps;	 /* the layer's DRAM draw counted in sim.demand */
	double until;	 /* end of the transfer */
	double blocked_since;

	/* The FIFO in front of it (stages after the first). */
	double fifo[SIM_MAX_QUEUE_DEPTH];
	int fifo_head, fifo_len;
};

struct flow {
	int nr_stages;
	struct stage *stage[PLAN_MAX_STAGES];
	double rate_hz; /* 0: flat out */
	double next_arrival;
	struct sim_rng rng;
	/* Arrivals waiting for stage 0: a ring that grows as needed. */
	double *entry;
	size_t entry_head, entry_len, entry_cap;
	double *lat; /* seconds, completions inside the window */
	size_t nr_lat, lat_cap;
	double first_done, last_done;
	struct sim_dnn *out;
};

struct sim {
	const struct plan_platform *pf;
	int depth;
	double now, window_start, end;
	double dram_bps;
	int nr_stages;
	struct stage stages[PLAN_MAX_DNNS * PLAN_MAX_STAGES];
	int nr_flows;
	struct flow flows[PLAN_MAX_DNNS];
	struct layer_cost *costs;
	int pool_cores[PLAN_MAX_UNITS]; /* CPU cores no stage owns */
	double inv_cores[PLAN_MAX_UNITS];
	double wsum[PLAN_MAX_UNITS]; /* weights of the sharing stages running */
	double demand;		     /* bytes per second the running layers draw */
	double unit_busy[PLAN_MAX_UNITS];
	double inflation;
	/* Stages that began a layer since the rates were last updated, and
	 * whether any stage started or stopped running meanwhile. */
	struct stage *dirty[PLAN_MAX_DNNS * PLAN_MAX_STAGES];
	int nr_dirty;
	bool running_changed;
	/* Time integrals over the window, added up to acc_since. */
	double acc_since;
	double util_acc[PLAN_MAX_UNITS];
	double inflation_acc, inflation_max;
	bool out_of_memory;
	struct sim_result *res;
	double jitter[SIM_JITTER_LEVELS]; /* mean exactly 1 */
};

/* sim_setup.c */
int sim_setup(struct sim *s, const struct plan_problem *pb, const struct plan_mapping *m,
	      const struct sim_config *cfg, char *err, size_t errlen);
void sim_finish(struct sim *s, double window);
void sim_free(struct sim *s);

#endif

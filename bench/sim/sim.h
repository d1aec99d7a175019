/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A discrete-event simulation of a whole mapping running pipelined: the
 * ground truth the planner's policies are judged by.
 *
 * The estimator (plan_estimate) is a closed form; this runs the dynamics it
 * abstracts away, on the same per-layer cost basis (plan_layer_cost,
 * plan_transfer_s), so that a difference between the two comes from the
 * dynamics and not from different constants:
 *  - a stage serves one inference at a time, layer by layer; a layer takes
 *    (compute_s + memory_s x DRAM inflation) x a lognormal jitter (mean 1);
 *  - stages hand over through bounded FIFOs; a stage whose next FIFO is
 *    full holds its result (blocks); the producer pays the transfer;
 *  - flat-out DNNs (rate_hz == 0) start an inference whenever stage 0 is
 *    free; others get Poisson arrivals into an unbounded entry queue;
 *  - on a CPU unit a stage with cores > 0 owns them; stages with cores == 0
 *    time-share the cores nobody owns, and all stages on a GPU share it, as
 *    weighted processor sharing (stage weights, as the agent would set);
 *  - DRAM inflation is recomputed at every event from the layers running
 *    at that moment.
 * Deterministic for a seed; every DNN and stage draws from its own stream,
 * so two mappings of one mix see the same arrivals.
 */
#ifndef TRIAGE_BENCH_SIM_H
#define TRIAGE_BENCH_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "planner.h"

#define SIM_MAX_QUEUE_DEPTH 16

struct sim_config {
	double duration_s; /* the measured window */
	double warmup_s;   /* simulated before the window opens */
	uint64_t seed;
	double jitter_cv; /* of each layer's service time; 0: none */
	int queue_depth;  /* inferences each inter-stage FIFO holds */
};

struct sim_dnn {
	/* Completions per second inside the window, timed from the first to
	 * the last completion there: a count over the window would be off by
	 * up to one inference, a large error for a DNN doing a few per
	 * second. When those completions span less than half the window
	 * (a burst of a nearly starved DNN), count / window. */
	double throughput;
	double latency_ms;     /* mean, arrival (or entry) to result, window */
	double latency_p99_ms; /* window */
	uint64_t entered;      /* inferences admitted since t = 0 */
	uint64_t completed;    /* since t = 0 */
	uint64_t in_flight;    /* at the end: queued or inside a stage */
	uint64_t measured;     /* completions inside the window */
	/* Most inferences ever waiting in front of stage s (s >= 1), and the
	 * time stage s held a finished inference because that FIFO was full. */
	int max_queued[PLAN_MAX_STAGES];
	double blocked_s[PLAN_MAX_STAGES];
};

struct sim_result {
	int nr_dnns;
	struct sim_dnn dnn[PLAN_MAX_DNNS];
	int nr_units;
	/* Busy fraction over the window: a GPU is busy while any stage runs a
	 * layer on it; a CPU counts the cores working (owned cores of running
	 * stages, plus the shared cores while a time-sharing stage runs). */
	double unit_util[PLAN_MAX_UNITS];
	double dram_inflation_mean; /* time-weighted over the window */
	double dram_inflation_max;
	uint64_t events;
};

void sim_config_default(struct sim_config *c);

/* Simulates m (stages' cores and weights as plan_estimate() left them) on
 * pb's platform. Returns 0, or -1 with one line in err for a mapping or
 * configuration it cannot run. */
int sim_run(const struct plan_problem *pb, const struct plan_mapping *m,
	    const struct sim_config *cfg, struct sim_result *r, char *err, size_t errlen);

#endif

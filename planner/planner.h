/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The planner: which pipeline stages of which DNN run on which compute unit.
 *
 * Pure C: inputs in, mapping out, no I/O, no clock except the search's time
 * budget, deterministic for a seed (when the iteration budget, not the time
 * budget, ends the search). Platforms and models are read from files by
 * models/zoo.c and models/platform.c; the agent and bench/sim/ drive it.
 *
 * The model (docs/planner.md has the formulas):
 *  - a platform is a few compute units (CPU clusters, GPUs) sharing DRAM;
 *  - a DNN is a sequence of layers; it may be cut after the layers marked
 *    cut_after into at most PLAN_MAX_STAGES contiguous stages, each on a
 *    distinct unit, pipelined;
 *  - a layer's time on a unit is a roofline (compute at the unit's rate for
 *    the layer's op class, or memory traffic at the unit's bandwidth, the
 *    larger) plus a per-layer launch cost;
 *  - stages on one unit share it: CPU stages get whole cores while there are
 *    enough, else weighted processor sharing; GPU stages share the GPU as
 *    weighted processor sharing (Ibis' M/G/1-PS);
 *  - DRAM traffic of all units together above the platform's bandwidth
 *    slows every memory-bound part alike;
 *  - a DNN's throughput is its slowest stage's.
 */
#ifndef TRIAGE_PLANNER_H
#define TRIAGE_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_NAME_MAX 32
#define PLAN_MAX_UNITS 8
#define PLAN_MAX_STAGES 3
#define PLAN_MAX_DNNS 16
#define PLAN_MAX_LAYERS 512
#define PLAN_MAX_CORES 64

/* ---- platform ------------------------------------------------------------ */

enum plan_unit_kind { PLAN_UNIT_CPU, PLAN_UNIT_GPU };

/* Layer classes with distinct efficiency on a unit. */
enum plan_op {
	PLAN_OP_CONV,    /* dense and pointwise convolution */
	PLAN_OP_DWCONV,  /* depthwise (and grouped) convolution */
	PLAN_OP_FC,      /* fully connected: a GEMV at batch 1 */
	PLAN_OP_POOL,    /* max/average pooling, global pooling */
	PLAN_OP_ELTWISE, /* add, multiply, activation, concat, softmax, resize */
	PLAN_OP__COUNT,
};

struct plan_unit {
	char name[PLAN_NAME_MAX]; /* "big", "little", "gpu", "a78-0", ... */
	enum plan_unit_kind kind;
	int cores;                    /* CPU: cores in the cluster; GPU: SMs */
	double gflops[PLAN_OP__COUNT]; /* sustained GFLOP/s per op class: per
					* core on a CPU, whole unit on a GPU */
	double parallel_eff;          /* CPU: speedup of k cores = k^parallel_eff */
	double mem_gbps;              /* DRAM bandwidth this unit alone reaches */
	double launch_us;             /* fixed cost per layer (dispatch, launch) */
	double mem_mb;                /* memory budget for the models placed on it
				       * (the knapsack baselines' capacity) */
	bool aggregate; /* a synthetic "all CPUs" unit for the Linux baseline;
			 * never chosen by the search */
};

struct plan_platform {
	char name[PLAN_NAME_MAX];
	int nr_units;
	struct plan_unit units[PLAN_MAX_UNITS];
	double dram_gbps;                                /* shared by all units */
	double xfer_gbps[PLAN_MAX_UNITS][PLAN_MAX_UNITS]; /* tensor hand-over */
	double xfer_us[PLAN_MAX_UNITS][PLAN_MAX_UNITS];   /* fixed cost per hand-over */
};

/* ---- models ---------------------------------------------------------------- */

struct plan_layer {
	enum plan_op op;
	double flops;       /* 2 per multiply-accumulate */
	double param_bytes; /* weights and biases read per inference */
	double in_bytes;    /* activations read */
	double out_bytes;   /* activations written */
	bool cut_after;     /* a stage may end after this layer */
	double cut_bytes;   /* bytes handed to the next stage when cut here */
};

struct plan_model {
	char name[PLAN_NAME_MAX];
	double mem_bytes; /* weights + peak live activations */
	int nr_layers;
	struct plan_layer layers[PLAN_MAX_LAYERS];
};

/* ---- workloads and mappings ------------------------------------------------ */

struct plan_workload {
	char name[PLAN_NAME_MAX];
	const struct plan_model *model;
	int rank;             /* 1 = most important; ties allowed */
	bool critical;        /* its latency target is a constraint */
	double latency_ms;    /* 0: none */
	double rate_hz;       /* requests per second; 0: as fast as it can */
};

struct plan_stage {
	int unit;      /* index into platform units */
	int first;     /* first layer */
	int last;      /* last layer, inclusive */
	int cores;     /* CPU: whole cores it owns; 0: time-shares the cores
			* no stage owns, with one thread per such core */
	double weight; /* its share of a contended unit (what the agent turns
			* into cpu.weight and the GPU share); 0: plan_estimate()
			* sets plan_rank_weight() of its DNN */
	double share;  /* fraction of the unit it is expected to use */
};

/* Stages hand inferences over through FIFO queues of this depth. */
#define PLAN_QUEUE_DEPTH 2

struct plan_dnn_map {
	int nr_stages;
	struct plan_stage stages[PLAN_MAX_STAGES];
};

struct plan_mapping {
	int nr_dnns;
	struct plan_dnn_map dnn[PLAN_MAX_DNNS];
};

/* What the estimator (or the simulator) says a mapping gives each DNN. */
struct plan_estimate {
	double throughput[PLAN_MAX_DNNS]; /* inferences per second */
	double latency_ms[PLAN_MAX_DNNS]; /* mean, arrival to result */
	double dram_inflation;            /* >= 1: memory-time multiplier */
};

/* ---- the problem --------------------------------------------------------- */

struct plan_params {
	double floor;         /* starvation floor as a fraction of P_i (0.10) */
	double floor_guard;   /* the search keeps DNNs floor*(1+guard) clear
			       * of it, a margin for the estimator's error
			       * (0.25) */
	double rank_decay;    /* w(rank) = rank_decay^(rank-1) (0.5) */
	double latency_slack; /* critical latency may reach target*(1+slack) */
};

struct plan_problem {
	const struct plan_platform *platform;
	int nr_dnns;
	struct plan_workload dnn[PLAN_MAX_DNNS];
	struct plan_params params;
	/* Online corrections: measured / predicted throughput per DNN (1 when
	 * nothing was measured). Multiply the estimator's throughput. */
	double correction[PLAN_MAX_DNNS];
	/* P_i: best throughput of DNN i alone on the platform, filled by
	 * plan_problem_prepare(). */
	double potential[PLAN_MAX_DNNS];
	struct plan_mapping potential_map[PLAN_MAX_DNNS];
	/* Per-stage cost tables of every DNN on every unit, built by
	 * plan_problem_prepare() and freed by plan_problem_release(). */
	struct plan_tables *tables;
};

void plan_params_default(struct plan_params *p);

/* Defaults, corrections at 1, and P_i for every DNN (an exhaustive search
 * of each DNN alone). Returns 0 or -1 with a message in err (a DNN without a
 * model, a model without layers, a platform without a usable unit). */
int plan_problem_prepare(struct plan_problem *pb, char *err, size_t errlen);
void plan_problem_release(struct plan_problem *pb);

/* ---- mappings: validity --------------------------------------------------- */

/* 0 when m is a valid mapping for pb; else -1 and one line in err naming the
 * DNN, the stage and the rule broken: stages contiguous and covering every
 * layer, cuts only after cut_after layers, at most PLAN_MAX_STAGES stages on
 * distinct units, aggregate units alone, cores within the unit. */
int plan_mapping_validate(const struct plan_problem *pb, const struct plan_mapping *m, char *err,
			  size_t errlen);

/* "resnet18: big[0-9]x4 > gpu[10-20]" style, one DNN per line. */
int plan_mapping_format(const struct plan_problem *pb, const struct plan_mapping *m, char *out,
			size_t len);

/* ---- estimator -------------------------------------------------------------- */

/* Seconds layer l of model takes alone on unit with k cores (k ignored on a
 * GPU), split into the compute-bound and memory-bound parts that the
 * contention model scales separately. */
struct plan_cost {
	double compute_s; /* time not spent waiting for DRAM */
	double memory_s;  /* time that grows with DRAM contention */
};
struct plan_cost plan_layer_cost(const struct plan_unit *u, const struct plan_layer *l, int cores);

/* Seconds to hand cut_bytes from unit a to unit b. */
double plan_transfer_s(const struct plan_platform *p, int a, int b, double bytes);

/* Gives CPU cores to the stages of m (fills stages[].cores: on a CPU unit
 * that is not an aggregate, one core each while there are enough, the rest
 * one at a time to the stage with the largest weighted time; else all
 * time-share), fills weights left at 0 and shares, then estimates every
 * DNN's throughput and latency, corrections applied. m must be valid. */
void plan_estimate(const struct plan_problem *pb, struct plan_mapping *m, struct plan_estimate *e);

/* The online correction of one DNN after a measurement: the EWMA (weight
 * alpha on the new sample) of measured over predicted throughput, where
 * estimated is plan_estimate()'s figure, made with correction current.
 * Samples are clamped to [0.05, 20] so one bad reading cannot wreck it. */
double plan_correction_update(double current, double measured, double estimated, double alpha);

/* ---- reward ---------------------------------------------------------------- */

double plan_rank_weight(const struct plan_params *p, int rank);

/* Σ w(rank_i)·T_i/P_i when every DNN is at or above its floor and every
 * critical DNN within its latency target; otherwise a negative value that
 * grows toward 0 as the violations shrink, below any feasible reward. */
double plan_reward(const struct plan_problem *pb, const struct plan_estimate *e);

/* Σ T_i/P_i, no ranks, no floor: OmniBoost's objective. */
double plan_reward_throughput(const struct plan_problem *pb, const struct plan_estimate *e);

/* ---- search ------------------------------------------------------------------ */

struct plan_search_cfg {
	uint64_t seed;
	unsigned max_iterations; /* 0: unlimited */
	double max_ms;           /* 0: unlimited */
	double exploration;      /* UCT constant */
	bool throughput_only;    /* OmniBoost's reward */
	bool keep_tree;          /* reuse the tree while the mix is unchanged */
	bool polish;             /* hill-climb from the best mapping found */
};

void plan_search_cfg_default(struct plan_search_cfg *c);

struct planner; /* MCTS state, arena-backed */

/* arena_bytes: all memory the tree may use, allocated here once. */
struct planner *planner_create(size_t arena_bytes);
void planner_destroy(struct planner *pl);

struct plan_result {
	struct plan_mapping mapping;
	struct plan_estimate estimate;
	double reward;
	unsigned iterations;
	double elapsed_ms;
	bool tree_reused;
	bool arena_full; /* the tree stopped growing; search went on */
	unsigned polish_moves; /* improving moves the hill-climb made */
	bool exhaustive;       /* the space was scored whole: the optimum */
};

/* MCTS (UCT) over the DNNs' decisions. Returns 0, or -1 with err set. */
int planner_search(struct planner *pl, const struct plan_problem *pb,
		   const struct plan_search_cfg *cfg, struct plan_result *res, char *err,
		   size_t errlen);

/* Every valid mapping; -1 with err set when the space holds more than
 * max_mappings (nothing searched). */
int plan_exhaustive(const struct plan_problem *pb, uint64_t max_mappings, bool throughput_only,
		    struct plan_result *res, char *err, size_t errlen);

/* Number of valid mappings of DNN i alone, and of the whole mix (saturates
 * at UINT64_MAX). */
uint64_t plan_dnn_choices(const struct plan_problem *pb, int i);
uint64_t plan_space_size(const struct plan_problem *pb);

/* ---- baselines -------------------------------------------------------------- */

enum plan_policy {
	PLAN_POLICY_RANKMAP,     /* MCTS, ranked reward with floor */
	PLAN_POLICY_LINUX,       /* whole on the CPUs, fair share */
	PLAN_POLICY_GREEDY,      /* whole DNN on its best unit, in rank order */
	PLAN_POLICY_ROUND_ROBIN, /* whole DNN i on unit i mod units */
	PLAN_POLICY_OMNIBOOST,   /* MCTS, throughput-only reward, no floor */
	PLAN_POLICY_IBIS,        /* admission by the queueing model */
	PLAN_POLICY_FIRST_FIT,   /* memory-only knapsack placement */
	PLAN_POLICY_BEST_FIT,
	PLAN_POLICY_WORST_FIT,
	PLAN_POLICY__COUNT,
};

const char *plan_policy_name(enum plan_policy p);
int plan_policy_parse(const char *name); /* -1 when unknown */

/* Mapping chosen by policy; MCTS policies use pl and cfg. Returns 0 or -1. */
int plan_policy_run(enum plan_policy policy, struct planner *pl, const struct plan_problem *pb,
		    const struct plan_search_cfg *cfg, struct plan_result *res, char *err,
		    size_t errlen);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's side of the planner: which workloads it plans (those with a
 * model), the problem it hands the pure planner, when it searches again
 * (a change of the mix, or every replan_ms), and what it tells: one log
 * line block per new mapping, and the plan in `triagectl status`.
 * The clients (agent/clients.c) enforce the mapping on the DNNs that run
 * under libtriage and report what they measure back here.
 *
 * Trouble (no platform, a model that will not load, a search error) turns
 * planning off with one line, never the agent.
 */
#ifndef TRIAGE_AGENT_PLAN_H
#define TRIAGE_AGENT_PLAN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "doctor/doctor.h"
#include "planner.h"
#include "policy/workloads.h"

/* The one arena the search tree lives in, taken once at start. */
#define AGENT_PLAN_ARENA_BYTES (8u << 20)
/* Distinct models kept loaded; more is refused, not thrashed. */
#define AGENT_PLAN_MAX_MODELS 32

/* Where models come from: the zoo on disk (agent_plan_zoo.c), or tables in
 * memory (the unit tests). */
struct agent_plan_source {
	/* 0, or -1 with one line in err. */
	int (*load_model)(void *ctx, const char *name, struct plan_model *out, char *err,
			  size_t errlen);
	/* The model names there are, ", "-separated, for messages; NULL
	 * where load_model's errors name them already. */
	void (*list_models)(void *ctx, char *out, size_t len);
	void *ctx;
};

enum agent_plan_state {
	AGENT_PLAN_DISABLED, /* planner.enabled is false */
	AGENT_PLAN_OFF,	     /* turned off by trouble; why says what */
	AGENT_PLAN_ON,
};

/* One DNN of the problem, and the workload it stands for. */
struct agent_plan_dnn {
	uint32_t wl_id;
	int level;
	int rank;
	char name[TRIAGE_NAME_MAX];
	char model[CONFIG_MODEL_MAX];
	double latency_ms;
	double rate_hz; /* 0: flat out */
	double correction; /* measured / estimated throughput, learnt (1: none yet) */
	double measured;   /* its last measured throughput, 0: none */
};

struct agent_plan_cached_model {
	char name[CONFIG_MODEL_MAX];
	struct plan_model *model;
};

struct agent_plan {
	struct planner_cfg cfg;
	enum agent_plan_state state;
	char why[512]; /* why planning is off */
	struct agent_plan_source src;
	struct plan_platform platform; /* what the search plans on: full, less its GPU
					* units while triage-gpud is away */
	struct plan_platform full;     /* as loaded */
	bool gpu_on;		       /* platform holds full's GPU units */
	char platform_desc[160]; /* "platform orin-agx (profile)", ... */
	struct planner *pl;
	int nr_models;
	struct agent_plan_cached_model models[AGENT_PLAN_MAX_MODELS];

	/* The mix: modeled workloads, most important first. */
	struct plan_problem *pb;
	bool prepared;	   /* pb holds cost tables to release */
	bool search_due;   /* prepared, not searched yet */
	double prepare_ms; /* what preparing the new mix took */
	int nr_dnns;
	struct agent_plan_dnn dnn[PLAN_MAX_DNNS];
	int nr_left_out; /* modeled workloads past PLAN_MAX_DNNS */
	uint64_t seen_generation;
	bool seen_any; /* seen_generation is meaningful */

	/* The last search. */
	bool have_result;
	struct plan_result res;
	double search_ms;	 /* the search alone */
	double decision_ms;	 /* preparing the mix and searching */
	uint64_t searched_ns;	 /* monotonic, of the last search */
	double decided_unix;	 /* wall clock of the mapping in res */
	unsigned nr_searches;	 /* since start */
	unsigned nr_decisions;	 /* searches whose mapping differed from the one before */
	char mapping_text[4096]; /* plan_mapping_format() of res, to tell a change */
};

/* Planning on platform with models from src; platform_desc says where the
 * platform came from ("platform orin-agx (profile)"). Without a platform
 * (NULL) planning is OFF and platform_desc says why. With cfg->enabled
 * false it is DISABLED whatever the rest. Returns 0, or -1 when planning
 * had to go off (logged). */
int agent_plan_init(struct agent_plan *ap, const struct planner_cfg *cfg,
		    const struct plan_platform *platform, const char *platform_desc,
		    const struct agent_plan_source *src);

/* The daemon's start (agent_plan_zoo.c): the platform cfg names, the zoo on
 * disk. Trouble leaves the plan OFF with one logged line; never fails. */
void agent_plan_open(struct agent_plan *ap, const struct planner_cfg *cfg);

void agent_plan_close(struct agent_plan *ap);

/* Turns planning off for good and logs why, once. */
void agent_plan_off(struct agent_plan *ap, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Loads model name into the cache unless it is there; the loaded model, or
 * NULL with one line in err naming the models there are. */
const struct plan_model *agent_plan_model(struct agent_plan *ap, const char *name, char *err,
					  size_t errlen);

/* Every rule's model must be in the zoo (agent_plan_zoo.c): 0, or -1 and
 * "<origin>: rules[N].model: ..." in err. Nothing is checked with the
 * planner disabled. */
int agent_plan_check_rules(const struct triage_config *cfg, const char *origin, char *err,
			   size_t errlen);

/* The planner's row of `triaged --doctor` (agent_plan_zoo.c). */
void agent_plan_doctor(const struct planner_cfg *cfg, struct doctor_report *r);

/* Whether triage-gpud serves GPU stages now: the platform's GPU units
 * are planned on only while it does. A change plans the mix again. */
void agent_plan_set_gpu(struct agent_plan *ap, bool on);

/* Plans again when the mix of modeled workloads changed since the last
 * search, or replan_ms passed. A new mix whose preparation took half the
 * budget or more is searched at the next step. Returns 1 when it searched,
 * 0 when nothing was due (or the search waits for the next step), -1 when
 * planning just went off. */
int agent_plan_step(struct agent_plan *ap, const struct triage_config *cfg,
		    const struct workloads *reg, uint64_t now_ns);

/* The drift between measured and estimated throughput past which the
 * next step searches again, and the least time between such searches. */
#define AGENT_PLAN_DRIFT 0.25
#define AGENT_PLAN_DRIFT_HOLD_MS 3000
/* Weight of a new measurement in the estimator's correction (EWMA). */
#define AGENT_PLAN_CORRECTION_ALPHA 0.3

/* A measured throughput (inferences/s, over the client's last window) of
 * the planned DNN of workload wl_id: the estimator's correction for it
 * learns from it (plan_correction_update()), and when it is more than
 * AGENT_PLAN_DRIFT off the current plan's estimate the next step searches
 * again. Returns 1 when it asked for a search, 0 otherwise (also when
 * wl_id is not planned). */
int agent_plan_measured(struct agent_plan *ap, uint32_t wl_id, double throughput,
			uint64_t now_ns);

/* Index of the workload among the planned DNNs, or -1. */
int agent_plan_find(const struct agent_plan *ap, uint32_t wl_id);

/* For `triagectl status` (agent_plan_json.c): the planner's state and last
 * decision, and what it says of one workload (added to its object). */
struct json_object *agent_plan_json(const struct agent_plan *ap, uint64_t now_ns);
/* Whether the DNNs of level are left out of every plan: those of a
 * real-time level, which run whole on the level's CPUs (clients.c),
 * while the platform planned on has no GPU unit. With one (triage-gpud
 * serving), their heavy layers may go to the GPU, so they are planned
 * like the others and keep their class on their CPU stages. */
bool agent_plan_outside(const struct agent_plan *ap, const struct triage_config *cfg, int level);

void agent_plan_workload_json(const struct agent_plan *ap, const struct triage_config *cfg,
			      const struct workload *w,
			      struct json_object *o);

#endif

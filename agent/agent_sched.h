/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's side of scheduling classes (agent/sched/): each tick gives
 * every thread of every workload its level's class, guards real-time
 * workloads against running away, and gives classes back when a process
 * leaves its workload and when the agent exits.
 */
#ifndef TRIAGE_AGENT_SCHED_H
#define TRIAGE_AGENT_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "sched/sched_class.h"
#include "triage/abi.h"

struct kmod_client;

struct agent_sched {
	bool any;       /* some level sets a class */
	bool any_rt;    /* some level is real time */
	bool self_rt;   /* the agent runs real time, above its workloads */
	struct sched_journal journal;
	struct kmod_client *kmod; /* triage.ko's SCHED_GUARD, NULL without it */
	pid_t *guarded;           /* tgids the module reverts if the agent dies */
	int nr_guarded, cap_guarded;
	unsigned demotions, restores;
	bool rt_groups; /* v1 cpu.rt_runtime_us exists: runtime handed down */
	long long level_rt_us[TRIAGE_MAX_LEVELS]; /* v1: each real-time level's runtime */
};

struct agent;

/* Opens the journal (giving back what a killed agent left), hands down
 * real-time runtime (v1 RT group scheduling) and raises the agent above
 * its real-time levels. 0, or -1 with the reason logged. */
int agent_sched_open(struct agent *a);

/* One tick: classes applied, runaways demoted, the behaved restored. */
void agent_sched_tick(struct agent *a, uint64_t now_ns);

struct workload;

/* Gives w's processes its level's class now rather than at the next tick
 * (journaled first, as the tick does): a client taken on starts its first
 * inference in its class. */
void agent_sched_workload(struct agent *a, struct workload *w);

/* Every class given back; the module's guards dropped. */
void agent_sched_close(struct agent *a);

struct json_object;

/* Status: a workload's "class" (null when its level keeps classes) and,
 * for a real-time one, its "guard"; and the agent's "sched" object. */
void agent_sched_workload_json(const struct agent *a, const struct workload *w,
			       struct json_object *o);
struct json_object *agent_sched_json(const struct agent *a);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The scheduling-class part of the config schema: each level's "sched"
 * object and the top-level "guard" that watches real-time levels, kept
 * beside config.c like the planner's and the client policy's parts.
 */
#ifndef TRIAGE_CONFIG_SCHED_H
#define TRIAGE_CONFIG_SCHED_H

#include <stdbool.h>

#include "config/config.h"
#include "json_util.h"

/* The priority a fifo or rr level's workloads get when it names none:
 * 20 - rank, so rank 1 runs at 19, above rank 2 at 18, and every level
 * stays below the kernel's interrupt threads (50). */
#define SCHED_CFG_RANK_PRIORITY_BASE 20

/* levels[i].sched: {"policy": "fifo", "priority": 0, "budget_pct": 75, ...};
 * level is the level being parsed (its idle flag is checked against it). */
int config_parse_sched(struct json_check *jc, struct json_object *obj, const char *path,
		       struct level_cfg *level);

/* The "guard" object (obj NULL: absent: the defaults). */
int config_parse_guard(struct json_check *jc, struct json_object *obj, struct guard_cfg *guard);

/* Defaults of a level without "sched": classes kept. */
void config_sched_defaults(struct sched_cfg *s);

bool config_sched_realtime(const struct sched_cfg *s);

/* The real-time priority of level i (fifo, rr): its own, or by rank. */
unsigned config_sched_priority(const struct triage_config *cfg, int level);

/* "keep", "other", "batch", "idle", "fifo", "rr". */
const char *config_sched_policy_name(enum sched_policy_cfg policy);

#endif

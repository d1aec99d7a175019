// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Scheduling classes in the config. A level names its class, and the
 * knobs that class has: a real-time priority and a guard budget for fifo
 * and rr, a nice value for other and batch, utilization clamps for any.
 * A key that does not belong to the class named is an error, so a nice
 * value on a fifo level never silently means nothing.
 */
#include <stdio.h>
#include <string.h>

#include "config/config_sched.h"

static const char *const sched_keys[] = { "policy",	"priority",   "nice", "budget_pct",
					  "uclamp_min", "uclamp_max", NULL };
static const char *const guard_keys[] = { "window_ms", "behave_ms", NULL };

static const char *const policy_names[] = {
	[SCHED_CFG_KEEP] = "keep",   [SCHED_CFG_OTHER] = "other", [SCHED_CFG_BATCH] = "batch",
	[SCHED_CFG_IDLE] = "idle",   [SCHED_CFG_FIFO] = "fifo",   [SCHED_CFG_RR] = "rr",
	[SCHED_CFG_DEADLINE] = "deadline",
};
#define NR_POLICIES (sizeof(policy_names) / sizeof(policy_names[0]))

const char *config_sched_policy_name(enum sched_policy_cfg policy)
{
	return (unsigned)policy < NR_POLICIES ? policy_names[policy] : "?";
}

void config_sched_defaults(struct sched_cfg *s)
{
	*s = (struct sched_cfg){
		.policy = SCHED_CFG_KEEP,
		.nice = SCHED_CFG_NICE_KEEP,
		.budget_pct = 50,
		.uclamp_min = SCHED_CFG_UCLAMP_KEEP,
		.uclamp_max = SCHED_CFG_UCLAMP_KEEP,
	};
}

bool config_sched_realtime(const struct sched_cfg *s)
{
	return s->policy == SCHED_CFG_FIFO || s->policy == SCHED_CFG_RR ||
	       s->policy == SCHED_CFG_DEADLINE;
}

unsigned config_sched_priority(const struct triage_config *cfg, int level)
{
	const struct level_cfg *l = &cfg->levels[level];
	int by_rank = SCHED_CFG_RANK_PRIORITY_BASE - l->rank;

	if (l->sched.priority)
		return l->sched.priority;
	return by_rank > 0 ? (unsigned)by_rank : 1;
}

/* A key the class does not have. */
static int not_for(struct json_check *jc, struct json_object *obj, const char *path,
		   const char *key, const char *which)
{
	char key_path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (!json_check_lookup(obj, path, key, &val, key_path))
		return 0;
	return json_check_fail(jc, key_path, "only %s levels have it", which);
}

static int parse_uclamp(struct json_check *jc, struct json_object *obj, const char *path,
			const char *key, int *out)
{
	unsigned v;
	char key_path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (!json_check_lookup(obj, path, key, &val, key_path))
		return 0;
	if (json_check_uint(jc, val, key_path, 0, 1024, &v))
		return -1;
	*out = (int)v;
	return 0;
}

int config_parse_sched(struct json_check *jc, struct json_object *obj, const char *path,
		       struct level_cfg *level)
{
	static const struct json_check_range budget_range = { 0, 100, true, false };
	struct sched_cfg *s = &level->sched;
	char key_path[JSON_CHECK_PATH_MAX];
	struct json_object *val;
	const char *name;
	size_t p;

	config_sched_defaults(s);
	if (json_check_object(jc, obj, path) || json_check_keys(jc, obj, path, sched_keys))
		return -1;
	if (json_check_require(jc, obj, path, "policy", &val, key_path) ||
	    json_check_string(jc, val, key_path, &name))
		return -1;
	for (p = 0; p < NR_POLICIES && strcmp(name, policy_names[p]); p++)
		;
	if (p == NR_POLICIES)
		return json_check_fail(jc, key_path,
				       "unknown policy \"%.32s\" (expected keep, other, batch, idle, fifo, rr or deadline)",
				       name);
	s->policy = (enum sched_policy_cfg)p;
	if (config_sched_realtime(s) && level->idle)
		return json_check_fail(jc, key_path,
				       "a real-time policy on a level with \"idle\": true (cpu.idle) cannot run as either");

	if (config_sched_realtime(s)) {
		if (json_check_opt_uint(jc, obj, path, "priority", 0, 99, &s->priority) ||
		    json_check_opt_number(jc, obj, path, "budget_pct", &budget_range, &s->budget_pct) ||
		    not_for(jc, obj, path, "nice", "other and batch"))
			return -1;
	} else {
		if (not_for(jc, obj, path, "priority", "fifo, rr and deadline") ||
		    not_for(jc, obj, path, "budget_pct", "fifo, rr and deadline"))
			return -1;
		if (s->policy == SCHED_CFG_OTHER || s->policy == SCHED_CFG_BATCH) {
			if (json_check_lookup(obj, path, "nice", &val, key_path)) {
				int64_t nice;

				if (!json_object_is_type(val, json_type_int) ||
				    (nice = json_object_get_int64(val)) < -20 || nice > 19)
					return json_check_fail(jc, key_path,
							       "must be an integer in -20..19");
				s->nice = (int)nice;
			}
		} else if (not_for(jc, obj, path, "nice", "other and batch")) {
			return -1;
		}
	}
	if (s->policy == SCHED_CFG_KEEP) {
		if (not_for(jc, obj, path, "uclamp_min", "other, batch, idle, fifo, rr and deadline") ||
		    not_for(jc, obj, path, "uclamp_max", "other, batch, idle, fifo, rr and deadline"))
			return -1;
		return 0;
	}
	if (parse_uclamp(jc, obj, path, "uclamp_min", &s->uclamp_min) ||
	    parse_uclamp(jc, obj, path, "uclamp_max", &s->uclamp_max))
		return -1;
	if (s->uclamp_min != SCHED_CFG_UCLAMP_KEEP && s->uclamp_max != SCHED_CFG_UCLAMP_KEEP &&
	    s->uclamp_min > s->uclamp_max) {
		json_check_key_path(key_path, path, "uclamp_min");
		return json_check_fail(jc, key_path, "%d is above uclamp_max %d", s->uclamp_min,
				       s->uclamp_max);
	}
	return 0;
}

int config_parse_guard(struct json_check *jc, struct json_object *obj, struct guard_cfg *guard)
{
	guard->window_ms = 1000;
	guard->behave_ms = 5000;
	if (!obj)
		return 0;
	if (json_check_object(jc, obj, "guard") || json_check_keys(jc, obj, "guard", guard_keys))
		return -1;
	return json_check_opt_uint(jc, obj, "guard", "window_ms", 100, 60000, &guard->window_ms) ||
	       json_check_opt_uint(jc, obj, "guard", "behave_ms", 100, 600000, &guard->behave_ms);
}

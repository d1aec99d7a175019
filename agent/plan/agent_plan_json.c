// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The plan as `triagectl status` shows it: the planner's state and its last
 * decision at the top, and under each workload its model, its stages and
 * what the estimator expects of them. Built from what the last search left,
 * so a status request never searches.
 */
#include <stdio.h>
#include <string.h>

#include "plan/agent_plan.h"

static const char *state_name(enum agent_plan_state s)
{
	switch (s) {
	case AGENT_PLAN_ON:
		return "on";
	case AGENT_PLAN_OFF:
		return "off";
	case AGENT_PLAN_DISABLED:
		break;
	}
	return "disabled";
}

static struct json_object *units_json(const struct plan_platform *p)
{
	struct json_object *arr = json_object_new_array();

	for (int u = 0; u < p->nr_units; u++) {
		const struct plan_unit *unit = &p->units[u];
		struct json_object *o;

		if (unit->aggregate)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(unit->name));
		json_object_object_add(
			o, "kind",
			json_object_new_string(unit->kind == PLAN_UNIT_GPU ? "gpu" : "cpu"));
		json_object_object_add(o, "cores", json_object_new_int(unit->cores));
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *agent_plan_json(const struct agent_plan *ap, uint64_t now_ns)
{
	struct json_object *o = json_object_new_object();
	bool on = ap->state == AGENT_PLAN_ON, decided = on && ap->have_result;

	json_object_object_add(o, "state", json_object_new_string(state_name(ap->state)));
	json_object_object_add(o, "why", on ? NULL : json_object_new_string(ap->why));
	json_object_object_add(o, "platform",
			       on ? json_object_new_string(ap->platform.name) : NULL);
	json_object_object_add(o, "platform_source",
			       on ? json_object_new_string(ap->platform_desc) : NULL);
	json_object_object_add(o, "units", on ? units_json(&ap->platform) : NULL);
	json_object_object_add(o, "dnns", json_object_new_int(ap->nr_dnns));
	json_object_object_add(o, "left_out", json_object_new_int(ap->nr_left_out));
	json_object_object_add(o, "searches", json_object_new_int64(ap->nr_searches));
	json_object_object_add(o, "decisions", json_object_new_int64(ap->nr_decisions));
	json_object_object_add(o, "decided_unix",
			       decided ? json_object_new_double(ap->decided_unix) : NULL);
	json_object_object_add(
		o, "searched_ago_s",
		decided ? json_object_new_double((double)(now_ns - ap->searched_ns) / 1e9) : NULL);
	json_object_object_add(o, "reward",
			       decided ? json_object_new_double(ap->res.reward) : NULL);
	json_object_object_add(o, "decision_ms",
			       decided ? json_object_new_double(ap->decision_ms) : NULL);
	json_object_object_add(o, "search_ms",
			       decided ? json_object_new_double(ap->search_ms) : NULL);
	json_object_object_add(o, "iterations",
			       decided ? json_object_new_int64(ap->res.iterations) : NULL);
	json_object_object_add(o, "tree_reused",
			       decided ? json_object_new_boolean(ap->res.tree_reused) : NULL);
	json_object_object_add(o, "exhaustive",
			       decided ? json_object_new_boolean(ap->res.exhaustive) : NULL);
	json_object_object_add(o, "mapping",
			       decided ? json_object_new_string(ap->mapping_text) : NULL);
	return o;
}

static struct json_object *stages_json(const struct agent_plan *ap, int i)
{
	const struct plan_dnn_map *map = &ap->res.mapping.dnn[i];
	struct json_object *arr = json_object_new_array();

	for (int s = 0; s < map->nr_stages; s++) {
		const struct plan_stage *st = &map->stages[s];
		const struct plan_unit *u = &ap->platform.units[st->unit];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "unit", json_object_new_string(u->name));
		json_object_object_add(
			o, "kind",
			json_object_new_string(u->kind == PLAN_UNIT_GPU ? "gpu" : "cpu"));
		json_object_object_add(o, "first_layer", json_object_new_int(st->first));
		json_object_object_add(o, "last_layer", json_object_new_int(st->last));
		json_object_object_add(o, "cores", json_object_new_int(st->cores));
		json_object_object_add(o, "share", json_object_new_double(st->share));
		json_object_array_add(arr, o);
	}
	return arr;
}

/*
 * plan_state: "planned"; "unmodeled" (no model: never planned); "waiting"
 * (modeled, not searched yet); "left out" (past the planner's DNN limit);
 * "real time" (its level's class is: it runs whole, outside the plan);
 * "off" (planning is off or disabled).
 */
void agent_plan_workload_json(const struct agent_plan *ap, const struct triage_config *cfg,
			      const struct workload *w, struct json_object *o)
{
	int i = agent_plan_find(ap, w->id);
	const char *state;
	struct json_object *plan = NULL;

	if (!w->model[0])
		state = "unmodeled";
	else if (ap->state != AGENT_PLAN_ON)
		state = "off";
	else if (agent_plan_outside(ap, cfg, w->level))
		state = "real time";
	else if (i >= 0 && ap->have_result)
		state = "planned";
	else if (i < 0 && ap->nr_left_out && ap->nr_dnns == PLAN_MAX_DNNS)
		state = "left out";
	else
		state = "waiting";
	json_object_object_add(o, "model", w->model[0] ? json_object_new_string(w->model) : NULL);
	json_object_object_add(o, "latency_target_ms",
			       w->latency_ms > 0 ? json_object_new_double(w->latency_ms) : NULL);
	json_object_object_add(o, "plan_state", json_object_new_string(state));
	if (!strcmp(state, "planned")) {
		plan = json_object_new_object();
		json_object_object_add(plan, "rank", json_object_new_int(ap->dnn[i].rank));
		json_object_object_add(plan, "critical",
				       json_object_new_boolean(ap->pb->dnn[i].critical));
		json_object_object_add(plan, "stages", stages_json(ap, i));
		json_object_object_add(plan, "throughput",
				       json_object_new_double(ap->res.estimate.throughput[i]));
		json_object_object_add(plan, "latency_ms",
				       json_object_new_double(ap->res.estimate.latency_ms[i]));
		json_object_object_add(plan, "alone_throughput",
				       json_object_new_double(ap->pb->potential[i]));
	}
	json_object_object_add(o, "plan", plan);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The GPU in the loop (agent/gpu/gpu.h) on the whole agent: which of
 * gpud's stages belong to which client, and so to which workload, level
 * and floor; whether a critical one misses its target.
 *
 * Only stages of the agent's own clients count: a process gpud serves
 * that is not a libtriage client of this agent has no level here, so its
 * share is not the agent's to set. Gated processes (the launch gate's
 * board) join by the level they name, and their counters go to the
 * workload of their name in that level, where the registry has one.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "log.h"

#include <triage/gpud.h>

static const struct agent_client *client_by_pid(const struct agent *a, pid_t pid)
{
	for (int i = 0; i < a->clients.nr; i++)
		if (a->clients.c[i]->pid == pid)
			return a->clients.c[i];
	return NULL;
}

/* The counters into the pinned map gpu_stats, where the sensors have it
 * (the BPF ones); a value only when it moved. */
static void publish_counters(struct agent *a)
{
	if (!a->sensors || !(sensors_features(a->sensors) & SENSORS_HAS_GPU_STATS))
		return;
	for (int i = 0; i < a->gpu.nr_wl; i++) {
		struct agent_gpu_workload *w = &a->gpu.wl[i];
		int err;

		if (!w->dirty)
			continue;
		err = sensors_put_gpu_stats(a->sensors, w->wl_id, &w->st);
		if (err && err != -ENOENT)
			log_debug("gpu_stats: workload %u: %s", w->wl_id, strerror(-err));
		w->dirty = false;
	}
}

/* Each slot's workload: the registry's of its name in its level, or 0. */
static void attribute_gates(struct agent *a, uint32_t *wl_ids, uint32_t *slots)
{
	for (int i = 0; a->gpu.board_on && i < TRIAGE_GATE_MAX_SLOTS; i++) {
		const struct triage_gate_slot *s = &a->gpu.gate[i].now;
		int level = s->pid > 0 ? config_level_index(&a->cfg, s->level) : -1;
		struct workload *w = level >= 0 ? workloads_find(&a->reg, level, s->name) : NULL;

		if (!w)
			continue;
		wl_ids[i] = w->id;
		slots[i] = (uint32_t)level;
	}
}

void agent_gpu_tick(struct agent *a)
{
	struct agent_gpu_be be[TRIAGE_GATE_MAX_SLOTS + TRIAGE_GPUD_MAX_STAGES];
	uint32_t wl_ids[TRIAGE_GPUD_MAX_STAGES] = { 0 }, slots[TRIAGE_GPUD_MAX_STAGES] = { 0 };
	uint32_t gate_wl[TRIAGE_GATE_MAX_SLOTS] = { 0 }, gate_slots[TRIAGE_GATE_MAX_SLOTS] = { 0 };
	bool missed = false;
	int nr;

	agent_gpu_sample(&a->gpu);
	agent_plan_set_gpu(&a->plan, a->gpu.up);
	/* Gated ones first: a workload with a gated process and a stage on
	 * gpud is held as strictly as the gate needs. */
	nr = agent_gpu_gate_be(&a->gpu, be, TRIAGE_GATE_MAX_SLOTS, a->cfg.protection.gpu_stretch,
			       &missed);
	for (uint32_t i = 0; a->gpu.up && i < a->gpu.view.nr_stages; i++) {
		const struct triage_gpud_stage_stats *st = &a->gpu.view.stages[i];
		const struct agent_client *c = client_by_pid(a, st->pid);
		bool latency = false;

		if (!c)
			continue;
		wl_ids[i] = c->wl_id;
		slots[i] = (uint32_t)c->level;
		if (st->level == TRIAGE_GPUD_CRITICAL) {
			if (agent_clients_severity(a, c->wl_id, 0.0, &latency) > 1.0 && latency)
				missed = true;
		} else {
			be[nr++] = (struct agent_gpu_be){ st->name,
							  a->cfg.levels[c->level].gpu_floor_permille,
							  TRIAGE_GPU_SHARE_FULL, false };
		}
	}
	agent_gpu_protect(&a->gpu, be, nr, missed, &a->cfg.protection);
	agent_gpu_account(&a->gpu, wl_ids, slots);
	attribute_gates(a, gate_wl, gate_slots);
	agent_gpu_account_gate(&a->gpu, gate_wl, gate_slots);
	publish_counters(a);
}

struct json_object *agent_gpu_stats_json(const struct agent *a)
{
	struct json_object *arr = json_object_new_array();

	for (int i = 0; i < a->gpu.nr_wl; i++) {
		const struct agent_gpu_workload *w = &a->gpu.wl[i];
		struct json_object *o = json_object_new_object();
		const char *name = "";

		for (int k = 0; k < a->reg.nr; k++)
			if (a->reg.wl[k]->id == w->wl_id)
				name = a->reg.wl[k]->name;
		json_object_object_add(o, "workload_id", json_object_new_int64(w->wl_id));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "level", json_object_new_string(
			w->st.slot < (uint32_t)a->cfg.nr_levels ? a->cfg.levels[w->st.slot].name : ""));
		json_object_object_add(o, "stages", json_object_new_int((int)w->st.stages));
		json_object_object_add(o, "gated", json_object_new_int((int)w->gated));
		json_object_object_add(o, "requests", json_object_new_int64((int64_t)w->st.requests));
		json_object_object_add(o, "busy_ns", json_object_new_uint64(w->st.busy_ns));
		json_object_object_add(o, "queued_ns", json_object_new_uint64(w->st.queued_ns));
		json_object_object_add(o, "launches", json_object_new_uint64(w->st.launches));
		json_object_object_add(o, "slices", json_object_new_uint64(w->st.slices));
		json_object_object_add(o, "bytes_in", json_object_new_uint64(w->st.bytes_in));
		json_object_object_add(o, "bytes_out", json_object_new_uint64(w->st.bytes_out));
		json_object_object_add(o, "share_permille", json_object_new_int((int)w->st.share_permille));
		json_object_array_add(arr, o);
	}
	return arr;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The GPU in the agent's loop (agent/gpu/gpu.h).
 *
 * The protection loop follows the CPU one's shape (policy/protect.c) with
 * the same knobs where they mean the same: a cut of `decrease` after
 * `confirm_ticks` missed ticks in a row, then `gpu_increase_permille` back
 * per tick once `calm_ticks` calm ticks have passed. It judges the
 * critical clients that have a stage on gpud on their own latency (the
 * goal), not on a GPU-side proxy.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "gpu/gpu.h"
#include "log.h"

int agent_gpu_open(struct agent_gpu *g, const char *run_dir)
{
	struct triage_gpu_shares copy;
	char err[320];

	memset(g, 0, sizeof(*g));
	g->stats.fd = -1;
	snprintf(g->why, sizeof(g->why), "triage-gpud not running");
	gpud_stats_path(run_dir, g->stats_path, sizeof(g->stats_path));
	snprintf(g->shares_path, sizeof(g->shares_path), "%s/%s", run_dir, TRIAGE_GPU_SHARES_FILE);
	if (gpu_shares_create(g->shares_path, &g->shares, err, sizeof(err)) ||
	    gpu_shares_snapshot(g->shares.s, &copy, err, sizeof(err))) {
		log_warn("GPU shares off: %s", err);
		if (g->shares.s)
			gpu_shares_close(&g->shares);
		return -1;
	}
	g->shares_on = true;
	/* What a previous agent left: its shares stand until gpud says which
	 * workloads run, then each is held to its floor. */
	for (uint32_t i = 0; i < copy.nr_shares; i++) {
		struct agent_gpu_share *s = &g->share[g->nr++];

		snprintf(s->name, sizeof(s->name), "%s", copy.shares[i].name);
		s->permille = copy.shares[i].permille;
	}
	if (g->nr)
		log_info("GPU shares: %d adopted from %s", g->nr, g->shares_path);
	return 0;
}

void agent_gpu_sample(struct agent_gpu *g)
{
	char err[192];
	int ret;

	if (!g->stats.p) {
		ret = shm_file_open(g->stats_path, sizeof(g->view), &g->stats, NULL, err, sizeof(err));
		if (ret) {
			snprintf(g->why, sizeof(g->why), "%s",
				 ret == -ENOENT ? "triage-gpud not running" : err);
			g->up = false;
			return;
		}
	}
	ret = gpud_stats_snapshot(&g->stats, &g->view, err, sizeof(err));
	if (ret == -EAGAIN)
		return; /* mid-write for long: keep the last copy */
	g->up = ret == 0;
	if (ret)
		snprintf(g->why, sizeof(g->why), "%s", err);
}

static struct agent_gpu_share *find(struct agent_gpu *g, const char *name)
{
	for (int i = 0; i < g->nr; i++)
		if (!strcmp(g->share[i].name, name))
			return &g->share[i];
	return NULL;
}

unsigned agent_gpu_share_of(const struct agent_gpu *g, const char *name)
{
	struct agent_gpu_share *s = find((struct agent_gpu *)g, name);

	return s ? s->permille : TRIAGE_GPU_SHARE_FULL;
}

static void publish(struct agent_gpu *g)
{
	struct triage_gpu_share entries[TRIAGE_GPU_MAX_SHARES];
	char err[256];

	memset(entries, 0, sizeof(entries));
	for (int i = 0; i < g->nr; i++) {
		snprintf(entries[i].name, sizeof(entries[i].name), "%s", g->share[i].name);
		entries[i].permille = g->share[i].permille;
	}
	if (gpu_shares_publish(g->shares.s, entries, g->nr, err, sizeof(err)))
		log_warn("GPU shares: %s", err);
}

/* The table follows the best-effort workloads on gpud now: new ones come
 * in uncapped, adopted ones are raised to their floor, gone ones leave. */
static bool follow(struct agent_gpu *g, const struct agent_gpu_be *be, int nr_be)
{
	struct agent_gpu_share next[TRIAGE_GPU_MAX_SHARES];
	bool changed = false;
	int n = 0;

	for (int i = 0; i < nr_be && n < TRIAGE_GPU_MAX_SHARES; i++) {
		struct agent_gpu_share *old = find(g, be[i].name), *s = &next[n];
		bool dup = false;

		for (int j = 0; j < n && !dup; j++)
			dup = !strcmp(next[j].name, be[i].name);
		if (dup)
			continue;
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", be[i].name);
		s->floor = be[i].floor;
		s->permille = old ? old->permille : TRIAGE_GPU_SHARE_FULL;
		if (s->permille < s->floor)
			s->permille = s->floor;
		changed |= !old || old->permille != s->permille;
		n++;
	}
	changed |= n != g->nr;
	memcpy(g->share, next, sizeof(next));
	g->nr = n;
	return changed;
}

void agent_gpu_protect(struct agent_gpu *g, const struct agent_gpu_be *be, int nr_be, bool missed,
		       const struct protection_cfg *p)
{
	bool changed;

	/* Without gpud nobody reads the shares, and which workloads run is
	 * unknown: the table stays as it is (adopted shares included). */
	if (!g->shares_on || !g->up)
		return;
	changed = follow(g, be, nr_be);
	if (missed) {
		g->calm = 0;
		if (++g->since_cut >= p->confirm_ticks) {
			bool cut = false;

			for (int i = 0; i < g->nr; i++) {
				struct agent_gpu_share *s = &g->share[i];
				unsigned v = (unsigned)(s->permille * p->decrease);

				if (v < s->floor)
					v = s->floor;
				cut |= v != s->permille;
				s->permille = v;
			}
			if (cut) {
				g->cuts++;
				changed = true;
				log_debug("GPU shares: cut by %g (a critical GPU client missed its target)",
					  p->decrease);
			}
			g->since_cut = 0;
		}
	} else {
		g->since_cut = 0;
		if (++g->calm > p->calm_ticks) {
			bool relaxed = false;

			for (int i = 0; i < g->nr; i++) {
				struct agent_gpu_share *s = &g->share[i];
				unsigned v = s->permille + p->gpu_increase_permille;

				if (v > TRIAGE_GPU_SHARE_FULL)
					v = TRIAGE_GPU_SHARE_FULL;
				relaxed |= v != s->permille;
				s->permille = v;
			}
			g->relaxes += relaxed;
			changed |= relaxed;
		}
	}
	if (changed)
		publish(g);
}

static struct agent_gpu_workload *workload(struct agent_gpu *g, uint32_t wl_id)
{
	int oldest = -1;

	for (int i = 0; i < g->nr_wl; i++)
		if (g->wl[i].wl_id == wl_id)
			return &g->wl[i];
	if (g->nr_wl < TRIAGE_GPUD_MAX_STAGES) {
		memset(&g->wl[g->nr_wl], 0, sizeof(g->wl[0]));
		g->wl[g->nr_wl].wl_id = wl_id;
		return &g->wl[g->nr_wl++];
	}
	/* Full: the workload longest without a stage makes room. */
	for (int i = 0; i < g->nr_wl; i++)
		if (!g->wl[i].st.stages && (oldest < 0 || g->wl[i].st.requests < g->wl[oldest].st.requests))
			oldest = i;
	if (oldest < 0)
		return NULL;
	memset(&g->wl[oldest], 0, sizeof(g->wl[0]));
	g->wl[oldest].wl_id = wl_id;
	return &g->wl[oldest];
}

static uint64_t since(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

void agent_gpu_account(struct agent_gpu *g, const uint32_t *wl_ids, const uint32_t *slots)
{
	struct agent_gpu_counted next[TRIAGE_GPUD_MAX_STAGES];
	int n = 0;

	for (int i = 0; i < g->nr_wl; i++) {
		g->wl[i].dirty |= g->wl[i].st.stages != 0;
		g->wl[i].st.stages = 0;
	}
	for (uint32_t i = 0; g->up && i < g->view.nr_stages; i++) {
		const struct triage_gpud_stage_stats *st = &g->view.stages[i];
		struct triage_gpud_stage_stats prev = { 0 };
		struct agent_gpu_workload *w;

		if (!wl_ids[i] || !(w = workload(g, wl_ids[i])))
			continue;
		for (int k = 0; k < g->nr_counted; k++) {
			const struct agent_gpu_counted *c = &g->counted[k];

			if (c->gpud_pid == g->view.pid && c->pid == st->pid && c->first == st->first &&
			    c->last == st->last)
				prev = c->at;
		}
		w->st.busy_ns += since(st->busy_ns, prev.busy_ns);
		w->st.queued_ns += since(st->queued_ns, prev.queued_ns);
		w->st.requests += since(st->requests, prev.requests);
		w->st.launches += since(st->launches, prev.launches);
		w->st.slices += since(st->slices, prev.slices);
		w->st.bytes_in += since(st->bytes_in, prev.bytes_in);
		w->st.bytes_out += since(st->bytes_out, prev.bytes_out);
		w->st.stages++;
		w->st.share_permille = st->share_permille;
		w->st.level = st->level;
		w->st.slot = slots[i];
		w->dirty = true;
		next[n++] = (struct agent_gpu_counted){ g->view.pid, st->pid, st->first, st->last, *st };
	}
	memcpy(g->counted, next, (size_t)n * sizeof(next[0]));
	g->nr_counted = n;
}

void agent_gpu_close(struct agent_gpu *g, bool restore)
{
	char err[256];

	if (!g->stats_path[0])
		return; /* never opened */
	if (g->shares_on && restore &&
	    gpu_shares_publish(g->shares.s, NULL, 0, err, sizeof(err)))
		log_warn("GPU shares: %s", err);
	if (g->shares_on)
		gpu_shares_close(&g->shares);
	g->shares_on = false;
	shm_file_close(&g->stats);
}

static struct json_object *stage_json(const struct triage_gpud_stage_stats *st)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(st->name));
	json_object_object_add(o, "model", json_object_new_string(st->model));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "first", json_object_new_int(st->first));
	json_object_object_add(o, "last", json_object_new_int(st->last));
	json_object_object_add(o, "level", json_object_new_string(st->level ? "best-effort" : "critical"));
	json_object_object_add(o, "share_permille", json_object_new_int((int)st->share_permille));
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)st->requests));
	json_object_object_add(o, "busy_ms", json_object_new_double(st->busy_ns / 1e6));
	json_object_object_add(o, "queued_ms", json_object_new_double(st->queued_ns / 1e6));
	json_object_object_add(o, "last_gpu_ms", json_object_new_double(st->last_gpu_ns / 1e6));
	json_object_object_add(o, "launches", json_object_new_int64((int64_t)st->launches));
	json_object_object_add(o, "slices", json_object_new_int64((int64_t)st->slices));
	return o;
}

struct json_object *agent_gpu_json(const struct agent_gpu *g)
{
	struct json_object *o = json_object_new_object(), *stages = json_object_new_array(),
			   *shares = json_object_new_array();

	json_object_object_add(o, "running", json_object_new_boolean(g->up));
	if (g->up) {
		json_object_object_add(o, "pid", json_object_new_int(g->view.pid));
		json_object_object_add(o, "device", json_object_new_string(g->view.device));
		json_object_object_add(o, "policy", json_object_new_string(g->view.policy));
		for (uint32_t i = 0; i < g->view.nr_stages; i++)
			json_object_array_add(stages, stage_json(&g->view.stages[i]));
	} else {
		json_object_object_add(o, "why", json_object_new_string(g->why));
	}
	json_object_object_add(o, "stages", stages);
	for (int i = 0; i < g->nr; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(s, "name", json_object_new_string(g->share[i].name));
		json_object_object_add(s, "permille", json_object_new_int((int)g->share[i].permille));
		json_object_object_add(s, "floor_permille", json_object_new_int((int)g->share[i].floor));
		json_object_array_add(shares, s);
	}
	json_object_object_add(o, "shares", shares);
	json_object_object_add(o, "shares_on", json_object_new_boolean(g->shares_on));
	json_object_object_add(o, "cuts", json_object_new_int64((int64_t)g->cuts));
	json_object_object_add(o, "relaxes", json_object_new_int64((int64_t)g->relaxes));
	return o;
}

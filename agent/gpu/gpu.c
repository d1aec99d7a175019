// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The GPU in the agent's loop (agent/gpu/gpu.h).
 *
 * The protection loop follows the CPU one's shape (policy/protect.c) with
 * the same knobs where they mean the same: a cut of `decrease` after
 * `confirm_ticks` missed ticks in a row, then `gpu_increase_permille` back
 * per tick once `calm_ticks` calm ticks have passed. It judges the
 * critical clients that have a stage on gpud on their own latency (the
 * goal), not on a GPU-side proxy. Gated processes (the launch gate) report
 * no latency: a critical one is judged on its bursts, stretched past
 * `gpu_stretch` times the best median it has seen, and a best-effort one
 * new to the table starts at its floor, not uncapped, since nothing
 * slices its kernels but the gate's holds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "gpu/gpu.h"
#include "log.h"

/* Every slot: a copy torn for long keeps the last good one. */
static void sample_board(struct agent_gpu *g)
{
	g->nr_gated = 0;
	g->gate_judged = false;
	for (int i = 0; g->board_on && i < TRIAGE_GATE_MAX_SLOTS; i++) {
		struct agent_gpu_gate *k = &g->gate[i];
		struct triage_gate_slot s;

		if (gpu_board_read_slot(g->board.b, i, &s)) {
			g->slot_busy++;
		} else {
			/* Any process of the group may write it: names are
			 * cut to fit before anyone compares them. */
			s.name[sizeof(s.name) - 1] = '\0';
			s.level[sizeof(s.level) - 1] = '\0';
			k->now = s;
		}
		k->live = gpu_board_slot_live(&k->now);
		g->nr_gated += k->live;
		g->gate_judged |= k->live && k->now.role == TRIAGE_GATE_CRITICAL &&
				  k->now.bursts >= 8 && k->now.burst_ns_best;
	}
}

/* The board in the run directory, its levels and this agent's pid. */
static void open_board(struct agent_gpu *g, const struct triage_config *cfg)
{
	char err[320];

	snprintf(g->cgroup_root, sizeof(g->cgroup_root), "/%s", cfg->cgroup_root);
	g->nr_levels = cfg->nr_levels;
	for (int i = 0; i < cfg->nr_levels; i++) {
		struct triage_gate_level *l = &g->levels[i];

		snprintf(l->name, sizeof(l->name), "%s", cfg->levels[i].name);
		/* The planner's and gpud's rule for critical. */
		l->critical = cfg->levels[i].rank == 1;
		l->floor_permille = cfg->levels[i].gpu_floor_permille;
	}
	gpu_board_path(cfg->run_dir, g->board_path, sizeof(g->board_path));
	if (gpu_board_create(g->board_path, NULL, &g->board, &g->board_shared_with, err,
			     sizeof(err))) {
		snprintf(g->board_why, sizeof(g->board_why), "%s", err);
		log_warn("GPU launch gate off: %s", err);
		return;
	}
	if (gpu_board_publish_levels(&g->board, g->levels, g->nr_levels, g->cgroup_root, getpid(),
				     err, sizeof(err))) {
		snprintf(g->board_why, sizeof(g->board_why), "%s", err);
		log_warn("GPU launch gate off: %s", err);
		gpu_board_close(&g->board);
		return;
	}
	g->board_on = true;
	sample_board(g);
	if (g->nr_gated)
		log_info("GPU launch gate: board %s, shared with %s, %d gated processes adopted",
			 g->board_path, g->board_shared_with, g->nr_gated);
	else
		log_info("GPU launch gate: board %s, shared with %s", g->board_path,
			 g->board_shared_with);
}

int agent_gpu_open(struct agent_gpu *g, const struct triage_config *cfg)
{
	const char *run_dir = cfg->run_dir;
	struct triage_gpu_shares copy;
	char err[320];

	memset(g, 0, sizeof(*g));
	g->stats.fd = -1;
	g->board.file.fd = -1;
	open_board(g, cfg);
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

	sample_board(g);
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

int agent_gpu_gate_be(const struct agent_gpu *g, struct agent_gpu_be *be, int max, double stretch,
		      bool *stretched)
{
	int n = 0;

	*stretched = false;
	for (int i = 0; g->board_on && i < TRIAGE_GATE_MAX_SLOTS; i++) {
		const struct triage_gate_slot *s = &g->gate[i].now;
		unsigned floor;
		int level = -1;

		if (!g->gate[i].live)
			continue;
		if (s->role == TRIAGE_GATE_CRITICAL) {
			/* Eight bursts make the gate's first median. */
			*stretched |= s->bursts >= 8 && s->burst_ns_best &&
				      (double)s->burst_ns_median > stretch * (double)s->burst_ns_best;
			continue;
		}
		if (!s->name[0] || n >= max)
			continue;
		for (int l = 0; l < g->nr_levels && level < 0; l++)
			if (!strncmp(g->levels[l].name, s->level, sizeof(s->level)))
				level = l;
		/* One that names no level of the agent's (a role alone) is
		 * held by its gate at the default floor while the agent
		 * runs: the agent moves its share from there like any other. */
		floor = level >= 0 ? g->levels[level].floor_permille : CONFIG_GPU_FLOOR_PERMILLE_DEFAULT;
		be[n++] = (struct agent_gpu_be){ s->name, floor, floor, true };
	}
	return n;
}

/* The table follows the best-effort workloads on the GPU now: new ones
 * come in at their start, adopted ones are raised to their floor, gone
 * ones leave; with keep (gpud down: its workloads are not known) those
 * not gated are kept frozen as they are. */
static bool follow(struct agent_gpu *g, const struct agent_gpu_be *be, int nr_be, bool keep)
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
		s->gated = be[i].gated;
		s->permille = old ? old->permille : be[i].start;
		if (s->permille < s->floor)
			s->permille = s->floor;
		if (s->permille > TRIAGE_GPU_SHARE_FULL)
			s->permille = TRIAGE_GPU_SHARE_FULL;
		changed |= !old || old->permille != s->permille;
		n++;
	}
	for (int i = 0; keep && i < g->nr && n < TRIAGE_GPU_MAX_SHARES; i++) {
		bool seen = false;

		for (int j = 0; j < n && !seen; j++)
			seen = !strcmp(next[j].name, g->share[i].name);
		if (seen || g->share[i].gated)
			continue;
		next[n] = g->share[i];
		next[n++].frozen = true;
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

	/* Without gpud and without the board nobody reads the shares, and
	 * which workloads run is unknown: the table stays as it is (adopted
	 * shares included). With the board alone, gated processes are known
	 * and gpud's workloads stay as they are. */
	if (!g->shares_on || (!g->up && !g->board_on))
		return;
	changed = follow(g, be, nr_be, !g->up);
	if (missed) {
		g->calm = 0;
		if (++g->since_cut >= p->confirm_ticks) {
			bool cut = false;

			for (int i = 0; i < g->nr; i++) {
				struct agent_gpu_share *s = &g->share[i];
				unsigned v = (unsigned)(s->permille * p->decrease);

				if (s->frozen)
					continue;
				if (v < s->floor)
					v = s->floor;
				cut |= v != s->permille;
				s->permille = v;
			}
			if (cut) {
				g->cuts++;
				changed = true;
				log_debug("GPU shares: cut by %g (a critical GPU client missed its target or its bursts stretched)",
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

				/* A gated share grows only on evidence: a critical
				 * gated process whose bursts are seen calm. With no
				 * critical one, the share holds nobody and stays, so
				 * a critical process that comes learns its best
				 * bursts beside a best-effort one still held. */
				if (s->frozen || (s->gated && !g->gate_judged))
					continue;
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
	if (g->nr_wl < AGENT_GPU_MAX_WORKLOADS) {
		memset(&g->wl[g->nr_wl], 0, sizeof(g->wl[0]));
		g->wl[g->nr_wl].wl_id = wl_id;
		return &g->wl[g->nr_wl++];
	}
	/* Full: the workload longest without a stage or a gated process
	 * makes room. */
	for (int i = 0; i < g->nr_wl; i++)
		if (!g->wl[i].st.stages && !g->wl[i].gated &&
		    (oldest < 0 || g->wl[i].st.requests < g->wl[oldest].st.requests))
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

void agent_gpu_account_gate(struct agent_gpu *g, const uint32_t *wl_ids, const uint32_t *slots)
{
	for (int i = 0; i < g->nr_wl; i++) {
		g->wl[i].dirty |= g->wl[i].gated != 0;
		g->wl[i].gated = 0;
	}
	for (int i = 0; g->board_on && i < TRIAGE_GATE_MAX_SLOTS; i++) {
		struct agent_gpu_gate *k = &g->gate[i];
		const struct triage_gate_slot *s = &k->now;
		bool same = k->counted && k->at.pid == s->pid && k->at.start_time == s->start_time;
		struct triage_gate_slot prev = { 0 };
		struct agent_gpu_workload *w;

		/* A dead owner's numbers count once, if they were counted
		 * while it ran: what it did before its last tick. */
		if (s->pid <= 0 || (!k->live && !same) || !wl_ids[i] || !(w = workload(g, wl_ids[i]))) {
			k->counted = false;
			continue;
		}
		if (same)
			prev = k->at;
		w->st.launches += since(s->launches, prev.launches);
		w->st.busy_ns += since(s->busy_ns, prev.busy_ns);
		w->st.queued_ns += since(s->held_ns, prev.held_ns);
		w->st.requests += since(s->bursts, prev.bursts);
		w->st.share_permille = s->share_permille;
		w->st.level = s->role;
		w->st.slot = slots[i];
		w->gated += k->live;
		w->dirty = true;
		k->at = *s;
		k->counted = k->live;
	}
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
	/* Stopped: gates hold nothing once the shares are gone and the pid
	 * is 0; the file stays, so gated processes keep their slots. */
	if (g->board_on && restore &&
	    gpu_board_publish_levels(&g->board, g->levels, g->nr_levels, g->cgroup_root, 0, err,
				     sizeof(err)))
		log_warn("GPU launch gate: %s", err);
	if (g->board_on)
		gpu_board_close(&g->board);
	g->board_on = false;
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

static const char *role_name(uint32_t role)
{
	return role == TRIAGE_GATE_CRITICAL ? "critical" : "best-effort";
}

static struct json_object *slot_json(int i, const struct agent_gpu_gate *k)
{
	const struct triage_gate_slot *s = &k->now;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "slot", json_object_new_int(i));
	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "level", json_object_new_string(s->level));
	json_object_object_add(o, "role", json_object_new_string(role_name(s->role)));
	json_object_object_add(o, "live", json_object_new_boolean(k->live));
	json_object_object_add(o, "inflight", json_object_new_int64(s->inflight));
	json_object_object_add(o, "launches", json_object_new_uint64(s->launches));
	json_object_object_add(o, "held", json_object_new_uint64(s->held));
	json_object_object_add(o, "held_ns", json_object_new_uint64(s->held_ns));
	json_object_object_add(o, "busy_ns", json_object_new_uint64(s->busy_ns));
	json_object_object_add(o, "bursts", json_object_new_uint64(s->bursts));
	json_object_object_add(o, "burst_ns_median", json_object_new_uint64(s->burst_ns_median));
	json_object_object_add(o, "burst_ns_best", json_object_new_uint64(s->burst_ns_best));
	json_object_object_add(o, "share_permille", json_object_new_int((int)s->share_permille));
	return o;
}

/* The board and every claimed slot (dead ones too, marked so). */
static void board_json(const struct agent_gpu *g, struct json_object *o)
{
	struct json_object *b = json_object_new_object(), *gate = json_object_new_array();

	json_object_object_add(b, "path", json_object_new_string(g->board_path));
	json_object_object_add(b, "on", json_object_new_boolean(g->board_on));
	if (g->board_on) {
		json_object_object_add(b, "shared_with", json_object_new_string(g->board_shared_with));
		json_object_object_add(b, "gated", json_object_new_int(g->nr_gated));
		json_object_object_add(b, "slot_busy", json_object_new_uint64(g->slot_busy));
	} else {
		json_object_object_add(b, "why", json_object_new_string(g->board_why));
	}
	for (int i = 0; g->board_on && i < TRIAGE_GATE_MAX_SLOTS; i++)
		if (g->gate[i].now.pid > 0)
			json_object_array_add(gate, slot_json(i, &g->gate[i]));
	json_object_object_add(o, "board", b);
	json_object_object_add(o, "gate", gate);
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
		json_object_object_add(s, "gated", json_object_new_boolean(g->share[i].gated));
		json_object_array_add(shares, s);
	}
	json_object_object_add(o, "shares", shares);
	json_object_object_add(o, "shares_on", json_object_new_boolean(g->shares_on));
	json_object_object_add(o, "cuts", json_object_new_int64((int64_t)g->cuts));
	json_object_object_add(o, "relaxes", json_object_new_int64((int64_t)g->relaxes));
	board_json(g, o);
	return o;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Workload registry. A workload is a directory, not a process: users (or
 * triagectl) make <root>/<level>/<name> and put processes in it, so the
 * registry follows directories and lets the sensors attribute every task
 * by its cgroup id. On hybrid hosts a directory made in one hierarchy is
 * mirrored into the others and members are kept in step, because BPF sees
 * only the unified id while cpu and cpuset enforce through the v1 ones.
 * Sensors that know no cgroups (kmod, proc), and any sensors on a host
 * without a unified hierarchy, get every member's tgid tagged instead.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sensors/hist.h"
#include "log.h"
#include "policy/workloads.h"

void workloads_init(struct workloads *reg, const struct triage_config *cfg, const struct cg_env *env,
		    struct sensors *sensors)
{
	memset(reg, 0, sizeof(*reg));
	reg->cfg = cfg;
	reg->env = env;
	reg->sensors = sensors;
}

static void workload_free(struct workload *w)
{
	free(w->tgids);
	free(w);
}

void workloads_free(struct workloads *reg)
{
	for (int i = 0; i < reg->nr; i++)
		workload_free(reg->wl[i]);
	reg->nr = 0;
}

int workloads_level_rel(const struct triage_config *cfg, int level, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", cfg->cgroup_root, cfg->levels[level].name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int workloads_rel(const struct triage_config *cfg, int level, const char *name, char *out,
		  size_t len)
{
	int n = snprintf(out, len, "%s/%s/%s", cfg->cgroup_root, cfg->levels[level].name, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct workload *workloads_find(struct workloads *reg, int level, const char *name)
{
	for (int i = 0; i < reg->nr; i++)
		if (reg->wl[i]->level == level && !strcmp(reg->wl[i]->name, name))
			return reg->wl[i];
	return NULL;
}

/* The id must survive an agent restart so pinned counters continue, and
 * must change when the directory is made anew: the inode does both. */
static int workload_identify(const struct cg_env *env, struct workload *w)
{
	char dirs[3][PATH_MAX];
	struct stat st;
	int err;

	w->cgid = 0;
	if (env->unified[0]) {
		err = cg_id(env, w->rel, &w->cgid);
		if (err)
			return err;
		w->id = (uint32_t)w->cgid;
		return w->id ? 0 : -EINVAL;
	}
	if (cg_dirs(env, w->rel, dirs, 3) < 1 || stat(dirs[0], &st))
		return -ENOENT;
	w->id = (uint32_t)st.st_ino;
	return 0;
}

static bool tags_cgroups(const struct workloads *reg)
{
	return reg->sensors && (sensors_features(reg->sensors) & SENSORS_CAN_TAG_CGROUPS);
}

static void workload_tag(struct workloads *reg, struct workload *w)
{
	struct triage_tag tag = { .slot = (uint32_t)w->level, .wl_id = w->id };
	int err;

	if (!tags_cgroups(reg) || !w->cgid)
		return;
	err = sensors_tag_cgroup(reg->sensors, w->cgid, &tag);
	if (err)
		log_warn("%s: cannot tag cgroup id %llu: %s", w->rel, (unsigned long long)w->cgid,
			 strerror(-err));
}

static void workload_untag(struct workloads *reg, struct workload *w)
{
	if (!reg->sensors)
		return;
	if (w->cgid && tags_cgroups(reg))
		sensors_untag_cgroup(reg->sensors, w->cgid);
	for (int i = 0; i < w->nr_tgids; i++)
		sensors_untag_tgid(reg->sensors, w->tgids[i]);
	sensors_forget_workload(reg->sensors, w->id);
}

void workload_set_model(struct workloads *reg, struct workload *w, const char *model,
			double latency_ms)
{
	if (!strcmp(w->model, model) && w->latency_ms == latency_ms)
		return;
	snprintf(w->model, sizeof(w->model), "%s", model);
	w->latency_ms = latency_ms;
	reg->generation++;
}

void workload_set_rate(struct workloads *reg, struct workload *w, double rate_hz)
{
	if (w->rate_hz == rate_hz)
		return;
	w->rate_hz = rate_hz;
	reg->generation++;
}

/* The workload's directory outlives the agent, its model does not: the
 * rule that names this workload says it again. */
static void adopt_rule_model(struct workloads *reg, struct workload *w)
{
	for (int r = 0; r < reg->cfg->nr_rules; r++) {
		const struct rule_cfg *rule = &reg->cfg->rules[r];

		if (rule->model[0] && rule->level == w->level && !strcmp(rule->workload, w->name)) {
			workload_set_model(reg, w, rule->model, rule->latency_ms);
			return;
		}
	}
}

static void workload_remove(struct workloads *reg, int idx);

static int workload_add(struct workloads *reg, int level, const char *name, struct workload **out)
{
	struct workload *w;
	int err;

	if (reg->nr >= TRIAGE_MAX_WORKLOADS)
		return -ENOSPC;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->level = level;
	snprintf(w->name, sizeof(w->name), "%s", name);
	err = workloads_rel(reg->cfg, level, name, w->rel, sizeof(w->rel));
	if (!err)
		err = cg_create(reg->env, w->rel);
	if (!err)
		err = workload_identify(reg->env, w);
	if (err) {
		free(w);
		return err;
	}
	/* Live cgroups never share an id: one registered with this id is a
	 * workload whose directory went and whose inode the kernel reused.
	 * Left in place it would be charged the new one's waits. */
	for (int i = 0; i < reg->nr; i++)
		if (reg->wl[i]->id == w->id) {
			workload_remove(reg, i);
			break;
		}
	workload_tag(reg, w);
	reg->wl[reg->nr++] = w;
	reg->generation++;
	adopt_rule_model(reg, w);
	log_info("workload %s/%s (id %u)", reg->cfg->levels[level].name, name, w->id);
	if (out)
		*out = w;
	return 0;
}

static void workload_remove(struct workloads *reg, int idx)
{
	struct workload *w = reg->wl[idx];

	log_info("workload %s/%s gone", reg->cfg->levels[w->level].name, w->name);
	workload_untag(reg, w);
	/* Mirrors in the other hierarchies go too, when empty. */
	cg_remove(reg->env, w->rel);
	workload_free(w);
	reg->wl[idx] = reg->wl[--reg->nr];
	reg->generation++;
}

int workloads_ensure(struct workloads *reg, int level, const char *name, struct workload **out)
{
	struct workload *w = workloads_find(reg, level, name);

	if (w) {
		*out = w;
		return 0;
	}
	if (!config_name_valid(name))
		return -EINVAL;
	return workload_add(reg, level, name, out);
}

/* Calls fn for each subdirectory name under level, in every hierarchy; a
 * name present in several hierarchies is reported once per hierarchy. */
static void scan_level_dirs(struct workloads *reg, int level, bool *primary_seen_any,
			    int (*fn)(struct workloads *, int, const char *, bool))
{
	char rel[PATH_MAX], dirs[3][PATH_MAX];
	int nr_dirs;

	if (workloads_level_rel(reg->cfg, level, rel, sizeof(rel)))
		return;
	nr_dirs = cg_dirs(reg->env, rel, dirs, 3);
	for (int d = 0; d < nr_dirs; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *de;

		if (!dir)
			continue;
		if (d == 0)
			*primary_seen_any = true;
		while ((de = readdir(dir))) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			fn(reg, level, de->d_name, d == 0);
		}
		closedir(dir);
	}
}

static int scan_visit(struct workloads *reg, int level, const char *name, bool primary)
{
	struct workload *w = workloads_find(reg, level, name);
	int err;

	if (w) {
		if (primary)
			w->seen = true;
		return 0;
	}
	if (!config_name_valid(name)) {
		log_warn("ignoring cgroup %s/%s/%s: not a valid workload name", reg->cfg->cgroup_root,
			 reg->cfg->levels[level].name, name);
		return 0;
	}
	err = workload_add(reg, level, name, &w);
	if (err) {
		log_warn("cannot adopt workload %s/%s: %s", reg->cfg->levels[level].name, name,
			 strerror(-err));
		return err;
	}
	w->seen = true;
	return 1;
}

int workloads_scan(struct workloads *reg)
{
	int before = (int)reg->generation;

	for (int i = 0; i < reg->nr; i++)
		reg->wl[i]->seen = false;
	for (int level = 0; level < reg->cfg->nr_levels; level++) {
		bool primary_ok = false;

		scan_level_dirs(reg, level, &primary_ok, scan_visit);
		/* An unreadable level directory says nothing about its
		 * workloads: keep them rather than drop their tags. */
		if (!primary_ok)
			for (int i = 0; i < reg->nr; i++)
				if (reg->wl[i]->level == level)
					reg->wl[i]->seen = true;
	}
	for (int i = reg->nr - 1; i >= 0; i--)
		if (!reg->wl[i]->seen)
			workload_remove(reg, i);
	return (int)reg->generation - before;
}

static bool tgid_in(const pid_t *set, int n, pid_t tgid)
{
	for (int i = 0; i < n; i++)
		if (set[i] == tgid)
			return true;
	return false;
}

/* Tasks with no v2 cgroup id, or sensors that cannot use it, are tagged
 * by process. */
static bool tags_by_tgid(const struct workloads *reg)
{
	return reg->sensors && (!tags_cgroups(reg) || !reg->env->unified[0]);
}

static bool mirrors_hierarchies(const struct workloads *reg)
{
	return reg->env->mode == CG_MODE_HYBRID || reg->env->mode == CG_MODE_V1;
}

bool workloads_reconcile_each_tick(const struct workloads *reg)
{
	return tags_by_tgid(reg) || mirrors_hierarchies(reg);
}

void workloads_reconcile(struct workloads *reg)
{
	bool tag_by_tgid = tags_by_tgid(reg);
	bool mirror = mirrors_hierarchies(reg);

	for (int i = 0; i < reg->nr; i++) {
		struct workload *w = reg->wl[i];
		struct triage_tag tag = { .slot = (uint32_t)w->level, .wl_id = w->id };
		pid_t *now = NULL;
		int n = cg_list_procs(reg->env, w->rel, &now);

		if (n < 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (tgid_in(w->tgids, w->nr_tgids, now[k]))
				continue;
			/* New member: it may sit in only one hierarchy. */
			if (mirror && cg_move_process(reg->env, w->rel, now[k]) == 0)
				log_debug("%s: pid %d put into every hierarchy", w->rel, now[k]);
			if (tag_by_tgid)
				sensors_tag_tgid(reg->sensors, now[k], &tag);
		}
		if (tag_by_tgid)
			for (int k = 0; k < w->nr_tgids; k++)
				if (!tgid_in(now, n, w->tgids[k]))
					sensors_untag_tgid(reg->sensors, w->tgids[k]);
		free(w->tgids);
		w->tgids = now;
		w->nr_tgids = n;
	}
}

static void window_close(struct wl_window *win, const struct triage_wl_stats *now,
			 const struct triage_wl_stats *before, uint64_t wall_ns)
{
	__u64 hist[TRIAGE_HIST_BUCKETS];
	double wall = wall_ns ? (double)wall_ns : 1.0;
	int p99_bucket;

	hist_delta(now->wait_hist, before->wait_hist, hist);
	win->cpu_cores = now->cpu_ns >= before->cpu_ns ? (now->cpu_ns - before->cpu_ns) / wall : 0;
	win->intf_pct =
		now->intf_ns >= before->intf_ns ? 100.0 * (now->intf_ns - before->intf_ns) / wall : 0;
	/* wait_count, not the histogram's sum (equal where there is one):
	 * the proc back end counts waits without a histogram. */
	win->waits = now->wait_count >= before->wait_count ? now->wait_count - before->wait_count : 0;
	win->wait_mean_us = win->waits && now->wait_ns >= before->wait_ns
				    ? (now->wait_ns - before->wait_ns) / 1e3 / (double)win->waits
				    : 0;
	win->wait_p50_us = hist_quantile_us(hist, 0.50);
	win->wait_p99_us = hist_quantile_us(hist, 0.99);
	win->wait_p99_floor_us = 0;
	p99_bucket = hist_quantile_bucket(hist, 0.99);
	if (p99_bucket >= 0) {
		double hi;

		hist_bucket_bounds_us((unsigned)p99_bucket, &win->wait_p99_floor_us, &hi);
	}
}

void workloads_sample(struct workloads *reg, enum wl_window_kind kind, uint64_t wall_ns)
{
	for (int i = 0; i < reg->nr; i++) {
		struct workload *w = reg->wl[i];
		struct triage_wl_stats now;
		struct triage_wl_stats *last = kind == WL_WINDOW_TICK ? &w->last_tick : &w->last_status;
		bool *have = kind == WL_WINDOW_TICK ? &w->have_tick : &w->have_status;
		struct wl_window *win = kind == WL_WINDOW_TICK ? &w->tick : &w->status;

		if (!reg->sensors || sensors_read_workload(reg->sensors, w->id, &now))
			memset(&now, 0, sizeof(now));
		if (*have)
			window_close(win, &now, last, wall_ns);
		else
			memset(win, 0, sizeof(*win));
		*last = now;
		*have = true;
	}
}

double workload_severity(const struct triage_config *cfg, const struct workload *w)
{
	const struct level_cfg *l = &cfg->levels[w->level];
	double severity = 0;

	/* Judged on the lower bound of the p99's log2 bucket: a wait of 1.1 ms
	 * must not count as missing a 2 ms target because interpolation
	 * inside [1, 2) ms put it near the top. */
	if (l->wait_p99_us && w->tick.waits)
		severity = w->tick.wait_p99_floor_us / l->wait_p99_us;
	if (l->intf_pct > 0 && w->tick.intf_pct / l->intf_pct > severity)
		severity = w->tick.intf_pct / l->intf_pct;
	return severity;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What the agent tells and does on request: status and per-core stats as
 * JSON for triagectl, the compact status line, and tagging a process. All
 * figures come from the windows the event loop closes, so a request never
 * reads a sensor itself and costs the loop nothing. Every back end gives
 * the same fields; a figure its sensors cannot measure (the proc back end
 * has no wait histogram and no interference) is null, never a false 0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "quantile.h"
#include "agent.h"
#include "doctor/gpu_gate.h"
#include "fsutil.h"
#include "kmod/kmod_client.h"
#include "log.h"
#include "policy/match.h"
#include "policy/rules_scan.h"

static struct json_object *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct json_object *reply_error(const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static struct json_object *reply_ok(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static struct json_object *level_quota_json(const struct agent *a, int level)
{
	const struct protect_level_state *l = &a->protect.level[level];

	if (!a->cfg.levels[level].throttle || protect_unlimited(l))
		return NULL; /* JSON null: no limit */
	return json_object_new_double(l->limit);
}

/* What the running sensors measure; without sensors every figure is a
 * plain 0, as it always was. */
static bool sensors_have(const struct agent *a, unsigned feature)
{
	return !a->sensors || (sensors_features(a->sensors) & feature);
}

static struct json_object *double_or_null(bool known, double v)
{
	return known ? json_object_new_double(v) : NULL;
}

static struct json_object *workload_json(const struct agent *a, const struct workload *w)
{
	bool hist = sensors_have(a, SENSORS_HAS_WAIT_HIST);
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(w->name));
	json_object_object_add(o, "id", json_object_new_int64(w->id));
	json_object_object_add(o, "cgroup", json_object_new_string(w->rel));
	json_object_object_add(o, "procs", json_object_new_int(w->nr_tgids));
	json_object_object_add(o, "cpu_pct", json_object_new_double(100.0 * w->status.cpu_cores));
	json_object_object_add(o, "wait_mean_us", json_object_new_double(w->status.wait_mean_us));
	json_object_object_add(o, "wait_p50_us", double_or_null(hist, w->status.wait_p50_us));
	json_object_object_add(o, "wait_p99_us", double_or_null(hist, w->status.wait_p99_us));
	json_object_object_add(o, "waits", json_object_new_int64((int64_t)w->status.waits));
	json_object_object_add(o, "intf_pct", double_or_null(sensors_have(a, SENSORS_HAS_INTERFERENCE),
							      w->status.intf_pct));
	agent_plan_workload_json(&a->plan, &a->cfg, w, o);
	agent_clients_workload_json(a, w->id, o);
	agent_sched_workload_json(a, w, o);
	return o;
}

void cost_ring_add(struct cost_ring *r, uint64_t ns)
{
	r->ns[r->next] = ns;
	r->next = (r->next + 1) % AGENT_TICK_COSTS;
	if (r->nr < AGENT_TICK_COSTS)
		r->nr++;
	if (ns > r->max_ns)
		r->max_ns = ns;
}

/* p50, p99 of the last runs and the max since start, in microseconds. */
static struct json_object *cost_json(const struct cost_ring *r)
{
	struct json_object *o = json_object_new_object();
	double us[AGENT_TICK_COSTS];

	for (unsigned i = 0; i < r->nr; i++)
		us[i] = (double)r->ns[i] / 1e3;
	quantile_sort(us, r->nr);
	json_object_object_add(o, "runs", json_object_new_int((int)r->nr));
	json_object_object_add(o, "p50_us", json_object_new_double(quantile_sorted(us, r->nr, 0.50)));
	json_object_object_add(o, "p99_us", json_object_new_double(quantile_sorted(us, r->nr, 0.99)));
	json_object_object_add(o, "max_us", json_object_new_double((double)r->max_ns / 1e3));
	return o;
}

/* The GPU's devfreq load and clock as triage.ko reads them, beside gpud's
 * counters; where the module is not loaded or found no devfreq GPU, why. */
static void devfreq_json(const struct agent *a, struct json_object *gpu)
{
	struct json_object *d;
	struct kmod_gpu kg;
	int r = a->sched.kmod ? kmod_read_gpu(a->sched.kmod, &kg) : -ENOENT;

	if (r) {
		json_object_object_add(gpu, "devfreq", NULL);
		json_object_object_add(gpu, "devfreq_why", json_object_new_string(
			r == -ENOENT ? "triage.ko not loaded"
			: r == -ENODEV ? "triage.ko found no devfreq GPU (its gpu_nodes)" : strerror(-r)));
		return;
	}
	d = json_object_new_object();
	json_object_object_add(d, "name", json_object_new_string(kg.name));
	json_object_object_add(d, "load_permille", json_object_new_int((int)kg.load_permille));
	json_object_object_add(d, "cur_hz", json_object_new_uint64(kg.cur_hz));
	json_object_object_add(d, "min_hz", json_object_new_uint64(kg.min_hz));
	json_object_object_add(d, "max_hz", json_object_new_uint64(kg.max_hz));
	json_object_object_add(gpu, "devfreq", d);
}

static struct json_object *status_json(const struct agent *a, uint64_t now_ns)
{
	struct json_object *o = reply_ok(), *levels = json_object_new_array(), *gpu;

	json_object_object_add(o, "cgroup_mode", json_object_new_string(cg_mode_name(a->cg.mode)));
	json_object_object_add(o, "sensors", json_object_new_string(a->sensors_name));
	json_object_object_add(o, "tick_ms", json_object_new_int((int)a->cfg.tick_ms));
	json_object_object_add(o, "tick_cost", cost_json(&a->tick_cost));
	json_object_object_add(o, "tick_cpu", cost_json(&a->tick_cpu));
	json_object_object_add(o, "clients_scan_cpu", cost_json(&a->scan_cpu));
	json_object_object_add(o, "sched", agent_sched_json(a));
	gpu = doctor_gpu_json(&a->probe);
	json_object_object_add(gpu, "gpud", agent_gpu_json(&a->gpu));
	devfreq_json(a, gpu);
	json_object_object_add(o, "gpu", gpu);
	for (int i = 0; i < a->cfg.nr_levels; i++) {
		const struct level_cfg *lc = &a->cfg.levels[i];
		struct json_object *l = json_object_new_object(), *wls = json_object_new_array();

		json_object_object_add(l, "name", json_object_new_string(lc->name));
		json_object_object_add(l, "rank", json_object_new_int(lc->rank));
		json_object_object_add(l, "weight", json_object_new_int((int)lc->weight));
		json_object_object_add(l, "cpus", json_object_new_string(lc->cpus));
		json_object_object_add(l, "throttle", json_object_new_boolean(lc->throttle));
		json_object_object_add(l, "idle", json_object_new_boolean(lc->idle));
		json_object_object_add(l, "quota_cores", level_quota_json(a, i));
		json_object_object_add(l, "ceiling_cores",
				       json_object_new_double(a->protect.level[i].ceiling));
		json_object_object_add(l, "floor_cores", json_object_new_double(a->protect.level[i].floor));
		for (int k = 0; k < a->reg.nr; k++)
			if (a->reg.wl[k]->level == i)
				json_object_array_add(wls, workload_json(a, a->reg.wl[k]));
		json_object_object_add(l, "workloads", wls);
		json_object_array_add(levels, l);
	}
	json_object_object_add(o, "levels", levels);
	json_object_object_add(o, "planner", agent_plan_json(&a->plan, now_ns));
	return o;
}

static struct json_object *u64_array(const __u64 *v, int n)
{
	struct json_object *arr = json_object_new_array();

	for (int i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_uint64(v[i]));
	return arr;
}

static struct json_object *stats_json(const struct agent *a)
{
	struct json_object *o = reply_ok(), *cpus = json_object_new_array(), *slots;
	double wall = a->cpu_window_ns ? (double)a->cpu_window_ns : 1.0;

	if (!a->sensors)
		return reply_error("no sensors attached (agent runs with --sensors none)");
	json_object_object_add(o, "sensors", json_object_new_string(a->sensors_name));
	/* Without a level split every busy ns is in the untagged slot. */
	json_object_object_add(o, "level_split",
			       json_object_new_boolean(sensors_have(a, SENSORS_HAS_LEVEL_SPLIT)));
	json_object_object_add(o, "interference",
			       json_object_new_boolean(sensors_have(a, SENSORS_HAS_INTERFERENCE)));
	slots = json_object_new_array();
	for (int i = 0; i < a->cfg.nr_levels; i++)
		json_object_array_add(slots, json_object_new_string(a->cfg.levels[i].name));
	for (int i = a->cfg.nr_levels; i < TRIAGE_SLOT_UNTAGGED; i++)
		json_object_array_add(slots, json_object_new_string(""));
	json_object_array_add(slots, json_object_new_string("untagged"));
	json_object_object_add(o, "slots", slots);
	for (int c = 0; c < a->nr_cpus; c++) {
		const struct triage_cpu_stats *now = &a->cpu_now[c], *before = &a->cpu_before[c];
		struct json_object *cpu = json_object_new_object(), *busy_pct = json_object_new_array();

		json_object_object_add(cpu, "cpu", json_object_new_int(c));
		json_object_object_add(cpu, "busy_ns", u64_array(now->busy_ns, TRIAGE_NR_SLOTS));
		json_object_object_add(cpu, "wait_ns", u64_array(now->wait_ns, TRIAGE_NR_SLOTS));
		json_object_object_add(cpu, "wait_count", u64_array(now->wait_count, TRIAGE_NR_SLOTS));
		json_object_object_add(cpu, "intf_ns", u64_array(now->intf_ns, TRIAGE_NR_SLOTS));
		json_object_object_add(cpu, "intf_count", u64_array(now->intf_count, TRIAGE_NR_SLOTS));
		json_object_object_add(cpu, "idle_ns", json_object_new_uint64(now->idle_ns));
		json_object_object_add(cpu, "nr_switches", json_object_new_uint64(now->nr_switches));
		for (int s = 0; s < TRIAGE_NR_SLOTS; s++) {
			__u64 d = now->busy_ns[s] >= before->busy_ns[s] ? now->busy_ns[s] - before->busy_ns[s] : 0;

			json_object_array_add(busy_pct, json_object_new_double(100.0 * d / wall));
		}
		json_object_object_add(cpu, "busy_pct", busy_pct);
		json_object_object_add(cpu, "switches_per_s",
				       json_object_new_double(now->nr_switches >= before->nr_switches
								      ? (now->nr_switches - before->nr_switches) * 1e9 / wall
								      : 0));
		json_object_array_add(cpus, cpu);
	}
	json_object_object_add(o, "cpus", cpus);
	json_object_object_add(o, "gpu", agent_gpu_stats_json(a));
	return o;
}

static int read_comm(pid_t pid, char *out, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	return read_first_line(path, out, len);
}

static const char *level_names(const struct triage_config *cfg, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < cfg->nr_levels && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", cfg->levels[i].name);
	return buf;
}

/* The workload pid is in, from its cgroup path "/<root>/<level>/<name>". */
static struct workload *workload_of_pid(struct agent *a, pid_t pid)
{
	char path[PATH_MAX], level_name[TRIAGE_NAME_MAX], name[TRIAGE_NAME_MAX];
	const char *rest;
	struct workload *w;
	int level;

	if (cg_proc_path(pid, path, sizeof(path)) || !rules_path_in_root(path, a->cfg.cgroup_root))
		return NULL;
	rest = path + 1 + strlen(a->cfg.cgroup_root);
	if (sscanf(rest, "/%31[^/]/%31[^/]", level_name, name) != 2)
		return NULL;
	level = config_level_index(&a->cfg, level_name);
	if (level < 0 || workloads_ensure(&a->reg, level, name, &w))
		return NULL;
	return w;
}

/* The planner's fields of a tag request: "model" (a zoo name) and
 * "latency_ms" (a target), each optional. Returns an error reply or NULL. */
static struct json_object *parse_model_fields(struct agent *a, struct json_object *req,
					      const char **model, double *latency_ms)
{
	struct json_object *v;
	char err[768];

	*model = NULL;
	*latency_ms = -1;
	if (json_object_object_get_ex(req, "model", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !config_model_name_valid(json_object_get_string(v)))
			return reply_error("bad model name \"%s\": use 1..31 of [a-z0-9_.-]",
					   json_object_get_string(v));
		*model = json_object_get_string(v);
		/* Known now or never: a name the zoo lacks would turn the
		 * planner off at its next search. */
		if (a->plan.state != AGENT_PLAN_DISABLED &&
		    !agent_plan_model(&a->plan, *model, err, sizeof(err)))
			return reply_error("%s", err);
	}
	if (json_object_object_get_ex(req, "latency_ms", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		bool number = json_object_is_type(v, json_type_double) ||
			      json_object_is_type(v, json_type_int);

		if (!number || !(json_object_get_double(v) > 0 && json_object_get_double(v) <= 60000))
			return reply_error("bad latency target \"%s\": a number of milliseconds in (0, 60000]",
					   json_object_get_string(v));
		*latency_ms = json_object_get_double(v);
	}
	return NULL;
}

static void set_model(struct agent *a, struct workload *w, const char *model, double latency_ms)
{
	if (!model && latency_ms < 0)
		return;
	workload_set_model(&a->reg, w, model ? model : w->model,
			   latency_ms >= 0 ? latency_ms : w->latency_ms);
	if (w->latency_ms > 0)
		log_info("workload %s/%s: model %s, latency target %.1f ms",
			 a->cfg.levels[w->level].name, w->name, w->model, w->latency_ms);
	else
		log_info("workload %s/%s: model %s", a->cfg.levels[w->level].name, w->name,
			 w->model);
}

/* What a GPU process of the workload needs: its gate's role and level,
 * and MPS's settings for its level where a control daemon listens. */
static struct json_object *tag_gpu_json(const struct agent *a, const struct workload *w)
{
	const struct level_cfg *lc = &a->cfg.levels[w->level];
	struct json_object *o = json_object_new_object(), *mps;

	json_object_object_add(o, "role", json_object_new_string(lc->rank == 1 ? "critical"
										: "best-effort"));
	json_object_object_add(o, "level", json_object_new_string(lc->name));
	if (!mps_daemon_listens(a->cfg.mps_pipe_dir))
		return o;
	mps = json_object_new_object();
	json_object_object_add(mps, "pipe_dir", json_object_new_string(a->cfg.mps_pipe_dir));
	json_object_object_add(mps, "priority", json_object_new_int((int)lc->mps_priority));
	if (lc->mps_thread_percent)
		json_object_object_add(mps, "thread_percent",
				       json_object_new_int((int)lc->mps_thread_percent));
	json_object_object_add(o, "mps", mps);
	return o;
}

static struct json_object *tag_reply(struct agent *a, const struct workload *w)
{
	struct json_object *o = reply_ok();

	json_object_object_add(o, "level", json_object_new_string(a->cfg.levels[w->level].name));
	json_object_object_add(o, "workload", json_object_new_string(w->name));
	json_object_object_add(o, "cgroup", json_object_new_string(w->rel));
	json_object_object_add(o, "model", w->model[0] ? json_object_new_string(w->model) : NULL);
	json_object_object_add(o, "gpu", tag_gpu_json(a, w));
	return o;
}

static struct json_object *tag_process(struct agent *a, struct json_object *req, uid_t peer_uid)
{
	struct json_object *jlevel, *jname, *jpid, *bad;
	char name[TRIAGE_NAME_MAX], comm[64], names[256];
	struct workload *w;
	const char *level_name, *model;
	double latency_ms;
	bool has_level;
	int64_t pid;
	int level, err;

	if (peer_uid != 0)
		return reply_error("tagging needs root");
	bad = parse_model_fields(a, req, &model, &latency_ms);
	if (bad)
		return bad;
	has_level = json_object_object_get_ex(req, "level", &jlevel) &&
		    !json_object_is_type(jlevel, json_type_null);
	/* Without a level the request only gives the process's workload a
	 * model, so it must carry one. */
	if ((has_level && !json_object_is_type(jlevel, json_type_string)) ||
	    (!has_level && !model && latency_ms < 0))
		return reply_error("tag: \"level\" (a string) is required");
	if (!json_object_object_get_ex(req, "pid", &jpid) || !json_object_is_type(jpid, json_type_int))
		return reply_error("tag: \"pid\" (an integer) is required");
	pid = json_object_get_int64(jpid);
	if (pid <= 0 || pid > 0x7fffffff || read_comm((pid_t)pid, comm, sizeof(comm)))
		return reply_error("no such process %lld", (long long)pid);
	if (!has_level) {
		w = workload_of_pid(a, (pid_t)pid);
		if (!w)
			return reply_error("pid %lld is in no triage workload: give --level to put it in one",
					   (long long)pid);
		if (!model && !w->model[0])
			return reply_error("a latency target needs a model: give --model");
		set_model(a, w, model, latency_ms);
		return tag_reply(a, w);
	}
	level_name = json_object_get_string(jlevel);
	level = config_level_index(&a->cfg, level_name);
	if (level < 0)
		return reply_error("unknown level \"%s\" (levels: %s)", level_name,
				   level_names(&a->cfg, names, sizeof(names)));
	if (json_object_object_get_ex(req, "name", &jname) && !json_object_is_type(jname, json_type_null)) {
		if (!json_object_is_type(jname, json_type_string) ||
		    !config_name_valid(json_object_get_string(jname)))
			return reply_error("bad workload name \"%s\": use 1..15 of [a-z0-9_-]",
					   json_object_get_string(jname));
		snprintf(name, sizeof(name), "%s", json_object_get_string(jname));
	} else {
		match_workload_name(NULL, comm, name, sizeof(name));
	}
	w = workloads_find(&a->reg, level, name);
	if (!model && latency_ms >= 0 && (!w || !w->model[0]))
		return reply_error("a latency target needs a model: give --model");
	err = workloads_ensure(&a->reg, level, name, &w);
	if (err)
		return reply_error("cannot create workload %s/%s: %s", level_name, name, strerror(-err));
	err = cg_move_process(&a->cg, w->rel, (pid_t)pid);
	if (err == -ESRCH)
		return reply_error("no such process %lld", (long long)pid);
	if (err)
		return reply_error("cannot move process %lld into %s: %s", (long long)pid, w->rel,
				   strerror(-err));
	workloads_reconcile(&a->reg);
	log_info("tagged pid %lld (%s) as %s/%s", (long long)pid, comm, level_name, name);
	set_model(a, w, model, latency_ms);
	return tag_reply(a, w);
}

struct json_object *agent_handle_request(struct agent *a, struct json_object *req, uid_t peer_uid)
{
	struct json_object *jcmd;
	const char *cmd;

	if (!json_object_object_get_ex(req, "cmd", &jcmd) || !json_object_is_type(jcmd, json_type_string))
		return reply_error("request has no \"cmd\" string");
	cmd = json_object_get_string(jcmd);
	if (!strcmp(cmd, "status"))
		return status_json(a, mono_ns());
	if (!strcmp(cmd, "stats"))
		return stats_json(a);
	if (!strcmp(cmd, "tag"))
		return tag_process(a, req, peer_uid);
	return reply_error("unknown command \"%s\" (status, stats, tag)", cmd);
}

static void format_us(double us, char *out, size_t len)
{
	if (us >= 1000)
		snprintf(out, len, "%.1fms", us / 1000);
	else
		snprintf(out, len, "%.0fus", us);
}

void agent_format_status(const struct agent *a, char *out, size_t len)
{
	double worst_p99 = -1;
	size_t off = 0;

	for (int i = 0; i < a->cfg.nr_levels && off < len; i++) {
		const struct protect_level_state *l = &a->protect.level[i];
		double cores = 0;
		int n = 0;

		for (int k = 0; k < a->reg.nr; k++) {
			const struct workload *w = a->reg.wl[k];

			if (w->level != i)
				continue;
			n++;
			cores += w->status.cpu_cores;
			if (a->cfg.levels[i].wait_p99_us && w->status.waits && w->status.wait_p99_us > worst_p99)
				worst_p99 = w->status.wait_p99_us;
		}
		off += (size_t)snprintf(out + off, len - off, "%s%s %dw", i ? " | " : "",
					a->cfg.levels[i].name, n);
		if (n && off < len)
			off += (size_t)snprintf(out + off, len - off, " %.0f%%", 100 * cores);
		if (a->cfg.levels[i].throttle && !protect_unlimited(l) && off < len)
			off += (size_t)snprintf(out + off, len - off, " q%.2f", l->limit);
	}
	if (off < len) {
		char p99[32] = "-";

		if (worst_p99 >= 0)
			format_us(worst_p99, p99, sizeof(p99));
		snprintf(out + off, len - off, " | crit wait p99 %s", p99);
	}
}

int agent_apply_limit(struct agent *a, int level)
{
	const struct protect_level_state *l = &a->protect.level[level];
	char rel[PATH_MAX];
	int err;

	if (!a->quota_ok)
		return -EOPNOTSUPP;
	err = workloads_level_rel(&a->cfg, level, rel, sizeof(rel));
	if (!err)
		err = cg_set_quota(&a->cg, rel, protect_unlimited(l) ? CG_QUOTA_MAX : l->limit,
				   a->cfg.protection.period_us);
	if (err == -EOPNOTSUPP) {
		a->quota_ok = false;
		log_warn("this kernel has no CFS bandwidth control (no cpu.max): protection falls back to cpu.weight and cpuset");
	} else if (err) {
		log_warn("%s: cannot set quota: %s", rel, strerror(-err));
	}
	return err;
}

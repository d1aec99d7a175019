// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Scheduling classes in the running agent (agent_sched.h).
 *
 * What guards a real-time workload, and when:
 *  - the agent runs: the guard (agent/sched/guard.h) demotes it at the
 *    first tick whose window shows it over its budget; the agent itself
 *    runs SCHED_FIFO one priority above every level, so a runaway cannot
 *    keep it from that tick, and RLIMIT_RTTIME kills the agent itself if
 *    it ever spins (its loop blocks every tick);
 *  - on v1 with RT group scheduling, the kernel too: each real-time
 *    workload's group gets at most its budget of cpu.rt_runtime_us, which
 *    holds whether the agent runs or not;
 *  - the agent is killed with -9: triage.ko (when loaded, with
 *    SCHED_GUARD; this file holds a kmod_client of its own for it, whose
 *    socket lives as long as the agent) turns every real-time thread of
 *    the workloads back to SCHED_OTHER as the socket closes; without the
 *    module nothing
 *    guards them until the next agent starts and gives their classes back
 *    from sched.json (under systemd, the shipped unit's RestartSec=500ms
 *    plus the start-up).
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent.h"
#include "agent_sched.h"
#include "clients.h"
#include "config/config_sched.h"
#include "cpulist.h"
#include "kmod/kmod_client.h"
#include "log.h"
#include "procfs.h"

/* The agent's own RLIMIT_RTTIME while it runs real time: what its loop
 * may run without blocking (a tick's work is milliseconds). */
#define AGENT_RTTIME_SOFT_US 500000
#define AGENT_RTTIME_HARD_US 1000000

/* The level's budget_pct of its CPUs; on v1 with RT group scheduling at
 * most GUARD_RT_RUNTIME_SHARE of the group's runtime, so the guard acts
 * before the kernel throttles the group (a throttled real-time group does
 * not run at all until the next period, which no DNN should meet). */
#define GUARD_RT_RUNTIME_SHARE 0.9

static double budget_cores(const struct agent *a, const struct workload *w)
{
	double ceiling = a->protect.level[w->level].ceiling;
	double budget = a->cfg.levels[w->level].sched.budget_pct / 100.0 * ceiling;
	double rt = GUARD_RT_RUNTIME_SHARE * (double)w->rt_runtime_us / 1e6 * ceiling;

	return a->sched.rt_groups && w->rt_runtime_us > 0 && rt < budget ? rt : budget;
}

/* v1 with RT group scheduling: runtime goes from the root to triage's
 * root, split evenly between the real-time levels. */
static void hand_down_rt_runtime(struct agent *a)
{
	struct agent_sched *s = &a->sched;
	long long root_us, share;
	char rel[PATH_MAX];
	int nr_rt = 0, err;

	if (cg_get_rt_runtime(&a->cg, "", &root_us))
		return; /* every group may run real time */
	s->rt_groups = true;
	for (int i = 0; i < a->cfg.nr_levels; i++)
		nr_rt += config_sched_realtime(&a->cfg.levels[i].sched);
	err = cg_set_rt_runtime(&a->cg, a->cfg.cgroup_root, root_us);
	if (err) {
		log_warn("%s: cannot take cpu.rt_runtime_us %lld (%s): other groups hold the real-time time; real-time levels will be refused",
			 a->cfg.cgroup_root, root_us, strerror(-err));
		return;
	}
	share = root_us / (nr_rt ? nr_rt : 1);
	for (int i = 0; i < a->cfg.nr_levels; i++) {
		if (!config_sched_realtime(&a->cfg.levels[i].sched))
			continue;
		workloads_level_rel(&a->cfg, i, rel, sizeof(rel));
		err = cg_set_rt_runtime(&a->cg, rel, share);
		if (err)
			log_warn("%s: cannot set cpu.rt_runtime_us %lld: %s", rel, share, strerror(-err));
		else
			s->level_rt_us[i] = share;
	}
	log_info("real-time group scheduling (v1): %lld us of every %s go to the real-time levels",
		 root_us, "1 s");
}

static void raise_self(struct agent *a)
{
	struct rlimit rt = { AGENT_RTTIME_SOFT_US, AGENT_RTTIME_HARD_US };
	struct sched_attrs self = { .policy = SCHED_FIFO, .reset_on_fork = true,
				    .uclamp_min = -1, .uclamp_max = -1 };
	unsigned top = 0;
	int err;

	for (int i = 0; i < a->cfg.nr_levels; i++)
		if (config_sched_realtime(&a->cfg.levels[i].sched) &&
		    config_sched_priority(&a->cfg, i) > top)
			top = config_sched_priority(&a->cfg, i);
	self.priority = top < 99 ? top + 1 : 99;
	if (setrlimit(RLIMIT_RTTIME, &rt))
		log_warn("cannot set RLIMIT_RTTIME: %s", strerror(errno));
	err = sched_write(0, &self, false);
	if (err) {
		log_warn("the agent stays SCHED_OTHER (%s): a real-time runaway can delay its guard by up to the kernel's RT throttling period",
			 strerror(-err));
		return;
	}
	a->sched.self_rt = true;
	log_info("real-time levels: the agent runs SCHED_FIFO %u, above them, and dies if it ever runs %d ms without blocking",
		 self.priority, AGENT_RTTIME_HARD_US / 1000);
}

/* triage.ko's SCHED_GUARD, when it is loaded and has it. */
static void open_module_guard(struct agent *a)
{
	struct kmod_info info;
	char err[256];

	if (!kmod_module_loaded()) {
		log_info("real-time levels: triage.ko is not loaded: if the agent is killed, its workloads stay real time until the next agent starts");
		return;
	}
	a->sched.kmod = kmod_client_open(&info, err, sizeof(err));
	if (!a->sched.kmod) {
		log_warn("real-time levels: triage.ko is loaded but cannot be used (%s): if the agent is killed, its workloads stay real time until the next agent starts",
			 err);
		return;
	}
	if (!(info.features & TRIAGE_FEAT_SCHED_GUARD)) {
		log_warn("real-time levels: this triage.ko has no SCHED_GUARD: if the agent is killed, its workloads stay real time until the next agent starts");
		kmod_client_close(a->sched.kmod);
		a->sched.kmod = NULL;
		return;
	}
	log_info("real-time levels: triage.ko turns them back to SCHED_OTHER if the agent dies");
}

static bool is_guarded(const struct agent_sched *s, pid_t tgid)
{
	for (int i = 0; i < s->nr_guarded; i++)
		if (s->guarded[i] == tgid)
			return true;
	return false;
}

/* Asks the module to guard tgid, once. */
static void module_guard(struct agent *a, pid_t tgid)
{
	struct agent_sched *s = &a->sched;
	int err;

	if (!s->kmod || is_guarded(s, tgid))
		return;
	if (s->nr_guarded == s->cap_guarded) {
		int cap = s->cap_guarded ? 2 * s->cap_guarded : 16;
		pid_t *g = realloc(s->guarded, (size_t)cap * sizeof(*g));

		if (!g)
			return;
		s->guarded = g;
		s->cap_guarded = cap;
	}
	err = kmod_sched_guard(s->kmod, tgid);
	if (err && err != -ESRCH) {
		log_warn("pid %d: triage.ko's SCHED_GUARD refused (%s): it stays real time if the agent dies",
			 tgid, kmod_client_error(s->kmod));
		return;
	}
	if (!err)
		s->guarded[s->nr_guarded++] = tgid;
}

/* Guards of processes whose classes are all given back are dropped. */
static void module_unguard_gone(struct agent *a)
{
	struct agent_sched *s = &a->sched;

	for (int i = s->nr_guarded - 1; i >= 0; i--) {
		if (sched_journal_has(&s->journal, s->guarded[i]))
			continue;
		/* -ENOENT: the group exited and the module forgot it. */
		kmod_sched_unguard(s->kmod, s->guarded[i]);
		s->guarded[i] = s->guarded[--s->nr_guarded];
	}
}

int agent_sched_open(struct agent *a)
{
	struct agent_sched *s = &a->sched;
	int restored;

	for (int i = 0; i < a->cfg.nr_levels; i++) {
		s->any |= a->cfg.levels[i].sched.policy != SCHED_CFG_KEEP;
		s->any_rt |= config_sched_realtime(&a->cfg.levels[i].sched);
	}
	restored = sched_journal_open(&s->journal, a->cfg.run_dir);
	if (restored > 0)
		log_info("gave back the scheduling classes of %d threads an earlier agent had changed",
			 restored);
	if (!s->any_rt)
		return 0;
	hand_down_rt_runtime(a);
	raise_self(a);
	open_module_guard(a);
	return 0;
}

/* v1: each real-time workload's group gets an even share of its level's
 * runtime; shrinking writes go first, so the sum of the children never
 * passes the level's. */
static void share_rt_runtime(struct agent *a)
{
	int nr[TRIAGE_MAX_LEVELS] = { 0 };

	for (int k = 0; k < a->reg.nr; k++)
		if (config_sched_realtime(&a->cfg.levels[a->reg.wl[k]->level].sched))
			nr[a->reg.wl[k]->level]++;
	for (int grow = 0; grow < 2; grow++) {
		for (int k = 0; k < a->reg.nr; k++) {
			struct workload *w = a->reg.wl[k];
			const struct sched_cfg *sc = &a->cfg.levels[w->level].sched;
			long long want;
			int err;

			if (!config_sched_realtime(sc) || !a->sched.level_rt_us[w->level])
				continue;
			want = a->sched.level_rt_us[w->level] / nr[w->level];
			if (want == w->rt_runtime_us || (want > w->rt_runtime_us) != grow)
				continue;
			err = cg_set_rt_runtime(&a->cg, w->rel, want);
			if (err)
				log_warn("%s: cannot set cpu.rt_runtime_us %lld: %s", w->rel, want,
					 strerror(-err));
			else
				w->rt_runtime_us = want;
		}
	}
}

/* A client's measured inference time and request rate, once it has run
 * enough inferences for its p50 to mean something. */
#define DL_MIN_INFERENCES 8
/* The inference time must move this much before the runtime follows. */
#define DL_RETUNE 0.2

static bool covers_online_cpus(const struct agent_client *c)
{
	cpu_set_t all, set;

	if (!c->nr_assigned)
		return true; /* not planned: not narrowed */
	CPU_ZERO(&all);
	for (int k = 0; k < c->nr_assigned; k++) {
		triage_client_stage_cpus(&c->assigned[k], &set);
		CPU_OR(&all, &all, &set);
	}
	return CPU_COUNT(&all) >= cpus_online();
}

/* SCHED_DEADLINE for w when it is a client at a known rate; false: the
 * level's SCHED_FIFO fallback. */
static bool deadline_want(struct agent *a, struct workload *w, struct sched_want *want)
{
	const struct agent_client *c = agent_client_of(a, w->id);
	const struct level_cfg *l = &a->cfg.levels[w->level];
	double infer_ms;

	if (l->sched.policy != SCHED_CFG_DEADLINE || w->dl_refused || w->guard.demoted || !c ||
	    !c->have_seen || c->seen.rate_hz <= 0 || c->seen.inferences < DL_MIN_INFERENCES)
		return false;
	if (!covers_online_cpus(c)) {
		w->dl_refused = true;
		log_warn("%s/%s: its plan narrows it to fewer CPUs than the machine's, where the kernel admits no SCHED_DEADLINE thread: SCHED_FIFO %u instead",
			 l->name, w->name, config_sched_priority(&a->cfg, w->level));
		return false;
	}
	infer_ms = c->seen.latency_p50_ms > 0 ? c->seen.latency_p50_ms
					       : c->seen.busy_ns / 1e6 / (double)c->seen.inferences;
	if (sched_want_deadline(want, c->seen.rate_hz, infer_ms))
		return false;
	/* Keep what runs unless the time moved: no rewrite every tick. */
	if (w->dl_runtime_ns && w->dl_period_ns == want->a.period_ns &&
	    fabs((double)want->a.runtime_ns - (double)w->dl_runtime_ns) <
		    DL_RETUNE * (double)w->dl_runtime_ns)
		want->a.runtime_ns = w->dl_runtime_ns;
	return true;
}

static void apply_workload(struct agent *a, struct workload *w)
{
	const struct level_cfg *l = &a->cfg.levels[w->level];
	struct sched_want want;
	bool dl;
	int changed = 0;

	sched_want_of(&a->cfg, w->level, w->guard.demoted, &want);
	dl = deadline_want(a, w, &want);
	for (int k = 0; k < w->nr_tgids; k++) {
		int r = sched_apply(&a->sched.journal, w->tgids[k], &want);

		if (r == -ESRCH)
			continue;
		if (r < 0 && dl) {
			/* EBUSY: admission control; EPERM: a narrowed CPU set. */
			w->dl_refused = true;
			log_warn("%s/%s: the kernel refuses SCHED_DEADLINE %.1f ms every %.1f ms (%s): SCHED_FIFO %u instead",
				 l->name, w->name, want.a.runtime_ns / 1e6, want.a.period_ns / 1e6,
				 strerror(-r), config_sched_priority(&a->cfg, w->level));
			w->dl_runtime_ns = w->dl_period_ns = 0;
			apply_workload(a, w);
			return;
		}
		if (r < 0) {
			if (!w->sched_warned)
				log_warn("%s/%s: pid %d: cannot set %s: %s%s", l->name, w->name,
					 w->tgids[k], sched_policy_name(want.a.policy), strerror(-r),
					 r == -EPERM && a->sched.rt_groups
						 ? " (its cgroup has no cpu.rt_runtime_us)"
						 : "");
			w->sched_warned = true;
			continue;
		}
		changed += r;
		if (want.a.policy == SCHED_FIFO || want.a.policy == SCHED_RR ||
		    want.a.policy == SCHED_DEADLINE)
			module_guard(a, w->tgids[k]);
	}
	if (dl && (w->dl_runtime_ns != want.a.runtime_ns || w->dl_period_ns != want.a.period_ns)) {
		log_info("%s/%s: SCHED_DEADLINE, %.1f ms every %.1f ms (%.0f%% over its inference time)",
			 l->name, w->name, want.a.runtime_ns / 1e6, want.a.period_ns / 1e6,
			 100 * (SCHED_DL_MARGIN - 1));
		w->dl_runtime_ns = want.a.runtime_ns;
		w->dl_period_ns = want.a.period_ns;
	}
	if (changed)
		log_debug("%s/%s: %d threads to %s", l->name, w->name, changed,
			  sched_policy_name(want.a.policy));
}

static uint64_t workload_cpu_ns(const struct workload *w)
{
	static long ticks_per_s;
	uint64_t ticks = 0;

	if (!ticks_per_s)
		ticks_per_s = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	for (int k = 0; k < w->nr_tgids; k++) {
		struct proc_stat_times st;

		if (!proc_read_stat_times(w->tgids[k], 0, &st))
			ticks += st.cpu_ticks;
	}
	return ticks * (1000000000ull / (uint64_t)ticks_per_s);
}

/*
 * A demoted runaway is held to its budget twice: cpu.max, and a cpuset of
 * as many whole CPUs as the budget holds (at least one), so the levels
 * below get whole CPUs to themselves. Quota alone leaves them slivers of
 * each period, in which a DNN whose threads meet at every layer gets
 * little done (bench/cpu-peers, the runaway case).
 */
static void confine(struct agent *a, struct workload *w, double budget)
{
	char now[CONFIG_CPUS_MAX], list[CONFIG_CPUS_MAX];
	cpu_set_t set, keep;
	int n, k = (int)budget, err;

	if (k < 1)
		k = 1;
	if (cg_get_cpus(&a->cg, w->rel, now, sizeof(now)))
		return;
	n = cpulist_parse(now, strlen(now), CPU_SETSIZE, CPULIST_BLANKS, &set);
	if (n <= k)
		return;
	CPU_ZERO(&keep);
	for (int cpu = 0, kept = 0; cpu < CPU_SETSIZE && kept < k; cpu++)
		if (CPU_ISSET(cpu, &set)) {
			CPU_SET(cpu, &keep);
			kept++;
		}
	cpulist_format(&keep, list, sizeof(list));
	err = cg_set_cpus(&a->cg, w->rel, list);
	if (err) {
		log_warn("%s: cannot confine it to CPUs %s: %s", w->rel, list, strerror(-err));
		return;
	}
	snprintf(w->cpus_before_demotion, sizeof(w->cpus_before_demotion), "%s", now);
	log_info("guard: %s confined to CPUs %s (of %s) while demoted", w->rel, list, now);
}

static void unconfine(struct agent *a, struct workload *w)
{
	int err;

	if (!w->cpus_before_demotion[0])
		return;
	err = cg_set_cpus(&a->cg, w->rel, w->cpus_before_demotion);
	if (err)
		log_warn("%s: cannot give back CPUs %s: %s", w->rel, w->cpus_before_demotion,
			 strerror(-err));
	w->cpus_before_demotion[0] = '\0';
}

static void guard_workload(struct agent *a, struct workload *w, uint64_t now_ns)
{
	const struct level_cfg *l = &a->cfg.levels[w->level];
	double budget = budget_cores(a, w);
	enum guard_action act;
	int err;

	act = guard_sample(&w->guard, &a->cfg.guard, now_ns, workload_cpu_ns(w), budget);
	if (act == GUARD_NONE)
		return;
	if (act == GUARD_DEMOTE) {
		a->sched.demotions++;
		log_warn("guard: %s/%s used %.2f cores over the last %.1f s, over its budget of %.2f: demoted to SCHED_OTHER and held to %.2f cores until it stays under %.2f for %.0f s",
			 l->name, w->name, w->guard.use_cores, a->cfg.guard.window_ms / 1000.0, budget,
			 budget, GUARD_BEHAVE_RATIO * budget,
			 guard_behave_ns(&w->guard, &a->cfg.guard) / 1e9);
		/* The class first: the cgroup writes below journal to the run
		 * directory, and a file system's kernel threads get little CPU
		 * while the runaway is still real time. */
		apply_workload(a, w);
		err = cg_set_quota(&a->cg, w->rel, budget, a->cfg.protection.period_us);
		confine(a, w, budget);
		if (err && err != -EOPNOTSUPP)
			log_warn("%s: cannot set its CPU limit: %s", w->rel, strerror(-err));
		return;
	} else {
		a->sched.restores++;
		log_info("guard: %s/%s stayed within its budget: %s %u again", l->name, w->name,
			 sched_policy_name(l->sched.policy == SCHED_CFG_RR ? SCHED_RR : SCHED_FIFO),
			 config_sched_priority(&a->cfg, w->level));
		err = cg_set_quota(&a->cg, w->rel, CG_QUOTA_MAX, a->cfg.protection.period_us);
		unconfine(a, w);
	}
	if (err && err != -EOPNOTSUPP)
		log_warn("%s: cannot set its CPU limit: %s", w->rel, strerror(-err));
	apply_workload(a, w);
}

void agent_sched_workload(struct agent *a, struct workload *w)
{
	if (a->cfg.levels[w->level].sched.policy == SCHED_CFG_KEEP)
		return;
	/* A new workload's group has no real-time runtime yet (v1): the
	 * kernel refuses SCHED_FIFO there until it has its share. */
	if (a->sched.rt_groups)
		share_rt_runtime(a);
	apply_workload(a, w);
}

void agent_sched_tick(struct agent *a, uint64_t now_ns)
{
	if (!a->sched.any && !a->sched.journal.nr)
		return;
	if (a->sched.rt_groups)
		share_rt_runtime(a);
	sched_pass_begin(&a->sched.journal);
	for (int k = 0; k < a->reg.nr; k++) {
		struct workload *w = a->reg.wl[k];
		const struct sched_cfg *sc = &a->cfg.levels[w->level].sched;

		if (sc->policy == SCHED_CFG_KEEP)
			continue;
		apply_workload(a, w);
		/* A deadline thread that overruns is throttled by the kernel. */
		if (config_sched_realtime(sc) && !w->dl_runtime_ns)
			guard_workload(a, w, now_ns);
	}
	sched_pass_end(&a->sched.journal);
	if (a->sched.nr_guarded)
		module_unguard_gone(a);
}

void agent_sched_close(struct agent *a)
{
	int nr = a->sched.journal.nr, failed;

	if (!a->sched.any && !nr) {
		sched_journal_close(&a->sched.journal);
		return;
	}
	failed = sched_restore_all(&a->sched.journal);
	if (failed)
		log_warn("%d of %d threads kept the scheduling class triage gave them", failed, nr);
	else if (nr)
		log_info("scheduling classes of %d threads given back", nr);
	/* Given back already: the guards go without reverting anything. */
	if (a->sched.kmod) {
		module_unguard_gone(a);
		kmod_client_close(a->sched.kmod);
		a->sched.kmod = NULL;
	}
	free(a->sched.guarded);
	a->sched.guarded = NULL;
	a->sched.nr_guarded = a->sched.cap_guarded = 0;
	sched_journal_close(&a->sched.journal);
}

/* ---- status ---- */

/* "SCHED_FIFO 19", "SCHED_BATCH nice 5", "SCHED_IDLE", or NULL (kept). */
static void class_text(const struct agent *a, int level, bool demoted, uint64_t dl_runtime_ns,
		       uint64_t dl_period_ns, char *out, size_t len)
{
	struct sched_want want;

	sched_want_of(&a->cfg, level, demoted, &want);
	if (dl_runtime_ns) {
		snprintf(out, len, "SCHED_DEADLINE %.1f/%.1f ms", dl_runtime_ns / 1e6, dl_period_ns / 1e6);
		return;
	}
	if (want.a.policy == SCHED_FIFO || want.a.policy == SCHED_RR)
		snprintf(out, len, "%s %u", sched_policy_name(want.a.policy), want.a.priority);
	else if ((want.a.policy == SCHED_OTHER || want.a.policy == SCHED_BATCH) && !want.keep_nice)
		snprintf(out, len, "%s nice %d", sched_policy_name(want.a.policy), want.a.nice);
	else
		snprintf(out, len, "%s", sched_policy_name(want.a.policy));
}

void agent_sched_workload_json(const struct agent *a, const struct workload *w,
			       struct json_object *o)
{
	const struct sched_cfg *sc = &a->cfg.levels[w->level].sched;
	struct json_object *g;
	char text[48];

	if (sc->policy == SCHED_CFG_KEEP) {
		json_object_object_add(o, "class", NULL);
		return;
	}
	class_text(a, w->level, w->guard.demoted, w->dl_runtime_ns, w->dl_period_ns, text,
		   sizeof(text));
	json_object_object_add(o, "class", json_object_new_string(text));
	if (!config_sched_realtime(sc) || w->dl_runtime_ns)
		return;
	g = json_object_new_object();
	json_object_object_add(g, "demoted", json_object_new_boolean(w->guard.demoted));
	json_object_object_add(g, "use_cores", json_object_new_double(w->guard.use_cores));
	json_object_object_add(g, "budget_cores", json_object_new_double(budget_cores(a, w)));
	json_object_object_add(g, "demotions_in_a_row", json_object_new_int((int)w->guard.strikes));
	if (a->sched.rt_groups)
		json_object_object_add(g, "rt_runtime_us", json_object_new_int64(w->rt_runtime_us));
	json_object_object_add(o, "guard", g);
}

struct json_object *agent_sched_json(const struct agent *a)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "agent_realtime", json_object_new_boolean(a->sched.self_rt));
	json_object_object_add(o, "module_guard", json_object_new_boolean(a->sched.kmod != NULL));
	json_object_object_add(o, "guarded_by_module", json_object_new_int(a->sched.nr_guarded));
	json_object_object_add(o, "rt_group_runtime", json_object_new_boolean(a->sched.rt_groups));
	json_object_object_add(o, "threads_journaled", json_object_new_int(a->sched.journal.nr));
	json_object_object_add(o, "demotions", json_object_new_int((int)a->sched.demotions));
	json_object_object_add(o, "restores", json_object_new_int((int)a->sched.restores));
	json_object_object_add(o, "window_ms", json_object_new_int((int)a->cfg.guard.window_ms));
	json_object_object_add(o, "behave_ms", json_object_new_int((int)a->cfg.guard.behave_ms));
	return o;
}

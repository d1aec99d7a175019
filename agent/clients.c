// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Clients: DNN processes under libtriage, taken on from their shared
 * memory files and given the planner's stages (agent/clients.h).
 *
 * Every read of a client's section goes through the seqlock copy and the
 * registration checks of client/client_shm.c: the file is writable by the
 * client, so nothing in it is trusted before it is copied and checked. A
 * file is opened only when it is a regular file (no link), named after a
 * live process whose owner owns it (or root does).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpulist.h"
#include "policy/affinity.h"
#include "policy/claim.h"
#include "agent.h"
#include "agent_sched.h"
#include "clock.h"
#include "clients.h"
#include "client_shm.h"
#include "platform.h"
#include "log.h"

#include <triage/gpu.h>

/*
 * A client can shrink its file under the agent's mapping; the next access
 * would kill the agent with SIGBUS. Every pass over the clients runs
 * guarded: the handler jumps back out of the pass, the client being
 * touched is dropped and refused, and the pass starts again.
 */
static sigjmp_buf bus_env;
static volatile sig_atomic_t bus_armed;
static volatile pid_t bus_pid;				/* the client being touched */
static struct triage_client_shm *volatile bus_shm;	/* and its mapping */
static DIR *volatile bus_dir;				/* the scan's, to close */

static void on_sigbus(int sig)
{
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_env, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void touching(pid_t pid, struct triage_client_shm *shm)
{
	bus_pid = pid;
	bus_shm = shm;
}

static bool pid_alive(pid_t pid)
{
	return !(kill(pid, 0) && errno == ESRCH);
}

int agent_clients_open(struct agent *a)
{
	struct agent_clients *cl = &a->clients;
	struct sigaction sa = { .sa_handler = on_sigbus };

	if (client_shm_dir(a->cfg.run_dir, cl->dir, sizeof(cl->dir)) < 0) {
		log_warn("clients: run directory name too long: DNN clients off");
		cl->dir[0] = '\0';
		return -1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	/* Sticky and world-writable like /tmp: any user's DNN may register,
	 * none may remove another's file. */
	if ((mkdir(cl->dir, 01777) && errno != EEXIST) || chmod(cl->dir, 01777)) {
		log_warn("clients: cannot make %s: %s: DNN clients off", cl->dir, strerror(errno));
		cl->dir[0] = '\0';
		return -1;
	}
	cl->affinity = affinity_open();
	return 0;
}

static void forget(struct agent *a, int k, bool remove_file)
{
	struct agent_clients *cl = &a->clients;
	struct agent_client *c = cl->c[k];
	char path[PATH_MAX + 16];

	if (remove_file) {
		snprintf(path, sizeof(path), "%s/%d", cl->dir, (int)c->pid);
		unlink(path);
	}
	if (cl->affinity && c->nr_assigned)
		affinity_forget_process(cl->affinity, c->pid);
	client_shm_unmap(c->shm);
	free(c);
	cl->c[k] = cl->c[--cl->nr];
}

void agent_clients_close(struct agent *a)
{
	while (a->clients.nr)
		forget(a, a->clients.nr - 1, false);
	if (a->clients.affinity)
		affinity_close(a->clients.affinity);
	a->clients.affinity = NULL;
	/* Kept while it holds files: their clients go on unmanaged and the
	 * next agent takes them on. */
	if (a->clients.dir[0])
		rmdir(a->clients.dir);
}

/* The client's name as a workload name: [a-z0-9_-], 1..15 characters. */
static void workload_name_of(const char *client_name, pid_t pid, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = client_name; *p && n < 15 && n + 1 < len; p++) {
		char ch = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		out[n++] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ? ch
											     : '-';
	}
	out[n] = '\0';
	if (!config_name_valid(out))
		snprintf(out, len, "client%d", (int)pid);
}

/* Whether the file's owner may speak for pid: root, or pid's owner. */
static bool owner_matches(const struct stat *st, pid_t pid)
{
	char proc[32];
	struct stat pst;

	if (st->st_uid == 0)
		return true;
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	return !stat(proc, &pst) && pst.st_uid == st->st_uid;
}

static void refuse(struct agent *a, struct triage_client_shm *shm, pid_t pid, const char *why)
{
	if (shm) {
		client_shm_set_status(shm, TRIAGE_CLIENT_REFUSED);
		client_shm_unmap(shm);
	}
	log_warn("client pid %d refused: %s", (int)pid, why);
	pidset_add(&a->clients.refused, pid);
}

static int clients_of_user(const struct agent_clients *cl, unsigned uid)
{
	int n = 0;

	for (int k = 0; k < cl->nr; k++)
		n += cl->c[k]->uid == uid;
	return n;
}

static int take_on(struct agent *a, pid_t pid)
{
	struct agent_clients *cl = &a->clients;
	char path[PATH_MAX + 16], err[512], wname[TRIAGE_NAME_MAX];
	struct triage_client_shm *shm = NULL, copy;
	struct agent_client *c;
	struct workload *w;
	struct claimant who;
	uint32_t grant = 0;
	struct stat st;
	int asked, level, ret;

	snprintf(path, sizeof(path), "%s/%d", cl->dir, (int)pid);
	if (lstat(path, &st) || !S_ISREG(st.st_mode)) {
		refuse(a, NULL, pid, "its file is no regular file");
		return 0;
	}
	if (!pid_alive(pid)) {
		log_info("client pid %d: gone before it was taken on; removing its file", (int)pid);
		unlink(path);
		return 0;
	}
	if (!owner_matches(&st, pid)) {
		refuse(a, NULL, pid, "its file belongs to another user than the process");
		return 0;
	}
	ret = client_shm_map(path, &shm, err, sizeof(err));
	if (ret) {
		refuse(a, NULL, pid, err);
		return 0;
	}
	touching(pid, shm);
	/* Mid-write: the next scan tries again. */
	if (client_shm_read_client(shm, &copy)) {
		client_shm_unmap(shm);
		return 0;
	}
	if (client_shm_check(&copy, err, sizeof(err))) {
		refuse(a, shm, pid, err);
		return 0;
	}
	if (copy.pid != pid) {
		refuse(a, shm, pid, "the file names another pid than its own");
		return 0;
	}
	asked = config_level_index(&a->cfg, copy.level);
	if (asked < 0) {
		snprintf(err, sizeof(err), "unknown level \"%s\"", copy.level);
		refuse(a, shm, pid, err);
		return 0;
	}
	/* A file root made speaks with root's rights; any other only with
	 * those of the process, whose owner owns the file (owner_matches). */
	if (st.st_uid == 0) {
		claimant_root(&who);
	} else if ((ret = claimant_of_pid(pid, &who))) {
		snprintf(err, sizeof(err), "cannot read its credentials: %s", strerror(-ret));
		refuse(a, shm, pid, err);
		return 0;
	}
	if (who.uid != 0 && clients_of_user(cl, who.uid) >= (int)a->cfg.clients.max_per_user) {
		snprintf(err, sizeof(err), "user %u has %u clients taken on already (clients.max_per_user)",
			 who.uid, a->cfg.clients.max_per_user);
		refuse(a, shm, pid, err);
		return 0;
	}
	level = claim_grant(&a->cfg, asked, &who);
	if (level != asked) {
		grant = TRIAGE_CLIENT_LEVEL_CAPPED;
		if (copy.latency_ms > 0)
			grant |= TRIAGE_CLIENT_TARGET_IGNORED;
		log_warn("client pid %d (uid %u) asked for level %s, which the client policy does not let its user claim: taken on at %s%s",
			 (int)pid, who.uid, copy.level, a->cfg.levels[level].name,
			 copy.latency_ms > 0 ? "; its latency target drives no protection" : "");
	}
	workload_name_of(copy.name, pid, wname, sizeof(wname));
	ret = workloads_ensure(&a->reg, level, wname, &w);
	if (!ret)
		ret = cg_move_process(&a->cg, w->rel, pid);
	if (ret) {
		snprintf(err, sizeof(err), "cannot put it in %s/%s: %s", a->cfg.levels[level].name,
			 wname, strerror(-ret));
		refuse(a, shm, pid, err);
		return 0;
	}
	workloads_reconcile(&a->reg);
	/* Before MANAGED: a client that waits for it (triage_client_wait)
	 * starts in its class, and the threads it makes inherit it. */
	agent_sched_workload(a, w);
	if (a->plan.state == AGENT_PLAN_ON &&
	    !agent_plan_model(&a->plan, copy.model, err, sizeof(err))) {
		log_warn("client pid %d (%s): %s: managed without a plan", (int)pid, wname, err);
	} else {
		workload_set_model(&a->reg, w, copy.model, copy.latency_ms);
		workload_set_rate(&a->reg, w, copy.rate_hz);
	}

	c = calloc(1, sizeof(*c));
	if (!c) {
		client_shm_unmap(shm);
		return 0;
	}
	c->pid = pid;
	c->shm = shm;
	c->wl_id = w->id;
	c->level = level;
	c->asked_level = asked;
	c->uid = who.uid;
	c->grant_flags = grant;
	c->rate_hz = copy.rate_hz;
	snprintf(c->name, sizeof(c->name), "%s", wname);
	snprintf(c->model, sizeof(c->model), "%s", copy.model);
	c->seen = copy;
	c->have_seen = true;
	/* Managed from now on, with no stages until a plan maps it: the
	 * client keeps running its own way meanwhile. The grant first, so a
	 * client that sees MANAGED knows its level. */
	client_shm_write_grant(shm, a->cfg.levels[level].name, grant);
	client_shm_write_assignment(shm, NULL, 0, TRIAGE_GPU_SHARE_FULL, (int)getpid());
	c->generation = client_shm_generation(shm);
	cl->c[cl->nr++] = c;
	log_info("client pid %d taken on: %s/%s, model %s%s", (int)pid, a->cfg.levels[level].name,
		 wname, copy.model, copy.latency_ms > 0 ? ", with a latency target" : "");
	return 1;
}

static int find_pid(const struct agent_clients *cl, pid_t pid)
{
	for (int k = 0; k < cl->nr; k++)
		if (cl->c[k]->pid == pid)
			return k;
	return -1;
}

/* After a SIGBUS: the client being touched goes, for good. */
static void drop_truncated(struct agent *a)
{
	int k = find_pid(&a->clients, bus_pid);

	log_warn("client pid %d: its file shrank under the agent's mapping; dropped and refused",
		 (int)bus_pid);
	if (k >= 0)
		forget(a, k, false);
	else if (bus_shm)
		client_shm_unmap(bus_shm);
	pidset_add(&a->clients.refused, bus_pid);
	touching(0, NULL);
	if (bus_dir)
		closedir(bus_dir);
	bus_dir = NULL;
}

/* Runs pass guarded against SIGBUS; a pass cut short runs again without
 * the culprit. */
static void guarded(struct agent *a, void (*pass)(struct agent *a, void *arg), void *arg)
{
	for (volatile int tries = 0; tries <= AGENT_MAX_CLIENTS; tries++) {
		if (sigsetjmp(bus_env, 1)) {
			drop_truncated(a);
			continue;
		}
		bus_armed = 1;
		pass(a, arg);
		bus_armed = 0;
		touching(0, NULL);
		return;
	}
}

/* Refreshes c->seen from its section; mid-write it keeps the copy before.
 * A client killed mid-write leaves its section odd for good: the scan
 * drops it as gone, which is what it is. */
static void refresh(struct agent_client *c)
{
	struct triage_client_shm copy;
	char err[256];

	/* A section found mid-write costs a reader up to CLIENT_SHM_READ_TRIES
	 * copies: a client that keeps rewriting it is read ever more rarely
	 * (every 2, 4, ... AGENT_CLIENT_BACKOFF_MAX ticks), so it costs the
	 * loop a bounded amount whatever it does. */
	if (c->skip_refreshes) {
		c->skip_refreshes--;
		return;
	}
	touching(c->pid, c->shm);
	if (client_shm_read_client(c->shm, &copy)) {
		c->missed_refreshes++;
		c->skip_refreshes = c->missed_refreshes >= 6 ? AGENT_CLIENT_BACKOFF_MAX - 1
							     : (1u << c->missed_refreshes) - 1;
		if (c->skip_refreshes > AGENT_CLIENT_BACKOFF_MAX - 1)
			c->skip_refreshes = AGENT_CLIENT_BACKOFF_MAX - 1;
		return;
	}
	c->missed_refreshes = 0;
	if (client_shm_check(&copy, err, sizeof(err))) {
		if (!c->told_bad)
			log_warn("client pid %d (%s): %s: keeping what it said before", (int)c->pid,
				 c->name, err);
		c->told_bad = true;
		return;
	}
	c->told_bad = false;
	c->seen = copy;
	c->have_seen = true;
}

/* Whether the directory needs a look: it changed, a scan left files for
 * later, or the last full look is AGENT_CLIENTS_RESCAN_NS old (refused
 * clients' files go when their processes do). */
static bool scan_due(struct agent_clients *cl)
{
	uint64_t now = mono_ns();
	struct stat st;

	if (stat(cl->dir, &st))
		return false;
	if (!cl->scan_left_some && now - cl->scanned_ns < AGENT_CLIENTS_RESCAN_NS &&
	    st.st_mtim.tv_sec == cl->scanned_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == cl->scanned_mtime.tv_nsec)
		return false;
	cl->scanned_ns = now;
	cl->scanned_mtime = st.st_mtim;
	return true;
}

static void scan_pass(struct agent *a, void *arg)
{
	struct agent_clients *cl = &a->clients;
	int *changed_out = arg, changed = 0;
	unsigned budget = a->cfg.clients.max_new_per_tick;
	struct dirent *de;
	DIR *d;

	for (int k = cl->nr - 1; k >= 0; k--) {
		struct agent_client *c = cl->c[k];

		touching(c->pid, c->shm);
		if (!pid_alive(c->pid) || client_shm_writer_gone(c->shm)) {
			log_info("client pid %d (%s) exited", (int)c->pid, c->name);
			forget(a, k, true);
			changed++;
		}
	}
	*changed_out += changed;
	changed = 0;
	if (!scan_due(cl))
		return;
	d = opendir(cl->dir);
	if (!d)
		return;
	bus_dir = d;
	cl->scan_left_some = false;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || pid <= 0 || pid > 0x7fffffff)
			continue;
		if (find_pid(cl, (pid_t)pid) >= 0)
			continue;
		/* A refused client's file goes with its process, like any;
		 * the pid may then serve a new client. */
		if (pidset_has(&cl->refused, (pid_t)pid)) {
			if (!pid_alive((pid_t)pid)) {
				unlinkat(dirfd(d), de->d_name, 0);
				pidset_del(&cl->refused, (pid_t)pid);
			}
			continue;
		}
		/* What one user's flood of files can cost a tick is bounded:
		 * the rest waits for the next one. */
		if (cl->nr == AGENT_MAX_CLIENTS || budget == 0) {
			if (cl->nr == AGENT_MAX_CLIENTS && !cl->said_full)
				log_warn("clients: %d taken on already; pid %ld waits", AGENT_MAX_CLIENTS,
					 pid);
			cl->said_full = cl->nr == AGENT_MAX_CLIENTS;
			cl->scan_left_some = true;
			break;
		}
		budget--;
		/* Counted before the take-on: a SIGBUS jumps out of it. */
		(*changed_out)++;
		if (!take_on(a, (pid_t)pid))
			(*changed_out)--;
	}
	bus_dir = NULL;
	closedir(d);
}

int agent_clients_scan(struct agent *a)
{
	int changed = 0;

	if (a->clients.dir[0])
		guarded(a, scan_pass, &changed);
	return changed;
}

static void set_to_words(const cpu_set_t *set, uint64_t *words)
{
	memset(words, 0, TRIAGE_CLIENT_CPU_WORDS * sizeof(uint64_t));
	for (int cpu = 0; cpu < TRIAGE_CLIENT_CPU_WORDS * 64 && cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set))
			words[cpu / 64] |= 1ull << (cpu % 64);
}

/* A DNN of a real-time level runs whole, one stage with a thread per CPU
 * of its level, as `chrt -f` would run it, and outside the plan
 * (agent_plan_outside()): its class already puts it ahead of everything
 * else on any CPU, and a plan's pinning would only keep its threads off
 * the CPUs where they would preempt the others. */
static bool runs_whole(const struct agent *a, const struct agent_client *c)
{
	return agent_plan_outside(&a->plan, &a->cfg, c->level);
}

/* The CPUs of every CPU unit of p (this process's when none says). */
static void cpu_cpus(const struct plan_platform *p, cpu_set_t *all)
{
	CPU_ZERO(all);
	for (int u = 0; u < p->nr_units; u++) {
		cpu_set_t set;

		if (p->units[u].kind == PLAN_UNIT_CPU && !p->units[u].aggregate &&
		    platform_unit_cpus(p, u, &set) >= 0)
			CPU_OR(all, all, &set);
	}
	if (!CPU_COUNT(all))
		sched_getaffinity(0, sizeof(*all), all);
}

static int whole_stage(const struct agent *a, const struct agent_client *c,
		       struct triage_client_assign_stage *out, cpu_set_t *all)
{
	const struct level_cfg *lv = &a->cfg.levels[c->level];
	int cpus;

	if (!lv->cpus[0] || cpulist_parse(lv->cpus, strlen(lv->cpus), CPU_SETSIZE, 0, all) <= 0)
		cpu_cpus(&a->plan.platform, all);
	cpus = CPU_COUNT(all);
	memset(out, 0, sizeof(*out));
	out->first = 0;
	out->last = c->seen.nr_layers ? c->seen.nr_layers - 1 : 0;
	out->threads = (uint32_t)(cpus < TRIAGE_CLIENT_MAX_TIDS - 1 ? cpus : TRIAGE_CLIENT_MAX_TIDS - 1);
	set_to_words(all, out->cpus);
	return 1;
}

/* The plan's stages of DNN i as a client assignment; returns how many,
 * and in *expected_cores what the plan expects them to use (0: unknown). */
static int stages_of(const struct agent *a, int i, struct triage_client_assign_stage *out,
		     cpu_set_t *all, double *expected_cores)
{
	const struct plan_platform *p = &a->plan.platform;
	const struct plan_dnn_map *m = &a->plan.res.mapping.dnn[i];

	CPU_ZERO(all);
	*expected_cores = 0;
	for (int s = 0; s < m->nr_stages && s < TRIAGE_CLIENT_MAX_STAGES; s++) {
		const struct plan_stage *st = &m->stages[s];
		const struct plan_unit *u = &p->units[st->unit];
		cpu_set_t set;
		int threads;

		memset(&out[s], 0, sizeof(out[s]));
		if (u->kind == PLAN_UNIT_GPU) {
			/* On triage-gpud (the plan has GPU units only while it
			 * serves); its CPU fallback may run on any CPU of the
			 * CPU units. */
			cpu_cpus(p, &set);
			threads = 1;
			out[s].unit = TRIAGE_CLIENT_UNIT_GPU;
		} else {
			if (platform_unit_cpus(p, st->unit, &set) < 0 || !CPU_COUNT(&set))
				sched_getaffinity(0, sizeof(set), &set);
			threads = st->cores > 0 ? st->cores : CPU_COUNT(&set);
		}
		if (threads > TRIAGE_CLIENT_MAX_TIDS - 1)
			threads = TRIAGE_CLIENT_MAX_TIDS - 1;
		out[s].first = (uint32_t)st->first;
		out[s].last = (uint32_t)st->last;
		out[s].threads = (uint32_t)(threads > 0 ? threads : 1);
		set_to_words(&set, out[s].cpus);
		CPU_OR(all, all, &set);
		if (u->kind == PLAN_UNIT_CPU)
			*expected_cores += (st->share > 0 ? st->share : 1) *
					   (st->cores > 0 ? st->cores : u->cores);
	}
	return m->nr_stages;
}

static void limit_workload(struct agent *a, struct agent_client *c, const cpu_set_t *all,
			   double expected_cores)
{
	const struct level_cfg *lv = &a->cfg.levels[c->level];
	char list[sizeof(c->cpus)], rel[PATH_MAX];
	double quota;
	int err;

	if (workloads_rel(&a->cfg, c->level, c->name, rel, sizeof(rel)))
		return;
	cpulist_format(all, list, sizeof(list));
	/* A level pinned to its own CPUs keeps them; the stages then pin
	 * threads only. */
	if (!lv->cpus[0] && list[0] && strcmp(list, c->cpus)) {
		err = cg_set_cpus(&a->cg, rel, list);
		if (err)
			log_warn("client %s: cpuset %s: %s", c->name, list, strerror(-err));
		else
			log_debug("client %s: cpuset %s", c->name, list);
		snprintf(c->cpus, sizeof(c->cpus), "%s", list);
	}
	/* The top rank is never capped: it is what the others yield to. An
	 * idle level yields to everyone already; a cap there would only
	 * waste the CPU time nobody else wants. */
	if (lv->rank == 1 || lv->idle || !(expected_cores > 0) || !a->quota_ok)
		return;
	quota = expected_cores * AGENT_CLIENT_QUOTA_HEADROOM;
	if (quota < lv->floor_cores)
		quota = lv->floor_cores;
	if (fabs(quota - c->quota_cores) < 0.05)
		return;
	err = cg_set_quota(&a->cg, rel, quota, a->cfg.protection.period_us);
	if (err)
		log_warn("client %s: quota %.2f cores: %s", c->name, quota, strerror(-err));
	else
		log_debug("client %s: quota %.2f cores", c->name, quota);
	c->quota_cores = quota;
}

/* Once the client runs generation gen, each stage's threads go to its CPUs. */
static void pin_threads(struct agent_client *c)
{
	const struct triage_client_shm *s = &c->seen;

	if (!c->have_seen || s->applied_generation != c->generation ||
	    c->pinned_generation == c->generation || !c->nr_assigned)
		return;
	for (uint32_t k = 0; k < s->nr_stages && k < (uint32_t)c->nr_assigned; k++) {
		cpu_set_t set;

		triage_client_stage_cpus(&c->assigned[k], &set);
		for (uint32_t t = 0; t < s->stages[k].nr_tids && t < TRIAGE_CLIENT_MAX_TIDS; t++) {
			char task[64];
			pid_t tid = s->stages[k].tids[t];

			/* Only threads of the client itself. */
			snprintf(task, sizeof(task), "/proc/%d/task/%d", (int)c->pid, (int)tid);
			if (tid <= 0 || access(task, F_OK))
				continue;
			/* The kernel admits a SCHED_DEADLINE thread only with
			 * every CPU (a deadline level's, agent_sched.c). */
			if (sched_getscheduler(tid) == SCHED_DEADLINE)
				continue;
			if (sched_setaffinity(tid, sizeof(set), &set) && errno != ESRCH)
				log_warn("client %s: pinning thread %d: %s", c->name, (int)tid,
					 strerror(errno));
		}
	}
	c->pinned_generation = c->generation;
}

static void enforce_pass(struct agent *a, void *arg)
{
	struct agent_clients *cl = &a->clients;

	for (int k = 0; k < cl->nr; k++) {
		struct agent_client *c = cl->c[k];
		struct triage_client_assign_stage st[TRIAGE_CLIENT_MAX_STAGES];
		double expected;
		cpu_set_t all;
		int i, nr;

		refresh(c);
		i = a->plan.have_result ? agent_plan_find(&a->plan, c->wl_id) : -1;
		touching(c->pid, c->shm);
		expected = 0;
		if (runs_whole(a, c))
			nr = whole_stage(a, c, st, &all);
		else if (i >= 0)
			nr = stages_of(a, i, st, &all, &expected);
		else
			nr = -1;
		if (nr > 0) {
			if (nr != c->nr_assigned || memcmp(st, c->assigned, (size_t)nr * sizeof(st[0]))) {
				client_shm_write_assignment(c->shm, st, nr, TRIAGE_GPU_SHARE_FULL,
							    (int)getpid());
				memcpy(c->assigned, st, (size_t)nr * sizeof(st[0]));
				c->nr_assigned = nr;
				c->generation = client_shm_generation(c->shm);
				log_debug("client %s: assignment %llu, %d stage%s", c->name,
					  (unsigned long long)c->generation, nr, nr == 1 ? "" : "s");
				limit_workload(a, c, &all, expected);
				if (cl->affinity && CPU_COUNT(&all))
					affinity_set_process(cl->affinity, c->pid, &all);
			}
		}
		pin_threads(c);
	}
	(void)arg;
}

void agent_clients_enforce(struct agent *a)
{
	if (a->clients.nr)
		guarded(a, enforce_pass, NULL);
}

void agent_clients_measure(struct agent *a, uint64_t now_ns)
{
	for (int k = 0; k < a->clients.nr; k++) {
		const struct agent_client *c = a->clients.c[k];

		/* A DNN held to a request rate shows the rate, not what the
		 * mapping could give; and a measurement of another plan's
		 * stages says nothing of this one, nor does that of a DNN
		 * run whole. */
		if (!c->have_seen || c->rate_hz > 0 || !c->nr_assigned || runs_whole(a, c) ||
		    c->seen.applied_generation != c->generation || !(c->seen.throughput > 0))
			continue;
		agent_plan_measured(&a->plan, c->wl_id, c->seen.throughput, now_ns);
	}
}

double agent_clients_severity(const struct agent *a, uint32_t wl_id, double sched_severity,
			      bool *latency)
{
	const struct agent_client *c = agent_client_of(a, wl_id);
	const struct triage_client_shm *s = c ? &c->seen : NULL;
	uint64_t now, stale_ns;

	if (latency)
		*latency = false;
	if (!s || !c->have_seen || !(s->latency_ms > 0) || s->inferences < AGENT_CLIENT_LATENCY_MIN)
		return sched_severity;
	/* A target from a level its user may not claim is only reported. */
	if (c->grant_flags & TRIAGE_CLIENT_TARGET_IGNORED)
		return sched_severity;
	/* A client that stopped finishing inferences has no fresh latency:
	 * the scheduler's view is all there is. */
	now = mono_ns();
	stale_ns = (uint64_t)(1e6 * (2 * s->latency_ms > 1000 ? 2 * s->latency_ms : 1000));
	if (s->rate_hz > 0 && 3e9 / s->rate_hz > (double)stale_ns)
		stale_ns = (uint64_t)(3e9 / s->rate_hz);
	if (now - s->last_end_ns > stale_ns)
		return sched_severity;
	if (latency)
		*latency = true;
	return s->latency_p99_ms / (AGENT_CLIENT_LATENCY_GUARD * s->latency_ms);
}

const struct agent_client *agent_client_of(const struct agent *a, uint32_t wl_id)
{
	for (int k = 0; k < a->clients.nr; k++)
		if (a->clients.c[k]->wl_id == wl_id)
			return a->clients.c[k];
	return NULL;
}

void agent_clients_workload_json(const struct agent *a, uint32_t wl_id, struct json_object *o)
{
	const struct agent_client *c = agent_client_of(a, wl_id);
	struct json_object *j, *stages;

	if (!c)
		return;
	j = json_object_new_object();
	json_object_object_add(j, "pid", json_object_new_int(c->pid));
	json_object_object_add(j, "model", json_object_new_string(c->model));
	json_object_object_add(j, "uid", json_object_new_int64(c->uid));
	/* Reads in a row that found its section mid-write (each backs off). */
	json_object_object_add(j, "read_misses", json_object_new_int64(c->missed_refreshes));
	json_object_object_add(j, "asked_level",
			       json_object_new_string(a->cfg.levels[c->asked_level].name));
	json_object_object_add(j, "level_capped",
			       json_object_new_boolean(c->grant_flags & TRIAGE_CLIENT_LEVEL_CAPPED));
	json_object_object_add(j, "target_drives_protection",
			       json_object_new_boolean(c->seen.latency_ms > 0 &&
						       !(c->grant_flags & TRIAGE_CLIENT_TARGET_IGNORED)));
	json_object_object_add(j, "inferences", json_object_new_int64((int64_t)c->seen.inferences));
	json_object_object_add(j, "throughput", json_object_new_double(c->seen.throughput));
	json_object_object_add(j, "latency_p50_ms", json_object_new_double(c->seen.latency_p50_ms));
	json_object_object_add(j, "latency_p99_ms", json_object_new_double(c->seen.latency_p99_ms));
	/* One stage on every CPU of its level: a real-time class's DNN. */
	json_object_object_add(j, "runs_whole", json_object_new_boolean(runs_whole(a, c)));
	json_object_object_add(j, "generation", json_object_new_int64((int64_t)c->generation));
	json_object_object_add(j, "applied", json_object_new_boolean(c->seen.applied_generation ==
								   c->generation));
	stages = json_object_new_array();
	for (int s = 0; s < c->nr_assigned; s++) {
		struct json_object *js = json_object_new_object();
		char list[128];
		cpu_set_t set;

		triage_client_stage_cpus(&c->assigned[s], &set);
		cpulist_format(&set, list, sizeof(list));
		json_object_object_add(js, "first", json_object_new_int((int)c->assigned[s].first));
		json_object_object_add(js, "last", json_object_new_int((int)c->assigned[s].last));
		json_object_object_add(js, "threads", json_object_new_int((int)c->assigned[s].threads));
		json_object_object_add(js, "cpus", json_object_new_string(list));
		json_object_object_add(js, "unit", json_object_new_string(
			c->assigned[s].unit == TRIAGE_CLIENT_UNIT_GPU ? "gpu" : "cpu"));
		if (c->seen.applied_generation == c->generation && (uint32_t)s < c->seen.nr_stages) {
			struct json_object *tids = json_object_new_array();

			for (uint32_t t = 0; t < c->seen.stages[s].nr_tids && t < TRIAGE_CLIENT_MAX_TIDS; t++)
				json_object_array_add(tids, json_object_new_int(c->seen.stages[s].tids[t]));
			json_object_object_add(js, "tids", tids);
		}
		json_object_array_add(stages, js);
	}
	json_object_object_add(j, "stages", stages);
	json_object_object_add(o, "client", j);
}

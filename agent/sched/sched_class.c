// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Scheduling classes per thread (sched_class.h). glibc wraps neither
 * sched_setattr nor sched_getattr, and the kernel's <linux/sched/types.h>
 * clashes with <sched.h>, so the call's argument is declared here with the
 * kernel's layout (struct sched_attr, SCHED_ATTR_SIZE_VER1: 56 bytes).
 *
 * Process-global state is kept in the journal the caller owns; the agent
 * enforces from one thread.
 */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/config_sched.h"
#include "fsutil.h"
#include "log.h"
#include "procfs.h"
#include "sched/sched_class.h"

#define SCHED_FILE "sched.json"

struct kernel_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

const char *sched_policy_name(int policy)
{
	switch (policy) {
	case SCHED_OTHER: return "SCHED_OTHER";
	case SCHED_BATCH: return "SCHED_BATCH";
	case SCHED_IDLE: return "SCHED_IDLE";
	case SCHED_FIFO: return "SCHED_FIFO";
	case SCHED_RR: return "SCHED_RR";
	case SCHED_DEADLINE: return "SCHED_DEADLINE";
	}
	return "an unknown policy";
}

int sched_read(pid_t tid, struct sched_attrs *out)
{
	struct kernel_sched_attr k;

	memset(&k, 0, sizeof(k));
	if (syscall(SYS_sched_getattr, tid, &k, sizeof(k), 0))
		return -errno;
	*out = (struct sched_attrs){
		.policy = (int)k.sched_policy,
		.priority = k.sched_priority,
		.nice = k.sched_nice,
		.reset_on_fork = k.sched_flags & SCHED_FLAG_RESET_ON_FORK,
		.runtime_ns = k.sched_runtime,
		.deadline_ns = k.sched_deadline,
		.period_ns = k.sched_period,
		.uclamp_min = k.size >= sizeof(k) ? (int)k.sched_util_min : -1,
		.uclamp_max = k.size >= sizeof(k) ? (int)k.sched_util_max : -1,
	};
	return 0;
}

int sched_write(pid_t tid, const struct sched_attrs *a, bool with_uclamp)
{
	struct kernel_sched_attr k;
	bool rt = a->policy == SCHED_FIFO || a->policy == SCHED_RR;

	memset(&k, 0, sizeof(k));
	k.size = sizeof(k);
	k.sched_policy = (uint32_t)a->policy;
	k.sched_priority = rt ? a->priority : 0;
	k.sched_nice = rt ? 0 : a->nice;
	if (a->reset_on_fork)
		k.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
	if (a->policy == SCHED_DEADLINE) {
		k.sched_nice = 0;
		k.sched_runtime = a->runtime_ns;
		k.sched_deadline = a->deadline_ns;
		k.sched_period = a->period_ns;
	}
	if (with_uclamp && a->uclamp_min >= 0) {
		k.sched_flags |= SCHED_FLAG_UTIL_CLAMP_MIN;
		k.sched_util_min = (uint32_t)a->uclamp_min;
	}
	if (with_uclamp && a->uclamp_max >= 0) {
		k.sched_flags |= SCHED_FLAG_UTIL_CLAMP_MAX;
		k.sched_util_max = (uint32_t)a->uclamp_max;
	}
	if (syscall(SYS_sched_setattr, tid, &k, 0))
		return -errno;
	return 0;
}

void sched_want_of(const struct triage_config *cfg, int level, bool demoted, struct sched_want *out)
{
	const struct sched_cfg *s = &cfg->levels[level].sched;
	static const int policies[] = {
		[SCHED_CFG_OTHER] = SCHED_OTHER, [SCHED_CFG_BATCH] = SCHED_BATCH,
		[SCHED_CFG_IDLE] = SCHED_IDLE,   [SCHED_CFG_FIFO] = SCHED_FIFO,
		[SCHED_CFG_RR] = SCHED_RR,       [SCHED_CFG_DEADLINE] = SCHED_FIFO,
	};

	memset(out, 0, sizeof(*out));
	if (s->policy == SCHED_CFG_KEEP)
		return;
	out->set = true;
	out->a.uclamp_min = s->uclamp_min;
	out->a.uclamp_max = s->uclamp_max;
	if (demoted) {
		out->a.policy = SCHED_OTHER;
		return;
	}
	out->a.policy = policies[s->policy];
	if (config_sched_realtime(s))
		out->a.priority = config_sched_priority(cfg, level);
	else if (s->nice == SCHED_CFG_NICE_KEEP)
		out->keep_nice = true;
	else
		out->a.nice = s->nice;
}

int sched_want_deadline(struct sched_want *want, double rate_hz, double infer_ms)
{
	double period_ns, runtime_ns;

	if (!(rate_hz > 0) || !(infer_ms > 0) || rate_hz > 1e6)
		return -EINVAL;
	period_ns = 1e9 / rate_hz;
	runtime_ns = infer_ms * 1e6 * SCHED_DL_MARGIN;
	if (runtime_ns > SCHED_DL_MAX_SHARE * period_ns)
		runtime_ns = SCHED_DL_MAX_SHARE * period_ns;
	if (runtime_ns < 1024) /* the kernel's least runtime, 2^DL_SCALE ns */
		runtime_ns = 1024;
	want->set = true;
	want->keep_nice = false;
	want->a.policy = SCHED_DEADLINE;
	want->a.priority = 0;
	want->a.nice = 0;
	want->a.runtime_ns = (uint64_t)runtime_ns;
	want->a.deadline_ns = want->a.period_ns = (uint64_t)period_ns;
	want->a.reset_on_fork = true;
	return 0;
}

/* ---- the journal and sched.json ---- */

static struct sched_entry *find(struct sched_journal *j, pid_t tgid, pid_t tid)
{
	for (int i = 0; i < j->nr; i++)
		if (j->e[i].tgid == tgid && j->e[i].tid == tid)
			return &j->e[i];
	return NULL;
}

static struct sched_entry *add(struct sched_journal *j)
{
	if (j->nr == j->cap) {
		int cap = j->cap ? 2 * j->cap : 64;
		struct sched_entry *e = realloc(j->e, (size_t)cap * sizeof(*e));

		if (!e)
			return NULL;
		j->e = e;
		j->cap = cap;
	}
	j->dirty = true;
	return memset(&j->e[j->nr++], 0, sizeof(struct sched_entry));
}

static void drop(struct sched_journal *j, int i)
{
	j->e[i] = j->e[--j->nr];
	j->dirty = true;
}

static void save(struct sched_journal *j)
{
	struct json_object *root, *arr;
	int err = -ENOMEM;

	if (!j->dirty || !j->run_dir[0])
		return;
	root = json_object_new_object();
	arr = json_object_new_array();
	if (root && arr) {
		/* root owns arr from here; arr stays a borrowed pointer */
		json_object_object_add(root, "threads", arr);
		for (int i = 0; i < j->nr; i++) {
			const struct sched_entry *e = &j->e[i];
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "tgid", json_object_new_int(e->tgid));
			json_object_object_add(o, "tid", json_object_new_int(e->tid));
			json_object_object_add(o, "start", json_object_new_uint64(e->start_ticks));
			json_object_object_add(o, "policy", json_object_new_int(e->orig.policy));
			json_object_object_add(o, "priority", json_object_new_int((int)e->orig.priority));
			json_object_object_add(o, "nice", json_object_new_int(e->orig.nice));
			json_object_object_add(o, "reset_on_fork",
					       json_object_new_boolean(e->orig.reset_on_fork));
			json_object_object_add(o, "uclamp_min", json_object_new_int(e->orig.uclamp_min));
			json_object_object_add(o, "uclamp_max", json_object_new_int(e->orig.uclamp_max));
			if (e->orig.policy == SCHED_DEADLINE) {
				json_object_object_add(o, "runtime_ns", json_object_new_uint64(e->orig.runtime_ns));
				json_object_object_add(o, "deadline_ns", json_object_new_uint64(e->orig.deadline_ns));
				json_object_object_add(o, "period_ns", json_object_new_uint64(e->orig.period_ns));
			}
			json_object_array_add(arr, o);
		}
		err = write_file_atomic(j->run_dir, SCHED_FILE,
					json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	}
	if (!root)
		json_object_put(arr);
	json_object_put(root);
	if (err)
		log_warn("cannot save %s/%s: %s; an agent killed now would leave scheduling classes behind",
			 j->run_dir, SCHED_FILE, strerror(-err));
	else
		j->dirty = false;
}

static bool same(const struct sched_attrs *a, const struct sched_attrs *b, bool uclamp)
{
	bool rt = a->policy == SCHED_FIFO || a->policy == SCHED_RR;

	if (a->policy == SCHED_DEADLINE &&
	    (a->runtime_ns != b->runtime_ns || a->deadline_ns != b->deadline_ns ||
	     a->period_ns != b->period_ns || a->reset_on_fork != b->reset_on_fork))
		return false;
	if (a->policy != b->policy || (rt && a->priority != b->priority) ||
	    ((a->policy == SCHED_OTHER || a->policy == SCHED_BATCH) && a->nice != b->nice))
		return false;
	if (uclamp && a->uclamp_min >= 0 && a->uclamp_min != b->uclamp_min)
		return false;
	if (uclamp && a->uclamp_max >= 0 && a->uclamp_max != b->uclamp_max)
		return false;
	return true;
}

/* Puts entry i back if it is still the thread it was; forgets it. */
static int restore_entry(struct sched_journal *j, int i)
{
	struct sched_entry *e = &j->e[i];
	struct proc_stat_times st;
	struct sched_attrs cur;
	bool clamped = e->orig.uclamp_min >= 0 || e->orig.uclamp_max >= 0;
	int err = 0;

	if (proc_read_stat_times(e->tgid, e->tid, &st) == 0 && st.start_ticks == e->start_ticks &&
	    sched_read(e->tid, &cur) == 0 && !same(&e->orig, &cur, clamped && j->uclamp_ok)) {
		err = sched_write(e->tid, &e->orig, clamped && j->uclamp_ok);
		if (err == -ESRCH)
			err = 0;
		else if (err)
			log_warn("pid %d thread %d: cannot give back %s: %s", e->tgid, e->tid,
				 sched_policy_name(e->orig.policy), strerror(-err));
		else
			err = 1;
	}
	drop(j, i);
	return err;
}

static int load(struct sched_journal *j)
{
	char path[PATH_MAX + 16];
	struct json_object *root, *arr;
	int restored = 0;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", j->run_dir, SCHED_FILE);
	if (access(path, F_OK))
		return 0;
	root = json_object_from_file(path);
	if (!root || !json_object_object_get_ex(root, "threads", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(root);
		log_warn("%s is unreadable: scheduling classes an earlier agent set may stay", path);
		return -1;
	}
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;
		struct sched_entry *e = add(j);

		if (!e)
			break;
#define GET_INT(key, dst)                                              \
	do {                                                           \
		if (json_object_object_get_ex(o, key, &v))             \
			dst = json_object_get_int(v);                  \
	} while (0)
		GET_INT("tgid", e->tgid);
		GET_INT("tid", e->tid);
		GET_INT("policy", e->orig.policy);
		GET_INT("priority", e->orig.priority);
		GET_INT("nice", e->orig.nice);
		GET_INT("uclamp_min", e->orig.uclamp_min);
		GET_INT("uclamp_max", e->orig.uclamp_max);
#undef GET_INT
		if (json_object_object_get_ex(o, "start", &v))
			e->start_ticks = json_object_get_uint64(v);
		if (json_object_object_get_ex(o, "runtime_ns", &v))
			e->orig.runtime_ns = json_object_get_uint64(v);
		if (json_object_object_get_ex(o, "deadline_ns", &v))
			e->orig.deadline_ns = json_object_get_uint64(v);
		if (json_object_object_get_ex(o, "period_ns", &v))
			e->orig.period_ns = json_object_get_uint64(v);
		if (json_object_object_get_ex(o, "reset_on_fork", &v))
			e->orig.reset_on_fork = json_object_get_boolean(v);
		if (e->tgid <= 0 || e->tid <= 0)
			j->nr--;
	}
	json_object_put(root);
	while (j->nr) {
		int r = restore_entry(j, j->nr - 1);

		restored += r > 0;
	}
	j->dirty = true;
	save(j);
	return restored;
}

int sched_journal_open(struct sched_journal *j, const char *run_dir)
{
	memset(j, 0, sizeof(*j));
	j->uclamp_ok = true;
	snprintf(j->run_dir, sizeof(j->run_dir), "%s", run_dir ? run_dir : "");
	return j->run_dir[0] ? load(j) : 0;
}

void sched_journal_close(struct sched_journal *j)
{
	free(j->e);
	j->e = NULL;
	j->nr = j->cap = 0;
}

bool sched_journal_has(const struct sched_journal *j, pid_t tgid)
{
	for (int i = 0; i < j->nr; i++)
		if (j->e[i].tgid == tgid)
			return true;
	return false;
}

void sched_pass_begin(struct sched_journal *j)
{
	for (int i = 0; i < j->nr; i++)
		j->e[i].seen = false;
}

struct apply_ctx {
	struct sched_journal *j;
	pid_t tgid;
	const struct sched_want *want;
	int changed, err;
	bool journal_only;
};

static void want_for(const struct sched_want *want, const struct sched_attrs *cur,
		     struct sched_attrs *a)
{
	*a = want->a;
	if (want->keep_nice)
		a->nice = cur->nice;
	if (a->policy != SCHED_DEADLINE)
		a->reset_on_fork = cur->reset_on_fork;
}

/* First pass: journal every thread not yet known. */
static int journal_thread(pid_t tid, void *arg)
{
	struct apply_ctx *c = arg;
	struct sched_entry *e = find(c->j, c->tgid, tid), *main_thread;
	struct proc_stat_times st;
	struct sched_attrs cur, a;

	if (e) {
		e->seen = true;
		return 0;
	}
	if (sched_read(tid, &cur) || proc_read_stat_times(c->tgid, tid, &st))
		return 0; /* it exited meanwhile */
	e = add(c->j);
	if (!e)
		return -ENOMEM;
	e->tgid = c->tgid;
	e->tid = tid;
	e->start_ticks = st.start_ticks;
	e->seen = true;
	e->orig = cur;
	want_for(c->want, &cur, &a);
	/* Born of a thread triage had set: its class is inherited, and the
	 * one to give back is its process's. */
	main_thread = find(c->j, c->tgid, c->tgid);
	if (main_thread && main_thread != e && same(&a, &cur, c->j->uclamp_ok))
		e->orig = main_thread->orig;
	if (!(c->want->a.uclamp_min >= 0 || c->want->a.uclamp_max >= 0) || !c->j->uclamp_ok)
		e->orig.uclamp_min = e->orig.uclamp_max = -1;
	return 0;
}

static int apply_thread(pid_t tid, void *arg)
{
	struct apply_ctx *c = arg;
	struct sched_attrs cur, a;
	bool clamps = c->want->a.uclamp_min >= 0 || c->want->a.uclamp_max >= 0;
	int err;

	if (!find(c->j, c->tgid, tid) || sched_read(tid, &cur))
		return 0; /* born after the journal pass: the next tick's */
	want_for(c->want, &cur, &a);
	if (same(&a, &cur, clamps && c->j->uclamp_ok))
		return 0;
	err = sched_write(tid, &a, clamps && c->j->uclamp_ok);
	if (err == -EOPNOTSUPP && clamps && c->j->uclamp_ok) {
		c->j->uclamp_ok = false;
		log_warn("this kernel has no utilization clamps (CONFIG_UCLAMP_TASK): uclamp_min and uclamp_max are ignored");
		err = sched_write(tid, &a, false);
	}
	if (err == -ESRCH)
		return 0;
	if (err) {
		if (!c->err)
			c->err = err;
		return 0;
	}
	c->changed++;
	return 0;
}

int sched_apply(struct sched_journal *j, pid_t tgid, const struct sched_want *want)
{
	struct apply_ctx c = { .j = j, .tgid = tgid, .want = want };
	int n;

	n = proc_each_thread(tgid, journal_thread, &c);
	if (n < 0)
		return n;
	save(j); /* before the change it protects */
	n = proc_each_thread(tgid, apply_thread, &c);
	if (n < 0)
		return n;
	return c.err ? c.err : c.changed;
}

int sched_pass_end(struct sched_journal *j)
{
	int restored = 0;

	for (int i = j->nr - 1; i >= 0; i--)
		if (!j->e[i].seen)
			restored += restore_entry(j, i) > 0;
	save(j);
	return restored;
}

int sched_restore_all(struct sched_journal *j)
{
	int failed = 0;

	while (j->nr)
		failed += restore_entry(j, j->nr - 1) < 0;
	j->dirty = true;
	save(j);
	if (j->run_dir[0] && !failed) {
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/%s", j->run_dir, SCHED_FILE);
		unlink(path);
	}
	return failed;
}

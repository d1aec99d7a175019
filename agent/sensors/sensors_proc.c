// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * proc back end of agent/sensors/sensors.h, for a kernel with neither BPF nor
 * triage.ko: what procfs already counts, read when asked.
 *
 * - Per CPU, from /proc/stat: busy time, all of it in the untagged slot
 *   (procfs cannot tell whose it was), and idle time; from /proc/schedstat
 *   where the kernel has it: runqueue wait, waits and switches, also in
 *   the untagged slot.
 * - Per workload, summed over its tagged processes' threads from
 *   /proc/PID/task/TID/schedstat: CPU time, runqueue wait and waits; from
 *   their status files: voluntary and involuntary switches, read at most
 *   once a second because status is the costlier file and no decision of
 *   the agent uses them.
 * - No interference, no per-level CPU split, no wait histogram.
 *
 * procfs gives each thread's totals since it started; the counters here
 * are cumulative since the process was tagged, like the other back ends':
 * the first sample of a process is its baseline, later ones add each
 * thread's growth (proc_account), so a thread's exit never makes a
 * counter go back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "sensors/proc_parse.h"
#include "sensors/sensors_impl.h"

#define SWITCHES_INTERVAL_NS 1000000000ull
#define ROOT_MAX 256 /* procfs mount path; paths below it get room for pid, tid, name */
#define TASK_DIR_MAX (ROOT_MAX + 32)
#define FILE_PATH_MAX (TASK_DIR_MAX + 32)

/* A tagged process and its threads at the last sample. */
struct proc_process {
	pid_t tgid;
	struct triage_tag tag;
	struct proc_task_sample *tasks;
	int nr_tasks;
	uint64_t switches_read_ns; /* when its status files were last read */
	bool gone; /* exited: never sampled again, its pid may be reused */
};

struct proc_workload {
	uint32_t wl_id;
	struct triage_wl_stats acc;
};

struct proc_sensors {
	struct sensors base;
	char root[ROOT_MAX];
	long ticks_per_s;
	bool have_schedstat; /* /proc/schedstat: per-CPU waits */
	struct proc_process *procs;
	int nr_procs, cap_procs;
	struct proc_workload *wls;
	int nr_wls, cap_wls;
	char *buf; /* whole-file reads of /proc/stat and /proc/schedstat */
	size_t buf_len;
};

static const struct sensors_ops proc_ops;

static struct proc_sensors *to_proc(struct sensors *s)
{
	return sensors_container_of(s, struct proc_sensors, base);
}

/* Grows *arr of elem-sized items to hold one more. */
static int grow(void **arr, int nr, int *cap, size_t elem)
{
	void *more;
	int new_cap;

	if (nr < *cap)
		return 0;
	new_cap = *cap ? 2 * *cap : 16;
	more = realloc(*arr, elem * (size_t)new_cap);
	if (!more)
		return -ENOMEM;
	*arr = more;
	*cap = new_cap;
	return 0;
}

/* Reads a whole procfs file into s->buf, growing it: /proc/schedstat of a
 * large machine is well over a page. */
static int read_whole(struct proc_sensors *s, const char *name)
{
	char path[FILE_PATH_MAX];
	size_t used = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->root, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (s->buf_len - used < 4096) {
			char *more = realloc(s->buf, s->buf_len ? 2 * s->buf_len : 65536);

			if (!more) {
				close(fd);
				return -ENOMEM;
			}
			s->buf = more;
			s->buf_len = s->buf_len ? 2 * s->buf_len : 65536;
		}
		n = read(fd, s->buf + used, s->buf_len - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	s->buf[used] = '\0';
	return 0;
}

/* One thread's files; -ESRCH when it has gone. */
static int sample_task(const char *task_dir, pid_t tid, bool with_switches,
		       struct proc_task_sample *out)
{
	char path[FILE_PATH_MAX], text[2048];

	memset(out, 0, sizeof(*out));
	out->tid = tid;
	snprintf(path, sizeof(path), "%s/%d/schedstat", task_dir, tid);
	if (read_text(path, text, sizeof(text)) || proc_parse_task_schedstat(text, out))
		return -ESRCH;
	if (!with_switches)
		return 0;
	snprintf(path, sizeof(path), "%s/%d/status", task_dir, tid);
	out->have_switches = !read_text(path, text, sizeof(text)) &&
			     !proc_parse_ctxt_switches(text, &out->nvcsw, &out->nivcsw);
	return 0;
}

/* Every thread of tgid now, sorted by tid; -ESRCH when the process has gone. */
static int sample_process(struct proc_sensors *s, pid_t tgid, bool with_switches,
			  struct proc_task_sample **out, int *nr_out)
{
	struct proc_task_sample *tasks = NULL;
	char task_dir[TASK_DIR_MAX];
	struct dirent *de;
	int nr = 0, cap = 0, err = 0;
	DIR *dir;

	snprintf(task_dir, sizeof(task_dir), "%s/%d/task", s->root, tgid);
	dir = opendir(task_dir);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(dir))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0)
			continue;
		err = grow((void **)&tasks, nr, &cap, sizeof(*tasks));
		if (err)
			break;
		if (!sample_task(task_dir, (pid_t)tid, with_switches, &tasks[nr]))
			nr++;
	}
	closedir(dir);
	if (err) {
		free(tasks);
		return err;
	}
	proc_sort_samples(tasks, nr);
	*out = tasks;
	*nr_out = nr;
	return 0;
}

static struct proc_process *find_process(struct proc_sensors *s, pid_t tgid)
{
	for (int i = 0; i < s->nr_procs; i++)
		if (s->procs[i].tgid == tgid)
			return &s->procs[i];
	return NULL;
}

static struct proc_workload *find_workload(struct proc_sensors *s, uint32_t wl_id)
{
	for (int i = 0; i < s->nr_wls; i++)
		if (s->wls[i].wl_id == wl_id)
			return &s->wls[i];
	return NULL;
}

static struct proc_workload *ensure_workload(struct proc_sensors *s, uint32_t wl_id)
{
	struct proc_workload *w = find_workload(s, wl_id);

	if (w)
		return w;
	if (grow((void **)&s->wls, s->nr_wls, &s->cap_wls, sizeof(*s->wls)))
		return NULL;
	w = &s->wls[s->nr_wls++];
	memset(w, 0, sizeof(*w));
	w->wl_id = wl_id;
	return w;
}

/* Adds what p's threads did since its last sample to acc. */
static void refresh_process(struct proc_sensors *s, struct proc_process *p,
			    struct triage_wl_stats *acc)
{
	uint64_t now = mono_ns();
	bool with_switches = now - p->switches_read_ns >= SWITCHES_INTERVAL_NS;
	struct proc_task_sample *tasks;
	int nr, err;

	if (p->gone)
		return;
	err = sample_process(s, p->tgid, with_switches, &tasks, &nr);
	if (err == -ESRCH) {
		/* The agent untags it at its next reconcile. */
		p->gone = true;
		return;
	}
	if (err)
		return;
	if (with_switches)
		p->switches_read_ns = now;
	proc_account(p->tasks, p->nr_tasks, tasks, nr, acc);
	free(p->tasks);
	p->tasks = tasks;
	p->nr_tasks = nr;
}

static int proc_tag_tgid(struct sensors *base, pid_t tgid, const struct triage_tag *tag)
{
	struct proc_sensors *s = to_proc(base);
	struct proc_process *p = find_process(s, tgid);
	struct proc_task_sample *tasks;
	int nr, err;

	if (p && p->tag.wl_id == tag->wl_id) {
		p->tag.slot = tag->slot;
		return 0;
	}
	if (!ensure_workload(s, tag->wl_id))
		return -ENOMEM;
	/* The baseline: what the process did before it was tagged is not
	 * the workload's. */
	err = sample_process(s, tgid, true, &tasks, &nr);
	if (err)
		return err;
	if (!p) {
		err = grow((void **)&s->procs, s->nr_procs, &s->cap_procs, sizeof(*s->procs));
		if (err) {
			free(tasks);
			return err;
		}
		p = &s->procs[s->nr_procs++];
		memset(p, 0, sizeof(*p));
		p->tgid = tgid;
	}
	free(p->tasks);
	p->tag = *tag;
	p->gone = false;
	p->tasks = tasks;
	p->nr_tasks = nr;
	p->switches_read_ns = mono_ns();
	return 0;
}

static void remove_process(struct proc_sensors *s, int idx)
{
	free(s->procs[idx].tasks);
	s->procs[idx] = s->procs[--s->nr_procs];
}

static int proc_untag_tgid(struct sensors *base, pid_t tgid)
{
	struct proc_sensors *s = to_proc(base);
	struct proc_process *p = find_process(s, tgid);

	if (!p)
		return -ENOENT;
	remove_process(s, (int)(p - s->procs));
	return 0;
}

static int proc_read_cpus(struct sensors *base, struct triage_cpu_stats *out, int nr_cpus)
{
	struct proc_sensors *s = to_proc(base);
	int err;

	memset(out, 0, sizeof(*out) * (size_t)nr_cpus);
	err = read_whole(s, "stat");
	if (!err && proc_parse_stat(s->buf, s->ticks_per_s, out, nr_cpus) < 0)
		err = -EINVAL;
	if (err)
		return err;
	/* Losing /proc/schedstat later costs waits, not the CPU figures. */
	if (s->have_schedstat && !read_whole(s, "schedstat"))
		proc_parse_schedstat(s->buf, out, nr_cpus);
	return 0;
}

static int proc_read_workload(struct sensors *base, uint32_t wl_id, struct triage_wl_stats *out)
{
	struct proc_sensors *s = to_proc(base);
	struct proc_workload *w = find_workload(s, wl_id);

	if (!w)
		return -ENOENT;
	for (int i = 0; i < s->nr_procs; i++) {
		struct proc_process *p = &s->procs[i];

		if (p->tag.wl_id != wl_id)
			continue;
		refresh_process(s, p, &w->acc);
		w->acc.slot = p->tag.slot;
	}
	*out = w->acc;
	return 0;
}

static int proc_forget_workload(struct sensors *base, uint32_t wl_id)
{
	struct proc_sensors *s = to_proc(base);
	struct proc_workload *w = find_workload(s, wl_id);

	if (!w)
		return -ENOENT;
	*w = s->wls[--s->nr_wls];
	return 0;
}

static int proc_prune(struct sensors *base, bool (*keep)(uint32_t wl_id, void *ctx), void *ctx)
{
	struct proc_sensors *s = to_proc(base);
	int removed = 0;

	for (int i = s->nr_procs - 1; i >= 0; i--) {
		if (keep(s->procs[i].tag.wl_id, ctx))
			continue;
		remove_process(s, i);
		removed++;
	}
	for (int i = s->nr_wls - 1; i >= 0; i--) {
		if (keep(s->wls[i].wl_id, ctx))
			continue;
		s->wls[i] = s->wls[--s->nr_wls];
		removed++;
	}
	return removed;
}

static void proc_close(struct sensors *base)
{
	struct proc_sensors *s = to_proc(base);

	for (int i = 0; i < s->nr_procs; i++)
		free(s->procs[i].tasks);
	free(s->procs);
	free(s->wls);
	free(s->buf);
	free(s);
}

int sensors_proc_probe(const char *proc_root, char *err, size_t errlen)
{
	struct proc_task_sample self;
	char path[FILE_PATH_MAX], text[256];
	int rc;

	if (!proc_root)
		proc_root = "/proc";
	if (strlen(proc_root) >= ROOT_MAX) {
		snprintf(err, errlen, "procfs path too long: %s", proc_root);
		return -ENAMETOOLONG;
	}
	snprintf(path, sizeof(path), "%s/stat", proc_root);
	rc = read_text(path, text, sizeof(text));
	if (rc) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/self/schedstat", proc_root);
	rc = read_text(path, text, sizeof(text));
	if (rc) {
		snprintf(err, errlen, "no %s (kernel without CONFIG_SCHED_INFO): no per-process CPU time or wait",
			 path);
		return rc;
	}
	/* A kernel with scheduler statistics off prints zeros. So does one
	 * whose clock for this task was not brought up to date yet: the
	 * running task's CPU time is folded in when it leaves the CPU, and a
	 * process started less than a tick ago may never have. A short sleep
	 * makes it leave once. */
	for (int tries = 0; tries < 3 && !proc_parse_task_schedstat(text, &self) && !self.cpu_ns;
	     tries++) {
		usleep(2000);
		if (read_text(path, text, sizeof(text)))
			break;
	}
	if (proc_parse_task_schedstat(text, &self) || !self.cpu_ns) {
		snprintf(err, errlen, "%s reads zero: the kernel keeps no scheduler statistics", path);
		return -EOPNOTSUPP;
	}
	return 0;
}

struct sensors *sensors_open_proc(const struct sensors_opts *opts, char *err, size_t errlen)
{
	const char *root = opts->proc_root ? opts->proc_root : "/proc";
	struct proc_sensors *s;
	int rc, possible;

	rc = sensors_proc_probe(root, err, errlen);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	snprintf(s->root, sizeof(s->root), "%s", root);
	s->ticks_per_s = sysconf(_SC_CLK_TCK);
	rc = read_whole(s, "stat");
	if (!rc)
		rc = proc_parse_stat(s->buf, s->ticks_per_s, NULL, 0);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read CPUs from %s/stat: %s", root, strerror(-rc));
		proc_close(&s->base);
		errno = -rc;
		return NULL;
	}
	/* Offline CPUs have no line: count the possible ones too. */
	possible = libbpf_num_possible_cpus();
	s->base.nr_cpus = possible > rc ? possible : rc;
	s->have_schedstat = !read_whole(s, "schedstat") && proc_parse_schedstat(s->buf, NULL, 0) >= 0;
	s->base.ops = &proc_ops;
	log_warn("sensors: /proc only (degraded): " SENSORS_PROC_LIMITS
		 ", so no wait p99 and no protection cuts; per-workload CPU and mean wait from %s/PID/task/*/schedstat%s",
		 root, s->have_schedstat ? "" : ", no per-CPU waits (no /proc/schedstat)");
	return &s->base;
}

static const struct sensors_ops proc_ops = {
	.kind = SENSORS_PROC,
	.features = 0,
	.close = proc_close,
	.tag_tgid = proc_tag_tgid,
	.untag_tgid = proc_untag_tgid,
	.read_cpus = proc_read_cpus,
	.read_workload = proc_read_workload,
	.forget_workload = proc_forget_workload,
	.prune = proc_prune,
};

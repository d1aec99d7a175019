/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Enforcement through cgroups, one interface over two back ends:
 *  - v2: one unified hierarchy with the cpu and cpuset controllers;
 *  - v1 / hybrid: the cpu and cpuset v1 hierarchies, plus the unified
 *    hierarchy when it is mounted (it carries no controller there, but tasks
 *    are put into it too so BPF sees their v2 cgroup id).
 * A triage cgroup has the same relative path ("triage/critical/detector")
 * in every hierarchy used. No other controller is ever touched.
 *
 * Every knob write goes through a journal that remembers the value found
 * before triage first wrote it; cg_restore_all() writes them back. The
 * journal is persisted (state.json in the run directory) so an agent that
 * follows one killed with -9 still restores what the first one changed.
 */
#ifndef TRIAGE_CGROUP_H
#define TRIAGE_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_mode {
	CG_MODE_NONE,   /* no usable cgroup mount */
	CG_MODE_V2,     /* unified only */
	CG_MODE_HYBRID, /* v1 controllers + an unified mount */
	CG_MODE_V1,     /* v1 only */
};

enum cg_knob {
	CG_KNOB_WEIGHT, /* v2 cpu.weight; v1 cpu.shares (weight * 1024 / 100) */
	CG_KNOB_QUOTA,  /* v2 cpu.max; v1 cpu.cfs_quota_us + cpu.cfs_period_us */
	CG_KNOB_CPUS,   /* cpuset.cpus (v1: also cpuset.mems copied from the parent) */
};

struct cg_env {
	enum cg_mode mode;
	char unified[PATH_MAX]; /* mount of the unified hierarchy, "" if none */
	char cpu[PATH_MAX];     /* hierarchy with the cpu controller ("" if none) */
	char cpuset[PATH_MAX];  /* hierarchy with cpuset ("" if none) */
	bool cfs_bandwidth;     /* quota knob exists (CONFIG_CFS_BANDWIDTH) */
	char run_dir[PATH_MAX]; /* where state.json lives; "" = not persisted */
};

/* Knob journal entry: file path (absolute) and its value before triage. */
struct cg_saved {
	char path[PATH_MAX];
	char value[256];
};

/* Created-by-triage record: relative path, removed on exit when empty. */
struct cg_created {
	char rel[PATH_MAX];
};

/*
 * Finds the hierarchies from a mountinfo text (NULL = /proc/self/mountinfo)
 * and probes the knobs. Returns 0, or -1 with a message in err.
 */
int cg_probe(struct cg_env *env, const char *mountinfo_path, char *err, size_t errlen);

const char *cg_mode_name(enum cg_mode mode);

/* Loads state.json from env->run_dir if present (adopting a journal left by
 * an earlier agent). Returns 0 also when there is none. */
int cg_journal_load(const struct cg_env *env);

/* Forgets the in-memory journal without restoring anything or touching
 * state.json: what a fresh agent starts from. For tests that play an agent
 * restart inside one process, and after a fork that must not restore. */
void cg_journal_reset(void);

/* mkdir rel in every hierarchy used (parents must exist), enabling the
 * controllers in the parent (v2 cgroup.subtree_control, v1 cpuset
 * cpus/mems inherited). Existing directories are fine. Records what it
 * created. Returns 0 or -errno. */
int cg_create(const struct cg_env *env, const char *rel);

/* rmdir rel in every hierarchy, only if empty; -EBUSY if it holds tasks. */
int cg_remove(const struct cg_env *env, const char *rel);

bool cg_exists(const struct cg_env *env, const char *rel);

/* Moves a whole process (every thread) into rel, in every hierarchy used.
 * -ESRCH if it does not exist. */
int cg_move_process(const struct cg_env *env, const char *rel, pid_t tgid);

/* Writes a knob of rel through the journal. For CG_KNOB_QUOTA, value is a
 * string "<cores>" as a decimal or "max"; the back end turns it into
 * "<quota_us> <period_us>" (v2) or the two v1 files. -EOPNOTSUPP when the
 * knob does not exist on this kernel. */
int cg_set_weight(const struct cg_env *env, const char *rel, unsigned weight);
int cg_set_quota(const struct cg_env *env, const char *rel, double cores, unsigned period_us);
int cg_set_cpus(const struct cg_env *env, const char *rel, const char *cpus);
/* The CPUs rel may run on now (v2: cpuset.cpus.effective), as a list. */
int cg_get_cpus(const struct cg_env *env, const char *rel, char *out, size_t len);
/* cpu.idle (v1 and v2, Linux 5.15+): an idle group is preempted as soon as
 * a task outside it wakes. -EOPNOTSUPP on older kernels. */
int cg_set_idle(const struct cg_env *env, const char *rel, bool idle);
#define CG_QUOTA_MAX (-1.0) /* cores value meaning "no limit" */

/* cpu.rt_runtime_us (v1, kernels with RT_GROUP_SCHED): the real-time time
 * a group's tasks may use per cpu.rt_period_us. A task can be made
 * SCHED_FIFO or SCHED_RR only in a group with runtime, and a group's
 * children together may not have more than it. -EOPNOTSUPP on v2 and
 * where the file does not exist (then every group may run real time).
 * cg_get_rt_runtime with rel "" reads the hierarchy's root. */
int cg_set_rt_runtime(const struct cg_env *env, const char *rel, long long runtime_us);
int cg_get_rt_runtime(const struct cg_env *env, const char *rel, long long *runtime_us);

/* Current quota of rel in cores, CG_QUOTA_MAX if unlimited. */
int cg_get_quota(const struct cg_env *env, const char *rel, double *cores);

/* Restores every journaled knob (newest first), removes the cgroups triage
 * created that are empty (deepest first), clears state.json. Returns the
 * number of knobs or cgroups it could not restore (0 = all done). */
int cg_restore_all(const struct cg_env *env);

/* Thread-group ids in rel, the union over the hierarchies used (v1 lists
 * threads in "tasks", processes in "cgroup.procs"). Returns count >= 0 and a
 * malloc'ed array in *out, or -errno. */
int cg_list_procs(const struct cg_env *env, const char *rel, pid_t **out);

/* Names of the child directories of rel (in the cpu hierarchy, or the
 * unified one in v2), malloc'ed NULL-terminated array. Returns count. */
int cg_list_children(const struct cg_env *env, const char *rel, char ***out);
void cg_free_names(char **names);

/* v2 cgroup id of rel in the unified hierarchy (its inode number), for the
 * BPF tag map. -ENOENT when there is no unified hierarchy. */
int cg_id(const struct cg_env *env, const char *rel, uint64_t *id);

/* Absolute directories of rel, one per hierarchy used, for inotify; returns
 * how many were written (at most 3). */
int cg_dirs(const struct cg_env *env, const char *rel, char out[][PATH_MAX], int max);

/* Path of tgid's cgroup as matched by rules: the unified ("0::") line of
 * /proc/PID/cgroup when it is not "/", else the v1 cpu line. */
int cg_proc_path(pid_t tgid, char *out, size_t len);

/* Pure helpers, unit-tested. */
int cg_parse_proc_cgroup(const char *text, const char *want_controller, char *out, size_t len);
int cg_join(char *out, size_t len, const char *a, const char *b);
bool cg_rel_valid(const char *rel); /* no "..", no leading '/', no empty part */
int cg_quota_format_v2(double cores, unsigned period_us, char *out, size_t len);
int cg_quota_parse_v2(const char *text, double *cores);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Private to the cgroup back end (agent/cgroup*.c): the hierarchies a mode
 * writes to, small-file I/O, the knob journal, and the seam the unit tests
 * use to play the kernel on a tree of plain files.
 */
#ifndef TRIAGE_CGROUP_IMPL_H
#define TRIAGE_CGROUP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"

#define CGROUP_MAX_HIER 3
#define CGROUP_DEFAULT_PERIOD_US 100000u /* the kernel's default CFS period */
#define CGROUP_MIN_QUOTA_US 1000 /* the kernel refuses less */
#define CGROUP_VALUE_MAX (sizeof(((struct cg_saved *)0)->value))

/*
 * Roots of the hierarchies env uses, in the order tasks are moved: the v1
 * cpuset first (an attach that fails there leaves the process where it
 * was), the cpu one, the unified one last. A hierarchy mounted twice under
 * two roles (v2, or v1 "cpu,cpuset") appears once. Returns how many.
 */
int cgroup_roots(const struct cg_env *env, const char *roots[CGROUP_MAX_HIER]);

/* Hierarchy whose directory listing is authoritative: cpu in v1/hybrid,
 * the unified one in v2. NULL when there is none. */
const char *cgroup_primary_root(const struct cg_env *env);

/* True when root is env's v1 cpuset hierarchy, whose new cgroups start with
 * empty cpuset.cpus and cpuset.mems. */
bool cgroup_is_v1_cpuset(const struct cg_env *env, const char *root);

/* root/rel/file (rel or file may be NULL). 0 or -ENAMETOOLONG. */
int cgroup_path(char *out, size_t len, const char *root, const char *rel, const char *file);

/* root joined with rel's parent (root itself for a top-level rel). */
int cgroup_parent_path(char *out, size_t len, const char *root, const char *rel, const char *file);

/* Whether word is one of the items of list[0..n) split by any of seps. */
bool cgroup_word_in(const char *list, size_t n, const char *seps, const char *word);

/* A control file's value, trailing newlines stripped. -E2BIG when it does
 * not fit in len, else 0 or -errno. */
int cgroup_read_value(const char *path, char *buf, size_t len);

/* A whole file (procfs and cgroupfs report size 0), malloc'ed, NUL-ended. */
int cgroup_read_text(const char *path, char **out);

/* One write() of value plus a newline, as echo does: cgroupfs parses
 * each write on its own. 0 or -errno. */
int cgroup_write_value(const char *path, const char *value);

/* Microseconds of quota for cores per period, at least the kernel's
 * minimum; -ERANGE or -EINVAL when cores cannot be one. */
long long cgroup_quota_us(double cores, unsigned period_us);

/* Fills an empty v1 cpuset file (cpuset.cpus or cpuset.mems) of rel from
 * its parent; a cgroup with either empty refuses tasks with ENOSPC. */
int cgroup_v1_cpuset_inherit(const char *root, const char *rel, const char *file);

/* The journal, owned by cgroup_journal.c; cgroup_restore.c walks it. */
struct cgroup_journal {
	struct cg_saved *saved; /* oldest first */
	int nr_saved, cap_saved;
	struct cg_created *created; /* in creation order */
	int nr_created, cap_created;
	bool adopted; /* state.json was read, or tried */
};
extern struct cgroup_journal cgroup_journal;

/* Index of path's saved entry, or -1. */
int cgroup_journal_find_saved(const char *path);

/* Adopts a state.json this agent has not read yet, once: saving over it
 * would lose an earlier agent's originals. */
void cgroup_journal_adopt_once(const struct cg_env *env);

/* Removes state.json and empties the journal: all was restored. */
void cgroup_journal_discard(const struct cg_env *env);

/* Writes value to path, first saving what path held if triage never wrote
 * it before (and persisting the journal). 0 or -errno. */
int cgroup_journal_write(const struct cg_env *env, const char *path, const char *value);

/* Remembers that triage made rel, so cg_restore_all removes it. */
int cgroup_journal_record_created(const struct cg_env *env, const char *rel);

/* Forgets rel and everything under it: it has just been removed. */
void cgroup_journal_forget(const struct cg_env *env, const char *rel);

/*
 * How a cgroup directory is made and removed. cgroupfs fills a new
 * directory with its control files and rmdir takes them away with it; the
 * unit tests swap these for versions that do the same on plain files.
 * Both return 0 or -errno.
 */
struct cgroup_dir_ops {
	int (*make)(const char *dir);
	int (*remove)(const char *dir);
};
extern struct cgroup_dir_ops cgroup_dir_ops;

#endif

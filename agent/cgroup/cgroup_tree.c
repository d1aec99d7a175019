// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The shape of the triage tree: making and removing cgroups in every
 * hierarchy used, putting processes in them, and reading back who is where.
 *
 * A new cgroup must be usable at once, so cg_create does what each kernel
 * interface needs before a task can join: in v2 the parent hands the cpu and
 * cpuset controllers down (cgroup.subtree_control, journaled like a knob);
 * in v1 the cpuset copies its parent's cpus and mems, since an empty one
 * refuses tasks with ENOSPC.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup_impl.h"
#include "log.h"

static int cgroup_mkdir(const char *dir)
{
	return mkdir(dir, 0755) ? -errno : 0;
}

static int cgroup_rmdir(const char *dir)
{
	return rmdir(dir) ? -errno : 0;
}

struct cgroup_dir_ops cgroup_dir_ops = {
	.make = cgroup_mkdir,
	.remove = cgroup_rmdir,
};

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* What usually lies behind a refusal, for the log line. */
static const char *enable_hint(const char *controller, int err)
{
	if (err == -EBUSY)
		return " (the parent holds tasks itself)";
	if (err == -EINVAL && !strcmp(controller, "cpu"))
		return " (with RT_GROUP_SCHED, RT tasks outside the root cgroup block it)";
	return "";
}

static const char *move_hint(const struct cg_env *env, const char *root, int err)
{
	if (err == -ENOSPC)
		return " (empty cpuset.cpus or cpuset.mems)";
	if (err == -EINVAL && env->mode != CG_MODE_V2 && !strcmp(root, env->cpu))
		return " (a realtime task? with RT_GROUP_SCHED a new v1 cpu cgroup has "
		       "cpu.rt_runtime_us 0)";
	return "";
}

/* The controllers a v2 parent must hand down so rel gets cpu.* and cpuset.*
 * files. Enabling them at the root is allowed even with tasks there; below
 * it the no-internal-process rule makes the kernel answer EBUSY. */
static int cgroup_v2_enable_controllers(const struct cg_env *env, const char *rel)
{
	const char *wanted[] = { "cpu", env->cpuset[0] ? "cpuset" : NULL };
	char path[PATH_MAX], enabled[CGROUP_VALUE_MAX], op[16];
	int err;

	err = cgroup_parent_path(path, sizeof(path), env->unified, rel, "cgroup.subtree_control");
	if (!err)
		err = cgroup_read_value(path, enabled, sizeof(enabled));
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!wanted[i] || cgroup_word_in(enabled, strlen(enabled), " \n", wanted[i]))
			continue;
		snprintf(op, sizeof(op), "+%s", wanted[i]);
		err = cgroup_journal_write(env, path, op);
		if (err) {
			log_warn("cannot enable the %s controller in %s: %s%s", wanted[i], path,
				 strerror(-err), enable_hint(wanted[i], err));
			return err;
		}
	}
	return 0;
}

int cg_create(const struct cg_env *env, const char *rel)
{
	const char *roots[CGROUP_MAX_HIER];
	char dir[PATH_MAX] = "";
	int n, err = 0;

	if (!cg_rel_valid(rel))
		return -EINVAL;
	n = cgroup_roots(env, roots);
	if (!n)
		return -ENODEV;
	for (int i = 0; i < n && !err; i++) {
		err = cgroup_path(dir, sizeof(dir), roots[i], rel, NULL);
		if (err)
			break;
		if (env->mode == CG_MODE_V2) {
			err = cgroup_v2_enable_controllers(env, rel);
			if (err)
				break;
		}
		err = cgroup_dir_ops.make(dir);
		if (!err) {
			log_debug("created cgroup %s", dir);
			/* recorded at once, so even a failure below or a
			 * crash leaves it to be cleaned up */
			cgroup_journal_record_created(env, rel);
		} else if (err == -EEXIST) {
			err = is_dir(dir) ? 0 : -ENOTDIR;
		}
		if (err)
			break;
		if (cgroup_is_v1_cpuset(env, roots[i])) {
			err = cgroup_v1_cpuset_inherit(roots[i], rel, "cpuset.cpus");
			if (!err)
				err = cgroup_v1_cpuset_inherit(roots[i], rel, "cpuset.mems");
		}
	}
	if (err)
		log_warn("cannot create cgroup %s in %s: %s", rel, dir, strerror(-err));
	return err;
}

int cg_remove(const struct cg_env *env, const char *rel)
{
	const char *roots[CGROUP_MAX_HIER];
	char dir[PATH_MAX];
	int n, err = 0;

	if (!cg_rel_valid(rel))
		return -EINVAL;
	n = cgroup_roots(env, roots);
	for (int i = 0; i < n; i++) {
		int ret = cgroup_path(dir, sizeof(dir), roots[i], rel, NULL);

		if (!ret)
			ret = cgroup_dir_ops.remove(dir);
		if (ret == -ENOENT)
			ret = 0;
		/* cgroupfs says EBUSY for tasks and for child cgroups alike */
		if (ret == -ENOTEMPTY)
			ret = -EBUSY;
		if (ret && !err)
			err = ret;
	}
	if (!err)
		cgroup_journal_forget(env, rel);
	return err;
}

bool cg_exists(const struct cg_env *env, const char *rel)
{
	const char *roots[CGROUP_MAX_HIER];
	char dir[PATH_MAX];
	int n;

	if (!cg_rel_valid(rel))
		return false;
	n = cgroup_roots(env, roots);
	for (int i = 0; i < n; i++) {
		if (cgroup_path(dir, sizeof(dir), roots[i], rel, NULL) || !is_dir(dir))
			return false;
	}
	return n > 0;
}

int cg_move_process(const struct cg_env *env, const char *rel, pid_t tgid)
{
	const char *roots[CGROUP_MAX_HIER];
	char path[PATH_MAX], pid[24];
	int n, err = 0;

	if (!cg_rel_valid(rel) || tgid <= 0)
		return -EINVAL;
	n = cgroup_roots(env, roots);
	if (!n)
		return -ENODEV;
	snprintf(pid, sizeof(pid), "%d", (int)tgid);
	/* cgroup.procs takes a tgid and moves every thread, v1 included */
	for (int i = 0; i < n; i++) {
		int ret = cgroup_path(path, sizeof(path), roots[i], rel, "cgroup.procs");

		if (!ret)
			ret = cgroup_write_value(path, pid);
		if (ret == -ESRCH)
			return -ESRCH;
		if (ret) {
			/* keep going: a process in some of triage's
			 * hierarchies is still better placed than in none */
			log_warn("cannot move %d into %s: %s%s", (int)tgid, path, strerror(-ret),
				 move_hint(env, roots[i], ret));
			if (!err)
				err = ret;
		}
	}
	return err;
}

static int pid_compare(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int pids_append(pid_t **pids, int *nr, int *cap, const char *text)
{
	const char *p = text;

	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p) {
			p++;
			continue;
		}
		p = end;
		if (v <= 0)
			continue;
		if (*nr == *cap) {
			int more = *cap ? *cap * 2 : 64;
			pid_t *grown = realloc(*pids, more * sizeof(**pids));

			if (!grown)
				return -ENOMEM;
			*pids = grown;
			*cap = more;
		}
		(*pids)[(*nr)++] = (pid_t)v;
	}
	return 0;
}

int cg_list_procs(const struct cg_env *env, const char *rel, pid_t **out)
{
	const char *roots[CGROUP_MAX_HIER];
	char path[PATH_MAX];
	pid_t *pids = NULL;
	int n, nr = 0, cap = 0, found = 0, err = 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cg_rel_valid(rel))
		return -EINVAL;
	n = cgroup_roots(env, roots);
	for (int i = 0; i < n && !err; i++) {
		char *text;

		err = cgroup_path(path, sizeof(path), roots[i], rel, "cgroup.procs");
		if (!err)
			err = cgroup_read_text(path, &text);
		if (err == -ENOENT) {
			err = 0;
			continue;
		}
		if (err)
			break;
		found++;
		err = pids_append(&pids, &nr, &cap, text);
		free(text);
	}
	if (!err && !found)
		err = -ENOENT;
	if (err) {
		free(pids);
		return err;
	}
	if (nr) {
		int uniq = 1;

		qsort(pids, nr, sizeof(*pids), pid_compare);
		for (int i = 1; i < nr; i++) {
			if (pids[i] != pids[uniq - 1])
				pids[uniq++] = pids[i];
		}
		nr = uniq;
	}
	*out = pids;
	return nr;
}

static int name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void cg_free_names(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int cg_list_children(const struct cg_env *env, const char *rel, char ***out)
{
	const char *root = cgroup_primary_root(env);
	char dir[PATH_MAX], child[PATH_MAX];
	char **names = NULL;
	struct dirent *de;
	int nr = 0, cap = 0, err;
	DIR *d;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cg_rel_valid(rel))
		return -EINVAL;
	if (!root)
		return -ENODEV;
	err = cgroup_path(dir, sizeof(dir), root, rel, NULL);
	if (err)
		return err;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type != DT_DIR) {
			if (de->d_type != DT_UNKNOWN ||
			    cgroup_path(child, sizeof(child), dir, NULL, de->d_name) ||
			    !is_dir(child))
				continue;
		}
		if (nr + 1 >= cap) {
			int more = cap ? cap * 2 : 16;
			char **grown = realloc(names, more * sizeof(*names));

			if (!grown) {
				err = -ENOMEM;
				break;
			}
			names = grown;
			cap = more;
		}
		names[nr] = strdup(de->d_name);
		if (!names[nr]) {
			err = -ENOMEM;
			break;
		}
		names[++nr] = NULL;
	}
	closedir(d);
	if (!err && !names) {
		names = calloc(1, sizeof(*names));
		if (!names)
			err = -ENOMEM;
	}
	if (err) {
		if (names) {
			names[nr] = NULL;
			cg_free_names(names);
		}
		return err;
	}
	qsort(names, nr, sizeof(*names), name_compare);
	*out = names;
	return nr;
}

int cg_id(const struct cg_env *env, const char *rel, uint64_t *id)
{
	char dir[PATH_MAX];
	struct stat st;
	int err;

	if (!cg_rel_valid(rel) || !id)
		return -EINVAL;
	if (!env->unified[0])
		return -ENOENT;
	err = cgroup_path(dir, sizeof(dir), env->unified, rel, NULL);
	if (err)
		return err;
	/* kernfs hands out the cgroup id as the inode number on 64-bit */
	if (stat(dir, &st))
		return -errno;
	*id = (uint64_t)st.st_ino;
	return 0;
}

int cg_dirs(const struct cg_env *env, const char *rel, char out[][PATH_MAX], int max)
{
	const char *roots[CGROUP_MAX_HIER];
	int n, nr = 0;

	if (!cg_rel_valid(rel) || max < 0)
		return -EINVAL;
	n = cgroup_roots(env, roots);
	for (int i = 0; i < n && nr < max; i++) {
		int err = cgroup_path(out[nr], PATH_MAX, roots[i], rel, NULL);

		if (err)
			return err;
		nr++;
	}
	return nr;
}

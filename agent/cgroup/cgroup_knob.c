// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The three knobs triage turns, in their v2 and v1 spellings: CPU weight
 * (cpu.weight / cpu.shares), CPU quota (cpu.max / cpu.cfs_quota_us with
 * cpu.cfs_period_us) and CPU set (cpuset.cpus). Every write goes through
 * the journal so cg_restore_all can put the old value back.
 *
 * A v2 kernel built without CFS_BANDWIDTH has no cpu.max, but the root never
 * has one either, so that is only learnt in a child: the first miss turns
 * quota off for the rest of the run, with one warning.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup_impl.h"
#include "log.h"

#define CGROUP_MAX_PERIOD_US 1000000u /* the kernel's bounds on a CFS period */
#define CGROUP_MIN_PERIOD_US 1000u

static bool cgroup_v2_quota_missing;

/* Path of a knob file of rel: -ENOENT when rel does not exist, -EOPNOTSUPP
 * when rel does but the file does not (controller off there, or a kernel
 * without that knob). */
static int knob_path(char *out, size_t len, const char *root, const char *rel, const char *file)
{
	char dir[PATH_MAX];
	int err;

	err = cgroup_path(dir, sizeof(dir), root, rel, NULL);
	if (err)
		return err;
	if (access(dir, F_OK))
		return -errno;
	err = cgroup_path(out, len, root, rel, file);
	if (err)
		return err;
	if (access(out, F_OK))
		return errno == ENOENT ? -EOPNOTSUPP : -errno;
	return 0;
}

static void strip_newlines(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
}

int cgroup_v1_cpuset_inherit(const char *root, const char *rel, const char *file)
{
	char path[PATH_MAX], parent[PATH_MAX];
	char *value, *inherited;
	int err;

	err = cgroup_path(path, sizeof(path), root, rel, file);
	if (!err)
		err = cgroup_parent_path(parent, sizeof(parent), root, rel, file);
	if (!err)
		err = cgroup_read_text(path, &value);
	if (err)
		return err;
	strip_newlines(value);
	if (*value) {
		free(value);
		return 0;
	}
	free(value);
	err = cgroup_read_text(parent, &inherited);
	if (err)
		return err;
	strip_newlines(inherited);
	if (!*inherited)
		log_warn("%s is empty too: tasks will not attach to %s", parent, rel);
	else
		err = cgroup_write_value(path, inherited);
	free(inherited);
	return err;
}

int cg_set_weight(const struct cg_env *env, const char *rel, unsigned weight)
{
	char path[PATH_MAX], value[16];
	const char *file;
	int err;

	if (!cg_rel_valid(rel) || weight < 1 || weight > 10000)
		return -EINVAL;
	if (!env->cpu[0])
		return -EOPNOTSUPP;
	if (env->mode == CG_MODE_V2) {
		file = "cpu.weight";
		snprintf(value, sizeof(value), "%u", weight);
	} else {
		/* weight 100 is shares 1024; the kernel's floor is 2 */
		unsigned shares = weight * 1024 / 100;

		file = "cpu.shares";
		snprintf(value, sizeof(value), "%u", shares < 2 ? 2 : shares);
	}
	err = knob_path(path, sizeof(path), env->cpu, rel, file);
	if (err)
		return err;
	return cgroup_journal_write(env, path, value);
}

int cg_set_idle(const struct cg_env *env, const char *rel, bool idle)
{
	char path[PATH_MAX];
	int err;

	if (!cg_rel_valid(rel))
		return -EINVAL;
	if (!env->cpu[0])
		return -EOPNOTSUPP;
	err = knob_path(path, sizeof(path), env->cpu, rel, "cpu.idle");
	if (err)
		return err;
	return cgroup_journal_write(env, path, idle ? "1" : "0");
}

static int read_long(const char *path, long long *out)
{
	char text[32], *end;
	int err;

	err = cgroup_read_value(path, text, sizeof(text));
	if (err)
		return err;
	errno = 0;
	*out = strtoll(text, &end, 10);
	if (errno || end == text || *end)
		return -EINVAL;
	return 0;
}

int cg_set_rt_runtime(const struct cg_env *env, const char *rel, long long runtime_us)
{
	char path[PATH_MAX], value[32];
	int err;

	if (!cg_rel_valid(rel))
		return -EINVAL;
	if (!env->cpu[0] || env->mode == CG_MODE_V2)
		return -EOPNOTSUPP;
	err = knob_path(path, sizeof(path), env->cpu, rel, "cpu.rt_runtime_us");
	if (err)
		return err;
	snprintf(value, sizeof(value), "%lld", runtime_us);
	return cgroup_journal_write(env, path, value);
}

int cg_get_rt_runtime(const struct cg_env *env, const char *rel, long long *runtime_us)
{
	char path[PATH_MAX];
	int err;

	if (!env->cpu[0] || env->mode == CG_MODE_V2)
		return -EOPNOTSUPP;
	err = rel[0] ? knob_path(path, sizeof(path), env->cpu, rel, "cpu.rt_runtime_us")
		     : cgroup_path(path, sizeof(path), env->cpu, "", "cpu.rt_runtime_us");
	if (!err && access(path, F_OK))
		err = -EOPNOTSUPP;
	return err ? err : read_long(path, runtime_us);
}

static int cgroup_v2_set_quota(const struct cg_env *env, const char *rel, double cores,
			       unsigned period_us)
{
	char path[PATH_MAX], weight[PATH_MAX], value[64];
	int err;

	err = cg_quota_format_v2(cores, period_us, value, sizeof(value));
	if (err)
		return err;
	err = knob_path(path, sizeof(path), env->cpu, rel, "cpu.max");
	/* cpu.weight without cpu.max: the controller is on, the knob is not
	 * built in; asking again in other cgroups would not change that */
	if (err == -EOPNOTSUPP && !knob_path(weight, sizeof(weight), env->cpu, rel, "cpu.weight")) {
		cgroup_v2_quota_missing = true;
		log_warn("no cpu.max beside %s: kernel without CFS_BANDWIDTH; "
			 "CPU quota off, weight and cpuset only",
			 weight);
	}
	if (err)
		return err;
	return cgroup_journal_write(env, path, value);
}

static int cgroup_v1_set_quota(const struct cg_env *env, const char *rel, double cores,
			       unsigned period_us)
{
	char quota_path[PATH_MAX], period_path[PATH_MAX];
	char quota[32], period[16], period_now[32];
	int err;

	err = knob_path(quota_path, sizeof(quota_path), env->cpu, rel, "cpu.cfs_quota_us");
	if (!err)
		err = knob_path(period_path, sizeof(period_path), env->cpu, rel,
				"cpu.cfs_period_us");
	if (err)
		return err;
	if (cores < 0) {
		strcpy(quota, "-1");
	} else {
		long long quota_us = cgroup_quota_us(cores, period_us);

		if (quota_us < 0)
			return (int)quota_us;
		snprintf(quota, sizeof(quota), "%lld", quota_us);
	}
	snprintf(period, sizeof(period), "%u", period_us);
	err = cgroup_read_value(period_path, period_now, sizeof(period_now));
	if (err)
		return err;
	if (strcmp(period_now, period)) {
		/* v1 checks quota/period against the parent's and the
		 * children's at each write; with the quota lifted first, the
		 * pair in between the two writes is always valid */
		err = cgroup_journal_write(env, quota_path, "-1");
		if (!err)
			err = cgroup_journal_write(env, period_path, period);
		if (err)
			return err;
	}
	return cgroup_journal_write(env, quota_path, quota);
}

int cg_set_quota(const struct cg_env *env, const char *rel, double cores, unsigned period_us)
{
	if (!cg_rel_valid(rel) || isnan(cores))
		return -EINVAL;
	/* 0 asks for the kernel's default period */
	if (period_us == 0)
		period_us = CGROUP_DEFAULT_PERIOD_US;
	if (period_us < CGROUP_MIN_PERIOD_US || period_us > CGROUP_MAX_PERIOD_US)
		return -EINVAL;
	if (!env->cpu[0] || !env->cfs_bandwidth || cgroup_v2_quota_missing)
		return -EOPNOTSUPP;
	if (env->mode == CG_MODE_V2)
		return cgroup_v2_set_quota(env, rel, cores, period_us);
	return cgroup_v1_set_quota(env, rel, cores, period_us);
}

int cg_get_quota(const struct cg_env *env, const char *rel, double *cores)
{
	char path[PATH_MAX], text[64];
	long long quota, period;
	int err;

	if (!cg_rel_valid(rel) || !cores)
		return -EINVAL;
	if (!env->cpu[0] || !env->cfs_bandwidth || cgroup_v2_quota_missing)
		return -EOPNOTSUPP;
	if (env->mode == CG_MODE_V2) {
		err = knob_path(path, sizeof(path), env->cpu, rel, "cpu.max");
		if (!err)
			err = cgroup_read_value(path, text, sizeof(text));
		return err ? err : cg_quota_parse_v2(text, cores);
	}
	err = knob_path(path, sizeof(path), env->cpu, rel, "cpu.cfs_quota_us");
	if (!err)
		err = read_long(path, &quota);
	if (!err)
		err = knob_path(path, sizeof(path), env->cpu, rel, "cpu.cfs_period_us");
	if (!err)
		err = read_long(path, &period);
	if (err)
		return err;
	if (period <= 0)
		return -EINVAL;
	*cores = quota < 0 ? CG_QUOTA_MAX : (double)quota / (double)period;
	return 0;
}

int cg_get_cpus(const struct cg_env *env, const char *rel, char *out, size_t len)
{
	char path[PATH_MAX];
	int err;

	if (!cg_rel_valid(rel))
		return -EINVAL;
	if (!env->cpuset[0])
		return -EOPNOTSUPP;
	err = knob_path(path, sizeof(path), env->cpuset, rel,
			env->mode == CG_MODE_V2 ? "cpuset.cpus.effective" : "cpuset.cpus");
	return err ? err : cgroup_read_value(path, out, len);
}

int cg_set_cpus(const struct cg_env *env, const char *rel, const char *cpus)
{
	char path[PATH_MAX], parent[PATH_MAX];
	char *inherited = NULL;
	int err;

	if (!cg_rel_valid(rel) || !cpus)
		return -EINVAL;
	if (!env->cpuset[0])
		return -EOPNOTSUPP;
	err = knob_path(path, sizeof(path), env->cpuset, rel, "cpuset.cpus");
	if (err)
		return err;
	if (!*cpus) {
		err = cgroup_parent_path(parent, sizeof(parent), env->cpuset, rel, "cpuset.cpus");
		if (!err)
			err = cgroup_read_text(parent, &inherited);
		if (err)
			return err;
		strip_newlines(inherited);
		cpus = inherited;
	}
	if (cgroup_is_v1_cpuset(env, env->cpuset))
		err = cgroup_v1_cpuset_inherit(env->cpuset, rel, "cpuset.mems");
	if (!err)
		err = cgroup_journal_write(env, path, cpus);
	if (err)
		log_warn("cannot set %s to \"%s\": %s", path, cpus, strerror(-err));
	free(inherited);
	return err;
}

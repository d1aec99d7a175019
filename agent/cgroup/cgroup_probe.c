// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Finds the cgroup hierarchies triage writes to and decides the mode, from
 * mountinfo alone: distributions lay /sys/fs/cgroup out differently (cpu
 * mounted as "cpu,cpuacct" with a symlink beside it, cgroup2 at the top or
 * at "unified", containers with their own roots), so no path is guessed.
 *
 * Then it probes what each hierarchy offers. In v2 the root has no cpu.max
 * even on kernels with CFS_BANDWIDTH, so quota support is assumed whenever
 * the cpu controller exists and confirmed lazily by cg_set_quota.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup_impl.h"
#include "log.h"

#define MOUNTINFO_MAX_FIELDS 64

struct cgroup_mounts {
	char unified[PATH_MAX];
	char cpu[PATH_MAX];
	char cpuset[PATH_MAX];
};

static int probe_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int probe_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* mountinfo writes blanks, newlines and backslashes in paths as \ooo. */
static void mountinfo_unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

static void mount_take(char *dst, const char *mnt, const char *what)
{
	if (strlen(mnt) >= PATH_MAX) {
		log_warn("cgroup: %s mount point too long, ignored", what);
		return;
	}
	strcpy(dst, mnt);
}

/*
 * One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS
 * [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS". The number of optional
 * fields varies, hence the search for the lone "-".
 */
static void mountinfo_parse_line(char *line, struct cgroup_mounts *m)
{
	char *field[MOUNTINFO_MAX_FIELDS];
	const char *mnt, *fstype, *superopts;
	int nr = 0, dash = -1;
	char *save = NULL;

	for (char *tok = strtok_r(line, " \n", &save); tok && nr < MOUNTINFO_MAX_FIELDS;
	     tok = strtok_r(NULL, " \n", &save))
		field[nr++] = tok;
	for (int i = 6; i < nr; i++) {
		if (!strcmp(field[i], "-")) {
			dash = i;
			break;
		}
	}
	if (dash < 0 || dash + 1 >= nr)
		return;
	mountinfo_unescape(field[4]);
	mnt = field[4];
	fstype = field[dash + 1];
	superopts = dash + 3 < nr ? field[dash + 3] : "";

	if (!strcmp(fstype, "cgroup2")) {
		/* a second cgroup2 mount (a bind, a container's) loses to the
		 * conventional top-level one */
		if (!m->unified[0] || !strcmp(mnt, "/sys/fs/cgroup"))
			mount_take(m->unified, mnt, "cgroup2");
	} else if (!strcmp(fstype, "cgroup")) {
		size_t n = strlen(superopts);

		if (!m->cpu[0] && cgroup_word_in(superopts, n, ",", "cpu"))
			mount_take(m->cpu, mnt, "cgroup cpu");
		if (!m->cpuset[0] && cgroup_word_in(superopts, n, ",", "cpuset"))
			mount_take(m->cpuset, mnt, "cgroup cpuset");
	}
}

static int mountinfo_read(const char *path, struct cgroup_mounts *m)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		mountinfo_parse_line(line, m);
	free(line);
	fclose(f);
	return 0;
}

static int probe_v2(struct cg_env *env, const char *unified, char *err, size_t errlen)
{
	char path[PATH_MAX], controllers[512];
	size_t n;
	int ret;

	strcpy(env->unified, unified);
	ret = cgroup_path(path, sizeof(path), unified, NULL, "cgroup.controllers");
	if (!ret)
		ret = cgroup_read_value(path, controllers, sizeof(controllers));
	if (ret < 0)
		return probe_fail(err, errlen,
				  "cgroup v2 at %s: cannot read cgroup.controllers: %s", unified,
				  strerror(-ret));
	n = strlen(controllers);
	if (!cgroup_word_in(controllers, n, " \n", "cpu"))
		return probe_fail(err, errlen,
				  "cgroup v2 at %s has no cpu controller (still bound to a v1 "
				  "hierarchy, or the kernel lacks CGROUP_SCHED)",
				  unified);
	strcpy(env->cpu, unified);
	if (cgroup_word_in(controllers, n, " \n", "cpuset"))
		strcpy(env->cpuset, unified);
	else
		log_debug("cgroup v2 at %s has no cpuset controller: CPU sets off", unified);
	env->cfs_bandwidth = true;
	return 0;
}

static int probe_v1(struct cg_env *env, const struct cgroup_mounts *m, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	ret = cgroup_path(path, sizeof(path), m->cpu, NULL, "cpu.shares");
	if (ret || access(path, F_OK))
		return probe_fail(err, errlen, "cgroup v1 cpu hierarchy at %s has no cpu.shares",
				  m->cpu);
	strcpy(env->cpu, m->cpu);
	ret = cgroup_path(path, sizeof(path), m->cpu, NULL, "cpu.cfs_quota_us");
	env->cfs_bandwidth = !ret && !access(path, F_OK);
	if (m->cpuset[0])
		strcpy(env->cpuset, m->cpuset);
	else
		log_debug("no cgroup v1 cpuset hierarchy: CPU sets off");
	if (env->mode == CG_MODE_HYBRID)
		strcpy(env->unified, m->unified);
	return 0;
}

int cg_probe(struct cg_env *env, const char *mountinfo_path, char *err, size_t errlen)
{
	struct cgroup_mounts m = { 0 };
	const char *path = mountinfo_path ? mountinfo_path : "/proc/self/mountinfo";
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!env)
		return probe_fail(err, errlen, "no environment to fill");
	/* run_dir is the caller's choice, not something mounts tell */
	env->mode = CG_MODE_NONE;
	env->unified[0] = env->cpu[0] = env->cpuset[0] = '\0';
	env->cfs_bandwidth = false;

	ret = mountinfo_read(path, &m);
	if (ret < 0)
		return probe_fail(err, errlen, "cannot read %s: %s", path, strerror(-ret));

	if (m.unified[0] && (!m.cpu[0] || !strcmp(m.unified, "/sys/fs/cgroup")))
		env->mode = CG_MODE_V2;
	else if (m.cpu[0])
		env->mode = m.unified[0] ? CG_MODE_HYBRID : CG_MODE_V1;
	else
		return probe_fail(err, errlen, "no cgroup2 mount and no cgroup v1 cpu mount in %s",
				  path);

	if (env->mode == CG_MODE_V2)
		ret = probe_v2(env, m.unified, err, errlen);
	else
		ret = probe_v1(env, &m, err, errlen);
	if (ret < 0) {
		env->mode = CG_MODE_NONE;
		env->unified[0] = env->cpu[0] = env->cpuset[0] = '\0';
		env->cfs_bandwidth = false;
		return ret;
	}
	log_debug("cgroup mode %s: cpu %s, cpuset %s, unified %s, CFS bandwidth %s",
		  cg_mode_name(env->mode), env->cpu, env->cpuset[0] ? env->cpuset : "-",
		  env->unified[0] ? env->unified : "-", env->cfs_bandwidth ? "yes" : "no");
	return 0;
}

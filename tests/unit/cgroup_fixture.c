// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The cgroup suites' fixture: a scratch directory per test, trees of plain
 * files that imitate each mode's hierarchies, mountinfo samples, and the
 * fake directory ops that play the kernel (a new cgroup gets its control
 * files, rmdir refuses one with tasks or children).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "cgroup_fixture.h"

char cgt_tmp[1024]; /* short enough for any path built from it */
struct cg_env cgt_env; /* the environment under test; fake ops read it */

/* ---- scratch tree helpers ------------------------------------------------ */

/* A few rotating buffers, so a call can take two paths at once. */
const char *cgt_path(const char *fmt, ...)
{
	static char buf[8][PATH_MAX];
	static int next;
	char *out = buf[next++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	return out;
}

void cgt_put(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	fputs(content, f);
	/* cgroupfs ends values with a newline, and lists nothing in an empty
	 * cgroup.procs */
	if (*content)
		fputc('\n', f);
	fclose(f);
}

const char *cgt_slurp(const char *path)
{
	static char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "cannot read %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return buf;
}

/* Copies made by cgt_keep(), freed after the test. */
static char *kept[32];
static int nr_kept;

const char *cgt_keep(const char *s)
{
	cr_assert_lt(nr_kept, 32);
	kept[nr_kept] = strdup(s);
	cr_assert_not_null(kept[nr_kept]);
	return kept[nr_kept++];
}

bool cgt_exists(const char *path)
{
	return !access(path, F_OK);
}

void cgt_mkdirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	cr_assert(!mkdir(buf, 0755) || errno == EEXIST, "mkdir %s: %s", buf, strerror(errno));
}

/* ---- the fake kernel ----------------------------------------------------- */

static bool is_under_or_at(const char *dir, const char *root)
{
	size_t n = strlen(root);

	return n && !strncmp(dir, root, n) && (dir[n] == '/' || !dir[n]);
}

static enum fake_kind fake_kind_of(const char *dir)
{
	if (cgt_env.mode == CG_MODE_V2)
		return FAKE_V2;
	if (cgt_env.cpuset[0] && is_under_or_at(dir, cgt_env.cpuset))
		return FAKE_V1_CPUSET;
	if (cgt_env.cpu[0] && is_under_or_at(dir, cgt_env.cpu))
		return FAKE_V1_CPU;
	return FAKE_UNIFIED_BARE;
}

/* The control files the kernel shows in a cgroup directory of each kind. */
void cgt_fake_fill(const char *dir, enum fake_kind kind, bool is_root)
{
	cgt_put(cgt_path("%s/cgroup.procs", dir), "");
	switch (kind) {
	case FAKE_V2:
		cgt_put(cgt_path("%s/cgroup.controllers", dir), "cpuset cpu io memory pids");
		cgt_put(cgt_path("%s/cgroup.subtree_control", dir), is_root ? "memory pids" : "");
		if (is_root)
			break;
		cgt_put(cgt_path("%s/cpu.weight", dir), "100");
		cgt_put(cgt_path("%s/cpu.max", dir), "max 100000");
		cgt_put(cgt_path("%s/cpuset.cpus", dir), "");
		cgt_put(cgt_path("%s/cpuset.mems", dir), "");
		break;
	case FAKE_V1_CPU:
		cgt_put(cgt_path("%s/cpu.shares", dir), "1024");
		cgt_put(cgt_path("%s/cpu.cfs_quota_us", dir), "-1");
		cgt_put(cgt_path("%s/cpu.cfs_period_us", dir), "100000");
		break;
	case FAKE_V1_CPUSET:
		cgt_put(cgt_path("%s/cpuset.cpus", dir), is_root ? "0-3" : "");
		cgt_put(cgt_path("%s/cpuset.mems", dir), is_root ? "0" : "");
		break;
	case FAKE_UNIFIED_BARE:
		cgt_put(cgt_path("%s/cgroup.controllers", dir), "");
		cgt_put(cgt_path("%s/cgroup.subtree_control", dir), "");
		break;
	}
}

static int fake_make(const char *dir)
{
	if (mkdir(dir, 0755))
		return -errno;
	cgt_fake_fill(dir, fake_kind_of(dir), false);
	return 0;
}

static int fake_unlink_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_F ? unlink(path) : 0;
}

/* cgroupfs: EBUSY while tasks or child cgroups are there; the control
 * files themselves go away with the directory. */
static int fake_remove(const char *dir)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	bool busy = false;

	if (stat(dir, &st))
		return -errno;
	if (*cgt_slurp(cgt_path("%s/cgroup.procs", dir)))
		return -EBUSY;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		busy |= de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	if (busy)
		return -EBUSY;
	nftw(dir, fake_unlink_file, 4, FTW_PHYS);
	return rmdir(dir) ? -errno : 0;
}

static int rm_any(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void cgt_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(cgt_tmp, sizeof(cgt_tmp), "%s/triage-cgtest-XXXXXX", base && *base ? base : "/tmp");
	cr_assert_not_null(mkdtemp(cgt_tmp));
	memset(&cgt_env, 0, sizeof(cgt_env));
	cgroup_dir_ops.make = fake_make;
	cgroup_dir_ops.remove = fake_remove;
	cg_journal_reset();
}

void cgt_teardown(void)
{
	cg_journal_reset();
	while (nr_kept)
		free(kept[--nr_kept]);
	if (cgt_tmp[0])
		nftw(cgt_tmp, rm_any, 16, FTW_DEPTH | FTW_PHYS);
}

/* A v2 tree at <tmp>/cg, its journal under <tmp>/run (not made yet: the
 * journal makes its run directory). */
const char *cgt_fake_v2_tree(bool with_cpuset)
{
	const char *root = cgt_path("%s/cg", cgt_tmp);

	cgt_mkdirs(root);
	cgt_env.mode = CG_MODE_V2;
	strcpy(cgt_env.unified, root);
	strcpy(cgt_env.cpu, root);
	if (with_cpuset)
		strcpy(cgt_env.cpuset, root);
	cgt_env.cfs_bandwidth = true;
	snprintf(cgt_env.run_dir, sizeof(cgt_env.run_dir), "%s/run", cgt_tmp);
	cgt_fake_fill(root, FAKE_V2, true);
	return cgt_env.unified;
}

/* ---- mountinfo samples ------------------------------------------------- */

/* '@' stands for the scratch directory, so mount points are real paths. */
const char *cgt_write_mountinfo(const char *text)
{
	const char *path = cgt_path("%s/mountinfo", cgt_tmp);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	for (const char *p = text; *p; p++) {
		if (*p == '@')
			fputs(cgt_tmp, f);
		else
			fputc(*p, f);
	}
	fclose(f);
	return path;
}

/* This host's layout: systemd's hybrid mode with cpu and cpuacct apart. */
const char cgt_mountinfo_hybrid[] =
	"22 27 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"31 22 0:28 / @/sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
	"32 31 0:29 / @/sys/fs/cgroup/cpu rw,relatime shared:10 - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / @/sys/fs/cgroup/cpuacct rw,relatime shared:11 - cgroup cgroup rw,cpuacct\n"
	"34 31 0:31 / @/sys/fs/cgroup/cpuset rw,relatime shared:12 - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / @/sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory\n"
	"36 31 0:33 / @/sys/fs/cgroup/devices rw,relatime shared:14 - cgroup cgroup rw,devices\n"
	"39 31 0:36 / @/sys/fs/cgroup/pids rw,relatime shared:17 - cgroup cgroup rw,pids\n"
	"40 31 0:37 / @/sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	"41 31 0:38 / @/sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

/* Older L4T and Ubuntu 18.04: cpu co-mounted with cpuacct, no cgroup2. */
const char cgt_mountinfo_v1[] =
	"25 22 0:23 / @/sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
	"27 25 0:25 / @/sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	"30 25 0:28 / @/sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct\n"
	"31 25 0:29 / @/sys/fs/cgroup/cpuset rw,relatime shared:15 - cgroup cgroup rw,cpuset\n"
	"32 25 0:30 / @/sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory\n";

/* Pure v2 as systemd mounts it; two optional fields before the "-". */
const char cgt_mountinfo_v2[] =
	"24 30 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	"26 23 0:23 / @/sys/fs/cgroup rw shared:9 master:1 - cgroup2 cgroup2 rw,nsdelegate\n";

void cgt_fake_hybrid_mounts(bool with_quota)
{
	static const char *const others[] = { "cpuacct", "memory", "devices", "pids", "systemd" };
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));

	cgt_mkdirs(cgt_path("%s/cpu", top));
	cgt_mkdirs(cgt_path("%s/cpuset", top));
	cgt_mkdirs(cgt_path("%s/unified", top));
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		cgt_mkdirs(cgt_path("%s/%s", top, others[i]));
	cgt_fake_fill(cgt_path("%s/cpu", top), FAKE_V1_CPU, true);
	cgt_fake_fill(cgt_path("%s/cpuset", top), FAKE_V1_CPUSET, true);
	cgt_fake_fill(cgt_path("%s/unified", top), FAKE_UNIFIED_BARE, true);
	if (!with_quota) {
		unlink(cgt_path("%s/cpu/cpu.cfs_quota_us", top));
		unlink(cgt_path("%s/cpu/cpu.cfs_period_us", top));
	}
}

void cgt_fake_v1_mounts(void)
{
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));

	cgt_mkdirs(cgt_path("%s/cpu,cpuacct", top));
	cgt_mkdirs(cgt_path("%s/cpuset", top));
	cgt_mkdirs(cgt_path("%s/memory", top));
	cgt_mkdirs(cgt_path("%s/systemd", top));
	cgt_fake_fill(cgt_path("%s/cpu,cpuacct", top), FAKE_V1_CPU, true);
	cgt_fake_fill(cgt_path("%s/cpuset", top), FAKE_V1_CPUSET, true);
}

/* ---- state.json ------------------------------------------------------ */

struct json_object *cgt_state_json(void)
{
	struct json_object *root = json_object_from_file(cgt_path("%s/state.json", cgt_env.run_dir));

	cr_assert_not_null(root, "state.json missing or not JSON");
	return root;
}

/* How many saved entries name path; *value gets the last one's value. */
int cgt_state_saved(struct json_object *root, const char *path, const char **value)
{
	struct json_object *saved, *p, *v;
	int count = 0;

	cr_assert(json_object_object_get_ex(root, "saved", &saved));
	for (size_t i = 0; i < json_object_array_length(saved); i++) {
		struct json_object *entry = json_object_array_get_idx(saved, i);

		cr_assert(json_object_object_get_ex(entry, "path", &p));
		cr_assert(json_object_object_get_ex(entry, "value", &v));
		if (!strcmp(json_object_get_string(p), path)) {
			count++;
			if (value)
				*value = json_object_get_string(v);
		}
	}
	return count;
}

bool cgt_state_created(struct json_object *root, const char *rel)
{
	struct json_object *created;

	cr_assert(json_object_object_get_ex(root, "created", &created));
	for (size_t i = 0; i < json_object_array_length(created); i++) {
		if (!strcmp(json_object_get_string(json_object_array_get_idx(created, i)), rel))
			return true;
	}
	return false;
}

/* What a second agent does after the first was killed with -9. */
void cgt_restart_agent(void)
{
	cg_journal_reset();
	cr_assert_eq(cg_journal_load(&cgt_env), 0);
}

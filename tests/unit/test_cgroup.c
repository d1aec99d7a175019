// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The cgroup back end without root: pure helpers, mode detection from
 * mountinfo samples, and the knob journal end to end on trees of plain files
 * that imitate each mode's hierarchies. The fake directory ops play the
 * kernel: a new cgroup gets its control files, rmdir refuses one with tasks
 * or children. Real cgroupfs is exercised by the end-to-end tests, as root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "cgroup/cgroup.h"
#include "cgroup/cgroup_impl.h"

static char tmp[1024]; /* short enough for any path built from it */
static struct cg_env fake; /* the environment under test; fake ops read it */

/* ---- scratch tree helpers ------------------------------------------------ */

static const char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A few rotating buffers, so a call can take two paths at once. */
static const char *pathf(const char *fmt, ...)
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

static void put(const char *path, const char *content)
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

static const char *slurp(const char *path)
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

/* A copy that outlives pathf's rotation; freed after the test. */
static char *kept[32];
static int nr_kept;

static const char *keep(const char *s)
{
	cr_assert_lt(nr_kept, 32);
	kept[nr_kept] = strdup(s);
	cr_assert_not_null(kept[nr_kept]);
	return kept[nr_kept++];
}

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

static void mkdirs(const char *path)
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

enum fake_kind { FAKE_V2, FAKE_V1_CPU, FAKE_V1_CPUSET, FAKE_UNIFIED_BARE };

static bool is_under_or_at(const char *dir, const char *root)
{
	size_t n = strlen(root);

	return n && !strncmp(dir, root, n) && (dir[n] == '/' || !dir[n]);
}

static enum fake_kind fake_kind_of(const char *dir)
{
	if (fake.mode == CG_MODE_V2)
		return FAKE_V2;
	if (fake.cpuset[0] && is_under_or_at(dir, fake.cpuset))
		return FAKE_V1_CPUSET;
	if (fake.cpu[0] && is_under_or_at(dir, fake.cpu))
		return FAKE_V1_CPU;
	return FAKE_UNIFIED_BARE;
}

/* The control files the kernel shows in a cgroup directory of each kind. */
static void fake_fill(const char *dir, enum fake_kind kind, bool is_root)
{
	put(pathf("%s/cgroup.procs", dir), "");
	switch (kind) {
	case FAKE_V2:
		put(pathf("%s/cgroup.controllers", dir), "cpuset cpu io memory pids");
		put(pathf("%s/cgroup.subtree_control", dir), is_root ? "memory pids" : "");
		if (is_root)
			break;
		put(pathf("%s/cpu.weight", dir), "100");
		put(pathf("%s/cpu.max", dir), "max 100000");
		put(pathf("%s/cpuset.cpus", dir), "");
		put(pathf("%s/cpuset.mems", dir), "");
		break;
	case FAKE_V1_CPU:
		put(pathf("%s/cpu.shares", dir), "1024");
		put(pathf("%s/cpu.cfs_quota_us", dir), "-1");
		put(pathf("%s/cpu.cfs_period_us", dir), "100000");
		break;
	case FAKE_V1_CPUSET:
		put(pathf("%s/cpuset.cpus", dir), is_root ? "0-3" : "");
		put(pathf("%s/cpuset.mems", dir), is_root ? "0" : "");
		break;
	case FAKE_UNIFIED_BARE:
		put(pathf("%s/cgroup.controllers", dir), "");
		put(pathf("%s/cgroup.subtree_control", dir), "");
		break;
	}
}

static int fake_make(const char *dir)
{
	if (mkdir(dir, 0755))
		return -errno;
	fake_fill(dir, fake_kind_of(dir), false);
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
	if (*slurp(pathf("%s/cgroup.procs", dir)))
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

static void scratch_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/triage-cgtest-XXXXXX", base && *base ? base : "/tmp");
	cr_assert_not_null(mkdtemp(tmp));
	memset(&fake, 0, sizeof(fake));
	cgroup_dir_ops.make = fake_make;
	cgroup_dir_ops.remove = fake_remove;
	cg_journal_reset();
}

static void scratch_teardown(void)
{
	cg_journal_reset();
	while (nr_kept)
		free(kept[--nr_kept]);
	if (tmp[0])
		nftw(tmp, rm_any, 16, FTW_DEPTH | FTW_PHYS);
}

/* A v2 tree at <tmp>/cg, its journal under <tmp>/run (not made yet: the
 * journal makes its run directory). */
static const char *fake_v2_tree(bool with_cpuset)
{
	const char *root = pathf("%s/cg", tmp);

	mkdirs(root);
	fake.mode = CG_MODE_V2;
	strcpy(fake.unified, root);
	strcpy(fake.cpu, root);
	if (with_cpuset)
		strcpy(fake.cpuset, root);
	fake.cfs_bandwidth = true;
	snprintf(fake.run_dir, sizeof(fake.run_dir), "%s/run", tmp);
	fake_fill(root, FAKE_V2, true);
	return fake.unified;
}

/* ---- mountinfo samples ------------------------------------------------- */

/* '@' stands for the scratch directory, so mount points are real paths. */
static const char *write_mountinfo(const char *text)
{
	const char *path = pathf("%s/mountinfo", tmp);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	for (const char *p = text; *p; p++) {
		if (*p == '@')
			fputs(tmp, f);
		else
			fputc(*p, f);
	}
	fclose(f);
	return path;
}

/* This host's layout: systemd's hybrid mode with cpu and cpuacct apart. */
static const char mountinfo_hybrid[] =
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
static const char mountinfo_v1[] =
	"25 22 0:23 / @/sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
	"27 25 0:25 / @/sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	"30 25 0:28 / @/sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct\n"
	"31 25 0:29 / @/sys/fs/cgroup/cpuset rw,relatime shared:15 - cgroup cgroup rw,cpuset\n"
	"32 25 0:30 / @/sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory\n";

/* Pure v2 as systemd mounts it; two optional fields before the "-". */
static const char mountinfo_v2[] =
	"24 30 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	"26 23 0:23 / @/sys/fs/cgroup rw shared:9 master:1 - cgroup2 cgroup2 rw,nsdelegate\n";

static void fake_hybrid_mounts(bool with_quota)
{
	static const char *const others[] = { "cpuacct", "memory", "devices", "pids", "systemd" };
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));

	mkdirs(pathf("%s/cpu", top));
	mkdirs(pathf("%s/cpuset", top));
	mkdirs(pathf("%s/unified", top));
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		mkdirs(pathf("%s/%s", top, others[i]));
	fake_fill(pathf("%s/cpu", top), FAKE_V1_CPU, true);
	fake_fill(pathf("%s/cpuset", top), FAKE_V1_CPUSET, true);
	fake_fill(pathf("%s/unified", top), FAKE_UNIFIED_BARE, true);
	if (!with_quota) {
		unlink(pathf("%s/cpu/cpu.cfs_quota_us", top));
		unlink(pathf("%s/cpu/cpu.cfs_period_us", top));
	}
}

static void fake_v1_mounts(void)
{
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));

	mkdirs(pathf("%s/cpu,cpuacct", top));
	mkdirs(pathf("%s/cpuset", top));
	mkdirs(pathf("%s/memory", top));
	mkdirs(pathf("%s/systemd", top));
	fake_fill(pathf("%s/cpu,cpuacct", top), FAKE_V1_CPU, true);
	fake_fill(pathf("%s/cpuset", top), FAKE_V1_CPUSET, true);
}

/* ---- state.json ------------------------------------------------------ */

static struct json_object *state_json(void)
{
	struct json_object *root = json_object_from_file(pathf("%s/state.json", fake.run_dir));

	cr_assert_not_null(root, "state.json missing or not JSON");
	return root;
}

/* How many saved entries name path; *value gets the last one's value. */
static int state_saved(struct json_object *root, const char *path, const char **value)
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

static bool state_created(struct json_object *root, const char *rel)
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
static void restart_agent(void)
{
	cg_journal_reset();
	cr_assert_eq(cg_journal_load(&fake), 0);
}

/* ======================================================================== */

TestSuite(cgroup_text);

Test(cgroup_text, rel_valid_table)
{
	static const struct {
		const char *rel;
		bool valid;
	} cases[] = {
		{ "triage", true },
		{ "triage/critical/detector", true },
		{ "triage/best-effort", true },
		{ "a.b/c..d/...", true },
		{ "", false },
		{ "/triage", false },
		{ "triage/", false },
		{ "triage//critical", false },
		{ ".", false },
		{ "..", false },
		{ "triage/../etc", false },
		{ "triage/./critical", false },
		{ "triage/..", false },
		{ "../triage", false },
		{ "/", false },
	};
	char *longest = malloc(PATH_MAX + 1);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(cg_rel_valid(cases[i].rel), cases[i].valid, "\"%s\"", cases[i].rel);
	cr_expect_not(cg_rel_valid(NULL));
	memset(longest, 'a', PATH_MAX);
	longest[PATH_MAX] = '\0';
	cr_expect_not(cg_rel_valid(longest));
	longest[PATH_MAX - 1] = '\0';
	cr_expect(cg_rel_valid(longest));
	free(longest);
}

Test(cgroup_text, join)
{
	char out[64];

	cr_assert_eq(cg_join(out, sizeof(out), "/sys/fs/cgroup", "triage"), 0);
	cr_expect_str_eq(out, "/sys/fs/cgroup/triage");
	cr_assert_eq(cg_join(out, sizeof(out), "/sys/fs/cgroup/", "/triage"), 0);
	cr_expect_str_eq(out, "/sys/fs/cgroup/triage");
	cr_assert_eq(cg_join(out, sizeof(out), "/", "triage"), 0);
	cr_expect_str_eq(out, "/triage");
	cr_assert_eq(cg_join(out, sizeof(out), "/sys/fs/cgroup", ""), 0);
	cr_expect_str_eq(out, "/sys/fs/cgroup");
	cr_assert_eq(cg_join(out, sizeof(out), "", "triage/critical"), 0);
	cr_expect_str_eq(out, "triage/critical");
	cr_expect_eq(cg_join(out, 8, "/sys/fs/cgroup", "triage"), -ENAMETOOLONG);
	cr_expect_eq(cg_join(NULL, 8, "a", "b"), -EINVAL);
}

Test(cgroup_text, proc_cgroup_v2_only)
{
	const char *text = "0::/user.slice/user-1000.slice/session-2.scope\n";
	char out[PATH_MAX];

	cr_assert_eq(cg_parse_proc_cgroup(text, "", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/user.slice/user-1000.slice/session-2.scope");
	cr_expect_eq(cg_parse_proc_cgroup(text, "cpu", out, sizeof(out)), -ENOENT);
	cr_expect_eq(cg_parse_proc_cgroup(text, "", out, 8), -ENAMETOOLONG);
}

Test(cgroup_text, proc_cgroup_hybrid)
{
	const char *text = "12:cpuset:/triage/critical/detector\n"
			   "9:name=systemd:/system.slice/detector.service\n"
			   "4:memory:/system.slice/detector.service\n"
			   "3:cpuacct:/\n"
			   "2:cpu:/triage/critical/detector\n"
			   "0::/triage/critical/detector\n";
	char out[PATH_MAX];

	cr_assert_eq(cg_parse_proc_cgroup(text, "", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/triage/critical/detector");
	cr_assert_eq(cg_parse_proc_cgroup(text, "cpu", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/triage/critical/detector");
	cr_assert_eq(cg_parse_proc_cgroup(text, "cpuacct", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/");
	cr_assert_eq(cg_parse_proc_cgroup(text, "memory", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/system.slice/detector.service");
	/* a named hierarchy is not the unified one */
	cr_expect_eq(cg_parse_proc_cgroup("9:name=systemd:/x\n", "", out, sizeof(out)), -ENOENT);
	cr_expect_eq(cg_parse_proc_cgroup(text, "pids", out, sizeof(out)), -ENOENT);
}

Test(cgroup_text, proc_cgroup_v1_comounted)
{
	/* no trailing newline, a path holding ':' */
	const char *text = "5:cpuset:/\n"
			   "3:cpu,cpuacct:/user.slice/a:b";
	char out[PATH_MAX];

	cr_assert_eq(cg_parse_proc_cgroup(text, "cpu", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/user.slice/a:b");
	cr_assert_eq(cg_parse_proc_cgroup(text, "cpuacct", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/user.slice/a:b");
	cr_assert_eq(cg_parse_proc_cgroup(text, "cpuset", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/");
	/* "cpu" must match a whole controller name, not a prefix */
	cr_expect_eq(cg_parse_proc_cgroup("5:cpuset:/x\n", "cpu", out, sizeof(out)), -ENOENT);
	cr_expect_eq(cg_parse_proc_cgroup(text, "", out, sizeof(out)), -ENOENT);
}

Test(cgroup_text, proc_path_of_self_and_of_nobody)
{
	char out[PATH_MAX];

	cr_assert_eq(cg_proc_path(getpid(), out, sizeof(out)), 0);
	cr_expect_eq(out[0], '/');
	cr_expect_eq(cg_proc_path(2147483646, out, sizeof(out)), -ESRCH);
	cr_expect_eq(cg_proc_path(0, out, sizeof(out)), -EINVAL);
}

Test(cgroup_text, quota_format_v2)
{
	char out[64];

	cr_assert_eq(cg_quota_format_v2(1.5, 100000, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "150000 100000");
	cr_assert_eq(cg_quota_format_v2(CG_QUOTA_MAX, 100000, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "max 100000");
	/* rounded to the microsecond, never under the kernel's 1 ms */
	cr_assert_eq(cg_quota_format_v2(0.333333, 10000, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "3333 10000");
	cr_assert_eq(cg_quota_format_v2(0.001, 100000, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "1000 100000");
	cr_assert_eq(cg_quota_format_v2(0, 100000, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "1000 100000");
	cr_expect_eq(cg_quota_format_v2(1.0, 0, out, sizeof(out)), -EINVAL);
	cr_expect_eq(cg_quota_format_v2(1.0, 100000, out, 4), -ENAMETOOLONG);
	cr_expect_eq(cg_quota_format_v2(1e12, 100000, out, sizeof(out)), -ERANGE);
}

Test(cgroup_text, quota_parse_v2)
{
	double cores = 0;

	cr_assert_eq(cg_quota_parse_v2("150000 100000\n", &cores), 0);
	cr_expect_float_eq(cores, 1.5, 1e-9);
	cr_assert_eq(cg_quota_parse_v2("max 100000", &cores), 0);
	cr_expect_eq(cores, CG_QUOTA_MAX);
	cr_assert_eq(cg_quota_parse_v2("25000 50000", &cores), 0);
	cr_expect_float_eq(cores, 0.5, 1e-9);
	cr_expect_eq(cg_quota_parse_v2("", &cores), -EINVAL);
	cr_expect_eq(cg_quota_parse_v2("max", &cores), -EINVAL);
	cr_expect_eq(cg_quota_parse_v2("100 0", &cores), -EINVAL);
	cr_expect_eq(cg_quota_parse_v2("12x 100000", &cores), -EINVAL);
	cr_expect_eq(cg_quota_parse_v2("1000 100000 7", &cores), -EINVAL);
}

Test(cgroup_text, mode_names)
{
	cr_expect_str_eq(cg_mode_name(CG_MODE_V2), "v2");
	cr_expect_str_eq(cg_mode_name(CG_MODE_HYBRID), "hybrid");
	cr_expect_str_eq(cg_mode_name(CG_MODE_V1), "v1");
	cr_expect_str_eq(cg_mode_name(CG_MODE_NONE), "none");
}

/* ======================================================================== */

TestSuite(cgroup_probe, .init = scratch_setup, .fini = scratch_teardown);

Test(cgroup_probe, v2)
{
	char err[256] = "";
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));

	mkdirs(top);
	put(pathf("%s/cgroup.controllers", top), "cpuset cpu io memory hugetlb pids rdma misc");
	strcpy(fake.run_dir, "/run/triage");
	cr_assert_eq(cg_probe(&fake, write_mountinfo(mountinfo_v2), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(fake.mode, CG_MODE_V2);
	cr_expect_str_eq(fake.unified, top);
	cr_expect_str_eq(fake.cpu, top);
	cr_expect_str_eq(fake.cpuset, top);
	cr_expect(fake.cfs_bandwidth);
	cr_expect_str_eq(fake.run_dir, "/run/triage", "probing must keep the caller's run_dir");
}

Test(cgroup_probe, v2_without_cpuset)
{
	char err[256] = "";
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));

	mkdirs(top);
	put(pathf("%s/cgroup.controllers", top), "cpu io memory pids");
	cr_assert_eq(cg_probe(&fake, write_mountinfo(mountinfo_v2), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(fake.mode, CG_MODE_V2);
	cr_expect_str_eq(fake.cpu, top);
	cr_expect_str_eq(fake.cpuset, "");
	mkdirs(pathf("%s/triage", top));
	cr_expect_eq(cg_set_cpus(&fake, "triage", "0-1"), -EOPNOTSUPP);
}

Test(cgroup_probe, v2_without_cpu_is_an_error)
{
	char err[256] = "";
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));

	mkdirs(top);
	put(pathf("%s/cgroup.controllers", top), "cpuset io memory pids");
	cr_expect_eq(cg_probe(&fake, write_mountinfo(mountinfo_v2), err, sizeof(err)), -1);
	cr_expect(strstr(err, "no cpu controller"), "message: %s", err);
	cr_expect_eq(fake.mode, CG_MODE_NONE);
}

Test(cgroup_probe, hybrid_real_layout)
{
	char err[256] = "";
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));

	fake_hybrid_mounts(true);
	cr_assert_eq(cg_probe(&fake, write_mountinfo(mountinfo_hybrid), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(fake.mode, CG_MODE_HYBRID);
	cr_expect_str_eq(fake.cpu, pathf("%s/cpu", top));
	cr_expect_str_eq(fake.cpuset, pathf("%s/cpuset", top));
	cr_expect_str_eq(fake.unified, pathf("%s/unified", top));
	cr_expect(fake.cfs_bandwidth);
}

Test(cgroup_probe, hybrid_without_cfs_bandwidth)
{
	char err[256] = "";

	fake_hybrid_mounts(false);
	cr_assert_eq(cg_probe(&fake, write_mountinfo(mountinfo_hybrid), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(fake.mode, CG_MODE_HYBRID);
	cr_expect_not(fake.cfs_bandwidth);
	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_expect_eq(cg_set_quota(&fake, "triage", 1.0, 100000), -EOPNOTSUPP);
	cr_expect_eq(cg_set_weight(&fake, "triage", 200), 0);
}

Test(cgroup_probe, v1_comounted_cpu_cpuacct)
{
	char err[256] = "";
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));

	fake_v1_mounts();
	cr_assert_eq(cg_probe(&fake, write_mountinfo(mountinfo_v1), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(fake.mode, CG_MODE_V1);
	cr_expect_str_eq(fake.cpu, pathf("%s/cpu,cpuacct", top));
	cr_expect_str_eq(fake.cpuset, pathf("%s/cpuset", top));
	cr_expect_str_eq(fake.unified, "");
	cr_expect(fake.cfs_bandwidth);
}

Test(cgroup_probe, escaped_mount_point)
{
	char err[256] = "";
	const char *dir = keep(pathf("%s/my cgroup", tmp));

	mkdirs(dir);
	put(pathf("%s/cgroup.controllers", dir), "cpu");
	cr_assert_eq(cg_probe(&fake,
			      write_mountinfo("30 1 0:9 / @/my\\040cgroup rw - cgroup2 none rw\n"),
			      err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(fake.mode, CG_MODE_V2);
	cr_expect_str_eq(fake.unified, dir);
}

Test(cgroup_probe, nothing_mounted)
{
	char err[256] = "";

	cr_expect_eq(cg_probe(&fake,
			      write_mountinfo("24 30 0:22 / /proc rw - proc proc rw\n"
					      "25 30 0:23 / /tmp rw - tmpfs tmpfs rw\n"),
			      err, sizeof(err)),
		     -1);
	cr_expect_eq(fake.mode, CG_MODE_NONE);
	cr_expect_neq(err[0], '\0');
	cr_expect_eq(cg_create(&fake, "triage"), -ENODEV);
	cr_expect_eq(cg_probe(&fake, pathf("%s/no-such-file", tmp), err, sizeof(err)), -1);
}

Test(cgroup_probe, this_host)
{
	struct cg_env env = { 0 };
	char err[256] = "";

	/* whatever the host, a probe either finds a mode or says why not */
	if (cg_probe(&env, NULL, err, sizeof(err)) == 0)
		cr_expect_neq(env.mode, CG_MODE_NONE);
	else
		cr_expect_neq(err[0], '\0');
}

/* ======================================================================== */

TestSuite(cgroup_journal, .init = scratch_setup, .fini = scratch_teardown);

Test(cgroup_journal, v2_end_to_end)
{
	const char *root = fake_v2_tree(true);
	const char *rel = "triage/critical/detector";
	const char *det = keep(pathf("%s/%s", root, rel));
	struct json_object *state;
	const char *value = NULL;
	double cores = 0;

	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_assert_eq(cg_create(&fake, "triage/critical"), 0);
	cr_assert_eq(cg_create(&fake, rel), 0);
	cr_assert_eq(cg_create(&fake, rel), 0, "an existing cgroup is fine");
	cr_expect(exists(det));
	/* the last of "+cpu" then "+cpuset" */
	cr_expect_str_eq(slurp(pathf("%s/cgroup.subtree_control", root)), "+cpuset");
	cr_expect_str_eq(slurp(pathf("%s/triage/critical/cgroup.subtree_control", root)),
			 "+cpuset");

	cr_assert_eq(cg_set_weight(&fake, rel, 500), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpu.weight", det)), "500");
	cr_assert_eq(cg_set_weight(&fake, rel, 700), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpu.weight", det)), "700");
	cr_assert_eq(cg_set_quota(&fake, rel, 1.5, 100000), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpu.max", det)), "150000 100000");
	cr_assert_eq(cg_get_quota(&fake, rel, &cores), 0);
	cr_expect_float_eq(cores, 1.5, 1e-9);
	cr_assert_eq(cg_set_quota(&fake, "triage/critical", CG_QUOTA_MAX, 50000), 0);
	cr_expect_str_eq(slurp(pathf("%s/triage/critical/cpu.max", root)), "max 50000");
	cr_assert_eq(cg_get_quota(&fake, "triage/critical", &cores), 0);
	cr_expect_eq(cores, CG_QUOTA_MAX);
	cr_assert_eq(cg_set_cpus(&fake, rel, "0-1"), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpuset.cpus", det)), "0-1");

	state = state_json();
	cr_expect_eq(state_saved(state, pathf("%s/cpu.weight", det), &value), 1,
		     "the original is saved once, before the first write");
	cr_expect_str_eq(value, "100");
	cr_expect_eq(state_saved(state, pathf("%s/cpu.max", det), &value), 1);
	cr_expect_str_eq(value, "max 100000");
	cr_expect_eq(state_saved(state, pathf("%s/cpuset.cpus", det), &value), 1);
	cr_expect_str_eq(value, "");
	cr_expect_eq(state_saved(state, pathf("%s/cgroup.subtree_control", root), &value), 1);
	cr_expect_str_eq(value, "memory pids");
	cr_expect(state_created(state, "triage"));
	cr_expect(state_created(state, "triage/critical"));
	cr_expect(state_created(state, rel));
	json_object_put(state);
	cr_expect_not(exists(pathf("%s/state.json.tmp", fake.run_dir)));

	restart_agent();
	cr_assert_eq(cg_restore_all(&fake), 0);
	cr_expect_not(exists(pathf("%s/triage", root)), "created cgroups are removed");
	/* what triage enabled is disabled again, cpu last */
	cr_expect_str_eq(slurp(pathf("%s/cgroup.subtree_control", root)), "-cpu");
	cr_expect_not(exists(pathf("%s/state.json", fake.run_dir)));
}

Test(cgroup_journal, v2_busy_cgroup_is_kept_with_knobs_restored)
{
	const char *root = fake_v2_tree(true);
	const char *rel = "triage/critical/detector";
	const char *det = keep(pathf("%s/%s", root, rel));
	char pid[16];
	pid_t *pids = NULL;

	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_assert_eq(cg_create(&fake, "triage/critical"), 0);
	cr_assert_eq(cg_create(&fake, rel), 0);
	cr_assert_eq(cg_move_process(&fake, rel, getpid()), 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	cr_expect_str_eq(slurp(pathf("%s/cgroup.procs", det)), pid);
	cr_assert_eq(cg_list_procs(&fake, rel, &pids), 1);
	cr_expect_eq(pids[0], getpid());
	free(pids);
	cr_assert_eq(cg_set_weight(&fake, rel, 20), 0);
	cr_assert_eq(cg_set_quota(&fake, rel, 0.25, 0), 0, "period 0 is the default one");
	cr_expect_str_eq(slurp(pathf("%s/cpu.max", det)), "25000 100000");
	cr_assert_eq(cg_set_cpus(&fake, rel, "3"), 0);
	cr_expect_eq(cg_remove(&fake, rel), -EBUSY);

	restart_agent();
	cr_assert_eq(cg_restore_all(&fake), 0, "a cgroup still in use is kept, not a failure");
	cr_expect(exists(det));
	cr_expect_str_eq(slurp(pathf("%s/cpu.weight", det)), "100");
	cr_expect_str_eq(slurp(pathf("%s/cpu.max", det)), "max 100000");
	cr_expect_str_eq(slurp(pathf("%s/cpuset.cpus", det)), "");
}

Test(cgroup_journal, v2_without_cpu_max_turns_quota_off)
{
	const char *root = fake_v2_tree(false);
	double cores;

	cr_assert_eq(cg_create(&fake, "off"), 0);
	cr_assert_eq(cg_create(&fake, "a"), 0);
	cr_assert_eq(cg_create(&fake, "b"), 0);
	/* no cpu.* at all: the controller is off there, not the knob */
	unlink(pathf("%s/off/cpu.max", root));
	unlink(pathf("%s/off/cpu.weight", root));
	cr_expect_eq(cg_set_quota(&fake, "off", 1.0, 100000), -EOPNOTSUPP);
	cr_assert_eq(cg_set_quota(&fake, "b", 1.0, 100000), 0);
	/* cpu.weight without cpu.max: a kernel without CFS_BANDWIDTH */
	unlink(pathf("%s/a/cpu.max", root));
	cr_expect_eq(cg_set_quota(&fake, "a", 1.0, 100000), -EOPNOTSUPP);
	cr_expect_eq(cg_set_quota(&fake, "b", 1.0, 100000), -EOPNOTSUPP);
	cr_expect_eq(cg_get_quota(&fake, "b", &cores), -EOPNOTSUPP);
	cr_expect_eq(cg_set_weight(&fake, "a", 300), 0);
	/* no cpuset controller: only cpu is handed down */
	cr_expect_str_eq(slurp(pathf("%s/cgroup.subtree_control", root)), "+cpu");
	cr_expect_eq(cg_set_cpus(&fake, "a", "0"), -EOPNOTSUPP);
	cr_expect_eq(cg_restore_all(&fake), 0);
	cr_expect_not(exists(pathf("%s/a", root)));
}

Test(cgroup_journal, hybrid_end_to_end)
{
	char err[256] = "";
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));
	const char *rel = "triage/critical/detector";
	char dirs[3][PATH_MAX];
	char **names = NULL;
	pid_t *pids = NULL;
	pid_t expect[3];
	struct json_object *state;
	const char *value = NULL;
	char pid[16];
	uint64_t id = 0;
	struct stat st;
	double cores = 0;

	fake_hybrid_mounts(true);
	cr_assert_eq(cg_probe(&fake, write_mountinfo(mountinfo_hybrid), err, sizeof(err)), 0, "%s",
		     err);
	snprintf(fake.run_dir, sizeof(fake.run_dir), "%s/run", tmp);

	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_assert_eq(cg_create(&fake, "triage/critical"), 0);
	cr_assert_eq(cg_create(&fake, rel), 0);
	cr_expect(cg_exists(&fake, rel));
	cr_expect_not(cg_exists(&fake, "triage/high"));
	/* a v1 cpuset starts empty and would refuse tasks */
	cr_expect_str_eq(slurp(pathf("%s/cpuset/%s/cpuset.cpus", top, rel)), "0-3");
	cr_expect_str_eq(slurp(pathf("%s/cpuset/%s/cpuset.mems", top, rel)), "0");
	cr_expect(exists(pathf("%s/cpu/%s", top, rel)));
	cr_expect(exists(pathf("%s/unified/%s", top, rel)));
	/* no other controller's hierarchy is touched; nothing is enabled in
	 * an unified hierarchy that carries no controller */
	cr_expect_not(exists(pathf("%s/memory/triage", top)));
	cr_expect_not(exists(pathf("%s/pids/triage", top)));
	cr_expect_not(exists(pathf("%s/cpuacct/triage", top)));
	cr_expect_str_eq(slurp(pathf("%s/unified/cgroup.subtree_control", top)), "");

	cr_assert_eq(cg_dirs(&fake, rel, dirs, 3), 3);
	cr_expect_str_eq(dirs[0], pathf("%s/cpuset/%s", top, rel));
	cr_expect_str_eq(dirs[1], pathf("%s/cpu/%s", top, rel));
	cr_expect_str_eq(dirs[2], pathf("%s/unified/%s", top, rel));
	cr_expect_eq(cg_dirs(&fake, rel, dirs, 1), 1);

	cr_assert_eq(cg_id(&fake, rel, &id), 0);
	cr_assert_eq(stat(pathf("%s/unified/%s", top, rel), &st), 0);
	cr_expect_eq(id, (uint64_t)st.st_ino);

	cr_assert_eq(cg_create(&fake, "triage/best-effort"), 0);
	cr_assert_eq(cg_list_children(&fake, "triage", &names), 2);
	cr_expect_str_eq(names[0], "best-effort");
	cr_expect_str_eq(names[1], "critical");
	cr_expect_null(names[2]);
	cg_free_names(names);
	cr_assert_eq(cg_list_children(&fake, rel, &names), 0);
	cr_expect_null(names[0]);
	cg_free_names(names);

	cr_assert_eq(cg_move_process(&fake, rel, getpid()), 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	cr_expect_str_eq(slurp(pathf("%s/cpuset/%s/cgroup.procs", top, rel)), pid);
	cr_expect_str_eq(slurp(pathf("%s/cpu/%s/cgroup.procs", top, rel)), pid);
	cr_expect_str_eq(slurp(pathf("%s/unified/%s/cgroup.procs", top, rel)), pid);
	/* the union over the hierarchies, sorted, once each */
	put(pathf("%s/cpu/%s/cgroup.procs", top, rel), pathf("7\n%d", (int)getpid()));
	put(pathf("%s/unified/%s/cgroup.procs", top, rel), "3\n7");
	expect[0] = 3;
	expect[1] = getpid() < 7 ? getpid() : 7;
	expect[2] = getpid() < 7 ? 7 : getpid();
	cr_assert_eq(cg_list_procs(&fake, rel, &pids), 3);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(pids[i], expect[i]);
	free(pids);
	cr_expect_eq(cg_list_procs(&fake, "triage/none", &pids), -ENOENT);

	cr_assert_eq(cg_set_weight(&fake, rel, 50), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpu/%s/cpu.shares", top, rel)), "512");
	cr_assert_eq(cg_set_quota(&fake, rel, 0.5, 50000), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpu/%s/cpu.cfs_period_us", top, rel)), "50000");
	cr_expect_str_eq(slurp(pathf("%s/cpu/%s/cpu.cfs_quota_us", top, rel)), "25000");
	cr_assert_eq(cg_get_quota(&fake, rel, &cores), 0);
	cr_expect_float_eq(cores, 0.5, 1e-9);
	cr_assert_eq(cg_set_cpus(&fake, rel, "1"), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpuset/%s/cpuset.cpus", top, rel)), "1");
	cr_assert_eq(cg_set_cpus(&fake, rel, ""), 0, "\"\" means the parent's CPUs");
	cr_expect_str_eq(slurp(pathf("%s/cpuset/%s/cpuset.cpus", top, rel)), "0-3");

	state = state_json();
	cr_expect_eq(state_saved(state, pathf("%s/cpu/%s/cpu.shares", top, rel), &value), 1);
	cr_expect_str_eq(value, "1024");
	cr_expect_eq(state_saved(state, pathf("%s/cpu/%s/cpu.cfs_quota_us", top, rel), &value), 1);
	cr_expect_str_eq(value, "-1");
	cr_expect_eq(state_saved(state, pathf("%s/cpu/%s/cpu.cfs_period_us", top, rel), &value), 1);
	cr_expect_str_eq(value, "100000");
	cr_expect_eq(state_saved(state, pathf("%s/cpuset/%s/cpuset.cpus", top, rel), &value), 1);
	cr_expect_str_eq(value, "0-3");
	cr_expect(state_created(state, "triage/best-effort"));
	json_object_put(state);

	/* the process leaves, the agent dies and a new one cleans up */
	put(pathf("%s/cpuset/%s/cgroup.procs", top, rel), "");
	put(pathf("%s/cpu/%s/cgroup.procs", top, rel), "");
	put(pathf("%s/unified/%s/cgroup.procs", top, rel), "");
	restart_agent();
	cr_assert_eq(cg_restore_all(&fake), 0);
	cr_expect_not(exists(pathf("%s/cpuset/triage", top)));
	cr_expect_not(exists(pathf("%s/cpu/triage", top)));
	cr_expect_not(exists(pathf("%s/unified/triage", top)));
	cr_expect_not(exists(pathf("%s/state.json", fake.run_dir)));
}

Test(cgroup_journal, v1_originals_come_back)
{
	char err[256] = "";
	const char *top = keep(pathf("%s/sys/fs/cgroup", tmp));
	const char *cpu = keep(pathf("%s/cpu,cpuacct/triage", top));
	const char *cpuset = keep(pathf("%s/cpuset/triage", top));

	fake_v1_mounts();
	cr_assert_eq(cg_probe(&fake, write_mountinfo(mountinfo_v1), err, sizeof(err)), 0, "%s",
		     err);
	snprintf(fake.run_dir, sizeof(fake.run_dir), "%s/run", tmp);
	/* "triage" was there before the agent, with values of its own */
	mkdirs(cpu);
	mkdirs(cpuset);
	fake_fill(cpu, FAKE_V1_CPU, false);
	fake_fill(cpuset, FAKE_V1_CPUSET, false);
	put(pathf("%s/cpu.shares", cpu), "2048");
	put(pathf("%s/cpu.cfs_quota_us", cpu), "200000");
	put(pathf("%s/cpuset.cpus", cpuset), "0-2");
	put(pathf("%s/cpuset.mems", cpuset), "0");

	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_assert_eq(cg_create(&fake, "triage/critical"), 0);
	cr_expect_str_eq(slurp(pathf("%s/critical/cpuset.cpus", cpuset)), "0-2");
	cr_assert_eq(cg_set_weight(&fake, "triage", 1), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpu.shares", cpu)), "10");
	cr_assert_eq(cg_set_quota(&fake, "triage", 0.5, 20000), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpu.cfs_period_us", cpu)), "20000");
	cr_expect_str_eq(slurp(pathf("%s/cpu.cfs_quota_us", cpu)), "10000");
	cr_assert_eq(cg_set_quota(&fake, "triage", CG_QUOTA_MAX, 20000), 0);
	cr_expect_str_eq(slurp(pathf("%s/cpu.cfs_quota_us", cpu)), "-1");
	cr_assert_eq(cg_set_cpus(&fake, "triage", "1"), 0);
	cr_assert_eq(cg_set_cpus(&fake, "triage/critical", "1"), 0);

	restart_agent();
	cr_assert_eq(cg_restore_all(&fake), 0);
	cr_expect(exists(cpu), "a cgroup triage did not make stays");
	cr_expect(exists(cpuset));
	cr_expect_not(exists(pathf("%s/critical", cpu)));
	cr_expect_not(exists(pathf("%s/critical", cpuset)));
	cr_expect_str_eq(slurp(pathf("%s/cpu.shares", cpu)), "2048");
	cr_expect_str_eq(slurp(pathf("%s/cpu.cfs_quota_us", cpu)), "200000");
	cr_expect_str_eq(slurp(pathf("%s/cpu.cfs_period_us", cpu)), "100000");
	cr_expect_str_eq(slurp(pathf("%s/cpuset.cpus", cpuset)), "0-2");
}

Test(cgroup_journal, adopted_originals_win)
{
	const char *root = fake_v2_tree(true);
	const char *weight = keep(pathf("%s/triage/cpu.weight", root));
	const char *value = NULL;
	struct json_object *state;

	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_assert_eq(cg_set_weight(&fake, "triage", 700), 0);
	/* killed with -9: a second agent that writes before it loads the
	 * journal must not take the first one's 700 for an original */
	cg_journal_reset();
	cr_assert_eq(cg_set_weight(&fake, "triage", 300), 0);
	cr_assert_eq(cg_journal_load(&fake), 0);
	state = state_json();
	cr_expect_eq(state_saved(state, weight, &value), 1);
	cr_expect_str_eq(value, "100");
	json_object_put(state);
	cr_assert_eq(cg_restore_all(&fake), 0);
	cr_expect_not(exists(pathf("%s/triage", root)));
}

Test(cgroup_journal, untrusted_entries_are_skipped)
{
	const char *root = fake_v2_tree(true);
	const char *outside = keep(pathf("%s/outside", tmp));
	const char *inside = keep(pathf("%s/triage/cpu.weight", root));

	mkdirs(pathf("%s/triage", root));
	fake_fill(pathf("%s/triage", root), FAKE_V2, false);
	put(outside, "keep");
	put(inside, "400");
	mkdirs(fake.run_dir);
	put(pathf("%s/state.json", fake.run_dir),
	    pathf("{\"saved\":[{\"path\":\"%s\",\"value\":\"x\"},"
		  "{\"path\":\"%s/../outside\",\"value\":\"x\"},"
		  "{\"path\":\"%s\",\"value\":\"100\"},{\"path\":7}],"
		  "\"created\":[\"../etc\",\"/abs\",\"triage\",3]}",
		  outside, root, inside));
	cr_assert_eq(cg_journal_load(&fake), 0);
	put(pathf("%s/triage/cgroup.procs", root), "1");
	cr_assert_eq(cg_restore_all(&fake), 0);
	cr_expect_str_eq(slurp(outside), "keep");
	cr_expect_str_eq(slurp(inside), "100");
	cr_expect(exists(pathf("%s/triage", root)), "kept: it holds a task");
}

Test(cgroup_journal, broken_state_file_is_moved_aside)
{
	const char *state;

	fake_v2_tree(true);
	mkdirs(fake.run_dir);
	state = keep(pathf("%s/state.json", fake.run_dir));
	put(state, "{\"saved\": [");
	cr_expect_eq(cg_journal_load(&fake), -EINVAL);
	cr_expect_not(exists(state));
	cr_expect_str_eq(slurp(pathf("%s.bad", state)), "{\"saved\": [");
	put(state, "{\"saved\": {}}");
	cr_expect_eq(cg_journal_load(&fake), -EINVAL);
	cr_expect_str_eq(slurp(pathf("%s.bad", state)), "{\"saved\": {}}");
	cr_expect_eq(cg_journal_load(&fake), 0, "no journal is not an error");
}

Test(cgroup_journal, remove_forgets_the_cgroup)
{
	const char *root = fake_v2_tree(true);
	struct json_object *state;

	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_assert_eq(cg_create(&fake, "triage/gone"), 0);
	cr_assert_eq(cg_set_weight(&fake, "triage/gone", 50), 0);
	cr_assert_eq(cg_remove(&fake, "triage/gone"), 0);
	cr_expect_not(exists(pathf("%s/triage/gone", root)));
	cr_expect_eq(cg_remove(&fake, "triage/gone"), 0, "already gone is fine");
	state = state_json();
	cr_expect_not(state_created(state, "triage/gone"));
	cr_expect(state_created(state, "triage"));
	cr_expect_eq(state_saved(state, pathf("%s/triage/gone/cpu.weight", root), NULL), 0);
	json_object_put(state);
	cr_expect_eq(cg_remove(&fake, "triage"), 0);
	cr_expect_eq(cg_restore_all(&fake), 0);
}

Test(cgroup_journal, no_run_dir_keeps_the_journal_in_memory)
{
	const char *root = fake_v2_tree(true);

	fake.run_dir[0] = '\0';
	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_assert_eq(cg_set_weight(&fake, "triage", 9000), 0);
	cr_expect_not(exists(pathf("%s/run", tmp)));
	put(pathf("%s/triage/cgroup.procs", root), "1");
	cr_assert_eq(cg_restore_all(&fake), 0);
	cr_expect_str_eq(slurp(pathf("%s/triage/cpu.weight", root)), "100");
}

Test(cgroup_journal, bad_arguments)
{
	uint64_t id;
	double cores;
	pid_t *pids;
	char **names;
	char dirs[1][PATH_MAX];

	fake_v2_tree(true);
	cr_expect_eq(cg_create(&fake, "../x"), -EINVAL);
	cr_expect_eq(cg_create(&fake, "/triage"), -EINVAL);
	cr_expect_eq(cg_remove(&fake, "a//b"), -EINVAL);
	cr_expect_not(cg_exists(&fake, ".."));
	cr_expect_eq(cg_move_process(&fake, "", getpid()), -EINVAL);
	cr_expect_eq(cg_set_weight(&fake, "triage/", 100), -EINVAL);
	cr_expect_eq(cg_set_quota(&fake, "./triage", 1, 100000), -EINVAL);
	cr_expect_eq(cg_set_cpus(&fake, "triage/..", "0"), -EINVAL);
	cr_expect_eq(cg_get_quota(&fake, "..", &cores), -EINVAL);
	cr_expect_eq(cg_list_procs(&fake, "/", &pids), -EINVAL);
	cr_expect_eq(cg_list_children(&fake, "a/../b", &names), -EINVAL);
	cr_expect_eq(cg_id(&fake, "", &id), -EINVAL);
	cr_expect_eq(cg_dirs(&fake, "x/", dirs, 1), -EINVAL);

	cr_assert_eq(cg_create(&fake, "triage"), 0);
	cr_expect_eq(cg_set_weight(&fake, "triage", 0), -EINVAL);
	cr_expect_eq(cg_set_weight(&fake, "triage", 10001), -EINVAL);
	cr_expect_eq(cg_set_quota(&fake, "triage", 1, 999), -EINVAL);
	cr_expect_eq(cg_set_quota(&fake, "triage", 1, 2000000), -EINVAL);
	cr_expect_eq(cg_set_weight(&fake, "triage/missing", 100), -ENOENT);
	cr_expect_eq(cg_create(&fake, "no/parent"), -ENOENT);
	cr_expect_eq(cg_move_process(&fake, "triage", 0), -EINVAL);
	cr_expect_eq(cg_restore_all(&fake), 0);
}

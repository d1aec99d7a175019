// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The cgroup back end's pure helpers: relative paths, /proc/PID/cgroup,
 * quota text, mode names. No files, no root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "cgroup/cgroup.h"
#include "cgroup/cgroup_impl.h"

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

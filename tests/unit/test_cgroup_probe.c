// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Mode detection without root: cgroup v2, hybrid and v1 layouts from
 * mountinfo samples over trees of plain files (cgroup_fixture.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "cgroup_fixture.h"

TestSuite(cgroup_probe, .init = cgt_setup, .fini = cgt_teardown);

Test(cgroup_probe, v2)
{
	char err[256] = "";
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));

	cgt_mkdirs(top);
	cgt_put(cgt_path("%s/cgroup.controllers", top), "cpuset cpu io memory hugetlb pids rdma misc");
	strcpy(cgt_env.run_dir, "/run/triage");
	cr_assert_eq(cg_probe(&cgt_env, cgt_write_mountinfo(cgt_mountinfo_v2), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(cgt_env.mode, CG_MODE_V2);
	cr_expect_str_eq(cgt_env.unified, top);
	cr_expect_str_eq(cgt_env.cpu, top);
	cr_expect_str_eq(cgt_env.cpuset, top);
	cr_expect(cgt_env.cfs_bandwidth);
	cr_expect_str_eq(cgt_env.run_dir, "/run/triage", "probing must keep the caller's run_dir");
}

Test(cgroup_probe, v2_without_cpuset)
{
	char err[256] = "";
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));

	cgt_mkdirs(top);
	cgt_put(cgt_path("%s/cgroup.controllers", top), "cpu io memory pids");
	cr_assert_eq(cg_probe(&cgt_env, cgt_write_mountinfo(cgt_mountinfo_v2), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(cgt_env.mode, CG_MODE_V2);
	cr_expect_str_eq(cgt_env.cpu, top);
	cr_expect_str_eq(cgt_env.cpuset, "");
	cgt_mkdirs(cgt_path("%s/triage", top));
	cr_expect_eq(cg_set_cpus(&cgt_env, "triage", "0-1"), -EOPNOTSUPP);
}

Test(cgroup_probe, v2_without_cpu_is_an_error)
{
	char err[256] = "";
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));

	cgt_mkdirs(top);
	cgt_put(cgt_path("%s/cgroup.controllers", top), "cpuset io memory pids");
	cr_expect_eq(cg_probe(&cgt_env, cgt_write_mountinfo(cgt_mountinfo_v2), err, sizeof(err)), -1);
	cr_expect(strstr(err, "no cpu controller"), "message: %s", err);
	cr_expect_eq(cgt_env.mode, CG_MODE_NONE);
}

Test(cgroup_probe, hybrid_real_layout)
{
	char err[256] = "";
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));

	cgt_fake_hybrid_mounts(true);
	cr_assert_eq(cg_probe(&cgt_env, cgt_write_mountinfo(cgt_mountinfo_hybrid), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(cgt_env.mode, CG_MODE_HYBRID);
	cr_expect_str_eq(cgt_env.cpu, cgt_path("%s/cpu", top));
	cr_expect_str_eq(cgt_env.cpuset, cgt_path("%s/cpuset", top));
	cr_expect_str_eq(cgt_env.unified, cgt_path("%s/unified", top));
	cr_expect(cgt_env.cfs_bandwidth);
}

Test(cgroup_probe, hybrid_without_cfs_bandwidth)
{
	char err[256] = "";

	cgt_fake_hybrid_mounts(false);
	cr_assert_eq(cg_probe(&cgt_env, cgt_write_mountinfo(cgt_mountinfo_hybrid), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(cgt_env.mode, CG_MODE_HYBRID);
	cr_expect_not(cgt_env.cfs_bandwidth);
	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_expect_eq(cg_set_quota(&cgt_env, "triage", 1.0, 100000), -EOPNOTSUPP);
	cr_expect_eq(cg_set_weight(&cgt_env, "triage", 200), 0);
}

Test(cgroup_probe, v1_comounted_cpu_cpuacct)
{
	char err[256] = "";
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));

	cgt_fake_v1_mounts();
	cr_assert_eq(cg_probe(&cgt_env, cgt_write_mountinfo(cgt_mountinfo_v1), err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(cgt_env.mode, CG_MODE_V1);
	cr_expect_str_eq(cgt_env.cpu, cgt_path("%s/cpu,cpuacct", top));
	cr_expect_str_eq(cgt_env.cpuset, cgt_path("%s/cpuset", top));
	cr_expect_str_eq(cgt_env.unified, "");
	cr_expect(cgt_env.cfs_bandwidth);
}

Test(cgroup_probe, escaped_mount_point)
{
	char err[256] = "";
	const char *dir = cgt_keep(cgt_path("%s/my cgroup", cgt_tmp));

	cgt_mkdirs(dir);
	cgt_put(cgt_path("%s/cgroup.controllers", dir), "cpu");
	cr_assert_eq(cg_probe(&cgt_env,
			      cgt_write_mountinfo("30 1 0:9 / @/my\\040cgroup rw - cgroup2 none rw\n"),
			      err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(cgt_env.mode, CG_MODE_V2);
	cr_expect_str_eq(cgt_env.unified, dir);
}

Test(cgroup_probe, nothing_mounted)
{
	char err[256] = "";

	cr_expect_eq(cg_probe(&cgt_env,
			      cgt_write_mountinfo("24 30 0:22 / /proc rw - proc proc rw\n"
					      "25 30 0:23 / /tmp rw - tmpfs tmpfs rw\n"),
			      err, sizeof(err)),
		     -1);
	cr_expect_eq(cgt_env.mode, CG_MODE_NONE);
	cr_expect_neq(err[0], '\0');
	cr_expect_eq(cg_create(&cgt_env, "triage"), -ENODEV);
	cr_expect_eq(cg_probe(&cgt_env, cgt_path("%s/no-such-file", cgt_tmp), err, sizeof(err)), -1);
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

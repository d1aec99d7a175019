// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The knob journal end to end without root, on trees of plain files that
 * imitate each mode's hierarchies (cgroup_fixture.h): every write journaled
 * first, restored newest first, adopted by a second agent after a kill -9.
 * Real cgroupfs is exercised by the end-to-end tests, as root.
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

TestSuite(cgroup_journal, .init = cgt_setup, .fini = cgt_teardown);

Test(cgroup_journal, v2_end_to_end)
{
	const char *root = cgt_fake_v2_tree(true);
	const char *rel = "triage/critical/detector";
	const char *det = cgt_keep(cgt_path("%s/%s", root, rel));
	struct json_object *state;
	const char *value = NULL;
	double cores = 0;

	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_assert_eq(cg_create(&cgt_env, "triage/critical"), 0);
	cr_assert_eq(cg_create(&cgt_env, rel), 0);
	cr_assert_eq(cg_create(&cgt_env, rel), 0, "an existing cgroup is fine");
	cr_expect(cgt_exists(det));
	/* the last of "+cpu" then "+cpuset" */
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cgroup.subtree_control", root)), "+cpuset");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/triage/critical/cgroup.subtree_control", root)),
			 "+cpuset");

	cr_assert_eq(cg_set_weight(&cgt_env, rel, 500), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.weight", det)), "500");
	cr_assert_eq(cg_set_weight(&cgt_env, rel, 700), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.weight", det)), "700");
	cr_assert_eq(cg_set_quota(&cgt_env, rel, 1.5, 100000), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.max", det)), "150000 100000");
	cr_assert_eq(cg_get_quota(&cgt_env, rel, &cores), 0);
	cr_expect_float_eq(cores, 1.5, 1e-9);
	cr_assert_eq(cg_set_quota(&cgt_env, "triage/critical", CG_QUOTA_MAX, 50000), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/triage/critical/cpu.max", root)), "max 50000");
	cr_assert_eq(cg_get_quota(&cgt_env, "triage/critical", &cores), 0);
	cr_expect_eq(cores, CG_QUOTA_MAX);
	cr_assert_eq(cg_set_cpus(&cgt_env, rel, "0-1"), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpuset.cpus", det)), "0-1");

	state = cgt_state_json();
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/cpu.weight", det), &value), 1,
		     "the original is saved once, before the first write");
	cr_expect_str_eq(value, "100");
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/cpu.max", det), &value), 1);
	cr_expect_str_eq(value, "max 100000");
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/cpuset.cpus", det), &value), 1);
	cr_expect_str_eq(value, "");
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/cgroup.subtree_control", root), &value), 1);
	cr_expect_str_eq(value, "memory pids");
	cr_expect(cgt_state_created(state, "triage"));
	cr_expect(cgt_state_created(state, "triage/critical"));
	cr_expect(cgt_state_created(state, rel));
	json_object_put(state);
	cr_expect_not(cgt_exists(cgt_path("%s/state.json.tmp", cgt_env.run_dir)));

	cgt_restart_agent();
	cr_assert_eq(cg_restore_all(&cgt_env), 0);
	cr_expect_not(cgt_exists(cgt_path("%s/triage", root)), "created cgroups are removed");
	/* what triage enabled is disabled again, cpu last */
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cgroup.subtree_control", root)), "-cpu");
	cr_expect_not(cgt_exists(cgt_path("%s/state.json", cgt_env.run_dir)));
}

Test(cgroup_journal, v2_busy_cgroup_is_kept_with_knobs_restored)
{
	const char *root = cgt_fake_v2_tree(true);
	const char *rel = "triage/critical/detector";
	const char *det = cgt_keep(cgt_path("%s/%s", root, rel));
	char pid[16];
	pid_t *pids = NULL;

	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_assert_eq(cg_create(&cgt_env, "triage/critical"), 0);
	cr_assert_eq(cg_create(&cgt_env, rel), 0);
	cr_assert_eq(cg_move_process(&cgt_env, rel, getpid()), 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cgroup.procs", det)), pid);
	cr_assert_eq(cg_list_procs(&cgt_env, rel, &pids), 1);
	cr_expect_eq(pids[0], getpid());
	free(pids);
	cr_assert_eq(cg_set_weight(&cgt_env, rel, 20), 0);
	cr_assert_eq(cg_set_quota(&cgt_env, rel, 0.25, 0), 0, "period 0 is the default one");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.max", det)), "25000 100000");
	cr_assert_eq(cg_set_cpus(&cgt_env, rel, "3"), 0);
	cr_expect_eq(cg_remove(&cgt_env, rel), -EBUSY);

	cgt_restart_agent();
	cr_assert_eq(cg_restore_all(&cgt_env), 0, "a cgroup still in use is kept, not a failure");
	cr_expect(cgt_exists(det));
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.weight", det)), "100");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.max", det)), "max 100000");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpuset.cpus", det)), "");
}

Test(cgroup_journal, v2_without_cpu_max_turns_quota_off)
{
	const char *root = cgt_fake_v2_tree(false);
	double cores;

	cr_assert_eq(cg_create(&cgt_env, "off"), 0);
	cr_assert_eq(cg_create(&cgt_env, "a"), 0);
	cr_assert_eq(cg_create(&cgt_env, "b"), 0);
	/* no cpu.* at all: the controller is off there, not the knob */
	unlink(cgt_path("%s/off/cpu.max", root));
	unlink(cgt_path("%s/off/cpu.weight", root));
	cr_expect_eq(cg_set_quota(&cgt_env, "off", 1.0, 100000), -EOPNOTSUPP);
	cr_assert_eq(cg_set_quota(&cgt_env, "b", 1.0, 100000), 0);
	/* cpu.weight without cpu.max: a kernel without CFS_BANDWIDTH */
	unlink(cgt_path("%s/a/cpu.max", root));
	cr_expect_eq(cg_set_quota(&cgt_env, "a", 1.0, 100000), -EOPNOTSUPP);
	cr_expect_eq(cg_set_quota(&cgt_env, "b", 1.0, 100000), -EOPNOTSUPP);
	cr_expect_eq(cg_get_quota(&cgt_env, "b", &cores), -EOPNOTSUPP);
	cr_expect_eq(cg_set_weight(&cgt_env, "a", 300), 0);
	/* no cpuset controller: only cpu is handed down */
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cgroup.subtree_control", root)), "+cpu");
	cr_expect_eq(cg_set_cpus(&cgt_env, "a", "0"), -EOPNOTSUPP);
	cr_expect_eq(cg_restore_all(&cgt_env), 0);
	cr_expect_not(cgt_exists(cgt_path("%s/a", root)));
}

Test(cgroup_journal, hybrid_end_to_end)
{
	char err[256] = "";
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));
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

	cgt_fake_hybrid_mounts(true);
	cr_assert_eq(cg_probe(&cgt_env, cgt_write_mountinfo(cgt_mountinfo_hybrid), err, sizeof(err)), 0, "%s",
		     err);
	snprintf(cgt_env.run_dir, sizeof(cgt_env.run_dir), "%s/run", cgt_tmp);

	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_assert_eq(cg_create(&cgt_env, "triage/critical"), 0);
	cr_assert_eq(cg_create(&cgt_env, rel), 0);
	cr_expect(cg_exists(&cgt_env, rel));
	cr_expect_not(cg_exists(&cgt_env, "triage/high"));
	/* a v1 cpuset starts empty and would refuse tasks */
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpuset/%s/cpuset.cpus", top, rel)), "0-3");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpuset/%s/cpuset.mems", top, rel)), "0");
	cr_expect(cgt_exists(cgt_path("%s/cpu/%s", top, rel)));
	cr_expect(cgt_exists(cgt_path("%s/unified/%s", top, rel)));
	/* no other controller's hierarchy is touched; nothing is enabled in
	 * an unified hierarchy that carries no controller */
	cr_expect_not(cgt_exists(cgt_path("%s/memory/triage", top)));
	cr_expect_not(cgt_exists(cgt_path("%s/pids/triage", top)));
	cr_expect_not(cgt_exists(cgt_path("%s/cpuacct/triage", top)));
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/unified/cgroup.subtree_control", top)), "");

	cr_assert_eq(cg_dirs(&cgt_env, rel, dirs, 3), 3);
	cr_expect_str_eq(dirs[0], cgt_path("%s/cpuset/%s", top, rel));
	cr_expect_str_eq(dirs[1], cgt_path("%s/cpu/%s", top, rel));
	cr_expect_str_eq(dirs[2], cgt_path("%s/unified/%s", top, rel));
	cr_expect_eq(cg_dirs(&cgt_env, rel, dirs, 1), 1);

	cr_assert_eq(cg_id(&cgt_env, rel, &id), 0);
	cr_assert_eq(stat(cgt_path("%s/unified/%s", top, rel), &st), 0);
	cr_expect_eq(id, (uint64_t)st.st_ino);

	cr_assert_eq(cg_create(&cgt_env, "triage/best-effort"), 0);
	cr_assert_eq(cg_list_children(&cgt_env, "triage", &names), 2);
	cr_expect_str_eq(names[0], "best-effort");
	cr_expect_str_eq(names[1], "critical");
	cr_expect_null(names[2]);
	cg_free_names(names);
	cr_assert_eq(cg_list_children(&cgt_env, rel, &names), 0);
	cr_expect_null(names[0]);
	cg_free_names(names);

	cr_assert_eq(cg_move_process(&cgt_env, rel, getpid()), 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpuset/%s/cgroup.procs", top, rel)), pid);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu/%s/cgroup.procs", top, rel)), pid);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/unified/%s/cgroup.procs", top, rel)), pid);
	/* the union over the hierarchies, sorted, once each */
	cgt_put(cgt_path("%s/cpu/%s/cgroup.procs", top, rel), cgt_path("7\n%d", (int)getpid()));
	cgt_put(cgt_path("%s/unified/%s/cgroup.procs", top, rel), "3\n7");
	expect[0] = 3;
	expect[1] = getpid() < 7 ? getpid() : 7;
	expect[2] = getpid() < 7 ? 7 : getpid();
	cr_assert_eq(cg_list_procs(&cgt_env, rel, &pids), 3);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(pids[i], expect[i]);
	free(pids);
	cr_expect_eq(cg_list_procs(&cgt_env, "triage/none", &pids), -ENOENT);

	cr_assert_eq(cg_set_weight(&cgt_env, rel, 50), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu/%s/cpu.shares", top, rel)), "512");
	cr_assert_eq(cg_set_quota(&cgt_env, rel, 0.5, 50000), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu/%s/cpu.cfs_period_us", top, rel)), "50000");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu/%s/cpu.cfs_quota_us", top, rel)), "25000");
	cr_assert_eq(cg_get_quota(&cgt_env, rel, &cores), 0);
	cr_expect_float_eq(cores, 0.5, 1e-9);
	cr_assert_eq(cg_set_cpus(&cgt_env, rel, "1"), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpuset/%s/cpuset.cpus", top, rel)), "1");
	cr_assert_eq(cg_set_cpus(&cgt_env, rel, ""), 0, "\"\" means the parent's CPUs");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpuset/%s/cpuset.cpus", top, rel)), "0-3");

	state = cgt_state_json();
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/cpu/%s/cpu.shares", top, rel), &value), 1);
	cr_expect_str_eq(value, "1024");
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/cpu/%s/cpu.cfs_quota_us", top, rel), &value), 1);
	cr_expect_str_eq(value, "-1");
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/cpu/%s/cpu.cfs_period_us", top, rel), &value), 1);
	cr_expect_str_eq(value, "100000");
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/cpuset/%s/cpuset.cpus", top, rel), &value), 1);
	cr_expect_str_eq(value, "0-3");
	cr_expect(cgt_state_created(state, "triage/best-effort"));
	json_object_put(state);

	/* the process leaves, the agent dies and a new one cleans up */
	cgt_put(cgt_path("%s/cpuset/%s/cgroup.procs", top, rel), "");
	cgt_put(cgt_path("%s/cpu/%s/cgroup.procs", top, rel), "");
	cgt_put(cgt_path("%s/unified/%s/cgroup.procs", top, rel), "");
	cgt_restart_agent();
	cr_assert_eq(cg_restore_all(&cgt_env), 0);
	cr_expect_not(cgt_exists(cgt_path("%s/cpuset/triage", top)));
	cr_expect_not(cgt_exists(cgt_path("%s/cpu/triage", top)));
	cr_expect_not(cgt_exists(cgt_path("%s/unified/triage", top)));
	cr_expect_not(cgt_exists(cgt_path("%s/state.json", cgt_env.run_dir)));
}

Test(cgroup_journal, v1_originals_come_back)
{
	char err[256] = "";
	const char *top = cgt_keep(cgt_path("%s/sys/fs/cgroup", cgt_tmp));
	const char *cpu = cgt_keep(cgt_path("%s/cpu,cpuacct/triage", top));
	const char *cpuset = cgt_keep(cgt_path("%s/cpuset/triage", top));

	cgt_fake_v1_mounts();
	cr_assert_eq(cg_probe(&cgt_env, cgt_write_mountinfo(cgt_mountinfo_v1), err, sizeof(err)), 0, "%s",
		     err);
	snprintf(cgt_env.run_dir, sizeof(cgt_env.run_dir), "%s/run", cgt_tmp);
	/* "triage" was there before the agent, with values of its own */
	cgt_mkdirs(cpu);
	cgt_mkdirs(cpuset);
	cgt_fake_fill(cpu, FAKE_V1_CPU, false);
	cgt_fake_fill(cpuset, FAKE_V1_CPUSET, false);
	cgt_put(cgt_path("%s/cpu.shares", cpu), "2048");
	cgt_put(cgt_path("%s/cpu.cfs_quota_us", cpu), "200000");
	cgt_put(cgt_path("%s/cpuset.cpus", cpuset), "0-2");
	cgt_put(cgt_path("%s/cpuset.mems", cpuset), "0");

	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_assert_eq(cg_create(&cgt_env, "triage/critical"), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/critical/cpuset.cpus", cpuset)), "0-2");
	cr_assert_eq(cg_set_weight(&cgt_env, "triage", 1), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.shares", cpu)), "10");
	cr_assert_eq(cg_set_quota(&cgt_env, "triage", 0.5, 20000), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.cfs_period_us", cpu)), "20000");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.cfs_quota_us", cpu)), "10000");
	cr_assert_eq(cg_set_quota(&cgt_env, "triage", CG_QUOTA_MAX, 20000), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.cfs_quota_us", cpu)), "-1");
	cr_assert_eq(cg_set_cpus(&cgt_env, "triage", "1"), 0);
	cr_assert_eq(cg_set_cpus(&cgt_env, "triage/critical", "1"), 0);

	cgt_restart_agent();
	cr_assert_eq(cg_restore_all(&cgt_env), 0);
	cr_expect(cgt_exists(cpu), "a cgroup triage did not make stays");
	cr_expect(cgt_exists(cpuset));
	cr_expect_not(cgt_exists(cgt_path("%s/critical", cpu)));
	cr_expect_not(cgt_exists(cgt_path("%s/critical", cpuset)));
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.shares", cpu)), "2048");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.cfs_quota_us", cpu)), "200000");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpu.cfs_period_us", cpu)), "100000");
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/cpuset.cpus", cpuset)), "0-2");
}

Test(cgroup_journal, adopted_originals_win)
{
	const char *root = cgt_fake_v2_tree(true);
	const char *weight = cgt_keep(cgt_path("%s/triage/cpu.weight", root));
	const char *value = NULL;
	struct json_object *state;

	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_assert_eq(cg_set_weight(&cgt_env, "triage", 700), 0);
	/* killed with -9: a second agent that writes before it loads the
	 * journal must not take the first one's 700 for an original */
	cg_journal_reset();
	cr_assert_eq(cg_set_weight(&cgt_env, "triage", 300), 0);
	cr_assert_eq(cg_journal_load(&cgt_env), 0);
	state = cgt_state_json();
	cr_expect_eq(cgt_state_saved(state, weight, &value), 1);
	cr_expect_str_eq(value, "100");
	json_object_put(state);
	cr_assert_eq(cg_restore_all(&cgt_env), 0);
	cr_expect_not(cgt_exists(cgt_path("%s/triage", root)));
}

Test(cgroup_journal, untrusted_entries_are_skipped)
{
	const char *root = cgt_fake_v2_tree(true);
	const char *outside = cgt_keep(cgt_path("%s/outside", cgt_tmp));
	const char *inside = cgt_keep(cgt_path("%s/triage/cpu.weight", root));

	cgt_mkdirs(cgt_path("%s/triage", root));
	cgt_fake_fill(cgt_path("%s/triage", root), FAKE_V2, false);
	cgt_put(outside, "keep");
	cgt_put(inside, "400");
	cgt_mkdirs(cgt_env.run_dir);
	cgt_put(cgt_path("%s/state.json", cgt_env.run_dir),
	    cgt_path("{\"saved\":[{\"path\":\"%s\",\"value\":\"x\"},"
		  "{\"path\":\"%s/../outside\",\"value\":\"x\"},"
		  "{\"path\":\"%s\",\"value\":\"100\"},{\"path\":7}],"
		  "\"created\":[\"../etc\",\"/abs\",\"triage\",3]}",
		  outside, root, inside));
	cr_assert_eq(cg_journal_load(&cgt_env), 0);
	cgt_put(cgt_path("%s/triage/cgroup.procs", root), "1");
	cr_assert_eq(cg_restore_all(&cgt_env), 0);
	cr_expect_str_eq(cgt_slurp(outside), "keep");
	cr_expect_str_eq(cgt_slurp(inside), "100");
	cr_expect(cgt_exists(cgt_path("%s/triage", root)), "kept: it holds a task");
}

Test(cgroup_journal, broken_state_file_is_moved_aside)
{
	const char *state;

	cgt_fake_v2_tree(true);
	cgt_mkdirs(cgt_env.run_dir);
	state = cgt_keep(cgt_path("%s/state.json", cgt_env.run_dir));
	cgt_put(state, "{\"saved\": [");
	cr_expect_eq(cg_journal_load(&cgt_env), -EINVAL);
	cr_expect_not(cgt_exists(state));
	cr_expect_str_eq(cgt_slurp(cgt_path("%s.bad", state)), "{\"saved\": [");
	cgt_put(state, "{\"saved\": {}}");
	cr_expect_eq(cg_journal_load(&cgt_env), -EINVAL);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s.bad", state)), "{\"saved\": {}}");
	cr_expect_eq(cg_journal_load(&cgt_env), 0, "no journal is not an error");
}

Test(cgroup_journal, remove_forgets_the_cgroup)
{
	const char *root = cgt_fake_v2_tree(true);
	struct json_object *state;

	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_assert_eq(cg_create(&cgt_env, "triage/gone"), 0);
	cr_assert_eq(cg_set_weight(&cgt_env, "triage/gone", 50), 0);
	cr_assert_eq(cg_remove(&cgt_env, "triage/gone"), 0);
	cr_expect_not(cgt_exists(cgt_path("%s/triage/gone", root)));
	cr_expect_eq(cg_remove(&cgt_env, "triage/gone"), 0, "already gone is fine");
	state = cgt_state_json();
	cr_expect_not(cgt_state_created(state, "triage/gone"));
	cr_expect(cgt_state_created(state, "triage"));
	cr_expect_eq(cgt_state_saved(state, cgt_path("%s/triage/gone/cpu.weight", root), NULL), 0);
	json_object_put(state);
	cr_expect_eq(cg_remove(&cgt_env, "triage"), 0);
	cr_expect_eq(cg_restore_all(&cgt_env), 0);
}

Test(cgroup_journal, no_run_dir_keeps_the_journal_in_memory)
{
	const char *root = cgt_fake_v2_tree(true);

	cgt_env.run_dir[0] = '\0';
	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_assert_eq(cg_set_weight(&cgt_env, "triage", 9000), 0);
	cr_expect_not(cgt_exists(cgt_path("%s/run", cgt_tmp)));
	cgt_put(cgt_path("%s/triage/cgroup.procs", root), "1");
	cr_assert_eq(cg_restore_all(&cgt_env), 0);
	cr_expect_str_eq(cgt_slurp(cgt_path("%s/triage/cpu.weight", root)), "100");
}

Test(cgroup_journal, bad_arguments)
{
	uint64_t id;
	double cores;
	pid_t *pids;
	char **names;
	char dirs[1][PATH_MAX];

	cgt_fake_v2_tree(true);
	cr_expect_eq(cg_create(&cgt_env, "../x"), -EINVAL);
	cr_expect_eq(cg_create(&cgt_env, "/triage"), -EINVAL);
	cr_expect_eq(cg_remove(&cgt_env, "a//b"), -EINVAL);
	cr_expect_not(cg_exists(&cgt_env, ".."));
	cr_expect_eq(cg_move_process(&cgt_env, "", getpid()), -EINVAL);
	cr_expect_eq(cg_set_weight(&cgt_env, "triage/", 100), -EINVAL);
	cr_expect_eq(cg_set_quota(&cgt_env, "./triage", 1, 100000), -EINVAL);
	cr_expect_eq(cg_set_cpus(&cgt_env, "triage/..", "0"), -EINVAL);
	cr_expect_eq(cg_get_quota(&cgt_env, "..", &cores), -EINVAL);
	cr_expect_eq(cg_list_procs(&cgt_env, "/", &pids), -EINVAL);
	cr_expect_eq(cg_list_children(&cgt_env, "a/../b", &names), -EINVAL);
	cr_expect_eq(cg_id(&cgt_env, "", &id), -EINVAL);
	cr_expect_eq(cg_dirs(&cgt_env, "x/", dirs, 1), -EINVAL);

	cr_assert_eq(cg_create(&cgt_env, "triage"), 0);
	cr_expect_eq(cg_set_weight(&cgt_env, "triage", 0), -EINVAL);
	cr_expect_eq(cg_set_weight(&cgt_env, "triage", 10001), -EINVAL);
	cr_expect_eq(cg_set_quota(&cgt_env, "triage", 1, 999), -EINVAL);
	cr_expect_eq(cg_set_quota(&cgt_env, "triage", 1, 2000000), -EINVAL);
	cr_expect_eq(cg_set_weight(&cgt_env, "triage/missing", 100), -ENOENT);
	cr_expect_eq(cg_create(&cgt_env, "no/parent"), -ENOENT);
	cr_expect_eq(cg_move_process(&cgt_env, "triage", 0), -EINVAL);
	cr_expect_eq(cg_restore_all(&cgt_env), 0);
}

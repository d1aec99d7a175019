// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The GPU protection loop (agent/gpu/gpu.c) on a real gpu-shares file in a
 * temporary run directory: new workloads come in uncapped, a confirmed
 * miss cuts by `decrease` down to each floor and never under it, calm
 * ticks give back `gpu_increase_permille` up to no cap, workloads gone
 * leave the table, an agent's shares are adopted by the next one and
 * raised to the floor, a clean close empties the table; and the
 * per-workload counters keep a gone stage's part and restart with a new
 * gpud. gpud itself is not needed: the tests set what its stats said. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu/gpu.h"

static char dir[64];
static struct protection_cfg prot = {
	.decrease = 0.5, .calm_ticks = 2, .confirm_ticks = 2, .gpu_increase_permille = 100,
};

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/triage-gpu-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* The table in the file, as gpud reads it. */
static int file_share(const struct agent_gpu *g, const char *name)
{
	struct triage_gpu_shares copy;
	char err[256];

	cr_assert_eq(gpu_shares_snapshot(g->shares.s, &copy, err, sizeof(err)), 0, "%s", err);
	return gpu_shares_lookup(&copy, name);
}

static int file_entries(const struct agent_gpu *g)
{
	struct triage_gpu_shares copy;
	char err[256];

	cr_assert_eq(gpu_shares_snapshot(g->shares.s, &copy, err, sizeof(err)), 0, "%s", err);
	return (int)copy.nr_shares;
}

TestSuite(agent_gpu, .init = setup, .fini = teardown);

Test(agent_gpu, cut_to_the_floor_relax_to_no_cap)
{
	static struct agent_gpu g;
	struct agent_gpu_be be[] = { { "bg1", 100 }, { "bg2", 300 } };

	cr_assert_eq(agent_gpu_open(&g, dir), 0);
	g.up = true;
	agent_gpu_protect(&g, be, 2, false, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 1000, "new workloads come in uncapped");
	cr_assert_eq(file_share(&g, "bg2"), 1000);

	agent_gpu_protect(&g, be, 2, true, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 1000, "one missed tick is not confirmed");
	agent_gpu_protect(&g, be, 2, true, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 500);
	cr_assert_eq(file_share(&g, "bg2"), 500);
	for (int t = 0; t < 20; t++)
		agent_gpu_protect(&g, be, 2, true, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 100, "at its floor, not under");
	cr_assert_eq(file_share(&g, "bg2"), 300, "each its own floor");
	cr_assert_gt(g.cuts, 2);

	agent_gpu_protect(&g, be, 2, false, &prot);
	agent_gpu_protect(&g, be, 2, false, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 100, "calm_ticks pass before the first step");
	agent_gpu_protect(&g, be, 2, false, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 200);
	cr_assert_eq(file_share(&g, "bg2"), 400);
	for (int t = 0; t < 20; t++)
		agent_gpu_protect(&g, be, 2, false, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 1000, "back to no cap, not past it");

	agent_gpu_protect(&g, be, 1, false, &prot);
	cr_assert_eq(file_entries(&g), 1, "a workload gone leaves the table");
	cr_assert_eq(file_share(&g, "bg2"), -1);
	agent_gpu_close(&g, true);
}

Test(agent_gpu, no_gpud_leaves_the_table_alone)
{
	static struct agent_gpu g;
	struct agent_gpu_be be[] = { { "bg1", 100 } };

	cr_assert_eq(agent_gpu_open(&g, dir), 0);
	g.up = true;
	agent_gpu_protect(&g, be, 1, true, &prot);
	agent_gpu_protect(&g, be, 1, true, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 500);
	g.up = false;
	agent_gpu_protect(&g, NULL, 0, false, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 500, "which workloads run is unknown: nothing changes");
	agent_gpu_close(&g, true);
}

Test(agent_gpu, a_killed_agents_shares_are_adopted_and_held_to_the_floor)
{
	static struct agent_gpu g, next;
	struct agent_gpu_be be[] = { { "bg1", 100 }, { "bg2", 300 } };

	cr_assert_eq(agent_gpu_open(&g, dir), 0);
	g.up = true;
	for (int t = 0; t < 20; t++)
		agent_gpu_protect(&g, be, 2, true, &prot);
	/* Killed: no close, the file stays as it was. */
	cr_assert_eq(agent_gpu_open(&next, dir), 0);
	cr_assert_eq(next.nr, 2, "both adopted");
	cr_assert_eq(agent_gpu_share_of(&next, "bg1"), 100);
	be[0].floor = 250; /* the new agent's config raised the floor */
	next.up = true;
	agent_gpu_protect(&next, be, 2, false, &prot);
	cr_assert_eq(file_share(&next, "bg1"), 250, "raised to the new floor");
	cr_assert_eq(file_share(&next, "bg2"), 300, "kept where it was");
	agent_gpu_close(&next, true);
	cr_assert_eq(agent_gpu_open(&g, dir), 0);
	cr_assert_eq(g.nr, 0, "a clean close empties the table: no caps");
	agent_gpu_close(&g, false);
}

Test(agent_gpu, counters_keep_a_gone_stage_and_restart_with_a_new_gpud)
{
	static struct agent_gpu g;
	uint32_t wl[2] = { 7, 7 }, slots[2] = { 3, 3 };

	cr_assert_eq(agent_gpu_open(&g, dir), 0);
	g.up = true;
	g.view.pid = 100;
	g.view.nr_stages = 2;
	g.view.stages[0] = (struct triage_gpud_stage_stats){ .pid = 5, .first = 0, .last = 9,
							     .level = 1, .requests = 10,
							     .busy_ns = 1000, .share_permille = 400 };
	g.view.stages[1] = (struct triage_gpud_stage_stats){ .pid = 6, .first = 0, .last = 9,
							     .level = 1, .requests = 4, .busy_ns = 400 };
	agent_gpu_account(&g, wl, slots);
	cr_assert_eq(g.nr_wl, 1);
	cr_assert_eq(g.wl[0].st.requests, 14, "two processes of one workload add up");
	cr_assert_eq(g.wl[0].st.stages, 2);
	cr_assert_eq(g.wl[0].st.slot, 3);

	g.view.stages[0].requests = 15;
	g.view.stages[0].busy_ns = 1500;
	g.view.nr_stages = 1; /* the second process is gone */
	agent_gpu_account(&g, wl, slots);
	cr_assert_eq(g.wl[0].st.requests, 19, "only what it did since, and the gone one kept");
	cr_assert_eq(g.wl[0].st.busy_ns, 1900);
	cr_assert_eq(g.wl[0].st.stages, 1);

	g.view.pid = 200; /* a new gpud: its counters start at 0 */
	g.view.stages[0].requests = 2;
	g.view.stages[0].busy_ns = 100;
	agent_gpu_account(&g, wl, slots);
	cr_assert_eq(g.wl[0].st.requests, 21);
	cr_assert_eq(g.wl[0].st.busy_ns, 2000);
	agent_gpu_close(&g, false);
}

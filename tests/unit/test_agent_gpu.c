// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The GPU protection loop (agent/gpu/gpu.c) on a real gpu-shares file in a
 * temporary run directory: new workloads come in uncapped, a confirmed
 * miss cuts by `decrease` down to each floor and never under it, calm
 * ticks give back `gpu_increase_permille` up to no cap, workloads gone
 * leave the table, an agent's shares are adopted by the next one and
 * raised to the floor, a clean close empties the table; and the
 * per-workload counters keep a gone stage's part and restart with a new
 * gpud. gpud itself is not needed: the tests set what its stats said.
 *
 * The launch gate's board: the agent makes it with its levels; slots the
 * test process claims itself stand for gated processes: a best-effort one
 * joins the shares at its floor (gpud or not), a critical one whose
 * bursts stretched cuts them, a dead one is skipped, what each did is
 * added to its workload, and a clean close says agent_pid 0 and keeps the
 * slots for the next agent. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu/gpu.h"

static char dir[64];
static struct triage_config *cfg; /* about 1 MiB: on the heap */
static struct protection_cfg prot = {
	.decrease = 0.5, .calm_ticks = 2, .confirm_ticks = 2, .gpu_increase_permille = 100,
	.gpu_stretch = CONFIG_GPU_STRETCH_DEFAULT,
};

static void setup(void)
{
	char json[512], err[512] = "";

	snprintf(dir, sizeof(dir), "/tmp/triage-gpu-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cfg = malloc(sizeof(*cfg));
	cr_assert_not_null(cfg);
	snprintf(json, sizeof(json),
		 "{\"run_dir\": \"%s\", \"cgroup_root\": \"edge\", \"levels\": ["
		 "{\"name\": \"fg\", \"rank\": 1, \"gpu_floor_permille\": 0},"
		 "{\"name\": \"bg\", \"rank\": 2, \"gpu_floor_permille\": 100},"
		 "{\"name\": \"idle\", \"rank\": 3, \"gpu_floor_permille\": 250}]}",
		 dir);
	cr_assert_eq(config_parse(json, "test", cfg, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	free(cfg);
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
	struct agent_gpu_be be[] = { { "bg1", 100, 1000, false }, { "bg2", 300, 1000, false } };

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
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
	struct agent_gpu_be be[] = { { "bg1", 100, 1000, false } };

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	g.up = true;
	agent_gpu_protect(&g, be, 1, true, &prot);
	agent_gpu_protect(&g, be, 1, true, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 500);
	g.up = false;
	for (int t = 0; t < 10; t++)
		agent_gpu_protect(&g, NULL, 0, false, &prot);
	cr_assert_eq(file_share(&g, "bg1"), 500, "which workloads run is unknown: nothing changes");
	agent_gpu_close(&g, true);
}

Test(agent_gpu, a_killed_agents_shares_are_adopted_and_held_to_the_floor)
{
	static struct agent_gpu g, next;
	struct agent_gpu_be be[] = { { "bg1", 100, 1000, false }, { "bg2", 300, 1000, false } };

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	g.up = true;
	for (int t = 0; t < 20; t++)
		agent_gpu_protect(&g, be, 2, true, &prot);
	/* Killed: no close, the file stays as it was. */
	cr_assert_eq(agent_gpu_open(&next, cfg), 0);
	cr_assert_eq(next.nr, 2, "both adopted");
	cr_assert_eq(agent_gpu_share_of(&next, "bg1"), 100);
	be[0].floor = 250; /* the new agent's config raised the floor */
	next.up = true;
	agent_gpu_protect(&next, be, 2, false, &prot);
	cr_assert_eq(file_share(&next, "bg1"), 250, "raised to the new floor");
	cr_assert_eq(file_share(&next, "bg2"), 300, "kept where it was");
	agent_gpu_close(&next, true);
	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	cr_assert_eq(g.nr, 0, "a clean close empties the table: no caps");
	agent_gpu_close(&g, false);
}

Test(agent_gpu, counters_keep_a_gone_stage_and_restart_with_a_new_gpud)
{
	static struct agent_gpu g;
	uint32_t wl[2] = { 7, 7 }, slots[2] = { 3, 3 };

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
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

/* ---- the launch gate's board ------------------------------------------------ */

/* A gated process's side of the board: the test process attaches and
 * claims slots itself, as libtriage-gate.so would. */
static struct gpu_board_file gated;

static int claim(int role, const char *name, const char *level)
{
	char path[128], err[256];
	int i;

	if (!gated.b) {
		gpu_board_path(dir, path, sizeof(path));
		cr_assert_eq(gpu_board_attach(path, &gated, err, sizeof(err)), 0, "%s", err);
	}
	i = gpu_board_claim(&gated, role, name, level);
	cr_assert_geq(i, 0);
	return i;
}

/* What the gate publishes of its slot i. */
static void publish(int i, const struct triage_gate_slot *counters)
{
	struct triage_gate_slot s = gated.b->slots[i];

	memcpy(s.name, counters->name[0] ? counters->name : s.name, sizeof(s.name));
	s.share_permille = counters->share_permille;
	s.launches = counters->launches;
	s.held = counters->held;
	s.held_ns = counters->held_ns;
	s.busy_ns = counters->busy_ns;
	s.bursts = counters->bursts;
	s.burst_ns_median = counters->burst_ns_median;
	s.burst_ns_best = counters->burst_ns_best;
	gpu_board_publish_slot(&gated, i, &s);
}

static void header(struct triage_gate_board *hdr)
{
	char path[128], err[256];
	struct gpu_board_file f;

	gpu_board_path(dir, path, sizeof(path));
	cr_assert_eq(gpu_board_attach(path, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_board_read_header(f.b, hdr, err, sizeof(err)), 0, "%s", err);
	gpu_board_close(&f);
}

/* One tick of the loop on the gate's inputs alone, as agent_gpu_tick
 * runs it; returns whether the gate said "missed". */
static bool gate_tick(struct agent_gpu *g)
{
	struct agent_gpu_be be[TRIAGE_GATE_MAX_SLOTS];
	bool stretched;
	int n;

	agent_gpu_sample(g);
	n = agent_gpu_gate_be(g, be, TRIAGE_GATE_MAX_SLOTS, prot.gpu_stretch, &stretched);
	agent_gpu_protect(g, be, n, stretched, &prot);
	return stretched;
}

/* A pid that runs no more: a child that exited and was reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (!pid)
		_exit(0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

Test(agent_gpu, the_agent_makes_the_board_with_its_levels)
{
	static struct agent_gpu g;
	static struct triage_gate_board hdr;

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	cr_assert(g.board_on, "%s", g.board_why);
	header(&hdr);
	cr_assert_eq(hdr.nr_levels, 3);
	cr_assert_str_eq(hdr.levels[0].name, "fg");
	cr_assert_eq(hdr.levels[0].critical, 1, "rank 1 is critical");
	cr_assert_str_eq(hdr.levels[1].name, "bg");
	cr_assert_eq(hdr.levels[1].critical, 0);
	cr_assert_eq(hdr.levels[1].floor_permille, 100);
	cr_assert_eq(hdr.levels[2].floor_permille, 250);
	cr_assert_str_eq(hdr.cgroup_root, "/edge");
	cr_assert_eq(hdr.agent_pid, getpid());
	agent_gpu_close(&g, true);
}

Test(agent_gpu, a_gated_best_effort_process_starts_at_its_floor_without_gpud)
{
	static struct agent_gpu g;
	struct triage_gate_slot c = { .share_permille = 1000 };
	struct triage_gate_slot calm = { .name = "det", .bursts = 8, .burst_ns_best = 1000000,
					 .burst_ns_median = 1000000 };
	int i, k;

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	i = claim(TRIAGE_GATE_BEST_EFFORT, "batch", "idle");
	claim(TRIAGE_GATE_BEST_EFFORT, "stray", "nolevel"); /* a level the agent lacks */
	k = claim(TRIAGE_GATE_CRITICAL, "", "fg");	     /* a critical one is no share */
	publish(i, &c);
	cr_assert_not(g.up, "no gpud: the board alone drives the shares");
	cr_assert_not(gate_tick(&g));
	cr_assert_eq(g.nr_gated, 3);
	cr_assert_eq(file_entries(&g), 2);
	cr_assert_eq(file_share(&g, "batch"), 250, "new and gated: at its level's floor");
	cr_assert_eq(file_share(&g, "stray"), 100, "no level of the agent's: the default floor, as its gate");
	for (int t = 0; t < 4; t++)
		gate_tick(&g);
	cr_assert_eq(file_share(&g, "batch"), 250,
		     "no critical process with bursts to judge: calm is no evidence, it stays");
	publish(k, &calm);
	gate_tick(&g);
	cr_assert_eq(file_share(&g, "batch"), 350, "given back once the critical side is seen calm");
	cr_assert_eq(file_share(&g, "stray"), 200);
	gpu_board_release(&gated, i);
	gate_tick(&g);
	cr_assert_eq(file_share(&g, "batch"), -1, "gone from the board, gone from the table");
	agent_gpu_close(&g, true);
}

Test(agent_gpu, a_critical_process_whose_bursts_stretch_cuts_the_shares)
{
	static struct agent_gpu g;
	struct triage_gate_slot be = { .share_permille = 1000 };
	struct triage_gate_slot fg = { .bursts = 8, .burst_ns_best = 1000000,
				       .burst_ns_median = 1000000 };
	int b, f;

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	b = claim(TRIAGE_GATE_BEST_EFFORT, "batch", "bg");
	f = claim(TRIAGE_GATE_CRITICAL, "detect", "fg");
	publish(b, &be);
	publish(f, &fg);
	for (int t = 0; t < 5; t++)
		cr_assert_not(gate_tick(&g), "median at its best: calm");
	cr_assert_eq(file_share(&g, "batch"), 400, "100, then 3 steps of 100 after calm_ticks");

	fg.burst_ns_median = 1100000; /* exactly 1.10: not over it */
	publish(f, &fg);
	cr_assert_not(gate_tick(&g));
	fg.burst_ns_median = 1200000;
	fg.bursts = 7; /* too few for a median */
	publish(f, &fg);
	cr_assert_not(gate_tick(&g));
	cr_assert_eq(file_share(&g, "batch"), 500, "calm at 1.10, then no evidence to give more on");

	fg.bursts = 20;
	publish(f, &fg);
	cr_assert(gate_tick(&g), "stretched 20%% over its best");
	cr_assert_eq(file_share(&g, "batch"), 500, "one missed tick is not confirmed");
	cr_assert(gate_tick(&g));
	cr_assert_eq(file_share(&g, "batch"), 250, "cut by decrease");
	cr_assert_eq(g.cuts, 1);
	for (int t = 0; t < 10; t++)
		gate_tick(&g);
	cr_assert_eq(file_share(&g, "batch"), 100, "never under the floor");
	agent_gpu_close(&g, true);
}

Test(agent_gpu, a_dead_slot_is_skipped)
{
	static struct agent_gpu g;
	struct triage_gate_slot fg = { .bursts = 8, .burst_ns_best = 1000, .burst_ns_median = 5000 };
	uint32_t wl[TRIAGE_GATE_MAX_SLOTS] = { 0 }, slots[TRIAGE_GATE_MAX_SLOTS] = { 0 };
	int b, f;

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	b = claim(TRIAGE_GATE_BEST_EFFORT, "batch", "bg");
	f = claim(TRIAGE_GATE_CRITICAL, "detect", "fg");
	publish(f, &fg);
	gated.b->slots[b].pid = dead_pid();
	gated.b->slots[f].pid = dead_pid();
	wl[b] = wl[f] = 9;
	cr_assert_not(gate_tick(&g), "a dead critical process holds nobody");
	cr_assert_eq(g.nr_gated, 0);
	cr_assert_not(g.gate[b].live);
	cr_assert_eq(file_share(&g, "batch"), -1, "a dead best-effort one has no share");
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.nr_wl, 0, "nor counters");
	agent_gpu_close(&g, true);
}

Test(agent_gpu, a_gated_process_adds_what_it_did_since_the_last_tick)
{
	static struct agent_gpu g;
	struct triage_gate_slot c = { .share_permille = 400, .launches = 10, .held = 4,
				      .held_ns = 500, .busy_ns = 1000, .bursts = 3 };
	uint32_t wl[TRIAGE_GATE_MAX_SLOTS] = { 0 }, slots[TRIAGE_GATE_MAX_SLOTS] = { 0 };
	int i;

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	i = claim(TRIAGE_GATE_BEST_EFFORT, "batch", "bg");
	publish(i, &c);
	agent_gpu_sample(&g);
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.nr_wl, 0, "no workload of this agent: not counted");

	wl[i] = 7;
	slots[i] = 1;
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.nr_wl, 1);
	cr_assert_eq(g.wl[0].wl_id, 7);
	cr_assert_eq(g.wl[0].st.launches, 10);
	cr_assert_eq(g.wl[0].st.busy_ns, 1000);
	cr_assert_eq(g.wl[0].st.queued_ns, 500, "held time is its wait for the GPU");
	cr_assert_eq(g.wl[0].st.requests, 3, "bursts are its requests");
	cr_assert_eq(g.wl[0].st.share_permille, 400);
	cr_assert_eq(g.wl[0].st.level, TRIAGE_GATE_BEST_EFFORT);
	cr_assert_eq(g.wl[0].st.slot, 1);
	cr_assert_eq(g.wl[0].gated, 1);
	cr_assert(g.wl[0].dirty);

	c.launches = 15;
	c.bursts = 5;
	publish(i, &c);
	agent_gpu_sample(&g);
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.wl[0].st.launches, 15, "only what it did since");
	cr_assert_eq(g.wl[0].st.requests, 5);

	/* Another process in the slot (another pid): it counts from 0. */
	gated.b->slots[i].pid = getppid();
	gated.b->slots[i].start_time = 0;
	c.launches = 4;
	c.bursts = 1;
	publish(i, &c);
	agent_gpu_sample(&g);
	cr_assert(g.gate[i].live);
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.wl[0].st.launches, 19);
	cr_assert_eq(g.wl[0].st.requests, 6);

	/* It dies after two more launches: they count once, then nothing. */
	c.launches = 6;
	publish(i, &c);
	gated.b->slots[i].pid = dead_pid();
	gated.b->slots[i].start_time = 0;
	agent_gpu_sample(&g);
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.wl[0].st.launches, 19, "a pid of its own: another process, not counted");
	agent_gpu_close(&g, true);
}

Test(agent_gpu, a_dying_process_s_last_launches_count_once)
{
	static struct agent_gpu g;
	struct triage_gate_slot c = { .launches = 10 };
	uint32_t wl[TRIAGE_GATE_MAX_SLOTS] = { 0 }, slots[TRIAGE_GATE_MAX_SLOTS] = { 0 };
	pid_t child;
	int i, ready[2];

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	i = claim(TRIAGE_GATE_BEST_EFFORT, "batch", "bg");
	wl[i] = 7;
	/* The slot's owner is a child the test can kill. */
	child = fork();
	cr_assert_geq(child, 0);
	if (!child) {
		close(ready[0]);
		pause();
		_exit(0);
	}
	gated.b->slots[i].pid = child;
	gated.b->slots[i].start_time = 0;
	publish(i, &c);
	agent_gpu_sample(&g);
	cr_assert(g.gate[i].live);
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.wl[0].st.launches, 10);

	c.launches = 12;
	publish(i, &c);
	kill(child, SIGKILL);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	agent_gpu_sample(&g);
	cr_assert_not(g.gate[i].live);
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.wl[0].st.launches, 12, "its last words");
	cr_assert_eq(g.wl[0].gated, 0, "no longer a gated process");
	agent_gpu_account_gate(&g, wl, slots);
	cr_assert_eq(g.wl[0].st.launches, 12, "counted once");
	agent_gpu_close(&g, true);
}

Test(agent_gpu, a_clean_stop_says_agent_pid_0_and_keeps_the_slots)
{
	static struct agent_gpu g, next;
	static struct triage_gate_board hdr;
	int i;

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	i = claim(TRIAGE_GATE_BEST_EFFORT, "batch", "bg");
	agent_gpu_close(&g, true);
	header(&hdr);
	cr_assert_eq(hdr.agent_pid, 0, "stopped cleanly: gates hold nothing");
	cr_assert_eq(hdr.nr_levels, 3, "levels kept");
	cr_assert_eq(gated.b->slots[i].pid, getpid(), "the gated process keeps its slot");

	cr_assert_eq(agent_gpu_open(&next, cfg), 0);
	header(&hdr);
	cr_assert_eq(hdr.agent_pid, getpid(), "a new agent says it runs");
	agent_gpu_sample(&next);
	cr_assert(next.gate[i].live, "and adopts the slot");
	cr_assert_str_eq(next.gate[i].now.name, "batch");
	agent_gpu_close(&next, false);
	header(&hdr);
	cr_assert_eq(hdr.agent_pid, getpid(), "a close without restore (a crash) leaves the pid");
}

Test(agent_gpu, the_status_object_lists_the_board_and_its_slots)
{
	static struct agent_gpu g;
	struct json_object *o, *gate, *s, *v;
	int i;

	cr_assert_eq(agent_gpu_open(&g, cfg), 0);
	i = claim(TRIAGE_GATE_CRITICAL, "detect", "fg");
	agent_gpu_sample(&g);
	o = agent_gpu_json(&g);
	cr_assert(json_object_object_get_ex(o, "gate", &gate));
	cr_assert_eq(json_object_array_length(gate), 1);
	s = json_object_array_get_idx(gate, 0);
	cr_assert(json_object_object_get_ex(s, "slot", &v));
	cr_assert_eq(json_object_get_int(v), i);
	cr_assert(json_object_object_get_ex(s, "role", &v));
	cr_assert_str_eq(json_object_get_string(v), "critical");
	cr_assert(json_object_object_get_ex(s, "live", &v));
	cr_assert(json_object_get_boolean(v));
	cr_assert(json_object_object_get_ex(o, "board", &v));
	cr_assert(json_object_object_get_ex(v, "gated", &v));
	cr_assert_eq(json_object_get_int(v), 1);
	json_object_put(o);
	agent_gpu_close(&g, true);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The launch gate's board (cuda/gpu_board.c) on a real file: the header
 * the agent publishes (and what it refuses), a file of another ABI or
 * size refused by a gate, slots claimed free-first and reused once their
 * owner is gone (not while it lives), counters read back through the
 * slot's seqlock, and which critical slots hold best-effort work: those
 * with launches in flight whose owner runs, never a dead one nor one's
 * own. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu_board.h"

static char dir[64], path[128];
static struct gpu_board_file f;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/triage-board-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, TRIAGE_GATE_BOARD_FILE);
}

static void teardown(void)
{
	char cmd[128];

	gpu_board_close(&f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void make_board(void)
{
	const struct triage_gate_level levels[] = { { "fg", 1, 0 }, { "bg", 0, 150 } };
	const char *with = NULL;
	char err[256];

	cr_assert_eq(gpu_board_create(path, "no-such-group-here", &f, &with, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(with, "every user");
	cr_assert_eq(gpu_board_publish_levels(&f, levels, 2, "/edge", getpid(), err, sizeof(err)), 0,
		     "%s", err);
}

/* A child that exits at once, reaped: a pid that runs no more. */
static pid_t dead_pid(void)
{
	pid_t p = fork();

	if (!p)
		_exit(0);
	cr_assert_gt(p, 0);
	cr_assert_eq(waitpid(p, NULL, 0), p);
	return p;
}

TestSuite(gpu_board, .init = setup, .fini = teardown);

Test(gpu_board, header_round_trip_and_refusals)
{
	struct triage_gate_board hdr;
	struct triage_gate_level bad = { "x", 0, 1001 };
	char err[256], longroot[200];

	make_board();
	cr_assert_eq(gpu_board_read_header(f.b, &hdr, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(hdr.nr_levels, 2);
	cr_assert_str_eq(hdr.cgroup_root, "/edge");
	cr_assert_eq(hdr.agent_pid, getpid());
	cr_assert_eq(gpu_board_level(&hdr, "bg"), 1);
	cr_assert_eq(hdr.levels[1].floor_permille, 150);
	cr_assert_eq(gpu_board_level(&hdr, "nope"), -1);
	cr_assert_eq(gpu_board_publish_levels(&f, &bad, 1, "/edge", 1, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "floor over 1000"), "%s", err);
	memset(longroot, 'a', sizeof(longroot) - 1);
	longroot[sizeof(longroot) - 1] = '\0';
	cr_assert_eq(gpu_board_publish_levels(&f, &bad, 0, longroot, 1, err, sizeof(err)), -EINVAL);
	/* Refused writes left the header as it was. */
	cr_assert_eq(gpu_board_read_header(f.b, &hdr, err, sizeof(err)), 0);
	cr_assert_eq(hdr.nr_levels, 2);
	cr_assert_eq(hdr.generation, 1);
}

Test(gpu_board, other_abi_or_size_refused)
{
	struct gpu_board_file g;
	char err[256];
	FILE *fp;

	cr_assert_eq(gpu_board_attach(path, &g, err, sizeof(err)), -ENOENT);
	make_board();
	f.b->abi_version = 99;
	cr_assert_eq(gpu_board_attach(path, &g, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "ABI 99"), "%s", err);
	/* The agent takes a board of another ABI over as a new one. */
	gpu_board_close(&f);
	make_board();
	cr_assert_eq(f.b->abi_version, TRIAGE_GATE_BOARD_ABI);
	cr_assert_eq(gpu_board_attach(path, &g, err, sizeof(err)), 0, "%s", err);
	gpu_board_close(&g);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs("short", fp);
	fclose(fp);
	cr_assert_eq(gpu_board_attach(path, &g, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "expected"), "%s", err);
}

Test(gpu_board, claims_free_first_and_reuses_only_the_dead)
{
	struct triage_gate_slot s;
	int a, b;

	make_board();
	a = gpu_board_claim(&f, TRIAGE_GATE_CRITICAL, "det", "fg");
	cr_assert_eq(a, 0);
	cr_assert_eq(gpu_board_read_slot(f.b, a, &s), 0);
	cr_assert_eq(s.pid, getpid());
	cr_assert_str_eq(s.name, "det");
	cr_assert_str_eq(s.level, "fg");
	cr_assert(gpu_board_slot_live(&s));
	/* Slot 0 is this live process's: the next claim takes slot 1. */
	b = gpu_board_claim(&f, TRIAGE_GATE_BEST_EFFORT, "bg1", "bg");
	cr_assert_eq(b, 1);
	/* A dead owner's slot is taken only once every free one is gone. */
	f.b->slots[1].pid = dead_pid();
	f.b->slots[1].start_time = 1;
	cr_assert_eq(gpu_board_claim(&f, TRIAGE_GATE_BEST_EFFORT, "bg2", "bg"), 2);
	for (int i = 3; i < TRIAGE_GATE_MAX_SLOTS; i++)
		f.b->slots[i].pid = getpid(), f.b->slots[i].start_time = 0;
	cr_assert_eq(gpu_board_claim(&f, TRIAGE_GATE_BEST_EFFORT, "bg3", "bg"), 1);
	cr_assert_eq(gpu_board_read_slot(f.b, 1, &s), 0);
	cr_assert_str_eq(s.name, "bg3");
	cr_assert_eq(s.launches, 0, "a reused slot starts from 0");
	/* A slot whose pid runs as another process (start time) is not live. */
	s.start_time += 12345;
	cr_assert_not(gpu_board_slot_live(&s));
	/* Full of live owners: no slot. */
	f.b->slots[1].start_time = 0;
	f.b->slots[2].start_time = 0;
	cr_assert_eq(gpu_board_claim(&f, TRIAGE_GATE_BEST_EFFORT, "bg4", "bg"), -ENOSPC);
	gpu_board_release(&f, 0);
	cr_assert_eq(f.b->slots[0].pid, 0);
	cr_assert_eq(gpu_board_claim(&f, TRIAGE_GATE_BEST_EFFORT, "bg4", "bg"), 0);
}

Test(gpu_board, counters_through_the_seqlock)
{
	struct triage_gate_slot mine, back;
	int i;

	make_board();
	i = gpu_board_claim(&f, TRIAGE_GATE_BEST_EFFORT, "bg", "bg");
	cr_assert_geq(i, 0);
	memset(&mine, 0, sizeof(mine));
	snprintf(mine.name, sizeof(mine.name), "bg");
	mine.launches = 42;
	mine.held = 7;
	mine.held_ns = 123456789;
	mine.share_permille = 150;
	gpu_board_publish_slot(&f, i, &mine);
	cr_assert_eq(gpu_board_read_slot(f.b, i, &back), 0);
	cr_assert_eq(back.launches, 42);
	cr_assert_eq(back.held, 7);
	cr_assert_eq(back.held_ns, 123456789);
	cr_assert_eq(back.share_permille, 150);
	cr_assert_eq(back.pid, getpid(), "the owner's pid is not the counters'");
	/* A writer that died inside a write: the reader gives up, never
	 * returns a torn copy. */
	f.b->slots[i].seq |= 1;
	cr_assert_eq(gpu_board_read_slot(f.b, i, &back), -EAGAIN);
}

Test(gpu_board, who_holds_best_effort_work)
{
	struct gpu_board_seen seen;
	int c, be;

	memset(&seen, 0, sizeof(seen));
	make_board();
	c = gpu_board_claim(&f, TRIAGE_GATE_CRITICAL, "det", "fg");
	be = gpu_board_claim(&f, TRIAGE_GATE_BEST_EFFORT, "bg", "bg");
	cr_assert_eq(f.b->slots_used, 2, "readers scan the slots ever claimed, no further");
	cr_assert_not(gpu_board_critical_busy(&f, be, &seen), "nothing in flight");
	cr_assert_not(gpu_board_any_inflight(&f, be));
	gpu_board_set_inflight(&f, be, 3);
	cr_assert_not(gpu_board_critical_busy(&f, -1, &seen), "best-effort work holds nobody");
	gpu_board_set_inflight(&f, c, 2);
	cr_assert(gpu_board_critical_busy(&f, be, &seen));
	cr_assert(gpu_board_critical_busy(&f, be, NULL));
	cr_assert_not(gpu_board_critical_busy(&f, c, &seen), "a process never waits for itself");
	cr_assert(gpu_board_any_inflight(&f, be));
	/* Its owner dies with work in flight: it holds nobody (the cache is
	 * only trusted for the same pid). */
	f.b->slots[c].pid = dead_pid();
	cr_assert_not(gpu_board_critical_busy(&f, be, &seen));
	cr_assert_not(gpu_board_critical_busy(&f, be, NULL));
	cr_assert(gpu_board_any_inflight(&f, be), "the first look sees it; the second tells it dead");
	f.b->slots[be].pid = dead_pid();
	gpu_board_release(&f, be);
	cr_assert_eq(f.b->slots[be].inflight, 3, "another process's slot is not ours to release");
	f.b->slots[be].pid = getpid();
	gpu_board_release(&f, be);
	cr_assert_eq(f.b->slots[be].inflight, 0);
	cr_assert_eq(f.b->slots[be].pid, 0);
}

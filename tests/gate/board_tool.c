// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The launch gate's board and GPU shares by hand, for tests/e2e/gate.sh
 * and bench/gpu-gate, where no agent runs:
 *
 *   gate-board create FILE [--agent-pid PID] [--abi N] LEVEL:critical|best-effort:FLOOR...
 *   gate-board show FILE        one line per slot ever claimed
 *   gate-board shares FILE NAME=PERMILLE...
 *
 * --agent-pid: the pid the header names as the agent (default: none,
 * as after a clean stop); --abi: write another ABI version (a board of
 * another build).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_board.h"
#include "gpu_shares.h"

static int create(int argc, char **argv)
{
	struct triage_gate_level levels[TRIAGE_MAX_LEVELS];
	struct gpu_board_file f;
	const char *with;
	char err[512];
	long agent = 0, abi = TRIAGE_GATE_BOARD_ABI;
	int n = 0, i = 1;

	for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (i + 1 >= argc)
			return fprintf(stderr, "gate-board: %s needs a value\n", argv[i]), 2;
		if (!strcmp(argv[i], "--agent-pid"))
			agent = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--abi"))
			abi = strtol(argv[i + 1], NULL, 10);
		else
			return fprintf(stderr, "gate-board: unknown option %s\n", argv[i]), 2;
	}
	for (; i < argc && n < TRIAGE_MAX_LEVELS; i++, n++) {
		char role[32];
		unsigned floor;

		memset(&levels[n], 0, sizeof(levels[n]));
		if (sscanf(argv[i], "%31[^:]:%31[^:]:%u", levels[n].name, role, &floor) != 3)
			return fprintf(stderr, "gate-board: %s: expected LEVEL:ROLE:FLOOR\n", argv[i]), 2;
		levels[n].critical = !strcmp(role, "critical");
		levels[n].floor_permille = floor;
	}
	if (gpu_board_create(argv[0], NULL, &f, &with, err, sizeof(err)) ||
	    gpu_board_publish_levels(&f, levels, n, "/triage", (pid_t)agent, err, sizeof(err)))
		return fprintf(stderr, "gate-board: %s\n", err), 1;
	f.b->abi_version = (uint32_t)abi;
	gpu_board_close(&f);
	return 0;
}

static int show(const char *path)
{
	struct gpu_board_file f;
	char err[512];

	if (gpu_board_attach(path, &f, err, sizeof(err)))
		return fprintf(stderr, "gate-board: %s\n", err), 1;
	for (int i = 0; i < TRIAGE_GATE_MAX_SLOTS; i++) {
		struct triage_gate_slot s;

		if (gpu_board_read_slot(f.b, i, &s) || !s.name[0])
			continue;
		printf("slot %d pid %d live %d role %s name %s level %s inflight %u launches %llu "
		       "held %llu held_ns %llu busy_ns %llu bursts %llu median_ns %llu best_ns %llu "
		       "share %u\n",
		       i, s.pid, gpu_board_slot_live(&s),
		       s.role == TRIAGE_GATE_CRITICAL ? "critical" : "best-effort", s.name,
		       s.level[0] ? s.level : "-", s.inflight, (unsigned long long)s.launches,
		       (unsigned long long)s.held, (unsigned long long)s.held_ns,
		       (unsigned long long)s.busy_ns, (unsigned long long)s.bursts,
		       (unsigned long long)s.burst_ns_median, (unsigned long long)s.burst_ns_best,
		       s.share_permille);
	}
	gpu_board_close(&f);
	return 0;
}

static int shares(int argc, char **argv)
{
	struct gpu_shares_file f;
	char err[512];

	if (gpu_shares_create(argv[0], &f, err, sizeof(err)))
		return fprintf(stderr, "gate-board: %s\n", err), 1;
	for (int i = 1; i < argc; i++) {
		char name[TRIAGE_NAME_MAX];
		unsigned permille;

		if (sscanf(argv[i], "%31[^=]=%u", name, &permille) != 2)
			return fprintf(stderr, "gate-board: %s: expected NAME=PERMILLE\n", argv[i]), 2;
		if (gpu_shares_set(f.s, name, permille, err, sizeof(err)))
			return fprintf(stderr, "gate-board: %s\n", err), 1;
	}
	gpu_shares_close(&f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "create"))
		return create(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "show"))
		return show(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "shares"))
		return shares(argc - 2, argv + 2);
	fprintf(stderr, "usage: gate-board create FILE [--agent-pid PID] [--abi N] LEVEL:ROLE:FLOOR...\n"
			"       gate-board show FILE\n"
			"       gate-board shares FILE NAME=PERMILLE...\n");
	return 2;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The GPU launch gate's board: how unmodified CUDA processes running
 * under libtriage-gate.so (LD_PRELOAD) tell each other what they have in
 * flight on the GPU, and how the agent sees them (docs/gpu.md, "The launch
 * gate").
 *
 * The file is $TRIAGE_RUN_DIR/gpu-board (default /run/triage/gpu-board),
 * one struct triage_gate_board, made by the agent (mode 0660 group video
 * where that group exists, else 0666: every gated process writes its own
 * slot). Without it, or with another magic or ABI, a gate passes every
 * launch through and says so in one line on stderr.
 *
 * Two kinds of writer, never racing on the same bytes:
 * - the agent writes the header (levels, its pid, its cgroup root) under
 *   the header's seqlock `seq` (include/triage/seqlock.h);
 * - each gated process owns one slot, claimed by a compare-and-swap of
 *   `pid` from 0 (or from a pid that runs no more, or runs as another
 *   process: `start_time` tells them apart) to its own, and writes its
 *   counters under the slot's seqlock `seq`. `inflight` is the one field
 *   read on the hot path: a single atomic word, written by its owner with
 *   release stores, read by best-effort gates with acquire loads, outside
 *   the seqlock.
 * A slot whose owner died keeps its numbers until a new process claims
 * it; readers skip it once kill(pid, 0) fails or start_time differs, so a
 * crashed critical process holds nobody.
 */
#ifndef TRIAGE_GATE_H
#define TRIAGE_GATE_H

#include <stdint.h>

#include "abi.h"

#define TRIAGE_GATE_BOARD_MAGIC 0x42475254u /* "TRGB", little-endian */
#define TRIAGE_GATE_BOARD_ABI 1
#define TRIAGE_GATE_BOARD_FILE "gpu-board" /* under the run directory */
#define TRIAGE_GATE_MAX_SLOTS 64

/* A slot's role, from its level (the header's levels[].critical) or from
 * TRIAGE_GATE_ROLE. */
#define TRIAGE_GATE_CRITICAL 0
#define TRIAGE_GATE_BEST_EFFORT 1

/* Environment the gate reads (triagectl run --gpu-gate sets the first
 * three; by hand the gate finds name and level from its cgroup). */
#define TRIAGE_GATE_NAME_ENV "TRIAGE_GATE_NAME"	  /* workload name */
#define TRIAGE_GATE_LEVEL_ENV "TRIAGE_GATE_LEVEL" /* level name */
#define TRIAGE_GATE_ROLE_ENV "TRIAGE_GATE_ROLE"	  /* critical | best-effort */
#define TRIAGE_GATE_BOARD_ENV "TRIAGE_GATE_BOARD" /* another board file */
#define TRIAGE_GATE_QUIET_ENV "TRIAGE_GATE_QUIET" /* 1: no stderr lines */

/* A slot's share when none applies. */
#define TRIAGE_GATE_SHARE_NONE 1000

/* The window over which a best-effort gate's holds are bounded: within
 * each, it holds its launches at most (1000 - share) per mille of it. */
#define TRIAGE_GATE_WINDOW_MS 100

struct triage_gate_level {
	char name[TRIAGE_NAME_MAX];
	uint32_t critical;	 /* 1: its processes' kernels hold best-effort ones */
	uint32_t floor_permille; /* best-effort: never held more than 1000 - this */
};
_Static_assert(sizeof(struct triage_gate_level) == TRIAGE_NAME_MAX + 8, "triage_gate_level layout");

struct triage_gate_slot {
	int32_t pid;	     /* owner (CAS); 0: free */
	uint32_t seq;	     /* seqlock of the owner's writes below */
	uint64_t start_time; /* owner's start, clock ticks since boot (/proc/PID/stat) */
	uint32_t inflight;   /* critical: launches not yet seen complete (atomic) */
	uint32_t role;	     /* TRIAGE_GATE_CRITICAL or TRIAGE_GATE_BEST_EFFORT */
	char name[TRIAGE_NAME_MAX];  /* workload */
	char level[TRIAGE_NAME_MAX]; /* level name, "" when only the role is known */
	uint32_t share_permille;     /* best-effort: the share in force (1000: none) */
	uint32_t reserved;
	uint64_t launches;	/* kernel and graph launches passed to the driver */
	uint64_t held;		/* of them, launches that were held first */
	uint64_t held_ns;	/* time spent holding them */
	uint64_t busy_ns;	/* GPU time of its bursts, from the gate's events */
	uint64_t bursts;	/* critical: runs of work from idle back to idle */
	uint64_t burst_ns_last; /* critical: the last burst, first launch to last event */
	uint64_t burst_ns_best; /* critical: the shortest median of 8 bursts seen */
	uint64_t burst_ns_median; /* critical: median of the last 8 bursts */
	uint64_t updated_ns;	/* CLOCK_MONOTONIC of the owner's last write */
};
_Static_assert(sizeof(struct triage_gate_slot) == 2 * TRIAGE_NAME_MAX + 104,
	       "triage_gate_slot layout");

struct triage_gate_board {
	uint32_t magic;	      /* TRIAGE_GATE_BOARD_MAGIC */
	uint32_t abi_version; /* TRIAGE_GATE_BOARD_ABI */
	uint32_t seq;	      /* seqlock of the header (the agent): what follows slots_used */
	uint32_t slots_used;  /* 1 + the highest slot ever claimed (atomic max, by claimers):
			       * readers scan no further */
	uint32_t nr_levels;
	int32_t agent_pid;    /* 0 once the agent stopped cleanly */
	uint64_t generation;  /* completed header writes */
	char cgroup_root[128]; /* the agent's cgroup root, e.g. "/triage" */
	struct triage_gate_level levels[TRIAGE_MAX_LEVELS];
	struct triage_gate_slot slots[TRIAGE_GATE_MAX_SLOTS];
};
_Static_assert(sizeof(struct triage_gate_board) ==
		       160 + TRIAGE_MAX_LEVELS * sizeof(struct triage_gate_level) +
			       TRIAGE_GATE_MAX_SLOTS * sizeof(struct triage_gate_slot),
	       "triage_gate_board layout");

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The GPU in the agent's loop (agent/gpu/README.md).
 *
 * The shares file is its own journal: it lives in the run directory, is
 * never written under a workload's floor, and a new agent adopts what it
 * holds, so an agent killed with -9 leaves every share at or above its
 * floor and the next one goes on from there. An agent that stops cleanly
 * empties it (no caps: what gpud does without an agent).
 *
 * The launch gate's board (include/triage/gate.h) is the agent's too: it
 * makes it, publishes the levels and its pid, reads every gated
 * process's slot each tick, and on a clean stop publishes pid 0 and
 * keeps the file, so gated processes keep their slots and the next agent
 * adopts them.
 */
#ifndef TRIAGE_AGENT_GPU_H
#define TRIAGE_AGENT_GPU_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "gpu_board.h"
#include "gpu_shares.h"
#include "gpud_stats.h"
#include "triage/sensors.h"

/* Every workload the agent keeps GPU counters for: one per gpud stage
 * and one per gated process at most. */
#define AGENT_GPU_MAX_WORKLOADS (TRIAGE_GPUD_MAX_STAGES + TRIAGE_GATE_MAX_SLOTS)

/* A best-effort workload on the GPU this tick (a stage on gpud or a gated
 * process), its floor, and the share it starts at when new to the table:
 * gpud's stages TRIAGE_GPU_SHARE_FULL (gpud slices them anyway), gated
 * processes their floor (strict until the critical side is seen calm). */
struct agent_gpu_be {
	const char *name;
	unsigned floor; /* per mille */
	unsigned start; /* per mille */
	bool gated;	/* seen through the board, not through gpud */
};

struct agent_gpu_share {
	char name[TRIAGE_NAME_MAX];
	unsigned permille, floor; /* floor 0 for one adopted and not yet seen */
	bool gated;  /* last seen through the board: known gone without gpud */
	bool frozen; /* not seen, gpud is down: kept as it is, neither cut nor raised */
};

/* A gated process's slot as last read, and what of it was counted. */
struct agent_gpu_gate {
	struct triage_gate_slot now; /* the last good copy */
	bool live;		     /* its owner runs as the process that claimed it */
	bool counted;		     /* at: what was added, for now's pid and start_time */
	struct triage_gate_slot at;
};

/* A stage as last counted, to add only what it did since. */
struct agent_gpu_counted {
	int32_t gpud_pid, pid, first, last;
	struct triage_gpud_stage_stats at;
};

/* The pinned map gpu_stats' value of one workload, and whether it moved. */
struct agent_gpu_workload {
	uint32_t wl_id;
	struct triage_gpu_stats st;
	unsigned gated; /* its gated processes now (st.stages: its stages on gpud) */
	bool dirty;
};

struct agent_gpu {
	char stats_path[PATH_MAX], shares_path[PATH_MAX];
	struct shm_file stats; /* gpud-stats, mapped once it exists */
	struct triage_gpud_stats view; /* the last good copy */
	bool up;		       /* gpud runs and its table is fresh */
	char why[192];		       /* why not, when not */
	struct gpu_shares_file shares;
	bool shares_on;
	int nr;
	struct agent_gpu_share share[TRIAGE_GPU_MAX_SHARES];
	unsigned calm, since_cut; /* ticks */
	uint64_t cuts, relaxes;
	int nr_counted, nr_wl;
	struct agent_gpu_counted counted[TRIAGE_GPUD_MAX_STAGES];
	struct agent_gpu_workload wl[AGENT_GPU_MAX_WORKLOADS];
	/* The launch gate's board. */
	char board_path[PATH_MAX];
	struct gpu_board_file board;
	bool board_on;
	const char *board_shared_with;
	char board_why[320]; /* why off, when off */
	int nr_levels;	     /* the levels as published */
	struct triage_gate_level levels[TRIAGE_MAX_LEVELS];
	char cgroup_root[128];
	int nr_gated; /* live slots at the last sample */
	bool gate_judged; /* a live critical slot has its first burst median */
	uint64_t slot_busy; /* slot reads given up: its owner stayed inside a write */
	struct agent_gpu_gate gate[TRIAGE_GATE_MAX_SLOTS];
};

/* Opens the shares file for writing (adopting what it holds) under
 * cfg->run_dir, notes where gpud's stats are, and makes the gate's board
 * there (adopting its slots), publishing cfg's levels (critical: rank 1;
 * floor: gpu_floor_permille), "/" cgroup_root and getpid(). 0, or -1 with
 * the reason logged (GPU shares off; the rest still works). A board that
 * cannot be made is one line logged and g->board_on false. */
int agent_gpu_open(struct agent_gpu *g, const struct triage_config *cfg);

/* Reads gpud's stats (g->up, g->view) and every slot of the board
 * (g->gate, g->nr_gated). */
void agent_gpu_sample(struct agent_gpu *g);

/* The gate's inputs to the GPU loop: appends each live best-effort slot
 * to be (at most max; its level's floor, or CONFIG_GPU_FLOOR_PERMILLE_DEFAULT
 * for one naming no level of the agent's, as its gate does; starting at
 * it) and returns how many; *stretched says whether a live critical slot
 * with 8 bursts or more has a median burst over `stretch` times the best
 * it has seen. */
int agent_gpu_gate_be(const struct agent_gpu *g, struct agent_gpu_be *be, int max, double stretch,
		      bool *stretched);

/* One step of the GPU protection loop over the best-effort workloads on
 * the GPU now (gpud's stages, gated processes): missed says whether a
 * critical client with a GPU stage is past its latency target or a gated
 * critical process is stretched. Shares of workloads gone are dropped
 * (with gpud down, only those of gated processes: gpud's are kept as
 * they are); the file is written only when something changed. */
void agent_gpu_protect(struct agent_gpu *g, const struct agent_gpu_be *be, int nr_be, bool missed,
		       const struct protection_cfg *p);

/* Adds what each of gpud's stages did since the last call to its
 * workload's counters (wl_ids[i] and slots[i] for view.stages[i]; 0: not
 * a workload of this agent). A stage gone keeps its part; a stage whose
 * counters went back (a new gpud) counts from 0. */
void agent_gpu_account(struct agent_gpu *g, const uint32_t *wl_ids, const uint32_t *slots);

/* The same for the board's slots (wl_ids[i] and slots[i] for g->gate[i];
 * 0: no workload of this agent): launches, busy_ns, held_ns as queued_ns,
 * bursts as requests, share_permille, role as level. A slot is counted
 * while live, and once more when found dead (its last words); one whose
 * pid or start_time changed counts from 0. */
void agent_gpu_account_gate(struct agent_gpu *g, const uint32_t *wl_ids, const uint32_t *slots);

/* The share in force for name, TRIAGE_GPU_SHARE_FULL when none. */
unsigned agent_gpu_share_of(const struct agent_gpu *g, const char *name);

/* restore: empty the shares (no caps) and publish agent_pid 0 on the
 * board, as on a clean stop. */
void agent_gpu_close(struct agent_gpu *g, bool restore);

/* gpud, the shares, the board and its slots for the status object. */
struct json_object *agent_gpu_json(const struct agent_gpu *g);

#endif

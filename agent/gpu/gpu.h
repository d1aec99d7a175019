/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The GPU in the agent's loop (agent/gpu/README.md).
 *
 * The shares file is its own journal: it lives in the run directory, is
 * never written under a workload's floor, and a new agent adopts what it
 * holds, so an agent killed with -9 leaves every share at or above its
 * floor and the next one goes on from there. An agent that stops cleanly
 * empties it (no caps: what gpud does without an agent).
 */
#ifndef TRIAGE_AGENT_GPU_H
#define TRIAGE_AGENT_GPU_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "gpu_shares.h"
#include "gpud_stats.h"
#include "triage/sensors.h"

/* A best-effort workload with a stage on gpud this tick, and its floor. */
struct agent_gpu_be {
	const char *name;
	unsigned floor; /* per mille */
};

struct agent_gpu_share {
	char name[TRIAGE_NAME_MAX];
	unsigned permille, floor; /* floor 0 for one adopted and not yet seen */
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
	struct agent_gpu_workload wl[TRIAGE_GPUD_MAX_STAGES];
};

/* Opens the shares file for writing (adopting what it holds) under
 * run_dir, and notes where gpud's stats are. 0, or -1 with the reason
 * logged (GPU shares off; the rest still works). */
int agent_gpu_open(struct agent_gpu *g, const char *run_dir);

/* Reads gpud's stats: g->up and g->view. */
void agent_gpu_sample(struct agent_gpu *g);

/* One step of the GPU protection loop over the best-effort workloads on
 * gpud now: missed says whether a critical client with a GPU stage is
 * past its latency target. Shares of workloads gone are dropped; the file
 * is written only when something changed. */
void agent_gpu_protect(struct agent_gpu *g, const struct agent_gpu_be *be, int nr_be, bool missed,
		       const struct protection_cfg *p);

/* Adds what each of gpud's stages did since the last call to its
 * workload's counters (wl_ids[i] and slots[i] for view.stages[i]; 0: not
 * a workload of this agent). A stage gone keeps its part; a stage whose
 * counters went back (a new gpud) counts from 0. */
void agent_gpu_account(struct agent_gpu *g, const uint32_t *wl_ids, const uint32_t *slots);

/* The share in force for name, TRIAGE_GPU_SHARE_FULL when none. */
unsigned agent_gpu_share_of(const struct agent_gpu *g, const char *name);

/* restore: empty the shares (no caps), as on a clean stop. */
void agent_gpu_close(struct agent_gpu *g, bool restore);

/* gpud and the shares for the status object. */
struct json_object *agent_gpu_json(const struct agent_gpu *g);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The daemon's state, shared by its event loop (triaged.c), the views
 * and requests served over the control socket (requests.c), its side
 * of the sensors (agent_sensors.c) and of the planner (agent_plan.c). */
#ifndef TRIAGE_AGENT_H
#define TRIAGE_AGENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_sched.h"
#include "plan/agent_plan.h"
#include "cgroup/cgroup.h"
#include "clients.h"
#include "config/config.h"
#include "doctor/doctor.h"
#include "gpu/gpu.h"
#include "policy/protect.h"
#include "sensors/sensors.h"
#include "policy/workloads.h"

#define AGENT_TICK_COSTS 256

/* What the last AGENT_TICK_COSTS runs of one piece of work cost the loop. */
struct cost_ring {
	uint64_t ns[AGENT_TICK_COSTS];
	unsigned nr, next;
	uint64_t max_ns; /* since start */
};

struct agent {
	struct triage_config cfg;
	struct cg_env cg;
	struct sensors *sensors; /* NULL when sensing is off */
	const char *sensors_name;
	struct workloads reg;
	struct protect_state protect;
	bool quota_ok; /* false once the kernel refused a quota write */
	int nr_cpus;   /* entries of cpu_stats */
	struct triage_cpu_stats *cpu_now, *cpu_before; /* status-period snapshots */
	uint64_t cpu_window_ns;
	bool quiet; /* no status line */
	struct agent_plan plan;
	struct agent_clients clients; /* DNN processes under libtriage */
	struct agent_sched sched;     /* scheduling classes and their guard */
	/* What ticks cost the loop (sample, protect, client scan, plan step,
	 * enforce), in wall time and in the agent's CPU time, and the client
	 * scan alone in CPU time (which another process's load cannot
	 * inflate), for status. */
	struct cost_ring tick_cost, tick_cpu, scan_cpu;
	struct doctor_report probe; /* what the start-up probe found (the GPU in status) */
	struct agent_gpu gpu;	    /* triage-gpud's stages, the GPU shares and their loop */
};

/* Records one run's cost (requests.c, beside its view in status). */
void cost_ring_add(struct cost_ring *r, uint64_t ns);

/* Each tick: gpud's stats, then the GPU protection loop (agent_gpu.c). */
void agent_gpu_tick(struct agent *a);
/* The per-workload GPU counters (what gpu_stats holds), for `stats`. */
struct json_object *agent_gpu_stats_json(const struct agent *a);

/* Answers one control request; returns a new JSON object. */
struct json_object *agent_handle_request(struct agent *a, struct json_object *req, uid_t peer_uid);

/* The one-line status the foreground agent prints every status period. */
void agent_format_status(const struct agent *a, char *out, size_t len);

/* Applies a level's limit to its cgroup (cpu.max or v1 quota). */
int agent_apply_limit(struct agent *a, int level);

/* Opens the sensors kind names (agent_sensors.c): 0, also when auto found
 * none (the agent runs without metrics); -1 when a kind named explicitly
 * cannot run, with the reason logged. */
int agent_sensors_open(struct agent *a, enum sensors_kind kind, bool keep_pins);
void agent_sensors_close(struct agent *a);

/* Takes the per-CPU snapshot that closes a status window of window_ns. */
void agent_sensors_sample_cpus(struct agent *a, uint64_t window_ns);

/* Drops tags and counters of workloads the registry does not know. */
void agent_sensors_prune(struct agent *a);

/* Reads the sensors' pending events: logs waits past a threshold (-v),
 * reconciles members after an exit or a loss. */
void agent_sensors_events(struct agent *a);

#endif

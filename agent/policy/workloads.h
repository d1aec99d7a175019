/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The workloads triage knows: one per cgroup <root>/<level>/<name>, found by
 * scanning the level directories (on inotify events and every tick), tagged
 * in the sensors (by cgroup id, or by process where the sensors or the host
 * need it), and sampled into windows (per tick for the protection loop, per
 * status period for people).
 */
#ifndef TRIAGE_WORKLOADS_H
#define TRIAGE_WORKLOADS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "config/config.h"
#include "sched/guard.h"
#include "sensors/sensors.h"

/* What a workload did between two samples. */
struct wl_window {
	double cpu_cores;   /* CPU time / wall time */
	double wait_mean_us; /* runqueue wait per wait */
	double wait_p50_us; /* runqueue wait quantiles, from the histogram */
	double wait_p99_us;
	double wait_p99_floor_us; /* lower bound of the bucket holding p99 */
	double intf_pct;    /* interference time / wall time, in % */
	uint64_t waits;     /* number of waits in the window */
};

struct workload {
	uint32_t id; /* wl_stats key: low 32 bits of its cgroup inode */
	int level;   /* index into config levels = slot */
	char name[TRIAGE_NAME_MAX];
	char rel[PATH_MAX]; /* <root>/<level>/<name> */
	uint64_t cgid;      /* v2 cgroup id, 0 without a unified hierarchy */
	pid_t *tgids;       /* members at the last reconcile, sorted */
	int nr_tgids;
	bool seen; /* scan mark */
	struct triage_wl_stats last_tick, last_status;
	bool have_tick, have_status;
	struct wl_window tick, status;
	char model[CONFIG_MODEL_MAX]; /* model zoo name for the planner, "" = unmodeled */
	double latency_ms;            /* its latency target, 0 = none */
	double rate_hz;               /* its request rate, 0 = flat out or unknown */
	/* Scheduling class (agent_sched.c): the guard of a real-time level's
	 * workload, its real-time runtime share (v1), and whether a refusal
	 * was logged. */
	struct guard_state guard;
	long long rt_runtime_us;
	bool sched_warned;
	/* deadline levels: the SCHED_DEADLINE applied (0 = none: the FIFO
	 * fallback), and whether the kernel or the plan ruled it out */
	uint64_t dl_runtime_ns, dl_period_ns;
	bool dl_refused;
	/* demoted by the guard: the cpuset it had, given back with its class */
	char cpus_before_demotion[CONFIG_CPUS_MAX];
};

struct workloads {
	const struct triage_config *cfg;
	const struct cg_env *env;
	struct sensors *sensors; /* NULL: no sensing back end */
	int nr;
	struct workload *wl[TRIAGE_MAX_WORKLOADS];
	uint64_t generation; /* bumped whenever the set of workloads or a model changes */
};

void workloads_init(struct workloads *reg, const struct triage_config *cfg, const struct cg_env *env,
		    struct sensors *sensors);
void workloads_free(struct workloads *reg);

/* Relative path of a level or a workload cgroup. */
int workloads_level_rel(const struct triage_config *cfg, int level, char *out, size_t len);
int workloads_rel(const struct triage_config *cfg, int level, const char *name, char *out,
		  size_t len);

/* Finds new and vanished workload cgroups under every level, mirroring new
 * ones into each hierarchy triage uses. Returns how many changed. */
int workloads_scan(struct workloads *reg);

/* Creates (if needed) and registers level/name; *out set on success. */
int workloads_ensure(struct workloads *reg, int level, const char *name, struct workload **out);

struct workload *workloads_find(struct workloads *reg, int level, const char *name);

/* Gives w a model (and a latency target, 0 = none) for the planner. A
 * change is a change of the mix the planner plans for: the generation
 * moves. A new workload that a rule names (its level and "workload") gets
 * that rule's model by itself, also after an agent restart. */
void workload_set_model(struct workloads *reg, struct workload *w, const char *model,
			double latency_ms);
/* The rate its requests come at (a client's), for the planner: a DNN held
 * to a rate leaves the rest of its units to the others. */
void workload_set_rate(struct workloads *reg, struct workload *w, double rate_hz);

/* Keeps membership consistent across hierarchies (a pid echoed into one is
 * put into the others) and the tgid tags current where tasks have no v2
 * cgroup id or the sensors tag by process only. A read of every
 * workload's cgroup.procs in every hierarchy: the tick does it every few
 * ticks (triaged.c), placements at once. */
void workloads_reconcile(struct workloads *reg);

/* Whether membership must be reconciled by the tick (hierarchies to mirror
 * or tgid tags to keep); otherwise only the process counts are at stake
 * and once per status period is enough. */
bool workloads_reconcile_each_tick(const struct workloads *reg);

enum wl_window_kind { WL_WINDOW_TICK, WL_WINDOW_STATUS };

/* Reads every workload's counters and closes a window of wall_ns. */
void workloads_sample(struct workloads *reg, enum wl_window_kind kind, uint64_t wall_ns);

/* How far w was past its level's targets in its last tick window, as a
 * ratio: >= 1 means a target was missed; 0 when the level has none. */
double workload_severity(const struct triage_config *cfg, const struct workload *w);

#endif

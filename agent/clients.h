/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's side of libtriage (include/triage/client.h): DNN processes
 * that register through shared memory under <run_dir>/clients/.
 *
 * A client is taken on at the first scan that sees its file: it is put in
 * the workload cgroup <level>/<name> it asked for, with its model and
 * latency target, so the planner plans it. The level is granted by the
 * client policy (policy/claim.h): one its user may not claim becomes the
 * most important one it may, the client is told so in its agent section,
 * and its latency target drives no protection. One user has at most
 * clients.max_per_user clients, and a scan takes on, refuses or removes
 * at most clients.max_new_per_tick files, so a flood of files costs each
 * tick a bounded amount. Each plan is then enforced on
 * it: the stages, threads and CPU set of each stage go into its shared
 * memory, its workload cgroup gets the union of those CPUs (cpuset) and,
 * below the top rank and outside idle levels, a quota of what the plan
 * expects it to use; the
 * whole process is held to that union (triage.ko's sticky affinity when
 * the module is loaded, so threads born later stay in and a dead agent's
 * masks are undone; sched_setaffinity otherwise, agent/policy/affinity.c), and
 * once the client says it runs the assignment each stage's threads are
 * narrowed to their stage's CPUs with sched_setaffinity. Its measured throughput goes back to the planner
 * as an estimator correction.
 *
 * A client that exits is forgotten and its file removed; one killed in the
 * middle of a write (its seqlock left odd) too: until it is seen gone its
 * last consistent copy stands. A file of another ABI or
 * with a bad registration is refused once, with one line saying why.
 */
#ifndef TRIAGE_AGENT_CLIENTS_H
#define TRIAGE_AGENT_CLIENTS_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <time.h>

#include <triage/client.h>

#include "pidset.h"

/* Clients taken on at once, all users together (one user: at most
 * clients.max_per_user of them, 64 by default). */
#define AGENT_MAX_CLIENTS 256
/* A client found mid-write is read again after 2, 4, ... at most this
 * many ticks (1.6 s at 50 ms). */
#define AGENT_CLIENT_BACKOFF_MAX 32u
/* A full look at the clients directory at least this often; else only
 * when it changed or a scan left files for later. */
#define AGENT_CLIENTS_RESCAN_NS 1000000000ull
/* Headroom of a workload's quota over what the plan expects it to use. */
#define AGENT_CLIENT_QUOTA_HEADROOM 1.25

struct agent;

struct agent_client {
	pid_t pid;
	struct triage_client_shm *shm;
	uint32_t wl_id; /* the workload it was put in */
	int level;	     /* granted: asked_level, or lower (agent/policy/claim.h) */
	int asked_level;
	unsigned uid;	     /* whose rights it was judged on (0: root) */
	uint32_t grant_flags; /* enum triage_client_grant, as told to it */
	char name[TRIAGE_NAME_MAX];  /* of the workload */
	char model[TRIAGE_NAME_MAX];
	double rate_hz;
	/* What was last written to it, to write only changes. */
	int nr_assigned;
	struct triage_client_assign_stage assigned[TRIAGE_CLIENT_MAX_STAGES];
	uint64_t generation;
	uint64_t pinned_generation; /* its threads pinned for this one */
	char cpus[128];		    /* cpuset of its workload, "" before any */
	double quota_cores;	    /* of its workload, 0: none set */
	/* The last consistent copy of its section. */
	struct triage_client_shm seen;
	bool have_seen;
	bool told_bad; /* its section failed the checks; said once */
	/* Reads that found its section mid-write in a row, and the ticks it
	 * is left alone for because of them. */
	unsigned missed_refreshes, skip_refreshes;
};

struct affinity;

struct agent_clients {
	char dir[PATH_MAX]; /* "" when clients are off */
	struct affinity *affinity; /* pins whole clients: triage.ko sticky, or per thread */
	int nr;
	struct agent_client *c[AGENT_MAX_CLIENTS];
	/* pids refused, so each is told once */
	struct pidset refused;
	/* When the directory was last looked at whole, its mtime then, and
	 * whether files were left for the next scan (the per-tick budget). */
	uint64_t scanned_ns;
	struct timespec scanned_mtime;
	bool scan_left_some;
	bool said_full; /* AGENT_MAX_CLIENTS reached, logged */
};

/* Makes <run_dir>/clients (sticky, world-writable: clients need not be
 * root). 0, or -1 with the reason logged (clients off). */
int agent_clients_open(struct agent *a);

/* Forgets every client (their files stay: the clients go on unmanaged and
 * a new agent takes them on). */
void agent_clients_close(struct agent *a);

/* Takes on new clients, drops those gone. Returns how many changed. */
int agent_clients_scan(struct agent *a);

/* Writes the current plan to every client whose workload it maps, pins
 * the threads of those that run it; cheap when nothing changed. */
void agent_clients_enforce(struct agent *a);

/* Hands every client's measured throughput to the planner. */
void agent_clients_measure(struct agent *a, uint64_t now_ns);

/* A critical client is judged on its own latency: the protection loop
 * acts once its p99 passes this share of its target. */
#define AGENT_CLIENT_LATENCY_GUARD 0.8
/* Inferences a client must have reported before its latency counts. */
#define AGENT_CLIENT_LATENCY_MIN 8

/*
 * How far workload w is past its targets, for the protection loop: for a
 * DNN client with a latency target and a fresh measurement, its latency
 * p99 over AGENT_CLIENT_LATENCY_GUARD x its target (the goal itself,
 * where runqueue waits are only a proxy); otherwise sched_severity, the
 * level's wait and interference targets (workload_severity()). *latency
 * (may be NULL) says which it was.
 */
double agent_clients_severity(const struct agent *a, uint32_t wl_id, double sched_severity,
			      bool *latency);

/* The client of workload wl_id, or NULL. */
const struct agent_client *agent_client_of(const struct agent *a, uint32_t wl_id);

/* "client": {pid, model, throughput, latency p50/p99, stages} for status. */
void agent_clients_workload_json(const struct agent *a, uint32_t wl_id, struct json_object *o);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * libtriage, the client library: how a DNN process tells the agent what it
 * runs and how fast, and learns where its pipeline stages should run.
 *
 * Shared memory, not the control socket: the process writes its figures
 * after every inference and reads its assignment before every one, which
 * must cost a few loads, and it must keep running when there is no agent.
 *
 * Each client owns one file, $TRIAGE_RUN_DIR/clients/<pid> (default
 * /run/triage/clients/<pid>), holding one struct triage_client_shm mapped
 * shared by the client and the agent. It has two sections with one writer
 * each, each under its own seqlock (a writer makes seq odd, writes, makes
 * it even; a reader copies and keeps the copy only when seq was even and
 * unchanged across it):
 *  - the client section (client_seq): registration, per-stage thread ids,
 *    inference counters, latency, the per-layer profile;
 *  - the agent section (agent_seq): the assignment (stages, CPU set and
 *    threads per stage, GPU share) and a generation that grows with each.
 * The header (magic to agent_abi) has the same layout in every ABI, so two
 * sides of different versions can still tell each other why they refuse:
 * the agent writes agent_status and agent_abi, the client reports them.
 *
 * A client whose agent does not answer runs unmanaged (its own threads,
 * every CPU) and says so once on stderr. An agent that finds client_seq
 * odd for long, and the writer's pid gone, drops the file: the client was
 * killed in the middle of a write.
 */
#ifndef TRIAGE_CLIENT_H
#define TRIAGE_CLIENT_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "abi.h"

#define TRIAGE_CLIENT_MAGIC 0x4c435254u /* "TRCL", little-endian */
/* 2: the agent section says at which level the client was taken on. */
#define TRIAGE_CLIENT_ABI 2
#define TRIAGE_CLIENT_DIR "clients" /* under the run directory */
#define TRIAGE_CLIENT_MAX_STAGES 3
#define TRIAGE_CLIENT_MAX_TIDS 16 /* per stage: its thread and its pool's */
#define TRIAGE_CLIENT_MAX_LAYERS 512
#define TRIAGE_CLIENT_CPU_WORDS 4 /* 256 CPUs, TRIAGE_MAX_CPUS */

/* agent_status: what the agent thinks of this client. */
enum triage_client_status {
	TRIAGE_CLIENT_UNSEEN = 0,   /* no agent has looked yet */
	TRIAGE_CLIENT_MANAGED = 1,  /* the assignment is the agent's */
	TRIAGE_CLIENT_REFUSED = 2,  /* other ABI or a bad registration: see agent_abi */
};

/* Levels by name as in the agent's config; these are the defaults. */
#define TRIAGE_CLIENT_LEVEL_MAX 32

/* grant_flags: what the agent's client policy made of the claim. */
enum triage_client_grant {
	/* The level asked for is not the client's user's to claim: it was
	 * taken on at granted_level, the highest below it that is. */
	TRIAGE_CLIENT_LEVEL_CAPPED = 1u << 0,
	/* Its latency target is shown but drives no protection. */
	TRIAGE_CLIENT_TARGET_IGNORED = 1u << 1,
};
#define TRIAGE_CLIENT_GRANT_KNOWN (TRIAGE_CLIENT_LEVEL_CAPPED | TRIAGE_CLIENT_TARGET_IGNORED)

struct triage_client_stage_tids {
	uint32_t first, last; /* layers, inclusive, as running now */
	uint32_t threads;     /* compute threads of the stage */
	uint32_t nr_tids;     /* valid entries of tids[] */
	int32_t tids[TRIAGE_CLIENT_MAX_TIDS];
};
_Static_assert(sizeof(struct triage_client_stage_tids) == 16 + 4 * TRIAGE_CLIENT_MAX_TIDS,
	       "triage_client_stage_tids layout");

/* Where an assigned stage runs. */
enum triage_client_unit {
	TRIAGE_CLIENT_UNIT_CPU = 0, /* on the CPUs in cpus */
	TRIAGE_CLIENT_UNIT_GPU = 1, /* on triage-gpud (docs/gpud.md); cpus and threads
				     * are its CPU fallback's */
};

struct triage_client_assign_stage {
	uint32_t first, last; /* layers, inclusive */
	uint32_t threads;     /* compute threads; 0: one per CPU in cpus */
	uint32_t unit;	      /* enum triage_client_unit (0 in agents before it) */
	uint64_t cpus[TRIAGE_CLIENT_CPU_WORDS]; /* CPU set, bit n = CPU n */
};
_Static_assert(sizeof(struct triage_client_assign_stage) == 16 + 8 * TRIAGE_CLIENT_CPU_WORDS,
	       "triage_client_assign_stage layout");

struct triage_client_shm {
	/* ---- header: the same in every ABI ---- */
	uint32_t magic;	       /* TRIAGE_CLIENT_MAGIC */
	uint32_t abi_version;  /* TRIAGE_CLIENT_ABI of the client */
	uint32_t size;	       /* sizeof(struct triage_client_shm) of the client */
	int32_t pid;	       /* the client process */
	uint32_t agent_status; /* enum triage_client_status, written by the agent */
	uint32_t agent_abi;    /* the agent's TRIAGE_CLIENT_ABI */

	/* ---- client section, under client_seq ---- */
	uint32_t client_seq;
	uint32_t nr_layers;	/* of the model */
	char name[TRIAGE_NAME_MAX];
	char model[TRIAGE_NAME_MAX];
	char level[TRIAGE_CLIENT_LEVEL_MAX];
	double latency_ms; /* target, 0 for none */
	double rate_hz;	   /* requests per second, 0 for flat out */
	uint64_t start_ns; /* CLOCK_MONOTONIC at registration */
	uint64_t inferences;	  /* completed since registration */
	uint64_t busy_ns;	  /* sum of inference latencies */
	uint64_t last_end_ns;	  /* CLOCK_MONOTONIC of the last end */
	double throughput;	  /* inferences/s over the last window */
	double latency_p50_ms;	  /* over the last window */
	double latency_p99_ms;
	uint64_t applied_generation; /* agent generation now in effect, 0: none */
	uint32_t nr_stages;	     /* running now */
	uint32_t profile_layers;     /* valid entries of layer_ms[] */
	struct triage_client_stage_tids stages[TRIAGE_CLIENT_MAX_STAGES];
	float layer_ms[TRIAGE_CLIENT_MAX_LAYERS]; /* mean time of each layer */

	/* ---- agent section, under agent_seq ---- */
	uint32_t agent_seq;
	uint32_t nr_assigned; /* stages of the assignment, 0: none yet */
	uint64_t generation;  /* grows with every assignment */
	uint32_t gpu_permille; /* GPU share, TRIAGE_GPU_SHARE_FULL = no cap */
	uint32_t agent_pid;
	struct triage_client_assign_stage assigned[TRIAGE_CLIENT_MAX_STAGES];
	char granted_level[TRIAGE_CLIENT_LEVEL_MAX]; /* taken on at; "" before */
	uint32_t grant_flags;			     /* enum triage_client_grant */
	uint32_t reserved;			     /* 0 */
};

/* The header is frozen: a new ABI may change anything after agent_abi. */
_Static_assert(__builtin_offsetof(struct triage_client_shm, client_seq) == 24,
	       "triage_client_shm header layout");

/* ---- the client API (client/client.c) --------------------------------------- */

struct triage_client;

struct triage_client_info {
	const char *name;  /* workload name, [A-Za-z0-9_.-], at most 31 bytes */
	const char *model; /* zoo model name */
	const char *level; /* "critical", "high", "normal", "best-effort", ... */
	double latency_ms; /* 0: none */
	double rate_hz;	   /* 0: flat out */
	int nr_layers;
};

/* The current assignment as the client should apply it. */
struct triage_client_assignment {
	bool managed;	     /* false: run unmanaged, ignore the rest */
	uint64_t generation; /* changes when the assignment does */
	int nr_stages;
	struct triage_client_assign_stage stages[TRIAGE_CLIENT_MAX_STAGES];
	uint32_t gpu_permille;
};

/* Creates the client's file under run_dir (NULL: $TRIAGE_RUN_DIR, else
 * /run/triage). Never fails for lack of an agent: without a run directory
 * it returns a client that runs unmanaged and says so once on stderr.
 * NULL only for bad info, with one line in err naming the field. */
struct triage_client *triage_client_open(const struct triage_client_info *info,
					 const char *run_dir, char *err, size_t errlen);

/* Removes the file. NULL is fine. */
void triage_client_close(struct triage_client *c);

/* Marks one inference: the time of its begin and of its end (monotonic ns). */
void triage_client_inference(struct triage_client *c, uint64_t begin_ns, uint64_t end_ns);

/* Publishes what runs now: nr_stages stages with their layers, threads and
 * thread ids. */
void triage_client_publish_stages(struct triage_client *c, int nr_stages,
				  const struct triage_client_stage_tids *stages);

/* Publishes the mean time of each layer, ms. */
void triage_client_publish_profile(struct triage_client *c, const float *layer_ms, int nr_layers);

/* Reads the assignment. Unmanaged (managed false) when there is no agent,
 * when the agent refused this client, or while the agent's section is
 * being written for too long; the first such answer prints one line. */
void triage_client_assignment(struct triage_client *c, struct triage_client_assignment *a);

/* The CPU set of an assigned stage, for sched_setaffinity(). */
void triage_client_stage_cpus(const struct triage_client_assign_stage *stage, cpu_set_t *set);

/* Tells the agent the assignment of generation gen is in effect. */
void triage_client_applied(struct triage_client *c, uint64_t gen);

/*
 * Waits, at most timeout_ms, for the agent to take this client on, so that
 * the first inference already runs in its level's workload, class and
 * cgroup (the agent takes a client on at its next tick). Returns at once,
 * false, when no agent runs (no run directory, or its triaged.pid names no
 * live process). True when managed. Call it once, after the threads that
 * run inferences exist or before they are made (those it makes later
 * inherit the class), and before timing anything.
 */
bool triage_client_wait(struct triage_client *c, unsigned timeout_ms);

/* Whether an agent has looked at this client and took it on. */
bool triage_client_managed(const struct triage_client *c);

/* The level the agent took this client on at: the one asked for, or a
 * lower one where the agent's client policy does not let this user claim
 * it (libtriage then says so once on stderr); the asked one while
 * unmanaged. */
const char *triage_client_level(const struct triage_client *c);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's configuration: JSON read with json-c. The embedded default is
 * docs/triage.example.json, byte for byte (built in by the Makefile), so the
 * documented example and what `make run` uses cannot drift apart.
 */
#ifndef TRIAGE_CONFIG_H
#define TRIAGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "triage/abi.h"

#define CONFIG_CPUS_MAX 128
#define CONFIG_PATH_MAX 256
#define CONFIG_MAX_RULES 64
#define CONFIG_MAX_TERMS 8 /* per AND set */
#define CONFIG_MAX_SETS 8  /* AND sets per rule, OR-ed */
/* Model and platform names: the planner's name field (PLAN_NAME_MAX). */
#define CONFIG_MODEL_MAX 32
#define CONFIG_MAX_CLAIM_IDS 16 /* users, and groups, named per level */

/* Who may claim a level for a process (agent/policy/claim.h): root always;
 * everyone when the level is at or below clients.open_level; else the
 * users and the members of the groups named here (names resolved at load). */
struct claim_cfg {
	bool anyone;
	int nr_uids, nr_gids;
	unsigned uids[CONFIG_MAX_CLAIM_IDS];
	unsigned gids[CONFIG_MAX_CLAIM_IDS];
};

/* A level's scheduling class (agent/sched/): set on every thread of its
 * workloads, journaled, and put back on exit. */
enum sched_policy_cfg {
	SCHED_CFG_KEEP,  /* classes left as the processes set them (the default) */
	SCHED_CFG_OTHER, /* SCHED_OTHER, at "nice" */
	SCHED_CFG_BATCH, /* SCHED_BATCH: no wakeup preemption, at "nice" */
	SCHED_CFG_IDLE,  /* SCHED_IDLE: runs when nothing else would */
	SCHED_CFG_FIFO,  /* real time, guarded by the level's budget */
	SCHED_CFG_RR,
	/* SCHED_DEADLINE for a client whose rate and inference time are
	 * known; SCHED_FIFO (guarded) for the rest, and where the kernel
	 * refuses it */
	SCHED_CFG_DEADLINE,
};
#define SCHED_CFG_NICE_KEEP 100 /* nice left alone */
#define SCHED_CFG_UCLAMP_KEEP (-1)

struct sched_cfg {
	enum sched_policy_cfg policy;
	unsigned priority; /* fifo, rr: 1..99, or 0: by rank (config_sched_priority) */
	int nice;          /* other, batch: -20..19, or SCHED_CFG_NICE_KEEP */
	/* fifo, rr: the guard's budget, the share of the level's CPUs one
	 * workload may use over guard.window_ms before it is demoted */
	double budget_pct;
	int uclamp_min, uclamp_max; /* 0..1024, or SCHED_CFG_UCLAMP_KEEP */
};

/* The guard of real-time workloads (agent/sched/guard.h). */
struct guard_cfg {
	unsigned window_ms; /* CPU use is judged over this sliding window */
	unsigned behave_ms; /* in budget this long after a demotion: class back */
};

struct level_cfg {
	char name[TRIAGE_NAME_MAX]; /* [a-z0-9_-], 1..15 characters */
	int rank;                   /* 1 = most important; unique */
	unsigned weight;            /* cpu.weight scale, 1..10000 */
	char cpus[CONFIG_CPUS_MAX]; /* cpuset list, "" = all online CPUs */
	double floor_cores;         /* per-workload starvation floor, cores */
	unsigned gpu_floor_permille; /* per-workload floor of its GPU share, 0..1000 */
	unsigned mps_priority;       /* CUDA_MPS_CLIENT_PRIORITY of its GPU processes, 0 or 1 */
	unsigned mps_thread_percent; /* CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, 1..100, 0 = none */
	bool throttle;              /* quota moved by the protection loop */
	bool idle;                  /* cpu.idle: preempted at once by others */
	unsigned wait_p99_us;       /* runqueue wait p99 target, 0 = none */
	double intf_pct;            /* interference target, % of wall time */
	struct claim_cfg claim;
	struct sched_cfg sched;
};

/* Limits on what processes that are not root may ask of the agent. */
struct clients_cfg {
	int open_level;            /* index of the most important level anyone may claim */
	unsigned max_per_user;     /* clients of one user (not root) taken on at once */
	unsigned max_new_per_tick; /* client files a scan takes on or refuses per tick */
};

enum match_kind {
	MATCH_COMM,          /* comm equals */
	MATCH_COMM_PREFIX,   /* comm starts with */
	MATCH_CGROUP_PREFIX, /* cgroup path starts with */
};

struct match_term {
	enum match_kind kind;
	char value[CONFIG_PATH_MAX];
};

struct match_set { /* all terms must hold */
	int nr_terms;
	struct match_term terms[CONFIG_MAX_TERMS];
};

struct rule_cfg { /* any set must hold */
	int level;                      /* index into config.levels */
	char workload[TRIAGE_NAME_MAX]; /* "" = named after the comm */
	int nr_sets;
	struct match_set sets[CONFIG_MAX_SETS];
	char model[CONFIG_MODEL_MAX]; /* model zoo name given to its workloads, "" = none */
	double latency_ms;            /* their latency target, 0 = none */
};

struct protection_cfg {
	unsigned period_us;    /* cpu.max period, 1000..1000000 */
	double decrease;       /* multiplicative factor on violation, (0,1) */
	double increase_cores; /* additive step per calm tick, cores */
	unsigned calm_ticks;   /* calm ticks before the first relax step */
	unsigned confirm_ticks; /* consecutive missed ticks before a cut */
	unsigned verify_ticks;  /* ticks after which a cut that did not help is undone */
	unsigned hold_off_ticks; /* first pause of cuts to a level whose cut did not help */
	unsigned gpu_increase_permille; /* GPU share step per calm tick, per mille */
	double gpu_stretch; /* a gated critical process misses once its bursts stretch past this */
};

/* A gated critical process whose median burst runs more than 10% over the
 * shortest median it has seen is slowed by someone else's kernels: the
 * gate's own measure of interference, since an unmodified CUDA program
 * reports no latency. 10% sits above the jitter of a DNN's bursts alone
 * on one GPU (a few per cent) and well under what a best-effort peer's
 * kernels add. */
#define CONFIG_GPU_STRETCH_DEFAULT 1.10

/* A level's gpu_floor_permille when not given; also the floor the launch
 * gate takes for a best-effort process that names no level of the
 * agent's (gate/policy.c). */
#define CONFIG_GPU_FLOOR_PERMILLE_DEFAULT 100

/* Where the MPS control daemon listens by default (CUDA's own default). */
#define CONFIG_MPS_PIPE_DIR_DEFAULT "/tmp/nvidia-mps"

struct planner_cfg {
	bool enabled;
	char platform[CONFIG_MODEL_MAX];     /* "auto" or a platform profile name */
	char models_dir[CONFIG_PATH_MAX];    /* "" = the zoo reader's default */
	char platforms_dir[CONFIG_PATH_MAX]; /* "" = the platform reader's default */
	unsigned replan_ms;                  /* search again this often with an unchanged mix */
	double budget_ms;                    /* longest one search may hold the event loop */
	unsigned iterations;                 /* search iterations per decision, 0 = budget only */
	unsigned seed;
	double floor;      /* starvation floor, fraction of a DNN's throughput alone */
	double rank_decay; /* reward weight of rank r: rank_decay^(r-1) */
};

struct triage_config {
	unsigned tick_ms;          /* protection loop period */
	unsigned status_ms;        /* status line period in the foreground */
	unsigned rule_scan_ms;     /* how often rules are matched against /proc */
	char cgroup_root[TRIAGE_NAME_MAX]; /* relative to each hierarchy */
	char pin_dir[CONFIG_PATH_MAX];     /* bpffs directory for the maps */
	char run_dir[CONFIG_PATH_MAX];     /* ctl.sock and state.json */
	char mps_pipe_dir[CONFIG_PATH_MAX]; /* CUDA_MPS_PIPE_DIRECTORY of the MPS daemon */
	int nr_levels;
	struct level_cfg levels[TRIAGE_MAX_LEVELS]; /* sorted by rank */
	struct protection_cfg protection;
	int nr_rules;
	struct rule_cfg rules[CONFIG_MAX_RULES];
	struct planner_cfg planner;
	struct clients_cfg clients;
	struct guard_cfg guard;
};

/* The embedded default text (docs/triage.example.json). */
extern const char config_default_json[];

/*
 * Parses JSON text into cfg. origin names the source in messages (a file
 * path or "<embedded default>"). On error returns -1 and writes one line to
 * err: "<origin>: <key path>: <what is wrong>", e.g.
 * "my.json: levels[2].weight: must be an integer in 1..10000".
 * Unknown keys are errors too, so a typo never silently falls back to a
 * default. cfg is only written on success.
 */
int config_parse(const char *text, const char *origin, struct triage_config *cfg,
		 char *err, size_t errlen);

/* Reads path and parses it; a missing or unreadable file is an error. */
int config_load_file(const char *path, struct triage_config *cfg, char *err, size_t errlen);

int config_load_default(struct triage_config *cfg, char *err, size_t errlen);

/* Index of the level named name, or -1. */
int config_level_index(const struct triage_config *cfg, const char *name);

/* Whether name is a valid level or workload name (also used for triagectl). */
bool config_name_valid(const char *name);

/* Whether name can name a model or a platform profile: 1..31 characters
 * from a-z, 0-9, '_', '-' and '.', not starting with '.' (it names a file
 * in the zoo's directory, so it must never walk out of it). */
bool config_model_name_valid(const char *name);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's one interface to the contention sensors, with three back
 * ends behind it: bpf (bpf/sensors.bpf.c through its skeleton), kmod
 * (triage.ko over generic netlink, for kernels without BPF or BTF) and
 * proc (degraded: what /proc tells without any kernel help). A counter
 * means the same whichever back end fills it (include/triage/sensors.h,
 * docs/metrics.md); a back end that cannot fill one leaves it 0 and says
 * so in sensors_features().
 */
#ifndef TRIAGE_AGENT_SENSORS_H
#define TRIAGE_AGENT_SENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "triage/sensors.h"

struct sensors;

enum sensors_kind { SENSORS_AUTO, SENSORS_BPF, SENSORS_KMOD, SENSORS_PROC, SENSORS_NONE };

struct sensors_opts {
	const char *pin_dir; /* bpf: bpffs directory, e.g. /sys/fs/bpf/triage */
	int nr_levels;
	bool keep_pins; /* leave bpf pins, or triage.ko's tags and counters, on close */
	/* kmod: WAIT_EXCEEDED threshold of each level slot, 0 = no events */
	uint32_t wait_threshold_us[TRIAGE_MAX_LEVELS];
	const char *proc_root; /* proc: procfs mount, NULL = /proc */
};

/* What a back end can do; the counters it cannot fill stay 0. */
#define SENSORS_CAN_TAG_CGROUPS (1u << 0) /* tags by v2 cgroup id, not only tgid */
#define SENSORS_HAS_LEVEL_SPLIT (1u << 1) /* cpu_stats per level slot */
#define SENSORS_HAS_INTERFERENCE (1u << 2) /* intf_ns, intf_count */
#define SENSORS_HAS_WAIT_HIST (1u << 3)   /* wl_stats.wait_hist: wait quantiles */
#define SENSORS_HAS_GPU_STATS (1u << 4)   /* gpu_stats: sensors_put/read_gpu_stats */

/* What the proc back end lacks, in the words its warning and --doctor use. */
#define SENSORS_PROC_LIMITS "no interference, no per-level CPU split, no wait histogram"

/* "auto", "bpf", "kmod", "proc", "none" <-> kind; -EINVAL for another name. */
int sensors_kind_parse(const char *name, enum sensors_kind *out);
const char *sensors_kind_name(enum sensors_kind kind);

/*
 * Opens one back end; NULL with a one-line reason in err when the kernel
 * lacks something. SENSORS_AUTO tries bpf, then kmod, then proc, logging
 * one line per fallback with what was missing; err then holds the last
 * reason. SENSORS_NONE is not a back end: NULL, errno EINVAL.
 */
struct sensors *sensors_open(enum sensors_kind kind, const struct sensors_opts *opts, char *err,
			     size_t errlen);

/* The BPF back end: mounts bpffs at /sys/fs/bpf if missing, loads and
 * attaches the programs, reuses maps already pinned in pin_dir (counters
 * continue across restarts) or pins new ones. */
struct sensors *sensors_open_bpf(const struct sensors_opts *opts, char *err, size_t errlen);

/* The kmod back end: triage.ko's generic-netlink family, refused when its
 * TRIAGE_ABI_VERSION is not ours or it has no sched probes. */
struct sensors *sensors_open_kmod(const struct sensors_opts *opts, char *err, size_t errlen);

/* The proc back end: /proc/stat, /proc/schedstat when present, and the
 * schedstat and status files of each tagged process's threads. Logs its
 * one warning line (SENSORS_PROC_LIMITS) when it opens. */
struct sensors *sensors_open_proc(const struct sensors_opts *opts, char *err, size_t errlen);

/* Whether the proc back end can work here: 0, or -errno and the reason. */
int sensors_proc_probe(const char *proc_root, char *err, size_t errlen);

void sensors_close(struct sensors *s);

enum sensors_kind sensors_kind(const struct sensors *s);
const char *sensors_name(const struct sensors *s);
unsigned sensors_features(const struct sensors *s);
int sensors_nr_cpus(const struct sensors *s);

/* Tags: by v2 cgroup id (-EOPNOTSUPP without SENSORS_CAN_TAG_CGROUPS),
 * and by tgid, for every thread of the process. */
int sensors_tag_cgroup(struct sensors *s, uint64_t cgid, const struct triage_tag *tag);
int sensors_untag_cgroup(struct sensors *s, uint64_t cgid);
int sensors_tag_tgid(struct sensors *s, pid_t tgid, const struct triage_tag *tag);
int sensors_untag_tgid(struct sensors *s, pid_t tgid);

/* Reads cpu_stats for every possible CPU into out[0..nr_cpus). */
int sensors_read_cpus(struct sensors *s, struct triage_cpu_stats *out, int nr_cpus);

/* Reads wl_stats of one workload; -ENOENT when it has none yet. */
int sensors_read_workload(struct sensors *s, uint32_t wl_id, struct triage_wl_stats *out);

/* Drops a workload's counters (its cgroup is gone): its wl_stats and,
 * with SENSORS_HAS_GPU_STATS, its gpu_stats entry. 0 when either existed,
 * -ENOENT when neither did. */
int sensors_forget_workload(struct sensors *s, uint32_t wl_id);

/*
 * A workload's GPU counters (triage-gpud's, which the agent copies each
 * tick) in the pinned map gpu_stats, so bpftool shows them beside the CPU
 * counters. No BPF program reads or writes them: the map is there for
 * readers outside the agent. Only the bpf back end has it
 * (SENSORS_HAS_GPU_STATS); kmod and proc answer -EOPNOTSUPP, and the GPU
 * counters are then in `triagectl status` only. put: -EINVAL for wl_id 0,
 * -E2BIG when TRIAGE_MAX_WORKLOADS workloads have an entry. read: -ENOENT
 * when the workload has none.
 */
int sensors_put_gpu_stats(struct sensors *s, uint32_t wl_id, const struct triage_gpu_stats *st);
int sensors_read_gpu_stats(struct sensors *s, uint32_t wl_id, struct triage_gpu_stats *out);

/* Removes every tag and every workload's counters (gpu_stats included)
 * whose workload id keep() refuses: what reused pins (or a loaded module)
 * carry over from workloads that went away while no agent ran. Returns how
 * many entries it removed. */
int sensors_prune(struct sensors *s, bool (*keep)(uint32_t wl_id, void *ctx), void *ctx);

/* Something the sensors noticed on their own (kmod: the module's notifications). */
enum sensors_event_kind {
	SENSORS_EV_WAIT_EXCEEDED, /* a tagged task waited past its level's threshold */
	SENSORS_EV_TASK_EXIT,     /* a tagged thread group exited; its tag is gone */
	SENSORS_EV_LOST,          /* events were dropped: state may have changed unseen */
};

struct sensors_event {
	enum sensors_event_kind kind;
	pid_t tgid, tid;       /* tid: WAIT_EXCEEDED only, 0 when unknown */
	uint32_t wl_id, slot;  /* 0 when the event did not say */
	uint64_t wait_ns;      /* WAIT_EXCEEDED: the wait that crossed it */
	uint32_t threshold_us; /* WAIT_EXCEEDED: the threshold, 0 when unknown */
	uint32_t suppressed;   /* events of this workload dropped by rate limit */
};

/* A descriptor that turns readable when events are pending, for the
 * agent's epoll loop; -1 when the back end has none. */
int sensors_event_fd(const struct sensors *s);

/* Reads the pending events without blocking and hands each to fn.
 * Returns how many, or -errno. */
int sensors_read_events(struct sensors *s, void (*fn)(const struct sensors_event *ev, void *ctx),
			void *ctx);

#endif

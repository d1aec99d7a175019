/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's one interface to the contention sensors. Back ends: bpf
 * (bpf/sensors.bpf.c through its skeleton) and, for kernels without BPF or
 * BTF, the kernel module (kmod). The counters mean the same whichever fills
 * them (include/triage/sensors.h, docs/metrics.md).
 */
#ifndef TRIAGE_AGENT_SENSORS_H
#define TRIAGE_AGENT_SENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "triage/sensors.h"

struct sensors;

struct sensors_opts {
	const char *pin_dir; /* bpffs directory, e.g. /sys/fs/bpf/triage */
	int nr_levels;
	bool keep_pins; /* leave pins behind on sensors_close() */
};

/* Opens the BPF back end: mounts bpffs at /sys/fs/bpf if missing, loads and
 * attaches the programs, reuses maps already pinned in pin_dir (counters
 * continue across restarts) or pins new ones. Returns NULL with a one-line
 * reason in err when the kernel lacks something (BPF syscall, BTF, ...). */
struct sensors *sensors_open_bpf(const struct sensors_opts *opts, char *err, size_t errlen);

void sensors_close(struct sensors *s);

int sensors_nr_cpus(const struct sensors *s);

/* Tag maps: by v2 cgroup id, and by tgid for tasks only in v1 hierarchies. */
int sensors_tag_cgroup(struct sensors *s, uint64_t cgid, const struct triage_tag *tag);
int sensors_untag_cgroup(struct sensors *s, uint64_t cgid);
int sensors_tag_tgid(struct sensors *s, pid_t tgid, const struct triage_tag *tag);
int sensors_untag_tgid(struct sensors *s, pid_t tgid);

/* Reads cpu_stats for every possible CPU into out[0..nr_cpus). */
int sensors_read_cpus(struct sensors *s, struct triage_cpu_stats *out, int nr_cpus);

/* Reads wl_stats of one workload; -ENOENT when it has none yet. */
int sensors_read_workload(struct sensors *s, uint32_t wl_id, struct triage_wl_stats *out);

/* Drops a workload's counters (its cgroup is gone). */
int sensors_forget_workload(struct sensors *s, uint32_t wl_id);

/* Removes every tag and every workload's counters whose workload id keep()
 * refuses: what reused pins carry over from workloads that went away while
 * no agent ran. Returns how many entries it removed. */
int sensors_prune(struct sensors *s, bool (*keep)(uint32_t wl_id, void *ctx), void *ctx);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Counters the sensors publish, shared by bpf/sensors.bpf.c, the kernel
 * module and the agent. Every field is documented in docs/metrics.md; the
 * meaning is the same whichever back end fills it. Only fixed-width types
 * here, so the layout is the same in BPF, kernel and user space.
 */
#ifndef TRIAGE_SENSORS_H
#define TRIAGE_SENSORS_H

#include "abi.h"

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Value of the pinned map cpu_stats, one entry per possible CPU. Slots are
 * level ranks (0 = highest) plus TRIAGE_SLOT_UNTAGGED. */
struct triage_cpu_stats {
	__u64 busy_ns[TRIAGE_NR_SLOTS];    /* time tasks of the slot ran here */
	__u64 wait_ns[TRIAGE_NR_SLOTS];    /* runqueue wait ended on this CPU */
	__u64 wait_count[TRIAGE_NR_SLOTS]; /* waits ended on this CPU */
	__u64 intf_ns[TRIAGE_NR_SLOTS];    /* wait spent while a lower level ran */
	__u64 intf_count[TRIAGE_NR_SLOTS]; /* waits with any such time */
	__u64 idle_ns;                     /* time the idle task ran */
	__u64 nr_switches;                 /* context switches on this CPU */
};
_Static_assert(sizeof(struct triage_cpu_stats) == (5 * TRIAGE_NR_SLOTS + 2) * 8,
	       "triage_cpu_stats layout");

/* Value of the pinned map wl_stats, keyed by workload id (__u32). */
struct triage_wl_stats {
	__u64 cpu_ns;         /* time the workload's tasks ran */
	__u64 wait_ns;        /* runqueue wait of its tasks */
	__u64 wait_count;     /* number of waits */
	__u64 intf_ns;        /* part of wait_ns while a lower level ran */
	__u64 intf_count;     /* waits with any such time */
	__u64 nr_voluntary;   /* switches out while blocking */
	__u64 nr_involuntary; /* switches out while still runnable */
	__u64 wait_hist[TRIAGE_HIST_BUCKETS]; /* log2 of wait in us */
	__u32 last_cpu;       /* CPU it last ran on */
	__u32 slot;           /* level slot of the workload */
};
_Static_assert(sizeof(struct triage_wl_stats) == (7 + TRIAGE_HIST_BUCKETS) * 8 + 8,
	       "triage_wl_stats layout");

/* Value of the tag maps cg_tags (key: v2 cgroup id, __u64) and tgid_tags
 * (key: tgid, __u32), filled by the agent. */
struct triage_tag {
	__u32 slot;  /* level rank, 0 = highest */
	__u32 wl_id; /* workload id, > 0 */
};
_Static_assert(sizeof(struct triage_tag) == 8, "triage_tag layout");

/* Value of the pinned map gpu_stats, keyed by workload id (__u32): what
 * triage-gpud ran for the workload's GPU stages, summed over its
 * processes and stages, published by the agent each tick from gpud's
 * stats file (struct triage_gpud_stats, include/triage/gpu.h). Counters
 * run from when gpud took each stage on; a stage gone keeps its part. */
struct triage_gpu_stats {
	__u64 busy_ns;	   /* GPU time of its requests: input in to outputs back */
	__u64 queued_ns;   /* requests' waits from their kick to their first launch */
	__u64 requests;	   /* requests answered */
	__u64 launches;	   /* kernel launches, slices included */
	__u64 slices;	   /* of them, launches of part of a grid (elastic) */
	__u64 bytes_in;	   /* copied to the GPU */
	__u64 bytes_out;   /* copied back */
	__u32 stages;	   /* its stages on gpud now */
	__u32 share_permille; /* its GPU share in force at gpud (1000: no cap) */
	__u32 level;	   /* gpud's level: 0 critical, 1 best-effort */
	__u32 slot;	   /* the workload's level slot */
};
_Static_assert(sizeof(struct triage_gpu_stats) == 7 * 8 + 16, "triage_gpu_stats layout");

/* Map names as pinned under the pin directory (at most 15 characters). */
#define TRIAGE_MAP_CPU_STATS "cpu_stats"
#define TRIAGE_MAP_WL_STATS "wl_stats"
#define TRIAGE_MAP_CG_TAGS "cg_tags"
#define TRIAGE_MAP_TGID_TAGS "tgid_tags"
#define TRIAGE_MAP_META "meta"
#define TRIAGE_MAP_GPU_STATS "gpu_stats"

/* Value of the pinned single-entry map meta: lets a reader (or a restarted
 * agent) check which ABI the pinned counters follow. */
struct triage_meta {
	__u32 abi_version;
	__u32 nr_levels;
	__u64 tags_gen; /* bumped by the agent whenever a tag map changes */
};
_Static_assert(sizeof(struct triage_meta) == 16, "triage_meta layout");

#endif

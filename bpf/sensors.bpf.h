/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The private per-task and per-CPU state bpf/sensors.bpf.c keeps; its
 * arithmetic, shared with the kernel module, is triage/sensors_math.h.
 * None of this is a contract: the agent only ever sees the pinned maps of
 * include/triage/sensors.h.
 */
#ifndef TRIAGE_SENSORS_BPF_H
#define TRIAGE_SENSORS_BPF_H

#include "triage/sensors.h"
#include "triage/sensors_math.h"

/*
 * Per task, in task storage. The tag is cached together with what it was
 * looked up under (v2 cgroup id, meta.tags_gen) so the hot path pays for a
 * hash look-up only after the task moved or the agent changed a tag.
 */
struct task_ctx {
	__u64 tag_cgid;     /* cgroup id the cached tag belongs to; 0: none yet */
	__u64 tag_gen;      /* meta.tags_gen at that look-up */
	__u32 slot;         /* cached tag: slot, TRIAGE_SLOT_UNTAGGED if none */
	__u32 wl_id;        /* cached tag: workload, 0 if none */
	struct triage_wait_state wait; /* the runqueue wait in progress */
};

/*
 * Per CPU: who runs now and since when. Written only by sched_switch on its
 * own CPU, read by wakeups elsewhere for the partial slice. One cache line
 * each so CPUs do not bounce each other's lines.
 */
struct cpu_run {
	__u64 run_start; /* switch-in time of the running task; 0: unknown */
	__u32 pid;       /* running task, to notice a missed switch */
	__u32 slot;      /* its slot, TRIAGE_SLOT_IDLE for the idle task */
	__u32 wl_id;     /* its workload, 0 if none */
	__u32 pad[11];
};

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Small helpers of bpf/sensors.bpf.c, and the private per-task and per-CPU
 * state it keeps. None of this is a contract: the agent only ever sees the
 * pinned maps of include/triage/sensors.h.
 */
#ifndef TRIAGE_SENSORS_BPF_H
#define TRIAGE_SENSORS_BPF_H

#include "triage/sensors.h"

/* running_slot of a CPU whose idle task runs. */
#define SLOT_IDLE (TRIAGE_NR_SLOTS + 1)
/* snap_slot when no interference snapshot was taken. */
#define SLOT_NO_SNAPSHOT TRIAGE_NR_SLOTS

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
	__u64 enq_ts;       /* start of the current runqueue wait; 0: not waiting */
	__u64 intf_snap;    /* lower-level busy sum on enq_cpu at enqueue */
	__u32 enq_cpu;      /* CPU whose runqueue the task was put on */
	__u32 snap_slot;    /* slot intf_snap was taken for, or SLOT_NO_SNAPSHOT */
};

/*
 * Per CPU: who runs now and since when. Written only by sched_switch on its
 * own CPU, read by wakeups elsewhere for the partial slice. One cache line
 * each so CPUs do not bounce each other's lines.
 */
struct cpu_run {
	__u64 run_start; /* switch-in time of the running task; 0: unknown */
	__u32 pid;       /* running task, to notice a missed switch */
	__u32 slot;      /* its slot, SLOT_IDLE for the idle task */
	__u32 wl_id;     /* its workload, 0 if none */
	__u32 pad[11];
};

/* floor(log2(v)) for v > 0, without a loop: five halving steps. */
static __always_inline __u64 log2_u64(__u64 v)
{
	__u64 r = 0, shift;

	shift = (v > 0xffffffffULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* Same rule as hist_bucket() in agent/sensors/hist.h. */
static __always_inline __u32 wait_hist_bucket(__u64 wait_ns)
{
	__u64 wait_us = wait_ns / 1000, b;

	if (!wait_us)
		return 0;
	b = log2_u64(wait_us);
	if (b >= TRIAGE_HIST_BUCKETS)
		b = TRIAGE_HIST_BUCKETS - 1;
	/* A no-op after the clamp, but one the verifier can follow. */
	asm volatile("" : "+r"(b));
	return b & (TRIAGE_HIST_BUCKETS - 1);
}

#endif

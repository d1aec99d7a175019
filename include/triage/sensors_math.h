/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The arithmetic of the contention sensors, once: the wait-histogram
 * bucket, how a runqueue wait is charged and how much of it counts as
 * interference, how a slice is charged. Two back ends fill the counters
 * of triage/sensors.h (bpf/sensors.bpf.c and kmod/sensors.c) and the agent
 * reads the histograms (agent/sensors/hist.c); docs/metrics.md says they
 * mean the same whichever back end counted, so every rule lives here and
 * is compiled into all three, and they cannot drift apart.
 *
 * Plain C that builds as BPF (clang -target bpf, vmlinux.h, no libc, no
 * loop the verifier rejects), as kernel C (gnu89 on 5.10: declarations
 * first) and in user space. Where each side gets the counters, the clock
 * and its atomics stays with that side.
 */
#ifndef TRIAGE_SENSORS_MATH_H
#define TRIAGE_SENSORS_MATH_H

#include "sensors.h" /* abi.h, __u64/__u32, struct triage_cpu_stats */

#if defined(__bpf__) || defined(__BPF__)
/* vmlinux.h gives bool; the sensors' own CPU owns its counters. */
#define TRIAGE_LOAD(x) (x)
#define TRIAGE_STORE(x, v) ((x) = (v))
#define TRIAGE_DIV_U64(a, b) ((a) / (b))
/* A no-op the verifier cannot see through: it keeps a bounds check and
 * the value it guards in one register. */
#define TRIAGE_OPAQUE(x) asm volatile("" : "+r"(x))
#elif defined(__KERNEL__)
#include <linux/compiler.h>
#include <linux/math64.h>
/* Another CPU reads busy_ns for its snapshot. */
#define TRIAGE_LOAD(x) READ_ONCE(x)
#define TRIAGE_STORE(x, v) WRITE_ONCE(x, v)
#define TRIAGE_DIV_U64(a, b) div_u64(a, b) /* no 64-bit division on 32-bit */
#define TRIAGE_OPAQUE(x) do { } while (0)
#else
#include <stdbool.h>
#define TRIAGE_LOAD(x) (x)
#define TRIAGE_STORE(x, v) ((x) = (v))
#define TRIAGE_DIV_U64(a, b) ((a) / (b))
#define TRIAGE_OPAQUE(x) do { } while (0)
#endif

/* Not __always_inline: glibc's sys/cdefs.h defines that one unguarded. */
#define TRIAGE_MATH_INLINE static inline __attribute__((__always_inline__))

/* Per-CPU run state: slot of a CPU running its idle task. */
#define TRIAGE_SLOT_IDLE (TRIAGE_NR_SLOTS + 1)
/* Per-task wait state: no interference snapshot taken. */
#define TRIAGE_SLOT_NO_SNAPSHOT TRIAGE_NR_SLOTS

/* Scheduling policies of the fair class (uapi values), the class that
 * keeps prev_sum_exec_runtime. */
#define TRIAGE_SCHED_NORMAL 0
#define TRIAGE_SCHED_BATCH 3
#define TRIAGE_SCHED_IDLE 5

_Static_assert((TRIAGE_HIST_BUCKETS & (TRIAGE_HIST_BUCKETS - 1)) == 0,
	       "the bucket mask needs a power of two");

/* ---- the wait histogram (wait_hist of struct triage_wl_stats) ---- */

/* floor(log2(v)) for v > 0 (0 for 0), without a loop: five halving steps. */
TRIAGE_MATH_INLINE __u64 triage_log2_u64(__u64 v)
{
	__u64 r = 0, shift;

	shift = (__u64)(v > 0xffffffffULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (__u64)(v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (__u64)(v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (__u64)(v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (__u64)(v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* Bucket of a wait of wait_ns: b holds [2^b, 2^(b+1)) us, 0 also the
 * waits under 1 us, the last one everything above. */
TRIAGE_MATH_INLINE __u32 triage_wait_hist_bucket(__u64 wait_ns)
{
	__u64 wait_us = TRIAGE_DIV_U64(wait_ns, 1000), b;

	if (!wait_us)
		return 0;
	b = triage_log2_u64(wait_us);
	if (b >= TRIAGE_HIST_BUCKETS)
		b = TRIAGE_HIST_BUCKETS - 1;
	/* A no-op after the clamp, but one the verifier can follow. */
	TRIAGE_OPAQUE(b);
	return b & (TRIAGE_HIST_BUCKETS - 1);
}

/* ---- slices ---- */

TRIAGE_MATH_INLINE bool triage_fair_policy(int policy)
{
	return policy == TRIAGE_SCHED_NORMAL || policy == TRIAGE_SCHED_BATCH ||
	       policy == TRIAGE_SCHED_IDLE;
}

/*
 * A task left the CPU that got it without a sched_switch event (some VM
 * kernels resume a task behind the tracepoint's back): its slice is what
 * CFS says it ran since it was last picked, at most delta, the time since
 * the sensors' last event on that CPU. Only for triage_fair_policy().
 */
TRIAGE_MATH_INLINE __u64 triage_missed_slice(__u64 delta, __u64 sum_exec_runtime,
					     __u64 prev_sum_exec_runtime)
{
	__u64 fair_slice = sum_exec_runtime - prev_sum_exec_runtime;

	return fair_slice < delta ? fair_slice : delta;
}

/*
 * A slice of delta ns ends on the CPU whose counters are cs, run by
 * prev_pid (0: the idle task) of slot. Returns whether it counted in a
 * slot: then the task's workload, if any, gets it too
 * (TRIAGE_WL_CHARGE_SLICE).
 */
TRIAGE_MATH_INLINE bool triage_slice_charge(struct triage_cpu_stats *cs, __u32 prev_pid,
					    __u32 slot, __u64 delta)
{
	if (!prev_pid) {
		cs->idle_ns += delta;
		return false;
	}
	if (slot >= TRIAGE_NR_SLOTS)
		return false;
	TRIAGE_STORE(cs->busy_ns[slot], cs->busy_ns[slot] + delta);
	return true;
}

/* ---- waits and interference ---- */

/* Per task: the runqueue wait in progress, in each back end's task state. */
struct triage_wait_state {
	__u64 enq_ts;    /* start of the current wait; 0: not waiting */
	__u64 intf_snap; /* lower-level busy sum on enq_cpu at enqueue */
	__u32 enq_cpu;   /* CPU whose runqueue the task was put on */
	__u32 snap_slot; /* slot intf_snap was taken for, or TRIAGE_SLOT_NO_SNAPSHOT */
};

/* What one ended wait adds to its workload (TRIAGE_WL_CHARGE_WAIT). */
struct triage_wait_charge {
	__u64 wait_ns; /* to wait_ns, 1 to wait_count and to its wait_hist bucket */
	__u64 intf_ns; /* to intf_ns, and 1 to intf_count, unless 0 */
	__u32 slot;
};

TRIAGE_MATH_INLINE bool triage_waiting(const struct triage_wait_state *w)
{
	return w->enq_ts != 0;
}

/* busy_ns of every configured level ranked below slot on one CPU. */
TRIAGE_MATH_INLINE __u64 triage_lower_levels_busy(const struct triage_cpu_stats *cs, __u32 slot)
{
	__u64 sum = 0;
	__u32 s;

	/* Constant bounds: clang unrolls it, the verifier sees no loop. */
	for (s = 1; s < TRIAGE_MAX_LEVELS; s++)
		if (s > slot)
			sum += TRIAGE_LOAD(cs->busy_ns[s]);
	return sum;
}

/*
 * A task of slot starts waiting at now on cpu's runqueue. Returns whether
 * it wants an interference snapshot (triage_wait_snapshot), which only a
 * level can have; a wait without one counts no interference.
 */
TRIAGE_MATH_INLINE bool triage_wait_begin(struct triage_wait_state *w, __u32 slot, __u64 now,
					  __u32 cpu)
{
	w->enq_ts = now ? now : 1; /* 0 means "not waiting" */
	w->enq_cpu = cpu;
	w->snap_slot = TRIAGE_SLOT_NO_SNAPSHOT;
	return slot < TRIAGE_MAX_LEVELS;
}

/*
 * The snapshot of the wait just begun: how much lower-level time the
 * target CPU had run so far. lower_busy is triage_lower_levels_busy() of
 * that CPU; the task running there now (run_slot, switched in at
 * run_start, 0: unknown) is not in busy_ns until it leaves, so a lower
 * one adds its partial slice.
 */
TRIAGE_MATH_INLINE void triage_wait_snapshot(struct triage_wait_state *w, __u32 slot,
					     __u64 lower_busy, __u32 run_slot, __u64 run_start,
					     __u64 now)
{
	if (run_slot > slot && run_slot < TRIAGE_MAX_LEVELS && run_start && now > run_start)
		lower_busy += now - run_start;
	w->intf_snap = lower_busy;
	w->snap_slot = slot;
}

/*
 * The wait of a task of slot ends: it is switched in at now on cpu, whose
 * own counters are cs. Charges cs and fills c; returns false when the
 * slot counts nowhere (then neither does the workload).
 *
 * Interference is the lower-level time cs ran since the snapshot, at most
 * the wait, and only when the wait ends on the CPU the snapshot was taken
 * on, for the slot it was taken for (a migrated task counts its wait but
 * no interference).
 */
TRIAGE_MATH_INLINE bool triage_wait_end(struct triage_wait_state *w, struct triage_cpu_stats *cs,
					__u32 slot, __u64 now, __u32 cpu,
					struct triage_wait_charge *c)
{
	__u64 wait, intf = 0, lower;

	/* Behind (another CPU's clock after a migration): still a wait, of
	 * unknown but tiny length. Equal clocks are common with the BPF
	 * sensors' runqueue clock: a wakeup that preempts asks __schedule()
	 * to skip the clock update. */
	wait = now > w->enq_ts ? now - w->enq_ts : 0;
	w->enq_ts = 0;
	if (slot >= TRIAGE_NR_SLOTS)
		return false;
	if (w->enq_cpu == cpu && w->snap_slot == slot && slot < TRIAGE_MAX_LEVELS) {
		lower = triage_lower_levels_busy(cs, slot);
		if (lower > w->intf_snap)
			intf = lower - w->intf_snap;
		if (intf > wait)
			intf = wait;
	}
	cs->wait_ns[slot] += wait;
	cs->wait_count[slot]++;
	if (intf) {
		cs->intf_ns[slot] += intf;
		cs->intf_count[slot]++;
	}
	c->wait_ns = wait;
	c->intf_ns = intf;
	c->slot = slot;
	return true;
}

/*
 * A workload's share of a slice or a wait. The back ends keep workload
 * counters in different types (a wl_stats map value, struct triage_wl of
 * atomic64_t) with the field names of struct triage_wl_stats, shared by
 * CPUs: ADD(field, n) is the back end's atomic add, SET(field, v) its
 * store of a plain field.
 */
#define TRIAGE_WL_CHARGE_WAIT(wl, c, cpu, ADD, SET)                                   \
	do {                                                                          \
		ADD((wl)->wait_ns, (c)->wait_ns);                                     \
		ADD((wl)->wait_count, 1);                                             \
		ADD((wl)->wait_hist[triage_wait_hist_bucket((c)->wait_ns)], 1);       \
		if ((c)->intf_ns) {                                                   \
			ADD((wl)->intf_ns, (c)->intf_ns);                             \
			ADD((wl)->intf_count, 1);                                     \
		}                                                                     \
		SET((wl)->last_cpu, (cpu));                                           \
		SET((wl)->slot, (c)->slot);                                           \
	} while (0)

#define TRIAGE_WL_CHARGE_SLICE(wl, delta, involuntary, cpu, slot, ADD, SET)           \
	do {                                                                          \
		ADD((wl)->cpu_ns, (delta));                                           \
		if (involuntary)                                                      \
			ADD((wl)->nr_involuntary, 1);                                 \
		else                                                                  \
			ADD((wl)->nr_voluntary, 1);                                   \
		SET((wl)->last_cpu, (cpu));                                           \
		SET((wl)->slot, (slot));                                              \
	} while (0)

#endif

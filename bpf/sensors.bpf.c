// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triage's contention sensors: where CPU time goes per priority level, how
 * long tasks wait on runqueues, and how much of a task's wait was spent
 * while a task of a lower level ran on the same CPU (interference, the
 * signal that a critical DNN is being hurt by best-effort work).
 *
 * Three tp_btf programs: sched_switch closes the slice of prev (busy or
 * idle time, voluntary or involuntary), starts a wait for prev when it was
 * preempted, and ends next's wait; sched_wakeup and sched_wakeup_new start
 * a wait. A task's level comes from the agent's tags, looked up by the
 * task's v2 cgroup id and then by tgid (tasks that live only in v1
 * hierarchies), and cached in task storage until the task changes cgroup
 * or the agent bumps meta.tags_gen.
 *
 * Interference is measured without tracking every runnable task: at
 * enqueue the waiter snapshots how much time lower levels had run on the
 * target CPU (their busy_ns plus the running lower task's partial slice);
 * at switch-in on that same CPU the difference is the lower-level time
 * that passed while it waited. A task that is migrated before it runs
 * counts its wait but no interference.
 *
 * Cost matters (this runs on every context switch): per-CPU state lives in
 * .bss, not a map; cpu_stats is an ARRAY (look-ups inlined) written only by
 * its own CPU, so it needs no atomics; wl_stats (HASH, shared by CPUs) is
 * touched only for tagged tasks and updated with atomic adds.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sensors.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets the number of possible CPUs */
	__type(key, __u32);
	__type(value, struct triage_cpu_stats);
} cpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRIAGE_MAX_WORKLOADS);
	__type(key, __u32);
	__type(value, struct triage_wl_stats);
} wl_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRIAGE_MAX_WORKLOADS);
	__type(key, __u64);
	__type(value, struct triage_tag);
} cg_tags SEC(".maps");

/* Processes, not workloads: a workload may have many of them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8 * TRIAGE_MAX_WORKLOADS);
	__type(key, __u32);
	__type(value, struct triage_tag);
} tgid_tags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct triage_meta);
} meta SEC(".maps");

/*
 * Written by the agent alone (the GPU counters it copies from triage-gpud
 * each tick) and read by nobody here: it lives in this object only so it is
 * pinned with BTF beside the CPU counters and bpftool prints its fields.
 * libbpf creates and pins every map of .maps, used by a program or not.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRIAGE_MAX_WORKLOADS);
	__type(key, __u32);
	__type(value, struct triage_gpu_stats);
} gpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* static: private to the programs, kept out of the skeleton. */
static struct cpu_run cpu_run[TRIAGE_MAX_CPUS];

/* Initial value for a workload's first wl_stats entry. */
static const struct triage_wl_stats wl_stats_zero = {};

/* cpu must be < TRIAGE_MAX_CPUS already; the mask is for the verifier,
 * which does not always see that check through clang's register reuse. */
_Static_assert((TRIAGE_MAX_CPUS & (TRIAGE_MAX_CPUS - 1)) == 0, "mask needs a power of two");

static __always_inline struct cpu_run *cpu_run_of(__u32 cpu)
{
	asm volatile("" : "+r"(cpu));
	return &cpu_run[cpu & (TRIAGE_MAX_CPUS - 1)];
}

/* Kernels before 5.14 call task_struct's state field "state". */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

/*
 * "Now" for a task's runqueue: that runqueue's clock, which the scheduler
 * updated just before both tracepoints fire (update_rq_clock() in
 * __schedule(), and under the runqueue lock on every wakeup path). It is
 * sched_clock, the clock CFS itself accounts with, and reading it is a few
 * loads where bpf_ktime_get_ns() costs a timer read (tens of ns on VMs).
 * The rq is reached through se.cfs_rq, which exists with
 * CONFIG_FAIR_GROUP_SCHED; without it, fall back to ktime. The choice is
 * made at load time, so one program never mixes the two clocks. 0 means
 * "unknown" to the callers.
 */
static __always_inline __u64 rq_clock_of(struct task_struct *t)
{
	if (bpf_core_field_exists(t->se.cfs_rq))
		return t->se.cfs_rq->rq->clock;
	return bpf_ktime_get_ns();
}

/* TASK_RUNNING at switch-out: preempted, so still on the runqueue. */
static __always_inline bool task_still_runnable(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state == 0;
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state) == 0;
}

static __always_inline __u64 tags_gen_now(void)
{
	__u32 zero = 0;
	struct triage_meta *m = bpf_map_lookup_elem(&meta, &zero);

	return m ? m->tags_gen : 0;
}

/* Brings tc's cached tag up to date; cheap when nothing changed. */
static __always_inline void task_tag_refresh(struct task_ctx *tc, struct task_struct *t)
{
	/* Direct BTF loads: the same CO-RE path as BPF_CORE_READ(t, cgroups,
	 * dfl_cgrp, kn, id), without a helper call per step. */
	__u64 cgid = t->cgroups->dfl_cgrp->kn->id;
	__u64 gen = tags_gen_now();
	struct triage_tag *tag;
	__u32 tgid;

	if (tc->tag_cgid == cgid && tc->tag_gen == gen)
		return;
	tag = bpf_map_lookup_elem(&cg_tags, &cgid);
	if (!tag) {
		tgid = t->tgid;
		tag = bpf_map_lookup_elem(&tgid_tags, &tgid);
	}
	if (tag && tag->slot < TRIAGE_MAX_LEVELS) {
		tc->slot = tag->slot;
		tc->wl_id = tag->wl_id;
	} else {
		tc->slot = TRIAGE_SLOT_UNTAGGED;
		tc->wl_id = 0;
	}
	tc->tag_cgid = cgid;
	tc->tag_gen = gen;
}

static __always_inline struct triage_wl_stats *wl_stats_get(__u32 wl_id)
{
	struct triage_wl_stats *ws = bpf_map_lookup_elem(&wl_stats, &wl_id);

	if (ws)
		return ws;
	/* NOEXIST: another CPU may create it at the same moment. */
	bpf_map_update_elem(&wl_stats, &wl_id, &wl_stats_zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&wl_stats, &wl_id);
}

/* A wait starts: remember when, where and how much lower-level time the
 * target CPU had seen so far. */
static __always_inline void wait_start(struct task_ctx *tc, __u64 now, __u32 cpu)
{
	struct triage_cpu_stats *cs;
	struct cpu_run *run;
	__u32 slot = tc->slot;
	__u64 lower;

	if (!triage_wait_begin(&tc->wait, slot, now, cpu) || cpu >= TRIAGE_MAX_CPUS)
		return;
	cs = bpf_map_lookup_elem(&cpu_stats, &cpu);
	if (!cs)
		return;
	lower = triage_lower_levels_busy(cs, slot);
	/* The lower task running there now has not been accounted yet. */
	run = cpu_run_of(cpu);
	triage_wait_snapshot(&tc->wait, slot, lower, run->slot, run->run_start, now);
}

/* Workload counters are shared by CPUs. */
#define WL_ADD(field, n) __sync_fetch_and_add(&(field), (n))
#define WL_SET(field, v) ((field) = (v))

/* next is switched in on cpu: its wait, if any, ends. */
static __always_inline void wait_end(struct task_ctx *tc, struct triage_cpu_stats *cs, __u64 now,
				     __u32 cpu)
{
	struct triage_wait_charge c;
	struct triage_wl_stats *ws;

	if (!triage_wait_end(&tc->wait, cs, tc->slot, now, cpu, &c) || !tc->wl_id)
		return;
	ws = wl_stats_get(tc->wl_id);
	if (!ws)
		return;
	TRIAGE_WL_CHARGE_WAIT(ws, &c, cpu, WL_ADD, WL_SET);
}

/* prev leaves the CPU after running delta ns. */
static __always_inline void slice_end_workload(__u32 wl_id, __u32 slot, __u32 cpu, __u64 delta,
					       bool involuntary)
{
	struct triage_wl_stats *ws = wl_stats_get(wl_id);

	if (!ws)
		return;
	TRIAGE_WL_CHARGE_SLICE(ws, delta, involuntary, cpu, slot, WL_ADD, WL_SET);
}

/* prev leaves the CPU; our last event on this CPU was at most delta ago. */
static __always_inline void slice_end(struct triage_cpu_stats *cs, const struct cpu_run *run,
				      struct task_struct *prev, __u32 prev_pid, __u64 delta,
				      __u32 cpu, bool involuntary)
{
	__u32 slot = run->slot, wl_id = run->wl_id;
	struct task_ctx *tc;

	if (run->pid != prev_pid) {
		/*
		 * prev got the CPU without a sched_switch event (some VM
		 * kernels resume a task behind the tracepoint's back). CFS
		 * still knows how long it has run since it was last picked;
		 * for idle and other classes the slice stays unknown.
		 */
		if (!prev_pid || !triage_fair_policy(prev->policy))
			return;
		delta = triage_missed_slice(delta, prev->se.sum_exec_runtime,
					    prev->se.prev_sum_exec_runtime);
		tc = bpf_task_storage_get(&task_ctxs, prev, 0, 0);
		slot = tc ? tc->slot : TRIAGE_SLOT_UNTAGGED;
		wl_id = tc ? tc->wl_id : 0;
	}
	if (triage_slice_charge(cs, prev_pid, slot, delta) && wl_id)
		slice_end_workload(wl_id, slot, cpu, delta, involuntary);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(triage_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = rq_clock_of(prev);
	__u32 cpu = bpf_get_smp_processor_id();
	struct triage_cpu_stats *cs;
	struct task_ctx *tc;
	struct cpu_run *run;
	bool prev_runnable;
	__u32 prev_pid;

	if (cpu >= TRIAGE_MAX_CPUS || !now)
		return 0;
	cs = bpf_map_lookup_elem(&cpu_stats, &cpu);
	if (!cs)
		return 0;
	run = cpu_run_of(cpu);
	cs->nr_switches++;

	prev_pid = prev->pid;
	prev_runnable = prev_pid && task_still_runnable(prev);
	/* run_start 0: just attached, prev's slice is unknown. */
	if (run->run_start && now > run->run_start)
		slice_end(cs, run, prev, prev_pid, now - run->run_start, cpu, prev_runnable);
	if (prev_runnable) {
		tc = bpf_task_storage_get(&task_ctxs, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (tc) {
			/* After prev's slice is in busy_ns and before next runs:
			 * the snapshot needs no partial slice. */
			run->run_start = 0;
			wait_start(tc, now, cpu);
		}
	}

	if (!next->pid) {
		run->pid = 0;
		run->slot = TRIAGE_SLOT_IDLE;
		run->wl_id = 0;
		run->run_start = now;
		return 0;
	}
	tc = bpf_task_storage_get(&task_ctxs, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tc) {
		run->run_start = 0;
		return 0;
	}
	task_tag_refresh(tc, next);
	if (triage_waiting(&tc->wait))
		wait_end(tc, cs, now, cpu);
	run->pid = next->pid;
	run->slot = tc->slot;
	run->wl_id = tc->wl_id;
	run->run_start = now;
	return 0;
}

static __always_inline int on_enqueue(struct task_struct *p)
{
	struct task_ctx *tc;
	__u64 now;

	/* Woken while still running (it had not gone to sleep yet): it is
	 * not waiting for a CPU. */
	if (p->on_cpu)
		return 0;
	tc = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tc)
		return 0;
	task_tag_refresh(tc, p);
	now = rq_clock_of(p);
	/* wake_cpu tracks the runqueue the task was put on (__set_task_cpu). */
	if (now)
		wait_start(tc, now, p->wake_cpu);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(triage_wakeup, struct task_struct *p)
{
	return on_enqueue(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(triage_wakeup_new, struct task_struct *p)
{
	return on_enqueue(p);
}

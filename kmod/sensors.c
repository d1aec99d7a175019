// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The contention sensors of bpf/sensors.bpf.c for kernels where those
 * cannot load (no BPF, or no BTF): the same counters with the same
 * meaning (docs/metrics.md), from sched tracepoint probes registered by
 * the module. sched_switch closes the slice of prev and ends next's wait;
 * sched_wakeup, sched_wakeup_new and a preempted prev start a wait;
 * interference uses the same snapshot of lower-level busy time on the
 * target CPU. sched_process_fork and sched_process_exit feed sticky
 * affinity, and drop the tag of a group that died.
 *
 * Sched tracepoints are not exported to modules: they are found by name
 * with for_each_kernel_tracepoint() and attached with
 * tracepoint_probe_register().
 *
 * Cost matters, this runs on every context switch with the runqueue lock
 * held: per-CPU state is written only by its own CPU (no atomics), tags
 * come from an RCU hash cached per task, workload counters are atomic64,
 * and nothing here sleeps, allocates or wakes anyone (events go through
 * events.c's ring and irq_work).
 *
 * Per-task state lives in a table preallocated at load (task_slots
 * entries, a power of two) indexed by pid. Two live tasks may share an
 * entry. Each entry carries its owner's pid and tgid, and a trylock so
 * that two CPUs never write one entry at once; a probe that finds the
 * lock taken, or that must start a wait in an entry whose other owner is
 * still waiting, loses that wait (counted in task_slot_collisions), so a
 * collision costs at most one uncounted wait, never a wrong one.
 *
 * Clock: the BPF sensors read the runqueue clock, which is private to the
 * scheduler; here local_clock(), the same sched_clock_cpu() base that
 * clock is sampled from, read when the tracepoint fires rather than at the
 * top of __schedule(): slices and waits shift by the scheduler's own path
 * (docs/kmod.md gives measured figures), counts are identical.
 */
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>
#include <linux/vmalloc.h>

#include "internal.h"

struct triage_task_slot {
	u32 lock;         /* 1 while a probe uses the entry; trylock only */
	u32 pid;          /* owner, 0: none */
	u32 tgid;
	u32 slot;         /* cached tag: slot, TRIAGE_SLOT_UNTAGGED if none */
	u32 threshold_us; /* cached tag: WAIT_EXCEEDED threshold */
	u32 pad;
	u64 tag_gen;          /* triage_tags_gen the cache was filled at */
	struct triage_wl *wl; /* cached tag: workload, NULL if none */
	struct triage_wait_state wait; /* the runqueue wait in progress */
};

/* Who runs on a CPU now and since when; written by that CPU's switch
 * probe only, read by wakeups elsewhere for the partial slice.
 */
struct triage_cpu {
	struct triage_cpu_stats stats;
	u64 run_start; /* switch-in time of the running task; 0: unknown */
	u64 run_gen;   /* triage_tags_gen when run_wl was read */
	struct triage_wl *run_wl;
	u32 run_wl_id;
	u32 run_pid;
	u32 run_slot; /* TRIAGE_SLOT_IDLE for the idle task */
};

static struct triage_cpu __percpu *triage_cpus;
static struct triage_task_slot *task_slots;
static unsigned long task_slots_mask;
static atomic64_t task_slot_collisions = ATOMIC64_INIT(0);

u64 triage_sensors_collisions(void)
{
	return atomic64_read(&task_slot_collisions);
}

/* ---- per-task table ---- */

static struct triage_task_slot *task_slot_lock(const struct task_struct *p)
{
	struct triage_task_slot *e = &task_slots[p->pid & task_slots_mask];

	if (cmpxchg_acquire(&e->lock, 0, 1) != 0) {
		atomic64_inc(&task_slot_collisions);
		return NULL;
	}
	return e;
}

static void task_slot_unlock(struct triage_task_slot *e)
{
	/* Pairs with cmpxchg_acquire(): the next owner sees our writes. */
	smp_store_release(&e->lock, 0);
}

static bool task_slot_owned(const struct triage_task_slot *e, const struct task_struct *p)
{
	return e->pid == p->pid && e->tgid == p->tgid;
}

static void task_slot_claim(struct triage_task_slot *e, const struct task_struct *p)
{
	e->pid = p->pid;
	e->tgid = p->tgid;
	e->tag_gen = 0;
	e->wl = NULL;
	e->wait.enq_ts = 0;
}

/* Brings e's cached tag up to date; cheap when no tag changed. */
static void task_tag_refresh(struct triage_task_slot *e, const struct task_struct *p, u64 gen)
{
	struct triage_tag_node *t;

	if (e->tag_gen == gen)
		return;
	t = triage_tag_find(p->tgid);
	if (t) {
		e->slot = t->slot;
		e->wl = t->wl;
		e->threshold_us = t->wait_threshold_us;
	} else {
		e->slot = TRIAGE_SLOT_UNTAGGED;
		e->wl = NULL;
		e->threshold_us = 0;
	}
	e->tag_gen = gen;
}

/* ---- counters: the arithmetic is triage/sensors_math.h's ---- */

/* Workload counters are shared by CPUs. */
#define WL_ADD(field, n) atomic64_add(n, &(field))

/* A wait starts: when, where, and how much lower-level time the target
 * CPU had run so far (including the partial slice running there).
 */
static void wait_start(struct triage_task_slot *e, u64 now, unsigned int cpu)
{
	const struct triage_cpu *rc;
	u32 slot = e->slot, run_slot;
	u64 lower, run_start;

	if (!triage_wait_begin(&e->wait, slot, now, cpu) || cpu >= nr_cpu_ids)
		return;
	rc = per_cpu_ptr(triage_cpus, cpu);
	lower = triage_lower_levels_busy(&rc->stats, slot);
	run_slot = READ_ONCE(rc->run_slot);
	run_start = READ_ONCE(rc->run_start);
	triage_wait_snapshot(&e->wait, slot, lower, run_slot, run_start, now);
}

/* p is switched in on cpu: its wait ends. */
static void wait_end(struct triage_task_slot *e, struct triage_cpu *c, u64 now, unsigned int cpu,
		     const struct task_struct *p)
{
	struct triage_wait_charge w;
	struct triage_wl *wl;

	if (!triage_wait_end(&e->wait, &c->stats, e->slot, now, cpu, &w))
		return;
	wl = e->wl;
	if (!wl)
		return;
	TRIAGE_WL_CHARGE_WAIT(wl, &w, cpu, WL_ADD, WRITE_ONCE);
	if (e->threshold_us && w.wait_ns > (u64)e->threshold_us * NSEC_PER_USEC)
		triage_event_wait_exceeded(wl, p, w.slot, w.wait_ns, e->threshold_us, now);
}

/* The workload of the task running on c, if its tag is still current. */
static struct triage_wl *run_wl(const struct triage_cpu *c, u64 gen)
{
	if (c->run_gen == gen)
		return c->run_wl;
	return c->run_wl_id ? triage_wl_find(c->run_wl_id) : NULL;
}

/* triage_fair_policy() spells the uapi values. */
static_assert(TRIAGE_SCHED_NORMAL == SCHED_NORMAL && TRIAGE_SCHED_BATCH == SCHED_BATCH &&
	      TRIAGE_SCHED_IDLE == SCHED_IDLE);

/* prev leaves the CPU; the last event on this CPU was delta ago. */
static void slice_end(struct triage_cpu *c, struct task_struct *prev, u32 prev_pid, u64 delta,
		      unsigned int cpu, bool involuntary, u64 gen)
{
	struct triage_cpu_stats *cs = &c->stats;
	struct triage_tag_node *t;
	struct triage_wl *wl;
	u32 slot = c->run_slot;

	if (c->run_pid != prev_pid) {
		/* prev got the CPU without a sched_switch event (some VM
		 * kernels resume a task behind the tracepoint's back): take
		 * its slice from CFS, capped; idle and other classes lose it.
		 */
		if (!prev_pid || !triage_fair_policy(prev->policy))
			return;
		delta = triage_missed_slice(delta, prev->se.sum_exec_runtime,
					    prev->se.prev_sum_exec_runtime);
		t = triage_tag_find(prev->tgid);
		slot = t ? t->slot : TRIAGE_SLOT_UNTAGGED;
		wl = t ? t->wl : NULL;
	} else {
		wl = prev_pid ? run_wl(c, gen) : NULL;
	}
	if (!triage_slice_charge(cs, prev_pid, slot, delta) || !wl)
		return;
	TRIAGE_WL_CHARGE_SLICE(wl, delta, involuntary, cpu, slot, WL_ADD, WRITE_ONCE);
}

static void run_set(struct triage_cpu *c, u32 pid, u32 slot, struct triage_wl *wl, u64 gen)
{
	c->run_pid = pid;
	c->run_wl = wl;
	c->run_wl_id = wl ? wl->wl_id : 0;
	c->run_gen = gen;
	WRITE_ONCE(c->run_slot, slot);
}

/* ---- probes ---- */

static TRIAGE_SWITCH_PROBE(triage_probe_switch)
{
	unsigned int cpu = smp_processor_id();
	struct triage_cpu *c = this_cpu_ptr(triage_cpus);
	u64 now = local_clock(), gen, run_start;
	struct triage_task_slot *e;
	struct triage_tag_node *t;
	u32 prev_pid = prev->pid;
	bool prev_runnable;

	rcu_read_lock();
	gen = triage_tags_gen_read();
	c->stats.nr_switches++;
	/* TASK_RUNNING at switch-out: preempted, so still queued. */
	prev_runnable = prev_pid && triage_task_state(prev) == TASK_RUNNING;
	run_start = c->run_start;
	/* run_start 0: just attached, prev's slice is unknown. */
	if (run_start && now > run_start)
		slice_end(c, prev, prev_pid, now - run_start, cpu, prev_runnable, gen);
	if (prev_runnable) {
		e = task_slot_lock(prev);
		if (e) {
			if (!task_slot_owned(e, prev)) {
				if (triage_waiting(&e->wait))
					atomic64_inc(&task_slot_collisions);
				task_slot_claim(e, prev);
			}
			task_tag_refresh(e, prev, gen);
			/* prev's slice is in busy_ns now and next has not
			 * started: the snapshot needs no partial slice.
			 */
			WRITE_ONCE(c->run_start, 0);
			wait_start(e, now, cpu);
			task_slot_unlock(e);
		}
	}

	if (is_idle_task(next)) {
		run_set(c, 0, TRIAGE_SLOT_IDLE, NULL, gen);
		goto out;
	}
	e = task_slot_lock(next);
	if (e && !task_slot_owned(e, next)) {
		if (triage_waiting(&e->wait)) {
			/* Another task's wait is in progress in this entry:
			 * leave it, and run next without a cached tag.
			 */
			task_slot_unlock(e);
			e = NULL;
		} else {
			task_slot_claim(e, next);
		}
	}
	if (!e) {
		t = triage_tag_find(next->tgid);
		run_set(c, next->pid, t ? t->slot : TRIAGE_SLOT_UNTAGGED, t ? t->wl : NULL, gen);
		goto out;
	}
	task_tag_refresh(e, next, gen);
	if (triage_waiting(&e->wait))
		wait_end(e, c, now, cpu, next);
	run_set(c, next->pid, e->slot, e->wl, gen);
	task_slot_unlock(e);
out:
	WRITE_ONCE(c->run_start, now);
	rcu_read_unlock();
}

static void triage_probe_wakeup(void *data, struct task_struct *p)
{
	struct triage_task_slot *e;

	/* Woken before it got to sleep: it never left its CPU. */
	if (triage_task_on_cpu(p))
		return;
	rcu_read_lock();
	e = task_slot_lock(p);
	if (e) {
		if (!task_slot_owned(e, p)) {
			if (triage_waiting(&e->wait))
				atomic64_inc(&task_slot_collisions);
			task_slot_claim(e, p);
		}
		task_tag_refresh(e, p, triage_tags_gen_read());
		wait_start(e, local_clock(), task_cpu(p));
		task_slot_unlock(e);
	}
	rcu_read_unlock();
}

static void triage_probe_fork(void *data, struct task_struct *parent, struct task_struct *child)
{
	triage_affinity_fork(parent, child);
}

static TRIAGE_EXIT_PROBE(triage_probe_exit)
{
	struct triage_task_slot *e;

	/* A later task with this pid must not inherit a wait. */
	e = task_slot_lock(p);
	if (e) {
		if (task_slot_owned(e, p)) {
			e->pid = 0;
			e->wait.enq_ts = 0;
		}
		task_slot_unlock(e);
	}
	if (!TRIAGE_EXIT_GROUP_DEAD(p))
		return;
	triage_tags_group_exit(p->tgid);
	triage_affinity_group_exit(p->tgid);
	triage_sched_guard_group_exit(p->tgid);
}

/* ---- attaching ---- */

struct triage_probe {
	const char *name;
	void *func;
	u32 feature;     /* lost when this tracepoint is missing */
	bool enforcement; /* needed by affinity too, attached with sensors=0 */
	struct tracepoint *tp;
	bool attached;
};

static struct triage_probe triage_probes[] = {
	/* Exit and fork first: a tag or policy never misses its end. */
	{ "sched_process_exit", triage_probe_exit, TRIAGE_FEAT_EVENTS, true },
	{ "sched_process_fork", triage_probe_fork, TRIAGE_FEAT_AFFINITY, true },
	{ "sched_wakeup", triage_probe_wakeup, TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS },
	{ "sched_wakeup_new", triage_probe_wakeup, TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS },
	{ "sched_switch", triage_probe_switch, TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS },
};

static bool probe_wanted(const struct triage_probe *tp)
{
	return triage_sensors_enabled || tp->enforcement;
}

static void probe_lookup(struct tracepoint *tp, void *priv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(triage_probes); i++)
		if (!strcmp(tp->name, triage_probes[i].name))
			triage_probes[i].tp = tp;
}

static void probes_detach(void)
{
	size_t i;

	for (i = ARRAY_SIZE(triage_probes); i-- > 0;) {
		if (!triage_probes[i].attached)
			continue;
		tracepoint_probe_unregister(triage_probes[i].tp, triage_probes[i].func, NULL);
		triage_probes[i].attached = false;
	}
	/* No probe runs, or will run, past this point. */
	tracepoint_synchronize_unregister();
}

int triage_sensors_init(void)
{
	u32 lost = 0;
	size_t i;
	int err;

	triage_cpus = alloc_percpu(struct triage_cpu);
	if (!triage_cpus)
		return -ENOMEM;
	task_slots = vzalloc(array_size(triage_task_slots, sizeof(*task_slots)));
	if (!task_slots) {
		free_percpu(triage_cpus);
		return -ENOMEM;
	}
	task_slots_mask = triage_task_slots - 1;

	triage_features |= TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS | TRIAGE_FEAT_AFFINITY;
	if (!triage_sensors_enabled)
		lost |= TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS;
	for_each_kernel_tracepoint(probe_lookup, NULL);
	for (i = 0; i < ARRAY_SIZE(triage_probes); i++) {
		struct triage_probe *tp = &triage_probes[i];

		if (!probe_wanted(tp))
			continue;
		if (!tp->tp) {
			pr_warn("tracepoint %s not found: features 0x%x off\n", tp->name,
				tp->feature);
			lost |= tp->feature;
			continue;
		}
		err = tracepoint_probe_register(tp->tp, tp->func, NULL);
		if (err) {
			pr_warn("cannot attach to %s (%d): features 0x%x off\n", tp->name, err,
				tp->feature);
			lost |= tp->feature;
			continue;
		}
		tp->attached = true;
	}
	triage_features &= ~lost;
	return 0;
}

void triage_sensors_exit(void)
{
	probes_detach();
	vfree(task_slots);
	task_slots = NULL;
	free_percpu(triage_cpus);
	triage_cpus = NULL;
}

int triage_dump_cpu_stats(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct triage_cpu_stats cs;
	unsigned int cpu;
	void *hdr;

	for (cpu = cb->args[0]; cpu < nr_cpu_ids; cpu++) {
		if (!cpu_possible(cpu))
			continue;
		/* Counters written by their own CPU without a lock: each u64
		 * is read whole on 64-bit kernels, the struct as a snapshot
		 * of moments that differ by at most one switch.
		 */
		memcpy(&cs, &per_cpu_ptr(triage_cpus, cpu)->stats, sizeof(cs));
		hdr = triage_dump_put(skb, cb, TRIAGE_CMD_GET_CPU_STATS);
		if (!hdr)
			break;
		if (nla_put_u32(skb, TRIAGE_ATTR_CPU, cpu) ||
		    nla_put(skb, TRIAGE_ATTR_CPU_STATS, sizeof(cs), &cs)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	cb->args[0] = cpu;
	return skb->len;
}

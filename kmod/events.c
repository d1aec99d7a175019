// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Notifications on the "events" multicast group: WAIT_EXCEEDED when a
 * tagged thread's single runqueue wait passes its tag's threshold, and
 * TASK_EXIT when the last thread of a tagged group exits.
 *
 * Both are born in sched probes, where the runqueue lock may be held:
 * sending netlink there, or anything that wakes a task (queue_work does),
 * would deadlock on that lock. So a probe only copies the event into a
 * small per-CPU ring (its lock is contended only by the drainer) and
 * raises an irq_work; the irq_work, outside the scheduler's locks,
 * queues a work item; the work item builds and multicasts the messages
 * in process context. A full ring drops the event: WAIT_EXCEEDED counts
 * it in the workload's suppressed counter, TASK_EXIT in events_dropped.
 *
 * WAIT_EXCEEDED is rate-limited per workload (event_interval_ms), so a
 * workload that waits too long all the time costs a few messages a
 * second, and each one says how many were suppressed since the last.
 */
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/spinlock.h>

#include "internal.h"

#define TRIAGE_EVENT_RING 32

struct triage_event {
	u8 cmd;
	u32 wl_id;
	u32 tgid;
	u32 tid;
	u32 slot;
	u32 threshold_us;
	u32 suppressed;
	u64 wait_ns;
};

struct triage_event_ring {
	raw_spinlock_t lock;
	unsigned int head; /* next to send */
	unsigned int len;
	struct triage_event ev[TRIAGE_EVENT_RING];
};

static struct triage_event_ring __percpu *event_rings;
static struct irq_work events_irq_work;
static struct work_struct events_work;
/* Held while sending, so that stopping waits for a send in progress. */
static DEFINE_MUTEX(events_send_lock);
static bool events_on;
static atomic64_t events_dropped = ATOMIC64_INIT(0);

u64 triage_events_dropped(void)
{
	return atomic64_read(&events_dropped);
}

static bool event_push(const struct triage_event *ev)
{
	struct triage_event_ring *r;
	unsigned long flags;
	bool pushed = false;

	if (!READ_ONCE(events_on))
		return false;
	/* Any CPU's ring is correct (the lock protects it); this CPU's is
	 * the uncontended one, even if we migrate before taking it.
	 */
	r = raw_cpu_ptr(event_rings);
	raw_spin_lock_irqsave(&r->lock, flags);
	if (r->len < TRIAGE_EVENT_RING) {
		r->ev[(r->head + r->len) % TRIAGE_EVENT_RING] = *ev;
		r->len++;
		pushed = true;
	}
	raw_spin_unlock_irqrestore(&r->lock, flags);
	if (pushed)
		irq_work_queue(&events_irq_work);
	return pushed;
}

void triage_event_wait_exceeded(struct triage_wl *wl, const struct task_struct *p, u32 slot,
				u64 wait_ns, u32 threshold_us, u64 now)
{
	u64 next = atomic64_read(&wl->next_event_ns);
	u64 interval = (u64)READ_ONCE(triage_event_interval_ms) * NSEC_PER_MSEC;
	struct triage_event ev;

	if (now < next || atomic64_cmpxchg(&wl->next_event_ns, next, now + interval) != next) {
		atomic_inc(&wl->suppressed);
		return;
	}
	ev = (struct triage_event){
		.cmd = TRIAGE_CMD_WAIT_EXCEEDED,
		.wl_id = wl->wl_id,
		.tgid = p->tgid,
		.tid = p->pid,
		.slot = slot,
		.threshold_us = threshold_us,
		.wait_ns = wait_ns,
		.suppressed = atomic_xchg(&wl->suppressed, 0),
	};
	if (!event_push(&ev))
		atomic_add(ev.suppressed + 1, &wl->suppressed);
}

void triage_event_task_exit(u32 tgid, u32 wl_id, u32 slot)
{
	struct triage_event ev = {
		.cmd = TRIAGE_CMD_TASK_EXIT,
		.tgid = tgid,
		.wl_id = wl_id,
		.slot = slot,
	};

	if (!event_push(&ev))
		atomic64_inc(&events_dropped);
}

/* Outside the scheduler's locks now; queue_work may wake a worker. */
static void events_irq_work_fn(struct irq_work *w)
{
	queue_work(triage_wq, &events_work);
}

static int event_fill(struct sk_buff *skb, const struct triage_event *ev)
{
	if (ev->cmd == TRIAGE_CMD_TASK_EXIT)
		return nla_put_u32(skb, TRIAGE_ATTR_TGID, ev->tgid) ||
		       nla_put_u32(skb, TRIAGE_ATTR_WL_ID, ev->wl_id) ||
		       nla_put_u32(skb, TRIAGE_ATTR_SLOT, ev->slot);
	return nla_put_u32(skb, TRIAGE_ATTR_WL_ID, ev->wl_id) ||
	       nla_put_u32(skb, TRIAGE_ATTR_TGID, ev->tgid) ||
	       nla_put_u32(skb, TRIAGE_ATTR_TID, ev->tid) ||
	       nla_put_u32(skb, TRIAGE_ATTR_SLOT, ev->slot) ||
	       nla_put_u64_64bit(skb, TRIAGE_ATTR_WAIT_NS, ev->wait_ns, TRIAGE_ATTR_PAD) ||
	       nla_put_u32(skb, TRIAGE_ATTR_WAIT_THRESHOLD_US, ev->threshold_us) ||
	       nla_put_u32(skb, TRIAGE_ATTR_SUPPRESSED, ev->suppressed);
}

static void event_send(const struct triage_event *ev)
{
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&triage_family, &init_net, TRIAGE_MCGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		goto dropped;
	hdr = genlmsg_put(skb, 0, 0, &triage_family, 0, ev->cmd);
	if (!hdr || event_fill(skb, ev)) {
		nlmsg_free(skb);
		goto dropped;
	}
	genlmsg_end(skb, hdr);
	/* -ESRCH: the last listener left meanwhile; not a loss. */
	genlmsg_multicast(&triage_family, skb, 0, TRIAGE_MCGRP_EVENTS, GFP_KERNEL);
	return;
dropped:
	atomic64_inc(&events_dropped);
}

static bool event_pop(struct triage_event_ring *r, struct triage_event *ev)
{
	unsigned long flags;
	bool popped = false;

	raw_spin_lock_irqsave(&r->lock, flags);
	if (r->len) {
		*ev = r->ev[r->head];
		r->head = (r->head + 1) % TRIAGE_EVENT_RING;
		r->len--;
		popped = true;
	}
	raw_spin_unlock_irqrestore(&r->lock, flags);
	return popped;
}

static void events_work_fn(struct work_struct *w)
{
	struct triage_event ev;
	unsigned int cpu;

	mutex_lock(&events_send_lock);
	for_each_possible_cpu(cpu)
		while (event_pop(per_cpu_ptr(event_rings, cpu), &ev))
			if (events_on)
				event_send(&ev);
	mutex_unlock(&events_send_lock);
}

int triage_events_init(void)
{
	unsigned int cpu;

	event_rings = alloc_percpu(struct triage_event_ring);
	if (!event_rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		raw_spin_lock_init(&per_cpu_ptr(event_rings, cpu)->lock);
	init_irq_work(&events_irq_work, events_irq_work_fn);
	INIT_WORK(&events_work, events_work_fn);
	return 0;
}

/* Once the family is registered: its multicast group exists. */
void triage_events_start(void)
{
	WRITE_ONCE(events_on, true);
}

/* Before the family goes: no multicast after this returns. */
void triage_events_stop(void)
{
	mutex_lock(&events_send_lock);
	WRITE_ONCE(events_on, false);
	mutex_unlock(&events_send_lock);
}

/* After the probes are gone: nothing can push or raise any more. */
void triage_events_exit(void)
{
	irq_work_sync(&events_irq_work);
	cancel_work_sync(&events_work);
	free_percpu(event_rings);
	event_rings = NULL;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Fail safe: when the netlink socket that set an affinity policy or a
 * real-time guard is released, because the agent exited, crashed or was
 * killed, the masks it changed are restored and the real-time threads of
 * the groups it guarded turned back to SCHED_NORMAL (schedguard.c).
 * Without this a dead agent could leave a workload pinned to one core, or
 * spinning at SCHED_FIFO over everything else, forever. Tags and counters
 * are not touched: the next agent finds the sensors still counting.
 *
 * A NETLINK_URELEASE notifier sees every netlink socket of the host go.
 * The chain may call it in atomic context, so it only checks whether the
 * port owns a policy or a guard and queues a work item carrying the port
 * and the current sequence numbers of both; the work restores in process
 * context (set_cpus_allowed_ptr() and sched_set_normal() may sleep). No
 * request of a released socket can run any more (a request holds the
 * socket's file), so what the port owns can only be re-owned meanwhile,
 * which the sequence numbers tell apart. Out of memory in the notifier,
 * every policy and every guard is undone: the safe side.
 */
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <net/net_namespace.h>

#include "internal.h"

struct triage_release_work {
	struct work_struct work;
	u32 portid;
	u64 seq;    /* affinity policies */
	u64 sg_seq; /* real-time guards */
};

static struct work_struct release_all_work;
static bool notifier_registered;

static void release_work_fn(struct work_struct *work)
{
	struct triage_release_work *w = container_of(work, struct triage_release_work, work);

	triage_affinity_release(w->portid, w->seq, false);
	triage_sched_guard_release(w->portid, w->sg_seq, false);
	kfree(w);
}

static void release_all_work_fn(struct work_struct *work)
{
	pr_warn("out of memory in the netlink notifier: restoring every affinity policy and real-time class\n");
	triage_affinity_release(0, 0, true);
	triage_sched_guard_release(0, 0, true);
}

static int failsafe_netlink_notify(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;
	struct triage_release_work *w;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC || !n->portid ||
	    !net_eq(n->net, &init_net) ||
	    (!triage_affinity_port_owns(n->portid) && !triage_sched_guard_port_owns(n->portid)))
		return NOTIFY_DONE;
	w = kmalloc(sizeof(*w), GFP_ATOMIC | __GFP_NOWARN);
	if (!w) {
		queue_work(triage_wq, &release_all_work);
		return NOTIFY_DONE;
	}
	INIT_WORK(&w->work, release_work_fn);
	w->portid = n->portid;
	w->seq = triage_affinity_seq();
	w->sg_seq = triage_sched_guard_seq();
	queue_work(triage_wq, &w->work);
	return NOTIFY_DONE;
}

static struct notifier_block failsafe_nb = {
	.notifier_call = failsafe_netlink_notify,
};

/* A failure leaves the module usable, without TRIAGE_FEAT_FAILSAFE (and
 * so without TRIAGE_FEAT_SCHED_GUARD). */
void triage_failsafe_init(void)
{
	int err;

	INIT_WORK(&release_all_work, release_all_work_fn);
	err = netlink_register_notifier(&failsafe_nb);
	if (err) {
		pr_warn("netlink notifier (%d): affinity and real-time classes are not restored when the agent dies\n",
			err);
		return;
	}
	notifier_registered = true;
	triage_features |= TRIAGE_FEAT_FAILSAFE;
}

/* Before the work queue is drained: no release work is queued after. */
void triage_failsafe_exit(void)
{
	if (notifier_registered)
		netlink_unregister_notifier(&failsafe_nb);
	notifier_registered = false;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Real-time classes given back when their owner goes.
 *
 * The agent makes the threads of critical workloads SCHED_FIFO, SCHED_RR
 * or SCHED_DEADLINE itself (sched_setattr) and guards them against running
 * away; SCHED_GUARD tells the module "this thread group is real time by my
 * doing". When the netlink socket that said so is released (the agent
 * exited, crashed or was killed with -9: failsafe.c sees it), and on
 * rmmod, every thread of the group that is real time then, also threads
 * born since, is turned to SCHED_NORMAL at nice 0 with
 * sched_setattr_nocheck() (sched_set_normal() would WARN where the kernel
 * refuses, and says nothing back). SCHED_UNGUARD forgets a group without touching it
 * (the agent gave the classes back itself).
 *
 * A guard remembers its owner's port and a sequence number, as affinity
 * policies do, so a later GUARD from a socket that reused the port number
 * is not undone by the first socket's release. Guards live in a short
 * list under a spinlock: the netlink notifier asks from atomic context
 * whether a port owns one; the revert itself runs in process context.
 */
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <uapi/linux/sched/types.h>

#include "internal.h"

#define TRIAGE_MAX_SCHED_GUARDS 1024

struct triage_sguard {
	struct list_head node;
	pid_t tgid;
	u32 owner_portid;
	u64 owner_seq;
};

static LIST_HEAD(sg_list);
static DEFINE_SPINLOCK(sg_lock);
static unsigned int nr_sg;
static atomic64_t sg_seq = ATOMIC64_INIT(0);

static struct triage_sguard *sg_find(pid_t tgid)
{
	struct triage_sguard *g;

	list_for_each_entry(g, &sg_list, node)
		if (g->tgid == tgid)
			return g;
	return NULL;
}

static bool realtime_policy(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR || policy == SCHED_DEADLINE;
}

/* Every real-time thread of tgid to SCHED_NORMAL, nice 0. */
static void sg_revert(pid_t tgid, const char *why)
{
	struct task_struct *leader, **threads;
	unsigned int nr, i, reverted = 0;

	leader = triage_group_leader_get(tgid);
	if (!leader)
		return;
	threads = triage_threads_get(leader, &nr);
	if (!threads) {
		pr_warn("tgid %d: out of memory, its real-time threads stay real time\n", tgid);
		put_task_struct(leader);
		return;
	}
	for (i = 0; i < nr; i++) {
		struct sched_attr attr = { .size = sizeof(attr), .sched_policy = SCHED_NORMAL };

		if (!realtime_policy(READ_ONCE(threads[i]->policy)) ||
		    (threads[i]->flags & PF_EXITING))
			continue;
		if (!sched_setattr_nocheck(threads[i], &attr))
			reverted++;
	}
	triage_threads_put(threads, nr);
	put_task_struct(leader);
	if (reverted)
		pr_info("%s: %u real-time thread%s of tgid %d turned to SCHED_NORMAL\n", why,
			reverted, reverted == 1 ? "" : "s", tgid);
}

int triage_cmd_sched_guard(struct sk_buff *skb, struct genl_info *info)
{
	struct triage_sguard *g, *fresh;
	struct task_struct *leader;
	unsigned long flags;
	pid_t tgid;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_TGID), 0);
	if (err)
		return err;
	tgid = nla_get_u32(info->attrs[TRIAGE_ATTR_TGID]);
	leader = tgid > 0 ? triage_group_leader_get(tgid) : NULL;
	if (!leader) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
				    "no such thread group");
		return -ESRCH;
	}
	put_task_struct(leader);
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	spin_lock_irqsave(&sg_lock, flags);
	g = sg_find(tgid);
	if (!g && nr_sg >= TRIAGE_MAX_SCHED_GUARDS) {
		spin_unlock_irqrestore(&sg_lock, flags);
		kfree(fresh);
		NL_SET_ERR_MSG(info->extack, "too many guarded thread groups");
		return -ENOSPC;
	}
	if (!g) {
		g = fresh;
		fresh = NULL;
		g->tgid = tgid;
		list_add(&g->node, &sg_list);
		nr_sg++;
	}
	g->owner_portid = info->snd_portid;
	g->owner_seq = atomic64_inc_return(&sg_seq);
	spin_unlock_irqrestore(&sg_lock, flags);
	kfree(fresh);
	return 0;
}

int triage_cmd_sched_unguard(struct sk_buff *skb, struct genl_info *info)
{
	struct triage_sguard *g;
	unsigned long flags;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_TGID), 0);
	if (err)
		return err;
	spin_lock_irqsave(&sg_lock, flags);
	g = sg_find(nla_get_u32(info->attrs[TRIAGE_ATTR_TGID]));
	if (g) {
		list_del(&g->node);
		nr_sg--;
	}
	spin_unlock_irqrestore(&sg_lock, flags);
	if (!g) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
				    "no guard for this thread group");
		return -ENOENT;
	}
	kfree(g);
	return 0;
}

/* From the exit probe: a group that is gone needs no guard. */
void triage_sched_guard_group_exit(u32 tgid)
{
	struct triage_sguard *g;
	unsigned long flags;

	if (!READ_ONCE(nr_sg))
		return;
	spin_lock_irqsave(&sg_lock, flags);
	g = sg_find(tgid);
	if (g) {
		list_del(&g->node);
		nr_sg--;
	}
	spin_unlock_irqrestore(&sg_lock, flags);
	kfree(g);
}

u64 triage_sched_guard_seq(void)
{
	return atomic64_read(&sg_seq);
}

/* From any context. */
bool triage_sched_guard_port_owns(u32 portid)
{
	struct triage_sguard *g;
	unsigned long flags;
	bool owns = false;

	if (!READ_ONCE(nr_sg))
		return false;
	spin_lock_irqsave(&sg_lock, flags);
	list_for_each_entry(g, &sg_list, node) {
		if (g->owner_portid == portid) {
			owns = true;
			break;
		}
	}
	spin_unlock_irqrestore(&sg_lock, flags);
	return owns;
}

/* Reverts and drops the guards port set up to seq (every guard if all);
 * process context. */
void triage_sched_guard_release(u32 portid, u64 seq, bool all)
{
	struct triage_sguard *g, *tmp;
	unsigned long flags;
	LIST_HEAD(gone);

	spin_lock_irqsave(&sg_lock, flags);
	list_for_each_entry_safe(g, tmp, &sg_list, node) {
		if (!all && (g->owner_portid != portid || g->owner_seq > seq))
			continue;
		list_move(&g->node, &gone);
		nr_sg--;
	}
	spin_unlock_irqrestore(&sg_lock, flags);
	list_for_each_entry_safe(g, tmp, &gone, node) {
		sg_revert(g->tgid, all ? "unloading" : "netlink port closed");
		list_del(&g->node);
		kfree(g);
	}
}

void triage_sched_guard_init(void)
{
	triage_features |= TRIAGE_FEAT_SCHED_GUARD;
}

/* rmmod, after every queued work ran: nothing stays real time unguarded. */
void triage_sched_guard_exit(void)
{
	triage_sched_guard_release(0, 0, true);
}

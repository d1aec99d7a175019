// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Real-time classes given back when their owner goes.
 *
 * The agent makes the threads of critical workloads SCHED_FIFO, SCHED_RR
 * or SCHED_DEADLINE itself (sched_setattr) and watches them for running
 * away; SCHED_GUARD tells the module "this thread group is real time by my
 * doing". When the netlink socket that said so is released (the agent
 * exited, crashed or was killed with -9: failsafe.c sees it), and on
 * rmmod, every thread of the group that is real time then is turned to
 * SCHED_NORMAL at nice 0. Nothing is tracked per thread: the walk at that
 * moment also finds the threads born since the GUARD (they inherited the
 * class). SCHED_UNGUARD forgets a group without touching it (the agent
 * gave the classes back itself).
 *
 * A guard holds a reference to the group's struct pid, not just its
 * number: a group that exited and whose number went to a new process is
 * never reverted in its place (pid_task() finds no task on the old pid).
 * It remembers its owner's port and a sequence number, as affinity
 * policies do, so the release of a socket does not undo a later GUARD of
 * the same group by another socket, or by one that reused the port
 * number. A GUARD from another port moves the guard to it.
 *
 * Guards live in a short list (at most TRIAGE_MAX_SCHED_GUARDS) under a
 * spinlock: the netlink notifier asks from any context whether a port
 * owns one, the exit probe drops them; reverting runs in process context.
 * Going back to SCHED_NORMAL uses sched_set_normal() (exported since 5.9,
 * below the module's floor): it cannot fail for a user thread leaving a
 * real-time class, and the policy is read again to count what changed.
 */
#include <linux/list.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "internal.h"

/* Walks of a group at revert: one more whenever a pass changed a thread,
 * for threads a still-real-time thread created during the pass. */
#define SG_REVERT_PASSES 4

struct triage_sguard {
	struct list_head node;
	struct pid *pid; /* the group's, referenced */
	pid_t tgid;      /* its number in the initial pid namespace */
	u32 owner_portid;
	u64 owner_seq;
};

static LIST_HEAD(sg_list);
static DEFINE_SPINLOCK(sg_lock);
static unsigned int nr_sg; /* under sg_lock; READ_ONCE outside it */
static atomic64_t sg_seq = ATOMIC64_INIT(0);

/* Caller holds sg_lock. */
static struct triage_sguard *sg_find(pid_t tgid)
{
	struct triage_sguard *g;

	list_for_each_entry(g, &sg_list, node)
		if (g->tgid == tgid)
			return g;
	return NULL;
}

/* Caller holds sg_lock; the caller frees g after unlocking. */
static void sg_unlink(struct triage_sguard *g)
{
	list_del(&g->node);
	WRITE_ONCE(nr_sg, nr_sg - 1);
}

static void sg_free(struct triage_sguard *g)
{
	if (!g)
		return;
	put_pid(g->pid);
	kfree(g);
}

static bool realtime_policy(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR || policy == SCHED_DEADLINE;
}

/* One walk over the group's threads; how many it turned to SCHED_NORMAL. */
static unsigned int sg_revert_pass(struct task_struct *leader)
{
	struct task_struct **threads;
	unsigned int nr, i, reverted = 0;

	threads = triage_threads_get(leader, &nr);
	if (!threads)
		return 0;
	for (i = 0; i < nr; i++) {
		struct task_struct *t = threads[i];

		if (!realtime_policy(READ_ONCE(t->policy)) || (t->flags & PF_EXITING))
			continue;
		sched_set_normal(t, 0);
		reverted += !realtime_policy(READ_ONCE(t->policy));
	}
	triage_threads_put(threads, nr);
	return reverted;
}

/* Every real-time thread of g's group to SCHED_NORMAL, nice 0. */
static void sg_revert(const struct triage_sguard *g, const char *why)
{
	struct task_struct *leader;
	unsigned int pass, n, reverted = 0;

	rcu_read_lock();
	leader = pid_task(g->pid, PIDTYPE_TGID);
	if (leader)
		get_task_struct(leader);
	rcu_read_unlock();
	if (!leader)
		return;
	for (pass = 0; pass < SG_REVERT_PASSES; pass++) {
		n = sg_revert_pass(leader);
		reverted += n;
		if (!n)
			break;
	}
	put_task_struct(leader);
	if (reverted)
		pr_info("%s: %u real-time thread%s of tgid %d turned to SCHED_NORMAL\n", why,
			reverted, reverted == 1 ? "" : "s", g->tgid);
}

/* The group's struct pid, referenced, if tgid names a live user process. */
static struct pid *sg_group_pid(pid_t tgid, struct genl_info *info, int *err)
{
	const struct nlattr *attr = info->attrs[TRIAGE_ATTR_TGID];
	struct task_struct *leader;
	struct pid *pid = NULL;

	rcu_read_lock();
	leader = pid_task(find_pid_ns(tgid, &init_pid_ns), PIDTYPE_TGID);
	if (!leader) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such thread group");
		*err = -ESRCH;
	} else if (!atomic_read(&leader->signal->live)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "thread group is exiting");
		*err = -ESRCH;
	} else if (leader->flags & PF_KTHREAD) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "kernel threads keep their class");
		*err = -EINVAL;
	} else {
		pid = get_pid(task_tgid(leader));
	}
	rcu_read_unlock();
	return pid;
}

int triage_cmd_sched_guard(struct sk_buff *skb, struct genl_info *info)
{
	struct triage_sguard *g, *fresh;
	unsigned long flags;
	pid_t tgid;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_TGID), 0);
	if (err)
		return err;
	if (!(triage_features & TRIAGE_FEAT_SCHED_GUARD)) {
		NL_SET_ERR_MSG(info->extack, "no netlink release notifier: a guard would never act");
		return -EOPNOTSUPP;
	}
	/* The policy keeps 0 out; a pid_t above PID_MAX_LIMIT names nothing. */
	tgid = nla_get_u32(info->attrs[TRIAGE_ATTR_TGID]);
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	fresh->pid = tgid > 0 ? sg_group_pid(tgid, info, &err) : NULL;
	if (!fresh->pid) {
		if (!err) {
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
					    "no such thread group");
			err = -ESRCH;
		}
		sg_free(fresh);
		return err;
	}
	fresh->tgid = tgid;

	spin_lock_irqsave(&sg_lock, flags);
	g = sg_find(tgid);
	if (g && g->pid != fresh->pid) {
		/* A guard of an earlier group that had this number. */
		swap(g->pid, fresh->pid);
	} else if (!g && nr_sg >= TRIAGE_MAX_SCHED_GUARDS) {
		spin_unlock_irqrestore(&sg_lock, flags);
		sg_free(fresh);
		NL_SET_ERR_MSG(info->extack, "too many guarded thread groups");
		return -ENOSPC;
	} else if (!g) {
		g = fresh;
		fresh = NULL;
		list_add(&g->node, &sg_list);
		WRITE_ONCE(nr_sg, nr_sg + 1);
	}
	g->owner_portid = info->snd_portid;
	g->owner_seq = atomic64_inc_return(&sg_seq);
	spin_unlock_irqrestore(&sg_lock, flags);
	sg_free(fresh);
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
	if (g)
		sg_unlink(g);
	spin_unlock_irqrestore(&sg_lock, flags);
	if (!g) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
				    "no guard for this thread group");
		return -ENOENT;
	}
	sg_free(g);
	return 0;
}

/* sched_process_exit of a group's last thread (maybe twice before 6.16). */
void triage_sched_guard_group_exit(u32 tgid)
{
	struct triage_sguard *g;
	unsigned long flags;

	if (!READ_ONCE(nr_sg))
		return;
	spin_lock_irqsave(&sg_lock, flags);
	g = sg_find(tgid);
	if (g)
		sg_unlink(g);
	spin_unlock_irqrestore(&sg_lock, flags);
	sg_free(g);
}

/* ---- fail safe (failsafe.c decides when) ---- */

u64 triage_sched_guard_seq(void)
{
	return atomic64_read(&sg_seq);
}

/* From any context: whether port set a guard that still stands. */
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

/*
 * Reverts and drops the guards port set up to seq (every guard if all);
 * process context. Those re-set later, by another socket or one that
 * reused the port number, have a higher owner_seq and stay.
 */
void triage_sched_guard_release(u32 portid, u64 seq, bool all)
{
	struct triage_sguard *g, *tmp;
	unsigned long flags;
	LIST_HEAD(gone);

	spin_lock_irqsave(&sg_lock, flags);
	list_for_each_entry_safe(g, tmp, &sg_list, node) {
		if (!all && (g->owner_portid != portid || g->owner_seq > seq))
			continue;
		sg_unlink(g);
		list_add_tail(&g->node, &gone);
	}
	spin_unlock_irqrestore(&sg_lock, flags);
	list_for_each_entry_safe(g, tmp, &gone, node) {
		sg_revert(g, all ? "unloading" : "netlink port closed");
		list_del(&g->node);
		sg_free(g);
	}
}

/* After triage_failsafe_init(): without its notifier a guard would only
 * act at rmmod, so the feature, and the command, stay off. */
void triage_sched_guard_init(void)
{
	if (triage_features & TRIAGE_FEAT_FAILSAFE)
		triage_features |= TRIAGE_FEAT_SCHED_GUARD;
}

/* rmmod, after every queued work ran: nothing stays real time unguarded. */
void triage_sched_guard_exit(void)
{
	triage_sched_guard_release(0, 0, true);
}

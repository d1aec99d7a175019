// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Sticky CPU affinity of thread groups, reverted when its owner goes.
 *
 * SET_AFFINITY restricts every thread of a group to a mask and, unless
 * TRIAGE_AFFINITY_F_ONCE, every thread it creates later: the group stays
 * where the agent put it even when a runtime spawns worker threads, or
 * widens its own mask first (many thread pools do). The mask each thread
 * had before the first SET_AFFINITY is saved, and for threads born later
 * the group leader's original mask stands in.
 *
 * New threads are seen in sched_process_fork, before wake_up_new_task().
 * That probe runs with preemption disabled and set_cpus_allowed_ptr() may
 * sleep (it waits for a migration), so the probe only queues a work item
 * (GFP_ATOMIC, holding a task reference) that applies the mask; the new
 * thread may run briefly on its inherited mask before it does. If the
 * forking thread had widened itself, it is narrowed again the same way.
 *
 * Fail safe: each policy remembers the netlink port that set it and a
 * sequence number; failsafe.c restores a port's policies when its socket
 * goes (the agent exited or crashed). rmmod restores every policy.
 *
 * Masks are applied with set_cpus_allowed_ptr(), which does not intersect
 * them with the task's cpuset as sched_setaffinity() does (that helper is
 * not exported): the agent keeps masks within the cpusets it manages.
 */
#include <linux/cpumask.h>
#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "internal.h"

/* A thread's mask before the module first changed it. */
struct triage_aff_saved {
	struct list_head node;
	pid_t tid;
	unsigned long bits[]; /* cpumask_size() bytes */
};

struct triage_aff {
	struct hlist_node node; /* aff_table; RCU readers: the probes */
	struct rcu_head rcu;
	pid_t tgid;
	bool sticky;
	bool dead;         /* the group exited; dropped by aff_reap_work */
	u32 owner_portid;  /* netlink port of the last SET_AFFINITY */
	u64 owner_seq;     /* aff_seq at that SET_AFFINITY */
	struct list_head saved; /* triage_aff_saved, under aff_mutex */
	cpumask_var_t mask;
	cpumask_var_t group_orig; /* the leader's mask at the first SET */
};

struct triage_aff_fork_work {
	struct work_struct work;
	struct task_struct *task;
};

static DEFINE_HASHTABLE(aff_table, 6);
/* Writers of aff_table and every policy's fields; process context only. */
static DEFINE_MUTEX(aff_mutex);
static atomic_t nr_aff = ATOMIC_INIT(0);
static atomic64_t aff_seq = ATOMIC64_INIT(0);
static struct work_struct aff_reap_work;

static struct triage_aff *aff_find(pid_t tgid)
{
	struct triage_aff *a;

	hash_for_each_possible_rcu(aff_table, a, node, tgid, lockdep_is_held(&aff_mutex))
		if (a->tgid == tgid)
			return a;
	return NULL;
}

static void aff_free_rcu(struct rcu_head *head)
{
	struct triage_aff *a = container_of(head, struct triage_aff, rcu);

	free_cpumask_var(a->mask);
	free_cpumask_var(a->group_orig);
	kfree(a);
}

static struct triage_aff *aff_alloc(void)
{
	struct triage_aff *a = kzalloc(sizeof(*a), GFP_KERNEL);

	if (!a)
		return NULL;
	INIT_LIST_HEAD(&a->saved);
	if (!zalloc_cpumask_var(&a->mask, GFP_KERNEL) ||
	    !zalloc_cpumask_var(&a->group_orig, GFP_KERNEL)) {
		free_cpumask_var(a->mask);
		kfree(a);
		return NULL;
	}
	return a;
}

/* ---- threads of a group ---- */

static struct task_struct *group_leader_get(pid_t tgid)
{
	struct task_struct *leader = NULL;
	struct pid *pid;

	rcu_read_lock();
	pid = find_pid_ns(tgid, &init_pid_ns);
	if (pid)
		leader = pid_task(pid, PIDTYPE_TGID);
	if (leader)
		get_task_struct(leader);
	rcu_read_unlock();
	return leader;
}

/* References to the threads of leader's group now; threads created
 * meanwhile are the fork probe's.
 */
struct task_struct **triage_threads_get(struct task_struct *leader, unsigned int *nr)
{
	unsigned int n = get_nr_threads(leader) + 16, i = 0;
	struct task_struct **threads, *t;

	threads = kvmalloc_array(n, sizeof(*threads), GFP_KERNEL);
	if (!threads)
		return NULL;
	rcu_read_lock();
	for_each_thread(leader, t) {
		if (i == n)
			break;
		get_task_struct(t);
		threads[i++] = t;
	}
	rcu_read_unlock();
	*nr = i;
	return threads;
}

void triage_threads_put(struct task_struct **threads, unsigned int nr)
{
	while (nr--)
		put_task_struct(threads[nr]);
	kvfree(threads);
}

/* ---- saved masks ---- */

static struct triage_aff_saved *saved_find(struct triage_aff *a, pid_t tid)
{
	struct triage_aff_saved *s;

	list_for_each_entry(s, &a->saved, node)
		if (s->tid == tid)
			return s;
	return NULL;
}

static int saved_add(struct triage_aff *a, struct task_struct *t)
{
	struct triage_aff_saved *s;

	if (saved_find(a, t->pid))
		return 0;
	s = kmalloc(sizeof(*s) + cpumask_size(), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->tid = t->pid;
	cpumask_copy(to_cpumask(s->bits), t->cpus_ptr);
	list_add(&s->node, &a->saved);
	return 0;
}

/* Forgets threads that left the group, so a churning thread pool does
 * not grow the list.
 */
static void saved_prune(struct triage_aff *a, struct task_struct **threads, unsigned int nr)
{
	struct triage_aff_saved *s, *tmp;
	unsigned int i;

	list_for_each_entry_safe(s, tmp, &a->saved, node) {
		for (i = 0; i < nr && threads[i]->pid != s->tid; i++)
			;
		if (i == nr) {
			list_del(&s->node);
			kfree(s);
		}
	}
}

static void saved_free_all(struct triage_aff *a)
{
	struct triage_aff_saved *s, *tmp;

	list_for_each_entry_safe(s, tmp, &a->saved, node) {
		list_del(&s->node);
		kfree(s);
	}
}

/* ---- applying and restoring ---- */

static void aff_restore(struct triage_aff *a)
{
	struct task_struct *leader, **threads;
	const struct cpumask *orig;
	struct triage_aff_saved *s;
	unsigned int nr, i;

	leader = group_leader_get(a->tgid);
	if (!leader)
		return;
	threads = triage_threads_get(leader, &nr);
	if (!threads) {
		pr_warn("tgid %d: out of memory, affinity not restored\n", a->tgid);
		goto out;
	}
	for (i = 0; i < nr; i++) {
		s = saved_find(a, threads[i]->pid);
		orig = s ? to_cpumask(s->bits) : a->group_orig;
		/* Its CPUs may have gone offline since: then anywhere. */
		if (set_cpus_allowed_ptr(threads[i], orig) &&
		    !(threads[i]->flags & PF_EXITING))
			set_cpus_allowed_ptr(threads[i], cpu_possible_mask);
	}
	triage_threads_put(threads, nr);
out:
	put_task_struct(leader);
}

/* Caller holds aff_mutex. */
static void aff_drop(struct triage_aff *a, bool restore)
{
	hash_del_rcu(&a->node);
	atomic_dec(&nr_aff);
	if (restore)
		aff_restore(a);
	saved_free_all(a);
	call_rcu(&a->rcu, aff_free_rcu);
}

static int mask_from_attr(const struct nlattr *attr, struct cpumask *mask,
			  struct netlink_ext_ack *extack)
{
	const u8 *bytes = nla_data(attr);
	int len = nla_len(attr), i;

	if (len < 1 || len > TRIAGE_CPUMASK_MAX) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "TRIAGE_ATTR_CPUMASK: bad length");
		return -EINVAL;
	}
	cpumask_clear(mask);
	for (i = 0; i < len * 8; i++) {
		if (!(bytes[i / 8] & (1u << (i % 8))))
			continue;
		if (i >= nr_cpu_ids) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "TRIAGE_ATTR_CPUMASK: CPU beyond the possible ones");
			return -EINVAL;
		}
		cpumask_set_cpu(i, mask);
	}
	if (!cpumask_intersects(mask, cpu_online_mask)) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "TRIAGE_ATTR_CPUMASK: no online CPU");
		return -EINVAL;
	}
	return 0;
}

static int aff_apply(struct triage_aff *a, struct task_struct *leader)
{
	struct task_struct **threads;
	unsigned int nr, i;
	int err = 0;

	threads = triage_threads_get(leader, &nr);
	if (!threads)
		return -ENOMEM;
	saved_prune(a, threads, nr);
	for (i = 0; i < nr; i++) {
		/* Without a saved mask the thread gets group_orig back. */
		if (saved_add(a, threads[i]))
			err = -ENOMEM;
		set_cpus_allowed_ptr(threads[i], a->mask);
	}
	triage_threads_put(threads, nr);
	return err;
}

int triage_cmd_set_affinity(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *flags_attr = info->attrs[TRIAGE_ATTR_FLAGS];
	struct triage_aff *a, *fresh = NULL;
	struct task_struct *leader = NULL;
	cpumask_var_t mask;
	u32 flags = 0;
	pid_t tgid;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_TGID) | TRIAGE_NEED(TRIAGE_ATTR_CPUMASK),
				TRIAGE_AFFINITY_FLAGS_ALL);
	if (err)
		return err;
	if (flags_attr)
		flags = nla_get_u32(flags_attr);
	if (!(flags & TRIAGE_AFFINITY_F_ONCE) && !(triage_features & TRIAGE_FEAT_AFFINITY)) {
		NL_SET_ERR_MSG(info->extack,
			       "sticky affinity needs the sched_process_fork tracepoint: use TRIAGE_AFFINITY_F_ONCE");
		return -EOPNOTSUPP;
	}
	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	err = mask_from_attr(info->attrs[TRIAGE_ATTR_CPUMASK], mask, info->extack);
	if (err)
		goto out;
	tgid = nla_get_u32(info->attrs[TRIAGE_ATTR_TGID]);
	leader = group_leader_get(tgid);
	if (!leader) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
				    "no such thread group");
		err = -ESRCH;
		goto out;
	}
	if (leader->flags & PF_KTHREAD) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
				    "kernel threads keep their affinity");
		err = -EINVAL;
		goto out;
	}
	fresh = aff_alloc();
	if (!fresh) {
		err = -ENOMEM;
		goto out;
	}

	mutex_lock(&aff_mutex);
	a = aff_find(tgid);
	if (a && a->dead) {
		/* The pid was reused before the reaper ran. */
		aff_drop(a, false);
		a = NULL;
	}
	if (!a) {
		a = fresh;
		fresh = NULL;
		a->tgid = tgid;
		cpumask_copy(a->group_orig, leader->cpus_ptr);
		cpumask_copy(a->mask, mask);
		hash_add_rcu(aff_table, &a->node, tgid);
		atomic_inc(&nr_aff);
		/* The exit probe reads the table after the last thread
		 * dropped signal->live: if live is still up here, that probe
		 * will see this policy.
		 */
		smp_mb();
		if (!atomic_read(&leader->signal->live)) {
			aff_drop(a, false);
			mutex_unlock(&aff_mutex);
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
					    "thread group is exiting");
			err = -ESRCH;
			goto out;
		}
	}
	cpumask_copy(a->mask, mask);
	a->owner_portid = info->snd_portid;
	a->owner_seq = atomic64_inc_return(&aff_seq);
	WRITE_ONCE(a->sticky, !(flags & TRIAGE_AFFINITY_F_ONCE));
	err = aff_apply(a, leader);
	mutex_unlock(&aff_mutex);
out:
	if (fresh) {
		free_cpumask_var(fresh->mask);
		free_cpumask_var(fresh->group_orig);
		kfree(fresh);
	}
	if (leader)
		put_task_struct(leader);
	free_cpumask_var(mask);
	return err;
}

int triage_cmd_reset_affinity(struct sk_buff *skb, struct genl_info *info)
{
	struct triage_aff *a;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_TGID), 0);
	if (err)
		return err;
	mutex_lock(&aff_mutex);
	a = aff_find(nla_get_u32(info->attrs[TRIAGE_ATTR_TGID]));
	if (a)
		aff_drop(a, !a->dead);
	mutex_unlock(&aff_mutex);
	if (!a) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
				    "no affinity policy for this thread group");
		return -ENOENT;
	}
	return 0;
}

/* ---- new threads ---- */

static void aff_fork_work_fn(struct work_struct *work)
{
	struct triage_aff_fork_work *w = container_of(work, struct triage_aff_fork_work, work);
	struct task_struct *t = w->task;
	struct triage_aff *a;

	mutex_lock(&aff_mutex);
	a = aff_find(t->tgid);
	if (a && a->sticky && !a->dead && !(t->flags & PF_EXITING) &&
	    !cpumask_equal(t->cpus_ptr, a->mask))
		set_cpus_allowed_ptr(t, a->mask);
	mutex_unlock(&aff_mutex);
	put_task_struct(t);
	kfree(w);
}

static void aff_queue(struct task_struct *t)
{
	struct triage_aff_fork_work *w = kmalloc(sizeof(*w), GFP_ATOMIC | __GFP_NOWARN);

	if (!w) {
		pr_warn_ratelimited("out of memory: thread %d keeps its inherited mask\n", t->pid);
		return;
	}
	INIT_WORK(&w->work, aff_fork_work_fn);
	get_task_struct(t);
	w->task = t;
	queue_work(triage_wq, &w->work);
}

/* sched_process_fork: preemption disabled, no scheduler lock held. */
void triage_affinity_fork(struct task_struct *parent, struct task_struct *child)
{
	struct triage_aff *a;

	if (!atomic_read(&nr_aff))
		return;
	rcu_read_lock();
	a = aff_find(child->tgid);
	if (a && READ_ONCE(a->sticky) && !READ_ONCE(a->dead)) {
		aff_queue(child);
		if (parent->tgid == child->tgid && !cpumask_equal(parent->cpus_ptr, a->mask))
			aff_queue(parent);
	}
	rcu_read_unlock();
}

/* ---- groups that exited ---- */

static void aff_reap_work_fn(struct work_struct *work)
{
	struct hlist_node *tmp;
	struct triage_aff *a;
	unsigned int bkt;

	mutex_lock(&aff_mutex);
	hash_for_each_safe(aff_table, bkt, tmp, a, node)
		if (READ_ONCE(a->dead))
			aff_drop(a, false);
	mutex_unlock(&aff_mutex);
}

/* sched_process_exit of a group's last thread. */
void triage_affinity_group_exit(u32 tgid)
{
	struct triage_aff *a;

	if (!atomic_read(&nr_aff))
		return;
	rcu_read_lock();
	a = aff_find(tgid);
	if (a)
		WRITE_ONCE(a->dead, true);
	rcu_read_unlock();
	if (a)
		queue_work(triage_wq, &aff_reap_work);
}

/* ---- fail safe (failsafe.c decides when) ---- */

u64 triage_affinity_seq(void)
{
	return atomic64_read(&aff_seq);
}

/* From any context: whether port set a policy that still stands. */
bool triage_affinity_port_owns(u32 portid)
{
	struct triage_aff *a;
	unsigned int bkt;
	bool owns = false;

	if (!atomic_read(&nr_aff))
		return false;
	rcu_read_lock();
	hash_for_each_rcu(aff_table, bkt, a, node) {
		if (READ_ONCE(a->owner_portid) == portid) {
			owns = true;
			break;
		}
	}
	rcu_read_unlock();
	return owns;
}

/*
 * Restores the policies port set up to seq (all of them if all): those
 * re-set later, by another socket that reused the port number, have a
 * higher owner_seq and stay.
 */
void triage_affinity_release(u32 portid, u64 seq, bool all)
{
	struct hlist_node *tmp;
	struct triage_aff *a;
	unsigned int bkt;

	mutex_lock(&aff_mutex);
	hash_for_each_safe(aff_table, bkt, tmp, a, node) {
		if (!all && (a->owner_portid != portid || a->owner_seq > seq))
			continue;
		pr_info("netlink port %u closed: affinity of tgid %d restored\n", a->owner_portid,
			a->tgid);
		aff_drop(a, !a->dead);
	}
	mutex_unlock(&aff_mutex);
}

int triage_affinity_init(void)
{
	INIT_WORK(&aff_reap_work, aff_reap_work_fn);
	return 0;
}

/* After every queued work ran: restore all, free all. */
void triage_affinity_exit(void)
{
	struct hlist_node *tmp;
	struct triage_aff *a;
	unsigned int bkt;

	mutex_lock(&aff_mutex);
	hash_for_each_safe(aff_table, bkt, tmp, a, node)
		aff_drop(a, !a->dead);
	mutex_unlock(&aff_mutex);
}

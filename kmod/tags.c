// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Tags and workloads: which thread group counts in which level slot and
 * workload, and the per-workload counters the probes add to.
 *
 * The sched probes read both tables on every context switch, so they are
 * RCU hash tables: readers take no lock, and the writers (netlink
 * requests, and the exit probe dropping the tag of a group that died)
 * serialise on one raw spinlock, never taken by the switch or wakeup
 * probes. It is a raw spinlock because the exit probe may run with
 * preemption disabled, also on PREEMPT_RT. Tags are immutable: re-tagging
 * publishes a new node. A workload is created by its first tag and lives,
 * with its counters, until FORGET_WL, so UNTAG and exits keep history.
 *
 * A tag belongs to a thread group (tgid in the initial pid namespace).
 * TAG checks under the lock that the group is alive: a group whose last
 * thread already ran the exit probe could otherwise keep a tag forever.
 */
#include <linux/hashtable.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "internal.h"

static DEFINE_HASHTABLE(triage_tag_table, 10);
static DEFINE_HASHTABLE(triage_wl_table, 8);
static DEFINE_RAW_SPINLOCK(triage_tags_lock);
static unsigned int triage_nr_wls;

/* Starts at 1 so that a zeroed cache never looks current. */
atomic64_t triage_tags_gen = ATOMIC64_INIT(1);
atomic_t triage_nr_tags = ATOMIC_INIT(0);

static void tags_changed(void)
{
	/* Pairs with the acquire in triage_tags_gen_read(): a reader that
	 * sees the new generation sees the tables as they are now.
	 */
	smp_mb__before_atomic();
	atomic64_inc(&triage_tags_gen);
}

struct triage_tag_node *triage_tag_find(u32 tgid)
{
	struct triage_tag_node *t;

	hash_for_each_possible_rcu(triage_tag_table, t, node, tgid)
		if (t->tgid == tgid)
			return t;
	return NULL;
}

struct triage_wl *triage_wl_find(u32 wl_id)
{
	struct triage_wl *wl;

	hash_for_each_possible_rcu(triage_wl_table, wl, node, wl_id)
		if (wl->wl_id == wl_id)
			return wl;
	return NULL;
}

/* Caller holds rcu_read_lock(). */
static bool tgid_alive(u32 tgid)
{
	struct task_struct *leader;
	struct pid *pid;

	pid = find_pid_ns(tgid, &init_pid_ns);
	leader = pid ? pid_task(pid, PIDTYPE_TGID) : NULL;
	return leader && atomic_read(&leader->signal->live) > 0;
}

static void tag_unlink(struct triage_tag_node *t)
{
	hash_del_rcu(&t->node);
	atomic_dec(&t->wl->nr_tgids);
	atomic_dec(&triage_nr_tags);
	kfree_rcu(t, rcu);
}

int triage_cmd_tag(struct sk_buff *skb, struct genl_info *info)
{
	struct triage_tag_node *t, *old;
	struct triage_wl *wl, *new_wl;
	u32 tgid, wl_id, threshold = 0;
	bool alive;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_TGID) | TRIAGE_NEED(TRIAGE_ATTR_SLOT) |
					      TRIAGE_NEED(TRIAGE_ATTR_WL_ID), 0);
	if (err)
		return err;
	tgid = nla_get_u32(info->attrs[TRIAGE_ATTR_TGID]);
	wl_id = nla_get_u32(info->attrs[TRIAGE_ATTR_WL_ID]);
	if (info->attrs[TRIAGE_ATTR_WAIT_THRESHOLD_US])
		threshold = nla_get_u32(info->attrs[TRIAGE_ATTR_WAIT_THRESHOLD_US]);

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	new_wl = kzalloc(sizeof(*new_wl), GFP_KERNEL);
	if (!t || !new_wl) {
		err = -ENOMEM;
		goto out;
	}
	t->tgid = tgid;
	t->slot = nla_get_u32(info->attrs[TRIAGE_ATTR_SLOT]);
	t->wait_threshold_us = threshold;
	new_wl->wl_id = wl_id;
	new_wl->slot = t->slot;

	raw_spin_lock(&triage_tags_lock);
	rcu_read_lock();
	alive = tgid_alive(tgid);
	rcu_read_unlock();
	if (!alive) {
		raw_spin_unlock(&triage_tags_lock);
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
				    "no such thread group");
		err = -ESRCH;
		goto out;
	}
	old = triage_tag_find(tgid);
	if (!old && atomic_read(&triage_nr_tags) >= TRIAGE_MAX_TAGS) {
		raw_spin_unlock(&triage_tags_lock);
		NL_SET_ERR_MSG(info->extack, "tag table full");
		err = -ENOSPC;
		goto out;
	}
	wl = triage_wl_find(wl_id);
	if (!wl) {
		if (triage_nr_wls >= TRIAGE_MAX_WORKLOADS) {
			raw_spin_unlock(&triage_tags_lock);
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_WL_ID],
					    "workload table full");
			err = -ENOSPC;
			goto out;
		}
		wl = new_wl;
		new_wl = NULL;
		hash_add_rcu(triage_wl_table, &wl->node, wl_id);
		triage_nr_wls++;
	}
	t->wl = wl;
	atomic_inc(&wl->nr_tgids);
	atomic_inc(&triage_nr_tags);
	if (old) {
		hlist_replace_rcu(&old->node, &t->node);
		atomic_dec(&old->wl->nr_tgids);
		atomic_dec(&triage_nr_tags);
		kfree_rcu(old, rcu);
	} else {
		hash_add_rcu(triage_tag_table, &t->node, tgid);
	}
	t = NULL;
	tags_changed();
	raw_spin_unlock(&triage_tags_lock);
	err = 0;
out:
	kfree(t);
	kfree(new_wl);
	return err;
}

int triage_cmd_untag(struct sk_buff *skb, struct genl_info *info)
{
	struct triage_tag_node *t;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_TGID), 0);
	if (err)
		return err;
	raw_spin_lock(&triage_tags_lock);
	t = triage_tag_find(nla_get_u32(info->attrs[TRIAGE_ATTR_TGID]));
	if (t) {
		tag_unlink(t);
		tags_changed();
	}
	raw_spin_unlock(&triage_tags_lock);
	if (!t) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_TGID],
				    "thread group has no tag");
		return -ENOENT;
	}
	return 0;
}

int triage_cmd_forget_wl(struct sk_buff *skb, struct genl_info *info)
{
	struct triage_tag_node *t;
	struct hlist_node *tmp;
	struct triage_wl *wl;
	unsigned int bkt;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_WL_ID), 0);
	if (err)
		return err;
	raw_spin_lock(&triage_tags_lock);
	wl = triage_wl_find(nla_get_u32(info->attrs[TRIAGE_ATTR_WL_ID]));
	if (wl) {
		hash_for_each_safe(triage_tag_table, bkt, tmp, t, node)
			if (t->wl == wl)
				tag_unlink(t);
		hash_del_rcu(&wl->node);
		triage_nr_wls--;
		/* Before the grace period starts: see triage_tags_gen. */
		tags_changed();
		kfree_rcu(wl, rcu);
	}
	raw_spin_unlock(&triage_tags_lock);
	if (!wl) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_WL_ID],
				    "unknown workload");
		return -ENOENT;
	}
	return 0;
}

/* From the exit probe, for the last thread of a group: its tag goes. A
 * group may be reported more than once on kernels before 6.16 (see
 * compat.h); only the call that removes the tag sends TASK_EXIT.
 */
void triage_tags_group_exit(u32 tgid)
{
	struct triage_tag_node *t;
	u32 wl_id = 0, slot = 0;

	if (!atomic_read(&triage_nr_tags))
		return;
	raw_spin_lock(&triage_tags_lock);
	t = triage_tag_find(tgid);
	if (t) {
		wl_id = t->wl->wl_id;
		slot = t->slot;
		tag_unlink(t);
		tags_changed();
	}
	raw_spin_unlock(&triage_tags_lock);
	if (t)
		triage_event_task_exit(tgid, wl_id, slot);
}

static void wl_stats_read(const struct triage_wl *wl, struct triage_wl_stats *ws)
{
	int b;

	memset(ws, 0, sizeof(*ws));
	ws->cpu_ns = atomic64_read(&wl->cpu_ns);
	ws->wait_ns = atomic64_read(&wl->wait_ns);
	ws->wait_count = atomic64_read(&wl->wait_count);
	ws->intf_ns = atomic64_read(&wl->intf_ns);
	ws->intf_count = atomic64_read(&wl->intf_count);
	ws->nr_voluntary = atomic64_read(&wl->nr_voluntary);
	ws->nr_involuntary = atomic64_read(&wl->nr_involuntary);
	for (b = 0; b < TRIAGE_HIST_BUCKETS; b++)
		ws->wait_hist[b] = atomic64_read(&wl->wait_hist[b]);
	ws->last_cpu = READ_ONCE(wl->last_cpu);
	ws->slot = READ_ONCE(wl->slot);
}

static int wl_stats_put(struct sk_buff *skb, const struct triage_wl *wl)
{
	struct triage_wl_stats ws;

	wl_stats_read(wl, &ws);
	if (nla_put_u32(skb, TRIAGE_ATTR_WL_ID, wl->wl_id) ||
	    nla_put_u32(skb, TRIAGE_ATTR_NR_TGIDS, atomic_read(&wl->nr_tgids)) ||
	    nla_put(skb, TRIAGE_ATTR_WL_STATS, sizeof(ws), &ws))
		return -EMSGSIZE;
	return 0;
}

int triage_cmd_get_wl_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct triage_wl *wl;
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = triage_doit_check(info, TRIAGE_NEED(TRIAGE_ATTR_WL_ID), 0);
	if (err)
		return err;
	msg = triage_reply_new(info, TRIAGE_CMD_GET_WL_STATS, &hdr);
	if (!msg)
		return -ENOMEM;
	if (!hdr) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	rcu_read_lock();
	wl = triage_wl_find(nla_get_u32(info->attrs[TRIAGE_ATTR_WL_ID]));
	err = wl ? wl_stats_put(msg, wl) : -ENOENT;
	rcu_read_unlock();
	if (err) {
		nlmsg_free(msg);
		if (err == -ENOENT)
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TRIAGE_ATTR_WL_ID],
					    "unknown workload");
		return err;
	}
	return triage_reply(info, msg, hdr);
}

/*
 * Dumps walk a hash table in several calls: cb->args[0] is the bucket,
 * cb->args[1] how many entries of it were sent. Entries added or removed
 * between calls may be missed or repeated, as with any netlink dump.
 * put() adds one entry's attributes, or fails when skb is full.
 */
static int dump_table(struct sk_buff *skb, struct netlink_callback *cb, struct hlist_head *table,
		      unsigned long nr_buckets, u8 cmd,
		      int (*put)(struct sk_buff *skb, struct hlist_node *node))
{
	unsigned long bkt = cb->args[0], skip = cb->args[1], idx;
	struct hlist_node *node;
	void *hdr;

	rcu_read_lock();
	for (; bkt < nr_buckets; bkt++, skip = 0) {
		idx = 0;
		__hlist_for_each_rcu(node, &table[bkt]) {
			if (idx++ < skip)
				continue;
			hdr = triage_dump_put(skb, cb, cmd);
			if (!hdr)
				goto full;
			if (put(skb, node)) {
				genlmsg_cancel(skb, hdr);
				goto full;
			}
			genlmsg_end(skb, hdr);
		}
	}
	idx = 0;
full:
	rcu_read_unlock();
	cb->args[0] = bkt;
	cb->args[1] = idx ? idx - 1 : 0;
	return skb->len;
}

static int wl_dump_one(struct sk_buff *skb, struct hlist_node *node)
{
	return wl_stats_put(skb, hlist_entry(node, struct triage_wl, node));
}

int triage_dump_wl_stats(struct sk_buff *skb, struct netlink_callback *cb)
{
	return dump_table(skb, cb, triage_wl_table, HASH_SIZE(triage_wl_table),
			  TRIAGE_CMD_GET_WL_STATS, wl_dump_one);
}

static int tag_dump_one(struct sk_buff *skb, struct hlist_node *node)
{
	const struct triage_tag_node *t = hlist_entry(node, struct triage_tag_node, node);

	if (nla_put_u32(skb, TRIAGE_ATTR_TGID, t->tgid) ||
	    nla_put_u32(skb, TRIAGE_ATTR_SLOT, t->slot) ||
	    nla_put_u32(skb, TRIAGE_ATTR_WL_ID, t->wl->wl_id) ||
	    nla_put_u32(skb, TRIAGE_ATTR_WAIT_THRESHOLD_US, t->wait_threshold_us))
		return -EMSGSIZE;
	return 0;
}

int triage_dump_tags(struct sk_buff *skb, struct netlink_callback *cb)
{
	return dump_table(skb, cb, triage_tag_table, HASH_SIZE(triage_tag_table),
			  TRIAGE_CMD_GET_TAGS, tag_dump_one);
}

/* Module exit, after the probes are gone and the family unregistered. */
void triage_tags_exit(void)
{
	struct triage_tag_node *t;
	struct triage_wl *wl;
	struct hlist_node *tmp;
	unsigned int bkt;

	raw_spin_lock(&triage_tags_lock);
	hash_for_each_safe(triage_tag_table, bkt, tmp, t, node)
		tag_unlink(t);
	hash_for_each_safe(triage_wl_table, bkt, tmp, wl, node) {
		hash_del_rcu(&wl->node);
		kfree_rcu(wl, rcu);
	}
	triage_nr_wls = 0;
	tags_changed();
	raw_spin_unlock(&triage_tags_lock);
}

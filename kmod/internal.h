/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the parts of triage.ko share. Each part owns its state and is the
 * only one to change it: tags.c the tag and workload tables, sensors.c the
 * per-CPU and per-task counters, affinity.c the CPU-mask policies,
 * schedguard.c the real-time guards, failsafe.c when to restore both,
 * events.c the notification ring, gpu.c the devfreq look-up, genl.c the
 * family. main.c starts them in order and stops them in reverse.
 */
#ifndef TRIAGE_KMOD_INTERNAL_H
#define TRIAGE_KMOD_INTERNAL_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>

#include "triage/abi.h"
#include "triage/sensors.h"
#include "triage/sensors_math.h"
#include "triage/genl.h"
#include "compat.h"

#define TRIAGE_MODULE_VERSION "0.1.0"

/* Limits of the tables, the same as the BPF maps'. */
#define TRIAGE_MAX_TAGS (8 * TRIAGE_MAX_WORKLOADS)

/* ---- main.c: parameters, shared workqueue, features ---- */
extern unsigned int triage_task_slots;
extern unsigned int triage_event_interval_ms;
extern char *triage_gpu_nodes;
extern bool triage_sensors_enabled;
extern struct workqueue_struct *triage_wq;
extern u32 triage_features;

/* ---- genl.c ---- */
extern struct genl_family triage_family;
enum triage_mcgrp { TRIAGE_MCGRP_EVENTS };
int triage_genl_init(void);
void triage_genl_exit(void);
void *triage_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd);
/* A reply of command cmd to info's request, with its header in *hdr (NULL
 * when even the header did not fit); NULL when out of memory. */
struct sk_buff *triage_reply_new(struct genl_info *info, u8 cmd, void **hdr);
int triage_reply(struct genl_info *info, struct sk_buff *msg, void *hdr);

/*
 * The opening of every doit handler, after the core checked the policy
 * and GENL_ADMIN_PERM: each attribute of required (TRIAGE_NEED() bits)
 * must be there, checked in attribute order, the first missing one
 * answered -EINVAL and named in the extended ACK (as text, and as
 * miss_type where the kernel has it); then TRIAGE_ATTR_FLAGS may hold
 * only bits of known_flags (-EOPNOTSUPP, with the attribute in the
 * extended ACK). Attributes a handler may require are listed here, so
 * that genl.c can name each in its message.
 */
#define TRIAGE_REQUIRABLE_ATTRS(X) \
	X(TRIAGE_ATTR_TGID) X(TRIAGE_ATTR_SLOT) X(TRIAGE_ATTR_WL_ID) X(TRIAGE_ATTR_CPUMASK)
#define TRIAGE_NEED(type) BIT_ULL(type)
#define TRIAGE_NEED_OR(type) | TRIAGE_NEED(type)
#define TRIAGE_REQUIRABLE (0 TRIAGE_REQUIRABLE_ATTRS(TRIAGE_NEED_OR))
int __triage_doit_check(struct genl_info *info, u64 required, u32 known_flags);
#define triage_doit_check(info, required, known_flags)                         \
	({                                                                     \
		BUILD_BUG_ON((required) & ~(u64)TRIAGE_REQUIRABLE);            \
		__triage_doit_check(info, required, known_flags);              \
	})

/* ---- tags.c: tgid -> (slot, workload), workload counters ---- */
struct triage_wl {
	struct hlist_node node; /* triage_wl_table, RCU */
	struct rcu_head rcu;
	u32 wl_id;
	u32 last_cpu; /* WRITE_ONCE from the probes */
	u32 slot;
	atomic_t nr_tgids;
	atomic64_t cpu_ns;
	atomic64_t wait_ns;
	atomic64_t wait_count;
	atomic64_t intf_ns;
	atomic64_t intf_count;
	atomic64_t nr_voluntary;
	atomic64_t nr_involuntary;
	atomic64_t wait_hist[TRIAGE_HIST_BUCKETS];
	/* WAIT_EXCEEDED rate limit: earliest local_clock() of the next one. */
	atomic64_t next_event_ns;
	atomic_t suppressed;
};

/* Immutable once published: a new tag replaces the node. */
struct triage_tag_node {
	struct hlist_node node; /* triage_tag_table, RCU */
	struct rcu_head rcu;
	u32 tgid;
	u32 slot;
	u32 wait_threshold_us;
	struct triage_wl *wl; /* outlives the node: FORGET_WL drops tags first */
};

/*
 * Bumped after every change of the tag or workload tables. Per-task and
 * per-CPU caches hold a tag together with the generation it was read at;
 * a cached workload pointer may be used only after checking the
 * generation in the same RCU read-side section (workloads are freed after
 * a grace period that follows the bump).
 */
extern atomic64_t triage_tags_gen;
extern atomic_t triage_nr_tags;

static inline u64 triage_tags_gen_read(void)
{
	return atomic64_read_acquire(&triage_tags_gen);
}

struct triage_tag_node *triage_tag_find(u32 tgid);
struct triage_wl *triage_wl_find(u32 wl_id);
void triage_tags_group_exit(u32 tgid);
void triage_tags_exit(void);
int triage_cmd_tag(struct sk_buff *skb, struct genl_info *info);
int triage_cmd_untag(struct sk_buff *skb, struct genl_info *info);
int triage_cmd_forget_wl(struct sk_buff *skb, struct genl_info *info);
int triage_cmd_get_wl_stats(struct sk_buff *skb, struct genl_info *info);
int triage_dump_wl_stats(struct sk_buff *skb, struct netlink_callback *cb);
int triage_dump_tags(struct sk_buff *skb, struct netlink_callback *cb);

/* ---- sensors.c: sched probes ---- */
int triage_sensors_init(void);
void triage_sensors_exit(void);
int triage_dump_cpu_stats(struct sk_buff *skb, struct netlink_callback *cb);
u64 triage_sensors_collisions(void);

/* ---- events.c: ring filled by the probes, multicast from a work item ---- */
int triage_events_init(void);
void triage_events_start(void);
void triage_events_stop(void);
void triage_events_exit(void);
void triage_event_wait_exceeded(struct triage_wl *wl, const struct task_struct *p, u32 slot,
				u64 wait_ns, u32 threshold_us, u64 now);
void triage_event_task_exit(u32 tgid, u32 wl_id, u32 slot);
u64 triage_events_dropped(void);

/* ---- affinity.c: sticky CPU masks, restored when their owner goes ---- */
int triage_affinity_init(void);
void triage_affinity_exit(void);
void triage_affinity_fork(struct task_struct *parent, struct task_struct *child);
void triage_affinity_group_exit(u32 tgid);
int triage_cmd_set_affinity(struct sk_buff *skb, struct genl_info *info);
int triage_cmd_reset_affinity(struct sk_buff *skb, struct genl_info *info);
u64 triage_affinity_seq(void);
bool triage_affinity_port_owns(u32 portid);
void triage_affinity_release(u32 portid, u64 seq, bool all);

/* References to every thread of leader's group now (process context,
 * NULL out of memory), and their release (affinity.c). */
struct task_struct **triage_threads_get(struct task_struct *leader, unsigned int *nr);
void triage_threads_put(struct task_struct **threads, unsigned int nr);

/* ---- schedguard.c: real-time classes given back when their owner goes ---- */
#define TRIAGE_MAX_SCHED_GUARDS 1024
void triage_sched_guard_init(void);
void triage_sched_guard_exit(void);
void triage_sched_guard_group_exit(u32 tgid);
int triage_cmd_sched_guard(struct sk_buff *skb, struct genl_info *info);
int triage_cmd_sched_unguard(struct sk_buff *skb, struct genl_info *info);
u64 triage_sched_guard_seq(void);
bool triage_sched_guard_port_owns(u32 portid);
void triage_sched_guard_release(u32 portid, u64 seq, bool all);

/* ---- failsafe.c: undo a port's affinity and guards when its socket goes ---- */
void triage_failsafe_init(void);
void triage_failsafe_exit(void);

/* ---- gpu.c: devfreq GPU ---- */
bool triage_gpu_present(void);
int triage_cmd_get_gpu_stats(struct sk_buff *skb, struct genl_info *info);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Every difference between the kernels triage.ko builds for, 5.10 up to
 * 6.x, and nothing else: the rest of kmod/ is written against one API.
 *
 * Tracepoint probes are called through a typed pointer (and kCFI, where
 * enabled, checks the type at the call), so a probe's prototype must match
 * the kernel's TP_PROTO exactly; the prototypes that changed are spelled
 * here once. Generic netlink needs nothing: struct genl_ops with per-op
 * policies exists since 5.10, and 6.1's resv_start_op left at 0 means
 * "validate every command strictly", which is what 5.10 does with policies.
 */
#ifndef TRIAGE_KMOD_COMPAT_H
#define TRIAGE_KMOD_COMPAT_H

#include <linux/version.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/netlink.h>
#include <net/genetlink.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 10, 0)
#error "triage.ko needs Linux 5.10 or later (per-op genetlink policies)"
#endif

/* sched_switch gained the prev_state argument in 5.18. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 18, 0)
#define TRIAGE_SWITCH_PROBE(fn)                                                      \
	void fn(void *data, bool preempt, struct task_struct *prev, struct task_struct *next, \
		unsigned int prev_state)
#else
#define TRIAGE_SWITCH_PROBE(fn)                                                      \
	void fn(void *data, bool preempt, struct task_struct *prev, struct task_struct *next)
#endif

/*
 * sched_process_exit gained group_dead in 6.16 (and moved before
 * exit_mm()). Before, signal->live reaching 0 says the same: do_exit()
 * decrements it before the tracepoint, so every thread that sees 0 is
 * one of the last ones; callers must tolerate seeing it more than once.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 16, 0)
#define TRIAGE_EXIT_PROBE(fn) void fn(void *data, struct task_struct *p, bool group_dead)
#define TRIAGE_EXIT_GROUP_DEAD(p) (group_dead)
#else
#define TRIAGE_EXIT_PROBE(fn) void fn(void *data, struct task_struct *p)
#define TRIAGE_EXIT_GROUP_DEAD(p) (atomic_read(&(p)->signal->live) == 0)
#endif

/* task_struct.state became __state in 5.14. */
static inline unsigned int triage_task_state(const struct task_struct *p)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)
	return READ_ONCE(p->__state);
#else
	return READ_ONCE(p->state);
#endif
}

/* on_cpu exists on SMP kernels only; on UP a woken task is never on
 * another CPU, so "not on a CPU" is the answer that starts a wait.
 */
static inline bool triage_task_on_cpu(const struct task_struct *p)
{
#ifdef CONFIG_SMP
	return READ_ONCE(p->on_cpu);
#else
	return false;
#endif
}

/* 6.0 reports a missing attribute in the extended ACK (miss_type). */
#ifdef NL_SET_ERR_ATTR_MISS
#define TRIAGE_SET_ATTR_MISS(extack, type) NL_SET_ERR_ATTR_MISS(extack, NULL, type)
#else
#define TRIAGE_SET_ATTR_MISS(extack, type) do { } while (0)
#endif

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The generic-netlink family "triage" spoken between triage.ko and the
 * agent. docs/netlink/triage.yaml is the specification; this header holds
 * the numbers it implies and nothing else, shared by kmod/ and agent/.
 * Attributes and commands are numbered from 1 and never renumbered: a new
 * one goes at the end, and a change of meaning bumps TRIAGE_ABI_VERSION.
 */
#ifndef TRIAGE_GENL_H
#define TRIAGE_GENL_H

#include "abi.h"

#define TRIAGE_GENL_NAME "triage"
#define TRIAGE_GENL_VERSION 1
#define TRIAGE_GENL_MCGRP_EVENTS "events"

enum triage_cmd {
	TRIAGE_CMD_UNSPEC,
	TRIAGE_CMD_GET_VERSION,    /* do: ABI version, features, CPUs */
	TRIAGE_CMD_TAG,            /* do, admin: tgid -> (slot, workload) */
	TRIAGE_CMD_UNTAG,          /* do, admin: forget a tgid's tag */
	TRIAGE_CMD_SET_AFFINITY,   /* do, admin: CPU mask of a thread group */
	TRIAGE_CMD_RESET_AFFINITY, /* do, admin: restore the mask it had */
	TRIAGE_CMD_GET_CPU_STATS,  /* dump: one message per possible CPU */
	TRIAGE_CMD_GET_WL_STATS,   /* do (WL_ID) or dump: per-workload counters */
	TRIAGE_CMD_FORGET_WL,      /* do, admin: drop a workload's tags and counters */
	TRIAGE_CMD_GET_TAGS,       /* dump: every tag the module holds */
	TRIAGE_CMD_GET_GPU_STATS,  /* do: devfreq GPU load and frequency */
	/* notifications, multicast on group "events" only */
	TRIAGE_CMD_WAIT_EXCEEDED, /* a tagged task waited past its workload's threshold */
	TRIAGE_CMD_TASK_EXIT,     /* a tagged thread group exited; its tag is gone */
	/* requests added since, after the notifications: numbers never move */
	TRIAGE_CMD_SCHED_GUARD,   /* do, admin: revert the group's real-time threads if I go */
	TRIAGE_CMD_SCHED_UNGUARD, /* do, admin: forget that guard, threads untouched */
	__TRIAGE_CMD_MAX,
};
#define TRIAGE_CMD_MAX (__TRIAGE_CMD_MAX - 1)

enum triage_attr {
	TRIAGE_ATTR_UNSPEC,
	TRIAGE_ATTR_PAD,               /* alignment padding of u64 attributes */
	TRIAGE_ATTR_ABI_VERSION,       /* u32: TRIAGE_ABI_VERSION of the module */
	TRIAGE_ATTR_FEATURES,          /* u32: TRIAGE_FEAT_* bits */
	TRIAGE_ATTR_NR_CPUS,           /* u32: possible CPUs (nr_cpu_ids) */
	TRIAGE_ATTR_MODULE_VERSION,    /* string: module version */
	TRIAGE_ATTR_TGID,              /* u32, > 0 */
	TRIAGE_ATTR_SLOT,              /* u32: level rank, < TRIAGE_MAX_LEVELS */
	TRIAGE_ATTR_WL_ID,             /* u32, > 0 */
	TRIAGE_ATTR_WAIT_THRESHOLD_US, /* u32: WAIT_EXCEEDED above this, 0 = never */
	TRIAGE_ATTR_FLAGS,             /* u32: op flags; unknown bits: -EOPNOTSUPP */
	TRIAGE_ATTR_CPUMASK,           /* binary: bit i = CPU i, 1..TRIAGE_CPUMASK_MAX bytes */
	TRIAGE_ATTR_CPU,               /* u32: CPU number */
	TRIAGE_ATTR_CPU_STATS,         /* binary: struct triage_cpu_stats, exact size */
	TRIAGE_ATTR_WL_STATS,          /* binary: struct triage_wl_stats, exact size */
	TRIAGE_ATTR_NR_TGIDS,          /* u32: thread groups tagged with a workload */
	TRIAGE_ATTR_GPU_NAME,          /* string: device-tree node name of the GPU */
	TRIAGE_ATTR_GPU_LOAD,          /* u32: busy per-mille over the last devfreq window */
	TRIAGE_ATTR_GPU_CUR_FREQ,      /* u64: Hz */
	TRIAGE_ATTR_GPU_MIN_FREQ,      /* u64: Hz */
	TRIAGE_ATTR_GPU_MAX_FREQ,      /* u64: Hz */
	TRIAGE_ATTR_TID,               /* u32: the thread an event is about */
	TRIAGE_ATTR_WAIT_NS,           /* u64: the wait that crossed the threshold */
	TRIAGE_ATTR_SUPPRESSED,        /* u32: events of this workload dropped by rate limit */
	__TRIAGE_ATTR_MAX,
};
#define TRIAGE_ATTR_MAX (__TRIAGE_ATTR_MAX - 1)

#define TRIAGE_CPUMASK_MAX (TRIAGE_MAX_CPUS / 8)

/* TRIAGE_ATTR_FEATURES: what this module instance can do. */
#define TRIAGE_FEAT_CPU_STATS (1u << 0) /* sched probes attached: cpu and workload counters */
#define TRIAGE_FEAT_AFFINITY (1u << 1)  /* SET/RESET_AFFINITY, sticky over new threads */
#define TRIAGE_FEAT_EVENTS (1u << 2)    /* WAIT_EXCEEDED and TASK_EXIT on "events" */
#define TRIAGE_FEAT_GPU (1u << 3)       /* a devfreq GPU was found */
#define TRIAGE_FEAT_FAILSAFE (1u << 4)  /* affinity restored when the owner's socket closes */
#define TRIAGE_FEAT_SCHED_GUARD (1u << 5) /* SCHED_GUARD: real-time threads reverted when it closes */

/* TRIAGE_ATTR_FLAGS of SET_AFFINITY; TAG and the other ops know no flag. */
#define TRIAGE_AFFINITY_F_ONCE (1u << 0) /* current threads only, not sticky */
#define TRIAGE_AFFINITY_FLAGS_ALL TRIAGE_AFFINITY_F_ONCE

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The procfs text the proc sensor back end reads, parsed into the sensors'
 * own counters, and the bookkeeping that turns per-thread totals into a
 * workload's cumulative counters. Pure functions on strings and arrays, so
 * the unit tests feed them sample text.
 */
#ifndef TRIAGE_PROC_PARSE_H
#define TRIAGE_PROC_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "triage/sensors.h"

/* One thread's totals since it started, as /proc reports them. */
struct proc_task_sample {
	pid_t tid;
	uint64_t cpu_ns;  /* schedstat: sum_exec_runtime */
	uint64_t wait_ns; /* schedstat: run_delay, time waiting on a runqueue */
	uint64_t waits;   /* schedstat: pcount, times it got a CPU */
	uint64_t nvcsw, nivcsw; /* status: voluntary / nonvoluntary_ctxt_switches */
	bool have_switches;     /* nvcsw and nivcsw were read in this sample */
};

/*
 * /proc/stat: for each "cpuN" line with N < nr_cpus, busy_ns[SLOT_UNTAGGED]
 * = user + nice + system + irq + softirq and idle_ns = idle + iowait, in ns
 * (the file counts ticks_per_s ticks a second). Other fields of out are
 * left alone. Returns the highest N seen + 1, or -EINVAL without any line.
 */
int proc_parse_stat(const char *text, long ticks_per_s, struct triage_cpu_stats *out, int nr_cpus);

/*
 * /proc/schedstat (version 15 and later): for each "cpuN" line with
 * N < nr_cpus, wait_ns[SLOT_UNTAGGED] = run_delay, wait_count[SLOT_UNTAGGED]
 * = pcount, nr_switches = sched_count (0 unless kernel.sched_schedstats).
 * Returns how many CPUs it read, -EINVAL for a malformed file and
 * -EOPNOTSUPP for another version.
 */
int proc_parse_schedstat(const char *text, struct triage_cpu_stats *out, int nr_cpus);

/* /proc/PID/task/TID/schedstat: "cpu_ns wait_ns waits". 0 or -EINVAL. */
int proc_parse_task_schedstat(const char *text, struct proc_task_sample *out);

/* voluntary_ctxt_switches and nonvoluntary_ctxt_switches of a status
 * file. 0, or -EINVAL when either is missing. */
int proc_parse_ctxt_switches(const char *text, uint64_t *voluntary, uint64_t *involuntary);

/*
 * Adds to acc what a process's threads did between two samples, both
 * sorted by tid: the growth of each thread seen in both, and the whole of
 * a thread seen only now (it started since). What a thread did between
 * the last sample and its exit is lost. A thread of now without switches
 * read keeps the previous sample's figures, so none is counted twice.
 */
void proc_account(const struct proc_task_sample *before, int nr_before,
		  struct proc_task_sample *now, int nr_now, struct triage_wl_stats *acc);

/* Sorts samples by tid (readdir gives no order). */
void proc_sort_samples(struct proc_task_sample *samples, int n);

#endif

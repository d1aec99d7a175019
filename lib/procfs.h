/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A process's threads and the figures of /proc/PID[/task/TID]/stat that
 * the agent acts on. */
#ifndef TRIAGE_PROCFS_H
#define TRIAGE_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Calls fn for each thread of tgid listed in /proc/TGID/task; fn returns
 * 0 to go on, anything else stops the walk and is returned. Returns the
 * number of threads seen (> 0), -ESRCH when the process is gone or lists
 * no thread, or -errno.
 */
int proc_each_thread(pid_t tgid, int (*fn)(pid_t tid, void *ctx), void *ctx);

struct proc_stat_times {
	uint64_t start_ticks; /* field 22: start time since boot, clock ticks */
	uint64_t cpu_ticks;   /* utime + stime; for a process, of all its threads */
};

/* Parses the text of a stat file (the comm may hold spaces and ")").
 * 0 or -EINVAL. */
int proc_parse_stat_times(const char *text, struct proc_stat_times *out);

/* /proc/TGID/stat (tid 0) or /proc/TGID/task/TID/stat. 0, -ESRCH, -EINVAL. */
int proc_read_stat_times(pid_t tgid, pid_t tid, struct proc_stat_times *out);

#endif

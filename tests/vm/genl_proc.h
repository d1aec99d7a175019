/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Helper processes of the in-VM tests and what /proc says about them:
 * spinners (CPU hogs, optionally pinned to one CPU) and kids (a few
 * sleeping threads; on 'w' the kid widens its own mask to every CPU and
 * spawns two more threads, on 't' it spawns one, reporting their tids),
 * polling of the threads' Cpus_allowed_list, and the scheduling classes
 * of a process's threads.
 */
#ifndef TRIAGE_TESTS_VM_GENL_PROC_H
#define TRIAGE_TESTS_VM_GENL_PROC_H

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "genl_util.h"

/* Possible CPUs (set by the program before spawning kids). */
static int nr_possible;

static inline void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static inline pid_t spawn_spinner(int cpu)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (cpu >= 0)
			pin_self(cpu);
		for (volatile unsigned long n = 0;; n++)
			;
	}
	return pid;
}

static inline void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

struct kid {
	pid_t pid;
	int cmd; /* parent writes commands */
	int rep; /* kid writes "r" when ready, then tids of new threads */
};

static int kid_rep_fd;

static inline void *kid_thread(void *arg)
{
	pid_t tid = gettid();

	if (arg && write(kid_rep_fd, &tid, sizeof(tid)) != sizeof(tid))
		_exit(2);
	for (;;)
		pause();
	return NULL;
}

static inline void kid_main(int cmd, int nthreads)
{
	pthread_t th;
	cpu_set_t all;
	char c;
	int i;

	for (i = 0; i < nthreads; i++)
		pthread_create(&th, NULL, kid_thread, NULL);
	if (write(kid_rep_fd, "r", 1) != 1)
		_exit(2);
	while (read(cmd, &c, 1) == 1) {
		if (c == 't')
			pthread_create(&th, NULL, kid_thread, (void *)1);
		if (c != 'w')
			continue;
		/* Widen this thread, then spawn two threads from it. */
		CPU_ZERO(&all);
		for (i = 0; i < nr_possible; i++)
			CPU_SET(i, &all);
		sched_setaffinity(0, sizeof(all), &all);
		for (i = 0; i < 2; i++)
			pthread_create(&th, NULL, kid_thread, (void *)1);
	}
	_exit(0);
}

static inline int spawn_kid(struct kid *k, int nthreads)
{
	int cmd[2], rep[2];
	char c;

	if (pipe(cmd) || pipe(rep))
		return -1;
	k->pid = fork();
	if (k->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		kid_rep_fd = rep[1];
		kid_main(cmd[0], nthreads);
	}
	close(cmd[0]);
	close(rep[1]);
	k->cmd = cmd[1];
	k->rep = rep[0];
	return read(k->rep, &c, 1) == 1 ? 0 : -1;
}

/* The tids of the n threads a command spawned (each writes its own). */
static inline int kid_read_tids(struct kid *k, pid_t *tids, int n)
{
	size_t got = 0, want = n * sizeof(pid_t);
	ssize_t r;

	while (got < want) {
		r = read(k->rep, (char *)tids + got, want - got);
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

/* The tids of the two threads a 'w' spawns. */
static inline int kid_new_tids(struct kid *k, pid_t tids[2])
{
	return kid_read_tids(k, tids, 2);
}

/* 't': the kid's main thread spawns one thread; its tid. */
static inline int kid_new_thread(struct kid *k, pid_t *tid)
{
	return write(k->cmd, "t", 1) == 1 ? kid_read_tids(k, tid, 1) : -1;
}

static inline void kid_reap(struct kid *k)
{
	reap(k->pid);
	close(k->cmd);
	close(k->rep);
}

/* ---- /proc ---- */

static inline int read_allowed(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[64], line[256];
	FILE *f;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Cpus_allowed_list: %255s", buf) == 1 && strlen(buf) < len) {
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

static inline int list_tids(pid_t pid, pid_t *tids, int max)
{
	char path[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)) && n < max)
		if (d->d_name[0] != '.')
			tids[n++] = atoi(d->d_name);
	closedir(dir);
	return n;
}

/* ---- scheduling classes ---- */

static inline bool policy_is_rt(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR || policy == SCHED_DEADLINE;
}

/* Every thread of pid to policy at priority prio; 0 or -errno. */
static inline int threads_set_class(pid_t pid, int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	pid_t tids[64];
	int n = list_tids(pid, tids, 64);

	for (int i = 0; i < n; i++)
		if (sched_setscheduler(tids[i], policy, &sp))
			return -errno;
	return n > 0 ? 0 : -ESRCH;
}

/* How many threads of pid run policy at priority prio (-1: any). */
static inline int threads_in_class(pid_t pid, int policy, int prio)
{
	struct sched_param sp;
	pid_t tids[64];
	int n = list_tids(pid, tids, 64), with = 0;

	for (int i = 0; i < n; i++)
		with += sched_getscheduler(tids[i]) == policy &&
			(prio < 0 || (!sched_getparam(tids[i], &sp) && sp.sched_priority == prio));
	return with;
}

/* Threads of pid in a real-time class, -1 if pid is gone. */
static inline int threads_rt(pid_t pid)
{
	pid_t tids[64];
	int n = list_tids(pid, tids, 64), rt = 0;

	for (int i = 0; i < n; i++)
		rt += policy_is_rt(sched_getscheduler(tids[i]));
	return n > 0 ? rt : -1;
}

/* Polls until no thread of pid is real time; the ms it took, -1 if some
 * still were after timeout_ms. */
static inline long wait_no_rt(pid_t pid, int timeout_ms)
{
	double t0 = mono_ms();

	for (;;) {
		if (threads_rt(pid) == 0)
			return (long)(mono_ms() - t0);
		if (mono_ms() - t0 > timeout_ms)
			return -1;
		usleep(5000);
	}
}

/* Polls until every thread of pid has Cpus_allowed_list == want. */
static inline bool threads_allowed(pid_t pid, const char *want, int timeout_ms, char *why, size_t len)
{
	long deadline = (long)mono_ms() + timeout_ms;
	pid_t tids[64];
	char got[256];
	int n, i;

	for (;;) {
		n = list_tids(pid, tids, 64);
		for (i = 0; i < n; i++)
			if (read_allowed(pid, tids[i], got, sizeof(got)) || strcmp(got, want))
				break;
		if (n > 0 && i == n)
			return true;
		if ((long)mono_ms() > deadline) {
			snprintf(why, len, "thread %d has Cpus_allowed_list %s, want %s",
				 n > 0 ? tids[i] : pid, n > 0 ? got : "?", want);
			return false;
		}
		usleep(10000);
	}
}

#endif

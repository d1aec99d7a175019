// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * agent/policy/affinity.c's fallback, sched_setaffinity() of each thread: the
 * test pins its own process, which needs no root, so the threads checked
 * are real ones (two pthreads parked on a pipe, and the main thread), and
 * it puts their masks back itself, since the fallback saves none. The
 * module's path runs over the stand-in module in test_kmod_client.c and
 * against the real triage.ko in the VM (tests/vm/affinity_test.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "policy/affinity.h"

#define GONE_TGID (1 << 23) /* above any pid_max */

static int parked[2];

static void *park(void *arg)
{
	char c;

	(void)arg;
	/* Returns 0 when the test closes the write end. */
	while (read(parked[0], &c, 1) > 0)
		;
	return NULL;
}

static int first_cpu(const cpu_set_t *set)
{
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set))
			return cpu;
	return -1;
}

Test(affinity, fallback_pins_every_current_thread)
{
	pthread_t th[2];
	cpu_set_t orig, want, got;
	struct affinity *af;
	int cpu;

	cr_assert_eq(sched_getaffinity(0, sizeof(orig), &orig), 0);
	cpu = first_cpu(&orig); /* CPU 0 unless a cpuset keeps us off it */
	cr_assert_geq(cpu, 0);
	CPU_ZERO(&want);
	CPU_SET(cpu, &want);
	cr_assert_eq(pipe(parked), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, park, NULL), 0);

	af = affinity_open_on(NULL, "unit test");
	cr_assert_not_null(af);
	cr_assert_str_eq(affinity_mode(af), "sched_setaffinity");
	cr_assert_eq(affinity_set_process(af, getpid(), &want), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(pthread_getaffinity_np(th[i], sizeof(got), &got), 0);
		cr_assert(CPU_EQUAL(&got, &want), "thread %d has %d CPUs, want only CPU %d", i,
			  CPU_COUNT(&got), cpu);
	}
	cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(got), &got), 0);
	cr_assert(CPU_EQUAL(&got, &want), "the main thread too");

	cr_assert_eq(affinity_forget_process(af, getpid()), 0);
	cr_assert_eq(affinity_forget_process(af, getpid()), -ENOENT, "forgotten already");
	cr_assert_eq(pthread_getaffinity_np(th[0], sizeof(got), &got), 0);
	cr_assert(CPU_EQUAL(&got, &want), "the fallback saved no mask to give back");
	affinity_close(af);

	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_setaffinity_np(th[i], sizeof(orig), &orig), 0);
	cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof(orig), &orig), 0);
	close(parked[1]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	close(parked[0]);
}

Test(affinity, fallback_refusals)
{
	struct affinity *af = affinity_open_on(NULL, "unit test");
	cpu_set_t orig, set, got;

	cr_assert_eq(sched_getaffinity(0, sizeof(orig), &orig), 0);
	CPU_ZERO(&set);
	cr_assert_eq(affinity_set_process(af, getpid(), &set), -EINVAL, "an empty set");
	CPU_SET(first_cpu(&orig), &set);
	cr_assert_eq(affinity_set_process(af, 0, &set), -EINVAL);
	cr_assert_eq(affinity_set_process(af, GONE_TGID, &set), -ESRCH);
	cr_assert_eq(affinity_forget_process(af, GONE_TGID), -ENOENT, "not pinned, not remembered");
	CPU_ZERO(&set);
	CPU_SET(CPU_SETSIZE - 1, &set);
	cr_assert_eq(affinity_set_process(af, getpid(), &set), -EINVAL, "no usable CPU");
	cr_assert_eq(sched_getaffinity(0, sizeof(got), &got), 0);
	cr_assert(CPU_EQUAL(&got, &orig), "left as it was");
	affinity_close(af);
}

/* Whatever this host has, open gives an affinity that names its mode. */
Test(affinity, open_is_never_null)
{
	struct affinity *af = affinity_open();
	const char *mode;

	cr_assert_not_null(af);
	mode = affinity_mode(af);
	cr_assert(!strcmp(mode, "triage.ko sticky") || !strcmp(mode, "sched_setaffinity"), "%s", mode);
	affinity_close(af);
}

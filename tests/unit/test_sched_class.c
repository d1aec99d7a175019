// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A level's class as the threads get it: the want of each policy, the
 * SCHED_DEADLINE derived from a client's rate and inference time, and the
 * journal on a real thread of this process (as root: a real-time class
 * needs CAP_SYS_NICE) given back by sched_pass_end when no pass meets it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config/config_sched.h"
#include "sched/sched_class.h"

static struct triage_config cfg;

static void levels(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_levels = 3;
	for (int i = 0; i < 3; i++) {
		cfg.levels[i].rank = i + 1;
		config_sched_defaults(&cfg.levels[i].sched);
	}
	cfg.levels[0].sched.policy = SCHED_CFG_DEADLINE;
	cfg.levels[1].sched.policy = SCHED_CFG_BATCH;
	cfg.levels[1].sched.nice = 7;
	cfg.levels[2].sched.policy = SCHED_CFG_OTHER;
}

TestSuite(sched_class, .init = levels);

Test(sched_class, wants_follow_the_level)
{
	struct sched_want w;

	sched_want_of(&cfg, 0, false, &w);
	cr_assert(w.set);
	cr_assert_eq(w.a.policy, SCHED_FIFO, "a deadline level falls back to SCHED_FIFO");
	cr_assert_eq(w.a.priority, 19);
	sched_want_of(&cfg, 0, true, &w);
	cr_assert_eq(w.a.policy, SCHED_OTHER, "demoted");
	cr_assert_eq(w.a.nice, 0);
	sched_want_of(&cfg, 1, false, &w);
	cr_assert_eq(w.a.policy, SCHED_BATCH);
	cr_assert_eq(w.a.nice, 7);
	cr_assert_not(w.keep_nice);
	sched_want_of(&cfg, 2, false, &w);
	cr_assert(w.keep_nice, "no nice named: kept");
	cfg.levels[2].sched.policy = SCHED_CFG_KEEP;
	sched_want_of(&cfg, 2, false, &w);
	cr_assert_not(w.set);
}

Test(sched_class, deadline_from_rate_and_inference_time)
{
	struct sched_want w;

	sched_want_of(&cfg, 0, false, &w);
	cr_assert_eq(sched_want_deadline(&w, 10, 30), 0);
	cr_assert_eq(w.a.policy, SCHED_DEADLINE);
	cr_assert_eq(w.a.period_ns, 100000000ull);
	cr_assert_eq(w.a.deadline_ns, 100000000ull);
	cr_assert_eq(w.a.runtime_ns, 45000000ull, "1.5 x 30 ms");
	cr_assert(w.a.reset_on_fork, "a deadline thread may not fork otherwise");
	/* slower than its period: runtime capped at 90% of it */
	cr_assert_eq(sched_want_deadline(&w, 10, 200), 0);
	cr_assert_eq(w.a.runtime_ns, 90000000ull);
	cr_assert_eq(sched_want_deadline(&w, 0, 30), -EINVAL, "flat out: no period");
	cr_assert_eq(sched_want_deadline(&w, 10, 0), -EINVAL, "no time measured yet");
}

static pthread_barrier_t started, done;

static void *parked(void *arg)
{
	*(pid_t *)arg = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&started);
	pthread_barrier_wait(&done);
	return NULL;
}

Test(sched_class, applied_to_every_thread_and_given_back)
{
	struct sched_journal j;
	struct sched_want w;
	struct sched_attrs a;
	pthread_t t;
	pid_t tid = 0, me = getpid();
	int nr;
	char dir[] = "/tmp/triage-sched-XXXXXX", path[64];

	if (geteuid() != 0)
		cr_skip_test("needs root (CAP_SYS_NICE for SCHED_FIFO)");
	cr_assert_not_null(mkdtemp(dir));
	pthread_barrier_init(&started, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	cr_assert_eq(pthread_create(&t, NULL, parked, &tid), 0);
	pthread_barrier_wait(&started);

	cr_assert_eq(sched_journal_open(&j, dir), 0);
	cfg.levels[0].sched.policy = SCHED_CFG_FIFO;
	cfg.levels[0].sched.priority = 7;
	sched_want_of(&cfg, 0, false, &w);
	sched_pass_begin(&j);
	cr_assert_geq(sched_apply(&j, me, &w), 2, "both threads changed");
	cr_assert_eq(sched_read(tid, &a), 0);
	cr_assert_eq(a.policy, SCHED_FIFO);
	cr_assert_eq(a.priority, 7);
	/* this process's threads: ours two, and any the test runner has */
	nr = j.nr;
	cr_assert_geq(nr, 2);
	snprintf(path, sizeof(path), "%s/sched.json", dir);
	cr_assert_eq(access(path, F_OK), 0, "journaled on disk before the change");
	cr_assert_eq(sched_pass_end(&j), 0, "met by this pass: kept");

	/* A pass that does not meet the process gives its classes back. */
	sched_pass_begin(&j);
	cr_assert_eq(sched_pass_end(&j), nr);
	cr_assert_eq(sched_read(tid, &a), 0);
	cr_assert_eq(a.policy, SCHED_OTHER);
	cr_assert_eq(sched_read(me, &a), 0);
	cr_assert_eq(a.policy, SCHED_OTHER);
	cr_assert_eq(j.nr, 0);

	/* A killed agent's journal: the next one gives it back at open. */
	sched_pass_begin(&j);
	cr_assert_geq(sched_apply(&j, me, &w), 2);
	sched_journal_close(&j);
	cr_assert_eq(sched_journal_open(&j, dir), nr, "every thread given back");
	cr_assert_eq(sched_read(tid, &a), 0);
	cr_assert_eq(a.policy, SCHED_OTHER);
	cr_assert_eq(sched_restore_all(&j), 0);
	cr_assert_neq(access(path, F_OK), 0, "no journal left after a clean exit");
	sched_journal_close(&j);

	pthread_barrier_wait(&done);
	pthread_join(t, NULL);
	rmdir(dir);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A stand-in for a critical DNN stage: a fixed amount of work released every
 * period, reporting the response time of each release (release to done), the
 * figure a detector's deadline is about. The work is a fixed number of loop
 * iterations, not a fixed time, so contention shows up as longer responses.
 *
 *   periodic [--period-ms P] [--work-iters N | --work-us U] [--duration-s D] [--calibrate]
 *            [--runaway-at S --runaway-s R [--runaway-threads N]]
 *
 * --calibrate prints the iterations that take U microseconds here and exits;
 * benchmarks calibrate on an idle machine and pass --work-iters.
 *
 * --runaway-at S makes it a runaway for a while, the failure a scheduler that
 * favours critical work must survive (bench/cpu-peers): the first release at
 * or after S s from the start spins N threads (default one per online CPU:
 * the main thread and N - 1 more, each with the policy and cgroup this
 * process has) for R s, then it goes on as before, the releases it missed
 * skipped. That release is not counted among the responses. A second line
 * says when it spun, in CLOCK_MONOTONIC nanoseconds, for a benchmark to set
 * beside what it sampled meanwhile:
 *
 *   periodic: runaway threads N from_ns A to_ns B
 *
 * A run that ends before S exits 1 saying so.
 */
#include <float.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "numparse.h"
#include "quantile.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t spin(uint64_t iters)
{
	volatile uint64_t acc = 0;

	for (uint64_t i = 0; i < iters; i++)
		acc += i ^ (acc >> 3);
	return acc;
}

static void spin_until(uint64_t until_ns)
{
	while (!stop && mono_ns() < until_ns)
		spin(10000);
}

static void *runaway_thread(void *until_ns)
{
	spin_until(*(const uint64_t *)until_ns);
	return NULL;
}

/* Spins THREADS threads, this one included, for SECS seconds; the threads
 * that could not be made are left out of the count it returns. */
static long runaway(long threads, double secs)
{
	static pthread_t tids[1024];
	uint64_t until = mono_ns() + (uint64_t)(secs * 1e9);
	long made = 0;

	while (made < threads - 1 && !pthread_create(&tids[made], NULL, runaway_thread, &until))
		made++;
	spin_until(until);
	for (long i = 0; i < made; i++)
		pthread_join(tids[i], NULL);
	return made + 1;
}

static uint64_t calibrate(double work_us)
{
	uint64_t best = UINT64_MAX, iters = 100000;

	/* The fastest of several runs is the uncontended cost. */
	for (int r = 0; r < 20; r++) {
		uint64_t t0 = mono_ns(), dt;

		spin(iters);
		dt = mono_ns() - t0;
		if (dt < best)
			best = dt;
	}
	return (uint64_t)(work_us * 1000.0 * (double)iters / (double)best);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "period-ms", required_argument, NULL, 'p' }, { "work-iters", required_argument, NULL, 'n' },
		{ "work-us", required_argument, NULL, 'u' },   { "duration-s", required_argument, NULL, 'd' },
		{ "calibrate", no_argument, NULL, 'c' },       { "runaway-at", required_argument, NULL, 'a' },
		{ "runaway-s", required_argument, NULL, 's' }, { "runaway-threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	double period_ms = 10, work_us = 2000, duration_s = 0, runaway_at = -1, runaway_s = 0;
	long runaway_threads = sysconf(_SC_NPROCESSORS_ONLN), spun = 0;
	uint64_t iters = 0, release, start, runaway_from = 0, runaway_to = 0;
	bool only_calibrate = false;
	size_t n = 0, cap = 1 << 16;
	double *resp;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			period_ms = opt_double_above("--period-ms", optarg, 0, DBL_MAX);
			break;
		case 'n':
			iters = opt_u64("--work-iters", optarg, 1, UINT64_MAX);
			break;
		case 'u':
			work_us = opt_double_above("--work-us", optarg, 0, DBL_MAX);
			break;
		case 'd':
			duration_s = opt_double("--duration-s", optarg, 0, DBL_MAX);
			break;
		case 'c':
			only_calibrate = true;
			break;
		case 'a':
			runaway_at = opt_double("--runaway-at", optarg, 0, DBL_MAX);
			break;
		case 's':
			runaway_s = opt_double_above("--runaway-s", optarg, 0, DBL_MAX);
			break;
		case 't':
			runaway_threads = opt_long("--runaway-threads", optarg, 1, 1024);
			break;
		default:
			fprintf(stderr, "usage: periodic [--period-ms P] [--work-iters N | --work-us U] [--duration-s D] [--calibrate]\n"
					"                [--runaway-at S --runaway-s R [--runaway-threads N]]\n");
			return 2;
		}
	}
	if ((runaway_at >= 0) != (runaway_s > 0)) {
		fprintf(stderr, "periodic: --runaway-at and --runaway-s go together\n");
		return 2;
	}
	if (runaway_threads < 1)
		runaway_threads = 1;
	if (runaway_threads > 1024)
		runaway_threads = 1024;
	if (!iters)
		iters = calibrate(work_us);
	if (only_calibrate) {
		printf("%llu\n", (unsigned long long)iters);
		return 0;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	resp = malloc(cap * sizeof(*resp));
	if (!resp)
		return 1;
	start = release = mono_ns();
	for (uint64_t end = duration_s ? release + (uint64_t)(duration_s * 1e9) : UINT64_MAX;
	     !stop && release < end;) {
		struct timespec ts = { .tv_sec = (time_t)(release / 1000000000ull),
				       .tv_nsec = (long)(release % 1000000000ull) };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (runaway_at >= 0 && !spun && release >= start + (uint64_t)(runaway_at * 1e9)) {
			runaway_from = mono_ns();
			spun = runaway(runaway_threads, runaway_s);
			runaway_to = mono_ns();
			while (release < mono_ns())
				release += (uint64_t)(period_ms * 1e6);
			continue;
		}
		spin(iters);
		if (n == cap) {
			double *bigger = realloc(resp, 2 * cap * sizeof(*resp));

			if (!bigger)
				break;
			resp = bigger;
			cap *= 2;
		}
		resp[n++] = (double)(mono_ns() - release) / 1000.0;
		/* A release missed entirely is skipped, as a frame would be. */
		release += (uint64_t)(period_ms * 1e6);
		while (release < mono_ns())
			release += (uint64_t)(period_ms * 1e6);
	}
	if (!n) {
		printf("periodic: no releases\n");
		return 1;
	}
	if (runaway_at >= 0 && !spun) {
		printf("periodic: runaway never started (the run ended before %g s)\n", runaway_at);
		return 1;
	}
	quantile_sort(resp, n);
	printf("periodic: releases %zu p50_us %.0f p99_us %.0f max_us %.0f work_iters %llu\n", n,
	       quantile_sorted(resp, n, 0.50), quantile_sorted_up(resp, n, 0.99),
	       resp[n - 1], (unsigned long long)iters);
	if (spun)
		printf("periodic: runaway threads %ld from_ns %llu to_ns %llu\n", spun,
		       (unsigned long long)runaway_from, (unsigned long long)runaway_to);
	free(resp);
	return 0;
}

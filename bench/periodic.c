// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A stand-in for a critical DNN stage: a fixed amount of work released every
 * period, reporting the response time of each release (release to done), the
 * figure a detector's deadline is about. The work is a fixed number of loop
 * iterations, not a fixed time, so contention shows up as longer responses.
 *
 *   periodic [--period-ms P] [--work-iters N | --work-us U] [--duration-s D] [--calibrate]
 *
 * --calibrate prints the iterations that take U microseconds here and exits;
 * benchmarks calibrate on an idle machine and pass --work-iters.
 */
#include <float.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
		{ "calibrate", no_argument, NULL, 'c' },       { NULL, 0, NULL, 0 },
	};
	double period_ms = 10, work_us = 2000, duration_s = 0;
	uint64_t iters = 0, release;
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
		default:
			fprintf(stderr, "usage: periodic [--period-ms P] [--work-iters N | --work-us U] [--duration-s D] [--calibrate]\n");
			return 2;
		}
	}
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
	release = mono_ns();
	for (uint64_t end = duration_s ? release + (uint64_t)(duration_s * 1e9) : UINT64_MAX;
	     !stop && release < end;) {
		struct timespec ts = { .tv_sec = (time_t)(release / 1000000000ull),
				       .tv_nsec = (long)(release % 1000000000ull) };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
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
	quantile_sort(resp, n);
	printf("periodic: releases %zu p50_us %.0f p99_us %.0f max_us %.0f work_iters %llu\n", n,
	       quantile_sorted(resp, n, 0.50), quantile_sorted_up(resp, n, 0.99),
	       resp[n - 1], (unsigned long long)iters);
	free(resp);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What the rest of the machine sees while a critical workload runs away
 * (bench/cpu-peers): the CPU time other processes still get, and how long
 * an ordinary command takes. Both on CLOCK_MONOTONIC, the clock
 * `periodic --runaway-at` reports its spin on, so that a benchmark can cut
 * the samples at the spin's edges.
 *
 *   bystander cpu [--interval-ms I] --duration-s D PID...
 *       every I ms (default 100) for D s, one line
 *       "cpu T_NS CPU_NS..." : the time, then each PID's CPU time so far
 *       (user + system, all its threads, /proc/PID/stat), "-" for one that
 *       is gone. Run it at a real-time priority above the workloads' so
 *       that its samples are on time; it reads them with their own time
 *       either way.
 *   bystander cmd [--runs N] [--delay-ms MS] -- CMD [ARG...]
 *       sleeps until MS ms after its start, then runs CMD N times (default
 *       20) one after the other, as a shell loop would, and prints
 *       "cmd runs N start_ns S late_ms L total_ms T max_ms M": when the
 *       first run began, how late its wake-up was, the time of all N runs
 *       and of the slowest. Run it as an ordinary process: its wait is the
 *       figure.
 *
 * Exit status 1 when a run of CMD fails or a PID cannot be read at the
 * first sample; 2 for a bad command line.
 */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "numparse.h"

static void sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* PID's user + system time in ns, or -1 when it is gone. */
static long long cpu_ns(long pid, long hz)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold blanks and parentheses: fields count from
	 * the last ')'. utime and stime are fields 14 and 15, the 12th and
	 * 13th after it. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return -1;
	return (long long)((utime + stime) * (1000000000ull / (unsigned long long)hz));
}

static int sample_cpu(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "duration-s", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	double interval_ms = 100, duration_s = 0;
	long hz = sysconf(_SC_CLK_TCK), *pids;
	uint64_t t0, next;
	int c, n;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			interval_ms = opt_double_above("--interval-ms", optarg, 0, 60000);
			break;
		case 'd':
			duration_s = opt_double_above("--duration-s", optarg, 0, DBL_MAX);
			break;
		default:
			return 2;
		}
	}
	n = argc - optind;
	if (!duration_s || n < 1 || hz <= 0) {
		fprintf(stderr, "usage: bystander cpu [--interval-ms I] --duration-s D PID...\n");
		return 2;
	}
	pids = calloc((size_t)n, sizeof(*pids));
	if (!pids)
		return 1;
	for (int i = 0; i < n; i++) {
		pids[i] = opt_long("PID", argv[optind + i], 1, LONG_MAX);
		if (cpu_ns(pids[i], hz) < 0) {
			fprintf(stderr, "bystander: cpu: no process %ld\n", pids[i]);
			free(pids);
			return 1;
		}
	}
	t0 = next = mono_ns();
	while (next <= t0 + (uint64_t)(duration_s * 1e9)) {
		sleep_until(next);
		printf("cpu %llu", (unsigned long long)mono_ns());
		for (int i = 0; i < n; i++) {
			long long v = cpu_ns(pids[i], hz);

			if (v < 0)
				printf(" -");
			else
				printf(" %lld", v);
		}
		printf("\n");
		fflush(stdout);
		next += (uint64_t)(interval_ms * 1e6);
	}
	free(pids);
	return 0;
}

static int time_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'n' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	long runs = 20;
	double delay_ms = 0, max_ms = 0;
	uint64_t wake, start;
	int c;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			runs = opt_long("--runs", optarg, 1, 1000000);
			break;
		case 'd':
			delay_ms = opt_double("--delay-ms", optarg, 0, DBL_MAX);
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: bystander cmd [--runs N] [--delay-ms MS] -- CMD [ARG...]\n");
		return 2;
	}
	wake = mono_ns() + (uint64_t)(delay_ms * 1e6);
	sleep_until(wake);
	start = mono_ns();
	for (long r = 0; r < runs; r++) {
		uint64_t t = mono_ns();
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("bystander: fork");
			return 1;
		}
		if (!pid) {
			execvp(argv[optind], argv + optind);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "bystander: cmd: %s failed (run %ld)\n", argv[optind], r + 1);
			return 1;
		}
		t = mono_ns() - t;
		if ((double)t / 1e6 > max_ms)
			max_ms = (double)t / 1e6;
	}
	printf("cmd runs %ld start_ns %llu late_ms %.1f total_ms %.1f max_ms %.1f\n", runs,
	       (unsigned long long)start, (double)(start - wake) / 1e6, (double)(mono_ns() - start) / 1e6,
	       max_ms);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "cpu"))
		return sample_cpu(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "cmd"))
		return time_cmd(argc - 1, argv + 1);
	fprintf(stderr, "usage: bystander cpu [--interval-ms I] --duration-s D PID...\n"
			"       bystander cmd [--runs N] [--delay-ms MS] -- CMD [ARG...]\n");
	return 2;
}

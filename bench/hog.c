// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A stand-in for a best-effort DNN: spins as fast as it is allowed and, on
 * SIGTERM/SIGINT or after --duration-s, prints how much work it got done per
 * second of wall time, the throughput a best-effort workload cares about.
 */
#include <float.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "numparse.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	double duration = 0, start, end;
	volatile uint64_t acc = 0;
	uint64_t chunks = 0;

	if (argc == 3 && !strcmp(argv[1], "--duration-s"))
		duration = opt_double("--duration-s", argv[2], 0, DBL_MAX);
	else if (argc != 1) {
		fprintf(stderr, "usage: hog [--duration-s D]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	start = mono_s();
	while (!stop) {
		for (int i = 0; i < 100000; i++)
			acc += (uint64_t)i ^ (acc >> 3);
		chunks++;
		if (duration > 0 && (chunks & 63) == 0 && mono_s() - start >= duration)
			break;
	}
	end = mono_s();
	printf("hog: chunks %llu seconds %.3f chunks_per_s %.1f\n", (unsigned long long)chunks, end - start,
	       (double)chunks / (end - start));
	return 0;
}

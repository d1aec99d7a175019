// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Context-switch microbenchmark for places without perf (the QEMU guest):
 * the pattern of `perf bench sched pipe`, two processes passing one byte
 * back and forth through two pipes, both pinned to one CPU so that every
 * round trip is two wakeups and two task-to-task switches, the sensors'
 * most expensive case per unit of work.
 *
 *   pingpong [-l LOOPS] [-c CPU]
 *
 * Prints one line: "<usecs per round trip> usecs/op". Exit 1 on error.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "numparse.h"

static int pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int pass_byte(int in, int out)
{
	char c;

	if (read(in, &c, 1) != 1)
		return -1;
	return write(out, &c, 1) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long loops = 100000;
	int cpu = -1, opt, to_child[2], to_parent[2], status;
	double start, elapsed;
	pid_t child;
	char c = 'x';

	while ((opt = getopt(argc, argv, "l:c:")) != -1) {
		switch (opt) {
		case 'l':
			loops = opt_long("-l", optarg, 1, LONG_MAX);
			break;
		case 'c':
			cpu = (int)opt_long("-c", optarg, 0, CPU_SETSIZE - 1);
			break;
		default:
			fprintf(stderr, "usage: pingpong [-l LOOPS] [-c CPU]\n");
			return 2;
		}
	}
	if (pin_to(cpu)) {
		fprintf(stderr, "pingpong: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
		return 1;
	}
	if (pipe(to_child) || pipe(to_parent)) {
		perror("pingpong: pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("pingpong: fork");
		return 1;
	}
	if (child == 0) {
		for (long i = 0; i < loops; i++)
			if (pass_byte(to_child[0], to_parent[1]))
				_exit(1);
		_exit(0);
	}
	start = mono_us();
	for (long i = 0; i < loops; i++) {
		if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &c, 1) != 1) {
			fprintf(stderr, "pingpong: pipe broke at round %ld\n", i);
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			return 1;
		}
	}
	elapsed = mono_us() - start;
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "pingpong: the partner process failed\n");
		return 1;
	}
	printf("%.3f usecs/op\n", elapsed / (double)loops);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What reading triage.ko's counters costs the agent: forks N processes,
 * tags each as its own workload through the agent's kmod client, and times
 * the requests the agent makes, each REPEAT times:
 *   wl-dump   one GET_WL_STATS dump of every workload (the figure asked for)
 *   cpu-dump  one GET_CPU_STATS dump of every CPU (what each tick reads)
 *   wl-each   N GET_WL_STATS requests, one per workload
 * and prints one line per request: "<name> median_us p99_us". Runs where
 * triage.ko is loaded (the QEMU guest of bench/kmod); the children are
 * killed and untagged at the end.
 *
 *   kmod-roundtrip [-n WORKLOADS] [-r REPEAT]
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "kmod/kmod_client.h"
#include "numparse.h"
#include "quantile.h"

struct timing {
	const char *name;
	double *us;
};

static int count_workload(uint32_t wl_id, void *ctx)
{
	(void)wl_id;
	(*(int *)ctx)++;
	return 0;
}

static void stop_children(const pid_t *kids, int n)
{
	for (int i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
}

int main(int argc, char **argv)
{
	int nr = 100, repeat = 1000, opt, rc = 1, nr_cpus;
	struct triage_cpu_stats *cpus = NULL;
	struct timing t[3] = { { "wl-dump", NULL }, { "cpu-dump", NULL }, { "wl-each", NULL } };
	struct kmod_client *c;
	struct kmod_info info;
	pid_t *kids = NULL;
	char err[256];

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		switch (opt) {
		case 'n':
			nr = (int)opt_long("-n", optarg, 1, TRIAGE_MAX_WORKLOADS - 1);
			break;
		case 'r':
			repeat = (int)opt_long("-r", optarg, 1, INT_MAX);
			break;
		default:
			fprintf(stderr, "usage: kmod-roundtrip [-n WORKLOADS] [-r REPEAT]\n");
			return 2;
		}
	}
	c = kmod_client_open(&info, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "kmod-roundtrip: %s\n", err);
		return 1;
	}
	nr_cpus = (int)info.nr_cpus;
	kids = calloc((size_t)nr, sizeof(*kids));
	cpus = calloc((size_t)nr_cpus, sizeof(*cpus));
	for (int i = 0; i < 3; i++)
		t[i].us = calloc((size_t)repeat, sizeof(double));
	if (!kids || !cpus || !t[0].us || !t[1].us || !t[2].us) {
		fprintf(stderr, "kmod-roundtrip: out of memory\n");
		goto cleanup;
	}
	for (int i = 0; i < nr; i++) {
		struct triage_tag tag = { .slot = (uint32_t)(i % 4), .wl_id = (uint32_t)i + 1 };
		int err_tag;

		kids[i] = fork();
		if (kids[i] == 0) {
			pause();
			_exit(0);
		}
		if (kids[i] < 0) {
			perror("kmod-roundtrip: fork");
			goto cleanup;
		}
		err_tag = kmod_tag_tgid(c, kids[i], &tag, 0);
		if (err_tag) {
			fprintf(stderr, "kmod-roundtrip: tagging %d: %s (%s)\n", kids[i],
				strerror(-err_tag), kmod_client_error(c));
			goto cleanup;
		}
	}
	for (int r = 0; r < repeat; r++) {
		struct triage_wl_stats wl;
		uint32_t nr_tgids;
		int seen = 0, e = 0;
		double t0 = mono_us();

		e |= kmod_dump_workloads(c, count_workload, &seen);
		t[0].us[r] = mono_us() - t0;
		t0 = mono_us();
		e |= kmod_read_cpus(c, cpus, nr_cpus);
		t[1].us[r] = mono_us() - t0;
		t0 = mono_us();
		for (int i = 0; i < nr; i++)
			e |= kmod_read_workload(c, (uint32_t)i + 1, &wl, &nr_tgids);
		t[2].us[r] = mono_us() - t0;
		if (e || seen < nr) {
			fprintf(stderr, "kmod-roundtrip: round %d failed (%d of %d workloads dumped): %s\n",
				r, seen, nr, kmod_client_error(c));
			goto cleanup;
		}
	}
	printf("workloads %d cpus %d repeat %d\n", nr, nr_cpus, repeat);
	for (int i = 0; i < 3; i++) {
		size_t n = (size_t)repeat;

		quantile_sort(t[i].us, n);
		printf("%s %.1f %.1f\n", t[i].name, quantile_sorted_round(t[i].us, n, 0.5),
		       quantile_sorted_round(t[i].us, n, 0.99));
	}
	rc = 0;
cleanup:
	if (kids) {
		for (int i = 0; i < nr; i++)
			if (kids[i] > 0)
				kmod_untag_tgid(c, kids[i]);
		stop_children(kids, nr);
	}
	for (int i = 0; i < 3; i++)
		free(t[i].us);
	free(cpus);
	free(kids);
	kmod_client_close(c);
	return rc;
}

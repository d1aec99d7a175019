// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Holds triage's BPF sensors attached, without the daemon, so that
 * bench/sensor-overhead can measure what they cost: opens them through
 * agent/sensors/sensors.h on a benchmark's own pin directory, prints "attached",
 * and on SIGTERM or SIGINT closes them and removes the pins.
 *
 * With --object, it instead loads any BPF object and attaches all of its
 * programs: the benchmark uses that for empty programs on the same
 * tracepoints, the floor that any tracer of these events pays.
 *
 * usage: sensors-attach [PIN_DIR]   (default /sys/fs/bpf/triage-bench)
 *        sensors-attach --object FILE.bpf.o
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "sensors/sensors.h"

static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static struct bpf_object *attach_object(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;

	if (!obj) {
		fprintf(stderr, "sensors-attach: cannot open %s\n", path);
		return NULL;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "sensors-attach: cannot load %s\n", path);
		goto cleanup;
	}
	/* The links live as long as the object: no need to keep them. */
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "sensors-attach: cannot attach %s\n",
				bpf_program__name(prog));
			goto cleanup;
		}
	}
	return obj;

cleanup:
	bpf_object__close(obj);
	return NULL;
}

int main(int argc, char **argv)
{
	bool object_mode = argc > 2 && !strcmp(argv[1], "--object");
	struct sensors_opts opts = {
		.pin_dir = argc > 1 && !object_mode ? argv[1] : "/sys/fs/bpf/triage-bench",
		.nr_levels = 4,
		.keep_pins = false,
	};
	struct sigaction sa = { .sa_handler = request_stop };
	struct sensors *sensors = NULL;
	struct bpf_object *obj = NULL;
	sigset_t block, old;
	char err[256];

	/* Block the signals before attaching so none slips in between the
	 * check and sigsuspend(). */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (object_mode) {
		obj = attach_object(argv[2]);
		if (!obj)
			return 1;
	} else {
		sensors = sensors_open_bpf(&opts, err, sizeof(err));
		if (!sensors) {
			fprintf(stderr, "sensors-attach: %s\n", err);
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	while (!stop_requested)
		sigsuspend(&old);
	sensors_close(sensors);
	bpf_object__close(obj);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Holds triage's BPF sensors attached, without the daemon, so that
 * bench/sensor-overhead can measure what they cost: opens them through
 * agent/sensors.h on a benchmark's own pin directory, prints "attached",
 * and on SIGTERM or SIGINT closes them and removes the pins.
 *
 * usage: sensors-attach [PIN_DIR]   (default /sys/fs/bpf/triage-bench)
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "sensors.h"

static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int main(int argc, char **argv)
{
	struct sensors_opts opts = {
		.pin_dir = argc > 1 ? argv[1] : "/sys/fs/bpf/triage-bench",
		.nr_levels = 4,
		.keep_pins = false,
	};
	struct sigaction sa = { .sa_handler = request_stop };
	struct sensors *sensors;
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

	sensors = sensors_open_bpf(&opts, err, sizeof(err));
	if (!sensors) {
		fprintf(stderr, "sensors-attach: %s\n", err);
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	while (!stop_requested)
		sigsuspend(&old);
	sensors_close(sensors);
	return 0;
}

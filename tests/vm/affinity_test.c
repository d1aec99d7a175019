// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * In-VM test of agent/policy/affinity.c, the agent's way to pin a process, on the
 * real triage.ko: the unit tests reach the module only through a stand-in,
 * and what matters here (threads born after the pin, masks given back when
 * the agent's socket closes) only the kernel can show. Root; the kmod suite
 * (tests/vm/suites/10-kmod.sh) runs it three ways:
 *
 *   affinity_test             module loaded: affinity_open() picks it, a
 *                             kid that widens itself and spawns threads
 *                             stays pinned, affinity_close() and
 *                             affinity_forget_process() give the masks
 *                             back, and SIGKILL of a process that pinned
 *                             through the module makes the module do it
 *   affinity_test --unload    module loaded, then unloaded under an open
 *                             affinity: the next pin goes through the
 *                             fallback (the module leaves loaded)
 *   affinity_test --no-module module not loaded: the fallback pins every
 *                             current thread
 *
 * Lines as genl_test.c's: `ok - kmod: affinity.c: NAME`, exit 1 on any
 * failure. Needs 2 CPUs (the kid is pinned to CPU 1).
 */
#include <fcntl.h>
#include <sys/syscall.h>

#include "policy/affinity.h"
#include "genl_proc.h"

#define WAIT_MS 3000 /* TCG: a work item may take a while */
#define GONE_TGID (1 << 23)

static cpu_set_t cpu1;

static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	int lo = 0, hi = -1, n;

	if (!f)
		return -1;
	n = fscanf(f, "%d-%d", &lo, &hi);
	fclose(f);
	return n == 2 ? hi + 1 : n == 1 ? lo + 1 : -1;
}

static bool mode_is(struct affinity *af, const char *name, const char *want)
{
	if (!strcmp(affinity_mode(af), want))
		return true;
	tap_fail(name, "affinity_mode() is \"%s\", want \"%s\"", affinity_mode(af), want);
	return false;
}

/* affinity_open() with the module, a kid that widens itself and spawns two
 * threads after the pin, then affinity_close(). */
static void test_sticky_then_close(void)
{
	const char *name = "affinity.c: sticky over threads born later, given back at close";
	char orig[256], why[300];
	struct affinity *af;
	pid_t tids[2];
	struct kid k;
	int err;

	if (spawn_kid(&k, 2))
		return tap_fail(name, "cannot spawn a kid");
	read_allowed(k.pid, k.pid, orig, sizeof(orig));
	af = affinity_open();
	if (!mode_is(af, name, "triage.ko sticky"))
		goto out;
	err = affinity_set_process(af, k.pid, &cpu1);
	if (err || !threads_allowed(k.pid, "1", WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "affinity_set_process: %s; %s", strerror(-err), err ? "" : why);
		goto out;
	}
	if (write(k.cmd, "w", 1) != 1 || kid_new_tids(&k, tids)) {
		tap_fail(name, "the kid did not spawn threads");
		goto out;
	}
	if (!threads_allowed(k.pid, "1", WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "after the kid widened itself and spawned two threads: %s", why);
		goto out;
	}
	affinity_close(af);
	af = NULL;
	if (!threads_allowed(k.pid, orig, WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "after affinity_close: %s", why);
		goto out;
	}
	tap_ok(name);
out:
	affinity_close(af);
	kid_reap(&k);
}

static void test_forget(void)
{
	const char *name = "affinity.c: affinity_forget_process gives the mask back";
	char orig[256], why[300];
	struct affinity *af = affinity_open();
	struct kid k, gone;
	int err;

	if (spawn_kid(&k, 2)) {
		affinity_close(af);
		return tap_fail(name, "cannot spawn a kid");
	}
	read_allowed(k.pid, k.pid, orig, sizeof(orig));
	err = affinity_set_process(af, k.pid, &cpu1);
	if (err || !threads_allowed(k.pid, "1", WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "affinity_set_process: %s; %s", strerror(-err), err ? "" : why);
		goto out;
	}
	err = affinity_forget_process(af, k.pid);
	if (err || !threads_allowed(k.pid, orig, WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "affinity_forget_process: %s; %s", strerror(-err), err ? "" : why);
		goto out;
	}
	err = affinity_forget_process(af, k.pid);
	if (err != -ENOENT) {
		tap_fail(name, "forgetting it again: %d, want -ENOENT", err);
		goto out;
	}
	err = affinity_set_process(af, GONE_TGID, &cpu1);
	if (err != -ESRCH) {
		tap_fail(name, "pinning no process: %d, want -ESRCH", err);
		goto out;
	}
	/* A pinned process that exits: its policy goes with it. */
	if (spawn_kid(&gone, 1)) {
		tap_fail(name, "cannot spawn a second kid");
		goto out;
	}
	err = affinity_set_process(af, gone.pid, &cpu1);
	kid_reap(&gone);
	if (err) {
		tap_fail(name, "pinning the second kid: %s", strerror(-err));
		goto out;
	}
	err = affinity_forget_process(af, gone.pid);
	if (err && err != -ESRCH) {
		tap_fail(name, "forgetting a process that exited: %d, want 0 or -ESRCH", err);
		goto out;
	}
	tap_ok(name);
out:
	affinity_close(af);
	kid_reap(&k);
}

/* A holder process pins the kid through the module and is SIGKILLed: the
 * agent dying without affinity_close(). */
static void test_failsafe(void)
{
	const char *name = "affinity.c: SIGKILL of the process that pinned gives the mask back";
	char orig[256], why[300], c = 0;
	pid_t holder;
	struct kid k;
	int fd[2];

	if (spawn_kid(&k, 2) || pipe(fd))
		return tap_fail(name, "cannot spawn a kid");
	read_allowed(k.pid, k.pid, orig, sizeof(orig));
	holder = fork();
	if (holder == 0) {
		struct affinity *af = affinity_open();

		c = strcmp(affinity_mode(af), "triage.ko sticky") ? 'm' :
		    affinity_set_process(af, k.pid, &cpu1) ? 'e' : 'k';
		if (write(fd[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fd[1]);
	if (read(fd[0], &c, 1) != 1 || c != 'k') {
		tap_fail(name, "the holder could not pin the kid (%c)", c ? c : '?');
		goto out;
	}
	if (!threads_allowed(k.pid, "1", WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "the holder's pin: %s", why);
		goto out;
	}
	reap(holder);
	holder = 0;
	if (!threads_allowed(k.pid, orig, WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "after the holder died: %s", why);
		goto out;
	}
	tap_ok(name);
out:
	reap(holder);
	close(fd[0]);
	kid_reap(&k);
}

static void test_unload(void)
{
	const char *name = "affinity.c: after rmmod under an open affinity, the fallback pins";
	char orig[256], why[300];
	struct affinity *af = affinity_open();
	struct kid k;
	int err;

	if (spawn_kid(&k, 2)) {
		affinity_close(af);
		return tap_fail(name, "cannot spawn a kid");
	}
	read_allowed(k.pid, k.pid, orig, sizeof(orig));
	if (!mode_is(af, name, "triage.ko sticky"))
		goto out;
	err = affinity_set_process(af, k.pid, &cpu1);
	if (err || !threads_allowed(k.pid, "1", WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "affinity_set_process: %s; %s", strerror(-err), err ? "" : why);
		goto out;
	}
	if (syscall(SYS_delete_module, "triage", O_NONBLOCK)) {
		tap_fail(name, "rmmod triage: %s", strerror(errno));
		goto out;
	}
	if (!threads_allowed(k.pid, orig, WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "rmmod did not restore the kid: %s", why);
		goto out;
	}
	err = affinity_set_process(af, k.pid, &cpu1);
	if (err || !threads_allowed(k.pid, "1", WAIT_MS, why, sizeof(why))) {
		tap_fail(name, "pinning again: %s; %s", strerror(-err), err ? "" : why);
		goto out;
	}
	if (!mode_is(af, name, "sched_setaffinity"))
		goto out;
	tap_ok(name);
out:
	affinity_close(af);
	kid_reap(&k);
}

static void test_no_module(void)
{
	const char *name = "affinity.c: without triage.ko, sched_setaffinity pins every thread";
	char why[300];
	struct affinity *af = affinity_open();
	struct kid k;
	int err;

	if (spawn_kid(&k, 3)) {
		affinity_close(af);
		return tap_fail(name, "cannot spawn a kid");
	}
	if (!mode_is(af, name, "sched_setaffinity"))
		goto out;
	err = affinity_set_process(af, k.pid, &cpu1);
	if (err || !threads_allowed(k.pid, "1", 0, why, sizeof(why))) {
		tap_fail(name, "affinity_set_process: %s; %s", strerror(-err), err ? "" : why);
		goto out;
	}
	tap_ok(name);
out:
	affinity_close(af);
	kid_reap(&k);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	nr_possible = possible_cpus();
	if (argc > 2 || (argc == 2 && strcmp(mode, "--unload") && strcmp(mode, "--no-module"))) {
		fprintf(stderr, "usage: affinity_test [--unload | --no-module]\n");
		return 2;
	}
	if (geteuid() != 0) {
		tap_skip("affinity.c", "needs root");
		return 0;
	}
	if (nr_possible < 2) {
		tap_skip("affinity.c", "needs 2 CPUs");
		return 0;
	}
	CPU_ZERO(&cpu1);
	CPU_SET(1, &cpu1);
	if (!strcmp(mode, "--no-module")) {
		test_no_module();
	} else if (!strcmp(mode, "--unload")) {
		test_unload();
	} else {
		test_sticky_then_close();
		test_forget();
		test_failsafe();
	}
	return tap_failures ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * In-VM test of triage.ko's SCHED_GUARD and SCHED_UNGUARD
 * (kmod/schedguard.c): a process the agent made real time must not stay
 * real time once the agent's socket is gone. Root, module loaded; the
 * kmod suite (tests/vm/suites/10-kmod.sh) runs it twice:
 *
 *   sched_guard_test           closing the guarding socket, or SIGKILL of
 *                              the process holding it, turns every
 *                              SCHED_FIFO/RR/DEADLINE thread of the group,
 *                              one born after the GUARD too, SCHED_OTHER at
 *                              nice 0 within REVERT_MS, with one kernel log
 *                              line; other classes are left alone; after
 *                              UNGUARD nothing changes; a GUARD from a
 *                              second socket moves the guard; the limit of
 *                              guards and the errors
 *   sched_guard_test --unload  rmmod while the guarding socket is open
 *                              reverts the group (the module stays unloaded)
 *
 * Lines as genl_test.c's: `ok - kmod: sched guard: NAME`, exit 1 on any
 * failure.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/klog.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "genl_proc.h"
#include "genl_req.h"

#define REVERT_MS 1000 /* the module's revert, close to the notifier's work */
#define QUIET_MS REVERT_MS /* a group that must stay real time is watched as long */
#define PRIO 10
#define GONE_TGID (1 << 23) /* above PID_MAX_LIMIT: never a process */

/* A kid before spawn_kid(): kid_reap() leaves it alone. */
#define KID_NONE { .pid = 0, .cmd = -1, .rep = -1 }

/* struct sched_attr of sched_setattr(2), which glibc may not declare. */
struct sg_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

static int set_deadline(pid_t tid)
{
	struct sg_sched_attr a = {
		.size = sizeof(a),
		.sched_policy = SCHED_DEADLINE,
		.sched_runtime = 1000000,    /* 1 ms */
		.sched_deadline = 100000000, /* every 100 ms */
		.sched_period = 100000000,
	};

	return syscall(SYS_sched_setattr, tid, &a, 0) ? -errno : 0;
}

/* Whether the kernel log has the line the module writes for tgid. */
static bool klog_says(const char *why, int nthreads, pid_t tgid)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char want[160], *buf;
	bool found;

	if (len <= 0 || !(buf = malloc(len + 1)))
		return false;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	buf[len > 0 ? len : 0] = '\0';
	snprintf(want, sizeof(want), "triage: %s: %d real-time thread%s of tgid %d turned to SCHED_NORMAL\n",
		 why, nthreads, nthreads == 1 ? "" : "s", tgid);
	found = strstr(buf, want) != NULL;
	free(buf);
	return found;
}

/* Every thread of pid at nice; the first thread that is not, or 0. */
static pid_t thread_not_nice(pid_t pid, int nice)
{
	pid_t tids[64];
	int n = list_tids(pid, tids, 64);

	for (int i = 0; i < n; i++) {
		errno = 0;
		if (getpriority(PRIO_PROCESS, tids[i]) != nice || errno)
			return tids[i];
	}
	return 0;
}

/* A socket of our own that guards pid; 0, or -errno with the reason. */
static int guard_on_new_socket(struct tnl *t, pid_t pid, char *why, size_t len)
{
	struct tnl_call c;
	int err = tnl_open(t, why, len);

	if (err)
		return err;
	err = req_tgid(t, TRIAGE_CMD_SCHED_GUARD, pid, &c);
	if (err) {
		snprintf(why, len, "SCHED_GUARD: %s (%s)", strerror(-err), c.ext);
		tnl_close(t);
	}
	return err;
}

/* A kid with nthreads threads besides its main one, all at nice 5, then
 * SCHED_FIFO PRIO. */
static int fifo_kid(struct kid *k, int nthreads, const char *name)
{
	pid_t tids[64];
	int n, err;

	if (spawn_kid(k, nthreads)) {
		tap_fail(name, "cannot spawn a kid");
		return -1;
	}
	n = list_tids(k->pid, tids, 64);
	for (int i = 0; i < n; i++) {
		if (setpriority(PRIO_PROCESS, tids[i], 5)) {
			tap_fail(name, "setpriority: %s", strerror(errno));
			return -1;
		}
	}
	err = threads_set_class(k->pid, SCHED_FIFO, PRIO);
	if (err || threads_in_class(k->pid, SCHED_FIFO, PRIO) != nthreads + 1) {
		tap_fail(name, "cannot make the kid's threads SCHED_FIFO %d: %s", PRIO, strerror(-err));
		return -1;
	}
	return 0;
}

/* After the guard acted: no thread real time within REVERT_MS, all at
 * nice 0, and the kernel log line. */
static bool reverted(const char *name, pid_t pid, int nthreads, const char *why)
{
	long ms = wait_no_rt(pid, REVERT_MS);
	pid_t t;

	if (ms < 0) {
		tap_fail(name, "%d of %d threads still real time %d ms later", threads_rt(pid), nthreads,
			 REVERT_MS);
		return false;
	}
	printf("# %s: tgid %d reverted in %ld ms\n", why, pid, ms);
	if (threads_in_class(pid, SCHED_OTHER, 0) != nthreads) {
		tap_fail(name, "%d of %d threads are SCHED_OTHER", threads_in_class(pid, SCHED_OTHER, 0),
			 nthreads);
		return false;
	}
	t = thread_not_nice(pid, 0);
	if (t) {
		tap_fail(name, "thread %d is not at nice 0", t);
		return false;
	}
	if (!klog_says(why, nthreads, pid)) {
		tap_fail(name, "no kernel log line \"%s: %d real-time threads of tgid %d turned to SCHED_NORMAL\"",
			 why, nthreads, pid);
		return false;
	}
	return true;
}

/* The threads keep SCHED_FIFO PRIO for QUIET_MS. */
static bool stays_fifo(const char *name, pid_t pid, int nthreads)
{
	usleep(QUIET_MS * 1000);
	if (threads_in_class(pid, SCHED_FIFO, PRIO) == nthreads)
		return true;
	tap_fail(name, "%d of %d threads left SCHED_FIFO %d", nthreads - threads_in_class(pid, SCHED_FIFO, PRIO),
		 nthreads, PRIO);
	return false;
}

/* ---- with the module loaded ---- */

static void test_close(void)
{
	const char *name = "sched guard: closing the socket turns 3 SCHED_FIFO threads SCHED_OTHER, nice 0, the one born after GUARD too";
	char why[300];
	struct tnl t;
	struct kid k = KID_NONE;
	pid_t born;

	if (fifo_kid(&k, 1, name))
		goto out;
	if (guard_on_new_socket(&t, k.pid, why, sizeof(why))) {
		tap_fail(name, "%s", why);
		goto out;
	}
	if (kid_new_thread(&k, &born)) {
		tap_fail(name, "the kid started no thread");
		tnl_close(&t);
		goto out;
	}
	if (sched_getscheduler(born) != SCHED_FIFO || threads_in_class(k.pid, SCHED_FIFO, PRIO) != 3) {
		tap_fail(name, "before the close: %d of 3 threads SCHED_FIFO %d (the new one: policy %d)",
			 threads_in_class(k.pid, SCHED_FIFO, PRIO), PRIO, sched_getscheduler(born));
		tnl_close(&t);
		goto out;
	}
	tnl_close(&t);
	if (reverted(name, k.pid, 3, "netlink port closed"))
		tap_ok(name);
out:
	kid_reap(&k);
}

/* The socket's owner dies by SIGKILL, as an agent killed with -9. */
static void test_sigkill(void)
{
	const char *name = "sched guard: SIGKILL of the process holding the socket reverts its group";
	pid_t client;
	char why[300], ready;
	struct kid k = KID_NONE;
	int fd[2] = { -1, -1 };

	if (fifo_kid(&k, 2, name) || pipe(fd))
		goto out;
	client = fork();
	if (client == 0) {
		struct tnl t;

		close(fd[0]);
		if (guard_on_new_socket(&t, k.pid, why, sizeof(why)) || write(fd[1], "g", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fd[1]);
	fd[1] = -1;
	if (read(fd[0], &ready, 1) != 1) {
		tap_fail(name, "the client could not guard the kid");
		reap(client);
		goto out;
	}
	reap(client);
	if (reverted(name, k.pid, 3, "netlink port closed"))
		tap_ok(name);
out:
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	kid_reap(&k);
}

static void test_unguard(void)
{
	const char *name = "sched guard: after UNGUARD the socket's close leaves the threads SCHED_FIFO";
	struct tnl_call c;
	char why[300];
	struct tnl t;
	struct kid k = KID_NONE;
	int err;

	if (fifo_kid(&k, 1, name))
		goto out;
	if (guard_on_new_socket(&t, k.pid, why, sizeof(why))) {
		tap_fail(name, "%s", why);
		goto out;
	}
	err = req_tgid(&t, TRIAGE_CMD_SCHED_UNGUARD, k.pid, &c);
	if (err) {
		tap_fail(name, "SCHED_UNGUARD: %s (%s)", strerror(-err), c.ext);
		tnl_close(&t);
		goto out;
	}
	err = req_tgid(&t, TRIAGE_CMD_SCHED_UNGUARD, k.pid, &c);
	if (err != -ENOENT || !strstr(c.ext, "no guard")) {
		tap_fail(name, "a second UNGUARD: %d (%s), want -ENOENT \"no guard ...\"", err, c.ext);
		tnl_close(&t);
		goto out;
	}
	tnl_close(&t);
	if (stays_fifo(name, k.pid, 2))
		tap_ok(name);
out:
	kid_reap(&k);
}

static void test_moved(void)
{
	const char *name = "sched guard: a GUARD from a second socket moves it: the first one's close keeps FIFO, the second one's reverts";
	char why[300];
	struct tnl a, b;
	struct kid k = KID_NONE;

	if (fifo_kid(&k, 1, name))
		goto out;
	if (guard_on_new_socket(&a, k.pid, why, sizeof(why))) {
		tap_fail(name, "first socket: %s", why);
		goto out;
	}
	if (guard_on_new_socket(&b, k.pid, why, sizeof(why))) {
		tap_fail(name, "second socket: %s", why);
		tnl_close(&a);
		goto out;
	}
	tnl_close(&a);
	if (!stays_fifo(name, k.pid, 2)) {
		tnl_close(&b);
		goto out;
	}
	tnl_close(&b);
	if (reverted(name, k.pid, 2, "netlink port closed"))
		tap_ok(name);
out:
	kid_reap(&k);
}

/* Main thread SCHED_BATCH at nice 3, one thread SCHED_RR, one SCHED_DEADLINE. */
static void test_classes(void)
{
	const char *name = "sched guard: SCHED_RR and SCHED_DEADLINE threads revert too, a SCHED_BATCH one is left alone";
	struct sched_param sp = { .sched_priority = PRIO }, zero = { 0 };
	char why[300];
	pid_t tids[8];
	struct tnl t;
	struct kid k = KID_NONE;
	int n, err;

	if (spawn_kid(&k, 2)) {
		tap_fail(name, "cannot spawn a kid");
		goto out;
	}
	/* tids[0] the main thread, the two others after it. */
	n = list_tids(k.pid, tids, 8);
	for (int i = 1; i < n; i++) {
		if (tids[i] == k.pid) {
			tids[i] = tids[0];
			tids[0] = k.pid;
		}
	}
	if (n != 3 || sched_setscheduler(k.pid, SCHED_BATCH, &zero) ||
	    setpriority(PRIO_PROCESS, k.pid, 3) || sched_setscheduler(tids[1], SCHED_RR, &sp)) {
		tap_fail(name, "%d threads; BATCH/RR: %s", n, strerror(errno));
		goto out;
	}
	err = set_deadline(tids[2]);
	if (err) {
		tap_fail(name, "SCHED_DEADLINE: %s", strerror(-err));
		goto out;
	}
	if (guard_on_new_socket(&t, k.pid, why, sizeof(why))) {
		tap_fail(name, "%s", why);
		goto out;
	}
	tnl_close(&t);
	if (wait_no_rt(k.pid, REVERT_MS) < 0) {
		tap_fail(name, "%d threads still real time %d ms after the close", threads_rt(k.pid),
			 REVERT_MS);
	} else if (sched_getscheduler(tids[1]) != SCHED_OTHER || sched_getscheduler(tids[2]) != SCHED_OTHER) {
		tap_fail(name, "RR thread now policy %d, DEADLINE thread %d", sched_getscheduler(tids[1]),
			 sched_getscheduler(tids[2]));
	} else if (sched_getscheduler(k.pid) != SCHED_BATCH || getpriority(PRIO_PROCESS, k.pid) != 3) {
		tap_fail(name, "the BATCH thread is policy %d nice %d now", sched_getscheduler(k.pid),
			 getpriority(PRIO_PROCESS, k.pid));
	} else if (!klog_says("netlink port closed", 2, k.pid)) {
		tap_fail(name, "no kernel log line naming 2 threads of tgid %d", k.pid);
	} else {
		tap_ok(name);
	}
out:
	kid_reap(&k);
}

/* A process of one sleeping thread; 0 when fork fails. */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid > 0 ? pid : 0;
}

static void test_limit(void)
{
	const char *name = "sched guard: 1024 guarded groups, the next GUARD -ENOSPC, a guarded one again 0, one exit frees a place";
	enum { LIMIT = 1024 };
	static pid_t pids[LIMIT + 1];
	struct tnl_call c;
	char why[300];
	struct tnl t;
	int i, err = 0;

	if (tnl_open(&t, why, sizeof(why)))
		return tap_fail(name, "%s", why);
	for (i = 0; i <= LIMIT; i++)
		if (!(pids[i] = sleeper()))
			break;
	if (i <= LIMIT) {
		tap_fail(name, "fork %d: %s", i, strerror(errno));
		goto out;
	}
	for (i = 0; i < LIMIT && !err; i++)
		err = req_tgid(&t, TRIAGE_CMD_SCHED_GUARD, pids[i], &c);
	if (err) {
		tap_fail(name, "GUARD %d: %s (%s)", i, strerror(-err), c.ext);
	} else if ((err = req_tgid(&t, TRIAGE_CMD_SCHED_GUARD, pids[LIMIT], &c)) != -ENOSPC ||
		   !c.ext[0]) {
		tap_fail(name, "GUARD %d: %d (%s), want -ENOSPC with a message", LIMIT + 1, err, c.ext);
	} else if ((err = req_tgid(&t, TRIAGE_CMD_SCHED_GUARD, pids[7], &c))) {
		tap_fail(name, "GUARD of a guarded group at the limit: %s (%s)", strerror(-err), c.ext);
	} else {
		/* The exit probe drops the guard of a group that is gone. */
		reap(pids[0]);
		pids[0] = pids[LIMIT];
		pids[LIMIT] = 0;
		err = req_tgid(&t, TRIAGE_CMD_SCHED_GUARD, pids[0], &c);
		if (err)
			tap_fail(name, "GUARD after one guarded group exited: %s (%s)", strerror(-err),
				 c.ext);
		else
			tap_ok(name);
	}
out:
	tnl_close(&t);
	for (i = 0; i <= LIMIT; i++)
		reap(pids[i]);
}

struct bad_guard {
	const char *what;
	int cmd;
	uint32_t tgid;
	int want;
	const char *ext; /* in the extended ACK */
};

static void test_errors(void)
{
	const char *name = "sched guard: GUARD of tgid 0 -ERANGE, of a dead pid -ESRCH, of kthreadd -EINVAL, UNGUARD of an unguarded group -ENOENT";
	pid_t dead = fork();
	struct bad_guard bad[] = {
		{ "GUARD of tgid 0", TRIAGE_CMD_SCHED_GUARD, 0, -ERANGE, "" },
		{ "GUARD of a dead pid", TRIAGE_CMD_SCHED_GUARD, dead, -ESRCH, "no such thread group" },
		{ "GUARD above PID_MAX_LIMIT", TRIAGE_CMD_SCHED_GUARD, GONE_TGID, -ESRCH, "no such thread group" },
		{ "GUARD of kthreadd", TRIAGE_CMD_SCHED_GUARD, 2, -EINVAL, "kernel threads" },
		{ "UNGUARD of an unguarded group", TRIAGE_CMD_SCHED_UNGUARD, getpid(), -ENOENT, "no guard" },
	};
	struct tnl_call c;
	char why[300];
	struct tnl t;
	size_t i;
	int err;

	if (dead == 0)
		_exit(0);
	if (dead < 0)
		return tap_fail(name, "fork: %s", strerror(errno));
	waitpid(dead, NULL, 0);
	if (tnl_open(&t, why, sizeof(why)))
		return tap_fail(name, "%s", why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = req_tgid(&t, bad[i].cmd, bad[i].tgid, &c);
		if (err != bad[i].want || !strstr(c.ext, bad[i].ext)) {
			tap_fail(name, "%s: %d (%s), want %d \"%s\"", bad[i].what, err, c.ext, bad[i].want,
				 bad[i].ext);
			break;
		}
	}
	if (i == sizeof(bad) / sizeof(bad[0]))
		tap_ok(name);
	tnl_close(&t);
}

/* ---- rmmod ---- */

static void test_unload(void)
{
	const char *name = "sched guard: rmmod reverts a group whose guarding socket is still open";
	char why[300];
	struct tnl t;
	struct kid k = KID_NONE;

	if (fifo_kid(&k, 1, name))
		goto out;
	if (guard_on_new_socket(&t, k.pid, why, sizeof(why))) {
		tap_fail(name, "%s", why);
		goto out;
	}
	if (syscall(SYS_delete_module, "triage", O_NONBLOCK)) {
		tap_fail(name, "rmmod triage: %s", strerror(errno));
		tnl_close(&t);
		goto out;
	}
	if (reverted(name, k.pid, 2, "unloading"))
		tap_ok(name);
	tnl_close(&t);
out:
	kid_reap(&k);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct version v = { 0 };
	struct tnl_call c;
	double t0;
	char why[300];
	struct tnl t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 || (argc == 2 && strcmp(mode, "--unload"))) {
		fprintf(stderr, "usage: sched_guard_test [--unload]\n");
		return 2;
	}
	if (geteuid() != 0) {
		tap_skip("sched guard", "needs root");
		return 0;
	}
	if (tnl_open(&t, why, sizeof(why))) {
		tap_fail("sched guard", "%s", why);
		return 1;
	}
	if (tnl_call(&t, tnl_msg(&t, TRIAGE_CMD_GET_VERSION, 0), version_cb, &v, &c)) {
		tap_fail("sched guard", "GET_VERSION: %d (%s)", c.err, c.ext);
		return 1;
	}
	tnl_close(&t);
	if (!(v.features & TRIAGE_FEAT_FAILSAFE) || !(v.features & TRIAGE_FEAT_SCHED_GUARD)) {
		tap_fail("sched guard", "features 0x%x lack FAILSAFE or SCHED_GUARD", v.features);
		return 1;
	}
	t0 = mono_ms();
	if (!strcmp(mode, "--unload")) {
		test_unload();
	} else {
		test_close();
		test_sigkill();
		test_unguard();
		test_moved();
		test_classes();
		test_limit();
		test_errors();
	}
	printf("# sched_guard_test%s%s: %.1f s\n", argc > 1 ? " " : "", mode, (mono_ms() - t0) / 1000);
	return tap_failures ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * In-VM test of triage.ko's behaviour through its generic-netlink family:
 * every operation, permissions, sticky affinity, the fail-safe restore and
 * the notifications. Root, module already loaded (the rig runs insmod).
 * Malformed input and fuzzing are genl_fuzz.c's, what SCHED_GUARD does to
 * scheduling classes sched_guard_test.c's.
 *
 * One line per test, `ok - kmod: NAME`, `not ok - kmod: NAME: why` or
 * `skip - kmod: NAME: why`; exit status 1 if any failed. Helper processes
 * are children of this one: spinners (CPU hogs, optionally pinned) and
 * "kids" (a few sleeping threads, told over a pipe to widen their mask and
 * spawn more).
 */
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "triage/sensors.h"
#include "genl_util.h"
#include "genl_proc.h"
#include "genl_req.h"

/* ---- tests ---- */

static struct tnl nl;
static uint32_t features;

/* Index of tgid's tag, -1 if absent, -2 if the dump failed. */
static int find_tag(uint32_t tgid, struct tag_list *l)
{
	struct tnl_call c;
	int i;

	memset(l, 0, sizeof(*l));
	if (req_dump(&nl, TRIAGE_CMD_GET_TAGS, tags_cb, l, &c))
		return -2;
	for (i = 0; i < l->n; i++)
		if (l->tag[i].tgid == tgid)
			return i;
	return -1;
}

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

static void test_version(void)
{
	struct version v = { 0 };
	struct tnl_call c;
	struct nl_msg *m = tnl_msg(&nl, TRIAGE_CMD_GET_VERSION, 0);

	if (tnl_call(&nl, m, version_cb, &v, &c))
		return tap_fail("GET_VERSION", "error %d (%s)", c.err, c.ext);
	features = v.features;
	if (v.abi != TRIAGE_ABI_VERSION)
		return tap_fail("GET_VERSION", "abi %u, want %d", v.abi, TRIAGE_ABI_VERSION);
	if ((int)v.nr_cpus != nr_possible)
		return tap_fail("GET_VERSION", "nr_cpus %u, %d possible", v.nr_cpus, nr_possible);
	if (!v.module_version[0])
		return tap_fail("GET_VERSION", "empty module version");
	if ((features & (TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_AFFINITY | TRIAGE_FEAT_EVENTS |
			 TRIAGE_FEAT_FAILSAFE)) !=
	    (TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_AFFINITY | TRIAGE_FEAT_EVENTS | TRIAGE_FEAT_FAILSAFE))
		return tap_fail("GET_VERSION", "features 0x%x lack sensors, affinity, events or fail-safe",
				features);
	printf("# module %s, abi %u, features 0x%x, %u CPUs\n", v.module_version, v.abi, features,
	       v.nr_cpus);
	tap_ok("GET_VERSION abi, features, nr_cpus");
}

static void test_tags(void)
{
	const char *name = "TAG/UNTAG/GET_TAGS";
	struct tag_list l;
	struct tnl_call c;
	pid_t dead, kid = spawn_spinner(-1);
	int i;

	if (req_tag(&nl, kid, 2, 101, 500, &c))
		goto fail_call;
	i = find_tag(kid, &l);
	if (i < 0 || l.tag[i].slot != 2 || l.tag[i].wl != 101 || l.tag[i].thr != 500) {
		tap_fail(name, "GET_TAGS after TAG: index %d", i);
		goto out;
	}
	if (req_tag(&nl, kid, 3, 102, 0, &c))
		goto fail_call;
	i = find_tag(kid, &l);
	if (i < 0 || l.tag[i].slot != 3 || l.tag[i].wl != 102) {
		tap_fail(name, "re-TAG did not replace the tag");
		goto out;
	}
	if (req_tgid(&nl, TRIAGE_CMD_UNTAG, kid, &c))
		goto fail_call;
	if (find_tag(kid, &l) != -1) {
		tap_fail(name, "tag still listed after UNTAG");
		goto out;
	}
	if (req_tgid(&nl, TRIAGE_CMD_UNTAG, kid, &c) != -ENOENT) {
		tap_fail(name, "second UNTAG: %d, want -ENOENT", c.err);
		goto out;
	}
	dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	if (req_tag(&nl, dead, 0, 103, 0, &c) != -ESRCH) {
		tap_fail(name, "TAG of an exited process: %d, want -ESRCH", c.err);
		goto out;
	}
	tap_ok(name);
	goto out;
fail_call:
	tap_fail(name, "error %d (%s)", c.err, c.ext);
out:
	reap(kid);
	req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 101, NULL, NULL, &c);
	req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 102, NULL, NULL, &c);
}

static void test_affinity(void)
{
	const char *name = "SET_AFFINITY/RESET_AFFINITY";
	char orig[256], why[300];
	struct tnl_call c;
	struct kid k;

	if (nr_possible < 2)
		return tap_skip(name, "needs 2 CPUs");
	if (spawn_kid(&k, 3))
		return tap_fail(name, "cannot spawn a kid");
	read_allowed(k.pid, k.pid, orig, sizeof(orig));
	if (req_affinity(&nl, k.pid, 1, 0, &c)) {
		tap_fail(name, "SET_AFFINITY: %d (%s)", c.err, c.ext);
	} else if (!threads_allowed(k.pid, "1", 1000, why, sizeof(why))) {
		tap_fail(name, "after SET_AFFINITY: %s", why);
	} else if (req_tgid(&nl, TRIAGE_CMD_RESET_AFFINITY, k.pid, &c)) {
		tap_fail(name, "RESET_AFFINITY: %d (%s)", c.err, c.ext);
	} else if (!threads_allowed(k.pid, orig, 1000, why, sizeof(why))) {
		tap_fail(name, "after RESET_AFFINITY: %s", why);
	} else if (req_tgid(&nl, TRIAGE_CMD_RESET_AFFINITY, k.pid, &c) != -ENOENT) {
		tap_fail(name, "second RESET_AFFINITY: %d, want -ENOENT", c.err);
	} else if (req_affinity(&nl, k.pid, 0, TRIAGE_AFFINITY_F_ONCE, &c) ||
		   !threads_allowed(k.pid, "0", 1000, why, sizeof(why))) {
		tap_fail(name, "SET_AFFINITY once: %d (%s) %s", c.err, c.ext, why);
	} else if (req_affinity(&nl, k.pid, nr_possible, 0, &c) != -EINVAL || !c.ext[0]) {
		tap_fail(name, "mask beyond the possible CPUs: %d, want -EINVAL with a message",
			 c.err);
	} else {
		tap_ok(name);
	}
	req_tgid(&nl, TRIAGE_CMD_RESET_AFFINITY, k.pid, &c);
	kid_reap(&k);
}

static int cpu_dump(struct cpu_list *l, struct tnl_call *c)
{
	memset(l, 0, sizeof(*l));
	return req_dump(&nl, TRIAGE_CMD_GET_CPU_STATS, cpus_cb, l, c);
}

static void test_cpu_stats(void)
{
	const char *name = "GET_CPU_STATS";
	struct cpu_list a, b;
	struct tnl_call c;
	pid_t spin;

	if (cpu_dump(&a, &c))
		return tap_fail(name, "dump: %d (%s)", c.err, c.ext);
	if (a.n != nr_possible || a.seen != (nr_possible >= 64 ? ~0ull : (1ull << nr_possible) - 1))
		return tap_fail(name, "%d entries (mask 0x%llx) for %d possible CPUs", a.n,
				(unsigned long long)a.seen, nr_possible);
	spin = spawn_spinner(-1);
	usleep(300000);
	reap(spin);
	if (cpu_dump(&b, &c))
		return tap_fail(name, "second dump: %d (%s)", c.err, c.ext);
	if (b.busy <= a.busy || b.switches <= a.switches)
		return tap_fail(name, "counters did not grow: busy %llu -> %llu, switches %llu -> %llu",
				(unsigned long long)a.busy, (unsigned long long)b.busy,
				(unsigned long long)a.switches, (unsigned long long)b.switches);
	tap_ok("GET_CPU_STATS one entry per possible CPU, counters grow");
}

static const char *wl_check(const struct wl_reply *r, uint32_t slot, bool want_intf)
{
	uint64_t sum = 0;
	int b;

	for (b = 0; b < TRIAGE_HIST_BUCKETS; b++)
		sum += r->ws.wait_hist[b];
	if (!r->found)
		return "workload missing";
	if (r->nr_tgids != 1)
		return "nr_tgids != 1";
	if (!r->ws.cpu_ns)
		return "cpu_ns 0";
	if (!r->ws.wait_count || !r->ws.wait_ns)
		return "no waits";
	if (sum != r->ws.wait_count)
		return "histogram sum != wait_count";
	if (r->ws.slot != slot)
		return "wrong slot";
	if (!r->ws.nr_involuntary)
		return "no involuntary switches";
	if (want_intf && !r->ws.intf_ns)
		return "no interference while a lower level shared the CPU";
	if (!want_intf && r->ws.intf_ns)
		return "interference for the lowest level";
	return NULL;
}

static void test_wl_stats(void)
{
	const char *name = "GET_WL_STATS";
	int cpu = nr_possible > 1 ? 1 : 0;
	pid_t hi = spawn_spinner(cpu), lo = spawn_spinner(cpu);
	struct wl_reply r = { .want = 201 };
	struct tag_list l;
	struct tnl_call c;
	const char *bad;

	if (req_tag(&nl, hi, 0, 201, 0, &c) || req_tag(&nl, lo, 3, 202, 0, &c)) {
		tap_fail(name, "TAG: %d (%s)", c.err, c.ext);
		goto out;
	}
	usleep(1000000);
	if (req_wl_id(&nl, TRIAGE_CMD_GET_WL_STATS, 201, wl_cb, &r, &c)) {
		tap_fail(name, "do: %d (%s)", c.err, c.ext);
		goto out;
	}
	bad = wl_check(&r, 0, true);
	if (bad) {
		tap_fail(name, "workload 201 (do): %s", bad);
		goto out;
	}
	r = (struct wl_reply){ .want = 202 };
	if (req_dump(&nl, TRIAGE_CMD_GET_WL_STATS, wl_cb, &r, &c) || r.n < 2) {
		tap_fail(name, "dump: %d (%s), %d entries", c.err, c.ext, r.n);
		goto out;
	}
	bad = wl_check(&r, 3, false);
	if (bad) {
		tap_fail(name, "workload 202 (dump): %s", bad);
		goto out;
	}
	tap_ok("GET_WL_STATS do+dump: cpu_ns, waits, histogram, interference, slot");

	if (req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 201, NULL, NULL, &c))
		tap_fail("FORGET_WL", "%d (%s)", c.err, c.ext);
	else if (req_wl_id(&nl, TRIAGE_CMD_GET_WL_STATS, 201, wl_cb, &r, &c) != -ENOENT)
		tap_fail("FORGET_WL", "GET_WL_STATS afterwards: %d, want -ENOENT", c.err);
	else if (find_tag(hi, &l) != -1)
		tap_fail("FORGET_WL", "the workload's tag is still listed");
	else if (req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 201, NULL, NULL, &c) != -ENOENT)
		tap_fail("FORGET_WL", "second FORGET_WL: %d, want -ENOENT", c.err);
	else
		tap_ok("FORGET_WL drops tags and counters");
out:
	reap(hi);
	reap(lo);
	req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 201, NULL, NULL, &c);
	req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 202, NULL, NULL, &c);
}

#define BIG_DUMP 300

/* Counts replies naming our tgids (tags) or workload ids (wl_stats). */
struct big_count {
	const pid_t *pids;
	int seen[BIG_DUMP];
};

static int big_cb(struct nlattr **tb, int cmd, void *arg)
{
	struct big_count *b = arg;
	uint32_t wl;
	int i;

	if (!tb[TRIAGE_ATTR_WL_ID])
		return -1;
	wl = nla_get_u32(tb[TRIAGE_ATTR_WL_ID]);
	if (wl < 1000 || wl >= 1000 + BIG_DUMP)
		return 0;
	i = wl - 1000;
	if (cmd == TRIAGE_CMD_GET_TAGS &&
	    (!tb[TRIAGE_ATTR_TGID] || nla_get_u32(tb[TRIAGE_ATTR_TGID]) != (uint32_t)b->pids[i]))
		return -1;
	b->seen[i]++;
	return 0;
}

/* Dumps longer than one message buffer resume where they stopped. */
static void test_big_dumps(void)
{
	const char *name = "GET_TAGS/GET_WL_STATS dumps over several buffers list each entry once";
	static pid_t pids[BIG_DUMP];
	struct big_count b = { .pids = pids };
	struct tnl_call c;
	int i, k, n = 0, cmd;

	for (i = 0; i < BIG_DUMP; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			for (;;)
				pause();
		}
		if (pids[i] > 0 && !req_tag(&nl, pids[i], i % 8, 1000 + i, 0, &c))
			n++;
	}
	if (n != BIG_DUMP) {
		tap_fail(name, "tagged %d of %d processes", n, BIG_DUMP);
		goto out;
	}
	for (k = 0; k < 2; k++) {
		cmd = k ? TRIAGE_CMD_GET_TAGS : TRIAGE_CMD_GET_WL_STATS;
		memset(b.seen, 0, sizeof(b.seen));
		if (req_dump(&nl, cmd, big_cb, &b, &c)) {
			tap_fail(name, "dump of command %d: %d", cmd, c.err);
			goto out;
		}
		for (i = 0; i < BIG_DUMP && b.seen[i] == 1; i++)
			;
		if (i < BIG_DUMP) {
			tap_fail(name, "command %d listed workload %d %d times", cmd, 1000 + i,
				 b.seen[i]);
			goto out;
		}
	}
	tap_ok(name);
out:
	for (i = 0; i < BIG_DUMP; i++) {
		reap(pids[i]);
		req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 1000 + i, NULL, NULL, &c);
	}
}

static int gpu_cb(struct nlattr **tb, int cmd, void *arg)
{
	(void)arg;
	return cmd == TRIAGE_CMD_GET_GPU_STATS && tb[TRIAGE_ATTR_GPU_NAME] &&
			       tb[TRIAGE_ATTR_GPU_LOAD] && tb[TRIAGE_ATTR_GPU_CUR_FREQ] &&
			       nla_get_u32(tb[TRIAGE_ATTR_GPU_LOAD]) <= 1000 ?
		       0 :
		       -1;
}

static void test_gpu(void)
{
	struct tnl_call c;
	int err = tnl_call(&nl, tnl_msg(&nl, TRIAGE_CMD_GET_GPU_STATS, 0), gpu_cb, NULL, &c);

	if (features & TRIAGE_FEAT_GPU) {
		if (err)
			return tap_fail("GET_GPU_STATS", "FEAT_GPU set but %d (%s)", err, c.ext);
		return tap_ok("GET_GPU_STATS answers on a devfreq GPU");
	}
	if (err != -ENODEV || !strstr(c.ext, "devfreq GPU"))
		return tap_fail("GET_GPU_STATS", "%d (%s), want -ENODEV with a message", err, c.ext);
	tap_ok("GET_GPU_STATS without a devfreq GPU: -ENODEV with extack");
}

/* In a child without privileges: every mutating op -EPERM, reads fine. */
static int unprivileged_child(pid_t target, char *why, size_t len)
{
	static const int mutating[] = { TRIAGE_CMD_TAG, TRIAGE_CMD_UNTAG, TRIAGE_CMD_SET_AFFINITY,
					 TRIAGE_CMD_RESET_AFFINITY, TRIAGE_CMD_FORGET_WL,
					 TRIAGE_CMD_SCHED_GUARD, TRIAGE_CMD_SCHED_UNGUARD };
	struct cpu_list cpus = { 0 };
	struct version v;
	struct tnl_call c;
	struct tnl t;
	size_t i;

	/* Leaving uid 0 for good drops every capability. */
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return snprintf(why, len, "cannot drop privileges");
	if (tnl_open(&t, why, len))
		return 1;
	if (tnl_call(&t, tnl_msg(&t, TRIAGE_CMD_GET_VERSION, 0), version_cb, &v, &c))
		return snprintf(why, len, "GET_VERSION: %d", c.err);
	if (req_dump(&t, TRIAGE_CMD_GET_CPU_STATS, cpus_cb, &cpus, &c))
		return snprintf(why, len, "GET_CPU_STATS: %d", c.err);
	for (i = 0; i < sizeof(mutating) / sizeof(mutating[0]); i++)
		if (tnl_call(&t, mutating_request(&t, mutating[i], target), NULL, NULL, &c) != -EPERM)
			return snprintf(why, len, "command %d: %d, want -EPERM", mutating[i], c.err);
	tnl_close(&t);
	return 0;
}

static void test_unprivileged(void)
{
	const char *name = "unprivileged: -EPERM on every mutating op, reads allowed";
	pid_t target = spawn_spinner(-1), child;
	char why[256] = "";
	int fd[2], status;
	ssize_t n;

	if (pipe(fd))
		return tap_fail(name, "pipe");
	child = fork();
	if (child == 0) {
		close(fd[0]);
		if (unprivileged_child(target, why, sizeof(why)) && write(fd[1], why, strlen(why)) < 0)
			_exit(2);
		_exit(0);
	}
	close(fd[1]);
	n = read(fd[0], why, sizeof(why) - 1);
	why[n > 0 ? n : 0] = '\0';
	close(fd[0]);
	waitpid(child, &status, 0);
	reap(target);
	if (why[0] || !WIFEXITED(status) || WEXITSTATUS(status))
		return tap_fail(name, "%s", why[0] ? why : "child failed");
	tap_ok(name);
}

static void test_sticky(void)
{
	const char *name = "sticky affinity: threads created after a widening get the mask";
	char orig[256], why[300];
	pid_t tids[2];
	struct tnl_call c;
	struct kid k;
	int i;

	if (nr_possible < 2)
		return tap_skip(name, "needs 2 CPUs");
	if (spawn_kid(&k, 2))
		return tap_fail(name, "cannot spawn a kid");
	read_allowed(k.pid, k.pid, orig, sizeof(orig));
	if (req_affinity(&nl, k.pid, 1, 0, &c) ||
	    !threads_allowed(k.pid, "1", 1000, why, sizeof(why))) {
		tap_fail(name, "SET_AFFINITY: %d (%s) %s", c.err, c.ext, why);
		goto out;
	}
	if (write(k.cmd, "w", 1) != 1 || kid_new_tids(&k, tids)) {
		tap_fail(name, "kid did not spawn threads");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		if (read_allowed(k.pid, tids[i], why, sizeof(why))) {
			tap_fail(name, "new thread %d not in /proc", tids[i]);
			goto out;
		}
	}
	/* Every thread, the widened one and the new ones included. */
	if (!threads_allowed(k.pid, "1", 1000, why, sizeof(why))) {
		tap_fail(name, "%s", why);
		goto out;
	}
	if (req_tgid(&nl, TRIAGE_CMD_RESET_AFFINITY, k.pid, &c) ||
	    !threads_allowed(k.pid, orig, 1000, why, sizeof(why))) {
		tap_fail(name, "RESET_AFFINITY: %d %s", c.err, why);
		goto out;
	}
	/* The control: with F_ONCE, threads created later keep what they
	 * inherit. */
	if (req_affinity(&nl, k.pid, 1, TRIAGE_AFFINITY_F_ONCE, &c) ||
	    !threads_allowed(k.pid, "1", 1000, why, sizeof(why)) || write(k.cmd, "w", 1) != 1 ||
	    kid_new_tids(&k, tids)) {
		tap_fail(name, "SET_AFFINITY once: %d (%s) %s", c.err, c.ext, why);
		goto out;
	}
	usleep(300000);
	if (read_allowed(k.pid, tids[0], why, sizeof(why)) || strcmp(why, orig)) {
		tap_fail(name, "with F_ONCE a new thread has %s, want %s", why, orig);
		goto out;
	}
	tap_ok(name);
out:
	req_tgid(&nl, TRIAGE_CMD_RESET_AFFINITY, k.pid, &c);
	kid_reap(&k);
}

/* A second client sets the affinity and a tag, then is SIGKILLed. */
static void test_failsafe(void)
{
	const char *name = "fail-safe: a killed client's affinity is restored, its tags stay";
	char orig[256], why[300], ready;
	pid_t client;
	struct tag_list l;
	struct tnl_call c;
	struct kid k;
	int fd[2];

	if (nr_possible < 2)
		return tap_skip(name, "needs 2 CPUs");
	if (spawn_kid(&k, 2) || pipe(fd))
		return tap_fail(name, "cannot spawn a kid");
	read_allowed(k.pid, k.pid, orig, sizeof(orig));
	client = fork();
	if (client == 0) {
		struct tnl t;

		if (tnl_open(&t, why, sizeof(why)) || req_affinity(&t, k.pid, 1, 0, &c) ||
		    req_tag(&t, k.pid, 1, 401, 0, &c) || write(fd[1], "k", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fd[1]);
	if (read(fd[0], &ready, 1) != 1) {
		tap_fail(name, "the client could not set the affinity");
		goto out;
	}
	if (!threads_allowed(k.pid, "1", 1000, why, sizeof(why))) {
		tap_fail(name, "client's SET_AFFINITY: %s", why);
		goto out;
	}
	reap(client);
	client = 0;
	if (!threads_allowed(k.pid, orig, 2000, why, sizeof(why))) {
		tap_fail(name, "after the client died: %s", why);
		goto out;
	}
	if (find_tag(k.pid, &l) < 0) {
		tap_fail(name, "the client's tag is gone");
		goto out;
	}
	tap_ok(name);
out:
	reap(client);
	close(fd[0]);
	kid_reap(&k);
	req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 401, NULL, NULL, &c);
}

static void test_events(void)
{
	int cpu = nr_possible > 1 ? 1 : 0, grp;
	pid_t hi = spawn_spinner(cpu), lo = spawn_spinner(cpu);
	struct tag_list l;
	struct tnl_call c;
	struct event e;
	struct tnl ev;
	char why[200];

	if (tnl_open(&ev, why, sizeof(why))) {
		tap_fail("events", "%s", why);
		goto out;
	}
	grp = genl_ctrl_resolve_grp(ev.sk, TRIAGE_GENL_NAME, TRIAGE_GENL_MCGRP_EVENTS);
	nl_socket_disable_seq_check(ev.sk);
	if (grp < 0 || nl_socket_add_membership(ev.sk, grp)) {
		tap_fail("events", "cannot join group %s", TRIAGE_GENL_MCGRP_EVENTS);
		goto close;
	}
	if (req_tag(&nl, hi, 0, 301, 100, &c) || req_tag(&nl, lo, 3, 302, 0, &c)) {
		tap_fail("events", "TAG: %d (%s)", c.err, c.ext);
		goto close;
	}
	if (!event_wait(&ev, TRIAGE_CMD_WAIT_EXCEEDED, hi, 5000, &e))
		tap_fail("events: WAIT_EXCEEDED", "none in 5 s for a loaded CPU");
	else if (!e.has_all || e.wl != 301 || e.slot != 0 || e.thr != 100 ||
		 e.wait_ns <= 100000 || e.tid != (uint32_t)hi)
		tap_fail("events: WAIT_EXCEEDED", "wl %u slot %u thr %u wait %llu tid %u", e.wl, e.slot,
			 e.thr, (unsigned long long)e.wait_ns, e.tid);
	else
		tap_ok("events: WAIT_EXCEEDED past the threshold of a loaded CPU");

	reap(hi);
	if (!event_wait(&ev, TRIAGE_CMD_TASK_EXIT, hi, 5000, &e))
		tap_fail("events: TASK_EXIT", "none in 5 s after SIGKILL");
	else if (!e.has_all || e.wl != 301 || e.slot != 0)
		tap_fail("events: TASK_EXIT", "wl %u slot %u", e.wl, e.slot);
	else if (find_tag(hi, &l) != -1)
		tap_fail("events: TASK_EXIT", "tag of %d still listed", hi);
	else
		tap_ok("events: TASK_EXIT with the tgid, tag gone");
close:
	tnl_close(&ev);
out:
	reap(hi);
	reap(lo);
	req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 301, NULL, NULL, &c);
	req_wl_id(&nl, TRIAGE_CMD_FORGET_WL, 302, NULL, NULL, &c);
}

int main(void)
{
	char why[200];

	setvbuf(stdout, NULL, _IOLBF, 0);
	nr_possible = possible_cpus();
	if (geteuid() != 0) {
		tap_skip("genl_test", "needs root");
		return 0;
	}
	if (tnl_open(&nl, why, sizeof(why))) {
		tap_fail("genl_test", "%s", why);
		return 1;
	}
	test_version();
	test_tags();
	test_affinity();
	test_cpu_stats();
	test_wl_stats();
	test_big_dumps();
	test_gpu();
	test_unprivileged();
	test_sticky();
	test_failsafe();
	test_events();
	tnl_close(&nl);
	return tap_failures ? 1 : 0;
}

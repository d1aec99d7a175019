// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The proc sensor back end: its parsers on sample procfs text, the
 * per-thread accounting that keeps counters cumulative while threads come
 * and go, the whole back end on a fake procfs tree (tags, reads, forget,
 * prune, per-CPU figures), and on the real /proc for this very process.
 * Also the back-end names --sensors takes. No root needed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "sensors/proc_parse.h"
#include "sensors/sensors.h"

#define NS_PER_TICK_100HZ 10000000ull

/* From a 2-CPU machine; the intr line cut short. */
static const char stat_text[] =
	"cpu  164298 0 118146 1210766 1504 0 993 772 0 0\n"
	"cpu0 70884 0 22232 653800 178 0 685 397 0 0\n"
	"cpu1 93413 5 95913 556965 1326 7 308 374 0 0\n"
	"intr 2712290 0 9 0 0 0 0 0 0 0 0\n"
	"ctxt 8316203\n"
	"btime 1763929054\n";

Test(proc_parse, stat_busy_and_idle_in_the_untagged_slot)
{
	struct triage_cpu_stats cpu[2];

	memset(cpu, 0, sizeof(cpu));
	cr_assert_eq(proc_parse_stat(stat_text, 100, cpu, 2), 2);
	/* user + nice + system + irq + softirq; idle + iowait */
	cr_assert_eq(cpu[0].busy_ns[TRIAGE_SLOT_UNTAGGED], (70884ull + 22232 + 685) * NS_PER_TICK_100HZ);
	cr_assert_eq(cpu[0].idle_ns, (653800ull + 178) * NS_PER_TICK_100HZ);
	cr_assert_eq(cpu[1].busy_ns[TRIAGE_SLOT_UNTAGGED],
		     (93413ull + 5 + 95913 + 7 + 308) * NS_PER_TICK_100HZ);
	cr_assert_eq(cpu[1].idle_ns, (556965ull + 1326) * NS_PER_TICK_100HZ);
	for (int s = 0; s < TRIAGE_MAX_LEVELS; s++)
		cr_assert_eq(cpu[0].busy_ns[s], 0, "no level split from /proc/stat");
	cr_assert_eq(cpu[0].wait_count[TRIAGE_SLOT_UNTAGGED], 0, "waits are not in /proc/stat");
}

Test(proc_parse, stat_offline_cpus_and_short_array)
{
	struct triage_cpu_stats cpu[1];

	memset(cpu, 0, sizeof(cpu));
	/* cpu1 offline: no line; the highest one still sizes the answer. */
	cr_assert_eq(proc_parse_stat("cpu 1 1 1 1\ncpu0 1 0 0 9\ncpu2 4 0 0 1\n", 1000, cpu, 1), 3);
	cr_assert_eq(cpu[0].busy_ns[TRIAGE_SLOT_UNTAGGED], 1000000ull);
	cr_assert_eq(cpu[0].idle_ns, 9000000ull, "old kernels without iowait still parse");
	cr_assert_eq(proc_parse_stat("intr 1 2\n", 100, cpu, 1), -EINVAL);
	cr_assert_eq(proc_parse_stat(stat_text, 0, cpu, 1), -EINVAL);
}

Test(proc_parse, stat_ticks_to_ns_does_not_overflow)
{
	struct triage_cpu_stats cpu[1];

	/* Ten years at 1000 Hz, at a clock tick that does not divide 1e9. */
	memset(cpu, 0, sizeof(cpu));
	cr_assert_eq(proc_parse_stat("cpu0 315360000000 0 0 0\n", 300, cpu, 1), 1);
	cr_assert_eq(cpu[0].busy_ns[TRIAGE_SLOT_UNTAGGED], 315360000000ull / 300 * 1000000000ull);
}

/* Version 15 as Linux 5.x/6.x print it; domain lines are skipped. */
static const char schedstat_text[] =
	"version 15\n"
	"timestamp 4295892366\n"
	"cpu0 0 0 5000 1200 3000 2000 987654321 123456789 4242\n"
	"domain0 3 10 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	"cpu1 0 0 7000 100 3000 2000 887654321 23456789 777\n";

Test(proc_parse, schedstat_waits_and_switches)
{
	struct triage_cpu_stats cpu[2];

	memset(cpu, 0, sizeof(cpu));
	cr_assert_eq(proc_parse_schedstat(schedstat_text, cpu, 2), 2);
	cr_assert_eq(cpu[0].wait_ns[TRIAGE_SLOT_UNTAGGED], 123456789);
	cr_assert_eq(cpu[0].wait_count[TRIAGE_SLOT_UNTAGGED], 4242);
	cr_assert_eq(cpu[0].nr_switches, 5000);
	cr_assert_eq(cpu[1].wait_ns[TRIAGE_SLOT_UNTAGGED], 23456789);
	cr_assert_eq(cpu[1].wait_count[TRIAGE_SLOT_UNTAGGED], 777);
	cr_assert_eq(cpu[1].busy_ns[TRIAGE_SLOT_UNTAGGED], 0, "busy comes from /proc/stat");
}

Test(proc_parse, schedstat_other_versions_and_garbage)
{
	struct triage_cpu_stats cpu[1];

	cr_assert_eq(proc_parse_schedstat("version 14\ncpu0 1 2 3\n", cpu, 1), -EOPNOTSUPP);
	cr_assert_eq(proc_parse_schedstat("cpu0 1 2 3\n", cpu, 1), -EINVAL);
	cr_assert_eq(proc_parse_schedstat("version 16\ncpu0 1 2 3\n", cpu, 1), -EINVAL,
		     "a short cpu line is malformed");
	cr_assert_eq(proc_parse_schedstat("version 17\ntimestamp 1\n", cpu, 1), 0);
}

Test(proc_parse, task_schedstat)
{
	struct proc_task_sample t;

	cr_assert_eq(proc_parse_task_schedstat("123456 7890 12\n", &t), 0);
	cr_assert_eq(t.cpu_ns, 123456);
	cr_assert_eq(t.wait_ns, 7890);
	cr_assert_eq(t.waits, 12);
	cr_assert_eq(proc_parse_task_schedstat("0 0\n", &t), -EINVAL);
	cr_assert_eq(proc_parse_task_schedstat("", &t), -EINVAL);
}

Test(proc_parse, ctxt_switches_from_status)
{
	static const char status[] = "Name:\thog\nState:\tR (running)\nTgid:\t42\n"
				     "Cpus_allowed_list:\t0-1\n"
				     "voluntary_ctxt_switches:\t17\n"
				     "nonvoluntary_ctxt_switches:\t230\n";
	uint64_t vol = 0, invol = 0;

	cr_assert_eq(proc_parse_ctxt_switches(status, &vol, &invol), 0);
	cr_assert_eq(vol, 17);
	cr_assert_eq(invol, 230);
	cr_assert_eq(proc_parse_ctxt_switches("nonvoluntary_ctxt_switches:\t3\n", &vol, &invol),
		     -EINVAL, "the voluntary line must not match the nonvoluntary one");
}

static struct proc_task_sample task(pid_t tid, uint64_t cpu, uint64_t wait, uint64_t waits,
				    uint64_t vol, uint64_t invol, bool have_switches)
{
	return (struct proc_task_sample){ .tid = tid, .cpu_ns = cpu, .wait_ns = wait, .waits = waits,
					  .nvcsw = vol, .nivcsw = invol,
					  .have_switches = have_switches };
}

Test(proc_parse, account_growth_new_and_exited_threads)
{
	struct proc_task_sample before[] = { task(10, 100, 50, 5, 1, 2, true),
					     task(11, 1000, 500, 50, 10, 20, true) };
	/* 10 grew, 11 exited, 12 started since. */
	struct proc_task_sample now[] = { task(10, 160, 70, 7, 3, 3, true),
					  task(12, 30, 4, 1, 1, 0, true) };
	struct triage_wl_stats acc = { .cpu_ns = 1 };

	proc_account(before, 2, now, 2, &acc);
	cr_assert_eq(acc.cpu_ns, 1 + 60 + 30);
	cr_assert_eq(acc.wait_ns, 20 + 4);
	cr_assert_eq(acc.wait_count, 2 + 1);
	cr_assert_eq(acc.nr_voluntary, 2 + 1);
	cr_assert_eq(acc.nr_involuntary, 1 + 0);
}

Test(proc_parse, account_carries_switches_not_read)
{
	struct proc_task_sample before[] = { task(10, 100, 0, 0, 5, 6, true) };
	struct proc_task_sample now[] = { task(10, 200, 0, 0, 0, 0, false),
					  task(11, 10, 0, 0, 0, 0, false) };
	struct proc_task_sample later[] = { task(10, 200, 0, 0, 9, 6, true),
					    task(11, 10, 0, 0, 4, 1, true) };
	struct triage_wl_stats acc = { 0 };

	proc_account(before, 1, now, 2, &acc);
	cr_assert_eq(acc.nr_voluntary, 0, "switches not read this time count nothing");
	cr_assert_eq(now[0].nvcsw, 5, "and keep the last figures for next time");
	cr_assert_eq(acc.cpu_ns, 100 + 10);
	proc_account(now, 2, later, 2, &acc);
	cr_assert_eq(acc.nr_voluntary, 4 + 4, "a thread's switches since it started, once");
	cr_assert_eq(acc.nr_involuntary, 0 + 1);
}

Test(proc_parse, account_never_goes_back)
{
	struct proc_task_sample before[] = { task(10, 500, 500, 5, 5, 5, true) };
	struct proc_task_sample now[] = { task(10, 400, 400, 4, 4, 4, true) };
	struct triage_wl_stats acc = { 0 };

	proc_account(before, 1, now, 1, &acc);
	cr_assert_eq(acc.cpu_ns + acc.wait_ns + acc.wait_count + acc.nr_voluntary, 0);
}

Test(proc_parse, sort_by_tid)
{
	struct proc_task_sample s[] = { task(30, 0, 0, 0, 0, 0, false), task(4, 0, 0, 0, 0, 0, false),
					task(12, 0, 0, 0, 0, 0, false) };

	proc_sort_samples(s, 3);
	cr_assert(s[0].tid == 4 && s[1].tid == 12 && s[2].tid == 30);
}

Test(sensors_kind, names_round_trip)
{
	static const char *const names[] = { "auto", "bpf", "kmod", "proc", "none" };
	enum sensors_kind kind;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_eq(sensors_kind_parse(names[i], &kind), 0, "%s", names[i]);
		cr_assert_str_eq(sensors_kind_name(kind), names[i]);
	}
	cr_assert_eq(sensors_kind_parse("BPF", &kind), -EINVAL);
	cr_assert_eq(sensors_kind_parse("", &kind), -EINVAL);
}

/* ---- the back end on a fake procfs tree ------------------------------ */

static char fake_root[64];

static void put_file(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_file(const char *rel, const char *fmt, ...)
{
	char path[256], dir[256];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	for (char *p = strchr(path + strlen(fake_root) + 1, '/'); p; p = strchr(p + 1, '/')) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(p - path), path);
		mkdir(dir, 0755);
	}
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void put_thread(pid_t tgid, pid_t tid, uint64_t cpu, uint64_t wait, uint64_t waits,
		       uint64_t vol, uint64_t invol)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "%d/task/%d/schedstat", tgid, tid);
	put_file(rel, "%llu %llu %llu\n", (unsigned long long)cpu, (unsigned long long)wait,
		 (unsigned long long)waits);
	snprintf(rel, sizeof(rel), "%d/task/%d/status", tgid, tid);
	put_file(rel, "Name:\tfake\nvoluntary_ctxt_switches:\t%llu\nnonvoluntary_ctxt_switches:\t%llu\n",
		 (unsigned long long)vol, (unsigned long long)invol);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void make_fake_proc(void)
{
	log_threshold = LOG_ERR; /* the back end's warning line at each open is expected */
	snprintf(fake_root, sizeof(fake_root), "/tmp/triage-fakeproc-XXXXXX");
	cr_assert_not_null(mkdtemp(fake_root));
	put_file("stat", "%s", stat_text);
	put_file("self/schedstat", "5000000 1000 3\n");
}

static void remove_fake_proc(void)
{
	nftw(fake_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct sensors *open_fake(void)
{
	struct sensors_opts opts = { .nr_levels = 4, .proc_root = fake_root };
	char err[256];
	struct sensors *s = sensors_open(SENSORS_PROC, &opts, err, sizeof(err));

	cr_assert_not_null(s, "sensors_open(proc): %s", err);
	return s;
}

TestSuite(sensors_proc, .init = make_fake_proc, .fini = remove_fake_proc);

Test(sensors_proc, what_it_is_and_cannot)
{
	struct triage_tag tag = { .slot = 0, .wl_id = 1 };
	struct sensors *s = open_fake();

	cr_assert_eq(sensors_kind(s), SENSORS_PROC);
	cr_assert_str_eq(sensors_name(s), "proc");
	cr_assert_eq(sensors_features(s), 0, "no cgroup tags, level split, interference, histogram");
	cr_assert_eq(sensors_tag_cgroup(s, 1234, &tag), -EOPNOTSUPP);
	cr_assert_eq(sensors_event_fd(s), -1);
	cr_assert_geq(sensors_nr_cpus(s), 2, "at least the CPUs /proc/stat lists");
	sensors_close(s);
}

/* GPU counters live in the BPF back end's pinned map only; without it
 * they are in `triagectl status` alone. */
Test(sensors_proc, no_gpu_stats)
{
	struct triage_gpu_stats st = { .busy_ns = 1, .requests = 1, .share_permille = 1000 }, out;
	struct sensors *s = open_fake();

	cr_assert_eq(sensors_features(s) & SENSORS_HAS_GPU_STATS, 0);
	cr_assert_eq(sensors_put_gpu_stats(s, 1, &st), -EOPNOTSUPP);
	cr_assert_eq(sensors_read_gpu_stats(s, 1, &out), -EOPNOTSUPP);
	sensors_close(s);
}

Test(sensors_proc, per_cpu_figures)
{
	struct sensors *s = open_fake();
	int nr = sensors_nr_cpus(s);
	struct triage_cpu_stats *cpu = calloc((size_t)nr, sizeof(*cpu));
	long hz = sysconf(_SC_CLK_TCK);

	cr_assert_eq(sensors_read_cpus(s, cpu, nr), 0);
	cr_assert_eq(cpu[1].busy_ns[TRIAGE_SLOT_UNTAGGED],
		     (93413ull + 5 + 95913 + 7 + 308) * (1000000000ull / (uint64_t)hz));
	cr_assert_eq(cpu[1].wait_count[TRIAGE_SLOT_UNTAGGED], 0, "no /proc/schedstat in this tree");
	/* With one, per-CPU waits appear. */
	sensors_close(s);
	put_file("schedstat", "%s", schedstat_text);
	s = open_fake();
	cr_assert_eq(sensors_read_cpus(s, cpu, nr), 0);
	cr_assert_eq(cpu[1].wait_count[TRIAGE_SLOT_UNTAGGED], 777);
	cr_assert_eq(cpu[0].nr_switches, 5000);
	free(cpu);
	sensors_close(s);
}

Test(sensors_proc, workload_counters_from_threads)
{
	struct triage_tag tag = { .slot = 1, .wl_id = 7 };
	struct triage_wl_stats ws;
	struct sensors *s;

	put_thread(4242, 4242, 1000000, 5000, 10, 3, 4);
	put_thread(4242, 4243, 2000000, 7000, 20, 5, 6);
	s = open_fake();
	cr_assert_eq(sensors_read_workload(s, 7, &ws), -ENOENT, "nothing tagged yet");
	cr_assert_eq(sensors_tag_tgid(s, 4242, &tag), 0);
	cr_assert_eq(sensors_read_workload(s, 7, &ws), 0);
	cr_assert_eq(ws.cpu_ns + ws.wait_ns + ws.wait_count, 0, "what ran before the tag is not counted");
	cr_assert_eq(ws.slot, 1);

	/* Both threads ran; then 4243 exits and 4244 starts. */
	put_thread(4242, 4242, 1500000, 6000, 12, 4, 4);
	put_thread(4242, 4243, 2100000, 9000, 25, 5, 8);
	cr_assert_eq(sensors_read_workload(s, 7, &ws), 0);
	cr_assert_eq(ws.cpu_ns, 500000 + 100000);
	cr_assert_eq(ws.wait_ns, 1000 + 2000);
	cr_assert_eq(ws.wait_count, 2 + 5);

	{
		char path[256];

		snprintf(path, sizeof(path), "%s/4242/task/4243/schedstat", fake_root);
		unlink(path);
		snprintf(path, sizeof(path), "%s/4242/task/4243/status", fake_root);
		unlink(path);
		snprintf(path, sizeof(path), "%s/4242/task/4243", fake_root);
		rmdir(path);
	}
	put_thread(4242, 4244, 300000, 100, 1, 0, 1);
	cr_assert_eq(sensors_read_workload(s, 7, &ws), 0);
	cr_assert_eq(ws.cpu_ns, 600000 + 300000, "an exit takes nothing back; a new thread counts whole");
	cr_assert_eq(ws.wait_count, 7 + 1);

	/* Untagged: its workload keeps what it had. */
	cr_assert_eq(sensors_untag_tgid(s, 4242), 0);
	cr_assert_eq(sensors_untag_tgid(s, 4242), -ENOENT);
	put_thread(4242, 4242, 9500000, 6000, 12, 4, 4);
	cr_assert_eq(sensors_read_workload(s, 7, &ws), 0);
	cr_assert_eq(ws.cpu_ns, 900000);
	cr_assert_eq(sensors_forget_workload(s, 7), 0);
	cr_assert_eq(sensors_read_workload(s, 7, &ws), -ENOENT);
	cr_assert_eq(sensors_forget_workload(s, 7), -ENOENT);
	sensors_close(s);
}

Test(sensors_proc, switches_are_read_at_most_once_a_second)
{
	struct triage_tag tag = { .slot = 0, .wl_id = 3 };
	struct triage_wl_stats ws;
	struct sensors *s;

	put_thread(500, 500, 100, 0, 0, 10, 10);
	s = open_fake();
	cr_assert_eq(sensors_tag_tgid(s, 500, &tag), 0);
	put_thread(500, 500, 200, 0, 0, 15, 12);
	cr_assert_eq(sensors_read_workload(s, 3, &ws), 0);
	cr_assert_eq(ws.cpu_ns, 100, "schedstat every read");
	cr_assert_eq(ws.nr_voluntary, 0, "status not yet");
	sleep(1);
	cr_assert_eq(sensors_read_workload(s, 3, &ws), 0);
	cr_assert_eq(ws.nr_voluntary, 5);
	cr_assert_eq(ws.nr_involuntary, 2);
	sensors_close(s);
}

static bool keep_wl_1(uint32_t wl_id, void *ctx)
{
	(void)ctx;
	return wl_id == 1;
}

Test(sensors_proc, tag_errors_retag_and_prune)
{
	struct triage_tag one = { .slot = 0, .wl_id = 1 }, two = { .slot = 3, .wl_id = 2 };
	struct triage_wl_stats ws;
	struct sensors *s;

	put_thread(600, 600, 100, 0, 0, 0, 0);
	put_thread(601, 601, 100, 0, 0, 0, 0);
	s = open_fake();
	cr_assert_eq(sensors_tag_tgid(s, 99999, &one), -ESRCH, "no such process");
	cr_assert_eq(sensors_tag_tgid(s, 600, &(struct triage_tag){ .slot = 8, .wl_id = 1 }), -EINVAL);
	cr_assert_eq(sensors_tag_tgid(s, 600, &(struct triage_tag){ .slot = 0, .wl_id = 0 }), -EINVAL);
	cr_assert_eq(sensors_tag_tgid(s, 600, &one), 0);
	cr_assert_eq(sensors_tag_tgid(s, 601, &one), 0);
	/* Moved to another workload: counts there from now on. */
	cr_assert_eq(sensors_tag_tgid(s, 601, &two), 0);
	put_thread(601, 601, 400, 0, 0, 0, 0);
	cr_assert_eq(sensors_read_workload(s, 2, &ws), 0);
	cr_assert_eq(ws.cpu_ns, 300);
	cr_assert_eq(ws.slot, 3);
	cr_assert_eq(sensors_read_workload(s, 1, &ws), 0);
	cr_assert_eq(ws.cpu_ns, 0);
	cr_assert_eq(sensors_prune(s, keep_wl_1, NULL), 2, "pid 601's tag and workload 2's counters");
	cr_assert_eq(sensors_untag_tgid(s, 601), -ENOENT);
	cr_assert_eq(sensors_untag_tgid(s, 600), 0);
	sensors_close(s);
}

Test(sensors_proc, refused_without_schedstat)
{
	struct sensors_opts opts = { .nr_levels = 4, .proc_root = fake_root };
	char path[256], err[256];

	put_file("self/schedstat", "0 0 0\n");
	cr_assert_null(sensors_open(SENSORS_PROC, &opts, err, sizeof(err)));
	cr_assert(strstr(err, "reads zero"), "%s", err);
	snprintf(path, sizeof(path), "%s/self/schedstat", fake_root);
	unlink(path);
	cr_assert_null(sensors_open(SENSORS_PROC, &opts, err, sizeof(err)));
	cr_assert(strstr(err, "CONFIG_SCHED_INFO"), "%s", err);
}

/* ---- the real /proc, this process ------------------------------------- */

/* Spins until this process has run ms of CPU time, however loaded the
 * machine is; returns the CPU time it took, as the kernel counts it. */
static uint64_t burn_cpu_ms(int ms)
{
	uint64_t start = cputime_ns();
	volatile unsigned long spin = 0;

	while (cputime_ns() - start < (uint64_t)ms * 1000000)
		for (int i = 0; i < 10000; i++)
			spin++;
	return cputime_ns() - start;
}

Test(sensors_proc_real, counts_this_process)
{
	struct sensors_opts opts = { .nr_levels = 4 };
	struct triage_tag tag = { .slot = 2, .wl_id = 42 };
	struct triage_wl_stats ws;
	uint64_t burnt;
	char err[256];
	struct sensors *s;

	log_threshold = LOG_ERR;
	s = sensors_open(SENSORS_PROC, &opts, err, sizeof(err));
	if (!s)
		cr_skip_test("no proc sensors on this kernel: %s", err);
	cr_assert_eq(sensors_tag_tgid(s, getpid(), &tag), 0);
	burnt = burn_cpu_ms(60);
	cr_assert_eq(sensors_read_workload(s, 42, &ws), 0);
	/* Both are the scheduler's sum_exec_runtime; the slack covers the
	 * tag and the read themselves. */
	cr_assert_geq(ws.cpu_ns, burnt * 9 / 10, "%llu ns burnt, %llu counted",
		      (unsigned long long)burnt, (unsigned long long)ws.cpu_ns);
	cr_assert_leq(ws.cpu_ns, burnt + 20000000, "%llu ns burnt, %llu counted",
		      (unsigned long long)burnt, (unsigned long long)ws.cpu_ns);
	cr_assert_eq(ws.slot, 2);
	sensors_close(s);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Loads the real BPF sensors through agent/sensors/sensors.h and checks their
 * counters against what the kernel itself says: CPU hogs of known levels
 * are pinned to one CPU, and their runtime from /proc/PID/stat must match
 * busy_ns and cpu_ns; sharing the CPU must show up as waits, involuntary
 * switches and, for the higher level, interference. Also: tagging by tgid,
 * counters continuing across a restart on kept pins, stale pins replaced,
 * and gpu_stats, the map the agent alone writes: through the API, through
 * its pin with libbpf and through bpftool, pruned, forgotten, kept across
 * a restart and made when older pins lack it.
 *
 * Needs root and kernel BTF; otherwise prints one skip line and exits 0.
 * Each test uses its own pin directory (/sys/fs/bpf/triage-test-<pid>) and
 * its own cgroups in the unified hierarchy, and removes them, hogs first,
 * in the suite's fini hook even when an assertion fails.
 *
 * Built by the Makefile (`make build/bpf-tests`): it links build/libtriage.a.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, setresuid, CPU_SET; the Makefile defines it too */
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>

#include "sensors/sensors.h"

#define NR_LEVELS 4
#define TOLERANCE 0.20

enum hog_id { HOG_CRITICAL, HOG_BEST_EFFORT, HOG_BY_TGID, NR_HOGS };

/* Each hog's tag; the tgid hog lives in no test cgroup. */
static const struct triage_tag hog_tags[NR_HOGS] = {
	[HOG_CRITICAL] = { .slot = 0, .wl_id = 1 },
	[HOG_BEST_EFFORT] = { .slot = 3, .wl_id = 2 },
	[HOG_BY_TGID] = { .slot = 2, .wl_id = 3 },
};
static const char *const hog_cgroup_names[NR_HOGS] = { "critical-x", "be-y", NULL };

/* Everything one test creates, so teardown can undo whatever got made. */
static struct {
	char pin_dir[PATH_MAX];
	char cg_root[PATH_MAX]; /* <cgroup2 mount>/triage-test-<pid> */
	char cg_dir[NR_HOGS][PATH_MAX + 32];
	pid_t hog[NR_HOGS];
	int hog_go[NR_HOGS]; /* write end of the pipe a hog waits on */
	struct sensors *sensors;
	int shared_cpu; /* where the two cgroup hogs compete */
	int other_cpu;  /* where the tgid hog runs */
} fx;

__attribute__((constructor)) static void skip_without_root_or_btf(void)
{
	const char *reason = NULL;

	if (geteuid() != 0)
		reason = "not root";
	else if (access("/sys/kernel/btf/vmlinux", R_OK))
		reason = "no kernel BTF (/sys/kernel/btf/vmlinux)";
	if (reason) {
		printf("tests/bpf: skipped: %s\n", reason);
		fflush(stdout);
		_exit(0);
	}
	/* Tests pin hogs to CPUs; run them one at a time. */
	setenv("CRITERION_JOBS", "1", 0);
}

/* First cgroup2 mount point from mountinfo ("" if none). */
static void find_cgroup2_mount(char *out, size_t len)
{
	char line[4096], mnt[PATH_MAX], *sep;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		/* id parent major:minor root mount-point ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(out, len, "%s", mnt);
			break;
		}
	}
	fclose(f);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static uint64_t cgroup_id(const char *dir)
{
	struct stat st;

	cr_assert_eq(stat(dir, &st), 0, "stat %s: %s", dir, strerror(errno));
	return st.st_ino;
}

static void setup(void)
{
	char mnt[PATH_MAX];
	long nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&fx, 0, sizeof(fx));
	for (int i = 0; i < NR_HOGS; i++)
		fx.hog_go[i] = -1;
	snprintf(fx.pin_dir, sizeof(fx.pin_dir), "/sys/fs/bpf/triage-test-%d", getpid());
	fx.shared_cpu = nr_cpus > 1 ? (int)nr_cpus - 1 : 0;
	fx.other_cpu = 0;

	find_cgroup2_mount(mnt, sizeof(mnt));
	cr_assert(mnt[0], "no cgroup2 mount in /proc/self/mountinfo");
	snprintf(fx.cg_root, sizeof(fx.cg_root), "%s/triage-test-%d", mnt, getpid());
	cr_assert_eq(mkdir(fx.cg_root, 0755), 0, "mkdir %s: %s", fx.cg_root, strerror(errno));
	for (int i = 0; i < NR_HOGS; i++) {
		if (!hog_cgroup_names[i])
			continue;
		snprintf(fx.cg_dir[i], sizeof(fx.cg_dir[i]), "%s/%s", fx.cg_root,
			 hog_cgroup_names[i]);
		cr_assert_eq(mkdir(fx.cg_dir[i], 0755), 0, "mkdir %s: %s", fx.cg_dir[i],
			     strerror(errno));
	}
}

static void remove_pins(void)
{
	static const char *const names[] = { TRIAGE_MAP_CPU_STATS, TRIAGE_MAP_WL_STATS,
					      TRIAGE_MAP_CG_TAGS, TRIAGE_MAP_TGID_TAGS,
					      TRIAGE_MAP_META, TRIAGE_MAP_GPU_STATS };
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, names[i]);
		unlink(path);
	}
	rmdir(fx.pin_dir);
}

/* Hogs die first (a cgroup with members cannot go), then cgroups, pins. */
static void teardown(void)
{
	for (int i = 0; i < NR_HOGS; i++) {
		if (fx.hog[i] > 0) {
			kill(fx.hog[i], SIGKILL);
			waitpid(fx.hog[i], NULL, 0);
			fx.hog[i] = 0;
		}
		if (fx.hog_go[i] >= 0)
			close(fx.hog_go[i]);
		fx.hog_go[i] = -1;
	}
	for (int i = 0; i < NR_HOGS; i++)
		if (fx.cg_dir[i][0] && rmdir(fx.cg_dir[i]) && errno != ENOENT)
			fprintf(stderr, "tests/bpf: cannot remove %s: %s\n", fx.cg_dir[i],
				strerror(errno));
	if (fx.cg_root[0] && rmdir(fx.cg_root) && errno != ENOENT)
		fprintf(stderr, "tests/bpf: cannot remove %s: %s\n", fx.cg_root, strerror(errno));
	if (fx.sensors) {
		sensors_close(fx.sensors);
		fx.sensors = NULL;
	}
	remove_pins();
}

TestSuite(sensors, .init = setup, .fini = teardown, .timeout = 60);

static struct sensors *open_sensors(bool keep_pins)
{
	struct sensors_opts opts = {
		.pin_dir = fx.pin_dir, .nr_levels = NR_LEVELS, .keep_pins = keep_pins,
	};
	char err[256] = "";
	struct sensors *s = sensors_open_bpf(&opts, err, sizeof(err));

	cr_assert_not_null(s, "sensors_open_bpf: %s", err);
	return s;
}

/*
 * Forks a hog that blocks until told to go, so it can be put into its
 * cgroup and onto its CPU before it burns anything; dies with the test.
 */
static void start_hog(enum hog_id id, int cpu)
{
	int go[2];
	char pid_text[32], procs[PATH_MAX + 16], byte;
	cpu_set_t set;
	pid_t pid;

	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		if (read(go[0], &byte, 1) != 1)
			_exit(1);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	close(go[0]);
	fx.hog[id] = pid;
	fx.hog_go[id] = go[1];

	if (fx.cg_dir[id][0]) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", fx.cg_dir[id]);
		snprintf(pid_text, sizeof(pid_text), "%d\n", pid);
		cr_assert_eq(write_file(procs, pid_text), 0, "cannot move hog into %s", procs);
		cr_assert_eq(sensors_tag_cgroup(fx.sensors, cgroup_id(fx.cg_dir[id]), &hog_tags[id]),
			     0);
	} else {
		cr_assert_eq(sensors_tag_tgid(fx.sensors, pid, &hog_tags[id]), 0);
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(pid, sizeof(set), &set), 0, "sched_setaffinity: %s",
		     strerror(errno));
}

static void release_hog(enum hog_id id)
{
	cr_assert_eq(write(fx.hog_go[id], "g", 1), 1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* voluntary_ctxt_switches of a process, from /proc/PID/status. */
static long voluntary_switches(pid_t pid)
{
	char path[64], line[256];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * Stopping makes the hog switch out, so its last slice is accounted. The
 * parent hears of the stop before the hog has called schedule(), so
 * waitpid() alone may return while the slice is still open: wait for the
 * voluntary switch itself (a spinning hog makes no other).
 */
static void stop_hog(enum hog_id id)
{
	long before = voluntary_switches(fx.hog[id]);
	int status, tries = 0;

	cr_assert_eq(kill(fx.hog[id], SIGSTOP), 0);
	cr_assert_eq(waitpid(fx.hog[id], &status, WUNTRACED), fx.hog[id]);
	cr_assert(WIFSTOPPED(status));
	while (voluntary_switches(fx.hog[id]) <= before) {
		cr_assert_lt(tries++, 1000, "hog %d stopped but never switched out", fx.hog[id]);
		sleep_ms(1);
	}
	/* The count goes up a few instructions before the sched_switch
	 * tracepoint, in the same runqueue-locked section: let it finish. */
	sleep_ms(20);
}

static void resume_hog(enum hog_id id)
{
	cr_assert_eq(kill(fx.hog[id], SIGCONT), 0);
}

/* utime + stime of a process, in ns, from /proc/PID/stat. */
static uint64_t proc_cpu_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	long ticks = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces: fields are counted after its ')'. Field 3 is
	 * the state; utime and stime are fields 14 and 15. */
	p = strrchr(buf, ')');
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			    &stime),
		     2);
	return (utime + stime) * (1000000000ULL / ticks);
}

static void assert_near(uint64_t measured, uint64_t expected, const char *what)
{
	double lo = expected * (1 - TOLERANCE), hi = expected * (1 + TOLERANCE);

	cr_assert(measured >= lo && measured <= hi,
		  "%s: %llu ns, expected %llu ns within %.0f%%", what,
		  (unsigned long long)measured, (unsigned long long)expected, TOLERANCE * 100);
}

static struct triage_wl_stats read_workload(uint32_t wl_id)
{
	struct triage_wl_stats ws;
	int rc = sensors_read_workload(fx.sensors, wl_id, &ws);

	cr_assert_eq(rc, 0, "workload %u has no wl_stats entry: %s", wl_id, strerror(-rc));
	return ws;
}

static struct triage_cpu_stats read_cpu(int cpu)
{
	struct triage_cpu_stats all[TRIAGE_MAX_CPUS];
	int nr_cpus = sensors_nr_cpus(fx.sensors);

	cr_assert(cpu < nr_cpus && nr_cpus <= TRIAGE_MAX_CPUS);
	cr_assert_eq(sensors_read_cpus(fx.sensors, all, nr_cpus), 0);
	return all[cpu];
}

static uint64_t hist_total(const struct triage_wl_stats *ws)
{
	uint64_t sum = 0;

	for (int b = 0; b < TRIAGE_HIST_BUCKETS; b++)
		sum += ws->wait_hist[b];
	return sum;
}

Test(sensors, hogs_sharing_a_cpu_are_counted_by_level)
{
	struct triage_wl_stats crit, be, by_tgid;
	struct triage_cpu_stats shared;
	uint64_t crit_ns, be_ns, tgid_ns;

	fx.sensors = open_sensors(false);
	start_hog(HOG_CRITICAL, fx.shared_cpu);
	start_hog(HOG_BEST_EFFORT, fx.shared_cpu);
	start_hog(HOG_BY_TGID, fx.other_cpu);
	for (int i = 0; i < NR_HOGS; i++)
		release_hog(i);
	sleep_ms(2000);
	for (int i = 0; i < NR_HOGS; i++)
		stop_hog(i);

	crit_ns = proc_cpu_ns(fx.hog[HOG_CRITICAL]);
	be_ns = proc_cpu_ns(fx.hog[HOG_BEST_EFFORT]);
	tgid_ns = proc_cpu_ns(fx.hog[HOG_BY_TGID]);
	crit = read_workload(hog_tags[HOG_CRITICAL].wl_id);
	be = read_workload(hog_tags[HOG_BEST_EFFORT].wl_id);
	by_tgid = read_workload(hog_tags[HOG_BY_TGID].wl_id);
	shared = read_cpu(fx.shared_cpu);

	cr_log_info("cpu %d: critical ran %.3f s (proc %.3f), waited %llu times %.3f s, "
		    "interfered %llu times %.3f s; best-effort ran %.3f s (proc %.3f); "
		    "tgid-tagged ran %.3f s (proc %.3f)",
		    fx.shared_cpu, crit.cpu_ns / 1e9, crit_ns / 1e9,
		    (unsigned long long)crit.wait_count, crit.wait_ns / 1e9,
		    (unsigned long long)crit.intf_count, crit.intf_ns / 1e9, be.cpu_ns / 1e9,
		    be_ns / 1e9, by_tgid.cpu_ns / 1e9, tgid_ns / 1e9);
	cr_assert_gt(crit_ns, 300000000ULL, "the critical hog barely ran: %llu ns",
		     (unsigned long long)crit_ns);
	assert_near(crit.cpu_ns, crit_ns, "wl 1 cpu_ns");
	assert_near(be.cpu_ns, be_ns, "wl 2 cpu_ns");
	assert_near(shared.busy_ns[0], crit_ns, "cpu_stats busy_ns[0]");
	assert_near(shared.busy_ns[3], be_ns, "cpu_stats busy_ns[3]");

	cr_assert_gt(crit.wait_count, 0);
	cr_assert_gt(be.wait_count, 0);
	cr_assert_gt(shared.wait_count[0], 0);
	cr_assert_gt(shared.wait_count[3], 0);
	cr_assert_eq(hist_total(&crit), crit.wait_count, "histogram holds every wait");

	/* The critical hog waited while the best-effort one ran ... */
	cr_assert_gt(shared.intf_count[0], 0);
	cr_assert_gt(shared.intf_ns[0], 0);
	cr_assert_gt(crit.intf_count, 0);
	cr_assert_gt(crit.intf_ns, 0);
	cr_assert_leq(crit.intf_ns, crit.wait_ns, "interference is part of the wait");
	/* ... but nothing configured below slot 3 ran there. */
	cr_assert_eq(be.intf_count, 0);
	cr_assert_eq(shared.intf_count[3], 0);

	cr_assert_gt(crit.nr_involuntary, 0);
	cr_assert_gt(be.nr_involuntary, 0);
	cr_assert_eq(crit.slot, 0);
	cr_assert_eq(be.slot, 3);
	cr_assert_eq(crit.last_cpu, (uint32_t)fx.shared_cpu);

	/* Tagged only by tgid: counted through tgid_tags. */
	assert_near(by_tgid.cpu_ns, tgid_ns, "wl 3 (tagged by tgid) cpu_ns");
	cr_assert_eq(by_tgid.slot, 2);
}

Test(sensors, counters_continue_across_restart_on_kept_pins)
{
	struct triage_wl_stats before, after, later;
	struct triage_cpu_stats cpu_before, cpu_after, cpu_later;
	uint64_t ran;
	struct stat st;

	fx.sensors = open_sensors(true);
	start_hog(HOG_CRITICAL, fx.shared_cpu);
	release_hog(HOG_CRITICAL);
	sleep_ms(300);
	stop_hog(HOG_CRITICAL);
	before = read_workload(hog_tags[HOG_CRITICAL].wl_id);
	cpu_before = read_cpu(fx.shared_cpu);
	cr_assert_gt(before.cpu_ns, 0,
		     "hog ran %llu ns by /proc but wl_stats has cpu_ns 0 (waits %llu, vol %llu, "
		     "invol %llu; CPU %d: busy[0] %llu, untagged %llu, switches %llu)",
		     (unsigned long long)proc_cpu_ns(fx.hog[HOG_CRITICAL]),
		     (unsigned long long)before.wait_count, (unsigned long long)before.nr_voluntary,
		     (unsigned long long)before.nr_involuntary, fx.shared_cpu,
		     (unsigned long long)cpu_before.busy_ns[0],
		     (unsigned long long)cpu_before.busy_ns[TRIAGE_SLOT_UNTAGGED],
		     (unsigned long long)cpu_before.nr_switches);

	sensors_close(fx.sensors);
	fx.sensors = NULL;
	cr_assert_eq(stat(fx.pin_dir, &st), 0, "keep_pins must leave %s", fx.pin_dir);

	fx.sensors = open_sensors(false);
	after = read_workload(hog_tags[HOG_CRITICAL].wl_id);
	cpu_after = read_cpu(fx.shared_cpu);
	cr_assert_geq(after.cpu_ns, before.cpu_ns, "wl_stats restarted from zero");
	cr_assert_geq(cpu_after.busy_ns[0], cpu_before.busy_ns[0], "cpu_stats restarted");
	cr_assert_geq(cpu_after.nr_switches, cpu_before.nr_switches);

	/* The tag was pinned too: the hog keeps being counted. */
	ran = proc_cpu_ns(fx.hog[HOG_CRITICAL]);
	resume_hog(HOG_CRITICAL);
	sleep_ms(300);
	stop_hog(HOG_CRITICAL);
	ran = proc_cpu_ns(fx.hog[HOG_CRITICAL]) - ran;
	later = read_workload(hog_tags[HOG_CRITICAL].wl_id);
	cpu_later = read_cpu(fx.shared_cpu);
	cr_assert_gt(later.cpu_ns, after.cpu_ns + 100000000ULL,
		     "tag lost across restart: the hog ran %llu ns more by /proc, cpu_ns grew %llu "
		     "ns; CPU %d: busy[0] grew %llu ns, untagged %llu ns, %llu switches",
		     (unsigned long long)ran, (unsigned long long)(later.cpu_ns - after.cpu_ns),
		     fx.shared_cpu,
		     (unsigned long long)(cpu_later.busy_ns[0] - cpu_after.busy_ns[0]),
		     (unsigned long long)(cpu_later.busy_ns[TRIAGE_SLOT_UNTAGGED] -
					  cpu_after.busy_ns[TRIAGE_SLOT_UNTAGGED]),
		     (unsigned long long)(cpu_later.nr_switches - cpu_after.nr_switches));

	sensors_close(fx.sensors);
	fx.sensors = NULL;
	cr_assert_eq(stat(fx.pin_dir, &st), -1, "close without keep_pins leaves %s", fx.pin_dir);
	cr_assert_eq(errno, ENOENT);
}

Test(sensors, pins_of_another_abi_are_replaced)
{
	const struct triage_tag tag = { .slot = 1, .wl_id = 7 };
	char path[PATH_MAX + 32];
	struct triage_meta meta;
	struct triage_tag found;
	uint64_t fake_cgid = 424242;
	__u32 zero = 0;
	int fd;

	fx.sensors = open_sensors(true);
	cr_assert_eq(sensors_tag_cgroup(fx.sensors, fake_cgid, &tag), 0);
	sensors_close(fx.sensors);
	fx.sensors = NULL;

	/* Pretend an older triage left these pins. */
	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, TRIAGE_MAP_META);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "pinned meta: %s", strerror(errno));
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &meta), 0);
	cr_assert_eq(meta.abi_version, TRIAGE_ABI_VERSION);
	cr_assert_eq(meta.nr_levels, NR_LEVELS);
	meta.abi_version = TRIAGE_ABI_VERSION + 100;
	cr_assert_eq(bpf_map_update_elem(fd, &zero, &meta, BPF_ANY), 0);
	close(fd);

	fx.sensors = open_sensors(false);
	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, TRIAGE_MAP_CG_TAGS);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0);
	cr_assert_neq(bpf_map_lookup_elem(fd, &fake_cgid, &found), 0,
		      "a stale cg_tags pin was reused");
	close(fd);
	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, TRIAGE_MAP_META);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &meta), 0);
	cr_assert_eq(meta.abi_version, TRIAGE_ABI_VERSION);
	close(fd);
}

/* Run as nobody: the error must say what is missing, not just "EPERM". */
Test(sensors, unprivileged_open_names_the_reason)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sensors_opts opts = { .pin_dir = fx.pin_dir, .nr_levels = NR_LEVELS };
		char err[256] = "";
		struct sensors *s;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		s = sensors_open_bpf(&opts, err, sizeof(err));
		if (s)
			_exit(3);
		printf("unprivileged: %s\n", err);
		fflush(stdout);
		_exit(strstr(err, "root") ? 0 : 4);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "child status %d (3: opened, 4: unclear error)",
		     WEXITSTATUS(status));
}

static bool keep_only_critical(uint32_t wl_id, void *ctx)
{
	(void)ctx;
	return wl_id == hog_tags[HOG_CRITICAL].wl_id;
}

Test(sensors, prune_drops_tags_and_counters_of_gone_workloads)
{
	const struct triage_tag gone = { .slot = 2, .wl_id = 4242 };
	struct triage_wl_stats ws;

	fx.sensors = open_sensors(false);
	start_hog(HOG_CRITICAL, fx.shared_cpu);
	release_hog(HOG_CRITICAL);
	sleep_ms(200);
	stop_hog(HOG_CRITICAL);
	cr_assert_eq(sensors_tag_cgroup(fx.sensors, 0xfeedULL, &gone), 0);
	cr_assert_eq(sensors_tag_tgid(fx.sensors, 1, &gone), 0);

	cr_assert_eq(sensors_prune(fx.sensors, keep_only_critical, NULL), 2,
		     "the two tags of the gone workload, and nothing else");
	cr_assert_eq(sensors_untag_cgroup(fx.sensors, 0xfeedULL), -ENOENT, "cgroup tag left");
	cr_assert_eq(sensors_untag_tgid(fx.sensors, 1), -ENOENT, "tgid tag left");
	cr_assert_eq(sensors_read_workload(fx.sensors, hog_tags[HOG_CRITICAL].wl_id, &ws), 0,
		     "a kept workload's counters must stay");
	cr_assert_gt(ws.cpu_ns, 0);
}

/* ---- gpu_stats: written by the agent, read by anyone with bpftool ---- */

/* Distinct values per field and per workload, so a field read from the
 * wrong place shows. */
static struct triage_gpu_stats gpu_sample(uint32_t wl_id)
{
	uint64_t base = (uint64_t)wl_id * 1000000;

	return (struct triage_gpu_stats){
		.busy_ns = base + 123456789, .queued_ns = base + 2345678, .requests = base + 345,
		.launches = base + 4567, .slices = base + 890, .bytes_in = base + 5678901,
		.bytes_out = base + 678901, .stages = 2, .share_permille = 750, .level = 1,
		.slot = 3,
	};
}

static void gpu_pin_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", fx.pin_dir, TRIAGE_MAP_GPU_STATS);
}

/* The entry of wl_id as the pin itself holds it: 0, or -errno. */
static int gpu_pin_lookup(uint32_t wl_id, struct triage_gpu_stats *out)
{
	char path[PATH_MAX + 32];
	__u32 key = wl_id;
	int fd, rc;

	gpu_pin_path(path, sizeof(path));
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "no pinned %s: %s", path, strerror(errno));
	rc = bpf_map_lookup_elem(fd, &key, out) ? -errno : 0;
	close(fd);
	return rc;
}

static void assert_gpu_eq(const struct triage_gpu_stats *got, const struct triage_gpu_stats *want,
			  const char *where)
{
	cr_assert_eq(memcmp(got, want, sizeof(*got)), 0,
		     "%s: busy_ns %llu requests %llu share_permille %u slot %u, expected %llu %llu "
		     "%u %u",
		     where, (unsigned long long)got->busy_ns, (unsigned long long)got->requests,
		     got->share_permille, got->slot, (unsigned long long)want->busy_ns,
		     (unsigned long long)want->requests, want->share_permille, want->slot);
}

/* $BPFTOOL, else bpftool in PATH or in the sbin folders root's PATH may
 * lack; false when there is none. */
static bool find_bpftool(char *out, size_t len)
{
	const char *env = getenv("BPFTOOL"), *path = getenv("PATH");
	char dirs[4096];

	if (env && env[0]) {
		snprintf(out, len, "%s", env);
		return access(out, X_OK) == 0;
	}
	snprintf(dirs, sizeof(dirs), "%s:/usr/local/sbin:/usr/sbin:/sbin", path ? path : "");
	for (char *save, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/bpftool", dir);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* Runs bpftool on the gpu_stats pin; its whole stdout, to free(). */
static char *bpftool_dump_gpu_stats(const char *bpftool)
{
	char cmd[2 * PATH_MAX + 64], path[PATH_MAX + 32];
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	FILE *p;
	size_t n;

	cr_assert_not_null(out);
	gpu_pin_path(path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "'%s' map dump pinned '%s' -j", bpftool, path);
	p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s: %s", cmd, strerror(errno));
	while ((n = fread(out + len, 1, cap - 1 - len, p)) > 0) {
		len += n;
		if (len == cap - 1) {
			cap *= 2;
			out = realloc(out, cap);
			cr_assert_not_null(out);
		}
	}
	out[len] = '\0';
	cr_assert_eq(pclose(p), 0, "%s failed; it printed: %.500s", cmd, out);
	return out;
}

static uint64_t json_field_u64(struct json_object *value, const char *name, const char *dump)
{
	struct json_object *f;

	cr_assert(json_object_object_get_ex(value, name, &f),
		  "bpftool printed no field \"%s\" in: %.1000s", name, dump);
	cr_assert(json_object_is_type(f, json_type_int), "bpftool's \"%s\" is no number in: %.1000s",
		  name, dump);
	return json_object_get_uint64(f);
}

/* bpftool -j prints, per entry, the raw bytes and, thanks to the map's BTF,
 * a "formatted" object with the key and the named value fields. */
static void assert_bpftool_shows(const char *bpftool, uint32_t wl_id,
				 const struct triage_gpu_stats *want)
{
	char *dump = bpftool_dump_gpu_stats(bpftool);
	struct json_object *root = json_tokener_parse(dump), *fmt, *key, *value = NULL;
	size_t n;

	cr_assert_not_null(root, "bpftool printed no JSON: %.1000s", dump);
	cr_assert(json_object_is_type(root, json_type_array), "not a JSON array: %.1000s", dump);
	n = json_object_array_length(root);
	for (size_t i = 0; i < n && !value; i++) {
		struct json_object *entry = json_object_array_get_idx(root, i);

		cr_assert(json_object_object_get_ex(entry, "formatted", &fmt),
			  "no \"formatted\" object (is the map's BTF missing?): %.1000s", dump);
		cr_assert(json_object_object_get_ex(fmt, "key", &key));
		if (json_object_get_uint64(key) == wl_id)
			cr_assert(json_object_object_get_ex(fmt, "value", &value));
	}
	cr_assert_not_null(value, "no entry with key %u in: %.1000s", wl_id, dump);
	cr_assert_eq(json_field_u64(value, "busy_ns", dump), want->busy_ns);
	cr_assert_eq(json_field_u64(value, "queued_ns", dump), want->queued_ns);
	cr_assert_eq(json_field_u64(value, "requests", dump), want->requests);
	cr_assert_eq(json_field_u64(value, "launches", dump), want->launches);
	cr_assert_eq(json_field_u64(value, "slices", dump), want->slices);
	cr_assert_eq(json_field_u64(value, "bytes_in", dump), want->bytes_in);
	cr_assert_eq(json_field_u64(value, "bytes_out", dump), want->bytes_out);
	cr_assert_eq(json_field_u64(value, "stages", dump), want->stages);
	cr_assert_eq(json_field_u64(value, "share_permille", dump), want->share_permille);
	cr_assert_eq(json_field_u64(value, "level", dump), want->level);
	cr_assert_eq(json_field_u64(value, "slot", dump), want->slot);
	json_object_put(root);
	free(dump);
}

Test(sensors, gpu_stats_put_read_through_the_api_the_pin_and_bpftool)
{
	struct triage_gpu_stats st = gpu_sample(5), got;
	char path[PATH_MAX + 32], bpftool[PATH_MAX];
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	int fd;

	fx.sensors = open_sensors(false);
	cr_assert(sensors_features(fx.sensors) & SENSORS_HAS_GPU_STATS);
	cr_assert_eq(sensors_read_gpu_stats(fx.sensors, 5, &got), -ENOENT, "nothing put yet");
	cr_assert_eq(sensors_put_gpu_stats(fx.sensors, 0, &st), -EINVAL, "workload id 0");

	cr_assert_eq(sensors_put_gpu_stats(fx.sensors, 5, &st), 0);
	memset(&got, 0, sizeof(got));
	cr_assert_eq(sensors_read_gpu_stats(fx.sensors, 5, &got), 0);
	assert_gpu_eq(&got, &st, "sensors_read_gpu_stats");
	memset(&got, 0, sizeof(got));
	cr_assert_eq(gpu_pin_lookup(5, &got), 0);
	assert_gpu_eq(&got, &st, "the pinned map");

	/* The shape readers rely on, and BTF for named fields. */
	gpu_pin_path(path, sizeof(path));
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0);
	memset(&info, 0, sizeof(info));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &info_len), 0);
	close(fd);
	cr_assert_eq(info.type, BPF_MAP_TYPE_HASH);
	cr_assert_eq(info.key_size, sizeof(__u32));
	cr_assert_eq(info.value_size, sizeof(struct triage_gpu_stats));
	cr_assert_eq(info.max_entries, TRIAGE_MAX_WORKLOADS);
	cr_assert_str_eq(info.name, TRIAGE_MAP_GPU_STATS);
	cr_assert_neq(info.btf_value_type_id, 0, "gpu_stats has no BTF for its value");

	/* scripts/install-deps installs bpftool (the skeleton needs it too). */
	if (find_bpftool(bpftool, sizeof(bpftool)))
		assert_bpftool_shows(bpftool, 5, &st);
	else
		cr_log_warn("tests/bpf: bpftool not found ($BPFTOOL, PATH, /usr/sbin): its dump "
			    "of gpu_stats is not checked");

	/* The agent puts the whole value each tick: it replaces. */
	st.requests += 10;
	st.busy_ns += 5000000;
	st.share_permille = 1000;
	cr_assert_eq(sensors_put_gpu_stats(fx.sensors, 5, &st), 0);
	cr_assert_eq(sensors_read_gpu_stats(fx.sensors, 5, &got), 0);
	assert_gpu_eq(&got, &st, "after a second put");

	/* Never ran on a CPU: forgetting drops the GPU entry alone. */
	cr_assert_eq(sensors_read_workload(fx.sensors, 5, &(struct triage_wl_stats){ 0 }), -ENOENT);
	cr_assert_eq(sensors_forget_workload(fx.sensors, 5), 0);
	cr_assert_eq(sensors_read_gpu_stats(fx.sensors, 5, &got), -ENOENT, "forgotten");
	cr_assert_eq(gpu_pin_lookup(5, &got), -ENOENT, "forgotten, yet in the pin");
	cr_assert_eq(sensors_forget_workload(fx.sensors, 5), -ENOENT, "forgotten twice");
}

Test(sensors, prune_drops_gpu_stats_of_gone_workloads)
{
	const uint32_t kept = hog_tags[HOG_CRITICAL].wl_id, gone = 4242;
	struct triage_gpu_stats st_kept = gpu_sample(kept), st_gone = gpu_sample(gone), got;

	fx.sensors = open_sensors(false);
	cr_assert_eq(sensors_put_gpu_stats(fx.sensors, kept, &st_kept), 0);
	cr_assert_eq(sensors_put_gpu_stats(fx.sensors, gone, &st_gone), 0);
	cr_assert_eq(sensors_prune(fx.sensors, keep_only_critical, NULL), 1,
		     "the gone workload's gpu_stats entry, and nothing else");
	cr_assert_eq(sensors_read_gpu_stats(fx.sensors, gone, &got), -ENOENT);
	cr_assert_eq(gpu_pin_lookup(gone, &got), -ENOENT);
	cr_assert_eq(sensors_read_gpu_stats(fx.sensors, kept, &got), 0);
	assert_gpu_eq(&got, &st_kept, "a kept workload's GPU counters");
}

Test(sensors, gpu_stats_kept_across_restart_on_kept_pins)
{
	struct triage_gpu_stats st = gpu_sample(6), got;
	char path[PATH_MAX + 32];
	struct stat sb;

	fx.sensors = open_sensors(true);
	cr_assert_eq(sensors_put_gpu_stats(fx.sensors, 6, &st), 0);
	sensors_close(fx.sensors);
	fx.sensors = NULL;
	gpu_pin_path(path, sizeof(path));
	cr_assert_eq(stat(path, &sb), 0, "keep_pins must leave %s", path);
	cr_assert_eq(gpu_pin_lookup(6, &got), 0, "no agent: the pin still holds it");
	assert_gpu_eq(&got, &st, "the pin between two agents");

	fx.sensors = open_sensors(false);
	cr_assert_eq(sensors_read_gpu_stats(fx.sensors, 6, &got), 0, "lost across the restart");
	assert_gpu_eq(&got, &st, "after the restart");
	sensors_close(fx.sensors);
	fx.sensors = NULL;
	cr_assert_eq(stat(path, &sb), -1, "close without keep_pins leaves %s", path);
	cr_assert_eq(errno, ENOENT);
}

/* An agent from before gpu_stats left its pins: they are reused, and the
 * missing one is made and pinned. */
Test(sensors, gpu_stats_pinned_when_older_pins_lack_it)
{
	const struct triage_tag tag = { .slot = 1, .wl_id = 8 };
	struct triage_gpu_stats st = gpu_sample(8), got;
	char path[PATH_MAX + 32];
	uint64_t fake_cgid = 434343;
	struct triage_tag found;
	int fd;

	fx.sensors = open_sensors(true);
	cr_assert_eq(sensors_tag_cgroup(fx.sensors, fake_cgid, &tag), 0);
	cr_assert_eq(sensors_put_gpu_stats(fx.sensors, 8, &st), 0);
	sensors_close(fx.sensors);
	fx.sensors = NULL;
	gpu_pin_path(path, sizeof(path));
	cr_assert_eq(unlink(path), 0, "unlink %s: %s", path, strerror(errno));

	fx.sensors = open_sensors(false);
	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, TRIAGE_MAP_CG_TAGS);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bpf_map_lookup_elem(fd, &fake_cgid, &found), 0,
		     "the older cg_tags pin was not reused");
	close(fd);
	cr_assert_eq(found.wl_id, tag.wl_id);
	cr_assert_eq(sensors_read_gpu_stats(fx.sensors, 8, &got), -ENOENT, "a fresh gpu_stats");
	cr_assert_eq(gpu_pin_lookup(8, &got), -ENOENT, "the new pin holds an old entry");
	cr_assert_eq(sensors_put_gpu_stats(fx.sensors, 8, &st), 0);
	cr_assert_eq(gpu_pin_lookup(8, &got), 0, "the new pin is not the new map");
	assert_gpu_eq(&got, &st, "the new pin");
}

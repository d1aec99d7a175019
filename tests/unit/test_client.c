/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The client library (dnn/client.c) and its file's protocol
 * (dnn/client_shm.c), both sides in one process, no root: the run
 * directory is a fresh one under /tmp. What is pinned here is what the
 * agent relies on (the file appears whole, the registration is checked, a
 * killed writer is told apart from a slow one, a copy is never torn) and
 * what a user sees (one stderr line per reason to run unmanaged).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dnn/client_shm.h"
#include "triage/client.h"

static char run_dir[64];
static char clients_dir[96];

static void remove_tree(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path))
			remove_tree(path); /* a directory */
	}
	closedir(d);
	rmdir(dir);
}

static void make_run_dir(void)
{
	snprintf(run_dir, sizeof(run_dir), "/tmp/triage-client-XXXXXX");
	cr_assert_not_null(mkdtemp(run_dir));
	snprintf(clients_dir, sizeof(clients_dir), "%s/clients", run_dir);
}

static void remove_run_dir(void)
{
	remove_tree(run_dir);
}

TestSuite(client, .init = make_run_dir, .fini = remove_run_dir);
TestSuite(client_shm, .init = make_run_dir, .fini = remove_run_dir);

static const struct triage_client_info resnet = {
	.name = "resnet-a",
	.model = "resnet50",
	.level = "critical",
	.latency_ms = 20,
	.rate_hz = 30,
	.nr_layers = 68,
};

static void file_of(pid_t pid, char *path, size_t len)
{
	snprintf(path, len, "%s/%d", clients_dir, (int)pid);
}

static struct triage_client *open_client(const struct triage_client_info *info)
{
	char err[256] = "";
	struct triage_client *c = triage_client_open(info, run_dir, err, sizeof(err));

	cr_assert_not_null(c, "open: %s", err);
	return c;
}

static struct triage_client_shm *agent_map(pid_t pid)
{
	struct triage_client_shm *s;
	char path[128], err[256] = "";

	file_of(pid, path, sizeof(path));
	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), 0, "map: %s", err);
	return s;
}

/* ---- stderr capture ---- */

static int saved_stderr = -1;
static char capture_path[64];

static void capture_begin(void)
{
	int fd;

	snprintf(capture_path, sizeof(capture_path), "/tmp/triage-client-err-XXXXXX");
	fd = mkstemp(capture_path);
	cr_assert_geq(fd, 0);
	fflush(stderr);
	saved_stderr = dup(2);
	cr_assert_geq(saved_stderr, 0);
	cr_assert_eq(dup2(fd, 2), 2);
	close(fd);
}

/* The captured text in buf; returns its number of lines. */
static int capture_end(char *buf, size_t len)
{
	int fd, lines = 0;
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	fd = open(capture_path, O_RDONLY);
	cr_assert_geq(fd, 0);
	n = read(fd, buf, len - 1);
	close(fd);
	unlink(capture_path);
	buf[n > 0 ? n : 0] = '\0';
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	return lines;
}

/* ---- registration ---- */

Test(client, open_registers_and_close_removes)
{
	struct triage_client_shm *s, copy;
	char path[128], err[256] = "";
	struct triage_client *c = open_client(&resnet);
	struct stat st;

	file_of(getpid(), path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(st.st_mode & 0777, 0644);
	cr_assert_eq(st.st_size, (off_t)sizeof(struct triage_client_shm));

	s = agent_map(getpid());
	cr_assert_eq(client_shm_read_client(s, &copy), 0);
	cr_assert_eq(client_shm_check(&copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(copy.magic, TRIAGE_CLIENT_MAGIC);
	cr_assert_eq(copy.abi_version, TRIAGE_CLIENT_ABI);
	cr_assert_eq(copy.pid, getpid());
	cr_assert_eq(copy.agent_status, TRIAGE_CLIENT_UNSEEN);
	cr_assert_str_eq(copy.name, "resnet-a");
	cr_assert_str_eq(copy.model, "resnet50");
	cr_assert_str_eq(copy.level, "critical");
	cr_assert_eq(copy.latency_ms, 20);
	cr_assert_eq(copy.rate_hz, 30);
	cr_assert_eq(copy.nr_layers, 68);
	cr_assert_gt(copy.start_ns, 0);
	cr_assert_eq(copy.inferences, 0);
	cr_assert_eq(copy.client_seq % 2, 0);
	cr_assert_not(client_shm_writer_gone(s), "we are alive");
	cr_assert_not(triage_client_managed(c));

	triage_client_close(c);
	cr_assert_eq(stat(path, &st), -1);
	cr_assert_eq(errno, ENOENT);
	client_shm_unmap(s);
	/* No temporary file left behind either. */
	rmdir(clients_dir);
	cr_assert_eq(stat(clients_dir, &st), -1, "clients/ should be empty");
}

Test(client, stale_file_of_our_pid_is_replaced)
{
	char path[128], tmp[128];
	struct triage_client_shm *s, copy;
	struct triage_client *c;
	int fd;

	cr_assert_eq(mkdir(clients_dir, 0755), 0);
	file_of(getpid(), path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/.%d.tmp", clients_dir, (int)getpid());
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	cr_assert_eq(write(fd, "stale", 5), 5);
	close(fd);
	close(open(tmp, O_CREAT | O_WRONLY, 0644));

	c = open_client(&resnet);
	s = agent_map(getpid());
	cr_assert_eq(client_shm_read_client(s, &copy), 0);
	cr_assert_str_eq(copy.name, "resnet-a");
	cr_assert_eq(access(tmp, F_OK), -1);
	client_shm_unmap(s);
	triage_client_close(c);
}

Test(client, bad_info_is_refused_naming_the_field)
{
	static const struct {
		const char *field;
		struct triage_client_info info;
	} cases[] = {
		{ "name", { "", "resnet50", "critical", 0, 0, 10 } },
		{ "name", { NULL, "resnet50", "critical", 0, 0, 10 } },
		{ "name", { "two words", "resnet50", "critical", 0, 0, 10 } },
		{ "name", { "a/b", "resnet50", "critical", 0, 0, 10 } },
		{ "name", { "abcdefghijklmnopqrstuvwxyz012345", "resnet50", "critical", 0, 0, 10 } },
		{ "model", { "a", NULL, "critical", 0, 0, 10 } },
		{ "model", { "a", "res\nnet", "critical", 0, 0, 10 } },
		{ "level", { "a", "resnet50", "", 0, 0, 10 } },
		{ "level", { "a", "resnet50", "abcdefghijklmnopqrstuvwxyz0123456", 0, 0, 10 } },
		{ "latency_ms", { "a", "resnet50", "critical", NAN, 0, 10 } },
		{ "latency_ms", { "a", "resnet50", "critical", -1, 0, 10 } },
		{ "rate_hz", { "a", "resnet50", "critical", 0, INFINITY, 10 } },
		{ "nr_layers", { "a", "resnet50", "critical", 0, 0, 0 } },
		{ "nr_layers", { "a", "resnet50", "critical", 0, 0, TRIAGE_CLIENT_MAX_LAYERS + 1 } },
	};
	char err[256], prefix[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		cr_assert_null(triage_client_open(&cases[i].info, run_dir, err, sizeof(err)),
			       "case %zu accepted", i);
		snprintf(prefix, sizeof(prefix), "%s: ", cases[i].field);
		cr_assert(!strncmp(err, prefix, strlen(prefix)), "case %zu: \"%s\" should name %s",
			  i, err, cases[i].field);
		cr_assert_null(strchr(err, '\n'), "case %zu: one line", i);
	}
	cr_assert_null(triage_client_open(NULL, run_dir, err, sizeof(err)));
	cr_assert_eq(access(clients_dir, F_OK), -1, "nothing created for bad info");
}

/* ---- unmanaged ---- */

Test(client, no_run_dir_runs_unmanaged_with_one_line)
{
	char missing[128], out[1024];
	struct triage_client_assignment a;
	struct triage_client *c;

	snprintf(missing, sizeof(missing), "%s/missing", run_dir);
	capture_begin();
	c = triage_client_open(&resnet, missing, NULL, 0);
	for (int i = 0; i < 100; i++) {
		triage_client_inference(c, 1000, 2000);
		triage_client_assignment(c, &a);
		cr_assert_not(a.managed);
	}
	triage_client_applied(c, 1);
	cr_assert_not(triage_client_managed(c));
	triage_client_close(c);
	cr_assert_eq(capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "triage: no agent (no "), "%s", out);
	cr_assert_not_null(strstr(out, missing), "%s", out);
	cr_assert_not_null(strstr(out, "running unmanaged"), "%s", out);
	cr_assert_eq(access(missing, F_OK), -1, "the run directory is the agent's to make");
}

Test(client, no_answer_within_grace_says_so_once, .timeout = 10)
{
	struct triage_client_assignment a;
	struct triage_client *c;
	char out[1024];

	capture_begin();
	c = open_client(&resnet);
	triage_client_assignment(c, &a);
	cr_assert_not(a.managed);
	cr_assert_eq(capture_end(out, sizeof(out)), 0, "silent within the grace: %s", out);

	usleep(CLIENT_SHM_AGENT_GRACE_NS / 1000 + 100000);
	capture_begin();
	for (int i = 0; i < 10; i++) {
		triage_client_assignment(c, &a);
		cr_assert_not(a.managed);
	}
	cr_assert_eq(capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "no agent answered"), "%s", out);
	triage_client_close(c);
}

Test(client, second_client_of_a_process_runs_unmanaged)
{
	struct triage_client *first, *second;
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	char out[1024];

	first = open_client(&resnet);
	capture_begin();
	second = open_client(&resnet);
	triage_client_assignment(second, &a);
	cr_assert_eq(capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "already has a client"), "%s", out);
	cr_assert_not(a.managed);
	triage_client_close(second);
	/* The first one's file is untouched. */
	s = agent_map(getpid());
	client_shm_unmap(s);
	triage_client_close(first);
}

/* ---- the assignment ---- */

static void assign_two_stages(struct triage_client_assign_stage st[2])
{
	memset(st, 0, 2 * sizeof(*st));
	st[0] = (struct triage_client_assign_stage){ .first = 0, .last = 30, .threads = 2 };
	st[0].cpus[0] = 0x3;
	st[1] = (struct triage_client_assign_stage){ .first = 31, .last = 67, .threads = 1 };
	st[1].cpus[0] = 0x4;
	st[1].cpus[3] = 1ull << 63; /* CPU 255 */
}

Test(client, agent_assignment_reaches_the_client)
{
	struct triage_client_assign_stage st[2];
	struct triage_client_assignment a;
	struct triage_client_shm *s, copy;
	struct triage_client *c;
	char out[1024];

	capture_begin();
	c = open_client(&resnet);
	s = agent_map(getpid());
	triage_client_assignment(c, &a);
	cr_assert_not(a.managed, "no assignment yet");

	assign_two_stages(st);
	client_shm_write_assignment(s, st, 2, 400, 4242);
	cr_assert(triage_client_managed(c));
	triage_client_assignment(c, &a);
	cr_assert(a.managed);
	cr_assert_eq(a.generation, 1);
	cr_assert_eq(a.nr_stages, 2);
	cr_assert_eq(a.gpu_permille, 400);
	cr_assert_arr_eq(a.stages, st, sizeof(st));

	triage_client_applied(c, a.generation);
	cr_assert_eq(client_shm_read_client(s, &copy), 0);
	cr_assert_eq(copy.applied_generation, 1);
	cr_assert_eq(copy.agent_status, TRIAGE_CLIENT_MANAGED);

	/* The cached answer follows a new write. */
	triage_client_assignment(c, &a);
	cr_assert_eq(a.generation, 1);
	client_shm_write_assignment(s, st, 1, 1000, 4242);
	triage_client_assignment(c, &a);
	cr_assert_eq(a.generation, 2);
	cr_assert_eq(a.nr_stages, 1);
	cr_assert_eq(a.gpu_permille, 1000);
	cr_assert_eq(client_shm_generation(s), 2);
	cr_assert_eq(s->agent_pid, 4242);
	cr_assert_eq(capture_end(out, sizeof(out)), 0, "managed: silent, got %s", out);

	client_shm_unmap(s);
	triage_client_close(c);
}

Test(client, bad_assignment_is_not_applied)
{
	struct triage_client_assign_stage st[2];
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	struct triage_client *c;
	char out[1024];

	c = open_client(&resnet);
	s = agent_map(getpid());
	assign_two_stages(st);
	st[1].last = 68; /* past the model's 68 layers */
	capture_begin();
	client_shm_write_assignment(s, st, 2, 400, 1);
	triage_client_assignment(c, &a);
	triage_client_assignment(c, &a);
	cr_assert_not(a.managed);
	cr_assert_eq(capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "assigned[1]"), "%s", out);
	client_shm_unmap(s);
	triage_client_close(c);
}

Test(client, published_stages_and_profile_reach_the_agent)
{
	struct triage_client_stage_tids stages[2] = {
		{ .first = 0, .last = 40, .threads = 2, .nr_tids = 3, .tids = { 11, 12, 13 } },
		{ .first = 41, .last = 67, .threads = 1, .nr_tids = 2, .tids = { 14, 15 } },
	};
	struct triage_client_shm *s, copy;
	float profile[68];
	char err[256] = "";
	struct triage_client *c;

	for (int i = 0; i < 68; i++)
		profile[i] = 0.25f * (float)i;
	profile[5] = NAN; /* not measured: published as 0 */
	c = open_client(&resnet);
	s = agent_map(getpid());
	triage_client_publish_stages(c, 2, stages);
	triage_client_publish_profile(c, profile, 100); /* cut to nr_layers */
	cr_assert_eq(client_shm_read_client(s, &copy), 0);
	cr_assert_eq(client_shm_check(&copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(copy.nr_stages, 2);
	cr_assert_arr_eq(copy.stages, stages, sizeof(stages));
	cr_assert_eq(copy.profile_layers, 68);
	cr_assert_eq(copy.layer_ms[5], 0);
	cr_assert_eq(copy.layer_ms[67], 0.25f * 67);
	client_shm_unmap(s);
	triage_client_close(c);
}

/* ---- ABI mismatch ---- */

Test(client, other_abi_file_is_refused_by_the_agent)
{
	struct triage_client_shm head, *s = NULL;
	char path[128], err[256] = "";
	int fd;

	cr_assert_eq(mkdir(clients_dir, 0755), 0);
	file_of(12345, path, sizeof(path));
	memset(&head, 0, sizeof(head));
	head.magic = TRIAGE_CLIENT_MAGIC;
	head.abi_version = 2;
	head.size = 9000;
	head.pid = 12345;
	fd = open(path, O_CREAT | O_RDWR, 0644);
	cr_assert_eq(write(fd, &head, CLIENT_SHM_HEADER_SIZE), (ssize_t)CLIENT_SHM_HEADER_SIZE);
	cr_assert_eq(ftruncate(fd, 9000), 0);

	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), -EPROTO);
	cr_assert_null(s);
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_not_null(strstr(err, "client ABI 2, agent ABI 1"), "%s", err);
	cr_assert_eq(pread(fd, &head, CLIENT_SHM_HEADER_SIZE, 0), (ssize_t)CLIENT_SHM_HEADER_SIZE);
	cr_assert_eq(head.agent_status, TRIAGE_CLIENT_REFUSED);
	cr_assert_eq(head.agent_abi, TRIAGE_CLIENT_ABI);
	cr_assert_eq(head.abi_version, 2, "the client's words are left alone");
	close(fd);
}

Test(client, refused_by_another_abi_says_both_versions_once)
{
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	struct triage_client *c;
	char out[1024];

	c = open_client(&resnet);
	s = agent_map(getpid());
	/* An agent of ABI 2 refusing us, as its client_shm_map would. */
	__atomic_store_n(&s->agent_abi, 2, __ATOMIC_RELAXED);
	__atomic_store_n(&s->agent_status, TRIAGE_CLIENT_REFUSED, __ATOMIC_RELEASE);
	capture_begin();
	for (int i = 0; i < 10; i++) {
		triage_client_assignment(c, &a);
		cr_assert_not(a.managed);
	}
	cr_assert_eq(capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "agent speaks client ABI 2, this client 1"), "%s", out);
	cr_assert_not(triage_client_managed(c));

	/* Refused by an agent of our ABI: another reason, one more line. */
	client_shm_set_status(s, TRIAGE_CLIENT_REFUSED);
	capture_begin();
	for (int i = 0; i < 10; i++)
		triage_client_assignment(c, &a);
	cr_assert_eq(capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "refused"), "%s", out);
	client_shm_unmap(s);
	triage_client_close(c);
}

/* ---- killed writers ---- */

Test(client, killed_mid_write_is_told_from_a_slow_writer)
{
	struct triage_client_shm *s, copy;
	siginfo_t si;
	pid_t child;
	int status;

	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct triage_client *c = triage_client_open(&resnet, run_dir, NULL, 0);
		struct triage_client_shm *mine;
		char path[128];

		file_of(getpid(), path, sizeof(path));
		if (!c || client_shm_map(path, &mine, NULL, 0))
			_exit(1);
		client_shm_client_begin(mine);
		client_shm_set(mine->inferences, 7);
		raise(SIGKILL);
		_exit(2);
	}
	/* Dead but not reaped: a zombie, still a pid kill() finds. */
	memset(&si, 0, sizeof(si));
	cr_assert_eq(waitid(P_PID, child, &si, WEXITED | WNOWAIT), 0);
	cr_assert_eq(si.si_code, CLD_KILLED, "child exited %d", si.si_status);
	s = agent_map(child);
	cr_assert_eq(s->client_seq % 2, 1, "left mid-write");
	cr_assert_eq(client_shm_read_client(s, &copy), -EAGAIN);
	cr_assert_eq(kill(child, 0), 0, "a zombie");
	cr_assert(client_shm_writer_gone(s), "a zombie counts as gone");
	/* The agent's section is not held up by the client's. */
	cr_assert_eq(client_shm_read_agent(s, &copy), 0);

	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	cr_assert_eq(client_shm_read_client(s, &copy), -EAGAIN);
	cr_assert(client_shm_writer_gone(s), "reaped: no such pid");
	client_shm_unmap(s);
}

/* ---- concurrency ---- */

#define HAMMER_LAYERS 64

struct hammer {
	struct triage_client_shm *s;
	int stop;
	uint64_t writes;
};

static void *hammer_client_section(void *arg)
{
	struct hammer *h = arg;
	struct triage_client_shm *s = h->s;
	uint64_t i = 0;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		i++;
		client_shm_client_begin(s);
		client_shm_set(s->inferences, i);
		client_shm_set(s->busy_ns, i * 1000);
		client_shm_set(s->throughput, (double)i);
		client_shm_set(s->profile_layers, (uint32_t)HAMMER_LAYERS);
		for (int k = 0; k < HAMMER_LAYERS; k++)
			client_shm_set(s->layer_ms[k], (float)((i + (uint64_t)k) % 4096));
		client_shm_set(s->last_end_ns, i * 7);
		client_shm_client_end(s);
		/* A gap between writes, as between inferences, so that some
		 * copies land whole and many still overlap a write. */
		for (int spin = 0; spin < (int)(i % 2048); spin++)
			__asm__ __volatile__("" ::: "memory");
	}
	h->writes = i;
	return NULL;
}

Test(client, concurrent_snapshots_are_never_torn, .timeout = 60)
{
	struct hammer h = { 0 };
	struct triage_client_shm *reader, copy;
	struct triage_client *c;
	uint64_t ok = 0, retried = 0, torn = 0, changes = 0, last = 0;
	pthread_t writer;

	c = open_client(&resnet);
	h.s = agent_map(getpid()); /* the writer's mapping */
	reader = agent_map(getpid()); /* and another: other addresses, same pages */
	cr_assert_eq(pthread_create(&writer, NULL, hammer_client_section, &h), 0);
	for (int n = 0; n < 100000; n++) {
		if (client_shm_read_client(reader, &copy)) {
			retried++;
			continue;
		}
		ok++;
		if (copy.inferences != last)
			changes++;
		last = copy.inferences;
		if (!copy.inferences)
			continue;
		bool whole = copy.busy_ns == copy.inferences * 1000 &&
			     copy.throughput == (double)copy.inferences &&
			     copy.last_end_ns == copy.inferences * 7 &&
			     copy.profile_layers == HAMMER_LAYERS;
		for (int k = 0; k < HAMMER_LAYERS && whole; k++)
			whole = copy.layer_ms[k] == (float)((copy.inferences + (uint64_t)k) % 4096);
		torn += !whole;
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	pthread_join(writer, NULL);
	cr_log_info("client seqlock: %llu copies, %llu gave up, %llu values seen, %llu writes",
		    (unsigned long long)ok, (unsigned long long)retried,
		    (unsigned long long)changes, (unsigned long long)h.writes);
	cr_assert_eq(torn, 0, "%llu torn copies of %llu", (unsigned long long)torn,
		     (unsigned long long)ok);
	cr_assert_gt(ok, 0);
	cr_assert_gt(h.writes, 0);
	client_shm_unmap(reader);
	client_shm_unmap(h.s);
	triage_client_close(c);
}

/* ---- the latency window ---- */

static void published(struct triage_client_shm *s, struct triage_client_shm *copy)
{
	cr_assert_eq(client_shm_read_client(s, copy), 0);
}

Test(client, latency_window_quantiles_and_throughput)
{
	const uint64_t ms = 1000000;
	struct triage_client_shm *s, copy;
	struct triage_client *c;
	uint64_t end = 1000 * ms, busy = 0;

	c = open_client(&resnet);
	s = agent_map(getpid());
	/* 100 inferences of 1..100 ms, one ending every 10 ms. */
	for (uint64_t i = 1; i <= 100; i++) {
		end += 10 * ms;
		triage_client_inference(c, end - i * ms, end);
		busy += i * ms;
	}
	published(s, &copy);
	cr_assert_eq(copy.inferences, 100);
	cr_assert_eq(copy.busy_ns, busy);
	cr_assert_eq(copy.last_end_ns, end);
	cr_assert_float_eq(copy.latency_p50_ms, 50.0, 1e-9);
	cr_assert_float_eq(copy.latency_p99_ms, 99.0, 1e-9);
	cr_assert_float_eq(copy.throughput, 100.0, 1e-9, "99 gaps of 10 ms");

	/* The window is the last 256: 300 more of 5 ms push the others out. */
	for (int i = 0; i < 300; i++) {
		end += 5 * ms;
		triage_client_inference(c, end - 5 * ms, end);
	}
	published(s, &copy);
	cr_assert_eq(copy.inferences, 400);
	cr_assert_float_eq(copy.latency_p50_ms, 5.0, 1e-9);
	cr_assert_float_eq(copy.latency_p99_ms, 5.0, 1e-9);
	cr_assert_float_eq(copy.throughput, 200.0, 1e-9);

	/* 1..256 ms in a scrambled order: nearest ranks 128 and 254. */
	for (uint64_t i = 0; i < 256; i++) {
		uint64_t lat = (i * 97 % 256) + 1; /* 97 is prime to 256 */

		end += 300 * ms;
		triage_client_inference(c, end - lat * ms, end);
	}
	published(s, &copy);
	cr_assert_float_eq(copy.latency_p50_ms, 128.0, 1e-9);
	cr_assert_float_eq(copy.latency_p99_ms, 254.0, 1e-9);
	client_shm_unmap(s);
	triage_client_close(c);
}

Test(client, first_inference_has_quantiles_and_no_throughput)
{
	struct triage_client_shm *s, copy;
	struct triage_client *c = open_client(&resnet);

	s = agent_map(getpid());
	triage_client_inference(c, 1000000, 4000000);
	published(s, &copy);
	cr_assert_float_eq(copy.latency_p50_ms, 3.0, 1e-9);
	cr_assert_float_eq(copy.latency_p99_ms, 3.0, 1e-9);
	cr_assert_eq(copy.throughput, 0);
	client_shm_unmap(s);
	triage_client_close(c);
}

/* ---- the protocol's pieces ---- */

static void valid_copy(struct triage_client_shm *c)
{
	memset(c, 0, sizeof(*c));
	c->magic = TRIAGE_CLIENT_MAGIC;
	c->abi_version = TRIAGE_CLIENT_ABI;
	c->size = sizeof(*c);
	c->pid = 100;
	strcpy(c->name, "yolo.1");
	strcpy(c->model, "yolov4tiny");
	strcpy(c->level, "best-effort");
	c->nr_layers = 30;
	c->nr_stages = 1;
	c->stages[0].last = 29;
	c->profile_layers = 30;
}

Test(client_shm, check_refuses_what_a_reader_must_not_trust)
{
	struct triage_client_shm c;
	char err[256];

	valid_copy(&c);
	cr_assert_eq(client_shm_check(&c, err, sizeof(err)), 0, "%s", err);

#define REFUSED(field, change)                                                    \
	do {                                                                      \
		valid_copy(&c);                                                   \
		change;                                                           \
		err[0] = '\0';                                                    \
		cr_assert_eq(client_shm_check(&c, err, sizeof(err)), -EINVAL,     \
			     "%s accepted", #change);                             \
		cr_assert(!strncmp(err, field, strlen(field)), "%s: \"%s\"", #change, err); \
	} while (0)

	REFUSED("name", memset(c.name, 'a', sizeof(c.name)));
	REFUSED("name", strcpy(c.name, "a b"));
	REFUSED("name", c.name[0] = '\0');
	REFUSED("model", strcpy(c.model, "x\ny"));
	REFUSED("level", memset(c.level, 'a', sizeof(c.level)));
	REFUSED("nr_layers", c.nr_layers = 0);
	REFUSED("nr_layers", c.nr_layers = TRIAGE_CLIENT_MAX_LAYERS + 1);
	REFUSED("nr_stages", c.nr_stages = 4);
	REFUSED("stages[0]", c.stages[0].first = 5; c.stages[0].last = 4);
	REFUSED("stages[0]", c.stages[0].last = 30);
	REFUSED("stages[0].nr_tids", c.stages[0].nr_tids = TRIAGE_CLIENT_MAX_TIDS + 1);
	REFUSED("profile_layers", c.profile_layers = 31);
	REFUSED("layer_ms[3]", c.layer_ms[3] = -1);
	REFUSED("layer_ms[4]", c.layer_ms[4] = NAN);
	REFUSED("latency_ms", c.latency_ms = INFINITY);
	REFUSED("rate_hz", c.rate_hz = -0.5);
	REFUSED("latency_p99_ms", c.latency_p99_ms = NAN);
	REFUSED("pid", c.pid = 0);
	REFUSED("header", c.size = 100);
#undef REFUSED
}

Test(client_shm, dir_and_file_names)
{
	char dir[128];

	cr_assert_eq(client_shm_dir("/x/run", dir, sizeof(dir)), 0);
	cr_assert_str_eq(dir, "/x/run/clients");
	setenv("TRIAGE_RUN_DIR", "/y", 1);
	cr_assert_eq(client_shm_dir(NULL, dir, sizeof(dir)), 0);
	cr_assert_str_eq(dir, "/y/clients");
	unsetenv("TRIAGE_RUN_DIR");
	cr_assert_eq(client_shm_dir("", dir, sizeof(dir)), 0);
	cr_assert_str_eq(dir, "/run/triage/clients");
	cr_assert_eq(client_shm_dir("/a/long/run/dir", dir, 8), -ENAMETOOLONG);

	int pid = 0;

	cr_assert(client_shm_file_pid("4242", &pid));
	cr_assert_eq(pid, 4242);
	cr_assert_not(client_shm_file_pid(".4242.tmp", &pid));
	cr_assert_not(client_shm_file_pid("0", &pid));
	cr_assert_not(client_shm_file_pid("12a", &pid));
	cr_assert_not(client_shm_file_pid("99999999999", &pid));
	cr_assert_not(client_shm_file_pid("", &pid));
}

Test(client_shm, map_refuses_links_strangers_and_short_files)
{
	struct triage_client_shm *s;
	char path[128], target[128], err[256];
	uint32_t junk[6] = { 0xdeadbeef, 1, 0, 0, 0, 0 };
	int fd;

	cr_assert_eq(mkdir(clients_dir, 0755), 0);
	snprintf(target, sizeof(target), "%s/target", run_dir);
	fd = open(target, O_CREAT | O_WRONLY, 0644);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);

	file_of(1, path, sizeof(path));
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), -ELOOP, "%s", err);
	unlink(path);

	cr_assert_eq(link(target, path), 0);
	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), -EPROTO, "%s", err);
	cr_assert_not_null(strstr(err, "one link"), "%s", err);
	unlink(path);

	cr_assert_eq(rename(target, path), 0);
	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), -EPROTO);
	cr_assert_not_null(strstr(err, "magic"), "%s", err);

	junk[0] = TRIAGE_CLIENT_MAGIC;
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, junk, 8), 8);
	close(fd);
	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), -EPROTO);
	cr_assert_not_null(strstr(err, "header"), "%s", err);

	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), -EPROTO);
	cr_assert_not_null(strstr(err, "ABI 1 has"), "%s", err);
	cr_assert_eq(client_shm_map("/nonexistent/1", &s, err, sizeof(err)), -ENOENT);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The client file's protocol (client/client_shm.c) from the agent's side, no
 * root (client_fixture.h): an ABI-2 file refused in its header, links and
 * strangers refused, a writer killed mid-write told from a slow one (as a
 * zombie and once reaped), 100k copies under a hammering writer never
 * torn, and the checks of every field a reader must not trust.
 */
#include <criterion/criterion.h>
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
#include <time.h>
#include <unistd.h>

#include "client_fixture.h"

TestSuite(client_shm, .init = client_fixture_setup, .fini = client_fixture_teardown);

/* ---- the agent side ---- */

Test(client_shm, other_abi_file_is_refused_by_the_agent)
{
	struct triage_client_shm head, *s = NULL;
	char path[128], err[256] = "", want[64];
	int fd;

	cr_assert_eq(mkdir(client_clients_dir, 0755), 0);
	client_file_of(12345, path, sizeof(path));
	memset(&head, 0, sizeof(head));
	head.magic = TRIAGE_CLIENT_MAGIC;
	head.abi_version = TRIAGE_CLIENT_ABI + 1;
	head.size = 9000;
	head.pid = 12345;
	fd = open(path, O_CREAT | O_RDWR, 0644);
	cr_assert_eq(write(fd, &head, CLIENT_SHM_HEADER_SIZE), (ssize_t)CLIENT_SHM_HEADER_SIZE);
	cr_assert_eq(ftruncate(fd, 9000), 0);

	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), -EPROTO);
	cr_assert_null(s);
	cr_assert_not_null(strstr(err, path), "%s", err);
	snprintf(want, sizeof(want), "client ABI %d, agent ABI %d", TRIAGE_CLIENT_ABI + 1,
		 TRIAGE_CLIENT_ABI);
	cr_assert_not_null(strstr(err, want), "%s", err);
	cr_assert_eq(pread(fd, &head, CLIENT_SHM_HEADER_SIZE, 0), (ssize_t)CLIENT_SHM_HEADER_SIZE);
	cr_assert_eq(head.agent_status, TRIAGE_CLIENT_REFUSED);
	cr_assert_eq(head.agent_abi, TRIAGE_CLIENT_ABI);
	cr_assert_eq(head.abi_version, TRIAGE_CLIENT_ABI + 1, "the client's words are left alone");
	close(fd);
}

/* ---- killed writers ---- */

Test(client_shm, killed_mid_write_is_told_from_a_slow_writer)
{
	struct triage_client_shm *s, copy;
	siginfo_t si;
	pid_t child;
	int status;

	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct triage_client *c =
			triage_client_open(&client_resnet, client_run_dir, NULL, 0);
		struct triage_client_shm *mine;
		char path[128];

		client_file_of(getpid(), path, sizeof(path));
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
	s = client_agent_map(child);
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

Test(client_shm, concurrent_snapshots_are_never_torn, .timeout = 60)
{
	struct hammer h = { 0 };
	struct triage_client_shm *reader, copy;
	struct triage_client *c;
	uint64_t ok = 0, retried = 0, torn = 0, changes = 0, last = 0;
	pthread_t writer;

	c = client_open_ok(&client_resnet);
	h.s = client_agent_map(getpid()); /* the writer's mapping */
	reader = client_agent_map(getpid()); /* and another: other addresses, same pages */
	cr_assert_eq(pthread_create(&writer, NULL, hammer_client_section, &h), 0);
	/* 100k copies, and on until the reader has seen 300 writes (a loaded
	 * machine may keep the writer off the CPU for a while). */
	time_t deadline = time(NULL) + 20;

	for (int n = 0; n < 100000 || (changes < 300 && time(NULL) < deadline); n++) {
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
	cr_assert_gt(ok, 100000 / 2);
	cr_assert_geq(changes, 100, "the writer hardly ran: no test");
	client_shm_unmap(reader);
	client_shm_unmap(h.s);
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

#define REFUSED(field, change)                                                       \
	do {                                                                         \
		valid_copy(&c);                                                      \
		change;                                                              \
		err[0] = '\0';                                                       \
		cr_assert_eq(client_shm_check(&c, err, sizeof(err)), -EINVAL,        \
			     "%s accepted", #change);                                \
		cr_assert(!strncmp(err, field, strlen(field)), "%s: \"%s\"", #change, \
			  err);                                                      \
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
	char path[128], target[128], err[256], want[32];
	uint32_t junk[6] = { 0xdeadbeef, TRIAGE_CLIENT_ABI, 0, 0, 0, 0 };
	int fd;

	cr_assert_eq(mkdir(client_clients_dir, 0755), 0);
	snprintf(target, sizeof(target), "%s/target", client_run_dir);
	fd = open(target, O_CREAT | O_WRONLY, 0644);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);

	client_file_of(1, path, sizeof(path));
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
	snprintf(want, sizeof(want), "ABI %d has", TRIAGE_CLIENT_ABI);
	cr_assert_not_null(strstr(err, want), "%s", err);
	cr_assert_eq(client_shm_map("/nonexistent/1", &s, err, sizeof(err)), -ENOENT);
}

/* The agent section as the client checks it: the granted level and the
 * grant flags are untrusted words like the rest. */
Test(client_shm, check_assignment_refuses_a_bad_grant)
{
	static struct triage_client_shm s;
	char err[128];

	memset(&s, 0, sizeof(s));
	cr_assert_eq(client_shm_check_assignment(&s, 10, err, sizeof(err)), 0, "%s", err);
	client_shm_write_grant(&s, "normal", TRIAGE_CLIENT_LEVEL_CAPPED);
	cr_assert_eq(client_shm_check_assignment(&s, 10, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(s.granted_level, "normal");
	s.grant_flags = 1u << 7;
	cr_assert_eq(client_shm_check_assignment(&s, 10, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "grant_flags: unknown bits 0x80"), "%s", err);
	s.grant_flags = 0;
	memset(s.granted_level, 'x', sizeof(s.granted_level)); /* no NUL */
	cr_assert_eq(client_shm_check_assignment(&s, 10, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "granted_level"), "%s", err);
	strcpy(s.granted_level, "a/b");
	cr_assert_eq(client_shm_check_assignment(&s, 10, err, sizeof(err)), -EINVAL);
}

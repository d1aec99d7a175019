// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The client library (client/client.c) as a DNN process and an agent see it,
 * both sides in one process, no root (a fresh run directory under /tmp,
 * client_fixture.h). Pinned here: the file appears whole at
 * <run>/clients/<pid> and goes at close, bad registrations are refused
 * naming the field, each reason to run unmanaged is one stderr line once,
 * assignments travel both ways, and the latency window's figures.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_fixture.h"
#include "clock.h"

TestSuite(client, .init = client_fixture_setup, .fini = client_fixture_teardown);

/* ---- registration ---- */

Test(client, open_registers_and_close_removes)
{
	struct triage_client_shm *s, copy;
	char path[128], err[256] = "";
	struct triage_client *c = client_open_ok(&client_resnet);
	struct stat st;

	client_file_of(getpid(), path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(st.st_mode & 0777, 0644);
	cr_assert_eq(st.st_size, (off_t)sizeof(struct triage_client_shm));

	s = client_agent_map(getpid());
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
	rmdir(client_clients_dir);
	cr_assert_eq(stat(client_clients_dir, &st), -1, "clients/ should be empty");
}

Test(client, stale_file_of_our_pid_is_replaced)
{
	char path[128], tmp[128];
	struct triage_client_shm *s, copy;
	struct triage_client *c;
	int fd;

	cr_assert_eq(mkdir(client_clients_dir, 0755), 0);
	client_file_of(getpid(), path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/.%d.tmp", client_clients_dir, (int)getpid());
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	cr_assert_eq(write(fd, "stale", 5), 5);
	close(fd);
	close(open(tmp, O_CREAT | O_WRONLY, 0644));

	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
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
		cr_assert_null(triage_client_open(&cases[i].info, client_run_dir, err, sizeof(err)),
			       "case %zu accepted", i);
		snprintf(prefix, sizeof(prefix), "%s: ", cases[i].field);
		cr_assert(!strncmp(err, prefix, strlen(prefix)), "case %zu: \"%s\" should name %s",
			  i, err, cases[i].field);
		cr_assert_null(strchr(err, '\n'), "case %zu: one line", i);
	}
	cr_assert_null(triage_client_open(NULL, client_run_dir, err, sizeof(err)));
	cr_assert_eq(access(client_clients_dir, F_OK), -1, "nothing created for bad info");
}

/* ---- unmanaged ---- */

Test(client, no_run_dir_runs_unmanaged_with_one_line)
{
	char missing[128], out[1024];
	struct triage_client_assignment a;
	struct triage_client *c;

	snprintf(missing, sizeof(missing), "%s/missing", client_run_dir);
	client_capture_begin();
	c = triage_client_open(&client_resnet, missing, NULL, 0);
	for (int i = 0; i < 100; i++) {
		triage_client_inference(c, 1000, 2000);
		triage_client_assignment(c, &a);
		cr_assert_not(a.managed);
	}
	triage_client_applied(c, 1);
	cr_assert_not(triage_client_managed(c));
	triage_client_close(c);
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "stderr: %s", out);
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

	client_capture_begin();
	c = client_open_ok(&client_resnet);
	triage_client_assignment(c, &a);
	cr_assert_not(a.managed);
	cr_assert_eq(client_capture_end(out, sizeof(out)), 0, "silent within the grace: %s", out);

	usleep(CLIENT_SHM_AGENT_GRACE_NS / 1000 + 100000);
	client_capture_begin();
	for (int i = 0; i < 10; i++) {
		triage_client_assignment(c, &a);
		cr_assert_not(a.managed);
	}
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "no agent answered"), "%s", out);
	triage_client_close(c);
}

Test(client, second_client_of_a_process_runs_unmanaged)
{
	struct triage_client *first, *second;
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	char out[1024];

	first = client_open_ok(&client_resnet);
	client_capture_begin();
	second = client_open_ok(&client_resnet);
	triage_client_assignment(second, &a);
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "already has a client"), "%s", out);
	cr_assert_not(a.managed);
	triage_client_close(second);
	/* The first one's file is untouched. */
	s = client_agent_map(getpid());
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

	client_capture_begin();
	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
	triage_client_assignment(c, &a);
	cr_assert_not(a.managed, "no assignment yet");

	assign_two_stages(st);
	client_shm_write_assignment(s, st, 2, 400, (int)getpid());
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
	client_shm_write_assignment(s, st, 1, 1000, (int)getpid());
	triage_client_assignment(c, &a);
	cr_assert_eq(a.generation, 2);
	cr_assert_eq(a.nr_stages, 1);
	cr_assert_eq(a.gpu_permille, 1000);
	cr_assert_eq(client_shm_generation(s), 2);
	cr_assert_eq(s->agent_pid, (uint32_t)getpid());
	cr_assert_eq(client_capture_end(out, sizeof(out)), 0, "managed: silent, got %s", out);

	client_shm_unmap(s);
	triage_client_close(c);
}

static void write_agent_pid(pid_t pid)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/triaged.pid", client_run_dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
}

static double wait_ms(struct triage_client *c, unsigned timeout_ms, bool *managed)
{
	uint64_t t0 = mono_ns();

	*managed = triage_client_wait(c, timeout_ms);
	return (double)(mono_ns() - t0) / 1e6;
}

Test(client, wait_returns_at_once_without_a_live_agent_and_when_taken_on)
{
	struct triage_client_shm *s;
	struct triage_client *c;
	bool managed;
	pid_t dead = fork(), agent;

	if (!dead)
		_exit(0);
	cr_assert_gt(dead, 0);
	waitpid(dead, NULL, 0);
	c = client_open_ok(&client_resnet);
	/* No triaged.pid, then one naming a process that is gone. */
	cr_assert_lt(wait_ms(c, 2000, &managed), 100);
	cr_assert_not(managed);
	write_agent_pid(dead);
	cr_assert_lt(wait_ms(c, 2000, &managed), 100);
	cr_assert_not(managed);

	/* A live agent that does not answer: the whole timeout, unmanaged. */
	write_agent_pid(getpid());
	cr_assert_geq(wait_ms(c, 150, &managed), 150);
	cr_assert_not(managed);

	/* An agent that takes it on 100 ms from now. */
	agent = fork();
	if (!agent) {
		usleep(100 * 1000);
		s = client_agent_map(getppid());
		client_shm_write_assignment(s, NULL, 0, 1000, (int)getppid());
		_exit(0);
	}
	cr_assert_gt(agent, 0);
	{
		double took = wait_ms(c, 2000, &managed);

		cr_assert(managed);
		cr_assert(took >= 90 && took < 1500, "took %.0f ms", took);
	}
	waitpid(agent, NULL, 0);
	/* Taken on already: at once. */
	cr_assert_lt(wait_ms(c, 2000, &managed), 50);
	cr_assert(managed);
	triage_client_close(c);
}

/* An agent that died leaves the status MANAGED: the client must not stay
 * pinned by a dead agent's assignment. */
Test(client, dead_agent_means_unmanaged_said_once)
{
	struct triage_client_assign_stage st[2];
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	struct triage_client *c;
	char out[1024];
	pid_t dead = fork();

	if (!dead)
		_exit(0);
	cr_assert_gt(dead, 0);
	waitpid(dead, NULL, 0);
	client_capture_begin();
	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
	assign_two_stages(st);
	client_shm_write_assignment(s, st, 2, 1000, (int)dead);
	triage_client_assignment(c, &a);
	cr_assert_not(a.managed, "the agent of this assignment is gone");
	triage_client_assignment(c, &a);
	cr_assert_not(a.managed);
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "one line, got: %s", out);
	cr_assert(strstr(out, "is gone"), "%s", out);

	/* A new agent takes it on: managed again from its next check. */
	client_shm_write_assignment(s, st, 2, 1000, (int)getpid());
	usleep(600 * 1000);
	triage_client_assignment(c, &a);
	cr_assert(a.managed);
	cr_assert_eq(a.nr_stages, 2);
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

	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
	assign_two_stages(st);
	st[1].last = 68; /* past the model's 68 layers */
	client_capture_begin();
	client_shm_write_assignment(s, st, 2, 400, 1);
	triage_client_assignment(c, &a);
	triage_client_assignment(c, &a);
	cr_assert_not(a.managed);
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "assigned[1]"), "%s", out);
	client_shm_unmap(s);
	triage_client_close(c);
}

Test(client, agent_stuck_mid_write_is_unmanaged_for_the_call)
{
	struct triage_client_assign_stage st[2];
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	struct triage_client *c;
	char out[1024];

	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
	assign_two_stages(st);
	client_shm_write_assignment(s, st, 2, 400, 1);
	triage_client_assignment(c, &a);
	cr_assert(a.managed);

	client_shm_agent_begin(s); /* and the agent dies here */
	client_capture_begin();
	for (int i = 0; i < 3; i++) {
		triage_client_assignment(c, &a);
		cr_assert_not(a.managed, "call %d", i);
	}
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "mid-write"), "%s", out);

	/* A new agent's next write makes it whole again. */
	client_shm_write_assignment(s, st, 1, 500, 2);
	triage_client_assignment(c, &a);
	cr_assert(a.managed);
	cr_assert_eq(a.generation, 2);
	cr_assert_eq(a.nr_stages, 1);
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
	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
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

Test(client, refused_by_another_abi_says_both_versions_once)
{
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	struct triage_client *c;
	char out[1024], want[64];

	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
	/* An agent of the next ABI refusing us, as its client_shm_map would. */
	__atomic_store_n(&s->agent_abi, TRIAGE_CLIENT_ABI + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->agent_status, TRIAGE_CLIENT_REFUSED, __ATOMIC_RELEASE);
	client_capture_begin();
	for (int i = 0; i < 10; i++) {
		triage_client_assignment(c, &a);
		cr_assert_not(a.managed);
	}
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	snprintf(want, sizeof(want), "agent speaks client ABI %d, this client %d",
		 TRIAGE_CLIENT_ABI + 1, TRIAGE_CLIENT_ABI);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_not(triage_client_managed(c));

	/* Refused by an agent of our ABI: another reason, one more line. */
	client_shm_set_status(s, TRIAGE_CLIENT_REFUSED);
	client_capture_begin();
	for (int i = 0; i < 10; i++)
		triage_client_assignment(c, &a);
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "refused"), "%s", out);
	client_shm_unmap(s);
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

	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
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
	struct triage_client *c = client_open_ok(&client_resnet);

	s = client_agent_map(getpid());
	triage_client_inference(c, 1000000, 4000000);
	published(s, &copy);
	cr_assert_float_eq(copy.latency_p50_ms, 3.0, 1e-9);
	cr_assert_float_eq(copy.latency_p99_ms, 3.0, 1e-9);
	cr_assert_eq(copy.throughput, 0);
	client_shm_unmap(s);
	triage_client_close(c);
}

/* The agent's policy capped the claim: the client says so once, names
 * both levels, and reports the granted one. */
Test(client, a_capped_level_is_said_once)
{
	struct triage_client_assign_stage st[2];
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	struct triage_client *c;
	char out[1024];

	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
	cr_assert_str_eq(triage_client_level(c), "critical", "unmanaged: the level asked for");
	assign_two_stages(st);
	client_shm_write_grant(s, "normal", TRIAGE_CLIENT_LEVEL_CAPPED | TRIAGE_CLIENT_TARGET_IGNORED);
	client_shm_write_assignment(s, st, 2, 1000, (int)getpid());
	client_capture_begin();
	for (int i = 0; i < 5; i++) {
		triage_client_assignment(c, &a);
		cr_assert(a.managed, "capped, still managed");
	}
	/* A new assignment is read again, and still said only once. */
	client_shm_write_assignment(s, st, 1, 1000, (int)getpid());
	triage_client_assignment(c, &a);
	cr_assert_eq(client_capture_end(out, sizeof(out)), 1, "stderr: %s", out);
	cr_assert_not_null(strstr(out, "level \"critical\" is not this user's to claim: taken on at \"normal\""),
			   "%s", out);
	cr_assert_not_null(strstr(out, "latency target drives no protection"), "%s", out);
	cr_assert_str_eq(triage_client_level(c), "normal");
	triage_client_close(c);
}

/* Granted as asked: nothing to say. */
Test(client, a_granted_level_is_silent)
{
	struct triage_client_assignment a;
	struct triage_client_shm *s;
	struct triage_client *c;
	char out[256];

	c = client_open_ok(&client_resnet);
	s = client_agent_map(getpid());
	client_shm_write_grant(s, "critical", 0);
	client_shm_write_assignment(s, NULL, 0, 1000, (int)getpid());
	client_capture_begin();
	triage_client_assignment(c, &a);
	cr_assert(a.managed);
	cr_assert_eq(client_capture_end(out, sizeof(out)), 0, "stderr: %s", out);
	cr_assert_str_eq(triage_client_level(c), "critical");
	triage_client_close(c);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triagectl: the command line to a running triaged. It holds no policy: it
 * asks the agent (over <run_dir>/ctl.sock) and prints the answer, so what it
 * shows is exactly what the protection loop sees.
 */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "doctor/gpu_gate.h"
#include "numparse.h"
#include "policy/match.h"
#include "triage/gate.h"

#define EXIT_USAGE 2
#define DEFAULT_RUN_DIR "/run/triage"

static const char *run_dir = DEFAULT_RUN_DIR;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: triagectl [--run-dir DIR] COMMAND ...\n\n"
		"  status [--json]                      levels, workloads, CPU%%, wait p50/p99,\n"
		"                                       interference, current quota and the plan\n"
		"  stats [--json]                       per-core counters of the sensors\n"
		"  run --level L [--name N] [MODEL] [--gpu-gate] -- CMD...\n"
		"                                       start CMD inside workload cgroup L/N;\n"
		"                                       --gpu-gate: under the GPU launch gate\n"
		"                                       (LD_PRELOAD libtriage-gate.so: best-effort\n"
		"                                       kernels wait for critical ones)\n"
		"  tag --level L [--name N] [MODEL] PID move a whole process (all threads) into L/N\n"
		"  tag MODEL PID                        give the workload PID is in a model\n\n"
		"MODEL: --model NAME (a model zoo name, e.g. resnet18) and/or --latency-ms MS\n"
		"(a latency target): the planner maps the stages of modeled workloads.\n"
		"The workload name defaults to the command's name. DIR defaults to %s\n"
		"(or $TRIAGE_RUN_DIR). Talks to triaged, which must be running, as root.\n"
		"run sets MPS's client variables for the level where an MPS daemon\n"
		"listens (a variable already set is kept). The gate library is\n"
		"$" GATE_LIB_ENV ", else " GATE_LIB_NAME " beside triagectl, else in\n"
		TRIAGE_GATE_LIBDIR ".\n",
		DEFAULT_RUN_DIR);
}

/* Sends req, returns the agent's successful reply or NULL after printing
 * its error. */
static struct json_object *ask(struct json_object *req)
{
	struct json_object *reply, *ok, *msg;
	char err[512];
	int fd = ctl_connect(run_dir, err, sizeof(err));

	if (fd < 0) {
		fprintf(stderr, "triagectl: %s\n", err);
		json_object_put(req);
		return NULL;
	}
	if (ctl_send(fd, req)) {
		fprintf(stderr, "triagectl: cannot send to the agent: %s\n", strerror(errno));
		close(fd);
		json_object_put(req);
		return NULL;
	}
	json_object_put(req);
	reply = ctl_recv(fd, 5000, err, sizeof(err));
	close(fd);
	if (!reply) {
		fprintf(stderr, "triagectl: agent: %s\n", err);
		return NULL;
	}
	if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)) {
		fprintf(stderr, "triagectl: %s\n",
			json_object_object_get_ex(reply, "error", &msg) ? json_object_get_string(msg)
									 : "agent refused the request");
		json_object_put(reply);
		return NULL;
	}
	return reply;
}

static struct json_object *request(const char *cmd)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return req;
}

static struct json_object *field(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* A wait in us or ms; "-" for null, a figure the sensors cannot give. */
static void format_us(struct json_object *v, char *out, size_t len)
{
	double us = json_object_get_double(v);

	if (!v)
		snprintf(out, len, "-");
	else if (us >= 1000)
		snprintf(out, len, "%.2fms", us / 1000);
	else
		snprintf(out, len, "%.0fus", us);
}

/* "gpud: pid N, DEVICE, policy P", then a line per GPU stage. */
static void print_gpud(struct json_object *g)
{
	struct json_object *stages = field(g, "stages");

	if (!g)
		return;
	if (!json_object_get_boolean(field(g, "running"))) {
		printf("gpud: none: %s\n", json_object_get_string(field(g, "why")));
		return;
	}
	printf("gpud: pid %d, %s, policy %s\n", json_object_get_int(field(g, "pid")),
	       json_object_get_string(field(g, "device")), json_object_get_string(field(g, "policy")));
	for (size_t i = 0; stages && i < json_object_array_length(stages); i++) {
		struct json_object *s = json_object_array_get_idx(stages, i);
		char layers[32];

		snprintf(layers, sizeof(layers), "%d-%d", json_object_get_int(field(s, "first")),
			 json_object_get_int(field(s, "last")));
		printf("  gpu stage %-16s %-14s %-7s %-11s share %4d  %8lld requests  busy %.1f ms\n",
		       json_object_get_string(field(s, "name")), json_object_get_string(field(s, "model")),
		       layers, json_object_get_string(field(s, "level")),
		       json_object_get_int(field(s, "share_permille")),
		       (long long)json_object_get_int64(field(s, "requests")),
		       json_object_get_double(field(s, "busy_ms")));
	}
}

/* "gate board: PATH, N gated processes", then a line per live slot. */
static void print_gate(struct json_object *g)
{
	struct json_object *b = field(g, "board"), *gate = field(g, "gate");

	if (!b)
		return;
	if (!json_object_get_boolean(field(b, "on"))) {
		printf("gate board: none: %s\n", json_object_get_string(field(b, "why")));
		return;
	}
	printf("gate board: %s, %d gated processes\n", json_object_get_string(field(b, "path")),
	       json_object_get_int(field(b, "gated")));
	for (size_t i = 0; gate && i < json_object_array_length(gate); i++) {
		struct json_object *s = json_object_array_get_idx(gate, i);
		bool critical = !strcmp(json_object_get_string(field(s, "role")), "critical");
		char burst[64] = "";

		if (!json_object_get_boolean(field(s, "live")))
			continue;
		if (critical && json_object_get_uint64(field(s, "burst_ns_best")))
			snprintf(burst, sizeof(burst), ", burst %.2f ms (best %.2f)",
				 (double)json_object_get_uint64(field(s, "burst_ns_median")) / 1e6,
				 (double)json_object_get_uint64(field(s, "burst_ns_best")) / 1e6);
		printf("  gpu gate  %-16s %-12s %-11s pid %-7d share %4d  %8llu launches, %llu held "
		       "for %.1f ms, busy %.1f ms, %llu bursts%s\n",
		       json_object_get_string(field(s, "name")), json_object_get_string(field(s, "level")),
		       json_object_get_string(field(s, "role")), json_object_get_int(field(s, "pid")),
		       json_object_get_int(field(s, "share_permille")),
		       (unsigned long long)json_object_get_uint64(field(s, "launches")),
		       (unsigned long long)json_object_get_uint64(field(s, "held")),
		       (double)json_object_get_uint64(field(s, "held_ns")) / 1e6,
		       (double)json_object_get_uint64(field(s, "busy_ns")) / 1e6,
		       (unsigned long long)json_object_get_uint64(field(s, "bursts")), burst);
	}
}

static void print_status(struct json_object *st)
{
	struct json_object *levels = field(st, "levels");

	printf("cgroups %s, sensors %s, tick %d ms\n", json_object_get_string(field(st, "cgroup_mode")),
	       json_object_get_string(field(st, "sensors")), json_object_get_int(field(st, "tick_ms")));
	if (field(st, "gpu"))
		printf("gpu: %s%s\n", json_object_get_boolean(field(field(st, "gpu"), "driver")) ? "" : "none: ",
		       json_object_get_string(field(field(st, "gpu"), "detail")));
	print_gpud(field(field(st, "gpu"), "gpud"));
	print_gate(field(field(st, "gpu"), "gpud"));
	if (field(field(st, "gpu"), "devfreq")) {
		struct json_object *d = field(field(st, "gpu"), "devfreq");

		printf("gpu load: %.1f%% at %.0f MHz (%s, triage.ko devfreq)\n",
		       json_object_get_int(field(d, "load_permille")) / 10.0,
		       (double)json_object_get_uint64(field(d, "cur_hz")) / 1e6,
		       json_object_get_string(field(d, "name")));
	}
	printf("%-12s %4s %6s %-11s %-16s %5s %6s %8s %8s %8s %6s  %s\n", "LEVEL", "RANK", "WEIGHT",
	       "QUOTA", "WORKLOAD", "PROCS", "CPU%", "WAIT-AVG", "WAIT-P50", "WAIT-P99", "INTF%",
	       "CLASS");
	for (size_t i = 0; i < json_object_array_length(levels); i++) {
		struct json_object *l = json_object_array_get_idx(levels, i);
		struct json_object *wls = field(l, "workloads"), *q = field(l, "quota_cores");
		char quota[32];

		if (q)
			snprintf(quota, sizeof(quota), "%.2f/%.2f", json_object_get_double(q),
				 json_object_get_double(field(l, "ceiling_cores")));
		else
			snprintf(quota, sizeof(quota), "-");
		printf("%-12s %4d %6d %-11s", json_object_get_string(field(l, "name")),
		       json_object_get_int(field(l, "rank")), json_object_get_int(field(l, "weight")), quota);
		if (!json_object_array_length(wls))
			printf(" %-16s\n", "(none)");
		for (size_t k = 0; k < json_object_array_length(wls); k++) {
			struct json_object *w = json_object_array_get_idx(wls, k);
			struct json_object *intf = field(w, "intf_pct");
			struct json_object *cls = field(w, "class"), *guard = field(w, "guard");
			char mean[16], p50[16], p99[16], intf_pct[16] = "-", class_col[64] = "-";

			format_us(field(w, "wait_mean_us"), mean, sizeof(mean));
			format_us(field(w, "wait_p50_us"), p50, sizeof(p50));
			format_us(field(w, "wait_p99_us"), p99, sizeof(p99));
			if (intf)
				snprintf(intf_pct, sizeof(intf_pct), "%.1f", json_object_get_double(intf));
			if (cls)
				snprintf(class_col, sizeof(class_col), "%s%s", json_object_get_string(cls),
					 guard && json_object_get_boolean(field(guard, "demoted"))
						 ? " (demoted by the guard)"
						 : "");
			if (k)
				printf("%-12s %4s %6s %-11s", "", "", "", "");
			printf(" %-16s %5d %6.1f %8s %8s %8s %6s  %s\n", json_object_get_string(field(w, "name")),
			       json_object_get_int(field(w, "procs")), json_object_get_double(field(w, "cpu_pct")),
			       mean, p50, p99, intf_pct, class_col);
		}
	}
}

/* "big[0-9]x4 > gpu[10-20]" */
static void format_stages(struct json_object *stages, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t s = 0; s < json_object_array_length(stages) && off < len; s++) {
		struct json_object *st = json_object_array_get_idx(stages, s);
		int cores = json_object_get_int(field(st, "cores"));

		off += (size_t)snprintf(out + off, len - off, "%s%s[%d-%d]", s ? " > " : "",
					json_object_get_string(field(st, "unit")),
					json_object_get_int(field(st, "first_layer")),
					json_object_get_int(field(st, "last_layer")));
		if (cores > 0 && off < len)
			off += (size_t)snprintf(out + off, len - off, "x%d", cores);
	}
}

static void print_plan_header(struct json_object *pl)
{
	const char *state = json_object_get_string(field(pl, "state"));
	struct json_object *decided = field(pl, "decided_unix");
	char when[32] = "-";
	struct tm tm;
	time_t t;

	if (strcmp(state, "on")) {
		printf("\nplanner: %s: %s\n", state, json_object_get_string(field(pl, "why")));
		return;
	}
	printf("\nplanner: %s\n", json_object_get_string(field(pl, "platform_source")));
	if (!decided) {
		if (json_object_get_int(field(pl, "dnns")))
			printf("no plan yet\n");
		else
			printf("no modeled workload, nothing planned\n");
		return;
	}
	t = (time_t)json_object_get_double(decided);
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	printf("plan decided %s (searched %.1f s ago): %d DNNs, reward %.3f, %lld iterations, %.1f ms\n",
	       when, json_object_get_double(field(pl, "searched_ago_s")),
	       json_object_get_int(field(pl, "dnns")), json_object_get_double(field(pl, "reward")),
	       (long long)json_object_get_int64(field(pl, "iterations")),
	       json_object_get_double(field(pl, "decision_ms")));
}

/* Every workload with what the planner says of it; figures are the
 * estimator's, not measurements. */
static void print_plan(struct json_object *st)
{
	struct json_object *levels = field(st, "levels"), *pl = field(st, "planner");

	if (!pl)
		return;
	print_plan_header(pl);
	printf("%-28s %-14s %-10s %-44s %8s %8s %8s %8s\n", "WORKLOAD", "MODEL", "PLAN", "STAGES",
	       "EST/s", "EST-MS", "MEAS/s", "P99-MS");
	for (size_t i = 0; i < json_object_array_length(levels); i++) {
		struct json_object *l = json_object_array_get_idx(levels, i);
		struct json_object *wls = field(l, "workloads");

		for (size_t k = 0; k < json_object_array_length(wls); k++) {
			struct json_object *w = json_object_array_get_idx(wls, k);
			struct json_object *model = field(w, "model"), *plan = field(w, "plan");
			char name[64], stages[256] = "";

			snprintf(name, sizeof(name), "%s/%s",
				 json_object_get_string(field(l, "name")),
				 json_object_get_string(field(w, "name")));
			printf("%-28s %-14s ", name, model ? json_object_get_string(model) : "-");
			if (!plan) {
				printf("%s\n", json_object_get_string(field(w, "plan_state")));
				continue;
			}
			format_stages(field(plan, "stages"), stages, sizeof(stages));
			printf("%-10s %-44s %8.1f %8.1f",
			       json_object_get_string(field(w, "plan_state")), stages,
			       json_object_get_double(field(plan, "throughput")),
			       json_object_get_double(field(plan, "latency_ms")));
			/* What a DNN client measures, beside what was estimated. */
			if (field(w, "client"))
				printf(" %8.1f %8.1f\n",
				       json_object_get_double(field(field(w, "client"), "throughput")),
				       json_object_get_double(field(field(w, "client"), "latency_p99_ms")));
			else
				printf(" %8s %8s\n", "-", "-");
		}
	}
}

/* The workloads' GPU counters from triage-gpud, cumulative. */
static void print_gpu_stats(struct json_object *gpu)
{
	size_t n = gpu ? json_object_array_length(gpu) : 0;

	if (!n)
		return;
	printf("\nGPU, cumulative since each workload's first stage on triage-gpud or gated process\n");
	printf("%-16s %-12s %6s %10s %11s %11s %10s %10s %6s\n", "WORKLOAD", "LEVEL", "STAGES",
	       "REQUESTS", "BUSY-MS", "QUEUED-MS", "LAUNCHES", "SLICES", "SHARE");
	for (size_t i = 0; i < n; i++) {
		struct json_object *w = json_object_array_get_idx(gpu, i);

		printf("%-16s %-12s %6d %10lld %11.1f %11.1f %10llu %10llu %6d\n",
		       json_object_get_string(field(w, "name")), json_object_get_string(field(w, "level")),
		       json_object_get_int(field(w, "stages")),
		       (long long)json_object_get_int64(field(w, "requests")),
		       (double)json_object_get_uint64(field(w, "busy_ns")) / 1e6,
		       (double)json_object_get_uint64(field(w, "queued_ns")) / 1e6,
		       (unsigned long long)json_object_get_uint64(field(w, "launches")),
		       (unsigned long long)json_object_get_uint64(field(w, "slices")),
		       json_object_get_int(field(w, "share_permille")));
	}
}

static void print_stats(struct json_object *st)
{
	struct json_object *slots = field(st, "slots"), *cpus = field(st, "cpus");
	size_t nr_slots = json_object_array_length(slots);

	printf("busy%% over the last status period, per level; cumulative waits since the maps were pinned\n");
	if (field(st, "level_split") && !json_object_get_boolean(field(st, "level_split")))
		printf("(sensors %s: no per-level split, all busy time is under \"untagged\"; no interference)\n",
		       json_object_get_string(field(st, "sensors")));
	printf("%-4s", "CPU");
	for (size_t s = 0; s < nr_slots; s++) {
		const char *name = json_object_get_string(json_object_array_get_idx(slots, s));

		if (*name)
			printf(" %11.11s", name);
	}
	printf(" %9s %12s %12s\n", "SWITCH/s", "WAIT-MS", "INTF-MS");
	for (size_t c = 0; c < json_object_array_length(cpus); c++) {
		struct json_object *cpu = json_object_array_get_idx(cpus, c);
		struct json_object *busy = field(cpu, "busy_pct"), *wait = field(cpu, "wait_ns"),
				   *intf = field(cpu, "intf_ns");
		double wait_ms = 0, intf_ms = 0;

		printf("%-4d", json_object_get_int(field(cpu, "cpu")));
		for (size_t s = 0; s < nr_slots; s++) {
			if (!*json_object_get_string(json_object_array_get_idx(slots, s)))
				continue;
			printf(" %10.1f%%", json_object_get_double(json_object_array_get_idx(busy, s)));
		}
		for (size_t s = 0; s < nr_slots; s++) {
			wait_ms += (double)json_object_get_uint64(json_object_array_get_idx(wait, s)) / 1e6;
			intf_ms += (double)json_object_get_uint64(json_object_array_get_idx(intf, s)) / 1e6;
		}
		printf(" %9.0f %12.1f %12.1f\n", json_object_get_double(field(cpu, "switches_per_s")),
		       wait_ms, intf_ms);
	}
	print_gpu_stats(field(st, "gpu"));
}

static int cmd_show(int argc, char **argv, const char *cmd)
{
	struct json_object *reply;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "triagectl %s: unknown argument \"%s\"\n", cmd, argv[i]);
			return EXIT_USAGE;
		}
	}
	reply = ask(request(cmd));
	if (!reply)
		return 1;
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY));
	} else if (!strcmp(cmd, "status")) {
		print_status(reply);
		print_plan(reply);
	} else {
		print_stats(reply);
	}
	json_object_put(reply);
	return 0;
}

struct target {
	const char *level, *name, *model;
	double latency_ms; /* -1: not given */
	bool gpu_gate;	   /* run: under the launch gate */
};

/* Parses "--level L [--name N] [--model M] [--latency-ms X]" and what
 * follows; returns the index of the first remaining argument or -1. The
 * level may be left out only where need_level is false and a model or a
 * latency target is given. */
static int parse_target(int argc, char **argv, const char *cmd, bool need_level, struct target *t)
{
	static const struct option opts[] = {
		{ "level", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "model", required_argument, NULL, 'm' },
		{ "latency-ms", required_argument, NULL, 't' },
		{ "gpu-gate", no_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	int c;

	optind = 1;
	*t = (struct target){ .latency_ms = -1 };
	while ((c = getopt_long(argc, argv, "+l:n:m:t:", opts, NULL)) != -1) {
		if (c == 'l') {
			t->level = optarg;
		} else if (c == 'n') {
			t->name = optarg;
		} else if (c == 'm') {
			t->model = optarg;
		} else if (c == 'g') {
			if (strcmp(cmd, "run")) {
				fprintf(stderr, "triagectl %s: --gpu-gate is for run (a process already running keeps its libraries)\n",
					cmd);
				return -1;
			}
			t->gpu_gate = true;
		} else if (c == 't') {
			if (num_parse_double_above(optarg, 0, DBL_MAX, &t->latency_ms, err,
						   sizeof(err))) {
				fprintf(stderr, "triagectl %s: --latency-ms: %s\n", cmd, err);
				return -1;
			}
		} else {
			return -1;
		}
	}
	if (!t->level && (need_level || (!t->model && t->latency_ms < 0))) {
		fprintf(stderr, "triagectl %s: --level is required%s\n", cmd,
			need_level ? "" : " (or --model to give a tagged process's workload a model)");
		return -1;
	}
	if (!t->level && t->name) {
		fprintf(stderr, "triagectl %s: --name needs --level\n", cmd);
		return -1;
	}
	return optind;
}

static struct json_object *tag_request(const struct target *t, long pid)
{
	struct json_object *req = request("tag");

	if (t->level)
		json_object_object_add(req, "level", json_object_new_string(t->level));
	if (t->name)
		json_object_object_add(req, "name", json_object_new_string(t->name));
	if (t->model)
		json_object_object_add(req, "model", json_object_new_string(t->model));
	if (t->latency_ms >= 0)
		json_object_object_add(req, "latency_ms", json_object_new_double(t->latency_ms));
	json_object_object_add(req, "pid", json_object_new_int64(pid));
	return req;
}

static int cmd_tag(int argc, char **argv)
{
	struct json_object *reply, *model;
	struct target t;
	char err[256];
	long pid;
	int first = parse_target(argc, argv, "tag", false, &t);

	if (first < 0)
		return EXIT_USAGE;
	if (first != argc - 1) {
		fprintf(stderr, "triagectl tag: exactly one PID expected\n");
		return EXIT_USAGE;
	}
	if (num_parse_long(argv[first], 1, LONG_MAX, &pid, err, sizeof(err))) {
		fprintf(stderr, "triagectl tag: PID: %s\n", err);
		return EXIT_USAGE;
	}
	reply = ask(tag_request(&t, pid));
	if (!reply)
		return 1;
	model = field(reply, "model");
	printf("pid %ld -> %s%s%s\n", pid, json_object_get_string(field(reply, "cgroup")),
	       model ? ", model " : "", model ? json_object_get_string(model) : "");
	json_object_put(reply);
	return 0;
}

/* Sets name to value unless the user set it already: their value wins,
 * said in one line when it differs. */
static void set_unless_given(const char *name, const char *value)
{
	const char *given = getenv(name);

	if (!given) {
		setenv(name, value, 1);
		return;
	}
	if (strcmp(given, value))
		fprintf(stderr, "triagectl run: keeping %s=%s as set (the agent's level has %s)\n",
			name, given, value);
}

/* MPS's client variables for the level, where the agent saw a daemon. */
static void set_mps_env(struct json_object *mps)
{
	struct json_object *percent = field(mps, "thread_percent");

	if (!mps)
		return;
	set_unless_given("CUDA_MPS_PIPE_DIRECTORY", json_object_get_string(field(mps, "pipe_dir")));
	set_unless_given("CUDA_MPS_CLIENT_PRIORITY", json_object_get_string(field(mps, "priority")));
	if (percent)
		set_unless_given("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", json_object_get_string(percent));
}

/* LD_PRELOAD with the gate first (what the user preloads stays), and the
 * gate's name, level and role from the tag reply. */
static int set_gate_env(const char *lib, struct json_object *reply)
{
	const char *preload = getenv("LD_PRELOAD");
	struct json_object *gpu = field(reply, "gpu");
	char *joined = NULL;

	if (preload && *preload && !strstr(preload, lib)) {
		if (asprintf(&joined, "%s:%s", lib, preload) < 0)
			return -1;
		setenv("LD_PRELOAD", joined, 1);
		free(joined);
	} else if (!preload || !*preload) {
		setenv("LD_PRELOAD", lib, 1);
	}
	setenv(TRIAGE_GATE_NAME_ENV, json_object_get_string(field(reply, "workload")), 1);
	setenv(TRIAGE_GATE_LEVEL_ENV, json_object_get_string(field(reply, "level")), 1);
	/* An agent from before the gate sends no role: the gate takes it
	 * from the board's levels. */
	if (field(gpu, "role"))
		setenv(TRIAGE_GATE_ROLE_ENV, json_object_get_string(field(gpu, "role")), 1);
	return 0;
}

/* Moves itself into the workload before exec, so the command and all it
 * starts are counted from their first instruction. */
static int cmd_run(int argc, char **argv)
{
	char derived[TRIAGE_NAME_MAX], lib[4096], looked[8192];
	struct json_object *reply;
	struct target t;
	int first = parse_target(argc, argv, "run", true, &t);

	if (first < 0)
		return EXIT_USAGE;
	if (first > 0 && !strcmp(argv[first - 1], "--") && first == argc) {
		fprintf(stderr, "triagectl run: no command after --\n");
		return EXIT_USAGE;
	}
	if (first >= argc) {
		fprintf(stderr, "triagectl run: no command given (triagectl run --level L -- CMD...)\n");
		return EXIT_USAGE;
	}
	if (!t.name) {
		const char *base = strrchr(argv[first], '/');

		/* Named after the command, made valid the way rules name a
		 * process: the agent would only see triagectl's own comm. */
		match_workload_name(NULL, base ? base + 1 : argv[first], derived, sizeof(derived));
		t.name = derived;
	}
	/* Before anything is tagged: a gated run without its gate would be
	 * an ungated one under the same name. */
	if (t.gpu_gate && gate_lib_find(lib, sizeof(lib), looked, sizeof(looked))) {
		fprintf(stderr, "triagectl run: --gpu-gate: %s not found at %s\n", GATE_LIB_NAME, looked);
		return 1;
	}
	reply = ask(tag_request(&t, getpid()));
	if (!reply)
		return 1;
	set_mps_env(field(field(reply, "gpu"), "mps"));
	if (t.gpu_gate && set_gate_env(lib, reply)) {
		fprintf(stderr, "triagectl run: --gpu-gate: %s\n", strerror(errno));
		json_object_put(reply);
		return 1;
	}
	json_object_put(reply);
	execvp(argv[first], argv + first);
	fprintf(stderr, "triagectl run: %s: %s\n", argv[first], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	int i = 1;

	if (getenv("TRIAGE_RUN_DIR") && *getenv("TRIAGE_RUN_DIR"))
		run_dir = getenv("TRIAGE_RUN_DIR");
	if (i < argc && !strcmp(argv[i], "--run-dir")) {
		if (i + 1 >= argc) {
			fprintf(stderr, "triagectl: --run-dir needs a directory\n");
			return EXIT_USAGE;
		}
		run_dir = argv[i + 1];
		i += 2;
	}
	if (i >= argc || !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? EXIT_USAGE : 0;
	}
	argc -= i;
	argv += i;
	if (!strcmp(argv[0], "status") || !strcmp(argv[0], "stats"))
		return cmd_show(argc, argv, argv[0]);
	if (!strcmp(argv[0], "tag"))
		return cmd_tag(argc, argv);
	if (!strcmp(argv[0], "run"))
		return cmd_run(argc, argv);
	fprintf(stderr, "triagectl: unknown command \"%s\" (status, stats, run, tag)\n", argv[0]);
	return EXIT_USAGE;
}

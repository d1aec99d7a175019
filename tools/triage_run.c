// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triage-run: runs one zoo DNN on the CPU executor (exec/exec.h) as a
 * libtriage client, so the agent can map its stages; or, with --profile,
 * measures this machine for the planner (tools/run_profile.c).
 *
 * One thread drives the executor: it submits inferences (flat out, or at
 * --rate with arrivals on a fixed grid, latency counted from the arrival
 * so queueing shows), collects them in order, reports each to the agent,
 * and between two inferences applies a new assignment when the agent
 * wrote one. With --output, the last inference's outputs are written at the
 * end (raw float32, little-endian), so a run can be checked against
 * another (a GPU plan against a CPU one, say). Exit codes: 0 done, 1 the
 * run failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "exec.h"
#include "fsutil.h"
#include "numparse.h"
#include "quantile.h"
#include "run_gpud.h"
#include "run_profile.h"
#include "zoo.h"

#include <triage/client.h>

#define EXIT_RUN_FAILED 1
#define EXIT_USAGE 2
/* How often the agent's section is looked at, and the profile published. */
#define ASSIGNMENT_POLL_NS 50000000ull
/* At start: how long to wait for the agent to take this client on, and
 * then for its first assignment. */
#define RUN_AGENT_WAIT_MS 1000
#define RUN_PLAN_WAIT_MS 250ull
#define PROFILE_PUBLISH_NS 2000000000ull

struct options {
	const char *model, *level, *name, *stages, *json_path, *output, *models_dir;
	double rate_hz, duration_s, latency_ms;
	uint64_t seed;
	bool profile, progress, quiet;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: triage-run --model NAME [--level L] [--name N] [--latency-ms T] [--rate R]\n"
		"                  [--duration S] [--stages auto|SPEC] [--seed N] [--json FILE]\n"
		"                  [--output FILE] [-q]\n"
		"       triage-run --profile [--output FILE]\n"
		"\n"
		"Runs a zoo DNN on the CPU (XNNPACK) as a client of triaged, which maps its\n"
		"pipeline stages; without an agent it runs unmanaged. Prints a progress line\n"
		"every second on a terminal and at the end throughput and latency p50/p99.\n"
		"\n"
		"  --model NAME      a model of the zoo (" "$TRIAGE_MODELS or models/zoo)\n"
		"  --level L         its priority level (default normal)\n"
		"  --name N          its workload name (default: the model's)\n"
		"  --latency-ms T    its latency target (critical DNNs)\n"
		"  --rate R          requests per second (default: flat out)\n"
		"  --duration S      seconds to run (default 10)\n"
		"  --stages SPEC     auto, or FIRST-LAST[xTHREADS][@CPUS|@gpu]/...\n"
		"                    (docs/executor.md)\n"
		"  --json FILE       also write the final figures as JSON (- for stdout)\n"
		"  --output FILE     write the last inference's outputs when the run ends: raw\n"
		"                    float32, little-endian, the model's outputs one after the\n"
		"                    other (with --profile: where the profile goes)\n"
		"  --progress        progress lines even when stdout is no terminal\n"
		"  --profile         measure this machine's CPU units and write the planner's\n"
		"                    profile (default <platforms dir>/host.json)\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option long_opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "level", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "latency-ms", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stages", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "json", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "profile", no_argument, NULL, 'P' },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	*o = (struct options){ .level = "normal", .stages = "auto", .duration_s = 10, .seed = 1,
			       .progress = isatty(STDOUT_FILENO) };
	while ((c = getopt_long(argc, argv, "m:l:n:t:r:d:s:j:o:qh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'l': o->level = optarg; break;
		case 'n': o->name = optarg; break;
		case 's': o->stages = optarg; break;
		case 'j': o->json_path = optarg; break;
		case 'o': o->output = optarg; break;
		case 'P': o->profile = true; break;
		case 'p': o->progress = true; break;
		case 'q': o->quiet = true; o->progress = false; break;
		case 't': o->latency_ms = opt_double("--latency-ms", optarg, 0, 1e6); break;
		case 'r': o->rate_hz = opt_double("--rate", optarg, 0, 1e5); break;
		case 'd': o->duration_s = opt_double("--duration", optarg, 0.1, 1e6); break;
		case 'S': o->seed = opt_u64("--seed", optarg, 0, 1000000000000000ull); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "triage-run: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (!o->profile && !o->model) {
		fprintf(stderr, "triage-run: --model NAME is required (or --profile)\n");
		return -1;
	}
	if (o->profile && o->model) {
		fprintf(stderr, "triage-run: --profile measures every CPU unit with its own models; drop --model\n");
		return -1;
	}
	if (!o->name)
		o->name = o->model;
	o->models_dir = zoo_default_dir();
	return 0;
}

/* ---- the run ---------------------------------------------------------------- */

struct run {
	const struct options *o;
	struct dnn_model *m;
	struct dnn_exec *e;
	struct triage_client *client;
	struct exec_plan own; /* --stages */
	uint64_t agent_generation; /* of the assignment in force, 0: own plan */
	bool told_bad_assignment;
	double *lat_ms;
	size_t nr_lat, cap_lat;
	uint64_t started_ns, last_progress_ns, last_poll_ns, last_profile_ns;
	size_t progress_from; /* first latency of the current second */
	float *layer_ms;
	float *output; /* --output: the last collected inference's */
};

static void publish_stages(struct run *r)
{
	struct triage_client_stage_tids st[TRIAGE_CLIENT_MAX_STAGES];
	struct exec_plan p;
	uint64_t gen;

	exec_get_plan(r->e, &p, &gen);
	memset(st, 0, sizeof(st));
	for (int s = 0; s < p.nr_stages && s < TRIAGE_CLIENT_MAX_STAGES; s++) {
		pid_t tids[TRIAGE_CLIENT_MAX_TIDS];
		int n = exec_stage_tids(r->e, s, tids, TRIAGE_CLIENT_MAX_TIDS);

		st[s].first = (uint32_t)p.stages[s].first;
		st[s].last = (uint32_t)p.stages[s].last;
		st[s].threads = (uint32_t)p.stages[s].threads;
		st[s].nr_tids = (uint32_t)(n > 0 ? n : 0);
		for (int t = 0; t < n; t++)
			st[s].tids[t] = tids[t];
	}
	triage_client_publish_stages(r->client, p.nr_stages, st);
}

static void plan_of_assignment(const struct triage_client_assignment *a, struct exec_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->nr_stages = a->nr_stages;
	for (int s = 0; s < a->nr_stages && s < EXEC_MAX_STAGES; s++) {
		const struct triage_client_assign_stage *as = &a->stages[s];

		p->stages[s].first = (int)as->first;
		p->stages[s].last = (int)as->last;
		/* A GPU stage's CPUs are its fallback's: the executor runs it
		 * anywhere (a GPU stage has no CPU set), within the workload's
		 * cpuset. */
		p->stages[s].unit = as->unit == TRIAGE_CLIENT_UNIT_GPU ? EXEC_UNIT_GPU : EXEC_UNIT_CPU;
		if (p->stages[s].unit == EXEC_UNIT_CPU)
			triage_client_stage_cpus(as, &p->stages[s].cpus);
		p->stages[s].threads = as->threads ? (int)as->threads : CPU_COUNT(&p->stages[s].cpus);
		if (p->stages[s].unit == EXEC_UNIT_GPU && !as->threads)
			p->stages[s].threads = 1;
		if (p->stages[s].threads > EXEC_MAX_THREADS)
			p->stages[s].threads = EXEC_MAX_THREADS;
		if (p->stages[s].threads < 1)
			p->stages[s].threads = 1;
	}
}

/* Between two inferences: the agent's assignment when it has a new one,
 * back to --stages when the agent is gone. */
static void follow_agent(struct run *r)
{
	struct triage_client_assignment a;
	struct exec_plan p;
	char err[512], text[256];

	triage_client_assignment(r->client, &a);
	if (!a.managed || !a.nr_stages) {
		if (r->agent_generation && !a.managed) {
			if (exec_set_plan(r->e, &r->own, err, sizeof(err)) == 0) {
				fprintf(stderr, "triage-run: agent gone: back to --stages %s\n",
					r->o->stages);
				publish_stages(r);
			}
			r->agent_generation = 0;
		}
		return;
	}
	if (a.generation == r->agent_generation)
		return;
	plan_of_assignment(&a, &p);
	if (exec_set_plan(r->e, &p, err, sizeof(err))) {
		if (!r->told_bad_assignment)
			fprintf(stderr, "triage-run: the agent's assignment %llu does not fit: %s; keeping the stages running\n",
				(unsigned long long)a.generation, err);
		r->told_bad_assignment = true;
		r->agent_generation = a.generation; /* not again for this one */
		return;
	}
	r->agent_generation = a.generation;
	r->told_bad_assignment = false;
	publish_stages(r);
	triage_client_applied(r->client, a.generation);
	if (!r->o->quiet) {
		exec_plan_format(&p, text, sizeof(text));
		fprintf(stderr, "triage-run: agent's assignment %llu: stages %s\n",
			(unsigned long long)a.generation, text);
	}
}

/* A client just taken on gets its first assignment once the planner has
 * mapped its mix, most often in the same tick: waited for a little, so
 * the stages are not rebuilt under the first inferences. */
static void wait_for_plan(struct run *r)
{
	const struct timespec step = { 0, 2000000 };
	uint64_t until = mono_ns() + RUN_PLAN_WAIT_MS * 1000000ull;

	do {
		follow_agent(r);
		if (r->agent_generation)
			return;
		nanosleep(&step, NULL);
	} while (mono_ns() < until);
}

static void publish_profile(struct run *r)
{
	double ms[DNN_MAX_LAYERS];

	if (!exec_layer_times(r->e, ms))
		return;
	for (int i = 0; i < r->m->nr_layers; i++)
		r->layer_ms[i] = (float)ms[i];
	triage_client_publish_profile(r->client, r->layer_ms, r->m->nr_layers);
}

static void progress(struct run *r, uint64_t now)
{
	struct exec_plan p;
	char text[256];
	double secs = (double)(now - r->last_progress_ns) / 1e9;
	size_t n = r->nr_lat - r->progress_from;

	exec_get_plan(r->e, &p, NULL);
	exec_plan_format(&p, text, sizeof(text));
	printf("%-12s %6.1f/s  p50 %7.1f ms  p99 %7.1f ms  stages %s%s\n", r->o->name,
	       secs > 0 ? (double)n / secs : 0, quantile_copy(r->lat_ms + r->progress_from, n, 0.5),
	       quantile_copy(r->lat_ms + r->progress_from, n, 0.99), text,
	       r->agent_generation ? " (agent)" : "");
	fflush(stdout);
	r->progress_from = r->nr_lat;
	r->last_progress_ns = now;
}

static int record(struct run *r, const struct exec_result *res, uint64_t begin_ns)
{
	if (r->nr_lat == r->cap_lat) {
		size_t cap = r->cap_lat ? 2 * r->cap_lat : 1024;
		double *v = realloc(r->lat_ms, cap * sizeof(*v));

		if (!v)
			return -1;
		r->lat_ms = v;
		r->cap_lat = cap;
	}
	r->lat_ms[r->nr_lat++] = (double)(res->end_ns - begin_ns) / 1e6;
	triage_client_inference(r->client, begin_ns, res->end_ns);
	return 0;
}

static int collect_one(struct run *r)
{
	struct exec_result res;

	/* A copy per inference (the outputs are small beside what made
	 * them) rather than guessing which inference will be the last. */
	if (exec_collect(r->e, r->output, &res)) {
		fprintf(stderr, "triage-run: %s\n", exec_error(r->e));
		return -1;
	}
	/* At a rate the tag is the arrival: latency includes the wait. */
	return record(r, &res, res.tag ? res.tag : res.begin_ns);
}

static int drive(struct run *r, const float *input)
{
	const struct options *o = r->o;
	uint64_t period = o->rate_hz > 0 ? (uint64_t)(1e9 / o->rate_hz) : 0;
	uint64_t end = r->started_ns + (uint64_t)(o->duration_s * 1e9);
	uint64_t next_arrival = r->started_ns;

	for (;;) {
		uint64_t now = mono_ns();
		struct exec_plan p;
		int cap;

		if (stop_requested || now >= end)
			break;
		if (now - r->last_poll_ns >= ASSIGNMENT_POLL_NS) {
			r->last_poll_ns = now;
			follow_agent(r);
		}
		if (now - r->last_profile_ns >= PROFILE_PUBLISH_NS) {
			r->last_profile_ns = now;
			publish_profile(r);
		}
		if (o->progress && now - r->last_progress_ns >= 1000000000ull)
			progress(r, now);
		exec_get_plan(r->e, &p, NULL);
		/* One inference per stage keeps every stage busy; more would
		 * only wait in the queues and add to the latency. */
		cap = p.nr_stages;
		if (period && exec_in_flight(r->e) == 0 && next_arrival > now) {
			/* Idle until the next arrival, waking to poll the agent. */
			uint64_t wait = (next_arrival < end ? next_arrival : end) - now;
			struct timespec ts = { .tv_nsec = (long)(wait < 20000000 ? wait : 20000000) };

			nanosleep(&ts, NULL);
			continue;
		}
		if (exec_in_flight(r->e) < cap && (!period || next_arrival <= now)) {
			if (exec_submit(r->e, input, period ? next_arrival : 0)) {
				fprintf(stderr, "triage-run: %s\n", exec_error(r->e));
				return -1;
			}
			next_arrival += period;
			continue;
		}
		if (collect_one(r))
			return -1;
	}
	while (exec_in_flight(r->e) > 0)
		if (collect_one(r))
			return -1;
	return 0;
}

static int report(const struct run *r, uint64_t elapsed_ns)
{
	const struct options *o = r->o;
	double secs = (double)elapsed_ns / 1e9, p50 = quantile_copy(r->lat_ms, r->nr_lat, 0.5),
	       p99 = quantile_copy(r->lat_ms, r->nr_lat, 0.99);
	double tput = secs > 0 ? (double)r->nr_lat / secs : 0;
	struct json_object *j;
	FILE *f;

	if (!o->quiet || !o->json_path)
		printf("%s (%s): %zu inferences in %.1f s: %.2f/s, latency p50 %.1f ms, p99 %.1f ms\n",
		       o->name, o->model, r->nr_lat, secs, tput, p50, p99);
	if (!o->json_path)
		return 0;
	j = json_object_new_object();
	json_object_object_add(j, "name", json_object_new_string(o->name));
	json_object_object_add(j, "model", json_object_new_string(o->model));
	json_object_object_add(j, "level", json_object_new_string(o->level));
	json_object_object_add(j, "inferences", json_object_new_int64((int64_t)r->nr_lat));
	json_object_object_add(j, "seconds", json_object_new_double(secs));
	json_object_object_add(j, "throughput", json_object_new_double(tput));
	json_object_object_add(j, "latency_p50_ms", json_object_new_double(p50));
	json_object_object_add(j, "latency_p99_ms", json_object_new_double(p99));
	json_object_object_add(j, "rate_hz", json_object_new_double(o->rate_hz));
	json_object_object_add(j, "managed", json_object_new_boolean(triage_client_managed(r->client)));
	/* The level the agent granted, which its policy may have lowered. */
	json_object_object_add(j, "granted_level", json_object_new_string(triage_client_level(r->client)));
	f = strcmp(o->json_path, "-") ? fopen(o->json_path, "w") : stdout;
	if (!f) {
		fprintf(stderr, "triage-run: %s: %s\n", o->json_path, strerror(errno));
		json_object_put(j);
		return -1;
	}
	fprintf(f, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
	if (f != stdout)
		fclose(f);
	json_object_put(j);
	return 0;
}

/* --output: the last inference's outputs, little-endian whatever the host. */
static int write_output(const struct run *r)
{
	size_t n = exec_output_floats(r->e);
	int ret;

	if (!r->nr_lat) {
		fprintf(stderr, "triage-run: --output %s: no inference finished\n", r->o->output);
		return -1;
	}
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < n; i++) {
		uint32_t w;

		memcpy(&w, &r->output[i], sizeof(w));
		w = __builtin_bswap32(w);
		memcpy(&r->output[i], &w, sizeof(w));
	}
#endif
	ret = write_bytes_atomic(r->o->output, r->output, n * sizeof(float));
	if (ret) {
		fprintf(stderr, "triage-run: --output %s: %s\n", r->o->output, strerror(-ret));
		return -1;
	}
	return 0;
}

static int run_model(const struct options *o)
{
	struct run r = { .o = o };
	struct triage_client_info info;
	char err[1024];
	float *input = NULL;
	int status = EXIT_RUN_FAILED;

	r.m = dnn_model_alloc();
	r.layer_ms = calloc(DNN_MAX_LAYERS, sizeof(float));
	if (!r.m || !r.layer_ms)
		goto out;
	if (zoo_load_named(o->models_dir, o->model, r.m, err, sizeof(err))) {
		fprintf(stderr, "triage-run: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (exec_plan_parse(r.m, o->stages, &r.own, err, sizeof(err))) {
		fprintf(stderr, "triage-run: --stages: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	info = (struct triage_client_info){ .name = o->name, .model = o->model, .level = o->level,
					    .latency_ms = o->latency_ms, .rate_hz = o->rate_hz,
					    .nr_layers = r.m->nr_layers };
	r.client = triage_client_open(&info, NULL, err, sizeof(err));
	if (!r.client) {
		fprintf(stderr, "triage-run: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	/* GPU stages run on triage-gpud: at its critical level for a DNN
	 * with a latency target, else at its best-effort one. */
	run_gpud_use(o->model, o->name, o->latency_ms > 0);
	if (exec_create(r.m, o->seed, &r.own, &r.e, err, sizeof(err))) {
		fprintf(stderr, "triage-run: %s\n", err);
		goto out;
	}
	input = malloc(exec_input_floats(r.e) * sizeof(*input));
	if (o->output)
		r.output = malloc(exec_output_floats(r.e) * sizeof(*r.output));
	if (!input || (o->output && !r.output)) {
		fprintf(stderr, "triage-run: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < exec_input_floats(r.e); i++)
		input[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
	publish_stages(&r);
	/* Taken on first: the first inference runs in its level's class and
	 * on its stages, not at SCHED_OTHER until the agent's next tick. */
	if (triage_client_wait(r.client, RUN_AGENT_WAIT_MS))
		wait_for_plan(&r);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r.started_ns = r.last_progress_ns = r.last_profile_ns = mono_ns();
	if (drive(&r, input))
		goto out;
	publish_profile(&r);
	status = report(&r, mono_ns() - r.started_ns) ? EXIT_RUN_FAILED : 0;
	if (o->output && write_output(&r))
		status = EXIT_RUN_FAILED;
out:
	if (r.e)
		exec_destroy(r.e);
	triage_client_close(r.client);
	free(input);
	free(r.output);
	free(r.lat_ms);
	free(r.layer_ms);
	dnn_model_free(r.m);
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	char err[1024];

	if (parse_options(argc, argv, &o))
		return EXIT_USAGE;
	if (o.profile) {
		if (run_profile_host(o.models_dir, o.output, !o.quiet, err, sizeof(err))) {
			fprintf(stderr, "triage-run: --profile: %s\n", err);
			return EXIT_RUN_FAILED;
		}
		return 0;
	}
	return run_model(&o);
}

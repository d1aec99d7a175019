// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * planner-sim: every planner policy on random mixes of the model zoo,
 * judged by the simulator, on one or more platform profiles. Writes a
 * markdown report body (bench/planner adds the header) and a JSON file.
 *
 * The process pins itself to the CPU it starts on, so that decision times
 * are those of one core, as the agent's single planning thread would see.
 */
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "numparse.h"
#include "platform.h"
#include "zoo.h"

static const char usage[] =
	"usage: planner-sim [options]\n"
	"  --platform NAME        profile to run (repeatable; default orangepi5,\n"
	"                         orin-agx and hikey970)\n"
	"  --mixes N              flat-out mixes per platform (100)\n"
	"  --critical-mixes N     mixes whose rank-1 DNN is critical (mixes / 4)\n"
	"  --sizes LIST           DNNs per mix, cycled (3,4,5)\n"
	"  --seed S               (1)\n"
	"  --sim-seconds S        measured simulated time per run (10)\n"
	"  --warmup-seconds S     simulated before measuring (1)\n"
	"  --policies LIST        (all: rankmap,linux,greedy,...; linux always runs)\n"
	"  --rankmap-ms MS        RankMap's time budget (its default)\n"
	"  --gap-instances N      small instances for the exhaustive gap (20)\n"
	"  --gap-cuts K           cut points kept per model there (3)\n"
	"  --gap-limit N          most mappings plan_exhaustive may visit (2000000)\n"
	"  --decisions N          timed RankMap decisions (200)\n"
	"  --decision-platform P  where they are timed (orangepi5)\n"
	"  --decision-dnns N      DNNs per timed decision (5)\n"
	"  --platforms-dir DIR    --models-dir DIR   (the readers' defaults)\n"
	"  --no-pin               do not pin to one CPU\n"
	"  --out FILE             markdown report body\n"
	"  --json FILE            every figure, machine-readable\n"
	"  --trace FILE           one tab-separated line per DNN per policy per mix:\n"
	"                         estimated against simulated, and the mapping\n";

enum {
	OPT_PLATFORM = 256,
	OPT_MIXES,
	OPT_CRITICAL,
	OPT_SIZES,
	OPT_SEED,
	OPT_SIM_SECONDS,
	OPT_WARMUP,
	OPT_POLICIES,
	OPT_RANKMAP_MS,
	OPT_GAP_INSTANCES,
	OPT_GAP_CUTS,
	OPT_GAP_LIMIT,
	OPT_DECISIONS,
	OPT_DECISION_PLATFORM,
	OPT_DECISION_DNNS,
	OPT_PLATFORMS_DIR,
	OPT_MODELS_DIR,
	OPT_NO_PIN,
	OPT_OUT,
	OPT_JSON,
	OPT_TRACE,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "mixes", required_argument, NULL, OPT_MIXES },
	{ "critical-mixes", required_argument, NULL, OPT_CRITICAL },
	{ "sizes", required_argument, NULL, OPT_SIZES },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "sim-seconds", required_argument, NULL, OPT_SIM_SECONDS },
	{ "warmup-seconds", required_argument, NULL, OPT_WARMUP },
	{ "policies", required_argument, NULL, OPT_POLICIES },
	{ "rankmap-ms", required_argument, NULL, OPT_RANKMAP_MS },
	{ "gap-instances", required_argument, NULL, OPT_GAP_INSTANCES },
	{ "gap-cuts", required_argument, NULL, OPT_GAP_CUTS },
	{ "gap-limit", required_argument, NULL, OPT_GAP_LIMIT },
	{ "decisions", required_argument, NULL, OPT_DECISIONS },
	{ "decision-platform", required_argument, NULL, OPT_DECISION_PLATFORM },
	{ "decision-dnns", required_argument, NULL, OPT_DECISION_DNNS },
	{ "platforms-dir", required_argument, NULL, OPT_PLATFORMS_DIR },
	{ "models-dir", required_argument, NULL, OPT_MODELS_DIR },
	{ "no-pin", no_argument, NULL, OPT_NO_PIN },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int parse_sizes(struct bench_opts *o, char *s)
{
	o->nr_sizes = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (o->nr_sizes == BENCH_MAX_SIZES) {
			fprintf(stderr, "planner-sim: --sizes: at most %d sizes\n", BENCH_MAX_SIZES);
			return -1;
		}
		o->sizes[o->nr_sizes++] = (int)opt_long("--sizes", tok, 1, PLAN_MAX_DNNS);
	}
	if (!o->nr_sizes)
		fprintf(stderr, "planner-sim: --sizes: no size given\n");
	return o->nr_sizes ? 0 : -1;
}

static int parse_policies(struct bench_opts *o, char *s)
{
	memset(o->policy, 0, sizeof(o->policy));
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		int p = plan_policy_parse(tok);

		if (p < 0) {
			fprintf(stderr, "planner-sim: --policies: unknown policy %s\n", tok);
			return -1;
		}
		o->policy[p] = true;
	}
	o->policy[PLAN_POLICY_LINUX] = true;
	return 0;
}

static int parse_opts(struct bench_opts *o, int argc, char **argv)
{
	int critical = -1, c;

	memset(o, 0, sizeof(*o));
	o->mixes = 100;
	o->sizes[0] = 3;
	o->sizes[1] = 4;
	o->sizes[2] = 5;
	o->nr_sizes = 3;
	o->seed = 1;
	o->sim_seconds = 10;
	o->warmup_seconds = 1;
	for (int p = 0; p < PLAN_POLICY__COUNT; p++)
		o->policy[p] = true;
	o->gap_instances = 20;
	o->gap_cuts = 3;
	o->gap_limit = 2000000;
	o->decision_platform = "orangepi5";
	o->decisions = 200;
	o->decision_dnns = 5;
	o->pinned_cpu = -1;

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		int rc = 0;

		switch (c) {
		case OPT_PLATFORM:
			if (o->nr_platforms == BENCH_MAX_PLATFORMS) {
				fprintf(stderr, "planner-sim: at most %d platforms\n",
					BENCH_MAX_PLATFORMS);
				return -1;
			}
			o->platforms[o->nr_platforms++] = optarg;
			break;
		case OPT_MIXES:
			o->mixes = (int)opt_long("--mixes", optarg, 0, 100000);
			break;
		case OPT_CRITICAL:
			critical = (int)opt_long("--critical-mixes", optarg, 0, 100000);
			break;
		case OPT_SIZES:
			rc = parse_sizes(o, optarg);
			break;
		case OPT_SEED:
			o->seed = (uint64_t)opt_long("--seed", optarg, 0, LONG_MAX);
			break;
		case OPT_SIM_SECONDS:
			o->sim_seconds = opt_double("--sim-seconds", optarg, 0.001, 1e9);
			break;
		case OPT_WARMUP:
			o->warmup_seconds = opt_double("--warmup-seconds", optarg, 0, 1e9);
			break;
		case OPT_POLICIES:
			rc = parse_policies(o, optarg);
			break;
		case OPT_RANKMAP_MS:
			o->rankmap_ms = opt_double("--rankmap-ms", optarg, 0, 1e9);
			break;
		case OPT_GAP_INSTANCES:
			o->gap_instances = (int)opt_long("--gap-instances", optarg, 0, 100000);
			break;
		case OPT_GAP_CUTS:
			o->gap_cuts = (int)opt_long("--gap-cuts", optarg, 0, PLAN_MAX_LAYERS);
			break;
		case OPT_GAP_LIMIT:
			o->gap_limit = (uint64_t)opt_long("--gap-limit", optarg, 1, LONG_MAX);
			break;
		case OPT_DECISIONS:
			o->decisions = (int)opt_long("--decisions", optarg, 0, 1000000);
			break;
		case OPT_DECISION_PLATFORM:
			o->decision_platform = optarg;
			break;
		case OPT_DECISION_DNNS:
			o->decision_dnns =
				(int)opt_long("--decision-dnns", optarg, 1, PLAN_MAX_DNNS);
			break;
		case OPT_PLATFORMS_DIR:
			o->platforms_dir = optarg;
			break;
		case OPT_MODELS_DIR:
			o->models_dir = optarg;
			break;
		case OPT_NO_PIN:
			o->no_pin = true;
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case OPT_JSON:
			o->json = optarg;
			break;
		case OPT_TRACE:
			if (o->trace)
				fclose(o->trace);
			o->trace = fopen(optarg, "w");
			if (!o->trace) {
				perror(optarg);
				return -1;
			}
			fprintf(o->trace, "platform\tmix\tcritical\tpolicy\tdnn\trank\tpotential\t"
					  "estimated\tsimulated\tlatency_ms\ttarget_ms\tmapping\n");
			break;
		case OPT_HELP:
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -1;
		}
		if (rc)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "planner-sim: unexpected argument %s\n%s", argv[optind], usage);
		return -1;
	}
	if (!o->nr_platforms) {
		o->platforms[o->nr_platforms++] = "orangepi5";
		o->platforms[o->nr_platforms++] = "orin-agx";
		o->platforms[o->nr_platforms++] = "hikey970";
	}
	o->critical_mixes = critical >= 0 ? critical : o->mixes / 4;
	return 0;
}

/* Decision times are one core's: the agent plans on one thread. */
static int pin_to_current_cpu(struct bench_opts *o)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		cpu = 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("planner-sim: sched_setaffinity");
		return -1;
	}
	o->pinned_cpu = cpu;
	return 0;
}

static int load_zoo(const struct bench_opts *o, struct bench_zoo *zoo)
{
	const char *dir = o->models_dir ? o->models_dir : zoo_default_dir();
	char names[BENCH_MAX_MODELS][PLAN_NAME_MAX], err[512];
	struct dnn_model *dm = dnn_model_alloc();
	int n = zoo_list(dir, names, BENCH_MAX_MODELS, err, sizeof(err));

	if (n < 0 || !dm) {
		fprintf(stderr, "planner-sim: models: %s\n", n < 0 ? err : "out of memory");
		dnn_model_free(dm);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct plan_model *pm = malloc(sizeof(*pm));

		if (!pm || zoo_load_named(dir, names[i], dm, err, sizeof(err)) ||
		    zoo_to_plan_model(dm, pm, err, sizeof(err))) {
			fprintf(stderr, "planner-sim: %s\n", pm ? err : "out of memory");
			free(pm);
			dnn_model_free(dm);
			return -1;
		}
		zoo->model[zoo->nr++] = pm;
	}
	dnn_model_free(dm);
	if (zoo->nr < 2) {
		fprintf(stderr, "planner-sim: %s: %d models, need at least 2\n", dir, zoo->nr);
		return -1;
	}
	return 0;
}

static bool names_output(const char *arg)
{
	static const char *const opts[] = { "--out", "--json", "--trace" };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		size_t n = strlen(opts[i]);

		if (!strncmp(arg, opts[i], n) && (!arg[n] || arg[n] == '='))
			return true;
	}
	return false;
}

/* The command line for the report, less where the outputs went: those
 * paths say nothing about the figures and are often temporary. */
static char *join_argv(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (names_output(argv[i])) {
			i += !strchr(argv[i], '=');
			continue;
		}
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static int write_report(const char *path, const struct bench_opts *o, const struct bench_zoo *zoo,
			const struct bench_results *r, bool json)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return -1;
	}
	if (json)
		bench_report_json(f, o, zoo, r);
	else
		bench_report_markdown(f, o, zoo, r);
	if (fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench_results results;
	struct bench_opts o;
	struct bench_zoo zoo = { 0 };
	struct plan_platform pf;
	char err[512];
	int ret = 1;

	if (parse_opts(&o, argc, argv))
		return 2;
	o.command = join_argv(argc, argv);
	if (!o.no_pin && pin_to_current_cpu(&o))
		return 1;
	if (load_zoo(&o, &zoo))
		goto out;
	results.sim_seconds = o.sim_seconds;
	results.warmup_seconds = o.warmup_seconds;
	for (int p = 0; p < o.nr_platforms; p++) {
		struct bench_platform *bp = &results.platform[results.nr_platforms++];

		if (platform_load_named(o.platforms_dir, o.platforms[p], &pf, err, sizeof(err))) {
			fprintf(stderr, "planner-sim: %s\n", err);
			goto out;
		}
		if (bench_platform_run(&o, &pf, &zoo, bp))
			fprintf(stderr, "planner-sim: %s: %s\n", pf.name, bp->error);
	}
	if (o.decisions > 0) {
		if (platform_load_named(o.platforms_dir, o.decision_platform, &pf, err,
					sizeof(err))) {
			fprintf(stderr, "planner-sim: %s\n", err);
			goto out;
		}
		if (bench_decisions_run(&o, &pf, &zoo, &results.decisions))
			fprintf(stderr, "planner-sim: decisions: %s\n", results.decisions.error);
	}
	if (o.out && write_report(o.out, &o, &zoo, &results, false))
		goto out;
	if (o.json && write_report(o.json, &o, &zoo, &results, true))
		goto out;
	if (!o.out && !o.json)
		bench_report_markdown(stdout, &o, &zoo, &results);
	ret = 0;
out:
	bench_results_free(&results);
	for (int i = 0; i < zoo.nr; i++)
		free(zoo.model[i]);
	free((char *)o.command);
	if (o.trace && fclose(o.trace))
		ret = 1;
	return ret;
}

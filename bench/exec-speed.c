// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * exec-speed: how fast the CPU executor (exec/exec.h) runs zoo models.
 *
 *   exec-speed [-n RUNS] [-w WARMUP] [-t THREADS[,THREADS...]] [-p SPEC] [MODEL...]
 *
 * Latency: each inference alone (submit, then collect), one stage of each
 * thread count; the median of RUNS after WARMUP, and the model's FLOPs
 * (dnn_model_totals(), docs/models.md's counting) over it as GFLOP/s.
 * With -p SPEC (a stage spec of exec_plan_parse()) it measures that plan
 * instead, and also its throughput with the pipeline kept full.
 * Defaults: 20 runs after 3, threads 1,2, resnet18 and mobilenetv2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "exec.h"
#include "numparse.h"

#define MAX_THREAD_COUNTS 8

struct options {
	int runs, warmup;
	int threads[MAX_THREAD_COUNTS], nr_threads;
	const char *spec;
};

/* Median latency in ms of o->runs lone inferences; throughput in
 * inferences per second with the pipeline full, into *per_s. */
static int measure(const struct dnn_model *m, const struct exec_plan *plan, const struct options *o,
		   double *median_ms, double *per_s)
{
	struct exec_time_opts to = { .warmup = o->warmup, .runs = o->runs };
	struct exec_timing t;
	struct dnn_exec *e;
	char err[512];
	uint64_t begin;
	float *in;

	if (exec_create(m, 1, plan, &e, err, sizeof(err))) {
		fprintf(stderr, "exec-speed: %s\n", err);
		return -1;
	}
	in = exec_input_alloc(e);
	if (!in || exec_time(e, &to, &t, err, sizeof(err))) {
		fprintf(stderr, "exec-speed: %s\n", in ? err : "out of memory");
		exec_destroy(e);
		free(in);
		return -1;
	}
	*median_ms = t.median_ms;
	/* Throughput: keep submitting, collect once the pipeline is full. */
	begin = mono_ns();
	for (int k = 0; k < o->runs; k++) {
		if (exec_submit(e, in, k))
			break;
		if (exec_in_flight(e) > EXEC_MAX_STAGES * (EXEC_QUEUE_DEPTH + 1))
			exec_collect(e, NULL, NULL);
	}
	while (exec_in_flight(e))
		exec_collect(e, NULL, NULL);
	*per_s = o->runs / ((mono_ns() - begin) / 1e9);
	exec_destroy(e);
	free(in);
	return 0;
}

static int bench_model(const char *name, const struct options *o)
{
	struct dnn_model *m = dnn_model_alloc();
	struct dnn_totals tot;
	struct exec_plan plan;
	char err[512], spec[256];
	double ms, per_s;

	if (zoo_load_named(zoo_default_dir(), name, m, err, sizeof(err))) {
		fprintf(stderr, "exec-speed: %s\n", err);
		dnn_model_free(m);
		return -1;
	}
	dnn_model_totals(m, &tot);
	for (int t = 0; t < (o->spec ? 1 : o->nr_threads); t++) {
		if (o->spec) {
			if (exec_plan_parse(m, o->spec, &plan, err, sizeof(err))) {
				fprintf(stderr, "exec-speed: %s: %s\n", name, err);
				dnn_model_free(m);
				return -1;
			}
		} else {
			exec_plan_single(m, o->threads[t], &plan);
		}
		exec_plan_format(&plan, spec, sizeof(spec));
		if (measure(m, &plan, o, &ms, &per_s)) {
			dnn_model_free(m);
			return -1;
		}
		printf("%-14s %-24s %9.2f ms %8.2f GFLOP/s %8.1f inf/s (%.3f GFLOP per "
		       "inference)\n",
		       name, spec, ms, tot.flops / (ms * 1e6), per_s, tot.flops / 1e9);
		fflush(stdout);
	}
	dnn_model_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = { "resnet18", "mobilenetv2" };
	struct options o = { .runs = 20, .warmup = 3, .threads = { 1, 2 }, .nr_threads = 2 };
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "n:w:t:p:h")) != -1) {
		switch (opt) {
		case 'n':
			o.runs = (int)opt_long("-n", optarg, 1, 1000000);
			break;
		case 'w':
			o.warmup = (int)opt_long("-w", optarg, 0, 1000000);
			break;
		case 't':
			o.nr_threads = 0;
			for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				if (o.nr_threads == MAX_THREAD_COUNTS) {
					fprintf(stderr, "exec-speed: -t: at most %d counts\n",
						MAX_THREAD_COUNTS);
					return 2;
				}
				o.threads[o.nr_threads++] =
					(int)opt_long("-t", tok, 1, EXEC_MAX_THREADS);
			}
			if (!o.nr_threads) {
				fprintf(stderr, "exec-speed: -t: no thread count\n");
				return 2;
			}
			break;
		case 'p':
			o.spec = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n RUNS] [-w WARMUP] [-t THREADS,...] [-p SPEC] "
				"[MODEL...]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	printf("%-14s %-24s %12s %16s %12s\n", "model", "plan", "median", "rate", "throughput");
	if (optind == argc)
		for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++)
			ret |= bench_model(defaults[k], &o);
	for (int a = optind; a < argc; a++)
		ret |= bench_model(argv[a], &o);
	return ret ? 1 : 0;
}

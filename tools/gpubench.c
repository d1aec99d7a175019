// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triage-gpubench: one critical DNN at a fixed request rate beside one to
 * three best-effort DNNs running flat out, under each coordinator policy
 * (cuda/coord.h). Per policy: the critical DNN's latency p50/p99 against
 * its isolated run, best-effort and total throughput against sequential,
 * and the target (critical p99 within 5% of isolated, total
 * throughput at least 92% over sequential, both better than stream
 * priorities alone). docs/gpu.md explains how to read it.
 *
 * Exit status: 0 ran (targets are reported, not enforced), 1 failed (a
 * CUDA error, a kernel launched twice or never), 2 bad usage, 77 no GPU
 * here (no driver, no device): the one line says which.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "coord.h"
#include "numparse.h"
#include "slice.h"

#define EXIT_USAGE 2
#define EXIT_NO_GPU 77
#define MAX_BE 3

/* The target for the benchmark. */
#define TARGET_P99_OVER_ISOLATED 1.05
#define TARGET_TOTAL_OVER_SEQUENTIAL 1.92

struct bench {
	const char *critical;
	const char *best_effort[MAX_BE];
	int nr_be;
	double rate_hz;
	double duration_s, warmup_s;
	double share;
	bool policy_on[COORD_POLICY__COUNT];
	const char *models_dir;
	const char *report;
	const char *shares_path;
	int device;
	uint64_t seed;
	struct coord_opts opts; /* the tuning knobs; policy and times set per run */
};

struct outcome {
	bool ran;
	char why[320]; /* when it did not */
	struct coord_result res;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: triage-gpubench [options]\n"
		"  -c, --critical MODEL      critical DNN (default resnet18)\n"
		"  -r, --rate HZ             its requests per second (default 30)\n"
		"  -b, --best-effort LIST    1 to 3 best-effort DNNs, comma-separated\n"
		"                            (default mobilenetv2)\n"
		"  -p, --policies LIST       elastic,sequential,multistream,priority,greenctx\n"
		"                            or all (default all)\n"
		"  -d, --duration S          measured seconds per run (default 10)\n"
		"  -w, --warmup S            unmeasured seconds before each (default 2)\n"
		"  -s, --share X             best-effort GPU share under elastic, 0..1 (default 1)\n"
		"      --shares-file PATH    follow the agent's GPU shares (elastic)\n"
		"      --rounds-shared N     slice length beside critical work (default %d)\n"
		"      --rounds-alone N      slice length with the GPU alone (default %d)\n"
		"      --depth N             launches in flight per best-effort stream (default 2)\n"
		"      --lookahead N         critical kernels a slice leaves room for (default 1)\n"
		"      --green-critical-sms N  greenctx: SMs of the critical part (default half)\n"
		"  -m, --models DIR          model zoo (default $TRIAGE_MODELS or models/zoo)\n"
		"  -o, --report FILE         write a markdown report\n"
		"      --device N            CUDA device ordinal (default 0)\n"
		"      --seed N              weights' seed (default 1)\n"
		"Exit: 0 ran, 1 failed, 2 usage, 77 no GPU here.\n",
		SLICE_ROUNDS_SHARED, SLICE_ROUNDS_ALONE);
}

static int parse_policies(struct bench *b, char *list)
{
	char *save = NULL;

	memset(b->policy_on, 0, sizeof(b->policy_on));
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int p = coord_policy_parse(t);

		if (!strcmp(t, "all")) {
			for (p = 0; p < COORD_POLICY__COUNT; p++)
				b->policy_on[p] = true;
			continue;
		}
		if (p < 0) {
			fprintf(stderr,
				"triage-gpubench: --policies: unknown policy %s (elastic, "
				"sequential, multistream, priority, greenctx, all)\n",
				t);
			return -1;
		}
		b->policy_on[p] = true;
	}
	return 0;
}

static int parse_best_effort(struct bench *b, char *list)
{
	char *save = NULL;

	b->nr_be = 0;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (b->nr_be == MAX_BE) {
			fprintf(stderr, "triage-gpubench: --best-effort: at most %d DNNs\n", MAX_BE);
			return -1;
		}
		b->best_effort[b->nr_be++] = t;
	}
	if (!b->nr_be) {
		fprintf(stderr, "triage-gpubench: --best-effort: at least one DNN\n");
		return -1;
	}
	return 0;
}

enum {
	OPT_SHARES_FILE = 256,
	OPT_ROUNDS_SHARED,
	OPT_ROUNDS_ALONE,
	OPT_DEPTH,
	OPT_LOOKAHEAD,
	OPT_GREEN_SMS,
	OPT_DEVICE,
	OPT_SEED,
};

static int parse_args(struct bench *b, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "critical", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "best-effort", required_argument, NULL, 'b' },
		{ "policies", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "share", required_argument, NULL, 's' },
		{ "shares-file", required_argument, NULL, OPT_SHARES_FILE },
		{ "rounds-shared", required_argument, NULL, OPT_ROUNDS_SHARED },
		{ "rounds-alone", required_argument, NULL, OPT_ROUNDS_ALONE },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "lookahead", required_argument, NULL, OPT_LOOKAHEAD },
		{ "green-critical-sms", required_argument, NULL, OPT_GREEN_SMS },
		{ "models", required_argument, NULL, 'm' },
		{ "report", required_argument, NULL, 'o' },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char default_be[] = "mobilenetv2";
	long v;
	int opt, bad = 0;

	b->critical = "resnet18";
	b->rate_hz = 30.0;
	b->duration_s = 10.0;
	b->warmup_s = 2.0;
	b->share = 1.0;
	b->seed = 1;
	for (int p = 0; p < COORD_POLICY__COUNT; p++)
		b->policy_on[p] = true;
	parse_best_effort(b, default_be);

	while (!bad && (opt = getopt_long(argc, argv, "c:r:b:p:d:w:s:m:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			b->critical = optarg;
			break;
		case 'r':
			b->rate_hz = opt_double("--rate", optarg, 0.01, 100000);
			break;
		case 'b':
			bad = parse_best_effort(b, optarg);
			break;
		case 'p':
			bad = parse_policies(b, optarg);
			break;
		case 'd':
			b->duration_s = opt_double("--duration", optarg, 0.1, 86400);
			break;
		case 'w':
			b->warmup_s = opt_double("--warmup", optarg, 0, 3600);
			break;
		case 's':
			b->share = opt_double("--share", optarg, 0, 1);
			break;
		case OPT_SHARES_FILE:
			b->shares_path = optarg;
			break;
		case OPT_ROUNDS_SHARED:
			b->opts.rounds_shared =
				(uint32_t)opt_long("--rounds-shared", optarg, 1, 1 << 16);
			break;
		case OPT_ROUNDS_ALONE:
			b->opts.rounds_alone =
				(uint32_t)opt_long("--rounds-alone", optarg, 1, 1 << 16);
			break;
		case OPT_DEPTH:
			b->opts.depth = (int)opt_long("--depth", optarg, 1, COORD_MAX_DEPTH);
			break;
		case OPT_LOOKAHEAD:
			v = opt_long("--lookahead", optarg, 0, 8);
			b->opts.lookahead = v ? (int)v : -1;
			break;
		case OPT_GREEN_SMS:
			b->opts.green_critical_sms =
				(int)opt_long("--green-critical-sms", optarg, 1, 4096);
			break;
		case 'm':
			b->models_dir = optarg;
			break;
		case 'o':
			b->report = optarg;
			break;
		case OPT_DEVICE:
			b->device = (int)opt_long("--device", optarg, 0, 64);
			break;
		case OPT_SEED:
			b->seed = (uint64_t)opt_long("--seed", optarg, 0, LONG_MAX);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			bad = 1;
		}
	}
	if (!bad && optind < argc) {
		fprintf(stderr, "triage-gpubench: unexpected argument %s\n", argv[optind]);
		bad = 1;
	}
	if (bad) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Model names checked before the GPU is touched: a typo is a usage error
 * on any machine. */
static int check_models(const struct bench *b)
{
	struct dnn_model *m = dnn_model_alloc();
	const char *dir = b->models_dir ? b->models_dir : zoo_default_dir();
	char err[512];
	int bad = 0;

	if (!m)
		return -1;
	for (int i = -1; i < b->nr_be && !bad; i++) {
		const char *name = i < 0 ? b->critical : b->best_effort[i];

		if (zoo_load_named(dir, name, m, err, sizeof(err))) {
			fprintf(stderr, "triage-gpubench: %s\n", err);
			bad = 1;
		}
	}
	dnn_model_free(m);
	return bad ? -1 : 0;
}

static int run_policy(const struct bench *b, struct gpu_device *g, const struct coord_dnn *cd,
		      int n, enum coord_policy p, struct outcome *out)
{
	struct coord_opts o = b->opts;
	int ret;

	o.policy = p;
	o.warmup_s = b->warmup_s;
	o.duration_s = b->duration_s;
	o.shares_path = p == COORD_ELASTIC ? b->shares_path : NULL;
	memset(out, 0, sizeof(*out));
	ret = coord_run(g, cd, n, &o, &out->res, out->why, sizeof(out->why));
	out->ran = !ret;
	return ret;
}

static uint64_t coverage_errors(const struct coord_result *r)
{
	uint64_t e = 0;

	for (int i = 0; i < r->nr_dnns; i++)
		e += r->dnn[i].coverage_errors;
	return e;
}

static double be_throughput(const struct coord_result *r)
{
	double t = 0.0;

	for (int i = 1; i < r->nr_dnns; i++)
		t += r->dnn[i].throughput;
	return t;
}

static uint64_t be_slices(const struct coord_result *r)
{
	uint64_t s = 0;

	for (int i = 1; i < r->nr_dnns; i++)
		s += r->dnn[i].slices;
	return s;
}

struct verdict {
	bool known;
	bool p99_ok, total_ok, beats_priority;
	double p99_ratio, total_ratio;
};

static struct verdict judge(const struct outcome *out, const struct coord_result *iso)
{
	const struct outcome *el = &out[COORD_ELASTIC], *seq = &out[COORD_SEQUENTIAL];
	const struct outcome *pr = &out[COORD_PRIORITY];
	struct verdict v = { 0 };

	if (!el->ran || !seq->ran || !iso->dnn[0].p99_ms || !seq->res.total_throughput)
		return v;
	v.known = true;
	v.p99_ratio = el->res.dnn[0].p99_ms / iso->dnn[0].p99_ms;
	v.total_ratio = el->res.total_throughput / seq->res.total_throughput;
	v.p99_ok = v.p99_ratio <= TARGET_P99_OVER_ISOLATED;
	v.total_ok = v.total_ratio >= TARGET_TOTAL_OVER_SEQUENTIAL;
	v.beats_priority = pr->ran && el->res.dnn[0].p99_ms < pr->res.dnn[0].p99_ms &&
			   el->res.total_throughput > pr->res.total_throughput;
	return v;
}

static void print_table(FILE *f, bool md, const struct bench *b, const struct outcome *out,
			const struct coord_result *iso)
{
	const struct outcome *seq = &out[COORD_SEQUENTIAL];

	if (md) {
		fprintf(f, "| policy | critical p50 ms | critical p99 ms | p99 / isolated | "
			   "unserved | best-effort inf/s | total inf/s | total / sequential | "
			   "best-effort slices | coverage errors |\n");
		fprintf(f, "|---|---|---|---|---|---|---|---|---|---|\n");
	} else {
		fprintf(f, "%-12s %9s %9s %8s %8s %10s %10s %7s %9s %6s\n", "policy", "p50 ms",
			"p99 ms", "p99/iso", "unserved", "be inf/s", "total/s", "x seq", "slices",
			"errors");
	}
	for (int p = 0; p < COORD_POLICY__COUNT; p++) {
		const struct outcome *o = &out[p];
		const struct coord_stats *c = &o->res.dnn[0];
		double ratio = iso->dnn[0].p99_ms ? c->p99_ms / iso->dnn[0].p99_ms : 0.0;
		double vs_seq = seq->ran && seq->res.total_throughput
					? o->res.total_throughput / seq->res.total_throughput
					: 0.0;

		if (!b->policy_on[p])
			continue;
		if (!o->ran) {
			if (md)
				fprintf(f, "| %s | %s | | | | | | | | |\n", coord_policy_name(p),
					o->why);
			else
				fprintf(f, "%-12s %s\n", coord_policy_name(p), o->why);
			continue;
		}
		if (md)
			fprintf(f,
				"| %s | %.2f | %.2f | %.3f | %llu | %.1f | %.1f | %.2f | %llu | %llu |\n",
				coord_policy_name(p), c->p50_ms, c->p99_ms, ratio,
				(unsigned long long)c->unserved, be_throughput(&o->res),
				o->res.total_throughput, vs_seq,
				(unsigned long long)be_slices(&o->res),
				(unsigned long long)coverage_errors(&o->res));
		else
			fprintf(f, "%-12s %9.2f %9.2f %8.3f %8llu %10.1f %10.1f %7.2f %9llu %6llu\n",
				coord_policy_name(p), c->p50_ms, c->p99_ms, ratio,
				(unsigned long long)c->unserved, be_throughput(&o->res),
				o->res.total_throughput, vs_seq,
				(unsigned long long)be_slices(&o->res),
				(unsigned long long)coverage_errors(&o->res));
		if (o->res.note[0])
			fprintf(f, md ? "\n%s: %s\n\n" : "  %s: %s\n", coord_policy_name(p),
				o->res.note);
	}
}

static void print_verdict(FILE *f, const struct verdict *v)
{
	if (!v->known) {
		fprintf(f, "target: not judged (needs elastic, sequential and the isolated run)\n");
		return;
	}
	fprintf(f,
		"target: %s: critical p99 %.3fx isolated (<= %.2f: %s), total throughput %.2fx "
		"sequential (>= %.2f: %s), better than priority on both: %s\n",
		v->p99_ok && v->total_ok && v->beats_priority ? "PASS" : "MISS", v->p99_ratio,
		TARGET_P99_OVER_ISOLATED, v->p99_ok ? "yes" : "no", v->total_ratio,
		TARGET_TOTAL_OVER_SEQUENTIAL, v->total_ok ? "yes" : "no",
		v->beats_priority ? "yes" : "no");
}

static void describe(FILE *f, bool md, const struct bench *b, const struct gpu_device *g,
		     const struct gpu_dnn *dnns, const struct coord_result *iso,
		     const double *iso_be)
{
	const char *item = md ? "- " : "";

	fprintf(f, "%sGPU: %s (sm_%d%d, %d SMs, %d threads and %d blocks per SM), driver %d.%d\n",
		item, g->name, g->cc_major, g->cc_minor, g->nr_sms, g->max_threads_per_sm,
		g->max_blocks_per_sm, cu.driver_version / 1000, cu.driver_version % 1000 / 10);
	fprintf(f, "%scritical: %s at %.1f requests/s; best-effort:", item, dnns[0].name,
		b->rate_hz);
	for (int i = 0; i < b->nr_be; i++)
		fprintf(f, " %s", dnns[1 + i].name);
	fprintf(f, " (share %.2f); %.1f s measured after %.1f s warm-up per run\n", b->share,
		b->duration_s, b->warmup_s);
	fprintf(f, "%sisolated: %s p50 %.2f ms, p99 %.2f ms", item, dnns[0].name, iso->dnn[0].p50_ms,
		iso->dnn[0].p99_ms);
	for (int i = 0; i < b->nr_be; i++)
		fprintf(f, "; %s %.1f inf/s", dnns[1 + i].name, iso_be[i]);
	fprintf(f, "\n");
}

static int write_report(const struct bench *b, const struct gpu_device *g,
			const struct gpu_dnn *dnns, const struct outcome *out,
			const struct coord_result *iso, const double *iso_be,
			const struct verdict *v)
{
	FILE *f = fopen(b->report, "w");
	char when[64];
	time_t now = time(NULL);
	struct utsname u;

	if (!f) {
		fprintf(stderr, "triage-gpubench: %s: cannot write: %s\n", b->report,
			strerror(errno));
		return -1;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	uname(&u);
	fprintf(f, "## triage-gpubench on %s, %s\n\n", g->name, when);
	fprintf(f, "- host: %s %s\n", u.machine, u.release);
	describe(f, true, b, g, dnns, iso, iso_be);
	fprintf(f, "\n");
	print_table(f, true, b, out, iso);
	fprintf(f, "\n");
	print_verdict(f, v);
	if (fclose(f)) {
		fprintf(stderr, "triage-gpubench: %s: cannot write: %s\n", b->report,
			strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	static struct gpu_device g;
	static struct gpu_dnn dnns[1 + MAX_BE];
	static struct outcome out[COORD_POLICY__COUNT];
	static struct coord_result iso;
	struct coord_dnn cd[1 + MAX_BE];
	double iso_be[MAX_BE] = { 0 };
	char err[512];
	struct verdict v;
	int ret, status = 0, n;

	if (parse_args(&b, argc, argv) || check_models(&b))
		return EXIT_USAGE;
	ret = gpu_device_open(&g, b.device, err, sizeof(err));
	if (ret) {
		bool no_gpu = ret == -ENOENT || ret == -ENODEV || ret == -ENOSYS;

		fprintf(stderr, "triage-gpubench: %s%s\n", no_gpu ? "no GPU here: " : "", err);
		return no_gpu ? EXIT_NO_GPU : 1;
	}
	n = 1 + b.nr_be;
	for (int i = 0; i < n; i++) {
		const char *name = i ? b.best_effort[i - 1] : b.critical;

		ret = gpu_dnn_load(&g, b.models_dir, name, b.seed + (uint64_t)i, &dnns[i], err,
				   sizeof(err));
		if (ret) {
			fprintf(stderr, "triage-gpubench: %s\n", err);
			status = 1;
			goto out;
		}
		cd[i] = (struct coord_dnn){
			.dnn = &dnns[i],
			.level = i ? COORD_BEST_EFFORT : COORD_CRITICAL,
			.rate_hz = i ? 0.0 : b.rate_hz,
			.share = i ? b.share : 1.0,
		};
	}

	/* Isolated: the critical DNN alone at its rate on the greatest
	 * priority; each best-effort DNN alone, flat out, whole launches. */
	{
		struct outcome alone;

		if (run_policy(&b, &g, cd, 1, COORD_PRIORITY, &alone)) {
			fprintf(stderr, "triage-gpubench: isolated %s: %s\n", dnns[0].name, alone.why);
			status = 1;
			goto out;
		}
		iso = alone.res;
		for (int i = 0; i < b.nr_be; i++) {
			if (run_policy(&b, &g, &cd[1 + i], 1, COORD_MULTISTREAM, &alone)) {
				fprintf(stderr, "triage-gpubench: isolated %s: %s\n", dnns[1 + i].name,
					alone.why);
				status = 1;
				goto out;
			}
			iso_be[i] = alone.res.dnn[0].throughput;
			coord_result_free(&alone.res);
		}
	}
	describe(stdout, false, &b, &g, dnns, &iso, iso_be);
	fflush(stdout);

	for (int p = 0; p < COORD_POLICY__COUNT; p++) {
		if (!b.policy_on[p])
			continue;
		ret = run_policy(&b, &g, cd, n, p, &out[p]);
		if (ret == -EOPNOTSUPP) {
			/* An unavailable baseline is a row that says why. */
			continue;
		}
		if (ret) {
			fprintf(stderr, "triage-gpubench: %s: %s\n", coord_policy_name(p), out[p].why);
			status = 1;
			goto out;
		}
		if (coverage_errors(&out[p].res)) {
			fprintf(stderr,
				"triage-gpubench: %s: %llu kernels not launched exactly once\n",
				coord_policy_name(p),
				(unsigned long long)coverage_errors(&out[p].res));
			status = 1;
		}
	}
	print_table(stdout, false, &b, out, &iso);
	v = judge(out, &iso);
	print_verdict(stdout, &v);
	if (b.report && write_report(&b, &g, dnns, out, &iso, iso_be, &v))
		status = 1;

out:
	for (int p = 0; p < COORD_POLICY__COUNT; p++)
		coord_result_free(&out[p].res);
	coord_result_free(&iso);
	for (int i = 0; i < n && i < 1 + MAX_BE; i++)
		gpu_dnn_free(&dnns[i]);
	gpu_device_close(&g);
	return status;
}

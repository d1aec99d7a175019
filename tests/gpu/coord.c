// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The coordinator on a real GPU, under every policy: a critical DNN at a
 * fixed rate and two best-effort DNNs flat out until each finished a few
 * inferences. No kernel may be lost or repeated: the coordinator's own
 * count must show every grid launched exactly once, and every layer's
 * output, poisoned before the run, must come out bit-identical to a
 * plain whole-kernel run (a block that never ran leaves the poison; the
 * bits cannot differ otherwise, since no result depends on the slicing).
 * Then the GPU shares: the coordinator must pick up a share the agent
 * writes, and a best-effort DNN at share 0 must still finish.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord.h"
#include "gpu_shares.h"
#include "gpu_tests.h"

#define NR_DNNS 3
#define INFERENCES (tests_light ? 2 : 8)

static const char *const names[NR_DNNS] = { "resnet18", "mobilenetv2", "squeezenet11" };
static const char *const light_names[NR_DNNS] = { "squeezenet11", "mobilenetv2", "squeezenet11" };

struct snapshot {
	float *v;
	size_t n;
};

/* Every layer output of d, one after another. */
static int take(const struct gpu_dnn *d, struct snapshot *s)
{
	char err[256];
	size_t at = 0;

	s->n = 0;
	for (int i = 0; i < d->model->nr_layers; i++)
		s->n += (size_t)gpu_dnn_tensor_elems(d, i);
	s->v = malloc(s->n * sizeof(float));
	if (!s->v)
		return -1;
	for (int i = 0; i < d->model->nr_layers; i++) {
		size_t n = (size_t)gpu_dnn_tensor_elems(d, i);

		if (gpu_dnn_read(d, i, s->v + at, n, err, sizeof(err))) {
			fprintf(stderr, "gpu-tests: %s\n", err);
			return -1;
		}
		at += n;
	}
	return 0;
}

static void run_policy(struct gpu_device *g, struct gpu_dnn *d, const struct coord_dnn *cd,
		       const struct snapshot *ref, enum coord_policy p)
{
	struct coord_opts o = { .policy = p, .inferences = INFERENCES };
	struct coord_result res;
	uint64_t launches = 0, slices = 0, shared = 0;
	char err[512];
	const char *name = coord_policy_name(p);
	int ret;

	for (int i = 0; i < NR_DNNS; i++)
		if (gpu_dnn_poison(&d[i], err, sizeof(err))) {
			tap_not_ok("coordinator %s: %s", name, err);
			return;
		}
	ret = coord_run(g, cd, NR_DNNS, &o, &res, err, sizeof(err));
	if (ret == -EOPNOTSUPP) {
		tap_skip("coordinator %s: %s", name, err);
		return;
	}
	if (ret) {
		tap_not_ok("coordinator %s: %s", name, err);
		return;
	}
	for (int i = 0; i < NR_DNNS; i++) {
		const struct coord_stats *st = &res.dnn[i];
		struct snapshot got;

		if (st->coverage_errors) {
			tap_not_ok("coordinator %s: %s: %llu kernels not launched exactly once",
				   name, d[i].name, (unsigned long long)st->coverage_errors);
			goto out;
		}
		if (st->kernels_done != (uint64_t)INFERENCES * d[i].nr_kernels) {
			tap_not_ok("coordinator %s: %s: %llu kernels done, %d inferences are %llu",
				   name, d[i].name, (unsigned long long)st->kernels_done,
				   INFERENCES,
				   (unsigned long long)INFERENCES * (unsigned long long)d[i].nr_kernels);
			goto out;
		}
		/* Whole launches: one per kernel; slices: at least that. */
		if ((p != COORD_ELASTIC || !i) ? st->launches != st->kernels_done || st->slices
					       : st->launches < st->kernels_done) {
			tap_not_ok("coordinator %s: %s: %llu launches (%llu partial) for %llu kernels",
				   name, d[i].name, (unsigned long long)st->launches,
				   (unsigned long long)st->slices,
				   (unsigned long long)st->kernels_done);
			goto out;
		}
		if (take(&d[i], &got) || got.n != ref[i].n ||
		    memcmp(got.v, ref[i].v, got.n * sizeof(float))) {
			free(got.v);
			tap_not_ok("coordinator %s: %s: layer outputs differ from a whole-kernel run",
				   name, d[i].name);
			goto out;
		}
		free(got.v);
		launches += st->launches;
		if (i) {
			slices += st->slices;
			shared += st->slices_shared;
		}
	}
	if (p == COORD_ELASTIC && !slices) {
		tap_not_ok("coordinator elastic: the best-effort DNNs were never sliced");
		goto out;
	}
	tap_ok("coordinator %s: %d DNNs x %d inferences, no lost or repeated kernels (%llu "
	       "launches, %llu best-effort slices, %llu beside critical work), outputs "
	       "bit-identical",
	       name, NR_DNNS, INFERENCES, (unsigned long long)launches,
	       (unsigned long long)slices, (unsigned long long)shared);
out:
	coord_result_free(&res);
}

static void test_shares(struct gpu_device *g, struct coord_dnn *cd)
{
	char dir[] = "/tmp/triage-gpu-tests-XXXXXX", path[128], err[512];
	struct coord_opts o = { .policy = COORD_ELASTIC, .inferences = 2 };
	struct gpu_shares_file w;
	struct coord_result res;
	int ret;

	if (!mkdtemp(dir)) {
		tap_not_ok("coordinator follows the GPU shares: no temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, TRIAGE_GPU_SHARES_FILE);
	if (gpu_shares_create(path, &w, err, sizeof(err)) ||
	    gpu_shares_set(w.s, cd[1].dnn->name, 250, err, sizeof(err))) {
		tap_not_ok("coordinator follows the GPU shares: %s", err);
		rmdir(dir);
		return;
	}
	o.shares_path = path;
	ret = coord_run(g, cd, NR_DNNS, &o, &res, err, sizeof(err));
	if (ret)
		tap_not_ok("coordinator follows the GPU shares: %s", err);
	else if (res.dnn[1].share != 0.25 || res.dnn[2].share != cd[2].share || res.note[0])
		tap_not_ok("coordinator follows the GPU shares: shares %g and %g, expected 0.25 "
			   "and %g%s%s",
			   res.dnn[1].share, res.dnn[2].share, cd[2].share, res.note[0] ? "; " : "",
			   res.note);
	else
		tap_ok("coordinator follows the GPU shares (%s at 250 per mille, %s unnamed)",
		       cd[1].dnn->name, cd[2].dnn->name);
	if (!ret)
		coord_result_free(&res);

	/* Share 0: one block at a time, and still done. */
	if (gpu_shares_set(w.s, cd[1].dnn->name, 0, err, sizeof(err)) ||
	    coord_run(g, cd, NR_DNNS, &(struct coord_opts){ .policy = COORD_ELASTIC,
							    .inferences = 1,
							    .shares_path = path },
		      &res, err, sizeof(err))) {
		tap_not_ok("best-effort DNN at share 0 still finishes: %s", err);
	} else {
		if (res.dnn[1].coverage_errors || res.dnn[1].share != 0.0)
			tap_not_ok("best-effort DNN at share 0 still finishes: share %g, %llu "
				   "coverage errors",
				   res.dnn[1].share, (unsigned long long)res.dnn[1].coverage_errors);
		else
			tap_ok("best-effort DNN at share 0 still finishes (%llu slices)",
			       (unsigned long long)res.dnn[1].slices);
		coord_result_free(&res);
	}
	gpu_shares_close(&w);
	unlink(path);
	rmdir(dir);
}

void test_coordinator(struct gpu_device *g)
{
	static struct gpu_dnn d[NR_DNNS];
	struct snapshot ref[NR_DNNS] = { 0 };
	struct coord_dnn cd[NR_DNNS];
	char err[512];
	CUstream s = NULL;
	int i;

	for (i = 0; i < NR_DNNS; i++) {
		const char *name = tests_light ? light_names[i] : names[i];

		if (gpu_dnn_load(g, NULL, name, 100 + (uint64_t)i, &d[i], err, sizeof(err))) {
			tap_not_ok("coordinator: %s", err);
			goto out;
		}
		cd[i] = (struct coord_dnn){
			.dnn = &d[i],
			.level = i ? COORD_BEST_EFFORT : COORD_CRITICAL,
			.rate_hz = i ? 0.0 : 200.0,
			.share = 1.0,
		};
	}
	if (gpu_stream_create_default(g, &s, err, sizeof(err))) {
		tap_not_ok("coordinator: %s", err);
		goto out;
	}
	for (i = 0; i < NR_DNNS; i++) {
		if (gpu_dnn_poison(&d[i], err, sizeof(err)) || run_whole(g, &d[i], s, err, sizeof(err)) ||
		    take(&d[i], &ref[i])) {
			tap_not_ok("coordinator: reference run of %s failed", d[i].name);
			goto out;
		}
	}
	for (int p = 0; p < COORD_POLICY__COUNT; p++)
		run_policy(g, d, cd, ref, p);
	test_shares(g, cd);
out:
	if (s)
		cu.StreamDestroy(s);
	for (i = 0; i < NR_DNNS; i++) {
		free(ref[i].v);
		gpu_dnn_free(&d[i]);
	}
}

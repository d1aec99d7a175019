// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The coordinator's serving mode (cuda/coord_serve.c), as triage-gpud
 * drives it: a zoo model cut into two stages built with the executor's
 * weights (gpu_dnn_build_stage), a critical first stage and two
 * best-effort copies of the second, served on requests. The outputs must
 * equal the CPU executor's reference run (exec_reference) on the same
 * input: the weights, the stage plumbing and the copies in and out all
 * show there. The third stage runs on the second's weights
 * (gpu_dnn_build_sharing), as gpud shares them between clients. Then the refusals (a second request while one is in flight,
 * an unknown stage) and a stage removed with a request in flight, after
 * which the others still serve.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "coord.h"
#include "exec.h"
#include "gpu_tests.h"

#define MODEL "squeezenet11"
#define CUT 31 /* a cut point: features.11.concat */
#define SEED 7
#define SERVE_LIMIT_S 300.0

struct served {
	struct gpu_dnn dnn;
	struct coord_stage st;
	int id;
};

/* Polls until every stage in ids has answered; 0, or -1 with why. */
static int wait_done(struct coord_serve *cs, const int *ids, int n, char *why, size_t len)
{
	bool done[COORD_MAX_DNNS] = { false };
	int left = n;
	double start = mono_s();

	while (left) {
		struct coord_done d[COORD_MAX_DNNS];
		char err[320];
		int got = coord_serve_poll(cs, d, COORD_MAX_DNNS, err, sizeof(err));

		if (got < 0) {
			snprintf(why, len, "%s", err);
			return -1;
		}
		for (int k = 0; k < got; k++)
			for (int j = 0; j < n; j++)
				if (ids[j] == d[k].id && !done[j]) {
					if (d[k].status || !d[k].launches) {
						snprintf(why, len, "stage %d: status %d, %llu launches",
							 d[k].id, d[k].status,
							 (unsigned long long)d[k].launches);
						return -1;
					}
					done[j] = true;
					left--;
				}
		if (mono_s() - start > SERVE_LIMIT_S) {
			snprintf(why, len, "%d requests not answered in %.0f s", left, SERVE_LIMIT_S);
			return -1;
		}
	}
	return 0;
}

static bool outputs_agree(const float *got, const float *want, size_t n, char *why, size_t len)
{
	double max = 0.0;
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		max = fmax(max, fabs(want[i]));
	if (close_enough(got, want, n, 1e-4 * max, 1e-3, &bad))
		return true;
	snprintf(why, len, "output %zu: %g, the CPU reference %g", bad, got[bad], want[bad]);
	return false;
}

void test_serve(struct gpu_device *g)
{
	struct dnn_model *m = dnn_model_alloc();
	struct coord_opts o = { .policy = COORD_ELASTIC };
	struct coord_serve *cs = NULL;
	struct served a = { 0 }, b = { 0 }, c = { 0 };
	float *in = NULL, *cut = NULL, *out_b = NULL, *out_c = NULL, *want = NULL;
	size_t n_in, n_cut, n_out;
	char err[512] = "", why[512] = "";
	int ids[2], ret;

	if (!m || zoo_load_named(zoo_default_dir(), MODEL, m, err, sizeof(err))) {
		tap_not_ok("serve: %s: %s", MODEL, err);
		dnn_model_free(m);
		return;
	}
	n_in = (size_t)m->input_shape[1] * m->input_shape[2] * m->input_shape[3];
	n_cut = (size_t)m->layers[CUT].shape[1] * m->layers[CUT].shape[2] * m->layers[CUT].shape[3];
	n_out = (size_t)m->layers[m->nr_layers - 1].shape[3];
	in = malloc(n_in * sizeof(float));
	cut = malloc(n_cut * sizeof(float));
	out_b = calloc(n_out, sizeof(float));
	out_c = calloc(n_out, sizeof(float));
	want = malloc(n_out * sizeof(float));
	if (!in || !cut || !out_b || !out_c || !want) {
		tap_not_ok("serve: out of memory");
		goto out;
	}
	fill_random(in, n_in, -1.0f, 1.0f, &(unsigned){ 3 });
	if (exec_reference(m, SEED, in, want, err, sizeof(err))) {
		tap_not_ok("serve: the CPU reference: %s", err);
		goto out;
	}
	if ((ret = gpu_dnn_build_stage(g, m, SEED, 0, CUT, &a.dnn, err, sizeof(err))) ||
	    (ret = gpu_dnn_build_stage(g, m, SEED, CUT + 1, m->nr_layers - 1, &b.dnn, err,
				       sizeof(err))) ||
	    (ret = gpu_dnn_build_sharing(g, &b.dnn, NULL, &c.dnn, err, sizeof(err)))) {
		tap_not_ok("serve: building the stages: %s", err);
		goto out;
	}
	a.st = (struct coord_stage){ .dnn = &a.dnn, .level = COORD_CRITICAL, .name = "first",
				     .nr_in = 1, .nr_out = 1 };
	a.st.in[0] = (struct coord_copy){ gpu_dnn_stage_input(&a.dnn), in, n_in * sizeof(float) };
	a.st.out[0] = (struct coord_copy){ a.dnn.outputs[CUT], cut, n_cut * sizeof(float) };
	b.st = (struct coord_stage){ .dnn = &b.dnn, .level = COORD_BEST_EFFORT, .name = "second",
				     .share = 1.0, .nr_in = 1, .nr_out = 1 };
	b.st.in[0] = (struct coord_copy){ gpu_dnn_stage_input(&b.dnn), cut, n_cut * sizeof(float) };
	b.st.out[0] = (struct coord_copy){ b.dnn.outputs[m->nr_layers - 1], out_b,
					   n_out * sizeof(float) };
	c.st = b.st;
	c.st.dnn = &c.dnn;
	c.st.name = "third";
	c.st.in[0].dev = gpu_dnn_stage_input(&c.dnn);
	c.st.out[0] = (struct coord_copy){ c.dnn.outputs[m->nr_layers - 1], out_c,
					   n_out * sizeof(float) };
	if (coord_serve_create(g, &o, &cs, err, sizeof(err)) ||
	    coord_serve_add(cs, &a.st, &a.id, err, sizeof(err)) ||
	    coord_serve_add(cs, &b.st, &b.id, err, sizeof(err)) ||
	    coord_serve_add(cs, &c.st, &c.id, err, sizeof(err))) {
		tap_not_ok("serve: setting up: %s", err);
		goto out;
	}

	/* The pipeline: the first stage, then both copies of the second at
	 * once, sharing the GPU. */
	if (coord_serve_request(cs, a.id) || wait_done(cs, &a.id, 1, why, sizeof(why))) {
		tap_not_ok("serve: the critical first stage: %s", why);
		goto out;
	}
	ids[0] = b.id;
	ids[1] = c.id;
	if (coord_serve_request(cs, b.id) || coord_serve_request(cs, c.id) ||
	    wait_done(cs, ids, 2, why, sizeof(why))) {
		tap_not_ok("serve: two best-effort stages at once: %s", why);
		goto out;
	}
	if (outputs_agree(out_b, want, n_out, why, sizeof(why)) &&
	    outputs_agree(out_c, want, n_out, why, sizeof(why)))
		tap_ok("serve: %s in two stages (critical, then two best-effort at once, one on the other's weights) equals the CPU executor's reference",
		       MODEL);
	else
		tap_not_ok("serve: outputs: %s", why);

	/* Refusals, then a stage dropped mid-request. */
	ret = coord_serve_request(cs, b.id);
	if (!ret && coord_serve_request(cs, b.id) == -EBUSY && coord_serve_request(cs, 9999) == -ENOENT)
		tap_ok("serve: a second request in flight is refused (EBUSY), so is an unknown stage (ENOENT)");
	else
		tap_not_ok("serve: refusals: request %d", ret);
	if (!ret && wait_done(cs, &b.id, 1, why, sizeof(why)))
		tap_not_ok("serve: the request after the refusals: %s", why);
	memset(out_b, 0, n_out * sizeof(float));
	if (coord_serve_request(cs, c.id) || coord_serve_request(cs, b.id)) {
		tap_not_ok("serve: requests before the removal");
		goto out;
	}
	coord_serve_poll(cs, (struct coord_done[COORD_MAX_DNNS]){ 0 }, COORD_MAX_DNNS, err,
			 sizeof(err));
	coord_serve_remove(cs, c.id);
	c.id = 0;
	if (coord_serve_count(cs) == 2 && !wait_done(cs, &b.id, 1, why, sizeof(why)) &&
	    outputs_agree(out_b, want, n_out, why, sizeof(why)))
		tap_ok("serve: a stage removed with a request in flight; the others serve on, outputs right");
	else
		tap_not_ok("serve: after a removal: %s (%d stages)", why, coord_serve_count(cs));
out:
	coord_serve_destroy(cs);
	gpu_dnn_free(&a.dnn);
	gpu_dnn_free(&b.dnn);
	gpu_dnn_free(&c.dnn);
	free(in);
	free(cut);
	free(out_b);
	free(out_c);
	free(want);
	dnn_model_free(m);
}

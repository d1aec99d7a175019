// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * GPU stages of the executor (exec/exec_remote.c) on a fake remote unit:
 * its run computes the stage's layers with exec/ref_ops.c on the seeded
 * weights (what a correct GPU gives), counts its calls, and fails where a
 * test tells it to (an open, or the Nth run). Checked: outputs of plans
 * with GPU stages against the all-CPU plan's (the tolerance of test_exec.c:
 * the fake sums as the reference does, not as XNNPACK), what the unit is
 * told of each stage, one run on the unit per inference when healthy, a
 * failed run or open falling back to the CPU with one stderr line and no
 * inference lost or reordered, the retry after the interval and its line,
 * no unit at all, plans changed between CPU and GPU stages under a stream,
 * and layer times covering CPU runs only.
 *
 * The tiny model: input 8x8x3, conv0 (3->8, relu), conv1 (8->8, relu, also
 * a model output), conv2 (8->6, stride 2), conv3 (6->4, 1x1); outputs conv3
 * (offset 0, 64 floats) then conv1 (offset 64, 512 floats); cut points
 * after conv0 and conv1 (after conv2, conv1 is still live as an output).
 */
#include <criterion/criterion.h>
#include <errno.h> /* program_invocation_short_name */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "exec.h"
#include "exec_impl.h" /* exec_test_remote_retry(), the remote counters */
#include "exec_tiny.h"
#include "ref_ops.h"

#define TOL  1e-4
#define SEED 4321

static char err[512];

/* ---- the fake unit ------------------------------------------------------------------- */

struct fake {
	pthread_mutex_t lock;
	int open_fails; /* the next this many opens fail */
	int fail_run;	/* the run of this number (from 1) fails; 0 none */
	int opens, open_calls, runs, closes;
	struct exec_remote_stage seen[EXEC_MAX_STAGES]; /* as the last open got it */
};

struct fake_handle {
	struct fake *f;
	struct exec_remote_stage rs;
	float *weight[DNN_MAX_LAYERS], *bias[DNN_MAX_LAYERS], *t[DNN_MAX_LAYERS];
};

static size_t floats_of(const struct dnn_model *m, int t)
{
	const int *s = dnn_tensor_shape(m, t);

	return (size_t)s[1] * s[2] * s[3];
}

static void fake_free(struct fake_handle *h)
{
	for (int i = 0; i < DNN_MAX_LAYERS; i++) {
		free(h->weight[i]);
		free(h->bias[i]);
		free(h->t[i]);
	}
	free(h);
}

/* Like a GPU loading a stage: its weights drawn once, its tensors made. */
static void *fake_open(void *ctx, const struct exec_remote_stage *rs, char *e, size_t elen)
{
	struct fake *f = ctx;
	struct fake_handle *h;
	bool fail;

	pthread_mutex_lock(&f->lock);
	f->open_calls++;
	fail = f->open_fails > 0;
	if (fail)
		f->open_fails--;
	else
		f->opens++;
	if (rs->index >= 0 && rs->index < EXEC_MAX_STAGES)
		f->seen[rs->index] = *rs;
	pthread_mutex_unlock(&f->lock);
	if (fail) {
		snprintf(e, elen, "fake: no GPU (test)");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		goto nomem;
	h->f = f;
	h->rs = *rs;
	for (int i = rs->first; i <= rs->last; i++) {
		size_t nr_weight, nr_bias;

		exec_layer_param_counts(rs->m, i, &nr_weight, &nr_bias);
		h->weight[i] = malloc(sizeof(float) * (nr_weight ? nr_weight : 1));
		h->bias[i] = malloc(sizeof(float) * (nr_bias ? nr_bias : 1));
		h->t[i] = malloc(sizeof(float) * floats_of(rs->m, i));
		if (!h->weight[i] || !h->bias[i] || !h->t[i])
			goto nomem;
		exec_layer_params(rs->m, i, rs->seed, h->weight[i], h->bias[i]);
	}
	return h;
nomem:
	if (h)
		fake_free(h);
	snprintf(e, elen, "fake: out of memory");
	return NULL;
}

static int fake_run(void *handle, const float *in, float *cut, float *out, char *e, size_t elen)
{
	struct fake_handle *h = handle;
	const struct exec_remote_stage *rs = &h->rs;
	const struct dnn_model *m = rs->m;
	int n, span = 0;

	pthread_mutex_lock(&h->f->lock);
	n = ++h->f->runs;
	pthread_mutex_unlock(&h->f->lock);
	if (n == h->f->fail_run) {
		snprintf(e, elen, "fake: run %d failed (test)", n);
		return -1;
	}
	for (int i = rs->first; i <= rs->last; i++) {
		const struct dnn_layer *l = &m->layers[i];
		const float *ins[DNN_MAX_INPUTS];
		size_t nr_bias;

		/* Before the stage, only its input is live (a cut point). */
		for (int k = 0; k < l->nr_inputs; k++)
			ins[k] = l->inputs[k] < rs->first ? in : h->t[l->inputs[k]];
		exec_layer_param_counts(m, i, &(size_t){ 0 }, &nr_bias);
		if (ref_layer(m, i, ins, h->weight[i], nr_bias ? h->bias[i] : NULL, h->t[i], e,
			      elen))
			return -1;
	}
	if (cut)
		memcpy(cut, h->t[rs->last], sizeof(float) * rs->cut_floats);
	for (int o = 0; o < m->nr_outputs; o++) {
		int t = m->outputs[o];

		if (t < rs->first || t > rs->last)
			continue;
		memcpy(out + rs->spans[span].offset, h->t[t],
		       sizeof(float) * rs->spans[span].floats);
		span++;
	}
	return 0;
}

static void fake_close(void *handle)
{
	struct fake_handle *h = handle;

	pthread_mutex_lock(&h->f->lock);
	h->f->closes++;
	pthread_mutex_unlock(&h->f->lock);
	fake_free(h);
}

static const struct exec_remote_ops fake_ops = {
	.open = fake_open,
	.run = fake_run,
	.close = fake_close,
};

static struct fake fake = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int fake_count(const int *what)
{
	int n;

	pthread_mutex_lock(&fake.lock);
	n = *what;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

/* ---- stderr, captured ---------------------------------------------------------------- */

struct capture {
	int saved;
	FILE *f;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	cr_assert_not_null(c->f);
	c->saved = dup(STDERR_FILENO);
	cr_assert_geq(c->saved, 0);
	cr_assert_geq(dup2(fileno(c->f), STDERR_FILENO), 0);
}

/* What was written since capture_start(), malloc'ed (the assertions on it
 * print it when they fail). */
static char *capture_end(struct capture *c)
{
	long len;
	char *text;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	len = ftell(c->f);
	cr_assert_geq(len, 0);
	text = calloc(1, (size_t)len + 1);
	cr_assert_not_null(text);
	rewind(c->f);
	cr_assert_eq(fread(text, 1, (size_t)len, c->f), (size_t)len);
	fclose(c->f);
	return text;
}

static int count_of(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int lines_of(const char *text)
{
	return count_of(text, "\n");
}

/* ---- models, runs -------------------------------------------------------------------- */

static struct dnn_model *tiny(void)
{
	static const int pad[4] = { 1, 1, 1, 1 };
	struct dnn_model *m = tiny_model(8, 8, 3);

	tiny_conv(m,
		  tiny_conv(m,
			    tiny_conv(m, tiny_conv(m, DNN_INPUT, 8, 3, 1, pad, 1, DNN_ACT_RELU),
				      8, 3, 1, pad, 1, DNN_ACT_RELU),
			    6, 3, 2, pad, 1, DNN_ACT_NONE),
		  4, 1, 1, (const int[4]){ 0 }, 1, DNN_ACT_NONE);
	tiny_finish(m, true);
	m->outputs[m->nr_outputs++] = 1;
	m->layers[2].cut_after = false; /* conv1, an output, is live after conv2 */
	cr_assert_eq(dnn_model_check(m, "tiny", err, sizeof(err)), 0, "%s", err);
	return m;
}

static struct dnn_model *load(const char *name)
{
	struct dnn_model *m = dnn_model_alloc();
	int nr;

	cr_assert_not_null(m);
	cr_assert_eq(zoo_load_named(zoo_default_dir(), name, m, err, sizeof(err)), 0, "%s", err);
	/* The logits too: a saturated softmax would hide errors. */
	nr = m->nr_outputs;
	for (int o = 0; o < nr; o++)
		if (m->layers[m->outputs[o]].type == DNN_SOFTMAX)
			m->outputs[m->nr_outputs++] = m->layers[m->outputs[o]].inputs[0];
	cr_assert_eq(dnn_model_check(m, name, err, sizeof(err)), 0, "%s", err);
	return m;
}

static float *new_input(const struct dnn_model *m, uint64_t seed)
{
	size_t n = floats_of(m, DNN_INPUT);
	float *in = malloc(sizeof(float) * n);

	cr_assert_not_null(in);
	tiny_fill(in, n, seed, -1, 1);
	return in;
}

static struct dnn_exec *create_spec(const struct dnn_model *m, const char *spec)
{
	struct exec_plan plan;
	struct dnn_exec *e;

	cr_assert_eq(exec_plan_parse(m, spec, &plan, err, sizeof(err)), 0, "%s: %s", spec, err);
	cr_assert_eq(exec_create(m, SEED, &plan, &e, err, sizeof(err)), 0, "%s: %s", spec, err);
	return e;
}

static void submit(struct dnn_exec *e, const struct dnn_model *m, int k)
{
	float *in = new_input(m, k + 1);

	cr_assert_eq(exec_submit(e, in, k), 0, "%s", exec_error(e));
	free(in);
}

/* Collects the oldest, which must be tag k, into out. */
static void collect(struct dnn_exec *e, int k, float *out)
{
	struct exec_result r;

	cr_assert_eq(exec_collect(e, out, &r), 0, "%s", exec_error(e));
	cr_assert_eq(r.tag, (uint64_t)k, "tag %lu, expected %d", (unsigned long)r.tag, k);
}

/* Outputs of inputs seeded from..from + n - 1 (tags the same), submitted
 * all before any is collected (n * out floats). */
static float *run_span(struct dnn_exec *e, const struct dnn_model *m, int from, int n)
{
	size_t nr_out = exec_output_floats(e);
	float *out = malloc(sizeof(float) * nr_out * n);

	cr_assert_not_null(out);
	for (int k = 0; k < n; k++)
		submit(e, m, from + k);
	for (int k = 0; k < n; k++)
		collect(e, from + k, out + nr_out * k);
	return out;
}

/* The all-CPU outputs of inputs seeded 1..n. */
static float *cpu_outputs(const struct dnn_model *m, int n)
{
	struct exec_plan single;
	struct dnn_exec *e;
	float *out;

	exec_plan_single(m, 1, &single);
	cr_assert_eq(exec_create(m, SEED, &single, &e, err, sizeof(err)), 0, "%s", err);
	out = run_span(e, m, 0, n);
	exec_destroy(e);
	return out;
}

/* One inference's outputs against want's, each output tensor within TOL. */
static void expect_close(const struct dnn_model *m, const float *got, const float *want,
			 const char *what, int k)
{
	size_t at = 0;

	for (int o = 0; o < m->nr_outputs; o++) {
		size_t n = floats_of(m, m->outputs[o]);
		double big, worst = tiny_max_diff(got + at, want + at, n, &big);

		cr_assert_leq(worst, TOL * (1 + big),
			      "%s: inference %d: output %s: max |gpu - cpu| %g, max |cpu| %g", what,
			      k, m->layers[m->outputs[o]].name, worst, big);
		at += n;
	}
}

static uint64_t counter(uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- healthy ------------------------------------------------------------------------- */

#define NR_RUNS 5

Test(exec_remote, gpu_stages_give_the_cpu_plans_outputs)
{
	static const struct {
		const char *spec;
		int nr_gpu;
	} plans[] = {
		{ "0-3@gpu", 1 },
		{ "0-0@gpu/1-1/2-3", 1 },
		{ "0-0/1-1@gpu/2-3", 1 }, /* its cut is also a model output */
		{ "0-0/1-1/2-3@gpu", 1 }, /* its input is a model output */
		{ "0-1x2@gpu/2-3@gpu", 2 },
		{ "0-0@gpu/1-1@gpu/2-3@gpu", 3 },
	};
	struct dnn_model *m = tiny();
	float *want = cpu_outputs(m, NR_RUNS);
	struct capture cap;
	char *said;

	exec_set_remote(&fake_ops, &fake);
	capture_start(&cap);
	for (size_t p = 0; p < sizeof(plans) / sizeof(plans[0]); p++) {
		struct dnn_exec *e;
		int opens = fake_count(&fake.opens), runs = fake_count(&fake.runs);
		size_t nr_out;
		float *got;

		e = create_spec(m, plans[p].spec);
		nr_out = exec_output_floats(e);
		cr_assert_eq(fake_count(&fake.opens), opens + plans[p].nr_gpu,
			     "%s: every GPU stage opened as it started", plans[p].spec);
		got = run_span(e, m, 0, NR_RUNS);
		for (int k = 0; k < NR_RUNS; k++)
			expect_close(m, got + nr_out * k, want + nr_out * k, plans[p].spec, k);
		cr_assert_eq(fake_count(&fake.runs), runs + NR_RUNS * plans[p].nr_gpu, "%s",
			     plans[p].spec);
		for (int s = 0; s < EXEC_MAX_STAGES; s++)
			cr_assert_eq(counter(&e->fallback_runs[s]), 0, "%s", plans[p].spec);
		exec_destroy(e);
		cr_assert_eq(fake_count(&fake.closes), fake_count(&fake.opens), "%s",
			     plans[p].spec);
		free(got);
	}
	said = capture_end(&cap);
	cr_assert_str_eq(said, "", "a healthy unit says nothing");
	free(said);
	free(want);
	dnn_model_free(m);
}

/* What the unit is told: the stage's layers, the sizes crossing its ends,
 * its model outputs' places in the job's output. */
Test(exec_remote, the_unit_is_told_the_stage)
{
	struct dnn_model *m = tiny();
	const struct exec_remote_stage *rs;
	struct dnn_exec *e;

	exec_set_remote(&fake_ops, &fake);
	e = create_spec(m, "0-0@gpu/1-1@gpu/2-3@gpu");
	cr_assert_eq(exec_output_floats(e), 64 + 512);
	rs = &fake.seen[0];
	cr_assert_eq(rs->m->nr_layers, 4);
	cr_assert_eq(rs->seed, SEED);
	cr_assert_eq(rs->index, 0);
	cr_assert_eq(rs->first, 0);
	cr_assert_eq(rs->last, 0);
	cr_assert_eq(rs->in_floats, 8 * 8 * 3);
	cr_assert_eq(rs->cut_floats, 8 * 8 * 8);
	cr_assert_eq(rs->out_floats, 576);
	cr_assert_eq(rs->nr_spans, 0);
	rs = &fake.seen[1];
	cr_assert_eq(rs->index, 1);
	cr_assert_eq(rs->first, 1);
	cr_assert_eq(rs->last, 1);
	cr_assert_eq(rs->in_floats, 512);
	cr_assert_eq(rs->cut_floats, 512);
	cr_assert_eq(rs->nr_spans, 1);
	cr_assert_eq(rs->spans[0].offset, 64);
	cr_assert_eq(rs->spans[0].floats, 512);
	rs = &fake.seen[2];
	cr_assert_eq(rs->index, 2);
	cr_assert_eq(rs->first, 2);
	cr_assert_eq(rs->last, 3);
	cr_assert_eq(rs->in_floats, 512);
	cr_assert_eq(rs->cut_floats, 0, "the last stage hands nothing on");
	cr_assert_eq(rs->nr_spans, 1);
	cr_assert_eq(rs->spans[0].offset, 0);
	cr_assert_eq(rs->spans[0].floats, 4 * 4 * 4);
	exec_destroy(e);
	dnn_model_free(m);
}

/* A zoo model, a GPU stage holding both of its outputs (logits, prob). */
Test(exec_remote, squeezenet11_with_a_gpu_stage, .timeout = 60)
{
	struct dnn_model *m = load("squeezenet11");
	float *want = cpu_outputs(m, 2), *got;
	struct dnn_exec *e;
	size_t nr_out;

	exec_set_remote(&fake_ops, &fake);
	e = create_spec(m, "0-14x2/15-38@gpu");
	nr_out = exec_output_floats(e);
	cr_assert_eq(fake.seen[1].nr_spans, 2);
	got = run_span(e, m, 0, 2);
	for (int k = 0; k < 2; k++)
		expect_close(m, got + nr_out * k, want + nr_out * k, "squeezenet11", k);
	cr_assert_eq(counter(&e->remote_runs[1]), 2);
	exec_destroy(e);
	free(got);
	free(want);
	dnn_model_free(m);
}

/* Layers the unit ran have no times; the stage's time is the unit's. */
Test(exec_remote, layer_times_cover_cpu_runs_only)
{
	struct dnn_model *m = tiny();
	double ms[4];
	struct dnn_exec *e;

	exec_set_remote(&fake_ops, &fake);
	e = create_spec(m, "0-1@gpu/2-3");
	free(run_span(e, m, 0, 3));
	cr_assert_eq(exec_layer_times(e, ms), 3);
	cr_assert_eq(ms[0], 0);
	cr_assert_eq(ms[1], 0);
	cr_assert_gt(ms[2], 0);
	cr_assert_gt(ms[3], 0);
	cr_assert_eq(counter(&e->remote_runs[0]), 3);
	cr_assert_gt(counter(&e->remote_ns[0]), 0);
	exec_destroy(e);
	dnn_model_free(m);
}

/* ---- falling back -------------------------------------------------------------------- */

#define RETRY_MS 500

/* The 3rd run fails with inferences queued behind it: that one and the
 * next run on the CPU, nothing lost or reordered, one line; after the
 * interval the stage opens the unit again, says so, and runs there. */
Test(exec_remote, a_failed_run_falls_back_then_comes_back, .timeout = 30)
{
	struct dnn_model *m = tiny();
	float *want = cpu_outputs(m, 8), *got;
	struct capture cap;
	struct dnn_exec *e;
	uint64_t begin;
	size_t nr_out;
	char *said;

	fake.fail_run = 3;
	exec_set_remote(&fake_ops, &fake);
	capture_start(&cap);
	e = create_spec(m, "0-0/1-1@gpu/2-3");
	cr_assert_eq(counter(&e->remote_retry_ns), EXEC_REMOTE_RETRY_NS);
	exec_test_remote_retry(e, RETRY_MS * 1000000ull);
	nr_out = exec_output_floats(e);
	begin = mono_ns();
	got = run_span(e, m, 0, 4);
	for (int k = 0; k < 4; k++)
		expect_close(m, got + nr_out * k, want + nr_out * k, "before the retry", k);
	free(got);
	cr_assert_eq(fake_count(&fake.runs), 3);
	cr_assert_eq(fake_count(&fake.closes), 1, "the failed handle is closed");
	cr_assert_eq(counter(&e->remote_runs[1]), 2);
	cr_assert_eq(counter(&e->fallback_runs[1]), 2);
	/* Four tiny inferences take milliseconds; only a host stalled for
	 * the whole interval could have made the 4th a retry. */
	if (mono_ns() - begin < RETRY_MS * 1000000ull)
		cr_assert_eq(fake_count(&fake.open_calls), 1, "retried before the interval");
	sleep_ms(RETRY_MS + 100);
	got = run_span(e, m, 4, 4);
	for (int k = 0; k < 4; k++)
		expect_close(m, got + nr_out * k, want + nr_out * (4 + k), "after the retry",
			     4 + k);
	free(got);
	cr_assert_eq(fake_count(&fake.opens), 2);
	cr_assert_eq(counter(&e->remote_runs[1]), 6);
	cr_assert_eq(counter(&e->fallback_runs[1]), 2);
	exec_destroy(e);
	cr_assert_eq(fake_count(&fake.closes), 2);
	said = capture_end(&cap);
	cr_assert_eq(lines_of(said), 2, "%s", said);
	cr_assert_eq(count_of(said, "tiny stage 2 (layers 1-1) on the GPU: fake: run 3 failed "
				    "(test); running it on the CPU\n"),
		     1, "%s", said);
	cr_assert_eq(count_of(said, "tiny stage 2 (layers 1-1) back on the GPU\n"), 1, "%s", said);
	cr_assert_eq(strncmp(said, program_invocation_short_name,
			     strlen(program_invocation_short_name)),
		     0, "%s", said);
	free(said);
	free(want);
	dnn_model_free(m);
}

/* The unit away when the stage starts: the executor starts anyway, runs
 * on the CPU; a retry that fails again says nothing; one that works says
 * the stage is back. */
Test(exec_remote, an_open_failing_at_start_still_starts, .timeout = 30)
{
	struct dnn_model *m = tiny();
	float *want = cpu_outputs(m, 4), *got;
	struct capture cap;
	struct dnn_exec *e;
	size_t nr_out;
	char *said;

	fake.open_fails = 2;
	exec_set_remote(&fake_ops, &fake);
	capture_start(&cap);
	e = create_spec(m, "0-1@gpu/2-3");
	nr_out = exec_output_floats(e);
	cr_assert_eq(fake_count(&fake.open_calls), 1);
	cr_assert_eq(fake_count(&fake.opens), 0);
	exec_test_remote_retry(e, 0); /* every inference may retry */
	/* 1: the retry fails, on the CPU; 2 and on: back. */
	got = malloc(sizeof(float) * nr_out);
	cr_assert_not_null(got);
	for (int k = 0; k < 4; k++) {
		submit(e, m, k);
		collect(e, k, got);
		expect_close(m, got, want + nr_out * k, "open failing", k);
	}
	free(got);
	cr_assert_eq(fake_count(&fake.open_calls), 3);
	cr_assert_eq(counter(&e->fallback_runs[0]), 1);
	cr_assert_eq(counter(&e->remote_runs[0]), 3);
	exec_destroy(e);
	said = capture_end(&cap);
	cr_assert_eq(lines_of(said), 2, "%s", said);
	cr_assert_eq(count_of(said, "tiny stage 1 (layers 0-1) on the GPU: fake: no GPU (test); "
				    "running it on the CPU\n"),
		     1, "%s", said);
	cr_assert_eq(count_of(said, "tiny stage 1 (layers 0-1) back on the GPU\n"), 1, "%s", said);
	free(said);
	free(want);
	dnn_model_free(m);
}

/* No unit set: the GPU stage is a CPU stage (bit for bit the CPU plan's,
 * as any split of the plan is) after one line, and never retries. */
Test(exec_remote, no_unit_runs_on_the_cpu_with_one_line, .timeout = 30)
{
	struct dnn_model *m = tiny();
	float *want = cpu_outputs(m, NR_RUNS), *got;
	struct capture cap;
	struct dnn_exec *e;
	double ms[4];
	char *said;

	exec_set_remote(NULL, NULL);
	capture_start(&cap);
	e = create_spec(m, "0-1x2@gpu/2-3");
	exec_test_remote_retry(e, 0);
	got = run_span(e, m, 0, NR_RUNS);
	cr_assert_eq(memcmp(got, want, sizeof(float) * exec_output_floats(e) * NR_RUNS), 0);
	cr_assert_eq(counter(&e->fallback_runs[0]), NR_RUNS);
	cr_assert_eq(counter(&e->remote_runs[0]), 0);
	cr_assert_eq(exec_layer_times(e, ms), NR_RUNS);
	cr_assert_gt(ms[0], 0, "CPU runs of a GPU stage are timed");
	exec_destroy(e);
	said = capture_end(&cap);
	cr_assert_eq(lines_of(said), 1, "%s", said);
	cr_assert(strstr(said, "tiny stage 1 (layers 0-1) on the GPU: no GPU unit in this process; "
			       "running it on the CPU\n"),
		  "%s", said);
	cr_assert_eq(fake_count(&fake.open_calls), 0);
	free(said);
	free(got);
	free(want);
	dnn_model_free(m);
}

/* ---- plans changed under a stream ---------------------------------------------------- */

#define NR_STREAM 30

Test(exec_remote, set_plan_between_cpu_and_gpu_plans_loses_nothing, .timeout = 60)
{
	static const struct {
		int before; /* submitted before the change */
		const char *spec;
		int nr_gpu;
	} changes[] = {
		{ 4, "0-1@gpu/2-3", 1 },
		{ 9, "0-3x2", 0 },
		{ 13, "0-0/1-3@gpu", 1 },
		{ 18, "0-0@gpu/1-1@gpu/2-3@gpu", 3 },
		{ 24, "0-0x1/1-1x1/2-3x2", 0 },
	};
	struct dnn_model *m = tiny();
	float *want = cpu_outputs(m, NR_STREAM), *out;
	struct dnn_exec *e;
	struct capture cap;
	size_t nr_out, c = 0;
	int next_collect = 0, nr_gpu = 0, opened = 0, expect_runs = 0;
	char *said;

	exec_set_remote(&fake_ops, &fake);
	capture_start(&cap);
	e = create_spec(m, "0-0/1-1/2-3");
	nr_out = exec_output_floats(e);
	out = malloc(sizeof(float) * nr_out);
	cr_assert_not_null(out);
	for (int k = 0; k < NR_STREAM; k++) {
		if (c < sizeof(changes) / sizeof(changes[0]) && changes[c].before == k) {
			struct exec_plan plan;

			cr_assert_eq(exec_plan_parse(m, changes[c].spec, &plan, err, sizeof(err)),
				     0, "%s", err);
			cr_assert_eq(exec_set_plan(e, &plan, err, sizeof(err)), 0, "%s", err);
			nr_gpu = changes[c].nr_gpu;
			opened += nr_gpu;
			cr_assert_eq(fake_count(&fake.opens), opened, "%s", changes[c].spec);
			/* The old plan's stages closed theirs when they stopped. */
			cr_assert_eq(fake_count(&fake.closes), opened - nr_gpu, "%s",
				     changes[c].spec);
			c++;
		}
		submit(e, m, k);
		expect_runs += nr_gpu;
		if (k % 4 == 1) {
			collect(e, next_collect, out);
			expect_close(m, out, want + nr_out * next_collect, "stream", next_collect);
			next_collect++;
		}
	}
	for (; next_collect < NR_STREAM; next_collect++) {
		collect(e, next_collect, out);
		expect_close(m, out, want + nr_out * next_collect, "stream", next_collect);
	}
	cr_assert_eq(exec_collect(e, out, NULL), -1);
	cr_assert_eq(fake_count(&fake.runs), expect_runs);
	exec_destroy(e);
	cr_assert_eq(fake_count(&fake.closes), opened);
	said = capture_end(&cap);
	cr_assert_str_eq(said, "");
	free(said);
	free(out);
	free(want);
	dnn_model_free(m);
}

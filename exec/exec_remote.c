// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * GPU stages (exec/exec.h, "FIRST-LAST@gpu"): a stage whose layers run on a
 * remote unit through the ops the program set with exec_set_remote(), with
 * the CPU as its fallback.
 *
 * A GPU stage is a CPU stage in every other respect: its thread, its pool
 * of spec.threads compute threads (any CPU), its arena and scratch, its
 * queue and its slot are all made as for a CPU stage, and every layer's
 * operators exist whatever the plan. So the stage can run any inference on
 * the CPU at any moment: when the program set no unit, when opening the
 * stage on the unit failed, or when one run failed. Its tensors are where a
 * CPU stage keeps them (the input as tensor() finds it, the cut in the
 * stage's slot, model outputs straight into the job's output), so neither
 * queues nor slots know which unit ran a job.
 *
 * Only the stage thread touches its struct exec_remote, so none of this
 * takes the executor's lock: a call to the unit may take long, and the
 * submitting thread must not wait on it. A fallen-back stage opens the
 * unit again when an inference comes at least the retry interval after the
 * last failure (the unit is not polled while the stage is idle), and says
 * one line each time it falls back and each time it is back, not on every
 * failed retry: a unit that stays away costs one line, not one a second.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "exec_impl.h"

/* exec_set_remote()'s unit: set by the program, read by exec_create(). */
static pthread_mutex_t remote_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct exec_remote_ops *remote_ops;
static void *remote_ctx;

void exec_set_remote(const struct exec_remote_ops *ops, void *ctx)
{
	pthread_mutex_lock(&remote_lock);
	remote_ops = ops;
	remote_ctx = ops ? ctx : NULL;
	pthread_mutex_unlock(&remote_lock);
}

void exec_remote_get(const struct exec_remote_ops **ops, void **ctx)
{
	pthread_mutex_lock(&remote_lock);
	*ops = remote_ops;
	*ctx = remote_ctx;
	pthread_mutex_unlock(&remote_lock);
}

void exec_test_remote_retry(struct dnn_exec *e, uint64_t ns)
{
	__atomic_store_n(&e->remote_retry_ns, ns, __ATOMIC_RELAXED);
}

static size_t tensor_floats(const struct dnn_model *m, int t)
{
	const int *s = dnn_tensor_shape(m, t);

	return (size_t)s[1] * s[2] * s[3];
}

/* What the unit needs to know of stage st: its layers, the sizes of what
 * crosses its ends, and where its model outputs go in the job's output
 * (exec_collect()'s order, the offsets of layout_tensors()). */
static void describe(const struct exec_stage *st, struct exec_remote_stage *rs)
{
	const struct dnn_exec *e = st->e;
	const struct dnn_model *m = e->m;
	int first = st->spec.first, last = st->spec.last;

	*rs = (struct exec_remote_stage){
		.m = m,
		.seed = e->seed,
		.index = st->index,
		.first = first,
		.last = last,
		.in_floats = tensor_floats(m, first ? first - 1 : DNN_INPUT),
		.cut_floats = st->index < e->plan.nr_stages - 1 ? tensor_floats(m, last) : 0,
		.out_floats = e->out_floats,
	};
	for (int o = 0; o < m->nr_outputs && rs->nr_spans < DNN_MAX_OUTPUTS; o++) {
		int t = m->outputs[o];

		if (t >= first && t <= last)
			rs->spans[rs->nr_spans++] =
				(struct exec_span){ .offset = (size_t)e->output_offset[t],
						    .floats = tensor_floats(m, t) };
	}
}

/* The one line of a fall-back; the stage then runs on the CPU until its
 * next retry. */
static void fall_back(struct exec_stage *st, const char *why)
{
	struct exec_remote *r = &st->remote;

	r->down = true;
	r->last_try_ns = mono_ns();
	fprintf(stderr, "%s: %s stage %d (layers %d-%d) on the GPU: %s; running it on the CPU\n",
		program_invocation_short_name, st->e->m->name, st->index + 1, st->spec.first,
		st->spec.last, why);
}

static bool open_stage(struct exec_stage *st, char *err, size_t errlen)
{
	struct dnn_exec *e = st->e;

	err[0] = '\0';
	st->remote.handle = e->remote_ops->open(e->remote_ctx, &st->remote.rs, err, errlen);
	if (!st->remote.handle && !err[0])
		snprintf(err, errlen, "open failed");
	return st->remote.handle != NULL;
}

void exec_remote_start(struct exec_stage *st)
{
	char err[EXEC_ERR_MAX];

	describe(st, &st->remote.rs);
	if (!st->e->remote_ops) {
		fall_back(st, "no GPU unit in this process");
		return;
	}
	if (!open_stage(st, err, sizeof(err)))
		fall_back(st, err);
}

int exec_remote_run(struct exec_stage *st, const float *in, float *cut, float *out)
{
	struct dnn_exec *e = st->e;
	struct exec_remote *r = &st->remote;
	char err[EXEC_ERR_MAX];
	uint64_t begin;

	if (!r->handle) {
		uint64_t retry = __atomic_load_n(&e->remote_retry_ns, __ATOMIC_RELAXED);

		/* Without ops there is nothing to retry: they are fixed when
		 * the executor is made. */
		if (!e->remote_ops || mono_ns() - r->last_try_ns < retry)
			goto cpu;
		if (!open_stage(st, err, sizeof(err))) {
			r->last_try_ns = mono_ns(); /* still away: quietly */
			goto cpu;
		}
		if (r->down)
			fprintf(stderr, "%s: %s stage %d (layers %d-%d) back on the GPU\n",
				program_invocation_short_name, e->m->name, st->index + 1,
				st->spec.first, st->spec.last);
		r->down = false;
	}
	begin = mono_ns();
	err[0] = '\0';
	if (e->remote_ops->run(r->handle, in, cut, out, err, sizeof(err))) {
		if (!err[0])
			snprintf(err, sizeof(err), "run failed");
		/* The CPU rewrites every tensor the stage hands on, so whatever
		 * the failed run left in cut or out does not matter. */
		exec_remote_stop(st);
		fall_back(st, err);
		goto cpu;
	}
	__atomic_fetch_add(&e->remote_ns[st->index], mono_ns() - begin, __ATOMIC_RELAXED);
	__atomic_fetch_add(&e->remote_runs[st->index], 1, __ATOMIC_RELAXED);
	return 0;
cpu:
	__atomic_fetch_add(&e->fallback_runs[st->index], 1, __ATOMIC_RELAXED);
	return -1;
}

void exec_remote_stop(struct exec_stage *st)
{
	if (!st->remote.handle)
		return;
	if (st->e->remote_ops->close)
		st->e->remote_ops->close(st->remote.handle);
	st->remote.handle = NULL;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The executor's public calls (exec/exec.h): jobs, the first queue, results
 * in order, plan changes and per-layer times. The stages themselves are in
 * exec_stage.c.
 *
 * Every submitted inference is a job on one list in submission order until
 * it is collected; stages pass jobs along FIFO queues and the last stage
 * only marks a job done, so results come out in order without sorting, and
 * finished results can pile up without bound: a caller that submits many
 * before collecting any never blocks on a full result queue (submit blocks
 * only while the first stage's queue is full, and that one drains).
 *
 * exec_set_plan() waits until every submitted job is done (they stay on the
 * list for exec_collect()), stops and joins the old stages, then starts the
 * new ones: the pipeline is empty while the plan changes, so no job can be
 * lost, run twice or overtaken. Operators are per layer and outlive plans;
 * only the stages' threads, pools and buffers are rebuilt.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "exec_impl.h"

static void layout_tensors(struct dnn_exec *e)
{
	const struct dnn_model *m = e->m;
	const int *in = m->input_shape;
	long at = 0;

	for (int i = 0; i < m->nr_layers; i++) {
		e->last_use[i] = i;
		e->output_offset[i] = -1;
	}
	for (int i = 0; i < m->nr_layers; i++)
		for (int k = 0; k < m->layers[i].nr_inputs; k++)
			if (m->layers[i].inputs[k] != DNN_INPUT &&
			    e->last_use[m->layers[i].inputs[k]] < i)
				e->last_use[m->layers[i].inputs[k]] = i;
	for (int o = 0; o < m->nr_outputs; o++) {
		const int *s = m->layers[m->outputs[o]].shape;

		e->output_offset[m->outputs[o]] = at;
		at += (long)s[1] * s[2] * s[3];
	}
	e->out_floats = at;
	e->in_floats = (size_t)in[1] * in[2] * in[3];
}

int exec_create(const struct dnn_model *m, uint64_t seed, const struct exec_plan *plan,
		struct dnn_exec **out, char *err, size_t errlen)
{
	struct dnn_exec *e;

	*out = NULL;
	if (exec_xnn_init(err, errlen) || dnn_model_check(m, m->name, err, errlen) ||
	    exec_plan_check(m, plan, err, errlen))
		return -1;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->done, NULL);
	pthread_cond_init(&e->stage_changed, NULL);
	for (int s = 0; s < EXEC_MAX_STAGES; s++) {
		pthread_cond_init(&e->queues[s].not_empty, NULL);
		pthread_cond_init(&e->queues[s].not_full, NULL);
	}
	for (int s = 0; s < EXEC_MAX_STAGES - 1; s++)
		pthread_cond_init(&e->slots[s].freed, NULL);
	e->fail_layer = -1;
	e->seed = seed;
	exec_remote_get(&e->remote_ops, &e->remote_ctx);
	e->remote_retry_ns = EXEC_REMOTE_RETRY_NS;
	e->m = dnn_model_alloc();
	e->ops = calloc(m->nr_layers, sizeof(*e->ops));
	e->layer_ns = calloc(m->nr_layers, sizeof(*e->layer_ns));
	e->layer_runs = calloc(m->nr_layers, sizeof(*e->layer_runs));
	if (!e->m || !e->ops || !e->layer_ns || !e->layer_runs) {
		exec_destroy(e);
		goto nomem;
	}
	memcpy(e->m, m, sizeof(*m));
	layout_tensors(e);
	for (int i = 0; i < m->nr_layers; i++)
		if (exec_op_create(e->m, i, seed, &e->ops[i], err, errlen)) {
			exec_destroy(e);
			return -1;
		}
	e->plan = *plan;
	e->generation = 1;
	if (exec_stages_start(e, err, errlen)) {
		exec_destroy(e);
		return -1;
	}
	*out = e;
	return 0;
nomem:
	snprintf(err, errlen, "%s: executor: out of memory", m->name);
	return -1;
}

static void free_job(struct exec_job *job)
{
	free(job->input);
	free(job->output);
	free(job);
}

void exec_destroy(struct dnn_exec *e)
{
	struct exec_job *job;

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	while (!e->failed && e->nr_finished < e->nr_submitted)
		pthread_cond_wait(&e->done, &e->lock);
	pthread_mutex_unlock(&e->lock);
	exec_stages_stop(e);
	while ((job = e->first)) {
		e->first = job->next;
		free_job(job);
	}
	while ((job = e->free_jobs)) {
		e->free_jobs = job->next;
		free_job(job);
	}
	for (int i = 0; e->ops && e->m && i < e->m->nr_layers; i++)
		exec_op_destroy(&e->ops[i]);
	free(e->ops);
	free(e->layer_ns);
	free(e->layer_runs);
	dnn_model_free(e->m);
	for (int s = 0; s < EXEC_MAX_STAGES; s++) {
		pthread_cond_destroy(&e->queues[s].not_empty);
		pthread_cond_destroy(&e->queues[s].not_full);
	}
	for (int s = 0; s < EXEC_MAX_STAGES - 1; s++)
		pthread_cond_destroy(&e->slots[s].freed);
	pthread_cond_destroy(&e->stage_changed);
	pthread_cond_destroy(&e->done);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

size_t exec_input_floats(const struct dnn_exec *e)
{
	return e->in_floats;
}

size_t exec_output_floats(const struct dnn_exec *e)
{
	return e->out_floats;
}

/* A job from the free list, or a new one. NULL when out of memory. */
static struct exec_job *get_job(struct dnn_exec *e)
{
	struct exec_job *job;
	size_t pad = XNN_EXTRA_BYTES / sizeof(float);

	pthread_mutex_lock(&e->lock);
	job = e->free_jobs;
	if (job)
		e->free_jobs = job->next;
	pthread_mutex_unlock(&e->lock);
	if (job)
		return job;
	job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	/* XNNPACK may read XNN_EXTRA_BYTES past the input and the outputs. */
	job->input = calloc(e->in_floats + pad, sizeof(float));
	job->output = calloc(e->out_floats + pad, sizeof(float));
	if (!job->input || !job->output) {
		free_job(job);
		return NULL;
	}
	return job;
}

static void put_job_locked(struct dnn_exec *e, struct exec_job *job)
{
	job->next = e->free_jobs;
	e->free_jobs = job;
}

int exec_submit(struct dnn_exec *e, const float *input, uint64_t tag)
{
	struct exec_queue *q = &e->queues[0];
	uint64_t begin = mono_ns();
	struct exec_job *job = get_job(e);

	if (!job) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(job->input, input, sizeof(float) * e->in_floats);
	job->tag = tag;
	job->begin_ns = begin;
	job->end_ns = 0;
	job->done = false;
	job->next = NULL;
	memset(job->cut, 0, sizeof(job->cut));
	pthread_mutex_lock(&e->lock);
	while (q->count == EXEC_QUEUE_DEPTH && !e->failed)
		pthread_cond_wait(&q->not_full, &e->lock);
	if (e->failed) {
		put_job_locked(e, job);
		pthread_mutex_unlock(&e->lock);
		errno = EPIPE;
		return -1;
	}
	job->generation = e->generation;
	if (e->last)
		e->last->next = job;
	else
		e->first = job;
	e->last = job;
	e->nr_in_flight++;
	e->nr_submitted++;
	q->ring[(q->head + q->count) % EXEC_QUEUE_DEPTH] = job;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int exec_in_flight(const struct dnn_exec *e)
{
	struct dnn_exec *me = (struct dnn_exec *)e; /* the lock is not the executor's state */
	int n;

	pthread_mutex_lock(&me->lock);
	n = me->nr_in_flight;
	pthread_mutex_unlock(&me->lock);
	return n;
}

int exec_collect(struct dnn_exec *e, float *output, struct exec_result *r)
{
	struct exec_job *job;

	pthread_mutex_lock(&e->lock);
	while (!e->failed && e->first && !e->first->done)
		pthread_cond_wait(&e->done, &e->lock);
	if (e->failed || !e->first) {
		errno = e->failed ? EPIPE : EAGAIN;
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	job = e->first;
	e->first = job->next;
	if (!e->first)
		e->last = NULL;
	e->nr_in_flight--;
	pthread_mutex_unlock(&e->lock);
	/* Off the list, the job is the caller's alone until it is put back. */
	if (output)
		memcpy(output, job->output, sizeof(float) * e->out_floats);
	if (r)
		*r = (struct exec_result){ .tag = job->tag,
					   .begin_ns = job->begin_ns,
					   .end_ns = job->end_ns,
					   .plan_generation = job->generation };
	pthread_mutex_lock(&e->lock);
	put_job_locked(e, job);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int exec_set_plan(struct dnn_exec *e, const struct exec_plan *plan, char *err, size_t errlen)
{
	if (exec_plan_check(e->m, plan, err, errlen))
		return -1;
	pthread_mutex_lock(&e->lock);
	while (!e->failed && e->nr_finished < e->nr_submitted)
		pthread_cond_wait(&e->done, &e->lock);
	if (e->failed) {
		snprintf(err, errlen, "executor failed: %s", e->error);
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	pthread_mutex_unlock(&e->lock);
	/* Every queue is empty and every slot free: the stages can go. */
	exec_stages_stop(e);
	pthread_mutex_lock(&e->lock);
	e->plan = *plan;
	e->generation++;
	pthread_mutex_unlock(&e->lock);
	return exec_stages_start(e, err, errlen);
}

void exec_get_plan(const struct dnn_exec *e, struct exec_plan *p, uint64_t *generation)
{
	struct dnn_exec *me = (struct dnn_exec *)e;

	pthread_mutex_lock(&me->lock);
	if (p)
		*p = me->plan;
	if (generation)
		*generation = me->generation;
	pthread_mutex_unlock(&me->lock);
}

int exec_stage_tids(const struct dnn_exec *e, int s, pid_t *tids, int max)
{
	struct dnn_exec *me = (struct dnn_exec *)e;
	int n = 0;

	pthread_mutex_lock(&me->lock);
	if (s >= 0 && s < me->nr_stages && me->stages[s].state == EXEC_STAGE_RUNNING)
		for (; n < me->stages[s].nr_tids && n < max; n++)
			tids[n] = me->stages[s].tids[n];
	pthread_mutex_unlock(&me->lock);
	return n;
}

uint64_t exec_layer_times(const struct dnn_exec *e, double *ms)
{
	for (int i = 0; i < e->m->nr_layers; i++) {
		uint64_t runs = __atomic_load_n(&e->layer_runs[i], __ATOMIC_RELAXED);
		uint64_t ns = __atomic_load_n(&e->layer_ns[i], __ATOMIC_RELAXED);

		ms[i] = runs ? (double)ns / runs / 1e6 : 0;
	}
	return __atomic_load_n(&e->nr_timed, __ATOMIC_RELAXED);
}

void exec_layer_times_reset(struct dnn_exec *e)
{
	for (int i = 0; i < e->m->nr_layers; i++) {
		__atomic_store_n(&e->layer_runs[i], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->layer_ns[i], 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&e->nr_timed, 0, __ATOMIC_RELAXED);
}

const char *exec_error(const struct dnn_exec *e)
{
	/* Written once, before failed is set under the lock, never again. */
	return e->error;
}

void exec_test_fail_layer(struct dnn_exec *e, int i)
{
	__atomic_store_n(&e->fail_layer, i, __ATOMIC_RELAXED);
}

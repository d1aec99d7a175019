// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A stage of the executor: a thread that pins itself to the stage's CPUs,
 * then creates its pthreadpool, so that the pool's workers inherit the CPU
 * set (a new thread starts with its creator's affinity); the caller of
 * pthreadpool_parallelize is one of the pool's threads, so the stage thread
 * computes too and a stage of N threads has N-1 workers.
 *
 * pthreadpool does not say which threads it made. They are found by
 * listing /proc/self/task before and after pthreadpool_create() under a
 * process-wide mutex, which every executor also holds while it creates a
 * stage thread; threads the program makes elsewhere at that very moment
 * would be taken for workers (they are not the executor's to know about).
 *
 * Buffers. A stage's own tensors share one arena, laid out once per plan:
 * each tensor lives from the layer that writes it to the last that reads
 * it, and tensors whose lives overlap get disjoint ranges (largest first,
 * lowest offset that fits). Three kinds of tensors are not in it: the
 * model's input (the job's copy), model outputs (written straight into the
 * job's output, so nothing is copied at the end), and the cut tensor a
 * stage hands to the next, which goes into a slot of that cut's ring: the
 * producer takes a slot for each inference and the consumer gives it back
 * when it is done with that inference, so the next inference never writes
 * over a tensor still being read.
 *
 * A GPU stage (exec_remote.c) is all of the above too, so that it can run
 * any inference on the CPU; it hands each one to the remote unit first.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "exec_impl.h"

#define TASKS_MAX 4096

/* Held while a stage thread is created and while a stage lists its
 * pool's workers: see the opening comment. */
static pthread_mutex_t task_list_lock = PTHREAD_MUTEX_INITIALIZER;

void exec_fail_locked(struct dnn_exec *e, const char *fmt, ...)
{
	va_list ap;

	if (!e->failed) {
		va_start(ap, fmt);
		vsnprintf(e->error, sizeof(e->error), fmt, ap);
		va_end(ap);
		e->failed = true;
	}
	pthread_cond_broadcast(&e->done);
	pthread_cond_broadcast(&e->stage_changed);
	for (int s = 0; s < EXEC_MAX_STAGES; s++) {
		pthread_cond_broadcast(&e->queues[s].not_empty);
		pthread_cond_broadcast(&e->queues[s].not_full);
	}
	for (int s = 0; s < EXEC_MAX_STAGES - 1; s++)
		pthread_cond_broadcast(&e->slots[s].freed);
}

/* ---- buffers -------------------------------------------------------------------- */

/* Floats to allocate for n: XNNPACK may read XNN_EXTRA_BYTES past a
 * tensor, and 64-byte multiples keep every tensor on a cache line. */
static size_t padded_floats(size_t n)
{
	size_t bytes = (n * sizeof(float) + XNN_EXTRA_BYTES + 63) & ~(size_t)63;

	return bytes / sizeof(float);
}

static float *alloc_floats(size_t n)
{
	float *p = aligned_alloc(64, padded_floats(n) * sizeof(float));

	if (p)
		memset(p, 0, padded_floats(n) * sizeof(float));
	return p;
}

static size_t layer_floats(const struct dnn_model *m, int i)
{
	const int *s = m->layers[i].shape;

	return (size_t)s[1] * s[2] * s[3];
}

static bool in_arena(const struct dnn_exec *e, const struct exec_stage *st, int t)
{
	bool hands_over = t == st->spec.last && st->index < e->plan.nr_stages - 1;

	return e->output_offset[t] < 0 && !hands_over;
}

struct arena_item {
	int t;
	size_t size; /* floats, padded */
};

static int by_size_down(const void *a, const void *b)
{
	const struct arena_item *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->t - y->t;
}

static int by_offset(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Lays the stage's tensors out in e->arena_offset; returns the arena's
 * floats, or (size_t)-1 when out of memory. */
static size_t plan_arena(struct dnn_exec *e, struct exec_stage *st)
{
	int first = st->spec.first, n = st->spec.last - first + 1, nr = 0;
	struct arena_item *items = calloc(n, sizeof(*items));
	size_t *busy = calloc(2 * (size_t)n, sizeof(*busy)), total = 0;

	if (!items || !busy) {
		total = (size_t)-1;
		goto out;
	}
	for (int t = first; t <= st->spec.last; t++)
		if (in_arena(e, st, t))
			items[nr++] =
				(struct arena_item){ t, padded_floats(layer_floats(e->m, t)) };
	qsort(items, nr, sizeof(*items), by_size_down);
	for (int k = 0; k < nr; k++) {
		int t = items[k].t, nr_busy = 0;
		size_t at = 0;

		/* Ranges of placed tensors alive at once with t: [start, end). */
		for (int j = 0; j < k; j++) {
			int u = items[j].t;

			if (u <= e->last_use[t] && t <= e->last_use[u]) {
				busy[2 * nr_busy] = e->arena_offset[u];
				busy[2 * nr_busy + 1] = e->arena_offset[u] + items[j].size;
				nr_busy++;
			}
		}
		qsort(busy, nr_busy, 2 * sizeof(*busy), by_offset);
		for (int j = 0; j < nr_busy; j++) {
			if (at + items[k].size <= busy[2 * j])
				break;
			if (busy[2 * j + 1] > at)
				at = busy[2 * j + 1];
		}
		e->arena_offset[t] = at;
		if (at + items[k].size > total)
			total = at + items[k].size;
	}
out:
	free(items);
	free(busy);
	return total;
}

static void free_stage_buffers(struct dnn_exec *e)
{
	for (int s = 0; s < EXEC_MAX_STAGES; s++) {
		free(e->stages[s].arena);
		free(e->stages[s].scratch[0]);
		free(e->stages[s].scratch[1]);
		e->stages[s].arena = e->stages[s].scratch[0] = e->stages[s].scratch[1] = NULL;
	}
	for (int s = 0; s < EXEC_MAX_STAGES - 1; s++)
		for (int k = 0; k < EXEC_CUT_SLOTS; k++) {
			free(e->slots[s].all[k]);
			e->slots[s].all[k] = NULL;
		}
}

static int alloc_stage_buffers(struct dnn_exec *e)
{
	for (int s = 0; s < e->plan.nr_stages; s++) {
		struct exec_stage *st = &e->stages[s];
		size_t arena = plan_arena(e, st), scratch = 0;

		if (arena == (size_t)-1)
			return -1;
		for (int i = st->spec.first; i <= st->spec.last; i++)
			if (e->ops[i].scratch_floats > scratch)
				scratch = e->ops[i].scratch_floats;
		st->arena = alloc_floats(arena);
		if (!st->arena)
			return -1;
		if (scratch) {
			st->scratch[0] = alloc_floats(scratch);
			st->scratch[1] = alloc_floats(scratch);
			if (!st->scratch[0] || !st->scratch[1])
				return -1;
		}
	}
	for (int s = 0; s + 1 < e->plan.nr_stages; s++) {
		struct exec_slots *ring = &e->slots[s];

		for (int k = 0; k < EXEC_CUT_SLOTS; k++) {
			ring->all[k] = alloc_floats(layer_floats(e->m, e->plan.stages[s].last));
			if (!ring->all[k])
				return -1;
			ring->free[k] = ring->all[k];
		}
		ring->nr_free = EXEC_CUT_SLOTS;
	}
	return 0;
}

/* ---- the stage thread ------------------------------------------------------------ */

/* Thread ids now in /proc/self/task, at most max. */
static int list_tasks(pid_t *tids, int max)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *ent;
	int n = 0;

	if (!dir)
		return 0;
	while ((ent = readdir(dir)) && n < max)
		if (ent->d_name[0] != '.')
			tids[n++] = atoi(ent->d_name);
	closedir(dir);
	return n;
}

/* Pins the calling stage thread and creates its pool; tids gets the
 * stage's thread ids (published by the caller, under the lock). */
static int stage_setup(struct exec_stage *st, pid_t *tids, int *nr_tids, char *err, size_t errlen)
{
	pid_t *before = malloc(sizeof(pid_t) * TASKS_MAX),
	      *after = malloc(sizeof(pid_t) * TASKS_MAX);
	int nr_before, nr_after, ret = -1;

	tids[0] = gettid();
	*nr_tids = 1;
	if (!before || !after) {
		snprintf(err, errlen, "stage %d: out of memory", st->index + 1);
		goto out;
	}
	if (CPU_COUNT(&st->spec.cpus) &&
	    sched_setaffinity(0, sizeof(st->spec.cpus), &st->spec.cpus)) {
		snprintf(err, errlen, "stage %d: sched_setaffinity: %s", st->index + 1,
			 strerror(errno));
		goto out;
	}
	pthread_mutex_lock(&task_list_lock);
	nr_before = list_tasks(before, TASKS_MAX);
	st->pool = pthreadpool_create(st->spec.threads);
	nr_after = list_tasks(after, TASKS_MAX);
	pthread_mutex_unlock(&task_list_lock);
	if (!st->pool) {
		snprintf(err, errlen, "stage %d: pthreadpool_create(%d) failed", st->index + 1,
			 st->spec.threads);
		goto out;
	}
	for (int a = 0; a < nr_after && *nr_tids < EXEC_MAX_THREADS; a++) {
		bool old = false;

		for (int b = 0; b < nr_before && !old; b++)
			old = after[a] == before[b];
		if (!old)
			tids[(*nr_tids)++] = after[a];
	}
	ret = 0;
out:
	free(before);
	free(after);
	return ret;
}

/* The tensor t as stage st sees it for job. */
static float *tensor(struct exec_stage *st, struct exec_job *job, int t)
{
	struct dnn_exec *e = st->e;

	if (t == DNN_INPUT)
		return job->input;
	if (e->output_offset[t] >= 0)
		return job->output + e->output_offset[t];
	if (t < st->spec.first)
		return job->cut[st->index - 1];
	if (!in_arena(e, st, t))
		return job->cut[st->index];
	return st->arena + e->arena_offset[t];
}

static int run_job(struct exec_stage *st, struct exec_job *job, char *err, size_t errlen)
{
	struct dnn_exec *e = st->e;
	int first = st->spec.first;

	/* On the unit, the stage is one call: no layer times are recorded
	 * for it (the unit's time goes to e->remote_ns), so a GPU stage's
	 * layer means cover the inferences it ran on the CPU only. Its input
	 * is where its first layer would read it, its cut the slot taken for
	 * it. */
	if (st->spec.unit == EXEC_UNIT_GPU &&
	    !exec_remote_run(st, tensor(st, job, first ? first - 1 : DNN_INPUT),
			     st->index < e->plan.nr_stages - 1 ? job->cut[st->index] : NULL,
			     job->output))
		return 0;
	for (int i = st->spec.first; i <= st->spec.last; i++) {
		const struct dnn_layer *l = &e->m->layers[i];
		const float *ins[DNN_MAX_INPUTS];
		uint64_t begin = mono_ns();

		if (__atomic_load_n(&e->fail_layer, __ATOMIC_RELAXED) == i) {
			snprintf(err, errlen, "%s: layers[%d] (%s): failure injected by a test",
				 e->m->name, i, l->name);
			return -1;
		}
		for (int k = 0; k < l->nr_inputs; k++)
			ins[k] = tensor(st, job, l->inputs[k]);
		if (exec_op_run(e->m, i, &e->ops[i], ins, tensor(st, job, i), st->scratch, st->pool,
				err, errlen))
			return -1;
		__atomic_fetch_add(&e->layer_ns[i], mono_ns() - begin, __ATOMIC_RELAXED);
		__atomic_fetch_add(&e->layer_runs[i], 1, __ATOMIC_RELAXED);
	}
	return 0;
}

/* Next job for stage st, its output slot taken; NULL when it must stop. */
static struct exec_job *take_job(struct exec_stage *st)
{
	struct dnn_exec *e = st->e;
	struct exec_queue *q = &e->queues[st->index];
	struct exec_slots *out = &e->slots[st->index];
	bool hands_over = st->index < e->plan.nr_stages - 1;
	struct exec_job *job;

	while (!q->count && !st->stop && !e->failed)
		pthread_cond_wait(&q->not_empty, &e->lock);
	if (st->stop || e->failed)
		return NULL;
	job = q->ring[q->head];
	q->head = (q->head + 1) % EXEC_QUEUE_DEPTH;
	q->count--;
	pthread_cond_signal(&q->not_full);
	if (hands_over) {
		while (!out->nr_free && !e->failed)
			pthread_cond_wait(&out->freed, &e->lock);
		if (e->failed)
			return NULL;
		job->cut[st->index] = out->free[--out->nr_free];
	}
	return job;
}

/* Gives back the slot job read and passes job on. 0, or -1 on failure. */
static int pass_job(struct exec_stage *st, struct exec_job *job)
{
	struct dnn_exec *e = st->e;
	struct exec_queue *next;

	if (st->index) {
		struct exec_slots *in = &e->slots[st->index - 1];

		in->free[in->nr_free++] = job->cut[st->index - 1];
		job->cut[st->index - 1] = NULL;
		pthread_cond_signal(&in->freed);
	}
	if (st->index == e->plan.nr_stages - 1) {
		job->end_ns = mono_ns();
		job->done = true;
		e->nr_finished++;
		__atomic_fetch_add(&e->nr_timed, 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&e->done);
		return 0;
	}
	next = &e->queues[st->index + 1];
	while (next->count == EXEC_QUEUE_DEPTH && !e->failed)
		pthread_cond_wait(&next->not_full, &e->lock);
	if (e->failed)
		return -1;
	next->ring[(next->head + next->count) % EXEC_QUEUE_DEPTH] = job;
	next->count++;
	pthread_cond_signal(&next->not_empty);
	return 0;
}

static void *stage_main(void *arg)
{
	struct exec_stage *st = arg;
	struct dnn_exec *e = st->e;
	pid_t tids[EXEC_MAX_THREADS];
	char err[EXEC_ERR_MAX];
	struct exec_job *job;
	int nr_tids;

	if (stage_setup(st, tids, &nr_tids, err, sizeof(err))) {
		pthread_mutex_lock(&e->lock);
		st->state = EXEC_STAGE_FAILED;
		exec_fail_locked(e, "%s", err);
		pthread_mutex_unlock(&e->lock);
		goto out;
	}
	/* Before the stage counts as running, so that a unit that is there
	 * runs the first inference; one that is not only costs a line. */
	if (st->spec.unit == EXEC_UNIT_GPU)
		exec_remote_start(st);
	pthread_mutex_lock(&e->lock);
	memcpy(st->tids, tids, sizeof(tids));
	st->nr_tids = nr_tids;
	st->state = EXEC_STAGE_RUNNING;
	pthread_cond_broadcast(&e->stage_changed);
	while ((job = take_job(st))) {
		int ret;

		pthread_mutex_unlock(&e->lock);
		ret = run_job(st, job, err, sizeof(err));
		pthread_mutex_lock(&e->lock);
		if (ret) {
			exec_fail_locked(e, "stage %d: %s", st->index + 1, err);
			break;
		}
		if (pass_job(st, job))
			break;
	}
	pthread_mutex_unlock(&e->lock);
out:
	/* On the thread that opened it, before exec_stages_stop() joins. */
	exec_remote_stop(st);
	if (st->pool)
		pthreadpool_destroy(st->pool);
	st->pool = NULL;
	return NULL;
}

/* ---- starting and stopping -------------------------------------------------------- */

int exec_stages_start(struct dnn_exec *e, char *err, size_t errlen)
{
	const struct exec_plan *plan = &e->plan;

	/* Under the lock: exec_stage_tids() may look from another thread. */
	pthread_mutex_lock(&e->lock);
	for (int s = 0; s < plan->nr_stages; s++) {
		struct exec_stage *st = &e->stages[s];

		*st = (struct exec_stage){ .e = e, .index = s, .spec = plan->stages[s] };
		e->queues[s].head = e->queues[s].count = 0;
	}
	e->nr_stages = plan->nr_stages;
	pthread_mutex_unlock(&e->lock);
	if (alloc_stage_buffers(e)) {
		pthread_mutex_lock(&e->lock);
		exec_fail_locked(e, "%s: out of memory for the stages' buffers", e->m->name);
		pthread_mutex_unlock(&e->lock);
		goto fail;
	}
	for (int s = 0; s < plan->nr_stages; s++) {
		struct exec_stage *st = &e->stages[s];
		int ret;

		pthread_mutex_lock(&task_list_lock);
		ret = pthread_create(&st->thread, NULL, stage_main, st);
		pthread_mutex_unlock(&task_list_lock);
		pthread_mutex_lock(&e->lock);
		if (ret) {
			exec_fail_locked(e, "stage %d: pthread_create: %s", s + 1, strerror(ret));
			pthread_mutex_unlock(&e->lock);
			goto fail;
		}
		st->thread_started = true;
		while (st->state == EXEC_STAGE_STARTING && !e->failed)
			pthread_cond_wait(&e->stage_changed, &e->lock);
		if (e->failed) {
			pthread_mutex_unlock(&e->lock);
			goto fail;
		}
		pthread_mutex_unlock(&e->lock);
	}
	return 0;
fail:
	snprintf(err, errlen, "%s", e->error);
	exec_stages_stop(e);
	return -1;
}

void exec_stages_stop(struct dnn_exec *e)
{
	pthread_mutex_lock(&e->lock);
	for (int s = 0; s < e->nr_stages; s++) {
		e->stages[s].stop = true;
		pthread_cond_broadcast(&e->queues[s].not_empty);
		pthread_cond_broadcast(&e->queues[s].not_full);
	}
	for (int s = 0; s < EXEC_MAX_STAGES - 1; s++)
		pthread_cond_broadcast(&e->slots[s].freed);
	pthread_mutex_unlock(&e->lock);
	for (int s = 0; s < e->nr_stages; s++)
		if (e->stages[s].thread_started) {
			pthread_join(e->stages[s].thread, NULL);
			e->stages[s].thread_started = false;
		}
	pthread_mutex_lock(&e->lock);
	e->nr_stages = 0;
	pthread_mutex_unlock(&e->lock);
	free_stage_buffers(e);
}

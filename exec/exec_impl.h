/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Inside the CPU executor (exec/exec.h): what its files share.
 *
 *   exec_plan.c    stage specs: parse, format, check
 *   exec_params.c  the seeded weights and exec_reference()
 *   exec_ops.c     one layer as XNNPACK operators (or ref_ops where XNNPACK
 *                  has no operator with the layer's exact semantics)
 *   exec_stage.c   a stage: its thread, pool, thread ids, buffers and loop
 *   exec_remote.c  a GPU stage's link to the remote unit, and its fallback
 *   exec.c         the public calls: jobs, queues, submit/collect, set_plan
 *
 * Locking: one mutex per executor (dnn_exec.lock) guards the job list, the
 * queues, the slot rings, the stage states and the error; stage threads
 * drop it while they compute. Per-layer times are atomics, written by the
 * one stage that owns the layer.
 */
#ifndef TRIAGE_DNN_EXEC_IMPL_H
#define TRIAGE_DNN_EXEC_IMPL_H

#include <pthread.h>
#include <pthreadpool.h>
#include <stdbool.h>
#include <stdint.h>
#include <xnnpack.h>

#include "exec.h"

#define EXEC_ERR_MAX 512
/* Slot buffers per cut: EXEC_QUEUE_DEPTH queued, one the consumer reads,
 * one the producer writes; so a producer never waits for a slot. */
#define EXEC_CUT_SLOTS (EXEC_QUEUE_DEPTH + 2)

/* ---- operators (exec_ops.c) ------------------------------------------------ */

/* Layer i's operators, created once per executor and kept across plans:
 * XNNPACK operators hold no thread or pool, only their packed weights and
 * the pointers of their last setup. */
struct exec_op {
	bool reference;		/* run with ref_layer(): see exec_ops.c */
	bool avgpool_as_dwconv; /* a count_pad average pool with padding */
	xnn_operator_t main;	/* the layer's own operation; NULL for concat and act */
	xnn_operator_t copies[DNN_MAX_INPUTS]; /* concat: one strided copy per input */
	xnn_operator_t act;		       /* an activation XNNPACK cannot fuse */
	xnn_operator_t act_mul;		       /* swish: x * sigmoid(x) */
	size_t scratch_floats;		       /* each of the two scratch buffers it needs */
};

/* xnn_initialize() once per process. 0, or -1 with err. */
int exec_xnn_init(char *err, size_t errlen);

int exec_op_create(const struct dnn_model *m, int i, uint64_t seed, struct exec_op *op, char *err,
		   size_t errlen);

/* Runs layer i: ins[k] is the tensor of inputs[k], out its output (each
 * with XNN_EXTRA_BYTES readable after it), scratch two buffers of
 * op->scratch_floats. 0, or -1 with err. */
int exec_op_run(const struct dnn_model *m, int i, struct exec_op *op, const float *const *ins,
		float *out, float *const scratch[2], pthreadpool_t pool, char *err, size_t errlen);

void exec_op_destroy(struct exec_op *op);

/* ---- the executor ------------------------------------------------------------ */

/* One inference, from exec_submit() to exec_collect(). */
struct exec_job {
	struct exec_job *next; /* submission order; the free list */
	uint64_t tag, begin_ns, end_ns, generation;
	bool done;
	float *input, *output;
	/* cut[s]: the slot holding the tensor after stage s's last layer,
	 * from when stage s takes it until stage s + 1 is done with it. */
	float *cut[EXEC_MAX_STAGES];
};

/* A bounded FIFO of jobs between two stages (or submit and stage 0). */
struct exec_queue {
	struct exec_job *ring[EXEC_QUEUE_DEPTH];
	int head, count;
	pthread_cond_t not_empty, not_full;
};

/* The slot ring of the cut after a stage. */
struct exec_slots {
	float *all[EXEC_CUT_SLOTS];
	float *free[EXEC_CUT_SLOTS];
	int nr_free;
	pthread_cond_t freed;
};

enum exec_stage_state {
	EXEC_STAGE_STARTING,
	EXEC_STAGE_RUNNING,
	EXEC_STAGE_FAILED,
};

/* A GPU stage's hold on the remote unit; only its stage thread touches
 * it, so it needs no lock. */
struct exec_remote {
	struct exec_remote_stage rs;
	void *handle;	      /* open on the unit; NULL: running on the CPU */
	bool down;	      /* fallen back, and said so */
	uint64_t last_try_ns; /* the last open that failed, or the failed run */
};

struct exec_stage {
	struct dnn_exec *e;
	int index;
	struct exec_stage_spec spec;
	struct exec_remote remote; /* a GPU stage's */
	pthread_t thread;
	bool thread_started;
	enum exec_stage_state state;
	bool stop;
	pthreadpool_t pool;
	pid_t tids[EXEC_MAX_THREADS];
	int nr_tids;
	float *arena;	   /* the stage's own tensors, by exec.arena_offset */
	float *scratch[2]; /* unfused activations */
};

struct dnn_exec {
	struct dnn_model *m; /* a copy: the caller's may go */
	struct exec_op *ops;
	int last_use[DNN_MAX_LAYERS];	     /* the last layer reading each output */
	long output_offset[DNN_MAX_LAYERS];  /* floats into job.output, -1: not an output */
	size_t arena_offset[DNN_MAX_LAYERS]; /* floats into its stage's arena */
	size_t in_floats, out_floats;

	pthread_mutex_t lock;
	pthread_cond_t done;	      /* a job finished, or the executor failed */
	pthread_cond_t stage_changed; /* a stage started or failed */
	struct exec_plan plan;
	uint64_t generation;
	int nr_stages;
	struct exec_stage stages[EXEC_MAX_STAGES];
	struct exec_queue queues[EXEC_MAX_STAGES];    /* queues[s] feeds stage s */
	struct exec_slots slots[EXEC_MAX_STAGES - 1]; /* slots[s]: the cut after stage s */
	struct exec_job *first, *last;		      /* submitted, not collected */
	struct exec_job *free_jobs;
	int nr_in_flight;
	uint64_t nr_submitted, nr_finished; /* since the executor was made */
	bool failed;
	char error[EXEC_ERR_MAX];
	int fail_layer; /* tests: layer whose next run fails, -1 none */
	uint64_t seed;

	/* The remote unit of GPU stages, as exec_set_remote() had it when the
	 * executor was made (NULL: none), and how long a fallen-back stage
	 * waits before opening it again (atomic; tests shorten it). */
	const struct exec_remote_ops *remote_ops;
	void *remote_ctx;
	uint64_t remote_retry_ns;
	/* Per stage index, since the executor was made (atomics): inferences
	 * a GPU stage ran on the unit and the time they took, and those it ran
	 * on the CPU instead. */
	uint64_t remote_runs[EXEC_MAX_STAGES], remote_ns[EXEC_MAX_STAGES];
	uint64_t fallback_runs[EXEC_MAX_STAGES];

	/* Per-layer times (atomics): sum and count, and inferences finished. */
	uint64_t *layer_ns, *layer_runs;
	uint64_t nr_timed;
};

/* Records the first failure and wakes every waiter. Lock held. */
void exec_fail_locked(struct dnn_exec *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Builds and starts the stages of e->plan (lock not held): buffers, then
 * one thread at a time, each waited for until it runs (its tids recorded)
 * or failed. 0, or -1 with err, every stage stopped again. */
int exec_stages_start(struct dnn_exec *e, char *err, size_t errlen);

/* Stops the stages (lock not held; their queues must be empty unless the
 * executor failed), joins their threads and frees their buffers. */
void exec_stages_stop(struct dnn_exec *e);

/* ---- GPU stages (exec_remote.c) ----------------------------------------------- */

/* The unit exec_set_remote() set; exec_create() keeps a copy. */
void exec_remote_get(const struct exec_remote_ops **ops, void **ctx);

/* On a GPU stage's thread as it starts: describes the stage and opens it
 * on the unit; when that fails the stage starts anyway, on the CPU, with
 * one line on stderr. */
void exec_remote_start(struct exec_stage *st);

/* One inference of a GPU stage on the unit: in is its input tensor, cut
 * the slot of its cut (NULL for the last stage), out the job's output.
 * 0 when the unit ran it; -1 when the CPU must (no unit, fallen back and
 * not yet due to retry, or this run failed: then the handle is closed and
 * one line says so). Reopens a fallen-back stage once the retry interval
 * has passed. */
int exec_remote_run(struct exec_stage *st, const float *in, float *cut, float *out);

/* On the stage's thread as it ends: closes the handle, if any. */
void exec_remote_stop(struct exec_stage *st);

/* Tests only: the next run of layer i fails as an XNNPACK call would. */
void exec_test_fail_layer(struct dnn_exec *e, int i);

/* Tests only: a fallen-back GPU stage of e opens the unit again after ns
 * instead of EXEC_REMOTE_RETRY_NS (taking effect at its next inference). */
void exec_test_remote_retry(struct dnn_exec *e, uint64_t ns);

#endif

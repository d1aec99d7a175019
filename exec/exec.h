/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The CPU executor: runs a zoo model (models/zoo.h) with random weights drawn
 * from a fixed seed, through XNNPACK operators, NHWC float32, batch 1.
 *
 * A DNN runs as a pipeline of at most EXEC_MAX_STAGES stages, each a range
 * of layers cut after a cut_after layer, each with its own thread and a
 * pthreadpool of its compute threads pinned to its CPU set; stages hand
 * inferences over through bounded queues of EXEC_QUEUE_DEPTH. The plan (the
 * stage cuts, threads and CPUs) can change between two inferences without
 * a restart: exec_set_plan() lets every inference already submitted finish
 * under the old plan, then rebuilds the stages; inferences are never lost
 * or run twice, and come out in the order they went in.
 *
 * Threading: one thread submits and collects (exec_submit, exec_collect,
 * exec_set_plan); the stages run on the executor's own threads.
 */
#ifndef TRIAGE_DNN_EXEC_H
#define TRIAGE_DNN_EXEC_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zoo.h"

#define EXEC_MAX_STAGES 3
#define EXEC_QUEUE_DEPTH 2	 /* inferences waiting between two stages */
#define EXEC_MAX_THREADS 16	 /* compute threads of one stage */

/* Where a stage runs: on the CPU, or on the GPU through triage-gpud (the
 * remote unit, below). */
enum exec_unit {
	EXEC_UNIT_CPU,
	EXEC_UNIT_GPU,
};

struct exec_stage_spec {
	int first, last; /* layers, inclusive; a stage ends on a cut_after layer
			  * or the model's last layer */
	int threads;	 /* compute threads, 1..EXEC_MAX_THREADS (a GPU stage:
			  * those of its CPU fallback) */
	cpu_set_t cpus;	 /* where its threads run; empty: anywhere (always
			  * empty for a GPU stage) */
	enum exec_unit unit;
};

struct exec_plan {
	int nr_stages;
	struct exec_stage_spec stages[EXEC_MAX_STAGES];
};

/* One finished inference, as exec_collect() returns it. */
struct exec_result {
	uint64_t tag;	   /* as given to exec_submit() */
	uint64_t begin_ns; /* CLOCK_MONOTONIC when submitted */
	uint64_t end_ns;   /* when the last stage finished it */
	uint64_t plan_generation; /* the plan it ran under (1 = the first) */
};

struct dnn_exec;

/* A single stage over every layer with threads compute threads, any CPU. */
void exec_plan_single(const struct dnn_model *m, int threads, struct exec_plan *p);

/* Parses a stage spec against m: "auto" (one stage, threads = online CPUs),
 * or stages separated by '/', each "FIRST-LAST[xTHREADS][@CPULIST|@gpu]"
 * with layer indices or names, e.g. "0-20x2@0-1/21-67x1@1" or
 * "0-20@gpu/21-67x2@0-1" (a GPU stage's threads are its CPU fallback's,
 * default 1). Checks what
 * exec_plan_check() checks. 0, or -1 with one line in err naming the stage
 * and what is wrong. */
int exec_plan_parse(const struct dnn_model *m, const char *spec, struct exec_plan *p, char *err,
		    size_t errlen);

/* "0-20x2@0-1/21-67x1@1": the inverse of exec_plan_parse(). Returns the
 * characters written, or -1 when len is too short (out then holds what fit). */
int exec_plan_format(const struct exec_plan *p, char *out, size_t len);

/* Stages contiguous from layer 0 to the last, each ending on a cut point
 * or the last layer, threads in range, CPUs online. 0, or -1 with err. */
int exec_plan_check(const struct dnn_model *m, const struct exec_plan *p, char *err,
		    size_t errlen);

/* The weights and bias of layer i drawn from seed (He-uniform weights,
 * small biases; the same numbers whatever the plan), in the layouts of
 * exec/ref_ops.h. Sizes: exec_layer_param_counts(). */
void exec_layer_param_counts(const struct dnn_model *m, int i, size_t *nr_weight, size_t *nr_bias);
void exec_layer_params(const struct dnn_model *m, int i, uint64_t seed, float *weight, float *bias);

/* Builds every layer's operator and the stages of plan. 0, or -1 with one
 * line in err (XNNPACK unavailable, a layer it cannot run, no memory). */
int exec_create(const struct dnn_model *m, uint64_t seed, const struct exec_plan *plan,
		struct dnn_exec **out, char *err, size_t errlen);

/* Waits for every inference submitted, then frees everything. */
void exec_destroy(struct dnn_exec *e);

/* Floats of the model's input, and of its outputs concatenated in the
 * order of dnn_model.outputs. */
size_t exec_input_floats(const struct dnn_exec *e);
size_t exec_output_floats(const struct dnn_exec *e);

/* Starts an inference on input (copied before it returns). Blocks while
 * the first stage's queue is full. 0, or -1 with errno EPIPE when the
 * executor failed (exec_error() says why). */
int exec_submit(struct dnn_exec *e, const float *input, uint64_t tag);

/* How many inferences are submitted and not yet collected. */
int exec_in_flight(const struct dnn_exec *e);

/* Waits for the oldest inference not yet collected; output (may be NULL)
 * gets exec_output_floats() floats. 0, or -1 with errno: EAGAIN when none
 * is in flight, EPIPE when the executor failed. */
int exec_collect(struct dnn_exec *e, float *output, struct exec_result *r);

/* Changes the plan between two inferences: the ones in flight finish under
 * the old plan and wait to be collected; the next submitted runs under the
 * new one. 0, or -1 with err (a bad plan changes nothing; a stage of a good
 * one that cannot start, its CPUs refused, fails the executor). */
int exec_set_plan(struct dnn_exec *e, const struct exec_plan *plan, char *err, size_t errlen);

/* The plan now in force and its generation (1 for the first). */
void exec_get_plan(const struct dnn_exec *e, struct exec_plan *p, uint64_t *generation);

/* Thread ids of stage s (its own thread first, then its pool's workers).
 * Returns how many were written, at most max; 0 for a stage not running.
 * May be called from any thread. */
int exec_stage_tids(const struct dnn_exec *e, int s, pid_t *tids, int max);

/* Mean milliseconds each layer took over the inferences since the last
 * exec_layer_times_reset() (0 for layers not run); ms has nr_layers slots.
 * Returns how many inferences the means cover. */
uint64_t exec_layer_times(const struct dnn_exec *e, double *ms);
void exec_layer_times_reset(struct dnn_exec *e);

/* Why the executor failed, "" while it has not. */
const char *exec_error(const struct dnn_exec *e);

/* Runs the model once with exec/ref_ops.c on the same weights: the yardstick
 * of the tests. output gets the outputs concatenated as exec_collect()
 * gives them. 0, or -1 with err. */
int exec_reference(const struct dnn_model *m, uint64_t seed, const float *input, float *output,
		   char *err, size_t errlen);

/* ---- stages on the GPU (exec/exec_remote.c) ----
 *
 * A stage "FIRST-LAST@gpu" runs on a remote unit through ops the program
 * gives (triage-run gives libtriage's triage-gpud client). The stage's
 * thread hands each inference's input to ops->run and waits for it. Where
 * no ops are set, open fails or a run fails, the stage runs that inference
 * on the CPU instead (its spec's threads, any CPU), says so in one stderr
 * line, and opens the remote unit again at most every
 * EXEC_REMOTE_RETRY_NS, saying so in one line when it is back. The
 * outputs are the same either way up to float rounding. */
#define EXEC_REMOTE_RETRY_NS 1000000000ull

/* A model output, in floats into the job's output (exec_collect()'s
 * order). */
struct exec_span {
	size_t offset, floats;
};

/* What the remote unit needs to run one stage. */
struct exec_remote_stage {
	const struct dnn_model *m;
	uint64_t seed;
	int index;	   /* of the stage in the plan, from 0 */
	int first, last;   /* its layers */
	size_t in_floats;  /* its input: the model's input when first is 0,
			    * else the output of layer first - 1 */
	size_t cut_floats; /* the output of layer last it hands to the next
			    * stage; 0 for the last stage */
	size_t out_floats; /* the job's whole output (exec_output_floats()) */
	int nr_spans;	   /* the model outputs among its layers */
	struct exec_span spans[DNN_MAX_OUTPUTS];
};

struct exec_remote_ops {
	/* Opens the stage on the unit: a handle, or NULL with one line in
	 * err. Called on the stage's thread. */
	void *(*open)(void *ctx, const struct exec_remote_stage *rs, char *err, size_t errlen);
	/* One inference: reads in (in_floats), writes cut (cut_floats; NULL
	 * for the last stage) and the spans of out (the job's output). 0, or
	 * -1 with err: the executor then closes the handle and runs this
	 * inference on the CPU. */
	int (*run)(void *handle, const float *in, float *cut, float *out, char *err,
		   size_t errlen);
	void (*close)(void *handle);
};

/* Sets the remote unit of every executor of this process made after the
 * call (NULL: none; GPU stages then run on the CPU). ops and ctx must
 * outlive them. */
void exec_set_remote(const struct exec_remote_ops *ops, void *ctx);

/* ---- timing (exec/exec_time.c) ---- */

/* A model input of fixed values in [-1, 1), malloc'ed; NULL without memory. */
float *exec_input_alloc(const struct dnn_exec *e);

struct exec_time_opts {
	int warmup;	    /* untimed inferences first: page faults, pool start */
	int runs;	    /* timed inferences (at least 1), each alone */
	double min_seconds; /* and more until the timed ones took this long; 0: none */
};

struct exec_timing {
	int runs;	  /* timed inferences */
	double median_ms; /* of their latencies (exec_result end - begin), the
			   * upper middle one for an even count */
	double mean_ms;	  /* wall time of the timed runs over runs */
};

/* Times e on exec_input_alloc()'s input: o->warmup inferences, then the
 * timed ones, each submitted and collected before the next (a lone
 * inference's latency). exec_layer_times() afterwards covers the timed
 * ones only. 0, or -1 with one line in err. */
int exec_time(struct dnn_exec *e, const struct exec_time_opts *o, struct exec_timing *t,
	      char *err, size_t errlen);

#endif

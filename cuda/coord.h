/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The GPU coordinator: several DNNs in one process and one context, each
 * a sequence of elastic kernels (cuda/gpu_dnn.h) at a level, critical or
 * best-effort. Critical DNNs serve requests at a fixed rate; best-effort
 * DNNs run inferences back to back. One host thread issues every launch,
 * so the policy sees the whole GPU's state at each decision.
 *
 * Policies (docs/gpu.md):
 *   elastic     critical kernels whole on greatest-priority streams;
 *               best-effort kernels in slices sized by cuda/slice.c to
 *               the SM slots the running critical kernels leave free
 *               (full size when none runs), on least-priority streams,
 *               capped by each DNN's GPU share (Miriam's coordinator)
 *   sequential  one stream, one kernel at a time, critical first
 *   multistream one stream per DNN, equal priorities, whole launches
 *   priority    as multistream, critical streams at greatest priority
 *   greenctx    a static SM split by green contexts, whole launches
 *
 * Every launch is counted per kernel, and each inference's launches must
 * cover every kernel's logical grid exactly once; coord_run() checks it
 * and reports violations as coverage_errors.
 */
#ifndef TRIAGE_CUDA_COORD_H
#define TRIAGE_CUDA_COORD_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "gpu_dnn.h"

#define COORD_MAX_DNNS 8
#define COORD_MAX_DEPTH 16 /* launches in flight per best-effort stream */

enum coord_policy {
	COORD_ELASTIC,
	COORD_SEQUENTIAL,
	COORD_MULTISTREAM,
	COORD_PRIORITY,
	COORD_GREENCTX,
	COORD_POLICY__COUNT,
};

enum coord_level {
	COORD_CRITICAL,
	COORD_BEST_EFFORT,
};

const char *coord_policy_name(enum coord_policy p);
int coord_policy_parse(const char *name); /* -1 when unknown */

struct coord_dnn {
	struct gpu_dnn *dnn;
	enum coord_level level;
	double rate_hz; /* critical: requests per second; 0: back to back */
	double share;	/* best-effort: cap on its part of the GPU, 0..1 */
	const char *name; /* its name in the GPU shares; NULL: the model's */
};

struct coord_opts {
	enum coord_policy policy;
	double warmup_s;   /* run, unmeasured, before the window */
	double duration_s; /* the measured window */
	/* > 0: no time limit; every DNN runs exactly this many inferences
	 * (critical ones get this many requests), then the run ends: the
	 * GPU tests, whose counts are then exact. */
	uint64_t inferences;
	uint32_t rounds_shared, rounds_alone; /* slice lengths; 0: cuda/slice.h */
	int depth;     /* launches in flight per best-effort stream; 0: 2 */
	int lookahead; /* critical kernels a slice leaves room for; < 0: 0, 0: 1 */
	int green_critical_sms;	 /* greenctx: SMs of the critical part; 0: half */
	const char *shares_path; /* GPU shares to follow; NULL: none */
};

struct coord_stats {
	uint64_t inferences;   /* finished inside the window */
	uint64_t requests;     /* critical: arrived inside the window */
	uint64_t unserved;     /* critical: arrived in the window, never started */
	double *latency_ms;    /* critical: arrival to finish, per request */
	size_t nr_latency;
	double p50_ms, p99_ms, mean_ms, max_ms;
	double throughput;     /* inferences per second of window */
	uint64_t launches;     /* cuLaunchKernel calls, whole run */
	uint64_t slices;       /* of them, launches of part of a grid */
	uint64_t slices_shared; /* planned beside running critical kernels */
	uint64_t kernels_done; /* kernels whose every launch finished */
	uint64_t coverage_errors;
	double share; /* the share in force at the end */
};

struct coord_result {
	enum coord_policy policy;
	int nr_dnns;
	struct coord_stats dnn[COORD_MAX_DNNS];
	double window_s;
	double total_throughput; /* inferences per second, all DNNs */
	char note[320];		 /* what degraded, one line; empty when nothing */
};

/* Runs dnns on g under o. Returns 0 with res filled; -EOPNOTSUPP when the
 * policy is unavailable here (greenctx without green contexts), or another
 * negative errno; one line in err. Free res with coord_result_free(). */
int coord_run(struct gpu_device *g, const struct coord_dnn *dnns, int n,
	      const struct coord_opts *o, struct coord_result *res, char *err, size_t errlen);

void coord_result_free(struct coord_result *res);

/* ---- serving (cuda/coord_serve.c): triage-gpud's coordinator ----
 *
 * The same policies over stages that come and go (up to COORD_MAX_DNNS),
 * each inference on a request: a stage's request starts when the previous
 * one is done, its input is copied in on its stream before the first
 * kernel and its outputs out after the last, and it is done when they are
 * back. Critical stages launch whole requests at once; best-effort ones
 * are kept `depth` launches ahead, sliced under elastic. One thread calls
 * everything; coord_serve_poll() never blocks. */

struct coord_copy {
	CUdeviceptr dev;
	void *host;
	size_t bytes;
};

#define COORD_MAX_COPIES 9 /* out: the cut tensor and every model output */

struct coord_stage {
	struct gpu_dnn *dnn; /* built with gpu_dnn_build_stage(); outlives the stage */
	enum coord_level level;
	const char *name; /* its name in the GPU shares (copied) */
	double share;	  /* best-effort: while the shares name it not */
	int nr_in, nr_out;
	struct coord_copy in[1], out[COORD_MAX_COPIES];
};

/* One request answered. */
struct coord_done {
	int id;		   /* coord_serve_add()'s */
	int status;	   /* 0, or a negative errno (the GPU failed) */
	double queued_s;   /* request to its first launch */
	double gpu_s;	   /* input copied in to outputs copied back, GPU time */
	uint64_t launches; /* of this request, slices included */
	uint64_t slices;
};

struct coord_serve;

/* o: policy (elastic, priority or multistream), depth, lookahead,
 * rounds, shares_path; the run's durations are unused. */
int coord_serve_create(struct gpu_device *g, const struct coord_opts *o, struct coord_serve **out,
		       char *err, size_t errlen);
void coord_serve_destroy(struct coord_serve *cs);

/* Adds a stage; *id names it from then on. -ENOSPC when COORD_MAX_DNNS
 * stages are served already. */
int coord_serve_add(struct coord_serve *cs, const struct coord_stage *st, int *id, char *err,
		    size_t errlen);

/* Waits for the stage's work in flight (its stream), then drops it. */
void coord_serve_remove(struct coord_serve *cs, int id);

/* Queues a request of stage id; -EBUSY while its previous one is not
 * done, -ENOENT for no such stage. */
int coord_serve_request(struct coord_serve *cs, int id);

/* One turn: the GPU shares, finished launches, new launches. Writes the
 * requests answered since the last turn into done (at most max) and
 * returns their number, or a negative errno with err (a launch the
 * driver refused: every stage's work is then unusable). */
int coord_serve_poll(struct coord_serve *cs, struct coord_done *done, int max, char *err,
		     size_t errlen);

/* Whether any request is queued or in flight: the caller may sleep when
 * not. */
bool coord_serve_busy(const struct coord_serve *cs);

/* Stages served, and the share in force for stage id (1 for critical). */
int coord_serve_count(const struct coord_serve *cs);
double coord_serve_share(const struct coord_serve *cs, int id);

#endif

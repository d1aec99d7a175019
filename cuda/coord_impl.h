/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The coordinator's state, shared by its run loop (cuda/coord.c) and its
 * launch policies (cuda/coord_launch.c). Internal: nothing outside these
 * two files includes it.
 *
 * A lane is one stream and the launches in flight on it, oldest first,
 * each with the event recorded right after it. A stream runs its launches
 * in order, so the oldest unfinished launch of a critical lane is the
 * critical kernel on the SMs now: what the elastic policy plans around.
 */
#ifndef TRIAGE_CUDA_COORD_IMPL_H
#define TRIAGE_CUDA_COORD_IMPL_H

#include "coord.h"
#include "gpu_shares.h"
#include "greenctx.h"

struct flight {
	CUevent ev;
	int dnn;
	int kernel;
	uint32_t begin, end; /* logical blocks */
};

struct lane {
	CUstream stream;
	int cap;
	int head, n;
	struct flight *ring; /* cap entries, each with its own event */
};

struct dnn_state {
	const struct coord_dnn *cfg;
	struct gpu_dnn *d;
	struct coord_stats *st;
	const char *name;
	bool critical;
	int lane;
	double share; /* in force now */

	/* The launcher's place in the current inference. */
	int next_kernel;
	uint32_t next_begin;

	/* Critical requests: arrival times not yet started, in order. */
	double period; /* 0: back to back */
	double next_arrival;
	double *queue;
	size_t q_head, q_n, q_cap;
	uint64_t arrived; /* requests so far, for the test runs' limit */
	bool busy;	/* an inference started and not finished */
	bool launching; /* ... and kernels of it still to launch */
	double cur_arrival;

	/* Coverage: logical blocks launched per kernel in the current
	 * inference, and launched and finished over the whole run. */
	uint32_t *covered;
	uint64_t *launched_total, *done_total;
	uint64_t inferences_launched, inferences_done;
};

struct coord {
	struct gpu_device *g;
	const struct coord_opts *o;
	struct coord_result *res;
	int n, nr_be, nr_lanes;
	int depth, lookahead;
	struct dnn_state dnn[COORD_MAX_DNNS];
	struct lane lanes[COORD_MAX_DNNS];
	int rr; /* sequential: the best-effort DNN whose turn is next */

	struct gpu_green green;
	bool green_on;

	/* GPU times: an event's time is ref_host plus its time after ref. */
	CUevent ref;
	double ref_host;
	double t0, window_start, window_end;

	struct gpu_shares_file shares;
	bool shares_on;
	uint32_t shares_seq;

	/* Serving (cuda/coord_serve.c): stages come and go, and every
	 * inference, best-effort ones too, starts on a request. start runs
	 * when a request starts, before its first kernel (the input's copy);
	 * launched after its last kernel is launched (the outputs' copies and
	 * the event that says they are back). */
	bool serve;
	int (*start)(struct coord *c, struct dnn_state *s);
	int (*launched)(struct coord *c, struct dnn_state *s);

	char *err;
	size_t errlen;
};

/* Lanes and per-DNN state (cuda/coord.c), for the run and for serving. */
int coord_dnn_init(struct coord *c, int i, const struct coord_dnn *cfg);
void coord_dnn_fini(struct dnn_state *s);
int coord_lane_init(struct coord *c, struct lane *l, int cap, bool critical);
void coord_lane_fini(struct lane *l);
void coord_poll_shares(struct coord *c);
int coord_poll_lanes(struct coord *c);

/* Issues whatever the policy launches now; 0 or a negative errno. */
int coord_submit(struct coord *c);

/* Critical requests waiting: push one arrival time. */
int coord_queue_push(struct dnn_state *s, double t);

#endif

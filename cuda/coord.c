// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The coordinator's run (cuda/coord.h): streams and events per policy, the
 * host loop (arrivals, completions, GPU shares, launches), the drain at
 * the end, the checks and the statistics. What to launch is decided in
 * cuda/coord_launch.c.
 *
 * The loop polls and never blocks: a blocking wait on one stream would
 * leave the others without launches. It costs one CPU core while it runs,
 * as Miriam's coordinator does.
 *
 * Finish times are GPU times: an event's time after a reference event
 * recorded at the start, plus the host time at which the reference was
 * seen done. A host timestamp taken when the loop notices an event would
 * add up to one loop iteration (a few launches) to every latency.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errbuf.h"
#include "coord_impl.h"
#include "quantile.h"

static const char *const policy_names[COORD_POLICY__COUNT] = {
	[COORD_ELASTIC] = "elastic",	     [COORD_SEQUENTIAL] = "sequential",
	[COORD_MULTISTREAM] = "multistream", [COORD_PRIORITY] = "priority",
	[COORD_GREENCTX] = "greenctx",
};

/* A test run that has not finished after this long is stuck. */
#define TEST_RUN_LIMIT_S 120.0

const char *coord_policy_name(enum coord_policy p)
{
	return (unsigned)p < COORD_POLICY__COUNT ? policy_names[p] : "?";
}

int coord_policy_parse(const char *name)
{
	for (int p = 0; p < COORD_POLICY__COUNT; p++)
		if (!strcmp(name, policy_names[p]))
			return p;
	return -1;
}

/* ---- setup and teardown ----------------------------------------------------- */

static int lane_stream(struct coord *c, struct lane *l, bool critical);

/* A lane of cap launches in flight, each with its event, and its stream. */
int coord_lane_init(struct coord *c, struct lane *l, int cap, bool critical)
{
	l->cap = cap;
	l->ring = calloc((size_t)cap, sizeof(*l->ring));
	if (!l->ring) {
		set_error(c->err, c->errlen, "coordinator: out of host memory");
		return -ENOMEM;
	}
	for (int i = 0; i < cap; i++) {
		CUresult r = cu.EventCreate(&l->ring[i].ev, CU_EVENT_DEFAULT);

		if (r != CUDA_SUCCESS)
			return cudrv_fail(r, c->err, c->errlen, "cuEventCreate");
	}
	return lane_stream(c, l, critical);
}

void coord_lane_fini(struct lane *l)
{
	if (l->stream)
		cu.StreamDestroy(l->stream);
	for (int i = 0; l->ring && i < l->cap; i++)
		if (l->ring[i].ev)
			cu.EventDestroy(l->ring[i].ev);
	free(l->ring);
	memset(l, 0, sizeof(*l));
}

/* The stream of a lane under the policy: priorities only where the policy
 * uses them, green-context streams for greenctx. */
static int lane_stream(struct coord *c, struct lane *l, bool critical)
{
	struct gpu_device *g = c->g;

	switch (c->o->policy) {
	case COORD_SEQUENTIAL:
	case COORD_MULTISTREAM:
		return gpu_stream_create_default(g, &l->stream, c->err, c->errlen);
	case COORD_GREENCTX:
		return gpu_green_stream(&c->green,
					critical ? GPU_GREEN_CRITICAL : GPU_GREEN_BEST_EFFORT,
					critical ? g->prio_greatest : g->prio_least, &l->stream,
					c->err, c->errlen);
	default:
		return gpu_stream_create(g, critical, &l->stream, c->err, c->errlen);
	}
}

int coord_dnn_init(struct coord *c, int i, const struct coord_dnn *cfg)
{
	struct dnn_state *s = &c->dnn[i];
	int nk = cfg->dnn ? cfg->dnn->nr_kernels : 0;

	if (!nk) {
		set_error(c->err, c->errlen, "coordinator: DNN %d has no kernels", i);
		return -EINVAL;
	}
	if (!(cfg->share >= 0.0 && cfg->share <= 1.0) || !(cfg->rate_hz >= 0.0)) {
		set_error(c->err, c->errlen,
			  "coordinator: %s: share %g (0..1) or rate %g/s (>= 0) out of range",
			  cfg->dnn->name, cfg->share, cfg->rate_hz);
		return -EINVAL;
	}
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->d = cfg->dnn;
	s->st = &c->res->dnn[i];
	s->name = cfg->name ? cfg->name : cfg->dnn->name;
	s->critical = cfg->level == COORD_CRITICAL;
	s->share = s->critical ? 1.0 : cfg->share;
	s->period = s->critical && cfg->rate_hz > 0.0 ? 1.0 / cfg->rate_hz : 0.0;
	s->lane = i;
	s->covered = calloc((size_t)nk, sizeof(*s->covered));
	s->launched_total = calloc((size_t)nk, sizeof(*s->launched_total));
	s->done_total = calloc((size_t)nk, sizeof(*s->done_total));
	if (!s->covered || !s->launched_total || !s->done_total) {
		set_error(c->err, c->errlen, "coordinator: out of host memory");
		return -ENOMEM;
	}
	return 0;
}

void coord_dnn_fini(struct dnn_state *s)
{
	free(s->covered);
	free(s->launched_total);
	free(s->done_total);
	free(s->queue);
	memset(s, 0, sizeof(*s));
}

static int setup_dnns(struct coord *c, const struct coord_dnn *dnns)
{
	for (int i = 0; i < c->n; i++) {
		int ret = coord_dnn_init(c, i, &dnns[i]);

		if (ret)
			return ret;
		c->nr_be += !c->dnn[i].critical;
	}
	return 0;
}

static int setup_lanes(struct coord *c)
{
	int ret;

	if (c->o->policy == COORD_GREENCTX) {
		ret = gpu_green_split(c->g, c->o->green_critical_sms, &c->green, c->err, c->errlen);
		if (ret)
			return ret;
		c->green_on = true;
	}
	if (c->o->policy == COORD_SEQUENTIAL) {
		c->nr_lanes = 1;
		for (int i = 0; i < c->n; i++)
			c->dnn[i].lane = 0;
		return coord_lane_init(c, &c->lanes[0], c->depth, false);
	}
	c->nr_lanes = c->n;
	for (int i = 0; i < c->n; i++) {
		struct dnn_state *s = &c->dnn[i];

		/* A critical lane holds a whole inference in flight. */
		ret = coord_lane_init(c, &c->lanes[i], s->critical ? s->d->nr_kernels : c->depth,
				      s->critical);
		if (ret)
			return ret;
	}
	return 0;
}

static void open_shares(struct coord *c)
{
	char err[256];

	if (!c->o->shares_path)
		return;
	if (gpu_shares_open(c->o->shares_path, &c->shares, err, sizeof(err))) {
		snprintf(c->res->note, sizeof(c->res->note), "GPU shares not followed: %s", err);
		return;
	}
	c->shares_on = true;
	c->shares_seq = gpu_shares_seq(c->shares.s) + 1; /* read on the first turn */
}

static void teardown(struct coord *c)
{
	for (int i = 0; i < c->nr_lanes; i++) {
		if (c->lanes[i].stream)
			cu.StreamSynchronize(c->lanes[i].stream);
		coord_lane_fini(&c->lanes[i]);
	}
	if (c->green_on)
		gpu_green_destroy(&c->green);
	if (c->ref)
		cu.EventDestroy(c->ref);
	if (c->shares_on)
		gpu_shares_close(&c->shares);
	for (int i = 0; i < c->n; i++)
		coord_dnn_fini(&c->dnn[i]);
}

/* ---- the loop ----------------------------------------------------------------- */

static double gpu_time_of(struct coord *c, CUevent ev)
{
	float ms = 0.0f;

	if (cu.EventElapsedTime(&ms, c->ref, ev) != CUDA_SUCCESS)
		return mono_s();
	return c->ref_host + ms * 1e-3;
}

static bool in_window(const struct coord *c, double t)
{
	return t >= c->window_start && t < c->window_end;
}

/* The agent's shares, read again whenever its seq moved. A table that is
 * being written is read on a later turn; one of another ABI stops the
 * following, with the reason in the note. */
void coord_poll_shares(struct coord *c)
{
	struct triage_gpu_shares copy;
	uint32_t seq;
	char err[256];
	int ret;

	if (!c->shares_on)
		return;
	seq = gpu_shares_seq(c->shares.s);
	if (seq == c->shares_seq)
		return;
	ret = gpu_shares_snapshot(c->shares.s, &copy, err, sizeof(err));
	if (ret == -EAGAIN)
		return;
	if (ret) {
		snprintf(c->res->note, sizeof(c->res->note), "GPU shares not followed: %s", err);
		gpu_shares_close(&c->shares);
		c->shares_on = false;
		return;
	}
	c->shares_seq = seq;
	for (int i = 0; i < c->n; i++) {
		struct dnn_state *s = &c->dnn[i];
		int permille = gpu_shares_lookup(&copy, s->name);

		if (!s->critical)
			s->share = permille >= 0 ? permille / (double)TRIAGE_GPU_SHARE_FULL
						 : s->cfg->share;
	}
}

static int arrivals(struct coord *c, double now)
{
	for (int i = 0; i < c->n; i++) {
		struct dnn_state *s = &c->dnn[i];
		int ret = 0;

		/* A run bounded by inferences serves that many requests and
		 * no more, so it ends even where the critical DNN alone
		 * overloads the GPU (which would starve best-effort work
		 * under sequential, by design). */
		if (!s->critical || (c->o->inferences && s->arrived >= c->o->inferences))
			continue;
		if (s->period > 0.0) {
			/* The scheduled time, not now: host delays count
			 * against the latency, as a sensor's frame would. */
			while (!ret && now >= s->next_arrival &&
			       !(c->o->inferences && s->arrived >= c->o->inferences)) {
				ret = coord_queue_push(s, s->next_arrival);
				s->st->requests += in_window(c, s->next_arrival);
				s->next_arrival += s->period;
				s->arrived++;
			}
		} else if (!s->busy && !s->q_n) {
			ret = coord_queue_push(s, now);
			s->st->requests += in_window(c, now);
			s->arrived++;
		}
		if (ret) {
			set_error(c->err, c->errlen, "coordinator: out of host memory");
			return ret;
		}
	}
	return 0;
}

static int record_latency(struct coord *c, struct dnn_state *s, double ms)
{
	struct coord_stats *st = s->st;

	if (st->nr_latency % 4096 == 0) {
		double *v = realloc(st->latency_ms, (st->nr_latency + 4096) * sizeof(*v));

		if (!v) {
			set_error(c->err, c->errlen, "coordinator: out of host memory");
			return -ENOMEM;
		}
		st->latency_ms = v;
	}
	st->latency_ms[st->nr_latency++] = ms;
	return 0;
}

static int finished(struct coord *c, const struct flight *f)
{
	struct dnn_state *s = &c->dnn[f->dnn];
	const struct gpu_kernel *k = &s->d->kernels[f->kernel];
	double t;

	s->done_total[f->kernel] += f->end - f->begin;
	if (f->end != k->logical_blocks)
		return 0;
	/* In stream order, so every earlier slice of it has finished too. */
	s->st->kernels_done++;
	/* Serving: an inference is done when its outputs are back
	 * (cuda/coord_serve.c), not with its last kernel. */
	if (f->kernel != s->d->nr_kernels - 1 || c->serve)
		return 0;
	t = gpu_time_of(c, f->ev);
	s->inferences_done++;
	if (in_window(c, t))
		s->st->inferences++;
	if (!s->critical)
		return 0;
	s->busy = false;
	if (in_window(c, s->cur_arrival))
		return record_latency(c, s, (t - s->cur_arrival) * 1e3);
	return 0;
}

int coord_poll_lanes(struct coord *c)
{
	for (int i = 0; i < c->nr_lanes; i++) {
		struct lane *l = &c->lanes[i];

		while (l->n) {
			struct flight *f = &l->ring[l->head];
			CUresult r = cu.EventQuery(f->ev);
			int ret;

			if (r == CUDA_ERROR_NOT_READY)
				break;
			if (r != CUDA_SUCCESS)
				return cudrv_fail(r, c->err, c->errlen, "a kernel failed");
			ret = finished(c, f);
			if (ret)
				return ret;
			l->head = (l->head + 1) % l->cap;
			l->n--;
		}
	}
	return 0;
}

static bool all_done(const struct coord *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->dnn[i].inferences_done < c->o->inferences)
			return false;
	return true;
}

static int start_clock(struct coord *c)
{
	CUresult r = cu.EventCreate(&c->ref, CU_EVENT_DEFAULT);

	if (r == CUDA_SUCCESS)
		r = cu.EventRecord(c->ref, c->lanes[0].stream);
	if (r == CUDA_SUCCESS)
		r = cu.EventSynchronize(c->ref);
	if (r != CUDA_SUCCESS)
		return cudrv_fail(r, c->err, c->errlen, "reference event");
	c->ref_host = c->t0 = mono_s();
	if (c->o->inferences) {
		c->window_start = c->t0;
		c->window_end = INFINITY;
	} else {
		c->window_start = c->t0 + c->o->warmup_s;
		c->window_end = c->window_start + c->o->duration_s;
	}
	for (int i = 0; i < c->n; i++)
		c->dnn[i].next_arrival = c->t0;
	return 0;
}

static int loop(struct coord *c)
{
	for (;;) {
		double now = mono_s();
		int ret;

		if (c->o->inferences) {
			if (all_done(c))
				return 0;
			if (now - c->t0 > TEST_RUN_LIMIT_S) {
				set_error(c->err, c->errlen,
					  "coordinator: %llu inferences each not done in %.0f s",
					  (unsigned long long)c->o->inferences, TEST_RUN_LIMIT_S);
				return -ETIMEDOUT;
			}
		} else if (now >= c->window_end) {
			return 0;
		}
		coord_poll_shares(c);
		if ((ret = arrivals(c, now)) || (ret = coord_poll_lanes(c)) || (ret = coord_submit(c)))
			return ret;
	}
}

/* After the loop: let everything launched finish, account for it, and
 * check that each kernel ran exactly the logical blocks launched. */
static int drain(struct coord *c)
{
	int ret;

	/* Stream by stream: whether a context-wide synchronize waits for
	 * green-context streams is not documented. */
	for (int i = 0; i < c->nr_lanes; i++) {
		CUresult r = cu.StreamSynchronize(c->lanes[i].stream);

		if (r != CUDA_SUCCESS)
			return cudrv_fail(r, c->err, c->errlen, "draining the streams");
	}
	ret = coord_poll_lanes(c);
	if (ret)
		return ret;
	for (int i = 0; i < c->n; i++) {
		struct dnn_state *s = &c->dnn[i];

		for (int k = 0; k < s->d->nr_kernels; k++) {
			uint64_t want = s->inferences_launched * s->d->kernels[k].logical_blocks +
					s->covered[k];

			if (s->launched_total[k] != want || s->done_total[k] != want)
				s->st->coverage_errors++;
		}
		for (size_t q = 0; q < s->q_n; q++)
			s->st->unserved += in_window(c, s->queue[(s->q_head + q) % s->q_cap]);
	}
	return 0;
}

static void summarize(struct coord *c)
{
	struct coord_result *res = c->res;

	res->window_s = c->o->inferences ? mono_s() - c->t0 : c->o->duration_s;
	for (int i = 0; i < c->n; i++) {
		struct coord_stats *st = &res->dnn[i];
		struct quantile_summary ls;

		quantile_summarize(st->latency_ms, st->nr_latency, &ls);
		st->p50_ms = ls.p50;
		st->p99_ms = ls.p99;
		st->mean_ms = ls.mean;
		st->max_ms = ls.max;
		st->throughput = res->window_s > 0 ? st->inferences / res->window_s : 0.0;
		st->share = c->dnn[i].share;
		res->total_throughput += st->throughput;
	}
}

int coord_run(struct gpu_device *g, const struct coord_dnn *dnns, int n,
	      const struct coord_opts *o, struct coord_result *res, char *err, size_t errlen)
{
	struct coord *c;
	int ret;

	memset(res, 0, sizeof(*res));
	res->policy = o->policy;
	res->nr_dnns = n;
	if (n < 1 || n > COORD_MAX_DNNS) {
		set_error(err, errlen, "coordinator: %d DNNs, expected 1..%d", n, COORD_MAX_DNNS);
		return -EINVAL;
	}
	if ((unsigned)o->policy >= COORD_POLICY__COUNT || o->depth < 0 ||
	    o->depth > COORD_MAX_DEPTH || (!o->inferences && !(o->duration_s > 0.0)) ||
	    !(o->warmup_s >= 0.0)) {
		set_error(err, errlen,
			  "coordinator: bad options (policy %d, depth %d of 1..%d, duration %g s)",
			  (int)o->policy, o->depth, COORD_MAX_DEPTH, o->duration_s);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		set_error(err, errlen, "coordinator: out of host memory");
		return -ENOMEM;
	}
	c->g = g;
	c->o = o;
	c->res = res;
	c->n = n;
	c->err = err;
	c->errlen = errlen;
	c->depth = o->depth ? o->depth : 2;
	c->lookahead = o->lookahead < 0 ? 0 : o->lookahead ? o->lookahead : 1;

	if (!(ret = setup_dnns(c, dnns)) && !(ret = setup_lanes(c)) && !(ret = start_clock(c))) {
		open_shares(c);
		ret = loop(c);
		if (!ret)
			ret = drain(c);
		if (!ret)
			summarize(c);
	}
	teardown(c);
	free(c);
	if (ret)
		coord_result_free(res);
	return ret;
}

void coord_result_free(struct coord_result *res)
{
	for (int i = 0; i < COORD_MAX_DNNS; i++) {
		free(res->dnn[i].latency_ms);
		res->dnn[i].latency_ms = NULL;
		res->dnn[i].nr_latency = 0;
	}
}

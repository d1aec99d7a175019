// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Serving (cuda/coord.h): the coordinator of cuda/coord.c and
 * cuda/coord_launch.c over stages that come and go, each inference on a
 * request, as triage-gpud runs it.
 *
 * A stage is a DNN state, a lane and a slot here, all at the same index;
 * when a stage goes, the last one moves into its place (its lane drained
 * first, so no launch in flight names the old index). Ids stay.
 *
 * A request's input is copied in on the stage's stream right before its
 * first kernel and its outputs out right after its last, so the copies
 * run in stream order with the kernels and no host wait sits between
 * them; an event after the outputs' copies says the request is done, and
 * one before the input's gives the GPU time between.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errbuf.h"
#include "coord_impl.h"

/* How often a GPU shares file that could not be opened is tried again:
 * the agent may start after gpud, or make the file anew. */
#define SHARES_RETRY_S 1.0

struct serve_slot {
	int id;
	struct coord_dnn cfg; /* what the DNN state's cfg points to */
	struct coord_stage st;
	char name[TRIAGE_NAME_MAX];
	CUevent ev_start, ev_end;
	bool ending; /* ev_end recorded, not yet seen done */
	double requested, started;
	uint64_t launches0, slices0;
};

struct coord_serve {
	struct coord c;
	struct coord_opts o;
	struct coord_result res;
	struct serve_slot slots[COORD_MAX_DNNS];
	int next_id;
	double shares_tried;
	char err[320];
};

static struct coord_serve *serve_of(struct coord *c)
{
	return (struct coord_serve *)((char *)c - offsetof(struct coord_serve, c));
}

static int copies(struct coord *c, const struct coord_copy *cp, int n, bool in, CUstream stream)
{
	for (int k = 0; k < n; k++) {
		CUresult r = in ? cu.MemcpyHtoDAsync(cp[k].dev, cp[k].host, cp[k].bytes, stream)
				: cu.MemcpyDtoHAsync(cp[k].host, cp[k].dev, cp[k].bytes, stream);

		if (r != CUDA_SUCCESS)
			return cudrv_fail(r, c->err, c->errlen,
					  in ? "copying a stage's input" : "copying a stage's output");
	}
	return 0;
}

/* A request starts: the input goes in before its first kernel. */
static int on_start(struct coord *c, struct dnn_state *s)
{
	struct serve_slot *sl = &serve_of(c)->slots[s - c->dnn];
	CUstream stream = c->lanes[s->lane].stream;
	CUresult r = cu.EventRecord(sl->ev_start, stream);

	if (r != CUDA_SUCCESS)
		return cudrv_fail(r, c->err, c->errlen, "cuEventRecord");
	sl->started = mono_s();
	sl->launches0 = s->st->launches;
	sl->slices0 = s->st->slices;
	return copies(c, sl->st.in, sl->st.nr_in, true, stream);
}

/* Its last kernel is launched: the outputs come back after it. */
static int on_launched(struct coord *c, struct dnn_state *s)
{
	struct serve_slot *sl = &serve_of(c)->slots[s - c->dnn];
	CUstream stream = c->lanes[s->lane].stream;
	int ret = copies(c, sl->st.out, sl->st.nr_out, false, stream);
	CUresult r;

	if (ret)
		return ret;
	r = cu.EventRecord(sl->ev_end, stream);
	if (r != CUDA_SUCCESS)
		return cudrv_fail(r, c->err, c->errlen, "cuEventRecord");
	sl->ending = true;
	return 0;
}

int coord_serve_create(struct gpu_device *g, const struct coord_opts *o, struct coord_serve **out,
		       char *err, size_t errlen)
{
	struct coord_serve *cs;

	*out = NULL;
	if (o->policy != COORD_ELASTIC && o->policy != COORD_PRIORITY &&
	    o->policy != COORD_MULTISTREAM) {
		set_error(err, errlen, "coordinator: %s cannot serve requests (elastic, priority or multistream)",
			  coord_policy_name(o->policy));
		return -EINVAL;
	}
	if (o->depth < 0 || o->depth > COORD_MAX_DEPTH) {
		set_error(err, errlen, "coordinator: depth %d out of 1..%d", o->depth,
			  COORD_MAX_DEPTH);
		return -EINVAL;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs) {
		set_error(err, errlen, "coordinator: out of host memory");
		return -ENOMEM;
	}
	cs->o = *o;
	cs->c.g = g;
	cs->c.o = &cs->o;
	cs->c.res = &cs->res;
	cs->c.err = cs->err;
	cs->c.errlen = sizeof(cs->err);
	cs->c.depth = o->depth ? o->depth : 2;
	cs->c.lookahead = o->lookahead < 0 ? 0 : o->lookahead ? o->lookahead : 1;
	cs->c.serve = true;
	cs->c.start = on_start;
	cs->c.launched = on_launched;
	cs->c.t0 = cs->c.ref_host = mono_s();
	cs->c.window_start = 0.0;
	cs->c.window_end = INFINITY;
	cs->shares_tried = -INFINITY;
	cs->res.policy = o->policy;
	*out = cs;
	return 0;
}

static int slot_of(const struct coord_serve *cs, int id)
{
	for (int i = 0; i < cs->c.n; i++)
		if (cs->slots[i].id == id)
			return i;
	return -1;
}

static void slot_fini(struct coord_serve *cs, int i)
{
	struct serve_slot *sl = &cs->slots[i];

	if (cs->c.lanes[i].stream)
		cu.StreamSynchronize(cs->c.lanes[i].stream);
	coord_lane_fini(&cs->c.lanes[i]);
	if (sl->ev_start)
		cu.EventDestroy(sl->ev_start);
	if (sl->ev_end)
		cu.EventDestroy(sl->ev_end);
	coord_dnn_fini(&cs->c.dnn[i]);
	memset(sl, 0, sizeof(*sl));
	memset(&cs->res.dnn[i], 0, sizeof(cs->res.dnn[i]));
}

/* Points the state at index i at its own slot, result and lane. */
static void rebind(struct coord_serve *cs, int i)
{
	struct dnn_state *s = &cs->c.dnn[i];
	struct serve_slot *sl = &cs->slots[i];
	struct lane *l = &cs->c.lanes[i];

	sl->cfg.name = sl->name;
	sl->st.name = sl->name;
	s->cfg = &sl->cfg;
	s->name = sl->name;
	s->st = &cs->res.dnn[i];
	s->lane = i;
	for (int k = 0; k < l->cap; k++)
		l->ring[k].dnn = i;
}

int coord_serve_add(struct coord_serve *cs, const struct coord_stage *st, int *id, char *err,
		    size_t errlen)
{
	struct coord *c = &cs->c;
	int i = c->n, ret;
	struct serve_slot *sl = &cs->slots[i];
	CUresult r;

	if (c->n == COORD_MAX_DNNS) {
		set_error(err, errlen, "coordinator: %d stages served already, the most it takes",
			  COORD_MAX_DNNS);
		return -ENOSPC;
	}
	if (!st->dnn || st->nr_in < 0 || st->nr_in > 1 || st->nr_out < 0 ||
	    st->nr_out > COORD_MAX_COPIES) {
		set_error(err, errlen, "coordinator: a stage with %d input and %d output copies",
			  st->nr_in, st->nr_out);
		return -EINVAL;
	}
	memset(sl, 0, sizeof(*sl));
	sl->st = *st;
	snprintf(sl->name, sizeof(sl->name), "%s", st->name ? st->name : st->dnn->name);
	sl->cfg = (struct coord_dnn){ .dnn = st->dnn, .level = st->level, .share = st->share };
	sl->cfg.name = sl->name;
	ret = coord_dnn_init(c, i, &sl->cfg);
	if (!ret)
		ret = coord_lane_init(c, &c->lanes[i],
				      st->level == COORD_CRITICAL ? st->dnn->nr_kernels : c->depth,
				      st->level == COORD_CRITICAL);
	if (!ret && (r = cu.EventCreate(&sl->ev_start, CU_EVENT_DEFAULT)) != CUDA_SUCCESS)
		ret = cudrv_fail(r, c->err, c->errlen, "cuEventCreate");
	if (!ret && (r = cu.EventCreate(&sl->ev_end, CU_EVENT_DEFAULT)) != CUDA_SUCCESS)
		ret = cudrv_fail(r, c->err, c->errlen, "cuEventCreate");
	if (ret) {
		set_error(err, errlen, "%s", c->err);
		slot_fini(cs, i);
		return ret;
	}
	rebind(cs, i);
	sl->id = ++cs->next_id;
	c->n++;
	c->nr_lanes = c->n;
	c->nr_be += st->level != COORD_CRITICAL;
	/* The next turn reads the shares again, for this stage too. */
	c->shares_seq--;
	*id = sl->id;
	return 0;
}

void coord_serve_remove(struct coord_serve *cs, int id)
{
	struct coord *c = &cs->c;
	int i = slot_of(cs, id), last = c->n - 1;

	if (i < 0)
		return;
	c->nr_be -= !c->dnn[i].critical;
	slot_fini(cs, i);
	if (i != last) {
		c->dnn[i] = c->dnn[last];
		c->lanes[i] = c->lanes[last];
		cs->slots[i] = cs->slots[last];
		cs->res.dnn[i] = cs->res.dnn[last];
		memset(&c->dnn[last], 0, sizeof(c->dnn[last]));
		memset(&c->lanes[last], 0, sizeof(c->lanes[last]));
		memset(&cs->slots[last], 0, sizeof(cs->slots[last]));
		memset(&cs->res.dnn[last], 0, sizeof(cs->res.dnn[last]));
		rebind(cs, i);
	}
	c->n--;
	c->nr_lanes = c->n;
}

int coord_serve_request(struct coord_serve *cs, int id)
{
	int i = slot_of(cs, id);
	struct dnn_state *s;

	if (i < 0)
		return -ENOENT;
	s = &cs->c.dnn[i];
	if (s->busy || s->q_n)
		return -EBUSY;
	cs->slots[i].requested = mono_s();
	return coord_queue_push(s, cs->slots[i].requested);
}

/* Follows the shares file from when it can be opened: gpud may start
 * before the agent makes it. */
static void follow_shares(struct coord_serve *cs)
{
	struct coord *c = &cs->c;
	double now;
	char err[256];

	if (!cs->o.shares_path || c->shares_on)
		return;
	now = mono_s();
	if (now - cs->shares_tried < SHARES_RETRY_S)
		return;
	cs->shares_tried = now;
	if (gpu_shares_open(cs->o.shares_path, &c->shares, err, sizeof(err)))
		return;
	c->shares_on = true;
	c->shares_seq = gpu_shares_seq(c->shares.s) + 1; /* read on this turn */
}

int coord_serve_poll(struct coord_serve *cs, struct coord_done *done, int max, char *err,
		     size_t errlen)
{
	struct coord *c = &cs->c;
	int nr = 0, ret;

	follow_shares(cs);
	coord_poll_shares(c);
	ret = coord_poll_lanes(c);
	for (int i = 0; !ret && i < c->n && nr < max; i++) {
		struct serve_slot *sl = &cs->slots[i];
		struct dnn_state *s = &c->dnn[i];
		struct coord_done *d = &done[nr];
		float ms = 0.0f;
		CUresult r;

		if (!sl->ending)
			continue;
		r = cu.EventQuery(sl->ev_end);
		if (r == CUDA_ERROR_NOT_READY)
			continue;
		if (r != CUDA_SUCCESS) {
			ret = cudrv_fail(r, c->err, c->errlen, "a stage failed on the GPU");
			break;
		}
		if (cu.EventElapsedTime(&ms, sl->ev_start, sl->ev_end) != CUDA_SUCCESS)
			ms = (float)((mono_s() - sl->started) * 1e3);
		*d = (struct coord_done){
			.id = sl->id,
			.queued_s = sl->started - sl->requested,
			.gpu_s = ms * 1e-3,
			.launches = s->st->launches - sl->launches0,
			.slices = s->st->slices - sl->slices0,
		};
		sl->ending = false;
		s->busy = false;
		s->inferences_done++;
		s->st->inferences++;
		nr++;
	}
	if (!ret)
		ret = coord_submit(c);
	if (ret) {
		set_error(err, errlen, "%s", c->err);
		return ret;
	}
	return nr;
}

bool coord_serve_busy(const struct coord_serve *cs)
{
	for (int i = 0; i < cs->c.n; i++)
		if (cs->c.dnn[i].busy || cs->c.dnn[i].q_n)
			return true;
	return false;
}

int coord_serve_count(const struct coord_serve *cs)
{
	return cs->c.n;
}

double coord_serve_share(const struct coord_serve *cs, int id)
{
	int i = slot_of(cs, id);

	return i < 0 ? 0.0 : cs->c.dnn[i].share;
}

void coord_serve_destroy(struct coord_serve *cs)
{
	if (!cs)
		return;
	while (cs->c.n)
		coord_serve_remove(cs, cs->slots[cs->c.n - 1].id);
	if (cs->c.shares_on)
		gpu_shares_close(&cs->c.shares);
	free(cs);
}

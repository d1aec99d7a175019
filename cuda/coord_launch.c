// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The coordinator's launch policies (cuda/coord.h lists them): what to
 * launch next, on which stream, whole or as a slice, and the bookkeeping
 * that proves every kernel's grid was launched exactly once.
 *
 * Critical inferences are launched all at once on their own stream (all
 * policies but sequential): the GPU starts each kernel the moment the one
 * before ends, with no host round trip in the critical path. Best-effort
 * streams are kept only `depth` launches ahead, so that what they launch
 * is decided late, with the freshest view of the critical work: for the
 * elastic policy a slice planned now runs within about one slice's time.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "coord_impl.h"
#include "slice.h"

#define WHOLE_VARIANT (TK_NR_BLOCK_VARIANTS - 1) /* 256 threads: one per logical block */

int coord_queue_push(struct dnn_state *s, double t)
{
	if (s->q_n == s->q_cap) {
		size_t cap = s->q_cap ? 2 * s->q_cap : 256;
		double *q = malloc(cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		for (size_t i = 0; i < s->q_n; i++)
			q[i] = s->queue[(s->q_head + i) % s->q_cap];
		free(s->queue);
		s->queue = q;
		s->q_head = 0;
		s->q_cap = cap;
	}
	s->queue[(s->q_head + s->q_n) % s->q_cap] = t;
	s->q_n++;
	return 0;
}

/* Starts the oldest waiting request of a critical DNN (of any DNN when
 * serving): 1 when one started, 0 when none, or a negative errno. */
static int start_request(struct coord *c, struct dnn_state *s)
{
	if (s->busy || !s->q_n)
		return 0;
	s->cur_arrival = s->queue[s->q_head];
	s->q_head = (s->q_head + 1) % s->q_cap;
	s->q_n--;
	s->busy = s->launching = true;
	if (c->start) {
		int ret = c->start(c, s);

		if (ret)
			return ret;
	}
	return 1;
}

/* Moves the launcher past [begin, end) of its current kernel and, at the
 * end of an inference, checks that each kernel's grid was launched
 * exactly once. */
static int advance(struct coord *c, struct dnn_state *s, uint32_t begin, uint32_t end)
{
	const struct gpu_kernel *k = &s->d->kernels[s->next_kernel];

	s->covered[s->next_kernel] += end - begin;
	s->launched_total[s->next_kernel] += end - begin;
	s->st->launches++;
	if (begin != 0 || end != k->logical_blocks)
		s->st->slices++;
	if (end < k->logical_blocks) {
		s->next_begin = end;
		return 0;
	}
	s->next_begin = 0;
	if (++s->next_kernel < s->d->nr_kernels)
		return 0;
	for (int i = 0; i < s->d->nr_kernels; i++) {
		if (s->covered[i] != s->d->kernels[i].logical_blocks)
			s->st->coverage_errors++;
		s->covered[i] = 0;
	}
	s->next_kernel = 0;
	s->inferences_launched++;
	s->launching = false;
	return c->launched ? c->launched(c, s) : 0;
}

/* A run bounded by inferences launches exactly that many of each DNN,
 * so its counts are exact; otherwise best-effort DNNs never stop. When
 * serving, a best-effort DNN launches the request it started. */
static bool wants_more(const struct coord *c, const struct dnn_state *s)
{
	if (c->serve)
		return s->launching;
	return !c->o->inferences || s->inferences_launched < c->o->inferences ||
	       s->next_kernel || s->next_begin;
}

static int launch(struct coord *c, struct dnn_state *s, struct lane *l, int variant,
		  uint32_t blocks, uint32_t begin, uint32_t end)
{
	const struct gpu_kernel *k = &s->d->kernels[s->next_kernel];
	struct flight *f = &l->ring[(l->head + l->n) % l->cap];
	struct tk_slice slice = { begin, end };
	CUresult r;
	int ret;

	/* A slice must stay inside its kernel's grid: anything else would
	 * repeat or skip logical blocks. */
	if (begin != s->next_begin || end <= begin || end > k->logical_blocks || l->n == l->cap) {
		set_error(c->err, c->errlen, "%s: kernel %d: bad launch [%u, %u) of %u blocks",
			  s->name, s->next_kernel, begin, end, k->logical_blocks);
		return -EINVAL;
	}
	ret = gpu_launch(c->g, k->launch.op, variant, blocks, slice, &k->launch.args, l->stream,
			 c->err, c->errlen);
	if (ret)
		return ret;
	r = cu.EventRecord(f->ev, l->stream);
	if (r != CUDA_SUCCESS)
		return cudrv_fail(r, c->err, c->errlen, "cuEventRecord");
	f->dnn = (int)(s - c->dnn);
	f->kernel = s->next_kernel;
	f->begin = begin;
	f->end = end;
	l->n++;
	return advance(c, s, begin, end);
}

static int launch_whole(struct coord *c, struct dnn_state *s, struct lane *l)
{
	uint32_t n = s->d->kernels[s->next_kernel].logical_blocks;

	return launch(c, s, l, WHOLE_VARIANT, n, 0, n);
}

/* Critical DNNs (every policy but sequential): a waiting request starts
 * when the previous one finished, and all its kernels go at once. */
static int submit_critical(struct coord *c)
{
	for (int i = 0; i < c->n; i++) {
		struct dnn_state *s = &c->dnn[i];
		struct lane *l = &c->lanes[s->lane];
		int ret;

		if (!s->critical)
			continue;
		if ((ret = start_request(c, s)) < 0)
			return ret;
		while (s->launching && l->n < l->cap)
			if ((ret = launch_whole(c, s, l)))
				return ret;
	}
	return 0;
}

/* Serving: a best-effort DNN's waiting request starts. */
static int start_best_effort(struct coord *c, struct dnn_state *s)
{
	int ret = c->serve && !s->critical ? start_request(c, s) : 0;

	return ret < 0 ? ret : 0;
}

static int submit_whole_best_effort(struct coord *c)
{
	for (int i = 0; i < c->n; i++) {
		struct dnn_state *s = &c->dnn[i];
		struct lane *l = &c->lanes[s->lane];
		int ret = start_best_effort(c, s);

		if (ret)
			return ret;
		while (!s->critical && l->n < c->depth && wants_more(c, s))
			if ((ret = launch_whole(c, s, l)))
				return ret;
	}
	return 0;
}

/* The critical kernels the next slice will run beside: with ahead = j,
 * the j-th unfinished launch of each critical lane (0: the one running). */
static int residents(struct coord *c, int ahead, struct slice_resident *res)
{
	int nr = 0;

	for (int i = 0; i < c->n; i++) {
		struct dnn_state *s = &c->dnn[i];
		struct lane *l = &c->lanes[s->lane];
		const struct flight *f;
		const struct gpu_kernel *k;

		if (!s->critical || l->n <= ahead)
			continue;
		f = &l->ring[(l->head + ahead) % l->cap];
		k = &s->d->kernels[f->kernel];
		res[nr].blocks = f->end - f->begin;
		res[nr].per_sm = c->g->per_sm[k->launch.op][WHOLE_VARIANT];
		nr++;
	}
	return nr;
}

/* The slice for s now: planned beside the running critical kernels and,
 * with lookahead, beside each of the next ones too, keeping the smallest,
 * because the slice may still be on the SMs when the next one starts. */
static int plan(struct coord *c, struct dnn_state *s, struct slice_plan *best)
{
	const struct gpu_kernel *k = &s->d->kernels[s->next_kernel];
	struct slice_resident res[COORD_MAX_DNNS];
	struct slice_request rq = {
		.nr_sms = c->g->nr_sms,
		.resident = res,
		.remaining = k->logical_blocks - s->next_begin,
		.share = s->share,
		.split = c->nr_be,
		.rounds_shared = c->o->rounds_shared,
		.rounds_alone = c->o->rounds_alone,
	};

	memcpy(rq.per_sm, c->g->per_sm[k->launch.op], sizeof(rq.per_sm));
	for (int ahead = 0; ahead <= c->lookahead; ahead++) {
		struct slice_plan p;
		int ret;

		rq.nr_resident = residents(c, ahead, res);
		if (ahead && !rq.nr_resident)
			break;
		ret = slice_plan_next(&rq, &p, c->err, c->errlen);
		if (ret)
			return ret;
		if (!ahead || (uint64_t)p.blocks * p.threads < (uint64_t)best->blocks * best->threads)
			*best = p;
	}
	return 0;
}

static int submit_elastic_best_effort(struct coord *c)
{
	for (int i = 0; i < c->n; i++) {
		struct dnn_state *s = &c->dnn[i];
		struct lane *l = &c->lanes[s->lane];
		int ret = start_best_effort(c, s);

		if (ret)
			return ret;
		while (!s->critical && l->n < c->depth && wants_more(c, s)) {
			struct slice_plan p = { 0 };

			ret = plan(c, s, &p);
			if (ret)
				return ret;
			if (p.shared)
				s->st->slices_shared++;
			ret = launch(c, s, l, p.variant, p.blocks, s->next_begin,
				     s->next_begin + p.length);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* One stream for all: the critical DNN in progress first, then a waiting
 * critical request, then the best-effort DNNs in turn, a kernel each. */
static int submit_sequential(struct coord *c)
{
	struct lane *l = &c->lanes[0];

	while (l->n < c->depth) {
		struct dnn_state *pick = NULL;
		int ret;

		for (int i = 0; i < c->n && !pick; i++)
			if (c->dnn[i].critical && c->dnn[i].launching)
				pick = &c->dnn[i];
		for (int i = 0; i < c->n && !pick; i++) {
			if (!c->dnn[i].critical)
				continue;
			if ((ret = start_request(c, &c->dnn[i])) < 0)
				return ret;
			if (ret)
				pick = &c->dnn[i];
		}
		for (int t = 0; t < c->n && !pick; t++) {
			struct dnn_state *s = &c->dnn[(c->rr + t) % c->n];

			if (!s->critical && wants_more(c, s)) {
				pick = s;
				c->rr = (int)(s - c->dnn + 1) % c->n;
			}
		}
		if (!pick)
			return 0;
		ret = launch_whole(c, pick, l);
		if (ret)
			return ret;
	}
	return 0;
}

int coord_submit(struct coord *c)
{
	int ret;

	switch (c->o->policy) {
	case COORD_SEQUENTIAL:
		return submit_sequential(c);
	case COORD_ELASTIC:
		ret = submit_critical(c);
		return ret ? ret : submit_elastic_best_effort(c);
	case COORD_MULTISTREAM:
	case COORD_PRIORITY:
	case COORD_GREENCTX:
		ret = submit_critical(c);
		return ret ? ret : submit_whole_best_effort(c);
	case COORD_POLICY__COUNT:
		break;
	}
	set_error(c->err, c->errlen, "coordinator: unknown policy %d", (int)c->o->policy);
	return -EINVAL;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Monte Carlo tree search (UCT) over the mix's decisions.
 *
 * The DNNs are decided one after the other, most important first, each in
 * at most five small steps: unit of stage 1, where stage 1 ends (the end of
 * the model = one stage), unit of stage 2, where it ends, unit of stage 3.
 * Steps with a single possible action are taken without a node, so the
 * tree only branches where there is a choice. Small steps keep the branching
 * factor near the number of cut points instead of their product, which is
 * what lets a few thousand iterations cover a five-DNN mix. Rollouts finish
 * the mapping at random (half the time a stage runs to the model's end),
 * and the estimator scores it. The answer is the best mapping any iteration
 * saw, since the planner wants the optimum, not the most promising first
 * move.
 *
 * All nodes come from one arena sized at creation; when it is full the tree
 * stops growing and iterations go on as rollouts from its leaves. While the
 * mix is unchanged the tree is kept between decisions; its statistics are
 * halved first, because corrections may have changed the rewards.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "planner_impl.h"

#define MAX_ACTIONS (PLAN_MAX_LAYERS + 2)

/* Selection values a child by a mix of its mean and its best reward: the
 * planner looks for one best mapping, not a good average, as single-player
 * MCTS does. */
#define MAX_MIX 0.5

/* How many of the best distinct mappings the hill-climb starts from. */
#define ELITE 8

struct mcts_node {
	int32_t first_child; /* -1: not expanded */
	uint16_t nr_children;
	int16_t action;
	uint32_t visits;
	double value; /* sum of scaled rewards */
	double best;  /* best scaled reward below */
};

struct mix_signature {
	const struct plan_platform *platform;
	int nr_dnns;
	const struct plan_model *model[PLAN_MAX_DNNS];
	int rank[PLAN_MAX_DNNS];
	bool critical[PLAN_MAX_DNNS];
	double latency_ms[PLAN_MAX_DNNS], rate_hz[PLAN_MAX_DNNS];
	bool throughput_only;
};

struct planner {
	struct mcts_node *nodes;
	uint32_t cap, used;
	struct mix_signature sig;
	bool have_tree;
	struct plan_mapping best;
	double rmin, rmax;
	/* The best distinct mappings of this search, for the hill-climb. */
	int nr_elite;
	double elite_reward[ELITE];
	struct plan_choice elite[ELITE][PLAN_MAX_DNNS];
};

/* The decisions made so far, and where the next one falls. */
struct partial {
	int order[PLAN_MAX_DNNS];
	int k;    /* position in order of the DNN being decided */
	int step; /* 0 unit, 1 end, 2 unit, 3 end, 4 unit */
	struct plan_choice c[PLAN_MAX_DNNS];
	int search_units[PLAN_MAX_UNITS], nr_units;
};

void plan_search_cfg_default(struct plan_search_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->seed = 1;
	c->max_iterations = 4000;
	c->max_ms = 7;
	c->exploration = 2.5;
	c->keep_tree = true;
	c->polish = true;
}

struct planner *planner_create(size_t arena_bytes)
{
	struct planner *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return NULL;
	pl->cap = arena_bytes / sizeof(struct mcts_node);
	if (pl->cap < 1)
		pl->cap = 1;
	pl->nodes = malloc((size_t)pl->cap * sizeof(struct mcts_node));
	if (!pl->nodes) {
		free(pl);
		return NULL;
	}
	return pl;
}

void planner_destroy(struct planner *pl)
{
	if (!pl)
		return;
	free(pl->nodes);
	free(pl);
}

static void signature_of(const struct plan_problem *pb, const struct plan_search_cfg *cfg,
			 struct mix_signature *s)
{
	memset(s, 0, sizeof(*s));
	s->platform = pb->platform;
	s->nr_dnns = pb->nr_dnns;
	for (int i = 0; i < pb->nr_dnns; i++) {
		s->model[i] = pb->dnn[i].model;
		s->rank[i] = pb->dnn[i].rank;
		s->critical[i] = pb->dnn[i].critical;
		s->latency_ms[i] = pb->dnn[i].latency_ms;
		s->rate_hz[i] = pb->dnn[i].rate_hz;
	}
	s->throughput_only = cfg->throughput_only;
}

static int nb_of(const struct plan_problem *pb, int dnn)
{
	return pb->tables->dnn[dnn].nb;
}

static bool unit_used(const struct plan_choice *c, int stages, int unit)
{
	for (int s = 0; s < stages; s++)
		if (c->units[s] == unit)
			return true;
	return false;
}

static bool partial_done(const struct plan_problem *pb, const struct partial *p)
{
	return p->k >= pb->nr_dnns;
}

/* Actions of the next step. */
static int partial_actions(const struct plan_problem *pb, const struct partial *p, int *acts)
{
	int dnn = p->order[p->k], n = 0, last = nb_of(pb, dnn) - 1;
	const struct plan_choice *c = &p->c[dnn];

	switch (p->step) {
	case 0:
	case 2:
	case 4:
		for (int j = 0; j < p->nr_units; j++)
			if (!unit_used(c, c->nr_stages, p->search_units[j]))
				acts[n++] = p->search_units[j];
		return n;
	default: {
		int from = c->nr_stages > 1 ? c->ends[c->nr_stages - 2] + 1 : 1;
		bool more = c->nr_stages < PLAN_MAX_STAGES && c->nr_stages < p->nr_units;

		if (more)
			for (int e = from; e < last; e++)
				acts[n++] = e;
		acts[n++] = last;
		return n;
	}
	}
}

static void partial_apply(const struct plan_problem *pb, struct partial *p, int a)
{
	int dnn = p->order[p->k];
	struct plan_choice *c = &p->c[dnn];

	if (p->step % 2 == 0) {
		c->units[c->nr_stages] = a;
		c->ends[c->nr_stages] = nb_of(pb, dnn) - 1;
		c->nr_stages++;
		p->step++;
		if (p->step == 5) {
			p->k++;
			p->step = 0;
		}
		return;
	}
	c->ends[c->nr_stages - 1] = a;
	if (a == nb_of(pb, dnn) - 1) {
		p->k++;
		p->step = 0;
	} else {
		p->step++;
	}
}

/* Takes every step that has a single action. */
static void partial_skip_forced(const struct plan_problem *pb, struct partial *p)
{
	int acts[MAX_ACTIONS];

	while (!partial_done(pb, p) && partial_actions(pb, p, acts) == 1)
		partial_apply(pb, p, acts[0]);
}

static void partial_init(const struct plan_problem *pb, struct partial *p)
{
	memset(p, 0, sizeof(*p));
	plan_rank_order(pb, p->order);
	p->nr_units = plan_search_units(pb->platform, p->search_units);
	partial_skip_forced(pb, p);
}

static void rollout(const struct plan_problem *pb, struct partial *p, struct plan_rng *rng)
{
	int acts[MAX_ACTIONS];

	while (!partial_done(pb, p)) {
		int n = partial_actions(pb, p, acts), a;

		if (p->step % 2 == 1 && n > 1 && plan_rng_unit(rng) < 0.5)
			a = acts[n - 1];
		else
			a = acts[plan_rng_below(rng, n)];
		partial_apply(pb, p, a);
	}
}

static void partial_mapping(const struct plan_problem *pb, const struct partial *p,
			    struct plan_mapping *m)
{
	m->nr_dnns = pb->nr_dnns;
	for (int i = 0; i < pb->nr_dnns; i++)
		plan_choice_apply(pb, i, &p->c[i], &m->dnn[i]);
}

/* Squeezes infeasible rewards (below 0, unbounded) into (-1, 0) so that
 * they do not flatten the feasible range in the UCT normalization. */
static double scaled(double r)
{
	return r >= 0 ? r : r / (1 - r);
}

static int32_t node_new_children(struct planner *pl, int n)
{
	if (pl->used + (uint32_t)n > pl->cap)
		return -1;
	int32_t first = pl->used;

	pl->used += n;
	return first;
}

static bool expand(struct planner *pl, const struct plan_problem *pb, const struct partial *p,
		   uint32_t node)
{
	int acts[MAX_ACTIONS], n = partial_actions(pb, p, acts);
	int32_t first = node_new_children(pl, n);

	if (first < 0)
		return false;
	for (int j = 0; j < n; j++)
		pl->nodes[first + j] = (struct mcts_node){ -1, 0, (int16_t)acts[j], 0, 0, -INFINITY };
	pl->nodes[node].first_child = first;
	pl->nodes[node].nr_children = n;
	return true;
}

static uint32_t select_child(const struct planner *pl, uint32_t node, double c,
			     struct plan_rng *rng)
{
	const struct mcts_node *parent = &pl->nodes[node];
	double logn = log((double)parent->visits + 1), span = pl->rmax - pl->rmin, best = -1;
	uint32_t pick = parent->first_child, unvisited = 0;

	for (int j = 0; j < parent->nr_children; j++)
		unvisited += pl->nodes[parent->first_child + j].visits == 0;
	if (unvisited) {
		uint32_t nth = plan_rng_below(rng, unvisited);

		for (int j = 0; j < parent->nr_children; j++)
			if (pl->nodes[parent->first_child + j].visits == 0 && nth-- == 0)
				return parent->first_child + j;
	}
	for (int j = 0; j < parent->nr_children; j++) {
		const struct mcts_node *ch = &pl->nodes[parent->first_child + j];
		double q = MAX_MIX * ch->best + (1 - MAX_MIX) * ch->value / ch->visits;
		double u = (span > 0 ? (q - pl->rmin) / span : 0.5) +
			   c * sqrt(logn / ch->visits);

		if (u > best) {
			best = u;
			pick = parent->first_child + j;
		}
	}
	return pick;
}

static void tree_reset(struct planner *pl)
{
	pl->used = 1;
	pl->nodes[0] = (struct mcts_node){ -1, 0, -1, 0, 0, -INFINITY };
	pl->rmin = INFINITY;
	pl->rmax = -INFINITY;
	pl->have_tree = true;
}

static void tree_decay(struct planner *pl)
{
	for (uint32_t j = 0; j < pl->used; j++) {
		struct mcts_node *n = &pl->nodes[j];

		if (n->visits > 1) {
			n->value *= (double)(n->visits / 2) / n->visits;
			n->visits /= 2;
		}
	}
}

/* Scores m and keeps it when it beats the best so far. */
static double consider(const struct plan_problem *pb, const struct plan_search_cfg *cfg,
		       struct plan_mapping *m, struct plan_result *res)
{
	struct plan_estimate e;
	double r = plan_evaluate(pb, m, cfg->throughput_only, &e);

	if (r > res->reward) {
		res->reward = r;
		res->mapping = *m;
		res->estimate = e;
	}
	return r;
}

/* Keeps the ELITE best distinct mappings, best first. */
static void elite_offer(struct planner *pl, const struct plan_problem *pb,
			const struct plan_choice *c, double r)
{
	size_t size = sizeof(struct plan_choice) * pb->nr_dnns;
	int at = pl->nr_elite;

	for (int j = 0; j < pl->nr_elite; j++)
		if (!memcmp(pl->elite[j], c, size))
			return;
	while (at > 0 && pl->elite_reward[at - 1] < r)
		at--;
	if (at >= ELITE)
		return;
	int last = pl->nr_elite < ELITE ? pl->nr_elite : ELITE - 1;

	memmove(pl->elite[at + 1], pl->elite[at], sizeof(pl->elite[0]) * (last - at));
	memmove(&pl->elite_reward[at + 1], &pl->elite_reward[at], sizeof(double) * (last - at));
	memcpy(pl->elite[at], c, size);
	pl->elite_reward[at] = r;
	if (pl->nr_elite < ELITE)
		pl->nr_elite++;
}

/* One iteration: descend by UCT, grow one level, roll out, back up. */
static void iterate(struct planner *pl, const struct plan_problem *pb,
		    const struct plan_search_cfg *cfg, struct plan_rng *rng, struct plan_result *res)
{
	uint32_t path[PLAN_MAX_DNNS * 5 + 1];
	int depth = 0;
	uint32_t node = 0;
	struct partial p;
	struct plan_mapping m;

	partial_init(pb, &p);
	path[depth++] = 0;
	while (!partial_done(pb, &p)) {
		if (pl->nodes[node].first_child < 0) {
			if (!expand(pl, pb, &p, node)) {
				res->arena_full = true;
				break;
			}
		}
		uint32_t child = select_child(pl, node, cfg->exploration, rng);
		bool fresh = pl->nodes[child].visits == 0;

		partial_apply(pb, &p, pl->nodes[child].action);
		partial_skip_forced(pb, &p);
		node = child;
		path[depth++] = node;
		if (fresh)
			break;
	}
	rollout(pb, &p, rng);
	partial_mapping(pb, &p, &m);
	double r = consider(pb, cfg, &m, res);

	elite_offer(pl, pb, p.c, r);
	double s = scaled(r);

	pl->rmin = fmin(pl->rmin, s);
	pl->rmax = fmax(pl->rmax, s);
	for (int d = 0; d < depth; d++) {
		pl->nodes[path[d]].visits++;
		pl->nodes[path[d]].value += s;
		pl->nodes[path[d]].best = fmax(pl->nodes[path[d]].best, s);
	}
}

/* Weights back to 0, so that the estimator sets this problem's. */
static void clear_weights(struct plan_mapping *m)
{
	for (int i = 0; i < m->nr_dnns; i++)
		for (int s = 0; s < m->dnn[i].nr_stages; s++)
			m->dnn[i].stages[s].weight = 0;
}

/* The incumbent before any iteration: each DNN on its own best mapping
 * alone, which is optimal when the DNNs do not meet; and the previous
 * answer when the tree is kept. */
static void seed_incumbent(struct planner *pl, const struct plan_problem *pb,
			   const struct plan_search_cfg *cfg, bool reused, struct plan_result *res)
{
	struct plan_mapping m = { .nr_dnns = pb->nr_dnns };

	for (int i = 0; i < pb->nr_dnns; i++)
		m.dnn[i] = pb->potential_map[i].dnn[0];
	clear_weights(&m);
	consider(pb, cfg, &m, res);
	if (reused) {
		m = pl->best;
		clear_weights(&m);
		consider(pb, cfg, &m, res);
	}
}

int planner_search(struct planner *pl, const struct plan_problem *pb,
		   const struct plan_search_cfg *cfg, struct plan_result *res, char *err,
		   size_t errlen)
{
	struct mix_signature sig;
	struct plan_rng rng;
	double start = mono_ms();

	memset(res, 0, sizeof(*res));
	res->reward = -HUGE_VAL;
	if (!pb->tables || pb->tables->nr_dnns != pb->nr_dnns) {
		snprintf(err, errlen, "planner: the problem was not prepared");
		return -1;
	}
	if (pb->nr_dnns == 0) {
		res->reward = 0;
		return 0;
	}
	/* A space no larger than the iteration budget is cheaper to score
	 * whole than to sample: the answer is then the optimum. Cut short by
	 * the time budget, the best mapping scored is the answer, since the
	 * time a tree would need is gone. */
	if (cfg->max_iterations && plan_space_size(pb) <= cfg->max_iterations) {
		int whole = plan_enumerate(pb, cfg->max_iterations, cfg->throughput_only,
					   cfg->max_ms > 0 ? start + cfg->max_ms : 0, res, err,
					   errlen);

		if (whole == 1 || (whole == 0 && res->iterations > 0)) {
			res->reward = plan_evaluate(pb, &res->mapping, cfg->throughput_only,
						    &res->estimate);
			res->exhaustive = whole == 1;
			pl->best = res->mapping;
			pl->have_tree = false;
			res->elapsed_ms = mono_ms() - start;
			return 0;
		}
	}
	memset(res, 0, sizeof(*res));
	res->reward = -HUGE_VAL;
	signature_of(pb, cfg, &sig);
	bool reuse = cfg->keep_tree && pl->have_tree && !memcmp(&sig, &pl->sig, sizeof(sig));

	if (reuse) {
		tree_decay(pl);
	} else {
		tree_reset(pl);
		pl->sig = sig;
	}
	res->tree_reused = reuse;
	pl->nr_elite = 0;
	plan_rng_seed(&rng, cfg->seed ^ (0x9e3779b97f4a7c15ull * (pl->nodes[0].visits + 1)));
	seed_incumbent(pl, pb, cfg, reuse, res);

	/* With a time budget the tree gets 60% of it, the hill-climb the rest. */
	double tree_ms = cfg->polish ? 0.6 * cfg->max_ms : cfg->max_ms;

	for (;;) {
		if (cfg->max_iterations && res->iterations >= cfg->max_iterations)
			break;
		if (cfg->max_ms > 0 && (res->iterations & 3) == 0 && mono_ms() - start >= tree_ms)
			break;
		iterate(pl, pb, cfg, &rng, res);
		res->iterations++;
	}
	if (cfg->polish) {
		struct plan_choice c[PLAN_MAX_DNNS];

		plan_choices_of(pb, &res->mapping, c);
		plan_polish(pb, cfg->throughput_only, c, res,
			    cfg->max_ms > 0 ? start + cfg->max_ms : 0);
		/* The optimum may sit beside another good mapping, not the
		 * best one: climb from each of the elite too. */
		for (int j = 0; j < pl->nr_elite; j++) {
			struct plan_result r = *res;

			if (cfg->max_ms > 0 && mono_ms() >= start + cfg->max_ms)
				break;

			memcpy(c, pl->elite[j], sizeof(c[0]) * pb->nr_dnns);
			r.reward = pl->elite_reward[j];
			plan_polish(pb, cfg->throughput_only, c, &r,
				    cfg->max_ms > 0 ? start + cfg->max_ms : 0);
			if (r.reward > res->reward)
				*res = r;
		}
	}
	/* Fill cores, weights and shares of the answer. */
	res->reward = plan_evaluate(pb, &res->mapping, cfg->throughput_only, &res->estimate);
	pl->best = res->mapping;
	res->elapsed_ms = mono_ms() - start;
	return 0;
}

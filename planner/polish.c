// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Hill-climbing from the best mapping the tree search found.
 *
 * MCTS finds the right region of a large space quickly but spends most of
 * its iterations re-deciding the first DNNs; the last few per cent of the
 * reward sit in small changes it rarely samples together: a cut one
 * boundary over, a stage on the other cluster, two stages merged or one
 * split. This tries those one DNN at a time, then two DNNs trading units,
 * takes every improvement, and stops at a local optimum (or the deadline). It is deterministic: moves are
 * tried in a fixed order.
 */
#include <math.h>
#include <string.h>

#include "clock.h"
#include "planner_impl.h"

struct climb {
	const struct plan_problem *pb;
	bool throughput_only;
	struct plan_choice *c; /* the whole mix, one choice per DNN */
	struct plan_result *res;
	int units[PLAN_MAX_UNITS], nu;
	double deadline_ms; /* 0: none */
	unsigned tries;
	bool late;
};

static bool choice_valid(const struct plan_problem *pb, int i, const struct plan_choice *c)
{
	int last = pb->tables->dnn[i].nb - 1;

	if (c->nr_stages < 1 || c->nr_stages > PLAN_MAX_STAGES || c->ends[c->nr_stages - 1] != last)
		return false;
	for (int s = 0; s < c->nr_stages; s++) {
		if (s && c->ends[s] <= c->ends[s - 1])
			return false;
		if (c->ends[s] < 1)
			return false;
		for (int t = 0; t < s; t++)
			if (c->units[t] == c->units[s])
				return false;
	}
	return true;
}

/* Scores the mix with DNN i's choice replaced by *cand and, when j >= 0,
 * DNN j's by *cand_j; keeps it if better. */
static bool try_pair(struct climb *k, int i, const struct plan_choice *cand, int j,
		     const struct plan_choice *cand_j)
{
	struct plan_mapping m = { .nr_dnns = k->pb->nr_dnns };
	struct plan_estimate e;

	if (k->late || !choice_valid(k->pb, i, cand) || (j >= 0 && !choice_valid(k->pb, j, cand_j)))
		return false;
	if (k->deadline_ms > 0 && (k->tries++ & 3) == 0 && mono_ms() >= k->deadline_ms) {
		k->late = true;
		return false;
	}
	for (int d = 0; d < k->pb->nr_dnns; d++)
		plan_choice_apply(k->pb, d, d == i ? cand : d == j ? cand_j : &k->c[d], &m.dnn[d]);
	double r = plan_evaluate(k->pb, &m, k->throughput_only, &e);

	if (r <= k->res->reward + 1e-12 * fabs(k->res->reward) + 1e-15)
		return false;
	k->res->reward = r;
	k->res->mapping = m;
	k->res->estimate = e;
	k->c[i] = *cand;
	if (j >= 0)
		k->c[j] = *cand_j;
	k->res->polish_moves++;
	return true;
}

static bool try_move(struct climb *k, int i, const struct plan_choice *cand)
{
	return try_pair(k, i, cand, -1, NULL);
}

static bool unit_moves(struct climb *k, int i)
{
	const struct plan_choice cur = k->c[i];

	for (int s = 0; s < cur.nr_stages; s++) {
		for (int j = 0; j < k->nu; j++) {
			struct plan_choice n = cur;

			n.units[s] = k->units[j];
			if (n.units[s] != cur.units[s] && try_move(k, i, &n))
				return true;
		}
		for (int t = s + 1; t < cur.nr_stages; t++) {
			struct plan_choice n = cur;

			n.units[s] = cur.units[t];
			n.units[t] = cur.units[s];
			if (try_move(k, i, &n))
				return true;
		}
	}
	return false;
}

static bool cut_moves(struct climb *k, int i)
{
	const struct plan_choice cur = k->c[i];

	for (int s = 0; s + 1 < cur.nr_stages; s++)
		for (int d = -2; d <= 2; d++) {
			struct plan_choice n = cur;

			n.ends[s] += d;
			if (d && try_move(k, i, &n))
				return true;
		}
	return false;
}

static bool merge_moves(struct climb *k, int i)
{
	const struct plan_choice cur = k->c[i];

	for (int s = 0; s + 1 < cur.nr_stages; s++)
		for (int keep = 0; keep < 2; keep++) {
			struct plan_choice n = cur;

			n.units[s] = cur.units[s + keep];
			for (int t = s + 1; t + 1 < cur.nr_stages; t++) {
				n.units[t] = cur.units[t + 1];
				n.ends[t] = cur.ends[t + 1];
			}
			n.ends[s] = cur.ends[s + 1];
			n.nr_stages--;
			if (try_move(k, i, &n))
				return true;
		}
	return false;
}

static bool split_moves(struct climb *k, int i)
{
	const struct plan_choice cur = k->c[i];

	if (cur.nr_stages >= PLAN_MAX_STAGES)
		return false;
	for (int s = 0; s < cur.nr_stages; s++) {
		int from = s ? cur.ends[s - 1] + 1 : 1;

		for (int at = from; at < cur.ends[s]; at++)
			for (int j = 0; j < k->nu; j++)
				for (int side = 0; side < 2; side++) {
					struct plan_choice n = cur;

					for (int t = cur.nr_stages; t > s; t--) {
						n.units[t] = cur.units[t - 1];
						n.ends[t] = cur.ends[t - 1];
					}
					n.nr_stages++;
					n.ends[s] = at;
					n.units[s + side] = k->units[j];
					if (try_move(k, i, &n))
						return true;
				}
	}
	return false;
}

/*
 * Two DNNs trade units: a stage of i moves to the unit a stage of j holds
 * and that stage of j to i's unit (or to a unit i frees). Single moves
 * cannot make such a trade when either half alone puts a DNN under its
 * floor or crowds a unit, which is where the climb stalled most often.
 */
static bool exchange_moves(struct climb *k, int i)
{
	for (int j = 0; j < k->pb->nr_dnns; j++) {
		if (j == i)
			continue;
		const struct plan_choice ci = k->c[i], cj = k->c[j];

		for (int s = 0; s < ci.nr_stages; s++)
			for (int t = 0; t < cj.nr_stages; t++) {
				if (ci.units[s] == cj.units[t])
					continue;
				struct plan_choice ni = ci, nj = cj;

				ni.units[s] = cj.units[t];
				nj.units[t] = ci.units[s];
				if (try_pair(k, i, &ni, j, &nj))
					return true;
			}
	}
	return false;
}

/* Every choice of DNN i with the others fixed: an exact step along one
 * coordinate. */
struct sweep {
	struct climb *k;
	int i;
	bool moved;
};

static int sweep_try(const struct plan_choice *c, void *arg)
{
	struct sweep *w = arg;

	w->moved |= try_move(w->k, w->i, c);
	return 0;
}

static bool sweep_moves(struct climb *k, int i)
{
	struct sweep w = { k, i, false };

	plan_choices_each(k->pb, i, sweep_try, &w);
	return w.moved;
}

void plan_polish(const struct plan_problem *pb, bool throughput_only, struct plan_choice *c,
		 struct plan_result *res, double deadline_ms)
{
	struct climb k = { .pb = pb, .throughput_only = throughput_only, .c = c, .res = res,
			   .deadline_ms = deadline_ms };
	bool moved = true;

	k.nu = plan_search_units(pb->platform, k.units);
	while (moved && !k.late) {
		moved = false;
		for (int i = 0; i < pb->nr_dnns && !k.late; i++) {
			while (unit_moves(&k, i) || cut_moves(&k, i) || merge_moves(&k, i) ||
			       split_moves(&k, i))
				moved = true;
			if (sweep_moves(&k, i) || exchange_moves(&k, i))
				moved = true;
		}
	}
}

void plan_choices_of_dnn(const struct plan_problem *pb, int i, const struct plan_dnn_map *d,
			 struct plan_choice *c)
{
	memset(c, 0, sizeof(*c));
	c->nr_stages = d->nr_stages;
	for (int s = 0; s < d->nr_stages; s++) {
		c->units[s] = d->stages[s].unit;
		c->ends[s] = pb->tables->dnn[i].pos_of_last[d->stages[s].last];
	}
}

void plan_choices_of(const struct plan_problem *pb, const struct plan_mapping *m,
		     struct plan_choice *c)
{
	for (int i = 0; i < m->nr_dnns; i++)
		plan_choices_of_dnn(pb, i, &m->dnn[i], &c[i]);
}

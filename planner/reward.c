// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The reward the search maximizes (docs/planner.md, "Reward").
 *
 * The floor it enforces is the starvation floor raised by a guard band,
 * since a DNN the estimator puts just above the floor may run just below.
 *
 * Feasible mappings score Σ w(rank_i)·T_i/P_i: every DNN counts by how much
 * of its own potential it keeps, weighted by rank, so one fast DNN cannot
 * buy the starvation of a slow one and a high rank is worth more than a
 * low one. A mapping that leaves a DNN under its floor, or a critical DNN
 * over its latency target, scores -1 - V + F, where V sums the relative
 * violations and F in [0, 1] is the weighted kept fraction: always below
 * any feasible mapping, yet still telling the search which infeasible
 * mapping is nearer to feasible and, among equals, which does more work.
 */
#include <math.h>

#include "planner_impl.h"

static double kept(const struct plan_problem *pb, const struct plan_estimate *e, int i)
{
	return pb->potential[i] > 0 ? e->throughput[i] / pb->potential[i] : 0;
}

double plan_reward(const struct plan_problem *pb, const struct plan_estimate *e)
{
	const struct plan_params *p = &pb->params;
	double sum = 0, wsum = 0, frac = 0, violation = 0;
	double floor = p->floor * (1 + (p->floor_guard > 0 ? p->floor_guard : 0));

	for (int i = 0; i < pb->nr_dnns; i++) {
		double w = plan_rank_weight(p, pb->dnn[i].rank), x = kept(pb, e, i);

		sum += w * x;
		wsum += w;
		frac += w * fmin(x, 1);
		if (floor > 0 && x < floor)
			violation += (floor - x) / floor;
		if (pb->dnn[i].critical && pb->dnn[i].latency_ms > 0) {
			double limit = pb->dnn[i].latency_ms * (1 + p->latency_slack);

			if (e->latency_ms[i] > limit)
				violation += fmin(e->latency_ms[i] / limit - 1, 10);
		}
	}
	if (violation > 0)
		return -1 - violation + (wsum > 0 ? frac / wsum : 0);
	return sum;
}

double plan_reward_throughput(const struct plan_problem *pb, const struct plan_estimate *e)
{
	double sum = 0;

	for (int i = 0; i < pb->nr_dnns; i++)
		sum += kept(pb, e, i);
	return sum;
}

double plan_evaluate(const struct plan_problem *pb, struct plan_mapping *m, bool throughput_only,
		     struct plan_estimate *e)
{
	plan_estimate(pb, m, e);
	return throughput_only ? plan_reward_throughput(pb, e) : plan_reward(pb, e);
}

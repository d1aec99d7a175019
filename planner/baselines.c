// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The policies triage is measured against, in the same code and the same
 * models as its own, so that a comparison changes one thing: the decision.
 *
 * Only RankMap enforces priorities (stage weights from ranks). Every other
 * policy runs with equal weights, as the managers they stand for do: Linux
 * gives every DNN the same CFS share, OmniBoost and the fit heuristics have
 * no notion of rank. Whole-DNN policies never split a model.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "planner_impl.h"

static const char *const policy_names[PLAN_POLICY__COUNT] = {
	[PLAN_POLICY_RANKMAP] = "rankmap",     [PLAN_POLICY_LINUX] = "linux",
	[PLAN_POLICY_GREEDY] = "greedy",       [PLAN_POLICY_ROUND_ROBIN] = "round-robin",
	[PLAN_POLICY_OMNIBOOST] = "omniboost", [PLAN_POLICY_IBIS] = "ibis",
	[PLAN_POLICY_FIRST_FIT] = "first-fit", [PLAN_POLICY_BEST_FIT] = "best-fit",
	[PLAN_POLICY_WORST_FIT] = "worst-fit",
};

const char *plan_policy_name(enum plan_policy p)
{
	return (unsigned)p < PLAN_POLICY__COUNT ? policy_names[p] : "?";
}

int plan_policy_parse(const char *name)
{
	for (int p = 0; p < PLAN_POLICY__COUNT; p++)
		if (!strcmp(name, policy_names[p]))
			return p;
	return -1;
}

static void whole(const struct plan_problem *pb, int i, int unit, struct plan_dnn_map *d)
{
	struct plan_choice c = { 1, { unit }, { pb->tables->dnn[i].nb - 1 } };

	plan_choice_apply(pb, i, &c, d);
	d->stages[0].weight = 1;
}

static int linux_default(const struct plan_problem *pb, struct plan_mapping *m)
{
	int all = -1;

	for (int u = 0; u < pb->platform->nr_units; u++)
		if (pb->platform->units[u].aggregate)
			all = u;
	for (int u = 0; all < 0 && u < pb->platform->nr_units; u++)
		if (pb->platform->units[u].kind == PLAN_UNIT_CPU)
			all = u;
	if (all < 0)
		return -1;
	for (int i = 0; i < pb->nr_dnns; i++)
		whole(pb, i, all, &m->dnn[i]);
	return 0;
}

static void round_robin(const struct plan_problem *pb, struct plan_mapping *m)
{
	int units[PLAN_MAX_UNITS], nu = plan_search_units(pb->platform, units);

	for (int i = 0; i < pb->nr_dnns; i++)
		whole(pb, i, units[i % nu], &m->dnn[i]);
}

/*
 * The first k DNNs in order as a problem of their own (sharing the cost
 * tables, which it must not free), to score a partial placement.
 */
struct sub_problem {
	struct plan_problem pb;
	struct plan_tables tables;
};

static void sub_problem(const struct plan_problem *pb, const int *order, int k,
			struct sub_problem *sub)
{
	sub->pb = *pb;
	sub->pb.nr_dnns = k;
	sub->tables.nr_dnns = k;
	for (int j = 0; j < k; j++) {
		sub->pb.dnn[j] = pb->dnn[order[j]];
		sub->pb.correction[j] = pb->correction[order[j]];
		sub->pb.potential[j] = pb->potential[order[j]];
		sub->tables.dnn[j] = pb->tables->dnn[order[j]];
	}
	sub->pb.tables = &sub->tables;
}

/* In rank order, each DNN whole on the unit that leaves the DNNs placed so
 * far with the most throughput. */
static void greedy(const struct plan_problem *pb, struct plan_mapping *m)
{
	struct sub_problem sub;
	int order[PLAN_MAX_DNNS], units[PLAN_MAX_UNITS], nu = plan_search_units(pb->platform, units);
	struct plan_mapping part = { 0 };
	struct plan_estimate e;

	plan_rank_order(pb, order);
	for (int k = 0; k < pb->nr_dnns; k++) {
		double best = -1;
		int pick = units[0];

		sub_problem(pb, order, k + 1, &sub);
		part.nr_dnns = k + 1;
		for (int j = 0; j < nu; j++) {
			whole(&sub.pb, k, units[j], &part.dnn[k]);
			double r = plan_evaluate(&sub.pb, &part, true, &e);

			if (r > best) {
				best = r;
				pick = units[j];
			}
		}
		whole(&sub.pb, k, pick, &part.dnn[k]);
		m->dnn[order[k]] = part.dnn[k];
	}
}

/* Seconds per inference of DNN i whole and alone on unit u. */
static double whole_service_s(const struct plan_problem *pb, int i, int u)
{
	const struct plan_unit *unit = &pb->platform->units[u];
	double c, mem;

	plan_tables_stage(pb, i, u, unit->cores, 0, pb->tables->dnn[i].nb - 1, &c, &mem);
	return c + mem;
}

/*
 * Ibis: admit a DNN on a unit when the unit stays at or under 80% busy and
 * every DNN there keeps its latency target under M/G/1 processor sharing;
 * among feasible units prefer one already running the same model, then an
 * idle one, then the least busy. A flat-out DNN is taken to ask for an even
 * share of its potential. A DNN no unit admits still has to run somewhere on
 * one device: it goes to the least busy unit.
 */
static void ibis(const struct plan_problem *pb, struct plan_mapping *m)
{
	int order[PLAN_MAX_DNNS], units[PLAN_MAX_UNITS], nu = plan_search_units(pb->platform, units);
	double util[PLAN_MAX_UNITS] = { 0 };
	int placed_on[PLAN_MAX_DNNS];
	double lambda[PLAN_MAX_DNNS];

	plan_rank_order(pb, order);
	for (int i = 0; i < pb->nr_dnns; i++)
		lambda[i] = pb->dnn[i].rate_hz > 0 ? pb->dnn[i].rate_hz :
						     pb->potential[i] / pb->nr_dnns;
	for (int k = 0; k < pb->nr_dnns; k++) {
		int i = order[k], pick = -1, pick_class = 3;

		for (int j = 0; j < nu; j++) {
			int u = units[j];
			double s = whole_service_s(pb, i, u), rho = util[j] + lambda[i] * s;
			bool ok = rho <= 0.8, same = false, idle = util[j] == 0;

			/* PS response: every job stretched by 1/(1-rho). */
			for (int q = 0; ok && q <= k; q++) {
				int d = order[q];

				if (q < k && placed_on[d] != u)
					continue;
				same |= q < k && pb->dnn[d].model == pb->dnn[i].model;
				double lat_ms = whole_service_s(pb, d, u) / (1 - rho) * 1e3;

				if (pb->dnn[d].latency_ms > 0 && lat_ms > pb->dnn[d].latency_ms)
					ok = false;
			}
			if (!ok)
				continue;
			int cls = same ? 0 : idle ? 1 : 2;

			if (cls < pick_class || (cls == pick_class && util[j] < util[pick])) {
				pick = j;
				pick_class = cls;
			}
		}
		if (pick < 0) {
			pick = 0;
			for (int j = 1; j < nu; j++)
				if (util[j] < util[pick])
					pick = j;
		}
		util[pick] += lambda[i] * whole_service_s(pb, i, units[pick]);
		placed_on[i] = units[pick];
		whole(pb, i, units[pick], &m->dnn[i]);
	}
}

/* Knapsack on memory alone, in arrival order. Nothing fitting: the unit
 * with the most memory left takes it. */
static void memory_fit(const struct plan_problem *pb, enum plan_policy how, struct plan_mapping *m)
{
	int units[PLAN_MAX_UNITS], nu = plan_search_units(pb->platform, units);
	double left[PLAN_MAX_UNITS];

	for (int j = 0; j < nu; j++)
		left[j] = pb->platform->units[units[j]].mem_mb * 1048576.0;
	for (int i = 0; i < pb->nr_dnns; i++) {
		double need = pb->dnn[i].model->mem_bytes;
		int pick = -1, roomiest = 0;

		for (int j = 0; j < nu; j++) {
			if (left[j] > left[roomiest])
				roomiest = j;
			if (left[j] < need)
				continue;
			if (pick < 0 || (how == PLAN_POLICY_BEST_FIT && left[j] < left[pick]) ||
			    (how == PLAN_POLICY_WORST_FIT && left[j] > left[pick]))
				pick = j;
		}
		if (pick < 0)
			pick = roomiest;
		left[pick] -= need;
		whole(pb, i, units[pick], &m->dnn[i]);
	}
}

/* OmniBoost: its own reward, no ranks in the sharing, its budget and its
 * exploration constant, the tree rebuilt every time. */
static int omniboost(struct planner *pl, const struct plan_problem *pb,
		     const struct plan_search_cfg *cfg, struct plan_result *res, char *err,
		     size_t errlen)
{
	struct plan_problem fair;
	struct plan_search_cfg c = *cfg;

	fair = *pb;
	fair.params.rank_decay = 1;
	fair.params.floor = 0; /* no floor: no weights raised to meet one */
	c.throughput_only = true;
	c.keep_tree = false;
	c.max_iterations = 500;
	c.max_ms = 0;
	c.exploration = 2;
	c.polish = false;
	if (planner_search(pl, &fair, &c, res, err, errlen))
		return -1;
	/* Scored, like every policy, by the ranked reward. */
	res->reward = plan_evaluate(pb, &res->mapping, false, &res->estimate);
	return 0;
}

int plan_policy_run(enum plan_policy policy, struct planner *pl, const struct plan_problem *pb,
		    const struct plan_search_cfg *cfg, struct plan_result *res, char *err,
		    size_t errlen)
{
	if (policy == PLAN_POLICY_RANKMAP || policy == PLAN_POLICY_OMNIBOOST) {
		if (!pl) {
			snprintf(err, errlen, "%s: needs a planner", plan_policy_name(policy));
			return -1;
		}
		return policy == PLAN_POLICY_RANKMAP ?
			       planner_search(pl, pb, cfg, res, err, errlen) :
			       omniboost(pl, pb, cfg, res, err, errlen);
	}
	memset(res, 0, sizeof(*res));
	res->mapping.nr_dnns = pb->nr_dnns;
	switch (policy) {
	case PLAN_POLICY_LINUX:
		if (linux_default(pb, &res->mapping)) {
			snprintf(err, errlen, "linux: the platform has no CPU unit");
			return -1;
		}
		break;
	case PLAN_POLICY_GREEDY:
		greedy(pb, &res->mapping);
		break;
	case PLAN_POLICY_ROUND_ROBIN:
		round_robin(pb, &res->mapping);
		break;
	case PLAN_POLICY_IBIS:
		ibis(pb, &res->mapping);
		break;
	case PLAN_POLICY_FIRST_FIT:
	case PLAN_POLICY_BEST_FIT:
	case PLAN_POLICY_WORST_FIT:
		memory_fit(pb, policy, &res->mapping);
		break;
	default:
		snprintf(err, errlen, "policy %d: unknown", (int)policy);
		return -1;
	}
	res->reward = plan_evaluate(pb, &res->mapping, false, &res->estimate);
	return 0;
}

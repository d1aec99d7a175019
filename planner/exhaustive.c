// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Exhaustive search: every valid mapping of the mix, for small instances:
 * the search uses it when the space is no larger than its iteration budget
 * (a tree would spend as many evaluations and might miss), and the
 * benchmark uses it to measure the tree search's gap to the optimum. Each
 * DNN's choices are listed once; an odometer walks their product.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "planner_impl.h"

struct choice_list {
	const struct plan_problem *pb;
	int dnn;
	int n;
	struct plan_dnn_map *maps;
};

static int list_add(const struct plan_choice *c, void *arg)
{
	struct choice_list *l = arg;

	plan_choice_apply(l->pb, l->dnn, c, &l->maps[l->n++]);
	return 0;
}

int plan_exhaustive(const struct plan_problem *pb, uint64_t max_mappings, bool throughput_only,
		    struct plan_result *res, char *err, size_t errlen)
{
	return plan_enumerate(pb, max_mappings, throughput_only, 0, res, err, errlen) < 0 ? -1 : 0;
}

int plan_enumerate(const struct plan_problem *pb, uint64_t max_mappings, bool throughput_only,
		   double deadline_ms, struct plan_result *res, char *err, size_t errlen)
{
	uint64_t space = plan_space_size(pb);
	struct choice_list lists[PLAN_MAX_DNNS] = { 0 };
	int idx[PLAN_MAX_DNNS] = { 0 }, ret = -1;
	struct plan_mapping m = { .nr_dnns = pb->nr_dnns };
	struct plan_estimate e;

	memset(res, 0, sizeof(*res));
	if (space > max_mappings) {
		snprintf(err, errlen, "exhaustive: %llu mappings, over the limit of %llu",
			 (unsigned long long)space, (unsigned long long)max_mappings);
		return -1;
	}
	for (int i = 0; i < pb->nr_dnns; i++) {
		lists[i].pb = pb;
		lists[i].dnn = i;
		lists[i].maps = calloc(plan_dnn_choices(pb, i), sizeof(*lists[i].maps));
		if (!lists[i].maps) {
			snprintf(err, errlen, "exhaustive: out of memory");
			goto out;
		}
		plan_choices_each(pb, i, list_add, &lists[i]);
	}

	res->reward = -HUGE_VAL;
	ret = 1;
	for (;;) {
		if (deadline_ms > 0 && (res->iterations & 7) == 0 && mono_ms() >= deadline_ms) {
			ret = 0;
			break;
		}
		for (int i = 0; i < pb->nr_dnns; i++)
			m.dnn[i] = lists[i].maps[idx[i]];
		double r = plan_evaluate(pb, &m, throughput_only, &e);

		res->iterations++;
		if (r > res->reward) {
			res->reward = r;
			res->mapping = m;
			res->estimate = e;
		}
		int i = 0;

		while (i < pb->nr_dnns && ++idx[i] == lists[i].n)
			idx[i++] = 0;
		if (i == pb->nr_dnns)
			break;
	}
out:
	for (int i = 0; i < pb->nr_dnns; i++)
		free(lists[i].maps);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What a layer costs on a unit, and the tables that make a stage's cost
 * two subtractions.
 *
 * A layer is a roofline: it takes the longer of its compute (FLOPs at the
 * unit's sustained rate for its op class, sped up by k^parallel_eff on k
 * CPU cores) and its DRAM traffic (weights, inputs and outputs at the unit's
 * bandwidth), plus a fixed dispatch or launch cost. Which side wins decides
 * whether the layer's time grows under DRAM contention: the estimator and
 * the simulator both scale only the memory-bound part. The search evaluates
 * thousands of mappings per decision, so every (DNN, unit, cores) gets
 * prefix sums over the DNN's cut boundaries once, in plan_problem_prepare().
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner_impl.h"

static double unit_speedup(const struct plan_unit *u, int cores)
{
	if (u->kind != PLAN_UNIT_CPU || cores <= 1)
		return 1.0;
	return pow((double)cores, u->parallel_eff > 0 ? u->parallel_eff : 1.0);
}

struct plan_cost plan_layer_cost(const struct plan_unit *u, const struct plan_layer *l, int cores)
{
	struct plan_cost c = { 0, 0 };
	double rate = u->gflops[l->op] * 1e9 * unit_speedup(u, cores);
	double compute = rate > 0 ? l->flops / rate : 0;
	double traffic = l->param_bytes + l->in_bytes + l->out_bytes;
	double memory = u->mem_gbps > 0 ? traffic / (u->mem_gbps * 1e9) : 0;
	double launch = u->launch_us * 1e-6;

	if (compute >= memory)
		c.compute_s = compute + launch;
	else {
		c.compute_s = launch;
		c.memory_s = memory;
	}
	return c;
}

double plan_transfer_s(const struct plan_platform *p, int a, int b, double bytes)
{
	if (a == b || a < 0 || b < 0)
		return 0;
	double gbps = p->xfer_gbps[a][b];
	return p->xfer_us[a][b] * 1e-6 + (gbps > 0 ? bytes / (gbps * 1e9) : 0);
}

int plan_search_units(const struct plan_platform *p, int *units)
{
	int n = 0;

	for (int u = 0; u < p->nr_units; u++)
		if (!p->units[u].aggregate)
			units[n++] = u;
	return n;
}

static int tables_rows(const struct plan_platform *p, struct plan_dnn_tables *t)
{
	int rows = 0;

	for (int u = 0; u < p->nr_units; u++) {
		t->kbase[u] = rows;
		rows += plan_unit_kmax(&p->units[u]);
	}
	return rows;
}

static int dnn_tables_build(const struct plan_platform *p, const struct plan_model *m,
			    struct plan_dnn_tables *t)
{
	int n = m->nr_layers, nb = 2;

	for (int l = 0; l + 1 < n; l++)
		nb += m->layers[l].cut_after;
	int rows = tables_rows(p, t);

	t->nb = nb;
	t->bound = calloc(nb, sizeof(*t->bound));
	t->pos_of_last = calloc(n, sizeof(*t->pos_of_last));
	t->cut_bytes = calloc(nb, sizeof(*t->cut_bytes));
	t->bytes = calloc(nb, sizeof(*t->bytes));
	t->compute = calloc((size_t)rows * nb, sizeof(*t->compute));
	t->memory = calloc((size_t)rows * nb, sizeof(*t->memory));
	if (!t->bound || !t->pos_of_last || !t->cut_bytes || !t->bytes || !t->compute ||
	    !t->memory)
		return -ENOMEM;

	int p_next = 1;

	for (int l = 0; l < n; l++) {
		t->pos_of_last[l] = -1;
		if (l == n - 1 || m->layers[l].cut_after) {
			t->bound[p_next] = l + 1;
			t->cut_bytes[p_next] = l == n - 1 ? 0 : m->layers[l].cut_bytes;
			t->pos_of_last[l] = p_next++;
		}
	}

	for (int u = 0; u < p->nr_units; u++) {
		const struct plan_unit *unit = &p->units[u];

		for (int k = 1; k <= plan_unit_kmax(unit); k++) {
			double *c = t->compute + (size_t)(t->kbase[u] + k - 1) * nb;
			double *mem = t->memory + (size_t)(t->kbase[u] + k - 1) * nb;
			double csum = 0, msum = 0;

			for (int pos = 1; pos < nb; pos++) {
				for (int l = t->bound[pos - 1]; l < t->bound[pos]; l++) {
					struct plan_cost lc = plan_layer_cost(unit, &m->layers[l], k);

					csum += lc.compute_s;
					msum += lc.memory_s;
				}
				c[pos] = csum;
				mem[pos] = msum;
			}
		}
	}

	double bsum = 0;

	for (int pos = 1; pos < nb; pos++) {
		for (int l = t->bound[pos - 1]; l < t->bound[pos]; l++) {
			const struct plan_layer *ly = &m->layers[l];

			bsum += ly->param_bytes + ly->in_bytes + ly->out_bytes;
		}
		t->bytes[pos] = bsum;
	}
	return 0;
}

static void dnn_tables_free(struct plan_dnn_tables *t)
{
	free(t->bound);
	free(t->pos_of_last);
	free(t->cut_bytes);
	free(t->bytes);
	free(t->compute);
	free(t->memory);
	memset(t, 0, sizeof(*t));
}

void plan_tables_free(struct plan_problem *pb)
{
	if (!pb->tables)
		return;
	for (int i = 0; i < pb->tables->nr_dnns; i++)
		dnn_tables_free(&pb->tables->dnn[i]);
	free(pb->tables);
	pb->tables = NULL;
}

int plan_tables_build(struct plan_problem *pb, char *err, size_t errlen)
{
	plan_tables_free(pb);
	pb->tables = calloc(1, sizeof(*pb->tables));
	if (!pb->tables)
		goto nomem;
	pb->tables->nr_dnns = pb->nr_dnns;
	for (int i = 0; i < pb->nr_dnns; i++)
		if (dnn_tables_build(pb->platform, pb->dnn[i].model, &pb->tables->dnn[i]))
			goto nomem;
	return 0;
nomem:
	plan_tables_free(pb);
	snprintf(err, errlen, "planner: out of memory for the cost tables");
	return -1;
}

void plan_tables_stage(const struct plan_problem *pb, int dnn, int unit, int k, int p0, int p1,
		       double *compute_s, double *memory_s)
{
	const struct plan_dnn_tables *t = &pb->tables->dnn[dnn];
	int kmax = plan_unit_kmax(&pb->platform->units[unit]);

	if (k < 1)
		k = 1;
	if (k > kmax)
		k = kmax;
	size_t row = (size_t)(t->kbase[unit] + k - 1) * t->nb;

	*compute_s = t->compute[row + p1] - t->compute[row + p0];
	*memory_s = t->memory[row + p1] - t->memory[row + p0];
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The planner on small hand-built platforms and models (no files): validity
 * rules, the estimator against hand-computed figures, the reward's formula,
 * monotonicity under contention, MCTS against exhaustive search, and
 * determinism for a seed.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"

/* big: 4 cores at 10 GFLOP/s each (conv), little: 4 at 2.5, gpu: 100
 * GFLOP/s with 100 µs launches; bytes tiny so every layer is compute-bound
 * unless a test says otherwise. */
static void tiny_platform(struct plan_platform *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "tiny");
	p->nr_units = 4;
	const char *names[] = { "big", "little", "gpu", "cpu" };
	double per_core[] = { 10, 2.5, 100, 2.5 };

	for (int u = 0; u < 4; u++) {
		struct plan_unit *x = &p->units[u];

		strcpy(x->name, names[u]);
		x->kind = u == 2 ? PLAN_UNIT_GPU : PLAN_UNIT_CPU;
		x->cores = u == 2 ? 16 : u == 3 ? 8 : 4;
		for (int op = 0; op < PLAN_OP__COUNT; op++)
			x->gflops[op] = per_core[u];
		x->parallel_eff = 1.0;
		x->mem_gbps = 10;
		x->launch_us = u == 2 ? 100 : 0;
		x->mem_mb = 1024;
		x->aggregate = u == 3;
	}
	p->dram_gbps = 1000;
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++) {
			p->xfer_gbps[a][b] = 10;
			p->xfer_us[a][b] = a == b ? 0 : 0;
		}
}

/* n layers of gflop GFLOP each, cut allowed after every layer. */
static struct plan_model *chain_model(const char *name, int n, double gflop)
{
	struct plan_model *m = calloc(1, sizeof(*m));

	strcpy(m->name, name);
	m->nr_layers = n;
	for (int l = 0; l < n; l++) {
		m->layers[l].op = PLAN_OP_CONV;
		m->layers[l].flops = gflop * 1e9;
		m->layers[l].out_bytes = 1000;
		m->layers[l].cut_after = l + 1 < n;
		m->layers[l].cut_bytes = 1000;
	}
	m->mem_bytes = 1e6;
	return m;
}

static void add_dnn(struct plan_problem *pb, const struct plan_model *m, int rank)
{
	struct plan_workload *w = &pb->dnn[pb->nr_dnns++];

	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%.16s-%d", m->name, pb->nr_dnns % 100);
	w->model = m;
	w->rank = rank;
}

static struct plan_platform plat;
static struct plan_problem pb;
static char err[256];

static void setup(void)
{
	tiny_platform(&plat);
	memset(&pb, 0, sizeof(pb));
	pb.platform = &plat;
	plan_params_default(&pb.params);
}

static void teardown(void)
{
	plan_problem_release(&pb);
}

static void one_stage(struct plan_mapping *m, int i, int unit, int nr_layers)
{
	m->dnn[i].nr_stages = 1;
	m->dnn[i].stages[0] = (struct plan_stage){ .unit = unit, .first = 0, .last = nr_layers - 1 };
}

TestSuite(planner, .init = setup, .fini = teardown);

Test(planner, validity_rules_name_the_dnn_stage_and_rule)
{
	struct plan_model *a = chain_model("a", 4, 0.1);
	struct plan_mapping m = { .nr_dnns = 1 };

	add_dnn(&pb, a, 1);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);

	one_stage(&m, 0, 0, 4);
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), 0, "%s", err);

	/* two stages on one unit */
	m.dnn[0].nr_stages = 2;
	m.dnn[0].stages[0] = (struct plan_stage){ .unit = 0, .first = 0, .last = 1 };
	m.dnn[0].stages[1] = (struct plan_stage){ .unit = 0, .first = 2, .last = 3 };
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "stage 1") && strstr(err, "already holds"), "%s", err);

	/* a gap between stages */
	m.dnn[0].stages[1] = (struct plan_stage){ .unit = 2, .first = 3, .last = 3 };
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "contiguous"), "%s", err);

	/* not covering the model */
	m.dnn[0].stages[1] = (struct plan_stage){ .unit = 2, .first = 2, .last = 2 };
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "end at layer 2 of 4"), "%s", err);

	/* cut where the model forbids it */
	a->layers[1].cut_after = false;
	m.dnn[0].stages[1] = (struct plan_stage){ .unit = 2, .first = 2, .last = 3 };
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "cannot be cut"), "%s", err);
	a->layers[1].cut_after = true;
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), 0, "%s", err);

	/* four stages */
	m.dnn[0].nr_stages = 4;
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "4 stages"), "%s", err);

	/* the aggregate unit split, and mixed with a cluster */
	m.dnn[0].nr_stages = 2;
	m.dnn[0].stages[0].unit = 3;
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "aggregate"), "%s", err);

	/* too many cores */
	one_stage(&m, 0, 0, 4);
	m.dnn[0].stages[0].cores = 5;
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "cores"), "%s", err);
	free(a);
}

Test(planner, aggregate_and_cluster_do_not_mix)
{
	struct plan_model *a = chain_model("a", 2, 0.1);
	struct plan_mapping m = { .nr_dnns = 2 };

	add_dnn(&pb, a, 1);
	add_dnn(&pb, a, 2);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	one_stage(&m, 0, 3, 2);
	one_stage(&m, 1, 0, 2);
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "aggregate"), "%s", err);
	one_stage(&m, 1, 2, 2); /* the GPU beside the aggregate is fine */
	cr_assert_eq(plan_mapping_validate(&pb, &m, err, sizeof(err)), 0, "%s", err);
	free(a);
}

Test(planner, estimator_alone_matches_the_roofline_by_hand)
{
	struct plan_model *a = chain_model("a", 4, 0.1); /* 0.4 GFLOP in all */
	struct plan_mapping m = { .nr_dnns = 1 };
	struct plan_estimate e;

	add_dnn(&pb, a, 1);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);

	/* GPU: 4 × (1 ms + 0.1 ms launch) = 4.4 ms */
	one_stage(&m, 0, 2, 4);
	plan_estimate(&pb, &m, &e);
	cr_assert_float_eq(e.throughput[0], 1 / 4.4e-3, 1e-6);

	/* big cluster alone: all four cores, 40 GFLOP/s → 10 ms */
	one_stage(&m, 0, 0, 4);
	plan_estimate(&pb, &m, &e);
	cr_assert_eq(m.dnn[0].stages[0].cores, 4);
	cr_assert_float_eq(e.throughput[0], 100, 1e-6);

	/* pipeline big[0-1] > gpu[2-3]: 5 ms + 0.1 µs transfer vs 2.2 ms */
	m.dnn[0].nr_stages = 2;
	m.dnn[0].stages[0] = (struct plan_stage){ .unit = 0, .first = 0, .last = 1 };
	m.dnn[0].stages[1] = (struct plan_stage){ .unit = 2, .first = 2, .last = 3 };
	plan_estimate(&pb, &m, &e);
	cr_assert_float_eq(e.throughput[0], 1 / (5e-3 + 1000 / 10e9), 1e-6);

	/* P_i is the best of every mapping alone: big[0] (2.5 ms on four
	 * cores) > gpu[1-3] (3.3 ms) */
	cr_assert_float_eq(pb.potential[0], 1 / 3.3e-3, 1e-6);
	cr_assert_eq(pb.potential_map[0].dnn[0].nr_stages, 2);
	free(a);
}

Test(planner, gpu_sharing_follows_the_weights)
{
	struct plan_model *a = chain_model("a", 2, 0.1);
	struct plan_mapping m = { .nr_dnns = 2 };
	struct plan_estimate e;

	add_dnn(&pb, a, 1);
	add_dnn(&pb, a, 1);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	one_stage(&m, 0, 2, 2);
	one_stage(&m, 1, 2, 2);
	plan_estimate(&pb, &m, &e);
	double alone = 1 / 2.2e-3;

	cr_assert_float_eq(e.throughput[0], alone / 2, 1e-6);
	cr_assert_float_eq(e.throughput[1], alone / 2, 1e-6);

	/* rank 2 weighs half: 2/3 and 1/3 of the GPU */
	pb.dnn[1].rank = 2;
	m.dnn[0].stages[0].weight = m.dnn[1].stages[0].weight = 0;
	plan_estimate(&pb, &m, &e);
	cr_assert_float_eq(e.throughput[0], alone * 2 / 3, 1e-6);
	cr_assert_float_eq(e.throughput[1], alone / 3, 1e-6);
	cr_assert_float_eq(m.dnn[1].stages[0].weight, 0.5, 1e-12);
	free(a);
}

Test(planner, weights_the_planner_sets_lift_a_starved_dnn_to_its_floor)
{
	struct plan_model *a = chain_model("a", 2, 0.1);
	struct plan_mapping m = { .nr_dnns = 2 };
	struct plan_estimate e;

	add_dnn(&pb, a, 1);
	add_dnn(&pb, a, 5);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	cr_assert_float_eq(pb.potential[1], 1 / 2.2e-3, 1e-6);
	one_stage(&m, 0, 2, 2);
	one_stage(&m, 1, 2, 2);

	/* Weights given: rank 5 at 1/16 keeps 1/17 of the GPU, starved. */
	m.dnn[0].stages[0].weight = 1;
	m.dnn[1].stages[0].weight = 1.0 / 16;
	plan_estimate(&pb, &m, &e);
	cr_assert_float_eq(e.throughput[1] / pb.potential[1], 1.0 / 17, 1e-9);
	cr_assert_float_eq(m.dnn[1].stages[0].weight, 1.0 / 16, 1e-12, "given weights stay");

	/* Weights left to the planner: rank 5 is raised to its guarded floor
	 * (0.10 * 1.25), rank 1 keeps the rest and still leads. */
	m.dnn[0].stages[0].weight = m.dnn[1].stages[0].weight = 0;
	plan_estimate(&pb, &m, &e);
	double x0 = e.throughput[0] / pb.potential[0], x1 = e.throughput[1] / pb.potential[1];

	cr_assert_geq(x1, 0.12, "rank 5 kept %g of its potential", x1);
	cr_assert_leq(x1, 0.14, "lifted to the floor, not past it: %g", x1);
	cr_assert_float_eq(x0 + x1, 1, 1e-9, "the GPU stays fully shared");
	cr_assert_gt(m.dnn[1].stages[0].weight, 1.0 / 16);
	cr_assert_float_eq(m.dnn[0].stages[0].weight, 1, 1e-12);
	cr_assert_gt(plan_reward(&pb, &e), 0, "the lifted mapping is feasible");
	free(a);
}

Test(planner, cores_go_to_the_heaviest_weighted_stage)
{
	struct plan_model *big = chain_model("big", 2, 0.3), *small = chain_model("small", 2, 0.1);
	struct plan_mapping m = { .nr_dnns = 2 };
	struct plan_estimate e;

	add_dnn(&pb, big, 1);
	add_dnn(&pb, small, 1);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	one_stage(&m, 0, 0, 2);
	one_stage(&m, 1, 0, 2);
	plan_estimate(&pb, &m, &e);
	/* 0.6 vs 0.2 GFLOP: 3 cores and 1 core, each owned, no sharing. */
	cr_assert_eq(m.dnn[0].stages[0].cores, 3);
	cr_assert_eq(m.dnn[1].stages[0].cores, 1);
	cr_assert_float_eq(e.throughput[0], 1 / (0.6 / 30.0), 1e-6);
	cr_assert_float_eq(e.throughput[1], 1 / (0.2 / 10.0), 1e-6);
	free(big);
	free(small);
}

Test(planner, dram_contention_slows_memory_bound_layers)
{
	struct plan_model *a = chain_model("a", 2, 1e-6);
	struct plan_mapping m = { .nr_dnns = 2 };
	struct plan_estimate e1, e2;

	for (int l = 0; l < 2; l++)
		a->layers[l].param_bytes = 10e6; /* 1 ms at 10 GB/s: memory-bound */
	add_dnn(&pb, a, 1);
	add_dnn(&pb, a, 1);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	one_stage(&m, 0, 0, 2);
	one_stage(&m, 1, 1, 2);
	plan_estimate(&pb, &m, &e1);
	cr_assert_float_eq(e1.dram_inflation, 1, 1e-12);

	/* Each moves ~20 MB × ~500/s = 10 GB/s; with 12 GB/s of DRAM both
	 * cannot run at full speed. */
	plat.dram_gbps = 12;
	plan_estimate(&pb, &m, &e2);
	cr_assert_gt(e2.dram_inflation, 1.5);
	cr_assert_lt(e2.throughput[0], e1.throughput[0] * 0.7);
	double moved = (e2.throughput[0] + e2.throughput[1]) * 2 * (10e6 + 1000);

	cr_assert_leq(moved, 12e9 * 1.001, "moved %g B/s", moved);
	cr_assert_geq(moved, 12e9 * 0.95, "moved %g B/s", moved);
	free(a);
}

Test(planner, reward_by_hand)
{
	struct plan_model *a = chain_model("a", 2, 0.1);
	struct plan_estimate e = { 0 };

	add_dnn(&pb, a, 1);
	add_dnn(&pb, a, 2);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	pb.params.floor_guard = 0;
	pb.potential[0] = 100;
	pb.potential[1] = 50;

	/* w = 1 and 0.5: 1·0.5 + 0.5·0.5 */
	e.throughput[0] = 50;
	e.throughput[1] = 25;
	cr_assert_float_eq(plan_reward(&pb, &e), 0.75, 1e-12);
	cr_assert_float_eq(plan_reward_throughput(&pb, &e), 1.0, 1e-12);

	/* DNN 1 at 8% of its potential, under the 10% floor:
	 * -1 - 0.2 + (1·0.5 + 0.5·0.08)/1.5 */
	e.throughput[1] = 4;
	cr_assert_float_eq(plan_reward(&pb, &e), -1.2 + 0.54 / 1.5, 1e-12);
	cr_assert_float_eq(plan_reward_throughput(&pb, &e), 0.58, 1e-12);

	/* a critical DNN 20% over its latency target */
	e.throughput[1] = 25;
	pb.dnn[0].critical = true;
	pb.dnn[0].latency_ms = 10;
	e.latency_ms[0] = 12;
	cr_assert_float_eq(plan_reward(&pb, &e), -1.2 + 0.75 / 1.5, 1e-12);
	e.latency_ms[0] = 9;
	cr_assert_float_eq(plan_reward(&pb, &e), 0.75, 1e-12);

	/* The guard band: 12% of P clears the floor but not floor·1.25. */
	pb.params.floor_guard = 0.25;
	e.throughput[1] = 6;
	cr_assert_float_eq(plan_reward(&pb, &e), -1.04 + (0.5 + 0.5 * 0.12) / 1.5, 1e-12);
	e.throughput[1] = 7;
	cr_assert_float_eq(plan_reward(&pb, &e), 0.5 + 0.5 * 0.14, 1e-12);
	free(a);
}

/* Random chains on the tiny platform. */
static struct plan_model *random_model(unsigned *seed, int idx)
{
	char name[16];
	int n = 3 + rand_r(seed) % 5;

	snprintf(name, sizeof(name), "m%d", idx);
	struct plan_model *m = chain_model(name, n, 0.01);

	for (int l = 0; l < n; l++) {
		m->layers[l].op = rand_r(seed) % PLAN_OP__COUNT;
		m->layers[l].flops = (0.01 + (rand_r(seed) % 100) / 100.0) * 1e9;
		m->layers[l].param_bytes = (rand_r(seed) % 100) * 1e5;
		m->layers[l].cut_bytes = (rand_r(seed) % 100) * 1e4;
	}
	return m;
}

Test(planner, more_contention_never_speeds_a_dnn_up)
{
	unsigned seed = 7;

	plat.dram_gbps = 20;
	for (int trial = 0; trial < 300; trial++) {
		struct plan_model *ma = random_model(&seed, 0), *mb = random_model(&seed, 1);
		struct plan_mapping m = { .nr_dnns = 1 };
		struct plan_estimate alone, both;

		plan_problem_release(&pb);
		pb.nr_dnns = 0;
		add_dnn(&pb, ma, 1 + rand_r(&seed) % 3);
		add_dnn(&pb, mb, 1 + rand_r(&seed) % 3);
		pb.nr_dnns = 1;
		cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
		/* A's mapping: one or two stages on random units. */
		int ua = rand_r(&seed) % 3, ub = (ua + 1 + rand_r(&seed) % 2) % 3;

		if (ma->nr_layers > 1 && rand_r(&seed) % 2) {
			m.dnn[0].nr_stages = 2;
			m.dnn[0].stages[0] = (struct plan_stage){ .unit = ua, .first = 0, .last = 0 };
			m.dnn[0].stages[1] = (struct plan_stage){ .unit = ub, .first = 1,
								  .last = ma->nr_layers - 1 };
		} else {
			one_stage(&m, 0, ua, ma->nr_layers);
		}
		plan_estimate(&pb, &m, &alone);

		/* Add B whole on a unit A uses, or anywhere. */
		plan_problem_release(&pb);
		pb.nr_dnns = 2;
		cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
		m.nr_dnns = 2;
		one_stage(&m, 1, rand_r(&seed) % 3, mb->nr_layers);
		for (int s = 0; s < m.dnn[0].nr_stages; s++)
			m.dnn[0].stages[s].cores = 0;
		plan_estimate(&pb, &m, &both);
		cr_assert_leq(both.throughput[0], alone.throughput[0] * (1 + 1e-9),
			      "trial %d: %g alone, %g beside another", trial,
			      alone.throughput[0], both.throughput[0]);
		/* A pipeline's latency may fall when contention moves its
		 * bottleneck to the first stage (no queue fills ahead of it);
		 * one stage has no such queue. */
		if (m.dnn[0].nr_stages == 1)
			cr_assert_geq(both.latency_ms[0], alone.latency_ms[0] * (1 - 1e-9),
				      "trial %d: latency %g alone, %g beside another", trial,
				      alone.latency_ms[0], both.latency_ms[0]);
		free(ma);
		free(mb);
	}
}

Test(planner, slower_units_never_speed_a_mix_up)
{
	unsigned seed = 11;
	struct plan_model *ms[3];

	for (int i = 0; i < 3; i++) {
		ms[i] = random_model(&seed, i);
		add_dnn(&pb, ms[i], i + 1);
	}
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	struct plan_mapping m = { .nr_dnns = 3 };
	struct plan_estimate before, after;

	one_stage(&m, 0, 2, ms[0]->nr_layers);
	one_stage(&m, 1, 2, ms[1]->nr_layers);
	one_stage(&m, 2, 0, ms[2]->nr_layers);
	plan_estimate(&pb, &m, &before);
	plat.units[2].gflops[PLAN_OP_CONV] /= 2;
	plat.dram_gbps /= 4;
	plan_problem_release(&pb);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	plan_estimate(&pb, &m, &after);
	for (int i = 0; i < 3; i++)
		cr_assert_leq(after.throughput[i], before.throughput[i] * (1 + 1e-9), "dnn %d", i);
	for (int i = 0; i < 3; i++)
		free(ms[i]);
}

static void small_instance(unsigned seed, int n)
{
	plan_problem_release(&pb);
	pb.nr_dnns = 0;
	for (int i = 0; i < n; i++)
		add_dnn(&pb, random_model(&seed, i), 1 + rand_r(&seed) % n);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
}

static void free_models(void)
{
	for (int i = 0; i < pb.nr_dnns; i++)
		free((void *)pb.dnn[i].model);
}

/* Two DNNs: the optimum itself. Three, with a budget of under a tenth of
 * the space: within 10% (random layer mixes make far more rugged spaces
 * than the zoo; bench-planner measures the gap on zoo mixes). */
static void mcts_against_exhaustive(int nr_dnns, unsigned iterations, double tolerance)
{
	struct planner *pl = planner_create(4 << 20);
	struct plan_search_cfg cfg;

	cr_assert_not_null(pl);
	plan_search_cfg_default(&cfg);
	cfg.max_ms = 0;
	cfg.max_iterations = iterations;
	for (unsigned s = 1; s <= 8; s++) {
		struct plan_result ex, mc;

		small_instance(s * 101 + nr_dnns, nr_dnns);
		cr_assert_eq(plan_exhaustive(&pb, 2000000, false, &ex, err, sizeof(err)), 0, "%s",
			     err);
		cr_assert_eq(ex.iterations, plan_space_size(&pb));
		cfg.seed = s;
		/* under the space, or the search would score it whole */
		cfg.max_iterations = iterations < ex.iterations ? iterations : ex.iterations - 1;
		cr_assert_eq(planner_search(pl, &pb, &cfg, &mc, err, sizeof(err)), 0, "%s", err);
		cr_assert_not(mc.exhaustive);
		cr_assert_eq(plan_mapping_validate(&pb, &mc.mapping, err, sizeof(err)), 0, "%s",
			     err);
		cr_assert_gt(ex.reward, 0);
		cr_assert_geq(mc.reward, ex.reward * (1 - tolerance) - 1e-12,
			      "instance %u: MCTS %g, optimum %g (space %llu, %u iterations)", s,
			      mc.reward, ex.reward, (unsigned long long)plan_space_size(&pb),
			      iterations);
		free_models();
	}
	planner_destroy(pl);
}

Test(planner, mcts_reaches_the_exhaustive_optimum_of_two_dnns)
{
	mcts_against_exhaustive(2, 4000, 1e-9);
}

Test(planner, mcts_comes_near_the_optimum_of_three_dnns)
{
	mcts_against_exhaustive(3, 4000, 0.10);
}

Test(planner, a_space_within_the_budget_is_scored_whole)
{
	struct planner *pl = planner_create(1 << 20);
	struct plan_search_cfg cfg;
	struct plan_result ex, r;

	plan_search_cfg_default(&cfg);
	cfg.max_ms = 0;
	small_instance(7, 2);
	cr_assert_eq(plan_exhaustive(&pb, 2000000, false, &ex, err, sizeof(err)), 0, "%s", err);
	cfg.max_iterations = (unsigned)plan_space_size(&pb);
	cr_assert_eq(planner_search(pl, &pb, &cfg, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert(r.exhaustive);
	cr_assert_eq(r.iterations, plan_space_size(&pb));
	cr_assert_float_eq(r.reward, ex.reward, 1e-12);

	cfg.max_iterations--;
	cr_assert_eq(planner_search(pl, &pb, &cfg, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(r.exhaustive, "one mapping over the budget: the tree search");
	free_models();
	planner_destroy(pl);
}

Test(planner, same_seed_same_mapping_and_the_tree_is_kept)
{
	struct planner *a = planner_create(1 << 20), *b = planner_create(1 << 20);
	struct plan_search_cfg cfg;
	struct plan_result ra, rb, again;
	char fa[512], fb[512];

	plan_search_cfg_default(&cfg);
	cfg.max_ms = 0;
	cfg.max_iterations = 500;
	cfg.seed = 42;
	small_instance(5, 4);
	cr_assert_eq(planner_search(a, &pb, &cfg, &ra, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(planner_search(b, &pb, &cfg, &rb, err, sizeof(err)), 0, "%s", err);
	plan_mapping_format(&pb, &ra.mapping, fa, sizeof(fa));
	plan_mapping_format(&pb, &rb.mapping, fb, sizeof(fb));
	cr_assert_str_eq(fa, fb);
	cr_assert_eq(ra.reward, rb.reward);
	cr_assert_not(ra.tree_reused);

	cr_assert_eq(planner_search(a, &pb, &cfg, &again, err, sizeof(err)), 0, "%s", err);
	cr_assert(again.tree_reused);
	cr_assert_geq(again.reward, ra.reward);

	/* A new rank is a new mix: a new tree. */
	pb.dnn[0].rank = pb.dnn[0].rank == 1 ? 2 : 1;
	cr_assert_eq(planner_search(a, &pb, &cfg, &again, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(again.tree_reused);
	free_models();
	planner_destroy(a);
	planner_destroy(b);
}

Test(planner, a_tiny_arena_still_searches)
{
	struct planner *pl = planner_create(256);
	struct plan_search_cfg cfg;
	struct plan_result r;

	plan_search_cfg_default(&cfg);
	cfg.max_ms = 0;
	cfg.max_iterations = 200;
	small_instance(9, 3);
	cr_assert_eq(planner_search(pl, &pb, &cfg, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert(r.arena_full);
	cr_assert_eq(r.iterations, 200);
	cr_assert_eq(plan_mapping_validate(&pb, &r.mapping, err, sizeof(err)), 0, "%s", err);
	free_models();
	planner_destroy(pl);
}

Test(planner, space_size_counts_what_exhaustive_visits)
{
	struct plan_model *a = chain_model("a", 5, 0.1); /* 4 cuts, 3 units */
	struct plan_result r;

	add_dnn(&pb, a, 1);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	/* 3 whole + 4·3·2 two-stage + C(4,2)·3·2·1 three-stage */
	cr_assert_eq(plan_dnn_choices(&pb, 0), 3 + 24 + 36);
	cr_assert_eq(plan_exhaustive(&pb, 10, false, &r, err, sizeof(err)), -1);
	cr_assert(strstr(err, "63 mappings"), "%s", err);
	cr_assert_eq(plan_exhaustive(&pb, 100, false, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.iterations, 63);
	free(a);
}

Test(planner, corrections_learn_measured_over_predicted)
{
	struct plan_model *a = chain_model("a", 2, 0.1);
	struct plan_mapping m = { .nr_dnns = 1 };
	struct plan_estimate e;
	double c = 1;

	add_dnn(&pb, a, 1);
	cr_assert_eq(plan_problem_prepare(&pb, err, sizeof(err)), 0, "%s", err);
	one_stage(&m, 0, 2, 2);
	/* The DNN really runs at 60% of the model's figure: the correction
	 * converges there and the estimate follows it. */
	for (int k = 0; k < 40; k++) {
		pb.correction[0] = c;
		plan_estimate(&pb, &m, &e);
		c = plan_correction_update(c, 0.6 / 2.2e-3, e.throughput[0], 0.3);
	}
	cr_assert_float_eq(c, 0.6, 1e-4);
	pb.correction[0] = c;
	plan_estimate(&pb, &m, &e);
	cr_assert_float_eq(e.throughput[0], 0.6 / 2.2e-3, 0.1);
	cr_assert_gt(e.latency_ms[0], 2.2 / 0.6 * 0.99);
	/* A wild sample moves it by at most alpha * 20. */
	cr_assert_leq(plan_correction_update(1, 1e9, 1, 0.1), 0.9 + 2.0 + 1e-12);
	cr_assert_eq(plan_correction_update(0.7, 5, 0, 0.5), 0.7);
	free(a);
}

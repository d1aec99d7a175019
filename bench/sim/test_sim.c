// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The planner's simulator (bench/sim/) on tiny hand-built platforms and
 * models, so that every expected figure follows from plan_layer_cost() and
 * plan_transfer_s() by hand: the benchmark trusts the simulator as ground
 * truth, so its queueing, sharing and contention must be right on cases
 * small enough to work out exactly. Nothing here reads the zoo.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Unit 0: a 4-core CPU; unit 1: a GPU. DRAM is wide unless a test narrows
 * it, so only the DRAM test sees inflation. */
static struct plan_platform platform;
static struct plan_model *models[2];
static struct plan_problem pb;
static struct plan_mapping map;
static struct sim_config cfg;
static struct sim_result res;
static char err[256];

static void fill_unit(struct plan_unit *u, const char *name, enum plan_unit_kind kind, int cores,
		      double gflops, double mem_gbps)
{
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->kind = kind;
	u->cores = cores;
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		u->gflops[op] = gflops;
	u->parallel_eff = 0.8;
	u->mem_gbps = mem_gbps;
	u->launch_us = 20;
	u->mem_mb = 1024;
}

/* A model of n layers: compute-heavy ones, or (memory) ones that move much
 * more than they compute; every layer may be cut after. */
static void fill_model(struct plan_model *m, const char *name, int n, bool memory)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->nr_layers = n;
	for (int l = 0; l < n; l++) {
		struct plan_layer *pl = &m->layers[l];

		pl->op = l % 2 ? PLAN_OP_CONV : PLAN_OP_ELTWISE;
		pl->flops = memory ? 1e5 : 2e7 * (1 + l % 3);
		pl->param_bytes = memory ? 4e7 : 1e5;
		pl->in_bytes = 1e5;
		pl->out_bytes = 1e5;
		pl->cut_after = true;
		pl->cut_bytes = 2e5;
	}
}

static void setup(void)
{
	memset(&platform, 0, sizeof(platform));
	snprintf(platform.name, sizeof(platform.name), "tiny");
	platform.nr_units = 2;
	fill_unit(&platform.units[0], "cpu", PLAN_UNIT_CPU, 4, 10, 20);
	fill_unit(&platform.units[1], "gpu", PLAN_UNIT_GPU, 8, 200, 50);
	platform.dram_gbps = 1000;
	for (int a = 0; a < 2; a++)
		for (int b = 0; b < 2; b++) {
			platform.xfer_gbps[a][b] = 10;
			platform.xfer_us[a][b] = a == b ? 0 : 50;
		}
	for (int i = 0; i < 2; i++) {
		models[i] = calloc(1, sizeof(*models[i]));
		cr_assert_not_null(models[i]);
		fill_model(models[i], i ? "beta" : "alpha", 6, false);
	}
	memset(&pb, 0, sizeof(pb));
	pb.platform = &platform;
	plan_params_default(&pb.params);
	memset(&map, 0, sizeof(map));
	sim_config_default(&cfg);
	cfg.jitter_cv = 0;
	cfg.duration_s = 5;
	cfg.warmup_s = 0.5;
}

static void teardown(void)
{
	for (int i = 0; i < 2; i++)
		free(models[i]);
}

TestSuite(sim, .init = setup, .fini = teardown);

static void add_dnn(const struct plan_model *model, int rank, double rate_hz)
{
	struct plan_workload *w = &pb.dnn[pb.nr_dnns++];

	snprintf(w->name, sizeof(w->name), "%s", model->name);
	w->model = model;
	w->rank = rank;
	w->rate_hz = rate_hz;
	map.nr_dnns = pb.nr_dnns;
}

static void add_stage(int dnn, int unit, int first, int last, int cores, double weight)
{
	struct plan_dnn_map *dm = &map.dnn[dnn];
	struct plan_stage *st = &dm->stages[dm->nr_stages++];

	st->unit = unit;
	st->first = first;
	st->last = last;
	st->cores = cores;
	st->weight = weight;
}

/* Seconds layers [first, last] of model take alone on unit with k cores,
 * the memory part scaled by inflation. */
static double span_s(const struct plan_model *model, int unit, int first, int last, int k,
		     double inflation)
{
	double t = 0;

	for (int l = first; l <= last; l++) {
		struct plan_cost c = plan_layer_cost(&platform.units[unit], &model->layers[l], k);

		t += c.compute_s + c.memory_s * inflation;
	}
	return t;
}

static void run(void)
{
	int rc = sim_run(&pb, &map, &cfg, &res, err, sizeof(err));

	cr_assert_eq(rc, 0, "sim_run: %s", err);
}

static void assert_rel(double got, double want, double tol, const char *what)
{
	cr_assert(fabs(got - want) <= tol * want, "%s: got %.6g, want %.6g (+-%g%%)", what, got,
		  want, 100 * tol);
}

Test(sim, alone_without_jitter_runs_at_one_over_its_layer_times)
{
	double t;

	add_dnn(models[0], 1, 0);
	add_stage(0, 1, 0, 5, 0, 1);
	run();
	t = span_s(models[0], 1, 0, 5, 8, 1);
	assert_rel(res.dnn[0].throughput, 1 / t, 1e-9, "throughput");
	assert_rel(res.dnn[0].latency_ms, 1e3 * t, 1e-9, "latency");
	assert_rel(res.dnn[0].latency_p99_ms, 1e3 * t, 1e-9, "p99 latency");
	assert_rel(res.unit_util[1], 1, 1e-9, "gpu busy");
	cr_assert_float_eq(res.unit_util[0], 0, 1e-12);
}

Test(sim, cpu_stage_runs_on_the_cores_it_owns)
{
	add_dnn(models[0], 1, 0);
	add_stage(0, 0, 0, 5, 3, 1);
	run();
	assert_rel(res.dnn[0].throughput, 1 / span_s(models[0], 0, 0, 5, 3, 1), 1e-9, "throughput");
	assert_rel(res.unit_util[0], 3.0 / 4, 1e-9, "cpu busy");
}

Test(sim, two_stage_pipeline_runs_at_its_slowest_stage)
{
	double head, tail;

	add_dnn(models[0], 1, 0);
	add_stage(0, 0, 0, 1, 4, 1);
	add_stage(0, 1, 2, 5, 0, 1);
	run();
	/* The producer pays the hand-over. */
	head = span_s(models[0], 0, 0, 1, 4, 1) +
	       plan_transfer_s(&platform, 0, 1, models[0]->layers[1].cut_bytes);
	tail = span_s(models[0], 1, 2, 5, 8, 1);
	assert_rel(res.dnn[0].throughput, 1 / fmax(head, tail), 1e-9, "throughput");
}

Test(sim, equal_weights_halve_the_gpu)
{
	double t;

	add_dnn(models[0], 1, 0);
	add_dnn(models[1], 1, 0);
	add_stage(0, 1, 0, 5, 0, 1);
	add_stage(1, 1, 0, 5, 0, 1);
	run();
	t = span_s(models[0], 1, 0, 5, 8, 1);
	assert_rel(res.dnn[0].throughput, 0.5 / t, 1e-6, "first");
	assert_rel(res.dnn[1].throughput, 0.5 / t, 1e-6, "second");
}

Test(sim, weights_two_to_one_split_the_gpu_in_thirds)
{
	double t;

	add_dnn(models[0], 1, 0);
	add_dnn(models[1], 2, 0);
	add_stage(0, 1, 0, 5, 0, 2);
	add_stage(1, 1, 0, 5, 0, 1);
	run();
	t = span_s(models[0], 1, 0, 5, 8, 1);
	assert_rel(res.dnn[0].throughput, 2.0 / 3 / t, 1e-6, "heavier");
	assert_rel(res.dnn[1].throughput, 1.0 / 3 / t, 1e-6, "lighter");
}

Test(sim, gpu_work_is_conserved_when_shares_change_mid_layer)
{
	double head, tail, t1;

	/* beta keeps the GPU busy all the time; alpha's GPU stage comes and
	 * goes as its CPU stage feeds it, changing beta's share in the middle
	 * of its layers. Whatever the shares, the GPU does one second of work
	 * per second: what is left of a layer must survive every change. */
	add_dnn(models[0], 1, 0);
	add_dnn(models[1], 2, 0);
	add_stage(0, 0, 0, 2, 4, 2);
	add_stage(0, 1, 3, 5, 0, 2);
	add_stage(1, 1, 0, 5, 0, 1);
	run();
	head = span_s(models[0], 0, 0, 2, 4, 1) +
	       plan_transfer_s(&platform, 0, 1, models[0]->layers[2].cut_bytes);
	tail = span_s(models[0], 1, 3, 5, 8, 1);
	t1 = span_s(models[1], 1, 0, 5, 8, 1);
	/* The CPU stage is alpha's bottleneck, so its GPU stage idles at times. */
	assert_rel(res.dnn[0].throughput, 1 / head, 1e-6, "alpha");
	cr_assert_lt(tail, head);
	assert_rel(res.dnn[0].throughput * tail + res.dnn[1].throughput * t1, 1, 0.01,
		   "GPU seconds of work per second");
	assert_rel(res.unit_util[1], 1, 1e-9, "gpu busy");
}

Test(sim, time_sharing_cpu_stages_share_the_cores_nobody_owns)
{
	double t;

	add_dnn(models[0], 1, 0);
	add_dnn(models[1], 1, 0);
	add_stage(0, 0, 0, 5, 0, 1);
	add_stage(1, 0, 0, 5, 0, 3);
	run();
	/* Both run with one thread per core of the unit, sharing it 1:3. */
	t = span_s(models[0], 0, 0, 5, 4, 1);
	assert_rel(res.dnn[0].throughput, 0.25 / t, 1e-6, "lighter");
	assert_rel(res.dnn[1].throughput, 0.75 / t, 1e-6, "heavier");
	assert_rel(res.unit_util[0], 1, 1e-9, "cpu busy");
}

Test(sim, dram_inflation_slows_a_memory_bound_pair)
{
	struct plan_cost c[2];
	double demand = 0, inflation;

	/* One layer each, always running: the demand is constant, so the
	 * inflation and both rates follow in closed form. */
	fill_model(models[0], "mem0", 1, true);
	fill_model(models[1], "mem1", 1, true);
	add_dnn(models[0], 1, 0);
	add_dnn(models[1], 1, 0);
	add_stage(0, 0, 0, 0, 4, 1);
	add_stage(1, 1, 0, 0, 0, 1);
	for (int i = 0; i < 2; i++) {
		const struct plan_layer *l = &models[i]->layers[0];

		c[i] = plan_layer_cost(&platform.units[i], l, i ? 8 : 4);
		cr_assert_gt(c[i].memory_s, c[i].compute_s, "the layer must be memory-bound");
		demand += (l->param_bytes + l->in_bytes + l->out_bytes) /
			  (c[i].compute_s + c[i].memory_s);
	}
	platform.dram_gbps = demand / 2 / 1e9;
	inflation = 2;
	run();
	assert_rel(res.dram_inflation_mean, inflation, 1e-9, "inflation");
	for (int i = 0; i < 2; i++)
		assert_rel(res.dnn[i].throughput, 1 / (c[i].compute_s + c[i].memory_s * inflation),
			   1e-6, "throughput");
}

Test(sim, a_full_queue_blocks_the_producer)
{
	/* A fast head on the GPU feeding a slow tail on one CPU core. */
	add_dnn(models[0], 1, 0);
	add_stage(0, 1, 0, 3, 0, 1);
	add_stage(0, 0, 4, 5, 1, 1);
	run();
	cr_assert_eq(res.dnn[0].max_queued[1], PLAN_QUEUE_DEPTH);
	cr_assert_gt(res.dnn[0].blocked_s[0], 1.0, "the head never waited: %g s",
		     res.dnn[0].blocked_s[0]);
	cr_assert_float_eq(res.dnn[0].blocked_s[1], 0, 1e-12);
	assert_rel(res.dnn[0].throughput, 1 / span_s(models[0], 0, 4, 5, 1, 1), 1e-9, "throughput");
	/* Two queued, one in each stage, plus the head's finished result. */
	cr_assert_leq(res.dnn[0].in_flight, PLAN_QUEUE_DEPTH + 2);
}

static void jittery_mix(void)
{
	cfg.jitter_cv = 0.1;
	add_dnn(models[0], 1, 40);
	add_dnn(models[1], 2, 0);
	add_stage(0, 1, 0, 2, 0, 0);
	add_stage(0, 0, 3, 5, 2, 0);
	add_stage(1, 0, 0, 3, 0, 0);
	add_stage(1, 1, 4, 5, 0, 0);
}

Test(sim, same_seed_same_results)
{
	struct sim_result first;

	jittery_mix();
	run();
	first = res;
	run();
	cr_assert_eq(memcmp(&first, &res, sizeof(res)), 0);
	cfg.seed++;
	run();
	cr_assert_neq(first.dnn[1].throughput, res.dnn[1].throughput);
}

Test(sim, no_inference_is_lost)
{
	jittery_mix();
	pb.dnn[0].rate_hz = 5000; /* far past capacity: the entry queue grows */
	run();
	for (int d = 0; d < 2; d++) {
		cr_assert_gt(res.dnn[d].completed, 100);
		cr_assert_eq(res.dnn[d].entered, res.dnn[d].completed + res.dnn[d].in_flight,
			     "dnn %d: %lu entered, %lu completed, %lu in flight", d,
			     (unsigned long)res.dnn[d].entered, (unsigned long)res.dnn[d].completed,
			     (unsigned long)res.dnn[d].in_flight);
		for (int s = 1; s < PLAN_MAX_STAGES; s++)
			cr_assert_leq(res.dnn[d].max_queued[s], PLAN_QUEUE_DEPTH);
	}
	cr_assert_gt(res.dnn[0].in_flight, 1000);
}

Test(sim, poisson_arrivals_below_capacity_come_out_at_their_rate)
{
	jittery_mix();
	cfg.duration_s = 20;
	run();
	assert_rel(res.dnn[0].throughput, 40, 0.1, "throughput");
	cr_assert_gt(res.dnn[0].latency_p99_ms, res.dnn[0].latency_ms);
}

Test(sim, rejects_a_mapping_that_leaves_layers_out)
{
	add_dnn(models[0], 1, 0);
	add_stage(0, 1, 0, 4, 0, 1);
	cr_assert_eq(sim_run(&pb, &map, &cfg, &res, err, sizeof(err)), -1);
	cr_assert(strstr(err, "alpha"), "%s", err);
}

Test(sim, rejects_time_sharers_with_no_core_left)
{
	add_dnn(models[0], 1, 0);
	add_dnn(models[1], 1, 0);
	add_stage(0, 0, 0, 5, 4, 1);
	add_stage(1, 0, 0, 5, 0, 1);
	cr_assert_eq(sim_run(&pb, &map, &cfg, &res, err, sizeof(err)), -1);
	cr_assert(strstr(err, "cpu"), "%s", err);
}

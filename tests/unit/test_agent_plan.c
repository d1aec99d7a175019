// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The agent's planning step on a platform and models built in memory: the
 * problem it builds from the registry (ranks from levels, critical only at
 * rank 1 with a target), when it searches again (a change of the mix, the
 * replan period) and when not, and how trouble turns planning off. No
 * files, no cgroups: the registry is filled by hand. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/agent_plan.h"
#include "log.h"

#define MS 1000000ull

static struct triage_config cfg_levels;
static int nr_loads;

static void quiet(void)
{
	log_threshold = LOG_ERR;
	nr_loads = 0;
	memset(&cfg_levels, 0, sizeof(cfg_levels));
	cfg_levels.nr_levels = 4;
	snprintf(cfg_levels.levels[0].name, TRIAGE_NAME_MAX, "critical");
	snprintf(cfg_levels.levels[1].name, TRIAGE_NAME_MAX, "high");
	snprintf(cfg_levels.levels[2].name, TRIAGE_NAME_MAX, "normal");
	snprintf(cfg_levels.levels[3].name, TRIAGE_NAME_MAX, "best-effort");
	for (int i = 0; i < 4; i++)
		cfg_levels.levels[i].rank = i + 1;
}

static void test_platform(struct plan_platform *p)
{
	static const struct plan_unit big = {
		.name = "big",
		.kind = PLAN_UNIT_CPU,
		.cores = 4,
		.gflops = { 20, 7, 10, 5, 4 },
		.parallel_eff = 0.9,
		.mem_gbps = 30,
		.launch_us = 5,
		.mem_mb = 4096,
	};
	static const struct plan_unit little = {
		.name = "little",
		.kind = PLAN_UNIT_CPU,
		.cores = 4,
		.gflops = { 6, 2, 3, 2, 1 },
		.parallel_eff = 0.9,
		.mem_gbps = 15,
		.launch_us = 8,
		.mem_mb = 4096,
	};
	static const struct plan_unit gpu = {
		.name = "gpu",
		.kind = PLAN_UNIT_GPU,
		.cores = 8,
		.gflops = { 1000, 150, 250, 100, 100 },
		.parallel_eff = 1,
		.mem_gbps = 100,
		.launch_us = 10,
		.mem_mb = 8192,
	};

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "testboard");
	p->nr_units = 3;
	p->units[0] = big;
	p->units[1] = little;
	p->units[2] = gpu;
	p->dram_gbps = 100;
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++) {
			p->xfer_gbps[a][b] = 10;
			p->xfer_us[a][b] = a == b ? 0 : 20;
		}
}

/* "tiny" and "small": chains of convolutions that may be cut anywhere. */
static int load_test_model(void *ctx, const char *name, struct plan_model *m, char *err,
			   size_t errlen)
{
	int layers = !strcmp(name, "tiny") ? 6 : !strcmp(name, "small") ? 12 : 0;

	(void)ctx;
	if (!layers) {
		snprintf(err, errlen, "unknown model \"%s\"", name);
		return -1;
	}
	nr_loads++;
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->nr_layers = layers;
	for (int l = 0; l < layers; l++) {
		m->layers[l] = (struct plan_layer){
			.op = l % 3 == 2 ? PLAN_OP_DWCONV : PLAN_OP_CONV,
			.flops = 2e8,
			.param_bytes = 1e5,
			.in_bytes = 4e5,
			.out_bytes = 4e5,
			.cut_after = l < layers - 1,
			.cut_bytes = l < layers - 1 ? 4e5 : 0,
		};
		m->mem_bytes += 5e5;
	}
	return 0;
}

static void list_test_models(void *ctx, char *out, size_t len)
{
	(void)ctx;
	snprintf(out, len, "small, tiny");
}

static const struct agent_plan_source test_source = {
	.load_model = load_test_model,
	.list_models = list_test_models,
};

static struct planner_cfg test_cfg(void)
{
	struct planner_cfg c = {
		.enabled = true,
		.platform = "auto",
		.replan_ms = 5000,
		/* The iteration count, not the clock, ends every search, so
		 * the results do not depend on the machine's speed. */
		.budget_ms = 1000,
		.iterations = 300,
		.seed = 7,
		.floor = 0.1,
		.rank_decay = 0.5,
	};

	return c;
}

static struct agent_plan *open_plan(void)
{
	struct agent_plan *ap = calloc(1, sizeof(*ap));
	struct planner_cfg c = test_cfg();
	struct plan_platform p;

	cr_assert_not_null(ap);
	test_platform(&p);
	cr_assert_eq(agent_plan_init(ap, &c, &p, "platform testboard (in memory)", &test_source),
		     0);
	cr_assert_eq(ap->state, AGENT_PLAN_ON);
	return ap;
}

static void close_plan(struct agent_plan *ap)
{
	agent_plan_close(ap);
	free(ap);
}

static void registry(struct workloads *reg)
{
	memset(reg, 0, sizeof(*reg));
	reg->cfg = &cfg_levels;
}

static struct workload *add(struct workloads *reg, int level, const char *name, const char *model,
			    double latency_ms)
{
	struct workload *w = calloc(1, sizeof(*w));

	cr_assert_not_null(w);
	w->level = level;
	w->id = 100 + (uint32_t)reg->nr;
	snprintf(w->name, sizeof(w->name), "%s", name);
	reg->wl[reg->nr++] = w;
	reg->generation++;
	if (model)
		workload_set_model(reg, w, model, latency_ms);
	return w;
}

static void drop_last(struct workloads *reg)
{
	free(reg->wl[--reg->nr]);
	reg->generation++;
}

static void free_registry(struct workloads *reg)
{
	while (reg->nr)
		drop_last(reg);
}

TestSuite(agent_plan, .init = quiet);

Test(agent_plan, the_problem_holds_the_modeled_workloads_ranked_by_level)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;

	registry(&reg);
	add(&reg, 3, "batch", "small", 0);
	add(&reg, 0, "detector", "tiny", 30);
	add(&reg, 2, "shell", NULL, 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1);
	cr_assert_eq(ap->nr_dnns, 2, "the workload without a model is not planned");
	cr_assert_eq(ap->pb->nr_dnns, 2);
	/* Most important first, whatever the registry's order. */
	cr_assert_str_eq(ap->pb->dnn[0].name, "critical/detector");
	cr_assert_eq(ap->pb->dnn[0].rank, 1);
	cr_assert(ap->pb->dnn[0].critical, "rank 1 with a latency target");
	cr_assert_float_eq(ap->pb->dnn[0].latency_ms, 30, 1e-9);
	cr_assert_str_eq(ap->pb->dnn[0].model->name, "tiny");
	cr_assert_str_eq(ap->pb->dnn[1].name, "best-effort/batch");
	cr_assert_eq(ap->pb->dnn[1].rank, 4);
	cr_assert_not(ap->pb->dnn[1].critical);
	cr_assert_float_eq(ap->pb->params.floor, 0.1, 1e-9);
	cr_assert_float_eq(ap->pb->params.rank_decay, 0.5, 1e-9);
	cr_assert_eq(agent_plan_find(ap, reg.wl[0]->id), 1);
	cr_assert_eq(agent_plan_find(ap, reg.wl[2]->id), -1);

	cr_assert(ap->have_result);
	cr_assert_eq(ap->res.mapping.nr_dnns, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_geq(ap->res.mapping.dnn[i].nr_stages, 1);
		cr_assert_gt(ap->res.estimate.throughput[i], 0);
		cr_assert_gt(ap->pb->potential[i], 0);
	}
	cr_assert(strstr(ap->mapping_text, "critical/detector:"), "%s", ap->mapping_text);
	cr_assert_eq(ap->nr_decisions, 1);
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, a_real_time_level_is_outside_the_plan_and_a_rate_reaches_the_planner)
{
	struct agent_plan *ap = open_plan();
	struct json_object *o = json_object_new_object(), *v;
	struct workloads reg;
	struct workload *batch;

	cfg_levels.levels[0].sched.policy = SCHED_CFG_FIFO;
	registry(&reg);
	add(&reg, 0, "detector", "tiny", 30);
	batch = add(&reg, 3, "batch", "small", 0);
	workload_set_rate(&reg, batch, 4);
	/* While triage-gpud serves, the board's GPU unit is planned on, and a
	 * real-time DNN with it. */
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1);
	cr_assert_eq(ap->nr_dnns, 2, "with a GPU unit the fifo level's DNN is planned too");
	agent_plan_set_gpu(ap, false);
	cr_assert_eq(ap->platform.nr_units, ap->full.nr_units - 1, "the GPU unit left out");
	for (int u = 0; u < ap->platform.nr_units; u++)
		cr_assert_eq(ap->platform.units[u].kind, PLAN_UNIT_CPU);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1, "planned again");
	cr_assert_eq(ap->nr_dnns, 1, "the fifo level's DNN is not planned");
	cr_assert_str_eq(ap->pb->dnn[0].name, "best-effort/batch");
	cr_assert_float_eq(ap->pb->dnn[0].rate_hz, 4, 1e-9);
	cr_assert_leq(ap->res.estimate.throughput[0], 4 + 1e-9, "held to its rate");
	cr_assert_eq(agent_plan_find(ap, reg.wl[0]->id), -1);
	agent_plan_workload_json(ap, &cfg_levels, reg.wl[0], o);
	cr_assert(json_object_object_get_ex(o, "plan_state", &v));
	cr_assert_str_eq(json_object_get_string(v), "real time");

	/* A new rate is a new problem. */
	workload_set_rate(&reg, batch, 2);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 2 * MS), 1);
	cr_assert_float_eq(ap->pb->dnn[0].rate_hz, 2, 1e-9);
	json_object_put(o);
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, critical_takes_rank_one_and_a_latency_target)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;

	registry(&reg);
	add(&reg, 0, "no-target", "tiny", 0);
	add(&reg, 1, "high-target", "tiny", 20);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1);
	cr_assert_str_eq(ap->pb->dnn[0].name, "critical/no-target");
	cr_assert_not(ap->pb->dnn[0].critical);
	cr_assert_eq(ap->pb->dnn[1].rank, 2);
	cr_assert_not(ap->pb->dnn[1].critical, "a target outside rank 1 is no constraint");
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, an_unchanged_mix_is_not_searched_again_before_replan_ms)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;

	registry(&reg);
	add(&reg, 0, "detector", "tiny", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 51 * MS), 0);
	/* A workload without a model changes the registry, not the mix. */
	add(&reg, 2, "shell", NULL, 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 101 * MS), 0);
	cr_assert_eq(ap->nr_searches, 1);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 5001 * MS), 1, "replan_ms passed");
	cr_assert_eq(ap->nr_searches, 2);
	cr_assert(ap->res.exhaustive, "one tiny DNN is a space small enough to score whole");
	cr_assert_not(ap->res.tree_reused);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 5051 * MS), 0);
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, a_change_of_the_mix_is_searched_at_once)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;
	struct workload *w;

	registry(&reg);
	add(&reg, 0, "detector", "tiny", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1);
	w = add(&reg, 3, "batch", "small", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 2 * MS), 1, "a new modeled workload");
	cr_assert_eq(ap->nr_dnns, 2);
	cr_assert_eq(ap->res.mapping.nr_dnns, 2);
	workload_set_model(&reg, w, "tiny", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 3 * MS), 1, "a model changed");
	cr_assert_str_eq(ap->pb->dnn[1].model->name, "tiny");
	workload_set_model(&reg, w, "tiny", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 4 * MS), 0, "the same model again");
	workload_set_model(&reg, w, "tiny", 40);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 5 * MS), 1, "a latency target");
	drop_last(&reg);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 6 * MS), 1, "a workload gone");
	cr_assert_eq(ap->nr_dnns, 1);
	cr_assert_eq(ap->nr_searches, 5);
	cr_assert_eq(ap->nr_decisions, 5, "every new mix is a new decision, logged");
	drop_last(&reg);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 7 * MS), 0, "nothing left to plan");
	cr_assert_eq(ap->nr_dnns, 0);
	cr_assert_not(ap->have_result);
	close_plan(ap);
}

Test(agent_plan, a_preparation_that_ate_the_budget_leaves_the_search_to_the_next_step)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;

	ap->cfg.budget_ms = 1e-6;
	registry(&reg);
	add(&reg, 0, "detector", "tiny", 0);
	add(&reg, 3, "batch", "small", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 0);
	cr_assert(ap->search_due);
	cr_assert_not(ap->have_result, "no stale mapping for the new mix");
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 51 * MS), 1);
	cr_assert_not(ap->search_due);
	cr_assert(ap->have_result);
	cr_assert_eq(ap->res.mapping.nr_dnns, 2);
	cr_assert_geq(ap->decision_ms, ap->search_ms);
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, each_model_is_loaded_once)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;
	char err[256];

	registry(&reg);
	add(&reg, 0, "a", "tiny", 0);
	add(&reg, 2, "b", "tiny", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1);
	add(&reg, 3, "c", "small", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 2 * MS), 1);
	cr_assert_eq(nr_loads, 2);
	cr_assert_not_null(agent_plan_model(ap, "small", err, sizeof(err)));
	cr_assert_eq(nr_loads, 2);
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, an_unknown_model_is_refused_with_the_models_there_are)
{
	struct agent_plan *ap = open_plan();
	char err[256] = "";

	cr_assert_null(agent_plan_model(ap, "resnet19", err, sizeof(err)));
	cr_assert(strstr(err, "resnet19"), "%s", err);
	cr_assert(strstr(err, "available: small, tiny"), "%s", err);
	cr_assert_eq(ap->state, AGENT_PLAN_ON, "a refused tag does not stop planning");
	close_plan(ap);
}

Test(agent_plan, a_model_that_fails_to_load_turns_planning_off)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;

	registry(&reg);
	add(&reg, 0, "detector", "tiny", 0);
	add(&reg, 1, "odd", "nosuch", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), -1);
	cr_assert_eq(ap->state, AGENT_PLAN_OFF);
	cr_assert(strstr(ap->why, "high/odd"), "%s", ap->why);
	cr_assert(strstr(ap->why, "nosuch"), "%s", ap->why);
	cr_assert_not(ap->have_result);
	add(&reg, 2, "more", "tiny", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 2 * MS), 0, "off stays off, quietly");
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, no_platform_or_disabled_plans_nothing)
{
	struct agent_plan *ap = calloc(1, sizeof(*ap));
	struct planner_cfg c = test_cfg();
	struct workloads reg;

	cr_assert_not_null(ap);
	registry(&reg);
	add(&reg, 0, "detector", "tiny", 0);
	cr_assert_eq(agent_plan_init(ap, &c, NULL, "no platform: no cpufreq", &test_source), -1);
	cr_assert_eq(ap->state, AGENT_PLAN_OFF);
	cr_assert_str_eq(ap->why, "no platform: no cpufreq");
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 0);
	agent_plan_close(ap);

	c.enabled = false;
	cr_assert_eq(agent_plan_init(ap, &c, NULL, "", &test_source), 0);
	cr_assert_eq(ap->state, AGENT_PLAN_DISABLED);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 0);
	cr_assert_eq(nr_loads, 0);
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, past_the_planner_limit_the_least_important_are_left_out)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;
	char name[16];

	registry(&reg);
	for (int i = 0; i < PLAN_MAX_DNNS; i++) {
		snprintf(name, sizeof(name), "be%02d", i);
		add(&reg, 3, name, "tiny", 0);
	}
	add(&reg, 0, "detector", "tiny", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1);
	cr_assert_eq(ap->nr_dnns, PLAN_MAX_DNNS);
	cr_assert_eq(ap->nr_left_out, 1);
	cr_assert_str_eq(ap->dnn[0].name, "critical/detector");
	cr_assert_str_eq(ap->dnn[PLAN_MAX_DNNS - 1].name, "best-effort/be14");
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, a_seeded_search_ended_by_iterations_repeats_itself)
{
	struct agent_plan *a = open_plan(), *b = open_plan();
	struct workloads reg;

	registry(&reg);
	add(&reg, 0, "detector", "tiny", 25);
	add(&reg, 2, "tracker", "small", 0);
	add(&reg, 3, "batch", "small", 0);
	cr_assert_eq(agent_plan_step(a, &cfg_levels, &reg, 1 * MS), 1);
	cr_assert_eq(agent_plan_step(b, &cfg_levels, &reg, 1 * MS), 1);
	cr_assert_str_eq(a->mapping_text, b->mapping_text);
	cr_assert_float_eq(a->res.reward, b->res.reward, 1e-12);
	cr_assert_eq(a->res.iterations, 300);
	free_registry(&reg);
	close_plan(a);
	close_plan(b);
}

Test(agent_plan, status_json_says_what_the_planner_decided)
{
	struct agent_plan *ap = open_plan();
	struct json_object *o = json_object_new_object(), *u = json_object_new_object(), *v, *plan;
	struct json_object *top;
	struct workloads reg;

	registry(&reg);
	add(&reg, 0, "detector", "tiny", 30);
	add(&reg, 2, "shell", NULL, 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, 1 * MS), 1);

	agent_plan_workload_json(ap, &cfg_levels, reg.wl[0], o);
	cr_assert(json_object_object_get_ex(o, "plan_state", &v));
	cr_assert_str_eq(json_object_get_string(v), "planned");
	cr_assert(json_object_object_get_ex(o, "model", &v));
	cr_assert_str_eq(json_object_get_string(v), "tiny");
	cr_assert(json_object_object_get_ex(o, "plan", &plan) && plan);
	cr_assert(json_object_object_get_ex(plan, "stages", &v));
	cr_assert_geq(json_object_array_length(v), 1);
	cr_assert(json_object_object_get_ex(plan, "throughput", &v));
	cr_assert_gt(json_object_get_double(v), 0);

	agent_plan_workload_json(ap, &cfg_levels, reg.wl[1], u);
	cr_assert(json_object_object_get_ex(u, "plan_state", &v));
	cr_assert_str_eq(json_object_get_string(v), "unmodeled");
	cr_assert(json_object_object_get_ex(u, "plan", &v) && !v);

	top = agent_plan_json(ap, 2 * MS);
	cr_assert(json_object_object_get_ex(top, "state", &v));
	cr_assert_str_eq(json_object_get_string(v), "on");
	cr_assert(json_object_object_get_ex(top, "platform", &v));
	cr_assert_str_eq(json_object_get_string(v), "testboard");
	cr_assert(json_object_object_get_ex(top, "reward", &v) && v);
	cr_assert(json_object_object_get_ex(top, "decision_ms", &v) && v);
	json_object_put(top);
	json_object_put(o);
	json_object_put(u);
	free_registry(&reg);
	close_plan(ap);
}

Test(agent_plan, measurements_correct_the_estimate_and_a_drift_plans_again)
{
	struct agent_plan *ap = open_plan();
	struct workloads reg;
	uint64_t now = 1 * MS;
	double est, corr, kept;
	int i;

	registry(&reg);
	add(&reg, 0, "detector", "tiny", 0);
	add(&reg, 3, "batch", "small", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, now), 1);
	i = agent_plan_find(ap, 100);
	cr_assert_geq(i, 0);
	est = ap->res.estimate.throughput[i];
	cr_assert_gt(est, 0);

	/* 10% over the estimate: learnt, not enough to search again. */
	cr_assert_eq(agent_plan_measured(ap, 100, est * 1.1, now + 10000 * MS), 0);
	corr = ap->dnn[i].correction;
	cr_assert(corr > 1 && corr < 1.1, "correction %g moves toward 1.1, not past it", corr);
	cr_assert_float_eq(ap->pb->correction[i], corr, 1e-12);
	cr_assert_gt(ap->res.estimate.throughput[i], est, "the estimate is made again with it");
	cr_assert_not(ap->search_due);

	/* Twice the estimate, past the hold time: a search is asked for. */
	now += AGENT_PLAN_DRIFT_HOLD_MS * MS + 1;
	cr_assert_eq(agent_plan_measured(ap, 100, est * 2, now), 1);
	cr_assert(ap->search_due);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, now), 1);
	/* Within the hold time after that search no drift searches again. */
	cr_assert_eq(agent_plan_measured(ap, 100, est * 4, now + MS), 0);
	cr_assert_not(ap->search_due);
	cr_assert_eq(agent_plan_measured(ap, 999, 5, now + 10000 * MS), 0, "not planned");

	/* What was learnt outlives a change of the mix. */
	kept = ap->dnn[agent_plan_find(ap, 100)].correction;
	add(&reg, 2, "another", "tiny", 0);
	cr_assert_eq(agent_plan_step(ap, &cfg_levels, &reg, now + 2 * MS), 1);
	i = agent_plan_find(ap, 100);
	cr_assert_float_eq(ap->dnn[i].correction, kept, 1e-12);
	cr_assert_float_eq(ap->pb->correction[i], kept, 1e-12);
	cr_assert_float_eq(ap->dnn[agent_plan_find(ap, 102)].correction, 1, 1e-12);
	free_registry(&reg);
	close_plan(ap);
}

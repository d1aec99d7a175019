// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The JSON config: the embedded default, defaults for left-out keys, and a
 * table of bad inputs that must each be refused with a message naming the
 * key and the reason, leaving the caller's config untouched. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_sched.h"

#define ORIGIN "test.json"
/* The smallest valid config: one level, everything else defaulted. */
#define ONE_LEVEL "\"levels\":[{\"name\":\"a\",\"rank\":1}]"
#define TWO_LEVELS "\"levels\":[{\"name\":\"a\",\"rank\":1},{\"name\":\"b\",\"rank\":2}]"
#define RULE_WITH_MATCH(m) "{" ONE_LEVEL ",\"rules\":[{\"level\":\"a\",\"match\":" m "}]}"
#define LEVEL_WITH(kv) "{\"levels\":[{\"name\":\"a\",\"rank\":1," kv "}]}"
#define PROTECTION_WITH(kv) "{" ONE_LEVEL ",\"protection\":{" kv "}}"
#define PLANNER_WITH(kv) "{" ONE_LEVEL ",\"planner\":{" kv "}}"
#define RULE_WITH(kv) "{" ONE_LEVEL ",\"rules\":[{\"level\":\"a\"," kv ",\"match\":[[{\"comm\":\"x\"}]]}]}"

static struct triage_config *new_config(void)
{
	/* About 1 MiB: kept off the stack. */
	struct triage_config *cfg = malloc(sizeof(*cfg));

	cr_assert_not_null(cfg);
	memset(cfg, 0xa5, sizeof(*cfg));
	return cfg;
}

static bool config_untouched(const struct triage_config *cfg)
{
	const unsigned char *bytes = (const unsigned char *)cfg;

	for (size_t i = 0; i < sizeof(*cfg); i++)
		if (bytes[i] != 0xa5)
			return false;
	return true;
}

static void parse_ok(const char *json, struct triage_config *cfg)
{
	char err[512] = "";

	cr_assert_eq(config_parse(json, ORIGIN, cfg, err, sizeof(err)), 0, "%s", err);
}

/* The defaults of every key outside levels and rules: the embedded default
 * spells them out, and a config that leaves them out must get the same. */
static void assert_default_globals(const struct triage_config *cfg)
{
	cr_assert_eq(cfg->tick_ms, 50);
	cr_assert_eq(cfg->status_ms, 1000);
	cr_assert_eq(cfg->rule_scan_ms, 1000);
	cr_assert_str_eq(cfg->cgroup_root, "triage");
	cr_assert_str_eq(cfg->pin_dir, "/sys/fs/bpf/triage");
	cr_assert_str_eq(cfg->run_dir, "/run/triage");
	cr_assert_eq(cfg->protection.period_us, 100000);
	cr_assert_float_eq(cfg->protection.decrease, 0.5, 1e-9);
	cr_assert_float_eq(cfg->protection.increase_cores, 0.05, 1e-9);
	cr_assert_eq(cfg->protection.confirm_ticks, 2);
	cr_assert_eq(cfg->protection.verify_ticks, 10);
	cr_assert_eq(cfg->protection.hold_off_ticks, 400);
	cr_assert_eq(cfg->protection.calm_ticks, 4);
	cr_assert_float_eq(cfg->protection.gpu_stretch, 1.10, 1e-9);
	cr_assert_str_eq(cfg->mps_pipe_dir, "/tmp/nvidia-mps");
	cr_assert_eq(cfg->planner.enabled, true);
	cr_assert_str_eq(cfg->planner.platform, "auto");
	cr_assert_str_eq(cfg->planner.models_dir, "");
	cr_assert_str_eq(cfg->planner.platforms_dir, "");
	cr_assert_eq(cfg->planner.replan_ms, 5000);
	cr_assert_float_eq(cfg->planner.budget_ms, 10, 1e-9);
	cr_assert_eq(cfg->planner.iterations, 2000);
	cr_assert_eq(cfg->planner.seed, 1);
	cr_assert_float_eq(cfg->planner.floor, 0.1, 1e-9);
	cr_assert_float_eq(cfg->planner.rank_decay, 0.5, 1e-9);
}

Test(config_default, embedded_default_parses)
{
	struct triage_config *cfg = new_config();
	static const struct {
		const char *name;
		unsigned weight;
		bool throttle, idle;
		unsigned wait_p99_us;
		double intf_pct;
	} expected[] = {
		{ "critical", 10000, false, false, 2000, 5.0 },
		{ "high", 1000, false, false, 0, 0 },
		{ "normal", 100, true, false, 0, 0 },
		{ "best-effort", 10, true, true, 0, 0 },
	};
	char err[512] = "";

	cr_assert_eq(config_load_default(cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg->nr_levels, 4);
	for (int i = 0; i < 4; i++) {
		const struct level_cfg *level = &cfg->levels[i];

		cr_assert_str_eq(level->name, expected[i].name);
		cr_assert_eq(level->rank, i + 1);
		cr_assert_eq(level->weight, expected[i].weight, "%s", level->name);
		cr_assert_eq(level->throttle, expected[i].throttle, "%s", level->name);
		cr_assert_eq(level->idle, expected[i].idle, "%s", level->name);
		cr_assert_eq(level->wait_p99_us, expected[i].wait_p99_us, "%s", level->name);
		cr_assert_float_eq(level->intf_pct, expected[i].intf_pct, 1e-9, "%s", level->name);
		cr_assert_float_eq(level->floor_cores, 0.1, 1e-9, "%s", level->name);
		cr_assert_str_eq(level->cpus, "");
	}
	assert_default_globals(cfg);
	/* Critical runs SCHED_FIFO by rank (19), guarded at 50% of its CPUs;
	 * every other level keeps the classes its processes chose. */
	cr_assert_eq(cfg->levels[0].sched.policy, SCHED_CFG_FIFO);
	cr_assert_eq(config_sched_priority(cfg, 0), 19);
	cr_assert_float_eq(cfg->levels[0].sched.budget_pct, 50, 1e-9);
	for (int i = 1; i < 4; i++)
		cr_assert_eq(cfg->levels[i].sched.policy, SCHED_CFG_KEEP, "%s", cfg->levels[i].name);
	cr_assert_eq(cfg->guard.window_ms, 1000);
	cr_assert_eq(cfg->guard.behave_ms, 5000);
	cr_assert_eq(cfg->nr_rules, 0, "the default must not grab anyone's processes");
	free(cfg);
}

Test(config_good, left_out_keys_get_defaults)
{
	struct triage_config *cfg = new_config();

	parse_ok("{" ONE_LEVEL "}", cfg);
	assert_default_globals(cfg);
	cr_assert_eq(cfg->nr_levels, 1);
	cr_assert_str_eq(cfg->levels[0].name, "a");
	cr_assert_eq(cfg->levels[0].weight, 100);
	cr_assert_str_eq(cfg->levels[0].cpus, "");
	cr_assert_float_eq(cfg->levels[0].floor_cores, 0.1, 1e-9);
	cr_assert_eq(cfg->levels[0].throttle, false);
	cr_assert_eq(cfg->levels[0].wait_p99_us, 0);
	cr_assert_float_eq(cfg->levels[0].intf_pct, 0, 1e-9);
	cr_assert_eq(cfg->levels[0].mps_priority, 0, "rank 1: MPS's normal priority");
	cr_assert_eq(cfg->levels[0].mps_thread_percent, 0, "no thread percentage");
	cr_assert_eq(cfg->nr_rules, 0);
	free(cfg);
}

Test(config_good, mps_priority_defaults_by_rank)
{
	struct triage_config *cfg = new_config();

	parse_ok("{" TWO_LEVELS "}", cfg);
	cr_assert_eq(cfg->levels[0].mps_priority, 0);
	cr_assert_eq(cfg->levels[1].mps_priority, 1, "below rank 1: MPS's low priority");
	parse_ok("{\"levels\": [{\"name\": \"a\", \"rank\": 1, \"mps_priority\": 1},"
		 " {\"name\": \"b\", \"rank\": 2, \"mps_priority\": 0}]}",
		 cfg);
	cr_assert_eq(cfg->levels[0].mps_priority, 1, "given: kept");
	cr_assert_eq(cfg->levels[1].mps_priority, 0);
	free(cfg);
}

Test(config_good, every_key_is_read)
{
	struct triage_config *cfg = new_config();

	parse_ok("{\"tick_ms\": 10, \"status_ms\": 60000, \"rule_scan_ms\": 100,"
		 " \"cgroup_root\": \"edge-ai\", \"pin_dir\": \"/sys/fs/bpf/x\","
		 " \"run_dir\": \"/tmp/run\", \"mps_pipe_dir\": \"/run/mps\","
		 " \"levels\": [{\"name\": \"lvl_1\", \"rank\": 8, \"weight\": 10000,"
		 " \"cpus\": \"0-3,6\", \"floor_cores\": 64, \"throttle\": true,"
		 " \"wait_p99_us\": 10000000, \"intf_pct\": 100, \"gpu_floor_permille\": 0,"
		 " \"mps_priority\": 0, \"mps_thread_percent\": 100}],"
		 " \"protection\": {\"period_us\": 1000, \"decrease\": 0.9,"
		 " \"increase_cores\": 1, \"calm_ticks\": 0, \"gpu_increase_permille\": 1000,"
		 " \"gpu_stretch\": 1.5}}",
		 cfg);
	cr_assert_eq(cfg->tick_ms, 10);
	cr_assert_eq(cfg->status_ms, 60000);
	cr_assert_eq(cfg->rule_scan_ms, 100);
	cr_assert_str_eq(cfg->cgroup_root, "edge-ai");
	cr_assert_str_eq(cfg->pin_dir, "/sys/fs/bpf/x");
	cr_assert_str_eq(cfg->run_dir, "/tmp/run");
	cr_assert_str_eq(cfg->levels[0].name, "lvl_1");
	cr_assert_eq(cfg->levels[0].rank, 8);
	cr_assert_eq(cfg->levels[0].weight, 10000);
	cr_assert_str_eq(cfg->levels[0].cpus, "0-3,6");
	cr_assert_float_eq(cfg->levels[0].floor_cores, 64, 1e-9);
	cr_assert_eq(cfg->levels[0].throttle, true);
	cr_assert_eq(cfg->levels[0].wait_p99_us, 10000000);
	cr_assert_float_eq(cfg->levels[0].intf_pct, 100, 1e-9);
	cr_assert_eq(cfg->protection.period_us, 1000);
	cr_assert_float_eq(cfg->protection.decrease, 0.9, 1e-9);
	cr_assert_float_eq(cfg->protection.increase_cores, 1, 1e-9);
	cr_assert_eq(cfg->protection.calm_ticks, 0);
	cr_assert_eq(cfg->levels[0].gpu_floor_permille, 0);
	cr_assert_eq(cfg->protection.gpu_increase_permille, 1000);
	cr_assert_float_eq(cfg->protection.gpu_stretch, 1.5, 1e-9);
	cr_assert_str_eq(cfg->mps_pipe_dir, "/run/mps");
	cr_assert_eq(cfg->levels[0].mps_priority, 0, "given at rank 8");
	cr_assert_eq(cfg->levels[0].mps_thread_percent, 100);
	free(cfg);
}

Test(config_good, sched_keys_are_read)
{
	struct triage_config *cfg = new_config();

	parse_ok("{\"levels\": [{\"name\": \"a\", \"rank\": 2, \"sched\": {\"policy\": \"rr\","
		 " \"priority\": 42, \"budget_pct\": 30, \"uclamp_min\": 512}},"
		 " {\"name\": \"b\", \"rank\": 3, \"sched\": {\"policy\": \"fifo\"}},"
		 " {\"name\": \"c\", \"rank\": 4, \"sched\": {\"policy\": \"batch\", \"nice\": -5}},"
		 " {\"name\": \"d\", \"rank\": 5, \"idle\": true, \"sched\": {\"policy\": \"idle\"}},"
		 " {\"name\": \"e\", \"rank\": 6},"
		 " {\"name\": \"f\", \"rank\": 7, \"sched\": {\"policy\": \"deadline\", \"budget_pct\": 50}}],"
		 " \"guard\": {\"window_ms\": 250, \"behave_ms\": 100}}",
		 cfg);
	cr_assert_eq(cfg->levels[0].sched.policy, SCHED_CFG_RR);
	cr_assert_eq(config_sched_priority(cfg, 0), 42);
	cr_assert_float_eq(cfg->levels[0].sched.budget_pct, 30, 1e-9);
	cr_assert_eq(cfg->levels[0].sched.uclamp_min, 512);
	cr_assert_eq(cfg->levels[0].sched.uclamp_max, SCHED_CFG_UCLAMP_KEEP);
	/* no priority named: 20 - rank */
	cr_assert_eq(config_sched_priority(cfg, 1), 17);
	cr_assert_eq(cfg->levels[2].sched.policy, SCHED_CFG_BATCH);
	cr_assert_eq(cfg->levels[2].sched.nice, -5);
	cr_assert_eq(cfg->levels[3].sched.policy, SCHED_CFG_IDLE);
	cr_assert_eq(cfg->levels[4].sched.policy, SCHED_CFG_KEEP);
	cr_assert_eq(cfg->levels[4].sched.nice, SCHED_CFG_NICE_KEEP);
	cr_assert_eq(cfg->levels[5].sched.policy, SCHED_CFG_DEADLINE);
	cr_assert(config_sched_realtime(&cfg->levels[5].sched), "guarded in its SCHED_FIFO fallback");
	cr_assert_float_eq(cfg->levels[5].sched.budget_pct, 50, 1e-9);
	cr_assert_eq(cfg->guard.window_ms, 250);
	cr_assert_eq(cfg->guard.behave_ms, 100);
	free(cfg);
}

Test(config_good, levels_are_sorted_by_rank_and_rules_follow)
{
	struct triage_config *cfg = new_config();

	parse_ok("{\"levels\": [{\"name\": \"low\", \"rank\": 3, \"weight\": 5},"
		 " {\"name\": \"top\", \"rank\": 1, \"weight\": 500},"
		 " {\"name\": \"mid\", \"rank\": 2, \"weight\": 50}],"
		 " \"rules\": [{\"level\": \"low\", \"match\": [[{\"comm\": \"batch\"}]]},"
		 " {\"level\": \"top\", \"workload\": \"detector\","
		 " \"match\": [[{\"comm_prefix\": \"detect\"}],"
		 " [{\"cgroup_prefix\": \"/system.slice/detector.service\"},"
		 " {\"comm\": \"python3\"}]]}]}",
		 cfg);
	cr_assert_eq(cfg->nr_levels, 3);
	cr_assert_str_eq(cfg->levels[0].name, "top");
	cr_assert_eq(cfg->levels[0].weight, 500);
	cr_assert_str_eq(cfg->levels[1].name, "mid");
	cr_assert_eq(cfg->levels[1].weight, 50);
	cr_assert_str_eq(cfg->levels[2].name, "low");
	cr_assert_eq(cfg->levels[2].weight, 5);
	cr_assert_eq(config_level_index(cfg, "low"), 2);
	cr_assert_eq(config_level_index(cfg, "top"), 0);
	cr_assert_eq(config_level_index(cfg, "none"), -1);

	cr_assert_eq(cfg->nr_rules, 2);
	cr_assert_eq(cfg->rules[0].level, 2, "index into the sorted levels");
	cr_assert_str_eq(cfg->rules[0].workload, "");
	cr_assert_eq(cfg->rules[0].nr_sets, 1);
	cr_assert_eq(cfg->rules[0].sets[0].nr_terms, 1);
	cr_assert_eq(cfg->rules[0].sets[0].terms[0].kind, MATCH_COMM);
	cr_assert_str_eq(cfg->rules[0].sets[0].terms[0].value, "batch");

	cr_assert_eq(cfg->rules[1].level, 0);
	cr_assert_str_eq(cfg->rules[1].workload, "detector");
	cr_assert_eq(cfg->rules[1].nr_sets, 2);
	cr_assert_eq(cfg->rules[1].sets[0].terms[0].kind, MATCH_COMM_PREFIX);
	cr_assert_str_eq(cfg->rules[1].sets[0].terms[0].value, "detect");
	cr_assert_eq(cfg->rules[1].sets[1].nr_terms, 2);
	cr_assert_eq(cfg->rules[1].sets[1].terms[0].kind, MATCH_CGROUP_PREFIX);
	cr_assert_str_eq(cfg->rules[1].sets[1].terms[0].value,
			 "/system.slice/detector.service");
	cr_assert_eq(cfg->rules[1].sets[1].terms[1].kind, MATCH_COMM);
	cr_assert_str_eq(cfg->rules[1].sets[1].terms[1].value, "python3");
	free(cfg);
}

Test(config_good, planner_keys_are_read)
{
	struct triage_config *cfg = new_config();

	parse_ok(PLANNER_WITH("\"enabled\": false, \"platform\": \"orin-agx\","
			      " \"models_dir\": \"models/zoo\", \"platforms_dir\": \"/opt/p\","
			      " \"replan_ms\": 100, \"budget_ms\": 2.5, \"iterations\": 0,"
			      " \"seed\": 4294967295, \"floor\": 0.25, \"rank_decay\": 1"),
		 cfg);
	cr_assert_eq(cfg->planner.enabled, false);
	cr_assert_str_eq(cfg->planner.platform, "orin-agx");
	cr_assert_str_eq(cfg->planner.models_dir, "models/zoo");
	cr_assert_str_eq(cfg->planner.platforms_dir, "/opt/p");
	cr_assert_eq(cfg->planner.replan_ms, 100);
	cr_assert_float_eq(cfg->planner.budget_ms, 2.5, 1e-9);
	cr_assert_eq(cfg->planner.iterations, 0);
	cr_assert_eq(cfg->planner.seed, 4294967295u);
	cr_assert_float_eq(cfg->planner.floor, 0.25, 1e-9);
	cr_assert_float_eq(cfg->planner.rank_decay, 1, 1e-9);
	free(cfg);
}

Test(config_good, a_rule_may_name_a_model_and_a_latency_target)
{
	struct triage_config *cfg = new_config();

	parse_ok("{" TWO_LEVELS ", \"rules\": ["
		 "{\"level\": \"a\", \"model\": \"resnet18\", \"latency_ms\": 33.3,"
		 " \"match\": [[{\"comm\": \"det\"}]]},"
		 "{\"level\": \"b\", \"match\": [[{\"comm\": \"other\"}]]}]}",
		 cfg);
	cr_assert_str_eq(cfg->rules[0].model, "resnet18");
	cr_assert_float_eq(cfg->rules[0].latency_ms, 33.3, 1e-9);
	cr_assert_str_eq(cfg->rules[1].model, "", "no model: not planned");
	cr_assert_float_eq(cfg->rules[1].latency_ms, 0, 1e-9);
	free(cfg);
}

Test(config_names, model_name_validity)
{
	cr_assert(config_model_name_valid("resnet18"));
	cr_assert(config_model_name_valid("yolov4tiny"));
	cr_assert(config_model_name_valid("orin-agx"));
	cr_assert(config_model_name_valid("net_v1.5"));
	cr_assert(config_model_name_valid("1234567890123456789012345678901"));
	cr_assert_not(config_model_name_valid("12345678901234567890123456789012"));
	cr_assert_not(config_model_name_valid(""));
	cr_assert_not(config_model_name_valid(".hidden"));
	cr_assert_not(config_model_name_valid("../etc"));
	cr_assert_not(config_model_name_valid("a/b"));
	cr_assert_not(config_model_name_valid("ResNet"));
	cr_assert_not(config_model_name_valid(NULL));
}

Test(config_good, integers_are_accepted_for_numbers)
{
	struct triage_config *cfg = new_config();

	parse_ok(LEVEL_WITH("\"floor_cores\": 2, \"intf_pct\": 0"), cfg);
	cr_assert_float_eq(cfg->levels[0].floor_cores, 2.0, 1e-9);
	free(cfg);
}

Test(config_names, validity)
{
	cr_assert(config_name_valid("critical"));
	cr_assert(config_name_valid("best-effort"));
	cr_assert(config_name_valid("a_1"));
	cr_assert(config_name_valid("123456789012345"));
	cr_assert_not(config_name_valid("1234567890123456"));
	cr_assert_not(config_name_valid(""));
	cr_assert_not(config_name_valid("."));
	cr_assert_not(config_name_valid(".."));
	cr_assert_not(config_name_valid("a/b"));
	cr_assert_not(config_name_valid("Critical"));
	cr_assert_not(config_name_valid("a b"));
	cr_assert_not(config_name_valid(NULL));
}

/* Arrays, not pointers: Criterion hands each parameter to a test process
 * of its own, where pointers into the parent's image may not be valid. */
struct bad_case {
	char json[512];
	char path[48];   /* what follows "test.json: " */
	char reason[96]; /* a phrase of the message */
};

static struct bad_case bad_cases[] = {
	/* syntax */
	{ "", "top level: ", "empty" },
	{ "[1, 2]", "top level: ", "must be a JSON object" },
	{ "{\"levels\": [}", "line 1, column 13: ", "invalid JSON" },
	{ "{\n  \"tick_ms\": 50,\n  \"levels\": [,]\n}", "line 3, column 14: ", "invalid JSON" },
	{ "{" ONE_LEVEL "} x", "line 1, column 36: ", "trailing characters" },
	{ "{" ONE_LEVEL "", "line 1, column 34: ", "unexpected end of input" },
	{ "/* comment */ {" ONE_LEVEL "}", "top level: ", "must be a JSON object" },
	{ "{" ONE_LEVEL ",}", "line 1, column 35: ", "invalid JSON" },
	/* top level */
	{ "{\"tickms\": 50, " ONE_LEVEL "}", "tickms: ", "unknown key" },
	{ "{\"tick_ms\": 5, " ONE_LEVEL "}", "tick_ms: ", "integer in 10..10000, got 5" },
	{ "{\"tick_ms\": \"50\", " ONE_LEVEL "}", "tick_ms: ", "must be an integer" },
	{ "{\"tick_ms\": 50.5, " ONE_LEVEL "}", "tick_ms: ", "must be an integer" },
	{ "{\"status_ms\": 99, " ONE_LEVEL "}", "status_ms: ", "100..60000" },
	{ "{\"rule_scan_ms\": 60001, " ONE_LEVEL "}", "rule_scan_ms: ", "100..60000" },
	{ "{\"cgroup_root\": \"a/b\", " ONE_LEVEL "}", "cgroup_root: ", "must be a name" },
	{ "{\"cgroup_root\": null, " ONE_LEVEL "}", "cgroup_root: ", "must be a string, got null" },
	{ "{\"pin_dir\": \"sys/fs/bpf\", " ONE_LEVEL "}", "pin_dir: ", "absolute path" },
	{ "{\"run_dir\": \"\", " ONE_LEVEL "}", "run_dir: ", "absolute path" },
	/* levels */
	{ "{}", "levels: ", "required key missing" },
	{ "{\"levels\": {}}", "levels: ", "must be an array" },
	{ "{\"levels\": []}", "levels: ", "must hold 1..8 levels, got 0" },
	{ "{\"levels\": [{\"name\":\"a\",\"rank\":1},{\"name\":\"b\",\"rank\":2},"
	  "{\"name\":\"c\",\"rank\":3},{\"name\":\"d\",\"rank\":4},{\"name\":\"e\",\"rank\":5},"
	  "{\"name\":\"f\",\"rank\":6},{\"name\":\"g\",\"rank\":7},{\"name\":\"h\",\"rank\":8},"
	  "{\"name\":\"i\",\"rank\":8}]}",
	  "levels: ", "got 9" },
	{ "{\"levels\": [7]}", "levels[0]: ", "must be an object, got 7" },
	{ "{\"levels\": [{\"rank\": 1}]}", "levels[0].name: ", "required key missing" },
	{ "{\"levels\": [{\"name\": \"a\"}]}", "levels[0].rank: ", "required key missing" },
	{ LEVEL_WITH("\"colour\": \"red\""), "levels[0].colour: ", "unknown key" },
	{ LEVEL_WITH("\"gpu_floor_permille\": 1001"), "levels[0].gpu_floor_permille: ",
	  "integer in 0..1000, got 1001" },
	{ LEVEL_WITH("\"mps_priority\": 2"), "levels[0].mps_priority: ", "integer in 0..1, got 2" },
	{ LEVEL_WITH("\"mps_priority\": true"), "levels[0].mps_priority: ", "must be an integer" },
	{ LEVEL_WITH("\"mps_thread_percent\": 0"), "levels[0].mps_thread_percent: ",
	  "integer in 1..100, got 0" },
	{ LEVEL_WITH("\"mps_thread_percent\": 101"), "levels[0].mps_thread_percent: ",
	  "integer in 1..100, got 101" },
	{ "{\"mps_pipe_dir\": \"tmp/mps\", " ONE_LEVEL "}", "mps_pipe_dir: ", "absolute path" },
	{ "{\"mps_pipe_dir\": 1, " ONE_LEVEL "}", "mps_pipe_dir: ", "must be a string" },
	{ "{\"mps_pipe_dir\": \"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\", " ONE_LEVEL "}", "mps_pipe_dir: ",
	  "path too long (at most 255 characters)" },
	{ PROTECTION_WITH("\"gpu_stretch\": 1"), "protection.gpu_stretch: ", "number in (1, 100], got 1" },
	{ PROTECTION_WITH("\"gpu_stretch\": 0.9"), "protection.gpu_stretch: ", "number in (1, 100]" },
	{ PROTECTION_WITH("\"gpu_stretch\": \"1.2\""), "protection.gpu_stretch: ", "must be a number" },
	{ LEVEL_WITH("\"sched\": {}"), "levels[0].sched.policy: ", "required key missing" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"edf\"}"), "levels[0].sched.policy: ",
	  "unknown policy \"edf\" (expected keep, other, batch, idle, fifo, rr or deadline)" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"deadline\", \"nice\": 1}"), "levels[0].sched.nice: ",
	  "only other and batch levels have it" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"fifo\", \"priority\": 100}"),
	  "levels[0].sched.priority: ", "0..99" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"rr\", \"budget_pct\": 0}"),
	  "levels[0].sched.budget_pct: ", "" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"fifo\", \"nice\": 3}"), "levels[0].sched.nice: ",
	  "only other and batch levels have it" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"batch\", \"priority\": 3}"),
	  "levels[0].sched.priority: ", "only fifo, rr and deadline levels have it" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"other\", \"nice\": 20}"), "levels[0].sched.nice: ",
	  "-20..19" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"idle\", \"nice\": 1}"), "levels[0].sched.nice: ",
	  "only other and batch levels have it" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"keep\", \"uclamp_min\": 1}"),
	  "levels[0].sched.uclamp_min: ", "only other, batch, idle, fifo, rr and deadline levels have it" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"fifo\", \"uclamp_min\": 800, \"uclamp_max\": 200}"),
	  "levels[0].sched.uclamp_min: ", "800 is above uclamp_max 200" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"fifo\", \"uclamp_max\": 1025}"),
	  "levels[0].sched.uclamp_max: ", "0..1024" },
	{ LEVEL_WITH("\"idle\": true, \"sched\": {\"policy\": \"fifo\"}"), "levels[0].sched.policy: ",
	  "a real-time policy on a level with \"idle\": true" },
	{ LEVEL_WITH("\"sched\": {\"policy\": \"fifo\", \"colour\": 1}"), "levels[0].sched.colour: ",
	  "unknown key" },
	{ "{" ONE_LEVEL ",\"guard\":{\"window_ms\": 50}}", "guard.window_ms: ", "100..60000" },
	{ "{" ONE_LEVEL ",\"guard\":{\"behave\": 5}}", "guard.behave: ", "unknown key" },
	{ "{\"levels\": [{\"name\": \"Critical\", \"rank\": 1}]}", "levels[0].name: ",
	  "must be a name" },
	{ "{\"levels\": [{\"name\": \"..\", \"rank\": 1}]}", "levels[0].name: ", "must be a name" },
	{ "{\"levels\": [{\"name\": \"abcdefghijklmnop\", \"rank\": 1}]}", "levels[0].name: ",
	  "1..15 characters" },
	{ "{\"levels\": [{\"name\": \"a\", \"rank\": 0}]}", "levels[0].rank: ", "1..8, got 0" },
	{ "{\"levels\": [{\"name\": \"a\", \"rank\": 9}]}", "levels[0].rank: ", "1..8, got 9" },
	{ "{\"levels\": [{\"name\":\"a\",\"rank\":1},{\"name\":\"b\",\"rank\":2},"
	  "{\"name\":\"c\",\"rank\":2}]}",
	  "levels[2].rank: ", "duplicate rank 2" },
	{ "{\"levels\": [{\"name\":\"a\",\"rank\":1},{\"name\":\"a\",\"rank\":2}]}",
	  "levels[1].name: ", "duplicate name" },
	{ "{\"levels\": [{\"name\":\"a\",\"rank\":1},{\"name\":\"b\",\"rank\":2},"
	  "{\"name\":\"c\",\"rank\":3,\"weight\":0}]}",
	  "levels[2].weight: ", "must be an integer in 1..10000, got 0" },
	{ LEVEL_WITH("\"weight\": 10001"), "levels[0].weight: ", "1..10000, got 10001" },
	{ LEVEL_WITH("\"weight\": -1"), "levels[0].weight: ", "1..10000, got -1" },
	{ LEVEL_WITH("\"cpus\": \"0-\""), "levels[0].cpus: ", "CPU list" },
	{ LEVEL_WITH("\"cpus\": \"3-1\""), "levels[0].cpus: ", "CPU list" },
	{ LEVEL_WITH("\"cpus\": \"0,,2\""), "levels[0].cpus: ", "CPU list" },
	{ LEVEL_WITH("\"cpus\": \"0 - 3\""), "levels[0].cpus: ", "CPU list" },
	{ LEVEL_WITH("\"cpus\": 3"), "levels[0].cpus: ", "must be a string" },
	{ LEVEL_WITH("\"floor_cores\": 0"), "levels[0].floor_cores: ", "number in (0, 64]" },
	{ LEVEL_WITH("\"floor_cores\": 64.5"), "levels[0].floor_cores: ", "number in (0, 64]" },
	{ LEVEL_WITH("\"floor_cores\": \"1\""), "levels[0].floor_cores: ", "must be a number" },
	{ LEVEL_WITH("\"throttle\": 1"), "levels[0].throttle: ", "must be true or false" },
	{ LEVEL_WITH("\"idle\": \"yes\""), "levels[0].idle: ", "must be true or false" },
	{ LEVEL_WITH("\"wait_p99_us\": 10000001"), "levels[0].wait_p99_us: ", "0..10000000" },
	{ LEVEL_WITH("\"intf_pct\": 100.5"), "levels[0].intf_pct: ", "number in [0, 100]" },
	{ LEVEL_WITH("\"intf_pct\": -1"), "levels[0].intf_pct: ", "number in [0, 100]" },
	/* who may claim a level */
	{ LEVEL_WITH("\"claim\": []"), "levels[0].claim: ", "must be an object" },
	{ LEVEL_WITH("\"claim\": {\"uids\": [0]}"), "levels[0].claim.uids: ", "unknown key" },
	{ LEVEL_WITH("\"claim\": {\"users\": [\"no-such-user-tg\"]}"), "levels[0].claim.users[0]: ",
	  "no user \"no-such-user-tg\" on this system" },
	{ LEVEL_WITH("\"claim\": {\"groups\": [0, \"no-such-group-tg\"]}"),
	  "levels[0].claim.groups[1]: ", "no group \"no-such-group-tg\" on this system" },
	{ LEVEL_WITH("\"claim\": {\"users\": [-1]}"), "levels[0].claim.users[0]: ", "0..2147483647" },
	{ LEVEL_WITH("\"claim\": {\"users\": [true]}"), "levels[0].claim.users[0]: ",
	  "must be a user name or number" },
	{ LEVEL_WITH("\"claim\": {\"users\": 0}"), "levels[0].claim.users: ", "must be an array" },
	{ LEVEL_WITH("\"claim\": {\"users\": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}"),
	  "levels[0].claim.users: ", "at most 16 entries, got 17" },
	{ "{" ONE_LEVEL ", \"clients\": {\"open_level\": \"b\"}}", "clients.open_level: ",
	  "no level \"b\"" },
	{ "{" ONE_LEVEL ", \"clients\": {\"max_per_user\": 0}}", "clients.max_per_user: ", "1..4096" },
	{ "{" ONE_LEVEL ", \"clients\": {\"max_new_per_tick\": 5000}}", "clients.max_new_per_tick: ",
	  "1..4096" },
	{ "{" ONE_LEVEL ", \"clients\": {\"per_user\": 1}}", "clients.per_user: ", "unknown key" },
	{ "{" ONE_LEVEL ", \"clients\": []}", "clients: ", "must be an object" },
	/* protection */
	{ "{" ONE_LEVEL ", \"protection\": []}", "protection: ", "must be an object" },
	{ PROTECTION_WITH("\"period\": 1000"), "protection.period: ", "unknown key" },
	{ PROTECTION_WITH("\"period_us\": 999"), "protection.period_us: ", "1000..1000000" },
	{ PROTECTION_WITH("\"decrease\": 1"), "protection.decrease: ", "number in (0, 1)" },
	{ PROTECTION_WITH("\"decrease\": 0"), "protection.decrease: ", "number in (0, 1)" },
	{ PROTECTION_WITH("\"gpu_increase_permille\": 0"), "protection.gpu_increase_permille: ",
	  "integer in 1..1000, got 0" },
	{ PROTECTION_WITH("\"increase_cores\": 0"), "protection.increase_cores: ",
	  "number in (0, 64]" },
	{ PROTECTION_WITH("\"increase_cores\": 1e400"), "protection.increase_cores: ",
	  "number in (0, 64]" },
	{ PROTECTION_WITH("\"calm_ticks\": 1001"), "protection.calm_ticks: ", "0..1000" },
	{ PROTECTION_WITH("\"confirm_ticks\": 0"), "protection.confirm_ticks: ", "1..1000" },
	{ PROTECTION_WITH("\"verify_ticks\": 0"), "protection.verify_ticks: ", "1..10000" },
	{ PROTECTION_WITH("\"hold_off_ticks\": 100001"), "protection.hold_off_ticks: ", "1..100000" },
	/* planner */
	{ "{" ONE_LEVEL ", \"planner\": true}", "planner: ", "must be an object" },
	{ PLANNER_WITH("\"budget\": 10"), "planner.budget: ", "unknown key" },
	{ PLANNER_WITH("\"enabled\": 1"), "planner.enabled: ", "must be true or false" },
	{ PLANNER_WITH("\"platform\": \"../x\""), "planner.platform: ", "must be a name" },
	{ PLANNER_WITH("\"platform\": \"\""), "planner.platform: ", "must be a name" },
	{ PLANNER_WITH("\"models_dir\": 3"), "planner.models_dir: ", "must be a string" },
	{ PLANNER_WITH("\"platforms_dir\": null"), "planner.platforms_dir: ", "must be a string" },
	{ PLANNER_WITH("\"replan_ms\": 99"), "planner.replan_ms: ", "100..3600000" },
	{ PLANNER_WITH("\"budget_ms\": 0"), "planner.budget_ms: ", "number in (0, 1000]" },
	{ PLANNER_WITH("\"budget_ms\": 1000.5"), "planner.budget_ms: ", "number in (0, 1000]" },
	{ PLANNER_WITH("\"iterations\": -1"), "planner.iterations: ", "0..10000000" },
	{ PLANNER_WITH("\"iterations\": 1.5"), "planner.iterations: ", "must be an integer" },
	{ PLANNER_WITH("\"seed\": 4294967296"), "planner.seed: ", "0..4294967295" },
	{ PLANNER_WITH("\"floor\": 1"), "planner.floor: ", "number in (0, 1)" },
	{ PLANNER_WITH("\"floor\": 0"), "planner.floor: ", "number in (0, 1)" },
	{ PLANNER_WITH("\"rank_decay\": 0"), "planner.rank_decay: ", "number in (0, 1]" },
	{ PLANNER_WITH("\"rank_decay\": 1.5"), "planner.rank_decay: ", "number in (0, 1]" },
	{ RULE_WITH("\"model\": \"ResNet18\""), "rules[0].model: ", "must be a name" },
	{ RULE_WITH("\"model\": 18"), "rules[0].model: ", "must be a string" },
	{ RULE_WITH("\"model\": \"resnet18\", \"latency_ms\": 0"), "rules[0].latency_ms: ",
	  "number in (0, 60000]" },
	{ RULE_WITH("\"model\": \"resnet18\", \"latency_ms\": \"30\""),
	  "rules[0].latency_ms: ", "must be a number" },
	{ RULE_WITH("\"latency_ms\": 30"), "rules[0].latency_ms: ", "needs a \"model\"" },
	/* rules */
	{ "{" ONE_LEVEL ", \"rules\": {}}", "rules: ", "must be an array" },
	{ "{" ONE_LEVEL ", \"rules\": [{\"match\": [[{\"comm\": \"x\"}]]}]}", "rules[0].level: ",
	  "required key missing" },
	{ "{" TWO_LEVELS ", \"rules\": [{\"level\": \"c\", \"match\": [[{\"comm\": \"x\"}]]}]}",
	  "rules[0].level: ", "\"c\" is not a configured level (configured: a, b)" },
	{ "{" ONE_LEVEL ", \"rules\": [{\"level\": \"a\", \"workload\": \"My App\","
	  " \"match\": [[{\"comm\": \"x\"}]]}]}",
	  "rules[0].workload: ", "must be a name" },
	{ "{" ONE_LEVEL ", \"rules\": [{\"level\": \"a\"}]}", "rules[0].match: ",
	  "required key missing" },
	{ "{" ONE_LEVEL ", \"rules\": [{\"level\": \"a\", \"when\": 1,"
	  " \"match\": [[{\"comm\": \"x\"}]]}]}",
	  "rules[0].when: ", "unknown key" },
	{ RULE_WITH_MATCH("[[{\"comm\": \"x\"}], [{\"comm_suffix\": \"y\"}]]"),
	  "rules[0].match[1][0]: ",
	  "unknown match key \"comm_suffix\" (expected comm, comm_prefix or cgroup_prefix)" },
	{ RULE_WITH_MATCH("[[{\"comm\": \"x\", \"comm_prefix\": \"y\"}]]"),
	  "rules[0].match[0][0]: ", "exactly one key" },
	{ RULE_WITH_MATCH("[[{}]]"), "rules[0].match[0][0]: ", "exactly one key" },
	{ RULE_WITH_MATCH("[[{\"comm\": \"\"}]]"), "rules[0].match[0][0].comm: ",
	  "must be a non-empty string" },
	{ RULE_WITH_MATCH("[[{\"comm_prefix\": 5}]]"), "rules[0].match[0][0].comm_prefix: ",
	  "must be a non-empty string" },
	{ RULE_WITH_MATCH("[[{\"comm\": \"a_very_long_process\"}]]"),
	  "rules[0].match[0][0].comm: ", "can never match" },
	{ RULE_WITH_MATCH("[[{\"cgroup_prefix\": \"system.slice\"}]]"),
	  "rules[0].match[0][0].cgroup_prefix: ", "starting with '/'" },
	{ RULE_WITH_MATCH("[]"), "rules[0].match: ", "1..8 match sets" },
	{ RULE_WITH_MATCH("[{\"comm\": \"x\"}]"), "rules[0].match[0]: ", "must be an array" },
	{ RULE_WITH_MATCH("[[]]"), "rules[0].match[0]: ", "1..8 match terms" },
	{ RULE_WITH_MATCH("[[{\"comm\":\"a\"}],[{\"comm\":\"b\"}],[{\"comm\":\"c\"}],"
			  "[{\"comm\":\"d\"}],[{\"comm\":\"e\"}],[{\"comm\":\"f\"}],"
			  "[{\"comm\":\"g\"}],[{\"comm\":\"h\"}],[{\"comm\":\"i\"}]]"),
	  "rules[0].match: ", "got 9" },
	{ RULE_WITH_MATCH("[[{\"comm\":\"a\"},{\"comm\":\"b\"},{\"comm\":\"c\"},"
			  "{\"comm\":\"d\"},{\"comm\":\"e\"},{\"comm\":\"f\"},"
			  "{\"comm\":\"g\"},{\"comm\":\"h\"},{\"comm\":\"i\"}]]"),
	  "rules[0].match[0]: ", "got 9" },
};

ParameterizedTestParameters(config_bad, is_refused)
{
	return cr_make_param_array(struct bad_case, bad_cases,
				   sizeof(bad_cases) / sizeof(bad_cases[0]));
}

ParameterizedTest(struct bad_case *bad, config_bad, is_refused)
{
	struct triage_config *cfg = new_config();
	char expected_start[256];
	char err[512] = "";

	cr_assert_eq(config_parse(bad->json, ORIGIN, cfg, err, sizeof(err)), -1,
		     "accepted: %s", bad->json);
	snprintf(expected_start, sizeof(expected_start), ORIGIN ": %s", bad->path);
	cr_assert(!strncmp(err, expected_start, strlen(expected_start)),
		  "message \"%s\" does not start with \"%s\"", err, expected_start);
	cr_assert(strstr(err, bad->reason), "message \"%s\" lacks \"%s\"", err, bad->reason);
	cr_assert(!strchr(err, '\n'), "message is one line: \"%s\"", err);
	cr_assert(config_untouched(cfg), "cfg written on failure: %s", bad->json);
	free(cfg);
}

Test(config_bad, too_many_rules)
{
	struct triage_config *cfg = new_config();
	size_t len = 64 * 1024, used;
	char *json = malloc(len);
	char err[512] = "";

	cr_assert_not_null(json);
	used = (size_t)snprintf(json, len, "{" ONE_LEVEL ", \"rules\": [");
	for (int i = 0; i <= CONFIG_MAX_RULES; i++)
		used += (size_t)snprintf(json + used, len - used,
					 "%s{\"level\": \"a\", \"match\": [[{\"comm\": \"c%d\"}]]}",
					 i ? "," : "", i);
	snprintf(json + used, len - used, "]}");

	cr_assert_eq(config_parse(json, ORIGIN, cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, ORIGIN ": rules: at most 64 rules, got 65"), "%s", err);
	cr_assert(config_untouched(cfg));
	free(json);
	free(cfg);
}

Test(config_bad, a_failed_parse_keeps_the_previous_config)
{
	struct triage_config *cfg = new_config();
	char err[512] = "";

	parse_ok("{\"tick_ms\": 20, " ONE_LEVEL "}", cfg);
	cr_assert_eq(config_parse("{\"tick_ms\": 30, \"levels\": []}", ORIGIN, cfg, err,
				  sizeof(err)),
		     -1);
	cr_assert_eq(cfg->tick_ms, 20);
	cr_assert_eq(cfg->nr_levels, 1);
	free(cfg);
}

Test(config_file, missing_file_names_path_and_reason)
{
	struct triage_config *cfg = new_config();
	char err[512] = "";

	cr_assert_eq(config_load_file("/nonexistent/triage.json", cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "/nonexistent/triage.json"), "%s", err);
	cr_assert(strstr(err, strerror(ENOENT)), "%s", err);
	cr_assert(config_untouched(cfg));
	free(cfg);
}

static void write_temp_config(char *path, size_t len, const char *text)
{
	const char *dir = getenv("TMPDIR");
	FILE *file;
	int fd;

	snprintf(path, len, "%s/triage-test-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	file = fdopen(fd, "w");
	cr_assert_not_null(file);
	fputs(text, file);
	cr_assert_eq(fclose(file), 0);
}

Test(config_file, temp_file_is_read)
{
	struct triage_config *cfg = new_config();
	char path[4096];
	char err[512] = "";

	write_temp_config(path, sizeof(path),
			  "{\n\t\"tick_ms\": 25,\n\t\"levels\": [{\"name\": \"only\", \"rank\": 1}]\n}\n");
	cr_assert_eq(config_load_file(path, cfg, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	cr_assert_eq(cfg->tick_ms, 25);
	cr_assert_eq(cfg->nr_levels, 1);
	cr_assert_str_eq(cfg->levels[0].name, "only");
	free(cfg);
}

Test(config_file, errors_in_a_file_name_the_file)
{
	struct triage_config *cfg = new_config();
	char expected[4200];
	char path[4096];
	char err[512] = "";

	write_temp_config(path, sizeof(path),
			  "{\n\t\"levels\": [{\"name\": \"a\", \"rank\": 1, \"weight\": 0}]\n}\n");
	cr_assert_eq(config_load_file(path, cfg, err, sizeof(err)), -1);
	unlink(path);
	snprintf(expected, sizeof(expected), "%s: levels[0].weight: ", path);
	cr_assert(!strncmp(err, expected, strlen(expected)), "%s", err);
	cr_assert(config_untouched(cfg));
	free(cfg);
}

Test(config_file, a_directory_is_refused)
{
	struct triage_config *cfg = new_config();
	char err[512] = "";

	cr_assert_eq(config_load_file("/", cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, strerror(EISDIR)), "%s", err);
	free(cfg);
}

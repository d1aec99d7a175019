// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Rule matching: which rule claims a process, and the workload name it
 * gets. Rules are built by hand here, apart from the JSON parser. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "policy/match.h"

static void add_term(struct match_set *set, enum match_kind kind, const char *value)
{
	struct match_term *term = &set->terms[set->nr_terms++];

	term->kind = kind;
	snprintf(term->value, sizeof(term->value), "%s", value);
}

static struct match_set *add_set(struct rule_cfg *rule)
{
	return &rule->sets[rule->nr_sets++];
}

static struct rule_cfg *add_rule(struct triage_config *cfg, int level, const char *workload)
{
	struct rule_cfg *rule = &cfg->rules[cfg->nr_rules++];

	rule->level = level;
	snprintf(rule->workload, sizeof(rule->workload), "%s", workload);
	return rule;
}

static struct triage_config *new_config(void)
{
	/* About 1 MiB: kept off the stack. */
	struct triage_config *cfg = calloc(1, sizeof(*cfg));

	cr_assert_not_null(cfg);
	return cfg;
}

Test(match, comm_is_an_exact_match)
{
	struct match_set set = { 0 };

	add_term(&set, MATCH_COMM, "detect");
	cr_assert(match_set_holds(&set, &(struct proc_facts){ "detect", "/" }));
	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "detector", "/" }));
	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "detec", "/" }));
	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "Detect", "/" }));
}

Test(match, comm_prefix)
{
	struct match_set set = { 0 };

	add_term(&set, MATCH_COMM_PREFIX, "detect");
	cr_assert(match_set_holds(&set, &(struct proc_facts){ "detect", "/" }));
	cr_assert(match_set_holds(&set, &(struct proc_facts){ "detector-2", "/" }));
	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "detec", "/" }));
	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "my-detect", "/" }));
}

Test(match, cgroup_prefix)
{
	struct match_set set = { 0 };

	add_term(&set, MATCH_CGROUP_PREFIX, "/system.slice/detector.service");
	cr_assert(match_set_holds(&set,
				  &(struct proc_facts){ "x", "/system.slice/detector.service" }));
	cr_assert(match_set_holds(
		&set, &(struct proc_facts){ "x", "/system.slice/detector.service/worker" }));
	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "x", "/system.slice" }));
	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "x", "/user.slice/a" }));
}

Test(match, missing_facts_never_match)
{
	struct match_set comm_set = { 0 }, cgroup_set = { 0 };

	add_term(&comm_set, MATCH_COMM_PREFIX, "d");
	add_term(&cgroup_set, MATCH_CGROUP_PREFIX, "/");
	cr_assert_not(match_set_holds(&comm_set, &(struct proc_facts){ NULL, "/" }));
	cr_assert_not(match_set_holds(&cgroup_set, &(struct proc_facts){ "d", NULL }));
}

Test(match, empty_set_matches_nothing)
{
	struct match_set set = { 0 };

	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "anything", "/" }));
}

Test(match, all_terms_of_a_set_must_hold)
{
	struct match_set set = { 0 };

	add_term(&set, MATCH_CGROUP_PREFIX, "/system.slice/detector.service");
	add_term(&set, MATCH_COMM, "python3");
	cr_assert(match_set_holds(
		&set, &(struct proc_facts){ "python3", "/system.slice/detector.service" }));
	cr_assert_not(match_set_holds(
		&set, &(struct proc_facts){ "bash", "/system.slice/detector.service" }));
	cr_assert_not(match_set_holds(&set, &(struct proc_facts){ "python3", "/user.slice" }));
}

Test(match, any_set_of_a_rule_may_hold)
{
	struct triage_config *cfg = new_config();
	struct rule_cfg *rule = add_rule(cfg, 0, "detector");
	struct match_set *set;

	add_term(add_set(rule), MATCH_COMM_PREFIX, "detect");
	set = add_set(rule);
	add_term(set, MATCH_CGROUP_PREFIX, "/system.slice/detector.service");
	add_term(set, MATCH_COMM, "python3");

	cr_assert_eq(match_rules(cfg, &(struct proc_facts){ "detect-gpu", "/" }), 0);
	cr_assert_eq(match_rules(cfg, &(struct proc_facts){ "python3",
							     "/system.slice/detector.service" }),
		     0);
	cr_assert_eq(match_rules(cfg, &(struct proc_facts){ "python3", "/" }), -1);
	cr_assert_eq(match_rules(cfg, &(struct proc_facts){ "bash", "/" }), -1);
	free(cfg);
}

Test(match, first_matching_rule_wins)
{
	struct triage_config *cfg = new_config();

	add_term(add_set(add_rule(cfg, 2, "")), MATCH_COMM, "unrelated");
	add_term(add_set(add_rule(cfg, 1, "")), MATCH_COMM_PREFIX, "yolo");
	add_term(add_set(add_rule(cfg, 0, "")), MATCH_COMM, "yolov8");

	cr_assert_eq(match_rules(cfg, &(struct proc_facts){ "yolov8", "/" }), 1);
	cr_assert_eq(match_rules(cfg, &(struct proc_facts){ "unrelated", "/" }), 0);
	cr_assert_eq(match_rules(cfg, &(struct proc_facts){ "resnet", "/" }), -1);
	free(cfg);
}

Test(match, no_rules_match_nothing)
{
	struct triage_config *cfg = new_config();

	cr_assert_eq(match_rules(cfg, &(struct proc_facts){ "detect", "/" }), -1);
	cr_assert_eq(match_rules(NULL, &(struct proc_facts){ "detect", "/" }), -1);
	free(cfg);
}

Test(match, workload_name_from_rule)
{
	struct rule_cfg rule = { .workload = "detector" };
	char name[TRIAGE_NAME_MAX];

	match_workload_name(&rule, "python3", name, sizeof(name));
	cr_assert_str_eq(name, "detector");
}

Test(match, workload_name_from_comm)
{
	struct rule_cfg rule = { 0 };
	char name[TRIAGE_NAME_MAX];

	match_workload_name(&rule, "yolov8", name, sizeof(name));
	cr_assert_str_eq(name, "yolov8");
	match_workload_name(NULL, "best_effort-1", name, sizeof(name));
	cr_assert_str_eq(name, "best_effort-1");
}

Test(match, workload_name_lowercases)
{
	char name[TRIAGE_NAME_MAX];

	match_workload_name(NULL, "Chrome_IOThread", name, sizeof(name));
	cr_assert_str_eq(name, "chrome_iothread");
	cr_assert(config_name_valid(name));
}

Test(match, workload_name_replaces_odd_characters)
{
	char name[TRIAGE_NAME_MAX];

	match_workload_name(NULL, "kworker/0:1", name, sizeof(name));
	cr_assert_str_eq(name, "kworker-0-1");
	match_workload_name(NULL, "..", name, sizeof(name));
	cr_assert_str_eq(name, "--");
	match_workload_name(NULL, "a b.c", name, sizeof(name));
	cr_assert_str_eq(name, "a-b-c");
	cr_assert(config_name_valid(name));
}

Test(match, workload_name_of_long_comm_is_cut_to_15)
{
	char name[TRIAGE_NAME_MAX];

	match_workload_name(NULL, "a_very_long_process_name", name, sizeof(name));
	cr_assert_str_eq(name, "a_very_long_pro");
	cr_assert_eq(strlen(name), 15);
	cr_assert(config_name_valid(name));
}

Test(match, workload_name_of_empty_comm_is_still_valid)
{
	char name[TRIAGE_NAME_MAX];

	match_workload_name(NULL, "", name, sizeof(name));
	cr_assert(config_name_valid(name), "got \"%s\"", name);
	match_workload_name(NULL, NULL, name, sizeof(name));
	cr_assert(config_name_valid(name), "got \"%s\"", name);
}

Test(match, workload_name_respects_a_short_buffer)
{
	char name[5];

	match_workload_name(NULL, "detector", name, sizeof(name));
	cr_assert_str_eq(name, "dete");
}

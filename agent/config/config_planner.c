// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The "planner" object of the config: which platform model the planner
 * searches on, where the model zoo is, and how long one search may hold
 * the agent's event loop. Whether a named model exists is a question for
 * the zoo, asked when the agent starts (agent_plan.c), not here: parsing
 * stays free of file system lookups.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config_planner.h"

static const char *const planner_keys[] = {
	"enabled", "platform", "models_dir", "platforms_dir", "replan_ms", "budget_ms",
	"iterations", "seed", "floor", "rank_decay", NULL,
};

void config_planner_defaults(struct planner_cfg *pl)
{
	*pl = (struct planner_cfg){
		.enabled = true,
		.platform = "auto",
		.replan_ms = 5000,
		.budget_ms = 10,
		.iterations = 2000,
		.seed = 1,
		.floor = 0.1,
		.rank_decay = 0.5,
	};
}

bool config_model_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (len < 1 || len >= CONFIG_MODEL_MAX || name[0] == '.')
		return false;
	for (const char *c = name; *c; c++) {
		bool allowed = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
			       *c == '-' || *c == '.';

		if (!allowed)
			return false;
	}
	return true;
}

int config_get_model_name(struct json_check *jc, struct json_object *val, const char *path,
			  char out[CONFIG_MODEL_MAX])
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	const char *str;

	if (json_check_string(jc, val, path, &str))
		return -1;
	if (!config_model_name_valid(str))
		return json_check_fail(jc, path,
				       "must be a name of 1..%d characters from a-z, 0-9, '_', '-' and '.', got %s",
				       CONFIG_MODEL_MAX - 1, json_check_describe(val, buf));
	snprintf(out, CONFIG_MODEL_MAX, "%s", str);
	return 0;
}

/* "" leaves the choice to the reader, which knows where the build and the
 * install put its files; a relative path is taken from the agent's working
 * directory. */
static int get_dir(struct json_check *jc, struct json_object *val, const char *path,
		   char out[CONFIG_PATH_MAX])
{
	const char *str;

	if (json_check_string(jc, val, path, &str))
		return -1;
	if (strlen(str) >= CONFIG_PATH_MAX)
		return json_check_fail(jc, path, "path too long (at most %d characters)",
				       CONFIG_PATH_MAX - 1);
	snprintf(out, CONFIG_PATH_MAX, "%s", str);
	return 0;
}

int config_parse_planner(struct json_check *jc, struct json_object *obj, struct planner_cfg *pl)
{
	/* A floor of 1 asks every DNN for all it gets alone: no sharing
	 * could ever be feasible. */
	static const struct json_check_range floor_range = { 0, 1, true, true };
	static const struct json_check_range decay_range = { 0, 1, true, false };
	/* Past a second the agent's 50 ms tick would visibly stall. */
	static const struct json_check_range budget_range = { 0, 1000, true, false };
	char key_path[JSON_CHECK_PATH_MAX];
	const char *path = "planner";
	struct json_object *val;

	if (json_check_object(jc, obj, path) || json_check_keys(jc, obj, path, planner_keys))
		return -1;
	if (json_check_lookup(obj, path, "enabled", &val, key_path) &&
	    json_check_bool(jc, val, key_path, &pl->enabled))
		return -1;
	if (json_check_lookup(obj, path, "platform", &val, key_path) &&
	    config_get_model_name(jc, val, key_path, pl->platform))
		return -1;
	if (json_check_lookup(obj, path, "models_dir", &val, key_path) &&
	    get_dir(jc, val, key_path, pl->models_dir))
		return -1;
	if (json_check_lookup(obj, path, "platforms_dir", &val, key_path) &&
	    get_dir(jc, val, key_path, pl->platforms_dir))
		return -1;
	if (json_check_opt_uint(jc, obj, path, "replan_ms", 100, 3600000, &pl->replan_ms) ||
	    json_check_opt_number(jc, obj, path, "budget_ms", &budget_range, &pl->budget_ms) ||
	    json_check_opt_uint(jc, obj, path, "iterations", 0, 10000000, &pl->iterations) ||
	    json_check_opt_uint(jc, obj, path, "seed", 0, UINT32_MAX, &pl->seed) ||
	    json_check_opt_number(jc, obj, path, "floor", &floor_range, &pl->floor) ||
	    json_check_opt_number(jc, obj, path, "rank_decay", &decay_range, &pl->rank_decay))
		return -1;
	return 0;
}

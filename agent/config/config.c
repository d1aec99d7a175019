// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The agent's configuration schema: which keys exist, their defaults and
 * limits, and how levels and rules fit together. A typo or an out-of-range
 * knob stops the agent at start with one line naming the key, rather than
 * being replaced by a default without a word: a scheduler that silently runs
 * with other limits than the ones written is worse than one that refuses to
 * start. The typed, checked reads of json-c values are in config_json.c.
 *
 * The text is parsed into a heap copy (struct triage_config is about 1 MiB
 * with its rule tables, too big for a thread's stack) and copied out only
 * when everything checked, so a failed load leaves the caller's config as it
 * was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpulist.h"
#include "errbuf.h"
#include "config/config.h"
#include "json_util.h"
#include "config/config_clients.h"
#include "config/config_sched.h"
#include "config/config_planner.h"
#include "triage/gpu.h"

/* Level and workload names become cgroup directory names and show up in
 * 15-character comm-sized fields, hence the short limit. */
#define CONFIG_NAME_LEN_MAX 15
/* The kernel keeps at most 15 characters of a task's comm. */
#define CONFIG_COMM_LEN_MAX 15
/* A config is a few KiB; anything this big is the wrong file. */
#define CONFIG_FILE_MAX (1 << 20)

static const char *const top_keys[] = {
	"tick_ms", "status_ms", "rule_scan_ms", "cgroup_root", "pin_dir",
	"run_dir", "levels",    "protection",   "rules",       "planner", "clients", "guard",
	"mps_pipe_dir", NULL,
};
static const char *const level_keys[] = {
	"name",     "rank",        "weight",   "cpus", "floor_cores",
	"throttle", "idle", "wait_p99_us", "intf_pct", "claim", "sched", "gpu_floor_permille",
	"mps_priority", "mps_thread_percent", NULL,
};
static const char *const protection_keys[] = {
	"period_us", "decrease", "increase_cores", "calm_ticks", "confirm_ticks", "verify_ticks",
	"hold_off_ticks", "gpu_increase_permille", "gpu_stretch", NULL,
};
static const char *const rule_keys[] = {
	"level", "workload", "match", "model", "latency_ms", NULL,
};

static const struct {
	const char *key;
	enum match_kind kind;
} match_keys[] = {
	{ "comm", MATCH_COMM },
	{ "comm_prefix", MATCH_COMM_PREFIX },
	{ "cgroup_prefix", MATCH_CGROUP_PREFIX },
};

#define NR_MATCH_KEYS (sizeof(match_keys) / sizeof(match_keys[0]))

static int get_name(struct json_check *jc, struct json_object *val, const char *path,
		    char out[TRIAGE_NAME_MAX])
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	const char *str;

	if (json_check_string(jc, val, path, &str))
		return -1;
	if (!config_name_valid(str))
		return json_check_fail(jc, path,
				       "must be a name of 1..%d characters from a-z, 0-9, '_' and '-', got %s",
				       CONFIG_NAME_LEN_MAX, json_check_describe(val, buf));
	snprintf(out, TRIAGE_NAME_MAX, "%s", str);
	return 0;
}

static int get_abs_path(struct json_check *jc, struct json_object *val, const char *path,
			char out[CONFIG_PATH_MAX])
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	const char *str;

	if (json_check_string(jc, val, path, &str))
		return -1;
	if (str[0] != '/')
		return json_check_fail(jc, path, "must be an absolute path, got %s",
				       json_check_describe(val, buf));
	if (strlen(str) >= CONFIG_PATH_MAX)
		return json_check_fail(jc, path, "path too long (at most %d characters)",
				       CONFIG_PATH_MAX - 1);
	snprintf(out, CONFIG_PATH_MAX, "%s", str);
	return 0;
}

static int get_cpu_list(struct json_check *jc, struct json_object *val, const char *path,
			char out[CONFIG_CPUS_MAX])
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	const char *str;

	if (json_check_string(jc, val, path, &str))
		return -1;
	if (strlen(str) >= CONFIG_CPUS_MAX)
		return json_check_fail(jc, path, "CPU list too long (at most %d characters)",
				       CONFIG_CPUS_MAX - 1);
	if (cpulist_parse(str, strlen(str), TRIAGE_MAX_CPUS, 0, NULL) < 0)
		return json_check_fail(jc, path,
				       "must be a CPU list such as \"0-3,6\" (CPUs 0..%d, \"\" for all), got %s",
				       TRIAGE_MAX_CPUS - 1, json_check_describe(val, buf));
	snprintf(out, CONFIG_CPUS_MAX, "%s", str);
	return 0;
}

static int parse_level(struct json_check *jc, struct json_object *obj, const char *path,
		       struct level_cfg *level)
{
	/* A floor of 0 cores would let the protection loop starve a DNN. */
	static const struct json_check_range floor_range = { 0, 64, true, false };
	static const struct json_check_range pct_range = { 0, 100, false, false };
	char key_path[JSON_CHECK_PATH_MAX];
	struct json_object *val;
	unsigned rank;

	if (json_check_object(jc, obj, path) || json_check_keys(jc, obj, path, level_keys))
		return -1;

	*level = (struct level_cfg){ .weight = 100,
				     .floor_cores = 0.1,
				     .gpu_floor_permille = CONFIG_GPU_FLOOR_PERMILLE_DEFAULT };
	config_sched_defaults(&level->sched);

	if (json_check_require(jc, obj, path, "name", &val, key_path) ||
	    get_name(jc, val, key_path, level->name))
		return -1;
	if (json_check_require(jc, obj, path, "rank", &val, key_path) ||
	    json_check_uint(jc, val, key_path, 1, TRIAGE_MAX_LEVELS, &rank))
		return -1;
	level->rank = (int)rank;
	/* MPS serves the critical level's clients first: rank 1 at MPS's
	 * normal priority (0), every other level below it (1). */
	level->mps_priority = rank == 1 ? 0 : 1;

	if (json_check_opt_uint(jc, obj, path, "weight", 1, 10000, &level->weight))
		return -1;
	if (json_check_lookup(obj, path, "cpus", &val, key_path) &&
	    get_cpu_list(jc, val, key_path, level->cpus))
		return -1;
	if (json_check_opt_number(jc, obj, path, "floor_cores", &floor_range, &level->floor_cores))
		return -1;
	if (json_check_opt_uint(jc, obj, path, "gpu_floor_permille", 0, TRIAGE_GPU_SHARE_FULL,
				&level->gpu_floor_permille))
		return -1;
	if (json_check_opt_uint(jc, obj, path, "mps_priority", 0, 1, &level->mps_priority) ||
	    json_check_opt_uint(jc, obj, path, "mps_thread_percent", 1, 100,
				&level->mps_thread_percent))
		return -1;
	if (json_check_lookup(obj, path, "throttle", &val, key_path) &&
	    json_check_bool(jc, val, key_path, &level->throttle))
		return -1;
	if (json_check_lookup(obj, path, "idle", &val, key_path) &&
	    json_check_bool(jc, val, key_path, &level->idle))
		return -1;
	if (json_check_opt_uint(jc, obj, path, "wait_p99_us", 0, 10000000, &level->wait_p99_us))
		return -1;
	if (json_check_opt_number(jc, obj, path, "intf_pct", &pct_range, &level->intf_pct))
		return -1;
	if (json_check_lookup(obj, path, "claim", &val, key_path) &&
	    config_parse_claim(jc, val, key_path, &level->claim))
		return -1;
	/* After "idle": the class is checked against it. */
	if (json_check_lookup(obj, path, "sched", &val, key_path) &&
	    config_parse_sched(jc, val, key_path, level))
		return -1;
	return 0;
}

static void sort_levels_by_rank(struct level_cfg *levels, int nr)
{
	for (int i = 1; i < nr; i++) {
		struct level_cfg moving = levels[i];
		int j = i;

		for (; j > 0 && levels[j - 1].rank > moving.rank; j--)
			levels[j] = levels[j - 1];
		levels[j] = moving;
	}
}

static int parse_levels(struct json_check *jc, struct json_object *arr, struct triage_config *cfg)
{
	char path[JSON_CHECK_PATH_MAX];
	char key_path[JSON_CHECK_PATH_MAX];
	size_t nr;

	if (json_check_array(jc, arr, "levels"))
		return -1;
	nr = json_object_array_length(arr);
	if (nr < 1 || nr > TRIAGE_MAX_LEVELS)
		return json_check_fail(jc, "levels", "must hold 1..%d levels, got %zu",
				       TRIAGE_MAX_LEVELS, nr);

	for (size_t i = 0; i < nr; i++) {
		struct level_cfg *level = &cfg->levels[i];

		json_check_index_path(path, "levels", i);
		if (parse_level(jc, json_object_array_get_idx(arr, i), path, level))
			return -1;
		/* Checked in file order, so the message points at the later one. */
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(cfg->levels[j].name, level->name)) {
				json_check_key_path(key_path, path, "name");
				return json_check_fail(jc, key_path,
						       "duplicate name \"%s\" (already used by levels[%zu])",
						       level->name, j);
			}
			if (cfg->levels[j].rank == level->rank) {
				json_check_key_path(key_path, path, "rank");
				return json_check_fail(jc, key_path,
						       "duplicate rank %d (already used by levels[%zu], \"%s\")",
						       level->rank, j, cfg->levels[j].name);
			}
		}
	}
	cfg->nr_levels = (int)nr;
	sort_levels_by_rank(cfg->levels, cfg->nr_levels);
	return 0;
}

static int parse_protection(struct json_check *jc, struct json_object *obj,
			    struct protection_cfg *prot)
{
	/* A factor of 0 would zero a quota at once, 1 would never cut it. */
	static const struct json_check_range decrease_range = { 0, 1, true, true };
	static const struct json_check_range increase_range = { 0, 64, true, false };
	/* At 1 every burst would be a miss; past 100 none ever would. */
	static const struct json_check_range stretch_range = { 1, 100, true, false };
	const char *path = "protection";

	if (json_check_object(jc, obj, path) || json_check_keys(jc, obj, path, protection_keys))
		return -1;
	if (json_check_opt_uint(jc, obj, path, "period_us", 1000, 1000000, &prot->period_us) ||
	    json_check_opt_number(jc, obj, path, "decrease", &decrease_range, &prot->decrease) ||
	    json_check_opt_number(jc, obj, path, "increase_cores", &increase_range,
				  &prot->increase_cores) ||
	    json_check_opt_uint(jc, obj, path, "calm_ticks", 0, 1000, &prot->calm_ticks) ||
	    json_check_opt_uint(jc, obj, path, "confirm_ticks", 1, 1000, &prot->confirm_ticks) ||
	    json_check_opt_uint(jc, obj, path, "verify_ticks", 1, 10000, &prot->verify_ticks) ||
	    json_check_opt_uint(jc, obj, path, "hold_off_ticks", 1, 100000, &prot->hold_off_ticks) ||
	    json_check_opt_uint(jc, obj, path, "gpu_increase_permille", 1, TRIAGE_GPU_SHARE_FULL,
				&prot->gpu_increase_permille) ||
	    json_check_opt_number(jc, obj, path, "gpu_stretch", &stretch_range, &prot->gpu_stretch))
		return -1;
	return 0;
}

static int parse_match_value(struct json_check *jc, struct json_object *val, const char *path,
			     struct match_term *term)
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	const char *str;

	if (!json_object_is_type(val, json_type_string) || !json_object_get_string_len(val))
		return json_check_fail(jc, path, "must be a non-empty string, got %s",
				       json_check_describe(val, buf));
	if (json_check_string(jc, val, path, &str))
		return -1;
	if (term->kind == MATCH_CGROUP_PREFIX) {
		if (str[0] != '/')
			return json_check_fail(jc, path,
					       "must be a cgroup path starting with '/', got %s",
					       json_check_describe(val, buf));
		if (strlen(str) >= CONFIG_PATH_MAX)
			return json_check_fail(jc, path, "too long (at most %d characters)",
					       CONFIG_PATH_MAX - 1);
	} else if (strlen(str) > CONFIG_COMM_LEN_MAX) {
		return json_check_fail(jc, path,
				       "longer than %d characters, so it can never match (the kernel cuts comm to %d)",
				       CONFIG_COMM_LEN_MAX, CONFIG_COMM_LEN_MAX);
	}
	snprintf(term->value, sizeof(term->value), "%s", str);
	return 0;
}

static int parse_match_term(struct json_check *jc, struct json_object *obj, const char *path,
			    struct match_term *term)
{
	char value_path[JSON_CHECK_PATH_MAX];
	int nr_keys;

	if (json_check_object(jc, obj, path))
		return -1;
	nr_keys = json_object_object_length(obj);
	if (nr_keys != 1)
		return json_check_fail(jc, path,
				       "a match term has exactly one key (comm, comm_prefix or cgroup_prefix), got %d; put several terms in one set to AND them",
				       nr_keys);

	json_object_object_foreach(obj, key, val)
	{
		size_t k;

		for (k = 0; k < NR_MATCH_KEYS; k++)
			if (!strcmp(key, match_keys[k].key))
				break;
		if (k == NR_MATCH_KEYS)
			return json_check_fail(jc, path,
					       "unknown match key \"%.64s\" (expected comm, comm_prefix or cgroup_prefix)",
					       key);
		term->kind = match_keys[k].kind;
		json_check_key_path(value_path, path, key);
		if (parse_match_value(jc, val, value_path, term))
			return -1;
	}
	return 0;
}

static int parse_match(struct json_check *jc, struct json_object *arr, const char *path,
		       struct rule_cfg *rule)
{
	char set_path[JSON_CHECK_PATH_MAX];
	char term_path[JSON_CHECK_PATH_MAX];
	size_t nr_sets;

	if (json_check_array(jc, arr, path))
		return -1;
	nr_sets = json_object_array_length(arr);
	if (nr_sets < 1 || nr_sets > CONFIG_MAX_SETS)
		return json_check_fail(jc, path, "must hold 1..%d match sets (OR-ed), got %zu",
				       CONFIG_MAX_SETS, nr_sets);

	for (size_t s = 0; s < nr_sets; s++) {
		struct json_object *set_arr = json_object_array_get_idx(arr, s);
		struct match_set *set = &rule->sets[s];
		size_t nr_terms;

		json_check_index_path(set_path, path, s);
		if (json_check_array(jc, set_arr, set_path))
			return -1;
		nr_terms = json_object_array_length(set_arr);
		/* An empty AND set would hold for every process on the host. */
		if (nr_terms < 1 || nr_terms > CONFIG_MAX_TERMS)
			return json_check_fail(jc, set_path,
					       "must hold 1..%d match terms (AND-ed), got %zu",
					       CONFIG_MAX_TERMS, nr_terms);
		for (size_t t = 0; t < nr_terms; t++) {
			json_check_index_path(term_path, set_path, t);
			if (parse_match_term(jc, json_object_array_get_idx(set_arr, t), term_path,
					     &set->terms[t]))
				return -1;
		}
		set->nr_terms = (int)nr_terms;
	}
	rule->nr_sets = (int)nr_sets;
	return 0;
}

/* Runs after the levels are sorted, so rule->level indexes the sorted array. */
static int parse_rule(struct json_check *jc, struct json_object *obj, const char *path,
		      const struct triage_config *cfg, struct rule_cfg *rule)
{
	static const struct json_check_range latency_range = { 0, 60000, true, false };
	char configured[TRIAGE_MAX_LEVELS * (TRIAGE_NAME_MAX + 2)] = "";
	char key_path[JSON_CHECK_PATH_MAX];
	char buf[JSON_CHECK_DESCRIBE_MAX];
	struct json_object *val;
	const char *level_name;
	size_t used = 0;

	if (json_check_object(jc, obj, path) || json_check_keys(jc, obj, path, rule_keys))
		return -1;

	if (json_check_require(jc, obj, path, "level", &val, key_path) ||
	    json_check_string(jc, val, key_path, &level_name))
		return -1;
	rule->level = config_level_index(cfg, level_name);
	if (rule->level < 0) {
		for (int i = 0; i < cfg->nr_levels; i++)
			used += snprintf(configured + used, sizeof(configured) - used, "%s%s",
					 i ? ", " : "", cfg->levels[i].name);
		return json_check_fail(jc, key_path,
				       "%s is not a configured level (configured: %s)",
				       json_check_describe(val, buf), configured);
	}

	if (json_check_lookup(obj, path, "workload", &val, key_path) &&
	    get_name(jc, val, key_path, rule->workload))
		return -1;

	if (json_check_lookup(obj, path, "model", &val, key_path) &&
	    config_get_model_name(jc, val, key_path, rule->model))
		return -1;
	if (json_check_opt_number(jc, obj, path, "latency_ms", &latency_range, &rule->latency_ms))
		return -1;
	/* A target on a workload the planner cannot model would be ignored
	 * without a word. */
	if (rule->latency_ms > 0 && !rule->model[0]) {
		json_check_key_path(key_path, path, "latency_ms");
		return json_check_fail(jc, key_path, "a latency target needs a \"model\" in the same rule");
	}

	if (json_check_require(jc, obj, path, "match", &val, key_path))
		return -1;
	return parse_match(jc, val, key_path, rule);
}

static int parse_rules(struct json_check *jc, struct json_object *arr, struct triage_config *cfg)
{
	char path[JSON_CHECK_PATH_MAX];
	size_t nr;

	if (json_check_array(jc, arr, "rules"))
		return -1;
	nr = json_object_array_length(arr);
	if (nr > CONFIG_MAX_RULES)
		return json_check_fail(jc, "rules", "at most %d rules, got %zu", CONFIG_MAX_RULES,
				       nr);
	for (size_t i = 0; i < nr; i++) {
		json_check_index_path(path, "rules", i);
		if (parse_rule(jc, json_object_array_get_idx(arr, i), path, cfg, &cfg->rules[i]))
			return -1;
	}
	cfg->nr_rules = (int)nr;
	return 0;
}

static void set_defaults(struct triage_config *cfg)
{
	cfg->tick_ms = 50;
	cfg->status_ms = 1000;
	cfg->rule_scan_ms = 1000;
	snprintf(cfg->cgroup_root, sizeof(cfg->cgroup_root), "triage");
	snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "/sys/fs/bpf/triage");
	snprintf(cfg->run_dir, sizeof(cfg->run_dir), "/run/triage");
	snprintf(cfg->mps_pipe_dir, sizeof(cfg->mps_pipe_dir), CONFIG_MPS_PIPE_DIR_DEFAULT);
	cfg->protection = (struct protection_cfg){
		.period_us = 100000,
		.decrease = 0.5,
		.increase_cores = 0.05,
		.calm_ticks = 4,
		.confirm_ticks = 2,
		.verify_ticks = 10,
		.hold_off_ticks = 400,
		.gpu_increase_permille = 50,
		.gpu_stretch = CONFIG_GPU_STRETCH_DEFAULT,
	};
	config_planner_defaults(&cfg->planner);
}

static int parse_root(struct json_check *jc, struct json_object *root, struct triage_config *cfg)
{
	char key_path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (json_check_keys(jc, root, "", top_keys))
		return -1;

	set_defaults(cfg);
	if (json_check_opt_uint(jc, root, "", "tick_ms", 10, 10000, &cfg->tick_ms) ||
	    json_check_opt_uint(jc, root, "", "status_ms", 100, 60000, &cfg->status_ms) ||
	    json_check_opt_uint(jc, root, "", "rule_scan_ms", 100, 60000, &cfg->rule_scan_ms))
		return -1;
	if (json_check_lookup(root, "", "cgroup_root", &val, key_path) &&
	    get_name(jc, val, key_path, cfg->cgroup_root))
		return -1;
	if (json_check_lookup(root, "", "pin_dir", &val, key_path) &&
	    get_abs_path(jc, val, key_path, cfg->pin_dir))
		return -1;
	if (json_check_lookup(root, "", "run_dir", &val, key_path) &&
	    get_abs_path(jc, val, key_path, cfg->run_dir))
		return -1;
	if (json_check_lookup(root, "", "mps_pipe_dir", &val, key_path) &&
	    get_abs_path(jc, val, key_path, cfg->mps_pipe_dir))
		return -1;

	/* Levels first whatever the key order: rules refer to them. */
	if (json_check_require(jc, root, "", "levels", &val, key_path) || parse_levels(jc, val, cfg))
		return -1;
	if (json_check_lookup(root, "", "protection", &val, key_path) &&
	    parse_protection(jc, val, &cfg->protection))
		return -1;
	if (json_check_lookup(root, "", "rules", &val, key_path) && parse_rules(jc, val, cfg))
		return -1;
	if (json_check_lookup(root, "", "planner", &val, key_path) &&
	    config_parse_planner(jc, val, &cfg->planner))
		return -1;
	if (config_parse_clients(jc, json_check_lookup(root, "", "clients", &val, key_path) ? val : NULL,
				 cfg))
		return -1;
	if (config_parse_guard(jc, json_check_lookup(root, "", "guard", &val, key_path) ? val : NULL,
			       &cfg->guard))
		return -1;
	return 0;
}

int config_parse(const char *text, const char *origin, struct triage_config *cfg, char *err,
		 size_t errlen)
{
	struct json_check jc = {
		.origin = origin ? origin : "<config>",
		.err = err,
		.errlen = errlen,
	};
	struct triage_config *parsed;
	struct json_object *root;
	int ret;

	if (!text || !cfg)
		return json_check_fail(&jc, "top level", "no text or no config to fill");
	root = json_check_parse_text(&jc, text, CONFIG_FILE_MAX);
	if (!root)
		return -1;
	parsed = calloc(1, sizeof(*parsed));
	if (!parsed) {
		json_object_put(root);
		return json_check_fail(&jc, "top level", "out of memory");
	}
	ret = parse_root(&jc, root, parsed);
	if (!ret)
		memcpy(cfg, parsed, sizeof(*cfg));
	free(parsed);
	json_object_put(root);
	return ret;
}

int config_load_file(const char *path, struct triage_config *cfg, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t used = 0;
	int ret = -1;
	int fd;

	if (!path) {
		set_error(err, errlen, "<config>: no path given");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_error(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		set_error(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		set_error(err, errlen, "%s: cannot read: %s", path, strerror(EISDIR));
		goto cleanup;
	}
	/* Read up to one byte past the limit, so an oversized file is noticed
	 * even where st_size says nothing (pipes, /proc). */
	text = malloc(CONFIG_FILE_MAX + 2);
	if (!text) {
		set_error(err, errlen, "%s: cannot read: %s", path, strerror(ENOMEM));
		goto cleanup;
	}
	while (used <= CONFIG_FILE_MAX) {
		ssize_t got = read(fd, text + used, CONFIG_FILE_MAX + 1 - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			set_error(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto cleanup;
		}
		if (!got)
			break;
		used += (size_t)got;
	}
	if (used > CONFIG_FILE_MAX) {
		set_error(err, errlen, "%s: file too large (over %d bytes)", path, CONFIG_FILE_MAX);
		goto cleanup;
	}
	text[used] = '\0';
	if (strlen(text) != used) {
		set_error(err, errlen, "%s: contains a NUL byte (not a JSON text file?)", path);
		goto cleanup;
	}
	ret = config_parse(text, path, cfg, err, errlen);
cleanup:
	free(text);
	close(fd);
	return ret;
}

int config_load_default(struct triage_config *cfg, char *err, size_t errlen)
{
	return config_parse(config_default_json, "<embedded default>", cfg, err, errlen);
}

int config_level_index(const struct triage_config *cfg, const char *name)
{
	if (!cfg || !name)
		return -1;
	for (int i = 0; i < cfg->nr_levels; i++)
		if (!strcmp(cfg->levels[i].name, name))
			return i;
	return -1;
}

bool config_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (len < 1 || len > CONFIG_NAME_LEN_MAX)
		return false;
	/* '.' is outside the set anyway; kept explicit since these become
	 * directory names and must never walk out of the cgroup tree. */
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++) {
		bool allowed = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			       *c == '_' || *c == '-';

		if (!allowed)
			return false;
	}
	return true;
}

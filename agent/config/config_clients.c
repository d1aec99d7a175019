// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Who may claim which level, read from the config. Users and groups are
 * named or numbered; names are resolved here, at load, so that the agent
 * never asks NSS from its loop and a name that does not exist is an error
 * with its key path, not a level nobody can reach.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "config/config_clients.h"

static const char *const claim_keys[] = { "users", "groups", NULL };
static const char *const clients_keys[] = { "open_level", "max_per_user", "max_new_per_tick",
					    NULL };

/* Ids up to 2^31 - 1: what a uid_t or gid_t can hold without reaching
 * (uid_t)-1, which means "no change" to the kernel. */
#define CLAIM_ID_MAX 0x7fffffff

static int resolve(struct json_check *jc, struct json_object *val, const char *path, bool group,
		   unsigned *out)
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	const char *name;

	if (json_object_is_type(val, json_type_int))
		return json_check_uint(jc, val, path, 0, CLAIM_ID_MAX, out);
	if (!json_object_is_type(val, json_type_string))
		return json_check_fail(jc, path, "must be a %s name or number, got %s",
				       group ? "group" : "user", json_check_describe(val, buf));
	if (json_check_string(jc, val, path, &name))
		return -1;
	if (group) {
		struct group *g = getgrnam(name);

		if (!g)
			return json_check_fail(jc, path, "no group \"%s\" on this system", name);
		*out = (unsigned)g->gr_gid;
	} else {
		struct passwd *p = getpwnam(name);

		if (!p)
			return json_check_fail(jc, path, "no user \"%s\" on this system", name);
		*out = (unsigned)p->pw_uid;
	}
	return 0;
}

static int parse_ids(struct json_check *jc, struct json_object *obj, const char *parent,
		     const char *key, bool group, unsigned *ids, int *nr)
{
	char path[JSON_CHECK_PATH_MAX], item[JSON_CHECK_PATH_MAX];
	struct json_object *arr;
	size_t n;

	*nr = 0;
	if (!json_check_lookup(obj, parent, key, &arr, path))
		return 0;
	if (json_check_array(jc, arr, path))
		return -1;
	n = json_object_array_length(arr);
	if (n > CONFIG_MAX_CLAIM_IDS)
		return json_check_fail(jc, path, "at most %d entries, got %zu", CONFIG_MAX_CLAIM_IDS,
				       n);
	for (size_t i = 0; i < n; i++) {
		json_check_index_path(item, path, i);
		if (resolve(jc, json_object_array_get_idx(arr, i), item, group, &ids[i]))
			return -1;
	}
	*nr = (int)n;
	return 0;
}

int config_parse_claim(struct json_check *jc, struct json_object *obj, const char *path,
		       struct claim_cfg *claim)
{
	memset(claim, 0, sizeof(*claim));
	if (json_check_object(jc, obj, path) || json_check_keys(jc, obj, path, claim_keys))
		return -1;
	if (parse_ids(jc, obj, path, "users", false, claim->uids, &claim->nr_uids) ||
	    parse_ids(jc, obj, path, "groups", true, claim->gids, &claim->nr_gids))
		return -1;
	return 0;
}

int config_parse_clients(struct json_check *jc, struct json_object *obj,
			 struct triage_config *cfg)
{
	struct clients_cfg *cl = &cfg->clients;
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;
	const char *name;

	/* The defaults: everyone up to "normal" (else only the least
	 * important level), 64 clients a user, 16 new files a tick. */
	cl->open_level = config_level_index(cfg, "normal");
	if (cl->open_level < 0)
		cl->open_level = cfg->nr_levels - 1;
	cl->max_per_user = 64;
	cl->max_new_per_tick = 16;
	if (obj) {
		if (json_check_object(jc, obj, "clients") ||
		    json_check_keys(jc, obj, "clients", clients_keys))
			return -1;
		if (json_check_lookup(obj, "clients", "open_level", &val, path)) {
			if (json_check_string(jc, val, path, &name))
				return -1;
			cl->open_level = config_level_index(cfg, name);
			if (cl->open_level < 0)
				return json_check_fail(jc, path, "no level \"%s\"", name);
		}
		if (json_check_opt_uint(jc, obj, "clients", "max_per_user", 1, 4096,
					&cl->max_per_user) ||
		    json_check_opt_uint(jc, obj, "clients", "max_new_per_tick", 1, 4096,
					&cl->max_new_per_tick))
			return -1;
	}
	/* Sorted by rank: what comes after the open level matters less. */
	for (int i = 0; i < cfg->nr_levels; i++)
		cfg->levels[i].claim.anyone = i >= cl->open_level;
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The client policy's part of the config schema: each level's "claim"
 * (who may put a process there) and the "clients" object (the level
 * everyone may claim, limits per user and per tick), kept beside config.c
 * like the planner's part.
 */
#ifndef TRIAGE_CONFIG_CLIENTS_H
#define TRIAGE_CONFIG_CLIENTS_H

#include "config/config.h"
#include "json_util.h"

/* levels[i].claim: {"users": [name or uid, ...], "groups": [name or gid, ...]}. */
int config_parse_claim(struct json_check *jc, struct json_object *obj, const char *path,
		       struct claim_cfg *claim);

/* The "clients" object (obj NULL: absent), once the levels are sorted;
 * sets every level's claim.anyone from its open_level. */
int config_parse_clients(struct json_check *jc, struct json_object *obj,
			 struct triage_config *cfg);

#endif

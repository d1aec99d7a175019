/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The planner's part of the config schema (the "planner" object and the
 * model names rules carry), kept beside config.c so that file stays the
 * schema of levels, protection and rules.
 */
#ifndef TRIAGE_CONFIG_PLANNER_H
#define TRIAGE_CONFIG_PLANNER_H

#include "config/config.h"
#include "json_util.h"

void config_planner_defaults(struct planner_cfg *pl);

int config_parse_planner(struct json_check *jc, struct json_object *obj, struct planner_cfg *pl);

/* A model or platform name (config_model_name_valid) into out. */
int config_get_model_name(struct json_check *jc, struct json_object *val, const char *path,
			  char out[CONFIG_MODEL_MAX]);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Rules put existing processes into a level: OR of AND match sets, as
 * scx_layered's layer matches. Pure functions; /proc reading is elsewhere. */
#ifndef TRIAGE_MATCH_H
#define TRIAGE_MATCH_H

#include <stdbool.h>

#include "config/config.h"

struct proc_facts {
	const char *comm;   /* /proc/PID/comm without the newline */
	const char *cgroup; /* path in the unified hierarchy, else the v1 cpu one */
};

bool match_set_holds(const struct match_set *set, const struct proc_facts *p);

/* Index of the first rule whose any set holds, or -1. */
int match_rules(const struct triage_config *cfg, const struct proc_facts *p);

/* Workload name for a matched process: the rule's, else the comm made a
 * valid name (lowercase, other characters to '-', at most 15). */
void match_workload_name(const struct rule_cfg *rule, const char *comm, char *out, size_t len);

#endif

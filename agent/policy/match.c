// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Rule matching: decides which configured rule, if any, claims a process
 * from its comm and cgroup path, and what its workload is called. Pure
 * string work so it is tested without /proc; the scanner feeds it facts.
 */
#include <stdio.h>
#include <string.h>

#include "policy/match.h"

/* Same limit as config_name_valid(): workload names become cgroup
 * directories and 15-character fields. */
#define WORKLOAD_NAME_LEN_MAX 15

static bool starts_with(const char *str, const char *prefix)
{
	return !strncmp(str, prefix, strlen(prefix));
}

static bool match_term_holds(const struct match_term *term, const struct proc_facts *p)
{
	/* An unknown fact (process gone, cgroup unreadable) never matches:
	 * a rule must not grab a process on missing evidence. */
	switch (term->kind) {
	case MATCH_COMM:
		return p->comm && !strcmp(p->comm, term->value);
	case MATCH_COMM_PREFIX:
		return p->comm && starts_with(p->comm, term->value);
	case MATCH_CGROUP_PREFIX:
		return p->cgroup && starts_with(p->cgroup, term->value);
	}
	return false;
}

bool match_set_holds(const struct match_set *set, const struct proc_facts *p)
{
	/* An empty set would hold for every process on the host; the config
	 * parser refuses one, and a zeroed set must not slip through either. */
	if (!set || !p || set->nr_terms <= 0 || set->nr_terms > CONFIG_MAX_TERMS)
		return false;
	for (int i = 0; i < set->nr_terms; i++)
		if (!match_term_holds(&set->terms[i], p))
			return false;
	return true;
}

int match_rules(const struct triage_config *cfg, const struct proc_facts *p)
{
	if (!cfg || !p)
		return -1;
	for (int r = 0; r < cfg->nr_rules && r < CONFIG_MAX_RULES; r++) {
		const struct rule_cfg *rule = &cfg->rules[r];

		for (int s = 0; s < rule->nr_sets && s < CONFIG_MAX_SETS; s++)
			if (match_set_holds(&rule->sets[s], p))
				return r;
	}
	return -1;
}

void match_workload_name(const struct rule_cfg *rule, const char *comm, char *out, size_t len)
{
	size_t n = 0;

	if (!out || !len)
		return;
	if (rule && rule->workload[0]) {
		snprintf(out, len, "%s", rule->workload);
		return;
	}
	/* Kernel comms hold anything ("kworker/0:1", "Chrome_IOThread"); the
	 * result must still be a valid cgroup directory name. */
	for (; comm && comm[n] && n < WORKLOAD_NAME_LEN_MAX && n + 1 < len; n++) {
		char c = comm[n];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			c = '-';
		out[n] = c;
	}
	out[n] = '\0';
	if (!n)
		snprintf(out, len, "unnamed");
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Applies the configured rules to running processes (see docs/config.md). */
#ifndef TRIAGE_RULES_SCAN_H
#define TRIAGE_RULES_SCAN_H

#include <stdbool.h>

#include "policy/workloads.h"

/* Walks /proc and moves every user process that no triage cgroup holds yet
 * and that a rule matches into its workload. Returns how many it moved. */
int rules_scan(struct workloads *reg);

/* Whether a cgroup path lies inside the triage tree "/<root>/...". */
bool rules_path_in_root(const char *path, const char *root);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Who may ask for what. A process reaches a level through libtriage, a
 * rule or triagectl; whatever the way, the level is granted by the
 * configuration's client policy (claim_cfg of each level), not taken:
 * root may claim any level, like CAP_SYS_NICE for real-time classes;
 * everyone else the levels at or below clients.open_level ("normal" by
 * default) and those whose claim names the user or one of its groups.
 */
#ifndef TRIAGE_POLICY_CLAIM_H
#define TRIAGE_POLICY_CLAIM_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/config.h"

#define CLAIM_MAX_GROUPS 64

/* The credentials a claim is judged on: the effective uid, the effective
 * gid and the supplementary groups. */
struct claimant {
	unsigned uid;
	int nr_gids;
	unsigned gids[CLAIM_MAX_GROUPS + 1];
};

/* From the text of /proc/PID/status ("Uid:", "Gid:", "Groups:" lines);
 * 0, or -EINVAL when a line is missing or malformed. Groups past
 * CLAIM_MAX_GROUPS are left out. */
int claimant_parse_status(const char *status, struct claimant *c);

/* Of a live process: 0, or -errno (-ESRCH when it is gone). */
int claimant_of_pid(pid_t pid, struct claimant *c);

/* Root, who may claim anything. */
void claimant_root(struct claimant *c);

/* Whether c may claim the level of index level. */
bool claim_allowed(const struct triage_config *cfg, int level, const struct claimant *c);

/* The most important level, at or below asked (a larger index), that c may
 * claim: asked itself when it may. Never fails: the least important level
 * is always at or below the open level. */
int claim_grant(const struct triage_config *cfg, int asked, const struct claimant *c);

#endif

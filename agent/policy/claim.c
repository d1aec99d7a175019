// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "policy/claim.h"

/* The second field of a "Uid:" or "Gid:" line: real, effective, saved, fs. */
static int effective_id(const char *status, const char *key, unsigned *out)
{
	const char *line = strstr(status, key);
	unsigned long real, effective;
	char *end;

	if (!line || (line != status && line[-1] != '\n'))
		return -EINVAL;
	line += strlen(key);
	real = strtoul(line, &end, 10);
	if (end == line)
		return -EINVAL;
	line = end;
	effective = strtoul(line, &end, 10);
	if (end == line || real > 0xffffffffUL || effective > 0xffffffffUL)
		return -EINVAL;
	*out = (unsigned)effective;
	return 0;
}

int claimant_parse_status(const char *status, struct claimant *c)
{
	const char *groups;
	unsigned gid;

	memset(c, 0, sizeof(*c));
	if (effective_id(status, "Uid:", &c->uid) || effective_id(status, "Gid:", &gid))
		return -EINVAL;
	c->gids[c->nr_gids++] = gid;
	groups = strstr(status, "\nGroups:");
	if (!groups)
		return -EINVAL;
	groups += strlen("\nGroups:");
	while (*groups && *groups != '\n' && c->nr_gids < CLAIM_MAX_GROUPS + 1) {
		char *end;
		unsigned long g;

		while (*groups == ' ' || *groups == '\t')
			groups++;
		if (*groups == '\n' || !*groups)
			break;
		g = strtoul(groups, &end, 10);
		if (end == groups || g > 0xffffffffUL)
			return -EINVAL;
		/* A number cut by the end of the text may be another group's
		 * prefix ("1000" read as "10"): only whole ones count. */
		if (!*end)
			break;
		c->gids[c->nr_gids++] = (unsigned)g;
		groups = end;
	}
	return 0;
}

int claimant_of_pid(pid_t pid, struct claimant *c)
{
	char path[64], status[16384];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	err = read_text(path, status, sizeof(status));
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	return claimant_parse_status(status, c);
}

void claimant_root(struct claimant *c)
{
	memset(c, 0, sizeof(*c));
	c->nr_gids = 1;
}

static bool listed(const unsigned *ids, int nr, unsigned id)
{
	for (int i = 0; i < nr; i++)
		if (ids[i] == id)
			return true;
	return false;
}

bool claim_allowed(const struct triage_config *cfg, int level, const struct claimant *c)
{
	const struct claim_cfg *cl;

	if (level < 0 || level >= cfg->nr_levels)
		return false;
	cl = &cfg->levels[level].claim;
	if (c->uid == 0 || cl->anyone || listed(cl->uids, cl->nr_uids, c->uid))
		return true;
	for (int g = 0; g < c->nr_gids; g++)
		if (listed(cl->gids, cl->nr_gids, c->gids[g]))
			return true;
	return false;
}

int claim_grant(const struct triage_config *cfg, int asked, const struct claimant *c)
{
	for (int level = asked; level < cfg->nr_levels; level++)
		if (claim_allowed(cfg, level, c))
			return level;
	return cfg->nr_levels - 1;
}

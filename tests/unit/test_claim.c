// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The client policy (agent/policy/claim.h, its config in
 * agent/config/config_clients.c): credentials from /proc, who may claim
 * which level, and the level granted in place of one that may not be. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "policy/claim.h"

#define STATUS(uid, gid, groups)                                                 \
	"Name:\tdetector\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\n" \
	"Uid:\t" uid "\nGid:\t" gid "\nFDSize:\t64\nGroups:\t" groups "\nVmPeak:\t1 kB\n"

static struct triage_config cfg;

static void load(const char *extra_levels, const char *clients)
{
	char json[2048], err[256];

	snprintf(json, sizeof(json),
		 "{\"levels\": ["
		 "{\"name\": \"critical\", \"rank\": 1 %s},"
		 "{\"name\": \"high\", \"rank\": 2},"
		 "{\"name\": \"normal\", \"rank\": 3},"
		 "{\"name\": \"best-effort\", \"rank\": 4}] %s}",
		 extra_levels, clients);
	cr_assert_eq(config_parse(json, "test.json", &cfg, err, sizeof(err)), 0, "%s", err);
}

static struct claimant user(unsigned uid, unsigned gid)
{
	struct claimant c = { .uid = uid, .nr_gids = 1, .gids = { gid } };

	return c;
}

Test(claim, status_gives_effective_ids_and_groups)
{
	struct claimant c;

	cr_assert_eq(claimant_parse_status(STATUS("1000\t1001\t1000\t1001", "100\t44\t100\t44",
						  "44 27 1000 "),
					   &c),
		     0);
	cr_assert_eq(c.uid, 1001, "the effective uid");
	cr_assert_eq(c.nr_gids, 4);
	cr_assert_eq(c.gids[0], 44, "the effective gid first");
	cr_assert_eq(c.gids[1], 44);
	cr_assert_eq(c.gids[2], 27);
	cr_assert_eq(c.gids[3], 1000);
	cr_assert_eq(claimant_parse_status(STATUS("0\t0\t0\t0", "0\t0\t0\t0", ""), &c), 0);
	cr_assert_eq(c.nr_gids, 1, "no supplementary groups");
	cr_assert_eq(claimant_parse_status("Name:\tx\nGid:\t1\t1\t1\t1\nGroups:\t\n", &c), -EINVAL,
		     "no Uid line");
	cr_assert_eq(claimant_parse_status("Name:\tx\nUid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\n", &c),
		     -EINVAL, "no Groups line");
}

Test(claim, a_group_cut_by_the_end_of_the_text_is_left_out)
{
	struct claimant c;
	const char *text = "Uid:\t5\t5\t5\t5\nGid:\t5\t5\t5\t5\nGroups:\t7 10";

	cr_assert_eq(claimant_parse_status(text, &c), 0);
	cr_assert_eq(c.nr_gids, 2, "\"10\" may be the start of \"1000\"");
	cr_assert_eq(c.gids[1], 7);
}

Test(claim, this_process)
{
	struct claimant c;

	cr_assert_eq(claimant_of_pid(getpid(), &c), 0);
	cr_assert_eq(c.uid, (unsigned)geteuid());
	cr_assert_eq(c.gids[0], (unsigned)getegid());
	cr_assert_eq(claimant_of_pid(0x7ffffff0, &c), -ESRCH);
}

Test(claim, default_policy_root_anything_others_up_to_normal)
{
	struct claimant root, nobody = user(65534, 65534);
	int critical, normal, best;

	load("", "");
	claimant_root(&root);
	critical = config_level_index(&cfg, "critical");
	normal = config_level_index(&cfg, "normal");
	best = config_level_index(&cfg, "best-effort");
	cr_assert_eq(cfg.clients.open_level, normal);
	cr_assert_eq(cfg.clients.max_per_user, 64);
	for (int l = 0; l < cfg.nr_levels; l++) {
		cr_assert(claim_allowed(&cfg, l, &root), "root, level %d", l);
		cr_assert_eq(claim_allowed(&cfg, l, &nobody), l >= normal, "nobody, level %d", l);
	}
	cr_assert_eq(claim_grant(&cfg, critical, &root), critical);
	cr_assert_eq(claim_grant(&cfg, critical, &nobody), normal, "capped to normal");
	cr_assert_eq(claim_grant(&cfg, config_level_index(&cfg, "high"), &nobody), normal);
	cr_assert_eq(claim_grant(&cfg, best, &nobody), best, "never lifted above what it asked");
	cr_assert_not(claim_allowed(&cfg, -1, &root));
	cr_assert_not(claim_allowed(&cfg, cfg.nr_levels, &root));
}

Test(claim, users_and_groups_named_per_level)
{
	struct claimant alice = user(1000, 1000), bob = user(1001, 1001), carol = user(1002, 1002);
	int critical, high, normal;

	load(", \"claim\": {\"users\": [1000, \"root\"], \"groups\": [44]}", "");
	critical = config_level_index(&cfg, "critical");
	high = config_level_index(&cfg, "high");
	normal = config_level_index(&cfg, "normal");
	cr_assert_eq(cfg.levels[critical].claim.nr_uids, 2);
	cr_assert_eq(cfg.levels[critical].claim.uids[1], 0, "\"root\" resolved at load");
	carol.gids[carol.nr_gids++] = 44; /* a member of group 44 */
	cr_assert_eq(claim_grant(&cfg, critical, &alice), critical, "listed by uid");
	cr_assert_eq(claim_grant(&cfg, critical, &carol), critical, "listed by group");
	cr_assert_eq(claim_grant(&cfg, critical, &bob), normal);
	/* Critical is alice's, high is not: asking for high gives normal. */
	cr_assert_eq(claim_grant(&cfg, high, &alice), normal);
}

Test(claim, open_level_moves_the_line)
{
	struct claimant nobody = user(65534, 65534);

	load("", ", \"clients\": {\"open_level\": \"high\", \"max_per_user\": 3}");
	cr_assert_eq(claim_grant(&cfg, config_level_index(&cfg, "critical"), &nobody),
		     config_level_index(&cfg, "high"));
	cr_assert_eq(cfg.clients.max_per_user, 3);
	load("", ", \"clients\": {\"open_level\": \"best-effort\"}");
	cr_assert_eq(claim_grant(&cfg, config_level_index(&cfg, "normal"), &nobody),
		     config_level_index(&cfg, "best-effort"));
}

/* Levels without one named "normal": everyone gets the least important. */
Test(claim, without_a_normal_level_the_last_is_open)
{
	struct claimant nobody = user(65534, 65534);
	char err[256];

	cr_assert_eq(config_parse("{\"levels\": [{\"name\": \"rt\", \"rank\": 1},"
				  "{\"name\": \"batch\", \"rank\": 2}]}",
				  "t.json", &cfg, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cfg.clients.open_level, 1);
	cr_assert_eq(claim_grant(&cfg, 0, &nobody), 1);
}

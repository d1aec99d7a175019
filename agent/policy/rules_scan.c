// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The rule scanner. Rules place processes the user did not tag by hand; a
 * process already inside the triage tree is never re-matched, so a manual
 * tag or triagectl always wins and a process never flips between levels.
 * Kernel threads and the agent itself are skipped: moving them would be
 * refused by the kernel or would throttle the agent that enforces limits.
 * A rule places a process only at a level its user may claim
 * (policy/claim.h): a rule written for root's detector never lifts
 * another user's process of the same name.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "fsutil.h"
#include "log.h"
#include "pidset.h"
#include "policy/claim.h"
#include "policy/match.h"
#include "policy/rules_scan.h"

#define PF_KTHREAD 0x00200000u

/* Processes a rule matched but could not place for their user's rights,
 * so that each is logged once. */
static struct pidset told;

bool rules_path_in_root(const char *path, const char *root)
{
	size_t n = strlen(root);

	return path[0] == '/' && !strncmp(path + 1, root, n) && (path[n + 1] == '/' || path[n + 1] == '\0');
}

/* Kernel threads carry PF_KTHREAD in the flags field (the 9th of stat,
 * counted after the parenthesised comm, which may hold spaces). */
static bool is_kernel_thread(pid_t pid)
{
	char path[64], stat[1024], *p;
	unsigned long flags = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, stat, sizeof(stat)))
		return true;
	p = strrchr(stat, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return true;
	return flags & PF_KTHREAD;
}

int rules_scan(struct workloads *reg)
{
	const struct triage_config *cfg = reg->cfg;
	struct dirent *de;
	int moved = 0;
	DIR *dir;

	if (!cfg->nr_rules)
		return 0;
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char path[64], comm[64], cgroup[PATH_MAX], name[TRIAGE_NAME_MAX];
		struct proc_facts facts = { .comm = comm, .cgroup = cgroup };
		struct claimant who;
		struct workload *w;
		pid_t pid;
		int rule, err;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (pid == getpid() || pid == 1 || is_kernel_thread(pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (read_first_line(path, comm, sizeof(comm)) || cg_proc_path(pid, cgroup, sizeof(cgroup)))
			continue;
		if (rules_path_in_root(cgroup, cfg->cgroup_root))
			continue;
		rule = match_rules(cfg, &facts);
		if (rule < 0)
			continue;
		/* A rule never lifts a process to a level its user may not
		 * claim: it is left where it is. */
		if (claimant_of_pid(pid, &who))
			continue;
		if (!claim_allowed(cfg, cfg->rules[rule].level, &who)) {
			if (!pidset_has(&told, pid))
				log_warn("rule %d: pid %d (%s) of uid %u stays out: the client policy does not let its user claim %s",
					 rule, pid, comm, who.uid, cfg->levels[cfg->rules[rule].level].name);
			pidset_add(&told, pid);
			continue;
		}
		match_workload_name(&cfg->rules[rule], comm, name, sizeof(name));
		err = workloads_ensure(reg, cfg->rules[rule].level, name, &w);
		if (!err)
			err = cg_move_process(reg->env, w->rel, pid);
		if (err) {
			if (err != -ESRCH)
				log_warn("rule %d: cannot move pid %d (%s) into %s/%s: %s", rule, pid, comm,
					 cfg->levels[cfg->rules[rule].level].name, name, strerror(-err));
			continue;
		}
		log_info("rule %d: pid %d (%s) -> %s/%s", rule, pid, comm,
			 cfg->levels[cfg->rules[rule].level].name, name);
		/* A workload someone already gave a model keeps it. */
		if (cfg->rules[rule].model[0] && !w->model[0])
			workload_set_model(reg, w, cfg->rules[rule].model, cfg->rules[rule].latency_ms);
		moved++;
	}
	closedir(dir);
	return moved;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The planner's inputs on disk: the platform the config names (or, for
 * "auto", a measured profile of this very machine when one was written,
 * else a rough one read from cpufreq) and the models of the zoo. Kept apart
 * from agent_plan.c so that the planning step can be tested on tables in
 * memory.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan/agent_plan.h"
#include "platform.h"
#include "zoo.h"
#include "log.h"

/* The profile "auto" prefers: one measured on this machine. */
#define HOST_PROFILE "host"

static const char *models_dir(const struct planner_cfg *cfg)
{
	return cfg->models_dir[0] ? cfg->models_dir : zoo_default_dir();
}

static const char *platforms_dir(const struct planner_cfg *cfg)
{
	return cfg->platforms_dir[0] ? cfg->platforms_dir : platform_default_dir();
}

static int zoo_model_load(void *ctx, const char *name, struct plan_model *out, char *err,
			  size_t errlen)
{
	const struct planner_cfg *cfg = ctx;
	struct dnn_model *m = dnn_model_alloc();
	int ret;

	if (!m) {
		snprintf(err, errlen, "model %s: out of memory", name);
		return -1;
	}
	/* An unknown name gets the names the zoo has from the reader. */
	ret = zoo_load_named(models_dir(cfg), name, m, err, errlen);
	if (!ret)
		ret = zoo_to_plan_model(m, out, err, errlen);
	dnn_model_free(m);
	return ret;
}

static bool host_has_cpufreq(void)
{
	DIR *dir = opendir("/sys/devices/system/cpu/cpufreq");
	struct dirent *de;
	bool found = false;

	while (dir && !found && (de = readdir(dir)))
		found = !strncmp(de->d_name, "policy", 6);
	if (dir)
		closedir(dir);
	return found;
}

static int cpu_clusters(const struct plan_platform *p)
{
	int n = 0;

	for (int u = 0; u < p->nr_units; u++)
		n += p->units[u].kind == PLAN_UNIT_CPU && !p->units[u].aggregate;
	return n;
}

/* The platform cfg names. 0 with desc saying where it came from, or -1
 * with desc saying why there is none. */
static int load_platform(const struct planner_cfg *cfg, struct plan_platform *p, char *desc,
			 size_t len)
{
	char path[CONFIG_PATH_MAX + 64], err[768], host_note[800] = "";
	struct platform_info info;
	int n;

	if (strcmp(cfg->platform, "auto")) {
		if (platform_load_named(platforms_dir(cfg), cfg->platform, p, err, sizeof(err))) {
			snprintf(desc, len, "%s", err);
			return -1;
		}
		snprintf(desc, len, "platform %s (profile)", p->name);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s.json", platforms_dir(cfg), HOST_PROFILE);
	if (!access(path, F_OK)) {
		if (platform_load_file(path, p, &info, err, sizeof(err)))
			snprintf(host_note, sizeof(host_note), " (%s)", err);
		else if (!info.measured)
			snprintf(host_note, sizeof(host_note), " (%s is not measured)", path);
		else {
			snprintf(desc, len, "platform %s (measured profile)", p->name);
			return 0;
		}
	}
	if (platform_detect_host(p, err, sizeof(err))) {
		snprintf(desc, len, "no platform: %s%s", err, host_note);
		return -1;
	}
	n = cpu_clusters(p);
	snprintf(desc, len, "host detected from %s, %d cluster%s%s",
		 host_has_cpufreq() ? "cpufreq" : "the online CPUs (no cpufreq)", n,
		 n == 1 ? "" : "s", host_note);
	return 0;
}

void agent_plan_open(struct agent_plan *ap, const struct planner_cfg *cfg)
{
	const struct agent_plan_source src = { .load_model = zoo_model_load };
	struct plan_platform *platform = calloc(1, sizeof(*platform));
	char desc[1024];
	int ret;

	if (!cfg->enabled) {
		agent_plan_init(ap, cfg, NULL, "", &src);
		ap->src.ctx = &ap->cfg;
		log_info("planner: disabled (%s)", ap->why);
		free(platform);
		return;
	}
	if (platform) {
		ret = load_platform(cfg, platform, desc, sizeof(desc));
	} else {
		snprintf(desc, sizeof(desc), "out of memory");
		ret = -1;
	}
	agent_plan_init(ap, cfg, ret ? NULL : platform, desc, &src);
	ap->src.ctx = &ap->cfg;
	free(platform);
	if (ap->state == AGENT_PLAN_ON)
		log_info("planner: %s; models from %s; search budget %.1f ms, again every %u ms",
			 ap->platform_desc, models_dir(cfg), cfg->budget_ms, cfg->replan_ms);
}

int agent_plan_check_rules(const struct triage_config *cfg, const char *origin, char *err,
			   size_t errlen)
{
	struct plan_model *m;
	char why[768];

	if (!cfg->planner.enabled)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "%s: rules: out of memory", origin);
		return -1;
	}
	for (int r = 0; r < cfg->nr_rules; r++) {
		bool seen = false;

		if (!cfg->rules[r].model[0])
			continue;
		for (int q = 0; q < r && !seen; q++)
			seen = !strcmp(cfg->rules[q].model, cfg->rules[r].model);
		if (seen)
			continue;
		if (zoo_model_load((void *)&cfg->planner, cfg->rules[r].model, m, why,
				   sizeof(why))) {
			snprintf(err, errlen, "%s: rules[%d].model: %s", origin, r, why);
			free(m);
			return -1;
		}
	}
	free(m);
	return 0;
}

void agent_plan_doctor(const struct planner_cfg *cfg, struct doctor_report *r)
{
	struct plan_platform *p = calloc(1, sizeof(*p));
	char desc[1024];

	r->planner_probed = true;
	r->planner_ok = true;
	if (!cfg->enabled) {
		snprintf(r->planner, sizeof(r->planner),
			 "off: disabled in the config (planner.enabled)");
	} else if (!p) {
		r->planner_ok = false;
		snprintf(r->planner, sizeof(r->planner), "off: out of memory");
	} else if (load_platform(cfg, p, desc, sizeof(desc))) {
		r->planner_ok = false;
		snprintf(r->planner, sizeof(r->planner), "off: %.300s", desc);
	} else {
		snprintf(r->planner, sizeof(r->planner), "%.300s", desc);
	}
	free(p);
}

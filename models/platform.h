/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Platform profiles: what the planner knows about a board's compute units.
 *
 * A profile is models/platforms/<name>.json (installed under
 * TRIAGE_DATADIR/platforms); docs/platforms.md describes the format and
 * where every shipped figure comes from. The reader is strict: a wrong or
 * missing figure silently skews every plan, so each one is refused with a
 * single line "<file>: <key path>: <what is wrong>".
 *
 * After a profile is read, the reader appends the synthetic aggregate unit
 * "cpu" (plan_unit.aggregate) that the Linux-default baseline uses: all CPU
 * cores of all clusters as one unit.
 */
#ifndef TRIAGE_DNN_PLATFORM_H
#define TRIAGE_DNN_PLATFORM_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include "planner.h"

/* The name of the unit the reader appends; a profile may not use it. */
#define PLATFORM_AGGREGATE_NAME "cpu"
/* Units a profile may list: one slot is kept for the aggregate. */
#define PLATFORM_MAX_FILE_UNITS (PLAN_MAX_UNITS - 1)

/* What a profile says about itself beyond the planner's figures. */
struct platform_info {
	bool measured;	       /* figures measured on the machine itself */
	char description[192]; /* the board, in words ("" when absent) */
	char note[256];	       /* e.g. how to measure a placeholder ("" when absent) */
	int nr_sources;	       /* entries of "sources" */
};

/* Parses the text of a profile. origin names it in errors ("x.json").
 * On error p and info are left untouched. info may be NULL. */
int platform_parse(const char *text, const char *origin, struct plan_platform *p,
		   struct platform_info *info, char *err, size_t errlen);

/* Reads a profile file; its "name" must match the file name without
 * ".json". Errors start with the file's base name. info may be NULL. */
int platform_load_file(const char *path, struct plan_platform *p, struct platform_info *info,
		       char *err, size_t errlen);

/* Reads <dir>/<name>.json (dir NULL: platform_default_dir()). When there is
 * no such profile the error lists the names that dir holds. */
int platform_load_named(const char *dir, const char *name, struct plan_platform *p, char *err,
			size_t errlen);

/* Names of the profiles in dir, sorted, joined by ", " into out.
 * Returns how many, or -errno when dir cannot be read. */
int platform_list(const char *dir, char *out, size_t len);

/* $TRIAGE_PLATFORMS when set; else "models/platforms" when that exists
 * relative to the working directory (a source tree); else the installed
 * TRIAGE_DATADIR "/platforms". */
const char *platform_default_dir(void);

/* A rough profile of the running machine for when it has no measured one:
 * one CPU unit per cpufreq policy (CPUs grouped by related_cpus, speed from
 * cpuinfo_max_freq), fastest first, named "big"/"mid"/"little" when their
 * speeds differ, "cpu0".. when they do not; without cpufreq, one unit of
 * all online CPUs. No GPU unit. The aggregate is appended. */
int platform_detect_host(struct plan_platform *p, char *err, size_t errlen);
/* The same from a sysfs tree rooted elsewhere ("/sys" for the real one). */
int platform_detect_host_at(const char *sysfs_root, struct plan_platform *p, char *err,
			    size_t errlen);

/* Appends the aggregate CPU unit to a platform built in memory (the
 * readers above already do). Per-core speed per op class is the slowest
 * cluster's (threads spread evenly wait for the slowest), bandwidth the
 * best cluster's, launch cost the worst; hand-over figures are copied from
 * the first CPU cluster. -1 with err set when there is no CPU unit or no
 * free slot. */
int platform_append_aggregate(struct plan_platform *p, char *err, size_t errlen);

/* The CPUs of unit `unit` of p on this machine, for pinning the stages
 * placed there. The aggregate's are every online CPU. A cluster's are
 * those of the host cluster in the same place (platform_detect_host()'s
 * order, fastest first) when the host has as many clusters of the same
 * sizes as p has CPU units, and 0 is returned. A profile with as many CPU
 * cores as there are online CPUs, in other clusters, gets them in
 * ascending order unit by unit (0 too). Otherwise p describes another
 * machine: set gets every online CPU and 1 is returned. -1 (set
 * empty) when unit is no CPU unit. */
int platform_unit_cpus(const struct plan_platform *p, int unit, cpu_set_t *set);
int platform_unit_cpus_at(const char *sysfs_root, const struct plan_platform *p, int unit,
			  cpu_set_t *set);

/* Index of the unit called name, or -1. */
int platform_unit_index(const struct plan_platform *p, const char *name);

#endif

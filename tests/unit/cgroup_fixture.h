/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The cgroup suites' fixture (cgroup_fixture.c): cgt_setup() makes a
 * scratch directory cgt_tmp and points the back end's directory ops at a
 * fake kernel; cgt_teardown() removes it all, also after a failed
 * assertion. cgt_env is the environment under test.
 */
#ifndef TRIAGE_TEST_CGROUP_FIXTURE_H
#define TRIAGE_TEST_CGROUP_FIXTURE_H

#include <stdbool.h>

#include <json-c/json.h>

#include "cgroup/cgroup.h"
#include "cgroup/cgroup_impl.h"

extern char cgt_tmp[1024]; /* short enough for any path built from it */
extern struct cg_env cgt_env;

void cgt_setup(void);
void cgt_teardown(void);

/* A path built like printf, in one of a few rotating buffers, so a call can
 * take two paths at once; cgt_keep() makes a copy that lasts the test. */
const char *cgt_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *cgt_keep(const char *s);

void cgt_put(const char *path, const char *content);
const char *cgt_slurp(const char *path);
bool cgt_exists(const char *path);
void cgt_mkdirs(const char *path);

/* What a directory of the fake kernel is: its control files differ. */
enum fake_kind { FAKE_V2, FAKE_V1_CPU, FAKE_V1_CPUSET, FAKE_UNIFIED_BARE };

/* The control files the kernel shows in a cgroup directory of each kind. */
void cgt_fake_fill(const char *dir, enum fake_kind kind, bool is_root);

/* A v2 tree at <tmp>/cg, its journal under <tmp>/run (not made yet: the
 * journal makes its run directory). Returns the tree's root. */
const char *cgt_fake_v2_tree(bool with_cpuset);

/* mountinfo samples; '@' stands for the scratch directory, so mount
 * points are real paths. */
extern const char cgt_mountinfo_hybrid[], cgt_mountinfo_v1[], cgt_mountinfo_v2[];
const char *cgt_write_mountinfo(const char *text);
/* cgt_env and its trees as each mode mounts them. */
void cgt_fake_hybrid_mounts(bool with_quota);
void cgt_fake_v1_mounts(void);

/* state.json of the run directory, and what it holds. */
struct json_object *cgt_state_json(void);
/* How many saved entries name path; *value gets the last one's value. */
int cgt_state_saved(struct json_object *root, const char *path, const char **value);
bool cgt_state_created(struct json_object *root, const char *rel);

/* What a second agent does after the first was killed with -9. */
void cgt_restart_agent(void);

#endif

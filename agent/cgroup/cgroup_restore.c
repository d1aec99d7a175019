// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Undoing what the journal recorded, on exit or on behalf of an agent that
 * died: the saved knob values go back newest first, then the cgroups triage
 * made are removed deepest first. A cgroup that still holds tasks is kept:
 * that is expected (a workload outlived the agent), not a failure, and its
 * knobs have been restored so nothing stays throttled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup_impl.h"
#include "log.h"

/* Hands back only what triage enabled: the controllers in its wanted set
 * that the original value did not list. */
static int restore_subtree_control(const struct cg_env *env, const struct cg_saved *s)
{
	const char *enabled_by_triage[] = { env->cpuset[0] ? "cpuset" : NULL, "cpu" };
	char op[16];
	int failed = 0;

	for (size_t i = 0; i < sizeof(enabled_by_triage) / sizeof(enabled_by_triage[0]); i++) {
		const char *name = enabled_by_triage[i];
		int err;

		if (!name || cgroup_word_in(s->value, strlen(s->value), " \n", name))
			continue;
		snprintf(op, sizeof(op), "-%s", name);
		err = cgroup_write_value(s->path, op);
		if (err == -ENOENT)
			return 0;
		if (err)
			failed = err;
	}
	return failed;
}

/* state[i]: 0 once entry i is restored, else the last error (or -EAGAIN
 * before the first try). */
static int restore_saved(const struct cg_env *env, int index, const int *state)
{
	const struct cg_saved *s = &cgroup_journal.saved[index];
	const char *slash = strrchr(s->path, '/');
	const char *base = slash ? slash + 1 : s->path;
	int err;

	if (!strcmp(base, "cgroup.subtree_control"))
		return restore_subtree_control(env, s);
	if (!strcmp(base, "cpu.cfs_period_us")) {
		/* as when it was set: lift the quota so the pair stays valid
		 * between the two writes; the journal always holds the older
		 * quota, which is restored after this */
		char quota[PATH_MAX];
		int q;

		if (slash &&
		    (size_t)(slash - s->path) + sizeof("/cpu.cfs_quota_us") <= sizeof(quota)) {
			snprintf(quota, sizeof(quota), "%.*s/cpu.cfs_quota_us",
				 (int)(slash - s->path), s->path);
			q = cgroup_journal_find_saved(quota);
			if (q >= 0 && q < index && state[q])
				cgroup_write_value(quota, "-1");
		}
	}
	err = cgroup_write_value(s->path, s->value);
	if (err == -ENOENT) {
		/* its cgroup is gone, and with it what there was to restore */
		log_debug("%s is gone; nothing to restore", s->path);
		return 0;
	}
	return err;
}

/*
 * Newest first undoes most changes in the right order, but not all: a v1
 * cpuset set after its parent must widen again after it, and a v2 parent
 * cannot drop a controller a child still enables. So entries that fail are
 * tried again as long as a pass makes progress.
 */
static void restore_knobs(const struct cg_env *env, int *state)
{
	bool progress = true;

	for (int i = 0; i < cgroup_journal.nr_saved; i++)
		state[i] = -EAGAIN;
	while (progress) {
		progress = false;
		for (int i = cgroup_journal.nr_saved - 1; i >= 0; i--) {
			if (!state[i])
				continue;
			state[i] = restore_saved(env, i, state);
			progress |= !state[i];
		}
	}
}

static int depth_of(const char *rel)
{
	int depth = 0;

	for (; *rel; rel++)
		depth += *rel == '/';
	return depth;
}

static int remove_created(const struct cg_env *env, const char *rel)
{
	const char *roots[CGROUP_MAX_HIER];
	char dir[PATH_MAX];
	int n, failed = 0;

	n = cgroup_roots(env, roots);
	for (int i = 0; i < n; i++) {
		int err = cgroup_path(dir, sizeof(dir), roots[i], rel, NULL);

		if (!err)
			err = cgroup_dir_ops.remove(dir);
		if (!err || err == -ENOENT)
			continue;
		/* still holding tasks or someone else's child cgroup: keeping
		 * it is right, and its knobs were restored above */
		if (err == -EBUSY || err == -ENOTEMPTY) {
			log_warn("keeping cgroup %s: it still holds tasks or cgroups", dir);
			continue;
		}
		log_warn("cannot remove cgroup %s: %s", dir, strerror(-err));
		failed++;
	}
	return failed;
}

int cg_restore_all(const struct cg_env *env)
{
	int failed = 0, max_depth = 0;
	int *state;

	cgroup_journal_adopt_once(env);
	state = calloc(cgroup_journal.nr_saved + 1, sizeof(*state));
	if (!state) {
		log_err("out of memory restoring cgroups: %d knobs stay as triage set them",
			cgroup_journal.nr_saved);
		return cgroup_journal.nr_saved + cgroup_journal.nr_created;
	}
	restore_knobs(env, state);

	/* deepest first, then newest first: children go before parents */
	for (int i = 0; i < cgroup_journal.nr_created; i++) {
		int d = depth_of(cgroup_journal.created[i].rel);

		max_depth = d > max_depth ? d : max_depth;
	}
	for (int depth = max_depth; depth >= 0; depth--) {
		for (int i = cgroup_journal.nr_created - 1; i >= 0; i--) {
			if (depth_of(cgroup_journal.created[i].rel) == depth)
				failed += remove_created(env, cgroup_journal.created[i].rel);
		}
	}

	/* a knob that could not be restored only matters if its cgroup is
	 * still there (one triage made is usually gone by now) */
	for (int i = 0; i < cgroup_journal.nr_saved; i++) {
		const struct cg_saved *s = &cgroup_journal.saved[i];

		if (!state[i] || (access(s->path, F_OK) && errno == ENOENT))
			continue;
		log_warn("cannot restore %s to \"%s\": %s", s->path, s->value, strerror(-state[i]));
		failed++;
	}
	free(state);

	cgroup_journal_discard(env);
	return failed;
}

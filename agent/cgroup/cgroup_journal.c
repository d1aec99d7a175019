// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The knob journal: what each control file held before triage first wrote
 * it, and which cgroups triage made; cg_restore_all (cgroup_restore.c)
 * undoes both on exit.
 *
 * An agent killed with -9 restores nothing, so when the environment names a
 * run directory the journal is mirrored to state.json after every change,
 * before the write it protects: written to a temporary file and renamed,
 * so a crash leaves the old journal or the new one, never half (not
 * synced: a reboot takes the cgroups with it; write_file_atomic says why).
 * The next agent adopts it (cg_journal_load, or implicitly before it first
 * saves or restores anything) and its restore puts back the first agent's
 * originals, not the throttled values it found.
 *
 * Process-global and unlocked: the agent enforces from one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cgroup/cgroup_impl.h"
#include "fsutil.h"
#include "log.h"

#define STATE_FILE "state.json"

struct cgroup_journal cgroup_journal;

void cg_journal_reset(void)
{
	free(cgroup_journal.saved);
	free(cgroup_journal.created);
	memset(&cgroup_journal, 0, sizeof(cgroup_journal));
}

int cgroup_journal_find_saved(const char *path)
{
	for (int i = 0; i < cgroup_journal.nr_saved; i++) {
		if (!strcmp(cgroup_journal.saved[i].path, path))
			return i;
	}
	return -1;
}

static int journal_find_created(const char *rel)
{
	for (int i = 0; i < cgroup_journal.nr_created; i++) {
		if (!strcmp(cgroup_journal.created[i].rel, rel))
			return i;
	}
	return -1;
}

static int grow(void **array, int *cap, int need, size_t size)
{
	int more;
	void *grown;

	if (need <= *cap)
		return 0;
	more = *cap ? *cap * 2 : 16;
	if (more < need)
		more = need;
	grown = realloc(*array, (size_t)more * size);
	if (!grown)
		return -ENOMEM;
	*array = grown;
	*cap = more;
	return 0;
}

static int journal_add_saved(const char *path, const char *value)
{
	struct cg_saved *s;

	if (strlen(path) >= sizeof(s->path) || strlen(value) >= sizeof(s->value))
		return -ENAMETOOLONG;
	if (grow((void **)&cgroup_journal.saved, &cgroup_journal.cap_saved,
		 cgroup_journal.nr_saved + 1, sizeof(*cgroup_journal.saved)))
		return -ENOMEM;
	s = &cgroup_journal.saved[cgroup_journal.nr_saved++];
	strcpy(s->path, path);
	strcpy(s->value, value);
	return 0;
}

static int journal_add_created(const char *rel)
{
	struct cg_created *c;

	if (strlen(rel) >= sizeof(c->rel))
		return -ENAMETOOLONG;
	if (grow((void **)&cgroup_journal.created, &cgroup_journal.cap_created,
		 cgroup_journal.nr_created + 1, sizeof(*cgroup_journal.created)))
		return -ENOMEM;
	c = &cgroup_journal.created[cgroup_journal.nr_created++];
	strcpy(c->rel, rel);
	return 0;
}

static struct json_object *journal_to_json(void)
{
	struct json_object *root, *saved, *created;

	root = json_object_new_object();
	saved = json_object_new_array();
	created = json_object_new_array();
	if (!root || !saved || !created)
		goto fail;
	json_object_object_add(root, "saved", saved);
	json_object_object_add(root, "created", created);
	for (int i = 0; i < cgroup_journal.nr_saved; i++) {
		struct json_object *entry = json_object_new_object();

		if (!entry || json_object_array_add(saved, entry)) {
			json_object_put(entry);
			json_object_put(root);
			return NULL;
		}
		json_object_object_add(entry, "path",
				       json_object_new_string(cgroup_journal.saved[i].path));
		json_object_object_add(entry, "value",
				       json_object_new_string(cgroup_journal.saved[i].value));
	}
	for (int i = 0; i < cgroup_journal.nr_created; i++) {
		if (json_object_array_add(created,
					  json_object_new_string(cgroup_journal.created[i].rel))) {
			json_object_put(root);
			return NULL;
		}
	}
	return root;
fail:
	json_object_put(saved);
	json_object_put(created);
	json_object_put(root);
	return NULL;
}

static int journal_persist(const struct cg_env *env)
{
	struct json_object *root;
	int err;

	if (!env->run_dir[0])
		return 0;
	root = journal_to_json();
	err = root ? write_file_atomic(env->run_dir, STATE_FILE,
				       json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
									 JSON_C_TO_STRING_NOSLASHESCAPE))
		   : -ENOMEM;
	json_object_put(root);
	if (err)
		log_warn("cannot save the cgroup journal in %s: %s; an agent killed now "
			 "would leave its cgroup changes behind",
			 env->run_dir, strerror(-err));
	return err;
}

/* Saving would replace a state.json this agent has not read: one left by an
 * agent killed with -9, whose originals would be lost. Adopt it first, in
 * case the caller did not call cg_journal_load. */
void cgroup_journal_adopt_once(const struct cg_env *env)
{
	if (!cgroup_journal.adopted && env->run_dir[0])
		cg_journal_load(env);
	cgroup_journal.adopted = true;
}

int cgroup_journal_write(const struct cg_env *env, const char *path, const char *value)
{
	cgroup_journal_adopt_once(env);
	if (cgroup_journal_find_saved(path) < 0) {
		char original[CGROUP_VALUE_MAX];
		int err = cgroup_read_value(path, original, sizeof(original));

		if (err == -E2BIG)
			log_warn("%s holds more than %zu bytes: not changing what cannot be "
				 "restored",
				 path, sizeof(original) - 1);
		if (!err)
			err = journal_add_saved(path, original);
		if (err)
			return err;
		/* a failure to persist is warned about, not fatal: the
		 * in-memory journal still restores on a clean exit */
		journal_persist(env);
	}
	return cgroup_write_value(path, value);
}

int cgroup_journal_record_created(const struct cg_env *env, const char *rel)
{
	int err;

	cgroup_journal_adopt_once(env);
	if (journal_find_created(rel) >= 0)
		return 0;
	err = journal_add_created(rel);
	if (err) {
		log_warn("cannot record cgroup %s: %s; it will stay after exit", rel,
			 strerror(-err));
		return err;
	}
	journal_persist(env);
	return 0;
}

static bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return n && !strncmp(path, dir, n) && path[n] == '/';
}

void cgroup_journal_forget(const struct cg_env *env, const char *rel)
{
	const char *roots[CGROUP_MAX_HIER];
	char dir[PATH_MAX];
	int n, kept = 0, dropped = 0;

	cgroup_journal_adopt_once(env);
	n = cgroup_roots(env, roots);
	for (int i = 0; i < cgroup_journal.nr_saved; i++) {
		bool gone = false;

		for (int r = 0; r < n && !gone; r++)
			gone = !cgroup_path(dir, sizeof(dir), roots[r], rel, NULL) &&
			       path_is_under(cgroup_journal.saved[i].path, dir);
		if (!gone)
			cgroup_journal.saved[kept++] = cgroup_journal.saved[i];
	}
	dropped += cgroup_journal.nr_saved - kept;
	cgroup_journal.nr_saved = kept;

	kept = 0;
	for (int i = 0; i < cgroup_journal.nr_created; i++) {
		const char *c = cgroup_journal.created[i].rel;

		if (strcmp(c, rel) && !path_is_under(c, rel))
			cgroup_journal.created[kept++] = cgroup_journal.created[i];
	}
	dropped += cgroup_journal.nr_created - kept;
	cgroup_journal.nr_created = kept;

	if (dropped)
		journal_persist(env);
}

/* A journaled path must name a file below one of the hierarchies in use:
 * state.json is trusted no further than that. */
static bool saved_path_acceptable(const struct cg_env *env, const char *path)
{
	const char *roots[CGROUP_MAX_HIER];
	int n = cgroup_roots(env, roots);

	if (strstr(path, "/../") || strstr(path, "/./"))
		return false;
	for (int i = 0; i < n; i++) {
		if (path_is_under(path, roots[i]))
			return true;
	}
	return false;
}

/* Loaded entries are older than any this agent made, so they go first and
 * win over an entry for the same file. */
static int journal_adopt(const struct cg_env *env, struct json_object *root)
{
	struct json_object *saved, *created;
	struct cg_saved *mine_saved = cgroup_journal.saved;
	struct cg_created *mine_created = cgroup_journal.created;
	int nr_mine_saved = cgroup_journal.nr_saved, nr_mine_created = cgroup_journal.nr_created;
	int err = 0;

	if (!json_object_is_type(root, json_type_object))
		return -EINVAL;
	if (!json_object_object_get_ex(root, "saved", &saved))
		saved = NULL;
	if (!json_object_object_get_ex(root, "created", &created))
		created = NULL;
	if ((saved && !json_object_is_type(saved, json_type_array)) ||
	    (created && !json_object_is_type(created, json_type_array)))
		return -EINVAL;

	memset(&cgroup_journal, 0, sizeof(cgroup_journal));
	for (size_t i = 0; saved && i < json_object_array_length(saved) && !err; i++) {
		struct json_object *entry = json_object_array_get_idx(saved, i);
		struct json_object *path, *value;
		const char *p, *v;

		if (!json_object_object_get_ex(entry, "path", &path) ||
		    !json_object_object_get_ex(entry, "value", &value) ||
		    !json_object_is_type(path, json_type_string) ||
		    !json_object_is_type(value, json_type_string)) {
			log_warn("cgroup journal: malformed saved entry %zu skipped", i);
			continue;
		}
		p = json_object_get_string(path);
		v = json_object_get_string(value);
		if (!saved_path_acceptable(env, p)) {
			log_warn("cgroup journal: %s is not in a cgroup hierarchy in use; skipped",
				 p);
			continue;
		}
		if (cgroup_journal_find_saved(p) >= 0)
			continue;
		err = journal_add_saved(p, v);
		if (err == -ENAMETOOLONG) {
			log_warn("cgroup journal: entry for %s too long; skipped", p);
			err = 0;
		}
	}
	for (size_t i = 0; created && i < json_object_array_length(created) && !err; i++) {
		struct json_object *entry = json_object_array_get_idx(created, i);
		const char *rel = json_object_get_string(entry);

		if (!json_object_is_type(entry, json_type_string) || !cg_rel_valid(rel)) {
			log_warn("cgroup journal: bad cgroup entry %zu skipped", i);
			continue;
		}
		if (journal_find_created(rel) < 0)
			err = journal_add_created(rel);
	}
	for (int i = 0; i < nr_mine_saved && !err; i++) {
		if (cgroup_journal_find_saved(mine_saved[i].path) < 0)
			err = journal_add_saved(mine_saved[i].path, mine_saved[i].value);
	}
	for (int i = 0; i < nr_mine_created && !err; i++) {
		if (journal_find_created(mine_created[i].rel) < 0)
			err = journal_add_created(mine_created[i].rel);
	}
	if (err) {
		/* keep what this agent had rather than a half merge */
		cg_journal_reset();
		cgroup_journal.saved = mine_saved;
		cgroup_journal.nr_saved = cgroup_journal.cap_saved = nr_mine_saved;
		cgroup_journal.created = mine_created;
		cgroup_journal.nr_created = cgroup_journal.cap_created = nr_mine_created;
		return err;
	}
	free(mine_saved);
	free(mine_created);
	return 0;
}

static int journal_load_file(const struct cg_env *env)
{
	char path[PATH_MAX];
	struct json_object *root;
	int err;

	if (!env->run_dir[0])
		return 0;
	err = cg_join(path, sizeof(path), env->run_dir, STATE_FILE);
	if (err)
		return err;
	if (access(path, F_OK))
		return errno == ENOENT ? 0 : -errno;
	root = json_object_from_file(path);
	err = root ? journal_adopt(env, root) : -EINVAL;
	json_object_put(root);
	if (err) {
		char aside[PATH_MAX], why[128];

		snprintf(why, sizeof(why), "%s", root ? strerror(-err) : json_util_get_last_err());
		why[strcspn(why, "\n")] = '\0';

		/* the next save would overwrite it: keep it for a human */
		if (snprintf(aside, sizeof(aside), "%s.bad", path) < (int)sizeof(aside) &&
		    !rename(path, aside))
			log_warn("cannot adopt the cgroup journal %s (%s); moved to %s", path, why,
				 aside);
		else
			log_warn("cannot adopt the cgroup journal %s (%s)", path, why);
		return err;
	}
	if (cgroup_journal.nr_saved || cgroup_journal.nr_created)
		log_info("adopted a cgroup journal of %d knobs and %d cgroups from %s",
			 cgroup_journal.nr_saved, cgroup_journal.nr_created, path);
	journal_persist(env);
	return 0;
}

int cg_journal_load(const struct cg_env *env)
{
	int err = journal_load_file(env);

	/* tried once is enough: a broken file was reported and moved */
	cgroup_journal.adopted = true;
	return err;
}

void cgroup_journal_discard(const struct cg_env *env)
{
	char path[PATH_MAX];

	if (env->run_dir[0] && !cg_join(path, sizeof(path), env->run_dir, STATE_FILE) &&
	    unlink(path) && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
	cg_journal_reset();
}

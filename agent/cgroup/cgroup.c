// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * cgroup back end, the shared ground: pure text helpers (relative paths,
 * /proc/PID/cgroup lines, cpu.max values), the list of hierarchies each mode
 * writes to, and the small-file I/O that every other cgroup*.c goes through.
 *
 * A triage cgroup has the same relative path in every hierarchy used, so the
 * rest of the back end loops over cgroup_roots() rather than asking which
 * mode it runs in; only cg_create and the knob writers differ by mode.
 * The pieces live in files by job: cgroup_probe.c (mountinfo, mode),
 * cgroup_tree.c (directories and tasks), cgroup_knob.c (weight, quota,
 * cpus), cgroup_journal.c (saved originals, state.json) and
 * cgroup_restore.c (putting them back).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup_impl.h"

const char *cg_mode_name(enum cg_mode mode)
{
	switch (mode) {
	case CG_MODE_V2:
		return "v2";
	case CG_MODE_HYBRID:
		return "hybrid";
	case CG_MODE_V1:
		return "v1";
	case CG_MODE_NONE:
		break;
	}
	return "none";
}

bool cg_rel_valid(const char *rel)
{
	const char *part = rel;

	if (!rel || !*rel || strnlen(rel, PATH_MAX) >= PATH_MAX)
		return false;
	for (;;) {
		const char *slash = strchr(part, '/');
		size_t n = slash ? (size_t)(slash - part) : strlen(part);

		if (n == 0)
			return false;
		if (part[0] == '.' && (n == 1 || (n == 2 && part[1] == '.')))
			return false;
		if (!slash)
			return true;
		part = slash + 1;
	}
}

int cg_join(char *out, size_t len, const char *a, const char *b)
{
	size_t alen;
	int n;

	if (!out || !len || !a || !b)
		return -EINVAL;
	while (*b == '/')
		b++;
	alen = strlen(a);
	/* keep "/" itself, drop any other trailing slash */
	while (alen > 1 && a[alen - 1] == '/')
		alen--;
	if (!*b)
		n = snprintf(out, len, "%.*s", (int)alen, a);
	else if (!alen)
		n = snprintf(out, len, "%s", b);
	else if (a[alen - 1] == '/')
		n = snprintf(out, len, "/%s", b);
	else
		n = snprintf(out, len, "%.*s/%s", (int)alen, a, b);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

bool cgroup_word_in(const char *list, size_t n, const char *seps, const char *word)
{
	size_t wlen = strlen(word);
	size_t i = 0;

	while (i < n) {
		size_t start;

		while (i < n && strchr(seps, list[i]))
			i++;
		start = i;
		while (i < n && list[i] && !strchr(seps, list[i]))
			i++;
		if (i > start && i - start == wlen && !memcmp(list + start, word, wlen))
			return true;
		if (i < n && !list[i])
			break;
	}
	return false;
}

int cg_parse_proc_cgroup(const char *text, const char *want_controller, char *out, size_t len)
{
	const char *line, *next;

	if (!text || !want_controller || !out || !len)
		return -EINVAL;
	for (line = text; *line; line = next) {
		const char *eol = strchr(line, '\n');
		const char *c1, *c2;
		size_t plen;

		next = eol ? eol + 1 : line + strlen(line);
		if (!eol)
			eol = next;
		/* "ID:CONTROLLERS:PATH"; PATH may itself hold ':' */
		c1 = memchr(line, ':', eol - line);
		if (!c1)
			continue;
		c2 = memchr(c1 + 1, ':', eol - c1 - 1);
		if (!c2)
			continue;
		if (!*want_controller) {
			if (c2 != c1 + 1)
				continue;
		} else if (!cgroup_word_in(c1 + 1, c2 - c1 - 1, ",", want_controller)) {
			continue;
		}
		plen = eol - c2 - 1;
		if (plen >= len)
			return -ENAMETOOLONG;
		memcpy(out, c2 + 1, plen);
		out[plen] = '\0';
		return 0;
	}
	return -ENOENT;
}

int cg_proc_path(pid_t tgid, char *out, size_t len)
{
	char path[64];
	char *text;
	int err;

	if (tgid <= 0 || !out || !len)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)tgid);
	err = cgroup_read_text(path, &text);
	if (err == -ENOENT)
		return -ESRCH;
	if (err < 0)
		return err;
	err = cg_parse_proc_cgroup(text, "", out, len);
	/* "/" in the unified hierarchy says nothing on a hybrid host, where
	 * the v1 cpu path is the one users and systemd set */
	if (err < 0 || !strcmp(out, "/")) {
		int v1 = cg_parse_proc_cgroup(text, "cpu", out, len);

		if (v1 != -ENOENT || err < 0)
			err = v1;
	}
	free(text);
	return err;
}

long long cgroup_quota_us(double cores, unsigned period_us)
{
	double quota;

	if (isnan(cores) || cores < 0 || period_us == 0)
		return -EINVAL;
	quota = round(cores * period_us);
	/* the kernel caps quota far below this; refuse nonsense early */
	if (quota > 1e12)
		return -ERANGE;
	if (quota < CGROUP_MIN_QUOTA_US)
		quota = CGROUP_MIN_QUOTA_US;
	return (long long)quota;
}

int cg_quota_format_v2(double cores, unsigned period_us, char *out, size_t len)
{
	long long quota;
	int n;

	if (!out || !len || period_us == 0 || isnan(cores))
		return -EINVAL;
	if (cores < 0) {
		n = snprintf(out, len, "max %u", period_us);
	} else {
		quota = cgroup_quota_us(cores, period_us);
		if (quota < 0)
			return (int)quota;
		n = snprintf(out, len, "%lld %u", quota, period_us);
	}
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int cg_quota_parse_v2(const char *text, double *cores)
{
	char quota[32], rest[2];
	unsigned long long period;
	long long q;
	char *end;

	if (!text || !cores)
		return -EINVAL;
	if (sscanf(text, "%31s %llu %1s", quota, &period, rest) != 2 || period == 0)
		return -EINVAL;
	if (!strcmp(quota, "max")) {
		*cores = CG_QUOTA_MAX;
		return 0;
	}
	errno = 0;
	q = strtoll(quota, &end, 10);
	if (errno || *end || q < 0)
		return -EINVAL;
	*cores = (double)q / (double)period;
	return 0;
}

int cgroup_roots(const struct cg_env *env, const char *roots[CGROUP_MAX_HIER])
{
	const char *want[CGROUP_MAX_HIER] = { NULL, NULL, NULL };
	int n = 0;

	switch (env->mode) {
	case CG_MODE_V2:
		want[0] = env->unified;
		break;
	case CG_MODE_HYBRID:
		want[2] = env->unified;
		/* and the v1 controllers, as in v1 mode */
		__attribute__((fallthrough));
	case CG_MODE_V1:
		want[0] = env->cpuset;
		want[1] = env->cpu;
		break;
	case CG_MODE_NONE:
		break;
	}
	for (int i = 0; i < CGROUP_MAX_HIER; i++) {
		bool dup = false;

		if (!want[i] || !want[i][0])
			continue;
		for (int j = 0; j < n; j++)
			dup |= !strcmp(roots[j], want[i]);
		if (!dup)
			roots[n++] = want[i];
	}
	return n;
}

const char *cgroup_primary_root(const struct cg_env *env)
{
	switch (env->mode) {
	case CG_MODE_V2:
		return env->unified[0] ? env->unified : NULL;
	case CG_MODE_HYBRID:
	case CG_MODE_V1:
		if (env->cpu[0])
			return env->cpu;
		return env->cpuset[0] ? env->cpuset : NULL;
	case CG_MODE_NONE:
		break;
	}
	return NULL;
}

bool cgroup_is_v1_cpuset(const struct cg_env *env, const char *root)
{
	return (env->mode == CG_MODE_V1 || env->mode == CG_MODE_HYBRID) && env->cpuset[0] &&
	       !strcmp(root, env->cpuset);
}

int cgroup_path(char *out, size_t len, const char *root, const char *rel, const char *file)
{
	int err = cg_join(out, len, root, rel ? rel : "");

	if (!err && file) {
		size_t used = strlen(out);

		err = cg_join(out + used, len - used, "/", file);
	}
	return err;
}

int cgroup_parent_path(char *out, size_t len, const char *root, const char *rel, const char *file)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(rel, '/');
	size_t n = slash ? (size_t)(slash - rel) : 0;

	if (n >= sizeof(parent))
		return -ENAMETOOLONG;
	memcpy(parent, rel, n);
	parent[n] = '\0';
	return cgroup_path(out, len, root, parent, file);
}

int cgroup_read_text(const char *path, char **out)
{
	size_t cap = 4096, used = 0;
	char *buf, *bigger;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (cap - used < 2) {
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		used += n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[used] = '\0';
	*out = buf;
	return 0;
}

int cgroup_read_value(const char *path, char *buf, size_t len)
{
	char *text;
	size_t used;
	int err;

	if (!len)
		return -EINVAL;
	err = cgroup_read_text(path, &text);
	if (err)
		return err;
	used = strlen(text);
	while (used && text[used - 1] == '\n')
		used--;
	/* A value that does not fit is an error, not a silent truncation: a
	 * clipped original would be written back as something else. */
	if (used >= len) {
		free(text);
		return -E2BIG;
	}
	memcpy(buf, text, used);
	buf[used] = '\0';
	free(text);
	return 0;
}

int cgroup_write_value(const char *path, const char *value)
{
	size_t vlen = strlen(value);
	char *line;
	ssize_t n;
	int fd, err = 0;

	line = malloc(vlen + 2);
	if (!line)
		return -ENOMEM;
	memcpy(line, value, vlen);
	line[vlen] = '\n';
	line[vlen + 1] = '\0';
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
	} else {
		do
			n = write(fd, line, vlen + 1);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			err = -errno;
		else if ((size_t)n != vlen + 1)
			err = -EIO;
		close(fd);
	}
	free(line);
	return err;
}

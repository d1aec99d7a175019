// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Platform profiles for the planner (platform.h): the strict JSON reader,
 * the aggregate CPU unit of the Linux baseline, and finding profiles by
 * name. The planner itself never touches a file; every figure it plans
 * with comes through here, so every figure is checked. The sysfs fallback
 * for an unprofiled machine is platform_host.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "json_util.h"
#include "platform.h"

/* models/zoo.c falls back on the same default. */
#ifndef TRIAGE_DATADIR
#define TRIAGE_DATADIR "/usr/local/share/triage"
#endif

/* The largest profile is a few kB; anything near this is not a profile. */
#define PROFILE_MAX_BYTES (1024 * 1024)
/* GPUs count SMs or shader cores; no edge GPU comes near this. */
#define GPU_MAX_CORES 4096

/* NULL-terminated for json_check_keys(). */
static const char *const op_keys[PLAN_OP__COUNT + 1] = {
	[PLAN_OP_CONV] = "conv", [PLAN_OP_DWCONV] = "dwconv",	[PLAN_OP_FC] = "fc",
	[PLAN_OP_POOL] = "pool", [PLAN_OP_ELTWISE] = "eltwise",
};

/* Bounds wide enough for any board, narrow enough to catch a unit slip
 * (MB/s written as GB/s, ms as us). */
static const struct json_check_range rate_range = { 0, 1e6, true, false };
static const struct json_check_range eff_range = { 0, 1, true, false };
static const struct json_check_range gbps_range = { 0, 1e4, true, false };
static const struct json_check_range us_range = { 0, 1e6, false, false };
static const struct json_check_range mb_range = { 0, 1e8, true, false };

int platform_unit_index(const struct plan_platform *p, const char *name)
{
	for (int i = 0; i < p->nr_units; i++)
		if (!strcmp(p->units[i].name, name))
			return i;
	return -1;
}

/* ---- reading one profile --------------------------------------------------- */

static int require_number(struct json_check *jc, struct json_object *obj, const char *parent,
			  const char *key, const struct json_check_range *range, double *out)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (json_check_require(jc, obj, parent, key, &val, path))
		return -1;
	return json_check_number(jc, val, path, range, out);
}

/* Names end up in cgroup paths, log lines and file names: keep them plain. */
static int read_name(struct json_check *jc, struct json_object *val, const char *path,
		     char out[PLAN_NAME_MAX])
{
	const char *str;
	size_t len;

	if (json_check_string(jc, val, path, &str))
		return -1;
	len = strlen(str);
	if (!len || len >= PLAN_NAME_MAX)
		return json_check_fail(jc, path, "must be 1 to %d characters, got %zu",
				       PLAN_NAME_MAX - 1, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];

		if (!(islower(c) || isdigit(c) || ((c == '-' || c == '_') && i)))
			return json_check_fail(jc, path,
					       "must be lower-case letters, digits, '-' or '_' "
					       "(not first), got \"%s\"",
					       str);
	}
	memcpy(out, str, len + 1);
	return 0;
}

static int read_opt_text(struct json_check *jc, struct json_object *obj, const char *key, char *out,
			 size_t len)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;
	const char *str;

	if (!json_check_lookup(obj, "", key, &val, path))
		return 0;
	if (json_check_string(jc, val, path, &str))
		return -1;
	if (strlen(str) >= len)
		return json_check_fail(jc, path, "longer than %zu characters", len - 1);
	snprintf(out, len, "%s", str);
	return 0;
}

/* "why": the provenance of figures, one string per figure key. The reader
 * keeps none of it, but a misspelt key would leave a figure unexplained. */
static int check_why(struct json_check *jc, struct json_object *obj, const char *parent,
		     const char *const *known)
{
	char path[JSON_CHECK_PATH_MAX], key_path[JSON_CHECK_PATH_MAX];
	struct json_object *why;
	const char *str;

	if (!json_check_lookup(obj, parent, "why", &why, path))
		return 0;
	if (json_check_object(jc, why, path) || json_check_keys(jc, why, path, known))
		return -1;
	json_object_object_foreach(why, key, val)
	{
		json_check_key_path(key_path, path, key);
		if (json_check_string(jc, val, key_path, &str))
			return -1;
		if (!str[0])
			return json_check_fail(jc, key_path, "must not be empty");
	}
	return 0;
}

static int parse_unit(struct json_check *jc, struct json_object *obj, const char *path,
		      double dram_gbps, struct plan_unit *u)
{
	static const char *const keys[] = { "name",	    "kind",	"cores",     "gflops",
					    "parallel_eff", "mem_gbps", "launch_us", "mem_mb",
					    "why",	    NULL };
	static const char *const why_keys[] = { "kind",	    "cores",	 "gflops", "parallel_eff",
						"mem_gbps", "launch_us", "mem_mb", NULL };
	char sub[JSON_CHECK_PATH_MAX], buf[JSON_CHECK_DESCRIBE_MAX];
	struct json_object *val, *gflops;
	const char *kind;
	unsigned cores;

	memset(u, 0, sizeof(*u));
	if (json_check_object(jc, obj, path) || json_check_keys(jc, obj, path, keys))
		return -1;
	if (json_check_require(jc, obj, path, "name", &val, sub) || read_name(jc, val, sub, u->name))
		return -1;
	if (!strcmp(u->name, PLATFORM_AGGREGATE_NAME))
		return json_check_fail(jc, sub,
				       "\"%s\" is reserved for the aggregate unit the reader adds",
				       PLATFORM_AGGREGATE_NAME);

	if (json_check_require(jc, obj, path, "kind", &val, sub) || json_check_string(jc, val, sub, &kind))
		return -1;
	if (!strcmp(kind, "cpu"))
		u->kind = PLAN_UNIT_CPU;
	else if (!strcmp(kind, "gpu"))
		u->kind = PLAN_UNIT_GPU;
	else
		return json_check_fail(jc, sub, "must be \"cpu\" or \"gpu\", got %s",
				       json_check_describe(val, buf));

	if (json_check_require(jc, obj, path, "cores", &val, sub) ||
	    json_check_uint(jc, val, sub, 1,
			    u->kind == PLAN_UNIT_CPU ? PLAN_MAX_CORES : GPU_MAX_CORES, &cores))
		return -1;
	u->cores = (int)cores;

	if (json_check_require(jc, obj, path, "gflops", &gflops, sub) || json_check_object(jc, gflops, sub) ||
	    json_check_keys(jc, gflops, sub, op_keys))
		return -1;
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		if (require_number(jc, gflops, sub, op_keys[op], &rate_range, &u->gflops[op]))
			return -1;

	if (require_number(jc, obj, path, "parallel_eff", &eff_range, &u->parallel_eff) ||
	    require_number(jc, obj, path, "mem_gbps", &gbps_range, &u->mem_gbps) ||
	    require_number(jc, obj, path, "launch_us", &us_range, &u->launch_us) ||
	    require_number(jc, obj, path, "mem_mb", &mb_range, &u->mem_mb))
		return -1;
	if (u->mem_gbps > dram_gbps) {
		json_check_key_path(sub, path, "mem_gbps");
		return json_check_fail(jc, sub,
				       "%g is more than dram_gbps %g: a unit cannot outrun "
				       "the DRAM it shares",
				       u->mem_gbps, dram_gbps);
	}
	return check_why(jc, obj, path, why_keys);
}

static int parse_units(struct json_check *jc, struct json_object *root, struct plan_platform *p)
{
	char path[JSON_CHECK_PATH_MAX], sub[JSON_CHECK_PATH_MAX];
	struct json_object *units;
	int nr_cpu = 0, total_cores = 0;
	size_t n;

	if (json_check_require(jc, root, "", "units", &units, path) || json_check_array(jc, units, path))
		return -1;
	n = json_object_array_length(units);
	if (!n)
		return json_check_fail(jc, path, "must list at least one unit");
	if (n > PLATFORM_MAX_FILE_UNITS)
		return json_check_fail(jc, path,
				       "%zu units, at most %d (PLAN_MAX_UNITS %d less the \"%s\" "
				       "aggregate the reader adds)",
				       n, PLATFORM_MAX_FILE_UNITS, PLAN_MAX_UNITS,
				       PLATFORM_AGGREGATE_NAME);
	for (size_t i = 0; i < n; i++) {
		struct plan_unit *u = &p->units[i];
		int dup;

		json_check_index_path(sub, "units", i);
		if (parse_unit(jc, json_object_array_get_idx(units, i), sub, p->dram_gbps, u))
			return -1;
		p->nr_units = (int)i;
		dup = platform_unit_index(p, u->name);
		p->nr_units = (int)i + 1;
		if (dup >= 0) {
			json_check_key_path(path, sub, "name");
			return json_check_fail(jc, path,
					       "duplicate unit name \"%s\" (also units[%d])",
					       u->name, dup);
		}
		if (u->kind == PLAN_UNIT_CPU) {
			nr_cpu++;
			total_cores += u->cores;
		}
	}
	if (!nr_cpu)
		return json_check_fail(jc, "units", "must hold at least one \"cpu\" unit");
	if (total_cores > PLAN_MAX_CORES)
		return json_check_fail(jc, "units",
				       "%d CPU cores in all, at most %d (PLAN_MAX_CORES)",
				       total_cores, PLAN_MAX_CORES);
	return 0;
}

static void unit_names(const struct plan_platform *p, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < p->nr_units && used < len; i++)
		used += snprintf(out + used, len - used, "%s%s", i ? ", " : "", p->units[i].name);
}

static int transfer_unit(struct json_check *jc, const struct plan_platform *p, const char *name,
			 const char *path)
{
	char names[PLAN_MAX_UNITS * PLAN_NAME_MAX];
	int i = platform_unit_index(p, name);

	if (i >= 0)
		return i;
	unit_names(p, names, sizeof(names));
	return json_check_fail(jc, path, "unknown unit (units: %s)", names);
}

/* "transfers": { from: { to: { "gbps": G, "us": U } } } for every ordered
 * pair: a hand-over costs differently each way (cache clean before a GPU
 * reads, wait and invalidate before a CPU does). */
static int parse_transfers(struct json_check *jc, struct json_object *root, struct plan_platform *p)
{
	static const char *const cell_keys[] = { "gbps", "us", NULL };
	char path[JSON_CHECK_PATH_MAX], row_path[JSON_CHECK_PATH_MAX],
		cell_path[JSON_CHECK_PATH_MAX];
	bool seen[PLAN_MAX_UNITS][PLAN_MAX_UNITS] = { { false } };
	struct json_object *transfers;

	if (json_check_require(jc, root, "", "transfers", &transfers, path) ||
	    json_check_object(jc, transfers, path))
		return -1;
	json_object_object_foreach(transfers, from, row)
	{
		int a, b;

		json_check_key_path(row_path, path, from);
		a = transfer_unit(jc, p, from, row_path);
		if (a < 0 || json_check_object(jc, row, row_path))
			return -1;
		json_object_object_foreach(row, to, cell)
		{
			json_check_key_path(cell_path, row_path, to);
			b = transfer_unit(jc, p, to, cell_path);
			if (b < 0)
				return -1;
			if (b == a)
				return json_check_fail(
					jc, cell_path,
					"a unit hands nothing to itself: leave it out");
			if (json_check_object(jc, cell, cell_path) ||
			    json_check_keys(jc, cell, cell_path, cell_keys) ||
			    require_number(jc, cell, cell_path, "gbps", &gbps_range,
					   &p->xfer_gbps[a][b]) ||
			    require_number(jc, cell, cell_path, "us", &us_range, &p->xfer_us[a][b]))
				return -1;
			seen[a][b] = true;
		}
	}
	for (int a = 0; a < p->nr_units; a++) {
		for (int b = 0; b < p->nr_units; b++) {
			if (a == b || seen[a][b])
				continue;
			json_check_key_path(row_path, path, p->units[a].name);
			json_check_key_path(cell_path, row_path, p->units[b].name);
			return json_check_fail(jc, cell_path,
					       "missing: every ordered pair of units needs a "
					       "hand-over figure");
		}
		/* Never used by a valid mapping (stages sit on distinct units);
		 * filled so that a lookup on the diagonal costs a plain read. */
		p->xfer_gbps[a][a] = p->units[a].mem_gbps;
		p->xfer_us[a][a] = 0;
	}
	return 0;
}

static int parse_sources(struct json_check *jc, struct json_object *root, int *count)
{
	char path[JSON_CHECK_PATH_MAX], sub[JSON_CHECK_PATH_MAX];
	struct json_object *sources;
	const char *str;
	size_t n;

	if (json_check_require(jc, root, "", "sources", &sources, path) || json_check_array(jc, sources, path))
		return -1;
	n = json_object_array_length(sources);
	if (!n)
		return json_check_fail(jc, path, "must cite at least one source");
	for (size_t i = 0; i < n; i++) {
		json_check_index_path(sub, path, i);
		if (json_check_string(jc, json_object_array_get_idx(sources, i), sub, &str))
			return -1;
		if (!str[0])
			return json_check_fail(jc, sub, "must not be empty");
	}
	*count = (int)n;
	return 0;
}

int platform_parse(const char *text, const char *origin, struct plan_platform *out,
		   struct platform_info *info_out, char *err, size_t errlen)
{
	static const char *const keys[] = { "name",	 "description", "measured",  "note",
					    "dram_gbps", "units",	"transfers", "why",
					    "sources",	 NULL };
	static const char *const why_keys[] = { "dram_gbps", "transfers", NULL };
	struct json_check jc = { .origin = origin, .err = err, .errlen = errlen };
	char path[JSON_CHECK_PATH_MAX];
	struct platform_info info = { 0 };
	struct plan_platform p;
	struct json_object *root, *val;
	int ret = -1;

	root = json_check_parse_text(&jc, text, PROFILE_MAX_BYTES);
	if (!root)
		return -1;
	memset(&p, 0, sizeof(p));
	if (json_check_keys(&jc, root, "", keys))
		goto out;
	if (json_check_require(&jc, root, "", "name", &val, path) || read_name(&jc, val, path, p.name))
		goto out;
	if (read_opt_text(&jc, root, "description", info.description, sizeof(info.description)) ||
	    read_opt_text(&jc, root, "note", info.note, sizeof(info.note)))
		goto out;
	if (json_check_require(&jc, root, "", "measured", &val, path) ||
	    json_check_bool(&jc, val, path, &info.measured))
		goto out;
	if (require_number(&jc, root, "", "dram_gbps", &gbps_range, &p.dram_gbps) ||
	    parse_units(&jc, root, &p) || parse_transfers(&jc, root, &p) ||
	    check_why(&jc, root, "", why_keys) || parse_sources(&jc, root, &info.nr_sources))
		goto out;
	if (platform_append_aggregate(&p, err, errlen))
		goto out;
	*out = p;
	if (info_out)
		*info_out = info;
	ret = 0;
out:
	json_object_put(root);
	return ret;
}

/* ---- the aggregate unit ---------------------------------------------------- */

int platform_append_aggregate(struct plan_platform *p, char *err, size_t errlen)
{
	struct plan_unit agg = { .kind = PLAN_UNIT_CPU, .aggregate = true };
	int first = -1, a;

	snprintf(agg.name, sizeof(agg.name), "%s", PLATFORM_AGGREGATE_NAME);
	for (int i = 0; i < p->nr_units; i++) {
		const struct plan_unit *u = &p->units[i];

		if (u->kind != PLAN_UNIT_CPU || u->aggregate)
			continue;
		if (first < 0) {
			first = i;
			agg.parallel_eff = u->parallel_eff;
			for (int op = 0; op < PLAN_OP__COUNT; op++)
				agg.gflops[op] = u->gflops[op];
		}
		agg.cores += u->cores;
		agg.mem_mb += u->mem_mb;
		for (int op = 0; op < PLAN_OP__COUNT; op++)
			if (u->gflops[op] < agg.gflops[op])
				agg.gflops[op] = u->gflops[op];
		if (u->parallel_eff < agg.parallel_eff)
			agg.parallel_eff = u->parallel_eff;
		if (u->mem_gbps > agg.mem_gbps)
			agg.mem_gbps = u->mem_gbps;
		if (u->launch_us > agg.launch_us)
			agg.launch_us = u->launch_us;
	}
	if (first < 0) {
		snprintf(err, errlen, "%s: no CPU unit to build the aggregate \"%s\" from", p->name,
			 PLATFORM_AGGREGATE_NAME);
		return -1;
	}
	if (p->nr_units >= PLAN_MAX_UNITS || platform_unit_index(p, agg.name) >= 0) {
		snprintf(err, errlen, "%s: no room for the aggregate unit \"%s\"", p->name,
			 PLATFORM_AGGREGATE_NAME);
		return -1;
	}
	a = p->nr_units++;
	p->units[a] = agg;
	for (int j = 0; j < a; j++) {
		p->xfer_gbps[a][j] = p->xfer_gbps[first][j];
		p->xfer_us[a][j] = p->xfer_us[first][j];
		p->xfer_gbps[j][a] = p->xfer_gbps[j][first];
		p->xfer_us[j][a] = p->xfer_us[j][first];
	}
	p->xfer_gbps[a][a] = agg.mem_gbps;
	p->xfer_us[a][a] = 0;
	return 0;
}

/* ---- finding profiles ------------------------------------------------------ */

int platform_load_file(const char *path, struct plan_platform *p, struct platform_info *info,
		       char *err, size_t errlen)
{
	const char *origin = path_base(path);
	struct platform_info tmp_info;
	struct plan_platform tmp;
	size_t stem_len, len;
	char *text;
	int ret;

	ret = read_file_alloc(path, PROFILE_MAX_BYTES, &text, &len);
	if (ret == -ENOMEM || ret == -EIO || ret == -EFBIG) {
		snprintf(err, errlen, "%s: %s", origin,
			 ret == -ENOMEM ? "out of memory"
			 : ret == -EIO	? "read error"
					: "larger than 1 MiB, not a profile");
		return -1;
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return -1;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: contains a NUL byte", origin);
		ret = -1;
	} else {
		ret = platform_parse(text, origin, &tmp, &tmp_info, err, errlen);
	}
	free(text);
	if (ret)
		return -1;
	/* platform_load_named() finds a profile by its file name; a different
	 * "name" inside would make plans and logs name another board. */
	stem_len = strlen(origin);
	if (stem_len > 5 && !strcmp(origin + stem_len - 5, ".json"))
		stem_len -= 5;
	if (strlen(tmp.name) != stem_len || strncmp(tmp.name, origin, stem_len)) {
		snprintf(err, errlen, "%s: name: \"%s\" does not match the file name", origin,
			 tmp.name);
		return -1;
	}
	*p = tmp;
	if (info)
		*info = tmp_info;
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int platform_list(const char *dir, char *out, size_t len)
{
	char names[64][PLAN_NAME_MAX + 8];
	char *sorted[64];
	struct dirent *de;
	size_t used = 0;
	int n = 0;
	DIR *d;

	if (len)
		out[0] = '\0';
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < 64) {
		size_t l = strlen(de->d_name);

		if (l <= 5 || l - 5 >= PLAN_NAME_MAX || de->d_name[0] == '.' ||
		    strcmp(de->d_name + l - 5, ".json"))
			continue;
		snprintf(names[n], sizeof(names[n]), "%.*s", (int)(l - 5), de->d_name);
		sorted[n] = names[n];
		n++;
	}
	closedir(d);
	qsort(sorted, (size_t)n, sizeof(sorted[0]), compare_names);
	for (int i = 0; i < n && used < len; i++)
		used += snprintf(out + used, len - used, "%s%s", i ? ", " : "", sorted[i]);
	return n;
}

const char *platform_default_dir(void)
{
	const char *env = getenv("TRIAGE_PLATFORMS");
	struct stat st;

	if (env && env[0])
		return env;
	if (!stat("models/platforms", &st) && S_ISDIR(st.st_mode))
		return "models/platforms";
	return TRIAGE_DATADIR "/platforms";
}

int platform_load_named(const char *dir, const char *name, struct plan_platform *p, char *err,
			size_t errlen)
{
	char path[4096], avail[1024];
	int n;

	if (!dir)
		dir = platform_default_dir();
	/* A name is a file stem, never a path into somewhere else. */
	if (!name[0] || strchr(name, '/') || name[0] == '.') {
		snprintf(err, errlen, "platform \"%s\": not a profile name", name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	if (access(path, F_OK) == 0)
		return platform_load_file(path, p, NULL, err, errlen);
	n = platform_list(dir, avail, sizeof(avail));
	if (n < 0)
		snprintf(err, errlen, "platform \"%s\": cannot read %s: %s", name, dir,
			 strerror(-n));
	else
		snprintf(err, errlen, "platform \"%s\": no %s.json in %s (available: %s)", name,
			 name, dir, n ? avail : "none");
	return -1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Stage specs of the CPU executor (exec/exec.h): "auto", or stages joined by
 * '/', each "FIRST-LAST[xTHREADS][@CPULIST|@gpu]". A plan is checked whole, so
 * the one line of an error can say which stage is wrong and what would be
 * right: the nearest cut points, the layer the stage should start at, the
 * CPUs that are online. Parsing only turns text into a plan; every rule is
 * in check_plan(), which exec_plan_check() shares.
 *
 * Layer names may hold 'x' and digits ("Mixed_5b.branch1x1"), so a trailing
 * "xN" is first read as a thread count and, when what is left does not end
 * on a layer, as part of the name. Names hold no '-', '/' or '@'.
 *
 * "@gpu" puts the stage on the remote unit (exec_remote.c); it takes the
 * place of the CPU list, since a GPU stage's CPU fallback runs on any CPU
 * (the agent pins its threads as it pins any other's).
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpulist.h"
#include "strbuf.h"
#include "exec.h"

#define STAGE_LABEL_MAX 160

void exec_plan_single(const struct dnn_model *m, int threads, struct exec_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->nr_stages = 1;
	p->stages[0].first = 0;
	p->stages[0].last = m->nr_layers - 1;
	if (threads < 1)
		threads = 1;
	if (threads > EXEC_MAX_THREADS)
		threads = EXEC_MAX_THREADS;
	p->stages[0].threads = threads;
	CPU_ZERO(&p->stages[0].cpus);
	p->stages[0].unit = EXEC_UNIT_CPU;
}

/* ---- CPU lists ---------------------------------------------------------------- */

/* The CPUs online: /sys/devices/system/cpu/online, else 0..nproc-1. */
static void online_cpus(cpu_set_t *set)
{
	char text[1024];
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	size_t len = 0;

	if (f) {
		len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		while (len && isspace((unsigned char)text[len - 1]))
			len--;
		text[len] = '\0';
		if (cpulist_parse(text, len, CPU_SETSIZE, 0, set) > 0)
			return;
	}
	CPU_ZERO(set);
	for (long cpu = 0; cpu < sysconf(_SC_NPROCESSORS_ONLN) && cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, set);
}

/* ---- checking ----------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *label, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", label, what);
	return -1;
}

/* Can a stage end after layer i? */
static bool stage_end_ok(const struct dnn_model *m, int i)
{
	return i == m->nr_layers - 1 || m->layers[i].cut_after;
}

/* "3 (maxpool) and 8 (layer1.1.add)": the stage ends nearest to layer i on
 * either side. */
static void nearest_ends(const struct dnn_model *m, int i, char *out, size_t len)
{
	int before = -1, after = -1;
	size_t used = 0;

	for (int j = i - 1; j >= 0 && before < 0; j--)
		if (stage_end_ok(m, j))
			before = j;
	for (int j = i + 1; j < m->nr_layers && after < 0; j++)
		if (stage_end_ok(m, j))
			after = j;
	out[0] = '\0';
	if (before >= 0)
		used += snprintf(out, len, "%d (%s)", before, m->layers[before].name);
	if (after >= 0 && used < len)
		snprintf(out + used, len - used, "%s%d (%s)", before >= 0 ? " and " : "", after,
			 m->layers[after].name);
}

static int check_stage(const struct dnn_model *m, const struct exec_plan *p, int s,
		       const char *label, const cpu_set_t *online, char *err, size_t errlen)
{
	const struct exec_stage_spec *st = &p->stages[s];
	int n = m->nr_layers, expect_first = s ? p->stages[s - 1].last + 1 : 0;
	char near[256], list[256];

	if (st->unit != EXEC_UNIT_CPU && st->unit != EXEC_UNIT_GPU)
		return fail(err, errlen, label, "unit %d, expected %d (cpu) or %d (gpu)",
			    (int)st->unit, EXEC_UNIT_CPU, EXEC_UNIT_GPU);
	if (st->unit == EXEC_UNIT_GPU && CPU_COUNT(&st->cpus))
		return fail(err, errlen, label,
			    "a GPU stage takes no CPU list (its CPU fallback runs on any CPU)");
	if (st->threads < 1 || st->threads > EXEC_MAX_THREADS)
		return fail(err, errlen, label, "%d threads, expected 1 to %d", st->threads,
			    EXEC_MAX_THREADS);
	if (st->first < 0 || st->first >= n || st->last < 0 || st->last >= n)
		return fail(err, errlen, label, "layer %d is not in the model (layers 0-%d)",
			    st->first < 0 || st->first >= n ? st->first : st->last, n - 1);
	if (st->first > st->last)
		return fail(err, errlen, label, "first layer %d comes after last layer %d",
			    st->first, st->last);
	if (!s && st->first != 0)
		return fail(err, errlen, label,
			    "starts at layer %d: the first stage starts at layer 0 (%s)", st->first,
			    m->layers[0].name);
	if (s && st->first < expect_first)
		return fail(err, errlen, label,
			    "starts at layer %d, inside stage %d, which ends at layer %d (%s): "
			    "stages overlap",
			    st->first, s, expect_first - 1, m->layers[expect_first - 1].name);
	if (s && st->first > expect_first)
		return fail(err, errlen, label,
			    "starts at layer %d: layers %d-%d are in no stage (stage %d ends at "
			    "layer %d)",
			    st->first, expect_first, st->first - 1, s, expect_first - 1);
	if (!stage_end_ok(m, st->last)) {
		nearest_ends(m, st->last, near, sizeof(near));
		return fail(err, errlen, label,
			    "layer %d (%s) is not a cut point; nearest stage ends: %s", st->last,
			    m->layers[st->last].name, near);
	}
	if (s == p->nr_stages - 1 && st->last != n - 1)
		return fail(err, errlen, label,
			    "ends at layer %d: the last stage must end at the model's last layer "
			    "%d (%s)",
			    st->last, n - 1, m->layers[n - 1].name);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &st->cpus) && !CPU_ISSET(cpu, online)) {
			cpulist_format(online, list, sizeof(list));
			return fail(err, errlen, label, "CPU %d is not online (online: %s)", cpu,
				    list);
		}
	return 0;
}

/* labels[s]: how errors name stage s. */
static int check_plan(const struct dnn_model *m, const struct exec_plan *p,
		      char (*labels)[STAGE_LABEL_MAX], char *err, size_t errlen)
{
	cpu_set_t online;

	if (p->nr_stages < 1 || p->nr_stages > EXEC_MAX_STAGES)
		return fail(err, errlen, "plan", "%d stages, expected 1 to %d", p->nr_stages,
			    EXEC_MAX_STAGES);
	online_cpus(&online);
	for (int s = 0; s < p->nr_stages; s++)
		if (check_stage(m, p, s, labels[s], &online, err, errlen))
			return -1;
	return 0;
}

int exec_plan_check(const struct dnn_model *m, const struct exec_plan *p, char *err, size_t errlen)
{
	char labels[EXEC_MAX_STAGES][STAGE_LABEL_MAX];

	for (int s = 0; s < EXEC_MAX_STAGES && s < p->nr_stages; s++)
		snprintf(labels[s], sizeof(labels[s]), "stage %d (layers %d-%d)", s + 1,
			 p->stages[s].first, p->stages[s].last);
	return check_plan(m, p, labels, err, errlen);
}

/* ---- parsing ------------------------------------------------------------------- */

/* Layer index of text[0..len): a number (which check_stage() then checks
 * against the model, to say what is wrong), or a layer's name; -1 if
 * neither. */
static int resolve_layer(const struct dnn_model *m, const char *text, size_t len)
{
	bool digits = len > 0 && len < 10;

	for (size_t k = 0; k < len && digits; k++)
		digits = isdigit((unsigned char)text[k]);
	if (digits)
		return atoi(text);
	for (int i = 0; i < m->nr_layers; i++)
		if (strlen(m->layers[i].name) == len && !strncmp(m->layers[i].name, text, len))
			return i;
	return -1;
}

/* "FIRST-LAST" of text[0..len): 0, or -1 (no '-' splits it into two layers). */
static int parse_range(const struct dnn_model *m, const char *text, size_t len, int *first,
		       int *last)
{
	for (size_t k = 1; k + 1 < len; k++) {
		if (text[k] != '-')
			continue;
		*first = resolve_layer(m, text, k);
		*last = resolve_layer(m, text + k + 1, len - k - 1);
		if (*first >= 0 && *last >= 0)
			return 0;
	}
	return -1;
}

/* "FIRST-LAST[xTHREADS]" of text[0..len). */
static int parse_range_threads(const struct dnn_model *m, const char *text, size_t len,
			       struct exec_stage_spec *st)
{
	const char *x = NULL;

	for (size_t k = 0; k < len; k++)
		if (text[k] == 'x')
			x = text + k;
	if (x && x + 1 < text + len) {
		const char *d = x + 1;
		bool digits = true;

		for (; d < text + len && digits; d++)
			digits = isdigit((unsigned char)*d);
		if (digits && !parse_range(m, text, x - text, &st->first, &st->last)) {
			long threads = strtol(x + 1, NULL, 10);

			st->threads = threads > INT_MAX ? INT_MAX : (int)threads;
			return 0;
		}
	}
	st->threads = 1;
	return parse_range(m, text, len, &st->first, &st->last);
}

/* Why text[0..len) is not "FIRST-LAST[xTHREADS]": an end that is no layer
 * (names hold no '-', so the first '-' splits), or no '-' at all. */
static int bad_range(const struct dnn_model *m, const char *text, size_t len, const char *label,
		     char *err, size_t errlen)
{
	const char *dash = memchr(text, '-', len), *end = text + len, *x;

	if (dash && dash > text && resolve_layer(m, text, dash - text) < 0)
		return fail(err, errlen, label,
			    "\"%.*s\" is neither a layer index nor a layer of %s",
			    (int)(dash - text), text, m->name);
	if (dash && dash + 1 < end) {
		/* The last end, less a thread count that leaves a layer. */
		x = memrchr(dash + 1, 'x', end - dash - 1);
		if (x && resolve_layer(m, dash + 1, x - dash - 1) >= 0)
			return fail(err, errlen, label, "\"%.*s\" is not a thread count",
				    (int)(end - x - 1), x + 1);
		return fail(err, errlen, label,
			    "\"%.*s\" is neither a layer index nor a layer of %s",
			    (int)(end - dash - 1), dash + 1, m->name);
	}
	return fail(err, errlen, label,
		    "expected FIRST-LAST[xTHREADS][@CPULIST|@gpu], FIRST and LAST layer indices "
		    "(0-%d) or names",
		    m->nr_layers - 1);
}

/* Where the stage runs, from what follows its '@' (text[0..len)): the GPU
 * or a CPU list. Since a GPU stage's fallback runs on any CPU, "gpu" mixed
 * with CPUs is refused rather than read as a pinned fallback. */
static int parse_where(const char *text, size_t len, struct exec_stage_spec *st,
		       const char *label, char *err, size_t errlen)
{
	if (len == 3 && !memcmp(text, "gpu", 3)) {
		st->unit = EXEC_UNIT_GPU;
		return 0;
	}
	if (memmem(text, len, "gpu", 3))
		return fail(err, errlen, label,
			    "\"%.*s\": a stage runs on the GPU (@gpu) or on a CPU list, not both",
			    (int)len, text);
	if (len && isalpha((unsigned char)text[0]))
		return fail(err, errlen, label,
			    "\"%.*s\" is neither gpu nor a CPU list like 0-3,6", (int)len, text);
	if (cpulist_parse(text, len, CPU_SETSIZE, 0, &st->cpus) <= 0)
		return fail(err, errlen, label, "\"%.*s\" is not a CPU list like 0-3,6", (int)len,
			    text);
	return 0;
}

int exec_plan_parse(const struct dnn_model *m, const char *spec, struct exec_plan *p, char *err,
		    size_t errlen)
{
	char labels[EXEC_MAX_STAGES][STAGE_LABEL_MAX];
	const char *stage = spec;
	int s = 0;

	if (!strcmp(spec, "auto")) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		exec_plan_single(m, cpus < 1 ? 1 : (int)cpus, p);
		return 0;
	}
	memset(p, 0, sizeof(*p));
	if (!*spec)
		return fail(err, errlen, "plan",
			    "empty (expected \"auto\" or "
			    "FIRST-LAST[xTHREADS][@CPULIST|@gpu] joined by '/')");
	for (;;) {
		const char *end = strchr(stage, '/'), *at;
		size_t len = end ? (size_t)(end - stage) : strlen(stage);
		struct exec_stage_spec *st;

		if (s == EXEC_MAX_STAGES)
			return fail(err, errlen, "plan", "\"%s\": more than %d stages", spec,
				    EXEC_MAX_STAGES);
		st = &p->stages[s];
		snprintf(labels[s], sizeof(labels[s]), "stage %d (\"%.*s\")", s + 1,
			 len > 100 ? 100 : (int)len, stage);
		at = memchr(stage, '@', len);
		if (parse_range_threads(m, stage, at ? (size_t)(at - stage) : len, st))
			return bad_range(m, stage, at ? (size_t)(at - stage) : len, labels[s], err,
					 errlen);
		if (at && parse_where(at + 1, len - (at + 1 - stage), st, labels[s], err, errlen))
			return -1;
		s++;
		if (!end)
			break;
		stage = end + 1;
	}
	p->nr_stages = s;
	return check_plan(m, p, labels, err, errlen);
}

/* ---- formatting ----------------------------------------------------------------- */

int exec_plan_format(const struct exec_plan *p, char *out, size_t len)
{
	size_t used = 0;

	if (len)
		out[0] = '\0';
	for (int s = 0; s < p->nr_stages && s < EXEC_MAX_STAGES; s++) {
		const struct exec_stage_spec *st = &p->stages[s];
		char cpus[1024];

		strbuf_append(out, len, &used, "%s%d-%dx%d", s ? "/" : "", st->first, st->last,
		       st->threads);
		if (st->unit == EXEC_UNIT_GPU) {
			strbuf_append(out, len, &used, "@gpu");
			continue;
		}
		if (!CPU_COUNT(&st->cpus))
			continue;
		cpulist_format(&st->cpus, cpus, sizeof(cpus));
		strbuf_append(out, len, &used, "@%s", cpus);
	}
	return used < len ? (int)used : -1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Parsing /proc/stat, /proc/schedstat and a thread's schedstat and status
 * files, and accounting per-thread totals into workload counters. The
 * kernel prints these files with fixed layouts that only ever grow at the
 * end of a line, so fields are taken by position and extra ones ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/proc_parse.h"

#define NS_PER_S 1000000000ull

/* ticks at hz as ns, without overflowing for years of uptime. */
static uint64_t ticks_to_ns(uint64_t ticks, long hz)
{
	return ticks / (uint64_t)hz * NS_PER_S + ticks % (uint64_t)hz * NS_PER_S / (uint64_t)hz;
}

/* Parses "cpuN" at line, leaving *rest after the number; -1 for another line. */
static long cpu_line(const char *line, const char **rest)
{
	char *end;
	long cpu;

	if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
		return -1;
	cpu = strtol(line + 3, &end, 10);
	*rest = end;
	return cpu;
}

/* Up to max unsigned numbers of one line; returns how many. */
static int line_numbers(const char *p, uint64_t *v, int max)
{
	int n = 0;

	while (n < max) {
		char *end;
		unsigned long long x;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		x = strtoull(p, &end, 10);
		v[n++] = x;
		p = end;
	}
	return n;
}

static const char *next_line(const char *p)
{
	p = strchr(p, '\n');
	return p ? p + 1 : NULL;
}

int proc_parse_stat(const char *text, long ticks_per_s, struct triage_cpu_stats *out, int nr_cpus)
{
	enum { USER, NICE, SYSTEM, IDLE, IOWAIT, IRQ, SOFTIRQ, NR_FIELDS };
	int highest = -1;

	if (ticks_per_s <= 0)
		return -EINVAL;
	for (const char *line = text; line && *line; line = next_line(line)) {
		uint64_t v[NR_FIELDS] = { 0 };
		const char *rest;
		long cpu = cpu_line(line, &rest);

		/* At least user nice system idle: every kernel prints them. */
		if (cpu < 0 || line_numbers(rest, v, NR_FIELDS) < IOWAIT)
			continue;
		if (cpu > highest)
			highest = (int)cpu;
		if (cpu >= nr_cpus)
			continue;
		out[cpu].busy_ns[TRIAGE_SLOT_UNTAGGED] =
			ticks_to_ns(v[USER] + v[NICE] + v[SYSTEM] + v[IRQ] + v[SOFTIRQ], ticks_per_s);
		out[cpu].idle_ns = ticks_to_ns(v[IDLE] + v[IOWAIT], ticks_per_s);
	}
	return highest < 0 ? -EINVAL : highest + 1;
}

int proc_parse_schedstat(const char *text, struct triage_cpu_stats *out, int nr_cpus)
{
	/* cpu<N> yld_count legacy sched_count sched_goidle ttwu_count
	 *        ttwu_local rq_cpu_time run_delay pcount */
	enum { SCHED_COUNT = 2, RUN_DELAY = 7, PCOUNT = 8, NR_FIELDS };
	int cpus = 0;
	long version;

	if (strncmp(text, "version ", 8))
		return -EINVAL;
	version = strtol(text + 8, NULL, 10);
	if (version < 15)
		return -EOPNOTSUPP;
	for (const char *line = text; line && *line; line = next_line(line)) {
		uint64_t v[NR_FIELDS];
		const char *rest;
		long cpu = cpu_line(line, &rest);

		if (cpu < 0)
			continue;
		if (line_numbers(rest, v, NR_FIELDS) < NR_FIELDS)
			return -EINVAL;
		if (cpu >= nr_cpus)
			continue;
		out[cpu].wait_ns[TRIAGE_SLOT_UNTAGGED] = v[RUN_DELAY];
		out[cpu].wait_count[TRIAGE_SLOT_UNTAGGED] = v[PCOUNT];
		out[cpu].nr_switches = v[SCHED_COUNT];
		cpus++;
	}
	return cpus;
}

int proc_parse_task_schedstat(const char *text, struct proc_task_sample *out)
{
	uint64_t v[3];

	if (line_numbers(text, v, 3) != 3)
		return -EINVAL;
	out->cpu_ns = v[0];
	out->wait_ns = v[1];
	out->waits = v[2];
	return 0;
}

/* The number after "name:" at the start of a line of text. */
static int status_field(const char *text, const char *name, uint64_t *out)
{
	size_t len = strlen(name);

	for (const char *line = text; line && *line; line = next_line(line)) {
		if (strncmp(line, name, len) || line[len] != ':')
			continue;
		return line_numbers(line + len + 1, out, 1) == 1 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

int proc_parse_ctxt_switches(const char *text, uint64_t *voluntary, uint64_t *involuntary)
{
	if (status_field(text, "voluntary_ctxt_switches", voluntary) ||
	    status_field(text, "nonvoluntary_ctxt_switches", involuntary))
		return -EINVAL;
	return 0;
}

static uint64_t growth(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

void proc_account(const struct proc_task_sample *before, int nr_before,
		  struct proc_task_sample *now, int nr_now, struct triage_wl_stats *acc)
{
	static const struct proc_task_sample none;
	int b = 0;

	for (int i = 0; i < nr_now; i++) {
		struct proc_task_sample *t = &now[i];
		const struct proc_task_sample *prev = &none;

		while (b < nr_before && before[b].tid < t->tid)
			b++;
		if (b < nr_before && before[b].tid == t->tid)
			prev = &before[b];
		if (!t->have_switches) {
			t->nvcsw = prev->nvcsw;
			t->nivcsw = prev->nivcsw;
		}
		acc->cpu_ns += growth(t->cpu_ns, prev->cpu_ns);
		acc->wait_ns += growth(t->wait_ns, prev->wait_ns);
		acc->wait_count += growth(t->waits, prev->waits);
		acc->nr_voluntary += growth(t->nvcsw, prev->nvcsw);
		acc->nr_involuntary += growth(t->nivcsw, prev->nivcsw);
	}
}

static int by_tid(const void *a, const void *b)
{
	const struct proc_task_sample *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

void proc_sort_samples(struct proc_task_sample *samples, int n)
{
	qsort(samples, (size_t)n, sizeof(*samples), by_tid);
}

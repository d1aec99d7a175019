// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "cpulist.h"
#include "strbuf.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_blank_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n';
}

/* A decimal number at *p, below limit; advances *p. */
static int read_cpu(const char **p, const char *end, long limit, long *out)
{
	long v = 0;

	if (*p >= end || !is_digit(**p))
		return -1;
	for (; *p < end && is_digit(**p); (*p)++) {
		v = v * 10 + (**p - '0');
		if (v >= limit)
			return -1;
	}
	*out = v;
	return 0;
}

int cpulist_parse(const char *text, size_t len, int max_cpus, unsigned flags, cpu_set_t *set)
{
	const bool blanks = flags & CPULIST_BLANKS;
	const char *p = text, *end = text + len;
	long limit = max_cpus < CPU_SETSIZE ? max_cpus : CPU_SETSIZE;
	cpu_set_t seen;
	int count = 0;

	CPU_ZERO(&seen);
	if (set)
		CPU_ZERO(set);
	while (p < end) {
		long lo, hi;

		if (blanks && is_blank_sep(*p)) {
			p++;
			continue;
		}
		if (read_cpu(&p, end, limit, &lo))
			return -1;
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			if (read_cpu(&p, end, limit, &hi) || hi < lo)
				return -1;
		}
		for (long cpu = lo; cpu <= hi; cpu++) {
			count += !CPU_ISSET(cpu, &seen);
			CPU_SET(cpu, &seen);
		}
		if (p == end)
			break;
		if (blanks) {
			if (!is_blank_sep(*p))
				return -1;
			continue;
		}
		/* One comma, then another item. */
		if (*p++ != ',' || p == end)
			return -1;
	}
	if (set)
		*set = seen;
	return count;
}

size_t cpulist_format(const cpu_set_t *set, char *out, size_t len)
{
	size_t used = 0;

	if (len)
		out[0] = '\0';
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		int last = cpu;

		if (!CPU_ISSET(cpu, set))
			continue;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
			last++;
		if (last == cpu)
			strbuf_append(out, len, &used, "%s%d", used ? "," : "", cpu);
		else
			strbuf_append(out, len, &used, "%s%d-%d", used ? "," : "", cpu, last);
		cpu = last;
	}
	return used;
}

int cpus_online(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A rough platform profile of the running machine, built from sysfs, for a
 * machine nobody has profiled yet (platform.h). sysfs tells how CPUs group
 * (cpufreq policies: one DVFS domain, one cluster) and how fast they clock,
 * not what they sustain, so the figures are a stand-in until
 * `triage-run --profile` measures the machine; docs/platforms.md derives
 * the factors used here. The sysfs root is a parameter so that tests can
 * build a fake tree.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpulist.h"
#include "platform.h"
#include "fsutil.h"

#define HOST_MAX_CPUS 1024
/* Vector FLOP a cycle of the fastest cores this build runs on. */
#if defined(__x86_64__)
#define HOST_FLOP_PER_CYCLE 32.0 /* two 256-bit FMA ports (AVX2) */
#elif defined(__aarch64__)
#define HOST_FLOP_PER_CYCLE 16.0 /* two 128-bit NEON FMA pipes (A76/A78 class) */
#else
#define HOST_FLOP_PER_CYCLE 8.0
#endif
/* Without cpufreq (most VMs) the clock is unknown: a typical server's. */
#define HOST_DEFAULT_KHZ 2500000UL
/* Share of peak sustained per op class (conv, dwconv, fc, pool, eltwise). */
static const double host_eff[PLAN_OP__COUNT] = { 0.5, 0.2, 0.3, 0.1, 0.1 };
/* Of physical memory, what DNNs may plan to use (Ibis' 80% rule). */
#define HOST_USABLE_MEM 0.8

struct host_cluster {
	int cores;
	unsigned long khz;
	int first_cpu; /* keeps the order stable among equal speeds */
	uint64_t mask[HOST_MAX_CPUS / 64]; /* its online CPUs */
};

typedef uint64_t cpu_mask[HOST_MAX_CPUS / 64];

/* A CPU list into mask, separated by commas as in "online" ("0-3,6") or by
 * blanks as cpufreq writes related_cpus ("0 1 2 3"). Returns the number of
 * CPUs, or -1 when the text is no list. */
static int parse_cpu_list(const char *s, cpu_mask mask)
{
	cpu_set_t set;
	int count = cpulist_parse(s, strlen(s), HOST_MAX_CPUS, CPULIST_BLANKS, &set);

	memset(mask, 0, sizeof(cpu_mask));
	for (int cpu = 0; count > 0 && cpu < HOST_MAX_CPUS; cpu++)
		if (CPU_ISSET(cpu, &set))
			mask[cpu / 64] |= 1ULL << (cpu % 64);
	return count;
}

static int compare_clusters(const void *a, const void *b)
{
	const struct host_cluster *x = a, *y = b;

	if (x->khz != y->khz)
		return x->khz > y->khz ? -1 : 1;
	return x->first_cpu - y->first_cpu;
}

/* One cluster per cpufreq policy holding an online CPU; 0 without cpufreq. */
static int read_policies(const char *root, const cpu_mask online, bool have_online,
			 struct host_cluster *c)
{
	char dir[512], path[1024], line[4096];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/devices/system/cpu/cpufreq", root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < HOST_MAX_CPUS) {
		cpu_mask related;
		int cores = 0, first = -1;
		memset(c[n].mask, 0, sizeof(c[n].mask));
		unsigned idx;
		char tail;

		if (sscanf(de->d_name, "policy%u%c", &idx, &tail) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/related_cpus", dir, de->d_name);
		if (read_first_line(path, line, sizeof(line)) || parse_cpu_list(line, related) <= 0)
			continue;
		for (int cpu = 0; cpu < HOST_MAX_CPUS; cpu++) {
			uint64_t bit = 1ULL << (cpu % 64);

			if (!(related[cpu / 64] & bit) ||
			    (have_online && !(online[cpu / 64] & bit)))
				continue;
			cores++;
			c[n].mask[cpu / 64] |= bit;
			if (first < 0)
				first = cpu;
		}
		if (!cores)
			continue;
		snprintf(path, sizeof(path), "%s/%s/cpuinfo_max_freq", dir, de->d_name);
		c[n].khz = read_first_line(path, line, sizeof(line)) ? 0 : strtoul(line, NULL, 10);
		if (!c[n].khz)
			c[n].khz = HOST_DEFAULT_KHZ;
		c[n].cores = cores;
		c[n].first_cpu = first;
		n++;
	}
	closedir(d);
	return n;
}

static bool same_speed(unsigned long a, unsigned long b)
{
	return (double)b >= 0.95 * (double)a && (double)a >= 0.95 * (double)b;
}

/* Fits what sysfs reports into what the planner can hold: per-CPU
 * policies (x86) are no clusters, so equal speeds merge; past the unit
 * limit the slowest fold together; past PLAN_MAX_CORES the largest shrink. */
static int shape_clusters(struct host_cluster *c, int n)
{
	bool per_cpu = n > 1;
	int total = 0, m = 0;

	qsort(c, (size_t)n, sizeof(*c), compare_clusters);
	for (int i = 0; i < n; i++)
		per_cpu &= c[i].cores == 1;
	if (per_cpu || n > PLATFORM_MAX_FILE_UNITS) {
		for (int i = 0; i < n; i++) {
			if (m && same_speed(c[m - 1].khz, c[i].khz)) {
				c[m - 1].cores += c[i].cores;
				for (int w = 0; w < HOST_MAX_CPUS / 64; w++)
					c[m - 1].mask[w] |= c[i].mask[w];
			} else {
				c[m++] = c[i];
			}
		}
		n = m;
	}
	for (; n > PLATFORM_MAX_FILE_UNITS; n--) {
		c[n - 2].cores += c[n - 1].cores;
		c[n - 2].khz = c[n - 1].khz;
		for (int w = 0; w < HOST_MAX_CPUS / 64; w++)
			c[n - 2].mask[w] |= c[n - 1].mask[w];
	}
	for (int i = 0; i < n; i++)
		total += c[i].cores;
	while (total > PLAN_MAX_CORES) {
		int big = 0;

		for (int i = 1; i < n; i++)
			if (c[i].cores > c[big].cores)
				big = i;
		c[big].cores--;
		total--;
	}
	return n;
}

/* "cpu0".. when all clock alike, else big/mid/little by speed tier, with
 * an index when a tier holds several clusters (RK3588: big0, big1, little). */
static void name_clusters(struct plan_platform *p, const struct host_cluster *c, int n)
{
	int tier[PLAN_MAX_UNITS], nr_tiers = 0;

	for (int i = 0; i < n; i++) {
		if (!i || !same_speed(c[i - 1].khz, c[i].khz))
			nr_tiers++;
		tier[i] = nr_tiers - 1;
	}
	for (int i = 0; i < n; i++) {
		const char *label = nr_tiers == 1	      ? "cpu"
				    : tier[i] == 0	      ? "big"
				    : tier[i] == nr_tiers - 1 ? "little"
							      : "mid";
		int in_tier = 0, index = 0;

		for (int j = 0; j < n; j++) {
			in_tier += tier[j] == tier[i];
			index += tier[j] == tier[i] && j < i;
		}
		if (nr_tiers == 1 || in_tier > 1)
			snprintf(p->units[i].name, PLAN_NAME_MAX, "%s%d", label, index);
		else
			snprintf(p->units[i].name, PLAN_NAME_MAX, "%s", label);
	}
}

/* Figures for cluster i of n (fastest first): cores clocked well below the
 * fastest are taken to be the narrow in-order kind (A53/A55: one 128-bit
 * FMA a cycle, stalls on loads), the rest like the fastest. */
static void cluster_figures(struct plan_unit *u, const struct host_cluster *c, int i,
			    double usable_mb, int total_cores)
{
	bool slow = (double)c[i].khz < 0.8 * (double)c[0].khz;
	double peak = (double)c[i].khz / 1e6 * HOST_FLOP_PER_CYCLE * (slow ? 0.5 : 1.0);
	double per_core_gbps = slow ? 2.5 : 5.0, cap_gbps = slow ? 10 : 20;

	u->kind = PLAN_UNIT_CPU;
	u->cores = c[i].cores;
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		u->gflops[op] = peak * host_eff[op] * (slow ? 0.75 : 1.0);
	u->parallel_eff = slow ? 0.85 : 0.9;
	u->mem_gbps = u->cores * per_core_gbps < cap_gbps ? u->cores * per_core_gbps : cap_gbps;
	u->launch_us = slow ? 8 : 5;
	u->mem_mb = usable_mb * u->cores / total_cores;
}

/* The host's clusters, shaped (fastest first); how many, or -1 with err. */
static int host_clusters(const char *sysfs_root, struct host_cluster *c, char *err, size_t errlen)
{
	char path[512], line[4096];
	bool have_online;
	cpu_mask online;
	int n, count;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/online", sysfs_root);
	count = read_first_line(path, line, sizeof(line)) ? -1 : parse_cpu_list(line, online);
	have_online = count > 0;
	n = read_policies(sysfs_root, online, have_online, c);
	if (!n) {
		if (!have_online)
			count = (int)sysconf(_SC_NPROCESSORS_ONLN);
		if (count <= 0) {
			snprintf(err, errlen, "%s: no online CPU found", path);
			return -1;
		}
		c[0] = (struct host_cluster){ .cores = count, .khz = HOST_DEFAULT_KHZ };
		if (have_online)
			memcpy(c[0].mask, online, sizeof(c[0].mask));
		else
			for (int cpu = 0; cpu < count && cpu < HOST_MAX_CPUS; cpu++)
				c[0].mask[cpu / 64] |= 1ULL << (cpu % 64);
		n = 1;
	}
	return shape_clusters(c, n);
}

int platform_detect_host_at(const char *sysfs_root, struct plan_platform *out, char *err,
			    size_t errlen)
{
	struct plan_platform p = { .name = "host" };
	struct host_cluster c[HOST_MAX_CPUS];
	long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
	double usable_mb = 1024;
	int n, total = 0;

	if (pages > 0 && page_size > 0)
		usable_mb = HOST_USABLE_MEM * (double)pages * (double)page_size / (1024.0 * 1024.0);
	n = host_clusters(sysfs_root, c, err, errlen);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		total += c[i].cores;
	p.nr_units = n;
	name_clusters(&p, c, n);
	for (int i = 0; i < n; i++) {
		cluster_figures(&p.units[i], c, i, usable_mb, total);
		p.dram_gbps += p.units[i].mem_gbps;
	}
	/* Clusters share DRAM (and often a last-level cache): a hand-over is
	 * the reader pulling the tensor at its bandwidth after a wake-up. */
	for (int a = 0; a < n; a++) {
		for (int b = 0; b < n; b++) {
			double ga = p.units[a].mem_gbps, gb = p.units[b].mem_gbps;

			p.xfer_gbps[a][b] = a == b ? ga : ga < gb ? ga : gb;
			p.xfer_us[a][b] = a == b ? 0 : 10;
		}
	}
	if (platform_append_aggregate(&p, err, errlen))
		return -1;
	*out = p;
	return 0;
}

int platform_detect_host(struct plan_platform *p, char *err, size_t errlen)
{
	return platform_detect_host_at("/sys", p, err, errlen);
}

/* A profile with as many CPU cores as the machine has online, in other
 * clusters: its units take the CPUs in ascending order, unit by unit.
 * True when it did (set then holds unit's share of the online CPUs). */
static bool split_in_order(const struct plan_platform *p, int unit, cpu_set_t *set)
{
	int total = 0, skip = 0, online = CPU_COUNT(set), seen = 0;
	cpu_set_t all = *set;

	for (int u = 0; u < p->nr_units; u++) {
		if (p->units[u].kind != PLAN_UNIT_CPU || p->units[u].aggregate)
			continue;
		if (u < unit)
			skip += p->units[u].cores;
		total += p->units[u].cores;
	}
	if (total != online)
		return false;
	CPU_ZERO(set);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		if (seen >= skip && seen < skip + p->units[unit].cores)
			CPU_SET(cpu, set);
		seen++;
	}
	return true;
}

int platform_unit_cpus_at(const char *sysfs_root, const struct plan_platform *p, int unit,
			  cpu_set_t *set)
{
	struct host_cluster c[HOST_MAX_CPUS];
	int n, nr_cpu_units = 0, place = -1;
	bool same = true;
	char err[256];

	CPU_ZERO(set);
	if (unit < 0 || unit >= p->nr_units || p->units[unit].kind != PLAN_UNIT_CPU)
		return -1;
	n = host_clusters(sysfs_root, c, err, sizeof(err));
	if (n <= 0)
		return -1;
	for (int u = 0; u < p->nr_units; u++) {
		if (p->units[u].kind != PLAN_UNIT_CPU || p->units[u].aggregate)
			continue;
		if (u == unit)
			place = nr_cpu_units;
		same &= nr_cpu_units < n && c[nr_cpu_units].cores == p->units[u].cores;
		nr_cpu_units++;
	}
	same &= nr_cpu_units == n;
	for (int i = 0; i < n; i++) {
		if (same && place >= 0 && i != place)
			continue;
		for (int cpu = 0; cpu < HOST_MAX_CPUS && cpu < CPU_SETSIZE; cpu++)
			if (c[i].mask[cpu / 64] & (1ULL << (cpu % 64)))
				CPU_SET(cpu, set);
	}
	if (same || p->units[unit].aggregate)
		return 0;
	return split_in_order(p, unit, set) ? 0 : 1;
}

int platform_unit_cpus(const struct plan_platform *p, int unit, cpu_set_t *set)
{
	return platform_unit_cpus_at("/sys", p, unit, set);
}


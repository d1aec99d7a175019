// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* CPU lists (lib/cpulist): the cpuset syntax, cpufreq's blank-separated
 * form, limits, and formatting back to the shortest ranges. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpulist.h"

static int parse(const char *text, int max, unsigned flags, cpu_set_t *set)
{
	return cpulist_parse(text, strlen(text), max, flags, set);
}

Test(cpulist, ranges_and_singles)
{
	cpu_set_t set;

	cr_assert_eq(parse("0-3,6", CPU_SETSIZE, 0, &set), 5);
	for (int cpu = 0; cpu < 8; cpu++)
		cr_assert_eq(!!CPU_ISSET(cpu, &set), cpu <= 3 || cpu == 6, "cpu %d", cpu);
	cr_assert_eq(parse("7", CPU_SETSIZE, 0, &set), 1);
	cr_assert(CPU_ISSET(7, &set));
	cr_assert_eq(CPU_COUNT(&set), 1);
}

Test(cpulist, overlaps_count_once)
{
	cpu_set_t set;

	cr_assert_eq(parse("0-3,2-5,5", CPU_SETSIZE, 0, &set), 6);
	cr_assert_eq(CPU_COUNT(&set), 6);
}

Test(cpulist, empty_is_no_cpu)
{
	cpu_set_t set;

	CPU_SET(3, &set);
	cr_assert_eq(parse("", CPU_SETSIZE, 0, &set), 0);
	cr_assert_eq(CPU_COUNT(&set), 0);
	cr_assert_eq(parse("", CPU_SETSIZE, CPULIST_BLANKS, NULL), 0);
}

Test(cpulist, strict_syntax_refused)
{
	const char *bad[] = { "0-", "-1", "3-1", "0,,2", "0,", ",0", "0 - 3", "0 1", "a",
			      "0-3\n", "+1", "1x" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cpu_set_t set;

		CPU_SET(0, &set);
		cr_assert_eq(parse(bad[i], CPU_SETSIZE, 0, &set), -1, "'%s' was taken", bad[i]);
		cr_assert_eq(CPU_COUNT(&set), 0, "'%s' left CPUs set", bad[i]);
	}
}

Test(cpulist, blanks_as_cpufreq_writes_them)
{
	cpu_set_t set;

	cr_assert_eq(parse("0 1 2 3\n", CPU_SETSIZE, CPULIST_BLANKS, &set), 4);
	cr_assert(CPU_ISSET(3, &set) && !CPU_ISSET(4, &set));
	cr_assert_eq(parse("4-5, 8\t9", CPU_SETSIZE, CPULIST_BLANKS, &set), 4);
	cr_assert(CPU_ISSET(9, &set));
	cr_assert_eq(parse("0 x", CPU_SETSIZE, CPULIST_BLANKS, &set), -1);
	cr_assert_eq(parse("2-1", CPU_SETSIZE, CPULIST_BLANKS, &set), -1);
}

Test(cpulist, limit)
{
	cr_assert_eq(parse("0-63", 64, 0, NULL), 64);
	cr_assert_eq(parse("64", 64, 0, NULL), -1);
	cr_assert_eq(parse("0-64", 64, 0, NULL), -1);
	cr_assert_eq(parse("99999999999999999999", CPU_SETSIZE, 0, NULL), -1);
}

Test(cpulist, length_bounds_the_text)
{
	cpu_set_t set;

	/* "0-3,6" read as its first three characters: "0-3". */
	cr_assert_eq(cpulist_parse("0-3,6", 3, CPU_SETSIZE, 0, &set), 4);
	cr_assert(!CPU_ISSET(6, &set));
}

Test(cpulist, format_shortest_ranges)
{
	cpu_set_t set;
	char out[64];

	CPU_ZERO(&set);
	cr_assert_eq(cpulist_format(&set, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	for (int cpu = 0; cpu <= 3; cpu++)
		CPU_SET(cpu, &set);
	CPU_SET(6, &set);
	CPU_SET(8, &set);
	CPU_SET(9, &set);
	cr_assert_eq(cpulist_format(&set, out, sizeof(out)), strlen("0-3,6,8-9"));
	cr_assert_str_eq(out, "0-3,6,8-9");
}

Test(cpulist, format_cut_counts_what_it_needs)
{
	cpu_set_t set;
	char out[4];

	CPU_ZERO(&set);
	CPU_SET(10, &set);
	CPU_SET(12, &set);
	CPU_SET(14, &set);
	cr_assert_eq(cpulist_format(&set, out, sizeof(out)), strlen("10,12,14"));
	cr_assert_str_eq(out, "10,");
}

Test(cpulist, round_trip)
{
	const char *lists[] = { "0", "0-1", "1,3,5-7", "0-1023" };

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		cpu_set_t set;
		char out[64];

		cr_assert_geq(parse(lists[i], CPU_SETSIZE, 0, &set), 1);
		cpulist_format(&set, out, sizeof(out));
		cr_assert_str_eq(out, lists[i]);
	}
}

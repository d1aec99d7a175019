// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The clocks (lib/clock) and the text helpers (lib/strbuf, lib/errbuf). */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "errbuf.h"
#include "strbuf.h"

Test(clock, monotonic_units_agree)
{
	uint64_t ns = mono_ns();
	double ms = mono_ms(), s = mono_s();
	struct timespec nap = { 0, 20 * 1000 * 1000 };

	cr_assert(ms * 1e6 >= (double)ns, "mono_ms %.3f ran before mono_ns %llu", ms,
		  (unsigned long long)ns);
	cr_assert(s * 1e3 >= ms - 1e-3);
	nanosleep(&nap, NULL);
	cr_assert_geq(mono_ns() - ns, 20 * 1000 * 1000ull, "a 20 ms sleep took less");
	cr_assert(mono_us() * 1e3 >= (double)ns);
}

Test(clock, cputime_follows_work_not_sleep)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	uint64_t before = cputime_ns(), spun;
	volatile unsigned long x = 0;

	nanosleep(&nap, NULL);
	cr_assert_lt(cputime_ns() - before, 40 * 1000 * 1000ull, "sleeping was charged as CPU");
	before = cputime_ns();
	while ((spun = cputime_ns() - before) < 10 * 1000 * 1000ull)
		x++;
	cr_assert_geq(cputime_ms(), (double)before / 1e6 + 10.0 - 1e-6);
}

Test(strbuf, appends_and_counts_a_cut)
{
	char out[8];
	size_t used = 0;

	strbuf_append(out, sizeof(out), &used, "%s", "abc");
	strbuf_append(out, sizeof(out), &used, "-%d", 42);
	cr_assert_str_eq(out, "abc-42");
	cr_assert_eq(used, 6);
	strbuf_append(out, sizeof(out), &used, "%s", "xyz");
	cr_assert_eq(used, 9, "the cut piece still counts");
	cr_assert_str_eq(out, "abc-42x");
	strbuf_append(out, sizeof(out), &used, "%s", "more");
	cr_assert_eq(used, 13);
	cr_assert_str_eq(out, "abc-42x");
}

Test(errbuf, fills_and_tolerates_no_buffer)
{
	char err[16];

	set_error(err, sizeof(err), "%s: %d", "bad", 7);
	cr_assert_str_eq(err, "bad: 7");
	set_error(err, 4, "%s", "truncated");
	cr_assert_str_eq(err, "tru");
	set_error(NULL, 10, "ignored");
	set_error(err, 0, "ignored");
	cr_assert_str_eq(err, "tru");
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Checked numbers (lib/numparse.h): the whole text within [min, max], the
 * reason for a refusal, and the options' exit 2 with one line naming them. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "numparse.h"

/* num_parse_long(text) refused, *out untouched, err containing want. */
static void long_refused(const char *text, long min, long max, const char *want)
{
	char err[128] = "";
	long v = 42;

	cr_expect_eq(num_parse_long(text, min, max, &v, err, sizeof(err)), -1, "'%s' accepted",
		     text ? text : "(null)");
	cr_expect_eq(v, 42, "'%s': *out written on failure", text ? text : "(null)");
	cr_expect(strstr(err, want), "'%s': err \"%s\" lacks \"%s\"", text ? text : "(null)", err,
		  want);
}

static void double_refused(const char *text, double min, double max, const char *want)
{
	char err[128] = "";
	double v = 42;

	cr_expect_eq(num_parse_double(text, min, max, &v, err, sizeof(err)), -1, "'%s' accepted",
		     text);
	cr_expect_eq(v, 42, "'%s': *out written on failure", text);
	cr_expect(strstr(err, want), "'%s': err \"%s\" lacks \"%s\"", text, err, want);
}

Test(numparse, long_accepts_whole_numbers_in_range)
{
	char err[128];
	long v = 0;

	cr_assert_eq(num_parse_long("17", 1, 64, &v, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(v, 17);
	cr_assert_eq(num_parse_long("-5", -10, 10, &v, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(v, -5);
	cr_assert_eq(num_parse_long("+3", 0, 10, &v, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(v, 3);
	cr_assert_eq(num_parse_long("0x1f", 0, 100, &v, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(v, 31);
	cr_assert_eq(num_parse_long("010", 0, 100, &v, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(v, 10, "decimal, not octal");
}

Test(numparse, long_bounds_are_inclusive)
{
	char err[128];
	long v = 0;

	cr_expect_eq(num_parse_long("1", 1, 64, &v, err, sizeof(err)), 0);
	cr_expect_eq(v, 1);
	cr_expect_eq(num_parse_long("64", 1, 64, &v, err, sizeof(err)), 0);
	cr_expect_eq(v, 64);
	long_refused("0", 1, 64, "'0' is not an integer between 1 and 64 (out of range)");
	long_refused("65", 1, 64, "'65' is not an integer between 1 and 64");
	cr_expect_eq(num_parse_long("9223372036854775807", 0, LONG_MAX, &v, err, sizeof(err)), 0);
	cr_expect_eq(v, LONG_MAX);
	long_refused("-1", 0, LONG_MAX, "'-1' is not an integer >= 0");
}

Test(numparse, long_refuses_empty_garbage_and_overflow)
{
	long_refused("", 0, 10, "'' is not an integer between 0 and 10 (empty)");
	long_refused(NULL, 0, 10, "(empty)");
	long_refused("abc", 0, 10, "'abc' is not an integer between 0 and 10");
	long_refused("12abc", 0, 100, "(\"abc\" after the number)");
	long_refused("5 ", 0, 10, "after the number");
	long_refused(" 5", 0, 10, "(blank before the number)");
	long_refused("1.5", 0, 10, "(\".5\" after the number)");
	long_refused("0x", 0, 10, "after the number");
	long_refused("-", 0, 10, "'-' is not an integer");
	long_refused("99999999999999999999", 0, LONG_MAX, "(out of range)");
	long_refused("-99999999999999999999", LONG_MIN, 0, "(out of range)");
}

Test(numparse, u64_full_range_and_no_sign_wraparound)
{
	char err[128] = "";
	uint64_t v = 7;

	cr_assert_eq(num_parse_u64("18446744073709551615", 0, UINT64_MAX, &v, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(v, UINT64_MAX);
	cr_assert_eq(num_parse_u64("0xdeadbeef", 0, UINT64_MAX, &v, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(v, 0xdeadbeefull);
	v = 7;
	cr_expect_eq(num_parse_u64("-1", 0, UINT64_MAX, &v, err, sizeof(err)), -1,
		     "strtoull's -1 is UINT64_MAX: refused");
	cr_expect_eq(v, 7);
	cr_expect(strstr(err, "'-1' is not an integer >= 0 (out of range)"), "%s", err);
	cr_expect_eq(num_parse_u64("18446744073709551616", 0, UINT64_MAX, &v, err, sizeof(err)),
		     -1);
	cr_expect(strstr(err, "(out of range)"), "%s", err);
	cr_expect_eq(num_parse_u64("11", 1, 10, &v, err, sizeof(err)), -1);
	cr_expect(strstr(err, "'11' is not an integer between 1 and 10"), "%s", err);
	cr_expect_eq(num_parse_u64("", 1, 10, &v, err, sizeof(err)), -1);
	cr_expect(strstr(err, "(empty)"), "%s", err);
	cr_expect_eq(num_parse_u64("3x", 1, 10, &v, err, sizeof(err)), -1);
	cr_expect(strstr(err, "(\"x\" after the number)"), "%s", err);
	cr_expect_eq(v, 7);
}

Test(numparse, double_accepts_and_bounds)
{
	char err[128];
	double v = 0;

	cr_assert_eq(num_parse_double("2.5", 0, 10, &v, err, sizeof(err)), 0, "%s", err);
	cr_expect_float_eq(v, 2.5, 1e-12);
	cr_assert_eq(num_parse_double("1e3", 0, 1e5, &v, err, sizeof(err)), 0, "%s", err);
	cr_expect_float_eq(v, 1000, 1e-9);
	cr_expect_eq(num_parse_double("0", 0, 1, &v, err, sizeof(err)), 0, "min is in");
	cr_expect_eq(num_parse_double("1", 0, 1, &v, err, sizeof(err)), 0, "max is in");
	cr_expect_float_eq(v, 1, 1e-12);
	double_refused("1.0001", 0, 1, "'1.0001' is not a number between 0 and 1 (out of range)");
	double_refused("-0.5", 0, 1, "(out of range)");
	double_refused("0.001", 0.01, 100000, "between 0.01 and 100000");
	double_refused("-1", 0, DBL_MAX, "'-1' is not a number >= 0");
}

Test(numparse, double_refuses_empty_garbage_overflow_nan_inf)
{
	double_refused("", 0, 10, "'' is not a number between 0 and 10 (empty)");
	double_refused("abc", 0, 10, "'abc' is not a number between 0 and 10");
	double_refused("3ms", 0, 10, "(\"ms\" after the number)");
	double_refused(" 3", 0, 10, "(blank before the number)");
	double_refused("1e999", 0, DBL_MAX, "(out of range)");
	double_refused("-1e999", -DBL_MAX, DBL_MAX, "(out of range)");
	double_refused("nan", -DBL_MAX, DBL_MAX, "'nan' is not a number >= ");
	double_refused("NaN", 0, 10, "(not finite)");
	double_refused("inf", 0, DBL_MAX, "(not finite)");
	double_refused("-infinity", -DBL_MAX, DBL_MAX, "(not finite)");
}

Test(numparse, double_above_excludes_its_bound)
{
	char err[128] = "";
	double v = 42;

	cr_expect_eq(num_parse_double_above("0", 0, DBL_MAX, &v, err, sizeof(err)), -1);
	cr_expect_eq(v, 42);
	cr_expect(strstr(err, "'0' is not a positive number (out of range)"), "%s", err);
	cr_expect_eq(num_parse_double_above("-0", 0, DBL_MAX, &v, err, sizeof(err)), -1);
	cr_assert_eq(num_parse_double_above("1e-9", 0, DBL_MAX, &v, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_float_eq(v, 1e-9, 1e-20);
	cr_expect_eq(num_parse_double_above("1", 0, 1, &v, err, sizeof(err)), 0, "max is in");
	cr_expect_eq(num_parse_double_above("1.5", 0, 1, &v, err, sizeof(err)), -1);
	cr_expect(strstr(err, "'1.5' is not a number > 0 and <= 1"), "%s", err);
	cr_expect_eq(num_parse_double_above("nan", 0, 1, &v, err, sizeof(err)), -1);
	cr_expect(strstr(err, "(not finite)"), "%s", err);
}

Test(numparse, err_may_be_null_or_short)
{
	char tiny[8];
	long v;

	cr_expect_eq(num_parse_long("x", 0, 1, &v, NULL, 0), -1);
	cr_expect_eq(num_parse_long("x", 0, 1, &v, tiny, sizeof(tiny)), -1);
	cr_expect_eq(strlen(tiny), sizeof(tiny) - 1, "truncated, terminated");
}

Test(numparse, options_return_good_values)
{
	cr_expect_eq(opt_long("--count", "12", 1, 100), 12);
	cr_expect_eq(opt_u64("--seed", "0x10", 0, UINT64_MAX), 16);
	cr_expect_float_eq(opt_double("--rate", "2.5", 0, 10), 2.5, 1e-12);
	cr_expect_float_eq(opt_double_above("--period-ms", "0.5", 0, DBL_MAX), 0.5, 1e-12);
}

Test(numparse, bad_long_option_exits_2, .exit_code = 2, .init = cr_redirect_stderr)
{
	opt_long("--count", "abc", 1, 100);
}

Test(numparse, bad_u64_option_exits_2, .exit_code = 2, .init = cr_redirect_stderr)
{
	opt_u64("--seed", "-1", 0, UINT64_MAX);
}

Test(numparse, bad_double_option_exits_2, .exit_code = 2, .init = cr_redirect_stderr)
{
	opt_double("--rate", "nan", 0, 10);
}

Test(numparse, bad_positive_option_exits_2, .exit_code = 2, .init = cr_redirect_stderr)
{
	opt_double_above("--period-ms", "0", 0, DBL_MAX);
}

/* The one line a bad option gets, read from a child that takes it. */
Test(numparse, bad_option_says_program_option_value_and_range)
{
	char line[256] = "", want[256];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		opt_double("--rate", "-3", 0, 100000);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], line, sizeof(line) - 1);
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status 0x%x", status);
	line[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want),
		 "%s: --rate: '-3' is not a number between 0 and 100000 (out of range)\n",
		 program_invocation_short_name);
	cr_expect_str_eq(line, want);
}

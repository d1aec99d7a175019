// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "errbuf.h"
#include "numparse.h"

enum verdict { NUM_OK, NUM_EMPTY, NUM_BLANK, NUM_NONE, NUM_TRAILING, NUM_RANGE, NUM_NOT_FINITE };

/* What the text's first character already says; strto*() would skip blanks. */
static enum verdict check_start(const char *text)
{
	if (!text || !*text)
		return NUM_EMPTY;
	if (isspace((unsigned char)*text))
		return NUM_BLANK;
	return NUM_OK;
}

/* After strto*(): the whole text must have been the number. */
static enum verdict check_end(const char *text, const char *end)
{
	if (end == text)
		return NUM_NONE;
	if (*end)
		return NUM_TRAILING;
	if (errno == ERANGE)
		return NUM_RANGE;
	return NUM_OK;
}

/* Decimal, or hexadecimal after an optional sign and 0x. */
static int int_base(const char *text)
{
	const char *p = text + (*text == '+' || *text == '-');

	return p[0] == '0' && (p[1] == 'x' || p[1] == 'X') ? 16 : 10;
}

static int explain(enum verdict v, const char *text, const char *end, const char *expected,
		   char *err, size_t errlen)
{
	switch (v) {
	case NUM_OK:
		return 0;
	case NUM_EMPTY:
		set_error(err, errlen, "'' is not %s (empty)", expected);
		break;
	case NUM_BLANK:
		set_error(err, errlen, "'%s' is not %s (blank before the number)", text, expected);
		break;
	case NUM_NONE:
		set_error(err, errlen, "'%s' is not %s", text, expected);
		break;
	case NUM_TRAILING:
		set_error(err, errlen, "'%s' is not %s (\"%s\" after the number)", text, expected,
			  end);
		break;
	case NUM_RANGE:
		set_error(err, errlen, "'%s' is not %s (out of range)", text, expected);
		break;
	case NUM_NOT_FINITE:
		set_error(err, errlen, "'%s' is not %s (not finite)", text, expected);
		break;
	}
	return -1;
}

int num_parse_long(const char *text, long min, long max, long *out, char *err, size_t errlen)
{
	enum verdict v = check_start(text);
	char expected[96];
	char *end = NULL;
	long x = 0;

	if (v == NUM_OK) {
		errno = 0;
		x = strtol(text, &end, int_base(text));
		v = check_end(text, end);
		if (v == NUM_OK && (x < min || x > max))
			v = NUM_RANGE;
	}
	if (v == NUM_OK) {
		*out = x;
		return 0;
	}
	if (max == LONG_MAX)
		snprintf(expected, sizeof(expected), "an integer >= %ld", min);
	else
		snprintf(expected, sizeof(expected), "an integer between %ld and %ld", min, max);
	return explain(v, text, end, expected, err, errlen);
}

int num_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen)
{
	enum verdict v = check_start(text);
	char expected[96];
	char *end = NULL;
	unsigned long long x = 0;

	if (v == NUM_OK) {
		errno = 0;
		x = strtoull(text, &end, int_base(text));
		v = check_end(text, end);
		/* strtoull() takes "-1" as ULLONG_MAX: a sign is out of range. */
		if (v == NUM_OK && (*text == '-' || x < min || x > max))
			v = NUM_RANGE;
	}
	if (v == NUM_OK) {
		*out = x;
		return 0;
	}
	if (max == UINT64_MAX)
		snprintf(expected, sizeof(expected), "an integer >= %" PRIu64, min);
	else
		snprintf(expected, sizeof(expected), "an integer between %" PRIu64 " and %" PRIu64,
			 min, max);
	return explain(v, text, end, expected, err, errlen);
}

/* [lo, hi], or (lo, hi] where open. */
static int parse_double(const char *text, double lo, bool open, double hi, double *out,
			char *err, size_t errlen)
{
	enum verdict v = check_start(text);
	char expected[96];
	char *end = NULL;
	double x = 0;

	if (v == NUM_OK) {
		errno = 0;
		x = strtod(text, &end);
		v = check_end(text, end);
		if (v == NUM_OK && !isfinite(x))
			v = NUM_NOT_FINITE;
		if (v == NUM_OK && !((open ? x > lo : x >= lo) && x <= hi))
			v = NUM_RANGE;
	}
	if (v == NUM_OK) {
		*out = x;
		return 0;
	}
	if (open && lo == 0 && hi >= DBL_MAX)
		snprintf(expected, sizeof(expected), "a positive number");
	else if (hi >= DBL_MAX)
		snprintf(expected, sizeof(expected), "a number %s %g", open ? ">" : ">=", lo);
	else if (open)
		snprintf(expected, sizeof(expected), "a number > %g and <= %g", lo, hi);
	else
		snprintf(expected, sizeof(expected), "a number between %g and %g", lo, hi);
	return explain(v, text, end, expected, err, errlen);
}

int num_parse_double(const char *text, double min, double max, double *out, char *err,
		     size_t errlen)
{
	return parse_double(text, min, false, max, out, err, errlen);
}

int num_parse_double_above(const char *text, double above, double max, double *out, char *err,
			   size_t errlen)
{
	return parse_double(text, above, true, max, out, err, errlen);
}

static void __attribute__((noreturn)) bad_option(const char *name, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, name, why);
	exit(NUM_EXIT_USAGE);
}

/* One body for the option helpers: the value, or the reason and exit 2. */
#define DEFINE_OPT(type, fn, parse, lo_type)                                    \
	type fn(const char *name, const char *value, lo_type lo, type max)      \
	{                                                                       \
		char err[256];                                                  \
		type v;                                                         \
                                                                                \
		if (parse(value, lo, max, &v, err, sizeof(err)))                \
			bad_option(name, err);                                  \
		return v;                                                       \
	}

DEFINE_OPT(long, opt_long, num_parse_long, long)
DEFINE_OPT(uint64_t, opt_u64, num_parse_u64, uint64_t)
DEFINE_OPT(double, opt_double, num_parse_double, double)
DEFINE_OPT(double, opt_double_above, num_parse_double_above, double)

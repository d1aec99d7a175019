/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Checked numbers from the command line and the environment. A parser takes
 * the whole of text as one number and accepts it only within its range:
 * nothing empty, no blank before it, nothing after it, no overflow, and a
 * double is finite (no NaN, no inf). Integers are decimal, or hexadecimal
 * after 0x. On success *out is set and 0 returned; otherwise *out is left
 * alone, -1 returned and err (lib/errbuf.h) gets one line naming the text,
 * the range and why: 'abc' is not an integer between 1 and 64. A max of
 * LONG_MAX, UINT64_MAX or DBL_MAX means no upper bound ("an integer >= 1").
 *
 * opt_*() are for programs' options: the value of option NAME (as written:
 * "--rate", "-n"), or one line on stderr, "PROGRAM: NAME: <that line>",
 * and exit(NUM_EXIT_USAGE).
 */
#ifndef TRIAGE_LIB_NUMPARSE_H
#define TRIAGE_LIB_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

#define NUM_EXIT_USAGE 2

int num_parse_long(const char *text, long min, long max, long *out, char *err, size_t errlen);
int num_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen);
/* [min, max]. */
int num_parse_double(const char *text, double min, double max, double *out, char *err,
		     size_t errlen);
/* (above, max]: what must be positive takes above = 0. */
int num_parse_double_above(const char *text, double above, double max, double *out, char *err,
			   size_t errlen);

long opt_long(const char *name, const char *value, long min, long max);
uint64_t opt_u64(const char *name, const char *value, uint64_t min, uint64_t max);
double opt_double(const char *name, const char *value, double min, double max);
double opt_double_above(const char *name, const char *value, double above, double max);

#endif

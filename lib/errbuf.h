/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The error buffer every part fills: a function that can fail takes
 * (char *err, size_t errlen) and writes one line there saying what went
 * wrong and where; err may be NULL or errlen 0 when the caller wants none. */
#ifndef TRIAGE_LIB_ERRBUF_H
#define TRIAGE_LIB_ERRBUF_H

#include <stddef.h>

void set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Text built piece by piece into a fixed buffer, cut to fit like snprintf. */
#ifndef TRIAGE_LIB_STRBUF_H
#define TRIAGE_LIB_STRBUF_H

#include <stddef.h>

/* snprintf at out + *used; *used grows by what the piece needs, fitting or
 * not, as snprintf counts, so the caller can tell the text was cut. */
void strbuf_append(char *out, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif

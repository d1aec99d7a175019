/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Reading the small text files of procfs and sysfs. */
#ifndef TRIAGE_FSUTIL_H
#define TRIAGE_FSUTIL_H

#include <stddef.h>

/* Reads at most len - 1 bytes of path into buf, NUL-terminated. 0 or -errno. */
int read_text(const char *path, char *buf, size_t len);

/* Reads the first line of path into buf, without its newline. */
int read_first_line(const char *path, char *buf, size_t len);

#endif

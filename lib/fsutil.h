/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Reading the small text files of procfs and sysfs, and writing a state
 * file so that a crash leaves either the old one or the new one. */
#ifndef TRIAGE_FSUTIL_H
#define TRIAGE_FSUTIL_H

#include <stddef.h>

/* Reads at most len - 1 bytes of path into buf, NUL-terminated. 0 or -errno. */
int read_text(const char *path, char *buf, size_t len);

/* Reads the first line of path into buf, without its newline. */
int read_first_line(const char *path, char *buf, size_t len);

/* Writes text (and a newline) to dir/name through dir/name.tmp, renamed
 * over dir/name, so a process killed at any point leaves the old file or
 * the new one, never half of either. Not synced to disk: the agent's
 * journals describe cgroups and processes, which a reboot takes with them,
 * and an fsync can wait a second for the file system's kernel threads
 * while real-time tasks hold every CPU (what the guard must then act on).
 * dir is created (0755) if missing; the file is 0600. 0 or -errno. */
int write_file_atomic(const char *dir, const char *name, const char *text);

/* Writes len bytes of data to path through path.tmp, renamed over path
 * (0644, the directory must exist): a reader sees the old file or the
 * whole new one. 0 or -errno. */
int write_bytes_atomic(const char *path, const void *data, size_t len);

/* The same with text and a newline. */
int write_text_atomic(const char *path, const char *text);

/* All of path, at most max bytes, into a malloc'ed NUL-terminated *text
 * (its length in *len, which may be NULL). 0, or -errno of opening it,
 * -ENOMEM, -EFBIG when it holds more than max bytes, -EIO on a read error. */
int read_file_alloc(const char *path, size_t max, char **text, size_t *len);

/* What follows the last '/' of path (all of it without one). */
const char *path_base(const char *path);

/* The run directory: given when non-empty, else $TRIAGE_RUN_DIR when set
 * and non-empty, else /run/triage (include/triage/abi.h). */
const char *run_dir_resolve(const char *given);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* CPU lists in the kernel's syntax, "0-3,6", as cpuset.cpus, sysfs's
 * online file and triage's stage specs write them; cpufreq's related_cpus
 * separates single CPUs by blanks instead ("0 1 2 3"). */
#ifndef TRIAGE_LIB_CPULIST_H
#define TRIAGE_LIB_CPULIST_H

#include <sched.h>
#include <stddef.h>

/* Blanks, tabs and newlines separate items too, and separators may repeat. */
#define CPULIST_BLANKS 0x1

/* Parses len characters of text: items N or N-M (N <= M) joined by single
 * commas, nothing else (with CPULIST_BLANKS, any run of ", \t\n"). CPUs of
 * max_cpus or more make it fail. The empty list is a list of no CPU.
 * Sets the CPUs in *set when set is not NULL (cleared first). Returns the
 * number of distinct CPUs, or -1 when the text is no such list. */
int cpulist_parse(const char *text, size_t len, int max_cpus, unsigned flags, cpu_set_t *set);

/* Writes the shortest list of ranges of set into out ("" for none), cut to
 * len like snprintf; returns the characters the whole list needs. */
size_t cpulist_format(const cpu_set_t *set, char *out, size_t len);

/* CPUs online now (sysconf), at least 1. */
int cpus_online(void);

#endif

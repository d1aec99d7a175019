/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A set of process ids of fixed size, for "told once" memories that an
 * unprivileged user can fill (a flood of client files): lookups stay O(1)
 * however many there are, and when the set is full it starts again empty,
 * so the worst case is one more line per pid, never unbounded memory. */
#ifndef TRIAGE_LIB_PIDSET_H
#define TRIAGE_LIB_PIDSET_H

#include <stdbool.h>
#include <sys/types.h>

#define PIDSET_SLOTS 8192 /* a power of two; at most half of them used */

struct pidset {
	unsigned nr;
	pid_t slot[PIDSET_SLOTS]; /* 0: empty */
};

void pidset_clear(struct pidset *s);
bool pidset_has(const struct pidset *s, pid_t pid);
/* Adds pid (> 0); a full set is emptied first. */
void pidset_add(struct pidset *s, pid_t pid);
void pidset_del(struct pidset *s, pid_t pid);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>

#include "pidset.h"

#define MASK (PIDSET_SLOTS - 1)

/* Fibonacci hashing: consecutive pids land far apart. */
static unsigned home(pid_t pid)
{
	return ((unsigned)pid * 2654435769u) >> (32 - __builtin_ctz(PIDSET_SLOTS));
}

void pidset_clear(struct pidset *s)
{
	memset(s, 0, sizeof(*s));
}

bool pidset_has(const struct pidset *s, pid_t pid)
{
	if (pid <= 0)
		return false;
	for (unsigned i = home(pid);; i = (i + 1) & MASK) {
		if (s->slot[i] == pid)
			return true;
		if (!s->slot[i])
			return false;
	}
}

void pidset_add(struct pidset *s, pid_t pid)
{
	unsigned i;

	if (pid <= 0 || pidset_has(s, pid))
		return;
	if (s->nr >= PIDSET_SLOTS / 2)
		pidset_clear(s);
	for (i = home(pid); s->slot[i]; i = (i + 1) & MASK)
		;
	s->slot[i] = pid;
	s->nr++;
}

void pidset_del(struct pidset *s, pid_t pid)
{
	unsigned i, j;

	if (pid <= 0)
		return;
	for (i = home(pid); s->slot[i] != pid; i = (i + 1) & MASK)
		if (!s->slot[i])
			return;
	/* Backward shift: move up each later entry whose home does not lie
	 * cyclically in (i, j], so no probe chain has a hole. */
	s->slot[i] = 0;
	s->nr--;
	for (j = (i + 1) & MASK; s->slot[j]; j = (j + 1) & MASK) {
		unsigned h = home(s->slot[j]);

		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			s->slot[i] = s->slot[j];
			s->slot[j] = 0;
			i = j;
		}
	}
}

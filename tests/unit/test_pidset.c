// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* lib/pidset: membership through adds and deletes, probe chains kept
 * whole by deletion, and the reset when full. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "pidset.h"

static struct pidset set;

Test(pidset, add_has_del)
{
	pidset_clear(&set);
	cr_assert_not(pidset_has(&set, 42));
	pidset_add(&set, 42);
	pidset_add(&set, 42);
	cr_assert(pidset_has(&set, 42));
	cr_assert_eq(set.nr, 1, "added twice, held once");
	pidset_del(&set, 42);
	cr_assert_not(pidset_has(&set, 42));
	cr_assert_eq(set.nr, 0);
	pidset_add(&set, 0);
	pidset_add(&set, -5);
	cr_assert_eq(set.nr, 0, "no pid is 0 or below");
	pidset_del(&set, 7); /* absent: nothing happens */
	cr_assert_eq(set.nr, 0);
}

/* Against a plain array as the reference, many random operations. */
Test(pidset, random_operations_match_a_reference)
{
	static bool ref[20000];
	unsigned seed = 12345;

	pidset_clear(&set);
	for (int op = 0; op < 200000; op++) {
		pid_t pid = (pid_t)(rand_r(&seed) % 3000 + 1);

		if (rand_r(&seed) % 3) {
			pidset_add(&set, pid);
			ref[pid] = true;
		} else {
			pidset_del(&set, pid);
			ref[pid] = false;
		}
	}
	for (pid_t pid = 1; pid <= 3000; pid++)
		cr_assert_eq(pidset_has(&set, pid), ref[pid], "pid %d", (int)pid);
}

Test(pidset, full_starts_again_empty)
{
	pidset_clear(&set);
	for (pid_t pid = 1; pid <= PIDSET_SLOTS / 2; pid++)
		pidset_add(&set, pid);
	cr_assert_eq(set.nr, PIDSET_SLOTS / 2);
	cr_assert(pidset_has(&set, 1));
	pidset_add(&set, 999999);
	cr_assert_eq(set.nr, 1, "the full set was emptied first");
	cr_assert(pidset_has(&set, 999999));
	cr_assert_not(pidset_has(&set, 1));
}

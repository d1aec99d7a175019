// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Which cgroup paths count as already inside the triage tree. */
#include <criterion/criterion.h>

#include "policy/rules_scan.h"

Test(rules_scan, path_in_root)
{
	cr_assert(rules_path_in_root("/triage", "triage"));
	cr_assert(rules_path_in_root("/triage/critical/detector", "triage"));
	cr_assert_not(rules_path_in_root("/triage-other/x", "triage"), "a sibling sharing the prefix");
	cr_assert_not(rules_path_in_root("/system.slice/triage", "triage"));
	cr_assert_not(rules_path_in_root("/", "triage"));
	cr_assert_not(rules_path_in_root("triage/critical", "triage"), "paths are absolute");
}

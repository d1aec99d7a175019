// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Small-file reads: whole text, first line, truncation, missing files. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsutil.h"

static char path[64];

static void make_file(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/triage-fsutil-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "0-3\nsecond\n", 11), 11);
	close(fd);
}

static void remove_file(void)
{
	unlink(path);
}

TestSuite(fsutil, .init = make_file, .fini = remove_file);

Test(fsutil, read_text_whole_and_truncated)
{
	char buf[32], small[4];

	cr_assert_eq(read_text(path, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "0-3\nsecond\n");
	cr_assert_eq(read_text(path, small, sizeof(small)), 0);
	cr_assert_str_eq(small, "0-3", "at most len - 1 bytes, terminated");
	cr_assert_eq(read_text(path, buf, 0), -EINVAL);
}

Test(fsutil, first_line_without_newline)
{
	char buf[32];

	cr_assert_eq(read_first_line(path, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "0-3");
}

Test(fsutil, missing_file_is_an_error)
{
	char buf[8];

	cr_assert_eq(read_first_line("/nonexistent/triage", buf, sizeof(buf)), -ENOENT);
}

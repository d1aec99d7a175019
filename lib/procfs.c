// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "procfs.h"

int proc_each_thread(pid_t tgid, int (*fn)(pid_t tid, void *ctx), void *ctx)
{
	char path[64];
	struct dirent *d;
	int seen = 0, ret = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)tgid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && (d = readdir(dir))) {
		char *end;
		long tid = strtol(d->d_name, &end, 10);

		if (tid <= 0 || *end)
			continue;
		seen++;
		ret = fn((pid_t)tid, ctx);
	}
	closedir(dir);
	if (ret)
		return ret;
	return seen ? seen : -ESRCH;
}

int proc_parse_stat_times(const char *text, struct proc_stat_times *out)
{
	const char *p = strrchr(text, ')');
	unsigned long long utime, stime, start;

	/* After "pid (comm)": state is field 3, utime 14, stime 15, starttime 22. */
	if (!p || sscanf(p + 1,
			 " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
			 &utime, &stime, &start) != 3)
		return -EINVAL;
	out->cpu_ticks = utime + stime;
	out->start_ticks = start;
	return 0;
}

int proc_read_stat_times(pid_t tgid, pid_t tid, struct proc_stat_times *out)
{
	char path[96], text[1024];
	int err;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)tgid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)tgid);
	err = read_text(path, text, sizeof(text));
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	return proc_parse_stat_times(text, out);
}

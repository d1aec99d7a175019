// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The client tests' fixture (client_fixture.h). A directory per test, not
 * per run: Criterion runs tests in parallel processes, and each client file
 * is named by its pid, so tests never see each other's files.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_fixture.h"

char client_run_dir[64];
char client_clients_dir[96];

const struct triage_client_info client_resnet = {
	.name = "resnet-a",
	.model = "resnet50",
	.level = "critical",
	.latency_ms = 20,
	.rate_hz = 30,
	.nr_layers = 68,
};

static void remove_tree(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path))
			remove_tree(path); /* a directory */
	}
	closedir(d);
	rmdir(dir);
}

void client_fixture_setup(void)
{
	snprintf(client_run_dir, sizeof(client_run_dir), "/tmp/triage-client-XXXXXX");
	cr_assert_not_null(mkdtemp(client_run_dir));
	snprintf(client_clients_dir, sizeof(client_clients_dir), "%s/clients", client_run_dir);
}

void client_fixture_teardown(void)
{
	remove_tree(client_run_dir);
}

void client_file_of(pid_t pid, char *path, size_t len)
{
	snprintf(path, len, "%s/%d", client_clients_dir, (int)pid);
}

struct triage_client *client_open_ok(const struct triage_client_info *info)
{
	char err[256] = "";
	struct triage_client *c = triage_client_open(info, client_run_dir, err, sizeof(err));

	cr_assert_not_null(c, "open: %s", err);
	return c;
}

struct triage_client_shm *client_agent_map(pid_t pid)
{
	struct triage_client_shm *s;
	char path[128], err[256] = "";

	client_file_of(pid, path, sizeof(path));
	cr_assert_eq(client_shm_map(path, &s, err, sizeof(err)), 0, "map: %s", err);
	return s;
}

static int saved_stderr = -1;
static char capture_path[64];

void client_capture_begin(void)
{
	int fd;

	snprintf(capture_path, sizeof(capture_path), "/tmp/triage-client-err-XXXXXX");
	fd = mkstemp(capture_path);
	cr_assert_geq(fd, 0);
	fflush(stderr);
	saved_stderr = dup(2);
	cr_assert_geq(saved_stderr, 0);
	cr_assert_eq(dup2(fd, 2), 2);
	close(fd);
}

int client_capture_end(char *buf, size_t len)
{
	int fd, lines = 0;
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	fd = open(capture_path, O_RDONLY);
	cr_assert_geq(fd, 0);
	n = read(fd, buf, len - 1);
	close(fd);
	unlink(capture_path);
	buf[n > 0 ? n : 0] = '\0';
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	return lines;
}

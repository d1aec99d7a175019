// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* procfs and sysfs files are read whole in one go: they are generated at
 * open time and are small, so stdio buffering would only add copies. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "triage/abi.h"

int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

int read_first_line(const char *path, char *buf, size_t len)
{
	int err = read_text(path, buf, len);

	if (!err)
		buf[strcspn(buf, "\n")] = '\0';
	return err;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* len bytes of data, then tail_len of tail, to tmp (made with mode),
 * renamed over path; tmp is removed on any failure. 0 or -errno. */
static int replace_file(const char *path, const char *tmp, mode_t mode, const void *data,
			size_t len, const char *tail, size_t tail_len)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, data, len);
	if (!err && tail_len)
		err = write_all(fd, tail, tail_len);
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int write_file_atomic(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return replace_file(path, tmp, 0600, text, strlen(text), "\n", 1);
}

static int replace_at(const char *path, const void *data, size_t len, const char *tail,
		      size_t tail_len)
{
	char tmp[PATH_MAX];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	return replace_file(path, tmp, 0644, data, len, tail, tail_len);
}

int write_bytes_atomic(const char *path, const void *data, size_t len)
{
	return replace_at(path, data, len, NULL, 0);
}

int write_text_atomic(const char *path, const char *text)
{
	return replace_at(path, text, strlen(text), "\n", 1);
}

int read_file_alloc(const char *path, size_t max, char **text, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, got;
	char *buf;
	int err = 0;

	*text = NULL;
	if (!f)
		return -errno;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	while (!err && (got = fread(buf + n, 1, max + 1 - n, f)) > 0) {
		n += got;
		if (n > max)
			err = -EFBIG;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*text = buf;
	if (len)
		*len = n;
	return 0;
}

const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

const char *run_dir_resolve(const char *given)
{
	const char *env = getenv(TRIAGE_RUN_DIR_ENV);

	if (given && *given)
		return given;
	return env && *env ? env : TRIAGE_RUN_DIR_DEFAULT;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Shared files under the run directory (lib/shmfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "shmfile.h"

static int fail(struct shm_file *f, const char *path, const char *what, char *err, size_t errlen)
{
	int ret = -errno;

	set_error(err, errlen, "%s: %s: %s", path, what, strerror(errno));
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	return ret;
}

static int map(struct shm_file *f, const char *path, size_t size, bool writable, char *err,
	       size_t errlen)
{
	void *p = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, f->fd,
		       0);

	if (p == MAP_FAILED)
		return fail(f, path, "cannot map", err, errlen);
	f->p = p;
	f->size = size;
	return 0;
}

int shm_file_create(const char *path, size_t size, struct shm_file *f, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;
	struct stat st;

	f->p = NULL;
	f->fd = -1;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return fail(f, dir, "cannot create", err, errlen);
	}
	f->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f->fd < 0)
		return fail(f, path, "cannot open for writing", err, errlen);
	if (fstat(f->fd, &st) ||
	    (st.st_size != (off_t)size && ftruncate(f->fd, (off_t)size)))
		return fail(f, path, "cannot size it", err, errlen);
	return map(f, path, size, true, err, errlen);
}

static int open_sized(const char *path, size_t size, bool writable, struct shm_file *f,
		      size_t *found, char *err, size_t errlen)
{
	struct stat st;

	f->p = NULL;
	f->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (f->fd < 0)
		return fail(f, path, "cannot open", err, errlen);
	if (fstat(f->fd, &st))
		return fail(f, path, "cannot stat", err, errlen);
	if (found)
		*found = (size_t)st.st_size;
	if (st.st_size != (off_t)size) {
		set_error(err, errlen, "%s: %lld bytes, expected %zu", path, (long long)st.st_size,
			  size);
		close(f->fd);
		f->fd = -1;
		return -EPROTO;
	}
	return map(f, path, size, writable, err, errlen);
}

int shm_file_open(const char *path, size_t size, struct shm_file *f, size_t *found, char *err,
		  size_t errlen)
{
	return open_sized(path, size, false, f, found, err, errlen);
}

int shm_file_attach(const char *path, size_t size, struct shm_file *f, size_t *found, char *err,
		    size_t errlen)
{
	return open_sized(path, size, true, f, found, err, errlen);
}

void shm_file_close(struct shm_file *f)
{
	if (f->p)
		munmap(f->p, f->size);
	if (f->fd >= 0)
		close(f->fd);
	f->p = NULL;
	f->fd = -1;
}

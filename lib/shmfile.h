/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A small file under the run directory mapped shared, as the seqlocked
 * tables of include/triage/ are (gpu-shares, gpud-stats): one writer that
 * creates it or takes an existing one over, readers that map it read-only.
 */
#ifndef TRIAGE_SHMFILE_H
#define TRIAGE_SHMFILE_H

#include <stdbool.h>
#include <stddef.h>

struct shm_file {
	void *p; /* the shared mapping, size bytes; NULL when closed */
	size_t size;
	int fd;
};

/* The writer: creates path (mode 0644, readable by every user, and its
 * parent directory) or opens the existing one, sizes it to size and maps
 * it read-write. The content of an existing file is kept: the caller
 * checks it. 0, or -errno with one line in err naming path. */
int shm_file_create(const char *path, size_t size, struct shm_file *f, char *err, size_t errlen);

/* A reader: maps path read-only. -ENOENT when there is no file; -EPROTO
 * when it is not size bytes (*found gets its size, may be NULL); else 0,
 * or -errno with one line in err. */
int shm_file_open(const char *path, size_t size, struct shm_file *f, size_t *found, char *err,
		  size_t errlen);

/* A writer among several (the gate's board: each process its own
 * slot): maps an existing path of size bytes read-write. Errors as
 * shm_file_open(). */
int shm_file_attach(const char *path, size_t size, struct shm_file *f, size_t *found, char *err,
		    size_t errlen);

void shm_file_close(struct shm_file *f);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The GPU shares seqlock and its file (include/triage/gpu.h).
 *
 * Why a seqlock: the reader is the GPU runtime's launch loop, which must
 * never wait on the agent, and the writer is the agent, which must never
 * wait on a slow reader. The C11 form (Boehm, "Can seqlocks get along with
 * programming language memory models?", MSPC 2012): every shared byte is
 * accessed with relaxed atomics, the writer orders them with a release
 * fence after making seq odd and a release store making it even, the
 * reader with an acquire load of seq before the copy and an acquire fence
 * after it. A copy that overlapped a write sees seq odd or changed and is
 * thrown away, so a torn table is never returned.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "fsutil.h"
#include "gpu_shares.h"
#include "shmfile.h"
#include "triage/seqlock.h"

void gpu_shares_init(struct triage_gpu_shares *s)
{
	memset(s, 0, sizeof(*s));
	s->magic = TRIAGE_GPU_SHARES_MAGIC;
	s->abi_version = TRIAGE_GPU_SHARES_ABI;
}

void gpu_shares_write_begin(struct triage_gpu_shares *s)
{
	triage_seq_write_begin(&s->seq);
}

void gpu_shares_write_end(struct triage_gpu_shares *s)
{
	uint64_t gen = __atomic_load_n(&s->generation, __ATOMIC_RELAXED);

	__atomic_store_n(&s->generation, gen + 1, __ATOMIC_RELAXED);
	triage_seq_write_end(&s->seq);
}

/* The body of a write: header and entries, never seq itself. */
static void write_body(struct triage_gpu_shares *s, const struct triage_gpu_shares *src)
{
	size_t entries = offsetof(struct triage_gpu_shares, shares);

	triage_seq_store_bytes((unsigned char *)&s->magic, (const unsigned char *)&src->magic,
		 sizeof(s->magic) + sizeof(s->abi_version));
	triage_seq_store_bytes((unsigned char *)&s->nr_shares, (const unsigned char *)&src->nr_shares,
		 sizeof(s->nr_shares));
	triage_seq_store_bytes((unsigned char *)s + entries, (const unsigned char *)src + entries,
		 sizeof(*s) - entries);
}

static int check_entry(const struct triage_gpu_share *e, int i, char *err, size_t errlen)
{
	size_t len = strnlen(e->name, sizeof(e->name));

	if (len == 0 || len == sizeof(e->name)) {
		set_error(err, errlen, "gpu-shares: entry %d: name %s", i,
			  len ? "longer than 31 characters" : "empty");
		return -EINVAL;
	}
	if (e->permille > TRIAGE_GPU_SHARE_FULL) {
		set_error(err, errlen, "gpu-shares: %s: share %u per mille is over %u", e->name,
			  e->permille, TRIAGE_GPU_SHARE_FULL);
		return -EINVAL;
	}
	return 0;
}

int gpu_shares_publish(struct triage_gpu_shares *s, const struct triage_gpu_share *entries, int n,
		       char *err, size_t errlen)
{
	struct triage_gpu_shares next;

	if (n < 0 || n > TRIAGE_GPU_MAX_SHARES) {
		set_error(err, errlen, "gpu-shares: %d entries, at most %d", n,
			  TRIAGE_GPU_MAX_SHARES);
		return -EINVAL;
	}
	gpu_shares_init(&next);
	for (int i = 0; i < n; i++) {
		int ret = check_entry(&entries[i], i, err, errlen);

		if (ret)
			return ret;
		next.shares[i] = entries[i];
		/* Bytes past the NUL are zeroed so equal tables compare equal. */
		memset(next.shares[i].name, 0, sizeof(next.shares[i].name));
		strcpy(next.shares[i].name, entries[i].name);
		next.shares[i].reserved = 0;
	}
	next.nr_shares = (uint32_t)n;

	gpu_shares_write_begin(s);
	write_body(s, &next);
	gpu_shares_write_end(s);
	return 0;
}

int gpu_shares_set(struct triage_gpu_shares *s, const char *name, unsigned permille, char *err,
		   size_t errlen)
{
	struct triage_gpu_share entries[TRIAGE_GPU_MAX_SHARES];
	struct triage_gpu_shares cur;
	int n, i, ret;

	/* The writer is the only one to change s, so reading it here cannot
	 * tear; the snapshot also checks the header. */
	ret = gpu_shares_snapshot(s, &cur, err, errlen);
	if (ret)
		return ret;
	n = (int)cur.nr_shares;
	memcpy(entries, cur.shares, sizeof(entries));
	for (i = 0; i < n; i++)
		if (!strncmp(entries[i].name, name, sizeof(entries[i].name)))
			break;
	if (i == n) {
		if (n == TRIAGE_GPU_MAX_SHARES) {
			set_error(err, errlen, "gpu-shares: %s: table full (%d entries)", name,
				  TRIAGE_GPU_MAX_SHARES);
			return -ENOSPC;
		}
		if (strlen(name) >= sizeof(entries[i].name)) {
			set_error(err, errlen, "gpu-shares: %s: name longer than 31 characters",
				  name);
			return -EINVAL;
		}
		memset(&entries[i], 0, sizeof(entries[i]));
		strcpy(entries[i].name, name);
		n++;
	}
	entries[i].permille = permille;
	return gpu_shares_publish(s, entries, n, err, errlen);
}

uint32_t gpu_shares_seq(const struct triage_gpu_shares *s)
{
	return __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
}

int gpu_shares_snapshot(const struct triage_gpu_shares *s, struct triage_gpu_shares *copy,
			char *err, size_t errlen)
{
	if (triage_seq_read(&s->seq, copy, s, sizeof(*s), GPU_SHARES_READ_TRIES, NULL)) {
		set_error(err, errlen, "gpu-shares: a write stayed in progress over %d tries",
			  GPU_SHARES_READ_TRIES);
		return -EAGAIN;
	}
	if (copy->magic != TRIAGE_GPU_SHARES_MAGIC) {
		set_error(err, errlen, "gpu-shares: bad magic 0x%08x (not a gpu-shares table)",
			  copy->magic);
		return -EPROTO;
	}
	if (copy->abi_version != TRIAGE_GPU_SHARES_ABI) {
		set_error(err, errlen, "gpu-shares: ABI version %u, this reader knows %u",
			  copy->abi_version, TRIAGE_GPU_SHARES_ABI);
		return -EPROTO;
	}
	if (copy->nr_shares > TRIAGE_GPU_MAX_SHARES) {
		set_error(err, errlen, "gpu-shares: %u entries, at most %d", copy->nr_shares,
			  TRIAGE_GPU_MAX_SHARES);
		return -EPROTO;
	}
	return 0;
}

int gpu_shares_lookup(const struct triage_gpu_shares *copy, const char *name)
{
	for (uint32_t i = 0; i < copy->nr_shares && i < TRIAGE_GPU_MAX_SHARES; i++)
		if (!strncmp(copy->shares[i].name, name, sizeof(copy->shares[i].name)))
			return (int)copy->shares[i].permille;
	return -1;
}

void gpu_shares_default_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", run_dir_resolve(NULL), TRIAGE_GPU_SHARES_FILE);
}

int gpu_shares_create(const char *path, struct gpu_shares_file *f, char *err, size_t errlen)
{
	int ret = shm_file_create(path, sizeof(*f->s), &f->file, err, errlen);

	f->s = f->file.p;
	if (ret)
		return ret;
	/* Another ABI's (or a new, zeroed) file: start empty, under the lock
	 * so that a reader mapping it now sees either table whole. */
	if (f->s->magic != TRIAGE_GPU_SHARES_MAGIC ||
	    f->s->abi_version != TRIAGE_GPU_SHARES_ABI || f->s->nr_shares > TRIAGE_GPU_MAX_SHARES) {
		struct triage_gpu_shares empty;

		gpu_shares_init(&empty);
		gpu_shares_write_begin(f->s);
		write_body(f->s, &empty);
		gpu_shares_write_end(f->s);
	}
	return 0;
}

int gpu_shares_open(const char *path, struct gpu_shares_file *f, char *err, size_t errlen)
{
	size_t found = 0;
	int ret = shm_file_open(path, sizeof(*f->s), &f->file, &found, err, errlen);

	f->s = f->file.p;
	if (ret == -EPROTO) {
		uint32_t head[2] = { 0, 0 };
		FILE *fp = fopen(path, "rb");

		/* Name the ABI when the header is there: a clearer error than
		 * a size. */
		if (fp && fread(head, sizeof(head), 1, fp) == 1 &&
		    head[0] == TRIAGE_GPU_SHARES_MAGIC && head[1] != TRIAGE_GPU_SHARES_ABI)
			set_error(err, errlen, "%s: ABI version %u, this reader knows %u", path,
				  head[1], TRIAGE_GPU_SHARES_ABI);
		else
			set_error(err, errlen, "%s: %zu bytes, ABI %u has %zu", path, found,
				  TRIAGE_GPU_SHARES_ABI, sizeof(*f->s));
		if (fp)
			fclose(fp);
	}
	return ret;
}

void gpu_shares_close(struct gpu_shares_file *f)
{
	shm_file_close(&f->file);
	f->s = NULL;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Writer and reader of the GPU shares (include/triage/gpu.h): the seqlock
 * protocol on a struct in memory, and the file under the run directory
 * that carries it between the agent and the GPU runtime. Pure C, no CUDA:
 * the agent links it as well as the runtime.
 *
 * One writer at a time (the agent); readers never block it. Errors are one
 * line in err, "gpu-shares: <what>" (or "<path>: <what>" for the file).
 */
#ifndef TRIAGE_CUDA_GPU_SHARES_H
#define TRIAGE_CUDA_GPU_SHARES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmfile.h"
#include "triage/gpu.h"

/* Tries a reader makes while the writer is inside before it gives up. */
#define GPU_SHARES_READ_TRIES 1000

/* ---- the seqlock on a struct in memory ------------------------------------- */

/* A fresh, empty table (magic, ABI, seq 0). Not under the seqlock: only
 * for memory no reader sees yet. */
void gpu_shares_init(struct triage_gpu_shares *s);

/* The writer's two halves, exposed so that tests can leave a write open. */
void gpu_shares_write_begin(struct triage_gpu_shares *s);
void gpu_shares_write_end(struct triage_gpu_shares *s);

/* Replaces the whole table with n entries under the seqlock. Returns 0, or
 * -EINVAL (n too large, a name empty or too long, permille over 1000) with
 * err set and the table unchanged. */
int gpu_shares_publish(struct triage_gpu_shares *s, const struct triage_gpu_share *entries, int n,
		       char *err, size_t errlen);

/* Sets one name's share, adding it when new; -ENOSPC when the table is full. */
int gpu_shares_set(struct triage_gpu_shares *s, const char *name, unsigned permille, char *err,
		   size_t errlen);

/* The seq a reader last saw; cheap enough to poll between kernels. */
uint32_t gpu_shares_seq(const struct triage_gpu_shares *s);

/* Copies s into *copy consistently. Returns 0; -EAGAIN when a write stayed
 * in progress over GPU_SHARES_READ_TRIES tries; -EPROTO on a wrong magic,
 * ABI version or entry count. *copy is only meaningful on 0. */
int gpu_shares_snapshot(const struct triage_gpu_shares *s, struct triage_gpu_shares *copy,
			char *err, size_t errlen);

/* Share of name in a snapshot, in per mille, or -1 when it has none. */
int gpu_shares_lookup(const struct triage_gpu_shares *copy, const char *name);

/* ---- the file --------------------------------------------------------------- */

struct gpu_shares_file {
	struct triage_gpu_shares *s; /* the shared mapping (file.p) */
	struct shm_file file;
};

/* $TRIAGE_RUN_DIR/gpu-shares, else /run/triage/gpu-shares. */
void gpu_shares_default_path(char *buf, size_t len);

/* The writer: creates path (and its parent directory) or takes over an
 * existing one, and initializes it when its magic or ABI differ. */
int gpu_shares_create(const char *path, struct gpu_shares_file *f, char *err, size_t errlen);

/* A reader: maps path read-only; -ENOENT when it does not exist (no agent),
 * -EPROTO when its size or header belong to another ABI. */
int gpu_shares_open(const char *path, struct gpu_shares_file *f, char *err, size_t errlen);

void gpu_shares_close(struct gpu_shares_file *f);

#endif

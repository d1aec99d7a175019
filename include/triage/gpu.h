/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * GPU shares: the agent's cap on each best-effort DNN's part of the GPU,
 * read by the GPU runtime (cuda/coord.c) between kernels. Shared memory,
 * not a socket, because the runtime checks it before every best-effort
 * slice (tens of thousands a second) and one load of `seq` tells it
 * whether anything changed.
 *
 * The file is $TRIAGE_RUN_DIR/gpu-shares (default /run/triage/gpu-shares),
 * one struct triage_gpu_shares, mapped shared by one writer (the agent)
 * and any number of readers. A seqlock guards it: the writer makes `seq`
 * odd, writes, makes it even again; a reader copies the whole struct and
 * keeps the copy only when `seq` was even and unchanged across the copy
 * (cuda/gpu_shares.c). magic and abi_version are checked on every copy,
 * so a reader never acts on a layout it does not know.
 */
#ifndef TRIAGE_GPU_H
#define TRIAGE_GPU_H

#include <stdint.h>

#include "abi.h"

#define TRIAGE_GPU_SHARES_MAGIC 0x53475254u /* "TRGS", little-endian */
#define TRIAGE_GPU_SHARES_ABI 1
#define TRIAGE_GPU_SHARES_FILE "gpu-shares" /* under the run directory */
#define TRIAGE_GPU_MAX_SHARES 64
/* Shares are per mille of the GPU's block slots; this one means no cap. */
#define TRIAGE_GPU_SHARE_FULL 1000

/* Where every triage program loads the CUDA driver from: $TRIAGE_LIBCUDA
 * (the stand-in driver in tests), else "libcuda.so.1". */
#define TRIAGE_LIBCUDA_ENV "TRIAGE_LIBCUDA"
#define TRIAGE_LIBCUDA_DEFAULT "libcuda.so.1"

struct triage_gpu_share {
	char name[TRIAGE_NAME_MAX]; /* workload (DNN) name, NUL-terminated */
	uint32_t permille;	    /* 0..TRIAGE_GPU_SHARE_FULL */
	uint32_t reserved;	    /* 0 */
};
_Static_assert(sizeof(struct triage_gpu_share) == TRIAGE_NAME_MAX + 8, "triage_gpu_share layout");

struct triage_gpu_shares {
	uint32_t magic;	      /* TRIAGE_GPU_SHARES_MAGIC */
	uint32_t abi_version; /* TRIAGE_GPU_SHARES_ABI */
	uint32_t seq;	      /* seqlock: odd while a write is in progress */
	uint32_t nr_shares;   /* valid entries of shares[] */
	uint64_t generation;  /* completed writes since the file was made */
	struct triage_gpu_share shares[TRIAGE_GPU_MAX_SHARES];
};
_Static_assert(sizeof(struct triage_gpu_shares) ==
		       24 + TRIAGE_GPU_MAX_SHARES * sizeof(struct triage_gpu_share),
	       "triage_gpu_shares layout");

#endif

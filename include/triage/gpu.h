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

/* ---- gpud's stats: what triage-gpud serves, for the agent ----
 *
 * $TRIAGE_RUN_DIR/gpud-stats, one struct triage_gpud_stats, written by
 * triage-gpud alone (at most every TRIAGE_GPUD_STATS_MS, and at once when
 * a stage comes or goes), read by the agent each tick, both through the
 * seqlock of triage/seqlock.h. gpud takes it over when it starts (the
 * inode stays, so a reader's mapping stays good), writes it at least
 * every TRIAGE_GPUD_STATS_MS, and sets `stopped` when it exits; a gpud
 * killed with -9 leaves a pid that runs no more and a table older than
 * TRIAGE_GPUD_STATS_STALE_MS, which the reader checks. */
#define TRIAGE_GPUD_STATS_MAGIC 0x53445054u /* "TPDS", little-endian */
#define TRIAGE_GPUD_STATS_ABI 1
#define TRIAGE_GPUD_STATS_FILE "gpud-stats"
#define TRIAGE_GPUD_STATS_MS 100
#define TRIAGE_GPUD_STATS_STALE_MS 2000
#define TRIAGE_GPUD_MAX_STAGES 32

struct triage_gpud_stage_stats {
	char name[TRIAGE_NAME_MAX];  /* workload name (the hello's) */
	char model[TRIAGE_NAME_MAX]; /* zoo model name, cut to fit */
	int32_t pid;		     /* the client process (SO_PEERCRED) */
	uint32_t uid;
	int32_t first, last;	/* layers */
	uint32_t level;		/* 0 critical, 1 best-effort */
	uint32_t share_permille; /* in force (1000: none) */
	uint64_t requests, busy_ns, queued_ns, launches, slices, bytes_in, bytes_out;
	uint64_t last_gpu_ns; /* the last request's GPU time */
};
_Static_assert(sizeof(struct triage_gpud_stage_stats) == 2 * TRIAGE_NAME_MAX + 24 + 8 * 8,
	       "triage_gpud_stage_stats layout");

struct triage_gpud_stats {
	uint32_t magic;	      /* TRIAGE_GPUD_STATS_MAGIC */
	uint32_t abi_version; /* TRIAGE_GPUD_STATS_ABI */
	uint32_t seq;	      /* seqlock: odd while a write is in progress */
	uint32_t nr_stages;
	int32_t pid;	      /* gpud's */
	uint32_t stopped;     /* 1 once gpud exited cleanly */
	uint64_t updated_ns;  /* CLOCK_MONOTONIC of the last write */
	char device[64];      /* the GPU's name */
	char policy[16];      /* elastic, priority, multistream */
	uint32_t nr_sms, reserved;
	struct triage_gpud_stage_stats stages[TRIAGE_GPUD_MAX_STAGES];
};
_Static_assert(sizeof(struct triage_gpud_stats) ==
		       120 + TRIAGE_GPUD_MAX_STAGES * sizeof(struct triage_gpud_stage_stats),
	       "triage_gpud_stats layout");

#endif

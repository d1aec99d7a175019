/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Slice planning for elastic best-effort kernels: how many physical blocks
 * of which block-size variant, over how many logical blocks, fill the SM
 * slots that the running critical kernels leave free. Pure arithmetic (no
 * CUDA), so it is unit-tested on the CPU; docs/gpu.md works the formula
 * through by hand.
 *
 * The model: an SM holds at most per_sm blocks of a kernel (what
 * cuOccupancyMaxActiveBlocksPerMultiprocessor returns for its block size),
 * so each such block uses 1/per_sm of the SM's limiting resource. Resident
 * kernels' blocks are dealt round-robin over the SMs, one per SM per
 * round, the way the hardware spreads a grid; an SM takes a block while
 * its used fraction stays at most 1. A best-effort variant with per_sm =
 * o then fits floor((1 - used) * o) blocks on each SM. Fractions are kept
 * exact in integer units (the least common multiple of the per_sm values
 * involved).
 */
#ifndef TRIAGE_CUDA_SLICE_H
#define TRIAGE_CUDA_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/elastic.h"

#define SLICE_MAX_SMS 1024
#define SLICE_MAX_PER_SM 64  /* blocks per SM; 32 on every GPU so far */
#define SLICE_MAX_RESIDENT 64 /* kernels holding SM slots at once */

/* Work items (logical threads) each physical thread runs per slice: short
 * slices while critical work runs, so that best-effort blocks leave the
 * SMs soon after a critical kernel needs them, longer ones when the GPU is
 * the best-effort DNN's alone, to save launches. */
#define SLICE_ROUNDS_SHARED 4
#define SLICE_ROUNDS_ALONE 8

/* A kernel holding SM slots now (a running critical kernel). */
struct slice_resident {
	uint32_t blocks; /* physical blocks of its launch */
	uint32_t per_sm; /* its max active blocks per SM, >= 1 */
};

struct slice_request {
	int nr_sms;
	const struct slice_resident *resident;
	int nr_resident;
	/* The best-effort kernel's max active blocks per SM for each variant
	 * of TK_BLOCK_VARIANTS; 0 marks a variant that cannot launch. */
	uint32_t per_sm[TK_NR_BLOCK_VARIANTS];
	uint32_t remaining; /* logical blocks of its grid not yet launched, >= 1 */
	double share;	    /* cap on its part of the GPU's block slots, 0..1 */
	int split;	    /* best-effort DNNs dividing the free slots, >= 1 */
	uint32_t rounds_shared; /* 0: SLICE_ROUNDS_SHARED */
	uint32_t rounds_alone;	/* 0: SLICE_ROUNDS_ALONE */
};

struct slice_plan {
	int variant;	     /* index into TK_BLOCK_VARIANTS */
	uint32_t threads;    /* its block size */
	uint32_t blocks;     /* physical blocks to launch, >= 1 */
	uint32_t length;     /* logical blocks of the slice, >= blocks */
	uint32_t free_slots; /* blocks of this variant the free SMs hold */
	uint32_t cap_blocks; /* blocks the share allows */
	bool shared;	     /* some resident kernel held SM slots */
};

/* Blocks of a kernel with per_sm blocks per SM that fit beside the
 * resident kernels; the whole device is nr_sms * per_sm. Returns -EINVAL
 * (with err) on inputs out of range. */
int64_t slice_free_slots(int nr_sms, const struct slice_resident *resident, int nr_resident,
			 uint32_t per_sm, char *err, size_t errlen);

/* Plans the next slice of a best-effort kernel (docs/gpu.md):
 *   free_v = slice_free_slots(per_sm[v])       slots left by resident work
 *   cap_v  = floor(share * nr_sms * per_sm[v])  slots the share allows
 *   fit_v  = min(floor(free_v / split), cap_v, remaining)
 * picks the variant placing the most threads (fit_v * threads_v; ties to
 * the larger block) with blocks = fit_v; when no variant fits a block, the
 * smallest usable variant with one block, so the DNN still progresses.
 * Then, with rounds = rounds_shared when anything is resident, else
 * rounds_alone:
 *   k      = max(1, rounds * threads / 256)   logical blocks per block
 *   length = min(remaining, blocks * k),  blocks = min(blocks, length).
 * Returns 0, or -EINVAL with err set. */
int slice_plan_next(const struct slice_request *rq, struct slice_plan *plan, char *err,
		    size_t errlen);

/* Threads of variant index v (64, 128, 256). */
uint32_t slice_variant_threads(int v);

/* Variant index of a block size, or -1. */
int slice_variant_of(uint32_t threads);

#endif

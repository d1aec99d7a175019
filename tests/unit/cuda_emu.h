/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A CPU emulator of an elastic kernel launch, for the unit tests of the
 * kernels (test_cuda_kernels.c, test_cuda_kernels_zoo.c): every physical
 * block and thread of a launch of a slice runs, one after the other, the
 * persistent loop of cuda/kernels/ops.h (TK_FOR_EACH_ITEM, the one the .cu
 * wrappers expand) and calls the op's body from ops.h on host memory. A
 * visit count per item shows that a slicing covers its grid exactly once,
 * and guard zones around every buffer that nothing past its end is touched.
 * emu_check_launches() (cuda_emu.c) runs launches under many slicings and
 * checks each run.
 */
#ifndef TRIAGE_TESTS_CUDA_EMU_H
#define TRIAGE_TESTS_CUDA_EMU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ops.h"

/* Floats of canary before and after every buffer. */
#define EMU_GUARD 64
/* A NaN no computation produces: a guard or an unwritten output still
 * holding it is seen bit for bit. */
#define EMU_CANARY 0x7fa5c3e1u

static inline void emu_fill_canary(float *p, size_t n)
{
	uint32_t bits = EMU_CANARY;

	for (size_t i = 0; i < n; i++)
		memcpy(&p[i], &bits, sizeof(bits));
}

static inline bool emu_is_canary(float v)
{
	uint32_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == EMU_CANARY;
}

/* n floats between two guard zones, themselves canaries until written. */
static inline float *emu_alloc(size_t n)
{
	float *base = malloc((n + 2 * EMU_GUARD) * sizeof(float));

	if (!base)
		abort();
	emu_fill_canary(base, n + 2 * EMU_GUARD);
	return base + EMU_GUARD;
}

static inline void emu_free(float *p)
{
	if (p)
		free(p - EMU_GUARD);
}

/* Whether both guard zones of a buffer of n floats still hold the canary. */
static inline bool emu_guards_intact(const float *p, size_t n)
{
	for (size_t i = 1; i <= EMU_GUARD; i++)
		if (!emu_is_canary(p[-(ptrdiff_t)i]) || !emu_is_canary(p[n + i - 1]))
			return false;
	return true;
}

/* xorshift64: the same numbers on every run and machine. */
struct emu_rng {
	uint64_t state; /* not 0 */
};

static inline uint32_t emu_rnd(struct emu_rng *r)
{
	r->state ^= r->state << 13;
	r->state ^= r->state >> 7;
	r->state ^= r->state << 17;
	return (uint32_t)(r->state >> 16);
}

/* A guarded buffer of n floats uniform in [-scale, scale). */
static inline float *emu_random_buffer(struct emu_rng *r, size_t n, float scale)
{
	float *p = emu_alloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = scale * ((float)(emu_rnd(r) & 0xffffff) / (float)0x800000 - 1.0f);
	return p;
}

static inline tk_dptr emu_dptr(const float *p)
{
	return (tk_dptr)(uintptr_t)p;
}

/* One launch of op over slice with grid blocks of threads threads; visits
 * (NULL for none) counts how often each item ran. */
static inline void emu_launch(int op, const void *args, struct tk_slice slice, uint32_t grid,
			      uint32_t threads, uint32_t *visits)
{
	const int64_t items = tk_op_items(op, args);

	for (uint32_t block = 0; block < grid; block++)
		for (uint32_t thread = 0; thread < threads; thread++)
			TK_FOR_EACH_ITEM(g, items, slice, block, grid, thread, threads)
			{
				if (visits)
					visits[g]++;
				tk_op_item(op, args, g);
			}
}

/* The whole logical grid in one launch of as many blocks of 256 threads. */
static inline void emu_launch_whole(int op, const void *args)
{
	uint32_t blocks = (uint32_t)tk_logical_blocks(tk_op_items(op, args));
	struct tk_slice all = { 0, blocks };

	emu_launch(op, args, all, blocks, TK_LOGICAL_THREADS, NULL);
}

/* Slicings emu_check_launches() tries: the whole grid with each block
 * variant, one block of one thread, then random partitions. */
#define EMU_NR_PLANS   12
#define EMU_MAX_SLICES 7

/*
 * Runs the nr launches, which together write out (out_n floats), under
 * every slicing plan, random ones drawn from r. After each run: every item
 * of every launch ran exactly once, out's guards are intact, each element is
 * within rel_tol * |ref| + abs_tol of ref, and out equals the first run's bit for
 * bit. what names the case in failure messages.
 */
void emu_check_launches(struct emu_rng *r, const char *what, const struct tk_launch *launches,
			int nr, float *out, size_t out_n, const float *ref, double rel_tol,
			double abs_tol);

#endif

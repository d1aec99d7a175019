// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The slicing plans of the launch emulator (cuda_emu.h): grid elasticity
 * (a logical grid cut into slices launched in any order) and block
 * elasticity (fewer physical blocks than the slice, fewer threads than
 * TK_LOGICAL_THREADS), each run checked for coverage, guards, agreement
 * with the reference and independence from the slicing.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_emu.h"

/* Launch k of a plan: grid elasticity (slices), block elasticity (fewer
 * blocks than the slice, fewer threads than logical threads). */
static void run_plan(struct emu_rng *r, int plan, const struct tk_launch *t, uint32_t *visits,
		     char *how, size_t howlen)
{
	uint32_t blocks = tk_args_logical_blocks(t->op, &t->args);
	struct tk_slice slices[EMU_MAX_SLICES];
	int nr = 0;

	if (plan < TK_NR_BLOCK_VARIANTS) {
		/* The whole grid, one physical block per logical one. */
		uint32_t threads = (uint32_t)tk_block_variants[plan];

		emu_launch(t->op, &t->args, (struct tk_slice){ 0, blocks }, blocks, threads,
			   visits);
		snprintf(how, howlen, "whole grid of %u, %u threads", blocks, threads);
		return;
	}
	if (plan == TK_NR_BLOCK_VARIANTS) {
		/* One physical block of one thread walks everything; the slice
		 * runs past the grid, whose end the items must guard. */
		emu_launch(t->op, &t->args, (struct tk_slice){ 0, blocks + 3 }, 1, 1, visits);
		snprintf(how, howlen, "one block of one thread over [0, %u)", blocks + 3);
		return;
	}

	/* Random cut points, then the slices in shuffled order. */
	int want = 1 + (int)(emu_rnd(r) % EMU_MAX_SLICES);
	uint32_t begin = 0;

	while (nr < want - 1 && begin < blocks) {
		uint32_t end = begin + 1 + emu_rnd(r) % (blocks - begin);

		if (end >= blocks)
			break;
		slices[nr++] = (struct tk_slice){ begin, end };
		begin = end;
	}
	slices[nr++] = (struct tk_slice){ begin, blocks };
	for (int k = nr - 1; k > 0; k--) {
		int j = (int)(emu_rnd(r) % (uint32_t)(k + 1));
		struct tk_slice tmp = slices[k];

		slices[k] = slices[j];
		slices[j] = tmp;
	}
	int len = snprintf(how, howlen, "%d slices:", nr);

	for (int k = 0; k < nr; k++) {
		uint32_t span = slices[k].end - slices[k].begin;
		/* Mostly fewer blocks than the slice; now and then more. */
		uint32_t grid = emu_rnd(r) % 5 ? 1 + emu_rnd(r) % (span ? span : 1) : span + 2;
		uint32_t threads = (uint32_t)tk_block_variants[emu_rnd(r) % TK_NR_BLOCK_VARIANTS];

		emu_launch(t->op, &t->args, slices[k], grid, threads, visits);
		if (len > 0 && (size_t)len < howlen)
			len += snprintf(how + len, howlen - len, " [%u,%u)x%u/%u", slices[k].begin,
					slices[k].end, grid, threads);
	}
}

void emu_check_launches(struct emu_rng *r, const char *what, const struct tk_launch *launches,
			int nr, float *out, size_t out_n, const float *ref, double rel_tol,
			double abs_tol)
{
	uint32_t *visits[TK_MAX_LAUNCHES];
	float *first = malloc(out_n * sizeof(float));
	char how[512];

	cr_assert_not_null(first);
	cr_assert_leq(nr, TK_MAX_LAUNCHES);
	for (int k = 0; k < nr; k++) {
		int64_t items = tk_args_items(launches[k].op, &launches[k].args);

		cr_assert_gt(items, 0, "%s: launch %d has no items", what, k);
		visits[k] = calloc((size_t)items, sizeof(uint32_t));
		cr_assert_not_null(visits[k]);
	}
	for (int plan = 0; plan < EMU_NR_PLANS; plan++) {
		emu_fill_canary(out, out_n);
		for (int k = 0; k < nr; k++) {
			int64_t items = tk_args_items(launches[k].op, &launches[k].args);

			memset(visits[k], 0, (size_t)items * sizeof(uint32_t));
			run_plan(r, plan, &launches[k], visits[k], how, sizeof(how));
			for (int64_t g = 0; g < items; g++)
				cr_assert_eq(visits[k][g], 1,
					     "%s (%s), launch %d: item %lld ran %u times under %s",
					     what, tk_op_name(launches[k].op), k, (long long)g,
					     visits[k][g], how);
		}
		cr_assert(emu_guards_intact(out, out_n), "%s: wrote past its output under %s", what,
			  how);
		for (size_t i = 0; i < out_n; i++) {
			double tol = rel_tol * fabs(ref[i]) + abs_tol;

			cr_assert(fabs((double)out[i] - ref[i]) <= tol,
				  "%s (%s): out[%zu] = %.9g, reference %.9g under %s", what,
				  tk_op_name(launches[0].op), i, out[i], ref[i], how);
		}
		if (!plan)
			memcpy(first, out, out_n * sizeof(float));
		else
			cr_assert(!memcmp(first, out, out_n * sizeof(float)),
				  "%s: the result depends on the slicing (%s)", what, how);
	}
	for (int k = 0; k < nr; k++)
		free(visits[k]);
	free(first);
}

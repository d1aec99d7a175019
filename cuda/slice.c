// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Slice planning: the occupancy arithmetic behind elastic best-effort
 * kernels (cuda/slice.h has the model, docs/gpu.md the worked numbers).
 *
 * Why per SM and not one device-wide count of free slots: a critical grid
 * of 20 blocks at 2 per SM on 16 SMs leaves 6 SMs' worth free, but as 12
 * half-empty SMs; a best-effort variant fitting 3 blocks per SM gets one
 * block into each half, not 6 * 3 = 18 in all, so a device-wide sum would
 * over-launch and the surplus would queue in front of the next critical
 * kernel's blocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "errbuf.h"
#include "slice.h"

static const uint32_t variant_threads[TK_NR_BLOCK_VARIANTS] = TK_BLOCK_VARIANTS;

uint32_t slice_variant_threads(int v)
{
	return v >= 0 && v < TK_NR_BLOCK_VARIANTS ? variant_threads[v] : 0;
}

int slice_variant_of(uint32_t threads)
{
	for (int v = 0; v < TK_NR_BLOCK_VARIANTS; v++)
		if (variant_threads[v] == threads)
			return v;
	return -1;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* One SM's capacity in units that make every 1/per_sm involved exact. */
struct units {
	uint64_t sm; /* the least common multiple of the per_sm values */
};

static int units_add(struct units *u, uint32_t per_sm, char *err, size_t errlen)
{
	uint64_t g = gcd(u->sm, per_sm), m = per_sm / g;

	/* Bounded so that an SM's load plus one more block never overflows. */
	if (u->sm > (UINT64_C(1) << 56) / m) {
		set_error(err, errlen,
			  "slice: too many distinct blocks-per-SM values to count exactly");
		return -EINVAL;
	}
	u->sm *= m;
	return 0;
}

static int check_device(int nr_sms, const struct slice_resident *resident, int nr_resident,
			char *err, size_t errlen)
{
	if (nr_sms < 1 || nr_sms > SLICE_MAX_SMS) {
		set_error(err, errlen, "slice: %d SMs, expected 1..%d", nr_sms, SLICE_MAX_SMS);
		return -EINVAL;
	}
	if (nr_resident < 0 || nr_resident > SLICE_MAX_RESIDENT || (nr_resident && !resident)) {
		set_error(err, errlen, "slice: %d resident kernels, expected 0..%d", nr_resident,
			  SLICE_MAX_RESIDENT);
		return -EINVAL;
	}
	for (int k = 0; k < nr_resident; k++) {
		if (resident[k].per_sm < 1 || resident[k].per_sm > SLICE_MAX_PER_SM) {
			set_error(err, errlen,
				  "slice: resident kernel %d: %u blocks per SM, expected 1..%d", k,
				  resident[k].per_sm, SLICE_MAX_PER_SM);
			return -EINVAL;
		}
	}
	return 0;
}

/* Deals the resident kernels' blocks over the SMs: round-robin, one block
 * per SM with room per round, each kernel starting where the previous one
 * stopped; blocks that find no room wait off the SMs and hold nothing. */
static void place_resident(int nr_sms, const struct slice_resident *resident, int nr_resident,
			   const struct units *u, uint64_t *load)
{
	int cursor = 0;

	for (int s = 0; s < nr_sms; s++)
		load[s] = 0;
	for (int k = 0; k < nr_resident; k++) {
		uint64_t unit = u->sm / resident[k].per_sm;
		uint32_t left = resident[k].blocks;

		while (left) {
			int placed = 0, start = cursor;

			for (int i = 0; i < nr_sms && left; i++) {
				int s = (start + i) % nr_sms;

				if (load[s] + unit > u->sm)
					continue;
				load[s] += unit;
				left--;
				placed++;
				cursor = (s + 1) % nr_sms;
			}
			if (!placed)
				break;
		}
	}
}

static int64_t count_free(int nr_sms, const uint64_t *load, const struct units *u,
			  uint32_t per_sm)
{
	uint64_t unit, free = 0;

	if (!per_sm)
		return 0;
	unit = u->sm / per_sm;
	for (int s = 0; s < nr_sms; s++)
		free += (u->sm - load[s]) / unit;
	return (int64_t)free;
}

int64_t slice_free_slots(int nr_sms, const struct slice_resident *resident, int nr_resident,
			 uint32_t per_sm, char *err, size_t errlen)
{
	uint64_t load[SLICE_MAX_SMS];
	struct units u = { 1 };
	int ret;

	ret = check_device(nr_sms, resident, nr_resident, err, errlen);
	if (ret)
		return ret;
	if (per_sm > SLICE_MAX_PER_SM) {
		set_error(err, errlen, "slice: %u blocks per SM, expected 0..%d", per_sm,
			  SLICE_MAX_PER_SM);
		return -EINVAL;
	}
	if (!per_sm)
		return 0;
	for (int k = 0; k < nr_resident; k++)
		if ((ret = units_add(&u, resident[k].per_sm, err, errlen)))
			return ret;
	if ((ret = units_add(&u, per_sm, err, errlen)))
		return ret;
	place_resident(nr_sms, resident, nr_resident, &u, load);
	return count_free(nr_sms, load, &u, per_sm);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int slice_plan_next(const struct slice_request *rq, struct slice_plan *plan, char *err,
		    size_t errlen)
{
	uint64_t load[SLICE_MAX_SMS], fit[TK_NR_BLOCK_VARIANTS] = { 0 };
	uint64_t cap[TK_NR_BLOCK_VARIANTS] = { 0 }, best_threads = 0, k, length;
	struct units u = { 1 };
	int ret, best = -1, smallest = -1;
	uint32_t rounds;
	double share;
	bool shared = false;

	ret = check_device(rq->nr_sms, rq->resident, rq->nr_resident, err, errlen);
	if (ret)
		return ret;
	if (rq->remaining < 1) {
		set_error(err, errlen, "slice: no logical blocks left to plan");
		return -EINVAL;
	}
	if (rq->split < 1) {
		set_error(err, errlen, "slice: split among %d best-effort DNNs, expected >= 1",
			  rq->split);
		return -EINVAL;
	}
	/* NaN fails both tests and is refused with the out-of-range values. */
	if (!(rq->share >= 0.0 && rq->share <= 1.0)) {
		set_error(err, errlen, "slice: share %g, expected 0..1", rq->share);
		return -EINVAL;
	}
	share = rq->share;
	for (int k = 0; k < rq->nr_resident; k++) {
		if ((ret = units_add(&u, rq->resident[k].per_sm, err, errlen)))
			return ret;
		shared |= rq->resident[k].blocks > 0;
	}
	for (int v = 0; v < TK_NR_BLOCK_VARIANTS; v++) {
		if (rq->per_sm[v] > SLICE_MAX_PER_SM) {
			set_error(err, errlen, "slice: variant t%u: %u blocks per SM, expected 0..%d",
				  variant_threads[v], rq->per_sm[v], SLICE_MAX_PER_SM);
			return -EINVAL;
		}
		if (!rq->per_sm[v])
			continue;
		if ((ret = units_add(&u, rq->per_sm[v], err, errlen)))
			return ret;
		if (smallest < 0)
			smallest = v;
	}
	if (smallest < 0) {
		set_error(err, errlen, "slice: no block-size variant can launch (0 blocks per SM)");
		return -EINVAL;
	}

	place_resident(rq->nr_sms, rq->resident, rq->nr_resident, &u, load);
	for (int v = 0; v < TK_NR_BLOCK_VARIANTS; v++) {
		uint64_t free, threads;

		if (!rq->per_sm[v])
			continue;
		free = (uint64_t)count_free(rq->nr_sms, load, &u, rq->per_sm[v]);
		/* The small epsilon keeps a share such as 0.3 of 160 slots at
		 * 48 despite 0.3 being just under 3/10 in binary. */
		cap[v] = (uint64_t)(share * rq->nr_sms * rq->per_sm[v] + 1e-9);
		fit[v] = min_u64(min_u64(free / (uint64_t)rq->split, cap[v]), rq->remaining);
		threads = fit[v] * variant_threads[v];
		/* Variants run in increasing size, so >= breaks ties upward. */
		if (fit[v] && threads >= best_threads) {
			best = v;
			best_threads = threads;
		}
	}
	if (best < 0) {
		/* Nothing fits: one block of the smallest variant still moves
		 * the DNN forward and takes the least room from the critical
		 * kernels. */
		best = smallest;
		fit[best] = 1;
	}
	plan->free_slots = (uint32_t)min_u64(
		(uint64_t)count_free(rq->nr_sms, load, &u, rq->per_sm[best]), UINT32_MAX);

	plan->variant = best;
	plan->threads = variant_threads[best];
	plan->cap_blocks = (uint32_t)min_u64(cap[best], UINT32_MAX);
	plan->shared = shared;
	rounds = shared ? (rq->rounds_shared ? rq->rounds_shared : SLICE_ROUNDS_SHARED)
			: (rq->rounds_alone ? rq->rounds_alone : SLICE_ROUNDS_ALONE);
	k = (uint64_t)rounds * plan->threads / TK_LOGICAL_THREADS;
	if (k < 1)
		k = 1;
	length = min_u64(rq->remaining, fit[best] * k);
	plan->length = (uint32_t)length;
	plan->blocks = (uint32_t)min_u64(fit[best], length);
	return 0;
}

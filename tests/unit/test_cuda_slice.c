// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Slice planning and the GPU shares seqlock, on the CPU: the numbers the
 * coordinator launches with are worked out by hand here (docs/gpu.md
 * walks through the same cases), and the shares the agent writes must
 * never reach the runtime torn or in a layout it does not know. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_shares.h"
#include "slice.h"

/* A best-effort kernel limited by registers: 16, 12 and 6 blocks per SM
 * for the 64-, 128- and 256-thread variants (1024, 1536, 1536 threads). */
static const uint32_t be_per_sm[TK_NR_BLOCK_VARIANTS] = { 16, 12, 6 };

static struct slice_request request(int nr_sms, const struct slice_resident *res, int nr_res,
				    uint32_t remaining)
{
	struct slice_request rq = {
		.nr_sms = nr_sms,
		.resident = res,
		.nr_resident = nr_res,
		.remaining = remaining,
		.share = 1.0,
		.split = 1,
	};

	memcpy(rq.per_sm, be_per_sm, sizeof(rq.per_sm));
	return rq;
}

static struct slice_plan plan_ok(const struct slice_request *rq)
{
	struct slice_plan p;
	char err[256] = "";

	memset(&p, 0xa5, sizeof(p));
	cr_assert_eq(slice_plan_next(rq, &p, err, sizeof(err)), 0, "%s", err);
	return p;
}

Test(cuda_slice, variants_are_the_contract)
{
	cr_assert_eq(slice_variant_threads(0), 64);
	cr_assert_eq(slice_variant_threads(1), 128);
	cr_assert_eq(slice_variant_threads(2), 256);
	cr_assert_eq(slice_variant_threads(3), 0);
	cr_assert_eq(slice_variant_of(128), 1);
	cr_assert_eq(slice_variant_of(96), -1);
}

Test(cuda_slice, empty_device_has_every_slot)
{
	cr_assert_eq(slice_free_slots(16, NULL, 0, 6, NULL, 0), 96);
	cr_assert_eq(slice_free_slots(16, NULL, 0, 16, NULL, 0), 256);
	cr_assert_eq(slice_free_slots(132, NULL, 0, 8, NULL, 0), 1056);
	cr_assert_eq(slice_free_slots(16, NULL, 0, 0, NULL, 0), 0);
}

/* 20 blocks at 2 per SM on 16 SMs: one block on every SM, a second on SMs
 * 0-3. Six SMs' worth is free, as twelve half-empty SMs. */
Test(cuda_slice, critical_grid_leaves_half_empty_sms)
{
	struct slice_resident crit = { .blocks = 20, .per_sm = 2 };

	cr_assert_eq(slice_free_slots(16, &crit, 1, 2, NULL, 0), 12);
	cr_assert_eq(slice_free_slots(16, &crit, 1, 16, NULL, 0), 12 * 8);
	cr_assert_eq(slice_free_slots(16, &crit, 1, 6, NULL, 0), 12 * 3);
	/* 3 per SM: one and a half fit in each half SM, so 12, not the
	 * 6 * 3 = 18 a device-wide count would promise. */
	cr_assert_eq(slice_free_slots(16, &crit, 1, 3, NULL, 0), 12);
}

/* Thirds: 20 blocks at 3 per SM leave SMs 0-3 a third free and SMs 4-15
 * two thirds; at 4 per SM that is floor(4/3) = 1 and floor(8/3) = 2. */
Test(cuda_slice, critical_fractions_are_exact)
{
	struct slice_resident crit = { .blocks = 20, .per_sm = 3 };

	cr_assert_eq(slice_free_slots(16, &crit, 1, 4, NULL, 0), 4 * 1 + 12 * 2);
	cr_assert_eq(slice_free_slots(16, &crit, 1, 3, NULL, 0), 4 * 1 + 12 * 2);
	cr_assert_eq(slice_free_slots(16, &crit, 1, 6, NULL, 0), 4 * 2 + 12 * 4);
}

/* A second resident kernel continues where the first stopped (SM 4): 8
 * blocks at 4 per SM go to SMs 4-11, which are then 3/4 used. */
Test(cuda_slice, two_resident_kernels_continue_round_robin)
{
	struct slice_resident res[2] = { { .blocks = 20, .per_sm = 2 },
					 { .blocks = 8, .per_sm = 4 } };

	/* SMs 0-3 full, 4-11 a quarter free (2 of 8), 12-15 half (4 of 8). */
	cr_assert_eq(slice_free_slots(16, res, 2, 8, NULL, 0), 8 * 2 + 4 * 4);
}

Test(cuda_slice, multi_wave_critical_grid_fills_every_sm)
{
	struct slice_resident crit = { .blocks = 100000, .per_sm = 2 };

	cr_assert_eq(slice_free_slots(16, &crit, 1, 32, NULL, 0), 0);
}

Test(cuda_slice, alone_runs_full_size)
{
	struct slice_request rq = request(16, NULL, 0, 10000);
	struct slice_plan p = plan_ok(&rq);

	/* t128 and t256 both place 24576 threads; the larger block wins. */
	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.threads, 256);
	cr_assert_eq(p.blocks, 96);
	cr_assert_eq(p.free_slots, 96);
	cr_assert_not(p.shared);
	/* rounds_alone 8 at 256 threads: 8 logical blocks per block. */
	cr_assert_eq(p.length, 96 * 8);
}

Test(cuda_slice, shrinks_beside_a_critical_kernel)
{
	struct slice_resident crit = { .blocks = 20, .per_sm = 2 };
	struct slice_request rq = request(16, &crit, 1, 10000);
	struct slice_plan p = plan_ok(&rq);

	/* t64: 96 blocks (6144 threads), t128: 72 (9216), t256: 36 (9216). */
	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.blocks, 36);
	cr_assert(p.shared);
	cr_assert_eq(p.length, 36 * 4); /* rounds_shared 4 */
}

/* Odd leftovers favour small blocks: with 20 blocks at 3 per SM, t64 at
 * 16/SM fits 4*5 + 12*10 = 140 blocks (8960 threads), t128 at 12/SM
 * 4*4 + 12*8 = 112 (14336), t256 at 6/SM 4*2 + 12*4 = 56 (14336). */
Test(cuda_slice, variant_choice_counts_threads)
{
	struct slice_resident crit = { .blocks = 20, .per_sm = 3 };
	struct slice_request rq = request(16, &crit, 1, 10000);
	struct slice_plan p;

	p = plan_ok(&rq);
	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.blocks, 56);

	/* A kernel whose 256-thread variant fits only 2 per SM (shared
	 * memory, say): t256 now places 4*0 + 12*1 = 12 blocks, 3072
	 * threads, and t128 wins with 14336. */
	rq.per_sm[2] = 2;
	p = plan_ok(&rq);
	cr_assert_eq(p.variant, 1);
	cr_assert_eq(p.blocks, 112);
	cr_assert_eq(p.length, 112 * 2); /* 4 rounds * 128 / 256 */
}

Test(cuda_slice, saturated_device_still_gets_one_block)
{
	struct slice_resident crit = { .blocks = 100000, .per_sm = 2 };
	struct slice_request rq = request(16, &crit, 1, 10000);
	struct slice_plan p = plan_ok(&rq);

	cr_assert_eq(p.variant, 0); /* the smallest footprint */
	cr_assert_eq(p.blocks, 1);
	cr_assert_eq(p.length, 1);
	cr_assert_eq(p.free_slots, 0);
}

Test(cuda_slice, share_caps_the_slots)
{
	struct slice_request rq = request(16, NULL, 0, 10000);
	struct slice_plan p;

	/* A quarter: t64 64 blocks, t128 48, t256 24 (6144 threads each
	 * for the last two). */
	rq.share = 0.25;
	p = plan_ok(&rq);
	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.blocks, 24);
	cr_assert_eq(p.cap_blocks, 24);

	/* 0.3 of 96 is 28.8: 28, never rounded up over the cap. */
	rq.share = 0.3;
	p = plan_ok(&rq);
	cr_assert_leq(p.blocks * p.threads, 0.3 * 16 * 1536);
	cr_assert_eq(p.blocks, 57); /* t128: floor(0.3 * 192) = 57, 7296 threads */
	cr_assert_eq(p.variant, 1);

	/* The cap binds under a critical kernel too: 36 free, 10 allowed. */
	struct slice_resident crit = { .blocks = 20, .per_sm = 2 };
	rq = request(16, &crit, 1, 10000);
	rq.share = 10.0 / 96.0;
	p = plan_ok(&rq);
	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.blocks, 10);
}

Test(cuda_slice, zero_share_crawls_with_one_block)
{
	struct slice_request rq = request(16, NULL, 0, 10000);
	struct slice_plan p;

	rq.share = 0.0;
	p = plan_ok(&rq);
	cr_assert_eq(p.blocks, 1);
	cr_assert_eq(p.variant, 0);
	cr_assert_eq(p.cap_blocks, 0);
}

Test(cuda_slice, split_divides_the_free_slots)
{
	struct slice_resident crit = { .blocks = 20, .per_sm = 2 };
	struct slice_request rq = request(16, &crit, 1, 10000);
	struct slice_plan p;

	rq.split = 2;
	p = plan_ok(&rq);
	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.blocks, 18);

	rq.split = 3; /* t64 32 (2048), t128 24 (3072), t256 12 (3072) */
	p = plan_ok(&rq);
	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.blocks, 12);
}

Test(cuda_slice, kernel_tail_launches_what_is_left)
{
	struct slice_request rq = request(16, NULL, 0, 3);
	struct slice_plan p = plan_ok(&rq);

	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.blocks, 3);
	cr_assert_eq(p.length, 3);

	/* 100 left, 96 blocks of 8 logical each: one slice takes it all,
	 * with no more blocks than logical blocks. */
	rq.remaining = 100;
	p = plan_ok(&rq);
	cr_assert_eq(p.length, 100);
	cr_assert_eq(p.blocks, 96);
}

Test(cuda_slice, custom_rounds)
{
	struct slice_resident crit = { .blocks = 20, .per_sm = 2 };
	struct slice_request rq = request(16, &crit, 1, 10000);
	struct slice_plan p;

	rq.rounds_shared = 1; /* a quarter of a logical block per thread: 1 */
	p = plan_ok(&rq);
	cr_assert_eq(p.length, p.blocks);
	rq = request(16, NULL, 0, 10000);
	rq.rounds_alone = 2;
	p = plan_ok(&rq);
	cr_assert_eq(p.length, 96 * 2);
}

Test(cuda_slice, resident_kernel_without_blocks_is_not_sharing)
{
	struct slice_resident none = { .blocks = 0, .per_sm = 2 };
	struct slice_request rq = request(16, &none, 1, 10000);
	struct slice_plan p = plan_ok(&rq);

	cr_assert_not(p.shared);
	cr_assert_eq(p.blocks, 96);
}

Test(cuda_slice, orin_and_h100_sizes)
{
	/* Orin: 16 SMs; H100 SXM: 132 SMs, 32 blocks per SM at most. */
	struct slice_resident crit = { .blocks = 132, .per_sm = 8 };
	struct slice_request rq = request(132, &crit, 1, 1u << 20);
	struct slice_plan p;

	rq.per_sm[0] = 32;
	rq.per_sm[1] = 16;
	rq.per_sm[2] = 8;
	p = plan_ok(&rq);
	/* One critical block per SM leaves 7/8: 28, 14, 7 per SM. */
	cr_assert_eq(p.variant, 2);
	cr_assert_eq(p.free_slots, 132 * 7);
	cr_assert_eq(p.blocks * p.threads, 132 * 7 * 256);
}

Test(cuda_slice, refuses_bad_inputs)
{
	struct slice_resident bad = { .blocks = 4, .per_sm = 0 };
	struct slice_request rq;
	struct slice_plan p;
	char err[256];

	rq = request(0, NULL, 0, 10);
	cr_assert_eq(slice_plan_next(&rq, &p, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "0 SMs"), "%s", err);

	rq = request(16, &bad, 1, 10);
	cr_assert_eq(slice_plan_next(&rq, &p, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "resident kernel 0"), "%s", err);

	rq = request(16, NULL, 0, 0);
	cr_assert_eq(slice_plan_next(&rq, &p, err, sizeof(err)), -EINVAL);

	rq = request(16, NULL, 0, 10);
	rq.share = 1.5;
	cr_assert_eq(slice_plan_next(&rq, &p, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "share"), "%s", err);
	rq.share = NAN;
	cr_assert_eq(slice_plan_next(&rq, &p, err, sizeof(err)), -EINVAL);

	rq = request(16, NULL, 0, 10);
	rq.split = 0;
	cr_assert_eq(slice_plan_next(&rq, &p, err, sizeof(err)), -EINVAL);

	rq = request(16, NULL, 0, 10);
	memset(rq.per_sm, 0, sizeof(rq.per_sm));
	cr_assert_eq(slice_plan_next(&rq, &p, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "no block-size variant"), "%s", err);

	rq = request(16, NULL, 0, 10);
	rq.per_sm[1] = SLICE_MAX_PER_SM + 1;
	cr_assert_eq(slice_plan_next(&rq, &p, err, sizeof(err)), -EINVAL);
	cr_assert_eq(slice_free_slots(16, NULL, 0, 65, err, sizeof(err)), -EINVAL);
}

/* Planning a whole kernel slice after slice under changing critical load:
 * the slices cover the grid exactly, every plan launches at least one
 * block, never more blocks than logical blocks, never more than the free
 * slots (when any) nor the cap. */
Test(cuda_slice, slices_cover_a_grid_under_random_load)
{
	unsigned seed = 12345;

	for (int trial = 0; trial < 200; trial++) {
		struct slice_resident res[3];
		uint32_t total = 1 + (uint32_t)(rand_r(&seed) % 50000), done = 0;
		int slices = 0;

		while (done < total) {
			int nr = rand_r(&seed) % 4;
			struct slice_request rq;
			struct slice_plan p;

			for (int k = 0; k < nr; k++) {
				res[k].blocks = (uint32_t)(rand_r(&seed) % 200);
				res[k].per_sm = 1 + (uint32_t)(rand_r(&seed) % 16);
			}
			rq = request(16, res, nr, total - done);
			rq.share = (rand_r(&seed) % 11) / 10.0;
			rq.split = 1 + rand_r(&seed) % 3;
			p = plan_ok(&rq);
			cr_assert_geq(p.blocks, 1);
			cr_assert_leq(p.blocks, p.length);
			cr_assert_leq(p.length, total - done);
			if (p.free_slots >= 1 && p.cap_blocks >= 1) {
				cr_assert_leq(p.blocks, p.free_slots);
				cr_assert_leq(p.blocks, p.cap_blocks);
			}
			done += p.length;
			slices++;
			cr_assert_lt(slices, 100000);
		}
		cr_assert_eq(done, total);
	}
}

/* ---- GPU shares ----------------------------------------------------------- */

static struct triage_gpu_share entry(const char *name, unsigned permille)
{
	struct triage_gpu_share e;

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.permille = permille;
	return e;
}

Test(cuda_gpu_shares, publish_then_read)
{
	struct triage_gpu_shares s, copy;
	struct triage_gpu_share e[2] = { entry("detector", 1000), entry("batch", 250) };
	char err[256];
	uint32_t seq;

	gpu_shares_init(&s);
	seq = gpu_shares_seq(&s);
	cr_assert_eq(gpu_shares_publish(&s, e, 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_seq(&s), seq + 2);
	cr_assert_eq(s.generation, 1);
	cr_assert_eq(gpu_shares_snapshot(&s, &copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(copy.nr_shares, 2);
	cr_assert_eq(gpu_shares_lookup(&copy, "batch"), 250);
	cr_assert_eq(gpu_shares_lookup(&copy, "detector"), 1000);
	cr_assert_eq(gpu_shares_lookup(&copy, "other"), -1);
}

Test(cuda_gpu_shares, set_adds_and_updates)
{
	struct triage_gpu_shares s, copy;
	char err[256], name[16];

	gpu_shares_init(&s);
	cr_assert_eq(gpu_shares_set(&s, "a", 100, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_set(&s, "b", 200, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_set(&s, "a", 300, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_snapshot(&s, &copy, err, sizeof(err)), 0);
	cr_assert_eq(copy.nr_shares, 2);
	cr_assert_eq(gpu_shares_lookup(&copy, "a"), 300);
	cr_assert_eq(gpu_shares_lookup(&copy, "b"), 200);

	for (int i = 2; i < TRIAGE_GPU_MAX_SHARES; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		cr_assert_eq(gpu_shares_set(&s, name, 1, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert_eq(gpu_shares_set(&s, "one-too-many", 1, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "table full"), "%s", err);
	/* An existing name still updates in a full table. */
	cr_assert_eq(gpu_shares_set(&s, "a", 0, err, sizeof(err)), 0, "%s", err);
}

Test(cuda_gpu_shares, bad_entries_leave_the_table_alone)
{
	struct triage_gpu_shares s;
	struct triage_gpu_share e[1];
	char err[256];
	uint32_t seq;

	gpu_shares_init(&s);
	seq = gpu_shares_seq(&s);
	e[0] = entry("x", 1001);
	cr_assert_eq(gpu_shares_publish(&s, e, 1, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "1001 per mille"), "%s", err);
	e[0] = entry("", 10);
	cr_assert_eq(gpu_shares_publish(&s, e, 1, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "empty"), "%s", err);
	memset(e[0].name, 'n', sizeof(e[0].name));
	cr_assert_eq(gpu_shares_publish(&s, e, 1, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "longer than 31"), "%s", err);
	cr_assert_eq(gpu_shares_publish(&s, e, TRIAGE_GPU_MAX_SHARES + 1, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(gpu_shares_set(&s, "a-name-much-longer-than-31-characters", 1, err,
				    sizeof(err)),
		     -EINVAL);
	cr_assert_eq(gpu_shares_seq(&s), seq);
}

/* A write left open (the writer preempted, or dead, between its halves)
 * is never read: the reader gives up with -EAGAIN rather than return what
 * it half wrote, and reads the whole new table once it is closed. */
Test(cuda_gpu_shares, open_write_is_never_read)
{
	struct triage_gpu_shares s, copy;
	struct triage_gpu_share e[1] = { entry("batch", 500) };
	char err[256];

	gpu_shares_init(&s);
	cr_assert_eq(gpu_shares_publish(&s, e, 1, err, sizeof(err)), 0);
	gpu_shares_write_begin(&s);
	s.shares[0].permille = 123; /* half of an update */
	memset(&copy, 0, sizeof(copy));
	cr_assert_eq(gpu_shares_snapshot(&s, &copy, err, sizeof(err)), -EAGAIN);
	cr_assert(strstr(err, "in progress"), "%s", err);
	s.shares[1] = entry("new", 42);
	s.nr_shares = 2;
	gpu_shares_write_end(&s);
	cr_assert_eq(gpu_shares_snapshot(&s, &copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_lookup(&copy, "batch"), 123);
	cr_assert_eq(gpu_shares_lookup(&copy, "new"), 42);
	cr_assert_eq(gpu_shares_seq(&s) & 1, 0);
}

/* A writer that died inside a write left seq odd; the next write closes
 * it and readers see the next table whole. */
Test(cuda_gpu_shares, next_write_closes_a_dead_writers_seq)
{
	struct triage_gpu_shares s, copy;
	struct triage_gpu_share e[1] = { entry("a", 7) };
	char err[256];

	gpu_shares_init(&s);
	gpu_shares_write_begin(&s);
	cr_assert_eq(gpu_shares_publish(&s, e, 1, err, sizeof(err)), 0);
	cr_assert_eq(gpu_shares_snapshot(&s, &copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_lookup(&copy, "a"), 7);
}

Test(cuda_gpu_shares, another_abi_is_refused)
{
	struct triage_gpu_shares s, copy;
	char err[256];

	gpu_shares_init(&s);
	s.abi_version = TRIAGE_GPU_SHARES_ABI + 1;
	cr_assert_eq(gpu_shares_snapshot(&s, &copy, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "ABI version 2, this reader knows 1"), "%s", err);

	gpu_shares_init(&s);
	s.magic = 0xdeadbeef;
	cr_assert_eq(gpu_shares_snapshot(&s, &copy, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "bad magic"), "%s", err);

	gpu_shares_init(&s);
	s.nr_shares = TRIAGE_GPU_MAX_SHARES + 1;
	cr_assert_eq(gpu_shares_snapshot(&s, &copy, err, sizeof(err)), -EPROTO);
}

/* Every table the writer publishes is self-consistent: all entries carry
 * the same share and the count matches it. A reader hammering snapshots
 * while the writer rewrites must only ever see such tables. */
struct race {
	struct triage_gpu_shares s;
	volatile int stop;
	unsigned writes;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	struct triage_gpu_share e[TRIAGE_GPU_MAX_SHARES];
	char err[256];

	for (unsigned k = 0; !r->stop; k++) {
		unsigned v = k % (TRIAGE_GPU_SHARE_FULL + 1);
		int n = 1 + (int)(v % TRIAGE_GPU_MAX_SHARES);

		for (int i = 0; i < n; i++) {
			e[i] = entry("", v);
			snprintf(e[i].name, sizeof(e[i].name), "dnn-%u-%d", v, i);
		}
		if (gpu_shares_publish(&r->s, e, n, err, sizeof(err)))
			abort();
		r->writes++;
	}
	return NULL;
}

Test(cuda_gpu_shares, concurrent_reader_never_sees_a_torn_table)
{
	static struct race r;
	struct triage_gpu_shares copy;
	pthread_t writer;
	char err[256], want[TRIAGE_NAME_MAX];
	int reads = 0, busy = 0;

	gpu_shares_init(&r.s);
	r.stop = 0;
	cr_assert_eq(pthread_create(&writer, NULL, race_writer, &r), 0);
	for (int i = 0; i < 20000 || r.writes < 100; i++) {
		int ret = gpu_shares_snapshot(&r.s, &copy, err, sizeof(err));

		if (ret == -EAGAIN) {
			busy++;
			continue;
		}
		cr_assert_eq(ret, 0, "%s", err);
		reads++;
		if (!copy.nr_shares)
			continue;
		unsigned v = copy.shares[0].permille;

		cr_assert_eq(copy.nr_shares, 1 + v % TRIAGE_GPU_MAX_SHARES);
		for (uint32_t j = 0; j < copy.nr_shares; j++) {
			snprintf(want, sizeof(want), "dnn-%u-%u", v, j);
			cr_assert_eq(copy.shares[j].permille, v);
			cr_assert_str_eq(copy.shares[j].name, want);
		}
	}
	r.stop = 1;
	pthread_join(writer, NULL);
	cr_assert_gt(reads, 0);
	(void)busy;
}

static char run_dir[64];

static void make_run_dir(void)
{
	snprintf(run_dir, sizeof(run_dir), "/tmp/triage-gpushares-XXXXXX");
	cr_assert_not_null(mkdtemp(run_dir));
	setenv("TRIAGE_RUN_DIR", run_dir, 1);
}

static void remove_run_dir(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", run_dir, TRIAGE_GPU_SHARES_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub/%s", run_dir, TRIAGE_GPU_SHARES_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", run_dir);
	rmdir(path);
	rmdir(run_dir);
	unsetenv("TRIAGE_RUN_DIR");
}

Test(cuda_gpu_shares, file_between_writer_and_reader, .init = make_run_dir,
     .fini = remove_run_dir)
{
	struct gpu_shares_file w, r;
	struct triage_gpu_shares copy;
	char path[256], err[256];
	struct stat st;

	gpu_shares_default_path(path, sizeof(path));
	cr_assert(strstr(path, run_dir) == path && strstr(path, "/gpu-shares"), "%s", path);

	cr_assert_eq(gpu_shares_open(path, &r, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "cannot open"), "%s", err);

	cr_assert_eq(gpu_shares_create(path, &w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, (off_t)sizeof(struct triage_gpu_shares));
	cr_assert_eq(gpu_shares_open(path, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_snapshot(r.s, &copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(copy.nr_shares, 0);

	cr_assert_eq(gpu_shares_set(w.s, "batch", 400, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_snapshot(r.s, &copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_lookup(&copy, "batch"), 400);
	gpu_shares_close(&r);
	gpu_shares_close(&w);

	/* A writer taking over keeps the table. */
	cr_assert_eq(gpu_shares_create(path, &w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_snapshot(w.s, &copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_lookup(&copy, "batch"), 400);
	gpu_shares_close(&w);

	/* The parent directory is made when missing. */
	snprintf(path, sizeof(path), "%s/sub/%s", run_dir, TRIAGE_GPU_SHARES_FILE);
	cr_assert_eq(gpu_shares_create(path, &w, err, sizeof(err)), 0, "%s", err);
	gpu_shares_close(&w);
}

Test(cuda_gpu_shares, file_of_another_abi, .init = make_run_dir, .fini = remove_run_dir)
{
	struct gpu_shares_file f;
	struct triage_gpu_shares copy;
	uint32_t head[4] = { TRIAGE_GPU_SHARES_MAGIC, TRIAGE_GPU_SHARES_ABI + 1, 0, 0 };
	char path[256], err[256];
	int fd;

	gpu_shares_default_path(path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, head, sizeof(head)), (ssize_t)sizeof(head));
	close(fd);
	cr_assert_eq(gpu_shares_open(path, &f, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "ABI version 2, this reader knows 1"), "%s", err);

	/* Same size, other version: refused at the snapshot. */
	fd = open(path, O_WRONLY);
	cr_assert_eq(ftruncate(fd, sizeof(struct triage_gpu_shares)), 0);
	close(fd);
	cr_assert_eq(gpu_shares_open(path, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_snapshot(f.s, &copy, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "ABI version 2"), "%s", err);
	gpu_shares_close(&f);

	/* The writer of this ABI starts the file afresh. */
	cr_assert_eq(gpu_shares_create(path, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gpu_shares_snapshot(f.s, &copy, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(copy.abi_version, TRIAGE_GPU_SHARES_ABI);
	gpu_shares_close(&f);
}

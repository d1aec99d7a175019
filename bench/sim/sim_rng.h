/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Seeded random streams for the simulator and the benchmark: xoshiro256**
 * seeded through splitmix64, so that streams derived from one seed and a
 * stream number are independent and the same on every machine (rand() is
 * neither).
 */
#ifndef TRIAGE_BENCH_SIM_RNG_H
#define TRIAGE_BENCH_SIM_RNG_H

#include <math.h>
#include <stdint.h>

struct sim_rng {
	uint64_t s[4];
};

static inline uint64_t sim_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);

	for (int i = 0; i < 4; i++)
		r->s[i] = sim_splitmix64(&x);
}

static inline uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t x = s[1] * 5;
	uint64_t out = ((x << 7) | (x >> 57)) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return out;
}

/* Uniform in (0, 1): never 0, so its logarithm is finite. */
static inline double sim_rng_uniform(struct sim_rng *r)
{
	return ((sim_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* Uniform integer in [0, n). */
static inline unsigned sim_rng_below(struct sim_rng *r, unsigned n)
{
	return (unsigned)(sim_rng_uniform(r) * n) % n;
}

static inline double sim_rng_exponential(struct sim_rng *r, double mean)
{
	return -mean * log(sim_rng_uniform(r));
}

#endif

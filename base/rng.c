/* rng.c - PCG32 (XSH-RR), written from the published algorithm; see
 * include/base/rng.h */
#include "base/rng.h"

#include <math.h>

#define PCG_MULT 6364136223846793005ULL

void sw_rng_seed(struct sw_rng *rng, uint64_t initstate, uint64_t initseq)
{
	rng->state = 0;
	rng->inc = (initseq << 1) | 1u;
	sw_rng_u32(rng);
	rng->state += initstate;
	sw_rng_u32(rng);
}

uint32_t sw_rng_u32(struct sw_rng *rng)
{
	uint64_t old = rng->state;
	uint32_t xorshifted, rot;

	rng->state = old * PCG_MULT + rng->inc;
	xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
	rot = (uint32_t)(old >> 59);
	return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

uint64_t sw_rng_u64(struct sw_rng *rng)
{
	uint64_t hi = sw_rng_u32(rng);

	return (hi << 32) | sw_rng_u32(rng);
}

double sw_rng_double(struct sw_rng *rng)
{
	/* 27 + 26 = 53 bits, the full precision of a double mantissa */
	uint32_t a = sw_rng_u32(rng) >> 5, b = sw_rng_u32(rng) >> 6;

	return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

uint32_t sw_rng_bounded(struct sw_rng *rng, uint32_t bound)
{
	uint32_t threshold, r;

	if (bound == 0)
		return 0;
	/* values below 2^32 mod bound would make low results more likely */
	threshold = (uint32_t)(-bound) % bound;
	for (;;) {
		r = sw_rng_u32(rng);
		if (r >= threshold)
			return r % bound;
	}
}

double sw_rng_normal(struct sw_rng *rng)
{
	double u, v, s;

	do {
		u = 2.0 * sw_rng_double(rng) - 1.0;
		v = 2.0 * sw_rng_double(rng) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	return u * sqrt(-2.0 * log(s) / s);
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t sw_seed_derive(uint64_t seed, uint64_t index)
{
	return splitmix64(splitmix64(seed) ^ splitmix64(index + 0x632be59bd9b4e019ULL));
}

void sw_rng_derive(const struct sw_rng *parent, uint64_t index,
		   struct sw_rng *child)
{
	uint64_t base = parent->state ^ splitmix64(parent->inc);

	sw_rng_seed(child, sw_seed_derive(base, index),
		    sw_seed_derive(base ^ 0xda942042e4dd58b5ULL, index));
}

/*
 * rng.h - PCG32 random numbers (O'Neill, "PCG: A Family of Simple Fast
 * Space-Efficient Statistically Good Algorithms for Random Number
 * Generation", 2014): 64-bit LCG state, XSH-RR output, selectable stream.
 *
 * Every random choice in sweep (search proposals, weight init, dropout masks,
 * shuffling, augmentation) draws from an explicitly seeded struct sw_rng, so a
 * sweep is reproducible from the seed written into its results. Independent
 * generators for trials and threads come from sw_rng_derive(), which does not
 * advance the parent, so the derived stream depends only on (parent, index).
 *
 * defines: struct sw_rng, sw_rng_seed, sw_rng_u32, sw_rng_u64, sw_rng_double,
 *          sw_rng_bounded, sw_rng_normal, sw_rng_derive, sw_seed_derive
 */
#ifndef SW_RNG_H
#define SW_RNG_H

#include <stdint.h>

struct sw_rng {
	uint64_t state;
	uint64_t inc;  /* stream selector; always odd */
};

/* Seeds rng as the reference pcg32_srandom_r(initstate, initseq) does. */
void sw_rng_seed(struct sw_rng *rng, uint64_t initstate, uint64_t initseq);

/* Next 32 random bits. */
uint32_t sw_rng_u32(struct sw_rng *rng);

/* Next 64 random bits (two outputs, high word first). */
uint64_t sw_rng_u64(struct sw_rng *rng);

/* Uniform double in [0,1) with 53 random bits. */
double sw_rng_double(struct sw_rng *rng);

/* Uniform integer in [0, bound) without modulo bias; bound 0 returns 0. */
uint32_t sw_rng_bounded(struct sw_rng *rng, uint32_t bound);

/* Standard normal deviate (Marsaglia's polar method, second value dropped so
 * the generator carries no hidden state). */
double sw_rng_normal(struct sw_rng *rng);

/* Makes child an independent generator determined by parent's current state
 * and index; parent is not advanced. Use one index per trial or thread. */
void sw_rng_derive(const struct sw_rng *parent, uint64_t index,
		   struct sw_rng *child);

/* Derives a 64-bit seed from a seed and an index (splitmix64 mixing), e.g.
 * the recorded seed of trial i from the sweep seed. */
uint64_t sw_seed_derive(uint64_t seed, uint64_t index);

#endif

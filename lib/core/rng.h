/* A small, fast, seedable random generator (xoshiro256**, seeded by splitmix64). Every random
 * choice of the library draws from one of these, so a seed fixes every result. */
#ifndef CORE_RNG_H
#define CORE_RNG_H

#include <stdint.h>

typedef struct core_rng {
    uint64_t s[4];
} core_rng;

void core_rng_seed(core_rng *rng, uint64_t seed);
uint64_t core_rng_next(core_rng *rng);
/* Uniform in [0, 1). */
double core_rng_uniform(core_rng *rng);
/* Uniform integer in [0, bound), unbiased; bound > 0. */
uint64_t core_rng_below(core_rng *rng, uint64_t bound);
/* Standard normal (Box-Muller). */
double core_rng_normal(core_rng *rng);
/* A random permutation of 0..n-1 into perm (Fisher-Yates). */
void core_rng_permutation(core_rng *rng, size_t *perm, size_t n);

#endif

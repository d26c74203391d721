/* Patch memory: the training latents an E-step keeps per patch position (the global model has one
 * position), at most a capacity per position by reservoir sampling, and the nearest-neighbour
 * term that scores a latent against them. */
#ifndef MDL_MEMORY_H
#define MDL_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

/* Bounds of a position's scale (a file's scales outside them are corrupt). */
#define MDL_MEMORY_SCALE_MIN 1e-12
#define MDL_MEMORY_SCALE_MAX 1e30

typedef struct mdl_memory {
    int latent;
    size_t positions;
    int *y, *x;       /* each position's patch offset, in pixels of the resized image */
    size_t *count;    /* latents kept at each position */
    size_t *capacity; /* room allocated at each position (building grows it) */
    uint64_t *seen;   /* building: latents offered at each position */
    float **z;        /* each position's latents, count x latent */
    float **norm;     /* each position's squared latent norms */
    double *scale;    /* each position's typical squared distance between kept latents */
} mdl_memory;

/* An empty memory with the given positions (NULL y, x: all at 0); no latents yet. */
igd_status mdl_memory_init(mdl_memory *mem, int latent, size_t positions, const int *y,
                           const int *x, core_err *err);
void mdl_memory_free(mdl_memory *mem);
/* Room for count latents at position p (load, or building growth). */
igd_status mdl_memory_reserve(mdl_memory *mem, size_t p, size_t count, core_err *err);
/* Offers latent z at position p: kept while fewer than limit are, else it replaces a random kept
 * one with probability limit / offered (reservoir sampling: every offered latent is equally likely
 * to stay). */
igd_status mdl_memory_offer(mdl_memory *mem, size_t p, const float *z, size_t limit, core_rng *rng,
                            core_err *err);
/* Recomputes the squared norms after latents were written directly (loading); false when one
 * does not fit a float. */
bool mdl_memory_seal(mdl_memory *mem);
/* Total latents kept. */
size_t mdl_memory_total(const mdl_memory *mem);
/* A new memory *out over mem's positions with at most k of mem's latents at each (k > 0), chosen
 * by greedy farthest-point selection (the k-center coreset): the first latent, then again and
 * again the one farthest from all chosen so far (the lowest index among equals; a NaN distance
 * counts as farthest), by exact squared distances; in the order chosen, never one twice. A
 * position with at most k latents keeps them all. mem is unchanged; on failure *out is empty. */
igd_status mdl_memory_coreset(const mdl_memory *mem, size_t k, mdl_memory *out, core_err *err);
/* Sets each position's scale: the mean, over its kept latents, of the squared distance to the
 * nearest other kept latent there (leave one out); fallback where a position keeps one latent;
 * never below floor or MDL_MEMORY_SCALE_MIN, nor above MDL_MEMORY_SCALE_MAX. */
igd_status mdl_memory_calibrate(mdl_memory *mem, double floor, double fallback, core_err *err);
/* The memory term of latent z at patch offset (y, x): over the positions nearest (y, x) (those
 * whose offset differs from it by at most radius pixels more, along either axis, than the nearest
 * position's does), the smallest squared distance to a kept latent over that position's scale;
 * infinite for a latent with an infinite entry, NaN for one with a NaN. Fails only when the matrix
 * product fails. */
igd_status mdl_memory_term(const mdl_memory *mem, int y, int x, double radius, const float *z,
                           double *out, core_err *err);

#endif

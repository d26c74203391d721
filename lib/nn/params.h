/* A parameter store: every learnable tensor (and normalisation running statistics) of one
 * network, in canonical plain layouts (conv weights oihw, linear weights oi / oihw, vectors), in
 * one value arena with gradient and Adam moment arenas laid out alike.
 *
 * Networks are built against a store: the first build defines the parameters in order
 * (nn_params_claim), nn_params_commit allocates and initialises them; later builds of the same
 * network (other batch sizes, inference) replay the same claims with their own cursor and share
 * the values. Replaying does not modify the store, so graphs may be built concurrently. */
#ifndef NN_PARAMS_H
#define NN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

typedef enum nn_init {
    NN_INIT_ZERO = 0,
    NN_INIT_ONE = 1,
    NN_INIT_HE_UNIFORM = 2,    /* U(-b, b), b = sqrt(6 / fan_in) */
    NN_INIT_XAVIER_UNIFORM = 3 /* U(-b, b), b = sqrt(6 / (fan_in + fan_out)) */
} nn_init;

typedef struct nn_param {
    int ndims;
    int64_t dims[4];
    size_t count;  /* elements */
    size_t offset; /* into the arenas, in elements (64-byte aligned) */
    int trainable; /* 0 for running statistics */
    nn_init init;
    int fan_in, fan_out;
} nn_param;

typedef struct nn_params {
    nn_param *items;
    size_t count, capacity;
    size_t total; /* elements in each arena */
    float *value, *grad, *m, *v;
    int committed;
    uint64_t version; /* changes whenever values change */
    uint64_t steps;   /* Adam steps taken */
} nn_params;

void nn_params_init(nn_params *p);
void nn_params_fini(nn_params *p);
/* Defines (before commit) or replays (after, at *cursor) the next parameter; *index receives
 * it and *cursor advances. */
igd_status nn_params_claim(nn_params *p, size_t *cursor, int ndims, const int64_t *dims,
                           int trainable, nn_init init, int fan_in, int fan_out, size_t *index,
                           core_err *err);
/* Allocates the arenas and draws initial values from a generator seeded with seed. */
igd_status nn_params_commit(nn_params *p, uint64_t seed, core_err *err);
/* Re-draws all initial values (as at commit) and clears gradients and moments. */
void nn_params_reset(nn_params *p, uint64_t seed);
/* Marks values changed (graphs holding reordered copies refresh them before their next use). */
void nn_params_touch(nn_params *p);
void nn_params_zero_grad(nn_params *p);
/* grad += other (same layout). */
void nn_params_add_grad(nn_params *p, const float *other);
size_t nn_params_trainable_count(const nn_params *p);
/* Floats of the running statistics (the parameters that do not train). */
size_t nn_params_stats_count(const nn_params *p);
/* Copies the running statistics into out (nn_params_stats_count floats), or back from it. */
void nn_params_stats_save(const nn_params *p, float *out);
void nn_params_stats_restore(nn_params *p, const float *in);
/* Whether every value is finite; with moments, every Adam moment too; with grads, every gradient
 * is finite and small enough that its square (Adam's second moment) stays finite. */
bool nn_params_finite(const nn_params *p, bool grads, bool moments);

static inline float *nn_param_value(nn_params *p, size_t i)
{
    return p->value + p->items[i].offset;
}
static inline float *nn_param_grad(nn_params *p, size_t i)
{
    return p->grad + p->items[i].offset;
}

#endif

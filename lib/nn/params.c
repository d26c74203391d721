#include "nn/params.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"

enum { ALIGN_FLOATS = 16 };

void nn_params_init(nn_params *p)
{
    memset(p, 0, sizeof *p);
}

void nn_params_fini(nn_params *p)
{
    core_free(p->items);
    core_free_aligned(p->value);
    core_free_aligned(p->grad);
    core_free_aligned(p->m);
    core_free_aligned(p->v);
    nn_params_init(p);
}

igd_status nn_params_claim(nn_params *p, size_t *cursor, int ndims, const int64_t *dims,
                           int trainable, nn_init init, int fan_in, int fan_out, size_t *index,
                           core_err *err)
{
    size_t count = 1;
    for (int d = 0; d < ndims; d++)
        if (dims[d] <= 0 || !core_mul_size(count, (size_t)dims[d], &count))
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "parameter size overflows");
    if (p->committed) {
        if (*cursor >= p->count)
            return core_fail(err, IGD_ERR_INTERNAL, "network replay claims more parameters");
        nn_param *q = &p->items[*cursor];
        if (q->count != count || q->ndims != ndims)
            return core_fail(err, IGD_ERR_INTERNAL, "network replay differs at parameter %zu",
                             *cursor);
        *index = (*cursor)++;
        return IGD_OK;
    }
    if (p->count == p->capacity) {
        size_t cap = p->capacity ? p->capacity * 2 : 32;
        nn_param *items = core_realloc(p->items, cap * sizeof *items);
        if (!items)
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating parameter table");
        p->items = items;
        p->capacity = cap;
    }
    size_t padded = (count + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    size_t total;
    if (!core_add_size(p->total, padded, &total))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "parameter arena size overflows");
    nn_param *q = &p->items[p->count];
    memset(q, 0, sizeof *q);
    q->ndims = ndims;
    memcpy(q->dims, dims, sizeof(int64_t) * (size_t)ndims);
    q->count = count;
    q->offset = p->total;
    q->trainable = trainable;
    q->init = init;
    q->fan_in = fan_in;
    q->fan_out = fan_out;
    p->total = total;
    *index = p->count++;
    *cursor = p->count;
    return IGD_OK;
}

void nn_params_reset(nn_params *p, uint64_t seed)
{
    core_rng rng;
    core_rng_seed(&rng, seed);
    size_t bytes = p->total * sizeof(float);
    memset(p->value, 0, bytes);
    memset(p->grad, 0, bytes);
    memset(p->m, 0, bytes);
    memset(p->v, 0, bytes);
    for (size_t i = 0; i < p->count; i++) {
        nn_param *q = &p->items[i];
        float *x = p->value + q->offset;
        double bound = 0;
        if (q->init == NN_INIT_HE_UNIFORM)
            bound = sqrt(6.0 / q->fan_in);
        else if (q->init == NN_INIT_XAVIER_UNIFORM)
            bound = sqrt(6.0 / (q->fan_in + q->fan_out));
        for (size_t k = 0; k < q->count; k++) {
            if (q->init == NN_INIT_ONE)
                x[k] = 1.0f;
            else if (q->init != NN_INIT_ZERO)
                x[k] = (float)((2.0 * core_rng_uniform(&rng) - 1.0) * bound);
        }
    }
    p->steps = 0;
    p->version++;
}

igd_status nn_params_commit(nn_params *p, uint64_t seed, core_err *err)
{
    size_t bytes;
    if (!core_mul_size(p->total ? p->total : 1, sizeof(float), &bytes))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "parameter arena size overflows");
    p->value = core_malloc_aligned(bytes);
    p->grad = core_malloc_aligned(bytes);
    p->m = core_malloc_aligned(bytes);
    p->v = core_malloc_aligned(bytes);
    if (!p->value || !p->grad || !p->m || !p->v) {
        core_free_aligned(p->value);
        core_free_aligned(p->grad);
        core_free_aligned(p->m);
        core_free_aligned(p->v);
        p->value = p->grad = p->m = p->v = NULL;
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu parameters", p->total);
    }
    p->committed = 1;
    nn_params_reset(p, seed);
    return IGD_OK;
}

void nn_params_touch(nn_params *p)
{
    p->version++;
}

void nn_params_zero_grad(nn_params *p)
{
    memset(p->grad, 0, p->total * sizeof(float));
}

void nn_params_add_grad(nn_params *p, const float *other)
{
    float *g = p->grad;
    size_t n = p->total;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        g[i] += other[i];
}

size_t nn_params_trainable_count(const nn_params *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        if (p->items[i].trainable)
            n += p->items[i].count;
    return n;
}

size_t nn_params_stats_count(const nn_params *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        if (!p->items[i].trainable)
            n += p->items[i].count;
    return n;
}

void nn_params_stats_save(const nn_params *p, float *out)
{
    for (size_t i = 0; i < p->count; i++) {
        const nn_param *q = &p->items[i];
        if (q->trainable)
            continue;
        memcpy(out, p->value + q->offset, q->count * sizeof(float));
        out += q->count;
    }
}

void nn_params_stats_restore(nn_params *p, const float *in)
{
    for (size_t i = 0; i < p->count; i++) {
        const nn_param *q = &p->items[i];
        if (q->trainable)
            continue;
        memcpy(p->value + q->offset, in, q->count * sizeof(float));
        in += q->count;
    }
    p->version++;
}

/* Whether every float of x[0, n) lies within +-limit (false for NaN). */
static bool within(const float *x, size_t n, float limit)
{
    int ok = 1;
#pragma omp parallel for schedule(static) reduction(& : ok) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        ok &= fabsf(x[i]) <= limit;
    return ok;
}

bool nn_params_finite(const nn_params *p, bool grads, bool moments)
{
    if (!p->committed)
        return true;
    const size_t n = p->total;
    if (!within(p->value, n, FLT_MAX))
        return false;
    if (grads && !within(p->grad, n, 1e18f))
        return false;
    return !moments || (within(p->m, n, FLT_MAX) && within(p->v, n, FLT_MAX));
}

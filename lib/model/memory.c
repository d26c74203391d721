/* Patch memory: reservoir-sampled training latents per position and nearest-neighbour distances,
 * computed as |z|^2 - 2 z.b + |b|^2 with the dot products from oneDNN's sgemm in chunks. The
 * per-position scale makes terms comparable across positions (an image's edge varies more than
 * its middle), so one threshold and one heatmap scale serve the whole image. */
#include "model/memory.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"

enum { CHUNK = 512 };

void mdl_memory_free(mdl_memory *mem)
{
    for (size_t p = 0; p < mem->positions; p++) {
        if (mem->z)
            core_free_aligned(mem->z[p]);
        if (mem->norm)
            core_free(mem->norm[p]);
    }
    core_free(mem->y);
    core_free(mem->x);
    core_free(mem->count);
    core_free(mem->capacity);
    core_free(mem->seen);
    core_free(mem->z);
    core_free(mem->norm);
    core_free(mem->scale);
    memset(mem, 0, sizeof *mem);
}

igd_status mdl_memory_init(mdl_memory *mem, int latent, size_t positions, const int *y,
                           const int *x, core_err *err)
{
    memset(mem, 0, sizeof *mem);
    mem->latent = latent;
    mem->y = core_calloc(positions, sizeof *mem->y);
    mem->x = core_calloc(positions, sizeof *mem->x);
    mem->count = core_calloc(positions, sizeof *mem->count);
    mem->capacity = core_calloc(positions, sizeof *mem->capacity);
    mem->seen = core_calloc(positions, sizeof *mem->seen);
    mem->z = core_calloc(positions, sizeof *mem->z);
    mem->norm = core_calloc(positions, sizeof *mem->norm);
    mem->scale = core_calloc(positions, sizeof *mem->scale);
    mem->positions = positions;
    if (!mem->y || !mem->x || !mem->count || !mem->capacity || !mem->seen || !mem->z ||
        !mem->norm || !mem->scale) {
        mdl_memory_free(mem);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a patch memory");
    }
    memcpy(mem->y, y, positions * sizeof *y);
    memcpy(mem->x, x, positions * sizeof *x);
    for (size_t p = 0; p < positions; p++)
        mem->scale[p] = 1.0;
    return IGD_OK;
}

igd_status mdl_memory_reserve(mdl_memory *mem, size_t p, size_t count, core_err *err)
{
    if (count <= mem->capacity[p])
        return IGD_OK;
    size_t bytes, nbytes;
    if (!core_mul_size(count, (size_t)mem->latent * sizeof(float), &bytes) ||
        !core_mul_size(count, sizeof(float), &nbytes))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "patch memory too large");
    float *z = core_malloc_aligned(bytes);
    float *norm = core_malloc(nbytes);
    if (!z || !norm) {
        core_free_aligned(z);
        core_free(norm);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu bytes of patch memory", bytes);
    }
    if (mem->count[p]) {
        memcpy(z, mem->z[p], mem->count[p] * (size_t)mem->latent * sizeof(float));
        memcpy(norm, mem->norm[p], mem->count[p] * sizeof(float));
    }
    core_free_aligned(mem->z[p]);
    core_free(mem->norm[p]);
    mem->z[p] = z;
    mem->norm[p] = norm;
    mem->capacity[p] = count;
    return IGD_OK;
}

static float squared_norm(const float *z, int n)
{
    double s = 0;
    for (int k = 0; k < n; k++)
        s += (double)z[k] * z[k];
    return (float)s;
}

igd_status mdl_memory_offer(mdl_memory *mem, size_t p, const float *z, size_t limit, core_rng *rng,
                            core_err *err)
{
    uint64_t seen = mem->seen[p]++;
    size_t slot;
    if (mem->count[p] < limit) {
        if (mem->count[p] == mem->capacity[p]) {
            size_t grow = mem->capacity[p] ? mem->capacity[p] * 2 : 64;
            CORE_TRY(mdl_memory_reserve(mem, p, grow < limit ? grow : limit, err));
        }
        slot = mem->count[p]++;
    } else {
        uint64_t j = core_rng_below(rng, seen + 1);
        if (j >= limit)
            return IGD_OK;
        slot = (size_t)j;
    }
    const size_t L = (size_t)mem->latent;
    memcpy(mem->z[p] + slot * L, z, L * sizeof(float));
    mem->norm[p][slot] = squared_norm(z, mem->latent);
    return IGD_OK;
}

void mdl_memory_seal(mdl_memory *mem)
{
    for (size_t p = 0; p < mem->positions; p++)
        for (size_t i = 0; i < mem->count[p]; i++)
            mem->norm[p][i] = squared_norm(mem->z[p] + i * (size_t)mem->latent, mem->latent);
}

size_t mdl_memory_total(const mdl_memory *mem)
{
    size_t n = 0;
    for (size_t p = 0; p < mem->positions; p++)
        n += mem->count[p];
    return n;
}

static igd_status sgemm_failed(dnnl_status_t s, core_err *err)
{
    return core_fail(err, IGD_ERR_INTERNAL, "oneDNN sgemm failed (status %d)", (int)s);
}

igd_status mdl_memory_calibrate(mdl_memory *mem, double floor, core_err *err)
{
    size_t most = 0, bytes;
    for (size_t p = 0; p < mem->positions; p++)
        most = mem->count[p] > most ? mem->count[p] : most;
    if (!core_mul4_size(most, CHUNK, sizeof(float), 1, &bytes))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "patch memory too large");
    float *dot = core_malloc_aligned(bytes ? bytes : sizeof(float));
    if (!dot)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu bytes of scratch", bytes);
    const dnnl_dim_t L = mem->latent;
    for (size_t p = 0; p < mem->positions; p++) {
        const size_t n = mem->count[p];
        const float *z = mem->z[p], *norm = mem->norm[p];
        double sum = 0;
        for (size_t first = 0; first < n && n > 1; first += CHUNK) {
            size_t k = n - first < CHUNK ? n - first : CHUNK;
            dnnl_status_t s = dnnl_sgemm('N', 'T', (dnnl_dim_t)k, (dnnl_dim_t)n, L, 1.0f,
                                         z + first * (size_t)L, L, z, L, 0.0f, dot, (dnnl_dim_t)n);
            if (s != dnnl_success) {
                core_free_aligned(dot);
                return sgemm_failed(s, err);
            }
            for (size_t i = 0; i < k; i++) {
                double best = INFINITY;
                for (size_t j = 0; j < n; j++) {
                    double d = (double)norm[first + i] + norm[j] - 2.0 * dot[i * n + j];
                    if (j != first + i && d < best)
                        best = d;
                }
                sum += best > 0 ? best : 0;
            }
        }
        double scale = n > 1 ? sum / (double)n : floor;
        mem->scale[p] = scale > floor ? scale : floor;
    }
    core_free_aligned(dot);
    return IGD_OK;
}

static int axis_gap(int a, int b)
{
    return a > b ? a - b : b - a;
}

static int gap(const mdl_memory *mem, size_t p, int y, int x)
{
    int dy = axis_gap(mem->y[p], y), dx = axis_gap(mem->x[p], x);
    return dy > dx ? dy : dx;
}

/* Smallest |z - b|^2 over the latents b at position p into *best. */
static igd_status nearest_at(const mdl_memory *mem, size_t p, const float *z, double zz,
                             double *best, core_err *err)
{
    const dnnl_dim_t L = mem->latent;
    float dot[CHUNK];
    for (size_t first = 0; first < mem->count[p]; first += CHUNK) {
        size_t n = mem->count[p] - first < CHUNK ? mem->count[p] - first : CHUNK;
        dnnl_status_t s = dnnl_sgemm('N', 'T', 1, (dnnl_dim_t)n, L, 1.0f, z, L,
                                     mem->z[p] + first * (size_t)L, L, 0.0f, dot, (dnnl_dim_t)n);
        if (s != dnnl_success)
            return sgemm_failed(s, err);
        const float *norm = mem->norm[p] + first;
        for (size_t i = 0; i < n; i++) {
            double d = zz + norm[i] - 2.0 * dot[i];
            if (d < *best)
                *best = d;
        }
    }
    return IGD_OK;
}

igd_status mdl_memory_term(const mdl_memory *mem, int y, int x, double radius, const float *z,
                           double *out, core_err *err)
{
    int closest = -1;
    for (size_t p = 0; p < mem->positions; p++)
        if (mem->count[p] && (closest < 0 || gap(mem, p, y, x) < closest))
            closest = gap(mem, p, y, x);
    const double reach = closest + radius, zz = squared_norm(z, mem->latent);
    double term = INFINITY;
    for (size_t p = 0; p < mem->positions && closest >= 0; p++) {
        if (!mem->count[p] || gap(mem, p, y, x) > reach)
            continue;
        double best = INFINITY;
        CORE_TRY(nearest_at(mem, p, z, zz, &best, err));
        best = (best > 0 ? best : 0) / mem->scale[p];
        term = best < term ? best : term;
    }
    *out = isfinite(term) ? term : 0;
    return IGD_OK;
}

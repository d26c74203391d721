/* Patch memory: reservoir-sampled training latents per position and nearest-neighbour distances,
 * computed as |z|^2 - 2 z.b + |b|^2 with the dot products from oneDNN's sgemm in chunks. The
 * per-position scale makes terms comparable across positions (an image's edge varies more than
 * its middle), so one threshold and one heatmap scale serve the whole image. */
#include "model/memory.h"

#include <float.h>
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
    if (y)
        memcpy(mem->y, y, positions * sizeof *y);
    if (x)
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

static double squared_norm(const float *z, int n)
{
    double s = 0;
    for (int k = 0; k < n; k++)
        s += (double)z[k] * z[k];
    return s;
}

static double exact_distance(const float *a, const float *b, int n)
{
    double s = 0;
    for (int k = 0; k < n; k++)
        s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

igd_status mdl_memory_offer(mdl_memory *mem, size_t p, const float *z, size_t limit, core_rng *rng,
                            core_err *err)
{
    if (p >= mem->positions)
        return core_fail(err, IGD_ERR_INTERNAL, "patch position %zu of %zu", p, mem->positions);
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
    mem->norm[p][slot] = (float)squared_norm(z, mem->latent);
    return IGD_OK;
}

/* The farthest-point choice of k of position p's n latents into pick, with far (n values) as
 * work: each latent's squared distance to the nearest chosen one (NaN counts as farthest), -1
 * once it is chosen. */
static void farthest_points(const mdl_memory *mem, size_t p, size_t k, size_t *pick, double *far)
{
    const size_t n = mem->count[p], L = (size_t)mem->latent;
    const float *z = mem->z[p];
    for (size_t i = 0; i < n; i++)
        far[i] = exact_distance(z + i * L, z, mem->latent);
    pick[0] = 0;
    far[0] = -1;
    for (size_t j = 1; j < k; j++) {
        size_t best = n;
        double top = -1;
        for (size_t i = 0; i < n; i++) {
            double f = isnan(far[i]) ? INFINITY : far[i];
            if (f >= 0 && (best == n || f > top))
                best = i, top = f;
        }
        pick[j] = best;
        far[best] = -1;
        for (size_t i = 0; i < n; i++) {
            if (far[i] < 0)
                continue;
            double d = exact_distance(z + i * L, z + best * L, mem->latent);
            if (d < far[i] || isnan(far[i]))
                far[i] = d;
        }
    }
}

igd_status mdl_memory_coreset(const mdl_memory *mem, size_t k, mdl_memory *out, core_err *err)
{
    size_t most = 0;
    for (size_t p = 0; p < mem->positions; p++)
        most = mem->count[p] > most ? mem->count[p] : most;
    CORE_TRY(mdl_memory_init(out, mem->latent, mem->positions, mem->y, mem->x, err));
    const size_t L = (size_t)mem->latent, cap = most < k ? most : k;
    double *far = core_malloc_array(most, sizeof(double));
    size_t *pick = core_malloc_array(cap ? cap : 1, sizeof(size_t));
    igd_status st = IGD_OK;
    if (!far || !pick)
        st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating patch memory coreset scratch");
    for (size_t p = 0; p < mem->positions && st == IGD_OK; p++) {
        const size_t n = mem->count[p], keep = n < k ? n : k;
        if (!keep)
            continue;
        st = mdl_memory_reserve(out, p, keep, err);
        if (st != IGD_OK)
            break;
        if (keep < n) {
            farthest_points(mem, p, keep, pick, far);
        } else {
            for (size_t j = 0; j < keep; j++)
                pick[j] = j;
        }
        for (size_t j = 0; j < keep; j++) {
            memcpy(out->z[p] + j * L, mem->z[p] + pick[j] * L, L * sizeof(float));
            out->norm[p][j] = mem->norm[p][pick[j]];
        }
        out->count[p] = keep;
    }
    core_free(far);
    core_free(pick);
    if (st != IGD_OK)
        mdl_memory_free(out);
    return st;
}

bool mdl_memory_seal(mdl_memory *mem)
{
    for (size_t p = 0; p < mem->positions; p++)
        for (size_t i = 0; i < mem->count[p]; i++) {
            double n = squared_norm(mem->z[p] + i * (size_t)mem->latent, mem->latent);
            if (!(n <= FLT_MAX))
                return false;
            mem->norm[p][i] = (float)n;
        }
    return true;
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

/* dot (k x n, row-major) = a (k x L) times b (n x L) transposed. */
static igd_status dots(const float *a, size_t k, const float *b, size_t n, int latent, float *dot,
                       core_err *err)
{
    const dnnl_dim_t L = latent;
    dnnl_status_t s = dnnl_sgemm('N', 'T', (dnnl_dim_t)k, (dnnl_dim_t)n, L, 1.0f, a, L, b, L, 0.0f,
                                 dot, (dnnl_dim_t)n);
    return s == dnnl_success ? IGD_OK : sgemm_failed(s, err);
}

/* The leave-one-out scale of position p: candidates ranked by the single-precision expansion in
 * CHUNK x CHUNK blocks, each nearest distance then recomputed exactly. */
static igd_status position_scale(mdl_memory *mem, size_t p, float *dot, double *out, core_err *err)
{
    const size_t n = mem->count[p], L = (size_t)mem->latent;
    const float *z = mem->z[p], *norm = mem->norm[p];
    double sum = 0, best[CHUNK];
    size_t arg[CHUNK];
    for (size_t first = 0; first < n; first += CHUNK) {
        const size_t k = n - first < CHUNK ? n - first : CHUNK;
        for (size_t i = 0; i < k; i++)
            best[i] = INFINITY, arg[i] = first + i;
        for (size_t from = 0; from < n; from += CHUNK) {
            const size_t m = n - from < CHUNK ? n - from : CHUNK;
            CORE_TRY(dots(z + first * L, k, z + from * L, m, mem->latent, dot, err));
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < m; j++) {
                    double d = (double)norm[first + i] + norm[from + j] - 2.0 * dot[i * m + j];
                    if (from + j != first + i && d < best[i])
                        best[i] = d, arg[i] = from + j;
                }
        }
        for (size_t i = 0; i < k; i++)
            sum += exact_distance(z + (first + i) * L, z + arg[i] * L, mem->latent);
    }
    *out = sum / (double)n;
    return IGD_OK;
}

igd_status mdl_memory_calibrate(mdl_memory *mem, double floor, double fallback, core_err *err)
{
    floor = floor > MDL_MEMORY_SCALE_MIN ? floor : MDL_MEMORY_SCALE_MIN;
    float *dot = core_malloc_aligned(sizeof(float) * CHUNK * CHUNK);
    if (!dot)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating patch memory scratch");
    igd_status st = IGD_OK;
    for (size_t p = 0; p < mem->positions && st == IGD_OK; p++) {
        double scale = fallback;
        if (mem->count[p] > 1)
            st = position_scale(mem, p, dot, &scale, err);
        scale = scale > floor ? scale : floor;
        mem->scale[p] = scale < MDL_MEMORY_SCALE_MAX ? scale : MDL_MEMORY_SCALE_MAX;
    }
    core_free_aligned(dot);
    return st;
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

/* Smallest |z - b|^2 over the latents b at position p into *best: candidates ranked by the
 * single-precision expansion, the nearest's distance recomputed exactly. */
static igd_status nearest_at(const mdl_memory *mem, size_t p, const float *z, double zz,
                             double *best, core_err *err)
{
    const size_t L = (size_t)mem->latent;
    float dot[CHUNK];
    double rank = INFINITY;
    size_t arg = 0;
    for (size_t first = 0; first < mem->count[p]; first += CHUNK) {
        size_t n = mem->count[p] - first < CHUNK ? mem->count[p] - first : CHUNK;
        CORE_TRY(dots(z, 1, mem->z[p] + first * L, n, mem->latent, dot, err));
        const float *norm = mem->norm[p] + first;
        for (size_t i = 0; i < n; i++) {
            double d = zz + norm[i] - 2.0 * dot[i];
            if (d < rank)
                rank = d, arg = first + i;
        }
    }
    *best = exact_distance(z, mem->z[p] + arg * L, mem->latent);
    return IGD_OK;
}

igd_status mdl_memory_term(const mdl_memory *mem, int y, int x, double radius, const float *z,
                           double *out, core_err *err)
{
    const double zz = squared_norm(z, mem->latent);
    if (!isfinite(zz)) { /* an infinite or NaN entry */
        *out = isnan(zz) ? zz : INFINITY;
        return IGD_OK;
    }
    int closest = -1;
    for (size_t p = 0; p < mem->positions; p++)
        if (mem->count[p] && (closest < 0 || gap(mem, p, y, x) < closest))
            closest = gap(mem, p, y, x);
    const double reach = closest + radius;
    double term = INFINITY;
    for (size_t p = 0; p < mem->positions; p++) {
        if (!mem->count[p] || gap(mem, p, y, x) > reach)
            continue;
        double best;
        CORE_TRY(nearest_at(mem, p, z, zz, &best, err));
        best /= mem->scale[p];
        term = best < term ? best : term;
    }
    *out = term;
    return IGD_OK;
}

/* Preprocessing: caller images -> planar pixels at the networks' sizes, patches, normalisation. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/resample.h"
#include "model/model.h"

/* IGD_OPT_STANDARDIZE: p -> 0.5 + (p - mean) / (span * deviation), clamped to 0..1, over all n
 * pixels of one image (a flat image maps to 0.5). */
void mdl_standardize(float *p, size_t n, double span)
{
    if (span <= 0 || n == 0)
        return;
    double sum = 0, sq = 0;
    for (size_t k = 0; k < n; k++) {
        sum += p[k];
        sq += (double)p[k] * p[k];
    }
    const double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    const double scale = var > 1e-12 ? 1.0 / (span * sqrt(var)) : 0.0;
    for (size_t k = 0; k < n; k++) {
        double v = 0.5 + (p[k] - mean) * scale;
        p[k] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
}

/* Index i mirrored into 0..n-1 (n >= 1), the edge pixel not repeated. */
static size_t mirror(long i, long n)
{
    if (n == 1)
        return 0;
    const long period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return (size_t)(i < n ? i : period - i);
}

/* IGD_OPT_GLOBAL_LETTERBOX: the image resized with its aspect kept (its longer side filling the
 * square) into scratch, then centred in the side x side square, the margins mirrored from it. */
static void letterbox(const io_view *v, size_t ch, size_t side, float *out, float *scratch)
{
    const double longer = (double)(v->width > v->height ? v->width : v->height);
    size_t w = (size_t)((double)v->width * (double)side / longer + 0.5);
    size_t h = (size_t)((double)v->height * (double)side / longer + 0.5);
    w = w < 1 ? 1 : w > side ? side : w;
    h = h < 1 ? 1 : h > side ? side : h;
    const size_t oy = (side - h) / 2, ox = (side - w) / 2;
    io_view_to_planar(v, ch, w, h, scratch);
    for (size_t c = 0; c < ch; c++)
        for (size_t y = 0; y < side; y++) {
            const float *src = scratch + (c * h + mirror((long)y - (long)oy, (long)h)) * w;
            float *dst = out + (c * side + y) * side;
            for (size_t x = 0; x < side; x++)
                dst[x] = src[mirror((long)x - (long)ox, (long)w)];
        }
}

void mdl_pre_global(const igd_model *m, const io_view *v, float *out, float *scratch)
{
    const size_t side = (size_t)m->cfg.arch[MDL_GLOBAL].size, ch = (size_t)m->cfg.channels;
    if (m->cfg.letterbox && v->width != v->height)
        letterbox(v, ch, side, out, scratch);
    else
        io_view_to_planar(v, ch, side, side, out);
    mdl_standardize(out, ch * side * side, m->cfg.standardize);
}

void mdl_local_size(const igd_model *m, size_t width, size_t height, int *h, int *w)
{
    const double s = m->cfg.local_scale;
    const int p = m->cfg.arch[MDL_LOCAL].size;
    if (s <= 0) {
        *h = *w = m->cfg.image_size;
        return;
    }
    double sw = floor((double)width * s + 0.5), sh = floor((double)height * s + 0.5);
    /* Bounded by the decoding limits' sides times the scale's bound, far below INT_MAX. */
    *w = sw < p ? p : sw > 1 << 24 ? 1 << 24 : (int)sw;
    *h = sh < p ? p : sh > 1 << 24 ? 1 << 24 : (int)sh;
}

igd_status mdl_grow(float **buf, size_t *cap, size_t floats, core_err *err)
{
    if (floats <= *cap && *buf)
        return IGD_OK;
    size_t bytes;
    if (!core_mul_size(floats, sizeof(float), &bytes))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "an image is too large");
    float *p = core_malloc_aligned(bytes);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating an image buffer");
    core_free_aligned(*buf);
    *buf = p;
    *cap = floats;
    return IGD_OK;
}

igd_status mdl_pre_local(const igd_model *m, const io_view *v, float **buf, size_t *cap, int *h,
                         int *w, core_err *err)
{
    const size_t ch = (size_t)m->cfg.channels;
    mdl_local_size(m, v->width, v->height, h, w);
    size_t floats;
    if (!core_mul4_size((size_t)*h, (size_t)*w, ch, 1, &floats))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "an image is too large");
    CORE_TRY(mdl_grow(buf, cap, floats, err));
    io_view_to_planar(v, ch, (size_t)*w, (size_t)*h, *buf);
    mdl_standardize(*buf, floats, m->cfg.standardize);
    return IGD_OK;
}

void mdl_cut_patch(const float *image, int channels, int height, int width, int patch, int y, int x,
                   float *out)
{
    for (int c = 0; c < channels; c++)
        for (int r = 0; r < patch; r++)
            memcpy(out + ((size_t)c * patch + r) * patch,
                   image + ((size_t)c * height + y + r) * width + x, sizeof(float) * (size_t)patch);
}

int mdl_grid_count(int side, int patch, int stride)
{
    int span = side - patch;
    return span / stride + 1 + (span % stride != 0);
}

int mdl_grid_offset(int side, int patch, int stride, int i)
{
    int o = i * stride;
    return o > side - patch ? side - patch : o;
}

void mdl_normalize(const igd_model *m, const float *pix, float *out, int n, int side)
{
    const size_t plane = (size_t)side * side;
    const int ch = m->cfg.channels;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            const float mean = (float)m->mean[c], inv = (float)(1.0 / m->std[c]);
            const float *p = pix + ((size_t)i * ch + c) * plane;
            float *o = out + ((size_t)i * ch + c) * plane;
            for (size_t k = 0; k < plane; k++)
                o[k] = (p[k] - mean) * inv;
        }
}

void mdl_denormalize(const igd_model *m, const float *in, float *pix, int n, int side)
{
    const size_t plane = (size_t)side * side;
    const int ch = m->cfg.channels;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            const float mean = (float)m->mean[c], sd = (float)m->std[c];
            const float *p = in + ((size_t)i * ch + c) * plane;
            float *o = pix + ((size_t)i * ch + c) * plane;
            for (size_t k = 0; k < plane; k++)
                o[k] = p[k] * sd + mean;
        }
}

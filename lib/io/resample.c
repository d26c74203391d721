/* Resampling (area averaging down, bilinear up, per axis) and Gaussian smoothing.
 *
 * An output pixel is a weighted sum over a rectangle of source pixels. Along one axis the
 * weights of output coordinate o form a "tap": a run of source indices [start, start + count)
 * whose first and last weights may differ from the ones in between (area averaging gives the
 * partly covered end pixels their overlap and the covered ones an equal share; bilinear has two
 * taps). Output rows are processed in parallel; columns in chunks whose taps sit on the stack,
 * so nothing is allocated. */
#include "io/resample.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/checked.h"
#include "io/convert.h"
#include "io/image.h"

enum { CHUNK = 128 };

/* Enough work to be worth starting threads for (about a 128 x 128 image). */
#define PARALLEL_WORK 16384

typedef struct tap {
    size_t start, count;
    size_t second;    /* the second index of a tap of at most two (start when count is 1) */
    float w0, wm, w1; /* first, middle and last weights (count 1: w0 only, w1 = 0) */
} tap;

static tap axis_tap(size_t o, size_t n_src, size_t n_dst)
{
    tap t = {o, 1, o, 1.0f, 0.0f, 0.0f};
    if (n_dst < n_src) {
        /* In units of 1 / n_dst source pixels: output o covers [o n_src, (o + 1) n_src), source
         * pixel i covers [i n_dst, (i + 1) n_dst). Weights are overlaps / n_src. */
        uint64_t lo = (uint64_t)o * n_src, hi = lo + n_src, nd = n_dst;
        uint64_t start = lo / nd, end = (hi + nd - 1) / nd;
        uint64_t first_end = (start + 1) * nd;
        t.start = (size_t)start;
        t.count = (size_t)(end - start);
        t.w0 = (float)((double)((hi < first_end ? hi : first_end) - lo) / (double)n_src);
        t.wm = (float)((double)nd / (double)n_src);
        t.w1 = (float)((double)(hi - (end - 1) * nd) / (double)n_src);
    } else if (n_dst > n_src) {
        double s = ((double)o + 0.5) * (double)n_src / (double)n_dst - 0.5;
        if (s < 0.0)
            s = 0.0;
        size_t i0 = (size_t)s;
        if (i0 >= n_src - 1) {
            t.start = t.second = n_src - 1;
        } else {
            float f = (float)(s - (double)i0);
            t.start = i0;
            t.second = i0 + 1;
            t.count = 2;
            t.w0 = 1.0f - f;
            t.w1 = f;
        }
    }
    return t;
}

static inline float load(const unsigned char *p, igd_pixel_type type)
{
    if (type == IGD_PIXEL_U8)
        return (float)*p;
    if (type == IGD_PIXEL_U16) {
        uint16_t v;
        memcpy(&v, p, sizeof v);
        return (float)v;
    }
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

/* px[i][c] = the weighted sum for output columns x0 + i (i < n) of one output row, in the
 * source's units and channels. type and ch are constants in each instance below; two says
 * that every column tap has at most two pixels (the axis does not shrink). */
static inline __attribute__((always_inline)) void gather(const io_view *v, igd_pixel_type type,
                                                         size_t ch, const tap *ty, const tap *tx,
                                                         size_t n, bool two, float (*px)[3])
{
    const size_t ps = type == IGD_PIXEL_U8 ? 1 : (type == IGD_PIXEL_U16 ? 2 : 4);
    const size_t step = ps * ch;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < ch; c++)
            px[i][c] = 0.0f;
    for (size_t k = 0; k < ty->count; k++) {
        const float wy = k == 0 ? ty->w0 : (k + 1 == ty->count ? ty->w1 : ty->wm);
        const unsigned char *row = v->data + (ty->start + k) * v->row_stride;
        if (two) {
            for (size_t i = 0; i < n; i++) {
                const tap *x = &tx[i];
                const unsigned char *p0 = row + x->start * step, *p1 = row + x->second * step;
                const float w0 = wy * x->w0, w1 = wy * x->w1;
                for (size_t c = 0; c < ch; c++)
                    px[i][c] += w0 * load(p0 + c * ps, type) + w1 * load(p1 + c * ps, type);
            }
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            const tap *x = &tx[i];
            const unsigned char *p = row + x->start * step;
            float first[3], mid[3] = {0.0f, 0.0f, 0.0f}, last[3];
            for (size_t c = 0; c < ch; c++) {
                first[c] = load(p + c * ps, type);
                last[c] = load(p + (x->count - 1) * step + c * ps, type);
            }
            for (size_t j = 1; j + 1 < x->count; j++)
                for (size_t c = 0; c < ch; c++)
                    mid[c] += load(p + j * step + c * ps, type);
            for (size_t c = 0; c < ch; c++)
                px[i][c] += wy * (x->w0 * first[c] + x->wm * mid[c] + x->w1 * last[c]);
        }
    }
}

/* The same-size case: one source pixel per output pixel. */
static inline __attribute__((always_inline)) void gather_same(const io_view *v, igd_pixel_type type,
                                                              size_t ch, size_t y, size_t x0,
                                                              size_t n, float (*px)[3])
{
    const size_t ps = type == IGD_PIXEL_U8 ? 1 : (type == IGD_PIXEL_U16 ? 2 : 4);
    const unsigned char *p = v->data + y * v->row_stride + x0 * ps * ch;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < ch; c++)
            px[i][c] = load(p + (i * ch + c) * ps, type);
}

typedef void (*gather_fn)(const io_view *v, const tap *ty, const tap *tx, size_t n, bool two,
                          float (*px)[3]);
typedef void (*same_fn)(const io_view *v, size_t y, size_t x0, size_t n, float (*px)[3]);

#define INSTANCE(name, type, ch)                                                                   \
    static void gather_##name(const io_view *v, const tap *ty, const tap *tx, size_t n, bool two,  \
                              float(*px)[3])                                                       \
    {                                                                                              \
        if (two)                                                                                   \
            gather(v, type, ch, ty, tx, n, true, px);                                              \
        else                                                                                       \
            gather(v, type, ch, ty, tx, n, false, px);                                             \
    }                                                                                              \
    static void same_##name(const io_view *v, size_t y, size_t x0, size_t n, float(*px)[3])        \
    {                                                                                              \
        gather_same(v, type, ch, y, x0, n, px);                                                    \
    }
INSTANCE(u8_1, IGD_PIXEL_U8, 1)
INSTANCE(u8_3, IGD_PIXEL_U8, 3)
INSTANCE(u16_1, IGD_PIXEL_U16, 1)
INSTANCE(u16_3, IGD_PIXEL_U16, 3)
INSTANCE(f32_1, IGD_PIXEL_F32, 1)
INSTANCE(f32_3, IGD_PIXEL_F32, 3)
#undef INSTANCE

static void pick(const io_view *v, gather_fn *g, same_fn *s)
{
    bool three = v->channels == 3;
    switch (v->type) {
    case IGD_PIXEL_U8:
        *g = three ? gather_u8_3 : gather_u8_1;
        *s = three ? same_u8_3 : same_u8_1;
        return;
    case IGD_PIXEL_U16:
        *g = three ? gather_u16_3 : gather_u16_1;
        *s = three ? same_u16_3 : same_u16_1;
        return;
    case IGD_PIXEL_F32:
        break;
    }
    *g = three ? gather_f32_3 : gather_f32_1;
    *s = three ? same_f32_3 : same_f32_1;
}

/* Receives the sums of columns x0 .. x0 + n - 1 of output row y. */
typedef struct emitter {
    void (*fn)(const struct emitter *e, size_t y, size_t x0, size_t n, float (*px)[3]);
    /* planar float output */
    float *planes;
    size_t out_channels, in_channels, width, height;
    float scale;
    /* image output */
    igd_image *image;
} emitter;

static void resample(const io_view *v, size_t ow, size_t oh, const emitter *e)
{
    gather_fn g;
    same_fn same;
    pick(v, &g, &same);
    bool parallel = (uint64_t)ow * oh + (uint64_t)v->width * v->height > PARALLEL_WORK;
    ptrdiff_t rows = (ptrdiff_t)oh;
    if (v->width == ow && v->height == oh) {
#pragma omp parallel for schedule(static) if (parallel)
        for (ptrdiff_t y = 0; y < rows; y++) {
            float px[CHUNK][3];
            for (size_t x0 = 0; x0 < ow; x0 += CHUNK) {
                size_t n = ow - x0 < CHUNK ? ow - x0 : CHUNK;
                same(v, (size_t)y, x0, n, px);
                e->fn(e, (size_t)y, x0, n, px);
            }
        }
        return;
    }
    bool two = ow >= v->width;
    for (size_t x0 = 0; x0 < ow; x0 += CHUNK) {
        size_t n = ow - x0 < CHUNK ? ow - x0 : CHUNK;
        tap tx[CHUNK];
        for (size_t i = 0; i < n; i++)
            tx[i] = axis_tap(x0 + i, v->width, ow);
#pragma omp parallel for schedule(static) if (parallel)
        for (ptrdiff_t y = 0; y < rows; y++) {
            float px[CHUNK][3];
            tap ty = axis_tap((size_t)y, v->height, oh);
            g(v, &ty, tx, n, two, px);
            e->fn(e, (size_t)y, x0, n, px);
        }
    }
}

static void emit_planar(const emitter *e, size_t y, size_t x0, size_t n, float (*px)[3])
{
    size_t plane = e->width * e->height;
    float *o = e->planes + y * e->width + x0;
    float s = e->scale;
    if (e->in_channels == e->out_channels) {
        for (size_t c = 0; c < e->out_channels; c++)
            for (size_t i = 0; i < n; i++)
                o[c * plane + i] = px[i][c] * s;
    } else if (e->in_channels == 3) {
        const float r = (float)IO_GREY_R * s, g = (float)IO_GREY_G * s, b = (float)IO_GREY_B * s;
        for (size_t i = 0; i < n; i++)
            o[i] = r * px[i][0] + g * px[i][1] + b * px[i][2];
    } else {
        for (size_t i = 0; i < n; i++) {
            float val = px[i][0] * s;
            o[i] = val;
            o[plane + i] = val;
            o[2 * plane + i] = val;
        }
    }
}

void io_view_to_planar(const io_view *v, size_t out_channels, size_t out_width, size_t out_height,
                       float *out)
{
    emitter e = {
        .fn = emit_planar,
        .planes = out,
        .out_channels = out_channels,
        .in_channels = v->channels,
        .width = out_width,
        .height = out_height,
        .scale = v->type == IGD_PIXEL_U8    ? 1.0f / 255.0f
                 : v->type == IGD_PIXEL_U16 ? 1.0f / 65535.0f
                                            : 1.0f,
    };
    resample(v, out_width, out_height, &e);
}

void io_plane_resize(const float *src, size_t src_width, size_t src_height, float *dst,
                     size_t dst_width, size_t dst_height)
{
    io_view v = {
        .data = (const unsigned char *)src,
        .type = IGD_PIXEL_F32,
        .width = src_width,
        .height = src_height,
        .channels = 1,
        .row_stride = src_width * sizeof(float),
    };
    io_view_to_planar(&v, 1, dst_width, dst_height, dst);
}

static void emit_image(const emitter *e, size_t y, size_t x0, size_t n, float (*px)[3])
{
    igd_image *im = e->image;
    size_t ch = im->channels;
    unsigned char *row = im->data + y * im->stride;
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < ch; c++) {
            float v = px[i][c];
            size_t at = (x0 + i) * ch + c;
            if (im->type == IGD_PIXEL_U8) {
                v = v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f;
                row[at] = (unsigned char)(v + 0.5f);
            } else if (im->type == IGD_PIXEL_U16) {
                v = v > 0.0f ? (v < 65535.0f ? v : 65535.0f) : 0.0f;
                uint16_t u = (uint16_t)(v + 0.5f);
                memcpy(row + 2 * at, &u, 2);
            } else {
                memcpy(row + 4 * at, &v, 4);
            }
        }
    }
}

igd_status io_image_resize(const igd_image *image, size_t width, size_t height, igd_image **out,
                           core_err *err)
{
    if ((uint64_t)width >> 32 || (uint64_t)height >> 32 || (uint64_t)image->width >> 32 ||
        (uint64_t)image->height >> 32)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "resizing %zu x %zu to %zu x %zu: sides must be below 2^32", image->width,
                         image->height, width, height);
    CORE_TRY(io_image_new(width, height, image->channels, image->type, false, out, err));
    io_view v = io_image_view(image);
    emitter e = {.fn = emit_image, .image = *out};
    resample(&v, width, height, &e);
    return IGD_OK;
}

/* ---- Gaussian blur ---- */

static bool blur_radius(double sigma, size_t *radius)
{
    if (!(sigma > 0.0))
        return false;
    double r = ceil(3.0 * sigma);
    *radius = r < 1e12 ? (size_t)r : (size_t)1e12;
    return true;
}

size_t io_plane_blur_scratch(size_t width, size_t height, double sigma)
{
    size_t r, plane, taps, total;
    if (!blur_radius(sigma, &r))
        return 0;
    if (!core_mul_size(width, height, &plane) || !core_mul_size(r, 2, &taps) ||
        !core_add_size(taps, 1, &taps) || !core_add_size(plane, taps, &total))
        return SIZE_MAX;
    return total;
}

void io_plane_blur(float *plane, size_t width, size_t height, double sigma, float *scratch)
{
    size_t r;
    if (!blur_radius(sigma, &r) || width == 0 || height == 0)
        return;
    float *tmp = scratch;
    float *k = scratch + width * height; /* k[d + r] for d in -r..r */
    double sum = 0.0;
    for (size_t i = 0; i <= 2 * r; i++) {
        double d = (double)i - (double)r;
        double w = exp(-d * d / (2.0 * sigma * sigma));
        k[i] = (float)w;
        sum += (double)k[i];
    }
    for (size_t i = 0; i <= 2 * r; i++)
        k[i] = (float)((double)k[i] / sum);

    bool parallel = (uint64_t)width * height * (2 * r + 1) > PARALLEL_WORK * 8;
    ptrdiff_t rows = (ptrdiff_t)height;
    ptrdiff_t w = (ptrdiff_t)width, rad = (ptrdiff_t)r;

    /* Rows: plane -> tmp. For each offset d, x + d is inside for x in [lo, hi). */
#pragma omp parallel for schedule(static) if (parallel)
    for (ptrdiff_t y = 0; y < rows; y++) {
        const float *src = plane + y * w;
        float *dst = tmp + y * w;
        for (ptrdiff_t x = 0; x < w; x++)
            dst[x] = 0.0f;
        for (ptrdiff_t d = -rad; d <= rad; d++) {
            float kd = k[d + rad];
            ptrdiff_t lo = d < 0 ? -d : 0, hi = d > 0 ? w - d : w;
            if (lo > w)
                lo = w;
            if (hi < lo)
                hi = lo;
            for (ptrdiff_t x = 0; x < lo; x++)
                dst[x] += kd * src[0];
            for (ptrdiff_t x = lo; x < hi; x++)
                dst[x] += kd * src[x + d];
            for (ptrdiff_t x = hi; x < w; x++)
                dst[x] += kd * src[w - 1];
        }
    }
    /* Columns: tmp -> plane, a whole row of sums at a time. */
#pragma omp parallel for schedule(static) if (parallel)
    for (ptrdiff_t y = 0; y < rows; y++) {
        float *dst = plane + y * w;
        for (ptrdiff_t x = 0; x < w; x++)
            dst[x] = 0.0f;
        for (ptrdiff_t d = -rad; d <= rad; d++) {
            ptrdiff_t yy = y + d;
            yy = yy < 0 ? 0 : (yy >= rows ? rows - 1 : yy);
            const float *src = tmp + yy * w;
            float kd = k[d + rad];
            for (ptrdiff_t x = 0; x < w; x++)
                dst[x] += kd * src[x];
        }
    }
}

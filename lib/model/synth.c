/* Synthetic anomalies (see synth.h). */
#include "model/synth.h"

#include <math.h>
#include <string.h>

enum { LATTICE_MAX = 64 }; /* finest lattice cells per side */

static double uniform(core_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * core_rng_uniform(rng);
}

static int below(core_rng *rng, int n)
{
    return (int)core_rng_below(rng, (uint64_t)n);
}

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

size_t mdl_synth_scratch(int channels, int side)
{
    const size_t plane = (size_t)side * side;
    return (size_t)channels * plane + 2 * plane + 2 * (LATTICE_MAX + 1) * (LATTICE_MAX + 1);
}

/* ---- gradient noise ---- */

static float fade(float t)
{
    return t * t * t * (t * (t * 6.0f - 15.0f) + 10.0f);
}

/* One octave: random unit gradients at the (cells + 1)^2 lattice points, added to out with
 * amplitude amp. */
static void octave(core_rng *rng, int side, int cells, float amp, float *out, float *grad)
{
    const int n = cells + 1;
    for (int k = 0; k < n * n; k++) {
        double a = uniform(rng, 0, 2 * M_PI);
        grad[2 * k] = (float)cos(a);
        grad[2 * k + 1] = (float)sin(a);
    }
    const float step = (float)cells / (float)side;
    for (int y = 0; y < side; y++) {
        float fy = ((float)y + 0.5f) * step;
        int iy = (int)fy;
        if (iy >= cells)
            iy = cells - 1;
        float ty = fy - (float)iy, wy = fade(ty);
        for (int x = 0; x < side; x++) {
            float fx = ((float)x + 0.5f) * step;
            int ix = (int)fx;
            if (ix >= cells)
                ix = cells - 1;
            float tx = fx - (float)ix, wx = fade(tx);
            const float *g00 = grad + 2 * (iy * n + ix), *g01 = g00 + 2;
            const float *g10 = grad + 2 * ((iy + 1) * n + ix), *g11 = g10 + 2;
            float d00 = g00[0] * tx + g00[1] * ty, d01 = g01[0] * (tx - 1) + g01[1] * ty;
            float d10 = g10[0] * tx + g10[1] * (ty - 1);
            float d11 = g11[0] * (tx - 1) + g11[1] * (ty - 1);
            float top = d00 + wx * (d01 - d00), bottom = d10 + wx * (d11 - d10);
            out[(size_t)y * side + x] += amp * (top + wy * (bottom - top)) * 1.4142f;
        }
    }
}

void mdl_synth_noise(core_rng *rng, int side, int cells, int octaves, float *out, float *scratch)
{
    memset(out, 0, sizeof(float) * (size_t)side * side);
    float amp = 1.0f, total = 0.0f;
    for (int o = 0; o < octaves && cells <= LATTICE_MAX; o++, cells *= 2, amp *= 0.5f) {
        octave(rng, side, cells, amp, out, scratch);
        total += amp;
    }
    if (total > 0)
        for (size_t k = 0; k < (size_t)side * side; k++)
            out[k] /= total;
}

/* A thresholded noise region into region (0/1); returns its pixel count. */
static size_t noise_region(core_rng *rng, int side, float *region, float *lattice)
{
    int cells = 1 << below(rng, 5); /* 1 .. 16 cells per side */
    if (cells * 4 > side)
        cells = side / 4 > 1 ? side / 4 : 1;
    mdl_synth_noise(rng, side, cells, 1 + below(rng, 3), region, lattice);
    const float t = (float)uniform(rng, 0.3, 0.6);
    size_t count = 0;
    for (size_t k = 0; k < (size_t)side * side; k++) {
        region[k] = region[k] > t ? 1.0f : 0.0f;
        count += region[k] > 0;
    }
    return count;
}

/* An ellipse with random centre, radii and angle into region; returns its pixel count. */
static size_t ellipse_region(core_rng *rng, int side, float *region)
{
    const double cy = uniform(rng, 0, side), cx = uniform(rng, 0, side);
    const double ry = uniform(rng, 1.5, side / 6.0), rx = uniform(rng, 1.5, side / 6.0);
    const double a = uniform(rng, 0, M_PI), c = cos(a), s = sin(a);
    size_t count = 0;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            double dy = y + 0.5 - cy, dx = x + 0.5 - cx;
            double u = (c * dx + s * dy) / rx, v = (-s * dx + c * dy) / ry;
            float in = u * u + v * v <= 1.0 ? 1.0f : 0.0f;
            region[(size_t)y * side + x] = in;
            count += in > 0;
        }
    return count;
}

/* ---- the kinds ---- */

/* The source crop flipped, turned and shifted in brightness and contrast into fill. */
static void foreign_fill(core_rng *rng, const float *source, int channels, int side, float *fill)
{
    const int flip = below(rng, 8); /* bit 0: mirror x, bit 1: mirror y, bit 2: transpose */
    const float gain = (float)uniform(rng, 0.6, 1.4), shift = (float)uniform(rng, -0.2, 0.2);
    const size_t plane = (size_t)side * side;
    for (int c = 0; c < channels; c++) {
        const float *src = source + (size_t)c * plane;
        float *dst = fill + (size_t)c * plane;
        double mean = 0;
        for (size_t k = 0; k < plane; k++)
            mean += src[k];
        mean /= (double)plane;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                int sy = flip & 2 ? side - 1 - y : y, sx = flip & 1 ? side - 1 - x : x;
                if (flip & 4) {
                    int t = sy;
                    sy = sx;
                    sx = t;
                }
                float v = src[(size_t)sy * side + sx];
                dst[(size_t)y * side + x] = clamp01((float)mean + gain * (v - (float)mean) + shift);
            }
    }
}

static bool texture(core_rng *rng, float *crop, const float *source, int channels, int side,
                    float *mask, float *region, float *fill, float *lattice)
{
    const size_t plane = (size_t)side * side;
    size_t count = noise_region(rng, side, region, lattice);
    if (count == 0 || count > plane * 6 / 10)
        return false;
    foreign_fill(rng, source, channels, side, fill);
    const float keep = (float)uniform(rng, 0.0, 0.7); /* share of the crop left in the region */
    for (int c = 0; c < channels; c++)
        for (size_t k = 0; k < plane; k++)
            if (region[k] > 0) {
                float *p = crop + (size_t)c * plane + k;
                *p = keep * *p + (1.0f - keep) * fill[(size_t)c * plane + k];
            }
    for (size_t k = 0; k < plane; k++)
        if (region[k] > 0)
            mask[k] = 1.0f;
    return true;
}

/* Distance from (px, py) to the segment (ax, ay)-(bx, by). */
static double segment_distance(double px, double py, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = ax + t * dx - px, ey = ay + t * dy - py;
    return sqrt(ex * ex + ey * ey);
}

static bool scar(core_rng *rng, float *crop, const float *source, int channels, int side,
                 float *mask)
{
    const size_t plane = (size_t)side * side;
    const double radius = uniform(rng, 0.5, 2.0);
    const int segments = 1 + below(rng, 4);
    const bool copy = below(rng, 3) == 0;
    const float delta = (float)(uniform(rng, 0.12, 0.5) * (below(rng, 2) ? 1 : -1));
    const int oy = below(rng, side), ox = below(rng, side); /* offset of copied pixels */
    double ax = uniform(rng, 0, side), ay = uniform(rng, 0, side), dir = uniform(rng, 0, 2 * M_PI);
    bool any = false;
    for (int s = 0; s < segments; s++) {
        double len = uniform(rng, side / 16.0, side / 3.0);
        dir += uniform(rng, -0.6, 0.6);
        double bx = ax + len * cos(dir), by = ay + len * sin(dir);
        const double reach = radius + 1.0;
        int x0 = (int)floor(fmin(ax, bx) - reach), x1 = (int)ceil(fmax(ax, bx) + reach);
        int y0 = (int)floor(fmin(ay, by) - reach), y1 = (int)ceil(fmax(ay, by) + reach);
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > side ? side : x1;
        y1 = y1 > side ? side : y1;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                double d = segment_distance(x + 0.5, y + 0.5, ax, ay, bx, by);
                /* Full strength inside the radius, fading over one pixel beyond it. */
                double w = d <= radius ? 1.0 : d < radius + 1.0 ? radius + 1.0 - d : 0.0;
                if (w <= 0)
                    continue;
                const size_t k = (size_t)y * side + x;
                for (int c = 0; c < channels; c++) {
                    float *p = crop + (size_t)c * plane + k;
                    float target =
                        copy ? source[(size_t)c * plane + (size_t)((y + oy) % side) * side +
                                      (size_t)((x + ox) % side)]
                             : clamp01(*p + delta);
                    *p += (float)w * (target - *p);
                }
                if (d <= radius + 0.5) {
                    mask[k] = 1.0f;
                    any = true;
                }
            }
        ax = bx;
        ay = by;
    }
    return any;
}

static bool patch(core_rng *rng, float *crop, const float *source, int channels, int side,
                  float *mask, float *fill)
{
    const size_t plane = (size_t)side * side;
    int h = (int)uniform(rng, side / 16.0, side / 4.0),
        w = (int)uniform(rng, side / 16.0, side / 4.0);
    h = h < 2 ? 2 : h;
    w = w < 2 ? 2 : w;
    const int sy = below(rng, side - h + 1), sx = below(rng, side - w + 1);
    const int dy = below(rng, side - h + 1), dx = below(rng, side - w + 1);
    const float shift = (float)uniform(rng, -0.1, 0.1);
    /* From the crop itself or the other crop; copied first so a self-paste reads the original. */
    const float *from = below(rng, 2) ? source : crop;
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            memcpy(fill + ((size_t)c * h + y) * w,
                   from + (size_t)c * plane + (size_t)(sy + y) * side + sx, sizeof(float) * w);
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                crop[(size_t)c * plane + (size_t)(dy + y) * side + dx + x] =
                    clamp01(fill[((size_t)c * h + y) * w + x] + shift);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            mask[(size_t)(dy + y) * side + dx + x] = 1.0f;
    return true;
}

static bool local(core_rng *rng, float *crop, int channels, int side, float *mask, float *region,
                  float *fill, float *lattice)
{
    const size_t plane = (size_t)side * side;
    size_t count = below(rng, 2) ? ellipse_region(rng, side, region)
                                 : noise_region(rng, side, region, lattice);
    if (count == 0 || count > plane / 2)
        return false;
    const int effect = below(rng, 3);
    const float delta = (float)(uniform(rng, 0.1, 0.4) * (below(rng, 2) ? 1 : -1));
    const float noise = (float)uniform(rng, 0.05, 0.2);
    const int r = 1 + below(rng, 3);
    for (int c = 0; c < channels; c++) {
        float *p = crop + (size_t)c * plane;
        if (effect == 2) /* box blur of radius r, from a copy */
            memcpy(fill, p, sizeof(float) * plane);
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                const size_t k = (size_t)y * side + x;
                if (region[k] <= 0)
                    continue;
                if (effect == 0) {
                    p[k] = clamp01(p[k] + delta);
                } else if (effect == 1) {
                    p[k] = clamp01(p[k] + noise * (float)core_rng_normal(rng));
                } else {
                    double sum = 0;
                    int n = 0;
                    for (int v = y - r; v <= y + r; v++)
                        for (int u = x - r; u <= x + r; u++)
                            if (v >= 0 && v < side && u >= 0 && u < side) {
                                sum += fill[(size_t)v * side + u];
                                n++;
                            }
                    p[k] = (float)(sum / n);
                }
            }
    }
    for (size_t k = 0; k < plane; k++)
        if (region[k] > 0)
            mask[k] = 1.0f;
    return true;
}

bool mdl_synth(core_rng *rng, float *crop, const float *source, int channels, int side, int kinds,
               int most, float *mask, float *scratch)
{
    const size_t plane = (size_t)side * side;
    memset(mask, 0, sizeof(float) * plane);
    kinds &= MDL_SYNTH_ALL;
    if (!kinds)
        return false;
    float *fill = scratch, *region = fill + (size_t)channels * plane, *lattice = region + 2 * plane;
    int list[4], n = 0;
    for (int b = 0; b < 4; b++)
        if (kinds & (1 << b))
            list[n++] = 1 << b;
    const int wanted = 1 + below(rng, most > 1 ? most : 1);
    int made = 0;
    for (int tries = 0; made < wanted && tries < 8 * wanted; tries++) {
        bool ok = false;
        switch (list[below(rng, n)]) {
        case MDL_SYNTH_TEXTURE:
            ok = texture(rng, crop, source, channels, side, mask, region, fill, lattice);
            break;
        case MDL_SYNTH_SCAR:
            ok = scar(rng, crop, source, channels, side, mask);
            break;
        case MDL_SYNTH_PATCH:
            ok = patch(rng, crop, source, channels, side, mask, fill);
            break;
        default:
            ok = local(rng, crop, channels, side, mask, region, fill, lattice);
            break;
        }
        made += ok;
    }
    return made > 0;
}

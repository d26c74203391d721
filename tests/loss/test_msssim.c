/* MS-SSIM: values against an independent double-precision reference (direct 2D windows), known
 * closed forms, properties of SSIM, the gradient against central differences, per-pixel maps,
 * and the plan's error paths. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loss/msssim.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* ---- the independent reference ------------------------------------------------------------
 * Written from the definitions, not from the library: the 2D Gaussian is computed directly as
 * exp(-(a^2 + b^2) / (2 sigma^2)) normalised over the W x W square, every statistic is a direct
 * 2D sum, pooling drops an odd last row/column, maps use clamped indices ("same", replicated
 * borders) and bilinear upsampling with aligned pixel centres. Everything in double. */

typedef struct ref {
    int W, M;
    double sigma, L, wts[5];
    double *w2; /* W x W */
} ref;

static ref ref_make(const loss_msssim_config *cfg, int M)
{
    ref r;
    r.W = cfg->window;
    r.M = M;
    r.sigma = cfg->sigma;
    r.L = cfg->data_range;
    double s = 0;
    for (int j = 0; j < M; j++)
        s += cfg->weights[j];
    for (int j = 0; j < 5; j++)
        r.wts[j] = j < M ? cfg->weights[j] / s : 0;
    r.w2 = malloc(sizeof(double) * (size_t)(r.W * r.W));
    double t = 0;
    int h = r.W / 2;
    for (int a = 0; a < r.W; a++)
        for (int b = 0; b < r.W; b++) {
            double d2 = (double)((a - h) * (a - h) + (b - h) * (b - h));
            r.w2[a * r.W + b] = exp(-d2 / (2 * r.sigma * r.sigma));
            t += r.w2[a * r.W + b];
        }
    for (int k = 0; k < r.W * r.W; k++)
        r.w2[k] /= t;
    return r;
}

static void ref_free(ref *r)
{
    free(r->w2);
}

static void ref_pool(const double *s, int h, int w, double *d)
{
    for (int r = 0; r < h / 2; r++)
        for (int c = 0; c < w / 2; c++)
            d[r * (w / 2) + c] = (s[2 * r * w + 2 * c] + s[2 * r * w + 2 * c + 1] +
                                  s[(2 * r + 1) * w + 2 * c] + s[(2 * r + 1) * w + 2 * c + 1]) /
                                 4;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The SSIM term at window origin (r0, c0) (top-left; pixels clamped into the image). */
static void ref_terms(const ref *R, const double *x, const double *y, int h, int w, int r0, int c0,
                      double *l, double *cs)
{
    double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
    for (int a = 0; a < R->W; a++)
        for (int b = 0; b < R->W; b++) {
            int r = clampi(r0 + a, 0, h - 1), c = clampi(c0 + b, 0, w - 1);
            double g = R->w2[a * R->W + b], u = x[r * w + c], v = y[r * w + c];
            mx += g * u;
            my += g * v;
            xx += g * u * u;
            yy += g * v * v;
            xy += g * u * v;
        }
    double C1 = (0.01 * R->L) * (0.01 * R->L), C2 = (0.03 * R->L) * (0.03 * R->L);
    *l = (2 * mx * my + C1) / (mx * mx + my * my + C1);
    *cs = (2 * (xy - mx * my) + C2) / ((xx - mx * mx) + (yy - my * my) + C2);
}

/* MS-SSIM of one plane; raw[j] receives the unclamped means. */
static double ref_plane(const ref *R, const double *x0, const double *y0, int h, int w, double *raw)
{
    double *x = malloc(sizeof(double) * (size_t)(h * w)),
           *y = malloc(sizeof(double) * (size_t)(h * w));
    memcpy(x, x0, sizeof(double) * (size_t)(h * w));
    memcpy(y, y0, sizeof(double) * (size_t)(h * w));
    double v = 1;
    for (int j = 0; j < R->M; j++) {
        int oh = h - R->W + 1, ow = w - R->W + 1;
        double sum = 0;
        for (int r = 0; r < oh; r++)
            for (int c = 0; c < ow; c++) {
                double l, cs;
                ref_terms(R, x, y, h, w, r, c, &l, &cs);
                sum += j == R->M - 1 ? l * cs : cs;
            }
        double S = sum / (oh * ow);
        if (raw)
            raw[j] = S;
        v *= pow(S > 0 ? S : 0, R->wts[j]);
        if (j + 1 < R->M) {
            ref_pool(x, h, w, x);
            ref_pool(y, h, w, y);
            h /= 2;
            w /= 2;
        }
    }
    free(x);
    free(y);
    return v;
}

static void ref_values(const ref *R, int n, int c, int h, int w, const double *x, const double *y,
                       double *values)
{
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int ch = 0; ch < c; ch++) {
            size_t o = (size_t)(i * c + ch) * (size_t)(h * w);
            s += ref_plane(R, x + o, y + o, h, w, NULL);
        }
        values[i] = s / c;
    }
}

static double ref_objective(const ref *R, int n, int c, int h, int w, const double *x,
                            const double *y, const double *coef)
{
    double *v = malloc(sizeof(double) * (size_t)n);
    ref_values(R, n, c, h, w, x, y, v);
    double s = 0;
    for (int i = 0; i < n; i++)
        s += coef[i] * v[i];
    free(v);
    return s;
}

static double ref_bilinear(const double *m, int sh, int sw, int j, int r, int c)
{
    double sr = (r + 0.5) / (1 << j) - 0.5, sc = (c + 0.5) / (1 << j) - 0.5;
    sr = sr < 0 ? 0 : sr > sh - 1 ? sh - 1 : sr;
    sc = sc < 0 ? 0 : sc > sw - 1 ? sw - 1 : sc;
    int r0 = (int)floor(sr), c0 = (int)floor(sc);
    int r1 = r0 + 1 < sh ? r0 + 1 : r0, c1 = c0 + 1 < sw ? c0 + 1 : c0;
    double fr = sr - r0, fc = sc - c0;
    double top = m[r0 * sw + c0] * (1 - fc) + m[r0 * sw + c1] * fc;
    double bot = m[r1 * sw + c0] * (1 - fc) + m[r1 * sw + c1] * fc;
    return top * (1 - fr) + bot * fr;
}

/* Per-pixel map of one image (mean over channels) into out (h x w). */
static void ref_map(const ref *R, int c, int h0, int w0, const double *x0, const double *y0,
                    double *out)
{
    for (int k = 0; k < h0 * w0; k++)
        out[k] = 0;
    double *x = malloc(sizeof(double) * (size_t)(h0 * w0)),
           *y = malloc(sizeof(double) * (size_t)(h0 * w0)),
           *prod = malloc(sizeof(double) * (size_t)(h0 * w0)),
           *mj = malloc(sizeof(double) * (size_t)(h0 * w0));
    int pad = R->W / 2;
    for (int ch = 0; ch < c; ch++) {
        memcpy(x, x0 + (size_t)ch * (size_t)(h0 * w0), sizeof(double) * (size_t)(h0 * w0));
        memcpy(y, y0 + (size_t)ch * (size_t)(h0 * w0), sizeof(double) * (size_t)(h0 * w0));
        for (int k = 0; k < h0 * w0; k++)
            prod[k] = 1;
        int h = h0, w = w0;
        for (int j = 0; j < R->M; j++) {
            for (int r = 0; r < h; r++)
                for (int cc = 0; cc < w; cc++) {
                    double l, cs;
                    ref_terms(R, x, y, h, w, r - pad, cc - pad, &l, &cs);
                    double v = j == R->M - 1 ? l * cs : cs;
                    mj[r * w + cc] = pow(v > 0 ? v : 0, R->wts[j]);
                }
            for (int r = 0; r < h0; r++)
                for (int cc = 0; cc < w0; cc++)
                    prod[r * w0 + cc] *= ref_bilinear(mj, h, w, j, r, cc);
            if (j + 1 < R->M) {
                ref_pool(x, h, w, x);
                ref_pool(y, h, w, y);
                h /= 2;
                w /= 2;
            }
        }
        for (int k = 0; k < h0 * w0; k++)
            out[k] += prod[k] / c;
    }
    free(x);
    free(y);
    free(prod);
    free(mj);
}

/* ---- data -------------------------------------------------------------------------------- */

/* x: smoothed noise in [0, 1] (so every scale has structure); y: x plus noise of amplitude amp,
 * clipped to [0, 1]. Deterministic in *state. */
static void make_pair(float *x, float *y, int planes, int h, int w, float amp, uint64_t *state)
{
    size_t hw = (size_t)(h * w);
    float *t = malloc(sizeof(float) * hw);
    for (int p = 0; p < planes; p++) {
        float *xp = x + (size_t)p * hw, *yp = y + (size_t)p * hw;
        tu_fill_uniform(t, hw, 0, 1, state);
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) {
                double s = 0;
                int k = 0;
                for (int a = -1; a <= 1; a++)
                    for (int b = -1; b <= 1; b++) {
                        int rr = r + a, cc = c + b;
                        if (rr >= 0 && rr < h && cc >= 0 && cc < w) {
                            s += t[rr * w + cc];
                            k++;
                        }
                    }
                xp[r * w + c] = (float)(0.5 * (s / k) + 0.5 * t[r * w + c]);
            }
        tu_fill_uniform(t, hw, -amp, amp, state);
        for (size_t k = 0; k < hw; k++) {
            float v = xp[k] + t[k];
            yp[k] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
    }
    free(t);
}

static double *to_double(const float *f, size_t n)
{
    double *d = malloc(sizeof(double) * n);
    for (size_t k = 0; k < n; k++)
        d[k] = f[k];
    return d;
}

static loss_msssim_config config(int window, int scales)
{
    loss_msssim_config cfg;
    loss_msssim_config_default(&cfg);
    cfg.window = window;
    cfg.scales = scales;
    return cfg;
}

static loss_msssim *plan(const loss_msssim_config *cfg, int n, int c, int h, int w)
{
    loss_msssim *m = NULL;
    core_err err = {0};
    igd_status st = loss_msssim_create(cfg, (size_t)n, (size_t)c, (size_t)h, (size_t)w, &m, &err);
    ck_assert_msg(st == IGD_OK, "create failed: %s", err.msg);
    return m;
}

/* ---- values ------------------------------------------------------------------------------ */

static const struct vcase {
    int n, c, h, w, window, scales, expect_scales;
} vcases[] = {
    {2, 1, 16, 16, 3, 0, 3},  {3, 3, 20, 27, 3, 3, 3},  {1, 2, 45, 37, 11, 2, 2},
    {2, 1, 64, 64, 11, 0, 3}, {2, 3, 32, 32, 3, 0, 4},  {1, 1, 11, 11, 11, 0, 1},
    {2, 2, 25, 50, 3, 1, 1},  {1, 1, 99, 97, 3, 5, 5},  {1, 3, 23, 29, 5, 0, 3},
    {2, 2, 40, 38, 9, 0, 3},  {1, 1, 30, 30, 13, 0, 2}, {1, 1, 7, 9, 1, 2, 2},
};

START_TEST(values_match_reference)
{
    const struct vcase *vc = &vcases[_i];
    loss_msssim_config cfg = config(vc->window, vc->scales);
    loss_msssim *m = plan(&cfg, vc->n, vc->c, vc->h, vc->w);
    ck_assert_int_eq(loss_msssim_scales(m), vc->expect_scales);
    size_t total = (size_t)(vc->n * vc->c * vc->h * vc->w);
    float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total);
    uint64_t state = 1000 + (uint64_t)_i;
    make_pair(x, y, vc->n * vc->c, vc->h, vc->w, 0.2f, &state);
    double *xd = to_double(x, total), *yd = to_double(y, total);
    double got[4], want[4];
    loss_msssim_forward(m, x, y, got);
    ref R = ref_make(&cfg, vc->expect_scales);
    ref_values(&R, vc->n, vc->c, vc->h, vc->w, xd, yd, want);
    for (int i = 0; i < vc->n; i++) {
        ck_assert_msg(fabs(got[i] - want[i]) < 1e-6, "image %d: %.9f vs reference %.9f", i, got[i],
                      want[i]);
        ck_assert(want[i] > 0.05 && want[i] < 0.999); /* a real test, not a clamped 0 or a 1 */
    }
    ref_free(&R);
    free(xd);
    free(yd);
    free(x);
    free(y);
    loss_msssim_free(m);
}
END_TEST

START_TEST(identical_images_give_one)
{
    int n = 2, c = 3, h = 40, w = 36;
    loss_msssim_config cfg = config(3, 0);
    loss_msssim *m = plan(&cfg, n, c, h, w);
    size_t total = (size_t)(n * c * h * w);
    float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total);
    float *dy = malloc(sizeof(float) * total), *map = malloc(sizeof(float) * (size_t)(n * h * w));
    uint64_t state = 7;
    make_pair(x, y, n * c, h, w, 0.2f, &state);
    double v[2], coef[2] = {1.0, -2.0};
    loss_msssim_forward(m, x, x, v);
    ck_assert_double_eq_tol(v[0], 1.0, 1e-6);
    ck_assert_double_eq_tol(v[1], 1.0, 1e-6);
    /* y = x is the maximum: the gradient vanishes. */
    loss_msssim_backward(m, coef, dy);
    for (size_t k = 0; k < total; k++)
        ck_assert_msg(fabsf(dy[k]) < 1e-9f, "dy[%zu] = %g at the maximum", k, (double)dy[k]);
    loss_msssim_map(m, x, x, map);
    for (size_t k = 0; k < (size_t)(n * h * w); k++)
        ck_assert_msg(fabsf(map[k] - 1.0f) < 1e-6f, "map[%zu] = %.8f", k, (double)map[k]);
    /* Anything else is below 1 (SSIM's unique maximum). */
    loss_msssim_forward(m, x, y, v);
    ck_assert(v[0] < 1 && v[1] < 1);
    free(x);
    free(y);
    free(dy);
    free(map);
    loss_msssim_free(m);
}
END_TEST

/* Constant images: every sigma is 0, so cs = C2 / C2 = 1 at every scale and MS-SSIM is the
 * luminance term l = (2ab + C1) / (a^2 + b^2 + C1) raised to the coarsest scale's weight. */
START_TEST(constant_images_give_the_luminance_formula)
{
    int h = 32, w = 32;
    float x[32 * 32], y[32 * 32];
    for (int k = 0; k < h * w; k++) {
        x[k] = 0.2f;
        y[k] = 0.7f;
    }
    double a = 0.2f, b = 0.7f, C1 = 1e-4;
    double l = (2 * a * b + C1) / (a * a + b * b + C1);
    /* By hand with a = 0.2, b = 0.7, L = 1: 0.2801 / 0.5301. */
    ck_assert_double_eq_tol(l, 0.2801 / 0.5301, 1e-7);
    ck_assert_double_eq_tol(l, 0.528390870, 1e-7);
    double v;
    loss_msssim_config cfg = config(3, 1);
    loss_msssim *m = plan(&cfg, 1, 1, h, w);
    loss_msssim_forward(m, x, y, &v);
    ck_assert_double_eq_tol(v, l, 1e-9);
    loss_msssim_free(m);
    cfg = config(3, 4); /* last weight 0.2363 / 0.8668 */
    m = plan(&cfg, 1, 1, h, w);
    ck_assert_double_eq_tol(loss_msssim_weight(m, 3), 0.2363 / 0.8668, 1e-12);
    loss_msssim_forward(m, x, y, &v);
    ck_assert_double_eq_tol(v, pow(l, 0.2363 / 0.8668), 1e-9);
    /* data_range 2: C1 = (0.02)^2. */
    loss_msssim_free(m);
    cfg.data_range = 2;
    m = plan(&cfg, 1, 1, h, w);
    loss_msssim_forward(m, x, y, &v);
    double l2 = (2 * a * b + 4e-4) / (a * a + b * b + 4e-4);
    ck_assert_double_eq_tol(v, pow(l2, 0.2363 / 0.8668), 1e-9);
    loss_msssim_free(m);
}
END_TEST

/* y = 1 - x correlates negatively: cs < 0, the means are clamped to 0 (as pytorch_msssim's ReLU
 * does), the value is 0 and so is the gradient. */
START_TEST(negative_means_are_clamped)
{
    int n = 1, c = 2, h = 24, w = 24;
    size_t total = (size_t)(n * c * h * w);
    float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total),
          *dy = malloc(sizeof(float) * total);
    uint64_t state = 99;
    make_pair(x, y, n * c, h, w, 0.0f, &state);
    for (size_t k = 0; k < total; k++)
        y[k] = 1.0f - x[k];
    for (int scales = 1; scales <= 3; scales++) {
        loss_msssim_config cfg = config(3, scales);
        loss_msssim *m = plan(&cfg, n, c, h, w);
        ref R = ref_make(&cfg, scales);
        double *xd = to_double(x, total), *yd = to_double(y, total), raw[5];
        ref_plane(&R, xd, yd, h, w, raw);
        ck_assert_msg(raw[0] < 0, "the test needs a negative mean (got %g)", raw[0]);
        double v, coef = 1;
        loss_msssim_forward(m, x, y, &v);
        ck_assert_double_eq(v, 0.0);
        for (size_t k = 0; k < total; k++)
            dy[k] = 123.0f;
        loss_msssim_backward(m, &coef, dy);
        for (size_t k = 0; k < total; k++)
            ck_assert_float_eq(dy[k], 0.0f);
        ref_free(&R);
        free(xd);
        free(yd);
        loss_msssim_free(m);
    }
    free(x);
    free(y);
    free(dy);
}
END_TEST

/* A 3 x 3 pair with one 3-tap window position, worked by hand: x is 1 at the centre and 0
 * elsewhere, y = x / 2. With e = exp(-1/4.5), the centre weight of the 2D window is
 * wc = 1 / (1 + 2e)^2 = 0.14776131..., mu_x = wc, E[x^2] = wc, so with s = wc - wc^2:
 * sigma_x^2 = s, sigma_y^2 = s / 4, sigma_xy = s / 2, and
 * SSIM = (wc^2 + C1) / (1.25 wc^2 + C1) * (s + C2) / (1.25 s + C2) = 0.64149455... */
START_TEST(hand_worked_single_window)
{
    float x[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, y[9] = {0, 0, 0, 0, 0.5f, 0, 0, 0, 0};
    double e = exp(-1 / 4.5), wc = 1 / ((1 + 2 * e) * (1 + 2 * e)), s = wc - wc * wc;
    double C1 = 1e-4, C2 = 9e-4;
    double want = (wc * wc + C1) / (1.25 * wc * wc + C1) * (s + C2) / (1.25 * s + C2);
    ck_assert_double_eq_tol(wc, 0.1477613163, 1e-9);
    ck_assert_double_eq_tol(want, 0.6414945559, 1e-9);
    loss_msssim_config cfg = config(3, 0);
    loss_msssim *m = plan(&cfg, 1, 1, 3, 3);
    ck_assert_int_eq(loss_msssim_scales(m), 1);
    double v;
    loss_msssim_forward(m, x, y, &v);
    ck_assert_double_eq_tol(v, want, 1e-12);
    /* Symmetric in its arguments. */
    double v2;
    loss_msssim_forward(m, y, x, &v2);
    ck_assert_double_eq_tol(v2, want, 1e-12);
    loss_msssim_free(m);
}
END_TEST

/* Properties of SSIM/MS-SSIM stated by Wang et al. that hold exactly for these definitions. */
START_TEST(properties)
{
    int n = 2, c = 3, h = 48, w = 48;
    size_t total = (size_t)(n * c * h * w);
    float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total),
          *ys = malloc(sizeof(float) * total);
    uint64_t state = 31;
    make_pair(x, y, n * c, h, w, 0.25f, &state);
    loss_msssim_config cfg = config(3, 4);
    loss_msssim *m = plan(&cfg, n, c, h, w);
    ck_assert_int_eq(loss_msssim_scales(m), 4);
    double a[2], b[2];
    /* Symmetry: S(x, y) = S(y, x). */
    loss_msssim_forward(m, x, y, a);
    loss_msssim_forward(m, y, x, b);
    for (int i = 0; i < n; i++) {
        ck_assert_double_eq_tol(a[i], b[i], 1e-12);
        ck_assert(a[i] > 0 && a[i] < 1);
    }
    /* A pure luminance shift keeps every contrast-structure term at 1: the value is the mean
     * luminance term of the coarsest scale to its weight, which is below 1 and falls with the
     * shift. */
    for (size_t k = 0; k < total; k++)
        ys[k] = x[k] + 0.1f;
    ref R = ref_make(&cfg, 4);
    double *xd = to_double(x, total), *yd = to_double(ys, total);
    loss_msssim_forward(m, x, ys, a);
    for (int i = 0; i < n; i++) {
        double want = 0;
        for (int ch = 0; ch < c; ch++) {
            double raw[5];
            size_t o = (size_t)(i * c + ch) * (size_t)(h * w);
            ref_plane(&R, xd + o, yd + o, h, w, raw);
            for (int j = 0; j < 3; j++)
                ck_assert_double_eq_tol(raw[j], 1.0, 1e-6);
            want += pow(raw[3], loss_msssim_weight(m, 3)) / c;
        }
        ck_assert_double_eq_tol(a[i], want, 1e-6);
        ck_assert(a[i] < 1);
    }
    for (size_t k = 0; k < total; k++)
        ys[k] = x[k] + 0.3f;
    loss_msssim_forward(m, x, ys, b);
    ck_assert(b[0] < a[0] && b[1] < a[1]);
    /* IGD's 4-scale weights are Wang et al.'s first four renormalised. */
    double igd4[4] = {0.0516, 0.3295, 0.3463, 0.2726};
    for (int j = 0; j < 4; j++)
        ck_assert_double_eq_tol(loss_msssim_weight(m, j), igd4[j], 1e-4);
    ck_assert_double_eq(loss_msssim_weight(m, 4), 0.0);
    loss_msssim_config cfg4 = cfg;
    memcpy(cfg4.weights, igd4, sizeof igd4);
    loss_msssim *m4 = plan(&cfg4, n, c, h, w);
    loss_msssim_forward(m, x, y, a);
    loss_msssim_forward(m4, x, y, b);
    for (int i = 0; i < n; i++)
        ck_assert_double_eq_tol(a[i], b[i], 1e-4);
    /* Scale invariance of the weights: they are renormalised. */
    for (int j = 0; j < 5; j++)
        cfg4.weights[j] = cfg.weights[j] * 3;
    loss_msssim *m3 = plan(&cfg4, n, c, h, w);
    loss_msssim_forward(m3, x, y, b);
    for (int i = 0; i < n; i++)
        ck_assert_double_eq_tol(a[i], b[i], 1e-12);
    /* M = 1 is single-scale SSIM: the mean of l * cs over the valid positions. */
    loss_msssim_config cfg1 = config(11, 1);
    loss_msssim *m1 = plan(&cfg1, n, c, h, w);
    loss_msssim_forward(m1, x, y, a);
    ref R1 = ref_make(&cfg1, 1);
    free(yd);
    yd = to_double(y, total);
    for (int i = 0; i < n; i++) {
        double want = 0;
        for (int ch = 0; ch < c; ch++) {
            size_t o = (size_t)(i * c + ch) * (size_t)(h * w), oh = (size_t)h - 10;
            double sum = 0;
            for (size_t r = 0; r < oh; r++)
                for (size_t cc = 0; cc < oh; cc++) {
                    double l, cs;
                    ref_terms(&R1, xd + o, yd + o, h, w, (int)r, (int)cc, &l, &cs);
                    sum += l * cs;
                }
            want += sum / (double)(oh * oh) / c;
        }
        ck_assert_double_eq_tol(a[i], want, 1e-6);
    }
    ref_free(&R);
    ref_free(&R1);
    free(xd);
    free(yd);
    free(x);
    free(y);
    free(ys);
    loss_msssim_free(m);
    loss_msssim_free(m1);
    loss_msssim_free(m3);
    loss_msssim_free(m4);
}
END_TEST

/* ---- gradient ---------------------------------------------------------------------------- */

static const struct gcase {
    int n, c, h, w, window, scales, pixels, dirs;
} gcases[] = {
    {2, 1, 12, 13, 3, 1, -1, 2},  {1, 1, 12, 13, 3, 2, -1, 2},  {1, 1, 13, 12, 3, 3, -1, 2},
    {1, 3, 24, 24, 3, 4, 120, 3}, {2, 1, 11, 14, 11, 1, -1, 2}, {1, 3, 23, 22, 11, 2, 60, 3},
    {1, 1, 44, 45, 11, 3, 24, 3}, {2, 3, 17, 19, 5, 2, 80, 3},  {1, 2, 20, 21, 9, 2, 80, 3},
    {1, 1, 15, 16, 7, 1, -1, 2},
};

START_TEST(gradient_matches_finite_differences)
{
    const struct gcase *gc = &gcases[_i];
    loss_msssim_config cfg = config(gc->window, gc->scales);
    loss_msssim *m = plan(&cfg, gc->n, gc->c, gc->h, gc->w);
    size_t total = (size_t)(gc->n * gc->c * gc->h * gc->w);
    float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total),
          *dy = malloc(sizeof(float) * total);
    uint64_t state = 500 + (uint64_t)_i;
    make_pair(x, y, gc->n * gc->c, gc->h, gc->w, 0.2f, &state);
    double coef[2] = {0.85, -1.3}, v[2];
    loss_msssim_forward(m, x, y, v);
    loss_msssim_backward(m, coef, dy);
    ref R = ref_make(&cfg, gc->scales);
    double *xd = to_double(x, total), *yd = to_double(y, total);
    /* Away from the clamp's kink. */
    for (int p = 0; p < gc->n * gc->c; p++) {
        double raw[5];
        size_t o = (size_t)p * (size_t)(gc->h * gc->w);
        ref_plane(&R, xd + o, yd + o, gc->h, gc->w, raw);
        for (int j = 0; j < gc->scales; j++)
            ck_assert(raw[j] > 0.05);
    }
    const double step = 1e-5;
    /* Single pixels: all of them, or a random subset. */
    size_t count = gc->pixels < 0 ? total : (size_t)gc->pixels;
    double max_err = 0, max_g = 0;
    float *pick = malloc(sizeof(float) * (count ? count : 1));
    tu_fill_uniform(pick, count, 0, (float)total, &state);
    double *fd = malloc(sizeof(double) * count);
    for (size_t q = 0; q < count; q++) {
        size_t k = gc->pixels < 0 ? q : (size_t)pick[q] % total;
        double keep = yd[k];
        yd[k] = keep + step;
        double up = ref_objective(&R, gc->n, gc->c, gc->h, gc->w, xd, yd, coef);
        yd[k] = keep - step;
        double down = ref_objective(&R, gc->n, gc->c, gc->h, gc->w, xd, yd, coef);
        yd[k] = keep;
        fd[q] = (up - down) / (2 * step);
        if (fabs(fd[q]) > max_g)
            max_g = fabs(fd[q]);
    }
    for (size_t q = 0; q < count; q++) {
        size_t k = gc->pixels < 0 ? q : (size_t)pick[q] % total;
        double e = fabs(dy[k] - fd[q]);
        if (e > max_err)
            max_err = e;
    }
    double rel = max_err / max_g;
    ck_assert(max_g > 0);
    /* Random directions: <dy, d> against the derivative along d. */
    double max_dir = 0;
    double *d = malloc(sizeof(double) * total), *yp = malloc(sizeof(double) * total);
    float *df = malloc(sizeof(float) * total);
    for (int t = 0; t < gc->dirs; t++) {
        tu_fill_uniform(df, total, -1, 1, &state);
        double dot = 0, scale = 0;
        for (size_t k = 0; k < total; k++) {
            d[k] = df[k];
            dot += d[k] * dy[k];
            scale += fabs(d[k] * dy[k]);
        }
        for (size_t k = 0; k < total; k++)
            yp[k] = yd[k] + step * d[k];
        double up = ref_objective(&R, gc->n, gc->c, gc->h, gc->w, xd, yp, coef);
        for (size_t k = 0; k < total; k++)
            yp[k] = yd[k] - step * d[k];
        double down = ref_objective(&R, gc->n, gc->c, gc->h, gc->w, xd, yp, coef);
        double want = (up - down) / (2 * step);
        /* Relative to the size of the terms summed (the sum itself may cancel). */
        double e = fabs(dot - want) / scale;
        if (e > max_dir)
            max_dir = e;
    }
    printf("msssim gradient %dx%dx%dx%d window %d scales %d: max rel. error %.2e (pixels), %.2e "
           "(directions)\n",
           gc->n, gc->c, gc->h, gc->w, gc->window, gc->scales, rel, max_dir);
    ck_assert_msg(rel < 1e-4, "pixel gradient relative error %g", rel);
    ck_assert_msg(max_dir < 1e-4, "directional derivative relative error %g", max_dir);
    ref_free(&R);
    free(d);
    free(yp);
    free(df);
    free(fd);
    free(pick);
    free(xd);
    free(yd);
    free(x);
    free(y);
    free(dy);
    loss_msssim_free(m);
}
END_TEST

/* Results do not depend on the number of threads; a map between forward and backward does not
 * disturb backward; backward before any forward gives zeros. */
START_TEST(threads_and_state)
{
    int n = 5, c = 3, h = 32, w = 32;
    size_t total = (size_t)(n * c * h * w);
    float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total),
          *d1 = malloc(sizeof(float) * total), *d2 = malloc(sizeof(float) * total),
          *map = malloc(sizeof(float) * (size_t)(n * h * w));
    uint64_t state = 5;
    make_pair(x, y, n * c, h, w, 0.2f, &state);
    loss_msssim_config cfg = config(3, 0);
    int before = omp_get_max_threads();
    omp_set_num_threads(4);
    loss_msssim *m = plan(&cfg, n, c, h, w);
    double coef[5] = {1, 2, 3, -1, 0.5}, v1[5], v2[5];
    for (size_t k = 0; k < total; k++)
        d1[k] = 1.0f;
    loss_msssim_backward(m, coef, d1);
    for (size_t k = 0; k < total; k++)
        ck_assert_float_eq(d1[k], 0.0f);
    loss_msssim_forward(m, x, y, v1);
    loss_msssim_backward(m, coef, d1);
    omp_set_num_threads(1);
    loss_msssim_forward(m, x, y, v2);
    loss_msssim_map(m, y, x, map);
    loss_msssim_backward(m, coef, d2);
    omp_set_num_threads(before);
    for (int i = 0; i < n; i++)
        ck_assert_double_eq(v1[i], v2[i]);
    ck_assert_mem_eq(d1, d2, sizeof(float) * total);
    free(x);
    free(y);
    free(d1);
    free(d2);
    free(map);
    loss_msssim_free(m);
}
END_TEST

/* ---- maps -------------------------------------------------------------------------------- */

static const struct mcase {
    int n, c, h, w, window, scales;
} mcases[] = {
    {2, 3, 20, 24, 3, 3}, {1, 1, 33, 31, 11, 2}, {1, 2, 40, 40, 3, 4},
    {3, 1, 16, 16, 3, 1}, {1, 1, 35, 37, 5, 3},  {1, 2, 38, 41, 9, 2},
};

START_TEST(map_matches_reference)
{
    const struct mcase *mc = &mcases[_i];
    loss_msssim_config cfg = config(mc->window, mc->scales);
    loss_msssim *m = plan(&cfg, mc->n, mc->c, mc->h, mc->w);
    size_t hw = (size_t)(mc->h * mc->w), total = (size_t)(mc->n * mc->c) * hw;
    float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total),
          *map = malloc(sizeof(float) * (size_t)mc->n * hw);
    uint64_t state = 77 + (uint64_t)_i;
    make_pair(x, y, mc->n * mc->c, mc->h, mc->w, 0.3f, &state);
    loss_msssim_map(m, x, y, map);
    ref R = ref_make(&cfg, mc->scales);
    double *xd = to_double(x, total), *yd = to_double(y, total);
    double *want = malloc(sizeof(double) * hw);
    double lo = 1, hi = 0;
    for (int i = 0; i < mc->n; i++) {
        size_t o = (size_t)(i * mc->c) * hw;
        ref_map(&R, mc->c, mc->h, mc->w, xd + o, yd + o, want);
        for (size_t k = 0; k < hw; k++) {
            ck_assert_msg(fabs(map[(size_t)i * hw + k] - want[k]) < 2e-6,
                          "image %d pixel %zu: %.8f vs %.8f", i, k, (double)map[(size_t)i * hw + k],
                          want[k]);
            lo = fmin(lo, want[k]);
            hi = fmax(hi, want[k]);
        }
    }
    ck_assert(hi - lo > 0.1); /* a map with something in it */
    ref_free(&R);
    free(want);
    free(xd);
    free(yd);
    free(x);
    free(y);
    free(map);
    loss_msssim_free(m);
}
END_TEST

START_TEST(map_shows_a_local_defect)
{
    int c = 3, h = 64, w = 64;
    size_t hw = (size_t)(h * w), total = (size_t)c * hw;
    float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total),
          *map = malloc(sizeof(float) * hw);
    uint64_t state = 3;
    make_pair(x, y, c, h, w, 0.0f, &state);
    memcpy(y, x, sizeof(float) * total);
    for (int ch = 0; ch < c; ch++)
        for (int r = 40; r < 44; r++)
            for (int cc = 20; cc < 24; cc++)
                y[(size_t)ch * hw + (size_t)(r * w + cc)] =
                    1.0f - x[(size_t)ch * hw + (size_t)(r * w + cc)];
    loss_msssim_config cfg = config(3, 0);
    loss_msssim *m = plan(&cfg, 1, c, h, w);
    ck_assert_int_eq(loss_msssim_scales(m), 5);
    loss_msssim_map(m, x, y, map);
    float at = map[41 * w + 21], far1 = map[4 * w + 60], far2 = map[5 * w + 5];
    ck_assert_msg(at < 0.5f, "map at the defect %.4f", (double)at);
    ck_assert_float_eq_tol(far1, 1.0f, 1e-6f);
    ck_assert_float_eq_tol(far2, 1.0f, 1e-6f);
    /* The lowest point is at the defect. */
    size_t argmin = 0;
    for (size_t k = 1; k < hw; k++)
        if (map[k] < map[argmin])
            argmin = k;
    int r = (int)(argmin / (size_t)w), cc = (int)(argmin % (size_t)w);
    ck_assert(r >= 39 && r <= 44 && cc >= 19 && cc <= 24);
    free(x);
    free(y);
    free(map);
    loss_msssim_free(m);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------ */

static igd_status try_create(const loss_msssim_config *cfg, size_t n, size_t c, size_t h, size_t w)
{
    loss_msssim *m = (loss_msssim *)1;
    core_err err = {0};
    igd_status st = loss_msssim_create(cfg, n, c, h, w, &m, &err);
    if (st == IGD_OK) {
        loss_msssim_free(m);
    } else {
        ck_assert_ptr_null(m);
        ck_assert_int_eq(err.status, st);
        ck_assert(err.msg[0] != 0);
    }
    return st;
}

START_TEST(create_errors)
{
    loss_msssim_config cfg = config(3, 0), bad;
    const igd_status E = IGD_ERR_INVALID_ARGUMENT;
    loss_msssim *m = NULL;
    ck_assert_int_eq(loss_msssim_create(NULL, 1, 1, 8, 8, &m, NULL), E);
    ck_assert_int_eq(loss_msssim_create(&cfg, 1, 1, 8, 8, NULL, NULL), E);
    ck_assert_int_eq(try_create(&cfg, 1, 1, 8, 8), IGD_OK);
    int windows[] = {0, -1, 2, 4, 257, LOSS_MSSSIM_MAX_WINDOW + 1};
    for (size_t k = 0; k < sizeof windows / sizeof *windows; k++) {
        bad = cfg;
        bad.window = windows[k];
        ck_assert_int_eq(try_create(&bad, 1, 1, 300, 300), E);
    }
    bad = cfg;
    bad.window = 1; /* a 1-tap window is legal: cs = 1, MS-SSIM is the luminance term */
    ck_assert_int_eq(try_create(&bad, 1, 1, 4, 4), IGD_OK);
    double sigmas[] = {0, -1, NAN, INFINITY};
    for (size_t k = 0; k < 4; k++) {
        bad = cfg;
        bad.sigma = sigmas[k];
        ck_assert_int_eq(try_create(&bad, 1, 1, 8, 8), E);
        bad = cfg;
        bad.data_range = sigmas[k];
        ck_assert_int_eq(try_create(&bad, 1, 1, 8, 8), E);
    }
    bad = cfg;
    bad.scales = -1;
    ck_assert_int_eq(try_create(&bad, 1, 1, 256, 256), E);
    bad.scales = 6;
    ck_assert_int_eq(try_create(&bad, 1, 1, 256, 256), E);
    bad.scales = 4; /* 16 -> 8 -> 4 -> 2 < 3 */
    ck_assert_int_eq(try_create(&bad, 1, 1, 16, 16), E);
    bad.scales = 3;
    ck_assert_int_eq(try_create(&bad, 1, 1, 16, 16), IGD_OK);
    bad = cfg;
    bad.weights[1] = -0.1;
    ck_assert_int_eq(try_create(&bad, 1, 1, 32, 32), E);
    bad.weights[1] = NAN;
    ck_assert_int_eq(try_create(&bad, 1, 1, 32, 32), E);
    bad = cfg;
    for (int j = 0; j < 5; j++)
        bad.weights[j] = j == 4 ? 1 : 0; /* only the unused fifth scale weighs */
    ck_assert_int_eq(try_create(&bad, 1, 1, 32, 32), E);
    ck_assert_int_eq(try_create(&bad, 1, 1, 64, 64), IGD_OK);
    /* Zero and too small sizes. */
    ck_assert_int_eq(try_create(&cfg, 0, 1, 8, 8), E);
    ck_assert_int_eq(try_create(&cfg, 1, 0, 8, 8), E);
    ck_assert_int_eq(try_create(&cfg, 1, 1, 0, 8), E);
    ck_assert_int_eq(try_create(&cfg, 1, 1, 8, 0), E);
    ck_assert_int_eq(try_create(&cfg, 1, 1, 2, 8), E);
    ck_assert_int_eq(try_create(&cfg, 1, 1, 8, 2), E);
    bad = config(11, 0);
    ck_assert_int_eq(try_create(&bad, 1, 1, 10, 64), E);
    ck_assert_int_eq(try_create(&bad, 1, 1, 11, 11), IGD_OK);
    /* Sizes that overflow. */
    ck_assert_int_eq(try_create(&cfg, SIZE_MAX / 2, 3, 8, 8), E);
    ck_assert_int_eq(try_create(&cfg, SIZE_MAX / 64, 1, 8, 8), E);
    ck_assert_int_eq(try_create(&cfg, 1, 1, SIZE_MAX / 4, 8), E);
    ck_assert_int_eq(try_create(&cfg, 1, 1, (size_t)1 << 33, (size_t)1 << 33), E);
    ck_assert_int_eq(try_create(&cfg, 1, 1, 3, SIZE_MAX), E);
#if !defined(TEST_ASAN) /* AddressSanitizer aborts on such requests by default */
    /* A huge but representable plan fails cleanly for want of memory. */
    ck_assert_int_eq(try_create(&cfg, (size_t)1 << 20, 1, (size_t)1 << 14, (size_t)1 << 14),
                     IGD_ERR_OUT_OF_MEMORY);
#endif
    loss_msssim_free(NULL);
}
END_TEST

START_TEST(allocation_failures)
{
    tu_alloc_install();
    long start = tu_live_allocations();
    loss_msssim_config cfg = config(3, 0);
    loss_msssim *m = NULL;
    igd_status st = IGD_ERR_OUT_OF_MEMORY;
    long n;
    for (n = 0; n < 100 && st != IGD_OK; n++) {
        tu_fail_after(n);
        core_err err = {0};
        st = loss_msssim_create(&cfg, 2, 3, 32, 32, &m, &err);
        tu_fail_reset();
        if (st != IGD_OK) {
            ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
            ck_assert_ptr_null(m);
            ck_assert_int_eq(tu_live_allocations(), start);
        }
    }
    ck_assert_int_eq(st, IGD_OK);
    ck_assert_int_gt(n, 3);
    /* No call allocates after create. */
    float x[2 * 3 * 32 * 32], y[2 * 3 * 32 * 32], dy[2 * 3 * 32 * 32], map[2 * 32 * 32];
    uint64_t state = 1;
    make_pair(x, y, 6, 32, 32, 0.2f, &state);
    long made = tu_allocations_made();
    double v[2], coef[2] = {1, 1};
    loss_msssim_forward(m, x, y, v);
    loss_msssim_backward(m, coef, dy);
    loss_msssim_map(m, x, y, map);
    ck_assert_int_eq(tu_allocations_made(), made);
    loss_msssim_free(m);
    ck_assert_int_eq(tu_live_allocations(), start);
    ck_assert_igd_ok(igd_set_allocator(NULL, NULL, NULL, NULL));
}
END_TEST

Suite *make_msssim_suite(void)
{
    Suite *s = suite_create("msssim");
    TCase *t = tcase_create("msssim");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, values_match_reference, 0, sizeof vcases / sizeof *vcases);
    tcase_add_test(t, identical_images_give_one);
    tcase_add_test(t, constant_images_give_the_luminance_formula);
    tcase_add_test(t, negative_means_are_clamped);
    tcase_add_test(t, hand_worked_single_window);
    tcase_add_test(t, properties);
    tcase_add_loop_test(t, gradient_matches_finite_differences, 0, sizeof gcases / sizeof *gcases);
    tcase_add_test(t, threads_and_state);
    tcase_add_loop_test(t, map_matches_reference, 0, sizeof mcases / sizeof *mcases);
    tcase_add_test(t, map_shows_a_local_defect);
    tcase_add_test(t, create_errors);
    tcase_add_test(t, allocation_failures);
    suite_add_tcase(s, t);
    return s;
}

/* Pixel metrics: hand-computed AUROC and AUPRO, comparison on random images (with ties and
 * images of different sizes) against brute-force references written here (pair counting; a
 * flood-fill labelling and a sweep over every distinct threshold for AUPRO), a large set against
 * a histogram count, and every error path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "testutil.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static void assert_close(double got, double want, double tol)
{
    ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "got %.17g, want %.17g", got, want);
}

/* ---------------------------------------------------------------------------------------- */
/* Brute-force reference                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Every pixel added: its score, whether anomalous, its region (-1 for normal pixels). */
typedef struct ref_px {
    double *score;
    int *anom;
    long *region;
    size_t n, cap;
    size_t *rsize;
    size_t nreg, rcap;
} ref_px;

static void ref_free(ref_px *r)
{
    free(r->score);
    free(r->anom);
    free(r->region);
    free(r->rsize);
    memset(r, 0, sizeof *r);
}

/* Labels the image's mask by flood fill from each unlabelled anomalous pixel, stepping to all
 * 8 neighbours. */
static void ref_add(ref_px *r, const float *map, const unsigned char *mask, size_t w, size_t h)
{
    size_t n = w * h;
    if (r->n + n > r->cap) {
        r->cap = (r->n + n) * 2;
        r->score = realloc(r->score, r->cap * sizeof *r->score);
        r->anom = realloc(r->anom, r->cap * sizeof *r->anom);
        r->region = realloc(r->region, r->cap * sizeof *r->region);
    }
    long *lab = r->region + r->n;
    for (size_t i = 0; i < n; i++) {
        r->score[r->n + i] = map[i];
        r->anom[r->n + i] = mask[i] != 0;
        lab[i] = -1;
    }
    size_t *queue = malloc(n * sizeof *queue);
    for (size_t seed = 0; seed < n; seed++) {
        if (!mask[seed] || lab[seed] >= 0)
            continue;
        if (r->nreg == r->rcap) {
            r->rcap = r->rcap * 2 + 8;
            r->rsize = realloc(r->rsize, r->rcap * sizeof *r->rsize);
        }
        long id = (long)r->nreg++;
        size_t head = 0, tail = 0;
        queue[tail++] = seed;
        lab[seed] = id;
        while (head < tail) {
            size_t i = queue[head++];
            long y = (long)(i / w), x = (long)(i % w);
            for (long dy = -1; dy <= 1; dy++) {
                for (long dx = -1; dx <= 1; dx++) {
                    long yy = y + dy, xx = x + dx;
                    if (yy < 0 || xx < 0 || yy >= (long)h || xx >= (long)w)
                        continue;
                    size_t j = (size_t)yy * w + (size_t)xx;
                    if (mask[j] && lab[j] < 0) {
                        lab[j] = id;
                        queue[tail++] = j;
                    }
                }
            }
        }
        r->rsize[id] = tail;
    }
    free(queue);
    r->n += n;
}

static double ref_auroc(const ref_px *r)
{
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->anom[i])
            continue;
        for (size_t j = 0; j < r->n; j++) {
            if (r->anom[j])
                continue;
            pairs += 1;
            wins += r->score[i] > r->score[j] ? 1 : r->score[i] == r->score[j] ? 0.5 : 0;
        }
    }
    return wins / pairs;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x > y ? -1 : x < y ? 1 : 0;
}

/* Trapezoid area under the points (x ascending) from x[0] up to xmax, the point at xmax
 * interpolated on the segment that crosses it. */
static double ref_trapezoid(const double *x, const double *y, size_t m, double xmax)
{
    double area = 0;
    for (size_t i = 1; i < m; i++) {
        if (x[i] <= xmax) {
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
        } else {
            double ym = y[i - 1] + (xmax - x[i - 1]) / (x[i] - x[i - 1]) * (y[i] - y[i - 1]);
            area += (xmax - x[i - 1]) * (y[i - 1] + ym) / 2;
            break;
        }
    }
    return area;
}

/* The PRO curve at every distinct threshold, counted directly, then integrated. */
static double ref_aupro(const ref_px *r, double max_fpr)
{
    double *t = malloc(r->n * sizeof *t);
    memcpy(t, r->score, r->n * sizeof *t);
    qsort(t, r->n, sizeof *t, cmp_desc);
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        if (m == 0 || t[i] != t[m - 1])
            t[m++] = t[i];
    double *x = malloc((m + 1) * sizeof *x), *y = malloc((m + 1) * sizeof *y);
    size_t *hit = malloc(r->nreg * sizeof *hit);
    size_t normals = 0;
    for (size_t i = 0; i < r->n; i++)
        normals += !r->anom[i];
    x[0] = y[0] = 0;
    for (size_t k = 0; k < m; k++) {
        size_t fp = 0;
        memset(hit, 0, r->nreg * sizeof *hit);
        for (size_t i = 0; i < r->n; i++) {
            if (r->score[i] < t[k])
                continue;
            if (r->anom[i])
                hit[r->region[i]]++;
            else
                fp++;
        }
        double pro = 0;
        for (size_t g = 0; g < r->nreg; g++)
            pro += (double)hit[g] / (double)r->rsize[g];
        x[k + 1] = (double)fp / (double)normals;
        y[k + 1] = pro / (double)r->nreg;
    }
    double area = ref_trapezoid(x, y, m + 1, max_fpr) / max_fpr;
    free(t);
    free(x);
    free(y);
    free(hit);
    return area;
}

/* ---------------------------------------------------------------------------------------- */
/* Hand-computed cases                                                                      */
/* ---------------------------------------------------------------------------------------- */

static double aupro_of(igd_pixel_metrics *m, double max_fpr)
{
    double v = -1;
    ck_assert_igd_ok(igd_pixel_metrics_aupro(m, max_fpr, &v));
    return v;
}

static double auroc_of(igd_pixel_metrics *m)
{
    double v = -1;
    ck_assert_igd_ok(igd_pixel_metrics_auroc(m, &v));
    return v;
}

START_TEST(by_hand)
{
    /* One row: regions {0, 1} and {5}; normal pixels 2, 3, 4. Points (FPR, PRO) by descending
     * threshold: (0, 1/4) (1/3, 1/4) (1/3, 3/4) (1/3, 1) (2/3, 1) (1, 1). */
    const float map[] = {0.9f, 0.3f, 0.8f, 0.2f, 0.1f, 0.5f};
    const unsigned char mask[] = {1, 1, 0, 0, 0, 255};
    igd_pixel_metrics *m;
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, map, mask, 6, 1));
    assert_close(auroc_of(m), 7.0 / 9.0, 1e-15);
    assert_close(aupro_of(m, 1.0), 0.75, 1e-14);       /* 1/12 + 2/3 */
    assert_close(aupro_of(m, 0.5), 0.5, 1e-14);        /* (1/12 + 1/6) / 0.5 */
    assert_close(aupro_of(m, 0.3), 0.25, 1e-14);       /* inside the first flat part */
    assert_close(aupro_of(m, 1.0 / 3.0), 0.25, 1e-14); /* exactly at a point */
    igd_pixel_metrics_free(m);

    /* The same pixels as a column give the same values. */
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, map, mask, 1, 6));
    assert_close(aupro_of(m, 1.0), 0.75, 1e-14);
    igd_pixel_metrics_free(m);

    /* Two images; each region weighs the same: region A (3 pixels, 2 found at 0.9) and region
     * B (1 pixel, found last). Points (0, 1/3) (1/2, 1/3) (1, 1/3) (1, 1). */
    const float ma[] = {0.9f, 0.9f, 0.1f, 0.2f}, mb[] = {0.1f, 0.5f};
    const unsigned char ka[] = {1, 1, 1, 0}, kb[] = {1, 0};
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, ma, ka, 4, 1));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, mb, kb, 2, 1));
    assert_close(aupro_of(m, 1.0), 1.0 / 3.0, 1e-14);
    assert_close(aupro_of(m, 0.25), 1.0 / 3.0, 1e-14);
    /* Pairs: 0.9 x2 beat both normals (4), 0.1 x2 beat none. */
    assert_close(auroc_of(m), 4.0 / 8.0, 1e-15);
    igd_pixel_metrics_free(m);
}
END_TEST

START_TEST(eight_connectivity)
{
    /* Mask pixels (0,0), (1,1), (2,1): one region with 8-connectivity (two with 4). Only (0,0)
     * scores high, so PRO is 1/3 (it would be 1/2 with 4-connectivity) until FPR 1. */
    const unsigned char mask[9] = {1, 0, 0, 0, 1, 0, 0, 1, 0};
    float map[9];
    for (int i = 0; i < 9; i++)
        map[i] = mask[i] ? 0.05f : 0.5f;
    map[0] = 0.9f;
    igd_pixel_metrics *m;
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, map, mask, 3, 3));
    assert_close(aupro_of(m, 1.0), 1.0 / 3.0, 1e-14);
    assert_close(aupro_of(m, 0.5), 1.0 / 3.0, 1e-14);
    igd_pixel_metrics_free(m);

    /* A ring whose pixels touch only at corners is one region; a mask split by a normal
     * column is two regions, here of 3 pixels and 1 pixel (merged, PRO would be 3/4). */
    const unsigned char diamond[9] = {0, 1, 0, 1, 0, 1, 0, 1, 0};
    float dm[9] = {0.5f, 0.9f, 0.5f, 0.1f, 0.5f, 0.1f, 0.5f, 0.1f, 0.5f};
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, dm, diamond, 3, 3));
    assert_close(aupro_of(m, 1.0), 0.25, 1e-14); /* one region: 1 of 4 found before FPR 1 */
    igd_pixel_metrics_free(m);
    const unsigned char split[9] = {1, 0, 0, 1, 0, 1, 1, 0, 0};
    float sm[9] = {0.9f, 0.5f, 0.5f, 0.9f, 0.5f, 0.1f, 0.9f, 0.5f, 0.5f};
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, sm, split, 3, 3));
    assert_close(aupro_of(m, 1.0), 0.5, 1e-14); /* two regions: one found wholly */
    igd_pixel_metrics_free(m);
}
END_TEST

START_TEST(extremes)
{
    uint64_t rng = 5;
    enum { W = 17, H = 11 };
    float map[W * H], inv[W * H], flat[W * H];
    unsigned char mask[W * H];
    for (int i = 0; i < W * H; i++) {
        mask[i] = rng_unit(&rng) < 0.2;
        map[i] = mask[i] ? 1.0f : 0.0f;
        inv[i] = mask[i] ? 0.0f : 1.0f;
        flat[i] = 0.7f;
    }
    mask[0] = 1;
    mask[1] = 0;
    map[0] = 1, inv[0] = 0, map[1] = 0, inv[1] = 1;
    igd_pixel_metrics *m;
    const double fprs[] = {1.0, 0.3, 0.01};
    /* Perfect: 1 and 1. */
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, map, mask, W, H));
    ck_assert_double_eq(auroc_of(m), 1.0);
    for (int k = 0; k < 3; k++)
        assert_close(aupro_of(m, fprs[k]), 1.0, 1e-14);
    igd_pixel_metrics_free(m);
    /* Inverted: 0 and 0. */
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, inv, mask, W, H));
    ck_assert_double_eq(auroc_of(m), 0.0);
    for (int k = 0; k < 3; k++)
        ck_assert_double_eq(aupro_of(m, fprs[k]), 0.0);
    igd_pixel_metrics_free(m);
    /* All equal: 0.5, and PRO = FPR on one straight segment, so max_fpr / 2. */
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, flat, mask, W, H));
    ck_assert_double_eq(auroc_of(m), 0.5);
    for (int k = 0; k < 3; k++)
        assert_close(aupro_of(m, fprs[k]), fprs[k] / 2, 1e-14);
    igd_pixel_metrics_free(m);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Random images against the brute-force references                                         */
/* ---------------------------------------------------------------------------------------- */

static void random_image(uint64_t *rng, size_t w, size_t h, int levels, float *map,
                         unsigned char *mask)
{
    int kind = (int)(rng_next(rng) % 3);
    size_t x0 = rng_next(rng) % w, y0 = rng_next(rng) % h;
    size_t x1 = x0 + rng_next(rng) % (w - x0), y1 = y0 + rng_next(rng) % (h - y0);
    for (size_t y = 0; y < h; y++) {
        for (size_t x = 0; x < w; x++) {
            size_t i = y * w + x;
            if (kind == 0) /* scattered pixels: many small, corner-touching regions */
                mask[i] = rng_unit(rng) < 0.3;
            else if (kind == 1) /* a rectangle and some specks */
                mask[i] = (x >= x0 && x <= x1 && y >= y0 && y <= y1) || rng_unit(rng) < 0.03;
            else /* nothing (a normal image) */
                mask[i] = 0;
            double u =
                levels > 0 ? (double)(rng_next(rng) % (uint64_t)levels) / levels : rng_unit(rng);
            map[i] = (float)(u + (mask[i] ? 0.3 : 0.0));
            if (map[i] == 0 && rng_unit(rng) < 0.5)
                map[i] = -0.0f; /* the same score as +0 */
        }
    }
}

START_TEST(random_against_bruteforce)
{
    uint64_t rng = 2024;
    enum { MAXS = 13 };
    float map[MAXS * MAXS];
    unsigned char mask[MAXS * MAXS];
    for (int round = 0; round < 60; round++) {
        ref_px ref = {0};
        igd_pixel_metrics *m;
        ck_assert_igd_ok(igd_pixel_metrics_create(&m));
        int images = 1 + (int)(rng_next(&rng) % 5);
        int levels = round % 4 == 0 ? 0 : 2 + (int)(rng_next(&rng) % 10);
        for (int k = 0; k < images; k++) {
            size_t w = 1 + rng_next(&rng) % MAXS, h = 1 + rng_next(&rng) % MAXS;
            random_image(&rng, w, h, levels, map, mask);
            if (k == 0) { /* make sure both kinds of pixel exist */
                mask[0] = 1;
                if (w * h > 1)
                    mask[w * h - 1] = 0;
                else
                    continue;
            }
            ck_assert_igd_ok(igd_pixel_metrics_add(m, map, mask, w, h));
            ref_add(&ref, map, mask, w, h);
        }
        size_t normals = 0;
        for (size_t i = 0; i < ref.n; i++)
            normals += !ref.anom[i];
        if (normals == 0 || normals == ref.n) {
            ck_assert_int_eq(igd_pixel_metrics_auroc(m, &(double){0}), IGD_ERR_STATE);
        } else {
            assert_close(auroc_of(m), ref_auroc(&ref), 1e-12);
            const double fprs[] = {1.0, 0.3, 0.05, 0.5 + 0.5 * rng_unit(&rng),
                                   0.01 + 0.3 * rng_unit(&rng)};
            for (size_t k = 0; k < sizeof fprs / sizeof fprs[0]; k++)
                assert_close(aupro_of(m, fprs[k]), ref_aupro(&ref, fprs[k]), 1e-12);
            /* More images after a computation: the metrics cover all of them. */
            size_t w = 1 + rng_next(&rng) % MAXS, h = 1 + rng_next(&rng) % MAXS;
            random_image(&rng, w, h, levels, map, mask);
            ck_assert_igd_ok(igd_pixel_metrics_add(m, map, mask, w, h));
            ref_add(&ref, map, mask, w, h);
            assert_close(auroc_of(m), ref_auroc(&ref), 1e-12);
            assert_close(aupro_of(m, 0.3), ref_aupro(&ref, 0.3), 1e-12);
        }
        igd_pixel_metrics_free(m);
        ref_free(&ref);
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Many pixels: 400 images of 300 x 300 against histogram counts                            */
/* ---------------------------------------------------------------------------------------- */

/* Scores on a grid of LEVELS values; every anomalous image holds one disk (one region), so the
 * reference needs only a histogram per region and one for the normal pixels. */
START_TEST(many_pixels_against_histogram)
{
    enum { IMAGES = 400, W = 300, H = 300, LEVELS = 1000 };
    float *map = malloc(W * H * sizeof *map);
    unsigned char *mask = malloc(W * H);
    double *neg = calloc(LEVELS, sizeof *neg);
    double *pos = calloc((size_t)IMAGES * LEVELS, sizeof *pos); /* per region */
    double *size = calloc(IMAGES, sizeof *size);
    size_t regions = 0;
    uint64_t rng = 31337;
    igd_pixel_metrics *m;
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    for (int k = 0; k < IMAGES; k++) {
        int anomalous = k % 2 == 0;
        double cx = rng_unit(&rng) * W, cy = rng_unit(&rng) * H, rad = 3 + rng_unit(&rng) * 40;
        for (size_t y = 0; y < H; y++) {
            for (size_t x = 0; x < W; x++) {
                size_t i = y * W + x;
                double dx = (double)x - cx, dy = (double)y - cy;
                mask[i] = anomalous && dx * dx + dy * dy <= rad * rad;
                int v = (int)(rng_next(&rng) % 700) + (mask[i] ? 300 : 0);
                map[i] = (float)v / LEVELS;
                if (mask[i])
                    pos[regions * LEVELS + (size_t)v] += 1;
                else
                    neg[v] += 1;
            }
        }
        ck_assert_igd_ok(igd_pixel_metrics_add(m, map, mask, W, H));
        if (anomalous) {
            for (int v = 0; v < LEVELS; v++)
                size[regions] += pos[regions * LEVELS + (size_t)v];
            regions += size[regions] > 0;
        }
    }
    /* AUROC and the PRO curve from the histograms, from the highest level down. */
    double nneg = 0, npos = 0;
    for (int v = 0; v < LEVELS; v++)
        nneg += neg[v];
    for (size_t r = 0; r < regions; r++)
        npos += size[r];
    double wins = 0, below = nneg, fp = 0;
    double x[LEVELS + 1], yv[LEVELS + 1];
    double *found = calloc(regions, sizeof *found);
    x[0] = yv[0] = 0;
    for (int v = LEVELS - 1; v >= 0; v--) {
        double p = 0, pro = 0;
        for (size_t r = 0; r < regions; r++) {
            p += pos[r * LEVELS + (size_t)v];
            found[r] += pos[r * LEVELS + (size_t)v];
            pro += found[r] / size[r];
        }
        below -= neg[v];
        wins += p * (below + neg[v] / 2);
        fp += neg[v];
        x[LEVELS - v] = fp / nneg;
        yv[LEVELS - v] = pro / (double)regions;
    }
    double want_auroc = wins / (npos * nneg);
    assert_close(auroc_of(m), want_auroc, 1e-12);
    const double fprs[] = {0.3, 0.05, 1.0};
    for (int k = 0; k < 3; k++)
        assert_close(aupro_of(m, fprs[k]), ref_trapezoid(x, yv, LEVELS + 1, fprs[k]) / fprs[k],
                     1e-9);
    igd_pixel_metrics_free(m);
    free(map);
    free(mask);
    free(neg);
    free(pos);
    free(size);
    free(found);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                   */
/* ---------------------------------------------------------------------------------------- */

START_TEST(error_paths)
{
    const float map[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    const float nan[4] = {0.1f, NAN, 0.3f, 0.4f};
    const unsigned char mask[4] = {0, 1, 0, 0}, none[4] = {0}, all[4] = {1, 1, 1, 1};
    double v;
    igd_pixel_metrics *m;
    ck_assert_int_eq(igd_pixel_metrics_create(NULL), IGD_ERR_INVALID_ARGUMENT);
    igd_pixel_metrics_free(NULL);
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));

    /* Nothing added yet. */
    ck_assert_int_eq(igd_pixel_metrics_auroc(m, &v), IGD_ERR_STATE);
    ck_assert_int_eq(igd_pixel_metrics_aupro(m, 0.3, &v), IGD_ERR_STATE);

    ck_assert_int_eq(igd_pixel_metrics_add(NULL, map, mask, 2, 2), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_add(m, NULL, mask, 2, 2), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_add(m, map, NULL, 2, 2), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_add(m, map, mask, 0, 2), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_add(m, map, mask, 2, 0), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_add(m, map, mask, SIZE_MAX, 2), IGD_ERR_LIMIT);
    ck_assert_int_eq(igd_pixel_metrics_add(m, map, mask, 65536, 65537), IGD_ERR_LIMIT);
    ck_assert_int_eq(igd_pixel_metrics_add(m, nan, mask, 2, 2), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "NaN"));

    /* Only normal pixels, then only anomalous ones. */
    ck_assert_igd_ok(igd_pixel_metrics_add(m, map, none, 2, 2));
    ck_assert_int_eq(igd_pixel_metrics_auroc(m, &v), IGD_ERR_STATE);
    ck_assert_int_eq(igd_pixel_metrics_aupro(m, 0.3, &v), IGD_ERR_STATE);
    igd_pixel_metrics_free(m);
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    ck_assert_igd_ok(igd_pixel_metrics_add(m, map, all, 2, 2));
    ck_assert_int_eq(igd_pixel_metrics_auroc(m, &v), IGD_ERR_STATE);
    ck_assert_int_eq(igd_pixel_metrics_aupro(m, 0.3, &v), IGD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "normal"));

    /* The failed adds left nothing behind: with one more normal pixel (0.1, tied with one
     * anomalous pixel) the metrics count 3.5 won pairs of 4. */
    ck_assert_igd_ok(igd_pixel_metrics_add(m, map, none, 1, 1));
    ck_assert_double_eq(auroc_of(m), 0.875);

    ck_assert_int_eq(igd_pixel_metrics_auroc(NULL, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_auroc(m, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_aupro(NULL, 0.3, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_aupro(m, 0.3, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_aupro(m, 0, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_aupro(m, -0.1, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_aupro(m, 1.5, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_pixel_metrics_aupro(m, NAN, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "max_fpr"));
    igd_pixel_metrics_free(m);

    /* The internal functions on an embedded object, with no error report. */
    met_pixels px;
    met_pixels_init(&px);
    ck_assert_int_eq(met_pixels_auroc(&px, &v, NULL), IGD_ERR_STATE);
    ck_assert_int_eq(met_pixels_add(&px, map, mask, 2, 2, NULL), IGD_OK);
    ck_assert_int_eq(met_pixels_aupro(&px, 1.0, &v, NULL), IGD_OK);
    ck_assert_int_eq(met_pixels_add(&px, map, mask, 0, 2, NULL), IGD_ERR_INVALID_ARGUMENT);
    met_pixels_clear(&px);
    met_pixels_clear(&px);
}
END_TEST

START_TEST(out_of_memory)
{
    tu_alloc_install();
    long live = tu_live_allocations();
    igd_pixel_metrics *m = (igd_pixel_metrics *)1;
    tu_fail_after(0);
    ck_assert_int_eq(igd_pixel_metrics_create(&m), IGD_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_null(m);
    tu_fail_reset();
    ck_assert_int_eq(tu_live_allocations(), live);

    uint64_t rng = 77;
    enum { W = 9, H = 7 };
    float map[W * H];
    unsigned char mask[W * H];
    ref_px ref = {0};
    ck_assert_igd_ok(igd_pixel_metrics_create(&m));
    random_image(&rng, W, H, 5, map, mask);
    mask[0] = 1, mask[1] = 0;
    ck_assert_igd_ok(igd_pixel_metrics_add(m, map, mask, W, H));
    ref_add(&ref, map, mask, W, H);
    double before = auroc_of(m), before_pro = aupro_of(m, 0.3);
    assert_close(before, ref_auroc(&ref), 1e-12);

    /* Larger images make every store grow; each failure leaves the metrics as they were. */
    int successes = 0;
    for (int k = 0; k < 3; k++) {
        size_t w = 40 + 30 * (size_t)k, h = 25 + 20 * (size_t)k;
        float *big = malloc(w * h * sizeof *big);
        unsigned char *bm = malloc(w * h);
        for (size_t i = 0; i < w * h; i++) {
            bm[i] = rng_unit(&rng) < 0.25;
            big[i] = (float)(rng_unit(&rng) + 0.2 * bm[i]);
        }
        for (long n = 0;; n++) {
            tu_fail_after(n);
            igd_status st = igd_pixel_metrics_add(m, big, bm, w, h);
            tu_fail_reset();
            if (st == IGD_OK)
                break;
            ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
            ck_assert_double_eq(auroc_of(m), before);
            ck_assert_double_eq(aupro_of(m, 0.3), before_pro);
        }
        ref_add(&ref, big, bm, w, h);
        before = auroc_of(m);
        before_pro = aupro_of(m, 0.3);
        assert_close(before, ref_auroc(&ref), 1e-12);
        assert_close(before_pro, ref_aupro(&ref, 0.3), 1e-12);
        successes++;
        free(big);
        free(bm);
    }
    ck_assert_int_eq(successes, 3);
    /* The metrics themselves allocate nothing. */
    tu_fail_after(0);
    ck_assert_igd_ok(igd_pixel_metrics_auroc(m, &(double){0}));
    ck_assert_igd_ok(igd_pixel_metrics_aupro(m, 0.3, &(double){0}));
    tu_fail_reset();
    igd_pixel_metrics_free(m);
    ck_assert_int_eq(tu_live_allocations(), live);
    ref_free(&ref);
    ck_assert_igd_ok(igd_set_allocator(NULL, NULL, NULL, NULL));
}
END_TEST

Suite *make_pixel_metrics_suite(void)
{
    Suite *s = suite_create("pixel_metrics");
    TCase *t = tcase_create("pixel_metrics");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, by_hand);
    tcase_add_test(t, eight_connectivity);
    tcase_add_test(t, extremes);
    tcase_add_test(t, random_against_bruteforce);
    tcase_add_test(t, many_pixels_against_histogram);
    tcase_add_test(t, error_paths);
    tcase_add_test(t, out_of_memory);
    suite_add_tcase(s, t);
    return s;
}

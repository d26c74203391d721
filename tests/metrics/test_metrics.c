/* Image-level metrics: hand-computed cases, comparisons on random data (with ties) against
 * brute-force references written here, the radix sorts, and every error path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "testutil.h"

/* ---------------------------------------------------------------------------------------- */
/* Independent references                                                                   */
/* ---------------------------------------------------------------------------------------- */

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

/* AUROC by looking at every positive-negative pair. */
static double ref_auroc(const double *s, const int *l, size_t n)
{
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i] != 1)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (l[j] != 0)
                continue;
            pairs += 1;
            wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        }
    }
    return wins / pairs;
}

/* F1 at every score used as the threshold; the smallest threshold among the best. */
static void ref_f1(const double *s, const int *l, size_t n, double *f1, double *thr)
{
    double best = -1, best_t = INFINITY;
    for (size_t k = 0; k < n; k++) {
        double t = s[k];
        size_t tp = 0, fp = 0, fn = 0;
        for (size_t i = 0; i < n; i++) {
            int pred = s[i] >= t;
            tp += pred && l[i];
            fp += pred && !l[i];
            fn += !pred && l[i];
        }
        double f = 2.0 * (double)tp / (2.0 * (double)tp + (double)fp + (double)fn);
        if (f > best || (f == best && t < best_t)) {
            best = f;
            best_t = t;
        }
    }
    *f1 = best;
    *thr = best_t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static int cmp_double_desc(const void *a, const void *b)
{
    return -cmp_double(a, b);
}

/* Distinct values of s, highest first; returns how many. */
static size_t distinct_desc(const double *s, size_t n, double *out)
{
    memcpy(out, s, n * sizeof *s);
    qsort(out, n, sizeof *out, cmp_double_desc);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || out[i] != out[m - 1])
            out[m++] = out[i];
    return m;
}

/* numpy's 'linear' quantile over a sorted copy: h = (n - 1) q, x[lo] + (h - lo) (x[hi] - x[lo]). */
static double ref_quantile(const double *v, size_t n, double q)
{
    double *x = malloc(n * sizeof *x);
    memcpy(x, v, n * sizeof *x);
    qsort(x, n, sizeof *x, cmp_double);
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : n - 1;
    double r = x[lo] + (h - (double)lo) * (x[hi] - x[lo]);
    free(x);
    return r;
}

static void assert_close(double got, double want, double tol)
{
    ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "got %.17g, want %.17g", got, want);
}

/* ---------------------------------------------------------------------------------------- */
/* Hand-computed cases                                                                      */
/* ---------------------------------------------------------------------------------------- */

static const double S4[] = {0.1, 0.4, 0.35, 0.8};
static const int L4[] = {0, 0, 1, 1};

START_TEST(auroc_by_hand)
{
    double a;
    /* Pairs (0.35 vs 0.1, 0.35 vs 0.4, 0.8 vs both): 3 of 4 won. */
    ck_assert_igd_ok(igd_metric_auroc(S4, L4, 4, &a));
    ck_assert_double_eq(a, 0.75);
    /* Ties count half: (0.5 vs 0.5) = 1/2, (0.7 vs 0.5) = 1. */
    const double s1[] = {0.5, 0.5, 0.7};
    const int l1[] = {0, 1, 1};
    ck_assert_igd_ok(igd_metric_auroc(s1, l1, 3, &a));
    ck_assert_double_eq(a, 0.75);
    const double s2[] = {1, 1, 2, 2};
    const int l2[] = {0, 1, 0, 1};
    ck_assert_igd_ok(igd_metric_auroc(s2, l2, 4, &a));
    ck_assert_double_eq(a, 0.5);
    /* All equal: 0.5; perfect: 1; inverted: 0. */
    const double same[] = {3, 3, 3, 3, 3};
    const int l5[] = {0, 1, 0, 1, 1};
    ck_assert_igd_ok(igd_metric_auroc(same, l5, 5, &a));
    ck_assert_double_eq(a, 0.5);
    const double sep[] = {0.1, 0.9, 0.2, 0.8, 0.7};
    ck_assert_igd_ok(igd_metric_auroc(sep, l5, 5, &a));
    ck_assert_double_eq(a, 1.0);
    const double inv[] = {0.9, 0.1, 0.8, 0.2, 0.3};
    ck_assert_igd_ok(igd_metric_auroc(inv, l5, 5, &a));
    ck_assert_double_eq(a, 0.0);
    /* -0 and +0 are the same score; infinities are ordinary scores. */
    const double z[] = {-0.0, 0.0, -INFINITY, INFINITY};
    const int lz[] = {1, 0, 0, 1};
    ck_assert_igd_ok(igd_metric_auroc(z, lz, 4, &a));
    ck_assert_double_eq(a, (0.5 + 1 + 1 + 1) / 4);
}
END_TEST

START_TEST(f1_by_hand)
{
    double f, t;
    /* t = 0.8: 2/3; 0.4: 1/2; 0.35: tp 2, fp 1 -> 4/5; 0.1: 4/6. */
    ck_assert_igd_ok(igd_metric_f1_max(S4, L4, 4, &f, &t));
    ck_assert_double_eq(f, 0.8);
    ck_assert_double_eq(t, 0.35);
    /* 2/3 at t = 4 (tp 1, fn 1) and at t = 1 (tp 2, fp 2): the smaller threshold. */
    const double s[] = {4, 3, 2, 1};
    const int l[] = {1, 0, 0, 1};
    ck_assert_igd_ok(igd_metric_f1_max(s, l, 4, &f, &t));
    ck_assert_double_eq(f, 2.0 / 3.0);
    ck_assert_double_eq(t, 1);
    /* Perfect separation: F1 1 at the lowest positive score. */
    const double sep[] = {0.1, 0.9, 0.2, 0.8, 0.7};
    const int l5[] = {0, 1, 0, 1, 1};
    ck_assert_igd_ok(igd_metric_f1_max(sep, l5, 5, &f, &t));
    ck_assert_double_eq(f, 1);
    ck_assert_double_eq(t, 0.7);
    /* All equal: everything anomalous, 2*3 / (2*3 + 2). */
    const double same[] = {3, 3, 3, 3, 3};
    ck_assert_igd_ok(igd_metric_f1_max(same, l5, 5, &f, &t));
    ck_assert_double_eq(f, 0.75);
    ck_assert_double_eq(t, 3);
}
END_TEST

START_TEST(accuracy_by_hand)
{
    double a;
    ck_assert_igd_ok(igd_metric_accuracy(S4, L4, 4, 0.4, &a));
    ck_assert_double_eq(a, 0.5);
    ck_assert_igd_ok(igd_metric_accuracy(S4, L4, 4, 0.35, &a));
    ck_assert_double_eq(a, 0.75);
    ck_assert_igd_ok(igd_metric_accuracy(S4, L4, 4, 100, &a));
    ck_assert_double_eq(a, 0.5);
    ck_assert_igd_ok(igd_metric_accuracy(S4, L4, 4, -INFINITY, &a));
    ck_assert_double_eq(a, 0.5);
    /* One class is fine for accuracy. */
    const int ones[] = {1, 1, 1, 1};
    ck_assert_igd_ok(igd_metric_accuracy(S4, ones, 4, 0.3, &a));
    ck_assert_double_eq(a, 0.75);
}
END_TEST

START_TEST(roc_by_hand)
{
    size_t points = 0;
    ck_assert_igd_ok(igd_metric_roc(S4, L4, 4, NULL, NULL, NULL, 0, &points));
    ck_assert_uint_eq(points, 5);
    double fpr[5], tpr[5], thr[5];
    ck_assert_igd_ok(igd_metric_roc(S4, L4, 4, fpr, tpr, thr, 5, &points));
    const double efpr[] = {0, 0, 0.5, 0.5, 1}, etpr[] = {0, 0.5, 0.5, 1, 1};
    const double ethr[] = {INFINITY, 0.8, 0.4, 0.35, 0.1};
    for (int i = 0; i < 5; i++) {
        ck_assert_double_eq(fpr[i], efpr[i]);
        ck_assert_double_eq(tpr[i], etpr[i]);
        ck_assert_double_eq(thr[i], ethr[i]);
    }
    /* Tied scores make one point. */
    const double s[] = {2, 1, 2, 1, 1};
    const int l[] = {1, 0, 0, 1, 0};
    ck_assert_igd_ok(igd_metric_roc(s, l, 5, fpr, tpr, NULL, 5, &points));
    ck_assert_uint_eq(points, 3);
    ck_assert_double_eq(fpr[1], 1.0 / 3.0);
    ck_assert_double_eq(tpr[1], 0.5);
    ck_assert_double_eq(fpr[2], 1);
    ck_assert_double_eq(tpr[2], 1);
    /* Too small a buffer: an error, and the size needed. */
    points = 0;
    fpr[2] = -7;
    ck_assert_int_eq(igd_metric_roc(S4, L4, 4, fpr, tpr, thr, 2, &points),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(points, 5);
    ck_assert_double_eq(fpr[2], -7);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "capacity"));
}
END_TEST

START_TEST(quantile_by_hand)
{
    const double v[] = {4, 1, 3, 2};
    double q;
    ck_assert_igd_ok(igd_metric_quantile(v, 4, 0.5, &q));
    ck_assert_double_eq(q, 2.5);
    ck_assert_igd_ok(igd_metric_quantile(v, 4, 0, &q));
    ck_assert_double_eq(q, 1);
    ck_assert_igd_ok(igd_metric_quantile(v, 4, 1, &q));
    ck_assert_double_eq(q, 4);
    ck_assert_igd_ok(igd_metric_quantile(v, 4, 0.1, &q)); /* h = 0.3 */
    assert_close(q, 1.3, 1e-15);
    ck_assert_igd_ok(igd_metric_quantile(v, 4, 0.99, &q)); /* h = 2.97 */
    assert_close(q, 3.97, 1e-15);
    const double one = -2.5;
    ck_assert_igd_ok(igd_metric_quantile(&one, 1, 0.7, &q));
    ck_assert_double_eq(q, -2.5);
    /* Infinite order statistics. */
    const double inf[] = {-INFINITY, 0, 1, INFINITY};
    ck_assert_igd_ok(igd_metric_quantile(inf, 4, 0.1, &q));
    ck_assert(isinf(q) && q < 0);
    ck_assert_igd_ok(igd_metric_quantile(inf, 4, 0.5, &q));
    ck_assert_double_eq(q, 0.5);
    ck_assert_igd_ok(igd_metric_quantile(inf, 4, 1, &q));
    ck_assert(isinf(q) && q > 0);
    /* The internal entry point the model uses. */
    core_err err = {0};
    ck_assert_int_eq(met_quantile(v, 4, 0.25, &q, &err), IGD_OK);
    ck_assert_double_eq(q, 1.75);
    ck_assert_int_eq(met_quantile(v, 4, 2, &q, &err), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "quantile"));
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Random data against the references                                                       */
/* ---------------------------------------------------------------------------------------- */

/* n scores: in `levels` distinct values when levels > 0 (ties), continuous otherwise. */
static void random_case(uint64_t *rng, size_t n, int levels, double *s, int *l)
{
    for (size_t i = 0; i < n; i++) {
        l[i] = rng_unit(rng) < 0.3;
        double base = levels > 0 ? (double)(rng_next(rng) % (uint64_t)levels) / levels
                                 : rng_unit(rng) * 4 - 2;
        s[i] = base + 0.2 * l[i]; /* some signal */
    }
    l[0] = 0;
    l[n - 1] = 1;
}

START_TEST(random_against_bruteforce)
{
    uint64_t rng = 12345;
    enum { MAXN = 400 };
    double *s = malloc(MAXN * sizeof *s), *d = malloc(MAXN * sizeof *d);
    int *l = malloc(MAXN * sizeof *l);
    double *fpr = malloc((MAXN + 1) * sizeof *fpr), *tpr = malloc((MAXN + 1) * sizeof *tpr);
    double *thr = malloc((MAXN + 1) * sizeof *thr);
    for (int round = 0; round < 120; round++) {
        size_t n = 2 + (size_t)(rng_next(&rng) % (MAXN - 1));
        int levels = round % 3 == 0 ? 0 : 1 + (int)(rng_next(&rng) % 12);
        random_case(&rng, n, levels, s, l);

        double a;
        ck_assert_igd_ok(igd_metric_auroc(s, l, n, &a));
        assert_close(a, ref_auroc(s, l, n), 1e-12);

        double f, t, rf, rt;
        ck_assert_igd_ok(igd_metric_f1_max(s, l, n, &f, &t));
        ref_f1(s, l, n, &rf, &rt);
        assert_close(f, rf, 1e-12);
        ck_assert_double_eq(t, rt);

        /* ROC points against counts at every distinct threshold. */
        size_t points;
        ck_assert_igd_ok(igd_metric_roc(s, l, n, NULL, NULL, NULL, 0, &points));
        size_t m = distinct_desc(s, n, d);
        ck_assert_uint_eq(points, m + 1);
        ck_assert_igd_ok(igd_metric_roc(s, l, n, fpr, tpr, thr, points, &points));
        ck_assert_double_eq(fpr[0], 0);
        ck_assert_double_eq(tpr[0], 0);
        size_t npos = 0;
        for (size_t i = 0; i < n; i++)
            npos += (size_t)l[i];
        for (size_t k = 0; k < m; k++) {
            size_t tp = 0, fp = 0;
            for (size_t i = 0; i < n; i++) {
                tp += s[i] >= d[k] && l[i];
                fp += s[i] >= d[k] && !l[i];
            }
            ck_assert_double_eq(thr[k + 1], d[k]);
            assert_close(fpr[k + 1], (double)fp / (double)(n - npos), 1e-15);
            assert_close(tpr[k + 1], (double)tp / (double)npos, 1e-15);
        }
        ck_assert_double_eq(fpr[m], 1);
        ck_assert_double_eq(tpr[m], 1);

        /* Accuracy at a few thresholds, including every score's own value. */
        for (int k = 0; k < 4; k++) {
            double th = k < 2 ? s[rng_next(&rng) % n] : rng_unit(&rng) * 4 - 2;
            size_t right = 0;
            for (size_t i = 0; i < n; i++)
                right += (s[i] >= th) == (l[i] == 1);
            ck_assert_igd_ok(igd_metric_accuracy(s, l, n, th, &a));
            ck_assert_double_eq(a, (double)right / (double)n);
        }

        /* Quantiles. */
        const double qs[] = {0, 1, 0.5, 0.99, 0.01, rng_unit(&rng), rng_unit(&rng)};
        for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
            double q;
            ck_assert_igd_ok(igd_metric_quantile(s, n, qs[k], &q));
            assert_close(q, ref_quantile(s, n, qs[k]), 1e-14);
        }
    }
    free(s);
    free(d);
    free(l);
    free(fpr);
    free(tpr);
    free(thr);
}
END_TEST

/* AUROC on many samples against a histogram count (scores on a grid of 50 values). */
START_TEST(large_auroc_against_histogram)
{
    enum { N = 300000, LEVELS = 50 };
    double *s = malloc(N * sizeof *s);
    int *l = malloc(N * sizeof *l);
    double pos[LEVELS] = {0}, neg[LEVELS] = {0};
    uint64_t rng = 99;
    for (size_t i = 0; i < N; i++) {
        l[i] = rng_unit(&rng) < 0.4;
        int v = (int)(rng_next(&rng) % LEVELS);
        if (l[i] && v < LEVELS - 10)
            v += 10;
        s[i] = v * 0.25 - 3;
        (l[i] ? pos : neg)[v] += 1;
    }
    double wins = 0, np = 0, nn = 0, below = 0;
    for (int v = 0; v < LEVELS; v++) {
        wins += pos[v] * (below + neg[v] / 2);
        below += neg[v];
        np += pos[v];
        nn += neg[v];
    }
    double a;
    ck_assert_igd_ok(igd_metric_auroc(s, l, N, &a));
    assert_close(a, wins / (np * nn), 1e-13);
    free(s);
    free(l);
}
END_TEST

/* The radix sorts against qsort, on keys that exercise every level and skewed buckets. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(radix_sorts)
{
    uint64_t rng = 7;
    const size_t sizes[] = {0, 1, 2, 47, 48, 49, 1000, 70001};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int kind = 0; kind < 4; kind++) {
            size_t n = sizes[k];
            uint64_t *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
            uint32_t *c = malloc((n + 1) * sizeof *c), *e = malloc((n + 1) * sizeof *e);
            for (size_t i = 0; i < n; i++) {
                uint64_t r = rng_next(&rng);
                if (kind == 1)
                    r &= 0xff000000000000ffull; /* only the outer bytes vary */
                else if (kind == 2)
                    r = met_key_from_double(rng_unit(&rng)); /* one exponent range */
                else if (kind == 3)
                    r %= 5; /* many duplicates */
                a[i] = b[i] = r;
                c[i] = e[i] = (uint32_t)(r >> (kind == 2 ? 32 : 0));
            }
            met_sort_u64(a, n);
            qsort(b, n, sizeof *b, cmp_u64);
            ck_assert(n == 0 || memcmp(a, b, n * sizeof *a) == 0);
            met_sort_u32(c, n);
            qsort(e, n, sizeof *e, cmp_u32);
            ck_assert(n == 0 || memcmp(c, e, n * sizeof *c) == 0);
            /* By the upper half only: the upper halves come out sorted. */
            for (size_t i = 0; i < n; i++)
                a[i] = rng_next(&rng) >> (kind * 8);
            met_sort_u64_high(a, n);
            for (size_t i = 1; i < n; i++)
                ck_assert_uint_le(a[i - 1] >> 32, a[i] >> 32);
            free(a);
            free(b);
            free(c);
            free(e);
        }
    }
    /* The key maps preserve order and round-trip. */
    const double v[] = {-INFINITY, -1e300, -1, -1e-300, -0.0, 0.0, 1e-310, 1, 2, INFINITY};
    for (size_t i = 0; i + 1 < sizeof v / sizeof v[0]; i++) {
        ck_assert_uint_le(met_key_from_double(v[i]), met_key_from_double(v[i + 1]));
        ck_assert_double_eq(met_double_from_key(met_key_from_double(v[i])), v[i]);
        ck_assert_uint_le(met_key_from_float((float)v[i]), met_key_from_float((float)v[i + 1]));
        ck_assert_float_eq(met_float_from_key(met_key_from_float((float)v[i])), (float)v[i]);
    }
    ck_assert_uint_eq(met_key_from_double(-0.0), met_key_from_double(0.0));
    ck_assert_uint_eq(met_key_from_float(-0.0f), met_key_from_float(0.0f));
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                   */
/* ---------------------------------------------------------------------------------------- */

START_TEST(error_paths)
{
    double a = 0, t = 0, f[5], p[5], th[5];
    size_t points;
    const double nan4[] = {0.1, NAN, 0.3, 0.4};
    const int bad[] = {0, 1, 2, 1}, neg[] = {0, 0, 0, 0}, pos[] = {1, 1, 1, 1};
    const int minus[] = {0, -1, 1, 1};

    /* AUROC */
    ck_assert_int_eq(igd_metric_auroc(NULL, L4, 4, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_auroc(S4, NULL, 4, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_auroc(S4, L4, 4, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_auroc(S4, L4, 0, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_auroc(nan4, L4, 4, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "NaN"));
    ck_assert_int_eq(igd_metric_auroc(S4, bad, 4, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "labels[2]"));
    ck_assert_int_eq(igd_metric_auroc(S4, minus, 4, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_auroc(S4, neg, 4, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "both labels"));
    ck_assert_int_eq(igd_metric_auroc(S4, pos, 4, &a), IGD_ERR_INVALID_ARGUMENT);

    /* F1 */
    ck_assert_int_eq(igd_metric_f1_max(NULL, L4, 4, &a, &t), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_f1_max(S4, NULL, 4, &a, &t), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_f1_max(S4, L4, 4, NULL, &t), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_f1_max(S4, L4, 4, &a, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_f1_max(S4, L4, 0, &a, &t), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_f1_max(nan4, L4, 4, &a, &t), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_f1_max(S4, bad, 4, &a, &t), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_f1_max(S4, neg, 4, &a, &t), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_f1_max(S4, pos, 4, &a, &t), IGD_ERR_INVALID_ARGUMENT);

    /* Accuracy */
    ck_assert_int_eq(igd_metric_accuracy(NULL, L4, 4, 0.5, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_accuracy(S4, NULL, 4, 0.5, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_accuracy(S4, L4, 4, 0.5, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_accuracy(S4, L4, 0, 0.5, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_accuracy(S4, L4, 4, NAN, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_accuracy(nan4, L4, 4, 0.5, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_accuracy(S4, bad, 4, 0.5, &a), IGD_ERR_INVALID_ARGUMENT);

    /* ROC */
    ck_assert_int_eq(igd_metric_roc(NULL, L4, 4, f, p, th, 5, &points), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_roc(S4, NULL, 4, f, p, th, 5, &points), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_roc(S4, L4, 4, f, p, th, 5, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_roc(S4, L4, 0, f, p, th, 5, &points), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_roc(nan4, L4, 4, f, p, th, 5, &points), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_roc(S4, bad, 4, f, p, th, 5, &points), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_roc(S4, neg, 4, NULL, NULL, NULL, 0, &points),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_roc(S4, pos, 4, f, p, th, 5, &points), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_roc(S4, L4, 4, f, p, th, 0, &points), IGD_ERR_INVALID_ARGUMENT);

    /* Quantile */
    ck_assert_int_eq(igd_metric_quantile(NULL, 4, 0.5, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_quantile(S4, 4, 0.5, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_quantile(S4, 0, 0.5, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_quantile(S4, 4, -0.01, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_quantile(S4, 4, 1.01, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_quantile(S4, 4, NAN, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_metric_quantile(nan4, 4, 0.5, &a), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "values[1]"));

    /* Internal functions accept a NULL error report. */
    ck_assert_int_eq(met_auroc(S4, neg, 4, &a, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(met_f1_max(S4, L4, 4, &a, NULL, NULL), IGD_OK);
    ck_assert_double_eq(a, 0.8);
}
END_TEST

START_TEST(out_of_memory)
{
    tu_alloc_install();
    long live = tu_live_allocations();
    double a, t, f[5], p[5], th[5];
    size_t points;
    igd_status st;
    long n;
    for (n = 0;; n++) {
        tu_fail_after(n);
        st = igd_metric_auroc(S4, L4, 4, &a);
        tu_fail_reset();
        ck_assert_int_eq(tu_live_allocations(), live);
        if (st == IGD_OK)
            break;
        ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
    }
    ck_assert_double_eq(a, 0.75);
    for (n = 0;; n++) {
        tu_fail_after(n);
        st = igd_metric_f1_max(S4, L4, 4, &a, &t);
        tu_fail_reset();
        ck_assert_int_eq(tu_live_allocations(), live);
        if (st == IGD_OK)
            break;
        ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
    }
    ck_assert_double_eq(a, 0.8);
    for (n = 0;; n++) {
        tu_fail_after(n);
        st = igd_metric_roc(S4, L4, 4, f, p, th, 5, &points);
        tu_fail_reset();
        ck_assert_int_eq(tu_live_allocations(), live);
        if (st == IGD_OK)
            break;
        ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
    }
    ck_assert_uint_eq(points, 5);
    for (n = 0;; n++) {
        tu_fail_after(n);
        st = igd_metric_quantile(S4, 4, 0.5, &a);
        tu_fail_reset();
        ck_assert_int_eq(tu_live_allocations(), live);
        if (st == IGD_OK)
            break;
        ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
    }
    assert_close(a, 0.375, 1e-15);
    /* Accuracy needs no memory at all. */
    tu_fail_after(0);
    ck_assert_igd_ok(igd_metric_accuracy(S4, L4, 4, 0.35, &a));
    tu_fail_reset();
    ck_assert_igd_ok(igd_set_allocator(NULL, NULL, NULL, NULL));
}
END_TEST

Suite *make_metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *t = tcase_create("metrics");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, auroc_by_hand);
    tcase_add_test(t, f1_by_hand);
    tcase_add_test(t, accuracy_by_hand);
    tcase_add_test(t, roc_by_hand);
    tcase_add_test(t, quantile_by_hand);
    tcase_add_test(t, random_against_bruteforce);
    tcase_add_test(t, large_auroc_against_histogram);
    tcase_add_test(t, radix_sorts);
    tcase_add_test(t, error_paths);
    tcase_add_test(t, out_of_memory);
    suite_add_tcase(s, t);
    return s;
}

/* Image-level metrics: AUROC, F1-max, accuracy, ROC points, quantiles.
 *
 * Scores are turned into order-preserving 64-bit keys and split by label into two arrays, each
 * radix-sorted once. A sweep from the highest score down then visits every distinct score once,
 * with the number of positives and negatives that share it: everything below is exact counting
 * over those groups, so ties are handled as such (AUROC counts a tied positive-negative pair as
 * half, F1 and ROC put all tied samples on the same side of a threshold). */
#include <math.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "metrics/metrics.h"

/* Checks scores and labels; counts the positives. */
static igd_status check_samples(const double *scores, const int *labels, size_t count,
                                size_t *positives, core_err *err)
{
    CORE_CHECK_ARG(err, scores != NULL, "scores is NULL");
    CORE_CHECK_ARG(err, labels != NULL, "labels is NULL");
    CORE_CHECK_ARG(err, count > 0, "no samples (count is 0)");
    size_t npos = 0;
    for (size_t i = 0; i < count; i++) {
        if (isnan(scores[i]))
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "scores[%zu] is NaN", i);
        if (labels[i] != 0 && labels[i] != 1)
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "labels[%zu] is %d, not 0 or 1", i,
                             labels[i]);
        npos += (size_t)labels[i];
    }
    *positives = npos;
    return IGD_OK;
}

/* The keys of the positives in keys[0, npos) and of the negatives in keys[npos, npos + nneg),
 * each part ascending. */
typedef struct split {
    uint64_t *keys;
    size_t npos, nneg;
} split;

static igd_status split_make(const double *scores, const int *labels, size_t count, split *s,
                             core_err *err)
{
    size_t npos;
    CORE_TRY(check_samples(scores, labels, count, &npos, err));
    if (npos == 0 || npos == count)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "needs both labels: %zu anomalous (1) and %zu normal (0) samples", npos,
                         count - npos);
    uint64_t *keys = core_malloc_array(count, sizeof *keys);
    if (!keys)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "out of memory sorting %zu scores", count);
    size_t ip = 0, in = npos;
    for (size_t i = 0; i < count; i++)
        keys[labels[i] ? ip++ : in++] = met_key_from_double(scores[i]);
    met_sort_u64(keys, npos);
    met_sort_u64(keys + npos, count - npos);
    s->keys = keys;
    s->npos = npos;
    s->nneg = count - npos;
    return IGD_OK;
}

/* Walks the distinct scores from the highest down. */
typedef struct sweep {
    const uint64_t *pos, *neg;
    size_t ip, in; /* positives and negatives not yet visited (the lowest ones) */
} sweep;

static void sweep_start(sweep *w, const split *s)
{
    w->pos = s->keys;
    w->neg = s->keys + s->npos;
    w->ip = s->npos;
    w->in = s->nneg;
}

/* The next distinct score and how many positives and negatives have it; 0 at the end. */
static int sweep_next(sweep *w, uint64_t *key, size_t *p, size_t *n)
{
    if (w->ip == 0 && w->in == 0)
        return 0;
    uint64_t k;
    if (w->ip == 0)
        k = w->neg[w->in - 1];
    else if (w->in == 0)
        k = w->pos[w->ip - 1];
    else
        k = w->pos[w->ip - 1] > w->neg[w->in - 1] ? w->pos[w->ip - 1] : w->neg[w->in - 1];
    size_t a = 0, b = 0;
    while (w->ip > 0 && w->pos[w->ip - 1] == k) {
        w->ip--;
        a++;
    }
    while (w->in > 0 && w->neg[w->in - 1] == k) {
        w->in--;
        b++;
    }
    *key = k;
    *p = a;
    *n = b;
    return 1;
}

igd_status met_auroc(const double *scores, const int *labels, size_t count, double *auroc,
                     core_err *err)
{
    CORE_CHECK_ARG(err, auroc != NULL, "auroc is NULL");
    split s;
    CORE_TRY(split_make(scores, labels, count, &s, err));
    /* Twice the Mann-Whitney U: each positive counts 2 per negative below it and 1 per negative
     * tied with it. Exact in 64 bits while 2 * npos * nneg fits, else summed in doubles. */
    size_t pairs, pairs2;
    int exact = core_mul_size(s.npos, s.nneg, &pairs) && core_mul_size(pairs, 2, &pairs2);
    uint64_t u2 = 0;
    double u2d = 0;
    size_t below = s.nneg;
    sweep w;
    sweep_start(&w, &s);
    uint64_t key;
    size_t p, n;
    while (sweep_next(&w, &key, &p, &n)) {
        below -= n;
        if (exact)
            u2 += (uint64_t)p * (2 * (uint64_t)below + n);
        else
            u2d += (double)p * (2.0 * (double)below + (double)n);
    }
    *auroc = exact ? (double)u2 / (double)pairs2 : u2d / (2.0 * (double)s.npos * (double)s.nneg);
    core_free(s.keys);
    return IGD_OK;
}

igd_status met_f1_max(const double *scores, const int *labels, size_t count, double *f1,
                      double *threshold, core_err *err)
{
    CORE_CHECK_ARG(err, f1 != NULL, "f1 is NULL");
    split s;
    CORE_TRY(split_make(scores, labels, count, &s, err));
    /* At threshold t: tp positives and fp negatives score >= t; F1 = 2 tp / (2 tp + fp + fn)
     * = 2 tp / (tp + fp + npos). Visiting thresholds downwards and keeping ties (>=) leaves the
     * smallest threshold of the best F1. Equal fractions of integers divide to equal doubles. */
    double best = -1, best_t = 0;
    size_t tp = 0, fp = 0;
    sweep w;
    sweep_start(&w, &s);
    uint64_t key;
    size_t p, n;
    while (sweep_next(&w, &key, &p, &n)) {
        tp += p;
        fp += n;
        double v = 2.0 * (double)tp / ((double)tp + (double)fp + (double)s.npos);
        if (v >= best) {
            best = v;
            best_t = met_double_from_key(key);
        }
    }
    *f1 = best;
    if (threshold)
        *threshold = best_t;
    core_free(s.keys);
    return IGD_OK;
}

igd_status met_accuracy(const double *scores, const int *labels, size_t count, double threshold,
                        double *accuracy, core_err *err)
{
    CORE_CHECK_ARG(err, accuracy != NULL, "accuracy is NULL");
    CORE_CHECK_ARG(err, !isnan(threshold), "threshold is NaN");
    size_t npos;
    CORE_TRY(check_samples(scores, labels, count, &npos, err));
    size_t right = 0;
    for (size_t i = 0; i < count; i++)
        right += (scores[i] >= threshold) == (labels[i] == 1);
    *accuracy = (double)right / (double)count;
    return IGD_OK;
}

igd_status met_roc(const double *scores, const int *labels, size_t count, double *fpr, double *tpr,
                   double *thresholds, size_t capacity, size_t *points, core_err *err)
{
    CORE_CHECK_ARG(err, points != NULL, "points is NULL");
    split s;
    CORE_TRY(split_make(scores, labels, count, &s, err));
    sweep w;
    uint64_t key;
    size_t p, n;
    size_t total = 1;
    sweep_start(&w, &s);
    while (sweep_next(&w, &key, &p, &n))
        total++;
    *points = total;
    igd_status st = IGD_OK;
    if (fpr && capacity < total) {
        st = core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                       "capacity %zu is too small for the %zu ROC points", capacity, total);
    } else if (fpr) {
        fpr[0] = 0;
        if (tpr)
            tpr[0] = 0;
        if (thresholds)
            thresholds[0] = INFINITY;
        size_t tp = 0, fp = 0, i = 1;
        sweep_start(&w, &s);
        while (sweep_next(&w, &key, &p, &n)) {
            tp += p;
            fp += n;
            fpr[i] = (double)fp / (double)s.nneg;
            if (tpr)
                tpr[i] = (double)tp / (double)s.npos;
            if (thresholds)
                thresholds[i] = met_double_from_key(key);
            i++;
        }
    }
    core_free(s.keys);
    return st;
}

/* numpy's interpolation between neighbouring order statistics (its _lerp): from the nearer end,
 * so that t = 0 and t = 1 give a and b exactly. An infinite end wins; between -inf and +inf the
 * nearer end is taken. */
static double lerp(double a, double b, double t)
{
    if (t == 0 || a == b)
        return a;
    if (isinf(a) && isinf(b))
        return t < 0.5 ? a : b;
    if (isinf(a))
        return a;
    if (isinf(b))
        return b;
    double d = b - a;
    if (isinf(d)) /* finite ends of opposite sign near the largest double */
        return a * (1 - t) + b * t;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

igd_status met_quantile(const double *values, size_t count, double q, double *out, core_err *err)
{
    CORE_CHECK_ARG(err, values != NULL, "values is NULL");
    CORE_CHECK_ARG(err, out != NULL, "out is NULL");
    CORE_CHECK_ARG(err, count > 0, "no values (count is 0)");
    CORE_CHECK_ARG(err, q >= 0 && q <= 1, "quantile %g is outside 0..1", q);
    for (size_t i = 0; i < count; i++)
        if (isnan(values[i]))
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "values[%zu] is NaN", i);
    uint64_t *keys = core_malloc_array(count, sizeof *keys);
    if (!keys)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "out of memory sorting %zu values", count);
    for (size_t i = 0; i < count; i++)
        keys[i] = met_key_from_double(values[i]);
    met_sort_u64(keys, count);
    double h = (double)(count - 1) * q;
    double lo = floor(h);
    size_t i = (size_t)lo;
    if (i > count - 1)
        i = count - 1;
    size_t j = i + 1 < count ? i + 1 : count - 1;
    *out = lerp(met_double_from_key(keys[i]), met_double_from_key(keys[j]), h - lo);
    core_free(keys);
    return IGD_OK;
}

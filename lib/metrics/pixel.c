/* Pixel-level metrics: AUROC over all pixels and AUPRO (Bergmann et al. 2020, "The MVTec
 * Anomaly Detection Dataset", the per-region overlap of "Uninformed Students").
 *
 * Choices made for AUPRO (as in the MVTec AD evaluation code):
 *   - Regions are the connected components of each image's mask with 8-connectivity (pixels
 *     touching at an edge or a corner, as scipy.ndimage.label with a full 3x3 structure); a
 *     region never spans two images.
 *   - At a threshold t (anomalous when score >= t), FPR is the share of all normal pixels of all
 *     images scoring >= t, and PRO is the mean over all regions of the share of the region's
 *     pixels scoring >= t (each region weighs the same, whatever its size).
 *   - The curve has one point per distinct score (ties merged), preceded by (0, 0). PRO is
 *     integrated over FPR from 0 to max_fpr with the trapezoid rule; the curve's point at exactly
 *     max_fpr is interpolated linearly on the segment that crosses it.
 *   - The area is divided by max_fpr, so a perfect detector scores 1 and scores that carry no
 *     information (all equal) score max_fpr / 2.
 * All of it is exact and needs one sort of the pixels: add() reduces every image at once to the
 * order-preserving key of each pixel (and, for anomalous pixels, its region number), and a sweep
 * over the sorted keys from the highest down visits every distinct threshold once. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "metrics/metrics.h"

void met_pixels_init(met_pixels *px)
{
    memset(px, 0, sizeof *px);
}

void met_pixels_clear(met_pixels *px)
{
    core_free(px->neg);
    core_free(px->pos);
    core_free(px->region_size);
    met_pixels_init(px);
}

/* Makes room for `need` elements of `elem` bytes in buf (capacity *cap), growing at least
 * twofold. On failure buf is untouched. */
static igd_status reserve(void *buf, size_t *cap, size_t need, size_t elem, void **out,
                          core_err *err)
{
    *out = buf;
    if (need <= *cap)
        return IGD_OK;
    size_t want = need, doubled, bytes;
    if (core_mul_size(*cap, 2, &doubled) && doubled > want)
        want = doubled;
    if (!core_mul_size(want, elem, &bytes)) {
        want = need;
        if (!core_mul_size(want, elem, &bytes))
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "too many pixels (%zu) to store", need);
    }
    void *p = core_realloc(buf, bytes);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "out of memory storing %zu pixels", need);
    *out = p;
    *cap = want;
    return IGD_OK;
}

/* Union-find over pixel indices; a root is the smallest index of its set, so parent[i] <= i. */
static uint32_t uf_find(uint32_t *parent, uint32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void uf_unite(uint32_t *parent, uint32_t a, uint32_t b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

/* Labels the 8-connected components of the mask: afterwards lab[i] is the component number
 * (0, 1, ... in order of first pixel, row-major) of every anomalous pixel i. Returns the number
 * of components. */
static size_t label_regions(const unsigned char *mask, size_t width, size_t height, uint32_t *lab)
{
    for (size_t y = 0; y < height; y++) {
        for (size_t x = 0; x < width; x++) {
            size_t i = y * width + x;
            if (!mask[i])
                continue;
            lab[i] = (uint32_t)i;
            if (x > 0 && mask[i - 1])
                uf_unite(lab, (uint32_t)i, (uint32_t)(i - 1));
            if (y > 0) {
                size_t up = i - width;
                if (x > 0 && mask[up - 1])
                    uf_unite(lab, (uint32_t)i, (uint32_t)(up - 1));
                if (mask[up])
                    uf_unite(lab, (uint32_t)i, (uint32_t)up);
                if (x + 1 < width && mask[up + 1])
                    uf_unite(lab, (uint32_t)i, (uint32_t)(up + 1));
            }
        }
    }
    /* In index order, lab[j] for j < i already holds j's number while lab[i] still holds a
     * parent index p <= i of the same set: a root starts a new number, others take lab[p]. */
    size_t count = 0;
    size_t n = width * height;
    for (size_t i = 0; i < n; i++) {
        if (!mask[i])
            continue;
        uint32_t p = lab[i];
        lab[i] = p == i ? (uint32_t)count++ : lab[p];
    }
    return count;
}

igd_status met_pixels_add(met_pixels *px, const float *map, const unsigned char *mask, size_t width,
                          size_t height, core_err *err)
{
    CORE_CHECK_ARG(err, px != NULL, "metrics is NULL");
    CORE_CHECK_ARG(err, map != NULL, "map is NULL");
    CORE_CHECK_ARG(err, mask != NULL, "mask is NULL");
    CORE_CHECK_ARG(err, width > 0 && height > 0, "empty image (%zu x %zu)", width, height);
    size_t n;
    if (!core_mul_size(width, height, &n) || n > UINT32_MAX)
        return core_fail(err, IGD_ERR_LIMIT,
                         "an image of %zu x %zu pixels is more than the 2^32 - 1 supported", width,
                         height);
    size_t anomalous = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(map[i]))
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "map[%zu] is NaN", i);
        anomalous += mask[i] != 0;
    }
    size_t normal = n - anomalous, neg_need, pos_need;
    if (!core_add_size(px->neg_count, normal, &neg_need) ||
        !core_add_size(px->pos_count, anomalous, &pos_need))
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "too many pixels to store");
    void *p;
    CORE_TRY(reserve(px->neg, &px->neg_cap, neg_need, sizeof *px->neg, &p, err));
    px->neg = p;
    CORE_TRY(reserve(px->pos, &px->pos_cap, pos_need, sizeof *px->pos, &p, err));
    px->pos = p;

    uint32_t *lab = NULL;
    size_t regions = 0;
    if (anomalous > 0) {
        lab = core_malloc_array(n, sizeof *lab);
        if (!lab)
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "out of memory labelling a %zu x %zu mask",
                             width, height);
        regions = label_regions(mask, width, height, lab);
        size_t region_need;
        if (!core_add_size(px->region_count, regions, &region_need) || region_need > UINT32_MAX) {
            core_free(lab);
            return core_fail(err, IGD_ERR_LIMIT, "more than 2^32 - 1 anomalous regions");
        }
        igd_status st = reserve(px->region_size, &px->region_cap, region_need,
                                sizeof *px->region_size, &p, err);
        if (st != IGD_OK) {
            core_free(lab);
            return st;
        }
        px->region_size = p;
    }

    /* Nothing can fail from here on. */
    size_t first = px->region_count;
    for (size_t r = 0; r < regions; r++)
        px->region_size[first + r] = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t key = met_key_from_float(map[i]);
        if (mask[i]) {
            uint64_t region = first + lab[i];
            px->region_size[region]++;
            px->pos[px->pos_count++] = (uint64_t)key << 32 | region;
        } else {
            px->neg[px->neg_count++] = key;
        }
    }
    px->region_count += regions;
    px->sorted = 0;
    core_free(lab);
    return IGD_OK;
}

static igd_status prepare(met_pixels *px, core_err *err)
{
    if (px->pos_count == 0 || px->neg_count == 0)
        return core_fail(err, IGD_ERR_STATE,
                         "needs anomalous and normal pixels: %zu anomalous and %zu normal added",
                         px->pos_count, px->neg_count);
    if (!px->sorted) {
        met_sort_u32(px->neg, px->neg_count);
        met_sort_u64_high(px->pos, px->pos_count);
        px->sorted = 1;
    }
    return IGD_OK;
}

/* Walks the distinct scores from the highest down: the next group is the pixels with key *key,
 * normal ones neg[*in, old *in) and anomalous ones pos[*ip, old *ip). 0 at the end. */
static int next_group(const met_pixels *px, size_t *ip, size_t *in, uint32_t *key)
{
    size_t a = *ip, b = *in;
    if (a == 0 && b == 0)
        return 0;
    uint32_t k;
    if (a == 0)
        k = px->neg[b - 1];
    else if (b == 0)
        k = (uint32_t)(px->pos[a - 1] >> 32);
    else {
        uint32_t kp = (uint32_t)(px->pos[a - 1] >> 32), kn = px->neg[b - 1];
        k = kp > kn ? kp : kn;
    }
    while (a > 0 && (uint32_t)(px->pos[a - 1] >> 32) == k)
        a--;
    while (b > 0 && px->neg[b - 1] == k)
        b--;
    *ip = a;
    *in = b;
    *key = k;
    return 1;
}

igd_status met_pixels_auroc(met_pixels *px, double *auroc, core_err *err)
{
    CORE_CHECK_ARG(err, px != NULL, "metrics is NULL");
    CORE_CHECK_ARG(err, auroc != NULL, "auroc is NULL");
    CORE_TRY(prepare(px, err));
    size_t npos = px->pos_count, nneg = px->neg_count;
    /* Twice the Mann-Whitney U, exact in 64 bits while 2 * npos * nneg fits. */
    size_t pairs, pairs2;
    int exact = core_mul_size(npos, nneg, &pairs) && core_mul_size(pairs, 2, &pairs2);
    uint64_t u2 = 0;
    double u2d = 0;
    size_t ip = npos, in = nneg;
    uint32_t key;
    for (;;) {
        size_t ip0 = ip, in0 = in;
        if (!next_group(px, &ip, &in, &key))
            break;
        size_t p = ip0 - ip, n = in0 - in; /* in = normal pixels below this score */
        if (exact)
            u2 += (uint64_t)p * (2 * (uint64_t)in + n);
        else
            u2d += (double)p * (2.0 * (double)in + (double)n);
    }
    *auroc = exact ? (double)u2 / (double)pairs2 : u2d / (2.0 * (double)npos * (double)nneg);
    return IGD_OK;
}

igd_status met_pixels_aupro(met_pixels *px, double max_fpr, double *aupro, core_err *err)
{
    CORE_CHECK_ARG(err, px != NULL, "metrics is NULL");
    CORE_CHECK_ARG(err, aupro != NULL, "aupro is NULL");
    CORE_CHECK_ARG(err, max_fpr > 0 && max_fpr <= 1, "max_fpr %g is outside (0, 1]", max_fpr);
    CORE_TRY(prepare(px, err));
    double nneg = (double)px->neg_count, regions = (double)px->region_count;
    /* PRO = (1 / regions) * sum over anomalous pixels at or above t of 1 / size(region), summed
     * with Neumaier's compensation. */
    double sum = 0, comp = 0;
    double f_prev = 0, p_prev = 0, area = 0;
    size_t ip = px->pos_count, in = px->neg_count;
    uint32_t key;
    for (;;) {
        size_t ip0 = ip;
        if (!next_group(px, &ip, &in, &key))
            break; /* not reached: the last point has FPR 1 >= max_fpr */
        for (size_t i = ip; i < ip0; i++) {
            double w = 1.0 / (double)px->region_size[(uint32_t)px->pos[i]];
            double t = sum + w;
            comp += fabs(sum) >= w ? (sum - t) + w : (w - t) + sum;
            sum = t;
        }
        double f = (double)(px->neg_count - in) / nneg;
        double pro = (sum + comp) / regions;
        if (f >= max_fpr) {
            /* The segment from (f_prev, p_prev) to (f, pro) reaches max_fpr; f > f_prev. */
            double pm = p_prev + (max_fpr - f_prev) / (f - f_prev) * (pro - p_prev);
            area += (max_fpr - f_prev) * (p_prev + pm) / 2;
            break;
        }
        area += (f - f_prev) * (p_prev + pro) / 2;
        f_prev = f;
        p_prev = pro;
    }
    *aupro = area / max_fpr;
    return IGD_OK;
}

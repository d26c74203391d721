/* MS-SSIM (Wang, Simoncelli & Bovik 2003): values, exact gradient, per-pixel maps.
 *
 * Definitions (per image, per channel; x is the reference, y the reconstruction):
 *
 *   Window. g[k] = exp(-(k - W/2)^2 / (2 sigma^2)), k = 0..W-1 (W odd), normalised to sum 1. The
 *   2D window is the outer product g g^T, applied separably (rows, then columns).
 *
 *   Statistics at a scale. mu_x = g*x, mu_y = g*y, E[x^2] = g*(x^2), E[y^2] = g*(y^2),
 *   E[xy] = g*(xy); sigma_x^2 = E[x^2] - mu_x^2, sigma_y^2 = E[y^2] - mu_y^2,
 *   sigma_xy = E[xy] - mu_x mu_y. For the values the filtering is "valid": an hh x ww image gives
 *   (hh - W + 1) x (ww - W + 1) outputs (as the MATLAB reference and pytorch_msssim do).
 *
 *   Terms. l = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1),
 *          cs = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2),
 *   C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = data_range.
 *
 *   Scales. Scale 0 is the input; scale j+1 is scale j average-pooled 2x2 with stride 2; an odd
 *   side drops its last row/column (side floor(s/2)). (pytorch_msssim pads odd sides with a zero
 *   instead; for the even sides of IGD's inputs both agree.) With M scales,
 *     S_j = mean over the valid positions of cs_j        for j < M-1,
 *     S_{M-1} = mean over the valid positions of l * cs  (the product per pixel, then the mean),
 *   each clamped c_j = max(S_j, 0) (ReLU, as pytorch_msssim does, so fractional powers stay real;
 *   its gradient is 0 where S_j <= 0), and
 *     MS-SSIM = prod_j c_j^{w_j}  with w the first M configured weights divided by their sum,
 *   then the mean over channels. M = 1 is single-scale SSIM (mean of l * cs).
 *
 *   Automatic scales: the largest M <= 5 whose coarsest side min(h, w) >> (M-1) is >= W.
 *
 *   Gradient (backward, exact). With v = prod_j c_j^{w_j}, dv/dS_k = w_k c_k^{w_k - 1}
 *   prod_{j != k} c_j^{w_j} when S_k > 0, else 0 (computed without division, so a zero factor
 *   elsewhere gives 0, not NaN). dS_k/d(map pixel) = 1 / (number of valid positions). Per pixel,
 *   with A = 2 sigma_xy + C2, B = sigma_x^2 + sigma_y^2 + C2 (x constant):
 *     dcs/dmu_y = (2 mu_y cs - 2 mu_x) / B,  dcs/dE[y^2] = -cs / B,  dcs/dE[xy] = 2 / B,
 *     dl/dmu_y = (2 mu_x - 2 mu_y l) / (mu_x^2 + mu_y^2 + C1),
 *     d(l cs) = cs dl + l dcs.
 *   The three per-position gradients G_mu, G_yy, G_xy go back through the adjoint of the valid
 *   filtering (the full, transposed filter: columns, then rows), giving
 *     dy_j = F^T G_mu + 2 y_j (F^T G_yy) + x_j (F^T G_xy),
 *   and through the adjoint of the pooling (each coarse gradient spread as 1/4 onto its four
 *   source pixels; dropped rows/columns get nothing from coarser scales), coarsest scale first.
 *
 *   Map. The same terms with "same" filtering (borders replicated: the row or column index is
 *   clamped to the image) at each scale: cs_j for j < M-1, l cs at the coarsest; each clamped at
 *   0 and raised to its weight at its own resolution (a float power: the map is a float
 *   heatmap), upsampled bilinearly to h x w (pixel centres aligned: source coordinate
 *   (r + 0.5) / 2^j - 0.5, clamped to the edge), multiplied over the scales, then averaged over
 *   channels. Identical images give 1 everywhere.
 *
 * Numerics: inputs and the pooled pyramid are kept as float (the copy of level 0 is exact); every
 * filter, statistic, mean and gradient is computed in double (products of floats are exact in
 * double, so sigma^2 = E[y^2] - mu^2 does not lose the small variances of flat regions).
 *
 * Work: each plane (image x channel) is handled whole by one thread, streaming rows through ring
 * buffers of W filtered rows, so the working set of a thread is a few rows (plus, for backward
 * and maps, one coarse pyramid). Results do not depend on the number of threads. */
#include "loss/msssim.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"

enum { NSTAT = 5, NGRAD = 3, MAXS = LOSS_MSSSIM_MAX_SCALES };

typedef struct lerp {
    size_t i0, i1;
    double f;
} lerp;

struct loss_msssim {
    size_t n, c, h, w, planes;
    int window, scales;
    double c1, c2;
    double weight[MAXS];
    double *g; /* window taps */
    size_t sh[MAXS], sw[MAXS], off[MAXS];
    size_t pyr;     /* floats of one plane's pyramid (all scales) */
    float *px, *py; /* planes x pyr */
    double *means;  /* planes x MAXS: S_j of the last forward */
    int forwarded;
    lerp *rows[MAXS], *cols[MAXS]; /* bilinear tables of scales >= 1 (into one block) */
    lerp *lerps;
    int threads;
    size_t wp; /* padded row length: w + window - 1 */
    size_t wq; /* zero-padded T row length: w + 2 (window - 1) */
    size_t o_in5, o_ring, o_st5, o_gring, o_zero, o_tpad, o_d3, o_gacc, o_pmap, o_tmp, o_prod,
        o_mpyr;
    size_t stride; /* doubles per thread */
    double *scratch;
};

typedef struct scratch {
    double *in5, *ring, *st5, *gring, *zero, *tpad, *d3, *gacc, *pmap, *tmp, *prod;
    float *mpyr;
} scratch;

void loss_msssim_config_default(loss_msssim_config *cfg)
{
    static const double w5[MAXS] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
    cfg->window = 3;
    cfg->sigma = 1.5;
    cfg->scales = 0;
    memcpy(cfg->weights, w5, sizeof w5);
    cfg->data_range = 1.0;
}

/* ---- sizes ---------------------------------------------------------------------------------- */

/* Appends a region of `count` doubles (rounded to whole 64-byte lines) at *total. */
static int region(size_t *total, size_t count, size_t *offset)
{
    size_t rounded;
    if (!core_add_size(count, 7, &rounded))
        return 0;
    rounded &= ~(size_t)7;
    *offset = *total;
    return core_add_size(*total, rounded, total);
}

static int plan_scratch(loss_msssim *m)
{
    size_t W = (size_t)m->window, w = m->w, t = 0, in5, ring, st5, gring, tpad, d3;
    size_t coarse = m->pyr - m->sh[0] * m->sw[0]; /* the pyramid without level 0 */
    int ok = core_add_size(w, W - 1, &m->wp) && core_add_size(m->wp, W - 1, &m->wq) &&
             core_mul_size(m->wp, NSTAT, &in5) && core_mul4_size(W, NSTAT, w, 1, &ring) &&
             core_mul_size(w, NSTAT, &st5) && core_mul4_size(W, NGRAD, w, 1, &gring) &&
             core_mul_size(m->wq, NGRAD, &tpad) && core_mul_size(w, NGRAD, &d3);
    ok = ok && region(&t, in5, &m->o_in5) && region(&t, ring, &m->o_ring) &&
         region(&t, st5, &m->o_st5) && region(&t, gring, &m->o_gring) &&
         region(&t, w, &m->o_zero) && region(&t, tpad, &m->o_tpad) && region(&t, d3, &m->o_d3) &&
         region(&t, coarse, &m->o_gacc) && region(&t, m->pyr, &m->o_pmap) &&
         region(&t, w, &m->o_tmp) && region(&t, w, &m->o_prod) &&
         region(&t, coarse, &m->o_mpyr); /* two float pyramids in `coarse` doubles */
    m->stride = t;
    return ok;
}

static scratch scratch_at(const loss_msssim *m, int thread)
{
    double *base = m->scratch + (size_t)thread * m->stride;
    scratch s = {base + m->o_in5,  base + m->o_ring, base + m->o_st5,  base + m->o_gring,
                 base + m->o_zero, base + m->o_tpad, base + m->o_d3,   base + m->o_gacc,
                 base + m->o_pmap, base + m->o_tmp,  base + m->o_prod, (float *)(base + m->o_mpyr)};
    return s;
}

static int threads_now(const loss_msssim *m)
{
    int t = omp_get_max_threads();
    return t < m->threads ? (t > 0 ? t : 1) : m->threads;
}

/* ---- create / free -------------------------------------------------------------------------- */

void loss_msssim_free(loss_msssim *m)
{
    if (!m)
        return;
    core_free(m->g);
    core_free(m->lerps);
    core_free_aligned(m->px);
    core_free_aligned(m->py);
    core_free(m->means);
    core_free_aligned(m->scratch);
    core_free(m);
}

static void make_lerp(lerp *t, size_t full, size_t side, int j)
{
    double scale = 1.0 / (double)((size_t)1 << j);
    for (size_t r = 0; r < full; r++) {
        double s = ((double)r + 0.5) * scale - 0.5;
        if (s < 0)
            s = 0;
        size_t i0 = (size_t)s;
        if (i0 >= side - 1) {
            t[r] = (lerp){side - 1, side - 1, 0.0};
        } else {
            t[r] = (lerp){i0, i0 + 1, s - (double)i0};
        }
    }
}

static igd_status check_config(const loss_msssim_config *cfg, core_err *err)
{
    if (cfg->window < 1 || cfg->window > LOSS_MSSSIM_MAX_WINDOW || cfg->window % 2 == 0)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "MS-SSIM window must be odd, 1..%d (got %d)", LOSS_MSSSIM_MAX_WINDOW,
                         cfg->window);
    if (!(cfg->sigma > 0) || !isfinite(cfg->sigma))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "MS-SSIM sigma must be positive");
    if (!(cfg->data_range > 0) || !isfinite(cfg->data_range))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "MS-SSIM data range must be positive");
    if (cfg->scales < 0 || cfg->scales > MAXS)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "MS-SSIM scales must be 0..%d (got %d)",
                         MAXS, cfg->scales);
    return IGD_OK;
}

igd_status loss_msssim_create(const loss_msssim_config *cfg, size_t n, size_t c, size_t h, size_t w,
                              loss_msssim **out, core_err *err)
{
    if (out)
        *out = NULL;
    CORE_CHECK_ARG(err, cfg && out, "MS-SSIM plan: NULL argument");
    CORE_TRY(check_config(cfg, err));
    CORE_CHECK_ARG(err, n > 0 && c > 0 && h > 0 && w > 0, "MS-SSIM plan: zero size");
    size_t W = (size_t)cfg->window, planes, hw;
    CORE_CHECK_ARG(err, core_mul_size(n, c, &planes) && core_mul_size(h, w, &hw),
                   "MS-SSIM plan: sizes overflow");

    int most = 0;
    while (most < MAXS && (h >> most) >= W && (w >> most) >= W)
        most++;
    CORE_CHECK_ARG(err, most > 0, "MS-SSIM: %zu x %zu image smaller than the %zu-tap window", h, w,
                   W);
    int scales = cfg->scales ? cfg->scales : most;
    CORE_CHECK_ARG(err, scales <= most,
                   "MS-SSIM: %zu x %zu image too small for %d scales of a %zu-tap window (%d at "
                   "most)",
                   h, w, scales, W, most);
    double sum = 0;
    for (int j = 0; j < scales; j++) {
        CORE_CHECK_ARG(err, cfg->weights[j] >= 0 && isfinite(cfg->weights[j]),
                       "MS-SSIM weight %d must be finite and >= 0", j + 1);
        sum += cfg->weights[j];
    }
    CORE_CHECK_ARG(err, sum > 0 && isfinite(sum), "MS-SSIM weights of the scales used sum to 0");

    size_t pyr = 0, bytes, tmp;
    for (int j = 0; j < scales; j++)
        if (!core_add_size(pyr, (h >> j) * (w >> j), &pyr)) /* (h>>j)(w>>j) <= hw */
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "MS-SSIM plan: sizes overflow");
    CORE_CHECK_ARG(err,
                   core_mul4_size(planes, pyr, sizeof(float), 1, &bytes) &&
                       core_mul_size(planes, MAXS * sizeof(double), &tmp),
                   "MS-SSIM plan: sizes overflow");

    loss_msssim *m = core_calloc(1, sizeof *m);
    if (!m)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "MS-SSIM plan: out of memory");
    m->n = n;
    m->c = c;
    m->h = h;
    m->w = w;
    m->planes = planes;
    m->window = cfg->window;
    m->scales = scales;
    m->c1 = (0.01 * cfg->data_range) * (0.01 * cfg->data_range);
    m->c2 = (0.03 * cfg->data_range) * (0.03 * cfg->data_range);
    m->pyr = pyr;
    for (int j = 0; j < scales; j++) {
        m->weight[j] = cfg->weights[j] / sum;
        m->sh[j] = h >> j;
        m->sw[j] = w >> j;
        m->off[j] = j ? m->off[j - 1] + m->sh[j - 1] * m->sw[j - 1] : 0;
    }
    int threads = omp_get_max_threads();
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > planes)
        threads = (int)planes;
    m->threads = threads;

    size_t nlerp, hpw, sbytes;
    if (!core_add_size(h, w, &hpw) || !core_mul_size((size_t)(scales - 1), hpw, &nlerp) ||
        !plan_scratch(m) ||
        !core_mul4_size(m->stride, (size_t)threads, sizeof(double), 1, &sbytes)) {
        loss_msssim_free(m);
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "MS-SSIM plan: sizes overflow");
    }
    /* Stops at the first failure. */
    if (!(m->g = core_malloc_array(W, sizeof(double))) ||
        (nlerp && !(m->lerps = core_malloc_array(nlerp, sizeof(lerp)))) ||
        !(m->px = core_malloc_aligned(bytes)) || !(m->py = core_malloc_aligned(bytes)) ||
        !(m->means = core_calloc(planes, MAXS * sizeof(double))) ||
        !(m->scratch = core_malloc_aligned(sbytes))) {
        loss_msssim_free(m);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "MS-SSIM plan: out of memory");
    }

    double gs = 0, half = (double)(W / 2);
    for (size_t k = 0; k < W; k++) {
        double d = (double)k - half;
        m->g[k] = exp(-d * d / (2 * cfg->sigma * cfg->sigma));
        gs += m->g[k];
    }
    for (size_t k = 0; k < W; k++)
        m->g[k] /= gs;
    for (size_t k = 0; k < W / 2; k++) /* symmetric by construction; the adjoint relies on it */
        m->g[W - 1 - k] = m->g[k];
    for (int t = 0; t < threads; t++)
        memset(scratch_at(m, t).zero, 0, w * sizeof(double));
    lerp *l = m->lerps;
    for (int j = 1; j < scales; j++) {
        m->rows[j] = l;
        make_lerp(l, h, m->sh[j], j);
        l += h;
        m->cols[j] = l;
        make_lerp(l, w, m->sw[j], j);
        l += w;
    }
    *out = m;
    return IGD_OK;
}

int loss_msssim_scales(const loss_msssim *m)
{
    return m->scales;
}

double loss_msssim_weight(const loss_msssim *m, int j)
{
    return j >= 0 && j < m->scales ? m->weight[j] : 0.0;
}

/* ---- building blocks ------------------------------------------------------------------------ */

/* dst (dh x dw) = 2x2 means of src (sh x sw); a last odd row/column of src is dropped. */
static void pool(const float *restrict src, size_t sw, float *restrict dst, size_t dh, size_t dw)
{
    for (size_t r = 0; r < dh; r++) {
        const float *a = src + 2 * r * sw, *b = a + sw;
        float *d = dst + r * dw;
        for (size_t c = 0; c < dw; c++)
            d[c] = (float)(0.25 *
                           (((double)a[2 * c] + a[2 * c + 1]) + ((double)b[2 * c] + b[2 * c + 1])));
    }
}

/* One image row at a scale, as the five rows x, y, x^2, y^2, xy (stride wp), padded by `pad`
 * replicated pixels on each side. */
static void load_row(const float *restrict x, const float *restrict y, size_t len, size_t pad,
                     double *restrict in, size_t stride)
{
    double *ix = in, *iy = in + stride, *ixx = in + 2 * stride, *iyy = in + 3 * stride,
           *ixy = in + 4 * stride;
    size_t total = len + 2 * pad;
    for (size_t p = 0; p < pad; p++) {
        ix[p] = x[0];
        iy[p] = y[0];
        ix[pad + len + p] = x[len - 1];
        iy[pad + len + p] = y[len - 1];
    }
    for (size_t p = 0; p < len; p++) {
        ix[pad + p] = x[p];
        iy[pad + p] = y[p];
    }
    for (size_t p = 0; p < total; p++) {
        double a = ix[p], b = iy[p];
        ixx[p] = a * a;
        iyy[p] = b * b;
        ixy[p] = a * b;
    }
}

/* The two filters every pass is made of, written so that the taps sum in registers and the
 * loop over columns vectorises; inlined with a constant W for the usual windows. */
static inline __attribute__((always_inline)) void shift_w(const double *restrict s,
                                                          const double *restrict g, size_t W,
                                                          size_t n, double *restrict out)
{
    for (size_t c = 0; c < n; c++) {
        double a = 0;
        for (size_t k = 0; k < W; k++)
            a += g[k] * s[c + k];
        out[c] = a;
    }
}

static inline __attribute__((always_inline)) void rows_w(const double *const *rows,
                                                         const double *restrict g, size_t W,
                                                         size_t n, double *restrict out)
{
    for (size_t c = 0; c < n; c++) {
        double a = 0;
        for (size_t k = 0; k < W; k++)
            a += g[k] * rows[k][c];
        out[c] = a;
    }
}

#define BY_WINDOW(W, call)                                                                         \
    switch (W) {                                                                                   \
    case 3:                                                                                        \
        call(3);                                                                                   \
        break;                                                                                     \
    case 5:                                                                                        \
        call(5);                                                                                   \
        break;                                                                                     \
    case 7:                                                                                        \
        call(7);                                                                                   \
        break;                                                                                     \
    case 11:                                                                                       \
        call(11);                                                                                  \
        break;                                                                                     \
    default:                                                                                       \
        call(W);                                                                                   \
    }

/* out[c] = sum_k g[k] s[c + k], c < n ("valid" filtering of a row). */
static void filt_shift(const double *s, const double *g, size_t W, size_t n, double *out)
{
#define CALL(K) shift_w(s, g, K, n, out)
    BY_WINDOW(W, CALL)
#undef CALL
}

/* out[c] = sum_k g[k] rows[k][c], c < n (one row of filtering across rows). */
static void filt_rows(const double *const *rows, const double *g, size_t W, size_t n, double *out)
{
#define CALL(K) rows_w(rows, g, K, n, out)
    BY_WINDOW(W, CALL)
#undef CALL
}

/* A scale seen through the window: rows of statistics streamed through a ring of W rows. */
typedef struct stream {
    const loss_msssim *m;
    const float *x, *y;
    size_t hh, ww, pad, oh, ow;
    double *in5, *ring;
} stream;

static void stream_init(stream *s, const loss_msssim *m, const scratch *t, const float *x,
                        const float *y, size_t hh, size_t ww, int same)
{
    size_t W = (size_t)m->window;
    s->m = m;
    s->x = x;
    s->y = y;
    s->hh = hh;
    s->ww = ww;
    s->pad = same ? W / 2 : 0;
    s->oh = same ? hh : hh - W + 1;
    s->ow = same ? ww : ww - W + 1;
    s->in5 = t->in5;
    s->ring = t->ring;
}

/* Filters padded row p horizontally into its ring slot. */
static void stream_load(const stream *s, size_t p)
{
    const loss_msssim *m = s->m;
    size_t W = (size_t)m->window;
    size_t r = p < s->pad ? 0 : p - s->pad;
    if (r >= s->hh)
        r = s->hh - 1;
    load_row(s->x + r * s->ww, s->y + r * s->ww, s->ww, s->pad, s->in5, m->wp);
    double *slot = s->ring + (p % W) * NSTAT * m->w;
    for (int q = 0; q < NSTAT; q++)
        filt_shift(s->in5 + (size_t)q * m->wp, m->g, W, s->ow, slot + (size_t)q * m->w);
}

/* Output row i of the five statistics into st (stride w); rows must be asked for in order. */
static void stream_row(const stream *s, size_t i, double *restrict st)
{
    const loss_msssim *m = s->m;
    size_t W = (size_t)m->window, w = m->w, ow = s->ow;
    if (i == 0)
        for (size_t p = 0; p + 1 < W; p++)
            stream_load(s, p);
    stream_load(s, i + W - 1);
    const double *rows[LOSS_MSSSIM_MAX_WINDOW];
    for (int q = 0; q < NSTAT; q++) {
        for (size_t k = 0; k < W; k++)
            rows[k] = s->ring + ((i + k) % W) * NSTAT * w + (size_t)q * w;
        filt_rows(rows, m->g, W, ow, st + (size_t)q * w);
    }
}

/* Sum over a row of cs (or of l cs when `last`). */
static double row_sum(const double *restrict st, size_t w, size_t ow, double c1, double c2,
                      int last)
{
    const double *mx = st, *my = st + w, *exx = st + 2 * w, *eyy = st + 3 * w, *exy = st + 4 * w;
    double sum = 0;
    if (last) {
#pragma omp simd reduction(+ : sum)
        for (size_t c = 0; c < ow; c++) {
            double a = mx[c], b = my[c];
            double cs = (2 * (exy[c] - a * b) + c2) / ((exx[c] - a * a) + (eyy[c] - b * b) + c2);
            double l = (2 * a * b + c1) / (a * a + b * b + c1);
            sum += l * cs;
        }
    } else {
#pragma omp simd reduction(+ : sum)
        for (size_t c = 0; c < ow; c++) {
            double a = mx[c], b = my[c];
            sum += (2 * (exy[c] - a * b) + c2) / ((exx[c] - a * a) + (eyy[c] - b * b) + c2);
        }
    }
    return sum;
}

/* One plane's pyramid: level 0 copied from x, y, the others pooled. */
static void build_pyramid(const loss_msssim *m, const float *x, const float *y, float *px,
                          float *py)
{
    memcpy(px, x, m->h * m->w * sizeof(float));
    memcpy(py, y, m->h * m->w * sizeof(float));
    for (int j = 1; j < m->scales; j++) {
        pool(px + m->off[j - 1], m->sw[j - 1], px + m->off[j], m->sh[j], m->sw[j]);
        pool(py + m->off[j - 1], m->sw[j - 1], py + m->off[j], m->sh[j], m->sw[j]);
    }
}

static double plane_value(const loss_msssim *m, const double *S)
{
    double v = 1;
    for (int j = 0; j < m->scales; j++)
        v *= pow(S[j] > 0 ? S[j] : 0.0, m->weight[j]);
    return v;
}

/* ---- forward -------------------------------------------------------------------------------- */

void loss_msssim_forward(loss_msssim *m, const float *x, const float *y, double *values)
{
    size_t hw = m->h * m->w;
    int nt = threads_now(m);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t p = 0; p < m->planes; p++) {
        scratch t = scratch_at(m, omp_get_thread_num());
        float *px = m->px + p * m->pyr, *py = m->py + p * m->pyr;
        build_pyramid(m, x + p * hw, y + p * hw, px, py);
        for (int j = 0; j < m->scales; j++) {
            stream s;
            stream_init(&s, m, &t, px + m->off[j], py + m->off[j], m->sh[j], m->sw[j], 0);
            int last = j == m->scales - 1;
            double sum = 0;
            for (size_t i = 0; i < s.oh; i++) {
                stream_row(&s, i, t.st5);
                sum += row_sum(t.st5, m->w, s.ow, m->c1, m->c2, last);
            }
            m->means[p * MAXS + (size_t)j] = sum / ((double)s.oh * (double)s.ow);
        }
    }
    for (size_t i = 0; i < m->n; i++) {
        double v = 0;
        for (size_t ch = 0; ch < m->c; ch++)
            v += plane_value(m, m->means + (i * m->c + ch) * MAXS);
        values[i] = v / (double)m->c;
    }
    m->forwarded = 1;
}

/* ---- backward ------------------------------------------------------------------------------- */

/* G rows (stride w): gradients of the per-position term, times a, with respect to mu_y, E[y^2]
 * and E[xy]. */
static void grad_row(const double *restrict st, size_t w, size_t ow, double c1, double c2, int last,
                     double a, double *restrict gr)
{
    const double *mx = st, *my = st + w, *exx = st + 2 * w, *eyy = st + 3 * w, *exy = st + 4 * w;
    double *gmu = gr, *gyy = gr + w, *gxy = gr + 2 * w;
    if (last) {
#pragma omp simd
        for (size_t c = 0; c < ow; c++) {
            double u = mx[c], v = my[c];
            double ib = 1.0 / ((exx[c] - u * u) + (eyy[c] - v * v) + c2);
            double cs = (2 * (exy[c] - u * v) + c2) * ib;
            double ibl = 1.0 / (u * u + v * v + c1);
            double l = (2 * u * v + c1) * ibl;
            double dl = 2 * (u - v * l) * ibl;
            gmu[c] = a * (cs * dl + l * 2 * (v * cs - u) * ib);
            gyy[c] = -a * l * cs * ib;
            gxy[c] = 2 * a * l * ib;
        }
    } else {
#pragma omp simd
        for (size_t c = 0; c < ow; c++) {
            double u = mx[c], v = my[c];
            double ib = 1.0 / ((exx[c] - u * u) + (eyy[c] - v * v) + c2);
            double cs = (2 * (exy[c] - u * v) + c2) * ib;
            gmu[c] = 2 * a * (v * cs - u) * ib;
            gyy[c] = -a * cs * ib;
            gxy[c] = 2 * a * ib;
        }
    }
}

/* Row t of scale j's gradient: the column adjoint of the G rows (a ring of W rows, G row i in
 * slot i % W, zero outside 0..oh-1) into the zero-padded T rows, then the row adjoint (the same
 * valid filter over the padded rows, the window being symmetric), combined with x and y; then the
 * pooling adjoint of scale j+1 is added and the row is stored (double for j >= 1, float for
 * j = 0). Without `direct` only the pooling adjoint is stored. */
static void finish_row(const loss_msssim *m, const scratch *s, int j, size_t t, size_t oh,
                       size_t ow, const float *xj, const float *yj, const double *coarse, void *dst,
                       int direct)
{
    size_t W = (size_t)m->window, w = m->w, ww = m->sw[j], wq = m->wq;
    double *d0 = s->d3, *d1 = s->d3 + w, *d2 = s->d3 + 2 * w;
    if (direct) {
        const double *rows[LOSS_MSSSIM_MAX_WINDOW];
        for (int q = 0; q < NGRAD; q++) {
            for (size_t k = 0; k < W; k++)
                rows[k] = t >= k && t - k < oh
                              ? s->gring + ((t - k) % W) * NGRAD * w + (size_t)q * w
                              : s->zero;
            double *tq = s->tpad + (size_t)q * wq;
            filt_rows(rows, m->g, W, ow, tq + (W - 1));
            filt_shift(tq, m->g, W, ww, s->d3 + (size_t)q * w);
        }
        const float *xr = xj + t * ww, *yr = yj + t * ww;
        for (size_t c = 0; c < ww; c++)
            d0[c] += 2 * (double)yr[c] * d1[c] + (double)xr[c] * d2[c];
    } else {
        memset(d0, 0, ww * sizeof(double));
    }
    if (coarse && t / 2 < m->sh[j + 1]) {
        const double *a = coarse + (t / 2) * m->sw[j + 1];
        for (size_t c = 0; c < m->sw[j + 1]; c++) {
            d0[2 * c] += 0.25 * a[c];
            d0[2 * c + 1] += 0.25 * a[c];
        }
    }
    if (j > 0) {
        memcpy((double *)dst + t * ww, d0, ww * sizeof(double));
    } else {
        float *o = (float *)dst + t * ww;
        for (size_t c = 0; c < ww; c++)
            o[c] = (float)d0[c];
    }
}

/* The weights of the scales' mean terms in d(coef * value)/dS_k, divided by the positions. */
static void scale_factors(const loss_msssim *m, const double *S, double coef, double *a)
{
    double cl[MAXS];
    for (int j = 0; j < m->scales; j++)
        cl[j] = S[j] > 0 ? S[j] : 0.0;
    for (int k = 0; k < m->scales; k++) {
        a[k] = 0;
        if (!(S[k] > 0) || m->weight[k] == 0 || coef == 0)
            continue;
        double d = m->weight[k] * pow(cl[k], m->weight[k] - 1);
        for (int j = 0; j < m->scales; j++)
            if (j != k)
                d *= pow(cl[j], m->weight[j]);
        size_t W = (size_t)m->window;
        double positions = (double)(m->sh[k] - W + 1) * (double)(m->sw[k] - W + 1);
        a[k] = coef * d / positions;
    }
}

void loss_msssim_backward(loss_msssim *m, const double *coef, float *dy)
{
    size_t hw = m->h * m->w;
    if (!m->forwarded) {
        memset(dy, 0, m->planes * hw * sizeof(float));
        return;
    }
    int nt = threads_now(m);
    size_t W = (size_t)m->window;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t p = 0; p < m->planes; p++) {
        scratch t = scratch_at(m, omp_get_thread_num());
        const float *px = m->px + p * m->pyr, *py = m->py + p * m->pyr;
        double a[MAXS];
        scale_factors(m, m->means + p * MAXS, coef[p / m->c] / (double)m->c, a);
        size_t w = m->w;
        for (int j = m->scales - 1; j >= 0; j--) {
            const float *xj = px + m->off[j], *yj = py + m->off[j];
            const double *coarse = j + 1 < m->scales ? t.gacc + (m->off[j + 1] - m->off[1]) : NULL;
            void *dst = j > 0 ? (void *)(t.gacc + (m->off[j] - m->off[1])) : (void *)(dy + p * hw);
            size_t hh = m->sh[j];
            if (a[j] == 0) {
                for (size_t r = 0; r < hh; r++)
                    finish_row(m, &t, j, r, 0, 0, xj, yj, coarse, dst, 0);
                continue;
            }
            stream s;
            stream_init(&s, m, &t, xj, yj, hh, m->sw[j], 0);
            int last = j == m->scales - 1;
            /* The padding of the T rows stays zero. */
            memset(t.tpad, 0, NGRAD * m->wq * sizeof(double));
            for (size_t i = 0; i < s.oh; i++) {
                stream_row(&s, i, t.st5);
                grad_row(t.st5, w, s.ow, m->c1, m->c2, last, a[j], t.gring + (i % W) * NGRAD * w);
                finish_row(m, &t, j, i, s.oh, s.ow, xj, yj, coarse, dst, 1);
            }
            for (size_t r = s.oh; r < hh; r++)
                finish_row(m, &t, j, r, s.oh, s.ow, xj, yj, coarse, dst, 1);
        }
    }
}

/* ---- maps ----------------------------------------------------------------------------------- */

static void map_row(const double *restrict st, size_t w, size_t ow, double c1, double c2, int last,
                    double weight, double *restrict out)
{
    const double *mx = st, *my = st + w, *exx = st + 2 * w, *eyy = st + 3 * w, *exy = st + 4 * w;
    for (size_t c = 0; c < ow; c++) {
        double a = mx[c], b = my[c];
        double v = (2 * (exy[c] - a * b) + c2) / ((exx[c] - a * a) + (eyy[c] - b * b) + c2);
        if (last)
            v *= (2 * a * b + c1) / (a * a + b * b + c1);
        out[c] = v;
    }
    float wf = (float)weight; /* the map is a float heatmap: float powers are ample */
    for (size_t c = 0; c < ow; c++) {
        double v = out[c];
        out[c] = v > 0 ? (v == 1 ? 1.0 : (double)powf((float)v, wf)) : (weight == 0 ? 1.0 : 0.0);
    }
}

void loss_msssim_map(loss_msssim *m, const float *x, const float *y, float *map)
{
    size_t hw = m->h * m->w, h = m->h, w = m->w;
    int nt = threads_now(m);
    if ((size_t)nt > m->n)
        nt = (int)m->n;
    double inv_c = 1.0 / (double)m->c;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t i = 0; i < m->n; i++) {
        scratch t = scratch_at(m, omp_get_thread_num());
        float *out = map + i * hw;
        for (size_t ch = 0; ch < m->c; ch++) {
            size_t p = i * m->c + ch;
            const float *lx[MAXS], *ly[MAXS];
            lx[0] = x + p * hw;
            ly[0] = y + p * hw;
            size_t coarse = m->pyr - hw;
            for (int j = 1; j < m->scales; j++) {
                float *dx = t.mpyr + (m->off[j] - hw), *dy = t.mpyr + coarse + (m->off[j] - hw);
                pool(lx[j - 1], m->sw[j - 1], dx, m->sh[j], m->sw[j]);
                pool(ly[j - 1], m->sw[j - 1], dy, m->sh[j], m->sw[j]);
                lx[j] = dx;
                ly[j] = dy;
            }
            for (int j = 0; j < m->scales; j++) {
                stream s;
                stream_init(&s, m, &t, lx[j], ly[j], m->sh[j], m->sw[j], 1);
                int last = j == m->scales - 1;
                for (size_t r = 0; r < s.oh; r++) {
                    stream_row(&s, r, t.st5);
                    map_row(t.st5, w, s.ow, m->c1, m->c2, last, m->weight[j],
                            t.pmap + m->off[j] + r * s.ow);
                }
            }
            for (size_t r = 0; r < h; r++) {
                double *prod = t.prod;
                memcpy(prod, t.pmap + r * w, w * sizeof(double));
                for (int j = 1; j < m->scales; j++) {
                    const double *pj = t.pmap + m->off[j];
                    size_t sw = m->sw[j];
                    lerp lr = m->rows[j][r];
                    const double *r0 = pj + lr.i0 * sw, *r1 = pj + lr.i1 * sw;
                    for (size_t c = 0; c < sw; c++)
                        t.tmp[c] = r0[c] + lr.f * (r1[c] - r0[c]);
                    const lerp *lc = m->cols[j];
                    for (size_t c = 0; c < w; c++) {
                        double a = t.tmp[lc[c].i0], b = t.tmp[lc[c].i1];
                        prod[c] *= a + lc[c].f * (b - a);
                    }
                }
                float *o = out + r * w;
                if (ch == 0) {
                    for (size_t c = 0; c < w; c++)
                        o[c] = (float)(prod[c] * inv_c);
                } else {
                    for (size_t c = 0; c < w; c++)
                        o[c] = (float)(o[c] + prod[c] * inv_c);
                }
            }
        }
    }
}

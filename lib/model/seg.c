/* The segmentation head: parameters, training step and tiled inference (see seg.h). */
#include "model/seg.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/resample.h"
#include "loss/focal.h"
#include "model/model.h"

bool mdl_seg_exists(const igd_model *m)
{
    return m->seg.arch.width > 0;
}

igd_status mdl_seg_create(igd_model *m, core_err *err)
{
    mdl_seg *seg = &m->seg;
    seg->arch = m->cfg.seg;
    if (!mdl_seg_exists(m))
        return IGD_OK;
    const mdl_arch *a = &seg->arch;
    nn_graph *g;
    CORE_TRY(nn_graph_create(&m->ctx, &seg->params, NN_INFER, 1, &g, err));
    mdl_segnet(g, nn_input(g, a->channels, a->size, a->size, false), a);
    igd_status st = nn_graph_status(g, err);
    nn_graph_free(g);
    CORE_TRY(st);
    core_rng seeds;
    core_rng_seed(&seeds, m->cfg.seed * 2 + 0x5e9);
    return nn_params_commit(&seg->params, core_rng_next(&seeds), err);
}

static void trainer_free(mdl_seg_trainer *t)
{
    if (!t)
        return;
    nn_graph_free(t->g);
    core_free_aligned(t->dlogits);
    core_free(t->stats);
    core_free(t);
}

void mdl_seg_fini(mdl_seg *seg)
{
    trainer_free(seg->trainer);
    nn_params_fini(&seg->params);
    memset(seg, 0, sizeof *seg);
}

void mdl_seg_scaled_size(const igd_model *m, size_t width, size_t height, size_t *sw, size_t *sh)
{
    const double s = m->cfg.seg_scale;
    double w = floor((double)width * s + 0.5), h = floor((double)height * s + 0.5);
    *sw = w < 1 ? 1 : (size_t)w;
    *sh = h < 1 ? 1 : (size_t)h;
}

void mdl_seg_preprocess(const igd_model *m, const io_view *v, size_t sw, size_t sh, float *out)
{
    const size_t ch = (size_t)m->cfg.channels;
    io_view_to_planar(v, ch, sw, sh, out);
    mdl_standardize(out, ch * sw * sh, m->cfg.standardize);
}

/* Pixels in 0..1 -> the network's input (the model's pixel normalisation), n planes of size
 * plane per channel. */
static void normalize(const igd_model *m, const float *pix, float *out, size_t n, size_t plane)
{
    const int ch = m->cfg.channels;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            const float mean = (float)m->mean[c], inv = (float)(1.0 / m->std[c]);
            const float *p = pix + (i * (size_t)ch + (size_t)c) * plane;
            float *o = out + (i * (size_t)ch + (size_t)c) * plane;
            for (size_t k = 0; k < plane; k++)
                o[k] = (p[k] - mean) * inv;
        }
}

/* ---- training ---- */

static igd_status trainer_for(igd_model *m, int n, core_err *err)
{
    mdl_seg *seg = &m->seg;
    if (seg->trainer && seg->trainer->batch == n)
        return IGD_OK;
    trainer_free(seg->trainer);
    seg->trainer = NULL;
    const mdl_arch *a = &seg->arch;
    mdl_seg_trainer *t = core_calloc(1, sizeof *t);
    if (!t)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating the head's trainer");
    t->batch = n;
    size_t bytes = 0;
    igd_status st = IGD_OK;
    if (!core_mul4_size((size_t)n, (size_t)a->size, (size_t)a->size, sizeof(float), &bytes))
        st = core_fail(err, IGD_ERR_INVALID_ARGUMENT, "the head's training batch is too large");
    if (st == IGD_OK)
        st = nn_graph_create(&m->ctx, &seg->params, NN_TRAIN, n, &t->g, err);
    if (st == IGD_OK) {
        t->x = nn_input(t->g, a->channels, a->size, a->size, false);
        t->logits = mdl_segnet(t->g, t->x, a);
        st = nn_graph_status(t->g, err);
    }
    if (st == IGD_OK)
        st = nn_graph_finalize(t->g, err);
    if (st == IGD_OK && !(t->dlogits = core_malloc_aligned(bytes)))
        st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating the head's gradients");
    if (st == IGD_OK &&
        !(t->stats = core_malloc_array(nn_params_stats_count(&seg->params) + 1, sizeof(float))))
        st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating the head's statistics");
    if (st != IGD_OK) {
        trainer_free(t);
        return st;
    }
    seg->trainer = t;
    return IGD_OK;
}

igd_status mdl_seg_train_step(igd_model *m, int n, const float *crops, const float *masks,
                              double lr, double *loss, core_err *err)
{
    if (!mdl_seg_exists(m))
        return core_fail(err, IGD_ERR_STATE, "the model has no segmentation head");
    CORE_TRY(trainer_for(m, n, err));
    mdl_seg *seg = &m->seg;
    mdl_seg_trainer *t = seg->trainer;
    const size_t plane = (size_t)seg->arch.size * (size_t)seg->arch.size;
    normalize(m, crops, nn_data(t->g, t->x), (size_t)n, plane);
    /* Nothing changes unless the loss, every gradient and every running statistic is finite. */
    nn_params_stats_save(&seg->params, t->stats);
    igd_status st = nn_graph_forward(t->g, err);
    const size_t count = (size_t)n * plane;
    float *dl = nn_diff(t->g, t->logits);
    double value = 0;
    if (st == IGD_OK) {
        value = loss_focal(nn_data(t->g, t->logits), masks, count, m->cfg.seg_gamma, 1.0, 1.0, dl);
        st = nn_graph_backward(t->g, &t->logits, 1, true, err);
    }
    if (st == IGD_OK && (!isfinite(value) || !nn_params_finite(&seg->params, true, false)))
        st = core_fail(err, IGD_ERR_NUMERIC,
                       "training of the segmentation head diverged after %llu steps: its loss, "
                       "a gradient or a running statistic is not finite; the head keeps its "
                       "last state (a lower seg_learning_rate may help)",
                       (unsigned long long)seg->steps);
    if (st != IGD_OK) {
        nn_params_stats_restore(&seg->params, t->stats);
        return st;
    }
    nn_adam opt = {lr, m->cfg.ae_opt.beta1, m->cfg.ae_opt.beta2, 1e-8, 0};
    nn_adam_step(&seg->params, &opt);
    seg->steps++;
    *loss = value;
    return IGD_OK;
}

/* ---- inference ---- */

void mdl_seg_infer_free(mdl_seg_infer *inf)
{
    if (!inf)
        return;
    for (int i = 0; i < 2; i++)
        nn_graph_free(inf->g[i]);
    core_free_aligned(inf->image);
    core_free_aligned(inf->map);
    core_free_aligned(inf->blur);
    core_free(inf);
}

igd_status mdl_seg_infer_create(igd_model *m, nn_ctx *ctx, mdl_seg_infer **out, core_err *err)
{
    *out = NULL;
    mdl_seg_infer *inf = core_calloc(1, sizeof *inf);
    if (!inf)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating the head's inference workspace");
    mdl_arch a = m->seg.arch;
    igd_status st = IGD_OK;
    for (int i = 0; i < 2 && st == IGD_OK; i++) {
        a.size = m->seg.arch.size << i;
        inf->side[i] = a.size;
        st = nn_graph_create(ctx, &m->seg.params, NN_INFER, 1, &inf->g[i], err);
        if (st == IGD_OK) {
            inf->x[i] = nn_input(inf->g[i], a.channels, a.size, a.size, false);
            inf->logits[i] = mdl_segnet(inf->g[i], inf->x[i], &a);
            st = nn_graph_status(inf->g[i], err);
        }
        if (st == IGD_OK)
            st = nn_graph_finalize(inf->g[i], err);
    }
    if (st != IGD_OK) {
        mdl_seg_infer_free(inf);
        return st;
    }
    *out = inf;
    return IGD_OK;
}

static igd_status reserve(float **buf, size_t *cap, size_t floats, core_err *err)
{
    if (floats <= *cap)
        return IGD_OK;
    size_t bytes;
    if (!core_mul_size(floats, sizeof(float), &bytes))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "the image is too large for the head");
    float *p = core_malloc_aligned(bytes);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating the head's image buffers");
    core_free_aligned(*buf);
    *buf = p;
    *cap = floats;
    return IGD_OK;
}

/* Index i (any integer) mirrored into 0..n-1 (n >= 1), the edge pixel not repeated. */
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

/* Tiles of `tile` along an axis of n pixels: count, and offsets (the last touches the end);
 * each keeps its centre, less `margin` on every side that is not the image's edge. */
static size_t tile_count(size_t n, size_t tile, size_t margin)
{
    if (n <= tile)
        return 1;
    const size_t stride = tile - 2 * margin;
    return (n - tile + stride - 1) / stride + 1;
}

static size_t tile_offset(size_t n, size_t tile, size_t margin, size_t i)
{
    if (n <= tile)
        return 0;
    size_t o = i * (tile - 2 * margin);
    return o > n - tile ? n - tile : o;
}

/* Runs one tile whose top-left corner is (oy, ox) (it may reach past the image, which is then
 * mirrored) and adds its probabilities, within [y0, y1) x [x0, x1), to the map. */
static igd_status run_tile(igd_model *m, mdl_seg_infer *inf, int g, size_t sw, size_t sh, size_t oy,
                           size_t ox, size_t y0, size_t y1, size_t x0, size_t x1, core_err *err)
{
    const size_t side = (size_t)inf->side[g], ch = (size_t)m->cfg.channels;
    const size_t plane = sw * sh;
    float *in = nn_data(inf->g[g], inf->x[g]);
    for (size_t c = 0; c < ch; c++) {
        const float mean = (float)m->mean[c], scale = (float)(1.0 / m->std[c]);
        const float *src = inf->image + c * plane;
        for (size_t y = 0; y < side; y++) {
            const float *row = src + mirror((long)(oy + y), (long)sh) * sw;
            float *dst = in + (c * side + y) * side;
            if (ox + side <= sw)
                for (size_t x = 0; x < side; x++)
                    dst[x] = (row[ox + x] - mean) * scale;
            else
                for (size_t x = 0; x < side; x++)
                    dst[x] = (row[mirror((long)(ox + x), (long)sw)] - mean) * scale;
        }
    }
    CORE_TRY(nn_graph_forward(inf->g[g], err));
    const float *logit = nn_data(inf->g[g], inf->logits[g]);
    for (size_t y = y0; y < y1; y++)
        for (size_t x = x0; x < x1; x++) {
            const float l = logit[(y - oy) * side + (x - ox)];
            inf->map[y * sw + x] += 1.0f / (1.0f + expf(-l));
            inf->blur[y * sw + x] += 1.0f; /* coverage */
        }
    return IGD_OK;
}

/* Covers the scaled image with tiles of graph g. */
static igd_status cover(igd_model *m, mdl_seg_infer *inf, int g, size_t sw, size_t sh,
                        core_err *err)
{
    const size_t side = (size_t)inf->side[g], margin = side / 8;
    const size_t rows = tile_count(sh, side, margin), cols = tile_count(sw, side, margin);
    for (size_t r = 0; r < rows; r++) {
        const size_t oy = tile_offset(sh, side, margin, r);
        const size_t y0 = oy == 0 ? 0 : oy + margin;
        const size_t y1 = oy + side >= sh ? sh : oy + side - margin;
        for (size_t c = 0; c < cols; c++) {
            const size_t ox = tile_offset(sw, side, margin, c);
            const size_t x0 = ox == 0 ? 0 : ox + margin;
            const size_t x1 = ox + side >= sw ? sw : ox + side - margin;
            CORE_TRY(run_tile(m, inf, g, sw, sh, oy, ox, y0, y1, x0, x1, err));
        }
    }
    return IGD_OK;
}

/* Tile pixels graph g computes to cover the scaled image. */
static double cover_cost(const mdl_seg_infer *inf, int g, size_t sw, size_t sh)
{
    const size_t side = (size_t)inf->side[g], margin = side / 8;
    return (double)tile_count(sh, side, margin) * (double)tile_count(sw, side, margin) *
           (double)side * (double)side;
}

igd_status mdl_seg_map(igd_model *m, mdl_seg_infer *inf, const io_view *v, const float **map,
                       size_t *sw, size_t *sh, core_err *err)
{
    size_t w, h, plane, floats;
    mdl_seg_scaled_size(m, v->width, v->height, &w, &h);
    if (!core_mul_size(w, h, &plane) || !core_mul_size(plane, (size_t)m->cfg.channels, &floats))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "the image is too large for the head");
    CORE_TRY(reserve(&inf->image, &inf->image_cap, floats, err));
    CORE_TRY(reserve(&inf->map, &inf->map_cap, plane, err));
    CORE_TRY(reserve(&inf->blur, &inf->blur_cap, plane, err));
    mdl_seg_preprocess(m, v, w, h, inf->image);
    memset(inf->map, 0, plane * sizeof(float));
    memset(inf->blur, 0, plane * sizeof(float));
    const int g = cover_cost(inf, 1, w, h) < cover_cost(inf, 0, w, h) ? 1 : 0;
    igd_status st = cover(m, inf, g, w, h, err);
    for (size_t k = 0; k < plane && st == IGD_OK; k++)
        inf->map[k] = inf->blur[k] > 0 ? inf->map[k] / inf->blur[k] : 0.0f;
    CORE_TRY(st);
    *map = inf->map;
    *sw = w;
    *sh = h;
    return IGD_OK;
}

igd_status mdl_seg_term(igd_model *m, mdl_seg_infer *inf, const float *map, size_t sw, size_t sh,
                        double *term, core_err *err)
{
    const size_t plane = sw * sh;
    const size_t scratch = io_plane_blur_scratch(sw, sh, m->cfg.seg_smooth);
    size_t need;
    if (scratch == SIZE_MAX || !core_add_size(plane, scratch, &need))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "the image is too large for the head");
    CORE_TRY(reserve(&inf->blur, &inf->blur_cap, need, err));
    memcpy(inf->blur, map, plane * sizeof(float));
    io_plane_blur(inf->blur, sw, sh, m->cfg.seg_smooth, inf->blur + plane);
    float best = 0.0f;
    for (size_t k = 0; k < plane; k++)
        best = inf->blur[k] > best ? inf->blur[k] : best;
    *term = best;
    return IGD_OK;
}

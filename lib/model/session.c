#include "model/session.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/resample.h"

enum { GLOBAL_BATCH = 16, LOCAL_BATCH = MDL_LOCAL_BATCH, FEW = 4 };

void mdl_session_free(igd_session *s)
{
    if (!s)
        return;
    mdl_infer_free(s->single);
    mdl_seg_infer_free(s->seg);
    for (int i = 0; i < MDL_NETS; i++) {
        mdl_infer_free(s->inf[i]);
        core_free_aligned(s->maps[i]);
    }
    core_free_aligned(s->image);
    core_free_aligned(s->global_scratch);
    core_free_aligned(s->acc);
    core_free_aligned(s->cnt);
    core_free_aligned(s->scratch);
    api_views_free(&s->views);
    core_free(s->parts);
    nn_ctx_fini(&s->ctx);
    igd_model *m = s->model;
    core_free(s);
    mdl_release(m);
}

static float *alloc_floats(size_t a, size_t b, size_t c)
{
    size_t bytes;
    if (!core_mul4_size(a, b, c, sizeof(float), &bytes))
        return NULL;
    return core_malloc_aligned(bytes);
}

igd_status mdl_session_create(igd_model *m, igd_session **out, core_err *err)
{
    *out = NULL;
    igd_session *s = core_calloc(1, sizeof *s);
    if (!s)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a session");
    s->model = m;
    mdl_retain(m);
    igd_status st = nn_ctx_init(&s->ctx, err);
    s->ctx.wino_infer = m->cfg.wino_infer;
    for (int i = 0; i < MDL_NETS && st == IGD_OK; i++) {
        if (!mdl_has(m, i))
            continue;
        int batch = i == MDL_GLOBAL ? GLOBAL_BATCH : LOCAL_BATCH;
        st = mdl_infer_create(m, i, &s->ctx, batch, &s->inf[i], err);
        int side = m->cfg.arch[i].size;
        if (st == IGD_OK && !(s->maps[i] = alloc_floats((size_t)batch, (size_t)side, (size_t)side)))
            st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating session maps");
    }
    if (st == IGD_OK && mdl_has(m, MDL_GLOBAL))
        st = mdl_infer_create(m, MDL_GLOBAL, &s->ctx, 1, &s->single, err);
    if (st == IGD_OK && mdl_seg_exists(m))
        st = mdl_seg_infer_create(m, &s->ctx, &s->seg, err);
    if (st == IGD_OK && mdl_has(m, MDL_LOCAL)) {
        /* Sized for the square; with local_scale they grow to the largest image seen. */
        size_t side = (size_t)m->cfg.image_size, plane = side * side;
        st = mdl_grow(&s->image, &s->image_cap, plane * (size_t)m->cfg.channels, err);
        if (st == IGD_OK)
            st = mdl_grow(&s->acc, &s->acc_cap, plane, err);
        if (st == IGD_OK)
            st = mdl_grow(&s->cnt, &s->cnt_cap, plane, err);
    }
    if (st == IGD_OK && mdl_has(m, MDL_GLOBAL)) {
        size_t side = (size_t)m->cfg.arch[MDL_GLOBAL].size, cap = 0;
        st = mdl_grow(&s->global_scratch, &cap, side * side * (size_t)m->cfg.channels, err);
    }
    if (st != IGD_OK) {
        mdl_session_free(s);
        return st;
    }
    *out = s;
    return IGD_OK;
}

double mdl_normalized_score(const igd_model *m, double score)
{
    if (!m->has_threshold || m->threshold <= 0)
        return score;
    double t = m->threshold;
    if (score <= t)
        return score < 0 ? 0 : 0.5 * score / t;
    return 1.0 - 0.5 * t / score;
}

/* Calls fn(s, inf, first image, count) for consecutive chunks of the images through the global
 * model, after preprocessing them into inf's inputs: full batches while many images remain, the
 * batch-1 graph for the last few (a padded batch would cost as much as a full one). */
typedef igd_status (*global_fn)(igd_session *s, mdl_infer *inf, size_t first, int k, void *user,
                                core_err *err);

static igd_status for_globals(igd_session *s, const io_view *views, size_t n, global_fn fn,
                              void *user, core_err *err)
{
    for (size_t first = 0; first < n;) {
        mdl_infer *inf = n - first < FEW ? s->single : s->inf[MDL_GLOBAL];
        const size_t per = (size_t)inf->channels * inf->side * inf->side;
        int k = n - first < (size_t)inf->batch ? (int)(n - first) : inf->batch;
        for (int i = 0; i < k; i++)
            mdl_pre_global(s->model, &views[first + i], inf->pix + per * i, s->global_scratch);
        CORE_TRY(fn(s, inf, first, k, user, err));
        first += (size_t)k;
    }
    return IGD_OK;
}

/* Calls fn(s, image index, first patch index, samples) for every full or final batch of patches
 * of every image (the local model), after cutting them into the inference inputs and their
 * offsets into s->patch_y, s->patch_x. */
typedef igd_status (*patch_fn)(igd_session *s, size_t image, int first, int n, void *user,
                               core_err *err);

static igd_status for_patches(igd_session *s, const io_view *v, size_t image, patch_fn fn,
                              void *user, core_err *err)
{
    igd_model *m = s->model;
    mdl_infer *inf = s->inf[MDL_LOCAL];
    const int p = inf->side, stride = m->cfg.patch_stride;
    int h, w;
    CORE_TRY(mdl_pre_local(m, v, &s->image, &s->image_cap, &h, &w, err));
    s->image_h = h;
    s->image_w = w;
    const int rows = mdl_grid_count(h, p, stride), cols = mdl_grid_count(w, p, stride);
    const int total = rows * cols;
    const size_t per = (size_t)inf->channels * p * p;
    for (int first = 0; first < total; first += inf->batch) {
        int n = total - first < inf->batch ? total - first : inf->batch;
        for (int k = 0; k < n; k++) {
            int cell = first + k;
            s->patch_y[k] = mdl_grid_offset(h, p, stride, cell / cols);
            s->patch_x[k] = mdl_grid_offset(w, p, stride, cell % cols);
            mdl_cut_patch(s->image, inf->channels, h, w, p, s->patch_y[k], s->patch_x[k],
                          inf->pix + per * k);
        }
        CORE_TRY(fn(s, image, first, n, user, err));
    }
    return IGD_OK;
}

/* ---- detection ---- */

typedef struct detect_state {
    double *parts;         /* n x IGD_PART_COUNT */
    bool decode[MDL_NETS]; /* each model's reconstruction terms are needed */
    double rec[LOCAL_BATCH > GLOBAL_BATCH ? LOCAL_BATCH : GLOBAL_BATCH];
    double cls[LOCAL_BATCH > GLOBAL_BATCH ? LOCAL_BATCH : GLOBAL_BATCH];
} detect_state;

static igd_status score_patches(igd_session *s, size_t image, int first, int n, void *user,
                                core_err *err)
{
    igd_model *m = s->model;
    detect_state *ds = user;
    mdl_infer *inf = s->inf[MDL_LOCAL];
    CORE_TRY(mdl_infer_run(m, inf, n, ds->decode[MDL_LOCAL], err));
    CORE_TRY(mdl_infer_terms(m, &m->net[MDL_LOCAL], inf, n, s->patch_y, s->patch_x, ds->rec,
                             ds->cls, err));
    double *p = ds->parts + image * IGD_PART_COUNT;
    for (int k = 0; k < n; k++) {
        double v = m->cfg.score_rec * ds->rec[k] + m->cfg.score_cls * ds->cls[k];
        if (v > p[IGD_PART_LOCAL] || (first == 0 && k == 0)) {
            p[IGD_PART_LOCAL] = v;
            p[IGD_PART_LOCAL_REC] = ds->rec[k];
            p[IGD_PART_LOCAL_CLASSIFIER] = ds->cls[k];
        }
    }
    return IGD_OK;
}

static igd_status score_globals(igd_session *s, mdl_infer *inf, size_t first, int k, void *user,
                                core_err *err)
{
    igd_model *m = s->model;
    detect_state *ds = user;
    CORE_TRY(mdl_infer_run(m, inf, k, ds->decode[MDL_GLOBAL], err));
    CORE_TRY(mdl_infer_terms(m, &m->net[MDL_GLOBAL], inf, k, NULL, NULL, ds->rec, ds->cls, err));
    for (int i = 0; i < k; i++) {
        double *p = ds->parts + (first + i) * IGD_PART_COUNT;
        p[IGD_PART_GLOBAL_REC] = ds->rec[i];
        p[IGD_PART_GLOBAL_CLASSIFIER] = ds->cls[i];
        p[IGD_PART_GLOBAL] = m->cfg.score_rec * ds->rec[i] + m->cfg.score_cls * ds->cls[i];
    }
    return IGD_OK;
}

static igd_status heatmaps(igd_session *s, const io_view *views, size_t n, float *maps,
                           double *seg_terms, size_t stride, core_err *err);

igd_status mdl_session_detect(igd_session *s, const io_view *views, size_t n, size_t wanted,
                              double *scores, double *parts, float *maps, core_err *err)
{
    igd_model *m = s->model;
    for (int id = 0; id < MDL_NETS; id++)
        if (mdl_has(m, id) && !m->net[id].has_stats)
            return core_fail(err, IGD_ERR_STATE,
                             "the %s model has no statistics yet: run an E-step (or fit) before "
                             "detecting",
                             id == MDL_GLOBAL ? "global" : "local");
    detect_state ds;
    ds.parts = parts;
    ds.decode[MDL_GLOBAL] = m->cfg.score_rec != 0 || wanted > IGD_PART_GLOBAL_REC;
    ds.decode[MDL_LOCAL] = m->cfg.score_rec != 0 || wanted > IGD_PART_LOCAL_REC;
    memset(parts, 0, sizeof(double) * n * IGD_PART_COUNT);
    if (mdl_has(m, MDL_GLOBAL))
        CORE_TRY(for_globals(s, views, n, score_globals, &ds, err));
    if (mdl_has(m, MDL_LOCAL))
        for (size_t i = 0; i < n; i++)
            CORE_TRY(for_patches(s, &views[i], i, score_patches, &ds, err));
    if (maps) /* the heatmaps, and the head's terms from the same maps */
        CORE_TRY(
            heatmaps(s, views, n, maps, s->seg ? parts + IGD_PART_SEG : NULL, IGD_PART_COUNT, err));
    else if (s->seg && (m->cfg.seg_score != 0 || wanted > IGD_PART_SEG))
        for (size_t i = 0; i < n; i++) {
            const float *map;
            size_t sw, sh;
            CORE_TRY(mdl_seg_map(m, s->seg, &views[i], &map, &sw, &sh, err));
            CORE_TRY(mdl_seg_term(m, s->seg, map, sw, sh, &parts[i * IGD_PART_COUNT + IGD_PART_SEG],
                                  err));
        }
    for (size_t i = 0; i < n; i++) {
        double *p = parts + i * IGD_PART_COUNT;
        p[IGD_PART_SCORE] =
            p[IGD_PART_GLOBAL] + p[IGD_PART_LOCAL] + m->cfg.seg_score * p[IGD_PART_SEG];
        p[IGD_PART_NORMALIZED] = mdl_normalized_score(m, p[IGD_PART_SCORE]);
        scores[i] = p[IGD_PART_SCORE];
        for (int k = 0; k < IGD_PART_COUNT; k++)
            if (!isfinite(p[k]))
                return core_fail(err, IGD_ERR_NUMERIC,
                                 "image %zu: the model's score is not a finite number (its "
                                 "weights or statistics are damaged or overflow)",
                                 i);
    }
    return IGD_OK;
}

/* ---- heatmaps ---- */

static igd_status fold_patches(igd_session *s, size_t image, int first, int n, void *user,
                               core_err *err)
{
    (void)image;
    (void)first;
    (void)user;
    igd_model *m = s->model;
    mdl_infer *inf = s->inf[MDL_LOCAL];
    const mdl_net *net = &m->net[MDL_LOCAL];
    const bool memory = net->memory.positions > 0;
    const int width = s->image_w, p = inf->side;
    double term[LOCAL_BATCH];
    CORE_TRY(mdl_infer_run(m, inf, n, !memory, err));
    if (memory)
        CORE_TRY(mdl_memory_terms(m, net, nn_data(inf->enc, inf->z), n, s->patch_y, s->patch_x,
                                  term, err));
    else
        mdl_infer_maps(m, inf, n, s->maps[MDL_LOCAL]);
    for (int k = 0; k < n; k++) {
        const float *mp = s->maps[MDL_LOCAL] + (size_t)k * p * p;
        for (int y = 0; y < p; y++)
            for (int x = 0; x < p; x++) {
                size_t at = (size_t)(s->patch_y[k] + y) * width + s->patch_x[k] + x;
                s->acc[at] += memory ? (float)term[k] : mp[y * p + x];
                s->cnt[at] += 1.0f;
            }
    }
    return IGD_OK;
}

static igd_status reserve_scratch(igd_session *s, size_t floats, core_err *err)
{
    if (floats <= s->scratch_cap)
        return IGD_OK;
    size_t bytes;
    if (!core_mul_size(floats, sizeof(float), &bytes))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "heatmap too large");
    float *p = core_malloc_aligned(bytes);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating heatmap scratch");
    core_free_aligned(s->scratch);
    s->scratch = p;
    s->scratch_cap = floats;
    return IGD_OK;
}

/* The local model's map of one image, at the image's size, into out. */
static igd_status local_map(igd_session *s, const io_view *v, float *out, core_err *err)
{
    int h, w;
    mdl_local_size(s->model, v->width, v->height, &h, &w);
    const size_t plane = (size_t)h * (size_t)w;
    CORE_TRY(mdl_grow(&s->acc, &s->acc_cap, plane, err));
    CORE_TRY(mdl_grow(&s->cnt, &s->cnt_cap, plane, err));
    memset(s->acc, 0, plane * sizeof(float));
    memset(s->cnt, 0, plane * sizeof(float));
    CORE_TRY(for_patches(s, v, 0, fold_patches, NULL, err));
    for (size_t k = 0; k < plane; k++)
        s->acc[k] = s->cnt[k] > 0 ? s->acc[k] / s->cnt[k] : 0.0f;
    io_plane_resize(s->acc, (size_t)w, (size_t)h, out, v->width, v->height);
    return IGD_OK;
}

typedef struct global_maps {
    float *maps;
    size_t width, height;
    float weight;
} global_maps;

/* The global model's maps, resized to the images' size and weighted, into the output maps. */
static igd_status draw_globals(igd_session *s, mdl_infer *inf, size_t first, int k, void *user,
                               core_err *err)
{
    global_maps *gm = user;
    const size_t sq = (size_t)inf->side * inf->side, plane = gm->width * gm->height;
    CORE_TRY(mdl_infer_run(s->model, inf, k, true, err));
    mdl_infer_maps(s->model, inf, k, s->maps[MDL_GLOBAL]);
    for (int i = 0; i < k; i++) {
        float *out = gm->maps + plane * (first + i);
        io_plane_resize(s->maps[MDL_GLOBAL] + sq * i, (size_t)inf->side, (size_t)inf->side, out,
                        gm->width, gm->height);
        if (gm->weight != 1.0f)
            for (size_t q = 0; q < plane; q++)
                out[q] *= gm->weight;
    }
    return IGD_OK;
}

/* Mixes the head's map of one image, resized to the image's size, into out: out becomes
 * (1 - w) out + w head; *term (may be NULL) receives the head's image term from the same map. */
static igd_status mix_seg(igd_session *s, const io_view *v, float *out, float *scratch,
                          double *term, core_err *err)
{
    igd_model *m = s->model;
    const float *map;
    size_t sw, sh;
    CORE_TRY(mdl_seg_map(m, s->seg, v, &map, &sw, &sh, err));
    if (term)
        CORE_TRY(mdl_seg_term(m, s->seg, map, sw, sh, term, err));
    if (m->cfg.seg_heatmap <= 0)
        return IGD_OK;
    io_plane_resize(map, sw, sh, scratch, v->width, v->height);
    const float w = (float)m->cfg.seg_heatmap;
    const size_t plane = v->width * v->height;
    for (size_t q = 0; q < plane; q++)
        out[q] = (1.0f - w) * out[q] + w * scratch[q];
    return IGD_OK;
}

igd_status mdl_session_heatmap(igd_session *s, const io_view *views, size_t n, float *maps,
                               core_err *err)
{
    return heatmaps(s, views, n, maps, NULL, 0, err);
}

/* The heatmaps; seg_terms (may be NULL) receives the head's term of image i at i * stride. */
static igd_status heatmaps(igd_session *s, const io_view *views, size_t n, float *maps,
                           double *seg_terms, size_t stride, core_err *err)
{
    igd_model *m = s->model;
    if (s->seg && m->cfg.seg_heatmap >= 1.0) {
        /* The head's map alone: the IGD models are not run. */
        const size_t plane = views[0].width * views[0].height;
        size_t blur = io_plane_blur_scratch(views[0].width, views[0].height, m->cfg.smooth), need;
        if (!core_add_size(plane, blur, &need))
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "heatmap too large");
        CORE_TRY(reserve_scratch(s, need, err));
        for (size_t i = 0; i < n; i++) {
            float *out = maps + plane * i;
            memset(out, 0, plane * sizeof(float));
            CORE_TRY(mix_seg(s, &views[i], out, s->scratch,
                             seg_terms ? seg_terms + i * stride : NULL, err));
            io_plane_blur(out, views[0].width, views[0].height, m->cfg.smooth, s->scratch + plane);
        }
        return IGD_OK;
    }
    const bool both = mdl_has(m, MDL_GLOBAL) && mdl_has(m, MDL_LOCAL);
    const float wg = both ? (float)m->cfg.global_weight : 1.0f;
    const size_t plane = views[0].width * views[0].height;
    size_t blur = io_plane_blur_scratch(views[0].width, views[0].height, m->cfg.smooth), need;
    if (!core_add_size(plane, blur, &need))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "heatmap too large");
    CORE_TRY(reserve_scratch(s, need, err));
    /* The global maps are drawn unless their weight is 0 (then the local maps alone count). */
    const bool globals = mdl_has(m, MDL_GLOBAL) && wg != 0.0f;
    if ((globals && !s->inf[MDL_GLOBAL]->decode) ||
        (mdl_has(m, MDL_LOCAL) && !s->inf[MDL_LOCAL]->decode &&
         !m->net[MDL_LOCAL].memory.positions))
        return core_fail(err, IGD_ERR_STATE,
                         "heatmaps need the decoder, which this model does not train "
                         "(lambda2 = 0)");
    if (globals) {
        global_maps gm = {maps, views[0].width, views[0].height, wg};
        CORE_TRY(for_globals(s, views, n, draw_globals, &gm, err));
    }
    for (size_t i = 0; i < n; i++) {
        float *out = maps + plane * i;
        if (mdl_has(m, MDL_LOCAL)) {
            CORE_TRY(local_map(s, &views[i], s->scratch, err));
            const float wl = mdl_has(m, MDL_GLOBAL) ? 1.0f - wg : 1.0f;
            for (size_t q = 0; q < plane; q++)
                out[q] = (globals ? out[q] : 0.0f) + wl * s->scratch[q];
        }
        if (s->seg && (m->cfg.seg_heatmap > 0 || seg_terms))
            CORE_TRY(mix_seg(s, &views[i], out, s->scratch,
                             seg_terms ? seg_terms + i * stride : NULL, err));
        io_plane_blur(out, views[0].width, views[0].height, m->cfg.smooth, s->scratch + plane);
        for (size_t q = 0; q < plane; q++)
            if (!isfinite(out[q]))
                return core_fail(err, IGD_ERR_NUMERIC,
                                 "image %zu: the model's heatmap is not finite (its weights "
                                 "are damaged or overflow)",
                                 i);
    }
    return IGD_OK;
}

/* ---- latents ---- */

typedef struct encode_state {
    float *latents;
    size_t written;
} encode_state;

static igd_status encode_patches(igd_session *s, size_t image, int first, int n, void *user,
                                 core_err *err)
{
    (void)image;
    (void)first;
    encode_state *es = user;
    mdl_infer *inf = s->inf[MDL_LOCAL];
    CORE_TRY(mdl_infer_run(s->model, inf, n, false, err));
    const size_t L = (size_t)s->model->net[MDL_LOCAL].arch.latent;
    memcpy(es->latents + es->written * L, nn_data(inf->enc, inf->z), sizeof(float) * n * L);
    es->written += (size_t)n;
    return IGD_OK;
}

static igd_status encode_globals(igd_session *s, mdl_infer *inf, size_t first, int k, void *user,
                                 core_err *err)
{
    (void)first;
    encode_state *es = user;
    CORE_TRY(mdl_infer_run(s->model, inf, k, false, err));
    const size_t L = (size_t)s->model->net[MDL_GLOBAL].arch.latent;
    memcpy(es->latents + es->written * L, nn_data(inf->enc, inf->z), sizeof(float) * k * L);
    es->written += (size_t)k;
    return IGD_OK;
}

igd_status mdl_session_encode(igd_session *s, int id, const io_view *views, size_t n,
                              float *latents, size_t capacity, core_err *err)
{
    igd_model *m = s->model;
    const size_t L = (size_t)m->net[id].arch.latent;
    size_t need = 0, patches = n;
    if (id == MDL_LOCAL) {
        /* Patches of every image (their grid depends on the image's size with local_scale). */
        const int p = m->cfg.arch[MDL_LOCAL].size, stride = m->cfg.patch_stride;
        int h, w;
        mdl_local_size(m, views[0].width, views[0].height, &h, &w);
        size_t cells = (size_t)mdl_grid_count(h, p, stride) * (size_t)mdl_grid_count(w, p, stride);
        if (!core_mul_size(n, cells, &patches))
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "too many patches");
    }
    if (!core_mul_size(patches, L, &need) || capacity < need)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "the latent buffer holds %zu floats; %zu are needed", capacity, need);
    encode_state es = {latents, 0};
    if (id == MDL_GLOBAL)
        return for_globals(s, views, n, encode_globals, &es, err);
    for (size_t i = 0; i < n; i++)
        CORE_TRY(for_patches(s, &views[i], i, encode_patches, &es, err));
    return IGD_OK;
}

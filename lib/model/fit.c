/* The training schedule: hold-out split, pixel statistics, for every sub-model E-steps every
 * estep_interval epochs (and before the first and after the last), M-steps over shuffled
 * batches, then threshold calibration on the held-out images. Everything random draws from the
 * model's generator seeded from the seed option, so a seed and a thread count fix the result. */
#include "model/fit.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/dataset.h"
#include "io/image.h"
#include "metrics/metrics.h"
#include "model/session.h"

typedef struct fit_run {
    igd_model *m;
    const igd_dataset *ds;
    size_t *order; /* sample indices: [0, held) held out, [held, n) for training */
    size_t n, held;
    io_view *views;
    igd_image **holders;
    size_t cap;
    double start;
} fit_run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static igd_status check_stop(const igd_model *m, core_err *err)
{
    if (m->cb.stop && m->cb.stop(m->cb.stop_user))
        return core_fail(err, IGD_ERR_ABORTED, "training stopped by the abort callback");
    return IGD_OK;
}

static void progress(const igd_model *m, igd_stage stage, uint64_t done, uint64_t total,
                     const double *losses)
{
    if (m->cb.progress)
        m->cb.progress(m->cb.progress_user, stage, done, total, losses,
                       losses ? IGD_LOSS_COUNT : 0);
}

static void release_views(fit_run *r, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        igd_image_free(r->holders[i]);
        r->holders[i] = NULL;
    }
}

/* Views of samples order[first .. first + count). */
static igd_status load_views(fit_run *r, const size_t *idx, size_t count, core_err *err)
{
    for (size_t i = 0; i < count; i++) {
        igd_status st = ds_view(r->ds, idx[i], &r->m->opts, &r->views[i], &r->holders[i], err);
        if (st != IGD_OK) {
            release_views(r, i);
            return st;
        }
    }
    return IGD_OK;
}

static igd_status measure_pixels(fit_run *r, core_err *err)
{
    igd_model *m = r->m;
    const int id = mdl_has(m, MDL_GLOBAL) ? MDL_GLOBAL : MDL_LOCAL;
    const int ch = m->cfg.channels;
    const size_t side = (size_t)m->cfg.arch[MDL_GLOBAL].size;
    float *buf = NULL;
    size_t cap = 0;
    double sum[MDL_MAX_CHANNELS] = {0}, sq[MDL_MAX_CHANNELS] = {0}, total = 0;
    const size_t ntrain = r->n - r->held;
    igd_status st = id == MDL_GLOBAL ? mdl_grow(&buf, &cap, side * side * (size_t)ch, err) : IGD_OK;
    for (size_t i = 0; i < ntrain && st == IGD_OK; i++) {
        st = load_views(r, &r->order[r->held + i], 1, err);
        if (st != IGD_OK)
            break;
        size_t plane = side * side;
        if (id == MDL_GLOBAL) {
            mdl_pre_global(m, &r->views[0], buf, m->global_scratch);
        } else {
            int h = 0, w = 0;
            st = mdl_pre_local(m, &r->views[0], &buf, &cap, &h, &w, err);
            plane = (size_t)h * (size_t)w;
        }
        release_views(r, 1);
        for (int c = 0; c < ch && st == IGD_OK; c++)
            for (size_t k = 0; k < plane; k++) {
                double v = buf[(size_t)c * plane + k];
                sum[c] += v;
                sq[c] += v * v;
            }
        total += (double)plane;
        if (i % 256 == 0)
            progress(m, IGD_STAGE_NORMALIZE, i, ntrain, NULL);
    }
    core_free_aligned(buf);
    if (st != IGD_OK)
        return st;
    const double count = total;
    for (int c = 0; c < ch; c++) {
        double mean = sum[c] / count, var = sq[c] / count - mean * mean;
        m->mean[c] = mean;
        m->std[c] = sqrt(var > 1e-6 ? var : 1e-6);
    }
    mdl_log(m, IGD_LOG_INFO, "pixel statistics: mean %.4f, std %.4f (channel 0)", m->mean[0],
            m->std[0]);
    return IGD_OK;
}

/* final: the E-step after training, the only one that builds the patch memory. */
static igd_status estep(fit_run *r, int id, bool final, core_err *err)
{
    igd_model *m = r->m;
    const size_t ntrain = r->n - r->held, chunk = r->cap;
    CORE_TRY(mdl_estep_begin(m, id, final, err));
    for (size_t first = 0; first < ntrain; first += chunk) {
        size_t k = ntrain - first < chunk ? ntrain - first : chunk;
        CORE_TRY(load_views(r, &r->order[r->held + first], k, err));
        igd_status st = mdl_estep_add(m, id, r->views, k, err);
        release_views(r, k);
        CORE_TRY(st);
        progress(m, IGD_STAGE_ESTEP, first + k, ntrain, NULL);
        CORE_TRY(check_stop(m, err));
    }
    return mdl_estep_finish(m, id, err);
}

/* Before the first E-step of an untrained model with batch statistics, a few training-mode
 * passes bring the encoder's running averages (which the E-step's inference uses) to the data's
 * statistics, so the first centre is measured where training-mode latents lie. */
static igd_status warm_up(fit_run *r, int id, size_t batch, uint64_t batches, core_err *err)
{
    igd_model *m = r->m;
    if (m->cfg.arch[id].frozen_bn || m->net[id].steps > 0)
        return IGD_OK;
    size_t *pool = r->order + r->held;
    for (uint64_t s = 0; s < batches; s++) {
        CORE_TRY(load_views(r, &pool[s * batch], batch, err));
        igd_status st = mdl_bn_warmup(m, id, r->views, batch, err);
        release_views(r, batch);
        CORE_TRY(st);
    }
    return IGD_OK;
}

static igd_status train_net(fit_run *r, int id, double seconds, core_err *err)
{
    igd_model *m = r->m;
    mdl_net *net = &m->net[id];
    const size_t ntrain = r->n - r->held;
    size_t batch = (size_t)m->cfg.batch < ntrain ? (size_t)m->cfg.batch : ntrain;
    const uint64_t per_epoch = ntrain / batch, epochs = (uint64_t)m->cfg.epochs;
    const uint64_t total = per_epoch * epochs;
    const uint64_t decay_over = m->cfg.total_steps ? m->cfg.total_steps : total;
    const uint64_t saved_total = m->cfg.total_steps;
    const double deadline = seconds > 0 ? now() + seconds : 0;
    size_t *pool = r->order + r->held;
    double losses[IGD_LOSS_COUNT];
    uint64_t done = 0;
    igd_status st = IGD_OK;
    if (net->steps == 0)
        st = warm_up(r, id, batch, per_epoch < 20 ? per_epoch : 20, err);
    net->steps = 0;
    m->cfg.total_steps = decay_over;
    for (uint64_t e = 0; e < epochs && st == IGD_OK; e++) {
        if (e % (uint64_t)m->cfg.estep_interval == 0 && (st = estep(r, id, false, err)) != IGD_OK)
            break;
        /* Reshuffle the training samples each epoch. */
        for (size_t i = ntrain; i > 1; i--) {
            size_t j = (size_t)core_rng_below(&m->rng, i), t = pool[i - 1];
            pool[i - 1] = pool[j];
            pool[j] = t;
        }
        for (uint64_t s = 0; s < per_epoch && st == IGD_OK; s++) {
            st = load_views(r, &pool[s * batch], batch, err);
            if (st != IGD_OK)
                break;
            st = mdl_train_step(m, id, r->views, batch, losses, err);
            release_views(r, batch);
            if (st != IGD_OK)
                break;
            progress(m, IGD_STAGE_TRAIN, ++done, total, losses);
            st = check_stop(m, err);
            if (st == IGD_OK && deadline > 0 && now() > deadline) {
                mdl_log(m, IGD_LOG_INFO, "time limit reached after %llu steps",
                        (unsigned long long)done);
                e = epochs;
                break;
            }
        }
    }
    m->cfg.total_steps = saved_total;
    if (st == IGD_OK)
        st = estep(r, id, true, err);
    return st;
}

/* Scores images order[from .. to) with a temporary session into scores, in batches. */
static igd_status score_samples(fit_run *r, size_t from, size_t to, double *scores, core_err *err)
{
    igd_model *m = r->m;
    igd_session *s;
    CORE_TRY(mdl_session_create(m, &s, err));
    double *parts = core_malloc_array(r->cap, sizeof(double) * IGD_PART_COUNT);
    igd_status st =
        parts ? IGD_OK : core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating score parts");
    for (size_t i = from; i < to && st == IGD_OK;) {
        size_t k = to - i < r->cap ? to - i : r->cap;
        st = load_views(r, &r->order[i], k, err);
        if (st != IGD_OK)
            break;
        st = mdl_session_detect(s, r->views, k, 0, &scores[i - from], parts, NULL, err);
        release_views(r, k);
        i += k;
        progress(m, IGD_STAGE_CALIBRATE, i - from, to - from, NULL);
        if (st == IGD_OK)
            st = check_stop(m, err);
    }
    core_free(parts);
    mdl_session_free(s);
    return st;
}

static igd_status calibrate(fit_run *r, core_err *err)
{
    igd_model *m = r->m;
    /* Held-out normal images, or (without any) the training images themselves. */
    size_t from = 0, to = r->held > 0 ? r->held : r->n;
    double *scores = core_malloc_array(to - from, sizeof(double));
    if (!scores)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating calibration scores");
    igd_status st = score_samples(r, from, to, scores, err);
    double t = 0;
    if (st == IGD_OK)
        st = met_quantile(scores, to - from, m->cfg.calib_quantile, &t, err);
    core_free(scores);
    if (st != IGD_OK)
        return st;
    m->threshold = t > 0 ? t : 1e-12;
    m->has_threshold = true;
    mdl_log(m, IGD_LOG_INFO, "threshold %.6g: the %.3g quantile of %zu normal scores", m->threshold,
            m->cfg.calib_quantile, to - from);
    return IGD_OK;
}

static igd_status run(fit_run *r, core_err *err)
{
    igd_model *m = r->m;
    core_rng_permutation(&m->rng, r->order, r->n);
    size_t held = (size_t)floor(r->n * m->cfg.calib_share + 0.5);
    r->held = held >= 10 && r->n - held >= 2 ? held : 0;
    /* A patch memory keeps the training images' latents, which then score about 0: the
     * threshold must come from images it has not kept, however few. */
    if (m->cfg.memory_size > 0 && m->cfg.calib_share > 0 && r->n >= 3)
        r->held = held < 1 ? 1 : held > r->n - 2 ? r->n - 2 : held;
    if (m->cfg.norm_auto)
        CORE_TRY(measure_pixels(r, err));
    int nets = mdl_has(m, MDL_GLOBAL) + mdl_has(m, MDL_LOCAL);
    /* With a time limit and a segmentation head, the head takes seg_time_share of it (the IGD
     * models still run their E-steps and at least one step each). */
    const double limit = m->cfg.time_limit;
    const double seg_share = mdl_seg_exists(m) ? m->cfg.seg_time_share : 0.0;
    const double net_seconds = limit > 0 ? fmax(limit * (1.0 - seg_share) / nets, 1e-3) : 0;
    for (int id = 0; id < MDL_NETS; id++)
        if (mdl_has(m, id))
            CORE_TRY(train_net(r, id, net_seconds, err));
    if (mdl_seg_exists(m)) {
        const double seg_seconds = limit > 0 ? fmax(limit - (now() - r->start), 1e-3) : 0;
        CORE_TRY(mdl_seg_fit(m, r->ds, r->order + r->held, r->n - r->held, seg_seconds, err));
    }
    return calibrate(r, err);
}

igd_status mdl_fit(igd_model *m, const igd_dataset *train, core_err *err)
{
    fit_run r = {m, train, NULL, igd_dataset_count(train), 0, NULL, NULL, 0, now()};
    if (r.n < 2)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "fit needs at least 2 images, not %zu",
                         r.n);
    core_rng_seed(&m->rng, m->cfg.seed ^ 0xf17f17f17f17f17full);
    r.cap = (size_t)m->cfg.batch > 64 ? (size_t)m->cfg.batch : 64;
    r.order = core_malloc_array(r.n, sizeof(size_t));
    r.views = core_malloc_array(r.cap, sizeof(io_view));
    r.holders = core_calloc(r.cap, sizeof(igd_image *));
    igd_status st = r.order && r.views && r.holders
                        ? run(&r, err)
                        : core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating the schedule");
    core_free(r.order);
    core_free(r.views);
    core_free(r.holders);
    mdl_log(m, IGD_LOG_INFO, "fit finished in %.1f s", now() - r.start);
    return st;
}

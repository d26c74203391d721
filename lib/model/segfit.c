/* Training the segmentation head in igd_model_fit: the training images are scaled once and kept
 * as 8-bit planes in chunks of at most CHUNK_BYTES (a data set larger than that is streamed chunk
 * by chunk, each trained on for its share of the steps); every step cuts seg_batch random crops,
 * gives a seg_anomaly_share of them synthetic anomalies (synth.h) drawn from another image of the
 * chunk, and takes one step of the focal loss on their masks. The learning rate warms up over
 * WARMUP steps, then decays polynomially over the steps planned: seg_steps, or fewer when the
 * time budget allows fewer at the pace measured so far (planned anew every MEASURE steps). */
#include "model/fit.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/dataset.h"
#include "io/image.h"
#include "model/synth.h"

enum { WARMUP = 50, MEASURE = 10 };
#define CHUNK_BYTES ((size_t)256 << 20)

typedef struct seg_image {
    size_t offset, width, height;
} seg_image;

typedef struct seg_run {
    igd_model *m;
    const igd_dataset *ds;
    const size_t *idx;
    size_t n;
    unsigned char *pix; /* the chunk's scaled images, planar, 8-bit */
    size_t pix_cap;
    seg_image *images;
    size_t images_cap; /* bytes */
    size_t count;      /* images in the chunk */
    float *work;       /* one scaled image as floats */
    size_t work_cap;
    float *crops, *masks, *source, *scratch;
    double paced; /* when the pace of steps began to be measured */
    core_rng rng;
} seg_run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static igd_status grow(void **buf, size_t *cap, size_t bytes, core_err *err)
{
    if (bytes <= *cap)
        return IGD_OK;
    void *p = core_realloc(*buf, bytes);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating the head's training images");
    *buf = p;
    *cap = bytes;
    return IGD_OK;
}

/* Loads images idx[first ..] into the chunk until CHUNK_BYTES is reached (at least one);
 * returns the number loaded in *loaded. */
static igd_status load_chunk(seg_run *r, size_t first, size_t *loaded, core_err *err)
{
    igd_model *m = r->m;
    const size_t ch = (size_t)m->cfg.channels;
    size_t used = 0;
    r->count = 0;
    for (size_t i = first; i < r->n; i++) {
        io_view v;
        igd_image *holder = NULL;
        CORE_TRY(ds_view(r->ds, r->idx[i], &m->opts, &v, &holder, err));
        size_t sw, sh, plane = 0, bytes = 0;
        mdl_seg_scaled_size(m, v.width, v.height, &sw, &sh);
        igd_status st = IGD_OK;
        if (!core_mul_size(sw, sh, &plane) || !core_mul_size(plane, ch, &bytes))
            st = core_fail(err, IGD_ERR_INVALID_ARGUMENT, "a training image is too large");
        if (st == IGD_OK && r->count > 0 && used + bytes > CHUNK_BYTES) {
            io_image_free(holder);
            break;
        }
        size_t fbytes = 0;
        if (st == IGD_OK && !core_mul_size(bytes, sizeof(float), &fbytes))
            st = core_fail(err, IGD_ERR_INVALID_ARGUMENT, "a training image is too large");
        if (st == IGD_OK)
            st = grow((void **)&r->work, &r->work_cap, fbytes, err);
        if (st == IGD_OK)
            st = grow((void **)&r->pix, &r->pix_cap, used + bytes, err);
        if (st == IGD_OK)
            st = grow((void **)&r->images, &r->images_cap, (r->count + 1) * sizeof(seg_image), err);
        if (st == IGD_OK) {
            mdl_seg_preprocess(m, &v, sw, sh, r->work);
            for (size_t k = 0; k < bytes; k++)
                r->pix[used + k] = (unsigned char)(r->work[k] * 255.0f + 0.5f);
            r->images[r->count] = (seg_image){used, sw, sh};
            r->count++;
            used += bytes;
        }
        io_image_free(holder);
        CORE_TRY(st);
    }
    *loaded = r->count;
    return IGD_OK;
}

/* Index i mirrored into 0..n-1. */
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

/* A random tile x tile crop of a random chunk image into out (pixels in 0..1). */
static void random_crop(seg_run *r, float *out)
{
    const igd_model *m = r->m;
    const size_t ch = (size_t)m->cfg.channels, t = (size_t)m->seg.arch.size;
    const seg_image *im = &r->images[core_rng_below(&r->rng, r->count)];
    const size_t oy = im->height > t ? (size_t)core_rng_below(&r->rng, im->height - t + 1) : 0;
    const size_t ox = im->width > t ? (size_t)core_rng_below(&r->rng, im->width - t + 1) : 0;
    const size_t plane = im->width * im->height;
    for (size_t c = 0; c < ch; c++)
        for (size_t y = 0; y < t; y++) {
            const unsigned char *row = r->pix + im->offset + c * plane +
                                       mirror((long)(oy + y), (long)im->height) * im->width;
            float *dst = out + (c * t + y) * t;
            for (size_t x = 0; x < t; x++)
                dst[x] = row[mirror((long)(ox + x), (long)im->width)] * (1.0f / 255.0f);
        }
}

static igd_status train_chunk(seg_run *r, uint64_t steps, uint64_t *done, uint64_t *planned,
                              double deadline, double started, core_err *err)
{
    igd_model *m = r->m;
    const int batch = m->cfg.seg_batch, ch = m->cfg.channels, t = m->seg.arch.size;
    const size_t crop = (size_t)ch * t * t, plane = (size_t)t * t;
    double losses[IGD_LOSS_COUNT] = {0};
    for (uint64_t s = 0; s < steps && *done < *planned; s++) {
        for (int b = 0; b < batch; b++) {
            float *x = r->crops + crop * (size_t)b, *mask = r->masks + plane * (size_t)b;
            random_crop(r, x);
            if (core_rng_uniform(&r->rng) < m->cfg.seg_anomaly_share) {
                random_crop(r, r->source);
                mdl_synth(&r->rng, x, r->source, ch, t, m->cfg.seg_synth, 2, mask, r->scratch);
            } else {
                memset(mask, 0, plane * sizeof(float));
            }
        }
        const uint64_t step = m->seg.steps;
        double lr = nn_poly_lr(m->cfg.seg_lr, *done, *planned, m->cfg.decay_power);
        if (step < WARMUP)
            lr *= (double)(step + 1) / WARMUP;
        double loss = 0;
        CORE_TRY(mdl_seg_train_step(m, batch, r->crops, r->masks, lr, &loss, err));
        ++*done;
        if (deadline > 0 && *done % MEASURE == 0) {
            /* Plan the decay over the steps the time left allows at the pace so far (the first
             * steps, which build the graphs, excluded once there are more). */
            if (*done == MEASURE)
                r->paced = now();
            double t = now();
            double per = *done > MEASURE ? (t - r->paced) / (double)(*done - MEASURE)
                                         : (t - started) / MEASURE;
            double more = per > 0 ? (deadline - t) / per : 0;
            uint64_t fit = (uint64_t)(more > 0 ? more : 0) + *done;
            *planned = fit < m->cfg.seg_steps ? fit : m->cfg.seg_steps;
            *planned = *planned > *done ? *planned : *done + 1;
        }
        losses[IGD_LOSS_TOTAL] = loss;
        losses[IGD_LOSS_SEG] = loss;
        if (m->cb.progress)
            m->cb.progress(m->cb.progress_user, IGD_STAGE_SEG, *done, *planned, losses,
                           IGD_LOSS_COUNT);
        if (m->cb.stop && m->cb.stop(m->cb.stop_user))
            return core_fail(err, IGD_ERR_ABORTED, "training stopped by the abort callback");
        if (deadline > 0 && now() > deadline) {
            *planned = *done;
            break;
        }
    }
    return IGD_OK;
}

static void run_free(seg_run *r)
{
    core_free(r->pix);
    core_free(r->images);
    core_free(r->work);
    core_free_aligned(r->crops);
    core_free_aligned(r->masks);
    core_free_aligned(r->source);
    core_free_aligned(r->scratch);
}

igd_status mdl_seg_fit(igd_model *m, const igd_dataset *ds, const size_t *idx, size_t n,
                       double seconds, core_err *err)
{
    if (!mdl_seg_exists(m) || n == 0 || m->cfg.seg_steps == 0)
        return IGD_OK;
    const double started = now(), deadline = seconds > 0 ? started + seconds : 0;
    seg_run r = {0};
    r.m = m;
    r.ds = ds;
    r.idx = idx;
    r.n = n;
    core_rng_seed(&r.rng, m->cfg.seed ^ 0x5e95e95e95e95e9ull);
    const size_t ch = (size_t)m->cfg.channels, t = (size_t)m->seg.arch.size;
    const size_t batch = (size_t)m->cfg.seg_batch;
    size_t crops = 0, masks = 0, scratch = 0;
    igd_status st = IGD_OK;
    if (!core_mul4_size(batch, ch, t, t * sizeof(float), &crops) ||
        !core_mul4_size(batch, t, t, sizeof(float), &masks) ||
        !core_mul_size(mdl_synth_scratch((int)ch, (int)t), sizeof(float), &scratch))
        st = core_fail(err, IGD_ERR_INVALID_ARGUMENT, "the head's training batch is too large");
    if (st == IGD_OK) {
        r.crops = core_malloc_aligned(crops);
        r.masks = core_malloc_aligned(masks);
        r.source = core_malloc_aligned(crops / batch);
        r.scratch = core_malloc_aligned(scratch);
        if (!r.crops || !r.masks || !r.source || !r.scratch)
            st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating the head's training batch");
    }
    uint64_t done = 0, planned = m->cfg.seg_steps;
    /* Chunks in turn, each for its share of the steps, until the plan is done; a chunk that
     * holds every image is loaded once. */
    size_t first = 0, loaded = 0;
    bool all = false;
    while (st == IGD_OK && done < planned) {
        if (!all) {
            const double t0 = now();
            st = load_chunk(&r, first, &loaded, err);
            if (st != IGD_OK)
                break;
            mdl_log(m, IGD_LOG_DEBUG, "segmentation head: %zu images loaded in %.1f s", loaded,
                    now() - t0);
            all = first == 0 && loaded == n;
        }
        uint64_t share =
            all ? planned - done
                : (uint64_t)ceil((double)m->cfg.seg_steps * (double)loaded / (double)n);
        st = train_chunk(&r, share > 0 ? share : 1, &done, &planned, deadline, started, err);
        first = (first + loaded) % n;
    }
    run_free(&r);
    if (st == IGD_OK)
        mdl_log(m, IGD_LOG_INFO, "segmentation head: %llu steps in %.1f s",
                (unsigned long long)done, now() - started);
    return st;
}

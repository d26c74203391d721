/* The public model functions: argument checks, locking, threads, error reports. */
#include <string.h>

#include "api/batch.h"
#include "core/alloc.h"
#include "metrics/metrics.h"
#include "model/fit.h"
#include "model/modelfile.h"
#include "model/model.h"
#include "model/session.h"

#define FAIL(err, ...) core_fail((err), IGD_ERR_INVALID_ARGUMENT, __VA_ARGS__)

static igd_status net_index(const igd_model *m, igd_net net, int *id, core_err *err)
{
    if (net != IGD_NET_GLOBAL && net != IGD_NET_LOCAL)
        return FAIL(err, "net must be IGD_NET_GLOBAL or IGD_NET_LOCAL, not %d", (int)net);
    *id = net == IGD_NET_GLOBAL ? MDL_GLOBAL : MDL_LOCAL;
    if (!mdl_has(m, *id))
        return core_fail(err, IGD_ERR_STATE, "this model has no %s model",
                         *id == MDL_GLOBAL ? "global" : "local");
    return IGD_OK;
}

/* Every mutating call runs between these: the write lock, and the model's thread count on the
 * calling thread (the caller's count is put back). */
static void begin_write(igd_model *m)
{
    pthread_rwlock_wrlock(&m->lock);
    nn_threads_enter(mdl_threads(m));
}

static igd_status end_write(igd_model *m, core_err *err, igd_status st)
{
    nn_threads_leave();
    pthread_rwlock_unlock(&m->lock);
    return core_report(&m->err, err, st);
}

igd_status igd_model_create(const igd_options *options, igd_model **out)
{
    core_err err = {0};
    if (!out)
        return core_report(NULL, &err, FAIL(&err, "out is NULL"));
    *out = NULL;
    return core_report(NULL, &err, mdl_create(options, out, &err));
}

void igd_model_free(igd_model *model)
{
    mdl_release(model);
}

const char *igd_model_error(const igd_model *model)
{
    return model ? model->err.msg : "";
}

igd_status igd_model_get_options(const igd_model *model, igd_options **out)
{
    core_err err = {0};
    if (!model || !out)
        return core_report(NULL, &err, FAIL(&err, "model and out must not be NULL"));
    igd_status st = igd_options_copy(&model->opts, out);
    if (st == IGD_OK) /* values the caller sets on the copy count as set, none before */
        memset((*out)->set, 0, sizeof(*out)->set);
    return st;
}

static igd_status set_option(igd_model *m, igd_option key, bool is_int, int64_t iv, double rv)
{
    core_err err = {0};
    if (!m)
        return core_report(NULL, &err, FAIL(&err, "model is NULL"));
    const opt_def *d = opt_find(key);
    if (!d)
        return core_report(&m->err, &err, FAIL(&err, "unknown option %d", (int)key));
    if (!d->runtime)
        return core_report(&m->err, &err,
                           core_fail(&err, IGD_ERR_STATE,
                                     "option '%s' is fixed when the model is created", d->name));
    begin_write(m);
    igd_options saved = m->opts;
    igd_status st =
        is_int ? opt_set_int(&m->opts, key, iv, &err) : opt_set_real(&m->opts, key, rv, &err);
    if (st == IGD_OK)
        st = mdl_reconfigure(m, &err);
    if (st != IGD_OK)
        m->opts = saved;
    else if (key == IGD_OPT_THREADS)
        m->file_threads = false;
    return end_write(m, &err, st);
}

igd_status igd_model_set_option_int(igd_model *model, igd_option key, int64_t value)
{
    return set_option(model, key, true, value, 0);
}

igd_status igd_model_set_option_real(igd_model *model, igd_option key, double value)
{
    return set_option(model, key, false, 0, value);
}

igd_status igd_model_set_normalization(igd_model *model, const double *mean, const double *std,
                                       size_t channels)
{
    core_err err = {0};
    if (!model || !mean || !std)
        return core_report(model ? &model->err : NULL, &err,
                           FAIL(&err, "model, mean and std must not be NULL"));
    if (channels != (size_t)model->cfg.channels)
        return core_report(
            &model->err, &err,
            FAIL(&err, "the model has %d channels, not %zu", model->cfg.channels, channels));
    for (size_t c = 0; c < channels; c++)
        if (!(std[c] > 1e-6 && std[c] < 1e3) || !(mean[c] > -1e3 && mean[c] < 1e3))
            return core_report(
                &model->err, &err,
                FAIL(&err, "channel %zu: mean %g, std %g out of range", c, mean[c], std[c]));
    begin_write(model);
    for (size_t c = 0; c < channels; c++) {
        model->mean[c] = mean[c];
        model->std[c] = std[c];
    }
    return end_write(model, &err, IGD_OK);
}

igd_status igd_model_get_normalization(const igd_model *model, double *mean, double *std,
                                       size_t channels)
{
    core_err err = {0};
    if (!model || !mean || !std)
        return core_report(NULL, &err, FAIL(&err, "model, mean and std must not be NULL"));
    if (channels != (size_t)model->cfg.channels)
        return core_report(
            NULL, &err,
            FAIL(&err, "the model has %d channels, not %zu", model->cfg.channels, channels));
    pthread_rwlock_rdlock((pthread_rwlock_t *)&model->lock);
    for (size_t c = 0; c < channels; c++) {
        mean[c] = model->mean[c];
        std[c] = model->std[c];
    }
    pthread_rwlock_unlock((pthread_rwlock_t *)&model->lock);
    return IGD_OK;
}

void igd_model_set_log(igd_model *model, igd_log_fn fn, void *user)
{
    if (!model)
        return;
    model->cb.log = fn;
    model->cb.log_user = user;
}

void igd_model_set_progress(igd_model *model, igd_progress_fn fn, void *user)
{
    if (!model)
        return;
    model->cb.progress = fn;
    model->cb.progress_user = user;
}

void igd_model_set_abort(igd_model *model, igd_abort_fn fn, void *user)
{
    if (!model)
        return;
    model->cb.stop = fn;
    model->cb.stop_user = user;
}

igd_status igd_model_train_step(igd_model *model, igd_net net, const void *pixels,
                                igd_pixel_type type, size_t count, size_t height, size_t width,
                                size_t channels, size_t row_stride, size_t image_stride,
                                double *losses, size_t loss_count)
{
    core_err err = {0};
    if (!model)
        return core_report(NULL, &err, FAIL(&err, "model is NULL"));
    int id = 0;
    igd_status st = net_index(model, net, &id, &err);
    if (st != IGD_OK)
        return core_report(&model->err, &err, st);
    if (loss_count > 0 && !losses)
        return core_report(&model->err, &err, FAIL(&err, "losses is NULL but loss_count is not 0"));
    begin_write(model);
    double all[IGD_LOSS_COUNT];
    st = api_batch_views(&model->views, pixels, type, count, height, width, channels, row_stride,
                         image_stride, &err);
    if (st == IGD_OK)
        st = mdl_train_step(model, id, model->views.items, count, all, &err);
    if (st == IGD_OK && losses)
        memcpy(losses, all,
               sizeof(double) * (loss_count < IGD_LOSS_COUNT ? loss_count : IGD_LOSS_COUNT));
    return end_write(model, &err, st);
}

igd_status igd_model_estep_begin(igd_model *model, igd_net net)
{
    core_err err = {0};
    if (!model)
        return core_report(NULL, &err, FAIL(&err, "model is NULL"));
    int id = 0;
    igd_status st = net_index(model, net, &id, &err);
    if (st != IGD_OK)
        return core_report(&model->err, &err, st);
    begin_write(model);
    return end_write(model, &err, mdl_estep_begin(model, id, true, &err));
}

igd_status igd_model_estep_add(igd_model *model, igd_net net, const void *pixels,
                               igd_pixel_type type, size_t count, size_t height, size_t width,
                               size_t channels, size_t row_stride, size_t image_stride)
{
    core_err err = {0};
    if (!model)
        return core_report(NULL, &err, FAIL(&err, "model is NULL"));
    int id = 0;
    igd_status st = net_index(model, net, &id, &err);
    if (st != IGD_OK)
        return core_report(&model->err, &err, st);
    begin_write(model);
    st = api_batch_views(&model->views, pixels, type, count, height, width, channels, row_stride,
                         image_stride, &err);
    if (st == IGD_OK)
        st = mdl_estep_add(model, id, model->views.items, count, &err);
    return end_write(model, &err, st);
}

igd_status igd_model_estep_finish(igd_model *model, igd_net net)
{
    core_err err = {0};
    if (!model)
        return core_report(NULL, &err, FAIL(&err, "model is NULL"));
    int id = 0;
    igd_status st = net_index(model, net, &id, &err);
    if (st != IGD_OK)
        return core_report(&model->err, &err, st);
    begin_write(model);
    return end_write(model, &err, mdl_estep_finish(model, id, &err));
}

igd_status igd_model_get_center(const igd_model *model, igd_net net, float *center,
                                size_t latent_size, double *spread)
{
    core_err err = {0};
    if (!model || !center || !spread)
        return core_report(NULL, &err, FAIL(&err, "model, center and spread must not be NULL"));
    int id = 0;
    igd_status st = net_index(model, net, &id, &err);
    if (st != IGD_OK)
        return core_report(NULL, &err, st);
    const mdl_net *n = &model->net[id];
    if (latent_size != (size_t)n->arch.latent)
        return core_report(
            NULL, &err, FAIL(&err, "the latent size is %d, not %zu", n->arch.latent, latent_size));
    if (!n->has_stats)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_STATE, "no E-step has run on this model"));
    pthread_rwlock_rdlock((pthread_rwlock_t *)&model->lock);
    memcpy(center, n->center, sizeof(float) * latent_size);
    *spread = n->spread;
    pthread_rwlock_unlock((pthread_rwlock_t *)&model->lock);
    return IGD_OK;
}

igd_status igd_model_fit(igd_model *model, const igd_dataset *train)
{
    core_err err = {0};
    if (!model || !train)
        return core_report(model ? &model->err : NULL, &err,
                           FAIL(&err, "model and train must not be NULL"));
    begin_write(model);
    return end_write(model, &err, mdl_fit(model, train, &err));
}

igd_status igd_model_calibrate(igd_model *model, const double *scores, size_t count,
                               double quantile)
{
    core_err err = {0};
    if (!model)
        return core_report(NULL, &err, FAIL(&err, "model is NULL"));
    double t;
    igd_status st = met_quantile(scores, count, quantile, &t, &err);
    if (st == IGD_OK && !(t > 0))
        st = FAIL(&err, "the calibrated threshold %g is not positive", t);
    if (st != IGD_OK)
        return core_report(&model->err, &err, st);
    begin_write(model);
    model->threshold = t;
    model->has_threshold = true;
    return end_write(model, &err, IGD_OK);
}

igd_status igd_model_set_threshold(igd_model *model, double threshold)
{
    core_err err = {0};
    if (!model)
        return core_report(NULL, &err, FAIL(&err, "model is NULL"));
    if (!(threshold > 0) || threshold > 1e300)
        return core_report(
            &model->err, &err,
            FAIL(&err, "the threshold must be positive and finite, not %g", threshold));
    begin_write(model);
    model->threshold = threshold;
    model->has_threshold = true;
    return end_write(model, &err, IGD_OK);
}

igd_status igd_model_get_threshold(const igd_model *model, double *threshold)
{
    core_err err = {0};
    if (!model || !threshold)
        return core_report(NULL, &err, FAIL(&err, "model and threshold must not be NULL"));
    if (!model->has_threshold)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_STATE, "the model has no threshold yet"));
    *threshold = model->threshold;
    return IGD_OK;
}

igd_status igd_model_normalize_scores(const igd_model *model, const double *scores, size_t count,
                                      double *normalized)
{
    core_err err = {0};
    if (!model || (count > 0 && (!scores || !normalized)))
        return core_report(NULL, &err, FAIL(&err, "model, scores and normalized must not be NULL"));
    if (!model->has_threshold)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_STATE, "the model has no threshold yet"));
    for (size_t i = 0; i < count; i++)
        normalized[i] = mdl_normalized_score(model, scores[i]);
    return IGD_OK;
}

igd_status igd_model_save(igd_model *model, const char *path, unsigned flags)
{
    core_err err = {0};
    if (!model || !path)
        return core_report(model ? &model->err : NULL, &err,
                           FAIL(&err, "model and path must not be NULL"));
    if (flags & ~(unsigned)IGD_SAVE_OPTIMIZER)
        return core_report(&model->err, &err, FAIL(&err, "unknown save flags 0x%x", flags));
    /* Saving reads the model: concurrent detections may go on. */
    pthread_rwlock_rdlock(&model->lock);
    igd_status st = mdl_save_file(model, path, flags, &err);
    pthread_rwlock_unlock(&model->lock);
    return core_report(&model->err, &err, st);
}

igd_status igd_model_save_memory(igd_model *model, unsigned flags, void *buffer, size_t capacity,
                                 size_t *size)
{
    core_err err = {0};
    if (!model || !size)
        return core_report(model ? &model->err : NULL, &err,
                           FAIL(&err, "model and size must not be NULL"));
    if (flags & ~(unsigned)IGD_SAVE_OPTIMIZER)
        return core_report(&model->err, &err, FAIL(&err, "unknown save flags 0x%x", flags));
    pthread_rwlock_rdlock(&model->lock);
    size_t need = mdl_save_size(model, flags);
    igd_status st = IGD_OK;
    *size = need;
    if (buffer) {
        if (capacity < need)
            st = FAIL(&err, "the buffer holds %zu bytes; the model needs %zu", capacity, need);
        else
            st = mdl_save_buffer(model, flags, buffer, need, &err);
    }
    pthread_rwlock_unlock(&model->lock);
    return core_report(&model->err, &err, st);
}

igd_status igd_model_load(const char *path, const igd_options *runtime, igd_model **out)
{
    core_err err = {0};
    if (!path || !out)
        return core_report(NULL, &err, FAIL(&err, "path and out must not be NULL"));
    *out = NULL;
    return core_report(NULL, &err, mdl_load_file(path, runtime, out, &err));
}

igd_status igd_model_load_memory(const void *data, size_t size, const igd_options *runtime,
                                 igd_model **out)
{
    core_err err = {0};
    if (!data || !out)
        return core_report(NULL, &err, FAIL(&err, "data and out must not be NULL"));
    *out = NULL;
    return core_report(NULL, &err, mdl_load_buffer(data, size, runtime, out, &err));
}

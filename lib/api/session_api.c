/* The public session functions: concurrent detection under the model's read lock. */
#include <string.h>

#include "core/alloc.h"
#include "model/session.h"

#define FAIL(err, ...) core_fail((err), IGD_ERR_INVALID_ARGUMENT, __VA_ARGS__)

igd_status igd_session_create(igd_model *model, igd_session **out)
{
    core_err err = {0};
    if (!model || !out)
        return core_report(NULL, &err, FAIL(&err, "model and out must not be NULL"));
    *out = NULL;
    pthread_rwlock_rdlock(&model->lock);
    nn_threads_enter(mdl_threads(model));
    igd_status st = mdl_session_create(model, out, &err);
    nn_threads_leave();
    pthread_rwlock_unlock(&model->lock);
    return core_report(NULL, &err, st);
}

void igd_session_free(igd_session *session)
{
    mdl_session_free(session);
}

const char *igd_session_error(const igd_session *session)
{
    return session ? session->err.msg : "";
}

/* Detection calls run between these: the model's read lock and its thread count (the caller's
 * count is put back). */
static void begin_read(igd_session *s)
{
    pthread_rwlock_rdlock(&s->model->lock);
    nn_threads_enter(mdl_threads(s->model));
}

static igd_status end_read(igd_session *s, core_err *err, igd_status st)
{
    nn_threads_leave();
    pthread_rwlock_unlock(&s->model->lock);
    return core_report(&s->err, err, st);
}

static igd_status detect(igd_session *session, const void *pixels, igd_pixel_type type,
                         size_t count, size_t height, size_t width, size_t channels,
                         size_t row_stride, size_t image_stride, double *scores,
                         unsigned char *is_anomaly, double *parts, size_t parts_per_image,
                         float *maps)
{
    core_err err = {0};
    if (!session || !scores)
        return core_report(session ? &session->err : NULL, &err,
                           FAIL(&err, "session and scores must not be NULL"));
    if (parts_per_image > 0 && !parts)
        return core_report(&session->err, &err,
                           FAIL(&err, "parts is NULL but parts_per_image is not 0"));
    igd_model *m = session->model;
    begin_read(session);
    igd_status st = IGD_OK;
    if (is_anomaly && !m->has_threshold)
        st = core_fail(&err, IGD_ERR_STATE,
                       "decisions need a threshold: calibrate or set one first");
    if (st == IGD_OK)
        st = api_batch_views(&session->views, pixels, type, count, height, width, channels,
                             row_stride, image_stride, &err);
    if (st == IGD_OK && count > session->parts_cap) {
        double *p = core_malloc_array(count, sizeof(double) * IGD_PART_COUNT);
        if (p) {
            core_free(session->parts);
            session->parts = p;
            session->parts_cap = count;
        } else {
            st = core_fail(&err, IGD_ERR_OUT_OF_MEMORY, "allocating score parts");
        }
    }
    double *all = session->parts;
    if (st == IGD_OK)
        st = mdl_session_detect(session, session->views.items, count, parts ? parts_per_image : 0,
                                scores, all, maps, &err);
    if (st == IGD_OK) {
        size_t keep = parts_per_image < IGD_PART_COUNT ? parts_per_image : IGD_PART_COUNT;
        for (size_t i = 0; i < count; i++) {
            if (parts)
                memcpy(parts + i * parts_per_image, all + i * IGD_PART_COUNT,
                       keep * sizeof(double));
            if (is_anomaly)
                is_anomaly[i] = scores[i] >= m->threshold;
        }
    }
    return end_read(session, &err, st);
}

igd_status igd_session_detect(igd_session *session, const void *pixels, igd_pixel_type type,
                              size_t count, size_t height, size_t width, size_t channels,
                              size_t row_stride, size_t image_stride, double *scores,
                              unsigned char *is_anomaly, double *parts, size_t parts_per_image)
{
    return detect(session, pixels, type, count, height, width, channels, row_stride, image_stride,
                  scores, is_anomaly, parts, parts_per_image, NULL);
}

igd_status igd_session_analyze(igd_session *session, const void *pixels, igd_pixel_type type,
                               size_t count, size_t height, size_t width, size_t channels,
                               size_t row_stride, size_t image_stride, double *scores,
                               unsigned char *is_anomaly, double *parts, size_t parts_per_image,
                               float *maps)
{
    if (!maps) {
        core_err err = {0};
        return core_report(session ? &session->err : NULL, &err,
                           FAIL(&err, "maps must not be NULL"));
    }
    return detect(session, pixels, type, count, height, width, channels, row_stride, image_stride,
                  scores, is_anomaly, parts, parts_per_image, maps);
}

igd_status igd_session_heatmap(igd_session *session, const void *pixels, igd_pixel_type type,
                               size_t count, size_t height, size_t width, size_t channels,
                               size_t row_stride, size_t image_stride, float *maps)
{
    core_err err = {0};
    if (!session || !maps)
        return core_report(session ? &session->err : NULL, &err,
                           FAIL(&err, "session and maps must not be NULL"));
    begin_read(session);
    igd_status st = api_batch_views(&session->views, pixels, type, count, height, width, channels,
                                    row_stride, image_stride, &err);
    if (st == IGD_OK)
        st = mdl_session_heatmap(session, session->views.items, count, maps, &err);
    return end_read(session, &err, st);
}

igd_status igd_session_encode(igd_session *session, igd_net net, const void *pixels,
                              igd_pixel_type type, size_t count, size_t height, size_t width,
                              size_t channels, size_t row_stride, size_t image_stride,
                              float *latents, size_t capacity)
{
    core_err err = {0};
    if (!session || !latents)
        return core_report(session ? &session->err : NULL, &err,
                           FAIL(&err, "session and latents must not be NULL"));
    if (net != IGD_NET_GLOBAL && net != IGD_NET_LOCAL)
        return core_report(&session->err, &err, FAIL(&err, "unknown net %d", (int)net));
    int id = net == IGD_NET_GLOBAL ? MDL_GLOBAL : MDL_LOCAL;
    if (!mdl_has(session->model, id))
        return core_report(&session->err, &err,
                           core_fail(&err, IGD_ERR_STATE, "the model has no such net"));
    begin_read(session);
    igd_status st = api_batch_views(&session->views, pixels, type, count, height, width, channels,
                                    row_stride, image_stride, &err);
    if (st == IGD_OK)
        st = mdl_session_encode(session, id, session->views.items, count, latents, capacity, &err);
    return end_read(session, &err, st);
}

igd_status igd_session_patch_grid(const igd_session *session, size_t *rows, size_t *cols)
{
    core_err err = {0};
    if (!session || !rows || !cols)
        return core_report(NULL, &err, FAIL(&err, "session, rows and cols must not be NULL"));
    const igd_model *m = session->model;
    if (!mdl_has(m, MDL_LOCAL))
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_STATE, "the model has no local model"));
    if (m->cfg.local_scale > 0)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_STATE,
                                     "with local_scale the grid depends on each image's size"));
    size_t cells =
        (size_t)mdl_grid_count(m->cfg.image_size, m->cfg.arch[MDL_LOCAL].size, m->cfg.patch_stride);
    *rows = *cols = cells;
    return IGD_OK;
}

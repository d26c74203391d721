/* The public metrics API: image-level metrics and the pixel-metrics object. The work and the
 * argument checks are in lib/metrics; these wrappers publish the error. */
#include "core/alloc.h"
#include "core/error.h"
#include "igd/igd.h"
#include "metrics/metrics.h"

struct igd_pixel_metrics {
    met_pixels px;
};

igd_status igd_metric_auroc(const double *scores, const int *labels, size_t count, double *auroc)
{
    core_err err = {0};
    igd_status st = met_auroc(scores, labels, count, auroc, &err);
    return core_report(NULL, &err, st);
}

igd_status igd_metric_f1_max(const double *scores, const int *labels, size_t count, double *f1,
                             double *threshold)
{
    core_err err = {0};
    igd_status st = IGD_OK;
    if (!threshold)
        st = core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "threshold is NULL");
    else
        st = met_f1_max(scores, labels, count, f1, threshold, &err);
    return core_report(NULL, &err, st);
}

igd_status igd_metric_accuracy(const double *scores, const int *labels, size_t count,
                               double threshold, double *accuracy)
{
    core_err err = {0};
    igd_status st = met_accuracy(scores, labels, count, threshold, accuracy, &err);
    return core_report(NULL, &err, st);
}

igd_status igd_metric_roc(const double *scores, const int *labels, size_t count, double *fpr,
                          double *tpr, double *thresholds, size_t capacity, size_t *points)
{
    core_err err = {0};
    igd_status st = met_roc(scores, labels, count, fpr, tpr, thresholds, capacity, points, &err);
    return core_report(NULL, &err, st);
}

igd_status igd_metric_quantile(const double *values, size_t count, double q, double *out)
{
    core_err err = {0};
    igd_status st = met_quantile(values, count, q, out, &err);
    return core_report(NULL, &err, st);
}

igd_status igd_pixel_metrics_create(igd_pixel_metrics **out)
{
    core_err err = {0};
    igd_status st = IGD_OK;
    if (!out) {
        st = core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "out is NULL");
    } else {
        *out = core_malloc(sizeof **out);
        if (!*out)
            st = core_fail(&err, IGD_ERR_OUT_OF_MEMORY, "out of memory creating pixel metrics");
        else
            met_pixels_init(&(*out)->px);
    }
    return core_report(NULL, &err, st);
}

void igd_pixel_metrics_free(igd_pixel_metrics *metrics)
{
    if (!metrics)
        return;
    met_pixels_clear(&metrics->px);
    core_free(metrics);
}

igd_status igd_pixel_metrics_add(igd_pixel_metrics *metrics, const float *map,
                                 const unsigned char *mask, size_t width, size_t height)
{
    core_err err = {0};
    igd_status st = metrics ? met_pixels_add(&metrics->px, map, mask, width, height, &err)
                            : core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "metrics is NULL");
    return core_report(NULL, &err, st);
}

igd_status igd_pixel_metrics_auroc(igd_pixel_metrics *metrics, double *auroc)
{
    core_err err = {0};
    igd_status st = metrics ? met_pixels_auroc(&metrics->px, auroc, &err)
                            : core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "metrics is NULL");
    return core_report(NULL, &err, st);
}

igd_status igd_pixel_metrics_aupro(igd_pixel_metrics *metrics, double max_fpr, double *aupro)
{
    core_err err = {0};
    igd_status st = metrics ? met_pixels_aupro(&metrics->px, max_fpr, aupro, &err)
                            : core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "metrics is NULL");
    return core_report(NULL, &err, st);
}

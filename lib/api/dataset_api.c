/* The data set API: argument checks around lib/io's data sets, and error reporting. */
#include <math.h>

#include "core/error.h"
#include "igd/igd.h"
#include "io/dataset.h"
#include "io/view.h"

#define FAIL(...) core_report(NULL, &err, core_fail(&err, __VA_ARGS__))
#define REPORT(expr) core_report(NULL, &err, (expr))

igd_status igd_dataset_open_mvtec(const char *root, igd_split split, igd_dataset **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!root || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "root and out must not be NULL");
    if (split != IGD_SPLIT_TRAIN && split != IGD_SPLIT_TEST)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "unknown split %d", (int)split);
    return REPORT(ds_open_mvtec(root, split, out, &err));
}

igd_status igd_dataset_open_folder(const char *path, int label, igd_dataset **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!path || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "path and out must not be NULL");
    if (label != 0 && label != 1)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "label %d is neither 0 nor 1", label);
    return REPORT(ds_open_folder(path, label, out, &err));
}

igd_status igd_dataset_open_idx(const char *images_path, const char *labels_path,
                                const igd_options *limits, igd_dataset **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!images_path || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "images_path and out must not be NULL");
    return REPORT(ds_open_idx(images_path, labels_path, limits, out, &err));
}

igd_status igd_dataset_set_limits(igd_dataset *dataset, const igd_options *limits)
{
    core_err err = {0};
    if (!dataset || !limits)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "dataset and limits must not be NULL");
    ds_set_limits(dataset, limits);
    return IGD_OK;
}

igd_status igd_dataset_from_pixels(const void *pixels, igd_pixel_type type, size_t count,
                                   size_t height, size_t width, size_t channels, size_t row_stride,
                                   size_t image_stride, const int *labels, const int *classes,
                                   igd_dataset **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "out must not be NULL");
    igd_status st = io_batch_check(pixels, type, count, height, width, channels, row_stride,
                                   image_stride, &err);
    if (st != IGD_OK)
        return REPORT(st);
    if (labels)
        for (size_t i = 0; i < count; i++)
            if (labels[i] != 0 && labels[i] != 1)
                return FAIL(IGD_ERR_INVALID_ARGUMENT, "label %d of image %zu is neither 0 nor 1",
                            labels[i], i);
    return REPORT(ds_from_pixels(pixels, type, count, height, width, channels, row_stride,
                                 image_stride, labels, classes, out, &err));
}

igd_status igd_dataset_copy(const igd_dataset *dataset, igd_dataset **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!dataset || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "dataset and out must not be NULL");
    return REPORT(ds_copy(dataset, out, &err));
}

void igd_dataset_free(igd_dataset *dataset)
{
    ds_free(dataset);
}

size_t igd_dataset_count(const igd_dataset *dataset)
{
    return dataset ? ds_count(dataset) : 0;
}

/* The common checks of the per-sample functions. */
static igd_status check_sample(const igd_dataset *dataset, size_t index, const void *out,
                               core_err *err)
{
    if (!dataset || !out)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "dataset and the output must not be NULL");
    if (index >= dataset->count)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "sample %zu of a data set of %zu", index,
                         dataset->count);
    return IGD_OK;
}

igd_status igd_dataset_label(const igd_dataset *dataset, size_t index, int *label)
{
    core_err err = {0};
    igd_status st = check_sample(dataset, index, label, &err);
    if (st != IGD_OK)
        return REPORT(st);
    *label = ds_label(dataset, index);
    return IGD_OK;
}

igd_status igd_dataset_class(const igd_dataset *dataset, size_t index, int *class_id)
{
    core_err err = {0};
    igd_status st = check_sample(dataset, index, class_id, &err);
    if (st != IGD_OK)
        return REPORT(st);
    *class_id = ds_class(dataset, index);
    return IGD_OK;
}

const char *igd_dataset_class_name(const igd_dataset *dataset, int class_id)
{
    return dataset ? ds_class_name(dataset, class_id) : NULL;
}

const char *igd_dataset_path(const igd_dataset *dataset, size_t index)
{
    if (!dataset || index >= dataset->count)
        return NULL;
    return ds_path(dataset, index);
}

igd_status igd_dataset_load(const igd_dataset *dataset, size_t index, igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    igd_status st = check_sample(dataset, index, out, &err);
    if (st != IGD_OK)
        return REPORT(st);
    return REPORT(ds_load(dataset, index, out, &err));
}

igd_status igd_dataset_load_mask(const igd_dataset *dataset, size_t index, igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    igd_status st = check_sample(dataset, index, out, &err);
    if (st != IGD_OK)
        return REPORT(st);
    return REPORT(ds_load_mask(dataset, index, out, &err));
}

igd_status igd_dataset_set_normal_class(igd_dataset *dataset, int class_id)
{
    core_err err = {0};
    if (!dataset)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "dataset must not be NULL");
    return REPORT(ds_set_normal_class(dataset, class_id, &err));
}

igd_status igd_dataset_keep_label(igd_dataset *dataset, int label)
{
    core_err err = {0};
    if (!dataset)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "dataset must not be NULL");
    if (label != 0 && label != 1)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "label %d is neither 0 nor 1", label);
    ds_keep_label(dataset, label);
    return IGD_OK;
}

igd_status igd_dataset_shuffle(igd_dataset *dataset, uint64_t seed)
{
    core_err err = {0};
    if (!dataset)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "dataset must not be NULL");
    ds_shuffle(dataset, seed);
    return IGD_OK;
}

igd_status igd_dataset_subsample(igd_dataset *dataset, double share, uint64_t seed)
{
    core_err err = {0};
    if (!dataset)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "dataset must not be NULL");
    if (!(share > 0.0 && share <= 1.0))
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "share %g is outside (0, 1]", share);
    ds_subsample(dataset, share, seed);
    return IGD_OK;
}

igd_status igd_dataset_contaminate(igd_dataset *dataset, igd_dataset *source, double rate,
                                   uint64_t seed)
{
    core_err err = {0};
    if (!dataset || !source)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "dataset and source must not be NULL");
    if (dataset == source)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "dataset and source must differ");
    if (!(rate >= 0.0 && rate < 1.0))
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "rate %g is outside [0, 1)", rate);
    return REPORT(ds_contaminate(dataset, source, rate, seed, &err));
}

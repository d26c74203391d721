/* Sample storage shared by data sets: records, a string pool, class names, pixel blocks. */
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/dataset.h"
#include "io/image.h"

igd_status ds_store_new(ds_kind kind, ds_store **out, core_err *err)
{
    ds_store *s = core_calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a data set");
    atomic_init(&s->refs, 1);
    s->kind = kind;
    *out = s;
    return IGD_OK;
}

void ds_store_retain(ds_store *store)
{
    atomic_fetch_add_explicit(&store->refs, 1, memory_order_relaxed);
}

void ds_store_release(ds_store *store)
{
    if (!store || atomic_fetch_sub_explicit(&store->refs, 1, memory_order_acq_rel) != 1)
        return;
    core_free(store->records);
    core_free(store->pixels);
    core_free(store->strings);
    core_free(store->class_names);
    core_free(store);
}

/* Grows *buf (of *capacity elements of size each) to hold at least need elements. */
static bool grow(void **buf, size_t *capacity, size_t need, size_t size)
{
    if (need <= *capacity)
        return true;
    size_t cap = *capacity ? *capacity : 16, bytes;
    while (cap < need)
        if (!core_mul_size(cap, 2, &cap))
            return false;
    if (!core_mul_size(cap, size, &bytes))
        return false;
    void *p = core_realloc(*buf, bytes);
    if (!p)
        return false;
    *buf = p;
    *capacity = cap;
    return true;
}

igd_status ds_store_add_string(ds_store *store, const char *const *parts, const size_t *lengths,
                               size_t n, size_t *offset, core_err *err)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        if (!core_add_size(total, lengths[i], &total))
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "a name is too long");
    size_t need;
    if (!core_add_size(store->strings_used, total, &need) ||
        !grow((void **)&store->strings, &store->strings_capacity, need, 1))
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating file names");
    char *p = store->strings + store->strings_used;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, parts[i], lengths[i]);
        p += lengths[i];
    }
    *p = '\0';
    *offset = store->strings_used;
    store->strings_used = need;
    return IGD_OK;
}

igd_status ds_store_add_record(ds_store *store, size_t path, size_t mask, int label, int class_id,
                               core_err *err)
{
    if (!grow((void **)&store->records, &store->capacity, store->count + 1, sizeof *store->records))
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating data set samples");
    store->records[store->count++] = (ds_record){path, mask, label, class_id};
    return IGD_OK;
}

igd_status ds_store_set_class_names(ds_store *store, const char *const *names, size_t count,
                                    core_err *err)
{
    size_t *offs = core_malloc_array(count, sizeof *offs);
    if (!offs)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating class names");
    for (size_t i = 0; i < count; i++) {
        offs[i] = DS_NO_STRING;
        if (!names[i])
            continue;
        size_t len = strlen(names[i]);
        igd_status st = ds_store_add_string(store, &names[i], &len, 1, &offs[i], err);
        if (st != IGD_OK) {
            core_free(offs);
            return st;
        }
    }
    core_free(store->class_names);
    store->class_names = offs;
    store->class_count = count;
    return IGD_OK;
}

igd_status ds_from_store(ds_store *store, igd_dataset **out, core_err *err)
{
    *out = NULL;
    igd_dataset *ds = core_calloc(1, sizeof *ds);
    if (ds) {
        ds->samples = core_malloc_array(store->count ? store->count : 1, sizeof *ds->samples);
        ds->stores = core_malloc(sizeof *ds->stores);
    }
    if (!ds || !ds->samples || !ds->stores) {
        if (ds) {
            core_free(ds->samples);
            core_free(ds->stores);
            core_free(ds);
        }
        ds_store_release(store);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a data set");
    }
    for (size_t i = 0; i < store->count; i++)
        ds->samples[i] = (ds_sample){store, i, store->records[i].label};
    ds->count = store->count;
    ds->capacity = store->count ? store->count : 1;
    ds->stores[0] = store;
    ds->store_count = 1;
    *out = ds;
    return IGD_OK;
}

igd_status ds_from_pixels(const void *pixels, igd_pixel_type type, size_t count, size_t height,
                          size_t width, size_t channels, size_t row_stride, size_t image_stride,
                          const int *labels, const int *classes, igd_dataset **out, core_err *err)
{
    *out = NULL;
    size_t row = width * channels * io_pixel_size(type), image = row * height, total;
    if (!core_mul_size(image, count, &total))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "%zu images overflow", count);
    ds_store *s;
    CORE_TRY(ds_store_new(DS_PIXELS, &s, err));
    s->pixels = core_malloc(total);
    s->records = core_malloc_array(count, sizeof *s->records);
    if (!s->pixels || !s->records) {
        ds_store_release(s);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu bytes of pixels", total);
    }
    s->capacity = count;
    s->type = type;
    s->width = width;
    s->height = height;
    s->channels = channels;
    s->image_bytes = image;
    for (size_t i = 0; i < count; i++) {
        io_view v =
            io_batch_view(pixels, type, height, width, channels, row_stride, image_stride, i);
        for (size_t y = 0; y < height; y++)
            memcpy(s->pixels + i * image + y * row, v.data + y * v.row_stride, row);
        s->records[i] = (ds_record){DS_NO_STRING, DS_NO_STRING, labels ? labels[i] : 0,
                                    classes ? classes[i] : DS_NONE};
    }
    s->count = count;
    return ds_from_store(s, out, err);
}

/* Data sets as lists of samples: copies, access, labels, and the random rearrangements. */
#include "io/dataset.h"

#include <math.h>
#include <string.h>

#include "api/options.h"
#include "core/alloc.h"
#include "core/checked.h"
#include "core/rng.h"
#include "io/codec.h"
#include "io/file.h"
#include "io/image.h"

void ds_free(igd_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->store_count; i++)
        ds_store_release(ds->stores[i]);
    core_free(ds->stores);
    core_free(ds->samples);
    core_free(ds);
}

igd_status ds_copy(const igd_dataset *ds, igd_dataset **out, core_err *err)
{
    *out = NULL;
    igd_dataset *c = core_calloc(1, sizeof *c);
    if (c) {
        c->samples = core_malloc_array(ds->count ? ds->count : 1, sizeof *c->samples);
        c->stores = core_malloc_array(ds->store_count, sizeof *c->stores);
    }
    if (!c || !c->samples || !c->stores) {
        if (c) {
            core_free(c->samples);
            core_free(c->stores);
            core_free(c);
        }
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "copying a data set");
    }
    memcpy(c->samples, ds->samples, ds->count * sizeof *c->samples);
    c->count = ds->count;
    c->capacity = ds->count ? ds->count : 1;
    for (size_t i = 0; i < ds->store_count; i++) {
        c->stores[i] = ds->stores[i];
        ds_store_retain(c->stores[i]);
    }
    c->store_count = ds->store_count;
    c->max_pixels = ds->max_pixels;
    c->max_side = ds->max_side;
    *out = c;
    return IGD_OK;
}

const char *ds_path(const igd_dataset *ds, size_t index)
{
    const ds_sample *s = &ds->samples[index];
    return ds_store_string(s->store, s->store->records[s->index].path);
}

const char *ds_class_name(const igd_dataset *ds, int class_id)
{
    /* Every store of a data set has the same class names (see ds_contaminate). */
    const ds_store *st = ds->stores[0];
    if (class_id < 0 || (size_t)class_id >= st->class_count)
        return NULL;
    return ds_store_string(st, st->class_names[class_id]);
}

static io_view pixel_view(const ds_store *st, size_t index)
{
    io_view v = {
        .data = st->pixels + index * st->image_bytes,
        .type = st->type,
        .width = st->width,
        .height = st->height,
        .channels = st->channels,
        .row_stride = st->width * st->channels * io_pixel_size(st->type),
    };
    return v;
}

void ds_set_limits(igd_dataset *ds, const igd_options *limits)
{
    ds->max_pixels = opt_int(limits, IGD_OPT_MAX_IMAGE_PIXELS);
    ds->max_side = opt_int(limits, IGD_OPT_MAX_IMAGE_SIDE);
}

/* The data set's limits as options. */
static const igd_options *own_limits(const igd_dataset *ds, igd_options *buf)
{
    opt_defaults(buf);
    core_err ignored = {0};
    if (ds->max_pixels > 0)
        (void)opt_set_int(buf, IGD_OPT_MAX_IMAGE_PIXELS, ds->max_pixels, &ignored);
    if (ds->max_side > 0)
        (void)opt_set_int(buf, IGD_OPT_MAX_IMAGE_SIDE, ds->max_side, &ignored);
    return buf;
}

igd_status ds_view(const igd_dataset *ds, size_t index, const igd_options *limits, io_view *view,
                   igd_image **holder, core_err *err)
{
    *holder = NULL;
    if (index >= ds->count)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "sample %zu of %zu", index, ds->count);
    const ds_sample *s = &ds->samples[index];
    if (s->store->kind == DS_PIXELS) {
        *view = pixel_view(s->store, s->index);
        return IGD_OK;
    }
    igd_options buf;
    CORE_TRY(
        io_image_load(ds_path(ds, index), limits ? limits : own_limits(ds, &buf), holder, err));
    *view = io_image_view(*holder);
    return IGD_OK;
}

igd_status ds_load(const igd_dataset *ds, size_t index, igd_image **out, core_err *err)
{
    *out = NULL;
    const ds_sample *s = &ds->samples[index];
    igd_options buf;
    if (s->store->kind == DS_FILES)
        return io_image_load(ds_path(ds, index), own_limits(ds, &buf), out, err);
    io_view v = pixel_view(s->store, s->index);
    return io_image_copy_pixels(v.data, v.type, v.width, v.height, v.channels, v.row_stride, out,
                                err);
}

/* The size of sample index without decoding its pixels where possible. */
static igd_status sample_size(const igd_dataset *ds, size_t index, size_t *width, size_t *height,
                              core_err *err)
{
    const ds_sample *s = &ds->samples[index];
    if (s->store->kind == DS_PIXELS) {
        *width = s->store->width;
        *height = s->store->height;
        return IGD_OK;
    }
    igd_image *im;
    igd_options buf;
    CORE_TRY(io_image_load(ds_path(ds, index), own_limits(ds, &buf), &im, err));
    *width = im->width;
    *height = im->height;
    io_image_free(im);
    return IGD_OK;
}

igd_status ds_load_mask(const igd_dataset *ds, size_t index, igd_image **out, core_err *err)
{
    *out = NULL;
    const ds_sample *s = &ds->samples[index];
    size_t w, h;
    if (s->label == 0) {
        CORE_TRY(sample_size(ds, index, &w, &h, err));
        return io_image_new(w, h, 1, IGD_PIXEL_U8, true, out, err);
    }
    const char *mask_path = ds_store_string(s->store, s->store->records[s->index].mask);
    if (!mask_path)
        return core_fail(err, IGD_ERR_NOT_FOUND, "anomalous sample %zu has no mask", index);
    igd_image *mask;
    igd_options buf;
    CORE_TRY(io_image_load(mask_path, own_limits(ds, &buf), &mask, err));
    igd_status st = sample_size(ds, index, &w, &h, err);
    if (st == IGD_OK && (w != mask->width || h != mask->height))
        st = core_fail(err, IGD_ERR_CORRUPT, "the mask '%s' is %zu x %zu, its image %zu x %zu",
                       mask_path, mask->width, mask->height, w, h);
    if (st == IGD_OK)
        st = io_image_new(w, h, 1, IGD_PIXEL_U8, false, out, err);
    if (st != IGD_OK) {
        io_image_free(mask);
        return st;
    }
    /* Any nonzero sample of a pixel marks it anomalous. */
    size_t ps = io_pixel_size(mask->type), px = ps * mask->channels;
    for (size_t y = 0; y < h; y++) {
        const unsigned char *src = mask->data + y * mask->stride;
        unsigned char *dst = (*out)->data + y * (*out)->stride;
        for (size_t x = 0; x < w; x++) {
            unsigned char any = 0;
            for (size_t b = 0; b < px; b++)
                any |= src[x * px + b];
            dst[x] = any ? 255 : 0;
        }
    }
    io_image_free(mask);
    return IGD_OK;
}

igd_status ds_set_normal_class(igd_dataset *ds, int class_id, core_err *err)
{
    size_t found = 0;
    for (size_t i = 0; i < ds->count; i++)
        found += ds_class(ds, i) == class_id;
    if (found == 0)
        return core_fail(err, IGD_ERR_NOT_FOUND, "no sample has class %d", class_id);
    for (size_t i = 0; i < ds->count; i++)
        ds->samples[i].label = ds_class(ds, i) == class_id ? 0 : 1;
    return IGD_OK;
}

void ds_keep_label(igd_dataset *ds, int label)
{
    size_t kept = 0;
    for (size_t i = 0; i < ds->count; i++)
        if (ds->samples[i].label == label)
            ds->samples[kept++] = ds->samples[i];
    ds->count = kept;
}

void ds_shuffle(igd_dataset *ds, uint64_t seed)
{
    core_rng rng;
    core_rng_seed(&rng, seed);
    for (size_t i = ds->count; i > 1; i--) {
        size_t j = (size_t)core_rng_below(&rng, i);
        ds_sample t = ds->samples[i - 1];
        ds->samples[i - 1] = ds->samples[j];
        ds->samples[j] = t;
    }
}

/* Selection sampling (Knuth's algorithm S): the next of `left` candidates is taken with
 * probability needed / left, which takes exactly `needed` of them, each set equally likely. */
static bool take(core_rng *rng, size_t needed, size_t left)
{
    return (double)left * core_rng_uniform(rng) < (double)needed;
}

void ds_subsample(igd_dataset *ds, double share, uint64_t seed)
{
    size_t n = ds->count;
    size_t want = (size_t)llround(share * (double)n);
    if (want == 0 && n > 0)
        want = 1;
    if (want >= n)
        return;
    core_rng rng;
    core_rng_seed(&rng, seed);
    size_t kept = 0;
    for (size_t i = 0; i < n && kept < want; i++)
        if (take(&rng, want - kept, n - i))
            ds->samples[kept++] = ds->samples[i];
    ds->count = kept;
}

/* Whether two stores name their classes alike (samples may then be mixed). */
static bool same_classes(const ds_store *a, const ds_store *b)
{
    if (a == b)
        return true;
    if (a->class_count == 0 || a->class_count != b->class_count)
        return false;
    for (size_t i = 0; i < a->class_count; i++) {
        const char *x = ds_store_string(a, a->class_names[i]);
        const char *y = ds_store_string(b, b->class_names[i]);
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            return false;
    }
    return true;
}

static bool has_store(const igd_dataset *ds, const ds_store *st)
{
    for (size_t i = 0; i < ds->store_count; i++)
        if (ds->stores[i] == st)
            return true;
    return false;
}

igd_status ds_contaminate(igd_dataset *ds, igd_dataset *source, double rate, uint64_t seed,
                          core_err *err)
{
    if (!same_classes(ds->stores[0], source->stores[0]))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "the data sets come from different files or pixels");
    size_t n = ds->count, anomalous = 0, available = 0;
    for (size_t i = 0; i < n; i++)
        anomalous += ds->samples[i].label != 0;
    for (size_t i = 0; i < source->count; i++)
        available += source->samples[i].label != 0;
    /* k more anomalous samples make (anomalous + k) / (n + k) = rate. */
    double exact = (rate * (double)n - (double)anomalous) / (1.0 - rate);
    size_t k = exact > 0 ? (size_t)llround(exact) : 0;
    if (k == 0)
        return IGD_OK;
    if (k > available)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "%zu anomalous samples are needed, the source has %zu", k, available);
    /* Make room first, so that nothing changes on failure. */
    size_t need, stores_need;
    if (!core_add_size(n, k, &need) ||
        !core_add_size(ds->store_count, source->store_count, &stores_need))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "too many samples");
    if (need > ds->capacity) {
        ds_sample *p = core_malloc_array(need, sizeof *p);
        if (!p)
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "growing a data set");
        memcpy(p, ds->samples, n * sizeof *p);
        core_free(ds->samples);
        ds->samples = p;
        ds->capacity = need;
    }
    ds_store **stores = core_malloc_array(stores_need, sizeof *stores);
    if (!stores)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "growing a data set");
    memcpy(stores, ds->stores, ds->store_count * sizeof *stores);
    core_free(ds->stores);
    ds->stores = stores;
    for (size_t i = 0; i < source->store_count; i++) {
        if (!has_store(ds, source->stores[i])) {
            ds_store_retain(source->stores[i]);
            ds->stores[ds->store_count++] = source->stores[i];
        }
    }

    core_rng rng;
    core_rng_seed(&rng, seed);
    size_t kept = 0, seen = 0, moved = 0;
    for (size_t i = 0; i < source->count; i++) {
        ds_sample s = source->samples[i];
        if (s.label != 0 && moved < k && take(&rng, k - moved, available - seen++)) {
            s.label = 1;
            ds->samples[ds->count++] = s;
            moved++;
        } else {
            source->samples[kept++] = s;
        }
    }
    source->count = kept;
    return IGD_OK;
}

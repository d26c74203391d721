/* Data sets: a list of samples, each an index into shared, reference-counted storage (a "store")
 * of pixels or file paths. Copies, shuffles, subsets and contamination only rearrange the list;
 * the pixels and paths are never copied. A sample also carries its label (0 normal, 1 anomalous)
 * in the list, so each data set labels its samples independently of its copies. */
#ifndef IO_DATASET_H
#define IO_DATASET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "igd/igd.h"
#include "io/view.h"

enum { DS_NONE = -1 };            /* the class of a sample without one */
#define DS_NO_STRING ((size_t)-1) /* a missing string (no path, no mask, no class name) */

typedef enum ds_kind {
    DS_PIXELS = 1, /* all samples in one pixel block of one size and type */
    DS_FILES = 2   /* samples are image files */
} ds_kind;

typedef struct ds_record {
    size_t path, mask; /* offsets into the string pool, or DS_NO_STRING */
    int label;         /* the label a new data set gives the sample */
    int class_id;      /* DS_NONE when the sample has no class */
} ds_record;

typedef struct ds_store {
    atomic_size_t refs;
    ds_kind kind;
    ds_record *records;
    size_t count, capacity;
    /* DS_PIXELS: count images of height x width x channels of type, packed */
    unsigned char *pixels;
    igd_pixel_type type;
    size_t width, height, channels, image_bytes;
    /* strings: paths and class names */
    char *strings;
    size_t strings_used, strings_capacity;
    size_t *class_names; /* class_count offsets (DS_NO_STRING for unnamed ids) */
    size_t class_count;
} ds_store;

typedef struct ds_sample {
    ds_store *store;
    size_t index; /* into store->records */
    int label;
} ds_sample;

struct igd_dataset {
    ds_sample *samples;
    size_t count, capacity;
    ds_store **stores; /* each holds one reference of this data set */
    size_t store_count;
    int64_t max_pixels, max_side; /* limits of decoded image files (0: the defaults) */
};

/* ---- building stores (the openers) ---- */

/* A new, empty store with one reference. */
igd_status ds_store_new(ds_kind kind, ds_store **out, core_err *err);
void ds_store_retain(ds_store *store);
void ds_store_release(ds_store *store);
/* Appends the concatenation of n parts to the string pool; *offset receives its position. */
igd_status ds_store_add_string(ds_store *store, const char *const *parts, const size_t *lengths,
                               size_t n, size_t *offset, core_err *err);
/* Appends a record. */
igd_status ds_store_add_record(ds_store *store, size_t path, size_t mask, int label, int class_id,
                               core_err *err);
/* Names class ids 0..count-1 (names[i] may be NULL). */
igd_status ds_store_set_class_names(ds_store *store, const char *const *names, size_t count,
                                    core_err *err);
/* A data set of every record of store, in order; takes over the caller's reference (released
 * on failure too). */
igd_status ds_from_store(ds_store *store, igd_dataset **out, core_err *err);

static inline const char *ds_store_string(const ds_store *store, size_t offset)
{
    return offset == DS_NO_STRING ? NULL : store->strings + offset;
}

/* ---- the data set ---- */

void ds_free(igd_dataset *ds);
igd_status ds_copy(const igd_dataset *ds, igd_dataset **out, core_err *err);

static inline size_t ds_count(const igd_dataset *ds)
{
    return ds->count;
}
static inline int ds_label(const igd_dataset *ds, size_t index)
{
    return ds->samples[index].label;
}
static inline int ds_class(const igd_dataset *ds, size_t index)
{
    const ds_sample *s = &ds->samples[index];
    return s->store->records[s->index].class_id;
}
/* The file of sample index, or NULL for in-memory samples. */
const char *ds_path(const igd_dataset *ds, size_t index);
/* The name of a class, or NULL. */
const char *ds_class_name(const igd_dataset *ds, int class_id);

/* The pixels of sample index as a view. In-memory samples: no allocation, *holder = NULL. File
 * samples: the image is decoded into *holder, which the caller frees with igd_image_free. */
/* limits (NULL: the data set's own) bound the image files decoded. */
igd_status ds_view(const igd_dataset *ds, size_t index, const igd_options *limits, io_view *view,
                   igd_image **holder, core_err *err);
/* Sets the data set's limits from IGD_OPT_MAX_IMAGE_PIXELS and IGD_OPT_MAX_IMAGE_SIDE. */
void ds_set_limits(igd_dataset *ds, const igd_options *limits);
/* A new image of sample index. */
igd_status ds_load(const igd_dataset *ds, size_t index, igd_image **out, core_err *err);
/* The sample's mask (see igd_dataset_load_mask). */
igd_status ds_load_mask(const igd_dataset *ds, size_t index, igd_image **out, core_err *err);

igd_status ds_set_normal_class(igd_dataset *ds, int class_id, core_err *err);
void ds_keep_label(igd_dataset *ds, int label);
void ds_shuffle(igd_dataset *ds, uint64_t seed);
void ds_subsample(igd_dataset *ds, double share, uint64_t seed);
igd_status ds_contaminate(igd_dataset *ds, igd_dataset *source, double rate, uint64_t seed,
                          core_err *err);

/* ---- openers (mvtec.c, folder.c, idx.c, and pixels) ---- */

igd_status ds_open_mvtec(const char *root, igd_split split, igd_dataset **out, core_err *err);
igd_status ds_open_folder(const char *path, int label, igd_dataset **out, core_err *err);
igd_status ds_open_idx(const char *images_path, const char *labels_path, const igd_options *limits,
                       igd_dataset **out, core_err *err);
/* Arguments already checked (io_batch_check; labels 0/1). */
igd_status ds_from_pixels(const void *pixels, igd_pixel_type type, size_t count, size_t height,
                          size_t width, size_t channels, size_t row_stride, size_t image_stride,
                          const int *labels, const int *classes, igd_dataset **out, core_err *err);

#endif

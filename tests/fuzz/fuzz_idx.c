/* Fuzz target: the IDX data-set parser (ds_open_idx in lib/io/idx.c, plain or gzip). The input's
 * first two bytes (little-endian) give the length n of the image file; the next n bytes are the
 * image file and the rest, when not empty, the label file. Both are written to files in a
 * private temporary folder (the parser reads files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "fuzz.h"
#include "igd/igd.h"
#include "io/dataset.h"

static char folder[64], images[96], labels[96];

static void cleanup(void)
{
    unlink(images);
    unlink(labels);
    rmdir(folder);
}

static int write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = size ? fwrite(data, 1, size, f) : 0;
    return (fclose(f) == 0 && put == size) ? 0 : -1;
}

static igd_options *limits(void)
{
    static igd_options *opts;
    if (!opts) {
        if (igd_options_create(&opts) != IGD_OK)
            abort();
        if (igd_options_set_int(opts, IGD_OPT_MAX_IMAGE_PIXELS, 1 << 16) != IGD_OK ||
            igd_options_set_int(opts, IGD_OPT_MAX_IMAGE_SIDE, 1024) != IGD_OK)
            abort();
    }
    return opts;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!folder[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(folder, sizeof folder, "%s/igd-fuzz-idx-XXXXXX", base);
        if (!mkdtemp(folder))
            abort();
        snprintf(images, sizeof images, "%s/images", folder);
        snprintf(labels, sizeof labels, "%s/labels", folder);
        atexit(cleanup);
    }
    if (size < 2)
        return 0;
    size_t n = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (n > size)
        n = size;
    if (write_file(images, data, n) != 0)
        abort();
    int with_labels = size > n;
    if (with_labels && write_file(labels, data + n, size - n) != 0)
        abort();
    core_err err = {0};
    igd_dataset *ds = NULL;
    igd_status st = ds_open_idx(images, with_labels ? labels : NULL, limits(), &ds, &err);
    if (st == IGD_OK) {
        size_t count = igd_dataset_count(ds);
        for (size_t i = 0; i < count && i < 4; i++) {
            igd_image *img;
            int label, cls;
            if (igd_dataset_load(ds, i, &img) == IGD_OK)
                igd_image_free(img);
            if (igd_dataset_label(ds, i, &label) != IGD_OK ||
                igd_dataset_class(ds, i, &cls) != IGD_OK)
                abort();
            (void)igd_dataset_class_name(ds, cls);
        }
        igd_dataset_free(ds);
    } else if (ds != NULL) {
        abort();
    }
    return 0;
}

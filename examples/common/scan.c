#include "scan.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "interrupt.h"

typedef struct pending {
    unsigned char *pixels;
    size_t capacity, count, first; /* images in the buffer and the index of the first */
    size_t width, height, channels, bytes;
    igd_pixel_type type;
} pending;

static int flush(loaded_model *m, pending *p, const source *src, scan_fn fn, void *user,
                 scan_result *r)
{
    if (p->count == 0)
        return EXIT_OK;
    detection *d = calloc(p->count, sizeof *d);
    if (!d) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    double t0 = progress_now();
    igd_status st =
        model_detect_batch(m, p->pixels, p->type, p->count, p->height, p->width, p->channels, d);
    r->detect_seconds += progress_now() - t0;
    int code = EXIT_OK;
    if (st == IGD_OK) {
        for (size_t i = 0; i < p->count; i++)
            fn(user, p->first + i, &d[i]);
        r->scored += p->count;
    } else {
        char name[1024];
        source_name(src, p->first, name, sizeof name);
        cli_error_status(st, "scoring '%s'%s failed", name, p->count > 1 ? " and the next" : "");
        code = EXIT_ERROR;
    }
    free(d);
    p->count = 0;
    return code;
}

int scan_source(loaded_model *m, const source *src, size_t batch, scan_fn fn, void *user,
                progress *prog, scan_result *result)
{
    memset(result, 0, sizeof *result);
    pending p = {0};
    size_t n = source_count(src);
    int code = EXIT_OK;
    for (size_t i = 0; i < n && code == EXIT_OK; i++) {
        if (interrupt_requested()) {
            result->interrupted = 1;
            break;
        }
        igd_image *img = NULL;
        igd_status st = source_load(src, i, &img);
        if (st != IGD_OK) {
            char name[1024];
            source_name(src, i, name, sizeof name);
            cli_error_status(st, "cannot read '%s'", name);
            code = flush(m, &p, src, fn, user, result);
            fn(user, i, NULL);
            result->failed++;
            continue;
        }
        size_t w = igd_image_width(img), h = igd_image_height(img);
        size_t ch = igd_image_channels(img);
        igd_pixel_type type = igd_image_type(img);
        size_t bytes = igd_image_stride(img) * h;
        bool same = p.count > 0 && w == p.width && h == p.height && ch == p.channels &&
                    type == p.type && p.first + p.count == i;
        if (!same || p.count >= batch) {
            code = flush(m, &p, src, fn, user, result);
            p.width = w;
            p.height = h;
            p.channels = ch;
            p.type = type;
            p.bytes = bytes;
            p.first = i;
        }
        if (code == EXIT_OK && (p.count + 1) * bytes > p.capacity) {
            size_t cap = (p.count + 1) * bytes * 2;
            unsigned char *q = realloc(p.pixels, cap);
            if (!q) {
                cli_error("out of memory");
                code = EXIT_ERROR;
            } else {
                p.pixels = q;
                p.capacity = cap;
            }
        }
        if (code == EXIT_OK) {
            memcpy(p.pixels + p.count * bytes, igd_image_const_data(img), bytes);
            p.count++;
        }
        igd_image_free(img);
        if (prog)
            progress_update(prog, "score", i + 1, n, NULL);
    }
    if (code == EXIT_OK)
        code = flush(m, &p, src, fn, user, result);
    free(p.pixels);
    if (prog)
        progress_finish(prog);
    return code;
}

#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int model_open(loaded_model *m, const char *path, const settings *s)
{
    memset(m, 0, sizeof *m);
    igd_status st = igd_model_load(path, NULL, &m->model);
    if (st != IGD_OK) {
        cli_error_status(st, "cannot load the model '%s'", path);
        return EXIT_ERROR;
    }
    int code = settings_apply_runtime(s, m->model);
    if (code != EXIT_OK) {
        model_close(m);
        return code;
    }
    st = igd_session_create(m->model, &m->session);
    if (st != IGD_OK) {
        cli_error_status(st, "cannot start inference with '%s'", path);
        model_close(m);
        return EXIT_ERROR;
    }
    m->has_threshold = igd_model_get_threshold(m->model, &m->threshold) == IGD_OK;
    if (!m->has_threshold)
        m->threshold = NAN;
    return EXIT_OK;
}

void model_close(loaded_model *m)
{
    igd_session_free(m->session);
    igd_model_free(m->model);
    memset(m, 0, sizeof *m);
}

igd_status model_detect_batch(loaded_model *m, const void *pixels, igd_pixel_type type,
                              size_t count, size_t height, size_t width, size_t channels,
                              detection *out)
{
    enum { MAX_BATCH = 256 };
    double scores[MAX_BATCH], parts[MAX_BATCH * IGD_PART_COUNT];
    unsigned char flags[MAX_BATCH];
    size_t pixel = type == IGD_PIXEL_U8 ? 1 : type == IGD_PIXEL_U16 ? 2 : 4;
    size_t image_bytes = height * width * channels * pixel;
    const size_t np = m->all_parts ? IGD_PART_COUNT : IGD_PART_NORMALIZED + 1;
    for (size_t done = 0; done < count;) {
        size_t n = count - done < MAX_BATCH ? count - done : MAX_BATCH;
        const unsigned char *p = (const unsigned char *)pixels + done * image_bytes;
        igd_status st = igd_session_detect(m->session, p, type, n, height, width, channels, 0, 0,
                                           scores, m->has_threshold ? flags : NULL, parts, np);
        if (st != IGD_OK)
            return st;
        for (size_t i = 0; i < n; i++) {
            detection *d = &out[done + i];
            d->score = scores[i];
            for (size_t k = 0; k < IGD_PART_COUNT; k++)
                d->parts[k] = k < np ? parts[i * np + k] : NAN;
            d->normalized = m->has_threshold ? d->parts[IGD_PART_NORMALIZED] : NAN;
            d->anomalous = m->has_threshold ? flags[i] != 0 : -1;
        }
        done += n;
    }
    return IGD_OK;
}

igd_status model_detect(loaded_model *m, const igd_image *image, detection *out)
{
    return model_detect_batch(m, igd_image_const_data(image), igd_image_type(image), 1,
                              igd_image_height(image), igd_image_width(image),
                              igd_image_channels(image), out);
}

igd_status model_heatmap(loaded_model *m, const igd_image *image, float **map)
{
    size_t w = igd_image_width(image), h = igd_image_height(image);
    *map = malloc(w * h * sizeof **map);
    if (!*map)
        return IGD_ERR_OUT_OF_MEMORY;
    igd_status st =
        igd_session_heatmap(m->session, igd_image_const_data(image), igd_image_type(image), 1, h, w,
                            igd_image_channels(image), igd_image_stride(image), 0, *map);
    if (st != IGD_OK) {
        free(*map);
        *map = NULL;
    }
    return st;
}

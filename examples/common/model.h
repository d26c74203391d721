/* Opening a trained model for inference: load, apply [runtime] settings, make a session, and
 * score or map one image. */
#ifndef EXAMPLES_MODEL_H
#define EXAMPLES_MODEL_H

#include <stdbool.h>

#include "igd/igd.h"
#include "settings.h"

typedef struct loaded_model {
    igd_model *model;
    igd_session *session;
    bool has_threshold;
    double threshold;
    bool all_parts; /* detection fills every part (else only score and normalised score, which
                     * spares the decoders when score_rec_weight is 0) */
} loaded_model;

/* Loads path, applies the given runtime settings, creates a session. Returns EXIT_OK or an exit
 * code after a message (a missing, unreadable or corrupt model file: EXIT_ERROR). */
int model_open(loaded_model *m, const char *path, const settings *s);
void model_close(loaded_model *m);

typedef struct detection {
    double score;                 /* s */
    double normalized;            /* 0.5 at the threshold; NAN without one */
    int anomalous;                /* 1 / 0; -1 without a threshold */
    double parts[IGD_PART_COUNT]; /* NAN beyond the normalised score without all_parts */
} detection;

/* Scores one image of any size (its own pixel type and channels). */
igd_status model_detect(loaded_model *m, const igd_image *image, detection *out);
/* Scores count images of one size packed in pixels (count * image bytes). */
igd_status model_detect_batch(loaded_model *m, const void *pixels, igd_pixel_type type,
                              size_t count, size_t height, size_t width, size_t channels,
                              detection *out);
/* The anomaly map of one image (width * height floats, allocated with malloc into *map). */
igd_status model_heatmap(loaded_model *m, const igd_image *image, float **map);

#endif

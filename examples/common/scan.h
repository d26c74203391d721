/* Scoring every image of a source: images of one size are scored in batches, unreadable images
 * are reported and skipped, and the time spent in detection is measured. */
#ifndef EXAMPLES_SCAN_H
#define EXAMPLES_SCAN_H

#include <stddef.h>

#include "model.h"
#include "progress.h"
#include "source.h"

/* Called once per image in order; d is NULL for an image that could not be read or scored. */
typedef void (*scan_fn)(void *user, size_t index, const detection *d);

typedef struct scan_result {
    size_t scored, failed;
    double detect_seconds; /* inside igd_session_detect */
    int interrupted;       /* stopped by Ctrl-C */
} scan_result;

/* batch: most images per detect call (1 scores images one by one). prog may be NULL. Returns
 * EXIT_OK, or EXIT_ERROR when the model failed on a whole batch (a message is printed). */
int scan_source(loaded_model *m, const source *src, size_t batch, scan_fn fn, void *user,
                progress *prog, scan_result *result);

#endif

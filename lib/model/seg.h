/* The segmentation head (IGD_OPT_SEG_*): a U-Net (nets.h) trained on normal images with synthetic
 * anomalies (synth.h) to mark anomalous pixels. Training works on crops of images scaled by
 * seg_scale with their aspect kept; inference covers the scaled image with overlapping tiles,
 * keeps each tile's centre (its borders only where they are the image's), and averages where
 * centres overlap, so the map has no seams and images of any size and aspect are seen whole. */
#ifndef MDL_SEG_H
#define MDL_SEG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "igd/igd.h"
#include "io/view.h"
#include "model/nets.h"
#include "nn/ctx.h"
#include "nn/params.h"

/* Training workspace at one batch size. */
typedef struct mdl_seg_trainer {
    int batch;
    nn_graph *g;
    int x, logits;
    float *dlogits;
    float *stats; /* the running statistics before the step, restored if it fails */
} mdl_seg_trainer;

typedef struct mdl_seg {
    mdl_arch arch; /* width 0: the model has no head */
    nn_params params;
    uint64_t steps; /* training steps taken (drives the learning-rate decay) */
    mdl_seg_trainer *trainer;
} mdl_seg;

/* Inference workspace (one per session): graphs over tiles of the training side and twice it. */
typedef struct mdl_seg_infer {
    nn_graph *g[2];
    int x[2], logits[2], side[2];
    float *image, *map, *blur; /* the scaled image, its map, coverage counts and blur scratch */
    size_t image_cap, map_cap, blur_cap;
} mdl_seg_infer;

/* Defines and allocates the head's parameters (a no-op for a model without one). */
igd_status mdl_seg_create(igd_model *m, core_err *err);
void mdl_seg_fini(mdl_seg *seg);
bool mdl_seg_exists(const igd_model *m);

/* The size an image of width x height has at the head's scale (each side at least 1). */
void mdl_seg_scaled_size(const igd_model *m, size_t width, size_t height, size_t *sw, size_t *sh);
/* An image at the head's scale, planar pixels in 0..1 (standardised like every input when
 * IGD_OPT_STANDARDIZE is set), into out (channels x sh x sw). */
void mdl_seg_preprocess(const igd_model *m, const io_view *v, size_t sw, size_t sh, float *out);

/* One training step on n crops (n x channels x tile x tile, pixels in 0..1) and their masks
 * (n x tile x tile, 1 = anomalous); lr is the step's learning rate; *loss receives the focal
 * loss. */
igd_status mdl_seg_train_step(igd_model *m, int n, const float *crops, const float *masks,
                              double lr, double *loss, core_err *err);

igd_status mdl_seg_infer_create(igd_model *m, nn_ctx *ctx, mdl_seg_infer **out, core_err *err);
void mdl_seg_infer_free(mdl_seg_infer *inf);
/* The head's probability map of one image at the head's scale: *map points into the workspace
 * (valid until its next use), *sw x *sh its size. */
igd_status mdl_seg_map(igd_model *m, mdl_seg_infer *inf, const io_view *v, const float **map,
                       size_t *sw, size_t *sh, core_err *err);
/* The head's image term: the maximum of the map smoothed by IGD_OPT_SEG_SMOOTH. */
igd_status mdl_seg_term(igd_model *m, mdl_seg_infer *inf, const float *map, size_t sw, size_t sh,
                        double *term, core_err *err);

#endif

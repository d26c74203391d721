/* Inference sessions: per-thread workspaces that score images and draw heatmaps with a model
 * (eq. 13-17). A session holds its own engine stream and graphs; many sessions of one model run
 * at once, each under the model's read lock. */
#ifndef MDL_SESSION_H
#define MDL_SESSION_H

#include "model/model.h"

enum { MDL_LOCAL_BATCH = 64 }; /* the local model's patches per inference batch */

struct igd_session {
    igd_model *model;
    nn_ctx ctx;
    mdl_infer *inf[MDL_NETS];
    mdl_infer *single;     /* the global model at batch 1, for calls with few images */
    mdl_seg_infer *seg;    /* the segmentation head's workspace, when the model has a head */
    float *maps[MDL_NETS]; /* per-pixel maps of one inference batch */
    float *image;          /* an image as the local model sees it, planar, for cutting patches */
    float *acc, *cnt;      /* its size: folded patch maps and their overlap counts */
    size_t image_cap, acc_cap, cnt_cap; /* their floats */
    int image_h, image_w;               /* the size of the image in `image` */
    float *global_scratch;              /* channels x global_size^2: mdl_pre_global's work */
    int patch_y[MDL_LOCAL_BATCH], patch_x[MDL_LOCAL_BATCH]; /* offsets of the batch's patches */
    float *scratch; /* input-sized work for heatmaps, grown on demand */
    size_t scratch_cap;
    api_views views; /* the API's views of the batch of the running call */
    double *parts;   /* score parts of the running call's batch, grown on demand */
    size_t parts_cap;
    core_err err;
};

igd_status mdl_session_create(igd_model *m, igd_session **out, core_err *err);
void mdl_session_free(igd_session *s);
/* parts: n x IGD_PART_COUNT, of which the caller wants the first `wanted`. With a zero
 * score_rec_weight, a model's decoder runs only when its reconstruction part is wanted (the
 * parts of a model that did not decode read 0). maps (may be NULL) receives the heatmaps as
 * mdl_session_heatmap draws them, the segmentation head's map computed once for both. */
igd_status mdl_session_detect(igd_session *s, const io_view *views, size_t n, size_t wanted,
                              double *scores, double *parts, float *maps, core_err *err);
/* maps: per image height x width floats, images one after another. */
igd_status mdl_session_heatmap(igd_session *s, const io_view *views, size_t n, float *maps,
                               core_err *err);
igd_status mdl_session_encode(igd_session *s, int id, const io_view *views, size_t n,
                              float *latents, size_t capacity, core_err *err);
/* Maps raw scores so that the threshold becomes 0.5. */
double mdl_normalized_score(const igd_model *m, double score);

#endif

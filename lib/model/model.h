/* The IGD model: a global and/or a local sub-model, each an encoder, decoder and critic with its
 * Gaussian classifier, plus preprocessing, calibration and the objects that run them. */
#ifndef MDL_MODEL_H
#define MDL_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/batch.h"
#include "api/options.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/view.h"
#include "loss/msssim.h"
#include "model/memory.h"
#include "model/nets.h"
#include "model/seg.h"
#include "nn/adam.h"
#include "nn/ctx.h"
#include "nn/params.h"

enum { MDL_GLOBAL = 0, MDL_LOCAL = 1, MDL_NETS = 2, MDL_MAX_CHANNELS = 3 };

/* Everything the options decide, checked and derived once. */
typedef struct mdl_config {
    int nets; /* bitmask of igd_net */
    int channels;
    mdl_arch arch[MDL_NETS];
    int image_size, patch_stride;
    int classifier;
    double lambda1, lambda2, lambda3, rho, alpha_max, zeta;
    int partner;
    loss_msssim_config msssim;
    double center_min, sigma_min;
    nn_adam ae_opt, critic_opt;
    double decay_power;
    uint64_t total_steps;
    int batch;
    double score_rec, score_cls, smooth, global_weight;
    int threads;
    bool wino_train, wino_infer; /* IGD_OPT_CONV_ALGORITHM */
    uint64_t seed;
    int epochs, estep_interval;
    double time_limit, calib_share, calib_quantile;
    bool norm_auto;
    double standardize; /* IGD_OPT_STANDARDIZE */
    size_t memory_size; /* IGD_OPT_MEMORY_SIZE */
    double memory_radius;
    size_t memory_coreset; /* IGD_OPT_MEMORY_CORESET */
    /* the segmentation head (IGD_OPT_SEG_*): seg.width 0 = none; seg.size is the training tile */
    mdl_arch seg;
    double seg_scale, seg_lr, seg_time_share, seg_gamma, seg_anomaly_share;
    double seg_score, seg_heatmap, seg_smooth;
    int seg_batch, seg_synth;
    uint64_t seg_steps;
    double local_scale; /* IGD_OPT_LOCAL_SCALE: 0 = the image_size square */
    bool letterbox;     /* IGD_OPT_GLOBAL_LETTERBOX */
} mdl_config;

igd_status mdl_config_from_options(const igd_options *o, mdl_config *c, core_err *err);

/* Inference over one sub-model at a fixed batch: encoder and decoder graphs, the MS-SSIM plan and
 * the buffers; used by sessions and by the E-step. Inputs go into `pix` (pixel space, planar). */
typedef struct mdl_infer {
    int batch, side, channels;
    nn_graph *enc, *dec;
    int x, z, zin, xhat;
    bool decode;  /* the decoder exists (reconstruction is used) */
    bool decoded; /* the last run decoded */
    loss_msssim *ms;
    float *pix, *rec; /* batch x channels x side x side, pixel space */
    double *ms_val;
} mdl_infer;

/* Training workspace of one sub-model at batch `batch`. */
typedef struct mdl_trainer {
    int batch;
    nn_graph *enc, *dec, *dec_mix, *critic;
    int x, z, zin, xhat, zmix_in, xmix, cin, cout;
    loss_msssim *ms;
    float *pix, *rec, *drec;
    float *dz;
    double *ms_val, *coef, *alpha, *zeta;
    size_t *partner;
    float *stats; /* the running statistics before the step (restored when it fails) */
} mdl_trainer;

/* One sub-model (global or local). */
typedef struct mdl_net {
    int id;
    mdl_arch arch;
    nn_params enc, dec, critic;
    /* classifier: centre and spread (sigma^2, or the mean squared distance) */
    float *center;
    double spread;
    bool has_stats, center_fixed;
    /* E-step accumulators */
    bool estep_open;
    double *sum;
    double sum_sq, msd_sum;
    uint64_t count, msd_batches;
    mdl_infer *estep;     /* inference workspace of the E-step (made at the first E-step) */
    mdl_memory memory;    /* patch memory (positions 0: none) */
    mdl_memory building;  /* the memory an open E-step collects */
    int estep_stride;     /* the open E-step's patch stride */
    size_t estep_limit;   /* the open E-step's latents sampled per position (0: no memory) */
    size_t estep_coreset; /* the open E-step's coreset size per position (0: the sample) */
    core_rng memory_rng;  /* the open E-step's reservoir sampling */
    mdl_trainer *trainer;
    uint64_t steps; /* training steps taken */
} mdl_net;

typedef struct mdl_callbacks {
    igd_log_fn log;
    void *log_user;
    igd_progress_fn progress;
    void *progress_user;
    igd_abort_fn stop; /* the caller's abort callback: true asks fit to stop */
    void *stop_user;
} mdl_callbacks;

struct igd_model {
    igd_options opts;
    mdl_config cfg;
    double mean[MDL_MAX_CHANNELS], std[MDL_MAX_CHANNELS];
    mdl_net net[MDL_NETS];
    mdl_seg seg; /* the segmentation head (arch.width 0: none) */
    bool has_threshold;
    double threshold;
    core_rng rng;
    nn_ctx ctx;             /* training and E-step */
    float *patch_image;     /* an image as the local model sees it, for patch cutting */
    size_t patch_image_cap; /* its floats */
    float *global_scratch;  /* channels x global_size^2: mdl_pre_global's work (writers only) */
    pthread_rwlock_t lock;  /* readers: detection; writers: every mutating call */
    mdl_callbacks cb;
    api_views views; /* the API's views of the batch of the running mutating call */
    core_err err;
    int refs; /* the caller's handle and every session (atomic): freed when the last goes */
    bool file_threads; /* cfg.threads came from a model file, not the caller: not applied */
};

/* ---- model lifetime (model.c) ---- */
igd_status mdl_create(const igd_options *opts, igd_model **out, core_err *err);
/* The same, failing with IGD_ERR_CORRUPT before allocating parameters when they would take more
 * than max_param_bytes (a model file's own size bounds what loading it may allocate). */
igd_status mdl_create_limited(const igd_options *opts, size_t max_param_bytes, igd_model **out,
                              core_err *err);
/* Bytes of all parameter values of the model's networks. */
size_t mdl_param_bytes(const igd_model *m);
void mdl_free(igd_model *m);
/* A reference more (a session), and one less: the model is freed when its handle and every
 * session are released. */
void mdl_retain(igd_model *m);
void mdl_release(igd_model *m);
bool mdl_has(const igd_model *m, int net);
/* The thread count calls run with: the threads option, unless it came from a model file and the
 * caller has not set it (then 0, all cores: runtime resources are the caller's choice). */
int mdl_threads(const igd_model *m);
/* Re-derives the configuration after a [runtime] option changed. */
igd_status mdl_reconfigure(igd_model *m, core_err *err);
void mdl_log(const igd_model *m, igd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- preprocessing (preprocess.c) ---- */
/* Image -> the global model's input (pixel space, planar, side x side). */
/* Image -> the global model's input (pixel space, planar, side x side); scratch holds
 * channels x side x side floats (used with IGD_OPT_GLOBAL_LETTERBOX). */
void mdl_pre_global(const igd_model *m, const io_view *v, float *out, float *scratch);
/* IGD_OPT_STANDARDIZE over n pixels of one image, in place (span 0: unchanged). */
void mdl_standardize(float *p, size_t n, double span);
/* The size (rows h, columns w) an image of width x height has for the local model. */
void mdl_local_size(const igd_model *m, size_t width, size_t height, int *h, int *w);
/* Image -> the local model's view (planar, h x w as mdl_local_size says) into *buf, grown to fit
 * (*cap in floats). */
igd_status mdl_pre_local(const igd_model *m, const io_view *v, float **buf, size_t *cap, int *h,
                         int *w, core_err *err);
/* Copies the patch at (y, x) of a planar image of width `width` into out (patch x patch). */
void mdl_cut_patch(const float *image, int channels, int height, int width, int patch, int y, int x,
                   float *out);
/* Grows a float buffer to at least floats (contents dropped). */
igd_status mdl_grow(float **buf, size_t *cap, size_t floats, core_err *err);
/* Patch grid positions along one axis: count, and the i-th offset (the last touches the edge). */
int mdl_grid_count(int side, int patch, int stride);
int mdl_grid_offset(int side, int patch, int stride, int i);
/* Pixel space -> normalised network input, and back. */
void mdl_normalize(const igd_model *m, const float *pix, float *out, int n, int side);
void mdl_denormalize(const igd_model *m, const float *in, float *pix, int n, int side);

/* ---- classifier (classifier.c) ---- */
/* Per-sample classifier term of latents z (n x latent); grad (may be NULL) receives
 * d(mean term)/dz scaled by `scale`. */
void mdl_classifier(const igd_model *m, const mdl_net *net, const float *z, int n, double *term,
                    float *grad, double scale);
/* keep_memory: the E-step builds a patch memory (when memory_size > 0); without it, finishing
 * leaves the model without one. */
igd_status mdl_estep_begin(igd_model *m, int id, bool keep_memory, core_err *err);
igd_status mdl_estep_add(igd_model *m, int id, const io_view *views, size_t count, core_err *err);
igd_status mdl_estep_finish(igd_model *m, int id, core_err *err);

/* ---- inference (infer.c) ---- */
igd_status mdl_infer_create(igd_model *m, int id, nn_ctx *ctx, int batch, mdl_infer **out,
                            core_err *err);
void mdl_infer_free(mdl_infer *inf);
/* Encodes the first n inputs in inf->pix, and decodes them when decode is set and the decoder
 * exists (inf->decoded says whether it did). */
igd_status mdl_infer_run(igd_model *m, mdl_infer *inf, int n, bool decode, core_err *err);
/* Reconstruction and classifier terms of the first n samples of the last run (reconstruction 0
 * unless that run decoded); y and x (NULL for the global model) are the samples' patch offsets,
 * which a patch memory needs. */
igd_status mdl_infer_terms(igd_model *m, const mdl_net *net, mdl_infer *inf, int n, const int *y,
                           const int *x, double *rec, double *cls, core_err *err);
/* The memory terms of n latents z at patch offsets y, x (NULL: the global model's position). */
igd_status mdl_memory_terms(const igd_model *m, const mdl_net *net, const float *z, int n,
                            const int *y, const int *x, double *cls, core_err *err);
/* Per-pixel reconstruction-error maps (n x side x side) of the last run. */
void mdl_infer_maps(igd_model *m, mdl_infer *inf, int n, float *maps);

/* ---- training (train.c) ---- */
/* One M-step on n images; losses receives IGD_LOSS_COUNT values. */
igd_status mdl_train_step(igd_model *m, int id, const io_view *views, size_t n, double *losses,
                          core_err *err);
void mdl_trainer_free(mdl_trainer *t);
/* A training-mode forward pass of the encoder only: its batch normalisations' running averages
 * move towards the data's statistics, nothing else changes. */
igd_status mdl_bn_warmup(igd_model *m, int id, const io_view *views, size_t count, core_err *err);

#endif

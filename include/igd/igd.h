/*
 * libigd: the Interpolated Gaussian Descriptor (IGD) one-class image anomaly detector.
 *
 * This header is the library's whole public contract. It is kept stable: enum values never change
 * number, functions are only ever added, and no structure layout is ever shown.
 *
 * Conventions
 *   - Every fallible function returns an igd_status: IGD_OK (0) or a negative error code. On error,
 *     a message is available from the object (igd_model_error(), igd_session_error(), ...) and, for
 *     every failing call, from igd_last_error() on the calling thread.
 *   - Objects are opaque handles created by igd_<object>_create/load/open and released by
 *     igd_<object>_free; every _free accepts NULL.
 *   - Inputs are borrowed for the duration of the call. Outputs go into caller-provided buffers; no
 *     memory allocated by the library is ever handed to the caller to free, except whole objects.
 *   - The library never aborts, exits or prints. Logging goes through a callback (silent by
 *     default).
 *
 * Threading contract
 *   - Calls on different objects may run concurrently on any threads.
 *   - An igd_model may be used by one mutating call at a time (train step, E-step, fit, calibrate,
 *     set option, save). Detection on a model goes through igd_session objects: each session is
 *     used by one thread at a time, and any number of sessions of one model may detect
 *     concurrently. A mutating call waits until running detections finish, and detections that
 *     start while it runs wait for it: every detection sees the model either wholly before or
 *     wholly after a mutating call, never in between.
 *   - igd_options, igd_image, igd_dataset and igd_pixel_metrics objects are not internally
 *     synchronised: share them between threads only for reading (const functions).
 *   - Callbacks run on the thread that made the call which invokes them.
 *   - Process settings (igd_set_allocator) must be made before any other call, while no library
 *     object exists.
 *
 * Pixels
 *   Functions taking images accept a batch described by: a pointer to the first pixel, the pixel
 *   type (8-bit 0..255 or float 0..1), the number of images, height, width, channels (1 or 3,
 *   interleaved), and the byte strides between rows and between images (0 = tightly packed).
 *   Float pixels must be finite: a NaN or infinite one makes the call fail with
 *   IGD_ERR_INVALID_ARGUMENT (detect, heatmap, encode, train step, E-step, data sets from pixels).
 *
 * Numbers
 *   A score, loss or statistic the library returns is never NaN or infinite. Where a computation
 *   gives such a number the call fails with IGD_ERR_NUMERIC instead: a training step (or fit)
 *   whose loss, gradients or batch-normalisation statistics are not finite changes nothing and
 *   keeps the model's state before the step; an E-step whose latents are not finite leaves the
 *   statistics as they were; detection on a damaged model whose scores overflow fails. A model
 *   holding a number that is not finite is never saved (IGD_ERR_NUMERIC): save checks what load
 *   checks, so a file that would not load is never written.
 */
#ifndef IGD_IGD_H
#define IGD_IGD_H

#include <stddef.h>
#include <stdint.h>

#include "igd/export.h"
#include "igd/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define IGD_NODISCARD __attribute__((warn_unused_result))
#else
#define IGD_NODISCARD
#endif

/* ------------------------------------------------------------------------------------------ */
/* Status codes                                                                                */
/* ------------------------------------------------------------------------------------------ */

typedef enum igd_status {
    IGD_OK = 0,
    IGD_ERR_INVALID_ARGUMENT = -1, /* a NULL, out-of-range or inconsistent argument */
    IGD_ERR_OUT_OF_MEMORY = -2,    /* an allocation failed */
    IGD_ERR_IO = -3,               /* a file could not be read, written or renamed */
    IGD_ERR_CORRUPT = -4,          /* malformed data: a damaged model file, image or data set */
    IGD_ERR_UNSUPPORTED = -5, /* well-formed but unsupported: a future file version, a format */
    IGD_ERR_LIMIT = -6,       /* larger than a configured limit (image size, ...) */
    IGD_ERR_ABORTED = -7,     /* stopped by the abort callback */
    IGD_ERR_STATE = -8,       /* not valid now, e.g. detect before any E-step */
    IGD_ERR_BACKEND = -9,     /* the compute backend (oneDNN) failed */
    IGD_ERR_VERSION = -10,    /* header and library versions disagree */
    IGD_ERR_NOT_FOUND = -11,  /* a file, folder or name that does not exist */
    IGD_ERR_INTERNAL = -12,   /* a bug in libigd; please report it */
    IGD_ERR_NUMERIC = -13     /* a computation gave a number that is not finite: training that
                               * diverged (the model keeps its state before the failing step),
                               * or a damaged model whose scores overflow */
} igd_status;

/* A static English description of a status code ("out of memory"); never NULL. */
IGD_API const char *igd_status_string(igd_status status);

/* The message of the most recent failing call made on the calling thread ("" if none). The
 * pointer stays valid until the next libigd call on this thread. */
IGD_API const char *igd_last_error(void);

/* ------------------------------------------------------------------------------------------ */
/* Versions                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* IGD_VERSION_NUMBER of the library at run time (major * 10000 + minor * 100 + patch). */
IGD_API unsigned igd_version_number(void);
/* "major.minor.patch" of the library at run time. */
IGD_API const char *igd_version_string(void);
/* The ABI version (the soname's number) of the library at run time. */
IGD_API unsigned igd_abi_version(void);
/* Checks that the library linked at run time implements the ABI this header describes:
 * IGD_OK, or IGD_ERR_VERSION. Call it as IGD_CHECK_VERSION(). */
IGD_API IGD_NODISCARD igd_status igd_check_version(unsigned header_abi_version);
#define IGD_CHECK_VERSION() igd_check_version(IGD_ABI_VERSION)

/* ------------------------------------------------------------------------------------------ */
/* Process settings                                                                            */
/* ------------------------------------------------------------------------------------------ */

typedef void *(*igd_malloc_fn)(void *user, size_t size);
typedef void *(*igd_realloc_fn)(void *user, void *ptr, size_t size);
typedef void (*igd_free_fn)(void *user, void *ptr);

/* Routes the library's own allocations through the given functions (all three, or all NULL to
 * restore the C library's). Returning NULL from malloc_fn/realloc_fn makes the operation fail with
 * IGD_ERR_OUT_OF_MEMORY and leaves no leak and no half-made object. The compute backend's
 * internal scratch memory is not routed. Call only while no library object exists. */
IGD_API IGD_NODISCARD igd_status igd_set_allocator(igd_malloc_fn malloc_fn,
                                                   igd_realloc_fn realloc_fn, igd_free_fn free_fn,
                                                   void *user);

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct igd_options igd_options;

/* Option keys. Numbers never change; new keys are appended. Each key has a type (integer or
 * real), bounds, a default and a name (igd_option_info, igd_option_name). Keys marked [runtime]
 * may also be changed on an existing model with igd_model_set_option_*; the others fix the
 * model's architecture or training at igd_model_create. */
typedef enum igd_option {
    /* Architecture and preprocessing */
    IGD_OPT_CHANNELS = 1,     /* int, 1 or 3: channels the networks see (default 1) */
    IGD_OPT_NETS = 2,         /* int, bitmask of igd_net: which models exist (default global) */
    IGD_OPT_GLOBAL_SIZE = 3,  /* int: side of the square global-model input (default 32) */
    IGD_OPT_IMAGE_SIZE = 4,   /* int: side images are resized to before patches are cut
                               * for the local model (default 128) */
    IGD_OPT_PATCH_SIZE = 5,   /* int: side of a local-model patch (default 32) */
    IGD_OPT_PATCH_STRIDE = 6, /* int [runtime]: stride between patches at inference (16) */
    IGD_OPT_BASE_WIDTH = 7,   /* int: channels of the first convolution (default 16) */
    IGD_OPT_DEPTH = 8,        /* int: residual down/up blocks per network (default 3) */
    IGD_OPT_LATENT_SIZE = 9,  /* int: size of the latent z (default 128) */
    IGD_OPT_HIDDEN_SIZE = 10, /* int: hidden linear layer before z, 0 for none (512) */
    IGD_OPT_BN_MODE = 11,     /* int, igd_bn_mode (default IGD_BN_BATCH) */
    /* Losses */
    IGD_OPT_CLASSIFIER = 20,     /* int, igd_classifier (default IGD_CLASSIFIER_GAUSSIAN) */
    IGD_OPT_LAMBDA1 = 21,        /* real: weight of the critic loss (1) */
    IGD_OPT_LAMBDA2 = 22,        /* real: weight of the reconstruction constraint (1) */
    IGD_OPT_LAMBDA3 = 23,        /* real: weight of the critic-fooling term (0.1) */
    IGD_OPT_RHO = 24,            /* real [runtime]: MAE share of the reconstruction (0.15) */
    IGD_OPT_ALPHA_MAX = 25,      /* real: alpha ~ U(0, alpha_max) (0.5) */
    IGD_OPT_ZETA = 26,           /* real: mixing of x with its reconstruction in the critic's
                                  * second term; < 0 draws zeta ~ U(0, 1) as the paper does,
                                  * a value in [0, 1] fixes it as the authors' code does (-1) */
    IGD_OPT_PARTNER = 27,        /* int, igd_partner: how z2 is chosen (default mirror) */
    IGD_OPT_MSSSIM_WINDOW = 28,  /* int, odd: Gaussian window taps (default 3) */
    IGD_OPT_MSSSIM_SIGMA = 29,   /* real: Gaussian window sigma (1.5) */
    IGD_OPT_MSSSIM_SCALES = 30,  /* int: scales, 0 picks the most the input allows, up to 5 */
    IGD_OPT_MSSSIM_WEIGHT1 = 31, /* real: weight of scale 1 (0.0448); scales 2..5 follow */
    IGD_OPT_MSSSIM_WEIGHT2 = 32, /* real (0.2856) */
    IGD_OPT_MSSSIM_WEIGHT3 = 33, /* real (0.3001) */
    IGD_OPT_MSSSIM_WEIGHT4 = 34, /* real (0.2363) */
    IGD_OPT_MSSSIM_WEIGHT5 = 35, /* real (0.1333) */
    IGD_OPT_CENTER_MIN = 36,     /* real: centre entries nearer 0 than this are pushed out to
                                  * +-center_min (0.1) */
    IGD_OPT_SIGMA_MIN = 37,      /* real: lower clamp of the spread sigma^2 (1e-6) */
    /* Optimisation */
    IGD_OPT_LEARNING_RATE = 40,        /* real: Adam step of encoder and decoder (1e-4) */
    IGD_OPT_CRITIC_LEARNING_RATE = 41, /* real: Adam step of the critic (1e-4) */
    IGD_OPT_BETA1 = 42,                /* real: Adam beta1 (0.9) */
    IGD_OPT_BETA2 = 43,                /* real: Adam beta2 (0.999) */
    IGD_OPT_WEIGHT_DECAY = 44,         /* real: L2 weight decay of encoder and decoder (1e-6) */
    IGD_OPT_LR_DECAY_POWER = 45,       /* real: polynomial learning-rate decay power (0.9) */
    IGD_OPT_TOTAL_STEPS = 46,          /* int: steps over which the rate decays to 0; 0 = constant.
                                        * igd_model_fit sets it from the epochs and data size */
    IGD_OPT_BATCH_SIZE = 47,           /* int: training batch (64) */
    IGD_OPT_EPOCHS = 48,               /* int: epochs of igd_model_fit (20) */
    IGD_OPT_ESTEP_INTERVAL = 49,       /* int: igd_model_fit runs the E-step every this many epochs,
                                        * and before the first (default 1) */
    IGD_OPT_TIME_LIMIT = 50,        /* real: igd_model_fit stops training after this many seconds,
                                     * 0 = no limit (0) */
    IGD_OPT_CALIBRATION_SHARE = 51, /* real: share of the normal training images igd_model_fit
                                     * holds out to calibrate the threshold (0.1) */
    IGD_OPT_CALIBRATION_QUANTILE = 52, /* real [runtime]: quantile of held-out normal scores
                                        * used as the threshold (0.99) */
    IGD_OPT_NORMALIZE_AUTO = 53,       /* int 0/1: igd_model_fit measures the per-channel mean and
                                        * standard deviation of the training images (1) */
    IGD_OPT_NORM_MEAN = 54,   /* real: per-channel mean subtracted from pixels in 0..1 (0.5),
                               * all channels; igd_model_set_normalization sets each */
    IGD_OPT_NORM_STD = 55,    /* real: per-channel standard deviation divided by (0.5) */
    IGD_OPT_STANDARDIZE = 56, /* real: per-image standardisation before everything else: each
                               * resized image's pixels p become 0.5 + (p - m) / (this * s),
                               * clamped to 0..1, m and s the mean and standard deviation of all
                               * its pixels; 0 = off (0). For illumination that varies between
                               * images */
    /* Scoring */
    IGD_OPT_SCORE_REC_WEIGHT = 60,      /* real [runtime]: weight of reconstruction in a score; at 0
                                         * detection runs no decoder unless asked for the
                                         * reconstruction parts (1) */
    IGD_OPT_SCORE_GAUSS_WEIGHT = 61,    /* real [runtime]: weight of the classifier term (1) */
    IGD_OPT_HEATMAP_SMOOTH = 62,        /* real [runtime]: Gaussian sigma, in input pixels, that
                                         * smooths heatmaps; 0 = none (4) */
    IGD_OPT_HEATMAP_GLOBAL_WEIGHT = 63, /* real [runtime]: share of the global model's map when
                                         * both models exist; at 0 heatmaps do not run the
                                         * global model (0.5) */
    IGD_OPT_MEMORY_SIZE = 64,    /* int [runtime]: patch memory. When > 0, every E-step keeps up to
                                  * this many of the training latents it sees at each patch position
                                  * (the global model has one position), sampled uniformly
                                  * (igd_model_fit: its final E-step; then thinned by
                                  * IGD_OPT_MEMORY_CORESET), and the classifier term of a
                                  * latent becomes its squared distance to the nearest kept latent
                                  * over that position's scale (the kept latents' mean squared
                                  * distance to their nearest other one) instead of the Gaussian's;
                                  * the local model's heatmap becomes each patch's term spread over
                                  * its pixels. 0 = none: an E-step drops an existing memory (0) */
    IGD_OPT_MEMORY_RADIUS = 65,  /* real [runtime]: a patch is compared with the latents kept at
                                  * the nearest position and at every position at most this many
                                  * pixels (of the resized image) farther along either axis (0) */
    IGD_OPT_MEMORY_CORESET = 66, /* int [runtime]: when > 0 (and below memory_size), an E-step's
                                  * memory keeps at each position only this many of the latents
                                  * it sampled, chosen by greedy farthest-point selection (the
                                  * k-center coreset: each next one the farthest from those
                                  * chosen), which covers the normal variety with fewer latents
                                  * than a uniform sample does; 0 = keep the sample (0) */
    /* Runtime */
    IGD_OPT_THREADS = 70,          /* int [runtime]: worker threads of each call (0). 0 = the
                                    * CPUs of the process's affinity mask less those other
                                    * processes keep busy (more than a quarter of the time, from
                                    * /proc/stat, sampled at most every 0.1 s), at least 1: fast
                                    * on an idle machine, no collapse beside other CPU-bound
                                    * processes (busy-waiting OpenMP threads would otherwise slow
                                    * ~10x). Fit is bit for bit reproducible only with a fixed
                                    * count. Calls set the count on the calling thread's OpenMP
                                    * state and put the caller's back before they return. */
    IGD_OPT_SEED = 71,             /* int: seed of initialisation, sampling and shuffling (1) */
    IGD_OPT_MAX_IMAGE_PIXELS = 72, /* int: largest image (width * height) decoded (1 << 28) */
    IGD_OPT_MAX_IMAGE_SIDE = 73,   /* int: largest width or height decoded (65535) */
    IGD_OPT_CONV_ALGORITHM = 74,   /* int [runtime], igd_conv_algorithm: how convolutions are
                                    * computed by trainers and sessions created afterwards
                                    * (default IGD_CONV_FAST) */
    /* Segmentation head (experimental: meanings may change before ABI 2). A U-Net trained by
     * igd_model_fit on normal images with synthetic anomalies pasted in (fractal-noise regions
     * of foreign texture, thin scars and scratches, cut-and-pasted patches, local brightness,
     * blur and noise changes) to mark anomalous pixels. It sees images at their own aspect
     * ratio, scaled by IGD_OPT_SEG_SCALE, in overlapping tiles; its map drives heatmaps and
     * its smoothed maximum enters scores. */
    IGD_OPT_SEG_WIDTH = 80,          /* int: channels of the head's first level; 0 = no head (0) */
    IGD_OPT_SEG_DEPTH = 81,          /* int: levels of the head (3) */
    IGD_OPT_SEG_TILE = 82,           /* int: side of its training crops (divisible by 2^depth);
                                      * inference tiles are this or twice this (128) */
    IGD_OPT_SEG_SCALE = 83,          /* real: scale at which the head sees images: 1 = native
                                      * resolution, 0.5 = half the width and height (1) */
    IGD_OPT_SEG_BATCH = 84,          /* int: crops per training step (8) */
    IGD_OPT_SEG_STEPS = 85,          /* int: training steps of the head in igd_model_fit (2000) */
    IGD_OPT_SEG_LEARNING_RATE = 86,  /* real: Adam step of the head, decayed polynomially (1e-3) */
    IGD_OPT_SEG_TIME_SHARE = 87,     /* real: share of IGD_OPT_TIME_LIMIT the head trains for; the
                                      * IGD models share the rest (0.75) */
    IGD_OPT_SEG_SYNTH = 88,          /* int: bitmask of synthetic anomaly kinds: 1 texture, 2 scar,
                                      * 4 patch, 8 local (15) */
    IGD_OPT_SEG_FOCAL_GAMMA = 89,    /* real: focusing power of the head's focal loss; 0 = binary
                                      * cross-entropy (2) */
    IGD_OPT_SEG_SCORE_WEIGHT = 90,   /* real [runtime]: weight of the head's term in scores: the
                                      * maximum of its probability map smoothed by
                                      * IGD_OPT_SEG_SMOOTH (1) */
    IGD_OPT_SEG_HEATMAP_WEIGHT = 91, /* real [runtime]: share of the head's probability map in
                                      * heatmaps; the IGD models' maps take the rest (1) */
    IGD_OPT_SEG_SMOOTH = 92,         /* real [runtime]: Gaussian sigma, in pixels of the scaled
                                      * image, smoothing the head's map before its maximum (1) */
    IGD_OPT_SEG_ANOMALY_SHARE = 93,  /* real: share of training crops given synthetic anomalies
                                      * (0.5) */
    /* Native resolution (experimental) */
    IGD_OPT_LOCAL_SCALE = 94,     /* real: when > 0, the local model cuts its patches from the image
                                   * scaled by this with its aspect kept (each side at least
                                   * patch_size) instead of from an image_size square, and a patch
                                   * memory keeps one position for all patches (images may differ
                                   * in size); 0 = the square (0) */
    IGD_OPT_GLOBAL_LETTERBOX = 95 /* int 0/1: the global model sees the whole image with its
                                   * aspect kept, centred in its square and mirrored into the
                                   * margins, instead of squashed (0) */
} igd_option;

typedef enum igd_option_type { IGD_TYPE_INT = 1, IGD_TYPE_REAL = 2 } igd_option_type;

typedef enum igd_net {
    IGD_NET_GLOBAL = 1, /* the model of the whole, resized image */
    IGD_NET_LOCAL = 2   /* the model of patches */
} igd_net;

typedef enum igd_classifier {
    IGD_CLASSIFIER_GAUSSIAN = 0,     /* the paper: 1 - exp(-|z - mu|^2 / sigma^2), sigma^2 the
                                      * variance of |z - mu| over the training set */
    IGD_CLASSIFIER_GAUSSIAN_MSD = 1, /* the authors' code: 1 - exp(-|z - c|^2 / s), s the mean
                                      * squared distance |z - c|^2, clamped to at least 1 */
    IGD_CLASSIFIER_SVDD = 2          /* Deep SVDD: |z - c|^2 with a centre fixed at the first
                                      * E-step (a baseline) */
} igd_classifier;

typedef enum igd_bn_mode {
    IGD_BN_BATCH = 0, /* batch statistics while training, running averages otherwise */
    IGD_BN_FROZEN = 1 /* always the running averages, which stay at their initial values (the
                       * authors' script in effect): an affine layer that trains */
} igd_bn_mode;

typedef enum igd_partner {
    IGD_PARTNER_MIRROR = 0, /* z2 is the latent at the mirrored batch position (authors' code) */
    IGD_PARTNER_RANDOM = 1  /* z2 is the latent of a random other image of the batch */
} igd_partner;

typedef enum igd_conv_algorithm {
    IGD_CONV_FAST = 0,    /* training runs 3 x 3 convolutions with Winograd's F(4x4, 3x3) where
                           * the backend has a kernel for the shape and CPU (faster training),
                           * inference with the direct algorithm, so that an image's score does
                           * not depend on the batch it is detected in */
    IGD_CONV_DIRECT = 1,  /* the direct algorithm everywhere */
    IGD_CONV_WINOGRAD = 2 /* Winograd's in inference too: faster detection, but scores then vary
                           * in their last bits with the number of images detected at once */
} igd_conv_algorithm;

IGD_API IGD_NODISCARD igd_status igd_options_create(igd_options **out);
IGD_API IGD_NODISCARD igd_status igd_options_copy(const igd_options *options, igd_options **out);
IGD_API void igd_options_free(igd_options *options);

IGD_API IGD_NODISCARD igd_status igd_options_set_int(igd_options *options, igd_option key,
                                                     int64_t value);
IGD_API IGD_NODISCARD igd_status igd_options_set_real(igd_options *options, igd_option key,
                                                      double value);
IGD_API IGD_NODISCARD igd_status igd_options_get_int(const igd_options *options, igd_option key,
                                                     int64_t *value);
IGD_API IGD_NODISCARD igd_status igd_options_get_real(const igd_options *options, igd_option key,
                                                      double *value);
/* Sets an option from text, by name or by number: ("rho", "0.2"). Integers accept enum names
 * where the option has them ("classifier", "svdd"). */
IGD_API IGD_NODISCARD igd_status igd_options_parse(igd_options *options, const char *name,
                                                   const char *value);

/* The number of option keys, and the index-th key (0 <= index < count) in numeric order. */
/* Presets (experimental: their values may change between releases, as measurements do): named
 * bundles of option values to start from, applied over the options' current values; keys a
 * preset does not name keep theirs, so set options after applying one to override it.
 * "digits" (the defaults: small centred grey images), "texture" (textured surfaces with small or
 * thin defects: a segmentation head at half resolution drives scores and heatmaps), "object"
 * (colour photographs of objects). docs/guide.md lists every value. IGD_ERR_NOT_FOUND for an
 * unknown name; on any failure the options are unchanged. */
IGD_API IGD_NODISCARD igd_status igd_options_apply_preset(igd_options *options, const char *name);
IGD_API size_t igd_preset_count(void);
/* Name and one-line description of preset index (NULL past the end). */
IGD_API const char *igd_preset_name(size_t index);
IGD_API const char *igd_preset_help(size_t index);

IGD_API size_t igd_option_count(void);
IGD_API IGD_NODISCARD igd_status igd_option_at(size_t index, igd_option *key);
/* The option's name ("learning_rate"), or NULL for an unknown key. */
IGD_API const char *igd_option_name(igd_option key);
/* A one-line English description of the option, or NULL for an unknown key. */
IGD_API const char *igd_option_help(igd_option key);
IGD_API IGD_NODISCARD igd_status igd_option_find(const char *name, igd_option *key);
/* Type, inclusive bounds, default, and whether the option is [runtime]. Any output may be NULL. */
IGD_API IGD_NODISCARD igd_status igd_option_info(igd_option key, igd_option_type *type, double *min,
                                                 double *max, double *default_value, int *runtime);

/* ------------------------------------------------------------------------------------------ */
/* Pixels and images                                                                           */
/* ------------------------------------------------------------------------------------------ */

typedef enum igd_pixel_type {
    IGD_PIXEL_U8 = 1,  /* 0..255 */
    IGD_PIXEL_U16 = 2, /* 0..65535 */
    IGD_PIXEL_F32 = 3  /* 0..1 */
} igd_pixel_type;

typedef struct igd_image igd_image;

/* Decodes a PNG or JPEG file or buffer (detected from its first bytes) to 8-bit grey or RGB
 * (16-bit PNGs keep 16 bits; alpha is dropped). limits may be NULL: the limits are then the
 * defaults of IGD_OPT_MAX_IMAGE_PIXELS and IGD_OPT_MAX_IMAGE_SIDE. */
IGD_API IGD_NODISCARD igd_status igd_image_load(const char *path, const igd_options *limits,
                                                igd_image **out);
IGD_API IGD_NODISCARD igd_status igd_image_decode(const void *data, size_t size,
                                                  const igd_options *limits, igd_image **out);
/* A new image with zeroed pixels. */
IGD_API IGD_NODISCARD igd_status igd_image_create(size_t width, size_t height, size_t channels,
                                                  igd_pixel_type type, igd_image **out);
/* A new image holding a copy of the caller's pixels (stride 0 = packed rows). */
IGD_API IGD_NODISCARD igd_status igd_image_from_pixels(const void *pixels, igd_pixel_type type,
                                                       size_t width, size_t height, size_t channels,
                                                       size_t row_stride, igd_image **out);
IGD_API void igd_image_free(igd_image *image);
IGD_API size_t igd_image_width(const igd_image *image);
IGD_API size_t igd_image_height(const igd_image *image);
IGD_API size_t igd_image_channels(const igd_image *image);
IGD_API igd_pixel_type igd_image_type(const igd_image *image);
/* Bytes between the starts of two rows (rows are packed: width * channels * pixel size). */
IGD_API size_t igd_image_stride(const igd_image *image);
IGD_API void *igd_image_data(igd_image *image);
IGD_API const void *igd_image_const_data(const igd_image *image);

/* Encodes as PNG (8 or 16 bits, grey or RGB). */
IGD_API IGD_NODISCARD igd_status igd_image_save_png(const igd_image *image, const char *path);
/* Encodes as PNG into the caller's buffer. With buffer NULL, only *size is set to the bytes
 * needed; with a buffer too small, IGD_ERR_INVALID_ARGUMENT and *size is the size needed. */
IGD_API IGD_NODISCARD igd_status igd_image_encode_png(const igd_image *image, void *buffer,
                                                      size_t capacity, size_t *size);
/* Resizes: area averaging when shrinking, bilinear when enlarging. */
IGD_API IGD_NODISCARD igd_status igd_image_resize(const igd_image *image, size_t width,
                                                  size_t height, igd_image **out);
/* Converts channels (1 <-> 3, grey = 0.299 R + 0.587 G + 0.114 B) and pixel type. */
IGD_API IGD_NODISCARD igd_status igd_image_convert(const igd_image *image, size_t channels,
                                                   igd_pixel_type type, igd_image **out);
/* Cuts the centred width x height window. */
IGD_API IGD_NODISCARD igd_status igd_image_crop_center(const igd_image *image, size_t width,
                                                       size_t height, igd_image **out);
/* Colours a heatmap with a perceptual colour map (values lo..hi map to its ends) and, when base
 * is not NULL (same width and height), blends it over base: opacity 0 shows only base, 1 only the
 * colours. The result is 8-bit RGB. */
IGD_API IGD_NODISCARD igd_status igd_heatmap_colorize(const float *map, size_t width, size_t height,
                                                      float lo, float hi, const igd_image *base,
                                                      double opacity, igd_image **out);

/* ------------------------------------------------------------------------------------------ */
/* Data sets                                                                                   */
/* ------------------------------------------------------------------------------------------ */

typedef struct igd_dataset igd_dataset;

typedef enum igd_split { IGD_SPLIT_TRAIN = 1, IGD_SPLIT_TEST = 2 } igd_split;

/* An MVTec AD folder: <root>/train/good (normal), <root>/test/<kind> ("good" is normal, every
 * other kind anomalous) with masks in <root>/ground_truth/<kind>/<name>_mask.png. */
IGD_API IGD_NODISCARD igd_status igd_dataset_open_mvtec(const char *root, igd_split split,
                                                        igd_dataset **out);
/* Every PNG or JPEG file in a folder (not recursive), sorted by name, all labelled `label`. */
IGD_API IGD_NODISCARD igd_status igd_dataset_open_folder(const char *path, int label,
                                                         igd_dataset **out);
/* An IDX image file (MNIST layout, gzip-compressed or not) and, optionally, its label file.
 * Samples keep their class (the label file's value); all are labelled normal until
 * igd_dataset_set_normal_class. limits may be NULL. */
IGD_API IGD_NODISCARD igd_status igd_dataset_open_idx(const char *images_path,
                                                      const char *labels_path,
                                                      const igd_options *limits, igd_dataset **out);
/* A data set of copies of the caller's images (count images of one size; labels may be NULL for
 * all normal; classes may be NULL). */
IGD_API IGD_NODISCARD igd_status igd_dataset_from_pixels(const void *pixels, igd_pixel_type type,
                                                         size_t count, size_t height, size_t width,
                                                         size_t channels, size_t row_stride,
                                                         size_t image_stride, const int *labels,
                                                         const int *classes, igd_dataset **out);
IGD_API IGD_NODISCARD igd_status igd_dataset_copy(const igd_dataset *dataset, igd_dataset **out);
/* The limits (IGD_OPT_MAX_IMAGE_PIXELS, IGD_OPT_MAX_IMAGE_SIDE of `limits`) under which
 * igd_dataset_load and igd_dataset_load_mask decode the data set's image files (the defaults
 * until set; copies keep them). igd_model_fit decodes them under the model's own limits. */
IGD_API IGD_NODISCARD igd_status igd_dataset_set_limits(igd_dataset *dataset,
                                                        const igd_options *limits);
IGD_API void igd_dataset_free(igd_dataset *dataset);

IGD_API size_t igd_dataset_count(const igd_dataset *dataset);
/* 0 normal, 1 anomalous. */
IGD_API IGD_NODISCARD igd_status igd_dataset_label(const igd_dataset *dataset, size_t index,
                                                   int *label);
/* The sample's class: the IDX label, or the index of its MVTec kind (igd_dataset_class_name). */
IGD_API IGD_NODISCARD igd_status igd_dataset_class(const igd_dataset *dataset, size_t index,
                                                   int *class_id);
/* The name of a class ("good", "crack"; for IDX the class number). NULL if unknown. */
IGD_API const char *igd_dataset_class_name(const igd_dataset *dataset, int class_id);
/* The sample's file path, or NULL for samples that have none (IDX, pixels). */
IGD_API const char *igd_dataset_path(const igd_dataset *dataset, size_t index);
IGD_API IGD_NODISCARD igd_status igd_dataset_load(const igd_dataset *dataset, size_t index,
                                                  igd_image **out);
/* The sample's ground-truth mask (8-bit grey, 0 or 255, the image's size): its mask file, or all
 * zero for a normal sample; IGD_ERR_NOT_FOUND for an anomalous sample without a mask. */
IGD_API IGD_NODISCARD igd_status igd_dataset_load_mask(const igd_dataset *dataset, size_t index,
                                                       igd_image **out);

/* One-class protocol: samples of class_id become normal (0), all others anomalous (1). */
IGD_API IGD_NODISCARD igd_status igd_dataset_set_normal_class(igd_dataset *dataset, int class_id);
/* Keeps only the samples with this label. */
IGD_API IGD_NODISCARD igd_status igd_dataset_keep_label(igd_dataset *dataset, int label);
/* Reorders the samples by a permutation drawn from seed. */
IGD_API IGD_NODISCARD igd_status igd_dataset_shuffle(igd_dataset *dataset, uint64_t seed);
/* Keeps a random share (0 < share <= 1) of the samples, in their order. */
IGD_API IGD_NODISCARD igd_status igd_dataset_subsample(igd_dataset *dataset, double share,
                                                       uint64_t seed);
/* Contaminated-training protocol: moves random anomalous samples of `source` (removing them
 * there) into `dataset`, as many as make them `rate` of the result (0 <= rate < 1). The moved
 * samples keep label 1. Both data sets must come from the same files or pixels. */
IGD_API IGD_NODISCARD igd_status igd_dataset_contaminate(igd_dataset *dataset, igd_dataset *source,
                                                         double rate, uint64_t seed);

/* ------------------------------------------------------------------------------------------ */
/* Models                                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct igd_model igd_model;

typedef enum igd_log_level {
    IGD_LOG_ERROR = 1,
    IGD_LOG_WARNING = 2,
    IGD_LOG_INFO = 3,
    IGD_LOG_DEBUG = 4
} igd_log_level;

typedef enum igd_stage {
    IGD_STAGE_ESTEP = 1,     /* the E-step over the training set */
    IGD_STAGE_TRAIN = 2,     /* M-step training steps */
    IGD_STAGE_CALIBRATE = 3, /* scoring the held-out images */
    IGD_STAGE_NORMALIZE = 4, /* measuring the pixel statistics */
    IGD_STAGE_SEG = 5        /* training the segmentation head (experimental) */
} igd_stage;

/* Loss terms of a training step (igd_model_train_step's losses); numbers never change. */
typedef enum igd_loss {
    IGD_LOSS_TOTAL = 0,      /* the encoder/decoder objective (eq. 7 without the critic's term) */
    IGD_LOSS_CLASSIFIER = 1, /* 1 - p(normal | x), or |z - c|^2 for Deep SVDD */
    IGD_LOSS_RECONSTRUCTION = 2, /* rho * MAE + (1 - rho) * (1 - MS-SSIM) */
    IGD_LOSS_MAE = 3,
    IGD_LOSS_MSSSIM = 4,  /* 1 - MS-SSIM */
    IGD_LOSS_FOOLING = 5, /* mean critic output on interpolations, squared */
    IGD_LOSS_CRITIC = 6,  /* the critic's loss (eq. 10) */
    IGD_LOSS_SEG = 7,     /* the segmentation head's focal loss (experimental) */
    IGD_LOSS_COUNT = 8
} igd_loss;

/* Per-image score parts (igd_session_detect's parts); numbers never change. */
typedef enum igd_part {
    IGD_PART_SCORE = 0,      /* s = s_G + s_L (eq. 13) */
    IGD_PART_NORMALIZED = 1, /* s mapped so that the threshold is 0.5 (0..1) */
    IGD_PART_GLOBAL = 2,     /* s_G (eq. 14), 0 without a global model */
    IGD_PART_GLOBAL_REC = 3,
    IGD_PART_GLOBAL_CLASSIFIER = 4,
    IGD_PART_LOCAL = 5,     /* s_L (eq. 15): the largest patch score, 0 without local model */
    IGD_PART_LOCAL_REC = 6, /* the parts of that patch */
    IGD_PART_LOCAL_CLASSIFIER = 7,
    IGD_PART_SEG = 8, /* the segmentation head's term (its weight not applied), 0 without one */
    IGD_PART_COUNT = 9
} igd_part;

typedef void (*igd_log_fn)(void *user, igd_log_level level, const char *message);
/* losses holds IGD_LOSS_COUNT averages over the steps since the last report (NULL outside
 * training). */
typedef void (*igd_progress_fn)(void *user, igd_stage stage, uint64_t done, uint64_t total,
                                const double *losses, size_t loss_count);
/* Returns nonzero to stop the running call, which then returns IGD_ERR_ABORTED. */
typedef int (*igd_abort_fn)(void *user);

/* A new, untrained model configured by options (NULL for all defaults). */
IGD_API IGD_NODISCARD igd_status igd_model_create(const igd_options *options, igd_model **out);
/* Loads a model file. runtime may be NULL; the [runtime] options (threads, ...) set on it with
 * igd_options_set_* or igd_options_parse (even to their defaults) override the file's values,
 * the others keep the file's; options that are not [runtime] always come from the file. The
 * file's thread count is kept (it is saved back) but never applied: the model runs with all
 * cores (0) unless runtime or igd_model_set_option_int sets IGD_OPT_THREADS. A path that is not
 * a regular file (a FIFO, a folder) is IGD_ERR_IO at once; a file is checked (size, magic,
 * header) before it is read whole. */
IGD_API IGD_NODISCARD igd_status igd_model_load(const char *path, const igd_options *runtime,
                                                igd_model **out);
IGD_API IGD_NODISCARD igd_status igd_model_load_memory(const void *data, size_t size,
                                                       const igd_options *runtime, igd_model **out);
IGD_API void igd_model_free(igd_model *model);
/* The message of the model's most recent failed call ("" if none). */
IGD_API const char *igd_model_error(const igd_model *model);

typedef enum igd_save_flags {
    IGD_SAVE_DEFAULT = 0,
    IGD_SAVE_OPTIMIZER = 1 /* also save optimiser state, to resume training exactly */
} igd_save_flags;

/* Saves atomically: the file at path is afterwards the old one or the new one, never partial.
 * IGD_ERR_NUMERIC (and nothing written) if the model holds a number that is not finite. A regular
 * file replaced keeps its permission bits; a symbolic link at path is replaced by the new file,
 * not followed (its target is left as it was). Failures name the system's reason. */
IGD_API IGD_NODISCARD igd_status igd_model_save(igd_model *model, const char *path, unsigned flags);
/* Serialises into the caller's buffer; with buffer NULL only *size is set. */
IGD_API IGD_NODISCARD igd_status igd_model_save_memory(igd_model *model, unsigned flags,
                                                       void *buffer, size_t capacity, size_t *size);

/* A copy of the model's configuration (free it with igd_options_free). */
IGD_API IGD_NODISCARD igd_status igd_model_get_options(const igd_model *model, igd_options **out);
/* Changes a [runtime] option of the model. */
IGD_API IGD_NODISCARD igd_status igd_model_set_option_int(igd_model *model, igd_option key,
                                                          int64_t value);
IGD_API IGD_NODISCARD igd_status igd_model_set_option_real(igd_model *model, igd_option key,
                                                           double value);
/* Per-channel pixel normalisation (mean and std arrays of `channels` values, pixels in 0..1). */
IGD_API IGD_NODISCARD igd_status igd_model_set_normalization(igd_model *model, const double *mean,
                                                             const double *std, size_t channels);
IGD_API IGD_NODISCARD igd_status igd_model_get_normalization(const igd_model *model, double *mean,
                                                             double *std, size_t channels);

IGD_API void igd_model_set_log(igd_model *model, igd_log_fn fn, void *user);
IGD_API void igd_model_set_progress(igd_model *model, igd_progress_fn fn, void *user);
IGD_API void igd_model_set_abort(igd_model *model, igd_abort_fn fn, void *user);

/* One M-step on a batch of normal images: forward, all losses, backward, optimiser steps of the
 * encoder/decoder and of the critic. For the global model images are resized to its input; for
 * the local model one random patch is cut from each image (resized to IGD_OPT_IMAGE_SIZE).
 * losses (may be NULL) receives min(loss_count, IGD_LOSS_COUNT) values indexed by igd_loss.
 * Needs an E-step of that model first (IGD_ERR_STATE otherwise). */
IGD_API IGD_NODISCARD igd_status igd_model_train_step(igd_model *model, igd_net net,
                                                      const void *pixels, igd_pixel_type type,
                                                      size_t count, size_t height, size_t width,
                                                      size_t channels, size_t row_stride,
                                                      size_t image_stride, double *losses,
                                                      size_t loss_count);

/* The E-step, streamed: begin, add every training image in batches, finish. finish sets the
 * classifier's centre and spread from all latents added since begin (global: one per image;
 * local: every patch on the stride grid) and replaces the patch memory with the latents kept
 * (IGD_OPT_MEMORY_SIZE, IGD_OPT_MEMORY_CORESET; none when the size is 0). The stride, memory size
 * and coreset size in force at begin hold until finish. A failed finish changes nothing and
 * leaves the E-step open. */
IGD_API IGD_NODISCARD igd_status igd_model_estep_begin(igd_model *model, igd_net net);
IGD_API IGD_NODISCARD igd_status igd_model_estep_add(igd_model *model, igd_net net,
                                                     const void *pixels, igd_pixel_type type,
                                                     size_t count, size_t height, size_t width,
                                                     size_t channels, size_t row_stride,
                                                     size_t image_stride);
IGD_API IGD_NODISCARD igd_status igd_model_estep_finish(igd_model *model, igd_net net);
/* The classifier's centre (latent_size values) and spread sigma^2 of a model. */
IGD_API IGD_NODISCARD igd_status igd_model_get_center(const igd_model *model, igd_net net,
                                                      float *center, size_t latent_size,
                                                      double *spread);

/* Trains on a data set's normal images with the whole schedule: normalisation statistics,
 * hold-out split, E-steps every IGD_OPT_ESTEP_INTERVAL epochs, IGD_OPT_EPOCHS epochs (or until
 * IGD_OPT_TIME_LIMIT) of every model in IGD_OPT_NETS, then threshold calibration on the
 * held-out images. Reports progress and honours the abort callback. The same options, seed,
 * data and thread count give the same model, bit for bit (threads = 0 chooses a count by the
 * machine's load when the call starts). */
IGD_API IGD_NODISCARD igd_status igd_model_fit(igd_model *model, const igd_dataset *train);

/* Threshold calibration. From scores of normal images: the threshold becomes their
 * `quantile` (e.g. 0.99, or 1 - contamination rate). */
IGD_API IGD_NODISCARD igd_status igd_model_calibrate(igd_model *model, const double *scores,
                                                     size_t count, double quantile);
IGD_API IGD_NODISCARD igd_status igd_model_set_threshold(igd_model *model, double threshold);
/* IGD_ERR_STATE if the model has no threshold yet. */
IGD_API IGD_NODISCARD igd_status igd_model_get_threshold(const igd_model *model, double *threshold);
/* Maps raw scores so that the threshold becomes 0.5: s / (2 t) below t, 1 - t / (2 s) above. */
IGD_API IGD_NODISCARD igd_status igd_model_normalize_scores(const igd_model *model,
                                                            const double *scores, size_t count,
                                                            double *normalized);

/* ------------------------------------------------------------------------------------------ */
/* Inference                                                                                   */
/* ------------------------------------------------------------------------------------------ */

typedef struct igd_session igd_session;

/* A per-thread inference context of a model: its workspaces. It keeps the model alive: the
 * model may be freed (igd_model_free) before its sessions, which go on detecting; its memory is
 * released with the last of its handle and its sessions. The model's handle must not be used
 * after igd_model_free. */
IGD_API IGD_NODISCARD igd_status igd_session_create(igd_model *model, igd_session **out);
IGD_API void igd_session_free(igd_session *session);
IGD_API const char *igd_session_error(const igd_session *session);

/* Scores a batch of images of any size. IGD_ERR_STATE before the E-step of every sub-model
 * (igd_model_estep_finish or igd_model_fit); IGD_ERR_NUMERIC if a score is not finite (a damaged
 * model). scores (count values) receives s = s_G + s_L; is_anomaly
 * (may be NULL) 1 where s >= the threshold (IGD_ERR_STATE if none is set); parts (may be NULL)
 * receives for each image parts_per_image values indexed by igd_part (up to IGD_PART_COUNT).
 * An image's score is the same bits whatever other images share the call, on any thread. With
 * IGD_OPT_SCORE_REC_WEIGHT = 0, a model's decoder runs only when parts_per_image includes its
 * reconstruction part (IGD_PART_GLOBAL_REC, IGD_PART_LOCAL_REC), which makes detection faster. */
IGD_API IGD_NODISCARD igd_status igd_session_detect(igd_session *session, const void *pixels,
                                                    igd_pixel_type type, size_t count,
                                                    size_t height, size_t width, size_t channels,
                                                    size_t row_stride, size_t image_stride,
                                                    double *scores, unsigned char *is_anomaly,
                                                    double *parts, size_t parts_per_image);
/* Per-pixel anomaly maps at the images' resolution (count * height * width floats, eq. 16):
 * each model's reconstruction error, except that a local model with a patch memory maps each
 * patch's memory term over its pixels; IGD_OPT_HEATMAP_GLOBAL_WEIGHT mixes the two models. */
IGD_API IGD_NODISCARD igd_status igd_session_heatmap(igd_session *session, const void *pixels,
                                                     igd_pixel_type type, size_t count,
                                                     size_t height, size_t width, size_t channels,
                                                     size_t row_stride, size_t image_stride,
                                                     float *maps);
/* igd_session_detect and igd_session_heatmap in one call: scores, decisions, parts and maps
 * exactly as those give them, the segmentation head's map computed once for both (the two
 * calls would compute it twice). maps must not be NULL. */
IGD_API IGD_NODISCARD igd_status igd_session_analyze(
    igd_session *session, const void *pixels, igd_pixel_type type, size_t count, size_t height,
    size_t width, size_t channels, size_t row_stride, size_t image_stride, double *scores,
    unsigned char *is_anomaly, double *parts, size_t parts_per_image, float *maps);
/* Latents of one model: for the global model one per image (count * latent_size floats); for the
 * local model one per patch, patches in row-major grid order (query the grid with
 * igd_session_patch_grid). */
IGD_API IGD_NODISCARD igd_status igd_session_encode(igd_session *session, igd_net net,
                                                    const void *pixels, igd_pixel_type type,
                                                    size_t count, size_t height, size_t width,
                                                    size_t channels, size_t row_stride,
                                                    size_t image_stride, float *latents,
                                                    size_t capacity);
/* Patches per image of the local model (rows x cols of the stride grid); IGD_ERR_STATE with
 * IGD_OPT_LOCAL_SCALE, where the grid depends on each image's size (there the local latents of
 * igd_session_encode follow the grid of the scaled image, rows of patches of patch_stride). */
IGD_API IGD_NODISCARD igd_status igd_session_patch_grid(const igd_session *session, size_t *rows,
                                                        size_t *cols);

/* ------------------------------------------------------------------------------------------ */
/* Metrics                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Area under the ROC curve of scores against labels (1 = anomalous, positive), ties counted
 * half. Needs both labels present. */
IGD_API IGD_NODISCARD igd_status igd_metric_auroc(const double *scores, const int *labels,
                                                  size_t count, double *auroc);
/* The best F1 over all thresholds (anomalous when score >= threshold) and that threshold. */
IGD_API IGD_NODISCARD igd_status igd_metric_f1_max(const double *scores, const int *labels,
                                                   size_t count, double *f1, double *threshold);
/* Share of samples classified right at a threshold (anomalous when score >= threshold). */
IGD_API IGD_NODISCARD igd_status igd_metric_accuracy(const double *scores, const int *labels,
                                                     size_t count, double threshold,
                                                     double *accuracy);
/* The ROC curve's corner points, from (0,0) to (1,1): at most count + 1 points. With fpr NULL
 * only *points is set. */
IGD_API IGD_NODISCARD igd_status igd_metric_roc(const double *scores, const int *labels,
                                                size_t count, double *fpr, double *tpr,
                                                double *thresholds, size_t capacity,
                                                size_t *points);
/* The q-quantile (0 <= q <= 1, linear interpolation) of values. */
IGD_API IGD_NODISCARD igd_status igd_metric_quantile(const double *values, size_t count, double q,
                                                     double *out);

/* Pixel-level metrics, accumulated image by image (images may differ in size). */
typedef struct igd_pixel_metrics igd_pixel_metrics;
IGD_API IGD_NODISCARD igd_status igd_pixel_metrics_create(igd_pixel_metrics **out);
IGD_API void igd_pixel_metrics_free(igd_pixel_metrics *metrics);
/* Adds one image's map and its mask (nonzero = anomalous pixel). */
IGD_API IGD_NODISCARD igd_status igd_pixel_metrics_add(igd_pixel_metrics *metrics, const float *map,
                                                       const unsigned char *mask, size_t width,
                                                       size_t height);
/* Pixel AUROC over all pixels added. */
IGD_API IGD_NODISCARD igd_status igd_pixel_metrics_auroc(igd_pixel_metrics *metrics, double *auroc);
/* Area under the per-region-overlap curve up to max_fpr (e.g. 0.3), normalised to 0..1
 * (Bergmann et al. 2020). */
IGD_API IGD_NODISCARD igd_status igd_pixel_metrics_aupro(igd_pixel_metrics *metrics, double max_fpr,
                                                         double *aupro);

#ifdef __cplusplus
}
#endif

#endif /* IGD_IGD_H */

/* The option table and the igd_options API. */
#include "api/options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"

static const char *const classifier_names[] = {"gaussian", "gaussian_msd", "svdd", NULL};
static const char *const bn_names[] = {"batch", "frozen", NULL};
static const char *const partner_names[] = {"mirror", "random", NULL};
static const char *const conv_names[] = {"fast", "direct", "winograd", NULL};

#define I IGD_TYPE_INT
#define R IGD_TYPE_REAL
#define MAXI 9007199254740992.0 /* 2^53: integers above do not round-trip through double */

static const opt_def table[OPT_COUNT] = {
    {IGD_OPT_CHANNELS, "channels", I, 1, 3, 1, false, NULL,
     "channels the networks see: 1 (grey) or 3 (RGB)"},
    {IGD_OPT_NETS, "nets", I, 1, 3, 1, false, NULL,
     "models to build: 1 global, 2 local (patches), 3 both"},
    {IGD_OPT_GLOBAL_SIZE, "global_size", I, 8, 1024, 32, false, NULL,
     "side of the square input of the global model"},
    {IGD_OPT_IMAGE_SIZE, "image_size", I, 8, 4096, 128, false, NULL,
     "side images are resized to before the local model's patches are cut"},
    {IGD_OPT_PATCH_SIZE, "patch_size", I, 8, 256, 32, false, NULL, "side of a local-model patch"},
    {IGD_OPT_PATCH_STRIDE, "patch_stride", I, 1, 256, 16, true, NULL,
     "stride between local-model patches at inference"},
    {IGD_OPT_BASE_WIDTH, "base_width", I, 1, 512, 16, false, NULL,
     "channels of the first convolution; each down block doubles them"},
    {IGD_OPT_DEPTH, "depth", I, 1, 6, 3, false, NULL, "residual down/up blocks of each network"},
    {IGD_OPT_LATENT_SIZE, "latent_size", I, 1, 4096, 128, false, NULL, "size of the latent z"},
    {IGD_OPT_HIDDEN_SIZE, "hidden_size", I, 0, 65536, 512, false, NULL,
     "hidden linear layer of the encoder before z; 0 for none"},
    {IGD_OPT_BN_MODE, "bn_mode", I, 0, 1, 0, false, bn_names,
     "batch normalisation: batch (batch statistics in training) or frozen"},
    {IGD_OPT_CLASSIFIER, "classifier", I, 0, 2, 0, false, classifier_names,
     "anomaly classifier: gaussian (paper), gaussian_msd (authors' code) or svdd"},
    {IGD_OPT_LAMBDA1, "lambda1", R, 0, 1e6, 1.0, false, NULL, "weight of the critic loss"},
    {IGD_OPT_LAMBDA2, "lambda2", R, 0, 1e6, 1.0, false, NULL,
     "weight of the reconstruction constraint"},
    {IGD_OPT_LAMBDA3, "lambda3", R, 0, 1e6, 0.1, false, NULL, "weight of the critic-fooling term"},
    {IGD_OPT_RHO, "rho", R, 0, 1, 0.15, true, NULL, "MAE share of the reconstruction loss"},
    {IGD_OPT_ALPHA_MAX, "alpha_max", R, 0, 1, 0.5, false, NULL,
     "interpolation coefficients are drawn from U(0, alpha_max)"},
    {IGD_OPT_ZETA, "zeta", R, -1, 1, -1, false, NULL,
     "critic's mixing of x with its reconstruction: < 0 draws U(0,1), else fixed"},
    {IGD_OPT_PARTNER, "partner", I, 0, 1, 0, false, partner_names,
     "interpolation partner: mirror (batch position) or random"},
    {IGD_OPT_MSSSIM_WINDOW, "msssim_window", I, 1, 31, 3, false, NULL,
     "MS-SSIM Gaussian window taps (odd)"},
    {IGD_OPT_MSSSIM_SIGMA, "msssim_sigma", R, 0.1, 16, 1.5, false, NULL,
     "MS-SSIM Gaussian window sigma"},
    {IGD_OPT_MSSSIM_SCALES, "msssim_scales", I, 0, 5, 0, false, NULL,
     "MS-SSIM scales; 0 picks the most the input allows"},
    {IGD_OPT_MSSSIM_WEIGHT1, "msssim_weight1", R, 0, 1, 0.0448, false, NULL,
     "MS-SSIM weight of scale 1"},
    {IGD_OPT_MSSSIM_WEIGHT2, "msssim_weight2", R, 0, 1, 0.2856, false, NULL,
     "MS-SSIM weight of scale 2"},
    {IGD_OPT_MSSSIM_WEIGHT3, "msssim_weight3", R, 0, 1, 0.3001, false, NULL,
     "MS-SSIM weight of scale 3"},
    {IGD_OPT_MSSSIM_WEIGHT4, "msssim_weight4", R, 0, 1, 0.2363, false, NULL,
     "MS-SSIM weight of scale 4"},
    {IGD_OPT_MSSSIM_WEIGHT5, "msssim_weight5", R, 0, 1, 0.1333, false, NULL,
     "MS-SSIM weight of scale 5"},
    {IGD_OPT_CENTER_MIN, "center_min", R, 0, 1e3, 0.1, false, NULL,
     "centre entries nearer 0 than this are pushed out to +-center_min"},
    {IGD_OPT_SIGMA_MIN, "sigma_min", R, 0, 1e6, 1e-6, false, NULL,
     "lower clamp of the classifier's spread sigma^2"},
    {IGD_OPT_LEARNING_RATE, "learning_rate", R, 0, 10, 1e-4, false, NULL,
     "Adam step size of encoder and decoder"},
    {IGD_OPT_CRITIC_LEARNING_RATE, "critic_learning_rate", R, 0, 10, 1e-4, false, NULL,
     "Adam step size of the critic"},
    {IGD_OPT_BETA1, "beta1", R, 0, 0.999999, 0.9, false, NULL, "Adam beta1"},
    {IGD_OPT_BETA2, "beta2", R, 0, 0.999999, 0.999, false, NULL, "Adam beta2"},
    {IGD_OPT_WEIGHT_DECAY, "weight_decay", R, 0, 1, 1e-6, false, NULL,
     "L2 weight decay of encoder and decoder"},
    {IGD_OPT_LR_DECAY_POWER, "lr_decay_power", R, 0, 10, 0.9, false, NULL,
     "power of the polynomial learning-rate decay"},
    {IGD_OPT_TOTAL_STEPS, "total_steps", I, 0, MAXI, 0, false, NULL,
     "steps over which the learning rate decays to 0; 0 keeps it constant"},
    {IGD_OPT_BATCH_SIZE, "batch_size", I, 2, 4096, 64, false, NULL, "training batch size"},
    {IGD_OPT_EPOCHS, "epochs", I, 0, 1e6, 20, false, NULL, "epochs of fit"},
    {IGD_OPT_ESTEP_INTERVAL, "estep_interval", I, 1, 1e6, 1, false, NULL,
     "fit runs the E-step before training and every this many epochs"},
    {IGD_OPT_TIME_LIMIT, "time_limit", R, 0, 1e9, 0, false, NULL,
     "fit stops training after this many seconds; 0 = no limit"},
    {IGD_OPT_CALIBRATION_SHARE, "calibration_share", R, 0, 0.9, 0.1, false, NULL,
     "share of the normal training images fit holds out for calibration"},
    {IGD_OPT_CALIBRATION_QUANTILE, "calibration_quantile", R, 0, 1, 0.99, true, NULL,
     "quantile of held-out normal scores that becomes the threshold"},
    {IGD_OPT_NORMALIZE_AUTO, "normalize_auto", I, 0, 1, 1, false, NULL,
     "fit measures the per-channel mean and deviation of the training images"},
    {IGD_OPT_NORM_MEAN, "norm_mean", R, -1e3, 1e3, 0.5, false, NULL,
     "mean subtracted from pixels in 0..1 (every channel)"},
    {IGD_OPT_NORM_STD, "norm_std", R, 1e-6, 1e3, 0.5, false, NULL,
     "standard deviation pixels are divided by (every channel)"},
    {IGD_OPT_STANDARDIZE, "standardize", R, 0, 1e3, 0, false, NULL,
     "per-image standardisation: pixels become 0.5 + (p - mean) / (this x deviation) of each "
     "resized image, clamped to 0..1; 0 = off"},
    {IGD_OPT_SCORE_REC_WEIGHT, "score_rec_weight", R, 0, 1e6, 1.0, true, NULL,
     "weight of the reconstruction term in scores; 0 spares detection the decoders"},
    {IGD_OPT_SCORE_GAUSS_WEIGHT, "score_gauss_weight", R, 0, 1e6, 1.0, true, NULL,
     "weight of the classifier term in scores"},
    {IGD_OPT_HEATMAP_SMOOTH, "heatmap_smooth", R, 0, 1e3, 4.0, true, NULL,
     "Gaussian sigma, in input pixels, smoothing heatmaps; 0 = none"},
    {IGD_OPT_HEATMAP_GLOBAL_WEIGHT, "heatmap_global_weight", R, 0, 1, 0.5, true, NULL,
     "share of the global model's map in heatmaps when both models exist"},
    {IGD_OPT_MEMORY_SIZE, "memory_size", I, 0, 16777216, 0, true, NULL,
     "training latents each E-step keeps per patch position for nearest-neighbour scoring; "
     "0 = none (the Gaussian scores)"},
    {IGD_OPT_MEMORY_RADIUS, "memory_radius", R, 0, 1e6, 0, true, NULL,
     "pixels (of the resized image) beyond the nearest kept position that a patch is compared "
     "across"},
    {IGD_OPT_MEMORY_CORESET, "memory_coreset", I, 0, 16777216, 0, true, NULL,
     "latents the memory keeps per position, chosen from the sample by greedy farthest-point "
     "selection; 0 = the whole sample"},
    {IGD_OPT_THREADS, "threads", I, 0, 1024, 0, true, NULL,
     "worker threads; 0 = the cores other processes leave free"},
    {IGD_OPT_SEED, "seed", I, 0, MAXI, 1, false, NULL,
     "seed of initialisation, sampling and shuffling"},
    {IGD_OPT_MAX_IMAGE_PIXELS, "max_image_pixels", I, 1, MAXI, 268435456.0, true, NULL,
     "largest image (width x height) that is decoded"},
    {IGD_OPT_MAX_IMAGE_SIDE, "max_image_side", I, 1, 1048576, 65535, true, NULL,
     "largest image width or height that is decoded"},
    {IGD_OPT_CONV_ALGORITHM, "conv_algorithm", I, 0, 2, 0, true, conv_names,
     "3x3 convolutions: fast (Winograd's in training), direct, or winograd (also in inference)"},
    {IGD_OPT_SEG_WIDTH, "seg_width", I, 0, 256, 0, false, NULL,
     "channels of the segmentation head's first level; 0 = no head (experimental)"},
    {IGD_OPT_SEG_DEPTH, "seg_depth", I, 1, 6, 3, false, NULL,
     "levels of the segmentation head (experimental)"},
    {IGD_OPT_SEG_TILE, "seg_tile", I, 16, 1024, 128, false, NULL,
     "side of the segmentation head's training crops; inference tiles are this or twice this "
     "(experimental)"},
    {IGD_OPT_SEG_SCALE, "seg_scale", R, 0.01, 4, 1.0, false, NULL,
     "scale at which the segmentation head sees images, aspect kept: 1 = native "
     "(experimental)"},
    {IGD_OPT_SEG_BATCH, "seg_batch", I, 1, 256, 8, false, NULL,
     "crops per training step of the segmentation head (experimental)"},
    {IGD_OPT_SEG_STEPS, "seg_steps", I, 0, 1e9, 2000, false, NULL,
     "training steps of the segmentation head in fit (experimental)"},
    {IGD_OPT_SEG_LEARNING_RATE, "seg_learning_rate", R, 0, 10, 1e-3, false, NULL,
     "Adam step size of the segmentation head (experimental)"},
    {IGD_OPT_SEG_TIME_SHARE, "seg_time_share", R, 0, 1, 0.75, false, NULL,
     "share of time_limit the segmentation head trains for (experimental)"},
    {IGD_OPT_SEG_SYNTH, "seg_synth", I, 1, 15, 15, false, NULL,
     "synthetic anomaly kinds, a bitmask: 1 texture, 2 scar, 4 patch, 8 local (experimental)"},
    {IGD_OPT_SEG_FOCAL_GAMMA, "seg_focal_gamma", R, 0, 10, 2.0, false, NULL,
     "focusing power of the segmentation head's focal loss; 0 = cross-entropy (experimental)"},
    {IGD_OPT_SEG_SCORE_WEIGHT, "seg_score_weight", R, 0, 1e6, 1.0, true, NULL,
     "weight of the segmentation head's smoothed maximum in scores (experimental)"},
    {IGD_OPT_SEG_HEATMAP_WEIGHT, "seg_heatmap_weight", R, 0, 1, 1.0, true, NULL,
     "share of the segmentation head's map in heatmaps (experimental)"},
    {IGD_OPT_SEG_SMOOTH, "seg_smooth", R, 0, 100, 1.0, true, NULL,
     "Gaussian sigma, in scaled pixels, smoothing the head's map before its maximum "
     "(experimental)"},
    {IGD_OPT_SEG_ANOMALY_SHARE, "seg_anomaly_share", R, 0, 1, 0.5, false, NULL,
     "share of the segmentation head's training crops given synthetic anomalies "
     "(experimental)"},
    {IGD_OPT_LOCAL_SCALE, "local_scale", R, 0, 4, 0, false, NULL,
     "when > 0, the local model's patches come from the image scaled by this, aspect kept, "
     "instead of an image_size square; a memory then keeps one position (experimental)"},
    {IGD_OPT_GLOBAL_LETTERBOX, "global_letterbox", I, 0, 1, 0, false, NULL,
     "the global model sees the image with its aspect kept, mirrored into the square's margins "
     "(experimental)"},
};

#undef I
#undef R

igd_option opt_key_at(int index)
{
    return table[index].key;
}

int opt_index(igd_option key)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (table[i].key == key)
            return i;
    return -1;
}

const opt_def *opt_find(igd_option key)
{
    int i = opt_index(key);
    return i < 0 ? NULL : &table[i];
}

void opt_defaults(igd_options *opts)
{
    for (int i = 0; i < OPT_COUNT; i++) {
        if (table[i].type == IGD_TYPE_INT)
            opts->v[i].i = (int64_t)table[i].def;
        else
            opts->v[i].r = table[i].def;
        opts->set[i] = false;
    }
}

int64_t opt_int(const igd_options *opts, igd_option key)
{
    int i = opt_index(key);
    if (i < 0)
        return 0;
    return opts ? opts->v[i].i : (int64_t)table[i].def;
}

double opt_real(const igd_options *opts, igd_option key)
{
    int i = opt_index(key);
    if (i < 0)
        return 0;
    return opts ? opts->v[i].r : table[i].def;
}

static igd_status lookup(igd_option key, igd_option_type type, int *index, core_err *err)
{
    int i = opt_index(key);
    if (i < 0)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "unknown option %d", (int)key);
    if (table[i].type != type)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "option '%s' is %s, not %s", table[i].name,
                         table[i].type == IGD_TYPE_INT ? "an integer" : "real",
                         type == IGD_TYPE_INT ? "an integer" : "real");
    *index = i;
    return IGD_OK;
}

igd_status opt_set_int(igd_options *opts, igd_option key, int64_t value, core_err *err)
{
    int i = 0;
    CORE_TRY(lookup(key, IGD_TYPE_INT, &i, err));
    if (value < (int64_t)table[i].min || value > (int64_t)table[i].max)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "option '%s' = %lld is outside [%.17g, %.17g]", table[i].name,
                         (long long)value, table[i].min, table[i].max);
    if (key == IGD_OPT_CHANNELS && value == 2)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "option 'channels' must be 1 or 3");
    if (key == IGD_OPT_MSSSIM_WINDOW && value % 2 == 0)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "option 'msssim_window' must be odd");
    opts->v[i].i = value;
    opts->set[i] = true;
    return IGD_OK;
}

igd_status opt_set_real(igd_options *opts, igd_option key, double value, core_err *err)
{
    int i = 0;
    CORE_TRY(lookup(key, IGD_TYPE_REAL, &i, err));
    if (!isfinite(value) || value < table[i].min || value > table[i].max)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "option '%s' = %g is outside [%g, %g]",
                         table[i].name, value, table[i].min, table[i].max);
    opts->v[i].r = value;
    opts->set[i] = true;
    return IGD_OK;
}

/* ---- public API ---- */

igd_status igd_options_create(igd_options **out)
{
    core_err err = {0};
    if (!out)
        return core_report(NULL, &err, core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "out is NULL"));
    *out = NULL;
    igd_options *o = core_malloc(sizeof *o);
    if (!o)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_OUT_OF_MEMORY, "allocating options"));
    opt_defaults(o);
    *out = o;
    return IGD_OK;
}

igd_status igd_options_copy(const igd_options *options, igd_options **out)
{
    core_err err = {0};
    if (!options || !out)
        return core_report(
            NULL, &err,
            core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "options and out must not be NULL"));
    *out = NULL;
    igd_options *o = core_malloc(sizeof *o);
    if (!o)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_OUT_OF_MEMORY, "allocating options"));
    *o = *options;
    *out = o;
    return IGD_OK;
}

void igd_options_free(igd_options *options)
{
    core_free(options);
}

igd_status igd_options_set_int(igd_options *options, igd_option key, int64_t value)
{
    core_err err = {0};
    if (!options)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "options is NULL"));
    return core_report(NULL, &err, opt_set_int(options, key, value, &err));
}

igd_status igd_options_set_real(igd_options *options, igd_option key, double value)
{
    core_err err = {0};
    if (!options)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "options is NULL"));
    return core_report(NULL, &err, opt_set_real(options, key, value, &err));
}

igd_status igd_options_get_int(const igd_options *options, igd_option key, int64_t *value)
{
    core_err err = {0};
    int i = 0;
    if (!options || !value)
        return core_report(
            NULL, &err,
            core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "options and value must not be NULL"));
    igd_status st = lookup(key, IGD_TYPE_INT, &i, &err);
    if (st == IGD_OK)
        *value = options->v[i].i;
    return core_report(NULL, &err, st);
}

igd_status igd_options_get_real(const igd_options *options, igd_option key, double *value)
{
    core_err err = {0};
    int i = 0;
    if (!options || !value)
        return core_report(
            NULL, &err,
            core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "options and value must not be NULL"));
    igd_status st = lookup(key, IGD_TYPE_REAL, &i, &err);
    if (st == IGD_OK)
        *value = options->v[i].r;
    return core_report(NULL, &err, st);
}

static igd_status parse_value(igd_options *options, const opt_def *d, const char *value,
                              core_err *err)
{
    char *end = NULL;
    if (d->type == IGD_TYPE_INT) {
        if (d->enum_names)
            for (int k = 0; d->enum_names[k]; k++)
                if (strcasecmp(d->enum_names[k], value) == 0)
                    return opt_set_int(options, d->key, k, err);
        errno = 0;
        long long v = strtoll(value, &end, 0);
        if (errno || end == value || *end != '\0')
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                             "option '%s' needs an integer, not '%s'", d->name, value);
        return opt_set_int(options, d->key, v, err);
    }
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end != '\0')
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "option '%s' needs a number, not '%s'",
                         d->name, value);
    return opt_set_real(options, d->key, v, err);
}

igd_status opt_parse(igd_options *options, const char *name, const char *value, core_err *err)
{
    igd_option key = (igd_option)0;
    char *end = NULL;
    long num = strtol(name, &end, 10);
    if (end != name && *end == '\0' && opt_find((igd_option)num))
        key = (igd_option)num;
    else {
        int i = 0;
        while (i < OPT_COUNT && strcmp(table[i].name, name) != 0)
            i++;
        if (i == OPT_COUNT)
            return core_fail(err, IGD_ERR_NOT_FOUND, "no option named '%s'", name);
        key = table[i].key;
    }
    return parse_value(options, opt_find(key), value, err);
}

igd_status igd_options_parse(igd_options *options, const char *name, const char *value)
{
    core_err err = {0};
    if (!options || !name || !value)
        return core_report(
            NULL, &err,
            core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "options, name and value must not be NULL"));
    return core_report(NULL, &err, opt_parse(options, name, value, &err));
}

size_t igd_option_count(void)
{
    return OPT_COUNT;
}

igd_status igd_option_at(size_t index, igd_option *key)
{
    core_err err = {0};
    if (!key || index >= OPT_COUNT)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_INVALID_ARGUMENT,
                                     "option index %zu is not below %d or key is NULL", index,
                                     OPT_COUNT));
    *key = table[index].key;
    return IGD_OK;
}

const char *igd_option_name(igd_option key)
{
    const opt_def *d = opt_find(key);
    return d ? d->name : NULL;
}

const char *igd_option_help(igd_option key)
{
    const opt_def *d = opt_find(key);
    return d ? d->help : NULL;
}

igd_status igd_option_find(const char *name, igd_option *key)
{
    core_err err = {0};
    if (!name || !key)
        return core_report(
            NULL, &err, core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "name and key must not be NULL"));
    for (int i = 0; i < OPT_COUNT; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *key = table[i].key;
            return IGD_OK;
        }
    }
    return core_report(NULL, &err,
                       core_fail(&err, IGD_ERR_NOT_FOUND, "no option named '%s'", name));
}

igd_status igd_option_info(igd_option key, igd_option_type *type, double *min, double *max,
                           double *default_value, int *runtime)
{
    core_err err = {0};
    const opt_def *d = opt_find(key);
    if (!d)
        return core_report(
            NULL, &err, core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "unknown option %d", (int)key));
    if (type)
        *type = d->type;
    if (min)
        *min = d->min;
    if (max)
        *max = d->max;
    if (default_value)
        *default_value = d->def;
    if (runtime)
        *runtime = d->runtime;
    return IGD_OK;
}

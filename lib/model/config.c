/* Options -> the model's configuration, with the checks that involve several options. */
#include "model/model.h"

static igd_status check_arch(const mdl_arch *a, const char *what, core_err *err)
{
    int cell = 1 << a->depth;
    if (a->size % cell != 0)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "the %s input side %d must be divisible by 2^depth = %d", what, a->size,
                         cell);
    return IGD_OK;
}

igd_status mdl_config_from_options(const igd_options *o, mdl_config *c, core_err *err)
{
    c->nets = (int)opt_int(o, IGD_OPT_NETS);
    c->channels = (int)opt_int(o, IGD_OPT_CHANNELS);
    const int sizes[MDL_NETS] = {(int)opt_int(o, IGD_OPT_GLOBAL_SIZE),
                                 (int)opt_int(o, IGD_OPT_PATCH_SIZE)};
    for (int i = 0; i < MDL_NETS; i++) {
        mdl_arch *a = &c->arch[i];
        a->channels = c->channels;
        a->size = sizes[i];
        a->width = (int)opt_int(o, IGD_OPT_BASE_WIDTH);
        a->depth = (int)opt_int(o, IGD_OPT_DEPTH);
        a->latent = (int)opt_int(o, IGD_OPT_LATENT_SIZE);
        a->hidden = (int)opt_int(o, IGD_OPT_HIDDEN_SIZE);
        a->frozen_bn = opt_int(o, IGD_OPT_BN_MODE) == IGD_BN_FROZEN;
        if ((c->nets >> i) & 1)
            CORE_TRY(check_arch(a, i == MDL_GLOBAL ? "global model's" : "local model's", err));
        if ((int64_t)a->width << a->depth > 65536)
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                             "base_width %d doubled %d times is too wide", a->width, a->depth);
    }
    c->image_size = (int)opt_int(o, IGD_OPT_IMAGE_SIZE);
    c->patch_stride = (int)opt_int(o, IGD_OPT_PATCH_STRIDE);
    if ((c->nets & IGD_NET_LOCAL) && c->image_size < sizes[MDL_LOCAL])
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "image_size %d is smaller than patch_size %d", c->image_size,
                         sizes[MDL_LOCAL]);
    c->classifier = (int)opt_int(o, IGD_OPT_CLASSIFIER);
    c->lambda1 = opt_real(o, IGD_OPT_LAMBDA1);
    c->lambda2 = opt_real(o, IGD_OPT_LAMBDA2);
    c->lambda3 = opt_real(o, IGD_OPT_LAMBDA3);
    c->rho = opt_real(o, IGD_OPT_RHO);
    c->alpha_max = opt_real(o, IGD_OPT_ALPHA_MAX);
    c->zeta = opt_real(o, IGD_OPT_ZETA);
    c->partner = (int)opt_int(o, IGD_OPT_PARTNER);
    loss_msssim_config_default(&c->msssim);
    c->msssim.window = (int)opt_int(o, IGD_OPT_MSSSIM_WINDOW);
    c->msssim.sigma = opt_real(o, IGD_OPT_MSSSIM_SIGMA);
    c->msssim.scales = (int)opt_int(o, IGD_OPT_MSSSIM_SCALES);
    const igd_option wkeys[5] = {IGD_OPT_MSSSIM_WEIGHT1, IGD_OPT_MSSSIM_WEIGHT2,
                                 IGD_OPT_MSSSIM_WEIGHT3, IGD_OPT_MSSSIM_WEIGHT4,
                                 IGD_OPT_MSSSIM_WEIGHT5};
    for (int i = 0; i < 5; i++)
        c->msssim.weights[i] = opt_real(o, wkeys[i]);
    c->msssim.data_range = 1.0; /* reconstruction is measured on pixels in 0..1 */
    for (int i = 0; i < MDL_NETS; i++) {
        if (!((c->nets >> i) & 1))
            continue;
        int side = sizes[i], scales = c->msssim.scales ? c->msssim.scales : 1;
        if (side < c->msssim.window || (side >> (scales - 1)) < c->msssim.window)
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                             "a %d-pixel input is too small for %d MS-SSIM scale(s) with a "
                             "%d-tap window",
                             side, scales, c->msssim.window);
    }
    c->center_min = opt_real(o, IGD_OPT_CENTER_MIN);
    c->sigma_min = opt_real(o, IGD_OPT_SIGMA_MIN);
    const double eps = 1e-8;
    c->ae_opt = (nn_adam){opt_real(o, IGD_OPT_LEARNING_RATE), opt_real(o, IGD_OPT_BETA1),
                          opt_real(o, IGD_OPT_BETA2), eps, opt_real(o, IGD_OPT_WEIGHT_DECAY)};
    c->critic_opt = c->ae_opt;
    c->critic_opt.lr = opt_real(o, IGD_OPT_CRITIC_LEARNING_RATE);
    c->critic_opt.weight_decay = 0;
    c->decay_power = opt_real(o, IGD_OPT_LR_DECAY_POWER);
    c->total_steps = (uint64_t)opt_int(o, IGD_OPT_TOTAL_STEPS);
    c->batch = (int)opt_int(o, IGD_OPT_BATCH_SIZE);
    c->score_rec = opt_real(o, IGD_OPT_SCORE_REC_WEIGHT);
    c->score_cls = opt_real(o, IGD_OPT_SCORE_GAUSS_WEIGHT);
    c->smooth = opt_real(o, IGD_OPT_HEATMAP_SMOOTH);
    c->global_weight = opt_real(o, IGD_OPT_HEATMAP_GLOBAL_WEIGHT);
    c->threads = (int)opt_int(o, IGD_OPT_THREADS);
    c->standardize = opt_real(o, IGD_OPT_STANDARDIZE);
    c->memory_size = (size_t)opt_int(o, IGD_OPT_MEMORY_SIZE);
    c->memory_radius = opt_real(o, IGD_OPT_MEMORY_RADIUS);
    c->memory_coreset = (size_t)opt_int(o, IGD_OPT_MEMORY_CORESET);
    int64_t conv = opt_int(o, IGD_OPT_CONV_ALGORITHM);
    c->wino_train = conv != IGD_CONV_DIRECT;
    c->wino_infer = conv == IGD_CONV_WINOGRAD;
    c->seed = (uint64_t)opt_int(o, IGD_OPT_SEED);
    c->epochs = (int)opt_int(o, IGD_OPT_EPOCHS);
    c->estep_interval = (int)opt_int(o, IGD_OPT_ESTEP_INTERVAL);
    c->time_limit = opt_real(o, IGD_OPT_TIME_LIMIT);
    c->calib_share = opt_real(o, IGD_OPT_CALIBRATION_SHARE);
    c->calib_quantile = opt_real(o, IGD_OPT_CALIBRATION_QUANTILE);
    c->norm_auto = opt_int(o, IGD_OPT_NORMALIZE_AUTO) != 0;
    mdl_arch *s = &c->seg;
    *s = (mdl_arch){0};
    s->channels = c->channels;
    s->width = (int)opt_int(o, IGD_OPT_SEG_WIDTH);
    s->depth = (int)opt_int(o, IGD_OPT_SEG_DEPTH);
    s->size = (int)opt_int(o, IGD_OPT_SEG_TILE);
    s->frozen_bn = false;
    if (s->width > 0) {
        CORE_TRY(check_arch(s, "segmentation head's tile", err));
        if ((int64_t)s->width << s->depth > 4096)
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                             "seg_width %d doubled %d times is too wide", s->width, s->depth);
    }
    c->seg_scale = opt_real(o, IGD_OPT_SEG_SCALE);
    c->seg_batch = (int)opt_int(o, IGD_OPT_SEG_BATCH);
    c->seg_steps = (uint64_t)opt_int(o, IGD_OPT_SEG_STEPS);
    c->seg_lr = opt_real(o, IGD_OPT_SEG_LEARNING_RATE);
    c->seg_time_share = opt_real(o, IGD_OPT_SEG_TIME_SHARE);
    c->seg_synth = (int)opt_int(o, IGD_OPT_SEG_SYNTH);
    c->seg_gamma = opt_real(o, IGD_OPT_SEG_FOCAL_GAMMA);
    c->seg_score = opt_real(o, IGD_OPT_SEG_SCORE_WEIGHT);
    c->seg_heatmap = opt_real(o, IGD_OPT_SEG_HEATMAP_WEIGHT);
    c->seg_smooth = opt_real(o, IGD_OPT_SEG_SMOOTH);
    c->seg_anomaly_share = opt_real(o, IGD_OPT_SEG_ANOMALY_SHARE);
    c->local_scale = opt_real(o, IGD_OPT_LOCAL_SCALE);
    c->letterbox = opt_int(o, IGD_OPT_GLOBAL_LETTERBOX) != 0;
    return IGD_OK;
}

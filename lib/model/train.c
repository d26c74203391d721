/* The M-step: one training step of a sub-model (eq. 7-12).
 *
 *   z = f(x);            classifier term on z
 *   x^ = g(z);           reconstruction rho * MAE + (1 - rho)(1 - MS-SSIM), on pixels in 0..1
 *   z_a = a z + (1 - a) z_partner, a ~ U(0, alpha_max);  x^_a = g(z_a)
 *   critic on [x^_a ; zeta x + (1 - zeta) x^] (one batch of 2n: layer normalisation keeps samples
 *   independent); the auto-encoder is pushed to make d(x^_a) = 0 (lambda3), the critic learns to
 *   predict a and 0 (lambda1) from the same forward pass, its inputs treated as constants.
 *
 * The decoder runs twice (on z and on z_a) in two graphs over the same parameters; the second
 * adds its parameter gradients to the first's. Latent gradients from the classifier, both decoder
 * passes and the interpolation flow back into one encoder backward pass. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "loss/critic.h"
#include "loss/recon.h"
#include "model/model.h"

typedef struct step_terms {
    double cls, rec, mae, ms, fool, critic;
} step_terms;

static bool uses_decoder(const igd_model *m)
{
    return m->cfg.lambda2 > 0;
}

static bool uses_critic(const igd_model *m)
{
    return uses_decoder(m) && (m->cfg.lambda1 > 0 || m->cfg.lambda3 > 0);
}

void mdl_trainer_free(mdl_trainer *t)
{
    if (!t)
        return;
    nn_graph_free(t->enc);
    nn_graph_free(t->dec);
    nn_graph_free(t->dec_mix);
    nn_graph_free(t->critic);
    loss_msssim_free(t->ms);
    core_free_aligned(t->pix);
    core_free_aligned(t->rec);
    core_free_aligned(t->drec);
    core_free_aligned(t->dz);
    core_free(t->ms_val);
    core_free(t->coef);
    core_free(t->alpha);
    core_free(t->zeta);
    core_free(t->partner);
    core_free(t->stats);
    core_free(t);
}

static igd_status build_decoder(igd_model *m, mdl_net *net, int batch, bool accumulate,
                                nn_graph **g, int *zin, int *xhat, core_err *err)
{
    CORE_TRY(nn_graph_create(&m->ctx, &net->dec, NN_TRAIN, batch, g, err));
    if (accumulate)
        nn_graph_set_accumulate(*g);
    *zin = nn_input(*g, net->arch.latent, 1, 1, true);
    *xhat = mdl_decoder(*g, *zin, &net->arch);
    CORE_TRY(nn_graph_status(*g, err));
    return nn_graph_finalize(*g, err);
}

static igd_status trainer_build(igd_model *m, mdl_net *net, mdl_trainer *t, int batch,
                                core_err *err)
{
    const mdl_arch *a = &net->arch;
    t->batch = batch;
    size_t per, bytes, zbytes;
    if (!core_mul4_size((size_t)batch, (size_t)a->channels, (size_t)a->size, (size_t)a->size,
                        &per) ||
        !core_mul_size(per, sizeof(float), &bytes) ||
        !core_mul4_size((size_t)batch, (size_t)a->latent, sizeof(float), 1, &zbytes))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "training batch too large");
    CORE_TRY(nn_graph_create(&m->ctx, &net->enc, NN_TRAIN, batch, &t->enc, err));
    t->x = nn_input(t->enc, a->channels, a->size, a->size, false);
    t->z = nn_plain(t->enc, mdl_encoder(t->enc, t->x, a));
    CORE_TRY(nn_graph_status(t->enc, err));
    CORE_TRY(nn_graph_finalize(t->enc, err));
    if (uses_decoder(m)) {
        CORE_TRY(build_decoder(m, net, batch, false, &t->dec, &t->zin, &t->xhat, err));
        CORE_TRY(loss_msssim_create(&m->cfg.msssim, (size_t)batch, (size_t)a->channels,
                                    (size_t)a->size, (size_t)a->size, &t->ms, err));
    }
    if (uses_critic(m)) {
        CORE_TRY(build_decoder(m, net, batch, true, &t->dec_mix, &t->zmix_in, &t->xmix, err));
        CORE_TRY(nn_graph_create(&m->ctx, &net->critic, NN_TRAIN, 2 * batch, &t->critic, err));
        t->cin = nn_input(t->critic, a->channels, a->size, a->size, true);
        t->cout = nn_plain(t->critic, mdl_critic(t->critic, t->cin, a));
        CORE_TRY(nn_graph_status(t->critic, err));
        CORE_TRY(nn_graph_finalize(t->critic, err));
    }
    t->pix = core_malloc_aligned(bytes);
    t->rec = core_malloc_aligned(bytes);
    t->drec = core_malloc_aligned(bytes);
    t->dz = core_malloc_aligned(zbytes);
    t->ms_val = core_calloc(4 * (size_t)batch, sizeof(double));
    t->coef = core_calloc(2 * (size_t)batch, sizeof(double));
    t->alpha = core_calloc((size_t)batch, sizeof(double));
    t->zeta = core_calloc((size_t)batch, sizeof(double));
    t->partner = core_calloc((size_t)batch, sizeof(size_t));
    t->stats =
        core_malloc_array(nn_params_stats_count(&net->enc) + nn_params_stats_count(&net->dec) +
                              nn_params_stats_count(&net->critic) + 1,
                          sizeof(float));
    if (!t->pix || !t->rec || !t->drec || !t->dz || !t->ms_val || !t->coef || !t->alpha ||
        !t->zeta || !t->partner || !t->stats)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating training buffers");
    return IGD_OK;
}

/* The trainer for batch n: made at the first step, remade only when the batch size changes. */
static igd_status trainer_for(igd_model *m, mdl_net *net, int n, core_err *err)
{
    if (net->trainer && net->trainer->batch == n)
        return IGD_OK;
    mdl_trainer_free(net->trainer);
    net->trainer = NULL;
    mdl_trainer *t = core_calloc(1, sizeof *t);
    if (!t)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a trainer");
    igd_status st = trainer_build(m, net, t, n, err);
    if (st != IGD_OK) {
        mdl_trainer_free(t);
        return st;
    }
    net->trainer = t;
    return IGD_OK;
}

static igd_status preprocess(igd_model *m, mdl_net *net, mdl_trainer *t, const io_view *views,
                             int n, core_err *err)
{
    const int side = net->arch.size, ch = net->arch.channels;
    const size_t per = (size_t)ch * side * side;
    for (int i = 0; i < n; i++) {
        float *out = t->pix + per * (size_t)i;
        if (net->id == MDL_GLOBAL) {
            mdl_pre_global(m, &views[i], out, m->global_scratch);
            continue;
        }
        /* The local model trains on one random patch of each image. */
        int h, w;
        CORE_TRY(mdl_pre_local(m, &views[i], &m->patch_image, &m->patch_image_cap, &h, &w, err));
        int y = (int)core_rng_below(&m->rng, (uint64_t)(h - side + 1));
        int x = (int)core_rng_below(&m->rng, (uint64_t)(w - side + 1));
        mdl_cut_patch(m->patch_image, ch, h, w, side, y, x, out);
    }
    return IGD_OK;
}

/* Gradient of the reconstruction in pixel space -> of the decoder's (normalised) output. */
static void to_output_grad(const igd_model *m, const float *dpix, float *dout, int n, int side)
{
    const size_t plane = (size_t)side * side;
    const int ch = m->cfg.channels;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            const float sd = (float)m->std[c];
            const size_t at = ((size_t)i * ch + c) * plane;
            for (size_t k = 0; k < plane; k++)
                dout[at + k] = dpix[at + k] * sd;
        }
}

static void draw_interpolation(igd_model *m, mdl_trainer *t, int n)
{
    for (int i = 0; i < n; i++) {
        t->alpha[i] = core_rng_uniform(&m->rng) * m->cfg.alpha_max;
        t->zeta[i] = m->cfg.zeta < 0 ? core_rng_uniform(&m->rng) : m->cfg.zeta;
        if (m->cfg.partner == IGD_PARTNER_MIRROR || n < 2) {
            t->partner[i] = (size_t)(n - 1 - i);
        } else {
            size_t j = (size_t)core_rng_below(&m->rng, (uint64_t)(n - 1));
            t->partner[i] = j >= (size_t)i ? j + 1 : j;
        }
    }
}

/* The interpolation branch: decoder on mixed latents, critic on [mixes ; self-mixes], the
 * fooling gradient back to the mixed decoder's output. */
static igd_status adversarial_forward(igd_model *m, mdl_net *net, mdl_trainer *t, int n,
                                      step_terms *terms, core_err *err)
{
    const int L = net->arch.latent, side = net->arch.size, ch = net->arch.channels;
    const size_t per = (size_t)ch * side * side;
    const float *z = nn_data(t->enc, t->z);
    float *zm = nn_data(t->dec_mix, t->zmix_in);
    draw_interpolation(m, t, n);
    for (int i = 0; i < n; i++) {
        const float a = (float)t->alpha[i];
        const float *z1 = z + (size_t)i * L, *z2 = z + t->partner[i] * (size_t)L;
        for (int k = 0; k < L; k++)
            zm[(size_t)i * L + k] = a * z1[k] + (1 - a) * z2[k];
    }
    CORE_TRY(nn_graph_forward(t->dec_mix, err));
    float *cin = nn_data(t->critic, t->cin);
    memcpy(cin, nn_data(t->dec_mix, t->xmix), per * (size_t)n * sizeof(float));
    const float *x = nn_data(t->enc, t->x), *xh = nn_data(t->dec, t->xhat);
    for (int i = 0; i < n; i++) {
        const float zt = (float)t->zeta[i];
        float *o = cin + per * (size_t)(n + i);
        for (size_t k = 0; k < per; k++)
            o[k] = zt * x[per * (size_t)i + k] + (1 - zt) * xh[per * (size_t)i + k];
    }
    CORE_TRY(nn_graph_forward(t->critic, err));
    const float *d = nn_data(t->critic, t->cout);
    float *dd = nn_diff(t->critic, t->cout);
    terms->fool = loss_fooling(d, (size_t)n, m->cfg.lambda2 * m->cfg.lambda3, dd);
    memset(dd + n, 0, sizeof(float) * (size_t)n);
    CORE_TRY(nn_graph_backward(t->critic, &t->cout, 1, false, err));
    memcpy(nn_diff(t->dec_mix, t->xmix), nn_diff(t->critic, t->cin),
           per * (size_t)n * sizeof(float));
    return IGD_OK;
}

static igd_status critic_update(igd_model *m, mdl_trainer *t, int n, step_terms *terms,
                                core_err *err)
{
    const float *d = nn_data(t->critic, t->cout);
    float *dd = nn_diff(t->critic, t->cout);
    terms->critic = loss_critic(d, d + n, t->alpha, (size_t)n, m->cfg.lambda1, dd, dd + n);
    return nn_graph_backward(t->critic, &t->cout, 1, true, err);
}

static igd_status reconstruction(igd_model *m, mdl_net *net, mdl_trainer *t, int n,
                                 step_terms *terms, core_err *err)
{
    const int side = net->arch.size, ch = net->arch.channels;
    const size_t per = (size_t)ch * side * side;
    memcpy(nn_data(t->dec, t->zin), nn_data(t->enc, t->z),
           sizeof(float) * (size_t)n * net->arch.latent);
    CORE_TRY(nn_graph_forward(t->dec, err));
    mdl_denormalize(m, nn_data(t->dec, t->xhat), t->rec, n, side);
    double *mae = t->ms_val, *msv = t->ms_val + n, *rec = t->ms_val + 2 * n;
    loss_recon_forward(t->ms, t->pix, t->rec, (size_t)n, per, m->cfg.rho, mae, msv, rec);
    for (int i = 0; i < n; i++) {
        terms->rec += rec[i] / n;
        terms->mae += mae[i] / n;
        terms->ms += (1 - msv[i]) / n;
        t->coef[i] = m->cfg.lambda2 / n;
    }
    loss_recon_backward(t->ms, t->pix, t->rec, (size_t)n, per, m->cfg.rho, t->coef, t->coef + n,
                        t->drec);
    to_output_grad(m, t->drec, nn_diff(t->dec, t->xhat), n, side);
    return IGD_OK;
}

/* Latent gradients of both decoder passes (and the interpolation's mixing) added into dz. */
static void gather_latent_grads(const igd_model *m, const mdl_net *net, mdl_trainer *t, int n)
{
    const int L = net->arch.latent;
    const float *g = nn_diff(t->dec, t->zin);
    for (size_t k = 0; k < (size_t)n * L; k++)
        t->dz[k] += g[k];
    if (!uses_critic(m))
        return;
    const float *gm = nn_diff(t->dec_mix, t->zmix_in);
    for (int i = 0; i < n; i++) {
        const float a = (float)t->alpha[i];
        float *d1 = t->dz + (size_t)i * L, *d2 = t->dz + t->partner[i] * (size_t)L;
        const float *gi = gm + (size_t)i * L;
        for (int k = 0; k < L; k++) {
            d1[k] += a * gi[k];
            d2[k] += (1 - a) * gi[k];
        }
    }
}

/* The running statistics of the sub-model's networks, which training-mode passes move: saved
 * before a step, restored when the step fails on a number that is not finite. */
static void stats_save(mdl_net *net, float *buf)
{
    nn_params_stats_save(&net->enc, buf);
    buf += nn_params_stats_count(&net->enc);
    nn_params_stats_save(&net->dec, buf);
    buf += nn_params_stats_count(&net->dec);
    nn_params_stats_save(&net->critic, buf);
}

static void stats_restore(mdl_net *net, const float *buf)
{
    nn_params_stats_restore(&net->enc, buf);
    buf += nn_params_stats_count(&net->enc);
    nn_params_stats_restore(&net->dec, buf);
    buf += nn_params_stats_count(&net->dec);
    nn_params_stats_restore(&net->critic, buf);
}

static igd_status diverged(mdl_net *net, const char *what, core_err *err)
{
    stats_restore(net, net->trainer->stats);
    return core_fail(err, IGD_ERR_NUMERIC,
                     "training of the %s model diverged after %llu steps: %s is not finite; the "
                     "model keeps its state before this step (a lower learning rate or other "
                     "normalisation constants may help)",
                     net->id == MDL_GLOBAL ? "global" : "local", (unsigned long long)net->steps,
                     what);
}

igd_status mdl_bn_warmup(igd_model *m, int id, const io_view *views, size_t count, core_err *err)
{
    mdl_net *net = &m->net[id];
    if (count < 2 || count > (size_t)1 << 20)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "a batch needs at least 2 images");
    const int n = (int)count;
    CORE_TRY(trainer_for(m, net, n, err));
    mdl_trainer *t = net->trainer;
    CORE_TRY(preprocess(m, net, t, views, n, err));
    mdl_normalize(m, t->pix, nn_data(t->enc, t->x), n, net->arch.size);
    stats_save(net, t->stats);
    CORE_TRY(nn_graph_forward(t->enc, err));
    if (!nn_params_finite(&net->enc, false, false))
        return diverged(net, "a batch normalisation's running statistic", err);
    return IGD_OK;
}

igd_status mdl_train_step(igd_model *m, int id, const io_view *views, size_t count, double *losses,
                          core_err *err)
{
    mdl_net *net = &m->net[id];
    if (!net->has_stats)
        return core_fail(err, IGD_ERR_STATE,
                         "the %s model needs an E-step before its first training step",
                         id == MDL_GLOBAL ? "global" : "local");
    if (count < 2 || count > (size_t)1 << 20)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "a training batch needs at least 2 images (got %zu)", count);
    const int n = (int)count;
    CORE_TRY(trainer_for(m, net, n, err));
    mdl_trainer *t = net->trainer;
    step_terms terms = {0};

    CORE_TRY(preprocess(m, net, t, views, n, err));
    mdl_normalize(m, t->pix, nn_data(t->enc, t->x), n, net->arch.size);
    stats_save(net, t->stats);
    igd_status st = nn_graph_forward(t->enc, err);
    if (st != IGD_OK) {
        stats_restore(net, t->stats);
        return st;
    }
    const float *z = nn_data(t->enc, t->z);
    double *cls = t->coef;
    mdl_classifier(m, net, z, n, cls, t->dz, 1.0 / n);
    for (int i = 0; i < n; i++)
        terms.cls += cls[i] / n;

    if (st == IGD_OK && uses_decoder(m)) {
        st = reconstruction(m, net, t, n, &terms, err);
        if (st == IGD_OK && uses_critic(m))
            st = adversarial_forward(m, net, t, n, &terms, err);
        if (st == IGD_OK)
            st = nn_graph_backward(t->dec, &t->xhat, 1, true, err);
        if (st == IGD_OK && uses_critic(m))
            st = nn_graph_backward(t->dec_mix, &t->xmix, 1, true, err);
        if (st == IGD_OK)
            gather_latent_grads(m, net, t, n);
        if (st == IGD_OK && uses_critic(m))
            st = critic_update(m, t, n, &terms, err);
    }
    if (st == IGD_OK) {
        memcpy(nn_diff(t->enc, t->z), t->dz, sizeof(float) * (size_t)n * net->arch.latent);
        st = nn_graph_backward(t->enc, &t->z, 1, true, err);
    }
    if (st != IGD_OK) {
        stats_restore(net, t->stats);
        return st;
    }
    /* Nothing is updated unless every loss, gradient and running statistic is finite. */
    const double total = terms.cls + m->cfg.lambda2 * (terms.rec + m->cfg.lambda3 * terms.fool);
    if (!isfinite(total) || !isfinite(terms.critic) || !isfinite(terms.mae) || !isfinite(terms.ms))
        return diverged(net, "the loss", err);
    if (!nn_params_finite(&net->enc, true, false) ||
        (uses_decoder(m) && !nn_params_finite(&net->dec, true, false)) ||
        (uses_critic(m) && !nn_params_finite(&net->critic, true, false)))
        return diverged(net, "a gradient or running statistic", err);

    nn_adam ae = m->cfg.ae_opt, critic = m->cfg.critic_opt;
    ae.lr = nn_poly_lr(ae.lr, net->steps, m->cfg.total_steps, m->cfg.decay_power);
    critic.lr = nn_poly_lr(critic.lr, net->steps, m->cfg.total_steps, m->cfg.decay_power);
    nn_adam_step(&net->enc, &ae);
    if (uses_decoder(m))
        nn_adam_step(&net->dec, &ae);
    if (uses_critic(m))
        nn_adam_step(&net->critic, &critic);
    net->steps++;
    if (!nn_params_finite(&net->enc, false, true) || !nn_params_finite(&net->dec, false, true) ||
        !nn_params_finite(&net->critic, false, true))
        return core_fail(err, IGD_ERR_NUMERIC,
                         "training of the %s model diverged at step %llu: the optimiser step "
                         "overflowed a parameter; the model can no longer be saved",
                         id == MDL_GLOBAL ? "global" : "local", (unsigned long long)net->steps);

    if (losses) {
        losses[IGD_LOSS_TOTAL] = total;
        losses[IGD_LOSS_CLASSIFIER] = terms.cls;
        losses[IGD_LOSS_RECONSTRUCTION] = terms.rec;
        losses[IGD_LOSS_MAE] = terms.mae;
        losses[IGD_LOSS_MSSSIM] = terms.ms;
        losses[IGD_LOSS_FOOLING] = terms.fool;
        losses[IGD_LOSS_CRITIC] = terms.critic;
        losses[IGD_LOSS_SEG] = 0; /* the segmentation head trains on its own */
    }
    return IGD_OK;
}

/* Inference over one sub-model at a fixed batch: normalise, encode, decode, and the per-sample
 * terms and per-pixel maps of eq. 14-17. */
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "loss/recon.h"
#include "model/model.h"

void mdl_infer_free(mdl_infer *inf)
{
    if (!inf)
        return;
    nn_graph_free(inf->enc);
    nn_graph_free(inf->dec);
    loss_msssim_free(inf->ms);
    core_free_aligned(inf->pix);
    core_free_aligned(inf->rec);
    core_free(inf->ms_val);
    core_free(inf);
}

igd_status mdl_infer_create(igd_model *m, int id, nn_ctx *ctx, int batch, mdl_infer **out,
                            core_err *err)
{
    *out = NULL;
    mdl_net *net = &m->net[id];
    const mdl_arch *a = &net->arch;
    mdl_infer *inf = core_calloc(1, sizeof *inf);
    if (!inf)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating an inference workspace");
    inf->batch = batch;
    inf->side = a->size;
    inf->channels = a->channels;
    inf->decode = m->cfg.lambda2 > 0;
    size_t per = 0, bytes = 0;
    igd_status st = IGD_OK;
    if (!core_mul4_size((size_t)batch, (size_t)a->channels, (size_t)a->size, (size_t)a->size,
                        &per) ||
        !core_mul_size(per, sizeof(float), &bytes))
        st = core_fail(err, IGD_ERR_INVALID_ARGUMENT, "inference batch too large");
    if (st == IGD_OK)
        st = nn_graph_create(ctx, &net->enc, NN_INFER, batch, &inf->enc, err);
    if (st == IGD_OK) {
        inf->x = nn_input(inf->enc, a->channels, a->size, a->size, false);
        inf->z = nn_plain(inf->enc, mdl_encoder(inf->enc, inf->x, a));
        st = nn_graph_status(inf->enc, err);
    }
    if (st == IGD_OK)
        st = nn_graph_finalize(inf->enc, err);
    if (st == IGD_OK && inf->decode) {
        st = nn_graph_create(ctx, &net->dec, NN_INFER, batch, &inf->dec, err);
        if (st == IGD_OK) {
            inf->zin = nn_input(inf->dec, a->latent, 1, 1, false);
            inf->xhat = mdl_decoder(inf->dec, inf->zin, a);
            st = nn_graph_status(inf->dec, err);
        }
        if (st == IGD_OK)
            st = nn_graph_finalize(inf->dec, err);
        if (st == IGD_OK)
            st = loss_msssim_create(&m->cfg.msssim, (size_t)batch, (size_t)a->channels,
                                    (size_t)a->size, (size_t)a->size, &inf->ms, err);
    }
    if (st == IGD_OK) {
        inf->pix = core_malloc_aligned(bytes);
        inf->rec = core_malloc_aligned(bytes);
        inf->ms_val = core_calloc((size_t)batch, sizeof(double));
        if (!inf->pix || !inf->rec || !inf->ms_val)
            st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating inference buffers");
        else
            memset(inf->pix, 0, bytes);
    }
    if (st != IGD_OK) {
        mdl_infer_free(inf);
        return st;
    }
    *out = inf;
    return IGD_OK;
}

igd_status mdl_infer_run(igd_model *m, mdl_infer *inf, int n, bool decode, core_err *err)
{
    inf->decoded = false;
    mdl_normalize(m, inf->pix, nn_data(inf->enc, inf->x), n, inf->side);
    CORE_TRY(nn_graph_forward(inf->enc, err));
    if (!decode || !inf->decode)
        return IGD_OK;
    int64_t zd[2];
    nn_dims(inf->enc, inf->z, zd);
    memcpy(nn_data(inf->dec, inf->zin), nn_data(inf->enc, inf->z),
           sizeof(float) * (size_t)(zd[0] * zd[1]));
    CORE_TRY(nn_graph_forward(inf->dec, err));
    mdl_denormalize(m, nn_data(inf->dec, inf->xhat), inf->rec, inf->batch, inf->side);
    inf->decoded = true;
    return IGD_OK;
}

igd_status mdl_memory_terms(const igd_model *m, const mdl_net *net, const float *z, int n,
                            const int *y, const int *x, double *cls, core_err *err)
{
    const size_t L = (size_t)net->arch.latent;
    for (int i = 0; i < n; i++)
        CORE_TRY(mdl_memory_term(&net->memory, y ? y[i] : 0, x ? x[i] : 0, m->cfg.memory_radius,
                                 z + L * (size_t)i, &cls[i], err));
    return IGD_OK;
}

igd_status mdl_infer_terms(igd_model *m, const mdl_net *net, mdl_infer *inf, int n, const int *y,
                           const int *x, double *rec, double *cls, core_err *err)
{
    if (inf->decoded) {
        size_t per = (size_t)inf->channels * inf->side * inf->side;
        loss_recon_forward(inf->ms, inf->pix, inf->rec, (size_t)inf->batch, per, m->cfg.rho, NULL,
                           NULL, inf->ms_val);
        memcpy(rec, inf->ms_val, sizeof(double) * (size_t)n);
    } else {
        memset(rec, 0, sizeof(double) * (size_t)n);
    }
    if (net->memory.positions)
        return mdl_memory_terms(m, net, nn_data(inf->enc, inf->z), n, y, x, cls, err);
    if (net->has_stats)
        mdl_classifier(m, net, nn_data(inf->enc, inf->z), n, cls, NULL, 0);
    else
        memset(cls, 0, sizeof(double) * (size_t)n);
    return IGD_OK;
}

void mdl_infer_maps(igd_model *m, mdl_infer *inf, int n, float *maps)
{
    (void)n;
    size_t plane = (size_t)inf->side * inf->side;
    loss_recon_map(inf->ms, inf->pix, inf->rec, (size_t)inf->batch, (size_t)inf->channels, plane,
                   m->cfg.rho, maps);
}

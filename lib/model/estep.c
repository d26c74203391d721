/* The E-step: the classifier's centre and spread from the latents of the whole training set,
 * streamed (begin, add batches, finish), and the classifier term itself. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "loss/classifier.h"
#include "model/model.h"

enum { GLOBAL_BATCH = 32, LOCAL_BATCH = 64 };

void mdl_classifier(const igd_model *m, const mdl_net *net, const float *z, int n, double *term,
                    float *grad, double scale)
{
    loss_classifier(z, (size_t)n, (size_t)net->arch.latent, net->center, net->spread,
                    m->cfg.classifier == IGD_CLASSIFIER_SVDD, term, grad, scale);
}

/* An empty memory over the positions the E-step visits: the global model's one, or the local
 * model's patch grid at the current stride; its reservoir sampling seeded from the model's seed. */
static igd_status memory_begin(igd_model *m, mdl_net *net, core_err *err)
{
    const int side = m->cfg.image_size, p = net->arch.size, s = net->estep_stride;
    /* With local_scale images differ in size, so positions mean nothing across them: one
     * position holds every patch. */
    const bool one = net->id == MDL_GLOBAL || m->cfg.local_scale > 0;
    const int cells = one ? 1 : mdl_grid_count(side, p, s);
    mdl_memory *mem = &net->building;
    CORE_TRY(mdl_memory_init(mem, net->arch.latent, (size_t)cells * cells, NULL, NULL, err));
    for (size_t i = 0; !one && i < mem->positions; i++) {
        mem->y[i] = mdl_grid_offset(side, p, s, (int)i / cells);
        mem->x[i] = mdl_grid_offset(side, p, s, (int)i % cells);
    }
    core_rng_seed(&net->memory_rng, m->cfg.seed * 2 + 0x6d656d6fULL + (uint64_t)net->id);
    return IGD_OK;
}

igd_status mdl_estep_begin(igd_model *m, int id, bool keep_memory, core_err *err)
{
    mdl_net *net = &m->net[id];
    if (!net->estep) {
        int batch = id == MDL_GLOBAL ? GLOBAL_BATCH : LOCAL_BATCH;
        CORE_TRY(mdl_infer_create(m, id, &m->ctx, batch, &net->estep, err));
    }
    memset(net->sum, 0, sizeof(double) * (size_t)net->arch.latent);
    net->sum_sq = net->msd_sum = 0;
    net->count = net->msd_batches = 0;
    mdl_memory_free(&net->building);
    /* The grid and the memory's limit are fixed for the whole E-step, whatever runtime options
     * change before it finishes. */
    net->estep_stride = m->cfg.patch_stride;
    net->estep_limit = keep_memory ? m->cfg.memory_size : 0;
    net->estep_coreset = m->cfg.memory_coreset;
    if (net->estep_limit > 0)
        CORE_TRY(memory_begin(m, net, err));
    net->estep_open = true;
    return IGD_OK;
}

/* Encodes the first n inputs of the E-step workspace and accumulates their latents; the memory
 * being built is offered each at its position (cell[i]). */
static igd_status flush(igd_model *m, mdl_net *net, int n, const int *cell, core_err *err)
{
    if (n == 0)
        return IGD_OK;
    mdl_infer *inf = net->estep;
    CORE_TRY(mdl_infer_run(m, inf, n, false, err));
    const float *z = nn_data(inf->enc, inf->z);
    const int d = net->arch.latent;
    /* A latent that is not finite (a diverged or damaged network) would poison the statistics. */
    for (size_t k = 0; k < (size_t)n * d; k++)
        if (!(fabsf(z[k]) <= 1e18f))
            return core_fail(err, IGD_ERR_NUMERIC,
                             "the E-step of the %s model met a latent that is not finite (or "
                             "overflows); its statistics are unchanged",
                             net->id == MDL_GLOBAL ? "global" : "local");
    for (int i = 0; i < n && net->building.positions; i++)
        CORE_TRY(mdl_memory_offer(&net->building, (size_t)cell[i], z + (size_t)i * d,
                                  net->estep_limit, &net->memory_rng, err));
    double msd = 0;
    for (int i = 0; i < n; i++) {
        double sq = 0, dc = 0;
        for (int k = 0; k < d; k++) {
            double v = z[(size_t)i * d + k];
            double c = net->has_stats ? net->center[k] : 0.0;
            net->sum[k] += v;
            sq += v * v;
            dc += (v - c) * (v - c);
        }
        net->sum_sq += sq;
        msd += dc;
    }
    net->count += (uint64_t)n;
    /* The authors' spread: per-batch mean squared distance to the previous centre, clamped to at
     * least 1, averaged over batches. */
    msd /= n;
    net->msd_sum += msd < 1.0 ? 1.0 : msd;
    net->msd_batches++;
    return IGD_OK;
}

igd_status mdl_estep_add(igd_model *m, int id, const io_view *views, size_t count, core_err *err)
{
    mdl_net *net = &m->net[id];
    if (!net->estep_open)
        return core_fail(err, IGD_ERR_STATE, "E-step add without begin");
    mdl_infer *inf = net->estep;
    const size_t per = (size_t)inf->channels * inf->side * inf->side;
    int k = 0, cell[LOCAL_BATCH] = {0};
    for (size_t i = 0; i < count; i++) {
        if (id == MDL_GLOBAL) {
            mdl_pre_global(m, &views[i], inf->pix + per * (size_t)k, m->global_scratch);
            if (++k == inf->batch) {
                CORE_TRY(flush(m, net, k, cell, err));
                k = 0;
            }
            continue;
        }
        const int p = inf->side, s = net->estep_stride;
        int h, w;
        CORE_TRY(mdl_pre_local(m, &views[i], &m->patch_image, &m->patch_image_cap, &h, &w, err));
        const int rows = mdl_grid_count(h, p, s), cols = mdl_grid_count(w, p, s);
        const bool one = m->cfg.local_scale > 0;
        for (int gy = 0; gy < rows; gy++)
            for (int gx = 0; gx < cols; gx++) {
                mdl_cut_patch(m->patch_image, inf->channels, h, w, p, mdl_grid_offset(h, p, s, gy),
                              mdl_grid_offset(w, p, s, gx), inf->pix + per * (size_t)k);
                cell[k] = one ? 0 : gy * cols + gx;
                if (++k == inf->batch) {
                    CORE_TRY(flush(m, net, k, cell, err));
                    k = 0;
                }
            }
    }
    return flush(m, net, k, cell, err);
}

/* The centre's entry k from the accumulated sums: entries near zero are pushed out to
 * +-center_min (as Deep SVDD does); a fixed Deep SVDD centre stays. */
static double center_entry(const igd_model *m, const mdl_net *net, int k, bool keep)
{
    if (keep)
        return net->center[k];
    double mu = net->sum[k] / (double)net->count;
    if (fabs(mu) < m->cfg.center_min)
        mu = mu < 0 ? -m->cfg.center_min : m->cfg.center_min;
    return (double)(float)mu;
}

/* Everything is computed before anything changes, so a failure (of the memory's scales) leaves
 * the model as it was and the E-step open. */
igd_status mdl_estep_finish(igd_model *m, int id, core_err *err)
{
    mdl_net *net = &m->net[id];
    if (!net->estep_open)
        return core_fail(err, IGD_ERR_STATE, "E-step finish without begin");
    if (net->count == 0)
        return core_fail(err, IGD_ERR_STATE, "E-step finish without any image added");
    const int d = net->arch.latent;
    const double n = (double)net->count;
    const bool keep = m->cfg.classifier == IGD_CLASSIFIER_SVDD && net->center_fixed;
    /* E|z - c|^2 = E|z|^2 - 2 c.E[z] + |c|^2 */
    double dot = 0, cc = 0;
    for (int k = 0; k < d; k++) {
        double c = center_entry(m, net, k, keep);
        dot += c * (net->sum[k] / n);
        cc += c * c;
    }
    double var = net->sum_sq / n - 2 * dot + cc;
    if (var < 0)
        var = 0;
    double spread = m->cfg.classifier == IGD_CLASSIFIER_GAUSSIAN_MSD
                        ? net->msd_sum / (double)net->msd_batches
                        : var;
    if (spread < m->cfg.sigma_min)
        spread = m->cfg.sigma_min;
    bool finite = isfinite(spread);
    for (int k = 0; k < d && finite; k++)
        finite = fabs(center_entry(m, net, k, keep)) <= FLT_MAX;
    if (!finite)
        return core_fail(err, IGD_ERR_NUMERIC,
                         "the E-step of the %s model gave a centre or spread that is not finite; "
                         "the model is unchanged",
                         id == MDL_GLOBAL ? "global" : "local");
    /* The memory to keep: the sample, or a coreset of it (built aside, so that a failure leaves
     * the sample as it was). */
    mdl_memory kept = {0};
    mdl_memory *final = &net->building;
    if (net->building.positions && net->estep_coreset > 0) {
        CORE_TRY(mdl_memory_coreset(&net->building, net->estep_coreset, &kept, err));
        final = &kept;
    }
    if (final->positions) {
        igd_status st = mdl_memory_calibrate(final, m->cfg.sigma_min, spread, err);
        if (st != IGD_OK) {
            mdl_memory_free(&kept);
            return st;
        }
    }
    for (int k = 0; k < d; k++)
        net->center[k] = (float)center_entry(m, net, k, keep);
    net->spread = spread;
    if (m->cfg.classifier == IGD_CLASSIFIER_SVDD)
        net->center_fixed = true;
    net->has_stats = true;
    net->estep_open = false;
    /* The memory always holds what the last E-step kept (none when memory_size is 0). */
    mdl_memory_free(&net->memory);
    net->memory = *final;
    if (final == &kept)
        mdl_memory_free(&net->building);
    memset(&net->building, 0, sizeof net->building);
    mdl_log(m, IGD_LOG_INFO,
            "E-step (%s): %llu latents, spread %.6g, mean distance %.6g, %zu kept in memory",
            id == MDL_GLOBAL ? "global" : "local", (unsigned long long)net->count, net->spread, var,
            mdl_memory_total(&net->memory));
    return IGD_OK;
}

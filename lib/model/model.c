/* Model lifetime: configuration, parameter stores of every network, and release. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "model/model.h"

bool mdl_has(const igd_model *m, int net)
{
    return (m->cfg.nets >> net) & 1;
}

void mdl_log(const igd_model *m, igd_log_level level, const char *fmt, ...)
{
    if (!m->cb.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m->cb.log(m->cb.log_user, level, msg);
}

/* Builds a network once at batch 1 to define its parameters in `store` (not yet allocated). */
typedef int (*net_builder)(nn_graph *g, int x, const mdl_arch *a);

static igd_status define(igd_model *m, nn_params *store, const mdl_arch *a, net_builder build,
                         int64_t c, int64_t h, int64_t w, core_err *err)
{
    nn_graph *g;
    CORE_TRY(nn_graph_create(&m->ctx, store, NN_INFER, 1, &g, err));
    build(g, nn_input(g, c, h, w, false), a);
    igd_status st = nn_graph_status(g, err);
    nn_graph_free(g);
    return st;
}

static igd_status net_define(igd_model *m, int id, core_err *err)
{
    mdl_net *net = &m->net[id];
    net->id = id;
    net->arch = m->cfg.arch[id];
    const mdl_arch *a = &net->arch;
    CORE_TRY(define(m, &net->enc, a, mdl_encoder, a->channels, a->size, a->size, err));
    CORE_TRY(define(m, &net->dec, a, mdl_decoder, a->latent, 1, 1, err));
    CORE_TRY(define(m, &net->critic, a, mdl_critic, a->channels, a->size, a->size, err));
    return IGD_OK;
}

/* Allocates and initialises the parameters (seeded per network) and the classifier state. */
static igd_status net_commit(igd_model *m, int id, core_err *err)
{
    mdl_net *net = &m->net[id];
    const mdl_arch *a = &net->arch;
    core_rng seeds;
    core_rng_seed(&seeds, m->cfg.seed * 2 + (uint64_t)id);
    CORE_TRY(nn_params_commit(&net->enc, core_rng_next(&seeds), err));
    CORE_TRY(nn_params_commit(&net->dec, core_rng_next(&seeds), err));
    CORE_TRY(nn_params_commit(&net->critic, core_rng_next(&seeds), err));
    net->center = core_calloc((size_t)a->latent, sizeof(float));
    net->sum = core_calloc((size_t)a->latent, sizeof(double));
    if (!net->center || !net->sum)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating classifier state");
    net->spread = 1.0;
    return IGD_OK;
}

static void net_fini(mdl_net *net)
{
    mdl_trainer_free(net->trainer);
    mdl_infer_free(net->estep);
    mdl_memory_free(&net->memory);
    mdl_memory_free(&net->building);
    nn_params_fini(&net->enc);
    nn_params_fini(&net->dec);
    nn_params_fini(&net->critic);
    core_free(net->center);
    core_free(net->sum);
    memset(net, 0, sizeof *net);
}

void mdl_free(igd_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < MDL_NETS; i++)
        net_fini(&m->net[i]);
    mdl_seg_fini(&m->seg);
    core_free_aligned(m->patch_image);
    core_free_aligned(m->global_scratch);
    api_views_free(&m->views);
    nn_ctx_fini(&m->ctx);
    pthread_rwlock_destroy(&m->lock);
    core_free(m);
}

int mdl_threads(const igd_model *m)
{
    return m->file_threads ? 0 : m->cfg.threads;
}

void mdl_retain(igd_model *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

void mdl_release(igd_model *m)
{
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
        mdl_free(m);
}

igd_status mdl_reconfigure(igd_model *m, core_err *err)
{
    mdl_config c;
    CORE_TRY(mdl_config_from_options(&m->opts, &c, err));
    m->cfg = c;
    m->ctx.wino_train = c.wino_train;
    m->ctx.wino_infer = c.wino_infer;
    return IGD_OK;
}

size_t mdl_param_bytes(const igd_model *m)
{
    size_t floats = 0;
    for (int i = 0; i < MDL_NETS; i++) {
        const mdl_net *n = &m->net[i];
        const nn_params *stores[3] = {&n->enc, &n->dec, &n->critic};
        for (int k = 0; k < 3; k++)
            for (size_t p = 0; p < stores[k]->count; p++)
                floats += stores[k]->items[p].count;
    }
    for (size_t p = 0; p < m->seg.params.count; p++)
        floats += m->seg.params.items[p].count;
    return floats * sizeof(float);
}

igd_status mdl_create(const igd_options *opts, igd_model **out, core_err *err)
{
    return mdl_create_limited(opts, SIZE_MAX, out, err);
}

igd_status mdl_create_limited(const igd_options *opts, size_t max_param_bytes, igd_model **out,
                              core_err *err)
{
    *out = NULL;
    igd_model *m = core_calloc(1, sizeof *m);
    if (!m)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a model");
    m->refs = 1;
    if (opts)
        m->opts = *opts;
    else
        opt_defaults(&m->opts);
    igd_status st = mdl_config_from_options(&m->opts, &m->cfg, err);
    if (st != IGD_OK) {
        core_free(m);
        return st;
    }
    /* Writers first: a mutating call (a training step) must not starve behind a stream of
     * detections. */
    pthread_rwlockattr_t attr;
    int lock_failed = pthread_rwlockattr_init(&attr);
    if (!lock_failed) {
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        lock_failed = pthread_rwlock_init(&m->lock, &attr);
        pthread_rwlockattr_destroy(&attr);
    }
    if (lock_failed) {
        core_free(m);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "creating the model's lock");
    }
    /* A file's bytes must hold the parameters its options describe: checked before anything of
     * that size is built. */
    double floats = 0;
    for (int i = 0; i < MDL_NETS; i++)
        if (mdl_has(m, i))
            floats += mdl_param_count(&m->cfg.arch[i]);
    if (m->cfg.seg.width > 0)
        floats += mdl_segnet_param_count(&m->cfg.seg);
    if (floats * sizeof(float) > (double)max_param_bytes) {
        pthread_rwlock_destroy(&m->lock);
        core_free(m);
        return core_fail(err, IGD_ERR_CORRUPT,
                         "the architecture needs %.0f bytes of parameters; the data holds %zu",
                         floats * sizeof(float), max_param_bytes);
    }
    for (int c = 0; c < MDL_MAX_CHANNELS; c++) {
        m->mean[c] = opt_real(&m->opts, IGD_OPT_NORM_MEAN);
        m->std[c] = opt_real(&m->opts, IGD_OPT_NORM_STD);
    }
    core_rng_seed(&m->rng, m->cfg.seed ^ 0x5eed5eed5eed5eedull);
    st = nn_ctx_init(&m->ctx, err);
    m->ctx.wino_train = m->cfg.wino_train;
    m->ctx.wino_infer = m->cfg.wino_infer;
    for (int i = 0; i < MDL_NETS && st == IGD_OK; i++)
        if (mdl_has(m, i))
            st = net_define(m, i, err);
    if (st == IGD_OK && mdl_param_bytes(m) > max_param_bytes)
        st = core_fail(err, IGD_ERR_CORRUPT,
                       "the architecture needs %zu bytes of parameters; the data holds %zu",
                       mdl_param_bytes(m), max_param_bytes);
    for (int i = 0; i < MDL_NETS && st == IGD_OK; i++)
        if (mdl_has(m, i))
            st = net_commit(m, i, err);
    if (st == IGD_OK)
        st = mdl_seg_create(m, err);
    if (st == IGD_OK && mdl_has(m, MDL_LOCAL)) {
        size_t floats;
        if (!core_mul4_size((size_t)m->cfg.image_size, (size_t)m->cfg.image_size,
                            (size_t)m->cfg.channels, 1, &floats))
            st = core_fail(err, IGD_ERR_INVALID_ARGUMENT, "image_size too large");
        else
            st = mdl_grow(&m->patch_image, &m->patch_image_cap, floats, err);
    }
    if (st == IGD_OK && mdl_has(m, MDL_GLOBAL)) {
        size_t side = (size_t)m->cfg.arch[MDL_GLOBAL].size, cap = 0;
        st = mdl_grow(&m->global_scratch, &cap, side * side * (size_t)m->cfg.channels, err);
    }
    if (st != IGD_OK) {
        mdl_free(m);
        return st;
    }
    *out = m;
    return IGD_OK;
}

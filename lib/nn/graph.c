#include "nn/graph.h"

#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"

static igd_status grow(void **items, size_t *cap, size_t count, size_t size, core_err *err)
{
    if (count < *cap)
        return IGD_OK;
    size_t n = *cap ? *cap * 2 : 16;
    void *p = core_realloc(*items, n * size);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "growing a graph table");
    *items = p;
    *cap = n;
    return IGD_OK;
}

igd_status nn_graph_create(nn_ctx *ctx, nn_params *params, nn_mode mode, int64_t batch,
                           nn_graph **out, core_err *err)
{
    *out = NULL;
    nn_graph *g = core_calloc(1, sizeof *g);
    if (!g)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a graph");
    g->ctx = ctx;
    g->params = params;
    g->mode = mode;
    g->batch = batch;
    g->params_version = UINT64_MAX;
    igd_status st = nn_check(dnnl_primitive_attr_create(&g->attr), err, "attribute");
    if (st == IGD_OK)
        st = nn_check(dnnl_primitive_attr_set_scratchpad_mode(g->attr, dnnl_scratchpad_mode_user),
                      err, "scratchpad mode");
    if (st != IGD_OK) {
        nn_graph_free(g);
        return st;
    }
    *out = g;
    return IGD_OK;
}

void nn_prim_fini(nn_prim *p)
{
    if (p->scratch)
        dnnl_memory_destroy(p->scratch);
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    if (p->pd)
        dnnl_primitive_desc_destroy(p->pd);
    memset(p, 0, sizeof *p);
}

static void weight_free(nn_weight *w)
{
    if (!w)
        return;
    nn_prim_fini(&w->move);
    if (w->reorder && w->mem)
        dnnl_memory_destroy(w->mem);
    if (w->canon_mem)
        dnnl_memory_destroy(w->canon_mem);
    core_free(w);
}

void nn_graph_free(nn_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nops; i++) {
        g->ops[i]->vt->destroy(g->ops[i]);
        core_free(g->ops[i]);
    }
    for (size_t i = 0; i < g->nweights; i++)
        weight_free(g->weights[i]);
    for (size_t i = 0; i < g->ntensors; i++) {
        nn_tensor *t = &g->tensors[i];
        dnnl_memory_t mems[] = {t->mem, t->diff_mem, t->spare_mem};
        for (size_t k = 0; k < 3; k++)
            if (mems[k])
                dnnl_memory_destroy(mems[k]);
    }
    for (size_t i = 0; i < g->nbuffers; i++) {
        if (g->buffer_mems[i])
            dnnl_memory_destroy(g->buffer_mems[i]);
        core_free_aligned(g->buffers[i]);
    }
    core_free(g->buffers);
    core_free(g->buffer_mems);
    core_free(g->tensors);
    core_free(g->ops);
    core_free(g->weights);
    core_free_aligned(g->grad_arena);
    core_free_aligned(g->arena);
    if (g->attr)
        dnnl_primitive_attr_destroy(g->attr);
    core_free(g);
}

void nn_graph_set_accumulate(nn_graph *g)
{
    g->accumulate = true;
}

int nn_graph_fail(nn_graph *g, igd_status st)
{
    if (g->status == IGD_OK)
        g->status = st;
    return -1;
}

bool nn_graph_ok(const nn_graph *g)
{
    return g->status == IGD_OK;
}

igd_status nn_graph_status(const nn_graph *g, core_err *err)
{
    if (g->status != IGD_OK && err) {
        err->status = g->status;
        memcpy(err->msg, g->err.msg, sizeof err->msg);
    }
    return g->status;
}

int nn_graph_add_tensor(nn_graph *g, const dnnl_memory_desc_t *md)
{
    if (!nn_graph_ok(g))
        return -1;
    /* md may point into the tensor table itself (an op whose output takes an input's layout),
     * which growing the table moves: copy it first. */
    dnnl_memory_desc_t copy = *md;
    if (grow((void **)&g->tensors, &g->tensor_cap, g->ntensors, sizeof *g->tensors, &g->err))
        return nn_graph_fail(g, IGD_ERR_OUT_OF_MEMORY);
    nn_tensor *t = &g->tensors[g->ntensors];
    memset(t, 0, sizeof *t);
    t->md = copy;
    t->alias = -1;
    return (int)g->ntensors++;
}

igd_status nn_graph_add_op(nn_graph *g, nn_op *op, core_err *err)
{
    CORE_TRY(grow((void **)&g->ops, &g->op_cap, g->nops, sizeof *g->ops, err));
    g->ops[g->nops++] = op;
    bool needs = g->mode == NN_TRAIN && op->has_params;
    for (int i = 0; i < op->nin; i++) {
        nn_tensor *t = &g->tensors[op->in[i]];
        t->consumers++;
        if (t->alias >= 0) /* gradients of a view accumulate in its base's buffers */
            g->tensors[t->alias].consumers++;
        needs |= g->tensors[op->in[i]].needs_diff;
    }
    g->tensors[op->out].needs_diff |= needs;
    return IGD_OK;
}

const dnnl_memory_desc_t *nn_md(const nn_graph *g, int t)
{
    return &g->tensors[t].md;
}

nn_tensor *nn_tensor_at(nn_graph *g, int t)
{
    return &g->tensors[t];
}

int nn_input(nn_graph *g, int64_t c, int64_t h, int64_t w, bool needs_diff)
{
    dnnl_memory_desc_t md;
    dnnl_status_t s;
    if (h == 1 && w == 1) {
        dnnl_dims_t dims = {g->batch, c};
        s = dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_nc);
    } else {
        dnnl_dims_t dims = {g->batch, c, h, w};
        s = dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw);
    }
    if (nn_check(s, &g->err, "input descriptor") != IGD_OK)
        return nn_graph_fail(g, g->err.status);
    int t = nn_graph_add_tensor(g, &md);
    if (t >= 0)
        g->tensors[t].needs_diff = needs_diff && g->mode == NN_TRAIN;
    return t;
}

int nn_dims(const nn_graph *g, int t, int64_t *dims)
{
    const dnnl_memory_desc_t *md = &g->tensors[t].md;
    for (int i = 0; i < md->ndims; i++)
        dims[i] = md->dims[i];
    return md->ndims;
}

/* ---- primitives ---- */

static igd_status prim_finish(nn_graph *g, nn_prim *p, const char *what, core_err *err)
{
    p->what = what;
    const char *impl = "";
    if (dnnl_primitive_desc_query(p->pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success) {
        g->reference_prims += strncmp(impl, "ref", 3) == 0;
        dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
        dnnl_primitive_desc_query(p->pd, dnnl_query_primitive_kind, 0, &kind);
        g->winograd_prims += kind == dnnl_convolution && strstr(impl, "wino") != NULL;
    }
    CORE_TRY(nn_check(dnnl_primitive_create(&p->prim, p->pd), err, what));
    const dnnl_memory_desc_t *smd =
        dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md, 0);
    size_t size = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (size > g->scratch_size)
        g->scratch_size = size;
    return IGD_OK;
}

igd_status nn_prim_create(nn_graph *g, nn_prim *p, const_dnnl_op_desc_t desc,
                          const_dnnl_primitive_desc_t hint, const char *what, core_err *err)
{
    CORE_TRY(nn_check(dnnl_primitive_desc_create(&p->pd, desc, g->attr, g->ctx->engine, hint), err,
                      what));
    return prim_finish(g, p, what, err);
}

igd_status nn_prim_create_avoiding(nn_graph *g, nn_prim *p, const_dnnl_op_desc_t desc,
                                   const_dnnl_primitive_desc_t hint, const char *avoid,
                                   const char *what, core_err *err)
{
    dnnl_primitive_desc_iterator_t it;
    CORE_TRY(nn_check(dnnl_primitive_desc_iterator_create(&it, desc, g->attr, g->ctx->engine, hint),
                      err, what));
    dnnl_status_t s = dnnl_success;
    while (s == dnnl_success) {
        dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
        const char *impl = "";
        if (pd &&
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success &&
            !strstr(impl, avoid)) {
            dnnl_primitive_desc_iterator_destroy(it);
            return nn_prim_adopt(g, p, pd, what, err);
        }
        if (pd)
            dnnl_primitive_desc_destroy(pd);
        s = dnnl_primitive_desc_iterator_next(it);
    }
    dnnl_primitive_desc_iterator_destroy(it);
    return core_fail(err, IGD_ERR_BACKEND, "oneDNN has no usable implementation for %s", what);
}

igd_status nn_prim_adopt(nn_graph *g, nn_prim *p, dnnl_primitive_desc_t pd, const char *what,
                         core_err *err)
{
    p->pd = pd;
    return prim_finish(g, p, what, err);
}

const dnnl_memory_desc_t *nn_prim_md(const nn_prim *p, dnnl_query_t what, int index)
{
    return dnnl_primitive_desc_query_md(p->pd, what, index);
}

static igd_status prim_bind_scratch(nn_graph *g, nn_prim *p, core_err *err)
{
    if (!p->pd || p->scratch)
        return IGD_OK;
    const dnnl_memory_desc_t *smd =
        dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md, 0);
    if (!smd || dnnl_memory_desc_get_size(smd) == 0)
        return IGD_OK;
    p->scratch_at = g->ctx->scratch;
    return nn_check(dnnl_memory_create(&p->scratch, smd, g->ctx->engine, g->ctx->scratch), err,
                    "scratchpad memory");
}

igd_status nn_prim_exec(nn_graph *g, nn_prim *p, int nargs, dnnl_exec_arg_t *args, core_err *err)
{
    enum { MAX_ARGS = 16 };
    dnnl_exec_arg_t all[MAX_ARGS];
    if (nargs >= MAX_ARGS)
        return core_fail(err, IGD_ERR_INTERNAL, "too many primitive arguments");
    memcpy(all, args, sizeof *args * (size_t)nargs);
    if (!p->scratch)
        CORE_TRY(prim_bind_scratch(g, p, err));
    if (p->scratch && p->scratch_at != g->ctx->scratch) { /* the context's scratchpad grew */
        CORE_TRY(nn_check(dnnl_memory_set_data_handle(p->scratch, g->ctx->scratch), err,
                          "scratchpad memory"));
        p->scratch_at = g->ctx->scratch;
    }
    if (p->scratch)
        all[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
    dnnl_status_t s = dnnl_primitive_execute(p->prim, g->ctx->stream, nargs, all);
    if (s == dnnl_success)
        return IGD_OK;
    /* Name the first argument whose descriptor the primitive does not expect. */
    for (int i = 0; i < nargs; i++) {
        const dnnl_memory_desc_t *want =
            dnnl_primitive_desc_query_md(p->pd, dnnl_query_exec_arg_md, all[i].arg);
        const dnnl_memory_desc_t *have = NULL;
        dnnl_memory_get_memory_desc(all[i].memory, &have);
        if (!want || !have || !dnnl_memory_desc_equal(want, have))
            return core_fail(err, IGD_ERR_BACKEND,
                             "oneDNN failed with status %d: %s: argument %d does not match", (int)s,
                             p->what, all[i].arg);
    }
    return nn_check(s, err, p->what);
}

/* ---- buffers ---- */

igd_status nn_graph_buffer(nn_graph *g, const dnnl_memory_desc_t *md, float **data,
                           dnnl_memory_t *mem, core_err *err)
{
    CORE_TRY(grow((void **)&g->buffers, &g->buffer_cap, g->nbuffers, sizeof *g->buffers, err));
    size_t cap = g->buffer_cap;
    if (cap > 0) {
        dnnl_memory_t *mems = core_realloc(g->buffer_mems, cap * sizeof *mems);
        if (!mems)
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "growing a graph table");
        g->buffer_mems = mems;
    }
    size_t size = dnnl_memory_desc_get_size(md);
    void *p = core_malloc_aligned(size ? size : 1);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a %zu-byte tensor", size);
    memset(p, 0, size);
    dnnl_memory_t m = NULL;
    igd_status st =
        mem ? nn_check(dnnl_memory_create(&m, md, g->ctx->engine, p), err, "memory") : IGD_OK;
    if (st != IGD_OK) {
        core_free_aligned(p);
        return st;
    }
    g->buffers[g->nbuffers] = p;
    g->buffer_mems[g->nbuffers] = m;
    g->nbuffers++;
    *data = p;
    if (mem)
        *mem = m;
    return IGD_OK;
}

static igd_status memory_over(nn_graph *g, const dnnl_memory_desc_t *md, void *buf,
                              dnnl_memory_t *mem, core_err *err)
{
    return nn_check(dnnl_memory_create(mem, md, g->ctx->engine, buf), err, "memory");
}

/* ---- weights ---- */

igd_status nn_weight_create(nn_graph *g, size_t param, bool grad,
                            const dnnl_memory_desc_t *canon_md, const dnnl_memory_desc_t *prim_md,
                            nn_weight **out, core_err *err)
{
    CORE_TRY(grow((void **)&g->weights, &g->weight_cap, g->nweights, sizeof *g->weights, err));
    nn_weight *w = core_calloc(1, sizeof *w);
    if (!w)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a weight");
    w->param = param;
    w->grad = grad;
    w->canon_md = *canon_md;
    w->prim_md = *prim_md;
    w->reorder = !dnnl_memory_desc_equal(canon_md, prim_md);
    g->weights[g->nweights++] = w;
    *out = w;
    return IGD_OK;
}

static igd_status weight_finalize(nn_graph *g, nn_weight *w, core_err *err)
{
    nn_params *p = g->params;
    const nn_param *q = &p->items[w->param];
    float *canon =
        w->grad ? (g->accumulate ? g->grad_arena : p->grad) + q->offset : p->value + q->offset;
    CORE_TRY(memory_over(g, &w->canon_md, canon, &w->canon_mem, err));
    if (!w->reorder) {
        w->mem = w->canon_mem;
        return IGD_OK;
    }
    CORE_TRY(nn_graph_buffer(g, &w->prim_md, &w->copy, NULL, err));
    CORE_TRY(memory_over(g, &w->prim_md, w->copy, &w->mem, err));
    const dnnl_memory_desc_t *from = w->grad ? &w->prim_md : &w->canon_md;
    const dnnl_memory_desc_t *to = w->grad ? &w->canon_md : &w->prim_md;
    dnnl_primitive_desc_t pd;
    CORE_TRY(nn_check(
        dnnl_reorder_primitive_desc_create(&pd, from, g->ctx->engine, to, g->ctx->engine, g->attr),
        err, "weight reorder"));
    return nn_prim_adopt(g, &w->move, pd, "weight reorder", err);
}

igd_status nn_weight_grad_done(nn_graph *g, nn_weight *w, core_err *err)
{
    if (!w->reorder)
        return IGD_OK;
    dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, w->mem}, {DNNL_ARG_TO, w->canon_mem}};
    return nn_prim_exec(g, &w->move, 2, args, err);
}

static igd_status refresh_weights(nn_graph *g, core_err *err)
{
    if (g->params_version == g->params->version)
        return IGD_OK;
    for (size_t i = 0; i < g->nweights; i++) {
        nn_weight *w = g->weights[i];
        if (!w->reorder || w->grad)
            continue;
        dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, w->canon_mem}, {DNNL_ARG_TO, w->mem}};
        CORE_TRY(nn_prim_exec(g, &w->move, 2, args, err));
    }
    g->params_version = g->params->version;
    return IGD_OK;
}

/* ---- finalize ---- */

igd_status nn_graph_finalize(nn_graph *g, core_err *err)
{
    CORE_TRY(nn_graph_status(g, err));
    if (!g->params->committed && g->params->count > 0)
        return core_fail(err, IGD_ERR_INTERNAL, "finalizing a graph before its parameters");
    if (g->accumulate && g->mode == NN_TRAIN) {
        size_t bytes;
        if (!core_mul_size(g->params->total ? g->params->total : 1, sizeof(float), &bytes))
            return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "gradient arena overflows");
        g->grad_arena = core_malloc_aligned(bytes);
        if (!g->grad_arena)
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a gradient arena");
        memset(g->grad_arena, 0, bytes);
    }
    CORE_TRY(nn_plan_buffers(g, err));
    for (size_t i = 0; i < g->ntensors; i++) {
        nn_tensor *t = &g->tensors[i];
        if (t->alias >= 0) {
            nn_tensor *b = &g->tensors[t->alias];
            t->data = b->data;
            t->diff = b->diff;
            t->spare = b->spare;
        } else if (!t->data) { /* a training graph keeps every activation */
            CORE_TRY(nn_graph_buffer(g, &t->md, &t->data, NULL, err));
        }
        CORE_TRY(memory_over(g, &t->md, t->data, &t->mem, err));
        if (t->diff)
            CORE_TRY(memory_over(g, &t->md, t->diff, &t->diff_mem, err));
        if (t->spare)
            CORE_TRY(memory_over(g, &t->md, t->spare, &t->spare_mem, err));
    }
    for (size_t i = 0; i < g->nweights; i++)
        CORE_TRY(weight_finalize(g, g->weights[i], err));
    for (size_t i = 0; i < g->nops; i++)
        if (g->ops[i]->vt->finalize)
            CORE_TRY(g->ops[i]->vt->finalize(g->ops[i], g, err));
    CORE_TRY(nn_ctx_reserve_scratch(g->ctx, g->scratch_size, err));
    g->finalized = true;
    return IGD_OK;
}

/* ---- passes ---- */

igd_status nn_graph_forward(nn_graph *g, core_err *err)
{
    if (!g->finalized)
        return core_fail(err, IGD_ERR_INTERNAL, "running a graph that is not finalized");
    CORE_TRY(refresh_weights(g, err));
    for (size_t i = 0; i < g->nops; i++)
        CORE_TRY(g->ops[i]->vt->forward(g->ops[i], g, err));
    return nn_check(dnnl_stream_wait(g->ctx->stream), err, "stream");
}

int nn_base(const nn_graph *g, int t)
{
    int a = g->tensors[t].alias;
    return a >= 0 ? a : t;
}

static nn_tensor *base_of(nn_graph *g, int t)
{
    return &g->tensors[nn_base(g, t)];
}

static void diff_zero(nn_tensor *t)
{
    memset(t->diff, 0, dnnl_memory_desc_get_size(&t->md));
    t->diff_set = true;
}

igd_status nn_graph_backward(nn_graph *g, const int *outputs, size_t noutputs, bool params,
                             core_err *err)
{
    if (!g->finalized || g->mode != NN_TRAIN)
        return core_fail(err, IGD_ERR_INTERNAL, "backward needs a finalized training graph");
    for (size_t i = 0; i < g->ntensors; i++) {
        g->tensors[i].diff_set = false;
        g->tensors[i].to_spare = false;
    }
    for (size_t i = 0; i < noutputs; i++) {
        nn_tensor *t = base_of(g, outputs[i]);
        if (!t->diff || t->live_last != (int)g->nops)
            return core_fail(err, IGD_ERR_INTERNAL,
                             "backward from a tensor that is not an output of its graph");
        t->diff_set = true;
    }
    if (params && g->accumulate)
        memset(g->grad_arena, 0, g->params->total * sizeof(float));
    for (size_t i = g->nops; i-- > 0;) {
        nn_op *op = g->ops[i];
        nn_tensor *out = base_of(g, op->out);
        if (!g->tensors[op->out].needs_diff)
            continue;
        if (!out->diff_set)
            diff_zero(out);
        CORE_TRY(op->vt->backward(op, g, params, err));
    }
    CORE_TRY(nn_check(dnnl_stream_wait(g->ctx->stream), err, "stream"));
    if (params && g->accumulate)
        nn_params_add_grad(g->params, g->grad_arena);
    return IGD_OK;
}

/* ---- gradient accumulation ---- */

float *nn_diff_target_buf(nn_graph *g, int t)
{
    nn_tensor *b = base_of(g, t);
    b->to_spare = b->diff_set;
    return b->to_spare ? b->spare : b->diff;
}

dnnl_memory_t nn_diff_target(nn_graph *g, int t)
{
    nn_tensor *x = &g->tensors[t];
    nn_tensor *b = base_of(g, t);
    b->to_spare = b->diff_set;
    return b->to_spare ? x->spare_mem : x->diff_mem;
}

void nn_diff_done(nn_graph *g, int t)
{
    nn_tensor *b = base_of(g, t);
    if (b->to_spare) {
        float *d = b->diff;
        const float *s = b->spare;
        size_t n = dnnl_memory_desc_get_size(&b->md) / sizeof(float);
        dnnl_stream_wait(g->ctx->stream);
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t k = 0; k < n; k++)
            d[k] += s[k];
        b->to_spare = false;
    }
    b->diff_set = true;
}

igd_status nn_diff_give(nn_graph *g, int t, const float *src, core_err *err)
{
    nn_tensor *b = base_of(g, t);
    size_t n = dnnl_memory_desc_get_size(&b->md) / sizeof(float);
    float *d = b->diff;
    CORE_TRY(nn_check(dnnl_stream_wait(g->ctx->stream), err, "stream"));
    if (b->diff_set) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t k = 0; k < n; k++)
            d[k] += src[k];
    } else {
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t k = 0; k < n; k++)
            d[k] = src[k];
    }
    b->diff_set = true;
    return IGD_OK;
}

float *nn_data(nn_graph *g, int t)
{
    return g->tensors[t].data;
}

float *nn_diff(nn_graph *g, int t)
{
    return g->tensors[t].diff;
}

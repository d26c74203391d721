/* Layout plumbing: nn_reorder converts a tensor to another layout (nn_plain to the plain one);
 * nn_reshape views a plain tensor with other dims without copying (its buffers are the
 * input's). */
#include "nn/layers.h"

typedef struct reorder_op {
    nn_op base;
    nn_prim fwd, bwd;
} reorder_op;

static igd_status reorder_forward(nn_op *op, nn_graph *g, core_err *err)
{
    reorder_op *r = (reorder_op *)op;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_TO, nn_tensor_at(g, op->out)->mem}};
    return nn_prim_exec(g, &r->fwd, 2, args, err);
}

static igd_status reorder_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    (void)params;
    reorder_op *r = (reorder_op *)op;
    if (!nn_tensor_at(g, op->in[0])->needs_diff)
        return IGD_OK;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, nn_tensor_at(g, op->out)->diff_mem},
                               {DNNL_ARG_TO, nn_diff_target(g, op->in[0])}};
    CORE_TRY(nn_prim_exec(g, &r->bwd, 2, args, err));
    nn_diff_done(g, op->in[0]);
    return IGD_OK;
}

static void reorder_destroy(nn_op *op)
{
    reorder_op *r = (reorder_op *)op;
    nn_prim_fini(&r->fwd);
    nn_prim_fini(&r->bwd);
}

static const nn_op_vt reorder_vt = {"reorder", NULL, reorder_forward, reorder_backward,
                                    reorder_destroy};

int nn_reorder(nn_graph *g, int x, const dnnl_memory_desc_t *md)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    if (dnnl_memory_desc_equal(src, md))
        return x;
    reorder_op *r = nn_op_new(g, sizeof *r, &reorder_vt);
    if (!r)
        return -1;
    r->base.in[0] = x;
    r->base.nin = 1;
    core_err *err = &g->err;
    dnnl_primitive_desc_t pd;
    igd_status st = nn_check(
        dnnl_reorder_primitive_desc_create(&pd, src, g->ctx->engine, md, g->ctx->engine, g->attr),
        err, "reorder descriptor");
    if (st == IGD_OK)
        st = nn_prim_adopt(g, &r->fwd, pd, "reorder", err);
    if (st == IGD_OK && g->mode == NN_TRAIN && nn_tensor_at(g, x)->needs_diff) {
        st = nn_check(dnnl_reorder_primitive_desc_create(&pd, md, g->ctx->engine, src,
                                                         g->ctx->engine, g->attr),
                      err, "reorder descriptor");
        if (st == IGD_OK)
            st = nn_prim_adopt(g, &r->bwd, pd, "reorder backward", err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &r->base, st);
    return nn_op_commit(g, &r->base, md);
}

int nn_plain(nn_graph *g, int x)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    int64_t dims[DNNL_MAX_NDIMS];
    for (int i = 0; i < src->ndims; i++)
        dims[i] = src->dims[i];
    dnnl_memory_desc_t plain;
    nn_plain_md(&plain, src->ndims, dims);
    return nn_reorder(g, x, &plain);
}

int nn_blocked(nn_graph *g, int x)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    if (src->ndims != 4)
        return x;
    /* Ask a 3 x 3 convolution over x's channels which input layout it prefers. */
    const int64_t c = src->dims[1];
    const int64_t sdims[4] = {src->dims[0], c, src->dims[2], src->dims[3]}, wdims[4] = {c, c, 3, 3};
    const dnnl_dims_t strides = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t sany, wany;
    nn_any_md(&sany, 4, sdims);
    nn_any_md(&wany, 4, wdims);
    dnnl_convolution_desc_t d;
    dnnl_primitive_desc_t pd;
    if (dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct,
                                           &sany, &wany, NULL, &sany, strides, pad,
                                           pad) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &d, NULL, g->ctx->engine, NULL) != dnnl_success)
        return x; /* no preference to follow: stay as is */
    dnnl_memory_desc_t want = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    dnnl_primitive_desc_destroy(pd);
    return nn_reorder(g, x, &want);
}

static igd_status view_pass(nn_op *op, nn_graph *g, core_err *err)
{
    (void)op;
    (void)g;
    (void)err;
    return IGD_OK;
}

static igd_status view_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    (void)params;
    /* The gradient already lies in the shared buffer; record that the input has it. */
    if (nn_tensor_at(g, op->in[0])->needs_diff)
        nn_diff_done(g, op->in[0]);
    (void)err;
    return IGD_OK;
}

static void view_destroy(nn_op *op)
{
    (void)op;
}

static const nn_op_vt view_vt = {"reshape", NULL, view_pass, view_backward, view_destroy};

int nn_reshape(nn_graph *g, int x, int64_t c, int64_t h, int64_t w)
{
    x = nn_plain(g, x);
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    int64_t count = 1;
    for (int i = 1; i < src->ndims; i++)
        count *= src->dims[i];
    if (count != c * h * w || nn_tensor_at(g, x)->consumers > 0) {
        core_fail(&g->err, IGD_ERR_INTERNAL, "reshape of %lld elements to %lld x %lld x %lld",
                  (long long)count, (long long)c, (long long)h, (long long)w);
        return nn_graph_fail(g, IGD_ERR_INTERNAL);
    }
    nn_op *op = nn_op_new(g, sizeof *op, &view_vt);
    if (!op)
        return -1;
    op->in[0] = x;
    op->nin = 1;
    dnnl_memory_desc_t md;
    const int64_t d4[4] = {src->dims[0], c, h, w}, d2[2] = {src->dims[0], c};
    bool flat = h == 1 && w == 1;
    nn_plain_md(&md, flat ? 2 : 4, flat ? d2 : d4);
    int t = nn_op_commit(g, op, &md);
    if (t >= 0) {
        nn_tensor *in = nn_tensor_at(g, x);
        nn_tensor_at(g, t)->alias = in->alias >= 0 ? in->alias : x;
    }
    return t;
}

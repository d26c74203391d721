/* Convolution: k x k, stride 1, "same" padding, optional bias. Forward, backward data and backward
 * weights are separate oneDNN primitives, each reading weights in the layout it prefers. */
#include "nn/layers.h"

typedef struct conv_op {
    nn_op base;
    nn_prim fwd, bwd_data, bwd_weights;
    nn_weight *w, *w_bwd, *dw, *b, *db;
    bool bias;
} conv_op;

static igd_status conv_forward(nn_op *op, nn_graph *g, core_err *err)
{
    conv_op *c = (conv_op *)op;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_WEIGHTS, c->w->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}};
    int n = 3;
    if (c->bias)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, c->b->mem};
    return nn_prim_exec(g, &c->fwd, n, args, err);
}

static igd_status conv_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    conv_op *c = (conv_op *)op;
    nn_tensor *x = nn_tensor_at(g, op->in[0]);
    dnnl_memory_t dy = nn_tensor_at(g, op->out)->diff_mem;
    if (params) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, x->mem},
                                   {DNNL_ARG_DIFF_DST, dy},
                                   {DNNL_ARG_DIFF_WEIGHTS, c->dw->mem}};
        int n = 3;
        if (c->bias)
            args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, c->db->mem};
        CORE_TRY(nn_prim_exec(g, &c->bwd_weights, n, args, err));
        CORE_TRY(nn_weight_grad_done(g, c->dw, err));
    }
    if (x->needs_diff) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dy},
                                   {DNNL_ARG_WEIGHTS, c->w_bwd->mem},
                                   {DNNL_ARG_DIFF_SRC, nn_diff_target(g, op->in[0])}};
        CORE_TRY(nn_prim_exec(g, &c->bwd_data, 3, args, err));
        nn_diff_done(g, op->in[0]);
    }
    return IGD_OK;
}

static void conv_destroy(nn_op *op)
{
    conv_op *c = (conv_op *)op;
    nn_prim_fini(&c->fwd);
    nn_prim_fini(&c->bwd_data);
    nn_prim_fini(&c->bwd_weights);
}

static const nn_op_vt conv_vt = {"convolution", NULL, conv_forward, conv_backward, conv_destroy};

int nn_conv(nn_graph *g, int x, int64_t cout, int k, bool bias, nn_init init)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    conv_op *c = nn_op_new(g, sizeof *c, &conv_vt);
    if (!c)
        return -1;
    c->base.in[0] = x;
    c->base.nin = 1;
    c->base.has_params = true;
    c->bias = bias;
    core_err *err = &g->err;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    const int64_t n = src->dims[0], cin = src->dims[1], h = src->dims[2], w = src->dims[3];
    const int64_t wdims[4] = {cout, cin, k, k}, bdims[1] = {cout}, ddims[4] = {n, cout, h, w};
    const dnnl_dims_t strides = {1, 1}, pad = {k / 2, k / 2};
    size_t wp, bp = 0;
    igd_status st = nn_params_claim(g->params, 4, wdims, 1, init, (int)(cin * k * k),
                                    (int)(cout * k * k), &wp, err);
    if (st == IGD_OK && bias)
        st = nn_params_claim(g->params, 1, bdims, 1, NN_INIT_ZERO, 0, 0, &bp, err);
    if (st != IGD_OK)
        return nn_op_fail(g, &c->base, st);

    dnnl_memory_desc_t wcanon, wany, bmd, dany;
    nn_plain_md(&wcanon, 4, wdims);
    nn_any_md(&wany, 4, wdims);
    nn_plain_md(&bmd, 1, bdims);
    nn_any_md(&dany, 4, ddims);
    dnnl_prop_kind_t prop = g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_convolution_desc_t d;
    st = nn_check(dnnl_convolution_forward_desc_init(&d, prop, dnnl_convolution_direct, src, &wany,
                                                     bias ? &bmd : NULL, &dany, strides, pad, pad),
                  err, "convolution descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &c->fwd, &d, NULL, "convolution", err);
    if (st != IGD_OK)
        return nn_op_fail(g, &c->base, st);
    const dnnl_memory_desc_t *dst = nn_prim_md(&c->fwd, dnnl_query_dst_md, 0);
    st = nn_weight_create(g, wp, false, &wcanon, nn_prim_md(&c->fwd, dnnl_query_weights_md, 0),
                          &c->w, err);
    if (st == IGD_OK && bias)
        st = nn_weight_create(g, bp, false, &bmd, &bmd, &c->b, err);
    if (st == IGD_OK && g->mode == NN_TRAIN) {
        if (nn_tensor_at(g, x)->needs_diff) {
            st = nn_check(dnnl_convolution_backward_data_desc_init(
                              &d, dnnl_convolution_direct, src, &wany, dst, strides, pad, pad),
                          err, "convolution backward-data descriptor");
            if (st == IGD_OK)
                st = nn_prim_create(g, &c->bwd_data, &d, c->fwd.pd, "convolution backward data",
                                    err);
            if (st == IGD_OK)
                st = nn_weight_create(g, wp, false, &wcanon,
                                      nn_prim_md(&c->bwd_data, dnnl_query_weights_md, 0),
                                      &c->w_bwd, err);
        }
        if (st == IGD_OK)
            st = nn_check(dnnl_convolution_backward_weights_desc_init(
                              &d, dnnl_convolution_direct, src, &wany, bias ? &bmd : NULL, dst,
                              strides, pad, pad),
                          err, "convolution backward-weights descriptor");
        if (st == IGD_OK)
            st = nn_prim_create(g, &c->bwd_weights, &d, c->fwd.pd,
                                "convolution backward weights", err);
        if (st == IGD_OK)
            st = nn_weight_create(g, wp, true, &wcanon,
                                  nn_prim_md(&c->bwd_weights, dnnl_query_diff_weights_md, 0),
                                  &c->dw, err);
        if (st == IGD_OK && bias)
            st = nn_weight_create(g, bp, true, &bmd, &bmd, &c->db, err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &c->base, st);
    return nn_op_commit(g, &c->base, dst);
}

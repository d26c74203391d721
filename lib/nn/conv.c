/* Convolution: k x k, stride 1, "same" padding, optional bias. Forward, backward data and backward
 * weights are separate oneDNN primitives, each choosing its layouts: the input is reordered to
 * the forward's preferred layout when it arrives in another, the input gradient is computed in
 * backward data's preferred layout and reordered when that differs, and each reads the weights in
 * the layout it prefers. */
#include "nn/layers.h"

typedef struct conv_op {
    nn_op base;
    nn_prim fwd, bwd_data, bwd_weights;
    nn_weight *w, *w_bwd, *dw, *b, *db;
    bool bias;
    bool dsrc_reorder; /* backward data writes dsrc_md, then reorders into the input's */
    dnnl_memory_desc_t dsrc_md;
    float *dsrc;
    dnnl_memory_t dsrc_mem;
    nn_prim to_input;
} conv_op;

static igd_status conv_finalize(nn_op *op, nn_graph *g, core_err *err)
{
    conv_op *c = (conv_op *)op;
    if (!c->dsrc_reorder)
        return IGD_OK;
    return nn_graph_buffer(g, &c->dsrc_md, &c->dsrc, &c->dsrc_mem, err);
}

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
        dnnl_memory_t target = nn_diff_target(g, op->in[0]);
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dy},
                                   {DNNL_ARG_WEIGHTS, c->w_bwd->mem},
                                   {DNNL_ARG_DIFF_SRC, c->dsrc_reorder ? c->dsrc_mem : target}};
        CORE_TRY(nn_prim_exec(g, &c->bwd_data, 3, args, err));
        if (c->dsrc_reorder) {
            dnnl_exec_arg_t move[2] = {{DNNL_ARG_FROM, c->dsrc_mem}, {DNNL_ARG_TO, target}};
            CORE_TRY(nn_prim_exec(g, &c->to_input, 2, move, err));
        }
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
    nn_prim_fini(&c->to_input);
}

static const nn_op_vt conv_vt = {"convolution", conv_finalize, conv_forward, conv_backward,
                                 conv_destroy};

int nn_conv(nn_graph *g, int x, int64_t cout, int k, bool bias, nn_init init)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    conv_op *c = nn_op_new(g, sizeof *c, &conv_vt);
    if (!c)
        return -1;
    c->base.nin = 1;
    c->base.has_params = true;
    c->bias = bias;
    core_err *err = &g->err;
    const dnnl_memory_desc_t *in = nn_md(g, x);
    const int64_t n = in->dims[0], cin = in->dims[1], h = in->dims[2], w = in->dims[3];
    const int64_t wdims[4] = {cout, cin, k, k}, bdims[1] = {cout}, ddims[4] = {n, cout, h, w};
    const dnnl_dims_t strides = {1, 1}, pad = {k / 2, k / 2};
    size_t wp, bp = 0;
    igd_status st = nn_params_claim(g->params, &g->cursor, 4, wdims, 1, init, (int)(cin * k * k),
                                    (int)(cout * k * k), &wp, err);
    if (st == IGD_OK && bias)
        st = nn_params_claim(g->params, &g->cursor, 1, bdims, 1, NN_INIT_ZERO, 0, 0, &bp, err);
    if (st != IGD_OK)
        return nn_op_fail(g, &c->base, st);

    const int64_t sdims[4] = {n, cin, h, w};
    dnnl_memory_desc_t wcanon, wany, bmd, dany, sany;
    nn_plain_md(&wcanon, 4, wdims);
    nn_any_md(&wany, 4, wdims);
    nn_plain_md(&bmd, 1, bdims);
    nn_any_md(&dany, 4, ddims);
    nn_any_md(&sany, 4, sdims);
    dnnl_prop_kind_t prop = g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_convolution_desc_t d;
    st = nn_check(dnnl_convolution_forward_desc_init(&d, prop, dnnl_convolution_direct, &sany,
                                                     &wany, bias ? &bmd : NULL, &dany, strides, pad,
                                                     pad),
                  err, "convolution descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &c->fwd, &d, NULL, "convolution", err);
    if (st != IGD_OK)
        return nn_op_fail(g, &c->base, st);
    x = nn_reorder(g, x, nn_prim_md(&c->fwd, dnnl_query_src_md, 0));
    if (x < 0)
        return nn_op_fail(g, &c->base, g->status);
    c->base.in[0] = x;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    const dnnl_memory_desc_t *dst = nn_prim_md(&c->fwd, dnnl_query_dst_md, 0);
    st = nn_weight_create(g, wp, false, &wcanon, nn_prim_md(&c->fwd, dnnl_query_weights_md, 0),
                          &c->w, err);
    if (st == IGD_OK && bias)
        st = nn_weight_create(g, bp, false, &bmd, &bmd, &c->b, err);
    if (st == IGD_OK && g->mode == NN_TRAIN) {
        if (nn_tensor_at(g, x)->needs_diff) {
            st = nn_check(dnnl_convolution_backward_data_desc_init(
                              &d, dnnl_convolution_direct, &sany, &wany, dst, strides, pad, pad),
                          err, "convolution backward-data descriptor");
            if (st == IGD_OK)
                st = nn_prim_create(g, &c->bwd_data, &d, c->fwd.pd, "convolution backward data",
                                    err);
            if (st == IGD_OK) {
                c->dsrc_md = *nn_prim_md(&c->bwd_data, dnnl_query_diff_src_md, 0);
                c->dsrc_reorder = !dnnl_memory_desc_equal(&c->dsrc_md, src);
            }
            if (st == IGD_OK && c->dsrc_reorder) {
                dnnl_primitive_desc_t pd;
                st = nn_check(dnnl_reorder_primitive_desc_create(&pd, &c->dsrc_md, g->ctx->engine,
                                                                 src, g->ctx->engine, g->attr),
                              err, "reorder descriptor");
                if (st == IGD_OK)
                    st = nn_prim_adopt(g, &c->to_input, pd, "input-gradient reorder", err);
            }
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

/* What all layers share: op allocation and registration, plain descriptors. */
#include "nn/layers.h"

#include "core/alloc.h"

void *nn_op_new(nn_graph *g, size_t size, const nn_op_vt *vt)
{
    if (!nn_graph_ok(g))
        return NULL;
    nn_op *op = core_calloc(1, size);
    if (!op) {
        core_fail(&g->err, IGD_ERR_OUT_OF_MEMORY, "allocating a %s layer", vt->name);
        nn_graph_fail(g, IGD_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    op->vt = vt;
    return op;
}

int nn_op_fail(nn_graph *g, nn_op *op, igd_status st)
{
    if (op) {
        op->vt->destroy(op);
        core_free(op);
    }
    return nn_graph_fail(g, st);
}

int nn_op_commit(nn_graph *g, nn_op *op, const dnnl_memory_desc_t *out_md)
{
    int t = nn_graph_add_tensor(g, out_md);
    if (t < 0)
        return nn_op_fail(g, op, g->status);
    op->out = t;
    igd_status st = nn_graph_add_op(g, op, &g->err);
    if (st != IGD_OK)
        return nn_op_fail(g, op, st);
    return t;
}

bool nn_is_plain(const dnnl_memory_desc_t *md)
{
    dnnl_memory_desc_t plain;
    int64_t dims[DNNL_MAX_NDIMS];
    for (int i = 0; i < md->ndims; i++)
        dims[i] = md->dims[i];
    if (nn_plain_md(&plain, md->ndims, dims) != dnnl_success)
        return false;
    return dnnl_memory_desc_equal(&plain, md);
}

dnnl_status_t nn_plain_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims)
{
    dnnl_format_tag_t tag = ndims == 4 ? dnnl_nchw : ndims == 2 ? dnnl_nc : dnnl_a;
    return dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tag);
}

dnnl_status_t nn_any_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims)
{
    return dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, dnnl_format_tag_any);
}

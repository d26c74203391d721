#include "nn/ctx.h"

#include <omp.h>

#include "core/alloc.h"

igd_status nn_check(dnnl_status_t status, core_err *err, const char *what)
{
    switch (status) {
    case dnnl_success:
        return IGD_OK;
    case dnnl_out_of_memory:
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "oneDNN ran out of memory (%s)", what);
    case dnnl_unimplemented:
        return core_fail(err, IGD_ERR_BACKEND, "oneDNN has no implementation for %s", what);
    default:
        return core_fail(err, IGD_ERR_BACKEND, "oneDNN failed with status %d (%s)", (int)status,
                         what);
    }
}

igd_status nn_ctx_init(nn_ctx *ctx, core_err *err)
{
    ctx->engine = NULL;
    ctx->stream = NULL;
    ctx->wino_train = ctx->wino_infer = false;
    ctx->scratch = NULL;
    ctx->scratch_size = 0;
    igd_status st = nn_check(dnnl_engine_create(&ctx->engine, dnnl_cpu, 0), err, "CPU engine");
    if (st == IGD_OK)
        st = nn_check(dnnl_stream_create(&ctx->stream, ctx->engine, dnnl_stream_in_order), err,
                      "stream");
    if (st != IGD_OK)
        nn_ctx_fini(ctx);
    return st;
}

void nn_ctx_fini(nn_ctx *ctx)
{
    if (ctx->stream)
        dnnl_stream_destroy(ctx->stream);
    if (ctx->engine)
        dnnl_engine_destroy(ctx->engine);
    core_free_aligned(ctx->scratch);
    ctx->stream = NULL;
    ctx->engine = NULL;
    ctx->scratch = NULL;
    ctx->scratch_size = 0;
}

igd_status nn_ctx_reserve_scratch(nn_ctx *ctx, size_t size, core_err *err)
{
    if (size <= ctx->scratch_size)
        return IGD_OK;
    void *p = core_malloc_aligned(size);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a %zu-byte scratchpad", size);
    core_free_aligned(ctx->scratch);
    ctx->scratch = p;
    ctx->scratch_size = size;
    return IGD_OK;
}

/* The caller's thread counts, innermost last: a public call made from a callback of another (a log
 * or progress function) nests. Deeper nesting than this is not saved and not restored. */
enum { SAVED_DEPTH = 16 };
static _Thread_local int saved_threads[SAVED_DEPTH];
static _Thread_local int saved_depth;

void nn_threads_enter(int threads)
{
    int now = omp_get_max_threads();
    if (saved_depth < SAVED_DEPTH)
        saved_threads[saved_depth] = now;
    saved_depth++;
    int want = threads > 0 ? threads : omp_get_num_procs();
    if (want != now)
        omp_set_num_threads(want);
}

void nn_threads_leave(void)
{
    if (saved_depth == 0)
        return;
    saved_depth--;
    if (saved_depth < SAVED_DEPTH && omp_get_max_threads() != saved_threads[saved_depth])
        omp_set_num_threads(saved_threads[saved_depth]);
}

int nn_max_threads(void)
{
    return omp_get_max_threads();
}

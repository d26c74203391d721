/* The engine context: a oneDNN CPU engine and an in-order stream, the scratchpad every primitive
 * of the context's graphs shares, plus status mapping. A context is used by one thread at a time
 * (each inference session owns one), so its primitives never run at once. */
#ifndef NN_CTX_H
#define NN_CTX_H

#include <stdbool.h>

#include <oneapi/dnnl/dnnl.h>

#include "core/error.h"

typedef struct nn_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    /* Graphs built afterwards try Winograd's algorithm for 3 x 3 convolutions: training graphs,
     * inference graphs. */
    bool wino_train, wino_infer;
    void *scratch; /* the largest scratchpad any graph of the context asked for (kept until
                    * the context ends, even when that graph is freed) */
    size_t scratch_size;
} nn_ctx;

igd_status nn_ctx_init(nn_ctx *ctx, core_err *err);
void nn_ctx_fini(nn_ctx *ctx);
/* Grows the shared scratchpad to at least size bytes (primitives rebind to it when they run). */
igd_status nn_ctx_reserve_scratch(nn_ctx *ctx, size_t size, core_err *err);

/* Maps a oneDNN status to IGD_OK, IGD_ERR_OUT_OF_MEMORY or IGD_ERR_BACKEND with a message naming
 * what failed. */
igd_status nn_check(dnnl_status_t status, core_err *err, const char *what);

/* Every public call that computes runs between these, on every path: enter saves the calling
 * thread's OpenMP thread count and sets `threads` (0 = the allowed CPUs
 * other processes leave free) for the call's parallel work;
 * leave puts the saved count back, so the caller's own OpenMP code sees what it set. */
void nn_threads_enter(int threads);
void nn_threads_leave(void);
int nn_max_threads(void);

#endif

/* Buffers planned by liveness: tensors that are never needed at the same time share memory.
 *
 * Forward runs the ops in order, so an activation is needed from the op that produces it to the
 * last op that reads it: in op indices [producer, last consumer]. Backward runs them in reverse,
 * so a gradient is needed from the backward of the last consumer (which writes it) to the
 * backward of the producer (which reads it): the same interval. Graph inputs, which the caller
 * writes before a pass (activations) or reads after backward (gradients), start at -1; graph
 * outputs, which the caller reads after forward or writes before backward, end at nops; an
 * inference graph keeps its inputs to the end, so a pass can be repeated on the same input.
 *
 * A training graph keeps every activation for backward and plans its gradients (and the spare
 * buffers of tensors with several consumers, live from the first consumer's backward to the
 * last's); an inference graph, which has no gradients, plans its activations. The planned
 * buffers lie in one arena, each at an offset chosen greedily, largest first, at the lowest
 * place free over its interval. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "nn/graph.h"

enum { ALIGN = 64 };

typedef enum slot_kind { SLOT_DATA, SLOT_DIFF, SLOT_SPARE } slot_kind;

typedef struct slot {
    size_t size, offset;
    int first, last; /* live over ops first..last, inclusive */
    size_t tensor;
    slot_kind kind;
} slot;

static int by_size(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    if (x->tensor != y->tensor)
        return x->tensor < y->tensor ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

static bool overlaps(const slot *a, const slot *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* The lowest offset at which s fits beside the already placed slots it overlaps in time. */
static size_t place(const slot *placed, size_t n, const slot *s)
{
    size_t at = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t i = 0; i < n; i++) {
            const slot *p = &placed[i];
            if (overlaps(p, s) && at < p->offset + p->size && p->offset < at + s->size) {
                at = p->offset + p->size;
                moved = true;
            }
        }
    }
    return at;
}

/* Sets every base tensor's live_first, live_last and spare_first. */
static void intervals(nn_graph *g)
{
    const int nops = (int)g->nops;
    for (size_t t = 0; t < g->ntensors; t++) {
        nn_tensor *x = &g->tensors[t];
        x->live_first = x->spare_first = INT_MAX;
        x->live_last = -1;
    }
    for (int k = 0; k < nops; k++) {
        const nn_op *op = g->ops[k];
        nn_tensor *x = &g->tensors[nn_base(g, op->out)];
        /* A view produces no buffer: its base's starts where the base is made (or is an
         * input). */
        if (g->tensors[op->out].alias < 0 && k < x->live_first)
            x->live_first = k;
        for (int i = 0; i < op->nin; i++) {
            x = &g->tensors[nn_base(g, op->in[i])];
            if (k > x->live_last)
                x->live_last = k;
            if (k < x->spare_first)
                x->spare_first = k;
        }
    }
    for (size_t t = 0; t < g->ntensors; t++) {
        nn_tensor *x = &g->tensors[nn_base(g, (int)t)];
        bool input = x->live_first == INT_MAX;
        if (g->tensors[t].consumers == 0 || (input && g->mode == NN_INFER))
            x->live_last = nops;
    }
    for (size_t t = 0; t < g->ntensors; t++)
        if (g->tensors[t].live_first == INT_MAX) /* an input */
            g->tensors[t].live_first = -1;
}

static size_t collect(const nn_graph *g, slot *slots)
{
    size_t count = 0;
    for (size_t t = 0; t < g->ntensors; t++) {
        const nn_tensor *x = &g->tensors[t];
        if (x->alias >= 0 || (g->mode == NN_TRAIN && !x->needs_diff))
            continue;
        size_t size = dnnl_memory_desc_get_size(&x->md);
        size = size ? (size + ALIGN - 1) / ALIGN * ALIGN : ALIGN;
        slot_kind kind = g->mode == NN_TRAIN ? SLOT_DIFF : SLOT_DATA;
        slots[count++] = (slot){size, 0, x->live_first, x->live_last, t, kind};
        if (kind == SLOT_DIFF && x->consumers > 1)
            slots[count++] = (slot){size, 0, x->spare_first, x->live_last, t, SLOT_SPARE};
    }
    return count;
}

igd_status nn_plan_buffers(nn_graph *g, core_err *err)
{
    intervals(g);
    const size_t nt = g->ntensors ? g->ntensors : 1;
    slot *slots = nt < SIZE_MAX / 2 / sizeof *slots ? core_malloc(nt * 2 * sizeof *slots) : NULL;
    if (!slots)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "planning a graph's buffers");
    size_t count = collect(g, slots), total = 0;
    qsort(slots, count, sizeof *slots, by_size);
    bool fits = true;
    for (size_t i = 0; i < count && fits; i++) {
        slots[i].offset = place(slots, i, &slots[i]);
        size_t end;
        fits = core_add_size(slots[i].offset, slots[i].size, &end);
        if (fits && end > total)
            total = end;
    }
    char *arena = fits ? core_malloc_aligned(total ? total : ALIGN) : NULL;
    if (!arena) {
        core_free(slots);
        return core_fail(err, fits ? IGD_ERR_OUT_OF_MEMORY : IGD_ERR_INVALID_ARGUMENT,
                         "allocating %zu bytes of tensors", total);
    }
    memset(arena, 0, total); /* padding of blocked layouts starts as zeros */
    for (size_t i = 0; i < count; i++) {
        nn_tensor *x = &g->tensors[slots[i].tensor];
        float *p = (float *)(void *)(arena + slots[i].offset);
        *(slots[i].kind == SLOT_DATA   ? &x->data
          : slots[i].kind == SLOT_DIFF ? &x->diff
                                       : &x->spare) = p;
    }
    core_free(slots);
    g->arena = arena;
    g->arena_bytes = total;
    return IGD_OK;
}

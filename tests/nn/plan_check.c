#include "plan_check.h"

#include <stdio.h>

typedef struct planned {
    const char *at;
    size_t size;
    int first, last;
} planned;

/* The planned buffers of root tensor t (up to two), with their live ops. */
static int buffers_of(const nn_graph *g, size_t t, planned *out)
{
    const nn_tensor *x = &g->tensors[t];
    if (x->alias >= 0)
        return 0;
    size_t size = dnnl_memory_desc_get_size(&x->md);
    int n = 0;
    if (g->mode == NN_INFER && x->data)
        out[n++] = (planned){(const char *)x->data, size, x->live_first, x->live_last};
    if (g->mode == NN_TRAIN && x->diff)
        out[n++] = (planned){(const char *)x->diff, size, x->live_first, x->live_last};
    if (g->mode == NN_TRAIN && x->spare)
        out[n++] = (planned){(const char *)x->spare, size, x->spare_first, x->live_last};
    return n;
}

static bool clash(const planned *a, const planned *b)
{
    bool together = a->first <= b->last && b->first <= a->last;
    bool shared = a->at < b->at + b->size && b->at < a->at + a->size;
    return together && shared;
}

size_t plan_conflicts(const nn_graph *g, size_t *separate)
{
    size_t bad = 0, bytes = 0;
    const char *lo = g->arena, *hi = g->arena + g->arena_bytes;
    for (size_t i = 0; i < g->ntensors; i++) {
        planned a[2];
        int na = buffers_of(g, i, a);
        for (int u = 0; u < na; u++) {
            bytes += a[u].size;
            if (a[u].at < lo || a[u].at + a[u].size > hi) {
                printf("tensor %zu: buffer outside the arena\n", i);
                bad++;
            }
            for (int v = 0; v < u; v++)
                if (clash(&a[u], &a[v])) {
                    printf("tensor %zu: its own buffers overlap\n", i);
                    bad++;
                }
        }
        for (size_t j = 0; j < i; j++) {
            planned b[2];
            int nb = buffers_of(g, j, b);
            for (int u = 0; u < na; u++)
                for (int v = 0; v < nb; v++)
                    if (clash(&a[u], &b[v])) {
                        printf("tensors %zu and %zu: live together in shared memory\n", i, j);
                        bad++;
                    }
        }
    }
    if (separate)
        *separate = bytes;
    return bad;
}

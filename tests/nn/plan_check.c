#include "plan_check.h"

#include <stdio.h>
#include <stdlib.h>

/* The check derives every buffer's live ops from the ops themselves, not from the intervals the
 * planner stored, so a wrong interval shows up as a conflict. */

typedef struct planned {
    const char *at;
    size_t size;
    int first, last;
} planned;

typedef struct life {
    int made;       /* op producing it, -1 for an input */
    int first_read; /* first op reading it (or a view of it) */
    int last_read;  /* last op reading it (or a view of it) */
    bool output;    /* it or a view of it is read by no op */
} life;

static size_t root(const nn_graph *g, int t)
{
    while (g->tensors[t].alias >= 0)
        t = g->tensors[t].alias;
    return (size_t)t;
}

static life *lives(const nn_graph *g)
{
    life *l = malloc((g->ntensors ? g->ntensors : 1) * sizeof *l);
    for (size_t t = 0; t < g->ntensors; t++)
        l[t] = (life){-1, (int)g->nops, -1, false};
    bool *read = calloc(g->ntensors ? g->ntensors : 1, sizeof *read);
    for (size_t k = 0; k < g->nops; k++) {
        const nn_op *op = g->ops[k];
        if (g->tensors[op->out].alias < 0)
            l[op->out].made = (int)k;
        for (int i = 0; i < op->nin; i++) {
            life *x = &l[root(g, op->in[i])];
            read[op->in[i]] = true;
            if ((int)k < x->first_read)
                x->first_read = (int)k;
            if ((int)k > x->last_read)
                x->last_read = (int)k;
        }
    }
    for (size_t t = 0; t < g->ntensors; t++)
        if (!read[t])
            l[root(g, (int)t)].output = true;
    free(read);
    return l;
}

/* The planned buffers of root tensor t (up to two), with the ops over which they are needed. */
static int buffers_of(const nn_graph *g, const life *l, size_t t, planned *out)
{
    const nn_tensor *x = &g->tensors[t];
    if (x->alias >= 0)
        return 0;
    const int end = (int)g->nops;
    size_t size = dnnl_memory_desc_get_size(&x->md);
    int last = l[t].output ? end : l[t].last_read, n = 0;
    if (g->mode == NN_INFER && x->data)
        out[n++] = (planned){(const char *)x->data, size, l[t].made, l[t].made < 0 ? end : last};
    if (g->mode == NN_TRAIN && x->diff)
        out[n++] = (planned){(const char *)x->diff, size, l[t].made, last};
    if (g->mode == NN_TRAIN && x->spare)
        out[n++] = (planned){(const char *)x->spare, size, l[t].first_read, last};
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
    life *l = lives(g);
    size_t bad = 0, bytes = 0;
    const char *lo = g->arena, *hi = g->arena + g->arena_bytes;
    for (size_t i = 0; i < g->ntensors; i++) {
        planned a[2];
        int na = buffers_of(g, l, i, a);
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
            int nb = buffers_of(g, l, j, b);
            for (int u = 0; u < na; u++)
                for (int v = 0; v < nb; v++)
                    if (clash(&a[u], &b[v])) {
                        printf("tensors %zu and %zu: live together in shared memory\n", i, j);
                        bad++;
                    }
        }
    }
    free(l);
    if (separate)
        *separate = bytes;
    return bad;
}

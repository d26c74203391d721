#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

/* The process setting of igd_set_allocator: documented as set before any other call. */
static igd_malloc_fn hook_malloc;
static igd_realloc_fn hook_realloc;
static igd_free_fn hook_free;
static void *hook_user;

igd_status core_set_allocator(igd_malloc_fn malloc_fn, igd_realloc_fn realloc_fn,
                              igd_free_fn free_fn, void *user)
{
    int given = (malloc_fn != NULL) + (realloc_fn != NULL) + (free_fn != NULL);
    if (given != 0 && given != 3)
        return IGD_ERR_INVALID_ARGUMENT;
    hook_malloc = malloc_fn;
    hook_realloc = realloc_fn;
    hook_free = free_fn;
    hook_user = user;
    return IGD_OK;
}

void *core_malloc(size_t size)
{
    if (size == 0)
        size = 1;
    return hook_malloc ? hook_malloc(hook_user, size) : malloc(size);
}

void *core_realloc(void *ptr, size_t size)
{
    if (size == 0)
        size = 1;
    return hook_realloc ? hook_realloc(hook_user, ptr, size) : realloc(ptr, size);
}

void core_free(void *ptr)
{
    if (!ptr)
        return;
    if (hook_free)
        hook_free(hook_user, ptr);
    else
        free(ptr);
}

void *core_malloc_array(size_t count, size_t size)
{
    size_t bytes;
    if (!core_mul_size(count, size, &bytes))
        return NULL;
    return core_malloc(bytes);
}

void *core_calloc(size_t count, size_t size)
{
    size_t bytes;
    if (!core_mul_size(count, size, &bytes))
        return NULL;
    void *p = core_malloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

char *core_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = core_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Aligned blocks keep the offset to the start of the underlying block just before the data. */
enum { ALIGNMENT = 64 };

void *core_malloc_aligned(size_t size)
{
    size_t total;
    if (!core_add_size(size, ALIGNMENT + sizeof(void *), &total))
        return NULL;
    unsigned char *raw = core_malloc(total);
    if (!raw)
        return NULL;
    uintptr_t start = (uintptr_t)(raw + sizeof(void *));
    uintptr_t aligned = (start + ALIGNMENT - 1) & ~(uintptr_t)(ALIGNMENT - 1);
    ((void **)aligned)[-1] = raw;
    return (void *)aligned;
}

void core_free_aligned(void *ptr)
{
    if (ptr)
        core_free(((void **)ptr)[-1]);
}

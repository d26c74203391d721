/* The library's allocator: every allocation of libigd goes through here, so that a caller's
 * allocator (igd_set_allocator) sees it and tests can fail the Nth allocation. */
#ifndef CORE_ALLOC_H
#define CORE_ALLOC_H

#include <stddef.h>

#include "igd/igd.h"

void *core_malloc(size_t size);
/* count * size bytes, zeroed; NULL on overflow as on exhaustion. */
void *core_calloc(size_t count, size_t size);
void *core_realloc(void *ptr, size_t size);
/* count * size bytes; NULL on overflow. */
void *core_malloc_array(size_t count, size_t size);
void core_free(void *ptr);
/* A copy of a NUL-terminated string. */
char *core_strdup(const char *s);

/* 64-byte aligned memory for tensors; freed with core_free_aligned. */
void *core_malloc_aligned(size_t size);
void core_free_aligned(void *ptr);

igd_status core_set_allocator(igd_malloc_fn malloc_fn, igd_realloc_fn realloc_fn,
                              igd_free_fn free_fn, void *user);

#endif

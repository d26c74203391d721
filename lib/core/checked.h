/* Overflow-checked size arithmetic: every size computed from caller or file input goes through
 * these before it reaches an allocator. */
#ifndef CORE_CHECKED_H
#define CORE_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool core_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool core_add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* a * b * c * d, false on overflow. */
static inline bool core_mul4_size(size_t a, size_t b, size_t c, size_t d, size_t *out)
{
    size_t ab, abc;
    return core_mul_size(a, b, &ab) && core_mul_size(ab, c, &abc) && core_mul_size(abc, d, out);
}

#endif

/* In-place most-significant-digit radix sorts (American flag sort, one byte per level) and the
 * order-preserving maps from floating-point scores to unsigned keys. No allocation: the metrics
 * sort tens of millions of pixel keys where they lie. */
#include <string.h>

#include "metrics/metrics.h"

/* Below this many elements a bucket is finished by insertion sort. */
enum { SMALL_BUCKET = 48 };

uint64_t met_key_from_double(double x)
{
    if (x == 0)
        x = 0.0; /* -0 and +0 are one score */
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : (u | UINT64_C(0x8000000000000000));
}

double met_double_from_key(uint64_t key)
{
    uint64_t u = (key >> 63) ? (key & ~UINT64_C(0x8000000000000000)) : ~key;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

uint32_t met_key_from_float(float x)
{
    if (x == 0)
        x = 0.0f;
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 31) ? ~u : (u | UINT32_C(0x80000000));
}

float met_float_from_key(uint32_t key)
{
    uint32_t u = (key >> 31) ? (key & ~UINT32_C(0x80000000)) : ~key;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* One template for both widths: sorts a[0..n) by the bits from `shift + 7` down to `low`, one
 * byte per level starting at `shift`. Elements of a finished bucket agree on all those bits; an
 * insertion sort of small buckets compares whole values, which refines that order harmlessly. */
#define DEFINE_FLAG_SORT(NAME, T)                                                                  \
    static void NAME##_insertion(T *a, size_t n)                                                   \
    {                                                                                              \
        for (size_t i = 1; i < n; i++) {                                                           \
            T v = a[i];                                                                            \
            size_t j = i;                                                                          \
            while (j > 0 && a[j - 1] > v) {                                                        \
                a[j] = a[j - 1];                                                                   \
                j--;                                                                               \
            }                                                                                      \
            a[j] = v;                                                                              \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    static void NAME(T *a, size_t n, int shift, int low)                                           \
    {                                                                                              \
        if (n <= SMALL_BUCKET) {                                                                   \
            NAME##_insertion(a, n);                                                                \
            return;                                                                                \
        }                                                                                          \
        size_t start[257], head[256];                                                              \
        memset(start, 0, sizeof start);                                                            \
        for (size_t i = 0; i < n; i++)                                                             \
            start[((a[i] >> shift) & 0xff) + 1]++;                                                 \
        int used = 0;                                                                              \
        for (int b = 0; b < 256; b++) {                                                            \
            used += start[b + 1] != 0;                                                             \
            start[b + 1] += start[b];                                                              \
            head[b] = start[b];                                                                    \
        }                                                                                          \
        if (used > 1) {                                                                            \
            for (unsigned b = 0; b < 256; b++) {                                                   \
                while (head[b] < start[b + 1]) {                                                   \
                    T v = a[head[b]];                                                              \
                    unsigned d = (unsigned)((v >> shift) & 0xff);                                  \
                    while (d != b) {                                                               \
                        T t = a[head[d]];                                                          \
                        a[head[d]++] = v;                                                          \
                        v = t;                                                                     \
                        d = (unsigned)((v >> shift) & 0xff);                                       \
                    }                                                                              \
                    a[head[b]++] = v;                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        if (shift <= low)                                                                          \
            return;                                                                                \
        for (int b = 0; b < 256; b++) {                                                            \
            size_t size = start[b + 1] - start[b];                                                 \
            if (size > 1)                                                                          \
                NAME(a + start[b], size, shift - 8, low);                                          \
        }                                                                                          \
    }

DEFINE_FLAG_SORT(flag_sort_u32, uint32_t)
DEFINE_FLAG_SORT(flag_sort_u64, uint64_t)

void met_sort_u32(uint32_t *a, size_t n)
{
    flag_sort_u32(a, n, 24, 0);
}

void met_sort_u64(uint64_t *a, size_t n)
{
    flag_sort_u64(a, n, 56, 0);
}

void met_sort_u64_high(uint64_t *a, size_t n)
{
    flag_sort_u64(a, n, 56, 32);
}

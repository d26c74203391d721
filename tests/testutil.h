/* Shared helpers of the C tests. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "igd/igd.h"

/* Fault injection: after tu_fail_after(n), allocations succeed n times and then fail every
 * time until tu_fail_reset(). tu_live_allocations() counts blocks not yet freed. */
void tu_alloc_install(void);
void tu_fail_after(long n);
void tu_fail_reset(void);
long tu_live_allocations(void);
long tu_allocations_made(void);

/* A fresh temporary folder (removed by tu_rmtree); returns a static path buffer copy. */
char *tu_tempdir(void);
void tu_rmtree(const char *path);
/* Reads a whole file into a malloc'd buffer. */
unsigned char *tu_read_file(const char *path, size_t *size);
int tu_write_file(const char *path, const void *data, size_t size);

/* Uniform floats in [lo, hi) from a simple LCG (independent of the library's generator). */
void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *state);

#define ck_assert_igd_ok(expr)                                                                     \
    do {                                                                                           \
        igd_status tu_st_ = (expr);                                                                \
        ck_assert_msg(tu_st_ == IGD_OK, "%s failed: %s (%s)", #expr, igd_status_string(tu_st_),    \
                      igd_last_error());                                                           \
    } while (0)

#endif

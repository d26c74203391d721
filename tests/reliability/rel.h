/* Shared helpers of the reliability suites (tests/reliability). */
#ifndef REL_H
#define REL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "igd/igd.h"

#define ck_assert_igd_ok(expr)                                                                     \
    do {                                                                                           \
        igd_status rel_st_ = (expr);                                                               \
        ck_assert_msg(rel_st_ == IGD_OK, "%s failed: %s (%s)", #expr, igd_status_string(rel_st_),  \
                      igd_last_error());                                                           \
    } while (0)

/* ---- a measuring, failing allocator (installed with rel_alloc_install) ----
 * Counts live blocks and bytes, the largest single request and the total requested; after
 * rel_fail_after(n), n requests succeed and every later one fails until rel_fail_after(-1). */
void rel_alloc_install(void);
void rel_fail_after(long n);
void rel_alloc_reset_stats(void);
long rel_live_blocks(void);
size_t rel_live_bytes(void);
size_t rel_peak_request(void);
size_t rel_total_requested(void);
long rel_requests(void);
/* The allocator's own free: for blocks it handed out (tests never need it directly). */

/* ---- tiny models and images ----
 * The tiny configuration: global_size=16 base_width=4 depth=2 latent_size=8 hidden_size=0,
 * batch 4, one thread; `extra` (may be NULL) is a further "name=value" option. */
igd_options *rel_tiny_options(const char *extra);
/* A tiny model after one E-step and `steps` training steps, with a threshold of 0.5. */
igd_model *rel_tiny_model(const char *extra, int steps);
/* Deterministic 8-bit images: count x h x w x c from a seed. */
unsigned char *rel_images(size_t count, size_t h, size_t w, size_t c, uint32_t seed);
/* The model's bytes (malloc'd). */
unsigned char *rel_save(igd_model *m, unsigned flags, size_t *size);

/* ---- model-file surgery ---- */
uint32_t rel_get_u32(const unsigned char *p);
uint64_t rel_get_u64(const unsigned char *p);
void rel_put_u32(unsigned char *p, uint32_t v);
void rel_put_u64(unsigned char *p, uint64_t v);
/* Rewrites the header's payload length and the trailer (CRC-32 and "IGDE") for size bytes. */
void rel_fix_trailer(unsigned char *file, size_t size);
/* Offset of section tag's header ("OPTS", ...) in a model file, or 0 if absent. */
size_t rel_find_section(const unsigned char *file, size_t size, const char *tag);

#endif

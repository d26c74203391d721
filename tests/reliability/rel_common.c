#include "rel.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- allocator ---- */

/* Each block carries a header with its size, so that live bytes are exact. */
typedef struct hdr {
    size_t size;
    size_t pad;
} hdr;

static long fail_after = -1;
static long live_blocks, requests;
static size_t live_bytes, peak_request, total_requested;

static bool take(size_t size)
{
    requests++;
    if (size > peak_request)
        peak_request = size;
    total_requested += size;
    if (fail_after == 0)
        return false;
    if (fail_after > 0)
        fail_after--;
    return true;
}

static void *rel_malloc(void *user, size_t size)
{
    (void)user;
    if (!take(size) || size > SIZE_MAX - sizeof(hdr))
        return NULL;
    hdr *h = malloc(sizeof(hdr) + size);
    if (!h)
        return NULL;
    h->size = size;
    live_blocks++;
    live_bytes += size;
    return h + 1;
}

static void *rel_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (!take(size) || size > SIZE_MAX - sizeof(hdr))
        return NULL;
    hdr *old = ptr ? (hdr *)ptr - 1 : NULL;
    size_t old_size = old ? old->size : 0;
    hdr *h = realloc(old, sizeof(hdr) + size);
    if (!h)
        return NULL;
    h->size = size;
    if (!old)
        live_blocks++;
    live_bytes = live_bytes - old_size + size;
    return h + 1;
}

static void rel_free(void *user, void *ptr)
{
    (void)user;
    if (!ptr)
        return;
    hdr *h = (hdr *)ptr - 1;
    live_blocks--;
    live_bytes -= h->size;
    free(h);
}

void rel_alloc_install(void)
{
    ck_assert_int_eq(igd_set_allocator(rel_malloc, rel_realloc, rel_free, NULL), IGD_OK);
}

void rel_fail_after(long n)
{
    fail_after = n;
}

void rel_alloc_reset_stats(void)
{
    requests = 0;
    peak_request = 0;
    total_requested = 0;
}

long rel_live_blocks(void)
{
    return live_blocks;
}

size_t rel_live_bytes(void)
{
    return live_bytes;
}

size_t rel_peak_request(void)
{
    return peak_request;
}

size_t rel_total_requested(void)
{
    return total_requested;
}

long rel_requests(void)
{
    return requests;
}

/* ---- tiny models ---- */

igd_options *rel_tiny_options(const char *extra)
{
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    static const char *const base[][2] = {
        {"global_size", "16"}, {"base_width", "4"},   {"depth", "2"},          {"latent_size", "8"},
        {"hidden_size", "0"},  {"batch_size", "4"},   {"threads", "1"},        {"image_size", "16"},
        {"patch_size", "8"},   {"patch_stride", "8"}, {"heatmap_smooth", "1"},
    };
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        ck_assert_igd_ok(igd_options_parse(o, base[i][0], base[i][1]));
    char buf[128];
    strncpy(buf, extra ? extra : "", sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    for (char *item = buf, *next; *item; item = next) { /* "name=value,name=value" */
        next = item + strcspn(item, ",");
        if (*next)
            *next++ = '\0';
        char *eq = strchr(item, '=');
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        ck_assert_igd_ok(igd_options_parse(o, item, eq + 1));
    }
    return o;
}

unsigned char *rel_images(size_t count, size_t h, size_t w, size_t c, uint32_t seed)
{
    size_t n = count * h * w * c;
    unsigned char *px = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(px);
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        /* smooth-ish content plus noise */
        px[i] = (unsigned char)((i % (w * c)) * 5 + (s >> 27));
    }
    return px;
}

igd_model *rel_tiny_model(const char *extra, int steps)
{
    igd_options *o = rel_tiny_options(extra);
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    int64_t channels, nets;
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_CHANNELS, &channels));
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_NETS, &nets));
    igd_options_free(o);
    enum { N = 4, S = 16 };
    unsigned char *px = rel_images(N, S, S, (size_t)channels, 7);
    for (int net = 1; net <= 2; net++) {
        if (!(nets & net))
            continue;
        ck_assert_igd_ok(igd_model_estep_begin(m, (igd_net)net));
        ck_assert_igd_ok(igd_model_estep_add(m, (igd_net)net, px, IGD_PIXEL_U8, N, S, S,
                                             (size_t)channels, 0, 0));
        ck_assert_igd_ok(igd_model_estep_finish(m, (igd_net)net));
        for (int i = 0; i < steps; i++)
            ck_assert_igd_ok(igd_model_train_step(m, (igd_net)net, px, IGD_PIXEL_U8, N, S, S,
                                                  (size_t)channels, 0, 0, NULL, 0));
    }
    ck_assert_igd_ok(igd_model_set_threshold(m, 0.5));
    free(px);
    return m;
}

unsigned char *rel_save(igd_model *m, unsigned flags, size_t *size)
{
    ck_assert_igd_ok(igd_model_save_memory(m, flags, NULL, 0, size));
    unsigned char *buf = malloc(*size);
    ck_assert_ptr_nonnull(buf);
    size_t got;
    ck_assert_igd_ok(igd_model_save_memory(m, flags, buf, *size, &got));
    ck_assert_uint_eq(got, *size);
    return buf;
}

/* ---- model-file surgery ---- */

uint32_t rel_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t rel_get_u64(const unsigned char *p)
{
    return rel_get_u32(p) | (uint64_t)rel_get_u32(p + 4) << 32;
}

void rel_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void rel_put_u64(unsigned char *p, uint64_t v)
{
    rel_put_u32(p, (uint32_t)v);
    rel_put_u32(p + 4, (uint32_t)(v >> 32));
}

void rel_fix_trailer(unsigned char *file, size_t size)
{
    rel_put_u64(file + 16, (uint64_t)(size - 24 - 8));
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), file, (uInt)(size - 8));
    rel_put_u32(file + size - 8, crc);
    memcpy(file + size - 4, "IGDE", 4);
}

size_t rel_find_section(const unsigned char *file, size_t size, const char *tag)
{
    size_t pos = 24;
    while (pos + 16 <= size - 8) {
        uint64_t len = rel_get_u64(file + pos + 8);
        if (memcmp(file + pos, tag, 4) == 0)
            return pos;
        if (len > size - 8 - pos - 16)
            return 0;
        pos += 16 + (size_t)len;
    }
    return 0;
}

/* Regression tests of the defects the fuzzers and these suites found in lib/nn and lib/io (see
 * docs/reliability.md, "Findings"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "nn/ctx.h"
#include "nn/graph.h"
#include "nn/params.h"
#include "rel.h"

/* An allocator whose realloc always moves the block and scribbles over the old one before
 * freeing it, so that a read through a stale pointer sees garbage even without
 * AddressSanitizer. Blocks carry their size in a header. */
static void *mv_malloc(void *u, size_t n)
{
    (void)u;
    size_t *h = malloc(n + 16);
    if (!h)
        return NULL;
    h[0] = n;
    return (char *)h + 16;
}

static void mv_free(void *u, void *p)
{
    (void)u;
    if (p)
        free((char *)p - 16);
}

static void *mv_realloc(void *u, void *p, size_t n)
{
    void *q = mv_malloc(u, n);
    if (!q || !p)
        return q;
    size_t old = *(size_t *)((char *)p - 16);
    memcpy(q, p, old < n ? old : n);
    memset(p, 0xA5, old);
    mv_free(u, p);
    return q;
}

/* nn_graph_add_tensor copied its descriptor argument after growing the tensor table; ops pass
 * a descriptor that lives in that table (nn_add passes an input's), so when the table moved it
 * read freed memory (found by fuzz-model: every tiny model's critic hit it). */
START_TEST(test_graph_add_tensor_from_own_table)
{
    ck_assert_int_eq(igd_set_allocator(mv_malloc, mv_realloc, mv_free, NULL), IGD_OK);
    core_err err = {0};
    nn_ctx ctx;
    ck_assert_int_eq(nn_ctx_init(&ctx, &err), IGD_OK);
    nn_params params;
    nn_params_init(&params);
    nn_graph *g;
    ck_assert_int_eq(nn_graph_create(&ctx, &params, NN_INFER, 2, &g, &err), IGD_OK);
    int first = nn_input(g, 3, 5, 7, false);
    ck_assert_int_ge(first, 0);
    dnnl_memory_desc_t want = *nn_md(g, first);
    /* Fill the table to a growth boundary, adding each time from the table itself. */
    for (int i = 0; i < 200; i++) {
        int t = nn_graph_add_tensor(g, nn_md(g, first));
        ck_assert_int_ge(t, 0);
        ck_assert_msg(dnnl_memory_desc_equal(nn_md(g, t), &want),
                      "tensor %d has a damaged "
                      "descriptor",
                      t);
    }
    nn_graph_free(g);
    nn_params_fini(&params);
    nn_ctx_fini(&ctx);
}
END_TEST

/* ---- PNG: allocations justified by the input ---- */

static size_t chunk(unsigned char *out, const char *type, const unsigned char *data, size_t n)
{
    out[0] = (unsigned char)(n >> 24);
    out[1] = (unsigned char)(n >> 16);
    out[2] = (unsigned char)(n >> 8);
    out[3] = (unsigned char)n;
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), out + 4, (uInt)(n + 4));
    out[8 + n] = (unsigned char)(crc >> 24);
    out[9 + n] = (unsigned char)(crc >> 16);
    out[10 + n] = (unsigned char)(crc >> 8);
    out[11 + n] = (unsigned char)crc;
    return 12 + n;
}

/* A PNG of w x h 8-bit grey whose IDAT holds `rows` zero rows; `text_len` > 0 adds a tEXt chunk
 * header claiming that many bytes (with no data behind it). */
static size_t make_png(unsigned char *out, uint32_t w, uint32_t h, uint32_t rows, uint32_t text_len)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t pos = 0;
    memcpy(out, sig, 8);
    pos += 8;
    unsigned char ihdr[13] = {(unsigned char)(w >> 24),
                              (unsigned char)(w >> 16),
                              (unsigned char)(w >> 8),
                              (unsigned char)w,
                              (unsigned char)(h >> 24),
                              (unsigned char)(h >> 16),
                              (unsigned char)(h >> 8),
                              (unsigned char)h,
                              8,
                              0,
                              0,
                              0,
                              0};
    pos += chunk(out + pos, "IHDR", ihdr, 13);
    if (text_len) {
        out[pos] = (unsigned char)(text_len >> 24);
        out[pos + 1] = (unsigned char)(text_len >> 16);
        out[pos + 2] = (unsigned char)(text_len >> 8);
        out[pos + 3] = (unsigned char)text_len;
        memcpy(out + pos + 4, "tEXt", 4);
        memcpy(out + pos + 8, "Comment\0x", 9);
        pos += 17;
        return pos;
    }
    size_t raw_n = (size_t)rows * (w + 1);
    unsigned char *raw = calloc(raw_n ? raw_n : 1, 1);
    uLongf zn = compressBound((uLong)raw_n);
    unsigned char *z = malloc(zn);
    ck_assert_int_eq(compress2(z, &zn, raw, (uLong)raw_n, 9), Z_OK);
    pos += chunk(out + pos, "IDAT", z, zn);
    pos += chunk(out + pos, "IEND", NULL, 0);
    free(raw);
    free(z);
    return pos;
}

/* A 29-byte tEXt header claiming 2 GiB made libpng allocate 2 GiB (found by fuzz-png). */
START_TEST(test_png_text_chunk_length_is_not_an_allocation)
{
    rel_alloc_install();
    unsigned char buf[256];
    size_t n = make_png(buf, 1, 1, 0, 0x7a000018u);
    rel_alloc_reset_stats();
    igd_image *img = NULL;
    ck_assert_int_eq(igd_image_decode(buf, n, NULL, &img), IGD_ERR_CORRUPT);
    ck_assert_ptr_null(img);
    ck_assert_uint_lt(rel_peak_request(), 1 << 20);
    ck_assert_int_eq(rel_live_blocks(), 0);
}
END_TEST

/* A header asking for 16384 x 16384 pixels (within the default limits) over a few hundred
 * bytes of data: rejected before the 256 MiB image is allocated. */
START_TEST(test_png_size_must_fit_the_data)
{
    rel_alloc_install();
    unsigned char *buf = malloc(1 << 20);
    size_t n = make_png(buf, 16384, 16384, 4, 0);
    rel_alloc_reset_stats();
    igd_image *img = NULL;
    ck_assert_int_eq(igd_image_decode(buf, n, NULL, &img), IGD_ERR_CORRUPT);
    ck_assert_uint_lt(rel_peak_request(), 1 << 20);
    /* The same image really present decodes (the bound is not too tight): 2048 x 2048 of
     * zeros compresses about 1000:1. */
    n = make_png(buf, 2048, 2048, 2048, 0);
    ck_assert_uint_lt(n, 1 << 20);
    ck_assert_igd_ok(igd_image_decode(buf, n, NULL, &img));
    ck_assert_uint_eq(igd_image_width(img), 2048);
    igd_image_free(img);
    ck_assert_int_eq(rel_live_blocks(), 0);
    free(buf);
}
END_TEST

/* ---- IDX: a gzip file's announced size must fit its compressed bytes ---- */

/* A gzip member holding an IDX header that announces 65536 x 128 x 128 images and then only
 * 64 KiB of zeros, with a forged trailer whose size (mod 2^32) matches the header: the parser
 * used to allocate the whole announced size (1 GiB) for a file of about a hundred bytes before
 * finding the data missing. */
START_TEST(test_idx_gzip_size_must_fit_the_file)
{
    rel_alloc_install();
    enum { BODY = 16 + 65536 };
    unsigned char *idx = calloc(1, BODY);
    static const unsigned char head[16] = {0, 0, 8, 3, 0, 1, 0, 0, 0, 0, 0, 128, 0, 0, 0, 128};
    memcpy(idx, head, 16);
    unsigned char gz[4096];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = idx;
    zs.avail_in = BODY;
    zs.next_out = gz;
    zs.avail_out = sizeof gz;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = sizeof gz - zs.avail_out;
    deflateEnd(&zs);
    free(idx);
    uint32_t announced = 16 + 65536u * 128 * 128; /* 2^30 + 16 */
    for (int i = 0; i < 4; i++)
        gz[n - 4 + i] = (unsigned char)(announced >> (8 * i));
    char path[] = "/tmp/igd-rel-idx-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    ck_assert_uint_eq(fwrite(gz, 1, n, f), n);
    fclose(f);
    rel_alloc_reset_stats();
    igd_dataset *ds = NULL;
    ck_assert_int_eq(igd_dataset_open_idx(path, NULL, NULL, &ds), IGD_ERR_CORRUPT);
    ck_assert_ptr_null(ds);
    ck_assert_uint_lt(rel_peak_request(), 1 << 20);
    ck_assert_int_eq(rel_live_blocks(), 0);
    unlink(path);
}
END_TEST

Suite *make_regressions_suite(void)
{
    Suite *s = suite_create("regressions");
    TCase *tc = tcase_create("regressions");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_graph_add_tensor_from_own_table);
    tcase_add_test(tc, test_png_text_chunk_length_is_not_an_allocation);
    tcase_add_test(tc, test_png_size_must_fit_the_data);
    tcase_add_test(tc, test_idx_gzip_size_must_fit_the_file);
    suite_add_tcase(s, tc);
    return s;
}

/* The model-file matrix: every prefix of a valid file, single-byte flips (with and without the
 * checksum repaired, so that the parser behind the CRC is exercised), and a table of hand-made
 * hostile files. Every damaged file must give its error code, leak nothing, and make the library
 * allocate no more than a small multiple of what the file justifies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rel.h"

/* The loader's allocations for a file of `size` bytes: the model's parameter stores (values,
 * gradients and Adam's two moments: 4 floats per stored float) and their graphs' workspaces,
 * which for the tiny models stay far under a megabyte. */
#define PEAK_BOUND(size) (4 * (size) + ((size_t)1 << 20))
#define TOTAL_BOUND(size) (16 * (size) + ((size_t)4 << 20))

typedef struct fixture {
    unsigned char *plain, *opt; /* saved without / with optimiser state */
    size_t plain_size, opt_size;
} fixture;

static fixture fx;

static void make_fixture(const char *extra)
{
    igd_model *m = rel_tiny_model(extra, 1);
    fx.plain = rel_save(m, IGD_SAVE_DEFAULT, &fx.plain_size);
    fx.opt = rel_save(m, IGD_SAVE_OPTIMIZER, &fx.opt_size);
    igd_model_free(m);
}

static void drop_fixture(void)
{
    free(fx.plain);
    free(fx.opt);
    memset(&fx, 0, sizeof fx);
}

/* Loads data; checks the status is one of the allowed ones (`allowed` lists them, ending in 1),
 * that nothing leaks and that the allocations stay within bounds. Returns the status. */
static igd_status load_checked(const unsigned char *data, size_t size, const igd_status *allowed,
                               const char *what)
{
    long blocks = rel_live_blocks();
    size_t bytes = rel_live_bytes();
    rel_alloc_reset_stats();
    igd_model *m = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    igd_status st = igd_model_load_memory(data, size, NULL, &m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (getenv("IGD_REL_VERBOSE"))
        fprintf(stderr, "%s: %s in %.3f s\n", what, igd_status_string(st), secs);
    bool ok = false;
    for (const igd_status *a = allowed; *a != 1; a++)
        ok |= st == *a;
    ck_assert_msg(ok, "%s: status %s (%s)", what, igd_status_string(st), igd_last_error());
    ck_assert_msg(rel_peak_request() <= PEAK_BOUND(size),
                  "%s: a single allocation of %zu bytes for a file of %zu", what,
                  rel_peak_request(), size);
    ck_assert_msg(rel_total_requested() <= TOTAL_BOUND(size),
                  "%s: %zu bytes allocated in all for a file of %zu", what, rel_total_requested(),
                  size);
    if (st == IGD_OK) {
        ck_assert_ptr_nonnull(m);
        igd_model_free(m);
    } else {
        ck_assert_ptr_null(m);
        ck_assert_str_ne(igd_last_error(), "");
    }
    ck_assert_msg(rel_live_blocks() == blocks && rel_live_bytes() == bytes,
                  "%s: %ld blocks (%zu bytes) leaked", what, rel_live_blocks() - blocks,
                  rel_live_bytes() - bytes);
    return st;
}

static const igd_status ONLY_OK[] = {IGD_OK, 1};
static const igd_status ONLY_CORRUPT[] = {IGD_ERR_CORRUPT, 1};
static const igd_status REJECTED[] = {IGD_ERR_CORRUPT, IGD_ERR_UNSUPPORTED, 1};
static const igd_status ANY_VERDICT[] = {IGD_OK, IGD_ERR_CORRUPT, IGD_ERR_UNSUPPORTED, 1};

START_TEST(test_valid_files_load_within_bounds)
{
    rel_alloc_install();
    static const char *const extra[] = {NULL, "channels=3", "nets=3", "nets=3,memory_size=3",
                                        "seg_width=2,seg_tile=16"};
    make_fixture(extra[_i]);
    load_checked(fx.plain, fx.plain_size, ONLY_OK, "plain");
    load_checked(fx.opt, fx.opt_size, ONLY_OK, "with optimiser");
    /* A loaded model saves to the same bytes (the format is canonical). */
    igd_model *m;
    ck_assert_igd_ok(igd_model_load_memory(fx.opt, fx.opt_size, NULL, &m));
    size_t size;
    unsigned char *again = rel_save(m, IGD_SAVE_OPTIMIZER, &size);
    ck_assert_uint_eq(size, fx.opt_size);
    ck_assert(memcmp(again, fx.opt, size) == 0);
    free(again);
    igd_model_free(m);
    drop_fixture();
}
END_TEST

START_TEST(test_every_prefix)
{
    rel_alloc_install();
    make_fixture(NULL);
    const unsigned char *files[2] = {fx.plain, fx.opt};
    size_t sizes[2] = {fx.plain_size, fx.opt_size};
    for (int f = 0; f < 2; f++) {
        for (size_t n = 0; n < sizes[f]; n++) {
            char what[64];
            snprintf(what, sizeof what, "file %d, prefix of %zu bytes", f, n);
            load_checked(files[f], n, ONLY_CORRUPT, what);
        }
    }
    drop_fixture();
}
END_TEST

/* Every byte of the header and trailer, every bit, checksum left alone: all rejected. */
START_TEST(test_header_and_trailer_flips)
{
    rel_alloc_install();
    make_fixture(NULL);
    unsigned char *copy = malloc(fx.plain_size);
    size_t n = fx.plain_size;
    for (size_t pos = 0; pos < n; pos++) {
        if (pos == 24)
            pos = n - 8; /* skip the payload */
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, fx.plain, n);
            copy[pos] ^= (unsigned char)(1u << bit);
            char what[64];
            snprintf(what, sizeof what, "byte %zu bit %d", pos, bit);
            /* A version byte flip may announce a future version: UNSUPPORTED. */
            load_checked(copy, n, (pos >= 8 && pos < 12) ? REJECTED : ONLY_CORRUPT, what);
        }
    }
    /* The same with the checksum repaired after the flip (the header is inside the CRC). */
    for (size_t pos = 0; pos < 24; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, fx.plain, n);
            copy[pos] ^= (unsigned char)(1u << bit);
            uint64_t payload = rel_get_u64(copy + 16);
            rel_fix_trailer(copy, n);
            rel_put_u64(copy + 16, payload); /* keep the flipped length field */
            char what[64];
            snprintf(what, sizeof what, "byte %zu bit %d, CRC repaired", pos, bit);
            load_checked(copy, n, REJECTED, what);
        }
    }
    free(copy);
    drop_fixture();
}
END_TEST

/* Random flips in the payload. Without repair: the checksum catches each. With repair: the
 * parser decides; a model that still loads must be exactly what the bytes say (it saves back
 * to the same bytes). */
START_TEST(test_payload_flips)
{
    rel_alloc_install();
    make_fixture(NULL);
    const unsigned char *files[2] = {fx.plain, fx.opt};
    size_t sizes[2] = {fx.plain_size, fx.opt_size};
    uint32_t s = 12345;
    int loaded = 0, rejected = 0;
    for (int f = 0; f < 2; f++) {
        size_t n = sizes[f];
        unsigned char *copy = malloc(n);
        for (int trial = 0; trial < 300; trial++) {
            s = s * 1664525u + 1013904223u;
            /* Half the flips in the first 2 KiB (sections, options, shapes), half anywhere. */
            size_t span = (trial & 1) ? n - 32 : 2048;
            size_t pos = 24 + (s >> 8) % span;
            s = s * 1664525u + 1013904223u;
            unsigned char mask = (unsigned char)(1 + (s >> 24) % 255);
            memcpy(copy, files[f], n);
            copy[pos] ^= mask;
            char what[96];
            snprintf(what, sizeof what, "file %d byte %zu ^ 0x%02x", f, pos, mask);
            load_checked(copy, n, ONLY_CORRUPT, what);
            rel_fix_trailer(copy, n);
            snprintf(what, sizeof what, "file %d byte %zu ^ 0x%02x, CRC repaired", f, pos, mask);
            igd_status st = load_checked(copy, n, ANY_VERDICT, what);
            if (st == IGD_OK) {
                loaded++;
                igd_model *m;
                ck_assert_igd_ok(igd_model_load_memory(copy, n, NULL, &m));
                size_t size;
                unsigned char *again =
                    rel_save(m, f ? IGD_SAVE_OPTIMIZER : IGD_SAVE_DEFAULT, &size);
                ck_assert_msg(size == n && memcmp(again, copy, n) == 0,
                              "%s: loaded, but saves to different bytes", what);
                free(again);
                igd_model_free(m);
            } else {
                rejected++;
            }
        }
        free(copy);
    }
    /* Both outcomes occur: flips in weights load, flips in structure do not. */
    ck_assert_int_gt(loaded, 0);
    ck_assert_int_gt(rejected, 0);
    drop_fixture();
}
END_TEST

/* ---- hostile files ---- */

typedef struct hostile {
    unsigned char *data;
    size_t size, cap;
} hostile;

static hostile start(const unsigned char *from, size_t size, size_t extra)
{
    hostile h = {malloc(size + extra), size, size + extra};
    ck_assert_ptr_nonnull(h.data);
    memcpy(h.data, from, size);
    return h;
}

/* Inserts n bytes at pos (payload grows; trailer fixed by the caller). */
static void insert(hostile *h, size_t pos, const void *bytes, size_t n)
{
    ck_assert_uint_le(h->size + n, h->cap);
    memmove(h->data + pos + n, h->data + pos, h->size - pos);
    memcpy(h->data + pos, bytes, n);
    h->size += n;
}

static void erase(hostile *h, size_t pos, size_t n)
{
    memmove(h->data + pos, h->data + pos + n, h->size - pos - n);
    h->size -= n;
}

/* Offset of the value of option `key` inside OPTS (its u64/f64), or 0. */
static size_t option_value_at(const unsigned char *f, size_t size, uint32_t key)
{
    size_t s = rel_find_section(f, size, "OPTS");
    ck_assert_uint_gt(s, 0);
    uint32_t count = rel_get_u32(f + s + 16);
    for (uint32_t i = 0; i < count; i++) {
        size_t at = s + 20 + (size_t)i * 16;
        if (rel_get_u32(f + at) == key)
            return at + 8;
    }
    return 0;
}

static void expect(hostile *h, bool fix, igd_status want, const char *what)
{
    if (fix)
        rel_fix_trailer(h->data, h->size);
    const igd_status allowed[] = {want, 1};
    load_checked(h->data, h->size, allowed, what);
    free(h->data);
    h->data = NULL;
}

/* Each of the n values written as a u64 at offset `at` of the file makes it corrupt. */
static void expect_corrupt_u64s(const unsigned char *P, size_t N, size_t at, const uint64_t *values,
                                size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        hostile h = start(P, N, 0);
        rel_put_u64(h.data + at, values[i]);
        expect(&h, true, IGD_ERR_CORRUPT, what);
    }
}

static void set_option_u64(hostile *h, uint32_t key, uint64_t v)
{
    size_t at = option_value_at(h->data, h->size, key);
    ck_assert_uint_gt(at, 0);
    rel_put_u64(h->data + at, v);
}

static void set_option_f64(hostile *h, uint32_t key, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    set_option_u64(h, key, u);
}

START_TEST(test_hostile_header)
{
    rel_alloc_install();
    make_fixture(NULL);
    const unsigned char *P = fx.plain;
    size_t N = fx.plain_size;
    hostile h;

    h = start(P, N, 0);
    memcpy(h.data, "IGDMODEX", 8);
    expect(&h, true, IGD_ERR_CORRUPT, "bad magic");
    h = start(P, N, 0);
    memcpy(h.data + N - 4, "IGDX", 4);
    expect(&h, false, IGD_ERR_CORRUPT, "bad end mark");
    h = start(P, N, 0);
    rel_put_u32(h.data + 8, 0);
    expect(&h, true, IGD_ERR_CORRUPT, "version 0");
    h = start(P, N, 0);
    rel_put_u32(h.data + 8, 3);
    expect(&h, true, IGD_ERR_UNSUPPORTED, "version 3 (future)");
    h = start(P, N, 0);
    rel_put_u32(h.data + 8, UINT32_MAX);
    expect(&h, true, IGD_ERR_UNSUPPORTED, "version 2^32-1");
    h = start(P, N, 0);
    rel_put_u32(h.data + 12, 0x80);
    expect(&h, true, IGD_ERR_CORRUPT, "unknown header flags");
    h = start(P, N, 0);
    rel_put_u32(h.data + 12, IGD_SAVE_OPTIMIZER);
    expect(&h, true, IGD_ERR_CORRUPT, "optimiser flag without optimiser state");
    h = start(fx.opt, fx.opt_size, 0);
    rel_put_u32(h.data + 12, 0);
    expect(&h, true, IGD_ERR_CORRUPT, "optimiser state without the flag");

    static const uint64_t lengths[] = {UINT64_MAX, UINT64_MAX - 31, (uint64_t)1 << 63,
                                       (uint64_t)1 << 32, 0};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        h = start(P, N, 0);
        rel_fix_trailer(h.data, h.size);
        rel_put_u64(h.data + 16, lengths[i]);
        expect(&h, false, IGD_ERR_CORRUPT, "payload length near 2^64 or 0");
    }
    h = start(P, N, 16);
    memset(h.data + N, 0, 16);
    h.size += 16;
    expect(&h, false, IGD_ERR_CORRUPT, "trailing bytes after the end mark");
    h = start(P, N, 16);
    insert(&h, N, "IGDE\0\0\0\0", 8);
    expect(&h, false, IGD_ERR_CORRUPT, "a second trailer");
    drop_fixture();
}
END_TEST

START_TEST(test_hostile_sections)
{
    rel_alloc_install();
    make_fixture(NULL);
    const unsigned char *P = fx.plain;
    size_t N = fx.plain_size;
    size_t opts = rel_find_section(P, N, "OPTS"), norm = rel_find_section(P, N, "NORM"),
           cali = rel_find_section(P, N, "CALI"), netg = rel_find_section(P, N, "NETG");
    ck_assert(opts && norm && cali && netg);
    size_t cali_len = (size_t)rel_get_u64(P + cali + 8);
    hostile h;

    const uint64_t big[] = {UINT64_MAX, UINT64_MAX - 15, (uint64_t)1 << 63, N};
    expect_corrupt_u64s(P, N, norm + 8, big, 4, "section length beyond the file");
    h = start(P, N, 0);
    rel_put_u32(h.data + cali + 4, 1);
    expect(&h, true, IGD_ERR_CORRUPT, "section reserved word not zero");
    /* Overlapping: NORM claims part of CALI, so CALI's header is read from inside NORM's data. */
    h = start(P, N, 0);
    rel_put_u64(h.data + norm + 8, rel_get_u64(P + norm + 8) + 8);
    {
        const igd_status allowed[] = {IGD_ERR_CORRUPT, IGD_ERR_UNSUPPORTED, 1};
        rel_fix_trailer(h.data, h.size);
        load_checked(h.data, h.size, allowed, "overlapping sections");
        free(h.data);
    }
    h = start(P, N, 0);
    rel_put_u64(h.data + norm + 8, rel_get_u64(P + norm + 8) - 8);
    {
        const igd_status allowed[] = {IGD_ERR_CORRUPT, IGD_ERR_UNSUPPORTED, 1};
        rel_fix_trailer(h.data, h.size);
        load_checked(h.data, h.size, allowed, "section shorter than its content");
        free(h.data);
    }
    /* Duplicate CALI, appended at the end of the payload. */
    h = start(P, N, 16 + cali_len);
    insert(&h, N - 8, P + cali, 16 + cali_len);
    expect(&h, true, IGD_ERR_CORRUPT, "duplicate section");
    h = start(P, N, 16 + cali_len);
    insert(&h, N - 8, P + opts, 16);
    rel_put_u64(h.data + N - 8 + 8, 0);
    expect(&h, true, IGD_ERR_CORRUPT, "empty duplicate OPTS");
    /* Unknown section: a reader cannot know what it would change, so it is unsupported. */
    h = start(P, N, 24);
    insert(&h, N - 8, "XTRA\0\0\0\0\x08\0\0\0\0\0\0\0abcdefgh", 24);
    expect(&h, true, IGD_ERR_UNSUPPORTED, "unknown section");
    h = start(P, N, 0);
    erase(&h, cali, 16 + cali_len);
    expect(&h, true, IGD_ERR_CORRUPT, "missing section");
    /* Trailing bytes inside a section. */
    h = start(P, N, 8);
    insert(&h, cali + 16 + cali_len, "\0\0\0\0\0\0\0\0", 8);
    rel_put_u64(h.data + cali + 8, cali_len + 8);
    expect(&h, true, IGD_ERR_CORRUPT, "trailing bytes in a section");
    /* The file's sub-models differ from its options. */
    h = start(P, N, 0);
    erase(&h, netg, N - 8 - netg);
    expect(&h, true, IGD_ERR_CORRUPT, "global model missing");
    drop_fixture();
}
END_TEST

START_TEST(test_hostile_options)
{
    rel_alloc_install();
    make_fixture(NULL);
    const unsigned char *P = fx.plain;
    size_t N = fx.plain_size;
    size_t opts = rel_find_section(P, N, "OPTS");
    hostile h;

    static const uint32_t counts[] = {UINT32_MAX, 4097, 4096, 0x7fffffff};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        h = start(P, N, 0);
        rel_put_u32(h.data + opts + 16, counts[i]);
        expect(&h, true, IGD_ERR_CORRUPT, "option count near 2^32");
    }
    h = start(P, N, 0);
    rel_put_u32(h.data + opts + 20, 9999);
    expect(&h, true, IGD_ERR_UNSUPPORTED, "unknown option");
    h = start(P, N, 0);
    rel_put_u32(h.data + opts + 24, 2 + 1);
    expect(&h, true, IGD_ERR_CORRUPT, "option of an unknown type");
    h = start(P, N, 0);
    rel_put_u32(h.data + opts + 24, rel_get_u32(P + opts + 24) == 1 ? 2 : 1);
    expect(&h, true, IGD_ERR_CORRUPT, "option of the wrong type");
    h = start(P, N, 0);
    set_option_u64(&h, IGD_OPT_GLOBAL_SIZE, (uint64_t)1 << 62);
    expect(&h, true, IGD_ERR_CORRUPT, "option out of bounds");
    h = start(P, N, 0);
    set_option_u64(&h, IGD_OPT_CHANNELS, UINT64_MAX);
    expect(&h, true, IGD_ERR_CORRUPT, "option -1");
    h = start(P, N, 0);
    set_option_f64(&h, IGD_OPT_RHO, NAN);
    expect(&h, true, IGD_ERR_CORRUPT, "NaN option");
    h = start(P, N, 0);
    set_option_f64(&h, IGD_OPT_LEARNING_RATE, INFINITY);
    expect(&h, true, IGD_ERR_CORRUPT, "infinite option");
    /* (The largest architecture the bounds allow is in the known_bugs suite.) */
    h = start(P, N, 0);
    set_option_u64(&h, IGD_OPT_NETS, 3);
    set_option_u64(&h, IGD_OPT_IMAGE_SIZE, 4096);
    expect(&h, true, IGD_ERR_CORRUPT, "local model announced but absent, huge image size");
    h = start(P, N, 0);
    set_option_u64(&h, IGD_OPT_LATENT_SIZE, 9);
    expect(&h, true, IGD_ERR_CORRUPT, "latent size differs from the stored model");
    drop_fixture();
}
END_TEST

/* A file written before an option existed (0.1 wrote no conv_algorithm) loads, and the option
 * takes its default. */
/* A copy of file f without option `key` (as a release before the option wrote it). */
static hostile without_option(const unsigned char *f, size_t size, uint32_t key)
{
    size_t opts = rel_find_section(f, size, "OPTS");
    size_t value = option_value_at(f, size, key);
    ck_assert_uint_gt(value, 0);
    hostile h = start(f, size, 0);
    erase(&h, value - 8, 16);
    rel_put_u32(h.data + opts + 16, rel_get_u32(h.data + opts + 16) - 1);
    rel_put_u64(h.data + opts + 8, rel_get_u64(h.data + opts + 8) - 16);
    rel_fix_trailer(h.data, h.size);
    return h;
}

/* Loads a file and checks its conv_algorithm and standardize options. */
static void check_options(const unsigned char *data, size_t size, int64_t alg, double span,
                          const char *what)
{
    load_checked(data, size, ONLY_OK, what);
    igd_model *m;
    ck_assert_igd_ok(igd_model_load_memory(data, size, NULL, &m));
    igd_options *o;
    ck_assert_igd_ok(igd_model_get_options(m, &o));
    int64_t got_alg;
    double got_span;
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_CONV_ALGORITHM, &got_alg));
    ck_assert_igd_ok(igd_options_get_real(o, IGD_OPT_STANDARDIZE, &got_span));
    ck_assert_msg(got_alg == alg && got_span == span, "%s: conv_algorithm %lld, standardize %g",
                  what, (long long)got_alg, got_span);
    igd_options_free(o);
    igd_model_free(m);
}

/* Files of older releases lack the options added since (0.2 added conv_algorithm, 0.3
 * standardize): they load with those options' defaults. */
START_TEST(test_files_without_newer_options)
{
    rel_alloc_install();
    make_fixture("conv_algorithm=direct,standardize=2.5");
    check_options(fx.plain, fx.plain_size, IGD_CONV_DIRECT, 2.5, "the file as saved");
    hostile v02 = without_option(fx.plain, fx.plain_size, IGD_OPT_STANDARDIZE);
    check_options(v02.data, v02.size, IGD_CONV_DIRECT, 0.0, "a file without standardize");
    hostile v01 = without_option(v02.data, v02.size, IGD_OPT_CONV_ALGORITHM);
    check_options(v01.data, v01.size, IGD_CONV_FAST, 0.0, "a file without either");
    free(v01.data);
    free(v02.data);
    drop_fixture();
}
END_TEST

START_TEST(test_hostile_values)
{
    rel_alloc_install();
    make_fixture(NULL);
    const unsigned char *P = fx.plain;
    size_t N = fx.plain_size;
    size_t norm = rel_find_section(P, N, "NORM"), cali = rel_find_section(P, N, "CALI"),
           netg = rel_find_section(P, N, "NETG");
    hostile h;
    double bad[] = {NAN, INFINITY, -INFINITY, 0.0, -1.0, 1e300};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t u;
        memcpy(&u, &bad[i], 8);
        h = start(P, N, 0);
        rel_put_u64(h.data + norm + 20 + 8, u); /* std of channel 0 */
        expect(&h, true, IGD_ERR_CORRUPT, "bad normalisation std");
        if (!(bad[i] > 0 && isfinite(bad[i]))) {
            h = start(P, N, 0);
            rel_put_u64(h.data + cali + 20, u);
            expect(&h, true, IGD_ERR_CORRUPT, "bad threshold");
            h = start(P, N, 0);
            rel_put_u64(h.data + netg + 32, u); /* the classifier's spread */
            expect(&h, true, IGD_ERR_CORRUPT, "bad spread");
        }
    }
    h = start(P, N, 0);
    rel_put_u32(h.data + norm + 16, 3);
    expect(&h, true, IGD_ERR_CORRUPT, "NORM channel count differs");
    h = start(P, N, 0);
    rel_put_u32(h.data + cali + 16, 2);
    expect(&h, true, IGD_ERR_CORRUPT, "threshold flag 2");
    h = start(P, N, 0);
    rel_put_u32(h.data + netg + 20, 0x100);
    expect(&h, true, IGD_ERR_CORRUPT, "unknown sub-model flags");
    /* NETG: latent u32, flags u32, steps u64, spread f64, centre (latent floats), then the
     * encoder's store: count u32, and per parameter ndims u32, dims u64..., kind u32, floats. */
    size_t centre = netg + 16 + 24;
    uint32_t latent = rel_get_u32(P + netg + 16);
    size_t store = centre + 4 * (size_t)latent;
    float nan_f = NAN, inf_f = INFINITY;
    h = start(P, N, 0);
    memcpy(h.data + centre, &nan_f, 4);
    expect(&h, true, IGD_ERR_CORRUPT, "NaN in the centre");
    h = start(P, N, 0);
    rel_put_u32(h.data + store, UINT32_MAX);
    expect(&h, true, IGD_ERR_CORRUPT, "parameter count 2^32-1");
    h = start(P, N, 0);
    rel_put_u32(h.data + store + 4, UINT32_MAX);
    expect(&h, true, IGD_ERR_CORRUPT, "parameter rank 2^32-1");
    uint32_t nd = rel_get_u32(P + store + 4);
    static const uint64_t dims[] = {UINT64_MAX, (uint64_t)1 << 62, (uint64_t)1 << 32, 0};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        h = start(P, N, 0);
        rel_put_u64(h.data + store + 8, dims[i]);
        expect(&h, true, IGD_ERR_CORRUPT, "parameter dimension near 2^64 (product overflows)");
    }
    size_t weights = store + 8 + 8 * (size_t)nd + 4;
    h = start(P, N, 0);
    rel_put_u32(h.data + store + 8 + 8 * (size_t)nd, 7);
    expect(&h, true, IGD_ERR_CORRUPT, "parameter kind 7");
    h = start(P, N, 0);
    memcpy(h.data + weights, &nan_f, 4);
    expect(&h, true, IGD_ERR_CORRUPT, "NaN weight");
    h = start(P, N, 0);
    memcpy(h.data + N - 8 - 4, &inf_f, 4); /* the last float of the critic */
    expect(&h, true, IGD_ERR_CORRUPT, "infinite weight");
    h = start(P, N, 0);
    memcpy(h.data + weights + 4, "\x01\x00\x80\x7f", 4); /* a signalling NaN */
    expect(&h, true, IGD_ERR_CORRUPT, "signalling NaN weight");
    /* Optimiser moments: NaN in Adam's state. */
    h = start(fx.opt, fx.opt_size, 0);
    memcpy(h.data + fx.opt_size - 8 - 4, &nan_f, 4);
    expect(&h, true, IGD_ERR_CORRUPT, "NaN optimiser moment");
    drop_fixture();
}
END_TEST

/* Patch memory sections (MEMG, MEML): every count, position, scale and float is checked before
 * it is used, and sizes against the section before anything is allocated. */
START_TEST(test_hostile_memory)
{
    rel_alloc_install();
    make_fixture("nets=3,memory_size=3");
    const unsigned char *P = fx.plain;
    size_t N = fx.plain_size;
    size_t memg = rel_find_section(P, N, "MEMG"), meml = rel_find_section(P, N, "MEML"),
           netl = rel_find_section(P, N, "NETL");
    ck_assert(memg && meml && netl);
    /* Layout: header (16), u32 latent, u64 positions, per position u32 y, u32 x, u64 count,
     * f64 scale, then the latents. The fixture keeps 3 of 4 latents at each of 2 x 2 positions. */
    ck_assert_uint_eq(rel_get_u64(P + meml + 20), 4);
    ck_assert_uint_eq(rel_get_u64(P + meml + 28 + 8), 3);
    ck_assert_uint_eq(rel_get_u64(P + memg + 20), 1);
    const size_t pos0 = meml + 28, pos1 = pos0 + 24;
    hostile h;
    h = start(P, N, 0);
    rel_put_u32(h.data + meml + 16, 9);
    expect(&h, true, IGD_ERR_CORRUPT, "memory latent size differs");
    const uint64_t positions[] = {0, 5, UINT64_MAX, (uint64_t)1 << 62};
    expect_corrupt_u64s(P, N, meml + 20, positions, 4, "memory positions wrong");
    const uint64_t two = 2;
    expect_corrupt_u64s(P, N, memg + 20, &two, 1, "global memory with two positions");
    const uint64_t counts[] = {0, 2, 4, UINT64_MAX, (uint64_t)1 << 61};
    expect_corrupt_u64s(P, N, pos1 + 8, counts, 5, "memory count wrong");
    h = start(P, N, 0);
    rel_put_u32(h.data + pos0, 9); /* image 16, patch 8: offsets up to 8 */
    expect(&h, true, IGD_ERR_CORRUPT, "memory position outside the image");
    h = start(P, N, 0);
    rel_put_u32(h.data + memg + 28 + 4, 1);
    expect(&h, true, IGD_ERR_CORRUPT, "global memory position not at 0, 0");
    double bad[] = {NAN, INFINITY, 0.0, -1.0, 1e-300, 1e31};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t u;
        memcpy(&u, &bad[i], 8);
        h = start(P, N, 0);
        rel_put_u64(h.data + pos1 + 16, u);
        expect(&h, true, IGD_ERR_CORRUPT, "memory scale out of range");
        if (!isfinite(bad[i])) {
            float f = (float)bad[i];
            h = start(P, N, 0);
            memcpy(h.data + meml + 28 + 4 * 24 + 4 * 5, &f, 4);
            expect(&h, true, IGD_ERR_CORRUPT, "memory latent not finite");
        }
    }
    /* One float fewer, with the section's length matching. */
    size_t len = (size_t)rel_get_u64(P + meml + 8);
    h = start(P, N, 0);
    erase(&h, meml + 16 + len - 4, 4);
    rel_put_u64(h.data + meml + 8, len - 4);
    expect(&h, true, IGD_ERR_CORRUPT, "memory shorter than its counts");
    /* A memory without its sub-model: drop NETL and MEML, then put MEML back. */
    size_t netl_len = (size_t)rel_get_u64(P + netl + 8);
    ck_assert_uint_eq(netl + 16 + netl_len, meml);
    h = start(P, N, 0);
    erase(&h, netl, 16 + netl_len);
    set_option_u64(&h, IGD_OPT_NETS, IGD_NET_GLOBAL);
    expect(&h, true, IGD_ERR_CORRUPT, "memory without its sub-model");
    /* The intact file loads, and a file with only MEMG dropped loads too (memory is optional). */
    h = start(P, N, 0);
    expect(&h, false, IGD_OK, "intact memory");
    size_t memg_len = (size_t)rel_get_u64(P + memg + 8);
    h = start(P, N, 0);
    erase(&h, memg, 16 + memg_len);
    expect(&h, true, IGD_OK, "global memory dropped");
    drop_fixture();
}
END_TEST

/* The file's size must be checked before anything is allocated: a prefix, however long it
 * claims to be, allocates nothing. */
START_TEST(test_null_and_empty)
{
    rel_alloc_install();
    igd_model *m = (igd_model *)&m;
    ck_assert_int_eq(igd_model_load_memory(NULL, 10, NULL, &m), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_load_memory("x", 1, NULL, NULL), IGD_ERR_INVALID_ARGUMENT);
    rel_alloc_reset_stats();
    ck_assert_int_eq(igd_model_load_memory("", 0, NULL, &m), IGD_ERR_CORRUPT);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(rel_requests(), 0);
}
END_TEST

/* One test case per test, so that CK_RUN_CASE can pick one. */
/* The segmentation head's section (SEGN): unknown, missing while the options promise a head, or
 * holding a non-finite weight, it is refused without leaks. */
START_TEST(test_hostile_seg)
{
    rel_alloc_install();
    make_fixture("seg_width=2,seg_tile=16");
    const size_t n = fx.plain_size;
    unsigned char *f = malloc(n);
    const size_t at = rel_find_section(fx.plain, n, "SEGN");
    ck_assert(at > 0);
    memcpy(f, fx.plain, n);
    memcpy(f + at, "SEGX", 4);
    rel_fix_trailer(f, n);
    load_checked(f, n, REJECTED, "an unknown head section");
    /* SEGN is the last section: without it the file ends with the trailer after NETG. */
    memcpy(f, fx.plain, n);
    ck_assert_uint_eq(at + 16 + rel_get_u64(fx.plain + at + 8) + 8, n);
    rel_fix_trailer(f, at + 8);
    load_checked(f, at + 8, ONLY_CORRUPT, "a head promised but missing");
    /* The first weight: after the header (16), steps (8), count (4), rank (4), 4 dims (32) and
     * the kind (4). */
    memcpy(f, fx.plain, n);
    ck_assert_uint_eq(rel_get_u32(f + at + 16 + 8 + 4), 4);
    rel_put_u32(f + at + 16 + 8 + 4 + 4 + 32 + 4, 0x7fc00000u);
    rel_fix_trailer(f, n);
    load_checked(f, n, ONLY_CORRUPT, "a NaN in the head");
    free(f);
    drop_fixture();
}
END_TEST

static void add(Suite *s, const char *name, const TTest *test, int loops)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 600);
    if (loops)
        tcase_add_loop_test(tc, test, 0, loops);
    else
        tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *make_modelfile_matrix_suite(void)
{
    Suite *s = suite_create("modelfile_matrix");
    add(s, "valid", test_valid_files_load_within_bounds, 5);
    add(s, "prefixes", test_every_prefix, 0);
    add(s, "header_flips", test_header_and_trailer_flips, 0);
    add(s, "payload_flips", test_payload_flips, 0);
    add(s, "hostile_header", test_hostile_header, 0);
    add(s, "hostile_sections", test_hostile_sections, 0);
    add(s, "hostile_options", test_hostile_options, 0);
    add(s, "older_files", test_files_without_newer_options, 0);
    add(s, "hostile_values", test_hostile_values, 0);
    add(s, "hostile_memory", test_hostile_memory, 0);
    add(s, "hostile_seg", test_hostile_seg, 0);
    add(s, "null_and_empty", test_null_and_empty, 0);
    return s;
}

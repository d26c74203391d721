#include "iotest.h"

#include <check.h>
#include <dirent.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "igd/igd.h"

typedef struct membuf {
    unsigned char *data;
    size_t size, cap;
} membuf;

static void mem_write(png_structp png, png_bytep bytes, png_size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->size + n > m->cap) {
        m->cap = (m->size + n) * 2;
        m->data = realloc(m->data, m->cap);
        ck_assert_ptr_nonnull(m->data);
    }
    memcpy(m->data + m->size, bytes, n);
    m->size += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

unsigned char *iot_png(size_t width, size_t height, int color_type, int bit_depth,
                       const unsigned char *rows, size_t row_bytes, const unsigned char *palette,
                       int palette_size, const unsigned char *trans, int trans_count, int interlace,
                       size_t *size)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(png);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    if (setjmp(png_jmpbuf(png)))
        ck_abort_msg("libpng failed to write a test image");
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) {
        png_color pal[256];
        for (int i = 0; i < palette_size; i++) {
            pal[i].red = palette[3 * i];
            pal[i].green = palette[3 * i + 1];
            pal[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, pal, palette_size);
    }
    if (trans)
        png_set_tRNS(png, info, trans, trans_count, NULL);
    png_write_info(png, info);
    png_bytep *ptrs = malloc(height * sizeof *ptrs);
    for (size_t y = 0; y < height; y++)
        ptrs[y] = (png_bytep)(rows + y * row_bytes);
    png_write_image(png, ptrs);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(ptrs);
    *size = m.size;
    return m.data;
}

unsigned char *iot_jpeg(const unsigned char *pixels, size_t width, size_t height, size_t channels,
                        int quality, size_t *size)
{
    tjhandle tj = tjInitCompress();
    ck_assert_ptr_nonnull(tj);
    unsigned char *jpeg = NULL;
    unsigned long n = 0;
    int rc = tjCompress2(tj, pixels, (int)width, (int)(width * channels), (int)height,
                         channels == 1 ? TJPF_GRAY : TJPF_RGB, &jpeg, &n,
                         channels == 1 ? TJSAMP_GRAY : TJSAMP_444, quality, TJFLAG_ACCURATEDCT);
    ck_assert_msg(rc == 0, "tjCompress2: %s", tjGetErrorStr2(tj));
    unsigned char *copy = malloc(n);
    memcpy(copy, jpeg, n);
    tjFree(jpeg);
    tjDestroy(tj);
    *size = n;
    return copy;
}

void iot_bytes(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t s = seed * 2862933555777941757ull + 3037000493ull;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (unsigned char)(s >> 56);
    }
}

int iot_count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static size_t largest;

static void *track_malloc(void *user, size_t size)
{
    (void)user;
    if (size > largest)
        largest = size;
    return malloc(size);
}

static void *track_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size > largest)
        largest = size;
    return realloc(ptr, size);
}

static void track_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

void iot_track_install(void)
{
    largest = 0;
    ck_assert_int_eq(igd_set_allocator(track_malloc, track_realloc, track_free, NULL), IGD_OK);
}

size_t iot_track_largest(void)
{
    return largest;
}

void iot_track_remove(void)
{
    ck_assert_int_eq(igd_set_allocator(NULL, NULL, NULL, NULL), IGD_OK);
}

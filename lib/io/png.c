/* PNG decoding and encoding with libpng. libpng reports errors by longjmp: every setjmp stays in
 * this file, the state that must survive a jump lives in a context struct owned by the caller of
 * the function that calls setjmp, and libpng's memory goes through the library's allocator. */
#include "io/png.h"

#include <png.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/image.h"

typedef struct png_ctx {
    /* input (decoding) */
    const unsigned char *data;
    size_t size, pos;
    const igd_options *limits;
    /* output (encoding) */
    const igd_image *source;
    io_sink *sink;
    unsigned char *row; /* one converted row */
    /* results that must survive a longjmp */
    igd_image *image;
    png_bytep *rows;
    core_err *err;
    igd_status status; /* set before a longjmp */
    bool oom;          /* an allocation failed */
} png_ctx;

static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static png_voidp png_ctx_malloc(png_structp png, png_alloc_size_t size)
{
    png_ctx *c = png_get_mem_ptr(png);
    void *p = core_malloc(size);
    if (!p && c)
        c->oom = true;
    return p;
}

static void png_ctx_free(png_structp png, png_voidp ptr)
{
    (void)png;
    core_free(ptr);
}

static void png_ctx_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    if (c->status == IGD_OK) {
        /* A decoder's error is damaged data; an encoder's can only be a bug. */
        c->status =
            c->oom ? IGD_ERR_OUT_OF_MEMORY : (c->source ? IGD_ERR_INTERNAL : IGD_ERR_CORRUPT);
        core_fail(c->err, c->status, "PNG: %s", msg ? msg : "error");
    }
    png_longjmp(png, 1);
}

static void png_ctx_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings are not errors, and the library never prints */
}

static void png_ctx_read(png_structp png, png_bytep out, png_size_t length)
{
    png_ctx *c = png_get_io_ptr(png);
    if (length > c->size - c->pos) {
        c->status = core_fail(c->err, IGD_ERR_CORRUPT, "PNG: the data ends early (truncated)");
        png_error(png, "truncated");
    }
    memcpy(out, c->data + c->pos, length);
    c->pos += length;
}

static bool host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static uint32_t read_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool io_png_header_size(const unsigned char *data, size_t size, size_t *width, size_t *height)
{
    if (size < 24 || memcmp(data, png_signature, 8) != 0 || memcmp(data + 12, "IHDR", 4) != 0)
        return false;
    *width = read_be32(data + 16);
    *height = read_be32(data + 20);
    return true;
}

/* Everything that may longjmp. Only *c is touched after a jump. */
static igd_status decode_body(png_structp png, png_infop info, png_ctx *c)
{
    if (setjmp(png_jmpbuf(png)))
        return c->status != IGD_OK ? c->status : IGD_ERR_CORRUPT;
    png_set_read_fn(png, c, png_ctx_read);
    /* Our own limits apply (below), not libpng's default of a million pixels a side. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    /* Metadata is never used: skip it unread, so that a chunk's claimed length never becomes an
     * allocation, and cap what any other chunk may allocate (a palette is 768 bytes). */
    static const png_byte ignored[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored, 6);
    png_set_chunk_malloc_max(png, 1 << 20);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0;
    png_get_IHDR(png, info, &w, &h, &depth, &color, NULL, NULL, NULL);
    igd_status st = io_check_limits(w, h, c->limits, "PNG image", c->err);
    if (st != IGD_OK)
        return st;
    /* The rows are deflated, and inflating makes at most 1032 bytes of each byte: a header that
     * asks for more pixel data than the whole input could hold is damaged or truncated. Checked
     * before the image is allocated, so that a small input cannot make us allocate a large one. */
    uint64_t row_bytes = ((uint64_t)w * png_get_channels(png, info) * (uint64_t)depth + 7) / 8;
    uint64_t budget =
        (uint64_t)c->size >= UINT64_MAX / 2048 ? UINT64_MAX : (uint64_t)c->size * 1032 + 4096;
    if (row_bytes > 0 && (uint64_t)h > budget / row_bytes)
        return core_fail(c->err, IGD_ERR_CORRUPT,
                         "PNG: %zu bytes cannot hold the pixels of a %u x %u image (truncated)",
                         c->size, (unsigned)w, (unsigned)h);

    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    /* Alpha is dropped, including the alpha a palette's tRNS would expand to. */
    if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_strip_alpha(png);
    if (depth == 16 && host_little_endian())
        png_set_swap(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t channels = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    if ((channels != 1 && channels != 3) || (out_depth != 8 && out_depth != 16))
        return core_fail(c->err, IGD_ERR_UNSUPPORTED,
                         "PNG: unexpected layout of %zu channels of %d bits after conversion",
                         channels, out_depth);
    igd_pixel_type type = out_depth == 16 ? IGD_PIXEL_U16 : IGD_PIXEL_U8;
    st = io_image_new(w, h, channels, type, false, &c->image, c->err);
    if (st != IGD_OK)
        return st;
    if (png_get_rowbytes(png, info) != c->image->stride)
        return core_fail(c->err, IGD_ERR_INTERNAL, "PNG: row size %zu, expected %zu",
                         (size_t)png_get_rowbytes(png, info), c->image->stride);
    c->rows = core_malloc_array(h, sizeof *c->rows);
    if (!c->rows)
        return core_fail(c->err, IGD_ERR_OUT_OF_MEMORY, "allocating PNG row pointers");
    for (size_t y = 0; y < h; y++)
        c->rows[y] = c->image->data + y * c->image->stride;
    png_read_image(png, c->rows);
    png_read_end(png, NULL);
    return IGD_OK;
}

igd_status io_png_decode(const unsigned char *data, size_t size, const igd_options *limits,
                         igd_image **out, core_err *err)
{
    *out = NULL;
    size_t w, h;
    /* Look at the header's size before libpng allocates anything. */
    if (io_png_header_size(data, size, &w, &h)) {
        if (w > PNG_UINT_31_MAX || h > PNG_UINT_31_MAX)
            return core_fail(err, IGD_ERR_CORRUPT, "PNG: invalid size %zu x %zu", w, h);
        CORE_TRY(io_check_limits(w, h, limits, "PNG image", err));
    }
    png_ctx c = {.data = data, .size = size, .limits = limits, .err = err};
    png_structp png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &c, png_ctx_error,
                                               png_ctx_warning, &c, png_ctx_malloc, png_ctx_free);
    if (!png)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "PNG: creating a decoder");
    png_infop info = png_create_info_struct(png);
    igd_status st;
    if (!info)
        st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "PNG: creating a decoder");
    else
        st = decode_body(png, info, &c);
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    core_free(c.rows);
    if (st != IGD_OK) {
        io_image_free(c.image);
        return st;
    }
    *out = c.image;
    return IGD_OK;
}

/* ---- encoding ---- */

static void png_ctx_write(png_structp png, png_bytep bytes, png_size_t length)
{
    png_ctx *c = png_get_io_ptr(png);
    io_sink *s = c->sink;
    if (s->file) {
        if (fwrite(bytes, 1, length, s->file) != length) {
            c->status = core_fail(c->err, IGD_ERR_IO, "PNG: writing failed");
            png_error(png, "write failed");
        }
    } else if (s->buffer && s->size < s->capacity) {
        size_t n = s->capacity - s->size < length ? s->capacity - s->size : length;
        memcpy(s->buffer + s->size, bytes, n);
    }
    if (!core_add_size(s->size, length, &s->size)) {
        c->status = core_fail(c->err, IGD_ERR_LIMIT, "PNG: the encoding is too large");
        png_error(png, "too large");
    }
}

static void png_ctx_flush(png_structp png)
{
    (void)png;
}

/* Row y of the source in PNG's layout: 8-bit samples, or 16-bit big-endian ones. */
static png_const_bytep encode_row(const png_ctx *c, size_t y)
{
    const igd_image *im = c->source;
    const unsigned char *src = im->data + y * im->stride;
    size_t n = im->width * im->channels;
    if (im->type == IGD_PIXEL_U8)
        return src;
    if (im->type == IGD_PIXEL_U16) {
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, src + 2 * i, 2);
            c->row[2 * i] = (unsigned char)(v >> 8);
            c->row[2 * i + 1] = (unsigned char)(v & 0xff);
        }
        return c->row;
    }
    for (size_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, src + 4 * i, 4);
        float s = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN becomes 0 */
        c->row[i] = (unsigned char)(s * 255.0f + 0.5f);
    }
    return c->row;
}

static igd_status encode_body(png_structp png, png_infop info, png_ctx *c)
{
    if (setjmp(png_jmpbuf(png)))
        return c->status != IGD_OK ? c->status : IGD_ERR_INTERNAL;
    const igd_image *im = c->source;
    png_set_write_fn(png, c, png_ctx_write, png_ctx_flush);
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_IHDR(png, info, (png_uint_32)im->width, (png_uint_32)im->height,
                 im->type == IGD_PIXEL_U16 ? 16 : 8,
                 im->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (size_t y = 0; y < im->height; y++)
        png_write_row(png, encode_row(c, y));
    png_write_end(png, NULL);
    return IGD_OK;
}

igd_status io_png_encode(const igd_image *image, io_sink *sink, core_err *err)
{
    if (image->width > PNG_UINT_31_MAX || image->height > PNG_UINT_31_MAX)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "PNG cannot hold %zu x %zu pixels",
                         image->width, image->height);
    png_ctx c = {.source = image, .sink = sink, .err = err};
    if (image->type != IGD_PIXEL_U8) {
        c.row =
            core_malloc_array(image->width * image->channels, image->type == IGD_PIXEL_U16 ? 2 : 1);
        if (!c.row)
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a PNG row");
    }
    png_structp png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &c, png_ctx_error,
                                                png_ctx_warning, &c, png_ctx_malloc, png_ctx_free);
    igd_status st;
    if (!png) {
        st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "PNG: creating an encoder");
    } else {
        png_infop info = png_create_info_struct(png);
        if (!info)
            st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "PNG: creating an encoder");
        else
            st = encode_body(png, info, &c);
        png_destroy_write_struct(&png, info ? &info : NULL);
    }
    core_free(c.row);
    return st;
}

/* Image files: which decoder, reading whole files, saving PNG files. */
#include "io/codec.h"

#include <string.h>

#include "api/options.h"
#include "core/alloc.h"
#include "io/file.h"
#include "io/image.h"
#include "io/jpeg.h"
#include "io/png.h"

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char jpeg_magic[3] = {0xff, 0xd8, 0xff};

static bool starts_like(const unsigned char *data, size_t size, const unsigned char *magic,
                        size_t magic_size)
{
    size_t n = size < magic_size ? size : magic_size;
    return n > 0 && memcmp(data, magic, n) == 0;
}

io_format io_detect_format(const unsigned char *data, size_t size)
{
    if (starts_like(data, size, png_magic, sizeof png_magic))
        return IO_FORMAT_PNG;
    if (starts_like(data, size, jpeg_magic, sizeof jpeg_magic))
        return IO_FORMAT_JPEG;
    return IO_FORMAT_UNKNOWN;
}

igd_status io_image_decode(const unsigned char *data, size_t size, const igd_options *limits,
                           igd_image **out, core_err *err)
{
    *out = NULL;
    if (size == 0)
        return core_fail(err, IGD_ERR_CORRUPT, "the image data is empty");
    switch (io_detect_format(data, size)) {
    case IO_FORMAT_PNG:
        return io_png_decode(data, size, limits, out, err);
    case IO_FORMAT_JPEG:
        return io_jpeg_decode(data, size, limits, out, err);
    case IO_FORMAT_UNKNOWN:
        break;
    }
    return core_fail(err, IGD_ERR_UNSUPPORTED, "the data is neither PNG nor JPEG");
}

/* The largest file worth reading under the limits: 16 bytes a pixel (more than any PNG or JPEG
 * encoding of it needs) plus 64 MiB of metadata. */
static size_t max_file_size(const igd_options *limits)
{
    uint64_t pixels = (uint64_t)opt_int(limits, IGD_OPT_MAX_IMAGE_PIXELS);
    uint64_t bytes =
        pixels > (UINT64_MAX - (64u << 20)) / 16 ? UINT64_MAX : pixels * 16 + (64u << 20);
    return bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

/* A file is read whole only if it starts like a PNG or a JPEG. */
static igd_status check_magic(const unsigned char *head, size_t got, uint64_t file_size, void *user,
                              core_err *err)
{
    (void)file_size;
    (void)user;
    if (got == 0)
        return core_fail(err, IGD_ERR_CORRUPT, "the image data is empty");
    if (io_detect_format(head, got) == IO_FORMAT_UNKNOWN)
        return core_fail(err, IGD_ERR_UNSUPPORTED, "the data is neither PNG nor JPEG");
    return IGD_OK;
}

igd_status io_image_load(const char *path, const igd_options *limits, igd_image **out,
                         core_err *err)
{
    *out = NULL;
    unsigned char *data = NULL;
    size_t size = 0;
    CORE_TRY(io_read_file_checked(path, max_file_size(limits), sizeof png_magic, check_magic, NULL,
                                  &data, &size, err));
    igd_status st = io_image_decode(data, size, limits, out, err);
    core_free(data);
    if (st != IGD_OK && st != IGD_ERR_OUT_OF_MEMORY)
        core_wrap(err, "'%s'", path);
    return st;
}

static igd_status write_png(FILE *file, void *user, core_err *err)
{
    io_sink sink = {.file = file};
    return io_png_encode(user, &sink, err);
}

igd_status io_image_save_png(const igd_image *image, const char *path, core_err *err)
{
    /* write_png only reads the image. */
    return io_write_atomic(path, write_png, (void *)image, err);
}

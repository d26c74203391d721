/* IDX files (the MNIST layout), plain or gzip-compressed: a header of two zero bytes, a type
 * byte (0x08: unsigned bytes), a dimension count and big-endian 32-bit dimensions, then the
 * data. The header is checked against the file's real size (for gzip, the size its trailer
 * records) before the data is allocated, and the data must end exactly where the header says. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "api/options.h"
#include "core/alloc.h"
#include "core/checked.h"
#include "io/dataset.h"
#include "io/file.h"
#include "io/image.h"

enum { IN_CHUNK = 1 << 16, MAX_DIMS = 4 };

typedef struct idx_reader {
    const char *path;
    FILE *file;
    bool gzip;
    bool stream_ready; /* inflateInit2 done */
    bool stream_end;   /* the gzip member ended */
    z_stream zs;
    unsigned char *in;
    uint64_t file_size;
} idx_reader;

static voidpf zalloc_core(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return core_malloc_array(items, size);
}

static void zfree_core(voidpf opaque, voidpf ptr)
{
    (void)opaque;
    core_free(ptr);
}

static void reader_close(idx_reader *r)
{
    if (r->stream_ready)
        inflateEnd(&r->zs);
    core_free(r->in);
    if (r->file)
        fclose(r->file);
    memset(r, 0, sizeof *r);
}

static igd_status reader_open(idx_reader *r, const char *path, core_err *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    CORE_TRY(io_open_regular(path, &r->file, &r->file_size, err));
    unsigned char magic[2] = {0, 0};
    size_t got = fread(magic, 1, 2, r->file);
    r->gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (fseek(r->file, 0, SEEK_SET) != 0) {
        reader_close(r);
        return io_fail_errno(err, errno, "reading", path);
    }
    if (!r->gzip)
        return IGD_OK;
    r->in = core_malloc(IN_CHUNK);
    if (!r->in) {
        reader_close(r);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a buffer for '%s'", path);
    }
    r->zs.zalloc = zalloc_core;
    r->zs.zfree = zfree_core;
    int zr = inflateInit2(&r->zs, 16 + MAX_WBITS); /* gzip only */
    if (zr != Z_OK) {
        reader_close(r);
        return core_fail(err, zr == Z_MEM_ERROR ? IGD_ERR_OUT_OF_MEMORY : IGD_ERR_INTERNAL,
                         "zlib: starting to inflate '%s'", path);
    }
    r->stream_ready = true;
    return IGD_OK;
}

/* The size of the data once uncompressed: the file's size, or (mod 2^32) the gzip trailer's. */
static igd_status reader_data_size(idx_reader *r, uint64_t *size, bool *modulo, core_err *err)
{
    *modulo = r->gzip;
    if (!r->gzip) {
        *size = r->file_size;
        return IGD_OK;
    }
    unsigned char t[4];
    if (r->file_size < 18)
        return core_fail(err, IGD_ERR_CORRUPT, "'%s' is too short for a gzip file", r->path);
    long pos = ftell(r->file);
    if (pos < 0 || fseek(r->file, -4, SEEK_END) != 0 || fread(t, 1, 4, r->file) != 4 ||
        fseek(r->file, pos, SEEK_SET) != 0)
        return io_fail_errno(err, errno, "reading", r->path);
    *size = (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24;
    return IGD_OK;
}

/* Reads up to n bytes; *got receives how many (fewer only at the end of the data). */
static igd_status reader_read(idx_reader *r, unsigned char *out, size_t n, size_t *got,
                              core_err *err)
{
    *got = 0;
    if (!r->gzip) {
        *got = fread(out, 1, n, r->file);
        if (*got < n && ferror(r->file))
            return io_fail_errno(err, errno, "reading", r->path);
        return IGD_OK;
    }
    while (*got < n && !r->stream_end) {
        if (r->zs.avail_in == 0) {
            size_t m = fread(r->in, 1, IN_CHUNK, r->file);
            if (m == 0) {
                if (ferror(r->file))
                    return io_fail_errno(err, errno, "reading", r->path);
                return core_fail(err, IGD_ERR_CORRUPT, "'%s': the gzip data ends early", r->path);
            }
            r->zs.next_in = r->in;
            r->zs.avail_in = (uInt)m;
        }
        size_t want = n - *got;
        uInt chunk = want > (1u << 30) ? (1u << 30) : (uInt)want;
        r->zs.next_out = out + *got;
        r->zs.avail_out = chunk;
        int zr = inflate(&r->zs, Z_NO_FLUSH);
        *got += chunk - r->zs.avail_out;
        if (zr == Z_STREAM_END) {
            r->stream_end = true;
        } else if (zr == Z_MEM_ERROR) {
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "zlib: inflating '%s'", r->path);
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            return core_fail(err, IGD_ERR_CORRUPT, "'%s': %s", r->path,
                             r->zs.msg ? r->zs.msg : "damaged gzip data");
        }
    }
    return IGD_OK;
}

static igd_status reader_exact(idx_reader *r, unsigned char *out, size_t n, core_err *err)
{
    size_t got;
    CORE_TRY(reader_read(r, out, n, &got, err));
    if (got != n)
        return core_fail(err, IGD_ERR_CORRUPT, "'%s' ends before the data its header announces",
                         r->path);
    return IGD_OK;
}

/* The data must end here: nothing more, and for gzip a complete, single member. */
static igd_status reader_expect_end(idx_reader *r, core_err *err)
{
    unsigned char extra;
    size_t got;
    CORE_TRY(reader_read(r, &extra, 1, &got, err));
    if (got != 0)
        return core_fail(err, IGD_ERR_CORRUPT, "'%s' holds more data than its header announces",
                         r->path);
    if (r->gzip && (r->zs.avail_in != 0 || fread(&extra, 1, 1, r->file) != 0))
        return core_fail(err, IGD_ERR_CORRUPT, "'%s' has bytes after its gzip data", r->path);
    return IGD_OK;
}

/* Reads and checks the header: the type byte and dims dimensions. */
static igd_status read_header(idx_reader *r, unsigned ndims_min, unsigned ndims_max, uint32_t *dims,
                              unsigned *ndims, core_err *err)
{
    unsigned char h[4];
    CORE_TRY(reader_exact(r, h, 4, err));
    if (h[0] != 0 || h[1] != 0)
        return core_fail(err, IGD_ERR_CORRUPT, "'%s' is not an IDX file (bad magic)", r->path);
    if (h[2] != 0x08) {
        bool known = h[2] == 0x09 || (h[2] >= 0x0b && h[2] <= 0x0e);
        return core_fail(err, known ? IGD_ERR_UNSUPPORTED : IGD_ERR_CORRUPT,
                         "'%s' holds IDX type 0x%02x; only unsigned bytes (0x08) are supported",
                         r->path, h[2]);
    }
    if (h[3] < ndims_min || h[3] > ndims_max)
        return core_fail(err, h[3] == 0 ? IGD_ERR_CORRUPT : IGD_ERR_UNSUPPORTED,
                         "'%s' has %u dimensions, expected %u to %u", r->path, h[3], ndims_min,
                         ndims_max);
    *ndims = h[3];
    unsigned char d[4 * MAX_DIMS];
    CORE_TRY(reader_exact(r, d, 4 * *ndims, err));
    for (unsigned i = 0; i < *ndims; i++)
        dims[i] = (uint32_t)d[4 * i] << 24 | (uint32_t)d[4 * i + 1] << 16 |
                  (uint32_t)d[4 * i + 2] << 8 | d[4 * i + 3];
    return IGD_OK;
}

/* Checks that header + data bytes is what the file holds, before the data is allocated. */
static igd_status check_size(idx_reader *r, unsigned ndims, size_t data, core_err *err)
{
    uint64_t actual = 0, expected = 4 + 4 * (uint64_t)ndims + (uint64_t)data;
    bool modulo = false;
    CORE_TRY(reader_data_size(r, &actual, &modulo, err));
    if (modulo ? (expected & 0xffffffffu) != actual : expected != actual)
        return core_fail(err, IGD_ERR_CORRUPT,
                         "'%s' should hold %llu bytes by its header, it holds %llu%s", r->path,
                         (unsigned long long)expected, (unsigned long long)actual,
                         modulo ? " (mod 2^32)" : "");
    /* The gzip trailer only knows the size mod 2^32, and it is the file's word: bound the size
     * by what the compressed bytes could inflate to (deflate makes at most 1032 bytes of each),
     * so that a small file cannot make us allocate a large buffer. */
    if (modulo && expected / 1032 > r->file_size)
        return core_fail(err, IGD_ERR_CORRUPT,
                         "'%s': %llu compressed bytes cannot hold the %llu its header announces",
                         r->path, (unsigned long long)r->file_size, (unsigned long long)expected);
    return IGD_OK;
}

static igd_status read_images(idx_reader *r, const igd_options *limits, ds_store *st, core_err *err)
{
    uint32_t dims[MAX_DIMS];
    unsigned ndims;
    CORE_TRY(read_header(r, 3, 4, dims, &ndims, err));
    size_t count = dims[0], height = dims[1], width = dims[2], channels = ndims == 4 ? dims[3] : 1;
    if (channels != 1 && channels != 3)
        return core_fail(err, IGD_ERR_UNSUPPORTED, "'%s' has %zu channels, not 1 or 3", r->path,
                         channels);
    if (count == 0)
        return core_fail(err, IGD_ERR_CORRUPT, "'%s' holds no images", r->path);
    CORE_TRY(io_check_limits(width, height, limits, "an IDX image", err));
    size_t image, total;
    if (!core_mul4_size(height, width, channels, 1, &image) || !core_mul_size(image, count, &total))
        return core_fail(err, IGD_ERR_CORRUPT, "'%s': the dimensions' product overflows", r->path);
    CORE_TRY(check_size(r, ndims, total, err));
    st->pixels = core_malloc(total);
    if (!st->pixels)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu bytes for '%s'", total,
                         r->path);
    st->records = core_malloc_array(count, sizeof *st->records);
    if (!st->records)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu samples", count);
    st->capacity = count;
    CORE_TRY(reader_exact(r, st->pixels, total, err));
    CORE_TRY(reader_expect_end(r, err));
    st->type = IGD_PIXEL_U8;
    st->width = width;
    st->height = height;
    st->channels = channels;
    st->image_bytes = image;
    for (size_t i = 0; i < count; i++)
        st->records[i] = (ds_record){DS_NO_STRING, DS_NO_STRING, 0, DS_NONE};
    st->count = count;
    return IGD_OK;
}

/* Reads the labels into the records' classes and names the classes that occur. */
static igd_status read_labels(idx_reader *r, ds_store *st, core_err *err)
{
    uint32_t dims[MAX_DIMS];
    unsigned ndims;
    CORE_TRY(read_header(r, 1, 1, dims, &ndims, err));
    if (dims[0] != st->count)
        return core_fail(err, IGD_ERR_CORRUPT, "'%s' labels %u images, the image file has %zu",
                         r->path, dims[0], st->count);
    CORE_TRY(check_size(r, 1, st->count, err));
    bool present[256] = {false};
    unsigned max = 0;
    unsigned char buf[4096];
    for (size_t done = 0; done < st->count;) {
        size_t n = st->count - done < sizeof buf ? st->count - done : sizeof buf;
        CORE_TRY(reader_exact(r, buf, n, err));
        for (size_t i = 0; i < n; i++) {
            st->records[done + i].class_id = buf[i];
            present[buf[i]] = true;
            max = buf[i] > max ? buf[i] : max;
        }
        done += n;
    }
    CORE_TRY(reader_expect_end(r, err));
    char text[256][4];
    const char *names[256];
    for (unsigned c = 0; c <= max; c++) {
        snprintf(text[c], sizeof text[c], "%u", c);
        names[c] = present[c] ? text[c] : NULL;
    }
    return ds_store_set_class_names(st, names, max + 1, err);
}

igd_status ds_open_idx(const char *images_path, const char *labels_path, const igd_options *limits,
                       igd_dataset **out, core_err *err)
{
    *out = NULL;
    ds_store *st;
    CORE_TRY(ds_store_new(DS_PIXELS, &st, err));
    idx_reader r;
    igd_status status = reader_open(&r, images_path, err);
    if (status == IGD_OK) {
        status = read_images(&r, limits, st, err);
        reader_close(&r);
    }
    if (status == IGD_OK && labels_path) {
        status = reader_open(&r, labels_path, err);
        if (status == IGD_OK) {
            status = read_labels(&r, st, err);
            reader_close(&r);
        }
    }
    if (status != IGD_OK) {
        ds_store_release(st);
        return status;
    }
    return ds_from_store(st, out, err);
}

/* Fuzz target: PNG and JPEG decoding through igd_image_decode (the target is built twice, as
 * fuzz-png and fuzz-jpeg, with different corpora). Limits keep a decoded image under 2^16 pixels
 * so that the fuzzer measures the decoders, not the allocator. libpng rejects a critical chunk
 * whose CRC is wrong before looking at it, so a PNG input is also tried with every chunk's CRC
 * recomputed: mutations then reach the chunk parsers and the pixel data. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "igd/igd.h"

static igd_options *limits(void)
{
    static igd_options *opts;
    if (!opts) {
        if (igd_options_create(&opts) != IGD_OK)
            abort();
        if (igd_options_set_int(opts, IGD_OPT_MAX_IMAGE_PIXELS, 1 << 16) != IGD_OK ||
            igd_options_set_int(opts, IGD_OPT_MAX_IMAGE_SIDE, 1024) != IGD_OK)
            abort();
    }
    return opts;
}

static void decode(const uint8_t *data, size_t size)
{
    igd_image *img = NULL;
    igd_status st = igd_image_decode(data, size, limits(), &img);
    if (st == IGD_OK) {
        size_t w = igd_image_width(img), h = igd_image_height(img), c = igd_image_channels(img);
        igd_pixel_type t = igd_image_type(img);
        size_t px = t == IGD_PIXEL_U16 ? 2 : 1;
        if (w == 0 || h == 0 || (c != 1 && c != 3) || w * h > (1u << 16) ||
            igd_image_stride(img) != w * c * px)
            abort();
        /* Touch every byte, so that a short buffer shows up under AddressSanitizer. */
        const unsigned char *p = igd_image_const_data(img);
        unsigned sum = 0;
        for (size_t i = 0; i < h * w * c * px; i++)
            sum += p[i];
        volatile unsigned sink = sum;
        (void)sink;
        igd_image_free(img);
    } else if (img != NULL) {
        abort();
    }
}

/* Recomputes the CRC of every whole chunk; returns whether anything changed. */
static int repair_png(uint8_t *d, size_t size)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size < 8 || memcmp(d, sig, 8) != 0)
        return 0;
    int changed = 0;
    size_t pos = 8;
    while (size - pos >= 12) {
        uint32_t len = (uint32_t)d[pos] << 24 | (uint32_t)d[pos + 1] << 16 |
                       (uint32_t)d[pos + 2] << 8 | d[pos + 3];
        if (len > size - pos - 12)
            break;
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), d + pos + 4, (uInt)len + 4);
        uint8_t *c = d + pos + 8 + len;
        uint8_t want[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
                           (uint8_t)crc};
        if (memcmp(c, want, 4) != 0) {
            memcpy(c, want, 4);
            changed = 1;
        }
        pos += 12 + (size_t)len;
    }
    return changed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (repair_png(copy, size))
        decode(copy, size);
    free(copy);
    return 0;
}

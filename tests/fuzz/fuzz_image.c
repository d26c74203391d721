/* Fuzz target: PNG and JPEG decoding through igd_image_decode (the target is built twice, as
 * fuzz-png and fuzz-jpeg, with different corpora). Limits keep a decoded image under 2^16 pixels
 * so that the fuzzer measures the decoders, not the allocator. */
#include <stdlib.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
    return 0;
}

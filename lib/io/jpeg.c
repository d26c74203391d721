/* JPEG decoding through the TurboJPEG API. */
#include "io/jpeg.h"

#include <limits.h>
#include <turbojpeg.h>

#include "io/image.h"

igd_status io_jpeg_decode(const unsigned char *data, size_t size, const igd_options *limits,
                          igd_image **out, core_err *err)
{
    *out = NULL;
    if (size > ULONG_MAX)
        return core_fail(err, IGD_ERR_LIMIT, "JPEG: %zu bytes are too many", size);
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "JPEG: creating a decoder: %s",
                         tjGetErrorStr2(NULL));
    int w = 0, h = 0, subsamp = 0, colorspace = 0;
    igd_status st = IGD_OK;
    if (tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &subsamp, &colorspace) != 0) {
        st = core_fail(err, IGD_ERR_CORRUPT, "JPEG: %s", tjGetErrorStr2(tj));
        goto done;
    }
    if (w <= 0 || h <= 0) {
        st = core_fail(err, IGD_ERR_CORRUPT, "JPEG: invalid size %d x %d", w, h);
        goto done;
    }
    st = io_check_limits((size_t)w, (size_t)h, limits, "JPEG image", err);
    if (st != IGD_OK)
        goto done;
    if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
        st = core_fail(err, IGD_ERR_UNSUPPORTED, "JPEG: CMYK images are not supported");
        goto done;
    }
    size_t channels = colorspace == TJCS_GRAY ? 1 : 3;
    igd_image *im = NULL;
    st = io_image_new((size_t)w, (size_t)h, channels, IGD_PIXEL_U8, false, &im, err);
    if (st != IGD_OK)
        goto done;
    if (im->stride > INT_MAX) {
        io_image_free(im);
        st = core_fail(err, IGD_ERR_LIMIT, "JPEG: rows of %zu bytes are too long", im->stride);
        goto done;
    }
    int flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
    if (tjDecompress2(tj, data, (unsigned long)size, im->data, w, (int)im->stride, h,
                      channels == 1 ? TJPF_GRAY : TJPF_RGB, flags) != 0) {
        st = core_fail(err, IGD_ERR_CORRUPT, "JPEG: %s", tjGetErrorStr2(tj));
        io_image_free(im);
        goto done;
    }
    *out = im;
done:
    tjDestroy(tj);
    return st;
}

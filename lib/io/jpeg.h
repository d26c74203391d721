/* JPEG decoding (the TurboJPEG API). */
#ifndef IO_JPEG_H
#define IO_JPEG_H

#include <stddef.h>

#include "core/error.h"
#include "igd/igd.h"

/* Decodes a JPEG held in memory: grey JPEGs to 8-bit grey, colour ones to 8-bit RGB. The size in
 * the header is checked against limits (NULL = defaults) before pixel memory is allocated. Any
 * libjpeg warning (a truncated or damaged stream) is IGD_ERR_CORRUPT; CMYK is unsupported. */
igd_status io_jpeg_decode(const unsigned char *data, size_t size, const igd_options *limits,
                          igd_image **out, core_err *err);

#endif

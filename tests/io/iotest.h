/* Helpers of the io tests: independent PNG and JPEG writers (libpng and TurboJPEG used directly,
 * not through libigd) and small pixel utilities. */
#ifndef IOTEST_H
#define IOTEST_H

#include <stddef.h>
#include <stdint.h>

/* A PNG in memory (malloc'd). rows holds height rows in PNG's own layout (bit depth below 8
 * packed, 16-bit big-endian). palette (RGB triples) and trans (tRNS bytes) may be NULL. */
unsigned char *iot_png(size_t width, size_t height, int color_type, int bit_depth,
                       const unsigned char *rows, size_t row_bytes, const unsigned char *palette,
                       int palette_size, const unsigned char *trans, int trans_count, int interlace,
                       size_t *size);

/* A JPEG (malloc'd) of 8-bit grey (channels 1) or RGB pixels, 4:4:4, by tjCompress2. */
unsigned char *iot_jpeg(const unsigned char *pixels, size_t width, size_t height, size_t channels,
                        int quality, size_t *size);

/* Deterministic pseudo-random bytes. */
void iot_bytes(unsigned char *p, size_t n, uint64_t seed);

/* Counts the entries of a folder other than . and .. (-1 if it cannot be read). */
int iot_count_entries(const char *path);

/* An allocator that records the largest request (to check that nothing big was allocated). */
void iot_track_install(void);
size_t iot_track_largest(void);
void iot_track_remove(void);

#endif

/* The model file: one self-contained, versioned, little-endian binary with a CRC-32 (see
 * docs/model-format.md). Loading validates every length, count and dimension before allocating,
 * and never allocates more than the file's size justifies. */
#ifndef MDL_MODELFILE_H
#define MDL_MODELFILE_H

#include "model/model.h"

enum { MDL_FORMAT_VERSION = 2 }; /* 2: the SEGN section; files of version 1 still load */

size_t mdl_save_size(const igd_model *m, unsigned flags);
/* Writes exactly mdl_save_size bytes. */
igd_status mdl_save_buffer(const igd_model *m, unsigned flags, void *buffer, size_t size,
                           core_err *err);
igd_status mdl_save_file(const igd_model *m, const char *path, unsigned flags, core_err *err);
igd_status mdl_load_buffer(const void *data, size_t size, const igd_options *runtime,
                           igd_model **out, core_err *err);
igd_status mdl_load_file(const char *path, const igd_options *runtime, igd_model **out,
                         core_err *err);

#endif

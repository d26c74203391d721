/* Shared declarations of the fuzz targets. Each target defines LLVMFuzzerTestOneInput; without a
 * fuzzing engine, replay.c supplies a main that feeds it every file of the folders or files given
 * on its command line. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

/* Fuzz target: the model loader (igd_model_load_memory). Random mutations almost never keep the
 * CRC-32 right, so each input is tried twice: as it is (exercising the header and checksum
 * checks), and with its payload length and checksum recomputed (exercising the parser behind the
 * checksum). A model that loads must save, and its saved bytes must load again. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "igd/igd.h"

enum { HEADER = 24, TRAILER = 8 };

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void try_load(const uint8_t *data, size_t size)
{
    igd_model *m = NULL;
    igd_status st = igd_model_load_memory(data, size, NULL, &m);
    if (st != IGD_OK) {
        if (m)
            abort();
        return;
    }
    size_t need = 0;
    if (igd_model_save_memory(m, IGD_SAVE_OPTIMIZER, NULL, 0, &need) != IGD_OK)
        abort();
    unsigned char *buf = malloc(need);
    if (!buf)
        abort();
    size_t got = 0;
    if (igd_model_save_memory(m, IGD_SAVE_OPTIMIZER, buf, need, &got) != IGD_OK || got != need)
        abort();
    igd_model *again = NULL;
    if (igd_model_load_memory(buf, got, NULL, &again) != IGD_OK)
        abort();
    igd_model_free(again);
    free(buf);
    igd_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_load(data, size);
    if (size < HEADER + TRAILER || memcmp(data, "IGDMODEL", 8) != 0)
        return 0;
    unsigned char *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    uint64_t payload = size - HEADER - TRAILER;
    put_u32(fixed + 16, (uint32_t)payload);
    put_u32(fixed + 20, (uint32_t)(payload >> 32));
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), fixed, (uInt)(size - TRAILER));
    put_u32(fixed + size - TRAILER, crc);
    memcpy(fixed + size - 4, "IGDE", 4);
    if (memcmp(fixed, data, size) != 0)
        try_load(fixed, size);
    free(fixed);
    return 0;
}

/* Fuzz target: igd_options_parse. The input is split at its first NUL byte (or '=' when it has
 * none) into an option name and a value. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "igd/igd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *split = memchr(text, '\0', size);
    if (!split)
        split = strchr(text, '=');
    const char *name = text, *value = "";
    if (split) {
        *split = '\0';
        value = split + 1;
    }
    igd_options *opts;
    if (igd_options_create(&opts) == IGD_OK) {
        igd_option key;
        igd_status st = igd_options_parse(opts, name, value);
        if (igd_option_find(name, &key) == IGD_OK) {
            int64_t i;
            double r;
            /* Whatever was parsed must read back within the option's bounds. */
            double lo, hi;
            igd_option_type type;
            if (igd_option_info(key, &type, &lo, &hi, NULL, NULL) == IGD_OK) {
                if (type == IGD_TYPE_INT && igd_options_get_int(opts, key, &i) == IGD_OK &&
                    ((double)i < lo || (double)i > hi))
                    abort();
                if (type == IGD_TYPE_REAL && igd_options_get_real(opts, key, &r) == IGD_OK &&
                    !(r >= lo && r <= hi))
                    abort();
            }
        }
        (void)st;
        (void)igd_last_error();
        igd_options_free(opts);
    }
    free(text);
    return 0;
}

/* Writing JSON by hand: escaped strings and numbers (non-finite numbers become null). */
#ifndef EXAMPLES_JSON_H
#define EXAMPLES_JSON_H

#include <stdio.h>

void json_string(FILE *f, const char *s);
void json_number(FILE *f, double v);
/* "key": (with a leading comma unless first) */
void json_key(FILE *f, const char *key, int *first);

#endif

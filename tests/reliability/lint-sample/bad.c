/* A sample the source check must reject (its self-test). */
#include <assert.h>
#include <stdio.h>

int sample(int x)
{
    assert(x > 0);
    fprintf(stderr, "x=%d", x);
    return x;
}

/* Helpers of the model tests: tiny configurations and synthetic images. */
#ifndef MODELTEST_H
#define MODELTEST_H

#include "testutil.h"

/* A tiny, fast configuration (16x16 grey, width 4, depth 2, latent 8) with the given nets. */
igd_options *mt_tiny_options(int nets);
/* n images h x w x c (8-bit) of smooth random blobs, reproducible from seed. */
unsigned char *mt_images(size_t n, size_t h, size_t w, size_t c, uint64_t seed);
/* A tiny model after an E-step and `steps` training steps on mt_images. */
igd_model *mt_trained_model(int nets, int steps);
/* The same from the given options (freed). */
igd_model *mt_trained_model_from(igd_options *o, int nets, int steps);
/* Fashion-MNIST's folder, or NULL if the Debian package is not installed. */
const char *mt_fashion_dir(void);

#endif

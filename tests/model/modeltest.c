#include "modeltest.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

igd_options *mt_tiny_options(int nets)
{
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_NETS, nets));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_GLOBAL_SIZE, 16));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_PATCH_SIZE, 8));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_IMAGE_SIZE, 24));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_PATCH_STRIDE, 8));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_BASE_WIDTH, 4));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_DEPTH, 2));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_LATENT_SIZE, 8));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_HIDDEN_SIZE, 0));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_BATCH_SIZE, 8));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_EPOCHS, 1));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MSSSIM_SCALES, 2));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_LEARNING_RATE, 1e-3));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_CRITIC_LEARNING_RATE, 1e-3));
    /* Tiny networks gain nothing from more threads, and one thread keeps the tests quick on a
     * busy machine (the fit test sets 2 to cover multi-threaded determinism). */
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_THREADS, 1));
    return o;
}

unsigned char *mt_images(size_t n, size_t h, size_t w, size_t c, uint64_t seed)
{
    unsigned char *p = malloc(n * h * w * c);
    float r[6];
    for (size_t i = 0; i < n; i++) {
        tu_fill_uniform(r, 6, 0, 1, &seed);
        for (size_t y = 0; y < h; y++)
            for (size_t x = 0; x < w; x++)
                for (size_t k = 0; k < c; k++) {
                    double v = 0.5 + 0.3 * sin(6.28 * (r[0] * x / w + r[1] * y / h + r[2])) +
                               0.15 * cos(6.28 * r[3] * (x + y) / w + k);
                    v += 0.05 * (r[4] - 0.5);
                    p[((i * h + y) * w + x) * c + k] = (unsigned char)(fmin(1, fmax(0, v)) * 255);
                }
    }
    return p;
}

igd_model *mt_trained_model(int nets, int steps)
{
    return mt_trained_model_from(mt_tiny_options(nets), nets, steps);
}

igd_model *mt_trained_model_from(igd_options *o, int nets, int steps)
{
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    igd_options_free(o);
    unsigned char *img = mt_images(16, 24, 24, 1, 77);
    for (int id = 1; id <= 2; id++) {
        if (!(nets & id))
            continue;
        ck_assert_igd_ok(igd_model_estep_begin(m, (igd_net)id));
        ck_assert_igd_ok(
            igd_model_estep_add(m, (igd_net)id, img, IGD_PIXEL_U8, 16, 24, 24, 1, 0, 0));
        ck_assert_igd_ok(igd_model_estep_finish(m, (igd_net)id));
        for (int s = 0; s < steps; s++)
            ck_assert_igd_ok(igd_model_train_step(m, (igd_net)id, img + (s % 2) * 8 * 576,
                                                  IGD_PIXEL_U8, 8, 24, 24, 1, 0, 0, NULL, 0));
    }
    free(img);
    return m;
}

const char *mt_fashion_dir(void)
{
    static const char *dir = "/usr/share/datasets/fashion-mnist";
    return access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0 ? dir
                                                                                             : NULL;
}

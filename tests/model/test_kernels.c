/* Performance guards: on AVX2 and AVX-512 machines, no primitive of the training or inference
 * graphs of typical configurations falls back to oneDNN's slow reference code, and their buffers
 * share memory only where safe; the convolution algorithm option reaches the graphs it promises
 * to. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <oneapi/dnnl/dnnl.h>

#include "model/model.h"
#include "model/session.h"
#include "modeltest.h"
#include "nn/plan_check.h"

/* Primitives of a trainer's graphs running oneDNN's reference code, or (winograd) convolutions
 * running a Winograd kernel. */
static size_t trainer_count(const mdl_trainer *t, bool winograd)
{
    size_t n = 0;
    const nn_graph *gs[4] = {t->enc, t->dec, t->dec_mix, t->critic};
    for (int i = 0; i < 4; i++)
        if (gs[i])
            n += winograd ? gs[i]->winograd_prims : gs[i]->reference_prims;
    return n;
}

/* Typical configurations: no primitive runs oneDNN's reference code (checked on AVX2 and
 * AVX-512 machines), and no two buffers live at once share memory (checked everywhere). */
START_TEST(typical_graphs)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    const bool fast_isa = isa == dnnl_cpu_isa_avx2 || isa == dnnl_cpu_isa_avx512_core ||
                          isa == dnnl_cpu_isa_avx512_core_vnni ||
                          isa == dnnl_cpu_isa_avx512_core_bf16;
    if (!fast_isa)
        printf("CPU ISA %d: reference kernels not checked\n", (int)isa);
    static const int widths[] = {8, 16, 32}, channels[] = {1, 3};
    for (int ci = 0; ci < 2; ci++)
        for (int wi = 0; wi < 3; wi++) {
            igd_options *o = mt_tiny_options(IGD_NET_GLOBAL | IGD_NET_LOCAL);
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_CHANNELS, channels[ci]));
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_BASE_WIDTH, widths[wi]));
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_GLOBAL_SIZE, 32));
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_PATCH_SIZE, 16));
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_DEPTH, 3));
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_HIDDEN_SIZE, 64));
            igd_model *m;
            ck_assert_igd_ok(igd_model_create(o, &m));
            igd_options_free(o);
            unsigned char *img = mt_images(8, 32, 32, 3, 2);
            for (int id = 1; id <= 2; id++) {
                ck_assert_igd_ok(igd_model_estep_begin(m, (igd_net)id));
                ck_assert_igd_ok(
                    igd_model_estep_add(m, (igd_net)id, img, IGD_PIXEL_U8, 8, 32, 32, 3, 0, 0));
                ck_assert_igd_ok(igd_model_estep_finish(m, (igd_net)id));
                ck_assert_igd_ok(igd_model_train_step(m, (igd_net)id, img, IGD_PIXEL_U8, 8, 32, 32,
                                                      3, 0, 0, NULL, 0));
            }
            igd_session *s;
            ck_assert_igd_ok(igd_session_create(m, &s));
            for (int id = 0; id < MDL_NETS; id++) {
                const mdl_trainer *t = m->net[id].trainer;
                const nn_graph *gs[6] = {t->enc,    t->dec,          t->dec_mix,
                                         t->critic, s->inf[id]->enc, s->inf[id]->dec};
                for (int k = 0; k < 6; k++)
                    ck_assert_msg(!gs[k] || plan_conflicts(gs[k], NULL) == 0,
                                  "graph %d of the %s model shares live memory", k,
                                  id == MDL_GLOBAL ? "global" : "local");
            }
            for (int id = 0; id < MDL_NETS; id++) {
                size_t refs = trainer_count(m->net[id].trainer, false) +
                              s->inf[id]->enc->reference_prims + s->inf[id]->dec->reference_prims;
                ck_assert_msg(!fast_isa || refs == 0,
                              "%zu reference kernels: channels %d, width %d, %s model", refs,
                              channels[ci], widths[wi], id == MDL_GLOBAL ? "global" : "local");
            }
            igd_session_free(s);
            igd_model_free(m);
            free(img);
        }
}
END_TEST

/* IGD_OPT_CONV_ALGORITHM: fast trains with Winograd kernels and detects with direct ones, direct
 * never uses Winograd's, winograd uses it in sessions too (set at creation or on the model
 * later); on a CPU without oneDNN's Winograd kernels (before AVX-512) none appear. Scores agree
 * across the algorithms up to rounding. */
START_TEST(conv_algorithm_option)
{
    const bool kernel =
        (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
    unsigned char *img = mt_images(8, 32, 32, 1, 4);
    double scores[3][8];
    for (int alg = IGD_CONV_FAST; alg <= IGD_CONV_WINOGRAD; alg++) {
        igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_BASE_WIDTH, 16));
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_GLOBAL_SIZE, 32));
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_CONV_ALGORITHM, alg));
        igd_model *m;
        ck_assert_igd_ok(igd_model_create(o, &m));
        igd_options_free(o);
        ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_GLOBAL));
        ck_assert_igd_ok(
            igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 32, 32, 1, 0, 0));
        ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_GLOBAL));
        ck_assert_igd_ok(igd_model_train_step(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 32, 32, 1, 0,
                                              0, NULL, 0));
        size_t train = trainer_count(m->net[MDL_GLOBAL].trainer, true);
        ck_assert_msg((train > 0) == (kernel && alg != IGD_CONV_DIRECT),
                      "algorithm %d: %zu Winograd convolutions in training", alg, train);
        /* Sessions made with the same trained parameters: only the algorithm differs. */
        for (int run = IGD_CONV_FAST; run <= IGD_CONV_WINOGRAD; run++) {
            ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_CONV_ALGORITHM, run));
            igd_session *s;
            ck_assert_igd_ok(igd_session_create(m, &s));
            size_t infer =
                s->inf[MDL_GLOBAL]->enc->winograd_prims + s->inf[MDL_GLOBAL]->dec->winograd_prims;
            ck_assert_msg((infer > 0) == (kernel && run == IGD_CONV_WINOGRAD),
                          "algorithm %d: %zu Winograd convolutions in a session", run, infer);
            ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, 8, 32, 32, 1, 0, 0,
                                                scores[run], NULL, NULL, 0));
            igd_session_free(s);
        }
        for (int i = 0; i < 8; i++) {
            ck_assert(scores[IGD_CONV_FAST][i] == scores[IGD_CONV_DIRECT][i]);
            ck_assert_double_eq_tol(scores[IGD_CONV_WINOGRAD][i], scores[IGD_CONV_FAST][i],
                                    1e-4 * fabs(scores[IGD_CONV_FAST][i]));
        }
        igd_model_free(m);
    }
    free(img);
}
END_TEST

/* The parameter count computed from an architecture alone (what a model file's size is checked
 * against before anything is built) is exactly what the networks define. */
/* Detection runs a model's decoder only when its reconstruction counts: in the score
 * (score_rec_weight > 0) or in the parts the caller asks for. */
START_TEST(detection_decodes_only_when_needed)
{
    igd_model *m = mt_trained_model(IGD_NET_GLOBAL | IGD_NET_LOCAL, 2);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    unsigned char *img = mt_images(2, 24, 24, 1, 9); /* 2 images: the batch-1 global graph */
    double scores[2], parts[2 * IGD_PART_COUNT];
    const struct {
        double weight;
        size_t parts;
        bool global, local;
    } cases[] = {{1, 0, true, true},
                 {0, 0, false, false},
                 {0, IGD_PART_GLOBAL_REC, false, false},
                 {0, IGD_PART_GLOBAL_REC + 1, true, false},
                 {0, IGD_PART_LOCAL_REC + 1, true, true}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_SCORE_REC_WEIGHT, cases[c].weight));
        ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, 2, 24, 24, 1, 0, 0, scores, NULL,
                                            cases[c].parts ? parts : NULL, cases[c].parts));
        ck_assert_int_eq(s->single->decoded, cases[c].global);
        ck_assert_int_eq(s->inf[MDL_LOCAL]->decoded, cases[c].local);
        if (cases[c].parts > IGD_PART_GLOBAL_REC)
            ck_assert_double_gt(parts[IGD_PART_GLOBAL_REC], 0);
        if (cases[c].parts > IGD_PART_LOCAL_REC)
            ck_assert_double_gt(parts[IGD_PART_LOCAL_REC], 0);
    }
    free(img);
    igd_session_free(s);
    igd_model_free(m);
}
END_TEST

START_TEST(parameter_count_matches_the_networks)
{
    static const int cfg[][7] = {{1, 32, 16, 3, 128, 512, 0},
                                 {3, 64, 8, 3, 32, 0, 0},
                                 {1, 16, 4, 2, 8, 0, 1},
                                 {3, 28, 6, 2, 16, 64, 0},
                                 {1, 32, 32, 4, 128, 256, 0}};
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        igd_options *o;
        ck_assert_igd_ok(igd_options_create(&o));
        const igd_option keys[6] = {IGD_OPT_CHANNELS, IGD_OPT_GLOBAL_SIZE, IGD_OPT_BASE_WIDTH,
                                    IGD_OPT_DEPTH,    IGD_OPT_LATENT_SIZE, IGD_OPT_HIDDEN_SIZE};
        for (int k = 0; k < 6; k++)
            ck_assert_igd_ok(igd_options_set_int(o, keys[k], cfg[i][k]));
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_BN_MODE, cfg[i][6]));
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MSSSIM_SCALES, 1));
        igd_model *m;
        ck_assert_igd_ok(igd_model_create(o, &m));
        ck_assert_double_eq(mdl_param_count(&m->cfg.arch[MDL_GLOBAL]) * sizeof(float),
                            (double)mdl_param_bytes(m));
        igd_model_free(m);
        igd_options_free(o);
    }
}
END_TEST

Suite *make_kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *t = tcase_create("kernels");
    tcase_set_timeout(t, 1500);
    tcase_add_test(t, typical_graphs);
    tcase_add_test(t, conv_algorithm_option);
    tcase_add_test(t, parameter_count_matches_the_networks);
    tcase_add_test(t, detection_decodes_only_when_needed);
    suite_add_tcase(s, t);
    return s;
}

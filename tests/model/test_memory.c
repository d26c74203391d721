/* Patch memory: reservoir sampling, leave-one-out scales and nearest-neighbour terms against
 * brute force (lib/model/memory.c), and the options memory_size and memory_radius through the
 * public API: E-steps build and drop the memory, scores and heatmaps use it, files keep it. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/memory.h"
#include "modeltest.h"

/* ---- the memory itself ---- */

START_TEST(reservoir_keeps_a_uniform_sample)
{
    mdl_memory mem;
    int zero = 0;
    core_err err = {0};
    ck_assert_igd_ok(mdl_memory_init(&mem, 2, 1, &zero, &zero, &err));
    core_rng rng;
    core_rng_seed(&rng, 5);
    /* Up to the limit every latent is kept, in order. */
    for (int i = 0; i < 1000; i++) {
        float z[2] = {(float)i, 1.0f};
        ck_assert_igd_ok(mdl_memory_offer(&mem, 0, z, 100, &rng, &err));
        if (i == 99)
            for (int k = 0; k < 100; k++)
                ck_assert_float_eq(mem.z[0][2 * k], (float)k);
    }
    ck_assert_uint_eq(mem.count[0], 100);
    ck_assert_uint_le(mem.capacity[0], 100);
    ck_assert_uint_eq(mdl_memory_total(&mem), 100);
    /* A sample of 100 out of 0..999 without repeats, its mean near 499.5 (sd of the mean 27), its
     * norms right. */
    bool seen[1000] = {false};
    double mean = 0;
    int late = 0;
    for (int k = 0; k < 100; k++) {
        int v = (int)mem.z[0][2 * k];
        ck_assert(v >= 0 && v < 1000 && !seen[v]);
        seen[v] = true;
        mean += v / 100.0;
        late += v >= 500;
        ck_assert_float_eq_tol(mem.norm[0][k], (float)v * v + 1.0f, 1e-3f * (v * v + 1.0f));
    }
    ck_assert_double_eq_tol(mean, 499.5, 110);
    ck_assert_int_gt(late, 25); /* later latents replace earlier ones */
    /* The same seed keeps the same sample. */
    mdl_memory again;
    ck_assert_igd_ok(mdl_memory_init(&again, 2, 1, &zero, &zero, &err));
    core_rng_seed(&rng, 5);
    for (int i = 0; i < 1000; i++) {
        float z[2] = {(float)i, 1.0f};
        ck_assert_igd_ok(mdl_memory_offer(&again, 0, z, 100, &rng, &err));
    }
    ck_assert_mem_eq(again.z[0], mem.z[0], 200 * sizeof(float));
    mdl_memory_free(&again);
    mdl_memory_free(&mem);
    ck_assert_uint_eq(mem.positions, 0);
    mdl_memory_free(&mem); /* freeing twice is harmless */
}
END_TEST

static double sq_dist(const float *a, const float *b, int n)
{
    double s = 0;
    for (int k = 0; k < n; k++)
        s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

/* The brute-force farthest-point choice of k of n latents: at each step the not yet chosen
 * latent whose nearest chosen one is farthest (the lowest index among equals). */
static void farthest_reference(const float (*all)[3], int n, int k, int *pick)
{
    bool chosen[64] = {true};
    pick[0] = 0;
    for (int j = 1; j < k; j++) {
        double best = -1;
        for (int i = 0; i < n; i++) {
            if (chosen[i])
                continue;
            double nearest = INFINITY;
            for (int c = 0; c < j; c++)
                nearest = fmin(nearest, sq_dist(all[i], all[pick[c]], 3));
            if (nearest > best)
                best = nearest, pick[j] = i;
        }
        chosen[pick[j]] = true;
    }
}

/* The coreset against the brute force above, at two positions of different sizes (the later one
 * larger) and one with fewer latents than k; the sample itself stays as it was. */
START_TEST(coreset_matches_farthest_point_selection)
{
    enum { L = 3, K = 6 };
    const int sizes[3] = {40, 60, 4};
    int zero[3] = {0, 0, 0};
    core_err err = {0};
    mdl_memory mem, core;
    ck_assert_igd_ok(mdl_memory_init(&mem, L, 3, zero, zero, &err));
    core_rng rng;
    core_rng_seed(&rng, 11);
    float all[3][64][L];
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < sizes[p]; i++) {
            for (int k = 0; k < L; k++)
                all[p][i][k] = (float)core_rng_below(&rng, 1000) / 100.0f;
            ck_assert_igd_ok(mdl_memory_offer(&mem, (size_t)p, all[p][i], 64, &rng, &err));
        }
    ck_assert_igd_ok(mdl_memory_coreset(&mem, K, &core, &err));
    ck_assert_uint_eq(core.positions, 3);
    for (int p = 0; p < 3; p++) {
        ck_assert_uint_eq(mem.count[p], (size_t)sizes[p]); /* the sample is untouched */
        ck_assert_mem_eq(mem.z[p], all[p], (size_t)sizes[p] * L * sizeof(float));
        int pick[K], keep = sizes[p] < K ? sizes[p] : K;
        ck_assert_uint_eq(core.count[p], (size_t)keep);
        if (sizes[p] > K)
            farthest_reference((const float(*)[3])all[p], sizes[p], K, pick);
        else
            for (int j = 0; j < keep; j++)
                pick[j] = j;
        for (int j = 0; j < keep; j++) {
            ck_assert_mem_eq(core.z[p] + j * L, all[p][pick[j]], L * sizeof(float));
            ck_assert_float_eq(core.norm[p][j], mem.norm[p][pick[j]]);
        }
    }
    ck_assert_igd_ok(mdl_memory_calibrate(&core, 0, 1, &err));
    ck_assert_double_gt(core.scale[0], 0);
    mdl_memory_free(&core);
    mdl_memory_free(&mem);
    /* NaN latents count as farthest and no latent is chosen twice, even when the first is NaN. */
    ck_assert_igd_ok(mdl_memory_init(&mem, L, 1, zero, zero, &err));
    for (int i = 0; i < 5; i++) {
        float z[L] = {(float)i, i == 0 || i == 3 ? NAN : 0.0f, 1.0f};
        ck_assert_igd_ok(mdl_memory_offer(&mem, 0, z, 64, &rng, &err));
    }
    ck_assert_igd_ok(mdl_memory_coreset(&mem, 4, &core, &err));
    ck_assert_uint_eq(core.count[0], 4);
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            ck_assert_float_ne(core.z[0][a * L], core.z[0][b * L]);
    mdl_memory_free(&core);
    mdl_memory_free(&mem);
}
END_TEST

/* 3 x 3 positions 8 pixels apart, 700 latents at the middle one (more than one sgemm chunk), a
 * few elsewhere, one alone at a corner. */
START_TEST(terms_and_scales_match_brute_force)
{
    enum { L = 5, P = 9 };
    int y[P], x[P];
    size_t count[P];
    for (int p = 0; p < P; p++) {
        y[p] = 8 * (p / 3);
        x[p] = 8 * (p % 3);
        count[p] = p == 4 ? 700 : p == 0 ? 1 : 20 + (size_t)p;
    }
    mdl_memory mem;
    core_err err = {0};
    ck_assert_igd_ok(mdl_memory_init(&mem, L, P, y, x, &err));
    core_rng rng;
    core_rng_seed(&rng, 1);
    uint64_t seed = 3;
    for (int p = 0; p < P; p++)
        for (size_t i = 0; i < count[p]; i++) {
            float z[L];
            tu_fill_uniform(z, L, -1, 1, &seed);
            z[0] += (float)p; /* positions differ */
            ck_assert_igd_ok(mdl_memory_offer(&mem, (size_t)p, z, 10000, &rng, &err));
        }
    ck_assert_igd_ok(mdl_memory_calibrate(&mem, 1e-3, 0.5, &err));
    double scale[P];
    for (int p = 0; p < P; p++) {
        double sum = 0;
        for (size_t i = 0; i < count[p]; i++) {
            double best = INFINITY;
            for (size_t j = 0; j < count[p]; j++)
                if (j != i)
                    best = fmin(best, sq_dist(mem.z[p] + i * L, mem.z[p] + j * L, L));
            sum += best;
        }
        scale[p] = count[p] > 1 ? fmax(sum / (double)count[p], 1e-3) : 0.5; /* the fallback */
        ck_assert_double_eq_tol(mem.scale[p], scale[p], 1e-4 * scale[p]);
    }
    /* Queries at, between and beyond positions, with radii 0, 8 and everything. */
    const int qy[] = {8, 4, 0, 20, 8}, qx[] = {8, 4, 16, 20, 12};
    const double radii[] = {0, 8, 1e6};
    for (int q = 0; q < 5; q++)
        for (int r = 0; r < 3; r++) {
            float z[L];
            tu_fill_uniform(z, L, -1, 1, &seed);
            z[0] += 4.0f;
            int closest = 1 << 30;
            for (int p = 0; p < P; p++)
                closest = (int)fmin(closest, fmax(abs(y[p] - qy[q]), abs(x[p] - qx[q])));
            double want = INFINITY;
            for (int p = 0; p < P; p++) {
                int gap = (int)fmax(abs(y[p] - qy[q]), abs(x[p] - qx[q]));
                if (gap > closest + radii[r])
                    continue;
                for (size_t i = 0; i < count[p]; i++)
                    want = fmin(want, sq_dist(z, mem.z[p] + i * L, L) / scale[p]);
            }
            double got;
            ck_assert_igd_ok(mdl_memory_term(&mem, qy[q], qx[q], radii[r], z, &got, &err));
            ck_assert_msg(fabs(got - want) <= 1e-4 * want + 1e-5,
                          "query (%d, %d) radius %g: %g, brute force %g", qy[q], qx[q], radii[r],
                          got, want);
        }
    /* A kept latent is at distance 0 from itself, exactly; an infinite latent is infinitely
     * far, a NaN one not a number. */
    double self;
    ck_assert_igd_ok(mdl_memory_term(&mem, 8, 8, 0, mem.z[4] + 17 * L, &self, &err));
    ck_assert_double_eq(self, 0);
    float huge[L] = {INFINITY, 0, 0, 0, 0}, nan[L] = {NAN, 0, 0, 0, 0};
    ck_assert_igd_ok(mdl_memory_term(&mem, 8, 8, 0, huge, &self, &err));
    ck_assert(isinf(self) && self > 0);
    ck_assert_igd_ok(mdl_memory_term(&mem, 8, 8, 0, nan, &self, &err));
    ck_assert(isnan(self));
    /* Scales stay within bounds; a position outside the memory is refused. */
    ck_assert_igd_ok(mdl_memory_calibrate(&mem, 0, 0, &err));
    ck_assert_double_eq(mem.scale[0], MDL_MEMORY_SCALE_MIN);
    ck_assert_int_eq(mdl_memory_offer(&mem, P, huge, 10, &rng, &err), IGD_ERR_INTERNAL);
    mdl_memory_free(&mem);
}
END_TEST

/* ---- through the public API ---- */

enum { N = 16, S = 24 };

static void estep_all(igd_model *m, const unsigned char *img, size_t n)
{
    for (int id = 1; id <= 2; id++) {
        ck_assert_igd_ok(igd_model_estep_begin(m, (igd_net)id));
        ck_assert_igd_ok(igd_model_estep_add(m, (igd_net)id, img, IGD_PIXEL_U8, n, S, S, 1, 0, 0));
        ck_assert_igd_ok(igd_model_estep_finish(m, (igd_net)id));
    }
}

static void detect(igd_model *m, const unsigned char *img, size_t n, double *scores, double *parts)
{
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, n, S, S, 1, 0, 0, scores, NULL, parts,
                                        parts ? IGD_PART_COUNT : 0));
    igd_session_free(s);
}

static size_t saved_size(igd_model *m)
{
    size_t size;
    ck_assert_igd_ok(igd_model_save_memory(m, 0, NULL, 0, &size));
    return size;
}

/* The E-step of the local model with a coreset of 2, adding the N images and then half of them,
 * either finishing once, or (fail >= 0) first trying to finish after the images with fail
 * allocations allowed; returns the status of that try (IGD_OK without one). */
static igd_status coreset_estep(igd_model *m, const unsigned char *train, long fail)
{
    igd_status st = IGD_OK;
    ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_LOCAL));
    ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_LOCAL, train, IGD_PIXEL_U8, N, S, S, 1, 0, 0));
    if (fail >= 0) {
        tu_fail_after(fail);
        st = igd_model_estep_finish(m, IGD_NET_LOCAL);
        tu_fail_reset();
        if (st == IGD_OK)
            return st;
        ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
    }
    ck_assert_igd_ok(
        igd_model_estep_add(m, IGD_NET_LOCAL, train, IGD_PIXEL_U8, N / 2, S, S, 1, 0, 0));
    ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_LOCAL));
    return st;
}

/* A finish that fails (out of memory anywhere in it, the coreset included) leaves the E-step
 * open with its sample untouched: adding more images and finishing then keeps what a single
 * finish of the same images keeps, byte for byte in the file. */
START_TEST(failed_finish_keeps_the_sample)
{
    tu_alloc_install();
    igd_model *m = mt_trained_model(IGD_NET_LOCAL, 2);
    unsigned char *train = mt_images(N, S, S, 1, 77);
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, 1000));
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_CORESET, 2));
    coreset_estep(m, train, -1); /* twice, so every run below starts from the same state */
    coreset_estep(m, train, -1);
    size_t size = saved_size(m), got_size;
    unsigned char *want = malloc(size), *got = malloc(size);
    ck_assert_igd_ok(igd_model_save_memory(m, 0, want, size, &size));
    int failures = 0;
    for (long n = 0; coreset_estep(m, train, n) != IGD_OK; n++) {
        failures++;
        ck_assert_uint_eq(saved_size(m), size);
        ck_assert_igd_ok(igd_model_save_memory(m, 0, got, size, &got_size));
        ck_assert_mem_eq(got, want, size);
    }
    ck_assert_int_gt(failures, 2);
    free(want);
    free(got);
    free(train);
    igd_model_free(m);
}
END_TEST

START_TEST(memory_scores_heatmaps_and_files)
{
    igd_model *m = mt_trained_model(IGD_NET_GLOBAL | IGD_NET_LOCAL, 4);
    unsigned char *train = mt_images(N, S, S, 1, 77); /* the images mt_trained_model used */
    unsigned char *other = mt_images(4, S, S, 1, 1234);
    estep_all(m, train, N);
    double gauss[N], parts[N * IGD_PART_COUNT];
    detect(m, train, N, gauss, NULL);
    const size_t plain = saved_size(m);

    /* With a memory the training images' classifier terms vanish: each latent is kept. */
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, 1000));
    estep_all(m, train, N);
    double scores[N];
    detect(m, train, N, scores, parts);
    for (int i = 0; i < N; i++) {
        const double *p = parts + i * IGD_PART_COUNT;
        ck_assert_double_le(fabs(p[IGD_PART_GLOBAL_CLASSIFIER]), 1e-4);
        ck_assert_double_le(fabs(p[IGD_PART_LOCAL_CLASSIFIER]), 1e-4);
        ck_assert_double_ne(scores[i], gauss[i]);
    }
    double oparts[4 * IGD_PART_COUNT], oscores[4];
    detect(m, other, 4, oscores, oparts);
    for (int i = 0; i < 4; i++) {
        ck_assert_double_gt(oparts[i * IGD_PART_COUNT + IGD_PART_GLOBAL_CLASSIFIER], 1e-3);
        ck_assert_double_gt(oparts[i * IGD_PART_COUNT + IGD_PART_LOCAL_CLASSIFIER], 1e-3);
    }
    /* The file grows by the latents (global 16 x 8 floats, local 9 positions x 16 x 8) and the
     * positions' records, and a loaded model scores the same. */
    const size_t with = saved_size(m);
    ck_assert_uint_eq(with - plain, 2 * (16 + 12) + 24 * 10 + 4 * 8 * (16 + 9 * 16));
    size_t size = with;
    unsigned char *bytes = malloc(size);
    ck_assert_igd_ok(igd_model_save_memory(m, 0, bytes, size, &size));
    igd_model *loaded;
    ck_assert_igd_ok(igd_model_load_memory(bytes, size, NULL, &loaded));
    double again[4];
    detect(loaded, other, 4, again, NULL);
    ck_assert_mem_eq(again, oscores, sizeof again);
    igd_model_free(loaded);
    free(bytes);

    /* Local heatmap: zero over a training image, positive over another. */
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_HEATMAP_GLOBAL_WEIGHT, 0));
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    float map[S * S], omap[S * S];
    ck_assert_igd_ok(igd_session_heatmap(s, train, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, map));
    ck_assert_igd_ok(igd_session_heatmap(s, other, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, omap));
    float top = 0, otop = 0;
    for (int k = 0; k < S * S; k++) {
        top = fmaxf(top, fabsf(map[k]));
        otop = fmaxf(otop, omap[k]);
    }
    ck_assert_float_le(top, 1e-4f);
    ck_assert_float_gt(otop, 1e-3f);
    igd_session_free(s);
    /* At global weight 0 the global model plays no part: a training step of it (on a copy) leaves
     * the map unchanged, bit for bit, while a weight above 0 mixes in its map. */
    bytes = malloc(with);
    ck_assert_igd_ok(igd_model_save_memory(m, 0, bytes, with, &size));
    ck_assert_igd_ok(igd_model_load_memory(bytes, size, NULL, &loaded));
    free(bytes);
    double losses[IGD_LOSS_COUNT];
    ck_assert_igd_ok(igd_model_train_step(loaded, IGD_NET_GLOBAL, train, IGD_PIXEL_U8, N, S, S, 1,
                                          0, 0, losses, IGD_LOSS_COUNT));
    ck_assert_igd_ok(igd_session_create(loaded, &s));
    float same[S * S];
    ck_assert_igd_ok(igd_session_heatmap(s, other, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, same));
    ck_assert_mem_eq(same, omap, sizeof same);
    ck_assert_igd_ok(igd_model_set_option_real(loaded, IGD_OPT_HEATMAP_GLOBAL_WEIGHT, 0.5));
    ck_assert_igd_ok(igd_session_heatmap(s, other, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, same));
    ck_assert(memcmp(same, omap, sizeof same) != 0);
    igd_session_free(s);
    igd_model_free(loaded);

    /* A wider radius compares with more positions: terms can only fall. */
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_MEMORY_RADIUS, 1000));
    double wide[4 * IGD_PART_COUNT];
    detect(m, other, 4, again, wide);
    int lower = 0;
    for (int i = 0; i < 4; i++) {
        const double *w = wide + i * IGD_PART_COUNT, *o = oparts + i * IGD_PART_COUNT;
        ck_assert_double_le(w[IGD_PART_LOCAL_CLASSIFIER], o[IGD_PART_LOCAL_CLASSIFIER] + 1e-9);
        lower += w[IGD_PART_LOCAL_CLASSIFIER] < o[IGD_PART_LOCAL_CLASSIFIER] - 1e-9;
        ck_assert_double_eq(w[IGD_PART_GLOBAL_CLASSIFIER], o[IGD_PART_GLOBAL_CLASSIFIER]);
    }
    ck_assert_int_gt(lower, 0);
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_MEMORY_RADIUS, 0));

    /* A memory smaller than the training set keeps memory_size latents per position. */
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, 3));
    estep_all(m, train, N);
    ck_assert_uint_eq(saved_size(m) - plain, 2 * (16 + 12) + 24 * 10 + 4 * 8 * (3 + 9 * 3));
    /* A coreset keeps memory_coreset of the sampled latents per position; the size in force at
     * begin holds until finish. */
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, 1000));
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_CORESET, 2));
    ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_LOCAL));
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_CORESET, 1));
    ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_LOCAL, train, IGD_PIXEL_U8, N, S, S, 1, 0, 0));
    ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_LOCAL));
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_CORESET, 2));
    ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_GLOBAL));
    ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_GLOBAL, train, IGD_PIXEL_U8, N, S, S, 1, 0, 0));
    ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_GLOBAL));
    ck_assert_uint_eq(saved_size(m) - plain, 2 * (16 + 12) + 24 * 10 + 4 * 8 * (2 + 9 * 2));
    /* The global memory keeps two training images: theirs are the classifier terms that vanish. */
    double kept[N], kparts[N * IGD_PART_COUNT];
    detect(m, train, N, kept, kparts);
    int vanish = 0;
    for (int i = 0; i < N; i++)
        vanish += fabs(kparts[i * IGD_PART_COUNT + IGD_PART_GLOBAL_CLASSIFIER]) <= 1e-4;
    ck_assert_int_eq(vanish, 2);
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_CORESET, 0));
    ck_assert_int_eq(igd_model_set_option_int(m, IGD_OPT_MEMORY_CORESET, -1),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, 3));
    estep_all(m, train, N);

    /* The grid and the limit an E-step began with hold until it finishes. */
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, 5));
    ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_LOCAL));
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_PATCH_STRIDE, 2));
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, 1));
    ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_LOCAL, train, IGD_PIXEL_U8, N, S, S, 1, 0, 0));
    ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_LOCAL));
    ck_assert_uint_eq(saved_size(m) - plain, 2 * (16 + 12) + 24 * 10 + 4 * 8 * (3 + 9 * 5));
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_PATCH_STRIDE, 8));

    /* memory_size 0: the next E-step drops the memory and the Gaussian scores return. */
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, 0));
    estep_all(m, train, N);
    ck_assert_uint_eq(saved_size(m), plain);
    detect(m, train, N, scores, NULL);
    ck_assert_mem_eq(scores, gauss, sizeof scores);

    /* Bounds of the options. */
    ck_assert_int_eq(igd_model_set_option_int(m, IGD_OPT_MEMORY_SIZE, -1),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_set_option_real(m, IGD_OPT_MEMORY_RADIUS, -1),
                     IGD_ERR_INVALID_ARGUMENT);
    free(train);
    free(other);
    igd_model_free(m);
}
END_TEST

/* One latent per position, sigma_min 0, no decoder: scales fall back to the spread and stay
 * positive, the file loads, the local heatmap needs no decoder. */
START_TEST(memory_edge_cases)
{
    igd_options *o = mt_tiny_options(IGD_NET_LOCAL);
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_SIGMA_MIN, 0));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_LAMBDA2, 0));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MEMORY_SIZE, 1));
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    igd_options_free(o);
    unsigned char *img = mt_images(3, S, S, 1, 5);
    ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_LOCAL));
    ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_LOCAL, img, IGD_PIXEL_U8, 3, S, S, 1, 0, 0));
    ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_LOCAL));
    size_t size = saved_size(m);
    unsigned char *bytes = malloc(size);
    ck_assert_igd_ok(igd_model_save_memory(m, 0, bytes, size, &size));
    igd_model *loaded;
    ck_assert_igd_ok(igd_model_load_memory(bytes, size, NULL, &loaded));
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(loaded, &s));
    float map[S * S];
    ck_assert_igd_ok(igd_session_heatmap(s, img + S * S, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, map));
    double score;
    ck_assert_igd_ok(
        igd_session_detect(s, img + S * S, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, &score, NULL, NULL, 0));
    ck_assert(isfinite(score) && score >= 0);
    for (int k = 0; k < S * S; k++)
        ck_assert(isfinite(map[k]) && map[k] >= 0);
    igd_session_free(s);
    igd_model_free(loaded);
    free(bytes);
    igd_model_free(m);

    /* Both models without decoders: at global weight 0 heatmaps run the local model alone (its
     * memory needs no decoder); any other weight needs the global model's reconstruction. */
    o = mt_tiny_options(IGD_NET_GLOBAL | IGD_NET_LOCAL);
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_LAMBDA2, 0));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MEMORY_SIZE, 2));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_HEATMAP_GLOBAL_WEIGHT, 0));
    ck_assert_igd_ok(igd_model_create(o, &m));
    igd_options_free(o);
    estep_all(m, img, 3);
    ck_assert_igd_ok(igd_session_create(m, &s));
    ck_assert_igd_ok(igd_session_heatmap(s, img + S * S, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, map));
    for (int k = 0; k < S * S; k++)
        ck_assert(isfinite(map[k]) && map[k] >= 0);
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_HEATMAP_GLOBAL_WEIGHT, 0.5));
    ck_assert_int_eq(igd_session_heatmap(s, img + S * S, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, map),
                     IGD_ERR_STATE);
    igd_session_free(s);
    igd_model_free(m);
    free(img);
}
END_TEST

/* igd_model_fit builds the memory (at its final E-step), deterministically, and calibrates its
 * threshold on memory scores. */
START_TEST(fit_builds_the_memory)
{
    unsigned char *img = mt_images(40, S, S, 1, 9);
    igd_dataset *ds;
    ck_assert_igd_ok(
        igd_dataset_from_pixels(img, IGD_PIXEL_U8, 40, S, S, 1, 0, 0, NULL, NULL, &ds));
    size_t sizes[3];
    unsigned char *bytes[3];
    double threshold[3];
    for (int k = 0; k < 3; k++) {
        igd_options *o = mt_tiny_options(IGD_NET_GLOBAL | IGD_NET_LOCAL);
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_ESTEP_INTERVAL, 1));
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_EPOCHS, 2));
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MEMORY_SIZE, k ? 1000 : 0));
        igd_model *m;
        ck_assert_igd_ok(igd_model_create(o, &m));
        igd_options_free(o);
        ck_assert_igd_ok(igd_model_fit(m, ds));
        ck_assert_igd_ok(igd_model_get_threshold(m, &threshold[k]));
        sizes[k] = saved_size(m);
        bytes[k] = malloc(sizes[k]);
        ck_assert_igd_ok(igd_model_save_memory(m, 0, bytes[k], sizes[k], &sizes[k]));
        igd_model_free(m);
    }
    /* 40 images less the held-out share (calibration_share 0.1), which a memory makes fit hold
     * out even for so few: 36 latents per position. */
    ck_assert_uint_eq(sizes[1] - sizes[0], 2 * (16 + 12) + 24 * 10 + 4 * 8 * (36 + 9 * 36));
    ck_assert_uint_eq(sizes[1], sizes[2]);
    ck_assert_double_ne(threshold[0], threshold[1]);
    ck_assert_mem_eq(bytes[1], bytes[2], sizes[1]);
    for (int k = 0; k < 3; k++)
        free(bytes[k]);
    igd_dataset_free(ds);
    free(img);
}
END_TEST

Suite *make_memory_suite(void)
{
    Suite *s = suite_create("memory");
    TCase *t = tcase_create("memory");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, reservoir_keeps_a_uniform_sample);
    tcase_add_test(t, terms_and_scales_match_brute_force);
    tcase_add_test(t, coreset_matches_farthest_point_selection);
    tcase_add_test(t, memory_scores_heatmaps_and_files);
    tcase_add_test(t, failed_finish_keeps_the_sample);
    tcase_add_test(t, memory_edge_cases);
    tcase_add_test(t, fit_builds_the_memory);
    suite_add_tcase(s, t);
    return s;
}

/* Bugs of the model code found by this work, written as failing tests before they were fixed
 * (docs/reliability.md, findings 5-7); each test states the correct behaviour. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rel.h"

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

static void set_option(unsigned char *f, size_t size, uint32_t key, uint64_t v)
{
    size_t s = rel_find_section(f, size, "OPTS");
    ck_assert_uint_gt(s, 0);
    uint32_t count = rel_get_u32(f + s + 16);
    for (uint32_t i = 0; i < count; i++) {
        size_t at = s + 20 + (size_t)i * 16;
        if (rel_get_u32(f + at) == key) {
            rel_put_u64(f + at + 8, v);
            return;
        }
    }
    ck_abort_msg("option %u not in the file", key);
}

/* Fixed (lib/model/model.c, mdl_create_limited): loading a model file whose options
 * describe a huge architecture defines every network (oneDNN primitive descriptors) before the
 * parameter bytes are compared with the file's size. A 76 KB file with global_size=1024
 * base_width=512 depth=6 latent_size=4096 hidden_size=65536 takes about 140 s and then returns
 * IGD_ERR_BACKEND; with global_size=1024 base_width=64 depth=2 hidden_size=65536 it takes about
 * 20 s before IGD_ERR_CORRUPT. Loading an untrusted file should reject both at once with
 * IGD_ERR_CORRUPT: compute the parameter count from the configuration before defining the
 * networks. */
START_TEST(test_huge_architecture_rejected_fast)
{
    static const uint64_t archs[2][5] = {{1024, 512, 6, 4096, 65536}, {1024, 64, 2, 8, 65536}};
    igd_model *m = rel_tiny_model(NULL, 0);
    size_t n;
    unsigned char *f = rel_save(m, 0, &n);
    igd_model_free(m);
    set_option(f, n, IGD_OPT_GLOBAL_SIZE, archs[_i][0]);
    set_option(f, n, IGD_OPT_BASE_WIDTH, archs[_i][1]);
    set_option(f, n, IGD_OPT_DEPTH, archs[_i][2]);
    set_option(f, n, IGD_OPT_LATENT_SIZE, archs[_i][3]);
    set_option(f, n, IGD_OPT_HIDDEN_SIZE, archs[_i][4]);
    rel_fix_trailer(f, n);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    igd_model *out = NULL;
    igd_status st = igd_model_load_memory(f, n, NULL, &out);
    double secs = seconds_since(&t0);
    ck_assert_msg(st == IGD_ERR_CORRUPT, "status %s (%s)", igd_status_string(st), igd_last_error());
    ck_assert_msg(secs < 1.0, "rejecting took %.1f s", secs);
    free(f);
}
END_TEST

/* Fixed (lib/model/model.c, the model's lock was made with default attributes): glibc's
 * default read/write lock prefers readers, so a mutating call (train step, save, ...) waits as
 * long as any detection holds the read lock. With three sessions detecting back to back on two
 * cores, 12 tiny training steps had done only 10 after 20000 detections each (a minute).
 * Initialise the lock with a pthread_rwlockattr_t of kind
 * PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, so that waiting writers block new readers. */
int rel_training_while_detecting(long pause_us, int max_calls);
START_TEST(test_training_not_starved_by_detection)
{
    /* A fair lock lets each step in after at most a few detections: 3000 are plenty. */
    int starved = rel_training_while_detecting(0, 3000);
    ck_assert_msg(starved < 0, "training had done only %d of 12 steps when detection gave up",
                  starved);
}
END_TEST

/* Fixed (lib/model/modelfile.c, read_options): an option key that appears twice in OPTS is
 * accepted (the last value wins), so such a file loads, and saves back to different bytes.
 * Found by fuzz-model (tests/fuzz/corpus/model/regress-stall-duplicate-options has base_width and
 * depth twice). Each key should appear at most once: IGD_ERR_CORRUPT otherwise. */
START_TEST(test_duplicate_option_rejected)
{
    igd_model *m = rel_tiny_model(NULL, 0);
    size_t n;
    unsigned char *f = rel_save(m, 0, &n);
    igd_model_free(m);
    size_t s = rel_find_section(f, n, "OPTS");
    ck_assert_uint_gt(s, 0);
    /* The first two entries are both integers (channels, nets): make the second a copy of the
     * first, key, type and value. */
    ck_assert_uint_eq(rel_get_u32(f + s + 20 + 4), rel_get_u32(f + s + 36 + 4));
    memcpy(f + s + 36, f + s + 20, 16);
    rel_fix_trailer(f, n);
    igd_model *out = NULL;
    igd_status st = igd_model_load_memory(f, n, NULL, &out);
    igd_model_free(out);
    free(f);
    ck_assert_msg(st == IGD_ERR_CORRUPT, "a duplicate option: %s", igd_status_string(st));
}
END_TEST

Suite *make_known_bugs_suite(void)
{
    Suite *s = suite_create("known_bugs");
    TCase *tc = tcase_create("huge_architecture");
    /* The slow cases are cut short: a timeout is a failure too. */
    tcase_set_timeout(tc, 5);
    tcase_add_loop_test(tc, test_huge_architecture_rejected_fast, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("duplicate_option");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_duplicate_option_rejected);
    suite_add_tcase(s, tc);
    tc = tcase_create("writer_starvation");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_training_not_starved_by_detection);
    suite_add_tcase(s, tc);
    return s;
}

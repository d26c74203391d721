/* The core helpers: checked sizes, errors, the random generator, the allocator hook. */
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "core/error.h"
#include "core/rng.h"
#include "testutil.h"

START_TEST(checked_sizes)
{
    size_t out;
    ck_assert(core_mul_size(1000, 1000, &out) && out == 1000000);
    ck_assert(!core_mul_size(SIZE_MAX / 2 + 1, 2, &out));
    ck_assert(!core_add_size(SIZE_MAX, 1, &out));
    ck_assert(!core_mul4_size(1u << 20, 1u << 20, 1u << 20, 1u << 20, &out));
    ck_assert(core_mul4_size(2, 3, 4, 5, &out) && out == 120);
    ck_assert_ptr_null(core_malloc_array(SIZE_MAX / 4, 8));
    ck_assert_ptr_null(core_calloc(SIZE_MAX / 4, 8));
}
END_TEST

START_TEST(errors_format_and_publish)
{
    core_err e = {0}, obj = {0};
    ck_assert_int_eq(core_fail(&e, IGD_ERR_CORRUPT, "bad %s at %d", "magic", 4), IGD_ERR_CORRUPT);
    ck_assert_str_eq(e.msg, "bad magic at 4");
    core_wrap(&e, "loading %s", "m.igd");
    ck_assert_str_eq(e.msg, "loading m.igd: bad magic at 4");
    ck_assert_int_eq(core_report(&obj, &e, e.status), IGD_ERR_CORRUPT);
    ck_assert_str_eq(igd_last_error(), "loading m.igd: bad magic at 4");
    ck_assert_str_eq(obj.msg, "loading m.igd: bad magic at 4");
    /* A status with no message of its own is described by its status string. */
    ck_assert_int_eq(core_report(NULL, NULL, IGD_ERR_OUT_OF_MEMORY), IGD_ERR_OUT_OF_MEMORY);
    ck_assert_str_eq(igd_last_error(), "out of memory");
    ck_assert_int_eq(core_report(NULL, NULL, IGD_OK), IGD_OK);
}
END_TEST

START_TEST(status_strings)
{
    for (int s = IGD_OK; s >= IGD_ERR_NUMERIC; s--)
        ck_assert_str_ne(igd_status_string((igd_status)s), "unknown status");
    ck_assert_str_eq(igd_status_string((igd_status)-999), "unknown status");
}
END_TEST

START_TEST(rng_is_deterministic_and_uniform)
{
    core_rng a, b;
    core_rng_seed(&a, 42);
    core_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(core_rng_next(&a), core_rng_next(&b));
    core_rng_seed(&b, 43);
    ck_assert_uint_ne(core_rng_next(&a), core_rng_next(&b));
    double sum = 0, sq = 0;
    int counts[7] = {0};
    for (int i = 0; i < 100000; i++) {
        double u = core_rng_uniform(&a);
        ck_assert(u >= 0 && u < 1);
        sum += u;
        double z = core_rng_normal(&a);
        sq += z * z;
        counts[core_rng_below(&a, 7)]++;
    }
    ck_assert_double_eq_tol(sum / 100000, 0.5, 0.01);
    ck_assert_double_eq_tol(sq / 100000, 1.0, 0.02);
    for (int k = 0; k < 7; k++)
        ck_assert_int_gt(counts[k], 13500);
    size_t perm[50];
    int seen[50] = {0};
    core_rng_permutation(&a, perm, 50);
    for (int i = 0; i < 50; i++)
        seen[perm[i]]++;
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(seen[i], 1);
}
END_TEST

START_TEST(allocator_hook_and_alignment)
{
    tu_alloc_install();
    long before = tu_live_allocations();
    void *p = core_malloc_aligned(1000);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 64, 0);
    ck_assert_int_eq(tu_live_allocations(), before + 1);
    core_free_aligned(p);
    ck_assert_int_eq(tu_live_allocations(), before);
    tu_fail_after(0);
    ck_assert_ptr_null(core_malloc(10));
    tu_fail_reset();
    char *s = core_strdup("libigd");
    ck_assert_str_eq(s, "libigd");
    core_free(s);
    /* All three or none. */
    ck_assert_int_eq(igd_set_allocator(NULL, NULL, (igd_free_fn)1, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_set_allocator(NULL, NULL, NULL, NULL), IGD_OK);
}
END_TEST

START_TEST(versions)
{
    ck_assert_uint_eq(igd_version_number(), IGD_VERSION_NUMBER);
    ck_assert_str_eq(igd_version_string(), IGD_VERSION_STRING);
    ck_assert_uint_eq(igd_abi_version(), IGD_ABI_VERSION);
    ck_assert_int_eq(IGD_CHECK_VERSION(), IGD_OK);
    ck_assert_int_eq(igd_check_version(IGD_ABI_VERSION + 1), IGD_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "ABI"));
}
END_TEST

Suite *make_core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *t = tcase_create("core");
    tcase_add_test(t, checked_sizes);
    tcase_add_test(t, errors_format_and_publish);
    tcase_add_test(t, status_strings);
    tcase_add_test(t, rng_is_deterministic_and_uniform);
    tcase_add_test(t, allocator_hook_and_alignment);
    tcase_add_test(t, versions);
    suite_add_tcase(s, t);
    return s;
}

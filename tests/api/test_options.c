/* The options API: defaults, bounds, types, names, parsing, and its error paths. */
#include <string.h>

#include "testutil.h"

START_TEST(defaults_and_roundtrip)
{
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    int64_t v;
    double r;
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_LATENT_SIZE, &v));
    ck_assert_int_eq(v, 128);
    ck_assert_igd_ok(igd_options_get_real(o, IGD_OPT_RHO, &r));
    ck_assert_double_eq(r, 0.15);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_BASE_WIDTH, 16));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_LAMBDA3, 0.25));
    igd_options *c;
    ck_assert_igd_ok(igd_options_copy(o, &c));
    ck_assert_igd_ok(igd_options_get_int(c, IGD_OPT_BASE_WIDTH, &v));
    ck_assert_int_eq(v, 16);
    ck_assert_igd_ok(igd_options_get_real(c, IGD_OPT_LAMBDA3, &r));
    ck_assert_double_eq(r, 0.25);
    /* A seed above 2^32 survives. */
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEED, 123456789012345ll));
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_SEED, &v));
    ck_assert_int_eq(v, 123456789012345ll);
    igd_options_free(c);
    igd_options_free(o);
    igd_options_free(NULL);
}
END_TEST

START_TEST(every_option_is_described)
{
    size_t n = igd_option_count();
    ck_assert_uint_ge(n, 50);
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    for (size_t i = 0; i < n; i++) {
        igd_option key;
        ck_assert_igd_ok(igd_option_at(i, &key));
        const char *name = igd_option_name(key);
        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(igd_option_help(key));
        igd_option found;
        ck_assert_igd_ok(igd_option_find(name, &found));
        ck_assert_int_eq(found, key);
        igd_option_type type;
        double lo, hi, def;
        int runtime;
        ck_assert_igd_ok(igd_option_info(key, &type, &lo, &hi, &def, &runtime));
        ck_assert(lo <= def && def <= hi);
        /* The default is what a fresh options object holds, and both bounds are accepted. */
        if (type == IGD_TYPE_INT) {
            int64_t v;
            ck_assert_igd_ok(igd_options_get_int(o, key, &v));
            ck_assert_int_eq(v, (int64_t)def);
            ck_assert_int_eq(igd_options_set_int(o, key, (int64_t)hi + 1),
                             IGD_ERR_INVALID_ARGUMENT);
            ck_assert_int_eq(igd_options_set_int(o, key, (int64_t)lo - 1),
                             IGD_ERR_INVALID_ARGUMENT);
            ck_assert_int_eq(igd_options_set_real(o, key, def), IGD_ERR_INVALID_ARGUMENT);
        } else {
            double v;
            ck_assert_igd_ok(igd_options_get_real(o, key, &v));
            ck_assert_double_eq(v, def);
            ck_assert_igd_ok(igd_options_set_real(o, key, hi));
            ck_assert_igd_ok(igd_options_set_real(o, key, lo));
            ck_assert_int_eq(igd_options_set_real(o, key, hi * 2 + 1), IGD_ERR_INVALID_ARGUMENT);
            ck_assert_int_eq(igd_options_set_int(o, key, 1), IGD_ERR_INVALID_ARGUMENT);
            ck_assert_igd_ok(igd_options_set_real(o, key, def));
        }
    }
    igd_options_free(o);
}
END_TEST

START_TEST(parse_by_name_number_and_enum)
{
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    int64_t v;
    double r;
    ck_assert_igd_ok(igd_options_parse(o, "rho", "0.3"));
    ck_assert_igd_ok(igd_options_get_real(o, IGD_OPT_RHO, &r));
    ck_assert_double_eq(r, 0.3);
    ck_assert_igd_ok(igd_options_parse(o, "classifier", "svdd"));
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_CLASSIFIER, &v));
    ck_assert_int_eq(v, IGD_CLASSIFIER_SVDD);
    ck_assert_igd_ok(igd_options_parse(o, "7", "24"));
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_BASE_WIDTH, &v));
    ck_assert_int_eq(v, 24);
    ck_assert_int_eq(igd_options_parse(o, "no_such_option", "1"), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(igd_options_parse(o, "rho", "0.3x"), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "rho"));
    ck_assert_int_eq(igd_options_parse(o, "base_width", "abc"), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_parse(o, "rho", "nan"), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_parse(o, "channels", "2"), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_parse(o, "msssim_window", "4"), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_parse(NULL, "rho", "1"), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_parse(o, NULL, "1"), IGD_ERR_INVALID_ARGUMENT);
    igd_options_free(o);
}
END_TEST

START_TEST(error_paths)
{
    igd_options *o;
    int64_t v;
    double r;
    igd_option key;
    ck_assert_int_eq(igd_options_create(NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_copy(NULL, &o), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(igd_options_create(&o));
    ck_assert_int_eq(igd_options_copy(o, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_set_int(NULL, IGD_OPT_SEED, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_set_int(o, (igd_option)9999, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_set_real(NULL, IGD_OPT_RHO, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_get_int(o, IGD_OPT_SEED, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_get_int(NULL, IGD_OPT_SEED, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_get_int(o, IGD_OPT_RHO, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_get_real(o, IGD_OPT_SEED, &r), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_get_real(NULL, IGD_OPT_RHO, &r), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_option_at(igd_option_count(), &key), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_option_at(0, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(igd_option_name((igd_option)9999));
    ck_assert_ptr_null(igd_option_help((igd_option)9999));
    ck_assert_int_eq(igd_option_find("nope", &key), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(igd_option_find(NULL, &key), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_option_info((igd_option)9999, NULL, NULL, NULL, NULL, NULL),
                     IGD_ERR_INVALID_ARGUMENT);
    igd_options_free(o);
}
END_TEST

START_TEST(presets)
{
    ck_assert_uint_eq(igd_preset_count(), 3);
    ck_assert_str_eq(igd_preset_name(0), "digits");
    ck_assert_ptr_nonnull(igd_preset_help(1));
    ck_assert_ptr_null(igd_preset_name(3));
    ck_assert_ptr_null(igd_preset_help(99));
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    int64_t v;
    double r;
    /* Every preset applies, and each makes a model. */
    for (size_t i = 0; i < igd_preset_count(); i++) {
        igd_options *p;
        ck_assert_igd_ok(igd_options_create(&p));
        ck_assert_igd_ok(igd_options_apply_preset(p, igd_preset_name(i)));
        igd_model *m;
        ck_assert_igd_ok(igd_model_create(p, &m));
        igd_model_free(m);
        igd_options_free(p);
    }
    /* Over the current values: keys the preset names change, the others stay. */
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEED, 42));
    ck_assert_igd_ok(igd_options_apply_preset(o, "TEXTURE"));
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_SEG_WIDTH, &v));
    ck_assert_int_gt(v, 0);
    ck_assert_igd_ok(igd_options_get_real(o, IGD_OPT_SEG_SCALE, &r));
    ck_assert_double_eq(r, 0.5);
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_SEED, &v));
    ck_assert_int_eq(v, 42);
    ck_assert_igd_ok(igd_options_apply_preset(o, "object"));
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_CHANNELS, &v));
    ck_assert_int_eq(v, 3);
    ck_assert_igd_ok(igd_options_apply_preset(o, "digits"));
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_SEG_WIDTH, &v));
    ck_assert_int_eq(v, 0);
    /* Errors leave the options unchanged. */
    ck_assert_int_eq(igd_options_apply_preset(o, "nope"), IGD_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "texture"));
    ck_assert_int_eq(igd_options_apply_preset(NULL, "digits"), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_options_apply_preset(o, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(igd_options_get_int(o, IGD_OPT_CHANNELS, &v));
    ck_assert_int_eq(v, 1);
    igd_options_free(o);
}
END_TEST

START_TEST(out_of_memory)
{
    tu_alloc_install();
    igd_options *o = (igd_options *)1;
    tu_fail_after(0);
    ck_assert_int_eq(igd_options_create(&o), IGD_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_null(o);
    tu_fail_reset();
    ck_assert_igd_ok(igd_options_create(&o));
    igd_options *c = (igd_options *)1;
    tu_fail_after(0);
    ck_assert_int_eq(igd_options_copy(o, &c), IGD_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_null(c);
    tu_fail_reset();
    igd_options_free(o);
    ck_assert_int_eq(tu_live_allocations(), 0);
    ck_assert_igd_ok(igd_set_allocator(NULL, NULL, NULL, NULL));
}
END_TEST

Suite *make_options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *t = tcase_create("options");
    tcase_add_test(t, defaults_and_roundtrip);
    tcase_add_test(t, every_option_is_described);
    tcase_add_test(t, parse_by_name_number_and_enum);
    tcase_add_test(t, error_paths);
    tcase_add_test(t, presets);
    tcase_add_test(t, out_of_memory);
    suite_add_tcase(s, t);
    return s;
}

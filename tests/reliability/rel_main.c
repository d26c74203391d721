/* The reliability test runner: Check suites chosen by name on the command line (or all), run in
 * forked mode so that every test starts with a fresh process (each may install its allocator). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *make_modelfile_matrix_suite(void);
Suite *make_alloc_failures_suite(void);
Suite *make_save_failures_suite(void);
Suite *make_concurrency_suite(void);
Suite *make_regressions_suite(void);
Suite *make_known_bugs_suite(void);
Suite *make_contract_suite(void);

static const struct {
    const char *name;
    Suite *(*make)(void);
} suites[] = {
    {"modelfile_matrix", make_modelfile_matrix_suite},
    {"alloc_failures", make_alloc_failures_suite},
    {"save_failures", make_save_failures_suite},
    {"concurrency", make_concurrency_suite},
    {"regressions", make_regressions_suite},
    {"known_bugs", make_known_bugs_suite},
    {"contract", make_contract_suite},
};

int main(int argc, char **argv)
{
    SRunner *runner = NULL;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp(argv[a], suites[i].name) == 0;
        if (!wanted)
            continue;
        if (!runner)
            runner = srunner_create(suites[i].make());
        else
            srunner_add_suite(runner, suites[i].make());
    }
    if (!runner) {
        fprintf(stderr, "no suite matches\n");
        return 2;
    }
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

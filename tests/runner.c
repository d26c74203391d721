/* The Check test runner: one suite per module, chosen by name on the command line (or all). Runs
 * in forked mode, so a crash is a failed test, not a dead runner. A test case that sets no
 * timeout of its own gets 120 s instead of Check's 4 s: sanitizer and valgrind builds on a busy
 * machine run tens of times slower, and meson's own timeout still bounds every suite.
 * CK_DEFAULT_TIMEOUT in the environment overrides it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

#define SUITE_ENTRY(name) {#name, make_##name##_suite},
static const struct {
    const char *name;
    Suite *(*make)(void);
} suites[] = {IGD_TEST_SUITES(SUITE_ENTRY)};
#undef SUITE_ENTRY

int main(int argc, char **argv)
{
    setenv("CK_DEFAULT_TIMEOUT", "120", 0);
    SRunner *runner = NULL;
    size_t count = sizeof suites / sizeof suites[0];
    for (size_t i = 0; i < count; i++) {
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

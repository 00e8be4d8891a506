/* testing.h -- the unit-test harness: CHECK macros and a main that runs the
 * TESTS list and prints "N passed, N failed" for tests/run.sh.
 *
 * A test file defines its test functions and then:
 *     TEST_LIST(test_a, test_b, ...)
 * or, when the cases share a setup and a teardown:
 *     TEST_LIST_FIXTURE(setup, teardown, test_a, test_b, ...)
 * Each test reads like a statement of the behaviour it pins down. A CHECK
 * that fails prints the file, line and expression, marks the test failed and
 * goes on, so one run shows every broken expectation. A REQUIRE that fails
 * does the same and then leaves the test: use it for what the rest of the
 * test needs (an engine, a file, a parsed model) -- never a bare "if (!x)
 * return;", which would make a broken setup look like a pass.
 *
 * Setup and teardown are not cases: they are not counted as passed. A
 * failed check in setup is one failed test and no case runs (there is
 * nothing to test them against); a failed check in teardown is one failed
 * test too. Naming a function setup or teardown in TEST_LIST is refused.
 */
#ifndef NIGHTJAR_TESTING_H
#define NIGHTJAR_TESTING_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_checks;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__,       \
                    __LINE__, #cond);                                      \
            t_failed_checks++;                                             \
        }                                                                  \
    } while (0)

#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long _a = (long long)(a), _b = (long long)(b);                \
        if (_a != _b) {                                                    \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n",   \
                    __FILE__, __LINE__, #a, #b, _a, _b);                   \
            t_failed_checks++;                                             \
        }                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                    \
    do {                                                                   \
        const char *_a = (a), *_b = (b);                                   \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                           \
            fprintf(stderr, "  %s:%d: %s == \"%s\" failed: got \"%s\"\n", \
                    __FILE__, __LINE__, #a, _b ? _b : "(null)",            \
                    _a ? _a : "(null)");                                   \
            t_failed_checks++;                                             \
        }                                                                  \
    } while (0)

/* for what the rest of a test needs: fails the test and returns from it */
#define REQUIRE(cond)                                                      \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "  %s:%d: REQUIRE(%s) failed, test stopped\n", \
                    __FILE__, __LINE__, #cond);                            \
            t_failed_checks++;                                             \
            return;                                                        \
        }                                                                  \
    } while (0)

typedef void (*test_fn)(void);

struct test_case {
    const char *name;
    test_fn fn;
};

static inline int run_tests(const char *file, const struct test_case *t,
                            int n, test_fn setup, test_fn teardown)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(t[i].name, "setup") == 0 ||
            strcmp(t[i].name, "teardown") == 0) {
            printf("FAIL %s is not a test case: use TEST_LIST_FIXTURE\n",
                   t[i].name);
            printf("%s: 0 passed, 1 failed\n", file);
            return 1;
        }
    }
    if (setup) {
        setup();
        if (t_failed_checks) {
            printf("FAIL setup (%d cases not run)\n", n);
            failed++;
            n = 0;
        }
    }
    for (int i = 0; i < n; i++) {
        int before = t_failed_checks;
        t[i].fn();
        if (t_failed_checks == before) {
            passed++;
            printf("ok   %s\n", t[i].name);
        } else {
            failed++;
            printf("FAIL %s\n", t[i].name);
        }
    }
    if (teardown) {
        int before = t_failed_checks;
        teardown();
        if (t_failed_checks != before) {
            printf("FAIL teardown\n");
            failed++;
        }
    }
    printf("%s: %d passed, %d failed\n", file, passed, failed);
    return failed ? 1 : 0;
}

#define TEST_ENTRY(fn) { #fn, fn },
#define TEST_MAIN(setup_fn, teardown_fn, ...)                              \
    int main(void)                                                         \
    {                                                                      \
        static const struct test_case cases[] = { TEST_FOR_EACH(__VA_ARGS__) }; \
        return run_tests(__FILE__, cases,                                  \
                         (int)(sizeof(cases) / sizeof(cases[0])),          \
                         setup_fn, teardown_fn);                           \
    }
#define TEST_LIST(...) TEST_MAIN(NULL, NULL, __VA_ARGS__)
#define TEST_LIST_FIXTURE(setup_fn, teardown_fn, ...)                      \
    TEST_MAIN(setup_fn, teardown_fn, __VA_ARGS__)

/* up to 30 tests per file */
#define TFE_1(a) TEST_ENTRY(a)
#define TFE_2(a, ...) TEST_ENTRY(a) TFE_1(__VA_ARGS__)
#define TFE_3(a, ...) TEST_ENTRY(a) TFE_2(__VA_ARGS__)
#define TFE_4(a, ...) TEST_ENTRY(a) TFE_3(__VA_ARGS__)
#define TFE_5(a, ...) TEST_ENTRY(a) TFE_4(__VA_ARGS__)
#define TFE_6(a, ...) TEST_ENTRY(a) TFE_5(__VA_ARGS__)
#define TFE_7(a, ...) TEST_ENTRY(a) TFE_6(__VA_ARGS__)
#define TFE_8(a, ...) TEST_ENTRY(a) TFE_7(__VA_ARGS__)
#define TFE_9(a, ...) TEST_ENTRY(a) TFE_8(__VA_ARGS__)
#define TFE_10(a, ...) TEST_ENTRY(a) TFE_9(__VA_ARGS__)
#define TFE_11(a, ...) TEST_ENTRY(a) TFE_10(__VA_ARGS__)
#define TFE_12(a, ...) TEST_ENTRY(a) TFE_11(__VA_ARGS__)
#define TFE_13(a, ...) TEST_ENTRY(a) TFE_12(__VA_ARGS__)
#define TFE_14(a, ...) TEST_ENTRY(a) TFE_13(__VA_ARGS__)
#define TFE_15(a, ...) TEST_ENTRY(a) TFE_14(__VA_ARGS__)
#define TFE_16(a, ...) TEST_ENTRY(a) TFE_15(__VA_ARGS__)
#define TFE_17(a, ...) TEST_ENTRY(a) TFE_16(__VA_ARGS__)
#define TFE_18(a, ...) TEST_ENTRY(a) TFE_17(__VA_ARGS__)
#define TFE_19(a, ...) TEST_ENTRY(a) TFE_18(__VA_ARGS__)
#define TFE_20(a, ...) TEST_ENTRY(a) TFE_19(__VA_ARGS__)
#define TFE_21(a, ...) TEST_ENTRY(a) TFE_20(__VA_ARGS__)
#define TFE_22(a, ...) TEST_ENTRY(a) TFE_21(__VA_ARGS__)
#define TFE_23(a, ...) TEST_ENTRY(a) TFE_22(__VA_ARGS__)
#define TFE_24(a, ...) TEST_ENTRY(a) TFE_23(__VA_ARGS__)
#define TFE_25(a, ...) TEST_ENTRY(a) TFE_24(__VA_ARGS__)
#define TFE_26(a, ...) TEST_ENTRY(a) TFE_25(__VA_ARGS__)
#define TFE_27(a, ...) TEST_ENTRY(a) TFE_26(__VA_ARGS__)
#define TFE_28(a, ...) TEST_ENTRY(a) TFE_27(__VA_ARGS__)
#define TFE_29(a, ...) TEST_ENTRY(a) TFE_28(__VA_ARGS__)
#define TFE_30(a, ...) TEST_ENTRY(a) TFE_29(__VA_ARGS__)
#define TFE_N(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14,  \
              _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26,   \
              _27, _28, _29, _30, N, ...) N
#define TEST_FOR_EACH(...)                                                 \
    TFE_N(__VA_ARGS__, TFE_30, TFE_29, TFE_28, TFE_27, TFE_26, TFE_25,      \
          TFE_24, TFE_23, TFE_22, TFE_21, TFE_20, TFE_19, TFE_18, TFE_17,   \
          TFE_16, TFE_15, TFE_14, TFE_13, TFE_12, TFE_11, TFE_10, TFE_9,    \
          TFE_8, TFE_7, TFE_6, TFE_5, TFE_4, TFE_3, TFE_2, TFE_1)(__VA_ARGS__)

#endif

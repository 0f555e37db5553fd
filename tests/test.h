/* test.h: a minimal harness for the C unit tests.
 * Exit codes follow automake: 0 pass, 77 skip, 99 hard error; any failed CHECK makes the
 * program exit 1 from test_done(). Every check prints what it compared on failure. */
#ifndef RZ_TEST_H
#define RZ_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

static int test_failures = 0;
static inline const char *test_errmsg(const rz_error *e) { return e ? e->msg : ""; }
static int test_checks = 0;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        test_checks++;                                                                        \
        if (!(cond)) {                                                                        \
            test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond);                  \
        }                                                                                     \
    } while (0)

#define CHECKF(cond, ...)                                                                     \
    do {                                                                                      \
        test_checks++;                                                                        \
        if (!(cond)) {                                                                        \
            test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond);                  \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
        }                                                                                     \
    } while (0)

/* A call that must succeed; prints the rz_error message otherwise. */
#define CHECK_OK(call, errp)                                                                  \
    do {                                                                                      \
        test_checks++;                                                                        \
        int rc_ = (call);                                                                     \
        if (rc_ != RZ_OK) {                                                                   \
            test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: FAIL: %s -> %s: %s\n", __FILE__, __LINE__, #call,         \
                    rz_status_name(rc_), test_errmsg(errp));                          \
        }                                                                                     \
    } while (0)

/* Setup that must succeed for the rest of the test to mean anything: exit 99 otherwise. */
#define REQUIRE(cond)                                                                         \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: HARD ERROR: %s\n", __FILE__, __LINE__, #cond);            \
            exit(99);                                                                         \
        }                                                                                     \
    } while (0)

static inline int test_done(const char *name)
{
    if (test_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, test_failures, test_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, test_checks);
    return 0;
}

/* The directory holding test fixtures: $srcdir/tests/data (set by make check). */
static inline const char *test_srcdir(void)
{
    const char *s = getenv("srcdir");
    return s ? s : ".";
}

#endif

/* env_cases.h: table-driven grading checks shared by the verifier-task tests. */
#ifndef RZ_ENV_CASES_H
#define RZ_ENV_CASES_H

#include "test.h"

/* One row: a completion and the rewards it must get (lang < 0: not checked). */
typedef struct {
    const char *completion;
    double acc, fmt, lang;
} env_case;

static inline rz_env *env_open(const char *spec)
{
    rz_env *e = NULL;
    rz_error err = {0};
    int rc = rz_env_create(&e, spec, &err);
    if (rc != RZ_OK) fprintf(stderr, "cannot create %s: %s\n", spec, err.msg);
    REQUIRE(rc == RZ_OK && e);
    return e;
}

/* An item made by hand: the grader must judge it from its strings alone. */
static inline rz_item env_fake_item(const char *prompt, const char *answer)
{
    rz_item it = {(char *)prompt, (char *)answer, 0, RZ_SPLIT_TEST};
    return it;
}

static inline void env_table(const rz_env *e, const rz_item *it, const env_case *c, int n)
{
    for (int i = 0; i < n; i++) {
        rz_rewards r;
        int rc = rz_env_grade(e, it, c[i].completion, strlen(c[i].completion), &r);
        CHECKF(rc == RZ_OK, "grade -> %d", rc);
        double acc = rz_rewards_get(&r, "accuracy"), fmt = rz_rewards_get(&r, "format");
        double lang = rz_rewards_get(&r, "language");
        CHECKF(fabs(acc - c[i].acc) < 1e-12 && fabs(fmt - c[i].fmt) < 1e-12 &&
                   (c[i].lang < 0 || fabs(lang - c[i].lang) < 1e-9),
               "%s | prompt '%s' | '%s': got acc %g fmt %g lang %g, want %g %g %g",
               rz_env_name(e), it->prompt, c[i].completion, acc, fmt, lang, c[i].acc, c[i].fmt,
               c[i].lang);
    }
}
#define ENV_TABLE(e, it, cases) env_table((e), (it), (cases), (int)(sizeof(cases) / sizeof *(cases)))

/* "<think>...</think> <answer>ANS</answer>" for a well-formed right or wrong answer. */
static inline void env_wrap(char *buf, size_t cap, const char *answer)
{
    snprintf(buf, cap, "<think>let me work it out</think> <answer>%s</answer>", answer);
}

/* Every item of the first n of each split grades its own reference answer as right. */
static inline void env_check_references(const rz_env *e, uint64_t seed, int n)
{
    for (int split = 0; split < 2; split++)
        for (int i = 0; i < n && i < (split ? rz_env_test_size(e) : n); i++) {
            rz_item it;
            rz_error err = {0};
            int rc = rz_env_item(e, seed, split, i, &it, &err);
            CHECKF(rc == RZ_OK, "%s item %d: %s", rz_env_name(e), i, err.msg);
            if (rc != RZ_OK) continue;
            char buf[600];
            env_wrap(buf, sizeof buf, it.answer);
            rz_rewards r;
            rz_env_grade(e, &it, buf, strlen(buf), &r);
            CHECKF(r.values[0] == 1.0 && r.values[1] == 1.0 && r.values[2] == 1.0,
                   "%s: '%s' -> '%s' graded %g %g %g", rz_env_name(e), it.prompt, it.answer,
                   r.values[0], r.values[1], r.values[2]);
            rz_item_free(&it);
        }
}

#endif

/* test_env_random.c: a random simulation over thousands of random items and completions
 * for every task: rewards in range, grading deterministic, items reproducible from
 * (seed, split, index), references right, and train/test disjoint in index and content. */
#include "env_cases.h"

static const char *const SPECS[] = {
    "arith", "arith(digits=1,test_size=50)", "countdown", "countdown(numbers=6,max_number=100)",
    "linear", "linear(fractions=0,both_sides=0)", "rpn_eval(loops=1)", "rpn_write",
    "reverse", "reverse(min_len=2,max_len=2,test_size=10)", "chain", "chain(min_terms=2,max_terms=3)",
};

/* A random completion: a concatenation of tags, the right answer, near-misses, junk. */
static size_t random_completion(rz_rng *rng, const char *answer, char *buf, size_t cap)
{
    static const char *const pieces[] = {"<think>", "</think>", "<answer>", "</answer>", " ", "\n",
                                         "<think", "answer>", "=", "x=", "(", ")", "-", "/", "0",
                                         "\xd1\x8d", "\xff", "dup", "to"};
    static const char alphabet[] = "0123456789+-*/=()x. ,?:abcdefghijklmnopqrstuvwxyz";
    size_t n = 0;
    if (cap >= 64 && rz_rng_below(rng, 2)) { /* half the time: well-formed, with a right or mutated answer */
        char inner[300];
        size_t k = random_completion(rng, answer, inner, sizeof inner / 2);
        inner[k] = '\0';
        int mutate = (int)rz_rng_below(rng, 3), l = (int)strlen(answer);
        char ans[300];
        snprintf(ans, sizeof ans, "%s", answer);
        if (mutate == 1 && l) ans[rz_rng_below(rng, (uint64_t)l)] = alphabet[rz_rng_below(rng, 12)];
        if (mutate == 2) snprintf(ans, sizeof ans, "%s%c", answer, alphabet[rz_rng_below(rng, 12)]);
        int w = snprintf(buf, cap, "<think>%s</think><answer>%s</answer>", inner, ans);
        return w < 0 ? 0 : (size_t)w < cap ? (size_t)w : cap - 1;
    }
    int parts = (int)rz_rng_below(rng, 14);
    for (int p = 0; p < parts; p++) {
        char tmp[300];
        int kind = (int)rz_rng_below(rng, 5);
        if (kind == 0) {
            snprintf(tmp, sizeof tmp, "%s", answer);
        } else if (kind == 1) {
            snprintf(tmp, sizeof tmp, "%s", answer);
            size_t l = strlen(tmp);
            if (l) tmp[rz_rng_below(rng, l)] = alphabet[rz_rng_below(rng, sizeof alphabet - 1)];
        } else if (kind == 2) {
            size_t l = rz_rng_below(rng, 12);
            for (size_t i = 0; i < l; i++) tmp[i] = alphabet[rz_rng_below(rng, sizeof alphabet - 1)];
            tmp[l] = '\0';
        } else if (kind == 3) {
            tmp[0] = (char)rz_rng_below(rng, 256);
            tmp[1] = '\0';
            if (tmp[0] == '\0') tmp[0] = 1;
        } else {
            snprintf(tmp, sizeof tmp, "%s", pieces[rz_rng_below(rng, sizeof pieces / sizeof *pieces)]);
        }
        size_t l = strlen(tmp);
        if (n + l >= cap) break;
        memcpy(buf + n, tmp, l);
        n += l;
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_range(const rz_rewards *r, const char *what)
{
    int ok = r->n == 3;
    for (int k = 0; k < r->n; k++) ok &= r->values[k] >= 0.0 && r->values[k] <= 1.0;
    CHECKF(ok, "%s: rewards out of range", what);
}

int main(void)
{
    rz_rng rng;
    rz_rng_seed(&rng, 2024);
    long graded = 0, right = 0;
    for (size_t s = 0; s < sizeof SPECS / sizeof *SPECS; s++) {
        rz_env *e = env_open(SPECS[s]);
        rz_error err = {0};
        const uint64_t seed = 77 + s;

        /* disjoint in content: no train prompt equals a test prompt */
        int64_t ntest = rz_env_test_size(e);
        char **test = calloc((size_t)ntest, sizeof *test);
        REQUIRE(test);
        for (int64_t i = 0; i < ntest; i++) {
            rz_item it;
            CHECK_OK(rz_env_item(e, seed, RZ_SPLIT_TEST, i, &it, &err), &err);
            test[i] = it.prompt;
            it.prompt = NULL;
            rz_item_free(&it);
            if (!test[i]) test[i] = strdup("");
        }
        qsort(test, (size_t)ntest, sizeof *test, cmp_str);
        int clashes = 0;
        for (int i = 0; i < 3000; i++) {
            rz_item it;
            CHECK_OK(rz_env_item(e, seed, RZ_SPLIT_TRAIN, i, &it, &err), &err);
            if (it.prompt && bsearch(&it.prompt, test, (size_t)ntest, sizeof *test, cmp_str)) clashes++;
            rz_item_free(&it);
        }
        CHECKF(clashes == 0, "%s: %d train prompts are test prompts", SPECS[s], clashes);
        for (int64_t i = 0; i < ntest; i++) free(test[i]);
        free(test);

        /* random items, random completions */
        for (int i = 0; i < 1500; i++) {
            int split = (int)rz_rng_below(&rng, 2);
            int64_t index = split ? (int64_t)rz_rng_below(&rng, (uint64_t)ntest)
                                  : (int64_t)(rz_rng_next(&rng) >> 2);
            rz_item it, again;
            if (rz_env_item(e, seed, split, index, &it, &err) != RZ_OK) {
                CHECKF(0, "%s: item %d/%lld: %s", SPECS[s], split, (long long)index, err.msg);
                continue;
            }
            CHECK_OK(rz_env_item(e, seed, split, index, &again, &err), &err);
            CHECK(again.prompt && strcmp(it.prompt, again.prompt) == 0 &&
                  strcmp(it.answer, again.answer) == 0);
            rz_item_free(&again);
            char buf[1200];
            env_wrap(buf, sizeof buf, it.answer);
            rz_rewards r, r2;
            CHECK(rz_env_grade(e, &it, buf, strlen(buf), &r) == RZ_OK);
            CHECKF(r.values[0] == 1 && r.values[1] == 1 && r.values[2] == 1, "%s: %s -> %s",
                   SPECS[s], it.prompt, it.answer);
            for (int k = 0; k < 6; k++) {
                size_t n = random_completion(&rng, it.answer, buf, sizeof buf);
                CHECK(rz_env_grade(e, &it, buf, n, &r) == RZ_OK);
                CHECK(rz_env_grade(e, &it, buf, n, &r2) == RZ_OK);
                check_range(&r, SPECS[s]);
                CHECK(memcmp(r.values, r2.values, sizeof r.values) == 0);
                graded++;
                right += r.values[0] == 1.0;
            }
            rz_item_free(&it);
        }
        rz_env_free(e);
    }
    printf("graded %ld random completions, %ld judged right\n", graded, right);
    return test_done("test_env_random");
}

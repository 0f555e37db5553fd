/* test_env_nasty.c: replays tests/data/nasty (the seed corpus of the fuzz targets) and a
 * few generated monsters against every grader: any bytes give rewards in [0, 1], the same
 * twice, and never a crash. Under --enable-sanitizers this is also a memory-safety test. */
#include <dirent.h>

#include "env_cases.h"

static const char *const SPECS[] = {
    "arith", "countdown", "countdown(numbers=6)", "linear", "rpn_eval(loops=1)",
    "rpn_write(max_tokens=64)", "reverse", "chain",
};
#define NSPECS (sizeof SPECS / sizeof *SPECS)

static long graded = 0;

static void grade_all(rz_env *const *envs, const rz_item *items, const char *text, size_t len,
                      const char *what)
{
    /* an exact-size copy, so that a sanitizer build catches any read past the end */
    char *data = malloc(len);
    REQUIRE(data || len == 0);
    if (len) memcpy(data, text, len);
    for (size_t s = 0; s < NSPECS; s++)
        for (int k = 0; k < 2; k++) {
            rz_rewards r, r2;
            int rc = rz_env_grade(envs[s], &items[2 * s + k], data, len, &r);
            int rc2 = rz_env_grade(envs[s], &items[2 * s + k], data, len, &r2);
            int ok = rc == RZ_OK && rc2 == RZ_OK && r.n == 3 &&
                     memcmp(r.values, r2.values, sizeof r.values) == 0;
            for (int i = 0; i < r.n; i++) ok &= r.values[i] >= 0.0 && r.values[i] <= 1.0;
            CHECKF(ok, "%s on %s (item %d)", what, SPECS[s], k);
            graded++;
        }
    free(data);
}

/* data, then the same framed so that it reaches the answer parser and the reasoning. */
static void grade_variants(rz_env *const *envs, const rz_item *items, const char *data, size_t len,
                           const char *name)
{
    grade_all(envs, items, data, len, name);
    size_t cap = len + 64;
    char *buf = malloc(cap);
    REQUIRE(buf);
    size_t n = (size_t)snprintf(buf, cap, "<think>x</think><answer>");
    memcpy(buf + n, data, len);
    n += len;
    memcpy(buf + n, "</answer>", 9);
    grade_all(envs, items, buf, n + 9, name);
    n = (size_t)snprintf(buf, cap, "<think>");
    memcpy(buf + n, data, len);
    n += len;
    memcpy(buf + n, "</think><answer>1</answer>", 26);
    grade_all(envs, items, buf, n + 26, name);
    free(buf);
}

/* Forged items: the file's text as the prompt and the answer of every task. */
static void forged(const char *data, size_t len, const char *name)
{
    char text[256];
    size_t n = len < sizeof text - 1 ? len : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    rz_item it = env_fake_item(text, text);
    for (size_t s = 0; s < NSPECS; s++) {
        rz_env *e = env_open(SPECS[s]);
        rz_rewards r;
        CHECKF(rz_env_grade(e, &it, data, len, &r) == RZ_OK, "%s forged on %s", name, SPECS[s]);
        for (int i = 0; i < r.n; i++) CHECK(r.values[i] >= 0.0 && r.values[i] <= 1.0);
        rz_env_free(e);
    }
    /* and as an environment spec */
    rz_env *e = NULL;
    rz_error err = {0};
    if (rz_env_create(&e, text, &err) == RZ_OK) rz_env_free(e);
}

int main(void)
{
    rz_env *envs[NSPECS];
    rz_item items[2 * NSPECS];
    rz_error err = {0};
    for (size_t s = 0; s < NSPECS; s++) {
        envs[s] = env_open(SPECS[s]);
        CHECK_OK(rz_env_item(envs[s], 1, RZ_SPLIT_TEST, 0, &items[2 * s], &err), &err);
        CHECK_OK(rz_env_item(envs[s], 1, RZ_SPLIT_TRAIN, 0, &items[2 * s + 1], &err), &err);
    }

    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/data/nasty", test_srcdir());
    DIR *d = opendir(dir);
    REQUIRE(d);
    int files = 0;
    for (struct dirent *ent; (ent = readdir(d));) {
        if (ent->d_name[0] == '.') continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        FILE *f = fopen(path, "rb");
        REQUIRE(f);
        size_t cap = 1 << 21, len;
        char *data = malloc(cap);
        REQUIRE(data);
        len = fread(data, 1, cap, f);
        fclose(f);
        grade_variants(envs, items, data, len, ent->d_name);
        forged(data, len, ent->d_name);
        free(data);
        files++;
    }
    closedir(d);
    CHECKF(files >= 20, "only %d corpus files in %s", files, dir);

    /* generated: too big to keep in the repository */
    size_t big = 1 << 20;
    char *m = malloc(big + 64);
    REQUIRE(m);
    rz_rng rng;
    rz_rng_seed(&rng, 1);
    for (size_t i = 0; i < big; i++) m[i] = (char)rz_rng_next(&rng);
    grade_all(envs, items, m, big, "1 MiB of random bytes");
    grade_all(envs, items, m, RZ_GRADE_MAX_BYTES, "64 KiB of random bytes");
    size_t n = RZ_GRADE_MAX_BYTES - 64;
    for (size_t i = 0; i + 8 <= n; i += 8) memcpy(m + i, "<answer>", 8);
    grade_variants(envs, items, m, n, "thousands of <answer>");
    for (size_t i = 0; i + 9 <= n; i += 9) memcpy(m + i, "</think> ", 9);
    grade_variants(envs, items, m, n, "thousands of </think>");
    memset(m, '(', n);
    grade_variants(envs, items, m, n, "deep parentheses");
    memset(m, '9', n);
    grade_variants(envs, items, m, n, "an enormous number");
    for (size_t i = 0; i + 2 <= n; i += 2) memcpy(m + i, "\xd0\xb6", 2);
    grade_variants(envs, items, m, n, "foreign letters");
    for (size_t i = 0; i + 4 <= n; i += 4) memcpy(m + i, "1 ( ", 4);
    grade_variants(envs, items, m, n, "open loops");
    free(m);

    for (size_t s = 0; s < NSPECS; s++) {
        rz_item_free(&items[2 * s]);
        rz_item_free(&items[2 * s + 1]);
        rz_env_free(envs[s]);
    }
    printf("graded %ld nasty inputs from %d files\n", graded, files);
    return test_done("test_env_nasty");
}

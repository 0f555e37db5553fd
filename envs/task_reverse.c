/* task_reverse.c: reverse a string of digits, "reverse 1234" -> "4321".
 *
 * The example task of docs/adding-an-env.md: one file, one line in envs/registry.c, one
 * test (tests/test_env_reverse.c). The answer must be exactly the reversed digits;
 * surrounding whitespace is already trimmed by the registry. */
#include <stdio.h>
#include <string.h>

#include "task.h"

typedef struct {
    long min_len, max_len;
} reverse;

static const char *const keys[] = {"min_len", "max_len", NULL};

static int create(void **state, const rz_spec *spec, rz_canon *canon, rz_error *err)
{
    reverse r;
    int rc;
    if ((rc = rz_task_int(spec, "min_len", 2, 1, 64, &r.min_len, canon, err)) ||
        (rc = rz_task_int(spec, "max_len", 6, r.min_len, 64, &r.max_len, canon, err)))
        return rc;
    reverse *s = rz_alloc(sizeof *s, "reverse state", err);
    if (!s) return RZ_ERR_NOMEM;
    *s = r;
    *state = s;
    return RZ_OK;
}

static void destroy(void *state) { rz_free(state); }

static int item(const void *state, rz_rng *rng, char *prompt, char *answer, rz_error *err)
{
    const reverse *r = state;
    long n = r->min_len + (long)rz_rng_below(rng, (uint64_t)(r->max_len - r->min_len + 1));
    char digits[65];
    for (long i = 0; i < n; i++) digits[i] = (char)('0' + rz_rng_below(rng, 10));
    for (long i = 0; i < n; i++) answer[i] = digits[n - 1 - i];
    answer[n] = '\0';
    snprintf(prompt, RZ_TASK_TEXT, "reverse %.*s", (int)n, digits);
    return RZ_OK;
}

static double check(const void *state, const rz_item *it, const char *ans, size_t len)
{
    /* the item may be forged: compare against its answer only as far as it really goes */
    if (!it->answer) return 0.0;
    size_t want = strnlen(it->answer, RZ_TASK_TEXT);
    return want > 0 && len == want && memcmp(ans, it->answer, len) == 0;
}

const rz_task_def rz_task_reverse = {
    .name = "reverse",
    .doc = "reverse: reverse a string of digits, prompt \"reverse 1234\", answer \"4321\"; "
           "min_len=2 (1..64), max_len=6 (min_len..64)",
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .item = item,
    .check = check,
};

/* task_chain.c: the sum of a chain of small numbers, "3+4+2+5=" -> "14".
 *
 * A chain has between min_terms and max_terms terms, each in 1..max_term. Summed at once
 * it is hard for a small model; summed step by step ("7+2+5 9+5 14") each step is one
 * easy fact, which is what makes it a scratchpad task for the R1-Zero experiment. The
 * truth is recomputed from the prompt, so a forged item's stored answer is never trusted;
 * the answer is an exact number ("14", "14.0", "28/2"). */
#include <stdio.h>
#include <string.h>

#include "task.h"

#define MAX_TERMS 32

typedef struct {
    long min_terms, max_terms, max_term, equals;
} chain;

static const char *const keys[] = {"min_terms", "max_terms", "max_term", "equals", NULL};

static int create(void **state, const rz_spec *spec, rz_canon *canon, rz_error *err)
{
    chain c;
    int rc;
    if ((rc = rz_task_int(spec, "min_terms", 4, 2, MAX_TERMS, &c.min_terms, canon, err)) ||
        (rc = rz_task_int(spec, "max_terms", 6, c.min_terms, MAX_TERMS, &c.max_terms, canon, err)) ||
        (rc = rz_task_int(spec, "max_term", 9, 1, 999, &c.max_term, canon, err)) ||
        (rc = rz_task_int(spec, "equals", 1, 0, 1, &c.equals, canon, err)))
        return rc;
    chain *s = rz_alloc(sizeof *s, "chain state", err);
    if (!s) return RZ_ERR_NOMEM;
    *s = c;
    *state = s;
    return RZ_OK;
}

static void destroy(void *state) { rz_free(state); }

static int item(const void *state, rz_rng *rng, char *prompt, char *answer, rz_error *err)
{
    (void)err;
    const chain *c = state;
    long n = c->min_terms + (long)rz_rng_below(rng, (uint64_t)(c->max_terms - c->min_terms + 1));
    long sum = 0;
    size_t used = 0;
    /* at most 32 terms of at most 3 digits plus '+': well inside RZ_TASK_TEXT */
    for (long i = 0; i < n; i++) {
        long t = 1 + (long)rz_rng_below(rng, (uint64_t)c->max_term);
        sum += t;
        used += (size_t)snprintf(prompt + used, RZ_TASK_TEXT - used, "%s%ld", i ? "+" : "", t);
    }
    snprintf(prompt + used, RZ_TASK_TEXT - used, "%s", c->equals ? "=" : "");
    snprintf(answer, RZ_TASK_TEXT, "%ld", sum);
    return RZ_OK;
}

/* The sum of the prompt "t+t+...+t=" ("t+t+...+t" when equals = 0; unsigned decimal terms,
 * nothing else), or 0 when the prompt is not of that form or overflows. */
static int prompt_sum(const char *prompt, int equals, int64_t *out)
{
    if (!prompt) return 0;
    size_t len = strnlen(prompt, RZ_TASK_TEXT), pos = 0;
    int64_t sum = 0;
    for (int terms = 0;; terms++) {
        int64_t t;
        if (terms >= MAX_TERMS || !rz_parse_uint(prompt, len, &pos, 18, &t) ||
            __builtin_add_overflow(sum, t, &sum))
            return 0;
        if (pos < len && prompt[pos] == '+') {
            pos++;
            continue;
        }
        if (terms < 1 || pos + (size_t)equals != len || (equals && prompt[pos] != '=')) return 0;
        *out = sum;
        return 1;
    }
}

static double check(const void *state, const rz_item *it, const char *ans, size_t len)
{
    const chain *c = state;
    int64_t sum;
    rz_q want, got;
    if (!prompt_sum(it->prompt, (int)c->equals, &sum) || !rz_q_make(&want, sum, 1)) return 0.0;
    return rz_q_parse(ans, len, &got) && rz_q_eq(got, want);
}

const rz_task_def rz_task_chain = {
    .name = "chain",
    .doc = "chain: the sum of a chain of small numbers, prompt \"3+4+2+5=\", answer \"14\"; "
           "min_terms=4 (2..32), max_terms=6 (min_terms..32), max_term=9 (1..999) the "
           "largest term (terms are 1..max_term), equals=1 (0: the prompt is \"3+4+2+5\", "
           "without the \"=\")",
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .item = item,
    .check = check,
};

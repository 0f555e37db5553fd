/* task_arith.c: multi-digit arithmetic, "12+35=" -> "47".
 *
 * Operands have between min_digits and digits digits (no leading zero); the operator is
 * drawn from ops. The answer is an exact number: "47", "+47", "47.0" and "94/2" are all
 * right, "47.5" or "47 48" are wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

typedef struct {
    long digits, min_digits;
    char ops[4]; /* a subset of "+-*" */
    int nops;
} arith;

static const char *const keys[] = {"digits", "min_digits", "ops", NULL};

static int create(void **state, const rz_spec *spec, rz_canon *canon, rz_error *err)
{
    arith a = {0};
    int rc;
    if ((rc = rz_task_int(spec, "digits", 3, 1, 9, &a.digits, canon, err)) != RZ_OK) return rc;
    if ((rc = rz_task_int(spec, "min_digits", 1, 1, a.digits, &a.min_digits, canon, err)) != RZ_OK)
        return rc;
    const char *ops = rz_spec_get(spec, "ops");
    if (!ops) ops = "add;sub;mul";
    char buf[128], canon_ops[32] = "";
    snprintf(buf, sizeof buf, "%s", ops);
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ';');
        if (next) *next++ = '\0';
        char op = strcmp(tok, "add") == 0 ? '+' : strcmp(tok, "sub") == 0 ? '-'
                : strcmp(tok, "mul") == 0 ? '*' : 0;
        if (!op)
            return rz_error_set(err, RZ_ERR_ARG,
                                "arith: ops entry '%s' is not one of add, sub, mul (e.g. ops=add;mul)",
                                tok);
        if (memchr(a.ops, op, (size_t)a.nops))
            return rz_error_set(err, RZ_ERR_ARG, "arith: ops lists '%s' twice", tok);
        a.ops[a.nops++] = op;
        strcat(canon_ops, canon_ops[0] ? ";" : "");
        strcat(canon_ops, tok);
    }
    rz_canon_add(canon, "ops", canon_ops);
    arith *s = rz_alloc(sizeof *s, "arith state", err);
    if (!s) return RZ_ERR_NOMEM;
    *s = a;
    *state = s;
    return RZ_OK;
}

static void destroy(void *state) { rz_free(state); }

static int64_t operand(const arith *a, rz_rng *rng)
{
    long nd = a->min_digits + (long)rz_rng_below(rng, (uint64_t)(a->digits - a->min_digits + 1));
    int64_t lo = 1;
    for (long i = 1; i < nd; i++) lo *= 10;
    if (nd == 1) return (int64_t)rz_rng_below(rng, 10); /* one digit: 0..9 */
    return lo + (int64_t)rz_rng_below(rng, (uint64_t)(9 * lo));
}

static int item(const void *state, rz_rng *rng, char *prompt, char *answer, rz_error *err)
{
    const arith *a = state;
    int64_t x = operand(a, rng), y = operand(a, rng);
    char op = a->ops[rz_rng_below(rng, (uint64_t)a->nops)];
    int64_t r = op == '+' ? x + y : op == '-' ? x - y : x * y; /* < 10^18: no overflow */
    snprintf(prompt, RZ_TASK_TEXT, "%lld%c%lld=", (long long)x, op, (long long)y);
    snprintf(answer, RZ_TASK_TEXT, "%lld", (long long)r);
    return RZ_OK;
}

static double check(const void *state, const rz_item *it, const char *ans, size_t len)
{
    rz_q want, got;
    if (!it->answer || !rz_q_parse(it->answer, strlen(it->answer), &want)) return 0.0;
    return rz_q_parse(ans, len, &got) && rz_q_eq(got, want);
}

const rz_task_def rz_task_arith = {
    .name = "arith",
    .doc = "arith: multi-digit arithmetic, prompt \"12+35=\", answer the exact result; "
           "digits=3 (1..9) most digits per operand, min_digits=1 (1..digits), "
           "ops=add;sub;mul (any of add, sub, mul separated by ';')",
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .item = item,
    .check = check,
};

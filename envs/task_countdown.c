/* task_countdown.c: reach a target from given numbers, "3 7 25 to 46" -> "25+3*7".
 *
 * The answer is an expression over + - * / and parentheses that uses every given number
 * exactly once (as a multiset: "3 3 7" needs both 3s) and no other number, optionally
 * followed by "=" and the target. Unary minus and juxtaposition are not expressions.
 * It is evaluated exactly in rationals (so 7/2*2 = 7); a division by zero or an int64
 * overflow anywhere makes it wrong. Bounds: parentheses nest at most MAX_DEPTH deep,
 * a literal has at most 9 digits, and parsing stops once more numbers than given appear,
 * so the work is linear in the answer's length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

#define MAX_NUMBERS 6
#define MAX_DEPTH 32

typedef struct {
    long numbers, max_number, min_target, max_target;
} countdown;

static const char *const keys[] = {"numbers", "max_number", "min_target", "max_target", NULL};

static int create(void **state, const rz_spec *spec, rz_canon *canon, rz_error *err)
{
    countdown c;
    int rc;
    if ((rc = rz_task_int(spec, "numbers", 4, 2, MAX_NUMBERS, &c.numbers, canon, err)) ||
        (rc = rz_task_int(spec, "max_number", 25, 2, 1000, &c.max_number, canon, err)) ||
        (rc = rz_task_int(spec, "min_target", 1, 0, 100000, &c.min_target, canon, err)) ||
        (rc = rz_task_int(spec, "max_target", 100, c.min_target, 100000, &c.max_target, canon, err)))
        return rc;
    countdown *s = rz_alloc(sizeof *s, "countdown state", err);
    if (!s) return RZ_ERR_NOMEM;
    *s = c;
    *state = s;
    return RZ_OK;
}

static void destroy(void *state) { rz_free(state); }

/* ---- generation: combine random pairs until one value is left */

static int item(const void *state, rz_rng *rng, char *prompt, char *answer, rz_error *err)
{
    const countdown *c = state;
    int n = (int)c->numbers;
    for (int attempt = 0; attempt < 1000; attempt++) {
        int64_t num[MAX_NUMBERS];
        rz_q val[MAX_NUMBERS] = {{0, 1}};
        char expr[MAX_NUMBERS][RZ_TASK_TEXT];
        for (int i = 0; i < n; i++) {
            num[i] = 1 + (int64_t)rz_rng_below(rng, (uint64_t)c->max_number);
            rz_q_make(&val[i], num[i], 1);
            snprintf(expr[i], sizeof expr[i], "%lld", (long long)num[i]);
        }
        int m = n, ok = 1;
        while (m > 1 && ok) {
            int i = (int)rz_rng_below(rng, (uint64_t)m);
            int j = (int)rz_rng_below(rng, (uint64_t)(m - 1));
            if (j >= i) j++;
            int op = (int)rz_rng_below(rng, 4);
            rz_q r;
            ok = op == 0 ? rz_q_add(&r, val[i], val[j]) : op == 1 ? rz_q_sub(&r, val[i], val[j])
               : op == 2 ? rz_q_mul(&r, val[i], val[j]) : rz_q_div(&r, val[i], val[j]);
            if (!ok) break;
            char buf[RZ_TASK_TEXT];
            /* parenthesise every combination; the reference need not be pretty */
            snprintf(buf, sizeof buf, "(%s%c%s)", expr[i], "+-*/"[op], expr[j]);
            val[i] = r;
            memcpy(expr[i], buf, sizeof buf);
            val[j] = val[m - 1];
            memcpy(expr[j], expr[m - 1], sizeof expr[j]);
            m--;
        }
        if (!ok || val[0].d != 1 || val[0].n < c->min_target || val[0].n > c->max_target) continue;
        /* drop the outer parentheses of the reference */
        size_t el = strlen(expr[0]);
        snprintf(answer, RZ_TASK_TEXT, "%.*s", (int)(el - 2), expr[0] + 1);
        size_t used = 0;
        for (int i = 0; i < n; i++)
            used += (size_t)snprintf(prompt + used, RZ_TASK_TEXT - used, "%lld ", (long long)num[i]);
        snprintf(prompt + used, RZ_TASK_TEXT - used, "to %lld", (long long)val[0].n);
        return RZ_OK;
    }
    return rz_error_set(err, RZ_ERR_STATE,
                        "countdown: no target in [%ld, %ld] found in 1000 tries: widen the range",
                        c->min_target, c->max_target);
}

/* ---- checking: a recursive-descent parser that evaluates as it goes */

typedef struct {
    const char *s;
    size_t len, pos;
    int depth;
    int64_t used[MAX_NUMBERS + 1]; /* the literals seen, in order */
    int nused, cap;                /* cap = how many numbers the prompt gave */
} parser;

static void skip(parser *p)
{
    while (p->pos < p->len && rz_is_space((unsigned char)p->s[p->pos])) p->pos++;
}

static int expr(parser *p, rz_q *out);

static int factor(parser *p, rz_q *out)
{
    skip(p);
    if (p->pos < p->len && p->s[p->pos] == '(') {
        if (++p->depth > MAX_DEPTH) return 0;
        p->pos++;
        if (!expr(p, out)) return 0;
        skip(p);
        if (p->pos >= p->len || p->s[p->pos] != ')') return 0;
        p->pos++;
        p->depth--;
        return 1;
    }
    int64_t v;
    if (!rz_parse_uint(p->s, p->len, &p->pos, 9, &v)) return 0;
    if (p->nused == p->cap) return 0; /* more numbers than given: wrong, stop early */
    p->used[p->nused++] = v;
    return rz_q_make(out, v, 1);
}

static int term(parser *p, rz_q *out)
{
    if (!factor(p, out)) return 0;
    for (;;) {
        skip(p);
        if (p->pos >= p->len || (p->s[p->pos] != '*' && p->s[p->pos] != '/')) return 1;
        char op = p->s[p->pos++];
        rz_q r;
        if (!factor(p, &r)) return 0;
        if (!(op == '*' ? rz_q_mul(out, *out, r) : rz_q_div(out, *out, r))) return 0;
    }
}

static int expr(parser *p, rz_q *out)
{
    if (!term(p, out)) return 0;
    for (;;) {
        skip(p);
        if (p->pos >= p->len || (p->s[p->pos] != '+' && p->s[p->pos] != '-')) return 1;
        char op = p->s[p->pos++];
        rz_q r;
        if (!term(p, &r)) return 0;
        if (!(op == '+' ? rz_q_add(out, *out, r) : rz_q_sub(out, *out, r))) return 0;
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Reads "n1 n2 ... to target" from the prompt; 0 when it is not of that shape. */
static int parse_prompt(const char *prompt, int64_t *num, int *n, int64_t *target)
{
    if (!prompt) return 0;
    size_t len = strnlen(prompt, RZ_TASK_TEXT), pos = 0;
    *n = 0;
    for (;;) {
        while (pos < len && prompt[pos] == ' ') pos++;
        if (pos + 2 <= len && memcmp(prompt + pos, "to", 2) == 0) break;
        if (*n == MAX_NUMBERS || !rz_parse_uint(prompt, len, &pos, 9, &num[*n])) return 0;
        (*n)++;
    }
    pos += 2;
    while (pos < len && prompt[pos] == ' ') pos++;
    return *n >= 1 && rz_parse_uint(prompt, len, &pos, 9, target) && pos == len;
}

static double check(const void *state, const rz_item *it, const char *ans, size_t len)
{
    int64_t num[MAX_NUMBERS], target;
    int n;
    if (!parse_prompt(it->prompt, num, &n, &target)) return 0.0;
    parser p = {.s = ans, .len = len, .cap = n};
    rz_q v;
    if (!expr(&p, &v)) return 0.0;
    skip(&p);
    if (p.pos < len && ans[p.pos] == '=') { /* "expr = target" */
        p.pos++;
        skip(&p);
        int64_t said;
        if (!rz_parse_uint(ans, len, &p.pos, 9, &said) || said != target) return 0.0;
        skip(&p);
    }
    if (p.pos != len || p.nused != n) return 0.0;
    qsort(num, (size_t)n, sizeof *num, cmp64);
    qsort(p.used, (size_t)n, sizeof *p.used, cmp64);
    if (memcmp(num, p.used, (size_t)n * sizeof *num) != 0) return 0.0;
    return v.d == 1 && v.n == target;
}

const rz_task_def rz_task_countdown = {
    .name = "countdown",
    .doc = "countdown: reach the target using each given number exactly once with + - * / "
           "and parentheses, prompt \"3 7 25 to 46\", answer \"25+3*7\" (optionally \"= 46\"); "
           "numbers=4 (2..6), max_number=25 (2..1000), min_target=1 (0..100000), "
           "max_target=100 (min_target..100000)",
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .item = item,
    .check = check,
};

/* task_linear.c: solve a linear equation for x, "3x+5=x-7" -> "-6".
 *
 * The equation is a*x + b = c*x + d with a != c. The answer is the exact value of x in any
 * equivalent form: "-6", "-12/2", "-6.0", "x=-6", "x = -12/2"; a fraction need not be
 * reduced ("3/6" is right for 1/2). Decimals are exact, so "0.33" is not 1/3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

typedef struct {
    long max_coef, max_const, fractions, both_sides;
} linear;

static const char *const keys[] = {"max_coef", "max_const", "fractions", "both_sides", NULL};

static int create(void **state, const rz_spec *spec, rz_canon *canon, rz_error *err)
{
    linear l;
    int rc;
    if ((rc = rz_task_int(spec, "max_coef", 9, 1, 1000, &l.max_coef, canon, err)) ||
        (rc = rz_task_int(spec, "max_const", 20, 1, 100000, &l.max_const, canon, err)) ||
        (rc = rz_task_int(spec, "fractions", 1, 0, 1, &l.fractions, canon, err)) ||
        (rc = rz_task_int(spec, "both_sides", 1, 0, 1, &l.both_sides, canon, err)))
        return rc;
    linear *s = rz_alloc(sizeof *s, "linear state", err);
    if (!s) return RZ_ERR_NOMEM;
    *s = l;
    *state = s;
    return RZ_OK;
}

static void destroy(void *state) { rz_free(state); }

static int64_t uniform(rz_rng *rng, long lo, long hi)
{
    return lo + (int64_t)rz_rng_below(rng, (uint64_t)(hi - lo + 1));
}

/* Appends "3x", "x", "-x", "+2x" (sign only when not first). */
static size_t put_x(char *buf, size_t used, int64_t k, int first)
{
    const char *sign = k < 0 ? "-" : first ? "" : "+";
    int64_t m = k < 0 ? -k : k;
    if (m == 1) return used + (size_t)snprintf(buf + used, RZ_TASK_TEXT - used, "%sx", sign);
    return used + (size_t)snprintf(buf + used, RZ_TASK_TEXT - used, "%s%lldx", sign, (long long)m);
}

static size_t put_const(char *buf, size_t used, int64_t k, int first)
{
    if (k == 0 && !first) return used;
    return used + (size_t)snprintf(buf + used, RZ_TASK_TEXT - used, first ? "%lld" : "%+lld",
                                   (long long)k);
}

static int item(const void *state, rz_rng *rng, char *prompt, char *answer, rz_error *err)
{
    const linear *l = state;
    int64_t a, b, c = 0, d;
    do a = uniform(rng, -l->max_coef, l->max_coef);
    while (a == 0);
    if (l->both_sides) {
        do c = uniform(rng, -l->max_coef, l->max_coef);
        while (c == a);
    }
    b = uniform(rng, -l->max_const, l->max_const);
    rz_q x;
    if (l->fractions) {
        d = uniform(rng, -l->max_const, l->max_const);
        rz_q_make(&x, d - b, a - c);
    } else {
        int64_t xi = uniform(rng, -l->max_const, l->max_const);
        d = b + (a - c) * xi; /* |.| <= 10^5 + 2000 * 10^5: no overflow */
        rz_q_make(&x, xi, 1);
    }
    size_t used = put_x(prompt, 0, a, 1);
    used = put_const(prompt, used, b, 0);
    used += (size_t)snprintf(prompt + used, RZ_TASK_TEXT - used, "=");
    if (c != 0) {
        used = put_x(prompt, used, c, 1);
        put_const(prompt, used, d, 0);
    } else {
        put_const(prompt, used, d, 1);
    }
    rz_q_format(x, answer, RZ_TASK_TEXT);
    return RZ_OK;
}

static double check(const void *state, const rz_item *it, const char *ans, size_t len)
{
    rz_q want, got;
    if (!it->answer || !rz_q_parse(it->answer, strlen(it->answer), &want)) return 0.0;
    /* an optional "x =" in front */
    size_t p = 0;
    if (len > 0 && ans[0] == 'x') {
        p = 1;
        while (p < len && rz_is_space((unsigned char)ans[p])) p++;
        if (p >= len || ans[p] != '=') return 0.0;
        p++;
        while (p < len && rz_is_space((unsigned char)ans[p])) p++;
    }
    return rz_q_parse(ans + p, len - p, &got) && rz_q_eq(got, want);
}

const rz_task_def rz_task_linear = {
    .name = "linear",
    .doc = "linear: solve a*x+b=c*x+d for x, prompt \"3x+5=x-7\", answer the exact value "
           "(\"-6\", \"x=-12/2\", \"1/2\" = \"3/6\" = \"0.5\"); max_coef=9 (1..1000), "
           "max_const=20 (1..100000), fractions=1 (0: integer solutions only), "
           "both_sides=1 (0: x on the left only)",
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .item = item,
    .check = check,
};

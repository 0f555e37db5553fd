/* exact.c: exact rationals and number parsing shared by the verifier tasks.
 *
 * Graders compare numbers exactly, never through floating point: 0.1 + 0.2 is 3/10. Every
 * step checks int64 overflow with the compiler builtins, and an overflow makes the
 * operation fail, which the tasks read as "wrong answer", so no input reaches UB. */
#include <stdio.h>
#include <string.h>

#include "task.h"

int rz_is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void rz_canon_add(rz_canon *canon, const char *key, const char *val)
{
    size_t used = strlen(canon->text);
    if (used >= sizeof canon->text) return;
    snprintf(canon->text + used, sizeof canon->text - used, "%s%s=%s", used ? "," : "", key, val);
}

int rz_task_int(const rz_spec *s, const char *key, long def, long lo, long hi, long *out,
                rz_canon *canon, rz_error *err)
{
    int rc = rz_spec_int(s, key, def, lo, hi, out, err);
    if (rc != RZ_OK) return rc;
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", *out);
    rz_canon_add(canon, key, buf);
    return RZ_OK;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    /* callers pass values > INT64_MIN, so negation is safe */
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int rz_q_make(rz_q *out, int64_t n, int64_t d)
{
    /* INT64_MIN has no positive counterpart: refuse it rather than special-case it */
    if (d == 0 || n == INT64_MIN || d == INT64_MIN) return 0;
    if (d < 0) {
        n = -n;
        d = -d;
    }
    int64_t g = gcd64(n, d);
    if (g == 0) g = 1;
    out->n = n / g;
    out->d = d / g;
    return 1;
}

int rz_q_add(rz_q *out, rz_q a, rz_q b)
{
    int64_t x, y, n, d;
    if (__builtin_mul_overflow(a.n, b.d, &x) || __builtin_mul_overflow(b.n, a.d, &y) ||
        __builtin_add_overflow(x, y, &n) || __builtin_mul_overflow(a.d, b.d, &d))
        return 0;
    return rz_q_make(out, n, d);
}

int rz_q_sub(rz_q *out, rz_q a, rz_q b)
{
    if (b.n == INT64_MIN) return 0;
    b.n = -b.n;
    return rz_q_add(out, a, b);
}

int rz_q_mul(rz_q *out, rz_q a, rz_q b)
{
    int64_t n, d;
    if (__builtin_mul_overflow(a.n, b.n, &n) || __builtin_mul_overflow(a.d, b.d, &d)) return 0;
    return rz_q_make(out, n, d);
}

int rz_q_div(rz_q *out, rz_q a, rz_q b)
{
    if (b.n == 0) return 0;
    rz_q inv = {b.d, b.n};
    return rz_q_mul(out, a, inv);
}

int rz_q_eq(rz_q a, rz_q b) { return a.n == b.n && a.d == b.d; }

void rz_q_format(rz_q a, char *buf, size_t cap)
{
    if (a.d == 1)
        snprintf(buf, cap, "%lld", (long long)a.n);
    else
        snprintf(buf, cap, "%lld/%lld", (long long)a.n, (long long)a.d);
}

int rz_parse_uint(const char *s, size_t len, size_t *pos, int max_digits, int64_t *out)
{
    size_t p = *pos;
    int64_t v = 0;
    int nd = 0;
    while (p < len && s[p] >= '0' && s[p] <= '9') {
        if (++nd > max_digits) return 0;
        v = v * 10 + (s[p] - '0'); /* max_digits <= 18 keeps this below 10^18 */
        p++;
    }
    if (nd == 0) return 0;
    *pos = p;
    *out = v;
    return 1;
}

/* [+-]?digits(.digits)? into a rational; *pos advanced past it. */
static int parse_decimal(const char *s, size_t len, size_t *pos, rz_q *out)
{
    size_t p = *pos;
    int neg = 0;
    if (p < len && (s[p] == '+' || s[p] == '-')) neg = s[p++] == '-';
    int64_t ip, fp = 0, scale = 1;
    if (!rz_parse_uint(s, len, &p, 18, &ip)) return 0;
    if (p < len && s[p] == '.') {
        size_t q = ++p;
        if (!rz_parse_uint(s, len, &p, 18, &fp)) return 0;
        for (size_t i = q; i < p; i++) scale *= 10;
    }
    int64_t n;
    if (__builtin_mul_overflow(ip, scale, &n) || __builtin_add_overflow(n, fp, &n)) return 0;
    if (!rz_q_make(out, neg ? -n : n, scale)) return 0;
    *pos = p;
    return 1;
}

int rz_q_parse(const char *s, size_t len, rz_q *out)
{
    size_t p = 0;
    rz_q a, b;
    if (!parse_decimal(s, len, &p, &a)) return 0;
    size_t q = p;
    while (q < len && rz_is_space((unsigned char)s[q])) q++;
    if (q < len && s[q] == '/') {
        q++;
        while (q < len && rz_is_space((unsigned char)s[q])) q++;
        if (!parse_decimal(s, len, &q, &b)) return 0;
        if (!rz_q_div(&a, a, b)) return 0;
        p = q;
    }
    if (p != len) return 0;
    *out = a;
    return 1;
}

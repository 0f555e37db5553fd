/* task.h: what a verifier task implements (internal; see docs/adding-an-env.md).
 *
 * A task is one C file defining `const rz_task_def rz_task_NAME = {...}` and one line in
 * the table of envs/registry.c. The registry does everything generic: spec parsing of
 * test_size, seeding, the train/test split, answer extraction, the format and language
 * rewards, bounds on the input. A task only draws items and judges an extracted answer. */
#ifndef RZ_TASK_H
#define RZ_TASK_H

#include "rlzero.h"

#define RZ_TASK_TEXT 256 /* capacity of an item's prompt and answer, NUL included */

/* The canonical parameter list a task builds while reading its spec ("digits=3,ops=add"). */
typedef struct {
    char text[256];
} rz_canon;

typedef struct {
    const char *name; /* registry name: lowercase letters, digits, '_' */
    const char *doc;  /* one line: what it asks, then each parameter with default and range */
    const char *const *keys; /* the parameters it accepts, NULL-terminated (test_size is added) */
    /* Reads parameters (validated, errors naming the key) into a malloc'd state and appends
     * each resolved "key=value" to canon. */
    int (*create)(void **state, const rz_spec *spec, rz_canon *canon, rz_error *err);
    void (*destroy)(void *state); /* NULL-safe */
    /* Draws one item from rng into prompt and answer (RZ_TASK_TEXT bytes each). */
    int (*item)(const void *state, rz_rng *rng, char *prompt, char *answer, rz_error *err);
    /* The accuracy of an extracted answer: ans[0..len) is trimmed, non-empty, printable
     * ASCII (plus tab/newline), at most RZ_ANSWER_MAX_BYTES and NOT NUL-terminated. The
     * item's strings may be anything (a caller can forge them): never trust them. Must
     * return a value in [0, 1] in time bounded by len. */
    double (*check)(const void *state, const rz_item *item, const char *ans, size_t len);
} rz_task_def;

/* ---- helpers shared by tasks (envs/exact.c) */

/* rz_spec_int plus appending "key=value" to canon. */
int rz_task_int(const rz_spec *s, const char *key, long def, long lo, long hi, long *out,
                rz_canon *canon, rz_error *err);
void rz_canon_add(rz_canon *canon, const char *key, const char *val);

/* An exact rational n/d with d > 0 and gcd(|n|, d) = 1. Every operation returns 0 on
 * overflow of int64 or division by zero (the caller then treats the answer as wrong). */
typedef struct {
    int64_t n, d;
} rz_q;

int rz_q_make(rz_q *out, int64_t n, int64_t d);
int rz_q_add(rz_q *out, rz_q a, rz_q b);
int rz_q_sub(rz_q *out, rz_q a, rz_q b);
int rz_q_mul(rz_q *out, rz_q a, rz_q b);
int rz_q_div(rz_q *out, rz_q a, rz_q b);
int rz_q_eq(rz_q a, rz_q b);
/* Writes "n" or "n/d" into buf. */
void rz_q_format(rz_q a, char *buf, size_t cap);
/* Parses the whole of s[0..len) as one number: [+-]digits, [+-]digits.digits or
 * [+-]digits/digits (spaces allowed around '/'), each digit run at most 18 digits.
 * Returns 1 and sets *out, or 0 (malformed, too long, zero denominator). */
int rz_q_parse(const char *s, size_t len, rz_q *out);
/* Parses an unsigned decimal of at most max_digits digits at s[*pos]; advances *pos. */
int rz_parse_uint(const char *s, size_t len, size_t *pos, int max_digits, int64_t *out);
int rz_is_space(int c); /* ' ', '\t', '\n', '\r' */

#endif

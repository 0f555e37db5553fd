/* task_rpn.c: "does this program produce this output", over a tiny stack language.
 *
 * Two tasks share one interpreter, mirroring R1's "does the code run" reward:
 *  - rpn_eval:  "run 3 4 + 2 *" -> "14"   (predict the output of a given program)
 *  - rpn_write: "write 46"      -> "5 9 * 1 +"  (write a program; the grader runs it)
 *
 * The language: tokens separated by whitespace.
 *   123            push a non-negative integer (at most 9 digits; rpn_write: one digit)
 *   + - * /        pop b, pop a, push a op b (/ truncates toward zero)
 *   dup swap drop over
 *   ( ... )        pop n (0..MAX_REPEAT) and run the body n times; nesting <= MAX_NEST
 * The output is the final stack, bottom to top, as integers separated by spaces.
 * A program fails (no output, accuracy 0) on stack underflow, a stack deeper than
 * MAX_STACK, division by zero, int64 overflow, a bad token or unbalanced parentheses, or
 * more than MAX_STEPS executed tokens. Nothing else can happen: the interpreter has no
 * I/O, no memory beyond fixed arrays, and the step budget bounds its time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

#define MAX_TOKENS 256
#define MAX_STACK 32
#define MAX_NEST 8
#define MAX_REPEAT 100
#define MAX_STEPS 10000

enum { LIT, ADD, SUB, MUL, DIV, DUP, SWAP, DROP, OVER, OPEN, CLOSE };

typedef struct {
    int kind;
    int64_t val; /* LIT: the value; OPEN/CLOSE: the index of the matching bracket */
} token;

typedef struct {
    int64_t v[MAX_STACK];
    int n;
} stack;

/* Tokenises s[0..len) into tok (at most cap tokens); 0 on any error. */
static int rpn_parse(const char *s, size_t len, int lit_digits, token *tok, int cap, int *ntok)
{
    static const struct {
        const char *word;
        int kind;
    } words[] = {{"+", ADD},     {"-", SUB},     {"*", MUL},     {"/", DIV},   {"dup", DUP},
                 {"swap", SWAP}, {"drop", DROP}, {"over", OVER}, {"(", OPEN}, {")", CLOSE}};
    int n = 0, open[MAX_NEST], depth = 0;
    size_t p = 0;
    for (;;) {
        while (p < len && rz_is_space((unsigned char)s[p])) p++;
        if (p == len) break;
        size_t b = p;
        while (p < len && !rz_is_space((unsigned char)s[p])) p++;
        if (n == cap) return 0;
        token t = {-1, 0};
        if (s[b] >= '0' && s[b] <= '9') {
            size_t q = b;
            if (!rz_parse_uint(s, p, &q, lit_digits, &t.val) || q != p) return 0;
            t.kind = LIT;
        } else {
            for (size_t w = 0; w < sizeof words / sizeof *words; w++)
                if (strlen(words[w].word) == p - b && memcmp(words[w].word, s + b, p - b) == 0)
                    t.kind = words[w].kind;
            if (t.kind < 0) return 0;
        }
        if (t.kind == OPEN) {
            if (depth == MAX_NEST) return 0;
            open[depth++] = n;
        } else if (t.kind == CLOSE) {
            if (depth == 0) return 0;
            int o = open[--depth];
            tok[o].val = n;
            t.val = o;
        }
        tok[n++] = t;
    }
    if (depth != 0) return 0;
    *ntok = n;
    return 1;
}

static int pop(stack *st, int64_t *x)
{
    if (st->n == 0) return 0;
    *x = st->v[--st->n];
    return 1;
}

static int push(stack *st, int64_t x)
{
    if (st->n == MAX_STACK) return 0;
    st->v[st->n++] = x;
    return 1;
}

/* Runs a parsed program; 1 and the final stack on success. */
static int rpn_run(const token *tok, int ntok, stack *st)
{
    struct {
        int start;
        int64_t left;
    } loop[MAX_NEST];
    int nloop = 0;
    st->n = 0;
    long steps = 0;
    for (int ip = 0; ip < ntok; ip++) {
        if (++steps > MAX_STEPS) return 0;
        const token *t = &tok[ip];
        int64_t a, b, r = 0;
        switch (t->kind) {
        case LIT:
            if (!push(st, t->val)) return 0;
            break;
        case ADD: case SUB: case MUL: case DIV:
            if (!pop(st, &b) || !pop(st, &a)) return 0;
            if (t->kind == ADD && __builtin_add_overflow(a, b, &r)) return 0;
            if (t->kind == SUB && __builtin_sub_overflow(a, b, &r)) return 0;
            if (t->kind == MUL && __builtin_mul_overflow(a, b, &r)) return 0;
            if (t->kind == DIV) {
                if (b == 0 || (a == INT64_MIN && b == -1)) return 0;
                r = a / b;
            }
            push(st, r);
            break;
        case DUP:
            if (st->n == 0 || !push(st, st->v[st->n - 1])) return 0;
            break;
        case SWAP:
            if (st->n < 2) return 0;
            a = st->v[st->n - 1];
            st->v[st->n - 1] = st->v[st->n - 2];
            st->v[st->n - 2] = a;
            break;
        case DROP:
            if (!pop(st, &a)) return 0;
            break;
        case OVER:
            if (st->n < 2 || !push(st, st->v[st->n - 2])) return 0;
            break;
        case OPEN:
            if (!pop(st, &a) || a < 0 || a > MAX_REPEAT) return 0;
            if (a == 0) {
                ip = (int)t->val; /* past the matching ')' */
            } else {
                loop[nloop].start = ip;
                loop[nloop++].left = a; /* nesting was bounded by the parser */
            }
            break;
        case CLOSE:
            if (--loop[nloop - 1].left > 0)
                ip = loop[nloop - 1].start;
            else
                nloop--;
            break;
        }
    }
    return 1;
}

/* Compares the program's output with an answer: integers separated by whitespace. */
static int output_matches(const stack *st, const char *ans, size_t len)
{
    size_t p = 0;
    int i = 0;
    for (;;) {
        while (p < len && rz_is_space((unsigned char)ans[p])) p++;
        if (p == len) break;
        int neg = 0;
        if (ans[p] == '-' || ans[p] == '+') neg = ans[p++] == '-';
        int64_t v;
        if (i == st->n || !rz_parse_uint(ans, len, &p, 18, &v)) return 0;
        if (p < len && !rz_is_space((unsigned char)ans[p])) return 0;
        if ((neg ? -v : v) != st->v[i++]) return 0;
    }
    return i == st->n && i > 0;
}

static void format_stack(const stack *st, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < st->n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, i ? " %lld" : "%lld", (long long)st->v[i]);
}

/* ------------------------------------------------------------------ rpn_eval */

typedef struct {
    long ops, max_literal, words, loops;
} rpn_eval;

static const char *const eval_keys[] = {"ops", "max_literal", "words", "loops", NULL};

static int eval_create(void **state, const rz_spec *spec, rz_canon *canon, rz_error *err)
{
    rpn_eval r;
    int rc;
    if ((rc = rz_task_int(spec, "ops", 3, 1, 12, &r.ops, canon, err)) ||
        (rc = rz_task_int(spec, "max_literal", 9, 1, 999, &r.max_literal, canon, err)) ||
        (rc = rz_task_int(spec, "words", 1, 0, 1, &r.words, canon, err)) ||
        (rc = rz_task_int(spec, "loops", 0, 0, 1, &r.loops, canon, err)))
        return rc;
    rpn_eval *s = rz_alloc(sizeof *s, "rpn_eval state", err);
    if (!s) return RZ_ERR_NOMEM;
    *s = r;
    *state = s;
    return RZ_OK;
}

static void destroy(void *state) { rz_free(state); }

static size_t append(char *buf, size_t used, const char *word)
{
    return used + (size_t)snprintf(buf + used, RZ_TASK_TEXT - used, "%s%s", used ? " " : "", word);
}

static int eval_item(const void *state, rz_rng *rng, char *prompt, char *answer, rz_error *err)
{
    const rpn_eval *r = state;
    for (int attempt = 0; attempt < 1000; attempt++) {
        char prog[RZ_TASK_TEXT] = "";
        size_t used = 0;
        int depth = 0, nops = 0, last_swap = 0;
        /* A random valid program: every push must later be consumed by a binary op, so a
         * push is allowed only while depth <= ops left; it ends at one value. */
        while (nops < r->ops || depth > 1) {
            int left = (int)r->ops - nops;
            const char *cand[8];
            int nc = 0;
            char lit[16];
            snprintf(lit, sizeof lit, "%llu",
                     (unsigned long long)(1 + rz_rng_below(rng, (uint64_t)r->max_literal)));
            if (depth < 4 && depth <= left) cand[nc++] = lit, cand[nc++] = lit;
            if (depth >= 2) cand[nc++] = "+", cand[nc++] = "-", cand[nc++] = "*";
            if (r->words && depth >= 1 && depth < 4 && depth < left) cand[nc++] = "dup";
            if (r->words && depth >= 2 && !last_swap) cand[nc++] = "swap"; /* never a no-op pair */
            if (r->words && depth >= 2 && depth < 4 && depth < left) cand[nc++] = "over";
            if (nc == 0) break;
            const char *w = cand[rz_rng_below(rng, (uint64_t)nc)];
            used = append(prog, used, w);
            last_swap = strcmp(w, "swap") == 0;
            if (w == lit || strcmp(w, "dup") == 0 || strcmp(w, "over") == 0) depth++;
            if (w[0] == '+' || w[0] == '-' || w[0] == '*') depth--, nops++;
        }
        if (r->loops && rz_rng_below(rng, 2)) {
            static const char *const bodies[] = {"2 *", "1 +", "3 +", "dup +", "1 -", "2 -"};
            char loop[32];
            snprintf(loop, sizeof loop, "%d ( %s )", 2 + (int)rz_rng_below(rng, 3),
                     bodies[rz_rng_below(rng, 6)]);
            used = append(prog, used, loop);
        }
        token tok[MAX_TOKENS];
        int ntok;
        stack st;
        if (!rpn_parse(prog, used, 9, tok, MAX_TOKENS, &ntok) || !rpn_run(tok, ntok, &st) ||
            st.n != 1 || st.v[0] > 1000000 || st.v[0] < -1000000)
            continue;
        snprintf(prompt, RZ_TASK_TEXT, "run %s", prog);
        format_stack(&st, answer, RZ_TASK_TEXT);
        return RZ_OK;
    }
    return rz_error_set(err, RZ_ERR_STATE, "rpn_eval: no valid program in 1000 tries");
}

static double eval_check(const void *state, const rz_item *it, const char *ans, size_t len)
{
    /* The grader runs the program itself rather than trusting the stored answer. */
    if (!it->prompt || strncmp(it->prompt, "run ", 4) != 0) return 0.0;
    token tok[MAX_TOKENS];
    int ntok;
    stack st;
    const char *prog = it->prompt + 4;
    if (!rpn_parse(prog, strnlen(prog, RZ_TASK_TEXT), 9, tok, MAX_TOKENS, &ntok) ||
        !rpn_run(tok, ntok, &st))
        return 0.0;
    return output_matches(&st, ans, len);
}

const rz_task_def rz_task_rpn_eval = {
    .name = "rpn_eval",
    .doc = "rpn_eval: predict the output (final stack) of a stack program, prompt "
           "\"run 3 4 + 2 *\", answer \"14\"; ops=3 (1..12) binary operators, max_literal=9 "
           "(1..999), words=1 (0: no dup/swap/over), loops=0 (1: may end with \"n ( body )\")",
    .keys = eval_keys,
    .create = eval_create,
    .destroy = destroy,
    .item = eval_item,
    .check = eval_check,
};

/* ----------------------------------------------------------------- rpn_write */

typedef struct {
    long min_target, max_target, max_tokens;
    unsigned char *cost; /* (max_target + 1): tokens of the shortest reference program */
} rpn_write;

static const char *const write_keys[] = {"min_target", "max_target", "max_tokens", NULL};

/* Shortest programs built from digits, "+ r" and "* y": cost[t] tokens for target t. */
static void write_costs(unsigned char *cost, long max)
{
    for (long t = 0; t <= max; t++) {
        int best = t <= 9 ? 1 : 255;
        for (long r = 1; t > 9 && r <= 9 && r < t; r++)
            if (cost[t - r] + 2 < best) best = cost[t - r] + 2;
        for (long y = 2; t > 9 && y <= 9; y++)
            if (t % y == 0 && cost[t / y] + 2 < best) best = cost[t / y] + 2;
        cost[t] = (unsigned char)(best > 255 ? 255 : best);
    }
}

static size_t write_program(const unsigned char *cost, long t, char *buf, size_t used)
{
    if (t <= 9) return used + (size_t)snprintf(buf + used, RZ_TASK_TEXT - used, "%ld", t);
    for (long y = 2; y <= 9; y++)
        if (t % y == 0 && cost[t / y] + 2 == cost[t]) {
            used = write_program(cost, t / y, buf, used);
            return used + (size_t)snprintf(buf + used, RZ_TASK_TEXT - used, " %ld *", y);
        }
    for (long r = 1; r <= 9; r++)
        if (cost[t - r] + 2 == cost[t]) {
            used = write_program(cost, t - r, buf, used);
            return used + (size_t)snprintf(buf + used, RZ_TASK_TEXT - used, " %ld +", r);
        }
    return used; /* unreachable: cost[t] came from one of the two */
}

static int write_create(void **state, const rz_spec *spec, rz_canon *canon, rz_error *err)
{
    rpn_write w = {0};
    int rc;
    if ((rc = rz_task_int(spec, "min_target", 10, 0, 10000, &w.min_target, canon, err)) ||
        (rc = rz_task_int(spec, "max_target", 100, w.min_target, 10000, &w.max_target, canon, err)) ||
        (rc = rz_task_int(spec, "max_tokens", 15, 1, 64, &w.max_tokens, canon, err)))
        return rc;
    w.cost = rz_alloc((size_t)w.max_target + 1, "rpn_write costs", err);
    if (!w.cost) return RZ_ERR_NOMEM;
    write_costs(w.cost, w.max_target);
    for (long t = w.min_target; t <= w.max_target; t++)
        if (w.cost[t] > w.max_tokens) {
            rc = rz_error_set(err, RZ_ERR_ARG,
                              "rpn_write: max_tokens=%ld is too small: target %ld needs %d tokens",
                              w.max_tokens, t, w.cost[t]);
            rz_free(w.cost);
            return rc;
        }
    rpn_write *s = rz_alloc(sizeof *s, "rpn_write state", err);
    if (!s) {
        rz_free(w.cost);
        return RZ_ERR_NOMEM;
    }
    *s = w;
    *state = s;
    return RZ_OK;
}

static void write_destroy(void *state)
{
    rpn_write *w = state;
    if (w) rz_free(w->cost);
    rz_free(w);
}

static int write_item(const void *state, rz_rng *rng, char *prompt, char *answer, rz_error *err)
{
    const rpn_write *w = state;
    long t = w->min_target + (long)rz_rng_below(rng, (uint64_t)(w->max_target - w->min_target + 1));
    snprintf(prompt, RZ_TASK_TEXT, "write %ld", t);
    write_program(w->cost, t, answer, 0);
    return RZ_OK;
}

static double write_check(const void *state, const rz_item *it, const char *ans, size_t len)
{
    const rpn_write *w = state;
    if (!it->prompt || strncmp(it->prompt, "write ", 6) != 0) return 0.0;
    size_t plen = strnlen(it->prompt, RZ_TASK_TEXT), pos = 6;
    int64_t target;
    if (!rz_parse_uint(it->prompt, plen, &pos, 9, &target) || pos != plen) return 0.0;
    token tok[64];
    int ntok;
    stack st;
    if (!rpn_parse(ans, len, 1, tok, (int)w->max_tokens, &ntok) || !rpn_run(tok, ntok, &st))
        return 0.0;
    return st.n == 1 && st.v[0] == target;
}

const rz_task_def rz_task_rpn_write = {
    .name = "rpn_write",
    .doc = "rpn_write: write a stack program (one-digit literals, + - * / dup swap drop over, "
           "n ( body )) whose output is the target, prompt \"write 46\", answer \"5 9 * 1 +\"; "
           "min_target=10 (0..10000), max_target=100 (min_target..10000), "
           "max_tokens=15 (1..64; must fit the hardest target)",
    .keys = write_keys,
    .create = write_create,
    .destroy = write_destroy,
    .item = write_item,
    .check = write_check,
};

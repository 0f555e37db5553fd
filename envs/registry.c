/* registry.c: the verifier-task registry and everything tasks share.
 *
 * A task (task.h) only draws items and judges an extracted answer. Here: the table of
 * tasks, spec handling (plus the generic test_size), seeding and the split, and the
 * rules applied identically to every task: the completion length bound, answer
 * extraction, the format reward and the language reward (documented in rlzero.h and
 * docs/adding-an-env.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

extern const rz_task_def rz_task_arith, rz_task_countdown, rz_task_linear, rz_task_rpn_eval,
    rz_task_rpn_write, rz_task_reverse, rz_task_chain;

/* The registry: adding a task is one line here. */
static const rz_task_def *const tasks[] = {
    &rz_task_arith,
    &rz_task_countdown,
    &rz_task_linear,
    &rz_task_rpn_eval,
    &rz_task_rpn_write,
    &rz_task_reverse,
    &rz_task_chain,
};
#define NTASKS ((int)(sizeof tasks / sizeof *tasks))

#define DEFAULT_TEST_SIZE 500
/* A prompt is held out when its hash falls in 1 of TEST_BUCKETS buckets; a split draws
 * until it gets a prompt of its own side, giving up after MAX_DRAWS (a tiny item space). */
#define TEST_BUCKETS 8
#define MAX_DRAWS 256

struct rz_env {
    const rz_task_def *def;
    void *state;
    int64_t test_size;
    uint64_t name_hash; /* keys the RNG streams so that two tasks never share draws */
    char name[320];
};

static const rz_task_def *find_task(const char *name)
{
    for (int i = 0; i < NTASKS; i++)
        if (strcmp(tasks[i]->name, name) == 0) return tasks[i];
    return NULL;
}

/* FNV-1a finished with murmur3's fmix64: plain FNV leaves its high bits poorly mixed for
 * strings that differ only at the end ("write 46" vs "write 47"), which skews a split. */
static uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

int rz_envs_list(const char **names, int cap)
{
    for (int i = 0; names && i < NTASKS && i < cap; i++) names[i] = tasks[i]->name;
    return NTASKS;
}

const char *rz_env_describe(const char *name)
{
    const rz_task_def *d = name ? find_task(name) : NULL;
    return d ? d->doc : NULL;
}

void rz_item_free(rz_item *it)
{
    if (!it) return;
    free(it->prompt);
    free(it->answer);
    memset(it, 0, sizeof *it);
}

int rz_env_create(rz_env **out, const char *spec, rz_error *err)
{
    *out = NULL;
    rz_spec s;
    int rc = rz_spec_parse(&s, spec, err);
    if (rc != RZ_OK) return rc;
    const rz_task_def *def = find_task(s.name);
    if (!def) {
        char list[256] = "";
        size_t used = 0;
        for (int i = 0; i < NTASKS && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     tasks[i]->name);
        return rz_error_set(err, RZ_ERR_ARG, "unknown environment '%s' (known: %s)", s.name, list);
    }
    const char *allowed[RZ_SPEC_MAX + 2];
    int na = 0;
    for (const char *const *k = def->keys; k && *k && na < RZ_SPEC_MAX; k++) allowed[na++] = *k;
    allowed[na++] = "test_size";
    allowed[na] = NULL;
    if ((rc = rz_spec_check_keys(&s, allowed, err)) != RZ_OK) return rc;

    rz_canon canon = {{0}};
    void *state = NULL;
    if ((rc = def->create(&state, &s, &canon, err)) != RZ_OK) return rc;
    long test_size;
    if ((rc = rz_task_int(&s, "test_size", DEFAULT_TEST_SIZE, 0, 1000000000L, &test_size, &canon,
                          err)) != RZ_OK) {
        def->destroy(state);
        return rc;
    }
    rz_env *e = rz_alloc(sizeof *e, "an environment", err);
    if (!e) {
        def->destroy(state);
        return RZ_ERR_NOMEM;
    }
    e->def = def;
    e->state = state;
    e->test_size = test_size;
    e->name_hash = text_hash(def->name, strlen(def->name));
    snprintf(e->name, sizeof e->name, "%s(%s)", def->name, canon.text);
    *out = e;
    return RZ_OK;
}

void rz_env_free(rz_env *e)
{
    if (!e) return;
    if (e->def) e->def->destroy(e->state);
    rz_free(e);
}

const char *rz_env_name(const rz_env *e) { return e ? e->name : NULL; }
int64_t rz_env_test_size(const rz_env *e) { return e ? e->test_size : 0; }

static int held_out_hash(const char *prompt, size_t len)
{
    return (text_hash(prompt, len) >> 32) % TEST_BUCKETS == 0;
}

int rz_env_held_out(const rz_env *e, const char *prompt, size_t len)
{
    (void)e; /* one rule for every task today; the env keeps the door open for others */
    return prompt && held_out_hash(prompt, len);
}

int rz_env_item(const rz_env *e, uint64_t seed, int split, int64_t index, rz_item *out,
                rz_error *err)
{
    memset(out, 0, sizeof *out);
    if (!e) return rz_error_set(err, RZ_ERR_ARG, "env is NULL");
    if (split != RZ_SPLIT_TRAIN && split != RZ_SPLIT_TEST)
        return rz_error_set(err, RZ_ERR_ARG, "%s: split %d is neither train (0) nor test (1)",
                            e->def->name, split);
    if (index < 0 || (split == RZ_SPLIT_TEST && index >= e->test_size) ||
        (split == RZ_SPLIT_TRAIN && index > INT64_MAX - e->test_size))
        return rz_error_set(err, RZ_ERR_ARG, "%s: index %lld is outside the %s split [0, %lld)",
                            e->def->name, (long long)index, split ? "test" : "train",
                            (long long)(split ? e->test_size : INT64_MAX - e->test_size));
    int64_t global = split == RZ_SPLIT_TEST ? index : e->test_size + index;
    rz_rng rng;
    rz_rng_stream(&rng, seed, (uint64_t)global, e->name_hash, 0);
    char prompt[RZ_TASK_TEXT], answer[RZ_TASK_TEXT];
    for (int draw = 0; draw < MAX_DRAWS; draw++) {
        prompt[0] = answer[0] = '\0';
        int rc = e->def->item(e->state, &rng, prompt, answer, err);
        if (rc != RZ_OK) return rc;
        prompt[RZ_TASK_TEXT - 1] = answer[RZ_TASK_TEXT - 1] = '\0';
        int is_test = held_out_hash(prompt, strlen(prompt));
        if (is_test != (split == RZ_SPLIT_TEST)) continue;
        out->prompt = strdup(prompt);
        out->answer = strdup(answer);
        if (!out->prompt || !out->answer) {
            rz_item_free(out);
            return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate an item", e->def->name);
        }
        out->index = index;
        out->split = split;
        return RZ_OK;
    }
    return rz_error_set(err, RZ_ERR_STATE,
                        "%s: no %s item in %d draws: the item space is too small to hold out "
                        "a test split (raise the difficulty parameters)",
                        e->name, split ? "test" : "train", MAX_DRAWS);
}

/* ------------------------------------------------------------- grading rules */

static const char *const TAGS[4] = {"<think>", "</think>", "<answer>", "</answer>"};
enum { T_THINK, T_ETHINK, T_ANSWER, T_EANSWER };

/* The tag starting at s[i], or -1. */
static int tag_at(const char *s, size_t len, size_t i)
{
    if (i >= len || s[i] != '<') return -1;
    for (int t = 0; t < 4; t++) {
        size_t n = strlen(TAGS[t]);
        if (len - i >= n && memcmp(s + i, TAGS[t], n) == 0) return t;
    }
    return -1;
}

/* The first occurrence of tag t in s[from, to), or to. */
static size_t find_tag(const char *s, size_t from, size_t to, int t)
{
    size_t n = strlen(TAGS[t]);
    for (size_t i = from; i + n <= to; i++)
        if (s[i] == '<' && memcmp(s + i, TAGS[t], n) == 0) return i;
    return to;
}

static int has_any_tag(const char *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (tag_at(s, to, i) >= 0) return 1;
    return 0;
}

static size_t skip_ws(const char *s, size_t i, size_t len)
{
    while (i < len && rz_is_space((unsigned char)s[i])) i++;
    return i;
}

/* Length of the well-formed UTF-8 sequence at s[i] (1 for ASCII) and its code point, or
 * 0 when the bytes there are not valid UTF-8 (overlong, surrogate, truncated, > U+10FFFF). */
static int utf8_at(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned c = s[i];
    int n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len - i < (size_t)n) return 0;
    for (int k = 1; k < n; k++) {
        if ((s[i + k] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i + k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

/* A non-ASCII code point that is not obviously punctuation, a symbol or a space: letters
 * of another script, for the language reward. Without Unicode tables this is a
 * deliberate over-approximation (CJK, Cyrillic, accented Latin... all count). */
static int foreign_letter(uint32_t cp)
{
    if (cp < 0xc0) return 0;                         /* Latin-1 controls, punctuation */
    if (cp == 0xd7 || cp == 0xf7) return 0;          /* multiplication, division signs */
    if (cp >= 0x2000 && cp <= 0x2bff) return 0;      /* punctuation, arrows, math, shapes */
    if (cp >= 0x3000 && cp <= 0x303f) return 0;      /* CJK punctuation */
    if (cp >= 0xfe00 && cp <= 0xfe0f) return 0;      /* variation selectors */
    if (cp >= 0xff00 && cp <= 0xff20) return 0;      /* fullwidth punctuation, digits */
    if (cp >= 0x1f000 && cp <= 0x1faff) return 0;    /* emoji and pictographs */
    return 1;
}

/* Counts ASCII letters and foreign letters in s[from, to), skipping the four tags. */
static void count_letters(const char *s, size_t from, size_t to, long *ascii, long *foreign)
{
    const unsigned char *u = (const unsigned char *)s;
    *ascii = *foreign = 0;
    size_t i = from;
    while (i < to) {
        int t = tag_at(s, to, i);
        if (t >= 0) {
            i += strlen(TAGS[t]);
            continue;
        }
        uint32_t cp;
        int n = utf8_at(u, to, i, &cp);
        if (n == 0) {
            (*foreign)++;
            i++;
            continue;
        }
        if (n == 1)
            *ascii += (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
        else
            *foreign += foreign_letter(cp);
        i += (size_t)n;
    }
}

double rz_language_mixing(const char *text, size_t len)
{
    if (!text) return 0.0;
    long a, f;
    count_letters(text, 0, len, &a, &f);
    return a + f ? (double)f / (double)(a + f) : 0.0;
}

static int format_ok(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = utf8_at(u, len, i, &cp);
        if (n == 0 || (cp < 0x20 && !rz_is_space((int)cp)) || cp == 0x7f) return 0;
        i += (size_t)n;
    }
    size_t p = skip_ws(s, 0, len);
    if (tag_at(s, len, p) == T_THINK) p += strlen(TAGS[T_THINK]);
    size_t et = find_tag(s, p, len, T_ETHINK);
    if (et == len || has_any_tag(s, p, et)) return 0;
    p = skip_ws(s, et + strlen(TAGS[T_ETHINK]), len);
    if (tag_at(s, len, p) != T_ANSWER) return 0;
    p += strlen(TAGS[T_ANSWER]);
    size_t ea = find_tag(s, p, len, T_EANSWER);
    if (ea == len || has_any_tag(s, p, ea)) return 0;
    if (skip_ws(s, p, ea) == ea) return 0; /* empty answer */
    return skip_ws(s, ea + strlen(TAGS[T_EANSWER]), len) == len;
}

/* The answer region's text per the extraction rule; returns 0 when there is none. */
static int extract_answer(const char *s, size_t len, size_t *a, size_t *b)
{
    size_t from = 0, last_et = len, last_ans = len;
    int any_think = 0;
    for (size_t i = 0; i < len; i++) {
        int t = tag_at(s, len, i);
        if (t == T_THINK || t == T_ETHINK) any_think = 1;
        if (t == T_ETHINK) last_et = i;
    }
    if (last_et < len)
        from = last_et + strlen(TAGS[T_ETHINK]);
    else if (any_think)
        return 0; /* thinking never closed: everything is reasoning */
    for (size_t i = from; i < len; i++)
        if (tag_at(s, len, i) == T_ANSWER) last_ans = i;
    if (last_ans == len) return 0;
    size_t start = last_ans + strlen(TAGS[T_ANSWER]);
    size_t end = find_tag(s, start, len, T_EANSWER);
    if (end == len) return 0;
    *a = start;
    *b = end;
    return 1;
}

/* The reasoning text's range for the language reward. */
static void reasoning_range(const char *s, size_t len, size_t *a, size_t *b)
{
    size_t last_et = len, last_ans = len;
    for (size_t i = 0; i < len; i++) {
        int t = tag_at(s, len, i);
        if (t == T_ETHINK) last_et = i;
        if (t == T_ANSWER) last_ans = i;
    }
    *a = 0;
    *b = last_et < len ? last_et : last_ans;
}

/* The script of the prompt: 1 when its letters are mostly ASCII (or it has none). */
static int prompt_is_ascii(const char *prompt)
{
    if (!prompt) return 1;
    long a, f;
    count_letters(prompt, 0, strnlen(prompt, RZ_GRADE_MAX_BYTES), &a, &f);
    return a >= f;
}

static double clamp01(double x) { return x >= 0.0 && x <= 1.0 ? x : (x > 1.0 ? 1.0 : 0.0); }

double rz_rewards_get(const rz_rewards *r, const char *name)
{
    for (int i = 0; r && name && i < r->n; i++)
        if (r->names[i] && strcmp(r->names[i], name) == 0) return r->values[i];
    return -1.0;
}

int rz_env_grade(const rz_env *e, const rz_item *item, const char *completion, size_t len,
                 rz_rewards *out)
{
    if (!out) return RZ_ERR_ARG;
    memset(out, 0, sizeof *out);
    out->n = 3;
    out->names[0] = "accuracy";
    out->names[1] = "format";
    out->names[2] = "language";
    if (!e || !item) return RZ_ERR_ARG;
    if (!completion) len = 0;
    if (len > RZ_GRADE_MAX_BYTES) return RZ_OK;
    const char *s = completion ? completion : "";

    size_t a, b;
    if (extract_answer(s, len, &a, &b)) {
        while (a < b && rz_is_space((unsigned char)s[a])) a++;
        while (b > a && rz_is_space((unsigned char)s[b - 1])) b--;
        int printable = a < b && b - a <= RZ_ANSWER_MAX_BYTES;
        for (size_t i = a; printable && i < b; i++) {
            unsigned char c = (unsigned char)s[i];
            printable = (c >= 0x20 && c < 0x7f) || rz_is_space(c);
        }
        if (printable) out->values[0] = clamp01(e->def->check(e->state, item, s + a, b - a));
    }
    out->values[1] = format_ok(s, len);

    size_t ra, rb;
    reasoning_range(s, len, &ra, &rb);
    if (skip_ws(s, ra, rb) < rb) {
        long asc, foreign;
        count_letters(s, ra, rb, &asc, &foreign);
        long mine = prompt_is_ascii(item->prompt) ? asc : foreign;
        out->values[2] = asc + foreign ? (double)mine / (double)(asc + foreign) : 1.0;
        /* tags are skipped by count_letters but still text: reasoning of tags alone is empty */
        int only_tags = 1;
        for (size_t i = skip_ws(s, ra, rb); i < rb && only_tags;) {
            int t = tag_at(s, rb, i);
            if (t >= 0)
                i = skip_ws(s, i + strlen(TAGS[t]), rb);
            else
                only_tags = 0;
        }
        if (only_tags) out->values[2] = 0.0;
    }
    return RZ_OK;
}

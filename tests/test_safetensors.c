/* test_safetensors: export / import of the transformer in Hugging Face's format.
 * The files are also parsed here independently of core/safetensors.c (byte layout, header
 * JSON, config.json), and hostile files are crafted with a small writer of our own. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "test.h"

static char base[64];

static char *path2(const char *dir, const char *file)
{
    static char buf[4][512];
    static int k = 0;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, file);
    return buf[k];
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    REQUIRE(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    REQUIRE(len == 0 || fwrite(data, 1, len, f) == len);
    REQUIRE(fclose(f) == 0);
}

static rz_transformer *make_model(int tied, uint64_t seed)
{
    rz_transformer_config cfg;
    rz_transformer_config_default(&cfg);
    cfg.vocab = 23;
    cfg.dim = 16;
    cfg.layers = 2;
    cfg.heads = 2;
    cfg.context = 12;
    cfg.tied = tied;
    rz_transformer *m;
    rz_error err;
    REQUIRE(rz_transformer_create(&m, &cfg, seed, &err) == RZ_OK);
    /* norms start at exactly 1: give every weight a distinct value so the round trip means
     * something */
    rz_params *p = rz_transformer_params(m);
    rz_rng rng;
    rz_rng_seed(&rng, seed + 100);
    for (int i = 0; i < p->count; i++)
        for (size_t j = 0; j < p->tensors[i].numel; j++)
            p->param[p->tensors[i].offset + j] = 0.3f * rz_rng_normal(&rng);
    return m;
}

static const int toks[2 * 9] = {1, 5, 9, 3, 22, 0, 7, 7, 2, 1, 4, 4, 4, 18, 11, 6, 20, 2};

/* ------------------------------------------------------ independent parsing */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks model.safetensors byte by byte against the live parameters. */
static void check_file(const char *dir, rz_transformer *m)
{
    rz_params *p = rz_transformer_params(m);
    size_t len;
    unsigned char *buf = slurp(path2(dir, "model.safetensors"), &len);
    REQUIRE(len >= 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
    CHECKF(n % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)n);
    REQUIRE(8 + n <= len);
    /* the JSON is compact and ends with '}', then only spaces (fewer than 8) */
    size_t last = 8 + n - 1;
    while (last > 8 && buf[last] == ' ') last--;
    CHECK(buf[last] == '}');
    CHECKF(8 + n - 1 - last < 8, "%zu padding spaces", (size_t)(8 + n - 1 - last));
    CHECK(buf[8] == '{');
    CHECK(memchr(buf + 8, '\n', n) == NULL);
    CHECK(memcmp(buf + 8, "{\"__metadata__\":{\"format\":\"pt\"},", 32) == 0);

    json_error_t je;
    json_t *root = json_loadb((const char *)buf + 8, n, 0, &je);
    REQUIRE(root && json_is_object(root));
    json_t *meta = json_object_get(root, "__metadata__");
    CHECK(json_is_object(meta) && json_object_size(meta) == 1 &&
          strcmp(json_string_value(json_object_get(meta, "format")), "pt") == 0);
    CHECKF((int)json_object_size(root) == p->count + 1, "%zu keys for %d tensors",
           json_object_size(root), p->count);
    CHECK((rz_transformer_cfg(m)->tied != 0) == (json_object_get(root, "lm_head.weight") == NULL));

    /* header order: the names sorted bytewise, the offsets packed from 0 in that order */
    const char *key;
    json_t *v;
    const char **names = malloc((size_t)p->count * sizeof *names);
    int k = 0;
    uint64_t at = 0;
    int order_ok = 1, packed_ok = 1;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "__metadata__") == 0) continue;
        REQUIRE(k < p->count);
        if (k > 0 && strcmp(names[k - 1], key) >= 0) order_ok = 0;
        names[k++] = key;
        json_t *of = json_object_get(v, "data_offsets");
        if ((uint64_t)json_integer_value(json_array_get(of, 0)) != at) packed_ok = 0;
        at = (uint64_t)json_integer_value(json_array_get(of, 1));
    }
    CHECK(order_ok);
    CHECK(packed_ok);
    CHECKF(at == len - 8 - n, "data ends at %llu of %zu", (unsigned long long)at,
           len - 8 - (size_t)n);
    /* sorted the same as qsort over the layout's names */
    const char **want = malloc((size_t)p->count * sizeof *want);
    for (int i = 0; i < p->count; i++) want[i] = p->tensors[i].name;
    qsort(want, (size_t)p->count, sizeof *want, cmp_str);
    for (int i = 0; i < k && i < p->count; i++) CHECK(strcmp(names[i], want[i]) == 0);
    free(names);
    free(want);

    int bad_dtype = 0, bad_shape = 0, bad_bytes = 0;
    for (int i = 0; i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        json_t *e = json_object_get(root, t->name);
        if (!e) {
            CHECKF(0, "tensor %s missing from the header", t->name);
            continue;
        }
        CHECK(json_object_size(e) == 3);
        if (strcmp(json_string_value(json_object_get(e, "dtype")), "F32") != 0) bad_dtype++;
        json_t *sh = json_object_get(e, "shape");
        if ((int)json_array_size(sh) != t->ndim) bad_shape++;
        for (int d = 0; d < t->ndim; d++)
            if (json_integer_value(json_array_get(sh, d)) != t->shape[d]) bad_shape++;
        json_t *of = json_object_get(e, "data_offsets");
        uint64_t b = (uint64_t)json_integer_value(json_array_get(of, 0));
        uint64_t en = (uint64_t)json_integer_value(json_array_get(of, 1));
        if (en - b != t->numel * 4 || en > len - 8 - n) {
            bad_bytes++;
            continue;
        }
        const unsigned char *d = buf + 8 + n + b;
        for (size_t j = 0; j < t->numel; j++) {
            uint32_t u = (uint32_t)d[4 * j] | (uint32_t)d[4 * j + 1] << 8 |
                         (uint32_t)d[4 * j + 2] << 16 | (uint32_t)d[4 * j + 3] << 24;
            uint32_t w;
            memcpy(&w, &p->param[t->offset + j], 4);
            if (u != w) {
                bad_bytes++;
                break;
            }
        }
    }
    CHECKF(bad_dtype == 0, "%d tensors not F32", bad_dtype);
    CHECKF(bad_shape == 0, "%d shape mismatches", bad_shape);
    CHECKF(bad_bytes == 0, "%d tensors whose bytes differ from the parameters", bad_bytes);
    json_decref(root);
    free(buf);
}

static void check_config(const char *dir, const rz_transformer_config *c)
{
    json_error_t je;
    json_t *o = json_load_file(path2(dir, "config.json"), 0, &je);
    REQUIRE(o);
    json_t *arch = json_object_get(o, "architectures");
    CHECK(json_array_size(arch) == 1 &&
          strcmp(json_string_value(json_array_get(arch, 0)), "LlamaForCausalLM") == 0);
    struct { const char *key; long v; } ints[] = {
        {"vocab_size", c->vocab}, {"hidden_size", c->dim}, {"intermediate_size", c->hidden},
        {"num_hidden_layers", c->layers}, {"num_attention_heads", c->heads},
        {"num_key_value_heads", c->heads}, {"max_position_embeddings", c->context},
        {"bos_token_id", 1}, {"eos_token_id", 2}, {"pad_token_id", 0},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        json_t *v = json_object_get(o, ints[i].key);
        CHECKF(json_is_integer(v) && json_integer_value(v) == ints[i].v, "%s", ints[i].key);
    }
    struct { const char *key; const char *v; } strs[] = {
        {"model_type", "llama"}, {"hidden_act", "silu"}, {"torch_dtype", "float32"},
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        json_t *v = json_object_get(o, strs[i].key);
        CHECKF(json_is_string(v) && strcmp(json_string_value(v), strs[i].v) == 0, "%s", strs[i].key);
    }
    CHECK(json_is_false(json_object_get(o, "attention_bias")));
    CHECK(json_is_false(json_object_get(o, "mlp_bias")));
    CHECK(json_is_boolean(json_object_get(o, "tie_word_embeddings")) &&
          json_is_true(json_object_get(o, "tie_word_embeddings")) == (c->tied != 0));
    json_t *eps = json_object_get(o, "rms_norm_eps"), *theta = json_object_get(o, "rope_theta");
    CHECK(json_is_real(eps) && (float)json_real_value(eps) == c->norm_eps);
    CHECK(json_is_real(theta) && json_real_value(theta) == 10000.0);
    json_decref(o);
    /* the short decimal, not the float's 17-digit double expansion */
    size_t len;
    char *text = (char *)slurp(path2(dir, "config.json"), &len);
    CHECKF(strstr(text, "\"rms_norm_eps\": 1e-5") != NULL, "%s", text);
    CHECK(strstr(text, "\"rope_theta\": 10000.0") != NULL);
    free(text);
}

static int same_floats(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static void round_trip(int tied)
{
    rz_transformer *m = make_model(tied, 7 + (uint64_t)tied);
    const char *alphabet = "0123456789+-*/=() ";
    const char *specials[] = {"<think>", "</think>"};
    rz_tokenizer *tok;
    rz_error err = {0};
    REQUIRE(rz_tokenizer_chars(&tok, alphabet, specials, 2, &err) == RZ_OK);
    REQUIRE(rz_tokenizer_size(tok) == 23);

    char dir[128];
    snprintf(dir, sizeof dir, "%s/%s/nested/deeper", base, tied ? "tied" : "untied");
    CHECK_OK(rz_transformer_export(m, dir, tok, &err), &err);
    /* exporting over an existing directory replaces the files */
    CHECK_OK(rz_transformer_export(m, dir, tok, &err), &err);
    check_file(dir, m);
    check_config(dir, rz_transformer_cfg(m));

    rz_transformer *b = NULL;
    CHECK_OK(rz_transformer_import(&b, dir, &err), &err);
    REQUIRE(b);
    const rz_transformer_config *ca = rz_transformer_cfg(m), *cb = rz_transformer_cfg(b);
    CHECK(memcmp(ca, cb, sizeof *ca) == 0);
    rz_params *pa = rz_transformer_params(m), *pb = rz_transformer_params(b);
    CHECK(pa->count == pb->count && pa->numel == pb->numel);
    for (int i = 0; i < pa->count && i < pb->count; i++) {
        const rz_tensor *ta = &pa->tensors[i], *tb = rz_params_find(pb, ta->name);
        CHECKF(tb && tb->numel == ta->numel &&
                   same_floats(pa->param + ta->offset, pb->param + tb->offset, ta->numel),
               "tensor %s differs after the round trip", ta->name);
    }
    CHECK_OK(rz_transformer_forward(m, toks, 2, 9, &err), &err);
    CHECK_OK(rz_transformer_forward(b, toks, 2, 9, &err), &err);
    CHECK(same_floats(rz_transformer_logits(m), rz_transformer_logits(b), 2 * 9 * 23));

    rz_tokenizer *t2 = NULL;
    CHECK_OK(rz_tokenizer_import(&t2, dir, &err), &err);
    if (t2) {
        CHECK(rz_tokenizer_size(t2) == rz_tokenizer_size(tok));
        for (int i = 0; i < rz_tokenizer_size(tok); i++)
            CHECK(strcmp(rz_tokenizer_piece(t2, i), rz_tokenizer_piece(tok, i)) == 0);
    }
    json_error_t je;
    json_t *tj = json_load_file(path2(dir, "rlzero_tokenizer.json"), 0, &je);
    CHECK(tj && json_array_size(json_object_get(tj, "pieces")) == 23 &&
          strcmp(json_string_value(json_object_get(tj, "alphabet")), alphabet) == 0);
    json_decref(tj);

    /* without a tokenizer no tokenizer file is written */
    char dir2[128];
    snprintf(dir2, sizeof dir2, "%s/notok%d", base, tied);
    CHECK_OK(rz_transformer_export(m, dir2, NULL, &err), &err);
    CHECK(access(path2(dir2, "rlzero_tokenizer.json"), F_OK) != 0);
    CHECK(access(path2(dir2, "config.json"), F_OK) == 0);

    rz_tokenizer_free(t2);
    rz_tokenizer_free(tok);
    rz_transformer_free(b);
    rz_transformer_free(m);
}

/* --------------------------------------------------------- crafted files */

typedef struct {
    const char *name;
    const char *dtype;
    int ndim;
    long long shape[4];
    const void *data;
    size_t nbytes;
    long long begin, end; /* used when set_offsets */
    int set_offsets;
} entry;

/* Writes DIR/model.safetensors from entries (data packed in the given order) and a copy of
 * the good config.json from src. */
static void write_st(const char *dir, const entry *e, int n, const char *src)
{
    mkdir(dir, 0777);
    json_t *root = json_object();
    size_t total = 0;
    for (int i = 0; i < n; i++) total += e[i].nbytes;
    unsigned char *data = malloc(total ? total : 1);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        json_t *o = json_object(), *sh = json_array(), *of = json_array();
        for (int d = 0; d < e[i].ndim; d++) json_array_append_new(sh, json_integer(e[i].shape[d]));
        long long b = e[i].set_offsets ? e[i].begin : (long long)at;
        long long en = e[i].set_offsets ? e[i].end : (long long)(at + e[i].nbytes);
        json_array_append_new(of, json_integer(b));
        json_array_append_new(of, json_integer(en));
        json_object_set_new(o, "dtype", json_string(e[i].dtype));
        json_object_set_new(o, "shape", sh);
        json_object_set_new(o, "data_offsets", of);
        json_object_set_new(root, e[i].name, o);
        memcpy(data + at, e[i].data, e[i].nbytes);
        at += e[i].nbytes;
    }
    char *h = json_dumps(root, JSON_COMPACT);
    size_t hl = strlen(h), pad = (hl + 7) & ~(size_t)7;
    unsigned char *buf = malloc(8 + pad + total);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)pad >> (8 * i));
    memcpy(buf + 8, h, hl);
    memset(buf + 8 + hl, ' ', pad - hl);
    memcpy(buf + 8 + pad, data, total);
    spit(path2(dir, "model.safetensors"), buf, 8 + pad + total);
    size_t cl;
    unsigned char *cfg = slurp(path2(src, "config.json"), &cl);
    spit(path2(dir, "config.json"), cfg, cl);
    free(cfg);
    free(buf);
    free(h);
    free(data);
    json_decref(root);
}

/* The entries of a live model, in layout order. */
static entry *model_entries(rz_transformer *m, int *n)
{
    rz_params *p = rz_transformer_params(m);
    entry *e = calloc((size_t)p->count + 2, sizeof *e);
    for (int i = 0; i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        e[i].name = t->name;
        e[i].dtype = "F32";
        e[i].ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++) e[i].shape[d] = t->shape[d];
        e[i].data = p->param + t->offset;
        e[i].nbytes = t->numel * 4;
    }
    *n = p->count;
    return e;
}

static int find_entry(const entry *e, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0) return i;
    REQUIRE(0);
    return -1;
}

/* Import must fail with code and a message holding each of the fragments (up to two). */
static void expect_fail(const char *dir, int code, const char *frag1, const char *frag2,
                        const char *what)
{
    rz_error err = {0};
    rz_transformer *m = (rz_transformer *)&err; /* must come back NULL */
    int rc = rz_transformer_import(&m, dir, &err);
    CHECKF(rc == code, "%s: got %s (%s)", what, rz_status_name(rc), err.msg);
    CHECKF(m == NULL, "%s: out not NULL", what);
    CHECKF(strstr(err.msg, frag1) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err.msg, frag1);
    if (frag2)
        CHECKF(strstr(err.msg, frag2) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err.msg,
               frag2);
    if (rc != RZ_OK && rc == code) printf("  refused (%s): %s\n", what, err.msg);
    if (rc == RZ_OK) rz_transformer_free(m);
}

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16); /* truncation: exactly representable back */
}

/* float -> IEEE half by round-to-nearest-even, for normal-range values */
static uint16_t to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000;
    int ex = (int)((u >> 23) & 0xff) - 127 + 15;
    uint32_t man = u & 0x7fffff;
    if (ex <= 0) return (uint16_t)sign; /* tiny: flush (the test values are not) */
    uint32_t h = sign | (uint32_t)ex << 10 | man >> 13;
    uint32_t rest = man & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)h;
}

static void hostile(void)
{
    rz_transformer *m = make_model(0, 3);
    rz_error err = {0};
    char good[128];
    snprintf(good, sizeof good, "%s/good", base);
    REQUIRE(rz_transformer_export(m, good, NULL, &err) == RZ_OK);
    size_t len;
    unsigned char *file = slurp(path2(good, "model.safetensors"), &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | file[i];
    size_t cl;
    unsigned char *cfg = slurp(path2(good, "config.json"), &cl);

    char dir[128];
    snprintf(dir, sizeof dir, "%s/bad", base);
    mkdir(dir, 0777);
    spit(path2(dir, "config.json"), cfg, cl);
    const char *st = path2(dir, "model.safetensors");

    /* missing files */
    expect_fail(base, RZ_ERR_IO, "config.json", "cannot open", "no config.json");
    expect_fail(dir, RZ_ERR_IO, "model.safetensors", "cannot open", "no model.safetensors");

    /* truncated at several lengths */
    size_t cuts[] = {0, 5, 8, 8 + (size_t)hlen / 2, 8 + (size_t)hlen, 8 + (size_t)hlen + 100,
                     len - 1};
    const char *cut_msg[] = {"too short", "too short", "header length", "header length",
                             "run past the end", "run past the end", "run past the end"};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(st, file, cuts[i]);
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu of %zu", cuts[i], len);
        expect_fail(dir, RZ_ERR_FORMAT, "model.safetensors", cut_msg[i], what);
    }
    /* bytes appended after the last tensor */
    unsigned char *longer = malloc(len + 8);
    memcpy(longer, file, len);
    memset(longer + len, 0, 8);
    spit(st, longer, len + 8);
    expect_fail(dir, RZ_ERR_FORMAT, "8 bytes follow the last tensor", NULL, "trailing bytes");
    free(longer);

    /* header lengths larger than the file, up to 2^64 - 1 */
    unsigned char *mod = malloc(len);
    uint64_t lens[] = {len, (uint64_t)1 << 40, UINT64_MAX, (uint64_t)1 << 63};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        memcpy(mod, file, len);
        for (int b = 0; b < 8; b++) mod[b] = (unsigned char)(lens[i] >> (8 * b));
        spit(st, mod, len);
        expect_fail(dir, RZ_ERR_FORMAT, "header length", "runs past the end of the file",
                    "huge header length");
    }
    /* bad JSON: garbage, a truncated object, a non-object, deep nesting, invalid UTF-8 */
    const char *bad_json[] = {"{not json}", "{\"a\":{\"dtype\":", "[1,2,3]", NULL, "{\"\xff\xfe\":1}"};
    for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
        size_t hl;
        char *h;
        if (bad_json[i]) {
            h = strdup(bad_json[i]);
            hl = strlen(h);
        } else {
            hl = 200000; /* far deeper than any parser should recurse */
            h = malloc(hl);
            memset(h, '[', hl);
        }
        size_t pad = (hl + 7) & ~(size_t)7;
        unsigned char *b = malloc(8 + pad);
        for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)pad >> (8 * k));
        memcpy(b + 8, h, hl);
        memset(b + 8 + hl, ' ', pad - hl);
        spit(st, b, 8 + pad);
        expect_fail(dir, RZ_ERR_FORMAT, "model.safetensors",
                    i == 2 ? "not a JSON object" : "not valid JSON", "bad JSON");
        free(b);
        free(h);
    }

    /* a crafted but valid file loads, in any header order (reverse layout order here) */
    int n;
    entry *e = model_entries(m, &n);
    entry *rev = calloc((size_t)n, sizeof *rev);
    for (int i = 0; i < n; i++) rev[i] = e[n - 1 - i];
    write_st(dir, rev, n, good);
    rz_transformer *ok = NULL;
    CHECK_OK(rz_transformer_import(&ok, dir, &err), &err);
    if (ok)
        CHECK(same_floats(rz_transformer_params(ok)->param, rz_transformer_params(m)->param,
                          rz_transformer_params(m)->numel));
    rz_transformer_free(ok);
    free(rev);

    /* a missing tensor */
    int iq = find_entry(e, n, "model.layers.1.self_attn.k_proj.weight");
    entry *fewer = calloc((size_t)n, sizeof *fewer);
    int nf = 0;
    for (int i = 0; i < n; i++)
        if (i != iq) fewer[nf++] = e[i];
    write_st(dir, fewer, nf, good);
    expect_fail(dir, RZ_ERR_FORMAT, "'model.layers.1.self_attn.k_proj.weight' is missing", NULL,
                "missing tensor");
    int ih = find_entry(e, n, "lm_head.weight");
    nf = 0;
    for (int i = 0; i < n; i++)
        if (i != ih) fewer[nf++] = e[i];
    write_st(dir, fewer, nf, good);
    expect_fail(dir, RZ_ERR_FORMAT, "'lm_head.weight' is missing", NULL, "untied without lm_head");
    free(fewer);

    /* wrong shape (same byte count, dims swapped) */
    int ig = find_entry(e, n, "model.layers.0.mlp.gate_proj.weight");
    entry saved = e[ig];
    e[ig].shape[0] = saved.shape[1];
    e[ig].shape[1] = saved.shape[0];
    write_st(dir, e, n, good);
    expect_fail(dir, RZ_ERR_FORMAT, "'model.layers.0.mlp.gate_proj.weight' has shape [16, 64]",
                "[64, 16]", "wrong shape");
    e[ig] = saved;

    /* a shape that does not match its byte count */
    e[ig].shape[0] = saved.shape[0] + 1;
    write_st(dir, e, n, good);
    expect_fail(dir, RZ_ERR_FORMAT, "hold 4096 bytes, but F32 of 1040 elements needs 4160", NULL,
                "shape vs bytes");
    e[ig] = saved;

    /* wrong dtype (same size), and an unknown dtype */
    e[ig].dtype = "I32";
    write_st(dir, e, n, good);
    expect_fail(dir, RZ_ERR_FORMAT, "has dtype I32 (expected F32, F16 or BF16)", NULL, "wrong dtype");
    e[ig].dtype = "Q4_K";
    write_st(dir, e, n, good);
    expect_fail(dir, RZ_ERR_FORMAT, "unknown dtype \"Q4_K\"", NULL, "unknown dtype");
    e[ig] = saved;

    /* offsets: past the end, overlapping, leaving a gap, end before begin, negative */
    size_t total = 0;
    for (int i = 0; i < n; i++) total += e[i].nbytes;
    int i0 = find_entry(e, n, "model.norm.weight"); /* 64 bytes */
    struct { long long b, en; const char *msg; } offs[] = {
        {(long long)total - 32, (long long)total + 32, "run past the end of the data section"},
        {(long long)(1ULL << 62), (long long)(1ULL << 62) + 64, "run past the end of the data"},
        {0, 64, "overlap"},
        {64, 0, "end before they begin"},
        {-64, 0, "two non-negative integers"},
    };
    for (size_t k = 0; k < sizeof offs / sizeof *offs; k++) {
        e[i0].set_offsets = 1;
        e[i0].begin = offs[k].b;
        e[i0].end = offs[k].en;
        write_st(dir, e, n, good);
        expect_fail(dir, RZ_ERR_FORMAT, "model.safetensors", offs[k].msg, "bad offsets");
    }
    e[i0].set_offsets = 0;
    /* a gap: the last tensor's data moved 8 bytes on, the file 8 bytes longer */
    {
        int il = n - 1;
        entry keep = e[il];
        unsigned char *d = calloc(1, keep.nbytes + 8);
        memcpy(d + 8, keep.data, keep.nbytes);
        e[il].data = d;
        e[il].nbytes = keep.nbytes + 8;
        e[il].set_offsets = 1;
        e[il].begin = (long long)(total - keep.nbytes + 8);
        e[il].end = (long long)(total + 8);
        write_st(dir, e, n, good);
        expect_fail(dir, RZ_ERR_FORMAT, "leave a gap", NULL, "gap");
        e[il] = keep;
        free(d);
    }

    /* an unknown tensor is refused; HF's rotary inv_freq is ignored */
    float extra[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    e[n] = (entry){.name = "model.layers.2.self_attn.q_proj.weight", .dtype = "F32", .ndim = 1,
                   .shape = {8}, .data = extra, .nbytes = sizeof extra};
    write_st(dir, e, n + 1, good);
    expect_fail(dir, RZ_ERR_FORMAT, "unexpected tensor 'model.layers.2.self_attn.q_proj.weight'",
                NULL, "unknown tensor");
    e[n].name = "model.layers.0.self_attn.rotary_emb.inv_freq";
    write_st(dir, e, n + 1, good);
    CHECK_OK(rz_transformer_import(&ok, dir, &err), &err);
    rz_transformer_free(ok);

    /* F16 and BF16 are converted: each weight comes back as the rounded value */
    rz_params *p = rz_transformer_params(m);
    uint16_t *h16 = malloc(p->numel * 2), *b16 = malloc(p->numel * 2);
    for (int pass = 0; pass < 2; pass++) {
        entry *c = calloc((size_t)n, sizeof *c);
        for (int i = 0; i < n; i++) {
            const rz_tensor *t = rz_params_find(p, e[i].name);
            uint16_t *dst = (pass ? b16 : h16) + t->offset;
            for (size_t j = 0; j < t->numel; j++)
                dst[j] = pass ? to_bf16(p->param[t->offset + j]) : to_f16(p->param[t->offset + j]);
            c[i] = e[i];
            c[i].dtype = pass ? "BF16" : "F16";
            c[i].data = dst;
            c[i].nbytes = t->numel * 2;
        }
        write_st(dir, c, n, good);
        ok = NULL;
        CHECK_OK(rz_transformer_import(&ok, dir, &err), &err);
        if (ok) {
            const float *q = rz_transformer_params(ok)->param;
            int bad = 0;
            double maxerr = 0;
            for (int i = 0; i < p->count; i++) {
                const rz_tensor *t = &p->tensors[i];
                for (size_t j = 0; j < t->numel; j++) {
                    float x = p->param[t->offset + j], y = q[t->offset + j];
                    uint32_t u;
                    memcpy(&u, &x, 4);
                    u &= 0xffff0000u;
                    float want = x;
                    if (pass) memcpy(&want, &u, 4);
                    /* half: relative 2^-11 in the normal range, absolute below 2^-14
                     * (to_f16 flushes those to 0) */
                    double d = fabs((double)y - x);
                    if (fabs(x) > 1e-3 && d / fabs(x) > maxerr) maxerr = d / fabs(x);
                    if (pass ? y != want : d > fabs(x) / 2048 + 6.2e-5) bad++;
                }
            }
            CHECKF(bad == 0, "%s: %d weights off (max rel err %g)", pass ? "BF16" : "F16", bad, maxerr);
            printf("  %s import: max relative error %.3g\n", pass ? "BF16" : "F16", maxerr);
        }
        rz_transformer_free(ok);
        free(c);
    }
    free(h16);
    free(b16);

    /* config.json: bad JSON, wrong model type, GQA, gelu, biases, missing key, huge sizes */
    write_st(dir, e, n, good); /* a good weights file again */
    const char *cfg_msgs[][3] = {
        {"{\"model_type\": \"llama\",", "not valid JSON", NULL},
        {"{\"model_type\": \"gpt2\"}", "\"model_type\" must be \"llama\"", NULL},
        {NULL, "num_key_value_heads 1 != num_attention_heads 2", "num_key_value_heads"},
        {NULL, "\"hidden_act\" must be \"silu\"", "hidden_act"},
        {NULL, "\"attention_bias\" must be false", "attention_bias"},
        {NULL, "\"vocab_size\" is missing", "vocab_size"},
        {NULL, "cannot hold the", "hidden_size"},
        {NULL, "\"rope_scaling\" is not supported", "rope_scaling"},
    };
    for (size_t k = 0; k < sizeof cfg_msgs / sizeof *cfg_msgs; k++) {
        if (cfg_msgs[k][0]) {
            spit(path2(dir, "config.json"), cfg_msgs[k][0], strlen(cfg_msgs[k][0]));
        } else {
            json_error_t je;
            json_t *o = json_loadb((const char *)cfg, cl, 0, &je);
            REQUIRE(o);
            const char *key = cfg_msgs[k][2];
            if (!strcmp(key, "num_key_value_heads")) json_object_set_new(o, key, json_integer(1));
            if (!strcmp(key, "hidden_act")) json_object_set_new(o, key, json_string("gelu"));
            if (!strcmp(key, "attention_bias")) json_object_set_new(o, key, json_true());
            if (!strcmp(key, "vocab_size")) json_object_del(o, key);
            if (!strcmp(key, "hidden_size")) {
                json_object_set_new(o, key, json_integer(1 << 20));
                json_object_set_new(o, "num_attention_heads", json_integer(1 << 10));
                json_object_set_new(o, "num_key_value_heads", json_integer(1 << 10));
                json_object_del(o, "head_dim");
            }
            if (!strcmp(key, "rope_scaling")) {
                json_t *s = json_object();
                json_object_set_new(s, "factor", json_real(8.0));
                json_object_set_new(o, key, s);
            }
            REQUIRE(json_dump_file(o, path2(dir, "config.json"), 0) == 0);
            json_decref(o);
        }
        expect_fail(dir, RZ_ERR_FORMAT, "config.json", cfg_msgs[k][1], "bad config.json");
    }

    /* export refuses a tokenizer larger than the vocab */
    rz_tokenizer *big;
    REQUIRE(rz_tokenizer_chars(&big, "abcdefghijklmnopqrstuvwxyz", NULL, 0, &err) == RZ_OK);
    char d3[128];
    snprintf(d3, sizeof d3, "%s/bigtok", base);
    CHECK(rz_transformer_export(m, d3, big, &err) == RZ_ERR_ARG);
    rz_tokenizer_free(big);
    /* export into a path that is a file */
    CHECK(rz_transformer_export(m, path2(good, "config.json"), NULL, &err) == RZ_ERR_IO);

    free(e);
    free(mod);
    free(cfg);
    free(file);
    rz_transformer_free(m);
}

static void tied_extras(void)
{
    /* a tied model whose file carries lm_head.weight anyway: accepted when it equals the
     * embedding, refused when it differs */
    rz_transformer *m = make_model(1, 11);
    rz_error err = {0};
    char good[128], dir[128];
    snprintf(good, sizeof good, "%s/tgood", base);
    snprintf(dir, sizeof dir, "%s/tbad", base);
    REQUIRE(rz_transformer_export(m, good, NULL, &err) == RZ_OK);
    int n;
    entry *e = model_entries(m, &n);
    int ie = find_entry(e, n, "model.embed_tokens.weight");
    e[n] = e[ie];
    e[n].name = "lm_head.weight";
    write_st(dir, e, n + 1, good);
    rz_transformer *b = NULL;
    CHECK_OK(rz_transformer_import(&b, dir, &err), &err);
    rz_transformer_free(b);
    float *other = malloc(e[ie].nbytes);
    memcpy(other, e[ie].data, e[ie].nbytes);
    other[5] += 1.0f;
    e[n].data = other;
    write_st(dir, e, n + 1, good);
    expect_fail(dir, RZ_ERR_FORMAT, "lm_head.weight differs from model.embed_tokens.weight", NULL,
                "tied but different head");
    free(other);
    free(e);
    rz_transformer_free(m);
}

int main(void)
{
    snprintf(base, sizeof base, "test_safetensors.tmp.%ld", (long)getpid());
    REQUIRE(mkdir(base, 0777) == 0);
    round_trip(0);
    round_trip(1);
    hostile();
    tied_extras();
    int rc = test_done("test_safetensors");
    if (rc == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base);
    }
    return rc;
}

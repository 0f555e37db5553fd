/* safetensors.c: export the transformer to, and import it from, a Hugging Face model
 * directory (model.safetensors + config.json for transformers' LlamaForCausalLM).
 *
 * model.safetensors, as the reference implementation writes it:
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   a compact JSON object {"__metadata__": {"format": "pt"},
 *             "NAME": {"dtype": "F32", "shape": [...], "data_offsets": [BEGIN, END]}, ...}
 *             padded with spaces so that the data starts at a multiple of 8
 *   the data  the tensors' raw little-endian bytes, packed back to back; offsets count from
 *             the start of the data section. Tensors are sorted by descending dtype
 *             alignment, then by name (byte order); ours are all F32, so by name.
 * The reader is as strict as the reference one: the tensors must tile the data section
 * exactly (no gap, no overlap, nothing after the last one) and the header is at most 100 MB.
 *
 * Our tensor names and shapes already are Hugging Face Llama's, and our RoPE is HF's
 * rotate-half convention (dimension i pairs with i + head_dim/2), so q_proj and k_proj go
 * out as they are: the permutation in HF's convert_llama_weights_to_hf.py exists only to
 * turn Meta's interleaved pairs (2i, 2i+1) into this layout. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>

#include "rlzero.h"

#define HEADER_MAX 100000000ULL   /* the reference reader's limit */
#define CONFIG_MAX (1 << 20)      /* config.json and rlzero_tokenizer.json: 1 MiB is plenty */
#define TOKENIZER_FORMAT "rlzero-chars"

/* ---------------------------------------------------------------- helpers */

static int is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static char *join(const char *dir, const char *file, rz_error *err)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (!p) {
        rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate a path", dir);
        return NULL;
    }
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* mkdir -p */
static int make_dirs(const char *dir, rz_error *err)
{
    size_t n = strlen(dir);
    if (n == 0) return rz_error_set(err, RZ_ERR_ARG, "export: the directory name is empty");
    char *p = malloc(n + 1);
    if (!p) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate a path", dir);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            int rc = rz_error_set(err, RZ_ERR_IO, "%s: cannot create directory %s: %s", dir, p,
                                  strerror(e));
            free(p);
            return rc;
        }
        p[i] = c;
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return rz_error_set(err, RZ_ERR_IO, "%s: exists and is not a directory", dir);
    return RZ_OK;
}

/* The shortest decimal that reads back as the same float, as a double, so config.json says
 * 1e-05 rather than 9.9999997473787516e-06 (dumped with JSON_REAL_PRECISION(9)). */
static json_t *json_float(float f)
{
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return json_real(strtod(buf, NULL));
}

/* Writes a JSON value to path atomically, followed by a newline. */
static int write_json(const char *path, json_t *root, rz_error *err)
{
    if (!root) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot build the JSON", path);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    if (!text) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot serialise the JSON", path);
    size_t n = strlen(text);
    char *buf = realloc(text, n + 2);
    if (!buf) {
        free(text);
        return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot serialise the JSON", path);
    }
    buf[n] = '\n';
    buf[n + 1] = '\0';
    int rc = rz_write_atomic(path, buf, n + 1, err);
    free(buf);
    return rc;
}

/* Reads a whole small file (at most max bytes). */
static int read_small(const char *path, size_t max, char **out, size_t *len, rz_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return rz_error_set(err, RZ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, max + 1);
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot read", path);
    }
    if (n > max) {
        free(buf);
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: larger than %zu bytes", path, max);
    }
    *out = buf;
    *len = n;
    return RZ_OK;
}

static int load_json(const char *path, json_t **out, rz_error *err)
{
    char *text;
    size_t len = 0;
    int rc = read_small(path, CONFIG_MAX, &text, &len, err);
    if (rc) return rc;
    json_error_t je;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!*out)
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: not valid JSON (line %d, column %d): %s", path,
                            je.line, je.column, je.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: the top level is not a JSON object", path);
    }
    return RZ_OK;
}

/* ----------------------------------------------------------------- export */

static int cmp_tensor_name(const void *a, const void *b)
{
    const rz_tensor *x = *(const rz_tensor *const *)a, *y = *(const rz_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int write_safetensors(const char *path, const rz_params *p, rz_error *err)
{
    const rz_tensor **order = malloc((size_t)p->count * sizeof *order);
    if (!order) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate the tensor order", path);
    for (int i = 0; i < p->count; i++) order[i] = &p->tensors[i];
    qsort(order, (size_t)p->count, sizeof *order, cmp_tensor_name);

    json_t *root = json_object(), *meta = json_object();
    int bad = !root || !meta || json_object_set_new(meta, "format", json_string("pt")) ||
              json_object_set_new(root, "__metadata__", meta);
    if (!root || !meta) json_decref(meta);
    size_t data_len = 0;
    for (int i = 0; i < p->count && !bad; i++) {
        const rz_tensor *t = order[i];
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        bad = !e || !shape || !offs;
        for (int d = 0; d < t->ndim && !bad; d++)
            bad = json_array_append_new(shape, json_integer(t->shape[d]));
        size_t nbytes = t->numel * sizeof(float);
        if (!bad)
            bad = json_array_append_new(offs, json_integer((json_int_t)data_len)) ||
                  json_array_append_new(offs, json_integer((json_int_t)(data_len + nbytes)));
        if (!bad)
            bad = json_object_set_new(e, "dtype", json_string("F32")) ||
                  json_object_set(e, "shape", shape) || json_object_set(e, "data_offsets", offs) ||
                  json_object_set(root, t->name, e);
        json_decref(e);
        json_decref(shape);
        json_decref(offs);
        data_len += nbytes;
    }
    char *header = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!header) {
        free(order);
        return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot build the header", path);
    }
    size_t hlen = strlen(header), padded = (hlen + 7) & ~(size_t)7;
    size_t total = 8 + padded + data_len;
    unsigned char *buf = malloc(total);
    if (!buf) {
        free(header);
        free(order);
        return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, total);
    }
    uint64_t n = padded;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, header, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    free(header);
    unsigned char *dst = buf + 8 + padded;
    for (int i = 0; i < p->count; i++) {
        const float *x = p->param + order[i]->offset;
        size_t nbytes = order[i]->numel * sizeof(float);
        if (is_little_endian()) {
            memcpy(dst, x, nbytes);
        } else {
            for (size_t j = 0; j < order[i]->numel; j++) {
                uint32_t u;
                memcpy(&u, &x[j], 4);
                for (int b = 0; b < 4; b++) dst[4 * j + b] = (unsigned char)(u >> (8 * b));
            }
        }
        dst += nbytes;
    }
    free(order);
    int rc = rz_write_atomic(path, buf, total, err);
    free(buf);
    return rc;
}

static json_t *config_json(const rz_transformer_config *c)
{
    json_t *o = json_object(), *arch = json_array();
    if (!o || !arch) {
        json_decref(o);
        json_decref(arch);
        return NULL;
    }
    json_array_append_new(arch, json_string("LlamaForCausalLM"));
    struct { const char *key; json_t *v; } kv[] = {
        {"architectures", arch},
        {"model_type", json_string("llama")},
        {"vocab_size", json_integer(c->vocab)},
        {"hidden_size", json_integer(c->dim)},
        {"intermediate_size", json_integer(c->hidden)},
        {"num_hidden_layers", json_integer(c->layers)},
        {"num_attention_heads", json_integer(c->heads)},
        {"num_key_value_heads", json_integer(c->heads)},
        {"head_dim", json_integer(c->dim / c->heads)},
        {"max_position_embeddings", json_integer(c->context)},
        {"rms_norm_eps", json_float(c->norm_eps)},
        {"rope_theta", json_float(c->rope_theta)},
        {"tie_word_embeddings", json_boolean(c->tied)},
        {"hidden_act", json_string("silu")},
        {"attention_bias", json_false()},
        {"mlp_bias", json_false()},
        {"torch_dtype", json_string("float32")},
        {"bos_token_id", json_integer(RZ_TOK_BOS)},
        {"eos_token_id", json_integer(RZ_TOK_EOS)},
        {"pad_token_id", json_integer(RZ_TOK_PAD)},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (!kv[i].v || json_object_set_new(o, kv[i].key, kv[i].v)) bad = 1;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Our character tokenizer is not a Hugging Face tokenizer (no tokenizer.json /
 * tokenizer_config.json is written, so AutoTokenizer will not load the directory); this
 * file keeps what is needed to rebuild it with rz_tokenizer_import, plus every piece in id
 * order so that another program can decode ids. */
static json_t *tokenizer_json(const rz_tokenizer *tok)
{
    json_t *o = json_object(), *specials = json_array(), *pieces = json_array();
    if (!o || !specials || !pieces) {
        json_decref(o);
        json_decref(specials);
        json_decref(pieces);
        return NULL;
    }
    int bad = 0;
    for (int i = 0; i < rz_tokenizer_nspecials(tok); i++)
        bad |= json_array_append_new(specials, json_string(rz_tokenizer_special(tok, i)));
    for (int i = 0; i < rz_tokenizer_size(tok); i++)
        bad |= json_array_append_new(pieces, json_string(rz_tokenizer_piece(tok, i)));
    struct { const char *key; json_t *v; } kv[] = {
        {"format", json_string(TOKENIZER_FORMAT)},
        {"version", json_integer(1)},
        {"note", json_string("rlzero's character-level tokenizer; not a Hugging Face tokenizer. "
                             "ids: 0 <pad>, 1 <bos>, 2 <eos>, then the specials in order, then "
                             "each UTF-8 character of the alphabet in order; 'pieces' lists the "
                             "text of every id.")},
        {"vocab_size", json_integer(rz_tokenizer_size(tok))},
        {"pad_token_id", json_integer(RZ_TOK_PAD)},
        {"bos_token_id", json_integer(RZ_TOK_BOS)},
        {"eos_token_id", json_integer(RZ_TOK_EOS)},
        {"alphabet", json_string(rz_tokenizer_alphabet(tok))},
        {"specials", specials},
        {"pieces", pieces},
    };
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (!kv[i].v || json_object_set_new(o, kv[i].key, kv[i].v)) bad = 1;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int rz_transformer_export(const rz_transformer *m, const char *dir, const rz_tokenizer *tok,
                          rz_error *err)
{
    if (!m || !dir) return rz_error_set(err, RZ_ERR_ARG, "export: model and directory are required");
    const rz_transformer_config *c = rz_transformer_cfg(m);
    if (tok && rz_tokenizer_size(tok) > c->vocab)
        return rz_error_set(err, RZ_ERR_ARG,
                            "export: the tokenizer has %d tokens, more than the model's vocab %d",
                            rz_tokenizer_size(tok), c->vocab);
    int rc = make_dirs(dir, err);
    if (rc) return rc;
    /* read only; rz_transformer_params has no const flavour */
    const rz_params *p = rz_transformer_params((rz_transformer *)m);

    char *path = join(dir, "model.safetensors", err);
    if (!path) return RZ_ERR_NOMEM;
    rc = write_safetensors(path, p, err);
    free(path);
    if (rc) return rc;

    if (!(path = join(dir, "config.json", err))) return RZ_ERR_NOMEM;
    json_t *cfg = config_json(c);
    rc = write_json(path, cfg, err);
    json_decref(cfg);
    free(path);
    if (rc || !tok) return rc;

    if (!(path = join(dir, "rlzero_tokenizer.json", err))) return RZ_ERR_NOMEM;
    json_t *tj = tokenizer_json(tok);
    rc = write_json(path, tj, err);
    json_decref(tj);
    free(path);
    return rc;
}

/* ------------------------------------------------------------ import: config */

/* An integer field in [lo, hi]; absent is an error unless def_ok (then *out = def). */
static int cfg_int(const char *path, json_t *o, const char *key, int def_ok, long def, long lo,
                   long hi, long *out, rz_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (def_ok) {
            *out = def;
            return RZ_OK;
        }
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: \"%s\" is missing", path, key);
    }
    if (!json_is_integer(v))
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: \"%s\" must be an integer", path, key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: \"%s\" = %lld is outside [%ld, %ld]", path, key,
                            (long long)x, lo, hi);
    *out = (long)x;
    return RZ_OK;
}

static int cfg_num(const char *path, json_t *o, const char *key, double def, double *out,
                   rz_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return RZ_OK;
    }
    if (!json_is_number(v))
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: \"%s\" must be a number", path, key);
    *out = json_number_value(v);
    if (!(*out > 0) || *out > 3.0e38)
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: \"%s\" = %g must be a positive float", path,
                            key, *out);
    return RZ_OK;
}

/* A field that, when present, must have the one value we implement. */
static int cfg_string_is(const char *path, json_t *o, const char *key, const char *want,
                         int required, rz_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (!required) return RZ_OK;
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: \"%s\" is missing (expected \"%s\")", path, key,
                            want);
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: \"%s\" must be \"%s\"", path, key, want);
    return RZ_OK;
}

static int cfg_false(const char *path, json_t *o, const char *key, rz_error *err)
{
    json_t *v = json_object_get(o, key);
    if (v && !json_is_false(v))
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: \"%s\" must be false (no biases here)", path,
                            key);
    return RZ_OK;
}

static int parse_config(const char *path, rz_transformer_config *c, rz_error *err)
{
    json_t *o;
    int rc = load_json(path, &o, err);
    if (rc) return rc;
    const long big = 1 << 20;
    long vocab, dim, hidden, layers, heads, kv, ctx, hd;
    double eps, theta;
    rc = cfg_string_is(path, o, "model_type", "llama", 1, err);
    if (!rc) rc = cfg_string_is(path, o, "hidden_act", "silu", 0, err);
    if (!rc) rc = cfg_false(path, o, "attention_bias", err);
    if (!rc) rc = cfg_false(path, o, "mlp_bias", err);
    if (!rc) rc = cfg_int(path, o, "vocab_size", 0, 0, 1, big, &vocab, err);
    if (!rc) rc = cfg_int(path, o, "hidden_size", 0, 0, 1, big, &dim, err);
    if (!rc) rc = cfg_int(path, o, "intermediate_size", 0, 0, 1, big, &hidden, err);
    if (!rc) rc = cfg_int(path, o, "num_hidden_layers", 0, 0, 1, big, &layers, err);
    if (!rc) rc = cfg_int(path, o, "num_attention_heads", 0, 0, 1, big, &heads, err);
    if (!rc) rc = cfg_int(path, o, "num_key_value_heads", 1, heads, 1, big, &kv, err);
    if (!rc) rc = cfg_int(path, o, "max_position_embeddings", 0, 0, 1, big, &ctx, err);
    if (!rc) rc = cfg_int(path, o, "head_dim", 1, dim / heads, 1, big, &hd, err);
    /* HF's LlamaConfig defaults: rms_norm_eps 1e-6, rope_theta 10000 */
    if (!rc) rc = cfg_num(path, o, "rms_norm_eps", 1e-6, &eps, err);
    if (!rc) rc = cfg_num(path, o, "rope_theta", 10000.0, &theta, err);
    if (!rc && kv != heads)
        rc = rz_error_set(err, RZ_ERR_FORMAT,
                          "%s: num_key_value_heads %ld != num_attention_heads %ld (grouped-query "
                          "attention is not supported)", path, kv, heads);
    if (!rc && hd * heads != dim)
        rc = rz_error_set(err, RZ_ERR_FORMAT,
                          "%s: head_dim %ld * num_attention_heads %ld != hidden_size %ld", path, hd,
                          heads, dim);
    json_t *scaling = json_object_get(o, "rope_scaling");
    if (!rc && scaling && !json_is_null(scaling))
        rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: \"rope_scaling\" is not supported (must be null)",
                          path);
    json_t *tied = json_object_get(o, "tie_word_embeddings");
    if (!rc && tied && !json_is_boolean(tied))
        rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: \"tie_word_embeddings\" must be true or false",
                          path);
    if (!rc) {
        rz_transformer_config_default(c);
        c->vocab = (int)vocab;
        c->dim = (int)dim;
        c->hidden = (int)hidden;
        c->layers = (int)layers;
        c->heads = (int)heads;
        c->context = (int)ctx;
        c->tied = tied ? json_is_true(tied) : 0; /* LlamaConfig's default */
        c->norm_eps = (float)eps;
        c->rope_theta = (float)theta;
        rz_error e2;
        if (rz_transformer_config_check(c, &e2) != RZ_OK)
            rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: %s", path, e2.msg);
    }
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------- import: safetensors */

typedef struct {
    const char *name; /* a key of the header object (lives as long as it) */
    const char *dtype;
    int esize;        /* bytes per element */
    int ndim;
    int64_t shape[8];
    uint64_t begin, end;
    int used;
} st_entry;

typedef struct {
    const char *path;
    int fd;
    uint64_t header_len, data_len; /* the data section starts at 8 + header_len */
    json_t *root;
    st_entry *e;
    int n;
} st_file;

static void st_close(st_file *f)
{
    if (f->fd >= 0) close(f->fd);
    json_decref(f->root);
    free(f->e);
    f->fd = -1;
    f->root = NULL;
    f->e = NULL;
}

static int dtype_size(const char *s)
{
    static const struct { const char *name; int size; } t[] = {
        {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
        {"U16", 2}, {"F16", 2}, {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},
        {"F64", 8}, {"I64", 8}, {"U64", 8},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (strcmp(s, t[i].name) == 0) return t[i].size;
    return 0;
}

static int pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int parse_entry(const st_file *f, const char *name, json_t *v, st_entry *e, rz_error *err)
{
    const char *path = f->path;
    if (!json_is_object(v))
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: tensor '%s' is not a JSON object", path, name);
    json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
           *of = json_object_get(v, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(of))
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: tensor '%s' needs a string dtype, a shape array and a "
                            "data_offsets array", path, name);
    e->name = name;
    e->dtype = json_string_value(dt);
    e->esize = dtype_size(e->dtype);
    if (!e->esize)
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: tensor '%s' has an unknown dtype \"%.32s\"",
                            path, name, e->dtype);
    size_t nd = json_array_size(sh);
    if (nd > sizeof e->shape / sizeof *e->shape)
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: tensor '%s' has %zu dimensions (at most 8)",
                            path, name, nd);
    e->ndim = (int)nd;
    uint64_t numel = 1;
    for (size_t d = 0; d < nd; d++) {
        json_t *x = json_array_get(sh, d);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return rz_error_set(err, RZ_ERR_FORMAT,
                                "%s: tensor '%s': shape entries must be non-negative integers",
                                path, name);
        e->shape[d] = json_integer_value(x);
        uint64_t s = (uint64_t)e->shape[d];
        if (s && numel > (UINT64_MAX / 8) / s)
            return rz_error_set(err, RZ_ERR_FORMAT, "%s: tensor '%s': the shape overflows", path,
                                name);
        numel *= s;
    }
    json_t *b = json_array_get(of, 0), *en = json_array_get(of, 1);
    if (json_array_size(of) != 2 || !json_is_integer(b) || !json_is_integer(en) ||
        json_integer_value(b) < 0 || json_integer_value(en) < 0)
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets must be two non-negative integers", path,
                            name);
    e->begin = (uint64_t)json_integer_value(b);
    e->end = (uint64_t)json_integer_value(en);
    if (e->end < e->begin)
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                            path, name, (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > f->data_len)
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the "
                            "data section (%llu bytes; truncated file?)", path, name,
                            (unsigned long long)e->begin, (unsigned long long)e->end,
                            (unsigned long long)f->data_len);
    if (e->end - e->begin != numel * (uint64_t)e->esize)
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but %s of "
                            "%llu elements needs %llu", path, name, (unsigned long long)e->begin,
                            (unsigned long long)e->end, (unsigned long long)(e->end - e->begin),
                            e->dtype, (unsigned long long)numel,
                            (unsigned long long)(numel * (uint64_t)e->esize));
    return RZ_OK;
}

/* Opens path and validates everything but the tensor names and shapes. */
static int st_open(st_file *f, const char *path, rz_error *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) return rz_error_set(err, RZ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return rz_error_set(err, RZ_ERR_IO, "%s: not a regular file", path);
    uint64_t size = (uint64_t)st.st_size;
    if (size < 8)
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: too short (%llu bytes) to hold the 8-byte header length", path,
                            (unsigned long long)size);
    unsigned char len8[8];
    if (pread_all(f->fd, len8, 8, 0))
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot read the header length", path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len8[i];
    if (n > size - 8)
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: header length %llu runs past the end of the file (%llu bytes; "
                            "truncated or not a safetensors file)", path, (unsigned long long)n,
                            (unsigned long long)size);
    if (n > HEADER_MAX)
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: header length %llu is larger than %llu bytes",
                            path, (unsigned long long)n, HEADER_MAX);
    if (n < 2)
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: header length %llu is too small for a JSON object",
                            path, (unsigned long long)n);
    f->header_len = n;
    f->data_len = size - 8 - n;
    char *text = malloc((size_t)n);
    if (!text) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate the %llu-byte header", path,
                                   (unsigned long long)n);
    if (pread_all(f->fd, text, (size_t)n, 8)) {
        free(text);
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot read the header", path);
    }
    json_error_t je;
    /* jansson bounds nesting depth (JSON_PARSER_MAX_DEPTH) and checks UTF-8; trailing spaces,
     * the padding, are allowed after the object */
    f->root = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!f->root)
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: the header is not valid JSON (byte %d of the header): %s", path,
                            je.position, je.text);
    if (!json_is_object(f->root))
        return rz_error_set(err, RZ_ERR_FORMAT, "%s: the header is not a JSON object", path);

    size_t cap = json_object_size(f->root);
    f->e = calloc(cap ? cap : 1, sizeof *f->e);
    if (!f->e) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate %zu header entries", path, cap);
    const char *key;
    json_t *v;
    json_object_foreach(f->root, key, v) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(v))
                return rz_error_set(err, RZ_ERR_FORMAT, "%s: __metadata__ is not a JSON object", path);
            continue;
        }
        int rc = parse_entry(f, key, v, &f->e[f->n], err);
        if (rc) return rc;
        f->n++;
    }

    /* the tensors must tile the data section exactly, as the reference reader demands */
    st_entry *by_begin = malloc((f->n ? f->n : 1) * sizeof *by_begin);
    if (!by_begin) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot sort the header", path);
    memcpy(by_begin, f->e, (size_t)f->n * sizeof *by_begin);
    qsort(by_begin, (size_t)f->n, sizeof *by_begin, cmp_begin);
    uint64_t at = 0;
    int rc = RZ_OK;
    for (int i = 0; i < f->n && !rc; i++) {
        const st_entry *e = &by_begin[i];
        if (e->begin < at)
            rc = rz_error_set(err, RZ_ERR_FORMAT,
                              "%s: tensor '%s': data_offsets [%llu, %llu] overlap the tensor "
                              "before it (which ends at %llu)", path, e->name,
                              (unsigned long long)e->begin, (unsigned long long)e->end,
                              (unsigned long long)at);
        else if (e->begin > at)
            rc = rz_error_set(err, RZ_ERR_FORMAT,
                              "%s: tensor '%s': data_offsets [%llu, %llu] leave a gap after byte "
                              "%llu (tensors must be packed)", path, e->name,
                              (unsigned long long)e->begin, (unsigned long long)e->end,
                              (unsigned long long)at);
        at = e->end;
    }
    free(by_begin);
    if (!rc && at != f->data_len)
        rc = rz_error_set(err, RZ_ERR_FORMAT,
                          "%s: %llu bytes follow the last tensor (which ends at %llu of %llu)", path,
                          (unsigned long long)(f->data_len - at), (unsigned long long)at,
                          (unsigned long long)f->data_len);
    return rc;
}

static st_entry *st_find(st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->e[i].name, name) == 0) return &f->e[i];
    return NULL;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (ex == 0x1f) {
        u = sign | 0x7f800000u | man << 13; /* inf, nan */
    } else if (ex == 0) {
        float f = ldexpf((float)man, -24); /* zero and subnormals */
        return sign ? -f : f;
    } else {
        u = sign | (ex + 112) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Reads one tensor into dst (numel floats), converting F16 and BF16. */
static int read_tensor(st_file *f, const st_entry *e, float *dst, size_t numel, rz_error *err)
{
    uint64_t off = 8 + f->header_len + e->begin;
    size_t nbytes = numel * (size_t)e->esize;
    unsigned char *raw = e->esize == 4 && is_little_endian() ? (unsigned char *)dst : malloc(nbytes ? nbytes : 1);
    if (!raw) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate %zu bytes for '%s'", f->path,
                                  nbytes, e->name);
    if (pread_all(f->fd, raw, nbytes, off)) {
        if (raw != (unsigned char *)dst) free(raw);
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot read the data of '%s'", f->path, e->name);
    }
    if (raw == (unsigned char *)dst) return RZ_OK;
    for (size_t j = 0; j < numel; j++) {
        const unsigned char *b = raw + j * (size_t)e->esize;
        uint32_t u;
        if (e->esize == 4) {
            u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&dst[j], &u, 4);
        } else if (strcmp(e->dtype, "BF16") == 0) {
            u = ((uint32_t)b[0] | (uint32_t)b[1] << 8) << 16;
            memcpy(&dst[j], &u, 4);
        } else {
            dst[j] = half_to_float((uint16_t)(b[0] | b[1] << 8));
        }
    }
    free(raw);
    return RZ_OK;
}

static int is_ignored(const char *name)
{
    /* HF models saved by older transformers carry their RoPE frequencies as a buffer */
    const char *suffix = "rotary_emb.inv_freq";
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

static int usable_dtype(const st_entry *e)
{
    return !strcmp(e->dtype, "F32") || !strcmp(e->dtype, "F16") || !strcmp(e->dtype, "BF16");
}

/* Elements the config needs, as a double so a hostile config cannot overflow it. */
static double config_numel(const rz_transformer_config *c)
{
    double V = c->vocab, C = c->dim, H = c->hidden, L = c->layers;
    return V * C * (c->tied ? 1 : 2) + L * (4 * C * C + 3 * C * H + 2 * C) + C;
}

static int load_weights(rz_transformer *m, st_file *f, rz_error *err)
{
    rz_params *p = rz_transformer_params(m);
    const rz_transformer_config *c = rz_transformer_cfg(m);
    for (int i = 0; i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        st_entry *e = st_find(f, t->name);
        if (!e)
            return rz_error_set(err, RZ_ERR_FORMAT, "%s: tensor '%s' is missing", f->path, t->name);
        int same = e->ndim == t->ndim;
        for (int d = 0; d < t->ndim && same; d++) same = e->shape[d] == t->shape[d];
        if (!same) {
            char got[128] = "", want[64] = "";
            for (int d = 0; d < e->ndim; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "",
                         (long long)e->shape[d]);
            for (int d = 0; d < t->ndim; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? ", " : "",
                         t->shape[d]);
            return rz_error_set(err, RZ_ERR_FORMAT,
                                "%s: tensor '%s' has shape [%s], config.json implies [%s]", f->path,
                                t->name, got, want);
        }
        if (!usable_dtype(e))
            return rz_error_set(err, RZ_ERR_FORMAT,
                                "%s: tensor '%s' has dtype %s (expected F32, F16 or BF16)", f->path,
                                t->name, e->dtype);
        int rc = read_tensor(f, e, p->param + t->offset, t->numel, err);
        if (rc) return rc;
        e->used = 1;
    }
    for (int i = 0; i < f->n; i++) {
        st_entry *e = &f->e[i];
        if (e->used || is_ignored(e->name)) continue;
        if (c->tied && strcmp(e->name, "lm_head.weight") == 0) {
            /* some exporters write the tied head anyway: accept it when it is the embedding */
            const rz_tensor *t = rz_params_find(p, "model.embed_tokens.weight");
            int same = e->ndim == 2 && e->shape[0] == t->shape[0] && e->shape[1] == t->shape[1] &&
                       usable_dtype(e);
            float *tmp = same ? malloc(t->numel * sizeof(float)) : NULL;
            if (same && !tmp)
                return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate a copy of lm_head.weight",
                                    f->path);
            int rc = same ? read_tensor(f, e, tmp, t->numel, err) : RZ_OK;
            if (rc) {
                free(tmp);
                return rc;
            }
            same = same && memcmp(tmp, p->param + t->offset, t->numel * sizeof(float)) == 0;
            free(tmp);
            if (!same)
                return rz_error_set(err, RZ_ERR_FORMAT,
                                    "%s: config.json ties the embeddings but lm_head.weight differs "
                                    "from model.embed_tokens.weight", f->path);
            continue;
        }
        return rz_error_set(err, RZ_ERR_FORMAT,
                            "%s: unexpected tensor '%s' (not part of the model config.json describes)",
                            f->path, e->name);
    }
    return RZ_OK;
}

int rz_transformer_import(rz_transformer **out, const char *dir, rz_error *err)
{
    if (!out) return rz_error_set(err, RZ_ERR_ARG, "import: out is NULL");
    *out = NULL;
    if (!dir) return rz_error_set(err, RZ_ERR_ARG, "import: the directory is NULL");
    char *cpath = join(dir, "config.json", err);
    if (!cpath) return RZ_ERR_NOMEM;
    rz_transformer_config cfg;
    int rc = parse_config(cpath, &cfg, err);
    free(cpath);
    if (rc) return rc;

    char *path = join(dir, "model.safetensors", err);
    if (!path) return RZ_ERR_NOMEM;
    st_file f;
    rc = st_open(&f, path, err);
    /* a config that asks for more weights than the file can hold (2 bytes each at least)
     * is refused before anything that large is allocated */
    if (!rc && config_numel(&cfg) * 2 > (double)f.data_len)
        rc = rz_error_set(err, RZ_ERR_FORMAT,
                          "%s: %llu data bytes cannot hold the %.0f weights config.json describes",
                          path, (unsigned long long)f.data_len, config_numel(&cfg));
    rz_transformer *m = NULL;
    if (!rc) rc = rz_transformer_create(&m, &cfg, 0, err);
    if (!rc) rc = load_weights(m, &f, err);
    st_close(&f);
    free(path);
    if (rc) {
        rz_transformer_free(m);
        return rc;
    }
    *out = m;
    return RZ_OK;
}

/* ------------------------------------------------------------ the tokenizer */

int rz_tokenizer_import(rz_tokenizer **out, const char *dir, rz_error *err)
{
    if (!out) return rz_error_set(err, RZ_ERR_ARG, "tokenizer import: out is NULL");
    *out = NULL;
    if (!dir) return rz_error_set(err, RZ_ERR_ARG, "tokenizer import: the directory is NULL");
    char *path = join(dir, "rlzero_tokenizer.json", err);
    if (!path) return RZ_ERR_NOMEM;
    json_t *o;
    int rc = load_json(path, &o, err);
    if (rc) {
        free(path);
        return rc;
    }
    json_t *fmt = json_object_get(o, "format"), *alpha = json_object_get(o, "alphabet"),
           *specials = json_object_get(o, "specials"), *size = json_object_get(o, "vocab_size");
    const char **sp = NULL;
    size_t ns = json_array_size(specials);
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), TOKENIZER_FORMAT) != 0)
        rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: \"format\" must be \"%s\"", path, TOKENIZER_FORMAT);
    else if (!json_is_string(alpha) || !json_is_array(specials) || !json_is_integer(size))
        rc = rz_error_set(err, RZ_ERR_FORMAT,
                          "%s: needs a string \"alphabet\", an array \"specials\" and an integer "
                          "\"vocab_size\"", path);
    else if (ns > 4096)
        rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: %zu specials is too many", path, ns);
    else if (!(sp = calloc(ns ? ns : 1, sizeof *sp)))
        rc = rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate the specials", path);
    for (size_t i = 0; !rc && i < ns; i++) {
        json_t *s = json_array_get(specials, i);
        if (!json_is_string(s))
            rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: special %zu is not a string", path, i);
        else
            sp[i] = json_string_value(s);
    }
    rz_tokenizer *t = NULL;
    rz_error e2;
    if (!rc && rz_tokenizer_chars(&t, json_string_value(alpha), sp, (int)ns, &e2) != RZ_OK)
        rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: %s", path, e2.msg);
    if (!rc && rz_tokenizer_size(t) != json_integer_value(size))
        rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: vocab_size %lld, but the alphabet and specials "
                          "make %d tokens", path, (long long)json_integer_value(size),
                          rz_tokenizer_size(t));
    free(sp);
    json_decref(o);
    free(path);
    if (rc) {
        rz_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return RZ_OK;
}

/* checkpoint.c: save and load training state as one msgpack map, written atomically.
 *
 * Layout of a file (keys in this order; a reader looks keys up by name):
 *   format "rlzero-checkpoint", version 1, kind, config {field: value},
 *   tokenizer {alphabet, specials} (absent without a tokenizer),
 *   layout [{name, shape, offset, numel, decay}], params bin (little-endian float32, numel),
 *   adam_m, adam_v (bin, only with the optimizer state), step, rng [4 x uint64],
 *   extra bin, and last "checksum": a fixed-width uint64 (0xcf + 8 bytes, big-endian as
 *   msgpack has it) holding XXH64 (seed 0) of every byte of the file before that 0xcf.
 * The checksum sits at a fixed place at the end so a reader verifies it before it parses
 * anything, and a truncated file never reaches the parser. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>
#include <xxhash.h>

#include "rlzero.h"

#define FORMAT_TAG "rlzero-checkpoint"
#define FORMAT_VERSION 1

/* every file starts with a map header then these bytes: "format": "rlzero-checkpoint" */
static const unsigned char format_prefix[] = "\xa6" "format" "\xb1" FORMAT_TAG;
#define PREFIX_LEN (sizeof format_prefix - 1)
/* and ends with "checksum": 0xcf + 8 bytes */
static const unsigned char checksum_key[] = "\xa8" "checksum" "\xcf";
#define TRAILER_KEY_LEN (sizeof checksum_key - 1)
#define TRAILER_LEN (TRAILER_KEY_LEN + 8)

/* ------------------------------------------------------------ atomic writes */

int rz_write_atomic(const char *path, const void *data, size_t len, rz_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate a temporary name", path);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(e));
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot open a temporary file: %s", path, strerror(e));
    }
    const char *step = "write";
    int e = 0;
    if (len && fwrite(data, 1, len, f) != len) e = errno ? errno : EIO;
    if (!e && fflush(f) != 0) { e = errno; step = "flush"; }
    if (!e && fsync(fileno(f)) != 0) { e = errno; step = "fsync"; }
    if (fclose(f) != 0 && !e) { e = errno; step = "close"; }
    if (!e && rename(tmp, path) != 0) { e = errno; step = "rename"; }
    if (e) {
        unlink(tmp);
        free(tmp);
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot %s: %s", path, step, strerror(e));
    }
    free(tmp);

    /* make the rename itself durable: sync the directory that holds the entry */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? malloc((size_t)(slash - path) + 2) : NULL;
    if (slash && !dir) return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate a name", path);
    if (dir) {
        size_t dl = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, dl);
        dir[dl] = '\0';
    }
    int dfd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    e = 0;
    if (dfd < 0) e = errno;
    else if (fsync(dfd) != 0) e = errno;
    if (dfd >= 0) close(dfd);
    free(dir);
    /* some file systems cannot sync a directory; the data itself is already synced */
    if (e && e != EINVAL && e != ENOTSUP && e != EACCES)
        return rz_error_set(err, RZ_ERR_IO, "%s: written, but its directory cannot be synced: %s", path,
                            strerror(e));
    return RZ_OK;
}

/* ---------------------------------------------------------------- configs */

typedef struct {
    const char *name;
    size_t off;
    int is_float;
    int optional; /* absent in older checkpoints: reads as 0 */
} cfg_field;

static const cfg_field transformer_fields[] = {
    {"vocab", offsetof(rz_transformer_config, vocab), 0, 0},
    {"dim", offsetof(rz_transformer_config, dim), 0, 0},
    {"layers", offsetof(rz_transformer_config, layers), 0, 0},
    {"heads", offsetof(rz_transformer_config, heads), 0, 0},
    {"hidden", offsetof(rz_transformer_config, hidden), 0, 0},
    {"context", offsetof(rz_transformer_config, context), 0, 0},
    {"tied", offsetof(rz_transformer_config, tied), 0, 0},
    {"rope_theta", offsetof(rz_transformer_config, rope_theta), 1, 0},
    {"norm_eps", offsetof(rz_transformer_config, norm_eps), 1, 0},
};

static const cfg_field mlp_fields[] = {
    {"inputs", offsetof(rz_mlp_config, inputs), 0, 0},
    {"outputs", offsetof(rz_mlp_config, outputs), 0, 0},
    {"layers", offsetof(rz_mlp_config, layers), 0, 0},
    {"hidden", offsetof(rz_mlp_config, hidden), 0, 0},
    {"activation", offsetof(rz_mlp_config, activation), 0, 0},
    {"value", offsetof(rz_mlp_config, value), 0, 1},
};

#define NFIELDS(a) ((int)(sizeof a / sizeof a[0]))

/* ------------------------------------------------------------------ save */

static int is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static int pack_cstr(msgpack_packer *pk, const char *s)
{
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* n floats as a bin of little-endian float32 */
static int pack_floats(msgpack_packer *pk, const float *x, size_t n)
{
    int rc = msgpack_pack_bin(pk, n * sizeof(float));
    if (rc || n == 0) return rc;
    if (is_little_endian()) return msgpack_pack_bin_body(pk, x, n * sizeof(float));
    unsigned char chunk[4096];
    for (size_t i = 0; i < n && !rc; i += sizeof chunk / 4) {
        size_t m = n - i < sizeof chunk / 4 ? n - i : sizeof chunk / 4;
        for (size_t j = 0; j < m; j++) {
            unsigned char b[4];
            memcpy(b, &x[i + j], 4);
            for (int k = 0; k < 4; k++) chunk[4 * j + (size_t)k] = b[3 - k];
        }
        rc = msgpack_pack_bin_body(pk, chunk, 4 * m);
    }
    return rc;
}

static int pack_config(msgpack_packer *pk, const void *cfg, const cfg_field *f, int n)
{
    int rc = msgpack_pack_map(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        rc |= pack_cstr(pk, f[i].name);
        const char *p = (const char *)cfg + f[i].off;
        if (f[i].is_float) {
            float v;
            memcpy(&v, p, sizeof v);
            rc |= msgpack_pack_float(pk, v);
        } else {
            int v;
            memcpy(&v, p, sizeof v);
            rc |= msgpack_pack_int(pk, v);
        }
    }
    return rc;
}

int rz_checkpoint_save(const char *path, const rz_checkpoint *ck, rz_error *err)
{
    int is_tf = strcmp(ck->kind, "transformer") == 0, is_mlp = strcmp(ck->kind, "mlp") == 0;
    if (!is_tf && !is_mlp)
        return rz_error_set(err, RZ_ERR_ARG, "%s: unknown checkpoint kind '%.16s' (transformer, mlp)", path,
                            ck->kind);
    const rz_params *p = ck->params;
    if (!p || !p->param)
        return rz_error_set(err, RZ_ERR_ARG, "%s: checkpoint has no allocated parameters", path);
    if (ck->with_optimizer && (!p->m || !p->v))
        return rz_error_set(err, RZ_ERR_ARG, "%s: optimizer state requested but params have no m, v", path);
    if (ck->extra_len && !ck->extra)
        return rz_error_set(err, RZ_ERR_ARG, "%s: extra_len %zu with a NULL extra", path, ck->extra_len);

    /* reserve the whole file up front: the float buffers dominate, the rest is small */
    size_t nbufs = ck->with_optimizer ? 3 : 1;
    size_t estimate = nbufs * p->numel * sizeof(float) + ck->extra_len + (size_t)p->count * 160 + 4096;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    sb.data = malloc(estimate);
    if (!sb.data)
        return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot allocate %zu bytes to serialise", path, estimate);
    sb.alloc = estimate;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

    size_t nkeys = 10 + (ck->tokenizer ? 1 : 0) + (ck->with_optimizer ? 2 : 0);
    int rc = msgpack_pack_map(&pk, nkeys);
    rc |= pack_cstr(&pk, "format") | pack_cstr(&pk, FORMAT_TAG);
    rc |= pack_cstr(&pk, "version") | msgpack_pack_int(&pk, FORMAT_VERSION);
    rc |= pack_cstr(&pk, "kind") | pack_cstr(&pk, ck->kind);
    rc |= pack_cstr(&pk, "config");
    if (is_tf) rc |= pack_config(&pk, &ck->transformer, transformer_fields, NFIELDS(transformer_fields));
    else rc |= pack_config(&pk, &ck->mlp, mlp_fields, NFIELDS(mlp_fields));
    if (ck->tokenizer) {
        const rz_tokenizer *t = ck->tokenizer;
        int ns = rz_tokenizer_nspecials(t);
        rc |= pack_cstr(&pk, "tokenizer") | msgpack_pack_map(&pk, 2);
        rc |= pack_cstr(&pk, "alphabet") | pack_cstr(&pk, rz_tokenizer_alphabet(t));
        rc |= pack_cstr(&pk, "specials") | msgpack_pack_array(&pk, (size_t)ns);
        for (int i = 0; i < ns; i++) rc |= pack_cstr(&pk, rz_tokenizer_special(t, i));
    }
    rc |= pack_cstr(&pk, "layout") | msgpack_pack_array(&pk, (size_t)p->count);
    for (int i = 0; i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        rc |= msgpack_pack_map(&pk, 5);
        rc |= pack_cstr(&pk, "name") | pack_cstr(&pk, t->name);
        rc |= pack_cstr(&pk, "shape") | msgpack_pack_array(&pk, (size_t)t->ndim);
        for (int d = 0; d < t->ndim; d++) rc |= msgpack_pack_int(&pk, t->shape[d]);
        rc |= pack_cstr(&pk, "offset") | msgpack_pack_uint64(&pk, t->offset);
        rc |= pack_cstr(&pk, "numel") | msgpack_pack_uint64(&pk, t->numel);
        rc |= pack_cstr(&pk, "decay") | msgpack_pack_int(&pk, t->decay);
    }
    rc |= pack_cstr(&pk, "params") | pack_floats(&pk, p->param, p->numel);
    if (ck->with_optimizer) {
        rc |= pack_cstr(&pk, "adam_m") | pack_floats(&pk, p->m, p->numel);
        rc |= pack_cstr(&pk, "adam_v") | pack_floats(&pk, p->v, p->numel);
    }
    rc |= pack_cstr(&pk, "step") | msgpack_pack_int64(&pk, ck->step);
    rc |= pack_cstr(&pk, "rng") | msgpack_pack_array(&pk, 4);
    for (int i = 0; i < 4; i++) rc |= msgpack_pack_uint64(&pk, ck->rng.s[i]);
    rc |= pack_cstr(&pk, "extra") | msgpack_pack_bin_with_body(&pk, ck->extra, ck->extra_len);
    rc |= pack_cstr(&pk, "checksum");
    if (!rc) {
        uint64_t h = XXH64(sb.data, sb.size, 0);
        rc |= msgpack_pack_fix_uint64(&pk, h);
    }
    if (rc) {
        msgpack_sbuffer_destroy(&sb);
        return rz_error_set(err, RZ_ERR_NOMEM, "%s: out of memory while serialising", path);
    }
    rc = rz_write_atomic(path, sb.data, sb.size, err);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ------------------------------------------------------------------ load */

typedef struct {
    const char *path;
    rz_error *err;
} loader;

static int fail(const loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const loader *L, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rz_error_set(L->err, RZ_ERR_FORMAT, "%s: %s", L->path, msg);
}

static int str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (str_is(&map->via.map.ptr[i].key, key)) return &map->via.map.ptr[i].val;
    return NULL;
}

static const char *type_name(int type)
{
    switch (type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a number";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "a bin";
    default: return "another type";
    }
}

/* A required field of the given type (integers of either sign count as one type);
 * where names the enclosing map in messages ("" for the top level). */
static int need(const loader *L, const msgpack_object *map, const char *where, const char *key, int type,
                const msgpack_object **out)
{
    const msgpack_object *o = map_get(map, key);
    if (!o) return fail(L, "missing field '%s%s'", where, key);
    int t = o->type;
    if (t == MSGPACK_OBJECT_NEGATIVE_INTEGER) t = MSGPACK_OBJECT_POSITIVE_INTEGER;
    if (t == MSGPACK_OBJECT_FLOAT32) t = MSGPACK_OBJECT_FLOAT64;
    if (type == MSGPACK_OBJECT_FLOAT64 && t == MSGPACK_OBJECT_POSITIVE_INTEGER) t = type;
    if (t != type)
        return fail(L, "field '%s%s' is %s, expected %s", where, key, type_name(o->type), type_name(type));
    *out = o;
    return RZ_OK;
}

static int need_int(const loader *L, const msgpack_object *map, const char *where, const char *key,
                    int64_t lo, int64_t hi, int64_t *v)
{
    const msgpack_object *o;
    int rc = need(L, map, where, key, MSGPACK_OBJECT_POSITIVE_INTEGER, &o);
    if (rc) return rc;
    int ok;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        ok = o->via.u64 <= (uint64_t)hi;
        *v = (int64_t)o->via.u64;
    } else {
        *v = o->via.i64;
        ok = 1;
    }
    if (!ok || *v < lo || *v > hi) return fail(L, "field '%s%s' is out of range", where, key);
    return RZ_OK;
}

static int load_config(const loader *L, const msgpack_object *cfg, void *out, const cfg_field *f, int n)
{
    for (int i = 0; i < n; i++) {
        char *p = (char *)out + f[i].off;
        if (f[i].optional && !map_get(cfg, f[i].name)) {
            memset(p, 0, f[i].is_float ? sizeof(float) : sizeof(int));
            continue;
        }
        if (f[i].is_float) {
            const msgpack_object *o;
            int rc = need(L, cfg, "config.", f[i].name, MSGPACK_OBJECT_FLOAT64, &o);
            if (rc) return rc;
            float v = o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64 ? (float)o->via.f64
                      : o->type == MSGPACK_OBJECT_POSITIVE_INTEGER                           ? (float)o->via.u64
                                                                                              : (float)o->via.i64;
            memcpy(p, &v, sizeof v);
        } else {
            int64_t v;
            int rc = need_int(L, cfg, "config.", f[i].name, -2147483647 - 1, 2147483647, &v);
            if (rc) return rc;
            int iv = (int)v;
            memcpy(p, &iv, sizeof iv);
        }
    }
    return RZ_OK;
}

/* copies a bin of little-endian float32 into x (n) */
static int load_floats(const loader *L, const msgpack_object *map, const char *key, float *x, size_t n)
{
    const msgpack_object *o;
    int rc = need(L, map, "", key, MSGPACK_OBJECT_BIN, &o);
    if (rc) return rc;
    if (o->via.bin.size / sizeof(float) != n || o->via.bin.size % sizeof(float))
        return fail(L, "layout inconsistent: '%s' holds %u bytes, the layout needs %zu floats (%zu bytes)",
                    key, (unsigned)o->via.bin.size, n, n * sizeof(float));
    if (n == 0) return RZ_OK;
    memcpy(x, o->via.bin.ptr, n * sizeof(float));
    if (!is_little_endian()) {
        unsigned char *b = (unsigned char *)x;
        for (size_t i = 0; i < n; i++, b += 4) {
            unsigned char t0 = b[0], t1 = b[1];
            b[0] = b[3]; b[1] = b[2]; b[2] = t1; b[3] = t0;
        }
    }
    return RZ_OK;
}

static int load_layout(const loader *L, const msgpack_object *root, rz_params *p)
{
    const msgpack_object *lay;
    int rc = need(L, root, "", "layout", MSGPACK_OBJECT_ARRAY, &lay);
    if (rc) return rc;
    for (uint32_t i = 0; i < lay->via.array.size; i++) {
        const msgpack_object *e = &lay->via.array.ptr[i], *name, *shape;
        char where[48];
        snprintf(where, sizeof where, "layout[%u].", (unsigned)i);
        if (e->type != MSGPACK_OBJECT_MAP) return fail(L, "layout inconsistent: entry %u is not a map", (unsigned)i);
        if ((rc = need(L, e, where, "name", MSGPACK_OBJECT_STR, &name))) return rc;
        if ((rc = need(L, e, where, "shape", MSGPACK_OBJECT_ARRAY, &shape))) return rc;
        char nm[RZ_NAME_MAX];
        if (name->via.str.size == 0 || name->via.str.size >= RZ_NAME_MAX ||
            memchr(name->via.str.ptr, 0, name->via.str.size))
            return fail(L, "layout inconsistent: entry %u has a bad tensor name", (unsigned)i);
        memcpy(nm, name->via.str.ptr, name->via.str.size);
        nm[name->via.str.size] = '\0';
        uint32_t nd = shape->via.array.size;
        if (nd < 1 || nd > RZ_MAX_DIMS)
            return fail(L, "layout inconsistent: tensor '%s' has %u dims (1..%d)", nm, (unsigned)nd, RZ_MAX_DIMS);
        int dims[RZ_MAX_DIMS];
        for (uint32_t d = 0; d < nd; d++) {
            const msgpack_object *x = &shape->via.array.ptr[d];
            if (x->type != MSGPACK_OBJECT_POSITIVE_INTEGER || x->via.u64 < 1 || x->via.u64 > 0x7fffffff)
                return fail(L, "layout inconsistent: tensor '%s' has a bad dim %u", nm, (unsigned)d);
            dims[d] = (int)x->via.u64;
        }
        int64_t offset, numel, decay;
        if ((rc = need_int(L, e, where, "offset", 0, INT64_MAX, &offset))) return rc;
        if ((rc = need_int(L, e, where, "numel", 0, INT64_MAX, &numel))) return rc;
        if ((rc = need_int(L, e, where, "decay", 0, 1, &decay))) return rc;
        rz_error e2;
        if (rz_params_add(p, nm, (int)nd, dims, (int)decay, &e2))
            return fail(L, "layout inconsistent: %s", e2.msg);
        const rz_tensor *t = &p->tensors[p->count - 1];
        if ((uint64_t)numel != t->numel)
            return fail(L, "layout inconsistent: tensor '%s' stores numel %lld, its shape gives %zu", nm,
                        (long long)numel, t->numel);
        if ((uint64_t)offset != t->offset)
            return fail(L, "layout inconsistent: tensor '%s' stores offset %lld, expected %zu", nm,
                        (long long)offset, t->offset);
    }
    if (p->count == 0) return fail(L, "layout inconsistent: no tensors");
    return RZ_OK;
}

static int load_tokenizer(const loader *L, const msgpack_object *root, rz_tokenizer **out)
{
    const msgpack_object *tok = map_get(root, "tokenizer"), *alpha, *specs;
    if (!tok || tok->type == MSGPACK_OBJECT_NIL) return RZ_OK;
    if (tok->type != MSGPACK_OBJECT_MAP) return fail(L, "field 'tokenizer' is %s, expected a map", type_name(tok->type));
    int rc;
    if ((rc = need(L, tok, "tokenizer.", "alphabet", MSGPACK_OBJECT_STR, &alpha))) return rc;
    if ((rc = need(L, tok, "tokenizer.", "specials", MSGPACK_OBJECT_ARRAY, &specs))) return rc;
    uint32_t ns = specs->via.array.size;
    /* one block holds the NUL-terminated copies the tokenizer constructor wants */
    size_t bytes = alpha->via.str.size + 1;
    for (uint32_t i = 0; i < ns; i++) {
        if (specs->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
            return fail(L, "field 'tokenizer.specials[%u]' is not a string", (unsigned)i);
        bytes += specs->via.array.ptr[i].via.str.size + 1;
    }
    char *block = malloc(bytes);
    const char **sp = malloc((ns ? ns : 1) * sizeof *sp);
    if (!block || !sp) {
        free(block);
        free(sp);
        return rz_error_set(L->err, RZ_ERR_NOMEM, "%s: cannot allocate the tokenizer text", L->path);
    }
    char *w = block;
    const char *alphabet = w;
    memcpy(w, alpha->via.str.ptr, alpha->via.str.size);
    w[alpha->via.str.size] = '\0';
    w += alpha->via.str.size + 1;
    for (uint32_t i = 0; i < ns; i++) {
        const msgpack_object *s = &specs->via.array.ptr[i];
        memcpy(w, s->via.str.ptr, s->via.str.size);
        w[s->via.str.size] = '\0';
        sp[i] = w;
        w += s->via.str.size + 1;
    }
    rz_error e2;
    rc = rz_tokenizer_chars(out, alphabet, sp, (int)ns, &e2);
    free(block);
    free(sp);
    if (rc == RZ_ERR_NOMEM) return rz_error_set(L->err, rc, "%s: %s", L->path, e2.msg);
    if (rc) return fail(L, "bad tokenizer: %s", e2.msg);
    return RZ_OK;
}

static int read_file(const loader *L, unsigned char **buf, size_t *size)
{
    *buf = NULL;
    *size = 0;
    int fd = open(L->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return rz_error_set(L->err, RZ_ERR_IO, "%s: cannot open: %s", L->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return rz_error_set(L->err, RZ_ERR_IO, "%s: cannot stat: %s", L->path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return rz_error_set(L->err, RZ_ERR_IO, "%s: cannot read: %s", L->path, strerror(EISDIR));
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size : 0;
    unsigned char *b = malloc(cap + 1);
    if (!b) {
        close(fd);
        return rz_error_set(L->err, RZ_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", L->path, cap + 1);
    }
    size_t n = 0;
    for (;;) {
        if (n == cap) { /* the file grew, or st_size was not informative */
            size_t ncap = cap ? 2 * cap : 4096;
            unsigned char *nb = realloc(b, ncap + 1);
            if (!nb) {
                free(b);
                close(fd);
                return rz_error_set(L->err, RZ_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", L->path, ncap);
            }
            b = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(b);
            close(fd);
            return rz_error_set(L->err, RZ_ERR_IO, "%s: cannot read: %s", L->path, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    *buf = b;
    *size = n;
    return RZ_OK;
}

/* 1 when the bytes present are consistent with our format prefix (all of it or a start) */
static int prefix_plausible(const unsigned char *b, size_t n)
{
    if (n == 0) return 0;
    size_t h;
    if (b[0] >= 0x80 && b[0] <= 0x8f) h = 1;
    else if (b[0] == 0xde) h = 3;
    else if (b[0] == 0xdf) h = 5;
    else return 0;
    if (n <= h) return 1;
    size_t m = n - h < PREFIX_LEN ? n - h : PREFIX_LEN;
    return memcmp(b + h, format_prefix, m) == 0;
}

static uint64_t read_be64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | b[i];
    return v;
}

static uint64_t read_be(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | b[i];
    return v;
}

/* msgpack-c allocates room for every element an array or map header declares before it has
 * seen them, so a 20-byte file declaring 2^32 entries asks for 96 GiB. Every element takes
 * at least one byte: walk the headers of the object at b (skipping payloads), keeping the
 * count of elements still owed, and refuse when that count exceeds the bytes left. Returns
 * the object's size in bytes, or 0 when it is malformed, truncated or implausible. */
size_t rz_msgpack_object_size(const unsigned char *b, size_t n)
{
    uint64_t owed = 1;
    size_t i = 0;
    while (owed > 0) {
        if (owed > n - i) return 0;
        unsigned c = b[i++];
        owed--;
        uint64_t count = 0, skip = 0;
        int lenb = 0; /* bytes of a length field that follows c */
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) continue;
        if (c >= 0x80 && c <= 0x8f) count = 2 * (uint64_t)(c & 0x0f);
        else if (c >= 0x90 && c <= 0x9f) count = c & 0x0f;
        else if (c >= 0xa0 && c <= 0xbf) skip = c & 0x1f;
        else {
            switch (c) {
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xca: case 0xce: case 0xd2: skip = 4; break;
            case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xc4: case 0xd9: case 0xc7: lenb = 1; break;
            case 0xc5: case 0xda: case 0xc8: case 0xdc: case 0xde: lenb = 2; break;
            case 0xc6: case 0xdb: case 0xc9: case 0xdd: case 0xdf: lenb = 4; break;
            default: return 0; /* 0xc1: never used */
            }
            if (lenb) {
                if ((size_t)lenb > n - i) return 0;
                uint64_t v = read_be(b + i, lenb);
                i += (size_t)lenb;
                if (c == 0xdc || c == 0xdd) count = v;
                else if (c == 0xde || c == 0xdf) count = 2 * v;
                else skip = v + (c >= 0xc7 && c <= 0xc9); /* ext: a type byte, then the data */
            }
        }
        if (skip > n - i) return 0;
        i += (size_t)skip;
        owed += count;
    }
    return i;
}

static int parse(const loader *L, const unsigned char *buf, size_t size, rz_checkpoint *ck)
{
    /* integrity first, so every damaged file gets the same clear verdict */
    if (size == 0) return fail(L, "empty file (0 bytes): truncated, not a complete rlzero checkpoint");
    int trailer = size >= PREFIX_LEN + 1 + TRAILER_LEN &&
                  memcmp(buf + size - TRAILER_LEN, checksum_key, TRAILER_KEY_LEN) == 0;
    if (!trailer) {
        if (prefix_plausible(buf, size))
            return fail(L, "truncated or corrupted: %zu bytes and no checksum at the end of the file", size);
        return fail(L, "not an rlzero checkpoint (no '" FORMAT_TAG "' format tag at the start)");
    }
    uint64_t stored = read_be64(buf + size - 8);
    uint64_t computed = XXH64(buf, size - 9, 0);
    if (stored != computed)
        return fail(L, "checksum mismatch (stored %016llx, computed %016llx): the file is corrupted",
                    (unsigned long long)stored, (unsigned long long)computed);

    if (rz_msgpack_object_size(buf, size) == 0)
        return fail(L, "not an rlzero checkpoint (not one msgpack map: a declared length exceeds the "
                       "%zu bytes of the file)", size);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(&up, (const char *)buf, size, &off);
    int rc = RZ_OK;
    const msgpack_object *root = &up.data, *o;
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        rc = rz_error_set(L->err, RZ_ERR_NOMEM, "%s: out of memory while parsing", L->path);
        goto done;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS || off != size || root->type != MSGPACK_OBJECT_MAP) {
        rc = fail(L, "not an rlzero checkpoint (not one msgpack map)");
        goto done;
    }
    o = map_get(root, "format");
    if (!o || !str_is(o, FORMAT_TAG)) {
        rc = fail(L, "not an rlzero checkpoint (format tag is not '" FORMAT_TAG "')");
        goto done;
    }
    o = map_get(root, "version");
    if (!o) { rc = fail(L, "missing field 'version'"); goto done; }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 != FORMAT_VERSION) {
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            rc = fail(L, "unsupported version %llu (this build reads version %d)", (unsigned long long)o->via.u64,
                      FORMAT_VERSION);
        else
            rc = fail(L, "unsupported version (field 'version' is %s)", type_name(o->type));
        goto done;
    }

    if ((rc = need(L, root, "", "kind", MSGPACK_OBJECT_STR, &o))) goto done;
    if (str_is(o, "transformer") || str_is(o, "mlp")) {
        memcpy(ck->kind, o->via.str.ptr, o->via.str.size);
        ck->kind[o->via.str.size] = '\0';
    } else {
        rc = fail(L, "unknown kind '%.*s' (transformer, mlp)", (int)(o->via.str.size < 40 ? o->via.str.size : 40),
                  o->via.str.ptr);
        goto done;
    }
    const msgpack_object *cfg;
    if ((rc = need(L, root, "", "config", MSGPACK_OBJECT_MAP, &cfg))) goto done;
    if (strcmp(ck->kind, "transformer") == 0)
        rc = load_config(L, cfg, &ck->transformer, transformer_fields, NFIELDS(transformer_fields));
    else
        rc = load_config(L, cfg, &ck->mlp, mlp_fields, NFIELDS(mlp_fields));
    if (rc) goto done;

    if ((rc = need_int(L, root, "", "step", INT64_MIN, INT64_MAX, &ck->step))) goto done;
    if ((rc = need(L, root, "", "rng", MSGPACK_OBJECT_ARRAY, &o))) goto done;
    if (o->via.array.size != 4) {
        rc = fail(L, "field 'rng' has %u entries, expected 4", (unsigned)o->via.array.size);
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            rc = fail(L, "field 'rng[%d]' is not an unsigned integer", i);
            goto done;
        }
        ck->rng.s[i] = o->via.array.ptr[i].via.u64;
    }
    const msgpack_object *params, *extra;
    if ((rc = need(L, root, "", "params", MSGPACK_OBJECT_BIN, &params))) goto done;
    if ((rc = need(L, root, "", "extra", MSGPACK_OBJECT_BIN, &extra))) goto done;
    const msgpack_object *am = map_get(root, "adam_m"), *av = map_get(root, "adam_v");
    if (!am != !av) {
        rc = fail(L, "missing field '%s' (the optimizer state needs both adam_m and adam_v)", am ? "adam_v" : "adam_m");
        goto done;
    }
    ck->with_optimizer = am != NULL;

    ck->params = calloc(1, sizeof *ck->params);
    if (!ck->params) {
        rc = rz_error_set(L->err, RZ_ERR_NOMEM, "%s: cannot allocate the parameter table", L->path);
        goto done;
    }
    if ((rc = load_layout(L, root, ck->params))) goto done;
    /* check the sizes before allocating, so a bad layout cannot ask for a huge buffer */
    const char *bufs[3] = {"params", "adam_m", "adam_v"};
    for (int i = 0; i < (ck->with_optimizer ? 3 : 1); i++) {
        const msgpack_object *b = map_get(root, bufs[i]);
        if (b->type != MSGPACK_OBJECT_BIN) {
            rc = fail(L, "field '%s' is %s, expected a bin", bufs[i], type_name(b->type));
            goto done;
        }
        if (b->via.bin.size % sizeof(float) || b->via.bin.size / sizeof(float) != ck->params->numel) {
            rc = fail(L, "layout inconsistent: '%s' holds %u bytes, the layout needs %zu floats (%zu bytes)",
                      bufs[i], (unsigned)b->via.bin.size, ck->params->numel, ck->params->numel * sizeof(float));
            goto done;
        }
    }
    rz_error e2;
    if ((rc = rz_params_alloc(ck->params, &e2))) {
        rz_error_set(L->err, rc, "%s: %s", L->path, e2.msg);
        goto done;
    }
    if ((rc = load_floats(L, root, "params", ck->params->param, ck->params->numel))) goto done;
    if (ck->with_optimizer) {
        if ((rc = load_floats(L, root, "adam_m", ck->params->m, ck->params->numel))) goto done;
        if ((rc = load_floats(L, root, "adam_v", ck->params->v, ck->params->numel))) goto done;
    }
    if ((rc = load_tokenizer(L, root, &ck->tokenizer))) goto done;
    ck->extra_len = extra->via.bin.size;
    if (ck->extra_len) {
        ck->extra = malloc(ck->extra_len);
        if (!ck->extra) {
            rc = rz_error_set(L->err, RZ_ERR_NOMEM, "%s: cannot allocate %zu bytes of extra", L->path, ck->extra_len);
            goto done;
        }
        memcpy(ck->extra, extra->via.bin.ptr, ck->extra_len);
    }
done:
    msgpack_unpacked_destroy(&up);
    return rc;
}

int rz_checkpoint_load(const char *path, rz_checkpoint *ck, rz_error *err)
{
    memset(ck, 0, sizeof *ck);
    loader L = {path, err};
    unsigned char *buf;
    size_t size;
    int rc = read_file(&L, &buf, &size);
    if (rc) return rc;
    rc = parse(&L, buf, size, ck);
    free(buf);
    if (rc) rz_checkpoint_release(ck);
    return rc;
}

void rz_checkpoint_release(rz_checkpoint *ck)
{
    if (!ck) return;
    rz_tokenizer_free(ck->tokenizer);
    if (ck->params) {
        rz_params_free(ck->params);
        free(ck->params);
    }
    free(ck->extra);
    memset(ck, 0, sizeof *ck);
}

int rz_params_copy_from(rz_params *dst, const rz_params *src, int with_optimizer, rz_error *err)
{
    if (!dst->param || !src->param)
        return rz_error_set(err, RZ_ERR_STATE, "params copy: %s params are not allocated",
                            dst->param ? "source" : "destination");
    if (with_optimizer && (!dst->m || !dst->v || !src->m || !src->v))
        return rz_error_set(err, RZ_ERR_STATE, "params copy: optimizer moments are not allocated");
    int n = dst->count < src->count ? dst->count : src->count;
    for (int i = 0; i < n; i++) {
        const rz_tensor *a = &dst->tensors[i], *b = &src->tensors[i];
        if (strcmp(a->name, b->name) != 0)
            return rz_error_set(err, RZ_ERR_ARG, "params copy: tensor %d is '%s' here but '%s' in the source", i,
                                a->name, b->name);
        int same = a->ndim == b->ndim && a->numel == b->numel && a->offset == b->offset;
        for (int d = 0; same && d < a->ndim; d++) same = a->shape[d] == b->shape[d];
        if (!same) {
            char sa[64], sb[64];
            int pa = 0, pb = 0;
            for (int d = 0; d < a->ndim; d++)
                pa += snprintf(sa + pa, sizeof sa - (size_t)pa, d ? ", %d" : "%d", a->shape[d]);
            for (int d = 0; d < b->ndim; d++)
                pb += snprintf(sb + pb, sizeof sb - (size_t)pb, d ? ", %d" : "%d", b->shape[d]);
            return rz_error_set(err, RZ_ERR_ARG, "params copy: tensor '%s' has shape (%s) here but (%s) in the source",
                                a->name, sa, sb);
        }
    }
    if (dst->count != src->count || dst->numel != src->numel)
        return rz_error_set(err, RZ_ERR_ARG, "params copy: %d tensors here but %d in the source (first extra: '%s')",
                            dst->count, src->count,
                            dst->count > src->count ? dst->tensors[n].name : src->tensors[n].name);
    size_t bytes = dst->numel * sizeof(float);
    memcpy(dst->param, src->param, bytes);
    if (with_optimizer) {
        memcpy(dst->m, src->m, bytes);
        memcpy(dst->v, src->v, bytes);
    }
    return RZ_OK;
}

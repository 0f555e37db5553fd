/* episodes.c: the episode log of a run, one msgpack map per sampled episode.
 *
 * A file is a header map {"format": "rlzero-episodes", "version": 1} followed by episode
 * maps {step, group, tokens, truncated, reward, accuracy, format, language, advantage,
 * prompt, answer, completion}, appended as training goes. Appending is one write() of the
 * packed batch to a file opened O_APPEND, so a crash loses at most the batch in flight;
 * the reader is a pure function over bytes and refuses a truncated or malformed file,
 * naming the byte offset and how many complete episodes came before it. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rlzero.h"

#define EPISODES_FORMAT "rlzero-episodes"
#define EPISODES_VERSION 1

static int pack_str(msgpack_packer *pk, const char *key, const char *s)
{
    if (!s) s = "";
    return msgpack_pack_str_with_body(pk, key, strlen(key)) | msgpack_pack_str_with_body(pk, s, strlen(s));
}

static int pack_f64(msgpack_packer *pk, const char *key, double v)
{
    return msgpack_pack_str_with_body(pk, key, strlen(key)) | msgpack_pack_double(pk, v);
}

static int pack_i64(msgpack_packer *pk, const char *key, int64_t v)
{
    return msgpack_pack_str_with_body(pk, key, strlen(key)) | msgpack_pack_int64(pk, v);
}

static int pack_episode(msgpack_packer *pk, const rz_episode *e)
{
    int rc = msgpack_pack_map(pk, 12);
    rc |= pack_i64(pk, "step", e->step);
    rc |= pack_i64(pk, "group", e->group);
    rc |= pack_i64(pk, "tokens", e->tokens);
    rc |= msgpack_pack_str_with_body(pk, "truncated", 9);
    rc |= e->truncated ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    rc |= pack_f64(pk, "reward", e->reward);
    rc |= pack_f64(pk, "accuracy", e->accuracy);
    rc |= pack_f64(pk, "format", e->format);
    rc |= pack_f64(pk, "language", e->language);
    rc |= pack_f64(pk, "advantage", e->advantage);
    rc |= pack_str(pk, "prompt", e->prompt);
    rc |= pack_str(pk, "answer", e->answer);
    rc |= pack_str(pk, "completion", e->completion);
    return rc;
}

static int pack_header(msgpack_packer *pk)
{
    int rc = msgpack_pack_map(pk, 2);
    rc |= pack_str(pk, "format", EPISODES_FORMAT);
    rc |= pack_i64(pk, "version", EPISODES_VERSION);
    return rc;
}

/* Writes all of buf to fd (O_APPEND) or fails with errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int rz_episodes_append(const char *path, const rz_episode *eps, int n, rz_error *err)
{
    if (!path || n < 0 || (n > 0 && !eps)) return rz_error_set(err, RZ_ERR_ARG, "episodes: bad arguments");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return rz_error_set(err, RZ_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return rz_error_set(err, RZ_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = st.st_size == 0 ? pack_header(&pk) : 0;
    for (int i = 0; i < n && !rc; i++) rc = pack_episode(&pk, &eps[i]);
    if (rc) {
        msgpack_sbuffer_destroy(&sb);
        close(fd);
        return rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot pack %d episodes", path, n);
    }
    int e = write_all(fd, sb.data, sb.size) != 0 ? errno : 0;
    msgpack_sbuffer_destroy(&sb);
    if (close(fd) != 0 && !e) e = errno;
    if (e) return rz_error_set(err, RZ_ERR_IO, "%s: cannot append %d episodes: %s", path, n, strerror(e));
    return RZ_OK;
}

/* ------------------------------------------------------------------ reader */

static int key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, s, n) == 0;
}

static int get_num(const msgpack_object *v, double *out)
{
    switch (v->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = v->via.f64; return 1;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)v->via.u64; return 1;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)v->via.i64; return 1;
    default: return 0;
    }
}

static int get_int(const msgpack_object *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (v->via.u64 > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)v->via.u64;
    } else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
    } else {
        return 0;
    }
    return *out >= lo && *out <= hi;
}

static char *dup_str(const msgpack_object *v)
{
    char *s = malloc((size_t)v->via.str.size + 1);
    if (!s) return NULL;
    memcpy(s, v->via.str.ptr, v->via.str.size);
    s[v->via.str.size] = '\0';
    return s;
}

static void episode_free(rz_episode *e)
{
    free(e->prompt);
    free(e->answer);
    free(e->completion);
    e->prompt = e->answer = e->completion = NULL;
}

/* Fills e from one map; returns NULL or the name of the field that is wrong. */
static const char *episode_from(rz_episode *e, const msgpack_object *o, int *nomem)
{
    memset(e, 0, sizeof *e);
    e->advantage = NAN;
    if (o->type != MSGPACK_OBJECT_MAP) return "(not a map)";
    int have_step = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        int64_t x;
        if (key_is(k, "step")) {
            if (!get_int(v, 0, INT64_MAX, &x)) return "step";
            e->step = x;
            have_step = 1;
        } else if (key_is(k, "group")) {
            if (!get_int(v, 0, INT32_MAX, &x)) return "group";
            e->group = (int)x;
        } else if (key_is(k, "tokens")) {
            if (!get_int(v, 0, INT32_MAX, &x)) return "tokens";
            e->tokens = (int)x;
        } else if (key_is(k, "truncated")) {
            if (v->type != MSGPACK_OBJECT_BOOLEAN) return "truncated";
            e->truncated = v->via.boolean;
        } else if (key_is(k, "reward")) {
            if (!get_num(v, &e->reward)) return "reward";
        } else if (key_is(k, "accuracy")) {
            if (!get_num(v, &e->accuracy)) return "accuracy";
        } else if (key_is(k, "format")) {
            if (!get_num(v, &e->format)) return "format";
        } else if (key_is(k, "language")) {
            if (!get_num(v, &e->language)) return "language";
        } else if (key_is(k, "advantage")) {
            if (!get_num(v, &e->advantage)) return "advantage";
        } else if (key_is(k, "prompt") || key_is(k, "answer") || key_is(k, "completion")) {
            if (v->type != MSGPACK_OBJECT_STR) return key_is(k, "prompt") ? "prompt" : key_is(k, "answer") ? "answer" : "completion";
            char **dst = key_is(k, "prompt") ? &e->prompt : key_is(k, "answer") ? &e->answer : &e->completion;
            free(*dst);
            *dst = dup_str(v);
            if (!*dst) {
                *nomem = 1;
                return "(out of memory)";
            }
        }
        /* unknown keys are skipped: later versions may add fields */
    }
    if (!have_step) return "step (missing)";
    /* absent strings read as empty so callers never see NULL */
    const msgpack_object empty = {.type = MSGPACK_OBJECT_STR, .via.str = {0, ""}};
    char **strs[3] = {&e->prompt, &e->answer, &e->completion};
    for (int s = 0; s < 3; s++)
        if (!*strs[s] && !(*strs[s] = dup_str(&empty))) {
            *nomem = 1;
            return "(out of memory)";
        }
    return NULL;
}

static int check_header(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP) return 0;
    int fmt = 0, ver = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        int64_t x;
        if (key_is(k, "format"))
            fmt = v->type == MSGPACK_OBJECT_STR && v->via.str.size == strlen(EPISODES_FORMAT) &&
                  memcmp(v->via.str.ptr, EPISODES_FORMAT, v->via.str.size) == 0;
        else if (key_is(k, "version"))
            ver = get_int(v, 1, EPISODES_VERSION, &x);
    }
    return fmt && ver;
}

void rz_episodes_free(rz_episodes *e)
{
    if (!e) return;
    for (int i = 0; i < e->count; i++) episode_free(&e->items[i]);
    free(e->items);
    e->items = NULL;
    e->count = e->cap = 0;
}

int rz_episodes_parse(rz_episodes *out, const void *data, size_t len, const char *name, rz_error *err)
{
    memset(out, 0, sizeof *out);
    if (!name) name = "episodes";
    if (len == 0) return rz_error_set(err, RZ_ERR_FORMAT, "%s: empty, not an episode log", name);
    if (!data) return rz_error_set(err, RZ_ERR_ARG, "%s: no data", name);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0, prev = 0;
    int rc = RZ_OK, first = 1;
    while (off < len) {
        prev = off;
        /* refuse what would make msgpack-c allocate for elements the bytes cannot hold */
        if (rz_msgpack_object_size((const unsigned char *)data + off, len - off) == 0) {
            rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: truncated at byte %zu of %zu (after %d complete episodes), "
                              "or an entry there declares more than the file holds", name, prev, len, out->count);
            break;
        }
        msgpack_unpack_return r = msgpack_unpack_next(&u, (const char *)data, len, &off);
        if (r == MSGPACK_UNPACK_CONTINUE) {
            rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: truncated at byte %zu of %zu (after %d complete episodes)",
                              name, prev, len, out->count);
            break;
        }
        if (r == MSGPACK_UNPACK_NOMEM_ERROR) {
            rc = rz_error_set(err, RZ_ERR_NOMEM, "%s: out of memory at byte %zu", name, prev);
            break;
        }
        if (r != MSGPACK_UNPACK_SUCCESS && r != MSGPACK_UNPACK_EXTRA_BYTES) {
            rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: malformed msgpack at byte %zu (after %d complete episodes)",
                              name, prev, out->count);
            break;
        }
        if (off <= prev) { /* cannot happen with a sane unpacker; never loop forever */
            rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: no progress at byte %zu", name, prev);
            break;
        }
        if (first) {
            first = 0;
            if (!check_header(&u.data)) {
                rc = rz_error_set(err, RZ_ERR_FORMAT, "%s: not an rlzero episode log (no '%s' version %d header)",
                                  name, EPISODES_FORMAT, EPISODES_VERSION);
                break;
            }
            continue;
        }
        if (out->count == out->cap) {
            int cap = out->cap ? 2 * out->cap : 64;
            rz_episode *p = cap > 0 && (size_t)cap < SIZE_MAX / sizeof *p ? realloc(out->items, (size_t)cap * sizeof *p) : NULL;
            if (!p) {
                rc = rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot hold %d episodes", name, cap);
                break;
            }
            out->items = p;
            out->cap = cap;
        }
        int nomem = 0;
        const char *bad = episode_from(&out->items[out->count], &u.data, &nomem);
        if (bad) {
            episode_free(&out->items[out->count]);
            rc = nomem ? rz_error_set(err, RZ_ERR_NOMEM, "%s: out of memory in episode %d", name, out->count + 1)
                       : rz_error_set(err, RZ_ERR_FORMAT, "%s: episode %d (byte %zu): field %s is malformed",
                                      name, out->count + 1, prev, bad);
            break;
        }
        out->count++;
    }
    msgpack_unpacked_destroy(&u);
    if (rc) rz_episodes_free(out);
    return rc;
}

int rz_episodes_read(rz_episodes *out, const char *path, rz_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return rz_error_set(err, RZ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = RZ_OK;
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? 2 * cap : 1 << 16;
            char *p = realloc(buf, nc);
            if (!p) {
                rc = rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot read %zu bytes", path, nc);
                break;
            }
            buf = p;
            cap = nc;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            if (ferror(f)) rc = rz_error_set(err, RZ_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (!rc) rc = rz_episodes_parse(out, buf, len, path, err);
    free(buf);
    return rc;
}

int rz_episodes_truncate(const char *path, int64_t max_step, rz_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) return RZ_OK; /* nothing logged yet */
    rz_episodes e;
    int rc = rz_episodes_read(&e, path, err);
    if (rc) return rc;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int prc = pack_header(&pk);
    for (int i = 0; i < e.count && !prc; i++)
        if (e.items[i].step <= max_step) prc = pack_episode(&pk, &e.items[i]);
    rz_episodes_free(&e);
    rc = prc ? rz_error_set(err, RZ_ERR_NOMEM, "%s: cannot pack the episodes", path)
             : rz_write_atomic(path, sb.data, sb.size, err);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

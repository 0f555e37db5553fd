/* spec.c: parsing "name(key=value,...)" strings that name an environment or a game. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

static const char *skip_space(const char *p)
{
    while (isspace((unsigned char)*p)) p++;
    return p;
}

/* Copies [b, e) without surrounding spaces into dst (size cap); 0 when it does not fit. */
static int copy_trimmed(char *dst, size_t cap, const char *b, const char *e)
{
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    if ((size_t)(e - b) >= cap) return 0;
    memcpy(dst, b, (size_t)(e - b));
    dst[e - b] = '\0';
    return 1;
}

int rz_spec_parse(rz_spec *s, const char *text, rz_error *err)
{
    memset(s, 0, sizeof *s);
    if (!text) return rz_error_set(err, RZ_ERR_ARG, "empty name");
    const char *p = skip_space(text);
    const char *name_end = p;
    while (*name_end && (isalnum((unsigned char)*name_end) || *name_end == '_' || *name_end == '-'))
        name_end++;
    if (name_end == p) return rz_error_set(err, RZ_ERR_ARG, "'%s': expected a name", text);
    if (!copy_trimmed(s->name, sizeof s->name, p, name_end))
        return rz_error_set(err, RZ_ERR_ARG, "'%s': name too long", text);
    p = skip_space(name_end);
    if (*p == '\0') return RZ_OK;
    if (*p != '(')
        return rz_error_set(err, RZ_ERR_ARG, "'%s': expected '(' or the end after '%s'", text, s->name);
    const char *close = strrchr(p, ')');
    if (!close || *skip_space(close + 1) != '\0')
        return rz_error_set(err, RZ_ERR_ARG, "'%s': expected ')' at the end", text);
    p++;
    while (p < close) {
        const char *comma = memchr(p, ',', (size_t)(close - p));
        const char *end = comma ? comma : close;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (end == skip_space(p) || (skip_space(p) == end)) {
            if (!comma && s->n == 0) break; /* "name()" */
            return rz_error_set(err, RZ_ERR_ARG, "'%s': empty parameter", text);
        }
        if (!eq) return rz_error_set(err, RZ_ERR_ARG, "'%s': parameter without '=' near '%.*s'", text,
                                     (int)(end - p), p);
        if (s->n == RZ_SPEC_MAX)
            return rz_error_set(err, RZ_ERR_ARG, "'%s': more than %d parameters", text, RZ_SPEC_MAX);
        if (!copy_trimmed(s->key[s->n], sizeof s->key[0], p, eq) || s->key[s->n][0] == '\0')
            return rz_error_set(err, RZ_ERR_ARG, "'%s': bad parameter name near '%.*s'", text,
                                (int)(eq - p), p);
        if (!copy_trimmed(s->val[s->n], sizeof s->val[0], eq + 1, end))
            return rz_error_set(err, RZ_ERR_ARG, "'%s': value of '%s' too long", text, s->key[s->n]);
        for (int i = 0; i < s->n; i++)
            if (strcmp(s->key[i], s->key[s->n]) == 0)
                return rz_error_set(err, RZ_ERR_ARG, "'%s': parameter '%s' given twice", text, s->key[i]);
        s->n++;
        p = comma ? comma + 1 : close;
    }
    return RZ_OK;
}

const char *rz_spec_get(const rz_spec *s, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->key[i], key) == 0) return s->val[i];
    return NULL;
}

int rz_spec_check_keys(const rz_spec *s, const char *const *allowed, rz_error *err)
{
    for (int i = 0; i < s->n; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, s->key[i]) == 0;
        if (ok) continue;
        char list[256] = "";
        size_t used = 0;
        for (const char *const *a = allowed; *a && used < sizeof list; a++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", a == allowed ? "" : ", ", *a);
        return rz_error_set(err, RZ_ERR_ARG, "%s: unknown parameter '%s' (allowed: %s)", s->name,
                            s->key[i], allowed[0] ? list : "none");
    }
    return RZ_OK;
}

static int parse_long(const char *v, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *skip_space(end) != '\0') return 0;
    *out = x;
    return 1;
}

int rz_spec_int(const rz_spec *s, const char *key, long def, long lo, long hi, long *out,
                rz_error *err)
{
    const char *v = rz_spec_get(s, key);
    long x = def;
    if (v && !parse_long(v, &x))
        return rz_error_set(err, RZ_ERR_ARG, "%s: parameter '%s' must be an integer, got '%s'",
                            s->name, key, v);
    if (x < lo || x > hi)
        return rz_error_set(err, RZ_ERR_ARG, "%s: parameter '%s' = %ld is out of range [%ld, %ld]",
                            s->name, key, x, lo, hi);
    *out = x;
    return RZ_OK;
}

int rz_spec_int_list(const rz_spec *s, const char *key, const char *def, long lo, long hi,
                     long *out, int cap, int *n, rz_error *err)
{
    const char *v = rz_spec_get(s, key);
    if (!v) v = def;
    *n = 0;
    char buf[128];
    if (!copy_trimmed(buf, sizeof buf, v, v + strlen(v)) || buf[0] == '\0')
        return rz_error_set(err, RZ_ERR_ARG, "%s: parameter '%s' is empty", s->name, key);
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ';');
        if (next) *next++ = '\0';
        long x;
        if (!parse_long(tok, &x))
            return rz_error_set(err, RZ_ERR_ARG, "%s: '%s' must be integers separated by ';', got '%s'",
                                s->name, key, v);
        if (x < lo || x > hi)
            return rz_error_set(err, RZ_ERR_ARG, "%s: '%s' entry %ld is out of range [%ld, %ld]",
                                s->name, key, x, lo, hi);
        if (*n == cap)
            return rz_error_set(err, RZ_ERR_ARG, "%s: '%s' has more than %d entries", s->name, key, cap);
        out[(*n)++] = x;
    }
    return RZ_OK;
}

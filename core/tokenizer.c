/* tokenizer.c: a character-level tokenizer over a declared UTF-8 alphabet.
 *
 * ids: 0 <pad>, 1 <bos>, 2 <eos>, then the specials in the order given, then each code
 * point of the alphabet in order. Encoding sits on the rollout hot path, so a character is
 * one table load for ASCII and a binary search for other code points; specials are only
 * tried at bytes that start one of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

#define NRESERVED 3

typedef struct {
    uint32_t cp;
    int id;
} cp_entry;

struct rz_tokenizer {
    int size;             /* NRESERVED + nspecials + number of alphabet characters */
    int nspecials;
    char *alphabet;       /* a copy of the declared alphabet */
    char **piece;         /* (size) NUL-terminated text of each token */
    size_t *piece_len;    /* (size) */
    int ascii[128];       /* id of each ASCII character, -1 when not in the alphabet */
    cp_entry *wide;       /* (nwide) non-ASCII code points sorted by cp */
    int nwide;
    int *special_order;   /* (nspecials) ids of specials, longest first */
    uint8_t special_first[256]; /* 1 where some special starts with this byte */
};

static const char *const reserved_names[NRESERVED] = {"<pad>", "<bos>", "<eos>"};

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). Returns the length
 * of the character at s (1..4), or 0 when the bytes there are not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len;
    uint32_t c;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        c = b & 0x0F;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        c = b & 0x07;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    c = (c << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = c;
    return len;
}

/* A readable, quoted form of the character (len bytes at s) for error messages. */
static void describe_char(char *buf, size_t n, const unsigned char *s, size_t len, uint32_t cp)
{
    if (len == 0) /* invalid UTF-8: show the offending byte */
        snprintf(buf, n, "'\\x%02X'", s[0]);
    else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
        snprintf(buf, n, "'\\x%02X' (U+%04X)", (unsigned)cp, (unsigned)cp);
    else
        snprintf(buf, n, "'%.*s' (U+%04X)", (int)len, (const char *)s, (unsigned)cp);
}

static int lookup_wide(const rz_tokenizer *t, uint32_t cp)
{
    int lo = 0, hi = t->nwide - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->wide[mid].cp == cp) return t->wide[mid].id;
        if (t->wide[mid].cp < cp) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static int lookup_char(const rz_tokenizer *t, uint32_t cp)
{
    return cp < 128 ? t->ascii[cp] : lookup_wide(t, cp);
}

static int cmp_cp(const void *a, const void *b)
{
    uint32_t x = ((const cp_entry *)a)->cp, y = ((const cp_entry *)b)->cp;
    return (x > y) - (x < y);
}

void rz_tokenizer_free(rz_tokenizer *t)
{
    if (!t) return;
    if (t->piece)
        for (int i = 0; i < t->size; i++) free(t->piece[i]);
    free(t->piece);
    free(t->piece_len);
    free(t->alphabet);
    free(t->wide);
    free(t->special_order);
    free(t);
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Counts the characters of a string that must be valid UTF-8; what names it in errors. */
static int count_utf8(const char *s, const char *what, int *count, rz_error *err)
{
    size_t n = strlen(s), i = 0;
    int k = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!len) {
            char d[64];
            describe_char(d, sizeof d, (const unsigned char *)s + i, 0, 0);
            return rz_error_set(err, RZ_ERR_ARG, "tokenizer: %s has invalid UTF-8 byte %s at byte offset %zu",
                                what, d, i);
        }
        i += len;
        k++;
    }
    *count = k;
    return RZ_OK;
}

int rz_tokenizer_chars(rz_tokenizer **out, const char *alphabet, const char *const *specials,
                       int nspecials, rz_error *err)
{
    *out = NULL;
    if (!alphabet) return rz_error_set(err, RZ_ERR_ARG, "tokenizer: alphabet is NULL");
    if (nspecials < 0 || (nspecials > 0 && !specials))
        return rz_error_set(err, RZ_ERR_ARG, "tokenizer: %d specials but no list", nspecials);

    /* validate everything before allocating */
    int nchars;
    int rc = count_utf8(alphabet, "the alphabet", &nchars, err);
    if (rc) return rc;
    if (nchars == 0) return rz_error_set(err, RZ_ERR_ARG, "tokenizer: the alphabet is empty");
    for (int i = 0; i < nspecials; i++) {
        char what[48];
        snprintf(what, sizeof what, "special %d", i);
        int len;
        if (!specials[i]) return rz_error_set(err, RZ_ERR_ARG, "tokenizer: special %d is NULL", i);
        if ((rc = count_utf8(specials[i], what, &len, err))) return rc;
        if (len == 0) return rz_error_set(err, RZ_ERR_ARG, "tokenizer: special %d is empty", i);
        for (int r = 0; r < NRESERVED; r++)
            if (strcmp(specials[i], reserved_names[r]) == 0)
                return rz_error_set(err, RZ_ERR_ARG, "tokenizer: special \"%s\" is a reserved token",
                                    specials[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(specials[i], specials[j]) == 0)
                return rz_error_set(err, RZ_ERR_ARG, "tokenizer: special \"%s\" is listed twice",
                                    specials[i]);
    }
    if (nchars > 0x7fffffff - NRESERVED - nspecials)
        return rz_error_set(err, RZ_ERR_ARG, "tokenizer: vocabulary too large");

    rz_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return rz_error_set(err, RZ_ERR_NOMEM, "tokenizer: cannot allocate");
    t->size = NRESERVED + nspecials + nchars;
    t->nspecials = nspecials;
    t->alphabet = dup_bytes(alphabet, strlen(alphabet));
    t->piece = calloc((size_t)t->size, sizeof *t->piece);
    t->piece_len = calloc((size_t)t->size, sizeof *t->piece_len);
    t->wide = calloc((size_t)nchars, sizeof *t->wide);
    t->special_order = calloc(nspecials ? (size_t)nspecials : 1, sizeof *t->special_order);
    if (!t->alphabet || !t->piece || !t->piece_len || !t->wide || !t->special_order) {
        int size = t->size;
        rz_tokenizer_free(t);
        return rz_error_set(err, RZ_ERR_NOMEM, "tokenizer: cannot allocate %d tokens", size);
    }
    for (int i = 0; i < 128; i++) t->ascii[i] = -1;

    int id = 0;
    for (int r = 0; r < NRESERVED; r++, id++) {
        t->piece_len[id] = strlen(reserved_names[r]);
        t->piece[id] = dup_bytes(reserved_names[r], t->piece_len[id]);
        if (!t->piece[id]) goto nomem;
    }
    for (int i = 0; i < nspecials; i++, id++) {
        t->piece_len[id] = strlen(specials[i]);
        t->piece[id] = dup_bytes(specials[i], t->piece_len[id]);
        if (!t->piece[id]) goto nomem;
        t->special_first[(unsigned char)specials[i][0]] = 1;
        /* insertion sort by length, longest first; ties keep the declared order */
        int k = i;
        while (k > 0 && t->piece_len[t->special_order[k - 1]] < t->piece_len[id]) {
            t->special_order[k] = t->special_order[k - 1];
            k--;
        }
        t->special_order[k] = id;
    }
    size_t n = strlen(alphabet);
    for (size_t i = 0; i < n; id++) {
        uint32_t cp;
        size_t len = utf8_decode((const unsigned char *)alphabet + i, n - i, &cp);
        /* duplicates: ASCII via the table; wide ones are checked after sorting */
        if (cp < 128 && t->ascii[cp] >= 0) {
            char d[64];
            describe_char(d, sizeof d, (const unsigned char *)alphabet + i, len, cp);
            rz_tokenizer_free(t);
            return rz_error_set(err, RZ_ERR_ARG,
                                "tokenizer: character %s appears twice in the alphabet (byte offset %zu)",
                                d, i);
        }
        for (int s = 0; s < nspecials; s++)
            if (t->piece_len[NRESERVED + s] == len && memcmp(t->piece[NRESERVED + s], alphabet + i, len) == 0) {
                char d[64];
                describe_char(d, sizeof d, (const unsigned char *)alphabet + i, len, cp);
                rz_tokenizer_free(t);
                return rz_error_set(err, RZ_ERR_ARG,
                                    "tokenizer: alphabet character %s is also a special", d);
            }
        t->piece_len[id] = len;
        t->piece[id] = dup_bytes(alphabet + i, len);
        if (!t->piece[id]) goto nomem;
        if (cp < 128) t->ascii[cp] = id;
        else t->wide[t->nwide++] = (cp_entry){cp, id};
        i += len;
    }
    qsort(t->wide, (size_t)t->nwide, sizeof *t->wide, cmp_cp);
    for (int i = 1; i < t->nwide; i++)
        if (t->wide[i].cp == t->wide[i - 1].cp) {
            int later = t->wide[i].id > t->wide[i - 1].id ? t->wide[i].id : t->wide[i - 1].id;
            char d[64];
            describe_char(d, sizeof d, (const unsigned char *)t->piece[later], t->piece_len[later],
                          t->wide[i].cp);
            rz_tokenizer_free(t);
            return rz_error_set(err, RZ_ERR_ARG, "tokenizer: character %s appears twice in the alphabet", d);
        }
    *out = t;
    return RZ_OK;
nomem:
    rz_tokenizer_free(t);
    return rz_error_set(err, RZ_ERR_NOMEM, "tokenizer: cannot allocate token text");
}

int rz_tokenizer_size(const rz_tokenizer *t) { return t->size; }
const char *rz_tokenizer_alphabet(const rz_tokenizer *t) { return t->alphabet; }
int rz_tokenizer_nspecials(const rz_tokenizer *t) { return t->nspecials; }

const char *rz_tokenizer_special(const rz_tokenizer *t, int i)
{
    return i >= 0 && i < t->nspecials ? t->piece[NRESERVED + i] : NULL;
}

const char *rz_tokenizer_piece(const rz_tokenizer *t, int id)
{
    return id >= 0 && id < t->size ? t->piece[id] : NULL;
}

int rz_tokenizer_id(const rz_tokenizer *t, const char *piece)
{
    if (!piece) return -1;
    size_t n = strlen(piece);
    uint32_t cp;
    if (n > 0 && utf8_decode((const unsigned char *)piece, n, &cp) == n) {
        int id = lookup_char(t, cp);
        if (id >= 0) return id;
    }
    for (int i = 0; i < NRESERVED + t->nspecials; i++)
        if (strcmp(t->piece[i], piece) == 0) return i;
    return -1;
}

int rz_tokenizer_encode(const rz_tokenizer *t, const char *text, size_t len, int *out, int cap,
                        int *n, rz_error *err)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    int k = 0;
    *n = 0;
    while (i < len) {
        unsigned char c = s[i];
        int id = -1;
        size_t adv = 1;
        if (t->special_first[c]) {
            for (int j = 0; j < t->nspecials; j++) {
                int sid = t->special_order[j];
                size_t sl = t->piece_len[sid];
                if (sl <= len - i && memcmp(s + i, t->piece[sid], sl) == 0) {
                    id = sid;
                    adv = sl;
                    break;
                }
            }
        }
        if (id < 0) {
            uint32_t cp = c;
            if (c < 0x80) {
                id = t->ascii[c];
            } else {
                adv = utf8_decode(s + i, len - i, &cp);
                if (!adv) {
                    char d[64];
                    describe_char(d, sizeof d, s + i, 0, 0);
                    *n = k;
                    return rz_error_set(err, RZ_ERR_ARG,
                                        "tokenizer: invalid UTF-8 byte %s at byte offset %zu", d, i);
                }
                id = lookup_wide(t, cp);
            }
            if (id < 0) {
                char d[64];
                describe_char(d, sizeof d, s + i, adv, cp);
                *n = k;
                return rz_error_set(err, RZ_ERR_ARG,
                                    "tokenizer: character %s at byte offset %zu is not in the alphabet \"%.80s\"",
                                    d, i, t->alphabet);
            }
        }
        if (k == cap) {
            *n = k;
            return rz_error_set(err, RZ_ERR_ARG,
                                "tokenizer: output capacity %d is too small for %zu bytes of text "
                                "(full at byte offset %zu)", cap, len, i);
        }
        out[k++] = id;
        i += adv;
    }
    *n = k;
    return RZ_OK;
}

int rz_tokenizer_decode(const rz_tokenizer *t, const int *ids, int n, char **text, size_t *len,
                        rz_error *err)
{
    *text = NULL;
    if (len) *len = 0;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->size)
            return rz_error_set(err, RZ_ERR_ARG, "tokenizer: id %d at position %d is out of range [0, %d)",
                                ids[i], i, t->size);
        if (ids[i] >= NRESERVED) total += t->piece_len[ids[i]];
    }
    char *s = malloc(total + 1);
    if (!s) return rz_error_set(err, RZ_ERR_NOMEM, "tokenizer: cannot allocate %zu bytes of text", total + 1);
    size_t p = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < NRESERVED) continue;
        memcpy(s + p, t->piece[ids[i]], t->piece_len[ids[i]]);
        p += t->piece_len[ids[i]];
    }
    s[p] = '\0';
    *text = s;
    if (len) *len = p;
    return RZ_OK;
}

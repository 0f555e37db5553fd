/* test_tokenizer.c: ids, round trips, specials (longest first) and clear errors. */
#include "test.h"

static rz_error err;

/* encode then decode must give the text back; returns the token count (or -1) */
static int round_trip(const rz_tokenizer *t, const char *text)
{
    int ids[512], n = -1;
    char *back = NULL;
    size_t len = 0;
    CHECK_OK(rz_tokenizer_encode(t, text, strlen(text), ids, 512, &n, &err), &err);
    CHECK_OK(rz_tokenizer_decode(t, ids, n, &back, &len, &err), &err);
    CHECKF(back && len == strlen(text) && strcmp(back, text) == 0, "'%s' came back as '%s'", text,
           back ? back : "(null)");
    free(back);
    return n;
}

int main(void)
{
    const char *specials[] = {"<think>", "</think>", "<answer>", "</answer>", "<th"};
    rz_tokenizer *t = NULL;
    CHECK_OK(rz_tokenizer_chars(&t, "0123456789+-*/=() ", specials, 5, &err), &err);
    REQUIRE(t);

    /* ids: reserved, then specials in order, then the alphabet in order */
    CHECK(rz_tokenizer_size(t) == 3 + 5 + 18);
    CHECK(rz_tokenizer_nspecials(t) == 5);
    CHECK(strcmp(rz_tokenizer_alphabet(t), "0123456789+-*/=() ") == 0);
    CHECK(strcmp(rz_tokenizer_piece(t, RZ_TOK_PAD), "<pad>") == 0);
    CHECK(strcmp(rz_tokenizer_piece(t, RZ_TOK_BOS), "<bos>") == 0);
    CHECK(strcmp(rz_tokenizer_piece(t, RZ_TOK_EOS), "<eos>") == 0);
    CHECK(rz_tokenizer_id(t, "<pad>") == 0 && rz_tokenizer_id(t, "<bos>") == 1 && rz_tokenizer_id(t, "<eos>") == 2);
    CHECK(rz_tokenizer_id(t, "<think>") == 3 && rz_tokenizer_id(t, "</answer>") == 6);
    CHECK(strcmp(rz_tokenizer_special(t, 1), "</think>") == 0);
    CHECK(rz_tokenizer_special(t, 5) == NULL && rz_tokenizer_special(t, -1) == NULL);
    CHECK(rz_tokenizer_id(t, "0") == 8 && rz_tokenizer_id(t, " ") == 25);
    CHECK(rz_tokenizer_id(t, "a") == -1 && rz_tokenizer_id(t, "<nope>") == -1 && rz_tokenizer_id(t, "") == -1);
    CHECK(strcmp(rz_tokenizer_piece(t, 8), "0") == 0);
    CHECK(rz_tokenizer_piece(t, -1) == NULL && rz_tokenizer_piece(t, rz_tokenizer_size(t)) == NULL);
    for (int id = 0; id < rz_tokenizer_size(t); id++)
        CHECKF(rz_tokenizer_id(t, rz_tokenizer_piece(t, id)) == id, "id %d", id);

    /* ASCII round trips */
    CHECK(round_trip(t, "12+34=(46)") == 10);
    CHECK(round_trip(t, "") == 0);
    CHECK(round_trip(t, "<think>1+1</think><answer>2</answer>") == 8);

    /* longest special first: "<think>" wins over its prefix "<th"; "<th" alone still matches */
    int ids[64], n;
    CHECK_OK(rz_tokenizer_encode(t, "<think><th1", 11, ids, 64, &n, &err), &err);
    CHECKF(n == 3 && ids[0] == 3 && ids[1] == 7 && ids[2] == 9, "n %d ids %d %d %d", n, ids[0], ids[1], ids[2]);
    /* after the special "<th", 'x' is outside the alphabet */
    CHECK(rz_tokenizer_encode(t, "<thx", 4, ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "'x'") && strstr(err.msg, "offset 3"), "%s", err.msg);

    /* decode skips pad/bos/eos and rejects an out-of-range id */
    int seq[] = {RZ_TOK_BOS, 9, RZ_TOK_PAD, 3, 10, RZ_TOK_EOS};
    char *s = NULL;
    size_t len = 0;
    CHECK_OK(rz_tokenizer_decode(t, seq, 6, &s, &len, &err), &err);
    CHECKF(s && strcmp(s, "1<think>2") == 0 && len == 9, "%s", s ? s : "(null)");
    free(s);
    int bad[] = {9, 999};
    CHECK(rz_tokenizer_decode(t, bad, 2, &s, &len, &err) == RZ_ERR_ARG && s == NULL);
    CHECKF(strstr(err.msg, "999") && strstr(err.msg, "position 1"), "%s", err.msg);

    /* unknown character: named, quoted, with its byte offset */
    CHECK(rz_tokenizer_encode(t, "1+1=a", 5, ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "'a'") && strstr(err.msg, "offset 4"), "%s", err.msg);
    CHECK(rz_tokenizer_encode(t, "12\n", 3, ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "\\x0A") && strstr(err.msg, "offset 2"), "%s", err.msg);
    CHECK(rz_tokenizer_encode(t, "1é", strlen("1é"), ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "'é'") && strstr(err.msg, "U+00E9") && strstr(err.msg, "offset 1"), "%s", err.msg);
    /* invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong '/' */
    CHECK(rz_tokenizer_encode(t, "12\x80", 3, ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "UTF-8") && strstr(err.msg, "\\x80") && strstr(err.msg, "offset 2"), "%s", err.msg);
    CHECK(rz_tokenizer_encode(t, "1\xce", 2, ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "UTF-8") && strstr(err.msg, "\\xCE") && strstr(err.msg, "offset 1"), "%s", err.msg);
    CHECK(rz_tokenizer_encode(t, "\xc0\xaf", 2, ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "UTF-8") && strstr(err.msg, "offset 0"), "%s", err.msg);
    /* a NUL byte inside the counted text */
    CHECK(rz_tokenizer_encode(t, "1\0" "2", 3, ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "\\x00") && strstr(err.msg, "offset 1"), "%s", err.msg);

    /* capacity: exact fit succeeds, one short fails */
    CHECK_OK(rz_tokenizer_encode(t, "1234", 4, ids, 4, &n, &err), &err);
    CHECK(n == 4);
    CHECK(rz_tokenizer_encode(t, "12345", 5, ids, 4, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "capacity 4"), "%s", err.msg);
    CHECK(rz_tokenizer_encode(t, "1", 1, ids, 0, &n, &err) == RZ_ERR_ARG);
    rz_tokenizer_free(t);

    /* a multi-byte alphabet: Greek (2 bytes), CJK (3 bytes), emoji (4 bytes), mixed with ASCII */
    const char *sp2[] = {"αβ"};
    CHECK_OK(rz_tokenizer_chars(&t, "αβγ 中文😀x", sp2, 1, &err), &err);
    REQUIRE(t);
    CHECK(rz_tokenizer_size(t) == 3 + 1 + 8);
    CHECK(rz_tokenizer_id(t, "α") == 4 && rz_tokenizer_id(t, "γ") == 6 && rz_tokenizer_id(t, "😀") == 10 &&
          rz_tokenizer_id(t, "x") == 11 && rz_tokenizer_id(t, "αβ") == 3);
    CHECK(strcmp(rz_tokenizer_piece(t, 8), "中") == 0);
    CHECK(round_trip(t, "γαβγ 中文 😀x") == 9);
    CHECK_OK(rz_tokenizer_encode(t, "βαβα", strlen("βαβα"), ids, 64, &n, &err), &err);
    CHECKF(n == 3 && ids[0] == 5 && ids[1] == 3 && ids[2] == 4, "n %d", n);
    CHECK(rz_tokenizer_encode(t, "αδ", strlen("αδ"), ids, 64, &n, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "'δ'") && strstr(err.msg, "offset 2"), "%s", err.msg);
    rz_tokenizer_free(t);

    /* a larger alphabet decoded from every code point, checked against a brute-force map */
    char big[4096];
    size_t bl = 0;
    for (unsigned cp = 0x20; cp < 0x7f; cp++) big[bl++] = (char)cp;
    for (unsigned cp = 0x400; cp < 0x460; cp++) { /* Cyrillic, 2 bytes each */
        big[bl++] = (char)(0xC0 | (cp >> 6));
        big[bl++] = (char)(0x80 | (cp & 0x3F));
    }
    big[bl] = '\0';
    CHECK_OK(rz_tokenizer_chars(&t, big, NULL, 0, &err), &err);
    REQUIRE(t);
    CHECK(rz_tokenizer_size(t) == 3 + 95 + 96);
    int all[256];
    CHECK_OK(rz_tokenizer_encode(t, big, bl, all, 256, &n, &err), &err);
    int inorder = n == 95 + 96;
    for (int i = 0; inorder && i < n; i++) inorder = all[i] == 3 + i;
    CHECK(inorder);
    CHECK(round_trip(t, "Привет, мир! 42") == 15);
    rz_tokenizer_free(t);

    /* construction errors */
    t = (rz_tokenizer *)&err; /* must be reset to NULL on failure */
    CHECK(rz_tokenizer_chars(&t, "abca", NULL, 0, &err) == RZ_ERR_ARG && t == NULL);
    CHECKF(strstr(err.msg, "'a'") && strstr(err.msg, "twice") && strstr(err.msg, "offset 3"), "%s", err.msg);
    CHECK(rz_tokenizer_chars(&t, "αβα", NULL, 0, &err) == RZ_ERR_ARG && t == NULL);
    CHECKF(strstr(err.msg, "'α'") && strstr(err.msg, "twice"), "%s", err.msg);
    CHECK(rz_tokenizer_chars(&t, "ab\xff", NULL, 0, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "UTF-8") && strstr(err.msg, "\\xFF") && strstr(err.msg, "offset 2"), "%s", err.msg);
    CHECK(rz_tokenizer_chars(&t, "\xed\xa0\x80", NULL, 0, &err) == RZ_ERR_ARG); /* a surrogate */
    CHECK(rz_tokenizer_chars(&t, "", NULL, 0, &err) == RZ_ERR_ARG);
    const char *sp_char[] = {"b"};
    CHECK(rz_tokenizer_chars(&t, "abc", sp_char, 1, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "'b'") && strstr(err.msg, "special"), "%s", err.msg);
    const char *sp_dup[] = {"<a>", "<a>"};
    CHECK(rz_tokenizer_chars(&t, "abc", sp_dup, 2, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "<a>") && strstr(err.msg, "twice"), "%s", err.msg);
    const char *sp_res[] = {"<eos>"};
    CHECK(rz_tokenizer_chars(&t, "abc", sp_res, 1, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "<eos>") && strstr(err.msg, "reserved"), "%s", err.msg);
    const char *sp_empty[] = {""};
    CHECK(rz_tokenizer_chars(&t, "abc", sp_empty, 1, &err) == RZ_ERR_ARG);
    const char *sp_bad[] = {"<\xc3>"};
    CHECK(rz_tokenizer_chars(&t, "abc", sp_bad, 1, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "special 0") && strstr(err.msg, "UTF-8"), "%s", err.msg);
    CHECK(t == NULL);
    rz_tokenizer_free(NULL);

    return test_done("test_tokenizer");
}

/* test_episodes.c: the episode log round-trips exactly, and the reader refuses every
 * truncation and a foreign or malformed file with a message, never a crash. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rlzero.h"
#include "test.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(void)
{
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/rz-test-episodes-%ld.msgpack", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    unlink(path);
    rz_error err = {0};

    rz_episode in[5];
    memset(in, 0, sizeof in);
    const char *texts[] = {"<think>ok</think> <answer>12</answer>", "", "naïve ünïcödé ✓", "x\ny", "\"quoted\""};
    for (int i = 0; i < 5; i++) {
        in[i].step = 1 + i / 3;
        in[i].group = 1 + i % 2;
        in[i].tokens = 7 * i;
        in[i].truncated = i == 2;
        in[i].reward = 0.1 * i - 0.3;
        in[i].accuracy = i % 2;
        in[i].format = 0.5;
        in[i].language = 1.0 / 3.0;
        in[i].advantage = i == 4 ? NAN : -1.25 + i;
        in[i].prompt = (char *)"12+0=";
        in[i].answer = (char *)"12";
        in[i].completion = (char *)texts[i];
    }
    CHECK_OK(rz_episodes_append(path, in, 3, &err), &err);
    CHECK_OK(rz_episodes_append(path, in + 3, 2, &err), &err);

    rz_episodes e;
    CHECK_OK(rz_episodes_read(&e, path, &err), &err);
    CHECKF(e.count == 5, "read %d episodes", e.count);
    for (int i = 0; i < e.count && i < 5; i++) {
        const rz_episode *a = &e.items[i], *b = &in[i];
        CHECKF(a->step == b->step && a->group == b->group && a->tokens == b->tokens &&
                   a->truncated == b->truncated, "episode %d integers", i);
        CHECKF(a->reward == b->reward && a->accuracy == b->accuracy && a->format == b->format &&
                   a->language == b->language, "episode %d numbers exact", i);
        CHECKF(i == 4 ? isnan(a->advantage) : a->advantage == b->advantage, "episode %d advantage", i);
        CHECKF(strcmp(a->completion, b->completion) == 0 && strcmp(a->prompt, b->prompt) == 0 &&
                   strcmp(a->answer, b->answer) == 0, "episode %d strings", i);
    }
    rz_episodes_free(&e);

    /* every proper prefix is refused (a truncated tail), with no leak and no crash */
    size_t len = 0;
    char *bytes = slurp(path, &len);
    REQUIRE(bytes && len > 50);
    int refused = 0, named = 0;
    for (size_t n = 0; n < len; n++) {
        rz_error e2 = {0};
        rz_episodes p;
        int rc = rz_episodes_parse(&p, bytes, n, "log", &e2);
        /* a prefix that ends exactly between maps is a shorter, valid log */
        if (rc == RZ_OK) {
            CHECKF(p.count < 5, "prefix %zu parsed %d episodes", n, p.count);
            rz_episodes_free(&p);
            continue;
        }
        refused++;
        CHECKF(rc == RZ_ERR_FORMAT && p.count == 0 && p.items == NULL, "prefix %zu: rc %d", n, rc);
        named += strstr(e2.msg, "truncated") != NULL || strstr(e2.msg, "empty") != NULL ||
                 strstr(e2.msg, "header") != NULL;
    }
    CHECKF(refused > (int)len - 10, "%d of %zu prefixes refused", refused, len);
    CHECKF(named == refused, "%d of %d refusals say truncated/empty/header", named, refused);
    {
        rz_error e2 = {0};
        rz_episodes p;
        CHECK(rz_episodes_parse(&p, bytes, len - 3, "log", &e2) == RZ_ERR_FORMAT);
        CHECKF(strstr(e2.msg, "truncated at byte") && strstr(e2.msg, "after 4 complete episodes"), "%s", e2.msg);
    }
    /* flipped bytes: either a clean refusal or a log that parses; never a crash */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            bytes[i] ^= (char)(1 << bit);
            rz_episodes p;
            rz_error e2 = {0};
            int rc = rz_episodes_parse(&p, bytes, len, "log", &e2);
            CHECKF(rc == RZ_OK || (rc == RZ_ERR_FORMAT && e2.msg[0]), "flip %zu: rc %d", i, rc);
            rz_episodes_free(&p);
            bytes[i] ^= (char)(1 << bit);
        }
    }
    /* a foreign msgpack file (no header) and a wrongly typed field */
    {
        const char foreign[] = "\x81\xa1x\x01";
        rz_episodes p;
        rz_error e2 = {0};
        CHECK(rz_episodes_parse(&p, foreign, sizeof foreign - 1, "f", &e2) == RZ_ERR_FORMAT);
        CHECKF(strstr(e2.msg, "not an rlzero episode log"), "%s", e2.msg);
        /* header, then {"step": "x"} */
        const char badstep[] = "\x82\xa6" "format\xaf" "rlzero-episodes\xa7" "version\x01"
                               "\x81\xa4step\xa1x";
        CHECK(rz_episodes_parse(&p, badstep, sizeof badstep - 1, "f", &e2) == RZ_ERR_FORMAT);
        CHECKF(strstr(e2.msg, "episode 1") && strstr(e2.msg, "step"), "%s", e2.msg);
    }
    free(bytes);

    /* truncating to step 1 keeps the three episodes of step 1 */
    CHECK_OK(rz_episodes_truncate(path, 1, &err), &err);
    CHECK_OK(rz_episodes_read(&e, path, &err), &err);
    CHECKF(e.count == 3, "after truncate: %d", e.count);
    rz_episodes_free(&e);
    rz_episodes_free(&e); /* safe twice */
    unlink(path);
    return test_done("test_episodes");
}

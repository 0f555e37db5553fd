/* harness.h: the libFuzzer harness shared by the fuzz_* targets, one target per grader.
 *
 * Build: ./configure --enable-fuzz CC=clang && make fuzz/fuzz_countdown
 * Run:   fuzz/fuzz_countdown -max_total_time=60 tests/data/nasty
 *
 * The first input byte picks the case: bit 0 forges the item (its prompt and answer are
 * taken from the input, up to the first two NULs), bit 1 frames the rest as the answer of a
 * well-formed completion so that the task's own parser sees it, bits 2-7 pick a real
 * item's index. The target aborts when a reward leaves [0, 1] or grading is not
 * deterministic; the sanitizers catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_grade(const char *spec, const uint8_t *data, size_t size)
{
    /* One env per process: creating it per input would only fuzz malloc. */
    static rz_env *env;
    if (!env && rz_env_create(&env, spec, NULL) != RZ_OK) abort();
    if (size == 0) return 0;
    int mode = data[0];
    data++, size--;
    rz_item it = {0};
    char prompt[300], answer[300];
    if (mode & 1) {
        size_t p = 0, n;
        for (n = 0; p < size && data[p] && n < sizeof prompt - 1; p++) prompt[n++] = (char)data[p];
        prompt[n] = '\0';
        if (p < size) p++;
        size_t q = p;
        for (n = 0; q < size && data[q] && n < sizeof answer - 1; q++) answer[n++] = (char)data[q];
        answer[n] = '\0';
        if (q < size) q++;
        it.prompt = prompt;
        it.answer = answer;
        data += q, size -= q;
    } else if (rz_env_item(env, 1, (mode >> 2) & 1, mode >> 3, &it, NULL) != RZ_OK) {
        abort();
    }
    char *buf = NULL;
    const char *text = (const char *)data;
    size_t len = size;
    if (mode & 2) {
        buf = malloc(size + 64);
        if (!buf) abort();
        memcpy(buf, "<think>x</think><answer>", 24);
        memcpy(buf + 24, data, size);
        memcpy(buf + 24 + size, "</answer>", 9);
        text = buf, len = size + 33;
    }
    rz_rewards r, r2;
    if (rz_env_grade(env, &it, text, len, &r) != RZ_OK) abort();
    if (rz_env_grade(env, &it, text, len, &r2) != RZ_OK) abort();
    if (r.n < 3 || memcmp(r.values, r2.values, sizeof r.values) != 0) abort();
    for (int i = 0; i < r.n; i++)
        if (!(r.values[i] >= 0.0 && r.values[i] <= 1.0)) abort();
    free(buf);
    if (!(mode & 1)) rz_item_free(&it);
    return 0;
}

#define FUZZ_ENV(spec)                                                                        \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                              \
    {                                                                                         \
        return fuzz_grade(spec, data, size);                                                  \
    }

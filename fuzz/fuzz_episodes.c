/* fuzz_episodes.c: libFuzzer target for the episode-log reader (rz_episodes_parse), a pure
 * function over bytes. A parse must succeed or fail with a message; what it returns must be
 * self-consistent (every string present, counts in range). Seeds: fuzz/corpus/episodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

volatile size_t fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rz_episodes eps;
    rz_error err;
    memset(&eps, 0, sizeof eps);
    if (rz_episodes_parse(&eps, data, size, "fuzz", &err) == RZ_OK) {
        if (eps.count < 0 || eps.count > eps.cap) abort();
        for (int i = 0; i < eps.count; i++) {
            const rz_episode *e = &eps.items[i];
            if (!e->prompt || !e->answer || !e->completion) abort();
            fuzz_sink += strlen(e->prompt) + strlen(e->answer) + strlen(e->completion);
        }
    } else if (eps.count != 0 || err.msg[0] == '\0') {
        abort(); /* a refusal leaves nothing behind and says why */
    }
    rz_episodes_free(&eps);
    return 0;
}

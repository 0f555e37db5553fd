/* fuzz_checkpoint.c: libFuzzer target for the checkpoint loader.
 *
 * The input is the file, taken as is when it ends in a checksum trailer, else with the
 * trailer the saver would write appended (so the fuzzer gets past the integrity check and
 * into the msgpack parser; the corpus holds saved checkpoints without their trailer). A load must succeed or fail with a message; what it loads
 * must be self-consistent. Seeds: ./configure --enable-fuzz CC=clang && make fuzz, then
 * fuzz/fuzz_checkpoint fuzz/corpus/checkpoint. */
#include <stdint.h>
#include <xxhash.h>

#include "files.h"
#include "rlzero.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

volatile float fuzz_sink; /* reading every weight is the check: ASan sees each read */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[300];
    fuzz_path("ckpt", path, sizeof path);
    /* the trailer: the key "checksum" (fixstr 0xa8), then a uint64 (0xcf) holding the
     * big-endian XXH64 of everything before the 0xcf */
    static const unsigned char key[] = {0xa8, 'c', 'h', 'e', 'c', 'k', 's', 'u', 'm', 0xcf};
    unsigned char *buf = malloc(size + sizeof key + 8);
    if (!buf) abort();
    memcpy(buf, data, size);
    size_t n = size;
    if (!(size >= sizeof key + 8 && memcmp(data + size - 8 - sizeof key, key, sizeof key) == 0)) {
        memcpy(buf + n, key, sizeof key);
        n += sizeof key;
        uint64_t h = XXH64(buf, n - 1, 0);
        for (int i = 0; i < 8; i++) buf[n++] = (unsigned char)(h >> (56 - 8 * i));
    }
    fuzz_write(path, buf, n);
    free(buf);
    rz_checkpoint ck;
    rz_error err;
    if (rz_checkpoint_load(path, &ck, &err) == RZ_OK) {
        if (!ck.params || !ck.params->param) abort();
        for (int i = 0; i < ck.params->count; i++) {
            const rz_tensor *t = &ck.params->tensors[i];
            if (t->offset > ck.params->numel || t->numel > ck.params->numel - t->offset) abort();
        }
        for (size_t i = 0; i < ck.params->numel; i++) fuzz_sink += ck.params->param[i];
        rz_checkpoint_release(&ck);
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}

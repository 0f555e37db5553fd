/* fuzz_safetensors.c: libFuzzer target for the safetensors importer.
 *
 * The input is config.json, the separator "\n--\n", then model.safetensors (the corpus
 * holds small exports). An import must succeed or fail with a message; a model it returns
 * must hold finite-sized, readable weights. */
#include <stdint.h>

#include "files.h"
#include "rlzero.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

volatile float fuzz_sink; /* reading every weight is the check: ASan sees each read */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char cpath[300], mpath[300];
    fuzz_path("config.json", cpath, sizeof cpath);
    fuzz_path("model.safetensors", mpath, sizeof mpath);
    size_t n0, n1;
    const unsigned char *p1;
    fuzz_split(data, size, &n0, &p1, &n1);
    fuzz_write(cpath, data, n0);
    fuzz_write(mpath, p1, n1);
    *strrchr(cpath, '/') = '\0';
    rz_transformer *m = NULL;
    rz_error err;
    if (rz_transformer_import(&m, cpath, &err) == RZ_OK) {
        const rz_params *p = rz_transformer_params(m);
        for (size_t i = 0; i < p->numel; i++) fuzz_sink += p->param[i];
        rz_transformer_free(m);
    } else if (m || !err.msg[0]) {
        abort();
    }
    return 0;
}

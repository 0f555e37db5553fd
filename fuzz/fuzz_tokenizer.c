/* fuzz_tokenizer.c: libFuzzer target for the character tokenizer and its importer.
 *
 * The input is: alphabet "\n--\n" rest, where rest's first lines (up to 8, an empty line
 * ends them) are specials and what follows is the text. A text that encodes must decode
 * back to itself, every piece must map back to its id, and the whole input is also
 * imported as an rlzero_tokenizer.json. */
#include <stdint.h>

#include "files.h"
#include "rlzero.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n0, n1;
    const unsigned char *p1;
    fuzz_split(data, size, &n0, &p1, &n1);
    char *alpha = malloc(n0 + 1), *rest = malloc(n1 + 1);
    if (!alpha || !rest) abort();
    memcpy(alpha, data, n0), alpha[n0] = '\0';
    memcpy(rest, p1, n1), rest[n1] = '\0';
    const char *specials[8];
    int ns = 0;
    char *text = rest, *nl;
    while (ns < 8 && (nl = strchr(text, '\n')) && nl != text) {
        *nl = '\0';
        specials[ns++] = text;
        text = nl + 1;
    }
    size_t tlen = n1 - (size_t)(text - rest); /* the text may hold NULs */
    rz_tokenizer *t = NULL;
    rz_error err;
    if (rz_tokenizer_chars(&t, alpha, specials, ns, &err) == RZ_OK) {
        int cap = (int)tlen + 1, n = 0;
        int *ids = malloc((size_t)cap * sizeof *ids);
        if (!ids) abort();
        if (rz_tokenizer_encode(t, text, tlen, ids, cap, &n, &err) == RZ_OK) {
            char *back = NULL;
            size_t blen = 0;
            if (rz_tokenizer_decode(t, ids, n, &back, &blen, &err) != RZ_OK) abort();
            if (blen != tlen || memcmp(back, text, tlen) != 0) abort();
            free(back);
        } else if (!err.msg[0]) {
            abort();
        }
        for (int id = -1; id <= rz_tokenizer_size(t); id++) {
            const char *piece = rz_tokenizer_piece(t, id);
            if ((piece != NULL) != (id >= 0 && id < rz_tokenizer_size(t))) abort();
            if (piece && id > RZ_TOK_EOS && rz_tokenizer_id(t, piece) != id) abort();
        }
        free(ids);
        rz_tokenizer_free(t);
    } else if (t || !err.msg[0]) {
        abort();
    }
    /* the importer reads JSON: the whole input is the file */
    char path[300];
    fuzz_path("rlzero_tokenizer.json", path, sizeof path);
    fuzz_write(path, data, size);
    *strrchr(path, '/') = '\0';
    if (rz_tokenizer_import(&t, path, &err) == RZ_OK) rz_tokenizer_free(t);
    else if (t || !err.msg[0]) abort();
    free(alpha), free(rest);
    return 0;
}

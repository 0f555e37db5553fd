/* files.h: the loaders read files, so a fuzz input is written to a file in a private
 * temporary directory first (created once per process, removed at exit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[256];

static inline void fuzz_dir_remove(void)
{
    static const char *const names[] = {"ckpt", "config.json", "model.safetensors",
                                        "rlzero_tokenizer.json"};
    char path[300];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, names[i]);
        unlink(path);
    }
    rmdir(fuzz_dir);
}

/* The path of NAME inside the temporary directory (a static buffer per call site's use). */
static inline const char *fuzz_path(const char *name, char *buf, size_t cap)
{
    if (!fuzz_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/rzfuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fuzz_dir)) abort();
        atexit(fuzz_dir_remove);
    }
    snprintf(buf, cap, "%s/%s", fuzz_dir, name);
    return buf;
}

static inline void fuzz_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
}

/* Splits data at the first occurrence of the 4-byte separator "\n--\n": part 0 before, part 1
 * after (empty when absent). */
static inline void fuzz_split(const unsigned char *data, size_t size, size_t *len0, const unsigned char **p1,
                       size_t *len1)
{
    for (size_t i = 0; i + 4 <= size; i++)
        if (memcmp(data + i, "\n--\n", 4) == 0) {
            *len0 = i, *p1 = data + i + 4, *len1 = size - i - 4;
            return;
        }
    *len0 = size, *p1 = data + size, *len1 = 0;
}

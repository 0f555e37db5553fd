/* test_checkpoint.c: exact round trips; truncated, corrupted, foreign and inconsistent files
 * refused with a message naming the file; failed writes leave the previous file intact. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>
#include <xxhash.h>

#include "test.h"

static rz_error err;
static char dir[512];

static const char *in_dir(char *buf, const char *name)
{
    snprintf(buf, 1024, "%s/%s", dir, name);
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    REQUIRE(len == 0 || fwrite(data, 1, len, f) == len);
    REQUIRE(fclose(f) == 0);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    REQUIRE(n >= 0);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    REQUIRE(b && fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    REQUIRE(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* a position of needle in hay at or after from, or -1 (occurrence: 0 first, -1 last) */
static long find(const unsigned char *hay, size_t n, const char *needle, size_t m, int last)
{
    long at = -1;
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) {
            at = (long)i;
            if (!last) break;
        }
    return at;
}

/* recomputes the checksum trailer after a deliberate edit, so the edit reaches the parser */
static void reseal(unsigned char *b, size_t n)
{
    uint64_t h = XXH64(b, n - 9, 0);
    for (int i = 0; i < 8; i++) b[n - 1 - i] = (unsigned char)(h >> (8 * i));
}

static void fill(rz_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = rz_rng_normal(r);
}

/* a Llama-ish layout by hand (odd sizes, so offsets are padded) */
static void build_transformer_params(rz_params *p)
{
    memset(p, 0, sizeof *p);
    const int emb[] = {20, 8}, norm[] = {8}, q[] = {8, 8}, odd[] = {3, 5, 7}, four[] = {2, 1, 3, 1};
    REQUIRE(rz_params_add(p, "model.embed_tokens.weight", 2, emb, 1, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "model.layers.0.input_layernorm.weight", 1, norm, 0, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "model.layers.0.self_attn.q_proj.weight", 2, q, 1, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "odd", 3, odd, 1, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "four.dims", 4, four, 0, &err) == RZ_OK);
    REQUIRE(rz_params_alloc(p, &err) == RZ_OK);
}

static void build_mlp_params(rz_params *p)
{
    memset(p, 0, sizeof *p);
    const int w0[] = {4, 3}, b0[] = {4}, w1[] = {5, 4}, b1[] = {5};
    REQUIRE(rz_params_add(p, "fc0.weight", 2, w0, 1, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "fc0.bias", 1, b0, 0, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "out.weight", 2, w1, 1, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "out.bias", 1, b1, 0, &err) == RZ_OK);
    REQUIRE(rz_params_alloc(p, &err) == RZ_OK);
}

/* loads path expecting RZ_ERR_FORMAT with the file name and want in the message */
static int refused(const char *path, const char *want)
{
    rz_checkpoint ck;
    int rc = rz_checkpoint_load(path, &ck, &err);
    int ok = rc == RZ_ERR_FORMAT && strstr(err.msg, path) && strstr(err.msg, want) && ck.params == NULL &&
             ck.tokenizer == NULL && ck.extra == NULL;
    if (rc == RZ_OK) rz_checkpoint_release(&ck);
    return ok;
}

/* writes the bytes of a good file with one edit (and a fresh checksum) and expects want */
static void check_edit(const unsigned char *good, size_t n, const char *from, const char *to, int last,
                       const char *want)
{
    char path[1024];
    in_dir(path, "edited.ckpt");
    unsigned char *b = malloc(n);
    REQUIRE(b);
    memcpy(b, good, n);
    size_t m = strlen(from);
    REQUIRE(strlen(to) == m);
    long at = find(b, n, from, m, last);
    CHECKF(at >= 0, "edit '%s': the bytes to change are not in the file", from);
    if (at < 0) {
        free(b);
        return;
    }
    memcpy(b + at, to, m);
    reseal(b, n);
    write_file(path, b, n);
    CHECKF(refused(path, want), "edit '%s' -> '%s': wanted '%s', got: %s", from, to, want, err.msg);
    free(b);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/rz_ckpt.XXXXXX", tmp && *tmp ? tmp : ".");
    REQUIRE(mkdtemp(dir));
    char path[1024], path2[1024], path3[1024];
    rz_rng r;
    rz_rng_seed(&r, 2024);

    /* ---- a full checkpoint: transformer kind, tokenizer, optimizer state, extra */
    rz_params p;
    build_transformer_params(&p);
    fill(&r, p.param, p.numel); /* the padding between tensors too: the whole buffer travels */
    fill(&r, p.m, p.numel);
    fill(&r, p.v, p.numel);
    p.param[0] = -0.0f;
    p.param[1] = 1e-40f; /* subnormal */
    p.param[2] = FLT_MAX;
    uint32_t nan_bits = 0x7fc12345u;
    memcpy(&p.v[3], &nan_bits, 4);
    const char *specials[] = {"<think>", "</think>"};
    rz_tokenizer *tok;
    REQUIRE(rz_tokenizer_chars(&tok, "0123456789+-=αβ ", specials, 2, &err) == RZ_OK);
    unsigned char extra[300];
    for (int i = 0; i < 300; i++) extra[i] = (unsigned char)(i * 7);

    rz_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    strcpy(ck.kind, "transformer");
    ck.transformer = (rz_transformer_config){.vocab = 20, .dim = 8, .layers = 1, .heads = 2, .hidden = 32,
                                             .context = 16, .tied = 1, .rope_theta = 10000.0f, .norm_eps = 1e-5f};
    ck.tokenizer = tok;
    ck.params = &p;
    ck.with_optimizer = 1;
    ck.step = 123456789012LL;
    rz_rng_seed(&ck.rng, 77);
    ck.extra = extra;
    ck.extra_len = sizeof extra;

    in_dir(path, "full.ckpt");
    CHECK_OK(rz_checkpoint_save(path, &ck, &err), &err);
    CHECK(count_entries(dir) == 1); /* no temporary left behind */
    rz_checkpoint back;
    CHECK_OK(rz_checkpoint_load(path, &back, &err), &err);
    REQUIRE(back.params && back.params->param);
    CHECK(strcmp(back.kind, "transformer") == 0);
    CHECK(memcmp(&back.transformer, &ck.transformer, sizeof ck.transformer) == 0);
    CHECK(back.with_optimizer == 1);
    CHECK(back.step == ck.step);
    CHECK(memcmp(&back.rng, &ck.rng, sizeof ck.rng) == 0);
    CHECK(back.extra_len == sizeof extra && memcmp(back.extra, extra, sizeof extra) == 0);
    CHECK(back.params->count == p.count && back.params->numel == p.numel);
    int same_layout = back.params->count == p.count;
    for (int i = 0; same_layout && i < p.count; i++)
        same_layout = memcmp(&back.params->tensors[i], &p.tensors[i], sizeof(rz_tensor)) == 0;
    CHECK(same_layout);
    CHECK(memcmp(back.params->param, p.param, p.numel * sizeof(float)) == 0);
    CHECK(memcmp(back.params->m, p.m, p.numel * sizeof(float)) == 0);
    CHECK(memcmp(back.params->v, p.v, p.numel * sizeof(float)) == 0);
    REQUIRE(back.tokenizer);
    CHECK(strcmp(rz_tokenizer_alphabet(back.tokenizer), "0123456789+-=αβ ") == 0);
    CHECK(rz_tokenizer_nspecials(back.tokenizer) == 2 &&
          strcmp(rz_tokenizer_special(back.tokenizer, 0), "<think>") == 0 &&
          strcmp(rz_tokenizer_special(back.tokenizer, 1), "</think>") == 0);
    CHECK(rz_tokenizer_size(back.tokenizer) == rz_tokenizer_size(tok));

    /* saving the loaded checkpoint again gives the same bytes */
    in_dir(path2, "again.ckpt");
    CHECK_OK(rz_checkpoint_save(path2, &back, &err), &err);
    size_t n1, n2;
    unsigned char *b1 = read_all(path, &n1), *b2 = read_all(path2, &n2);
    CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    unlink(path2);

    /* ---- copy into live params of the same layout, and refusals of other layouts */
    rz_params live;
    build_transformer_params(&live);
    CHECK_OK(rz_params_copy_from(&live, back.params, 1, &err), &err);
    CHECK(memcmp(live.param, p.param, p.numel * sizeof(float)) == 0);
    CHECK(memcmp(live.m, p.m, p.numel * sizeof(float)) == 0 && memcmp(live.v, p.v, p.numel * sizeof(float)) == 0);
    memset(live.m, 0, p.numel * sizeof(float));
    CHECK_OK(rz_params_copy_from(&live, back.params, 0, &err), &err);
    CHECK(live.m[5] == 0.0f); /* without the optimizer, moments are untouched */
    rz_params other;
    memset(&other, 0, sizeof other);
    const int emb[] = {20, 8}, norm9[] = {9};
    REQUIRE(rz_params_add(&other, "model.embed_tokens.weight", 2, emb, 1, &err) == RZ_OK);
    REQUIRE(rz_params_add(&other, "model.layers.0.input_layernorm.weight", 1, norm9, 0, &err) == RZ_OK);
    REQUIRE(rz_params_alloc(&other, &err) == RZ_OK);
    live.param[0] = 42.0f;
    CHECK(rz_params_copy_from(&live, &other, 0, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "model.layers.0.input_layernorm.weight") && strstr(err.msg, "(9)"), "%s", err.msg);
    CHECK(live.param[0] == 42.0f); /* nothing copied on a mismatch */
    rz_params_free(&other);
    build_mlp_params(&other);
    CHECK(rz_params_copy_from(&live, &other, 0, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "model.embed_tokens.weight") && strstr(err.msg, "fc0.weight"), "%s", err.msg);
    rz_params_free(&other);
    memset(&other, 0, sizeof other);
    REQUIRE(rz_params_add(&other, "model.embed_tokens.weight", 2, emb, 1, &err) == RZ_OK);
    REQUIRE(rz_params_alloc(&other, &err) == RZ_OK);
    CHECK(rz_params_copy_from(&live, &other, 0, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "model.layers.0.input_layernorm.weight"), "%s", err.msg);
    rz_params_free(&other);
    rz_params_free(&live);

    rz_checkpoint_release(&back);
    CHECK(back.params == NULL && back.tokenizer == NULL && back.extra == NULL);
    rz_checkpoint_release(&back); /* twice, and on a zeroed struct: harmless */

    /* ---- a small checkpoint: mlp kind, no tokenizer, no optimizer, empty extra */
    rz_params q;
    build_mlp_params(&q);
    fill(&r, q.param, q.numel);
    rz_checkpoint small;
    memset(&small, 0, sizeof small);
    strcpy(small.kind, "mlp");
    small.mlp = (rz_mlp_config){.inputs = 3, .outputs = 5, .layers = 1, .hidden = 4, .activation = RZ_ACT_TANH};
    small.params = &q;
    small.step = -1;
    rz_rng_seed(&small.rng, 5);
    in_dir(path2, "small.ckpt");
    CHECK_OK(rz_checkpoint_save(path2, &small, &err), &err);
    CHECK_OK(rz_checkpoint_load(path2, &back, &err), &err);
    REQUIRE(back.params);
    CHECK(strcmp(back.kind, "mlp") == 0 && memcmp(&back.mlp, &small.mlp, sizeof small.mlp) == 0);
    CHECK(back.with_optimizer == 0 && back.tokenizer == NULL && back.extra == NULL && back.extra_len == 0);
    CHECK(back.step == -1 && memcmp(&back.rng, &small.rng, sizeof small.rng) == 0);
    CHECK(memcmp(back.params->param, q.param, q.numel * sizeof(float)) == 0);
    float zero[128] = {0};
    REQUIRE(q.numel <= 128);
    CHECK(memcmp(back.params->m, zero, q.numel * sizeof(float)) == 0);
    rz_checkpoint_release(&back);

    size_t sn;
    unsigned char *sb = read_all(path2, &sn);
    printf("checkpoint sizes: full %zu bytes, small %zu bytes\n", n1, sn);

    /* ---- truncated at every length */
    in_dir(path3, "cut.ckpt");
    int bad = 0;
    for (size_t len = 0; len < sn; len++) {
        write_file(path3, sb, len);
        if (!refused(path3, "truncated") && bad++ == 0)
            fprintf(stderr, "truncated to %zu bytes: %s\n", len, err.msg);
    }
    CHECKF(bad == 0, "%d truncated lengths not refused as truncated", bad);
    write_file(path3, sb, 0);
    CHECK(refused(path3, "empty"));

    /* ---- every bit of every byte flipped */
    unsigned char *fb = malloc(sn);
    REQUIRE(fb);
    bad = 0;
    for (size_t i = 0; i < sn; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(fb, sb, sn);
            fb[i] ^= (unsigned char)(1u << bit);
            write_file(path3, fb, sn);
            if (!refused(path3, "checksum") && bad++ == 0)
                fprintf(stderr, "bit %d of byte %zu flipped: %s\n", bit, i, err.msg);
        }
    CHECKF(bad == 0, "%d bit flips not refused with a checksum error", bad);
    /* and in the large file, a sample of positions */
    b1 = read_all(path, &n1);
    bad = 0;
    for (size_t i = 0; i < n1; i += 13) {
        b1[i] ^= 0x10;
        write_file(path3, b1, n1);
        if (!refused(path3, "checksum") && bad++ == 0) fprintf(stderr, "byte %zu flipped: %s\n", i, err.msg);
        b1[i] ^= 0x10;
    }
    CHECKF(bad == 0, "%d flips in the large file not refused", bad);
    free(fb);

    /* ---- foreign files */
    unsigned char junk[1000];
    for (int seed = 0; seed < 20; seed++) {
        rz_rng jr;
        rz_rng_seed(&jr, (uint64_t)seed);
        for (int i = 0; i < 1000; i++) junk[i] = (unsigned char)rz_rng_next(&jr);
        write_file(path3, junk, 1000);
        CHECKF(refused(path3, "not an rlzero checkpoint"), "random bytes %d: %s", seed, err.msg);
    }
    const char *json = "{\"format\": \"rlzero-checkpoint\", \"version\": 1, \"params\": []}\n";
    write_file(path3, json, strlen(json));
    CHECKF(refused(path3, "not an rlzero checkpoint"), "%s", err.msg);
    write_file(path3, "hello\n", 6);
    CHECKF(refused(path3, "not an rlzero checkpoint"), "%s", err.msg);
    {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "format", 6);
        msgpack_pack_str_with_body(&pk, "other-checkpoint", 16);
        msgpack_pack_str_with_body(&pk, "version", 7);
        msgpack_pack_int(&pk, 1);
        write_file(path3, buf.data, buf.size);
        CHECKF(refused(path3, "not an rlzero checkpoint"), "%s", err.msg);
        /* the same map with our checksum trailer, and a correct checksum: intact, not ours */
        msgpack_sbuffer_clear(&buf);
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "format", 6);
        msgpack_pack_str_with_body(&pk, "other-checkpoint", 16);
        msgpack_pack_str_with_body(&pk, "version", 7);
        msgpack_pack_int(&pk, 1);
        msgpack_pack_str_with_body(&pk, "checksum", 8);
        msgpack_pack_fix_uint64(&pk, 0);
        reseal((unsigned char *)buf.data, buf.size);
        write_file(path3, buf.data, buf.size);
        CHECKF(refused(path3, "not an rlzero checkpoint"), "%s", err.msg);
        msgpack_sbuffer_destroy(&buf);
    }

    /* ---- intact (checksummed) files whose content is wrong */
    check_edit(sb, sn, "\xa7version\x01", "\xa7version\x02", 0, "unsupported version 2");
    check_edit(sb, sn, "\xa4kind\xa3mlp", "\xa4kind\xa3" "cnn", 0, "unknown kind 'cnn'");
    check_edit(sb, sn, "\xa4step", "\xa4stop", 0, "missing field 'step'");
    check_edit(sb, sn, "\xa5" "extra", "\xa5" "extrb", 0, "missing field 'extra'");
    check_edit(sb, sn, "\xa6hidden", "\xa6hiddex", 0, "missing field 'config.hidden'");
    check_edit(sb, sn, "\xa6offset\x10", "\xa6offset\x11", 0, "layout inconsistent");
    check_edit(sb, sn, "\xa5numel\x0c", "\xa5numel\x0d", 0, "layout inconsistent");
    /* shape and numel of the last tensor shrunk together: params holds more than the layout */
    {
        char p4[1024];
        unsigned char *b = malloc(sn);
        REQUIRE(b);
        memcpy(b, sb, sn);
        long a = find(b, sn, "\xa5shape\x91\x05", 8, 1), c = find(b, sn, "\xa5numel\x05", 7, 1);
        REQUIRE(a >= 0 && c >= 0);
        b[a + 7] = 4;
        b[c + 6] = 4;
        reseal(b, sn);
        write_file(in_dir(p4, "edited.ckpt"), b, sn);
        CHECKF(refused(p4, "layout inconsistent: 'params' holds"), "%s", err.msg);
        free(b);
    }
    b2 = read_all(path, &n2);
    check_edit(b2, n2, "\xa3" "dim", "\xa3" "dam", 0, "missing field 'config.dim'");
    check_edit(b2, n2, "\xaa" "rope_theta", "\xaa" "rope_thetx", 0, "missing field 'config.rope_theta'");
    check_edit(b2, n2, "9+-", "99-", 0, "bad tokenizer"); /* a duplicate character */
    check_edit(b2, n2, "\xa6" "adam_v", "\xa6" "adam_w", 0, "missing field 'adam_v'");
    free(b2);
    in_dir(path3, "edited.ckpt");
    unlink(path3);
    in_dir(path3, "cut.ckpt");
    unlink(path3);

    /* ---- missing files and directories are i/o errors naming the path */
    in_dir(path3, "missing.ckpt");
    CHECK(rz_checkpoint_load(path3, &back, &err) == RZ_ERR_IO);
    CHECKF(strstr(err.msg, path3) && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    CHECK(rz_checkpoint_load(dir, &back, &err) == RZ_ERR_IO && back.params == NULL);
    CHECKF(strstr(err.msg, dir), "%s", err.msg);

    /* ---- failed writes leave the previous checkpoint in place */
    in_dir(path3, "no/such/dir/x.ckpt");
    CHECK(rz_checkpoint_save(path3, &small, &err) == RZ_ERR_IO);
    CHECKF(strstr(err.msg, path3) && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    char notdir[1100];
    in_dir(path3, "small.ckpt/x.ckpt"); /* the parent is a regular file */
    CHECK(rz_checkpoint_save(path3, &small, &err) == RZ_ERR_IO);
    CHECKF(strstr(err.msg, path3) && strstr(err.msg, strerror(ENOTDIR)), "%s", err.msg);
    /* the target itself: its temporary name is taken by a directory, so the write fails */
    snprintf(notdir, sizeof notdir, "%s.tmp.%ld", path, (long)getpid());
    REQUIRE(mkdir(notdir, 0755) == 0);
    rz_checkpoint other_ck = small; /* a different checkpoint aimed at the full one's path */
    CHECK(rz_checkpoint_save(path, &other_ck, &err) == RZ_ERR_IO);
    CHECKF(strstr(err.msg, path), "%s", err.msg);
    rmdir(notdir);
    b2 = read_all(path, &n2);
    CHECK(n2 == n1 && memcmp(b1, b2, n1) == 0);
    free(b2);
    CHECK_OK(rz_checkpoint_load(path, &back, &err), &err);
    CHECK(back.params && back.params->numel == p.numel &&
          memcmp(back.params->param, p.param, p.numel * sizeof(float)) == 0);
    rz_checkpoint_release(&back);
    /* a rename that fails (the target is a non-empty directory) removes its temporary */
    in_dir(path3, "target");
    REQUIRE(mkdir(path3, 0755) == 0);
    char inner[1100];
    snprintf(inner, sizeof inner, "%s/keep", path3);
    write_file(inner, "x", 1);
    int before = count_entries(dir);
    CHECK(rz_checkpoint_save(path3, &small, &err) == RZ_ERR_IO);
    CHECKF(strstr(err.msg, path3) && strstr(err.msg, "rename"), "%s", err.msg);
    CHECK(count_entries(dir) == before);
    remove_tree(path3);

    /* ---- rz_write_atomic on its own: create, replace, and nothing else left behind */
    in_dir(path3, "notes.txt");
    CHECK_OK(rz_write_atomic(path3, "first version", 13, &err), &err);
    CHECK_OK(rz_write_atomic(path3, "second", 6, &err), &err);
    b2 = read_all(path3, &n2);
    CHECK(n2 == 6 && memcmp(b2, "second", 6) == 0);
    free(b2);
    CHECK_OK(rz_write_atomic(path3, "", 0, &err), &err);
    b2 = read_all(path3, &n2);
    CHECK(n2 == 0);
    free(b2);
    CHECK(count_entries(dir) == 3); /* full.ckpt, small.ckpt, notes.txt */

    /* ---- argument errors on save */
    rz_checkpoint badck = small;
    strcpy(badck.kind, "cnn");
    CHECK(rz_checkpoint_save(path3, &badck, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "cnn"), "%s", err.msg);
    badck = small;
    badck.params = NULL;
    CHECK(rz_checkpoint_save(path3, &badck, &err) == RZ_ERR_ARG);

    free(b1);
    free(sb);
    rz_params_free(&q);
    rz_params_free(&p);
    rz_tokenizer_free(tok);
    remove_tree(dir);
    return test_done("test_checkpoint");
}

/* test_transformer.c: the whole model's gradients against central differences (tied and
 * untied), the weighted cross-entropy, overfitting a tiny corpus, the KV-cache decode
 * against the full forward, batch and thread invariance, layout and error cases. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gradcheck.h"
#include "test.h"

static rz_transformer_config tiny_config(int tied)
{
    rz_transformer_config c;
    rz_transformer_config_default(&c);
    c.vocab = 11;
    c.dim = 16;
    c.layers = 2;
    c.heads = 2;
    c.context = 8;
    c.tied = tied;
    return c;
}

/* Larger weights than the N(0, 0.02) init so that every part of the model works in its
 * nonlinear range and the gradients are far above float noise. */
static void scale_params(rz_transformer *m, rz_rng *rng)
{
    rz_params *p = rz_transformer_params(m);
    for (int i = 0; i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        float *x = p->param + t->offset;
        if (!t->decay) gc_fill(x, t->numel, rng, 0.2f, 1.0f);
        else if (strstr(t->name, "embed")) gc_fill(x, t->numel, rng, 1.0f, 0.0f);
        else gc_fill(x, t->numel, rng, 1.0f / sqrtf((float)t->shape[1]), 0.0f);
    }
}

/* ------------------------------------------------------- gradient check */

enum { GB = 2, GT = 7 };
typedef struct {
    rz_transformer *m;
    int tokens[GB * GT], targets[GB * GT];
    float w[GB * GT];
    float *r; /* (B, T, V) */
    int ce;   /* 0: sum(r * logits); 1: weighted cross-entropy, in double */
} gm_ctx;

static double ce_of_logits(const float *logits, const int *targets, const float *w, int N, int V)
{
    double total = 0, wsum = 0;
    for (int n = 0; n < N; n++) {
        if (w[n] == 0.0f) continue;
        const float *row = logits + (size_t)n * V;
        double mx = row[0], s = 0;
        for (int i = 1; i < V; i++) mx = row[i] > mx ? row[i] : mx;
        for (int i = 0; i < V; i++) s += exp(row[i] - mx);
        total -= w[n] * (row[targets[n]] - mx - log(s));
        wsum += w[n];
    }
    return total / wsum;
}

static double gm_loss(void *p)
{
    gm_ctx *c = p;
    int rc = rz_transformer_forward(c->m, c->tokens, GB, GT, NULL);
    REQUIRE(rc == RZ_OK);
    const float *logits = rz_transformer_logits(c->m);
    int V = rz_transformer_cfg(c->m)->vocab;
    if (c->ce) return ce_of_logits(logits, c->targets, c->w, GB * GT, V);
    return gc_dot(logits, c->r, (size_t)GB * GT * V);
}

static void test_gradients(int tied, int ce)
{
    printf("gradient check: %s lm head, loss %s\n", tied ? "tied" : "untied",
           ce ? "weighted cross-entropy" : "sum(r * logits)");
    rz_error err = {0};
    rz_transformer_config cfg = tiny_config(tied);
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &cfg, 7, &err) == RZ_OK);
    rz_rng rng;
    rz_rng_seed(&rng, 99 + tied);
    scale_params(m, &rng);
    gm_ctx c = {.m = m, .ce = ce};
    int V = cfg.vocab;
    c.r = malloc(sizeof(float) * GB * GT * V);
    REQUIRE(c.r);
    gc_fill(c.r, (size_t)GB * GT * V, &rng, 1.0f, 0.0f);
    for (int n = 0; n < GB * GT; n++) {
        c.tokens[n] = (int)rz_rng_below(&rng, V);
        c.targets[n] = (int)rz_rng_below(&rng, V);
        c.w[n] = (float)rz_rng_uniform(&rng) + 0.5f;
    }
    c.w[3] = 0.0f; /* an ignored position may carry any target */
    c.targets[3] = -1;

    rz_params *p = rz_transformer_params(m);
    rz_params_zero_grad(p);
    if (ce) {
        float loss = 0;
        CHECK_OK(rz_transformer_loss(m, c.tokens, c.targets, c.w, GB, GT, 1, &loss, &err), &err);
        double ref = ce_of_logits(rz_transformer_logits(m), c.targets, c.w, GB * GT, V);
        CHECKF(fabs(loss - ref) < 1e-5 * fabs(ref), "loss %g vs %g", loss, ref);
    } else {
        CHECK_OK(rz_transformer_forward(m, c.tokens, GB, GT, &err), &err);
        CHECK_OK(rz_transformer_backward(m, c.r, &err), &err);
    }
    float *g = malloc(p->numel * sizeof(float));
    REQUIRE(g);
    memcpy(g, p->grad, p->numel * sizeof(float));
    /* h = 3e-2 with Richardson: smaller steps drown in float rounding of the forward,
     * larger ones let the h^4 term of the cross-entropy through */
    double worst = 0;
    for (int i = 0; i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        double e = gc_check(t->name, gm_loss, &c, p->param + t->offset, g + t->offset, t->numel,
                            3e-2);
        CHECKF(e <= 1e-3, "%s: relative error %g", t->name, e);
        worst = e > worst ? e : worst;
    }
    printf("  worst tensor: rel err %.2e\n", worst);
    free(g);
    free(c.r);
    rz_transformer_free(m);
}

/* ------------------------------------------------------- loss semantics */

static void test_loss_cases(void)
{
    rz_error err = {0};
    rz_transformer_config cfg = tiny_config(0);
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &cfg, 3, &err) == RZ_OK);
    int tokens[6] = {1, 2, 3, 4, 5, 6}, targets[6] = {2, 3, 4, 5, 6, 7};
    float zero[6] = {0}, loss = -1;
    rz_params *p = rz_transformer_params(m);
    rz_params_zero_grad(p);
    CHECK_OK(rz_transformer_loss(m, tokens, targets, zero, 1, 6, 1, &loss, &err), &err);
    CHECK(loss == 0.0f);
    int allzero = 1;
    for (size_t i = 0; i < p->numel; i++) allzero &= p->grad[i] == 0.0f;
    CHECK(allzero);
    /* NULL weights: the plain mean; at init the model is close to uniform, loss ~ log V */
    CHECK_OK(rz_transformer_loss(m, tokens, targets, NULL, 2, 3, 0, &loss, &err), &err);
    CHECKF(fabs(loss - log(cfg.vocab)) < 0.05, "initial loss %g vs log V %g", loss, log(cfg.vocab));
    targets[2] = 11;
    CHECK(rz_transformer_loss(m, tokens, targets, NULL, 2, 3, 0, &loss, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "target 11") != NULL, "message: %s", err.msg);
    rz_transformer_free(m);
}

/* ------------------------------------------------------ overfit a corpus */

static void test_overfit(void)
{
    const char *text = "the quick brown fox jumps over a lazy dog"; /* 41 chars */
    int T = (int)strlen(text) - 1;
    int map[256], V = 0, ids[64];
    for (int i = 0; i < 256; i++) map[i] = -1;
    for (int i = 0; text[i]; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (map[ch] < 0) map[ch] = V++;
        ids[i] = map[ch];
    }
    rz_transformer_config cfg;
    rz_transformer_config_default(&cfg);
    cfg.vocab = V;
    cfg.dim = 32;
    cfg.layers = 2;
    cfg.heads = 2;
    cfg.context = 64;
    rz_error err = {0};
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &cfg, 11, &err) == RZ_OK);
    rz_params *p = rz_transformer_params(m);

    /* plain Adam written out here (the library's AdamW lives elsewhere) */
    const float lr = 1e-2f, b1 = 0.9f, b2 = 0.99f, eps = 1e-8f, target = 0.05f;
    const int max_steps = 300;
    float loss = 0, first = 0;
    int step;
    for (step = 0; step < max_steps; step++) {
        rz_params_zero_grad(p);
        REQUIRE(rz_transformer_loss(m, ids, ids + 1, NULL, 1, T, 1, &loss, &err) == RZ_OK);
        if (step == 0) first = loss;
        if (loss < target) break;
        float c1 = 1.0f - powf(b1, step + 1), c2 = 1.0f - powf(b2, step + 1);
        for (size_t i = 0; i < p->numel; i++) {
            float gi = p->grad[i];
            p->m[i] = b1 * p->m[i] + (1 - b1) * gi;
            p->v[i] = b2 * p->v[i] + (1 - b2) * gi * gi;
            p->param[i] -= lr * (p->m[i] / c1) / (sqrtf(p->v[i] / c2) + eps);
        }
    }
    printf("overfit: V %d T %d loss %.4f -> %.4f after %d steps (target < %.2f within %d)\n", V, T,
           first, loss, step, target, max_steps);
    CHECKF(loss < target, "loss %g after %d steps", loss, step);
    rz_transformer_free(m);
}

/* ------------------------------------------------------------ KV cache */

static double rel_err(const float *a, const float *b, int n)
{
    double d = 0, r = 0;
    for (int i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        r += (double)b[i] * b[i];
    }
    return sqrt(d) / (sqrt(r) + 1e-30);
}

static void test_decode(void)
{
    rz_transformer_config cfg;
    rz_transformer_config_default(&cfg);
    cfg.vocab = 13;
    cfg.dim = 32;
    cfg.layers = 2;
    cfg.heads = 4;
    cfg.context = 80;
    rz_error err = {0};
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &cfg, 5, &err) == RZ_OK);
    rz_rng rng;
    rz_rng_seed(&rng, 77);
    scale_params(m, &rng);
    /* the decode's attention takes the positions 32 at a time (and fetches the next group
     * and the next row ahead): lengths below, at and past one and two groups */
    enum { S = 5, MAXT = 75 };
    const int V = cfg.vocab, lens[S] = {5, 9, 32, 33, 75};
    int seq[S][MAXT];
    static float full[S][MAXT * 13], dec[S][MAXT * 13], alone[MAXT * 13];
    for (int s = 0; s < S; s++) {
        for (int t = 0; t < lens[s]; t++) seq[s][t] = (int)rz_rng_below(&rng, V);
        REQUIRE(rz_transformer_forward(m, seq[s], 1, lens[s], &err) == RZ_OK);
        memcpy(full[s], rz_transformer_logits(m), sizeof(float) * lens[s] * V);
    }
    /* keep a forward's logits around: decode must not disturb them */
    REQUIRE(rz_transformer_forward(m, seq[S - 1], 1, lens[S - 1], &err) == RZ_OK);

    rz_kvcache *c = NULL;
    CHECK_OK(rz_kvcache_create(&c, m, S, MAXT, &err), &err);
    REQUIRE(c);
    /* all sequences in one batch while they last, rows in reversed slot order */
    for (int t = 0; t < MAXT; t++) {
        int slot[S], pos[S], tok[S], n = 0;
        float out[S * 13];
        for (int s = S - 1; s >= 0; s--)
            if (t < lens[s]) slot[n] = s, pos[n] = t, tok[n] = seq[s][t], n++;
        CHECK_OK(rz_transformer_decode(m, c, n, slot, pos, tok, out, &err), &err);
        for (int i = 0; i < n; i++) memcpy(dec[slot[i]] + t * V, out + i * V, sizeof(float) * V);
    }
    double worst = 0;
    for (int s = 0; s < S; s++) {
        double e = rel_err(dec[s], full[s], lens[s] * V);
        worst = e > worst ? e : worst;
        CHECKF(e <= 1e-5, "sequence %d (length %d): decode vs forward rel err %g", s, lens[s], e);
    }
    printf("decode vs full forward: worst rel err %.2e\n", worst);
    CHECK(memcmp(rz_transformer_logits(m), full[S - 1], sizeof(float) * lens[S - 1] * V) == 0);

    /* batch invariance: sequence 1 fed alone into slot 2 of a fresh cache gives the same
     * bits as in the batch; then slot 2 is reused for sequence 0 from position 0 */
    rz_kvcache *c2 = NULL;
    CHECK_OK(rz_kvcache_create(&c2, m, S, MAXT, &err), &err);
    REQUIRE(c2);
    for (int t = 0; t < lens[1]; t++) {
        int slot = 2;
        CHECK_OK(rz_transformer_decode(m, c2, 1, &slot, &t, &seq[1][t], alone + t * V, &err), &err);
    }
    CHECK(memcmp(alone, dec[1], sizeof(float) * lens[1] * V) == 0);
    for (int t = 0; t < lens[0]; t++) {
        int slot = 2;
        CHECK_OK(rz_transformer_decode(m, c2, 1, &slot, &t, &seq[0][t], alone + t * V, &err), &err);
    }
    CHECK(memcmp(alone, dec[0], sizeof(float) * lens[0] * V) == 0);
    for (int t = 0; t < lens[S - 1]; t++) { /* past two groups of positions, alone */
        int slot = 3;
        CHECK_OK(rz_transformer_decode(m, c2, 1, &slot, &t, &seq[S - 1][t], alone + t * V, &err),
                 &err);
    }
    CHECK(memcmp(alone, dec[S - 1], sizeof(float) * lens[S - 1] * V) == 0);

    /* misuse */
    int slot2[2] = {0, 0}, pos2[2] = {0, 0}, tok2[2] = {1, 1}, bad;
    float out2[2 * 13];
    CHECK(rz_transformer_decode(m, c2, 2, slot2, pos2, tok2, out2, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "twice") != NULL, "message: %s", err.msg);
    bad = 3; /* slot 0 of c2 has nothing fed: position 3 skips ahead */
    CHECK(rz_transformer_decode(m, c2, 1, &slot2[0], &bad, tok2, out2, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "pos 3") != NULL, "message: %s", err.msg);
    bad = 13;
    CHECK(rz_transformer_decode(m, c2, 1, &slot2[0], &pos2[0], &bad, out2, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "token 13") != NULL, "message: %s", err.msg);
    bad = S;
    CHECK(rz_transformer_decode(m, c2, 1, &bad, &pos2[0], tok2, out2, &err) == RZ_ERR_ARG);
    rz_kvcache *c3 = NULL;
    CHECK(rz_kvcache_create(&c3, m, 2, cfg.context + 1, &err) == RZ_ERR_ARG && c3 == NULL);
    CHECKF(strstr(err.msg, "len") != NULL, "message: %s", err.msg);
    CHECK(rz_kvcache_create(&c3, m, 0, 4, &err) == RZ_ERR_ARG);
    rz_kvcache_free(c);
    rz_kvcache_free(c2);
    rz_kvcache_free(NULL);
    rz_transformer_free(m);
}

/* ------------------------------------------------------ thread invariance */

static void test_threads(void)
{
#ifdef _OPENMP
    rz_transformer_config cfg;
    rz_transformer_config_default(&cfg);
    /* big enough that every parallel loop really splits (see RZ_PAR_MIN) */
    cfg.vocab = 100;
    cfg.dim = 96;
    cfg.layers = 2;
    cfg.heads = 4;
    cfg.context = 48;
    rz_error err = {0};
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &cfg, 8, &err) == RZ_OK);
    rz_params *p = rz_transformer_params(m);
    enum { B = 8, T = 48 };
    static int tokens[B * T], targets[B * T];
    rz_rng rng;
    rz_rng_seed(&rng, 4);
    for (int i = 0; i < B * T; i++) {
        tokens[i] = (int)rz_rng_below(&rng, cfg.vocab);
        targets[i] = (int)rz_rng_below(&rng, cfg.vocab);
    }
    size_t nl = (size_t)B * T * cfg.vocab;
    float *logits[2], *grads[2], *dec[2], loss[2];
    int saved = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k + 1);
        logits[k] = malloc(nl * sizeof(float));
        grads[k] = malloc(p->numel * sizeof(float));
        dec[k] = malloc((size_t)B * cfg.vocab * sizeof(float));
        REQUIRE(logits[k] && grads[k] && dec[k]);
        rz_params_zero_grad(p);
        REQUIRE(rz_transformer_loss(m, tokens, targets, NULL, B, T, 1, &loss[k], &err) == RZ_OK);
        memcpy(logits[k], rz_transformer_logits(m), nl * sizeof(float));
        memcpy(grads[k], p->grad, p->numel * sizeof(float));
        rz_kvcache *c = NULL;
        REQUIRE(rz_kvcache_create(&c, m, B, T, &err) == RZ_OK);
        int slot[B], pos[B];
        for (int t = 0; t < 5; t++) {
            for (int b = 0; b < B; b++) slot[b] = b, pos[b] = t;
            int tok[B];
            for (int b = 0; b < B; b++) tok[b] = tokens[b * T + t];
            REQUIRE(rz_transformer_decode(m, c, B, slot, pos, tok, dec[k], &err) == RZ_OK);
        }
        rz_kvcache_free(c);
    }
    omp_set_num_threads(saved);
    CHECK(memcmp(logits[0], logits[1], nl * sizeof(float)) == 0);
    CHECK(memcmp(grads[0], grads[1], p->numel * sizeof(float)) == 0);
    CHECK(memcmp(dec[0], dec[1], (size_t)B * cfg.vocab * sizeof(float)) == 0);
    CHECK(loss[0] == loss[1]);
    printf("threads: forward, backward and decode bit-identical for 1 and 2 threads\n");
    for (int k = 0; k < 2; k++) free(logits[k]), free(grads[k]), free(dec[k]);
    rz_transformer_free(m);
#else
    printf("threads: built without OpenMP, nothing to compare\n");
#endif
}

/* ------------------------------------------------------- layout and init */

static void test_layout(void)
{
    rz_error err = {0};
    for (int tied = 0; tied < 2; tied++) {
        rz_transformer_config cfg = tiny_config(tied);
        rz_transformer *m = NULL, *m2 = NULL;
        REQUIRE(rz_transformer_create(&m, &cfg, 42, &err) == RZ_OK);
        REQUIRE(rz_transformer_create(&m2, &cfg, 42, &err) == RZ_OK);
        const rz_transformer_config *c = rz_transformer_cfg(m);
        CHECK(c->hidden == 64); /* int(8*16/3) = 42, rounded up to 64 */
        rz_params *p = rz_transformer_params(m);
        CHECK(p->count == 1 + 9 * c->layers + 1 + !tied);
        CHECK(memcmp(p->param, rz_transformer_params(m2)->param, p->numel * sizeof(float)) == 0);
        struct { const char *name; int r, c, decay; } want[] = {
            {"model.embed_tokens.weight", 11, 16, 1},
            {"model.layers.0.input_layernorm.weight", 16, 0, 0},
            {"model.layers.1.self_attn.q_proj.weight", 16, 16, 1},
            {"model.layers.1.self_attn.k_proj.weight", 16, 16, 1},
            {"model.layers.1.self_attn.v_proj.weight", 16, 16, 1},
            {"model.layers.1.self_attn.o_proj.weight", 16, 16, 1},
            {"model.layers.0.post_attention_layernorm.weight", 16, 0, 0},
            {"model.layers.1.mlp.gate_proj.weight", 64, 16, 1},
            {"model.layers.1.mlp.up_proj.weight", 64, 16, 1},
            {"model.layers.1.mlp.down_proj.weight", 16, 64, 1},
            {"model.norm.weight", 16, 0, 0},
        };
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            const rz_tensor *t = rz_params_find(p, want[i].name);
            CHECKF(t != NULL, "missing %s", want[i].name);
            if (!t) continue;
            CHECKF(t->ndim == (want[i].c ? 2 : 1) && t->shape[0] == want[i].r &&
                       (!want[i].c || t->shape[1] == want[i].c) && t->decay == want[i].decay,
                   "%s: ndim %d shape %d x %d decay %d", t->name, t->ndim, t->shape[0],
                   t->shape[1], t->decay);
        }
        CHECK((rz_params_find(p, "lm_head.weight") != NULL) == !tied);
        /* init: N(0, 0.02), output projections / sqrt(2L), norms 1 (a big model for stats) */
        rz_transformer_free(m);
        rz_transformer_free(m2);
    }
    rz_transformer_config cfg;
    rz_transformer_config_default(&cfg);
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &cfg, 1, &err) == RZ_OK);
    rz_params *p = rz_transformer_params(m);
    const char *names[3] = {"model.layers.2.self_attn.q_proj.weight",
                            "model.layers.2.self_attn.o_proj.weight",
                            "model.layers.2.mlp.down_proj.weight"};
    double want[3] = {0.02, 0.02 / sqrt(8.0), 0.02 / sqrt(8.0)};
    for (int i = 0; i < 3; i++) {
        const rz_tensor *t = rz_params_find(p, names[i]);
        REQUIRE(t);
        double ss = 0, s = 0;
        for (size_t j = 0; j < t->numel; j++) s += p->param[t->offset + j], ss += (double)p->param[t->offset + j] * p->param[t->offset + j];
        double sd = sqrt(ss / t->numel), mean = s / t->numel;
        CHECKF(fabs(sd / want[i] - 1) < 0.05 && fabs(mean) < 3 * want[i] / sqrt(t->numel) + 1e-6,
               "%s: std %g (want %g) mean %g", names[i], sd, want[i], mean);
    }
    const rz_tensor *t = rz_params_find(p, "model.norm.weight");
    REQUIRE(t);
    CHECK(p->param[t->offset] == 1.0f && p->param[t->offset + t->numel - 1] == 1.0f);
    CHECK(rz_transformer_logits(m) == NULL);
    CHECK(rz_transformer_backward(m, NULL, &err) == RZ_ERR_STATE);
    rz_transformer_free(m);
    rz_transformer_free(NULL);
}

/* ----------------------------------------------------------- error cases */

static void expect_bad(rz_transformer_config cfg, const char *field)
{
    rz_error err = {0};
    rz_transformer *m = NULL;
    int rc = rz_transformer_create(&m, &cfg, 1, &err);
    CHECKF(rc == RZ_ERR_ARG && m == NULL, "%s: rc %d", field, rc);
    CHECKF(strstr(err.msg, field) != NULL, "message for %s: %s", field, err.msg);
    rz_transformer_free(m);
}

static void test_errors(void)
{
    rz_transformer_config c = tiny_config(0), b;
    rz_error err = {0};
    b = c, b.dim = 18, b.heads = 4, expect_bad(b, "dim 18 is not a multiple of heads 4");
    b = c, b.dim = 18, b.heads = 2, expect_bad(b, "head dim"); /* 9: RoPE needs pairs */
    b = c, b.vocab = 0, expect_bad(b, "vocab");
    b = c, b.layers = -1, expect_bad(b, "layers");
    b = c, b.heads = 0, expect_bad(b, "heads");
    b = c, b.context = 0, expect_bad(b, "context");
    b = c, b.hidden = -5, expect_bad(b, "hidden");
    b = c, b.rope_theta = 0, expect_bad(b, "rope_theta");
    b = c, b.norm_eps = -1, expect_bad(b, "norm_eps");
    b = c, b.tied = 2, expect_bad(b, "tied");
    b = c, b.dim = 0, expect_bad(b, "dim");
    CHECK_OK(rz_transformer_config_check(&c, &err), &err);

    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &c, 1, &err) == RZ_OK);
    int tokens[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_OK(rz_transformer_forward(m, tokens, 1, 8, &err), &err);
    CHECK(rz_transformer_forward(m, tokens, 1, 9, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "context") != NULL, "message: %s", err.msg);
    tokens[4] = 11;
    CHECK(rz_transformer_forward(m, tokens, 1, 8, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "token 11") != NULL && strstr(err.msg, "t 4") != NULL, "message: %s",
           err.msg);
    tokens[4] = -1;
    CHECK(rz_transformer_forward(m, tokens, 1, 8, &err) == RZ_ERR_ARG);
    CHECK(rz_transformer_forward(m, tokens, 0, 8, &err) == RZ_ERR_ARG);
    rz_transformer_free(m);
}

int main(void)
{
    test_layout();
    test_errors();
    test_loss_cases();
    test_gradients(0, 0);
    test_gradients(1, 0);
    test_gradients(1, 1);
    test_decode();
    test_threads();
    test_overfit();
    return test_done("test_transformer");
}

/* transformer.c: a Llama-style decoder (RMSNorm, RoPE, causal attention, SwiGLU, no biases)
 * with a full forward/backward over (B, T) for training and a KV-cache decode for sampling.
 *
 * Data flow of one layer (N = B*T rows, C channels, H hidden):
 *   ln1 = rmsnorm(resid)            q, k, v = ln1 Wq^T, ln1 Wk^T, ln1 Wv^T; rope(q), rope(k)
 *   atty = attention(q, k, v)       resid_mid = resid + atty Wo^T
 *   ln2 = rmsnorm(resid_mid)        hmid = silu(ln2 Wgate^T) * (ln2 Wup^T)
 *   resid' = resid_mid + hmid Wdown^T
 * then lnf = rmsnorm(resid_L) and logits = lnf Wlm^T (Wlm = the embedding when tied). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ops.h"
#include "rlzero.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* a decode step splits its rows over threads when each gets at least this many */
#define RZ_DECODE_ROWS_MIN 4

typedef struct {
    size_t ln1, q, k, v, o, ln2, gate, up, down; /* offsets into the params' buffers */
} layer_off;

/* Activations of the last forward and the backward's workspace, carved from one block. */
typedef struct {
    float *resid;                  /* (L+1, N, C) the residual stream entering each layer */
    float *ln1, *q, *k, *v, *atty; /* (L, N, C) each; q, k after rotation */
    float *resid_mid, *ln2;        /* (L, N, C) */
    float *rstd1, *rstd2;          /* (L, N) */
    float *att;                    /* (L, B, NH, T, T) */
    float *gate, *up, *hmid;       /* (L, N, H) */
    float *lnf, *rstdf, *logits;   /* (N, C), (N), (N, V) */
    float *dresid, *dln, *dq, *dk, *dv, *datty; /* (N, C) */
    float *dgate, *dup, *dhmid;    /* (N, H) */
    float *scratch;                /* (B, NH, T) */
    float *dlogits;                /* (N, V) */
    float *logp, *dlogp;           /* (N) */
    int *tokens, *pos, *targets;   /* (N) */
} acts;

struct rz_transformer {
    rz_transformer_config cfg;
    rz_params params;
    size_t embed, norm, lm_head; /* lm_head == embed when tied */
    layer_off *layer;            /* (L) */
    float *rope_cos, *rope_sin;  /* (context, hd/2) */
    int B, T;                    /* shape of the last forward; 0 before any */
    size_t n_cap, att_cap;       /* rows and attention entries the buffers hold */
    float *block;
    int *iblock;
    acts a;
};

struct rz_kvcache {
    int slots, len;
    size_t lenp;               /* len rounded up to 8: the keys' row stride */
    rz_transformer_config cfg; /* of the model it was made for */
    /* per (layer, slot), position-major so that a row's attention streams through its
     * part of the cache once: rotated keys in tiles of eight positions, each every head's
     * keys transposed (NH, hd, 8); values as rows of C */
    float *k;                  /* (L, slots, lenp/8, NH, hd, 8) */
    float *v;                  /* (L, slots, len, C) */
    int *filled;               /* (slots) positions fed so far */
    int *seen;                 /* (slots) duplicate check within one call */
    float *x, *xn, *q, *kt, *vt, *atty, *tmp; /* (slots, C) */
    float *gate, *up;          /* (slots, H) */
    float *qkv, *gu;           /* (slots, 3C), (slots, 2H): fused projections' outputs */
    float *rstd;               /* (slots) */
    float *p;                  /* (slots, NH, len) */
    float *block;
};

/* ------------------------------------------------------------------ config */

void rz_transformer_config_default(rz_transformer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->vocab = 64;
    cfg->dim = 128;
    cfg->layers = 4;
    cfg->heads = 4;
    cfg->hidden = 0;
    cfg->context = 128;
    cfg->tied = 0;
    cfg->rope_theta = 10000.0f;
    cfg->norm_eps = 1e-5f;
}

int rz_transformer_config_check(rz_transformer_config *cfg, rz_error *err)
{
    /* bounds that keep every size_t product below and every int index in range */
    const int big = 1 << 20;
    struct { const char *name; int v; } pos[] = {
        {"vocab", cfg->vocab}, {"dim", cfg->dim}, {"layers", cfg->layers},
        {"heads", cfg->heads}, {"context", cfg->context},
    };
    for (size_t i = 0; i < sizeof pos / sizeof *pos; i++) {
        if (pos[i].v <= 0)
            return rz_error_set(err, RZ_ERR_ARG, "transformer config: %s must be > 0 (got %d)",
                                pos[i].name, pos[i].v);
        if (pos[i].v > big)
            return rz_error_set(err, RZ_ERR_ARG, "transformer config: %s %d is too large (max %d)",
                                pos[i].name, pos[i].v, big);
    }
    if (cfg->dim % cfg->heads != 0)
        return rz_error_set(err, RZ_ERR_ARG,
                            "transformer config: dim %d is not a multiple of heads %d", cfg->dim,
                            cfg->heads);
    if ((cfg->dim / cfg->heads) % 2 != 0)
        return rz_error_set(err, RZ_ERR_ARG,
                            "transformer config: head dim (dim/heads = %d) must be even for RoPE",
                            cfg->dim / cfg->heads);
    if (cfg->hidden < 0 || cfg->hidden > big)
        return rz_error_set(err, RZ_ERR_ARG,
                            "transformer config: hidden must be 0 (auto) or in 1..%d (got %d)", big,
                            cfg->hidden);
    if (cfg->tied != 0 && cfg->tied != 1)
        return rz_error_set(err, RZ_ERR_ARG, "transformer config: tied must be 0 or 1 (got %d)",
                            cfg->tied);
    if (!(cfg->rope_theta > 0.0f) || !isfinite(cfg->rope_theta))
        return rz_error_set(err, RZ_ERR_ARG, "transformer config: rope_theta must be > 0 (got %g)",
                            (double)cfg->rope_theta);
    if (!(cfg->norm_eps > 0.0f) || !isfinite(cfg->norm_eps))
        return rz_error_set(err, RZ_ERR_ARG, "transformer config: norm_eps must be > 0 (got %g)",
                            (double)cfg->norm_eps);
    if (cfg->hidden == 0) {
        /* Llama: int(2 * 4C / 3) rounded up to a multiple of 32 */
        int h = 8 * cfg->dim / 3;
        cfg->hidden = (h + 31) / 32 * 32;
    }
    return RZ_OK;
}

/* ------------------------------------------------------------ create / free */

void rz_transformer_free(rz_transformer *m)
{
    if (!m) return;
    rz_params_free(&m->params);
    free(m->layer);
    rz_free(m->rope_cos);
    rz_free(m->rope_sin);
    rz_free(m->block);
    rz_free(m->iblock);
    free(m);
}

static int add(rz_params *p, size_t *off, const char *name, int rows, int cols, int decay,
               rz_error *err)
{
    int shape[2] = {rows, cols};
    int rc = rz_params_add(p, name, cols ? 2 : 1, shape, decay, err);
    if (rc == RZ_OK) *off = p->tensors[p->count - 1].offset;
    return rc;
}

int rz_transformer_create(rz_transformer **out, const rz_transformer_config *cfg_in, uint64_t seed,
                          rz_error *err)
{
    *out = NULL;
    rz_transformer_config cfg = *cfg_in;
    int rc = rz_transformer_config_check(&cfg, err);
    if (rc) return rc;
    int V = cfg.vocab, C = cfg.dim, L = cfg.layers, H = cfg.hidden, hd = C / cfg.heads;

    rz_transformer *m = calloc(1, sizeof *m);
    if (!m) return rz_error_set(err, RZ_ERR_NOMEM, "transformer: cannot allocate the model");
    m->cfg = cfg;
    m->layer = calloc((size_t)L, sizeof *m->layer);
    if (!m->layer) {
        rz_transformer_free(m);
        return rz_error_set(err, RZ_ERR_NOMEM, "transformer: cannot allocate %d layers", L);
    }
    rz_params *p = &m->params;
    char name[RZ_NAME_MAX];
    rc = add(p, &m->embed, "model.embed_tokens.weight", V, C, 1, err);
    for (int l = 0; l < L && !rc; l++) {
        layer_off *o = &m->layer[l];
        struct { const char *suffix; size_t *off; int rows, cols, decay; } t[] = {
            {"input_layernorm.weight", &o->ln1, C, 0, 0},
            {"self_attn.q_proj.weight", &o->q, C, C, 1},
            {"self_attn.k_proj.weight", &o->k, C, C, 1},
            {"self_attn.v_proj.weight", &o->v, C, C, 1},
            {"self_attn.o_proj.weight", &o->o, C, C, 1},
            {"post_attention_layernorm.weight", &o->ln2, C, 0, 0},
            {"mlp.gate_proj.weight", &o->gate, H, C, 1},
            {"mlp.up_proj.weight", &o->up, H, C, 1},
            {"mlp.down_proj.weight", &o->down, C, H, 1},
        };
        for (size_t i = 0; i < sizeof t / sizeof *t && !rc; i++) {
            snprintf(name, sizeof name, "model.layers.%d.%s", l, t[i].suffix);
            rc = add(p, t[i].off, name, t[i].rows, t[i].cols, t[i].decay, err);
        }
    }
    if (!rc) rc = add(p, &m->norm, "model.norm.weight", C, 0, 0, err);
    if (!rc && !cfg.tied) rc = add(p, &m->lm_head, "lm_head.weight", V, C, 1, err);
    if (!rc && cfg.tied) m->lm_head = m->embed;
    if (!rc) rc = rz_params_alloc(p, err);
    if (rc) {
        rz_transformer_free(m);
        return rc;
    }

    /* N(0, 0.02) for matrices, the output projections of each residual branch shrunk by
     * 1/sqrt(2L) (GPT-2's rule, so the residual stream does not grow with depth); norms 1. */
    rz_rng rng;
    rz_rng_seed(&rng, seed);
    float out_scale = 1.0f / sqrtf(2.0f * L);
    for (int i = 0; i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        float *x = p->param + t->offset;
        if (!t->decay) {
            for (size_t j = 0; j < t->numel; j++) x[j] = 1.0f;
            continue;
        }
        int is_out = strstr(t->name, ".o_proj.") || strstr(t->name, ".down_proj.");
        float std = 0.02f * (is_out ? out_scale : 1.0f);
        for (size_t j = 0; j < t->numel; j++) x[j] = std * rz_rng_normal(&rng);
    }

    size_t half = (size_t)hd / 2;
    m->rope_cos = rz_alloc((size_t)cfg.context * half * sizeof(float), "RoPE cos table", err);
    m->rope_sin = rz_alloc((size_t)cfg.context * half * sizeof(float), "RoPE sin table", err);
    if (!m->rope_cos || !m->rope_sin) {
        rz_transformer_free(m);
        return RZ_ERR_NOMEM;
    }
    rz_rope_table(m->rope_cos, m->rope_sin, cfg.context, hd, cfg.rope_theta);
    *out = m;
    return RZ_OK;
}

const rz_transformer_config *rz_transformer_cfg(const rz_transformer *m) { return &m->cfg; }
rz_params *rz_transformer_params(rz_transformer *m) { return &m->params; }

const float *rz_transformer_logits(const rz_transformer *m)
{
    return m->B ? m->a.logits : NULL;
}

/* ------------------------------------------------------------- activations */

/* Carves consecutive 64-byte aligned segments out of one block; with base NULL it only
 * measures. */
static float *carve(float *base, size_t *used, size_t n)
{
    float *p = base ? base + *used : NULL;
    *used += (n + 15) & ~(size_t)15;
    return p;
}

static void layout_acts(acts *a, float *base, size_t *used, const rz_transformer_config *c,
                        size_t N, size_t att)
{
    size_t L = c->layers, C = c->dim, H = c->hidden, V = c->vocab, NH = c->heads;
    a->resid = carve(base, used, (L + 1) * N * C);
    a->ln1 = carve(base, used, L * N * C);
    a->q = carve(base, used, L * N * C);
    a->k = carve(base, used, L * N * C);
    a->v = carve(base, used, L * N * C);
    a->atty = carve(base, used, L * N * C);
    a->resid_mid = carve(base, used, L * N * C);
    a->ln2 = carve(base, used, L * N * C);
    a->rstd1 = carve(base, used, L * N);
    a->rstd2 = carve(base, used, L * N);
    a->att = carve(base, used, L * att);
    a->gate = carve(base, used, L * N * H);
    a->up = carve(base, used, L * N * H);
    a->hmid = carve(base, used, L * N * H);
    a->lnf = carve(base, used, N * C);
    a->rstdf = carve(base, used, N);
    a->logits = carve(base, used, N * V);
    a->dresid = carve(base, used, N * C);
    a->dln = carve(base, used, N * C);
    a->dq = carve(base, used, N * C);
    a->dk = carve(base, used, N * C);
    a->dv = carve(base, used, N * C);
    a->datty = carve(base, used, N * C);
    a->dgate = carve(base, used, N * H);
    a->dup = carve(base, used, N * H);
    a->dhmid = carve(base, used, N * H);
    a->scratch = carve(base, used, N * NH);
    a->dlogits = carve(base, used, N * V);
    a->logp = carve(base, used, N);
    a->dlogp = carve(base, used, N);
}

/* Grows the buffers when B*T rows or B*NH*T*T attention entries outgrow them; the
 * per-layer strides follow the current N, so growing never has to preserve contents. */
static int ensure_acts(rz_transformer *m, int B, int T, rz_error *err)
{
    size_t N = (size_t)B * T, att = N * (size_t)m->cfg.heads * T;
    if (m->block && N <= m->n_cap && att <= m->att_cap) return RZ_OK;
    if (N < m->n_cap) N = m->n_cap;
    if (att < m->att_cap) att = m->att_cap;
    size_t used = 0;
    acts a;
    layout_acts(&a, NULL, &used, &m->cfg, N, att);
    float *block = rz_alloc(used * sizeof(float), "transformer activations", err);
    int *iblock = rz_alloc(3 * N * sizeof(int), "transformer token buffers", err);
    if (!block || !iblock) {
        rz_free(block);
        rz_free(iblock);
        return RZ_ERR_NOMEM;
    }
    rz_free(m->block);
    rz_free(m->iblock);
    m->block = block;
    m->iblock = iblock;
    m->n_cap = N;
    m->att_cap = att;
    m->B = m->T = 0; /* the old activations are gone */
    return RZ_OK;
}

/* Points m->a at the current (B, T) inside the block: strides use N = B*T. */
static void bind_acts(rz_transformer *m, int B, int T)
{
    size_t N = (size_t)B * T, used = 0;
    layout_acts(&m->a, m->block, &used, &m->cfg, N, N * (size_t)m->cfg.heads * T);
    m->a.tokens = m->iblock;
    m->a.pos = m->iblock + N;
    m->a.targets = m->iblock + 2 * N;
}

/* ----------------------------------------------------------------- forward */

int rz_transformer_forward(rz_transformer *m, const int *tokens, int B, int T, rz_error *err)
{
    const rz_transformer_config *c = &m->cfg;
    if (B <= 0 || T <= 0)
        return rz_error_set(err, RZ_ERR_ARG, "transformer forward: B %d and T %d must be > 0", B, T);
    if (T > c->context)
        return rz_error_set(err, RZ_ERR_ARG,
                            "transformer forward: T %d exceeds the context length %d", T,
                            c->context);
    if ((size_t)B * T > (size_t)1 << 28)
        return rz_error_set(err, RZ_ERR_ARG, "transformer forward: B*T = %zu is too large",
                            (size_t)B * T);
    int N = B * T, V = c->vocab, C = c->dim, L = c->layers, H = c->hidden, NH = c->heads;
    for (int n = 0; n < N; n++)
        if (tokens[n] < 0 || tokens[n] >= V)
            return rz_error_set(err, RZ_ERR_ARG,
                                "transformer forward: token %d at (b %d, t %d) is outside the "
                                "vocabulary [0, %d)",
                                tokens[n], n / T, n % T, V);
    int rc = ensure_acts(m, B, T, err);
    if (rc) return rc;
    bind_acts(m, B, T);
    m->B = m->T = 0; /* until this forward completes */
    acts *a = &m->a;
    const float *w = m->params.param;
    for (int n = 0; n < N; n++) {
        a->tokens[n] = tokens[n];
        a->pos[n] = n % T;
    }
    size_t NC = (size_t)N * C, NHd = (size_t)N * H, att = (size_t)N * NH * T;

    rz_embedding_forward(a->resid, tokens, w + m->embed, N, C);
    for (int l = 0; l < L; l++) {
        const layer_off *o = &m->layer[l];
        float *resid = a->resid + l * NC, *out = a->resid + (l + 1) * NC;
        float *ln1 = a->ln1 + l * NC, *q = a->q + l * NC, *k = a->k + l * NC, *v = a->v + l * NC;
        float *atty = a->atty + l * NC, *mid = a->resid_mid + l * NC, *ln2 = a->ln2 + l * NC;
        float *gate = a->gate + l * NHd, *up = a->up + l * NHd, *hmid = a->hmid + l * NHd;

        rz_rmsnorm_forward(ln1, a->rstd1 + (size_t)l * N, resid, w + o->ln1, N, C, c->norm_eps);
        rz_matmul_forward(q, ln1, w + o->q, N, C, C);
        rz_matmul_forward(k, ln1, w + o->k, N, C, C);
        rz_matmul_forward(v, ln1, w + o->v, N, C, C);
        rz_rope_forward(q, q, a->pos, m->rope_cos, m->rope_sin, N, NH, C / NH);
        rz_rope_forward(k, k, a->pos, m->rope_cos, m->rope_sin, N, NH, C / NH);
        rc = rz_attention_forward(atty, a->att + l * att, q, k, v, B, T, C, NH);
        if (rc)
            return rz_error_set(err, rc, "transformer forward: cannot allocate the attention "
                                         "workspace");
        rz_matmul_forward(mid, atty, w + o->o, N, C, C);
        for (size_t i = 0; i < NC; i++) mid[i] = resid[i] + mid[i];

        rz_rmsnorm_forward(ln2, a->rstd2 + (size_t)l * N, mid, w + o->ln2, N, C, c->norm_eps);
        rz_matmul_forward(gate, ln2, w + o->gate, N, C, H);
        rz_matmul_forward(up, ln2, w + o->up, N, C, H);
        rz_swiglu_forward(hmid, gate, up, NHd);
        rz_matmul_forward(out, hmid, w + o->down, N, H, C);
        for (size_t i = 0; i < NC; i++) out[i] = mid[i] + out[i];
    }
    rz_rmsnorm_forward(a->lnf, a->rstdf, a->resid + L * NC, w + m->norm, N, C, c->norm_eps);
    rz_matmul_forward(a->logits, a->lnf, w + m->lm_head, N, C, V);
    m->B = B;
    m->T = T;
    return RZ_OK;
}

/* ---------------------------------------------------------------- backward */

int rz_transformer_backward(rz_transformer *m, const float *dlogits, rz_error *err)
{
    if (!m->B)
        return rz_error_set(err, RZ_ERR_STATE, "transformer backward: no forward to differentiate");
    const rz_transformer_config *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, V = c->vocab, C = c->dim, L = c->layers, H = c->hidden;
    int NH = c->heads, hd = C / NH;
    acts *a = &m->a;
    const float *w = m->params.param;
    float *g = m->params.grad;
    size_t NC = (size_t)N * C, NHd = (size_t)N * H, att = (size_t)N * NH * T;
    float *dres = a->dresid;

    memset(a->dln, 0, NC * sizeof(float));
    rz_matmul_backward(a->dln, g + m->lm_head, dlogits, a->lnf, w + m->lm_head, N, C, V);
    memset(dres, 0, NC * sizeof(float));
    rz_rmsnorm_backward(dres, g + m->norm, a->dln, a->resid + L * NC, w + m->norm, a->rstdf, N, C);

    for (int l = L - 1; l >= 0; l--) {
        const layer_off *o = &m->layer[l];
        const float *resid = a->resid + l * NC, *ln1 = a->ln1 + l * NC;
        const float *q = a->q + l * NC, *k = a->k + l * NC, *v = a->v + l * NC;
        const float *atty = a->atty + l * NC, *mid = a->resid_mid + l * NC, *ln2 = a->ln2 + l * NC;
        const float *gate = a->gate + l * NHd, *up = a->up + l * NHd, *hmid = a->hmid + l * NHd;

        /* the MLP branch: dres is the gradient of this layer's output */
        memset(a->dhmid, 0, NHd * sizeof(float));
        rz_matmul_backward(a->dhmid, g + o->down, dres, hmid, w + o->down, N, H, C);
        rz_swiglu_backward_set(a->dgate, a->dup, a->dhmid, gate, up, NHd);
        memset(a->dln, 0, NC * sizeof(float));
        rz_matmul_backward(a->dln, g + o->gate, a->dgate, ln2, w + o->gate, N, C, H);
        rz_matmul_backward(a->dln, g + o->up, a->dup, ln2, w + o->up, N, C, H);
        rz_rmsnorm_backward(dres, g + o->ln2, a->dln, mid, w + o->ln2, a->rstd2 + (size_t)l * N,
                            N, C);

        /* the attention branch: dres is now the gradient of resid_mid */
        memset(a->datty, 0, NC * sizeof(float));
        rz_matmul_backward(a->datty, g + o->o, dres, atty, w + o->o, N, C, C);
        int rc = rz_attention_backward_set(a->dq, a->dk, a->dv, a->datty, a->att + l * att, q,
                                           k, v, B, T, C, NH);
        if (rc)
            return rz_error_set(err, rc, "transformer backward: cannot allocate the attention "
                                         "workspace");
        rz_rope_backward(a->dq, a->dq, a->pos, m->rope_cos, m->rope_sin, N, NH, hd);
        rz_rope_backward(a->dk, a->dk, a->pos, m->rope_cos, m->rope_sin, N, NH, hd);
        memset(a->dln, 0, NC * sizeof(float));
        rz_matmul_backward(a->dln, g + o->q, a->dq, ln1, w + o->q, N, C, C);
        rz_matmul_backward(a->dln, g + o->k, a->dk, ln1, w + o->k, N, C, C);
        rz_matmul_backward(a->dln, g + o->v, a->dv, ln1, w + o->v, N, C, C);
        rz_rmsnorm_backward(dres, g + o->ln1, a->dln, resid, w + o->ln1, a->rstd1 + (size_t)l * N,
                            N, C);
    }
    rz_embedding_backward(g + m->embed, dres, a->tokens, N, C);
    return RZ_OK;
}

/* -------------------------------------------------------------------- loss */

int rz_transformer_loss(rz_transformer *m, const int *tokens, const int *targets,
                        const float *weights, int B, int T, int backward, float *loss,
                        rz_error *err)
{
    *loss = 0.0f;
    int rc = rz_transformer_forward(m, tokens, B, T, err);
    if (rc) return rc;
    int N = B * T, V = m->cfg.vocab;
    acts *a = &m->a;
    double wsum = 0.0;
    for (int n = 0; n < N; n++) {
        float wn = weights ? weights[n] : 1.0f;
        if (!isfinite(wn))
            return rz_error_set(err, RZ_ERR_ARG, "transformer loss: weight at (b %d, t %d) is %g",
                                n / T, n % T, (double)wn);
        if (wn != 0.0f && (targets[n] < 0 || targets[n] >= V))
            return rz_error_set(err, RZ_ERR_ARG,
                                "transformer loss: target %d at (b %d, t %d) is outside the "
                                "vocabulary [0, %d)",
                                targets[n], n / T, n % T, V);
        a->targets[n] = wn != 0.0f ? targets[n] : 0;
        wsum += wn;
    }
    if (wsum == 0.0) return RZ_OK;
    rz_logprob_forward(a->logp, NULL, a->logits, a->targets, N, V);
    double total = 0.0;
    for (int n = 0; n < N; n++) {
        float wn = weights ? weights[n] : 1.0f;
        if (wn != 0.0f) total -= (double)wn * a->logp[n];
    }
    *loss = (float)(total / wsum);
    if (!isfinite(*loss))
        return rz_error_set(err, RZ_ERR_NONFINITE, "transformer loss is %g", (double)*loss);
    if (!backward) return RZ_OK;
    for (int n = 0; n < N; n++) a->dlogp[n] = (float)(-(weights ? weights[n] : 1.0f) / wsum);
    memset(a->dlogits, 0, (size_t)N * V * sizeof(float));
    rz_logprob_backward(a->dlogits, a->dlogp, a->logits, a->targets, N, V);
    return rz_transformer_backward(m, a->dlogits, err);
}

/* ---------------------------------------------------------------- KV cache */

/* The caches are read whole at every step; on 2 MiB pages (where the system grants them
 * on request) those reads stop missing the TLB once per 4 KiB. */
static float *alloc_big(size_t nfloats, const char *what, rz_error *err)
{
    size_t nbytes = nfloats * sizeof(float);
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)1 << 21;
    if (nbytes >= huge) {
        size_t rounded = (nbytes + huge - 1) & ~(huge - 1);
        void *p = aligned_alloc(huge, rounded);
        if (p) {
            madvise(p, rounded, MADV_HUGEPAGE); /* a hint: refusal changes nothing */
            return p;
        }
    }
#endif
    return rz_alloc(nbytes, what, err);
}

void rz_kvcache_free(rz_kvcache *c)
{
    if (!c) return;
    rz_free(c->k);
    rz_free(c->v);
    rz_free(c->block);
    free(c->filled);
    free(c->seen);
    free(c);
}

int rz_kvcache_create(rz_kvcache **out, const rz_transformer *m, int slots, int len, rz_error *err)
{
    *out = NULL;
    const rz_transformer_config *cfg = &m->cfg;
    if (slots <= 0 || slots > (1 << 20))
        return rz_error_set(err, RZ_ERR_ARG, "kvcache: slots must be in 1..%d (got %d)", 1 << 20,
                            slots);
    if (len <= 0 || len > cfg->context)
        return rz_error_set(err, RZ_ERR_ARG, "kvcache: len must be in 1..context %d (got %d)",
                            cfg->context, len);
    rz_kvcache *c = calloc(1, sizeof *c);
    if (!c) return rz_error_set(err, RZ_ERR_NOMEM, "kvcache: cannot allocate the cache");
    c->slots = slots;
    c->len = len;
    c->cfg = *cfg;
    size_t S = slots, C = cfg->dim, H = cfg->hidden;
    c->lenp = ((size_t)len + 7) & ~(size_t)7;
    size_t kv = (size_t)cfg->layers * S * len * C, phys = rz_memory_bytes();
    size_t kbytes = (size_t)cfg->layers * S * c->lenp * C * sizeof(float);
    /* keys and values together: each may fit alone and both still not (overcommit would
     * then end the process instead of this error) */
    if (phys && kbytes + kv * sizeof(float) > phys) {
        free(c);
        return rz_error_set(err, RZ_ERR_NOMEM,
                            "kvcache: %d slots x %d positions need %zu bytes (%.1f GiB) for keys "
                            "and values: more than the machine's %.1f GiB of memory",
                            slots, len, kbytes + kv * sizeof(float),
                            (double)(kbytes + kv * sizeof(float)) / (1u << 30), (double)phys / (1u << 30));
    }
    c->k = alloc_big((size_t)cfg->layers * S * c->lenp * C, "kvcache keys", err);
    c->v = alloc_big(kv, "kvcache values", err);
    /* the attention reads whole vectors of keys, past the last one fed */
    if (c->k) memset(c->k, 0, kbytes);
    size_t used = 0;
    for (int pass = 0; pass < 2; pass++) {
        float *base = pass ? c->block : NULL;
        if (pass && !base) break;
        used = 0;
        c->x = carve(base, &used, S * C);
        c->xn = carve(base, &used, S * C);
        c->q = carve(base, &used, S * C);
        c->kt = carve(base, &used, S * C);
        c->vt = carve(base, &used, S * C);
        c->atty = carve(base, &used, S * C);
        c->tmp = carve(base, &used, S * C);
        c->gate = carve(base, &used, S * H);
        c->qkv = carve(base, &used, S * 3 * C);
        c->gu = carve(base, &used, S * 2 * H);
        c->up = carve(base, &used, S * H);
        c->rstd = carve(base, &used, S);
        c->p = carve(base, &used, S * cfg->heads * len);
        if (!pass) c->block = rz_alloc(used * sizeof(float), "kvcache workspace", err);
    }
    c->filled = calloc(S, sizeof *c->filled);
    c->seen = calloc(S, sizeof *c->seen);
    if (!c->k || !c->v || !c->block || !c->filled || !c->seen) {
        rz_kvcache_free(c);
        return rz_error_set(err, RZ_ERR_NOMEM, "kvcache: cannot allocate %d slots x %d positions",
                            slots, len);
    }
    *out = c;
    return RZ_OK;
}

/* The decode of rows [r0, r1): each row's computation depends on that row alone, so a
 * range of rows can run on one thread while other ranges run on others. */
static void decode_rows(rz_transformer *m, rz_kvcache *c, int r0, int r1, const int *slot_all,
                        const int *pos_all, const int *tokens_all, float *logits_all)
{
    const rz_transformer_config *cfg = &m->cfg;
    int V = cfg->vocab, C = cfg->dim, L = cfg->layers, H = cfg->hidden, NH = cfg->heads;
    int hd = C / NH, S = c->slots, len = c->len, n = r1 - r0;
    const int *slot = slot_all + r0, *pos = pos_all + r0, *tokens = tokens_all + r0;
    float *logits = logits_all + (size_t)r0 * V;
    /* this range's rows of the workspace */
    float *x = c->x + (size_t)r0 * C, *xn = c->xn + (size_t)r0 * C, *q = c->q + (size_t)r0 * C;
    float *kt = c->kt + (size_t)r0 * C, *vt = c->vt + (size_t)r0 * C;
    float *atty = c->atty + (size_t)r0 * C, *tmp = c->tmp + (size_t)r0 * C;
    float *gate = c->gate + (size_t)r0 * H, *up = c->up + (size_t)r0 * H, *rstd = c->rstd + r0;
    float *pbuf = c->p + (size_t)r0 * NH * len;
    const float *w = m->params.param;
    size_t slot_stride = (size_t)len * C, layer_stride = (size_t)S * slot_stride;
    size_t lenp = c->lenp, kslot_stride = lenp * C, klayer_stride = (size_t)S * kslot_stride;
    int split_heads = 0;
#ifdef _OPENMP
    split_heads = !omp_in_parallel() && omp_get_max_threads() > 1 &&
                  (size_t)n * len * C >= RZ_PAR_MIN;
#endif
    rz_embedding_forward(x, tokens, w + m->embed, n, C);
    for (int l = 0; l < L; l++) {
        const layer_off *o = &m->layer[l];
        /* few rows only: per-row RoPE and SwiGLU calls cost more than they save beyond */
        int fused_qkv = n < 4 && o->k == o->q + (size_t)C * C && o->v == o->k + (size_t)C * C;
        int fused_gu = n < 4 && o->up == o->gate + (size_t)H * C;
        float *kc = c->k + l * klayer_stride, *vc = c->v + l * layer_stride;
        rz_rmsnorm_forward(xn, rstd, x, w + o->ln1, n, C, cfg->norm_eps);
        /* Wq, Wk, Wv one after the other in the parameters (and Wgate, Wup) make one
         * matrix: one pass streams all three with no restart of the prefetching between
         * them, rows of [q | k | v] come out (each element the same dot product, so the
         * same bits as three calls). */
        const float *qr = q, *kr = kt, *vr = vt;
        size_t ldr = C;
        if (fused_qkv) {
            float *qkv = c->qkv + (size_t)r0 * 3 * C;
            rz_matmul_rows(qkv, xn, w + o->q, n, C, 3 * C);
            for (int i = 0; i < n; i++) /* q and k of a row side by side: 2 NH heads */
                rz_rope_forward(qkv + (size_t)i * 3 * C, qkv + (size_t)i * 3 * C, pos + i,
                                m->rope_cos, m->rope_sin, 1, 2 * NH, hd);
            qr = qkv, kr = qkv + C, vr = qkv + 2 * C, ldr = 3 * (size_t)C;
        } else {
            rz_matmul_rows(q, xn, w + o->q, n, C, C);
            rz_matmul_rows(kt, xn, w + o->k, n, C, C);
            rz_matmul_rows(vt, xn, w + o->v, n, C, C);
            rz_rope_forward(q, q, pos, m->rope_cos, m->rope_sin, n, NH, hd);
            rz_rope_forward(kt, kt, pos, m->rope_cos, m->rope_sin, n, NH, hd);
        }
        for (int i = 0; i < n; i++) {
            float *kd = kc + slot[i] * kslot_stride + (size_t)(pos[i] / 8) * 8 * C + pos[i] % 8;
            const float *src = kr + i * ldr;
            for (int j = 0; j < C; j++) kd[8 * j] = src[j]; /* head h, element i at 8(hd h + i) */
            memcpy(vc + slot[i] * slot_stride + (size_t)pos[i] * C, vr + i * ldr,
                   (size_t)C * sizeof(float));
        }
        if (split_heads) {
            /* few rows and idle threads: the heads of a row are independent too */
#pragma omp parallel for collapse(2) schedule(static)
            for (int i = 0; i < n; i++)
                for (int h = 0; h < NH; h++)
                    rz_attention_decode(atty + (size_t)i * C, pbuf + (size_t)i * NH * len, len,
                                        qr + i * ldr, kc + slot[i] * kslot_stride,
                                        vc + slot[i] * slot_stride, pos[i] + 1, h, h + 1, NH, hd,
                                        NULL, 0);
        } else {
            for (int i = 0; i < n; i++) {
                int more = i + 1 < n; /* the next row's keys are fetched during this one */
                rz_attention_decode(atty + (size_t)i * C, pbuf + (size_t)i * NH * len, len,
                                    qr + i * ldr, kc + slot[i] * kslot_stride,
                                    vc + slot[i] * slot_stride, pos[i] + 1, 0, NH, NH, hd,
                                    more ? kc + slot[i + 1] * kslot_stride : NULL,
                                    more ? pos[i + 1] + 1 : 0);
            }
        }
        rz_matmul_rows(tmp, atty, w + o->o, n, C, C);
        for (size_t i = 0; i < (size_t)n * C; i++) x[i] = x[i] + tmp[i];
        rz_rmsnorm_forward(xn, rstd, x, w + o->ln2, n, C, cfg->norm_eps);
        if (fused_gu) {
            float *gu = c->gu + (size_t)r0 * 2 * H;
            rz_matmul_rows(gu, xn, w + o->gate, n, C, 2 * H);
            for (int i = 0; i < n; i++)
                rz_swiglu_forward(gate + (size_t)i * H, gu + (size_t)i * 2 * H,
                                  gu + (size_t)i * 2 * H + H, (size_t)H);
        } else {
            rz_matmul_rows(gate, xn, w + o->gate, n, C, H);
            rz_matmul_rows(up, xn, w + o->up, n, C, H);
            rz_swiglu_forward(gate, gate, up, (size_t)n * H);
        }
        rz_matmul_rows(tmp, gate, w + o->down, n, H, C);
        for (size_t i = 0; i < (size_t)n * C; i++) x[i] = x[i] + tmp[i];
    }
    rz_rmsnorm_forward(xn, rstd, x, w + m->norm, n, C, cfg->norm_eps);
    rz_matmul_rows(logits, xn, w + m->lm_head, n, C, V);
}

int rz_transformer_decode(rz_transformer *m, rz_kvcache *c, int n, const int *slot,
                          const int *pos, const int *tokens, float *logits, rz_error *err)
{
    const rz_transformer_config *cfg = &m->cfg;
    int V = cfg->vocab, C = cfg->dim, L = cfg->layers, H = cfg->hidden, NH = cfg->heads;
    int S = c->slots, len = c->len;
    if (c->cfg.vocab != V || c->cfg.dim != C || c->cfg.layers != L || c->cfg.hidden != H ||
        c->cfg.heads != NH)
        return rz_error_set(err, RZ_ERR_ARG, "decode: the cache was made for another model shape");
    if (n < 0 || n > S)
        return rz_error_set(err, RZ_ERR_ARG, "decode: n %d must be in 0..slots %d", n, S);
    int rc = RZ_OK;
    for (int i = 0; i < n && !rc; i++) {
        if (slot[i] < 0 || slot[i] >= S)
            rc = rz_error_set(err, RZ_ERR_ARG, "decode: row %d: slot %d is outside [0, %d)", i,
                              slot[i], S);
        else if (c->seen[slot[i]])
            rc = rz_error_set(err, RZ_ERR_ARG, "decode: row %d: slot %d is fed twice in one call",
                              i, slot[i]);
        else if (pos[i] < 0 || pos[i] >= len)
            rc = rz_error_set(err, RZ_ERR_ARG, "decode: row %d: pos %d is outside the cache [0, %d)",
                              i, pos[i], len);
        else if (pos[i] > c->filled[slot[i]])
            rc = rz_error_set(err, RZ_ERR_ARG,
                              "decode: row %d: pos %d of slot %d skips ahead (only %d fed)", i,
                              pos[i], slot[i], c->filled[slot[i]]);
        else if (tokens[i] < 0 || tokens[i] >= V)
            rc = rz_error_set(err, RZ_ERR_ARG,
                              "decode: row %d: token %d is outside the vocabulary [0, %d)", i,
                              tokens[i], V);
        if (!rc) c->seen[slot[i]] = 1;
    }
    for (int i = 0; i < n; i++)
        if (slot[i] >= 0 && slot[i] < S) c->seen[slot[i]] = 0;
    if (rc || n == 0) return rc;

    /* Enough rows: one parallel region for the whole step, each thread taking a range of
     * rows through every layer with no barrier; the results are the same bits as on one
     * thread, since a row never depends on the others. Few rows: one range, where the
     * layers may split their output channels instead. */
    int nt = 1;
#ifdef _OPENMP
    if (!omp_in_parallel()) nt = omp_get_max_threads();
#endif
    if (nt > n / RZ_DECODE_ROWS_MIN) nt = n / RZ_DECODE_ROWS_MIN;
    if (nt >= 2) {
#pragma omp parallel num_threads(nt)
        {
            int t = 0, k = 1;
#ifdef _OPENMP
            t = omp_get_thread_num(), k = omp_get_num_threads();
#endif
            decode_rows(m, c, (int)((long)n * t / k), (int)((long)n * (t + 1) / k), slot, pos,
                        tokens, logits);
        }
    } else {
        decode_rows(m, c, 0, n, slot, pos, tokens, logits);
    }
    for (int i = 0; i < n; i++) c->filled[slot[i]] = pos[i] + 1;
    return RZ_OK;
}

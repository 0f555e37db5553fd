/* generate.c: batched autoregressive sampling with the KV cache.
 *
 * Every sequence owns one cache slot and one RNG stream. Each round feeds one token per
 * live sequence through rz_transformer_decode: a prompt token while the sequence is still
 * reading its prompt, else the token it drew last. Prompts of different lengths thus share
 * rounds (a short prompt starts sampling while a long one is still being read), and
 * because the decoder's rows are independent and each draw uses only its own stream, a
 * completion does not depend on its batch mates or on the thread count.
 *
 * Not handled yet: prompts are fed one token per round rather than as one forward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

/* logits entries per round below which sampling stays on one thread */
#define GEN_OMP_MIN 32768

void rz_gen_config_default(rz_gen_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_new = 64;
    rz_sampling_default(&cfg->sampling);
    cfg->eos = RZ_TOK_EOS;
}

void rz_gen_result_free(rz_gen_result *r)
{
    if (!r) return;
    free(r->tokens);
    free(r->logp);
    free(r->len);
    free(r->truncated);
    free(r->reason);
    memset(r, 0, sizeof *r);
}

static int result_alloc(rz_gen_result *r, int n, int max_new, rz_error *err)
{
    if (r->tokens && r->n == n && r->max_new == max_new) return RZ_OK;
    rz_gen_result_free(r);
    size_t nt = (size_t)n * (size_t)max_new;
    r->tokens = malloc(nt * sizeof *r->tokens);
    r->logp = malloc(nt * sizeof *r->logp);
    r->len = malloc((size_t)n * sizeof *r->len);
    r->truncated = malloc((size_t)n);
    r->reason = malloc((size_t)n);
    if (!r->tokens || !r->logp || !r->len || !r->truncated || !r->reason) {
        rz_gen_result_free(r);
        return rz_error_set(err, RZ_ERR_NOMEM, "generate: cannot allocate results for %d x %d tokens",
                            n, max_new);
    }
    r->n = n;
    r->max_new = max_new;
    return RZ_OK;
}

static int check_args(const rz_transformer *m, const int *const *prompts, const int *prompt_len,
                      int n, const rz_gen_config *cfg, const uint64_t *keys, rz_error *err)
{
    const rz_transformer_config *mc = rz_transformer_cfg(m);
    if (n <= 0) return rz_error_set(err, RZ_ERR_ARG, "generate: n = %d must be > 0", n);
    if (!prompts || !prompt_len || !keys)
        return rz_error_set(err, RZ_ERR_ARG, "generate: %s is NULL",
                            !prompts ? "prompts" : !prompt_len ? "prompt_len" : "keys");
    if (cfg->max_new < 1)
        return rz_error_set(err, RZ_ERR_ARG, "generate: max_new = %d must be >= 1", cfg->max_new);
    int rc = rz_sampling_check(&cfg->sampling, err);
    if (rc) return rc;
    if (cfg->eos < -1 || cfg->eos >= mc->vocab)
        return rz_error_set(err, RZ_ERR_ARG, "generate: eos %d is outside the vocabulary [0, %d)",
                            cfg->eos, mc->vocab);
    if (cfg->nstop < 0 || cfg->nstop > RZ_GEN_MAX_STOP)
        return rz_error_set(err, RZ_ERR_ARG, "generate: nstop = %d must be in 0..%d", cfg->nstop,
                            RZ_GEN_MAX_STOP);
    for (int s = 0; s < cfg->nstop; s++) {
        if (!cfg->stop_seqs[s] || cfg->stop_lens[s] < 1)
            return rz_error_set(err, RZ_ERR_ARG, "generate: stop sequence %d is empty", s);
        for (int j = 0; j < cfg->stop_lens[s]; j++)
            if (cfg->stop_seqs[s][j] < 0 || cfg->stop_seqs[s][j] >= mc->vocab)
                return rz_error_set(err, RZ_ERR_ARG,
                                    "generate: stop sequence %d: token %d is outside the vocabulary",
                                    s, cfg->stop_seqs[s][j]);
    }
    for (int i = 0; i < n; i++) {
        if (!prompts[i] || prompt_len[i] < 1)
            return rz_error_set(err, RZ_ERR_ARG, "generate: prompt %d is empty (it needs at least <bos>)",
                                i);
        if ((long)prompt_len[i] + cfg->max_new > mc->context)
            return rz_error_set(err, RZ_ERR_ARG,
                                "generate: prompt %d: %d tokens + max_new %d exceed the context %d", i,
                                prompt_len[i], cfg->max_new, mc->context);
        for (int j = 0; j < prompt_len[i]; j++)
            if (prompts[i][j] < 0 || prompts[i][j] >= mc->vocab)
                return rz_error_set(err, RZ_ERR_ARG,
                                    "generate: prompt %d, token %d: id %d is outside the vocabulary [0, %d)",
                                    i, j, prompts[i][j], mc->vocab);
    }
    return RZ_OK;
}

/* Whether the completion so far (len tokens) ends with one of the stop sequences. */
static int ends_with_stop(const int *comp, int len, const rz_gen_config *cfg)
{
    for (int s = 0; s < cfg->nstop; s++) {
        int k = cfg->stop_lens[s];
        if (k <= len && !memcmp(comp + len - k, cfg->stop_seqs[s], (size_t)k * sizeof *comp))
            return 1;
    }
    return 0;
}

int rz_generate(rz_gen_result *out, rz_transformer *m, rz_kvcache *cache,
                const int *const *prompts, const int *prompt_len, int n, const rz_gen_config *cfg,
                uint64_t seed, const uint64_t *keys, rz_error *err)
{
    int rc = check_args(m, prompts, prompt_len, n, cfg, keys, err);
    if (rc) return rc;
    rc = result_alloc(out, n, cfg->max_new, err);
    if (rc) return rc;
    const int V = rz_transformer_cfg(m)->vocab, max_new = cfg->max_new;
    int maxp = 0;
    for (int i = 0; i < n; i++)
        if (prompt_len[i] > maxp) maxp = prompt_len[i];

    rz_kvcache *own = NULL;
    if (!cache) {
        /* the last drawn token is never fed, hence the - 1 */
        rc = rz_kvcache_create(&own, m, n, maxp + max_new - 1, err);
        if (rc) return rc;
        cache = own;
    }
    size_t nv = (size_t)n * (size_t)V;
    rz_rng *rng = malloc((size_t)n * sizeof *rng);
    float *logits = malloc(nv * sizeof *logits);         /* (n, V) one row per fed sequence */
    float *scratch = malloc(2 * nv * sizeof *scratch);   /* (n, 2V) per row, not per thread */
    int *slot = malloc((size_t)n * sizeof *slot), *pos = malloc((size_t)n * sizeof *pos);
    int *feed = malloc((size_t)n * sizeof *feed), *row_seq = malloc((size_t)n * sizeof *row_seq);
    int *next_pos = malloc((size_t)n * sizeof *next_pos);
    uint8_t *live = malloc((size_t)n);
    int *bad = malloc((size_t)n * sizeof *bad);
    if (!rng || !logits || !scratch || !slot || !pos || !feed || !row_seq || !next_pos || !live ||
        !bad) {
        rc = rz_error_set(err, RZ_ERR_NOMEM, "generate: cannot allocate the workspace for %d sequences",
                          n);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        rz_rng_stream(&rng[i], seed, keys[3 * i], keys[3 * i + 1], keys[3 * i + 2]);
        next_pos[i] = 0;
        live[i] = 1;
        out->len[i] = 0;
        out->truncated[i] = 0;
        out->reason[i] = RZ_GEN_MAXLEN;
    }
    for (size_t k = 0; k < (size_t)n * max_new; k++) {
        out->tokens[k] = RZ_TOK_PAD;
        out->logp[k] = 0.0f;
    }

    for (;;) {
        int rows = 0;
        for (int i = 0; i < n; i++) {
            if (!live[i]) continue;
            int p = next_pos[i];
            slot[rows] = i;
            pos[rows] = p;
            feed[rows] = p < prompt_len[i] ? prompts[i][p] : out->tokens[(size_t)i * max_new + p - prompt_len[i]];
            row_seq[rows] = i;
            rows++;
        }
        if (!rows) break;
        rc = rz_transformer_decode(m, cache, rows, slot, pos, feed, logits, err);
        if (rc) goto done;
        /* Draws are independent per sequence: each touches only its own stream, scratch
         * row and output row. A small round is not worth waking threads for. */
#pragma omp parallel for schedule(static) if ((long)rows * V >= GEN_OMP_MIN)
        for (int r = 0; r < rows; r++) {
            int i = row_seq[r];
            bad[r] = 0;
            if (pos[r] < prompt_len[i] - 1) continue; /* still reading the prompt */
            float lp = 0.0f;
            int tok = rz_sample_token(logits + (size_t)r * V, V, &cfg->sampling, &rng[i],
                                      scratch + (size_t)r * 2 * V, &lp);
            if (tok < 0) {
                bad[r] = 1;
                continue;
            }
            int *comp = out->tokens + (size_t)i * max_new;
            int k = out->len[i];
            comp[k] = tok;
            out->logp[(size_t)i * max_new + k] = lp;
            out->len[i] = k + 1;
            if (tok == cfg->eos) out->reason[i] = RZ_GEN_EOS;
            else if (ends_with_stop(comp, k + 1, cfg)) out->reason[i] = RZ_GEN_STOPSEQ;
        }
        for (int r = 0; r < rows; r++) {
            int i = row_seq[r];
            if (bad[r]) {
                rc = rz_error_set(err, RZ_ERR_NONFINITE,
                                  "generate: sequence %d, position %d: no token can be drawn (NaN/Inf logits)",
                                  i, pos[r]);
                goto done;
            }
            next_pos[i]++;
            if (out->reason[i] != RZ_GEN_MAXLEN) live[i] = 0;
            else if (out->len[i] == max_new) {
                live[i] = 0;
                out->truncated[i] = 1;
            }
        }
    }
    out->generated = 0;
    for (int i = 0; i < n; i++) out->generated += out->len[i];

done:
    rz_kvcache_free(own);
    free(rng);
    free(logits);
    free(scratch);
    free(slot);
    free(pos);
    free(feed);
    free(row_seq);
    free(next_pos);
    free(live);
    free(bad);
    return rc;
}

/* sft.c: supervised next-token training on (prompt, completion) text pairs.
 *
 * One step packs a batch of examples into (B, T) token rows, <bos> prompt completion <eos>,
 * right-padded; position t predicts token t+1. Only completion tokens (and the closing
 * <eos>) carry loss weight, so pretraining on plain text passes an empty prompt, and cold
 * start / distillation pass the question as the prompt and learn only the answer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

void rz_sft_batch_free(rz_sft_batch *b)
{
    if (!b) return;
    free(b->tokens);
    free(b->targets);
    free(b->weights);
    memset(b, 0, sizeof *b);
}

/* Encodes one string, appending to row at *pos; errors name the example. */
static int append_text(const rz_tokenizer *tok, const char *text, int *row, int *pos, int cap,
                       int example, const char *which, rz_error *err)
{
    if (!text || !*text) return RZ_OK;
    int n = 0;
    int rc = rz_tokenizer_encode(tok, text, strlen(text), row + *pos, cap - *pos, &n, err);
    if (rc != RZ_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return rz_error_set(err, rc, "example %d (%s): %s", example + 1, which, msg);
    }
    *pos += n;
    return RZ_OK;
}

int rz_sft_batch_build(rz_sft_batch *b, const rz_tokenizer *tok, const char *const *prompts,
                       const char *const *completions, int n, int context, int truncate,
                       rz_error *err)
{
    memset(b, 0, sizeof *b);
    if (n <= 0) return rz_error_set(err, RZ_ERR_ARG, "sft: empty batch");
    if (context < 2) return rz_error_set(err, RZ_ERR_ARG, "sft: context %d is too short", context);
    /* Encode each example into a scratch row of context + 1 tokens (inputs and shifted
     * targets both come out of it), then size T to the longest. */
    int W = context + 1;
    int *rows = malloc((size_t)n * (size_t)W * sizeof *rows);
    int *plen = malloc((size_t)n * sizeof *plen), *len = malloc((size_t)n * sizeof *len);
    int rc = RZ_OK;
    if (!rows || !plen || !len) {
        rc = rz_error_set(err, RZ_ERR_NOMEM, "sft: cannot allocate a batch of %d x %d tokens", n, W);
        goto done;
    }
    int T = 1;
    for (int i = 0; i < n && rc == RZ_OK; i++) {
        /* a token covers at least one byte, so bytes + 2 bounds the encoded length */
        size_t bytes = (prompts && prompts[i] ? strlen(prompts[i]) : 0) +
                       (completions[i] ? strlen(completions[i]) : 0);
        if (bytes > (size_t)1 << 28) {
            rc = rz_error_set(err, RZ_ERR_ARG, "sft: example %d is %zu bytes long", i + 1, bytes);
            break;
        }
        int cap = (int)bytes + 2, pos = 0;
        int *scratch = malloc((size_t)cap * sizeof *scratch);
        if (!scratch) {
            rc = rz_error_set(err, RZ_ERR_NOMEM, "sft: cannot allocate a %d-token row", cap);
            break;
        }
        scratch[pos++] = RZ_TOK_BOS;
        rc = append_text(tok, prompts ? prompts[i] : NULL, scratch, &pos, cap, i, "prompt", err);
        plen[i] = pos;
        if (rc == RZ_OK)
            rc = append_text(tok, completions[i], scratch, &pos, cap, i, "completion", err);
        scratch[pos++] = RZ_TOK_EOS;
        if (rc == RZ_OK && pos > W && !truncate)
            rc = rz_error_set(err, RZ_ERR_ARG, "sft: example %d has %d tokens, more than context %d + 1",
                              i + 1, pos, context);
        if (pos > W) pos = W;
        if (plen[i] > pos) plen[i] = pos;
        memcpy(rows + (size_t)i * W, scratch, (size_t)pos * sizeof *scratch);
        len[i] = pos;
        if (pos - 1 > T) T = pos - 1;
        free(scratch);
    }
    if (rc != RZ_OK) goto done;

    b->B = n;
    b->T = T;
    b->tokens = malloc((size_t)n * T * sizeof *b->tokens);
    b->targets = malloc((size_t)n * T * sizeof *b->targets);
    b->weights = malloc((size_t)n * T * sizeof *b->weights);
    if (!b->tokens || !b->targets || !b->weights) {
        rz_sft_batch_free(b);
        rc = rz_error_set(err, RZ_ERR_NOMEM, "sft: cannot allocate a batch of %d x %d", n, T);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const int *r = rows + (size_t)i * W;
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)i * T + t;
            int live = t + 1 < len[i];
            b->tokens[k] = t < len[i] ? r[t] : RZ_TOK_PAD;
            b->targets[k] = live ? r[t + 1] : RZ_TOK_PAD;
            /* the target r[t+1] is a completion token (or the closing <eos>) */
            b->weights[k] = live && t + 1 >= plen[i] ? 1.0f : 0.0f;
            b->count += b->weights[k] > 0;
        }
    }
done:
    free(rows);
    free(plen);
    free(len);
    return rc;
}

char *rz_transformer_nonfinite(rz_transformer *m, int B, int T, char *buf, size_t cap)
{
    if (!cap) return buf;
    rz_params *p = rz_transformer_params(m);
    const char *bad = p->param ? rz_params_nonfinite(p, p->param) : NULL;
    if (bad) {
        snprintf(buf, cap, "parameter '%s' holds NaN/Inf", bad);
        return buf;
    }
    const float *logits = rz_transformer_logits(m);
    const size_t V = (size_t)rz_transformer_cfg(m)->vocab;
    for (size_t n = 0; logits && n < (size_t)B * T; n++)
        for (size_t v = 0; v < V; v++)
            if (!isfinite(logits[n * V + v])) {
                snprintf(buf, cap, "logits at (b %d, t %d) are not finite, parameters finite",
                         (int)(n / (size_t)T), (int)(n % (size_t)T));
                return buf;
            }
    snprintf(buf, cap, "parameters and logits finite");
    return buf;
}

int rz_sft_step(rz_transformer *m, const rz_adamw_config *opt, long step, const rz_sft_batch *b,
                float *loss, float *grad_norm, rz_error *err)
{
    rz_params *p = rz_transformer_params(m);
    rz_params_zero_grad(p);
    rz_error e;
    int rc = rz_transformer_loss(m, b->tokens, b->targets, b->weights, b->B, b->T, 1, loss, &e);
    if (rc == RZ_OK && !isfinite(*loss)) rc = RZ_ERR_NONFINITE;
    if (rc == RZ_ERR_NONFINITE) {
        char where[200];
        return rz_error_set(err, rc, "sft: loss is %g at step %ld (%s); parameters left unchanged",
                            (double)*loss, step, rz_transformer_nonfinite(m, b->B, b->T, where, sizeof where));
    }
    if (rc != RZ_OK) return rz_error_set(err, rc, "%s", e.msg);
    return rz_adamw_step(p, opt, step, grad_norm, err);
}

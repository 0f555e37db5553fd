/* grpo.c: the GRPO trainer, in two phases around the caller's grading.
 *
 *   rollout: G completions per prompt with rz_generate, keys (step, group, sample), kept
 *            as a pending batch of rows "prompt completion" (call again to add groups);
 *   update:  rewards from the caller -> overlong penalty -> group filter (dynamic sampling)
 *            -> advantages -> reference (beta > 0) and old (mu > 1) log-probs -> mu passes
 *            of one AdamW step per minibatch.
 *
 * The per-token log-prob of completion token k of a row is read off the logits of position
 * plen - 1 + k (the one predicting it), divided by the sampling temperature as in TRL so
 * that the trained distribution is the sampled one. Those positions are contiguous in a
 * row, so they are gathered into a compact (rows, Tc, V) block, and their gradient is
 * scattered back into a (rows, T, V) dlogits for the model's backward.
 *
 * With mu = 1 the old log-probs are the current ones, detached (TRL's shortcut): the
 * ratio is exactly 1 and the clip is idle, also across minibatches of one step. With
 * mu > 1 they come from one forward over the batch before the first update.
 * Parallel loops run over independent rows; sums run in index order, so results do not
 * depend on the thread count. Over MPI (core/dist.c) the ranks sample their shares of the
 * prompts and exchange the completions; each minibatch's gradient is the left-to-right sum
 * of cfg.shards row blocks' gradients, the blocks split over the ranks, so results do not
 * depend on the number of ranks either (for a given shards). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rlzero.h"

/* logits entries below which the per-row gathers stay on one thread */
#define GRPO_OMP_MIN 32768

struct rz_grpo {
    rz_grpo_config cfg;
    int *stop_buf; /* the copied stop sequences, cfg.gen.stop_seqs point into it */
    rz_transformer *policy, *ref;
    const rz_tokenizer *tok;
    rz_kvcache *cache;
    int cache_slots, cache_len;
    rz_gen_result gen;
    long updates, opt_steps;

    /* the pending batch: nseq = ngroups * G completions */
    int ngroups, nseq, cap, W; /* W = context: the stride of rows */
    int *rows;                 /* (cap, W) prompt then completion tokens */
    int *plen, *clen;          /* (cap) */
    uint8_t *trunc;            /* (cap) */
    char **text;               /* (cap) decoded completions, or NULL */
    long gen_tokens;
    double gen_seconds;
    /* the last update's advantage of each of its completions (NaN: not trained on), for
     * episode logs: rz_grpo_advantage */
    float *last_adv; /* (last_cap) */
    int last_n, last_cap;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ config */

void rz_grpo_config_default(rz_grpo_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->group = 8;
    rz_objective o;
    rz_objective_default(&o);
    cfg->eps_low = o.eps_low;
    cfg->eps_high = o.eps_high;
    cfg->beta = o.beta;
    cfg->kl = o.kl;
    cfg->agg = o.agg;
    cfg->estimator = RZ_EST_GRPO;
    cfg->scale = RZ_SCALE_GROUP;
    cfg->mu = 1;
    cfg->minibatches = 1;
    rz_gen_config_default(&cfg->gen);
    rz_adamw_config_default(&cfg->opt);
}

int rz_grpo_config_check(const rz_grpo_config *c, rz_error *err)
{
    const char *bad = NULL;
    if (c->group < 1) bad = "group must be >= 1";
    else if (!(c->eps_low >= 0 && c->eps_low < 1)) bad = "eps_low must be in [0, 1)";
    else if (!(c->eps_high >= 0 && isfinite(c->eps_high))) bad = "eps_high must be >= 0";
    else if (!(c->beta >= 0 && isfinite(c->beta))) bad = "beta must be >= 0";
    else if (c->kl != RZ_KL_K3 && c->kl != RZ_KL_K1) bad = "kl must be RZ_KL_K3 or RZ_KL_K1";
    else if (c->agg < RZ_AGG_GRPO || c->agg > RZ_AGG_DR_GRPO) bad = "agg must be one of RZ_AGG_*";
    else if (c->estimator != RZ_EST_GRPO && c->estimator != RZ_EST_RLOO)
        bad = "estimator must be RZ_EST_GRPO or RZ_EST_RLOO";
    else if (c->estimator == RZ_EST_RLOO && c->group < 2) bad = "the RLOO estimator needs group >= 2";
    else if (c->scale < RZ_SCALE_GROUP || c->scale > RZ_SCALE_NONE) bad = "scale must be one of RZ_SCALE_*";
    else if (c->mu < 1) bad = "mu must be >= 1";
    else if (c->minibatches < 1) bad = "minibatches must be >= 1";
    else if (c->ref_reset < 0) bad = "ref_reset must be >= 0";
    else if (c->overlong_max < 0 || c->overlong_cache < 0) bad = "overlong_max and overlong_cache must be >= 0";
    else if (c->gen.max_new < 1) bad = "max_new must be >= 1";
    else if (c->gen.nstop < 0 || c->gen.nstop > RZ_GEN_MAX_STOP) bad = "too many stop sequences";
    else if (!(c->opt.lr >= 0 && isfinite(c->opt.lr))) bad = "lr must be >= 0";
    if (bad) return rz_error_set(err, RZ_ERR_ARG, "grpo config: %s", bad);
    for (int s = 0; s < c->gen.nstop; s++)
        if (!c->gen.stop_seqs[s] || c->gen.stop_lens[s] < 1)
            return rz_error_set(err, RZ_ERR_ARG, "grpo config: stop sequence %d is empty", s);
    return rz_sampling_check(&c->gen.sampling, err);
}

/* --------------------------------------------------------------- lifetime */

static void pending_clear(rz_grpo *t)
{
    for (int i = 0; i < t->nseq; i++) {
        free(t->text[i]);
        t->text[i] = NULL;
    }
    t->ngroups = t->nseq = 0;
    t->gen_tokens = 0;
    t->gen_seconds = 0;
}

void rz_grpo_free(rz_grpo *t)
{
    if (!t) return;
    if (t->text) pending_clear(t);
    free(t->stop_buf);
    rz_transformer_free(t->ref);
    rz_kvcache_free(t->cache);
    rz_gen_result_free(&t->gen);
    free(t->rows);
    free(t->plen);
    free(t->clen);
    free(t->trunc);
    free(t->text);
    free(t->last_adv);
    free(t);
}

/* ref <- policy (same layout by construction) */
static void ref_sync(rz_grpo *t)
{
    rz_params *d = rz_transformer_params(t->ref), *s = rz_transformer_params(t->policy);
    memcpy(d->param, s->param, s->numel * sizeof *s->param);
}

int rz_grpo_create(rz_grpo **out, rz_transformer *policy, const rz_tokenizer *tok,
                   const rz_grpo_config *cfg, rz_error *err)
{
    *out = NULL;
    if (!policy) return rz_error_set(err, RZ_ERR_ARG, "grpo: no policy");
    int rc = rz_grpo_config_check(cfg, err);
    if (rc) return rc;
    const rz_transformer_config *mc = rz_transformer_cfg(policy);
    if (cfg->gen.max_new >= mc->context)
        return rz_error_set(err, RZ_ERR_ARG, "grpo: max_new %d leaves no room for a prompt in context %d",
                            cfg->gen.max_new, mc->context);
    if (tok && rz_tokenizer_size(tok) > mc->vocab)
        return rz_error_set(err, RZ_ERR_ARG, "grpo: the tokenizer's %d tokens exceed the model's vocab %d",
                            rz_tokenizer_size(tok), mc->vocab);
    rz_grpo *t = calloc(1, sizeof *t);
    if (!t) return rz_error_set(err, RZ_ERR_NOMEM, "grpo: cannot allocate the trainer");
    t->cfg = *cfg;
    t->policy = policy;
    t->tok = tok;
    t->W = mc->context;
    int total = 0;
    for (int s = 0; s < cfg->gen.nstop; s++) total += cfg->gen.stop_lens[s];
    if (total) {
        t->stop_buf = malloc((size_t)total * sizeof *t->stop_buf);
        if (!t->stop_buf) {
            free(t);
            return rz_error_set(err, RZ_ERR_NOMEM, "grpo: cannot copy the stop sequences");
        }
        int off = 0;
        for (int s = 0; s < cfg->gen.nstop; s++) {
            memcpy(t->stop_buf + off, cfg->gen.stop_seqs[s], (size_t)cfg->gen.stop_lens[s] * sizeof(int));
            t->cfg.gen.stop_seqs[s] = t->stop_buf + off;
            off += cfg->gen.stop_lens[s];
        }
    }
    if (cfg->beta > 0) {
        rc = rz_transformer_create(&t->ref, mc, 0, err);
        if (rc) {
            rz_grpo_free(t);
            return rc;
        }
        ref_sync(t);
    }
    *out = t;
    return RZ_OK;
}

rz_transformer *rz_grpo_reference(rz_grpo *t) { return t->ref; }
double rz_grpo_advantage(const rz_grpo *t, int i)
{
    return i >= 0 && i < t->last_n ? t->last_adv[i] : NAN;
}

long rz_grpo_steps(const rz_grpo *t) { return t->updates; }
long rz_grpo_opt_steps(const rz_grpo *t) { return t->opt_steps; }

void rz_grpo_set_steps(rz_grpo *t, long updates, long opt_steps)
{
    t->updates = updates;
    t->opt_steps = opt_steps;
}
int rz_grpo_pending(const rz_grpo *t) { return t->nseq; }

const int *rz_grpo_completion(const rz_grpo *t, int i, int *len, int *truncated)
{
    if (i < 0 || i >= t->nseq) return NULL;
    if (len) *len = t->clen[i];
    if (truncated) *truncated = t->trunc[i];
    return t->rows + (size_t)i * t->W + t->plen[i];
}

const char *rz_grpo_completion_text(const rz_grpo *t, int i)
{
    return i >= 0 && i < t->nseq ? t->text[i] : NULL;
}

/* ----------------------------------------------------------------- rollout */

static int pending_reserve(rz_grpo *t, int need, rz_error *err)
{
    if (need <= t->cap) return RZ_OK;
    int cap = t->cap ? t->cap : 64;
    while (cap < need) cap *= 2;
    int *rows = realloc(t->rows, (size_t)cap * t->W * sizeof *rows);
    if (rows) t->rows = rows;
    int *plen = realloc(t->plen, (size_t)cap * sizeof *plen);
    if (plen) t->plen = plen;
    int *clen = realloc(t->clen, (size_t)cap * sizeof *clen);
    if (clen) t->clen = clen;
    uint8_t *tr = realloc(t->trunc, (size_t)cap);
    if (tr) t->trunc = tr;
    char **text = realloc(t->text, (size_t)cap * sizeof *text);
    if (text) t->text = text;
    if (!rows || !plen || !clen || !tr || !text)
        return rz_error_set(err, RZ_ERR_NOMEM, "grpo: cannot hold %d pending completions", cap);
    for (int i = t->cap; i < cap; i++) t->text[i] = NULL;
    t->cap = cap;
    return RZ_OK;
}

int rz_grpo_rollout(rz_grpo *t, const int *const *prompts, const int *prompt_len, int P,
                    long step, int *first, rz_error *err)
{
    if (P <= 0) return rz_error_set(err, RZ_ERR_ARG, "grpo rollout: P = %d must be > 0", P);
    if (!prompts || !prompt_len) return rz_error_set(err, RZ_ERR_ARG, "grpo rollout: no prompts");
    const int G = t->cfg.group, max_new = t->cfg.gen.max_new;
    if ((long)P * G > (1 << 20))
        return rz_error_set(err, RZ_ERR_ARG, "grpo rollout: %d prompts x %d samples is too many", P, G);
    int n = P * G, maxp = 0;
    for (int p = 0; p < P; p++) {
        if (prompt_len[p] < 1 || (long)prompt_len[p] + max_new > t->W)
            return rz_error_set(err, RZ_ERR_ARG,
                                "grpo rollout: prompt %d has %d tokens; it needs 1..%d (context %d - max_new %d)",
                                p, prompt_len[p], t->W - max_new, t->W, max_new);
        if (prompt_len[p] > maxp) maxp = prompt_len[p];
    }
    int rc = pending_reserve(t, t->nseq + n, err);
    if (rc) return rc;
    /* One cache reused across steps; grown when a batch needs more slots or positions. */
    int need_len = maxp + max_new - 1;
    if (t->cache_slots < n || t->cache_len < need_len) {
        rz_kvcache_free(t->cache);
        t->cache = NULL;
        t->cache_slots = t->cache_slots > n ? t->cache_slots : n;
        t->cache_len = t->cache_len > need_len ? t->cache_len : need_len;
        rc = rz_kvcache_create(&t->cache, t->policy, t->cache_slots, t->cache_len, err);
        if (rc) {
            t->cache_slots = t->cache_len = 0;
            return rc;
        }
    }
    /* Over MPI each rank samples its share of the prompts (keys hold the global prompt
     * index, so the completions are the ones a single process samples), then the ranks
     * exchange them and all hold the whole batch. */
    const int NR = rz_dist_size(), me = rz_dist_rank();
    long plo, phi;
    rz_dist_share(P, me, NR, &plo, &phi);
    const int nl = (int)(phi - plo) * G, off = (int)plo * G;
    const int **pp = malloc((size_t)n * sizeof *pp);
    int *pl = malloc((size_t)n * sizeof *pl);
    uint64_t *keys = malloc((size_t)n * 3 * sizeof *keys);
    long *made = malloc((size_t)NR * sizeof *made);
    if (!pp || !pl || !keys || !made) {
        rc = rz_error_set(err, RZ_ERR_NOMEM, "grpo rollout: cannot allocate %d keys", n);
        goto done;
    }
    for (int p = 0; p < P; p++)
        for (int g = 0; g < G; g++) {
            int i = p * G + g;
            pp[i] = prompts[p];
            pl[i] = prompt_len[p];
            keys[3 * i] = (uint64_t)step;
            keys[3 * i + 1] = (uint64_t)(t->ngroups + p);
            keys[3 * i + 2] = (uint64_t)g;
        }
    double t0 = now_seconds();
    made[me] = 0;
    if (nl > 0) {
        rc = rz_generate(&t->gen, t->policy, t->cache, pp + off, pl + off, nl, &t->cfg.gen, t->cfg.seed,
                         keys + 3 * (size_t)off, err);
        made[me] = t->gen.generated;
    }
    /* a failure returns at once: the program aborts every rank (lua/main.c), so none waits
     * in the gather for it */
    if (rc) goto done;
    for (int i = 0; i < nl; i++) {
        int s = t->nseq + off + i, *row = t->rows + (size_t)s * t->W;
        memcpy(row, pp[off + i], (size_t)pl[off + i] * sizeof *row);
        memcpy(row + pl[off + i], t->gen.tokens + (size_t)i * max_new, (size_t)t->gen.len[i] * sizeof *row);
        t->plen[s] = pl[off + i];
        t->clen[s] = t->gen.len[i];
        t->trunc[s] = t->gen.truncated[i];
    }
    if (NR > 1) {
        const int s0 = t->nseq;
        if (!rc) rc = rz_dist_allgather(t->rows + (size_t)s0 * t->W, P, (size_t)G * t->W * sizeof(int), err);
        if (!rc) rc = rz_dist_allgather(t->plen + s0, P, (size_t)G * sizeof(int), err);
        if (!rc) rc = rz_dist_allgather(t->clen + s0, P, (size_t)G * sizeof(int), err);
        if (!rc) rc = rz_dist_allgather(t->trunc + s0, P, (size_t)G, err);
        if (!rc) rc = rz_dist_allgather(made, NR, sizeof *made, err);
        if (rc) goto done;
    }
    t->gen_seconds += now_seconds() - t0;
    for (int r = 0; r < NR; r++) t->gen_tokens += made[r];
    for (int i = 0; i < n; i++) t->text[t->nseq + i] = NULL;
    if (t->tok)
        for (int i = 0; i < n && !rc; i++) {
            int s = t->nseq + i;
            size_t len;
            rc = rz_tokenizer_decode(t->tok, t->rows + (size_t)s * t->W + t->plen[s], t->clen[s],
                                     &t->text[s], &len, err);
        }
    if (rc) {
        for (int i = 0; i < n; i++) {
            free(t->text[t->nseq + i]);
            t->text[t->nseq + i] = NULL;
        }
        goto done;
    }
    if (first) *first = t->nseq;
    t->ngroups += P;
    t->nseq += n;
done:
    free(pp);
    free(pl);
    free(keys);
    free(made);
    return rc;
}

int rz_grpo_rollout_text(rz_grpo *t, const char *const *prompts, int P, long step, int *first,
                         rz_error *err)
{
    if (!t->tok) return rz_error_set(err, RZ_ERR_STATE, "grpo rollout: text prompts need a tokenizer");
    if (P <= 0 || !prompts) return rz_error_set(err, RZ_ERR_ARG, "grpo rollout: P = %d must be > 0", P);
    int cap = t->W - t->cfg.gen.max_new; /* the longest prompt that leaves room */
    int *buf = malloc((size_t)P * t->W * sizeof *buf), *len = malloc((size_t)P * sizeof *len);
    const int **pp = malloc((size_t)P * sizeof *pp);
    int rc = RZ_OK;
    if (!buf || !len || !pp) {
        rc = rz_error_set(err, RZ_ERR_NOMEM, "grpo rollout: cannot encode %d prompts", P);
        goto done;
    }
    for (int p = 0; p < P && !rc; p++) {
        int *row = buf + (size_t)p * t->W, n = 0;
        row[0] = RZ_TOK_BOS;
        const char *s = prompts[p] ? prompts[p] : "";
        rc = rz_tokenizer_encode(t->tok, s, strlen(s), row + 1, cap - 1, &n, err);
        if (rc) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
            rc = rz_error_set(err, rc, "grpo rollout: prompt %d (at most %d tokens): %s", p, cap - 1, msg);
        }
        len[p] = n + 1;
        pp[p] = row;
    }
    if (!rc) rc = rz_grpo_rollout(t, pp, len, P, step, first, err);
done:
    free(buf);
    free(len);
    free(pp);
    return rc;
}

/* ------------------------------------------------------------------ update */

static float shaped_reward(const rz_grpo *t, const float *rewards, int i)
{
    float r = rewards[i];
    if (t->cfg.overlong_max > 0)
        r += rz_overlong_penalty(t->clen[i], t->cfg.overlong_max, t->cfg.overlong_cache);
    return r;
}

int rz_grpo_informative(const rz_grpo *t, const float *rewards, uint8_t *keep)
{
    if (!t->nseq || !rewards || !keep) return -1;
    float *r = malloc((size_t)t->nseq * sizeof *r);
    if (!r) return -1;
    for (int i = 0; i < t->nseq; i++) r[i] = shaped_reward(t, rewards, i);
    int k = rz_groups_informative(keep, r, t->nseq, t->cfg.group);
    free(r);
    return k;
}

/* The workspace of one update, over the N kept sequences (compacted). */
typedef struct {
    int N, Tc, Tmax;     /* sequences, longest completion, longest input row */
    int *seq;            /* (N) index into the pending batch */
    float *reward, *adv; /* (N) */
    int *targets;        /* (N, Tc) completion tokens, <pad> beyond */
    float *mask;         /* (N, Tc) */
    float *logp, *old, *ref, *dlogp, *ent; /* (N, Tc); ref only when beta > 0 */
    int *tokens;         /* (N, Tmax) input rows of a minibatch */
    float *lg, *dl;      /* (N, Tc, V) gathered logits / their gradient */
    float *dlogits;      /* (N, Tmax, V) */
} work;

static void work_free(work *w)
{
    free(w->seq);
    free(w->reward);
    free(w->adv);
    free(w->targets);
    free(w->mask);
    free(w->logp);
    free(w->old);
    free(w->ref);
    free(w->dlogp);
    free(w->ent);
    free(w->tokens);
    rz_free(w->lg);
    rz_free(w->dl);
    rz_free(w->dlogits);
}

/* Forward of rows [a, b) of the kept batch through model m; per-token log-probs (and
 * entropies, when ent is not NULL) of their completion tokens into logp (b - a, Tc) at
 * temperature-scaled logits, which stay gathered in w->lg for the backward. *T gets the
 * input length used. */
static int rows_logprob(rz_grpo *t, work *w, rz_transformer *m, int a, int b, float *logp,
                        float *ent, int *Tout, rz_error *err)
{
    const int V = rz_transformer_cfg(m)->vocab, Tc = w->Tc;
    int B = b - a, T = 1;
    for (int r = a; r < b; r++) {
        int s = w->seq[r], len = t->plen[s] + t->clen[s] - 1;
        if (len > T) T = len;
    }
    for (int r = 0; r < B; r++) {
        int s = w->seq[a + r], len = t->plen[s] + t->clen[s] - 1;
        int *dst = w->tokens + (size_t)r * T;
        memcpy(dst, t->rows + (size_t)s * t->W, (size_t)len * sizeof *dst);
        for (int j = len; j < T; j++) dst[j] = RZ_TOK_PAD; /* after the row: causally unseen */
    }
    int rc = rz_transformer_forward(m, w->tokens, B, T, err);
    if (rc) return rc;
    const float *logits = rz_transformer_logits(m);
    float temp = t->cfg.gen.sampling.temperature;
    float inv_t = temp > 0 ? 1.0f / temp : 1.0f;
#pragma omp parallel for schedule(static) if ((long)B * Tc * V >= GRPO_OMP_MIN)
    for (int r = 0; r < B; r++) {
        int s = w->seq[a + r], pl = t->plen[s], cl = t->clen[s];
        const float *src = logits + ((size_t)r * T + (size_t)(pl - 1)) * V;
        float *dst = w->lg + (size_t)(a + r) * Tc * V;
        for (size_t k = 0; k < (size_t)cl * V; k++) dst[k] = src[k] * inv_t;
        rz_logprob_forward(logp + (size_t)r * Tc, ent ? ent + (size_t)r * Tc : NULL, dst,
                           w->targets + (size_t)(a + r) * Tc, cl, V);
        for (int k = cl; k < Tc; k++) {
            logp[(size_t)r * Tc + k] = 0.0f;
            if (ent) ent[(size_t)r * Tc + k] = 0.0f;
        }
    }
    *Tout = T;
    return RZ_OK;
}

/* d loss / d logits of rows [a, b) from w->dlogp, scattered into (B, T, V). */
static void rows_dlogits(rz_grpo *t, work *w, int V, int a, int b, int T)
{
    const int Tc = w->Tc;
    float temp = t->cfg.gen.sampling.temperature;
    float inv_t = temp > 0 ? 1.0f / temp : 1.0f;
    int B = b - a;
    memset(w->dlogits, 0, (size_t)B * T * V * sizeof *w->dlogits);
#pragma omp parallel for schedule(static) if ((long)B * Tc * V >= GRPO_OMP_MIN)
    for (int r = 0; r < B; r++) {
        int s = w->seq[a + r], pl = t->plen[s], cl = t->clen[s];
        float *dl = w->dl + (size_t)(a + r) * Tc * V;
        memset(dl, 0, (size_t)cl * V * sizeof *dl);
        rz_logprob_backward(dl, w->dlogp + (size_t)(a + r) * Tc, w->lg + (size_t)(a + r) * Tc * V,
                            w->targets + (size_t)(a + r) * Tc, cl, V);
        float *dst = w->dlogits + ((size_t)r * T + (size_t)(pl - 1)) * V;
        for (size_t k = 0; k < (size_t)cl * V; k++) dst[k] = dl[k] * inv_t;
    }
}

int rz_grpo_update(rz_grpo *t, const float *rewards, rz_grpo_metrics *metrics, rz_error *err)
{
    double t0 = now_seconds();
    rz_grpo_metrics mt;
    memset(&mt, 0, sizeof mt);
    if (!t->nseq) return rz_error_set(err, RZ_ERR_STATE, "grpo update: no pending completions (rollout first)");
    if (!rewards) return rz_error_set(err, RZ_ERR_ARG, "grpo update: rewards is NULL");
    const rz_grpo_config *c = &t->cfg;
    const int G = c->group, NG = t->ngroups, NS = t->nseq;
    const int V = rz_transformer_cfg(t->policy)->vocab;
    for (int i = 0; i < NS; i++)
        if (!isfinite(rewards[i]))
            return rz_error_set(err, RZ_ERR_NONFINITE, "grpo update: reward %d is %g", i, (double)rewards[i]);

    /* what TRL logs, over everything sampled (before any filter) */
    mt.step = t->updates;
    mt.groups = NG;
    mt.completions = NS;
    double rs = 0, rss = 0, sh = 0, ls = 0;
    mt.len_min = t->clen[0];
    mt.len_max = t->clen[0];
    int ntrunc = 0;
    for (int i = 0; i < NS; i++) {
        rs += rewards[i];
        sh += shaped_reward(t, rewards, i);
        ls += t->clen[i];
        ntrunc += t->trunc[i];
        if (t->clen[i] < mt.len_min) mt.len_min = t->clen[i];
        if (t->clen[i] > mt.len_max) mt.len_max = t->clen[i];
    }
    mt.reward_mean = rs / NS;
    for (int i = 0; i < NS; i++) rss += (rewards[i] - mt.reward_mean) * (rewards[i] - mt.reward_mean);
    mt.reward_std = NS > 1 ? sqrt(rss / (NS - 1)) : 0.0;
    mt.shaped_mean = sh / NS;
    mt.len_mean = ls / NS;
    mt.frac_truncated = (double)ntrunc / NS;
    mt.gen_tokens = t->gen_tokens;
    mt.gen_seconds = t->gen_seconds;
    mt.gen_tokens_per_s = t->gen_seconds > 0 ? t->gen_tokens / t->gen_seconds : 0.0;
    mt.ratio_min = mt.ratio_max = mt.ratio_mean = 1.0;
    mt.lr = rz_adamw_lr(&c->opt, t->opt_steps);

    work w;
    memset(&w, 0, sizeof w);
    int rc = RZ_OK;
    uint8_t *keep = malloc((size_t)NG);
    float *shaped = malloc((size_t)NS * sizeof *shaped);
    if (!keep || !shaped) {
        rc = rz_error_set(err, RZ_ERR_NOMEM, "grpo update: cannot allocate %d rewards", NS);
        goto done;
    }
    for (int i = 0; i < NS; i++) shaped[i] = shaped_reward(t, rewards, i);
    int informative = rz_groups_informative(keep, shaped, NS, G);
    mt.frac_reward_zero_std = (double)(NG - informative) / NG;
    if (!c->dynamic_sampling) memset(keep, 1, (size_t)NG);
    int N = 0, Tc = 1, Tmax = 1;
    for (int g = 0; g < NG; g++)
        if (keep[g])
            for (int i = g * G; i < (g + 1) * G; i++) {
                N++;
                if (t->clen[i] > Tc) Tc = t->clen[i];
                if (t->plen[i] + t->clen[i] - 1 > Tmax) Tmax = t->plen[i] + t->clen[i] - 1;
            }
    mt.groups_kept = N / G;
    if (NS > t->last_cap) {
        float *a = realloc(t->last_adv, (size_t)NS * sizeof *a);
        if (!a) {
            rc = rz_error_set(err, RZ_ERR_NOMEM, "grpo update: cannot allocate %d advantages", NS);
            goto done;
        }
        t->last_adv = a;
        t->last_cap = NS;
    }
    for (int i = 0; i < NS; i++) t->last_adv[i] = NAN;
    t->last_n = NS;
    if (N == 0) goto finish; /* nothing informative: no step, as DAPO would resample */

    /* ---- the kept batch */
    w.N = N;
    w.Tc = Tc;
    w.Tmax = Tmax;
    size_t NT = (size_t)N * Tc;
    w.seq = malloc((size_t)N * sizeof *w.seq);
    w.reward = malloc((size_t)N * sizeof *w.reward);
    w.adv = malloc((size_t)N * sizeof *w.adv);
    w.targets = malloc(NT * sizeof *w.targets);
    w.mask = malloc(NT * sizeof *w.mask);
    w.logp = malloc(NT * sizeof *w.logp);
    w.old = malloc(NT * sizeof *w.old);
    w.dlogp = malloc(NT * sizeof *w.dlogp);
    w.ent = malloc(NT * sizeof *w.ent);
    w.ref = c->beta > 0 ? malloc(NT * sizeof *w.ref) : NULL;
    w.tokens = malloc((size_t)N * Tmax * sizeof *w.tokens);
    w.lg = rz_alloc(NT * V * sizeof(float), "grpo gathered logits", err);
    w.dl = rz_alloc(NT * V * sizeof(float), "grpo gathered dlogits", err);
    w.dlogits = rz_alloc((size_t)N * Tmax * V * sizeof(float), "grpo dlogits", err);
    if (!w.seq || !w.reward || !w.adv || !w.targets || !w.mask || !w.logp || !w.old || !w.dlogp ||
        !w.ent || (c->beta > 0 && !w.ref) || !w.tokens || !w.lg || !w.dl || !w.dlogits) {
        rc = rz_error_set(err, RZ_ERR_NOMEM, "grpo update: cannot allocate the workspace for %d x %d tokens",
                          N, Tc);
        goto done;
    }
    N = 0;
    for (int g = 0; g < NG; g++)
        if (keep[g])
            for (int i = g * G; i < (g + 1) * G; i++) {
                w.seq[N] = i;
                w.reward[N] = shaped[i];
                const int *comp = t->rows + (size_t)i * t->W + t->plen[i];
                float mk = c->mask_truncated && t->trunc[i] ? 0.0f : 1.0f;
                for (int k = 0; k < Tc; k++) {
                    w.targets[(size_t)N * Tc + k] = k < t->clen[i] ? comp[k] : RZ_TOK_PAD;
                    w.mask[(size_t)N * Tc + k] = k < t->clen[i] ? mk : 0.0f;
                }
                N++;
            }
    rc = rz_advantages(w.adv, w.reward, N, G, c->estimator, c->scale, err);
    if (rc) goto done;
    for (int n = 0; n < N; n++) t->last_adv[w.seq[n]] = w.adv[n];

    int M = c->minibatches < N ? c->minibatches : N;
    int T;
    /* Each minibatch is cut into S row blocks (shards); its gradient is their gradients
     * summed left to right, each computed from zero by its own forward and backward. Rank
     * `me` computes shards [slo, shi). One process with shards = S and S processes give
     * the same bits: the same blocks, the same order. */
    const int NR = rz_dist_size(), me = rz_dist_rank();
    const int S = c->shards > 0 ? c->shards : NR;
    if (S < NR) {
        rc = rz_error_set(err, RZ_ERR_ARG, "grpo update: shards = %d is fewer than the %d ranks", S, NR);
        goto done;
    }
    long slo, shi;
    rz_dist_share(S, me, NR, &slo, &shi);
    /* reference and (mu > 1) old log-probs of this rank's rows, before any update */
    for (int j = 0; j < M && !rc; j++) {
        int a = (int)((long)j * N / M), b = (int)((long)(j + 1) * N / M);
        for (long k = slo; k < shi && !rc; k++) {
            long lo, hi;
            rz_dist_share(b - a, (int)k, S, &lo, &hi);
            int ra = a + (int)lo, rb = a + (int)hi;
            if (ra == rb) continue;
            if (c->beta > 0) rc = rows_logprob(t, &w, t->ref, ra, rb, w.ref + (size_t)ra * Tc, NULL, &T, err);
            if (!rc && c->mu > 1)
                rc = rows_logprob(t, &w, t->policy, ra, rb, w.old + (size_t)ra * Tc, NULL, &T, err);
        }
    }
    if (rc) goto done;

    rz_objective obj;
    rz_objective_default(&obj);
    obj.eps_low = c->eps_low;
    obj.eps_high = c->eps_high;
    obj.beta = c->beta;
    obj.kl = c->kl;
    obj.agg = c->agg;
    obj.max_len = c->gen.max_new;
    rz_params *params = rz_transformer_params(t->policy);
    /* one record per shard, gathered so that every rank combines them in shard order */
    typedef struct {
        rz_objective_stats st;
        double ent_sum, ent_tok;
        int rows, bad; /* bad: the objective was not finite */
    } shard_rec;
    shard_rec *rec = calloc((size_t)S, sizeof *rec);
    float *parts = NULL;
    const int nloc = (int)(shi - slo);
    if (S > 1 && nloc > 0)
        parts = rz_alloc((size_t)nloc * params->numel * sizeof *parts, "grpo shard gradients", err);
    if (!rec || (S > 1 && nloc > 0 && !parts)) {
        free(rec);
        rz_free(parts);
        rc = rz_error_set(err, RZ_ERR_NOMEM, "grpo update: cannot allocate the gradients of %d shards", nloc);
        goto done;
    }
    double tok_sum = 0, kl_sum = 0, cl_lo = 0, cl_hi = 0, cl = 0, ratio_sum = 0, loss_sum = 0,
           gn_sum = 0, ent_sum = 0, ent_tok = 0;
    int calls = 0;
    mt.ratio_min = INFINITY;
    mt.ratio_max = -INFINITY;
    for (int it = 0; it < c->mu && !rc; it++)
        for (int j = 0; j < M; j++) {
            int a = (int)((long)j * N / M), b = (int)((long)(j + 1) * N / M), B = b - a, np = 0;
            /* the whole minibatch's normalisers, so that the shards' losses add up */
            double toks = 0;
            for (size_t k = (size_t)a * Tc; k < (size_t)b * Tc; k++) toks += w.mask[k];
            obj.seqs_total = B;
            obj.tokens_total = toks;
            memset(rec, 0, (size_t)S * sizeof *rec);
            for (long k = slo; k < shi; k++) {
                shard_rec *r = &rec[k];
                long lo, hi;
                rz_dist_share(B, (int)k, S, &lo, &hi);
                int ra = a + (int)lo, rb = a + (int)hi, Bs = rb - ra;
                r->rows = Bs;
                if (Bs == 0) continue;
                float *lp = w.logp + (size_t)ra * Tc, *en = w.ent + (size_t)ra * Tc;
                rc = rows_logprob(t, &w, t->policy, ra, rb, lp, it == 0 ? en : NULL, &T, err);
                if (rc) break;
                if (c->mu == 1) memcpy(w.old + (size_t)ra * Tc, lp, (size_t)Bs * Tc * sizeof *lp);
                if (it == 0)
                    for (size_t q = (size_t)ra * Tc; q < (size_t)rb * Tc; q++) {
                        r->ent_sum += (double)w.ent[q] * w.mask[q];
                        r->ent_tok += w.mask[q];
                    }
                rz_error e;
                rc = rz_objective_loss(&obj, Bs, Tc, lp, w.old + (size_t)ra * Tc,
                                       c->beta > 0 ? w.ref + (size_t)ra * Tc : NULL, w.adv + ra,
                                       w.mask + (size_t)ra * Tc, w.dlogp + (size_t)ra * Tc, &r->st, &e);
                if (rc == RZ_ERR_NONFINITE) {
                    r->bad = 1;
                    if (!mt.skipped && !mt.nonfinite[0]) {
                        char where[200];
                        snprintf(mt.nonfinite, sizeof mt.nonfinite, "update %ld, minibatch %d: %.120s (%s)",
                                 t->updates, j, e.msg, rz_transformer_nonfinite(t->policy, Bs, T, where, sizeof where));
                    }
                    rc = RZ_OK;
                    continue;
                }
                if (rc) {
                    rz_error_set(err, rc, "%s", e.msg);
                    break;
                }
                if (toks == 0) continue; /* no signal: no gradient */
                rows_dlogits(t, &w, V, ra, rb, T);
                rz_params_zero_grad(params);
                rc = rz_transformer_backward(t->policy, w.dlogits, err);
                if (rc) break;
                /* empty shards have no part: the parts stay in shard order */
                if (parts) memcpy(parts + (size_t)np * params->numel, params->grad, params->numel * sizeof *parts);
                np++;
            }
            if (!rc && NR > 1) {
                double c0 = now_seconds();
                rc = rz_dist_allgather(rec, S, sizeof *rec, err);
                mt.comm_seconds += now_seconds() - c0;
            }
            if (rc) break;
            int bad = 0;
            for (int k = 0; k < S; k++) {
                bad |= rec[k].bad;
                ent_sum += rec[k].ent_sum;
                ent_tok += rec[k].ent_tok;
            }
            if (bad) { /* a NaN/Inf anywhere in the minibatch: every rank skips it */
                if (!mt.skipped++ && !mt.nonfinite[0])
                    snprintf(mt.nonfinite, sizeof mt.nonfinite, "update %ld, minibatch %d: non-finite loss on another rank",
                             t->updates, j);
                continue;
            }
            calls++;
            double mb_loss = 0;
            for (int k = 0; k < S; k++) {
                const rz_objective_stats *st = &rec[k].st;
                if (!rec[k].rows) continue;
                tok_sum += st->tokens;
                kl_sum += st->kl_mean * st->tokens;
                cl_lo += st->clip_low_frac * st->tokens;
                cl_hi += st->clip_high_frac * st->tokens;
                cl += st->clip_frac * st->tokens;
                ratio_sum += st->ratio_mean * st->tokens;
                if (st->tokens > 0) {
                    if (st->ratio_min < mt.ratio_min) mt.ratio_min = st->ratio_min;
                    if (st->ratio_max > mt.ratio_max) mt.ratio_max = st->ratio_max;
                }
                mb_loss += st->loss;
            }
            loss_sum += mb_loss;
            if (toks == 0) continue; /* no signal: leave the optimizer alone */
            if (S > 1) {
                int any = 0;
                rc = rz_dist_ordered_sum(params->grad, parts, np, params->numel, &any, &mt.comm_seconds, err);
                if (rc) break;
            }
            float gn = 0;
            rz_error e;
            mt.lr = rz_adamw_lr(&c->opt, t->opt_steps);
            rc = rz_adamw_step(params, &c->opt, t->opt_steps, &gn, &e);
            if (rc == RZ_ERR_NONFINITE) {
                if (!mt.skipped++)
                    snprintf(mt.nonfinite, sizeof mt.nonfinite, "update %ld, minibatch %d: %.200s",
                             t->updates, j, e.msg);
                rc = RZ_OK;
                continue;
            }
            if (rc) {
                rz_error_set(err, rc, "%s", e.msg);
                break;
            }
            t->opt_steps++;
            mt.updates++;
            gn_sum += gn;
        }
    free(rec);
    rz_free(parts);
    if (rc) goto done;
    if (tok_sum > 0) {
        mt.kl = kl_sum / tok_sum;
        mt.clip_low = cl_lo / tok_sum;
        mt.clip_high = cl_hi / tok_sum;
        mt.clip_frac = cl / tok_sum;
        mt.ratio_mean = ratio_sum / tok_sum;
    } else {
        mt.ratio_mean = mt.ratio_min = mt.ratio_max = 1.0;
    }
    mt.loss = calls ? loss_sum / calls : 0.0;
    mt.grad_norm = mt.updates ? gn_sum / mt.updates : 0.0;
    mt.entropy = ent_tok > 0 ? ent_sum / ent_tok : 0.0;

finish:
    t->updates++;
    if (t->ref && c->ref_reset > 0 && t->updates % c->ref_reset == 0) ref_sync(t);
    pending_clear(t);
    mt.update_seconds = now_seconds() - t0;
    mt.step_seconds = mt.update_seconds + mt.gen_seconds;
    if (metrics) *metrics = mt;
done:
    work_free(&w);
    free(keep);
    free(shaped);
    return rc;
}

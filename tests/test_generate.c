/* test_generate.c: batched KV-cache generation against full forwards, batch and thread
 * invariance, stopping rules, truncation flags and argument errors. */
#include <omp.h>

#include "test.h"

enum { V = 14, NSEQ = 5, MAXNEW = 10 };

static rz_transformer *tiny_model(uint64_t seed)
{
    rz_transformer_config c;
    rz_transformer_config_default(&c);
    c.vocab = V;
    c.dim = 32;
    c.layers = 2;
    c.heads = 2;
    c.context = 24;
    rz_error err = {0};
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &c, seed, &err) == RZ_OK);
    /* N(0, 0.02) weights make nearly uniform logits; sharpen them so that greedy choices are
     * far from ties and EOS / stop sequences actually occur */
    rz_params *p = rz_transformer_params(m);
    for (size_t i = 0; i < p->numel; i++) p->param[i] *= 12.0f;
    for (int t = 0; t < p->count; t++)
        if (strstr(p->tensors[t].name, "norm"))
            for (size_t i = 0; i < p->tensors[t].numel; i++) p->param[p->tensors[t].offset + i] = 1.0f;
    return m;
}

/* prompts of different lengths, <bos> first */
static const int P0[] = {1, 5, 6}, P1[] = {1}, P2[] = {1, 7, 8, 9, 10, 11}, P3[] = {1, 12},
                 P4[] = {1, 3, 4, 13};
static const int *const PROMPTS[NSEQ] = {P0, P1, P2, P3, P4};
static const int PLEN[NSEQ] = {3, 1, 6, 2, 4};

static void keys_for(uint64_t *keys, int n)
{
    for (int i = 0; i < n; i++) {
        keys[3 * i] = 7;
        keys[3 * i + 1] = (uint64_t)i;
        keys[3 * i + 2] = (uint64_t)(i * 3 + 1);
    }
}

/* log softmax(logits)[tok] in double */
static double log_softmax_at(const float *logits, int tok)
{
    double mx = logits[0];
    for (int v = 1; v < V; v++) mx = logits[v] > mx ? logits[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++) s += exp(logits[v] - mx);
    return logits[tok] - mx - log(s);
}

/* Full forward over prompt + completion: checks each completion token against the logits of
 * the position that predicts it (argmax when greedy) and the returned logp. */
static void check_against_forward(rz_transformer *m, const rz_gen_result *r, int greedy,
                                  double *max_err)
{
    rz_error err = {0};
    for (int i = 0; i < NSEQ; i++) {
        int row[64], T = 0;
        for (int j = 0; j < PLEN[i]; j++) row[T++] = PROMPTS[i][j];
        for (int k = 0; k < r->len[i]; k++) row[T++] = r->tokens[i * r->max_new + k];
        CHECK_OK(rz_transformer_forward(m, row, 1, T - 1, &err), &err);
        const float *lg = rz_transformer_logits(m);
        for (int k = 0; k < r->len[i]; k++) {
            const float *l = lg + (size_t)(PLEN[i] - 1 + k) * V;
            int tok = r->tokens[i * r->max_new + k];
            if (greedy) {
                int am = 0;
                for (int v = 1; v < V; v++)
                    if (l[v] > l[am]) am = v;
                CHECKF(am == tok, "seq %d token %d: generated %d, argmax of the forward %d", i, k, tok, am);
            }
            double e = fabs(log_softmax_at(l, tok) - r->logp[i * r->max_new + k]);
            if (e > *max_err) *max_err = e;
        }
    }
}

static int same_result(const rz_gen_result *a, const rz_gen_result *b)
{
    if (a->n != b->n || a->max_new != b->max_new) return 0;
    size_t nt = (size_t)a->n * a->max_new;
    return !memcmp(a->tokens, b->tokens, nt * sizeof *a->tokens) &&
           !memcmp(a->logp, b->logp, nt * sizeof *a->logp) &&
           !memcmp(a->len, b->len, (size_t)a->n * sizeof *a->len) &&
           !memcmp(a->truncated, b->truncated, (size_t)a->n) && !memcmp(a->reason, b->reason, (size_t)a->n);
}

int main(void)
{
    rz_error err = {0};
    rz_transformer *m = tiny_model(3);
    uint64_t keys[3 * NSEQ];
    keys_for(keys, NSEQ);

    rz_gen_config cfg;
    rz_gen_config_default(&cfg);
    cfg.max_new = MAXNEW;
    cfg.eos = -1;

    /* greedy equals the argmax of a full forward; no stop rule: all truncated at max_new */
    cfg.sampling.temperature = 0.0f;
    rz_gen_result greedy = {0};
    CHECK_OK(rz_generate(&greedy, m, NULL, PROMPTS, PLEN, NSEQ, &cfg, 11, keys, &err), &err);
    double max_err = 0;
    check_against_forward(m, &greedy, 1, &max_err);
    CHECKF(max_err < 1e-4, "greedy logp vs forward log-softmax: %g", max_err);
    for (int i = 0; i < NSEQ; i++) {
        CHECK(greedy.len[i] == MAXNEW);
        CHECK(greedy.truncated[i] == 1);
        CHECK(greedy.reason[i] == RZ_GEN_MAXLEN);
    }
    CHECK(greedy.generated == NSEQ * MAXNEW);
    /* the completions are not all the same token (the test would be weak otherwise) */
    int distinct = 0;
    for (int k = 1; k < NSEQ * MAXNEW; k++) distinct += greedy.tokens[k] != greedy.tokens[0];
    CHECKF(distinct > 0, "greedy completions are one repeated token");

    /* top-k 1 at temperature 1 is greedy too */
    rz_gen_config k1 = cfg;
    k1.sampling.temperature = 1.0f;
    k1.sampling.top_k = 1;
    rz_gen_result r = {0};
    CHECK_OK(rz_generate(&r, m, NULL, PROMPTS, PLEN, NSEQ, &k1, 99, keys, &err), &err);
    CHECK(!memcmp(r.tokens, greedy.tokens, sizeof(int) * NSEQ * MAXNEW));

    /* temperature 1: logp is the log-softmax of the full forward at the drawn token */
    cfg.sampling.temperature = 1.0f;
    rz_gen_result s = {0};
    CHECK_OK(rz_generate(&s, m, NULL, PROMPTS, PLEN, NSEQ, &cfg, 11, keys, &err), &err);
    max_err = 0;
    check_against_forward(m, &s, 0, &max_err);
    CHECKF(max_err < 1e-4, "sampled logp vs forward log-softmax: %g", max_err);
    CHECK(memcmp(s.tokens, greedy.tokens, sizeof(int) * NSEQ * MAXNEW) != 0);

    /* a sequence alone gives the same bits as inside the batch (and with a reused cache) */
    rz_kvcache *cache = NULL;
    CHECK_OK(rz_kvcache_create(&cache, m, NSEQ, 24, &err), &err);
    for (int i = 0; i < NSEQ; i++) {
        rz_gen_result one = {0};
        CHECK_OK(rz_generate(&one, m, cache, PROMPTS + i, PLEN + i, 1, &cfg, 11, keys + 3 * i, &err),
                 &err);
        CHECKF(one.len[0] == s.len[i] &&
                   !memcmp(one.tokens, s.tokens + i * MAXNEW, sizeof(int) * MAXNEW) &&
                   !memcmp(one.logp, s.logp + i * MAXNEW, sizeof(float) * MAXNEW),
               "sequence %d alone differs from the batch", i);
        rz_gen_result_free(&one);
    }
    /* the batch again through the reused cache: same bits */
    rz_gen_result again = {0};
    CHECK_OK(rz_generate(&again, m, cache, PROMPTS, PLEN, NSEQ, &cfg, 11, keys, &err), &err);
    CHECK(same_result(&again, &s));
    /* a different seed or key changes the draws */
    CHECK_OK(rz_generate(&again, m, cache, PROMPTS, PLEN, NSEQ, &cfg, 12, keys, &err), &err);
    CHECK(!same_result(&again, &s));

    /* thread-count invariance, bitwise */
    rz_gen_result t1 = {0}, t2 = {0};
    rz_gen_config mixed = cfg;
    mixed.sampling.top_p = 0.9f;
    mixed.sampling.min_p = 0.05f;
    omp_set_num_threads(1);
    CHECK_OK(rz_generate(&t1, m, NULL, PROMPTS, PLEN, NSEQ, &mixed, 5, keys, &err), &err);
    omp_set_num_threads(2);
    CHECK_OK(rz_generate(&t2, m, NULL, PROMPTS, PLEN, NSEQ, &mixed, 5, keys, &err), &err);
    CHECK(same_result(&t1, &t2));

    /* stop on EOS: make the 4th greedy token of sequence 2 the EOS id; generation stops at
     * its first occurrence, which is kept */
    cfg.sampling.temperature = 0.0f;
    int eos = greedy.tokens[2 * MAXNEW + 3];
    rz_gen_config ce = cfg;
    ce.eos = eos;
    CHECK_OK(rz_generate(&r, m, NULL, PROMPTS, PLEN, NSEQ, &ce, 11, keys, &err), &err);
    for (int i = 0; i < NSEQ; i++) {
        int first = -1;
        for (int k = 0; k < MAXNEW && first < 0; k++)
            if (greedy.tokens[i * MAXNEW + k] == eos) first = k;
        if (first >= 0) {
            CHECKF(r.len[i] == first + 1 && r.reason[i] == RZ_GEN_EOS && !r.truncated[i],
                   "seq %d: len %d reason %d, want EOS at %d", i, r.len[i], r.reason[i], first);
        } else {
            CHECK(r.len[i] == MAXNEW && r.truncated[i] && r.reason[i] == RZ_GEN_MAXLEN);
        }
        CHECK(!memcmp(r.tokens + i * MAXNEW, greedy.tokens + i * MAXNEW, sizeof(int) * r.len[i]));
        for (int k = r.len[i]; k < MAXNEW; k++) CHECK(r.tokens[i * MAXNEW + k] == RZ_TOK_PAD);
    }
    CHECK(r.len[2] <= 4 && r.reason[2] == RZ_GEN_EOS);

    /* stop on a sequence: the greedy tokens 5..6 of sequence 0, plus an unused second one */
    int stop[2] = {greedy.tokens[5], greedy.tokens[6]}, never[3] = {0, 0, 0};
    rz_gen_config cs = cfg;
    cs.nstop = 2;
    cs.stop_seqs[0] = never;
    cs.stop_lens[0] = 3;
    cs.stop_seqs[1] = stop;
    cs.stop_lens[1] = 2;
    CHECK_OK(rz_generate(&r, m, NULL, PROMPTS, PLEN, NSEQ, &cs, 11, keys, &err), &err);
    for (int i = 0; i < NSEQ; i++) {
        const int *g = greedy.tokens + i * MAXNEW;
        int end = -1;
        for (int k = 1; k < MAXNEW && end < 0; k++)
            if (g[k - 1] == stop[0] && g[k] == stop[1]) end = k;
        if (end >= 0)
            CHECKF(r.len[i] == end + 1 && r.reason[i] == RZ_GEN_STOPSEQ && !r.truncated[i],
                   "seq %d: len %d reason %d, want a stop sequence ending at %d", i, r.len[i],
                   r.reason[i], end);
        else
            CHECK(r.len[i] == MAXNEW && r.truncated[i]);
    }
    CHECK(r.len[0] <= 7 && r.reason[0] == RZ_GEN_STOPSEQ);

    /* errors */
    rz_gen_config bad = cfg;
    bad.max_new = 19; /* the 6-token prompt + 19 > context 24 */
    CHECK(rz_generate(&r, m, NULL, PROMPTS, PLEN, NSEQ, &bad, 1, keys, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "prompt 2") && strstr(err.msg, "context"), "%s", err.msg);
    bad.max_new = 18; /* fits exactly */
    CHECK_OK(rz_generate(&r, m, NULL, PROMPTS, PLEN, NSEQ, &bad, 1, keys, &err), &err);
    bad.max_new = 0;
    CHECK(rz_generate(&r, m, NULL, PROMPTS, PLEN, NSEQ, &bad, 1, keys, &err) == RZ_ERR_ARG);
    int oov[2] = {1, V};
    const int *oovp[1] = {oov};
    int two = 2, zero = 0;
    CHECK(rz_generate(&r, m, NULL, oovp, &two, 1, &cfg, 1, keys, &err) == RZ_ERR_ARG);
    CHECK(rz_generate(&r, m, NULL, oovp, &zero, 1, &cfg, 1, keys, &err) == RZ_ERR_ARG);
    bad = cfg;
    bad.sampling.top_p = 0.0f;
    CHECK(rz_generate(&r, m, NULL, PROMPTS, PLEN, NSEQ, &bad, 1, keys, &err) == RZ_ERR_ARG);
    bad = cfg;
    bad.nstop = 1;
    bad.stop_lens[0] = 0;
    bad.stop_seqs[0] = stop;
    CHECK(rz_generate(&r, m, NULL, PROMPTS, PLEN, NSEQ, &bad, 1, keys, &err) == RZ_ERR_ARG);
    /* a cache too short for the prompt + max_new */
    rz_kvcache *small = NULL;
    CHECK_OK(rz_kvcache_create(&small, m, NSEQ, 8, &err), &err);
    CHECK(rz_generate(&r, m, small, PROMPTS, PLEN, NSEQ, &cfg, 1, keys, &err) == RZ_ERR_ARG);

    rz_kvcache_free(small);
    rz_kvcache_free(cache);
    rz_gen_result_free(&greedy);
    rz_gen_result_free(&r);
    rz_gen_result_free(&s);
    rz_gen_result_free(&again);
    rz_gen_result_free(&t1);
    rz_gen_result_free(&t2);
    rz_gen_result_free(NULL);
    rz_transformer_free(m);
    return test_done("test_generate");
}

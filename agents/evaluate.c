/* evaluate.c: held-out evaluation of a transformer policy on a verifier environment.
 *
 * For n items of a split, with the prompt wrapped in a template (prefix + prompt + suffix):
 *   pass@1 greedy   one greedy completion per item;
 *   pass@1 sampled  the mean accuracy of k samples per item;
 *   pass@k          the unbiased estimator 1 - C(n-c, k)/C(n, k) with n = k samples, i.e.
 *                   whether any of the k samples is right;
 *   maj@k           the accuracy of the most frequent extracted answer among the k samples
 *                   (ties: the answer seen first); answers compare as trimmed text.
 * Generation is batched and keyed by (seed, item, sample), so the figures do not depend on
 * the thread count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

void rz_eval_config_default(rz_eval_config *c)
{
    memset(c, 0, sizeof *c);
    c->items = 100;
    c->k = 0;
    c->max_new = 64;
    rz_sampling_default(&c->sampling);
    c->split = RZ_SPLIT_TEST;
    c->batch = 64;
}

void rz_eval_result_free(rz_eval_result *r)
{
    if (!r) return;
    if (r->greedy_texts)
        for (int i = 0; i < r->items; i++) free(r->greedy_texts[i]);
    free(r->greedy_texts);
    free(r->greedy_correct);
    memset(r, 0, sizeof *r);
}

/* The trimmed text of the last <answer>...</answer> in s, or an empty span. */
static void last_answer(const char *s, const char **b, size_t *n)
{
    *b = "";
    *n = 0;
    const char *open = NULL;
    for (const char *p = strstr(s, "<answer>"); p; p = strstr(p + 1, "<answer>")) open = p;
    if (!open) return;
    const char *start = open + 8, *end = strstr(start, "</answer>");
    if (!end) return;
    while (start < end && (*start == ' ' || *start == '\n' || *start == '\t')) start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\t')) end--;
    *b = start;
    *n = (size_t)(end - start);
}

/* Generates one completion for each of n prompts; texts[i] malloc'd. */
static int generate_texts(rz_transformer *m, const rz_tokenizer *tok, int *const *rows,
                          const int *lens, int n, const rz_gen_config *g, uint64_t seed,
                          const uint64_t *keys, char **texts, int *ntok, rz_error *err)
{
    rz_gen_result res;
    memset(&res, 0, sizeof res);
    int rc = rz_generate(&res, m, NULL, (const int *const *)rows, lens, n, g, seed, keys, err);
    for (int i = 0; i < n && rc == RZ_OK; i++) {
        size_t len;
        rc = rz_tokenizer_decode(tok, res.tokens + (size_t)i * res.max_new, res.len[i], &texts[i],
                                 &len, err);
        ntok[i] = res.len[i];
    }
    rz_gen_result_free(&res);
    return rc;
}

int rz_evaluate(rz_eval_result *out, rz_transformer *m, const rz_tokenizer *tok, const rz_env *env,
                const rz_eval_config *cfg, rz_error *err)
{
    memset(out, 0, sizeof *out);
    if (cfg->items <= 0 || cfg->k < 0 || cfg->batch <= 0)
        return rz_error_set(err, RZ_ERR_ARG, "evaluate: items %d, k %d and batch %d must be > 0",
                            cfg->items, cfg->k, cfg->batch);
    if (cfg->split == RZ_SPLIT_TEST && cfg->first + cfg->items > rz_env_test_size(env))
        return rz_error_set(err, RZ_ERR_ARG, "evaluate: items %lld..%lld are past the test split's %lld",
                            (long long)cfg->first, (long long)(cfg->first + cfg->items - 1),
                            (long long)rz_env_test_size(env));
    int rc = rz_sampling_check(&cfg->sampling, err);
    if (rc) return rc;
    const int ctx = rz_transformer_cfg(m)->context;
    const int W = ctx; /* a prompt row never exceeds the context */
    const int B = cfg->batch, K = cfg->k, per = 1 + K; /* sequences per item */
    const char *prefix = cfg->prefix ? cfg->prefix : "", *suffix = cfg->suffix ? cfg->suffix : "";

    out->items = cfg->items;
    out->k = K;
    out->greedy_texts = calloc((size_t)cfg->items, sizeof *out->greedy_texts);
    out->greedy_correct = calloc((size_t)cfg->items, sizeof *out->greedy_correct);
    /* one chunk of items at a time: prompts, then 1 + K completions each */
    int chunk = B / per > 0 ? B / per : 1;
    int nseq = chunk * per;
    int *rows = malloc((size_t)nseq * W * sizeof *rows), *lens = malloc((size_t)nseq * sizeof *lens);
    int **rowp = malloc((size_t)nseq * sizeof *rowp), *ntok = malloc((size_t)nseq * sizeof *ntok);
    uint64_t *keys = malloc((size_t)nseq * 3 * sizeof *keys);
    char **texts = calloc((size_t)nseq, sizeof *texts);
    rz_item *items = calloc((size_t)chunk, sizeof *items);
    double *acc = malloc((size_t)K * sizeof *acc + 1);
    if (!out->greedy_texts || !out->greedy_correct || !rows || !lens || !rowp || !ntok || !keys ||
        !texts || !items || !acc) {
        rc = rz_error_set(err, RZ_ERR_NOMEM, "evaluate: cannot allocate buffers for %d sequences", nseq);
        goto done;
    }
    rz_gen_config greedy, sampled;
    rz_gen_config_default(&greedy);
    greedy.max_new = cfg->max_new;
    greedy.sampling.temperature = 0;
    sampled = greedy;
    sampled.sampling = cfg->sampling;
    long tokens = 0, seqs = 0;
    double sum_greedy = 0, sum_sampled = 0, sum_passk = 0, sum_majk = 0, sum_format = 0, sum_lang = 0;

    for (int first = 0; first < cfg->items && rc == RZ_OK; first += chunk) {
        int m_items = cfg->items - first < chunk ? cfg->items - first : chunk;
        if (m_items < 1) break; /* cannot happen; tells the compiler the sizes below are sane */
        for (int j = 0; j < m_items && rc == RZ_OK; j++) {
            rc = rz_env_item(env, cfg->seed, cfg->split, cfg->first + first + j, &items[j], err);
            if (rc) break;
            size_t need = strlen(prefix) + strlen(items[j].prompt) + strlen(suffix);
            char *text = malloc(need + 1);
            if (!text) {
                rc = rz_error_set(err, RZ_ERR_NOMEM, "evaluate: prompt");
                break;
            }
            snprintf(text, need + 1, "%s%s%s", prefix, items[j].prompt, suffix);
            int *row = rows + (size_t)j * per * W, n = 0;
            row[0] = RZ_TOK_BOS;
            rc = rz_tokenizer_encode(tok, text, need, row + 1, W - 1 - cfg->max_new, &n, err);
            free(text);
            if (rc) break;
            for (int s = 0; s < per; s++) {
                int q = j * per + s;
                if (s) memcpy(rows + (size_t)q * W, row, (size_t)(n + 1) * sizeof *row);
                rowp[q] = rows + (size_t)q * W;
                lens[q] = n + 1;
                keys[3 * q + 0] = 0;
                keys[3 * q + 1] = (uint64_t)(cfg->first + first + j);
                keys[3 * q + 2] = (uint64_t)s;
            }
        }
        if (rc) break;
        /* greedy completions (sample index 0), then the sampled ones, each one batched call */
        int *grow = malloc((size_t)m_items * sizeof *grow);
        int **gp = malloc((size_t)m_items * sizeof *gp);
        int *glen = malloc((size_t)m_items * sizeof *glen);
        uint64_t *gkeys = malloc((size_t)m_items * 3 * sizeof *gkeys);
        char **gtexts = calloc((size_t)m_items, sizeof *gtexts);
        if (!grow || !gp || !glen || !gkeys || !gtexts) rc = rz_error_set(err, RZ_ERR_NOMEM, "evaluate");
        for (int j = 0; j < m_items && !rc; j++) {
            gp[j] = rowp[j * per];
            glen[j] = lens[j * per];
            memcpy(gkeys + 3 * j, keys + 3 * (j * per), 3 * sizeof *gkeys);
        }
        if (!rc) rc = generate_texts(m, tok, gp, glen, m_items, &greedy, cfg->seed, gkeys, gtexts, grow, err);
        int ns = m_items * K;
        if (!rc && K > 0) {
            int q = 0;
            for (int j = 0; j < m_items; j++)
                for (int s = 1; s < per; s++, q++) {
                    rowp[q] = rows + (size_t)(j * per + s) * W;
                    lens[q] = lens[j * per + s];
                    keys[3 * q + 0] = 0;
                    keys[3 * q + 1] = (uint64_t)(cfg->first + first + j);
                    keys[3 * q + 2] = (uint64_t)s;
                }
            rc = generate_texts(m, tok, rowp, lens, ns, &sampled, cfg->seed, keys, texts, ntok, err);
        }
        for (int j = 0; j < m_items && !rc; j++) {
            rz_rewards r;
            rz_env_grade(env, &items[j], gtexts[j], strlen(gtexts[j]), &r);
            double a = rz_rewards_get(&r, "accuracy");
            sum_greedy += a;
            sum_format += rz_rewards_get(&r, "format");
            sum_lang += rz_rewards_get(&r, "language");
            tokens += grow[j];
            seqs++;
            out->greedy_correct[first + j] = a >= 1.0;
            out->greedy_texts[first + j] = gtexts[j];
            gtexts[j] = NULL;
            if (K == 0) continue;
            int any = 0, best = -1, best_votes = 0;
            for (int s = 0; s < K; s++) {
                const char *text = texts[j * K + s];
                rz_env_grade(env, &items[j], text, strlen(text), &r);
                acc[s] = rz_rewards_get(&r, "accuracy");
                sum_sampled += acc[s];
                any |= acc[s] >= 1.0;
                tokens += ntok[j * K + s];
                seqs++;
            }
            for (int s = 0; s < K; s++) {
                const char *a1, *a2;
                size_t n1, n2;
                last_answer(texts[j * K + s], &a1, &n1);
                if (n1 == 0) continue;
                int votes = 0;
                for (int u = 0; u < K; u++) {
                    last_answer(texts[j * K + u], &a2, &n2);
                    votes += n2 == n1 && memcmp(a1, a2, n1) == 0;
                }
                if (votes > best_votes) best_votes = votes, best = s;
            }
            sum_passk += any;
            sum_majk += best >= 0 ? acc[best] : 0.0;
        }
        for (int q = 0; q < ns; q++) free(texts[q]), texts[q] = NULL;
        for (int j = 0; j < m_items; j++) {
            if (gtexts) free(gtexts[j]);
            rz_item_free(&items[j]);
        }
        free(grow);
        free(gp);
        free(glen);
        free(gkeys);
        free(gtexts);
    }
    if (rc == RZ_OK) {
        double n = cfg->items;
        out->pass1_greedy = sum_greedy / n;
        out->format = sum_format / n;
        out->language = sum_lang / n;
        out->pass1_sampled = K ? sum_sampled / (n * K) : out->pass1_greedy;
        out->pass_k = K ? sum_passk / n : out->pass1_greedy;
        out->maj_k = K ? sum_majk / n : out->pass1_greedy;
        out->len_mean = seqs ? (double)tokens / (double)seqs : 0;
    }
done:
    free(rows);
    free(lens);
    free(rowp);
    free(ntok);
    free(keys);
    free(texts);
    free(items);
    free(acc);
    if (rc) rz_eval_result_free(out);
    return rc;
}

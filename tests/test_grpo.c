/* test_grpo.c: the GRPO trainer. Ratio 1 and an idle clip at mu = 1, the reference model
 * (absent at beta = 0, reset to the policy every K updates), dynamic sampling and
 * truncation masking, thread-count invariance, errors, and learning: a randomly initialised
 * tiny transformer learns a verifiable toy task from rewards alone. */
#include <omp.h>

#include "test.h"

/* The toy task: the prompt is <bos> w = with w 2..3 letters from "abc"; the answer is w
 * reversed followed by <eos>. Reward 1 for exactly that, else the number of
 * right positions over max(len, answer length) (partial credit, so that a random policy gets
 * signal, and <eos> at the right place counts). Trained as below (lr 1e-3, G 8, 8 prompts a
 * step), fresh models of seeds 1..6 reach a 4-step mean reward of 0.9 in 319..408 steps. */
static const char *ALPHA = "abc=";
enum { MAX_W = 3, MAX_NEW = 5 };

typedef struct {
    int tok[8], len;    /* the prompt */
    int want[8], nwant; /* the answer, <eos> included */
} item;

static void make_item(item *it, rz_rng *rng)
{
    int n = 2 + (int)rz_rng_below(rng, MAX_W - 1);
    it->len = 0;
    it->tok[it->len++] = RZ_TOK_BOS;
    int w[8];
    for (int i = 0; i < n; i++) {
        w[i] = 3 + (int)rz_rng_below(rng, 3); /* ids 3..5: a b c */
        it->tok[it->len++] = w[i];
    }
    it->tok[it->len++] = 6; /* '=' */
    it->nwant = 0;
    for (int i = n - 1; i >= 0; i--) it->want[it->nwant++] = w[i];
    it->want[it->nwant++] = RZ_TOK_EOS;
}

static float grade(const item *it, const int *comp, int len)
{
    if (len == it->nwant && !memcmp(comp, it->want, (size_t)len * sizeof *comp)) return 1.0f;
    int right = 0;
    for (int k = 0; k < it->nwant && k < len; k++) right += comp[k] == it->want[k];
    return (float)right / (float)(len > it->nwant ? len : it->nwant);
}

static rz_transformer *tiny_model(int vocab, uint64_t seed)
{
    rz_transformer_config c;
    rz_transformer_config_default(&c);
    c.vocab = vocab;
    c.dim = 32;
    c.layers = 2;
    c.heads = 2;
    c.context = 12;
    rz_error err = {0};
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &c, seed, &err) == RZ_OK);
    return m;
}

static void base_config(rz_grpo_config *gc)
{
    rz_grpo_config_default(gc);
    gc->group = 8;
    gc->gen.max_new = MAX_NEW;
    gc->opt.lr = 1e-3f;
    gc->opt.weight_decay = 0.0f;
    gc->opt.grad_clip = 1.0f;
    gc->opt.warmup = 0;
    gc->opt.total_steps = 0;
    gc->seed = 42;
}

/* One step: P prompts from (seed, step), rollout, grade, update. Returns the mean reward. */
static double run_step(rz_grpo *t, int P, long step, rz_grpo_metrics *mt, rz_error *err, int *rc)
{
    item items[64];
    const int *prompts[64];
    int plen[64];
    rz_rng rng;
    rz_rng_stream(&rng, 7, (uint64_t)step, 0, 0);
    for (int p = 0; p < P; p++) {
        make_item(&items[p], &rng);
        prompts[p] = items[p].tok;
        plen[p] = items[p].len;
    }
    *rc = rz_grpo_rollout(t, prompts, plen, P, step, NULL, err);
    if (*rc) return 0;
    int n = rz_grpo_pending(t);
    float rewards[64 * 16];
    for (int i = 0; i < n; i++) {
        int len, tr;
        const int *comp = rz_grpo_completion(t, i, &len, &tr);
        rewards[i] = grade(&items[i / 8], comp, len);
    }
    *rc = rz_grpo_update(t, rewards, mt, err);
    return mt->reward_mean;
}

static void test_learning(void)
{
    rz_error err = {0};
    rz_tokenizer *tok = NULL;
    REQUIRE(rz_tokenizer_chars(&tok, ALPHA, NULL, 0, &err) == RZ_OK);
    REQUIRE(rz_tokenizer_size(tok) == 7);
    rz_transformer *m = tiny_model(rz_tokenizer_size(tok), 1);
    rz_grpo_config gc;
    base_config(&gc);
    rz_grpo *t = NULL;
    CHECK_OK(rz_grpo_create(&t, m, tok, &gc, &err), &err);
    REQUIRE(t);
    rz_grpo_metrics mt;
    double first = -1, last = 0, best = 0;
    int rc = 0, steps = 0, hit = -1;
    const int P = 8, MAX_STEPS = 600;
    for (long s = 0; s < MAX_STEPS; s++) {
        double r = run_step(t, P, s, &mt, &err, &rc);
        CHECK_OK(rc, &err);
        if (rc) break;
        if (first < 0) first = r;
        last = r;
        steps = (int)s + 1;
        /* a running view over 4 steps (32 prompts, 256 completions) */
        static double win[4];
        win[s % 4] = r;
        if (s >= 3) {
            double avg = (win[0] + win[1] + win[2] + win[3]) / 4;
            if (avg > best) best = avg;
            if (avg >= 0.9 && hit < 0) {
                hit = (int)s;
                break;
            }
        }
        if (s % 25 == 0)
            printf("step %3ld reward %.3f len %.2f entropy %.3f loss %+.4f gn %.3f zero-std %.2f\n", s, r,
                   mt.len_mean, mt.entropy, mt.loss, mt.grad_norm, mt.frac_reward_zero_std);
    }
    printf("learning: first step reward %.3f, last %.3f, best 4-step mean %.3f after %d steps\n",
           first, last, best, steps);
    CHECKF(first < 0.35, "a random policy should score low, got %.3f", first);
    CHECKF(hit >= 0, "mean reward over 4 steps never reached 0.9 in %d steps (best %.3f)", MAX_STEPS, best);
    /* the completion text is the decoded answer, <eos> dropped */
    item it;
    rz_rng rng;
    rz_rng_seed(&rng, 3);
    make_item(&it, &rng);
    const int *pp[1] = {it.tok};
    CHECK_OK(rz_grpo_rollout(t, pp, &it.len, 1, 10000, NULL, &err), &err);
    const char *txt = rz_grpo_completion_text(t, 0);
    CHECK(txt != NULL);
    printf("sample: prompt of %d tokens -> \"%s\"\n", it.len, txt ? txt : "(null)");
    rz_grpo_free(t);
    rz_transformer_free(m);
    rz_tokenizer_free(tok);
}

static int params_equal(rz_transformer *a, rz_transformer *b)
{
    rz_params *pa = rz_transformer_params(a), *pb = rz_transformer_params(b);
    return pa->numel == pb->numel && !memcmp(pa->param, pb->param, pa->numel * sizeof(float));
}

static void test_ratio_and_reference(void)
{
    rz_error err = {0};
    int rc;
    rz_grpo_metrics mt;

    /* mu = 1: ratio exactly 1, nothing clipped, even with several minibatches */
    rz_transformer *m = tiny_model(7, 2);
    rz_grpo_config gc;
    base_config(&gc);
    gc.minibatches = 2;
    gc.eps_low = gc.eps_high = 0.01f;
    rz_grpo *t = NULL;
    CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
    CHECK(rz_grpo_reference(t) == NULL);
    for (long s = 0; s < 3; s++) {
        run_step(t, 4, s, &mt, &err, &rc);
        CHECK_OK(rc, &err);
        CHECKF(mt.ratio_mean == 1.0 && mt.ratio_min == 1.0 && mt.ratio_max == 1.0,
               "mu = 1: ratio mean %g min %g max %g", mt.ratio_mean, mt.ratio_min, mt.ratio_max);
        CHECK(mt.clip_frac == 0.0 && mt.clip_low == 0.0 && mt.clip_high == 0.0);
        CHECK(mt.updates == 2 && mt.skipped == 0);
        CHECK(mt.kl == 0.0);
        CHECK(mt.completions == 32 && mt.groups == 4);
        CHECK(mt.len_min >= 1 && mt.len_max <= MAX_NEW && mt.len_mean >= mt.len_min);
        CHECK(mt.entropy > 0.0 && mt.gen_tokens > 0);
    }
    CHECK(rz_grpo_steps(t) == 3);
    rz_grpo_free(t);

    /* mu = 2 with a tight clip: the second pass moves the ratio and clips */
    gc.mu = 2;
    gc.minibatches = 1;
    gc.opt.lr = 1e-2f;
    CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
    run_step(t, 4, 0, &mt, &err, &rc);
    CHECK_OK(rc, &err);
    CHECKF(mt.ratio_min < 1.0 || mt.ratio_max > 1.0, "mu = 2: ratio stayed 1");
    CHECKF(mt.clip_frac > 0.0, "mu = 2, eps 0.01, lr 1e-2: nothing clipped");
    CHECK(mt.updates == 2);
    rz_grpo_free(t);

    /* beta > 0 and ref_reset = 1: the reference follows the policy after every update, so
     * the next step's KL is exactly 0 */
    base_config(&gc);
    gc.beta = 0.1f;
    gc.ref_reset = 1;
    CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
    REQUIRE(t && rz_grpo_reference(t));
    CHECK(params_equal(m, rz_grpo_reference(t)));
    for (long s = 0; s < 3; s++) {
        run_step(t, 4, s, &mt, &err, &rc);
        CHECK_OK(rc, &err);
        CHECKF(mt.kl == 0.0, "ref reset every update: KL %g", mt.kl);
        CHECK(params_equal(m, rz_grpo_reference(t)));
    }
    rz_grpo_free(t);

    /* beta > 0, ref_reset = 2: after the first update the policy has moved, so KL > 0 at
     * the second step; after the second the reference is the policy again */
    gc.ref_reset = 2;
    gc.opt.lr = 1e-2f;
    CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
    run_step(t, 4, 0, &mt, &err, &rc);
    CHECK(mt.kl == 0.0);
    CHECK(!params_equal(m, rz_grpo_reference(t)));
    run_step(t, 4, 1, &mt, &err, &rc);
    CHECKF(mt.kl > 0.0, "KL to a stale reference: %g", mt.kl);
    CHECK(params_equal(m, rz_grpo_reference(t)));
    rz_grpo_free(t);
    rz_transformer_free(m);
}

static void test_filters_and_errors(void)
{
    rz_error err = {0};
    rz_transformer *m = tiny_model(7, 3);
    rz_grpo_config gc;
    base_config(&gc);
    gc.dynamic_sampling = 1;
    rz_grpo *t = NULL;
    CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
    rz_grpo_metrics mt;
    float rewards[64];
    CHECK(rz_grpo_update(t, rewards, &mt, &err) == RZ_ERR_STATE);

    /* two rollouts append: 2 + 1 groups, keys continue so the new groups differ */
    int p0[] = {1, 3, 4, 6}, p1[] = {1, 5, 6};
    const int *pp[2] = {p0, p1};
    int pl[2] = {4, 3}, first = -1;
    CHECK_OK(rz_grpo_rollout(t, pp, pl, 2, 0, &first, &err), &err);
    CHECK(first == 0);
    CHECK_OK(rz_grpo_rollout(t, pp, pl, 1, 0, &first, &err), &err);
    CHECK(first == 16 && rz_grpo_pending(t) == 24);
    int l0, l2, tr;
    const int *c0 = rz_grpo_completion(t, 0, &l0, &tr), *c2 = rz_grpo_completion(t, 16, &l2, &tr);
    CHECK(c0 && c2 && l0 >= 1 && l2 >= 1);
    CHECK(rz_grpo_completion(t, 24, NULL, NULL) == NULL);
    CHECK(rz_grpo_completion_text(t, 0) == NULL); /* no tokenizer */
    /* group 1 informative, groups 0 and 2 constant */
    for (int i = 0; i < 24; i++) rewards[i] = 0.5f;
    rewards[9] = 1.0f;
    uint8_t keep[3];
    CHECK(rz_grpo_informative(t, rewards, keep) == 1);
    CHECK(!keep[0] && keep[1] && !keep[2]);
    rz_params *p = rz_transformer_params(m);
    float *before = malloc(p->numel * sizeof *before);
    REQUIRE(before);
    memcpy(before, p->param, p->numel * sizeof *before);
    CHECK_OK(rz_grpo_update(t, rewards, &mt, &err), &err);
    CHECK(mt.groups == 3 && mt.groups_kept == 1 && mt.updates == 1);
    CHECKF(fabs(mt.frac_reward_zero_std - 2.0 / 3.0) < 1e-12, "%g", mt.frac_reward_zero_std);
    CHECK(rz_grpo_pending(t) == 0);
    CHECK(memcmp(before, p->param, p->numel * sizeof *before) != 0);

    /* nothing informative: no optimizer step, params untouched */
    memcpy(before, p->param, p->numel * sizeof *before);
    CHECK_OK(rz_grpo_rollout(t, pp, pl, 2, 1, NULL, &err), &err);
    for (int i = 0; i < 16; i++) rewards[i] = (float)(i / 8);
    CHECK_OK(rz_grpo_update(t, rewards, &mt, &err), &err);
    CHECK(mt.groups_kept == 0 && mt.updates == 0 && mt.frac_reward_zero_std == 1.0);
    CHECK(!memcmp(before, p->param, p->numel * sizeof *before));

    /* errors: a prompt that leaves no room for max_new, NaN rewards, bad configs */
    int longp[12] = {1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
    const int *lp[1] = {longp};
    int ll = 8; /* 8 + 5 > context 12 */
    CHECK(rz_grpo_rollout(t, lp, &ll, 1, 0, NULL, &err) == RZ_ERR_ARG);
    ll = 7;
    CHECK_OK(rz_grpo_rollout(t, lp, &ll, 1, 0, NULL, &err), &err);
    rewards[0] = NAN;
    CHECK(rz_grpo_update(t, rewards, &mt, &err) == RZ_ERR_NONFINITE);
    CHECK(rz_grpo_rollout_text(t, NULL, 1, 0, NULL, &err) == RZ_ERR_STATE);
    rz_grpo_free(t);

    rz_grpo_config bad = gc;
    bad.group = 0;
    CHECK(rz_grpo_create(&t, m, NULL, &bad, &err) == RZ_ERR_ARG && t == NULL);
    bad = gc;
    bad.estimator = RZ_EST_RLOO;
    bad.group = 1;
    CHECK(rz_grpo_create(&t, m, NULL, &bad, &err) == RZ_ERR_ARG);
    bad = gc;
    bad.gen.max_new = 12;
    CHECK(rz_grpo_create(&t, m, NULL, &bad, &err) == RZ_ERR_ARG);
    bad = gc;
    bad.mu = 0;
    CHECK(rz_grpo_create(&t, m, NULL, &bad, &err) == RZ_ERR_ARG);

    /* mask_truncated with max_new 1 and no EOS: everything truncated, nothing trained */
    gc.dynamic_sampling = 0;
    gc.mask_truncated = 1;
    gc.gen.max_new = 1;
    gc.gen.eos = -1;
    CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
    memcpy(before, p->param, p->numel * sizeof *before);
    CHECK_OK(rz_grpo_rollout(t, pp, pl, 2, 0, NULL, &err), &err);
    for (int i = 0; i < 16; i++) rewards[i] = (float)(i % 3);
    CHECK_OK(rz_grpo_update(t, rewards, &mt, &err), &err);
    CHECK(mt.frac_truncated == 1.0 && mt.updates == 0);
    CHECK(!memcmp(before, p->param, p->numel * sizeof *before));
    rz_grpo_free(t);

    /* the overlong penalty shapes the rewards: equal rewards, different lengths -> signal */
    gc.mask_truncated = 0;
    gc.gen.max_new = MAX_NEW;
    gc.overlong_max = 3;
    gc.overlong_cache = 2;
    CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
    CHECK_OK(rz_grpo_rollout(t, pp, pl, 2, 0, NULL, &err), &err);
    double want = 0;
    for (int i = 0; i < 16; i++) {
        int len;
        rz_grpo_completion(t, i, &len, NULL);
        rewards[i] = 1.0f;
        want += 1.0 + rz_overlong_penalty(len, 3, 2);
    }
    CHECK_OK(rz_grpo_update(t, rewards, &mt, &err), &err);
    CHECK(mt.reward_mean == 1.0 && mt.reward_std == 0.0);
    CHECKF(fabs(mt.shaped_mean - want / 16) < 1e-9, "shaped %g want %g", mt.shaped_mean, want / 16);
    rz_grpo_free(t);
    rz_grpo_free(NULL);
    free(before);
    rz_transformer_free(m);
}

/* Two GRPO steps with 1 and 2 threads give the same parameters, bit for bit. */
static void test_threads(void)
{
    rz_error err = {0};
    float *out[2];
    size_t numel = 0;
    for (int run = 0; run < 2; run++) {
        omp_set_num_threads(run + 1);
        rz_transformer *m = tiny_model(7, 4);
        rz_grpo_config gc;
        base_config(&gc);
        gc.beta = 0.05f;
        gc.mu = 2;
        gc.minibatches = 2;
        rz_grpo *t = NULL;
        CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
        rz_grpo_metrics mt;
        int rc;
        for (long s = 0; s < 2; s++) {
            run_step(t, 4, s, &mt, &err, &rc);
            CHECK_OK(rc, &err);
        }
        rz_params *p = rz_transformer_params(m);
        numel = p->numel;
        out[run] = malloc(numel * sizeof(float));
        REQUIRE(out[run]);
        memcpy(out[run], p->param, numel * sizeof(float));
        rz_grpo_free(t);
        rz_transformer_free(m);
    }
    CHECKF(!memcmp(out[0], out[1], numel * sizeof(float)), "1 vs 2 threads: parameters differ");
    free(out[0]);
    free(out[1]);
}

int main(void)
{
    double c0 = omp_get_wtime();
    test_ratio_and_reference();
    double c1 = omp_get_wtime();
    test_filters_and_errors();
    double c2 = omp_get_wtime();
    test_threads();
    double c3 = omp_get_wtime();
    /* Results do not depend on the thread count (test_threads); at this size threads only
     * add barrier waits, which a loaded machine turns into seconds. */
    omp_set_num_threads(1);
    test_learning();
    printf("seconds: ratio/ref %.2f, filters %.2f, threads %.2f, learning %.2f\n", c1 - c0, c2 - c1,
           c3 - c2, omp_get_wtime() - c3);
    return test_done("test_grpo");
}

/* test_sampling.c: drawing a token: frequencies against softmax(logits / T) (chi-square),
 * the exact supports of top-k, top-p and min-p, greedy, masking, logp, bad knobs. */
#include "test.h"

/* The chi-square quantile at upper tail 1e-4 (Wilson-Hilferty; within ~1% for df >= 3). */
static double chi2_crit(int df)
{
    const double z = 3.719; /* standard normal upper 1e-4 */
    double a = 2.0 / (9.0 * df);
    double c = 1.0 - a + z * sqrt(a);
    return df * c * c * c;
}

/* Pearson's statistic of counts against probabilities over n bins; bins expected to hold
 * fewer than 5 draws are pooled into one. *df gets the degrees of freedom. */
static double chi2_stat(const long *count, const double *prob, int n, long N, int *df)
{
    double chi = 0, pool_e = 0, pool_c = 0;
    int bins = 0;
    for (int i = 0; i < n; i++) {
        double e = prob[i] * N;
        if (e < 5) {
            pool_e += e;
            pool_c += count[i];
            continue;
        }
        chi += (count[i] - e) * (count[i] - e) / e;
        bins++;
    }
    if (pool_e >= 5) {
        chi += (pool_c - pool_e) * (pool_c - pool_e) / pool_e;
        bins++;
    } else if (pool_c > 3 * pool_e + 10) {
        chi += 1e9; /* the pooled rare bins are grossly over-drawn */
    }
    *df = bins - 1;
    return chi;
}

/* log softmax(logits / T) in double (T = 0 means T = 1); -inf for masked entries. */
static void log_softmax(double *out, const float *logits, int V, double T)
{
    if (T == 0) T = 1;
    double mx = -INFINITY, z = 0;
    for (int i = 0; i < V; i++) mx = fmax(mx, logits[i] / T);
    for (int i = 0; i < V; i++) z += exp(logits[i] / T - mx);
    for (int i = 0; i < V; i++) out[i] = logits[i] / T - mx - log(z);
}

/* Draws N tokens; counts (V) gets the histogram; returns the worst |logp - reference|, or
 * +inf if a draw failed. */
static double draw_many(long *count, const float *logits, int V, const rz_sampling *s, long N,
                        uint64_t seed)
{
    rz_rng rng;
    rz_rng_seed(&rng, seed);
    float *scratch = malloc(sizeof(float) * 2 * (size_t)V);
    double *ref = malloc(sizeof(double) * (size_t)V);
    REQUIRE(scratch && ref);
    log_softmax(ref, logits, V, s->temperature);
    memset(count, 0, sizeof(long) * (size_t)V);
    double worst = 0;
    for (long n = 0; n < N; n++) {
        float lp = NAN;
        int tok = rz_sample_token(logits, V, s, &rng, scratch, &lp);
        if (tok < 0 || tok >= V) {
            worst = INFINITY;
            break;
        }
        count[tok]++;
        worst = fmax(worst, fabs(lp - ref[tok]));
    }
    free(scratch);
    free(ref);
    return worst;
}

/* Checks that draws hit exactly the support (each member drawn, nothing else drawn) and
 * follow prob renormalised over it. */
static void check_support(const char *what, const float *logits, int V, const rz_sampling *s,
                          const int *support, int ns, long N, uint64_t seed)
{
    long *count = malloc(sizeof(long) * (size_t)V);
    double *ref = malloc(sizeof(double) * (size_t)V), *prob = malloc(sizeof(double) * (size_t)ns);
    long *sc = malloc(sizeof(long) * (size_t)ns);
    char *in = calloc((size_t)V, 1);
    REQUIRE(count && ref && prob && sc && in);
    double lerr = draw_many(count, logits, V, s, N, seed);
    CHECKF(lerr < 1e-5, "%s: logp off by %g", what, lerr);
    log_softmax(ref, logits, V, s->temperature);
    double z = 0;
    for (int j = 0; j < ns; j++) z += exp(ref[support[j]]), in[support[j]] = 1;
    long outside = 0;
    int missing = -1;
    for (int i = 0; i < V; i++)
        if (!in[i]) outside += count[i];
    for (int j = 0; j < ns; j++) {
        sc[j] = count[support[j]];
        prob[j] = exp(ref[support[j]]) / z;
        if (sc[j] == 0) missing = support[j];
    }
    CHECKF(outside == 0, "%s: %ld draws outside the support", what, outside);
    CHECKF(missing < 0, "%s: token %d of the support never drawn", what, missing);
    if (ns > 1) {
        int df;
        double chi = chi2_stat(sc, prob, ns, N, &df);
        CHECKF(df < 1 || chi < chi2_crit(df), "%s: chi2 %g >= %g (df %d)", what, chi,
               chi2_crit(df), df);
    }
    free(count), free(ref), free(prob), free(sc), free(in);
}

static float logit_of(double p) { return (float)log(p); }

int main(void)
{
    rz_error err = {0};
    rz_sampling s;
    rz_sampling_default(&s);
    CHECK(s.temperature == 1.0f && s.top_k == 0 && s.top_p == 1.0f && s.min_p == 0.0f);
    CHECK_OK(rz_sampling_check(&s, &err), &err);

    /* --- frequencies follow softmax(logits / T): chi-square at p ~ 1e-4 */
    const float base[10] = {0.0f, -0.5f, 1.0f, 0.3f, -1.2f, 0.8f, -0.2f, 0.5f, -0.9f, 0.1f};
    const float temps[3] = {0.5f, 1.0f, 2.0f};
    long count[5000];
    for (int k = 0; k < 3; k++) {
        s.temperature = temps[k];
        const long N = 200000;
        double lerr = draw_many(count, base, 10, &s, N, 1000 + k);
        double ref[10], prob[10];
        log_softmax(ref, base, 10, temps[k]);
        for (int i = 0; i < 10; i++) prob[i] = exp(ref[i]);
        int df;
        double chi = chi2_stat(count, prob, 10, N, &df);
        CHECKF(df == 9 && chi < chi2_crit(9), "T=%g: chi2 %g (df %d), critical %g", temps[k], chi,
               df, chi2_crit(9));
        CHECKF(lerr < 1e-5, "T=%g: logp off by %g", temps[k], lerr);
        printf("T=%g: chi2 %.2f (df 9, critical %.2f), max |logp error| %.2g\n", temps[k], chi,
               chi2_crit(9), lerr);
    }
    /* the statistic can fail: softmax at the wrong temperature is rejected */
    {
        s.temperature = 1.0f;
        draw_many(count, base, 10, &s, 200000, 7);
        double ref[10], prob[10];
        log_softmax(ref, base, 10, 1.1);
        for (int i = 0; i < 10; i++) prob[i] = exp(ref[i]);
        int df;
        CHECK(chi2_stat(count, prob, 10, 200000, &df) > chi2_crit(9));
    }

    /* --- one uniform per draw, and the same seed gives the same tokens */
    {
        rz_rng a, b;
        rz_rng_seed(&a, 5);
        rz_rng_seed(&b, 5);
        float scratch[20];
        rz_sampling_default(&s);
        s.top_k = 3, s.top_p = 0.9f;
        int tok = rz_sample_token(base, 10, &s, &a, scratch, NULL);
        rz_rng_uniform(&b);
        CHECK(tok >= 0 && memcmp(&a, &b, sizeof a) == 0);
        rz_sampling_default(&s);
        int same = 1;
        rz_rng_seed(&a, 6);
        rz_rng_seed(&b, 6);
        for (int i = 0; i < 1000; i++)
            same &= rz_sample_token(base, 10, &s, &a, scratch, NULL) ==
                    rz_sample_token(base, 10, &s, &b, scratch, NULL);
        CHECK(same);
    }

    /* --- top-k: exactly the k most probable, ties broken towards the lower id */
    {
        rz_sampling_default(&s);
        s.top_k = 3;
        const int sup[3] = {2, 5, 7}; /* logits 1.0, 0.8, 0.5 */
        check_support("top_k=3", base, 10, &s, sup, 3, 100000, 21);
        s.temperature = 0.7f;
        check_support("top_k=3 T=0.7", base, 10, &s, sup, 3, 100000, 22);
        const float tied[6] = {1.0f, 2.0f, 2.0f, 2.0f, 0.0f, 2.0f};
        s.temperature = 1.0f;
        s.top_k = 2;
        const int sup2[2] = {1, 2};
        check_support("top_k=2 with ties", tied, 6, &s, sup2, 2, 50000, 23);
        s.top_k = 10; /* k >= V: no filtering */
        const int all[6] = {0, 1, 2, 3, 4, 5};
        check_support("top_k=10 of 6", tied, 6, &s, all, 6, 50000, 24);
    }

    /* --- top-p: the smallest most-probable set with mass >= top_p, computed on the
     * renormalised top-k distribution when top-k is on */
    const double pr[5] = {0.05, 0.4, 0.3, 0.15, 0.1};
    float lp5[5];
    for (int i = 0; i < 5; i++) lp5[i] = logit_of(pr[i]);
    {
        rz_sampling_default(&s);
        s.top_p = 0.3f; /* 0.4 >= 0.3 */
        const int a[1] = {1};
        check_support("top_p=0.3", lp5, 5, &s, a, 1, 20000, 31);
        s.top_p = 0.65f; /* 0.4, 0.7 */
        const int b[2] = {1, 2};
        check_support("top_p=0.65", lp5, 5, &s, b, 2, 100000, 32);
        s.top_p = 0.8f; /* 0.4, 0.7, 0.85 */
        const int c[3] = {1, 2, 3};
        check_support("top_p=0.8", lp5, 5, &s, c, 3, 100000, 33);
        s.top_p = 0.97f; /* 0.95 < 0.97: everything */
        const int d[5] = {0, 1, 2, 3, 4};
        check_support("top_p=0.97", lp5, 5, &s, d, 5, 100000, 34);
        /* top-k 3 then top-p 0.8: over {0.4, 0.3, 0.15} / 0.85 the mass reaches 0.82 at two
         * tokens, where the unfiltered distribution would need three */
        s.top_k = 3;
        s.top_p = 0.8f;
        check_support("top_k=3 top_p=0.8", lp5, 5, &s, b, 2, 100000, 35);
    }

    /* --- min-p: drop p < min_p * p_max (alone: the scan path; with top-k/top-p: the heap) */
    {
        rz_sampling_default(&s);
        s.min_p = 0.3f; /* threshold 0.12: keeps 0.4, 0.3, 0.15 */
        const int a[3] = {1, 2, 3};
        check_support("min_p=0.3", lp5, 5, &s, a, 3, 100000, 41);
        s.min_p = 0.5f; /* threshold 0.2 */
        const int b[2] = {1, 2};
        check_support("min_p=0.5", lp5, 5, &s, b, 2, 100000, 42);
        s.min_p = 0.3f;
        s.top_p = 0.97f; /* top-p keeps all five, min-p three */
        check_support("top_p=0.97 min_p=0.3", lp5, 5, &s, a, 3, 100000, 43);
        s.top_p = 1.0f;
        s.top_k = 4; /* top-k keeps four, min-p three */
        check_support("top_k=4 min_p=0.3", lp5, 5, &s, a, 3, 100000, 44);
        s.min_p = 0.99f;
        const int c[1] = {1};
        check_support("top_k=4 min_p=0.99", lp5, 5, &s, c, 1, 1000, 45);
    }

    /* --- greedy: the argmax, the lowest id on ties, no randomness used */
    {
        rz_sampling_default(&s);
        s.temperature = 0.0f;
        s.top_k = 1000; /* filters are irrelevant to greedy */
        rz_rng r, r0;
        rz_rng_seed(&r, 3);
        r0 = r;
        float scratch[20], lp = 0;
        CHECK(rz_sample_token(base, 10, &s, &r, scratch, &lp) == 2);
        double ref[10];
        log_softmax(ref, base, 10, 1.0);
        CHECKF(fabs(lp - ref[2]) < 1e-6, "greedy logp %g, want %g", lp, ref[2]);
        CHECK(memcmp(&r, &r0, sizeof r) == 0);
        const float ties[5] = {1.0f, 3.0f, -INFINITY, 3.0f, 2.0f};
        CHECK(rz_sample_token(ties, 5, &s, &r, scratch, NULL) == 1);
        const float ties2[3] = {-INFINITY, 5.0f, 5.0f};
        CHECK(rz_sample_token(ties2, 3, &s, &r, scratch, NULL) == 1);
        /* a tiny temperature behaves greedily too, without NaN */
        s.temperature = 1e-30f;
        lp = 0;
        int tok = rz_sample_token(ties, 5, &s, &r, scratch, &lp);
        CHECKF(tok == 1 || tok == 3, "T=1e-30 drew %d", tok);
    }

    /* --- masked tokens are never drawn, with or without filters */
    {
        float masked[10];
        memcpy(masked, base, sizeof masked);
        masked[2] = masked[5] = masked[9] = -INFINITY;
        const int legal[7] = {0, 1, 3, 4, 6, 7, 8};
        rz_sampling_default(&s);
        check_support("masked", masked, 10, &s, legal, 7, 200000, 51);
        s.min_p = 0.01f;
        check_support("masked min_p", masked, 10, &s, legal, 7, 100000, 52);
        s.min_p = 0;
        s.top_p = 0.999f;
        check_support("masked top_p", masked, 10, &s, legal, 7, 100000, 53);
        const float few[4] = {-INFINITY, 0.5f, -INFINITY, 0.0f};
        const int legal2[2] = {1, 3};
        s.top_p = 1;
        s.top_k = 3; /* more than the legal count */
        check_support("masked top_k > legal", few, 4, &s, legal2, 2, 20000, 54);
        s.top_k = 0;
        s.top_p = 0.5f;
        const int first[1] = {1};
        check_support("masked top_p=0.5", few, 4, &s, first, 1, 2000, 55);
        float none[3] = {-INFINITY, -INFINITY, -INFINITY}, scratch[6];
        rz_rng r;
        rz_rng_seed(&r, 1);
        rz_sampling_default(&s);
        CHECK(rz_sample_token(none, 3, &s, &r, scratch, NULL) == -1);
        s.temperature = 0;
        CHECK(rz_sample_token(none, 3, &s, &r, scratch, NULL) == -1);
        float nan3[3] = {0.0f, NAN, 1.0f};
        CHECK(rz_sample_token(nan3, 3, &s, &r, scratch, NULL) == -1);
        CHECK(rz_sample_token(base, 0, &s, &r, scratch, NULL) == -1);
    }

    /* --- a larger vocabulary through the selection paths */
    {
        enum { BV = 5000 };
        static float big[BV];
        static int order[BV];
        rz_rng r;
        rz_rng_seed(&r, 77);
        for (int i = 0; i < BV; i++) big[i] = 3.0f * rz_rng_normal(&r), order[i] = i;
        for (int i = 0; i < 40; i++) big[1000 + i] = -INFINITY;
        /* the test's own order: insertion sort by (logit desc, id asc) */
        for (int i = 1; i < BV; i++) {
            int x = order[i], j = i - 1;
            while (j >= 0 && (big[order[j]] < big[x] || (big[order[j]] == big[x] && order[j] > x)))
                order[j + 1] = order[j], j--;
            order[j + 1] = x;
        }
        rz_sampling_default(&s);
        s.top_k = 20;
        check_support("V=5000 top_k=20", big, BV, &s, order, 20, 20000, 61);
        /* top-p 0.5 alone: walk the sorted probabilities in double */
        double ref[BV];
        log_softmax(ref, big, BV, 1.0);
        double cum = 0;
        int ns = 0;
        while (cum < 0.5) cum += exp(ref[order[ns++]]);
        double prev = cum - exp(ref[order[ns - 1]]);
        REQUIRE(prev < 0.5 - 1e-4 && cum > 0.5 + 1e-4); /* a clear boundary */
        s.top_k = 0;
        s.top_p = 0.5f;
        check_support("V=5000 top_p=0.5", big, BV, &s, order, ns, 20000, 62);
        printf("V=5000: top_p=0.5 keeps %d tokens\n", ns);
        s.top_p = 1.0f;
        long c[BV];
        double lerr = draw_many(c, big, BV, &s, 2000, 63);
        long masked_draws = 0;
        for (int i = 0; i < 40; i++) masked_draws += c[1000 + i];
        CHECK(masked_draws == 0);
        CHECKF(lerr < 1e-5, "V=5000 logp off by %g", lerr);
    }

    /* --- bad knobs name the field and make the draw fail */
    {
        struct { const char *field; rz_sampling s; } bad[] = {
            {"temperature", {-1.0f, 0, 1.0f, 0.0f}}, {"temperature", {NAN, 0, 1.0f, 0.0f}},
            {"temperature", {INFINITY, 0, 1.0f, 0.0f}}, {"top_k", {1.0f, -1, 1.0f, 0.0f}},
            {"top_p", {1.0f, 0, 0.0f, 0.0f}},       {"top_p", {1.0f, 0, 1.5f, 0.0f}},
            {"top_p", {1.0f, 0, NAN, 0.0f}},        {"min_p", {1.0f, 0, 1.0f, -0.1f}},
            {"min_p", {1.0f, 0, 1.0f, 1.0f}},
        };
        rz_rng r;
        rz_rng_seed(&r, 1);
        float scratch[20];
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            err.msg[0] = 0;
            CHECK(rz_sampling_check(&bad[i].s, &err) == RZ_ERR_ARG);
            CHECKF(strstr(err.msg, bad[i].field) != NULL, "'%s' does not name %s", err.msg,
                   bad[i].field);
            CHECK(rz_sample_token(base, 10, &bad[i].s, &r, scratch, NULL) == -1);
        }
    }
    return test_done("test_sampling");
}

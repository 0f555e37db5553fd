/* test_objective.c: GRPO advantages, the clipped surrogate and its gradient, clip
 * statistics, batch splitting, DAPO's overlong penalty and the dynamic-sampling filter. */
#include <stdint.h>
#include <string.h>

#include "test.h"

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol) * (1.0 + fabs((double)(b))))

static int msg_has(const rz_error *e, const char *s) { return strstr(e->msg, s) != NULL; }

/* ------------------------------------------------------------- advantages */

static void check_adv(const char *what, const float *r, int N, int G, int est, int scale,
                      const double *want)
{
    float a[16];
    rz_error e = {0};
    CHECK_OK(rz_advantages(a, r, N, G, est, scale, &e), &e);
    for (int i = 0; i < N; i++)
        CHECKF(NEAR(a[i], want[i], 1e-6), "%s: adv[%d] = %.9g, want %.9g", what, i, a[i], want[i]);
}

static void test_advantages(void)
{
    /* rewards {1,0,0,1 | 1,1,1,1}: group 1 has mean 0.5 and unbiased std
     * sqrt(4 * 0.25 / 3) = sqrt(1/3) = 0.5773502692; group 2 agrees, so its advantages are
     * 0 under every scale. The batch (mean 0.75; six deviations of 0.25, two of -0.75) has
     * sum of squares 1.5 and unbiased std sqrt(1.5 / 7) = 0.4629100499. */
    const float r[8] = {1, 0, 0, 1, 1, 1, 1, 1};
    const double sg = 0.5773502692 + 1e-4, sb = 0.4629100499 + 1e-4;
    const double grpo_group[8] = {0.5 / sg, -0.5 / sg, -0.5 / sg, 0.5 / sg, 0, 0, 0, 0};
    const double grpo_batch[8] = {0.5 / sb, -0.5 / sb, -0.5 / sb, 0.5 / sb, 0, 0, 0, 0};
    const double grpo_none[8] = {0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0};
    /* RLOO: 1 - (0 + 0 + 1) / 3 = 2/3; 0 - (1 + 0 + 1) / 3 = -2/3 */
    const double t = 2.0 / 3.0;
    const double rloo_none[8] = {t, -t, -t, t, 0, 0, 0, 0};
    const double rloo_group[8] = {t / sg, -t / sg, -t / sg, t / sg, 0, 0, 0, 0};
    const double rloo_batch[8] = {t / sb, -t / sb, -t / sb, t / sb, 0, 0, 0, 0};
    check_adv("grpo/group", r, 8, 4, RZ_EST_GRPO, RZ_SCALE_GROUP, grpo_group);
    check_adv("grpo/batch", r, 8, 4, RZ_EST_GRPO, RZ_SCALE_BATCH, grpo_batch);
    check_adv("grpo/none", r, 8, 4, RZ_EST_GRPO, RZ_SCALE_NONE, grpo_none);
    check_adv("rloo/none", r, 8, 4, RZ_EST_RLOO, RZ_SCALE_NONE, rloo_none);
    check_adv("rloo/group", r, 8, 4, RZ_EST_RLOO, RZ_SCALE_GROUP, rloo_group);
    check_adv("rloo/batch", r, 8, 4, RZ_EST_RLOO, RZ_SCALE_BATCH, rloo_batch);
    /* the first values spelled out, so a wrong formula cannot hide behind the same one */
    check_adv("grpo/group literal", r, 1 * 4, 4, RZ_EST_GRPO, RZ_SCALE_GROUP,
              (const double[]){0.8658754, -0.8658754, -0.8658754, 0.8658754});

    /* an asymmetric group of 3: {2, 0, 1}, mean 1, unbiased std sqrt((1 + 1 + 0) / 2) = 1
     * (the population std would be 0.8165: this tells the two apart) */
    const float q[6] = {2, 0, 1, 0.1f, 0.1f, 0.1f};
    check_adv("G=3 grpo/group", q, 6, 3, RZ_EST_GRPO, RZ_SCALE_GROUP,
              (const double[]){1 / 1.0001, -1 / 1.0001, 0, 0, 0, 0});
    /* RLOO: 2 - (0 + 1)/2 = 1.5, 0 - (2 + 1)/2 = -1.5, 1 - (2 + 0)/2 = 0 */
    check_adv("G=3 rloo/none", q, 6, 3, RZ_EST_RLOO, RZ_SCALE_NONE,
              (const double[]){1.5, -1.5, 0, 0, 0, 0});
    /* a group of equal non-dyadic rewards (0.1f) centres to exactly 0, not to rounding */
    float a[8];
    rz_error e = {0};
    CHECK_OK(rz_advantages(a, q, 6, 3, RZ_EST_GRPO, RZ_SCALE_GROUP, &e), &e);
    CHECK(a[3] == 0.0f && a[4] == 0.0f && a[5] == 0.0f);
    /* G = 1: one reward has std 0 and centres to 0 (TRL gives zeros too) */
    CHECK_OK(rz_advantages(a, r, 2, 1, RZ_EST_GRPO, RZ_SCALE_GROUP, &e), &e);
    CHECK(a[0] == 0.0f && a[1] == 0.0f);

    /* bad arguments name themselves */
    CHECK(rz_advantages(a, r, 8, 3, RZ_EST_GRPO, RZ_SCALE_GROUP, &e) == RZ_ERR_ARG && msg_has(&e, "G = 3"));
    CHECK(rz_advantages(a, r, 0, 4, RZ_EST_GRPO, RZ_SCALE_GROUP, &e) == RZ_ERR_ARG && msg_has(&e, "N = 0"));
    CHECK(rz_advantages(a, r, 8, 0, RZ_EST_GRPO, RZ_SCALE_GROUP, &e) == RZ_ERR_ARG && msg_has(&e, "G = 0"));
    CHECK(rz_advantages(a, r, 8, 4, 7, RZ_SCALE_GROUP, &e) == RZ_ERR_ARG && msg_has(&e, "estimator"));
    CHECK(rz_advantages(a, r, 8, 4, RZ_EST_GRPO, 9, &e) == RZ_ERR_ARG && msg_has(&e, "scale"));
    CHECK(rz_advantages(a, r, 8, 1, RZ_EST_RLOO, RZ_SCALE_NONE, &e) == RZ_ERR_ARG && msg_has(&e, "RLOO"));
    float bad[4] = {1, NAN, 0, 1};
    CHECK(rz_advantages(a, bad, 4, 4, RZ_EST_GRPO, RZ_SCALE_GROUP, &e) == RZ_ERR_NONFINITE &&
          msg_has(&e, "rewards[1]"));
}

/* ------------------------------------------------------- gradient checks */

#define GN 4
#define GT 6

typedef struct {
    float logp[GN * GT], old[GN * GT], ref[GN * GT], mask[GN * GT], adv[GN];
} batch;

/* Random log-probs with rho = exp(logp - old) either well inside [0.8, 1.2] (|log rho|
 * <= 0.1) or well outside it (|log rho| in [0.4, 0.6]), never near a clip boundary. */
static void make_batch(batch *b, uint64_t seed)
{
    rz_rng g;
    rz_rng_seed(&g, seed);
    for (int k = 0; k < GN * GT; k++) {
        b->logp[k] = (float)(-0.2 - 3.0 * rz_rng_uniform(&g));
        double d = rz_rng_uniform(&g) < 0.75 ? 0.2 * rz_rng_uniform(&g) - 0.1
                                              : (0.4 + 0.2 * rz_rng_uniform(&g)) *
                                                    (rz_rng_uniform(&g) < 0.5 ? -1 : 1);
        b->old[k] = (float)(b->logp[k] - d);
        b->ref[k] = (float)(b->logp[k] + 0.8 * (rz_rng_uniform(&g) - 0.5));
        b->mask[k] = rz_rng_uniform(&g) < 0.8 ? 1.0f : 0.0f;
    }
    for (int i = 0; i < GN; i++) b->adv[i] = (float)(2.0 * rz_rng_uniform(&g) - 1.0);
    /* row 2: a completion of 3 tokens then padding holding garbage that must be ignored */
    for (int t = 0; t < GT; t++) {
        b->mask[2 * GT + t] = t < 3 ? 1.0f : 0.0f;
        if (t >= 3) b->logp[2 * GT + t] = b->old[2 * GT + t] = b->ref[2 * GT + t] = NAN;
    }
}

static double loss_at(const rz_objective *o, const batch *b, const float *logp)
{
    float d[GN * GT];
    rz_objective_stats st;
    rz_error e = {0};
    int rc = rz_objective_loss(o, GN, GT, logp, b->old, b->ref, b->adv, b->mask, d, &st, &e);
    REQUIRE(rc == RZ_OK);
    return st.loss;
}

static void test_gradcheck(void)
{
    const char *aggs[3] = {"grpo", "token", "dr_grpo"};
    const char *kls[2] = {"k3", "k1"};
    double worst = 0;
    for (int agg = 0; agg < 3; agg++)
        for (int kl = 0; kl < 2; kl++) {
            batch b;
            make_batch(&b, 100 + 10 * agg + kl);
            rz_objective o;
            rz_objective_default(&o);
            o.agg = agg;
            o.kl = kl;
            o.beta = 0.3f;
            o.max_len = agg == RZ_AGG_DR_GRPO ? 8 : 0;
            float d[GN * GT];
            rz_objective_stats st;
            rz_error e = {0};
            CHECK_OK(rz_objective_loss(&o, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, &st, &e), &e);
            CHECKF(st.clip_frac > 0, "%s/%s: the batch should hold clipped tokens", aggs[agg], kls[kl]);
            int nonzero = 0;
            for (int k = 0; k < GN * GT; k++) {
                if (b.mask[k] == 0) {
                    CHECKF(d[k] == 0.0f, "%s/%s: masked dlogp[%d] = %g", aggs[agg], kls[kl], k, d[k]);
                    continue;
                }
                float x[GN * GT];
                memcpy(x, b.logp, sizeof x);
                const double h = 1e-3;
                x[k] = (float)(b.logp[k] + h);
                double hp = (double)x[k] - b.logp[k];
                double lp = loss_at(&o, &b, x);
                x[k] = (float)(b.logp[k] - h);
                double hm = (double)b.logp[k] - x[k];
                double lm = loss_at(&o, &b, x);
                double fd = (lp - lm) / (hp + hm);
                double err = fabs(fd - d[k]) / (1e-4 + fabs(fd));
                if (err > worst) worst = err;
                nonzero += d[k] != 0.0f;
                CHECKF(err < 1e-3, "%s/%s: dlogp[%d] = %.8g, central difference %.8g", aggs[agg],
                       kls[kl], k, d[k], fd);
            }
            CHECK(nonzero > 0);
        }
    printf("gradient check: worst relative error %.3g\n", worst);
}

/* ------------------------------------------- mu = 1: logp == old_logp */

static void test_on_policy(void)
{
    for (int agg = 0; agg < 3; agg++)
        for (int beta_on = 0; beta_on < 2; beta_on++) {
            batch b;
            make_batch(&b, 7 + agg);
            memcpy(b.old, b.logp, sizeof b.old); /* NaN padding copies too: still ignored */
            rz_objective o;
            rz_objective_default(&o);
            o.agg = agg;
            o.beta = beta_on ? 0.04f : 0.0f;
            o.max_len = agg == RZ_AGG_DR_GRPO ? 10 : 0;
            float d[GN * GT];
            rz_objective_stats st;
            rz_error e = {0};
            CHECK_OK(rz_objective_loss(&o, GN, GT, b.logp, b.old, beta_on ? b.ref : NULL, b.adv,
                                       b.mask, d, &st, &e), &e);
            CHECK(st.ratio_mean == 1.0 && st.ratio_min == 1.0 && st.ratio_max == 1.0);
            CHECK(st.clip_low_frac == 0.0 && st.clip_high_frac == 0.0 && st.clip_frac == 0.0);
            double tokens = 0;
            for (int k = 0; k < GN * GT; k++) tokens += b.mask[k];
            CHECK(st.tokens == tokens);
            double loss = 0;
            for (int i = 0; i < GN; i++) {
                double len = 0;
                for (int t = 0; t < GT; t++) len += b.mask[i * GT + t];
                double w = agg == RZ_AGG_GRPO ? 1.0 / (GN * len)
                         : agg == RZ_AGG_TOKEN ? 1.0 / tokens : 1.0 / (GN * 10.0);
                for (int t = 0; t < GT; t++) {
                    int k = i * GT + t;
                    if (b.mask[k] == 0) continue;
                    /* d/dlogp of -(A rho - beta (e^(ref-logp) - (ref-logp) - 1)) at rho = 1 */
                    double dk = (double)b.ref[k] - b.logp[k];
                    double kl_grad = beta_on ? (double)o.beta * (1.0 - exp(dk)) : 0.0;
                    double want = -w * (b.adv[i] - kl_grad);
                    CHECKF(NEAR(d[k], want, 1e-6), "agg %d beta %d: dlogp[%d] = %.9g, want %.9g",
                           agg, beta_on, k, d[k], want);
                    double kl = beta_on ? exp(dk) - dk - 1.0 : 0.0;
                    loss -= w * (b.adv[i] - (beta_on ? (double)o.beta : 0.0) * kl);
                }
            }
            CHECKF(NEAR(st.loss, loss, 1e-9), "agg %d beta %d: loss %.12g, want %.12g", agg,
                   beta_on, st.loss, loss);
        }
}

/* ------------------------------------------------------- clip statistics */

static void test_clip_fractions(void)
{
    enum { N = 4, T = 4 };
    /* eps_low 0.2, eps_high 0.28 (DAPO's clip-higher): the range is [0.8, 1.28] */
    const double rho[N][T] = {
        {1.5, 0.5, 1.0, 1.1},  /* A > 0: 1.5 high-clipped; 0.5 below the range is not */
        {1.5, 0.5, 0.7, 1.0},  /* A < 0: 0.5 and 0.7 low-clipped; 1.5 above the range is not */
        {1.25, 1.3, 1.0, 1.0}, /* A > 0: 1.25 inside the widened range; 1.3 high-clipped */
        {0.81, 0.79, 1.0, 1.0} /* A < 0: 0.79 low-clipped */
    };
    const int clipped[N][T] = {{1, 0, 0, 0}, {0, 1, 1, 0}, {0, 1, 0, 0}, {0, 1, 0, 0}};
    const float adv[N] = {1.0f, -1.0f, 0.5f, -2.0f};
    float logp[N * T], old[N * T], mask[N * T], d[N * T];
    for (int i = 0; i < N; i++)
        for (int t = 0; t < T; t++) {
            old[i * T + t] = -1.0f;
            logp[i * T + t] = (float)(-1.0 + log(rho[i][t]));
            mask[i * T + t] = 1.0f;
        }
    rz_objective o;
    rz_objective_default(&o);
    o.eps_high = 0.28f;
    rz_objective_stats st;
    rz_error e = {0};
    CHECK_OK(rz_objective_loss(&o, N, T, logp, old, NULL, adv, mask, d, &st, &e), &e);
    CHECKF(NEAR(st.clip_high_frac, 2.0 / 16, 1e-12), "high %g", st.clip_high_frac);
    CHECKF(NEAR(st.clip_low_frac, 3.0 / 16, 1e-12), "low %g", st.clip_low_frac);
    CHECKF(NEAR(st.clip_frac, 5.0 / 16, 1e-12), "clip %g", st.clip_frac);
    CHECKF(NEAR(st.ratio_min, 0.5, 1e-6) && NEAR(st.ratio_max, 1.5, 1e-6), "ratio range %g..%g",
           st.ratio_min, st.ratio_max);
    CHECK(st.kl_mean == 0.0);
    double loss = 0, rsum = 0;
    for (int i = 0; i < N; i++)
        for (int t = 0; t < T; t++) {
            int k = i * T + t;
            double r = exp((double)logp[k] - old[k]), A = adv[i];
            /* the bounds as the library sees them: 1 - (double)0.2f, not 0.8 */
            const double lo = 1.0 - (double)o.eps_low, hi = 1.0 + (double)o.eps_high;
            double rc = r < lo ? lo : r > hi ? hi : r;
            loss -= fmin(r * A, rc * A) / 16;
            rsum += r;
            if (clipped[i][t])
                CHECKF(d[k] == 0.0f, "clipped token [%d][%d] has dlogp %g", i, t, d[k]);
            else
                CHECKF(NEAR(d[k], -r * A / 16, 1e-6), "token [%d][%d]: dlogp %.9g, want %.9g", i, t,
                       d[k], -r * A / 16);
        }
    CHECKF(NEAR(st.loss, loss, 1e-12), "loss %.12g, want %.12g", st.loss, loss);
    CHECKF(NEAR(st.ratio_mean, rsum / 16, 1e-12), "ratio mean %g", st.ratio_mean);

    /* with beta > 0 a clipped token still carries the KL gradient, and only that */
    float ref[N * T];
    for (int k = 0; k < N * T; k++) ref[k] = logp[k] - 0.3f;
    o.beta = 0.1f;
    CHECK_OK(rz_objective_loss(&o, N, T, logp, old, ref, adv, mask, d, &st, &e), &e);
    double dk = (double)ref[0] - logp[0];
    CHECKF(NEAR(d[0], -(-0.1 * (1.0 - exp(dk))) / 16, 1e-6), "KL-only gradient %g", d[0]);
    CHECKF(NEAR(st.kl_mean, exp(dk) - dk - 1.0, 1e-6), "kl_mean %g", st.kl_mean);
    CHECK(st.kl_mean > 0);
}

/* -------------------------------------------- splitting a batch in two */

static void test_split(void)
{
    enum { N = 8, T = 5 };
    rz_rng g;
    rz_rng_seed(&g, 2024);
    float logp[N * T], old[N * T], ref[N * T], mask[N * T], adv[N];
    double tokens = 0;
    for (int k = 0; k < N * T; k++) {
        logp[k] = (float)(-3.0 * rz_rng_uniform(&g) - 0.1);
        old[k] = (float)(logp[k] + 0.6 * (rz_rng_uniform(&g) - 0.5));
        ref[k] = (float)(logp[k] + 0.6 * (rz_rng_uniform(&g) - 0.5));
        /* ragged: row i has 1 + i % T tokens, so the halves hold different token counts */
        mask[k] = (k % T) <= (k / T) % T ? 1.0f : 0.0f;
        tokens += mask[k];
    }
    for (int i = 0; i < N; i++) adv[i] = (float)(2.0 * rz_rng_uniform(&g) - 1.0);
    const char *names[3] = {"grpo", "token", "dr_grpo"};
    for (int agg = 0; agg < 3; agg++) {
        rz_objective o;
        rz_objective_default(&o);
        o.agg = agg;
        o.beta = 0.05f;
        o.eps_high = 0.28f;
        float dfull[N * T], dhalf[N * T];
        rz_objective_stats full, a, b;
        rz_error e = {0};
        CHECK_OK(rz_objective_loss(&o, N, T, logp, old, ref, adv, mask, dfull, &full, &e), &e);
        o.seqs_total = N;
        o.tokens_total = tokens;
        const int h = N / 2;
        CHECK_OK(rz_objective_loss(&o, h, T, logp, old, ref, adv, mask, dhalf, &a, &e), &e);
        CHECK_OK(rz_objective_loss(&o, h, T, logp + h * T, old + h * T, ref + h * T, adv + h,
                                   mask + h * T, dhalf + h * T, &b, &e), &e);
        CHECKF(NEAR(a.loss + b.loss, full.loss, 1e-12), "%s: halves %.15g + %.15g != full %.15g",
               names[agg], a.loss, b.loss, full.loss);
        CHECK(a.tokens + b.tokens == full.tokens);
        CHECKF(NEAR((a.clip_frac * a.tokens + b.clip_frac * b.tokens) / full.tokens, full.clip_frac, 1e-12),
               "%s: clip fractions do not combine", names[agg]);
        int same = 1;
        for (int k = 0; k < N * T; k++) same &= dhalf[k] == dfull[k];
        CHECKF(same, "%s: split gradient differs", names[agg]);
        /* without the totals each half normalises by itself (token: its own token count) */
        if (agg == RZ_AGG_TOKEN) {
            o.seqs_total = 0;
            o.tokens_total = 0;
            CHECK_OK(rz_objective_loss(&o, h, T, logp, old, ref, adv, mask, dhalf, &a, &e), &e);
            CHECK(!NEAR(dhalf[0], dfull[0], 1e-3));
        }
    }
}

/* ------------------------------------------------------ argument checks */

static void test_errors(void)
{
    batch b;
    make_batch(&b, 1);
    float d[GN * GT];
    rz_objective o;
    rz_error e = {0};
    rz_objective_default(&o);
    CHECK(o.eps_low == 0.2f && o.eps_high == 0.2f && o.beta == 0.0f && o.kl == RZ_KL_K3 &&
          o.agg == RZ_AGG_TOKEN && o.max_len == 0 && o.seqs_total == 0 && o.tokens_total == 0);
    /* beta 0 needs no reference; st may be NULL */
    CHECK_OK(rz_objective_loss(&o, GN, GT, b.logp, b.old, NULL, b.adv, b.mask, d, NULL, &e), &e);

#define BAD(code, needle, ...)                                                                   \
    CHECKF(rz_objective_loss(__VA_ARGS__, &e) == (code) && msg_has(&e, needle), "want '%s', got '%s'", \
           needle, e.msg)
    rz_objective x = o;
    x.eps_low = -0.1f;
    BAD(RZ_ERR_ARG, "eps_low", &x, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    x = o;
    x.eps_high = NAN;
    BAD(RZ_ERR_ARG, "eps_high", &x, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    x = o;
    x.beta = -1;
    BAD(RZ_ERR_ARG, "beta", &x, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    x = o;
    x.beta = 0.1f;
    BAD(RZ_ERR_ARG, "ref_logp", &x, GN, GT, b.logp, b.old, NULL, b.adv, b.mask, d, NULL);
    x = o;
    x.kl = 5;
    BAD(RZ_ERR_ARG, "kl", &x, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    x = o;
    x.agg = 3;
    BAD(RZ_ERR_ARG, "agg", &x, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    x = o;
    x.max_len = -2;
    BAD(RZ_ERR_ARG, "max_len", &x, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    x = o;
    x.seqs_total = GN - 1;
    BAD(RZ_ERR_ARG, "seqs_total", &x, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    x = o;
    x.tokens_total = 1;
    BAD(RZ_ERR_ARG, "tokens_total", &x, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    BAD(RZ_ERR_ARG, "N = 0", &o, 0, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    BAD(RZ_ERR_ARG, "T = -1", &o, GN, -1, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    BAD(RZ_ERR_ARG, "old_logp", &o, GN, GT, b.logp, NULL, b.ref, b.adv, b.mask, d, NULL);
    BAD(RZ_ERR_ARG, "dlogp", &o, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, NULL, NULL);
    b.mask[5] = 0.5f;
    BAD(RZ_ERR_ARG, "mask[0][5]", &o, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    b.mask[5] = 1.0f;
    b.adv[1] = INFINITY;
    BAD(RZ_ERR_NONFINITE, "adv[1]", &o, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
    b.adv[1] = 0.5f;
    b.logp[GT + 1] = NAN;
    b.mask[GT + 1] = 1.0f;
    BAD(RZ_ERR_NONFINITE, "[1][1]", &o, GN, GT, b.logp, b.old, b.ref, b.adv, b.mask, d, NULL);
#undef BAD
}

/* ----------------------------------------------- DAPO: overlong, filter */

static void test_overlong_and_filter(void)
{
    /* max_len 100, cache 20: free up to 80, then -1/20 per token, -1 at 100 and beyond */
    CHECK(rz_overlong_penalty(0, 100, 20) == 0.0f);
    CHECK(rz_overlong_penalty(80, 100, 20) == 0.0f);
    CHECK(NEAR(rz_overlong_penalty(81, 100, 20), -0.05, 1e-6));
    CHECK(NEAR(rz_overlong_penalty(90, 100, 20), -0.5, 1e-6));
    CHECK(NEAR(rz_overlong_penalty(99, 100, 20), -0.95, 1e-6));
    CHECK(rz_overlong_penalty(100, 100, 20) == -1.0f);
    CHECK(rz_overlong_penalty(101, 100, 20) == -1.0f);
    CHECK(rz_overlong_penalty(5000, 100, 20) == -1.0f);
    /* cache 0: a step past max_len; cache above max_len is clamped to it */
    CHECK(rz_overlong_penalty(100, 100, 0) == 0.0f);
    CHECK(rz_overlong_penalty(101, 100, 0) == -1.0f);
    CHECK(rz_overlong_penalty(0, 10, 50) == 0.0f);
    CHECK(NEAR(rz_overlong_penalty(5, 10, 50), -0.5, 1e-6));

    const float r[16] = {1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0.5f, 0.5f, 0.5f, 0.25f};
    uint8_t keep[4] = {9, 9, 9, 9};
    CHECK(rz_groups_informative(keep, r, 16, 4) == 2);
    CHECK(keep[0] == 1 && keep[1] == 0 && keep[2] == 0 && keep[3] == 1);
    CHECK(rz_groups_informative(keep, r, 16, 16) == 1 && keep[0] == 1);
    CHECK(rz_groups_informative(keep, r, 4, 1) == 0 && keep[0] == 0); /* a single reward agrees */
    CHECK(rz_groups_informative(keep, r, 16, 3) == -1);
    CHECK(rz_groups_informative(keep, r, 0, 4) == -1);
    CHECK(rz_groups_informative(keep, r, 16, 0) == -1);
}

int main(void)
{
    test_advantages();
    test_gradcheck();
    test_on_policy();
    test_clip_fractions();
    test_split();
    test_errors();
    test_overlong_and_filter();
    return test_done("test_objective");
}

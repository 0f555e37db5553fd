/* objective.c: the GRPO objective and its variants as pure math over arrays.
 *
 * No model here: the trainer computes per-token log-probs with the policy (and, when
 * beta > 0, the reference), calls rz_advantages once per batch and rz_objective_loss once
 * per (mini/micro-)batch, then backpropagates dlogp through the model.
 *
 * Conventions follow Hugging Face TRL's GRPOTrainer so that numbers read the same:
 *  - the reward std is torch.std, the unbiased sample std (divide by G - 1);
 *  - advantages get + 1e-4 in the denominator, not a max() guard;
 *  - a sequence with no counted token contributes 0 (TRL clamps |o_i| to >= 1);
 *  - clip fractions count only the tokens whose gradient the clip actually removes.
 * Sums run in double, in index order, so results do not depend on threads or batch split
 * beyond float rounding of the outputs. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "rlzero.h"

#define ADV_STD_EPS 1e-4

/* ------------------------------------------------------------- advantages */

/* Unbiased std of n values around their mean (0 for n == 1), and whether all agree. */
static double sample_std(const float *x, int n, double *mean, int *all_equal)
{
    double s = 0;
    int eq = 1;
    for (int i = 0; i < n; i++) {
        s += x[i];
        eq &= x[i] == x[0];
    }
    /* a constant set must centre to exactly 0; a double sum of floats is exact for small n
     * but can round for large ones, so do not rely on s / n == x */
    double m = eq ? (double)x[0] : s / n;
    double v = 0;
    if (!eq)
        for (int i = 0; i < n; i++) v += ((double)x[i] - m) * ((double)x[i] - m);
    *mean = m;
    if (all_equal) *all_equal = eq;
    return n > 1 ? sqrt(v / (n - 1)) : 0.0;
}

int rz_advantages(float *adv, const float *rewards, int N, int G, int estimator, int scale,
                  rz_error *err)
{
    if (!adv || !rewards)
        return rz_error_set(err, RZ_ERR_ARG, "advantages: %s is NULL", adv ? "rewards" : "adv");
    if (N <= 0) return rz_error_set(err, RZ_ERR_ARG, "advantages: N = %d must be > 0", N);
    if (G <= 0) return rz_error_set(err, RZ_ERR_ARG, "advantages: G = %d must be > 0", G);
    if (N % G)
        return rz_error_set(err, RZ_ERR_ARG, "advantages: N = %d is not a multiple of G = %d", N, G);
    if (estimator != RZ_EST_GRPO && estimator != RZ_EST_RLOO)
        return rz_error_set(err, RZ_ERR_ARG, "advantages: estimator %d is not RZ_EST_GRPO or RZ_EST_RLOO",
                            estimator);
    if (scale != RZ_SCALE_GROUP && scale != RZ_SCALE_BATCH && scale != RZ_SCALE_NONE)
        return rz_error_set(err, RZ_ERR_ARG,
                            "advantages: scale %d is not RZ_SCALE_GROUP, _BATCH or _NONE", scale);
    if (estimator == RZ_EST_RLOO && G < 2)
        return rz_error_set(err, RZ_ERR_ARG, "advantages: RLOO needs G >= 2 (leave one out), got G = %d",
                            G);
    for (int i = 0; i < N; i++)
        if (!isfinite(rewards[i]))
            return rz_error_set(err, RZ_ERR_NONFINITE, "advantages: rewards[%d] = %g", i,
                                (double)rewards[i]);

    double batch_mean, batch_std = 0;
    if (scale == RZ_SCALE_BATCH) batch_std = sample_std(rewards, N, &batch_mean, NULL);

    for (int g = 0; g < N / G; g++) {
        const float *r = rewards + (size_t)g * G;
        float *a = adv + (size_t)g * G;
        double mean;
        int eq;
        double std = sample_std(r, G, &mean, &eq);
        double denom = 1.0;
        if (scale == RZ_SCALE_GROUP) denom = std + ADV_STD_EPS;
        else if (scale == RZ_SCALE_BATCH) denom = batch_std + ADV_STD_EPS;
        /* RLOO: r_i - (sum - r_i) / (G - 1) = G / (G - 1) * (r_i - mean) */
        double k = estimator == RZ_EST_RLOO ? (double)G / (G - 1) : 1.0;
        for (int i = 0; i < G; i++) a[i] = eq ? 0.0f : (float)(k * ((double)r[i] - mean) / denom);
    }
    return RZ_OK;
}

/* ----------------------------------------------------------- the objective */

void rz_objective_default(rz_objective *o)
{
    o->eps_low = 0.2f;
    o->eps_high = 0.2f;
    o->beta = 0.0f;
    o->kl = RZ_KL_K3;
    o->agg = RZ_AGG_TOKEN;
    o->max_len = 0;
    o->seqs_total = 0;
    o->tokens_total = 0;
}

static int check_objective(const rz_objective *o, rz_error *err)
{
    if (!(o->eps_low >= 0 && isfinite(o->eps_low)))
        return rz_error_set(err, RZ_ERR_ARG, "objective: eps_low = %g must be finite and >= 0",
                            (double)o->eps_low);
    if (!(o->eps_high >= 0 && isfinite(o->eps_high)))
        return rz_error_set(err, RZ_ERR_ARG, "objective: eps_high = %g must be finite and >= 0",
                            (double)o->eps_high);
    if (!(o->beta >= 0 && isfinite(o->beta)))
        return rz_error_set(err, RZ_ERR_ARG, "objective: beta = %g must be finite and >= 0",
                            (double)o->beta);
    if (o->kl != RZ_KL_K3 && o->kl != RZ_KL_K1)
        return rz_error_set(err, RZ_ERR_ARG, "objective: kl %d is not RZ_KL_K3 or RZ_KL_K1", o->kl);
    if (o->agg != RZ_AGG_GRPO && o->agg != RZ_AGG_TOKEN && o->agg != RZ_AGG_DR_GRPO)
        return rz_error_set(err, RZ_ERR_ARG,
                            "objective: agg %d is not RZ_AGG_GRPO, RZ_AGG_TOKEN or RZ_AGG_DR_GRPO",
                            o->agg);
    if (o->max_len < 0)
        return rz_error_set(err, RZ_ERR_ARG, "objective: max_len = %d must be >= 0 (0 = T)",
                            o->max_len);
    if (o->seqs_total < 0)
        return rz_error_set(err, RZ_ERR_ARG, "objective: seqs_total = %d must be >= 0 (0 = N)",
                            o->seqs_total);
    if (!(o->tokens_total >= 0 && isfinite(o->tokens_total)))
        return rz_error_set(err, RZ_ERR_ARG,
                            "objective: tokens_total = %g must be finite and >= 0 (0 = sum(mask))",
                            o->tokens_total);
    return RZ_OK;
}

int rz_objective_loss(const rz_objective *o, int N, int T, const float *logp,
                      const float *old_logp, const float *ref_logp, const float *adv,
                      const float *mask, float *dlogp, rz_objective_stats *st, rz_error *err)
{
    if (!o) return rz_error_set(err, RZ_ERR_ARG, "objective: the rz_objective is NULL");
    if (N <= 0) return rz_error_set(err, RZ_ERR_ARG, "objective: N = %d must be > 0", N);
    if (T <= 0) return rz_error_set(err, RZ_ERR_ARG, "objective: T = %d must be > 0", T);
    const char *null = !logp ? "logp" : !old_logp ? "old_logp" : !adv ? "adv" : !mask ? "mask"
                     : !dlogp ? "dlogp" : NULL;
    if (null) return rz_error_set(err, RZ_ERR_ARG, "objective: %s is NULL", null);
    int rc = check_objective(o, err);
    if (rc) return rc;
    if (o->beta > 0 && !ref_logp)
        return rz_error_set(err, RZ_ERR_ARG, "objective: beta = %g > 0 needs ref_logp (got NULL)",
                            (double)o->beta);
    if (o->seqs_total > 0 && o->seqs_total < N)
        return rz_error_set(err, RZ_ERR_ARG, "objective: seqs_total = %d is below this call's N = %d",
                            o->seqs_total, N);

    /* the mask decides what is read: padding may hold anything, NaN included */
    double tokens = 0;
    for (size_t k = 0; k < (size_t)N * T; k++) {
        if (mask[k] != 0.0f && mask[k] != 1.0f)
            return rz_error_set(err, RZ_ERR_ARG, "objective: mask[%zu][%zu] = %g is not 0 or 1",
                                k / (size_t)T, k % (size_t)T, (double)mask[k]);
        tokens += mask[k];
    }
    if (o->tokens_total > 0 && o->tokens_total < tokens)
        return rz_error_set(err, RZ_ERR_ARG,
                            "objective: tokens_total = %g is below this call's sum(mask) = %g",
                            o->tokens_total, tokens);
    for (int i = 0; i < N; i++)
        if (!isfinite(adv[i]))
            return rz_error_set(err, RZ_ERR_NONFINITE, "objective: adv[%d] = %g", i, (double)adv[i]);

    const double S = o->seqs_total > 0 ? o->seqs_total : N;
    const double Ttot = o->tokens_total > 0 ? o->tokens_total : tokens;
    const double L = o->max_len > 0 ? o->max_len : T;
    const double lo = 1.0 - (double)o->eps_low, hi = 1.0 + (double)o->eps_high;
    const double beta = o->beta;

    double loss = 0, kl_sum = 0, n_low = 0, n_high = 0, rho_sum = 0;
    double rho_min = INFINITY, rho_max = -INFINITY;
    for (int i = 0; i < N; i++) {
        const float *m = mask + (size_t)i * T;
        double len = 0;
        for (int t = 0; t < T; t++) len += m[t];
        /* w: d(aggregate)/d(l_it) for a counted token */
        double w;
        if (o->agg == RZ_AGG_GRPO) w = 1.0 / (S * (len > 1 ? len : 1));
        else if (o->agg == RZ_AGG_TOKEN) w = 1.0 / (Ttot > 1 ? Ttot : 1);
        else w = 1.0 / (S * L);
        const double A = adv[i];
        double seq = 0;
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)i * T + t;
            dlogp[k] = 0.0f;
            if (m[t] == 0.0f) continue;
            double lp = logp[k];
            /* exp(0) == 1 exactly: with mu = 1 nothing is ever clipped */
            double rho = exp(lp - (double)old_logp[k]);
            int low = rho < lo && A < 0, high = rho > hi && A > 0;
            double rclip = rho < lo ? lo : rho > hi ? hi : rho;
            double unclipped = rho * A, clipped = rclip * A;
            double surr = unclipped < clipped ? unclipped : clipped;
            /* where min picks the saturated clip its derivative is 0; those are exactly the
             * low/high-clipped tokens (elsewhere both branches agree or min is rho*A) */
            double dsurr = (low || high) ? 0.0 : rho * A;
            double kl = 0, dkl = 0;
            if (ref_logp) {
                double d = (double)ref_logp[k] - lp;
                if (o->kl == RZ_KL_K3) {
                    kl = exp(d) - d - 1.0; /* >= 0, unbiased for KL(pi || ref) */
                    dkl = 1.0 - exp(d);
                } else {
                    kl = -d;
                    dkl = 1.0;
                }
            }
            double l = surr - beta * kl;
            double g = -w * (dsurr - beta * dkl);
            if (!isfinite(l) || !isfinite(g))
                return rz_error_set(err, RZ_ERR_NONFINITE,
                                    "objective: token [%d][%d] gives l = %g (logp %g, old_logp %g, "
                                    "ref_logp %g, adv %g)",
                                    i, t, l, lp, (double)old_logp[k],
                                    ref_logp ? (double)ref_logp[k] : 0.0, A);
            seq += l;
            dlogp[k] = (float)g;
            kl_sum += kl;
            n_low += low;
            n_high += high;
            rho_sum += rho;
            if (rho < rho_min) rho_min = rho;
            if (rho > rho_max) rho_max = rho;
        }
        loss -= w * seq;
    }

    if (st) {
        double inv = tokens > 0 ? 1.0 / tokens : 0.0;
        st->loss = loss;
        st->kl_mean = kl_sum * inv;
        st->clip_low_frac = n_low * inv;
        st->clip_high_frac = n_high * inv;
        st->clip_frac = (n_low + n_high) * inv; /* a token is never both */
        st->ratio_mean = tokens > 0 ? rho_sum * inv : 1.0;
        st->ratio_min = tokens > 0 ? rho_min : 1.0;
        st->ratio_max = tokens > 0 ? rho_max : 1.0;
        st->tokens = tokens;
    }
    return RZ_OK;
}

/* ------------------------------------------------------ DAPO's extras */

float rz_overlong_penalty(int len, int max_len, int cache)
{
    if (max_len < 0) max_len = 0;
    if (cache < 0) cache = 0;
    if (cache > max_len) cache = max_len;
    if (len <= max_len - cache) return 0.0f;
    if (len > max_len) return -1.0f;
    return (float)((double)(max_len - cache - len) / cache); /* cache > 0 here */
}

int rz_groups_informative(uint8_t *keep, const float *rewards, int N, int G)
{
    if (!keep || !rewards || N <= 0 || G <= 0 || N % G) return -1;
    int kept = 0;
    for (int g = 0; g < N / G; g++) {
        const float *r = rewards + (size_t)g * G;
        int differ = 0;
        for (int i = 1; i < G; i++) differ |= r[i] != r[0];
        keep[g] = (uint8_t)differ;
        kept += differ;
    }
    return kept;
}

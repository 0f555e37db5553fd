/* logprob.c: the log-softmax both objectives read: GRPO's token log-probabilities and
 * self-play's action log-probabilities (rlzero.h, rz_logprob_forward/backward).
 *
 * Sums and logarithms in double, every step rounded on its own: this file stays outside
 * the kernels built with fused multiply-adds (simd.h). It is not where the time goes,
 * and so the games' self-play, which uses no other kernel of these, computes the same
 * bits with FMA or without. Rows split over threads, each row's sums in order. */
#include <math.h>

#include "ops.h"

void rz_logprob_forward(float *logp, float *entropy, const float *logits, const int *targets,
                        int N, int V)
{
#pragma omp parallel for schedule(static) if((size_t)N * V >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *row = logits + (size_t)n * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (row[i] > mx) mx = row[i];
        if (mx == -INFINITY) { /* every action masked: no distribution to speak of */
            logp[n] = -INFINITY;
            if (entropy) entropy[n] = 0.0f;
            continue;
        }
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += exp((double)row[i] - mx); /* exp(-inf) = 0 */
        double lse = mx + log(sum);
        logp[n] = (float)(row[targets[n]] - lse);
        if (entropy) {
            /* H = -sum p log p; masked entries have p = 0 and contribute 0 (not 0 * -inf) */
            double h = 0.0;
            for (int i = 0; i < V; i++) {
                if (row[i] == -INFINITY) continue;
                double lp = row[i] - lse;
                h -= exp(lp) * lp;
            }
            entropy[n] = (float)h;
        }
    }
}

void rz_logprob_backward(float *dlogits, const float *dlogp, const float *logits,
                         const int *targets, int N, int V)
{
#pragma omp parallel for schedule(static) if((size_t)N * V >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *row = logits + (size_t)n * V;
        float *drow = dlogits + (size_t)n * V;
        float g = dlogp[n];
        if (g == 0.0f) continue;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (row[i] > mx) mx = row[i];
        if (mx == -INFINITY) continue; /* fully masked row: logp is constant -inf */
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += exp((double)row[i] - mx);
        double lse = mx + log(sum);
        for (int i = 0; i < V; i++) drow[i] -= g * (float)exp(row[i] - lse);
        drow[targets[n]] += g;
    }
}

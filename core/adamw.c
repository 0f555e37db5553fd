/* adamw.c: AdamW over the flat parameter buffers, with global-norm clipping and a
 * warmup + cosine learning-rate schedule.
 *
 * For step t (from 0), with g = grad * s where s = grad_clip / ||grad|| when the global norm
 * exceeds grad_clip (else 1):
 *
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g^2
 *   p -= lr_t * ( (m / (1 - beta1^(t+1))) / (sqrt(v / (1 - beta2^(t+1))) + eps)
 *                 + weight_decay * decay * p )
 *
 * Weight decay is decoupled (Loshchilov & Hutter): it shrinks p directly, p -= lr*wd*p,
 * instead of entering the moments, and only tensors with decay = 1 get it. The update of
 * each element depends on that element alone, so the flat loop splits over threads with a
 * result independent of the thread count. The global norm is summed in double, one tensor
 * after another in table order, elements in order: the same bits on every run.
 */
#include <math.h>

#include "rlzero.h"

void rz_adamw_config_default(rz_adamw_config *cfg)
{
    cfg->lr = 3e-4f;
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.95f;
    cfg->eps = 1e-8f;
    cfg->weight_decay = 0.1f;
    cfg->grad_clip = 1.0f;
    cfg->warmup = 0;
    cfg->total_steps = 0;
    cfg->min_lr_ratio = 0.1f;
}

/* The schedule, for step t counting from 0 (W = warmup, N = total_steps, r = min_lr_ratio):
 *   t < W:                lr * (t + 1) / W          (lr / W at t = 0, lr at t = W - 1)
 *   N == 0:               lr                        (constant after warmup)
 *   W <= t < N:           lr * (r + (1 - r) * (1 + cos(pi * (t - W) / (N - W))) / 2)
 *   t >= N:               lr * r                    (constant after the end)
 * so the peak lr is reached at t = W - 1 and t = W, and lr * r at t = N. */
float rz_adamw_lr(const rz_adamw_config *cfg, long step)
{
    const double lr = cfg->lr, r = cfg->min_lr_ratio;
    const long W = cfg->warmup > 0 ? cfg->warmup : 0, N = cfg->total_steps;
    if (step < 0) step = 0;
    if (step < W) return (float)(lr * (double)(step + 1) / (double)W);
    if (N <= 0) return (float)lr;
    if (step >= N) return (float)(lr * r);
    const double progress = (double)(step - W) / (double)(N - W);
    return (float)(lr * (r + (1.0 - r) * 0.5 * (1.0 + cos(M_PI * progress))));
}

static int config_check(const rz_adamw_config *cfg, rz_error *err)
{
    if (!(cfg->lr >= 0 && isfinite(cfg->lr)))
        return rz_error_set(err, RZ_ERR_ARG, "adamw: lr = %g must be finite and >= 0", cfg->lr);
    if (!(cfg->beta1 >= 0 && cfg->beta1 < 1))
        return rz_error_set(err, RZ_ERR_ARG, "adamw: beta1 = %g must be in [0, 1)", cfg->beta1);
    if (!(cfg->beta2 >= 0 && cfg->beta2 < 1))
        return rz_error_set(err, RZ_ERR_ARG, "adamw: beta2 = %g must be in [0, 1)", cfg->beta2);
    if (!(cfg->eps > 0 && isfinite(cfg->eps)))
        return rz_error_set(err, RZ_ERR_ARG, "adamw: eps = %g must be finite and > 0", cfg->eps);
    if (!(cfg->weight_decay >= 0 && isfinite(cfg->weight_decay)))
        return rz_error_set(err, RZ_ERR_ARG, "adamw: weight_decay = %g must be finite and >= 0",
                            cfg->weight_decay);
    if (!(cfg->grad_clip >= 0 && isfinite(cfg->grad_clip)))
        return rz_error_set(err, RZ_ERR_ARG, "adamw: grad_clip = %g must be finite and >= 0 (0 = off)",
                            cfg->grad_clip);
    if (cfg->warmup < 0)
        return rz_error_set(err, RZ_ERR_ARG, "adamw: warmup = %d must be >= 0", cfg->warmup);
    if (cfg->total_steps < 0)
        return rz_error_set(err, RZ_ERR_ARG, "adamw: total_steps = %d must be >= 0 (0 = constant)",
                            cfg->total_steps);
    if (!(cfg->min_lr_ratio >= 0 && cfg->min_lr_ratio <= 1))
        return rz_error_set(err, RZ_ERR_ARG, "adamw: min_lr_ratio = %g must be in [0, 1]",
                            cfg->min_lr_ratio);
    return RZ_OK;
}

int rz_adamw_step(rz_params *p, const rz_adamw_config *cfg, long step, float *grad_norm,
                  rz_error *err)
{
    if (grad_norm) *grad_norm = NAN;
    if (!p || !cfg) return rz_error_set(err, RZ_ERR_ARG, "adamw: params or config is NULL");
    if (!p->param) return rz_error_set(err, RZ_ERR_STATE, "adamw: params are not allocated");
    if (step < 0) return rz_error_set(err, RZ_ERR_ARG, "adamw: step = %ld must be >= 0", step);
    int rc = config_check(cfg, err);
    if (rc) return rc;

    /* one pass for the norm; a NaN/Inf anywhere makes the sum non-finite (finite floats
     * squared cannot overflow a double), and only then do we look for the culprit */
    double sumsq = 0.0;
    for (int i = 0; i < p->count; i++) {
        const float *g = p->grad + p->tensors[i].offset;
        for (size_t j = 0; j < p->tensors[i].numel; j++) sumsq += (double)g[j] * (double)g[j];
    }
    if (!isfinite(sumsq)) {
        const char *bad = rz_params_nonfinite(p, p->grad);
        return rz_error_set(err, RZ_ERR_NONFINITE,
                            "adamw: the gradient of '%s' is not finite (NaN or Inf) at step %ld; "
                            "parameters left unchanged",
                            bad ? bad : "?", step);
    }
    const double norm = sqrt(sumsq);
    if (grad_norm) *grad_norm = (float)norm;
    const float scale =
        (cfg->grad_clip > 0 && norm > cfg->grad_clip) ? (float)(cfg->grad_clip / norm) : 1.0f;

    const float lr = rz_adamw_lr(cfg, step);
    const float b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps;
    const float bc1 = (float)(1.0 - pow(cfg->beta1, (double)step + 1.0));
    const float bc2 = (float)(1.0 - pow(cfg->beta2, (double)step + 1.0));
    const int count = p->count;
#pragma omp parallel if (p->numel >= 16384)
    for (int i = 0; i < count; i++) {
        const rz_tensor *t = &p->tensors[i];
        const float wd = t->decay ? cfg->weight_decay : 0.0f;
        float *w = p->param + t->offset, *g = p->grad + t->offset;
        float *m = p->m + t->offset, *v = p->v + t->offset;
        const long n = (long)t->numel;
#pragma omp for schedule(static) nowait
        for (long j = 0; j < n; j++) {
            float gj = g[j] * scale;
            float mj = b1 * m[j] + (1.0f - b1) * gj;
            float vj = b2 * v[j] + (1.0f - b2) * gj * gj;
            m[j] = mj;
            v[j] = vj;
            float mhat = mj / bc1, vhat = vj / bc2;
            w[j] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * w[j]);
        }
    }
    return RZ_OK;
}

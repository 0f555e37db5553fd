/* ops.c: layer functions (forward/backward pairs) for the models and the GRPO objective.
 *
 * Determinism: parallel loops only ever split work whose outputs are disjoint (rows, heads,
 * or column blocks for weight-gradient reductions), and every sum runs in a fixed order,
 * so results are bit-identical for any OMP_NUM_THREADS. No float atomics. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops.h"

/* ------------------------------------------------------------- log-softmax */

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

/* ------------------------------------------------------------------ matmul */

void rz_matmul_forward(float *out, const float *in, const float *w, int N, int IC, int OC)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, in, IC, w, IC, 0.0f,
                out, OC);
}

void rz_matmul_backward(float *din, float *dw, const float *dout, const float *in,
                        const float *w, int N, int IC, int OC)
{
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, w, IC,
                    1.0f, din, IC);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, in, IC,
                    1.0f, dw, IC);
}

/* Eight interleaved partial sums combined in a fixed tree: the compiler can keep them in
 * vector registers, and the result is the same whichever caller asks. */
#define LANES 8

static float dot_lanes(const float *a, const float *b, int n)
{
    float acc[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += a[i + j] * b[i + j];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Four dot products sharing one input row; each equals dot_lanes bit for bit. */
static void dot4_lanes(float *out, const float *a, const float *b, int ld, int n)
{
    float acc[4][LANES] = {{0}};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < LANES; j++) acc[r][j] += a[i + j] * b[(size_t)r * ld + i + j];
    for (int r = 0; r < 4; r++) {
        const float *c = acc[r];
        float s = ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
        for (int k = i; k < n; k++) s += a[k] * b[(size_t)r * ld + k];
        out[r] = s;
    }
}

void rz_matmul_rows(float *out, const float *in, const float *w, int N, int IC, int OC)
{
    /* blocks of output channels keep a slice of W in cache while every row passes by */
    enum { OB = 32 };
    int nblocks = (OC + OB - 1) / OB;
#pragma omp parallel for schedule(static) if((size_t)N * IC * OC / 2 >= RZ_PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int o0 = blk * OB, o1 = o0 + OB < OC ? o0 + OB : OC;
        for (int n = 0; n < N; n++) {
            const float *x = in + (size_t)n * IC;
            float *y = out + (size_t)n * OC;
            int o = o0;
            for (; o + 4 <= o1; o += 4) dot4_lanes(y + o, x, w + (size_t)o * IC, IC, IC);
            for (; o < o1; o++) y[o] = dot_lanes(x, w + (size_t)o * IC, IC);
        }
    }
}

/* --------------------------------------------------------------- embedding */

void rz_embedding_forward(float *out, const int *tokens, const float *wte, int N, int C)
{
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * C, wte + (size_t)tokens[n] * C, (size_t)C * sizeof(float));
}

void rz_embedding_backward(float *dwte, const float *dout, const int *tokens, int N, int C)
{
    /* Rows sharing a token would race; split by columns instead, rows in order. */
    enum { CB = 16 };
    int nblocks = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
        for (int n = 0; n < N; n++) {
            float *d = dwte + (size_t)tokens[n] * C;
            const float *g = dout + (size_t)n * C;
            for (int c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}

/* ----------------------------------------------------------------- rmsnorm */

void rz_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C,
                        float eps)
{
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++) ss += xr[c] * xr[c];
        float r = 1.0f / sqrtf(ss / C + eps);
        rstd[n] = r;
        for (int c = 0; c < C; c++) o[c] = xr[c] * r * w[c];
    }
}

void rz_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                         const float *rstd, int N, int C)
{
    /* dx_j = r w_j dy_j - x_j r^3 / C * sum_i w_i dy_i x_i */
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C, *g = dout + (size_t)n * C;
        float *d = dx + (size_t)n * C;
        float r = rstd[n];
        float dot = 0.0f;
        for (int c = 0; c < C; c++) dot += w[c] * g[c] * xr[c];
        float k = dot * r * r * r / C;
        for (int c = 0; c < C; c++) d[c] += r * w[c] * g[c] - k * xr[c];
    }
    enum { CB = 16 };
    int nblocks = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *g = dout + (size_t)n * C;
            float r = rstd[n];
            for (int c = c0; c < c1; c++) dw[c] += g[c] * xr[c] * r;
        }
    }
}

/* -------------------------------------------------------------------- rope */

void rz_rope_table(float *cos_t, float *sin_t, int P, int hd, float theta)
{
    int half = hd / 2;
    for (int p = 0; p < P; p++)
        for (int i = 0; i < half; i++) {
            double inv_freq = pow((double)theta, -2.0 * i / hd);
            double a = p * inv_freq;
            cos_t[(size_t)p * half + i] = (float)cos(a);
            sin_t[(size_t)p * half + i] = (float)sin(a);
        }
}

void rz_rope_forward(float *out, const float *x, const int *pos, const float *cos_t,
                     const float *sin_t, int N, int NH, int hd)
{
    int half = hd / 2, C = NH * hd;
#pragma omp parallel for schedule(static) if((size_t)N * NH * hd >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *cs = cos_t + (size_t)pos[n] * half, *sn = sin_t + (size_t)pos[n] * half;
        for (int h = 0; h < NH; h++) {
            const float *xi = x + (size_t)n * C + h * hd;
            float *o = out + (size_t)n * C + h * hd;
            for (int i = 0; i < half; i++) {
                float x1 = xi[i], x2 = xi[i + half];
                o[i] = x1 * cs[i] - x2 * sn[i];
                o[i + half] = x2 * cs[i] + x1 * sn[i];
            }
        }
    }
}

void rz_rope_backward(float *dx, const float *dout, const int *pos, const float *cos_t,
                      const float *sin_t, int N, int NH, int hd)
{
    int half = hd / 2, C = NH * hd;
#pragma omp parallel for schedule(static) if((size_t)N * NH * hd >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *cs = cos_t + (size_t)pos[n] * half, *sn = sin_t + (size_t)pos[n] * half;
        for (int h = 0; h < NH; h++) {
            const float *g = dout + (size_t)n * C + h * hd;
            float *d = dx + (size_t)n * C + h * hd;
            for (int i = 0; i < half; i++) {
                float g1 = g[i], g2 = g[i + half];
                /* read both before writing: dx may alias dout */
                float d1 = g1 * cs[i] + g2 * sn[i];
                float d2 = g2 * cs[i] - g1 * sn[i];
                if (d == g) {
                    d[i] = d1;
                    d[i + half] = d2;
                } else {
                    d[i] += d1;
                    d[i + half] += d2;
                }
            }
        }
    }
}

/* --------------------------------------------------------------- attention */

void rz_attention_row(float *out, float *p, const float *q, const float *k, const float *v,
                      int stride, int n, int hd)
{
    float scale = 1.0f / sqrtf((float)hd);
    float mx = -INFINITY;
    for (int u = 0; u < n; u++) {
        const float *ku = k + (size_t)u * stride;
        float s = 0.0f;
        for (int i = 0; i < hd; i++) s += q[i] * ku[i];
        s *= scale;
        p[u] = s;
        if (s > mx) mx = s;
    }
    float sum = 0.0f;
    for (int u = 0; u < n; u++) {
        p[u] = expf(p[u] - mx);
        sum += p[u];
    }
    float inv = 1.0f / sum;
    for (int u = 0; u < n; u++) p[u] *= inv;
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int u = 0; u < n; u++) {
        const float *vu = v + (size_t)u * stride;
        for (int i = 0; i < hd; i++) out[i] += p[u] * vu[i];
    }
}

void rz_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                          int B, int T, int C, int NH)
{
    int hd = C / NH;
#pragma omp parallel for collapse(2) schedule(static) if((size_t)B * T * T * C / 2 >= RZ_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t base = (size_t)b * T * C + (size_t)h * hd;
            for (int t = 0; t < T; t++) {
                float *p = att + (((size_t)b * NH + h) * T + t) * T;
                rz_attention_row(out + base + (size_t)t * C, p, q + base + (size_t)t * C, k + base,
                                 v + base, C, t + 1, hd);
            }
        }
}

void rz_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *att, const float *q, const float *k, const float *v, int B,
                           int T, int C, int NH)
{
    int hd = C / NH;
    float scale = 1.0f / sqrtf((float)hd);
    /* Each (b, h) touches only its own head slice of dq, dk, dv: no two threads share a row. */
#pragma omp parallel for collapse(2) schedule(static) if((size_t)B * T * T * C >= RZ_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t base = (size_t)b * T * C + (size_t)h * hd;
            float *dp = scratch + ((size_t)b * NH + h) * T;
            for (int t = 0; t < T; t++) {
                const float *p = att + (((size_t)b * NH + h) * T + t) * T;
                const float *g = dout + base + (size_t)t * C;
                const float *qt = q + base + (size_t)t * C;
                float *dqt = dq + base + (size_t)t * C;
                float s = 0.0f;
                for (int u = 0; u <= t; u++) {
                    const float *vu = v + base + (size_t)u * C;
                    float *dvu = dv + base + (size_t)u * C;
                    float d = 0.0f;
                    for (int i = 0; i < hd; i++) {
                        d += g[i] * vu[i];
                        dvu[i] += p[u] * g[i];
                    }
                    dp[u] = d;
                    s += p[u] * d;
                }
                for (int u = 0; u <= t; u++) {
                    float ds = p[u] * (dp[u] - s) * scale;
                    const float *ku = k + base + (size_t)u * C;
                    float *dku = dk + base + (size_t)u * C;
                    for (int i = 0; i < hd; i++) {
                        dqt[i] += ds * ku[i];
                        dku[i] += ds * qt[i];
                    }
                }
            }
        }
}

/* ------------------------------------------------------------------ swiglu */

void rz_swiglu_forward(float *out, const float *gate, const float *up, size_t n)
{
#pragma omp parallel for schedule(static) if(n >= RZ_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void rz_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                        const float *up, size_t n)
{
#pragma omp parallel for schedule(static) if(n >= RZ_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        float s = 1.0f / (1.0f + expf(-g));
        float silu = g * s;
        dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] += dout[i] * silu;
    }
}

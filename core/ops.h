/* ops.h: layer functions shared by the models (internal; not installed).
 *
 * Every layer is a forward/backward pair of free functions: outputs first, then inputs
 * and weights, then sizes. Backward functions accumulate (+=) into every gradient they
 * produce, so callers zero what they want fresh. Matrices are row-major and weights are
 * stored (out, in) as in PyTorch's nn.Linear: y = x W^T.
 *
 * The names carry the rz_ prefix only because the tests link against the shared library,
 * which exports rz_* symbols alone; they are not part of the public API.
 *
 * Every function is deterministic: parallel loops split independent rows (or columns for
 * weight-like reductions) and each sum runs in a fixed order, so results do not depend on
 * the number of OpenMP threads. */
#ifndef RZ_OPS_H
#define RZ_OPS_H

#include "rlzero.h"

/* Parallel regions cost microseconds to open; below this much work (in elements or
 * multiply-adds) a loop runs on the calling thread. The split never changes results. */
#define RZ_PAR_MIN 32768

/* out = in W^T through cblas_sgemm. */
void rz_matmul_forward(float *out /* (N, OC) */, const float *in /* (N, IC) */,
                       const float *w /* (OC, IC) */, int N, int IC, int OC);
/* din += dout W; dw += dout^T in. din or dw may be NULL to skip that gradient. */
void rz_matmul_backward(float *din /* (N, IC) */, float *dw /* (OC, IC) */,
                        const float *dout /* (N, OC) */, const float *in /* (N, IC) */,
                        const float *w /* (OC, IC) */, int N, int IC, int OC);
/* out = in W^T like rz_matmul_forward, but each output element is a dot product with a
 * fixed summation order, so a row's result never depends on the other rows of the call
 * (the KV-cache decode needs this batch invariance; BLAS may switch kernels with N). */
void rz_matmul_rows(float *out /* (N, OC) */, const float *in /* (N, IC) */,
                    const float *w /* (OC, IC) */, int N, int IC, int OC);

/* out[n] = wte[tokens[n]]; tokens must already be valid. */
void rz_embedding_forward(float *out /* (N, C) */, const int *tokens /* (N) */,
                          const float *wte /* (V, C) */, int N, int C);
void rz_embedding_backward(float *dwte /* (V, C) */, const float *dout /* (N, C) */,
                           const int *tokens /* (N) */, int N, int C);

/* out = x / sqrt(mean(x^2) + eps) * w; rstd keeps 1 / sqrt(mean(x^2) + eps) per row. */
void rz_rmsnorm_forward(float *out /* (N, C) */, float *rstd /* (N) */, const float *x /* (N, C) */,
                        const float *w /* (C) */, int N, int C, float eps);
void rz_rmsnorm_backward(float *dx /* (N, C) */, float *dw /* (C) */, const float *dout /* (N, C) */,
                         const float *x /* (N, C) */, const float *w /* (C) */,
                         const float *rstd /* (N) */, int N, int C);

/* RoPE tables for Hugging Face Llama's rotate-half convention: for i < hd/2,
 * inv_freq_i = theta^(-2i/hd), cos/sin[p, i] = cos/sin(p * inv_freq_i) (computed in double). */
void rz_rope_table(float *cos_t /* (P, hd/2) */, float *sin_t /* (P, hd/2) */, int P, int hd,
                   float theta);
/* Rotates, in each head, the pairs (x[i], x[i + hd/2]) by the angle of position pos[n]:
 * out may alias x. */
void rz_rope_forward(float *out /* (N, NH*hd) */, const float *x /* (N, NH*hd) */,
                     const int *pos /* (N) */, const float *cos_t, const float *sin_t, int N,
                     int NH, int hd);
/* dx += R^T dout (the inverse rotation); dx may alias dout only when dx held zero. */
void rz_rope_backward(float *dx /* (N, NH*hd) */, const float *dout /* (N, NH*hd) */,
                      const int *pos /* (N) */, const float *cos_t, const float *sin_t, int N,
                      int NH, int hd);

/* One query against n keys/values of one head: p = softmax(q.k_u / sqrt(hd)),
 * out = sum_u p_u v_u. The keys come transposed in tiles of eight keys: element i of key u
 * is kt[(u / 8) * 8 hd + 8 i + u % 8], and the tiles up to n rounded up to a multiple of 8
 * must be readable (the extra lanes are computed and ignored). Value rows are ldv floats
 * apart. p needs n floats. The result depends on q, the keys, the values and n alone, so a
 * decode row is batch-invariant. */
void rz_attention_row(float *out /* (hd) */, float *p /* (n) */, const float *q /* (hd) */,
                      const float *kt /* (n/8, hd, 8) */, const float *v /* (n, ldv) */,
                      size_t ldv, int n, int hd);
/* One decode row, heads [h0, h1) of NH: for each head h, rz_attention_row of q's head h
 * against the row's first n positions, the same bits, written to out's head h, with head
 * h's probabilities in p + h * ldp. The cache is position-major: kc holds tiles of eight
 * positions, each tile every head's keys transposed (element i of head h of position u
 * at kc[(u / 8) * 8C + 8 hd h + 8i + u % 8], C = NH hd; the tiles up to n rounded up to 8
 * must be readable), and vc the values as rows of C. kn and nn name the keys and length of
 * the row computed next (NULL if none): a hint, with all the heads, to fetch its first
 * keys ahead; the results never depend on it. */
void rz_attention_decode(float *out /* (C) */, float *p /* (NH, ldp) */, size_t ldp,
                         const float *q /* (C) */, const float *kc /* (n/8, NH, hd, 8) */,
                         const float *vc /* (n, C) */, int n, int h0, int h1, int NH, int hd,
                         const float *kn, int nn);
/* Causal multi-head attention over (B, T): q, k, v already projected (and rotated);
 * att keeps the probabilities for backward (entries above the diagonal are unspecified).
 * Returns RZ_ERR_NOMEM when its per-thread workspace cannot be allocated. */
int rz_attention_forward(float *out /* (B, T, C) */, float *att /* (B, NH, T, T) */,
                         const float *q /* (B, T, C) */, const float *k /* (B, T, C) */,
                         const float *v /* (B, T, C) */, int B, int T, int C, int NH);
/* scratch is no longer used (kept for callers); the workspace is allocated per call.
 * Returns RZ_ERR_NOMEM when it cannot be. */
int rz_attention_backward(float *dq /* (B, T, C) */, float *dk /* (B, T, C) */,
                          float *dv /* (B, T, C) */, float *scratch /* (B, NH, T) */,
                          const float *dout /* (B, T, C) */, const float *att /* (B, NH, T, T) */,
                          const float *q, const float *k, const float *v, int B, int T, int C,
                          int NH);

/* rz_attention_backward that overwrites dq, dk and dv (they need not hold anything). */
int rz_attention_backward_set(float *dq /* (B, T, C) */, float *dk /* (B, T, C) */,
                              float *dv /* (B, T, C) */, const float *dout /* (B, T, C) */,
                              const float *att /* (B, NH, T, T) */, const float *q,
                              const float *k, const float *v, int B, int T, int C, int NH);

/* out = silu(gate) * up, elementwise over n values. */
void rz_swiglu_forward(float *out /* (n) */, const float *gate /* (n) */, const float *up /* (n) */,
                       size_t n);
void rz_swiglu_backward(float *dgate /* (n) */, float *dup /* (n) */, const float *dout /* (n) */,
                        const float *gate /* (n) */, const float *up /* (n) */, size_t n);

/* rz_swiglu_backward that overwrites dgate and dup. */
void rz_swiglu_backward_set(float *dgate /* (n) */, float *dup /* (n) */,
                            const float *dout /* (n) */, const float *gate /* (n) */,
                            const float *up /* (n) */, size_t n);

#endif

/* mlp.c: the game policy, an MLP from an observation vector to action logits.
 *
 *   h_0 = act(obs @ W_0^T + b_0)             W_0   (hidden, inputs)
 *   h_l = act(h_{l-1} @ W_l^T + b_l)         W_l   (hidden, hidden), l = 1..layers-1
 *   logits = h_{L-1} @ W_out^T + b_out       W_out (outputs, hidden)
 *   logits[b, a] = -INFINITY where mask[b, a] == 0
 *   value = tanh(h_{L-1} @ W_v^T + b_v)      W_v   (1, hidden), only with cfg.value = 1
 *
 * The value head is the expected return for the player to move; it shares the hidden
 * layers with the policy. Its tensors ("mlp.value.weight" / "mlp.value.bias") come after
 * every other one in the table and are drawn last, so a network without the head is drawn
 * exactly as before the head existed.
 *
 * Tensors: "mlp.N.weight" / "mlp.N.bias" for the hidden layers, "mlp.out.weight" /
 * "mlp.out.bias" for the output layer; weights decay, biases do not.
 *
 * Initialisation (from rz_rng_seed(seed), tensors drawn in table order, rz_rng_uniform per
 * element): weights ~ U(-a, a) with a = gain * sqrt(3 / fan_in), which gives variance
 * gain^2 / fan_in (Kaiming/He); gain = sqrt(2) for ReLU and 5/3 for tanh (the gains of
 * torch.nn.init.calculate_gain). The output layer uses gain 1 scaled by 0.01 so that the
 * initial logits are near zero and the initial policy near uniform over legal actions.
 * Biases start at zero.
 *
 * Results are bitwise the same for any thread count. The matmuls whose inner dimension is
 * a layer's width (forward, and the gradient at a layer's input) go through cblas_sgemm,
 * which splits them over rows only. The weight gradients sum over the batch, and a BLAS
 * sgemm blocks that inner dimension differently for different thread counts (OpenBLAS did,
 * with a few thousand rows), so they use our own kernel (wgrad below): every element is
 * summed over the batch in row order from its old value, however the work is tiled or
 * split. Element-wise work is split over rows or columns with OpenMP, each output written
 * by one thread, and the bias gradients are summed in row order too.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "rlzero.h"

#define MLP_MAX_INPUTS (1 << 20)
#define MLP_MAX_OUTPUTS (1 << 20)
#define MLP_MAX_LAYERS 64
#define MLP_MAX_HIDDEN 65536
#define MLP_OUT_SCALE 0.01f
/* element-wise loops smaller than this run on one thread: forking costs more */
#define MLP_OMP_MIN 16384
/* weight gradients with fewer multiply-adds than this run on one thread */
#define MLP_WGRAD_PAR_MIN (1 << 18)
/* rows of the batch per pass of wgrad: a slice of the layer input (up to 128 KiB for
 * 256 columns) stays in cache while every tile of the gradient passes over it */
#define MLP_WGRAD_ROWS 128

struct rz_mlp {
    rz_mlp_config cfg;
    rz_params params;
    /* pointers into params.param / params.grad, set after alloc */
    float **w, **b, **dw, **db; /* each [layers + 1]; index `layers` is the output layer */
    float *wv, *bv, *dwv, *dbv; /* the value head (1, hidden), (1); NULL without one */
    /* activations of the last forward, sized for cap rows */
    int B, cap;
    float *obs;     // (B, inputs) a copy: the input of layer 0 for backward
    float *h;       // (layers, B, hidden) post-activation outputs
    float *logits;  // (B, outputs)
    float *value;   // (B) with a value head
    float *dvpre;   // (B) gradient at the value head's pre-activation
    uint8_t *mask;  // (B, outputs) a copy; 1 = legal
    float *dz;      // (B, max(outputs, hidden)) gradient at a layer's pre-activation
    float *dh;      // (B, hidden) gradient at a layer's output
};

int rz_mlp_config_check(const rz_mlp_config *cfg, rz_error *err)
{
    if (!cfg) return rz_error_set(err, RZ_ERR_ARG, "mlp: config is NULL");
    if (cfg->inputs < 1 || cfg->inputs > MLP_MAX_INPUTS)
        return rz_error_set(err, RZ_ERR_ARG, "mlp: inputs = %d must be in 1..%d", cfg->inputs,
                            MLP_MAX_INPUTS);
    if (cfg->outputs < 1 || cfg->outputs > MLP_MAX_OUTPUTS)
        return rz_error_set(err, RZ_ERR_ARG, "mlp: outputs = %d must be in 1..%d", cfg->outputs,
                            MLP_MAX_OUTPUTS);
    if (cfg->layers < 1 || cfg->layers > MLP_MAX_LAYERS)
        return rz_error_set(err, RZ_ERR_ARG, "mlp: layers = %d must be in 1..%d", cfg->layers,
                            MLP_MAX_LAYERS);
    if (cfg->hidden < 1 || cfg->hidden > MLP_MAX_HIDDEN)
        return rz_error_set(err, RZ_ERR_ARG, "mlp: hidden = %d must be in 1..%d", cfg->hidden,
                            MLP_MAX_HIDDEN);
    if (cfg->activation != RZ_ACT_RELU && cfg->activation != RZ_ACT_TANH)
        return rz_error_set(err, RZ_ERR_ARG,
                            "mlp: activation = %d is not RZ_ACT_RELU (0) or RZ_ACT_TANH (1)",
                            cfg->activation);
    if (cfg->value != 0 && cfg->value != 1)
        return rz_error_set(err, RZ_ERR_ARG, "mlp: value = %d must be 0 or 1", cfg->value);
    return RZ_OK;
}

static void fill_uniform(float *x, size_t n, float bound, rz_rng *rng)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * rz_rng_uniform(rng) - 1.0) * bound);
}

int rz_mlp_create(rz_mlp **out, const rz_mlp_config *cfg, uint64_t seed, rz_error *err)
{
    if (!out) return rz_error_set(err, RZ_ERR_ARG, "mlp: out is NULL");
    *out = NULL;
    int rc = rz_mlp_config_check(cfg, err);
    if (rc) return rc;
    rz_mlp *m = calloc(1, sizeof *m);
    if (!m) return rz_error_set(err, RZ_ERR_NOMEM, "mlp: cannot allocate the model struct");
    m->cfg = *cfg;
    const int L = cfg->layers, H = cfg->hidden;
    m->w = calloc((size_t)(L + 1), sizeof *m->w);
    m->b = calloc((size_t)(L + 1), sizeof *m->b);
    m->dw = calloc((size_t)(L + 1), sizeof *m->dw);
    m->db = calloc((size_t)(L + 1), sizeof *m->db);
    if (!m->w || !m->b || !m->dw || !m->db) {
        rz_mlp_free(m);
        return rz_error_set(err, RZ_ERR_NOMEM, "mlp: cannot allocate the layer table");
    }
    char name[RZ_NAME_MAX];
    for (int l = 0; l <= L && rc == RZ_OK; l++) {
        int fan_in = l == 0 ? cfg->inputs : H;
        int fan_out = l == L ? cfg->outputs : H;
        char idx[16];
        if (l == L) snprintf(idx, sizeof idx, "out");
        else snprintf(idx, sizeof idx, "%d", l);
        int wshape[2] = {fan_out, fan_in};
        snprintf(name, sizeof name, "mlp.%s.weight", idx);
        rc = rz_params_add(&m->params, name, 2, wshape, 1, err);
        if (rc) break;
        snprintf(name, sizeof name, "mlp.%s.bias", idx);
        rc = rz_params_add(&m->params, name, 1, &fan_out, 0, err);
    }
    if (rc == RZ_OK && cfg->value) {
        int wshape[2] = {1, H}, one = 1;
        rc = rz_params_add(&m->params, "mlp.value.weight", 2, wshape, 1, err);
        if (rc == RZ_OK) rc = rz_params_add(&m->params, "mlp.value.bias", 1, &one, 0, err);
    }
    if (rc == RZ_OK) rc = rz_params_alloc(&m->params, err);
    if (rc) {
        rz_mlp_free(m);
        return rc;
    }
    rz_rng rng;
    rz_rng_seed(&rng, seed);
    const float gain = cfg->activation == RZ_ACT_RELU ? sqrtf(2.0f) : 5.0f / 3.0f;
    for (int l = 0; l <= L; l++) {
        const rz_tensor *tw = &m->params.tensors[2 * l], *tb = &m->params.tensors[2 * l + 1];
        m->w[l] = m->params.param + tw->offset;
        m->b[l] = m->params.param + tb->offset;
        m->dw[l] = m->params.grad + tw->offset;
        m->db[l] = m->params.grad + tb->offset;
        int fan_in = tw->shape[1];
        float bound = (l == L ? MLP_OUT_SCALE : gain) * sqrtf(3.0f / (float)fan_in);
        fill_uniform(m->w[l], tw->numel, bound, &rng);
        /* biases stay at zero (rz_params_alloc zeroed them) */
    }
    if (cfg->value) {
        const rz_tensor *tw = &m->params.tensors[2 * L + 2], *tb = &m->params.tensors[2 * L + 3];
        m->wv = m->params.param + tw->offset;
        m->bv = m->params.param + tb->offset;
        m->dwv = m->params.grad + tw->offset;
        m->dbv = m->params.grad + tb->offset;
        /* small, like the policy's output layer: the initial values are near 0 */
        fill_uniform(m->wv, tw->numel, MLP_OUT_SCALE * sqrtf(3.0f / (float)H), &rng);
    }
    *out = m;
    return RZ_OK;
}

static void free_acts(rz_mlp *m)
{
    rz_free(m->obs);
    rz_free(m->h);
    rz_free(m->logits);
    rz_free(m->value);
    rz_free(m->dvpre);
    rz_free(m->mask);
    rz_free(m->dz);
    rz_free(m->dh);
    m->obs = m->h = m->logits = m->dz = m->dh = m->value = m->dvpre = NULL;
    m->mask = NULL;
    m->cap = 0;
    m->B = 0;
}

void rz_mlp_free(rz_mlp *m)
{
    if (!m) return;
    free_acts(m);
    rz_params_free(&m->params);
    free(m->w);
    free(m->b);
    free(m->dw);
    free(m->db);
    free(m);
}

const rz_mlp_config *rz_mlp_cfg(const rz_mlp *m) { return &m->cfg; }
rz_params *rz_mlp_params(rz_mlp *m) { return &m->params; }
const float *rz_mlp_logits(const rz_mlp *m) { return m->logits; }
const float *rz_mlp_value(const rz_mlp *m) { return m->cfg.value ? m->value : NULL; }

/* Grows the activation buffers to hold B rows; the old contents are not kept. */
static int ensure_cap(rz_mlp *m, int B, rz_error *err)
{
    if (B <= m->cap) return RZ_OK;
    free_acts(m);
    const size_t NI = (size_t)m->cfg.inputs, O = (size_t)m->cfg.outputs,
                 H = (size_t)m->cfg.hidden, L = (size_t)m->cfg.layers, Bs = (size_t)B;
    const size_t Z = O > H ? O : H;
    if (Bs > SIZE_MAX / sizeof(float) / (L * H + NI + O + Z + H + 2))
        return rz_error_set(err, RZ_ERR_NOMEM, "mlp: a batch of %d rows is too large", B);
    m->obs = rz_alloc(Bs * NI * sizeof(float), "mlp observations", err);
    m->h = m->obs ? rz_alloc(L * Bs * H * sizeof(float), "mlp activations", err) : NULL;
    m->logits = m->h ? rz_alloc(Bs * O * sizeof(float), "mlp logits", err) : NULL;
    m->mask = m->logits ? rz_alloc(Bs * O, "mlp action mask", err) : NULL;
    m->dz = m->mask ? rz_alloc(Bs * Z * sizeof(float), "mlp backward scratch", err) : NULL;
    m->dh = m->dz ? rz_alloc(Bs * H * sizeof(float), "mlp backward scratch", err) : NULL;
    m->value = m->dh ? rz_alloc(Bs * sizeof(float), "mlp values", err) : NULL;
    m->dvpre = m->value ? rz_alloc(Bs * sizeof(float), "mlp backward scratch", err) : NULL;
    if (!m->dvpre) {
        free_acts(m);
        return RZ_ERR_NOMEM;
    }
    m->cap = B;
    return RZ_OK;
}

/* out = in @ w^T + bias, through one sgemm over the batch. */
static void linear_forward(float *out /* (B, N) */, const float *in /* (B, K) */,
                           const float *w /* (N, K) */, const float *bias /* (N) */, int B,
                           int K, int N)
{
#pragma omp parallel for if ((size_t)B * N >= MLP_OMP_MIN)
    for (int b = 0; b < B; b++) memcpy(out + (size_t)b * N, bias, (size_t)N * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, N, K, 1.0f, in, K, w, K, 1.0f, out,
                N);
}

/* The weight-gradient kernel: dw[n, k] += dout[b, n] * in[b, k] for b in order, one
 * rounded multiply and one rounded add at a time. Lanes never mix (no horizontal sums)
 * and floating-point contraction is off under -std=c11, so a vector lane, the scalar edge
 * loop, the AVX2 clone and the baseline clone all give the same bits for an element. */
typedef float mlp_v8 __attribute__((vector_size(32)));

/* The helpers below are always inlined, so the 32-byte-vector calling convention GCC
 * warns about never applies. */
#pragma GCC diagnostic ignored "-Wpsabi"

static inline __attribute__((always_inline)) mlp_v8 v8_load(const float *p)
{
    mlp_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void v8_store(float *p, mlp_v8 v)
{
    memcpy(p, &v, sizeof v);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define MLP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MLP_CLONES
#endif

/* dw[n0:n1, k0:k1] += rows b0..b1-1 of the product; n1 - n0 <= 4. */
MLP_CLONES static void wgrad_tile(float *dw /* (N, K) */, const float *dout /* (B, N) */,
                                  const float *in /* (B, K) */, int K, int N, int n0, int n1,
                                  int k0, int k1, int b0, int b1)
{
    int k = k0;
    if (n1 - n0 == 4) {
        float *w0 = dw + (size_t)n0 * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        for (; k + 16 <= k1; k += 16) {
            mlp_v8 a0 = v8_load(w0 + k), a1 = v8_load(w0 + k + 8), c0 = v8_load(w1 + k),
                   c1 = v8_load(w1 + k + 8), e0 = v8_load(w2 + k), e1 = v8_load(w2 + k + 8),
                   f0 = v8_load(w3 + k), f1 = v8_load(w3 + k + 8);
            for (int b = b0; b < b1; b++) {
                const float *x = in + (size_t)b * K + k, *d = dout + (size_t)b * N + n0;
                const mlp_v8 x0 = v8_load(x), x1 = v8_load(x + 8);
                a0 += d[0] * x0, a1 += d[0] * x1;
                c0 += d[1] * x0, c1 += d[1] * x1;
                e0 += d[2] * x0, e1 += d[2] * x1;
                f0 += d[3] * x0, f1 += d[3] * x1;
            }
            v8_store(w0 + k, a0), v8_store(w0 + k + 8, a1), v8_store(w1 + k, c0);
            v8_store(w1 + k + 8, c1), v8_store(w2 + k, e0), v8_store(w2 + k + 8, e1);
            v8_store(w3 + k, f0), v8_store(w3 + k + 8, f1);
        }
    }
    for (int n = n0; n < n1; n++) {
        float *wr = dw + (size_t)n * K;
        int j = k;
        for (; j + 8 <= k1; j += 8) {
            mlp_v8 a = v8_load(wr + j);
            for (int b = b0; b < b1; b++)
                a += dout[(size_t)b * N + n] * v8_load(in + (size_t)b * K + j);
            v8_store(wr + j, a);
        }
        for (; j < k1; j++) {
            float a = wr[j];
            for (int b = b0; b < b1; b++) a += dout[(size_t)b * N + n] * in[(size_t)b * K + j];
            wr[j] = a;
        }
    }
}

/* dw += dout^T @ in. Tiles of 4 gradient rows x 16 columns are dealt to the threads in
 * contiguous runs; each thread passes over the batch in slices of MLP_WGRAD_ROWS rows,
 * so a slice of `in` is reused from cache by all of its tiles. */
static void wgrad(float *dw /* (N, K) */, const float *dout /* (B, N) */,
                  const float *in /* (B, K) */, int B, int K, int N)
{
    const int NT = (N + 3) / 4, KT = (K + 15) / 16, T = NT * KT;
#pragma omp parallel if ((size_t)B * N * K >= MLP_WGRAD_PAR_MIN)
    {
        int t0 = 0, t1 = T;
#ifdef _OPENMP
        const int nth = omp_get_num_threads(), id = omp_get_thread_num();
        t0 = (int)((long)T * id / nth);
        t1 = (int)((long)T * (id + 1) / nth);
#endif
        for (int b0 = 0; b0 < B; b0 += MLP_WGRAD_ROWS) {
            const int b1 = B - b0 < MLP_WGRAD_ROWS ? B : b0 + MLP_WGRAD_ROWS;
            for (int t = t0; t < t1; t++) {
                const int n0 = t / KT * 4, k0 = t % KT * 16;
                wgrad_tile(dw, dout, in, K, N, n0, n0 + 4 < N ? n0 + 4 : N, k0,
                           k0 + 16 < K ? k0 + 16 : K, b0, b1);
            }
        }
    }
}

/* dw += dout^T @ in (wgrad); dbias += column sums of dout (each column summed over b in
 * order); din = dout @ w when din is not NULL. */
static void linear_backward(float *din /* (B, K) or NULL */, float *dw /* (N, K) */,
                            float *dbias /* (N) */, const float *dout /* (B, N) */,
                            const float *in /* (B, K) */, const float *w /* (N, K) */, int B,
                            int K, int N)
{
    wgrad(dw, dout, in, B, K, N);
#pragma omp parallel for if ((size_t)B * N >= MLP_OMP_MIN)
    for (int n = 0; n < N; n++) {
        float s = 0.0f;
        for (int b = 0; b < B; b++) s += dout[(size_t)b * N + n];
        dbias[n] += s;
    }
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, K, N, 1.0f, dout, N, w, K, 0.0f,
                    din, K);
}

int rz_mlp_forward(rz_mlp *m, const float *obs, const uint8_t *mask, int B, rz_error *err)
{
    if (!m || !obs) return rz_error_set(err, RZ_ERR_ARG, "mlp forward: model or obs is NULL");
    if (B < 1) return rz_error_set(err, RZ_ERR_ARG, "mlp forward: batch B = %d must be >= 1", B);
    const int NI = m->cfg.inputs, O = m->cfg.outputs, H = m->cfg.hidden, L = m->cfg.layers;
    /* validate the whole mask before touching any state */
    if (mask) {
        for (int b = 0; b < B; b++) {
            const uint8_t *mr = mask + (size_t)b * O;
            int any = 0;
            for (int a = 0; a < O && !any; a++) any = mr[a] != 0;
            if (!any)
                return rz_error_set(err, RZ_ERR_ARG,
                                    "mlp forward: row %d of the mask has no legal action", b);
        }
    }
    int rc = ensure_cap(m, B, err);
    if (rc) return rc;
    m->B = 0; /* invalid until this forward completes */
    memcpy(m->obs, obs, (size_t)B * NI * sizeof(float));
    if (mask) memcpy(m->mask, mask, (size_t)B * O);
    else memset(m->mask, 1, (size_t)B * O);

    const float *in = m->obs;
    int K = NI;
    for (int l = 0; l < L; l++) {
        float *h = m->h + (size_t)l * B * H; // (B, H)
        linear_forward(h, in, m->w[l], m->b[l], B, K, H);
        const size_t n = (size_t)B * H;
        if (m->cfg.activation == RZ_ACT_RELU) {
#pragma omp parallel for if (n >= MLP_OMP_MIN)
            for (size_t i = 0; i < n; i++) h[i] = h[i] > 0.0f ? h[i] : 0.0f;
        } else {
#pragma omp parallel for if (n >= MLP_OMP_MIN)
            for (size_t i = 0; i < n; i++) h[i] = tanhf(h[i]);
        }
        in = h;
        K = H;
    }
    linear_forward(m->logits, in, m->w[L], m->b[L], B, H, O);
    const size_t n = (size_t)B * O;
    for (size_t i = 0; i < n; i++)
        if (!m->mask[i]) m->logits[i] = -INFINITY;
    if (m->cfg.value) {
        /* one output: a dot product per row, summed in order (no BLAS blocking to vary) */
        for (int b = 0; b < B; b++) {
            const float *x = in + (size_t)b * H;
            float z = m->bv[0];
            for (int k = 0; k < H; k++) z += x[k] * m->wv[k];
            m->value[b] = tanhf(z);
        }
    }
    m->B = B;
    return RZ_OK;
}

int rz_mlp_backward(rz_mlp *m, const float *dlogits, rz_error *err)
{
    if (!m || !dlogits) return rz_error_set(err, RZ_ERR_ARG, "mlp backward: model or dlogits is NULL");
    return rz_mlp_backward_value(m, dlogits, NULL, err);
}

int rz_mlp_backward_value(rz_mlp *m, const float *dlogits, const float *dvalue, rz_error *err)
{
    if (!m) return rz_error_set(err, RZ_ERR_ARG, "mlp backward: model is NULL");
    if (dvalue && !m->cfg.value)
        return rz_error_set(err, RZ_ERR_ARG, "mlp backward: dvalue given, but the mlp has no value head");
    if (m->B < 1) return rz_error_set(err, RZ_ERR_STATE, "mlp backward: no forward to go back from");
    const int B = m->B, NI = m->cfg.inputs, O = m->cfg.outputs, H = m->cfg.hidden,
              L = m->cfg.layers;
    /* illegal actions carry no gradient: their logit is a constant -inf, and a caller's
     * dlogits there (often NaN from 0 * inf) must not leak into the weights */
    float *dz = m->dz; // (B, O)
    const size_t n = (size_t)B * O;
    for (size_t i = 0; i < n; i++) dz[i] = dlogits && m->mask[i] ? dlogits[i] : 0.0f;

    const float *h_last = m->h + (size_t)(L - 1) * B * H;
    linear_backward(m->dh, m->dw[L], m->db[L], dz, h_last, m->w[L], B, H, O);
    if (dvalue) {
        for (int b = 0; b < B; b++) m->dvpre[b] = dvalue[b] * (1.0f - m->value[b] * m->value[b]);
        wgrad(m->dwv, m->dvpre, h_last, B, H, 1);
        float sb = 0.0f;
        for (int b = 0; b < B; b++) sb += m->dvpre[b];
        m->dbv[0] += sb;
#pragma omp parallel for if ((size_t)B * H >= MLP_OMP_MIN)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < H; k++) m->dh[(size_t)b * H + k] += m->dvpre[b] * m->wv[k];
    }
    for (int l = L - 1; l >= 0; l--) {
        const float *h = m->h + (size_t)l * B * H; // (B, H)
        const size_t nh = (size_t)B * H;
        /* dz = dh * act'(pre), written from the post-activation h */
        if (m->cfg.activation == RZ_ACT_RELU) {
#pragma omp parallel for if (nh >= MLP_OMP_MIN)
            for (size_t i = 0; i < nh; i++) dz[i] = h[i] > 0.0f ? m->dh[i] : 0.0f;
        } else {
#pragma omp parallel for if (nh >= MLP_OMP_MIN)
            for (size_t i = 0; i < nh; i++) dz[i] = m->dh[i] * (1.0f - h[i] * h[i]);
        }
        const float *in = l == 0 ? m->obs : m->h + (size_t)(l - 1) * B * H;
        const int K = l == 0 ? NI : H;
        linear_backward(l == 0 ? NULL : m->dh, m->dw[l], m->db[l], dz, in, m->w[l], B, K, H);
    }
    return RZ_OK;
}

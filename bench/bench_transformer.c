/* bench_transformer.c: training (forward + backward) and KV-cache decode throughput of the
 * transformer, in tokens per second, for two model sizes. A figure, never a pass/fail test.
 *
 * A second table gives each workload's fp32 ceiling on this machine, in the same units:
 *  - training: the step's matrix products alone (forward, input and weight gradients of
 *    every linear layer and the LM head), each run by the BLAS's sgemm at the step's own
 *    shapes: the throughput if attention, norms and everything else took no time;
 *  - decode (batches of 16 and more): each new token's products at the best rate sgemm
 *    reaches in the training shapes, plus its reads of the KV cache (keys and values of
 *    every earlier position, on average (T + 1) / 2 of them) at the rate the threads
 *    stream memory. Batch 1 has none: its cost is reading the weights, which sit in L3
 *    or memory depending on the machine.
 * A speedup over another implementation beyond ceiling / its figure needs less than fp32
 * work, not a faster kernel.
 *
 * usage: bench_transformer [seconds per measurement, default 2] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "rlzero.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void die(int rc, const rz_error *err)
{
    fprintf(stderr, "bench_transformer: %s: %s\n", rz_status_name(rc), err->msg);
    exit(1);
}

/* Tokens per second of forward + backward of the cross-entropy over (B, T). */
static double bench_train(rz_transformer *m, int B, int T, double budget)
{
    rz_error err = {0};
    int V = rz_transformer_cfg(m)->vocab, N = B * T;
    int *tok = malloc(sizeof(int) * (N + 1));
    if (!tok) die(RZ_ERR_NOMEM, &err);
    rz_rng rng;
    rz_rng_seed(&rng, 1);
    for (int i = 0; i <= N; i++) tok[i] = (int)rz_rng_below(&rng, V);
    float loss;
    int rc = rz_transformer_loss(m, tok, tok + 1, NULL, B, T, 1, &loss, &err); /* warm up */
    if (rc) die(rc, &err);
    long iters = 0;
    double t0 = now(), t;
    do {
        rz_params_zero_grad(rz_transformer_params(m));
        rc = rz_transformer_loss(m, tok, tok + 1, NULL, B, T, 1, &loss, &err);
        if (rc) die(rc, &err);
        iters++;
    } while ((t = now() - t0) < budget);
    free(tok);
    return (double)iters * N / t;
}

/* Tokens per second of decoding `batch` sequences position by position up to T. */
static double bench_decode(rz_transformer *m, int batch, int T, double budget)
{
    rz_error err = {0};
    int V = rz_transformer_cfg(m)->vocab;
    rz_kvcache *c = NULL;
    int rc = rz_kvcache_create(&c, m, batch, T, &err);
    if (rc) die(rc, &err);
    int *slot = malloc(sizeof(int) * batch), *pos = malloc(sizeof(int) * batch);
    int *tok = malloc(sizeof(int) * batch);
    float *logits = malloc(sizeof(float) * batch * V);
    if (!slot || !pos || !tok || !logits) die(RZ_ERR_NOMEM, &err);
    for (int i = 0; i < batch; i++) slot[i] = i, tok[i] = i % V;
    long tokens = 0;
    double t0 = now(), t;
    do {
        for (int p = 0; p < T; p++) { /* whole sequences, so every position's cost counts */
            for (int i = 0; i < batch; i++) pos[i] = p;
            rc = rz_transformer_decode(m, c, batch, slot, pos, tok, logits, &err);
            if (rc) die(rc, &err);
            for (int i = 0; i < batch; i++) tok[i] = (tok[i] * 7 + 3) % V;
            tokens += batch;
        }
    } while ((t = now() - t0) < budget);
    free(slot), free(pos), free(tok), free(logits);
    rz_kvcache_free(c);
    return tokens / t;
}

/* ----------------------------------------------------------- fp32 ceilings */

enum { FORWARD, INPUT_GRAD, WEIGHT_GRAD };

/* n floats, or the end of the benchmark with what could not be allocated */
static float *floats(size_t n, const char *what)
{
    float *p = malloc(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "bench_transformer: cannot allocate %zu floats for %s\n", n, what);
        exit(1);
    }
    return p;
}

/* Seconds per call of one sgemm of a linear layer in over N rows, in the given form:
 * out = in W^T, d_in += d_out W, or d_W += d_out^T in (W is out x in, row-major). */
static double sgemm_seconds(int form, int N, int in, int out, double budget)
{
    size_t na = (size_t)N * (in > out ? in : out), nw = (size_t)in * out;
    float *a = floats(na, "an sgemm's rows"), *b = floats(na, "an sgemm's rows");
    float *w = floats(nw, "an sgemm's weights"), *g = floats(nw, "an sgemm's weights");
    for (size_t i = 0; i < na; i++) a[i] = (float)(i % 13) * 0.01f, b[i] = 0.0f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)(i % 7) * 0.01f, g[i] = 0.0f;
    long calls = 0;
    double t0 = now(), t;
    do {
        if (form == FORWARD)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, a, in, w, in,
                        0.0f, b, out);
        else if (form == INPUT_GRAD)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, a, out, w,
                        in, 1.0f, b, in);
        else
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, a, out, b, in,
                        1.0f, g, in);
        calls++;
    } while ((t = now() - t0) < budget || calls < 3);
    free(a), free(b), free(w), free(g);
    return t / calls;
}

typedef float v8 __attribute__((vector_size(32)));

/* Bytes per second the threads read streaming through a buffer larger than the caches,
 * each its own part (the best of several passes). */
static double stream_rate(void)
{
    size_t n = (size_t)64 << 20 >> 2; /* 64 MiB of floats */
    float *x = floats(n, "the streaming read");
    memset(x, 0, n * sizeof(float));
    double best = 0.0;
    volatile float sink = 0.0f;
    for (int pass = 0; pass < 6; pass++) {
        double t0 = now();
#pragma omp parallel
        {
            size_t i0 = 0, i1 = n;
#ifdef _OPENMP
            size_t k = omp_get_num_threads(), t = omp_get_thread_num();
            i0 = n / 32 * t / k * 32, i1 = n / 32 * (t + 1) / k * 32;
#endif
            v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, v;
            for (size_t i = i0; i < i1; i += 32) { /* eight-float vectors, as the kernels read */
                memcpy(&v, x + i, sizeof v), s0 += v;
                memcpy(&v, x + i + 8, sizeof v), s1 += v;
                memcpy(&v, x + i + 16, sizeof v), s2 += v;
                memcpy(&v, x + i + 24, sizeof v), s3 += v;
            }
            v = s0 + s1 + s2 + s3;
#pragma omp critical(stream_sink)
            sink += v[0]; /* the sums are used, so the reads stay */
        }
        double rate = n * sizeof(float) / (now() - t0);
        if (rate > best) best = rate;
    }
    (void)sink;
    free(x);
    return best;
}

typedef struct {
    double train;  /* tokens/s of training's products alone */
    double decode; /* tokens/s of decode's products at sgemm's best rate plus its cache reads */
} ceilings;

static ceilings fp32_ceilings(const rz_transformer_config *c, int N, int T, double stream,
                              double budget)
{
    /* every linear layer of the model: (in, out, how many) */
    const int linear[4][3] = {{c->dim, c->dim, 4 * c->layers},   /* q, k, v, o */
                              {c->dim, c->hidden, 2 * c->layers}, /* gate, up */
                              {c->hidden, c->dim, c->layers},     /* down */
                              {c->dim, c->vocab, 1}};             /* LM head */
    double step = 0.0, flops = 0.0, best = 0.0;
    for (int i = 0; i < 4; i++)
        for (int form = FORWARD; form <= WEIGHT_GRAD; form++) {
            double s = sgemm_seconds(form, N, linear[i][0], linear[i][1], budget / 12);
            double f = 2.0 * N * linear[i][0] * linear[i][1];
            step += s * linear[i][2];
            if (f / s > best) best = f / s;
            if (form == FORWARD) flops += f / N * linear[i][2];
        }
    /* a decoded token: its products, the attention's scores and weighted sums over the
     * (T + 1) / 2 positions before it on average, and that many keys and values read */
    double ctx = (T + 1) / 2.0;
    flops += 4.0 * c->dim * ctx * c->layers;
    double bytes = 2.0 * c->layers * ctx * c->dim * sizeof(float);
    ceilings r = {N / step, 1.0 / (flops / best + bytes / stream)};
    return r;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 2.0;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    struct { int dim, layers, heads; } sizes[2] = {{128, 4, 4}, {256, 6, 8}};
    const int V = 64, T = 128, B = 8, batches[3] = {1, 16, 64};
    printf("transformer throughput, %d thread(s), V %d, T %d, training batch %d x %d\n", threads,
           V, T, B, T);
    printf("%-16s %10s %14s %14s %14s %14s\n", "model", "params", "train tok/s", "decode b=1",
           "decode b=16", "decode b=64");
    rz_transformer_config cfgs[2];
    for (int s = 0; s < 2; s++) {
        rz_transformer_config cfg;
        rz_transformer_config_default(&cfg);
        cfg.vocab = V;
        cfg.dim = sizes[s].dim;
        cfg.layers = sizes[s].layers;
        cfg.heads = sizes[s].heads;
        cfg.context = T;
        rz_error err = {0};
        rz_transformer *m = NULL;
        int rc = rz_transformer_create(&m, &cfg, 1, &err);
        if (rc) die(rc, &err);
        cfgs[s] = *rz_transformer_cfg(m); /* with the hidden size it derived */
        char name[32];
        snprintf(name, sizeof name, "C%d L%d NH%d", cfg.dim, cfg.layers, cfg.heads);
        printf("%-16s %9.2fM %14.0f", name, rz_transformer_params(m)->numel / 1e6,
               bench_train(m, B, T, budget));
        fflush(stdout);
        for (int i = 0; i < 3; i++) {
            printf(" %14.0f", bench_decode(m, batches[i], T, budget));
            fflush(stdout);
        }
        printf("\n");
        rz_transformer_free(m);
    }

    double stream = stream_rate();
    printf("\nfp32 ceilings on this machine (tokens/s; streaming reads at %.1f GB/s)\n",
           stream / 1e9);
    printf("%-16s %10s %14s %14s %14s %14s\n", "ceiling", "", "train tok/s", "decode b=1",
           "decode b=16", "decode b=64");
    for (int s = 0; s < 2; s++) {
        ceilings c = fp32_ceilings(&cfgs[s], B * T, T, stream, budget);
        char name[32];
        snprintf(name, sizeof name, "C%d L%d NH%d", cfgs[s].dim, cfgs[s].layers, cfgs[s].heads);
        printf("%-16s %10s %14.0f %14s %14.0f %14.0f\n", name, "ceiling", c.train, "-", c.decode,
               c.decode);
    }
    return 0;
}

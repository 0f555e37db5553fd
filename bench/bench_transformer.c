/* bench_transformer.c: training (forward + backward) and KV-cache decode throughput of the
 * transformer, in tokens per second, for two model sizes. A figure, never a pass/fail test.
 *
 * usage: bench_transformer [seconds per measurement, default 2] */
#include <stdio.h>
#include <stdlib.h>
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
    return 0;
}

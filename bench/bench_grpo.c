/* bench_grpo.c: the time of a whole GRPO step (rollout + update) and the sampling
 * throughput of rz_generate at batch 1, 16 and 64, each at 1 and 2 OpenMP threads, with the
 * 2-vs-1 speedup. A figure, never a pass/fail test.
 *
 * usage: bench_grpo [steps per measurement, default 3] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "rlzero.h"

enum { VOCAB = 32, PROMPT = 16, MAX_NEW = 48, P = 8, G = 8 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void die(int rc, const rz_error *err)
{
    fprintf(stderr, "bench_grpo: %s: %s\n", rz_status_name(rc), err->msg);
    exit(1);
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static rz_transformer *model(void)
{
    rz_transformer_config c;
    rz_transformer_config_default(&c);
    c.vocab = VOCAB;
    c.dim = 128;
    c.layers = 4;
    c.heads = 4;
    c.context = 128;
    rz_error err = {0};
    rz_transformer *m = NULL;
    int rc = rz_transformer_create(&m, &c, 1, &err);
    if (rc) die(rc, &err);
    return m;
}

/* random prompts: <bos> then PROMPT - 1 tokens */
static void prompts_make(int *buf, const int **pp, int *len, int n, uint64_t seed)
{
    rz_rng rng;
    rz_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        int *row = buf + (size_t)i * PROMPT;
        row[0] = RZ_TOK_BOS;
        for (int j = 1; j < PROMPT; j++) row[j] = 3 + (int)rz_rng_below(&rng, VOCAB - 3);
        pp[i] = row;
        len[i] = PROMPT;
    }
}

/* Seconds per GRPO step: P prompts x G samples of MAX_NEW tokens (no EOS, so every step
 * does the same work), random rewards, one update. */
static double bench_step(int steps, double *gen_share)
{
    rz_error err = {0};
    rz_transformer *m = model();
    rz_grpo_config gc;
    rz_grpo_config_default(&gc);
    gc.group = G;
    gc.gen.max_new = MAX_NEW;
    gc.gen.eos = -1;
    gc.opt.lr = 1e-4f;
    rz_grpo *t = NULL;
    int rc = rz_grpo_create(&t, m, NULL, &gc, &err);
    if (rc) die(rc, &err);
    int buf[P * PROMPT], len[P];
    const int *pp[P];
    float rewards[P * G];
    rz_rng rng;
    rz_rng_seed(&rng, 9);
    double total = 0, gen = 0;
    for (int s = 0; s <= steps; s++) { /* step 0 warms up */
        prompts_make(buf, pp, len, P, (uint64_t)s);
        double t0 = now();
        rc = rz_grpo_rollout(t, pp, len, P, s, NULL, &err);
        if (rc) die(rc, &err);
        for (int i = 0; i < P * G; i++) rewards[i] = (float)rz_rng_uniform(&rng);
        rz_grpo_metrics mt;
        rc = rz_grpo_update(t, rewards, &mt, &err);
        if (rc) die(rc, &err);
        if (s) {
            total += now() - t0;
            gen += mt.gen_seconds;
        }
    }
    rz_grpo_free(t);
    rz_transformer_free(m);
    *gen_share = gen / total;
    return total / steps;
}

/* Completion tokens per second of rz_generate over n sequences of MAX_NEW tokens. */
static double bench_sample(rz_transformer *m, rz_kvcache *cache, int n, int reps)
{
    rz_error err = {0};
    int *buf = malloc(sizeof(int) * (size_t)n * PROMPT), *len = malloc(sizeof(int) * (size_t)n);
    const int **pp = malloc(sizeof *pp * (size_t)n);
    uint64_t *keys = malloc(sizeof *keys * 3 * (size_t)n);
    if (!buf || !len || !pp || !keys) die(RZ_ERR_NOMEM, &err);
    prompts_make(buf, pp, len, n, 5);
    rz_gen_config gc;
    rz_gen_config_default(&gc);
    gc.max_new = MAX_NEW;
    gc.eos = -1;
    rz_gen_result r = {0};
    long tokens = 0;
    double t0 = 0;
    for (int k = 0; k <= reps; k++) { /* k = 0 warms up */
        if (k == 1) t0 = now();
        for (int i = 0; i < n; i++) {
            keys[3 * i] = (uint64_t)k;
            keys[3 * i + 1] = (uint64_t)i;
            keys[3 * i + 2] = 0;
        }
        int rc = rz_generate(&r, m, cache, pp, len, n, &gc, 1, keys, &err);
        if (rc) die(rc, &err);
        if (k) tokens += r.generated;
    }
    double s = now() - t0;
    rz_gen_result_free(&r);
    free(buf);
    free(len);
    free(pp);
    free(keys);
    return tokens / s;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    if (steps < 1) steps = 1;
    printf("model: vocab %d, dim 128, layers 4, heads 4; prompts of %d tokens, %d new tokens\n",
           VOCAB, PROMPT, MAX_NEW);
    double step_s[2], share[2], tps[3][2];
    const int batch[3] = {1, 16, 64};
    rz_error err = {0};
    for (int th = 0; th < 2; th++) {
        set_threads(th + 1);
        step_s[th] = bench_step(steps, &share[th]);
        rz_transformer *m = model();
        rz_kvcache *cache = NULL;
        int rc = rz_kvcache_create(&cache, m, 64, PROMPT + MAX_NEW, &err);
        if (rc) die(rc, &err);
        for (int b = 0; b < 3; b++) tps[b][th] = bench_sample(m, cache, batch[b], batch[b] < 16 ? 8 : 2);
        rz_kvcache_free(cache);
        rz_transformer_free(m);
    }
    printf("\n%-40s %12s %12s %8s\n", "", "1 thread", "2 threads", "speedup");
    char label[64];
    snprintf(label, sizeof label, "GRPO step (%d x %d, s)", P, G);
    printf("%-40s %12.3f %12.3f %7.2fx\n", label, step_s[0], step_s[1], step_s[0] / step_s[1]);
    printf("%-40s %11.0f%% %11.0f%%\n", "  of which generation", 100 * share[0], 100 * share[1]);
    for (int b = 0; b < 3; b++) {
        snprintf(label, sizeof label, "sampling, batch %d (tokens/s)", batch[b]);
        printf("%-40s %12.0f %12.0f %7.2fx\n", label, tps[b][0], tps[b][1], tps[b][1] / tps[b][0]);
    }
    return 0;
}

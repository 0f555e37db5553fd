/* bench_mpi.c: GRPO steps per second over MPI ranks and the time of the gradient sum
 * (rz_dist_ordered_sum, plus the shard records' gather, including any wait for the slower
 * rank) per step, and that sum alone with every rank ready, on bench_grpo's model.
 * A figure, never a pass/fail test. Run it on 1 and 2 ranks of one thread each:
 *
 *   OMP_NUM_THREADS=1 bench/bench_mpi [steps]
 *   OMP_NUM_THREADS=1 mpirun -np 2 bench/bench_mpi [steps]
 *
 * The global batch (P prompts x G samples) is the same for any number of ranks; shards =
 * ranks. Without MPI it runs on one process. */
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
    fprintf(stderr, "bench_mpi [rank %d]: %s: %s\n", rz_dist_rank(), rz_status_name(rc), err->msg);
    rz_dist_abort(1);
    exit(1);
}

int main(int argc, char **argv)
{
    rz_error err = {0};
    int rc = rz_dist_init(&argc, &argv, &err);
    if (rc) die(rc, &err);
    int steps = argc > 1 ? atoi(argv[1]) : 5;
    if (steps < 1) steps = 1;
    const int me = rz_dist_rank(), NR = rz_dist_size();

    rz_transformer_config c;
    rz_transformer_config_default(&c);
    c.vocab = VOCAB;
    c.dim = 128;
    c.layers = 4;
    c.heads = 4;
    c.context = 128;
    rz_transformer *m = NULL;
    rc = rz_transformer_create(&m, &c, 1, &err);
    if (rc) die(rc, &err);
    rz_grpo_config gc;
    rz_grpo_config_default(&gc);
    gc.group = G;
    gc.gen.max_new = MAX_NEW;
    gc.gen.eos = -1; /* every step does the same work */
    gc.opt.lr = 1e-4f;
    rz_grpo *t = NULL;
    rc = rz_grpo_create(&t, m, NULL, &gc, &err);
    if (rc) die(rc, &err);

    int buf[P * PROMPT], len[P];
    const int *pp[P];
    float rewards[P * G];
    double total = 0, comm = 0, gen = 0;
    for (int s = 0; s <= steps; s++) { /* step 0 warms up */
        rz_rng rng;
        rz_rng_seed(&rng, (uint64_t)s + 1);
        for (int i = 0; i < P; i++) {
            int *row = buf + i * PROMPT;
            row[0] = RZ_TOK_BOS;
            for (int j = 1; j < PROMPT; j++) row[j] = 3 + (int)rz_rng_below(&rng, VOCAB - 3);
            pp[i] = row;
            len[i] = PROMPT;
        }
        rc = rz_dist_barrier(&err);
        if (rc) die(rc, &err);
        double t0 = now();
        rc = rz_grpo_rollout(t, pp, len, P, s, NULL, &err);
        if (rc) die(rc, &err);
        for (int i = 0; i < P * G; i++) rewards[i] = (float)rz_rng_uniform(&rng);
        rz_grpo_metrics mt;
        rc = rz_grpo_update(t, rewards, &mt, &err);
        if (rc) die(rc, &err);
        if (s) {
            total += now() - t0;
            comm += mt.comm_seconds;
            gen += mt.gen_seconds;
        }
    }
    /* the sum alone, every rank ready (in a step it also waits for the slowest rank) */
    const rz_params *prm = rz_transformer_params(m);
    const int reps = 20;
    double sum_s = 0;
    for (int k = 0; k <= reps; k++) {
        rc = rz_dist_barrier(&err);
        if (rc) die(rc, &err);
        double t0 = now();
        rc = rz_dist_ordered_sum(prm->grad, prm->m, 1, prm->numel, NULL, NULL, &err);
        if (rc) die(rc, &err);
        if (k) sum_s += now() - t0;
    }
    if (me == 0) {
        int threads = 1;
#ifdef _OPENMP
        threads = omp_get_max_threads();
#endif
        printf("model: dim 128, layers 4, heads 4, vocab %d: %zu parameters (%.1f MiB of gradient)\n",
               VOCAB, prm->numel, prm->numel * 4.0 / (1 << 20));
        printf("batch: %d prompts x %d samples of %d tokens, 1 minibatch; %d rank(s) x %d thread(s)\n",
               P, G, MAX_NEW, NR, threads);
        printf("ranks %d: %.3f steps/s (%.3f s/step: rollout %.3f s, update %.3f s), "
               "gradient sum %.2f ms/step\n",
               NR, steps / total, total / steps, gen / steps, (total - gen) / steps, 1e3 * comm / steps);
        printf("ordered sum of the gradient alone (ranks ready): %.2f ms\n", 1e3 * sum_s / reps);
    }
    rz_grpo_free(t);
    rz_transformer_free(m);
    rz_dist_finalize();
    return 0;
}

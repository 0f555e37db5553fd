/* test_mlp.c: the MLP policy: layout and init, forward against a double reference, masking,
 * gradients against central differences (tanh and ReLU), errors, thread invariance. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "test.h"

/* Reference forward in double. pre (layers, B, H) gets the pre-activations, for the kink
 * test. Returns logits in out (B, O), masked entries -inf. */
static void ref_forward(double *out, double *pre, rz_mlp *m, const float *obs,
                        const uint8_t *mask, int B)
{
    const rz_mlp_config *c = rz_mlp_cfg(m);
    rz_params *p = rz_mlp_params(m);
    const int H = c->hidden;
    double *x = malloc(sizeof(double) * (size_t)B * (c->inputs > H ? c->inputs : H));
    double *y = malloc(sizeof(double) * (size_t)B * H);
    REQUIRE(x && y);
    for (int i = 0; i < B * c->inputs; i++) x[i] = obs[i];
    int K = c->inputs;
    char name[64];
    for (int l = 0; l <= c->layers; l++) {
        int last = l == c->layers;
        if (last) snprintf(name, sizeof name, "mlp.out.weight");
        else snprintf(name, sizeof name, "mlp.%d.weight", l);
        const rz_tensor *tw = rz_params_find(p, name);
        if (last) snprintf(name, sizeof name, "mlp.out.bias");
        else snprintf(name, sizeof name, "mlp.%d.bias", l);
        const rz_tensor *tb = rz_params_find(p, name);
        REQUIRE(tw && tb);
        const float *w = p->param + tw->offset, *bias = p->param + tb->offset;
        int N = last ? c->outputs : H;
        double *dst = last ? out : y;
        for (int b = 0; b < B; b++)
            for (int n = 0; n < N; n++) {
                double s = bias[n];
                for (int k = 0; k < K; k++) s += (double)w[n * K + k] * x[b * K + k];
                if (!last) {
                    if (pre) pre[((size_t)l * B + b) * H + n] = s;
                    s = c->activation == RZ_ACT_RELU ? (s > 0 ? s : 0) : tanh(s);
                } else if (mask && !mask[b * N + n]) {
                    s = -INFINITY;
                }
                dst[b * N + n] = s;
            }
        if (!last) {
            memcpy(x, y, sizeof(double) * (size_t)B * H);
            K = H;
        }
    }
    free(x);
    free(y);
}

/* Cross-entropy of the library's logits against targets, accumulated in double; dlogits
 * (if not NULL) gets its gradient, with NaN written at masked entries (they must be
 * ignored by backward). */
static double ce_loss(const float *logits, const int *targets, int B, int O, float *dlogits)
{
    double loss = 0;
    for (int b = 0; b < B; b++) {
        const float *l = logits + b * O;
        double mx = -INFINITY, z = 0;
        for (int a = 0; a < O; a++) if (l[a] > mx) mx = l[a];
        for (int a = 0; a < O; a++) z += exp((double)l[a] - mx);
        loss -= (double)l[targets[b]] - mx - log(z);
        if (dlogits)
            for (int a = 0; a < O; a++)
                dlogits[b * O + a] = isinf(l[a]) ? NAN
                                                 : (float)(exp((double)l[a] - mx) / z - (a == targets[b]));
    }
    return loss;
}

static void gradcheck(int activation, uint64_t seed0)
{
    const char *actname = activation == RZ_ACT_RELU ? "relu" : "tanh";
    rz_mlp_config cfg = {.inputs = 5, .outputs = 4, .layers = 2, .hidden = 7, .activation = activation};
    const int B = 3, O = cfg.outputs, H = cfg.hidden;
    rz_error err = {0};
    rz_mlp *m = NULL;
    float obs[3 * 5];
    uint8_t mask[3 * 4] = {1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1};
    int targets[3] = {3, 2, 0};
    double pre[2 * 3 * 7], ref[3 * 4];
    /* find a point where no ReLU pre-activation is within 0.05 of its kink, so that the
     * +-h perturbations never cross one */
    int found = 0;
    for (uint64_t seed = seed0; seed < seed0 + 1000 && !found; seed++) {
        rz_mlp_free(m);
        REQUIRE(rz_mlp_create(&m, &cfg, seed, &err) == RZ_OK);
        rz_params *p = rz_mlp_params(m);
        /* undo the 0.01 output scaling so the hidden layers get gradients of size ~1 */
        const rz_tensor *to = rz_params_find(p, "mlp.out.weight");
        for (size_t i = 0; i < to->numel; i++) p->param[to->offset + i] *= 100.0f;
        /* non-zero biases, so their gradients are exercised at a generic point */
        rz_rng rng;
        rz_rng_seed(&rng, seed * 7 + 1);
        for (int t = 0; t < p->count; t++)
            if (!p->tensors[t].decay)
                for (size_t i = 0; i < p->tensors[t].numel; i++)
                    p->param[p->tensors[t].offset + i] = 0.3f * rz_rng_normal(&rng);
        for (int i = 0; i < B * cfg.inputs; i++) obs[i] = rz_rng_normal(&rng);
        ref_forward(ref, pre, m, obs, mask, B);
        double minpre = INFINITY;
        for (int i = 0; i < cfg.layers * B * H; i++) minpre = fmin(minpre, fabs(pre[i]));
        found = activation != RZ_ACT_RELU || minpre > 0.05;
    }
    REQUIRE(found);
    rz_params *p = rz_mlp_params(m);

    CHECK_OK(rz_mlp_forward(m, obs, mask, B, &err), &err);
    const float *logits = rz_mlp_logits(m);
    double maxdiff = 0;
    int maskok = 1;
    for (int i = 0; i < B * O; i++) {
        if (!mask[i]) maskok &= logits[i] == -INFINITY;
        else maxdiff = fmax(maxdiff, fabs(logits[i] - ref[i]) / (1 + fabs(ref[i])));
    }
    CHECKF(maskok, "%s: masked logits are not -inf", actname);
    CHECKF(maxdiff < 1e-5, "%s: forward differs from the double reference by %g", actname, maxdiff);

    float dlogits[3 * 4];
    ce_loss(logits, targets, B, O, dlogits);
    rz_params_zero_grad(p);
    CHECK_OK(rz_mlp_backward(m, dlogits, &err), &err);
    CHECKF(rz_params_nonfinite(p, p->grad) == NULL, "%s: NaN dlogits at masked actions leaked",
           actname);
    float *grad = malloc(sizeof(float) * p->numel);
    REQUIRE(grad);
    memcpy(grad, p->grad, sizeof(float) * p->numel);

    const float h = 1e-3f;
    double worst = 0;
    for (int t = 0; t < p->count; t++) {
        const rz_tensor *tt = &p->tensors[t];
        double num2 = 0, ana2 = 0, diff2 = 0;
        for (size_t i = 0; i < tt->numel; i++) {
            float *x = p->param + tt->offset + i;
            const float x0 = *x;
            *x = x0 + h;
            REQUIRE(rz_mlp_forward(m, obs, mask, B, &err) == RZ_OK);
            double lp = ce_loss(rz_mlp_logits(m), targets, B, O, NULL);
            *x = x0 - h;
            REQUIRE(rz_mlp_forward(m, obs, mask, B, &err) == RZ_OK);
            double lm = ce_loss(rz_mlp_logits(m), targets, B, O, NULL);
            *x = x0;
            double num = (lp - lm) / ((double)(x0 + h) - (double)(x0 - h));
            double ana = grad[tt->offset + i];
            num2 += num * num;
            ana2 += ana * ana;
            diff2 += (num - ana) * (num - ana);
        }
        double rel = sqrt(diff2) / fmax(fmax(sqrt(num2), sqrt(ana2)), 1e-12);
        worst = fmax(worst, rel);
        CHECKF(rel <= 1e-3, "%s: %s: gradient relative error %g (|num| %g, |ana| %g)", actname,
               tt->name, rel, sqrt(num2), sqrt(ana2));
        CHECKF(sqrt(ana2) > 1e-3, "%s: %s: gradient is ~0 (%g), the check means nothing",
               actname, tt->name, sqrt(ana2));
    }
    printf("gradient check (%s): worst per-tensor relative error %.3g\n", actname, worst);
    free(grad);
    rz_mlp_free(m);
}

int main(void)
{
    rz_error err = {0};
    rz_mlp *m = NULL;

    /* config errors name the field */
    const rz_mlp_config good = {.inputs = 9, .outputs = 9, .layers = 2, .hidden = 32,
                                .activation = RZ_ACT_RELU};
    CHECK_OK(rz_mlp_config_check(&good, &err), &err);
    struct { rz_mlp_config c; const char *field; } bad[] = {
        {{0, 9, 2, 32, RZ_ACT_RELU, 0}, "inputs"},  {{9, 0, 2, 32, RZ_ACT_RELU, 0}, "outputs"},
        {{9, 9, 0, 32, RZ_ACT_RELU, 0}, "layers"},  {{9, 9, 2, 0, RZ_ACT_RELU, 0}, "hidden"},
        {{9, 9, 2, 65537, RZ_ACT_RELU, 0}, "hidden"}, {{9, 9, 1000, 32, RZ_ACT_RELU, 0}, "layers"},
        {{9, 9, 2, 32, 7, 0}, "activation"},        {{-1, 9, 2, 32, RZ_ACT_TANH, 0}, "inputs"},
        {{9, 9, 2, 32, RZ_ACT_TANH, 2}, "value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        CHECKF(rz_mlp_config_check(&bad[i].c, &err) == RZ_ERR_ARG, "bad config %zu accepted", i);
        CHECKF(strstr(err.msg, bad[i].field) != NULL, "message '%s' does not name %s", err.msg,
               bad[i].field);
        CHECK(rz_mlp_create(&m, &bad[i].c, 1, &err) == RZ_ERR_ARG && m == NULL);
    }

    /* layout: names, shapes, decay flags; init within its bounds; near-uniform policy */
    CHECK_OK(rz_mlp_create(&m, &good, 42, &err), &err);
    REQUIRE(m);
    rz_params *p = rz_mlp_params(m);
    const char *names[] = {"mlp.0.weight", "mlp.0.bias", "mlp.1.weight", "mlp.1.bias",
                           "mlp.out.weight", "mlp.out.bias"};
    const int rows[] = {32, 32, 32, 32, 9, 9}, cols[] = {9, 0, 32, 0, 32, 0};
    CHECK(p->count == 6);
    for (int i = 0; i < 6 && i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        CHECKF(strcmp(t->name, names[i]) == 0, "tensor %d is '%s'", i, t->name);
        CHECK(t->decay == (cols[i] > 0));
        CHECK(t->shape[0] == rows[i] && (cols[i] == 0 ? t->ndim == 1 : t->ndim == 2 && t->shape[1] == cols[i]));
        double bound = cols[i] == 0 ? 0.0
                       : i == 4     ? 0.01 * sqrt(3.0 / cols[i]) + 1e-7
                                    : sqrt(2.0) * sqrt(3.0 / cols[i]) + 1e-6;
        double mx = 0, ss = 0;
        for (size_t j = 0; j < t->numel; j++) {
            mx = fmax(mx, fabs(p->param[t->offset + j]));
            ss += (double)p->param[t->offset + j] * p->param[t->offset + j];
        }
        CHECKF(mx <= bound, "%s: |w| max %g > bound %g", t->name, mx, bound);
        if (cols[i] > 0) CHECKF(mx > 0.8 * bound, "%s: |w| max %g, bound %g: not spread", t->name, mx, bound);
        if (i == 0) {
            /* He variance 2 / fan_in within sampling noise */
            double var = ss / t->numel, want = 2.0 / cols[i];
            CHECKF(fabs(var / want - 1) < 0.2, "%s: variance %g, want %g", t->name, var, want);
        }
    }
    rz_mlp *m2 = NULL;
    CHECK_OK(rz_mlp_create(&m2, &good, 42, &err), &err);
    CHECK(memcmp(p->param, rz_mlp_params(m2)->param, p->numel * sizeof(float)) == 0);
    rz_mlp_free(m2);
    m2 = NULL;
    CHECK_OK(rz_mlp_create(&m2, &good, 43, &err), &err);
    CHECK(memcmp(p->param, rz_mlp_params(m2)->param, p->numel * sizeof(float)) != 0);
    rz_mlp_free(m2);

    float obs[4 * 9];
    rz_rng rng;
    rz_rng_seed(&rng, 3);
    for (int i = 0; i < 4 * 9; i++) obs[i] = rz_rng_normal(&rng);
    CHECK_OK(rz_mlp_forward(m, obs, NULL, 4, &err), &err);
    double maxlogit = 0;
    for (int i = 0; i < 4 * 9; i++) maxlogit = fmax(maxlogit, fabs(rz_mlp_logits(m)[i]));
    CHECKF(maxlogit < 0.1 && maxlogit > 0, "initial logits up to %g: policy not near uniform",
           maxlogit);

    /* a row with no legal action is an error naming the row */
    uint8_t mask[4 * 9];
    memset(mask, 1, sizeof mask);
    memset(mask + 2 * 9, 0, 9);
    err.msg[0] = 0;
    CHECK(rz_mlp_forward(m, obs, mask, 4, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "row 2") != NULL, "message '%s' does not name row 2", err.msg);
    CHECK(rz_mlp_forward(m, obs, mask, 0, &err) == RZ_ERR_ARG);
    CHECK(rz_mlp_forward(m, NULL, mask, 4, &err) == RZ_ERR_ARG);
    CHECK(rz_mlp_backward(m, NULL, &err) == RZ_ERR_ARG);

    /* masked actions: -inf logits and zero gradient, even with garbage dlogits there */
    rz_mlp *fresh = NULL;
    CHECK_OK(rz_mlp_create(&fresh, &good, 5, &err), &err);
    float d[4 * 9];
    CHECK(rz_mlp_backward(fresh, d, &err) == RZ_ERR_STATE);
    rz_mlp_free(fresh);
    memset(mask, 1, sizeof mask);
    for (int b = 0; b < 4; b++) mask[b * 9 + 4] = 0; /* action 4 illegal everywhere */
    mask[1 * 9 + 0] = 0;
    CHECK_OK(rz_mlp_forward(m, obs, mask, 4, &err), &err);
    int inf_ok = 1;
    for (int i = 0; i < 4 * 9; i++) inf_ok &= (mask[i] == 0) == (rz_mlp_logits(m)[i] == -INFINITY);
    CHECK(inf_ok);
    for (int i = 0; i < 4 * 9; i++) d[i] = mask[i] ? rz_rng_normal(&rng) : (i % 2 ? NAN : 1e30f);
    rz_params_zero_grad(p);
    CHECK_OK(rz_mlp_backward(m, d, &err), &err);
    const rz_tensor *ow = rz_params_find(p, "mlp.out.weight"), *ob = rz_params_find(p, "mlp.out.bias");
    int zero = p->grad[ob->offset + 4] == 0.0f;
    for (int k = 0; k < 32; k++) zero &= p->grad[ow->offset + 4 * 32 + k] == 0.0f;
    CHECK(zero);
    CHECK(p->grad[ob->offset + 3] != 0.0f);
    CHECK(rz_params_nonfinite(p, p->grad) == NULL);
    rz_mlp_free(m);
    m = NULL;

    gradcheck(RZ_ACT_TANH, 100);
    gradcheck(RZ_ACT_RELU, 200);

#ifdef _OPENMP
    /* thread invariance: 1, 2 and 3 threads give the same bits. Thousands of rows: the
     * weight gradients sum over the batch, and a BLAS sgemm split that inner dimension
     * differently for different thread counts once the batch was large (256 rows hid it).
     * Inputs and outputs that are not multiples of the kernel's tiles cover its edges. */
    {
        rz_mlp_config big = {.inputs = 61, .outputs = 50, .layers = 3, .hidden = 254,
                             .activation = RZ_ACT_TANH};
        const int B = 6000;
        CHECK_OK(rz_mlp_create(&m, &big, 9, &err), &err);
        REQUIRE(m);
        p = rz_mlp_params(m);
        float *x = malloc(sizeof(float) * B * 61), *dl = malloc(sizeof(float) * B * 50);
        float *l1 = malloc(sizeof(float) * B * 50), *g1 = malloc(sizeof(float) * p->numel);
        uint8_t *mk = malloc((size_t)B * 50);
        REQUIRE(x && dl && l1 && g1 && mk);
        for (int i = 0; i < B * 61; i++) x[i] = rz_rng_normal(&rng);
        for (int i = 0; i < B * 50; i++) dl[i] = rz_rng_normal(&rng), mk[i] = (i % 7) != 3;
        const int nthreads = omp_get_max_threads();
        for (int run = 0; run < 3; run++) {
            omp_set_num_threads(run + 1);
            rz_params_zero_grad(p);
            CHECK_OK(rz_mlp_forward(m, x, mk, B, &err), &err);
            CHECK_OK(rz_mlp_backward(m, dl, &err), &err);
            if (run == 0) {
                memcpy(l1, rz_mlp_logits(m), sizeof(float) * B * 50);
                memcpy(g1, p->grad, sizeof(float) * p->numel);
            } else {
                CHECKF(memcmp(l1, rz_mlp_logits(m), sizeof(float) * B * 50) == 0,
                       "logits differ between 1 and %d threads", run + 1);
                CHECKF(memcmp(g1, p->grad, sizeof(float) * p->numel) == 0,
                       "gradients differ between 1 and %d threads", run + 1);
            }
        }
        omp_set_num_threads(nthreads);
        /* the batched gradient is the sum of the one-row gradients (over three slices of the
         * kernel's batch loop, with every tile shape) */
        {
            const int B2 = 300;
            double *sum = calloc(p->numel, sizeof(double));
            REQUIRE(sum);
            rz_params_zero_grad(p);
            CHECK_OK(rz_mlp_forward(m, x, mk, B2, &err), &err);
            CHECK_OK(rz_mlp_backward(m, dl, &err), &err);
            memcpy(g1, p->grad, sizeof(float) * p->numel);
            for (int b = 0; b < B2; b++) {
                rz_params_zero_grad(p);
                REQUIRE(rz_mlp_forward(m, x + b * 61, mk + b * 50, 1, &err) == RZ_OK);
                REQUIRE(rz_mlp_backward(m, dl + b * 50, &err) == RZ_OK);
                for (size_t i = 0; i < p->numel; i++) sum[i] += p->grad[i];
            }
            double d2 = 0, n2 = 0;
            for (size_t i = 0; i < p->numel; i++) {
                d2 += (g1[i] - sum[i]) * (g1[i] - sum[i]);
                n2 += sum[i] * sum[i];
            }
            CHECKF(sqrt(d2 / n2) < 1e-5, "batched gradient vs the sum of row gradients: %g",
                   sqrt(d2 / n2));
            free(sum);
        }
        free(x), free(dl), free(l1), free(g1), free(mk);
        rz_mlp_free(m);
    }
#endif
    rz_mlp_free(NULL);
    return test_done("test_mlp");
}

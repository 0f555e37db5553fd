/* test_adamw.c: AdamW against a double-precision reference, the decay mask, clipping, the
 * learning-rate schedule, non-finite gradients and thread invariance. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "test.h"

static void make_params(rz_params *p, int big)
{
    rz_error err = {0};
    int s1[2] = {3, 4}, s2[1] = {5}, s3[2] = {big ? 300 : 7, big ? 100 : 1};
    memset(p, 0, sizeof *p);
    REQUIRE(rz_params_add(p, "w", 2, s1, 1, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "b", 1, s2, 0, &err) == RZ_OK);
    REQUIRE(rz_params_add(p, "w2", 2, s3, 1, &err) == RZ_OK);
    REQUIRE(rz_params_alloc(p, &err) == RZ_OK);
}

static void fill(rz_params *p, float *buf, rz_rng *rng, float scale)
{
    for (int t = 0; t < p->count; t++)
        for (size_t i = 0; i < p->tensors[t].numel; i++)
            buf[p->tensors[t].offset + i] = scale * rz_rng_normal(rng);
}

static double rel(double a, double b, double floor_)
{
    return fabs(a - b) / fmax(fabs(b), floor_);
}

/* The textbook algorithm, in double, written independently of the library. */
typedef struct { double *p, *m, *v; } ref_state;

static double ref_lr(const rz_adamw_config *c, long t)
{
    if (t < c->warmup) return c->lr * (t + 1.0) / c->warmup;
    if (c->total_steps == 0) return c->lr;
    if (t >= c->total_steps) return c->lr * (double)c->min_lr_ratio;
    double frac = (double)(t - c->warmup) / (c->total_steps - c->warmup);
    double lo = c->lr * (double)c->min_lr_ratio;
    return lo + (c->lr - lo) * 0.5 * (1 + cos(M_PI * frac));
}

static void ref_step(ref_state *s, const rz_params *p, const rz_adamw_config *c, long t,
                     double *norm_out)
{
    double ss = 0;
    for (int k = 0; k < p->count; k++)
        for (size_t i = 0; i < p->tensors[k].numel; i++) {
            double g = p->grad[p->tensors[k].offset + i];
            ss += g * g;
        }
    double norm = sqrt(ss), scale = (c->grad_clip > 0 && norm > c->grad_clip) ? c->grad_clip / norm : 1;
    *norm_out = norm;
    double lr = ref_lr(c, t);
    for (int k = 0; k < p->count; k++) {
        const rz_tensor *tt = &p->tensors[k];
        for (size_t i = 0; i < tt->numel; i++) {
            size_t j = tt->offset + i;
            double g = p->grad[j] * scale;
            s->m[j] = c->beta1 * s->m[j] + (1 - (double)c->beta1) * g;
            s->v[j] = c->beta2 * s->v[j] + (1 - (double)c->beta2) * g * g;
            double mh = s->m[j] / (1 - pow(c->beta1, t + 1));
            double vh = s->v[j] / (1 - pow(c->beta2, t + 1));
            /* decoupled decay, from the value before this step */
            double wd = tt->decay ? c->weight_decay : 0.0;
            s->p[j] -= lr * (mh / (sqrt(vh) + c->eps) + wd * s->p[j]);
        }
    }
}

int main(void)
{
    rz_error err = {0};
    rz_rng rng;
    rz_rng_seed(&rng, 11);

    rz_adamw_config c;
    rz_adamw_config_default(&c);
    CHECK(c.lr == 3e-4f && c.beta1 == 0.9f && c.beta2 == 0.95f && c.eps == 1e-8f);
    CHECK(c.weight_decay == 0.1f && c.grad_clip == 1.0f && c.warmup == 0 && c.total_steps == 0);
    CHECK(c.min_lr_ratio == 0.1f);

    /* --- a few steps against the double reference (clipping active on some steps) */
    {
        rz_params p;
        make_params(&p, 0);
        fill(&p, p.param, &rng, 1.0f);
        ref_state s = {calloc(p.numel, sizeof(double)), calloc(p.numel, sizeof(double)),
                       calloc(p.numel, sizeof(double))};
        REQUIRE(s.p && s.m && s.v);
        for (size_t i = 0; i < p.numel; i++) s.p[i] = p.param[i];
        c.lr = 1e-2f;
        c.weight_decay = 0.3f;
        c.grad_clip = 4.0f;
        c.warmup = 2;
        c.total_steps = 8;
        double worst_p = 0, worst_m = 0, worst_v = 0, worst_n = 0;
        int clipped = 0, unclipped = 0;
        for (long t = 0; t < 10; t++) {
            fill(&p, p.grad, &rng, t % 2 ? 0.3f : 1.5f);
            double norm;
            ref_step(&s, &p, &c, t, &norm);
            clipped += norm > c.grad_clip;
            unclipped += norm <= c.grad_clip;
            float gn = 0;
            CHECK_OK(rz_adamw_step(&p, &c, t, &gn, &err), &err);
            worst_n = fmax(worst_n, rel(gn, norm, 1e-30));
            /* relative L2 error per tensor: element-wise ratios blow up where m crosses 0 */
            for (int k = 0; k < p.count; k++) {
                double e[3] = {0}, r[3] = {0};
                for (size_t i = 0; i < p.tensors[k].numel; i++) {
                    size_t j = p.tensors[k].offset + i;
                    const double got[3] = {p.param[j], p.m[j], p.v[j]}, want[3] = {s.p[j], s.m[j], s.v[j]};
                    for (int q = 0; q < 3; q++) {
                        e[q] += (got[q] - want[q]) * (got[q] - want[q]);
                        r[q] += want[q] * want[q];
                    }
                }
                worst_p = fmax(worst_p, sqrt(e[0] / r[0]));
                worst_m = fmax(worst_m, sqrt(e[1] / r[1]));
                worst_v = fmax(worst_v, sqrt(e[2] / r[2]));
            }
        }
        CHECKF(clipped > 0 && unclipped > 0, "clipped %d unclipped %d: pick other scales", clipped,
               unclipped);
        CHECKF(worst_p <= 1e-6, "params: relative error %g", worst_p);
        CHECKF(worst_m <= 1e-6, "m: relative error %g", worst_m);
        CHECKF(worst_v <= 1e-6, "v: relative error %g", worst_v);
        CHECKF(worst_n <= 1e-6, "grad norm: relative error %g", worst_n);
        printf("vs double reference over 10 steps: params %.2g, m %.2g, v %.2g, norm %.2g\n",
               worst_p, worst_m, worst_v, worst_n);
        free(s.p), free(s.m), free(s.v);
        rz_params_free(&p);
    }

    /* --- decay mask: with zero gradients, decay = 0 stays put, decay = 1 shrinks */
    {
        rz_params p;
        make_params(&p, 0);
        fill(&p, p.param, &rng, 1.0f);
        float *before = malloc(sizeof(float) * p.numel);
        REQUIRE(before);
        memcpy(before, p.param, sizeof(float) * p.numel);
        rz_adamw_config_default(&c);
        c.lr = 0.1f;
        c.weight_decay = 0.5f;
        CHECK_OK(rz_adamw_step(&p, &c, 0, NULL, &err), &err);
        const rz_tensor *b = rz_params_find(&p, "b"), *w = rz_params_find(&p, "w");
        CHECK(memcmp(p.param + b->offset, before + b->offset, b->numel * sizeof(float)) == 0);
        int shrunk = 1;
        double worst = 0;
        for (size_t i = 0; i < w->numel; i++) {
            float x0 = before[w->offset + i], x1 = p.param[w->offset + i];
            shrunk &= fabsf(x1) < fabsf(x0);
            worst = fmax(worst, rel(x1, x0 * (1.0 - 0.1 * 0.5), 1e-3));
        }
        CHECK(shrunk);
        CHECKF(worst < 1e-6, "decay-only step: relative error %g from p * (1 - lr * wd)", worst);
        free(before);
        rz_params_free(&p);
    }

    /* --- clipping: the norm is reported; a clipped step equals a step on pre-scaled grads
     * with clipping off; the grad buffer itself is left as it was */
    {
        rz_params a, b;
        make_params(&a, 0);
        make_params(&b, 0);
        fill(&a, a.param, &rng, 1.0f);
        fill(&a, a.grad, &rng, 2.0f);
        fill(&a, a.m, &rng, 0.1f);
        for (size_t i = 0; i < a.numel; i++) a.v[i] = 0.05f + 0.01f * (float)(i % 7);
        memcpy(b.param, a.param, a.numel * sizeof(float));
        memcpy(b.m, a.m, a.numel * sizeof(float));
        memcpy(b.v, a.v, a.numel * sizeof(float));
        double ss = 0;
        for (size_t i = 0; i < a.numel; i++) ss += (double)a.grad[i] * a.grad[i];
        double norm = sqrt(ss);
        rz_adamw_config_default(&c);
        c.lr = 1e-2f;
        c.grad_clip = 1.5f;
        REQUIRE(norm > 2 * c.grad_clip);
        float *g0 = malloc(sizeof(float) * a.numel);
        REQUIRE(g0);
        memcpy(g0, a.grad, a.numel * sizeof(float));
        for (size_t i = 0; i < a.numel; i++) b.grad[i] = a.grad[i] * (float)(c.grad_clip / norm);
        float gn = 0;
        CHECK_OK(rz_adamw_step(&a, &c, 3, &gn, &err), &err);
        CHECKF(rel(gn, norm, 1e-30) < 1e-6, "reported norm %g, expected %g", gn, norm);
        CHECK(memcmp(g0, a.grad, a.numel * sizeof(float)) == 0);
        rz_adamw_config off = c;
        off.grad_clip = 0;
        CHECK_OK(rz_adamw_step(&b, &off, 3, &gn, &err), &err);
        CHECKF(rel(gn, c.grad_clip, 1e-30) < 1e-5, "pre-scaled norm %g", gn);
        double worst = 0;
        for (size_t i = 0; i < a.numel; i++) {
            worst = fmax(worst, rel(a.param[i], b.param[i], 1e-3));
            worst = fmax(worst, rel(a.m[i], b.m[i], 1e-3));
            worst = fmax(worst, rel(a.v[i], b.v[i], 1e-6));
        }
        CHECKF(worst < 1e-6, "clipped step vs pre-scaled grads: relative difference %g", worst);
        /* below the threshold, clipping does nothing: same bits as clipping off */
        memcpy(b.param, a.param, a.numel * sizeof(float));
        memcpy(b.m, a.m, a.numel * sizeof(float));
        memcpy(b.v, a.v, a.numel * sizeof(float));
        memcpy(b.grad, a.grad, a.numel * sizeof(float));
        c.grad_clip = (float)(2 * norm);
        off.grad_clip = 0;
        CHECK_OK(rz_adamw_step(&a, &c, 4, NULL, &err), &err);
        CHECK_OK(rz_adamw_step(&b, &off, 4, NULL, &err), &err);
        CHECK(memcmp(a.param, b.param, a.numel * sizeof(float)) == 0);
        free(g0);
        rz_params_free(&a);
        rz_params_free(&b);
    }

    /* --- schedule: warmup, peak, mid-cosine, end, after the end, constant */
    {
        rz_adamw_config s;
        rz_adamw_config_default(&s);
        s.lr = 1.0f;
        s.warmup = 10;
        s.total_steps = 110;
        s.min_lr_ratio = 0.1f;
        struct { long t; double want; } pts[] = {
            {0, 0.1},   {4, 0.5},  {9, 1.0},   {10, 1.0}, {35, 0.1 + 0.9 * 0.5 * (1 + cos(M_PI / 4))},
            {60, 0.55}, {109, 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 99 / 100))},
            {110, 0.1}, {111, 0.1}, {100000, 0.1},
        };
        for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
            float got = rz_adamw_lr(&s, pts[i].t);
            CHECKF(fabs(got - pts[i].want) < 1e-6, "lr at step %ld: %.7f, want %.7f", pts[i].t,
                   got, pts[i].want);
        }
        s.total_steps = 0;
        CHECK(fabsf(rz_adamw_lr(&s, 0) - 0.1f) < 1e-7f);
        CHECK(rz_adamw_lr(&s, 10) == 1.0f && rz_adamw_lr(&s, 1000000) == 1.0f);
        s.warmup = 0;
        CHECK(rz_adamw_lr(&s, 0) == 1.0f && rz_adamw_lr(&s, 77) == 1.0f);
        s.total_steps = 100;
        CHECK(rz_adamw_lr(&s, 0) == 1.0f);
        CHECK(fabsf(rz_adamw_lr(&s, 50) - 0.55f) < 1e-6f);
        CHECK(fabsf(rz_adamw_lr(&s, 100) - 0.1f) < 1e-7f);
        /* monotone: up through warmup, down through the cosine */
        s.warmup = 10;
        int mono = 1;
        for (long t = 1; t < 10; t++) mono &= rz_adamw_lr(&s, t) > rz_adamw_lr(&s, t - 1);
        for (long t = 11; t <= 100; t++) mono &= rz_adamw_lr(&s, t) < rz_adamw_lr(&s, t - 1);
        CHECK(mono);
    }

    /* --- non-finite gradients: params and moments untouched, the tensor named */
    {
        rz_params p;
        make_params(&p, 0);
        fill(&p, p.param, &rng, 1.0f);
        rz_adamw_config_default(&c);
        for (long t = 0; t < 2; t++) {
            fill(&p, p.grad, &rng, 1.0f);
            CHECK_OK(rz_adamw_step(&p, &c, t, NULL, &err), &err);
        }
        size_t bytes = p.numel * sizeof(float);
        float *p0 = malloc(bytes), *m0 = malloc(bytes), *v0 = malloc(bytes);
        REQUIRE(p0 && m0 && v0);
        memcpy(p0, p.param, bytes);
        memcpy(m0, p.m, bytes);
        memcpy(v0, p.v, bytes);
        const char *which[] = {"b", "w2"};
        const float badval[] = {NAN, INFINITY};
        for (int k = 0; k < 2; k++) {
            fill(&p, p.grad, &rng, 1.0f);
            const rz_tensor *t = rz_params_find(&p, which[k]);
            p.grad[t->offset + t->numel - 1] = badval[k];
            float gn = 0;
            err.msg[0] = 0;
            CHECK(rz_adamw_step(&p, &c, 2, &gn, &err) == RZ_ERR_NONFINITE);
            char quoted[16];
            snprintf(quoted, sizeof quoted, "'%s'", which[k]);
            CHECKF(strstr(err.msg, quoted) != NULL, "message '%s' does not name %s", err.msg,
                   quoted);
            CHECK(isnan(gn));
            CHECK(memcmp(p0, p.param, bytes) == 0);
            CHECK(memcmp(m0, p.m, bytes) == 0);
            CHECK(memcmp(v0, p.v, bytes) == 0);
        }
        free(p0), free(m0), free(v0);
        rz_params_free(&p);
    }

    /* --- bad arguments name the field */
    {
        rz_params p;
        make_params(&p, 0);
        struct { const char *field; rz_adamw_config c; } bad[5];
        for (int i = 0; i < 5; i++) rz_adamw_config_default(&bad[i].c);
        bad[0].field = "beta1", bad[0].c.beta1 = 1.0f;
        bad[1].field = "beta2", bad[1].c.beta2 = -0.1f;
        bad[2].field = "eps", bad[2].c.eps = 0.0f;
        bad[3].field = "lr", bad[3].c.lr = NAN;
        bad[4].field = "warmup", bad[4].c.warmup = -1;
        for (int i = 0; i < 5; i++) {
            err.msg[0] = 0;
            CHECK(rz_adamw_step(&p, &bad[i].c, 0, NULL, &err) == RZ_ERR_ARG);
            CHECKF(strstr(err.msg, bad[i].field) != NULL, "'%s' does not name %s", err.msg,
                   bad[i].field);
        }
        rz_adamw_config_default(&c);
        CHECK(rz_adamw_step(&p, &c, -1, NULL, &err) == RZ_ERR_ARG);
        rz_params_free(&p);
        rz_params empty = {0};
        CHECK(rz_adamw_step(&empty, &c, 0, NULL, &err) == RZ_ERR_STATE);
    }

#ifdef _OPENMP
    /* --- thread invariance of the parallel update */
    {
        rz_params a, b;
        make_params(&a, 1);
        make_params(&b, 1);
        fill(&a, a.param, &rng, 1.0f);
        memcpy(b.param, a.param, a.numel * sizeof(float));
        rz_adamw_config_default(&c);
        for (long t = 0; t < 3; t++) {
            fill(&a, a.grad, &rng, 0.01f);
            memcpy(b.grad, a.grad, a.numel * sizeof(float));
            omp_set_num_threads(1);
            CHECK_OK(rz_adamw_step(&a, &c, t, NULL, &err), &err);
            omp_set_num_threads(2);
            CHECK_OK(rz_adamw_step(&b, &c, t, NULL, &err), &err);
        }
        CHECK(memcmp(a.param, b.param, a.numel * sizeof(float)) == 0);
        CHECK(memcmp(a.v, b.v, a.numel * sizeof(float)) == 0);
        rz_params_free(&a);
        rz_params_free(&b);
    }
#endif
    return test_done("test_adamw");
}

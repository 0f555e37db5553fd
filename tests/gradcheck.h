/* gradcheck.h: central differences for the gradient tests.
 *
 * The checked functions run in float, so the difference quotient is taken over the step
 * actually representable ((float)(x+h) - (float)(x-h)), the loss is accumulated in double,
 * and two step sizes are combined (Richardson: (4 D(h/2) - D(h)) / 3) to cancel the h^2
 * truncation term. The error reported for a tensor is ||g - g_fd|| / max(||g||, ||g_fd||). */
#ifndef RZ_GRADCHECK_H
#define RZ_GRADCHECK_H

#include <math.h>
#include <stdio.h>

#include "rlzero.h"

typedef double (*gc_loss_fn)(void *ctx);

static double gc_diff(gc_loss_fn f, void *ctx, float *x, float orig, double h)
{
    *x = (float)(orig + h);
    double xp = *x, lp = f(ctx);
    *x = (float)(orig - h);
    double xm = *x, lm = f(ctx);
    *x = orig;
    return (lp - lm) / (xp - xm);
}

/* x (n) is perturbed in place (and restored); g (n) holds the analytic gradient. */
static double gc_check(const char *name, gc_loss_fn f, void *ctx, float *x, const float *g,
                       size_t n, double h)
{
    double dd = 0, gg = 0, ff = 0;
    for (size_t i = 0; i < n; i++) {
        float orig = x[i];
        double d1 = gc_diff(f, ctx, &x[i], orig, h);
        double d2 = gc_diff(f, ctx, &x[i], orig, h / 2);
        double fd = (4 * d2 - d1) / 3;
        dd += (g[i] - fd) * (g[i] - fd);
        gg += (double)g[i] * g[i];
        ff += fd * fd;
    }
    double den = sqrt(gg > ff ? gg : ff);
    double err = den > 0 ? sqrt(dd) / den : 0.0;
    printf("  grad %-46s n %6zu |g| %9.3e  rel err %.2e\n", name, n, sqrt(gg), err);
    return err;
}

static void gc_fill(float *x, size_t n, rz_rng *r, float scale, float shift)
{
    for (size_t i = 0; i < n; i++) x[i] = shift + scale * rz_rng_normal(r);
}

static double gc_dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

#endif

/* test_rng.c: RNG streams are reproducible, independent and uniform. */
#include "test.h"

int main(void)
{
    rz_rng a, b;

    /* reproducible: the same key gives the same sequence */
    rz_rng_stream(&a, 42, 1, 2, 3);
    rz_rng_stream(&b, 42, 1, 2, 3);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= rz_rng_next(&a) == rz_rng_next(&b);
    CHECK(same);

    /* independent: neighbouring keys and permuted keys differ from the first draw on */
    uint64_t keys[6][3] = {{1, 2, 3}, {1, 2, 4}, {1, 3, 2}, {2, 1, 3}, {0, 0, 0}, {1, 2, 5}};
    uint64_t first[6];
    for (int k = 0; k < 6; k++) {
        rz_rng_stream(&a, 42, keys[k][0], keys[k][1], keys[k][2]);
        first[k] = rz_rng_next(&a);
    }
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++) CHECKF(first[i] != first[j], "keys %d and %d collide", i, j);
    rz_rng_stream(&a, 42, 1, 2, 3);
    rz_rng_stream(&b, 43, 1, 2, 3);
    CHECK(rz_rng_next(&a) != rz_rng_next(&b));

    /* independence, statistically: the correlation of paired uniforms from neighbouring
     * streams is ~0 (|r| < 4/sqrt(n) holds with overwhelming probability) */
    const int n = 100000;
    rz_rng_stream(&a, 7, 0, 0, 0);
    rz_rng_stream(&b, 7, 0, 0, 1);
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        double x = rz_rng_uniform(&a), y = rz_rng_uniform(&b);
        sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
    }
    double cov = sxy / n - (sx / n) * (sy / n);
    double r = cov / sqrt((sxx / n - (sx / n) * (sx / n)) * (syy / n - (sy / n) * (sy / n)));
    CHECKF(fabs(r) < 4.0 / sqrt(n), "correlation %g", r);
    CHECKF(fabs(sx / n - 0.5) < 0.005, "mean %g", sx / n);

    /* uniform(): in [0, 1); below(): unbiased over 10 bins (chi-square, 9 dof, p ~ 1e-6) */
    rz_rng_seed(&a, 5);
    int counts[10] = {0};
    int inrange = 1;
    for (int i = 0; i < n; i++) {
        double u = rz_rng_uniform(&a);
        inrange &= u >= 0.0 && u < 1.0;
        counts[rz_rng_below(&a, 10)]++;
    }
    CHECK(inrange);
    double chi2 = 0;
    for (int i = 0; i < 10; i++) chi2 += (counts[i] - n / 10.0) * (counts[i] - n / 10.0) / (n / 10.0);
    CHECKF(chi2 < 40.0, "chi2 %g", chi2);

    /* normal(): mean 0, variance 1 */
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) {
        double z = rz_rng_normal(&a);
        m += z;
        v += z * z;
    }
    m /= n;
    v = v / n - m * m;
    CHECKF(fabs(m) < 0.02 && fabs(v - 1) < 0.03, "mean %g var %g", m, v);

    /* a copied state continues identically (states are plain structs) */
    rz_rng c = a;
    CHECK(rz_rng_next(&c) == rz_rng_next(&a));
    return test_done("test_rng");
}

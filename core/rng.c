/* rng.c: xoshiro256** with splitmix64 seeding; streams keyed by (seed, a, b, c).
 *
 * No global state: every consumer carries its own rz_rng. A stream key is hashed through
 * splitmix64 so that neighbouring keys (sample 3 and sample 4) give unrelated states. */
#include <math.h>

#include "rlzero.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rz_rng_seed(rz_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1; /* never all zero */
}

void rz_rng_stream(rz_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    /* Mix the key one word at a time; each word passes through a full splitmix round so
     * that (a, b, c) and (a, c, b) differ. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ a;
    h = splitmix64(&x);
    x = h ^ b;
    h = splitmix64(&x);
    x = h ^ c;
    h = splitmix64(&x);
    rz_rng_seed(r, h);
}

uint64_t rz_rng_next(rz_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rz_rng_uniform(rz_rng *r) { return (double)(rz_rng_next(r) >> 11) * 0x1.0p-53; }

float rz_rng_normal(rz_rng *r)
{
    double u1 = rz_rng_uniform(r), u2 = rz_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t rz_rng_below(rz_rng *r, uint64_t n)
{
    /* Lemire's nearly-divisionless method would need 128-bit products; rejection on the
     * top of the range is simple and exact. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rz_rng_next(r);
    while (x >= limit);
    return x % n;
}

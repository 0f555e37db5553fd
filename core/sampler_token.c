/* sampler_token.c: drawing one token from a row of logits (temperature, top-k, top-p,
 * min-p), shared by the transformer sampler and the game agents.
 *
 * Work happens on unnormalised probabilities q_i = exp((l_i - max l) / T), so the most
 * probable token has q = 1 exactly and min-p's threshold min_p * p_max is simply min_p.
 * All three filters keep a prefix of the tokens ordered by (q descending, id ascending):
 * top-k and min-p trivially, top-p by definition. So only that prefix needs ordering:
 * top-k selects its k tokens with a size-k min-heap (O(V log k)); the candidates then go
 * into a max-heap that is popped only until top-p's mass or min-p's threshold stops it.
 * With no top-k and no top-p there is nothing to order and the draw is one linear scan.
 *
 * Not handled: vocabularies beyond 2^24 ids, because scratch stores ids as floats (exact
 * up to 2^24); such a V returns -1.
 */
#include <math.h>

#include "rlzero.h"

#define MAX_V (1 << 24)

void rz_sampling_default(rz_sampling *s)
{
    s->temperature = 1.0f;
    s->top_k = 0;
    s->top_p = 1.0f;
    s->min_p = 0.0f;
}

int rz_sampling_check(const rz_sampling *s, rz_error *err)
{
    if (!s) return rz_error_set(err, RZ_ERR_ARG, "sampling: knobs are NULL");
    if (!(s->temperature >= 0 && isfinite(s->temperature)))
        return rz_error_set(err, RZ_ERR_ARG,
                            "sampling: temperature = %g must be finite and >= 0 (0 = greedy)",
                            s->temperature);
    if (s->top_k < 0)
        return rz_error_set(err, RZ_ERR_ARG, "sampling: top_k = %d must be >= 0 (0 = off)",
                            s->top_k);
    if (!(s->top_p > 0 && s->top_p <= 1))
        return rz_error_set(err, RZ_ERR_ARG, "sampling: top_p = %g must be in (0, 1] (1 = off)",
                            s->top_p);
    if (!(s->min_p >= 0 && s->min_p < 1))
        return rz_error_set(err, RZ_ERR_ARG, "sampling: min_p = %g must be in [0, 1) (0 = off)",
                            s->min_p);
    return RZ_OK;
}

/* a before b in the filter order: more probable first, then lower id */
static inline int before(const float *q, int a, int b)
{
    return q[a] > q[b] || (q[a] == q[b] && a < b);
}

/* Restores the heap property below position i of heap[0..n). With top = 1 the root is the
 * token that comes first in the filter order (a max-heap), with top = 0 the last one. */
static void sift_down(float *heap, int n, int i, const float *q, int top)
{
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) return;
        int ci = (int)heap[c];
        if (c + 1 < n) {
            int ri = (int)heap[c + 1];
            if (top ? before(q, ri, ci) : before(q, ci, ri)) c++, ci = ri;
        }
        int ii = (int)heap[i];
        if (top ? !before(q, ci, ii) : !before(q, ii, ci)) return;
        heap[c] = (float)ii;
        heap[i] = (float)ci;
        i = c;
    }
}

static void heapify(float *heap, int n, const float *q, int top)
{
    for (int i = n / 2 - 1; i >= 0; i--) sift_down(heap, n, i, q, top);
}

int rz_sample_token(const float *logits, int V, const rz_sampling *s, rz_rng *rng,
                    float *scratch, float *logp)
{
    if (!logits || !s || !rng || !scratch || V < 1 || V > MAX_V) return -1;
    if (rz_sampling_check(s, NULL) != RZ_OK) return -1;

    /* the maximum and the first id reaching it; NaN and +Inf are caller bugs */
    int best = -1;
    float mx = -INFINITY;
    for (int i = 0; i < V; i++) {
        float l = logits[i];
        if (isnan(l) || l == INFINITY) return -1;
        if (l > mx) mx = l, best = i;
    }
    if (best < 0) return -1; /* every action masked */

    const float T = s->temperature;
    if (T == 0.0f) {
        if (logp) {
            double z = 0.0;
            for (int i = 0; i < V; i++) z += exp((double)logits[i] - (double)mx);
            *logp = (float)((double)logits[best] - (double)mx - log(z));
        }
        return best;
    }

    float *q = scratch;        // (V) unnormalised probabilities, q[best] = 1
    float *heap = scratch + V; // (V) candidate ids, stored as floats
    double z = 0.0;
    int npos = 0;
    for (int i = 0; i < V; i++) {
        /* divide rather than multiply by 1/T: 1/T overflows for tiny T and 0 * inf is NaN */
        q[i] = expf((logits[i] - mx) / T);
        z += q[i];
        npos += q[i] > 0.0f;
    }
    const int use_k = s->top_k > 0 && s->top_k < npos;
    const int use_p = s->top_p < 1.0f;
    const float thr = s->min_p; /* min_p * p_max with p_max = q[best] = 1 */
    const double u = rz_rng_uniform(rng);
    int tok = -1;

    if (!use_k && !use_p) {
        /* nothing to order: draw over {q_i > 0, q_i >= thr} by a scan in id order */
        double zs = z;
        if (thr > 0.0f) {
            zs = 0.0;
            for (int i = 0; i < V; i++)
                if (q[i] >= thr) zs += q[i];
        }
        const double target = u * zs;
        double c = 0.0;
        for (int i = 0; i < V; i++) {
            if (q[i] <= 0.0f || q[i] < thr) continue;
            c += q[i];
            tok = i; /* the last candidate catches target rounding up to zs */
            if (target < c) break;
        }
    } else {
        /* gather candidates; min-p can prune early only when top-p's mass does not need
         * the pruned tokens, i.e. when top-k does not define that mass */
        int n = 0;
        double zk = z;
        if (use_k) {
            const int k = s->top_k;
            for (int i = 0; i < V; i++) {
                if (q[i] <= 0.0f) continue;
                if (n < k) {
                    heap[n++] = (float)i;
                    if (n == k) heapify(heap, n, q, 0);
                } else if (before(q, i, (int)heap[0])) {
                    heap[0] = (float)i;
                    sift_down(heap, n, 0, q, 0);
                }
            }
            zk = 0.0;
            for (int j = 0; j < n; j++) zk += q[(int)heap[j]];
        } else {
            for (int i = 0; i < V; i++)
                if (q[i] > 0.0f && q[i] >= thr) heap[n++] = (float)i;
        }
        heapify(heap, n, q, 1);
        /* pop in filter order; popped ids collect at the end: heap[n0-1], heap[n0-2], ... */
        const double mass = use_p ? (double)s->top_p * zk : INFINITY;
        const int n0 = n;
        double cum = 0.0;
        while (n > 0) {
            int id = (int)heap[0];
            if (q[id] < thr) break; /* never the first: q of the top token is 1 > thr */
            heap[0] = heap[n - 1];
            heap[n - 1] = (float)id;
            n--;
            sift_down(heap, n, 0, q, 1);
            cum += q[id];
            if (cum >= mass) break;
        }
        const double target = u * cum;
        double c = 0.0;
        for (int j = n0 - 1; j >= n; j--) {
            tok = (int)heap[j];
            c += q[tok];
            if (target < c) break;
        }
    }
    if (logp) *logp = (float)(((double)logits[tok] - (double)mx) / (double)T - log(z));
    return tok;
}

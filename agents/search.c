/* search.c: depth-limited negamax over the rules, leaves scored by a learned value head.
 *
 * The only knowledge is the game's rules and the network's own value estimate: the tree is
 * expanded full width for `depth` plies with rz_game_legal / rz_game_apply; a terminal node
 * is worth its true return (rz_game_returns), a non-terminal node at the horizon the value
 * head's output for its player to move. Values back up by negamax (a child of the same
 * mover keeps its sign, which no game here has, but costs nothing), each ply discounted by
 * SEARCH_DISCOUNT, so among equal outcomes a sooner win (and a later loss) scores higher.
 *
 * With holdout k > 0 (the self-play trainer's, never an agent's) a non-terminal node at the
 * horizon that is held out (rz_position_heldout) is not scored by the network, whose value
 * there was never trained, but expanded one more ply (up to SEARCH_EXTEND_MAX extra plies).
 * Without that, a trained position's target would back up the untrained output at a
 * held-out child, and through the max of negamax one such value spoils every position above
 * it. The network is never trained at held-out positions either way.
 *
 * rz_search_best_solved puts an exact solver over the rules (rz_solver) in front of the
 * greedy search: where it can decide the position within its budget, the value is known
 * and the network's search only chooses among the moves that keep it (rlzero.h).
 *
 * Every root of a batch is expanded level by level into flat arrays; all horizon nodes of
 * all roots go through the network together, in chunks of SEARCH_CHUNK rows. The chunking
 * depends only on the roots, and each node is written by one thread, so the scores do not
 * depend on the thread count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game.h"

#define SEARCH_DISCOUNT 0.999f
#define SEARCH_CHUNK 4096
#define SEARCH_MAX_NODES (1L << 24)
#define SEARCH_ACTIONS_MAX 256
#define SEARCH_OMP_MIN 256
/* held-out horizon nodes are looked past at most this many extra plies */
#define SEARCH_EXTEND_MAX 4
#define SEARCH_LEVELS (RZ_SEARCH_MAX_DEPTH + SEARCH_EXTEND_MAX + 1)

typedef struct {
    long n;
    unsigned char *states; // (n, S)
    int *parent;           // (n) index in the level above (roots: -1)
    int *action;           // (n) the move from the parent
    int8_t *mover;         // (n) player to move, -1 when terminal
    float *value;          // (n) for mover; terminal nodes: unused
    int *nkids, *first;    // (n) children in the level below
} level;

static void level_free(level *l)
{
    rz_free(l->states);
    rz_free(l->parent);
    rz_free(l->action);
    rz_free(l->mover);
    rz_free(l->value);
    rz_free(l->nkids);
    rz_free(l->first);
    memset(l, 0, sizeof *l);
}

static int level_alloc(level *l, long n, size_t S, rz_error *err)
{
    const size_t k = n > 0 ? (size_t)n : 1;
    l->n = n;
    l->states = rz_alloc(k * S, "search states", err);
    l->parent = l->states ? rz_alloc(k * sizeof(int), "search tree", err) : NULL;
    l->action = l->parent ? rz_alloc(k * sizeof(int), "search tree", err) : NULL;
    l->mover = l->action ? rz_alloc(k, "search tree", err) : NULL;
    l->value = l->mover ? rz_alloc(k * sizeof(float), "search values", err) : NULL;
    l->nkids = l->value ? rz_alloc(k * sizeof(int), "search tree", err) : NULL;
    l->first = l->nkids ? rz_alloc(k * sizeof(int), "search tree", err) : NULL;
    return l->first ? RZ_OK : RZ_ERR_NOMEM;
}

/* A child's value v for its mover, seen from the parent's mover (the same player or not)
 * and discounted one ply: both searches back up through this, so they round alike. */
static float backed_up(float v, int same_mover) { return SEARCH_DISCOUNT * (same_mover ? v : -v); }

/* The value of a finished child state for player p, discounted one ply. */
static float terminal_value(const rz_game *g, const void *state, int p)
{
    double r[2];
    rz_game_returns(g, state, r);
    return backed_up((float)r[p], 1);
}

/* The value of child c (level below) for player p, discounted one ply. */
static float child_value(const rz_game *g, const level *lc, long c, int p)
{
    if (lc->mover[c] < 0) return terminal_value(g, lc->states + (size_t)c * rz_game_state_size(g), p);
    return backed_up(lc->value[c], lc->mover[c] == p);
}

/* The depth, and a network with a value head that fits the game. */
static int search_check(const rz_game *g, const rz_mlp *m, int depth, rz_error *err)
{
    if (depth < 1 || depth > RZ_SEARCH_MAX_DEPTH)
        return rz_error_set(err, RZ_ERR_ARG, "search: depth = %d must be in 1..%d", depth,
                            RZ_SEARCH_MAX_DEPTH);
    const rz_mlp_config *mc = rz_mlp_cfg(m);
    if (!mc->value) return rz_error_set(err, RZ_ERR_ARG, "search: the network has no value head");
    const int I = rz_game_obs_size(g), A = rz_game_num_actions(g);
    if (mc->inputs != I || mc->outputs != A)
        return rz_error_set(err, RZ_ERR_ARG, "search: the network maps %d inputs to %d actions, %s has %d and %d",
                            mc->inputs, mc->outputs, rz_game_name(g), I, A);
    if (A > SEARCH_ACTIONS_MAX)
        return rz_error_set(err, RZ_ERR_ARG, "search: %d actions, at most %d", A, SEARCH_ACTIONS_MAX);
    return RZ_OK;
}

int rz_search_scores_holdout(const rz_game *g, rz_mlp *m, const void *states, int n, int depth,
                             int holdout, float *scores, rz_error *err)
{
    if (!g || !m || !states || !scores) return rz_error_set(err, RZ_ERR_ARG, "search: NULL argument");
    if (n < 1) return rz_error_set(err, RZ_ERR_ARG, "search: n = %d roots must be >= 1", n);
    int rc = search_check(g, m, depth, err);
    if (rc) return rc;
    const int I = rz_game_obs_size(g), A = rz_game_num_actions(g);
    const size_t S = rz_game_state_size(g);
    for (int i = 0; i < n; i++)
        if (rz_game_is_terminal(g, (const unsigned char *)states + (size_t)i * S))
            return rz_error_set(err, RZ_ERR_ILLEGAL, "search: root %d is a finished game", i);

    level lv[SEARCH_LEVELS];
    memset(lv, 0, sizeof lv);
    float *obs = NULL;
    rc = level_alloc(&lv[0], n, S, err);
    if (!rc) {
        memcpy(lv[0].states, states, (size_t)n * S);
        for (int i = 0; i < n; i++) {
            lv[0].parent[i] = -1;
            lv[0].action[i] = -1;
            lv[0].mover[i] = (int8_t)rz_game_current_player(g, lv[0].states + (size_t)i * S);
        }
    }
    /* expand: level l's non-terminal nodes get their children in level l + 1 (past the
     * horizon, only held-out ones) */
    long total = n;
    int nlev = 1;
    const int last = holdout > 0 ? depth + SEARCH_EXTEND_MAX : depth;
    for (int l = 0; l < last && !rc; l++) {
        level *p = &lv[l], *c = &lv[l + 1];
#pragma omp parallel for schedule(static) if (p->n >= SEARCH_OMP_MIN)
        for (long k = 0; k < p->n; k++) {
            uint8_t mask[SEARCH_ACTIONS_MAX];
            const unsigned char *st = p->states + (size_t)k * S;
            const int open = p->mover[k] >= 0 &&
                             (l < depth || rz_position_heldout(g, st, holdout));
            p->nkids[k] = open ? rz_game_legal(g, st, mask) : 0;
        }
        long nc = 0;
        for (long k = 0; k < p->n; k++) {
            p->first[k] = (int)nc;
            nc += p->nkids[k];
        }
        total += nc;
        if (total > SEARCH_MAX_NODES) {
            rc = rz_error_set(err, RZ_ERR_ARG, "search: more than %ld nodes (depth %d, %d roots)",
                              SEARCH_MAX_NODES, depth, n);
            break;
        }
        if (nc == 0) break;
        rc = level_alloc(c, nc, S, err);
        if (rc) break;
        nlev = l + 2;
        int bad = 0;
#pragma omp parallel for schedule(static) if (p->n >= SEARCH_OMP_MIN)
        for (long k = 0; k < p->n; k++) {
            if (p->nkids[k] == 0) continue;
            uint8_t mask[SEARCH_ACTIONS_MAX];
            const unsigned char *st = p->states + (size_t)k * S;
            rz_game_legal(g, st, mask);
            long j = p->first[k];
            for (int a = 0; a < A; a++) {
                if (!mask[a]) continue;
                unsigned char *cs = c->states + (size_t)j * S;
                memcpy(cs, st, S);
                if (rz_game_apply(g, cs, a, NULL) != RZ_OK) {
#pragma omp atomic write
                    bad = 1;
                }
                c->parent[j] = (int)k;
                c->action[j] = a;
                c->mover[j] = (int8_t)rz_game_current_player(g, cs);
                j++;
            }
        }
        if (bad) rc = rz_error_set(err, RZ_ERR_STATE, "search: a legal move could not be applied");
    }
    /* the horizon: every non-terminal node not expanded, through the network */
    if (!rc) {
        obs = rz_alloc((size_t)SEARCH_CHUNK * I * sizeof(float), "search observations", err);
        if (!obs) rc = RZ_ERR_NOMEM;
    }
    for (int l = depth; l < nlev && !rc; l++) {
        level *h = &lv[l];
        if (l == nlev - 1)
            for (long k = 0; k < h->n; k++) h->nkids[k] = 0; /* never counted */
        long k = 0;
        while (!rc && k < h->n) {
            int B = 0;
            long idx[SEARCH_CHUNK];
            for (; k < h->n && B < SEARCH_CHUNK; k++)
                if (h->mover[k] >= 0 && h->nkids[k] == 0) idx[B++] = k;
            if (B == 0) break;
#pragma omp parallel for schedule(static) if (B >= SEARCH_OMP_MIN)
            for (int b = 0; b < B; b++)
                rz_game_observe(g, h->states + (size_t)idx[b] * S, obs + (size_t)b * I);
            rc = rz_mlp_forward(m, obs, NULL, B, err);
            if (rc) break;
            const float *v = rz_mlp_value(m);
            for (int b = 0; b < B; b++) h->value[idx[b]] = v[b];
        }
    }
    /* back up: an expanded node is worth the best of its children for its mover */
    for (int l = nlev - 2; l >= 1 && !rc; l--) {
        level *p = &lv[l], *c = &lv[l + 1];
#pragma omp parallel for schedule(static) if (p->n >= SEARCH_OMP_MIN)
        for (long k = 0; k < p->n; k++) {
            if (p->mover[k] < 0 || p->nkids[k] == 0) continue;
            float best = -INFINITY;
            for (int j = 0; j < p->nkids[k]; j++) {
                const float v = child_value(g, c, p->first[k] + j, p->mover[k]);
                if (v > best) best = v;
            }
            p->value[k] = best;
        }
    }
    if (!rc) {
        const level *c = &lv[1];
        for (int i = 0; i < n; i++) {
            float *row = scores + (size_t)i * A;
            for (int a = 0; a < A; a++) row[a] = -INFINITY;
            for (int j = 0; j < lv[0].nkids[i]; j++) {
                const long k = lv[0].first[i] + j;
                row[c->action[k]] = child_value(g, c, k, lv[0].mover[i]);
            }
        }
    }
    rz_free(obs);
    for (int l = 0; l < SEARCH_LEVELS; l++) level_free(&lv[l]);
    return rc;
}

int rz_search_scores(const rz_game *g, rz_mlp *m, const void *states, int n, int depth,
                     float *scores, rz_error *err)
{
    return rz_search_scores_holdout(g, m, states, n, depth, 0, scores, err);
}

/* ------------------------------------------------------- greedy: alpha-beta, one root
 *
 * The same negamax (rules, true returns at terminal nodes, the value head at the horizon,
 * SEARCH_DISCOUNT a ply), searched depth-first with alpha-beta pruning, for the one move a
 * greedy agent plays. Every node of depth >= 1 puts all its non-terminal children through
 * the network in one batch: at the last ply those are the leaves; above it their values
 * order the children, best first for the mover, so most of the tree is cut away (the
 * network's own judgement, no hand-written ordering). The root's moves are searched in id
 * order with a strict-improvement rule, so the move is the lowest id among the best, as
 * for rz_search_scores. A child's window is widened by SEARCH_AB_SLACK: a bound that a
 * rounding of the discount could lift onto the parent's best then stays strictly below
 * it, and a value inside the window is computed exactly as the full-width search does. */

#define SEARCH_AB_SLACK 1e-5f

typedef struct {
    const rz_game *g;
    rz_mlp *m;
    int I, A;
    size_t S;
    unsigned char *kids[RZ_SEARCH_MAX_DEPTH + 1]; /* (A, S) the children of the node at each depth */
    float *obs;                                   /* (A, I) */
    const uint8_t *allowed; /* (A) the root's moves searched, or NULL: all */
    long nodes;
    rz_error *err;
    int rc;
} ab_search;

typedef struct {
    int action, mover; /* mover -1: terminal */
    int slot;          /* the child's state: kids[depth] + slot * S */
    float key;         /* the child's value for the parent's mover, discounted */
} ab_child;

/* Children of a state in move-id order, each with its one-ply value for mover p (terminal:
 * the true return; otherwise the value head's). */
static int ab_children(ab_search *s, const unsigned char *st, int p, int depth, ab_child *ch)
{
    const rz_game *g = s->g;
    uint8_t mask[SEARCH_ACTIONS_MAX];
    unsigned char *kids = s->kids[depth];
    int n = 0, rows = 0, row_of[SEARCH_ACTIONS_MAX];
    rz_game_legal(g, st, mask);
    for (int a = 0; a < s->A; a++) {
        if (!mask[a]) continue;
        unsigned char *cs = kids + (size_t)n * s->S;
        memcpy(cs, st, s->S);
        if (rz_game_apply(g, cs, a, NULL) != RZ_OK) {
            s->rc = rz_error_set(s->err, RZ_ERR_STATE, "search: a legal move could not be applied");
            return 0;
        }
        ch[n].action = a;
        ch[n].slot = n;
        ch[n].mover = rz_game_current_player(g, cs);
        if (ch[n].mover < 0) {
            ch[n].key = terminal_value(g, cs, p);
        } else {
            rz_game_observe(g, cs, s->obs + (size_t)rows * s->I);
            row_of[rows++] = n;
        }
        n++;
    }
    s->nodes += n;
    if (s->nodes > SEARCH_MAX_NODES) {
        s->rc = rz_error_set(s->err, RZ_ERR_ARG, "search: more than %ld nodes (depth %d)",
                             SEARCH_MAX_NODES, depth);
        return 0;
    }
    if (rows > 0) {
        if ((s->rc = rz_mlp_forward(s->m, s->obs, NULL, rows, s->err)) != RZ_OK) return 0;
        const float *v = rz_mlp_value(s->m);
        for (int r = 0; r < rows; r++) {
            ab_child *c = &ch[row_of[r]];
            c->key = backed_up(v[r], c->mover == p);
        }
    }
    return n;
}

/* The value of st for its mover p, `depth` plies deep, fail-soft within (alpha, beta);
 * *best gets the move (root only: children in id order). */
static float ab_node(ab_search *s, const unsigned char *st, int depth, float alpha, float beta,
                     int root, int *best)
{
    const uint8_t *allowed = root ? s->allowed : NULL;
    const int p = rz_game_current_player(s->g, st);
    ab_child ch[SEARCH_ACTIONS_MAX];
    int n = ab_children(s, st, p, depth, ch);
    if (s->rc || n == 0) return 0.0f;
    if (allowed) { /* the root's moves outside the set are not searched */
        int k = 0;
        for (int i = 0; i < n; i++)
            if (allowed[ch[i].action]) ch[k++] = ch[i];
        n = k;
    }
    if (!root && depth > 1) /* best first for p; a stable insertion sort keeps id order among equals */
        for (int i = 1; i < n; i++) {
            ab_child c = ch[i];
            int j = i;
            for (; j > 0 && ch[j - 1].key < c.key; j--) ch[j] = ch[j - 1];
            ch[j] = c;
        }
    float bestv = -INFINITY;
    for (int i = 0; i < n; i++) {
        float cv = ch[i].key;
        if (depth > 1 && ch[i].mover >= 0) {
            const unsigned char *child = s->kids[depth] + (size_t)ch[i].slot * s->S;
            const int same = ch[i].mover == p;
            const float lo = same ? alpha / SEARCH_DISCOUNT : -beta / SEARCH_DISCOUNT;
            const float hi = same ? beta / SEARCH_DISCOUNT : -alpha / SEARCH_DISCOUNT;
            const float v = ab_node(s, child, depth - 1, lo - SEARCH_AB_SLACK, hi + SEARCH_AB_SLACK, 0, NULL);
            if (s->rc) return 0.0f;
            cv = backed_up(v, same);
        }
        if (cv > bestv) {
            bestv = cv;
            if (best) *best = ch[i].action;
        }
        if (bestv > alpha) alpha = bestv;
        if (alpha >= beta) break;
    }
    return bestv;
}

static int search_best(const rz_game *g, rz_mlp *m, const void *state, int depth,
                       const uint8_t *allowed, int *action, float *value, long *nodes, rz_error *err)
{
    if (!g || !m || !state || !action)
        return rz_error_set(err, RZ_ERR_ARG, "search: NULL argument");
    int rc = search_check(g, m, depth, err);
    if (rc) return rc;
    const int I = rz_game_obs_size(g), A = rz_game_num_actions(g);
    if (rz_game_is_terminal(g, state))
        return rz_error_set(err, RZ_ERR_ILLEGAL, "search: the root is a finished game");
    ab_search s = {.g = g, .m = m, .I = I, .A = A, .S = rz_game_state_size(g), .allowed = allowed,
                   .err = err};
    s.obs = rz_alloc((size_t)A * I * sizeof(float), "search observations", err);
    rc = s.obs ? RZ_OK : RZ_ERR_NOMEM;
    for (int d = 1; d <= depth && !rc; d++) {
        s.kids[d] = rz_alloc((size_t)A * s.S, "search states", err);
        if (!s.kids[d]) rc = RZ_ERR_NOMEM;
    }
    if (!rc) {
        int best = -1;
        const float v = ab_node(&s, state, depth, -INFINITY, INFINITY, 1, &best);
        rc = s.rc;
        if (!rc && (best < 0 || !isfinite(v)))
            rc = rz_error_set(err, RZ_ERR_NONFINITE, "search: the value head's output is not finite");
        if (!rc) {
            *action = best;
            if (value) *value = v;
        }
    }
    if (nodes) *nodes = s.nodes;
    rz_free(s.obs);
    for (int d = 1; d <= depth; d++) rz_free(s.kids[d]);
    return rc;
}

int rz_search_best(const rz_game *g, rz_mlp *m, const void *state, int depth, int *action,
                   float *value, long *nodes, rz_error *err)
{
    return search_best(g, m, state, depth, NULL, action, value, nodes, err);
}

/* The exact value of st for player p (+1, 0, -1): a finished game's result, else the
 * solver's within max_nodes; *known 0 when the solver runs over. */
static int exact_value(const rz_game *g, rz_solver *sv, long max_nodes, const void *st, int p, int *known,
                       int *value, rz_error *err)
{
    if (rz_game_is_terminal(g, st)) {
        double r[2];
        rz_game_returns(g, st, r);
        *known = 1;
        *value = r[p] > 0 ? 1 : r[p] < 0 ? -1 : 0;
        return RZ_OK;
    }
    int rc = rz_solver_wdl(sv, st, max_nodes, known, value, err);
    if (!rc && *known && rz_game_current_player(g, st) != p) *value = -*value;
    return rc;
}

int rz_search_best_solved(const rz_game *g, rz_mlp *m, rz_solver *sv, long max_nodes,
                          const void *state, int depth, int *action, int *exact, rz_error *err)
{
    if (!g || !m || !sv || !state || !action)
        return rz_error_set(err, RZ_ERR_ARG, "search: NULL argument");
    if (max_nodes < 1) return rz_error_set(err, RZ_ERR_ARG, "search: max_nodes = %ld must be >= 1", max_nodes);
    int rc = search_check(g, m, depth, err);
    if (rc) return rc;
    if (rz_game_is_terminal(g, state))
        return rz_error_set(err, RZ_ERR_ILLEGAL, "search: the root is a finished game");
    /* each move from an empty table: whether a solve finishes within the budget, and so
     * the move, depends on the position alone */
    rz_solver_clear(sv);
    int solved = 0, v = 0;
    if ((rc = rz_solver_wdl(sv, state, max_nodes, &solved, &v, err))) return rc;
    if (exact) *exact = solved ? v : RZ_SEARCH_UNSOLVED;
    if (!solved) return search_best(g, m, state, depth, NULL, action, NULL, NULL, err);
    if (v > 0) { /* the fastest win, when the exact search finishes too */
        int best;
        if ((rc = rz_solver_solve(sv, state, max_nodes, &solved, &v, NULL, &best, err))) return rc;
        if (solved) {
            *action = best;
            return RZ_OK;
        }
    }
    const int A = rz_game_num_actions(g), p = rz_game_current_player(g, state);
    const size_t S = rz_game_state_size(g);
    _Alignas(16) unsigned char child[RZ_GAME_STATE_MAX], reply[RZ_GAME_STATE_MAX];
    uint8_t allowed[SEARCH_ACTIONS_MAX], replies[SEARCH_ACTIONS_MAX];
    int traps[SEARCH_ACTIONS_MAX], most = 0, known, cv, kept = 0;
    rz_game_legal(g, state, allowed);
    /* a win or a draw: only the moves proven to keep it (a loss: every move) */
    for (int a = 0; a < A && v >= 0; a++) {
        if (!allowed[a]) continue;
        memcpy(child, state, S);
        if ((rc = rz_game_apply(g, child, a, err)) ||
            (rc = exact_value(g, sv, max_nodes, child, p, &known, &cv, err)))
            return rc;
        allowed[a] = known && cv == v;
        kept += allowed[a];
    }
    if (v >= 0 && !kept) /* the root's proof, but no child's within the budget alone */
        return search_best(g, m, state, depth, NULL, action, NULL, NULL, err);
    if (v > 0) /* a win kept at every move ends the game: the network chooses the way */
        return search_best(g, m, state, depth, allowed, action, NULL, NULL, err);
    /* traps: the opponent's replies after which the exact value is better for p than the
     * root's; among the moves left, those with the most */
    for (int a = 0; a < A; a++) {
        traps[a] = 0;
        if (!allowed[a]) continue;
        memcpy(child, state, S);
        if ((rc = rz_game_apply(g, child, a, err))) return rc;
        if (rz_game_is_terminal(g, child)) continue;
        rz_game_legal(g, child, replies);
        for (int r = 0; r < A; r++) {
            if (!replies[r]) continue;
            memcpy(reply, child, S);
            if ((rc = rz_game_apply(g, reply, r, err)) ||
                (rc = exact_value(g, sv, max_nodes, reply, p, &known, &cv, err)))
                return rc;
            traps[a] += known && cv > v;
        }
        if (traps[a] > most) most = traps[a];
    }
    for (int a = 0; a < A && most > 0; a++) allowed[a] = allowed[a] && traps[a] == most;
    /* the network's search chooses among them: the move that looks hardest to play against */
    return search_best(g, m, state, depth, allowed, action, NULL, NULL, err);
}

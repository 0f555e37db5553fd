/* players.c: reference players for evaluation (random, exact minimax, Nim's XOR rule,
 * depth-limited alpha-beta) and the exact solver behind them.
 *
 * One negamax with alpha-beta serves both searches. Scores are from the mover's point of
 * view and position-absolute (game.h: RZ_GAME_WIN - moves at the end), so a transposition
 * table needs no ply adjustment and faster wins score higher. Root moves are searched in a
 * random order with a strict-improvement rule: the first optimal move in that order is
 * uniform among the optimal moves, which is how ties are broken without extra searches. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game.h"

enum { TT_EXACT = 1, TT_LOWER = 2, TT_UPPER = 3 };
#define INF (RZ_GAME_WIN + 1)

typedef struct {
    uint64_t key;
    uint32_t gen; /* entries of another generation count as empty */
    int16_t value;
    uint8_t flag, move;
} tt_entry;

typedef struct {
    const rz_game *g;
    tt_entry *tt; /* (tt_mask + 1), or NULL */
    size_t tt_mask;
    uint32_t gen;
    long nodes, max_nodes;
    int exact; /* 1: to the end; 0: depth-limited with the game's heuristic */
    int aborted;
} search;

static int move_list(const rz_game *g, const void *st, int *moves)
{
    if (g->def->order) return g->def->order(g, st, moves);
    uint8_t mask[RZ_GAME_ACTIONS_MAX];
    int n = 0;
    g->def->legal(g, st, mask);
    for (int a = 0; a < g->num_actions; a++)
        if (mask[a]) moves[n++] = a;
    return n;
}

static int moves_played(const rz_game *g, const void *st)
{
    const uint8_t *h;
    return g->def->history(g, st, &h);
}

static int terminal_score(const rz_game *g, const void *st, int status)
{
    if (status == RZ_GAME_DRAW) return 0;
    int s = RZ_GAME_WIN - moves_played(g, st);
    return status == g->def->to_move(g, st) ? s : -s;
}

static int negamax(search *s, const void *st, int depth, int alpha, int beta)
{
    const rz_game *g = s->g;
    int status = g->def->status(g, st);
    if (status != RZ_GAME_ONGOING) return terminal_score(g, st, status);
    if (!s->exact && depth <= 0) return g->def->evaluate ? g->def->evaluate(g, st) : 0;
    if (++s->nodes > s->max_nodes) {
        s->aborted = 1;
        return 0;
    }
    /* nobody wins before the mover's own move */
    int best_possible = RZ_GAME_WIN - (moves_played(g, st) + 1);
    if (beta > best_possible) {
        beta = best_possible;
        if (alpha >= beta) return beta;
    }
    tt_entry *e = NULL;
    int tt_move = -1;
    uint64_t key = 0;
    if (s->tt) {
        key = g->def->key(g, st);
        e = &s->tt[rz_game_mix(key) & s->tt_mask];
        if (e->gen == s->gen && e->key == key) {
            int v = e->value;
            if (e->flag == TT_EXACT) return v;
            if (e->flag == TT_LOWER && v > alpha) alpha = v;
            if (e->flag == TT_UPPER && v < beta) beta = v;
            if (alpha >= beta) return v;
            tt_move = e->move;
        }
    }
    int moves[RZ_GAME_ACTIONS_MAX];
    int n = move_list(g, st, moves);
    for (int i = 1; i < n; i++)
        if (moves[i] == tt_move) { /* the move that was best last time goes first */
            memmove(moves + 1, moves, (size_t)i * sizeof *moves);
            moves[0] = tt_move;
            break;
        }
    int alpha0 = alpha, best = -INF, best_move = moves[0];
    _Alignas(16) unsigned char child[RZ_GAME_STATE_MAX];
    for (int i = 0; i < n; i++) {
        memcpy(child, st, g->state_size);
        g->def->apply(g, child, moves[i]);
        int v = -negamax(s, child, depth - 1, -beta, -alpha);
        if (s->aborted) return 0;
        if (v > best) {
            best = v;
            best_move = moves[i];
        }
        if (v > alpha) alpha = v;
        if (alpha >= beta) break;
    }
    if (e) {
        e->key = key;
        e->gen = s->gen;
        e->value = (int16_t)best;
        e->move = (uint8_t)best_move;
        e->flag = best <= alpha0 ? TT_UPPER : best >= beta ? TT_LOWER : TT_EXACT;
    }
    return best;
}

/* Searches every legal root move in a random order (rng may be NULL: index order); *action
 * gets the first move of the best score, *score that score. */
static int search_root(search *s, const void *st, int depth, rz_rng *rng, int *action, int *score,
                       rz_error *err)
{
    const rz_game *g = s->g;
    uint8_t mask[RZ_GAME_ACTIONS_MAX];
    int moves[RZ_GAME_ACTIONS_MAX], n = 0;
    if (g->def->status(g, st) != RZ_GAME_ONGOING)
        return rz_error_set(err, RZ_ERR_ILLEGAL, "%s: no move in a finished game", g->name);
    g->def->legal(g, st, mask);
    for (int a = 0; a < g->num_actions; a++)
        if (mask[a]) moves[n++] = a;
    for (int i = n - 1; rng && i > 0; i--) { /* Fisher-Yates */
        int j = (int)rz_rng_below(rng, (uint64_t)i + 1), t = moves[i];
        moves[i] = moves[j];
        moves[j] = t;
    }
    int best = -INF, best_move = -1;
    _Alignas(16) unsigned char child[RZ_GAME_STATE_MAX];
    for (int i = 0; i < n; i++) {
        memcpy(child, st, g->state_size);
        g->def->apply(g, child, moves[i]);
        int v = -negamax(s, child, depth - 1, -INF, -best);
        if (s->aborted) return RZ_OK; /* the caller decides whether that is an error */
        if (v > best) {
            best = v;
            best_move = moves[i];
        }
    }
    *action = best_move;
    *score = best;
    return RZ_OK;
}

static size_t tt_entries(long max_nodes)
{
    size_t n = 1024;
    while (n < (size_t)max_nodes / 2 && n < ((size_t)1 << 20)) n <<= 1;
    return n;
}

static int tt_alloc(search *s, size_t entries, rz_error *err)
{
    /* calloc, not rz_alloc: large zeroed blocks come lazily from the kernel */
    s->tt = calloc(entries, sizeof *s->tt);
    if (!s->tt)
        return rz_error_set(err, RZ_ERR_NOMEM, "cannot allocate %zu bytes for a transposition table",
                            entries * sizeof *s->tt);
    s->tt_mask = entries - 1;
    s->gen = 1;
    return RZ_OK;
}

static int over_budget(const search *s, rz_error *err)
{
    return rz_error_set(err, RZ_ERR_STATE, "%s: search budget of %ld nodes exceeded", s->g->name,
                        s->max_nodes);
}

/* A new generation of the table: its entries count as empty. */
static void tt_clear(search *s)
{
    if (!s->tt) return;
    if (++s->gen == 0) {
        memset(s->tt, 0, (s->tt_mask + 1) * sizeof *s->tt);
        s->gen = 1;
    }
}

static int solve_with(search *s, const void *state, rz_rng *rng, int *value, int *plies,
                      int *best_action, rz_error *err)
{
    const rz_game *g = s->g;
    int status = g->def->status(g, state), score, action = -1, rc;
    s->nodes = 0;
    s->aborted = 0;
    if (status != RZ_GAME_ONGOING) score = terminal_score(g, state, status);
    else if ((rc = search_root(s, state, 0, rng, &action, &score, err))) return rc;
    if (s->aborted) return RZ_OK; /* outputs untouched */
    *value = score > 0 ? 1 : score < 0 ? -1 : 0;
    if (plies) *plies = score ? RZ_GAME_WIN - (score > 0 ? score : -score) - moves_played(g, state) : 0;
    if (best_action) *best_action = action;
    return RZ_OK;
}

int rz_game_solve(const rz_game *g, const void *state, long max_nodes, int *value, int *plies,
                  int *best_action, rz_error *err)
{
    search s = {.g = g, .max_nodes = max_nodes, .exact = 1};
    int rc;
    if (g->def->key && (rc = tt_alloc(&s, tt_entries(max_nodes), err))) return rc;
    rc = solve_with(&s, state, NULL, value, plies, best_action, err);
    if (!rc && s.aborted) rc = over_budget(&s, err);
    free(s.tt);
    return rc;
}

/* ------------------------------------------------------------------ solver */

struct rz_solver {
    search s;
};

int rz_solver_create(rz_solver **out, const rz_game *g, long max_nodes, rz_error *err)
{
    *out = NULL;
    if (!g) return rz_error_set(err, RZ_ERR_ARG, "solver: game is NULL");
    if (max_nodes < 1) return rz_error_set(err, RZ_ERR_ARG, "solver: max_nodes = %ld must be >= 1", max_nodes);
    rz_solver *sv = rz_alloc(sizeof *sv, "solver", err);
    if (!sv) return RZ_ERR_NOMEM;
    memset(sv, 0, sizeof *sv);
    sv->s.g = g;
    sv->s.exact = 1;
    int rc = g->def->key ? tt_alloc(&sv->s, tt_entries(max_nodes), err) : RZ_OK;
    if (rc) {
        rz_free(sv);
        return rc;
    }
    *out = sv;
    return RZ_OK;
}

void rz_solver_free(rz_solver *sv)
{
    if (!sv) return;
    free(sv->s.tt);
    rz_free(sv);
}

void rz_solver_clear(rz_solver *sv) { tt_clear(&sv->s); }

int rz_solver_solve(rz_solver *sv, const void *state, long max_nodes, int *solved, int *value,
                    int *plies, int *best_action, rz_error *err)
{
    if (!sv || !state || !solved || !value) return rz_error_set(err, RZ_ERR_ARG, "solver: NULL argument");
    sv->s.max_nodes = max_nodes;
    int rc = solve_with(&sv->s, state, NULL, value, plies, best_action, err);
    *solved = !rc && !sv->s.aborted;
    return rc;
}

/* The window (-1, 1) around a draw: a win needs only one winning line proven, not the
 * fastest, and a loss only that every line loses. Its table entries are bounds like any
 * other, so exact and value-only searches share one table. */
int rz_solver_wdl(rz_solver *sv, const void *state, long max_nodes, int *solved, int *value,
                  rz_error *err)
{
    if (!sv || !state || !solved || !value) return rz_error_set(err, RZ_ERR_ARG, "solver: NULL argument");
    search *s = &sv->s;
    const rz_game *g = s->g;
    int status = g->def->status(g, state);
    s->max_nodes = max_nodes;
    s->nodes = 0;
    s->aborted = 0;
    int score = status != RZ_GAME_ONGOING ? terminal_score(g, state, status) : negamax(s, state, 0, -1, 1);
    *solved = !s->aborted;
    if (*solved) *value = score > 0 ? 1 : score < 0 ? -1 : 0;
    return RZ_OK;
}

/* ------------------------------------------------------------------ players */

enum { P_RANDOM, P_MINIMAX, P_NIM, P_ALPHABETA };

struct rz_player {
    const rz_game *g;
    int kind;
    char name[64];
    long max_nodes; /* minimax */
    int depth;      /* alphabeta */
    search s;       /* minimax: owns the transposition table, reused across calls */
};

int rz_player_create(rz_player **out, const rz_game *g, const char *spec, rz_error *err)
{
    *out = NULL;
    rz_spec sp;
    int rc = rz_spec_parse(&sp, spec, err);
    if (rc) return rc;
    static const char *const no_keys[] = {NULL}, *const mm_keys[] = {"max_nodes", NULL},
                             *const ab_keys[] = {"depth", NULL};
    int kind;
    const char *const *keys;
    if (strcmp(sp.name, "random") == 0) kind = P_RANDOM, keys = no_keys;
    else if (strcmp(sp.name, "minimax") == 0) kind = P_MINIMAX, keys = mm_keys;
    else if (strcmp(sp.name, "nim") == 0) kind = P_NIM, keys = no_keys;
    else if (strcmp(sp.name, "alphabeta") == 0) kind = P_ALPHABETA, keys = ab_keys;
    else
        return rz_error_set(err, RZ_ERR_ARG, "unknown player '%s' (known: random, minimax, nim, alphabeta)",
                            sp.name);
    if ((rc = rz_spec_check_keys(&sp, keys, err))) return rc;
    long max_nodes = 0, depth = 0;
    if (kind == P_MINIMAX && (rc = rz_spec_int(&sp, "max_nodes", 10000000, 1, 2000000000, &max_nodes, err)))
        return rc;
    if (kind == P_ALPHABETA && (rc = rz_spec_int(&sp, "depth", 4, 1, 20, &depth, err))) return rc;
    if (kind == P_NIM && g->def != &rz_game_nim)
        return rz_error_set(err, RZ_ERR_ARG, "player 'nim' plays only nim, not %s", g->name);
    if (kind == P_ALPHABETA && !g->def->evaluate)
        return rz_error_set(err, RZ_ERR_ARG, "player 'alphabeta' needs a heuristic, which %s lacks",
                            g->name);
    rz_player *p = rz_alloc(sizeof *p, "player", err);
    if (!p) return RZ_ERR_NOMEM;
    p->g = g;
    p->kind = kind;
    p->max_nodes = max_nodes;
    p->depth = (int)depth;
    if (kind == P_MINIMAX) snprintf(p->name, sizeof p->name, "minimax(max_nodes=%ld)", max_nodes);
    else if (kind == P_ALPHABETA) snprintf(p->name, sizeof p->name, "alphabeta(depth=%d)", p->depth);
    else snprintf(p->name, sizeof p->name, "%s", sp.name);
    p->s.g = g;
    if (kind == P_MINIMAX && g->def->key && (rc = tt_alloc(&p->s, tt_entries(max_nodes), err))) {
        rz_free(p);
        return rc;
    }
    *out = p;
    return RZ_OK;
}

void rz_player_free(rz_player *p)
{
    if (!p) return;
    free(p->s.tt);
    rz_free(p);
}

const char *rz_player_name(const rz_player *p) { return p->name; }

static int pick(const int *moves, int n, rz_rng *rng) { return moves[rz_rng_below(rng, (uint64_t)n)]; }

int rz_player_act(rz_player *p, const void *state, rz_rng *rng, int *action, rz_error *err)
{
    const rz_game *g = p->g;
    if (g->def->status(g, state) != RZ_GAME_ONGOING)
        return rz_error_set(err, RZ_ERR_ILLEGAL, "%s: no move in a finished game", g->name);
    uint8_t mask[RZ_GAME_ACTIONS_MAX];
    int moves[RZ_GAME_ACTIONS_MAX], n = 0, score, value;
    g->def->legal(g, state, mask);
    for (int a = 0; a < g->num_actions; a++)
        if (mask[a]) moves[n++] = a;
    switch (p->kind) {
    case P_NIM: {
        /* taking from pile i leaves XOR 0 iff the pile becomes pile ^ x, for x the XOR; a
         * pile's size is its number of legal takes */
        int piles[8], x = 0, k = 0, M = g->max_pile, wins[8];
        for (int i = 0; i < g->npiles; i++) {
            piles[i] = 0;
            for (int t = 0; t < M; t++) piles[i] += mask[i * M + t];
            x ^= piles[i];
        }
        for (int i = 0; x && i < g->npiles; i++)
            if ((piles[i] ^ x) < piles[i]) wins[k++] = i * M + piles[i] - (piles[i] ^ x) - 1;
        *action = k ? pick(wins, k, rng) : pick(moves, n, rng);
        return RZ_OK;
    }
    case P_MINIMAX: {
        tt_clear(&p->s); /* a fresh table each call: act depends on the state and the rng only */
        p->s.max_nodes = p->max_nodes;
        p->s.exact = 1;
        int rc = solve_with(&p->s, state, rng, &value, NULL, action, err);
        return rc || !p->s.aborted ? rc : over_budget(&p->s, err);
    }
    case P_ALPHABETA: {
        search s = {.g = g, .max_nodes = LONG_MAX, .exact = 0};
        return search_root(&s, state, p->depth, rng, action, &score, err);
    }
    default:
        *action = pick(moves, n, rng);
        return RZ_OK;
    }
}

/* arena.c: evaluation of game agents (policies and reference players): head-to-head
 * games, every line perfect play can choose, winning-move accuracy over positions, Elo.
 *
 * Head-to-head games run in lockstep like self-play: per ply one batched forward for each
 * policy over the games where it moves, reference players in parallel with one instance
 * per thread (a player's move depends only on the RNG state it is given, so which
 * instance plays does not matter), greedy searches in parallel with one copy of the
 * network per thread (likewise). Every game has its own RNG stream: the counts do not
 * depend on the thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

#define ARENA_OBS_STACK 1024
#define ARENA_ACTIONS_MAX 256
#define ARENA_STATE_MAX 512

/* FNV-1a over the observation's bytes: a position's identity for the held-out split and
 * for de-duplicating positions. */
static uint64_t obs_key(const float *obs, int n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *b = (const unsigned char *)obs;
    for (size_t k = 0; k < (size_t)n * sizeof(float); k++) h = (h ^ b[k]) * 0x100000001b3ull;
    return h;
}

static uint64_t position_key(const rz_game *g, const void *state)
{
    const int n = rz_game_obs_size(g);
    float stack[ARENA_OBS_STACK];
    float *obs = n <= ARENA_OBS_STACK ? stack : malloc((size_t)n * sizeof(float));
    if (!obs) return 0;
    rz_game_observe(g, state, obs);
    uint64_t h = obs_key(obs, n);
    if (obs != stack) free(obs);
    return h;
}

int rz_position_heldout(const rz_game *g, const void *state, int k)
{
    if (k <= 0) return 0;
    return position_key(g, state) % (uint64_t)k == 0;
}

static int agent_check(const rz_game *g, const rz_agent *a, const char *what, rz_error *err)
{
    if (!a) return rz_error_set(err, RZ_ERR_ARG, "%s: agent is NULL", what);
    if (!a->mlp == !a->player)
        return rz_error_set(err, RZ_ERR_ARG, "%s: an agent needs exactly one of mlp and player",
                            what);
    if (a->mlp) {
        const rz_mlp_config *c = rz_mlp_cfg(a->mlp);
        if (c->inputs != rz_game_obs_size(g) || c->outputs != rz_game_num_actions(g))
            return rz_error_set(err, RZ_ERR_ARG,
                                "%s: the policy maps %d inputs to %d actions, but %s has "
                                "observations of %d and %d actions",
                                what, c->inputs, c->outputs, rz_game_name(g), rz_game_obs_size(g),
                                rz_game_num_actions(g));
        if (!(a->temperature >= 0.0f) || !isfinite(a->temperature))
            return rz_error_set(err, RZ_ERR_ARG, "%s: temperature = %g must be >= 0", what,
                                (double)a->temperature);
        if (a->search_depth < 0 || a->search_depth > RZ_SEARCH_MAX_DEPTH)
            return rz_error_set(err, RZ_ERR_ARG, "%s: search_depth = %d must be in 0..%d", what,
                                a->search_depth, RZ_SEARCH_MAX_DEPTH);
        if (a->search_depth > 0 && !c->value)
            return rz_error_set(err, RZ_ERR_ARG, "%s: a search needs a network with a value head",
                                what);
        if (a->solve_nodes < 0 || (a->solve_nodes > 0 && (a->search_depth == 0 || a->temperature != 0.0f)))
            return rz_error_set(err, RZ_ERR_ARG,
                                "%s: solve_nodes = %ld needs a greedy search (search_depth > 0, "
                                "temperature 0)",
                                what, a->solve_nodes);
    }
    return RZ_OK;
}

/* A policy that moves by the search's best move (rz_search_best), not by sampling. */
static int greedy_search(const rz_agent *a) { return a->mlp && a->search_depth > 0 && a->temperature == 0.0f; }

int rz_agent_act(const rz_game *g, const rz_agent *a, const void *state, rz_rng *rng,
                 int *action, rz_error *err)
{
    if (!g || !state || !rng || !action)
        return rz_error_set(err, RZ_ERR_ARG, "agent act: NULL argument");
    int rc = agent_check(g, a, "agent act", err);
    if (rc) return rc;
    if (rz_game_is_terminal(g, state))
        return rz_error_set(err, RZ_ERR_ILLEGAL, "agent act: the game is over");
    if (a->player) return rz_player_act(a->player, state, rng, action, err);
    const int I = rz_game_obs_size(g), A = rz_game_num_actions(g);
    if (greedy_search(a) && a->solve_nodes > 0) {
        rz_solver *sv;
        if ((rc = rz_solver_create(&sv, g, a->solve_nodes, err))) return rc;
        rc = rz_search_best_solved(g, a->mlp, sv, a->solve_nodes, state, a->search_depth, action, NULL, err);
        rz_solver_free(sv);
        return rc;
    }
    if (greedy_search(a))
        return rz_search_best(g, a->mlp, state, a->search_depth, action, NULL, NULL, err);
    if (a->search_depth > 0) {
        float sc[ARENA_ACTIONS_MAX], scratch[2 * ARENA_ACTIONS_MAX];
        rc = rz_search_scores(g, a->mlp, state, 1, a->search_depth, sc, err);
        if (rc) return rc;
        rz_sampling s;
        rz_sampling_default(&s);
        s.temperature = a->temperature;
        int x = rz_sample_token(sc, A, &s, rng, scratch, NULL);
        if (x < 0) return rz_error_set(err, RZ_ERR_NONFINITE, "agent act: the search scores are not finite");
        *action = x;
        return RZ_OK;
    }
    float *obs = malloc((size_t)I * sizeof(float));
    uint8_t mask[ARENA_ACTIONS_MAX];
    if (!obs) return rz_error_set(err, RZ_ERR_NOMEM, "agent act: cannot allocate an observation");
    rz_game_observe(g, state, obs);
    rz_game_legal(g, state, mask);
    rc = rz_mlp_forward(a->mlp, obs, mask, 1, err);
    free(obs);
    if (rc) return rc;
    rz_sampling s;
    rz_sampling_default(&s);
    s.temperature = a->temperature;
    float scratch[2 * ARENA_ACTIONS_MAX];
    int x = rz_sample_token(rz_mlp_logits(a->mlp), A, &s, rng, scratch, NULL);
    if (x < 0) return rz_error_set(err, RZ_ERR_NONFINITE, "agent act: the policy's logits are not finite");
    *action = x;
    return RZ_OK;
}

/* ------------------------------------------------------------- head to head */

typedef struct {
    const rz_agent *agent;
    rz_player **inst; /* (threads) for a reference player */
    rz_mlp **nets;    /* (threads) for a greedy search: [0] the agent's own, the rest copies */
    rz_solver **solvers; /* (threads) for a greedy search with solve_nodes > 0 */
} seat_agent;

/* One network per thread for a greedy search, whose forward passes write the network's
 * activations: nets[0] is the agent's own, the others are copies of its parameters. A
 * search's move depends only on the parameters and the position, so which copy searches a
 * game does not matter. With solve_nodes > 0, one solver per thread too (each move starts
 * from an empty table, so which solver does not matter either). */
static int search_nets(const rz_game *g, seat_agent *sa, int T, rz_error *err)
{
    sa->nets = calloc((size_t)T, sizeof *sa->nets);
    if (!sa->nets) return rz_error_set(err, RZ_ERR_NOMEM, "arena: cannot allocate the search networks");
    rz_mlp *own = sa->agent->mlp;
    sa->nets[0] = own;
    const rz_params *src = rz_mlp_params(own);
    for (int k = 1; k < T; k++) {
        int rc = rz_mlp_create(&sa->nets[k], rz_mlp_cfg(own), 0, err);
        if (rc) return rc;
        memcpy(rz_mlp_params(sa->nets[k])->param, src->param, src->numel * sizeof(float));
    }
    if (sa->agent->solve_nodes > 0) {
        sa->solvers = calloc((size_t)T, sizeof *sa->solvers);
        if (!sa->solvers) return rz_error_set(err, RZ_ERR_NOMEM, "arena: cannot allocate the solvers");
        for (int k = 0; k < T; k++) {
            int rc = rz_solver_create(&sa->solvers[k], g, sa->agent->solve_nodes, err);
            if (rc) return rc;
        }
    }
    return RZ_OK;
}

static void search_nets_free(seat_agent *sa, int T)
{
    if (sa->solvers)
        for (int k = 0; k < T; k++) rz_solver_free(sa->solvers[k]);
    free(sa->solvers);
    if (!sa->nets) return;
    for (int k = 1; k < T; k++) rz_mlp_free(sa->nets[k]);
    free(sa->nets);
}

/* The greedy search's move in each of the games rows[0..B), the games dealt to the threads;
 * on failure the error of the first failing game in row order. */
static int search_moves(const rz_game *g, const seat_agent *sa, const unsigned char *states,
                        const int *rows, int B, int *moves, rz_error *err)
{
    const size_t S = rz_game_state_size(g);
    int first = B;
    rz_error ferr = {0};
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < B; k++) {
        rz_error e = {0};
        const int i = rows[k];
        const int th = rz_thread_num();
        const void *st = states + (size_t)i * S;
        const int depth = sa->agent->search_depth;
        if ((sa->solvers ? rz_search_best_solved(g, sa->nets[th], sa->solvers[th], sa->agent->solve_nodes,
                                                 st, depth, &moves[i], NULL, &e)
                         : rz_search_best(g, sa->nets[th], st, depth, &moves[i], NULL, NULL, &e)) != RZ_OK) {
#pragma omp critical(arena_search_err)
            if (k < first) {
                first = k;
                ferr = e;
            }
        }
    }
    if (first == B) return RZ_OK;
    return rz_error_set(err, ferr.code ? ferr.code : RZ_ERR_STATE, "%s", ferr.msg);
}

int rz_arena_play(const rz_game *g, const rz_agent *a, const rz_agent *b, int a_seat, int games,
                  uint64_t seed, rz_arena_result *res, rz_error *err)
{
    if (!g || !res) return rz_error_set(err, RZ_ERR_ARG, "arena: game or result is NULL");
    int rc = agent_check(g, a, "arena (first agent)", err);
    if (!rc) rc = agent_check(g, b, "arena (second agent)", err);
    if (rc) return rc;
    if (a_seat != 0 && a_seat != 1)
        return rz_error_set(err, RZ_ERR_ARG, "arena: seat = %d must be 0 or 1", a_seat);
    if (games < 1 || games > (1 << 22))
        return rz_error_set(err, RZ_ERR_ARG, "arena: games = %d must be in 1..%d", games, 1 << 22);
    const int n = games, I = rz_game_obs_size(g), A = rz_game_num_actions(g), T = rz_max_threads();
    const size_t S = rz_game_state_size(g);
    seat_agent seats[2] = {{a_seat == 0 ? a : b, NULL, NULL, NULL}, {a_seat == 0 ? b : a, NULL, NULL, NULL}};
    unsigned char *states = rz_alloc((size_t)n * S, "arena states", err);
    rz_rng *rngs = states ? rz_alloc((size_t)n * sizeof *rngs, "arena rngs", err) : NULL;
    int *moves = rngs ? rz_alloc((size_t)n * sizeof *moves, "arena moves", err) : NULL;
    int *rows = moves ? rz_alloc((size_t)n * sizeof *rows, "arena rows", err) : NULL;
    float *obs = rows ? rz_alloc((size_t)n * I * sizeof *obs, "arena observations", err) : NULL;
    uint8_t *mask = obs ? rz_alloc((size_t)n * A, "arena masks", err) : NULL;
    float *scratch = mask ? rz_alloc((size_t)T * 2 * A * sizeof *scratch, "arena scratch", err) : NULL;
    /* for a searching agent: its games' states side by side, and their move scores */
    unsigned char *roots = scratch ? rz_alloc((size_t)n * S, "arena search roots", err) : NULL;
    float *scores = roots ? rz_alloc((size_t)n * A * sizeof *scores, "arena search scores", err) : NULL;
    rc = scores ? RZ_OK : RZ_ERR_NOMEM;
    for (int s = 0; s < 2 && !rc; s++) {
        if (greedy_search(seats[s].agent)) rc = search_nets(g, &seats[s], T, err);
        if (!seats[s].agent->player) continue;
        seats[s].inst = calloc((size_t)T, sizeof *seats[s].inst);
        if (!seats[s].inst) rc = rz_error_set(err, RZ_ERR_NOMEM, "arena: cannot allocate players");
        for (int k = 0; k < T && !rc; k++)
            rc = rz_player_create(&seats[s].inst[k], g, rz_player_name(seats[s].agent->player), err);
    }
    if (!rc) {
        for (int i = 0; i < n; i++) {
            rz_game_reset(g, states + (size_t)i * S);
            rz_rng_stream(&rngs[i], seed, (uint64_t)i, 0, 0);
        }
    }
    int failed = 0;
    rz_error perr = {0};
    while (!rc) {
        int any = 0;
        for (int s = 0; s < 2 && !rc; s++) {
            const rz_agent *ag = seats[s].agent;
            int B = 0;
            for (int i = 0; i < n; i++)
                if (rz_game_current_player(g, states + (size_t)i * S) == s) rows[B++] = i;
            if (B == 0) continue;
            any = 1;
            if (greedy_search(ag)) {
                rc = search_moves(g, &seats[s], states, rows, B, moves, err);
            } else if (ag->mlp) {
                const float *logits;
                if (ag->search_depth > 0) {
                    for (int k = 0; k < B; k++)
                        memcpy(roots + (size_t)k * S, states + (size_t)rows[k] * S, S);
                    rc = rz_search_scores(g, ag->mlp, roots, B, ag->search_depth, scores, err);
                    if (rc) break;
                    logits = scores;
                } else {
#pragma omp parallel for schedule(static)
                    for (int k = 0; k < B; k++) {
                        const void *st = states + (size_t)rows[k] * S;
                        rz_game_observe(g, st, obs + (size_t)k * I);
                        rz_game_legal(g, st, mask + (size_t)k * A);
                    }
                    rc = rz_mlp_forward(ag->mlp, obs, mask, B, err);
                    if (rc) break;
                    logits = rz_mlp_logits(ag->mlp);
                }
                rz_sampling sp;
                rz_sampling_default(&sp);
                sp.temperature = ag->temperature;
#pragma omp parallel for schedule(static)
                for (int k = 0; k < B; k++)
                    moves[rows[k]] = rz_sample_token(logits + (size_t)k * A, A, &sp, &rngs[rows[k]],
                                                     scratch + (size_t)rz_thread_num() * 2 * A, NULL);
            } else {
#pragma omp parallel for schedule(dynamic, 1)
                for (int k = 0; k < B; k++) {
                    rz_error e = {0};
                    const int i = rows[k];
                    if (rz_player_act(seats[s].inst[rz_thread_num()], states + (size_t)i * S,
                                      &rngs[i], &moves[i], &e) != RZ_OK) {
#pragma omp critical(arena_err)
                        {
                            failed = 1;
                            perr = e;
                        }
                    }
                }
                if (failed) rc = rz_error_set(err, perr.code ? perr.code : RZ_ERR_STATE, "arena: %s", perr.msg);
            }
            if (rc) break;
#pragma omp parallel for schedule(static)
            for (int k = 0; k < B; k++) {
                const int i = rows[k];
                if (moves[i] < 0 || rz_game_apply(g, states + (size_t)i * S, moves[i], NULL) != RZ_OK) {
#pragma omp atomic write
                    failed = 1;
                }
            }
            if (failed) rc = rz_error_set(err, RZ_ERR_STATE, "arena: an agent chose an illegal move");
        }
        if (!any) break;
    }
    if (!rc) {
        memset(res, 0, sizeof *res);
        double r[2], plies = 0.0;
        for (int i = 0; i < n; i++) {
            const void *st = states + (size_t)i * S;
            rz_game_returns(g, st, r);
            if (r[a_seat] > r[1 - a_seat]) res->wins++;
            else if (r[a_seat] < r[1 - a_seat]) res->losses++;
            else res->draws++;
            plies += rz_game_move_count(g, st);
        }
        res->plies_mean = plies / n;
    }
    for (int s = 0; s < 2; s++) {
        search_nets_free(&seats[s], T);
        if (!seats[s].inst) continue;
        for (int k = 0; k < T; k++) rz_player_free(seats[s].inst[k]);
        free(seats[s].inst);
    }
    rz_free(states);
    rz_free(rngs);
    rz_free(moves);
    rz_free(rows);
    rz_free(obs);
    rz_free(mask);
    rz_free(scratch);
    rz_free(roots);
    rz_free(scores);
    return rc;
}

/* ------------------------------------------------------- perfect lines */

typedef struct {
    const rz_game *g;
    rz_agent greedy;
    int seat;
    long max_nodes;
    rz_arena_result *res;
    double plies;
    rz_error *err;
} lines_walk;

static int walk_lines(lines_walk *w, const void *st)
{
    const rz_game *g = w->g;
    const size_t S = rz_game_state_size(g);
    if (rz_game_is_terminal(g, st)) {
        double r[2];
        rz_game_returns(g, st, r);
        if (r[w->seat] > r[1 - w->seat]) w->res->wins++;
        else if (r[w->seat] < r[1 - w->seat]) w->res->losses++;
        else w->res->draws++;
        w->plies += rz_game_move_count(g, st);
        return RZ_OK;
    }
    _Alignas(16) unsigned char child[ARENA_STATE_MAX];
    if (rz_game_current_player(g, st) == w->seat) {
        rz_rng unused;
        rz_rng_seed(&unused, 0);
        int a, rc = rz_agent_act(g, &w->greedy, st, &unused, &a, w->err);
        if (rc) return rc;
        memcpy(child, st, S);
        rc = rz_game_apply(g, child, a, w->err);
        return rc ? rc : walk_lines(w, child);
    }
    int value, rc = rz_game_solve(g, st, w->max_nodes, &value, NULL, NULL, w->err);
    if (rc) return rc;
    uint8_t mask[ARENA_ACTIONS_MAX];
    rz_game_legal(g, st, mask);
    for (int a = 0; a < rz_game_num_actions(g); a++) {
        if (!mask[a]) continue;
        memcpy(child, st, S);
        rc = rz_game_apply(g, child, a, w->err);
        if (rc) return rc;
        int cv = 0;
        if (rz_game_is_terminal(g, child)) {
            double r[2];
            rz_game_returns(g, child, r);
            cv = r[rz_game_current_player(g, st)] > 0 ? -1 : r[rz_game_current_player(g, st)] < 0 ? 1 : 0;
        } else {
            rc = rz_game_solve(g, child, w->max_nodes, &cv, NULL, NULL, w->err);
            if (rc) return rc;
        }
        if (-cv != value) continue; /* not value-preserving: perfect play never chooses it */
        rc = walk_lines(w, child);
        if (rc) return rc;
    }
    return RZ_OK;
}

int rz_arena_perfect_lines(const rz_game *g, const rz_agent *a, int a_seat, long max_nodes,
                           rz_arena_result *res, rz_error *err)
{
    if (!g || !res) return rz_error_set(err, RZ_ERR_ARG, "perfect lines: game or result is NULL");
    int rc = agent_check(g, a, "perfect lines", err);
    if (rc) return rc;
    if (!a->mlp) return rz_error_set(err, RZ_ERR_ARG, "perfect lines: the agent must be a policy");
    if (a_seat != 0 && a_seat != 1)
        return rz_error_set(err, RZ_ERR_ARG, "perfect lines: seat = %d must be 0 or 1", a_seat);
    if (max_nodes < 1) return rz_error_set(err, RZ_ERR_ARG, "perfect lines: max_nodes must be >= 1");
    rz_arena_result r = {0};
    lines_walk w = {g, {a->mlp, NULL, 0.0f, a->search_depth, a->solve_nodes}, a_seat, max_nodes, &r, 0.0, err};
    _Alignas(16) unsigned char st[ARENA_STATE_MAX];
    rz_game_reset(g, st);
    rc = walk_lines(&w, st);
    if (rc) return rc;
    const int lines = r.wins + r.draws + r.losses;
    r.plies_mean = lines ? w.plies / lines : 0.0;
    *res = r;
    return RZ_OK;
}

/* ------------------------------------------------------ winning moves */

typedef struct {
    const rz_game *g;
    rz_agent greedy;
    int holdout;
    long max_positions, max_nodes;
    uint64_t *seen; /* open addressing, 0 = empty */
    size_t seen_mask;
    long nseen, positions, correct;
    rz_error *err;
} moves_walk;

/* Returns 1 when key was new (and records it), 0 when seen, -1 when the table is full. */
static int seen_insert(moves_walk *w, uint64_t key)
{
    if (key == 0) key = 1;
    size_t i = (size_t)key & w->seen_mask;
    while (w->seen[i]) {
        if (w->seen[i] == key) return 0;
        i = (i + 1) & w->seen_mask;
    }
    if (w->nseen >= w->max_positions) return -1;
    w->seen[i] = key;
    w->nseen++;
    return 1;
}

static int walk_moves(moves_walk *w, const void *st)
{
    const rz_game *g = w->g;
    if (rz_game_is_terminal(g, st)) return RZ_OK;
    int fresh = seen_insert(w, position_key(g, st));
    if (fresh < 0)
        return rz_error_set(w->err, RZ_ERR_STATE, "winning moves: more than %ld positions",
                            w->max_positions);
    if (!fresh) return RZ_OK;
    const size_t S = rz_game_state_size(g);
    _Alignas(16) unsigned char child[ARENA_STATE_MAX];
    int keep = w->holdout == 0 || (w->holdout > 0 && rz_position_heldout(g, st, w->holdout)) ||
               (w->holdout < 0 && !rz_position_heldout(g, st, -w->holdout));
    if (keep) {
        int value, rc = rz_game_solve(g, st, w->max_nodes, &value, NULL, NULL, w->err);
        if (rc) return rc;
        if (value == 1) {
            rz_rng unused;
            rz_rng_seed(&unused, 0);
            int a;
            rc = rz_agent_act(g, &w->greedy, st, &unused, &a, w->err);
            if (rc) return rc;
            memcpy(child, st, S);
            rc = rz_game_apply(g, child, a, w->err);
            if (rc) return rc;
            int cv = -1;
            if (!rz_game_is_terminal(g, child)) {
                rc = rz_game_solve(g, child, w->max_nodes, &cv, NULL, NULL, w->err);
                if (rc) return rc;
            } else {
                double r[2];
                rz_game_returns(g, child, r);
                cv = r[rz_game_current_player(g, st)] > 0 ? -1 : 1;
            }
            w->positions++;
            w->correct += cv == -1;
        }
    }
    uint8_t mask[ARENA_ACTIONS_MAX];
    rz_game_legal(g, st, mask);
    for (int a = 0; a < rz_game_num_actions(g); a++) {
        if (!mask[a]) continue;
        memcpy(child, st, S);
        int rc = rz_game_apply(g, child, a, w->err);
        if (!rc) rc = walk_moves(w, child);
        if (rc) return rc;
    }
    return RZ_OK;
}

int rz_arena_winning_moves(const rz_game *g, const rz_agent *a, int holdout, long max_positions,
                           long max_nodes, long *positions, long *correct, rz_error *err)
{
    if (!g || !positions || !correct)
        return rz_error_set(err, RZ_ERR_ARG, "winning moves: NULL argument");
    int rc = agent_check(g, a, "winning moves", err);
    if (rc) return rc;
    if (!a->mlp) return rz_error_set(err, RZ_ERR_ARG, "winning moves: the agent must be a policy");
    if (max_positions < 1 || max_positions > (1L << 26) || max_nodes < 1)
        return rz_error_set(err, RZ_ERR_ARG,
                            "winning moves: max_positions must be in 1..2^26, max_nodes >= 1");
    size_t cap = 1;
    while (cap < (size_t)max_positions * 2) cap <<= 1;
    moves_walk w = {g, {a->mlp, NULL, 0.0f, a->search_depth, a->solve_nodes}, holdout, max_positions, max_nodes, NULL, cap - 1,
                    0, 0, 0, err};
    w.seen = rz_alloc(cap * sizeof *w.seen, "winning moves: position table", err);
    if (!w.seen) return RZ_ERR_NOMEM;
    _Alignas(16) unsigned char st[ARENA_STATE_MAX];
    rz_game_reset(g, st);
    rc = walk_moves(&w, st);
    rz_free(w.seen);
    if (rc) return rc;
    *positions = w.positions;
    *correct = w.correct;
    return RZ_OK;
}

/* ----------------------------------------------------------------- Elo */

int rz_elo_fit(double *elo, const double *points, const double *games, int K, int anchor,
               double prior, rz_error *err)
{
    if (!elo || !points || !games) return rz_error_set(err, RZ_ERR_ARG, "elo: NULL argument");
    if (K < 1 || K > 4096) return rz_error_set(err, RZ_ERR_ARG, "elo: K = %d must be in 1..4096", K);
    if (anchor < 0 || anchor >= K)
        return rz_error_set(err, RZ_ERR_ARG, "elo: anchor = %d must be in 0..%d", anchor, K - 1);
    if (!(prior > 0.0) || !isfinite(prior))
        return rz_error_set(err, RZ_ERR_ARG, "elo: prior = %g must be > 0", prior);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            const double n = games[i * K + j], p = points[i * K + j];
            if (!(n >= 0.0) || !(p >= 0.0) || p > n || !isfinite(n) ||
                n != games[j * K + i] || (i == j && n != 0.0) ||
                fabs(p + points[j * K + i] - n) > 1e-9 * (1.0 + n))
                return rz_error_set(err, RZ_ERR_ARG,
                                    "elo: entry (%d, %d) is inconsistent: games must be symmetric "
                                    "with a zero diagonal and points[i][j] + points[j][i] = games",
                                    i, j);
        }
    double *gam = malloc((size_t)K * sizeof *gam), *W = malloc((size_t)K * sizeof *W);
    if (!gam || !W) {
        free(gam);
        free(W);
        return rz_error_set(err, RZ_ERR_NOMEM, "elo: cannot allocate %d ratings", K);
    }
    for (int i = 0; i < K; i++) {
        gam[i] = 1.0;
        W[i] = 0.0;
        for (int j = 0; j < K; j++)
            if (games[i * K + j] > 0) W[i] += points[i * K + j] + 0.5 * prior;
    }
    for (int it = 0; it < 100000; it++) {
        double change = 0.0;
        for (int i = 0; i < K; i++) {
            if (W[i] == 0.0) continue; /* played nobody */
            double den = 0.0;
            for (int j = 0; j < K; j++)
                if (games[i * K + j] > 0) den += (games[i * K + j] + prior) / (gam[i] + gam[j]);
            double ng = W[i] / den;
            change = fmax(change, fabs(log(ng / gam[i])));
            gam[i] = ng;
        }
        /* the scale is free: keep the geometric mean at 1 so nothing drifts */
        double lm = 0.0;
        int cnt = 0;
        for (int i = 0; i < K; i++)
            if (W[i] > 0.0) lm += log(gam[i]), cnt++;
        if (cnt) lm /= cnt;
        for (int i = 0; i < K; i++)
            if (W[i] > 0.0) gam[i] *= exp(-lm);
        if (change < 1e-12) break;
    }
    const double base = W[anchor] > 0.0 ? 400.0 * log10(gam[anchor]) : 0.0;
    for (int i = 0; i < K; i++) elo[i] = W[i] > 0.0 ? 400.0 * log10(gam[i]) - base : 0.0;
    free(gam);
    free(W);
    return RZ_OK;
}

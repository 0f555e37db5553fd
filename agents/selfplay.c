/* selfplay.c: GRPO self-play for two-player games, from the rules alone.
 *
 * One step:
 *   1. P start positions: the initial state after a few uniformly random moves.
 *   2. G games from each, the current policy in both seats, sampled at `temperature`
 *      (with `explore`, the first plies of each game are exploring moves instead: a
 *      deterministic policy otherwise plays the same game G times and learns nothing).
 *      All P * G games advance in lockstep: one batched MLP forward per ply over the games
 *      still running, then OpenMP over games for sampling and applying moves. Each game
 *      draws from its own RNG stream and writes only its own decision slots, so the result
 *      is the same for any thread count.
 *   3. Rewards: a game's final return for the player to move at its start position;
 *      advantages by rz_advantages within each group of G; a decision made by the other
 *      player gets the negated advantage. For zero-sum returns that is exactly what
 *      normalising each seat on its own would give (mean and std flip sign together).
 *   4. The GRPO objective with each decision as a sequence of one token (N = decisions,
 *      T = 1), its dlogp through rz_logprob_backward and rz_mlp_backward, AdamW; mu passes,
 *      each split into `minibatches` updates over a shuffled order.
 *
 * With value_coef > 0 the network also has a value head, regressed toward each decision's
 * TD(lambda) target (the final return for the mover, mixed with the search values when
 * there is a search). With search_depth > 0 the games are played by the search instead of
 * the policy (rz_search_scores: the rules plus the network's own value at the horizon) and
 * the policy head learns the search's best move by cross-entropy (expert iteration), as in
 * TD-Gammon and AlphaZero.
 *
 * With mirror, a random half of each step's decisions are reflected (the game's rz_game_mirror)
 * before the update, so the network learns from both orientations of every position.
 *
 * There is no hand-written evaluation anywhere: the only signal is who won.
 * Over MPI (core/dist.c) each rank plays the games of its share of the start positions and
 * the ranks exchange them; every rank then runs the same update on all of them (the
 * update is not split over the ranks), so any number of ranks gives one process's result.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rlzero.h"

/* per-game loops shorter than this run on one thread: a fork costs more than the work */
#define SP_OMP_MIN_GAMES 64
#define SP_UNSOLVED 2

struct rz_selfplay {
    const rz_game *g;
    rz_selfplay_config cfg;
    rz_adamw_config opt; /* cfg.opt with warmup and total_steps in optimizer updates */
    rz_mlp *mlp, *ref;   /* ref only when beta > 0 */
    long steps, updates;
    int I, A, M;         /* observation size, actions, max moves */
    size_t S;            /* state bytes */
    /* per-step buffers, sized for P * G games of M decisions */
    int n_games;
    unsigned char *states; // (n_games, S)
    unsigned char *start;  // (P, S) start positions
    int *starter;          // (P) the player to move at each start position
    int *offset;           // (P) explore: each group's rotation of its first moves
    rz_rng *rngs;          // (n_games)
    int *len;              // (n_games) decisions so far
    float *batch_obs;      // (n_games, I) one ply's forward batch
    uint8_t *batch_mask;   // (n_games, A)
    int *active;           // (n_games)
    float *scratch;        // (n_games, 2 * A) sampler scratch, one row per game
    float *obs;            // (n_games * M, I) decisions, per game slot, then compacted
    uint8_t *mask;         // (n_games * M, A)
    int *action;           // (n_games * M)
    int8_t *player;        // (n_games * M)
    float *lmask;          // (n_games * M) 1 = in the loss
    float *blogp;          // (n_games * M) an exploring move's log-prob under its uniform
                           // draw (-log n), 0 for a policy move
    float *adv_dec;        // (n_games * M)
    float *rewards, *adv;  // (n_games)
    float *logp, *old_logp, *ref_logp, *ent, *dlogp; // (n_games * M)
    float *dlogits;        // (n_games * M, A)
    float *sv;             // (n_games * M) search value at the decision (search_depth > 0)
    int *best;             // (n_games * M) the search's best move
    float *vtarget;        // (n_games * M) value targets
    float *mb_vt, *dvalue; // (n_games * M)
    int8_t *exact;         // (n_games * M) solve_nodes > 0: a decision's exact value for its
                           // mover (-1, 0, 1), or SP_UNSOLVED; per game slot, then compacted
    long *game_d0;         // (n_games) each game's first decision after compaction
    unsigned char *replay; // (threads, M + 1, S) a game's states, rebuilt to be solved
    rz_solver **solvers;   // (threads)
    int nsolvers;
    unsigned char *roots;  // (n_games, S) the positions searched in one ply
    float *scores;         // (n_games, A) their move scores
    int *perm;             // (n_games * M)
    int *obs_map, *act_map; // (I), (A) the game's reflection (mirror)
    float *obs_tmp;        // (I)
    uint8_t *mask_tmp;     // (A)
    /* minibatch gathers */
    float *mb_obs;         // (n_games * M, I)
    uint8_t *mb_mask;      // (n_games * M, A)
    int *mb_action;
    float *mb_old, *mb_ref, *mb_adv, *mb_lmask;
    /* start_pool > 0: the distinct non-terminal positions, in depth-first order */
    unsigned char *pool; // (npool, S)
    long npool;
    double comm_seconds; /* of the last step, in rz_dist calls */
};

static int build_pool(rz_selfplay *t, rz_error *err);

void rz_selfplay_config_default(rz_selfplay_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->positions = 16;
    cfg->group = 8;
    cfg->opening_max = 2;
    cfg->temperature = 1.0f;
    cfg->mu = 1;
    cfg->minibatches = 1;
    cfg->estimator = RZ_EST_GRPO;
    cfg->scale = RZ_SCALE_GROUP;
    rz_objective_default(&cfg->obj);
    cfg->ref_reset = 0;
    cfg->holdout = 0;
    cfg->value_lambda = 1.0f;
    cfg->search_temperature = 0.1f;
    rz_adamw_config_default(&cfg->opt);
    cfg->opt.lr = 3e-3f;
    cfg->opt.grad_clip = 1.0f;
    cfg->seed = 1;
}

int rz_selfplay_config_check(const rz_selfplay_config *c, rz_error *err)
{
    if (!c) return rz_error_set(err, RZ_ERR_ARG, "selfplay: config is NULL");
    if (c->positions < 1 || c->positions > 65536)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: positions = %d must be in 1..65536",
                            c->positions);
    if (c->group < 2 || c->group > 4096)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: group = %d must be in 2..4096", c->group);
    if ((long)c->positions * c->group > (1L << 20))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: positions * group = %ld exceeds 2^20",
                            (long)c->positions * c->group);
    if (c->opening_max < 0 || c->opening_max > 1000)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: opening_max = %d must be in 0..1000",
                            c->opening_max);
    if (!(c->temperature > 0.0f) || !isfinite(c->temperature))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: temperature = %g must be > 0 and finite",
                            (double)c->temperature);
    if (c->mu < 1 || c->mu > 100)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: mu = %d must be in 1..100", c->mu);
    if (c->minibatches < 1 || c->minibatches > 1024)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: minibatches = %d must be in 1..1024",
                            c->minibatches);
    if (c->estimator != RZ_EST_GRPO && c->estimator != RZ_EST_RLOO)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: estimator = %d is not RZ_EST_*",
                            c->estimator);
    if (c->scale < RZ_SCALE_GROUP || c->scale > RZ_SCALE_NONE)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: scale = %d is not RZ_SCALE_*", c->scale);
    if (!(c->obj.eps_low >= 0.0f && c->obj.eps_low < 1.0f) || !(c->obj.eps_high >= 0.0f) ||
        !isfinite(c->obj.eps_high))
        return rz_error_set(err, RZ_ERR_ARG,
                            "selfplay: eps_low = %g must be in [0, 1) and eps_high = %g >= 0",
                            (double)c->obj.eps_low, (double)c->obj.eps_high);
    if (!(c->obj.beta >= 0.0f) || !isfinite(c->obj.beta))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: beta = %g must be >= 0",
                            (double)c->obj.beta);
    if (c->obj.kl != RZ_KL_K3 && c->obj.kl != RZ_KL_K1)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: kl = %d is not RZ_KL_*", c->obj.kl);
    if (c->obj.agg < RZ_AGG_GRPO || c->obj.agg > RZ_AGG_DR_GRPO)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: agg = %d is not RZ_AGG_*", c->obj.agg);
    if (c->ref_reset < 0)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: ref_reset = %d must be >= 0", c->ref_reset);
    if (!(c->entropy_coef >= 0.0f) || !isfinite(c->entropy_coef))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: entropy_coef = %g must be >= 0",
                            (double)c->entropy_coef);
    if (c->first_plies < 0)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: first_plies = %d must be >= 0", c->first_plies);
    if (c->holdout < 0)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: holdout = %d must be >= 0", c->holdout);
    if (c->explore < 0 || c->explore > 1000)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: explore = %d must be in 0..1000", c->explore);
    if (c->start_pool < 0 || c->start_pool > (1 << 24))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: start_pool = %d must be in 0..2^24",
                            c->start_pool);
    if (!(c->value_coef >= 0.0f) || !isfinite(c->value_coef))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: value_coef = %g must be >= 0",
                            (double)c->value_coef);
    if (!(c->value_lambda >= 0.0f && c->value_lambda <= 1.0f))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: value_lambda = %g must be in [0, 1]",
                            (double)c->value_lambda);
    if (c->search_depth < 0 || c->search_depth > RZ_SEARCH_MAX_DEPTH)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: search_depth = %d must be in 0..%d",
                            c->search_depth, RZ_SEARCH_MAX_DEPTH);
    if (c->search_depth > 0 && !(c->value_coef > 0.0f))
        return rz_error_set(err, RZ_ERR_ARG,
                            "selfplay: search_depth = %d needs a value head (value_coef > 0)",
                            c->search_depth);
    if (!(c->search_temperature > 0.0f) || !isfinite(c->search_temperature))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: search_temperature = %g must be > 0",
                            (double)c->search_temperature);
    if (!(c->opt.lr >= 0.0f) || !isfinite(c->opt.lr))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: lr = %g must be >= 0", (double)c->opt.lr);
    if (c->opt.warmup < 0 || c->opt.total_steps < 0)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: warmup and total_steps must be >= 0");
    if (c->mirror != 0 && c->mirror != 1)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: mirror = %d must be 0 or 1", c->mirror);
    if (c->solve_nodes < 0)
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: solve_nodes = %ld must be >= 0", c->solve_nodes);
    if (c->solve_nodes > 0 && !(c->value_coef > 0.0f))
        return rz_error_set(err, RZ_ERR_ARG, "selfplay: solve_nodes = %ld needs a value head (value_coef > 0)",
                            c->solve_nodes);
    return RZ_OK;
}

static void free_buffers(rz_selfplay *t)
{
    void *bufs[] = {t->states,  t->start,   t->starter, t->offset,  t->rngs,     t->len,      t->batch_obs,
                    t->batch_mask, t->active, t->scratch, t->obs,      t->mask,     t->action,
                    t->player,  t->lmask, t->blogp,   t->adv_dec,  t->rewards,  t->adv,      t->logp,
                    t->old_logp, t->ref_logp, t->ent,    t->dlogp,    t->dlogits,  t->perm,
                    t->mb_obs,  t->mb_mask, t->mb_action, t->mb_old,  t->mb_ref,   t->mb_adv,
                    t->mb_lmask, t->pool, t->sv, t->best, t->vtarget, t->mb_vt, t->dvalue,
                    t->roots, t->scores, t->obs_map, t->act_map, t->obs_tmp, t->mask_tmp,
                    t->exact, t->game_d0, t->replay};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) rz_free(bufs[i]);
    for (int k = 0; k < t->nsolvers; k++) rz_solver_free(t->solvers[k]);
    free(t->solvers);
}

void rz_selfplay_free(rz_selfplay *t)
{
    if (!t) return;
    free_buffers(t);
    rz_mlp_free(t->mlp);
    rz_mlp_free(t->ref);
    free(t);
}

rz_mlp *rz_selfplay_policy(rz_selfplay *t) { return t->mlp; }
const rz_selfplay_config *rz_selfplay_cfg(const rz_selfplay *t) { return &t->cfg; }
long rz_selfplay_steps(const rz_selfplay *t) { return t->steps; }

static void copy_params(rz_mlp *dst, rz_mlp *src)
{
    rz_params *d = rz_mlp_params(dst), *s = rz_mlp_params(src);
    memcpy(d->param, s->param, s->numel * sizeof(float));
}

int rz_selfplay_set_steps(rz_selfplay *t, long steps, rz_error *err)
{
    if (!t || steps < 0) return rz_error_set(err, RZ_ERR_ARG, "selfplay: steps must be >= 0");
    t->steps = steps;
    t->updates = steps * t->cfg.mu * t->cfg.minibatches;
    /* the reference of a resumed run is the restored policy (its earlier reference is not
     * in the checkpoint); exact for ref_reset = 1 and beta = 0 */
    if (t->ref) copy_params(t->ref, t->mlp);
    return RZ_OK;
}

int rz_selfplay_create(rz_selfplay **out, const rz_game *g, const rz_mlp_config *mlp_cfg,
                       uint64_t mlp_seed, const rz_selfplay_config *cfg, rz_error *err)
{
    if (!out) return rz_error_set(err, RZ_ERR_ARG, "selfplay: out is NULL");
    *out = NULL;
    if (!g || !mlp_cfg) return rz_error_set(err, RZ_ERR_ARG, "selfplay: game or mlp config is NULL");
    int rc = rz_selfplay_config_check(cfg, err);
    if (rc) return rc;
    rz_mlp_config mc = *mlp_cfg;
    mc.inputs = rz_game_obs_size(g);
    mc.outputs = rz_game_num_actions(g);
    mc.value = cfg->value_coef > 0.0f;
    rz_selfplay *t = calloc(1, sizeof *t);
    if (!t) return rz_error_set(err, RZ_ERR_NOMEM, "selfplay: cannot allocate the trainer");
    t->g = g;
    t->cfg = *cfg;
    t->opt = cfg->opt;
    const int U = cfg->mu * cfg->minibatches;
    t->opt.warmup = cfg->opt.warmup * U;
    t->opt.total_steps = cfg->opt.total_steps * U;
    rc = rz_mlp_create(&t->mlp, &mc, mlp_seed, err);
    if (!rc && cfg->obj.beta > 0.0f) {
        rc = rz_mlp_create(&t->ref, &mc, mlp_seed, err);
        if (!rc) copy_params(t->ref, t->mlp);
    }
    if (rc) {
        rz_selfplay_free(t);
        return rc;
    }
    t->I = mc.inputs;
    t->A = mc.outputs;
    t->M = rz_game_max_moves(g);
    t->S = rz_game_state_size(g);
    const int P = cfg->positions, n = P * cfg->group;
    t->n_games = n;
    const size_t D = (size_t)n * (size_t)t->M, I = (size_t)t->I, A = (size_t)t->A;
#define ALLOC(ptr, count, what)                                                               \
    do {                                                                                      \
        if (!rc) {                                                                            \
            t->ptr = rz_alloc((count) * sizeof *t->ptr, what, err);                           \
            if (!t->ptr) rc = RZ_ERR_NOMEM;                                                    \
        }                                                                                     \
    } while (0)
    ALLOC(states, (size_t)n * t->S, "selfplay states");
    ALLOC(start, (size_t)P * t->S, "selfplay start positions");
    ALLOC(starter, (size_t)P, "selfplay starters");
    ALLOC(offset, (size_t)P, "selfplay exploration offsets");
    ALLOC(rngs, (size_t)n, "selfplay rngs");
    ALLOC(len, (size_t)n, "selfplay lengths");
    ALLOC(batch_obs, (size_t)n * I, "selfplay forward batch");
    ALLOC(batch_mask, (size_t)n * A, "selfplay forward mask");
    ALLOC(active, (size_t)n, "selfplay active games");
    ALLOC(scratch, (size_t)n * 2 * A, "selfplay sampler scratch");
    ALLOC(obs, D * I, "selfplay decision observations");
    ALLOC(mask, D * A, "selfplay decision masks");
    ALLOC(action, D, "selfplay actions");
    ALLOC(player, D, "selfplay players");
    ALLOC(lmask, D, "selfplay loss mask");
    ALLOC(blogp, D, "selfplay behaviour log-probs");
    ALLOC(adv_dec, D, "selfplay decision advantages");
    ALLOC(rewards, (size_t)n, "selfplay rewards");
    ALLOC(adv, (size_t)n, "selfplay advantages");
    ALLOC(logp, D, "selfplay logp");
    ALLOC(old_logp, D, "selfplay old logp");
    ALLOC(ref_logp, D, "selfplay ref logp");
    ALLOC(ent, D, "selfplay entropy");
    ALLOC(dlogp, D, "selfplay dlogp");
    ALLOC(dlogits, D * A, "selfplay dlogits");
    ALLOC(perm, D, "selfplay permutation");
    ALLOC(mb_obs, D * I, "selfplay minibatch observations");
    ALLOC(mb_mask, D * A, "selfplay minibatch masks");
    ALLOC(mb_action, D, "selfplay minibatch actions");
    ALLOC(mb_old, D, "selfplay minibatch old logp");
    ALLOC(mb_ref, D, "selfplay minibatch ref logp");
    ALLOC(mb_adv, D, "selfplay minibatch advantages");
    ALLOC(mb_lmask, D, "selfplay minibatch loss mask");
    ALLOC(sv, D, "selfplay search values");
    ALLOC(best, D, "selfplay search moves");
    ALLOC(vtarget, D, "selfplay value targets");
    ALLOC(mb_vt, D, "selfplay minibatch value targets");
    ALLOC(dvalue, D, "selfplay value gradients");
    ALLOC(roots, (size_t)n * t->S, "selfplay search roots");
    ALLOC(scores, (size_t)n * A, "selfplay search scores");
    if (cfg->solve_nodes > 0) {
        ALLOC(exact, D, "selfplay exact values");
        ALLOC(game_d0, (size_t)n, "selfplay game offsets");
    }
    if (cfg->mirror) {
        ALLOC(obs_map, I, "selfplay reflection map");
        ALLOC(act_map, A, "selfplay reflection map");
        ALLOC(obs_tmp, I, "selfplay reflection scratch");
        ALLOC(mask_tmp, A, "selfplay reflection scratch");
        if (!rc && !rz_game_mirror(g, t->obs_map, t->act_map))
            rc = rz_error_set(err, RZ_ERR_ARG, "selfplay: mirror = 1, but %s has no reflection",
                              rz_game_name(g));
    }
#undef ALLOC
    if (!rc && cfg->start_pool > 0) rc = build_pool(t, err);
    if (rc) {
        rz_selfplay_free(t);
        return rc;
    }
    *out = t;
    return RZ_OK;
}

/* The start pool: a depth-first walk from the initial state that keeps each observation
 * once (FNV-1a of its bytes in an open-addressing set; a 64-bit collision would only drop
 * a position from the pool). */
typedef struct {
    const rz_game *g;
    uint64_t *seen; /* 0 = empty */
    size_t mask;
    int holdout, I;
    long cap, n;
    unsigned char *pool; // (cap, S)
    float *obs;          // (I)
    rz_error *err;
} pool_walk;

static int pool_visit(pool_walk *w, const void *st)
{
    const rz_game *g = w->g;
    if (rz_game_is_terminal(g, st)) return RZ_OK;
    rz_game_observe(g, st, w->obs);
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *b = (const unsigned char *)w->obs;
    for (size_t k = 0; k < (size_t)w->I * sizeof(float); k++) h = (h ^ b[k]) * 0x100000001b3ull;
    if (h == 0) h = 1;
    size_t i = (size_t)h & w->mask;
    while (w->seen[i]) {
        if (w->seen[i] == h) return RZ_OK;
        i = (i + 1) & w->mask;
    }
    w->seen[i] = h;
    const size_t S = rz_game_state_size(g);
    if (!w->holdout || !rz_position_heldout(g, st, w->holdout)) {
        if (w->n >= w->cap)
            return rz_error_set(w->err, RZ_ERR_ARG,
                                "selfplay: %s has more than start_pool = %ld positions",
                                rz_game_name(g), w->cap);
        memcpy(w->pool + (size_t)w->n * S, st, S);
        w->n++;
    }
    uint8_t mask[256];
    _Alignas(16) unsigned char child[512];
    const int A = rz_game_num_actions(g);
    rz_game_legal(g, st, mask);
    for (int a = 0; a < A; a++) {
        if (!mask[a]) continue;
        memcpy(child, st, S);
        if (rz_game_apply(g, child, a, NULL) != RZ_OK) continue;
        int rc = pool_visit(w, child);
        if (rc) return rc;
    }
    return RZ_OK;
}

static int build_pool(rz_selfplay *t, rz_error *err)
{
    const long cap = t->cfg.start_pool;
    size_t tcap = 1;
    /* held-out positions are visited but not kept: room for all of them in the set */
    const long visits = t->cfg.holdout > 0 ? cap + cap / (t->cfg.holdout > 1 ? t->cfg.holdout - 1 : 1) + 1
                                           : cap + 1;
    while (tcap < (size_t)visits * 2) tcap <<= 1;
    pool_walk w = {t->g, NULL, tcap - 1, t->cfg.holdout, t->I, cap, 0, NULL, NULL, err};
    w.seen = rz_alloc(tcap * sizeof *w.seen, "selfplay start pool set", err);
    w.pool = w.seen ? rz_alloc((size_t)cap * t->S, "selfplay start pool", err) : NULL;
    w.obs = w.pool ? rz_alloc((size_t)t->I * sizeof(float), "selfplay start pool scratch", err)
                   : NULL;
    int rc = w.obs ? RZ_OK : RZ_ERR_NOMEM;
    _Alignas(16) unsigned char st[512];
    if (!rc) {
        rz_game_reset(t->g, st);
        rc = pool_visit(&w, st);
    }
    if (!rc && w.n == 0) rc = rz_error_set(err, RZ_ERR_ARG, "selfplay: the start pool is empty");
    rz_free(w.seen);
    rz_free(w.obs);
    if (rc) {
        rz_free(w.pool);
        return rc;
    }
    t->pool = w.pool;
    t->npool = w.n;
    return RZ_OK;
}

/* The start position of group p: a uniform draw from the pool, or up to k random legal
 * moves, stopping before one that would end the game (so every group has a decision to
 * make). */
static void draw_start(const rz_selfplay *t, void *st, rz_rng *rng)
{
    const rz_game *g = t->g;
    if (t->pool) {
        const long i = (long)rz_rng_below(rng, (uint64_t)t->npool);
        memcpy(st, t->pool + (size_t)i * t->S, t->S);
        return;
    }
    rz_game_reset(g, st);
    int k = (int)rz_rng_below(rng, (uint64_t)t->cfg.opening_max + 1);
    uint8_t mask[256];
    _Alignas(16) unsigned char next[512];
    for (int i = 0; i < k; i++) {
        int n = rz_game_legal(g, st, mask);
        if (n == 0) break;
        int pick = (int)rz_rng_below(rng, (uint64_t)n), a = 0;
        for (; a < t->A; a++)
            if (mask[a] && pick-- == 0) break;
        memcpy(next, st, t->S);
        if (rz_game_apply(g, next, a, NULL) != RZ_OK || rz_game_is_terminal(g, next)) break;
        memcpy(st, next, t->S);
    }
}

/* An exploring move: legal move number k mod n (k >= 0), or a uniform one (k < 0); *nlegal
 * = n. */
static int explore_move(const uint8_t *legal, int A, int k, rz_rng *rng, int *nlegal)
{
    int n = 0;
    for (int a = 0; a < A; a++) n += legal[a] != 0;
    *nlegal = n;
    if (n == 0) return -1;
    int pick = k >= 0 ? k % n : (int)rz_rng_below(rng, (uint64_t)n);
    for (int a = 0; a < A; a++)
        if (legal[a] && pick-- == 0) return a;
    return -1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Plays every game to the end; returns the number of decisions (compacted in game order
 * into obs/mask/action/player). */
static int play(rz_selfplay *t, long *D_out, rz_error *err)
{
    const rz_game *g = t->g;
    const int P = t->cfg.positions, G = t->cfg.group, n = t->n_games, M = t->M, I = t->I,
              A = t->A;
    const size_t S = t->S;
    const uint64_t seed = t->cfg.seed, step = (uint64_t)t->steps;
    for (int p = 0; p < P; p++) {
        rz_rng r;
        rz_rng_stream(&r, seed, step, (uint64_t)p, 0);
        void *st = t->start + (size_t)p * S;
        draw_start(t, st, &r);
        t->starter[p] = rz_game_current_player(g, st);
        /* drawn after the start, so explore = 0 draws the same games as before */
        t->offset[p] = t->cfg.explore > 0 ? (int)rz_rng_below(&r, (uint64_t)t->A) : 0;
    }
    for (int i = 0; i < n; i++) {
        int p = i / G, k = i % G;
        memcpy(t->states + (size_t)i * S, t->start + (size_t)p * S, S);
        rz_rng_stream(&t->rngs[i], seed, step, (uint64_t)p, (uint64_t)k + 1);
        t->len[i] = 0;
    }
    rz_sampling samp;
    rz_sampling_default(&samp);
    samp.temperature = t->cfg.temperature;
    /* over MPI each rank plays the games of its share of the start positions, then the
     * ranks exchange them: every game draws from its own stream, so it is the game one
     * process plays */
    const int NR = rz_dist_size();
    long plo, phi;
    rz_dist_share(P, rz_dist_rank(), NR, &plo, &phi);
    const int glo = (int)plo * G, ghi = (int)phi * G;
    for (;;) {
        int B = 0;
        for (int i = glo; i < ghi; i++)
            if (!rz_game_is_terminal(g, t->states + (size_t)i * S)) t->active[B++] = i;
        if (B == 0) break;
#pragma omp parallel for schedule(static) if (B >= SP_OMP_MIN_GAMES)
        for (int b = 0; b < B; b++) {
            const void *st = t->states + (size_t)t->active[b] * S;
            rz_game_observe(g, st, t->batch_obs + (size_t)b * I);
            rz_game_legal(g, st, t->batch_mask + (size_t)b * A);
        }
        const float *logits;
        rz_sampling *sp = &samp;
        rz_sampling ssamp = samp;
        if (t->cfg.search_depth > 0) {
            for (int b = 0; b < B; b++)
                memcpy(t->roots + (size_t)b * S, t->states + (size_t)t->active[b] * S, S);
            /* held-out positions below the horizon are looked past, not scored: their
             * value was never trained (search.c) */
            int rc = rz_search_scores_holdout(g, t->mlp, t->roots, B, t->cfg.search_depth,
                                              t->cfg.holdout, t->scores, err);
            if (rc) return rc;
            logits = t->scores;
            ssamp.temperature = t->cfg.search_temperature;
            sp = &ssamp;
        } else {
            int rc = rz_mlp_forward(t->mlp, t->batch_obs, t->batch_mask, B, err);
            if (rc) return rc;
            logits = rz_mlp_logits(t->mlp);
        }
        int bad = -1;
#pragma omp parallel for schedule(static) if (B >= SP_OMP_MIN_GAMES)
        for (int b = 0; b < B; b++) {
            const int i = t->active[b];
            void *st = t->states + (size_t)i * S;
            const uint8_t *legal = t->batch_mask + (size_t)b * A;
            const int explored = t->len[i] < t->cfg.explore;
            int nlegal = 1;
            const int a = explored
                              ? explore_move(legal, A, t->len[i] == 0 ? i % G + t->offset[i / G] : -1,
                                             &t->rngs[i], &nlegal)
                              : rz_sample_token(logits + (size_t)b * A, A, sp, &t->rngs[i],
                                                t->scratch + (size_t)i * 2 * A, NULL);
            const size_t d = (size_t)i * M + (size_t)t->len[i];
            const int mover = rz_game_current_player(g, st);
            const int held = t->cfg.holdout > 0 && rz_position_heldout(g, st, t->cfg.holdout);
            if (a < 0 || t->len[i] >= M || rz_game_apply(g, st, a, NULL) != RZ_OK) {
#pragma omp critical(selfplay_bad)
                bad = i;
                continue;
            }
            memcpy(t->obs + d * I, t->batch_obs + (size_t)b * I, (size_t)I * sizeof(float));
            memcpy(t->mask + d * A, t->batch_mask + (size_t)b * A, (size_t)A);
            t->action[d] = a;
            t->player[d] = (int8_t)mover;
            const int rollout = t->cfg.first_plies > 0 && t->len[i] >= t->cfg.first_plies;
            t->lmask[d] = held || rollout ? 0.0f : 1.0f;
            t->blogp[d] = explored ? -logf((float)nlegal) : 0.0f;
            if (t->cfg.search_depth > 0) {
                /* the best move, the lowest id among equals, and its score */
                const float *row = logits + (size_t)b * A;
                int bi = -1;
                for (int x = 0; x < A; x++)
                    if (legal[x] && (bi < 0 || row[x] > row[bi])) bi = x;
                t->best[d] = bi;
                t->sv[d] = row[bi];
            } else {
                t->best[d] = a;
                t->sv[d] = 0.0f;
            }
            t->len[i]++;
        }
        if (bad >= 0)
            return rz_error_set(err, RZ_ERR_NONFINITE,
                                "selfplay: game %d could not move (non-finite logits?)", bad);
    }
    if (NR > 1) {
        const size_t Mg = (size_t)G * M;
        double c0 = now_seconds();
        int rc = rz_dist_allgather(t->states, P, (size_t)G * S, err);
        if (!rc) rc = rz_dist_allgather(t->len, P, (size_t)G * sizeof *t->len, err);
        if (!rc) rc = rz_dist_allgather(t->obs, P, Mg * I * sizeof *t->obs, err);
        if (!rc) rc = rz_dist_allgather(t->mask, P, Mg * A, err);
        if (!rc) rc = rz_dist_allgather(t->action, P, Mg * sizeof *t->action, err);
        if (!rc) rc = rz_dist_allgather(t->player, P, Mg * sizeof *t->player, err);
        if (!rc) rc = rz_dist_allgather(t->lmask, P, Mg * sizeof *t->lmask, err);
        if (!rc) rc = rz_dist_allgather(t->blogp, P, Mg * sizeof *t->blogp, err);
        if (!rc) rc = rz_dist_allgather(t->sv, P, Mg * sizeof *t->sv, err);
        if (!rc) rc = rz_dist_allgather(t->best, P, Mg * sizeof *t->best, err);
        t->comm_seconds += now_seconds() - c0;
        if (rc) return rc;
    }
    /* compact the per-game slots in game order (destinations never pass their sources) */
    long D = 0;
    for (int i = 0; i < n; i++) {
        const size_t src = (size_t)i * M;
        for (int j = 0; j < t->len[i]; j++, D++) {
            if ((size_t)D == src + (size_t)j) continue;
            memmove(t->obs + (size_t)D * I, t->obs + (src + j) * I, (size_t)I * sizeof(float));
            memmove(t->mask + (size_t)D * A, t->mask + (src + j) * A, (size_t)A);
            t->action[D] = t->action[src + j];
            t->player[D] = t->player[src + j];
            t->lmask[D] = t->lmask[src + j];
            t->blogp[D] = t->blogp[src + j];
            t->sv[D] = t->sv[src + j];
            t->best[D] = t->best[src + j];
        }
    }
    *D_out = D;
    return RZ_OK;
}

/* One solver and one replay buffer per thread, for the thread count of this step. */
static int solvers_ready(rz_selfplay *t, int T, rz_error *err)
{
    if (t->nsolvers >= T) return RZ_OK;
    rz_solver **sv = realloc(t->solvers, (size_t)T * sizeof *sv);
    if (!sv) return rz_error_set(err, RZ_ERR_NOMEM, "selfplay: cannot allocate the solvers");
    t->solvers = sv;
    for (; t->nsolvers < T; t->nsolvers++) {
        int rc = rz_solver_create(&t->solvers[t->nsolvers], t->g, t->cfg.solve_nodes, err);
        if (rc) return rc;
    }
    rz_free(t->replay);
    t->replay = rz_alloc((size_t)T * (t->M + 1) * t->S, "selfplay replay states", err);
    return t->replay ? RZ_OK : RZ_ERR_NOMEM;
}

/* solve_nodes > 0: the exact value of each game's decisions (win, draw or loss: the value
 * alone, rz_solver_wdl), from its last back to the first that the solver cannot decide
 * within solve_nodes nodes (earlier ones are harder).
 * A game's states are rebuilt from its start position and moves; each game is solved by
 * one thread from an empty table, so which decisions are solved depends on the game alone
 * (not on the thread count), and solving backwards lets each search reuse the entries of
 * the positions after it. Over MPI each rank solves the games it played and the ranks
 * exchange the values, per game slot, then compacted like the decisions. Returns the
 * count solved in *solved. */
static int solve_games(rz_selfplay *t, long *solved, rz_error *err)
{
    const rz_game *g = t->g;
    const int n = t->n_games, G = t->cfg.group, M = t->M, P = t->cfg.positions;
    const size_t S = t->S;
    int rc = solvers_ready(t, rz_max_threads(), err);
    if (rc) return rc;
    long d0 = 0;
    for (int i = 0; i < n; i++) {
        t->game_d0[i] = d0;
        d0 += t->len[i];
    }
    const int NR = rz_dist_size();
    long plo, phi;
    rz_dist_share(P, rz_dist_rank(), NR, &plo, &phi);
    const int glo = (int)plo * G, ghi = (int)phi * G;
    int first = n;
    rz_error ferr = {0};
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = glo; i < ghi; i++) {
        const int th = rz_thread_num();
        unsigned char *buf = t->replay + (size_t)th * (M + 1) * S;
        rz_solver *sv = t->solvers[th];
        const long b = t->game_d0[i];
        const int L = t->len[i];
        int8_t *ex = t->exact + (size_t)i * M; /* the game's slot, compacted below */
        rz_error e = {0};
        int erc = RZ_OK;
        memcpy(buf, t->start + (size_t)(i / G) * S, S);
        for (int j = 0; j < L && !erc; j++) {
            memcpy(buf + (size_t)(j + 1) * S, buf + (size_t)j * S, S);
            erc = rz_game_apply(g, buf + (size_t)(j + 1) * S, t->action[b + j], &e);
        }
        for (int j = 0; j < L; j++) ex[j] = SP_UNSOLVED;
        rz_solver_clear(sv);
        for (int j = L - 1; j >= 0 && !erc; j--) {
            int ok = 0, v = 0;
            erc = rz_solver_wdl(sv, buf + (size_t)j * S, t->cfg.solve_nodes, &ok, &v, &e);
            if (erc || !ok) break;
            ex[j] = (int8_t)v;
        }
        if (erc) {
#pragma omp critical(selfplay_solve_err)
            if (i < first) {
                first = i;
                ferr = e;
            }
        }
    }
    if (first < n) return rz_error_set(err, ferr.code ? ferr.code : RZ_ERR_STATE, "selfplay: %s", ferr.msg);
    if (NR > 1) {
        const double c0 = now_seconds();
        rc = rz_dist_allgather(t->exact, P, (size_t)G * M, err);
        t->comm_seconds += now_seconds() - c0;
        if (rc) return rc;
    }
    /* into decision order, as play() compacted the decisions (never past a source) */
    long count = 0;
    for (int i = 0; i < n; i++) {
        int8_t *ex = t->exact + t->game_d0[i];
        memmove(ex, t->exact + (size_t)i * M, (size_t)t->len[i]);
        for (int j = 0; j < t->len[i]; j++) count += ex[j] != SP_UNSOLVED;
    }
    *solved = count;
    return RZ_OK;
}

/* mirror: reflects a random half of the D decisions in place (the draw depends on the seed,
 * the step and the decision's index only, so on no thread or rank count). */
static void reflect_half(rz_selfplay *t, long D)
{
    const int I = t->I, A = t->A;
    rz_rng r;
    rz_rng_stream(&r, t->cfg.seed, (uint64_t)t->steps, UINT64_MAX - 1, 0);
    for (long d = 0; d < D; d++) {
        if (!(rz_rng_next(&r) >> 63)) continue;
        float *o = t->obs + (size_t)d * I;
        uint8_t *m = t->mask + (size_t)d * A;
        for (int i = 0; i < I; i++) t->obs_tmp[i] = o[t->obs_map[i]];
        memcpy(o, t->obs_tmp, (size_t)I * sizeof *o);
        for (int a = 0; a < A; a++) t->mask_tmp[t->act_map[a]] = m[a];
        memcpy(m, t->mask_tmp, (size_t)A);
        t->action[d] = t->act_map[t->action[d]];
        t->best[d] = t->act_map[t->best[d]];
    }
}

/* logp (and entropy) of n decisions under m; leaves m's activations for backward. */
static int policy_logp(rz_mlp *m, float *logp, float *ent, const float *obs, const uint8_t *mask,
                       const int *action, int n, int A, rz_error *err)
{
    int rc = rz_mlp_forward(m, obs, mask, n, err);
    if (rc) return rc;
    rz_logprob_forward(logp, ent, rz_mlp_logits(m), action, n, A);
    return RZ_OK;
}

/* The entropy bonus: loss -= c * sum_n w_n H_n / sum_n w_n with H = -sum_a p_a log p_a, so
 * dlogits[n, a] += c * w_n / sum(w) * p_a * (log p_a + H_n) (masked actions: p = 0). */
void rz_selfplay_entropy_backward(float *dlogits, const float *logits, const float *w, int N,
                                  int A, float c)
{
    double sw = 0.0;
    for (int n = 0; n < N; n++) sw += w[n];
    if (sw <= 0.0) return;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        if (w[n] == 0.0f) continue;
        const float *z = logits + (size_t)n * A;
        double mx = -INFINITY, sum = 0.0, h = 0.0;
        for (int a = 0; a < A; a++)
            if (z[a] > mx) mx = z[a];
        for (int a = 0; a < A; a++)
            if (z[a] != -INFINITY) sum += exp(z[a] - mx);
        const double lse = mx + log(sum);
        for (int a = 0; a < A; a++)
            if (z[a] != -INFINITY) h -= exp(z[a] - lse) * (z[a] - lse);
        const double k = (double)c * w[n] / sw;
        for (int a = 0; a < A; a++) {
            if (z[a] == -INFINITY) continue;
            const double lp = z[a] - lse;
            dlogits[(size_t)n * A + a] += (float)(k * exp(lp) * (lp + h));
        }
    }
}

int rz_selfplay_step(rz_selfplay *t, rz_selfplay_stats *st, rz_error *err)
{
    if (!t) return rz_error_set(err, RZ_ERR_ARG, "selfplay: trainer is NULL");
    rz_selfplay_stats s;
    memset(&s, 0, sizeof s);
    const rz_game *g = t->g;
    const int P = t->cfg.positions, G = t->cfg.group, n = t->n_games, I = t->I, A = t->A;
    const size_t S = t->S;
    double t0 = now_seconds();
    long D = 0;
    t->comm_seconds = 0;
    int rc = play(t, &D, err);
    if (rc) return rc;
    if (t->cfg.solve_nodes > 0) {
        const double c0 = now_seconds();
        long solved = 0;
        if ((rc = solve_games(t, &solved, err))) return rc;
        s.solved = D > 0 ? (double)solved / (double)D : 0.0;
        s.solve_seconds = now_seconds() - c0;
    }
    if (t->cfg.mirror) reflect_half(t, D);
    double t1 = now_seconds();

    /* outcomes, rewards for each group's starter */
    double ret[2];
    for (int i = 0; i < n; i++) {
        const void *fin = t->states + (size_t)i * S;
        rz_game_returns(g, fin, ret);
        if (ret[0] > ret[1]) s.win0 += 1;
        else if (ret[1] > ret[0]) s.win1 += 1;
        else s.draw += 1;
        t->rewards[i] = (float)ret[t->starter[i / G]];
        s.length_mean += t->len[i];
        if (t->len[i] > s.length_max) s.length_max = t->len[i];
    }
    s.games = n;
    s.win0 /= n;
    s.win1 /= n;
    s.draw /= n;
    s.length_mean /= n;
    s.decisions = (double)D;
    for (int p = 0; p < P; p++) {
        int same = 1;
        for (int k = 1; k < G && same; k++) same = t->rewards[p * G + k] == t->rewards[p * G];
        s.zero_std_frac += same;
    }
    s.zero_std_frac /= P;
    rc = rz_advantages(t->adv, t->rewards, n, G, t->cfg.estimator, t->cfg.scale, err);
    if (rc) return rc;
    {
        long d = 0;
        for (int i = 0; i < n; i++) {
            const int starter = t->starter[i / G];
            for (int j = 0; j < t->len[i]; j++, d++)
                t->adv_dec[d] = t->player[d] == starter ? t->adv[i] : -t->adv[i];
        }
    }
    /* value targets, TD(lambda) backwards over each game: past its last decision the final
     * return; before it, y_t = (1 - lambda) sv_t + lambda y_{t+1} from the mover's side */
    if (t->cfg.value_coef > 0.0f) {
        const int search = t->cfg.search_depth > 0;
        const float lam = search ? t->cfg.value_lambda : 1.0f;
        long d0 = 0;
        for (int i = 0; i < n; i++) {
            rz_game_returns(g, t->states + (size_t)i * S, ret);
            float y = 0.0f;
            for (int j = t->len[i] - 1; j >= 0; j--) {
                const long d = d0 + j;
                const float z = (float)ret[t->player[d]];
                const float next = j == t->len[i] - 1 ? z
                                   : t->player[d + 1] == t->player[d] ? y : -y;
                if (t->exact && t->exact[d] != SP_UNSOLVED) y = (float)t->exact[d];
                else y = lam == 1.0f ? next : (1.0f - lam) * t->sv[d] + lam * next;
                t->vtarget[d] = y;
            }
            d0 += t->len[i];
        }
    }
    double trained = 0.0;
    for (long d = 0; d < D; d++) trained += t->lmask[d];
    s.trained = trained;

    /* old (and reference) log-probs over all decisions, before any update */
    rc = policy_logp(t->mlp, t->old_logp, t->ent, t->obs, t->mask, t->action, (int)D, A, err);
    if (rc) return rc;
    double ent = 0.0;
    for (long d = 0; d < D; d++) ent += (double)t->ent[d] * t->lmask[d];
    /* an exploring move was drawn uniformly, not from the policy: its ratio is pi / uniform,
     * so the clip stops pushing a bad move down (and a good one up) once the policy is
     * already away from uniform, instead of driving log pi to -inf */
    for (long d = 0; d < D; d++)
        if (t->blogp[d] != 0.0f) t->old_logp[d] = t->blogp[d];
    s.entropy = trained > 0 ? ent / trained : 0.0;
    const int use_ref = t->ref && t->cfg.obj.beta > 0.0f;
    if (use_ref) {
        rc = policy_logp(t->ref, t->ref_logp, NULL, t->obs, t->mask, t->action, (int)D, A, err);
        if (rc) return rc;
    }

    /* mu passes, each over a fresh permutation split into minibatches */
    const int MB = t->cfg.minibatches;
    rz_params *prm = rz_mlp_params(t->mlp);
    int nupd = 0;
    double kl_w = 0.0;
    for (int pass = 0; pass < t->cfg.mu; pass++) {
        for (long d = 0; d < D; d++) t->perm[d] = (int)d;
        if (MB > 1) {
            rz_rng r;
            rz_rng_stream(&r, t->cfg.seed, (uint64_t)t->steps, UINT64_MAX, (uint64_t)pass);
            for (long d = D - 1; d > 0; d--) {
                long j = (long)rz_rng_below(&r, (uint64_t)d + 1);
                int tmp = t->perm[d];
                t->perm[d] = t->perm[j];
                t->perm[j] = tmp;
            }
        }
        for (int mb = 0; mb < MB; mb++) {
            const long lo = D * mb / MB, hi = D * (mb + 1) / MB;
            const int nb = (int)(hi - lo);
            if (nb < 1) continue;
            for (long k = 0; k < nb; k++) {
                const int d = t->perm[lo + k];
                memcpy(t->mb_obs + k * I, t->obs + (size_t)d * I, (size_t)I * sizeof(float));
                memcpy(t->mb_mask + k * A, t->mask + (size_t)d * A, (size_t)A);
                /* with a search, the policy head learns the search's best move */
                t->mb_action[k] = t->cfg.search_depth > 0 ? t->best[d] : t->action[d];
                t->mb_vt[k] = t->vtarget[d];
                t->mb_old[k] = t->old_logp[d];
                t->mb_ref[k] = t->ref_logp[d];
                t->mb_adv[k] = t->adv_dec[d];
                t->mb_lmask[k] = t->lmask[d];
            }
            rc = policy_logp(t->mlp, t->logp, NULL, t->mb_obs, t->mb_mask, t->mb_action, nb, A,
                             err);
            if (rc) return rc;
            rz_objective_stats os;
            memset(&os, 0, sizeof os);
            double wsum = 0.0;
            for (int k = 0; k < nb; k++) wsum += t->mb_lmask[k];
            if (t->cfg.search_depth > 0) {
                /* cross-entropy toward the search's move: loss = -sum w logp / sum w */
                double l = 0.0;
                for (int k = 0; k < nb; k++) {
                    t->dlogp[k] = wsum > 0 ? (float)(-t->mb_lmask[k] / wsum) : 0.0f;
                    if (t->mb_lmask[k] != 0.0f) l -= t->mb_lmask[k] * t->logp[k];
                }
                os.loss = wsum > 0 ? l / wsum : 0.0;
            } else {
                rc = rz_objective_loss(&t->cfg.obj, nb, 1, t->logp, t->mb_old,
                                       use_ref ? t->mb_ref : NULL, t->mb_adv, t->mb_lmask,
                                       t->dlogp, &os, err);
                if (rc) return rc;
            }
            const float *dvalue = NULL;
            if (t->cfg.value_coef > 0.0f) {
                /* loss += c * sum w (v - y)^2 / sum w */
                const float *v = rz_mlp_value(t->mlp);
                double se = 0.0;
                for (int k = 0; k < nb; k++) {
                    const double e = (double)v[k] - t->mb_vt[k];
                    se += t->mb_lmask[k] * e * e;
                    t->dvalue[k] = wsum > 0 ? (float)(2.0 * t->cfg.value_coef * t->mb_lmask[k] * e / wsum)
                                            : 0.0f;
                }
                s.value_loss += wsum > 0 ? se / wsum : 0.0;
                dvalue = t->dvalue;
            }
            rz_params_zero_grad(prm);
            memset(t->dlogits, 0, (size_t)nb * A * sizeof(float));
            rz_logprob_backward(t->dlogits, t->dlogp, rz_mlp_logits(t->mlp), t->mb_action, nb, A);
            if (t->cfg.entropy_coef > 0.0f)
                rz_selfplay_entropy_backward(t->dlogits, rz_mlp_logits(t->mlp), t->mb_lmask, nb, A,
                                 t->cfg.entropy_coef);
            rc = rz_mlp_backward_value(t->mlp, t->dlogits, dvalue, err);
            if (rc) return rc;
            float gn = 0.0f;
            rc = rz_adamw_step(prm, &t->opt, t->updates, &gn, err);
            if (rc) return rc;
            s.lr += rz_adamw_lr(&t->opt, t->updates);
            t->updates++;
            nupd++;
            s.loss += os.loss;
            s.grad_norm += gn;
            s.kl += os.kl_mean * os.tokens;
            s.clip_frac += os.clip_frac * os.tokens;
            s.clip_low += os.clip_low_frac * os.tokens;
            s.clip_high += os.clip_high_frac * os.tokens;
            s.ratio_mean += os.ratio_mean * os.tokens;
            kl_w += os.tokens;
        }
    }
    if (nupd) {
        s.value_loss /= nupd;
        s.loss /= nupd;
        s.grad_norm /= nupd;
        s.lr /= nupd;
    }
    if (kl_w > 0) {
        s.kl /= kl_w;
        s.clip_frac /= kl_w;
        s.clip_low /= kl_w;
        s.clip_high /= kl_w;
        s.ratio_mean /= kl_w;
    }
    t->steps++;
    if (use_ref && t->cfg.ref_reset > 0 && t->steps % t->cfg.ref_reset == 0)
        copy_params(t->ref, t->mlp);
    s.play_seconds = t1 - t0;
    s.train_seconds = now_seconds() - t1;
    s.comm_seconds = t->comm_seconds;
    if (st) *st = s;
    return RZ_OK;
}

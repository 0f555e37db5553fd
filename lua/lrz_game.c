/* lrz_game.c: games, states, agents, self-play and evaluation for Lua.
 *
 *   local g = rz.game("tictactoe")            -- g:name(), g:num_actions(), g:new_state(),
 *                                              -- g:deserialize("4 0 8"), rz.games()
 *   local s = g:new_state()                    -- s:legal_actions() (0-based ids, as in C),
 *   s:apply(4); s:is_terminal(); s:returns()   -- {r0, r1}; s:current_player() (0, 1; -1 at
 *   s:clone(); s:serialize(); tostring(s)      -- the end); s:move_count()
 *   local p = rz.player(g, "alphabeta(depth=2)")   -- an agent: p:act(s [, seed])
 *   local t = rz.selfplay{game = "tictactoe", hidden = 64, ...}
 *   local m = t:step()                         -- metrics table
 *   local a = t:agent()                        -- a snapshot: a:act(s, {greedy = true})
 *   t:save(path); t:load(path)                 -- kind "mlp" checkpoints, with optimizer
 *   a:save(path); rz.load_agent(path)          -- the game spec travels in the checkpoint
 *   rz.arena(a, b, {games = 100, seed = 1})    -- {wins, draws, losses, ...} for a
 *   rz.elo({a, b, c}, {games = 50})            -- round robin, {ratings = {...}, ...}
 *   rz.perfect_lines(a, {seat = 0}); rz.winning_moves(a, {holdout = 5})
 *
 * A state holds a copy of the state bytes and a reference to its game; agents and trainers
 * hold their game too, so a game lives as long as anything that uses it. game:close()
 * makes every object built on it refuse further use with a message. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrz.h"

#define LRZ_GAME "rz.game"
#define LRZ_STATE "rz.state"
#define LRZ_AGENT "rz.agent"
#define LRZ_SELFPLAY "rz.selfplay"
#define STATE_MAX 512

typedef struct {
    rz_game *g;
} lrz_game;

typedef struct {
    lrz_game *game; /* kept alive by the uservalue */
    int open;
    /* Lua aligns full userdata to 8 bytes (LUAI_MAXALIGN), enough for the uint64
     * bitboards of the game states; asking for more is not honoured */
    _Alignas(8) unsigned char bytes[STATE_MAX];
} lrz_state;

typedef struct {
    lrz_game *game;
    rz_mlp *mlp;       /* a policy (owned), or */
    rz_player *player; /* a reference player (owned) */
    long step;         /* a policy's training steps */
    int search_depth;  /* a policy with a value head: > 0 moves by a search this deep */
    long solve_nodes;  /* a searching policy: > 0 solves end games exactly (rz_agent) */
} lrz_agent;

typedef struct {
    lrz_game *game;
    rz_selfplay *t;
} lrz_selfplay;

/* ------------------------------------------------------------------ games */

static lrz_game *game_check(lua_State *L, int idx)
{
    lrz_game *h = luaL_checkudata(L, idx, LRZ_GAME);
    if (!h->g) luaL_error(L, "rz.game: the game is closed");
    return h;
}

static const rz_game *game_of(lua_State *L, lrz_game *h, const char *what)
{
    if (!h || !h->g) luaL_error(L, "%s: its game is closed", what);
    return h->g;
}

/* Pushes a new game handle. */
static lrz_game *push_game(lua_State *L, const char *spec, const char *what)
{
    lrz_game *h = lrz_newhandle(L, sizeof *h, LRZ_GAME);
    rz_error err = {0};
    if (rz_game_create(&h->g, spec, &err) != RZ_OK) lrz_fail(L, what, &err);
    return h;
}

/* rz.game(spec) */
static int rz_game_new(lua_State *L)
{
    push_game(L, luaL_checkstring(L, 1), "rz.game");
    return 1;
}

/* rz.games() -> {"breakthrough", ...} */
static int rz_games(lua_State *L)
{
    const char *names[64];
    int n = rz_games_list(names, 64);
    if (n > 64) n = 64;
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int game_gc(lua_State *L)
{
    lrz_game *h = luaL_checkudata(L, 1, LRZ_GAME);
    rz_game_free(h->g);
    h->g = NULL;
    return 0;
}

static int game_name(lua_State *L)
{
    lua_pushstring(L, rz_game_name(game_check(L, 1)->g));
    return 1;
}

static int game_num_actions(lua_State *L)
{
    lua_pushinteger(L, rz_game_num_actions(game_check(L, 1)->g));
    return 1;
}

static int game_tostring(lua_State *L)
{
    lrz_game *h = luaL_checkudata(L, 1, LRZ_GAME);
    if (!h->g) lua_pushstring(L, "rz.game (closed)");
    else lua_pushfstring(L, "rz.game(%s)", rz_game_name(h->g));
    return 1;
}

/* Pushes a new state of the game at index gidx (reset to the start). */
static lrz_state *push_state(lua_State *L, int gidx)
{
    gidx = lua_absindex(L, gidx);
    lrz_game *gh = game_check(L, gidx);
    if (rz_game_state_size(gh->g) > STATE_MAX) luaL_error(L, "rz.state: the game's state is too large");
    lrz_state *s = lrz_newhandle(L, sizeof *s, LRZ_STATE);
    lua_pushvalue(L, gidx);
    lua_setiuservalue(L, -2, 1);
    s->game = gh;
    rz_game_reset(gh->g, s->bytes);
    s->open = 1;
    return s;
}

static int game_new_state(lua_State *L)
{
    push_state(L, 1);
    return 1;
}

/* game:deserialize("3 3 4") -> state */
static int game_deserialize(lua_State *L)
{
    lrz_game *gh = game_check(L, 1);
    const char *text = luaL_checkstring(L, 2);
    lrz_state *s = push_state(L, 1);
    rz_error err = {0};
    if (rz_game_deserialize(gh->g, s->bytes, text, &err) != RZ_OK)
        return lrz_fail(L, "game:deserialize", &err);
    return 1;
}

/* ----------------------------------------------------------------- states */

static lrz_state *state_check(lua_State *L, int idx)
{
    lrz_state *s = luaL_checkudata(L, idx, LRZ_STATE);
    if (!s->open) luaL_error(L, "rz.state: the state is closed");
    game_of(L, s->game, "rz.state");
    return s;
}

static int state_close(lua_State *L)
{
    lrz_state *s = luaL_checkudata(L, 1, LRZ_STATE);
    s->open = 0;
    return 0;
}

static int state_legal_actions(lua_State *L)
{
    lrz_state *s = state_check(L, 1);
    uint8_t mask[256];
    const rz_game *g = s->game->g;
    rz_game_legal(g, s->bytes, mask);
    lua_newtable(L);
    int k = 0;
    for (int a = 0; a < rz_game_num_actions(g); a++)
        if (mask[a]) {
            lua_pushinteger(L, a);
            lua_rawseti(L, -2, ++k);
        }
    return 1;
}

/* s:apply(a) -> s (so calls chain); an illegal action is an error naming it */
static int state_apply(lua_State *L)
{
    lrz_state *s = state_check(L, 1);
    int isint = 0;
    lua_Integer a = lua_tointegerx(L, 2, &isint);
    if (!isint)
        return luaL_error(L, "state:apply: the action must be an integer id, got %s",
                          lua_type(L, 2) == LUA_TNUMBER ? lua_tostring(L, 2) : luaL_typename(L, 2));
    rz_error err = {0};
    if (a < 0 || a > 1 << 20) return luaL_error(L, "state:apply: illegal action %I (out of range)", a);
    if (rz_game_apply(s->game->g, s->bytes, (int)a, &err) != RZ_OK)
        return luaL_error(L, "state:apply: illegal action %I: %s", a, err.msg);
    lua_settop(L, 1);
    return 1;
}

static int state_is_terminal(lua_State *L)
{
    lrz_state *s = state_check(L, 1);
    lua_pushboolean(L, rz_game_is_terminal(s->game->g, s->bytes));
    return 1;
}

static int state_returns(lua_State *L)
{
    lrz_state *s = state_check(L, 1);
    double r[2];
    rz_game_returns(s->game->g, s->bytes, r);
    lua_createtable(L, 2, 0);
    lua_pushnumber(L, r[0]), lua_rawseti(L, -2, 1);
    lua_pushnumber(L, r[1]), lua_rawseti(L, -2, 2);
    return 1;
}

static int state_current_player(lua_State *L)
{
    lrz_state *s = state_check(L, 1);
    lua_pushinteger(L, rz_game_current_player(s->game->g, s->bytes));
    return 1;
}

static int state_move_count(lua_State *L)
{
    lrz_state *s = state_check(L, 1);
    lua_pushinteger(L, rz_game_move_count(s->game->g, s->bytes));
    return 1;
}

/* state:solve([max_nodes = 10000000]) -> value, plies, action: the exact value for the
 * player to move (1 win, 0 draw, -1 loss), the moves to the end under best play (winner
 * hurrying, loser delaying; 0 for a draw), an optimal action (nil when the game is over);
 * nil when the search needs more than max_nodes nodes (rz_game_solve).
 * state:outcome([max_nodes = 10000000]) -> value: the value alone, or nil over budget
 * (rz_solver_wdl: a narrower search, so it decides many more positions in a budget). */
static int solve_or_outcome(lua_State *L, const char *W, int value_only)
{
    lrz_state *s = state_check(L, 1);
    lua_Integer max_nodes = luaL_optinteger(L, 2, 10000000);
    if (max_nodes < 1 || max_nodes > 2000000000)
        return luaL_error(L, "%s: max_nodes = %I must be in 1..2000000000", W, max_nodes);
    rz_error err = {0};
    rz_solver *sv;
    if (rz_solver_create(&sv, s->game->g, (long)max_nodes, &err) != RZ_OK) return lrz_fail(L, W, &err);
    int solved = 0, value = 0, plies = 0, action = -1;
    int rc = value_only ? rz_solver_wdl(sv, s->bytes, (long)max_nodes, &solved, &value, &err)
                        : rz_solver_solve(sv, s->bytes, (long)max_nodes, &solved, &value, &plies, &action, &err);
    rz_solver_free(sv);
    if (rc) return lrz_fail(L, W, &err);
    if (!solved) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, value);
    if (value_only) return 1;
    lua_pushinteger(L, plies);
    if (action >= 0) lua_pushinteger(L, action);
    else lua_pushnil(L);
    return 3;
}

static int state_solve(lua_State *L) { return solve_or_outcome(L, "state:solve", 0); }
static int state_outcome(lua_State *L) { return solve_or_outcome(L, "state:outcome", 1); }

static int state_clone(lua_State *L)
{
    lrz_state *s = state_check(L, 1);
    lua_getiuservalue(L, 1, 1);
    lrz_state *c = push_state(L, -1);
    memcpy(c->bytes, s->bytes, rz_game_state_size(s->game->g));
    return 1;
}

static int state_serialize(lua_State *L)
{
    lrz_state *s = state_check(L, 1);
    char buf[4096];
    int n = rz_game_serialize(s->game->g, s->bytes, buf, sizeof buf);
    if (n < 0 || (size_t)n >= sizeof buf) return luaL_error(L, "state:serialize: history too long");
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

static int state_game(lua_State *L)
{
    state_check(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int state_tostring(lua_State *L)
{
    lrz_state *s = luaL_checkudata(L, 1, LRZ_STATE);
    if (!s->open || !s->game || !s->game->g) {
        lua_pushstring(L, "rz.state (closed)");
        return 1;
    }
    char buf[4096];
    int n = rz_game_render(s->game->g, s->bytes, buf, sizeof buf);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

/* ----------------------------------------------------------------- agents */

static lrz_agent *agent_check(lua_State *L, int idx)
{
    lrz_agent *a = luaL_checkudata(L, idx, LRZ_AGENT);
    if (!a->mlp && !a->player) luaL_error(L, "rz.agent: the agent is closed");
    game_of(L, a->game, "rz.agent");
    return a;
}

/* The C agent a Lua agent plays as, at temperature temp (policies only). */
static rz_agent to_agent(lrz_agent *a, float temp)
{
    rz_agent r = {a->mlp, a->player, temp, a->search_depth, a->solve_nodes};
    return r;
}

static int agent_gc(lua_State *L)
{
    lrz_agent *a = luaL_checkudata(L, 1, LRZ_AGENT);
    rz_mlp_free(a->mlp);
    rz_player_free(a->player);
    a->mlp = NULL;
    a->player = NULL;
    return 0;
}

/* A new, closed agent bound to the game at gidx. */
static lrz_agent *push_agent(lua_State *L, int gidx)
{
    gidx = lua_absindex(L, gidx);
    lrz_game *gh = game_check(L, gidx);
    lrz_agent *a = lrz_newhandle(L, sizeof *a, LRZ_AGENT);
    lua_pushvalue(L, gidx);
    lua_setiuservalue(L, -2, 1);
    a->game = gh;
    return a;
}

/* rz.player(game, "alphabeta(depth=2)") -> agent */
static int rz_player_new(lua_State *L)
{
    game_check(L, 1);
    const char *spec = luaL_checkstring(L, 2);
    lrz_agent *a = push_agent(L, 1);
    rz_error err = {0};
    if (rz_player_create(&a->player, a->game->g, spec, &err) != RZ_OK)
        return lrz_fail(L, "rz.player", &err);
    return 1;
}

/* agent:act(state [, seed | {greedy = true, temperature = 1, seed = 0}]) -> action (0-based).
 * A policy is greedy unless greedy = false (then it samples at temperature); a reference
 * player draws its ties from seed. */
static int agent_act(lua_State *L)
{
    lrz_agent *a = agent_check(L, 1);
    lrz_state *s = state_check(L, 2);
    if (s->game->g != a->game->g && strcmp(rz_game_name(s->game->g), rz_game_name(a->game->g)) != 0)
        return luaL_error(L, "agent:act: the agent plays %s, the state is of %s",
                          rz_game_name(a->game->g), rz_game_name(s->game->g));
    lua_Integer seed = 0;
    float temp = 0.0f;
    if (lua_type(L, 3) == LUA_TNUMBER) {
        seed = luaL_checkinteger(L, 3);
        if (seed < 0) return luaL_error(L, "agent:act: seed = %I must be >= 0", seed);
    } else {
        static const char *const fields[] = {"greedy", "temperature", "seed", NULL};
        lrz_check_fields(L, 3, "agent:act", fields);
        int greedy = lrz_opt_bool(L, 3, "agent:act", "greedy", 1);
        double t = lrz_opt_num(L, 3, "agent:act", "temperature", 1.0, 0.0, 100.0);
        seed = lrz_opt_int(L, 3, "agent:act", "seed", 0, 0, LUA_MAXINTEGER);
        temp = greedy ? 0.0f : (float)t;
    }
    if (rz_game_is_terminal(s->game->g, s->bytes)) return luaL_error(L, "agent:act: the game is over");
    rz_agent ag = to_agent(a, temp);
    rz_rng rng;
    rz_rng_stream(&rng, (uint64_t)seed, (uint64_t)rz_game_move_count(s->game->g, s->bytes), 0, 0);
    int action = -1;
    rz_error err = {0};
    if (rz_agent_act(a->game->g, &ag, s->bytes, &rng, &action, &err) != RZ_OK)
        return lrz_fail(L, "agent:act", &err);
    lua_pushinteger(L, action);
    return 1;
}

static int agent_game(lua_State *L)
{
    agent_check(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int agent_tostring(lua_State *L)
{
    lrz_agent *a = luaL_checkudata(L, 1, LRZ_AGENT);
    if (!a->mlp && !a->player) lua_pushstring(L, "rz.agent (closed)");
    else if (a->player) lua_pushfstring(L, "rz.agent(%s)", rz_player_name(a->player));
    else {
        const rz_mlp_config *c = rz_mlp_cfg(a->mlp);
        if (a->search_depth > 0 && a->solve_nodes > 0)
            lua_pushfstring(L, "rz.agent(mlp %dx%d+value, step %d, search depth %d, solve_nodes %I)",
                            c->layers, c->hidden, (int)a->step, a->search_depth,
                            (lua_Integer)a->solve_nodes);
        else if (a->search_depth > 0)
            lua_pushfstring(L, "rz.agent(mlp %dx%d+value, step %d, search depth %d)", c->layers,
                            c->hidden, (int)a->step, a->search_depth);
        else
            lua_pushfstring(L, "rz.agent(mlp %dx%d%s, step %d)", c->layers, c->hidden,
                            c->value ? "+value" : "", (int)a->step);
    }
    return 1;
}

static int save_mlp(lua_State *L, const char *what, const char *path, rz_mlp *m, const rz_game *g,
                    long step, int with_opt)
{
    rz_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    strcpy(ck.kind, "mlp");
    ck.mlp = *rz_mlp_cfg(m);
    ck.params = rz_mlp_params(m);
    ck.with_optimizer = with_opt;
    ck.step = step;
    rz_rng_seed(&ck.rng, 0);
    /* the game travels with the policy, so a loaded agent knows what it plays */
    ck.extra = (void *)rz_game_name(g);
    ck.extra_len = strlen(rz_game_name(g));
    rz_error err = {0};
    if (rz_checkpoint_save(path, &ck, &err) != RZ_OK) return lrz_fail(L, what, &err);
    return 0;
}

/* agent:save(path): a policy as a kind "mlp" checkpoint */
static int agent_save(lua_State *L)
{
    lrz_agent *a = agent_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    if (!a->mlp) return luaL_error(L, "agent:save: only a policy can be saved (this is %s)", rz_player_name(a->player));
    return save_mlp(L, "agent:save", path, a->mlp, a->game->g, a->step, 0);
}

/* Loads a kind "mlp" checkpoint; the caller releases ck. */
static void load_mlp(lua_State *L, const char *what, const char *path, rz_checkpoint *ck)
{
    memset(ck, 0, sizeof *ck);
    rz_error err = {0};
    if (rz_checkpoint_load(path, ck, &err) != RZ_OK) lrz_fail(L, what, &err);
    if (strcmp(ck->kind, "mlp") != 0) {
        char kind[sizeof ck->kind];
        memcpy(kind, ck->kind, sizeof kind);
        rz_checkpoint_release(ck);
        luaL_error(L, "%s: '%s' holds a %s, not an mlp policy", what, path, kind);
    }
}

/* rz.load_agent(path [, game]) -> agent, info {step=, game=} */
static int rz_load_agent(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2)) game_check(L, 2);
    rz_checkpoint ck;
    load_mlp(L, "rz.load_agent", path, &ck);
    /* copy what is needed out of ck before anything can raise */
    char spec[512] = "";
    size_t n = ck.extra_len < sizeof spec - 1 ? ck.extra_len : sizeof spec - 1;
    if (ck.extra) memcpy(spec, ck.extra, n);
    spec[n] = '\0';
    rz_mlp_config mc = ck.mlp;
    long step = (long)ck.step;
    rz_mlp *m = NULL;
    rz_error err = {0};
    int rc = rz_mlp_create(&m, &mc, 0, &err);
    if (rc == RZ_OK) rc = rz_params_copy_from(rz_mlp_params(m), ck.params, 0, &err);
    rz_checkpoint_release(&ck);
    if (rc != RZ_OK) {
        rz_mlp_free(m);
        return lrz_fail(L, "rz.load_agent", &err);
    }
    if (lua_isnoneornil(L, 2)) {
        rz_game *probe = NULL;
        if (!spec[0] || rz_game_create(&probe, spec, &err) != RZ_OK) {
            rz_mlp_free(m);
            return luaL_error(L, "rz.load_agent: '%s' does not name its game; pass the game", path);
        }
        rz_game_free(probe);
        lrz_game *gh = lrz_newhandle(L, sizeof *gh, LRZ_GAME);
        if (rz_game_create(&gh->g, spec, &err) != RZ_OK) {
            rz_mlp_free(m);
            return lrz_fail(L, "rz.load_agent", &err);
        }
    } else {
        lua_pushvalue(L, 2);
    }
    int gidx = lua_gettop(L);
    const rz_game *g = game_check(L, gidx)->g;
    if (mc.inputs != rz_game_obs_size(g) || mc.outputs != rz_game_num_actions(g)) {
        rz_mlp_free(m);
        return luaL_error(L, "rz.load_agent: the policy in '%s' maps %d inputs to %d actions; %s "
                             "has %d and %d",
                          path, mc.inputs, mc.outputs, rz_game_name(g), rz_game_obs_size(g),
                          rz_game_num_actions(g));
    }
    lrz_agent *a = push_agent(L, gidx);
    a->mlp = m;
    a->step = step;
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, step), lua_setfield(L, -2, "step");
    lua_pushstring(L, rz_game_name(g)), lua_setfield(L, -2, "game");
    return 2;
}

/* -------------------------------------------------------------- self-play */

static lrz_selfplay *selfplay_check(lua_State *L, int idx)
{
    lrz_selfplay *h = luaL_checkudata(L, idx, LRZ_SELFPLAY);
    if (!h->t) luaL_error(L, "rz.selfplay: the trainer is closed");
    game_of(L, h->game, "rz.selfplay");
    return h;
}

static int selfplay_gc(lua_State *L)
{
    lrz_selfplay *h = luaL_checkudata(L, 1, LRZ_SELFPLAY);
    rz_selfplay_free(h->t);
    h->t = NULL;
    return 0;
}

static const char *const selfplay_fields[] = {
    "game", "hidden", "layers", "activation", "positions", "group", "opening_max", "temperature",
    "mu", "minibatches", "estimator", "scale", "eps_low", "eps_high", "beta", "kl", "loss",
    "ref_reset", "entropy_coef", "first_plies", "holdout", "start_pool", "explore", "value_coef", "value_lambda", "search_depth",
    "search_temperature", "mirror", "solve_nodes", "lr", "beta1", "beta2", "eps", "weight_decay", "grad_clip",
    "warmup", "total_steps", "min_lr_ratio", "seed", "init_seed", NULL};

/* rz.selfplay{game = "tictactoe" | rz.game, hidden = 64, layers = 2, ...} */
static int rz_selfplay_new(lua_State *L)
{
    const char *W = "rz.selfplay";
    luaL_checktype(L, 1, LUA_TTABLE);
    lrz_check_fields(L, 1, W, selfplay_fields);
    /* every option is read and checked before anything is allocated */
    rz_selfplay_config c;
    rz_selfplay_config_default(&c);
    rz_mlp_config mc = {0, 0, 2, 64, RZ_ACT_RELU, 0};
    static const char *const acts[] = {"relu", "tanh", NULL};
    static const char *const ests[] = {"grpo", "rloo", NULL};
    static const char *const scales[] = {"group", "batch", "none", NULL};
    static const char *const kls[] = {"k3", "k1", NULL};
    static const char *const losses[] = {"grpo", "token", "dr_grpo", NULL};
    mc.hidden = (int)lrz_opt_int(L, 1, W, "hidden", 64, 1, 65536);
    mc.layers = (int)lrz_opt_int(L, 1, W, "layers", 2, 1, 64);
    mc.activation = lrz_opt_enum(L, 1, W, "activation", "relu", acts);
    c.positions = (int)lrz_opt_int(L, 1, W, "positions", c.positions, 1, 65536);
    c.group = (int)lrz_opt_int(L, 1, W, "group", c.group, 2, 4096);
    c.opening_max = (int)lrz_opt_int(L, 1, W, "opening_max", c.opening_max, 0, 1000);
    c.temperature = (float)lrz_opt_num(L, 1, W, "temperature", c.temperature, 1e-3, 100.0);
    c.mu = (int)lrz_opt_int(L, 1, W, "mu", c.mu, 1, 100);
    c.minibatches = (int)lrz_opt_int(L, 1, W, "minibatches", c.minibatches, 1, 1024);
    c.estimator = lrz_opt_enum(L, 1, W, "estimator", "grpo", ests);
    c.scale = lrz_opt_enum(L, 1, W, "scale", "group", scales);
    c.obj.eps_low = (float)lrz_opt_num(L, 1, W, "eps_low", c.obj.eps_low, 0.0, 0.999);
    c.obj.eps_high = (float)lrz_opt_num(L, 1, W, "eps_high", c.obj.eps_high, 0.0, 100.0);
    c.obj.beta = (float)lrz_opt_num(L, 1, W, "beta", c.obj.beta, 0.0, 100.0);
    c.obj.kl = lrz_opt_enum(L, 1, W, "kl", "k3", kls);
    c.obj.agg = lrz_opt_enum(L, 1, W, "loss", "token", losses);
    c.ref_reset = (int)lrz_opt_int(L, 1, W, "ref_reset", 0, 0, 1 << 30);
    c.entropy_coef = (float)lrz_opt_num(L, 1, W, "entropy_coef", 0.0, 0.0, 100.0);
    c.first_plies = (int)lrz_opt_int(L, 1, W, "first_plies", 0, 0, 1 << 30);
    c.holdout = (int)lrz_opt_int(L, 1, W, "holdout", 0, 0, 1 << 30);
    c.start_pool = (int)lrz_opt_int(L, 1, W, "start_pool", 0, 0, 1 << 24);
    c.explore = (int)lrz_opt_int(L, 1, W, "explore", 0, 0, 1000);
    c.value_coef = (float)lrz_opt_num(L, 1, W, "value_coef", 0.0, 0.0, 1000.0);
    c.value_lambda = (float)lrz_opt_num(L, 1, W, "value_lambda", c.value_lambda, 0.0, 1.0);
    c.search_depth = (int)lrz_opt_int(L, 1, W, "search_depth", 0, 0, RZ_SEARCH_MAX_DEPTH);
    c.search_temperature = (float)lrz_opt_num(L, 1, W, "search_temperature", c.search_temperature,
                                              1e-4, 100.0);
    c.mirror = lrz_opt_bool(L, 1, W, "mirror", 0);
    c.solve_nodes = (long)lrz_opt_int(L, 1, W, "solve_nodes", 0, 0, 2000000000);
    c.opt.weight_decay = 0.0f; /* no weight decay or schedule unless asked */
    c.opt.warmup = c.opt.total_steps = 0;
    lrz_opt_adamw(L, 1, W, &c.opt);
    c.seed = (uint64_t)lrz_opt_int(L, 1, W, "seed", 1, 0, LUA_MAXINTEGER);
    uint64_t init_seed = (uint64_t)lrz_opt_int(L, 1, W, "init_seed", (lua_Integer)c.seed, 0, LUA_MAXINTEGER);
    rz_error err = {0};
    if (rz_selfplay_config_check(&c, &err) != RZ_OK) return lrz_fail(L, W, &err);
    /* the game: a spec or a game handle */
    int t = lrz_getfield(L, 1, "game");
    if (t == LUA_TSTRING) {
        push_game(L, lua_tostring(L, -1), W);
        lua_remove(L, -2);
    } else if (t == LUA_TNIL) {
        return luaL_error(L, "%s: field 'game' is required (a spec such as \"tictactoe\" or an rz.game)", W);
    } else if (!luaL_testudata(L, -1, LRZ_GAME)) {
        return luaL_error(L, "%s: field 'game' must be a string or an rz.game, got %s", W, luaL_typename(L, -1));
    }
    int gidx = lua_gettop(L);
    lrz_game *gh = game_check(L, gidx);
    lrz_selfplay *h = lrz_newhandle(L, sizeof *h, LRZ_SELFPLAY);
    lua_pushvalue(L, gidx);
    lua_setiuservalue(L, -2, 1);
    h->game = gh;
    if (rz_selfplay_create(&h->t, gh->g, &mc, init_seed, &c, &err) != RZ_OK) return lrz_fail(L, W, &err);
    return 1;
}

static void set_num(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* t:step() -> metrics */
static int selfplay_step(lua_State *L)
{
    lrz_selfplay *h = selfplay_check(L, 1);
    rz_selfplay_stats s;
    rz_error err = {0};
    if (rz_selfplay_step(h->t, &s, &err) != RZ_OK) return lrz_fail(L, "selfplay:step", &err);
    lua_createtable(L, 0, 24);
    lua_pushinteger(L, rz_selfplay_steps(h->t)), lua_setfield(L, -2, "step");
    set_num(L, "games", s.games);
    set_num(L, "decisions", s.decisions);
    set_num(L, "trained", s.trained);
    set_num(L, "win0", s.win0);
    set_num(L, "win1", s.win1);
    set_num(L, "draw", s.draw);
    set_num(L, "length_mean", s.length_mean);
    set_num(L, "length_max", s.length_max);
    set_num(L, "zero_std_frac", s.zero_std_frac);
    set_num(L, "value_loss", s.value_loss);
    if (rz_selfplay_cfg(h->t)->solve_nodes > 0) {
        set_num(L, "solved", s.solved);
        set_num(L, "solve_seconds", s.solve_seconds);
    }
    set_num(L, "entropy", s.entropy);
    set_num(L, "loss", s.loss);
    set_num(L, "kl", s.kl);
    set_num(L, "clip_frac", s.clip_frac);
    set_num(L, "clip_low", s.clip_low);
    set_num(L, "clip_high", s.clip_high);
    set_num(L, "ratio_mean", s.ratio_mean);
    set_num(L, "grad_norm", s.grad_norm);
    set_num(L, "lr", s.lr);
    set_num(L, "play_seconds", s.play_seconds);
    set_num(L, "train_seconds", s.train_seconds);
    set_num(L, "comm_seconds", s.comm_seconds);
    double dt = s.play_seconds + s.train_seconds;
    set_num(L, "steps_per_s", dt > 0 ? 1.0 / dt : 0.0);
    set_num(L, "games_per_s", dt > 0 ? s.games / dt : 0.0);
    return 1;
}

static int selfplay_steps(lua_State *L)
{
    lua_pushinteger(L, rz_selfplay_steps(selfplay_check(L, 1)->t));
    return 1;
}

/* The search depth of an agent from options table idx ({search_depth = d}), checked
 * against the network m. */
static int opt_search_depth(lua_State *L, int idx, const char *W, const rz_mlp *m)
{
    static const char *const fields[] = {"search_depth", NULL};
    lrz_check_fields(L, idx, W, fields);
    int d = (int)lrz_opt_int(L, idx, W, "search_depth", 0, 0, RZ_SEARCH_MAX_DEPTH);
    if (d > 0 && !rz_mlp_cfg(m)->value)
        luaL_error(L, "%s: search_depth = %d needs a network with a value head (train with value_coef > 0)",
                   W, d);
    return d;
}

/* A new agent at the top of the stack: a copy of the network m for the game at gidx. */
static lrz_agent *push_copy(lua_State *L, int gidx, rz_mlp *m, long step, int depth, const char *W)
{
    lrz_agent *a = push_agent(L, gidx);
    rz_error err = {0};
    if (rz_mlp_create(&a->mlp, rz_mlp_cfg(m), 0, &err) != RZ_OK) lrz_fail(L, W, &err);
    rz_params *d = rz_mlp_params(a->mlp), *s = rz_mlp_params(m);
    memcpy(d->param, s->param, s->numel * sizeof(float));
    a->step = step;
    a->search_depth = depth;
    return a;
}

/* agent:search(depth [, {solve_nodes = 0}]) -> a copy of the policy that moves by a
 * depth-limited search over the rules, its leaves scored by the network's value head
 * (depth 0: the policy head again); solve_nodes > 0 first solves each position exactly
 * within that many nodes (rz_search_best_solved) */
static int agent_search(lua_State *L)
{
    const char *W = "agent:search";
    lrz_agent *a = agent_check(L, 1);
    lua_Integer d = luaL_checkinteger(L, 2);
    static const char *const fields[] = {"solve_nodes", NULL};
    lrz_check_fields(L, 3, W, fields);
    const long solve = (long)lrz_opt_int(L, 3, W, "solve_nodes", 0, 0, 2000000000);
    if (!a->mlp) return luaL_error(L, "%s: %s is not a policy", W, rz_player_name(a->player));
    if (d < 0 || d > RZ_SEARCH_MAX_DEPTH)
        return luaL_error(L, "%s: depth = %I must be in 0..%d", W, d, RZ_SEARCH_MAX_DEPTH);
    if (d > 0 && !rz_mlp_cfg(a->mlp)->value)
        return luaL_error(L, "%s: the network has no value head (train with value_coef > 0)", W);
    if (solve > 0 && d == 0) return luaL_error(L, "%s: solve_nodes = %I needs depth > 0", W, (lua_Integer)solve);
    lua_getiuservalue(L, 1, 1);
    push_copy(L, -1, a->mlp, a->step, (int)d, W)->solve_nodes = solve;
    return 1;
}

/* agent:value(state) -> the value head's estimate of the return for the player to move
 * (in (-1, 1)); a finished game: its true return for the player who would move next */
static int agent_value(lua_State *L)
{
    const char *W = "agent:value";
    lrz_agent *a = agent_check(L, 1);
    lrz_state *s = state_check(L, 2);
    const rz_game *g = a->game->g;
    if (s->game->g != g && strcmp(rz_game_name(s->game->g), rz_game_name(g)) != 0)
        return luaL_error(L, "%s: the agent plays %s, the state is of %s", W, rz_game_name(g),
                          rz_game_name(s->game->g));
    if (!a->mlp || !rz_mlp_cfg(a->mlp)->value)
        return luaL_error(L, "%s: the agent has no value head", W);
    if (rz_game_is_terminal(g, s->bytes)) {
        double r[2];
        rz_game_returns(g, s->bytes, r);
        /* the player to move next alternates: the one who did not make the last move */
        lua_pushnumber(L, r[rz_game_move_count(g, s->bytes) % 2]);
        return 1;
    }
    float obs[1024];
    if (rz_game_obs_size(g) > 1024) return luaL_error(L, "%s: observation too large", W);
    rz_game_observe(g, s->bytes, obs);
    rz_error err = {0};
    if (rz_mlp_forward(a->mlp, obs, NULL, 1, &err) != RZ_OK) return lrz_fail(L, W, &err);
    lua_pushnumber(L, rz_mlp_value(a->mlp)[0]);
    return 1;
}

/* t:agent([{search_depth = 0}]) -> a snapshot of the current policy (a searching agent
 * with search_depth > 0) */
static int selfplay_agent(lua_State *L)
{
    lrz_selfplay *h = selfplay_check(L, 1);
    rz_mlp *src = rz_selfplay_policy(h->t);
    const int depth = opt_search_depth(L, 2, "selfplay:agent", src);
    lua_getiuservalue(L, 1, 1);
    push_copy(L, -1, src, rz_selfplay_steps(h->t), depth, "selfplay:agent");
    return 1;
}

/* t:save(path): policy, AdamW moments and the step count */
static int selfplay_save(lua_State *L)
{
    lrz_selfplay *h = selfplay_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    return save_mlp(L, "selfplay:save", path, rz_selfplay_policy(h->t), h->game->g,
                    rz_selfplay_steps(h->t), 1);
}

/* t:load(path) -> step: resumes from a t:save checkpoint of the same shape */
static int selfplay_load(lua_State *L)
{
    lrz_selfplay *h = selfplay_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    rz_checkpoint ck;
    load_mlp(L, "selfplay:load", path, &ck);
    rz_error err = {0};
    int rc = ck.with_optimizer ? RZ_OK
                               : rz_error_set(&err, RZ_ERR_FORMAT, "'%s' has no optimizer state", path);
    if (!rc) rc = rz_params_copy_from(rz_mlp_params(rz_selfplay_policy(h->t)), ck.params, 1, &err);
    if (!rc) rc = rz_selfplay_set_steps(h->t, (long)ck.step, &err);
    long step = (long)ck.step;
    rz_checkpoint_release(&ck);
    if (rc) return lrz_fail(L, "selfplay:load", &err);
    lua_pushinteger(L, step);
    return 1;
}

static int selfplay_tostring(lua_State *L)
{
    lrz_selfplay *h = luaL_checkudata(L, 1, LRZ_SELFPLAY);
    if (!h->t || !h->game || !h->game->g) lua_pushstring(L, "rz.selfplay (closed)");
    else {
        const rz_mlp_config *c = rz_mlp_cfg(rz_selfplay_policy(h->t));
        lua_pushfstring(L, "rz.selfplay(%s, mlp %dx%d, step %d)", rz_game_name(h->game->g), c->layers,
                        c->hidden, (int)rz_selfplay_steps(h->t));
    }
    return 1;
}

/* --------------------------------------------------------------- evaluation */

static void same_game(lua_State *L, const char *what, lrz_agent *a, lrz_agent *b)
{
    if (a->game->g != b->game->g && strcmp(rz_game_name(a->game->g), rz_game_name(b->game->g)) != 0)
        luaL_error(L, "%s: the agents play different games (%s and %s)", what,
                   rz_game_name(a->game->g), rz_game_name(b->game->g));
}

static void push_result(lua_State *L, const rz_arena_result *r)
{
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, r->wins), lua_setfield(L, -2, "wins");
    lua_pushinteger(L, r->draws), lua_setfield(L, -2, "draws");
    lua_pushinteger(L, r->losses), lua_setfield(L, -2, "losses");
    lua_pushinteger(L, r->wins + r->draws + r->losses), lua_setfield(L, -2, "games");
    set_num(L, "plies_mean", r->plies_mean);
}

/* rz.arena(a, b [, {games = 100, seed = 1, seat = 0|1, temperature = 0}]) -> result for a.
 * Without seat: `games` games in each seat, with the totals and seat0 / seat1 breakdowns.
 * Policies play greedily unless temperature > 0. */
static int rz_arena(lua_State *L)
{
    const char *W = "rz.arena";
    lrz_agent *a = agent_check(L, 1), *b = agent_check(L, 2);
    static const char *const fields[] = {"games", "seed", "seat", "temperature", NULL};
    lrz_check_fields(L, 3, W, fields);
    int games = (int)lrz_opt_int(L, 3, W, "games", 100, 1, 1 << 22);
    uint64_t seed = (uint64_t)lrz_opt_int(L, 3, W, "seed", 1, 0, LUA_MAXINTEGER);
    int seat = (int)lrz_opt_int(L, 3, W, "seat", -1, -1, 1);
    float temp = (float)lrz_opt_num(L, 3, W, "temperature", 0.0, 0.0, 100.0);
    same_game(L, W, a, b);
    rz_agent x = to_agent(a, temp), y = to_agent(b, temp);
    rz_arena_result r[2];
    rz_error err = {0};
    for (int s = 0; s < 2; s++) {
        if (seat >= 0 && s != seat) continue;
        /* each seat's games get their own streams */
        if (rz_arena_play(a->game->g, &x, &y, s, games, seed * 2 + (uint64_t)s, &r[s], &err) != RZ_OK)
            return lrz_fail(L, W, &err);
    }
    if (seat >= 0) {
        push_result(L, &r[seat]);
        return 1;
    }
    rz_arena_result tot = {r[0].wins + r[1].wins, r[0].draws + r[1].draws,
                           r[0].losses + r[1].losses, 0.5 * (r[0].plies_mean + r[1].plies_mean)};
    push_result(L, &tot);
    push_result(L, &r[0]);
    lua_setfield(L, -2, "seat0");
    push_result(L, &r[1]);
    lua_setfield(L, -2, "seat1");
    return 1;
}

/* rz.perfect_lines(agent [, {seat = 0, max_nodes = 10000000}]) -> {wins, draws, losses, ...}
 * over every line a perfect opponent can choose against the greedy policy */
static int rz_perfect_lines(lua_State *L)
{
    const char *W = "rz.perfect_lines";
    lrz_agent *a = agent_check(L, 1);
    static const char *const fields[] = {"seat", "max_nodes", NULL};
    lrz_check_fields(L, 2, W, fields);
    int seat = (int)lrz_opt_int(L, 2, W, "seat", 0, 0, 1);
    long max_nodes = (long)lrz_opt_int(L, 2, W, "max_nodes", 10000000, 1, 1L << 40);
    if (!a->mlp) return luaL_error(L, "%s: the agent must be a policy", W);
    rz_agent x = to_agent(a, 0.0f);
    rz_arena_result r;
    rz_error err = {0};
    if (rz_arena_perfect_lines(a->game->g, &x, seat, max_nodes, &r, &err) != RZ_OK)
        return lrz_fail(L, W, &err);
    push_result(L, &r);
    return 1;
}

/* rz.winning_moves(agent [, {holdout = 0, max_positions = 1e6, max_nodes = 1e7}])
 *   -> {positions =, correct =, rate =} */
static int rz_winning_moves(lua_State *L)
{
    const char *W = "rz.winning_moves";
    lrz_agent *a = agent_check(L, 1);
    static const char *const fields[] = {"holdout", "max_positions", "max_nodes", NULL};
    lrz_check_fields(L, 2, W, fields);
    int holdout = (int)lrz_opt_int(L, 2, W, "holdout", 0, -(1 << 30), 1 << 30);
    long maxp = (long)lrz_opt_int(L, 2, W, "max_positions", 1000000, 1, 1L << 26);
    long maxn = (long)lrz_opt_int(L, 2, W, "max_nodes", 10000000, 1, 1L << 40);
    if (!a->mlp) return luaL_error(L, "%s: the agent must be a policy", W);
    rz_agent x = to_agent(a, 0.0f);
    long pos = 0, ok = 0;
    rz_error err = {0};
    if (rz_arena_winning_moves(a->game->g, &x, holdout, maxp, maxn, &pos, &ok, &err) != RZ_OK)
        return lrz_fail(L, W, &err);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, pos), lua_setfield(L, -2, "positions");
    lua_pushinteger(L, ok), lua_setfield(L, -2, "correct");
    set_num(L, "rate", pos ? (double)ok / (double)pos : 0.0);
    return 1;
}

/* rz.elo({a1, a2, ...} [, {games = 20, seed = 1, anchor = 1, prior = 1}])
 *   -> {ratings = {...}, points = {{...}}, games = {{...}}}
 * A round robin: every pair plays `games` games in each seat; ratings by rz_elo_fit,
 * anchored at agents[anchor] = 0 (put the random player there). */
static int rz_elo(lua_State *L)
{
    const char *W = "rz.elo";
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const fields[] = {"games", "seed", "anchor", "prior", NULL};
    lrz_check_fields(L, 2, W, fields);
    int games = (int)lrz_opt_int(L, 2, W, "games", 20, 1, 1 << 20);
    uint64_t seed = (uint64_t)lrz_opt_int(L, 2, W, "seed", 1, 0, LUA_MAXINTEGER);
    const int K = (int)lua_rawlen(L, 1);
    if (K < 2 || K > 256) return luaL_error(L, "%s: needs 2..256 agents, got %d", W, K);
    int anchor = (int)lrz_opt_int(L, 2, W, "anchor", 1, 1, K) - 1;
    double prior = lrz_opt_num(L, 2, W, "prior", 1.0, 1e-9, 1e9);
    luaL_checkstack(L, K + 8, W);
    for (int i = 1; i <= K; i++) {
        lua_rawgeti(L, 1, i);
        if (!luaL_testudata(L, -1, LRZ_AGENT))
            return luaL_error(L, "%s: entry %d is not an rz.agent (%s)", W, i, luaL_typename(L, -1));
        agent_check(L, -1);
        lua_pop(L, 1);
    }
    for (int i = 2; i <= K; i++) {
        lua_rawgeti(L, 1, 1);
        lua_rawgeti(L, 1, i);
        same_game(L, W, lua_touserdata(L, -2), lua_touserdata(L, -1));
        lua_pop(L, 2);
    }
    double *pts = lua_newuserdatauv(L, (size_t)K * K * 2 * sizeof(double), 0);
    double *gms = pts + (size_t)K * K;
    memset(pts, 0, (size_t)K * K * 2 * sizeof(double));
    rz_error err = {0};
    for (int i = 0; i < K; i++)
        for (int j = i + 1; j < K; j++) {
            lua_rawgeti(L, 1, i + 1);
            lua_rawgeti(L, 1, j + 1);
            lrz_agent *a = lua_touserdata(L, -2), *b = lua_touserdata(L, -1);
            rz_agent x = to_agent(a, 0.0f), y = to_agent(b, 0.0f);
            for (int s = 0; s < 2; s++) {
                rz_arena_result r;
                uint64_t key = seed * 1000003u + (uint64_t)(i * K + j) * 2u + (uint64_t)s;
                if (rz_arena_play(a->game->g, &x, &y, s, games, key, &r, &err) != RZ_OK)
                    return lrz_fail(L, W, &err);
                pts[i * K + j] += r.wins + 0.5 * r.draws;
                pts[j * K + i] += r.losses + 0.5 * r.draws;
                gms[i * K + j] += games;
                gms[j * K + i] += games;
            }
            lua_pop(L, 2);
        }
    double *elo = lua_newuserdatauv(L, (size_t)K * sizeof(double), 0);
    if (rz_elo_fit(elo, pts, gms, K, anchor, prior, &err) != RZ_OK) return lrz_fail(L, W, &err);
    lua_createtable(L, 0, 3);
    lua_createtable(L, K, 0);
    for (int i = 0; i < K; i++) {
        lua_pushnumber(L, elo[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "ratings");
    for (int m = 0; m < 2; m++) {
        const double *src = m == 0 ? pts : gms;
        lua_createtable(L, K, 0);
        for (int i = 0; i < K; i++) {
            lua_createtable(L, K, 0);
            for (int j = 0; j < K; j++) {
                lua_pushnumber(L, src[i * K + j]);
                lua_rawseti(L, -2, j + 1);
            }
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, m == 0 ? "points" : "games");
    }
    return 1;
}

/* -------------------------------------------------------------------- open */

void lrz_open_game(lua_State *L)
{
    static const luaL_Reg game_methods[] = {
        {"name", game_name}, {"num_actions", game_num_actions}, {"new_state", game_new_state},
        {"deserialize", game_deserialize}, {"close", game_gc}, {NULL, NULL}};
    static const luaL_Reg game_meta[] = {
        {"__gc", game_gc}, {"__close", game_gc}, {"__tostring", game_tostring}, {NULL, NULL}};
    lrz_newclass(L, LRZ_GAME, game_methods, game_meta);
    static const luaL_Reg state_methods[] = {
        {"legal_actions", state_legal_actions}, {"apply", state_apply},
        {"is_terminal", state_is_terminal},     {"returns", state_returns},
        {"current_player", state_current_player}, {"move_count", state_move_count},
        {"solve", state_solve},
        {"outcome", state_outcome},
        {"clone", state_clone},                 {"serialize", state_serialize},
        {"game", state_game},                   {"close", state_close},
        {NULL, NULL}};
    static const luaL_Reg state_meta[] = {
        {"__close", state_close}, {"__tostring", state_tostring}, {NULL, NULL}};
    lrz_newclass(L, LRZ_STATE, state_methods, state_meta);
    static const luaL_Reg agent_methods[] = {{"act", agent_act}, {"save", agent_save}, {"search", agent_search}, {"value", agent_value},
                                             {"game", agent_game}, {"close", agent_gc},
                                             {NULL, NULL}};
    static const luaL_Reg agent_meta[] = {
        {"__gc", agent_gc}, {"__close", agent_gc}, {"__tostring", agent_tostring}, {NULL, NULL}};
    lrz_newclass(L, LRZ_AGENT, agent_methods, agent_meta);
    static const luaL_Reg sp_methods[] = {{"step", selfplay_step},   {"steps", selfplay_steps},
                                          {"agent", selfplay_agent}, {"save", selfplay_save},
                                          {"load", selfplay_load},   {"close", selfplay_gc},
                                          {NULL, NULL}};
    static const luaL_Reg sp_meta[] = {
        {"__gc", selfplay_gc}, {"__close", selfplay_gc}, {"__tostring", selfplay_tostring}, {NULL, NULL}};
    lrz_newclass(L, LRZ_SELFPLAY, sp_methods, sp_meta);
    static const luaL_Reg funcs[] = {
        {"game", rz_game_new},         {"games", rz_games},
        {"player", rz_player_new},     {"load_agent", rz_load_agent},
        {"selfplay", rz_selfplay_new}, {"arena", rz_arena},
        {"perfect_lines", rz_perfect_lines}, {"winning_moves", rz_winning_moves},
        {"elo", rz_elo},               {NULL, NULL}};
    luaL_setfuncs(L, funcs, 0);
}

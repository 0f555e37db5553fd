/* lrz_run.c: what a run needs from C besides models: the host's interrupt flag and the
 * episode log (agents/episodes.c) from Lua.
 *
 * The flag belongs to the host program (lua/main.c installs SIGINT/SIGTERM handlers that
 * only set it) and reaches the module as a light userdata in the registry, so the module
 * keeps no global state; under a stock lua5.4 there is no flag and rz.interrupted() is
 * always false. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lrz.h"

/* rz.interrupted() -> "SIGINT" | "SIGTERM" | false */
static int rz_interrupted(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, LRZ_INTERRUPT_KEY);
    volatile sig_atomic_t *flag = lua_touserdata(L, -1);
    int sig = flag ? *flag : 0;
    /* over MPI a signal reaches the ranks at different moments: they agree on the largest
     * seen, so that all stop after the same step (every rank calls this once a step) */
    rz_error err = {0};
    if (rz_dist_size() > 1 && rz_dist_max_int(&sig, &err) != RZ_OK) return lrz_fail(L, "rz.interrupted", &err);
    if (sig == SIGINT) lua_pushliteral(L, "SIGINT");
    else if (sig == SIGTERM) lua_pushliteral(L, "SIGTERM");
    else if (sig) lua_pushfstring(L, "signal %d", sig);
    else lua_pushboolean(L, 0);
    return 1;
}

/* ---------------------------------------------------------------- ranks */

/* rz.rank() -> 0-based rank of this process; rz.ranks() -> how many (1 without MPI);
 * rz.mpi() -> whether this build has MPI; rz.barrier() waits for every rank. */
static int rz_rank(lua_State *L)
{
    lua_pushinteger(L, rz_dist_rank());
    return 1;
}

static int rz_ranks(lua_State *L)
{
    lua_pushinteger(L, rz_dist_size());
    return 1;
}

static int rz_mpi(lua_State *L)
{
    lua_pushboolean(L, rz_dist_available());
    return 1;
}

static int rz_barrier(lua_State *L)
{
    rz_error err = {0};
    if (rz_dist_barrier(&err) != RZ_OK) return lrz_fail(L, "rz.barrier", &err);
    return 0;
}

/* ---------------------------------------------------------------- episodes */

static double num_field(lua_State *L, int idx, const char *what, int i, const char *k, double def)
{
    int t = lua_getfield(L, idx, k);
    double v = def;
    if (t == LUA_TNUMBER) v = lua_tonumber(L, -1);
    else if (t != LUA_TNIL) luaL_error(L, "%s: samples[%d].%s must be a number", what, i, k);
    lua_pop(L, 1);
    return v;
}

static lua_Integer int_field(lua_State *L, int idx, const char *what, int i, const char *k,
                             lua_Integer def, lua_Integer hi)
{
    int t = lua_getfield(L, idx, k);
    lua_Integer v = def;
    if (t != LUA_TNIL) {
        int ok = 0;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 0 || v > hi)
            luaL_error(L, "%s: samples[%d].%s must be an integer in [0, %I]", what, i, k, hi);
    }
    lua_pop(L, 1);
    return v;
}

/* The string stays alive in the sample table, which the samples table anchors. */
static char *str_field(lua_State *L, int idx, const char *what, int i, const char *k)
{
    int t = lua_getfield(L, idx, k);
    const char *s = "";
    if (t == LUA_TSTRING) s = lua_tostring(L, -1);
    else if (t != LUA_TNIL) luaL_error(L, "%s: samples[%d].%s must be a string", what, i, k);
    lua_pop(L, 1);
    return (char *)s;
}

/* rz.episodes_append(path, samples [, step]): samples as trainer:samples() returns them
 * ({prompt=, answer=, completion=, reward=, accuracy=, format=, language=, advantage=,
 * tokens=, truncated=, group=, step=}); `step` overrides each sample's step. */
static int rz_episodes_append_lua(lua_State *L)
{
    const char *what = "rz.episodes_append";
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer step = luaL_optinteger(L, 3, -1);
    lua_Unsigned n = lua_rawlen(L, 2);
    if (n > (1u << 24)) return luaL_error(L, "%s: %d samples is too many", what, (int)n);
    /* validate everything into a userdata before any file is touched */
    rz_episode *eps = lua_newuserdatauv(L, (n ? n : 1) * sizeof *eps, 0);
    for (int i = 0; i < (int)n; i++) {
        if (lua_rawgeti(L, 2, i + 1) != LUA_TTABLE) return luaL_error(L, "%s: samples[%d] must be a table", what, i + 1);
        int s = lua_gettop(L);
        rz_episode *e = &eps[i];
        memset(e, 0, sizeof *e);
        e->step = step >= 0 ? step : int_field(L, s, what, i + 1, "step", 0, LUA_MAXINTEGER);
        e->group = (int)int_field(L, s, what, i + 1, "group", 0, 1 << 30);
        e->tokens = (int)int_field(L, s, what, i + 1, "tokens", 0, 1 << 30);
        lua_getfield(L, s, "truncated");
        e->truncated = lua_toboolean(L, -1);
        lua_pop(L, 1);
        e->reward = num_field(L, s, what, i + 1, "reward", 0);
        e->accuracy = num_field(L, s, what, i + 1, "accuracy", 0);
        e->format = num_field(L, s, what, i + 1, "format", 0);
        e->language = num_field(L, s, what, i + 1, "language", 0);
        e->advantage = num_field(L, s, what, i + 1, "advantage", NAN);
        e->prompt = str_field(L, s, what, i + 1, "prompt");
        e->answer = str_field(L, s, what, i + 1, "answer");
        e->completion = str_field(L, s, what, i + 1, "completion");
        lua_pop(L, 1);
    }
    rz_error err = {0};
    if (rz_episodes_append(path, eps, (int)n, &err) != RZ_OK) return lrz_fail(L, what, &err);
    return 0;
}

static void push_episode(lua_State *L, const rz_episode *e)
{
    lua_createtable(L, 0, 12);
    lua_pushinteger(L, e->step), lua_setfield(L, -2, "step");
    lua_pushinteger(L, e->group), lua_setfield(L, -2, "group");
    lua_pushinteger(L, e->tokens), lua_setfield(L, -2, "tokens");
    lua_pushboolean(L, e->truncated), lua_setfield(L, -2, "truncated");
    lua_pushnumber(L, e->reward), lua_setfield(L, -2, "reward");
    lua_pushnumber(L, e->accuracy), lua_setfield(L, -2, "accuracy");
    lua_pushnumber(L, e->format), lua_setfield(L, -2, "format");
    lua_pushnumber(L, e->language), lua_setfield(L, -2, "language");
    if (!isnan(e->advantage)) lua_pushnumber(L, e->advantage), lua_setfield(L, -2, "advantage");
    lua_pushstring(L, e->prompt), lua_setfield(L, -2, "prompt");
    lua_pushstring(L, e->answer), lua_setfield(L, -2, "answer");
    lua_pushstring(L, e->completion), lua_setfield(L, -2, "completion");
}

/* Pushes the episodes of e (only those of step `only` when >= 0) as a Lua array. */
static void push_episodes(lua_State *L, const rz_episodes *e, lua_Integer only)
{
    lua_newtable(L);
    int k = 0;
    for (int i = 0; i < e->count; i++) {
        if (only >= 0 && e->items[i].step != only) continue;
        push_episode(L, &e->items[i]);
        lua_rawseti(L, -2, ++k);
    }
}

/* The parsed log lives in a userdata with __gc while Lua tables are built, so an error
 * (out of memory) in between frees it. */
#define LRZ_EPISODES "rz.episodes"
static int episodes_gc(lua_State *L)
{
    rz_episodes_free(luaL_checkudata(L, 1, LRZ_EPISODES));
    return 0;
}

static rz_episodes *new_episodes(lua_State *L)
{
    rz_episodes *e = lua_newuserdatauv(L, sizeof *e, 0);
    memset(e, 0, sizeof *e);
    if (luaL_newmetatable(L, LRZ_EPISODES)) {
        lua_pushcfunction(L, episodes_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return e;
}

/* rz.episodes_read(path [, {step = N}]) -> {episode, ...} */
static int rz_episodes_read_lua(lua_State *L)
{
    static const char *const fields[] = {"step", NULL};
    const char *path = luaL_checkstring(L, 1);
    lrz_check_fields(L, 2, "rz.episodes_read", fields);
    lua_Integer only = lrz_opt_int(L, 2, "rz.episodes_read", "step", -1, -1, LUA_MAXINTEGER);
    rz_episodes *e = new_episodes(L);
    rz_error err = {0};
    if (rz_episodes_read(e, path, &err) != RZ_OK) return lrz_fail(L, "rz.episodes_read", &err);
    push_episodes(L, e, only);
    rz_episodes_free(e);
    return 1;
}

/* rz.episodes_decode(bytes) -> {episode, ...}: the same reader over a string */
static int rz_episodes_decode_lua(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    rz_episodes *e = new_episodes(L);
    rz_error err = {0};
    if (rz_episodes_parse(e, data, len, "episodes", &err) != RZ_OK) return lrz_fail(L, "rz.episodes_decode", &err);
    push_episodes(L, e, -1);
    rz_episodes_free(e);
    return 1;
}

/* rz.episodes_truncate(path, step): keeps steps <= step (a resumed run) */
static int rz_episodes_truncate_lua(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer step = luaL_checkinteger(L, 2);
    rz_error err = {0};
    if (rz_episodes_truncate(path, step, &err) != RZ_OK) return lrz_fail(L, "rz.episodes_truncate", &err);
    return 0;
}

void lrz_open_run(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"interrupted", rz_interrupted},
        {"rank", rz_rank},
        {"ranks", rz_ranks},
        {"mpi", rz_mpi},
        {"barrier", rz_barrier},
        {"episodes_append", rz_episodes_append_lua},
        {"episodes_read", rz_episodes_read_lua},
        {"episodes_decode", rz_episodes_decode_lua},
        {"episodes_truncate", rz_episodes_truncate_lua},
        {NULL, NULL}};
    luaL_setfuncs(L, funcs, 0);
}

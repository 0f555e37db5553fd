/* lrz_env.c: verifier environments from Lua: list, create, draw items, grade. */
#include <stdlib.h>
#include <string.h>

#include "lrz.h"

lrz_env *lrz_env_check(lua_State *L, int idx)
{
    lrz_env *h = luaL_checkudata(L, idx, LRZ_ENV);
    if (!h->env) luaL_error(L, "rz.env: the environment is closed");
    return h;
}

/* rz.envs() -> { {name=, description=}, ... } */
static int rz_envs(lua_State *L)
{
    const char *names[64];
    int n = rz_envs_list(names, 64);
    if (n > 64) n = 64;
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, names[i]);
        lua_setfield(L, -2, "name");
        const char *d = rz_env_describe(names[i]);
        lua_pushstring(L, d ? d : "");
        lua_setfield(L, -2, "description");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* rz.env(spec [, {seed = 0}]) */
static int env_new(lua_State *L)
{
    static const char *const fields[] = {"seed", NULL};
    const char *spec = luaL_checkstring(L, 1);
    lrz_check_fields(L, 2, "rz.env", fields);
    lua_Integer seed = lrz_opt_int(L, 2, "rz.env", "seed", 0, 0, LUA_MAXINTEGER);
    lrz_env *h = lrz_newhandle(L, sizeof *h, LRZ_ENV);
    h->seed = (uint64_t)seed;
    rz_error err = {0};
    if (rz_env_create(&h->env, spec, &err) != RZ_OK) return lrz_fail(L, "rz.env", &err);
    return 1;
}

int lrz_split_arg(lua_State *L, int idx)
{
    static const char *const splits[] = {"train", "test", NULL};
    return luaL_checkoption(L, idx, NULL, splits) == 0 ? RZ_SPLIT_TRAIN : RZ_SPLIT_TEST;
}

void lrz_push_item(lua_State *L, const rz_item *it)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, it->prompt), lua_setfield(L, -2, "prompt");
    lua_pushstring(L, it->answer), lua_setfield(L, -2, "answer");
    lua_pushinteger(L, (lua_Integer)it->index), lua_setfield(L, -2, "index");
    lua_pushstring(L, it->split == RZ_SPLIT_TEST ? "test" : "train"), lua_setfield(L, -2, "split");
}

/* env:item(split, index [, seed]) -> {prompt=, answer=, index=, split=} */
static int env_item(lua_State *L)
{
    lrz_env *h = lrz_env_check(L, 1);
    int split = lrz_split_arg(L, 2);
    lua_Integer index = luaL_checkinteger(L, 3);
    lua_Integer seed = luaL_optinteger(L, 4, (lua_Integer)h->seed);
    if (index < 0) return luaL_error(L, "env:item: index %I is negative", index);
    rz_item it;
    rz_error err = {0};
    if (rz_env_item(h->env, (uint64_t)seed, split, index, &it, &err) != RZ_OK)
        return lrz_fail(L, "env:item", &err);
    lrz_push_item(L, &it);
    rz_item_free(&it);
    return 1;
}

/* env:held_out(prompt) -> whether that prompt is on the held-out side (any seed's test
 * split holds only such prompts): what generated training data must steer clear of */
static int env_held_out(lua_State *L)
{
    lrz_env *h = lrz_env_check(L, 1);
    size_t len;
    const char *p = luaL_checklstring(L, 2, &len);
    lua_pushboolean(L, rz_env_held_out(h->env, p, len));
    return 1;
}

/* Reads {prompt=, answer=} at idx into an rz_item whose strings the table keeps alive. */
void lrz_read_item(lua_State *L, int idx, rz_item *it, const char *what)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    memset(it, 0, sizeof *it);
    if (lua_getfield(L, idx, "prompt") != LUA_TSTRING)
        luaL_error(L, "%s: the item has no string 'prompt'", what);
    it->prompt = (char *)lua_tostring(L, -1);
    if (lua_getfield(L, idx, "answer") != LUA_TSTRING)
        luaL_error(L, "%s: the item has no string 'answer'", what);
    it->answer = (char *)lua_tostring(L, -1);
    lua_pop(L, 2);
}

void lrz_push_rewards(lua_State *L, const rz_rewards *r)
{
    lua_createtable(L, 0, r->n);
    for (int i = 0; i < r->n; i++) {
        lua_pushnumber(L, r->values[i]);
        lua_setfield(L, -2, r->names[i]);
    }
}

/* env:grade(item, completion) -> {accuracy=, format=, language=} */
static int env_grade(lua_State *L)
{
    lrz_env *h = lrz_env_check(L, 1);
    rz_item it;
    lrz_read_item(L, 2, &it, "env:grade");
    size_t len;
    const char *text = luaL_checklstring(L, 3, &len);
    rz_rewards r;
    if (rz_env_grade(h->env, &it, text, len, &r) != RZ_OK) return luaL_error(L, "env:grade: failed");
    lrz_push_rewards(L, &r);
    return 1;
}

static int env_name(lua_State *L)
{
    lua_pushstring(L, rz_env_name(lrz_env_check(L, 1)->env));
    return 1;
}

static int env_test_size(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)rz_env_test_size(lrz_env_check(L, 1)->env));
    return 1;
}

static int env_gc(lua_State *L)
{
    lrz_env *h = luaL_checkudata(L, 1, LRZ_ENV);
    rz_env_free(h->env);
    h->env = NULL;
    return 0;
}

static int env_tostring(lua_State *L)
{
    lrz_env *h = luaL_checkudata(L, 1, LRZ_ENV);
    if (h->env) lua_pushfstring(L, "rz.env(%s)", rz_env_name(h->env));
    else lua_pushliteral(L, "rz.env (closed)");
    return 1;
}

/* rz.language_mixing(text) -> share of non-ASCII letters */
static int language_mixing(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushnumber(L, rz_language_mixing(s, len));
    return 1;
}

void lrz_open_env(lua_State *L)
{
    static const luaL_Reg methods[] = {{"item", env_item},   {"grade", env_grade},
                                       {"held_out", env_held_out},
                                       {"name", env_name},   {"test_size", env_test_size},
                                       {"close", env_gc},    {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__gc", env_gc}, {"__close", env_gc}, {"__tostring", env_tostring},
                                    {NULL, NULL}};
    lrz_newclass(L, LRZ_ENV, methods, meta);
    lua_pushcfunction(L, env_new);
    lua_setfield(L, -2, "env");
    lua_pushcfunction(L, rz_envs);
    lua_setfield(L, -2, "envs");
    lua_pushcfunction(L, language_mixing);
    lua_setfield(L, -2, "language_mixing");
}

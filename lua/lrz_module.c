/* lrz_module.c: luaopen_rlzero, the module table, and small utilities scripts need
 * (validated experiment configs, JSON, atomic file writes, a monotonic clock). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lrz.h"

int lrz_push_overrides(lua_State *L, char *const *args, int n, char *msg, size_t cap)
{
    lua_newtable(L);
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(args[i], '=');
        if (!eq || eq == args[i]) {
            snprintf(msg, cap, "'%s' is not a key=value override", args[i]);
            lua_pop(L, 1);
            return -1;
        }
        lua_pushlstring(L, args[i], (size_t)(eq - args[i]));
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -3) != LUA_TNIL) {
            snprintf(msg, cap, "override '%s' given twice", lua_tostring(L, -2));
            lua_pop(L, 3);
            return -1;
        }
        lua_pop(L, 1);
        lua_pushstring(L, eq + 1);
        lua_rawset(L, -3);
    }
    return 0;
}

/* rz.config(defaults, overrides [, name]) -> a new table: defaults with overrides applied.
 * Overrides come from the command line as strings (or from Lua as values); each is
 * converted to the type of its default. An unknown key is an error naming it. */
static int rz_config(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *name = luaL_optstring(L, 3, "config");
    lua_newtable(L);
    int out = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, out);
    }
    if (lua_isnoneornil(L, 2)) return 1;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "%s: override keys must be strings", name);
        const char *key = lua_tostring(L, -2);
        lua_getfield(L, 1, key);
        int t = lua_type(L, -1);
        if (t == LUA_TNIL) {
            /* list the allowed keys, sorted, so the message is stable and useful */
            lua_getglobal(L, "table");
            lua_getfield(L, -1, "concat");
            lua_newtable(L);
            int i = 0;
            lua_pushnil(L);
            while (lua_next(L, 1)) {
                lua_pop(L, 1);
                if (lua_type(L, -1) == LUA_TSTRING) {
                    lua_pushvalue(L, -1);
                    lua_rawseti(L, -3, ++i);
                }
            }
            lua_getglobal(L, "table");
            lua_getfield(L, -1, "sort");
            lua_pushvalue(L, -3);
            lua_call(L, 1, 0);
            lua_pop(L, 1);
            lua_pushstring(L, ", ");
            lua_call(L, 2, 1);
            return luaL_error(L, "%s: unknown key '%s' (allowed: %s)", name, key, lua_tostring(L, -1));
        }
        lua_pop(L, 1);
        int vt = lua_type(L, -1);
        if (vt == LUA_TSTRING && t != LUA_TSTRING) {
            const char *s = lua_tostring(L, -1);
            if (t == LUA_TBOOLEAN) {
                if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0) lua_pushboolean(L, 1);
                else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0) lua_pushboolean(L, 0);
                else return luaL_error(L, "%s: '%s' must be true or false, got '%s'", name, key, s);
            } else if (t == LUA_TNUMBER) {
                lua_getfield(L, 1, key);
                int want_int = lua_isinteger(L, -1);
                lua_pop(L, 1);
                if (!lua_stringtonumber(L, s))
                    return luaL_error(L, "%s: '%s' must be a number, got '%s'", name, key, s);
                if (want_int && !lua_isinteger(L, -1)) {
                    lua_Number x = lua_tonumber(L, -1);
                    if (x != floor(x) || !(fabs(x) < 9e15))
                        return luaL_error(L, "%s: '%s' must be an integer, got '%s'", name, key, s);
                    lua_pop(L, 1);
                    lua_pushinteger(L, (lua_Integer)x);
                }
                if (lua_tonumber(L, -1) != lua_tonumber(L, -1))
                    return luaL_error(L, "%s: '%s' is NaN", name, key);
            } else {
                return luaL_error(L, "%s: '%s' cannot be set from the command line", name, key);
            }
            lua_remove(L, -2);
        } else if (vt != t) {
            return luaL_error(L, "%s: '%s' must be a %s, got %s", name, key, lua_typename(L, t),
                              lua_typename(L, vt));
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, out);
    }
    return 1;
}

/* ------------------------------------------------------------------ JSON */

static json_t *to_json(lua_State *L, int idx, int depth);

static int is_array(lua_State *L, int idx, lua_Unsigned *n)
{
    *n = lua_rawlen(L, idx);
    lua_Unsigned count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
    }
    return count == *n;
}

/* Raises every error to_json could meet, before anything is allocated: a luaL_error out of
 * a half-built jansson tree would leak it. */
static void check_json(lua_State *L, int idx, int depth)
{
    if (depth > 64) luaL_error(L, "rz.json: nested too deeply (or a cycle)");
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL: case LUA_TBOOLEAN: case LUA_TNUMBER: return;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_t *j = json_stringn(s, len);
        if (!j) luaL_error(L, "rz.json: a string is not valid UTF-8");
        json_decref(j);
        return;
    }
    case LUA_TTABLE:
        luaL_checkstack(L, 8, "rz.json");
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING && !lua_isinteger(L, -2))
                luaL_error(L, "rz.json: table keys must be strings or integers");
            check_json(L, -1, depth + 1);
            lua_pop(L, 1);
        }
        return;
    default: luaL_error(L, "rz.json: cannot encode a %s", luaL_typename(L, idx));
    }
}

/* Runs after check_json: raises nothing. */
static json_t *to_json(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) return json_integer((json_int_t)lua_tointeger(L, idx));
        /* JSON has no NaN/Inf: write null rather than an invalid document */
        return isfinite(lua_tonumber(L, idx)) ? json_real(lua_tonumber(L, idx)) : json_null();
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return json_stringn(s, len);
    }
    case LUA_TTABLE: {
        lua_Unsigned n;
        luaL_checkstack(L, 8, "rz.json"); /* cannot fail: check_json grew the stack */
        if (is_array(L, idx, &n) && n > 0) {
            json_t *a = json_array();
            for (lua_Unsigned i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, (lua_Integer)i);
                json_array_append_new(a, to_json(L, -1, depth + 1));
                lua_pop(L, 1);
            }
            return a;
        }
        json_t *o = json_object();
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            const char *k = "";
            char num[32];
            if (lua_type(L, -2) == LUA_TSTRING) k = lua_tostring(L, -2);
            else {
                snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -2));
                k = num;
            }
            json_object_set_new(o, k, to_json(L, -1, depth + 1));
            lua_pop(L, 1);
        }
        return o;
    }
    default: return json_null();
    }
}

/* rz.json(value [, {pretty = false}]) -> string; keys sorted so files diff cleanly */
static int rz_json(lua_State *L)
{
    luaL_checkany(L, 1);
    static const char *const fields[] = {"pretty", NULL};
    lrz_check_fields(L, 2, "rz.json", fields);
    int pretty = lrz_opt_bool(L, 2, "rz.json", "pretty", 0);
    check_json(L, 1, 0);
    json_t *j = to_json(L, 1, 0);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9) |
                                (pretty ? JSON_INDENT(2) : JSON_COMPACT));
    json_decref(j);
    if (!s) return luaL_error(L, "rz.json: encoding failed");
    lua_pushstring(L, s);
    free(s);
    return 1;
}

static void push_json(lua_State *L, json_t *j, int depth)
{
    luaL_checkstack(L, 4, "rz.json_decode");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        lua_newtable(L);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            push_json(L, v, depth + 1);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        lua_newtable(L);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            push_json(L, v, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING: lua_pushlstring(L, json_string_value(j), json_string_length(j)); break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(j)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(j)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    default: lua_pushnil(L); break;
    }
}

/* rz.json_decode(string) -> value */
static int rz_json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    json_error_t e;
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY, &e);
    if (!j) return luaL_error(L, "rz.json_decode: %s at line %d, column %d", e.text, e.line, e.column);
    push_json(L, j, 0);
    json_decref(j);
    return 1;
}

/* ------------------------------------------------------------ files, time */

/* rz.write_file(path, data): atomic (temporary file, fsync, rename) */
static int rz_write_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    rz_error err = {0};
    if (rz_write_atomic(path, data, len, &err) != RZ_OK) return lrz_fail(L, "rz.write_file", &err);
    return 0;
}

/* rz.mkdir(path): mkdir -p */
static int rz_mkdir(lua_State *L)
{
    size_t len;
    const char *path = luaL_checklstring(L, 1, &len);
    if (len == 0 || len > 4000) return luaL_error(L, "rz.mkdir: bad path");
    char buf[4096];
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return luaL_error(L, "rz.mkdir: cannot create '%s': %s", buf, strerror(errno));
            *p = c;
            if (c == '\0') break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return luaL_error(L, "rz.mkdir: '%s' exists and is not a directory", path);
    return 0;
}

/* rz.exists(path) -> boolean */
static int rz_exists(lua_State *L)
{
    struct stat st;
    lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0);
    return 1;
}

/* rz.isatty(fd) -> whether fd (1 stdout, 2 stderr) is a terminal */
static int rz_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

/* rz.clock() -> seconds on a monotonic clock */
static int rz_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + 1e-9 * (lua_Number)ts.tv_nsec);
    return 1;
}

/* rz.threads() -> the OpenMP thread count */
static int rz_threads(lua_State *L)
{
    lua_pushinteger(L, rz_max_threads());
    return 1;
}

int luaopen_rlzero(lua_State *L);
int luaopen_rlzero(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"config", rz_config}, {"json", rz_json},   {"json_decode", rz_json_decode},
        {"write_file", rz_write_file}, {"mkdir", rz_mkdir}, {"exists", rz_exists},
        {"clock", rz_clock}, {"isatty", rz_isatty}, {"threads", rz_threads}, {NULL, NULL}};
    lrz_open_tensor(L);
    luaL_newlib(L, funcs);
    lua_pushliteral(L, RZ_VERSION);
    lua_setfield(L, -2, "version");
    lrz_open_model(L);
    lrz_open_env(L);
    lrz_open_grpo(L);
    lrz_open_run(L);
    lrz_open_interop(L);
    lrz_open_game(L);
    return 1;
}

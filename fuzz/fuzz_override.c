/* fuzz_override.c: libFuzzer target for the key=value overrides of the `rlzero` program:
 * the host's split (lrz_push_overrides) and rz.config's conversion to the defaults' types.
 *
 * The input is the command line's overrides, one per line (a NUL also ends one). Either
 * step may refuse them with a message; a config that comes back must have every key of the
 * defaults with its default's type (an integer default stays an integer), and no other key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lrz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int luaopen_rlzero(lua_State *L);

static const char defaults[] =
    "return {steps = 100, seed = 1, lr = 1e-3, fresh = false, out = 'runs/x', name = 'demo',"
    " ratio = 0.5, list = {1, 2}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lua_State *L;
    if (!L) {
        L = luaL_newstate();
        if (!L) abort();
        luaL_openlibs(L);
        luaL_requiref(L, "rlzero", luaopen_rlzero, 0);
        lua_pop(L, 1);
    }
    char *text = malloc(size + 1), *args[16];
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    int n = 0;
    for (char *p = text; n < 16 && p < text + size;) {
        size_t len = strcspn(p, "\n");
        p[len] = '\0';
        args[n++] = p;
        p += len + 1;
    }
    int top = lua_gettop(L);
    char msg[512];
    if (lrz_push_overrides(L, args, n, msg, sizeof msg) != 0) {
        if (lua_gettop(L) != top || !msg[0]) abort();
        free(text);
        return 0;
    }
    int over = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "rlzero");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "config");
    if (luaL_loadstring(L, defaults) != LUA_OK) abort();
    lua_call(L, 0, 1);
    int def = lua_gettop(L);
    lua_pushvalue(L, def);
    lua_pushvalue(L, over);
    if (lua_pcall(L, 2, 1, 0) == LUA_OK) {
        int cfg = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, def)) {
            lua_pushvalue(L, -2);
            lua_gettable(L, cfg);
            if (lua_type(L, -1) != lua_type(L, -2) || lua_isinteger(L, -1) != lua_isinteger(L, -2))
                abort();
            lua_pop(L, 2);
        }
        int extra = 0;
        lua_pushnil(L);
        while (lua_next(L, cfg)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            if (lua_gettable(L, def) == LUA_TNIL) extra = 1;
            lua_pop(L, 1);
        }
        if (extra) abort();
    } else if (!lua_isstring(L, -1)) {
        abort();
    }
    lua_settop(L, top);
    free(text);
    return 0;
}

/* main.c: the `rlzero` program: runs an experiment script with key=value overrides.
 *
 *   rlzero SCRIPT.lua [key=value ...]
 *
 * The script receives the overrides as a table in `...` (and `arg` as in lua5.4); scripts
 * validate them with rz.config(defaults, overrides), which names any unknown key. The run
 * is under lua_pcall with a traceback; any error exits 1 with the message. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lrz.h"

int luaopen_rlzero(lua_State *L);

static void usage(FILE *f)
{
    fputs("usage: rlzero SCRIPT.lua [key=value ...]\n"
          "       rlzero -e 'LUA CODE' [key=value ...]\n"
          "       rlzero --help | --version\n"
          "\n"
          "Runs a Lua experiment script with the rlzero module preloaded (require \"rlzero\").\n"
          "Overrides reach the script as a table in `...`; experiment scripts accept at least\n"
          "out=DIR seed=N steps=N fresh=true, and name any key they do not know.\n"
          "Threads come from OMP_NUM_THREADS.\n"
          "\n"
          "Examples:\n"
          "  rlzero experiments/r1zero.lua\n"
          "  rlzero experiments/r1zero.lua steps=200 seed=2 out=runs/r1zero-s2\n",
          f);
}

/* a traceback message handler, as lua.c's */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* package.path gets, in front: $RLZERO_LUA_PATH; the lua/ folder beside the executable
 * (a build in the source tree); the installed helpers. */
static void set_path(lua_State *L)
{
    int base = lua_gettop(L);
    const char *env = getenv("RLZERO_LUA_PATH");
    if (env && *env) lua_pushfstring(L, "%s/?.lua;", env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 16);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (slash) {
        /* libtool may run us from .libs/: look one level up too */
        strcpy(slash, "/lua");
        if (is_dir(exe)) {
            lua_pushfstring(L, "%s/?.lua;", exe);
        } else if (slash - exe > 6 && strncmp(slash - 6, "/.libs", 6) == 0) {
            strcpy(slash - 6, "/lua");
            if (is_dir(exe)) lua_pushfstring(L, "%s/?.lua;", exe);
        }
    }
    lua_pushstring(L, RZ_LUA_LMODDIR "/?.lua;");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_remove(L, -2);
    lua_concat(L, lua_gettop(L) - base);
    lua_getglobal(L, "package");
    lua_insert(L, -2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rlzero %s\n", RZ_VERSION);
        return 0;
    }
    int code_arg = strcmp(argv[1], "-e") == 0;
    if (code_arg && argc < 3) {
        usage(stderr);
        return 2;
    }
    int first_override = code_arg ? 3 : 2;

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "rlzero: cannot create a Lua state (out of memory)\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "rlzero", luaopen_rlzero, 0);
    lua_pop(L, 1);
    set_path(L);

    /* arg, as lua5.4 sets it: arg[0] the script, arg[1..] the rest */
    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - (first_override - 1));
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, msghandler);
    int status = code_arg ? luaL_loadbuffer(L, argv[2], strlen(argv[2]), "=(command line)")
                          : luaL_loadfile(L, argv[1]);
    if (status != LUA_OK) {
        fprintf(stderr, "rlzero: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    /* overrides: key=value; a malformed one is an error naming it */
    char msg[512];
    if (lrz_push_overrides(L, argv + first_override, argc - first_override, msg, sizeof msg)) {
        fprintf(stderr, "rlzero: %s\n", msg);
        lua_close(L);
        return 2;
    }
    status = lua_pcall(L, 1, 0, 1);
    if (status != LUA_OK) {
        fprintf(stderr, "rlzero: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    lua_close(L);
    return 0;
}

/* main.c: the `rlzero` program: runs an experiment script with key=value overrides.
 *
 *   rlzero SCRIPT.lua [key=value ...]
 *   rlzero episodes RUN_DIR [--step N] [--json]
 *   rlzero report RUN_DIR [--out FILE] [--steps N,M,...]
 *
 * The script receives the overrides as a table in `...` (and `arg` as in lua5.4); scripts
 * validate them with rz.config(defaults, overrides), which names any unknown key. The run
 * is under lua_pcall with a traceback; any error exits 1 with the message.
 *
 * SIGINT and SIGTERM only set a flag (the handler resets itself, so a second Ctrl-C kills
 * at once); scripts poll it through rz.interrupted() / run:should_stop() at step
 * boundaries, write a checkpoint and exit 130 (SIGINT) or 143 (SIGTERM). The subcommands
 * run the Lua modules rlzero.episodes and rlzero.report.
 *
 * Under mpirun (a build configured --with-mpi) every rank runs the script: the trainers
 * split each step's work over the ranks (core/dist.c), rank 0 alone writes files and
 * prints (the others get sinks, set up below), and an error on any rank prints its
 * message with the rank and aborts every rank (MPI_Abort), so that none waits for ever
 * in a collective call. */
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lrz.h"

int luaopen_rlzero(lua_State *L);

/* The one piece of global state: a signal handler can reach nothing else. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static void install_handlers(lua_State *L)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    lua_pushlightuserdata(L, (void *)(uintptr_t)&interrupted);
    lua_setfield(L, LUA_REGISTRYINDEX, LRZ_INTERRUPT_KEY);
}

static void usage(FILE *f)
{
    fputs("usage: rlzero SCRIPT.lua [key=value ...]\n"
          "       rlzero -e 'LUA CODE' [key=value ...]\n"
          "       rlzero episodes RUN_DIR [--step N] [--json]\n"
          "       rlzero report RUN_DIR [--out FILE] [--steps N,M,...]\n"
          "       rlzero --help | --version\n"
          "\n"
          "Runs a Lua experiment script with the rlzero module preloaded (require \"rlzero\").\n"
          "Overrides reach the script as a table in `...`; experiment scripts accept at least\n"
          "out=DIR seed=N steps=N fresh=true, and name any key they do not know.\n"
          "Threads come from OMP_NUM_THREADS. Ctrl-C or SIGTERM stops a training script at\n"
          "the end of its step with a checkpoint (exit 130 or 143); re-run the same command to\n"
          "resume. `episodes` prints a run's episode log (readably, or as JSON lines);\n"
          "`report` writes RUN_DIR/report.html, one self-contained page of plots.\n"
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

/* Ranks other than 0 compute what rank 0 computes but must not write the run directory
 * nor repeat its output: writers become no-ops and write modes of io.open /dev/null.
 * Reading (the checkpoint to resume) is unchanged, so the run directory must be visible
 * to every rank (a shared file system on a cluster). */
static const char rank_sink[] =
    "local rz = require 'rlzero'\n"
    "local function nop() return true end\n"
    "rz.write_file, rz.mkdir, rz.episodes_append, rz.episodes_truncate = nop, nop, nop, nop\n"
    "local reg = debug.getregistry()\n"
    "for _, name in ipairs{'rz.transformer', 'rz.agent', 'rz.selfplay'} do\n"
    "  local mt = reg[name]\n"
    "  if mt and type(mt.__index) == 'table' and mt.__index.save then mt.__index.save = nop end\n"
    "end\n"
    "local open = io.open\n"
    "function io.open(path, mode)\n"
    "  if mode and mode:find('[wa+]') then return open('/dev/null', 'w') end\n"
    "  return open(path, mode)\n"
    "end\n"
    "os.remove, os.rename = nop, nop\n"
    "local sink = assert(open('/dev/null', 'w'))\n"
    "io.output(sink)\n"
    "io.stdout, io.stderr = sink, sink\n"
    "print = nop\n";

static void dist_finalize(void)
{
    rz_dist_finalize();
}

/* mpirun (OpenMPI, or a PMI launcher) says so in the environment; a plain run stays a
 * world of one without touching MPI */
static int under_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

/* An error message; over MPI with the rank, then every rank stops. */
static void fail(const char *msg)
{
    if (rz_dist_size() > 1) {
        fprintf(stderr, "rlzero [rank %d of %d]: %s\n", rz_dist_rank(), rz_dist_size(), msg);
        fflush(stderr);
        rz_dist_abort(1);
    } else {
        fprintf(stderr, "rlzero: %s\n", msg);
    }
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "rlzero: cannot create a Lua state (out of memory)\n");
        return NULL;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "rlzero", luaopen_rlzero, 0);
    lua_pop(L, 1);
    set_path(L);
    return L;
}

/* `rlzero episodes|report ARGS...`: require("rlzero.NAME").main(ARGS...) returns the exit
 * status; an error (a missing run directory, a corrupt log) exits 1 with its message. */
static int run_subcommand(const char *name, int argc, char **argv)
{
    lua_State *L = new_state();
    if (!L) return 1;
    lua_pushcfunction(L, msghandler);
    lua_getglobal(L, "require");
    lua_pushfstring(L, "rlzero.%s", name);
    int status = lua_pcall(L, 1, 1, 1);
    if (status == LUA_OK) {
        lua_getfield(L, -1, "main");
        lua_remove(L, -2);
        for (int i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
        /* the modules report user errors themselves; a traceback is for their bugs */
        status = lua_pcall(L, argc, 1, 1);
    }
    int code = 1;
    if (status != LUA_OK) fprintf(stderr, "rlzero %s: %s\n", name, lua_tostring(L, -1));
    else code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    lua_close(L);
    return code;
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
    const char *sub = strcmp(argv[1], "episodes") == 0 ? "episodes"
                    : strcmp(argv[1], "report") == 0   ? "report"
                                                       : NULL;
    if (code_arg && argc < 3) {
        usage(stderr);
        return 2;
    }
    int first_override = code_arg ? 3 : 2;
    if (sub) return run_subcommand(sub, argc - 2, argv + 2);

    if (under_mpirun()) {
        rz_error err = {0};
        if (rz_dist_init(&argc, &argv, &err) != RZ_OK) {
            fprintf(stderr, "rlzero: %s\n", err.msg);
            return 1;
        }
        /* os.exit (a stopped run) ends every rank the same way */
        atexit(dist_finalize);
    }
    lua_State *L = new_state();
    if (!L) {
        rz_dist_abort(1);
        return 1;
    }
    install_handlers(L);
    if (rz_dist_rank() > 0 && luaL_dostring(L, rank_sink) != LUA_OK) {
        fail(lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }

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
        fail(lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    /* overrides: key=value; a malformed one is an error naming it */
    char msg[512];
    if (lrz_push_overrides(L, argv + first_override, argc - first_override, msg, sizeof msg)) {
        fail(msg);
        lua_close(L);
        return 2;
    }
    status = lua_pcall(L, 1, 0, 1);
    if (status != LUA_OK) {
        fail(lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    lua_close(L);
    return 0;
}

/* lrz.h: shared pieces of the Lua binding (the only part of rlzero that knows Lua).
 *
 * Pattern (from liolib.c): a handle is a full userdata created "closed" (NULL pointer)
 * before the C object is built, so an error while building leaves nothing half-made;
 * every method checks its self with luaL_checkudata and refuses a closed handle. Errors
 * from the core (rz_error) become Lua errors through lrz_fail, never the message as a
 * format string. Arguments are validated before anything is allocated. */
#ifndef LRZ_H
#define LRZ_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "rlzero.h"

/* Raises a Lua error "what: message" from a core status. Never returns. */
int lrz_fail(lua_State *L, const char *what, const rz_error *err);

/* ---- config tables: every field checked, unknown fields refused ---- */

/* Refuses any key of the table at idx not in allowed (NULL-terminated), naming it and the
 * allowed ones: "rz.transformer: unknown field 'dimm' (allowed: vocab, dim, ...)". A
 * non-table at idx (other than nil/none when optional) is an error too. */
void lrz_check_fields(lua_State *L, int idx, const char *what, const char *const *allowed);
/* Typed optional fields with ranges; NaN, fractions for integers and wrong types refused. */
lua_Integer lrz_opt_int(lua_State *L, int idx, const char *what, const char *field,
                        lua_Integer def, lua_Integer lo, lua_Integer hi);
lua_Number lrz_opt_num(lua_State *L, int idx, const char *what, const char *field, lua_Number def,
                       lua_Number lo, lua_Number hi);
int lrz_opt_bool(lua_State *L, int idx, const char *what, const char *field, int def);
const char *lrz_opt_str(lua_State *L, int idx, const char *what, const char *field,
                        const char *def);
/* A string field that must be one of choices; returns its index. */
int lrz_opt_enum(lua_State *L, int idx, const char *what, const char *field, const char *def,
                 const char *const *choices);
/* The AdamW fields (lr, beta1, beta2, eps, weight_decay, grad_clip, warmup, total_steps,
 * min_lr_ratio) of the table at idx, each defaulting to c's value. */
void lrz_opt_adamw(lua_State *L, int idx, const char *what, rz_adamw_config *c);
/* Pushes field `field` of the table at idx (or nil when idx is not a table). */
int lrz_getfield(lua_State *L, int idx, const char *field);

/* ---- command-line overrides ---- */

/* Pushes a table {key = "value"} of the key=value arguments args[0..n) and returns 0. A
 * malformed one (no '=', or an empty key) or a repeated key pushes nothing, writes the
 * message ("'ARG' is not a key=value override", "override 'KEY' given twice") into msg
 * and returns -1. The values are strings; rz.config converts them to their defaults' types. */
int lrz_push_overrides(lua_State *L, char *const *args, int n, char *msg, size_t cap);

/* ---- handles ---- */

/* Creates a closed handle of metatable tname with `size` bytes, zeroed; pushes it. */
void *lrz_newhandle(lua_State *L, size_t size, const char *tname);
/* Registers a metatable: methods in __index, plus __name for messages. */
void lrz_newclass(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *meta);

/* ---- tensors: float arrays with a shape, indexable from Lua ---- */

typedef struct lrz_buf lrz_buf;
typedef struct {
    lrz_buf *buf; /* shared, refcounted storage */
    float *data;  /* start of this view */
    int ndim;
    int shape[RZ_MAX_DIMS];
} lrz_tensor;

#define LRZ_TENSOR "rz.tensor"
/* Pushes a new tensor of the given shape (zeroed) and returns its data. */
float *lrz_tensor_new(lua_State *L, int ndim, const int *shape);
lrz_tensor *lrz_tensor_check(lua_State *L, int idx);
void lrz_open_tensor(lua_State *L);

/* ---- token arrays from Lua tables ---- */

/* Reads a table of B tables of T integers (or one flat table, B = 1) into a malloc'd
 * (B, T) array in 0-based ids; every row must have the same length, every id in [0, V). */
int *lrz_read_tokens(lua_State *L, int idx, const char *what, int V, int *B, int *T);

/* ---- class openers (one per binding file) ---- */
void lrz_open_model(lua_State *L);
void lrz_open_env(lua_State *L);
void lrz_open_grpo(lua_State *L);
void lrz_open_game(lua_State *L);
/* rz.interrupted and the episode log (lrz_run.c); model:export and rz.import (lrz_interop.c) */
void lrz_open_run(lua_State *L);
void lrz_open_interop(lua_State *L);
/* the registry field where the host program leaves a pointer to its signal flag
 * (a volatile sig_atomic_t holding the signal number, 0 when none came) */
#define LRZ_INTERRUPT_KEY "rlzero.interrupt"

/* Handles that other bindings need to reach. */
#define LRZ_TOKENIZER "rz.tokenizer"
#define LRZ_TRANSFORMER "rz.transformer"
#define LRZ_ADAMW "rz.adamw"

typedef struct {
    rz_tokenizer *tok;
} lrz_tokenizer;

typedef struct {
    rz_transformer *m;
    int tok_ref; /* registry reference to the attached tokenizer handle, or LUA_NOREF */
    long step;   /* optimizer steps applied */
} lrz_transformer;

lrz_tokenizer *lrz_tokenizer_check(lua_State *L, int idx);
lrz_transformer *lrz_transformer_check(lua_State *L, int idx);
/* Pushes the tokenizer attached to a model (or nil). */
int lrz_transformer_push_tokenizer(lua_State *L, lrz_transformer *h);
/* Writes m (with tok when not NULL, the AdamW moments when with_opt) to path as a
 * checkpoint; a non-finite value is a Lua error naming the tensor and nothing is written;
 * a failed write is a Lua error that names `what` and leaves path as it was. Returns 0. */
int lrz_save_transformer(lua_State *L, const char *what, const char *path, rz_transformer *m,
                         rz_tokenizer *tok, int with_opt, long step, const char *extra,
                         size_t extra_len);

#define LRZ_ENV "rz.env"
typedef struct {
    rz_env *env;
    uint64_t seed; /* items are drawn from (seed, split, index) */
} lrz_env;
lrz_env *lrz_env_check(lua_State *L, int idx);
int lrz_split_arg(lua_State *L, int idx); /* "train" | "test" */
void lrz_push_item(lua_State *L, const rz_item *it);
void lrz_read_item(lua_State *L, int idx, rz_item *it, const char *what);
void lrz_push_rewards(lua_State *L, const rz_rewards *r);

#endif

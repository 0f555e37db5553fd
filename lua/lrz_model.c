/* lrz_model.c: tokenizers, transformers, AdamW and checkpoints from Lua. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrz.h"

/* ---------------------------------------------------------------- tokenizer */

lrz_tokenizer *lrz_tokenizer_check(lua_State *L, int idx)
{
    lrz_tokenizer *h = luaL_checkudata(L, idx, LRZ_TOKENIZER);
    if (!h->tok) luaL_error(L, "rz.tokenizer: the tokenizer is closed");
    return h;
}

/* rz.tokenizer.chars{alphabet = "...", specials = {"<think>", ...}} */
static int tokenizer_chars(lua_State *L)
{
    static const char *const fields[] = {"alphabet", "specials", NULL};
    const char *what = "rz.tokenizer.chars";
    luaL_checktype(L, 1, LUA_TTABLE);
    lrz_check_fields(L, 1, what, fields);
    const char *alphabet = lrz_opt_str(L, 1, what, "alphabet", NULL);
    if (!alphabet) return luaL_error(L, "%s: field 'alphabet' is required", what);
    int n = 0;
    const char *specials[256];
    if (lua_getfield(L, 1, "specials") != LUA_TNIL) {
        if (!lua_istable(L, -1))
            return luaL_error(L, "%s: field 'specials' must be a table of strings", what);
        lua_Unsigned len = lua_rawlen(L, -1);
        if (len > 256) return luaL_error(L, "%s: more than 256 specials", what);
        for (lua_Unsigned i = 1; i <= len; i++) {
            if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING)
                return luaL_error(L, "%s: specials[%d] must be a string", what, (int)i);
            specials[n++] = lua_tostring(L, -1);
            lua_pop(L, 1); /* the specials table keeps the string alive */
        }
    }
    lrz_tokenizer *h = lrz_newhandle(L, sizeof *h, LRZ_TOKENIZER);
    rz_error err = {0};
    if (rz_tokenizer_chars(&h->tok, alphabet, specials, n, &err) != RZ_OK) return lrz_fail(L, what, &err);
    return 1;
}

static int tokenizer_size(lua_State *L)
{
    lua_pushinteger(L, rz_tokenizer_size(lrz_tokenizer_check(L, 1)->tok));
    return 1;
}

/* tok:encode(text) -> {ids...} */
static int tokenizer_encode(lua_State *L)
{
    rz_tokenizer *tok = lrz_tokenizer_check(L, 1)->tok;
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    if (len > (1u << 30)) return luaL_error(L, "tokenizer:encode: text of %d bytes is too long", (int)len);
    int *ids = lua_newuserdatauv(L, (len + 1) * sizeof(int), 0);
    int n = 0;
    rz_error err = {0};
    if (rz_tokenizer_encode(tok, text, len, ids, (int)len + 1, &n, &err) != RZ_OK)
        return lrz_fail(L, "tokenizer:encode", &err);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, ids[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* tok:decode{ids...} -> text */
static int tokenizer_decode(lua_State *L)
{
    rz_tokenizer *tok = lrz_tokenizer_check(L, 1)->tok;
    int B, T;
    int *ids = lrz_read_tokens(L, 2, "tokenizer:decode", rz_tokenizer_size(tok), &B, &T);
    if (B != 1) return luaL_error(L, "tokenizer:decode: expected one flat table of ids");
    char *text = NULL;
    size_t len = 0;
    rz_error err = {0};
    if (rz_tokenizer_decode(tok, ids, T, &text, &len, &err) != RZ_OK)
        return lrz_fail(L, "tokenizer:decode", &err);
    lua_pushlstring(L, text, len);
    free(text);
    return 1;
}

/* tok:id(piece) -> id or nil; tok:piece(id) -> string or nil */
static int tokenizer_id(lua_State *L)
{
    int id = rz_tokenizer_id(lrz_tokenizer_check(L, 1)->tok, luaL_checkstring(L, 2));
    if (id < 0) lua_pushnil(L);
    else lua_pushinteger(L, id);
    return 1;
}

static int tokenizer_piece(lua_State *L)
{
    rz_tokenizer *tok = lrz_tokenizer_check(L, 1)->tok;
    lua_Integer id = luaL_checkinteger(L, 2);
    const char *p = id >= 0 && id < rz_tokenizer_size(tok) ? rz_tokenizer_piece(tok, (int)id) : NULL;
    if (p) lua_pushstring(L, p);
    else lua_pushnil(L);
    return 1;
}

static int tokenizer_gc(lua_State *L)
{
    lrz_tokenizer *h = luaL_checkudata(L, 1, LRZ_TOKENIZER);
    rz_tokenizer_free(h->tok);
    h->tok = NULL;
    return 0;
}

static int tokenizer_tostring(lua_State *L)
{
    lrz_tokenizer *h = luaL_checkudata(L, 1, LRZ_TOKENIZER);
    if (h->tok) lua_pushfstring(L, "rz.tokenizer(%d tokens)", rz_tokenizer_size(h->tok));
    else lua_pushliteral(L, "rz.tokenizer (closed)");
    return 1;
}

/* -------------------------------------------------------------- transformer */

lrz_transformer *lrz_transformer_check(lua_State *L, int idx)
{
    lrz_transformer *h = luaL_checkudata(L, idx, LRZ_TRANSFORMER);
    if (!h->m) luaL_error(L, "rz.transformer: the model is closed");
    return h;
}

int lrz_transformer_push_tokenizer(lua_State *L, lrz_transformer *h)
{
    if (h->tok_ref == LUA_NOREF || h->tok_ref == 0) lua_pushnil(L);
    else lua_rawgeti(L, LUA_REGISTRYINDEX, h->tok_ref);
    return 1;
}

static void attach_tokenizer(lua_State *L, lrz_transformer *h, int tok_idx)
{
    if (h->tok_ref > 0) luaL_unref(L, LUA_REGISTRYINDEX, h->tok_ref);
    lua_pushvalue(L, tok_idx);
    h->tok_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* rz.transformer{vocab=, dim=, layers=, heads=, hidden=, context=, tied=, rope_theta=,
 *                norm_eps=, seed=, tokenizer=} */
static int transformer_new(lua_State *L)
{
    static const char *const fields[] = {"vocab", "dim", "layers", "heads", "hidden", "context",
                                         "tied", "rope_theta", "norm_eps", "seed", "tokenizer", NULL};
    const char *what = "rz.transformer";
    luaL_checktype(L, 1, LUA_TTABLE);
    lrz_check_fields(L, 1, what, fields);
    rz_transformer_config cfg;
    rz_transformer_config_default(&cfg);
    int tok_idx = 0;
    if (lua_getfield(L, 1, "tokenizer") != LUA_TNIL) {
        lrz_tokenizer_check(L, -1);
        tok_idx = lua_gettop(L);
        cfg.vocab = rz_tokenizer_size(lrz_tokenizer_check(L, tok_idx)->tok);
    }
    cfg.vocab = (int)lrz_opt_int(L, 1, what, "vocab", tok_idx ? cfg.vocab : 0, 1, 1 << 20);
    if (tok_idx && cfg.vocab < rz_tokenizer_size(lrz_tokenizer_check(L, tok_idx)->tok))
        return luaL_error(L, "%s: field 'vocab' = %d is smaller than the tokenizer's %d tokens", what,
                          cfg.vocab, rz_tokenizer_size(lrz_tokenizer_check(L, tok_idx)->tok));
    cfg.dim = (int)lrz_opt_int(L, 1, what, "dim", cfg.dim, 2, 1 << 16);
    cfg.layers = (int)lrz_opt_int(L, 1, what, "layers", cfg.layers, 1, 1024);
    cfg.heads = (int)lrz_opt_int(L, 1, what, "heads", cfg.heads, 1, 1024);
    cfg.hidden = (int)lrz_opt_int(L, 1, what, "hidden", 0, 0, 1 << 18);
    cfg.context = (int)lrz_opt_int(L, 1, what, "context", cfg.context, 2, 1 << 16);
    cfg.tied = lrz_opt_bool(L, 1, what, "tied", cfg.tied);
    cfg.rope_theta = (float)lrz_opt_num(L, 1, what, "rope_theta", cfg.rope_theta, 1e-3, 1e9);
    cfg.norm_eps = (float)lrz_opt_num(L, 1, what, "norm_eps", cfg.norm_eps, 1e-12, 1.0);
    lua_Integer seed = lrz_opt_int(L, 1, what, "seed", 1, 0, LUA_MAXINTEGER);
    rz_error err = {0};
    if (rz_transformer_config_check(&cfg, &err) != RZ_OK) return lrz_fail(L, what, &err);
    lrz_transformer *h = lrz_newhandle(L, sizeof *h, LRZ_TRANSFORMER);
    h->tok_ref = LUA_NOREF;
    if (rz_transformer_create(&h->m, &cfg, (uint64_t)seed, &err) != RZ_OK) return lrz_fail(L, what, &err);
    if (tok_idx) attach_tokenizer(L, h, tok_idx);
    return 1;
}

static int transformer_gc(lua_State *L)
{
    lrz_transformer *h = luaL_checkudata(L, 1, LRZ_TRANSFORMER);
    rz_transformer_free(h->m);
    h->m = NULL;
    if (h->tok_ref > 0) luaL_unref(L, LUA_REGISTRYINDEX, h->tok_ref);
    h->tok_ref = LUA_NOREF;
    return 0;
}

static int transformer_tostring(lua_State *L)
{
    lrz_transformer *h = luaL_checkudata(L, 1, LRZ_TRANSFORMER);
    if (!h->m) {
        lua_pushliteral(L, "rz.transformer (closed)");
        return 1;
    }
    const rz_transformer_config *c = rz_transformer_cfg(h->m);
    lua_pushfstring(L, "rz.transformer(vocab=%d, dim=%d, layers=%d, heads=%d, hidden=%d, context=%d, %I params)",
                    c->vocab, c->dim, c->layers, c->heads, c->hidden, c->context,
                    (lua_Integer)rz_transformer_params(h->m)->numel);
    return 1;
}

/* model:forward(tokens) -> logits tensor (B, T, V) */
static int transformer_forward(lua_State *L)
{
    lrz_transformer *h = lrz_transformer_check(L, 1);
    const rz_transformer_config *c = rz_transformer_cfg(h->m);
    int B, T;
    int *tokens = lrz_read_tokens(L, 2, "model:forward", c->vocab, &B, &T);
    rz_error err = {0};
    if (rz_transformer_forward(h->m, tokens, B, T, &err) != RZ_OK) return lrz_fail(L, "model:forward", &err);
    int shape[3] = {B, T, c->vocab};
    float *out = lrz_tensor_new(L, 3, shape);
    memcpy(out, rz_transformer_logits(h->m), (size_t)B * T * c->vocab * sizeof(float));
    return 1;
}

/* model:loss(tokens, targets [, weights [, {backward = false}]]) -> mean weighted CE */
static int transformer_loss(lua_State *L)
{
    static const char *const fields[] = {"backward", NULL};
    lrz_transformer *h = lrz_transformer_check(L, 1);
    const rz_transformer_config *c = rz_transformer_cfg(h->m);
    lrz_check_fields(L, 5, "model:loss", fields);
    int backward = lrz_opt_bool(L, 5, "model:loss", "backward", 0);
    int B, T, B2, T2;
    int *tokens = lrz_read_tokens(L, 2, "model:loss (tokens)", c->vocab, &B, &T);
    int *targets = lrz_read_tokens(L, 3, "model:loss (targets)", c->vocab, &B2, &T2);
    if (B2 != B || T2 != T)
        return luaL_error(L, "model:loss: targets are %dx%d, tokens %dx%d", B2, T2, B, T);
    float *w = lua_newuserdatauv(L, (size_t)B * T * sizeof(float), 0);
    for (int i = 0; i < B * T; i++) w[i] = 1.0f;
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        for (int b = 0; b < B; b++) {
            int row = B > 1 || lua_rawgeti(L, 4, 1) == LUA_TTABLE;
            if (B == 1) lua_pop(L, 1);
            if (row) lua_rawgeti(L, 4, b + 1);
            else lua_pushvalue(L, 4);
            if (!lua_istable(L, -1)) return luaL_error(L, "model:loss: weights row %d is not a table", b + 1);
            for (int t = 0; t < T; t++) {
                lua_rawgeti(L, -1, t + 1);
                int isnum = 0;
                lua_Number x = lua_tonumberx(L, -1, &isnum);
                if (!isnum || !(x >= 0) || x != x || x > 1e30)
                    return luaL_error(L, "model:loss: weight (%d, %d) must be a finite number >= 0", b + 1, t + 1);
                w[b * T + t] = (float)x;
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
    }
    float loss = 0;
    rz_error err = {0};
    if (rz_transformer_loss(h->m, tokens, targets, w, B, T, backward, &loss, &err) != RZ_OK)
        return lrz_fail(L, "model:loss", &err);
    lua_pushnumber(L, loss);
    return 1;
}

static int transformer_zero_grad(lua_State *L)
{
    rz_params_zero_grad(rz_transformer_params(lrz_transformer_check(L, 1)->m));
    return 0;
}

static int transformer_nparams(lua_State *L)
{
    const rz_params *p = rz_transformer_params(lrz_transformer_check(L, 1)->m);
    size_t n = 0;
    for (int i = 0; i < p->count; i++) n += p->tensors[i].numel;
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static int transformer_config(lua_State *L)
{
    const rz_transformer_config *c = rz_transformer_cfg(lrz_transformer_check(L, 1)->m);
    lua_createtable(L, 0, 9);
    lua_pushinteger(L, c->vocab), lua_setfield(L, -2, "vocab");
    lua_pushinteger(L, c->dim), lua_setfield(L, -2, "dim");
    lua_pushinteger(L, c->layers), lua_setfield(L, -2, "layers");
    lua_pushinteger(L, c->heads), lua_setfield(L, -2, "heads");
    lua_pushinteger(L, c->hidden), lua_setfield(L, -2, "hidden");
    lua_pushinteger(L, c->context), lua_setfield(L, -2, "context");
    lua_pushboolean(L, c->tied), lua_setfield(L, -2, "tied");
    lua_pushnumber(L, c->rope_theta), lua_setfield(L, -2, "rope_theta");
    lua_pushnumber(L, c->norm_eps), lua_setfield(L, -2, "norm_eps");
    return 1;
}

/* model:tensors() -> {{name=, shape={...}, numel=}, ...} in layout order */
static int transformer_tensors(lua_State *L)
{
    const rz_params *p = rz_transformer_params(lrz_transformer_check(L, 1)->m);
    lua_createtable(L, p->count, 0);
    for (int i = 0; i < p->count; i++) {
        const rz_tensor *t = &p->tensors[i];
        lua_createtable(L, 0, 3);
        lua_pushstring(L, t->name), lua_setfield(L, -2, "name");
        lua_createtable(L, t->ndim, 0);
        for (int d = 0; d < t->ndim; d++) lua_pushinteger(L, t->shape[d]), lua_rawseti(L, -2, d + 1);
        lua_setfield(L, -2, "shape");
        lua_pushinteger(L, (lua_Integer)t->numel), lua_setfield(L, -2, "numel");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int transformer_tokenizer(lua_State *L)
{
    lrz_transformer *h = lrz_transformer_check(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        rz_tokenizer *tok = lrz_tokenizer_check(L, 2)->tok;
        if (rz_tokenizer_size(tok) > rz_transformer_cfg(h->m)->vocab)
            return luaL_error(L, "model:tokenizer: the tokenizer has %d tokens, the model's vocab is %d",
                              rz_tokenizer_size(tok), rz_transformer_cfg(h->m)->vocab);
        attach_tokenizer(L, h, 2);
    }
    return lrz_transformer_push_tokenizer(L, h);
}

static int transformer_step(lua_State *L)
{
    lua_pushinteger(L, lrz_transformer_check(L, 1)->step);
    return 1;
}

/* model:save(path [, {extra = string, optimizer = true}]) */
static int transformer_save(lua_State *L)
{
    static const char *const fields[] = {"extra", "optimizer", NULL};
    lrz_transformer *h = lrz_transformer_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    lrz_check_fields(L, 3, "model:save", fields);
    size_t extra_len = 0;
    const char *extra = NULL;
    if (lrz_getfield(L, 3, "extra") != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "model:save: field 'extra' must be a string");
        extra = lua_tolstring(L, -1, &extra_len);
    }
    int with_opt = lrz_opt_bool(L, 3, "model:save", "optimizer", 1);
    rz_tokenizer *tok = NULL;
    if (h->tok_ref > 0) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, h->tok_ref);
        tok = lrz_tokenizer_check(L, -1)->tok;
    }
    return lrz_save_transformer(L, "model:save", path, h->m, tok, with_opt, h->step, extra, extra_len);
}

int lrz_save_transformer(lua_State *L, const char *what, const char *path, rz_transformer *m,
                         rz_tokenizer *tok, int with_opt, long step, const char *extra,
                         size_t extra_len)
{
    /* a non-finite value never reaches a checkpoint: the previous file stays as it was */
    const rz_params *params = rz_transformer_params(m);
    const char *bad = rz_params_nonfinite(params, params->param);
    if (!bad && with_opt) bad = rz_params_nonfinite(params, params->m);
    if (!bad && with_opt) bad = rz_params_nonfinite(params, params->v);
    if (bad) return luaL_error(L, "%s: %s: tensor '%s' holds a non-finite value; not written", what, path, bad);
    rz_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    strcpy(ck.kind, "transformer");
    ck.transformer = *rz_transformer_cfg(m);
    ck.tokenizer = tok;
    ck.params = rz_transformer_params(m);
    ck.with_optimizer = with_opt;
    ck.step = step;
    rz_rng_seed(&ck.rng, 0);
    ck.extra = (void *)extra;
    ck.extra_len = extra_len;
    rz_error err = {0};
    if (rz_checkpoint_save(path, &ck, &err) != RZ_OK) return lrz_fail(L, what, &err);
    return 0;
}

/* rz.load(path) -> model, info {step=, kind=, extra=} */
static int rz_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    rz_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    rz_error err = {0};
    if (rz_checkpoint_load(path, &ck, &err) != RZ_OK) return lrz_fail(L, "rz.load", &err);
    if (strcmp(ck.kind, "transformer") != 0) {
        rz_checkpoint_release(&ck);
        return luaL_error(L, "rz.load: '%s' holds a %s; only transformers load here so far", path, ck.kind);
    }
    /* the handle is made closed first: an error below leaves nothing half-built */
    lrz_transformer *h = lrz_newhandle(L, sizeof *h, LRZ_TRANSFORMER);
    h->tok_ref = LUA_NOREF;
    int rc = rz_transformer_create(&h->m, &ck.transformer, 0, &err);
    if (rc == RZ_OK) rc = rz_params_copy_from(rz_transformer_params(h->m), ck.params, ck.with_optimizer, &err);
    if (rc != RZ_OK) {
        rz_checkpoint_release(&ck);
        return lrz_fail(L, "rz.load", &err);
    }
    h->step = (long)ck.step;
    int model_idx = lua_gettop(L);
    if (ck.tokenizer) {
        lrz_tokenizer *th = lrz_newhandle(L, sizeof *th, LRZ_TOKENIZER);
        th->tok = ck.tokenizer;
        ck.tokenizer = NULL;
        attach_tokenizer(L, h, -1);
        lua_pop(L, 1);
    }
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, ck.step), lua_setfield(L, -2, "step");
    lua_pushstring(L, ck.kind), lua_setfield(L, -2, "kind");
    lua_pushlstring(L, ck.extra ? ck.extra : "", ck.extra_len), lua_setfield(L, -2, "extra");
    rz_checkpoint_release(&ck);
    lua_pushvalue(L, model_idx);
    lua_insert(L, -2);
    return 2;
}

/* -------------------------------------------------------------------- adamw */

typedef struct {
    rz_adamw_config cfg;
    int model_ref;
} lrz_adamw;

static const char *const adamw_fields[] = {"lr", "beta1", "beta2", "eps", "weight_decay",
                                           "grad_clip", "warmup", "total_steps", "min_lr_ratio",
                                           NULL};

void lrz_opt_adamw(lua_State *L, int idx, const char *what, rz_adamw_config *c)
{
    c->lr = (float)lrz_opt_num(L, idx, what, "lr", c->lr, 0, 10);
    c->beta1 = (float)lrz_opt_num(L, idx, what, "beta1", c->beta1, 0, 0.999999);
    c->beta2 = (float)lrz_opt_num(L, idx, what, "beta2", c->beta2, 0, 0.999999999);
    c->eps = (float)lrz_opt_num(L, idx, what, "eps", c->eps, 1e-30, 1);
    c->weight_decay = (float)lrz_opt_num(L, idx, what, "weight_decay", c->weight_decay, 0, 10);
    c->grad_clip = (float)lrz_opt_num(L, idx, what, "grad_clip", c->grad_clip, 0, 1e30);
    c->warmup = (int)lrz_opt_int(L, idx, what, "warmup", c->warmup, 0, 1 << 30);
    c->total_steps = (int)lrz_opt_int(L, idx, what, "total_steps", c->total_steps, 0, 1 << 30);
    c->min_lr_ratio = (float)lrz_opt_num(L, idx, what, "min_lr_ratio", c->min_lr_ratio, 0, 1);
}

static void read_adamw(lua_State *L, int idx, rz_adamw_config *c, const char *what)
{
    lrz_check_fields(L, idx, what, adamw_fields);
    lrz_opt_adamw(L, idx, what, c);
}

/* rz.adamw(model, {lr=, ...}) */
static int adamw_new(lua_State *L)
{
    lrz_transformer_check(L, 1);
    rz_adamw_config cfg;
    rz_adamw_config_default(&cfg);
    read_adamw(L, 2, &cfg, "rz.adamw");
    lrz_adamw *o = lrz_newhandle(L, sizeof *o, LRZ_ADAMW);
    o->cfg = cfg;
    lua_pushvalue(L, 1);
    o->model_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 1;
}

static lrz_adamw *adamw_check(lua_State *L, int idx)
{
    lrz_adamw *o = luaL_checkudata(L, idx, LRZ_ADAMW);
    if (o->model_ref <= 0) luaL_error(L, "rz.adamw: the optimizer is closed");
    return o;
}

static lrz_transformer *adamw_model(lua_State *L, lrz_adamw *o)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, o->model_ref);
    lrz_transformer *h = lrz_transformer_check(L, -1);
    lua_pop(L, 1); /* the registry keeps the model alive */
    return h;
}

/* opt:step() -> grad_norm, lr: one update from the model's accumulated gradients */
static int adamw_step(lua_State *L)
{
    lrz_adamw *o = adamw_check(L, 1);
    lrz_transformer *h = adamw_model(L, o);
    float gnorm = 0;
    rz_error err = {0};
    float lr = rz_adamw_lr(&o->cfg, h->step);
    if (rz_adamw_step(rz_transformer_params(h->m), &o->cfg, h->step, &gnorm, &err) != RZ_OK)
        return lrz_fail(L, "optimizer:step", &err);
    h->step++;
    lua_pushnumber(L, gnorm);
    lua_pushnumber(L, lr);
    return 2;
}

/* opt:lr([step]) -> the scheduled learning rate */
static int adamw_lr(lua_State *L)
{
    lrz_adamw *o = adamw_check(L, 1);
    lua_Integer step = luaL_optinteger(L, 2, adamw_model(L, o)->step);
    lua_pushnumber(L, rz_adamw_lr(&o->cfg, (long)step));
    return 1;
}

/* opt:set{lr = ...}: change knobs mid-run (e.g. a new phase) */
static int adamw_set(lua_State *L)
{
    lrz_adamw *o = adamw_check(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    rz_adamw_config c = o->cfg;
    read_adamw(L, 2, &c, "optimizer:set");
    o->cfg = c;
    return 0;
}

/* opt:sft{prompts = {...} or nil, completions = {...}, truncate = false} -> loss, grad_norm, tokens
 * One supervised step in C: pack, forward, backward, update. */
static int adamw_sft(lua_State *L)
{
    static const char *const fields[] = {"prompts", "completions", "truncate", "skip_nonfinite", NULL};
    const char *what = "optimizer:sft";
    lrz_adamw *o = adamw_check(L, 1);
    lrz_transformer *h = adamw_model(L, o);
    luaL_checktype(L, 2, LUA_TTABLE);
    lrz_check_fields(L, 2, what, fields);
    int truncate = lrz_opt_bool(L, 2, what, "truncate", 0);
    int skip_nonfinite = lrz_opt_bool(L, 2, what, "skip_nonfinite", 0);
    lrz_transformer_push_tokenizer(L, h);
    if (lua_isnil(L, -1)) return luaL_error(L, "%s: the model has no tokenizer (model:tokenizer(tok))", what);
    rz_tokenizer *tok = lrz_tokenizer_check(L, -1)->tok;
    if (lua_getfield(L, 2, "completions") != LUA_TTABLE)
        return luaL_error(L, "%s: field 'completions' must be a table of strings", what);
    int comp_idx = lua_gettop(L);
    int n = (int)lua_rawlen(L, comp_idx);
    if (n <= 0 || n > (1 << 20)) return luaL_error(L, "%s: 'completions' is empty or too large", what);
    int prompts_idx = 0;
    if (lua_getfield(L, 2, "prompts") != LUA_TNIL) {
        if (!lua_istable(L, -1) || (int)lua_rawlen(L, -1) != n)
            return luaL_error(L, "%s: field 'prompts' must be a table of %d strings, like 'completions'", what, n);
        prompts_idx = lua_gettop(L);
    }
    const char **prompts = lua_newuserdatauv(L, (size_t)n * sizeof *prompts, 0);
    const char **comps = lua_newuserdatauv(L, (size_t)n * sizeof *comps, 0);
    for (int i = 0; i < n; i++) {
        if (lua_rawgeti(L, comp_idx, i + 1) != LUA_TSTRING)
            return luaL_error(L, "%s: completions[%d] must be a string", what, i + 1);
        comps[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
        prompts[i] = NULL;
        if (prompts_idx) {
            if (lua_rawgeti(L, prompts_idx, i + 1) != LUA_TSTRING)
                return luaL_error(L, "%s: prompts[%d] must be a string", what, i + 1);
            prompts[i] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
    }
    rz_sft_batch b;
    rz_error err = {0};
    if (rz_sft_batch_build(&b, tok, prompts_idx ? prompts : NULL, comps, n,
                           rz_transformer_cfg(h->m)->context, truncate, &err) != RZ_OK)
        return lrz_fail(L, what, &err);
    float loss = 0, gnorm = 0;
    int rc = rz_sft_step(h->m, &o->cfg, h->step, &b, &loss, &gnorm, &err);
    int count = b.count;
    rz_sft_batch_free(&b);
    if (rc == RZ_ERR_NONFINITE && skip_nonfinite) {
        /* the parameters and moments are untouched; the step is consumed (the schedule
         * and the data move on) and the caller logs and counts the skip */
        h->step++;
        lua_pushnumber(L, loss);
        lua_pushnumber(L, (lua_Number)NAN);
        lua_pushinteger(L, count);
        lua_pushstring(L, err.msg);
        return 4;
    }
    if (rc != RZ_OK) return lrz_fail(L, what, &err);
    h->step++;
    lua_pushnumber(L, loss);
    lua_pushnumber(L, gnorm);
    lua_pushinteger(L, count);
    return 3;
}

static int adamw_gc(lua_State *L)
{
    lrz_adamw *o = luaL_checkudata(L, 1, LRZ_ADAMW);
    if (o->model_ref > 0) luaL_unref(L, LUA_REGISTRYINDEX, o->model_ref);
    o->model_ref = LUA_NOREF;
    return 0;
}

static int adamw_tostring(lua_State *L)
{
    lrz_adamw *o = luaL_checkudata(L, 1, LRZ_ADAMW);
    if (o->model_ref <= 0) lua_pushliteral(L, "rz.adamw (closed)");
    else lua_pushfstring(L, "rz.adamw(lr=%f, warmup=%d, total_steps=%d)", (double)o->cfg.lr,
                         o->cfg.warmup, o->cfg.total_steps);
    return 1;
}

void lrz_open_model(lua_State *L)
{
    static const luaL_Reg tok_methods[] = {
        {"size", tokenizer_size},   {"encode", tokenizer_encode}, {"decode", tokenizer_decode},
        {"id", tokenizer_id},       {"piece", tokenizer_piece},   {"close", tokenizer_gc},
        {NULL, NULL}};
    static const luaL_Reg tok_meta[] = {
        {"__gc", tokenizer_gc}, {"__close", tokenizer_gc}, {"__tostring", tokenizer_tostring},
        {NULL, NULL}};
    static const luaL_Reg model_methods[] = {
        {"forward", transformer_forward}, {"loss", transformer_loss},
        {"zero_grad", transformer_zero_grad}, {"nparams", transformer_nparams},
        {"config", transformer_config}, {"tensors", transformer_tensors},
        {"tokenizer", transformer_tokenizer}, {"step", transformer_step},
        {"save", transformer_save}, {"close", transformer_gc}, {NULL, NULL}};
    static const luaL_Reg model_meta[] = {
        {"__gc", transformer_gc}, {"__close", transformer_gc},
        {"__tostring", transformer_tostring}, {NULL, NULL}};
    static const luaL_Reg opt_methods[] = {
        {"step", adamw_step}, {"lr", adamw_lr}, {"set", adamw_set}, {"sft", adamw_sft},
        {"close", adamw_gc}, {NULL, NULL}};
    static const luaL_Reg opt_meta[] = {
        {"__gc", adamw_gc}, {"__close", adamw_gc}, {"__tostring", adamw_tostring}, {NULL, NULL}};
    lrz_newclass(L, LRZ_TOKENIZER, tok_methods, tok_meta);
    lrz_newclass(L, LRZ_TRANSFORMER, model_methods, model_meta);
    lrz_newclass(L, LRZ_ADAMW, opt_methods, opt_meta);

    /* module fields: rz.tokenizer = {chars = ...}, rz.transformer, rz.adamw, rz.load */
    lua_newtable(L);
    lua_pushcfunction(L, tokenizer_chars);
    lua_setfield(L, -2, "chars");
    lua_setfield(L, -2, "tokenizer");
    lua_pushcfunction(L, transformer_new);
    lua_setfield(L, -2, "transformer");
    lua_pushcfunction(L, adamw_new);
    lua_setfield(L, -2, "adamw");
    lua_pushcfunction(L, rz_load);
    lua_setfield(L, -2, "load");
}

/* lrz_interop.c: model:export(dir, {format = "safetensors"}) and rz.import(dir), the Lua
 * side of core/safetensors.c (Hugging Face LlamaForCausalLM directories). */
#include <string.h>
#include <sys/stat.h>

#include "lrz.h"

static const char *const formats[] = {"safetensors", NULL};

/* model:export(dir [, {format = "safetensors"}]) -> dir */
static int model_export(lua_State *L)
{
    static const char *const fields[] = {"format", NULL};
    const char *what = "model:export";
    lrz_transformer *h = lrz_transformer_check(L, 1);
    const char *dir = luaL_checkstring(L, 2);
    lrz_check_fields(L, 3, what, fields);
    lrz_opt_enum(L, 3, what, "format", "safetensors", formats);
    const rz_tokenizer *tok = NULL;
    lrz_transformer_push_tokenizer(L, h);
    if (!lua_isnil(L, -1)) tok = lrz_tokenizer_check(L, -1)->tok;
    rz_error err = {0};
    if (rz_transformer_export(h->m, dir, tok, &err) != RZ_OK) return lrz_fail(L, what, &err);
    lua_pushvalue(L, 2);
    return 1;
}

/* rz.import(dir [, {format = "safetensors"}]) -> model (with its tokenizer when the
 * directory has rlzero_tokenizer.json) */
static int rz_import(lua_State *L)
{
    static const char *const fields[] = {"format", NULL};
    const char *what = "rz.import";
    const char *dir = luaL_checkstring(L, 1);
    lrz_check_fields(L, 2, what, fields);
    lrz_opt_enum(L, 2, what, "format", "safetensors", formats);
    /* both handles exist (closed) before anything is built */
    lrz_transformer *h = lrz_newhandle(L, sizeof *h, LRZ_TRANSFORMER);
    h->tok_ref = LUA_NOREF;
    int model_idx = lua_gettop(L);
    lrz_tokenizer *th = lrz_newhandle(L, sizeof *th, LRZ_TOKENIZER);
    rz_error err = {0};
    if (rz_transformer_import(&h->m, dir, &err) != RZ_OK) return lrz_fail(L, what, &err);
    lua_pushfstring(L, "%s/rlzero_tokenizer.json", dir);
    struct stat st;
    int has_tok = stat(lua_tostring(L, -1), &st) == 0;
    lua_pop(L, 1);
    if (has_tok) {
        if (rz_tokenizer_import(&th->tok, dir, &err) != RZ_OK) return lrz_fail(L, what, &err);
        if (rz_tokenizer_size(th->tok) > rz_transformer_cfg(h->m)->vocab)
            return luaL_error(L, "%s: the tokenizer in '%s' has %d tokens, the model's vocab is %d", what, dir,
                              rz_tokenizer_size(th->tok), rz_transformer_cfg(h->m)->vocab);
        h->tok_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the tokenizer handle */
    } else {
        lua_pop(L, 1);
    }
    lua_settop(L, model_idx);
    return 1;
}

void lrz_open_interop(lua_State *L)
{
    /* export joins the transformer's methods; rz.import the module table (on the stack) */
    luaL_getmetatable(L, LRZ_TRANSFORMER);
    lua_getfield(L, -1, "__index");
    lua_pushcfunction(L, model_export);
    lua_setfield(L, -2, "export");
    lua_pop(L, 2);
    lua_pushcfunction(L, rz_import);
    lua_setfield(L, -2, "import");
}

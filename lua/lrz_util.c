/* lrz_util.c: config-table validation, handles and tensors for the Lua binding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lrz.h"

int lrz_fail(lua_State *L, const char *what, const rz_error *err)
{
    return luaL_error(L, "%s: %s", what, err && err->msg[0] ? err->msg : "failed");
}

/* ------------------------------------------------------------ config tables */

void lrz_check_fields(lua_State *L, int idx, const char *what, const char *const *allowed)
{
    if (lua_isnoneornil(L, idx)) return;
    if (!lua_istable(L, idx))
        luaL_error(L, "%s: expected a table of options, got %s", what, luaL_typename(L, idx));
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        int ok = 0;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, k) == 0;
        }
        if (!ok) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (const char *const *a = allowed; *a; a++) {
                if (a != allowed) luaL_addstring(&b, ", ");
                luaL_addstring(&b, *a);
            }
            luaL_pushresult(&b);
            if (lua_type(L, -2) == LUA_TSTRING)
                luaL_error(L, "%s: unknown field '%s' (allowed: %s)", what, lua_tostring(L, -2),
                           lua_tostring(L, -1));
            luaL_error(L, "%s: unexpected %s key in the options (allowed: %s)", what,
                       luaL_typename(L, -2), lua_tostring(L, -1));
        }
    }
}

int lrz_getfield(lua_State *L, int idx, const char *field)
{
    if (!lua_istable(L, idx)) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    return lua_getfield(L, idx, field);
}

lua_Integer lrz_opt_int(lua_State *L, int idx, const char *what, const char *field,
                        lua_Integer def, lua_Integer lo, lua_Integer hi)
{
    int t = lrz_getfield(L, idx, field);
    lua_Integer v = def;
    if (t != LUA_TNIL) {
        int isint = 0;
        if (t == LUA_TNUMBER) v = lua_tointegerx(L, -1, &isint);
        if (!isint) {
            if (t == LUA_TNUMBER)
                luaL_error(L, "%s: field '%s' must be an integer, got %s", what, field,
                           lua_tostring(L, -1));
            luaL_error(L, "%s: field '%s' must be an integer, got %s", what, field,
                       luaL_typename(L, -1));
        }
    }
    lua_pop(L, 1);
    if (v < lo || v > hi)
        luaL_error(L, "%s: field '%s' = %I is out of range [%I, %I]", what, field, v, lo, hi);
    return v;
}

lua_Number lrz_opt_num(lua_State *L, int idx, const char *what, const char *field, lua_Number def,
                       lua_Number lo, lua_Number hi)
{
    int t = lrz_getfield(L, idx, field);
    lua_Number v = def;
    if (t != LUA_TNIL) {
        if (t != LUA_TNUMBER)
            luaL_error(L, "%s: field '%s' must be a number, got %s", what, field, luaL_typename(L, -1));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    if (isnan(v)) luaL_error(L, "%s: field '%s' is NaN", what, field);
    if (!(v >= lo && v <= hi)) {
        /* lua_pushfstring knows no %g: format the numbers here */
        char range[128];
        snprintf(range, sizeof range, "%.9g is out of range [%g, %g]", (double)v, (double)lo, (double)hi);
        luaL_error(L, "%s: field '%s' = %s", what, field, range);
    }
    return v;
}

int lrz_opt_bool(lua_State *L, int idx, const char *what, const char *field, int def)
{
    int t = lrz_getfield(L, idx, field);
    int v = def;
    if (t != LUA_TNIL) {
        if (t != LUA_TBOOLEAN)
            luaL_error(L, "%s: field '%s' must be a boolean, got %s", what, field, luaL_typename(L, -1));
        v = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

const char *lrz_opt_str(lua_State *L, int idx, const char *what, const char *field,
                        const char *def)
{
    int t = lrz_getfield(L, idx, field);
    const char *v = def;
    if (t != LUA_TNIL) {
        if (t != LUA_TSTRING)
            luaL_error(L, "%s: field '%s' must be a string, got %s", what, field, luaL_typename(L, -1));
        v = lua_tostring(L, -1); /* stays alive: the table holds it */
    }
    lua_pop(L, 1);
    return v;
}

int lrz_opt_enum(lua_State *L, int idx, const char *what, const char *field, const char *def,
                 const char *const *choices)
{
    const char *v = lrz_opt_str(L, idx, what, field, def);
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], v) == 0) return i;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; choices[i]; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, choices[i]);
    }
    luaL_pushresult(&b);
    return luaL_error(L, "%s: field '%s' = '%s' is not one of: %s", what, field, v, lua_tostring(L, -1));
}

/* ------------------------------------------------------------------ handles */

void *lrz_newhandle(lua_State *L, size_t size, const char *tname)
{
    void *h = lua_newuserdatauv(L, size, 1);
    memset(h, 0, size);
    luaL_setmetatable(L, tname);
    return h;
}

void lrz_newclass(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *meta)
{
    luaL_newmetatable(L, tname);
    if (meta) luaL_setfuncs(L, meta, 0);
    if (methods) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}

/* ------------------------------------------------------------------ tensors */

struct lrz_buf {
    int refs;
    size_t n;
    float *data;
};

float *lrz_tensor_new(lua_State *L, int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && n > SIZE_MAX / sizeof(float) / (size_t)shape[i]))
            luaL_error(L, "rz.tensor: bad shape");
        n *= (size_t)shape[i];
    }
    lrz_tensor *t = lrz_newhandle(L, sizeof *t, LRZ_TENSOR);
    lrz_buf *b = calloc(1, sizeof *b);
    rz_error err = {0};
    float *data = b ? rz_alloc(n * sizeof(float), "a tensor", &err) : NULL;
    if (!data) {
        free(b);
        if (!err.msg[0]) rz_error_set(&err, RZ_ERR_NOMEM, "cannot allocate a tensor");
        lrz_fail(L, "rz.tensor", &err);
    }
    b->refs = 1;
    b->n = n;
    b->data = data;
    t->buf = b;
    t->data = data;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    return data;
}

lrz_tensor *lrz_tensor_check(lua_State *L, int idx)
{
    lrz_tensor *t = luaL_checkudata(L, idx, LRZ_TENSOR);
    if (!t->buf) luaL_error(L, "rz.tensor: the tensor is closed");
    return t;
}

static size_t tensor_numel(const lrz_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

static int tensor_gc(lua_State *L)
{
    lrz_tensor *t = luaL_checkudata(L, 1, LRZ_TENSOR);
    if (t->buf && --t->buf->refs == 0) {
        rz_free(t->buf->data);
        free(t->buf);
    }
    t->buf = NULL;
    t->data = NULL;
    return 0;
}

/* t[i]: a number for a 1-D tensor, else a view of row i (1-based). */
static int tensor_index(lua_State *L)
{
    lrz_tensor *t = lrz_tensor_check(L, 1);
    if (lua_type(L, 2) != LUA_TNUMBER) {
        /* methods */
        luaL_getmetatable(L, LRZ_TENSOR);
        lua_getfield(L, -1, "methods");
        lua_pushvalue(L, 2);
        lua_rawget(L, -2);
        return 1;
    }
    int isint = 0;
    lua_Integer i = lua_tointegerx(L, 2, &isint);
    if (!isint || i < 1 || i > t->shape[0])
        return luaL_error(L, "rz.tensor: index %s out of range [1, %d]", lua_tostring(L, 2), t->shape[0]);
    size_t stride = tensor_numel(t) / (size_t)t->shape[0];
    if (t->ndim == 1) {
        lua_pushnumber(L, t->data[i - 1]);
        return 1;
    }
    lrz_tensor *v = lrz_newhandle(L, sizeof *v, LRZ_TENSOR);
    v->buf = t->buf;
    v->buf->refs++;
    v->data = t->data + (size_t)(i - 1) * stride;
    v->ndim = t->ndim - 1;
    memcpy(v->shape, t->shape + 1, (size_t)v->ndim * sizeof(int));
    return 1;
}

static int tensor_newindex(lua_State *L)
{
    lrz_tensor *t = lrz_tensor_check(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    if (t->ndim != 1) return luaL_error(L, "rz.tensor: assign to elements of a 1-D view");
    if (i < 1 || i > t->shape[0])
        return luaL_error(L, "rz.tensor: index %I out of range [1, %d]", i, t->shape[0]);
    t->data[i - 1] = (float)luaL_checknumber(L, 3);
    return 0;
}

static int tensor_len(lua_State *L)
{
    lua_pushinteger(L, lrz_tensor_check(L, 1)->shape[0]);
    return 1;
}

static int tensor_shape(lua_State *L)
{
    lrz_tensor *t = lrz_tensor_check(L, 1);
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushinteger(L, t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static void push_nested(lua_State *L, const float *x, const int *shape, int ndim)
{
    lua_createtable(L, shape[0], 0);
    size_t stride = 1;
    for (int i = 1; i < ndim; i++) stride *= (size_t)shape[i];
    for (int i = 0; i < shape[0]; i++) {
        if (ndim == 1) lua_pushnumber(L, x[i]);
        else push_nested(L, x + (size_t)i * stride, shape + 1, ndim - 1);
        lua_rawseti(L, -2, i + 1);
    }
}

static int tensor_totable(lua_State *L)
{
    lrz_tensor *t = lrz_tensor_check(L, 1);
    luaL_checkstack(L, t->ndim + 4, "rz.tensor: too deep");
    push_nested(L, t->data, t->shape, t->ndim);
    return 1;
}

/* t:argmax() over the last dimension of a 1-D tensor: a 1-based index. */
static int tensor_argmax(lua_State *L)
{
    lrz_tensor *t = lrz_tensor_check(L, 1);
    if (t->ndim != 1) return luaL_error(L, "rz.tensor: argmax needs a 1-D tensor (index it first)");
    int best = 0;
    for (int i = 1; i < t->shape[0]; i++)
        if (t->data[i] > t->data[best]) best = i;
    lua_pushinteger(L, best + 1);
    return 1;
}

static int tensor_tostring(lua_State *L)
{
    lrz_tensor *t = luaL_checkudata(L, 1, LRZ_TENSOR);
    if (!t->buf) {
        lua_pushstring(L, "rz.tensor (closed)");
        return 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "rz.tensor(");
    for (int i = 0; i < t->ndim; i++) {
        if (i) luaL_addstring(&b, "x");
        lua_pushinteger(L, t->shape[i]);
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, ")");
    luaL_pushresult(&b);
    return 1;
}

void lrz_open_tensor(lua_State *L)
{
    static const luaL_Reg meta[] = {{"__index", tensor_index}, {"__newindex", tensor_newindex},
                                    {"__len", tensor_len},     {"__gc", tensor_gc},
                                    {"__close", tensor_gc},    {"__tostring", tensor_tostring},
                                    {NULL, NULL}};
    static const luaL_Reg methods[] = {{"shape", tensor_shape}, {"totable", tensor_totable},
                                       {"argmax", tensor_argmax}, {"close", tensor_gc},
                                       {NULL, NULL}};
    luaL_newmetatable(L, LRZ_TENSOR);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);
}

/* ------------------------------------------------------------ token arrays */

static int read_row(lua_State *L, int idx, const char *what, int V, int *out, int T, int row)
{
    for (int t = 0; t < T; t++) {
        lua_rawgeti(L, idx, t + 1);
        int isint = 0;
        lua_Integer id = lua_tointegerx(L, -1, &isint);
        lua_pop(L, 1);
        if (!isint) return luaL_error(L, "%s: row %d, position %d is not an integer token id", what, row, t + 1);
        if (id < 0 || id >= V)
            return luaL_error(L, "%s: row %d, position %d: token id %I is out of range [0, %d)", what,
                              row, t + 1, id, V);
        out[t] = (int)id;
    }
    return 0;
}

int *lrz_read_tokens(lua_State *L, int idx, const char *what, int V, int *B, int *T)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    idx = lua_absindex(L, idx);
    lua_Unsigned rows = lua_rawlen(L, idx);
    if (rows == 0) luaL_error(L, "%s: empty token table", what);
    lua_rawgeti(L, idx, 1);
    int nested = lua_istable(L, -1);
    lua_Unsigned cols = nested ? lua_rawlen(L, -1) : rows;
    lua_pop(L, 1);
    if (!nested) rows = 1;
    if (cols == 0) luaL_error(L, "%s: empty token row", what);
    if (rows > (1u << 20) || cols > (1u << 20)) luaL_error(L, "%s: token table too large", what);
    int *out = lua_newuserdatauv(L, (size_t)rows * cols * sizeof(int), 0); /* GC-owned scratch */
    if (nested) {
        for (lua_Unsigned b = 0; b < rows; b++) {
            lua_rawgeti(L, idx, (lua_Integer)b + 1);
            if (!lua_istable(L, -1)) luaL_error(L, "%s: row %d is not a table", what, (int)b + 1);
            if (lua_rawlen(L, -1) != cols)
                luaL_error(L, "%s: row %d has %d tokens, row 1 has %d (rows must be equally long)",
                           what, (int)b + 1, (int)lua_rawlen(L, -1), (int)cols);
            read_row(L, lua_gettop(L), what, V, out + b * cols, (int)cols, (int)b + 1);
            lua_pop(L, 1);
        }
    } else {
        read_row(L, idx, what, V, out, (int)cols, 1);
    }
    *B = (int)rows;
    *T = (int)cols;
    /* the scratch userdata stays on the stack until the C function returns */
    return out;
}

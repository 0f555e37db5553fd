/* lrz_grpo.c: generation, the GRPO trainer and held-out evaluation from Lua.
 *
 * The hot loops (sampling, grading, the update) stay in C; Lua is called only between
 * phases (the optional reward function), never from inside a parallel region. */
#include <stdlib.h>
#include <string.h>

#include "lrz.h"

#define LRZ_GRPO "rz.grpo"

/* ------------------------------------------------------------ shared knobs */

static const char *const est_names[] = {"grpo", "rloo", NULL};
static const char *const scale_names[] = {"group", "batch", "none", NULL};
static const char *const agg_names[] = {"grpo", "token", "dr_grpo", NULL};
static const char *const kl_names[] = {"k3", "k1", NULL};

static void read_sampling(lua_State *L, int idx, const char *what, rz_sampling *s)
{
    s->temperature = (float)lrz_opt_num(L, idx, what, "temperature", s->temperature, 0, 100);
    s->top_k = (int)lrz_opt_int(L, idx, what, "top_k", s->top_k, 0, 1 << 24);
    s->top_p = (float)lrz_opt_num(L, idx, what, "top_p", s->top_p, 1e-6, 1);
    s->min_p = (float)lrz_opt_num(L, idx, what, "min_p", s->min_p, 0, 0.999999);
}

/* Encodes stop strings (field "stop", a table of strings) into cfg's stop sequences; the
 * ids live in `store` (RZ_GEN_MAX_STOP x 64). */
static void read_stops(lua_State *L, int idx, const char *what, const rz_tokenizer *tok,
                       rz_gen_config *g, int *store)
{
    if (lrz_getfield(L, idx, "stop") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, -1)) luaL_error(L, "%s: field 'stop' must be a table of strings", what);
    int n = (int)lua_rawlen(L, -1);
    if (n > RZ_GEN_MAX_STOP) luaL_error(L, "%s: at most %d stop strings", what, RZ_GEN_MAX_STOP);
    for (int i = 0; i < n; i++) {
        if (lua_rawgeti(L, -1, i + 1) != LUA_TSTRING)
            luaL_error(L, "%s: stop[%d] must be a string", what, i + 1);
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        int cnt = 0;
        rz_error err = {0};
        if (len == 0 || rz_tokenizer_encode(tok, s, len, store + 64 * i, 64, &cnt, &err) != RZ_OK || cnt == 0)
            luaL_error(L, "%s: stop[%d] '%s' cannot be encoded: %s", what, i + 1, s, err.msg);
        g->stop_seqs[i] = store + 64 * i;
        g->stop_lens[i] = cnt;
        lua_pop(L, 1);
    }
    g->nstop = n;
    lua_pop(L, 1);
}

/* The tokenizer of field `tokenizer` or the model's; errors when there is none. */
static rz_tokenizer *model_tokenizer(lua_State *L, int opts, lrz_transformer *h, const char *what)
{
    if (lrz_getfield(L, opts, "tokenizer") == LUA_TNIL) {
        lua_pop(L, 1);
        lrz_transformer_push_tokenizer(L, h);
    }
    if (lua_isnil(L, -1)) luaL_error(L, "%s: no tokenizer (give 'tokenizer' or attach one to the model)", what);
    rz_tokenizer *tok = lrz_tokenizer_check(L, -1)->tok;
    lua_pop(L, 1); /* kept alive by the options table or the model */
    return tok;
}

/* -------------------------------------------------------------- generation */

/* model:generate{prompts = {...}, n = 1, max_new = 64, temperature = 1, top_k, top_p,
 *                min_p, seed = 0, step = 0, stop = {...}, tokenizer = tok}
 * -> { {text=, prompt=, sample=, tokens=, truncated=}, ... } (n per prompt, in order) */
static int model_generate(lua_State *L)
{
    static const char *const fields[] = {"prompts", "n", "max_new", "temperature", "top_k",
                                         "top_p", "min_p", "seed", "step", "stop", "tokenizer", NULL};
    const char *what = "model:generate";
    lrz_transformer *h = lrz_transformer_check(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lrz_check_fields(L, 2, what, fields);
    rz_tokenizer *tok = model_tokenizer(L, 2, h, what);
    const int ctx = rz_transformer_cfg(h->m)->context;
    int n = (int)lrz_opt_int(L, 2, what, "n", 1, 1, 4096);
    rz_gen_config g;
    rz_gen_config_default(&g);
    g.max_new = (int)lrz_opt_int(L, 2, what, "max_new", ctx / 2 > 0 ? ctx / 2 : 1, 1, ctx - 1);
    read_sampling(L, 2, what, &g.sampling);
    lua_Integer seed = lrz_opt_int(L, 2, what, "seed", 0, 0, LUA_MAXINTEGER);
    lua_Integer step = lrz_opt_int(L, 2, what, "step", 0, 0, LUA_MAXINTEGER);
    int *stops = lua_newuserdatauv(L, RZ_GEN_MAX_STOP * 64 * sizeof(int), 0);
    read_stops(L, 2, what, tok, &g, stops);
    if (lua_getfield(L, 2, "prompts") != LUA_TTABLE)
        return luaL_error(L, "%s: field 'prompts' must be a table of strings", what);
    int pidx = lua_gettop(L);
    int P = (int)lua_rawlen(L, pidx);
    if (P < 1 || (long)P * n > 65536) return luaL_error(L, "%s: %d prompts x %d samples is out of range", what, P, n);
    int N = P * n, W = ctx;
    int *rows = lua_newuserdatauv(L, (size_t)N * W * sizeof(int), 0);
    int *lens = lua_newuserdatauv(L, (size_t)N * sizeof(int), 0);
    const int **rowp = lua_newuserdatauv(L, (size_t)N * sizeof(int *), 0);
    uint64_t *keys = lua_newuserdatauv(L, (size_t)N * 3 * sizeof(uint64_t), 0);
    rz_error err = {0};
    for (int p = 0; p < P; p++) {
        if (lua_rawgeti(L, pidx, p + 1) != LUA_TSTRING)
            return luaL_error(L, "%s: prompts[%d] must be a string", what, p + 1);
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        int *row = rows + (size_t)p * n * W, cnt = 0;
        row[0] = RZ_TOK_BOS;
        if (rz_tokenizer_encode(tok, s, len, row + 1, W - 1 - g.max_new, &cnt, &err) != RZ_OK) {
            if (strstr(err.msg, "output capacity"))
                return luaL_error(L, "%s: prompts[%d] does not fit in the %d tokens that context %d "
                                  "leaves beside max_new = %d (%s)", what, p + 1, W - 1 - g.max_new, W,
                                  g.max_new, err.msg);
            return luaL_error(L, "%s: prompts[%d]: %s", what, p + 1, err.msg);
        }
        lua_pop(L, 1);
        for (int j = 0; j < n; j++) {
            int q = p * n + j;
            if (j) memcpy(rows + (size_t)q * W, row, (size_t)(cnt + 1) * sizeof(int));
            rowp[q] = rows + (size_t)q * W;
            lens[q] = cnt + 1;
            keys[3 * q] = (uint64_t)step;
            keys[3 * q + 1] = (uint64_t)p;
            keys[3 * q + 2] = (uint64_t)j;
        }
    }
    rz_gen_result res;
    memset(&res, 0, sizeof res);
    if (rz_generate(&res, h->m, NULL, rowp, lens, N, &g, (uint64_t)seed, keys, &err) != RZ_OK) {
        rz_gen_result_free(&res);
        return lrz_fail(L, what, &err);
    }
    lua_createtable(L, N, 0);
    for (int q = 0; q < N; q++) {
        char *text = NULL;
        size_t tlen = 0;
        if (rz_tokenizer_decode(tok, res.tokens + (size_t)q * res.max_new, res.len[q], &text, &tlen, &err) != RZ_OK) {
            rz_gen_result_free(&res);
            return lrz_fail(L, what, &err);
        }
        lua_createtable(L, 0, 5);
        lua_pushlstring(L, text, tlen);
        free(text);
        lua_setfield(L, -2, "text");
        lua_pushinteger(L, q / n + 1), lua_setfield(L, -2, "prompt");
        lua_pushinteger(L, q % n + 1), lua_setfield(L, -2, "sample");
        lua_pushinteger(L, res.len[q]), lua_setfield(L, -2, "tokens");
        lua_pushboolean(L, res.truncated[q]), lua_setfield(L, -2, "truncated");
        lua_rawseti(L, -2, q + 1);
    }
    rz_gen_result_free(&res);
    return 1;
}

/* ----------------------------------------------------------------- trainer */

typedef struct {
    rz_grpo *t;
    int model_ref, env_ref, reward_fn_ref, samples_ref;
    rz_env *env; /* borrowed from env_ref */
    int prompts, max_resample;
    uint64_t item_seed;
    int64_t next_index; /* the next training item: items are consumed in order */
    int nweights;
    char wname[RZ_MAX_REWARDS][32];
    double weight[RZ_MAX_REWARDS];
    char *prefix, *suffix;
} lrz_grpo;

static lrz_grpo *grpo_check(lua_State *L, int idx)
{
    lrz_grpo *h = luaL_checkudata(L, idx, LRZ_GRPO);
    if (!h->t) luaL_error(L, "rz.grpo: the trainer is closed");
    return h;
}

static int grpo_gc(lua_State *L)
{
    lrz_grpo *h = luaL_checkudata(L, 1, LRZ_GRPO);
    rz_grpo_free(h->t);
    h->t = NULL;
    free(h->prefix);
    free(h->suffix);
    h->prefix = h->suffix = NULL;
    int *refs[] = {&h->model_ref, &h->env_ref, &h->reward_fn_ref, &h->samples_ref};
    for (int i = 0; i < 4; i++) {
        if (*refs[i] > 0) luaL_unref(L, LUA_REGISTRYINDEX, *refs[i]);
        *refs[i] = LUA_NOREF;
    }
    return 0;
}

static char *dup_str(lua_State *L, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) luaL_error(L, "rz.grpo: out of memory");
    return d;
}

/* rz.grpo{policy=, env=, tokenizer=, group=8, prompts=16, template={prefix=, suffix=},
 *         rewards={accuracy=1, format=0.1}, reward_fn=function(item, text, r) ... end, ...} */
static int grpo_new(lua_State *L)
{
    static const char *const fields[] = {
        "policy", "env", "tokenizer", "group", "prompts", "template", "rewards", "reward_fn",
        "beta", "eps_low", "eps_high", "kl", "loss", "estimator", "scale", "mu", "minibatches",
        "ref_reset", "mask_truncated", "overlong_max", "overlong_cache", "dynamic_sampling",
        "max_resample", "shards", "max_new", "temperature", "top_k", "top_p", "min_p", "stop", "lr",
        "beta1", "beta2", "eps", "weight_decay", "grad_clip", "warmup", "total_steps", "min_lr_ratio",
        "seed", "item_seed", NULL};
    const char *what = "rz.grpo";
    luaL_checktype(L, 1, LUA_TTABLE);
    lrz_check_fields(L, 1, what, fields);
    if (lua_getfield(L, 1, "policy") == LUA_TNIL) return luaL_error(L, "%s: field 'policy' is required", what);
    lrz_transformer *mh = lrz_transformer_check(L, -1);
    int model_idx = lua_gettop(L);
    if (lua_getfield(L, 1, "env") == LUA_TNIL) return luaL_error(L, "%s: field 'env' is required", what);
    lrz_env *eh = lrz_env_check(L, -1);
    int env_idx = lua_gettop(L);
    rz_tokenizer *tok = model_tokenizer(L, 1, mh, what);
    const int ctx = rz_transformer_cfg(mh->m)->context;

    rz_grpo_config c;
    rz_grpo_config_default(&c);
    c.group = (int)lrz_opt_int(L, 1, what, "group", c.group, 1, 4096);
    int prompts = (int)lrz_opt_int(L, 1, what, "prompts", 16, 1, 65536);
    c.beta = (float)lrz_opt_num(L, 1, what, "beta", c.beta, 0, 1e6);
    c.eps_low = (float)lrz_opt_num(L, 1, what, "eps_low", c.eps_low, 0, 10);
    c.eps_high = (float)lrz_opt_num(L, 1, what, "eps_high", c.eps_high, 0, 10);
    c.kl = lrz_opt_enum(L, 1, what, "kl", kl_names[c.kl], kl_names);
    c.agg = lrz_opt_enum(L, 1, what, "loss", agg_names[c.agg], agg_names);
    c.estimator = lrz_opt_enum(L, 1, what, "estimator", est_names[c.estimator], est_names);
    c.scale = lrz_opt_enum(L, 1, what, "scale", scale_names[c.scale], scale_names);
    c.mu = (int)lrz_opt_int(L, 1, what, "mu", c.mu, 1, 1000);
    c.minibatches = (int)lrz_opt_int(L, 1, what, "minibatches", c.minibatches, 1, 1 << 20);
    c.ref_reset = (int)lrz_opt_int(L, 1, what, "ref_reset", c.ref_reset, 0, 1 << 30);
    c.mask_truncated = lrz_opt_bool(L, 1, what, "mask_truncated", c.mask_truncated);
    c.overlong_max = (int)lrz_opt_int(L, 1, what, "overlong_max", c.overlong_max, 0, ctx);
    c.overlong_cache = (int)lrz_opt_int(L, 1, what, "overlong_cache", c.overlong_cache, 0, ctx);
    c.dynamic_sampling = lrz_opt_bool(L, 1, what, "dynamic_sampling", c.dynamic_sampling);
    int max_resample = (int)lrz_opt_int(L, 1, what, "max_resample", 3, 0, 1000);
    c.shards = (int)lrz_opt_int(L, 1, what, "shards", c.shards, 0, 1 << 16);
    c.gen.max_new = (int)lrz_opt_int(L, 1, what, "max_new", ctx / 2 > 0 ? ctx / 2 : 1, 1, ctx - 1);
    read_sampling(L, 1, what, &c.gen.sampling);
    int *stops = lua_newuserdatauv(L, RZ_GEN_MAX_STOP * 64 * sizeof(int), 0); /* copied by create */
    read_stops(L, 1, what, tok, &c.gen, stops);
    c.opt.lr = 1e-4f; /* GRPO's defaults: a small rate, no weight decay, no schedule */
    c.opt.weight_decay = 0.0f;
    c.opt.warmup = c.opt.total_steps = 0;
    lrz_opt_adamw(L, 1, what, &c.opt);
    c.seed = (uint64_t)lrz_opt_int(L, 1, what, "seed", 1, 0, LUA_MAXINTEGER);
    lua_Integer item_seed = lrz_opt_int(L, 1, what, "item_seed", (lua_Integer)eh->seed, 0, LUA_MAXINTEGER);

    /* template */
    const char *prefix = "", *suffix = "";
    if (lua_getfield(L, 1, "template") != LUA_TNIL) {
        static const char *const tfields[] = {"prefix", "suffix", NULL};
        lrz_check_fields(L, -1, "rz.grpo template", tfields);
        prefix = lrz_opt_str(L, -1, "rz.grpo template", "prefix", "");
        suffix = lrz_opt_str(L, -1, "rz.grpo template", "suffix", "");
    }
    /* reward weights over the environment's components */
    int nw = 0;
    char wname[RZ_MAX_REWARDS][32];
    double weight[RZ_MAX_REWARDS];
    if (lua_getfield(L, 1, "rewards") != LUA_TNIL) {
        if (!lua_istable(L, -1)) return luaL_error(L, "%s: field 'rewards' must be a table {component = weight}", what);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TNUMBER)
                return luaL_error(L, "%s: 'rewards' maps component names to numbers", what);
            const char *k = lua_tostring(L, -2);
            if (strcmp(k, "accuracy") && strcmp(k, "format") && strcmp(k, "language"))
                return luaL_error(L, "%s: unknown reward component '%s' (allowed: accuracy, format, language)", what, k);
            double w = lua_tonumber(L, -1);
            if (w != w || w < -1e6 || w > 1e6) return luaL_error(L, "%s: reward weight '%s' is out of range", what, k);
            snprintf(wname[nw], sizeof wname[nw], "%s", k);
            weight[nw++] = w;
            lua_pop(L, 1);
        }
    } else {
        snprintf(wname[0], sizeof wname[0], "accuracy");
        weight[0] = 1.0;
        nw = 1;
    }
    int fn_idx = 0;
    if (lua_getfield(L, 1, "reward_fn") != LUA_TNIL) {
        if (!lua_isfunction(L, -1)) return luaL_error(L, "%s: field 'reward_fn' must be a function", what);
        fn_idx = lua_gettop(L);
    }

    lrz_grpo *h = lrz_newhandle(L, sizeof *h, LRZ_GRPO);
    h->model_ref = h->env_ref = h->reward_fn_ref = h->samples_ref = LUA_NOREF;
    rz_error err = {0};
    if (rz_grpo_create(&h->t, mh->m, tok, &c, &err) != RZ_OK) return lrz_fail(L, what, &err);
    lua_pushvalue(L, model_idx);
    h->model_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, env_idx);
    h->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (fn_idx) {
        lua_pushvalue(L, fn_idx);
        h->reward_fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    h->env = eh->env;
    h->prompts = prompts;
    h->max_resample = c.dynamic_sampling ? max_resample : 0;
    h->item_seed = (uint64_t)item_seed;
    h->nweights = nw;
    memcpy(h->wname, wname, sizeof wname);
    memcpy(h->weight, weight, sizeof weight);
    h->prefix = dup_str(L, prefix);
    h->suffix = dup_str(L, suffix);
    return 1;
}

#define SETNUM(name, v) (lua_pushnumber(L, (v)), lua_setfield(L, -2, name))
#define SETINT(name, v) (lua_pushinteger(L, (v)), lua_setfield(L, -2, name))

/* trainer:step() -> metrics: one GRPO update on `prompts` fresh training items. */
static int grpo_step(lua_State *L)
{
    lrz_grpo *h = grpo_check(L, 1);
    rz_grpo *t = h->t;
    const long step = rz_grpo_steps(t);
    rz_error err = {0};
    /* items of this step, one Lua table per group (kept for samples() and reward_fn) */
    lua_newtable(L);
    int items_idx = lua_gettop(L);
    lua_newtable(L);
    int scratch_idx = lua_gettop(L);
    int ngroups = 0, kept = 0;
    float *rewards = NULL;
    double *comp = NULL; /* (pending, 3): accuracy, format, language */
    double fn_sum = 0;
    int cap = 0;
    for (int round = 0; round <= h->max_resample; round++) {
        int P = h->prompts;
        char **texts = lua_newuserdatauv(L, (size_t)P * sizeof(char *), 0);
        for (int p = 0; p < P; p++) {
            rz_item it;
            if (rz_env_item(h->env, h->item_seed, RZ_SPLIT_TRAIN, h->next_index + p, &it, &err) != RZ_OK)
                return lrz_fail(L, "trainer:step", &err);
            lrz_push_item(L, &it);
            lua_pushfstring(L, "%s%s%s", h->prefix, it.prompt, h->suffix);
            rz_item_free(&it);
            /* the item table anchors the string for as long as the step runs */
            texts[p] = (char *)lua_tostring(L, -1);
            lua_setfield(L, -2, "text");
            lua_rawseti(L, items_idx, ngroups + p + 1);
        }
        int first = 0;
        if (rz_grpo_rollout_text(t, (const char *const *)texts, P, step, &first, &err) != RZ_OK)
            return lrz_fail(L, "trainer:step", &err);
        lua_pop(L, 1); /* texts */
        h->next_index += P;
        ngroups += P;
        int n = rz_grpo_pending(t);
        if (n > cap) {
            /* scratch buffers, anchored in the scratch table so a Lua error frees them; the
             * rewards of earlier rounds move along */
            float *r2 = lua_newuserdatauv(L, (size_t)n * sizeof(float), 0);
            double *c2 = lua_newuserdatauv(L, (size_t)n * 3 * sizeof(double), 0);
            if (first > 0) {
                memcpy(r2, rewards, (size_t)first * sizeof(float));
                memcpy(c2, comp, (size_t)first * 3 * sizeof(double));
            }
            rewards = r2;
            comp = c2;
            cap = n;
            lua_rawseti(L, scratch_idx, 2);
            lua_rawseti(L, scratch_idx, 1);
        }
        /* grade this round's completions in parallel: graders are pure and reentrant */
        const int G = n / ngroups;
        rz_item *its = lua_newuserdatauv(L, (size_t)ngroups * sizeof *its, 0);
        for (int gi = 0; gi < ngroups; gi++) {
            lua_rawgeti(L, items_idx, gi + 1);
            lrz_read_item(L, -1, &its[gi], "trainer:step");
            lua_pop(L, 1); /* the strings stay alive in the item tables */
        }
        int nw = h->nweights;
#pragma omp parallel for schedule(dynamic, 4)
        for (int i = first; i < n; i++) {
            const char *text = rz_grpo_completion_text(t, i);
            rz_rewards r;
            rz_env_grade(h->env, &its[i / G], text ? text : "", text ? strlen(text) : 0, &r);
            double total = 0;
            for (int w = 0; w < nw; w++) {
                double v = rz_rewards_get(&r, h->wname[w]);
                total += h->weight[w] * (v < 0 ? 0 : v);
            }
            rewards[i] = (float)total;
            comp[3 * i] = rz_rewards_get(&r, "accuracy");
            comp[3 * i + 1] = rz_rewards_get(&r, "format");
            comp[3 * i + 2] = rz_rewards_get(&r, "language");
        }
        lua_pop(L, 1); /* its */
        if (h->reward_fn_ref > 0) {
            /* the extra reward, once per completion, in order, outside any parallel region */
            for (int i = first; i < n; i++) {
                lua_rawgeti(L, LUA_REGISTRYINDEX, h->reward_fn_ref);
                lua_rawgeti(L, items_idx, i / G + 1);
                const char *text = rz_grpo_completion_text(t, i);
                lua_pushstring(L, text ? text : "");
                lua_createtable(L, 0, 3);
                SETNUM("accuracy", comp[3 * i]);
                SETNUM("format", comp[3 * i + 1]);
                SETNUM("language", comp[3 * i + 2]);
                lua_call(L, 3, 1);
                int isnum = 0;
                lua_Number x = lua_tonumberx(L, -1, &isnum);
                if (!isnum || x != x || x > 1e6 || x < -1e6)
                    return luaL_error(L, "trainer:step: reward_fn must return a finite number, got %s",
                                      luaL_typename(L, -1));
                lua_pop(L, 1);
                rewards[i] += (float)x;
                fn_sum += x;
            }
        }
        if (h->max_resample == 0) break;
        uint8_t *keep = lua_newuserdatauv(L, (size_t)ngroups, 0);
        kept = rz_grpo_informative(t, rewards, keep);
        lua_pop(L, 1);
        if (kept >= h->prompts) break;
    }
    int n = rz_grpo_pending(t);
    double acc = 0, fmt = 0, lang = 0;
    for (int i = 0; i < n; i++) acc += comp[3 * i], fmt += comp[3 * i + 1], lang += comp[3 * i + 2];

    /* the samples of this step, for episode logs: {prompt, completion, reward, ...} */
    lua_createtable(L, n, 0);
    const int G = n / ngroups;
    for (int i = 0; i < n; i++) {
        int len = 0, trunc = 0;
        rz_grpo_completion(t, i, &len, &trunc);
        const char *text = rz_grpo_completion_text(t, i);
        lua_createtable(L, 0, 8);
        lua_rawgeti(L, items_idx, i / G + 1);
        lua_getfield(L, -1, "prompt");
        lua_setfield(L, -3, "prompt");
        lua_getfield(L, -1, "answer");
        lua_setfield(L, -3, "answer");
        lua_pop(L, 1);
        lua_pushstring(L, text ? text : ""), lua_setfield(L, -2, "completion");
        SETNUM("reward", rewards[i]);
        SETNUM("accuracy", comp[3 * i]);
        SETNUM("format", comp[3 * i + 1]);
        SETNUM("language", comp[3 * i + 2]);
        SETINT("tokens", len);
        lua_pushboolean(L, trunc), lua_setfield(L, -2, "truncated");
        SETINT("group", i / G + 1);
        SETINT("step", step + 1);
        lua_rawseti(L, -2, i + 1);
    }
    if (h->samples_ref > 0) luaL_unref(L, LUA_REGISTRYINDEX, h->samples_ref);
    h->samples_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    rz_grpo_metrics m;
    if (rz_grpo_update(t, rewards, &m, &err) != RZ_OK) return lrz_fail(L, "trainer:step", &err);
    /* the samples learn their advantages (absent where the update did not train on them) */
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->samples_ref);
    for (int i = 0; i < n; i++) {
        double adv = rz_grpo_advantage(t, i);
        if (adv != adv) continue;
        lua_rawgeti(L, -1, i + 1);
        SETNUM("advantage", adv);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 40);
    SETINT("step", m.step + 1);
    SETINT("groups", m.groups);
    SETINT("groups_kept", m.groups_kept);
    SETINT("completions", m.completions);
    SETNUM("reward", m.reward_mean);
    SETNUM("reward_std", m.reward_std);
    SETNUM("reward_shaped", m.shaped_mean);
    SETNUM("accuracy", n ? acc / n : 0);
    SETNUM("format", n ? fmt / n : 0);
    SETNUM("language", n ? lang / n : 0);
    if (h->reward_fn_ref > 0) SETNUM("reward_fn", n ? fn_sum / n : 0);
    SETNUM("frac_reward_zero_std", m.frac_reward_zero_std);
    SETNUM("len_mean", m.len_mean);
    SETINT("len_min", m.len_min);
    SETINT("len_max", m.len_max);
    SETNUM("frac_truncated", m.frac_truncated);
    SETNUM("entropy", m.entropy);
    SETNUM("kl", m.kl);
    SETNUM("clip_low", m.clip_low);
    SETNUM("clip_high", m.clip_high);
    SETNUM("clip_frac", m.clip_frac);
    SETNUM("ratio_mean", m.ratio_mean);
    SETNUM("loss", m.loss);
    SETNUM("grad_norm", m.grad_norm);
    SETNUM("lr", m.lr);
    SETINT("updates", m.updates);
    SETINT("skipped", m.skipped);
    if (m.skipped) {
        lua_pushstring(L, m.nonfinite);
        lua_setfield(L, -2, "nonfinite");
    }
    SETINT("gen_tokens", m.gen_tokens);
    SETNUM("gen_tokens_per_s", m.gen_tokens_per_s);
    SETNUM("gen_seconds", m.gen_seconds);
    SETNUM("update_seconds", m.update_seconds);
    SETNUM("comm_seconds", m.comm_seconds);
    SETNUM("step_seconds", m.step_seconds);
    /* the policy's optimizer clock, so checkpoints resume the schedule */
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->model_ref);
    ((lrz_transformer *)lua_touserdata(L, -1))->step = rz_grpo_opt_steps(t);
    lua_pop(L, 1);
    (void)kept;
    return 1;
}

/* trainer:samples() -> the last step's completions with their rewards */
static int grpo_samples(lua_State *L)
{
    lrz_grpo *h = grpo_check(L, 1);
    if (h->samples_ref > 0) lua_rawgeti(L, LUA_REGISTRYINDEX, h->samples_ref);
    else lua_newtable(L);
    return 1;
}

/* trainer:state() -> {steps=, opt_steps=, next_index=}; trainer:set_state(t) resumes */
static int grpo_state(lua_State *L)
{
    lrz_grpo *h = grpo_check(L, 1);
    lua_createtable(L, 0, 3);
    SETINT("steps", rz_grpo_steps(h->t));
    SETINT("opt_steps", rz_grpo_opt_steps(h->t));
    SETINT("next_index", h->next_index);
    return 1;
}

static int grpo_set_state(lua_State *L)
{
    static const char *const fields[] = {"steps", "opt_steps", "next_index", NULL};
    lrz_grpo *h = grpo_check(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lrz_check_fields(L, 2, "trainer:set_state", fields);
    lua_Integer steps = lrz_opt_int(L, 2, "trainer:set_state", "steps", 0, 0, LUA_MAXINTEGER);
    lua_Integer opt = lrz_opt_int(L, 2, "trainer:set_state", "opt_steps", steps, 0, LUA_MAXINTEGER);
    lua_Integer next = lrz_opt_int(L, 2, "trainer:set_state", "next_index", 0, 0, LUA_MAXINTEGER);
    rz_grpo_set_steps(h->t, (long)steps, (long)opt);
    h->next_index = next;
    return 0;
}

/* trainer:save_reference(path) / trainer:load_reference(path): the KL reference (beta > 0)
 * as a transformer checkpoint without optimizer moments, so that a resumed run measures KL
 * against the reference the interrupted run had, not against its resumed policy. */
static rz_transformer *grpo_ref(lua_State *L, lrz_grpo *h, const char *what)
{
    rz_transformer *ref = rz_grpo_reference(h->t);
    if (!ref) luaL_error(L, "%s: the trainer has no reference model (beta = 0)", what);
    return ref;
}

static int grpo_save_reference(lua_State *L)
{
    lrz_grpo *h = grpo_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    rz_transformer *ref = grpo_ref(L, h, "trainer:save_reference");
    return lrz_save_transformer(L, "trainer:save_reference", path, ref, NULL, 0, rz_grpo_steps(h->t),
                                NULL, 0);
}

static int grpo_load_reference(lua_State *L)
{
    lrz_grpo *h = grpo_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    rz_transformer *ref = grpo_ref(L, h, "trainer:load_reference");
    rz_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    rz_error err = {0};
    if (rz_checkpoint_load(path, &ck, &err) != RZ_OK) return lrz_fail(L, "trainer:load_reference", &err);
    int rc = RZ_OK;
    if (strcmp(ck.kind, "transformer") != 0 ||
        memcmp(&ck.transformer, rz_transformer_cfg(ref), sizeof ck.transformer) != 0)
        rc = rz_error_set(&err, RZ_ERR_ARG, "'%s' is not a reference for this trainer's policy "
                          "(a %s of another shape)", path, ck.kind);
    if (rc == RZ_OK) rc = rz_params_copy_from(rz_transformer_params(ref), ck.params, 0, &err);
    rz_checkpoint_release(&ck);
    if (rc != RZ_OK) return lrz_fail(L, "trainer:load_reference", &err);
    return 0;
}

static int grpo_tostring(lua_State *L)
{
    lrz_grpo *h = luaL_checkudata(L, 1, LRZ_GRPO);
    if (!h->t) lua_pushliteral(L, "rz.grpo (closed)");
    else lua_pushfstring(L, "rz.grpo(%d prompts per step, %d steps done)", h->prompts, (int)rz_grpo_steps(h->t));
    return 1;
}

/* -------------------------------------------------------------- evaluation */

/* rz.evaluate{model=, env=, tokenizer=, items=100, first=0, split="test", k=0, max_new=,
 *             temperature=1, top_k=, top_p=, min_p=, seed=0, template={prefix=, suffix=}}
 * -> {pass1_greedy=, pass1_sampled=, pass_k=, maj_k=, format=, language=, len_mean=,
 *     completions={...greedy...}, correct={...booleans...}} */
static int rz_evaluate_lua(lua_State *L)
{
    static const char *const fields[] = {"model", "env", "tokenizer", "items", "first", "split", "k",
                                         "max_new", "temperature", "top_k", "top_p", "min_p",
                                         "seed", "template", "batch", NULL};
    const char *what = "rz.evaluate";
    luaL_checktype(L, 1, LUA_TTABLE);
    lrz_check_fields(L, 1, what, fields);
    if (lua_getfield(L, 1, "model") == LUA_TNIL) return luaL_error(L, "%s: field 'model' is required", what);
    lrz_transformer *mh = lrz_transformer_check(L, -1);
    if (lua_getfield(L, 1, "env") == LUA_TNIL) return luaL_error(L, "%s: field 'env' is required", what);
    lrz_env *eh = lrz_env_check(L, -1);
    rz_tokenizer *tok = model_tokenizer(L, 1, mh, what);
    const int ctx = rz_transformer_cfg(mh->m)->context;
    rz_eval_config c;
    rz_eval_config_default(&c);
    c.items = (int)lrz_opt_int(L, 1, what, "items", c.items, 1, 1 << 20);
    c.first = (int64_t)lrz_opt_int(L, 1, what, "first", 0, 0, LUA_MAXINTEGER / 2);
    static const char *const splits[] = {"train", "test", NULL};
    c.split = lrz_opt_enum(L, 1, what, "split", "test", splits) == 0 ? RZ_SPLIT_TRAIN : RZ_SPLIT_TEST;
    c.k = (int)lrz_opt_int(L, 1, what, "k", 0, 0, 1024);
    c.max_new = (int)lrz_opt_int(L, 1, what, "max_new", ctx / 2 > 0 ? ctx / 2 : 1, 1, ctx - 1);
    read_sampling(L, 1, what, &c.sampling);
    c.seed = (uint64_t)lrz_opt_int(L, 1, what, "seed", (lua_Integer)eh->seed, 0, LUA_MAXINTEGER);
    c.batch = (int)lrz_opt_int(L, 1, what, "batch", c.batch, 1, 1 << 16);
    if (lua_getfield(L, 1, "template") != LUA_TNIL) {
        static const char *const tfields[] = {"prefix", "suffix", NULL};
        lrz_check_fields(L, -1, "rz.evaluate template", tfields);
        c.prefix = lrz_opt_str(L, -1, "rz.evaluate template", "prefix", "");
        c.suffix = lrz_opt_str(L, -1, "rz.evaluate template", "suffix", "");
    }
    rz_eval_result r;
    rz_error err = {0};
    if (rz_evaluate(&r, mh->m, tok, eh->env, &c, &err) != RZ_OK) return lrz_fail(L, what, &err);
    lua_createtable(L, 0, 12);
    SETINT("items", r.items);
    SETINT("k", r.k);
    SETNUM("pass1_greedy", r.pass1_greedy);
    SETNUM("pass1_sampled", r.pass1_sampled);
    SETNUM("pass_k", r.pass_k);
    SETNUM("maj_k", r.maj_k);
    SETNUM("format", r.format);
    SETNUM("language", r.language);
    SETNUM("len_mean", r.len_mean);
    lua_createtable(L, r.items, 0);
    for (int i = 0; i < r.items; i++) lua_pushstring(L, r.greedy_texts[i]), lua_rawseti(L, -2, i + 1);
    lua_setfield(L, -2, "completions");
    lua_createtable(L, r.items, 0);
    for (int i = 0; i < r.items; i++) lua_pushboolean(L, r.greedy_correct[i]), lua_rawseti(L, -2, i + 1);
    lua_setfield(L, -2, "correct");
    rz_eval_result_free(&r);
    return 1;
}

void lrz_open_grpo(lua_State *L)
{
    static const luaL_Reg methods[] = {{"step", grpo_step},           {"samples", grpo_samples},
                                       {"state", grpo_state},         {"set_state", grpo_set_state},
                                       {"save_reference", grpo_save_reference},
                                       {"load_reference", grpo_load_reference},
                                       {"close", grpo_gc},            {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__gc", grpo_gc}, {"__close", grpo_gc}, {"__tostring", grpo_tostring},
                                    {NULL, NULL}};
    lrz_newclass(L, LRZ_GRPO, methods, meta);
    /* model:generate lives on the transformer's method table */
    luaL_getmetatable(L, LRZ_TRANSFORMER);
    lua_getfield(L, -1, "__index");
    lua_pushcfunction(L, model_generate);
    lua_setfield(L, -2, "generate");
    lua_pop(L, 2);
    lua_pushcfunction(L, grpo_new);
    lua_setfield(L, -2, "grpo");
    lua_pushcfunction(L, rz_evaluate_lua);
    lua_setfield(L, -2, "evaluate");
}

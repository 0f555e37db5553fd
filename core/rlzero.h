/* rlzero.h: the one public header of librlzero.
 *
 * Conventions (see DESIGN.md / STYLE.md):
 *  - every exported symbol is rz_*;
 *  - functions that can fail return an int status (RZ_OK = 0) and fill an optional
 *    rz_error with a human-readable message; the core never calls exit();
 *  - arrays are row-major, shapes are given in comments, outputs come first;
 *  - backward functions accumulate (+=) into gradients; zeroing is explicit.
 */
#ifndef RLZERO_H
#define RLZERO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RZ_VERSION "0.1.0"

/* ------------------------------------------------------------------ errors */

enum {
    RZ_OK = 0,
    RZ_ERR_NOMEM,     /* an allocation failed (the message states the size) */
    RZ_ERR_ARG,       /* a bad argument: size, range, unknown name */
    RZ_ERR_IO,        /* open/read/write/rename failed */
    RZ_ERR_FORMAT,    /* a file or string is malformed, truncated or foreign */
    RZ_ERR_NONFINITE, /* NaN or Inf found in a loss, gradient or parameter */
    RZ_ERR_STATE,     /* the call is not valid in the object's current state */
    RZ_ERR_ILLEGAL,   /* an illegal move in a game */
};

typedef struct {
    int code;       /* RZ_OK or one of RZ_ERR_* */
    char msg[512];  /* what went wrong, naming the file, field or size involved */
} rz_error;

/* Records an error (err may be NULL) and returns code, so callers can write
 * `return rz_error_set(err, RZ_ERR_ARG, "dim %d is not a multiple of heads %d", d, h);` */
int rz_error_set(rz_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *rz_status_name(int code);

/* Allocation helpers: 64-byte aligned, zeroed; the message names what and how much. */
void *rz_alloc(size_t nbytes, const char *what, rz_error *err);
void rz_free(void *p);

/* --------------------------------------------------------------------- rng */

/* xoshiro256** seeded through splitmix64. A stream is a pure function of its key,
 * so a sampled sequence depends on (seed, step, prompt, sample), never on threads. */
typedef struct {
    uint64_t s[4];
} rz_rng;

void rz_rng_seed(rz_rng *r, uint64_t seed);
void rz_rng_stream(rz_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
uint64_t rz_rng_next(rz_rng *r);
double rz_rng_uniform(rz_rng *r);             /* [0, 1), 53 random bits */
float rz_rng_normal(rz_rng *r);               /* N(0, 1), Box-Muller */
uint64_t rz_rng_below(rz_rng *r, uint64_t n); /* uniform in [0, n), unbiased; n > 0 */

/* ------------------------------------------------------- parameter layout */

#define RZ_MAX_DIMS 4
#define RZ_NAME_MAX 96

typedef struct {
    char name[RZ_NAME_MAX]; /* Hugging Face Llama names for the transformer */
    int ndim;
    int shape[RZ_MAX_DIMS];
    size_t offset; /* in floats, into each of param/grad/m/v */
    size_t numel;
    int decay;     /* 1: AdamW weight decay applies (matrices); 0: norms, biases */
} rz_tensor;

/* One contiguous buffer per kind, carved by the same table. */
typedef struct {
    rz_tensor *tensors;
    int count, cap;
    size_t numel;
    float *param, *grad, *m, *v; /* each (numel), 64-byte aligned */
} rz_params;

int rz_params_add(rz_params *p, const char *name, int ndim, const int *shape, int decay,
                  rz_error *err);
int rz_params_alloc(rz_params *p, rz_error *err); /* after the last add; zeroes all four */
void rz_params_free(rz_params *p);                /* safe on a zeroed struct */
const rz_tensor *rz_params_find(const rz_params *p, const char *name);
void rz_params_zero_grad(rz_params *p);
/* The name of the first tensor holding a non-finite value in buf (param or grad), or NULL. */
const char *rz_params_nonfinite(const rz_params *p, const float *buf);

/* ---------------------------------------------------------------- ops (fwd/bwd)
 * Free functions used by the models and by the GRPO objective. */

/* logp[n] = log softmax(logits[n])[targets[n]]; entropy[n] (if not NULL) the entropy of
 * softmax(logits[n]). Rows whose logits are -INFINITY (masked) are handled. */
void rz_logprob_forward(float *logp /* (N) */, float *entropy /* (N) or NULL */,
                        const float *logits /* (N, V) */, const int *targets /* (N) */,
                        int N, int V);
/* dlogits[n] += dlogp[n] * (onehot(targets[n]) - softmax(logits[n])) */
void rz_logprob_backward(float *dlogits /* (N, V) */, const float *dlogp /* (N) */,
                         const float *logits /* (N, V) */, const int *targets /* (N) */,
                         int N, int V);

/* ------------------------------------------------------------- transformer */

typedef struct {
    int vocab;        /* V */
    int dim;          /* C, a multiple of heads; C / heads even (RoPE) */
    int layers;       /* L */
    int heads;        /* NH */
    int hidden;       /* SwiGLU width; 0 = Llama's rule: 8C/3 rounded up to 32 */
    int context;      /* maximum sequence length */
    int tied;         /* 1: lm_head shares model.embed_tokens.weight */
    float rope_theta; /* 10000 */
    float norm_eps;   /* 1e-5 */
} rz_transformer_config;

typedef struct rz_transformer rz_transformer;

void rz_transformer_config_default(rz_transformer_config *cfg);
/* Checks a config; fills hidden when 0. The message names the offending field. */
int rz_transformer_config_check(rz_transformer_config *cfg, rz_error *err);
/* Weights ~ N(0, 0.02), output projections (o_proj, down_proj) scaled by 1/sqrt(2L),
 * norms at 1; drawn from rz_rng_seed(seed). */
int rz_transformer_create(rz_transformer **out, const rz_transformer_config *cfg, uint64_t seed,
                          rz_error *err);
void rz_transformer_free(rz_transformer *m);
const rz_transformer_config *rz_transformer_cfg(const rz_transformer *m);
rz_params *rz_transformer_params(rz_transformer *m);
/* Forward over tokens (B, T), T <= context; caches activations for backward and keeps the
 * logits (B, T, V), valid until the next forward. */
int rz_transformer_forward(rz_transformer *m, const int *tokens /* (B, T) */, int B, int T,
                           rz_error *err);
const float *rz_transformer_logits(const rz_transformer *m); /* (B, T, V) */
/* Backward of the last forward: accumulates into the params' grad buffer. */
int rz_transformer_backward(rz_transformer *m, const float *dlogits /* (B, T, V) */,
                            rz_error *err);
/* Weighted next-token cross-entropy: loss = -sum(w * logp) / sum(w), where position (b, t)
 * predicts targets[b, t]. With backward != 0 also accumulates its gradient. */
int rz_transformer_loss(rz_transformer *m, const int *tokens /* (B, T) */,
                        const int *targets /* (B, T) */, const float *weights /* (B, T) */,
                        int B, int T, int backward, float *loss, rz_error *err);

/* --------------------------------------------------------------------- mlp */

enum { RZ_ACT_RELU = 0, RZ_ACT_TANH = 1 };

typedef struct {
    int inputs;     /* observation size */
    int outputs;    /* number of actions */
    int layers;     /* hidden layers, >= 1 */
    int hidden;     /* width of each hidden layer */
    int activation; /* RZ_ACT_* */
} rz_mlp_config;

typedef struct rz_mlp rz_mlp;

int rz_mlp_config_check(const rz_mlp_config *cfg, rz_error *err);
int rz_mlp_create(rz_mlp **out, const rz_mlp_config *cfg, uint64_t seed, rz_error *err);
void rz_mlp_free(rz_mlp *m);
const rz_mlp_config *rz_mlp_cfg(const rz_mlp *m);
rz_params *rz_mlp_params(rz_mlp *m);
/* logits (B, outputs); illegal actions (mask 0) get -INFINITY. Every row needs at least
 * one legal action (RZ_ERR_ARG otherwise). mask may be NULL (all legal). */
int rz_mlp_forward(rz_mlp *m, const float *obs /* (B, inputs) */, const uint8_t *mask /* (B, outputs) */,
                   int B, rz_error *err);
const float *rz_mlp_logits(const rz_mlp *m); /* (B, outputs) */
int rz_mlp_backward(rz_mlp *m, const float *dlogits /* (B, outputs) */, rz_error *err);

/* ------------------------------------------------------------------- adamw */

typedef struct {
    float lr;           /* peak learning rate */
    float beta1, beta2; /* 0.9, 0.95 */
    float eps;          /* 1e-8 */
    float weight_decay; /* applied to tensors with decay = 1 */
    float grad_clip;    /* global L2 norm; 0 = off */
    int warmup;         /* linear warmup steps */
    int total_steps;    /* cosine decay to min_lr_ratio * lr at total_steps; 0 = constant */
    float min_lr_ratio;
} rz_adamw_config;

void rz_adamw_config_default(rz_adamw_config *cfg);
float rz_adamw_lr(const rz_adamw_config *cfg, long step); /* step counts from 0 */
/* One update of params from their grads. Returns RZ_ERR_NONFINITE (and leaves params
 * and moments untouched) when a gradient is NaN/Inf, naming the tensor. grad_norm gets
 * the norm before clipping. `step` counts from 0; bias correction uses step + 1. */
int rz_adamw_step(rz_params *p, const rz_adamw_config *cfg, long step, float *grad_norm,
                  rz_error *err);

/* --------------------------------------------------------------- tokenizer */

enum { RZ_TOK_PAD = 0, RZ_TOK_BOS = 1, RZ_TOK_EOS = 2 };

typedef struct rz_tokenizer rz_tokenizer;

/* A character-level tokenizer. ids: 0 <pad>, 1 <bos>, 2 <eos>, then each special in order,
 * then each UTF-8 character of the alphabet in order. Encoding matches specials first
 * (longest first), then single characters. */
int rz_tokenizer_chars(rz_tokenizer **out, const char *alphabet /* UTF-8 */,
                       const char *const *specials, int nspecials, rz_error *err);
void rz_tokenizer_free(rz_tokenizer *t);
int rz_tokenizer_size(const rz_tokenizer *t);
const char *rz_tokenizer_alphabet(const rz_tokenizer *t);
int rz_tokenizer_nspecials(const rz_tokenizer *t);
const char *rz_tokenizer_special(const rz_tokenizer *t, int i);
/* The text of one token ("<pad>", "<bos>", "<eos>" for the reserved ids); NULL if out of range. */
const char *rz_tokenizer_piece(const rz_tokenizer *t, int id);
/* The id of a piece, or -1. */
int rz_tokenizer_id(const rz_tokenizer *t, const char *piece);
/* Encodes len bytes; *n gets the count. A character outside the alphabet is RZ_ERR_ARG
 * naming it and its byte offset; out too small is RZ_ERR_ARG. */
int rz_tokenizer_encode(const rz_tokenizer *t, const char *text, size_t len, int *out, int cap,
                        int *n, rz_error *err);
/* Decodes into a malloc'd NUL-terminated string (*text); PAD/BOS/EOS are skipped. */
int rz_tokenizer_decode(const rz_tokenizer *t, const int *ids, int n, char **text, size_t *len,
                        rz_error *err);

/* -------------------------------------------------------------- checkpoint */

/* A checkpoint is one msgpack map (format tag, version, kind, config, optional tokenizer,
 * layout table, params / AdamW m / v as bin, step, RNG state, an opaque extra blob for the
 * Lua layer, checksum). It is written to PATH.tmp, fsync'd and renamed over PATH. */
typedef struct {
    char kind[16];                    /* "transformer" or "mlp" */
    rz_transformer_config transformer; /* when kind is "transformer" */
    rz_mlp_config mlp;                 /* when kind is "mlp" */
    rz_tokenizer *tokenizer;           /* optional; owned after load */
    rz_params *params;                 /* borrowed on save; on load, allocated and owned */
    int with_optimizer;                /* save/restored the AdamW moments m, v */
    int64_t step;                      /* training steps done */
    rz_rng rng;
    void *extra;                       /* opaque bytes (msgpack from the Lua layer) */
    size_t extra_len;
} rz_checkpoint;

int rz_checkpoint_save(const char *path, const rz_checkpoint *ck, rz_error *err);
/* Refuses a missing, truncated, corrupted (checksum) or foreign file with a message naming
 * the file and what is wrong. On success the caller owns ck's tokenizer, params and extra. */
int rz_checkpoint_load(const char *path, rz_checkpoint *ck, rz_error *err);
void rz_checkpoint_release(rz_checkpoint *ck); /* frees what a load allocated */
/* Copies loaded values into live params of the same layout (names, shapes checked). */
int rz_params_copy_from(rz_params *dst, const rz_params *src, int with_optimizer, rz_error *err);

/* ------------------------------------------------------- envs: name(k=v,...) specs */

/* "countdown(numbers=4,max_target=100)", "connect4", "nim(piles=3;5;7)": a name and up to
 * RZ_SPEC_MAX key=value pairs separated by commas (a value may contain ';'). */
#define RZ_SPEC_MAX 16
typedef struct {
    char name[64];
    int n;
    char key[RZ_SPEC_MAX][32];
    char val[RZ_SPEC_MAX][128];
} rz_spec;

int rz_spec_parse(rz_spec *s, const char *text, rz_error *err);
const char *rz_spec_get(const rz_spec *s, const char *key); /* NULL when absent */
/* An unknown key is RZ_ERR_ARG naming it and listing the allowed ones (NULL-terminated). */
int rz_spec_check_keys(const rz_spec *s, const char *const *allowed, rz_error *err);
/* An integer parameter with a default and an inclusive range, errors naming the key. */
int rz_spec_int(const rz_spec *s, const char *key, long def, long lo, long hi, long *out,
                rz_error *err);
/* A list of integers separated by ';' ("3;5;7"), at most cap of them, each in [lo, hi]. */
int rz_spec_int_list(const rz_spec *s, const char *key, const char *def, long lo, long hi,
                     long *out, int cap, int *n, rz_error *err);

/* ======================================================= envs: verifier tasks
 * (section owned by the verifier-environments work) */

/* A verifier task is a one-step episode: an item (prompt + hidden answer) drawn from
 * (params, seed, split, index), and a grader that scores a completion against it with
 * separate reward components. The rules (answer extraction, format, language) are
 * documented in docs/adding-an-env.md and are the same for every task:
 *
 *  - A completion longer than RZ_GRADE_MAX_BYTES gets 0 for every component.
 *  - Answer: the text of the last "<answer>...</answer>" block after the last "</think>"
 *    (or anywhere when the completion has no think tag at all; nowhere when a "<think>"
 *    is never closed), trimmed of whitespace. Empty, longer than RZ_ANSWER_MAX_BYTES or
 *    holding a byte outside printable ASCII/tab/newline: accuracy 0. Numbers compare
 *    exactly (rationals over int64 with overflow checks; overflow means wrong).
 *  - format = 1 iff the completion is: optional whitespace, optional "<think>", reasoning,
 *    "</think>", optional whitespace, "<answer>", a non-empty answer, "</answer>", optional
 *    whitespace, end; the reasoning and the answer hold none of the four tags; the whole
 *    text is valid UTF-8 with no control character other than tab, LF, CR.
 *  - language = the share of letters in the reasoning (text before the last "</think>",
 *    or before the last "<answer>" when there is none; tags skipped) that belong to the
 *    prompt's script (ASCII letters vs any other letter; an invalid UTF-8 byte counts as a
 *    foreign letter). Reasoning with no letters but some non-space text: 1. Reasoning
 *    that is empty or all whitespace: 0.
 * Every component lies in [0, 1]. */
#define RZ_MAX_REWARDS 8
#define RZ_GRADE_MAX_BYTES 65536
#define RZ_ANSWER_MAX_BYTES 1024
enum { RZ_SPLIT_TRAIN = 0, RZ_SPLIT_TEST = 1 };

typedef struct {
    char *prompt;  /* malloc'd; lowercase ASCII letters, digits, spaces, +-*\/=()x.,?: */
    char *answer;  /* malloc'd; a reference answer the grader accepts */
    int64_t index; /* within its split */
    int split;     /* RZ_SPLIT_TRAIN or RZ_SPLIT_TEST */
} rz_item;

void rz_item_free(rz_item *it); /* frees the strings and zeroes the item; NULL-safe */

typedef struct {
    int n;                              /* components filled, in the order below */
    const char *names[RZ_MAX_REWARDS];  /* "accuracy", "format", "language", then extras */
    double values[RZ_MAX_REWARDS];      /* each in [0, 1] */
} rz_rewards;

typedef struct rz_env rz_env;

/* "countdown(numbers=4,max_target=100)". Every task also takes test_size (default 500):
 * the test split is global indices [0, test_size), the train split [test_size, ...).
 * Test and train items are also disjoint in content: a prompt belongs to one split by a
 * fixed hash of its text, so no training prompt ever equals a held-out one.
 * An unknown env or parameter is RZ_ERR_ARG naming it and listing what is allowed. */
int rz_env_create(rz_env **out, const char *spec, rz_error *err);
void rz_env_free(rz_env *e);
const char *rz_env_name(const rz_env *e); /* canonical spec, every parameter resolved */
int64_t rz_env_test_size(const rz_env *e);
/* A pure function of (params, seed, split, index); index >= 0, and < test_size for the
 * test split. out is filled on success, zeroed otherwise. */
int rz_env_item(const rz_env *e, uint64_t seed, int split, int64_t index, rz_item *out,
                rz_error *err);
/* Never fails on any bytes (completion may be NULL when len is 0); RZ_ERR_ARG only for a
 * NULL env, item or out. Time is linear in min(len, RZ_GRADE_MAX_BYTES). */
int rz_env_grade(const rz_env *e, const rz_item *item, const char *completion, size_t len,
                 rz_rewards *out);
double rz_rewards_get(const rz_rewards *r, const char *name); /* -1 when absent */
int rz_envs_list(const char **names, int cap); /* fills up to cap names; returns the count */
const char *rz_env_describe(const char *name); /* one-line summary and parameters, or NULL */
/* The share of letters in text that are not ASCII letters (0 when there are none); an
 * invalid UTF-8 byte counts as a non-ASCII letter. */
double rz_language_mixing(const char *text, size_t len);

/* ======================================================= envs: games
 * (section owned by the games work) */

/* ======================================================= agents
 * (section owned by the agents work: sampler, rollouts, GRPO, SFT, evaluation) */

#ifdef __cplusplus
}
#endif
#endif /* RLZERO_H */

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
/* The machine's physical memory in bytes (0 when unknown). rz_alloc refuses a larger request
 * (RZ_ERR_NOMEM stating the size) rather than let an overcommitted allocation be killed. */
size_t rz_memory_bytes(void);
void rz_free(void *p);

/* The threads the next parallel region may use (omp_get_max_threads; 1 without OpenMP),
 * and the calling thread's number in its region (0 outside one): the index of a per-thread
 * scratch buffer. */
int rz_max_threads(void);
int rz_thread_num(void);

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
 * predicts targets[b, t]. With backward != 0 also accumulates its gradient. weights may be
 * NULL (all 1); a position of weight 0 is ignored, its target may be anything (e.g. -1).
 * sum(w) == 0 gives loss 0 and no gradient. A non-finite loss is RZ_ERR_NONFINITE. */
int rz_transformer_loss(rz_transformer *m, const int *tokens /* (B, T) */,
                        const int *targets /* (B, T) */, const float *weights /* (B, T) */,
                        int B, int T, int backward, float *loss, rz_error *err);

/* A KV cache for incremental decoding: `slots` sequences, each up to `len` <= context
 * positions. A slot is reused by feeding a new sequence from position 0. */
typedef struct rz_kvcache rz_kvcache;
int rz_kvcache_create(rz_kvcache **out, const rz_transformer *m, int slots, int len, rz_error *err);
void rz_kvcache_free(rz_kvcache *c);
/* Feeds n tokens, one per sequence: tokens[i] at position pos[i] of cache slot slot[i]
 * (positions 0..pos[i]-1 of that slot must have been fed before); writes logits (n, V).
 * Rows are independent: any subset of slots may be fed in one call (each slot at most once),
 * and a row's logits are bit-identical whatever the other rows are. Leaves the activations
 * of the last rz_transformer_forward untouched. */
int rz_transformer_decode(rz_transformer *m, rz_kvcache *c, int n, const int *slot /* (n) */,
                          const int *pos /* (n) */, const int *tokens /* (n) */,
                          float *logits /* (n, V) */, rz_error *err);

/* --------------------------------------------------------------------- mlp */

enum { RZ_ACT_RELU = 0, RZ_ACT_TANH = 1 };

typedef struct {
    int inputs;     /* observation size */
    int outputs;    /* number of actions */
    int layers;     /* hidden layers, >= 1 */
    int hidden;     /* width of each hidden layer */
    int activation; /* RZ_ACT_* */
    int value;      /* 1: a value head too, tanh of one more output of the last hidden layer
                     * (the expected return for the player to move); 0: none */
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
const float *rz_mlp_value(const rz_mlp *m);  /* (B) in (-1, 1); NULL without a value head */
int rz_mlp_backward(rz_mlp *m, const float *dlogits /* (B, outputs) */, rz_error *err);
/* Both heads: dlogits (B, outputs) or NULL (no policy gradient), dvalue (B) the gradient
 * at the value output or NULL; accumulates into the gradients like rz_mlp_backward. */
int rz_mlp_backward_value(rz_mlp *m, const float *dlogits, const float *dvalue, rz_error *err);

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

/* ---------------------------------------------------------------- sampling */

/* Knobs for drawing one token. temperature 0 = greedy (argmax, lowest id on ties);
 * top_k 0 = off; top_p 1 = off; min_p 0 = off. */
typedef struct {
    float temperature;
    int top_k;
    float top_p;
    float min_p;
} rz_sampling;

void rz_sampling_default(rz_sampling *s); /* 1, 0, 1, 0 */
/* Names the bad field: temperature >= 0 and finite, top_k >= 0, 0 < top_p <= 1,
 * 0 <= min_p < 1. */
int rz_sampling_check(const rz_sampling *s, rz_error *err);
/* Draws a token from logits (V). With p = softmax(logits / T), filters apply in the order
 * top-k, then top-p on the renormalised top-k distribution (the smallest set of
 * highest-probability tokens whose mass >= top_p, always >= 1 token), then min-p (drop
 * tokens with p < min_p * p_max); the survivors are renormalised and one rz_rng_uniform
 * draws among them. Ties in probability are ordered by id (lower first), so the result is
 * deterministic; greedy (T = 0) consumes no randomness, any other draw exactly one
 * uniform. Masked logits (-INFINITY), and tokens whose probability underflows to 0,
 * are never drawn. *logp (if not NULL) gets the log-probability of the drawn token under
 * the unfiltered softmax(logits / T) (T = 0: under softmax(logits)), which is what the
 * policy-gradient ratio uses. scratch holds at least 2*V floats.
 * Returns the token id, or -1 when V < 1 or V > 2^24, the knobs fail rz_sampling_check,
 * a logit is NaN or +Inf, or every logit is -INFINITY. */
int rz_sample_token(const float *logits /* (V) */, int V, const rz_sampling *s, rz_rng *rng,
                    float *scratch /* (2 * V) */, float *logp);

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
 * Lua layer, checksum). It is written to PATH.tmp.<pid>, fsync'd and renamed over PATH. */
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
/* The size in bytes of the msgpack object at b (n bytes available), or 0 when it is
 * malformed, truncated, or declares more elements than the bytes left could hold (which
 * would make msgpack-c allocate for them): the guard every msgpack reader runs first. */
size_t rz_msgpack_object_size(const unsigned char *b, size_t n);
/* Refuses a missing, truncated, corrupted (checksum) or foreign file with a message naming
 * the file and what is wrong. On success the caller owns ck's tokenizer, params and extra. */
int rz_checkpoint_load(const char *path, rz_checkpoint *ck, rz_error *err);
void rz_checkpoint_release(rz_checkpoint *ck); /* frees what a load allocated */
/* Copies loaded values into live params of the same layout (names, shapes checked). */
int rz_params_copy_from(rz_params *dst, const rz_params *src, int with_optimizer, rz_error *err);
/* Writes len bytes to PATH.tmp.<pid>, flushes, fsyncs, renames it over path and syncs the
 * directory. On failure the temporary file is removed, an existing path is left untouched
 * and the result is RZ_ERR_IO naming path and the system's reason. */
int rz_write_atomic(const char *path, const void *data, size_t len, rz_error *err);

/* ------------------------------------------------ safetensors (Hugging Face interop) */

/* Writes DIR/model.safetensors (every parameter as F32 under its Hugging Face Llama name,
 * sorted by name; lm_head.weight is omitted when tied, as transformers does) and
 * DIR/config.json for transformers' LlamaForCausalLM, creating DIR (mkdir -p) if needed.
 * With a tokenizer (its size must not exceed the vocab) also DIR/rlzero_tokenizer.json:
 * the character tokenizer is not a Hugging Face tokenizer, so AutoTokenizer cannot load
 * the directory; the file holds the alphabet, the specials and every piece in id order.
 * No weight permutation is needed: our RoPE is HF's rotate-half convention. Each file is
 * written with rz_write_atomic. */
int rz_transformer_export(const rz_transformer *m, const char *dir, const rz_tokenizer *tok,
                          rz_error *err);
/* Builds a model from DIR/config.json and DIR/model.safetensors. Everything is validated
 * before use: the header length against the file size (and the reference 100 MB limit), the
 * header JSON, every tensor's dtype, shape and data_offsets (inside the data section, tiling
 * it without gap or overlap, matching shape x dtype size), every expected tensor present;
 * F16 and BF16 tensors are converted to float. A *.rotary_emb.inv_freq buffer is ignored,
 * and so is lm_head.weight in a tied model when it equals the embedding; any other unknown
 * tensor is refused. Errors (RZ_ERR_FORMAT, RZ_ERR_IO) name the file and what is wrong.
 * config.json must say model_type "llama"; GQA (num_key_value_heads != heads), biases,
 * rope_scaling and activations other than silu are refused. *out is NULL on failure. */
int rz_transformer_import(rz_transformer **out, const char *dir, rz_error *err);
/* Rebuilds the tokenizer an export wrote to DIR/rlzero_tokenizer.json. */
int rz_tokenizer_import(rz_tokenizer **out, const char *dir, rz_error *err);

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
/* Whether a prompt (len bytes) belongs to the held-out side: the test split of every seed
 * holds such prompts only, the train split never. For generated data (a pretraining
 * corpus) that must keep clear of every held-out problem whatever seed evaluates it. */
int rz_env_held_out(const rz_env *e, const char *prompt, size_t len);
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

/* A game with its parameters: immutable after create, so one rz_game may be shared by
 * OpenMP threads. Specs: "tictactoe", "connect4", "nim(piles=3;5;7)" (up to 8 piles of
 * 1..15; normal play: taking the last object wins), "breakthrough(size=6)" (5..8).
 *
 * A state is a plain struct of rz_game_state_size() bytes owned by the caller (clone =
 * memcpy), with no pointers inside; equal move histories give bitwise-equal states.
 * Players are 0 (moves first) and 1, strictly alternating.
 *
 * Actions: tictactoe, the cell row*3 + col (9); connect4, the column 0..6 (7);
 * nim, pile * M + take - 1 where M is the largest initial pile (piles * M actions);
 * breakthrough(size=n), (row*n + col)*3 + d for the piece on (row, col) moving forward
 * diagonally to col-1 (d = 0), straight (d = 1) or diagonally to col+1 (d = 2), where
 * forward is row+1 for player 0 and row-1 for player 1. */
typedef struct rz_game rz_game;

/* An unknown name or parameter is RZ_ERR_ARG naming it and listing the allowed ones. */
int rz_game_create(rz_game **out, const char *spec, rz_error *err);
void rz_game_free(rz_game *g);
const char *rz_game_name(const rz_game *g); /* canonical spec, with every parameter */
int rz_game_num_actions(const rz_game *g);
int rz_game_obs_size(const rz_game *g);
int rz_game_max_moves(const rz_game *g);     /* no game lasts longer */
size_t rz_game_state_size(const rz_game *g); /* bytes; clone = memcpy of this many */
void rz_game_reset(const rz_game *g, void *state);
int rz_game_current_player(const rz_game *g, const void *state); /* 0 or 1; -1 when terminal */
/* mask (num_actions): 1 for a legal action; returns their count (0 when terminal). */
int rz_game_legal(const rz_game *g, const void *state, uint8_t *mask);
/* An out-of-range or illegal action, or a terminal state, is RZ_ERR_ILLEGAL and leaves the
 * state unchanged. */
int rz_game_apply(const rz_game *g, void *state, int action, rz_error *err);
int rz_game_is_terminal(const rz_game *g, const void *state);
int rz_game_move_count(const rz_game *g, const void *state); /* moves played so far */
/* returns (2): +1 for the winner, -1 for the loser, 0 0 for a draw or an unfinished game. */
void rz_game_returns(const rz_game *g, const void *state, double *returns);
/* obs (obs_size), from the point of view of the player to move (of the player who would
 * move, at the end), all values finite and in [0, 1]:
 *   tictactoe, connect4: planes "mine", "theirs", "empty" over the cells (3 * cells),
 *        cells row-major (connect4: row 0 at the bottom, cell row*7 + col);
 *   breakthrough: the same three planes, the board turned so that the mover moves up;
 *   nim: each pile in unary (pile i has initial_i entries, the first size_i set) followed
 *        by each pile's size in 4 bits, least significant first (sum(initial) + 4 * piles);
 *        nim is impartial, so the mover does not matter. */
void rz_game_observe(const rz_game *g, const void *state, float *obs);
/* The game's left-right reflection, for data augmentation: where it has one (tic-tac-toe,
 * Connect Four, Breakthrough), fills obs_map (obs_size) and action_map (num_actions) and
 * returns 1; otherwise (nim) returns 0. The reflected position s' of a state s has
 * observe(s')[i] = observe(s)[obs_map[i]], action a in s is action_map[a] in s', and s'
 * has the same returns, mover and outcome under reflected play. Both maps are their own
 * inverses. */
int rz_game_mirror(const rz_game *g, int *obs_map, int *action_map);
/* A human-readable board. Like snprintf: writes at most cap bytes (NUL included) and
 * returns the length of the full text. */
int rz_game_render(const rz_game *g, const void *state, char *buf, size_t cap);
/* The move history as actions in decimal separated by one space ("3 3 4"; "" at the
 * start); snprintf-like return. */
int rz_game_serialize(const rz_game *g, const void *state, char *buf, size_t cap);
/* The inverse: replays the history from the start. Anything but decimal numbers separated
 * by white space is RZ_ERR_FORMAT, an illegal move RZ_ERR_ILLEGAL (naming the move and its
 * position); on error the state is left unchanged. */
int rz_game_deserialize(const rz_game *g, void *state, const char *text, rz_error *err);
/* The registered game names (up to cap of them); returns how many there are. */
int rz_games_list(const char **names, int cap);

/* Exact value of a state for the player to move by alpha-beta search with a transposition
 * table, for small games and end games. value: +1 win, 0 draw, -1 loss; plies (may be
 * NULL): for a win or a loss, the number of moves until the end when the winner hurries and
 * the loser delays, 0 for a draw; best_action (may be NULL): an optimal action (-1 at a
 * terminal state).
 * More than max_nodes nodes is RZ_ERR_STATE (outputs untouched). Thread-safe. */
int rz_game_solve(const rz_game *g, const void *state, long max_nodes, int *value, int *plies,
                  int *best_action, rz_error *err);

/* The same solver, kept for many calls: its transposition table (sized for max_nodes, the
 * largest budget it will be given) outlives each call, so solving a game's positions from
 * the last one back reuses what the later ones found. A search over budget leaves only
 * entries of finished subtrees, which are exact, so the table is never wrong; but whether
 * the next search finishes within its budget depends on what is in it. rz_solver_clear
 * empties it in O(1): call it wherever a result must depend on the position alone.
 * Not thread-safe: one solver per thread. */
typedef struct rz_solver rz_solver;
int rz_solver_create(rz_solver **out, const rz_game *g, long max_nodes, rz_error *err);
void rz_solver_free(rz_solver *sv);
void rz_solver_clear(rz_solver *sv);
/* rz_game_solve within max_nodes nodes: *solved 1 and the outputs set (plies and
 * best_action may be NULL), or *solved 0 over budget and the outputs untouched. */
int rz_solver_solve(rz_solver *sv, const void *state, long max_nodes, int *solved, int *value,
                    int *plies, int *best_action, rz_error *err);
/* The value alone (+1 win, 0 draw, -1 loss for the player to move, not how fast), in the
 * same table: a search that only proves which side of a draw the value lies on cuts off
 * far more than the exact one (on Connect Four positions 8 random moves in, 20000 nodes
 * decide about a quarter instead of almost none). *solved and *value as rz_solver_solve. */
int rz_solver_wdl(rz_solver *sv, const void *state, long max_nodes, int *solved, int *value,
                  rz_error *err);

/* Reference players, for evaluation:
 *   "random"                 uniform among the legal actions;
 *   "minimax(max_nodes=N)"   exact search (rz_game_solve, default N = 10000000), uniform
 *                            among the optimal actions (fastest win, slowest loss); for
 *                            small games: tictactoe, small nim, connect4 end games;
 *   "nim"                    the XOR rule (nim only): uniform among the moves that leave
 *                            XOR 0, uniform among all legal moves when there is none;
 *   "alphabeta(depth=4)"     depth-limited negamax with alpha-beta (games with a heuristic:
 *                            connect4, breakthrough; depth 1..20): exact scores at terminal
 *                            states (faster wins preferred), the game's heuristic at the
 *                            horizon, uniform among the root actions of equal best score.
 *                            connect4: 4 * (my threats - their threats) + (my stones -
 *                            their stones in the centre column), a threat being an empty
 *                            cell that would complete four; breakthrough: 10 * (my pieces -
 *                            theirs) + (my rows advanced - theirs) + a bonus for pieces
 *                            two rows or less from the goal.
 * rz_player_act is deterministic given the rng state and does not depend on earlier calls.
 * A player holds scratch memory (minimax: its transposition table): use one player per
 * thread. The game must outlive the player. */
typedef struct rz_player rz_player;

int rz_player_create(rz_player **out, const rz_game *g, const char *spec, rz_error *err);
void rz_player_free(rz_player *p);
const char *rz_player_name(const rz_player *p); /* canonical spec */
/* A terminal state is RZ_ERR_ILLEGAL. */
int rz_player_act(rz_player *p, const void *state, rz_rng *rng, int *action, rz_error *err);

/* ======================================================= agents
 * (section owned by the agents work: sampler, rollouts, GRPO, SFT, evaluation) */

/* ------------------------------------------------------- GRPO objective
 * Pure math over arrays (agents/objective.c): the trainer computes per-token log-probs
 * with the model, asks for d loss / d logp here, then backpropagates through the model.
 * Formulas: DESIGN.md, "GRPO". Everything is computed in double internally. */

enum { RZ_EST_GRPO = 0, RZ_EST_RLOO = 1 };                         /* advantage estimator */
enum { RZ_SCALE_GROUP = 0, RZ_SCALE_BATCH = 1, RZ_SCALE_NONE = 2 }; /* advantage scale */
enum { RZ_AGG_GRPO = 0, RZ_AGG_TOKEN = 1, RZ_AGG_DR_GRPO = 2 };    /* loss aggregation */
enum { RZ_KL_K3 = 0, RZ_KL_K1 = 1 };                                /* KL estimator */

/* Advantages of N rewards in N / G groups of G consecutive entries (N % G == 0).
 *   GRPO: A_i = (r_i - mean_group) / (std + 1e-4), std by `scale`:
 *         RZ_SCALE_GROUP the group's std, RZ_SCALE_BATCH the std over all N rewards (the
 *         mean stays the group's), RZ_SCALE_NONE no division (Dr. GRPO).
 *   RLOO: A_i = r_i - mean_{j != i} r_j (needs G >= 2), then divided the same way by
 *         `scale` (RZ_SCALE_NONE gives classic RLOO).
 * std is the unbiased sample std (divides by G - 1, or N - 1 for batch), as TRL's
 * torch.std; a set of one reward has std 0. A group whose rewards all agree gets exactly 0. */
int rz_advantages(float *adv /* (N) */, const float *rewards /* (N) */, int N, int G,
                  int estimator, int scale, rz_error *err);

typedef struct {
    float eps_low, eps_high; /* clip rho to [1 - eps_low, 1 + eps_high] */
    float beta;              /* KL coefficient; 0 needs no reference log-probs */
    int kl;                  /* RZ_KL_* */
    int agg;                 /* RZ_AGG_* */
    int max_len;             /* L_max for RZ_AGG_DR_GRPO; 0 = T */
    /* Normalisers of the whole batch when one batch is split into several calls (mini- or
     * micro-batches): seqs_total sequences (grpo, dr_grpo) and tokens_total masked tokens
     * (token). Then the per-call losses and gradients add up to the whole batch's.
     * 0 = this call's own N and sum(mask). */
    int seqs_total;
    double tokens_total;
} rz_objective;

/* TRL's current GRPOConfig defaults: eps_low = eps_high = 0.2 (epsilon_high defaults to
 * epsilon), beta = 0 (no reference model; recent work found the KL term unnecessary for
 * rule-verified rewards), k3, token aggregation (TRL's default loss_type "dapo":
 * normalised by the active tokens of the whole batch), max_len 0 (= T), totals 0. */
void rz_objective_default(rz_objective *o);

/* Statistics of one call. loss is this call's share of the batch loss (the per-call values
 * add up under seqs_total/tokens_total); the others are means over this call's masked
 * tokens (weight by `tokens` to combine calls). Fractions follow TRL: clip_low counts
 * rho < 1 - eps_low with A < 0, clip_high rho > 1 + eps_high with A > 0, clip_frac
 * either; exactly these tokens get no surrogate gradient. kl_mean is 0 without ref_logp.
 * With no masked token the fractions are 0 and the ratio figures 1. */
typedef struct {
    double loss;
    double kl_mean;
    double clip_low_frac, clip_high_frac, clip_frac;
    double ratio_mean, ratio_min, ratio_max;
    double tokens; /* sum(mask) of this call */
} rz_objective_stats;

/* The clipped surrogate over N sequences x T positions:
 *   rho_it = exp(logp - old_logp), KL_it per o->kl against ref_logp,
 *   l_it   = min(rho*A_i, clip(rho, 1-eps_low, 1+eps_high)*A_i) - beta*KL_it,
 *   loss   = -(aggregate of l over mask) per o->agg.
 * mask (N, T) in {0, 1} marks the completion tokens that count; ref_logp may be NULL when
 * beta == 0. Writes (not accumulates) dlogp = d loss / d logp, 0 where mask is 0.
 * st may be NULL. RZ_ERR_ARG names a bad argument; RZ_ERR_NONFINITE the first masked
 * token whose loss term is NaN/Inf. */
int rz_objective_loss(const rz_objective *o, int N, int T, const float *logp /* (N, T) */,
                      const float *old_logp /* (N, T) */, const float *ref_logp /* (N, T) or NULL */,
                      const float *adv /* (N) */, const float *mask /* (N, T) */,
                      float *dlogp /* (N, T) */, rz_objective_stats *st, rz_error *err);

/* DAPO's soft overlong punishment of a completion of len tokens: 0 when
 * len <= max_len - cache, then linear down to -1 at len == max_len, -1 beyond.
 * cache is clamped to [0, max_len] (cache 0: a step from 0 to -1 past max_len). */
float rz_overlong_penalty(int len, int max_len, int cache);

/* Dynamic sampling's group filter: keep[g] = 1 when the G rewards of group g do not all
 * agree (exact comparison), else 0. Returns how many are kept, or -1 when N <= 0, G <= 0
 * or N % G != 0 (keep untouched). */
int rz_groups_informative(uint8_t *keep /* (N / G) */, const float *rewards /* (N) */, int N,
                          int G);

/* ------------------------------------------------------- generation
 * Batched autoregressive sampling with the KV cache (agents/generate.c). Each sequence
 * draws from its own stream rz_rng_stream(seed, key[0], key[1], key[2]) (step, prompt,
 * sample), and the decoder's rows are independent, so a sequence's completion is the same
 * bit for bit alone or in any batch, for any OMP_NUM_THREADS. */

#define RZ_GEN_MAX_STOP 8

typedef struct {
    int max_new;          /* completion tokens at most, >= 1 */
    rz_sampling sampling; /* temperature 0 = greedy */
    int eos;              /* stops when sampled (and is kept); default RZ_TOK_EOS, -1 = none */
    int nstop;            /* stop token sequences, kept in the completion when they end it */
    const int *stop_seqs[RZ_GEN_MAX_STOP];
    int stop_lens[RZ_GEN_MAX_STOP];
} rz_gen_config;

enum { RZ_GEN_MAXLEN = 0, RZ_GEN_EOS = 1, RZ_GEN_STOPSEQ = 2 }; /* why a sequence ended */

typedef struct {
    int n, max_new;
    int *tokens;        /* (n, max_new) completion tokens, <pad> after len */
    float *logp;        /* (n, max_new) log-prob of each drawn token (see rz_sample_token), 0 after len */
    int *len;           /* (n) completion lengths, 1..max_new */
    uint8_t *truncated; /* (n) 1: reached max_new without EOS or a stop sequence */
    uint8_t *reason;    /* (n) RZ_GEN_* */
    long generated;     /* sum(len) */
} rz_gen_result;

/* max_new 64, rz_sampling_default, eos RZ_TOK_EOS, no stop sequences. */
void rz_gen_config_default(rz_gen_config *cfg);
/* Generates one completion per prompt. prompts[i] holds prompt_len[i] >= 1 tokens (include
 * <bos> yourself); prompt_len[i] + max_new must fit the model's context. keys (n, 3) are
 * (step, prompt index, sample index) per sequence. cache may be NULL (one is made for the
 * call); a cache passed in (reused across calls for speed) needs >= n slots and
 * >= max(prompt_len) + max_new - 1 positions. out must be zeroed or a previous result: its
 * buffers are reused when n and max_new match, reallocated otherwise. */
int rz_generate(rz_gen_result *out, rz_transformer *m, rz_kvcache *cache,
                const int *const *prompts, const int *prompt_len, int n, const rz_gen_config *cfg,
                uint64_t seed, const uint64_t *keys /* (n, 3) */, rz_error *err);
void rz_gen_result_free(rz_gen_result *r); /* safe on a zeroed struct */

/* ------------------------------------------------------- GRPO trainer
 * agents/grpo.c, in two phases so that rewards can come from anywhere (a C verifier, a Lua
 * function called outside any parallel region):
 *   rz_grpo_rollout(t, prompts, P, step)  G completions per prompt, appended to the pending
 *                                         batch (call again to sample more groups);
 *   grade rz_grpo_completion / _text of each pending completion;
 *   rz_grpo_update(t, rewards, &metrics)  advantages, mu passes of minibatch AdamW steps on
 *                                         the pending batch, which is then cleared.
 * Completion i of the pending batch belongs to group i / G (its prompt), sample i % G. */

typedef struct {
    int group;                 /* G completions per prompt, >= 1 (>= 2 to learn anything) */
    float eps_low, eps_high;   /* clip range of the ratio */
    float beta;                /* KL coefficient; 0 allocates no reference model */
    int kl;                    /* RZ_KL_* */
    int agg;                   /* RZ_AGG_* */
    int estimator;             /* RZ_EST_* */
    int scale;                 /* RZ_SCALE_* */
    int mu;                    /* passes over each batch; 1 makes the ratio exactly 1 */
    int minibatches;           /* optimizer steps per pass (clamped to the sequences) */
    int ref_reset;             /* copy the policy into the reference every K updates; 0 never */
    int mask_truncated;        /* truncated completions carry no loss */
    int overlong_max;          /* DAPO soft overlong penalty added to rewards; 0 = off */
    int overlong_cache;
    int dynamic_sampling;      /* drop groups whose (penalised) rewards all agree */
    int shards;                /* each minibatch's gradient is the left-to-right sum of this
                                * many row blocks' gradients; over MPI every rank computes its
                                * share of the blocks. 0: one per rank (1 without MPI). The
                                * result depends on shards, never on the number of ranks */
    rz_gen_config gen;         /* max_new, sampling, eos, stop sequences */
    rz_adamw_config opt;
    uint64_t seed;             /* of the sampling streams */
} rz_grpo_config;

typedef struct {
    long step;                   /* updates done before this one */
    int groups, completions;     /* in the batch */
    int groups_kept;             /* after dynamic sampling */
    double reward_mean, reward_std;   /* the caller's rewards, over all completions */
    double shaped_mean;          /* after the overlong penalty */
    double frac_reward_zero_std; /* groups whose shaped rewards all agree */
    double len_mean;
    int len_min, len_max;
    double frac_truncated;
    double entropy;              /* mean token entropy of the policy on the trained tokens */
    double kl;                   /* mean KL to the reference (0 when beta = 0) */
    double clip_low, clip_high, clip_frac;
    double ratio_mean, ratio_min, ratio_max;
    double loss;                 /* mean over optimizer steps of the minibatch loss */
    double grad_norm;            /* mean over optimizer steps, before clipping */
    double lr;                   /* of the last optimizer step */
    int updates, skipped;        /* optimizer steps taken; skipped for NaN/Inf */
    char nonfinite[256];         /* when skipped > 0: the first skip's reason (update, tensor) */
    long gen_tokens;             /* completion tokens sampled since the last update */
    double gen_seconds, gen_tokens_per_s, update_seconds, step_seconds;
    double comm_seconds;         /* of update_seconds, in the ranks' gradient sums (MPI) */
} rz_grpo_metrics;

typedef struct rz_grpo rz_grpo;

/* G 8, eps 0.2/0.2, beta 0, k3, token aggregation, GRPO estimator, group scale, mu 1,
 * 1 minibatch, no ref reset, no masking, no overlong penalty, no dynamic sampling,
 * rz_gen_config_default, rz_adamw_config_default, seed 0. */
void rz_grpo_config_default(rz_grpo_config *cfg);
int rz_grpo_config_check(const rz_grpo_config *cfg, rz_error *err);
/* The policy is borrowed (trained in place); tok (optional, borrowed) decodes completions.
 * The stop sequences in cfg are copied. */
int rz_grpo_create(rz_grpo **out, rz_transformer *policy, const rz_tokenizer *tok,
                   const rz_grpo_config *cfg, rz_error *err);
void rz_grpo_free(rz_grpo *t); /* safe on NULL */
/* Samples G completions for each of P prompts (token arrays, <bos> included) with keys
 * (step, index of the group in the pending batch, sample). *first (may be NULL) gets the
 * index of the first new completion. */
int rz_grpo_rollout(rz_grpo *t, const int *const *prompts, const int *prompt_len, int P,
                    long step, int *first, rz_error *err);
/* The same from text: each prompt is encoded after a <bos> (needs the tokenizer). */
int rz_grpo_rollout_text(rz_grpo *t, const char *const *prompts, int P, long step, int *first,
                         rz_error *err);
int rz_grpo_pending(const rz_grpo *t); /* completions waiting for rewards */
/* Completion i: its tokens (*len of them, EOS or stop sequence included), truncated flag,
 * and its text (NULL without a tokenizer; <eos> is not in the text). NULL when out of range. */
const int *rz_grpo_completion(const rz_grpo *t, int i, int *len, int *truncated);
const char *rz_grpo_completion_text(const rz_grpo *t, int i);
/* Dynamic sampling's view of rewards for the pending batch: keep (pending / G). */
int rz_grpo_informative(const rz_grpo *t, const float *rewards, uint8_t *keep);
/* Trains on the pending batch with rewards (rz_grpo_pending(t)), then clears it (on an error
 * it is kept). A batch with no informative group (dynamic sampling) makes no optimizer step.
 * Rewards pass through the overlong penalty before advantages; a minibatch whose loss or
 * gradient is NaN/Inf is skipped (counted in metrics->skipped). metrics may be NULL. */
int rz_grpo_update(rz_grpo *t, const float *rewards, rz_grpo_metrics *metrics, rz_error *err);
rz_transformer *rz_grpo_reference(rz_grpo *t); /* NULL when beta = 0 */
/* The advantage the last rz_grpo_update gave its completion i (in pending order), NaN
 * when that completion was not trained on (a dropped group) or i is out of range. */
double rz_grpo_advantage(const rz_grpo *t, int i);
long rz_grpo_steps(const rz_grpo *t);           /* updates done */
long rz_grpo_opt_steps(const rz_grpo *t);       /* optimizer steps taken (the LR schedule's clock) */
/* Resuming: restores both counters (the policy's weights and moments come from a checkpoint). */
void rz_grpo_set_steps(rz_grpo *t, long updates, long opt_steps);

/* --------------------------------------------------------------- agents: SFT */

/* A packed supervised batch: row i is <bos> prompt completion <eos>, right-padded with
 * <pad>; position t predicts targets[i, t]; weights are 1 on completion tokens (and the
 * closing <eos>) only. */
typedef struct {
    int B, T;
    int *tokens;    /* (B, T) */
    int *targets;   /* (B, T) */
    float *weights; /* (B, T) */
    int count;      /* tokens that carry loss */
} rz_sft_batch;

/* prompts may be NULL (plain text: every token learned). truncate != 0 cuts examples
 * longer than context + 1 tokens instead of refusing them. */
int rz_sft_batch_build(rz_sft_batch *b, const rz_tokenizer *tok, const char *const *prompts,
                       const char *const *completions, int n, int context, int truncate,
                       rz_error *err);
void rz_sft_batch_free(rz_sft_batch *b);
/* Where a NaN/Inf in m comes from, for error messages: the first parameter tensor holding
 * one ("parameter 'model.norm.weight' holds NaN/Inf"), else the first non-finite logit of the
 * last forward over (B, T) ("logits at (b 0, t 3) are not finite, parameters finite"), else
 * a note that both are finite. Writes at most cap bytes to buf; returns buf. */
char *rz_transformer_nonfinite(rz_transformer *m, int B, int T, char *buf, size_t cap);
/* zero_grad, weighted cross-entropy forward/backward, one AdamW update. A NaN/Inf loss or
 * gradient is RZ_ERR_NONFINITE naming the step and the tensor (rz_transformer_nonfinite);
 * the parameters are left unchanged. */
int rz_sft_step(rz_transformer *m, const rz_adamw_config *opt, long step, const rz_sft_batch *b,
                float *loss, float *grad_norm, rz_error *err);

/* --------------------------------------------------------------- agents: evaluation */

/* Held-out evaluation of a transformer on a verifier environment (agents/evaluate.c):
 * n items of a split, each prompt wrapped as prefix + prompt + suffix after <bos>. */
typedef struct {
    int items;            /* how many items, from index `first` of the split */
    int64_t first;
    int split;            /* RZ_SPLIT_TEST (default) or RZ_SPLIT_TRAIN */
    int k;                /* samples per item for pass@1 sampled, pass@k and maj@k; 0 = none */
    int max_new;          /* completion tokens at most */
    rz_sampling sampling; /* for the k samples (greedy is always run too) */
    uint64_t seed;        /* of the items and of the sampling streams */
    const char *prefix, *suffix; /* the prompt template */
    int batch;            /* sequences per generation call */
} rz_eval_config;

typedef struct {
    int items, k;
    double pass1_greedy;  /* accuracy of the greedy completion */
    double pass1_sampled; /* mean accuracy of the k samples */
    double pass_k;        /* any of the k samples right */
    double maj_k;         /* the most frequent answer among the k samples is right */
    double format, language; /* means over the greedy completions */
    double len_mean;      /* mean completion length in tokens (greedy and sampled) */
    char **greedy_texts;  /* (items) the greedy completions */
    uint8_t *greedy_correct; /* (items) */
} rz_eval_result;

void rz_eval_config_default(rz_eval_config *c); /* 100 test items, k 0, 64 new tokens, T 1 */
int rz_evaluate(rz_eval_result *out, rz_transformer *m, const rz_tokenizer *tok, const rz_env *env,
                const rz_eval_config *cfg, rz_error *err);
void rz_eval_result_free(rz_eval_result *r);

/* --------------------------------------------------------------- agents: episode logs */

/* A run's sampled episodes (agents/episodes.c): a msgpack header map followed by one map
 * per episode, appended as training goes (RUN_DIR/episodes.msgpack). */
typedef struct {
    int64_t step;          /* the training step that sampled it (1-based) */
    int group;             /* the prompt's group within the step (1-based) */
    int tokens, truncated; /* completion length; hit max_new */
    double reward;         /* the weighted total the trainer used */
    double accuracy, format, language; /* the environment's components */
    double advantage;      /* NaN when not known (e.g. a group dynamic sampling dropped) */
    char *prompt, *answer, *completion; /* never NULL after a read */
} rz_episode;

typedef struct {
    rz_episode *items;
    int count, cap;
} rz_episodes;

/* Appends n episodes (the header first when the file is new or empty) in one write. */
int rz_episodes_append(const char *path, const rz_episode *eps, int n, rz_error *err);
/* Parses a whole log from bytes (a pure function; name only labels messages). A missing
 * header, a truncated tail or a malformed map is RZ_ERR_FORMAT naming the byte offset and
 * how many complete episodes precede it; *out is empty then. */
int rz_episodes_parse(rz_episodes *out, const void *data, size_t len, const char *name, rz_error *err);
int rz_episodes_read(rz_episodes *out, const char *path, rz_error *err);
/* Keeps only the episodes of steps <= max_step (a resumed run), rewritten atomically; a
 * missing file is fine. */
int rz_episodes_truncate(const char *path, int64_t max_step, rz_error *err);
void rz_episodes_free(rz_episodes *e); /* safe on a zeroed struct */
/* -------------------------------------------------------- agents: self-play
 * Game policies trained from the rules alone (agents/selfplay.c) and evaluated against
 * reference players and each other (agents/arena.c). */

/* An agent is a policy MLP or a reference player, both borrowed. A policy reads
 * rz_game_observe and picks among the legal actions by rz_sample_token at `temperature`
 * (0 = greedy: the lowest id among the best). Its mlp needs inputs == obs_size and
 * outputs == num_actions of the game it plays. */
typedef struct {
    rz_mlp *mlp;       /* a policy, or NULL */
    rz_player *player; /* a reference player, or NULL (exactly one of the two is set) */
    float temperature; /* policies only */
    int search_depth;  /* policies with a value head: > 0 picks moves by rz_search_scores at
                        * this depth (softmax of the scores at temperature; temperature 0:
                        * rz_search_best, the best, lowest id among equals) instead of the
                        * policy head; 0 = policy */
    long solve_nodes;  /* a greedy search (search_depth > 0, temperature 0) with exact end
                        * games: > 0 tries rz_search_best_solved's exact solve within this
                        * many nodes at every move first; 0 = off */
} rz_agent;

#define RZ_SEARCH_MAX_DEPTH 8

/* Depth-limited negamax over the rules, from the network's own value head: for each of n
 * non-terminal roots, scores[i, a] is the value of legal move a for the player to move
 * (illegal: -INFINITY): the subtree of `depth` plies (1..RZ_SEARCH_MAX_DEPTH) expanded in
 * full, terminal nodes worth their true return, non-terminal nodes at the horizon their
 * value-head output, each ply backed up by negamax and discounted by 0.999 (sooner wins
 * score higher). m must have a value head (rz_mlp_config.value); its activations are
 * overwritten. The same for any thread count. */
int rz_search_scores(const rz_game *g, rz_mlp *m, const void *states /* (n, state_size) */, int n,
                     int depth, float *scores /* (n, num_actions) */, rz_error *err);
/* The same, for training with held-out positions (holdout k > 0, rz_position_heldout): a
 * held-out node at the horizon is not scored by the network (never trained there) but
 * looked past, up to 4 more plies. k = 0 is rz_search_scores. */
int rz_search_scores_holdout(const rz_game *g, rz_mlp *m, const void *states, int n, int depth,
                             int holdout, float *scores, rz_error *err);

/* The greedy move of the same search at one non-terminal root, found by alpha-beta: the
 * lowest id among the best of rz_search_scores' scores (two scores that differ only by the
 * rounding of the network's batched outputs may order differently). Children are searched
 * best first by the value head, so a deep search visits a small part of the tree.
 * *value: the root's value for its mover; *nodes: the nodes generated (either may be
 * NULL). m's activations are overwritten. */
int rz_search_best(const rz_game *g, rz_mlp *m, const void *state, int depth, int *action,
                   float *value, long *nodes, rz_error *err);

/* rz_search_best with exact end games: the root's value is first decided by the rules
 * (rz_solver_wdl within max_nodes nodes, from an empty table, so the move depends on the
 * position alone). Undecided: rz_search_best's move. A win: the fastest win when the exact
 * search (rz_solver_solve) also finishes within max_nodes, else the moves proven to keep
 * the win, the network's search choosing among them. A draw: the moves proven to keep the
 * draw; a loss: every move (each child decided within max_nodes). Among those, the ones
 * with the most traps (opponent replies after which the value is better for the mover,
 * each decided within max_nodes) are kept when there are any, and the network's search
 * chooses among the rest: against a perfect opponent nothing more can be had, against a
 * fallible one this keeps the most chances. Should no child be decided within the budget,
 * rz_search_best's move. *exact (may be NULL): the root's exact value for its mover
 * (+1, 0, -1) or RZ_SEARCH_UNSOLVED. */
#define RZ_SEARCH_UNSOLVED 2
int rz_search_best_solved(const rz_game *g, rz_mlp *m, rz_solver *sv, long max_nodes,
                          const void *state, int depth, int *action, int *exact, rz_error *err);

/* One move at a non-terminal state (a terminal one is RZ_ERR_ILLEGAL). Not thread-safe
 * (the mlp's activations and the player's scratch are used). */
int rz_agent_act(const rz_game *g, const rz_agent *a, const void *state, rz_rng *rng,
                 int *action, rz_error *err);

typedef struct {
    int positions;       /* P start positions per step */
    int group;           /* G >= 2 games from each start position */
    int opening_max;     /* a start position is the initial state after k uniformly random
                          * legal moves, k uniform in 0..opening_max (a move that would end
                          * the game ends the opening instead) */
    float temperature;   /* sampling temperature of both seats in self-play, > 0 */
    int mu;              /* passes over each step's decisions (1: rho = 1, the clip idles) */
    int minibatches;     /* optimizer updates per pass, over a shuffled split */
    int estimator;       /* RZ_EST_* */
    int scale;           /* RZ_SCALE_* */
    rz_objective obj;    /* clip, beta, KL estimator, aggregation (T = 1: one decision) */
    int ref_reset;       /* beta > 0: the reference policy is the policy at the last step that
                          * is a multiple of ref_reset (0: the initial policy for ever) */
    float entropy_coef;  /* adds -entropy_coef * (mean policy entropy over the trained
                          * decisions) to the loss, against early collapse; 0 = off */
    int first_plies;     /* k > 0: only the first k decisions of each game (from its start
                          * position, shared by its group) carry loss; the rest of the game
                          * only rolls out the outcome. 0 = every decision */
    int holdout;         /* k > 0: decisions at held-out positions (rz_position_heldout)
                          * carry no loss, so the policy never learns there; 0 = none */
    int start_pool;      /* k > 0: start positions are drawn uniformly from the distinct
                          * non-terminal positions reachable from the initial state (by
                          * observation, held-out ones left out), enumerated at create;
                          * more than k of them is RZ_ERR_ARG. 0 = random openings */
    int explore;         /* k > 0: the first k plies of each game ignore the policy (exploring
                          * starts): at the first, game g of a group plays legal move number
                          * (g + o) mod n of its n legal moves (o uniform per group, so the
                          * group covers the moves evenly), later ones are uniform; these
                          * decisions are trained like any other. 0 = off */
    float value_coef;    /* > 0: the network gets a value head (expected return for the player
                          * to move), trained by value_coef * mean squared error toward its
                          * targets at every decision in the loss (held-out positions carry
                          * none); 0 = no value head */
    float value_lambda;  /* the targets: TD(lambda) over each game, y_t = (1 - lambda) sv_t +
                          * lambda y_{t+1} (y_{t+1} negated for the other player; past the
                          * last decision the final return), sv_t the search value at the
                          * decision (search_depth > 0); without search, or lambda = 1, y_t is
                          * the final return for the mover */
    int search_depth;    /* > 0 (needs value_coef > 0): self-play moves come from
                          * rz_search_scores at this depth, sampled from softmax(scores /
                          * search_temperature), and the policy head is trained by cross-
                          * entropy toward the search's best move (expert iteration) instead
                          * of GRPO; 0 = the policy plays and GRPO trains it */
    float search_temperature; /* > 0 */
    int mirror;          /* 1: each decision enters the update as itself or, with probability
                          * 1/2, as its mirror image (rz_game_mirror: observation, legal
                          * moves and move reflected, same return and value target), as
                          * AlphaGo Zero augments its data; the game must have a reflection.
                          * 0 = off */
    long solve_nodes;    /* > 0 (needs value_coef > 0): exact value targets where the rules can
                          * decide them: after each step's games, every game's decisions are
                          * decided exactly (win, draw or loss: rz_solver_wdl, at most
                          * solve_nodes nodes each), from the last back to the first the
                          * solver cannot decide, and a decided decision's value target is
                          * its exact value (+1, 0, -1 for the mover) instead of the
                          * TD(lambda) target, which earlier decisions then bootstrap from;
                          * 0 = off */
    rz_adamw_config opt; /* warmup and total_steps count trainer steps (rz_selfplay_step) */
    uint64_t seed;
} rz_selfplay_config;

/* positions 16, group 8, opening_max 2, temperature 1, mu 1, minibatches 1, GRPO with
 * group scale, rz_objective_default, ref_reset 0, entropy_coef 0, first_plies 0, holdout 0,
 * start_pool 0, explore 0, value_coef 0, value_lambda 1, search_depth 0,
 * search_temperature 0.1, mirror 0, solve_nodes 0, rz_adamw_config_default with
 * lr 3e-3, grad_clip 1, seed 1. */
void rz_selfplay_config_default(rz_selfplay_config *cfg);
/* Names the bad field. */
int rz_selfplay_config_check(const rz_selfplay_config *cfg, rz_error *err);

/* Metrics of one step (seats are the game's players 0 and 1). */
typedef struct {
    double games, decisions, trained; /* self-play games, all decisions, decisions in the loss */
    double win0, win1, draw;          /* fractions of games won by player 0 / 1, drawn */
    double length_mean, length_max;   /* plies of each game from its start position */
    double zero_std_frac;             /* groups whose outcomes all agree (no signal) */
    double value_loss;                /* mean squared error of the value head (before its
                                       * coefficient), mean over updates; 0 without one */
    double solved, solve_seconds;     /* solve_nodes > 0: the fraction of decisions with an
                                       * exact value target, and the time to solve them */
    double entropy;                   /* mean policy entropy at the trained decisions */
    double loss, kl, clip_frac, clip_low, clip_high, ratio_mean; /* means over updates */
    double grad_norm;                 /* before clipping, mean over updates */
    double lr;
    double play_seconds, train_seconds;
    double comm_seconds;              /* gathering the games of the ranks (MPI) */
} rz_selfplay_stats;

typedef struct rz_selfplay rz_selfplay;

/* The game must outlive the trainer. mlp's inputs and outputs are taken from the game
 * (any values there are overwritten); its weights are drawn from mlp_seed. */
int rz_selfplay_create(rz_selfplay **out, const rz_game *g, const rz_mlp_config *mlp,
                       uint64_t mlp_seed, const rz_selfplay_config *cfg, rz_error *err);
void rz_selfplay_free(rz_selfplay *t);
rz_mlp *rz_selfplay_policy(rz_selfplay *t);
const rz_selfplay_config *rz_selfplay_cfg(const rz_selfplay *t);
long rz_selfplay_steps(const rz_selfplay *t); /* steps done */
/* Sets the count of steps done (after restoring params and moments from a checkpoint), so
 * a resumed run draws the same games as an uninterrupted one. */
int rz_selfplay_set_steps(rz_selfplay *t, long steps, rz_error *err);
/* Plays P * G games with the current policy in both seats and applies mu * minibatches
 * updates. Step s draws start position p from rz_rng_stream(seed, s, p, 0) and game g of
 * it from rz_rng_stream(seed, s, p, g + 1); games run in lockstep, one batched forward
 * per ply, OpenMP over games, so the result is bitwise the same for any thread count.
 * The reward of a decision is the final return of the player who made it; advantages
 * are computed in each group for the player to move at its start position and negated
 * for the other (for zero-sum returns this equals normalising each seat separately). */
int rz_selfplay_step(rz_selfplay *t, rz_selfplay_stats *st, rz_error *err);

/* The gradient of the entropy bonus, -c * sum_n w_n H_n / sum_n w_n with H the entropy of
 * softmax(logits[n]) (masked -INFINITY entries excluded): accumulates into dlogits. */
void rz_selfplay_entropy_backward(float *dlogits /* (N, A) */, const float *logits /* (N, A) */,
                                  const float *w /* (N) */, int N, int A, float c);

/* Whether a position is held out (k > 0): a 64-bit hash of its observation, mod k, is
 * 0. The observation identifies a position for every game here (nim: the pile sizes), so
 * the split does not depend on the move order that reached it. */
int rz_position_heldout(const rz_game *g, const void *state, int k);

typedef struct {
    int wins, draws, losses; /* from the first agent's point of view */
    double plies_mean;       /* game length */
} rz_arena_result;

/* games games from the initial state, a in seat a_seat (0 moves first) and b in the other.
 * Game i draws from rz_rng_stream(seed, i, 0, 0) (both agents' random choices). Games run
 * in lockstep with OpenMP over games; each reference player gets one instance per
 * thread, and a greedy search (search_depth > 0, temperature 0) one copy of its network
 * per thread; the result does not depend on the thread count. a and b may be the same. */
int rz_arena_play(const rz_game *g, const rz_agent *a, const rz_agent *b, int a_seat, int games,
                  uint64_t seed, rz_arena_result *res, rz_error *err);

/* Every line perfect play can choose against a greedy policy: a walks the game tree
 * from the initial state in seat a_seat, taking its greedy move (any temperature is
 * treated as 0); at each of the opponent's turns every value-preserving move (exact
 * solver, within max_nodes per call) is followed. res counts the lines (leaves) by their
 * outcome for a; "no loss against perfect play" is res->losses == 0. a must be a policy. */
int rz_arena_perfect_lines(const rz_game *g, const rz_agent *a, int a_seat, long max_nodes,
                           rz_arena_result *res, rz_error *err);

/* Winning-move accuracy: over the distinct non-terminal positions reachable from the
 * initial state (distinct observations, at most max_positions of them) in which the mover
 * can force a win (exact solver), *correct counts those where a's greedy move keeps a
 * forced win (nim: leaves XOR 0). holdout k > 0 keeps only held-out positions, k < 0 only
 * the others (k = -h: not held out under h), 0 all. */
int rz_arena_winning_moves(const rz_game *g, const rz_agent *a, int holdout, long max_positions,
                           long max_nodes, long *positions, long *correct, rz_error *err);

/* Elo ratings from a round robin: points[i*K + j] is what i scored against j (a win 1, a
 * draw 1/2) in games[i*K + j] games (symmetric). The Bradley-Terry maximum-likelihood fit
 * (MM iterations) with `prior` virtual draws added to every pair that played, which keeps
 * ratings finite when someone wins or loses everything; elo = 400 log10(gamma), shifted
 * so that elo[anchor] = 0. Players that played nobody get 0. */
int rz_elo_fit(double *elo /* (K) */, const double *points /* (K, K) */,
               const double *games /* (K, K) */, int K, int anchor, double prior, rz_error *err);


/* ====================================================================== distributed
 * Data parallelism over MPI (core/dist.c; configure --with-mpi). Without MPI, or before
 * rz_dist_init, the world is one process of rank 0 and every call is local. The trainers
 * use these on MPI_COMM_WORLD: every rank must make the same calls in the same order. */

/* 1 when built with MPI (configure --with-mpi), else 0. */
int rz_dist_available(void);
/* MPI_Init_thread (funneled) unless MPI is already initialised; a no-op without MPI. */
int rz_dist_init(int *argc, char ***argv, rz_error *err);
void rz_dist_finalize(void); /* MPI_Finalize when initialised and not finalised */
int rz_dist_rank(void);      /* this process's rank: 0 without MPI */
int rz_dist_size(void);      /* the number of ranks: 1 without MPI */
void rz_dist_abort(int code); /* MPI_Abort of every rank when size > 1; returns otherwise */
/* The contiguous share [lo, hi) of n items that rank `rank` of `size` owns (rank order). */
void rz_dist_share(long n, int rank, int size, long *lo, long *hi);
int rz_dist_barrier(rz_error *err);
int rz_dist_bcast(void *buf, size_t bytes, int root, rz_error *err);
int rz_dist_max_int(int *x, rz_error *err); /* *x = the maximum over the ranks */
/* buf holds n items of `item` bytes; each rank has filled its rz_dist_share of them; on
 * return every rank holds all n. */
int rz_dist_allgather(void *buf, long n, size_t item, rz_error *err);
/* out (len) = the sum, left to right, of every rank's parts (nparts of len floats each,
 * nparts may be 0) taken in rank order: bit for bit what one process summing all the
 * parts in that order gets. The first part is copied, not added to 0 (no -0 + 0). *any
 * (may be NULL): whether any rank had a part (otherwise out is untouched). The seconds
 * spent are added to *seconds (may be NULL). */
int rz_dist_ordered_sum(float *out, const float *parts, int nparts, size_t len, int *any,
                        double *seconds, rz_error *err);

#ifdef __cplusplus
}
#endif
#endif /* RLZERO_H */

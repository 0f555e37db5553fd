/* test_nonfinite.c: a NaN or Inf in a forward or backward pass is reported with the step
 * and the tensor's name, and never trained on: SFT refuses the step (parameters unchanged),
 * GRPO skips the minibatch and says why in its metrics, generation refuses to sample.
 * (The logits branch of rz_transformer_nonfinite is not reached here: no finite weights
 * found so far overflow the logits without first overflowing the loss's backward.) */
#include <math.h>

#include "test.h"

static rz_transformer *tiny(void)
{
    rz_transformer_config c;
    rz_transformer_config_default(&c);
    c.vocab = 8;
    c.dim = 16;
    c.layers = 1;
    c.heads = 2;
    c.context = 8;
    rz_error err = {0};
    rz_transformer *m = NULL;
    REQUIRE(rz_transformer_create(&m, &c, 1, &err) == RZ_OK);
    return m;
}

static float *tensor(rz_transformer *m, const char *name)
{
    rz_params *p = rz_transformer_params(m);
    const rz_tensor *t = rz_params_find(p, name);
    REQUIRE(t);
    return p->param + t->offset;
}

int main(void)
{
    rz_error err = {0};
    rz_transformer *m = tiny();
    rz_params *p = rz_transformer_params(m);
    char buf[200];
    CHECK(strcmp(rz_transformer_nonfinite(m, 0, 0, buf, sizeof buf), "parameters and logits finite") == 0);

    /* SFT: a NaN weight is named with the step; the parameters are left as they were */
    int tokens[2 * 4] = {1, 3, 4, 5, 1, 5, 4, 3}, targets[2 * 4] = {3, 4, 5, 2, 5, 4, 3, 2};
    float weights[2 * 4] = {1, 1, 1, 1, 1, 1, 1, 1};
    rz_sft_batch b = {0};
    b.tokens = tokens, b.targets = targets, b.weights = weights, b.B = 2, b.T = 4;
    rz_adamw_config opt;
    rz_adamw_config_default(&opt);
    float loss = 0, gn = 0;
    CHECK_OK(rz_sft_step(m, &opt, 0, &b, &loss, &gn, &err), &err);
    float *w = tensor(m, "model.layers.0.mlp.up_proj.weight");
    w[5] = NAN;
    float *before = malloc(p->numel * sizeof *before);
    REQUIRE(before);
    memcpy(before, p->param, p->numel * sizeof *before);
    CHECK(rz_sft_step(m, &opt, 7, &b, &loss, &gn, &err) == RZ_ERR_NONFINITE);
    CHECKF(strstr(err.msg, "step 7") && strstr(err.msg, "model.layers.0.mlp.up_proj.weight"),
           "message: %s", err.msg);
    CHECK(memcmp(before, p->param, p->numel * sizeof *before) == 0);
    /* huge finite weights: the backward overflows, and AdamW names the gradient's tensor */
    w[5] = 0.0f;
    float *emb = tensor(m, "model.embed_tokens.weight"), *norm = tensor(m, "model.norm.weight");
    for (int i = 0; i < 8 * 16; i++) emb[i] = 3e38f;
    for (int i = 0; i < 16; i++) norm[i] = 3e38f;
    memcpy(before, p->param, p->numel * sizeof *before);
    CHECK(rz_sft_step(m, &opt, 9, &b, &loss, &gn, &err) == RZ_ERR_NONFINITE);
    CHECKF(strstr(err.msg, "step 9") && strstr(err.msg, "'model.embed_tokens.weight'"), "message: %s", err.msg);
    CHECK(memcmp(before, p->param, p->numel * sizeof *before) == 0);
    rz_transformer_free(m);

    /* GRPO: a rollout with finite weights, then a NaN: the update skips and names it */
    m = tiny();
    rz_grpo_config gc;
    rz_grpo_config_default(&gc);
    gc.group = 4;
    gc.gen.max_new = 3;
    rz_grpo *t = NULL;
    CHECK_OK(rz_grpo_create(&t, m, NULL, &gc, &err), &err);
    int p0[] = {1, 3, 4};
    const int *pp[1] = {p0};
    int pl[1] = {3};
    CHECK_OK(rz_grpo_rollout(t, pp, pl, 1, 0, NULL, &err), &err);
    float rewards[4] = {0, 1, 0, 1};
    tensor(m, "model.norm.weight")[3] = INFINITY;
    rz_grpo_metrics mt;
    CHECK_OK(rz_grpo_update(t, rewards, &mt, &err), &err);
    CHECKF(mt.skipped == 1 && mt.updates == 0, "skipped %d updates %d", mt.skipped, mt.updates);
    CHECKF(strstr(mt.nonfinite, "update 0") && strstr(mt.nonfinite, "model.norm.weight"),
           "nonfinite: %s", mt.nonfinite);
    CHECK(isinf(tensor(m, "model.norm.weight")[3])); /* untouched: nothing was trained */
    /* generation refuses to sample from NaN logits */
    CHECK(rz_grpo_rollout(t, pp, pl, 1, 1, NULL, &err) == RZ_ERR_NONFINITE);
    CHECKF(strstr(err.msg, "NaN/Inf"), "message: %s", err.msg);
    rz_grpo_free(t);
    rz_transformer_free(m);
    free(before);
    return test_done("test_nonfinite");
}

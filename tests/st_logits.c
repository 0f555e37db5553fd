/* st_logits: a helper for test_hf_load.sh.
 *   st_logits export DIR TIED      writes a fixed random model (seed 5) to DIR
 *   st_logits logits DIR ID...     imports DIR and prints the logits of the sequence,
 *                                  one line of V numbers per position
 * Exit 0 on success, 99 on any error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

static int fail(const char *what, const rz_error *err)
{
    fprintf(stderr, "st_logits: %s: %s\n", what, err->msg);
    return 99;
}

int main(int argc, char **argv)
{
    rz_error err = {0};
    if (argc == 4 && strcmp(argv[1], "export") == 0) {
        rz_transformer_config cfg;
        rz_transformer_config_default(&cfg);
        cfg.vocab = 37;
        cfg.dim = 32;
        cfg.layers = 2;
        cfg.heads = 4;
        cfg.context = 32;
        cfg.tied = atoi(argv[3]) != 0;
        rz_transformer *m;
        if (rz_transformer_create(&m, &cfg, 5, &err)) return fail("create", &err);
        /* larger than the init's 0.02 so that attention and RoPE visibly matter, and norms
         * away from 1 */
        rz_params *p = rz_transformer_params(m);
        rz_rng rng;
        rz_rng_seed(&rng, 6);
        for (size_t j = 0; j < p->numel; j++) p->param[j] = 0.2f * rz_rng_normal(&rng);
        int rc = rz_transformer_export(m, argv[2], NULL, &err);
        rz_transformer_free(m);
        return rc ? fail("export", &err) : 0;
    }
    if (argc >= 4 && strcmp(argv[1], "logits") == 0) {
        rz_transformer *m;
        if (rz_transformer_import(&m, argv[2], &err)) return fail("import", &err);
        int T = argc - 3;
        int *tok = malloc((size_t)T * sizeof *tok);
        if (!tok) return 99;
        for (int t = 0; t < T; t++) tok[t] = atoi(argv[3 + t]);
        if (rz_transformer_forward(m, tok, 1, T, &err)) return fail("forward", &err);
        const float *lg = rz_transformer_logits(m);
        int V = rz_transformer_cfg(m)->vocab;
        for (int t = 0; t < T; t++)
            for (int v = 0; v < V; v++) printf("%.9g%c", (double)lg[(size_t)t * V + v], v + 1 < V ? ' ' : '\n');
        free(tok);
        rz_transformer_free(m);
        return 0;
    }
    fprintf(stderr, "usage: st_logits export DIR TIED | st_logits logits DIR ID...\n");
    return 99;
}

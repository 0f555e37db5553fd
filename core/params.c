/* params.c: the parameter layout table and its four buffers (param, grad, AdamW m, v). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rlzero.h"

int rz_params_add(rz_params *p, const char *name, int ndim, const int *shape, int decay,
                  rz_error *err)
{
    if (p->param) return rz_error_set(err, RZ_ERR_STATE, "params: add '%s' after alloc", name);
    if (ndim < 1 || ndim > RZ_MAX_DIMS)
        return rz_error_set(err, RZ_ERR_ARG, "params: tensor '%s' has %d dims (1..%d)", name, ndim,
                            RZ_MAX_DIMS);
    if (strlen(name) >= RZ_NAME_MAX)
        return rz_error_set(err, RZ_ERR_ARG, "params: tensor name '%.40s...' is too long", name);
    if (rz_params_find(p, name))
        return rz_error_set(err, RZ_ERR_ARG, "params: tensor '%s' added twice", name);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return rz_error_set(err, RZ_ERR_ARG, "params: tensor '%s' has dim %d = %d", name, i,
                                shape[i]);
        if (numel > SIZE_MAX / 16 / (size_t)shape[i])
            return rz_error_set(err, RZ_ERR_NOMEM, "params: tensor '%s' is too large", name);
        numel *= (size_t)shape[i];
    }
    if (p->count == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        rz_tensor *t = realloc(p->tensors, (size_t)cap * sizeof *t);
        if (!t) return rz_error_set(err, RZ_ERR_NOMEM, "params: cannot grow the layout table");
        p->tensors = t;
        p->cap = cap;
    }
    rz_tensor *t = &p->tensors[p->count++];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    /* keep every tensor 16-float (64-byte) aligned inside the buffers */
    t->offset = (p->numel + 15) & ~(size_t)15;
    t->numel = numel;
    t->decay = decay;
    p->numel = t->offset + numel;
    return RZ_OK;
}

int rz_params_alloc(rz_params *p, rz_error *err)
{
    if (p->param) return rz_error_set(err, RZ_ERR_STATE, "params: already allocated");
    if (p->numel > SIZE_MAX / sizeof(float) / 4)
        return rz_error_set(err, RZ_ERR_NOMEM, "params: %zu parameters is too many", p->numel);
    size_t bytes = p->numel * sizeof(float), phys = rz_memory_bytes();
    /* the four buffers together: each alone may fit and still all four not */
    if (phys && 4 * bytes > phys)
        return rz_error_set(err, RZ_ERR_NOMEM,
                            "params: %zu parameters need %zu bytes (%.1f GiB) for weights, "
                            "gradients and AdamW moments: more than the machine's %.1f GiB of memory",
                            p->numel, 4 * bytes, (double)(4 * bytes) / (1u << 30),
                            (double)phys / (1u << 30));
    float **bufs[4] = {&p->param, &p->grad, &p->m, &p->v};
    const char *what[4] = {"parameters", "gradients", "AdamW first moments", "AdamW second moments"};
    for (int i = 0; i < 4; i++) {
        *bufs[i] = rz_alloc(bytes, what[i], err);
        if (!*bufs[i]) {
            for (int j = 0; j < i; j++) {
                rz_free(*bufs[j]);
                *bufs[j] = NULL;
            }
            return RZ_ERR_NOMEM;
        }
    }
    return RZ_OK;
}

void rz_params_free(rz_params *p)
{
    if (!p) return;
    free(p->tensors);
    rz_free(p->param);
    rz_free(p->grad);
    rz_free(p->m);
    rz_free(p->v);
    memset(p, 0, sizeof *p);
}

const rz_tensor *rz_params_find(const rz_params *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->tensors[i].name, name) == 0) return &p->tensors[i];
    return NULL;
}

void rz_params_zero_grad(rz_params *p)
{
    if (p->grad) memset(p->grad, 0, p->numel * sizeof(float));
}

const char *rz_params_nonfinite(const rz_params *p, const float *buf)
{
    for (int i = 0; i < p->count; i++) {
        const float *x = buf + p->tensors[i].offset;
        for (size_t j = 0; j < p->tensors[i].numel; j++)
            if (!isfinite(x[j])) return p->tensors[i].name;
    }
    return NULL;
}

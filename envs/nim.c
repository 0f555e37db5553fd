/* nim.c: Nim under normal play (whoever takes the last object wins).
 * nim(piles=3;5;7): up to 8 piles of 1..15 objects. Action = pile * M + take - 1, where M is
 * the largest initial pile and 1 <= take <= the pile's current size. */
#include <stdio.h>
#include <string.h>

#include "game.h"

#define MAX_PILES 8
#define MAX_PILE 15

typedef struct {
    uint8_t piles[MAX_PILES];
    uint8_t moves;
    int8_t status;
    uint8_t history[MAX_PILES * MAX_PILE];
} nim_state;

static int nim_init(rz_game *g, const rz_spec *s, rz_error *err)
{
    long piles[MAX_PILES];
    int n = 0, rc = rz_spec_int_list(s, "piles", "3;5;7", 1, MAX_PILE, piles, MAX_PILES, &n, err);
    if (rc) return rc;
    size_t used = 0;
    rz_game_append(g->name, sizeof g->name, &used, "nim(piles=");
    g->npiles = n;
    g->max_pile = 0;
    g->max_moves = 0;
    for (int i = 0; i < n; i++) {
        g->piles[i] = (int)piles[i];
        if (g->piles[i] > g->max_pile) g->max_pile = g->piles[i];
        g->max_moves += g->piles[i];
        rz_game_append(g->name, sizeof g->name, &used, i ? ";%d" : "%d", g->piles[i]);
    }
    rz_game_append(g->name, sizeof g->name, &used, ")");
    g->num_actions = n * g->max_pile;
    g->obs_size = g->max_moves + 4 * n;
    g->state_size = sizeof(nim_state);
    return RZ_OK;
}

static void nim_reset(const rz_game *g, void *st)
{
    nim_state *s = st;
    for (int i = 0; i < g->npiles; i++) s->piles[i] = (uint8_t)g->piles[i];
    s->status = RZ_GAME_ONGOING;
}

static int nim_status(const rz_game *g, const void *st) { return ((const nim_state *)st)->status; }
static int nim_to_move(const rz_game *g, const void *st) { return ((const nim_state *)st)->moves & 1; }

static int nim_legal(const rz_game *g, const void *st, uint8_t *mask)
{
    const nim_state *s = st;
    int n = 0, M = g->max_pile;
    for (int i = 0; i < g->npiles; i++)
        for (int t = 1; t <= M; t++)
            n += mask[i * M + t - 1] = s->status == RZ_GAME_ONGOING && t <= s->piles[i];
    return n;
}

static void nim_apply(const rz_game *g, void *st, int a)
{
    nim_state *s = st;
    s->piles[a / g->max_pile] -= (uint8_t)(a % g->max_pile + 1);
    s->history[s->moves++] = (uint8_t)a;
    int left = 0;
    for (int i = 0; i < g->npiles; i++) left += s->piles[i];
    if (left == 0) s->status = (int8_t)((s->moves - 1) & 1); /* the last mover took the last object */
}

static int nim_history(const rz_game *g, const void *st, const uint8_t **h)
{
    *h = ((const nim_state *)st)->history;
    return ((const nim_state *)st)->moves;
}

static void nim_observe(const rz_game *g, const void *st, float *obs)
{
    const nim_state *s = st;
    float *unary = obs, *binary = obs + g->max_moves;
    for (int i = 0; i < g->npiles; i++) {
        for (int k = 0; k < g->piles[i]; k++) *unary++ = (float)(k < s->piles[i]);
        for (int b = 0; b < 4; b++) binary[4 * i + b] = (float)(s->piles[i] >> b & 1);
    }
}

static int nim_render(const rz_game *g, const void *st, char *buf, size_t cap)
{
    const nim_state *s = st;
    size_t used = 0;
    for (int i = 0; i < g->npiles; i++) {
        rz_game_append(buf, cap, &used, "%d: %2d ", i, s->piles[i]);
        for (int k = 0; k < s->piles[i]; k++) rz_game_append(buf, cap, &used, "|");
        rz_game_append(buf, cap, &used, "\n");
    }
    if (s->status == RZ_GAME_ONGOING) rz_game_append(buf, cap, &used, "player %d to move\n", s->moves & 1);
    else rz_game_append(buf, cap, &used, "player %d wins\n", s->status);
    return (int)used;
}

/* The piles and the move count (which the search scores need) fit in 40 bits: exact. */
static uint64_t nim_key(const rz_game *g, const void *st)
{
    const nim_state *s = st;
    uint64_t k = s->moves;
    for (int i = 0; i < g->npiles; i++) k = k << 4 | s->piles[i];
    return k;
}

const rz_game_def rz_game_nim = {
    .name = "nim",
    .keys = (const char *const[]){"piles", NULL},
    .init = nim_init,
    .reset = nim_reset,
    .status = nim_status,
    .to_move = nim_to_move,
    .legal = nim_legal,
    .apply = nim_apply,
    .history = nim_history,
    .observe = nim_observe,
    .render = nim_render,
    .key = nim_key,
};

/* tictactoe.c: 3x3 noughts and crosses. Player 0 is 'x' and moves first; action = row*3 + col. */
#include <string.h>

#include "game.h"

typedef struct {
    uint16_t cells[2]; /* bit row*3 + col: the stones of each player */
    uint8_t moves;
    int8_t status; /* RZ_GAME_ONGOING, winner, RZ_GAME_DRAW */
    uint8_t history[9];
} ttt_state;

static const uint16_t lines[8] = {0007, 0070, 0700, 0111, 0222, 0444, 0421, 0124};

static int ttt_init(rz_game *g, const rz_spec *s, rz_error *err)
{
    strcpy(g->name, "tictactoe");
    g->num_actions = 9;
    g->obs_size = 27;
    g->max_moves = 9;
    g->state_size = sizeof(ttt_state);
    return RZ_OK;
}

static void ttt_reset(const rz_game *g, void *st) { ((ttt_state *)st)->status = RZ_GAME_ONGOING; }
static int ttt_status(const rz_game *g, const void *st) { return ((const ttt_state *)st)->status; }
static int ttt_to_move(const rz_game *g, const void *st) { return ((const ttt_state *)st)->moves & 1; }

static int ttt_legal(const rz_game *g, const void *st, uint8_t *mask)
{
    const ttt_state *s = st;
    int full = s->cells[0] | s->cells[1], n = 0;
    for (int i = 0; i < 9; i++) n += mask[i] = s->status == RZ_GAME_ONGOING && !(full >> i & 1);
    return n;
}

static void ttt_apply(const rz_game *g, void *st, int a)
{
    ttt_state *s = st;
    int p = s->moves & 1;
    s->cells[p] |= (uint16_t)(1u << a);
    s->history[s->moves++] = (uint8_t)a;
    for (int l = 0; l < 8; l++)
        if ((s->cells[p] & lines[l]) == lines[l]) s->status = (int8_t)p;
    if (s->status == RZ_GAME_ONGOING && s->moves == 9) s->status = RZ_GAME_DRAW;
}

static int ttt_history(const rz_game *g, const void *st, const uint8_t **h)
{
    *h = ((const ttt_state *)st)->history;
    return ((const ttt_state *)st)->moves;
}

static void ttt_observe(const rz_game *g, const void *st, float *obs)
{
    const ttt_state *s = st;
    int me = s->moves & 1;
    for (int i = 0; i < 9; i++) {
        int mine = s->cells[me] >> i & 1, theirs = s->cells[1 - me] >> i & 1;
        obs[i] = (float)mine;
        obs[9 + i] = (float)theirs;
        obs[18 + i] = (float)!(mine | theirs);
    }
}

static void ttt_mirror(const rz_game *g, int *obs_map, int *action_map)
{
    rz_game_mirror_planes(obs_map, 3, 3, 3);
    for (int i = 0; i < 9; i++) action_map[i] = i / 3 * 3 + 2 - i % 3;
}

static int ttt_render(const rz_game *g, const void *st, char *buf, size_t cap)
{
    const ttt_state *s = st;
    size_t used = 0;
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++) {
            int i = r * 3 + c;
            rz_game_append(buf, cap, &used, "%c", s->cells[0] >> i & 1 ? 'x' : s->cells[1] >> i & 1 ? 'o' : '.');
        }
        rz_game_append(buf, cap, &used, "\n");
    }
    if (s->status == RZ_GAME_ONGOING) rz_game_append(buf, cap, &used, "%c to move\n", "xo"[s->moves & 1]);
    else if (s->status == RZ_GAME_DRAW) rz_game_append(buf, cap, &used, "draw\n");
    else rz_game_append(buf, cap, &used, "%c wins\n", "xo"[s->status]);
    return (int)used;
}

static uint64_t ttt_key(const rz_game *g, const void *st)
{
    const ttt_state *s = st;
    return (uint64_t)s->cells[0] | (uint64_t)s->cells[1] << 9; /* exact; fixes the move count */
}

/* The centre, then corners, then edges: a static order that makes alpha-beta cut early. */
static int ttt_order(const rz_game *g, const void *st, int *moves)
{
    static const int pref[9] = {4, 0, 2, 6, 8, 1, 3, 5, 7};
    const ttt_state *s = st;
    int full = s->cells[0] | s->cells[1], n = 0;
    for (int i = 0; i < 9; i++)
        if (!(full >> pref[i] & 1)) moves[n++] = pref[i];
    return n;
}

const rz_game_def rz_game_tictactoe = {
    .name = "tictactoe",
    .keys = (const char *const[]){NULL},
    .init = ttt_init,
    .reset = ttt_reset,
    .status = ttt_status,
    .to_move = ttt_to_move,
    .legal = ttt_legal,
    .apply = ttt_apply,
    .history = ttt_history,
    .observe = ttt_observe,
    .render = ttt_render,
    .order = ttt_order,
    .key = ttt_key,
    .mirror = ttt_mirror,
};

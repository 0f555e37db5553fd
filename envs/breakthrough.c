/* breakthrough.c: Breakthrough on an n x n board (5 <= n <= 8, default 6).
 *
 * Each player starts with two full rows: player 0 ('x', moves first) on rows 0 and 1,
 * player 1 ('o') on rows n-2 and n-1. A piece moves one row forward, straight into an empty
 * cell or diagonally into a cell that is empty or holds an opponent piece (a capture).
 * Reaching the far row wins; so does capturing every opponent piece, and a player left with
 * no legal move loses (rare, but possible when every piece is blocked). Every move advances
 * a piece one row, so a game lasts at most 2n(2n-3) moves.
 * Action = (row*n + col)*3 + d with d = 0 (diagonal to col-1), 1 (straight), 2 (col+1). */
#include <string.h>

#include "game.h"

#define MAXN 8

typedef struct {
    uint64_t bb[2]; /* bit row*n + col */
    uint8_t moves;
    int8_t status;
    uint8_t history[2 * MAXN * (2 * MAXN - 3)];
} bt_state;

static int bt_init(rz_game *g, const rz_spec *s, rz_error *err)
{
    long n;
    int rc = rz_spec_int(s, "size", 6, 5, MAXN, &n, err);
    if (rc) return rc;
    g->size = (int)n;
    size_t used = 0;
    rz_game_append(g->name, sizeof g->name, &used, "breakthrough(size=%d)", g->size);
    g->num_actions = 3 * g->size * g->size;
    g->obs_size = 3 * g->size * g->size;
    g->max_moves = 2 * g->size * (2 * g->size - 3);
    g->state_size = sizeof(bt_state);
    return RZ_OK;
}

static void bt_reset(const rz_game *g, void *st)
{
    bt_state *s = st;
    int n = g->size;
    uint64_t two_rows = (1ULL << (2 * n)) - 1;
    s->bb[0] = two_rows;
    s->bb[1] = two_rows << (n * (n - 2));
    s->status = RZ_GAME_ONGOING;
}

static int bt_status(const rz_game *g, const void *st) { return ((const bt_state *)st)->status; }
static int bt_to_move(const rz_game *g, const void *st) { return ((const bt_state *)st)->moves & 1; }

/* The legal moves of player p into moves (if not NULL); returns their count and counts captures. */
static int gen_moves(const rz_game *g, const bt_state *s, int p, int *moves, int *captures)
{
    int n = g->size, fwd = p ? -1 : 1, count = 0;
    uint64_t mine = s->bb[p], theirs = s->bb[1 - p];
    if (captures) *captures = 0;
    for (uint64_t b = mine; b; b &= b - 1) {
        int cell = __builtin_ctzll(b), r = cell / n, c = cell % n, nr = r + fwd;
        if (nr < 0 || nr >= n) continue;
        for (int d = 0; d < 3; d++) {
            int nc = c + d - 1;
            if (nc < 0 || nc >= n) continue;
            uint64_t to = 1ULL << (nr * n + nc);
            if (to & mine) continue;
            if (d == 1 && (to & theirs)) continue;
            if (moves) moves[count] = cell * 3 + d;
            if (captures && (to & theirs)) (*captures)++;
            count++;
        }
    }
    return count;
}

static int bt_legal(const rz_game *g, const void *st, uint8_t *mask)
{
    const bt_state *s = st;
    int moves[3 * MAXN * MAXN];
    memset(mask, 0, (size_t)g->num_actions);
    if (s->status != RZ_GAME_ONGOING) return 0;
    int n = gen_moves(g, s, s->moves & 1, moves, NULL);
    for (int i = 0; i < n; i++) mask[moves[i]] = 1;
    return n;
}

static void bt_apply(const rz_game *g, void *st, int a)
{
    bt_state *s = st;
    int n = g->size, p = s->moves & 1;
    int cell = a / 3, d = a % 3, nr = cell / n + (p ? -1 : 1), nc = cell % n + d - 1;
    uint64_t to = 1ULL << (nr * n + nc);
    s->bb[p] = (s->bb[p] & ~(1ULL << cell)) | to;
    s->bb[1 - p] &= ~to;
    s->history[s->moves++] = (uint8_t)a;
    if (nr == (p ? 0 : n - 1) || !s->bb[1 - p] || !gen_moves(g, s, 1 - p, NULL, NULL))
        s->status = (int8_t)p;
}

static int bt_history(const rz_game *g, const void *st, const uint8_t **h)
{
    *h = ((const bt_state *)st)->history;
    return ((const bt_state *)st)->moves;
}

static void bt_observe(const rz_game *g, const void *st, float *obs)
{
    const bt_state *s = st;
    int n = g->size, me = s->moves & 1, cells = n * n;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            int bit = r * n + c, i = (me ? n - 1 - r : r) * n + c;
            int mine = (int)(s->bb[me] >> bit & 1), theirs = (int)(s->bb[1 - me] >> bit & 1);
            obs[i] = (float)mine;
            obs[cells + i] = (float)theirs;
            obs[2 * cells + i] = (float)!(mine | theirs);
        }
}

/* a move of the piece at (r, c) toward column c + d - 1 becomes one of the piece at
 * (r, n - 1 - c) toward n - 1 - c - (d - 1) */
static void bt_mirror(const rz_game *g, int *obs_map, int *action_map)
{
    int n = g->size;
    rz_game_mirror_planes(obs_map, 3, n, n);
    for (int a = 0; a < g->num_actions; a++) {
        int cell = a / 3, d = a % 3;
        action_map[a] = (cell / n * n + n - 1 - cell % n) * 3 + 2 - d;
    }
}

static int bt_render(const rz_game *g, const void *st, char *buf, size_t cap)
{
    const bt_state *s = st;
    int n = g->size;
    size_t used = 0;
    for (int r = n - 1; r >= 0; r--) {
        rz_game_append(buf, cap, &used, "%d ", r);
        for (int c = 0; c < n; c++) {
            int bit = r * n + c;
            rz_game_append(buf, cap, &used, "%c", s->bb[0] >> bit & 1 ? 'x' : s->bb[1] >> bit & 1 ? 'o' : '.');
        }
        rz_game_append(buf, cap, &used, "\n");
    }
    rz_game_append(buf, cap, &used, "  ");
    for (int c = 0; c < n; c++) rz_game_append(buf, cap, &used, "%d", c);
    rz_game_append(buf, cap, &used, "\n");
    if (s->status == RZ_GAME_ONGOING) rz_game_append(buf, cap, &used, "%c to move\n", "xo"[s->moves & 1]);
    else rz_game_append(buf, cap, &used, "%c wins\n", "xo"[s->status]);
    return (int)used;
}

/* A winning move alone; otherwise captures first. */
static int bt_order(const rz_game *g, const void *st, int *moves)
{
    const bt_state *s = st;
    int n = g->size, p = s->moves & 1, goal = p ? 0 : n - 1;
    int all[3 * MAXN * MAXN];
    int count = gen_moves(g, s, p, all, NULL), k = 0;
    for (int i = 0; i < count; i++) {
        int cell = all[i] / 3;
        if (cell / n + (p ? -1 : 1) == goal) {
            moves[0] = all[i];
            return 1;
        }
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < count; i++) {
            int cell = all[i] / 3, d = all[i] % 3;
            int to = (cell / n + (p ? -1 : 1)) * n + cell % n + d - 1;
            int capture = (int)(s->bb[1 - p] >> to & 1);
            if (capture == !pass) moves[k++] = all[i];
        }
    return k;
}

static int advancement(const rz_game *g, uint64_t pieces, int p, int *near_goal)
{
    int n = g->size, sum = 0;
    *near_goal = 0;
    for (uint64_t b = pieces; b; b &= b - 1) {
        int r = __builtin_ctzll(b) / n, adv = p ? n - 1 - r : r;
        sum += adv;
        if (n - 1 - adv <= 2) *near_goal += 3 - (n - 1 - adv); /* 1 row away: 2, two rows: 1 */
    }
    return sum;
}

static int bt_evaluate(const rz_game *g, const void *st)
{
    const bt_state *s = st;
    int p = s->moves & 1, near_me, near_opp;
    int adv_me = advancement(g, s->bb[p], p, &near_me);
    int adv_opp = advancement(g, s->bb[1 - p], 1 - p, &near_opp);
    return 10 * (__builtin_popcountll(s->bb[p]) - __builtin_popcountll(s->bb[1 - p])) +
           (adv_me - adv_opp) + 3 * (near_me - near_opp);
}

static uint64_t bt_key(const rz_game *g, const void *st)
{
    const bt_state *s = st;
    return rz_game_mix(s->bb[0] ^ rz_game_mix(s->bb[1] ^ rz_game_mix(s->moves + 1)));
}

const rz_game_def rz_game_breakthrough = {
    .name = "breakthrough",
    .keys = (const char *const[]){"size", NULL},
    .init = bt_init,
    .reset = bt_reset,
    .status = bt_status,
    .to_move = bt_to_move,
    .legal = bt_legal,
    .apply = bt_apply,
    .history = bt_history,
    .observe = bt_observe,
    .render = bt_render,
    .order = bt_order,
    .evaluate = bt_evaluate,
    .key = bt_key,
    .mirror = bt_mirror,
};

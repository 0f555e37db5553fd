/* connect4.c: Connect Four on 7 columns of 6 rows. Player 0 ('x') moves first; action = column.
 *
 * Bitboards as in Pascal Pons' solver: bit col*7 + row (row 0 at the bottom), each column
 * with a spare bit on top so that shifts never carry a line from one column into the next.
 * The search hooks follow his solver too: an immediate win is the only move searched,
 * forced blocks are played, moves under an opponent's threat are skipped, and the rest are
 * ordered by the threats they create, then by distance to the centre. */
#include <string.h>

#include "game.h"

#define W 7
#define H 6
#define H1 (H + 1)

typedef struct {
    uint64_t bb[2]; /* the stones of each player */
    uint8_t moves;
    int8_t status;
    uint8_t history[W * H];
} c4_state;

static const uint64_t bottom = 0x0040810204081ULL;     /* bit 0 of every column */
static const uint64_t board = 0x0040810204081ULL * 63; /* the 6 playable rows of every column */
static const uint64_t centre = 63ULL << (3 * H1);
static const int centre_first[W] = {3, 2, 4, 1, 5, 0, 6};

static uint64_t column_bits(int c) { return 63ULL << (c * H1); }

static int aligned(uint64_t p)
{
    static const int dirs[4] = {1, H1, H, H + 2}; /* vertical, horizontal, two diagonals */
    for (int d = 0; d < 4; d++) {
        uint64_t m = p & (p >> dirs[d]);
        if (m & (m >> (2 * dirs[d]))) return 1;
    }
    return 0;
}

/* The empty cells where p would complete four (whether playable now or not). */
static uint64_t threats(uint64_t p, uint64_t mask)
{
    uint64_t r = (p << 1) & (p << 2) & (p << 3);
    static const int dirs[3] = {H1, H, H + 2};
    for (int d = 0; d < 3; d++) {
        int s = dirs[d];
        uint64_t q = (p << s) & (p << 2 * s);
        r |= q & (p << 3 * s);
        r |= q & (p >> s);
        q = (p >> s) & (p >> 2 * s);
        r |= q & (p << s);
        r |= q & (p >> 3 * s);
    }
    return r & (board ^ mask);
}

static uint64_t playable(uint64_t mask) { return (mask + bottom) & board; }

static int c4_init(rz_game *g, const rz_spec *s, rz_error *err)
{
    strcpy(g->name, "connect4");
    g->num_actions = W;
    g->obs_size = 3 * W * H;
    g->max_moves = W * H;
    g->state_size = sizeof(c4_state);
    return RZ_OK;
}

static void c4_reset(const rz_game *g, void *st) { ((c4_state *)st)->status = RZ_GAME_ONGOING; }
static int c4_status(const rz_game *g, const void *st) { return ((const c4_state *)st)->status; }
static int c4_to_move(const rz_game *g, const void *st) { return ((const c4_state *)st)->moves & 1; }

static int c4_legal(const rz_game *g, const void *st, uint8_t *mask)
{
    const c4_state *s = st;
    uint64_t free_cells = playable(s->bb[0] | s->bb[1]);
    int n = 0;
    for (int c = 0; c < W; c++)
        n += mask[c] = s->status == RZ_GAME_ONGOING && (free_cells & column_bits(c)) != 0;
    return n;
}

static void c4_apply(const rz_game *g, void *st, int a)
{
    c4_state *s = st;
    int p = s->moves & 1;
    uint64_t mask = s->bb[0] | s->bb[1];
    s->bb[p] |= playable(mask) & column_bits(a);
    s->history[s->moves++] = (uint8_t)a;
    if (aligned(s->bb[p])) s->status = (int8_t)p;
    else if (s->moves == W * H) s->status = RZ_GAME_DRAW;
}

static int c4_history(const rz_game *g, const void *st, const uint8_t **h)
{
    *h = ((const c4_state *)st)->history;
    return ((const c4_state *)st)->moves;
}

static void c4_observe(const rz_game *g, const void *st, float *obs)
{
    const c4_state *s = st;
    int me = s->moves & 1;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            int i = r * W + c, bit = c * H1 + r;
            int mine = (int)(s->bb[me] >> bit & 1), theirs = (int)(s->bb[1 - me] >> bit & 1);
            obs[i] = (float)mine;
            obs[W * H + i] = (float)theirs;
            obs[2 * W * H + i] = (float)!(mine | theirs);
        }
}

static int c4_render(const rz_game *g, const void *st, char *buf, size_t cap)
{
    const c4_state *s = st;
    size_t used = 0;
    for (int r = H - 1; r >= 0; r--) {
        for (int c = 0; c < W; c++) {
            int bit = c * H1 + r;
            rz_game_append(buf, cap, &used, "%c", s->bb[0] >> bit & 1 ? 'x' : s->bb[1] >> bit & 1 ? 'o' : '.');
        }
        rz_game_append(buf, cap, &used, "\n");
    }
    rz_game_append(buf, cap, &used, "0123456\n");
    if (s->status == RZ_GAME_ONGOING) rz_game_append(buf, cap, &used, "%c to move\n", "xo"[s->moves & 1]);
    else if (s->status == RZ_GAME_DRAW) rz_game_append(buf, cap, &used, "draw\n");
    else rz_game_append(buf, cap, &used, "%c wins\n", "xo"[s->status]);
    return (int)used;
}

static int popcount(uint64_t x) { return __builtin_popcountll(x); }

static int c4_order(const rz_game *g, const void *st, int *moves)
{
    const c4_state *s = st;
    int p = s->moves & 1;
    uint64_t me = s->bb[p], opp = s->bb[1 - p], mask = me | opp;
    uint64_t possible = playable(mask);
    uint64_t win = threats(me, mask) & possible;
    uint64_t first = win;
    if (!win) {
        uint64_t opp_threats = threats(opp, mask);
        uint64_t forced = possible & opp_threats;
        if (forced & (forced - 1)) first = forced; /* two threats to block: every move loses */
        else {
            if (forced) possible = forced;
            uint64_t safe = possible & ~(opp_threats >> 1);
            first = safe ? 0 : possible; /* every move lets the opponent win at once */
            possible = safe;
        }
    }
    if (first) { /* one move decides the value: play it alone */
        for (int i = 0; i < W; i++)
            if (first & column_bits(centre_first[i])) {
                moves[0] = centre_first[i];
                return 1;
            }
    }
    int n = 0, score[W];
    for (int i = 0; i < W; i++) {
        int c = centre_first[i];
        uint64_t m = possible & column_bits(c);
        if (!m) continue;
        int sc = popcount(threats(me | m, mask) & board & ~(mask | m));
        int j = n++;
        for (; j > 0 && score[j - 1] < sc; j--) { /* stable: the centre wins ties */
            score[j] = score[j - 1];
            moves[j] = moves[j - 1];
        }
        score[j] = sc;
        moves[j] = c;
    }
    return n;
}

static int c4_evaluate(const rz_game *g, const void *st)
{
    const c4_state *s = st;
    int p = s->moves & 1;
    uint64_t me = s->bb[p], opp = s->bb[1 - p], mask = me | opp;
    return 4 * (popcount(threats(me, mask)) - popcount(threats(opp, mask))) +
           popcount(me & centre) - popcount(opp & centre);
}

static void c4_mirror(const rz_game *g, int *obs_map, int *action_map)
{
    rz_game_mirror_planes(obs_map, 3, H, W);
    for (int c = 0; c < W; c++) action_map[c] = W - 1 - c;
}

/* stones of the mover plus a marker bit above each column's top stone: exact and unique */
static uint64_t c4_key(const rz_game *g, const void *st)
{
    const c4_state *s = st;
    uint64_t mask = s->bb[0] | s->bb[1];
    return s->bb[s->moves & 1] + mask + bottom;
}

const rz_game_def rz_game_connect4 = {
    .name = "connect4",
    .keys = (const char *const[]){NULL},
    .init = c4_init,
    .reset = c4_reset,
    .status = c4_status,
    .to_move = c4_to_move,
    .legal = c4_legal,
    .apply = c4_apply,
    .history = c4_history,
    .observe = c4_observe,
    .render = c4_render,
    .order = c4_order,
    .evaluate = c4_evaluate,
    .key = c4_key,
    .mirror = c4_mirror,
};

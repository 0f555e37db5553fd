/* game.h: the table a game fills in to join the registry (internal to librlzero).
 *
 * A game is one C file defining one rz_game_def. The public rz_game_* functions in games.c
 * validate arguments and then call these hooks, so a hook may assume its inputs are valid
 * (apply gets a legal action of a non-terminal state). States are plain structs of
 * state_size bytes that hold no pointers: clone is memcpy, and every byte is a function of
 * the move history (reset zeroes the whole struct), so equal histories compare equal with
 * memcmp. Every game here stores its history in the state: serialization is that history. */
#ifndef RZ_GAME_H
#define RZ_GAME_H

#include "rlzero.h"

#define RZ_GAME_STATE_MAX 512   /* bytes: the largest state_size a game may declare */
#define RZ_GAME_ACTIONS_MAX 256 /* actions fit in a uint8_t history entry */

enum { RZ_GAME_ONGOING = -1, RZ_GAME_DRAW = 2 }; /* status: -1, a winner 0 or 1, or a draw */

/* Search scores, from the point of view of the player to move: a win that ends the game
 * after T moves in total is RZ_GAME_WIN - T, a loss -(RZ_GAME_WIN - T), a draw 0. They
 * depend on the position only (T counts from the start), so a transposition table can
 * store them as they are, and the fastest win / slowest loss scores best. Heuristic
 * evaluations stay within +-RZ_GAME_HEUR. */
#define RZ_GAME_WIN 10000
#define RZ_GAME_HEUR 5000

typedef struct rz_game_def rz_game_def;

struct rz_game {
    const rz_game_def *def;
    char name[160]; /* canonical spec */
    int num_actions, obs_size, max_moves;
    size_t state_size;
    /* parameters, by game */
    int size;                       /* breakthrough: board side */
    int npiles, max_pile, piles[8]; /* nim: initial piles; actions are pile * max_pile + take - 1 */
};

struct rz_game_def {
    const char *name;
    const char *const *keys; /* allowed parameters, NULL-terminated */
    /* Reads the parameters, fills name, num_actions, obs_size, max_moves, state_size. */
    int (*init)(rz_game *g, const rz_spec *s, rz_error *err);
    void (*reset)(const rz_game *g, void *st);
    int (*status)(const rz_game *g, const void *st);  /* RZ_GAME_ONGOING, 0, 1, RZ_GAME_DRAW */
    int (*to_move)(const rz_game *g, const void *st); /* 0 or 1 (valid while ongoing) */
    /* Fills all num_actions entries of mask (0 when terminal); returns the legal count. */
    int (*legal)(const rz_game *g, const void *st, uint8_t *mask);
    void (*apply)(const rz_game *g, void *st, int action); /* action legal, state ongoing */
    int (*history)(const rz_game *g, const void *st, const uint8_t **actions); /* moves played */
    void (*observe)(const rz_game *g, const void *st, float *obs);
    int (*render)(const rz_game *g, const void *st, char *buf, size_t cap); /* snprintf-like */

    /* Search hooks, all optional. order: the moves worth searching, best first (it may drop
     * moves that cannot change the exact value, e.g. keep only an immediate win); returns
     * their count (>= 1 for an ongoing state). evaluate: a heuristic score for the player to
     * move, |score| <= RZ_GAME_HEUR. key: a hash of the position for transposition tables
     * (it must determine the number of moves played, see RZ_GAME_WIN). */
    int (*order)(const rz_game *g, const void *st, int *moves);
    int (*evaluate)(const rz_game *g, const void *st);
    uint64_t (*key)(const rz_game *g, const void *st);
    /* Optional: the game's left-right reflection, as index maps (rz_game_mirror). */
    void (*mirror)(const rz_game *g, int *obs_map, int *action_map);
};

extern const rz_game_def rz_game_tictactoe, rz_game_connect4, rz_game_nim, rz_game_breakthrough;

/* snprintf into buf at *used, keeping *used the length the full text would need. */
void rz_game_append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The observation map of a left-right reflection for observations made of `planes`
 * planes of rows x cols cells, cell (r, c) at plane * rows * cols + r * cols + c. */
void rz_game_mirror_planes(int *obs_map, int planes, int rows, int cols);

/* A 64-bit mix (splitmix64's finaliser) for position keys. */
static inline uint64_t rz_game_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

#endif

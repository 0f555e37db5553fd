/* games.c: the game registry and the checked public side of the game interface.
 * Each game is one rz_game_def (game.h); adding one is a C file and a line in `registry`. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game.h"

static const rz_game_def *const registry[] = {
    &rz_game_tictactoe,
    &rz_game_connect4,
    &rz_game_nim,
    &rz_game_breakthrough,
};
#define NGAMES ((int)(sizeof registry / sizeof *registry))

int rz_games_list(const char **names, int cap)
{
    for (int i = 0; i < NGAMES && i < cap; i++) names[i] = registry[i]->name;
    return NGAMES;
}

void rz_game_append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*used < cap ? buf + *used : NULL, *used < cap ? cap - *used : 0, fmt, ap);
    va_end(ap);
    if (n > 0) *used += (size_t)n;
}

int rz_game_create(rz_game **out, const char *spec, rz_error *err)
{
    *out = NULL;
    rz_spec s;
    int rc = rz_spec_parse(&s, spec, err);
    if (rc) return rc;
    const rz_game_def *def = NULL;
    for (int i = 0; i < NGAMES; i++)
        if (strcmp(registry[i]->name, s.name) == 0) def = registry[i];
    if (!def) {
        char list[256];
        size_t used = 0;
        list[0] = '\0';
        for (int i = 0; i < NGAMES; i++)
            rz_game_append(list, sizeof list, &used, "%s%s", i ? ", " : "", registry[i]->name);
        return rz_error_set(err, RZ_ERR_ARG, "unknown game '%s' (known: %s)", s.name, list);
    }
    if ((rc = rz_spec_check_keys(&s, def->keys, err))) return rc;
    rz_game *g = rz_alloc(sizeof *g, "game", err);
    if (!g) return RZ_ERR_NOMEM;
    g->def = def;
    if ((rc = def->init(g, &s, err))) {
        rz_free(g);
        return rc;
    }
    if (g->state_size > RZ_GAME_STATE_MAX || g->num_actions > RZ_GAME_ACTIONS_MAX) {
        rz_free(g);
        return rz_error_set(err, RZ_ERR_ARG, "%s: state or action space too large", spec);
    }
    *out = g;
    return RZ_OK;
}

void rz_game_free(rz_game *g) { rz_free(g); }
const char *rz_game_name(const rz_game *g) { return g->name; }
int rz_game_num_actions(const rz_game *g) { return g->num_actions; }
int rz_game_obs_size(const rz_game *g) { return g->obs_size; }
int rz_game_max_moves(const rz_game *g) { return g->max_moves; }
size_t rz_game_state_size(const rz_game *g) { return g->state_size; }

void rz_game_reset(const rz_game *g, void *state)
{
    memset(state, 0, g->state_size);
    g->def->reset(g, state);
}

int rz_game_is_terminal(const rz_game *g, const void *state)
{
    return g->def->status(g, state) != RZ_GAME_ONGOING;
}

int rz_game_current_player(const rz_game *g, const void *state)
{
    return rz_game_is_terminal(g, state) ? -1 : g->def->to_move(g, state);
}

int rz_game_legal(const rz_game *g, const void *state, uint8_t *mask)
{
    if (rz_game_is_terminal(g, state)) {
        memset(mask, 0, (size_t)g->num_actions);
        return 0;
    }
    return g->def->legal(g, state, mask);
}

int rz_game_move_count(const rz_game *g, const void *state)
{
    const uint8_t *h;
    return g->def->history(g, state, &h);
}

int rz_game_apply(const rz_game *g, void *state, int action, rz_error *err)
{
    if (rz_game_is_terminal(g, state))
        return rz_error_set(err, RZ_ERR_ILLEGAL, "%s: action %d in a finished game", g->name, action);
    if (action < 0 || action >= g->num_actions)
        return rz_error_set(err, RZ_ERR_ILLEGAL, "%s: action %d is out of range [0, %d)", g->name,
                            action, g->num_actions);
    uint8_t mask[RZ_GAME_ACTIONS_MAX];
    g->def->legal(g, state, mask);
    if (!mask[action])
        return rz_error_set(err, RZ_ERR_ILLEGAL, "%s: action %d is illegal here", g->name, action);
    g->def->apply(g, state, action);
    return RZ_OK;
}

void rz_game_returns(const rz_game *g, const void *state, double *returns)
{
    int s = g->def->status(g, state);
    returns[0] = returns[1] = 0.0;
    if (s == 0 || s == 1) {
        returns[s] = 1.0;
        returns[1 - s] = -1.0;
    }
}

void rz_game_observe(const rz_game *g, const void *state, float *obs)
{
    g->def->observe(g, state, obs);
}

int rz_game_mirror(const rz_game *g, int *obs_map, int *action_map)
{
    if (!g->def->mirror) return 0;
    g->def->mirror(g, obs_map, action_map);
    return 1;
}

void rz_game_mirror_planes(int *obs_map, int planes, int rows, int cols)
{
    for (int p = 0; p < planes; p++)
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                obs_map[(p * rows + r) * cols + c] = (p * rows + r) * cols + cols - 1 - c;
}

int rz_game_render(const rz_game *g, const void *state, char *buf, size_t cap)
{
    if (cap) buf[0] = '\0';
    return g->def->render(g, state, buf, cap);
}

int rz_game_serialize(const rz_game *g, const void *state, char *buf, size_t cap)
{
    const uint8_t *h;
    int n = g->def->history(g, state, &h);
    size_t used = 0;
    if (cap) buf[0] = '\0';
    for (int i = 0; i < n; i++) rz_game_append(buf, cap, &used, i ? " %d" : "%d", h[i]);
    return (int)used;
}

int rz_game_deserialize(const rz_game *g, void *state, const char *text, rz_error *err)
{
    /* replay into a scratch state so that a failure leaves *state alone */
    _Alignas(16) unsigned char tmp[RZ_GAME_STATE_MAX];
    if (!text) return rz_error_set(err, RZ_ERR_FORMAT, "%s: no text to deserialize", g->name);
    rz_game_reset(g, tmp);
    const char *p = text;
    for (int move = 0;; move++) {
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0') break;
        if (!isdigit((unsigned char)*p))
            return rz_error_set(err, RZ_ERR_FORMAT, "%s: expected a number at offset %zu of the history",
                                g->name, (size_t)(p - text));
        long a = 0;
        while (isdigit((unsigned char)*p)) {
            if (a < 1000000) a = a * 10 + (*p - '0');
            p++;
        }
        if (*p && !isspace((unsigned char)*p))
            return rz_error_set(err, RZ_ERR_FORMAT, "%s: unexpected character at offset %zu of the history",
                                g->name, (size_t)(p - text));
        rz_error e2;
        if (rz_game_apply(g, tmp, (int)a, &e2))
            return rz_error_set(err, RZ_ERR_ILLEGAL, "%s: move %d of the history (%ld) is illegal",
                                g->name, move + 1, a);
    }
    memcpy(state, tmp, g->state_size);
    return RZ_OK;
}

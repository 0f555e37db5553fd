/* pons.h: Pascal Pons' Connect Four test positions (tests/data/connect4, see its README)
 * for the C tests: lines "moves score", the moves as 1-based columns, the score Pons'
 * (positive: the mover wins, 22 minus the winner's stones at the end). */
#ifndef RZ_PONS_H
#define RZ_PONS_H

#include "test.h"

/* tests/data/connect4/name, open for reading (a hard error, naming it, if it is not). */
static FILE *pons_open(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/connect4/%s", test_srcdir(), name);
    FILE *f = fopen(path, "r");
    if (!f) fprintf(stderr, "cannot open %s\n", path);
    REQUIRE(f);
    return f;
}

/* The next of every `every`-th line, from the first: its moves into cols, its score; 0 at
 * the end of the file. *k counts the lines read (start it at 0). */
static int pons_next(FILE *f, int every, int *k, char cols[128], int *score)
{
    char line[256];
    while (fgets(line, sizeof line, f))
        if ((*k)++ % every == 0 && sscanf(line, "%127s %d", cols, score) == 2) return 1;
    return 0;
}

/* Plays the moves cols into st from the start: 1 if they are legal and the game is not
 * over. */
static int pons_load(const rz_game *g, void *st, const char *cols)
{
    rz_error err = {0};
    rz_game_reset(g, st);
    for (const char *c = cols; *c >= '1' && *c <= '7'; c++)
        if (rz_game_apply(g, st, *c - '1', &err) != RZ_OK) return 0;
    return !rz_game_is_terminal(g, st);
}

#endif

/* test_games.c: random simulation of every game, as OpenSpiel's basic tests do: masks agree
 * with apply (illegal actions refused, the state untouched), clones are independent,
 * serialization round-trips bitwise, returns are zero-sum and only at the end, observations
 * have the declared size and finite values, games end within max_moves. Also the registry,
 * spec errors and malformed serializations. */
#include "test.h"

#define GUARD 0xA5
#define MAXS 1024

static int guard_ok(const unsigned char *buf, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (buf[i] != GUARD) return 0;
    return 1;
}

static void simulate(const char *spec, int games, uint64_t seed)
{
    rz_game *g = NULL;
    rz_error err = {0};
    CHECK_OK(rz_game_create(&g, spec, &err), &err);
    REQUIRE(g);
    const int A = rz_game_num_actions(g), O = rz_game_obs_size(g), M = rz_game_max_moves(g);
    const size_t S = rz_game_state_size(g);
    REQUIRE(A > 0 && A <= 256 && O > 0 && M > 0 && S > 0 && S + 16 <= MAXS);

    unsigned char st[MAXS], copy[MAXS], back[MAXS], before[MAXS];
    uint8_t mask[257];
    float *obs = malloc(((size_t)O + 4) * sizeof *obs);
    char *text = malloc(8192), render[4096];
    REQUIRE(obs && text);
    rz_rng rng;
    rz_rng_seed(&rng, seed);
    long steps = 0, wins[3] = {0, 0, 0};
    int bad_mask = 0, bad_apply = 0, bad_clone = 0, bad_ser = 0, bad_obs = 0, bad_ret = 0,
        bad_guard = 0, bad_render = 0;

    for (int game = 0; game < games; game++) {
        memset(st, GUARD, sizeof st);
        rz_game_reset(g, st);
        int moves = 0;
        while (!rz_game_is_terminal(g, st)) {
            int p = rz_game_current_player(g, st);
            if (p != (moves & 1)) bad_mask++;
            CHECK(rz_game_move_count(g, st) == moves);
            mask[A] = GUARD;
            int n = rz_game_legal(g, st, mask), count = 0;
            for (int a = 0; a < A; a++) count += mask[a] == 1, bad_mask += mask[a] > 1;
            if (n != count || n == 0 || mask[A] != GUARD) bad_mask++;

            for (int i = 0; i < 4; i++) obs[O + i] = -7.0f;
            rz_game_observe(g, st, obs);
            for (int i = 0; i < O; i++) bad_obs += !isfinite(obs[i]) || obs[i] < 0 || obs[i] > 1;
            for (int i = 0; i < 4; i++) bad_obs += obs[O + i] != -7.0f;

            double r[2] = {9, 9};
            rz_game_returns(g, st, r);
            bad_ret += r[0] != 0 || r[1] != 0;

            int len = rz_game_render(g, st, render, sizeof render);
            bad_render += len <= 0 || (size_t)len >= sizeof render || strlen(render) != (size_t)len;

            /* illegal actions: out of range, and a random illegal one, leave the state alone */
            memcpy(before, st, S);
            int illegal[3] = {-1, A, -1};
            if (n < A) {
                int k = (int)rz_rng_below(&rng, (uint64_t)(A - n));
                for (int a = 0; a < A; a++)
                    if (!mask[a] && k-- == 0) illegal[2] = a;
            }
            for (int i = 0; i < 3; i++) {
                if (i == 2 && illegal[2] < 0) continue;
                if (rz_game_apply(g, st, illegal[i], &err) != RZ_ERR_ILLEGAL) bad_apply++;
            }
            if (memcmp(before, st, S) != 0) bad_apply++;

            /* a legal action, applied to a clone first: the original must not move */
            int k = (int)rz_rng_below(&rng, (uint64_t)n), a = 0;
            for (a = 0; a < A; a++)
                if (mask[a] && k-- == 0) break;
            memcpy(copy, st, S);
            if (rz_game_apply(g, copy, a, &err) != RZ_OK) bad_apply++;
            if (memcmp(before, st, S) != 0) bad_clone++;
            if (rz_game_apply(g, st, a, &err) != RZ_OK) bad_apply++;
            if (memcmp(copy, st, S) != 0) bad_clone++;
            if (!guard_ok(st, S, sizeof st)) bad_guard++;
            moves++;
            steps++;

            /* serialization round trip, bitwise */
            len = rz_game_serialize(g, st, text, 8192);
            if (len < 0 || len >= 8192) bad_ser++;
            memset(back, 0, sizeof back);
            if (rz_game_deserialize(g, back, text, &err) != RZ_OK || memcmp(back, st, S) != 0) {
                if (bad_ser++ == 0) fprintf(stderr, "%s: '%s' -> %s\n", spec, text, err.msg);
            }
            if (moves > M) break;
        }
        CHECKF(moves <= M, "%s: game of %d moves > max_moves %d", spec, moves, M);
        CHECK(rz_game_is_terminal(g, st));
        CHECK(rz_game_current_player(g, st) == -1);
        memset(mask, 7, (size_t)A);
        CHECK(rz_game_legal(g, st, mask) == 0);
        int any = 0;
        for (int a = 0; a < A; a++) any |= mask[a];
        CHECK(!any);
        memcpy(before, st, S);
        CHECK(rz_game_apply(g, st, 0, &err) == RZ_ERR_ILLEGAL);
        CHECK(memcmp(before, st, S) == 0);
        double r[2];
        rz_game_returns(g, st, r);
        if (r[0] + r[1] != 0 || (r[0] != 0 && fabs(r[0]) != 1)) bad_ret++;
        /* in all of these games only the player who just moved can win */
        if (r[0] != 0 && r[(moves - 1) & 1] != 1) bad_ret++;
        wins[r[0] > 0 ? 0 : r[0] < 0 ? 1 : 2]++;
        rz_game_observe(g, st, obs);
        for (int i = 0; i < O; i++) bad_obs += !isfinite(obs[i]);
    }
    CHECKF(!bad_mask, "%s: %d mask errors", spec, bad_mask);
    CHECKF(!bad_apply, "%s: %d apply errors", spec, bad_apply);
    CHECKF(!bad_clone, "%s: %d clone errors", spec, bad_clone);
    CHECKF(!bad_ser, "%s: %d serialization errors", spec, bad_ser);
    CHECKF(!bad_obs, "%s: %d observation errors", spec, bad_obs);
    CHECKF(!bad_ret, "%s: %d return errors", spec, bad_ret);
    CHECKF(!bad_guard, "%s: %d writes past the state", spec, bad_guard);
    CHECKF(!bad_render, "%s: %d render errors", spec, bad_render);
    printf("%-36s %5d games %7ld moves: player 0 won %ld, player 1 won %ld, draws %ld\n",
           rz_game_name(g), games, steps, wins[0], wins[1], wins[2]);

    /* random tic-tac-toe: P(x wins) = 0.585, P(o wins) = 0.288, P(draw) = 0.127 (exact
     * values 737/1260, 121/420, 8/63 by enumeration); 5 sigma bands */
    if (strcmp(spec, "tictactoe") == 0) {
        double n = games, pw = wins[0] / n, pl = wins[1] / n;
        CHECKF(fabs(pw - 737.0 / 1260) < 5 * sqrt(0.25 / n), "x won %.3f", pw);
        CHECKF(fabs(pl - 121.0 / 420) < 5 * sqrt(0.25 / n), "o won %.3f", pl);
    }
    free(obs);
    free(text);
    rz_game_free(g);
}

static void registry_and_specs(void)
{
    const char *names[8];
    int n = rz_games_list(names, 8);
    CHECK(n == 4);
    for (int i = 0; i < n && i < 8; i++) {
        rz_game *g = NULL;
        rz_error err = {0};
        CHECK_OK(rz_game_create(&g, names[i], &err), &err);
        if (!g) continue;
        /* the canonical name creates the same game */
        rz_game *h = NULL;
        CHECK_OK(rz_game_create(&h, rz_game_name(g), &err), &err);
        CHECK(h && strcmp(rz_game_name(g), rz_game_name(h)) == 0);
        rz_game_free(h);
        rz_game_free(g);
    }
    struct { const char *spec, *want; } bad[] = {
        {"chess", "unknown game 'chess'"},  {"chess", "connect4"},
        {"nim(pile=3)", "'pile'"},          {"nim(piles=16)", "out of range"},
        {"nim(piles=1;2;3;4;5;6;7;8;9)", "more than 8"}, {"nim(piles=0)", "out of range"},
        {"breakthrough(size=9)", "'size'"}, {"tictactoe(x=1)", "unknown parameter 'x'"},
        {"connect4(", "')'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rz_game *g = (rz_game *)1;
        rz_error err = {0};
        CHECKF(rz_game_create(&g, bad[i].spec, &err) == RZ_ERR_ARG && g == NULL, "%s accepted", bad[i].spec);
        CHECKF(strstr(err.msg, bad[i].want) != NULL, "%s: '%s' lacks '%s'", bad[i].spec, err.msg, bad[i].want);
    }
    rz_game *g = NULL;
    rz_error err = {0};
    CHECK_OK(rz_game_create(&g, "nim", &err), &err);
    REQUIRE(g);
    CHECK(strcmp(rz_game_name(g), "nim(piles=3;5;7)") == 0);
    CHECK(rz_game_num_actions(g) == 21 && rz_game_obs_size(g) == 15 + 12 && rz_game_max_moves(g) == 15);
    rz_game_free(g);
    CHECK_OK(rz_game_create(&g, "breakthrough", &err), &err);
    REQUIRE(g);
    CHECK(strcmp(rz_game_name(g), "breakthrough(size=6)") == 0);
    CHECK(rz_game_num_actions(g) == 108 && rz_game_obs_size(g) == 108 && rz_game_max_moves(g) == 108);
    rz_game_free(g);
}

static void serialization_errors(void)
{
    rz_game *g = NULL;
    rz_error err = {0};
    CHECK_OK(rz_game_create(&g, "tictactoe", &err), &err);
    REQUIRE(g);
    unsigned char st[MAXS], before[MAXS];
    size_t S = rz_game_state_size(g);
    CHECK_OK(rz_game_deserialize(g, st, " 4  0\t8\n", &err), &err);
    char text[64];
    CHECK(rz_game_serialize(g, st, text, sizeof text) == 5 && strcmp(text, "4 0 8") == 0);
    CHECK(rz_game_serialize(g, st, text, 3) == 5 && strcmp(text, "4 ") == 0); /* truncated, NUL-terminated */
    CHECK(rz_game_render(g, st, text, sizeof text) > 0 && strncmp(text, "o..\n.x.\n..x\n", 12) == 0);
    memcpy(before, st, S);
    struct { const char *text; int code; } bad[] = {
        {"4 4", RZ_ERR_ILLEGAL}, {"9", RZ_ERR_ILLEGAL},   {"4,0", RZ_ERR_FORMAT}, {"-1", RZ_ERR_FORMAT},
        {"a", RZ_ERR_FORMAT},    {"4 0x", RZ_ERR_FORMAT}, {"99999999999999999999", RZ_ERR_ILLEGAL},
        {"0 3 1 4 2 5", RZ_ERR_ILLEGAL}, /* a move after x has won */
        {"\xff\xfe", RZ_ERR_FORMAT}, {NULL, RZ_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = rz_game_deserialize(g, st, bad[i].text, &err);
        CHECKF(rc == bad[i].code, "'%s' gave %s", bad[i].text ? bad[i].text : "(null)", rz_status_name(rc));
        CHECK(memcmp(before, st, S) == 0);
    }
    /* a long history: refused once the game is over, in bounded time */
    char *big = malloc(2000001);
    REQUIRE(big);
    for (int i = 0; i < 1000000; i++) memcpy(big + 2 * i, "1 ", 2);
    big[2000000] = '\0';
    CHECK(rz_game_deserialize(g, st, big, &err) == RZ_ERR_ILLEGAL);
    free(big);
    rz_game_free(g);
}

/* One rz_game shared by OpenMP threads, each playout on its own rng stream: the final
 * histories must equal a serial run's. */
static void shared_across_threads(const char *spec)
{
    enum { N = 64 };
    rz_game *g = NULL;
    rz_error err = {0};
    CHECK_OK(rz_game_create(&g, spec, &err), &err);
    REQUIRE(g);
    static char serial[N][1024], parallel[N][1024];
    for (int pass = 0; pass < 2; pass++) {
        char (*out)[1024] = pass ? parallel : serial;
#ifdef _OPENMP
        _Pragma("omp parallel for schedule(dynamic) if(pass)")
#endif
        for (int i = 0; i < N; i++) {
            unsigned char st[MAXS];
            uint8_t mask[256];
            rz_rng rng;
            rz_rng_stream(&rng, 99, (uint64_t)i, 0, 0);
            rz_game_reset(g, st);
            while (!rz_game_is_terminal(g, st)) {
                int k = (int)rz_rng_below(&rng, (uint64_t)rz_game_legal(g, st, mask)), a = 0;
                for (a = 0; a < rz_game_num_actions(g); a++)
                    if (mask[a] && k-- == 0) break;
                rz_game_apply(g, st, a, NULL);
            }
            rz_game_serialize(g, st, out[i], sizeof out[i]);
        }
    }
    int same = 1;
    for (int i = 0; i < N; i++) same &= strcmp(serial[i], parallel[i]) == 0;
    CHECKF(same, "%s: parallel playouts differ from serial ones", spec);
    rz_game_free(g);
}

/* The reflection: a random game and its mirror image, played move for move through
 * action_map, agree at every ply: observation through obs_map, legal moves through
 * action_map, mover, returns at the end. Both maps are permutations. */
static void mirror(const char *spec, int games, int expect, uint64_t seed)
{
    rz_game *g = NULL;
    rz_error err = {0};
    CHECK_OK(rz_game_create(&g, spec, &err), &err);
    REQUIRE(g);
    const int A = rz_game_num_actions(g), O = rz_game_obs_size(g);
    int *om = malloc((size_t)O * sizeof *om), *am = malloc((size_t)A * sizeof *am);
    float *o1 = malloc((size_t)O * sizeof *o1), *o2 = malloc((size_t)O * sizeof *o2);
    REQUIRE(om && am && o1 && o2);
    int has = rz_game_mirror(g, om, am);
    CHECKF(has == expect, "%s: rz_game_mirror says %d", spec, has);
    if (!has) goto done;
    int bad_map = 0;
    for (int i = 0; i < O; i++) bad_map += om[i] < 0 || om[i] >= O || om[om[i]] != i;
    for (int a = 0; a < A; a++) bad_map += am[a] < 0 || am[a] >= A || am[am[a]] != a;
    CHECKF(bad_map == 0, "%s: the maps are not involutions on their ranges (%d)", spec, bad_map);
    unsigned char s1[MAXS], s2[MAXS];
    uint8_t m1[256], m2[256];
    rz_rng rng;
    rz_rng_seed(&rng, seed);
    int bad = 0, symmetric_seen = 0;
    for (int game = 0; game < games; game++) {
        rz_game_reset(g, s1);
        rz_game_reset(g, s2);
        for (;;) {
            int t1 = rz_game_is_terminal(g, s1), t2 = rz_game_is_terminal(g, s2);
            bad += t1 != t2;
            if (t1 || t2) break;
            bad += rz_game_current_player(g, s1) != rz_game_current_player(g, s2);
            rz_game_observe(g, s1, o1);
            rz_game_observe(g, s2, o2);
            int same = 1;
            for (int i = 0; i < O; i++) bad += o2[i] != o1[om[i]], same &= o1[i] == o2[i];
            symmetric_seen += same;
            int n = rz_game_legal(g, s1, m1);
            rz_game_legal(g, s2, m2);
            for (int a = 0; a < A; a++) bad += m2[am[a]] != m1[a];
            int k = (int)rz_rng_below(&rng, (uint64_t)n), a = 0;
            for (a = 0; a < A; a++)
                if (m1[a] && k-- == 0) break;
            CHECK_OK(rz_game_apply(g, s1, a, &err), &err);
            CHECK_OK(rz_game_apply(g, s2, am[a], &err), &err);
        }
        double r1[2], r2[2];
        rz_game_returns(g, s1, r1);
        rz_game_returns(g, s2, r2);
        bad += r1[0] != r2[0] || r1[1] != r2[1];
    }
    CHECKF(bad == 0, "%s: %d disagreements between games and their mirror images", spec, bad);
    /* the initial positions are symmetric; the test must see asymmetric ones too */
    CHECKF(symmetric_seen < games * 3, "%s: the random games stayed symmetric", spec);
done:
    free(om), free(am), free(o1), free(o2);
    rz_game_free(g);
}

int main(void)
{
    registry_and_specs();
    serialization_errors();
    simulate("tictactoe", 20000, 1);
    simulate("connect4", 3000, 2);
    simulate("nim", 3000, 3);
    simulate("nim(piles=1;2;3)", 2000, 4);
    simulate("nim(piles=15;15;15;15;15;15;15;15)", 300, 5);
    simulate("nim(piles=1)", 100, 6);
    simulate("breakthrough", 1000, 7);
    simulate("breakthrough(size=5)", 1000, 8);
    simulate("breakthrough(size=8)", 200, 9);
    mirror("tictactoe", 2000, 1, 10);
    mirror("connect4", 1000, 1, 11);
    mirror("breakthrough", 300, 1, 12);
    mirror("breakthrough(size=5)", 300, 1, 13);
    mirror("nim", 10, 0, 14);
    shared_across_threads("connect4");
    shared_across_threads("breakthrough");
    return test_done("test_games");
}

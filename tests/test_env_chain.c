/* test_env_chain.c: chain items sum right (an independent oracle), the truth comes from the
 * prompt and not the stored answer, and the grader resists the obvious hacks. */
#include "env_cases.h"

#define W(a) "<think>ok</think><answer>" a "</answer>"

int main(void)
{
    rz_env *e = env_open("chain");
    rz_item it = env_fake_item("3+4+2+5=", "14");
    static const env_case cases[] = {
        /* right, in every accepted form */
        {W("14"), 1, 1, 1}, {W(" 14\n"), 1, 1, 1}, {W("14.0"), 1, 1, 1}, {W("28/2"), 1, 1, 1},
        {W("+14"), 1, 1, 1}, {W("014"), 1, 1, 1},
        {"<think>7+2+5 9+5 14</think> <answer>14</answer>", 1, 1, 1},
        /* wrong */
        {W("13"), 0, 1, 1}, {W("-14"), 0, 1, 1}, {W("14.5"), 0, 1, 1}, {W("1 4"), 0, 1, 1},
        /* malformed */
        {W("14."), 0, 1, 1}, {W("1.4e1"), 0, 1, 1}, {W("14/0"), 0, 1, 1},
        {W("99999999999999999999"), 0, 1, 1},
        /* hacks: the prompt, a partial sum, the chain restated, hedging, the answer only
         * inside the thinking, never closing the thinking */
        {W("3+4+2+5"), 0, 1, 1}, {W("3+4+2+5=14"), 0, 1, 1}, {W("9"), 0, 1, 1},
        {W("9+5"), 0, 1, 1}, {W("13 14 15"), 0, 1, 1},
        {"<think>ok</think><answer>13</answer><answer>14</answer>", 1, 0, 1},
        {"<think>ok</think><answer>14</answer><answer>13</answer>", 0, 0, 1},
        {"<think>14</think><answer>13</answer>", 0, 1, 1},
        {"<think>7+2+5 9+5 14 <answer>14</answer>", 0, 0, -1},
        {"<answer>14</answer>", 1, 0, 0},
    };
    ENV_TABLE(e, &it, cases);

    /* a forged item: the stored answer is ignored, the prompt decides */
    rz_item lie = env_fake_item("3+4+2+5=", "99");
    static const env_case lie_cases[] = {{W("14"), 1, 1, 1}, {W("99"), 0, 1, 1}};
    ENV_TABLE(e, &lie, lie_cases);
    /* prompts that are not a chain: nothing is right */
    static const char *const bad[] = {"", "14=", "3+4+2+5", "3+4+2+5=x", "3++4=", "+3+4=",
                                      "3-4+2=", "3 + 4=", "99999999999999999999+1=",
                                      "999999999999999999+999999999999999999+999999999999999999+"
                                      "999999999999999999+999999999999999999+999999999999999999+"
                                      "999999999999999999+999999999999999999+999999999999999999+"
                                      "999999999999999999="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rz_item b = env_fake_item(bad[i], "14");
        static const env_case none[] = {{W("14"), 0, 1, 1}, {W("7"), 0, 1, 1}};
        ENV_TABLE(e, &b, none);
    }
    rz_item null_item = env_fake_item(NULL, NULL);
    static const env_case null_cases[] = {{W("14"), 0, 1, 1}};
    ENV_TABLE(e, &null_item, null_cases);
    rz_env_free(e);

    /* equals=0: the prompt has no "=", and then a prompt with one is not a chain */
    e = env_open("chain(equals=0)");
    rz_item bare = env_fake_item("3+4+2+5", "14");
    static const env_case bare_cases[] = {{W("14"), 1, 1, 1}, {W("13"), 0, 1, 1}};
    ENV_TABLE(e, &bare, bare_cases);
    static const char *const bad_bare[] = {"3+4+2+5=", "3+4+2+", "", "+3", "3+4 "};
    for (size_t i = 0; i < sizeof bad_bare / sizeof *bad_bare; i++) {
        rz_item b = env_fake_item(bad_bare[i], "14");
        static const env_case none[] = {{W("14"), 0, 1, 1}, {W("7"), 0, 1, 1}};
        ENV_TABLE(e, &b, none);
    }
    rz_env_free(e);

    /* the generator: terms and counts in range, the answer their sum */
    const char *specs[] = {"chain", "chain(min_terms=2,max_terms=2,max_term=50)",
                           "chain(min_terms=8,max_terms=12,max_term=999)", "chain(equals=0)"};
    const long lo[] = {4, 2, 8, 4}, hi[] = {6, 2, 12, 6}, top[] = {9, 50, 999, 9};
    const int eq[] = {1, 1, 1, 0};
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        e = env_open(specs[s]);
        rz_error err = {0};
        for (int i = 0; i < 300; i++) {
            rz_item x;
            CHECK_OK(rz_env_item(e, 5, i % 2, i, &x, &err), &err);
            long n = 0, sum = 0, ok = 1;
            const char *p = x.prompt;
            for (;;) {
                char *end;
                long t = strtol(p, &end, 10);
                ok &= end > p && t >= 1 && t <= top[s] && *p != '+' && *p != '-';
                n++;
                sum += t;
                if (*end != '+') {
                    ok &= eq[s] ? end[0] == '=' && end[1] == '\0' : end[0] == '\0';
                    break;
                }
                p = end + 1;
            }
            CHECKF(ok && n >= lo[s] && n <= hi[s], "%s: %s", specs[s], x.prompt);
            CHECKF(strtol(x.answer, NULL, 10) == sum, "%s -> %s", x.prompt, x.answer);
            rz_item_free(&x);
        }
        env_check_references(e, 5, 100);
        rz_env_free(e);
    }
    /* a space too small to hold out a test split is an error naming the env */
    rz_env *tiny = NULL;
    rz_error err = {0};
    CHECK(rz_env_create(&tiny, "chain(min_terms=2,max_terms=2,max_term=1)", &err) == RZ_OK);
    rz_item x[2];
    int ok = 1;
    for (int split = 0; split < 2; split++) {
        ok &= rz_env_item(tiny, 1, split, 0, &x[split], &err) == RZ_OK;
        rz_item_free(&x[split]);
    }
    CHECKF(!ok && strstr(err.msg, "chain"), "one prompt cannot fill both splits: %s", err.msg);
    rz_env_free(tiny);
    return test_done("test_env_chain");
}

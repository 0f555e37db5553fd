/* test_env_rpn.c: the stack language, rpn_eval (predict the output) and rpn_write (write a
 * program the grader runs), including programs that must fail within their budgets. */
#include "env_cases.h"

#define W(a) "<think>ok</think><answer>" a "</answer>"

/* The accuracy of answer `ans` for a hand-made rpn_eval item "run PROG". */
static double eval_acc(const rz_env *e, const char *prog, const char *ans)
{
    char prompt[300], buf[600];
    snprintf(prompt, sizeof prompt, "run %s", prog);
    rz_item it = env_fake_item(prompt, "");
    env_wrap(buf, sizeof buf, ans);
    rz_rewards r;
    rz_env_grade(e, &it, buf, strlen(buf), &r);
    return r.values[0];
}

int main(void)
{
    rz_env *e = env_open("rpn_eval");
    rz_item it = env_fake_item("run 3 4 + 2 *", "14");
    static const env_case cases[] = {
        {W("14"), 1, 1, 1},   {W(" 14 "), 1, 1, 1}, {W("+14"), 1, 1, 1},  {W("14 0"), 0, 1, 1},
        {W("15"), 0, 1, 1},   {W("14.0"), 0, 1, 1}, {W("-14"), 0, 1, 1},  {W("3 4 + 2 *"), 0, 1, 1},
        {W("14,"), 0, 1, 1},  {W("1 4"), 0, 1, 1},
        {"<think>14</think><answer>13</answer>", 0, 1, 1},
    };
    ENV_TABLE(e, &it, cases);
    /* the grader runs the prompt's program, so a forged stored answer changes nothing */
    rz_item lie = env_fake_item("run 3 4 + 2 *", "99");
    static const env_case lie_cases[] = {{W("14"), 1, 1, 1}, {W("99"), 0, 1, 1}};
    ENV_TABLE(e, &lie, lie_cases);
    struct {
        const char *prog, *ans;
        double acc;
    } runs[] = {
        {"1 5 ( 2 * )", "32", 1},  {"2 3 swap -", "1", 1},     {"5 dup *", "25", 1},
        {"4 3 over", "4 3 4", 1},  {"4 3 over", "4", 0},       {"4 3 drop", "4", 1},
        {"7 2 /", "3", 1},         {"0 7 - 2 /", "-3", 1},     {"1 0 /", "0", 0},
        {"1 0 ( 5 )", "1", 1},     {"3 ( 2 ) + +", "6", 1},     {"+", "0", 0},
        {"1 101 ( 1 + )", "102", 0},                          /* repeat count over the cap */
        {"1 100 ( 100 ( 100 ( 1 + ) ) )", "1000001", 0},      /* over the step budget */
        {"1 2 ( 2 ( 3 ( 1 + ) ) )", "13", 1},                 /* nesting runs correctly */
        {"1 ( 2", "2", 0},         {"1 )", "1", 0},            {"1 nop", "1", 0},
        {"999999999 dup * dup *", "0", 0},                    /* int64 overflow */
        {"0 1 - ( 1 )", "1", 0},                              /* negative count */
        {"1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "1", 0}, /* deep */
        {"", "0", 0},
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        double acc = eval_acc(e, runs[i].prog, runs[i].ans);
        CHECKF(acc == runs[i].acc, "run %s -> '%s': %g", runs[i].prog, runs[i].ans, acc);
    }
    rz_env_free(e);

    e = env_open("rpn_write");
    CHECKF(strcmp(rz_env_name(e), "rpn_write(min_target=10,max_target=100,max_tokens=15,test_size=500)") == 0,
           "%s", rz_env_name(e));
    rz_item w = env_fake_item("write 46", "5 9 * 1 +");
    static const env_case write_cases[] = {
        {W("5 9 * 1 +"), 1, 1, 1},
        {W("9 5 * 1 +"), 1, 1, 1},
        {W("5 ( 9 ) + + + + 1 +"), 1, 1, 1},   /* loops are part of the language */
        {W("5 9 * 1 + dup drop"), 1, 1, 1},
        {W("46"), 0, 1, 1},                     /* literals have one digit */
        {W("4 6 +"), 0, 1, 1},
        {W("5 9 * 1 + 0"), 0, 1, 1},            /* the output is the whole stack */
        {W("5 9 * 1 + 1 0 / drop"), 0, 1, 1},   /* a program that fails has no output */
        {W("9 9 + 9 + 9 + 9 + 1 + 0 + 0 + 0 +"), 0, 1, 1}, /* 46 but 17 tokens > max_tokens */
        {W("9 9 + 9 + 9 + 9 + 1 + 0 + 0 +"), 1, 1, 1},     /* 15 tokens */
        {W("5 9 * 1 +;"), 0, 1, 1},
        {"<think>5 9 * 1 +</think><answer>46</answer>", 0, 1, 1},
    };
    ENV_TABLE(e, &w, write_cases);
    rz_item forged = env_fake_item("write", "1");
    static const env_case forged_cases[] = {{W("1"), 0, 1, 1}};
    ENV_TABLE(e, &forged, forged_cases);
    rz_env_free(e);
    /* a step bomb in a long-enough program still ends, wrong */
    e = env_open("rpn_write(max_tokens=64)");
    rz_item bomb = env_fake_item("write 9", "9");
    static const env_case bomb_cases[] = {
        {W("9 9 ( 9 ( 9 ( 9 ( 9 ( 9 ( 9 ( 9 ( dup drop ) ) ) ) ) ) ) ) drop"), 0, 1, 1},
        {W("9 9 ( 9 ( 9 ( 9 ( 9 ( 9 ( 9 ( 9 ( 9 ( dup drop ) ) ) ) ) ) ) ) ) drop"), 0, 1, 1}, /* nest 9 */
        {W("9 2 ( dup drop )"), 1, 1, 1},
    };
    ENV_TABLE(e, &bomb, bomb_cases);
    rz_env_free(e);

    const char *specs[] = {"rpn_eval", "rpn_eval(ops=8,max_literal=99,loops=1)",
                           "rpn_eval(ops=1,words=0)", "rpn_write",
                           "rpn_write(min_target=0,max_target=10000,max_tokens=30)"};
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        e = env_open(specs[s]);
        env_check_references(e, 9, 200);
        rz_env_free(e);
    }
    return test_done("test_env_rpn");
}

/* test_env_countdown.c: each number used exactly once, exact rational evaluation,
 * bounded parsing, and generated items that are solvable. */
#include "env_cases.h"

#define W(a) "<think>ok</think><answer>" a "</answer>"

int main(void)
{
    rz_env *e = env_open("countdown");
    rz_item it = env_fake_item("3 7 25 to 46", "25+(3*7)");
    static const env_case cases[] = {
        {W("25+3*7"), 1, 1, 1},        {W("3*7+25"), 1, 1, 1},         {W("(25 + (3 * 7))"), 1, 1, 1},
        {W("25+7*3"), 1, 1, 1},        {W("25+3*7=46"), 1, 1, 1},      {W("25+3*7 = 46"), 1, 1, 1},
        {W("25+3*7=47"), 0, 1, 1},     {W("(25+3)*7"), 0, 1, 1},       {W("46"), 0, 1, 1},
        {W("25+21"), 0, 1, 1},         /* a number that was not given */
        {W("25+3*7+0"), 0, 1, 1},      /* an extra number */
        {W("3*7+25+3-3"), 0, 1, 1},    /* 3 reused */
        {W("25+25-4"), 0, 1, 1},       {W("25+3"), 0, 1, 1}, /* 7 unused */
        {W("25-(-3*7)"), 0, 1, 1},     /* no unary minus */
        {W("25+3*7)"), 0, 1, 1},       {W("((25+3*7)"), 0, 1, 1},      {W("25 3 7 + *"), 0, 1, 1},
        {W("25+3 7"), 0, 1, 1},        {W("25+3*7=46=46"), 0, 1, 1},   {W("x=25+3*7"), 0, 1, 1},
        {W("25+3*7.0"), 0, 1, 1},      {W("25+3*07"), 1, 1, 1},        {W("25+3*7="), 0, 1, 1},
        {"<think>25+3*7</think><answer>46</answer>", 0, 1, 1}, /* the work hidden in thinking */
        {"<think>ok</think><answer>25+3*7</answer> extra", 1, 0, 1},
    };
    ENV_TABLE(e, &it, cases);

    /* exact rationals: 6/(1-3/4) = 24 needs a fractional intermediate */
    rz_item q = env_fake_item("1 3 4 6 to 24", "6/(1-3/4)");
    static const env_case q_cases[] = {{W("6/(1-3/4)"), 1, 1, 1}, {W("6/(1-3/4)+0"), 0, 1, 1},
                                       {W("6/1-3/4"), 0, 1, 1}};
    ENV_TABLE(e, &q, q_cases);
    /* a repeated number must be used as often as given; division by zero is wrong */
    rz_item rep = env_fake_item("3 3 6 to 6", "6+3-3");
    static const env_case rep_cases[] = {{W("6+3-3"), 1, 1, 1}, {W("6*3/3"), 1, 1, 1},
                                         {W("6+3"), 0, 1, 1},   {W("6/(3-3)"), 0, 1, 1},
                                         {W("6+3-3+3-3"), 0, 1, 1}};
    ENV_TABLE(e, &rep, rep_cases);
    /* overflow of int64 is wrong, never UB */
    rz_item big = env_fake_item("999999999 999999999 999999999 to 999999999", "x");
    static const env_case big_cases[] = {
        {W("999999999*999999999*999999999"), 0, 1, 1},
        {W("999999999*999999999/999999999"), 1, 1, 1}, /* 10^18 fits in int64 */
        {W("999999999/999999999*999999999"), 1, 1, 1},
        {W("999999999*999999999*999999999/999999999/999999999"), 0, 1, 1},
        {W("9999999999/9999999999*999999999"), 0, 1, 1}, /* 10-digit literals */
    };
    ENV_TABLE(e, &big, big_cases);
    /* nesting is bounded: 20 levels fine, 40 refused */
    char buf[600], inner[400];
    snprintf(inner, sizeof inner, "%.*s25+3*7%.*s", 20,
             "((((((((((((((((((((((((((((((((((((((((", 20, "))))))))))))))))))))))))))))))))))))))))");
    env_wrap(buf, sizeof buf, inner);
    env_case deep[1] = {{buf, 1, 1, 1}};
    env_table(e, &it, deep, 1);
    snprintf(inner, sizeof inner, "%.*s25+3*7%.*s", 40,
             "((((((((((((((((((((((((((((((((((((((((", 40, "))))))))))))))))))))))))))))))))))))))))");
    env_wrap(buf, sizeof buf, inner);
    deep[0].acc = 0;
    env_table(e, &it, deep, 1);
    /* forged prompts are not numbers-to-target: nothing is right */
    rz_item forged = env_fake_item("to to", "1");
    static const env_case forged_cases[] = {{W("1"), 0, 1, 1}};
    ENV_TABLE(e, &forged, forged_cases);
    rz_env_free(e);

    /* generated items: the reference solves them and the target is in range */
    const char *specs[] = {"countdown", "countdown(numbers=2,max_number=10,max_target=20)",
                           "countdown(numbers=6,max_number=100,min_target=100,max_target=999)",
                           "countdown(numbers=3,max_number=1000,min_target=0,max_target=100000)"};
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        e = env_open(specs[s]);
        env_check_references(e, 11, 150);
        rz_error err = {0};
        rz_item x;
        CHECK_OK(rz_env_item(e, 11, RZ_SPLIT_TRAIN, 5, &x, &err), &err);
        int count = 0;
        for (const char *p = x.prompt; *p; p++) count += *p == ' ';
        long target = atol(strstr(x.prompt, "to ") + 3);
        CHECKF(count == (s == 1 ? 3 : s == 2 ? 7 : s == 3 ? 4 : 5), "%s", x.prompt);
        if (s == 2) CHECK(target >= 100 && target <= 999);
        rz_item_free(&x);
        rz_env_free(e);
    }
    return test_done("test_env_countdown");
}

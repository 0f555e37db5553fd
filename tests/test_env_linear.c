/* test_env_linear.c: solutions checked by substitution, equivalent forms accepted. */
#include "env_cases.h"

#define W(a) "<think>ok</think><answer>" a "</answer>"

/* Reads "ax+b=cx+d" (any term may be absent on the right) into coefficients. */
static int parse_side(const char *s, long long *kx, long long *k0)
{
    *kx = *k0 = 0;
    while (*s) {
        int sign = 1;
        if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
        long long v = 1;
        int digits = 0;
        if (*s >= '0' && *s <= '9') {
            v = strtoll(s, (char **)&s, 10);
            digits = 1;
        }
        if (*s == 'x') {
            *kx += sign * v;
            s++;
        } else if (digits) {
            *k0 += sign * v;
        } else {
            return 0;
        }
    }
    return 1;
}

int main(void)
{
    rz_env *e = env_open("linear");
    rz_item it = env_fake_item("3x+5=x-7", "-6");
    static const env_case cases[] = {
        {W("-6"), 1, 1, 1},    {W("x=-6"), 1, 1, 1},   {W("x = -6"), 1, 1, 1}, {W("-12/2"), 1, 1, 1},
        {W("-6.0"), 1, 1, 1},  {W("12/-2"), 1, 1, 1},  {W("-6/1"), 1, 1, 1},   {W("-6.00"), 1, 1, 1},
        {W("6"), 0, 1, 1},     {W("x=6"), 0, 1, 1},    {W("y=-6"), 0, 1, 1},   {W("x=-6 or x=6"), 0, 1, 1},
        {W("x"), 0, 1, 1},     {W("x="), 0, 1, 1},     {W("-6/0"), 0, 1, 1},   {W("x==-6"), 0, 1, 1},
        {W("-6x"), 0, 1, 1},   {W("x=-6=x"), 0, 1, 1},
        {"<think>x=-6</think><answer>x</answer>", 0, 1, 1},
    };
    ENV_TABLE(e, &it, cases);
    rz_item half = env_fake_item("2x=1", "1/2");
    static const env_case half_cases[] = {
        {W("1/2"), 1, 1, 1},  {W("3/6"), 1, 1, 1},  {W("0.5"), 1, 1, 1},  {W("0.50"), 1, 1, 1},
        {W("2/4"), 1, 1, 1},  {W("1 / 2"), 1, 1, 1}, {W("x=3/6"), 1, 1, 1}, {W("0.49"), 0, 1, 1},
        {W("1/3"), 0, 1, 1},  {W(".5"), 0, 1, 1},   {W("1/2/1"), 0, 1, 1}, {W("5/10.0"), 1, 1, 1},
    };
    ENV_TABLE(e, &half, half_cases);
    rz_item third = env_fake_item("3x=1", "1/3");
    static const env_case third_cases[] = {
        {W("1/3"), 1, 1, 1}, {W("2/6"), 1, 1, 1}, {W("0.333"), 0, 1, 1},
        {W("0.3333333333333333333333"), 0, 1, 1}, /* too many digits: refused, not rounded */
        {W("333333333333333333/999999999999999999"), 1, 1, 1},
        {W("3333333333333333333/9999999999999999999"), 0, 1, 1},
    };
    ENV_TABLE(e, &third, third_cases);
    rz_item forged = env_fake_item("x=1", "junk");
    static const env_case forged_cases[] = {{W("1"), 0, 1, 1}};
    ENV_TABLE(e, &forged, forged_cases);
    rz_env_free(e);

    /* generated items: substitute the answer into the equation */
    const char *specs[] = {"linear", "linear(fractions=0)", "linear(both_sides=0,max_coef=1)",
                           "linear(max_coef=1000,max_const=100000)"};
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        e = env_open(specs[s]);
        rz_error err = {0};
        for (int i = 0; i < 300; i++) {
            rz_item x;
            CHECK_OK(rz_env_item(e, 5, i % 2, i, &x, &err), &err);
            char left[128], right[128];
            const char *eq = strchr(x.prompt, '=');
            REQUIRE(eq);
            snprintf(left, sizeof left, "%.*s", (int)(eq - x.prompt), x.prompt);
            snprintf(right, sizeof right, "%s", eq + 1);
            long long a, b, c, d, p, q = 1;
            CHECKF(parse_side(left, &a, &b) && parse_side(right, &c, &d), "%s", x.prompt);
            CHECKF(sscanf(x.answer, "%lld/%lld", &p, &q) >= 1, "%s", x.answer);
            CHECKF(a * p + b * q == c * p + d * q, "%s: x=%s does not solve it", x.prompt, x.answer);
            if (s == 1 || s == 3) CHECK(strchr(x.answer, '/') == NULL || s == 3);
            if (s == 2) CHECK(c == 0 && (a == 1 || a == -1));
            rz_item_free(&x);
        }
        env_check_references(e, 5, 100);
        rz_env_free(e);
    }
    return test_done("test_env_linear");
}

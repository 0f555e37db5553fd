/* test_env_arith.c: arith items are right (checked by an independent oracle) and graded
 * exactly; digits and ops are honoured. */
#include "env_cases.h"

#define W(a) "<think>ok</think><answer>" a "</answer>"

int main(void)
{
    rz_env *e = env_open("arith");
    rz_item it = env_fake_item("12*35=", "420");
    static const env_case cases[] = {
        {W("420"), 1, 1, 1},       {W("420.000"), 1, 1, 1},  {W("840/2"), 1, 1, 1},
        {W("+420"), 1, 1, 1},      {W("421"), 0, 1, 1},      {W("-420"), 0, 1, 1},
        {W("420/0"), 0, 1, 1},     {W("42 0"), 0, 1, 1},     {W("4.2e2"), 0, 1, 1},
        {W("12*35"), 0, 1, 1},     {W("420 420"), 0, 1, 1},  {W("0420"), 1, 1, 1},
        {W("4200000000000000000000"), 0, 1, 1}, /* too many digits: wrong, never wraps */
        {W("420."), 0, 1, 1},      {W(".420"), 0, 1, 1},     {W("--420"), 0, 1, 1},
        {"<think>420</think>", 0, 0, 1},
        {"<think>ok</think><answer>419</answer><answer>420</answer>", 1, 0, 1},
    };
    ENV_TABLE(e, &it, cases);
    rz_item neg = env_fake_item("12-35=", "-23");
    static const env_case neg_cases[] = {{W("-23"), 1, 1, 1}, {W("23"), 0, 1, 1}, {W("- 23"), 0, 1, 1}};
    ENV_TABLE(e, &neg, neg_cases);
    rz_env_free(e);

    /* the generator: an independent oracle over many items, each operand within digits */
    const char *specs[] = {"arith(digits=1)", "arith(digits=5,min_digits=5,ops=mul)",
                           "arith(digits=9,ops=sub)", "arith(digits=9,min_digits=9,ops=mul)"};
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        e = env_open(specs[s]);
        rz_error err = {0};
        for (int i = 0; i < 300; i++) {
            rz_item x;
            CHECK_OK(rz_env_item(e, 3, i % 2, i, &x, &err), &err);
            long long a, b, r;
            char op;
            int k = sscanf(x.prompt, "%lld%c%lld=", &a, &op, &b);
            CHECKF(k == 3 && sscanf(x.answer, "%lld", &r) == 1, "%s", x.prompt);
            long long want = op == '+' ? a + b : op == '-' ? a - b : a * b;
            CHECKF(r == want, "%s -> %s", x.prompt, x.answer);
            if (s == 1 || s == 3) CHECK(op == '*' && a >= (s == 1 ? 10000 : 100000000));
            if (s == 2) CHECK(op == '-');
            if (s == 0) CHECK(a < 10 && b < 10);
            rz_item_free(&x);
        }
        env_check_references(e, 3, 100);
        rz_env_free(e);
    }
    return test_done("test_env_arith");
}

/* test_env_reverse.c: the example task of docs/adding-an-env.md. */
#include "env_cases.h"

#define W(a) "<think>ok</think><answer>" a "</answer>"

int main(void)
{
    rz_env *e = env_open("reverse");
    rz_item it = env_fake_item("reverse 1234", "4321");
    static const env_case cases[] = {
        {W("4321"), 1, 1, 1},  {W(" 4321\n"), 1, 1, 1}, {W("1234"), 0, 1, 1}, {W("43210"), 0, 1, 1},
        {W("432"), 0, 1, 1},   {W("4 3 2 1"), 0, 1, 1}, {W("04321"), 0, 1, 1},
        {"<think>4321</think><answer>1234</answer>", 0, 1, 1},
        {"<think>ok</think><answer>4321</answer><answer>1234</answer>", 0, 0, 1},
        {"<answer>4321</answer>", 1, 0, 0},
    };
    ENV_TABLE(e, &it, cases);
    rz_env_free(e);

    e = env_open("reverse(min_len=3,max_len=9)");
    rz_error err = {0};
    for (int i = 0; i < 200; i++) {
        rz_item x;
        CHECK_OK(rz_env_item(e, 1, i % 2, i, &x, &err), &err);
        const char *digits = x.prompt + strlen("reverse ");
        size_t n = strlen(digits);
        CHECKF(strncmp(x.prompt, "reverse ", 8) == 0 && n >= 3 && n <= 9, "%s", x.prompt);
        for (size_t k = 0; k < n; k++) CHECK(x.answer[k] == digits[n - 1 - k]);
        rz_item_free(&x);
    }
    env_check_references(e, 1, 100);
    rz_env_free(e);
    return test_done("test_env_reverse");
}

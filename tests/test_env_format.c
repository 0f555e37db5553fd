/* test_env_format.c: the rules every task shares (extraction, format, language), the
 * registry API and its errors, reproducible items and the split. Uses arith as the task. */
#include "env_cases.h"

static void test_rules(void)
{
    rz_env *e = env_open("arith");
    rz_item it = env_fake_item("12+35=", "47");
    static const env_case cases[] = {
        {"<think>12 plus 35 is 47</think><answer>47</answer>", 1, 1, 1},
        {"12 plus 35 is 47</think> <answer>47</answer>\n", 1, 1, 1}, /* <think> was in the prompt */
        {"  <think>x</think>\n<answer> 47 </answer>  ", 1, 1, 1},
        {"<think></think><answer>47</answer>", 1, 1, 0},              /* no reasoning: language 0 */
        {"<think>12+35</think><answer>47</answer>", 1, 1, 1},         /* no letters: language 1 */
        {"<think>x</think><answer>+47</answer>", 1, 1, 1},
        {"<think>x</think><answer>47.0</answer>", 1, 1, 1},
        {"<think>x</think><answer>94/2</answer>", 1, 1, 1},
        {"<think>x</think><answer>047</answer>", 1, 1, 1},
        /* wrong */
        {"<think>x</think><answer>48</answer>", 0, 1, 1},
        {"<think>x</think><answer>47.5</answer>", 0, 1, 1},
        {"<think>x</think><answer>4.7e1</answer>", 0, 1, 1},
        {"<think>x</think><answer>forty seven</answer>", 0, 1, 1},
        {"<think>x</think><answer>4 7</answer>", 0, 1, 1},
        {"<think>x</think><answer>47 48</answer>", 0, 1, 1},
        /* malformed */
        {"", 0, 0, 0},
        {"   \n", 0, 0, 0},
        {"47", 0, 0, 1},
        {"<answer>47</answer>", 1, 0, 0},        /* no think tags at all: answer counts, format not */
        {"<think>47</think>", 0, 0, 1},
        {"<think>x</think><answer>47", 0, 0, 1},
        {"<think>x</think>47</answer>", 0, 0, 1},
        {"<think>x<answer>47</answer>", 0, 0, 1}, /* thinking never closed */
        {"<THINK>x</THINK><answer>47</answer>", 1, 0, 1}, /* tags are case-sensitive */
        {"<think>x</think><answer>47</answer><think>", 1, 0, 1}, /* text after: format 0 */
        {"<think>x</think>\n\nso <answer>47</answer>", 1, 0, 1},
        /* reward hacking */
        {"<think>x</think><answer></answer>", 0, 0, 1},
        {"<think>x</think><answer>  \n </answer>", 0, 0, 1},
        {"<think>x</think><answer>46</answer><answer>47</answer>", 1, 0, 1}, /* the last counts */
        {"<think>x</think><answer>47</answer><answer>46</answer>", 0, 0, 1},
        {"<think>x</think><answer>47</answer> or 46", 1, 0, 1},  /* text after: format 0 */
        {"<think>x</think><answer>46</answer> 47", 0, 0, 1},
        {"<think><answer>47</answer></think>", 0, 0, 1},          /* hidden in the thinking */
        {"<think>it is <answer>47</answer></think><answer>46</answer>", 0, 0, 1},
        {"<think>a</think><think>b</think><answer>47</answer>", 1, 0, 1},
        {"<think>a</think><answer><answer>47</answer></answer>", 1, 0, 1},
        {"<think>a</think><answer>47</think></answer>", 0, 0, 1},
        /* language */
        {"<think>это 47</think><answer>47</answer>", 1, 1, 0},
        {"<think>abc это</think><answer>47</answer>", 1, 1, 0.5},
        {"<think>ab\xff\xfe</think><answer>47</answer>", 1, 0, 0.5}, /* invalid UTF-8 */
        {"<think>a × b ÷ c → d … 😀</think><answer>47</answer>", 1, 1, 1}, /* symbols aren't letters */
        {"<think>x</think><answer>47\x01</answer>", 0, 0, 1},
        {"<think>x\x01</think><answer>47</answer>", 1, 0, 1},
    };
    ENV_TABLE(e, &it, cases);

    /* NUL bytes: the length counts, not strlen */
    static const char nul[] = "<think>a\0b</think><answer>47</answer>";
    rz_rewards r;
    CHECK(rz_env_grade(e, &it, nul, sizeof nul - 1, &r) == RZ_OK);
    CHECK(r.values[0] == 1 && r.values[1] == 0 && r.values[2] == 1);
    static const char nul_ans[] = "<think>a</think><answer>4\0</answer>";
    CHECK(rz_env_grade(e, &it, nul_ans, sizeof nul_ans - 1, &r) == RZ_OK);
    CHECK(r.values[0] == 0 && r.values[1] == 0);

    /* the prompt's script decides the language */
    rz_item ru = env_fake_item("сколько будет 12+35", "47");
    static const env_case ru_cases[] = {
        {"<think>это 47</think><answer>47</answer>", 1, 1, 1},
        {"<think>abc это</think><answer>47</answer>", 1, 1, 0.5},
        {"<think>plus</think><answer>47</answer>", 1, 1, 0},
    };
    ENV_TABLE(e, &ru, ru_cases);
    CHECK(fabs(rz_language_mixing("abc это", strlen("abc это")) - 0.5) < 1e-12);
    CHECK(rz_language_mixing("123", 3) == 0.0 && rz_language_mixing(NULL, 0) == 0.0);

    /* over the length bound: all zero, even with a right answer */
    size_t big = RZ_GRADE_MAX_BYTES + 1;
    char *s = malloc(big);
    REQUIRE(s);
    memset(s, ' ', big);
    const char *tail = "<think>x</think><answer>47</answer>";
    memcpy(s, tail, strlen(tail));
    CHECK(rz_env_grade(e, &it, s, big, &r) == RZ_OK);
    CHECK(r.n == 3 && r.values[0] == 0 && r.values[1] == 0 && r.values[2] == 0);
    CHECK(rz_env_grade(e, &it, s, RZ_GRADE_MAX_BYTES, &r) == RZ_OK); /* at the bound: graded */
    CHECK(r.values[0] == 1 && r.values[1] == 1);
    /* an answer over RZ_ANSWER_MAX_BYTES is not read */
    size_t n = (size_t)snprintf(s, big, "<think>x</think><answer>%*s47</answer>", RZ_ANSWER_MAX_BYTES, "");
    CHECK(rz_env_grade(e, &it, s, n, &r) == RZ_OK && r.values[0] == 1); /* spaces are trimmed */
    n = (size_t)snprintf(s, big, "<think>x</think><answer>%0*d</answer>", RZ_ANSWER_MAX_BYTES + 1, 47);
    CHECK(rz_env_grade(e, &it, s, n, &r) == RZ_OK && r.values[0] == 0);
    free(s);

    /* bad calls */
    CHECK(rz_env_grade(NULL, &it, "x", 1, &r) == RZ_ERR_ARG && r.n == 3 && r.values[0] == 0);
    CHECK(rz_env_grade(e, NULL, "x", 1, &r) == RZ_ERR_ARG);
    CHECK(rz_env_grade(e, &it, NULL, 0, &r) == RZ_OK && r.values[0] == 0);
    CHECK(rz_env_grade(e, &it, NULL, 5, &r) == RZ_OK && r.values[1] == 0);
    rz_item forged = env_fake_item(NULL, NULL);
    CHECK(rz_env_grade(e, &forged, "<think>x</think><answer>47</answer>", 35, &r) == RZ_OK);
    CHECK(r.values[0] == 0 && r.values[1] == 1);
    CHECK(rz_rewards_get(&r, "nope") == -1.0);
    rz_env_free(e);
}

static void test_registry(void)
{
    const char *names[16];
    int n = rz_envs_list(names, 16);
    CHECK(n == 7);
    const char *want[] = {"arith", "countdown", "linear", "rpn_eval", "rpn_write", "reverse", "chain"};
    for (int i = 0; i < 7 && i < n; i++) {
        CHECKF(strcmp(names[i], want[i]) == 0, "%s", names[i]);
        const char *d = rz_env_describe(names[i]);
        CHECK(d && strncmp(d, names[i], strlen(names[i])) == 0 && !strchr(d, '\n'));
        /* the canonical name resolves every parameter and round-trips */
        rz_env *e = env_open(names[i]);
        rz_env *again = env_open(rz_env_name(e));
        CHECKF(strcmp(rz_env_name(e), rz_env_name(again)) == 0, "%s vs %s", rz_env_name(e),
               rz_env_name(again));
        CHECK(strstr(rz_env_name(e), "test_size=500") != NULL);
        rz_env_free(e);
        rz_env_free(again);
    }
    CHECK(rz_envs_list(NULL, 0) == 7);
    CHECK(rz_env_describe("nope") == NULL && rz_env_describe(NULL) == NULL);

    rz_env *e = env_open("arith");
    CHECKF(strcmp(rz_env_name(e), "arith(digits=3,min_digits=1,ops=add;sub;mul,test_size=500)") == 0,
           "%s", rz_env_name(e));
    rz_env_free(e);
    e = env_open("countdown(numbers=3, max_target=50, test_size=20)");
    CHECKF(strcmp(rz_env_name(e),
                  "countdown(numbers=3,max_number=25,min_target=1,max_target=50,test_size=20)") == 0,
           "%s", rz_env_name(e));
    CHECK(rz_env_test_size(e) == 20);
    rz_env_free(e);

    rz_error err = {0};
    CHECK(rz_env_create(&e, "nope(a=1)", &err) == RZ_ERR_ARG && e == NULL);
    CHECKF(strstr(err.msg, "unknown environment 'nope'") && strstr(err.msg, "countdown, linear"),
           "%s", err.msg);
    CHECK(rz_env_create(&e, "countdown(number=3)", &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "unknown parameter 'number'") && strstr(err.msg, "numbers") &&
               strstr(err.msg, "test_size"),
           "%s", err.msg);
    CHECK(rz_env_create(&e, "arith(digits=10)", &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "'digits' = 10 is out of range"), "%s", err.msg);
    CHECK(rz_env_create(&e, "arith(ops=add;div)", &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "'div'"), "%s", err.msg);
    CHECK(rz_env_create(&e, "arith(ops=add;add)", &err) == RZ_ERR_ARG);
    CHECK(rz_env_create(&e, "arith(test_size=-1)", &err) == RZ_ERR_ARG);
    CHECK(rz_env_create(&e, "rpn_write(max_target=1000,max_tokens=5)", &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "max_tokens=5 is too small"), "%s", err.msg);
    CHECK(rz_env_create(&e, "countdown(", &err) == RZ_ERR_ARG);
    CHECK(e == NULL);
    rz_env_free(NULL);
}

static void test_items(void)
{
    rz_env *e = env_open("arith(test_size=100)");
    rz_error err = {0};
    rz_item a, b;
    /* a pure function of (params, seed, split, index) */
    CHECK_OK(rz_env_item(e, 7, RZ_SPLIT_TRAIN, 12345, &a, &err), &err);
    CHECK_OK(rz_env_item(e, 7, RZ_SPLIT_TRAIN, 12345, &b, &err), &err);
    CHECK(strcmp(a.prompt, b.prompt) == 0 && strcmp(a.answer, b.answer) == 0);
    CHECK(a.index == 12345 && a.split == RZ_SPLIT_TRAIN);
    rz_item_free(&b);
    rz_env *e2 = env_open("arith(test_size=100)");
    CHECK_OK(rz_env_item(e2, 7, RZ_SPLIT_TRAIN, 12345, &b, &err), &err);
    CHECK(strcmp(a.prompt, b.prompt) == 0); /* another env object, same params */
    rz_item_free(&b);
    rz_env_free(e2);
    rz_item_free(&a);
    rz_item_free(&a); /* idempotent */
    CHECK(a.prompt == NULL);
    /* seeds and indices matter */
    int differ_seed = 0, differ_index = 0;
    for (int i = 0; i < 50; i++) {
        CHECK_OK(rz_env_item(e, 1, RZ_SPLIT_TEST, i, &a, &err), &err);
        CHECK_OK(rz_env_item(e, 2, RZ_SPLIT_TEST, i, &b, &err), &err);
        differ_seed += strcmp(a.prompt, b.prompt) != 0;
        rz_item_free(&b);
        CHECK_OK(rz_env_item(e, 1, RZ_SPLIT_TEST, i + 1, &b, &err), &err);
        differ_index += strcmp(a.prompt, b.prompt) != 0;
        rz_item_free(&a);
        rz_item_free(&b);
    }
    CHECK(differ_seed >= 45 && differ_index >= 45);
    /* split bounds */
    CHECK(rz_env_item(e, 1, RZ_SPLIT_TEST, 100, &a, &err) == RZ_ERR_ARG && a.prompt == NULL);
    CHECKF(strstr(err.msg, "outside the test split [0, 100)"), "%s", err.msg);
    CHECK(rz_env_item(e, 1, RZ_SPLIT_TEST, 99, &a, &err) == RZ_OK);
    rz_item_free(&a);
    CHECK(rz_env_item(e, 1, RZ_SPLIT_TRAIN, -1, &a, &err) == RZ_ERR_ARG);
    CHECK(rz_env_item(e, 1, 2, 0, &a, &err) == RZ_ERR_ARG);
    CHECK(rz_env_item(e, 1, RZ_SPLIT_TRAIN, INT64_MAX - 100, &a, &err) == RZ_OK);
    rz_item_free(&a);
    CHECK(rz_env_item(e, 1, RZ_SPLIT_TRAIN, INT64_MAX - 99, &a, &err) == RZ_ERR_ARG);
    rz_env_free(e);
    /* too small an item space to hold out a test split: a clear error, not a hang */
    e = env_open("reverse(min_len=1,max_len=1)");
    int rc = RZ_OK;
    for (int i = 0; i < 30 && rc == RZ_OK; i++) {
        rc = rz_env_item(e, 1, RZ_SPLIT_TEST, i, &a, &err);
        rz_item_free(&a);
    }
    if (rc != RZ_OK) CHECKF(rc == RZ_ERR_STATE && strstr(err.msg, "too small"), "%s", err.msg);
    rz_env_free(e);
    /* test_size=0: no test items */
    e = env_open("arith(test_size=0)");
    CHECK(rz_env_item(e, 1, RZ_SPLIT_TEST, 0, &a, &err) == RZ_ERR_ARG);
    rz_env_free(e);
}

int main(void)
{
    test_rules();
    test_registry();
    test_items();
    return test_done("test_env_format");
}

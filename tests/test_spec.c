/* test_spec.c: "name(key=value,...)" parsing, including malformed specs. */
#include "test.h"

int main(void)
{
    rz_spec s;
    rz_error err = {0};
    CHECK_OK(rz_spec_parse(&s, "connect4", &err), &err);
    CHECK(strcmp(s.name, "connect4") == 0 && s.n == 0);
    CHECK_OK(rz_spec_parse(&s, " countdown( numbers = 4 , max_target=100 ) ", &err), &err);
    CHECK(strcmp(s.name, "countdown") == 0 && s.n == 2);
    CHECK(strcmp(rz_spec_get(&s, "numbers"), "4") == 0);
    CHECK(strcmp(rz_spec_get(&s, "max_target"), "100") == 0);
    CHECK(rz_spec_get(&s, "nope") == NULL);
    CHECK_OK(rz_spec_parse(&s, "nim()", &err), &err);
    CHECK(s.n == 0);

    long piles[8];
    int n = 0;
    CHECK_OK(rz_spec_parse(&s, "nim(piles=3;5;7)", &err), &err);
    CHECK_OK(rz_spec_int_list(&s, "piles", "1;2", 0, 100, piles, 8, &n, &err), &err);
    CHECK(n == 3 && piles[0] == 3 && piles[1] == 5 && piles[2] == 7);
    CHECK(rz_spec_int_list(&s, "piles", "1", 0, 6, piles, 8, &n, &err) == RZ_ERR_ARG);
    CHECK(strstr(err.msg, "out of range") != NULL);

    long x = 0;
    CHECK_OK(rz_spec_int(&s, "absent", 9, 0, 10, &x, &err), &err);
    CHECK(x == 9);
    CHECK_OK(rz_spec_parse(&s, "a(k=12x)", &err), &err);
    CHECK(rz_spec_int(&s, "k", 0, 0, 100, &x, &err) == RZ_ERR_ARG);
    CHECK(strstr(err.msg, "'k' must be an integer") != NULL);

    const char *allowed[] = {"numbers", "max_target", NULL};
    CHECK_OK(rz_spec_parse(&s, "countdown(numbres=4)", &err), &err);
    CHECK(rz_spec_check_keys(&s, allowed, &err) == RZ_ERR_ARG);
    CHECKF(strstr(err.msg, "unknown parameter 'numbres'") && strstr(err.msg, "numbers, max_target"),
           "%s", err.msg);

    const char *bad[] = {"", "(", "a(", "a(b)", "a(=1)", "a(b=1", "a b", "a(b=1)x", "a(b=1,b=2)",
                         "a(b=1,,c=2)"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECKF(rz_spec_parse(&s, bad[i], &err) == RZ_ERR_ARG, "'%s' accepted", bad[i]);
    return test_done("test_spec");
}

/* fuzz_reverse.c: libFuzzer target for the reverse grader (see fuzz_env.h). */
#include "fuzz_env.h"

FUZZ_ENV("reverse")

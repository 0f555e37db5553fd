/* fuzz_arith.c: libFuzzer target for the arith grader (see fuzz_env.h). */
#include "fuzz_env.h"

FUZZ_ENV("arith")

/* fuzz_rpn_write.c: libFuzzer target for the rpn_write grader (see fuzz_env.h). */
#include "fuzz_env.h"

FUZZ_ENV("rpn_write(max_tokens=64)")

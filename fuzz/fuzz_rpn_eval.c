/* fuzz_rpn_eval.c: libFuzzer target for the rpn_eval grader (see fuzz_env.h). */
#include "fuzz_env.h"

FUZZ_ENV("rpn_eval(loops=1)")

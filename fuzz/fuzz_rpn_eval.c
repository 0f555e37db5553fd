/* fuzz_rpn_eval.c: libFuzzer target for the rpn_eval grader (see harness.h). */
#include "harness.h"

FUZZ_ENV("rpn_eval(loops=1)")

/* fuzz_rpn_write.c: libFuzzer target for the rpn_write grader (see harness.h). */
#include "harness.h"

FUZZ_ENV("rpn_write(max_tokens=64)")

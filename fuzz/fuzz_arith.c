/* fuzz_arith.c: libFuzzer target for the arith grader (see harness.h). */
#include "harness.h"

FUZZ_ENV("arith")

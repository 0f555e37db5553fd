/* fuzz_linear.c: libFuzzer target for the linear grader (see harness.h). */
#include "harness.h"

FUZZ_ENV("linear")

/* fuzz_linear.c: libFuzzer target for the linear grader (see fuzz_env.h). */
#include "fuzz_env.h"

FUZZ_ENV("linear")

/* fuzz_reverse.c: libFuzzer target for the reverse grader (see harness.h). */
#include "harness.h"

FUZZ_ENV("reverse")

/* fuzz_countdown.c: libFuzzer target for the countdown grader (see harness.h). */
#include "harness.h"

FUZZ_ENV("countdown(numbers=6)")

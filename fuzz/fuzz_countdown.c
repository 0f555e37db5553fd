/* fuzz_countdown.c: libFuzzer target for the countdown grader (see fuzz_env.h). */
#include "fuzz_env.h"

FUZZ_ENV("countdown(numbers=6)")

#include "test.h"
int main(void) { return test_done("test_game_values"); }

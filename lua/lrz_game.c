#include "lrz.h"
void lrz_open_game(lua_State *L) { (void)L; }

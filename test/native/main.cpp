// Catch2 v2 needs one translation unit that defines main(); with v3 the
// Catch2WithMain library provides it and this file compiles to nothing.
#ifndef FL_CATCH2_V3
#define CATCH_CONFIG_MAIN
#include "catch.hpp"
#endif

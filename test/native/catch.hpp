// Picks the Catch2 header for the installed major version: v2 (Debian 12) ships a
// single header, v3 (Debian 13) split ones. CMake defines FL_CATCH2_V3 for v3.
#pragma once
#ifdef FL_CATCH2_V3
#include <catch2/catch_test_macros.hpp>
#else
#include <catch2/catch.hpp>
#endif

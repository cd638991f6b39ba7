// The unit-test executable's entry point (doctest). Tests live in test_*.cpp,
// one file per module of src/, named after it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

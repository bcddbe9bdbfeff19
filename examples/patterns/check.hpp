// examples/patterns: the tiny check used by every pattern program (each is a ctest test: exit
// code 0 when every check held).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include <weft/runtime.hpp>

#define PATTERN_CHECK(cond, detail)                                                              \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "%s:%d: check failed: %s\n%s\n", __FILE__, __LINE__, #cond,           \
                   std::string(detail).c_str());                                                 \
      std::exit(1);                                                                              \
    }                                                                                            \
  } while (0)

/// True when the program was started with `flag` (e.g. --racy): the deliberately broken code
/// paths run only then, by hand under a sanitizer (see README.md), never in CI.
inline bool has_flag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == flag) return true;
  return false;
}

/// The runtime every pattern program uses.
inline weft::runtime_options two_workers() {
  weft::runtime_options o;
  o.workers = 2;
  return o;
}

// examples/patterns: the tiny check used by every pattern program (each is a ctest test: exit
// code 0 when every check held).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <weft/leak_check.hpp>
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

/// Waits (bounded at 60 s, only to catch a hang) until `n` tasks are parked in a weft operation,
/// so a leak check or dump that follows sees them blocked, not still starting on a loaded
/// machine. Returns the count last seen.
inline std::size_t wait_until_blocked(weft::runtime& rt, std::size_t n) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::size_t b = 0;
  while ((b = weft::stats(rt).tasks_blocked) < n && std::chrono::steady_clock::now() < give_up) weft::yield();
  return b;
}

/// For a leak check that expects no leak: check() returns as soon as the scope's tasks have
/// ended, so a long grace costs nothing when the program is right and keeps a loaded machine's
/// slow finish from reading as a leak.
inline weft::leak_check_options expect_no_leak() {
  weft::leak_check_options o;
  o.grace = std::chrono::seconds(30);
  return o;
}

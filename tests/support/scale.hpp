// tests/support/scale.hpp: loop counts for stress and property tests.
//
// `weft::test::scale(n)` multiplies n by the factor in the environment variable
// WEFT_TEST_SCALE (a decimal, e.g. "0.1" or "10"). Without the variable the factor is 1.0,
// or 0.1 in sanitized builds (WEFT_SANITIZED defined by tests/CMakeLists.txt, or a sanitizer
// detected by the compiler), because ThreadSanitizer runs about ten times slower. The result
// is never below 1, so every loop runs at least once.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>

#if !defined(WEFT_SANITIZED)
#  if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#    define WEFT_SANITIZED 1
#  elif defined(__has_feature)
#    if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#      define WEFT_SANITIZED 1
#    endif
#  endif
#endif

namespace weft::test {

inline constexpr bool sanitized =
#if defined(WEFT_SANITIZED)
    true;
#else
    false;
#endif

/// The factor from WEFT_TEST_SCALE (default 1.0, or 0.1 when sanitized). Read once.
inline double scale_factor() {
  static const double factor = [] {
    double f = sanitized ? 0.1 : 1.0;
    if (const char* env = std::getenv("WEFT_TEST_SCALE"); env != nullptr && *env != '\0') {
      char* end = nullptr;
      const double parsed = std::strtod(env, &end);
      if (end != env && parsed > 0.0) f = parsed;
    }
    return f;
  }();
  return factor;
}

/// n times the scale factor, at least 1.
inline std::size_t scale(std::size_t n) {
  const double scaled = static_cast<double>(n) * scale_factor();
  return std::max<std::size_t>(1, static_cast<std::size_t>(scaled));
}

/// How long a test may wait for something that must happen before it calls it a hang.
/// Generous on purpose: it only turns a hang into a failure, it never measures speed.
inline std::chrono::seconds hang_deadline() { return std::chrono::seconds(sanitized ? 240 : 60); }

}  // namespace weft::test

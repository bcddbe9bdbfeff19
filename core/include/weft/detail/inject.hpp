// Yield injection: `WEFT_INJECT_YIELD();` marks a point of a protocol where another thread
// running in between is interesting (between claiming a ring slot and publishing it, before a
// park, inside close, between a select's register and its re-check/unregister). In a normal
// build the macro is nothing at all. Built with -DWEFT_INJECT_YIELDS=ON (cmake option in
// cmake/WeftBuildFlags.cmake, which defines WEFT_INJECT_YIELDS=1 for the whole build), each hook
// calls sched_yield() with probability 1/rate, so the stress tests explore interleavings a
// 2-core machine would otherwise almost never produce (the idea of "noise making", as in
// Ben-Asher et al., "Producing scheduling that causes concurrent programs to fail", and the
// random yields of Go's race-mode scheduler).
//
//   WEFT_INJECT_YIELD_RATE=N   (environment, read once) yield at 1 hook in N; default 4;
//                              0 disables the hooks at run time.
//
// The generator is a per-thread xorshift64, seeded from the thread's TLS address and the clock,
// so two runs differ (a flake found this way is reproduced by the same test under repetition,
// not by a seed). A hook is a plain function call and touches no shared memory: it adds no
// synchronisation, so it cannot hide a missing memory order; it only changes timing.
#pragma once

#if defined(WEFT_INJECT_YIELDS) && WEFT_INJECT_YIELDS

#include <sched.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>

namespace weft::detail {

/// 1 in inject_rate() hooks yields; 0 = never. Read once from WEFT_INJECT_YIELD_RATE.
inline std::uint32_t inject_rate() noexcept {
  static const std::uint32_t rate = [] {
    const char* s = std::getenv("WEFT_INJECT_YIELD_RATE");
    if (s == nullptr || *s == '\0') return std::uint32_t{4};
    return static_cast<std::uint32_t>(std::strtoul(s, nullptr, 10));
  }();
  return rate;
}

/// The hook behind WEFT_INJECT_YIELD(): sched_yield() with probability 1/inject_rate().
/// Out of line: hooks sit in loops that park a task, which may resume on another worker thread;
/// inlined, the compiler could keep `state`'s thread-local address from before the park and
/// step the previous thread's generator (a race; see current_task() in parker.hpp).
[[gnu::noinline]] inline void inject_yield() noexcept {
  static thread_local std::uint64_t state = 0;
  const std::uint32_t rate = inject_rate();
  if (rate == 0) return;
  std::uint64_t x = state;
  if (x == 0) {
    x = reinterpret_cast<std::uintptr_t>(&state) ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    x |= 1;
  }
  // xorshift64 (Marsaglia 2003): enough to spread the yields; not a statistical generator.
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  state = x;
  if (x % rate == 0) sched_yield();
}

}  // namespace weft::detail

#define WEFT_INJECT_YIELD() ::weft::detail::inject_yield()

#else

#define WEFT_INJECT_YIELD() static_cast<void>(0)

#endif

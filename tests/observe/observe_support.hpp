// Helpers of tests/observe: poll dump_blocked()/stats() until they show what a test waits for
// (bounded by the hang deadline; polling observes state, it synchronises nothing).
#pragma once

#include <chrono>
#include <sstream>
#include <string>

#include <weft/runtime.hpp>
#include <weft/status.hpp>

#include "support/scale.hpp"

namespace weft::test {

/// The value, or -1 for any non-ok status.
inline int or_minus_one(weft::result<int>&& r) { return r ? *r : -1; }
/// A status as an int (a task's future cannot carry a bare status: result<status> is ill-formed).
inline int code_of(weft::status s) { return static_cast<int>(s); }

inline std::string dump_of(weft::runtime& rt) {
  std::ostringstream os;
  weft::dump_blocked(rt, os);
  return os.str();
}

/// "\n" + the dump, once it contains every one of `what` (or the last dump at the hang deadline).
template <class... S>
std::string wait_for_dump(weft::runtime& rt, const S&... what) {
  const auto give_up = std::chrono::steady_clock::now() + hang_deadline();
  std::string d;
  for (;;) {
    d.assign(1, '\n');  // every line, the first too, starts after a newline
    d += dump_of(rt);  // (not "\n" + ...: gcc 12 -Wrestrict false positive)
    if (((d.find(what) != std::string::npos) && ...)) return d;
    if (std::chrono::steady_clock::now() >= give_up) return d;
    weft::yield();
  }
}

/// Waits (yielding) until done(stats(rt)) holds or the hang deadline passes; returns the last
/// stats seen.
template <class Done>
weft::runtime_stats wait_for_stats(weft::runtime& rt, Done done) {
  const auto give_up = std::chrono::steady_clock::now() + hang_deadline();
  weft::runtime_stats s;
  while (!done(s = weft::stats(rt)) && std::chrono::steady_clock::now() < give_up) weft::yield();
  return s;
}

/// Waits until stats(rt).tasks_blocked == n; returns the last value seen.
inline std::size_t wait_for_blocked(weft::runtime& rt, std::size_t n) {
  return wait_for_stats(rt, [n](const weft::runtime_stats& s) { return s.tasks_blocked == n; }).tasks_blocked;
}

/// Waits until stats(rt).tasks_blocked >= n (other tasks may be running, not blocked).
inline std::size_t wait_for_blocked_at_least(weft::runtime& rt, std::size_t n) {
  return wait_for_stats(rt, [n](const weft::runtime_stats& s) { return s.tasks_blocked >= n; }).tasks_blocked;
}

/// Waits until stats(rt).tasks_live == n; returns the last value seen.
inline std::size_t wait_for_live(weft::runtime& rt, std::size_t n) {
  return wait_for_stats(rt, [n](const weft::runtime_stats& s) { return s.tasks_live == n; }).tasks_live;
}

}  // namespace weft::test

// tests/support/helpers.hpp: small helpers shared by the channel, select and stress tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <utility>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "chan_flavor.hpp"
#include "exec_param.hpp"
#include "scale.hpp"
#include "tracked.hpp"

/// Expects `expr` to throw weft::error whose code() is `expected_code`.
#define WEFT_EXPECT_ERROR(expr, expected_code)                                                   \
  do {                                                                                           \
    bool weft_thrown_ = false;                                                                   \
    try {                                                                                        \
      (void)(expr);                                                                              \
    } catch (const ::weft::error& weft_e_) {                                                     \
      weft_thrown_ = true;                                                                       \
      EXPECT_EQ(weft_e_.code(), (expected_code)) << #expr << " threw: " << weft_e_.what();      \
    } catch (const std::exception& weft_e_) {                                                    \
      weft_thrown_ = true;                                                                       \
      ADD_FAILURE() << #expr << " threw a non-weft exception: " << weft_e_.what();             \
    }                                                                                            \
    EXPECT_TRUE(weft_thrown_) << #expr << " did not throw weft::error";                          \
  } while (false)

namespace weft::test {

using clock = std::chrono::steady_clock;

/// A context that is already cancelled.
inline weft::context cancelled_context() {
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  cancel();
  return ctx;
}

/// A context whose deadline has already passed.
inline weft::context expired_context() {
  auto [ctx, cancel] = weft::with_deadline(weft::background(), clock::now() - std::chrono::seconds(1));
  (void)cancel;
  return ctx;
}

/// Fills a channel with try_send until it reports full (bounded and unbuffered only);
/// values are make(i). Returns how many were buffered.
template <class T, class Make>
std::size_t fill(weft::sender<T>& tx, Make make) {
  std::size_t n = 0;
  for (;;) {
    T v = make(static_cast<int>(n));
    const auto st = tx.try_send(std::move(v));
    if (st != weft::status::ok) {
      EXPECT_EQ(st, weft::status::full);
      return n;
    }
    ++n;
    if (n > 100000) {
      ADD_FAILURE() << "fill: channel never became full";
      return n;
    }
  }
}

inline std::size_t fill_ints(weft::sender<int>& tx) {
  return fill(tx, [](int i) { return i; });
}

/// Waits (relaxing) until pred() holds; fails the test (aborts) after hang_deadline().
template <class Pred>
void wait_until(Pred pred, const char* what) {
  const auto deadline = clock::now() + hang_deadline();
  while (!pred()) {
    if (clock::now() > deadline) abort_on_hang(what);
    relax();
  }
}

/// Elapsed time since t0.
inline clock::duration since(clock::time_point t0) { return clock::now() - t0; }

}  // namespace weft::test

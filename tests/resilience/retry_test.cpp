// retry(ctx, policy, f) (API.md "Resilience"): max_attempts counts calls; an exception is a
// failure (failed if it is the last); returns the first success, the last failure, or the
// context's err() when the context ends, and never calls f after the context ended; backoff
// grows by multiplier up to max_backoff; with jitter each wait is uniform in [0, backoff]; the
// wait between attempts ends at once when the context does.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include <weft/resilience.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;

class Retry : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
  template <class F>
  void run(F body) {
    weft::test::run_concurrently(ex(), std::move(body));
  }
};
INSTANTIATE_TEST_SUITE_P(Exec, Retry, weft::test::exec_values(), weft::test::exec_param_name);

weft::retry_policy fast(int attempts) {
  weft::retry_policy p;
  p.max_attempts = attempts;
  p.initial_backoff = 0ns;
  p.max_backoff = 0ns;
  p.jitter = false;
  return p;
}

TEST_P(Retry, FirstSuccessCallsOnce) {
  run([] {
    int calls = 0;
    auto r = weft::retry(weft::background(), fast(5), [&] {
      ++calls;
      return weft::result<int>(3);
    });
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, 3);
    EXPECT_EQ(calls, 1);
  });
}

TEST_P(Retry, MaxAttemptsCountsCallsAndReturnsTheLastFailure) {
  run([] {
    int calls = 0;
    auto r = weft::retry(weft::background(), fast(4), [&]() -> weft::result<int> {
      ++calls;
      return calls < 4 ? status::closed : status::full;  // the last one differs
    });
    EXPECT_EQ(r.code(), status::full);
    EXPECT_EQ(calls, 4);
  });
}

TEST_P(Retry, ReturnsTheFirstSuccessAfterFailures) {
  run([] {
    int calls = 0;
    auto r = weft::retry(weft::background(), fast(5), [&]() -> weft::result<int> {
      if (++calls < 3) return status::timeout;
      return 40 + calls;
    });
    ASSERT_TRUE(static_cast<bool>(r)) << r.code();
    EXPECT_EQ(*r, 43);
    EXPECT_EQ(calls, 3);
  });
}

TEST_P(Retry, ExceptionIsAFailureAndTheLastEndsAsFailed) {
  run([] {
    int calls = 0;
    auto r = weft::retry(weft::background(), fast(3), [&]() -> weft::result<int> {
      ++calls;
      throw std::runtime_error("attempt " + std::to_string(calls));
    });
    EXPECT_EQ(calls, 3);
    ASSERT_EQ(r.code(), status::failed);
    try {
      std::rethrow_exception(r.exception());
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "attempt 3") << "the last failure is returned";
    }

    calls = 0;
    auto ok = weft::retry(weft::background(), fast(3), [&]() -> weft::result<int> {
      if (++calls == 1) throw std::runtime_error("once");
      return 1;
    });
    EXPECT_TRUE(static_cast<bool>(ok));
    EXPECT_EQ(calls, 2);
  });
}

TEST_P(Retry, StatusAndVoidFunctions) {
  run([] {
    int calls = 0;
    weft::result<void> r = weft::retry(weft::background(), fast(3), [&] {
      return ++calls < 2 ? status::empty : status::ok;
    });
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(calls, 2);
    weft::result<void> v = weft::retry(weft::background(), fast(3), [&] { ++calls; });
    EXPECT_TRUE(static_cast<bool>(v));
  });
}

TEST_P(Retry, NeverCallsFOnceTheContextEnded) {
  run([] {
    int calls = 0;
    auto f = [&]() -> weft::result<int> {
      ++calls;
      return 1;
    };
    EXPECT_EQ(weft::retry(weft::test::cancelled_context(), fast(3), f).code(), status::cancelled);
    EXPECT_EQ(weft::retry(weft::test::expired_context(), fast(3), f).code(), status::timeout);
    EXPECT_EQ(calls, 0);
  });
}

// f cancels the context while failing: retry must return `cancelled` without another call,
// even though attempts remain and the backoff is zero.
TEST_P(Retry, StopsWhenTheContextEndsBetweenAttempts) {
  run([] {
    auto [ctx, cancel] = weft::with_cancel(weft::background());
    int calls = 0;
    auto r = weft::retry(ctx, fast(10), [&, c = cancel]() -> weft::result<int> {
      if (++calls == 2) c();
      return status::closed;
    });
    EXPECT_EQ(r.code(), status::cancelled);
    EXPECT_EQ(calls, 2);
  });
}

// A cancel during a (very long) backoff wakes the wait at once: retry returns `cancelled` with
// no further call. A wait that ignored the context would hang here until the hang catcher.
TEST_P(Retry, CancelDuringBackoffWakesTheWaitAtOnce) {
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  std::atomic<int> calls{0};
  weft::retry_policy p;
  p.max_attempts = 5;
  p.initial_backoff = std::chrono::minutes(10);
  p.max_backoff = std::chrono::minutes(10);
  p.jitter = false;
  weft::test::run_concurrently(
      ex(),
      [&, c = ctx] {
        auto r = weft::retry(c, p, [&]() -> weft::result<int> {
          calls.fetch_add(1);
          return status::closed;
        });
        EXPECT_EQ(r.code(), status::cancelled);
      },
      [&, cancel = cancel] {
        weft::test::wait_until([&] { return calls.load() == 1; }, "first attempt");
        weft::test::let_others_block();  // retry is (most likely) in its backoff wait
        cancel();
      });
  EXPECT_EQ(calls.load(), 1);
}

// A context deadline during the backoff: `timeout`, and no call after it.
TEST_P(Retry, DeadlineDuringBackoffReturnsTimeout) {
  run([] {
    const auto t0 = clock::now();  // before the context: its deadline counts from its creation
    // 200 ms: far enough that the first attempt comes before it even on a loaded machine.
    auto [ctx, cancel] = weft::with_timeout(weft::background(), 200ms);
    weft::retry_policy p;
    p.max_attempts = 3;
    p.initial_backoff = std::chrono::minutes(10);
    p.max_backoff = std::chrono::minutes(10);
    p.jitter = false;
    int calls = 0;
    auto r = weft::retry(ctx, p, [&]() -> weft::result<int> {
      ++calls;
      return status::closed;
    });
    EXPECT_EQ(r.code(), status::timeout);
    EXPECT_EQ(calls, 1);
    EXPECT_GE(weft::test::since(t0), 200ms);
    cancel();
  });
}

// Lower bounds only: the waits between attempts are at least 5, 10 and 12 (capped) ms.
TEST_P(Retry, BackoffGrowsByMultiplierUpToMaxBackoff) {
  run([] {
    weft::retry_policy p;
    p.max_attempts = 4;
    p.initial_backoff = 5ms;
    p.max_backoff = 12ms;
    p.multiplier = 2;
    p.jitter = false;
    std::vector<clock::time_point> at;
    auto r = weft::retry(weft::background(), p, [&]() -> weft::result<int> {
      at.push_back(clock::now());
      return status::closed;
    });
    EXPECT_EQ(r.code(), status::closed);
    ASSERT_EQ(at.size(), 4u);
    EXPECT_GE(at[1] - at[0], 5ms);
    EXPECT_GE(at[2] - at[1], 10ms);
    EXPECT_GE(at[3] - at[2], 12ms);
  });
}

// The schedule itself, exactly (no clock involved).
TEST(RetrySchedule, GrowsByMultiplierAndCaps) {
  weft::retry_policy p;
  p.initial_backoff = 5ms;
  p.max_backoff = 12ms;
  p.multiplier = 2;
  p.jitter = false;
  weft::detail::retry_schedule s(p, weft::detail::source_location::current());
  EXPECT_EQ(s.next_wait(), 5ms);
  EXPECT_EQ(s.next_wait(), 10ms);
  EXPECT_EQ(s.next_wait(), 12ms);
  EXPECT_EQ(s.next_wait(), 12ms);

  p.initial_backoff = 1s;  // above the cap: capped from the first wait
  p.max_backoff = 100ms;
  weft::detail::retry_schedule capped(p, weft::detail::source_location::current());
  EXPECT_EQ(capped.next_wait(), 100ms);

  p.initial_backoff = 1ms;
  p.max_backoff = std::chrono::nanoseconds::max();
  p.multiplier = 1e300;  // overflows to infinity: still capped, never negative
  weft::detail::retry_schedule huge(p, weft::detail::source_location::current());
  EXPECT_EQ(huge.next_wait(), 1ms);
  EXPECT_GT(huge.next_wait(), 1ms);
  EXPECT_GT(huge.next_wait(), 0ns);
}

TEST(RetrySchedule, JitterIsUniformInZeroToBackoff) {
  weft::retry_policy p;
  p.initial_backoff = 1000ns;
  p.max_backoff = 1000ns;
  p.jitter = true;
  weft::detail::retry_schedule s(p, weft::detail::source_location::current());
  constexpr int samples = 4000;
  int low = 0, high = 0;
  for (int i = 0; i < samples; ++i) {
    const auto w = s.next_wait();
    ASSERT_GE(w, 0ns);
    ASSERT_LE(w, 1000ns);
    if (w < 250ns) ++low;
    if (w > 750ns) ++high;
  }
  // Each quarter holds ~1000 samples; 600 is more than 12 standard deviations away.
  EXPECT_GT(low, 600);
  EXPECT_GT(high, 600);
}

TEST(RetryMisuse, InvalidPoliciesThrowFailed) {
  auto f = [] { return status::ok; };
  weft::retry_policy p;
  p.max_attempts = 0;
  WEFT_EXPECT_ERROR(weft::retry(weft::background(), p, f), status::failed);
  p = {};
  p.initial_backoff = -1ms;
  WEFT_EXPECT_ERROR(weft::retry(weft::background(), p, f), status::failed);
  p = {};
  p.multiplier = 0.5;
  WEFT_EXPECT_ERROR(weft::retry(weft::background(), p, f), status::failed);
}

}  // namespace

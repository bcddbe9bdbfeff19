// circuit_breaker (API.md "Resilience"): failure_threshold consecutive failures open it; while
// open, call returns `rejected` without calling f; after cool_down it is half-open and lets one
// call through (concurrent callers are rejected): success closes it, failure opens it again.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include <weft/resilience.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::breaker_state;
using weft::status;
using weft::test::clock;

class Breaker : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, Breaker, weft::test::exec_values(), weft::test::exec_param_name);

weft::breaker_options opts(int threshold, std::chrono::nanoseconds cool_down) {
  weft::breaker_options o;
  o.failure_threshold = threshold;
  o.cool_down = cool_down;
  return o;
}

auto failing = [] { return weft::result<int>(status::closed); };
auto succeeding = [] { return weft::result<int>(1); };

TEST(BreakerBasics, OpensAfterThresholdConsecutiveFailures) {
  weft::circuit_breaker b(opts(3, std::chrono::hours(1)));
  EXPECT_EQ(b.state(), breaker_state::closed);
  EXPECT_EQ(b.call(failing).code(), status::closed);
  EXPECT_EQ(b.call(failing).code(), status::closed);
  EXPECT_EQ(b.state(), breaker_state::closed);
  EXPECT_TRUE(static_cast<bool>(b.call(succeeding)));  // resets the run of failures
  EXPECT_EQ(b.call(failing).code(), status::closed);
  EXPECT_EQ(b.call(failing).code(), status::closed);
  EXPECT_EQ(b.state(), breaker_state::closed) << "2 consecutive failures after a success";
  EXPECT_EQ(b.call(failing).code(), status::closed);
  EXPECT_EQ(b.state(), breaker_state::open);
}

TEST(BreakerBasics, OpenRejectsWithoutCallingF) {
  weft::circuit_breaker b(opts(1, std::chrono::hours(1)));
  EXPECT_EQ(b.call(failing).code(), status::closed);
  ASSERT_EQ(b.state(), breaker_state::open);
  int calls = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = b.call([&] {
      ++calls;
      return weft::result<int>(1);
    });
    EXPECT_EQ(r.code(), status::rejected);
  }
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(b.state(), breaker_state::open);
}

TEST(BreakerBasics, ExceptionsAndStatusesAreFailures) {
  weft::circuit_breaker b(opts(3, std::chrono::hours(1)));
  auto r = b.call([]() -> int { throw std::runtime_error("x"); });
  EXPECT_EQ(r.code(), status::failed);
  EXPECT_TRUE(r.exception() != nullptr);
  EXPECT_EQ(b.call([] { return status::timeout; }).code(), status::timeout);
  EXPECT_EQ(b.call([] { return weft::result<void>(status::broken); }).code(), status::broken);
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_EQ(b.call([] {}).code(), status::rejected);
}

// After cool_down the breaker is half-open (lower bound on the time only); the probe's success
// closes it.
TEST(BreakerBasics, HalfOpenAfterCoolDownAndASuccessfulProbeCloses) {
  weft::circuit_breaker b(opts(2, 30ms));
  (void)b.call(failing);
  const auto opened = clock::now();  // before the opening call: a lower bound for opened_at
  (void)b.call(failing);
  weft::test::wait_until([&] { return b.state() == breaker_state::half_open; }, "half-open");
  EXPECT_GE(weft::test::since(opened), 30ms);
  int calls = 0;
  auto r = b.call([&] {
    ++calls;
    return weft::result<int>(5);
  });
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(b.state(), breaker_state::closed);
  // Closed again with a fresh count: one failure does not reopen it.
  (void)b.call(failing);
  EXPECT_EQ(b.state(), breaker_state::closed);
}

TEST(BreakerBasics, AFailedProbeReopensForAnotherCoolDown) {
  // 1 s cool-down: the checks between the failed probe and the next half-open must run within
  // it, even on a loaded machine.
  weft::circuit_breaker b(opts(1, 1s));
  (void)b.call(failing);
  weft::test::wait_until([&] { return b.state() == breaker_state::half_open; }, "half-open");
  const auto reopened = clock::now();  // before the probe: a lower bound for its re-opening
  EXPECT_EQ(b.call(failing).code(), status::closed);  // the probe fails
  EXPECT_EQ(b.state(), breaker_state::open);
  int calls = 0;
  EXPECT_EQ(b.call([&] {
              ++calls;
              return 1;
            }).code(),
            status::rejected);
  EXPECT_EQ(calls, 0);
  weft::test::wait_until([&] { return b.state() == breaker_state::half_open; }, "half-open again");
  EXPECT_GE(weft::test::since(reopened), 1s);
  EXPECT_TRUE(static_cast<bool>(b.call(succeeding)));
  EXPECT_EQ(b.state(), breaker_state::closed);
}

// A call admitted while closed that finishes after the breaker opened belongs to the past
// state: its success must not close the open breaker.
TEST_P(Breaker, AStaleOutcomeDoesNotChangeANewerState) {
  weft::circuit_breaker b(opts(1, std::chrono::hours(1)));
  std::atomic<bool> slow_running{false};
  std::atomic<bool> gate{false};
  weft::test::run_concurrently(
      ex(),
      [&] {
        auto r = b.call([&] {
          slow_running = true;
          weft::test::wait_until([&] { return gate.load(); }, "gate");
          return weft::result<int>(1);
        });
        EXPECT_TRUE(static_cast<bool>(r));
      },
      [&] {
        weft::test::wait_until([&] { return slow_running.load(); }, "slow call");
        EXPECT_EQ(b.call(failing).code(), status::closed);  // opens it
        EXPECT_EQ(b.state(), breaker_state::open);
        gate = true;
      });
  EXPECT_EQ(b.state(), breaker_state::open) << "a stale success closed the breaker";
}

// Half-open lets exactly ONE call through: N callers arrive together; the probe holds on until
// every other caller has been rejected.
TEST_P(Breaker, ExactlyOneProbeUnderConcurrency) {
  constexpr std::size_t callers = 6;
  const std::size_t rounds = weft::test::scale(20);
  for (std::size_t round = 0; round < rounds; ++round) {
    weft::circuit_breaker b(opts(1, 0ns));  // cool_down 0: half-open as soon as it opens
    (void)b.call(failing);
    ASSERT_EQ(b.state(), breaker_state::half_open);
    std::atomic<std::size_t> admitted{0};
    std::atomic<std::size_t> rejected{0};
    std::atomic<std::size_t> started{0};
    weft::test::run_concurrently_n(ex(), callers, [&](std::size_t) {
      started.fetch_add(1);
      weft::test::wait_until([&] { return started.load() == callers; }, "start line");
      auto r = b.call([&] {
        admitted.fetch_add(1);
        // The probe stays in flight until everybody else was turned away.
        weft::test::wait_until([&] { return rejected.load() == callers - 1; }, "rejections");
        return weft::result<int>(1);
      });
      if (r.code() == status::rejected) rejected.fetch_add(1);
    });
    EXPECT_EQ(admitted.load(), 1u);
    EXPECT_EQ(rejected.load(), callers - 1);
    EXPECT_EQ(b.state(), breaker_state::closed);
  }
}

// Many threads hammering a breaker with mixed outcomes: the state stays consistent (each
// value valid) and a final run of successes after half-open closes it.
TEST_P(Breaker, ConcurrentMixedCallsKeepAValidState) {
  weft::circuit_breaker b(opts(3, 0ns));
  const std::size_t calls = weft::test::scale(2000);
  weft::test::run_concurrently_n(ex(), 4, [&](std::size_t who) {
    for (std::size_t i = 0; i < calls; ++i) {
      const bool ok = (i + who) % 3 != 0;
      auto r = b.call([ok] { return ok ? status::ok : status::closed; });
      EXPECT_TRUE(r.code() == status::ok || r.code() == status::closed || r.code() == status::rejected);
      const auto s = b.state();
      EXPECT_TRUE(s == breaker_state::closed || s == breaker_state::open || s == breaker_state::half_open);
    }
  });
  weft::test::wait_until([&] { return static_cast<bool>(b.call([] { return status::ok; })); }, "a success");
  EXPECT_EQ(b.state(), breaker_state::closed);
}

TEST(BreakerMisuse, InvalidOptionsThrowFailed) {
  WEFT_EXPECT_ERROR(weft::circuit_breaker(opts(0, 1s)), status::failed);
  WEFT_EXPECT_ERROR(weft::circuit_breaker(opts(1, -1s)), status::failed);
}

TEST(BreakerBasics, StateNames) {
  EXPECT_STREQ(weft::to_string(breaker_state::closed), "closed");
  EXPECT_STREQ(weft::to_string(breaker_state::open), "open");
  EXPECT_STREQ(weft::to_string(breaker_state::half_open), "half_open");
  std::ostringstream os;
  os << breaker_state::half_open;
  EXPECT_EQ(os.str(), "half_open");
}

}  // namespace

// call_with_timeout(d, f) (API.md "Resilience"): f() -> R | result<R>, or f(const context&);
// f runs as a task; returns `timeout` if f is late; the late task keeps running (its result
// is dropped) and a context-taking f sees its context end with err() == timeout; R = void works.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <weft/resilience.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;

class CallWithTimeout : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
  template <class F>
  void run(F body) {
    weft::test::run_concurrently(ex(), std::move(body));
  }
};
INSTANTIATE_TEST_SUITE_P(Exec, CallWithTimeout, weft::test::exec_values(), weft::test::exec_param_name);

TEST_P(CallWithTimeout, ReturnsTheValueWhenInTime) {
  run([] {
    auto r = weft::call_with_timeout(std::chrono::seconds(60), [] { return 42; });
    static_assert(std::is_same_v<decltype(r), weft::result<int>>);
    ASSERT_TRUE(static_cast<bool>(r)) << r.code();
    EXPECT_EQ(*r, 42);
  });
}

TEST_P(CallWithTimeout, VoidAndStatusAndResultFunctions) {
  run([] {
    std::atomic<bool> ran{false};
    weft::result<void> v = weft::call_with_timeout(60s, [&] { ran = true; });
    EXPECT_TRUE(static_cast<bool>(v));
    EXPECT_TRUE(ran.load()) << "the task's writes are visible once the result is returned";

    weft::result<void> s = weft::call_with_timeout(60s, [] { return status::empty; });
    EXPECT_EQ(s.code(), status::empty);

    weft::result<std::string> r =
        weft::call_with_timeout(60s, [] { return weft::result<std::string>(status::closed); });
    EXPECT_EQ(r.code(), status::closed);

    auto ok = weft::call_with_timeout(60s, [] { return weft::result<std::string>(std::string("x")); });
    ASSERT_TRUE(static_cast<bool>(ok));
    EXPECT_EQ(*ok, "x");
  });
}

TEST_P(CallWithTimeout, AnExceptionIsFailed) {
  run([] {
    auto r = weft::call_with_timeout(60s, []() -> int { throw std::runtime_error("late boom"); });
    ASSERT_EQ(r.code(), status::failed);
    try {
      std::rethrow_exception(r.exception());
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "late boom");
    }
  });
}

TEST_P(CallWithTimeout, MoveOnlyFunctionAndValue) {
  run([] {
    auto p = std::make_unique<int>(9);
    auto r = weft::call_with_timeout(60s, [p = std::move(p)] { return std::make_unique<int>(*p + 1); });
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(**r, 10);
  });
}

// f is late: timeout (not before d), and the task keeps running to its end afterwards.
TEST_P(CallWithTimeout, LateFunctionTimesOutAndKeepsRunning) {
  auto gate = std::make_shared<std::atomic<bool>>(false);
  auto finished = std::make_shared<std::atomic<bool>>(false);
  run([gate, finished] {
    const auto t0 = clock::now();
    auto r = weft::call_with_timeout(20ms, [gate, finished] {
      weft::test::wait_until([&] { return gate->load(); }, "gate");
      finished->store(true);
      return 1;
    });
    EXPECT_EQ(r.code(), status::timeout);
    EXPECT_GE(weft::test::since(t0), 20ms);
    EXPECT_FALSE(finished->load());
  });
  gate->store(true);
  weft::test::wait_until([&] { return finished->load(); }, "the late task");
}

// A context-taking f sees its context end with err() == timeout when it is late.
TEST_P(CallWithTimeout, ContextTakingFunctionSeesTimeout) {
  auto seen = std::make_shared<std::atomic<int>>(-1);
  run([seen] {
    auto r = weft::call_with_timeout(20ms, [seen](const weft::context& ctx) {
      auto done = ctx.done();
      (void)done.recv();  // closed when the deadline passes
      seen->store(static_cast<int>(ctx.err()));
      return status::ok;
    });
    EXPECT_EQ(r.code(), status::timeout);
  });
  weft::test::wait_until([&] { return seen->load() != -1; }, "the late task");
  EXPECT_EQ(seen->load(), static_cast<int>(status::timeout));
}

TEST_P(CallWithTimeout, ContextIsLiveWhileInTime) {
  run([] {
    auto r = weft::call_with_timeout(60s, [](const weft::context& ctx) {
      EXPECT_EQ(ctx.err(), status::ok);
      EXPECT_TRUE(ctx.deadline().has_value());
      return ctx.err();
    });
    EXPECT_TRUE(static_cast<bool>(r)) << r.code();
  });
}

TEST_P(CallWithTimeout, ZeroDurationTimesOutAQuickFunctionOrReturnsIt) {
  // d == 0 never waits; the outcome is timeout unless the task already finished (a race the
  // caller cannot see). Either way: no hang, no crash, and a result of the right kind.
  run([] {
    auto r = weft::call_with_timeout(0s, [] { return 3; });
    EXPECT_TRUE(r.code() == status::timeout || (r && *r == 3)) << r.code();
  });
}

}  // namespace

// Timers: after(d) delivers one value at >= d, then stays silent and never closes; tick(d)
// delivers a value every d, the first at d, keeps at most one queued, never closes.
// Only lower bounds on time are asserted; upper bounds exist only as hang catchers.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;

class Timers : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, Timers, weft::test::exec_values(), weft::test::exec_param_name);

TEST_P(Timers, AfterDeliversOneValueNoEarlierThanItsDuration) {
  const auto t0 = clock::now();
  auto rx = weft::after(20ms);
  auto r = rx.recv_for(weft::test::hang_deadline());
  ASSERT_TRUE(r) << r.code();
  EXPECT_GE(clock::now(), t0 + 20ms);
  EXPECT_GE(*r, t0 + 20ms) << "the delivered time point is no earlier than start + d";
  EXPECT_LE(*r, clock::now()) << "the delivered time point is not in the future";
}

TEST_P(Timers, AfterIsSilentAndOpenAfterItsValue) {
  auto rx = weft::after(1ms);
  ASSERT_TRUE(rx.recv_for(weft::test::hang_deadline()));
  EXPECT_EQ(rx.try_recv().code(), status::empty) << "after(d) never closes";
  EXPECT_EQ(rx.recv_for(20ms).code(), status::timeout) << "and never delivers a second value";
  EXPECT_FALSE(rx.is_closed());
}

TEST_P(Timers, AfterWithZeroOrNegativeDurationDeliversAtOnce) {
  for (auto d : {std::chrono::nanoseconds(0), std::chrono::nanoseconds(-1000000), std::chrono::nanoseconds::min()}) {
    auto rx = weft::after(d);
    auto r = rx.recv_for(weft::test::hang_deadline());
    ASSERT_TRUE(r) << r.code();
    EXPECT_EQ(rx.try_recv().code(), status::empty);
  }
}

TEST_P(Timers, AfterHasNoValueBeforeItsDuration) {
  auto rx = weft::after(1h);
  EXPECT_EQ(rx.try_recv().code(), status::empty);
  EXPECT_EQ(rx.recv_for(10ms).code(), status::timeout);
  EXPECT_FALSE(rx.is_closed());
}

TEST_P(Timers, AfterWorksAsASelectTimeout) {
  auto never = weft::make_chan<int>(0);
  const auto t0 = clock::now();
  auto timer = weft::after(20ms);
  const std::size_t i = weft::select(weft::on_recv(never.rx, [](weft::result<int>&&) { ADD_FAILURE(); }),
                                     weft::on_recv(timer, [](auto&& r) { EXPECT_TRUE(r); }));
  EXPECT_EQ(i, 1u);
  EXPECT_GE(weft::test::since(t0), 20ms);
}

TEST_P(Timers, AfterValuesCanBeReceivedFromAnotherThreadOrTask) {
  auto rx = weft::after(5ms);
  const auto t0 = clock::now();
  weft::test::run_concurrently(ex(), [&, r = rx]() mutable {
    auto v = r.recv();
    ASSERT_TRUE(v);
    EXPECT_GE(clock::now(), t0);
  });
}

TEST_P(Timers, TickDeliversTheKthValueNoEarlierThanKTimesD) {
  const auto t0 = clock::now();
  auto rx = weft::tick(10ms);
  auto prev = t0;
  for (int k = 1; k <= 5; ++k) {
    auto r = rx.recv_for(weft::test::hang_deadline());
    ASSERT_TRUE(r) << r.code();
    EXPECT_GE(clock::now(), t0 + k * 10ms) << "value " << k;
    EXPECT_GE(*r, t0 + 10ms) << "no value before the first period";
    EXPECT_GE(*r, prev) << "time points do not go backwards";
    prev = *r;
  }
  EXPECT_FALSE(rx.is_closed());
}

TEST_P(Timers, TickKeepsAtMostOneValueQueued) {
  const auto t0 = clock::now();
  auto rx = weft::tick(20ms);
  // Let five periods pass without reading (time passing is the thing under test here).
  std::this_thread::sleep_until(t0 + 110ms);
  EXPECT_LE(rx.size(), 1u);
  auto first = rx.try_recv();
  ASSERT_TRUE(first) << "at least one tick is queued after five periods";
  const auto second = rx.try_recv();
  if (second) {
    // Only allowed if a new period began since the first was taken.
    EXPECT_GE(clock::now(), t0 + 120ms) << "two values were queued at once";
  } else {
    EXPECT_EQ(second.code(), status::empty);
  }
}

TEST_P(Timers, TickNeverClosesAndKeepsTicking) {
  auto rx = weft::tick(2ms);
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(rx.recv_for(weft::test::hang_deadline()));
  EXPECT_FALSE(rx.is_closed());
  EXPECT_NE(rx.try_recv().code(), status::closed);
}

TEST_P(Timers, TickWithACopiedReceiverSharesOneStream) {
  auto rx = weft::tick(5ms);
  auto rx2 = rx;
  const auto t0 = clock::now();
  auto a = rx.recv_for(weft::test::hang_deadline());
  auto b = rx2.recv_for(weft::test::hang_deadline());
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_LT(*a, *b) << "two receivers of one tick never get the same value";
  EXPECT_GE(clock::now(), t0);
}

}  // namespace

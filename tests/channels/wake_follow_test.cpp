// The wake-follow spin (core/src/parker.cpp): after an OS thread futex-wakes a sleeping thread,
// its next wait spins for a per-thread budget before it parks, so the answer of the thread it
// woke does not need a second slow wake-up. Its figures are in bench/RESULTS.md (session 11):
// timing lives there; these tests check the budget rule, that a waiting thread still gets
// every answer, that a wait ends at its deadline (not before) whether the follow spin, the final
// spin or the futex ends it, and that the spin gives its admission back.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include <weft/detail/parker.hpp>
#include <weft/weft.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::detail::wake_follow_budget;

constexpr std::int64_t us = 1000;
constexpr std::int64_t min_budget = weft::detail::wake_follow_min_ns;  // 16 us
constexpr std::int64_t max_budget = weft::detail::wake_follow_cap_ns;  // 200 us

TEST(WakeFollowBudget, ACaughtAnswerMovesTheBudgetAQuarterOfTheWayToFourTimesItsWait) {
  EXPECT_EQ(wake_follow_budget(64 * us, true, 40 * us), 64 * us + (160 * us - 64 * us) / 4);
  EXPECT_EQ(wake_follow_budget(64 * us, true, 4 * us), 64 * us - (64 * us - 16 * us) / 4);
  EXPECT_EQ(wake_follow_budget(64 * us, true, 16 * us), 64 * us);  // 4 x 16 us: already there
}

TEST(WakeFollowBudget, ASpinThatCaughtNothingShrinksTheBudgetByAQuarter) {
  EXPECT_EQ(wake_follow_budget(64 * us, false, 0), 48 * us);
  EXPECT_EQ(wake_follow_budget(200 * us, false, 0), 150 * us);
}

TEST(WakeFollowBudget, StaysWithinItsBoundsWhateverTheWaits) {
  std::int64_t b = 64 * us;
  for (int i = 0; i < 100; ++i) b = wake_follow_budget(b, false, 0);
  EXPECT_EQ(b, min_budget);  // never off: a later caught answer can grow it again
  for (int i = 0; i < 100; ++i) b = wake_follow_budget(b, true, 10'000 * us);
  EXPECT_EQ(b, max_budget);
  for (int i = 0; i < 100; ++i) b = wake_follow_budget(b, true, 0);
  EXPECT_EQ(b, min_budget);
}

TEST(WakeFollowBudget, RepeatedAnswersConvergeOnFourTimesTheirWait) {
  std::int64_t b = min_budget;
  for (int i = 0; i < 60; ++i) b = wake_follow_budget(b, true, 30 * us);
  EXPECT_NEAR(static_cast<double>(b), 120.0 * us, 4.0 * us);
}

// Parks `partner` in recv on `in` (its thread parker reads `parked`), so that a send on `in`
// futex-wakes it and the sender's next wait is a wake-follow wait.
struct parked_partner {
  std::atomic<weft::detail::parker*> parker{nullptr};
  void wait_parked() {
    weft::test::wait_until([&] { return parker.load() != nullptr; }, "partner started");
    weft::test::wait_until(
        [&] { return parker.load()->state_.load() == weft::detail::parker::state::parked; },
        "partner parked in recv");
  }
};

TEST(WakeFollow, TheThreadThatWokeASleeperGetsItsAnswer) {
  auto ping = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  parked_partner p;
  std::thread partner([&] {
    p.parker.store(&weft::detail::thread_parker());
    for (;;) {
      auto v = ping.rx.recv();
      if (!v) return;
      if (pong.tx.send(*v * 2) != status::ok) return;
    }
  });
  for (int i = 1; i <= 200; ++i) {
    p.wait_parked();  // every round: the send below wakes a sleeper, then this thread waits
    ASSERT_EQ(ping.tx.send(int{i}), status::ok);
    auto r = pong.rx.recv();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 2 * i);
  }
  ping.tx.close();
  partner.join();
  EXPECT_EQ(weft::detail::spinners_now(), 0u);  // every spin gave its admission back
}

TEST(WakeFollow, AWaitAfterAWakeStillEndsAtItsDeadlineAndGivesItsAdmissionBack) {
  auto ping = weft::make_chan<int>(0);
  auto silent = weft::make_chan<int>(0);  // nobody ever sends on it
  parked_partner p;
  std::thread partner([&] {
    p.parker.store(&weft::detail::thread_parker());
    while (ping.rx.recv()) {
    }
  });
  // 5 us and 40 us end inside the follow spin's budget (16-200 us): the spin's own deadline
  // check ends them; 150 us may end in the spin or in park_sleep's final spin; 2 ms in the futex.
  const std::chrono::nanoseconds timeouts[] = {5us, 40us, 150us, 2ms, 5us, 40us};
  int i = 0;
  for (const auto d : timeouts) {
    p.wait_parked();
    ASSERT_EQ(ping.tx.send(int{++i}), status::ok);  // wakes the partner: the next wait follows it
    const auto t0 = weft::test::clock::now();
    auto r = silent.rx.recv_for(d);
    EXPECT_EQ(r.code(), status::timeout) << d.count() << " ns";
    EXPECT_GE(weft::test::since(t0), d) << "returned before its deadline";
  }
  ping.tx.close();
  partner.join();
  EXPECT_EQ(weft::detail::spinners_now(), 0u);
}

}  // namespace

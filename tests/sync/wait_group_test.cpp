// wait_group: add/done/wait/wait_for (API.md "Coordination"). A counter that would go negative
// throws weft::error and stays unchanged; wait() returns at once at zero; a wait_group is
// reusable once at zero; waiting is task-aware; everything before done() is visible after
// wait(); the wait_group may be destroyed as soon as wait() returns.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/sync.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;

class WaitGroup : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, WaitGroup, weft::test::exec_values(), weft::test::exec_param_name);

TEST(WaitGroupBasics, WaitReturnsAtOnceAtZero) {
  weft::wait_group wg;
  wg.wait();
  EXPECT_TRUE(wg.wait_for(0s));
  EXPECT_TRUE(wg.wait_for(-1s));
  EXPECT_EQ(wg.count(), 0);
}

TEST(WaitGroupBasics, DoneAtZeroThrowsFailedNamingTheCallAndLeavesTheCounter) {
  weft::wait_group wg;
  WEFT_EXPECT_ERROR(wg.done(), status::failed);
  EXPECT_EQ(wg.count(), 0);
  try {
    wg.done();
    ADD_FAILURE() << "done() at zero did not throw";
  } catch (const weft::error& e) {
    EXPECT_NE(std::string(e.what()).find("wait_group::done"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("wait_group_test.cpp"), std::string::npos)
        << "the message names the call site: " << e.what();
  }
  // Still usable, and still at zero: wait() returns at once.
  EXPECT_TRUE(wg.wait_for(0s));
  wg.add(1);
  EXPECT_EQ(wg.count(), 1);
  wg.done();
  EXPECT_EQ(wg.count(), 0);
}

TEST(WaitGroupBasics, NegativeAddBelowZeroThrowsAndLeavesTheCounter) {
  weft::wait_group wg;
  wg.add(2);
  WEFT_EXPECT_ERROR(wg.add(-3), status::failed);
  EXPECT_EQ(wg.count(), 2) << "a rejected add must not change the counter";
  EXPECT_FALSE(wg.wait_for(0s));
  wg.add(-2);  // exactly to zero: allowed, like two done()s
  EXPECT_EQ(wg.count(), 0);
  EXPECT_TRUE(wg.wait_for(0s));
  WEFT_EXPECT_ERROR(wg.add(-1), status::failed);
  EXPECT_EQ(wg.count(), 0);
  wg.add(0);  // a no-op
  EXPECT_EQ(wg.count(), 0);
}

TEST(WaitGroupBasics, DoneBeyondAddThrowsAfterReachingZero) {
  weft::wait_group wg;
  wg.add(2);
  wg.done();
  wg.done();
  WEFT_EXPECT_ERROR(wg.done(), status::failed);
  EXPECT_EQ(wg.count(), 0);
}

TEST(WaitGroupBasics, WaitForTimesOutWhileTheCounterIsPositive) {
  weft::wait_group wg;
  wg.add(1);
  const auto t0 = clock::now();
  EXPECT_FALSE(wg.wait_for(20ms));
  EXPECT_GE(weft::test::since(t0), 20ms) << "wait_for returned false before its deadline";
  EXPECT_EQ(wg.count(), 1);
  // The timed-out waiter is gone: the final done() takes the lock-free path and a new wait
  // sees zero.
  wg.done();
  EXPECT_TRUE(wg.wait_for(0s));
  wg.wait();
}

TEST_P(WaitGroup, WaitReturnsOnlyAfterTheLastDone) {
  weft::wait_group wg;
  constexpr int workers = 4;
  wg.add(workers);
  std::atomic<int> finished{0};
  std::atomic<bool> waiter_returned{false};
  weft::test::run_concurrently(
      ex(),
      [&] {
        wg.wait();
        EXPECT_EQ(finished.load(), workers) << "wait() returned before every done()";
        waiter_returned = true;
      },
      [&] {
        for (int i = 0; i < workers - 1; ++i) {
          finished.fetch_add(1);
          wg.done();
        }
        weft::test::let_others_block();  // the waiter is (most likely) parked by now
        EXPECT_FALSE(waiter_returned.load()) << "wait() returned with the counter at 1";
        finished.fetch_add(1);
        wg.done();
      });
  EXPECT_TRUE(waiter_returned.load());
}

// Everything before done() is visible after wait(): plain (non-atomic) writes, checked by
// ThreadSanitizer in the tsan preset and by value here.
TEST_P(WaitGroup, WritesBeforeDoneAreVisibleAfterWait) {
  constexpr std::size_t writers = 3;
  constexpr std::size_t waiters = 2;
  const std::size_t rounds = weft::test::scale(50);
  for (std::size_t round = 0; round < rounds; ++round) {
    weft::wait_group wg;
    std::vector<std::size_t> data(writers, 0);
    wg.add(static_cast<int>(writers));
    weft::test::run_concurrently_n(ex(), writers + waiters, [&](std::size_t i) {
      if (i < writers) {
        data[i] = round + i + 1;
        wg.done();
      } else {
        wg.wait();
        for (std::size_t j = 0; j < writers; ++j) EXPECT_EQ(data[j], round + j + 1);
      }
    });
  }
}

// Reuse: once at zero, add() starts a new round; waiters of each round are released by that
// round's last done() only.
TEST_P(WaitGroup, ReusableOnceAtZero) {
  weft::wait_group wg;
  const std::size_t rounds = weft::test::scale(100);
  std::atomic<std::size_t> done_in_round{0};
  for (std::size_t round = 0; round < rounds; ++round) {
    constexpr int n = 3;
    done_in_round = 0;
    wg.add(n);
    weft::test::run_concurrently_n(ex(), n + 1, [&](std::size_t i) {
      if (i < n) {
        done_in_round.fetch_add(1);
        wg.done();
      } else {
        wg.wait();
        EXPECT_EQ(done_in_round.load(), static_cast<std::size_t>(n));
      }
    });
    EXPECT_EQ(wg.count(), 0);
  }
}

// Waiters that time out must leave no trace: here they time out over and over while rounds of
// add/done go by; at the end every round still completes and a plain wait() returns.
TEST_P(WaitGroup, TimedOutWaitersLeaveNoTrace) {
  weft::wait_group wg;
  std::atomic<bool> stop{false};
  const std::size_t rounds = weft::test::scale(300);
  weft::test::run_concurrently(
      ex(),
      [&] {
        for (std::size_t r = 0; r < rounds; ++r) {
          wg.add(2);
          weft::test::relax();
          wg.done();
          weft::test::relax();
          wg.done();
        }
        stop = true;
      },
      // Polling loops yield: on one worker a task that never blocks would starve the others
      // (wait_for returns at once, without yielding, whenever the counter is zero).
      [&] {
        while (!stop.load()) {
          (void)wg.wait_for(std::chrono::microseconds(50));
          weft::test::relax();
        }
      },
      [&] {
        while (!stop.load()) {
          (void)wg.wait_for(0s);
          weft::test::relax();
        }
      });
  EXPECT_EQ(wg.count(), 0);
  wg.wait();
  wg.add(1);
  EXPECT_FALSE(wg.wait_for(1ms));
  wg.done();
  wg.wait();
}

// The wait_group may be destroyed as soon as wait() returns, even if the done() that released
// it has not returned yet (ASan in the asan preset catches a done() touching freed memory).
TEST_P(WaitGroup, DestroyableRightAfterWait) {
  const std::size_t rounds = weft::test::scale(300);
  for (std::size_t r = 0; r < rounds; ++r) {
    auto wg = std::make_unique<weft::wait_group>();
    wg->add(1);
    weft::wait_group* raw = wg.get();
    weft::test::run_concurrently(
        ex(), [raw] { raw->done(); },
        [&wg] {
          wg->wait();
          wg.reset();
        });
  }
}

// A waiting task parks its fiber, not its worker: with one worker, the done() comes from a
// task that can only run if the waiter let the worker go.
TEST_P(WaitGroup, WaiterAndDonerShareOneWorker) {
  weft::wait_group wg;
  wg.add(1);
  std::atomic<bool> returned{false};
  weft::test::run_concurrently(
      ex(),
      [&] {
        wg.wait();
        returned = true;
      },
      [&] {
        weft::test::let_others_block();
        wg.done();
      });
  EXPECT_TRUE(returned.load());
}

}  // namespace

// The one-shot promise/future of API.md over its pooled shared state
// (channels/include/weft/detail/oneshot_state.hpp): get/get_for/get_until/try_get, `closed` once
// taken, `broken` from a dropped promise, a value set after the future is gone destroyed (not
// leaked), set twice throws, select on a future (value, broken, closed), from threads and from
// tasks, and the direct task-to-task hand-off of the scheduler (fairness and timers while two
// tasks hand off to each other on one worker).
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "support/scale.hpp"
#include "support/tracked.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::leak_check;
using weft::test::tracked_move_only;

weft::runtime_options with_workers(std::size_t n) {
  weft::runtime_options o;
  o.workers = n;
  return o;
}

TEST(Oneshot, TryGetIsEmptyWhilePendingThenTheValueThenClosed) {
  auto [p, f] = weft::make_oneshot<int>();
  EXPECT_EQ(f.try_get().code(), weft::status::empty);
  p.set_value(7);
  EXPECT_FALSE(p.valid());
  weft::result<int> r = f.try_get();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(f.try_get().code(), weft::status::closed);
  EXPECT_EQ(f.get().code(), weft::status::closed);
}

TEST(Oneshot, DroppedPromiseGivesBroken) {
  auto pf = weft::make_oneshot<int>();
  { weft::promise<int> gone = std::move(pf.first); }
  EXPECT_EQ(pf.second.get().code(), weft::status::broken);
  EXPECT_EQ(pf.second.get().code(), weft::status::closed);
}

TEST(Oneshot, MoveAssigningOverAnUnsetPromiseBreaksItsFuture) {
  auto [p1, f1] = weft::make_oneshot<int>();
  auto [p2, f2] = weft::make_oneshot<int>();
  p1 = std::move(p2);  // p1's own state is abandoned
  EXPECT_EQ(f1.get().code(), weft::status::broken);
  p1.set_value(3);
  EXPECT_EQ(*f2.get(), 3);
}

TEST(Oneshot, SetTwiceThrowsAndKeepsTheFirstValue) {
  auto [p, f] = weft::make_oneshot<int>();
  p.set_value(1);
  EXPECT_THROW(p.set_value(2), weft::error);
  EXPECT_THROW(p.set_status(weft::status::full), weft::error);
  EXPECT_EQ(*f.get(), 1);
}

TEST(Oneshot, SetStatusOkIsMisuse) {
  auto [p, f] = weft::make_oneshot<int>();
  EXPECT_THROW(p.set_status(weft::status::ok), weft::error);
  p.set_status(weft::status::full);
  EXPECT_EQ(f.get().code(), weft::status::full);
}

TEST(Oneshot, ExceptionReachesTheFutureAsFailed) {
  auto [p, f] = weft::make_oneshot<std::string>();
  p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  weft::result<std::string> r = f.get();
  EXPECT_EQ(r.code(), weft::status::failed);
  ASSERT_TRUE(r.exception());
  EXPECT_THROW(std::rethrow_exception(r.exception()), std::runtime_error);
}

TEST(Oneshot, ValueSetAfterTheFutureIsGoneIsDestroyed) {
  leak_check guard;
  {
    auto pf = weft::make_oneshot<tracked_move_only>();
    { weft::future<tracked_move_only> gone = std::move(pf.second); }
    pf.first.set_value(tracked_move_only(5));
    guard.expect_live(0, "after set_value with the future gone");
  }
  {
    // The other order: set first, then drop the unread future.
    auto pf = weft::make_oneshot<tracked_move_only>();
    pf.first.set_value(tracked_move_only(6));
    guard.expect_live(1, "an unread value waits in the state");
    { weft::future<tracked_move_only> gone = std::move(pf.second); }
    guard.expect_live(0, "after the unread future was dropped");
  }
}

TEST(Oneshot, TakenValueIsMovedOutOnce) {
  leak_check guard;
  auto [p, f] = weft::make_oneshot<tracked_move_only>();
  p.set_value(tracked_move_only(9));
  {
    weft::result<tracked_move_only> r = f.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->value(), 9);
    guard.expect_live(1, "the taken value lives in the result only");
  }
  guard.expect_live(0);
}

TEST(Oneshot, GetForTimesOutWhilePendingAndGetsTheValueLater) {
  auto [p, f] = weft::make_oneshot<int>();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(f.get_for(2ms).code(), weft::status::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2ms);
  EXPECT_EQ(f.get_until(std::chrono::steady_clock::now() - 1s).code(), weft::status::timeout);
  p.set_value(4);
  EXPECT_EQ(*f.get_for(1h), 4);  // a huge duration saturates to "no deadline"
}

TEST(Oneshot, MovedFromFutureThrows) {
  auto [p, f] = weft::make_oneshot<int>();
  weft::future<int> g = std::move(f);
  EXPECT_FALSE(f.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_THROW((void)f.get(), weft::error);
  EXPECT_THROW((void)f.try_get(), weft::error);
  p.set_value(1);
  EXPECT_EQ(*g.get(), 1);
}

TEST(Oneshot, ThreadBlockedInGetIsWokenBySetFromAnotherThread) {
  for (int i = 0; i < static_cast<int>(weft::test::scale(500)); ++i) {
    auto [p, f] = weft::make_oneshot<int>();
    std::thread t([p = std::move(p), i]() mutable { p.set_value(i); });
    EXPECT_EQ(*f.get(), i);
    t.join();
  }
}

TEST(Oneshot, TaskBlockedInGetIsWokenBySetFromAnotherTask) {
  weft::runtime rt(with_workers(2));
  const int n = static_cast<int>(weft::test::scale(5'000));
  auto sum = weft::spawn(rt, [&rt, n] {
    long s = 0;
    for (int i = 0; i < n; ++i) {
      auto [p, f] = weft::make_oneshot<int>();
      auto setter = weft::spawn(rt, [p = std::move(p), i]() mutable {
        if (i % 3 == 0) weft::yield();  // sometimes after the getter parked, sometimes before
        p.set_value(i);
      });
      s += *f.get();
    }
    return s;
  });
  EXPECT_EQ(*sum.get(), static_cast<long>(n) * (n - 1) / 2);
}

TEST(Oneshot, SelectOnAFutureFiresWithTheValueOrBrokenOrClosed) {
  auto [p, f] = weft::make_oneshot<int>();
  auto never = weft::make_chan<int>(0);
  std::thread t([p = std::move(p)]() mutable { p.set_value(11); });
  int got = 0;
  const std::size_t i = weft::select(weft::on_recv(never.rx, [](weft::result<int>&&) { FAIL() << "no sender"; }),
                                     weft::on_recv(f, [&](weft::result<int>&& r) { got = r ? *r : -1; }));
  t.join();
  EXPECT_EQ(i, 1u);
  EXPECT_EQ(got, 11);
  weft::status again = weft::status::ok;
  weft::select(weft::on_recv(f, [&](weft::result<int>&& r) { again = r.code(); }));
  EXPECT_EQ(again, weft::status::closed);

  auto [p2, f2] = weft::make_oneshot<int>();
  std::thread t2([p2 = std::move(p2)]() mutable { weft::promise<int> gone = std::move(p2); });
  weft::status broken = weft::status::ok;
  weft::select(weft::on_recv(f2, [&](weft::result<int>&& r) { broken = r.code(); }), weft::on_timeout(1h, [] {}));
  t2.join();
  EXPECT_EQ(broken, weft::status::broken);
}

TEST(Oneshot, SelectOnFuturesInsideTasks) {
  weft::runtime rt(with_workers(2));
  const int n = static_cast<int>(weft::test::scale(2'000));
  auto total = weft::spawn(rt, [&rt, n] {
    long s = 0;
    for (int i = 0; i < n; ++i) {
      auto a = weft::spawn(rt, [i] { return i; });
      auto b = weft::spawn(rt, [i] { return -i - 1; });
      const std::size_t first = weft::select(weft::on_recv(a, [&](weft::result<int>&& r) { s += *r; }),
                                             weft::on_recv(b, [&](weft::result<int>&& r) { s -= *r; }));
      if (first == 0) s -= *b.get();
      else s += *a.get();
    }
    return s;
  });
  // sum over i of (i + (i + 1)) = n(n-1)/2 + n(n+1)/2 = n^2
  EXPECT_EQ(*total.get(), static_cast<long>(n) * n);
}

TEST(Oneshot, ManyPendingFuturesDroppedBeforeTheirPromises) {
  leak_check guard;
  weft::runtime rt(with_workers(2));
  const int n = static_cast<int>(weft::test::scale(20'000));
  auto gate = weft::make_chan<int>(0);
  std::vector<weft::future<tracked_move_only>> fs;
  for (int i = 0; i < n; ++i)
    fs.push_back(weft::spawn(rt, [rx = gate.rx, i]() mutable {
      (void)rx.recv();
      return tracked_move_only(i);
    }));
  fs.erase(fs.begin(), fs.begin() + n / 2);  // half the futures gone before their values exist
  gate.tx.close();
  long s = 0;
  for (auto& f : fs) s += f.get()->value();
  EXPECT_EQ(s, static_cast<long>(n - 1) * n / 2 - static_cast<long>(n / 2 - 1) * (n / 2) / 2);
  fs.clear();
}

// ---- the direct hand-off (scheduler.cpp D1-D3) ----

TEST(DirectHandoff, AThirdTaskRunsWhileTwoTasksPingPongOnOneWorker) {
  // Two tasks that hand off to each other switch directly; the run-next streak cap must still
  // let the local queue run: the third task finishes before the ping-pong does.
  weft::runtime rt(with_workers(1));
  const int rounds = static_cast<int>(weft::test::scale(200'000));
  std::atomic<bool> third_done{false};
  std::atomic<int> rounds_when_third_ran{-1};
  std::atomic<int> progress{0};
  auto root = weft::spawn(rt, [&] {
    auto ping = weft::make_chan<int>(0);
    auto pong = weft::make_chan<int>(0);
    auto a = weft::spawn(rt, [&, tx = ping.tx, rx = pong.rx]() mutable {
      for (int i = 0; i < rounds; ++i) {
        if (tx.send(i) != weft::status::ok || !rx.recv()) return false;
        progress.store(i, std::memory_order_relaxed);  // relaxed: read by the third task only
      }
      return true;
    });
    auto b = weft::spawn(rt, [tx = pong.tx, rx = ping.rx, rounds]() mutable {
      for (int i = 0; i < rounds; ++i) {
        auto r = rx.recv();
        if (!r || tx.send(*r + 1) != weft::status::ok) return false;
      }
      return true;
    });
    auto c = weft::spawn(rt, [&] {
      rounds_when_third_ran.store(progress.load(std::memory_order_relaxed), std::memory_order_relaxed);
      third_done.store(true, std::memory_order_release);  // release: read after the futures
    });
    return *a.get() && *b.get() && c.get().code() == weft::status::ok;
  });
  EXPECT_TRUE(*root.get());
  EXPECT_TRUE(third_done.load(std::memory_order_acquire));
  // relaxed: the tasks ended (their futures were read), which ordered these stores before us.
  EXPECT_LT(rounds_when_third_ran.load(std::memory_order_relaxed), rounds - 1)
      << "the third task waited until the ping-pong ended: the hand-off starved the local queue";
}

TEST(DirectHandoff, TimersFireWhileTwoTasksPingPongOnOneWorker) {
  weft::runtime rt(with_workers(1));
  std::atomic<bool> stop{false};
  auto sleeper = weft::spawn(rt, [&] {
    weft::sleep_for(2ms);
    stop.store(true, std::memory_order_release);  // release: the ping-pong stops on it
  });
  auto ping = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  auto a = weft::spawn(rt, [&, tx = ping.tx, rx = pong.rx]() mutable {
    long n = 0;
    // At least one round even if the sleeper has already fired (a slow start on a loaded
    // machine). acquire: pairs with the sleeper's release.
    do {
      if (tx.send(1) != weft::status::ok || !rx.recv()) return -1L;
      ++n;
    } while (!stop.load(std::memory_order_acquire));
    tx.close();
    return n;
  });
  auto b = weft::spawn(rt, [tx = pong.tx, rx = ping.rx]() mutable {
    for (;;) {
      auto r = rx.recv();
      if (!r) return r.code() == weft::status::closed;
      if (tx.send(*r) != weft::status::ok) return false;
    }
  });
  EXPECT_EQ(sleeper.get_for(60s).code(), weft::status::ok) << "the sleeper's timer never fired";
  EXPECT_GT(*a.get(), 0);
  EXPECT_TRUE(*b.get());
}

}  // namespace

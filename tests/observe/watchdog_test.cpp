// The stuck detector: weft::watchdog reports tasks blocked past a threshold and Go's "all
// tasks are asleep - deadlock!" when every task parks with no timer pending; find_deadlock()
// runs the deadlock check once (issue 5, item 4). The deadlocks here are deliberate, and each
// test keeps a way out (a cancel_fn or a channel end held by the test thread: exactly the
// "outside thread" blind spot the report's wording admits) so the runtime can end.
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/watchdog.hpp>
#include <weft/weft.hpp>

#include "observe/observe_support.hpp"

namespace {

using namespace std::chrono_literals;

weft::runtime_options workers(std::size_t n) {
  weft::runtime_options o;
  o.workers = n;
  return o;
}

/// Two tasks that each wait for the other first: A receives on "ping" before sending on
/// "pong", B receives on "pong" before sending on "ping". The contexts are the way out.
struct crossed_pair {
  weft::future<int> a, b;
  weft::cancel_fn cancel;
};

crossed_pair start_crossed_pair(weft::runtime& rt) {
  auto ping = weft::make_chan<int>(0, "ping");
  auto pong = weft::make_chan<int>(0, "pong");
  auto cc = weft::with_cancel(weft::background());  // no structured bindings: clang 14 cannot capture them
  weft::context ctx = cc.first;
  crossed_pair p;
  p.cancel = std::move(cc.second);
  p.a = weft::spawn(rt, [rx = std::move(ping.rx), tx = std::move(pong.tx), ctx]() mutable {
    auto r = rx.recv(ctx);
    return weft::test::code_of(r ? tx.send(*r, ctx) : r.code());
  });
  p.b = weft::spawn(rt, [rx = std::move(pong.rx), tx = std::move(ping.tx), ctx]() mutable {
    auto r = rx.recv(ctx);
    return weft::test::code_of(r ? tx.send(*r, ctx) : r.code());
  });
  return p;
}

/// After cancel: one task sees cancelled; the other cancelled, or closed if its partner ended
/// (dropping its channel end) first.
void expect_cancelled_or_closed(crossed_pair& p) {
  const int a = *p.a.get(), b = *p.b.get();
  const int cancelled = weft::test::code_of(weft::status::cancelled), closed = weft::test::code_of(weft::status::closed);
  EXPECT_TRUE(a == cancelled || b == cancelled) << a << " " << b;
  EXPECT_TRUE(a == cancelled || a == closed) << a;
  EXPECT_TRUE(b == cancelled || b == closed) << b;
}

TEST(FindDeadlock, ReportsTwoTasksWaitingForEachOther) {
  weft::runtime rt(workers(2));
  crossed_pair p = start_crossed_pair(rt);
  ASSERT_EQ(weft::test::wait_for_blocked(rt, 2), 2u);
  std::optional<weft::watchdog_report> r = weft::find_deadlock(rt);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->what, weft::watchdog_report::kind::all_asleep);
  EXPECT_EQ(r->tasks, 2u);
  EXPECT_NE(r->text.find("all tasks are asleep - deadlock!"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("(\"ping\")"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("(\"pong\")"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("watchdog_test.cpp:"), std::string::npos) << r->text;
  p.cancel();
  expect_cancelled_or_closed(p);
  EXPECT_FALSE(weft::find_deadlock(rt).has_value());  // no live task: nothing to report
}

TEST(FindDeadlock, ATimerPendingIsNotADeadlock) {
  weft::runtime rt(workers(1));
  auto c = weft::make_chan<int>(0, "timed");
  auto f = weft::spawn(rt, [rx = c.rx]() mutable { return weft::test::code_of(rx.recv_for(1h).code()); });
  ASSERT_EQ(weft::test::wait_for_blocked(rt, 1), 1u);
  EXPECT_FALSE(weft::find_deadlock(rt).has_value());
  const std::string d = weft::test::dump_of(rt);
  EXPECT_NE(d.find("(\"timed\")"), std::string::npos) << d;
  ASSERT_EQ(c.tx.send(1), weft::status::ok);
  EXPECT_EQ(*f.get(), weft::test::code_of(weft::status::ok));
}

TEST(FindDeadlock, ARunnableTaskIsNotADeadlock) {
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(0);
  auto stop = weft::make_chan<int>(1);
  auto blocked = weft::spawn(rt, [rx = c.rx]() mutable { (void)rx.recv(); });
  auto busy = weft::spawn(rt, [rx = stop.rx]() mutable {
    while (!rx.try_recv()) weft::yield();  // always runnable or running
  });
  ASSERT_EQ(weft::test::wait_for_blocked(rt, 1), 1u);
  EXPECT_FALSE(weft::find_deadlock(rt).has_value());
  ASSERT_EQ(stop.tx.send(1), weft::status::ok);
  (void)busy.get();
  c.tx.close();
  (void)blocked.get();
}

struct collected {
  std::mutex mu;
  std::vector<weft::watchdog_report> reports;
  bool saw_deadlock = false;
  std::size_t long_tasks = 0;   // tasks named by blocked_too_long reports so far
  weft::sender<int> both_seen;  // gets one value once both kinds were reported
};

TEST(Watchdog, ReportsALongBlockOnceAndTheDeadlock) {
  weft::runtime rt(workers(2));
  auto seen = weft::make_chan<int>(1);
  collected col;
  col.both_seen = seen.tx;
  crossed_pair p = start_crossed_pair(rt);
  {
    weft::watchdog_options o;
    o.blocked_threshold = 20ms;
    o.interval = 10ms;
    o.on_report = [&col](const weft::watchdog_report& r) {
      std::lock_guard lk(col.mu);
      col.reports.push_back(r);
      if (r.what == weft::watchdog_report::kind::all_asleep) {
        col.saw_deadlock = true;
      } else {
        col.long_tasks += r.tasks;
      }
      // The deadlock (two looks 10 ms apart) may come before the 20 ms threshold is passed, and
      // the two tasks may pass the threshold in different looks (seen under qemu): wait for
      // both tasks' long-block reports and the deadlock.
      if (col.saw_deadlock && col.long_tasks >= 2) (void)col.both_seen.try_send(1);
    };
    weft::watchdog wd(rt, std::move(o));
    ASSERT_TRUE(static_cast<bool>(seen.rx.recv_for(weft::test::hang_deadline())));
    // Ten more looks at the same two blocked tasks (letting time pass, not a synchronisation):
    // each episode must still be reported once (an episode's key must not drift between looks).
    std::this_thread::sleep_for(10 * 10ms);
  }  // the watchdog's thread is joined: reports are final
  std::size_t long_blocks = 0, blocked_tasks = 0, deadlocks = 0;
  for (const weft::watchdog_report& r : col.reports) {
    if (r.what == weft::watchdog_report::kind::blocked_too_long) {
      ++long_blocks;
      blocked_tasks += r.tasks;
      EXPECT_NE(r.text.find("blocked for more than 0.020 s"), std::string::npos) << r.text;
    } else {
      ++deadlocks;
      EXPECT_EQ(r.tasks, 2u);
      EXPECT_NE(r.text.find("all tasks are asleep - deadlock!"), std::string::npos) << r.text;
      EXPECT_NE(r.text.find("(\"ping\")"), std::string::npos) << r.text;
      EXPECT_NE(r.text.find("(\"pong\")"), std::string::npos) << r.text;
    }
  }
  EXPECT_GE(long_blocks, 1u);
  EXPECT_EQ(blocked_tasks, 2u);  // each blocking episode is reported once
  EXPECT_GE(deadlocks, 1u);
  p.cancel();
  expect_cancelled_or_closed(p);
}

}  // namespace

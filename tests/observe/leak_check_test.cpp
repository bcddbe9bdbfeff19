// weft::leak_check: scopes tag the tasks spawned in them (transitively), check() waits for them
// and reports the ones still alive with their blocking operation and spawn site; scopes on one
// runtime do not see each other's tasks (issue 5, item 3).
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <weft/leak_check.hpp>
#include <weft/weft.hpp>

#include "observe/observe_support.hpp"

namespace {

using namespace std::chrono_literals;

weft::runtime_options workers(std::size_t n) {
  weft::runtime_options o;
  o.workers = n;
  return o;
}

// For scopes whose check() expects a leak: it waits the whole grace. Every such test first
// waits until the task it expects is parked (wait_for_blocked), so the report never depends on
// how fast a loaded machine starts a task.
weft::leak_check_options short_grace() {
  weft::leak_check_options o;
  o.grace = 50ms;
  o.count_actors = false;
  return o;
}

// For scopes whose check() expects the tasks to end: it returns as soon as they have, so a long
// grace costs nothing when the test passes and only catches a hang.
weft::leak_check_options hang_grace() {
  weft::leak_check_options o;
  o.grace = weft::test::hang_deadline();
  o.count_actors = false;
  return o;
}

TEST(LeakCheck, TasksThatEndInTheScopeAreNotALeak) {
  weft::runtime rt(workers(2));
  weft::leak_check lc(rt, hang_grace());
  auto c = weft::make_chan<int>(0);
  auto f = weft::spawn(rt, [rx = c.rx]() mutable { return weft::test::or_minus_one(rx.recv()); });
  ASSERT_EQ(c.tx.send(3), weft::status::ok);
  // Not waiting for f: check() itself waits (up to the grace period) for the task to end.
  const weft::leak_report r = lc.check();
  EXPECT_FALSE(r) << r.text;
  EXPECT_EQ(r.tasks, 0u);
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(*f.get(), 3);
}

TEST(LeakCheck, ABlockedTaskIsReportedWithItsOperationAndSpawnSite) {
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(0, "never-sent");
  weft::future<int> f;
  int line = 0;
  {
    weft::leak_check lc(rt, short_grace());
    line = __LINE__ + 1;
    f = weft::spawn(rt, [rx = c.rx]() mutable { return weft::test::or_minus_one(rx.recv()); });
    ASSERT_EQ(weft::test::wait_for_blocked(rt, 1), 1u);  // parked in recv, not still starting
    const weft::leak_report r = lc.check();
    ASSERT_TRUE(r);
    EXPECT_EQ(r.tasks, 1u);
    EXPECT_NE(r.text.find("weft::leak_check (opened at"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("leak_check_test.cpp:" + std::to_string(line - 2)), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("1 task(s)"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("recv"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("(\"never-sent\")"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("spawned=" + std::string(__FILE__) + ":" + std::to_string(line)), std::string::npos)
        << r.text;
  }
  c.tx.close();  // release it: the runtime's destructor would wait for it
  EXPECT_EQ(*f.get(), -1);
}

TEST(LeakCheck, TasksSpawnedByScopedTasksAreTaggedToo) {
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(0, "grandchild");
  weft::leak_check lc(rt, short_grace());
  auto parent = weft::spawn(rt, [&rt, rx = c.rx] {
    // The child outlives its parent: the tag must follow it.
    (void)weft::spawn(rt, [rx]() mutable { (void)rx.recv(); });
  });
  (void)parent.get();
  ASSERT_EQ(weft::test::wait_for_blocked(rt, 1), 1u);  // the child is parked in recv
  const weft::leak_report r = lc.check();
  EXPECT_EQ(r.tasks, 1u) << r.text;
  EXPECT_NE(r.text.find("(\"grandchild\")"), std::string::npos) << r.text;
  c.tx.close();
  ASSERT_EQ(weft::test::wait_for_live(rt, 0), 0u);  // the child has ended (check's 50 ms grace is no bound)
  const weft::leak_report after = lc.check();  // may be called again: now the child is gone
  EXPECT_FALSE(after) << after.text;
}

TEST(LeakCheck, ParallelScopesOnOneRuntimeDoNotSeeEachOthersTasks) {
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(0, "other-test");
  auto a_done = weft::make_chan<weft::leak_report>(1);
  auto b_spawned = weft::make_chan<int>(1);
  // Thread A leaves a task blocked while thread B's scope, open at the same time, spawns a task
  // that ends. B's check is clean, A's reports exactly its own task.
  std::thread a([&] {
    weft::leak_check lc(rt, short_grace());
    (void)weft::spawn(rt, [rx = c.rx]() mutable { (void)rx.recv(); });
    (void)b_spawned.rx.recv();  // B's scope is open and its task exists meanwhile
    // A's task is parked in recv before A's check reads it (B's task never blocks).
    (void)weft::test::wait_for_blocked_at_least(rt, 1);
    (void)a_done.tx.send(lc.check());
  });
  weft::leak_report rb;
  {
    weft::leak_check lc(rt, hang_grace());
    auto f = weft::spawn(rt, [] { return 1; });
    ASSERT_EQ(b_spawned.tx.send(1), weft::status::ok);
    rb = lc.check();  // returns once B's task has ended; A's blocked task is not B's
    EXPECT_EQ(*f.get(), 1);
  }
  weft::leak_report ra = *a_done.rx.recv();
  a.join();
  EXPECT_FALSE(rb) << rb.text;
  EXPECT_EQ(ra.tasks, 1u) << ra.text;
  EXPECT_NE(ra.text.find("(\"other-test\")"), std::string::npos) << ra.text;
  c.tx.close();
}

TEST(LeakCheck, DestructorHandsAnUncheckedLeakToOnLeak) {
  weft::runtime rt(workers(1));
  auto c = weft::make_chan<int>(0);
  std::string seen;
  {
    weft::leak_check_options o = short_grace();
    o.on_leak = [&seen](const weft::leak_report& r) { seen = r.text; };
    weft::leak_check lc(rt, std::move(o));
    (void)weft::spawn(rt, [rx = c.rx]() mutable { (void)rx.recv(); });
  }
  EXPECT_NE(seen.find("1 task(s)"), std::string::npos) << seen;
  c.tx.close();
}

TEST(LeakCheck, WholeRuntimeModeSeesTasksFromAnyScope) {
  weft::runtime rt(workers(1));
  auto c = weft::make_chan<int>(0);
  (void)weft::spawn(rt, [rx = c.rx]() mutable { (void)rx.recv(); });  // spawned outside any scope
  weft::leak_check_options o = short_grace();
  o.whole_runtime = true;
  weft::leak_check lc(rt, o);
  const weft::leak_report r = lc.check();
  EXPECT_EQ(r.tasks, 1u) << r.text;
  c.tx.close();
}

TEST(LeakCheck, AScopeOpenedInATaskTagsWhatThatTaskSpawns) {
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(0, "from-task");
  auto f = weft::spawn(rt, [&rt, &c] {
    weft::leak_check lc(rt, short_grace());
    (void)weft::spawn(rt, [rx = c.rx]() mutable { (void)rx.recv(); });
    // The child is parked in recv before the check reads it (this task yields, it does not block).
    (void)weft::test::wait_for_blocked_at_least(rt, 1);
    return lc.check();
  });
  const weft::leak_report r = *f.get();
  EXPECT_EQ(r.tasks, 1u) << r.text;  // the child only, not the task that ran the check
  EXPECT_NE(r.text.find("(\"from-task\")"), std::string::npos) << r.text;
  c.tx.close();
}

}  // namespace

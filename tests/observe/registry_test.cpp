// The task registry: every blocking operation records what it waits on (operation, object,
// channel name/capacity/size) and since when, and dump_blocked()/stats() show it (issue 5,
// items 1-2). Each test blocks tasks on purpose, reads the dump, then releases them.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "observe/observe_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::wait_for_dump;

weft::runtime_options workers(std::size_t n) {
  weft::runtime_options o;
  o.workers = n;
  return o;
}

TEST(BlockingNotes, NamedUnbufferedRecvShowsNameCapacityAndSpawnSite) {
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(0, "orders");
  const int line = __LINE__ + 1;
  auto f = weft::spawn(rt, [rx = c.rx]() mutable { return weft::test::or_minus_one(rx.recv()); });
  const std::string d = wait_for_dump(rt, "orders");
  EXPECT_NE(d.find("recv"), std::string::npos) << d;
  EXPECT_NE(d.find("cap=0 size=0 (\"orders\")"), std::string::npos) << d;
  EXPECT_NE(d.find("registry_test.cpp:" + std::to_string(line)), std::string::npos) << d;
  ASSERT_EQ(c.tx.send(7), weft::status::ok);
  EXPECT_EQ(*f.get(), 7);
  EXPECT_EQ(weft::test::dump_of(rt), "");
}

TEST(BlockingNotes, FullBoundedSendShowsItsSizeAtTheBlock) {
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(2, "jobs");
  ASSERT_EQ(c.tx.try_send(1), weft::status::ok);
  ASSERT_EQ(c.tx.try_send(2), weft::status::ok);
  auto f = weft::spawn(rt, [tx = c.tx]() mutable { return weft::test::code_of(tx.send(3)); });
  const std::string d = wait_for_dump(rt, "jobs");
  EXPECT_NE(d.find("send"), std::string::npos) << d;
  EXPECT_NE(d.find("cap=2 size=2 (\"jobs\")"), std::string::npos) << d;
  for (int want = 1; want <= 3; ++want) EXPECT_EQ(*c.rx.recv(), want);
  EXPECT_EQ(*f.get(), weft::test::code_of(weft::status::ok));
}

TEST(BlockingNotes, UnboundedRecvShowsUnboundedCapacity) {
  weft::runtime rt(workers(1));
  auto c = weft::make_unbounded_chan<int>("events");
  auto f = weft::spawn(rt, [rx = c.rx]() mutable { return weft::test::code_of(rx.recv().code()); });
  const std::string d = wait_for_dump(rt, "events");
  EXPECT_NE(d.find("recv"), std::string::npos) << d;
  EXPECT_NE(d.find("cap=unbounded size=0 (\"events\")"), std::string::npos) << d;
  c.tx.close();
  EXPECT_EQ(*f.get(), weft::test::code_of(weft::status::closed));
}

TEST(BlockingNotes, UnnamedChannelsShowNoName) {
  weft::runtime rt(workers(1));
  auto c = weft::make_chan<int>(4);
  auto f = weft::spawn(rt, [rx = c.rx]() mutable { return weft::test::code_of(rx.recv().code()); });
  const std::string d = wait_for_dump(rt, "cap=4 size=0");
  EXPECT_NE(d.find("recv"), std::string::npos) << d;
  EXPECT_EQ(d.find("(\""), std::string::npos) << d;
  c.tx.close();
  EXPECT_EQ(*f.get(), weft::test::code_of(weft::status::closed));
}

TEST(BlockingNotes, SelectAndTimedRecvAreLabelled) {
  weft::runtime rt(workers(2));
  auto a = weft::make_chan<int>(0, "a");
  auto b = weft::make_chan<int>(0, "b");
  auto stop = weft::make_chan<int>(1, "stop");
  auto sel = weft::spawn(rt, [ra = a.rx, rb = b.rx]() mutable {
    return weft::select(weft::on_recv(ra, [](weft::result<int>&&) {}), weft::on_recv(rb, [](weft::result<int>&&) {}));
  });
  auto timed = weft::spawn(rt, [rx = stop.rx]() mutable { return weft::test::code_of(rx.recv_for(1h).code()); });
  const std::string d = wait_for_dump(rt, "select", "(\"stop\")");
  EXPECT_NE(d.find("select"), std::string::npos) << d;
  EXPECT_NE(d.find("(\"stop\")"), std::string::npos) << d;
  ASSERT_EQ(b.tx.send(1), weft::status::ok);
  EXPECT_EQ(*sel.get(), 1u);
  ASSERT_EQ(stop.tx.send(1), weft::status::ok);
  EXPECT_EQ(*timed.get(), weft::test::code_of(weft::status::ok));
}

TEST(BlockingNotes, FutureGetShowsTheFutureChannel) {
  weft::runtime rt(workers(2));
  auto [p, fut] = weft::make_oneshot<int>();
  auto f = weft::spawn(rt, [fut = std::move(fut)]() mutable { return weft::test::or_minus_one(fut.get()); });
  // The line names the future: "future::get" on the one-shot state named "future", or (one-shot
  // states built on a capacity-1 channel) "recv" on that channel.
  const int line = __LINE__ - 3;  // the spawn above
  const std::string d = wait_for_dump(rt, "registry_test.cpp:" + std::to_string(line));
  EXPECT_TRUE(d.find("future::get") != std::string::npos || d.find("recv     object=") != std::string::npos) << d;
  EXPECT_TRUE(d.find("(\"future\")") != std::string::npos || d.find("cap=1 size=0") != std::string::npos) << d;
  p.set_value(5);
  EXPECT_EQ(*f.get(), 5);
}

TEST(BlockingNotes, AChannelOpsNoteEndsWithItEvenAfterResumingOnAnotherWorker) {
  // The channel note is written and cleared through the task's own note, not the thread's: a
  // task that parked in recv and resumed (on either worker) must leave no "recv" behind, or the
  // wait_group wait that follows would keep the stale label (it labels only an unlabelled task).
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(0, "ticks");
  constexpr int rounds = 20;
  std::vector<weft::wait_group> wgs(rounds);
  for (auto& wg : wgs) wg.add(1);
  auto f = weft::spawn(rt, [rx = c.rx, &wgs]() mutable {
    int sum = 0;
    for (auto& wg : wgs) {
      sum += weft::test::or_minus_one(rx.recv());
      wg.wait();
    }
    return sum;
  });
  for (int i = 0; i < rounds; ++i) {
    const std::string d0 = wait_for_dump(rt, "(\"ticks\")");
    ASSERT_NE(d0.find("\nrecv"), std::string::npos) << d0;
    ASSERT_EQ(c.tx.send(1), weft::status::ok);
    const std::string d = wait_for_dump(rt, "\nwait_group.wait");
    ASSERT_NE(d.find("\nwait_group.wait"), std::string::npos) << "round " << i << d;
    EXPECT_EQ(d.find("\nrecv"), std::string::npos) << "round " << i << d;
    wgs[static_cast<std::size_t>(i)].done();
  }
  EXPECT_EQ(*f.get(), rounds);
}

TEST(BlockingNotes, WaitGroupGroupAndOnceValueWaitsAreLabelled) {
  weft::runtime rt(workers(2));
  weft::wait_group wg;
  wg.add(1);
  auto w = weft::spawn(rt, [&wg] { wg.wait(); });
  auto gate = weft::make_chan<int>(0, "gate");
  std::atomic<bool> init_started{false};
  weft::once_value<int> once([&gate, &init_started] {
    init_started.store(true, std::memory_order_release);  // release: the test reads it to know init runs
    return weft::test::or_minus_one(gate.rx.recv());
  });
  auto first = weft::spawn(rt, [&once] { return once.get(); });
  // The second caller must find init running: wait for the first to be inside init.
  const std::string d0 = wait_for_dump(rt, "(\"gate\")");
  ASSERT_TRUE(init_started.load(std::memory_order_acquire)) << d0;  // acquire: pairs with the store in init
  auto second = weft::spawn(rt, [&once] { return once.get(); });
  auto g = weft::spawn(rt, [&gate] {
    weft::group grp;
    grp.spawn([&gate] { (void)gate.rx.recv(); });
    return weft::test::code_of(grp.wait().code());
  });
  // Lines start with the operation; "\ngroup.wait" is not the tail of "wait_group.wait".
  const std::string d = wait_for_dump(rt, "wait_group.wait", "once_value.wait", "\ngroup.wait");
  EXPECT_NE(d.find("\nwait_group.wait"), std::string::npos) << d;
  EXPECT_NE(d.find("\nonce_value.wait"), std::string::npos) << d;
  EXPECT_NE(d.find("\ngroup.wait"), std::string::npos) << d;
  wg.done();
  (void)w.get();
  ASSERT_EQ(gate.tx.send(11), weft::status::ok);  // the once_value's init, or the group's task
  ASSERT_EQ(gate.tx.send(11), weft::status::ok);  // the other one
  EXPECT_EQ(*first.get(), 11);
  EXPECT_EQ(*second.get(), 11);
  EXPECT_EQ(*g.get(), weft::test::code_of(weft::status::ok));
}

TEST(BlockingNotes, SleepIsLabelled) {
  weft::runtime rt(workers(1));
  auto c = weft::make_chan<int>(1);
  auto f = weft::spawn(rt, [rx = c.rx]() mutable {
    while (!rx.try_recv()) weft::sleep_for(1ms);
  });
  const std::string d = wait_for_dump(rt, "sleep");
  EXPECT_NE(d.find("sleep"), std::string::npos) << d;
  ASSERT_EQ(c.tx.send(1), weft::status::ok);
  (void)f.get();
}

TEST(Stats, TasksBlockedCountsParkedTasksWithoutWalkingThem) {
  weft::runtime rt(workers(2));
  auto c = weft::make_chan<int>(0);
  const std::size_t n = 50;
  std::vector<weft::future<void>> fs;
  for (std::size_t i = 0; i < n; ++i) fs.push_back(weft::spawn(rt, [rx = c.rx]() mutable { (void)rx.recv(); }));
  EXPECT_EQ(weft::test::wait_for_blocked(rt, n), n);
  weft::runtime_stats s = weft::stats(rt);
  EXPECT_EQ(s.tasks_live, n);
  ASSERT_EQ(s.workers.size(), 2u);
  std::uint64_t run = 0;
  for (const weft::worker_stats& w : s.workers) run += w.tasks_run;
  EXPECT_GE(run, n);  // each task ran at least once before it parked
  for (std::size_t i = 0; i < n / 2; ++i) ASSERT_EQ(c.tx.send(1), weft::status::ok);
  EXPECT_EQ(weft::test::wait_for_blocked(rt, n - n / 2), n - n / 2);
  c.tx.close();
  for (auto& f : fs) (void)f.get();
  EXPECT_EQ(weft::stats(rt).tasks_blocked, 0u);
}

TEST(Stats, IdleWorkersCountParks) {
  weft::runtime rt(workers(2));
  // Each get() leaves the workers with nothing to do: they go to sleep (park) between tasks.
  for (int i = 0; i < 5; ++i) {
    auto f = weft::spawn(rt, [] { return 1; });
    EXPECT_EQ(*f.get(), 1);
  }
  const auto give_up = std::chrono::steady_clock::now() + weft::test::hang_deadline();
  std::uint64_t parks = 0;
  while (parks == 0 && std::chrono::steady_clock::now() < give_up) {
    parks = 0;
    for (const weft::worker_stats& w : weft::stats(rt).workers) parks += w.parks;
    std::this_thread::yield();
  }
  EXPECT_GT(parks, 0u);
}

}  // namespace

// Memory per idle task: N tasks each blocked in recv on one unbuffered channel, measured as the
// growth of the process's resident set (/proc/self/statm) from before the spawns to when all N
// are parked. Prints the figures; asserts loose bounds (the target is 4.5 KB per idle task for
// the runtime's own part: one stack page plus the task object).
//
//   WEFT_TEST_SCALE=5 ./weft_runtime_tests --gtest_filter='IdleRss.*'     # 1,000,000 tasks
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <weft/detail/task.hpp>
#include <weft/weft.hpp>

#include "support/scale.hpp"

namespace {

std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

void wait_until_blocked(weft::runtime& rt, std::size_t n) {
  const auto give_up = std::chrono::steady_clock::now() + weft::test::hang_deadline();
  while (weft::stats(rt).tasks_blocked < n && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  ASSERT_EQ(weft::stats(rt).tasks_blocked, n);
}

struct blocked_recv {
  weft::receiver<int> rx;
  void operator()() noexcept { (void)rx.recv(); }
};

TEST(IdleRss, RuntimeOwnCostPerIdleTask) {
  if (weft::test::sanitized) GTEST_SKIP() << "sanitizers change stack and heap use";
  const std::size_t n = weft::test::scale(200'000);
  weft::runtime_options o;
  o.workers = 2;
  weft::runtime rt(o);
  auto c = weft::make_chan<int>(0);
  const std::size_t before = rss_bytes();
  // The bare primitive under spawn(): no future, so this is the runtime's own cost.
  auto root = weft::spawn(rt, [&rt, &c, n] {
    for (std::size_t i = 0; i < n; ++i)
      weft::detail::spawn_closure(rt, blocked_recv{c.rx}, weft::detail::source_location::current());
  });
  (void)root.get();
  wait_until_blocked(rt, n);
  const std::size_t after = rss_bytes();
  const double per_task = static_cast<double>(after - before) / static_cast<double>(n);
  std::printf("[ measure  ] %zu idle tasks (bare): %.0f bytes RSS per task\n", n, per_task);
  c.tx.close();
  EXPECT_LE(per_task, 4.5 * 1024);
}

TEST(IdleRss, SpawnedTaskWithFuturePerIdleTask) {
  if (weft::test::sanitized) GTEST_SKIP() << "sanitizers change stack and heap use";
  const std::size_t n = weft::test::scale(200'000);
  weft::runtime_options o;
  o.workers = 2;
  weft::runtime rt(o);
  auto c = weft::make_chan<int>(0);
  std::vector<weft::future<void>> fs;
  fs.reserve(n);
  const std::size_t before = rss_bytes();
  auto root = weft::spawn(rt, [&rt, &c, &fs, n] {
    for (std::size_t i = 0; i < n; ++i) fs.push_back(weft::spawn(rt, [rx = c.rx]() mutable { (void)rx.recv(); }));
  });
  (void)root.get();
  wait_until_blocked(rt, n);
  const std::size_t after = rss_bytes();
  const double per_task = static_cast<double>(after - before) / static_cast<double>(n);
  std::printf("[ measure  ] %zu idle tasks (spawn + future): %.0f bytes RSS per task\n", n, per_task);
  c.tx.close();
  for (auto& f : fs) (void)f.get();
  EXPECT_LE(per_task, 8 * 1024);  // + the future's shared state (a channel), owned by channels/
}

long minor_faults_of_this_thread() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

// A small closure is stored in the task object, not on the task's fresh stack, so the spawner
// does not take the stack's first page fault: the worker that first runs the task does (a task
// spawning a burst would otherwise fault in every new stack on its own, serially: W9 ran ~2x
// slower). Spawning N tasks that stay blocked (each keeps its own fresh stack) with a small
// closure must cost this thread far fewer page faults than N spawns with a closure too large for
// the task object (which goes on the stack: one fault each). Compared with that control rather
// than with a fixed number, so what else the process faults in (the task objects, queue blocks,
// an emulator's own pages under qemu) cancels out.
TEST(IdleRss, SpawnerDoesNotFaultInFreshStacks) {
  if (weft::test::sanitized) GTEST_SKIP() << "sanitizers map every stack (and its shadow) on the spawner";
  struct big_blocked_recv {
    weft::receiver<int> rx;
    std::array<char, 64> pad{};
    void operator()() noexcept { (void)rx.recv(); }
  };
  static_assert(sizeof(blocked_recv) <= weft::detail::task_inline_closure_capacity);
  static_assert(sizeof(big_blocked_recv) > weft::detail::task_inline_closure_capacity &&
                sizeof(big_blocked_recv) <= weft::detail::task_closure_capacity);
  const std::size_t n = 512, warm = 64;
  weft::runtime_options o;
  o.workers = 1;
  weft::runtime rt(o);
  auto c = weft::make_chan<int>(0);
  auto spawn_small = [&] {
    weft::detail::spawn_closure(rt, blocked_recv{c.rx}, weft::detail::source_location::current());
  };
  auto spawn_big = [&] {
    weft::detail::spawn_closure(rt, big_blocked_recv{c.rx}, weft::detail::source_location::current());
  };
  for (std::size_t i = 0; i < warm; ++i) spawn_small();  // the code paths, the first pool growth
  long before = minor_faults_of_this_thread();
  for (std::size_t i = 0; i < n; ++i) spawn_small();
  const long small = minor_faults_of_this_thread() - before;
  before = minor_faults_of_this_thread();
  for (std::size_t i = 0; i < n; ++i) spawn_big();
  const long big = minor_faults_of_this_thread() - before;
  std::printf("[ measure  ] %zu spawns from outside the runtime: %ld page faults on the spawner with a small "
              "closure, %ld with one that goes on the stack\n",
              n, small, big);
  wait_until_blocked(rt, warm + 2 * n);
  c.tx.close();
  EXPECT_LE(small + static_cast<long>(n / 2), big);
}

}  // namespace

// Tour 5 — group and wait_group: run N things concurrently, stop on the first error.
//
// weft::group is Go's errgroup: spawn(f) runs f(ctx) as a task; the first failure (a non-ok
// status or result, or an exception) cancels ctx for all the others, and wait() returns that
// first failure. set_limit(n) caps how many run at once. wait_group counts outstanding work.
#include <weft/weft.hpp>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}
}  // namespace

int main() {
  // 1. Four fetches; fetch 2 fails, the other three are waiting on a channel that never
  //    delivers and see their context cancelled instead of hanging.
  auto [never_tx, never_rx] = weft::make_chan<int>(1);
  std::atomic<int> saw_cancel{0};
  weft::group g;
  for (int i = 0; i < 4; ++i)
    g.spawn([i, rx = never_rx, &saw_cancel](const weft::context& ctx) mutable -> weft::status {
      if (i == 2) throw std::runtime_error("fetch 2: connection refused");
      const weft::status st = rx.recv(ctx).code();  // cancelled by fetch 2's failure
      // relaxed: a counter read after g.wait(), which orders the tasks' work before it.
      if (st == weft::status::cancelled) saw_cancel.fetch_add(1, std::memory_order_relaxed);
      return st;
    });
  weft::result<void> first = g.wait();
  bool right_error = false;
  try {
    first.value();
  } catch (const std::runtime_error& e) {
    right_error = std::string(e.what()) == "fetch 2: connection refused";
  }
  check(first.code() == weft::status::failed && right_error, "wait() returned the first failure");
  // relaxed: g.wait() returned, so every task's increment happened-before this read.
  check(saw_cancel.load(std::memory_order_relaxed) == 3, "the other three were cancelled, not left hanging");

  // 2. A limit: at most 2 of 20 tasks at once.
  std::atomic<int> running{0}, peak{0};
  weft::group limited;
  limited.set_limit(2);
  for (int i = 0; i < 20; ++i)
    limited.spawn([&](const weft::context&) {
      // relaxed (both): counters only; nothing else is published through them.
      const int now = running.fetch_add(1, std::memory_order_relaxed) + 1;
      int p = peak.load(std::memory_order_relaxed);
      while (now > p && !peak.compare_exchange_weak(p, now, std::memory_order_relaxed)) {
      }
      weft::yield();
      running.fetch_sub(1, std::memory_order_relaxed);  // relaxed: as above
    });
  check(static_cast<bool>(limited.wait()), "20 limited tasks succeeded");
  // relaxed: read after wait(), which orders every task before it.
  check(peak.load(std::memory_order_relaxed) <= 2, "never more than 2 at once");

  // 3. wait_group: threads (or tasks) report done(); wait() returns when all have.
  weft::wait_group wg;
  std::vector<int> slots(8, 0);
  std::vector<std::thread> threads;
  wg.add(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      slots[static_cast<std::size_t>(i)] = i * i;
      wg.done();  // everything before done() is visible after wait()
    });
  wg.wait();
  int total = 0;
  for (int v : slots) total += v;
  for (auto& t : threads) t.join();
  check(total == 140, "wait_group: every thread's write is visible after wait()");
  return failures == 0 ? 0 : 1;
}

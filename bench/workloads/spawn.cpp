// W9 spawn_idle: make N = 1,000,000 units that each sit idle waiting for a message, then release
// them all. On a runtime of 2 workers.
//   weft-fiber  a root task spawns N tasks (futures dropped); each blocks in recv() on one shared
//               unbuffered channel; closing it releases them all (they then see `closed`)
//   weft-actor  N actors spawned from the main thread (refs kept in a vector); an idle actor owns
//               no stack; each is released by one tell, then stopped
// Metrics: ns_per_spawn = time from the first spawn until every unit is idle (fiber: parked in
// its recv, per stats(rt).tasks_blocked; actor: spawn_actor returned), divided by N;
// peak_rss_bytes_per_unit = (peak RSS while all are idle - RSS before) / N, after resetting the
// peak (VmHWM) through /proc/self/clear_refs. The actor figure includes the 8-byte actor_ref.
// Checks: every unit started and was released exactly once (count), and none remained.
#include "runner.hpp"
#include "tasks.hpp"

#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace weft_bench {
namespace {

constexpr std::size_t spawn_workers = 2;

/// Waits (sleeping 100 us at a time) until pred() holds; false after `limit`.
template <class Pred>
bool wait_for_condition(Pred pred, std::chrono::seconds limit = std::chrono::seconds(120)) {
  const auto end = clock::now() + limit;
  while (!pred()) {
    if (clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

double per_unit(std::size_t peak, std::size_t base, std::uint64_t n) {
  return peak > base ? static_cast<double>(peak - base) / static_cast<double>(n) : 0.0;
}

rep_result run_w9_fiber(const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 1'000'000);
  std::atomic<std::uint64_t> started{0}, released{0};
  std::int64_t ns = 0;
  double rss = 0;
  {
    weft::runtime_options o{};
    o.workers = spawn_workers;
    weft::runtime rt(o);
    auto release = weft::make_chan<std::uint64_t>(0);
    if (!reset_peak_rss()) std::fprintf(stderr, "weft_workloads: W9: cannot reset the peak RSS; figure is an upper bound\n");
    const std::size_t base = current_rss_bytes();
    const std::int64_t t0 = now_ns();
    weft::result<void> root = run_task(rt, [&] {
      for (std::uint64_t i = 0; i < n; ++i) {
        weft::future<void> dropped = weft::spawn(rt, [&] {
          // relaxed: a count read by the main thread only as a progress signal and after the
          // runtime has ended (its destructor joins every task).
          started.fetch_add(1, std::memory_order_relaxed);
          weft::result<std::uint64_t> r = release.rx.recv();
          if (r.code() == weft::status::closed) released.fetch_add(1, std::memory_order_relaxed);
        });
      }
    });
    if (!root) res.fail("W9 root task failed");
    const bool idle = wait_for_condition([&] { return weft::stats(rt).tasks_blocked >= n; });
    ns = now_ns() - t0;
    if (!idle) res.fail(mismatch("W9 tasks blocked after 120 s", weft::stats(rt).tasks_blocked, n));
    rss = per_unit(peak_rss_bytes(), base, n);
    release.tx.close();
  }  // ~runtime waits for every task
  if (started.load(std::memory_order_relaxed) != n) res.fail(mismatch("W9 tasks started", started.load(), n));
  if (released.load(std::memory_order_relaxed) != n) res.fail(mismatch("W9 tasks released by close", released.load(), n));
  res.add("ns_per_spawn", static_cast<double>(ns) / static_cast<double>(n));
  res.add("peak_rss_bytes_per_unit", rss);
  return res;
}

struct idle_actor {
  std::atomic<std::uint64_t>* handled;
  void operator()(std::uint64_t) {
    // relaxed: a count the main thread polls; the runtime's end orders the final read.
    handled->fetch_add(1, std::memory_order_relaxed);
  }
};

rep_result run_w9_actor(const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 1'000'000);
  std::atomic<std::uint64_t> handled{0};
  std::int64_t ns = 0;
  double rss = 0;
  std::uint64_t refused = 0;
  {
    weft::runtime_options o{};
    o.workers = spawn_workers;
    weft::runtime rt(o);
    std::vector<weft::actor_ref<idle_actor>> refs;
    refs.reserve(n);
    if (!reset_peak_rss()) std::fprintf(stderr, "weft_workloads: W9: cannot reset the peak RSS; figure is an upper bound\n");
    const std::size_t base = current_rss_bytes();
    const std::int64_t t0 = now_ns();
    for (std::uint64_t i = 0; i < n; ++i) refs.push_back(weft::spawn_actor<idle_actor>(rt, weft::actor_options{}, &handled));
    ns = now_ns() - t0;
    rss = per_unit(peak_rss_bytes(), base, n);
    for (auto& r : refs) refused += r.tell(std::uint64_t{1}) != weft::status::ok;
    if (!wait_for_condition([&] { return handled.load(std::memory_order_relaxed) >= n - refused; })) {
      res.fail(mismatch("W9 actors that handled their message after 120 s", handled.load(), n));
    }
    for (auto& r : refs) r.stop();
    refs.clear();
  }
  if (refused != 0) res.fail(mismatch("W9 tells not ok", refused, 0));
  if (handled.load(std::memory_order_relaxed) != n) res.fail(mismatch("W9 actors released", handled.load(), n));
  res.add("ns_per_spawn", static_cast<double>(ns) / static_cast<double>(n));
  res.add("peak_rss_bytes_per_unit", rss);
  return res;
}

}  // namespace

std::vector<workload_case> spawn_workloads() {
  return {
      {"W9", peer_fiber, run_w9_fiber},
      {"W9", peer_actor, run_w9_actor},
  };
}

}  // namespace weft_bench

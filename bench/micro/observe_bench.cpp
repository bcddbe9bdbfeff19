// Observability costs with many tasks (issue 5 targets: dump of 100,000 blocked tasks < 1 s;
// stats() < 1 us with 100k tasks):
//   BM_Observe_Stats/<n>          weft::stats(rt) with n tasks blocked on one channel
//   BM_Observe_DumpBlocked/<n>    dump_blocked(rt, os) of n blocked tasks into a string stream
//   BM_Observe_FindDeadlock/<n>   find_deadlock(rt, 0) over n blocked tasks (two registry walks)
// The n tasks are spawned once per n and stay blocked (recv on one unbuffered channel); the
// runtime (2 workers, 16 KiB stacks) is released at the end of each benchmark.
#include <weft/watchdog.hpp>
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

namespace {

struct blocked_fleet {
  explicit blocked_fleet(std::size_t n) : rt(options()), c(weft::make_chan<int>(0, "fleet")) {
    for (std::size_t i = 0; i < n; ++i) (void)weft::spawn(rt, [rx = c.rx]() mutable { (void)rx.recv(); });
    while (weft::stats(rt).tasks_blocked < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~blocked_fleet() { c.tx.close(); }  // then ~runtime waits for the tasks to end

  static weft::runtime_options options() {
    weft::runtime_options o;
    o.workers = 2;
    o.stack_size = 16 * 1024;
    return o;
  }

  weft::runtime rt;  // destroyed after c's sender closed the channel (members in reverse order)
  weft::chan<int> c;
};

void BM_Observe_Stats(benchmark::State& state) {
  blocked_fleet f(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    weft::runtime_stats s = weft::stats(f.rt);
    benchmark::DoNotOptimize(s);
  }
  state.counters["tasks_blocked"] = static_cast<double>(weft::stats(f.rt).tasks_blocked);
}
BENCHMARK(BM_Observe_Stats)->Arg(1000)->Arg(100000);

void BM_Observe_DumpBlocked(benchmark::State& state) {
  blocked_fleet f(static_cast<std::size_t>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::ostringstream os;
    weft::dump_blocked(f.rt, os);
    bytes = os.str().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Observe_DumpBlocked)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_Observe_FindDeadlock(benchmark::State& state) {
  blocked_fleet f(static_cast<std::size_t>(state.range(0)));
  bool found = false;
  for (auto _ : state) {
    found = weft::find_deadlock(f.rt, std::chrono::nanoseconds(0)).has_value();
    benchmark::DoNotOptimize(found);
  }
  state.counters["found"] = found ? 1 : 0;  // an outside thread holds the sender: reported anyway
}
BENCHMARK(BM_Observe_FindDeadlock)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

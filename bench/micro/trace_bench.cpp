// The flight recorder's cost on W5's shape (issue 5 target: recording <= 15% slower, not
// recording not measurable): two tasks on a one-worker runtime, one round trip over two
// unbuffered channels per iteration (10 trace events per round trip: 2 switch-ins, 2
// switch-outs, 2 wake-ups, 2 sends, 2 receives).
//   BM_Trace_PingPong/0   no trace recording
//   BM_Trace_PingPong/1   recording, default options (every event)
//   BM_Trace_PingPong/2   recording, channel_events = false
//   BM_Trace_PingPong/3   recording, precise_timestamps = true
//   BM_Trace_PingPong/4   recording, buffer_events = 512 (a 16 KiB ring that stays in L1: the
//                         ring's cache misses are not what costs, /4 reads as /1)
// Time is the worker thread's CPU time (CLOCK_THREAD_CPUTIME_ID read inside the task), so
// other processes on the machine inflate it far less than wall time. An iteration is 100 round
// trips; the counter ns_per_round_trip is the figure to quote. Compare the variants of
// one run; interleave them:
//   weft_micro --benchmark_filter=BM_Trace --benchmark_repetitions=7
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//   (one command line)
#include <weft/trace.hpp>
#include <weft/chan.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>

#include <benchmark/benchmark.h>

#include "micro_runtime.hpp"
#include <cstdint>
#include <ctime>
#include <sstream>

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void BM_Trace_PingPong(benchmark::State& state) {
  const auto mode = state.range(0);
  if (mode != 0) {
    weft::trace::options o;
    o.channel_events = mode != 2;
    o.precise_timestamps = mode == 3;
    if (mode == 4) o.buffer_events = 512;
    weft::trace::start(o);
  }
  auto ping = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  auto echo = weft::spawn(weft_micro::shared_runtime<1>(), [tx = pong.tx, rx = ping.rx]() mutable {
    for (;;) {
      auto r = rx.recv();
      if (!r) return;
      (void)tx.send(*r);
    }
  });
  double cpu = 0;
  std::int64_t trips = 0;
  auto f = weft::spawn(weft_micro::shared_runtime<1>(), [&] {
    int i = 0;
    constexpr int batch = 100;  // round trips per timed iteration (keeps the clock read rare)
    for (auto _ : state) {
      const double t0 = thread_cpu_seconds();
      for (int k = 0; k < batch; ++k) {
        (void)ping.tx.send(++i);
        benchmark::DoNotOptimize(pong.rx.recv());
      }
      const double dt = thread_cpu_seconds() - t0;
      state.SetIterationTime(dt);
      cpu += dt;
      trips += batch;
    }
    ping.tx.close();
  });
  (void)f.get();
  (void)echo.get();
  if (mode != 0) {
    std::ostringstream sink;
    const weft::trace::summary s = weft::trace::stop(sink);
    if (s.events == 0) state.SkipWithError("the trace recorded nothing");
  }
  state.counters["ns_per_round_trip"] = trips > 0 ? cpu * 1e9 / static_cast<double>(trips) : 0.0;
}
BENCHMARK(BM_Trace_PingPong)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Arg(4)->UseManualTime();

}  // namespace

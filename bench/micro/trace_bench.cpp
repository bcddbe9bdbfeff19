// The flight recorder's cost on W5's shape (issue 5 target: recording <= 15% slower, not
// recording not measurable): two tasks on a one-worker runtime, one round trip over two
// unbuffered channels per iteration (10 trace events per round trip: 2 switch-ins, 2
// switch-outs, 2 wake-ups, 2 sends, 2 receives; 6 records, as the two direct switches and the
// two wake-ups are folded: <weft/detail/trace.hpp>, "Folded records").
//   BM_Trace_PingPong/0   no trace recording
//   BM_Trace_PingPong/1   recording, default options (every event)
//   BM_Trace_PingPong/2   recording, channel_events = false
//   BM_Trace_PingPong/3   recording, precise_timestamps = true
//   BM_Trace_PingPong/4   recording, buffer_events = 512 (a 16 KiB ring that stays in L1: the
//                         ring's cache misses are not what costs, /4 reads as /1)
//   BM_Trace_PingPong/5   recording, stamp_every = 8 (one hand-off in 8 reads the clock)
//   BM_Trace_PingPong/6   recording, stamp_every = 8 and channel_events = false
// Time is the worker thread's CPU time (CLOCK_THREAD_CPUTIME_ID read inside the task), so
// other processes on the machine inflate it far less than wall time. An iteration is 100 round
// trips; the counter ns_per_round_trip is the figure to quote. Compare the variants of
// one run; interleave them:
//   weft_micro --benchmark_filter=BM_Trace --benchmark_repetitions=7
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//   (one command line)
//   BM_Trace_Overhead     the figure to quote for the target: off and on batches alternated
//                         within one run (see its comment)
#include <weft/trace.hpp>
#include <weft/chan.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>

#include <benchmark/benchmark.h>

#include "micro_runtime.hpp"
#include <algorithm>
#include <cstdint>
#include <ctime>
#include <sstream>
#include <vector>

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
    o.channel_events = mode != 2 && mode != 6;
    o.precise_timestamps = mode == 3;
    if (mode == 4) o.buffer_events = 512;
    if (mode >= 5) o.stamp_every = 8;
    weft::trace::start(o);
  }
  auto ping = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  auto echo = weft_micro::spawn_echo(pong.tx, ping.rx);
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
BENCHMARK(BM_Trace_PingPong)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Arg(4)->Arg(5)->Arg(6)->UseManualTime();

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// The recording cost measured the steadier way: one ping-pong, the trace started and stopped
// every 20,000 round trips (about 3 ms), so each "on" batch has an "off" neighbour taken moments
// apart (the order alternates). Counters: recording_overhead_pct = median over the pairs of
// (on / off - 1) x 100; off_ns / on_ns = the medians per round trip. This VM's speed drifts by
// tens of percent within seconds; adjacent batches drift far less than separate repetitions.
//   weft_micro --benchmark_filter=BM_Trace_Overhead
void BM_Trace_Overhead(benchmark::State& state) {
  auto ping = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  auto echo = weft_micro::spawn_echo(pong.tx, ping.rx);
  std::vector<double> off, on, ratio;
  auto f = weft::spawn(weft_micro::shared_runtime<1>(), [&] {
    int v = 0;
    constexpr int batch = 20000;
    auto timed_batch = [&] {
      const double t0 = thread_cpu_seconds();
      for (int k = 0; k < batch; ++k) {
        (void)ping.tx.send(++v);
        benchmark::DoNotOptimize(pong.rx.recv());
      }
      return (thread_cpu_seconds() - t0) * 1e9 / batch;
    };
    auto traced_batch = [&] {
      weft::trace::start();
      const double ns = timed_batch();
      std::ostringstream sink;
      (void)weft::trace::stop(sink);
      return ns;
    };
    (void)timed_batch();  // warm-up
    bool on_first = false;
    for (auto _ : state) {
      double a = 0, b = 0;  // off, on
      if (on_first) {
        b = traced_batch();
        a = timed_batch();
      } else {
        a = timed_batch();
        b = traced_batch();
      }
      on_first = !on_first;
      state.SetIterationTime((a + b) * batch * 1e-9);
      off.push_back(a);
      on.push_back(b);
      ratio.push_back(b / a);
    }
    ping.tx.close();
  });
  (void)f.get();
  (void)echo.get();
  state.counters["recording_overhead_pct"] = (median(ratio) - 1.0) * 100.0;
  state.counters["off_ns"] = median(off);
  state.counters["on_ns"] = median(on);
}
BENCHMARK(BM_Trace_Overhead)->Iterations(151)->UseManualTime();

}  // namespace

// Timer and context fast paths, one thread:
//   BM_After_Zero              after(0) then recv: make the timer channel, take its value at once
//   BM_Tick_TryRecv            try_recv on tick(1 ns) made once: a value is due on every call
//   BM_Context_ErrBackground   background().err()
//   BM_Context_ErrCancellable  err() on a live with_cancel child of background
//   BM_Context_DoneTryRecv     ctx.done().try_recv() on a live cancellable context (the poll a
//                              loop makes to see whether it should stop)
//   BM_Context_WithCancel      with_cancel(parent) + cancel(): make and end one context
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <chrono>

namespace {

using namespace std::chrono_literals;

void BM_After_Zero(benchmark::State& state) {
  for (auto _ : state) {
    auto rx = weft::after(0ns);
    auto r = rx.recv();
    if (!r) state.SkipWithError("after(0) did not deliver");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_After_Zero);

void BM_Tick_TryRecv(benchmark::State& state) {
  auto rx = weft::tick(1ns);
  std::int64_t got = 0;
  for (auto _ : state) {
    auto r = rx.try_recv();
    got += r ? 1 : 0;
    benchmark::DoNotOptimize(r);
  }
  state.counters["hit_rate"] = benchmark::Counter(static_cast<double>(got), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_Tick_TryRecv);

void BM_Context_ErrBackground(benchmark::State& state) {
  weft::context ctx = weft::background();
  for (auto _ : state) {
    weft::status s = ctx.err();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Context_ErrBackground);

void BM_Context_ErrCancellable(benchmark::State& state) {
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  for (auto _ : state) {
    weft::status s = ctx.err();
    benchmark::DoNotOptimize(s);
  }
  cancel();
}
BENCHMARK(BM_Context_ErrCancellable);

void BM_Context_DoneTryRecv(benchmark::State& state) {
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  for (auto _ : state) {
    auto r = ctx.done().try_recv();
    if (r.code() != weft::status::empty) state.SkipWithError("done() fired on a live context");
    benchmark::DoNotOptimize(r);
  }
  cancel();
}
BENCHMARK(BM_Context_DoneTryRecv);

void BM_Context_WithCancel(benchmark::State& state) {
  weft::context parent = weft::background();
  for (auto _ : state) {
    auto [ctx, cancel] = weft::with_cancel(parent);
    cancel();
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_Context_WithCancel);

}  // namespace

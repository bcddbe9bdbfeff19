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

// ---- context and timer forms not covered above:
//   BM_Context_WithTimeout     with_timeout(background, 1h) + cancel(): make and end one
//   BM_Context_WithDeadline    with_deadline(background, now + 1h) + cancel()
//   BM_Context_Deadline        deadline() of a child of a context with a deadline
//   BM_Context_NestedCancel    a child of a cancellable parent; cancelling the parent ends it
//   BM_After_MakeDrop          after(1h) made and dropped (the timer cancelled unfired)
//   BM_Tick_MakeDrop           tick(1h) made and dropped
namespace {

void BM_Context_WithTimeout(benchmark::State& state) {
  weft::context parent = weft::background();
  for (auto _ : state) {
    auto [ctx, cancel] = weft::with_timeout(parent, 1h);
    cancel();
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_Context_WithTimeout);

void BM_Context_WithDeadline(benchmark::State& state) {
  weft::context parent = weft::background();
  const auto far = std::chrono::steady_clock::now() + 1h;
  for (auto _ : state) {
    auto [ctx, cancel] = weft::with_deadline(parent, far);
    cancel();
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_Context_WithDeadline);

void BM_Context_Deadline(benchmark::State& state) {
  auto [parent, cancel_parent] = weft::with_timeout(weft::background(), 1h);
  auto [child, cancel_child] = weft::with_cancel(parent);
  for (auto _ : state) {
    auto d = child.deadline();
    if (!d) state.SkipWithError("the child lost its parent's deadline");
    benchmark::DoNotOptimize(d);
  }
  cancel_child();
  cancel_parent();
}
BENCHMARK(BM_Context_Deadline);

void BM_Context_NestedCancel(benchmark::State& state) {
  for (auto _ : state) {
    auto [parent, cancel_parent] = weft::with_cancel(weft::background());
    auto [child, cancel_child] = weft::with_cancel(parent);
    cancel_parent();
    if (child.err() != weft::status::cancelled) state.SkipWithError("cancelling the parent did not end the child");
    cancel_child();
  }
}
BENCHMARK(BM_Context_NestedCancel);

void BM_After_MakeDrop(benchmark::State& state) {
  for (auto _ : state) {
    auto rx = weft::after(1h);
    benchmark::DoNotOptimize(rx);
  }
}
BENCHMARK(BM_After_MakeDrop);

void BM_Tick_MakeDrop(benchmark::State& state) {
  for (auto _ : state) {
    auto rx = weft::tick(1h);
    benchmark::DoNotOptimize(rx);
  }
}
BENCHMARK(BM_Tick_MakeDrop);

}  // namespace

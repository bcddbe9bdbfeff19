// Resilience helpers and actors, fast paths:
//   BM_Retry_FirstSuccess        retry() whose first call succeeds (no wait)
//   BM_Breaker_CallClosed        circuit_breaker::call of a succeeding f on a closed breaker
//   BM_Breaker_CallOpen          call on an open breaker: rejected without calling f
//   BM_CallWithTimeout_Fast      call_with_timeout(1s, f) with an f that returns at once (f runs
//                                as a task on the default runtime)
//   BM_Actor_Tell                tell() from this thread to a counting actor (a 2-worker runtime);
//                                an ask at the end waits until all were handled (in the figure)
//   BM_Actor_AskFromThread       ask().get() round trip from this thread
//   BM_Actor_AskFromTask         ask().get() round trip from a task on the actor's runtime
//   BM_Actor_SpawnStop           spawn_actor + stop (an idle actor: no stack)
//   BM_Actor_Monitor             monitor() on a live actor (a receiver made and dropped)
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include "micro_runtime.hpp"
#include <chrono>
#include <cstdint>

namespace {

using namespace std::chrono_literals;

void BM_Retry_FirstSuccess(benchmark::State& state) {
  weft::retry_policy p;
  p.initial_backoff = 1ms;
  p.max_backoff = 10ms;
  const weft::context ctx = weft::background();
  for (auto _ : state) {
    weft::result<int> r = weft::retry(ctx, p, [] { return weft::result<int>(1); });
    if (!r) state.SkipWithError("retry of a succeeding call failed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Retry_FirstSuccess);

void BM_Breaker_CallClosed(benchmark::State& state) {
  weft::circuit_breaker b;
  for (auto _ : state) {
    weft::result<int> r = b.call([] { return weft::result<int>(1); });
    if (!r) state.SkipWithError("a closed breaker refused a call");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Breaker_CallClosed);

void BM_Breaker_CallOpen(benchmark::State& state) {
  weft::breaker_options o;
  o.failure_threshold = 1;
  o.cool_down = std::chrono::hours(1);
  weft::circuit_breaker b(o);
  (void)b.call([] { return weft::result<int>(weft::status::failed); });
  std::uint64_t called = 0;
  for (auto _ : state) {
    weft::result<int> r = b.call([&] {
      ++called;
      return weft::result<int>(1);
    });
    if (r.code() != weft::status::rejected) state.SkipWithError("an open breaker did not reject");
    benchmark::DoNotOptimize(r);
  }
  if (called != 0) state.SkipWithError("an open breaker called f");
}
BENCHMARK(BM_Breaker_CallOpen);

void BM_CallWithTimeout_Fast(benchmark::State& state) {
  for (auto _ : state) {
    weft::result<int> r = weft::call_with_timeout(1s, [] { return 1; });
    if (!r || *r != 1) state.SkipWithError("call_with_timeout lost the value");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_CallWithTimeout_Fast)->UseRealTime();

struct get_count {};
struct counter {
  std::uint64_t n = 0;
  void operator()(std::uint64_t) { ++n; }
  std::uint64_t operator()(get_count) const { return n; }
};
struct echo {
  std::uint64_t operator()(std::uint64_t v) const { return v + 1; }
};

void BM_Actor_Tell(benchmark::State& state) {
  weft::actor_ref<counter> c = weft::spawn_actor<counter>(weft_micro::shared_runtime<2>(), weft::actor_options{});
  for (auto _ : state) {
    weft::status s = c.tell(std::uint64_t{1});
    benchmark::DoNotOptimize(s);
  }
  weft::result<std::uint64_t> n = c.ask(get_count{}).get();
  if (!n || *n != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("the actor did not handle every tell");
  c.stop();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Actor_Tell)->UseRealTime();

void BM_Actor_AskFromThread(benchmark::State& state) {
  weft::actor_ref<echo> e = weft::spawn_actor<echo>(weft_micro::shared_runtime<2>(), weft::actor_options{});
  std::uint64_t i = 0;
  for (auto _ : state) {
    weft::result<std::uint64_t> r = e.ask(std::uint64_t{++i}).get();
    if (!r || *r != i + 1) state.SkipWithError("wrong reply");
    benchmark::DoNotOptimize(r);
  }
  e.stop();
}
BENCHMARK(BM_Actor_AskFromThread)->UseRealTime();

void BM_Actor_AskFromTask(benchmark::State& state) {
  weft::actor_ref<echo> e = weft::spawn_actor<echo>(weft_micro::shared_runtime<2>(), weft::actor_options{});
  weft::future<void> f = weft::spawn(weft_micro::shared_runtime<2>(), [&state, &e] {
    std::uint64_t i = 0;
    for (auto _ : state) {
      weft::result<std::uint64_t> r = e.ask(std::uint64_t{++i}).get();
      if (!r || *r != i + 1) state.SkipWithError("wrong reply");
      benchmark::DoNotOptimize(r);
    }
  });
  (void)f.get();
  e.stop();
}
BENCHMARK(BM_Actor_AskFromTask)->UseRealTime();

void BM_Actor_SpawnStop(benchmark::State& state) {
  for (auto _ : state) {
    weft::actor_ref<counter> c = weft::spawn_actor<counter>(weft_micro::shared_runtime<2>(), weft::actor_options{});
    c.stop();
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_Actor_SpawnStop)->UseRealTime();

void BM_Actor_Monitor(benchmark::State& state) {
  weft::actor_ref<counter> c = weft::spawn_actor<counter>(weft_micro::shared_runtime<2>(), weft::actor_options{});
  for (auto _ : state) {
    weft::receiver<weft::exit_info> m = c.monitor();
    benchmark::DoNotOptimize(m);
  }
  c.stop();
}
BENCHMARK(BM_Actor_Monitor)->UseRealTime();

}  // namespace

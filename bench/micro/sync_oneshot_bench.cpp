// One-shot promise/future, coordination and task spawning on the default runtime, fast paths:
//   BM_Oneshot_SetGet            make_oneshot + set_value + get (the value is there: no wait)
//   BM_Oneshot_TryGetPending     try_get on a pending future (-> empty)
//   BM_Oneshot_Broken            make_oneshot, drop the promise, get (-> broken)
//   BM_Oneshot_GetFor            set_value, then get_for(1s) (completes at once)
//   BM_WaitGroup_AddDoneWait     add(1) + done() + wait() with nothing to wait for
//   BM_WaitGroup_WaitForZero     wait_for(1s) on a wait_group at zero
//   BM_OnceValue_Get             get() after the value exists (the read path)
//   BM_OnceValue_FirstGet        construct + first get() (runs init once)
//   BM_Group_SpawnWait           group + spawn(one no-op task) + wait() (default runtime)
//   BM_Group_TrySpawnLimit       the same through set_limit(1) + try_spawn
//   BM_Spawn_DefaultRuntime      spawn(f) on the default runtime + future get() from this thread
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

namespace {

using namespace std::chrono_literals;

void BM_Oneshot_SetGet(benchmark::State& state) {
  for (auto _ : state) {
    auto [p, f] = weft::make_oneshot<std::uint64_t>();
    p.set_value(42);
    weft::result<std::uint64_t> r = f.get();
    if (!r || *r != 42) state.SkipWithError("get did not return the value set");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Oneshot_SetGet);

void BM_Oneshot_TryGetPending(benchmark::State& state) {
  auto [p, f] = weft::make_oneshot<std::uint64_t>();
  for (auto _ : state) {
    weft::result<std::uint64_t> r = f.try_get();
    if (r.code() != weft::status::empty) state.SkipWithError("try_get on a pending future was not empty");
    benchmark::DoNotOptimize(r);
  }
  p.set_value(1);
}
BENCHMARK(BM_Oneshot_TryGetPending);

void BM_Oneshot_Broken(benchmark::State& state) {
  for (auto _ : state) {
    auto pf = weft::make_oneshot<std::uint64_t>();
    { weft::promise<std::uint64_t> dropped = std::move(pf.first); }
    weft::result<std::uint64_t> r = pf.second.get();
    if (r.code() != weft::status::broken) state.SkipWithError("a dropped promise did not break its future");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Oneshot_Broken);

void BM_Oneshot_GetFor(benchmark::State& state) {
  for (auto _ : state) {
    auto [p, f] = weft::make_oneshot<std::uint64_t>();
    p.set_value(7);
    weft::result<std::uint64_t> r = f.get_for(1s);
    if (!r) state.SkipWithError("get_for on a set future failed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Oneshot_GetFor);

void BM_WaitGroup_AddDoneWait(benchmark::State& state) {
  weft::wait_group wg;
  for (auto _ : state) {
    wg.add(1);
    wg.done();
    wg.wait();
  }
}
BENCHMARK(BM_WaitGroup_AddDoneWait);

void BM_WaitGroup_WaitForZero(benchmark::State& state) {
  weft::wait_group wg;
  for (auto _ : state) {
    bool ok = wg.wait_for(1s);
    if (!ok) state.SkipWithError("wait_for on a zero wait_group timed out");
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_WaitGroup_WaitForZero);

void BM_OnceValue_Get(benchmark::State& state) {
  weft::once_value<std::uint64_t> v([] { return std::uint64_t{99}; });
  (void)v.get();
  for (auto _ : state) {
    const std::uint64_t& x = v.get();
    benchmark::DoNotOptimize(x);
  }
}
BENCHMARK(BM_OnceValue_Get);

void BM_OnceValue_FirstGet(benchmark::State& state) {
  std::uint64_t inits = 0;
  for (auto _ : state) {
    weft::once_value<std::uint64_t> v([&] { return ++inits; });
    const std::uint64_t& x = v.get();
    benchmark::DoNotOptimize(x);
  }
  if (inits != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("init did not run exactly once per value");
}
BENCHMARK(BM_OnceValue_FirstGet);

void BM_Group_SpawnWait(benchmark::State& state) {
  std::uint64_t ran = 0;
  for (auto _ : state) {
    weft::group g;
    g.spawn([&](const weft::context&) { ++ran; });
    weft::result<void> r = g.wait();
    if (!r) state.SkipWithError("group wait failed");
  }
  if (ran != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("a group task did not run");
}
BENCHMARK(BM_Group_SpawnWait)->UseRealTime();

void BM_Group_TrySpawnLimit(benchmark::State& state) {
  std::uint64_t ran = 0;
  for (auto _ : state) {
    weft::group g;
    g.set_limit(1);
    if (!g.try_spawn([&](const weft::context&) { ++ran; })) state.SkipWithError("try_spawn found no free slot");
    weft::result<void> r = g.wait();
    benchmark::DoNotOptimize(r);
  }
  if (ran != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("a group task did not run");
}
BENCHMARK(BM_Group_TrySpawnLimit)->UseRealTime();

void BM_Spawn_DefaultRuntime(benchmark::State& state) {
  for (auto _ : state) {
    weft::future<int> f = weft::spawn([] { return 1; });
    weft::result<int> r = f.get();
    if (!r || *r != 1) state.SkipWithError("the task's value did not arrive");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Spawn_DefaultRuntime)->UseRealTime();

}  // namespace

// The fiber runtime's costs (one worker unless the name says otherwise):
//   BM_Fiber_Switch          a raw switch_fiber() round trip (into a fiber and back = 2 switches),
//                            no scheduler: the floor under every task switch
//   BM_Task_Yield            a task's yield() with no other task: task -> scheduler -> task
//   BM_Task_Spawn            spawn(rt, []{}) from inside a task, future dropped, including the
//                            task's run and recycling (one worker: they run at each yield)
//   BM_Task_SpawnFromThread  the same from a plain thread (global queue), future read
//   BM_Task_ParkUnpark       two tasks handing a turn back and forth with their raw parkers:
//                            one iteration = unpark + park on each side (the channel-free cost)
//   BM_Task_PingPongChan     two tasks, one round trip over two unbuffered channels (W5's shape)
//   BM_Task_SleepFor/<us>    sleep_for(us) in a task; counter overshoot_median_ns (timer accuracy)
#include <weft/detail/fiber_switch.hpp>
#include <weft/detail/parker.hpp>
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include "micro_runtime.hpp"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

// ---- raw fiber switch ----
struct bench_stack {
  static constexpr std::size_t size = 64 * 1024;
  void* mem = std::aligned_alloc(64, size);
  ~bench_stack() { std::free(mem); }
};

void BM_Fiber_Switch(benchmark::State& state) {
  namespace ctx = boost::context;
  bench_stack stack;
  weft::detail::fiber_side main_side = weft::detail::this_thread_fiber_side();
  weft::detail::fiber_side fiber_side;
  fiber_side.stack_lo_ = static_cast<std::byte*>(stack.mem);
  fiber_side.stack_size_ = bench_stack::size;
  fiber_side.tsan_fiber_ = weft::detail::tsan_create_fiber();
  bool done = false;
  ctx::fiber slot;
  void* top = static_cast<char*>(stack.mem) + bench_stack::size;
  ctx::stack_context sctx;
  sctx.sp = top;
  sctx.size = bench_stack::size;
  struct no_alloc {
    ctx::stack_context allocate() { std::abort(); }
    void deallocate(ctx::stack_context&) noexcept {}
  };
  slot = ctx::fiber(std::allocator_arg, ctx::preallocated(top, bench_stack::size, sctx), no_alloc{},
                    [&](ctx::fiber&& back) {
                      weft::detail::fiber_entered();
                      slot = std::move(back);
                      while (!done) weft::detail::switch_fiber(slot, fiber_side, main_side);
                      weft::detail::fiber_exiting(main_side);
                      return std::move(slot);
                    });
  for (auto _ : state) weft::detail::switch_fiber(slot, main_side, fiber_side);
  done = true;
  weft::detail::switch_fiber(slot, main_side, fiber_side);
  weft::detail::tsan_destroy_fiber(fiber_side.tsan_fiber_);
  state.counters["ns_per_switch"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Fiber_Switch);

// Runs `body(state)` inside one task of the one-worker runtime; the benchmark thread waits.
template <class Body>
void in_task(benchmark::State& state, Body body) {
  auto f = weft::spawn(weft_micro::shared_runtime<1>(), [&state, &body] { body(state); });
  (void)f.get();
}

void BM_Task_Yield(benchmark::State& state) {
  in_task(state, [](benchmark::State& st) {
    for (auto _ : st) weft::yield();
  });
}
BENCHMARK(BM_Task_Yield)->UseRealTime();

void BM_Task_Spawn(benchmark::State& state) {
  in_task(state, [](benchmark::State& st) {
    std::uint64_t n = 0;
    for (auto _ : st) {
      (void)weft::spawn(weft_micro::shared_runtime<1>(), [] {});
      if ((++n & 255) == 0) weft::yield();  // let the spawned tasks run and recycle
    }
    weft::yield();
  });
}
BENCHMARK(BM_Task_Spawn)->UseRealTime();

void BM_Task_SpawnFromThread(benchmark::State& state) {
  for (auto _ : state) {
    auto f = weft::spawn(weft_micro::shared_runtime<1>(), [] { return 1; });
    benchmark::DoNotOptimize(f.get());
  }
}
BENCHMARK(BM_Task_SpawnFromThread)->UseRealTime();

void BM_Task_ParkUnpark(benchmark::State& state) {
  std::atomic<int> turn{0};
  std::atomic<weft::detail::parker*> parkers[2] = {nullptr, nullptr};
  std::atomic<bool> stop{false};
  auto side = [&](int me) {
    weft::detail::parker& mine = weft::detail::current_parker();
    // release: the partner reads our parker pointer after it sees it.
    parkers[me].store(&mine, std::memory_order_release);
    // acquire: pairs with the partner's release store.
    while (parkers[1 - me].load(std::memory_order_acquire) == nullptr) weft::yield();
    weft::detail::parker& other = *parkers[1 - me].load(std::memory_order_acquire);
    for (;;) {
      // acquire: the partner's release store of the turn.
      while (turn.load(std::memory_order_acquire) != me) {
        if (stop.load(std::memory_order_acquire)) return;  // acquire: pairs with the release above
        mine.park_until(weft::detail::no_deadline);
      }
      if (me == 0 && !state.KeepRunning()) {
        stop.store(true, std::memory_order_release);  // release: the partner's acquire load of stop
        turn.store(1, std::memory_order_release);     // release: as for every turn hand-over
        other.unpark();
        return;
      }
      // release: hands the turn over.
      turn.store(1 - me, std::memory_order_release);
      other.unpark();
    }
  };
  auto b = weft::spawn(weft_micro::shared_runtime<1>(), [&] { side(1); });
  auto a = weft::spawn(weft_micro::shared_runtime<1>(), [&] { side(0); });
  (void)a.get();
  (void)b.get();
}
BENCHMARK(BM_Task_ParkUnpark)->UseRealTime();

void BM_Task_PingPongChan(benchmark::State& state) {
  auto ping = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  auto echo = weft_micro::spawn_echo(pong.tx, ping.rx);
  in_task(state, [&ping, &pong](benchmark::State& st) {
    int i = 0;
    for (auto _ : st) {
      (void)ping.tx.send(++i);
      benchmark::DoNotOptimize(pong.rx.recv());
    }
    ping.tx.close();
  });
  (void)echo.get();
}
BENCHMARK(BM_Task_PingPongChan)->UseRealTime();

void BM_Task_PingPongChanTwoWorkers(benchmark::State& state) {
  static weft::runtime* rt = [] {
    weft::runtime_options o;
    o.workers = 2;
    return new weft::runtime(o);
  }();
  auto ping = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  auto echo = weft::spawn(*rt, [tx = pong.tx, rx = ping.rx]() mutable {
    for (;;) {
      auto r = rx.recv();
      if (!r) return;
      (void)tx.send(*r);
    }
  });
  auto f = weft::spawn(*rt, [&state, &ping, &pong] {
    int i = 0;
    for (auto _ : state) {
      (void)ping.tx.send(++i);
      benchmark::DoNotOptimize(pong.rx.recv());
    }
    ping.tx.close();
  });
  (void)f.get();
  (void)echo.get();
}
BENCHMARK(BM_Task_PingPongChanTwoWorkers)->UseRealTime();

void BM_Task_SleepFor(benchmark::State& state) {
  const auto d = std::chrono::microseconds(state.range(0));
  std::vector<std::int64_t> overshoot;
  in_task(state, [&overshoot, d](benchmark::State& st) {
    for (auto _ : st) {
      const auto t0 = std::chrono::steady_clock::now();
      weft::sleep_for(d);
      overshoot.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - t0 - d)
                              .count());
    }
  });
  std::sort(overshoot.begin(), overshoot.end());
  if (!overshoot.empty())
    state.counters["overshoot_median_ns"] = static_cast<double>(overshoot[overshoot.size() / 2]);
}
BENCHMARK(BM_Task_SleepFor)->Arg(50)->Arg(1000)->UseRealTime();

}  // namespace

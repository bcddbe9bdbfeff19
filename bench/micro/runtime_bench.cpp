// The fiber runtime's costs (one worker unless the name says otherwise):
//   BM_Fiber_Switch          a raw switch_fiber() round trip (into a fiber and back = 2 switches),
//                            no scheduler: the floor under every task switch
//   BM_Fiber_SwitchInCalls/<k>  the same round trip, each side switching from inside a call
//                            chain as a parked task does (shared inner and middle functions, a
//                            different loop per side: W5's shape without the runtime).
//                            k = 0: Boost's resume(); k = 1: weft's switch_fiber (fiber_switch.hpp
//                            I3); k = 2: switch_fiber, the middle function called through
//                            switch_call (switch_call.hpp: the return into each caller predicted)
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
#include <weft/detail/switch_call.hpp>
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

/// A fiber on its own stack that calls `step(*this)` until `done`, for the raw switch
/// benchmarks; each step switches back to the benchmark loop once. finish() lets it end.
struct bench_fiber {
  bench_stack stack;
  weft::detail::fiber_side main_side = weft::detail::this_thread_fiber_side();
  weft::detail::fiber_side fiber_side;
  boost::context::fiber slot;
  bool done = false;

  template <class Step>
  explicit bench_fiber(Step step) {
    namespace ctx = boost::context;
    fiber_side.stack_lo_ = static_cast<std::byte*>(stack.mem);
    fiber_side.stack_size_ = bench_stack::size;
    fiber_side.tsan_fiber_ = weft::detail::tsan_create_fiber();
    void* top = static_cast<char*>(stack.mem) + bench_stack::size;
    ctx::stack_context sctx;
    sctx.sp = top;
    sctx.size = bench_stack::size;
    struct no_alloc {
      ctx::stack_context allocate() { std::abort(); }
      void deallocate(ctx::stack_context&) noexcept {}
    };
    slot = ctx::fiber(std::allocator_arg, ctx::preallocated(top, bench_stack::size, sctx),
                      no_alloc{}, [this, step](ctx::fiber&& back) mutable {
                        weft::detail::fiber_entered();
                        slot = std::move(back);
                        while (!done) step(*this);
                        weft::detail::fiber_exiting(main_side);
                        return std::move(slot);
                      });
  }
  bench_fiber(const bench_fiber&) = delete;
  bench_fiber& operator=(const bench_fiber&) = delete;
  ~bench_fiber() { weft::detail::tsan_destroy_fiber(fiber_side.tsan_fiber_); }

  void finish() {
    done = true;
    weft::detail::switch_fiber(slot, main_side, fiber_side);
  }
};

void count_switches(benchmark::State& state) {
  state.counters["ns_per_switch"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Fiber_Switch(benchmark::State& state) {
  bench_fiber f([](bench_fiber& self) {
    weft::detail::switch_fiber(self.slot, self.fiber_side, self.main_side);
  });
  for (auto _ : state) weft::detail::switch_fiber(f.slot, f.main_side, f.fiber_side);
  f.finish();
  count_switches(state);
}
BENCHMARK(BM_Fiber_Switch);

// ---- the raw switch under call chains ----
// Boost 1.74's x86-64 jump_fcontext leaves by `jmp`: entered by `call` (resume()), every switch
// leaves one return-stack-buffer entry behind and the resumed side's returns are predicted one
// frame off; switch_fiber enters it by `jmp` (fiber_switch.hpp I3). Both sides here switch
// from the same inner function called from the same middle one, each side's middle call coming
// from its own loop: with a balanced buffer the return into the middle function is predicted
// right and only the return into the two different loops misses; with Boost's call both miss.
// Called through switch_call, the middle function returns to the trampoline (one address) and
// the trampoline jumps into each caller: no return left to miss.
enum class chain_mode { boost_resume, weft_switch, weft_switch_call };

template <chain_mode M>
[[gnu::noinline]] void switch_in_chain(boost::context::fiber& slot, weft::detail::fiber_side& self,
                                       const weft::detail::fiber_side& to) {
  if constexpr (M != chain_mode::boost_resume) {
    weft::detail::switch_fiber(slot, self, to);
  } else {
    (void)self;
    (void)to;
    slot = std::move(slot).resume();
  }
  benchmark::ClobberMemory();
}
// The shared middle frame: the channel operation that parks (the rendezvous send in W5).
template <chain_mode M>
[[gnu::noinline]] void chain_middle(boost::context::fiber& slot, weft::detail::fiber_side& self,
                                    const weft::detail::fiber_side& to) {
  switch_in_chain<M>(slot, self, to);
  benchmark::ClobberMemory();
}
std::uintptr_t chain_middle_by_switch_call(void* slot, void* self, std::int64_t, void* to) noexcept {
  chain_middle<chain_mode::weft_switch_call>(*static_cast<boost::context::fiber*>(slot),
                                             *static_cast<weft::detail::fiber_side*>(self),
                                             *static_cast<const weft::detail::fiber_side*>(to));
  return 0;
}
template <chain_mode M>
[[gnu::always_inline]] inline void call_chain_middle(boost::context::fiber& slot, weft::detail::fiber_side& self,
                                                     const weft::detail::fiber_side& to) {
  if constexpr (M == chain_mode::weft_switch_call) {
    (void)weft::detail::switch_call(&chain_middle_by_switch_call, &slot, &self, 0,
                                    const_cast<weft::detail::fiber_side*>(&to));
  } else {
    chain_middle<M>(slot, self, to);
  }
}
// Each loop's own work before its blocking call (a loop of 2 or 5 turns). The trampoline's jump
// is predicted from the branch history before it: when the two sides' histories differ (the
// loop-exit pattern here; in W5 the runtime's own bookkeeping, which alternates between the two
// tasks), it lands right; with the same work on both sides the history cannot tell them apart
// and /2 read 2-7 ns per round trip above /1 (Zen 4, session 20).
[[gnu::always_inline]] inline void inline_work(int times) {
  volatile int n = times;  // not unrolled: real branches
  for (int i = 0; i < n; ++i) asm volatile("");
}
// The fiber side's loop; the main side's is the benchmark loop (W5's two task loops). Each
// calls the middle function from its own loop and never returns between switches, so the only
// return that crosses a switch is the middle function's into the loop, different per side.
template <chain_mode M>
[[gnu::noinline]] void chain_loop_b(bench_fiber& f, std::uint64_t& turns) {
  while (!f.done) {
    inline_work(5);
    call_chain_middle<M>(f.slot, f.fiber_side, f.main_side);
    ++turns;
  }
}

template <chain_mode M>
void switch_in_calls(benchmark::State& state) {
  std::uint64_t turns = 0;
  bench_fiber f([&turns](bench_fiber& self) { chain_loop_b<M>(self, turns); });
  for (auto _ : state) {
    inline_work(2);
    call_chain_middle<M>(f.slot, f.main_side, f.fiber_side);
  }
  f.finish();
  // The first switch into the fiber starts it; each later one, finish()'s too, returns from
  // call_chain_middle in chain_loop_b: iterations - 1 + 1.
  if (turns != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("lost a switch");
  count_switches(state);
}
void BM_Fiber_SwitchInCalls(benchmark::State& state) {
  if (state.range(0) == 1) return switch_in_calls<chain_mode::weft_switch>(state);
  if (state.range(0) == 2) return switch_in_calls<chain_mode::weft_switch_call>(state);
#if defined(WEFT_DETAIL_ASAN_FIBERS) || defined(WEFT_DETAIL_TSAN_FIBERS)
  state.SkipWithError("Boost's plain resume() makes no sanitizer annotations");
#else
  switch_in_calls<chain_mode::boost_resume>(state);
#endif
}
BENCHMARK(BM_Fiber_SwitchInCalls)->Arg(0)->Arg(1)->Arg(2);

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

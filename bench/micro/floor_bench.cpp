// The floor under W5 (green ping-pong): what Boost.Context itself costs for two fibers on one
// thread handing an int back and forth over two "unbuffered channels", with the least channel
// and scheduler logic that can work. Not weft: a yardstick for weft's own BM_Task_PingPongChan
// (bench/micro/runtime_bench.cpp), the way L0/L1 are yardsticks for the channel workloads.
//
//   BM_Floor_GreenPingPong/0   plain fields: one waiting receiver per channel, a run-next
//                              pointer, a direct switch into it (a single-threaded scheduler)
//   BM_Floor_GreenPingPong/1   the same plus the atomic operations a channel usable from several
//                              threads needs at the least, per operation: a spin lock around the
//                              waiting-receiver slot (exchange + release store), the waiter's
//                              select CAS, the parker's park CAS, the waker's token exchange and
//                              the resumed side's token take, the run-next slot's exchange; no
//                              contention, so it measures their local cost
//
// Nothing here handles close, timeouts, select, a second waiter, work stealing, observability
// or a task's end: each is part of what separates weft's figure from this one (docs/STATUS.md,
// issue 3). Measured on the project's VM (bench/RESULTS.md, session 8): /0 25 ns and /1 29 ns
// per round trip (~213 instructions standalone); weft's channel ping-pong 104-107 ns, ~1,040.
#include <boost/context/fiber.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <utility>

namespace {

namespace ctx = boost::context;

template <bool Atomic>
struct floor_world {
  struct task {
    ctx::fiber f;
    std::atomic<int> parker{0};  // 0 running (no token), 1 parked, 2 token (Atomic only)
  };
  struct waiter {
    task* t;
    int* slot;
    std::atomic<int> state{0};  // 0 waiting, 1 selected (Atomic only)
  };
  struct chan {
    std::atomic<bool> lock{false};
    waiter* receiver = nullptr;  // the one waiting receiver (the ping-pong never has two)
  };

  task a, b;
  task* current = nullptr;
  task* runnext = nullptr;
  std::atomic<task*> runnext_atomic{nullptr};
  chan ping, pong;
  ctx::fiber main_ctx;  // where task a returns when the benchmark loop ends

  void lock(chan& c) {
    if constexpr (Atomic) {
      // acquire: the critical section sees the previous holder's writes.
      while (c.lock.exchange(true, std::memory_order_acquire)) {
      }
    }
  }
  void unlock(chan& c) {
    // release: publishes the critical section's writes to the next holder.
    if constexpr (Atomic) c.lock.store(false, std::memory_order_release);
  }
  task* take_runnext() {
    if constexpr (Atomic) {
      // acquire: pairs with the waker's release store of the task it made runnable.
      return runnext_atomic.exchange(nullptr, std::memory_order_acquire);
    } else {
      return std::exchange(runnext, nullptr);
    }
  }
  // The running task parks and switches straight into the run-next task; whoever resumes us
  // later stores our suspended context back into our task.
  void park() {
    task* me = current;
    task* next = take_runnext();
    if constexpr (Atomic) {
      int running = 0;
      // acq_rel: the parker's park-side CAS (a token that arrived first would be taken instead).
      me->parker.compare_exchange_strong(running, 1, std::memory_order_acq_rel);
    }
    current = next;
    ctx::fiber f = std::move(next->f);
    std::move(f).resume_with([me](ctx::fiber&& from) {
      me->f = std::move(from);
      return ctx::fiber{};
    });
    if constexpr (Atomic) {
      // acquire: takes the waker's token (pairs with its acq_rel exchange), back to running.
      me->parker.exchange(0, std::memory_order_acquire);
    }
  }
  void send(chan& c, int v) {
    lock(c);
    waiter* w = std::exchange(c.receiver, nullptr);
    unlock(c);
    if constexpr (Atomic) {
      int waiting = 0;
      // acq_rel: the select CAS a waiter shared with timeouts and select cases needs.
      w->state.compare_exchange_strong(waiting, 1, std::memory_order_acq_rel);
    }
    *w->slot = v;
    if constexpr (Atomic) {
      // acq_rel: the unpark's token exchange; release store: publishes the task to the taker.
      w->t->parker.exchange(2, std::memory_order_acq_rel);
      runnext_atomic.store(w->t, std::memory_order_release);
    } else {
      runnext = w->t;
    }
  }
  int recv(chan& c) {
    int slot = 0;
    waiter w{current, &slot};
    lock(c);
    c.receiver = &w;
    unlock(c);
    park();
    return slot;
  }
};

template <bool Atomic>
void run_floor(benchmark::State& state) {
  using world = floor_world<Atomic>;
  world w;
  w.b.f = ctx::fiber([&w](ctx::fiber&& unused) {
    (void)unused;
    for (;;) w.send(w.pong, w.recv(w.ping));  // the echo: unwound when its fiber is destroyed
    return ctx::fiber{};
  });
  w.a.f = ctx::fiber([&w, &state](ctx::fiber&& unused) {
    (void)unused;
    int i = 0;
    for (auto _ : state) {
      w.send(w.ping, ++i);
      benchmark::DoNotOptimize(w.recv(w.pong));
    }
    return std::move(w.main_ctx);  // back to the benchmark thread; b stays parked in recv
  });
  // b first: it parks in recv(ping) and switches into a, the run-next task.
  w.current = &w.b;
  if constexpr (Atomic) {
    w.runnext_atomic.store(&w.a, std::memory_order_relaxed);  // relaxed: one thread so far
  } else {
    w.runnext = &w.a;
  }
  ctx::fiber b = std::move(w.b.f);
  std::move(b).resume_with([&w](ctx::fiber&& main_side) {
    w.main_ctx = std::move(main_side);
    return ctx::fiber{};
  });
  // a has ended; destroying w unwinds b's fiber (parked in recv).
  state.counters["ns_per_round_trip"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Floor_GreenPingPong(benchmark::State& state) {
  if (state.range(0) == 0) {
    run_floor<false>(state);
  } else {
    run_floor<true>(state);
  }
}
BENCHMARK(BM_Floor_GreenPingPong)->Arg(0)->Arg(1);

}  // namespace

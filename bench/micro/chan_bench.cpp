// Channel fast paths, one thread unless the name says PingPong:
//   BM_Bounded_TrySendTryRecv     try_send then try_recv on an empty cap-1024 channel
//   BM_Unbounded_TrySendTryRecv   the same on an unbounded channel (steady state: block reuse)
//   BM_Bounded_SendRecv           blocking send then recv, never actually blocking
//   BM_Unbounded_SendRecv         the same on an unbounded channel
//   BM_Bounded_Burst/64           64 try_sends then 64 try_recvs (items/s counts messages)
//   BM_Bounded_PingPong/spin:0|1      2 threads, two cap-1 channels; one iteration = one round trip
//   BM_Rendezvous_PingPong/spin:0|1   the same over unbuffered channels (W4's shape)
// spin:1 sets wait_strategy::spin on both threads (needs two idle cores to mean anything).
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <thread>

namespace {

void BM_Bounded_TrySendTryRecv(benchmark::State& state) {
  auto [tx, rx] = weft::make_chan<std::uint64_t>(1024);
  std::uint64_t i = 0;
  for (auto _ : state) {
    weft::status s = tx.try_send(std::uint64_t{++i});
    benchmark::DoNotOptimize(s);
    weft::result<std::uint64_t> r = rx.try_recv();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bounded_TrySendTryRecv);

void BM_Unbounded_TrySendTryRecv(benchmark::State& state) {
  auto [tx, rx] = weft::make_unbounded_chan<std::uint64_t>();
  std::uint64_t i = 0;
  for (auto _ : state) {
    weft::status s = tx.try_send(std::uint64_t{++i});
    benchmark::DoNotOptimize(s);
    weft::result<std::uint64_t> r = rx.try_recv();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Unbounded_TrySendTryRecv);

void BM_Bounded_SendRecv(benchmark::State& state) {
  auto [tx, rx] = weft::make_chan<std::uint64_t>(1024);
  std::uint64_t i = 0;
  for (auto _ : state) {
    weft::status s = tx.send(std::uint64_t{++i});
    benchmark::DoNotOptimize(s);
    weft::result<std::uint64_t> r = rx.recv();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bounded_SendRecv);

void BM_Unbounded_SendRecv(benchmark::State& state) {
  auto [tx, rx] = weft::make_unbounded_chan<std::uint64_t>();
  std::uint64_t i = 0;
  for (auto _ : state) {
    weft::status s = tx.send(std::uint64_t{++i});
    benchmark::DoNotOptimize(s);
    weft::result<std::uint64_t> r = rx.recv();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Unbounded_SendRecv);

void BM_Bounded_Burst(benchmark::State& state) {
  const auto burst = static_cast<std::uint64_t>(state.range(0));
  auto [tx, rx] = weft::make_chan<std::uint64_t>(1024);
  std::uint64_t i = 0;
  for (auto _ : state) {
    for (std::uint64_t k = 0; k < burst; ++k) {
      weft::status s = tx.try_send(std::uint64_t{++i});
      benchmark::DoNotOptimize(s);
    }
    for (std::uint64_t k = 0; k < burst; ++k) {
      weft::result<std::uint64_t> r = rx.try_recv();
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(burst));
}
BENCHMARK(BM_Bounded_Burst)->Arg(64)->Arg(1024);

/// One iteration = one round trip: send on `a`, receive the echo on `b`. A partner thread echoes.
void ping_pong(benchmark::State& state, std::size_t capacity) {
  const bool spin = state.range(0) != 0;
  const auto strategy = spin ? weft::wait_strategy::spin : weft::wait_strategy::adaptive;
  auto a = weft::make_chan<std::uint64_t>(capacity);
  auto b = weft::make_chan<std::uint64_t>(capacity);
  std::thread partner([&, strategy] {
    weft::this_thread::set_wait_strategy(strategy);
    for (;;) {
      weft::result<std::uint64_t> r = a.rx.recv();
      if (!r) break;  // closed: the benchmark is over
      if (b.tx.send(*r + 1) != weft::status::ok) break;
    }
  });
  weft::this_thread::set_wait_strategy(strategy);
  std::uint64_t i = 0;
  for (auto _ : state) {
    if (a.tx.send(std::uint64_t{++i}) != weft::status::ok) state.SkipWithError("send failed");
    weft::result<std::uint64_t> r = b.rx.recv();
    if (!r || *r != i + 1) state.SkipWithError("wrong echo");
    benchmark::DoNotOptimize(r);
  }
  a.tx.close();
  partner.join();
  weft::this_thread::set_wait_strategy(weft::wait_strategy::adaptive);
  state.SetItemsProcessed(state.iterations());
}

void BM_Bounded_PingPong(benchmark::State& state) { ping_pong(state, 1); }
BENCHMARK(BM_Bounded_PingPong)->ArgName("spin")->Arg(0)->Arg(1)->UseRealTime();

void BM_Rendezvous_PingPong(benchmark::State& state) { ping_pong(state, 0); }
BENCHMARK(BM_Rendezvous_PingPong)->ArgName("spin")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

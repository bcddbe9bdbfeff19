// The channel operation families chan_bench.cpp does not cover, each on its fast path (one
// thread, never blocking):
//   BM_Chan_Make/<kind>              make_chan / make_unbounded_chan and destroy (0: unbuffered,
//                                    1: bounded cap 1024, 2: unbounded)
//   BM_Bounded_TryRecvEmpty          try_recv on an empty channel (-> empty)
//   BM_Bounded_TrySendFull           try_send on a full cap-1 channel (-> full, value kept)
//   BM_Rendezvous_TrySendNoReceiver  try_send on an unbuffered channel nobody waits on (-> full)
//   BM_Rendezvous_TryRecvNoSender    try_recv on an unbuffered channel nobody sends on (-> empty)
//   BM_Bounded_SendForRecvFor        send_for(1s) + recv_for(1s) that complete at once
//   BM_Bounded_SendUntilRecvUntil    send_until + recv_until that complete at once
//   BM_Bounded_SendRecvContext       send(v, ctx) + recv(ctx) with a live cancellable context
//   BM_Bounded_SendConstRef          send(const T&) + recv with T = std::string (a copy per send)
//   BM_Bounded_RangeForDrain/64      64 sends, close, then `for (auto v : rx)` drains them
//                                    (includes making the channel; items = values)
//   BM_Chan_Queries                  is_closed() + size() + capacity() on both handles
//   BM_Sender_Copy                   copy and destroy a sender (a live-sender count both ways)
//   BM_Chan_CloseRecvClosed          make, close, recv -> closed (the closed-and-drained path)
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace {

using namespace std::chrono_literals;

void BM_Chan_Make(benchmark::State& state) {
  const auto kind = state.range(0);
  for (auto _ : state) {
    if (kind == 0) {
      auto ch = weft::make_chan<std::uint64_t>(0);
      benchmark::DoNotOptimize(ch);
    } else if (kind == 1) {
      auto ch = weft::make_chan<std::uint64_t>(1024);
      benchmark::DoNotOptimize(ch);
    } else {
      auto ch = weft::make_unbounded_chan<std::uint64_t>();
      benchmark::DoNotOptimize(ch);
    }
  }
}
BENCHMARK(BM_Chan_Make)->ArgName("kind")->Arg(0)->Arg(1)->Arg(2);

void BM_Bounded_TryRecvEmpty(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  for (auto _ : state) {
    weft::result<std::uint64_t> r = ch.rx.try_recv();
    if (r.code() != weft::status::empty) state.SkipWithError("try_recv on an empty channel was not empty");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Bounded_TryRecvEmpty);

void BM_Bounded_TrySendFull(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1);
  (void)ch.tx.try_send(std::uint64_t{1});
  for (auto _ : state) {
    weft::status s = ch.tx.try_send(std::uint64_t{2});
    if (s != weft::status::full) state.SkipWithError("try_send on a full channel was not full");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Bounded_TrySendFull);

void BM_Rendezvous_TrySendNoReceiver(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(0);
  for (auto _ : state) {
    weft::status s = ch.tx.try_send(std::uint64_t{1});
    if (s != weft::status::full) state.SkipWithError("try_send without a receiver was not full");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Rendezvous_TrySendNoReceiver);

void BM_Rendezvous_TryRecvNoSender(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(0);
  for (auto _ : state) {
    weft::result<std::uint64_t> r = ch.rx.try_recv();
    if (r.code() != weft::status::empty) state.SkipWithError("try_recv without a sender was not empty");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Rendezvous_TryRecvNoSender);

void BM_Bounded_SendForRecvFor(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  std::uint64_t i = 0;
  for (auto _ : state) {
    weft::status s = ch.tx.send_for(std::uint64_t{++i}, 1s);
    benchmark::DoNotOptimize(s);
    weft::result<std::uint64_t> r = ch.rx.recv_for(1s);
    if (!r || *r != i) state.SkipWithError("recv_for did not return the value sent");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bounded_SendForRecvFor);

void BM_Bounded_SendUntilRecvUntil(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  const auto far = std::chrono::steady_clock::now() + 1h;
  std::uint64_t i = 0;
  for (auto _ : state) {
    weft::status s = ch.tx.send_until(std::uint64_t{++i}, far);
    benchmark::DoNotOptimize(s);
    weft::result<std::uint64_t> r = ch.rx.recv_until(far);
    if (!r || *r != i) state.SkipWithError("recv_until did not return the value sent");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bounded_SendUntilRecvUntil);

void BM_Bounded_SendRecvContext(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  std::uint64_t i = 0;
  for (auto _ : state) {
    weft::status s = ch.tx.send(std::uint64_t{++i}, ctx);
    benchmark::DoNotOptimize(s);
    weft::result<std::uint64_t> r = ch.rx.recv(ctx);
    if (!r || *r != i) state.SkipWithError("recv(ctx) did not return the value sent");
    benchmark::DoNotOptimize(r);
  }
  cancel();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bounded_SendRecvContext);

void BM_Bounded_SendConstRef(benchmark::State& state) {
  auto ch = weft::make_chan<std::string>(1024);
  const std::string payload(48, 'x');  // beyond the small-string buffer: a real copy
  for (auto _ : state) {
    weft::status s = ch.tx.send(payload);
    benchmark::DoNotOptimize(s);
    weft::result<std::string> r = ch.rx.recv();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bounded_SendConstRef);

void BM_Bounded_RangeForDrain(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    auto ch = weft::make_chan<std::uint64_t>(n);
    for (std::uint64_t i = 0; i < n; ++i) (void)ch.tx.try_send(std::uint64_t{i});
    ch.tx.close();
    std::uint64_t sum = 0;
    for (std::uint64_t v : ch.rx) sum += v;
    if (sum != n * (n - 1) / 2) state.SkipWithError("range-for lost values");
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_Bounded_RangeForDrain)->Arg(64);

void BM_Chan_Queries(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  (void)ch.tx.try_send(std::uint64_t{1});
  for (auto _ : state) {
    bool c = ch.tx.is_closed() || ch.rx.is_closed();
    std::size_t n = ch.tx.size() + ch.rx.size() + ch.tx.capacity() + ch.rx.capacity();
    benchmark::DoNotOptimize(c);
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_Chan_Queries);

void BM_Sender_Copy(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  for (auto _ : state) {
    weft::sender<std::uint64_t> copy = ch.tx;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_Sender_Copy);

void BM_Chan_CloseRecvClosed(benchmark::State& state) {
  for (auto _ : state) {
    auto ch = weft::make_chan<std::uint64_t>(1);
    ch.tx.close();
    weft::result<std::uint64_t> r = ch.rx.recv();
    if (r.code() != weft::status::closed) state.SkipWithError("recv on a closed, empty channel was not closed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Chan_CloseRecvClosed);

}  // namespace

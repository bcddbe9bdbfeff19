// select / selector case kinds that select_bench.cpp does not cover, each on its fast path (a
// case ready at once; one thread):
//   BM_Select_SendReady          on_send to a channel with room + on_recv on an empty one; the
//                                value is taken back with try_recv (included)
//   BM_Select_RecvWithTimeout    a ready on_recv + on_timeout(1s): what a timeout case costs
//                                when it does not fire
//   BM_Select_RecvWithDeadline   a ready on_recv + on_deadline(now + 1h)
//   BM_Select_RecvWithDone       a ready on_recv + on_done(live cancellable context)
//   BM_Select_FutureReady        on_recv(future) of a one-shot already set (make_oneshot +
//                                set_value included)
//   BM_Select_TimeoutZero        an empty on_recv + on_timeout(0): the timeout fires at once
//   BM_Select_DoneCancelled      an empty on_recv + on_done(a cancelled context)
//   BM_Selector_BuildWait        a selector built with 4 on_recv + on_timeout, one wait()
//   BM_Selector_SendOnce         a selector with one on_send, one wait() (a fired send case is
//                                spent, so the selector is rebuilt each time)
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>

namespace {

using namespace std::chrono_literals;

void BM_Select_SendReady(benchmark::State& state) {
  auto out = weft::make_chan<std::uint64_t>(1024);
  auto in = weft::make_chan<std::uint64_t>(1024);
  std::uint64_t sent = 0;
  for (auto _ : state) {
    const std::size_t i = weft::select(
        weft::on_send(out.tx, std::uint64_t{7}, [&](weft::status s) { sent += s == weft::status::ok; }),
        weft::on_recv(in.rx, [](weft::result<std::uint64_t>&&) {}));
    benchmark::DoNotOptimize(i);
    weft::result<std::uint64_t> r = out.rx.try_recv();
    benchmark::DoNotOptimize(r);
  }
  if (sent != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("a send case did not fire");
}
BENCHMARK(BM_Select_SendReady);

/// A cap-1024 channel holding one value; the fired receive is refilled after each select.
struct ready_one {
  weft::chan<std::uint64_t> ch = weft::make_chan<std::uint64_t>(1024);
  ready_one() { (void)ch.tx.try_send(std::uint64_t{1}); }
  void refill() { (void)ch.tx.try_send(std::uint64_t{1}); }
};

void BM_Select_RecvWithTimeout(benchmark::State& state) {
  ready_one r;
  std::uint64_t got = 0;
  for (auto _ : state) {
    const std::size_t i = weft::select(weft::on_recv(r.ch.rx, [&](weft::result<std::uint64_t>&& v) { got += v ? 1 : 0; }),
                                       weft::on_timeout(1s, [] {}));
    benchmark::DoNotOptimize(i);
    r.refill();
  }
  if (got != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("the ready receive did not fire");
}
BENCHMARK(BM_Select_RecvWithTimeout);

void BM_Select_RecvWithDeadline(benchmark::State& state) {
  ready_one r;
  const auto far = std::chrono::steady_clock::now() + 1h;
  std::uint64_t got = 0;
  for (auto _ : state) {
    const std::size_t i = weft::select(weft::on_recv(r.ch.rx, [&](weft::result<std::uint64_t>&& v) { got += v ? 1 : 0; }),
                                       weft::on_deadline(far, [] {}));
    benchmark::DoNotOptimize(i);
    r.refill();
  }
  if (got != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("the ready receive did not fire");
}
BENCHMARK(BM_Select_RecvWithDeadline);

void BM_Select_RecvWithDone(benchmark::State& state) {
  ready_one r;
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  std::uint64_t got = 0;
  for (auto _ : state) {
    const std::size_t i = weft::select(weft::on_recv(r.ch.rx, [&](weft::result<std::uint64_t>&& v) { got += v ? 1 : 0; }),
                                       weft::on_done(ctx, [] {}));
    benchmark::DoNotOptimize(i);
    r.refill();
  }
  cancel();
  if (got != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("the ready receive did not fire");
}
BENCHMARK(BM_Select_RecvWithDone);

void BM_Select_FutureReady(benchmark::State& state) {
  std::uint64_t got = 0;
  for (auto _ : state) {
    auto [p, f] = weft::make_oneshot<std::uint64_t>();
    p.set_value(5);
    const std::size_t i = weft::select(weft::on_recv(f, [&](weft::result<std::uint64_t>&& v) { got += v ? *v : 0; }));
    benchmark::DoNotOptimize(i);
  }
  if (got != 5 * static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("the future case did not deliver");
}
BENCHMARK(BM_Select_FutureReady);

void BM_Select_TimeoutZero(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  std::uint64_t timeouts = 0;
  for (auto _ : state) {
    const std::size_t i = weft::select(weft::on_recv(ch.rx, [](weft::result<std::uint64_t>&&) {}),
                                       weft::on_timeout(0ns, [&] { ++timeouts; }));
    benchmark::DoNotOptimize(i);
  }
  if (timeouts != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("on_timeout(0) did not fire");
}
BENCHMARK(BM_Select_TimeoutZero);

void BM_Select_DoneCancelled(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  cancel();
  std::uint64_t done = 0;
  for (auto _ : state) {
    const std::size_t i = weft::select(weft::on_recv(ch.rx, [](weft::result<std::uint64_t>&&) {}),
                                       weft::on_done(ctx, [&] { ++done; }));
    benchmark::DoNotOptimize(i);
  }
  if (done != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("on_done of a cancelled context did not fire");
}
BENCHMARK(BM_Select_DoneCancelled);

void BM_Selector_BuildWait(benchmark::State& state) {
  std::array<weft::chan<std::uint64_t>, 4> ch{weft::make_chan<std::uint64_t>(1024), weft::make_chan<std::uint64_t>(1024),
                                              weft::make_chan<std::uint64_t>(1024), weft::make_chan<std::uint64_t>(1024)};
  (void)ch[2].tx.try_send(std::uint64_t{1});
  std::uint64_t got = 0;
  for (auto _ : state) {
    weft::selector sel;
    for (auto& c : ch) sel.on_recv(c.rx, [&](weft::result<std::uint64_t>&& v) { got += v ? 1 : 0; });
    sel.on_timeout(1s, [] {});
    const std::size_t i = sel.wait();
    benchmark::DoNotOptimize(i);
    (void)ch[2].tx.try_send(std::uint64_t{1});
  }
  if (got != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("the ready receive did not fire");
}
BENCHMARK(BM_Selector_BuildWait);

void BM_Selector_SendOnce(benchmark::State& state) {
  auto ch = weft::make_chan<std::uint64_t>(1024);
  std::uint64_t sent = 0;
  for (auto _ : state) {
    weft::selector sel;
    sel.on_send(ch.tx, std::uint64_t{3}, [&](weft::status s) { sent += s == weft::status::ok; });
    const std::size_t i = sel.wait();
    benchmark::DoNotOptimize(i);
    (void)ch.rx.try_recv();
  }
  if (sent != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("the send case did not fire");
}
BENCHMARK(BM_Selector_SendOnce);

}  // namespace

// select / selector fast paths, one thread:
//   BM_Select_FourReady       select over 4 on_recv cases, all ready; the fired channel is
//                             refilled with one try_send (included in the figure)
//   BM_Select_NoneReady       4 empty channels + otherwise(): the non-blocking poll
//   BM_Selector_Wait          the same as FourReady through a selector built once, wait() per
//                             iteration
#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>

namespace {

using chan_t = weft::chan<std::uint64_t>;

std::array<chan_t, 4> ready_channels() {
  std::array<chan_t, 4> ch{weft::make_chan<std::uint64_t>(1024), weft::make_chan<std::uint64_t>(1024),
                           weft::make_chan<std::uint64_t>(1024), weft::make_chan<std::uint64_t>(1024)};
  for (auto& c : ch) (void)c.tx.try_send(std::uint64_t{1});
  return ch;
}

void BM_Select_FourReady(benchmark::State& state) {
  auto ch = ready_channels();
  std::uint64_t sum = 0;
  auto f = [&](weft::result<std::uint64_t>&& r) { sum += r ? *r : 0; };
  for (auto _ : state) {
    const std::size_t i = weft::select(weft::on_recv(ch[0].rx, f), weft::on_recv(ch[1].rx, f),
                                       weft::on_recv(ch[2].rx, f), weft::on_recv(ch[3].rx, f));
    benchmark::DoNotOptimize(i);
    (void)ch[i].tx.try_send(std::uint64_t{1});
  }
  benchmark::DoNotOptimize(sum);
  if (sum != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("lost a value");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Select_FourReady);

void BM_Select_NoneReady(benchmark::State& state) {
  std::array<chan_t, 4> ch{weft::make_chan<std::uint64_t>(1024), weft::make_chan<std::uint64_t>(1024),
                           weft::make_chan<std::uint64_t>(1024), weft::make_chan<std::uint64_t>(1024)};
  std::uint64_t fired = 0;
  auto f = [&](weft::result<std::uint64_t>&&) { ++fired; };
  for (auto _ : state) {
    const std::size_t i =
        weft::select(weft::on_recv(ch[0].rx, f), weft::on_recv(ch[1].rx, f), weft::on_recv(ch[2].rx, f),
                     weft::on_recv(ch[3].rx, f), weft::otherwise([] {}));
    benchmark::DoNotOptimize(i);
  }
  if (fired != 0) state.SkipWithError("a receive fired on an empty channel");
}
BENCHMARK(BM_Select_NoneReady);

void BM_Selector_Wait(benchmark::State& state) {
  auto ch = ready_channels();
  std::uint64_t sum = 0;
  weft::selector sel;
  for (auto& c : ch) sel.on_recv(c.rx, [&](weft::result<std::uint64_t>&& r) { sum += r ? *r : 0; });
  for (auto _ : state) {
    const std::size_t i = sel.wait();
    benchmark::DoNotOptimize(i);
    (void)ch[i].tx.try_send(std::uint64_t{1});
  }
  benchmark::DoNotOptimize(sum);
  if (sum != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("lost a value");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Selector_Wait);

}  // namespace

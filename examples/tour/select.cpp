// Tour 2 — select: wait on several channels at once, with a timeout.
//
// select(cases...) blocks until one case can fire, runs its function, and returns its index.
// Cases: on_recv(rx, f), on_send(tx, v, f), on_timeout(d, f), on_deadline(t, f),
// on_done(ctx, f), otherwise(f) (fires when nothing is ready at once: a non-blocking select).
// Exactly one case fires; when several are ready, one is picked at random (no starvation).
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}
}  // namespace

int main() {
  using namespace std::chrono_literals;
  auto [prices_tx, prices_rx] = weft::make_chan<int>(8);
  auto [news_tx, news_rx] = weft::make_chan<std::string>(1);

  // 1. Whichever arrives first. The 10 s timeout is only a guard against a hang.
  std::thread reporter([tx = std::move(news_tx)]() mutable { tx.send("halt trading"); });
  std::string headline;
  std::size_t fired = weft::select(
      weft::on_recv(prices_rx, [](weft::result<int>&&) {}),
      weft::on_recv(news_rx, [&](weft::result<std::string>&& n) { if (n) headline = *n; }),
      weft::on_timeout(10s, [] {}));
  reporter.join();
  check(fired == 1 && headline == "halt trading", "the news case fired with its value");

  // 2. Nothing arrives: the timeout case fires, no sooner than asked.
  bool timed_out = false;
  const auto t0 = std::chrono::steady_clock::now();
  fired = weft::select(weft::on_recv(prices_rx, [](weft::result<int>&&) {}),
                       weft::on_timeout(20ms, [&] { timed_out = true; }));
  check(fired == 1 && timed_out && std::chrono::steady_clock::now() - t0 >= 20ms, "timeout after 20 ms");

  // 3. Non-blocking: otherwise() fires when no case is ready at once. A send case that did not
  //    fire did not send.
  weft::chan<int> slot = weft::make_chan<int>(1);
  slot.tx.send(1);  // now full
  fired = weft::select(weft::on_send(slot.tx, 2, [](weft::status) {}), weft::otherwise([] {}));
  check(fired == 1 && slot.rx.size() == 1, "channel full: otherwise() fired and nothing was sent");

  // 4. Both ready: a fair coin. Over 200 rounds each side wins sometimes.
  int price_wins = 0, slot_wins = 0;
  for (int i = 0; i < 200; ++i) {
    prices_tx.try_send(i);
    weft::select(weft::on_recv(prices_rx, [&](weft::result<int>&&) { ++price_wins; }),
                 weft::on_recv(slot.rx, [&](weft::result<int>&& v) {
                   ++slot_wins;
                   slot.tx.try_send(std::move(*v));  // put it back for the next round
                 }));
    while (prices_rx.try_recv()) {
    }
  }
  check(price_wins > 0 && slot_wins > 0 && price_wins + slot_wins == 200, "random choice among ready cases");

  return failures == 0 ? 0 : 1;
}

// Quick start: a producer thread sends 1..100 over a bounded channel and closes it (the sender
// side closes); the consumer drains it with range-for (the receiver side drains), then a select
// shows a receive that gives up after a timeout. The tour (examples/tour/, one program per API
// area: channels, select, context, spawn, group, resilience, actors) continues from here.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

int main() {
  auto [tx, rx] = weft::make_chan<int>(16);  // bounded: send blocks while 16 values wait
  std::thread producer([tx = std::move(tx)]() mutable {
    for (int i = 1; i <= 100; ++i)
      if (tx.send(i) != weft::status::ok) break;  // `closed` only if every receiver is gone
    tx.close();  // receivers still get every buffered value, then `closed`
  });

  long sum = 0;
  for (int v : rx) sum += v;  // ends when the channel is closed and drained
  producer.join();

  auto [idle_tx, idle_rx] = weft::make_chan<int>(1);  // nobody sends on this one
  bool timed_out = false;
  weft::select(
      weft::on_recv(idle_rx, [](weft::result<int>&&) {}),
      weft::on_timeout(std::chrono::milliseconds(10), [&] { timed_out = true; }));

  std::printf("sum = %ld, timed out = %s\n", sum, timed_out ? "yes" : "no");
  return sum == 5050 && timed_out ? 0 : 1;
}

// Tour 1 — channels: send, receive, close and drain.
//
// A channel has a sender side and a receiver side. Bounded channels (make_chan<T>(n)) make the
// sender wait while n values are queued; make_chan<T>(0) is unbuffered (each send meets a
// receive); make_unbounded_chan<T>() never makes the sender wait. Ownership rule: the sender side
// closes, the receiver side drains. Nothing is lost: a send that fails leaves your value with you.
#include <weft/weft.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}
}  // namespace

int main() {
  // 1. A producer thread and a consumer: range-for receives until the channel is closed AND
  //    every buffered value was taken.
  auto [tx, rx] = weft::make_chan<std::string>(4);  // bounded: send waits while 4 are queued
  std::thread producer([tx = std::move(tx)]() mutable {
    for (int i = 1; i <= 10; ++i) tx.send("order " + std::to_string(i));
    tx.close();  // no more values; the receiver still gets the queued ones
  });
  std::vector<std::string> got;
  for (std::string s : rx) got.push_back(std::move(s));
  producer.join();
  check(got.size() == 10 && got.front() == "order 1" && got.back() == "order 10",
        "range-for got all 10 values, in order, then ended");

  // 2. After close(): sends fail with `closed` and leave the value with the caller (here a
  //    move-only unique_ptr that still owns its int); receives drain what is left, then `closed`.
  auto [tx2, rx2] = weft::make_chan<std::unique_ptr<int>>(2);
  tx2.send(std::make_unique<int>(1));
  tx2.close();
  auto mine = std::make_unique<int>(2);
  const weft::status st = tx2.send(std::move(mine));
  check(st == weft::status::closed && mine != nullptr && *mine == 2, "send after close: closed, value not lost");
  weft::result<std::unique_ptr<int>> first = rx2.recv();
  weft::result<std::unique_ptr<int>> second = rx2.recv();
  check(first && **first == 1, "the value queued before close() is still delivered");
  check(second.code() == weft::status::closed, "then recv() returns closed");

  // 3. try_ forms never wait: `full` / `empty` instead.
  auto [tx3, rx3] = weft::make_chan<int>(1);
  check(tx3.try_send(1) == weft::status::ok && tx3.try_send(2) == weft::status::full, "try_send: ok, then full");
  check(rx3.try_recv().value() == 1 && rx3.try_recv().code() == weft::status::empty, "try_recv: 1, then empty");

  // 4. When every receiver is gone, sends return `closed` instead of waiting forever.
  weft::sender<int> orphan = [] {
    weft::chan<int> c = weft::make_chan<int>(1);
    return c.tx;  // c.rx, the only receiver, is destroyed here
  }();
  check(orphan.is_closed(), "no receiver left: the sender sees the channel closed");
  check(orphan.send(1) == weft::status::closed, "a send nobody could ever read: closed, not a hang");

  return failures == 0 ? 0 : 1;
}

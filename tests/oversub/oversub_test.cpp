// Oversubscription (issue 7 item 5): 8-16 OS threads, or tasks on 8-16 workers, on a 2-core
// machine (the CI VM; stage stress1core pins the whole process to one core). Spinning waiters
// that never yield, or a wake-up that relies on the partner running "soon", show up here as hangs
// (caught by the hang deadline) or as lost/duplicated values (exact multiset check).
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "support/scale.hpp"
#include "support/tracked.hpp"

namespace {

using weft::status;

enum class flavor { unbuffered, bounded1, bounded16, unbounded };

weft::chan<int> make(flavor f) {
  switch (f) {
    case flavor::unbuffered: return weft::make_chan<int>(0);
    case flavor::bounded1: return weft::make_chan<int>(1);
    case flavor::bounded16: return weft::make_chan<int>(16);
    case flavor::unbounded: return weft::make_unbounded_chan<int>();
  }
  return weft::make_chan<int>(1);
}

class Oversub : public ::testing::TestWithParam<flavor> {};
INSTANTIATE_TEST_SUITE_P(Flavors, Oversub,
                         ::testing::Values(flavor::unbuffered, flavor::bounded1, flavor::bounded16, flavor::unbounded),
                         [](const auto& i) {
                           switch (i.param) {
                             case flavor::unbuffered: return "Unbuffered";
                             case flavor::bounded1: return "Bounded1";
                             case flavor::bounded16: return "Bounded16";
                             case flavor::unbounded: return "Unbounded";
                           }
                           return "Unknown";
                         });

// 8 producer and 8 consumer threads on 2 cores: every value exactly once.
TEST_P(Oversub, SixteenThreadsOnTwoCoresDeliverEveryValueOnce) {
  constexpr int producers = 8, consumers = 8;
  const int per = static_cast<int>(weft::test::scale(4000));
  auto c = make(GetParam());
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(producers * per));
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p) {
    ts.emplace_back([tx = c.tx, p, per]() mutable {
      for (int i = 0; i < per; ++i) ASSERT_EQ(tx.send(p * per + i), status::ok);
    });
  }
  for (int k = 0; k < consumers; ++k) {
    ts.emplace_back([rx = c.rx, &seen]() mutable {
      // relaxed: a per-value counter; the joins below order the final reads.
      for (int v : rx) seen[static_cast<std::size_t>(v)].fetch_add(1, std::memory_order_relaxed);
    });
  }
  { auto drop = std::move(c.tx); }  // the producers' copies keep it open until they finish
  for (auto& t : ts) t.join();
  for (std::size_t i = 0; i < seen.size(); ++i)
    ASSERT_EQ(seen[i].load(std::memory_order_relaxed), 1) << "value " << i;  // relaxed: after join
}

// 12 threads each selecting over two channels (send on one, receive on the other) in a ring:
// select's register/unregister under heavy preemption. Every token is passed exactly `rounds`
// times in total and the ring ends cleanly.
TEST(OversubSelect, TwelveSelectingThreadsOnTwoCoresPassEveryToken) {
  constexpr int n = 12;
  const int rounds = static_cast<int>(weft::test::scale(2000));
  std::vector<weft::chan<int>> ring;
  for (int i = 0; i < n; ++i) ring.push_back(weft::make_chan<int>(1));
  std::atomic<long> passes{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i) {
    ts.emplace_back([&, i] {
      auto& in = ring[static_cast<std::size_t>(i)].rx;
      auto& out = ring[static_cast<std::size_t>((i + 1) % n)].tx;
      for (int r = 0; r < rounds; ++r) {
        auto got = in.recv();
        ASSERT_TRUE(static_cast<bool>(got));
        bool sent = false;
        while (!sent) {
          weft::select(weft::on_send(out, int{*got}, [&](status st) {
                         ASSERT_EQ(st, status::ok);
                         sent = true;
                       }),
                       weft::on_timeout(std::chrono::seconds(30), [] { FAIL() << "token stuck"; }));
        }
        // relaxed: a counter read after the joins.
        passes.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  // Two tokens circulate (never more than a channel of capacity 1 can hold at once per hop).
  ASSERT_EQ(ring[0].tx.send(1), status::ok);
  ASSERT_EQ(ring[static_cast<std::size_t>(n / 2)].tx.send(2), status::ok);
  for (auto& t : ts) t.join();
  EXPECT_EQ(passes.load(std::memory_order_relaxed), static_cast<long>(n) * rounds);  // relaxed: after join
  // Both tokens are back in the ring, each exactly once.
  int left = 0, sum = 0;
  for (auto& ch : ring) {
    while (auto v = ch.rx.try_recv()) {
      ++left;
      sum += *v;
    }
  }
  EXPECT_EQ(left, 2);
  EXPECT_EQ(sum, 3);
}

// Tasks on 16 workers (8x the cores): a fan-in through one bounded channel.
TEST(OversubTasks, SixteenWorkersOnTwoCoresFanIn) {
  weft::runtime rt(weft::runtime_options{.workers = 16});
  const int tasks = 64, per = static_cast<int>(weft::test::scale(500));
  auto c = weft::make_chan<int>(4);
  std::vector<weft::future<void>> fs;
  for (int t = 0; t < tasks; ++t) {
    fs.push_back(weft::spawn(rt, [tx = c.tx, t, per]() mutable {
      for (int i = 0; i < per; ++i) (void)tx.send(t * per + i);
    }));
  }
  { auto drop = std::move(c.tx); }
  long count = 0, sum = 0;
  for (int v : c.rx) {
    ++count;
    sum += v;
  }
  for (auto& f : fs) EXPECT_TRUE(static_cast<bool>(f.get()));
  const long total = static_cast<long>(tasks) * per;
  EXPECT_EQ(count, total);
  EXPECT_EQ(sum, total * (total - 1) / 2);
}

}  // namespace

// Linearizability: many short concurrent histories (3 threads x 4 operations, random mix of
// try_send / try_recv / send_for / recv_for on a pre-filled channel) recorded with global
// tickets and checked against a sequential FIFO queue with the channel's capacity.
// Unbuffered channels have no queue: there each send must overlap in time the receive that
// took its value, and a value goes to one receiver only.
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "stress/lin_checker.hpp"
#include "support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::fifo_lin_checker;
using weft::test::lin_op;

TEST(LinChecker, AcceptsALegalHistoryAndRejectsAFifoViolation) {
  using K = lin_op::kind;
  // t0 sends 1 then 2; t1 receives 1 then 2: legal.
  std::vector<lin_op> good = {{K::send, true, 1, 0, 1, 0}, {K::send, true, 2, 2, 3, 0},
                              {K::recv, true, 1, 4, 5, 1}, {K::recv, true, 2, 6, 7, 1}};
  EXPECT_TRUE(fifo_lin_checker(good, 4).check());
  // Same, but 2 is received first although both sends finished before: illegal.
  std::vector<lin_op> bad = {{K::send, true, 1, 0, 1, 0}, {K::send, true, 2, 2, 3, 0},
                             {K::recv, true, 2, 4, 5, 1}, {K::recv, true, 1, 6, 7, 1}};
  EXPECT_FALSE(fifo_lin_checker(bad, 4).check());
  // Overlapping sends may be ordered either way.
  std::vector<lin_op> overlap = {{K::send, true, 1, 0, 3, 0}, {K::send, true, 2, 1, 2, 1},
                                 {K::recv, true, 2, 4, 5, 2}, {K::recv, true, 1, 6, 7, 2}};
  EXPECT_TRUE(fifo_lin_checker(overlap, 4).check());
  // A try_send that failed "full" on an empty capacity-1 queue: illegal.
  std::vector<lin_op> bogus_full = {{K::send, false, 1, 0, 1, 0}};
  EXPECT_FALSE(fifo_lin_checker(bogus_full, 1).check());
  // An "empty" receive after a completed send that nobody took: illegal.
  std::vector<lin_op> lost = {{K::send, true, 1, 0, 1, 0}, {K::recv, false, 0, 2, 3, 1}};
  EXPECT_FALSE(fifo_lin_checker(lost, 1).check());
}

struct flavor_case {
  const char* name;
  std::size_t capacity;  // SIZE_MAX: unbounded
};

class Linearizability : public ::testing::TestWithParam<flavor_case> {};

INSTANTIATE_TEST_SUITE_P(Flavors, Linearizability,
                         ::testing::Values(flavor_case{"Bounded1", 1}, flavor_case{"Bounded2", 2},
                                           flavor_case{"Bounded3", 3}, flavor_case{"Unbounded", SIZE_MAX}),
                         [](const ::testing::TestParamInfo<flavor_case>& i) { return std::string(i.param.name); });

TEST_P(Linearizability, ShortHistoriesAreLinearizableFifo) {
  constexpr int threads = 3, ops_per_thread = 4;
  const std::size_t cap = GetParam().capacity;
  const int iterations = static_cast<int>(weft::test::scale(3000));
  std::atomic<std::uint64_t> clock{0};
  std::shared_ptr<weft::chan<int>> ch;
  std::vector<std::vector<lin_op>> per_thread(threads);
  std::atomic<bool> stop{false};
  std::barrier sync(threads + 1);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937 rng(static_cast<std::uint32_t>(t) * 1000003u + 7u);
      for (;;) {
        sync.arrive_and_wait();  // start of an iteration (or stop)
        if (stop.load()) return;
        auto& log = per_thread[static_cast<std::size_t>(t)];
        log.clear();
        for (int k = 0; k < ops_per_thread; ++k) {
          lin_op o{};
          o.thread = t;
          const auto what = rng() % 4;
          o.k = (what < 2) ? lin_op::kind::send : lin_op::kind::recv;
          o.value = 1000 * (t + 1) + k;
          o.inv = clock.fetch_add(1, std::memory_order_seq_cst);
          if (what == 0) {
            const status st = ch->tx.try_send(o.value);
            o.ok = st == status::ok;
            EXPECT_TRUE(st == status::ok || st == status::full) << st;
          } else if (what == 1) {
            const status st = ch->tx.send_for(o.value, 50us);
            o.ok = st == status::ok;
            EXPECT_TRUE(st == status::ok || st == status::timeout) << st;
          } else {
            auto r = (what == 2) ? ch->rx.try_recv() : ch->rx.recv_for(50us);
            o.ok = static_cast<bool>(r);
            if (r) o.value = *r;
            else { EXPECT_TRUE(r.code() == status::empty || r.code() == status::timeout) << r.code(); }
          }
          o.res = clock.fetch_add(1, std::memory_order_seq_cst);
          log.push_back(o);
        }
        sync.arrive_and_wait();  // end of the iteration
      }
    });
  }
  std::mt19937 rng(12345);
  int failures = 0;
  for (int it = 0; it < iterations && failures == 0; ++it) {
    ch = std::make_shared<weft::chan<int>>(cap == SIZE_MAX ? weft::make_unbounded_chan<int>()
                                                           : weft::make_chan<int>(cap));
    std::vector<lin_op> history;
    const std::size_t prefill = rng() % (std::min<std::size_t>(cap, 3) + 1);
    for (std::size_t i = 0; i < prefill; ++i) {
      lin_op o{lin_op::kind::send, true, static_cast<int>(i), 0, 0, -1};
      o.inv = clock.fetch_add(1);
      EXPECT_EQ(ch->tx.try_send(o.value), status::ok);
      o.res = clock.fetch_add(1);
      history.push_back(o);
    }
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    for (auto& log : per_thread) history.insert(history.end(), log.begin(), log.end());
    fifo_lin_checker checker(history, cap);
    if (!checker.check()) {
      ++failures;
      ADD_FAILURE() << "history " << it << " is not linearizable for a FIFO queue of capacity " << cap << ":\n"
                    << checker.describe();
    }
  }
  stop.store(true);
  sync.arrive_and_wait();
  for (auto& t : pool) t.join();
}

TEST(LinearizabilityUnbuffered, EachSendOverlapsTheReceiveThatTookItsValue) {
  constexpr int senders = 2, receivers = 2, per = 3;
  const int iterations = static_cast<int>(weft::test::scale(1500));
  std::atomic<std::uint64_t> clock{0};
  for (int it = 0; it < iterations; ++it) {
    auto ch = weft::make_chan<int>(0);
    struct rec {
      int value;
      std::uint64_t inv, res;
    };
    std::vector<std::vector<rec>> sends(senders), recvs(receivers);
    std::vector<std::thread> pool;
    for (int s = 0; s < senders; ++s) {
      pool.emplace_back([&, s] {
        for (int k = 0; k < per; ++k) {
          const int v = 100 * s + k;
          const std::uint64_t inv = clock.fetch_add(1);
          EXPECT_EQ(ch.tx.send(v), status::ok);
          sends[static_cast<std::size_t>(s)].push_back({v, inv, clock.fetch_add(1)});
        }
      });
    }
    for (int r = 0; r < receivers; ++r) {
      pool.emplace_back([&, r] {
        for (int k = 0; k < per; ++k) {
          const std::uint64_t inv = clock.fetch_add(1);
          auto v = ch.rx.recv();
          const std::uint64_t res = clock.fetch_add(1);
          ASSERT_TRUE(v);
          recvs[static_cast<std::size_t>(r)].push_back({*v, inv, res});
        }
      });
    }
    for (auto& t : pool) t.join();
    std::vector<rec> all_sends, all_recvs;
    for (auto& v : sends) all_sends.insert(all_sends.end(), v.begin(), v.end());
    for (auto& v : recvs) all_recvs.insert(all_recvs.end(), v.begin(), v.end());
    ASSERT_EQ(all_recvs.size(), all_sends.size());
    for (const auto& s : all_sends) {
      int matches = 0;
      for (const auto& r : all_recvs) {
        if (r.value != s.value) continue;
        ++matches;
        EXPECT_LT(r.inv, s.res) << "send of " << s.value << " returned before its receiver started";
        EXPECT_LT(s.inv, r.res) << "value " << s.value << " received before it was sent";
      }
      ASSERT_EQ(matches, 1) << "value " << s.value;
    }
  }
}

}  // namespace

// MPMC stress per flavor: several producers and consumers, every send/recv form mixed; the
// multiset received equals the multiset sent exactly (nothing lost, nothing twice) and each
// consumer sees each producer's values in the order sent. Plus causal FIFO: sends ordered by
// happens-before from different threads are received in that order.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::flavor;
using weft::test::leak_check;
using weft::test::tracked_move_only;

class MpmcStress : public ::testing::TestWithParam<weft::test::flavor_exec> {
 protected:
  flavor fl() const { return std::get<0>(GetParam()); }
  weft::test::exec ex() const { return std::get<1>(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(All, MpmcStress, weft::test::flavor_exec_values(), weft::test::flavor_exec_name);

constexpr int producer_shift = 24;

// Sends v with one of the send forms, retrying the non-blocking ones; returns the final status.
template <class T>
status send_some_way(weft::sender<T>& tx, T&& v, std::uint_fast32_t how, const weft::context& ctx) {
  switch (how % 5) {
    case 0: return tx.send(std::move(v));
    case 1: return tx.send(std::move(v), ctx);
    case 2:
      for (;;) {
        const status st = tx.send_for(std::move(v), 1ms);
        if (st != status::timeout) return st;
      }
    case 3:
      // Bounded retries, then block: on an unbuffered channel, producers spinning on try_send
      // and consumers spinning on try_recv would never meet.
      for (int attempt = 0; attempt < 64; ++attempt) {
        const status st = tx.try_send(std::move(v));
        if (st != status::full) return st;
        weft::test::relax();
      }
      return tx.send(std::move(v));
    default:
      for (;;) {
        const status st = tx.send_until(std::move(v), std::chrono::steady_clock::now() + 1ms);
        if (st != status::timeout) return st;
      }
  }
}

template <class T>
weft::result<T> recv_some_way(weft::receiver<T>& rx, std::uint_fast32_t how, const weft::context& ctx) {
  switch (how % 5) {
    case 0: return rx.recv();
    case 1: return rx.recv(ctx);
    case 2:
      for (;;) {
        auto r = rx.recv_for(1ms);
        if (r.code() != status::timeout) return r;
      }
    case 3:
      for (int attempt = 0; attempt < 64; ++attempt) {
        auto r = rx.try_recv();
        if (r.code() != status::empty) return r;
        weft::test::relax();
      }
      return rx.recv();
    default: {
      weft::result<T> out = status::closed;
      for (;;) {
        const std::size_t i = weft::select(weft::on_recv(rx, [&](weft::result<T>&& r) { out = std::move(r); }),
                                           weft::on_timeout(1ms, [] {}));
        if (i == 0) return out;
      }
    }
  }
}

TEST_P(MpmcStress, ExactMultisetAndPerProducerFifo) {
  constexpr int producers = 3, consumers = 3;
  const int per = static_cast<int>(weft::test::scale(10000));
  auto ch = weft::test::make<int>(fl());
  std::atomic<int> producers_left{producers};
  std::vector<std::vector<int>> got(consumers);
  const auto ctx = weft::background();
  weft::test::run_concurrently_n(ex(), producers + consumers, [&](std::size_t i) {
    std::mt19937 rng(static_cast<std::uint32_t>(i) * 7919u + 1u);
    if (i < producers) {
      auto tx = ch.tx;
      for (int k = 0; k < per; ++k) {
        int v = (static_cast<int>(i) << producer_shift) | k;
        ASSERT_EQ(send_some_way(tx, std::move(v), rng(), ctx), status::ok);
      }
      if (producers_left.fetch_sub(1) == 1) tx.close();
    } else {
      auto rx = ch.rx;
      auto& mine = got[i - producers];
      for (;;) {
        auto r = recv_some_way(rx, rng(), ctx);
        if (!r) {
          ASSERT_EQ(r.code(), status::closed);
          break;
        }
        mine.push_back(*r);
      }
    }
  });
  std::vector<int> all;
  for (auto& mine : got) {
    std::vector<int> last(producers, -1);
    for (int v : mine) {
      const int p = v >> producer_shift, seq = v & ((1 << producer_shift) - 1);
      ASSERT_GE(p, 0);
      ASSERT_LT(p, producers);
      ASSERT_GT(seq, last[static_cast<std::size_t>(p)]) << "producer " << p << "'s values out of order";
      last[static_cast<std::size_t>(p)] = seq;
    }
    all.insert(all.end(), mine.begin(), mine.end());
  }
  ASSERT_EQ(all.size(), static_cast<std::size_t>(producers * per)) << "values lost or duplicated";
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a value was delivered twice";
}

TEST_P(MpmcStress, TrackedValuesAreDestroyedExactlyOnce) {
  leak_check guard;
  {
    constexpr int producers = 2, consumers = 2;
    const int per = static_cast<int>(weft::test::scale(5000));
    auto ch = weft::test::make<tracked_move_only>(fl());
    std::atomic<int> producers_left{producers};
    std::atomic<long> sum{0};
    std::atomic<int> count{0};
    const auto ctx = weft::background();
    weft::test::run_concurrently_n(ex(), producers + consumers, [&](std::size_t i) {
      std::mt19937 rng(static_cast<std::uint32_t>(i) + 17u);
      if (i < producers) {
        auto tx = ch.tx;
        for (int k = 1; k <= per; ++k) ASSERT_EQ(send_some_way(tx, tracked_move_only(k), rng(), ctx), status::ok);
        if (producers_left.fetch_sub(1) == 1) tx.close();
      } else {
        auto rx = ch.rx;
        for (;;) {
          auto r = recv_some_way(rx, rng(), ctx);
          if (!r) break;
          sum.fetch_add(r->value());
          count.fetch_add(1);
        }
      }
    });
    EXPECT_EQ(count.load(), producers * per);
    EXPECT_EQ(sum.load(), static_cast<long>(producers) * per * (per + 1) / 2);
  }
}

TEST_P(MpmcStress, CausallyOrderedSendsFromDifferentThreadsArriveInOrder) {
  // Senders take turns through a baton: sender (k mod S) sends k, then passes the baton, so
  // send k happens-before send k+1 although they come from different threads.
  constexpr int senders = 3;
  const int n = static_cast<int>(weft::test::scale(6000));
  auto ch = weft::test::make<int>(fl());
  std::atomic<int> baton{0};
  weft::test::run_concurrently_n(ex(), senders + 1, [&](std::size_t i) {
    if (i < senders) {
      auto tx = ch.tx;
      for (int k = static_cast<int>(i); k < n; k += senders) {
        // acquire: pairs with the release below, so the previous send happened-before ours.
        while (baton.load(std::memory_order_acquire) != k) weft::test::relax();
        ASSERT_EQ(tx.send(k), status::ok);
        baton.store(k + 1, std::memory_order_release);
      }
    } else {
      auto rx = ch.rx;
      for (int k = 0; k < n; ++k) {
        auto r = rx.recv();
        ASSERT_TRUE(r);
        ASSERT_EQ(*r, k) << "causally ordered sends were received out of order";
      }
    }
  });
}

TEST_P(MpmcStress, CausalOrderHoldsAcrossSeveralReceivers) {
  // As above with two receivers: if send a happened-before send b, no receive of b may
  // complete before a receive of a starts (checked with a global ticket around each op).
  constexpr int senders = 2, receivers = 2;
  const int n = static_cast<int>(weft::test::scale(6000));
  auto ch = weft::test::make<int>(fl());
  std::atomic<int> baton{0};
  std::atomic<std::uint64_t> ticket{0};
  struct op {
    int value;
    std::uint64_t start, end;
  };
  std::vector<std::vector<op>> seen(receivers);
  std::atomic<int> remaining{n};
  weft::test::run_concurrently_n(ex(), senders + receivers, [&](std::size_t i) {
    if (i < senders) {
      auto tx = ch.tx;
      for (int k = static_cast<int>(i); k < n; k += senders) {
        while (baton.load(std::memory_order_acquire) != k) weft::test::relax();
        ASSERT_EQ(tx.send(k), status::ok);
        baton.store(k + 1, std::memory_order_release);
      }
    } else {
      auto rx = ch.rx;
      auto& mine = seen[i - senders];
      while (remaining.load() > 0) {
        const std::uint64_t start = ticket.fetch_add(1, std::memory_order_seq_cst);
        auto r = rx.recv_for(2ms);
        const std::uint64_t end = ticket.fetch_add(1, std::memory_order_seq_cst);
        if (r) {
          mine.push_back({*r, start, end});
          remaining.fetch_sub(1);
        }
      }
    }
  });
  std::vector<op> all;
  for (auto& s : seen) all.insert(all.end(), s.begin(), s.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(n));
  std::sort(all.begin(), all.end(), [](const op& a, const op& b) { return a.value < b.value; });
  std::uint64_t min_end_of_later = UINT64_MAX;
  for (std::size_t j = all.size(); j-- > 0;) {
    ASSERT_EQ(all[j].value, static_cast<int>(j));
    EXPECT_GT(min_end_of_later, all[j].start)
        << "a later value's receive completed before the receive of " << all[j].value << " began";
    min_end_of_later = std::min(min_end_of_later, all[j].end);
  }
}

// Tasks' plain waits are registered in the slot only once the task has switched out
// (park_task_publish, flavor_rendezvous.hpp P5); OS threads register theirs at once, so they race
// into the slot in that window and the task's publish fails and falls back. Senders and receivers
// of both kinds on two workers: every value arrives once, and each receiver sees each sender's
// values in the order they were sent (an unbuffered send returns only after its receive).
TEST(MixedStress, UnbufferedTasksPublishingAtSwitchOutRaceThreadsEveryValueOnceInSendOrder) {
  weft::runtime_options o;
  o.workers = 2;
  weft::runtime rt(o);
  auto the_chan = weft::make_chan<int>(0);
  const int per = static_cast<int>(weft::test::scale(20000));
  constexpr int task_senders = 2, thread_senders = 1, senders = task_senders + thread_senders;
  constexpr int task_receivers = 2, thread_receivers = 1;
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(senders * per));
  for (auto& x : seen) x.store(0);
  std::atomic<int> count{0};
  auto send_all = [&, tx = the_chan.tx](int id) mutable {
    for (int k = 0; k < per; ++k) ASSERT_EQ(tx.send(id * per + k), status::ok);
  };
  auto recv_all = [&, rx = the_chan.rx]() mutable {
    std::vector<int> last(senders, -1);
    for (;;) {
      weft::result<int> r = rx.recv();
      if (!r) {
        ASSERT_EQ(r.code(), status::closed);
        return;
      }
      ASSERT_GE(*r, 0);
      ASSERT_LT(*r, senders * per);
      const int from = *r / per;
      ASSERT_GT(*r, last[static_cast<std::size_t>(from)]) << "sender " << from << "'s values out of order";
      last[static_cast<std::size_t>(from)] = *r;
      ASSERT_EQ(seen[static_cast<std::size_t>(*r)].fetch_add(1), 0) << "value " << *r << " arrived twice";
      count.fetch_add(1);
    }
  };
  std::vector<weft::future<void>> tasks;
  for (int i = 0; i < task_receivers; ++i) tasks.push_back(weft::spawn(rt, recv_all));
  std::vector<std::thread> threads;
  for (int i = 0; i < thread_receivers; ++i) threads.emplace_back(recv_all);
  std::vector<weft::future<void>> sending;
  for (int i = 0; i < task_senders; ++i) sending.push_back(weft::spawn(rt, [&, i] { send_all(i); }));
  for (int i = 0; i < thread_senders; ++i) threads.emplace_back([&, i] { send_all(task_senders + i); });
  for (auto& f : sending) f.get().value();
  const auto give_up = std::chrono::steady_clock::now() + weft::test::hang_deadline();
  while (count.load() < senders * per && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  the_chan.tx.close();
  for (auto& f : tasks) f.get().value();
  for (auto& t : threads) t.join();
  EXPECT_EQ(count.load(), senders * per);
}

}  // namespace

// Close / timeout / cancel / disconnect races with tracked values: no value lost, none
// delivered twice, none destroyed twice, a failed send keeps its value, a failed receive
// takes nothing.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
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

class RaceStress : public ::testing::TestWithParam<weft::test::flavor_exec> {
 protected:
  flavor fl() const { return std::get<0>(GetParam()); }
  weft::test::exec ex() const { return std::get<1>(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(All, RaceStress, weft::test::flavor_exec_values(), weft::test::flavor_exec_name);

TEST_P(RaceStress, CloseTimeoutAndCancelRacesLoseAndDuplicateNothing) {
  leak_check guard;
  const int rounds = static_cast<int>(weft::test::scale(40));
  for (int round = 0; round < rounds; ++round) {
    constexpr int producers = 2, consumers = 2;
    constexpr int per = 200;
    const int total = producers * per;
    auto ch = weft::test::make<tracked_move_only>(fl());
    auto cc = weft::with_cancel(weft::background());
    std::vector<std::atomic<int>> accepted(static_cast<std::size_t>(total));  // send returned ok
    std::vector<std::atomic<int>> received(static_cast<std::size_t>(total));
    for (auto& a : accepted) a.store(0);
    for (auto& r : received) r.store(0);
    std::atomic<int> producers_left{producers};
    weft::test::run_concurrently_n(ex(), producers + consumers + 1, [&](std::size_t i) {
      std::mt19937 rng(static_cast<std::uint32_t>(round * 131 + static_cast<int>(i)));
      if (i < producers) {
        auto tx = ch.tx;
        for (int k = 0; k < per; ++k) {
          const int id = static_cast<int>(i) * per + k;
          tracked_move_only v(id);
          status st;
          switch (rng() % 4) {
            case 0: st = tx.send(std::move(v), cc.first); break;
            case 1: st = tx.send_for(std::move(v), std::chrono::microseconds(rng() % 200)); break;
            case 2: st = tx.try_send(std::move(v)); break;
            default: st = tx.send(std::move(v)); break;
          }
          if (st == status::ok) {
            accepted[static_cast<std::size_t>(id)].store(1);
          } else {
            EXPECT_TRUE(st == status::closed || st == status::timeout || st == status::cancelled ||
                        st == status::full)
                << st;
            EXPECT_EQ(v.value(), id) << "a failed send (" << st << ") lost its value";
          }
        }
        if (producers_left.fetch_sub(1) == 1) tx.close();
      } else if (i < producers + consumers) {
        auto rx = ch.rx;
        for (;;) {
          weft::result<tracked_move_only> r = status::closed;
          switch (rng() % 3) {
            case 0: r = rx.recv(cc.first); break;
            case 1: r = rx.recv_for(std::chrono::microseconds(rng() % 200)); break;
            default: r = rx.recv(); break;
          }
          if (r) {
            received[static_cast<std::size_t>(r->value())].fetch_add(1);
          } else if (r.code() == status::closed) {
            break;
          } else {
            EXPECT_TRUE(r.code() == status::timeout || r.code() == status::cancelled) << r.code();
          }
        }
      } else {  // the disturber: cancel the shared context midway, then close early sometimes
        auto tx = ch.tx;
        for (int k = 0; k < 50; ++k) weft::test::relax();
        cc.second();
        if (rng() % 2 == 0) tx.close();
      }
    });
    // Drain what is left (a consumer may have left after closed only when drained: nothing).
    while (auto r = ch.rx.try_recv()) received[static_cast<std::size_t>(r->value())].fetch_add(1);
    for (int id = 0; id < total; ++id) {
      const auto u = static_cast<std::size_t>(id);
      ASSERT_LE(received[u].load(), 1) << "value " << id << " delivered twice";
      ASSERT_EQ(received[u].load(), accepted[u].load())
          << "value " << id << (accepted[u].load() ? " was accepted but never received" : " was received but its send failed");
    }
  }
}

TEST_P(RaceStress, LastReceiverLeavingMidStreamLeaksNothing) {
  leak_check guard;
  const int rounds = static_cast<int>(weft::test::scale(40));
  for (int round = 0; round < rounds; ++round) {
    auto ch = weft::test::make<tracked_move_only>(fl());
    auto tx = std::move(ch.tx);
    auto rx1 = std::make_unique<weft::receiver<tracked_move_only>>(std::move(ch.rx));
    auto rx2 = std::make_unique<weft::receiver<tracked_move_only>>(*rx1);
    std::atomic<int> received{0};
    std::atomic<int> accepted{0};
    weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
      std::mt19937 rng(static_cast<std::uint32_t>(round * 7 + static_cast<int>(i)));
      if (i < 2) {
        // Bounded, and yielding: on an unbounded channel a send never blocks, so a sender
        // task that never yields would keep the receivers (and their disconnect) from running.
        for (int k = 0; k < 20000; ++k) {
          weft::test::relax();
          tracked_move_only v(k);
          const status st = (k % 2 == 0) ? tx.send(std::move(v)) : tx.send_for(std::move(v), 1ms);
          if (st == status::closed) {
            EXPECT_EQ(v.value(), k);
            return;
          }
          if (st == status::ok) accepted.fetch_add(1);
        }
        return;
      }
      auto& mine = (i == 2 ? rx1 : rx2);
      const int n = static_cast<int>(rng() % 50);
      for (int k = 0; k < n; ++k) {
        auto r = mine->recv_for(5ms);
        if (r) received.fetch_add(1);
      }
      mine.reset();  // the second of these to run disconnects the channel
    });
    EXPECT_LE(received.load(), accepted.load());
    EXPECT_TRUE(tx.is_closed()) << "every receiver is gone";
  }
}

TEST_P(RaceStress, CloseWhileReceiversBlockWakesThemAll) {
  const int rounds = static_cast<int>(weft::test::scale(200));
  for (int round = 0; round < rounds; ++round) {
    auto ch = weft::test::make<int>(fl());
    std::atomic<int> woke{0};
    weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
      if (i < 3) {
        auto rx = ch.rx;
        EXPECT_EQ(rx.recv().code(), status::closed);
        woke.fetch_add(1);
      } else {
        for (int k = 0; k < round % 20; ++k) weft::test::relax();
        ch.tx.close();
      }
    });
    EXPECT_EQ(woke.load(), 3);
  }
}

}  // namespace

// Bounded channels (capacity >= 1): a ring of `capacity` slots; sends block while it is full.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <initializer_list>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;
using weft::test::leak_check;
using weft::test::tracked;

class BoundedChan : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, BoundedChan, weft::test::exec_values(), weft::test::exec_param_name);

TEST_P(BoundedChan, CapacityIsTheConstructorArgument) {
  for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{1000},
                          std::size_t{1} << 16}) {
    auto the_chan = weft::make_chan<int>(cap);
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    EXPECT_EQ(tx.capacity(), cap);
    EXPECT_EQ(rx.capacity(), cap);
  }
}

TEST_P(BoundedChan, HoldsExactlyCapacityValuesForEveryCapacity) {
  for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{64},
                          std::size_t{100}}) {
    auto the_chan = weft::make_chan<int>(cap);
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    for (std::size_t i = 0; i < cap; ++i) ASSERT_EQ(tx.try_send(static_cast<int>(i)), status::ok) << cap;
    EXPECT_EQ(tx.try_send(-1), status::full) << "capacity " << cap;
    EXPECT_EQ(tx.size(), cap);
    ASSERT_TRUE(rx.try_recv());
    EXPECT_EQ(tx.try_send(-1), status::ok) << "one slot freed, capacity " << cap;
    EXPECT_EQ(tx.try_send(-1), status::full);
  }
}

TEST_P(BoundedChan, FifoOrderSurvivesManyWrapArounds) {
  auto the_chan = weft::make_chan<int>(3);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  int next_send = 0, next_recv = 0;
  ASSERT_EQ(tx.try_send(next_send++), status::ok);  // one value always in flight: head != 0 mod 3
  for (int round = 0; round < 500; ++round) {
    const int burst = 1 + round % 2;
    for (int i = 0; i < burst; ++i) ASSERT_EQ(tx.try_send(next_send++), status::ok);
    for (int i = 0; i < burst; ++i) {
      auto r = rx.try_recv();
      ASSERT_TRUE(r);
      ASSERT_EQ(*r, next_recv++);
    }
  }
  ASSERT_EQ(*rx.try_recv(), next_recv++);
  EXPECT_EQ(next_recv, next_send);
}

TEST_P(BoundedChan, SendBlocksWhileFullAndResumesWhenASlotFrees) {
  auto the_chan = weft::make_chan<int>(2);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  ASSERT_EQ(tx.try_send(0), status::ok);
  ASSERT_EQ(tx.try_send(1), status::ok);
  std::atomic<bool> returned{false};
  weft::test::run_concurrently(
      ex(),
      [&, tx = tx]() mutable {
        EXPECT_EQ(tx.send(2), status::ok);
        returned.store(true);
      },
      [&, rx = rx]() mutable {
        weft::test::let_others_block(5ms);
        EXPECT_FALSE(returned.load()) << "send on a full channel returned without room";
        EXPECT_EQ(rx.size(), 2u);
        EXPECT_EQ(*rx.recv(), 0);
        weft::test::wait_until([&] { return returned.load(); }, "blocked send after a slot freed");
        EXPECT_EQ(*rx.recv(), 1);
        EXPECT_EQ(*rx.recv(), 2);
      });
}

TEST_P(BoundedChan, EveryBlockedSenderCompletesAsSlotsFree) {
  leak_check guard;
  {
    auto the_chan = weft::make_chan<tracked>(1);
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    constexpr int senders = 4;
    std::vector<int> got;
    weft::test::run_concurrently_n(ex(), senders + 1, [&, tx = tx, rx = rx](std::size_t i) mutable {
      if (i < senders) {
        EXPECT_EQ(tx.send(tracked(static_cast<int>(i))), status::ok);
      } else {
        for (int k = 0; k < senders; ++k) {
          weft::test::let_others_block(500us);
          auto r = rx.recv();
          ASSERT_TRUE(r);
          got.push_back(r->value());
        }
      }
    });
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(rx.try_recv().code(), status::empty);
  }
}

TEST_P(BoundedChan, BlockedReceiversEachGetOneValue) {
  auto the_chan = weft::make_chan<int>(2);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  constexpr int receivers = 4;
  std::atomic<int> sum{0};
  weft::test::run_concurrently_n(ex(), receivers + 1, [&, tx = tx, rx = rx](std::size_t i) mutable {
    if (i < receivers) {
      auto r = rx.recv();
      ASSERT_TRUE(r);
      sum.fetch_add(*r);
    } else {
      weft::test::let_others_block();
      for (int k = 1; k <= receivers; ++k) EXPECT_EQ(tx.send(k), status::ok);
    }
  });
  EXPECT_EQ(sum.load(), 1 + 2 + 3 + 4);
}

TEST_P(BoundedChan, LargeCapacityWorks) {
  auto the_chan = weft::make_chan<int>(std::size_t{1} << 16);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  for (int i = 0; i < (1 << 16); ++i) ASSERT_EQ(tx.try_send(i), status::ok);
  EXPECT_EQ(tx.try_send(0), status::full);
  for (int i = 0; i < (1 << 16); ++i) ASSERT_EQ(*rx.try_recv(), i);
}

// Slot placement (flavor_bounded.hpp, "Slot placement"): capacities at or up to an eighth below
// a power of two spread consecutive indices over cache lines (over a buffer of that power of
// two), other capacities do not. Each capacity below, for five slot sizes (16, 24, 32, 48 and 64
// bytes: neighbours 8, 4, 4, 2 and 2 slots apart), fills the ring to exactly its capacity, wraps
// it for several laps in uneven bursts checking FIFO order, and is then dropped holding values
// that straddle the wrap. A placement that sent two indices to one
// slot would refuse a send below capacity (a stamp already advanced), deliver a value twice or
// out of order, or destroy one twice (leak_check counts lives).
template <std::size_t Bytes>
struct payload {
  tracked v;
  unsigned char pad[Bytes - sizeof(tracked)] = {};
  explicit payload(int x) : v(x) {}
};
template <>
struct payload<sizeof(tracked)> {
  tracked v;
  explicit payload(int x) : v(x) {}
};

template <class V>
void exercise_slot_placement(std::size_t cap, bool spread) {
  SCOPED_TRACE(::testing::Message() << "capacity " << cap << ", value of " << sizeof(V) << " bytes, "
                                    << (spread ? "spread" : "packed"));
  leak_check guard;
  {
    // Both layouts, whichever this CPU gets by default (platform.hpp spread_ring_slots).
    auto* ring = new weft::detail::bounded_chan<V>(cap, spread);
    auto the_chan = weft::chan<V>::adopt(ring);
    // A large power-of-two capacity of small slots (at most 8 + 24 + 8 bytes) spreads if asked to.
    if ((cap == 1024 || cap == 4096) && sizeof(V) <= 24) {
      EXPECT_EQ(ring->spreads(), spread);
    }
    if (!spread) {
      EXPECT_FALSE(ring->spreads());
    }
    auto& tx = the_chan.tx;
    auto& rx = the_chan.rx;
    int next_send = 0, next_recv = 0;
    auto send = [&] {
      V v(next_send);
      ASSERT_EQ(tx.try_send(std::move(v)), status::ok) << "send " << next_send << " with " << next_send - next_recv << " inside";
      ++next_send;
    };
    auto recv = [&] {
      auto r = rx.try_recv();
      ASSERT_TRUE(r) << "recv " << next_recv;
      ASSERT_EQ(r->v.value(), next_recv);
      ++next_recv;
    };
    for (std::size_t i = 0; i < cap; ++i) ASSERT_NO_FATAL_FAILURE(send());
    V extra(-1);
    ASSERT_EQ(tx.try_send(std::move(extra)), status::full);
    for (std::size_t i = 0; i < cap / 2 + 1; ++i) ASSERT_NO_FATAL_FAILURE(recv());
    // Uneven bursts: every index is written and read at several distances from its neighbours.
    const std::size_t laps_ops = 4 * cap + 7;
    for (std::size_t op = 0, burst = 1; op < laps_ops; op += burst, burst = burst % 5 + 2) {
      for (std::size_t i = 0; i < burst && static_cast<std::size_t>(next_send - next_recv) < cap; ++i)
        ASSERT_NO_FATAL_FAILURE(send());
      for (std::size_t i = 0; i + 1 < burst && next_recv < next_send; ++i) ASSERT_NO_FATAL_FAILURE(recv());
    }
    while (static_cast<std::size_t>(next_send - next_recv) < cap) ASSERT_NO_FATAL_FAILURE(send());
    ASSERT_EQ(tx.try_send(std::move(extra)), status::full);
    for (std::size_t i = 0; i < cap / 3; ++i) ASSERT_NO_FATAL_FAILURE(recv());
    guard.expect_live(static_cast<long>(next_send - next_recv) + 1);  // + `extra`
  }  // the channel dies holding values across the wrap: each destroyed once
}

// A sender spinning on a full ring looks for a batch of free slots only every
// send_look_every() relaxes (flavor_bounded.hpp): 1 for small rings, growing with the values
// still queued, never more than 64, always a power of two (the spin masks with it).
TEST(BoundedSendLook, TheLookIntervalGrowsWithTheQueuedValuesUpTo64) {
  auto every = [](std::size_t cap) { return weft::detail::bounded_chan<int>(cap, false).send_look_every(); };
  for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{8}, std::size_t{16}, std::size_t{30}})
    EXPECT_EQ(every(cap), 1u) << "capacity " << cap << ": a small ring is looked at every relax";
  EXPECT_EQ(every(32), 2u);
  EXPECT_EQ(every(1024), 64u);
  EXPECT_EQ(every(std::size_t{1} << 20), 64u);
  std::uint32_t prev = 1;
  for (std::size_t cap = 1; cap <= 4096; cap = cap * 3 / 2 + 1) {
    const std::uint32_t e = every(cap);
    EXPECT_EQ(e & (e - 1), 0u) << "capacity " << cap << ": not a power of two";
    EXPECT_GE(e, prev) << "capacity " << cap;
    EXPECT_LE(e, 64u);
    prev = e;
  }
}

// ... and still takes a single freed slot: each time the receiver frees exactly one slot and
// then waits for the blocked send to complete. Under every wait strategy (spin: the spin never
// ends, so only the forced try every 64 looks can notice one slot; park: the receiver's wake).
TEST(BoundedSendLook, ASenderWaitingForABatchTakesEachSingleFreedSlot) {
  for (std::size_t cap : {std::size_t{32}, std::size_t{64}, std::size_t{1024}}) {
    for (weft::wait_strategy ws :
         {weft::wait_strategy::adaptive, weft::wait_strategy::spin, weft::wait_strategy::park}) {
      SCOPED_TRACE(::testing::Message() << "capacity " << cap << ", strategy " << static_cast<int>(ws));
      auto the_chan = weft::make_chan<std::size_t>(cap);
      auto& tx = the_chan.tx;
      auto& rx = the_chan.rx;
      constexpr std::size_t extra = 12;
      std::atomic<std::size_t> sent{0};
      std::thread sender([&, ws] {
        weft::this_thread::set_wait_strategy(ws);
        for (std::size_t i = 0; i < cap + extra; ++i) {
          EXPECT_EQ(tx.send(std::size_t{i}), status::ok);
          sent.store(i + 1, std::memory_order_release);
        }
      });
      weft::test::wait_until([&] { return sent.load(std::memory_order_acquire) == cap; }, "the sender filling the ring");
      for (std::size_t k = 0; k < extra; ++k) {
        weft::test::let_others_block(200us);  // not for correctness: lets the send reach its wait first
        EXPECT_EQ(*rx.recv(), k);             // exactly one slot frees; the sender blocks on the next
        weft::test::wait_until([&] { return sent.load(std::memory_order_acquire) == cap + k + 1; },
                               "a blocked send after one slot freed");
        EXPECT_EQ(rx.size(), cap);
      }
      sender.join();
      for (std::size_t i = extra; i < cap + extra; ++i) EXPECT_EQ(*rx.recv(), i);
    }
  }
}

// A spin-mode receive never registers: it polls the head slot (ring_recv_slow's loop: for a T
// whose move cannot throw try_take_head, otherwise recv_peek then try_recv) until done. It must
// take values sent while it waits, in order and each once, and see a close that comes while it
// waits: a look never shows a value then, only the exact try forced every 64 looks does (without
// it the receive spins forever).
struct throwing_move_size {  // a move that may throw (it never does): the loop's other branch
  std::size_t v;
  explicit throwing_move_size(std::size_t x) : v(x) {}
  throwing_move_size(throwing_move_size&& o) noexcept(false) : v(o.v) {}
  throwing_move_size& operator=(throwing_move_size&&) = default;
};
static_assert(!std::is_nothrow_move_constructible_v<throwing_move_size>);

template <class T>
std::size_t value_of(const T& x) {
  if constexpr (std::is_same_v<T, std::size_t>) return x;
  else if constexpr (std::is_same_v<T, tracked>) return static_cast<std::size_t>(x.value());
  else return x.v;
}
template <class T>
T make_value(std::size_t i) {
  if constexpr (std::is_same_v<T, tracked>) return tracked(static_cast<int>(i));
  else return T{i};
}

template <class T>
void spin_recv_takes_values_and_sees_a_close() {
  for (std::size_t cap : {std::size_t{1}, std::size_t{4}, std::size_t{1024}}) {
    SCOPED_TRACE(::testing::Message() << "capacity " << cap);
    auto the_chan = weft::make_chan<T>(cap);
    auto& tx = the_chan.tx;
    auto& rx = the_chan.rx;
    const std::size_t n = std::max<std::size_t>(weft::test::scale(20000), 500);
    std::atomic<std::size_t> got{0};
    std::atomic<bool> finished{false};
    weft::status last = status::ok;
    std::thread receiver([&] {
      weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
      for (std::size_t i = 0; i < n; ++i) {
        weft::result<T> r = rx.recv();
        ASSERT_TRUE(r) << "value " << i << ": " << static_cast<int>(r.code());
        ASSERT_EQ(value_of(*r), i);
        got.store(i + 1, std::memory_order_release);
      }
      last = rx.recv().code();
      finished.store(true, std::memory_order_release);
    });
    for (std::size_t i = 0; i < n; ++i) {
      // Every 64th value waits until the receiver has taken everything before it, so the
      // receive of this one starts on an empty ring (the loop under test).
      if (i % 64 == 0) {
        weft::test::wait_until([&] { return got.load(std::memory_order_acquire) == i; },
                               "the receiver");
      }
      ASSERT_EQ(tx.send(make_value<T>(i)), status::ok);
    }
    weft::test::wait_until([&] { return got.load(std::memory_order_acquire) == n; },
                           "the receiver taking every value");
    // Not for correctness: lets the last receive start waiting.
    weft::test::let_others_block(200us);
    tx.close();
    weft::test::wait_until([&] { return finished.load(std::memory_order_acquire); },
                           "the waiting receive seeing the close");
    receiver.join();
    EXPECT_EQ(last, status::closed);
  }
}

TEST(BoundedSpinRecv, TakesValuesSentWhileWaitingAndSeesACloseWhileWaiting) {
  spin_recv_takes_values_and_sees_a_close<std::size_t>();
}

TEST(BoundedSpinRecv, AThrowingMoveTypeTakesTheSameLoopsOtherBranch) {
  spin_recv_takes_values_and_sees_a_close<throwing_move_size>();
}

// A value the look moves out of its slot is destroyed there: every tracked value lives exactly
// once, none is left over or destroyed twice.
TEST(BoundedSpinRecv, ALookDestroysTheValueItMovesOut) {
  leak_check guard;
  spin_recv_takes_values_and_sees_a_close<tracked>();
  EXPECT_EQ(guard.live(), 0);
}

// Several spinning receivers race for each value (a look whose claim loses takes nothing and
// looks again): every value sent arrives exactly once, each receiver sees every sender's values
// in order, and a close ends every receive.
TEST(BoundedSpinRecv, SpinningReceiversTakeEveryValueExactlyOnce) {
  for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{64}}) {
    SCOPED_TRACE(::testing::Message() << "capacity " << cap);
    auto the_chan = weft::make_chan<std::size_t>(cap);
    constexpr std::size_t senders = 2, receivers = 3;
    const std::size_t per_sender = std::max<std::size_t>(weft::test::scale(20000), 300);
    std::vector<std::vector<std::size_t>> got(receivers);
    std::vector<weft::status> last(receivers, status::ok);
    std::vector<std::thread> threads;
    for (std::size_t k = 0; k < receivers; ++k) {
      threads.emplace_back([&, k, rx = the_chan.rx]() mutable {
        weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
        for (;;) {
          weft::result<std::size_t> r = rx.recv();
          if (!r) {
            last[k] = r.code();
            return;
          }
          got[k].push_back(*r);
        }
      });
    }
    {
      std::vector<std::thread> send_threads;
      for (std::size_t s = 0; s < senders; ++s) {
        send_threads.emplace_back([&, s, tx = the_chan.tx]() mutable {
          for (std::size_t i = 0; i < per_sender; ++i) {
            ASSERT_EQ(tx.send(s * per_sender + i), status::ok);
          }
        });
      }
      for (auto& t : send_threads) t.join();
    }
    the_chan.tx.close();
    for (auto& t : threads) t.join();
    std::vector<std::size_t> all;
    for (std::size_t k = 0; k < receivers; ++k) {
      EXPECT_EQ(last[k], status::closed) << "receiver " << k;
      std::size_t prev[senders] = {};
      bool any[senders] = {};
      for (std::size_t v : got[k]) {
        const std::size_t s = v / per_sender;
        ASSERT_LT(s, senders);
        if (any[s]) {
          EXPECT_LT(prev[s], v) << "receiver " << k << " saw sender " << s << " out of order";
        }
        prev[s] = v;
        any[s] = true;
      }
      all.insert(all.end(), got[k].begin(), got[k].end());
    }
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), senders * per_sender) << "a value lost or taken twice";
    for (std::size_t i = 0; i < all.size(); ++i) {
      ASSERT_EQ(all[i], i) << "a value lost or taken twice";
    }
  }
}

// ... and a deadline or a context still ends a spin-mode receive.
TEST(BoundedSpinRecv, ADeadlineOrAContextStillEndsTheWait) {
  auto the_chan = weft::make_chan<int>(8);
  std::thread receiver([&] {
    weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
    EXPECT_EQ(the_chan.rx.recv_for(2ms).code(), status::timeout);
    auto [ctx, cancel] = weft::with_timeout(weft::background(), 2ms);
    EXPECT_EQ(the_chan.rx.recv(ctx).code(), status::timeout);
    cancel();
  });
  receiver.join();
  EXPECT_EQ(the_chan.tx.try_send(1), status::ok) << "the channel is still open and empty";
}

TEST(BoundedSlotPlacement, EveryIndexHasItsOwnSlotForEveryCapacityAndSlotSize) {
  static_assert(sizeof(payload<8>) == 8 && sizeof(payload<16>) == 16 && sizeof(payload<24>) == 24 &&
                sizeof(payload<40>) == 40 && sizeof(payload<56>) == 56);
  for (std::size_t cap : std::initializer_list<std::size_t>{1, 2, 3, 4, 7, 8, 15, 16, 17, 32, 60, 64, 100, 128, 900,
                                                          1000, 1024, 4096}) {
    for (bool spread : {true, false}) {
      exercise_slot_placement<payload<8>>(cap, spread);
      exercise_slot_placement<payload<16>>(cap, spread);
      exercise_slot_placement<payload<24>>(cap, spread);
      exercise_slot_placement<payload<40>>(cap, spread);
      exercise_slot_placement<payload<56>>(cap, spread);
    }
  }
}

}  // namespace

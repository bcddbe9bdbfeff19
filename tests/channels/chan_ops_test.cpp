// Every send/recv operation family on every channel flavor, in every execution context:
// send / send(v, ctx) / try_send / send_for / send_until and the recv twins, both the
// `const T&` and the `T&&` forms, the exact statuses of API.md, "an operation that can
// complete at once completes whatever its deadline or context", `recv_for(0s)` as
// try_recv with `timeout` for empty, negative durations, range-for, size and capacity.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;
using weft::test::flavor;
using weft::test::leak_check;
using weft::test::tracked;
using weft::test::tracked_move_only;

class ChanOps : public ::testing::TestWithParam<weft::test::flavor_exec> {
 protected:
  flavor fl() const { return std::get<0>(GetParam()); }
  weft::test::exec ex() const { return std::get<1>(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(All, ChanOps, weft::test::flavor_exec_values(), weft::test::flavor_exec_name);

// ---------------------------------------------------------------------------------------------
// Shapes and queries

TEST_P(ChanOps, CapacityIsWhatTheFlavorPromises) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  EXPECT_EQ(tx.capacity(), weft::test::capacity_of(fl()));
  EXPECT_EQ(rx.capacity(), weft::test::capacity_of(fl()));
  EXPECT_EQ(tx.size(), 0u);
  EXPECT_EQ(rx.size(), 0u);
  EXPECT_FALSE(tx.is_closed());
  EXPECT_FALSE(rx.is_closed());
}

TEST_P(ChanOps, SizeCountsBufferedValues) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const std::size_t n = std::min<std::size_t>(weft::test::buffer_of(fl()), 50);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(tx.try_send(static_cast<int>(i)), status::ok);
    EXPECT_EQ(tx.size(), i + 1);
    EXPECT_EQ(rx.size(), i + 1);
  }
  for (std::size_t i = n; i > 0; --i) {
    ASSERT_TRUE(rx.try_recv());
    EXPECT_EQ(rx.size(), i - 1);
  }
  EXPECT_EQ(tx.size(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Non-blocking forms

TEST_P(ChanOps, TrySendUpToTheBufferThenFull) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  if (!weft::test::can_fill(fl())) {
    for (int i = 0; i < 10000; ++i) ASSERT_EQ(tx.try_send(i), status::ok) << "unbounded is never full";
    return;
  }
  const std::size_t cap = weft::test::capacity_of(fl());
  for (std::size_t i = 0; i < cap; ++i) ASSERT_EQ(tx.try_send(static_cast<int>(i)), status::ok);
  EXPECT_EQ(tx.try_send(99), status::full);
  EXPECT_EQ(tx.try_send(99), status::full);
  EXPECT_EQ(tx.size(), cap);
}

TEST_P(ChanOps, TryRecvOnEmptyOpenChannelIsEmpty) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  auto r = rx.try_recv();
  EXPECT_FALSE(r);
  EXPECT_EQ(r.code(), status::empty);
}

TEST_P(ChanOps, TryRoundTripKeepsFifoOrder) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "unbuffered try_send needs a waiting receiver";
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const std::size_t cap = std::min<std::size_t>(weft::test::buffer_of(fl()), 64);
  int next_send = 0, next_recv = 0;
  for (int round = 0; round < 200; ++round) {
    const std::size_t burst = 1 + static_cast<std::size_t>(round) % cap;
    for (std::size_t i = 0; i < burst; ++i) ASSERT_EQ(tx.try_send(next_send++), status::ok);
    for (std::size_t i = 0; i < burst; ++i) {
      auto r = rx.try_recv();
      ASSERT_TRUE(r);
      EXPECT_EQ(*r, next_recv++);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// const T& and T&& forms

TEST_P(ChanOps, ConstRefSendCopiesAndLeavesTheSourceIntact) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "needs a buffer to observe single-threaded";
  leak_check guard;
  {
    auto the_chan = weft::test::make<tracked>(fl());
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    const tracked v(7);
    ASSERT_EQ(tx.try_send(v), status::ok);
    EXPECT_EQ(v.value(), 7);
    EXPECT_FALSE(v.is_moved_from());
    auto r = rx.try_recv();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->value(), 7);
    ASSERT_EQ(tx.send(v), status::ok) << "blocking form, with room";
    EXPECT_EQ(v.value(), 7);
    guard.expect_live(3, "(source + one buffered + one received)");
  }
}

TEST_P(ChanOps, RvalueSendMovesTheValueIn) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "needs a buffer to observe single-threaded";
  leak_check guard;
  {
    auto the_chan = weft::test::make<tracked_move_only>(fl());
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    tracked_move_only v(5);
    ASSERT_EQ(tx.try_send(std::move(v)), status::ok);
    EXPECT_TRUE(v.is_moved_from()) << "an ok send takes the value";
    auto r = rx.recv();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->value(), 5);
  }
}

TEST_P(ChanOps, EveryFormDeliversInOrderWhenItCanCompleteAtOnce) {
  auto the_chan = weft::test::make<tracked_move_only>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  // Each send form in turn; the receiver takes them concurrently (unbuffered needs one).
  std::vector<int> got;
  weft::test::run_concurrently(
      ex(),
      [&, tx = tx]() mutable {
        const auto far = clock::now() + weft::test::hang_deadline();
        auto [ctx, cancel] = weft::with_cancel(weft::background());
        EXPECT_EQ(tx.send(tracked_move_only(0)), status::ok);
        EXPECT_EQ(tx.send(tracked_move_only(1), ctx), status::ok);
        EXPECT_EQ(tx.send_for(tracked_move_only(2), weft::test::hang_deadline()), status::ok);
        EXPECT_EQ(tx.send_until(tracked_move_only(3), far), status::ok);
        tracked_move_only v(4);
        EXPECT_EQ(tx.send(std::move(v)), status::ok);
        tx.close();
      },
      [&, rx = rx]() mutable {
        const auto far = clock::now() + weft::test::hang_deadline();
        auto [ctx, cancel] = weft::with_cancel(weft::background());
        auto a = rx.recv();
        auto b = rx.recv(ctx);
        auto c = rx.recv_for(weft::test::hang_deadline());
        auto d = rx.recv_until(far);
        auto e = rx.recv();
        for (auto* r : {&a, &b, &c, &d, &e}) {
          ASSERT_TRUE(*r) << r->code();
          got.push_back((*r)->value());
        }
        EXPECT_EQ(rx.recv().code(), status::closed);
      });
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

// ---------------------------------------------------------------------------------------------
// Statuses of operations that cannot complete

TEST_P(ChanOps, RecvFamilyOnEmptyChannelReportsExactStatuses) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  EXPECT_EQ(rx.try_recv().code(), status::empty);
  EXPECT_EQ(rx.recv_for(1ms).code(), status::timeout);
  EXPECT_EQ(rx.recv_until(clock::now() + 1ms).code(), status::timeout);
  EXPECT_EQ(rx.recv(weft::test::cancelled_context()).code(), status::cancelled);
  EXPECT_EQ(rx.recv(weft::test::expired_context()).code(), status::timeout);
  auto [ctx, cancel] = weft::with_timeout(weft::background(), 1ms);
  EXPECT_EQ(rx.recv(ctx).code(), status::timeout);
}

TEST_P(ChanOps, SendFamilyOnFullChannelReportsExactStatuses) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded is never full";
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::fill_ints(tx);
  EXPECT_EQ(tx.try_send(1), status::full);
  EXPECT_EQ(tx.send_for(1, 1ms), status::timeout);
  EXPECT_EQ(tx.send_until(1, clock::now() + 1ms), status::timeout);
  EXPECT_EQ(tx.send(1, weft::test::cancelled_context()), status::cancelled);
  EXPECT_EQ(tx.send(1, weft::test::expired_context()), status::timeout);
  auto [ctx, cancel] = weft::with_timeout(weft::background(), 1ms);
  EXPECT_EQ(tx.send(1, ctx), status::timeout);
  EXPECT_EQ(tx.size(), weft::test::capacity_of(fl())) << "failed sends added nothing";
}

TEST_P(ChanOps, UnboundedSendsCompleteWhateverTheirDeadlineOrContext) {
  if (fl() != flavor::unbounded) GTEST_SKIP();
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  EXPECT_EQ(tx.send_for(1, 0s), status::ok);
  EXPECT_EQ(tx.send_for(2, -1s), status::ok);
  EXPECT_EQ(tx.send_until(3, clock::now() - 1s), status::ok);
  EXPECT_EQ(tx.send(4, weft::test::cancelled_context()), status::ok);
  EXPECT_EQ(tx.send(5, weft::test::expired_context()), status::ok);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(*rx.try_recv(), i);
}

TEST_P(ChanOps, ReadyValueIsReceivedWhateverTheDeadlineOrContext) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "see UnbufferedChan for the waiting-sender case";
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  auto expect_recv = [&](auto&& op, const char* what) {
    ASSERT_EQ(tx.try_send(42), status::ok);
    auto r = op();
    ASSERT_TRUE(r) << what << " returned " << r.code() << " although a value was ready";
    EXPECT_EQ(*r, 42);
  };
  expect_recv([&] { return rx.recv(weft::test::cancelled_context()); }, "recv(cancelled ctx)");
  expect_recv([&] { return rx.recv(weft::test::expired_context()); }, "recv(expired ctx)");
  expect_recv([&] { return rx.recv_for(0s); }, "recv_for(0s)");
  expect_recv([&] { return rx.recv_for(-1s); }, "recv_for(-1s)");
  expect_recv([&] { return rx.recv_for(std::chrono::nanoseconds::min()); }, "recv_for(min)");
  expect_recv([&] { return rx.recv_until(clock::now() - 1h); }, "recv_until(past)");
  expect_recv([&] { return rx.recv_until(clock::time_point::min()); }, "recv_until(min)");
}

TEST_P(ChanOps, SendWithRoomCompletesWhateverTheDeadlineOrContext) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "see UnbufferedChan for the waiting-receiver case";
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  auto expect_send = [&](status st, const char* what) {
    EXPECT_EQ(st, status::ok) << what << " although there was room";
    ASSERT_TRUE(rx.try_recv());
  };
  expect_send(tx.send(1, weft::test::cancelled_context()), "send(cancelled ctx)");
  expect_send(tx.send(1, weft::test::expired_context()), "send(expired ctx)");
  expect_send(tx.send_for(1, 0s), "send_for(0s)");
  expect_send(tx.send_for(1, -1s), "send_for(-1s)");
  expect_send(tx.send_for(1, std::chrono::nanoseconds::min()), "send_for(min)");
  expect_send(tx.send_until(1, clock::now() - 1h), "send_until(past)");
  expect_send(tx.send_until(1, clock::time_point::min()), "send_until(min)");
}

TEST_P(ChanOps, RecvForZeroBehavesAsTryRecvWithTimeoutForEmpty) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  auto r = rx.recv_for(0s);
  EXPECT_EQ(r.code(), status::timeout) << "recv_for(0s) on empty must say timeout, not empty";
  const auto t0 = clock::now();
  EXPECT_EQ(rx.recv_for(0ns).code(), status::timeout);
  EXPECT_LT(weft::test::since(t0), weft::test::hang_deadline());
  tx.close();
  EXPECT_EQ(rx.recv_for(0s).code(), status::closed) << "closed and drained wins over timeout";
}

TEST_P(ChanOps, NegativeDurationsAreAlreadyExpired) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  EXPECT_EQ(rx.recv_for(-1s).code(), status::timeout);
  EXPECT_EQ(rx.recv_for(-1ns).code(), status::timeout);
  EXPECT_EQ(rx.recv_for(std::chrono::nanoseconds::min()).code(), status::timeout);
  EXPECT_EQ(rx.recv_for(std::chrono::hours::min()).code(), status::timeout) << "no overflow UB";
  EXPECT_EQ(rx.recv_until(clock::time_point::min()).code(), status::timeout);
  auto [ctx, cancel] = weft::with_timeout(weft::background(), -1s);
  EXPECT_EQ(rx.recv(ctx).code(), status::timeout);
  if (weft::test::can_fill(fl())) {
    weft::test::fill_ints(tx);
    EXPECT_EQ(tx.send_for(1, -1s), status::timeout);
    EXPECT_EQ(tx.send_for(1, std::chrono::hours::min()), status::timeout);
    EXPECT_EQ(tx.send_until(1, clock::time_point::min()), status::timeout);
    EXPECT_EQ(tx.send(1, ctx), status::timeout);
  }
}

TEST_P(ChanOps, HugeDurationsDoNotOverflowIntoThePast) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  // A send arrives later; a wait "forever" (max duration) must wait for it, not time out at
  // once because now + max overflowed.
  weft::test::run_concurrently(
      ex(),
      [&, rx = rx]() mutable {
        auto r = rx.recv_for(std::chrono::nanoseconds::max());
        ASSERT_TRUE(r) << r.code();
        EXPECT_EQ(*r, 1);
        auto r2 = rx.recv_for(std::chrono::hours::max());
        ASSERT_TRUE(r2) << r2.code();
        auto r3 = rx.recv_until(clock::time_point::max());
        ASSERT_TRUE(r3) << r3.code();
      },
      [&, tx = tx]() mutable {
        weft::test::let_others_block();
        EXPECT_EQ(tx.send(1), status::ok);
        EXPECT_EQ(tx.send_for(2, std::chrono::hours::max()), status::ok);
        EXPECT_EQ(tx.send_until(3, clock::time_point::max()), status::ok);
      });
}

// ---------------------------------------------------------------------------------------------
// Blocking: waits end for the right reason, never too early

TEST_P(ChanOps, RecvForWaitsAtLeastItsDuration) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const auto t0 = clock::now();
  EXPECT_EQ(rx.recv_for(20ms).code(), status::timeout);
  EXPECT_GE(weft::test::since(t0), 20ms);
  const auto t1 = clock::now();
  EXPECT_EQ(rx.recv_until(t1 + 20ms).code(), status::timeout);
  EXPECT_GE(clock::now(), t1 + 20ms);
}

TEST_P(ChanOps, SendForWaitsAtLeastItsDuration) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded is never full";
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::fill_ints(tx);
  const auto t0 = clock::now();
  EXPECT_EQ(tx.send_for(1, 20ms), status::timeout);
  EXPECT_GE(weft::test::since(t0), 20ms);
  const auto t1 = clock::now();
  EXPECT_EQ(tx.send_until(1, t1 + 20ms), status::timeout);
  EXPECT_GE(clock::now(), t1 + 20ms);
}

TEST_P(ChanOps, ContextTimeoutEndsABlockedRecvNoEarlierThanTheDeadline) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const auto t0 = clock::now();
  auto [ctx, cancel] = weft::with_timeout(weft::background(), 20ms);
  EXPECT_EQ(rx.recv(ctx).code(), status::timeout);
  EXPECT_GE(weft::test::since(t0), 20ms);
}

TEST_P(ChanOps, BlockedRecvGetsAValueSentLater) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::run_concurrently(
      ex(),
      [&, rx = rx]() mutable {
        auto a = rx.recv();
        ASSERT_TRUE(a) << a.code();
        EXPECT_EQ(*a, 1);
        auto b = rx.recv_for(weft::test::hang_deadline());
        ASSERT_TRUE(b) << b.code();
        EXPECT_EQ(*b, 2);
        auto [ctx, cancel] = weft::with_cancel(weft::background());
        auto c = rx.recv(ctx);
        ASSERT_TRUE(c) << c.code();
        EXPECT_EQ(*c, 3);
      },
      [&, tx = tx]() mutable {
        for (int i = 1; i <= 3; ++i) {
          weft::test::let_others_block();
          EXPECT_EQ(tx.send(i), status::ok);
        }
      });
}

TEST_P(ChanOps, BlockedSendCompletesWhenAReceiverMakesRoom) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded is never full";
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const int buffered = static_cast<int>(weft::test::fill_ints(tx));
  std::vector<int> got;
  weft::test::run_concurrently(
      ex(),
      [&, tx = tx]() mutable {
        EXPECT_EQ(tx.send(100), status::ok);
        EXPECT_EQ(tx.send_for(101, weft::test::hang_deadline()), status::ok);
        auto [ctx, cancel] = weft::with_cancel(weft::background());
        EXPECT_EQ(tx.send(102, ctx), status::ok);
        tx.close();
      },
      [&, rx = rx]() mutable {
        for (auto&& v : rx) {
          got.push_back(v);
          weft::test::let_others_block(std::chrono::microseconds(300));
        }
      });
  std::vector<int> want(static_cast<std::size_t>(buffered));
  std::iota(want.begin(), want.end(), 0);
  want.insert(want.end(), {100, 101, 102});
  EXPECT_EQ(got, want);
}

TEST_P(ChanOps, CancelWakesABlockedRecv) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  auto cc = weft::with_cancel(weft::background());
  auto& ctx = cc.first;
  auto& cancel = cc.second;
  weft::test::run_concurrently(
      ex(), [&, rx = rx]() mutable { EXPECT_EQ(rx.recv(ctx).code(), status::cancelled); },
      [&] {
        weft::test::let_others_block();
        cancel();
      });
  EXPECT_EQ(rx.try_recv().code(), status::empty);
}

TEST_P(ChanOps, CancelWakesABlockedSend) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded is never full";
  leak_check guard;
  {
    auto the_chan = weft::test::make<tracked_move_only>(fl());
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    const std::size_t buffered = weft::test::fill(tx, [](int i) { return tracked_move_only(i); });
    auto cc = weft::with_cancel(weft::background());
    auto& ctx = cc.first;
    auto& cancel = cc.second;
    weft::test::run_concurrently(
        ex(),
        [&, tx = tx]() mutable {
          tracked_move_only v(77);
          EXPECT_EQ(tx.send(std::move(v), ctx), status::cancelled);
          EXPECT_EQ(v.value(), 77) << "a cancelled send leaves the value with the caller";
        },
        [&] {
          weft::test::let_others_block();
          cancel();
        });
    EXPECT_EQ(tx.size(), buffered);
  }
}

// ---------------------------------------------------------------------------------------------
// Order, range-for, element requirements

TEST_P(ChanOps, ValuesFromOneSenderArriveInTheOrderSent) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const int n = static_cast<int>(weft::test::scale(2000));
  weft::test::run_concurrently(
      ex(),
      [&, tx = tx]() mutable {
        for (int i = 0; i < n; ++i) ASSERT_EQ(tx.send(i), status::ok);
      },
      [&, rx = rx]() mutable {
        for (int i = 0; i < n; ++i) {
          auto r = rx.recv();
          ASSERT_TRUE(r);
          ASSERT_EQ(*r, i);
        }
      });
}

TEST_P(ChanOps, RangeForYieldsEveryValueUntilClosedAndDrained) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  std::vector<int> got;
  weft::test::run_concurrently(
      ex(),
      [&, tx = std::move(tx)]() mutable {
        for (int i = 0; i < 100; ++i) EXPECT_EQ(tx.send(i), status::ok);
        tx.close();
      },
      [&, rx = rx]() mutable {
        for (auto&& v : rx) got.push_back(v);
      });
  std::vector<int> want(100);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(got, want);
  EXPECT_EQ(rx.try_recv().code(), status::closed) << "range-for ended because closed and drained";
}

TEST_P(ChanOps, RangeForByValueMovesOutMoveOnlyValues) {
  leak_check guard;
  {
    auto the_chan = weft::test::make<tracked_move_only>(fl());
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    std::vector<int> got;
    weft::test::run_concurrently(
        ex(),
        [&]() {
          auto last = std::move(tx);
          for (int i = 0; i < 20; ++i) EXPECT_EQ(last.send(tracked_move_only(i)), status::ok);
        },  // the last sender goes away here: the channel closes
        [&, rx = rx]() mutable {
          for (tracked_move_only v : rx) got.push_back(v.value());
        });
    EXPECT_EQ(got.size(), 20u);
    for (int i = 0; i < static_cast<int>(got.size()); ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
  }
}

struct no_default_move_only {
  explicit no_default_move_only(int x) : v(x) {}
  no_default_move_only(no_default_move_only&&) = default;
  no_default_move_only& operator=(no_default_move_only&&) = delete;
  no_default_move_only(const no_default_move_only&) = delete;
  int v;
};

TEST_P(ChanOps, ElementTypeNeedOnlyBeMoveConstructible) {
  auto the_chan = weft::test::make<no_default_move_only>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::run_concurrently(
      ex(),
      [&, tx = tx]() mutable {
        EXPECT_EQ(tx.send(no_default_move_only(1)), status::ok);
        EXPECT_EQ(tx.send_for(no_default_move_only(2), weft::test::hang_deadline()), status::ok);
        tx.close();
      },
      [&, rx = rx]() mutable {
        int sum = 0;
        for (auto&& v : rx) sum += v.v;
        EXPECT_EQ(sum, 3);
      });
}

}  // namespace

// Unbuffered (capacity 0) channels: a rendezvous. A send completes only when a receiver has
// taken the value; nothing is ever buffered; a non-blocking op succeeds only against a
// partner that is already waiting.
#include <atomic>
#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;
using weft::test::leak_check;
using weft::test::tracked_move_only;

class UnbufferedChan : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, UnbufferedChan, weft::test::exec_values(), weft::test::exec_param_name);

TEST_P(UnbufferedChan, SizeAndCapacityAreZero) {
  auto the_chan = weft::make_chan<int>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  EXPECT_EQ(tx.capacity(), 0u);
  EXPECT_EQ(rx.capacity(), 0u);
  EXPECT_EQ(tx.size(), 0u);
}

TEST_P(UnbufferedChan, SendReturnsOnlyAfterAReceiverTookTheValue) {
  auto the_chan = weft::make_chan<int>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  std::atomic<int> returned{0};
  constexpr int rounds = 3;
  weft::test::run_concurrently(
      ex(),
      [&, tx = tx]() mutable {
        for (int i = 0; i < rounds; ++i) {
          EXPECT_EQ(tx.send(i), status::ok);
          returned.fetch_add(1);
        }
      },
      [&, rx = rx]() mutable {
        for (int i = 0; i < rounds; ++i) {
          // Give a (wrong) buffering send every chance to return before anyone received.
          weft::test::let_others_block(5ms);
          EXPECT_EQ(returned.load(), i) << "send " << i << " returned before any receiver took it";
          auto r = rx.recv();
          ASSERT_TRUE(r);
          EXPECT_EQ(*r, i);
          weft::test::wait_until([&] { return returned.load() == i + 1; }, "send after its recv");
        }
      });
}

TEST_P(UnbufferedChan, TimedSendWithNoReceiverTimesOutAndBuffersNothing) {
  leak_check guard;
  auto the_chan = weft::make_chan<tracked_move_only>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  tracked_move_only v(9);
  EXPECT_EQ(tx.send_for(std::move(v), 10ms), status::timeout) << "nobody received: it cannot be ok";
  EXPECT_EQ(v.value(), 9);
  EXPECT_EQ(rx.try_recv().code(), status::empty) << "the timed-out value was not left behind";
  EXPECT_EQ(tx.try_send(std::move(v)), status::full) << "no receiver is waiting";
  EXPECT_EQ(v.value(), 9);
}

TEST_P(UnbufferedChan, TrySendSucceedsAgainstAWaitingReceiver) {
  auto the_chan = weft::make_chan<int>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::run_concurrently(
      ex(),
      [&, rx = rx]() mutable {
        auto r = rx.recv();
        ASSERT_TRUE(r);
        EXPECT_EQ(*r, 11);
      },
      [&, tx = tx]() mutable {
        int attempts = 0;
        status st = status::full;
        weft::test::wait_until(
            [&] {
              ++attempts;
              st = tx.try_send(11);
              EXPECT_TRUE(st == status::ok || st == status::full) << st;
              return st == status::ok;
            },
            "try_send against a blocked receiver");
      });
}

TEST_P(UnbufferedChan, TryRecvSucceedsAgainstAWaitingSender) {
  auto the_chan = weft::make_chan<int>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::run_concurrently(
      ex(), [&, tx = tx]() mutable { EXPECT_EQ(tx.send(12), status::ok); },
      [&, rx = rx]() mutable {
        weft::result<int> r = status::empty;
        weft::test::wait_until(
            [&] {
              r = rx.try_recv();
              EXPECT_TRUE(r || r.code() == status::empty) << r.code();
              return static_cast<bool>(r);
            },
            "try_recv against a blocked sender");
        EXPECT_EQ(*r, 12);
      });
}

TEST_P(UnbufferedChan, WaitingPartnerWinsOverAnExpiredDeadlineOrCancelledContext) {
  auto the_chan = weft::make_chan<int>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const auto cancelled = weft::test::cancelled_context();
  weft::test::run_concurrently(
      ex(),
      [&, tx = tx]() mutable {
        for (int i = 0; i < 3; ++i) EXPECT_EQ(tx.send(i), status::ok);
      },
      [&, rx = rx]() mutable {
        // Each attempt either finds the blocked sender (ok) or not yet (the status for
        // "could not complete at once"); it must end up ok without blocking.
        auto take = [&](auto op, status not_yet, int want) {
          weft::test::wait_until(
              [&] {
                auto r = op();
                if (r) {
                  EXPECT_EQ(*r, want);
                  return true;
                }
                EXPECT_EQ(r.code(), not_yet);
                return false;
              },
              "receive from a waiting sender");
        };
        take([&] { return rx.recv(cancelled); }, status::cancelled, 0);
        take([&] { return rx.recv_for(0s); }, status::timeout, 1);
        take([&] { return rx.recv_until(clock::now() - 1s); }, status::timeout, 2);
      });
}

TEST_P(UnbufferedChan, WaitingReceiverWinsOverACancelledContextForSend) {
  auto the_chan = weft::make_chan<tracked_move_only>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const auto cancelled = weft::test::cancelled_context();
  weft::test::run_concurrently(
      ex(),
      [&, rx = rx]() mutable {
        for (int i = 0; i < 3; ++i) {
          auto r = rx.recv();
          ASSERT_TRUE(r);
          EXPECT_EQ(r->value(), i);
        }
      },
      [&, tx = tx]() mutable {
        auto give = [&](auto op, status not_yet, int val) {
          tracked_move_only v(val);
          weft::test::wait_until(
              [&] {
                const status st = op(std::move(v));
                if (st == status::ok) return true;
                EXPECT_EQ(st, not_yet);
                EXPECT_EQ(v.value(), val) << "a failed attempt keeps the value";
                return false;
              },
              "send to a waiting receiver");
        };
        give([&](tracked_move_only&& v) { return tx.send(std::move(v), cancelled); }, status::cancelled, 0);
        give([&](tracked_move_only&& v) { return tx.send_for(std::move(v), 0s); }, status::timeout, 1);
        give([&](tracked_move_only&& v) { return tx.send_until(std::move(v), clock::now() - 1s); },
             status::timeout, 2);
      });
}

TEST_P(UnbufferedChan, BlockedSendersDoNotShowInSize) {
  auto the_chan = weft::make_chan<int>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::run_concurrently(
      ex(), [&, tx = tx]() mutable { EXPECT_EQ(tx.send(1), status::ok); },
      [&, rx = rx]() mutable {
        weft::test::let_others_block();
        EXPECT_EQ(rx.size(), 0u);
        EXPECT_EQ(rx.capacity(), 0u);
        EXPECT_TRUE(rx.recv());
      });
}

TEST_P(UnbufferedChan, EverySendPairsWithExactlyOneRecv) {
  auto the_chan = weft::make_chan<int>(0);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const int per = static_cast<int>(weft::test::scale(500));
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  weft::test::run_concurrently_n(ex(), 4, [&, tx = tx, rx = rx](std::size_t i) mutable {
    if (i < 2) {
      for (int k = 1; k <= per; ++k) EXPECT_EQ(tx.send(k), status::ok);
    } else {
      for (int k = 0; k < per; ++k) {
        auto r = rx.recv();
        ASSERT_TRUE(r);
        sum.fetch_add(*r);
        count.fetch_add(1);
      }
    }
  });
  EXPECT_EQ(count.load(), 2 * per);
  EXPECT_EQ(sum.load(), 2L * per * (per + 1) / 2);
  EXPECT_EQ(rx.try_recv().code(), status::empty);
}

TEST_P(UnbufferedChan, PingPongAlternatesStrictly) {
  auto ping = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  const int n = static_cast<int>(weft::test::scale(2000));
  weft::test::run_concurrently(
      ex(),
      [&, tx = ping.tx, rx = pong.rx]() mutable {
        for (int i = 0; i < n; ++i) {
          ASSERT_EQ(tx.send(i), status::ok);
          auto r = rx.recv();
          ASSERT_TRUE(r);
          ASSERT_EQ(*r, i + 1);
        }
      },
      [&, rx = ping.rx, tx = pong.tx]() mutable {
        for (int i = 0; i < n; ++i) {
          auto r = rx.recv();
          ASSERT_TRUE(r);
          ASSERT_EQ(tx.send(*r + 1), status::ok);
        }
      });
}

// A select's case that registers after close() (its first try saw the channel open) must not be
// linked: a receive that starts after the close would otherwise take the select's value with
// `ok`, and the select's send would report `ok` after the close (the window lies between the
// select's registration and its re-check; here the registration is made by hand).
TEST(Unbuffered, ASelectCaseRegisteredAfterCloseCannotBePaired) {
  using namespace weft::detail;
  rendezvous_chan<int> c;
  ASSERT_TRUE(c.close());
  int v = 7;
  rendezvous_frame<int> sf(thread_parker());
  sf.e.packet = &sf.p;
  sf.p.src = &v;
  c.register_sender_always(sf.e);
  EXPECT_FALSE(sf.e.linked);
  weft::result<int> r = c.try_recv();
  EXPECT_EQ(r.code(), status::closed);
  EXPECT_EQ(sf.w.state(), waiter::waiting);  // nobody selected the send
  EXPECT_EQ(v, 7);
  rendezvous_frame<int> rf(thread_parker());
  rf.e.packet = &rf.p;
  c.register_receiver_always(rf.e);
  EXPECT_FALSE(rf.e.linked);
  int w = 8;
  EXPECT_EQ(c.try_send(w), status::closed);
  EXPECT_EQ(rf.w.state(), waiter::waiting);
  c.unregister_sender(sf.e);  // never linked: nothing to do
  c.unregister_receiver(rf.e);
}

}  // namespace

// Unbuffered (capacity 0) channels: a rendezvous. A send completes only when a receiver has
// taken the value; nothing is ever buffered; a non-blocking op succeeds only against a
// partner that is already waiting.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
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

// Waits of every kind on one channel at once: plain send/recv (which may wait in the channel's
// exclusive slot), timed ones and selects (which take the lock and move a slot's waiter into its
// list). Every value arrives exactly once. (The order a waiter in the slot keeps against the list
// is checked step by step in UnbufferedSlot below.)
TEST_P(UnbufferedChan, SlotListTimedAndSelectWaitsMixedDeliverEveryValueOnceInOrder) {
  auto the_chan = weft::make_chan<int>(0);
  // Never ready (nobody sends on the first, nobody receives on the second; both stay open):
  // the senders' and the receivers' selects get a second case.
  auto quiet_in = weft::make_chan<int>(0);
  auto quiet_out = weft::make_chan<int>(0);
  const int per = static_cast<int>(weft::test::scale(3000));
  constexpr int senders = 2;
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(senders * per));
  for (auto& x : seen) x.store(0);
  std::atomic<int> count{0};
  weft::test::run_concurrently_n(
      ex(), 4, [&, tx = the_chan.tx, rx = the_chan.rx, qrx = quiet_in.rx, qtx = quiet_out.tx](std::size_t i) mutable {
        if (i < senders) {
          for (int k = 0; k < per; ++k) {
            const int v = static_cast<int>(i) * per + k;
            switch (k % 3) {
              case 0: ASSERT_EQ(tx.send(v), status::ok); break;
              case 1: {
                status st;
                do st = tx.send_for(v, 50ms); while (st == status::timeout);
                ASSERT_EQ(st, status::ok);
                break;
              }
              default: {
                bool sent = false;
                weft::select(weft::on_send(tx, v, [&](status st) { sent = st == status::ok; }),
                             weft::on_recv(qrx, [](weft::result<int>&&) {}));
                ASSERT_TRUE(sent);
              }
            }
          }
          return;
        }
        for (int k = 0; k < per; ++k) {
          weft::result<int> r = status::empty;
          switch ((k + static_cast<int>(i)) % 3) {
            case 0: r = rx.recv(); break;
            case 1:
              do r = rx.recv_for(50ms); while (r.code() == status::timeout);
              break;
            default: {
              weft::select(weft::on_recv(rx, [&](weft::result<int>&& x) { r = std::move(x); }),
                           weft::on_send(qtx, 0, [](status) {}));
            }
          }
          ASSERT_TRUE(r);
          ASSERT_GE(*r, 0);
          ASSERT_LT(*r, senders * per);
          ASSERT_EQ(seen[static_cast<std::size_t>(*r)].fetch_add(1), 0) << "value " << *r << " arrived twice";
          count.fetch_add(1);
        }
      });
  EXPECT_EQ(count.load(), senders * per);
  EXPECT_EQ(the_chan.rx.try_recv().code(), status::empty);
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

// ---- the exclusive slot (flavor_rendezvous.hpp F1, F2), driven by hand on one thread ----------

using weft::detail::rendezvous_chan;
using weft::detail::rendezvous_frame;
using weft::detail::thread_parker;
using weft::detail::waiter;

struct send_frame : rendezvous_frame<int> {
  explicit send_frame(int* v) : rendezvous_frame<int>(thread_parker()) {
    e.packet = &p;
    p.src = v;
  }
};
struct recv_frame : rendezvous_frame<int> {
  recv_frame() : rendezvous_frame<int>(thread_parker()) { e.packet = &p; }
};

TEST(UnbufferedSlot, AnExclusiveWaitTakesTheSlotAndItsPartnerClaimsIt) {
  rendezvous_chan<int> c;
  recv_frame rf;
  ASSERT_TRUE(c.register_receiver(rf, true));
  EXPECT_FALSE(rf.e.linked);  // in the slot, not in the list
  EXPECT_FALSE(c.recv_may_complete());
  int v = 41;
  EXPECT_EQ(c.try_send(v), status::ok);
  EXPECT_EQ(rf.w.state(), waiter::selected(0));
  EXPECT_EQ(rendezvous_chan<int>::finish_recv(rf.p).value(), 41);
  rf.w.wait_released();
  int w = 42;
  EXPECT_EQ(c.try_send(w), status::full);  // the slot is free again: nobody waits
  EXPECT_EQ(w, 42);
}

TEST(UnbufferedSlot, ASecondWaiterQueuesBehindTheSlotsOneWhichStaysFirst) {
  rendezvous_chan<int> c;
  int a = 1, b = 2;
  send_frame first(&a), second(&b);
  ASSERT_TRUE(c.register_sender(first, true));
  ASSERT_TRUE(c.register_sender(second, true));  // slot taken: under the lock, behind it
  EXPECT_TRUE(first.e.linked);                     // moved from the slot into the list
  EXPECT_TRUE(second.e.linked);
  EXPECT_TRUE(c.recv_may_complete());
  EXPECT_EQ(c.try_recv().value(), 1);
  EXPECT_EQ(first.w.state(), waiter::selected(0));
  EXPECT_EQ(second.w.state(), waiter::waiting);
  EXPECT_EQ(c.try_recv().value(), 2);
  EXPECT_EQ(c.try_recv().code(), status::empty);
  // Both lists empty again: the next exclusive wait gets the slot.
  int d = 3;
  send_frame third(&d);
  ASSERT_TRUE(c.register_sender(third, true));
  EXPECT_FALSE(third.e.linked);
  EXPECT_EQ(c.try_recv().value(), 3);
}

TEST(UnbufferedSlot, AnExclusiveWaitPairsAtOnceWithThePartnerInTheSlot) {
  rendezvous_chan<int> c;
  int v = 5;
  send_frame s(&v);
  ASSERT_TRUE(c.register_sender(s, true));
  recv_frame r;
  EXPECT_FALSE(c.register_receiver(r, true));  // a sender waits: the caller pairs instead
  EXPECT_FALSE(r.e.linked);
  EXPECT_EQ(c.try_recv().value(), 5);
}

TEST(UnbufferedSlot, CloseDisconnectsTheSlotsWaiterAndLeavesItsValue) {
  rendezvous_chan<int> c;
  int v = 9;
  send_frame s(&v);
  ASSERT_TRUE(c.register_sender(s, true));
  ASSERT_TRUE(c.close());
  EXPECT_EQ(s.w.state(), waiter::disconnected);
  EXPECT_FALSE(s.e.linked);
  EXPECT_EQ(v, 9);
  EXPECT_EQ(c.try_recv().code(), status::closed);
  int w = 1;
  EXPECT_EQ(c.try_send(w), status::closed);
  recv_frame r;
  EXPECT_FALSE(c.register_receiver(r, true));  // closed: the slot is never used again
  c.unregister_sender(s.e);
}

TEST(UnbufferedSlot, ASelectRegistrationSeesTheSlotsWaiterInTheList) {
  rendezvous_chan<int> c;
  int v = 4;
  send_frame s(&v);
  ASSERT_TRUE(c.register_sender(s, true));
  recv_frame sel;
  c.register_receiver_always(sel.e);
  EXPECT_TRUE(s.e.linked);
  EXPECT_TRUE(c.recv_ready(&sel.w));  // the select's re-check finds the sender
  c.unregister_receiver(sel.e);
  EXPECT_EQ(c.try_recv(&sel.w).value(), 4);
}

TEST(UnbufferedSlot, UnregisteringAWaitStillInTheSlotFreesIt) {
  rendezvous_chan<int> c;
  recv_frame r;
  ASSERT_TRUE(c.register_receiver(r, true));
  c.unregister_receiver(r.e);
  EXPECT_FALSE(r.e.linked);
  EXPECT_EQ(r.w.state(), waiter::waiting);  // nobody selected it
  int v = 6;
  EXPECT_EQ(c.try_send(v), status::full);
  EXPECT_EQ(v, 6);
  recv_frame again;
  ASSERT_TRUE(c.register_receiver(again, true));
  EXPECT_FALSE(again.e.linked);  // the slot is free for the next one
  c.unregister_receiver(again.e);
}

// ---- the home block (flavor_rendezvous.hpp H2) ---------------------------------------------------

TEST(UnbufferedHome, OneWaitAtATimeHoldsItAndATaskNeverDoes) {
  rendezvous_chan<int> c;
  weft::detail::parker& pk = thread_parker();
  auto* h = c.take_home(pk);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(c.take_home(pk), nullptr);  // held: the next wait uses its stack frame
  weft::detail::parker other;
  EXPECT_EQ(c.take_home(other), nullptr);
  c.put_home();
  // A task's parker (any non-null owner) never gets it, even when it is free.
  weft::detail::parker task_pk(reinterpret_cast<weft::detail::task*>(alignof(std::max_align_t)));
  EXPECT_EQ(c.take_home(task_pk), nullptr);
  h = c.take_home(other);
  ASSERT_NE(h, nullptr);
  c.put_home();
}

TEST(UnbufferedHome, AWaitInItIsClaimedAndReleasedLikeAFrame) {
  rendezvous_chan<int> c;
  auto* h = c.take_home(thread_parker());
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(c.register_receiver(*h, true));
  EXPECT_TRUE(c.home_in_slot());
  EXPECT_FALSE(h->e.linked);
  int v = 17;
  EXPECT_EQ(c.try_send(v), status::ok);
  EXPECT_FALSE(c.home_in_slot());
  EXPECT_EQ(h->w.state(), waiter::selected(0));
  EXPECT_EQ(rendezvous_chan<int>::finish_recv(h->p).value(), 17);
  h->w.wait_released();
  c.put_home();
  // Rebuilt for the next wait: a sender this time, spilled into the list by a second sender
  // and then paired from there (a frame like any other, F1).
  h = c.take_home(thread_parker());
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->w.state(), waiter::waiting);
  int a = 1, b = 2;
  h->p.src = &a;
  ASSERT_TRUE(c.register_sender(*h, true));
  send_frame second(&b);
  ASSERT_TRUE(c.register_sender(second, true));
  EXPECT_TRUE(h->e.linked);
  EXPECT_FALSE(c.home_in_slot());
  EXPECT_EQ(c.try_recv().value(), 1);
  EXPECT_EQ(h->w.state(), waiter::selected(0));
  rendezvous_chan<int>::finish_send(h->p);
  h->w.wait_released();
  c.put_home();
  EXPECT_EQ(c.try_recv().value(), 2);
}

TEST(UnbufferedHome, AThreadsBlockingReceiveWaitsInItAndGivesItBack) {
  rendezvous_chan<int> c;
  int got = 0;
  std::thread r([&] { got = weft::detail::rendezvous_recv_slow(c, weft::detail::no_deadline, nullptr).value(); });
  const auto give_up = clock::now() + 20s;  // only against a hang
  while (!c.home_in_slot() && clock::now() < give_up) {
  }
  ASSERT_TRUE(c.home_in_slot());
  int v = 23;
  while (c.try_send(v) != status::ok && clock::now() < give_up) {
  }
  r.join();
  EXPECT_EQ(got, 23);
  auto* h = c.take_home(thread_parker());  // given back when the receive returned
  EXPECT_NE(h, nullptr);
  if (h != nullptr) c.put_home();
}

}  // namespace

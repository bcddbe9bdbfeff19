// Close and disconnect: "the sender side closes, the receiver side drains".
// close() is idempotent; sends after close return closed; receivers drain then get closed;
// the last sender gone closes; the last receiver gone makes pending and later sends closed;
// close and disconnect wake every blocked operation on both sides; values left in a
// channel are destroyed exactly once.
#include <atomic>
#include <chrono>
#include <optional>
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

class ChanClose : public ::testing::TestWithParam<weft::test::flavor_exec> {
 protected:
  flavor fl() const { return std::get<0>(GetParam()); }
  weft::test::exec ex() const { return std::get<1>(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(All, ChanClose, weft::test::flavor_exec_values(), weft::test::flavor_exec_name);

// Every receive form on a closed and drained channel returns closed (none blocks).
void expect_every_recv_closed(weft::receiver<tracked_move_only>& rx) {
  EXPECT_EQ(rx.recv().code(), status::closed);
  EXPECT_EQ(rx.try_recv().code(), status::closed);
  EXPECT_EQ(rx.recv_for(weft::test::hang_deadline()).code(), status::closed);
  EXPECT_EQ(rx.recv_for(0s).code(), status::closed);
  EXPECT_EQ(rx.recv_until(clock::now() + weft::test::hang_deadline()).code(), status::closed);
  EXPECT_EQ(rx.recv(weft::background()).code(), status::closed);
  EXPECT_EQ(rx.recv(weft::test::cancelled_context()).code(), status::closed)
      << "closed and drained can complete at once: it wins over a cancelled context";
}

// Every send form on a closed (or disconnected) channel returns closed and keeps the value.
void expect_every_send_closed(weft::sender<tracked_move_only>& tx) {
  tracked_move_only v(1234);
  EXPECT_EQ(tx.send(std::move(v)), status::closed);
  EXPECT_EQ(tx.try_send(std::move(v)), status::closed);
  EXPECT_EQ(tx.send_for(std::move(v), weft::test::hang_deadline()), status::closed);
  EXPECT_EQ(tx.send_for(std::move(v), 0s), status::closed);
  EXPECT_EQ(tx.send_until(std::move(v), clock::now() + weft::test::hang_deadline()), status::closed);
  EXPECT_EQ(tx.send(std::move(v), weft::background()), status::closed);
  EXPECT_EQ(tx.send(std::move(v), weft::test::cancelled_context()), status::closed)
      << "closed can complete at once: it wins over a cancelled context";
  EXPECT_EQ(v.value(), 1234) << "a send that returned closed left the value with the caller";
}

TEST_P(ChanClose, CloseIsIdempotent) {
  auto the_chan = weft::test::make<int>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  EXPECT_FALSE(tx.is_closed());
  tx.close();
  EXPECT_NO_THROW(tx.close());
  auto tx2 = tx;
  EXPECT_NO_THROW(tx2.close());
  EXPECT_TRUE(tx.is_closed());
  EXPECT_TRUE(rx.is_closed());
  EXPECT_EQ(rx.try_recv().code(), status::closed);
}

TEST_P(ChanClose, EverySendAfterCloseReturnsClosed) {
  leak_check guard;
  auto the_chan = weft::test::make<tracked_move_only>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  tx.close();
  expect_every_send_closed(tx);
  EXPECT_EQ(rx.size(), 0u);
}

TEST_P(ChanClose, ConstRefSendAfterCloseReturnsClosed) {
  leak_check guard;
  auto the_chan = weft::test::make<tracked>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  tx.close();
  const tracked v(5);
  EXPECT_EQ(tx.send(v), status::closed);
  EXPECT_EQ(tx.try_send(v), status::closed);
  EXPECT_EQ(tx.send_for(v, 1s), status::closed);
  EXPECT_EQ(tx.send_until(v, clock::now() + 1s), status::closed);
  EXPECT_EQ(tx.send(v, weft::background()), status::closed);
  EXPECT_EQ(v.value(), 5);
  guard.expect_live(1, "(only the caller's value; nothing was copied into the channel and kept)");
}

TEST_P(ChanClose, ReceiversDrainBufferedValuesThenGetClosed) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "nothing is buffered";
  leak_check guard;
  auto the_chan = weft::test::make<tracked_move_only>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const int n = static_cast<int>(std::min<std::size_t>(weft::test::buffer_of(fl()), 10));
  for (int i = 0; i < n; ++i) ASSERT_EQ(tx.try_send(tracked_move_only(i)), status::ok);
  tx.close();
  EXPECT_TRUE(rx.is_closed()) << "is_closed is true even while values remain";
  EXPECT_EQ(rx.size(), static_cast<std::size_t>(n));
  // Each receive form still gets a value while some remain, in order.
  for (int i = 0; i < n; ++i) {
    weft::result<tracked_move_only> r = (i % 4 == 0)   ? rx.recv()
                                        : (i % 4 == 1) ? rx.try_recv()
                                        : (i % 4 == 2) ? rx.recv_for(0s)
                                                       : rx.recv(weft::test::cancelled_context());
    ASSERT_TRUE(r) << "value " << i << ": " << r.code();
    EXPECT_EQ(r->value(), i);
  }
  expect_every_recv_closed(rx);
}

TEST_P(ChanClose, DroppingTheLastSenderClosesTheChannel) {
  auto ch = weft::test::make<int>(fl());
  auto rx = ch.rx;
  std::optional<weft::sender<int>> a(std::move(ch.tx));
  std::optional<weft::sender<int>> b(*a);
  a.reset();
  EXPECT_FALSE(rx.is_closed()) << "a sender copy still lives";
  EXPECT_EQ(rx.try_recv().code(), status::empty);
  b.reset();
  EXPECT_TRUE(rx.is_closed());
  EXPECT_EQ(rx.recv().code(), status::closed);
}

TEST_P(ChanClose, AMovedFromSenderDoesNotKeepTheChannelOpen) {
  auto ch = weft::test::make<int>(fl());
  auto rx = ch.rx;
  {
    weft::sender<int> moved = std::move(ch.tx);  // ch.tx is now empty
  }
  EXPECT_TRUE(rx.is_closed());
  EXPECT_EQ(rx.recv().code(), status::closed);
}

TEST_P(ChanClose, AssigningOverTheLastSenderClosesItsChannel) {
  auto a = weft::test::make<int>(fl());
  auto b = weft::test::make<int>(fl());
  a.tx = b.tx;  // a's only sender is replaced
  EXPECT_TRUE(a.rx.is_closed());
  EXPECT_EQ(a.rx.recv().code(), status::closed);
  EXPECT_FALSE(b.rx.is_closed());
}

TEST_P(ChanClose, DroppingTheLastReceiverMakesLaterSendsClosed) {
  leak_check guard;
  auto ch = weft::test::make<tracked_move_only>(fl());
  auto tx = ch.tx;
  std::optional<weft::receiver<tracked_move_only>> a(std::move(ch.rx));
  std::optional<weft::receiver<tracked_move_only>> b(*a);
  a.reset();
  EXPECT_FALSE(tx.is_closed()) << "a receiver copy still lives";
  b.reset();
  EXPECT_TRUE(tx.is_closed()) << "sender's is_closed: every receiver gone";
  expect_every_send_closed(tx);
}

TEST_P(ChanClose, AMovedFromReceiverDoesNotKeepTheChannelReadable) {
  auto ch = weft::test::make<tracked_move_only>(fl());
  auto tx = ch.tx;
  { weft::receiver<tracked_move_only> moved = std::move(ch.rx); }
  EXPECT_TRUE(tx.is_closed());
  expect_every_send_closed(tx);
}

TEST_P(ChanClose, CloseWakesEveryBlockedReceiver) {
  auto the_chan = weft::test::make<tracked_move_only>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  constexpr int receivers = 4;
  std::atomic<int> woken{0};
  weft::test::run_concurrently_n(ex(), receivers + 1, [&, tx = tx, rx = rx](std::size_t i) mutable {
    switch (i) {
      case 0: EXPECT_EQ(rx.recv().code(), status::closed); break;
      case 1: EXPECT_EQ(rx.recv_for(weft::test::hang_deadline()).code(), status::closed); break;
      case 2: EXPECT_EQ(rx.recv(weft::background()).code(), status::closed); break;
      case 3:
        EXPECT_EQ(rx.recv_until(clock::now() + weft::test::hang_deadline()).code(), status::closed);
        break;
      default:
        weft::test::let_others_block();
        tx.close();
        return;
    }
    woken.fetch_add(1);
  });
  EXPECT_EQ(woken.load(), receivers);
}

TEST_P(ChanClose, LastSenderGoneWakesEveryBlockedReceiver) {
  auto ch = weft::test::make<int>(fl());
  auto rx = ch.rx;
  std::optional<weft::sender<int>> last(std::move(ch.tx));
  weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
    if (i < 3) {
      auto r = rx;  // a copy per receiver; the shared handle is used concurrently too
      EXPECT_EQ((i == 0 ? rx.recv() : r.recv()).code(), status::closed);
    } else {
      weft::test::let_others_block();
      last.reset();
    }
  });
}

TEST_P(ChanClose, CloseWakesEveryBlockedSenderAndKeepsTheirValues) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded sends never block";
  leak_check guard;
  {
    auto the_chan = weft::test::make<tracked_move_only>(fl());
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    const std::size_t buffered = weft::test::fill(tx, [](int i) { return tracked_move_only(i); });
    weft::test::run_concurrently_n(ex(), 5, [&, tx = tx](std::size_t i) mutable {
      tracked_move_only v(1000 + static_cast<int>(i));
      status st = status::ok;
      switch (i) {
        case 0: st = tx.send(std::move(v)); break;
        case 1: st = tx.send_for(std::move(v), weft::test::hang_deadline()); break;
        case 2: st = tx.send(std::move(v), weft::background()); break;
        case 3: st = tx.send_until(std::move(v), clock::now() + weft::test::hang_deadline()); break;
        default:
          weft::test::let_others_block();
          tx.close();
          return;
      }
      EXPECT_EQ(st, status::closed);
      EXPECT_EQ(v.value(), 1000 + static_cast<int>(i)) << "closed send keeps the value";
    });
    // The values buffered before close still drain, and only they.
    for (std::size_t i = 0; i < buffered; ++i) {
      auto r = rx.try_recv();
      ASSERT_TRUE(r);
      EXPECT_EQ(r->value(), static_cast<int>(i));
    }
    EXPECT_EQ(rx.try_recv().code(), status::closed);
  }
}

TEST_P(ChanClose, LastReceiverGoneWakesEveryPendingSender) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded sends never block";
  leak_check guard;
  {
    auto ch = weft::test::make<tracked_move_only>(fl());
    auto tx = ch.tx;
    weft::test::fill(tx, [](int i) { return tracked_move_only(i); });
    std::optional<weft::receiver<tracked_move_only>> last(std::move(ch.rx));
    weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
      tracked_move_only v(500 + static_cast<int>(i));
      status st = status::ok;
      switch (i) {
        case 0: st = tx.send(std::move(v)); break;
        case 1: st = tx.send_for(std::move(v), weft::test::hang_deadline()); break;
        case 2: st = tx.send(std::move(v), weft::background()); break;
        default:
          weft::test::let_others_block();
          last.reset();
          return;
      }
      EXPECT_EQ(st, status::closed) << "nobody can ever read: a pending send must not block forever";
      EXPECT_EQ(v.value(), 500 + static_cast<int>(i));
    });
    EXPECT_TRUE(tx.is_closed());
  }
}

TEST_P(ChanClose, ValuesLeftInAChannelAreDestroyedExactlyOnceWithIt) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "nothing is buffered";
  leak_check guard;
  {
    auto the_chan = weft::test::make<tracked>(fl());
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    const int n = static_cast<int>(std::min<std::size_t>(weft::test::buffer_of(fl()), 100));
    for (int i = 0; i < n; ++i) ASSERT_EQ(tx.try_send(tracked(i)), status::ok);
    guard.expect_live(n, "(buffered values only: temporaries are gone)");
    (void)rx.try_recv();  // one taken and destroyed right away
    guard.expect_live(n - 1);
  }
  guard.verify();
}

TEST_P(ChanClose, ValuesLeftAfterTheReceiversWentAreDestroyedWhenTheSendersGo) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "nothing is buffered";
  leak_check guard;
  {
    auto ch = weft::test::make<tracked>(fl());
    auto tx = std::move(ch.tx);
    for (int i = 0; i < 3 && static_cast<std::size_t>(i) < weft::test::buffer_of(fl()); ++i)
      ASSERT_EQ(tx.try_send(tracked(i)), status::ok);
    { auto gone = std::move(ch.rx); }
    EXPECT_TRUE(tx.is_closed());
  }
  guard.verify();
}

TEST_P(ChanClose, ValuesLeftAfterCloseAreDestroyedWhenTheReceiversGo) {
  if (fl() == flavor::unbuffered) GTEST_SKIP() << "nothing is buffered";
  leak_check guard;
  {
    auto ch = weft::test::make<tracked>(fl());
    auto rx = std::move(ch.rx);
    for (int i = 0; i < 3 && static_cast<std::size_t>(i) < weft::test::buffer_of(fl()); ++i)
      ASSERT_EQ(ch.tx.try_send(tracked(i)), status::ok);
    { auto gone = std::move(ch.tx); }
    EXPECT_TRUE(rx.is_closed());
  }
  guard.verify();
}

TEST_P(ChanClose, CloseRacingWithSendsLosesNothing) {
  leak_check guard;
  {
    auto the_chan = weft::test::make<tracked_move_only>(fl());
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    std::atomic<int> sent_ok{0}, kept{0};
    std::atomic<long> sum_sent{0}, sum_kept{0};
    int received = 0;
    long sum_received = 0;
    const int per_sender = static_cast<int>(weft::test::scale(300));
    weft::test::run_concurrently_n(ex(), 3, [&, tx = tx, rx = rx](std::size_t i) mutable {
      if (i < 2) {
        for (int k = 0; k < per_sender; ++k) {
          const int val = static_cast<int>(i) * 100000 + k;
          tracked_move_only v(val);
          const status st = (k % 2 == 0) ? tx.send(std::move(v)) : tx.send_for(std::move(v), 50ms);
          if (st == status::ok) {
            sent_ok.fetch_add(1);
            sum_sent.fetch_add(val);
          } else {
            EXPECT_TRUE(st == status::closed || st == status::timeout) << st;
            EXPECT_EQ(v.value(), val);
            kept.fetch_add(1);
            sum_kept.fetch_add(val);
          }
        }
      } else if (i == 2) {
        for (int k = 0; k < per_sender / 2; ++k) {
          auto r = rx.recv();
          if (!r) break;
          ++received;
          sum_received += r->value();
        }
        tx.close();
        for (;;) {  // drain the rest
          auto r = rx.recv();
          if (!r) {
            EXPECT_EQ(r.code(), status::closed);
            break;
          }
          ++received;
          sum_received += r->value();
        }
      }
    });
    EXPECT_EQ(received, sent_ok.load()) << "every ok send was received exactly once";
    EXPECT_EQ(sum_received, sum_sent.load());
    EXPECT_EQ(sent_ok.load() + kept.load(), 2 * per_sender);
  }
}

}  // namespace

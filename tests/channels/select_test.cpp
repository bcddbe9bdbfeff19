// select(): blocks until one case fires and returns its index. Several ready cases: one is
// chosen uniformly at random. Exactly one case fires; the others have no effect (a send case
// that did not fire did not send). on_timeout / on_deadline / on_done / otherwise; select on
// a future from make_oneshot.
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
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
using weft::test::tracked_move_only;

class Select : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, Select, weft::test::exec_values(), weft::test::exec_param_name);

/// Pearson's chi-square statistic of `counts` against a uniform distribution.
template <std::size_t N>
double chi_square(const std::array<int, N>& counts) {
  double total = 0;
  for (int c : counts) total += c;
  const double expected = total / static_cast<double>(N);
  double chi = 0;
  for (int c : counts) chi += (c - expected) * (c - expected) / expected;
  return chi;
}

TEST_P(Select, RunsOnlyTheReadyCaseAndReturnsItsIndex) {
  auto a = weft::make_chan<int>(1);
  auto b = weft::make_chan<int>(1);
  auto c = weft::make_chan<int>(1);
  ASSERT_EQ(b.tx.try_send(7), status::ok);
  std::array<int, 3> fired{};
  int got = 0;
  const std::size_t i = weft::select(
      weft::on_recv(a.rx, [&](weft::result<int>&&) { ++fired[0]; }),
      weft::on_recv(b.rx, [&](weft::result<int>&& r) {
        ++fired[1];
        ASSERT_TRUE(r);
        got = *r;
      }),
      weft::on_recv(c.rx, [&](weft::result<int>&&) { ++fired[2]; }));
  EXPECT_EQ(i, 1u);
  EXPECT_EQ(fired, (std::array<int, 3>{0, 1, 0}));
  EXPECT_EQ(got, 7);
  EXPECT_EQ(b.rx.size(), 0u);
}

TEST_P(Select, RecvCaseOnAClosedDrainedChannelFiresWithClosed) {
  auto a = weft::make_chan<int>(1);
  auto b = weft::make_chan<int>(1);
  b.tx.close();
  status seen = status::ok;
  const std::size_t i = weft::select(weft::on_recv(a.rx, [&](weft::result<int>&&) { seen = status::empty; }),
                                     weft::on_recv(b.rx, [&](weft::result<int>&& r) { seen = r.code(); }));
  EXPECT_EQ(i, 1u);
  EXPECT_EQ(seen, status::closed);
}

TEST_P(Select, SendCaseOnAClosedChannelFiresWithClosed) {
  auto a = weft::make_chan<int>(0);
  status seen = status::ok;
  a.tx.close();
  auto other = weft::make_chan<int>(0);
  const std::size_t i = weft::select(weft::on_recv(other.rx, [&](weft::result<int>&&) {}),
                                     weft::on_send(a.tx, 1, [&](status s) { seen = s; }));
  EXPECT_EQ(i, 1u);
  EXPECT_EQ(seen, status::closed);
}

TEST_P(Select, SendCaseToAChannelWithoutReceiversFiresWithClosed) {
  auto ch = weft::make_chan<int>(0);
  auto tx = ch.tx;
  { auto gone = std::move(ch.rx); }
  status seen = status::ok;
  EXPECT_EQ(weft::select(weft::on_send(tx, 1, [&](status s) { seen = s; })), 0u);
  EXPECT_EQ(seen, status::closed);
}

TEST_P(Select, ChoosesUniformlyAmongReadyRecvCases) {
  const int rounds = static_cast<int>(std::max<std::size_t>(weft::test::scale(4000), 800));
  std::array<weft::chan<int>, 4> ch{weft::make_unbounded_chan<int>(), weft::make_unbounded_chan<int>(),
                                    weft::make_unbounded_chan<int>(), weft::make_unbounded_chan<int>()};
  for (auto& c : ch)
    for (int k = 0; k < rounds; ++k) ASSERT_EQ(c.tx.try_send(k), status::ok);
  std::array<int, 4> counts{};
  int repeats = 0;
  std::size_t last = 99;
  for (int k = 0; k < rounds; ++k) {
    const std::size_t i = weft::select(weft::on_recv(ch[0].rx, [](weft::result<int>&&) {}),
                                       weft::on_recv(ch[1].rx, [](weft::result<int>&&) {}),
                                       weft::on_recv(ch[2].rx, [](weft::result<int>&&) {}),
                                       weft::on_recv(ch[3].rx, [](weft::result<int>&&) {}));
    ASSERT_LT(i, 4u);
    ++counts[i];
    if (i == last) ++repeats;
    last = i;
  }
  // chi-square, 3 degrees of freedom: 30 has p ~ 1e-6. A first-ready bias fails by far.
  EXPECT_LT(chi_square(counts), 30.0) << counts[0] << " " << counts[1] << " " << counts[2] << " " << counts[3];
  // Random, not round-robin: the same case twice in a row about 1/4 of the time.
  EXPECT_GT(repeats, rounds / 8) << "choices look like a rotation, not random";
  EXPECT_LT(repeats, rounds / 2);
  // Exactly one value was taken per select.
  std::size_t left = 0;
  for (auto& c : ch) left += c.rx.size();
  EXPECT_EQ(left, static_cast<std::size_t>(3 * rounds));
}

TEST_P(Select, ChoosesUniformlyAmongReadySendAndRecvCasesWhateverTheirPosition) {
  const int rounds = static_cast<int>(std::max<std::size_t>(weft::test::scale(3000), 600));
  auto never1 = weft::make_chan<int>(0);
  auto ready_recv = weft::make_unbounded_chan<int>();
  auto never2 = weft::make_chan<int>(0);
  auto ready_send = weft::make_unbounded_chan<int>();
  for (int k = 0; k < rounds; ++k) ASSERT_EQ(ready_recv.tx.try_send(k), status::ok);
  std::array<int, 2> counts{};
  for (int k = 0; k < rounds; ++k) {
    const std::size_t i = weft::select(weft::on_recv(never1.rx, [](weft::result<int>&&) {}),
                                       weft::on_recv(ready_recv.rx, [](weft::result<int>&&) {}),
                                       weft::on_recv(never2.rx, [](weft::result<int>&&) {}),
                                       weft::on_send(ready_send.tx, k, [](status s) { EXPECT_EQ(s, status::ok); }));
    ASSERT_TRUE(i == 1 || i == 3) << i;
    ++counts[i == 1 ? 0 : 1];
  }
  // 1 degree of freedom: 25 has p ~ 6e-7.
  EXPECT_LT(chi_square(counts), 25.0) << counts[0] << " " << counts[1];
  EXPECT_EQ(ready_send.rx.size(), static_cast<std::size_t>(counts[1])) << "each send case that fired sent once";
  EXPECT_EQ(ready_recv.rx.size(), static_cast<std::size_t>(rounds - counts[0]));
}

// The channel cases after a timer case (their indices do not start at 0), some never ready:
// the lazily drawn order must still be uniform among the ready ones, also when the first pick
// is a case that cannot complete.
TEST_P(Select, ChoosesUniformlyAmongReadyCasesBehindATimerCaseAndNeverReadyOnes) {
  const int rounds = static_cast<int>(std::max<std::size_t>(weft::test::scale(3000), 600));
  auto never = weft::make_chan<int>(0);
  std::array<weft::chan<int>, 3> ready{weft::make_unbounded_chan<int>(), weft::make_unbounded_chan<int>(),
                                       weft::make_unbounded_chan<int>()};
  for (auto& c : ready)
    for (int k = 0; k < rounds; ++k) ASSERT_EQ(c.tx.try_send(k), status::ok);
  std::array<int, 3> counts{};
  int timer_fired = 0;
  for (int k = 0; k < rounds; ++k) {
    const std::size_t i = weft::select(weft::on_timeout(1h, [&] { ++timer_fired; }),
                                       weft::on_recv(ready[0].rx, [](weft::result<int>&&) {}),
                                       weft::on_recv(never.rx, [](weft::result<int>&&) {}),
                                       weft::on_recv(ready[1].rx, [](weft::result<int>&&) {}),
                                       weft::on_recv(ready[2].rx, [](weft::result<int>&&) {}));
    ASSERT_TRUE(i == 1 || i == 3 || i == 4) << i;
    ++counts[i == 1 ? 0 : i - 2];
  }
  EXPECT_EQ(timer_fired, 0);
  // 2 degrees of freedom: 28 has p ~ 1e-6.
  EXPECT_LT(chi_square(counts), 28.0) << counts[0] << " " << counts[1] << " " << counts[2];
  std::size_t left = 0;
  for (auto& c : ready) left += c.rx.size();
  EXPECT_EQ(left, static_cast<std::size_t>(2 * rounds)) << "exactly one value taken per select";
}

TEST_P(Select, ANonFiringSendCaseSendsNothingAndItsValueIsNotLeaked) {
  leak_check guard;
  {
    auto out = weft::make_unbounded_chan<tracked_move_only>();
    auto in = weft::make_unbounded_chan<tracked_move_only>();
    const int rounds = 200;
    for (int k = 0; k < rounds; ++k) ASSERT_EQ(in.tx.try_send(tracked_move_only(k)), status::ok);
    int sent = 0, received = 0;
    for (int k = 0; k < rounds; ++k) {
      const std::size_t i = weft::select(
          weft::on_send(out.tx, tracked_move_only(1000 + k), [&](status s) {
            EXPECT_EQ(s, status::ok);
            ++sent;
          }),
          weft::on_recv(in.rx, [&](weft::result<tracked_move_only>&& r) {
            ASSERT_TRUE(r);
            ++received;
          }));
      EXPECT_EQ(sent + received, k + 1) << "exactly one case fired (select " << i << ")";
      ASSERT_EQ(out.rx.size(), static_cast<std::size_t>(sent)) << "a send case sent without firing";
      ASSERT_EQ(in.rx.size(), static_cast<std::size_t>(rounds - received));
      guard.expect_live(static_cast<long>(out.rx.size() + in.rx.size()),
                        "(only values in channels: the unsent case value was destroyed once)");
    }
    EXPECT_GT(sent, 0);
    EXPECT_GT(received, 0);
    // What was sent is exactly the values of the send cases that fired, in order.
    int prev = -1;
    while (auto r = out.rx.try_recv()) {
      EXPECT_GT(r->value(), prev);
      prev = r->value();
    }
  }
}

TEST_P(Select, SendCaseBlockedOnAFullChannelLeavesItUnchangedWhenARecvFires) {
  leak_check guard;
  {
    auto full = weft::make_chan<tracked>(1);
    ASSERT_EQ(full.tx.try_send(tracked(1)), status::ok);
    auto in = weft::make_chan<tracked>(1);
    ASSERT_EQ(in.tx.try_send(tracked(2)), status::ok);
    const std::size_t i = weft::select(weft::on_send(full.tx, tracked(3), [](status) { ADD_FAILURE(); }),
                                       weft::on_recv(in.rx, [](weft::result<tracked>&& r) {
                                         ASSERT_TRUE(r);
                                         EXPECT_EQ(r->value(), 2);
                                       }));
    EXPECT_EQ(i, 1u);
    ASSERT_EQ(full.rx.size(), 1u);
    EXPECT_EQ(full.rx.try_recv()->value(), 1);
    guard.expect_live(0);
  }
}

TEST_P(Select, OtherwiseFiresOnlyWhenNothingIsReady) {
  auto a = weft::make_chan<int>(1);
  bool other = false;
  EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) { ADD_FAILURE(); }),
                         weft::otherwise([&] { other = true; })),
            1u);
  EXPECT_TRUE(other);
  for (int k = 0; k < 50; ++k) {
    ASSERT_EQ(a.tx.try_send(k), status::ok);
    EXPECT_EQ(weft::select(weft::on_recv(a.rx, [&](weft::result<int>&& r) { EXPECT_EQ(*r, k); }),
                           weft::otherwise([] { ADD_FAILURE() << "otherwise fired though a value was ready"; })),
              0u);
  }
  EXPECT_EQ(a.rx.size(), 0u);
}

TEST_P(Select, OtherwiseNeverBlocksOnAnUnbufferedSendWithoutReceiver) {
  auto a = weft::make_chan<int>(0);
  const std::size_t i = weft::select(weft::on_send(a.tx, 1, [](status) { ADD_FAILURE(); }), weft::otherwise([] {}));
  EXPECT_EQ(i, 1u);
}

TEST_P(Select, OnTimeoutFiresNoEarlierThanItsDurationWhenNothingIsReady) {
  auto a = weft::make_chan<int>(0);
  const auto t0 = clock::now();
  bool timed_out = false;
  const std::size_t i = weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) { ADD_FAILURE(); }),
                                     weft::on_timeout(20ms, [&] { timed_out = true; }));
  EXPECT_EQ(i, 1u);
  EXPECT_TRUE(timed_out);
  EXPECT_GE(weft::test::since(t0), 20ms);
}

TEST_P(Select, AReadyCaseBeatsALongTimeout) {
  auto a = weft::make_chan<int>(1);
  ASSERT_EQ(a.tx.try_send(3), status::ok);
  EXPECT_EQ(weft::select(weft::on_timeout(1h, [] { ADD_FAILURE(); }),
                         weft::on_recv(a.rx, [](weft::result<int>&& r) { EXPECT_EQ(*r, 3); })),
            1u);
}

TEST_P(Select, NegativeOrZeroTimeoutFiresAtOnceWhenNothingIsReady) {
  auto a = weft::make_chan<int>(0);
  for (auto d : {std::chrono::nanoseconds(0), std::chrono::nanoseconds(-1000000000),
                 std::chrono::nanoseconds::min()}) {
    bool fired = false;
    EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) {}), weft::on_timeout(d, [&] { fired = true; })),
              1u);
    EXPECT_TRUE(fired);
  }
}

TEST_P(Select, OnDeadlineFiresAtItsTimePoint) {
  auto a = weft::make_chan<int>(0);
  const auto t = clock::now() + 20ms;
  EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) {}), weft::on_deadline(t, [] {})), 1u);
  EXPECT_GE(clock::now(), t);
  EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) {}),
                         weft::on_deadline(clock::now() - 1s, [] {})),
            1u)
      << "a deadline in the past fires at once";
}

TEST_P(Select, OnDoneFiresWhenTheContextIsCancelledWhileBlocked) {
  auto a = weft::make_chan<int>(0);
  auto cc = weft::with_cancel(weft::background());
  auto& ctx = cc.first;
  auto& cancel = cc.second;
  weft::test::run_concurrently(
      ex(),
      [&] {
        bool done = false;
        EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) { ADD_FAILURE(); }),
                               weft::on_done(ctx, [&] { done = true; })),
                  1u);
        EXPECT_TRUE(done);
      },
      [&] {
        weft::test::let_others_block();
        cancel();
      });
}

TEST_P(Select, OnDoneFiresWhenTheContextDeadlinePasses) {
  auto a = weft::make_chan<int>(0);
  const auto t0 = clock::now();
  auto [ctx, cancel] = weft::with_timeout(weft::background(), 20ms);
  EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) {}), weft::on_done(ctx, [] {})), 1u);
  EXPECT_GE(weft::test::since(t0), 20ms);
  EXPECT_EQ(ctx.err(), status::timeout);
}

TEST_P(Select, ContextDoneChannelIsUsableAsARecvCase) {
  auto a = weft::make_chan<int>(0);
  auto cc = weft::with_cancel(weft::background());
  auto done = cc.first.done();
  weft::test::run_concurrently(
      ex(),
      [&] {
        status seen = status::ok;
        EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) {}),
                               weft::on_recv(done, [&](auto&& r) { seen = r.code(); })),
                  1u);
        EXPECT_EQ(seen, status::closed);
      },
      [&] {
        weft::test::let_others_block();
        cc.second();
      });
}

TEST_P(Select, BlockedSelectWakesForTheCaseThatBecomesReady) {
  auto a = weft::make_chan<int>(0);
  auto b = weft::make_chan<int>(0);
  weft::test::run_concurrently(
      ex(),
      [&] {
        int got = 0;
        EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) { ADD_FAILURE(); }),
                               weft::on_recv(b.rx, [&](weft::result<int>&& r) { got = *r; })),
                  1u);
        EXPECT_EQ(got, 5);
      },
      [&, tx = b.tx]() mutable {
        weft::test::let_others_block();
        EXPECT_EQ(tx.send(5), status::ok);
      });
}

TEST_P(Select, BlockedSendCaseHandsItsValueToALateReceiver) {
  leak_check guard;
  {
    auto a = weft::make_chan<tracked_move_only>(0);
    auto b = weft::make_chan<tracked_move_only>(0);
    weft::test::run_concurrently(
        ex(),
        [&] {
          status seen = status::closed;
          EXPECT_EQ(weft::select(weft::on_send(a.tx, tracked_move_only(1), [](status) { ADD_FAILURE(); }),
                                 weft::on_send(b.tx, tracked_move_only(2), [&](status s) { seen = s; })),
                    1u);
          EXPECT_EQ(seen, status::ok);
        },
        [&, rx = b.rx]() mutable {
          weft::test::let_others_block();
          auto r = rx.recv();
          ASSERT_TRUE(r);
          EXPECT_EQ(r->value(), 2);
        });
    EXPECT_EQ(a.rx.try_recv().code(), status::empty) << "the losing send case sent nothing";
  }
}

TEST_P(Select, CloseWakesABlockedSelect) {
  auto a = weft::make_chan<int>(0);
  auto b = weft::make_chan<int>(0);
  weft::test::run_concurrently(
      ex(),
      [&] {
        status seen = status::ok;
        EXPECT_EQ(weft::select(weft::on_recv(a.rx, [](weft::result<int>&&) { ADD_FAILURE(); }),
                               weft::on_recv(b.rx, [&](weft::result<int>&& r) { seen = r.code(); })),
                  1u);
        EXPECT_EQ(seen, status::closed);
      },
      [&] {
        weft::test::let_others_block();
        b.tx.close();
      });
}

TEST_P(Select, ASelectDoesNotRendezvousWithItself) {
  // Go spec: a select with a send and a receive on the same unbuffered channel cannot
  // complete by itself (it would fire two cases).
  auto a = weft::make_chan<int>(0);
  const std::size_t i = weft::select(weft::on_send(a.tx, 1, [](status) { ADD_FAILURE(); }),
                                     weft::on_recv(a.rx, [](weft::result<int>&&) { ADD_FAILURE(); }),
                                     weft::on_timeout(20ms, [] {}));
  EXPECT_EQ(i, 2u);
}

TEST_P(Select, ConcurrentSelectsDeliverEveryValueExactlyOnce) {
  auto a = weft::make_chan<int>(0);
  auto b = weft::make_chan<int>(2);
  const int per = static_cast<int>(weft::test::scale(1000));
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
    if (i < 2) {
      auto& tx = (i == 0 ? a.tx : b.tx);
      for (int k = 1; k <= per; ++k) EXPECT_EQ(tx.send(k), status::ok);
    } else {
      for (int k = 0; k < per; ++k) {
        weft::select(weft::on_recv(a.rx,
                                   [&](weft::result<int>&& r) {
                                     ASSERT_TRUE(r);
                                     sum.fetch_add(*r);
                                     count.fetch_add(1);
                                   }),
                     weft::on_recv(b.rx, [&](weft::result<int>&& r) {
                       ASSERT_TRUE(r);
                       sum.fetch_add(*r);
                       count.fetch_add(1);
                     }));
      }
    }
  });
  EXPECT_EQ(count.load(), 2 * per);
  EXPECT_EQ(sum.load(), 2L * per * (per + 1) / 2);
}

TEST_P(Select, ConcurrentSendSelectsSendEachValueExactlyOnce) {
  leak_check guard;
  {
    auto a = weft::make_chan<tracked_move_only>(0);
    auto b = weft::make_chan<tracked_move_only>(1);
    const int per = static_cast<int>(weft::test::scale(500));
    std::atomic<long> sum{0};
    std::atomic<int> sent{0};
    weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
      if (i < 2) {
        for (int k = 1; k <= per; ++k) {
          weft::select(weft::on_send(a.tx, tracked_move_only(k), [&](status s) { EXPECT_EQ(s, status::ok); }),
                       weft::on_send(b.tx, tracked_move_only(k), [&](status s) { EXPECT_EQ(s, status::ok); }));
          sent.fetch_add(1);
        }
      } else {
        auto& rx = (i == 2 ? a.rx : b.rx);
        for (;;) {
          auto r = rx.recv_for(200ms);
          if (!r) {
            if (sent.load() == 2 * per) break;
            continue;
          }
          sum.fetch_add(r->value());
        }
      }
    });
    while (auto r = b.rx.try_recv()) sum.fetch_add(r->value());
    EXPECT_EQ(sum.load(), 2L * per * (per + 1) / 2) << "each select sent exactly one of its two values";
  }
}

TEST_P(Select, WithNoCasesThrowsWeftError) {
  EXPECT_THROW(weft::select(), weft::error);
  weft::selector sel;
  EXPECT_THROW(sel.wait(), weft::error) << "a selector with no cases can never fire";
}

// ---- select on a future (make_oneshot) ----

TEST_P(Select, OnAFutureGetsTheValueSetConcurrently) {
  auto pf = weft::make_oneshot<int>();
  auto& p = pf.first;
  auto& f = pf.second;
  auto never = weft::make_chan<int>(0);
  weft::test::run_concurrently(
      ex(),
      [&] {
        int got = 0;
        EXPECT_EQ(weft::select(weft::on_recv(never.rx, [](weft::result<int>&&) { ADD_FAILURE(); }),
                               weft::on_recv(f, [&](weft::result<int>&& r) {
                                 ASSERT_TRUE(r) << r.code();
                                 got = *r;
                               })),
                  1u);
        EXPECT_EQ(got, 41);
      },
      [&] {
        weft::test::let_others_block();
        p.set_value(41);
      });
}

TEST_P(Select, OnAFutureWhosePromiseDiesGetsBroken) {
  auto pf = weft::make_oneshot<int>();
  status seen = status::ok;
  {
    auto dying = std::move(pf.first);
  }
  EXPECT_EQ(weft::select(weft::on_recv(pf.second, [&](weft::result<int>&& r) { seen = r.code(); })), 0u);
  EXPECT_EQ(seen, status::broken);
}

TEST_P(Select, OnAFutureWithAnExceptionGetsFailed) {
  auto [p, f] = weft::make_oneshot<int>();
  p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  status seen = status::ok;
  std::exception_ptr e;
  EXPECT_EQ(weft::select(weft::on_recv(f, [&](weft::result<int>&& r) {
              seen = r.code();
              e = r.exception();
            })),
            0u);
  EXPECT_EQ(seen, status::failed);
  ASSERT_TRUE(e);
  EXPECT_THROW(std::rethrow_exception(e), std::runtime_error);
}

}  // namespace

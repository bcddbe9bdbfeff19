// selector: select over a run-time set of cases. Each adder returns the case's index; wait()
// fires one case and may be called again; on_timeout counts from the start of each wait(); a
// send case that fired has no value left and is skipped by later waits; cases may be added
// between waits.
#include <algorithm>
#include <array>
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

class Selector : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, Selector, weft::test::exec_values(), weft::test::exec_param_name);

TEST_P(Selector, AddersReturnTheIndexThatWaitReports) {
  auto a = weft::make_chan<int>(1);
  auto b = weft::make_chan<int>(1);
  auto c = weft::make_chan<int>(1);
  weft::selector sel;
  int fired = -1;
  const std::size_t ia = sel.on_recv(a.rx, [&](weft::result<int>&&) { fired = 0; });
  const std::size_t ib = sel.on_send(b.tx, 5, [&](status s) {
    EXPECT_EQ(s, status::ok);
    fired = 1;
  });
  const std::size_t ic = sel.on_recv(c.rx, [&](weft::result<int>&&) { fired = 2; });
  EXPECT_EQ(ia, 0u);
  EXPECT_EQ(ib, 1u);
  EXPECT_EQ(ic, 2u);
  ASSERT_EQ(b.tx.try_send(0), status::ok);  // b full: the send case cannot fire
  ASSERT_EQ(c.tx.try_send(9), status::ok);
  EXPECT_EQ(sel.wait(), ic);
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(b.rx.size(), 1u);
}

TEST_P(Selector, WaitCanBeCalledAgainAndDrainsSeveralChannels) {
  auto a = weft::make_chan<int>(8);
  auto b = weft::make_chan<int>(8);
  for (int k = 0; k < 8; ++k) {
    ASSERT_EQ(a.tx.try_send(k), status::ok);
    ASSERT_EQ(b.tx.try_send(100 + k), status::ok);
  }
  a.tx.close();
  b.tx.close();
  std::vector<int> from_a, from_b;
  bool a_closed = false, b_closed = false;
  weft::selector sel;
  sel.on_recv(a.rx, [&](weft::result<int>&& r) {
    if (r) {
      EXPECT_FALSE(a_closed) << "a value after closed";
      from_a.push_back(*r);
    } else {
      EXPECT_EQ(r.code(), status::closed);
      a_closed = true;
    }
  });
  sel.on_recv(b.rx, [&](weft::result<int>&& r) {
    if (r) {
      EXPECT_FALSE(b_closed) << "a value after closed";
      from_b.push_back(*r);
    } else {
      EXPECT_EQ(r.code(), status::closed);
      b_closed = true;
    }
  });
  int waits = 0;
  while (!(a_closed && b_closed) && waits < 10000) {
    sel.wait();
    ++waits;
  }
  EXPECT_TRUE(a_closed && b_closed) << "a closed and drained channel fires its recv case with closed";
  EXPECT_EQ(from_a, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(from_b, (std::vector<int>{100, 101, 102, 103, 104, 105, 106, 107}));
}

TEST_P(Selector, OnTimeoutCountsFromTheStartOfEachWait) {
  auto a = weft::make_chan<int>(0);
  weft::selector sel;
  sel.on_recv(a.rx, [](weft::result<int>&&) { ADD_FAILURE(); });
  const std::size_t t = sel.on_timeout(30ms, [] {});
  for (int k = 0; k < 3; ++k) {
    const auto t0 = clock::now();
    EXPECT_EQ(sel.wait(), t);
    EXPECT_GE(weft::test::since(t0), 30ms) << "wait " << k << ": the timeout must restart at each wait()";
  }
}

TEST_P(Selector, AFiredSendCaseIsSkippedByLaterWaits) {
  leak_check guard;
  {
    auto out = weft::make_chan<tracked_move_only>(4);
    weft::selector sel;
    int sends = 0;
    const std::size_t s = sel.on_send(out.tx, tracked_move_only(1), [&](status st) {
      EXPECT_EQ(st, status::ok);
      ++sends;
    });
    const std::size_t t = sel.on_timeout(5ms, [] {});
    EXPECT_EQ(sel.wait(), s);
    EXPECT_EQ(sel.wait(), t) << "the send case has no value left; the channel still had room";
    EXPECT_EQ(sel.wait(), t);
    EXPECT_EQ(sends, 1);
    EXPECT_EQ(out.rx.size(), 1u);
    EXPECT_EQ(out.rx.try_recv()->value(), 1);
  }
}

TEST_P(Selector, AnUnfiredSendCaseValueIsDestroyedOnceWithTheSelector) {
  leak_check guard;
  {
    auto full = weft::make_chan<tracked_move_only>(1);
    ASSERT_EQ(full.tx.try_send(tracked_move_only(0)), status::ok);
    {
      weft::selector sel;
      sel.on_send(full.tx, tracked_move_only(1), [](status) { ADD_FAILURE(); });
      sel.otherwise([] {});
      EXPECT_EQ(sel.wait(), 1u);
      EXPECT_EQ(sel.wait(), 1u);
      guard.expect_live(2, "(the buffered value and the send case's value)");
    }
    guard.expect_live(1);
  }
}

TEST_P(Selector, CasesAddedBetweenWaitsTakePart) {
  auto a = weft::make_chan<int>(1);
  auto b = weft::make_chan<int>(1);
  weft::selector sel;
  sel.on_recv(a.rx, [](weft::result<int>&&) {});
  const std::size_t other = sel.otherwise([] {});
  EXPECT_EQ(sel.wait(), other);
  ASSERT_EQ(b.tx.try_send(1), status::ok);
  int got = 0;
  const std::size_t ib = sel.on_recv(b.rx, [&](weft::result<int>&& r) { got = *r; });
  EXPECT_EQ(ib, 2u);
  EXPECT_EQ(sel.wait(), ib);
  EXPECT_EQ(got, 1);
}

TEST_P(Selector, OnDoneFiresWhenCancelledWhileWaiting) {
  auto a = weft::make_chan<int>(0);
  auto cc = weft::with_cancel(weft::background());
  weft::test::run_concurrently(
      ex(),
      [&] {
        weft::selector sel;
        sel.on_recv(a.rx, [](weft::result<int>&&) { ADD_FAILURE(); });
        const std::size_t d = sel.on_done(cc.first, [] {});
        EXPECT_EQ(sel.wait(), d);
        EXPECT_EQ(sel.wait(), d) << "done stays done";
      },
      [&] {
        weft::test::let_others_block();
        cc.second();
      });
}

TEST_P(Selector, ChoosesUniformlyAmongReadyCases) {
  const int rounds = static_cast<int>(std::max<std::size_t>(weft::test::scale(3000), 600));
  std::vector<weft::chan<int>> ch;
  for (int i = 0; i < 3; ++i) {
    ch.push_back(weft::make_unbounded_chan<int>());
    for (int k = 0; k < rounds; ++k) ASSERT_EQ(ch.back().tx.try_send(k), status::ok);
  }
  weft::selector sel;
  for (auto& c : ch) sel.on_recv(c.rx, [](weft::result<int>&&) {});
  std::array<int, 3> counts{};
  for (int k = 0; k < rounds; ++k) ++counts.at(sel.wait());
  double chi = 0;
  for (int c : counts) chi += (c - rounds / 3.0) * (c - rounds / 3.0) / (rounds / 3.0);
  EXPECT_LT(chi, 28.0) << counts[0] << " " << counts[1] << " " << counts[2];  // 2 dof: p ~ 1e-6
}

// The engine's pass (shuffle_step) with cases that cannot complete among the ready ones: a
// wrong lazy draw (a pick not removed, the order not a permutation) skews the counts or loses
// a case.
TEST_P(Selector, ChoosesUniformlyAmongReadyCasesMixedWithNeverReadyOnes) {
  const int rounds = static_cast<int>(std::max<std::size_t>(weft::test::scale(3000), 600));
  auto never_a = weft::make_chan<int>(4);
  auto never_b = weft::make_chan<int>(0);
  std::vector<weft::chan<int>> ch;
  for (int i = 0; i < 3; ++i) {
    ch.push_back(weft::make_unbounded_chan<int>());
    for (int k = 0; k < rounds; ++k) ASSERT_EQ(ch.back().tx.try_send(k), status::ok);
  }
  weft::selector sel;
  std::array<std::size_t, 3> idx{};
  (void)sel.on_recv(never_a.rx, [](weft::result<int>&&) {});
  idx[0] = sel.on_recv(ch[0].rx, [](weft::result<int>&&) {});
  (void)sel.on_recv(never_b.rx, [](weft::result<int>&&) {});
  idx[1] = sel.on_recv(ch[1].rx, [](weft::result<int>&&) {});
  idx[2] = sel.on_recv(ch[2].rx, [](weft::result<int>&&) {});
  std::array<int, 3> counts{};
  for (int k = 0; k < rounds; ++k) {
    const std::size_t i = sel.wait();
    const auto* at = std::find(idx.begin(), idx.end(), i);
    ASSERT_NE(at, idx.end()) << "a case that was never ready fired: " << i;
    ++counts[static_cast<std::size_t>(at - idx.begin())];
  }
  double chi = 0;
  for (int c : counts) chi += (c - rounds / 3.0) * (c - rounds / 3.0) / (rounds / 3.0);
  EXPECT_LT(chi, 28.0) << counts[0] << " " << counts[1] << " " << counts[2];  // 2 dof: p ~ 1e-6
  std::size_t left = 0;
  for (auto& c : ch) left += c.rx.size();
  EXPECT_EQ(left, static_cast<std::size_t>(2 * rounds)) << "exactly one value taken per wait";
}

TEST_P(Selector, BlockedWaitWakesForAValueSentLater) {
  auto a = weft::make_chan<int>(0);
  auto b = weft::make_chan<int>(0);
  weft::test::run_concurrently(
      ex(),
      [&] {
        weft::selector sel;
        int got = 0;
        sel.on_recv(a.rx, [&](weft::result<int>&& r) { got = *r; });
        sel.on_recv(b.rx, [&](weft::result<int>&& r) { got = 100 + *r; });
        EXPECT_EQ(sel.wait(), 1u);
        EXPECT_EQ(got, 107);
        EXPECT_EQ(sel.wait(), 0u);
        EXPECT_EQ(got, 3);
      },
      [&, ta = a.tx, tb = b.tx]() mutable {
        weft::test::let_others_block();
        EXPECT_EQ(tb.send(7), status::ok);
        weft::test::let_others_block();
        EXPECT_EQ(ta.send(3), status::ok);
      });
}

}  // namespace

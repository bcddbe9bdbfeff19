// context: background / with_cancel / with_timeout / with_deadline. done() is closed when the
// context is cancelled or past its deadline (usable in select); err() is ok | cancelled |
// timeout and the first cause sticks; deadline() is the earliest of its own and its
// ancestors'; cancelling a parent cancels every descendant with the parent's cause; a child
// never cancels its parent; cancel_fn is idempotent and callable from any thread.
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

class Context : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, Context, weft::test::exec_values(), weft::test::exec_param_name);

// done() is closed: a receive returns closed at once.
template <class Ctx>
bool is_done(const Ctx& ctx) {
  auto d = ctx.done();
  return d.try_recv().code() == status::closed;
}

TEST_P(Context, BackgroundIsNeverDoneAndHasNoDeadline) {
  auto bg = weft::background();
  EXPECT_EQ(bg.err(), status::ok);
  EXPECT_FALSE(bg.deadline().has_value());
  EXPECT_FALSE(is_done(bg));
  EXPECT_EQ(bg.done().recv_for(5ms).code(), status::timeout);
}

TEST_P(Context, DefaultConstructedIsBackground) {
  weft::context ctx;
  EXPECT_EQ(ctx.err(), status::ok);
  EXPECT_FALSE(ctx.deadline().has_value());
  EXPECT_FALSE(is_done(ctx));
  auto [child, cancel] = weft::with_cancel(ctx);
  cancel();
  EXPECT_EQ(child.err(), status::cancelled);
  EXPECT_EQ(ctx.err(), status::ok);
}

TEST_P(Context, CancelClosesDoneAndSetsErrCancelled) {
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  EXPECT_EQ(ctx.err(), status::ok);
  EXPECT_FALSE(is_done(ctx));
  EXPECT_FALSE(ctx.deadline().has_value());
  cancel();
  EXPECT_EQ(ctx.err(), status::cancelled);
  EXPECT_TRUE(is_done(ctx));
  EXPECT_TRUE(ctx.done().is_closed());
}

TEST_P(Context, CopiesShareOneState) {
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  weft::context copy = ctx;
  auto done_before = copy.done();
  cancel();
  EXPECT_EQ(copy.err(), status::cancelled);
  EXPECT_EQ(done_before.try_recv().code(), status::closed) << "a done() receiver taken before the cancel";
}

TEST_P(Context, CancelWakesEveryBlockedDoneReceiver) {
  auto cc = weft::with_cancel(weft::background());
  weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
    if (i < 3) {
      auto d = cc.first.done();
      EXPECT_EQ(d.recv().code(), status::closed);
      EXPECT_EQ(cc.first.err(), status::cancelled);
    } else {
      weft::test::let_others_block();
      cc.second();
    }
  });
}

TEST_P(Context, TimeoutClosesDoneNoEarlierThanTheDeadline) {
  const auto t0 = clock::now();
  auto [ctx, cancel] = weft::with_timeout(weft::background(), 20ms);
  ASSERT_TRUE(ctx.deadline().has_value());
  EXPECT_GE(*ctx.deadline(), t0 + 20ms);
  EXPECT_LE(*ctx.deadline(), clock::now() + 20ms);
  if (clock::now() < *ctx.deadline()) {
    EXPECT_EQ(ctx.err(), status::ok);  // (unless a stall took the 20 ms)
  }
  auto d = ctx.done();
  EXPECT_EQ(d.recv_for(weft::test::hang_deadline()).code(), status::closed);
  EXPECT_GE(clock::now(), t0 + 20ms);
  EXPECT_EQ(ctx.err(), status::timeout);
}

TEST_P(Context, ErrBecomesTimeoutOncePastTheDeadlineEvenWithoutWaiting) {
  const auto t = clock::now() + 5ms;
  auto [ctx, cancel] = weft::with_deadline(weft::background(), t);
  EXPECT_EQ(ctx.deadline(), std::optional<clock::time_point>(t));
  while (clock::now() < t + 1ms) weft::test::relax();  // wait out the deadline without touching ctx
  EXPECT_EQ(ctx.err(), status::timeout);
  EXPECT_TRUE(is_done(ctx));
}

TEST_P(Context, DeadlineInThePastIsDoneAtOnce) {
  auto [ctx, cancel] = weft::with_deadline(weft::background(), clock::now() - 1s);
  EXPECT_EQ(ctx.err(), status::timeout);
  EXPECT_TRUE(is_done(ctx));
  auto [ctx2, cancel2] = weft::with_timeout(weft::background(), -1s);
  EXPECT_EQ(ctx2.err(), status::timeout);
  auto [ctx3, cancel3] = weft::with_timeout(weft::background(), 0s);
  EXPECT_EQ(ctx3.err(), status::timeout);
  auto [ctx4, cancel4] = weft::with_timeout(weft::background(), std::chrono::nanoseconds::min());
  EXPECT_EQ(ctx4.err(), status::timeout) << "no overflow into the far future";
}

TEST_P(Context, HugeTimeoutDoesNotOverflowIntoThePast) {
  auto [ctx, cancel] = weft::with_timeout(weft::background(), std::chrono::hours::max());
  EXPECT_EQ(ctx.err(), status::ok);
  EXPECT_FALSE(is_done(ctx));
}

TEST_P(Context, FirstCauseSticksCancelThenTimeout) {
  // The deadline is far enough that the cancel comes first even on a loaded machine.
  auto [ctx, cancel] = weft::with_timeout(weft::background(), 500ms);
  cancel();
  EXPECT_EQ(ctx.err(), status::cancelled);
  EXPECT_EQ(ctx.done().recv_for(weft::test::hang_deadline()).code(), status::closed);
  const auto until = *ctx.deadline() + 5ms;
  while (clock::now() < until) weft::test::relax();
  EXPECT_EQ(ctx.err(), status::cancelled) << "the deadline passing later does not change the cause";
}

TEST_P(Context, FirstCauseSticksTimeoutThenCancel) {
  auto [ctx, cancel] = weft::with_timeout(weft::background(), 1ms);
  EXPECT_EQ(ctx.done().recv_for(weft::test::hang_deadline()).code(), status::closed);
  EXPECT_EQ(ctx.err(), status::timeout);
  cancel();
  EXPECT_EQ(ctx.err(), status::timeout) << "a cancel after the deadline does not change the cause";
}

TEST_P(Context, CancelFnIsIdempotent) {
  auto [ctx, cancel] = weft::with_cancel(weft::background());
  cancel();
  cancel();
  auto copy = cancel;
  copy();
  EXPECT_EQ(ctx.err(), status::cancelled);
}

TEST_P(Context, CancelFnFromManyThreadsAtOnceIsSafe) {
  for (int round = 0; round < static_cast<int>(weft::test::scale(50)); ++round) {
    auto cc = weft::with_cancel(weft::background());
    auto child = weft::with_cancel(cc.first);
    weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
      if (i < 3) {
        cc.second();
      } else {
        auto d = child.first.done();
        EXPECT_EQ(d.recv().code(), status::closed);
      }
    });
    EXPECT_EQ(cc.first.err(), status::cancelled);
    EXPECT_EQ(child.first.err(), status::cancelled);
  }
}

TEST_P(Context, ParentCancelCancelsEveryDescendant) {
  auto [root, cancel_root] = weft::with_cancel(weft::background());
  auto [a, cancel_a] = weft::with_cancel(root);
  auto [b, cancel_b] = weft::with_timeout(a, 1h);
  auto [c, cancel_c] = weft::with_deadline(root, clock::now() + 1h);
  cancel_root();
  for (const weft::context* x : {&a, &b, &c}) {
    EXPECT_EQ(x->err(), status::cancelled);
    EXPECT_TRUE(is_done(*x));
  }
}

TEST_P(Context, ParentTimeoutReachesChildrenAsTimeout) {
  auto [parent, cancel_parent] = weft::with_timeout(weft::background(), 10ms);
  auto [child, cancel_child] = weft::with_cancel(parent);
  auto [grandchild, cancel_gc] = weft::with_timeout(child, 1h);
  EXPECT_EQ(grandchild.done().recv_for(weft::test::hang_deadline()).code(), status::closed);
  EXPECT_EQ(grandchild.err(), status::timeout) << "the parent's cause, not cancelled";
  EXPECT_EQ(child.err(), status::timeout);
  EXPECT_EQ(parent.err(), status::timeout);
}

TEST_P(Context, ParentCancelReachesChildrenWithTheParentsCauseEvenWithTheirOwnDeadline) {
  auto [parent, cancel_parent] = weft::with_cancel(weft::background());
  auto [child, cancel_child] = weft::with_timeout(parent, 1h);
  cancel_parent();
  EXPECT_EQ(child.err(), status::cancelled);
}

TEST_P(Context, ChildNeverCancelsItsParent) {
  auto [parent, cancel_parent] = weft::with_cancel(weft::background());
  auto [child, cancel_child] = weft::with_cancel(parent);
  auto [sibling, cancel_sibling] = weft::with_cancel(parent);
  cancel_child();
  EXPECT_EQ(child.err(), status::cancelled);
  EXPECT_EQ(parent.err(), status::ok);
  EXPECT_EQ(sibling.err(), status::ok);
  EXPECT_FALSE(is_done(parent));
  auto [timed, cancel_timed] = weft::with_timeout(parent, 1ms);
  EXPECT_EQ(timed.done().recv_for(weft::test::hang_deadline()).code(), status::closed);
  EXPECT_EQ(parent.err(), status::ok) << "a child's deadline does not end its parent";
}

TEST_P(Context, ChildOfADoneParentIsDoneAtOnceWithTheParentsCause) {
  auto [parent, cancel_parent] = weft::with_cancel(weft::background());
  cancel_parent();
  auto [child, cancel_child] = weft::with_timeout(parent, 1h);
  EXPECT_EQ(child.err(), status::cancelled);
  EXPECT_TRUE(is_done(child));
  auto [tparent, c2] = weft::with_deadline(weft::background(), clock::now() - 1s);
  auto [tchild, c3] = weft::with_cancel(tparent);
  EXPECT_EQ(tchild.err(), status::timeout);
}

TEST_P(Context, DeadlineIsTheEarliestOfItsOwnAndItsAncestors) {
  const auto now = clock::now();
  auto [p, cp] = weft::with_deadline(weft::background(), now + 10s);
  auto [later, c1] = weft::with_deadline(p, now + 1h);
  auto [earlier, c2] = weft::with_deadline(p, now + 1s);
  auto [plain, c3] = weft::with_cancel(p);
  auto [grand, c4] = weft::with_timeout(later, 1h);
  EXPECT_EQ(p.deadline(), std::optional<clock::time_point>(now + 10s));
  EXPECT_EQ(later.deadline(), std::optional<clock::time_point>(now + 10s));
  EXPECT_EQ(earlier.deadline(), std::optional<clock::time_point>(now + 1s));
  EXPECT_EQ(plain.deadline(), std::optional<clock::time_point>(now + 10s));
  EXPECT_EQ(grand.deadline(), std::optional<clock::time_point>(now + 10s));
}

TEST_P(Context, ChildDeadlineIsItsOwnWhenTheParentHasNone) {
  const auto t = clock::now() + 1h;
  auto [p, cp] = weft::with_cancel(weft::background());
  auto [c, cc] = weft::with_deadline(p, t);
  EXPECT_EQ(c.deadline(), std::optional<clock::time_point>(t));
  EXPECT_FALSE(p.deadline().has_value());
}

TEST_P(Context, CancelFromAnotherThreadWakesABlockedRecvSendAndSelect) {
  auto cc = weft::with_cancel(weft::background());
  auto in = weft::make_chan<int>(0);
  auto out = weft::make_chan<int>(0);
  weft::test::run_concurrently_n(ex(), 4, [&](std::size_t i) {
    switch (i) {
      case 0: EXPECT_EQ(in.rx.recv(cc.first).code(), status::cancelled); break;
      case 1: EXPECT_EQ(out.tx.send(1, cc.first), status::cancelled); break;
      case 2:
        EXPECT_EQ(weft::select(weft::on_recv(in.rx, [](weft::result<int>&&) {}), weft::on_done(cc.first, [] {})), 1u);
        break;
      default:
        weft::test::let_others_block();
        cc.second();
    }
  });
}

TEST_P(Context, ManyChildrenOfOneParentAreAllCancelled) {
  auto [parent, cancel] = weft::with_cancel(weft::background());
  std::vector<std::pair<weft::context, weft::cancel_fn>> kids;
  for (int i = 0; i < 200; ++i) kids.push_back(weft::with_cancel(parent));
  for (int i = 0; i < 200; i += 2) kids[static_cast<std::size_t>(i)].second();  // some end on their own first
  cancel();
  for (auto& k : kids) EXPECT_EQ(k.first.err(), status::cancelled);
}

TEST_P(Context, DroppedChildrenDoNotKeepAnythingAlive) {
  // Children created and dropped in a loop: the parent must not accumulate them so that a
  // later cancel still works (a smoke test; leaks show under ASan).
  auto [parent, cancel] = weft::with_cancel(weft::background());
  for (int i = 0; i < 10000; ++i) {
    auto [c, cc] = weft::with_timeout(parent, 1h);
    if (i % 2 == 0) cc();
  }
  cancel();
  EXPECT_EQ(parent.err(), status::cancelled);
}

}  // namespace

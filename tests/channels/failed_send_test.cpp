// "On any status but ok, an rvalue passed in is left untouched in the caller's object:
// nothing is lost (move-only types included)." Checked for every non-ok status a send can
// return, every send form and every flavor, with move-only tracked values; the channel's
// contents must not change either.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
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
using weft::test::tracked_move_only;

using T = tracked_move_only;
using send_form = std::function<status(weft::sender<T>&, T&&)>;

struct named_form {
  const char* name;
  send_form op;
  bool can_block;  // false: try_send
};

std::vector<named_form> every_form() {
  return {
      {"send", [](weft::sender<T>& tx, T&& v) { return tx.send(std::move(v)); }, true},
      {"send(ctx)", [](weft::sender<T>& tx, T&& v) { return tx.send(std::move(v), weft::background()); }, true},
      {"try_send", [](weft::sender<T>& tx, T&& v) { return tx.try_send(std::move(v)); }, false},
      {"send_for(1ms)", [](weft::sender<T>& tx, T&& v) { return tx.send_for(std::move(v), 1ms); }, true},
      {"send_for(0s)", [](weft::sender<T>& tx, T&& v) { return tx.send_for(std::move(v), 0s); }, false},
      {"send_for(-1s)", [](weft::sender<T>& tx, T&& v) { return tx.send_for(std::move(v), -1s); }, false},
      {"send_until(now+1ms)",
       [](weft::sender<T>& tx, T&& v) { return tx.send_until(std::move(v), clock::now() + 1ms); }, true},
      {"send_until(past)",
       [](weft::sender<T>& tx, T&& v) { return tx.send_until(std::move(v), clock::now() - 1s); }, false},
  };
}

class FailedSend : public ::testing::TestWithParam<flavor> {
 protected:
  flavor fl() const { return GetParam(); }

  // Calls `op` with a fresh value and checks status `want`, the value kept, nothing added.
  void expect_kept(weft::sender<T>& tx, const send_form& op, status want, const std::string& what) {
    const bool queryable = !tx_gone_;
    const std::size_t size_before = queryable ? tx.size() : 0;
    T v(4242);
    const status st = op(tx, std::move(v));
    EXPECT_EQ(st, want) << what;
    EXPECT_FALSE(v.is_moved_from()) << what << ": the failed send consumed the value";
    EXPECT_EQ(v.value(), 4242) << what;
    if (queryable) { EXPECT_EQ(tx.size(), size_before) << what << ": the failed send changed the channel"; }
  }
  bool tx_gone_ = false;
};
INSTANTIATE_TEST_SUITE_P(All, FailedSend, weft::test::flavor_values(), weft::test::flavor_param_name);

TEST_P(FailedSend, ClosedByCloseKeepsTheValueInEveryForm) {
  leak_check guard;
  auto the_chan = weft::test::make<T>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  if (weft::test::can_fill(fl())) weft::test::fill(tx, [](int i) { return T(i); });
  if (fl() == flavor::unbounded) { ASSERT_EQ(tx.try_send(T(0)), status::ok); }
  tx.close();
  for (auto& f : every_form()) expect_kept(tx, f.op, status::closed, f.name);
  tracked_move_only v(1);
  EXPECT_EQ(tx.send(std::move(v), weft::test::cancelled_context()), status::closed);
  EXPECT_EQ(v.value(), 1);
}

TEST_P(FailedSend, ClosedByLastReceiverGoneKeepsTheValueInEveryForm) {
  leak_check guard;
  auto ch = weft::test::make<T>(fl());
  auto tx = ch.tx;
  { auto gone = std::move(ch.rx); }
  for (auto& f : every_form()) expect_kept(tx, f.op, status::closed, f.name);
}

TEST_P(FailedSend, FullKeepsTheValue) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded is never full";
  leak_check guard;
  auto the_chan = weft::test::make<T>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::fill(tx, [](int i) { return T(i); });
  expect_kept(tx, [](weft::sender<T>& s, T&& v) { return s.try_send(std::move(v)); }, status::full, "try_send");
}

TEST_P(FailedSend, TimeoutKeepsTheValueInEveryTimedForm) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded is never full";
  leak_check guard;
  auto the_chan = weft::test::make<T>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::fill(tx, [](int i) { return T(i); });
  for (auto& f : every_form()) {
    if (std::string(f.name) == "send" || std::string(f.name) == "send(ctx)" || std::string(f.name) == "try_send")
      continue;
    expect_kept(tx, f.op, status::timeout, f.name);
  }
  expect_kept(
      tx, [](weft::sender<T>& s, T&& v) { return s.send(std::move(v), weft::test::expired_context()); },
      status::timeout, "send(expired ctx)");
  expect_kept(
      tx,
      [](weft::sender<T>& s, T&& v) {
        auto [ctx, cancel] = weft::with_timeout(weft::background(), 2ms);
        return s.send(std::move(v), ctx);
      },
      status::timeout, "send(ctx with 2ms timeout)");
}

TEST_P(FailedSend, CancelledKeepsTheValue) {
  if (!weft::test::can_fill(fl())) GTEST_SKIP() << "unbounded is never full";
  leak_check guard;
  auto the_chan = weft::test::make<T>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::test::fill(tx, [](int i) { return T(i); });
  expect_kept(
      tx, [](weft::sender<T>& s, T&& v) { return s.send(std::move(v), weft::test::cancelled_context()); },
      status::cancelled, "send(cancelled ctx)");
}

TEST_P(FailedSend, ConstRefFormsFailWithoutCopyingIntoTheChannel) {
  leak_check guard;
  auto the_chan = weft::test::make<weft::test::tracked>(fl());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const weft::test::tracked v(8);
  if (weft::test::can_fill(fl())) {
    weft::test::fill(tx, [](int i) { return weft::test::tracked(i); });
    const std::size_t n = tx.size();
    EXPECT_EQ(tx.try_send(v), status::full);
    EXPECT_EQ(tx.send_for(v, 1ms), status::timeout);
    EXPECT_EQ(tx.send_until(v, clock::now()), status::timeout);
    EXPECT_EQ(tx.send(v, weft::test::cancelled_context()), status::cancelled);
    EXPECT_EQ(tx.size(), n);
    guard.expect_live(static_cast<long>(n) + 1, "(buffered + the caller's)");
  }
  tx.close();
  EXPECT_EQ(tx.send(v), status::closed);
  EXPECT_EQ(v.value(), 8);
}

}  // namespace

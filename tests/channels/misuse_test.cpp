// Misuse: a moved-from handle is empty, does not count as a live sender or receiver, and any
// member call on it (queries included) throws weft::error with code closed.
#include <chrono>
#include <utility>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;
using weft::test::flavor;
using weft::test::tracked_move_only;

class MovedFromHandle : public ::testing::TestWithParam<flavor> {};
INSTANTIATE_TEST_SUITE_P(All, MovedFromHandle, weft::test::flavor_values(), weft::test::flavor_param_name);

TEST_P(MovedFromHandle, EverySenderMemberThrowsClosed) {
  auto the_chan = weft::test::make<tracked_move_only>(GetParam());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  weft::sender<tracked_move_only> other = std::move(tx);
  tracked_move_only v(3);
  WEFT_EXPECT_ERROR(tx.send(std::move(v)), status::closed);
  WEFT_EXPECT_ERROR(tx.send(std::move(v), weft::background()), status::closed);
  WEFT_EXPECT_ERROR(tx.try_send(std::move(v)), status::closed);
  WEFT_EXPECT_ERROR(tx.send_for(std::move(v), 1ms), status::closed);
  WEFT_EXPECT_ERROR(tx.send_until(std::move(v), clock::now() + 1ms), status::closed);
  WEFT_EXPECT_ERROR(tx.close(), status::closed);
  WEFT_EXPECT_ERROR(tx.is_closed(), status::closed);
  WEFT_EXPECT_ERROR(tx.size(), status::closed);
  WEFT_EXPECT_ERROR(tx.capacity(), status::closed);
  EXPECT_EQ(v.value(), 3) << "a throwing send did not take the value";
  EXPECT_FALSE(other.is_closed()) << "the moved-to handle works";
}

TEST_P(MovedFromHandle, ConstRefSendOnAMovedFromSenderThrowsClosed) {
  auto the_chan = weft::test::make<int>(GetParam());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  auto other = std::move(tx);
  const int v = 1;
  WEFT_EXPECT_ERROR(tx.send(v), status::closed);
  WEFT_EXPECT_ERROR(tx.try_send(v), status::closed);
  WEFT_EXPECT_ERROR(tx.send_for(v, 1ms), status::closed);
  WEFT_EXPECT_ERROR(tx.send_until(v, clock::now()), status::closed);
  WEFT_EXPECT_ERROR(tx.send(v, weft::background()), status::closed);
}

TEST_P(MovedFromHandle, EveryReceiverMemberThrowsClosed) {
  auto the_chan = weft::test::make<int>(GetParam());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  if (GetParam() != flavor::unbuffered) { ASSERT_EQ(tx.try_send(1), status::ok); }
  weft::receiver<int> other = std::move(rx);
  WEFT_EXPECT_ERROR(rx.recv(), status::closed);
  WEFT_EXPECT_ERROR(rx.recv(weft::background()), status::closed);
  WEFT_EXPECT_ERROR(rx.try_recv(), status::closed);
  WEFT_EXPECT_ERROR(rx.recv_for(1ms), status::closed);
  WEFT_EXPECT_ERROR(rx.recv_until(clock::now() + 1ms), status::closed);
  WEFT_EXPECT_ERROR(rx.is_closed(), status::closed);
  WEFT_EXPECT_ERROR(rx.size(), status::closed);
  WEFT_EXPECT_ERROR(rx.capacity(), status::closed);
  if (GetParam() != flavor::unbuffered) {
    auto r = other.try_recv();
    ASSERT_TRUE(r) << "the value is still there for the moved-to handle";
    EXPECT_EQ(*r, 1);
  }
}

TEST_P(MovedFromHandle, RangeForOverAMovedFromReceiverThrowsClosed) {
  auto the_chan = weft::test::make<int>(GetParam());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  auto other = std::move(rx);
  auto loop = [&] {
    int n = 0;
    for (int v : rx) n += v;
    return n;
  };
  WEFT_EXPECT_ERROR(loop(), status::closed);
}

TEST_P(MovedFromHandle, MoveAssignedFromHandleIsEmptyToo) {
  auto a = weft::test::make<int>(GetParam());
  auto b = weft::test::make<int>(GetParam());
  b.tx = std::move(a.tx);
  b.rx = std::move(a.rx);
  WEFT_EXPECT_ERROR(a.tx.is_closed(), status::closed);
  WEFT_EXPECT_ERROR(a.rx.is_closed(), status::closed);
  EXPECT_FALSE(b.tx.is_closed());
}

TEST_P(MovedFromHandle, AssigningALiveHandleToAMovedFromOneRevivesIt) {
  auto the_chan = weft::test::make<int>(GetParam());
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  tx = tx2;
  rx = rx2;
  EXPECT_FALSE(tx.is_closed());
  EXPECT_EQ(rx.try_recv().code(), status::empty);
  EXPECT_EQ(tx.capacity(), weft::test::capacity_of(GetParam()));
}

template <class H>
concept can_recv = requires(H& h) { h.recv(); };
template <class H>
concept can_try_recv = requires(H& h) { h.try_recv(); };
template <class H>
concept can_send = requires(H& h) { h.send(1); };
template <class H>
concept can_try_send = requires(H& h) { h.try_send(1); };
template <class H>
concept can_close = requires(H& h) { h.close(); };

TEST(ChanMisuse, SenderHasNoReceiveAndReceiverHasNoSendOrClose) {
  // Go's test/chan/perm.go checks channel direction at compile time; the handle types do it here.
  static_assert(can_send<weft::sender<int>> && can_try_send<weft::sender<int>> && can_close<weft::sender<int>>);
  static_assert(can_recv<weft::receiver<int>> && can_try_recv<weft::receiver<int>>);
  static_assert(!can_recv<weft::sender<int>>);
  static_assert(!can_try_recv<weft::sender<int>>);
  static_assert(!can_send<weft::receiver<int>>);
  static_assert(!can_try_send<weft::receiver<int>>);
  static_assert(!can_close<weft::receiver<int>>);
  static_assert(std::is_copy_constructible_v<weft::sender<int>>);
  static_assert(std::is_copy_constructible_v<weft::receiver<int>>);
  static_assert(std::is_same_v<decltype(std::declval<weft::sender<int>&>().try_send(1)), weft::status>);
  static_assert(std::is_same_v<decltype(std::declval<weft::receiver<int>&>().try_recv()), weft::result<int>>);
  SUCCEED();
}

}  // namespace

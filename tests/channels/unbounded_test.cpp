// Unbounded channels: never full, linearizable FIFO across its internal blocks, memory given
// back after bursts (observable here only as "values destroyed exactly once").
#include <atomic>
#include <chrono>
#include <cstdint>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::leak_check;
using weft::test::tracked;

class UnboundedChan : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, UnboundedChan, weft::test::exec_values(), weft::test::exec_param_name);

TEST_P(UnboundedChan, CapacityIsSizeMax) {
  auto the_chan = weft::make_unbounded_chan<int>();
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  EXPECT_EQ(tx.capacity(), SIZE_MAX);
  EXPECT_EQ(rx.capacity(), SIZE_MAX);
}

TEST_P(UnboundedChan, IsNeverFull) {
  auto the_chan = weft::make_unbounded_chan<int>();
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const int n = 100000;
  for (int i = 0; i < n; ++i) ASSERT_EQ(tx.try_send(i), status::ok);
  EXPECT_EQ(tx.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(tx.send_for(n, 0s), status::ok);
  for (int i = 0; i <= n; ++i) ASSERT_EQ(*rx.try_recv(), i);
  EXPECT_EQ(rx.try_recv().code(), status::empty);
}

TEST_P(UnboundedChan, FifoAcrossBurstsOfEverySize) {
  auto the_chan = weft::make_unbounded_chan<int>();
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  int next_send = 0, next_recv = 0;
  for (int burst : {1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 4097, 3}) {
    for (int i = 0; i < burst; ++i) ASSERT_EQ(tx.try_send(next_send++), status::ok);
    for (int i = 0; i < burst / 2 + 1; ++i) ASSERT_EQ(*rx.try_recv(), next_recv++);
  }
  while (next_recv < next_send) ASSERT_EQ(*rx.try_recv(), next_recv++);
  EXPECT_EQ(rx.size(), 0u);
}

TEST_P(UnboundedChan, BurstValuesAreDestroyedExactlyOnce) {
  leak_check guard;
  {
    auto the_chan = weft::make_unbounded_chan<tracked>();
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < 5000; ++i) ASSERT_EQ(tx.try_send(tracked(i)), status::ok);
      guard.expect_live(5000);
      for (int i = 0; i < 5000; ++i) ASSERT_EQ(rx.try_recv()->value(), i);
      guard.expect_live(0);
    }
    for (int i = 0; i < 3000; ++i) ASSERT_EQ(tx.try_send(tracked(i)), status::ok);
  }
  guard.verify();
}

TEST_P(UnboundedChan, ConcurrentProducersNeverBlockAndLoseNothing) {
  auto the_chan = weft::make_unbounded_chan<int>();
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  const int per = static_cast<int>(weft::test::scale(20000));
  std::atomic<long> sum{0};
  weft::test::run_concurrently_n(ex(), 3, [&, tx = tx, rx = rx](std::size_t i) mutable {
    if (i < 2) {
      for (int k = 1; k <= per; ++k) ASSERT_EQ(tx.try_send(k), status::ok);
    } else {
      for (int k = 0; k < 2 * per; ++k) {
        auto r = rx.recv();
        ASSERT_TRUE(r);
        sum.fetch_add(*r);
      }
    }
  });
  EXPECT_EQ(sum.load(), 2L * per * (per + 1) / 2);
}

}  // namespace

// Tests rewritten from Go's test/chan directory (each names the Go file it follows). They are
// not translations line by line: the Go tests' questions, asked of weft's API.
// perm.go (channel direction at compile time) lives in misuse_test.cpp.
#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
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

class GoPort : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, GoPort, weft::test::exec_values(), weft::test::exec_param_name);

// Go: test/chan/select2.go -- many selects must not accumulate memory.
TEST_P(GoPort, Select2ManySelectsDoNotAccumulateMemory) {
  leak_check guard;
  {
    auto c = weft::make_chan<tracked>(0);
    auto dummy = weft::make_chan<tracked>(0);
    const int n = static_cast<int>(weft::test::scale(100000));
    std::size_t mem_after_warmup = 0, mem_at_end = 0;
    weft::test::run_concurrently(
        ex(),
        [&, tx = c.tx]() mutable {
          for (int i = 0; i < n; ++i) ASSERT_EQ(tx.send(tracked(i)), status::ok);
        },
        [&] {
          for (int i = 0; i < n; ++i) {
            weft::select(weft::on_recv(c.rx, [&](weft::result<tracked>&& r) { ASSERT_EQ(r->value(), i); }),
                         weft::on_recv(dummy.rx, [](weft::result<tracked>&&) { ADD_FAILURE(); }));
            if (i == n / 10) mem_after_warmup = mallinfo2().uordblks;
          }
          mem_at_end = mallinfo2().uordblks;
        });
    // glibc's count of bytes in use (0 under sanitizers, which replace malloc).
    EXPECT_LT(mem_at_end, mem_after_warmup + (std::size_t{1} << 20)) << "select leaks memory per call";
  }
}

// Go: test/chan/select3.go -- which operations block and which never do.
TEST_P(GoPort, Select3OperationsThatMustBlockAndThatMustNot) {
  auto never_ready = [](auto&& op) { return op() == status::timeout; };
  auto unbuf = weft::make_chan<int>(0);
  auto buf = weft::make_chan<int>(1);
  // Must block: recv on an empty open channel, send to an unbuffered one nobody reads, send to
  // a full buffered one; a select made only of such cases.
  EXPECT_TRUE(never_ready([&] { return unbuf.rx.recv_for(10ms).code(); }));
  EXPECT_TRUE(never_ready([&] { return buf.rx.recv_for(10ms).code(); }));
  EXPECT_TRUE(never_ready([&] { return unbuf.tx.send_for(1, 10ms); }));
  ASSERT_EQ(buf.tx.try_send(1), status::ok);
  EXPECT_TRUE(never_ready([&] { return buf.tx.send_for(1, 10ms); }));
  EXPECT_EQ(weft::select(weft::on_recv(unbuf.rx, [](weft::result<int>&&) {}),
                         weft::on_send(unbuf.tx, 2, [](status) {}), weft::on_send(buf.tx, 2, [](status) {}),
                         weft::on_timeout(10ms, [] {})),
            3u);
  // Must not block: a buffered value; everything on a closed channel (Go panics on a send
  // to a closed channel; weft returns closed).
  EXPECT_TRUE(buf.rx.recv_for(weft::test::hang_deadline()));
  unbuf.tx.close();
  buf.tx.close();
  const auto t0 = clock::now();
  EXPECT_EQ(unbuf.rx.recv().code(), status::closed);
  EXPECT_EQ(buf.rx.recv().code(), status::closed);
  EXPECT_EQ(unbuf.tx.send(1), status::closed);
  EXPECT_EQ(buf.tx.send(1), status::closed);
  EXPECT_EQ(weft::select(weft::on_recv(unbuf.rx, [](weft::result<int>&& r) { EXPECT_EQ(r.code(), status::closed); })),
            0u);
  EXPECT_EQ(weft::select(weft::on_send(buf.tx, 1, [](status s) { EXPECT_EQ(s, status::closed); })), 0u);
  EXPECT_LT(weft::test::since(t0), weft::test::hang_deadline());
}

// Go: test/chan/select5.go (reduced) -- every combination of case kinds in a select; the case
// that fires is a ready one (or otherwise/timeout when none is), and no other case has an
// effect. select5.go generates source; here a selector takes the run-time combination.
TEST_P(GoPort, Select5EveryCombinationOfCaseKinds) {
  enum kind { recv_ready, recv_blocked, recv_closed, send_ready, send_blocked, send_closed, kinds };
  const int slots = 3;
  int combos = 1;
  for (int s = 0; s < slots; ++s) combos *= kinds;
  for (int with_default = 0; with_default < 2; ++with_default) {
    for (int combo = 0; combo < combos; ++combo) {
      std::array<kind, slots> k{};
      for (int s = 0, c = combo; s < slots; ++s, c /= kinds) k[static_cast<std::size_t>(s)] = static_cast<kind>(c % kinds);
      std::vector<weft::chan<int>> ch;
      ch.reserve(slots);  // the selector refers to the handles: they must not move
      std::vector<bool> ready;
      weft::selector sel;
      std::vector<int> fired(slots + 1, 0);
      for (int s = 0; s < slots; ++s) {
        const kind ks = k[static_cast<std::size_t>(s)];
        ch.push_back(weft::make_chan<int>(1));
        auto& c = ch.back();
        if (ks == recv_ready) { ASSERT_EQ(c.tx.try_send(10 + s), status::ok); }
        if (ks == send_blocked) { ASSERT_EQ(c.tx.try_send(-1), status::ok); }
        if (ks == recv_closed || ks == send_closed) c.tx.close();
        ready.push_back(ks == recv_ready || ks == recv_closed || ks == send_ready || ks == send_closed);
        const auto us = static_cast<std::size_t>(s);
        if (ks <= recv_closed) {
          sel.on_recv(c.rx, [&fired, us, ks, s](weft::result<int>&& r) {
            ++fired[us];
            if (ks == recv_ready) { EXPECT_EQ(*r, 10 + s); }
            if (ks == recv_closed) { EXPECT_EQ(r.code(), status::closed); }
          });
        } else {
          sel.on_send(c.tx, 20 + s, [&fired, us, ks](status st) {
            ++fired[us];
            EXPECT_EQ(st, ks == send_closed ? status::closed : status::ok);
          });
        }
      }
      if (with_default) sel.otherwise([&] { ++fired[slots]; });
      else sel.on_timeout(1ms, [&] { ++fired[slots]; });
      const std::size_t i = sel.wait();
      const bool any_ready = std::count(ready.begin(), ready.end(), true) > 0;
      SCOPED_TRACE(::testing::Message() << "combination " << combo << " default " << with_default);
      ASSERT_LE(i, static_cast<std::size_t>(slots));
      EXPECT_EQ(std::count(fired.begin(), fired.end(), 1), 1) << "exactly one case fired";
      EXPECT_EQ(fired[i], 1);
      if (any_ready) { EXPECT_TRUE(i < static_cast<std::size_t>(slots) && ready[i]) << "fired " << i; }
      else { EXPECT_EQ(i, static_cast<std::size_t>(slots)); }
      // No effect from the cases that did not fire.
      for (int s = 0; s < slots; ++s) {
        const auto us = static_cast<std::size_t>(s);
        const kind ks = k[us];
        std::size_t want = 0;
        if (ks == recv_ready || ks == send_blocked) want = 1;
        if (us == i && ks == recv_ready) want = 0;
        if (us == i && ks == send_ready) want = 1;
        EXPECT_EQ(ch[us].rx.size(), want) << "slot " << s;
      }
    }
  }
}

// Go: test/chan/doubleselect.go -- a value offered to several cases of one select is sent on
// exactly one channel, while receivers race on all of them.
TEST_P(GoPort, DoubleSelectEachValueIsReceivedExactlyOnce) {
  const int n = static_cast<int>(weft::test::scale(5000));
  std::array<weft::chan<int>, 4> c{weft::make_chan<int>(0), weft::make_chan<int>(0), weft::make_chan<int>(0),
                                   weft::make_chan<int>(0)};
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n));
  for (auto& s : seen) s.store(0);
  weft::test::run_concurrently_n(ex(), 5, [&](std::size_t i) {
    if (i == 0) {
      for (int v = 0; v < n; ++v) {
        weft::select(weft::on_send(c[0].tx, v, [](status s) { EXPECT_EQ(s, status::ok); }),
                     weft::on_send(c[1].tx, v, [](status s) { EXPECT_EQ(s, status::ok); }),
                     weft::on_send(c[2].tx, v, [](status s) { EXPECT_EQ(s, status::ok); }),
                     weft::on_send(c[3].tx, v, [](status s) { EXPECT_EQ(s, status::ok); }));
      }
      for (auto& ch : c) ch.tx.close();
    } else {
      // Receivers: each selects over two neighbouring channels (the Go test's muxes), so
      // every channel has two competing receivers; once one of its channels is closed it
      // reads the other with range-for until that closes too.
      auto& a = c[i - 1].rx;
      auto& b = c[i % 4].rx;
      bool a_open = true, b_open = true;
      while (a_open && b_open) {
        weft::select(weft::on_recv(a,
                                   [&](weft::result<int>&& r) {
                                     if (r) seen[static_cast<std::size_t>(*r)].fetch_add(1);
                                     else a_open = false;
                                   }),
                     weft::on_recv(b, [&](weft::result<int>&& r) {
                       if (r) seen[static_cast<std::size_t>(*r)].fetch_add(1);
                       else b_open = false;
                     }));
      }
      for (auto&& v : (a_open ? a : b)) seen[static_cast<std::size_t>(v)].fetch_add(1);
    }
  });
  for (int v = 0; v < n; ++v) ASSERT_EQ(seen[static_cast<std::size_t>(v)].load(), 1) << "value " << v;
}

// Go: test/chan/sieve1.go -- the concurrent prime sieve: a chain of filters, each its own
// thread or task. Ending it exercises disconnect: the last stage drops its receiver after its
// prime, so the next send of the stage before returns closed, which ends that stage and drops
// its own receiver, and so on up to the generator.
TEST_P(GoPort, Sieve1ChainOfFiltersFindsThePrimes) {
  constexpr std::size_t stages = 25;
  const std::vector<int> want = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                                 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};
  // outs[0]: the generator's output; outs[k], k >= 1: stage k-1's output; ins[k]: stage k's input.
  std::vector<weft::sender<int>> outs;
  std::vector<weft::receiver<int>> ins;
  for (std::size_t k = 0; k < stages; ++k) {
    auto c = weft::make_chan<int>(0);
    outs.push_back(std::move(c.tx));
    ins.push_back(std::move(c.rx));
  }
  std::vector<int> got(stages, 0);
  weft::test::run_concurrently_n(ex(), stages + 1, [&](std::size_t i) {
    if (i == stages) {  // the generator: 2, 3, 4, ... until nobody reads
      auto tx = std::move(outs[0]);
      for (int v = 2;; ++v)
        if (tx.send(v) != status::ok) return;
    }
    auto in = std::move(ins[i]);
    auto r = in.recv();
    ASSERT_TRUE(r);
    const int prime = *r;
    got[i] = prime;
    if (i + 1 == stages) return;  // drops `in`: the chain ends from here upstream
    auto out = std::move(outs[i + 1]);
    for (;;) {
      auto v = in.recv();
      if (!v) return;
      if (*v % prime != 0 && out.send(*v) != status::ok) return;
    }
  });
  EXPECT_EQ(got, want);
}

// Go: test/chan/fifo.go -- AsynchFifo: a buffered channel keeps order.
TEST_P(GoPort, FifoAsynchBufferedChannelKeepsOrder) {
  constexpr int n = 10;
  auto the_chan = weft::make_chan<int>(n);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  for (int i = 0; i < n; ++i) ASSERT_EQ(tx.send(i), status::ok);
  for (int i = 0; i < n; ++i) ASSERT_EQ(*rx.recv(), i);
}

// Go: test/chan/fifo.go -- SynchFifo: a chain of links, each waits for its turn on `in`,
// receives from the shared unbuffered channel and checks it got its own number.
TEST_P(GoPort, FifoSynchChainReceivesInTurn) {
  constexpr int n = 10;
  auto ch = weft::make_chan<int>(0);
  std::vector<weft::chan<int>> turn;
  for (int i = 0; i <= n; ++i) turn.push_back(weft::make_chan<int>(0));
  weft::test::run_concurrently_n(ex(), n + 1, [&](std::size_t i) {
    if (i == static_cast<std::size_t>(n)) {  // the driver
      ASSERT_EQ(turn[0].tx.send(0), status::ok);
      for (int v = 0; v < n; ++v) ASSERT_EQ(ch.tx.send(v), status::ok);
      ASSERT_TRUE(turn[static_cast<std::size_t>(n)].rx.recv());
      return;
    }
    ASSERT_TRUE(turn[i].rx.recv());
    auto v = ch.rx.recv();
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, static_cast<int>(i));
    ASSERT_EQ(turn[i + 1].tx.send(1), status::ok);
  });
}

// Go: test/chan/nonblock.go -- non-blocking operations against a partner blocked in the
// opposite operation, for several buffer sizes.
TEST_P(GoPort, NonblockOpsMeetABlockedPartner) {
  for (std::size_t buffer : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    SCOPED_TRACE(::testing::Message() << "buffer " << buffer);
    auto the_chan = weft::make_chan<int>(buffer);
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    EXPECT_EQ(rx.try_recv().code(), status::empty);
    weft::test::run_concurrently(
        ex(),
        [&, r = rx]() mutable {
          auto v = r.recv();
          ASSERT_TRUE(v);
          EXPECT_EQ(*v, 7);
        },
        [&, t = tx]() mutable {
          weft::test::wait_until([&] { return t.try_send(7) == status::ok; }, "try_send to a blocked receiver");
        });
    for (std::size_t i = 0; i < buffer; ++i) ASSERT_EQ(tx.try_send(0), status::ok);
    weft::test::run_concurrently(
        ex(), [&, t = tx]() mutable { EXPECT_EQ(t.send(8), status::ok); },
        [&, r = rx]() mutable {
          for (std::size_t i = 0; i < buffer; ++i) ASSERT_EQ(*r.recv(), 0);
          weft::test::wait_until(
              [&] {
                auto v = r.try_recv();
                if (v) { EXPECT_EQ(*v, 8); }
                return static_cast<bool>(v);
              },
              "try_recv from a blocked sender");
        });
  }
}

// Go: test/chan/zerosize.go -- channels of zero-size (empty) element types work.
struct empty {};

TEST_P(GoPort, ZeroSizeElementsFlowThroughEveryFlavor) {
  for (auto fl : weft::test::flavor_list()) {
    auto the_chan = weft::test::make<empty>(fl);
    [[maybe_unused]] auto& tx = the_chan.tx;
    [[maybe_unused]] auto& rx = the_chan.rx;
    weft::test::run_concurrently(
        ex(),
        [&, t = tx]() mutable {
          for (int i = 0; i < 10; ++i) EXPECT_EQ(t.send(empty{}), status::ok);
          t.close();
        },
        [&, r = rx]() mutable {
          int n = 0;
          for (auto&& e : r) {
            (void)e;
            ++n;
          }
          EXPECT_EQ(n, 10);
        });
  }
  auto the_chan = weft::make_chan<std::array<int, 0>>(2);
  [[maybe_unused]] auto& tx = the_chan.tx;
  [[maybe_unused]] auto& rx = the_chan.rx;
  EXPECT_EQ(tx.try_send(std::array<int, 0>{}), status::ok);
  EXPECT_TRUE(rx.try_recv());
}

}  // namespace

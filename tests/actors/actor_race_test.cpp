// Actors under racing asks, stops and failures with lifetime-tracked messages (issue 4 item 6):
// every accepted message is handled or destroyed exactly once and every ask completes with its
// value or the status that says why not; a handler blocked in a nested ask blocks only its
// actor. (The message nodes' slabs have their own tests: node_slab_test.cpp.)
#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "actor_support.hpp"

namespace {

using namespace weft::test::actors;
using weft::status;
using weft::test::scale;
using weft::test::tracked_move_only;

class ActorRace : public ActorTest {};
WEFT_ACTOR_SUITE(ActorRace);

/// Answers a tracked message with its payload; a told boom_t fails the actor.
struct echo_tracked {
  std::atomic<long>* handled;
  int operator()(tracked_move_only m) {
    handled->fetch_add(1, std::memory_order_relaxed);
    return m.value();
  }
  void operator()(boom_t) { throw boom_error(); }
};

TEST_P(ActorRace, AskStopAndFailRacesCompleteEveryAskAndDestroyEveryMessageOnce) {
  const int rounds = static_cast<int>(scale(60));
  for (int round = 0; round < rounds; ++round) {
    weft::test::leak_check guard;
    std::atomic<long> handled{0};
    std::atomic<long> answered{0};
    {
      auto a = spawn<echo_tracked>(&handled);
      auto mon = a.monitor();
      std::vector<std::thread> askers;
      for (int t = 0; t < 2; ++t)
        askers.emplace_back([&, t] {
          std::vector<std::pair<int, weft::future<int>>> asks;
          for (int i = 0; i < 60; ++i) {
            const int v = t * 1000 + i;
            asks.emplace_back(v, a.ask(tracked_move_only(v)));
            if (round % 3 == 1 && t == 0 && i == 30) (void)a.tell(boom_t{});  // fails the actor
          }
          for (auto& [v, f] : asks) {
            weft::result<int> r = get(f, "an ask racing stop/failure");
            if (r) {
              EXPECT_EQ(*r, v);
              answered.fetch_add(1, std::memory_order_relaxed);
            } else {
              EXPECT_TRUE(r.code() == status::closed || r.code() == status::broken)
                  << "round " << round << ": an ask that was not answered says why: " << r.code();
            }
          }
        });
      if (round % 3 != 1) {
        for (int i = 0; i < round % 7; ++i) std::this_thread::yield();
        a.stop();
      }
      for (auto& t : askers) t.join();
      a.stop();
      auto e = recv(mon);
      ASSERT_TRUE(static_cast<bool>(e));
      EXPECT_EQ(e->reason, round % 3 == 1 ? weft::exit_reason::failed : weft::exit_reason::stopped);
    }
    EXPECT_EQ(handled.load(), answered.load()) << "round " << round << ": every handled ask was answered";
    guard.verify();  // every message destroyed once: handled, dropped at the end, or refused
  }
}

TEST_P(ActorRace, NestedAskBlocksOnlyTheAskingActor) {
  struct forwarder {
    weft::actor_ref<counter> to;
    long operator()(get_t) const { return get(to.ask(get_t{}), "the nested ask").value() + 1; }
  };
  auto gate = spawn<counter>();
  auto fwd = spawn<forwarder>(gate);
  auto other = spawn<counter>();
  blocker b;
  ASSERT_EQ(gate.tell(b.msg()), status::ok);
  b.wait_started();
  auto pending = fwd.ask(get_t{});  // its handler now waits in a nested ask behind the gate
  // With one worker this passes only if the nested ask parked the forwarder's fiber, not the worker.
  for (int i = 0; i < 50; ++i) ASSERT_EQ(other.tell(2), status::ok);
  EXPECT_EQ(get(other.ask(get_t{}), "an unrelated actor").value(), 100);
  EXPECT_EQ(pending.try_get().code(), status::empty);
  b.release();
  EXPECT_EQ(get(pending, "the forwarder after the gate opened").value(), 1);
}

TEST_P(ActorRace, SequentialAsksFromATaskAreEachAnswered) {
  // The runner lingers (yields once) before it goes idle, so the asker usually finds it still
  // running; every answer must still be the right one, in order.
  struct adder {
    long n = 0;
    long operator()(int x) { return n += x; }
  };
  auto a = spawn<adder>();
  const long asks = static_cast<long>(scale(20000));
  auto done = weft::spawn(rt(), [&] {
    for (long i = 1; i <= asks; ++i) ASSERT_EQ(get(a.ask(1)).value(), i);
  });
  EXPECT_EQ(get(done, "the asking task").code(), status::ok);
}

/// Tallies three message sizes: two pooled classes and one past the pool (operator new).
struct sizes_tally {
  struct mid {
    std::uint64_t v;
    char pad[88];
  };
  struct big {
    std::uint64_t v;
    char pad[1000];
  };
  std::uint64_t sum = 0, count = 0;
  void operator()(std::uint64_t v) { sum += v, ++count; }
  void operator()(const mid& m) {
    for (char c : m.pad) ASSERT_EQ(c, static_cast<char>(m.v));
    sum += m.v, ++count;
  }
  void operator()(const big& m) {
    ASSERT_EQ(m.pad[0], static_cast<char>(m.v));
    ASSERT_EQ(m.pad[999], static_cast<char>(m.v));
    sum += m.v, ++count;
  }
  std::pair<std::uint64_t, std::uint64_t> operator()(get_t) const { return {sum, count}; }
};

TEST_P(ActorRace, NodesTakenOnManyThreadsAndFreedByTheRunnerKeepTheirContents) {
  auto a = spawn<sizes_tally>();
  const std::uint64_t per_thread = scale(20000);
  std::uint64_t want = 0;
  for (int wave = 0; wave < 2; ++wave) {  // the second wave's threads reuse the first's nodes
    std::vector<std::thread> senders;
    for (std::uint64_t t = 0; t < 3; ++t)
      senders.emplace_back([&, t] {
        for (std::uint64_t i = 0; i < per_thread; ++i) {
          const std::uint64_t v = t * per_thread + i;
          status s;
          if (i % 3 == 0) {
            s = a.tell(v);
          } else if (i % 3 == 1) {
            sizes_tally::mid m{v, {}};
            std::memset(m.pad, static_cast<char>(v), sizeof m.pad);
            s = a.tell(m);
          } else {
            sizes_tally::big m{v, {}};
            std::memset(m.pad, static_cast<char>(v), sizeof m.pad);
            s = a.tell(m);
          }
          ASSERT_EQ(s, status::ok);
        }
      });
    for (auto& t : senders) t.join();
    for (std::uint64_t v = 0; v < 3 * per_thread; ++v) want += v;
    auto r = get(a.ask(get_t{}));
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r->second, 3 * per_thread * static_cast<std::uint64_t>(wave + 1));
    EXPECT_EQ(r->first, want);
  }
}

}  // namespace

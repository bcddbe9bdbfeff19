// Actors under concurrency (API.md "Actors"): messages from one sender are handled in the
// order sent, also when the sender is a task that may migrate between workers and when the
// sends are ordered only by happens-before across threads; handlers of one actor never run
// concurrently; a blocking handler (a channel recv, another actor's ask) blocks only its actor;
// many actors (100k, scaled) come and go without leaking.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "actor_support.hpp"

namespace {

using namespace weft::test::actors;
using weft::status;
using weft::test::scale;

class ActorConcurrency : public ActorTest {};
WEFT_ACTOR_SUITE(ActorConcurrency);

struct seq_msg {
  int sender;
  long seq;
};
struct report {
  long violations = 0;
  long total = 0;
};

/// Checks that each sender's sequence numbers arrive as 0, 1, 2, ...
struct seq_checker {
  std::vector<long> next;
  report r;
  explicit seq_checker(int senders) : next(static_cast<std::size_t>(senders), 0) {}
  void operator()(seq_msg m) {
    auto& n = next[static_cast<std::size_t>(m.sender)];
    if (m.seq != n) ++r.violations;
    n = m.seq + 1;
    ++r.total;
  }
  report operator()(get_t) const { return r; }
};

void expect_in_order(std::vector<weft::actor_ref<seq_checker>>& actors, long per_actor) {
  for (auto& a : actors) {
    auto r = get(a.ask(get_t{}));
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r->violations, 0);
    EXPECT_EQ(r->total, per_actor);
  }
}

TEST_P(ActorConcurrency, PerSenderOrderFromThreads) {
  constexpr int senders = 4;
  constexpr int n_actors = 8;
  const long per_sender = static_cast<long>(scale(5000));
  std::vector<weft::actor_ref<seq_checker>> actors;
  for (int i = 0; i < n_actors; ++i) actors.push_back(spawn<seq_checker>(senders));
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&actors, s, per_sender] {
      for (long i = 0; i < per_sender; ++i)
        for (auto& a : actors) ASSERT_EQ(a.tell(seq_msg{s, i}), status::ok);
    });
  }
  for (auto& t : threads) t.join();
  expect_in_order(actors, senders * per_sender);
}

TEST_P(ActorConcurrency, PerSenderOrderFromTasksThatMayMigrate) {
  constexpr int senders = 4;
  constexpr int n_actors = 8;
  const long per_sender = static_cast<long>(scale(5000));
  std::vector<weft::actor_ref<seq_checker>> actors;
  for (int i = 0; i < n_actors; ++i) actors.push_back(spawn<seq_checker>(senders));
  std::vector<weft::future<void>> tasks;
  for (int s = 0; s < senders; ++s) {
    tasks.push_back(weft::spawn(rt(), [&actors, s, per_sender] {
      for (long i = 0; i < per_sender; ++i) {
        for (auto& a : actors) EXPECT_EQ(a.tell(seq_msg{s, i}), status::ok);
        if (i % 64 == 0) weft::yield();  // invite a migration to another worker
      }
    }));
  }
  for (auto& t : tasks) EXPECT_EQ(get(t).code(), status::ok);
  expect_in_order(actors, senders * per_sender);
}

TEST_P(ActorConcurrency, TellsOrderedByHappensBeforeAcrossThreadsAreHandledInThatOrder) {
  // A baton passes between threads through a channel; each holder tells the next number,
  // then passes the baton. Every tell happens-before the next one, from another thread.
  constexpr int threads_n = 4;
  const long rounds = static_cast<long>(scale(2000));
  auto a = spawn<seq_checker>(1);
  std::vector<weft::chan<long>> batons;
  for (int i = 0; i < threads_n; ++i) batons.push_back(weft::make_chan<long>(1));
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      auto& in = batons[static_cast<std::size_t>(t)].rx;
      auto& out = batons[static_cast<std::size_t>((t + 1) % threads_n)].tx;
      for (;;) {
        auto seq = recv(in, "baton");
        if (!seq) return;
        if (*seq == rounds) {
          for (auto& b : batons) b.tx.close();
          return;
        }
        ASSERT_EQ(a.tell(seq_msg{0, *seq}), status::ok);
        (void)out.send(*seq + 1);
      }
    });
  }
  (void)batons[0].tx.send(0);
  for (auto& t : threads) t.join();
  auto r = get(a.ask(get_t{}));
  EXPECT_EQ(r->violations, 0);
  EXPECT_EQ(r->total, rounds);
}

/// Handlers flag themselves in and out; any overlap is counted. The plain counter `n` also
/// lets ThreadSanitizer see a race if two handlers ever ran at once.
struct exclusive {
  std::atomic<int>* inside;
  std::atomic<int>* overlaps;
  long n = 0;
  void operator()(int) {
    if (inside->fetch_add(1, std::memory_order_acq_rel) != 0) overlaps->fetch_add(1);
    for (int i = 0; i < 20; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
    ++n;
    inside->fetch_sub(1, std::memory_order_acq_rel);
  }
  long operator()(get_t) const { return n; }
};

TEST_P(ActorConcurrency, HandlersOfOneActorNeverRunConcurrently) {
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  auto a = spawn<exclusive>(&inside, &overlaps);
  const long per_sender = static_cast<long>(scale(20000));
  constexpr int senders = 4;
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s)
    threads.emplace_back([&] {
      for (long i = 0; i < per_sender; ++i) {
        ASSERT_EQ(a.tell(1), status::ok);
        if (i % 128 == 0) std::this_thread::yield();  // let the actor go idle now and then
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(get(a.ask(get_t{})).value(), senders * per_sender);
  EXPECT_EQ(overlaps.load(), 0);
}

TEST_P(ActorConcurrency, SendersRacingToWakeAnIdleActorStartOneRunner) {
  // Each round, the actor is idle (its last runner ended: tasks_live == 0) and several threads
  // tell it at the same moment. Each may find it idle and take a runner task before its CAS
  // (actor_state.hpp I6); one CAS wins and submits its task, the others give theirs back
  // (abandon_task) and enqueue only. Exactly the told messages are handled, never two handlers
  // at once, and every task taken is counted out again (each round waits for tasks_live == 0;
  // a task taken and not given back would hang it).
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  auto a = spawn<exclusive>(&inside, &overlaps);
  constexpr int senders = 3;
  const int rounds = static_cast<int>(scale(300));
  std::atomic<int> go{0};       // the round the senders may tell in
  std::atomic<int> arrived{0};  // tells done, over all rounds
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s)
    threads.emplace_back([&] {
      for (int r = 1; r <= rounds; ++r) {
        // acquire: pairs with the release store of the round (nothing else is published).
        wait_until([&] { return go.load(std::memory_order_acquire) >= r; }, "the next round");
        EXPECT_EQ(a.tell(1), status::ok);
        arrived.fetch_add(1, std::memory_order_acq_rel);  // acq_rel: the main thread counts us
      }
    });
  for (int r = 1; r <= rounds; ++r) {
    wait_until([&] { return weft::stats(rt()).tasks_live == 0; }, "the runner of the last round ended");
    go.store(r, std::memory_order_release);  // release: pairs with the senders' acquire
    // acquire: pairs with the senders' acq_rel increments.
    wait_until([&] { return arrived.load(std::memory_order_acquire) >= senders * r; }, "this round's tells");
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(get(a.ask(get_t{})).value(), senders * rounds);
  // relaxed: the ask's answer happens-after every handler.
  EXPECT_EQ(overlaps.load(std::memory_order_relaxed), 0);
}

TEST_P(ActorConcurrency, BlockingHandlerBlocksOnlyItsActor) {
  auto blocked = spawn<counter>();
  auto free = spawn<counter>();
  blocker b;
  ASSERT_EQ(blocked.tell(b.msg()), status::ok);
  b.wait_started();
  // With one worker this only passes if the blocked handler parked its fiber, not the worker.
  for (int i = 0; i < 100; ++i) ASSERT_EQ(free.tell(1), status::ok);
  EXPECT_EQ(get(free.ask(get_t{}), "the other actor while one handler blocks").value(), 100);
  auto pending = blocked.ask(get_t{});
  EXPECT_EQ(pending.try_get().code(), status::empty);
  b.release();
  EXPECT_EQ(get(pending).value(), 0);
}

/// Each message tells the actor another one: its mailbox never runs dry until it is stopped.
struct perpetual {
  weft::actor_ref<perpetual>* self;
  void operator()(int) const { (void)self->tell(1); }  // closed once stopped
};

TEST_P(ActorConcurrency, BusyActorDoesNotStarveTheOthers) {
  // The busy actor's runner never finds its mailbox empty; it yields its worker every
  // mailbox_batch messages, so other actors on the same (single) worker still get to run.
  weft::actor_ref<perpetual> busy;
  busy = spawn<perpetual>(&busy);
  auto other = spawn<counter>();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(busy.tell(1), status::ok);
  auto mon = busy.monitor();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(get(other.ask(get_t{}), "the other actor").code(), status::ok);
  busy.stop();
  EXPECT_TRUE(static_cast<bool>(recv(mon)));  // its handlers use `busy`: it must end before `busy` does
}

/// Forwards get_t to another actor and waits for its answer inside the handler.
struct forwarder {
  weft::actor_ref<counter> to;
  long operator()(get_t) const { return get(to.ask(get_t{})).value() + 1; }
};

TEST_P(ActorConcurrency, HandlerMayAskAnotherActor) {
  auto c = spawn<counter>();
  (void)c.tell(41);
  auto f = spawn<forwarder>(c);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(get(f.ask(get_t{})).value(), 42);
}

TEST_P(ActorConcurrency, ManyActorsComeAndGo) {
  const std::size_t n = scale(100000);
  std::vector<weft::actor_ref<counter>> actors;
  actors.reserve(n);
  for (std::size_t i = 0; i < n; ++i) actors.push_back(spawn<counter>());
  EXPECT_GE(actors_live(), n);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(actors[i].tell(static_cast<int>(i % 7)), status::ok);
  std::vector<weft::future<long>> answers;
  answers.reserve(n);
  for (auto& a : actors) answers.push_back(a.ask(get_t{}));
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(get(answers[i]).value(), static_cast<long>(i % 7));
  actors.clear();  // the last handles: every actor stops; TearDown waits for them all to end
}

struct tally {
  std::atomic<long>* handled;
  void operator()(int) { handled->fetch_add(1, std::memory_order_relaxed); }
};

TEST_P(ActorConcurrency, StopRacingWithTellsLosesNothing) {
  // Every tell that returned ok is handled before the end; every refused one returned closed.
  const int rounds = static_cast<int>(scale(200));
  for (int r = 0; r < rounds; ++r) {
    std::atomic<long> handled{0};
    std::atomic<long> accepted{0};
    auto c = spawn<tally>(&handled);
    auto mon = c.monitor();
    std::thread sender([&] {
      for (int i = 0; i < 200; ++i) {
        const status s = c.tell(1);
        if (s == status::ok)
          accepted.fetch_add(1);
        else
          ASSERT_EQ(s, status::closed);
      }
    });
    if (r % 2 == 0) std::this_thread::yield();
    c.stop();
    sender.join();
    ASSERT_TRUE(static_cast<bool>(recv(mon)));  // the end happens-after every handler
    EXPECT_EQ(handled.load(), accepted.load()) << "round " << r;
    EXPECT_EQ(c.mailbox_size(), 0u);
  }
}

// Deterministic schedules (runtime_options::seed, one worker): each seed is one interleaving of
// the sender tasks, the stopper and the actor's runner; many seeds explore many of them.
TEST(ActorSchedules, StopRacingWithTellsFromTasksUnderManySeeds) {
  const std::uint64_t seeds = scale(500);
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    weft::runtime r({.workers = 1, .seed = seed});
    std::atomic<long> handled{0};
    std::atomic<long> accepted{0};
    auto a = weft::spawn_actor<tally>(r, {}, &handled);
    auto mon = a.monitor();
    std::vector<weft::future<void>> tasks;
    for (int s = 0; s < 3; ++s)
      tasks.push_back(weft::spawn(r, [&] {
        for (int i = 0; i < 30; ++i) {
          if (a.tell(1) == status::ok) accepted.fetch_add(1);
          weft::yield();
        }
      }));
    tasks.push_back(weft::spawn(r, [&, seed] {
      for (std::uint64_t i = 0; i < seed % 40; ++i) weft::yield();
      a.stop();
    }));
    for (auto& t : tasks) EXPECT_EQ(get(t).code(), status::ok);
    auto e = recv(mon);
    ASSERT_TRUE(static_cast<bool>(e)) << "seed " << seed;
    EXPECT_EQ(handled.load(), accepted.load()) << "seed " << seed;
  }
}

TEST(ActorSchedules, PerSenderOrderUnderManySeeds) {
  const std::uint64_t seeds = scale(200);
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    weft::runtime r({.workers = 1, .seed = seed});
    constexpr int senders = 3;
    auto a = weft::spawn_actor<seq_checker>(r, {}, senders);
    std::vector<weft::future<void>> tasks;
    for (int s = 0; s < senders; ++s)
      tasks.push_back(weft::spawn(r, [&a, s] {
        for (long i = 0; i < 40; ++i) {
          EXPECT_EQ(a.tell(seq_msg{s, i}), status::ok);
          if (i % 3 == 0) weft::yield();
        }
      }));
    for (auto& t : tasks) EXPECT_EQ(get(t).code(), status::ok);
    auto rep = get(a.ask(get_t{}));
    EXPECT_EQ(rep->violations, 0) << "seed " << seed;
    EXPECT_EQ(rep->total, senders * 40) << "seed " << seed;
  }
}

}  // namespace

// group (errgroup): ctx() is a child of the parent; spawn runs f(const context&) as a task;
// f returns void, status or result<void>, or throws; the first failure in time order is kept
// and cancels ctx(); set_limit bounds concurrent tasks (spawn waits, try_spawn returns false);
// wait() returns the first failure or ok and cancels ctx(); ~group waits; spawn after wait()
// throws weft::error (API.md "Coordination").
//
// The tasks run on the default runtime (weft::spawn); the test's own side runs as a thread or
// as a task per the exec parameter.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <weft/sync.hpp>

#include "../support/helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::status;
using weft::test::clock;

class Group : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
  // Runs body as the test's side (a thread, or a task on a fresh runtime).
  template <class F>
  void run(F body) {
    weft::test::run_concurrently(ex(), std::move(body));
  }
};
INSTANTIATE_TEST_SUITE_P(Exec, Group, weft::test::exec_values(), weft::test::exec_param_name);

/// Blocks (task-aware) until ctx ends; returns its err().
status wait_done(const weft::context& ctx) {
  auto d = ctx.done();
  (void)d.recv();  // closed when ctx ends
  return ctx.err();
}

TEST_P(Group, WaitReturnsOkAndSeesEveryTasksWrites) {
  run([] {
    weft::group g;
    constexpr std::size_t n = 8;
    std::size_t data[n] = {};
    for (std::size_t i = 0; i < n; ++i)
      g.spawn([&data, i](const weft::context&) { data[i] = i * 10 + 1; });  // plain writes
    auto r = g.wait();
    EXPECT_TRUE(static_cast<bool>(r)) << r.code();
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(data[i], i * 10 + 1);
    EXPECT_EQ(g.ctx().err(), status::cancelled) << "wait() cancels ctx()";
  });
}

TEST_P(Group, AcceptsVoidStatusAndResultVoidAndTaskWithoutContext) {
  run([] {
    weft::group g;
    std::atomic<int> ran{0};
    g.spawn([&](const weft::context&) { ran.fetch_add(1); });
    g.spawn([&](const weft::context&) {
      ran.fetch_add(1);
      return status::ok;
    });
    g.spawn([&](const weft::context&) {
      ran.fetch_add(1);
      return weft::result<void>();
    });
    g.spawn([&] { ran.fetch_add(1); });
    EXPECT_TRUE(static_cast<bool>(g.wait()));
    EXPECT_EQ(ran.load(), 4);
  });
}

// The first failure in time order is kept: the sibling fails only after it saw the first
// failure's cancellation, so its (different) status must be dropped.
TEST_P(Group, KeepsTheFirstFailureInTimeOrderAndCancelsSiblings) {
  run([] {
    weft::group g;
    std::atomic<bool> first_failed{false};
    std::atomic<int> sibling_saw{-1};
    g.spawn([&](const weft::context& ctx) {
      const status s = wait_done(ctx);  // the siblings observe ctx().done()
      sibling_saw = static_cast<int>(s);
      return status::timeout;  // a later failure: dropped
    });
    g.spawn([&](const weft::context& ctx) {
      const status s = wait_done(ctx);
      EXPECT_EQ(s, status::cancelled);
      return weft::result<void>(status::broken);  // also later: dropped
    });
    g.spawn([&](const weft::context&) {
      first_failed = true;
      return status::closed;
    });
    auto r = g.wait();
    EXPECT_EQ(r.code(), status::closed);
    EXPECT_TRUE(first_failed.load());
    EXPECT_EQ(sibling_saw.load(), static_cast<int>(status::cancelled));
    EXPECT_EQ(g.ctx().err(), status::cancelled);
  });
}

TEST_P(Group, ExceptionIsAFailedResultWithTheException) {
  run([] {
    weft::group g;
    g.spawn([](const weft::context&) -> status { throw std::runtime_error("boom"); });
    g.spawn([](const weft::context& ctx) { (void)wait_done(ctx); });  // ok, after the cancel
    auto r = g.wait();
    ASSERT_EQ(r.code(), status::failed);
    ASSERT_TRUE(r.exception() != nullptr);
    try {
      std::rethrow_exception(r.exception());
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom");
    }
  });
}

TEST_P(Group, CtxIsAChildOfTheParent) {
  run([] {
    auto [parent, cancel_parent] = weft::with_cancel(weft::background());
    weft::group g(parent);
    EXPECT_EQ(g.ctx().err(), status::ok);
    std::atomic<int> seen{-1};
    g.spawn([&](const weft::context& ctx) {
      seen = static_cast<int>(wait_done(ctx));
      return status::ok;
    });
    cancel_parent();
    EXPECT_TRUE(static_cast<bool>(g.wait())) << "the task itself returned ok";
    EXPECT_EQ(seen.load(), static_cast<int>(status::cancelled));
    EXPECT_EQ(parent.err(), status::cancelled);
  });
}

TEST_P(Group, CancellingTheGroupDoesNotCancelTheParent) {
  run([] {
    auto [parent, cancel_parent] = weft::with_cancel(weft::background());
    {
      weft::group g(parent);
      g.spawn([](const weft::context&) { return status::closed; });
      EXPECT_EQ(g.wait().code(), status::closed);
      EXPECT_EQ(g.ctx().err(), status::cancelled);
    }
    EXPECT_EQ(parent.err(), status::ok);
    cancel_parent();
  });
}

TEST_P(Group, SpawnAfterWaitThrowsClosed) {
  run([] {
    weft::group g;
    g.spawn([](const weft::context&) {});
    EXPECT_TRUE(static_cast<bool>(g.wait()));
    bool ran = false;
    WEFT_EXPECT_ERROR(g.spawn([&](const weft::context&) { ran = true; }), status::closed);
    WEFT_EXPECT_ERROR(g.try_spawn([&](const weft::context&) { ran = true; }), status::closed);
    EXPECT_FALSE(ran);
    EXPECT_TRUE(static_cast<bool>(g.wait())) << "a second wait() returns the same outcome";
  });
}

TEST_P(Group, SecondWaitReturnsTheSameFailure) {
  run([] {
    weft::group g;
    g.spawn([](const weft::context&) { return status::full; });
    EXPECT_EQ(g.wait().code(), status::full);
    EXPECT_EQ(g.wait().code(), status::full);
  });
}

// ~group waits for its tasks when wait() was not called: the task can only finish once the
// releaser opens its gate, which happens after the releaser let the destructor block.
TEST_P(Group, DestructorWaitsForTasks) {
  std::atomic<bool> gate{false};
  std::atomic<bool> task_finished{false};
  std::atomic<bool> destroyed{false};
  weft::test::run_concurrently(
      ex(),
      [&] {
        {
          weft::group g;
          g.spawn([&](const weft::context&) {
            weft::test::wait_until([&] { return gate.load(); }, "gate");
            task_finished = true;
          });
        }  // ~group
        EXPECT_TRUE(task_finished.load()) << "~group returned before its task finished";
        destroyed = true;
      },
      [&] {
        weft::test::let_others_block();
        EXPECT_FALSE(destroyed.load()) << "~group did not wait";
        gate = true;
      });
}

// set_limit(n): never more than n tasks at once (an atomic high-water mark), and every task runs.
TEST_P(Group, SetLimitNeverExceedsN) {
  run([] {
    constexpr std::size_t limit = 3;
    const std::size_t tasks = weft::test::scale(60);
    weft::group g;
    g.set_limit(limit);
    std::atomic<std::size_t> running{0};
    std::atomic<std::size_t> high{0};
    std::atomic<std::size_t> ran{0};
    for (std::size_t i = 0; i < tasks; ++i) {
      g.spawn([&](const weft::context&) {
        const std::size_t now = running.fetch_add(1) + 1;
        std::size_t h = high.load();
        while (now > h && !high.compare_exchange_weak(h, now)) {
        }
        for (int k = 0; k < 20; ++k) weft::test::relax();  // overlap with the others
        running.fetch_sub(1);
        ran.fetch_add(1);
      });
    }
    EXPECT_TRUE(static_cast<bool>(g.wait()));
    EXPECT_LE(high.load(), limit);
    EXPECT_GE(high.load(), std::size_t{1});
    EXPECT_EQ(ran.load(), tasks);
  });
}

// With every slot taken, try_spawn returns false without running f, and spawn blocks until a
// slot is given back.
TEST_P(Group, TrySpawnFalseAndSpawnBlocksWhileFull) {
  std::atomic<bool> gate{false};
  std::atomic<bool> first_running{false};
  std::atomic<bool> second_started{false};
  std::atomic<bool> spawn_returned{false};
  std::atomic<bool> try_spawn_checked{false};
  weft::group g;
  g.set_limit(1);
  weft::test::run_concurrently(
      ex(),
      [&] {
        g.spawn([&](const weft::context&) {
          first_running = true;
          weft::test::wait_until([&] { return gate.load(); }, "gate");
        });
        weft::test::wait_until([&] { return first_running.load(); }, "first task");
        bool ran = false;
        EXPECT_FALSE(g.try_spawn([&](const weft::context&) { ran = true; }));
        EXPECT_FALSE(ran);
        try_spawn_checked = true;
        g.spawn([&](const weft::context&) { second_started = true; });  // blocks for the slot
        spawn_returned = true;
      },
      [&] {
        // The gate opens only after the try_spawn check: the slot is surely taken until then.
        weft::test::wait_until([&] { return try_spawn_checked.load(); }, "try_spawn check");
        weft::test::let_others_block();
        EXPECT_FALSE(spawn_returned.load()) << "spawn did not wait for a slot";
        EXPECT_FALSE(second_started.load());
        gate = true;
      });
  EXPECT_TRUE(static_cast<bool>(g.wait()));
  EXPECT_TRUE(second_started.load());
}

TEST_P(Group, TrySpawnSucceedsOnceASlotIsFree) {
  run([] {
    weft::group g;
    g.set_limit(1);
    std::atomic<int> ran{0};
    EXPECT_TRUE(g.try_spawn([&](const weft::context&) { ran.fetch_add(1); }));
    // The slot comes back when that task ends: poll (hang-guarded) until try_spawn takes it.
    weft::test::wait_until([&] { return g.try_spawn([&](const weft::context&) { ran.fetch_add(1); }); },
                           "a free slot");
    EXPECT_TRUE(static_cast<bool>(g.wait()));
    EXPECT_EQ(ran.load(), 2);
  });
}

TEST_P(Group, RaisingTheLimitReleasesWaitingSpawners) {
  std::atomic<bool> gate{false};
  std::atomic<bool> spawned{false};
  std::atomic<int> running{0};
  weft::group g;
  g.set_limit(1);
  g.spawn([&](const weft::context&) {
    running.fetch_add(1);
    weft::test::wait_until([&] { return gate.load(); }, "gate");
  });
  weft::test::run_concurrently(
      ex(),
      [&] {
        g.spawn([&](const weft::context&) { running.fetch_add(1); });  // waits for a slot
        spawned = true;
      },
      [&] {
        weft::test::let_others_block();
        g.set_limit(2);
        weft::test::wait_until([&] { return spawned.load(); }, "spawn after set_limit(2)");
        gate = true;
      });
  EXPECT_TRUE(static_cast<bool>(g.wait()));
  EXPECT_EQ(running.load(), 2);
}

TEST(GroupMisuse, SetLimitZeroThrows) {
  weft::group g;
  WEFT_EXPECT_ERROR(g.set_limit(0), status::failed);
  EXPECT_TRUE(static_cast<bool>(g.wait()));
}

// Many tasks failing at once: exactly one failure is kept and wait() returns it.
TEST(GroupStress, ManyConcurrentFailuresKeepOne) {
  const std::size_t rounds = weft::test::scale(50);
  for (std::size_t r = 0; r < rounds; ++r) {
    weft::group g;
    for (int i = 0; i < 16; ++i)
      g.spawn([i](const weft::context&) { return i % 2 == 0 ? status::closed : status::full; });
    const status s = g.wait().code();
    EXPECT_TRUE(s == status::closed || s == status::full) << s;
  }
}

}  // namespace

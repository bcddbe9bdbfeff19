// Allocation failure at every count (issue 7 item 3): std::bad_alloc from the n-th operator new of
// the calling thread (alloc_hook.cpp), swept over n until the operation needs no more
// allocations. Plus throwing task bodies and a throwing once_value init.
// After each failure: nothing leaked or destroyed twice (leak_check), the value a failed send was
// given is still the caller's, the object is still usable, and the error is clear (bad_alloc, or
// weft::error naming what failed).
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "fault_support.hpp"
#include "support/tracked.hpp"

namespace {

using weft::status;
using weft::test::leak_check;
using weft::test::tracked_move_only;
using weft::test::fault::alloc_injection_available;
using weft::test::fault::allocations_left;
using weft::test::fault::arm_allocs;
using weft::test::fault::disarm_allocs;
using weft::test::fault::disarm_on_exit;

// make_chan: a failed allocation is weft::error (code failed) naming the capacity, or bad_alloc
// from the channel object itself; never a half-built channel.
TEST(AllocFailure, MakeChanFailsCleanlyAtEveryAllocation) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{64}}) {
    for (long n = 1; n <= 20; ++n) {
      disarm_on_exit guard;
      leak_check lc;
      bool failed = false;
      arm_allocs(n);
      try {
        auto c = weft::make_chan<tracked_move_only>(cap);
        const bool done = allocations_left() > 0;
        disarm_allocs();
        ASSERT_EQ(c.tx.try_send(tracked_move_only(1)) == status::ok, cap > 0);
        if (cap > 0) {
          EXPECT_EQ(c.rx.try_recv()->value(), 1);
        }
        if (done) break;
      } catch (const weft::error& e) {
        failed = true;
        EXPECT_EQ(e.code(), status::failed);
        EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos) << e.what();
      } catch (const std::bad_alloc&) {
        failed = true;
      }
      disarm_allocs();
      EXPECT_TRUE(failed || allocations_left() == 0) << "cap " << cap << " n " << n;
    }
  }
}

// The unbounded flavor allocates a block every 31 values (one recycled block is kept): a send
// whose block allocation fails throws bad_alloc, leaves the value with the caller and loses no
// value sent before; the channel then goes on.
TEST(AllocFailure, UnboundedBlockAllocationFailureLosesNothing) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  for (long n = 1; n <= 6; ++n) {
    disarm_on_exit guard;
    leak_check lc;
    std::vector<int> kept;
    int sent = 0;
    {
      auto c = weft::make_unbounded_chan<tracked_move_only>();
      arm_allocs(n);
      constexpr int total = 200;  // several blocks
      for (int i = 0; i < total; ++i) {
        tracked_move_only v(i);
        try {
          ASSERT_EQ(c.tx.send(std::move(v)), status::ok);
          ++sent;
        } catch (const std::bad_alloc&) {
          EXPECT_FALSE(v.is_moved_from()) << "a send that failed to allocate must keep the value";
          EXPECT_EQ(v.value(), i);
          kept.push_back(i);
        }
      }
      const bool fired = allocations_left() == 0;
      disarm_allocs();
      EXPECT_EQ(kept.size(), fired ? 1u : 0u) << "n " << n;
      EXPECT_EQ(sent + static_cast<int>(kept.size()), total);
      c.tx.close();
      int expect = 0, got = 0;
      for (auto&& v : c.rx) {
        if (!kept.empty() && expect == kept.front()) ++expect;
        EXPECT_EQ(v.value(), expect) << "order or loss (n " << n << ")";
        ++expect;
        ++got;
      }
      EXPECT_EQ(got, sent);
      if (!fired) break;
    }
  }
}

// spawn: a failed allocation while preparing the task throws to the caller, destroys the
// closure's captures exactly once and leaves the runtime working.
TEST(AllocFailure, SpawnFailsCleanlyAndTheRuntimeGoesOn) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  weft::runtime rt(weft::runtime_options{.workers = 2});
  for (long n = 1; n <= 12; ++n) {
    disarm_on_exit guard;
    leak_check lc;
    bool threw = false;
    std::optional<weft::future<int>> f;
    arm_allocs(n);
    try {
      f.emplace(weft::spawn(rt, [t = tracked_move_only(41)] { return t.value() + 1; }));
    } catch (const std::bad_alloc&) {
      threw = true;
    } catch (const weft::error&) {
      threw = true;
    }
    const bool done = allocations_left() > 0;
    disarm_allocs();
    if (!threw) {
      auto r = f->get();
      ASSERT_TRUE(static_cast<bool>(r));
      EXPECT_EQ(*r, 42);
    }
    f.reset();
    // The runtime still spawns.
    auto again = weft::spawn(rt, [] { return 7; }).get();
    ASSERT_TRUE(static_cast<bool>(again));
    EXPECT_EQ(*again, 7);
    if (done) break;
  }
}

struct counter {
  int n = 0;
  void operator()(tracked_move_only m) { n += m.value(); }
  int operator()(int) const { return n; }
};

// tell: the mailbox node allocation fails -> bad_alloc (or a weft::error), the message is not
// delivered and not leaked; the actor goes on and has handled exactly the accepted messages.
// KNOWN BUG (tests/README.md, "Fault injection"): when the runtime's task pool is empty, tell ->
// actor_core::submit -> prepare_task -> runtime_impl::take_from_pool, which is declared noexcept
// (core/src/scheduler.cpp:780) but grows the pool with stack_pool::allocate_slab, whose operator
// new can throw: std::terminate with no message (not even submit's own "out of memory" fatal).
// weft::spawn from a thread reaches the same take_from_pool. Enable when fixed.
TEST(AllocFailure, DISABLED_ActorTellFailsCleanlyAndTheActorGoesOn) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  weft::runtime rt(weft::runtime_options{.workers = 2});
  leak_check lc;
  {
    auto a = weft::spawn_actor<counter>(rt, weft::actor_options{});
    int accepted = 0;
    for (long n = 1; n <= 8; ++n) {
      disarm_on_exit guard;
      arm_allocs(n);
      try {
        if (a.tell(tracked_move_only(1)) == status::ok) ++accepted;
      } catch (const std::bad_alloc&) {
      } catch (const weft::error&) {
      }
      disarm_allocs();
    }
    auto r = a.ask(0).get();
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, accepted) << "the actor handled exactly the accepted tells";
    EXPECT_GE(accepted, 1);
    a.stop();
  }
}

// spawn_actor: a failure anywhere in creating the actor throws, leaks nothing, and the runtime
// can spawn the next one.
TEST(AllocFailure, SpawnActorFailsCleanly) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  weft::runtime rt(weft::runtime_options{.workers = 2});
  for (long n = 1; n <= 12; ++n) {
    disarm_on_exit guard;
    leak_check lc;
    bool threw = false;
    arm_allocs(n);
    try {
      auto a = weft::spawn_actor<counter>(rt, weft::actor_options{});
      const bool done = allocations_left() > 0;
      disarm_allocs();
      ASSERT_EQ(a.tell(tracked_move_only(3)), status::ok);
      auto r = a.ask(0).get();
      ASSERT_TRUE(static_cast<bool>(r));
      EXPECT_EQ(*r, 3);
      a.stop();
      if (done) break;
    } catch (const std::bad_alloc&) {
      threw = true;
    } catch (const weft::error&) {
      threw = true;
    }
    disarm_allocs();
    (void)threw;
  }
}

// ---- throwing bodies ----------------------------------------------------------------------------

struct body_error : std::runtime_error {
  body_error() : std::runtime_error("task body threw") {}
};

// A task that throws: its future gets `failed` with that exception, captures are destroyed once,
// and the runtime (both workers) keeps running tasks.
TEST(ThrowingBody, TaskExceptionReachesTheFutureAndTheRuntimeGoesOn) {
  weft::runtime rt(weft::runtime_options{.workers = 2});
  leak_check lc;
  std::vector<weft::future<int>> fs;
  for (int i = 0; i < 50; ++i) {
    fs.push_back(weft::spawn(rt, [i, t = tracked_move_only(i)]() -> int {
      if (i % 3 == 0) throw body_error();
      return t.value();
    }));
  }
  for (int i = 0; i < 50; ++i) {
    auto r = fs[static_cast<std::size_t>(i)].get();
    if (i % 3 == 0) {
      ASSERT_EQ(r.code(), status::failed);
      EXPECT_THROW(r.value(), body_error);
    } else {
      ASSERT_TRUE(static_cast<bool>(r));
      EXPECT_EQ(*r, i);
    }
  }
  fs.clear();
  auto again = weft::spawn(rt, [] { return 1; }).get();
  EXPECT_TRUE(static_cast<bool>(again));
}

// once_value: an init that throws on its first k calls gives each of those callers the exception;
// the next get() runs init again; the value is built exactly once in the end.
TEST(ThrowingBody, OnceValueInitThrowsThenSucceeds) {
  for (int k = 0; k < 4; ++k) {
    leak_check lc;
    int calls = 0;
    {
      weft::once_value<tracked_move_only> ov([&] {
        if (calls++ < k) throw body_error();
        return tracked_move_only(99);
      });
      for (int i = 0; i < k; ++i) EXPECT_THROW(ov.get(), body_error);
      EXPECT_EQ(ov.get().value(), 99);
      EXPECT_EQ(ov.get().value(), 99);
      EXPECT_EQ(calls, k + 1);
    }
  }
}

// once_value with concurrent getters while the first inits throw: every getter either gets the
// exception of the init it ran, or the one value; nobody sees a half-built value.
TEST(ThrowingBody, OnceValueConcurrentGettersAfterThrowingInits) {
  weft::runtime rt(weft::runtime_options{.workers = 2});
  leak_check lc;
  std::atomic<int> calls{0};
  {
    weft::once_value<tracked_move_only> ov([&] {
      // relaxed: a counter; the once_value's own publication orders the value.
      if (calls.fetch_add(1, std::memory_order_relaxed) < 3) throw body_error();
      return tracked_move_only(5);
    });
    std::vector<weft::future<int>> fs;
    for (int i = 0; i < 16; ++i) {
      fs.push_back(weft::spawn(rt, [&ov]() -> int {
        for (;;) {
          try {
            return ov.get().value();
          } catch (const body_error&) {
          }
        }
      }));
    }
    for (auto& f : fs) {
      auto r = f.get();
      ASSERT_TRUE(static_cast<bool>(r));
      EXPECT_EQ(*r, 5);
    }
    EXPECT_EQ(calls.load(std::memory_order_relaxed), 4) << "3 failed inits, then exactly one success";
  }
}

}  // namespace

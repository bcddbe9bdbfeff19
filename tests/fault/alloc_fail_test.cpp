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

#include <weft/detail/node_slab.hpp>
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

// What a sweep of armed tells did (sweep_tells).
struct tell_sweep {
  int accepted = 0;             // tells that returned ok
  int failed = 0;               // tells that threw bad_alloc
  int failed_after_node = 0;    // ... past the message node (sweep_tells makes the node need no
                                // allocation: every failure is past it)
};

// Tells tracked_move_only(1) to `a` from the calling thread or task with the n-th allocation
// failing, n = 1, 2, ... until a tell needs fewer than n allocations (or max_n). Each tell that
// fails must throw bad_alloc, leave the message with the caller and enqueue nothing. The
// message nodes come from a freshly opened slab with room for every tell of the sweep, so the
// allocations that fail are the tell's others (the runner's task); MessageSlabAllocationFails-
// Cleanly covers a failing slab.
template <class B>
tell_sweep sweep_tells(const weft::actor_ref<B>& a, long max_n = 400) {
  tell_sweep s;
  weft::detail::node_slab_open_fresh();
  for (long n = 1; n <= max_n; ++n) {
    disarm_on_exit guard;
    tracked_move_only v(1);
    const std::size_t queued_before = a.mailbox_size();
    bool threw = false;
    status st = status::failed;
    arm_allocs(n);
    try {
      st = a.tell(std::move(v));
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    const bool done = allocations_left() > 0;
    disarm_allocs();
    if (threw) {
      ++s.failed;
      ++s.failed_after_node;
      EXPECT_FALSE(v.is_moved_from()) << "a tell that failed must leave the message with the caller (n " << n << ")";
      EXPECT_EQ(v.value(), 1);
      if (s.accepted == 0) {
        EXPECT_EQ(a.mailbox_size(), queued_before) << "a failed tell enqueued something";
      }
    } else {
      EXPECT_EQ(st, status::ok);
      ++s.accepted;
    }
    if (done) break;
  }
  return s;
}

// tell: the mailbox node allocation fails, or (the actor is idle and the runtime's task pool is
// empty, as it is in a fresh runtime) growing the pool for the runner's task fails -> bad_alloc,
// the message is not delivered and not leaked, the actor is left idle; it goes on and has handled
// exactly the accepted messages. Was tests/README.md "Fault injection" bug 3: the runner's
// submission came after the message was enqueued and the process stopped with "could not submit
// the runner task (out of memory)".
void tell_fails_cleanly_and_the_actor_goes_on(std::size_t workers) {
  weft::runtime rt(weft::runtime_options{.workers = workers});
  leak_check lc;
  {
    auto a = weft::spawn_actor<counter>(rt, weft::actor_options{});
    auto exit = a.monitor();
    const tell_sweep s = sweep_tells(a);
    EXPECT_GE(s.failed_after_node, 1) << "the sweep never reached the runner's task (the pool was not empty?)";
    EXPECT_EQ(s.accepted, 1) << "the sweep ends at the first tell that needed no more allocations";
    // The actor goes on: more tells and an ask, and it has handled exactly the accepted ones.
    constexpr int more = 100;
    for (int i = 0; i < more; ++i) ASSERT_EQ(a.tell(tracked_move_only(1)), status::ok);
    auto r = a.ask(0).get();
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, s.accepted + more) << "the actor handled exactly the accepted tells";
    a.stop();
    auto e = exit.recv();
    ASSERT_TRUE(static_cast<bool>(e));
    EXPECT_EQ(e->reason, weft::exit_reason::stopped);
  }
}

TEST(AllocFailure, ActorTellFailsCleanlyAndTheActorGoesOn) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  tell_fails_cleanly_and_the_actor_goes_on(2);
}

TEST(AllocFailure, ActorTellFailsCleanlyAndTheActorGoesOnWithOneWorker) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  tell_fails_cleanly_and_the_actor_goes_on(1);
}

// ask: the same sweep (the one-shot state, the node, the runner's task): a failing ask throws
// bad_alloc with the message untouched and nothing enqueued; the actor has handled exactly the
// asks that returned a future, and each of those futures completes.
TEST(AllocFailure, ActorAskFailsCleanlyAndTheActorGoesOn) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  weft::runtime rt(weft::runtime_options{.workers = 1});  // a fresh runtime: its task pool is empty
  leak_check lc;
  {
    auto a = weft::spawn_actor<counter>(rt, weft::actor_options{});
    int accepted = 0, failed_after_first = 0;
    for (long n = 1; n <= 400; ++n) {
      disarm_on_exit guard;
      tracked_move_only v(1);
      std::optional<weft::future<void>> f;
      arm_allocs(n);
      try {
        f.emplace(a.ask(std::move(v)));
      } catch (const std::bad_alloc&) {
      }
      const bool done = allocations_left() > 0;
      disarm_allocs();
      if (f) {
        ++accepted;
        EXPECT_TRUE(static_cast<bool>(f->get())) << "n " << n;
      } else {
        failed_after_first += n >= 2 ? 1 : 0;
        EXPECT_FALSE(v.is_moved_from()) << "an ask that failed must leave the message with the caller (n " << n << ")";
        if (accepted == 0) {
          EXPECT_EQ(a.mailbox_size(), 0u) << "a failed ask enqueued something";
        }
      }
      if (done) break;
    }
    EXPECT_GE(failed_after_first, 1);
    auto r = a.ask(0).get();
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, accepted) << "the actor handled exactly the accepted asks";
    a.stop();
  }
}

// The same from a task on the runtime's only worker, where the runner's task comes from the
// worker's own cache (refilled from the pool, which grows when empty): filler tasks that stay
// blocked take one pooled task each, so after a few dozen the pool runs dry and an armed tell
// to the idle actor must grow it. Before each armed tell the teller waits until the previous
// runner has ended (tasks_live back to the teller and its fillers), so the actor is idle.
TEST(AllocFailure, ActorTellFromATaskFailsCleanlyWhenThePoolMustGrow) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  weft::runtime rt(weft::runtime_options{.workers = 1});
  leak_check lc;
  {
    auto a = weft::spawn_actor<counter>(rt, weft::actor_options{});
    tell_sweep total;
    auto teller = weft::spawn(rt, [&] {
      auto [hold_tx, hold_rx] = weft::make_chan<int>(0);
      std::vector<weft::future<void>> fillers;
      for (int k = 0; k < 300 && total.failed_after_node == 0; ++k) {
        // The previous runner must have ended (its task back in the cache) before the next
        // filler takes one, else the filler's spawn, not the armed tell, would refill the cache.
        while (weft::stats(rt).tasks_live > fillers.size() + 1) weft::yield();
        fillers.push_back(weft::spawn(rt, [rx = hold_rx]() mutable { (void)rx.recv(); }));
        const tell_sweep s = sweep_tells(a);
        total.accepted += s.accepted;
        total.failed += s.failed;
        total.failed_after_node += s.failed_after_node;
      }
      hold_tx.close();
      for (auto& f : fillers) EXPECT_TRUE(static_cast<bool>(f.get()));
    });
    ASSERT_TRUE(static_cast<bool>(teller.get()));
    EXPECT_GE(total.failed_after_node, 1) << "no armed tell had to grow the task pool; accepted " << total.accepted << " failed " << total.failed;
    auto r = a.ask(0).get();
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, total.accepted) << "the actor handled exactly the accepted tells";
    a.stop();
  }
}

// stop() and dropping the last actor_ref must not fail: when an idle actor is stopped and no
// runner task can be had (the pool is empty and growing it fails), the stopper ends the actor
// itself: the behaviour is destroyed once, the monitors are told `stopped`, nothing leaks.
struct holder {
  tracked_move_only kept{7};
  void operator()(int) {}
};

TEST(AllocFailure, StoppingAnIdleActorWithoutMemoryStillEndsIt) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  weft::runtime rt(weft::runtime_options{.workers = 2});  // its pool stays empty until a stop succeeds
  leak_check lc;
  for (bool by_drop : {false, true}) {
    for (long n = 1; n <= 400; ++n) {
      disarm_on_exit guard;
      weft::actor_ref<holder> a = weft::spawn_actor<holder>(rt, weft::actor_options{});
      auto exit = a.monitor();
      lc.expect_live(1);  // the behaviour's tracked member
      arm_allocs(n);
      if (by_drop) {
        weft::actor_ref<holder> last = std::move(a);  // destroyed here: the last handle stops the actor
      } else {
        a.stop();
      }
      const bool done = allocations_left() > 0;
      disarm_allocs();
      auto e = exit.recv();  // at once when the stopper ended it; else when the runner has
      ASSERT_TRUE(static_cast<bool>(e)) << "n " << n;
      EXPECT_EQ(e->reason, weft::exit_reason::stopped);
      EXPECT_EQ(e->error, nullptr);
      lc.expect_live(0);  // the behaviour was destroyed
      if (a) {
        EXPECT_EQ(a.tell(1), status::closed);
      }
      if (done) break;
    }
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

// Message-node slabs (actors/include/weft/detail/node_slab.hpp): when a new slab is needed and
// operator new fails, node_slab_allocate throws bad_alloc and changes nothing: the nodes carved
// before stay intact and usable, and the next allocation (memory back) works. Nodes of 1 KiB use
// up a slab every 63 allocations; the cache of empty slabs runs dry within a bounded number.
TEST(AllocFailure, MessageSlabAllocationFailsCleanly) {
  if (!alloc_injection_available()) GTEST_SKIP() << "no operator new replacement under ThreadSanitizer";
  using weft::detail::node_slab_allocate;
  using weft::detail::node_slab_free;
  constexpr std::size_t node = 1024;
  constexpr int max_nodes = 64 * 4096;  // 4096 slabs' worth
  std::vector<unsigned char*> live;
  live.reserve(max_nodes);  // nothing but the slabs may allocate while armed
  bool threw = false;
  {
    disarm_on_exit guard;
    arm_allocs(1);
    for (int i = 0; i < max_nodes && !threw; ++i) {
      unsigned char* p = nullptr;
      try {
        p = static_cast<unsigned char*>(node_slab_allocate(node));
      } catch (const std::bad_alloc&) {
        threw = true;
        continue;
      }
      p[0] = static_cast<unsigned char>(i);
      p[node - 1] = static_cast<unsigned char>(i >> 8);
      live.push_back(p);
    }
    disarm_allocs();
  }
  ASSERT_TRUE(threw) << "no slab allocation ever reached operator new";
  for (std::size_t i = 0; i < live.size(); ++i) {
    ASSERT_EQ(live[i][0], static_cast<unsigned char>(i)) << "a node carved before the failure changed";
    ASSERT_EQ(live[i][node - 1], static_cast<unsigned char>(i >> 8));
  }
  void* after = node_slab_allocate(node);  // memory is back: a new slab
  ASSERT_NE(after, nullptr);
  node_slab_free(after, node);
  for (unsigned char* p : live) node_slab_free(p, node);
  weft::detail::node_slab_flush();
}

// The waiter's wake flag (core/include/weft/detail/waiter.hpp P4; parker.hpp, park_until with a
// flag): an OS thread in a flag wait (a thread's exclusive rendezvous wait) spins on the
// waiter's own released_ word, which its waker sets last, instead of on its parker's token
// word; only an owner that announced its sleep in that word is woken through the parker. These
// tests drive a flag waiter by hand from two threads: a spinning owner is released with its
// parker untouched, a sleeping one is woken through it, a timed-out one is not selected later,
// and a rendezvous frame keeps what the waker writes and the owner reads on one line.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include <weft/detail/flavor_rendezvous.hpp>
#include <weft/detail/parker.hpp>
#include <weft/detail/waiter.hpp>
#include <weft/weft.hpp>

namespace {

using weft::detail::parker;
using weft::detail::waiter;

/// The owner's side: waits on a fresh waiter with strategy `ws` and a deadline far enough away
/// to catch a hang only; publishes the waiter and its parker for the waker.
struct owner_thread {
  std::atomic<waiter*> w{nullptr};
  std::atomic<parker*> pk{nullptr};
  std::uintptr_t outcome = 0;
  parker::state token_after = parker::state::parked;
  std::thread t;

  explicit owner_thread(weft::wait_strategy ws) {
    t = std::thread([this, ws] {
      weft::this_thread::set_wait_strategy(ws);
      parker& p = weft::detail::thread_parker();
      // relaxed: a pooled parker may carry a stale token from an earlier thread; start clean
      // (nobody else can reach this thread's parker before the waiter is published).
      p.state_.store(parker::state::empty, std::memory_order_relaxed);
      waiter mine(p, true);
      pk.store(&p, std::memory_order_release);      // release: the waker reads the parker
      w.store(&mine, std::memory_order_release);    // release: the waker uses the waiter
      outcome = mine.wait_until(weft::detail::clock::now() + std::chrono::seconds(60));
      // relaxed: read by the owner itself after its wait.
      token_after = p.state_.load(std::memory_order_relaxed);
    });
  }
  waiter& published() {
    waiter* p;
    // acquire: pairs with the owner's release store.
    while ((p = w.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
    return *p;
  }
};

TEST(WakeFlag, ASpinningThreadIsReleasedWithoutItsParkerBeingTouched) {
  owner_thread o(weft::wait_strategy::spin);
  waiter& w = o.published();
  ASSERT_TRUE(w.try_select(waiter::selected(0)));
  w.wake();  // the owner spins on released_: no unpark, so no token is left behind
  o.t.join();
  EXPECT_EQ(o.outcome, waiter::selected(0));
  EXPECT_EQ(o.token_after, parker::state::empty) << "the waker unparked an owner that was not asleep";
}

TEST(WakeFlag, ASleepingThreadIsWokenThroughItsParker) {
  owner_thread o(weft::wait_strategy::park);  // no spin: it announces its sleep at once
  waiter& w = o.published();
  // acquire: pairs with the owner's release store of its parker.
  parker* p = nullptr;
  while ((p = o.pk.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
  // relaxed: polling for the owner's futex sleep (the flag is announced before it).
  while (p->state_.load(std::memory_order_relaxed) != parker::state::parked) std::this_thread::yield();
  ASSERT_TRUE(w.try_select(waiter::selected(0)));
  w.wake();  // finds `flag_sleeping`: must unpark, or the owner sleeps until its 60 s deadline
  o.t.join();
  EXPECT_EQ(o.outcome, waiter::selected(0)) << "the sleeping owner was not woken";
  EXPECT_EQ(o.token_after, parker::state::empty);  // the wake-up's token was consumed
}

TEST(WakeFlag, AnOwnerWhoseDeadlinePassedWhileAsleepIsNotWokenLater) {
  // The owner's deadline passes while it sleeps; its abort wins, so no waker may select it.
  parker& p = weft::detail::thread_parker();
  weft::this_thread::set_wait_strategy(weft::wait_strategy::park);
  waiter w(p, true);
  const std::uintptr_t s = w.wait_until(weft::detail::clock::now() + std::chrono::milliseconds(2));
  weft::this_thread::set_wait_strategy(weft::wait_strategy::adaptive);
  EXPECT_EQ(s, waiter::aborted);
  EXPECT_FALSE(w.try_select(waiter::selected(0)));
}

TEST(WakeFlag, ARendezvousFrameKeepsTheHandOffOnItsFirstLine) {
  // What a claimer writes and the woken owner reads (the waiter and, for a value of up to 8
  // bytes, the packet) must share the frame's first 64 bytes: the owner then pulls one line
  // after its spin sees released_ (flavor_rendezvous.hpp, rendezvous_frame).
  weft::detail::rendezvous_frame<std::uint64_t> f(weft::detail::thread_parker());
  const auto* base = reinterpret_cast<const unsigned char*>(&f);
  auto end_of = [base](const auto& member) {
    return static_cast<std::size_t>(reinterpret_cast<const unsigned char*>(&member) - base) + sizeof(member);
  };
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&f) % 64, 0u);
  EXPECT_LE(end_of(f.w), 64u);
  EXPECT_LE(end_of(f.p), 64u);
}

}  // namespace

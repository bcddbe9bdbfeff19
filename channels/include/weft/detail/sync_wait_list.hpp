// A small FIFO of blocked waiters under a spin lock, for the coordination types (wait_group,
// group's slot limit, once_value, call_with_timeout's result cell). These are not hot paths:
// each type keeps its own lock-free fast path (one atomic load or RMW) and comes here only to
// block or to wake someone, so a lock held for a handful of pointer writes is the simple choice.
//
// A waiter is a `sync_waiter` on the blocked side's stack. It names the blocked side's parker
// (`detail::current_parker()`: a task's parks its fiber, a thread's parks on a futex), so every
// wait here is task-aware. The owner registers under the lock after re-checking its condition
// there (no lost wake-up: a notifier changes the condition first, then takes the lock), parks
// until its `signal_` says `released`, and on a deadline takes the lock again to unlink itself.
//
// Wake-up handshake: the notifier sets `woken`, calls unpark(), then sets `released`; the owner
// returns only on `released`. So once the owner has returned, no notifier is still inside
// unpark() on its behalf: a task can finish and its runtime be destroyed right after a wait
// here, and nothing relies on the parker (or the runtime behind a task's parker) outliving the
// owner. The owner may spin (with backoff) for the few instructions between `woken` and
// `released`.
//
// Invariants:
//   I1  A waiter is in the list iff `linked_`; both change only under `lock_`.
//   I2  `signal_` goes waiting -> woken -> released, once, after the waiter left the list (under
//       the lock) and after the notifier released the lock. After `released`, nobody touches
//       the waiter or its parker on its behalf again.
//   I3  A notifier touches the list's owner (wait_group, ...) only while holding `lock_`, and
//       wakes waiters only after unlocking. So a woken owner may destroy the object at once.
// Protocol (who may touch what):
//   head_/tail_, waiter.prev_/next_/linked_   only under lock_.
//   waiter.parker_                            set by the owner before linking; used by the
//                                             notifier between `woken` and `released`.
//   waiter.signal_                            written by the notifier, read by the owner.
// Orderings:
//   P1  spin_lock (core): lock() acquire / unlock() release: the list, and whatever the
//       caller's condition reads under the lock, are ordered between critical sections.
//   P2  wake(): signal_.store(woken/released, release) -> park_until(): signal_.load(acquire):
//       everything the notifier did before waking (its condition change, its data) is visible
//       to the owner, and the owner returns only after the notifier's unpark() returned.
#pragma once

#include <atomic>
#include <cstdint>

#include <weft/detail/parker.hpp>
#include <weft/detail/spin_lock.hpp>

namespace weft::detail {

/// One blocked caller; lives on its stack for the duration of one wait.
struct sync_waiter {
  explicit sync_waiter(parker& p) noexcept : parker_(&p) {}
  sync_waiter(const sync_waiter&) = delete;
  sync_waiter& operator=(const sync_waiter&) = delete;

  parker* const parker_;             // the owner's parker; I2
  sync_waiter* prev_ = nullptr;      // under the list lock; I1
  sync_waiter* next_ = nullptr;      // under the list lock; I1 (also links a detached chain)
  bool linked_ = false;              // under the list lock; I1

  /// The wake-up handshake word.
  ///   waiting   linked (or being unlinked by a timed-out owner): the owner parks.
  ///   woken     a notifier unlinked it and is inside unpark(): the owner must not park again
  ///             (no second unpark comes) and must not return yet (the notifier still uses
  ///             the parker): it spins until `released`.
  ///   released  the notifier is done with the waiter: the owner returns.
  enum class signal : std::uint8_t { waiting, woken, released };
  std::atomic<signal> signal_{signal::waiting};  // notifier writes, owner reads; I2, P2
};

class wait_list {
 public:
  wait_list() noexcept = default;
  wait_list(const wait_list&) = delete;
  wait_list& operator=(const wait_list&) = delete;

  /// Blocks the caller until a notifier wakes it or `deadline` passes.
  /// `try_register()` runs under the lock before the caller is linked: it returns true when
  /// the caller need not wait (its condition holds; nothing is linked, wait_until returns true),
  /// false to be linked and wait (it may record the registration in the owner's own state).
  /// `on_unlink()` runs under the lock when a waiter whose deadline passed takes itself out.
  /// Returns true if the condition held or the caller was woken, false on deadline.
  template <class TryRegister, class OnUnlink>
  bool wait_until(TryRegister&& try_register, OnUnlink&& on_unlink, time_point deadline) {
    sync_waiter w(current_parker());
    {
      spin_guard g(lock_);
      if (try_register()) return true;
      push_back_locked(w);
    }
    if (park_until(w, deadline)) return true;
    {
      spin_guard g(lock_);
      if (w.linked_) {
        unlink_locked(w);
        on_unlink();
        return false;
      }
    }
    // A notifier took us off the list before we could: its wake-up is imminent (I2).
    park_until(w, no_deadline);
    return true;
  }

  /// Under the lock, runs `decide()`; if it returns true, empties the list and (after
  /// unlocking) wakes every waiter. Lets the owner change its state in the same critical
  /// section as the list is emptied (wait_group's "to zero" transition). Returns decide()'s answer.
  template <class Decide>
  bool notify_all_if(Decide&& decide) noexcept {
    sync_waiter* chain;
    {
      spin_guard g(lock_);
      if (!decide()) return false;
      chain = take_all_locked();
    }
    wake(chain);
    return true;
  }
  /// Wakes every waiter.
  void notify_all() noexcept {
    notify_all_if([] { return true; });
  }

  /// Wakes the longest-waiting waiter, if any.
  void notify_one() noexcept {
    sync_waiter* w;
    {
      spin_guard g(lock_);
      w = take_one_locked();
    }
    wake(w);
  }

 private:
  void push_back_locked(sync_waiter& w) noexcept;
  void unlink_locked(sync_waiter& w) noexcept;
  sync_waiter* take_all_locked() noexcept;
  sync_waiter* take_one_locked() noexcept;
  /// Wakes a detached chain (linked through next_). Called without the lock; I2, I3.
  static void wake(sync_waiter* chain) noexcept;
  /// Parks the owner of `w` until `released` (true) or the deadline (false). The parker spins
  /// first per the calling thread's wait strategy; tasks do not spin.
  static bool park_until(sync_waiter& w, time_point deadline) noexcept;
  /// Spins (with backoff) from `woken` until `released`.
  static void wait_released(sync_waiter& w) noexcept;

  spin_lock lock_;
  sync_waiter* head_ = nullptr;  // under lock_; oldest waiter
  sync_waiter* tail_ = nullptr;  // under lock_; newest waiter
};

}  // namespace weft::detail

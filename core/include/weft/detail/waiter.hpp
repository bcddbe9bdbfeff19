// The waiter: one blocked operation (a send, a recv, a whole select) waiting to be chosen.
//
// A waiter lives on the blocked side's stack for the duration of one wait (or, for a thread's
// exclusive rendezvous wait, in its channel's home block: flavor_rendezvous.hpp H2, which reuses
// the block for the next wait once this one returned, and so relies on I2). It is registered in
// one or more waker lists (one per select case) through waker entries that point back at it.
// Whoever makes a case ready (a sender, a receiver, a close, a context cancel) tries to *select*
// the waiter with one CAS on its state word; the single CAS decides the winner when several
// cases become ready at once. The blocked side can *abort* (deadline passed, or it noticed
// readiness itself during registration) with a CAS from the same starting value, so exactly one
// of {selected(op), aborted, disconnected} ends the wait.
//
// Invariants:
//   I1  state_ leaves `waiting` exactly once: by one successful CAS, or by claim() on a waiter
//       that only its claimer can reach (an exclusive rendezvous wait taken out of its
//       channel's slot, flavor_rendezvous.hpp F2: in no list, never aborted).
//   I2  After a waker's CAS moved state_ to selected(op) or disconnected, the waker still owns
//       the waiter until its wake() returns: it may write the case's hand-off packet, then it
//       unparks and sets released_. The blocked side does not return before it saw released_,
//       so a waker never touches a dead frame, and an unpark of a task's parker has finished
//       before that task can end (and its runtime be destroyed).
// Protocol:
//   state_   CAS from `waiting` by any waker (select/disconnect) or by the owner (abort); or one
//            store by the sole waker that can reach it (claim).
//   parker_  set at construction; read by the waker that selected the waiter, to unpark it.
// Orderings:
//   P1  select CAS(acq_rel) -> owner's acquire load of state_: what the waker did before the CAS
//       (e.g. freeing a ring slot) is visible to the owner when it sees `selected`.
//   P2  parker::unpark(release) -> parker::park_until(acquire): the wake-up itself.
//   P3  released_ set (release) in wake() -> wait_released()'s acquire load: the waker is done
//       with the waiter, its packet and the parker.
//   P4  Flag waits (a thread's exclusive rendezvous wait, constructed with flag_wait): the owner
//       waits on released_ itself (parker::park_until with a flag). Its one waker selects,
//       hands off and sets released_ by an exchange, all on the waiter's frame line, and the
//       owner's spin sees the lot with one line transfer instead of the parker's line and then
//       the frame's. Before it sleeps the owner CASes released_ to `flag_sleeping`, and a waker
//       whose exchange finds that unparks it. Other thread waits poll their parker: a select or
//       a ring wait has several wakers racing on the waiter's line (their CASes), which a
//       polling owner would keep taking from them. A task owner is unparked, then released.
// Written over an atomics policy (atomics_policy.hpp; each order above is a named constant of it)
// so tests/models can check it with Relacy; `waiter` is the production instance.
#pragma once

#include <atomic>
#include <cstdint>

#include <weft/detail/atomics_policy.hpp>
#include <weft/detail/backoff.hpp>
#include <weft/detail/inject.hpp>
#include <weft/detail/parker.hpp>

namespace weft::detail {

template <class Policy>
class basic_waiter {
 public:
  // State word values; selected(op) = selected_base + op.
  //   waiting:      registered, asleep or about to be; any waker may select it.
  //   aborted:      the owner gave up (deadline passed or it found a case ready on its own);
  //                 wakers skip it.
  //   disconnected: a close/disconnect woke it; the owner retries every case and finds one closed.
  //   selected(op): case `op` was chosen by a waker; for a rendezvous the waker now completes the
  //                 hand-off through that case's packet; for ring flavors the owner retries `op`.
  static constexpr std::uintptr_t waiting = 0;
  static constexpr std::uintptr_t aborted = 1;
  static constexpr std::uintptr_t disconnected = 2;
  static constexpr std::uintptr_t selected_base = 3;

  using parker_type = typename Policy::parker;

  /// `flag_wait`: the owner is a thread and waits on released_ (P4); tasks ignore it.
  explicit basic_waiter(parker_type& p, bool flag_wait = false) noexcept
      : flag_wait_(flag_wait && p.owner_task() == nullptr), parker_(&p) {}
  basic_waiter(const basic_waiter&) = delete;
  basic_waiter& operator=(const basic_waiter&) = delete;

  /// Waker side: claim this waiter for case `op` (selected(op)) or `disconnected`. Returns true
  /// if this call won; the caller must then (after any hand-off) call wake() exactly once.
  bool try_select(std::uintptr_t new_state) noexcept {
    std::uintptr_t expected = waiting;
    // acq_rel: release publishes the waker's prior writes to the owner (P1); acquire orders the
    // waker's later packet writes after winning. Failure relaxed: nothing is read through it.
    return state_.compare_exchange_strong(expected, new_state, Policy::waiter_select,
                                          std::memory_order_relaxed);
  }
  static constexpr std::uintptr_t selected(std::size_t op) noexcept { return selected_base + op; }
  /// Waker side, for a waiter that nobody else can select and whose owner never aborts (I1):
  /// selects it with a plain store instead of try_select's CAS. The caller must then (after any
  /// hand-off) call wake() exactly once.
  void claim(std::uintptr_t new_state) noexcept {
    // release: P1, as try_select's CAS.
    state_.store(new_state, Policy::waiter_claim);
  }

  /// Owner side: give up waiting. Returns the final state (aborted if the abort won).
  std::uintptr_t abort() noexcept {
    std::uintptr_t expected = waiting;
    // acq_rel: on failure we must see what the winning waker published (P1), hence acquire on
    // the failure path too.
    if (state_.compare_exchange_strong(expected, aborted, Policy::waiter_abort,
                                       Policy::waiter_abort_fail))
      return aborted;
    return expected;
  }

  /// Owner side: the current state. acquire: P1.
  std::uintptr_t state() const noexcept { return state_.load(Policy::waiter_state_load); }

  /// Waker side, after a successful try_select (and any hand-off): unparks the owner and hands
  /// the waiter back. The waiter may be gone as soon as this returns.
  void wake() noexcept {
    parker_type* const p = parker_;  // read first: once released_ is set the waiter may be gone
    if (flag_wait_) {
      // The owner spins on released_ (P4): setting it is the wake-up, and the parker is unparked
      // only if the owner went to sleep on it. A thread parker is never freed (a type-stable
      // pool), so that unpark may come after the owner returned: a stale token, a spurious
      // wake-up of its next park (it loops). release: P3 (and P4). An exchange, not a store: it
      // must see a `flag_sleeping` that the owner's CAS wrote first (two RMWs on one word are
      // ordered; a store and a CAS would not tell the waker).
      if (released_.exchange(parker_type::flag_set, Policy::waiter_release_store) == parker_type::flag_sleeping)
        p->unpark();
      return;
    }
    if (p->owner_task() == nullptr) {
      // A thread parker is never freed (see above), so it may be unparked after the waiter is
      // released: the owner, woken by the token, then finds everything final in one read of the
      // waiter's line instead of racing the released_ store. release: P3.
      released_.store(parker_type::flag_set, Policy::waiter_release_store);
      p->unpark();
      return;
    }
    p->unpark();
    WEFT_INJECT_YIELD();  // unparked, waiter not yet released (the owner waits for released_)
    // release: P3.
    released_.store(parker_type::flag_set, Policy::waiter_release_store);
  }

  /// Owner side: sleep until the state leaves `waiting` or the deadline passes (then abort).
  /// Returns the final state; if a waker set it, returns only after that waker's wake() (I2).
  std::uintptr_t wait_until(time_point deadline) noexcept { return wait_until_inline(deadline); }

  /// wait_until, always inlined: for the task hand-off's wait (rendezvous_*_wait), which runs
  /// once per switch. Elsewhere the compiler decides (inlining it into every blocking loop made
  /// a thread's spinning W4 slower by ~40 ns per round trip: bench/RESULTS.md, session 21).
  [[gnu::always_inline]] std::uintptr_t wait_until_inline(time_point deadline) noexcept {
    std::uintptr_t s;
    for (;;) {
      s = state();
      if (s != waiting) break;
      if (!(flag_wait_ ? parker_->park_until(deadline, released_) : parker_->park_until(deadline))) {
        s = abort();
        break;
      }
    }
    if (s != aborted) wait_released();
    return s;
  }

  /// Owner side: after abort() lost to a waker, wait until the waker is done (I2).
  void wait_released() const noexcept {
    typename Policy::backoff b;
    // acquire: P3.
    while (released_.load(Policy::waiter_released_load) != parker_type::flag_set) b.snooze();
  }


 private:
  typename Policy::template atomic<std::uintptr_t> state_{waiting};
  // A parker wake flag (parker.hpp): set once by the winning waker's wake() (I2); a flag wait's
  // owner polls it and, before it sleeps, marks it `flag_sleeping` (P4).
  typename Policy::template atomic<std::uint8_t> released_{parker_type::flag_pending};
  // A flag wait (P4). Read by the waker from the waiter's own line, not from the parker: a miss
  // on the parker's line between the hand-off's stores and released_ would give the owner's
  // polls time to take the frame's line back from the waker in the middle.
  const bool flag_wait_;
  parker_type* parker_;
};

/// The production waiter.
using waiter = basic_waiter<std_atomics>;

}  // namespace weft::detail

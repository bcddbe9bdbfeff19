// The atomics policy: what the lock-free cores (the bounded ring, the waiter state word, the
// waker lists, close-vs-park) are written over, so the same protocol code runs in production on
// std::atomic and in the model checker (tests/models, Relacy) on instrumented atomics.
//
// A policy supplies
//   atomic<T>  an atomic type with std::atomic's member functions (load, store,
//              compare_exchange_weak/strong, exchange, fetch_or/add/sub taking std::memory_order);
//   parker     the wake-up token a waiter sleeps on (park_until / unpark, see parker.hpp);
//   lock       the short lock of a waker list (lock / unlock);
//   backoff    the spin helper of retry and wait loops (spin / snooze, see backoff.hpp);
// and one named constant per memory order the protocols use (every order that is not relaxed:
// a relaxed access cannot be weakened, so it stays written out in place). The reason for each
// order is written beside the operation that uses it; the constant names the operation.
//
// Production code names the default, `std_atomics`; a model derives from it, swaps the types, and
// a *mutation* model additionally overrides ONE order with a weaker one to show that the model
// checker catches the weakening (tests/models/README.md, the mutation table). Nothing here adds
// code: with std_atomics every operation compiles to what it did with the literal order.
#pragma once

#include <atomic>

#include <weft/detail/backoff.hpp>
#include <weft/detail/parker.hpp>
#include <weft/detail/spin_lock.hpp>

namespace weft::detail {

struct std_atomics {
  template <class T>
  using atomic = std::atomic<T>;
  using parker = detail::parker;
  using lock = spin_lock;
  using backoff = detail::backoff;
  /// The calling thread's or task's parker (the one a waiter made here sleeps on).
  static parker& this_parker() noexcept { return detail::current_parker(); }

  // ---- waiter.hpp (the waiter state word) ----
  /// try_select's CAS waiting -> selected(op)/disconnected, success order (waiter P1).
  static constexpr std::memory_order waiter_select = std::memory_order_acq_rel;
  /// abort's CAS waiting -> aborted, success order (waiter P1).
  static constexpr std::memory_order waiter_abort = std::memory_order_acq_rel;
  /// abort's CAS, failure order: the owner reads the winner's state (waiter P1).
  static constexpr std::memory_order waiter_abort_fail = std::memory_order_acquire;
  /// The owner's load of the state word (waiter P1).
  static constexpr std::memory_order waiter_state_load = std::memory_order_acquire;
  /// claim()'s store of the state word, for a waiter only its claimer reaches (waiter P1, I1).
  static constexpr std::memory_order waiter_claim = std::memory_order_release;
  /// wake()'s store of released_ (waiter P3).
  static constexpr std::memory_order waiter_release_store = std::memory_order_release;
  /// wait_released()'s load of released_ (waiter P3).
  static constexpr std::memory_order waiter_released_load = std::memory_order_acquire;

  // ---- flavor_bounded.hpp (the ring) ----
  /// try_send's load of the slot stamp (ring P1: the slot was freed).
  static constexpr std::memory_order ring_free_stamp_load = std::memory_order_acquire;
  /// try_recv's load of the slot stamp (ring P1: the value was published).
  static constexpr std::memory_order ring_full_stamp_load = std::memory_order_acquire;
  /// try_send's tail CAS that claims a slot, success order (ring P2).
  static constexpr std::memory_order ring_tail_claim = std::memory_order_seq_cst;
  /// try_recv's head CAS that claims a slot, success order (ring P2).
  static constexpr std::memory_order ring_head_claim = std::memory_order_seq_cst;
  /// commit_send's stamp store that publishes the value (ring P1).
  static constexpr std::memory_order ring_value_publish = std::memory_order_release;
  /// try_recv's stamp store that frees the slot (ring P1).
  static constexpr std::memory_order ring_free_publish = std::memory_order_release;
  /// try_send's head load in the `full` check (linearizable full).
  static constexpr std::memory_order ring_full_check = std::memory_order_seq_cst;
  /// try_recv's tail load in the `empty`/`closed` check (ring P2/P3).
  static constexpr std::memory_order ring_empty_check = std::memory_order_seq_cst;
  /// send_ready()/recv_ready()'s loads of head and tail: the waiter's re-check (ring P2/P3).
  static constexpr std::memory_order ring_ready_check = std::memory_order_seq_cst;
  /// is_closed()'s load of tail.
  static constexpr std::memory_order ring_closed_load = std::memory_order_acquire;
  /// close()'s fetch_or of the mark bit (ring P3).
  static constexpr std::memory_order ring_close = std::memory_order_seq_cst;

  // ---- flavor_rendezvous.hpp (the exclusive slot) ----
  /// An exclusive wait's CAS idle -> its entry, success order (rendezvous P4).
  static constexpr std::memory_order rendezvous_slot_register = std::memory_order_release;
  /// A partner's CAS entry -> idle that claims it, success order (rendezvous P4).
  static constexpr std::memory_order rendezvous_slot_claim = std::memory_order_acquire;
  /// A lock holder's CAS -> slow that moves the entry into its list, success order (P4).
  static constexpr std::memory_order rendezvous_slot_spill = std::memory_order_acquire;
  /// take_home()'s CAS false -> true of home_busy_, success order (rendezvous H2).
  static constexpr std::memory_order rendezvous_home_take = std::memory_order_acquire;
  /// put_home()'s store of false (rendezvous H2).
  static constexpr std::memory_order rendezvous_home_put = std::memory_order_release;

  // ---- oneshot_state.hpp (the promise/future state word) ----
  /// complete()'s fetch_or(set_bit): publishes the outcome (P1), SB with register (P2).
  static constexpr std::memory_order oneshot_set = std::memory_order_seq_cst;
  /// complete()'s fetch_or(promise_done) (P3).
  static constexpr std::memory_order oneshot_promise_done = std::memory_order_acq_rel;
  /// try_take()'s load of the word (P1).
  static constexpr std::memory_order oneshot_take_load = std::memory_order_acquire;
  /// is_ready()'s load of the word: the waiter's re-check (P2).
  static constexpr std::memory_order oneshot_ready_check = std::memory_order_seq_cst;
  /// drop_future()'s fetch_or(future_gone) (P3).
  static constexpr std::memory_order oneshot_future_gone = std::memory_order_acq_rel;

  // ---- chan_state.hpp (handle counts and the free) ----
  /// release_sender/release_receiver's fetch_sub (chan_state P1).
  static constexpr std::memory_order chan_side_release = std::memory_order_acq_rel;
  /// The destroy_ exchange that decides which side frees (chan_state P2).
  static constexpr std::memory_order chan_destroy = std::memory_order_acq_rel;
  /// has_receivers()'s load.
  static constexpr std::memory_order chan_has_receivers = std::memory_order_acquire;

  // ---- waker_list.hpp ----
  /// has_waiters()'s load of empty_ (waker_list P1).
  static constexpr std::memory_order waker_has_waiters = std::memory_order_seq_cst;
  /// register_entry's store of empty_ = false (waker_list P1).
  static constexpr std::memory_order waker_register_publish = std::memory_order_seq_cst;
};

/// The lock guard the policy-templated code uses for `Policy::lock` (lock/unlock, noexcept).
template <class Lock>
class policy_guard {
 public:
  explicit policy_guard(Lock& l) noexcept : l_(l) { l_.lock(); }
  ~policy_guard() { l_.unlock(); }
  policy_guard(const policy_guard&) = delete;
  policy_guard& operator=(const policy_guard&) = delete;

 private:
  Lock& l_;
};

}  // namespace weft::detail

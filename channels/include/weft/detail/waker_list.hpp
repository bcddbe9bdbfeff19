// Waker lists: the blocked operations of one side of one channel (or of a context's done()).
//
// An entry is a node on the blocked side's stack (or in a rendezvous channel's home block,
// flavor_rendezvous.hpp H2) that points at its waiter and names the case (`op`) it stands for,
// plus an optional hand-off packet (rendezvous). Entries form an intrusive doubly-linked FIFO
// list, so registering allocates nothing. `waiter_queue` is the bare list
// (callers hold some lock); `waker_list` adds its own spin lock and an `is_empty` flag read
// without the lock, so the fast path of a send or receive never touches the lock when nobody
// waits.
//
// Invariants:
//   I1  An entry is linked iff `linked` is true; only code holding the list's lock links or
//       unlinks it, and a waker unlinks an entry before its waiter can observe `selected`.
//   I2  empty_ == (head_ == nullptr) whenever the lock is free.
// Protocol:
//   entries   linked/unlinked under the lock; a blocked side always unregisters (under the lock)
//             before its frame dies, so a linked entry is always alive.
//   empty_    written under the lock, read anywhere.
// Orderings:
//   P1  empty_.store(false, seq_cst) in register  vs  empty_.load(seq_cst) in notify_one: the
//       registering side then re-checks the channel with seq_cst loads, the notifying side made
//       its change with a seq_cst store/RMW before loading empty_. Store->load on both sides (the
//       SB pattern): with acquire/release both could miss each other and a wake-up is lost; with
//       seq_cst at least one side sees the other.
// Written over an atomics policy (atomics_policy.hpp) so tests/models can check it with Relacy;
// `waker_entry`, `waiter_queue` and `waker_list` are the production instances.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <weft/detail/atomics_policy.hpp>
#include <weft/detail/inject.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/platform.hpp>
#include <weft/detail/waiter.hpp>

namespace weft::detail {

template <class Policy>
struct basic_waker_entry {
  basic_waiter<Policy>* w = nullptr;  // the blocked operation
  std::size_t op = 0;        // which case of that operation (0 for a plain send/recv)
  void* packet = nullptr;    // flavor-specific hand-off slot (rendezvous), else nullptr
  basic_waker_entry* prev = nullptr;
  basic_waker_entry* next = nullptr;
  bool linked = false;
};

/// A bare intrusive FIFO of entries; the caller provides the locking.
template <class Policy>
class basic_waiter_queue {
 public:
  using waiter = basic_waiter<Policy>;
  using waker_entry = basic_waker_entry<Policy>;

  bool empty() const noexcept { return head_ == nullptr; }
  const waker_entry* front() const noexcept { return head_; }

  void push(waker_entry& e) noexcept {
    e.prev = tail_;
    e.next = nullptr;
    if (tail_ != nullptr) tail_->next = &e; else head_ = &e;
    tail_ = &e;
    e.linked = true;
  }

  void remove(waker_entry& e) noexcept {
    if (!e.linked) return;
    if (e.prev != nullptr) e.prev->next = e.next; else head_ = e.next;
    if (e.next != nullptr) e.next->prev = e.prev; else tail_ = e.prev;
    e.prev = e.next = nullptr;
    e.linked = false;
  }

  /// Selects and unlinks the first entry whose waiter is not `self` and accepts the CAS.
  /// Entries whose waiter already left `waiting` (aborted, or selected through another case)
  /// are unlinked too: they can never be selected again. Returns nullptr if none.
  waker_entry* select_one(const waiter* self) noexcept {
    waker_entry* e = head_;
    // We read the entry, then CAS its waiter (a blocked send/recv keeps both on one line of its
    // frame): fetch that line writable at once, not shared and then upgraded.
    if (e != nullptr) prefetch_for_write(e);
    while (e != nullptr) {
      waker_entry* next = e->next;
      if (e->w != self) {
        if (e->w->try_select(waiter::selected(e->op))) {
          remove(*e);
          return e;
        }
        // Its waiter is done with waiting; it will unregister (a no-op once unlinked).
        if (e->w->state() != waiter::waiting) remove(*e);
      }
      e = next;
    }
    return nullptr;
  }

  /// Moves every waiting waiter to `disconnected`, unlinks every entry and wakes the winners.
  /// Waking under the caller's lock is fine: close is rare and wake never blocks.
  void disconnect_all() noexcept {
    while (head_ != nullptr) {
      waker_entry* e = head_;
      remove(*e);
      if (e->w->try_select(waiter::disconnected)) e->w->wake();
    }
  }

 private:
  waker_entry* head_ = nullptr;
  waker_entry* tail_ = nullptr;
};

/// A waiter_queue with its own lock and a lock-free emptiness hint.
template <class Policy>
class basic_waker_list {
 public:
  using waiter = basic_waiter<Policy>;
  using waker_entry = basic_waker_entry<Policy>;

  /// True if some operation may be waiting. seq_cst: P1.
  bool has_waiters() const noexcept { return !empty_.load(Policy::waker_has_waiters); }

  void register_entry(waker_entry& e) noexcept {
    policy_guard<typename Policy::lock> g(lock_);
    q_.push(e);
    // seq_cst: P1 (the registering side's store before its seq_cst re-check of the channel).
    empty_.store(false, Policy::waker_register_publish);
  }

  void unregister_entry(waker_entry& e) noexcept {
    // Always take the lock, even if `linked` looks false: a waker may be unlinking the entry right
    // now, and when we return no waker may still hold a pointer into our frame.
    policy_guard<typename Policy::lock> g(lock_);
    q_.remove(e);
    // relaxed: written under the lock; readers that need ordering use has_waiters() (seq_cst)
    // and a stale `false` only costs them one lock round trip.
    if (q_.empty()) empty_.store(true, std::memory_order_relaxed);
  }

  /// Wakes one waiting operation, if any. Called after a change that may let it proceed.
  void notify_one() noexcept {
    if (has_waiters()) notify_one_slow();
  }

  /// Wakes every waiting operation with `disconnected` (close, last handle of a side gone).
  void disconnect_all() noexcept {
    policy_guard<typename Policy::lock> g(lock_);
    q_.disconnect_all();
    // relaxed: under the lock, see unregister_entry.
    empty_.store(true, std::memory_order_relaxed);
  }

 private:
  [[gnu::noinline]] void notify_one_slow() noexcept {
    waiter* w = nullptr;
    {
      policy_guard<typename Policy::lock> g(lock_);
      if (waker_entry* e = q_.select_one(nullptr)) w = e->w;
      // relaxed: under the lock, see unregister_entry.
      if (q_.empty()) empty_.store(true, std::memory_order_relaxed);
    }
    // Outside the lock: the selected waiter stays alive until wake() returns (waiter.hpp I2).
    WEFT_INJECT_YIELD();  // selected, not yet woken
    if (w != nullptr) w->wake();
  }

  typename Policy::lock lock_;
  basic_waiter_queue<Policy> q_;
  typename Policy::template atomic<bool> empty_{true};
};

// The production instances.
using waker_entry = basic_waker_entry<std_atomics>;
using waiter_queue = basic_waiter_queue<std_atomics>;
using waker_list = basic_waker_list<std_atomics>;

}  // namespace weft::detail

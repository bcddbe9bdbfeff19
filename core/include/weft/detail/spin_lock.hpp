// A test-and-test-and-set spin lock for the short critical sections of waker lists (link or
// unlink one entry, pick one waiter). It never parks: a waiter that finds it held spins with
// backoff and then yields, so a preempted holder (more threads than cores) is not starved.
#pragma once

#include <atomic>

#include <weft/detail/backoff.hpp>

namespace weft::detail {

class spin_lock {
 public:
  void lock() noexcept {
    // acquire: the critical section must see everything the previous holder wrote; pairs with
    // the release in unlock().
    if (!locked_.exchange(true, std::memory_order_acquire)) [[likely]]
      return;
    lock_slow();
  }
  bool try_lock() noexcept {
    // relaxed pre-check: only avoids a write on a held lock; acquire on the exchange as in lock().
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept {
    // release: publishes the critical section's writes to the next holder; pairs with lock().
    locked_.store(false, std::memory_order_release);
  }

 private:
  [[gnu::noinline]] void lock_slow() noexcept {
    backoff b;
    for (;;) {
      // relaxed: spinning read only; the acquire exchange below takes the lock.
      while (locked_.load(std::memory_order_relaxed)) b.snooze();
      // acquire: as in lock().
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
    }
  }
  std::atomic<bool> locked_{false};
};

/// RAII guard for spin_lock (std::lock_guard works too; this one is noexcept and tiny).
class spin_guard {
 public:
  explicit spin_guard(spin_lock& l) noexcept : l_(l) { l_.lock(); }
  ~spin_guard() { l_.unlock(); }
  spin_guard(const spin_guard&) = delete;
  spin_guard& operator=(const spin_guard&) = delete;

 private:
  spin_lock& l_;
};

}  // namespace weft::detail

// The meeting point of call_with_timeout and the task it starts: one result, set once by the
// task, waited for (with a deadline, task-aware) by the caller. Shared (shared_ptr) by both, so
// a late task can still set it after the caller gave up and left; the result is then dropped
// with the cell.
//
// Invariants:
//   I1  value_ is written once, by set(), before ready_ becomes true; read only by the waiter
//       after it saw ready_ == true.
// Orderings:
//   P1  set(): ready_.store(release) -> wait_until()'s ready_.load(acquire): value_ visible.
//   P2  the waiter re-checks ready_ under waiters_'s lock before it parks; set() stores ready_
//       before notify_all() takes that lock: the wake-up is not lost.
#pragma once

#include <atomic>
#include <optional>
#include <utility>

#include <weft/detail/blocking_info.hpp>
#include <weft/detail/sync_wait_list.hpp>

namespace weft::detail {

template <class Result>
class timeout_cell {
 public:
  /// The task's side; called once.
  void set(Result&& r) noexcept {
    value_.emplace(std::move(r));
    // release: value_ is visible to a waiter that sees ready_; P1.
    ready_.store(true, std::memory_order_release);
    waiters_.notify_all();  // P2
  }

  /// set(), or set(timeout) if the deadline has passed: an outcome is delivered only if it
  /// was produced in time.
  void set_unless_late(Result&& r, time_point deadline) noexcept {
    if (deadline != no_deadline && clock::now() >= deadline)
      set(Result(status::timeout));
    else
      set(std::move(r));
  }

  /// The caller's side: true once the value is there, false if `deadline` passed first.
  bool wait_until(time_point deadline) {
    // dump_blocked / the watchdog show this wait as call_with_timeout, not an anonymous park.
    note_blocking("call_with_timeout", this);
    struct unnote {
      ~unnote() { note_unblocked(); }
    } done;
    for (;;) {
      // acquire: pairs with set()'s release store; P1.
      if (ready_.load(std::memory_order_acquire)) return true;
      const bool woken = waiters_.wait_until(
          [this]() noexcept {
            // acquire: as above; under the lock, so P2 holds.
            return ready_.load(std::memory_order_acquire);
          },
          []() noexcept {}, deadline);
      // acquire: as above; P1.
      if (!woken) return ready_.load(std::memory_order_acquire);
    }
  }

  /// Precondition: wait_until() returned true. Moves the value out.
  Result take() noexcept(std::is_nothrow_move_constructible_v<Result>) { return std::move(*value_); }

 private:
  std::atomic<bool> ready_{false};   // set() writes once; the waiter reads; P1
  wait_list waiters_;                // the caller while it waits; P2
  std::optional<Result> value_;      // I1
};

}  // namespace weft::detail

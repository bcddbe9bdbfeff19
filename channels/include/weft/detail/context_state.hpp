// The shared state of a context: its cause (the first one sticks), its effective deadline (the
// earliest of its own and its ancestors'), the waiters blocked on it, and its children.
//
// Invariants:
//   I1  err_ leaves `ok` at most once (cancelled or timeout), by one CAS.
//   I2  Once err_ != ok, waiters_ is empty and stays empty for waiters that re-check err()
//       after registering.
//   I3  A child is in its parent's children_ from its creation until its destruction; the child
//       holds a reference to its parent, so the parent outlives it.
// Protocol:
//   err_       CAS by cancel() (any thread) or by err() noticing the deadline passed.
//   waiters_   its own lock; cancel() disconnects every waiter after its CAS.
//   children_  under mu_.
// Orderings:
//   P1  err_ CAS(acq_rel) -> err() load(acquire): what the canceller did before cancel() is
//       visible to whoever observes the cancellation.
//   P2  cancel: CAS err_, then waiters_.disconnect_all() under the list's lock; a waiter:
//       register under that lock, then re-check err(). The lock orders the two: either the
//       waiter is in the list when disconnect_all runs, or its re-check sees err_ != ok.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include <weft/detail/parker.hpp>
#include <weft/detail/waker_list.hpp>
#include <weft/status.hpp>

namespace weft::detail {

class context_state {
 public:
  context_state(std::shared_ptr<context_state> parent, time_point own_deadline);
  ~context_state();
  context_state(const context_state&) = delete;
  context_state& operator=(const context_state&) = delete;

  /// ok, cancelled or timeout; notices a passed deadline (and then cancels with timeout).
  status err() noexcept {
    // acquire: P1.
    const status s = err_.load(std::memory_order_acquire);
    if (s != status::ok) [[unlikely]]
      return s;
    if (deadline_ != no_deadline && clock::now() >= deadline_) [[unlikely]]
      return expire();
    return status::ok;
  }
  time_point deadline() const noexcept { return deadline_; }
  bool has_own_or_inherited_deadline() const noexcept { return deadline_ != no_deadline; }

  /// Ends the context with `cause` unless it already ended (or its deadline passed first: then
  /// the cause is timeout). Cancels every descendant with the same cause. Idempotent.
  void cancel(status cause) noexcept;

  waker_list& waiters() noexcept { return waiters_; }

 private:
  status expire() noexcept;
  void add_child(context_state* c);
  void remove_child(context_state* c) noexcept;

  std::shared_ptr<context_state> parent_;
  const time_point deadline_;
  std::atomic<status> err_{status::ok};
  waker_list waiters_;
  std::mutex mu_;
  std::vector<context_state*> children_;  // under mu_
};

}  // namespace weft::detail

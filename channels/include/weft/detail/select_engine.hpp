// The select engine: one implementation behind the variadic select() and weft::selector.
//
// A select is an array of cases. The engine (channels/src/select.cpp):
//   1. tries every ready-able case once, in a uniformly random order (Fisher-Yates over the case
//      indices), and fires the first that completes: uniform among the ready cases;
//   2. if none: `otherwise` fires if present; a timer case fires if its deadline passed;
//   3. spins (threads, adaptive budget) repeating 1;
//   4. registers one waiter in every case's waker list (entry.op = case index), re-checks every
//      case with seq_cst loads (aborting the wait if one is ready), parks until a waker selects
//      the waiter (one CAS decides the winner) or the earliest timer/deadline, unregisters from
//      every list, then: selected(i) -> case i completes (rendezvous: the partner already did the
//      hand-off through case i's packet; rings: case i is retried) and fires; otherwise repeat.
// Exactly one case fires: only the case that completed runs its callback; a send case that did
// not fire did not send (a ring send only happens inside try_fire; a rendezvous send only through
// the CAS that selected this case).
//
// Invariants:
//   I1  At most one case completes per run: try_fire stops the scan at the first success, and
//       a waker can select the waiter for one case only (waiter.hpp I1).
//   I2  Every entry is unregistered before the engine returns (the frame holding them dies).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include <weft/detail/parker.hpp>
#include <weft/detail/waiter.hpp>
#include <weft/detail/waker_list.hpp>

namespace weft::detail {

enum class case_kind : std::uint8_t {
  channel,    ///< recv/send/done: ready when its channel (or context) lets it complete
  timer,      ///< on_timeout/on_deadline: fires when nothing else did by its deadline
  otherwise,  ///< fires when nothing was ready at once
};

/// One case of a select. The callback runs in fire(), after the engine finished.
class select_case {
 public:
  virtual ~select_case() = default;
  virtual case_kind kind() const noexcept = 0;
  /// channel: try to complete without blocking; on success the outcome is stored. `self` is the
  /// select's own waiter (a rendezvous never pairs a select with itself), or nullptr.
  virtual bool try_fire(const waiter* self) = 0;
  /// channel: register/unregister `e` (e.w and e.op set by the engine; the case sets e.packet).
  virtual void register_entry(waker_entry& e) = 0;
  virtual void unregister_entry(waker_entry& e) = 0;
  /// channel: seq_cst re-check after registering: could try_fire succeed now?
  virtual bool is_ready(const waiter& self) = 0;
  /// channel: the waiter was selected for this case; complete it (true) or report that it must
  /// be retried (false: a ring flavor lost the race to another thread).
  virtual bool complete_selected(waker_entry& e, const waiter& self) = 0;
  /// channel: when the case becomes ready by the clock alone (after/tick/context deadline).
  virtual time_point ready_at() noexcept { return no_deadline; }
  /// timer: the absolute deadline for a select started at `start`.
  virtual time_point timer_deadline(time_point /*start*/) noexcept { return no_deadline; }
  /// A case that can never fire again (a selector's send case whose value is gone).
  virtual bool exhausted() const noexcept { return false; }
  /// Runs the user's callback with the stored outcome.
  virtual void fire() = 0;
};

/// Runs one select over `cases[0..n)` and fires the chosen case's callback; returns its index.
/// `entries` and `order` are scratch arrays of n elements owned by the caller.
/// Throws weft::error (code closed... see select.cpp) for a select with no case that can fire.
/// `scanned`: the caller already tried every channel case once, in random order, and none
/// completed (the variadic select's inline pass): skip the engine's own first pass.
std::size_t run_select(select_case* const* cases, std::size_t n, waker_entry* entries, std::uint32_t* order,
                       bool scanned = false);

/// A fast thread-local random number in [0, bound) (wyrand + Lemire's reduction).
std::uint32_t random_below(std::uint32_t bound) noexcept;

/// One step of a lazily drawn Fisher-Yates order: swaps a uniformly chosen one of
/// order[0..left) into order[left - 1] and returns it. Calling it with left = m, m - 1, ..., 1
/// yields the m entries in a uniformly random order, drawn one at a time (order[] stays a
/// permutation of them), so a caller that stops at the first pick that completes pays one draw
/// (none when left is 1), not m - 1 draws and m swaps before its first try.
inline std::uint32_t shuffle_step(std::uint32_t* order, std::size_t left) noexcept {
  const std::uint32_t j = left > 1 ? random_below(static_cast<std::uint32_t>(left)) : 0;
  std::swap(order[j], order[left - 1]);
  return order[left - 1];
}

}  // namespace weft::detail

// The parker: how one blocked thread or task sleeps until another wakes it.
//
// A parker holds one wake-up token. `unpark()` sets the token (and wakes the sleeper);
// `park_until(deadline)` consumes the token or sleeps until it is set or the deadline passes.
// Parks may return spuriously (a stale token from an earlier wait, a futex interrupted), so
// every caller loops on its own condition (normally: its waiter's state). That rule is what lets
// a waker touch a THREAD parker after the woken side has moved on: thread parkers are recycled
// through a pool (type-stable memory), so a late `unpark` at worst leaves one stale token that
// the next park absorbs. Task parkers (in the task object, pooled too) must never get a late
// unpark (I3): the runtime wakes a task parked without deadline by a plain store, which a
// second wake-up in flight would turn into a task enqueued twice. A task woken that way
// resumes with no token left (park_until returns true; its caller re-checks its condition).
//
// Two kinds, chosen when the parker is made and never changed:
//   thread parker (task_ == nullptr): spin (per wait_strategy; adaptive: a short spin, longer
//     right after this thread futex-woke a sleeper, the wake-follow spin of core/src/parker.cpp),
//     then futex wait on state_ with an absolute CLOCK_MONOTONIC deadline; a short final spin for
//     deadlines closer than 100 us.
//   task parker (task_ != nullptr): the runtime suspends the task's fiber and hands its worker
//     back to the scheduler (park_task_until / unpark_task, defined by the runtime in core/src).
//
// Invariants:
//   I1  state_ is `notified` iff a token is available (set by unpark, not yet consumed).
//   I2  state_ is `parked` (or, task parkers only, `parked_timed`) only while the owner is inside
//       park_until (or, task parkers, park_task_publish) and may be asleep.
//   I3  Task parkers: at most one unpark() is in flight at a time, and the owner leaves the wait
//       it was issued for only after it returned. Both callers keep this: waiter::wake() stores
//       released_ after unpark() and the woken owner waits for released_ (waiter.hpp I2);
//       wait_list::wake() stores `released` after unpark() (sync_wait_list.hpp I2). The
//       runtime's plain-store wake of a task parked without deadline relies on it
//       (core/src/scheduler.cpp, "Waking a task").
// Protocol:
//   state_  unpark(): exchange(notified) by any thread; park_until(): CAS/exchange by the owner only.
// Orderings:
//   P1  unpark's exchange(release) -> park's acquire load/CAS that consumes the token: whatever
//       the waker wrote before unpark (a waiter's selected state, a hand-off packet) is visible
//       to the woken side.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <weft/detail/backoff.hpp>
#include <weft/detail/inject.hpp>
#include <weft/wait_strategy.hpp>

namespace weft::detail {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
/// "No deadline": park until unparked.
inline constexpr time_point no_deadline = time_point::max();

/// A green thread; defined by the runtime (core/src). Opaque here.
struct task;
class parker;

/// Suspend the calling task (p.owner_task() == current task) until p has a token or the
/// deadline passes; same contract as parker::park_until. Defined by the runtime (core/src).
bool park_task_until(parker& p, time_point deadline) noexcept;
/// Make p's task runnable if it is parked (the runtime's side of parker::unpark for tasks).
void unpark_task(parker& p) noexcept;

/// Suspends the calling task (p.owner_task() == current task) without deadline, and only once
/// its fiber is switched out makes the wait reachable: CAS `word` from 0 to `value` (release),
/// with the parker word already `parked`, so the park itself needs no locked instruction (Go
/// parks a goroutine the same way: gopark's unlock function runs on g0 after the switch,
/// runtime/proc.go park_m). Returns false if the CAS failed: the task was made runnable again
/// at once (the run-next slot's or the local queue's turn), no waker saw the wait, and a stale
/// token the word held is gone (dropped, as a spurious wake-up may be). Returns true after a
/// wake-up of the published wait (the caller re-checks its waiter, as after park_until).
/// Precondition: no wait of the task is reachable by a waker when it is called (parker I3), so
/// the parker word is the caller's until the CAS succeeds.
bool park_task_publish(parker& p, std::atomic<std::uintptr_t>& word, std::uintptr_t value) noexcept;

class parker {
 public:
  /// The token word. `empty`: no token, owner not asleep; `notified`: a token is waiting;
  /// `parked`: the owner is (about to be) asleep and the waker must wake it explicitly;
  /// `parked_timed` (task parkers only): parked with a deadline, so its worker's timer may wake
  /// it too (only this state is the timer's to take).
  enum class state : std::uint32_t { empty = 0, notified = 1, parked = 2, parked_timed = 3 };

  explicit parker(task* owner = nullptr) noexcept : task_(owner) {}
  parker(const parker&) = delete;
  parker& operator=(const parker&) = delete;

  /// Sleeps until a token is available (consumes it, returns true) or `deadline` passes
  /// (returns false). May return true spuriously. Only the owner calls it. Inline: a task's
  /// park goes straight to the runtime (one call instead of two on every blocking operation).
  bool park_until(time_point deadline) noexcept {
    WEFT_INJECT_YIELD();  // before park
    if (task_ != nullptr) return park_task_until(*this, deadline);
    return park_thread_until(deadline, nullptr);
  }
  /// The same for a thread waiting on a one-shot wake flag in its own frame (a waiter's
  /// released_, waiter.hpp): the spin phases poll `flag` instead of the token word, so the owner
  /// watches the line its waker writes anyway (the waiter and, for a rendezvous, the value)
  /// instead of a second one; before it sleeps it stores `flag_sleeping` into the flag (one CAS
  /// from `flag_pending`), and from then on its waker must wake it through this parker: the
  /// waker sets the flag by an exchange and unparks if that returned `flag_sleeping`.
  /// Returns true once the flag is `flag_set` or a token came (possibly stale: callers loop);
  /// false when the deadline passed. A task parker ignores the flag (its waker unparks it).
  bool park_until(time_point deadline, std::atomic<std::uint8_t>& flag) noexcept {
    WEFT_INJECT_YIELD();  // before park
    if (task_ != nullptr) return park_task_until(*this, deadline);
    return park_thread_until(deadline, &flag);
  }
  /// A wake flag's values (park_until above).
  static constexpr std::uint8_t flag_pending = 0;   // not set; the owner spins on the flag
  static constexpr std::uint8_t flag_set = 1;       // set by the waker; written once, last
  static constexpr std::uint8_t flag_sleeping = 2;  // the owner sleeps on its parker: wake it
  /// Makes a token available and wakes the owner if it sleeps. Any thread; never blocks.
  /// Memory ordering: everything the caller did before unpark() is visible to the owner after
  /// the park_until() that consumes this token returns.
  void unpark() noexcept {
    if (task_ != nullptr) {
      unpark_task(*this);
      return;
    }
    unpark_thread();
  }

  task* owner_task() const noexcept { return task_; }

  // The token word, exposed to the runtime's task parking (park_task_until / unpark_task),
  // which implements the same protocol for fibers.
  std::atomic<state> state_{state::empty};

 private:
  // Thread parkers: the CPU the last futex wake of this parker came from (-1: none since the
  // owner cleared it). A hint for the wake-follow budget (core/src/parker.cpp), nothing more.
  // Beside state_, it fills the padding before task_: a parker stays 16 bytes.
  std::atomic<std::int32_t> waker_cpu_{-1};

  bool park_thread_until(time_point deadline, std::atomic<std::uint8_t>* flag) noexcept;
  bool park_sleep(time_point deadline) noexcept;  // park_thread_until's futex phase
  void unpark_thread() noexcept;
  task* const task_;  // set once at construction: nullptr for a thread parker
};
static_assert(sizeof(parker) == 16, "the wake-follow hint fills the padding beside state_");

// ---- hooks between the parker and the runtime (defined in core/src by the runtime) ----

/// The task running on this thread, or nullptr on a plain OS thread (also inside a worker's
/// scheduler loop, between tasks). Written only by the runtime when it switches fibers.
extern constinit thread_local task* current_task_tls [[gnu::tls_model("initial-exec")]];

/// The calling OS thread's parker (created on first use, recycled at thread exit).
parker& thread_parker() noexcept;

/// The task running on this thread (nullptr on a plain thread). Out of line on purpose: a task
/// may resume on another worker thread after a park, and a compiler may keep a thread-local's
/// address computed before a call; reading it through an opaque call each time is always right.
[[gnu::noinline]] task* current_task() noexcept;

/// The parker of whoever is calling: its task's, or its thread's. Out of line (one call, the
/// runtime reads its thread_local itself), for the reason current_task() is.
[[gnu::noinline]] parker& current_parker() noexcept;

/// True when called from inside a weft task.
inline bool in_task() noexcept { return current_task() != nullptr; }

/// The wake-follow spin's budget (core/src/parker.cpp): its bounds and first value, in ns.
inline constexpr std::int64_t wake_follow_min_ns = 16'000;
inline constexpr std::int64_t wake_follow_cap_ns = 200'000;
inline constexpr std::int64_t wake_follow_initial_ns = 64'000;
/// Its rule: the budget in ns after a spin that followed this thread's futex wake of a sleeper
/// and `caught` its answer `wait_ns` after the wake, or ran out without one.
std::int64_t wake_follow_budget(std::int64_t budget, bool caught, std::int64_t wait_ns) noexcept;

/// Adaptive-spin admission: at most one spinning thread per core; the rest park at once.
bool try_begin_spin() noexcept;
/// The same with another limit on the spinners (the wake-follow spin leaves a core free).
bool try_begin_spin(std::uint32_t limit) noexcept;
void end_spin() noexcept;
/// Threads holding a spin admission now (for tests: every spin gives its admission back).
std::uint32_t spinners_now() noexcept;

/// The adaptive wait strategy's spin (threads): polls pred() after every relax instruction for
/// up to spin_poll's window. The first `free_polls` polls need no admission: most hand-offs
/// between two running threads land within them (W3/W4: a few hundred ns), and skipping the
/// admission counter's two read-modify-writes on a line shared by every waiting thread keeps
/// that line out of each hand-off. Longer spins need admission (at most one spinner per core).
/// An exception from pred() (a throwing move inside a channel's try_once) passes through; the
/// admission is given back on every way out.
template <class Pred>
bool adaptive_spin(Pred&& pred, time_point deadline) noexcept(noexcept(pred())) {
  constexpr std::uint32_t free_polls = 32;
  struct admission {
    bool held = false;
    ~admission() {
      if (held) end_spin();
    }
  } adm;
  spin_poll sp;
  for (std::uint32_t i = 1;; ++i) {
    if (pred()) return true;
    if (i == free_polls) {
      if (!try_begin_spin()) return false;
      adm.held = true;
    }
    if (!sp.next()) return false;
    if ((i & 15) == 0 && deadline != no_deadline && clock::now() >= deadline) return false;
  }
}

}  // namespace weft::detail

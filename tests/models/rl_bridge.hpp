// The bridge between weft's atomics policy (core/include/weft/detail/atomics_policy.hpp) and the
// Relacy race detector (relacy-dev, /usr/include/relacy): the production protocol code is
// instantiated with `rl_atomics`, whose atomic<T> is an adapter giving rl::atomic<T> the
// interface of std::atomic<T> (std::memory_order arguments, no `($)` debug-info argument: the
// call site's std::source_location is passed to Relacy instead, so its reports name the line of
// flavor_bounded.hpp / waiter.hpp / waker_list.hpp that did the access).
//
// Relacy runs every model thread as a fiber of one OS thread and switches only at its own
// instrumented operations, so everything a protocol spins or sleeps on must be instrumented:
//   model_lock    the production spin_lock protocol (spin_lock.hpp: exchange(acquire) to take,
//                 store(release) to give back) on an rl atomic, yielding to Relacy while it spins;
//   model_parker  the thread parker's token protocol (core/src/parker.cpp: park_thread_until,
//                 unpark) on an rl atomic with Relacy's futex; a finite deadline becomes a
//                 scheduler choice (the park may time out at any point), which is how the models
//                 reach the abort-versus-select races;
//   model_backoff spin/snooze = rl::yield (a spin loop tells Relacy it waits for another thread).
// The parker and the lock are mirrors (their production code is not templated); their orders are
// named constants here too, so the mutation table covers them.
//
// Include order matters: the weft headers come first, then Relacy's headers one by one. relacy.hpp
// itself is NOT included: it #defines new, delete, memory_order_* and assert, which would rewrite
// weft's headers and the standard library; the adapter makes those macros unnecessary.
#pragma once

#include <weft/detail/atomics_policy.hpp>
#include <weft/detail/flavor_bounded.hpp>
#include <weft/detail/flavor_rendezvous.hpp>
#include <weft/detail/oneshot_state.hpp>
#include <weft/detail/waiter.hpp>
#include <weft/detail/waker_list.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <source_location>
#include <ostream>
#include <string>

#include <relacy/base.hpp>
#include <relacy/context.hpp>
#include <relacy/context_base_impl.hpp>
#include <relacy/backoff.hpp>
#include <relacy/atomic_fence.hpp>
#include <relacy/atomic.hpp>
#include <relacy/var.hpp>
#include <relacy/thread_local.hpp>
#include <relacy/test_suite.hpp>
#include <relacy/dyn_thread.hpp>
#include <relacy/stdlib/mutex.hpp>
#include <relacy/stdlib/condition_variable.hpp>
#include <relacy/stdlib/semaphore.hpp>
#include <relacy/stdlib/event.hpp>
#include <relacy/stdlib/windows.hpp>
#include <relacy/stdlib/pthread.hpp>

namespace weft::models {

using weft::detail::no_deadline;
using weft::detail::time_point;

constexpr rl::memory_order to_rl(std::memory_order mo) noexcept {
  switch (mo) {
    case std::memory_order_relaxed: return rl::mo_relaxed;
    case std::memory_order_consume: return rl::mo_consume;
    case std::memory_order_acquire: return rl::mo_acquire;
    case std::memory_order_release: return rl::mo_release;
    case std::memory_order_acq_rel: return rl::mo_acq_rel;
    case std::memory_order_seq_cst: return rl::mo_seq_cst;
  }
  return rl::mo_seq_cst;
}

inline rl::debug_info at(const std::source_location& l) noexcept {
  return rl::debug_info(l.function_name(), l.file_name(), l.line());
}

/// rl::atomic<T> with std::atomic<T>'s member functions (the subset the protocols use).
template <class T>
class rl_atomic {
  using loc = std::source_location;

 public:
  // relaxed: initialisation, as std::atomic's constructor (publication is the owner's business).
  rl_atomic(T v, loc l = loc::current()) { a_.store(v, rl::mo_relaxed, at(l)); }
  rl_atomic(const rl_atomic&) = delete;
  rl_atomic& operator=(const rl_atomic&) = delete;

  T load(std::memory_order mo, loc l = loc::current()) const { return a_.load(to_rl(mo), at(l)); }
  void store(T v, std::memory_order mo, loc l = loc::current()) { a_.store(v, to_rl(mo), at(l)); }
  T exchange(T v, std::memory_order mo, loc l = loc::current()) { return a_.exchange(v, to_rl(mo), at(l)); }
  T fetch_or(T v, std::memory_order mo, loc l = loc::current()) { return a_.fetch_or(v, to_rl(mo), at(l)); }
  T fetch_add(T v, std::memory_order mo, loc l = loc::current()) { return a_.fetch_add(v, to_rl(mo), at(l)); }
  T fetch_sub(T v, std::memory_order mo, loc l = loc::current()) { return a_.fetch_sub(v, to_rl(mo), at(l)); }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success, std::memory_order failure,
                             loc l = loc::current()) {
    return a_.compare_exchange_weak(expected, desired, to_rl(success), at(l), to_rl(failure), at(l));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success, std::memory_order failure,
                               loc l = loc::current()) {
    return a_.compare_exchange_strong(expected, desired, to_rl(success), at(l), to_rl(failure), at(l));
  }

  /// The futex of model_parker (Relacy's futex works on rl::atomic<int> only).
  rl::atomic<T>& raw() noexcept { return a_; }

 private:
  mutable rl::atomic<T> a_;
};

/// Spin/snooze: tell Relacy this thread waits for another one.
struct model_backoff {
  void spin() noexcept { rl::yield(1, $); }
  void snooze() noexcept { rl::yield(1, $); }
};

/// spin_lock.hpp's protocol: exchange(acquire) takes the lock, store(release) gives it back.
/// Each critical section also reads and writes `section_`, a Relacy variable: the waker lists'
/// links are plain memory that Relacy does not watch, so this is what makes two critical sections
/// that the lock failed to order a reported data race.
template <class Policy>
class model_lock {
 public:
  void lock() {
    // acquire: the critical section sees the previous holder's writes (spin_lock::lock).
    while (locked_.exchange(true, Policy::lock_take)) {
      // relaxed: spinning read only (spin_lock::lock_slow).
      while (locked_.load(std::memory_order_relaxed)) rl::yield(1, $);
    }
    section_($).store(section_($).load() + 1);
  }
  void unlock() {
    section_($).store(section_($).load() + 1);
    // release: publishes the critical section (spin_lock::unlock).
    locked_.store(false, Policy::lock_give);
  }

 private:
  rl_atomic<bool> locked_{false};
  rl::var<int> section_{0};

 public:
  // Destroying the lock (with the state that holds it) writes it too: a free that does not
  // happen-after the other side's last critical section is a reported race.
  ~model_lock() { section_($).store(-1); }
};

/// core/src/parker.cpp's thread parker: the token word empty/notified/parked, futex sleep.
/// park_until(d) with d != no_deadline may time out at any step (a scheduler choice).
/// `task_like`: stands for a task's parker instead (owner_task() not null), so a waiter takes
/// its task path (unpark, then released_) and park_until ignores the wake flag.
template <class Policy>
class model_parker {
 public:
  static constexpr int empty = 0, notified = 1, parked = 2;
  static constexpr std::uint8_t flag_pending = weft::detail::parker::flag_pending;
  static constexpr std::uint8_t flag_set = weft::detail::parker::flag_set;
  static constexpr std::uint8_t flag_sleeping = weft::detail::parker::flag_sleeping;

  explicit model_parker(bool task_like = false) : task_like_(task_like) {}
  const void* owner_task() const { return task_like_ ? this : nullptr; }

  /// park_thread_until with a wake flag: the spin phases poll the flag (Relacy picks when the
  /// spin ends, or when a deadline passes during it), then the sleep is announced by a CAS
  /// pending -> sleeping and taken on the token.
  bool park_until(time_point deadline, rl_atomic<std::uint8_t>& flag) {
    if (task_like_) return park_until(deadline);
    // acquire: flag_is_set in parker.cpp (the same edge as waiter P3's load).
    std::uint8_t f = flag.load(Policy::waiter_released_load);
    if (f == flag_set) return true;
    if (f == flag_pending) {
      if (deadline != no_deadline && rl::rand(2) == 0) return false;  // passed while spinning
      // relaxed / acquire: announce_sleep in parker.cpp (its success order is acquire only
      // because gcc wants it at least as strong as the failure order; relaxed is what is needed).
      if (!flag.compare_exchange_strong(f, flag_sleeping, std::memory_order_relaxed, Policy::waiter_released_load))
        return true;  // set meanwhile
    }
    return park_until(deadline);
  }

  bool park_until(time_point deadline) {
    if (take_token()) return true;
    for (;;) {
      if (deadline != no_deadline && rl::rand(2) == 0) return take_token();  // the deadline passed
      int expected = empty;
      // relaxed: announcing the sleep publishes nothing (park_thread_until).
      if (!state_.compare_exchange_strong(expected, parked, std::memory_order_relaxed, std::memory_order_relaxed)) {
        if (take_token()) return true;
        continue;
      }
      // With a deadline the futex wait is a timed one: Relacy may end it by a timeout.
      const timespec some_time{0, 1};
      rl::rl_int_futex_impl(rl::ctx(), &state_.raw(), rl::RL_FUTEX_WAIT, parked,
                            deadline != no_deadline ? &some_time : nullptr, nullptr, 0, $);
      // acquire: consuming a token (parker P1).
      if (state_.exchange(empty, Policy::parker_wake_take) == notified) return true;
    }
  }

  void unpark() {
    // release: what the waker did before unpark is visible to the woken owner (parker P1).
    if (state_.exchange(notified, Policy::parker_unpark) == parked)
      rl::rl_int_futex_impl(rl::ctx(), &state_.raw(), rl::RL_FUTEX_WAKE, 1, nullptr, nullptr, 0, $);
  }

 private:
  bool take_token() {
    int expected = notified;
    // acquire: parker P1 (take_token in parker.cpp).
    return state_.compare_exchange_strong(expected, empty, Policy::parker_take, std::memory_order_relaxed);
  }
  rl_atomic<int> state_{empty};
  bool task_like_;
};

/// The parkers of the current iteration's threads, indexed by rl::thread_index() (set by a test's
/// before(): parkers hold Relacy atomics, which exist only inside a simulation).
template <class Self>
struct parker_table {
  static inline model_parker<Self>* parkers = nullptr;
};

/// The policy of the models. `Self` is the final policy type, so a mutation (a policy deriving
/// from rl_policy<itself> that overrides one order) reaches the parker and the lock too.
template <class Self>
struct rl_policy : weft::detail::std_atomics {
  template <class T>
  using atomic = rl_atomic<T>;
  using parker = model_parker<Self>;
  using lock = model_lock<Self>;
  using backoff = model_backoff;
  static parker& this_parker() { return parker_table<Self>::parkers[rl::thread_index()]; }
  /// Shared states (oneshot_state) in Relacy's heap: a double free or a leak is reported.
  static void* allocate_state(std::size_t bytes) { return rl::rl_malloc(bytes, $); }
  static void deallocate_state(void* p) { rl::rl_free(p, $); }

  // The mirrors' orders (spin_lock.hpp, core/src/parker.cpp).
  static constexpr std::memory_order lock_take = std::memory_order_acquire;
  static constexpr std::memory_order lock_give = std::memory_order_release;
  static constexpr std::memory_order parker_take = std::memory_order_acquire;
  static constexpr std::memory_order parker_wake_take = std::memory_order_acquire;
  static constexpr std::memory_order parker_unpark = std::memory_order_release;
};

/// The production orders.
struct rl_atomics : rl_policy<rl_atomics> {};

// ---- running a model ------------------------------------------------------------------------

struct run_options {
  rl::iteration_t iterations = 100000;
  rl::scheduler_type_e scheduler = rl::sched_random;
  unsigned context_bound = 1;  // for sched_bound: preemptions explored per execution
  bool quiet = false;  // keep Relacy's report (history) off the output
};

/// Runs one Relacy test; returns the result Relacy reports (test_result_success if none).
template <class Test>
rl::test_result_e run_model(const run_options& o, rl::iteration_t* reached = nullptr) {
  rl::test_params p;
  p.iteration_count = o.iterations;
  p.search_type = o.scheduler;
  p.context_bound = o.context_bound;
  // A stream without a buffer discards everything (writes set badbit). Not an ostringstream: the
  // history Relacy prints on a failure is formatted with its own allocator, and growing a
  // std::stringbuf from inside that corrupted the heap (glibc "double free").
  std::ostream sink(nullptr);
  if (o.quiet) {
    p.output_stream = &sink;
    p.progress_stream = &sink;
  }
  p.progress_output_period = 1000000;
  rl::simulate<Test>(p);
  if (reached != nullptr) *reached = p.stop_iteration;
  return p.test_result;
}

}  // namespace weft::models

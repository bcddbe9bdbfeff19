// The shared state of one promise/future pair (<weft/oneshot.hpp>): one state word, one outcome
// slot and a waker list for the consumer's get()/select. Replaces the capacity-1 channel the
// pair used to share: a third of the bytes (spawn keeps one alive per running task) and one RMW
// fewer per completion, and it comes from a per-thread free list (oneshot_pool_alloc, defined in
// core/src/runtime.cpp), so spawn -> future allocates nothing in steady state.
//
// Invariants:
//   I1  The outcome slot holds a live result<T> iff set_bit is in word_ and taken_ is false.
//   I2  set_bit is set once, by the promise side (a value, an exception, a status, or `broken`
//       from a promise destroyed unset). Afterwards the promise side touches the state only to
//       notify the waker list and then set promise_done.
//   I3  The state is freed exactly once, by whichever side sets the second of {promise_done,
//       future_gone}, or by the promise when future_gone was already set at its set_bit RMW.
//       The side that frees destroys an untaken outcome first (a value set after the future is
//       gone is destroyed, not leaked).
// Protocol:
//   slot_    written by the promise side before set_bit; read/moved by the future side after it
//            saw set_bit; destroyed by the freeing side.
//   taken_   future side only (the future is move-only: one owner at a time); read by the
//            promise side only after its RMW saw future_gone (ordered by that RMW, P3).
//   waiters_ the consumer's waker entry (get/get_for/get_until, or a select case); its own lock.
// Orderings:
//   P1  set_bit fetch_or (seq_cst) -> the future's acquire/seq_cst load that sees it: the outcome
//       and everything before set_value() is visible to the get() that returns it.
//   P2  SB pair (waker_list.hpp P1): the promise sets set_bit (seq_cst RMW) then loads the
//       list's empty flag (seq_cst); the future stores the flag (register, seq_cst) then loads
//       word_ (seq_cst). At least one sees the other: no lost wake-up.
//   P3  The freeing side's RMW (acq_rel) sees the other side's earlier release RMW: all of the
//       other side's accesses (taken_, slot_ moves, the waker list) happen-before the free.
// Written over an atomics policy (atomics_policy.hpp: each order above is a named constant of it)
// so tests/models can check it with Relacy; production uses std_atomics.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include <weft/detail/atomics_policy.hpp>
#include <weft/detail/blocking_info.hpp>
#include <weft/detail/parker.hpp>
#include <weft/detail/select_engine.hpp>
#include <weft/detail/waiter.hpp>
#include <weft/detail/waker_list.hpp>
#include <weft/status.hpp>

namespace weft::detail {

/// Memory for one-shot states (alignment up to operator new's default): a per-thread free list
/// per 64-byte size class (plain operator new above 256 bytes, and always under AddressSanitizer so it sees use-after-free). Defined in
/// core/src/runtime.cpp; out of line so no caller keeps a thread-local's address across a park.
void* oneshot_pool_alloc(std::size_t bytes);
void oneshot_pool_free(void* p, std::size_t bytes) noexcept;

template <class T, class Policy = std_atomics>
class oneshot_state {
  using waiter = basic_waiter<Policy>;
  using waker_entry = basic_waker_entry<Policy>;
  using waker_list = basic_waker_list<Policy>;
  // A model policy may bring its own memory (tests/models: Relacy's, which checks the free).
  static constexpr bool policy_memory = requires { Policy::allocate_state(std::size_t{}); };

 public:
  static oneshot_state* make() {
    void* p;
    if constexpr (policy_memory) p = Policy::allocate_state(sizeof(oneshot_state));
    else p = over_aligned ? ::operator new(sizeof(oneshot_state), std::align_val_t{alignof(oneshot_state)})
                          : oneshot_pool_alloc(sizeof(oneshot_state));
    return ::new (p) oneshot_state();
  }

  // ---- promise side ----

  /// Stores the outcome and wakes the consumer. Called at most once (the promise checks).
  /// The outcome is built in place first: if that throws, nothing was published.
  template <class... A>
  void complete(A&&... a) {
    ::new (static_cast<void*>(slot_)) result<T>(std::forward<A>(a)...);
    // seq_cst: P1 (publishes the outcome) and P2 (before the empty-flag load in notify_one).
    const std::uint32_t prev = word_.fetch_or(set_bit, Policy::oneshot_set);
    if ((prev & future_gone) != 0) {  // nobody will read it: destroy it now (I3)
      slot().~result<T>();
      destroy();
      return;
    }
    waiters_.notify_one();
    // acq_rel: release hands our accesses to the future if it frees (P3); acquire takes its
    // accesses (taken_) if we free.
    if ((word_.fetch_or(promise_done, Policy::oneshot_promise_done) & future_gone) != 0) release_now();
  }

  // ---- future side ----

  /// The outcome if set (moved out; later calls return closed), else `empty`.
  result<T> try_take() {
    if (taken_) return result<T>(status::closed);
    // acquire: P1.
    if ((word_.load(Policy::oneshot_take_load) & set_bit) == 0) return result<T>(status::empty);
    return take();
  }

  /// Blocks (parks the thread or task) until the outcome is set or `deadline` passes
  /// (`timeout`). `op` names the operation for dump_blocked.
  result<T> wait_take(time_point deadline, const char* op) {
    for (;;) {
      result<T> r = try_take();
      if (r.code() != status::empty) return r;
      if (deadline != no_deadline && clock::now() >= deadline) return result<T>(status::timeout);
      waiter w(Policy::this_parker());
      waker_entry e;
      e.w = &w;
      e.op = 0;
      waiters_.register_entry(e);
      if (is_ready()) {  // P2: set meanwhile; the promise may not have seen our entry
        if (w.abort() != waiter::aborted) w.wait_released();
      } else {
        note_blocking(op, this, "future");
        (void)w.wait_until(deadline);  // selected(0): set; aborted: deadline (loop decides)
        note_unblocked();
      }
      waiters_.unregister_entry(e);
    }
  }

  /// seq_cst re-check after registering (P2); also true once taken (select then fires `closed`).
  bool is_ready() const noexcept {
    // seq_cst: P2.
    return taken_ || (word_.load(Policy::oneshot_ready_check) & set_bit) != 0;
  }

  waker_list& waiters() noexcept { return waiters_; }

  /// The future is gone (destroyed or assigned over): frees the state if the promise is done.
  void drop_future() noexcept {
    // acq_rel: P3 (see complete()).
    if ((word_.fetch_or(future_gone, Policy::oneshot_future_gone) & promise_done) != 0) release_now();
  }

 private:
  static constexpr bool over_aligned = alignof(result<T>) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  static constexpr std::uint32_t set_bit = 1;       // the outcome is in slot_ (I2)
  static constexpr std::uint32_t promise_done = 2;  // the promise side is done with the state
  static constexpr std::uint32_t future_gone = 4;   // the future side is done with the state

  oneshot_state() noexcept = default;
  ~oneshot_state() = default;

  result<T>& slot() noexcept { return *std::launder(reinterpret_cast<result<T>*>(slot_)); }

  result<T> take() {
    result<T> r(std::move(slot()));
    slot().~result<T>();
    taken_ = true;
    return r;
  }

  void release_now() noexcept {
    if (!taken_) slot().~result<T>();
    destroy();
  }

  void destroy() noexcept {
    this->~oneshot_state();
    if constexpr (policy_memory) Policy::deallocate_state(static_cast<void*>(this));
    else if constexpr (over_aligned) ::operator delete(static_cast<void*>(this), std::align_val_t{alignof(oneshot_state)});
    else oneshot_pool_free(this, sizeof(oneshot_state));
  }

  typename Policy::template atomic<std::uint32_t> word_{0};
  bool taken_ = false;
  waker_list waiters_;
  alignas(result<T>) unsigned char slot_[sizeof(result<T>)];
};

/// Select case over a future's state: fires f(result<T>&&) with the value, broken, failed, or
/// `closed` (already taken). Ready-able like a ring receive: a selected waiter retries try_fire.
template <class T, class F>
class future_case final : public select_case {
 public:
  future_case(oneshot_state<T>* s, F f) : s_(s), f_(std::move(f)) {}
  case_kind kind() const noexcept override { return case_kind::channel; }
  bool try_fire(const waiter*) override {
    out_ = s_->try_take();
    return out_.code() != status::empty;
  }
  void register_entry(waker_entry& e) override { s_->waiters().register_entry(e); }
  void unregister_entry(waker_entry& e) override { s_->waiters().unregister_entry(e); }
  bool is_ready(const waiter&) override { return s_->is_ready(); }
  bool complete_selected(waker_entry&, const waiter&) override { return try_fire(nullptr); }
  void fire() override { f_(std::move(out_)); }

 private:
  oneshot_state<T>* s_;
  F f_;
  result<T> out_{status::empty};
};

}  // namespace weft::detail

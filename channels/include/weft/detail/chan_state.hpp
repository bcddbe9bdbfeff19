// The shared state every channel flavor derives from, and the blocking loop all ring flavors
// share.
//
// A channel's state is one heap object: the live sender/receiver counts (disconnect when a side
// reaches zero), a flavor tag that the public handles `switch` on (no virtual call on a
// send/recv fast path), and the flavor's own fields in the derived class. The clock-driven
// flavors (after, tick, a context's done()) are rare and derive from `special_chan`, whose
// operations are virtual.
//
// Lifetime: the side whose count reaches zero first disconnects; the second one frees the state
// (the `destroy_` exchange decides which is second).
//
// Orderings:
//   P1  senders_/receivers_ fetch_sub(acq_rel): the last handle of a side must see every
//       operation of the other handles of its side before it disconnects.
//   P2  destroy_.exchange(acq_rel): the freeing side must see everything the other side did.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <weft/detail/atomics_policy.hpp>
#include <weft/detail/backoff.hpp>
#include <weft/detail/blocking_info.hpp>
#include <weft/detail/inject.hpp>
#include <weft/detail/parker.hpp>
#include <weft/detail/waiter.hpp>
#include <weft/detail/waker_list.hpp>
#include <weft/status.hpp>
#include <weft/wait_strategy.hpp>

namespace weft::detail {

class context_state;

enum class flavor : std::uint8_t { bounded, rendezvous, unbounded, special };

/// Written over an atomics policy (atomics_policy.hpp) so tests/models can check the lifetime
/// protocol (P1, P2) with Relacy; every flavor but the bounded ring uses std_atomics.
template <class T, class Policy = std_atomics>
class chan_state {
 public:
  chan_state(flavor k, std::size_t senders, std::size_t receivers) noexcept
      : senders_(senders), receivers_(receivers), destroy_(senders == 0 || receivers == 0), kind_(k) {}
  virtual ~chan_state() = default;
  chan_state(const chan_state&) = delete;
  chan_state& operator=(const chan_state&) = delete;

  flavor kind() const noexcept { return kind_; }
  /// The name given to make_chan (nullptr: none), shown by dump_blocked. Set once, before the
  /// handles are shared (make_chan); read-only afterwards.
  const char* name() const noexcept { return name_; }
  void set_name(const char* n) noexcept { name_ = n; }

  void acquire_sender() noexcept {
    // relaxed: a new handle is copied from a live one, which keeps the count above zero.
    senders_.fetch_add(1, std::memory_order_relaxed);
  }
  void acquire_receiver() noexcept {
    // relaxed: as acquire_sender.
    receivers_.fetch_add(1, std::memory_order_relaxed);
  }
  /// Returns true if the caller must now free the state.
  bool release_sender() noexcept {
    // acq_rel: P1.
    if (senders_.fetch_sub(1, Policy::chan_side_release) != 1) return false;
    disconnect_senders();
    // acq_rel: P2.
    return destroy_.exchange(true, Policy::chan_destroy);
  }
  bool release_receiver() noexcept {
    // acq_rel: P1.
    if (receivers_.fetch_sub(1, Policy::chan_side_release) != 1) return false;
    disconnect_receivers();
    // acq_rel: P2.
    return destroy_.exchange(true, Policy::chan_destroy);
  }
  /// True while at least one receiver lives. acquire: pairs with P1's release.
  bool has_receivers() const noexcept { return receivers_.load(Policy::chan_has_receivers) != 0; }

  /// The last sender is gone: close (receivers drain, then see closed).
  virtual void disconnect_senders() noexcept = 0;
  /// The last receiver is gone: every pending and later send returns closed.
  virtual void disconnect_receivers() noexcept = 0;

 private:
  typename Policy::template atomic<std::size_t> senders_;
  typename Policy::template atomic<std::size_t> receivers_;
  typename Policy::template atomic<bool> destroy_;
  const flavor kind_;
  const char* name_ = nullptr;  // make_chan's name (static storage); see name()
};

/// The rare, clock-driven receive-only flavors: after(), tick(), context::done().
template <class T>
class special_chan : public chan_state<T> {
 public:
  special_chan() noexcept : chan_state<T>(flavor::special, 0, 1) {}
  /// ok (a value), empty (not yet), or closed.
  virtual result<T> try_recv() = 0;
  /// True if try_recv would not return empty. Reads with seq_cst where a waker list is involved.
  virtual bool is_ready() noexcept = 0;
  /// The time at which the flavor becomes ready by itself (no_deadline if never).
  virtual time_point ready_at() noexcept = 0;
  /// Register a waiter woken when the state changes other than by the clock (context cancel).
  virtual void register_entry(waker_entry&) noexcept {}
  virtual void unregister_entry(waker_entry&) noexcept {}
  virtual std::size_t size() const noexcept { return 0; }
  virtual std::size_t capacity() const noexcept { return 0; }
  virtual bool is_closed() const noexcept { return false; }
  void disconnect_senders() noexcept override {}
  void disconnect_receivers() noexcept override {}
};

// ---- deadlines ----------------------------------------------------------------------------------

/// now + d, saturating: a huge duration means no deadline; a negative one means "already past".
template <class Rep, class Period>
time_point deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  const time_point now = clock::now();
  if (d <= std::chrono::duration<Rep, Period>::zero()) return now;
  using ns = std::chrono::nanoseconds;
  const auto max_ns = std::chrono::duration<long double, std::nano>(
      static_cast<long double>((no_deadline - now).count()));
  if (std::chrono::duration<long double, std::nano>(d) >= max_ns) return no_deadline;
  return now + std::chrono::duration_cast<ns>(d);
}

// ---- the blocking loop ---------------------------------------------------------------------------

template <class T>
std::size_t do_capacity(const chan_state<T>* s) noexcept;  // chan.hpp
template <class T>
std::size_t do_size(const chan_state<T>* s) noexcept;  // chan.hpp

/// Tells the runtime what the calling task is blocked on (for dump_blocked) for the lifetime of
/// a slow path; a no-op on plain threads. On a channel it also records the channel's name,
/// capacity and size (once per blocking operation, before the first park). It reads a
/// thread_local (current_note_tls) inline: construct it only in a [[gnu::noinline]] slow path,
/// before that function's first park (a compiler may keep the thread pointer across a call, and
/// a task may resume on another worker); the destructor uses the pointer it kept.
class blocking_note {
 public:
  blocking_note(const char* op, const void* object) noexcept : n_(note_blocking_inline(op, object)) {}
  template <class T>
  blocking_note(const char* op, const chan_state<T>* c) noexcept
      : n_(c->kind() == flavor::rendezvous  // capacity and size are always 0: skip two calls
               ? note_blocking_chan_inline(op, c, c->name(), 0, 0)
               : note_blocking_chan_inline(op, c, c->name(), do_capacity(c), do_size(c))) {}
  ~blocking_note() { note_unblocked(n_); }
  blocking_note(const blocking_note&) = delete;
  blocking_note& operator=(const blocking_note&) = delete;

 private:
  task_note* const n_;  // the calling task's note (nullptr: a plain thread), valid across parks
};

/// Spins before registering (ring flavors only: they can make progress without a partner
/// registering). Spin mode spins until done, the deadline or the context's end; adaptive spins a
/// short budget (adaptive_spin: a few free polls, the rest when admitted); tasks and park mode
/// skip it. Returns true if `done()` did. An exception from done() (a throwing move of T inside
/// try_send/try_recv) passes through to the caller.
template <class Done>
bool spin_phase(Done&& done, time_point deadline, context_state* ctx);

/// The outcome of a context check inside a wait: ok (go on) or the context's err().
status context_err(context_state* ctx) noexcept;
time_point context_deadline(context_state* ctx) noexcept;
void context_register(context_state* ctx, waker_entry& e) noexcept;
void context_unregister(context_state* ctx, waker_entry& e) noexcept;

/// Parks on `w` (already registered where a partner will find it) until it is woken, aborted or
/// `d` passes, also registered on `ctx`, if any, as case 1 (waker_list.hpp: a cancelled context
/// selects it). `ready()`: the re-check after the registrations (true: abort at once, do not
/// sleep). Returns wait_until's outcome. Without a context nothing is registered on one.
template <class Ready>
std::uintptr_t wait_also_on_context(waiter& w, time_point d, context_state* ctx, Ready&& ready) {
  if (ctx == nullptr) {
    if (ready()) w.abort();
    return w.wait_until(d);
  }
  waker_entry ce{&w, 1};
  context_register(ctx, ce);
  if (ready() || context_err(ctx) != status::ok) w.abort();
  const std::uintptr_t s = w.wait_until(d);
  context_unregister(ctx, ce);
  return s;
}

/// Blocks until `try_once()` returns true (the operation completed: its outcome is in the
/// caller's lambda state), or the deadline passes (timeout), or the context ends (its err()).
/// Precondition: try_once() was just tried and would block. Shape (STYLE.md 2): try_once ->
/// spin -> register_waiter -> re-check -> park -> unregister, repeated.
///   list:     the waker list of the side we wait on
///   is_ready: seq_cst re-check after registering (P1 of waker_list.hpp)
///   poll:     a cheap hint used while spinning (false: surely not yet; true: try_once now). It
///             must return true at least every 64 calls so a spinner notices a close.
/// Inlined into its callers, which are the out-of-line slow paths (bounded_send_slow,
/// ring_recv_slow): blocking_note's rule above holds there, and a wait is one call deep.
template <class TryOnce, class IsReady, class Poll>
[[gnu::always_inline]] inline status wait_for_ring(waker_list& list, TryOnce&& try_once,
                                                   IsReady&& is_ready, time_point deadline,
                                                   context_state* ctx, const char* op,
                                                   const auto* object, Poll&& poll) {
  const time_point d = ctx != nullptr ? std::min(deadline, context_deadline(ctx)) : deadline;
  if (spin_phase([&] { return poll() && try_once(); }, d, ctx)) return status::ok;
  blocking_note note(op, object);
  for (;;) {
    if (ctx != nullptr) {
      if (status e = context_err(ctx); e != status::ok) return e;
    }
    if (d != no_deadline && clock::now() >= d) return status::timeout;
    waiter w(current_parker());
    waker_entry e{&w, 0};
    waker_entry ce{&w, 1};
    list.register_entry(e);
    WEFT_INJECT_YIELD();  // registered, not yet re-checked
    if (ctx != nullptr) context_register(ctx, ce);
    if (is_ready() || (ctx != nullptr && context_err(ctx) != status::ok)) w.abort();
    w.wait_until(d);
    WEFT_INJECT_YIELD();  // woken (or aborted), still registered
    list.unregister_entry(e);
    if (ctx != nullptr) context_unregister(ctx, ce);
    if (try_once()) return status::ok;
  }
}

template <class Done>
bool spin_phase(Done&& done, time_point deadline, context_state* ctx) {
  if (in_task()) return false;
  switch (this_thread::get_wait_strategy()) {
    case wait_strategy::park:
      return false;
    case wait_strategy::spin:
      for (std::uint32_t i = 1;; ++i) {
        if (done()) return true;
        cpu_relax();
        if ((i & 63) == 0) {
          if (deadline != no_deadline && clock::now() >= deadline) return false;
          if (ctx != nullptr && context_err(ctx) != status::ok) return false;
        }
      }
    case wait_strategy::adaptive:
      break;
  }
  return adaptive_spin(done, deadline);
}

}  // namespace weft::detail

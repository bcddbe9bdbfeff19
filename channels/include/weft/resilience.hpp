// weft/resilience.hpp: calling something that may fail or hang: retry with backoff, a circuit
// breaker, and a call with a timeout.
//
// - `retry(ctx, policy, f)`: calls f until it succeeds, up to policy.max_attempts calls, with
//   exponential backoff (optionally jittered) between calls; stops at once when ctx ends.
// - `circuit_breaker`: stops calling a dependency that keeps failing. After
//   failure_threshold consecutive failures it opens and refuses calls (`rejected`) without
//   calling f; after cool_down it lets one probe call through: success closes it, failure
//   opens it again.
// - `call_with_timeout(d, f)`: runs f as a weft task and returns `timeout` if f is not done
//   within d; f may take a context, which then ends with err() == timeout when d passes.
//
// What f returns (all three helpers): result<R> (a non-ok result is a failure), status (ok or
// not; the helper returns result<void>), void (success, result<void>), or any other R
// (success, result<R>). An exception thrown by f is a failure too: it comes back as `failed`
// with result::exception() set; it never escapes a helper. retry and call_with_timeout also
// accept f(const context&).
//
// Threads vs tasks: the waits (retry's backoff, call_with_timeout's deadline) are task-aware:
// a task parks its fiber. circuit_breaker never blocks (a spin lock held for a few
// instructions on state changes; a closed breaker's successful call takes no lock).
// Allocation: retry and circuit_breaker allocate nothing; call_with_timeout allocates the
// task (weft::spawn), one shared result cell and, for a context-taking f, a context.
// Misuse throws weft::error (code `failed`): max_attempts < 1, a negative backoff, a multiplier
// below 1, failure_threshold < 1, a negative cool_down.
//
//   weft::circuit_breaker breaker({.failure_threshold = 5, .cool_down = 2s});
//   auto [ctx, cancel] = weft::with_timeout(weft::background(), 10s);
//   weft::result<reply> r = weft::retry(ctx, {.max_attempts = 4, .initial_backoff = 50ms,
//                                             .max_backoff = 1s},
//       [&] { return breaker.call([&] { return weft::call_with_timeout(500ms, [&] { return rpc(req); }); }); });
//   if (!r) log("rpc failed: ", r.code());   // rejected, timeout, failed, cancelled, ...
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <type_traits>
#include <utility>

#include <weft/context.hpp>
#include <weft/detail/chan_state.hpp>  // detail::deadline_after
#include <weft/detail/resilience_timeout_cell.hpp>
#include <weft/detail/source_location.hpp>
#include <weft/detail/sync_invoke.hpp>
#include <weft/detail/sync_wait_list.hpp>
#include <weft/spawn.hpp>
#include <weft/status.hpp>

namespace weft {

// ============================================================================================
// retry
// ============================================================================================

/// How retry() spaces its attempts. The wait before attempt k+1 is
/// min(max_backoff, initial_backoff * multiplier^(k-1)); with `jitter`, a uniformly random
/// duration in [0, that] instead ("full jitter": retries of many callers spread out).
struct retry_policy {
  int max_attempts = 3;                                        ///< calls of f, >= 1
  std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(10);  ///< >= 0
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(1);            ///< caps every wait
  double multiplier = 2;                                       ///< >= 1
  bool jitter = true;
};

namespace detail {

/// The waits of one retry() call. Validates the policy (throws weft::error, code failed).
class retry_schedule {
 public:
  retry_schedule(const retry_policy& p, detail::source_location where);
  /// The wait before the next attempt; grows the backoff for the one after.
  std::chrono::nanoseconds next_wait() noexcept;

 private:
  double backoff_ns_;  // the current (un-jittered) backoff, <= max_ns_
  double max_ns_;
  double multiplier_;
  bool jitter_;
};

/// Waits d unless ctx ends first (task-aware; wakes at once on cancellation). Returns ok after
/// the full wait, or ctx.err() (cancelled/timeout) if ctx ended before or during it.
status wait_unless_done(const context& ctx, std::chrono::nanoseconds d);

}  // namespace detail

/// Calls f until it succeeds, at most p.max_attempts times, waiting between attempts per p.
/// f() (or f(const context&), given ctx) returns result<R>, status, void or R; a non-ok
/// result or status, or an exception, is a failure. Returns the first success; the last
/// failure (`failed` with the exception if f threw) when the attempts run out; or ctx.err()
/// (`cancelled`/`timeout`) if ctx ended before an attempt or during a wait: f is never called
/// once ctx has ended, and a wait ends as soon as ctx does. Throws weft::error for an invalid
/// policy (see the file comment).
/// Memory ordering: each call of f happens before the next one (same caller).
template <class F>
auto retry(const context& ctx, retry_policy p, F f,
           detail::source_location where = detail::source_location::current())
    -> detail::invoke_with_optional_context_t<F, context> {
  using out = detail::invoke_with_optional_context_t<F, context>;
  detail::retry_schedule schedule(p, where);
  for (int attempt = 1;; ++attempt) {
    if (const status s = ctx.err(); s != status::ok) return out(s);
    out r = detail::invoke_with_optional_context(f, ctx);
    if (r || attempt >= p.max_attempts) return r;
    if (const status s = detail::wait_unless_done(ctx, schedule.next_wait()); s != status::ok)
      return out(s);
  }
}

// ============================================================================================
// circuit_breaker
// ============================================================================================

struct breaker_options {
  int failure_threshold = 5;                                          ///< >= 1
  std::chrono::nanoseconds cool_down = std::chrono::seconds(1);       ///< >= 0
};

/// closed: calls go through. open: calls are rejected. half_open: the cool-down passed; the
/// next call is a probe (while it runs, other calls are rejected).
enum class breaker_state : std::uint8_t { closed, open, half_open };

/// "closed", "open", "half_open".
const char* to_string(breaker_state s) noexcept;
std::ostream& operator<<(std::ostream& os, breaker_state s);

/// A thread-safe circuit breaker (any number of threads and tasks may call() at once).
///
/// failure_threshold consecutive failures (a non-ok result or an exception; "consecutive" in
/// the order the calls finish) open it. While open, call() returns `rejected` without calling
/// f. Once cool_down has passed since it opened, it is half-open: exactly one call (the probe)
/// goes through and every concurrent call is rejected; the probe's success closes the breaker
/// (failure count zero), its failure opens it again for another cool_down. The outcome of a
/// call admitted before a state change (say, a slow call that started while closed and ends
/// after the breaker opened) is ignored: it belongs to a past state.
/// A probe that never returns keeps the breaker half-open: bound f (call_with_timeout).
///
/// State word (word_), written only under lock_, read lock-free:
///   bits 0..1   breaker_state (open: opened_at_ says since when)
///   bits 2..31  consecutive failures while closed (< failure_threshold)
///   bits 32..63 generation: +1 at every state change; a call records its outcome only if the
///               generation is still the one it was admitted in.
/// Orderings:
///   P1  transitions store word_ (release) after writing opened_at_; state() loads word_
///       (acquire) before reading opened_at_. Nothing of the caller's is published through the
///       breaker (it orders calls only as far as its own state needs).
class circuit_breaker {
 public:
  /// Throws weft::error (code failed) for failure_threshold < 1 (or >= 2^30) or cool_down < 0.
  explicit circuit_breaker(breaker_options o = {},
                           detail::source_location where = detail::source_location::current());
  circuit_breaker(const circuit_breaker&) = delete;
  circuit_breaker& operator=(const circuit_breaker&) = delete;

  /// Calls f() unless the breaker rejects the call; returns f's outcome as a result (see the
  /// file comment), or `rejected` without calling f.
  /// Memory ordering: none beyond the breaker's own state: the caller's writes are not
  /// published to other callers through the breaker.
  template <class F>
  auto call(F f) -> detail::invoke_as_result_t<F> {
    using out = detail::invoke_as_result_t<F>;
    const ticket t = admit();
    if (!t.admitted) return out(status::rejected);
    out r = detail::invoke_as_result(f);
    record(t, static_cast<bool>(r));
    return r;
  }

  /// The state now: half_open also when open and cool_down has passed (the next call probes).
  breaker_state state() const noexcept;

 private:
  struct ticket {
    std::uint32_t gen;  // the generation the call was admitted in
    bool admitted;
    bool probe;         // the one half-open call
  };

  static constexpr std::uint64_t state_mask = 0x3;
  static constexpr unsigned failures_shift = 2;
  static constexpr std::uint64_t failures_max = (std::uint64_t{1} << 30) - 1;
  static constexpr unsigned gen_shift = 32;
  static_assert((failures_max << failures_shift) + state_mask < (std::uint64_t{1} << gen_shift),
                "state and failure count stay below the generation bits");
  static constexpr std::uint64_t pack(breaker_state s, std::uint64_t failures, std::uint32_t gen) noexcept {
    return static_cast<std::uint64_t>(s) | (failures << failures_shift) |
           (static_cast<std::uint64_t>(gen) << gen_shift);
  }
  static constexpr breaker_state state_of(std::uint64_t w) noexcept {
    return static_cast<breaker_state>(w & state_mask);
  }
  static constexpr std::uint64_t failures_of(std::uint64_t w) noexcept {
    return (w >> failures_shift) & failures_max;
  }
  static constexpr std::uint32_t gen_of(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>(w >> gen_shift);
  }

  ticket admit() noexcept {
    // acquire: see P1 (a closed breaker needs nothing more).
    const std::uint64_t w = word_.load(std::memory_order_acquire);
    if (state_of(w) == breaker_state::closed) [[likely]]
      return {gen_of(w), true, false};
    return admit_slow();
  }
  void record(ticket t, bool ok) noexcept {
    if (ok && !t.probe) {
      // relaxed: a success in an unchanged closed state with no failures to reset changes
      // nothing; any other case goes through the lock, which orders it.
      if (word_.load(std::memory_order_relaxed) == pack(breaker_state::closed, 0, t.gen)) [[likely]]
        return;
    }
    record_slow(t, ok);
  }
  [[gnu::noinline]] ticket admit_slow() noexcept;
  [[gnu::noinline]] void record_slow(ticket t, bool ok) noexcept;
  /// Under lock_: opened_at_ = now, then the word goes to open with the next generation.
  void open_locked(std::uint32_t gen) noexcept;

  const int threshold_;
  const std::chrono::nanoseconds cool_down_;
  std::atomic<std::uint64_t> word_{0};          // closed, 0 failures, generation 0; see above
  std::atomic<std::int64_t> opened_at_{0};      // steady_clock ticks; written under lock_; P1
  detail::spin_lock lock_;                      // serialises every change of word_
};

// ============================================================================================
// call_with_timeout
// ============================================================================================

/// Runs f as a weft task (weft::spawn, default runtime) and waits (task-aware) for it at most
/// d. Returns f's outcome as a result (see the file comment), or `timeout` if f is not done
/// by then (an outcome that arrives after the deadline is late even if the caller has not yet
/// noticed the deadline: so a context-taking f that saw err() == timeout always means a
/// `timeout` for the caller). A late task is not stopped: it keeps running and its result is dropped. If f takes
/// a `const context&`, it gets a context whose deadline is now + d, so it sees done() close
/// and err() == timeout when it is late (and can stop early). R = void is supported.
/// Memory ordering: everything before call_with_timeout is visible to f; when the outcome is
/// returned (not `timeout`), everything f did is visible to the caller.
template <class Rep, class Period, class F>
auto call_with_timeout(std::chrono::duration<Rep, Period> d, F f,
                       detail::source_location where = detail::source_location::current())
    -> detail::invoke_with_optional_context_t<F, context> {
  using out = detail::invoke_with_optional_context_t<F, context>;
  const detail::time_point deadline = detail::deadline_after(d);
  auto cell = std::make_shared<detail::timeout_cell<out>>();
  if constexpr (std::is_invocable_v<F&, const context&>) {
    std::pair<context, cancel_fn> c = with_deadline(background(), deadline);
    (void)weft::spawn([cell, deadline, ctx = c.first, fn = std::move(f)]() mutable noexcept {
      cell->set_unless_late(detail::invoke_as_result(fn, std::as_const(ctx)), deadline);
    }, where);
    if (!cell->wait_until(deadline)) return out(status::timeout);  // ctx ends by its deadline
    c.second();  // f is done: release the context's resources
    return cell->take();
  } else {
    (void)weft::spawn([cell, deadline, fn = std::move(f)]() mutable noexcept {
      cell->set_unless_late(detail::invoke_as_result(fn), deadline);
    }, where);
    if (!cell->wait_until(deadline)) return out(status::timeout);
    return cell->take();
  }
}

}  // namespace weft

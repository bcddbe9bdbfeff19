// weft/sync.hpp: coordination of concurrent work: wait_group, group (errgroup), once_value.
//
// - `wait_group`: a counter of outstanding work. add(n) before starting work, done() when each
//   piece ends, wait() blocks until the counter is zero. Use it when the work reports no result.
// - `group`: Go's errgroup. Runs functions as weft tasks that share a cancellable context;
//   the first failure (in time order) cancels that context and is what wait() returns. Use it
//   for "do these N things concurrently, stop everything on the first error".
// - `once_value<T>`: a lazily computed value, computed once and published safely to every
//   reader; a failed computation (an exception) is retried by the next caller.
//
// Threads vs tasks: every blocking call here (wait, wait_for, group::spawn waiting for a slot,
// group::wait, once_value::get waiting for another caller's init) works from OS threads and
// from weft tasks; a blocked task parks its fiber, never its worker thread.
// Allocation: wait_group and once_value::get never allocate (once_value's constructor stores
// `init`, which may allocate). group::spawn allocates what weft::spawn allocates for a task.
// Misuse throws weft::error naming the call and its call site: a wait_group counter that would
// go negative (code `failed`), group::spawn after group::wait (code `closed`), set_limit(0).
//
//   weft::group g;                      // ctx() is a child of background()
//   g.set_limit(8);                     // at most 8 fetches at once
//   for (auto& url : urls)
//     g.spawn([&, url](const weft::context& ctx) { return fetch(ctx, url); });  // -> status
//   if (auto r = g.wait(); !r) std::cerr << "first failure: " << r.code() << '\n';
//
//   static weft::once_value<config> cfg([] { return load_config("app.toml"); });
//   const config& c = cfg.get();        // loads once; every caller sees the loaded config
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/context.hpp>
#include <weft/detail/chan_state.hpp>  // detail::deadline_after
#include <weft/detail/source_location.hpp>
#include <weft/detail/sync_invoke.hpp>
#include <weft/detail/sync_wait_list.hpp>
#include <weft/spawn.hpp>
#include <weft/status.hpp>

namespace weft {

// ============================================================================================
// wait_group
// ============================================================================================

/// Waits for a set of operations to finish. The counter starts at zero; add(n) raises it,
/// done() lowers it by one, wait() returns once it is zero. Reusable: after it reached zero,
/// add() starts a new round (waiters of the old round have all been released).
///
/// Not copyable or movable. May be destroyed as soon as every wait() has returned, even while
/// the done() that released them is still returning (that done() no longer touches it).
///
/// Word layout (word_): bits 63..32 the counter (0..INT32_MAX), bits 31..0 the number of
/// callers linked in list_ (blocked in wait/wait_for).
/// Invariants:
///   W1  word_'s waiter count equals the number of waiters linked in list_; it changes only
///       under list_'s lock (registration, timed-out unlink, and the release below).
///   W2  A decrement that takes the counter to zero while waiters are counted happens under
///       list_'s lock, sets the whole word to zero and empties list_ in the same critical
///       section (notify_all_if). Every other decrement is a lock-free CAS that leaves no
///       waiter behind (it reaches zero only when no waiter is counted).
///   W3  A done()/add(-n) touches *this after its decrement only in case W2, and then only
///       under the lock that the released waiters need before they can return (I3 of
///       sync_wait_list.hpp): so wait() returning lets the caller destroy the wait_group.
/// Orderings:
///   P1  every decrement is a CAS(acq_rel); wait()'s load(acquire) that reads zero reads the
///       end of a release sequence containing every decrement of the round, so it
///       synchronises with every done(). A blocked waiter is woken through the list (P2 of
///       sync_wait_list.hpp) by the final decrement, which acquired all the earlier ones.
class wait_group {
 public:
  wait_group() noexcept = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  /// Adds n to the counter (n may be negative: add(-k) is k done()s at once). Throws
  /// weft::error (code `failed`) and leaves the counter unchanged if the counter would go
  /// below zero or above INT32_MAX. Never blocks.
  /// Memory ordering: a negative add() is ordered like done().
  void add(int n = 1, detail::source_location where = detail::source_location::current()) {
    if (n > 0)
      add_positive(static_cast<std::uint64_t>(n), where);
    else if (n < 0)
      remove(static_cast<std::uint64_t>(-static_cast<std::int64_t>(n)), "wait_group::add(n < 0)", where);
  }

  /// Lowers the counter by one, waking every waiter when it reaches zero. Throws weft::error
  /// (code `failed`) and leaves the counter unchanged if it is already zero. Never blocks
  /// (it may spin on a lock held for a few instructions).
  /// Memory ordering: everything a thread or task did before calling done() is visible to any
  /// thread or task after its wait() (or a wait_for() that returned true) returns.
  void done(detail::source_location where = detail::source_location::current()) {
    remove(1, "wait_group::done()", where);
  }

  /// Blocks until the counter is zero; returns at once if it is. Task-aware.
  /// Memory ordering: see done().
  void wait() { (void)wait_until(detail::no_deadline); }

  /// As wait(), for at most d. Returns true if the counter reached zero, false on timeout.
  /// wait_for(0s) polls. Memory ordering (when true): see done().
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    return wait_until(detail::deadline_after(d));
  }

  /// As wait(), until t. Returns true if the counter reached zero, false on timeout.
  /// Memory ordering (when true): see done().
  bool wait_until(std::chrono::steady_clock::time_point t) {
    // acquire: reading zero synchronises with every done() of the round; P1.
    if (counter_of(word_.load(std::memory_order_acquire)) == 0) [[likely]]
      return true;
    return wait_slow(t);
  }

  /// The counter now (a snapshot for diagnostics and tests; it may change at once).
  int count() const noexcept {
    // relaxed: a snapshot; nothing is read through it.
    return static_cast<int>(counter_of(word_.load(std::memory_order_relaxed)));
  }

 private:
  static constexpr std::uint64_t one_count = std::uint64_t{1} << 32;
  static constexpr std::uint64_t waiter_mask = one_count - 1;
  static constexpr std::uint64_t max_count = 0x7fffffff;  // INT32_MAX: count() fits an int
  static_assert((max_count << 32) >> 32 == max_count, "the counter fits in the upper 32 bits");
  static constexpr std::uint64_t counter_of(std::uint64_t w) noexcept { return w >> 32; }
  static constexpr std::uint64_t waiters_of(std::uint64_t w) noexcept { return w & waiter_mask; }

  void add_positive(std::uint64_t n, detail::source_location where);
  /// Lowers the counter by k (done(), add(-k)).
  void remove(std::uint64_t k, const char* op, detail::source_location where) {
    // relaxed: only the starting guess for the CAS below, which orders.
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t c = counter_of(w);
      if (c < k) [[unlikely]]
        throw_negative(op, where);
      if (c == k && waiters_of(w) != 0) {
        if (release_waiters(k)) return;  // W2
        w = word_.load(std::memory_order_relaxed);  // relaxed: as above, a new guess
        continue;
      }
      // acq_rel: release publishes what this caller did before done() to wait(); acquire makes
      // a final decrement carry the earlier ones to the waiters it wakes; P1.
      if (word_.compare_exchange_weak(w, w - k * one_count, std::memory_order_acq_rel,
                                      std::memory_order_relaxed))
        return;
    }
  }
  /// W2: under the lock, if the counter is still exactly k with waiters counted, zero the word
  /// and wake them all (true); otherwise change nothing (false: the caller retries).
  [[gnu::noinline]] bool release_waiters(std::uint64_t k) noexcept;
  [[gnu::noinline]] bool wait_slow(std::chrono::steady_clock::time_point t);
  [[noreturn, gnu::cold, gnu::noinline]] static void throw_negative(const char* op,
                                                                    detail::source_location where);

  std::atomic<std::uint64_t> word_{0};  // counter and waiter count; see the layout above
  detail::wait_list list_;              // blocked waiters of the current round; W1
};

// ============================================================================================
// group
// ============================================================================================

/// An error group: tasks that share a context, where the first failure cancels the rest.
///
/// spawn(f) runs `f(const context&)` (or `f()`) as a weft task (weft::spawn on the default
/// runtime), with ctx() as its argument. f may return void, status or result<void>, or throw:
/// a non-ok status or result, or an exception (status `failed`, the exception kept), is a
/// failure. The first failure to happen (in time order) is kept and cancels ctx(); later
/// ones are dropped. wait() waits for every task, cancels ctx() and returns the kept failure,
/// or ok. A task may spawn more tasks into its own group while wait() is waiting.
///
/// set_limit(n) bounds how many tasks run at once: spawn() then blocks (task-aware) until a
/// slot is free, try_spawn() returns false instead. A task that spawns into its own group
/// while every slot is taken waits for a slot it may be holding: do not do that with a limit.
///
/// A group is used once: spawn/try_spawn after wait() has returned throw weft::error (code
/// `closed`). ~group() waits for the tasks if wait() was not called (and drops any failure).
/// Not copyable or movable (its tasks refer to it).
///
/// Invariants:
///   G1  wg_ counts tasks started (spawn's add) and not yet finished (finish()'s done()); a
///       task touches *this last in that done() (W3 of wait_group).
///   G2  active_ counts held slots; a slot is taken before a task is started and given back in
///       finish() before done(). active_ may exceed limit_ only after set_limit lowered it.
///   G3  first_ is written once, by the task whose exchange on has_failure_ won, before its
///       done(); it is read only after wg_.wait() returned.
/// Orderings:
///   P1  finish(): first_ written, then wg_.done() -> wg_.wait() in wait(): first_ visible
///       (wait_group's done()/wait() guarantee).
///   P2  slot hand-over: release_slot()'s fetch_sub happens before it takes slots_'s lock; a
///       spawner re-checks active_ under that lock before it parks, so no release is missed.
class group {
 public:
  /// No limit (the default).
  static constexpr std::size_t no_limit = static_cast<std::size_t>(-1);

  /// ctx() becomes a child of `parent` (with_cancel): cancelling the parent cancels it.
  explicit group(const context& parent = background());
  group(const group&) = delete;
  group& operator=(const group&) = delete;
  /// Waits for every task if wait() was not called, then cancels ctx().
  ~group();

  /// At most n tasks run at once (n >= 1; group::no_limit for none). Lowering it does not
  /// stop running tasks; raising it lets waiting spawn() calls through. Throws weft::error
  /// (code `failed`) for n == 0. Any thread, any time.
  void set_limit(std::size_t n, detail::source_location where = detail::source_location::current());

  /// Runs f as a task, waiting for a slot if the limit is reached (task-aware). Throws
  /// weft::error (closed) after wait(); whatever weft::spawn throws (nothing is started then).
  /// Memory ordering: everything before spawn() is visible to f; everything f did is visible
  /// after wait() returns (and after ~group()).
  template <class F>
  void spawn(F f, detail::source_location where = detail::source_location::current()) {
    check_not_waited("group::spawn after wait()", where);
    acquire_slot();
    start(std::move(f), where);
  }

  /// As spawn(), but returns false (and does not run f) instead of waiting for a slot.
  /// Memory ordering: as spawn() when it returns true.
  template <class F>
  bool try_spawn(F f, detail::source_location where = detail::source_location::current()) {
    check_not_waited("group::try_spawn after wait()", where);
    if (!try_acquire_slot()) return false;
    start(std::move(f), where);
    return true;
  }

  /// Waits for every task (task-aware), cancels ctx(), and returns the first failure in time
  /// order (`failed` with the exception if a task threw), or ok. Calling it again returns the
  /// same outcome at once.
  /// Memory ordering: everything every task did is visible after wait() returns.
  result<void> wait();

  /// The group's context: cancelled by the first failure, by wait(), or by the parent.
  const context& ctx() const noexcept { return ctx_; }

 private:
  explicit group(std::pair<context, cancel_fn> c);

  template <class F>
  static result<void> run_task(F f, const context& ctx) {
    using out = detail::invoke_with_optional_context_t<F, context>;
    static_assert(std::is_same_v<out, result<void>>,
                  "group::spawn: f(const context&) (or f()) must return void, status or result<void>");
    return detail::invoke_with_optional_context(f, ctx);  // f is destroyed on return, before finish()
  }

  template <class F>
  void start(F f, detail::source_location where) {
    wg_.add(1);
    try {
      // The future is dropped: completion is tracked by wg_ (G1); destroying it never blocks.
      // The task's spawn site (dump_blocked) is the caller of group::spawn, not this line.
      (void)weft::spawn(
          [this, fn = std::move(f)]() mutable noexcept {
            result<void> r = run_task(std::move(fn), ctx_);
            finish(std::move(r));
          },
          where);
    } catch (...) {
      release_slot();
      wg_.done();
      throw;
    }
  }

  void check_not_waited(const char* op, detail::source_location where) const;
  bool try_acquire_slot() noexcept;
  void acquire_slot();
  void release_slot() noexcept;
  /// A task's last act: keep its failure if first, give its slot back, wg_.done() (G1-G3).
  void finish(result<void>&& r) noexcept;

  context ctx_;
  cancel_fn cancel_;
  wait_group wg_;                               // tasks started, not finished; G1
  std::atomic<std::size_t> limit_{no_limit};    // set_limit; read by spawners
  std::atomic<std::size_t> active_{0};          // slots held; G2
  detail::wait_list slots_;                     // spawners waiting for a slot; P2
  std::atomic<bool> has_failure_{false};        // first failing task wins the exchange; G3
  result<void> first_;                          // G3
  std::atomic<bool> waited_{false};             // set by wait() after its tasks finished
};

// ============================================================================================
// once_value
// ============================================================================================

/// A value computed on first use, once, and safely published to every reader.
///
/// The first get() runs `init()`; callers arriving while it runs wait (task-aware) and then
/// read the same object. If init throws, that caller gets the exception, the waiting callers
/// try again (one of them runs init next), and so does the next get(). Once the value is
/// published, get() is a single acquire load. init is destroyed once the value is published.
/// init must not call get() on the same once_value (it would wait for itself).
///
/// State word (state_):
///   empty    no value and nobody computing: a get() may CAS it to running.
///   running  one caller (the one whose CAS won) runs init; others wait in waiters_.
///   ready    storage_.value is constructed and immutable; readers read it without synchronisation
///            beyond the acquire load that saw `ready`.
/// Orderings:
///   P1  run_init(): the value constructed, then state_.store(ready, release) -> get()'s
///       load(acquire) that sees ready: init's writes (and the value) are visible to the reader.
///   P2  a waiter re-checks state_ under waiters_'s lock before it parks; run_init changes
///       state_ before notify_all takes that lock: no wake-up is lost.
template <class T>
class once_value {
  static_assert(!std::is_reference_v<T> && !std::is_void_v<T>, "once_value<T>: T must be an object type");

 public:
  /// Stores init (T init()); it runs on the first get().
  template <class F>
    requires std::is_invocable_v<F&> && std::is_constructible_v<T, std::invoke_result_t<F&>>
  explicit once_value(F init) : init_(std::make_unique<init_holder<F>>(std::move(init))) {}
  once_value(const once_value&) = delete;
  once_value& operator=(const once_value&) = delete;
  ~once_value() {
    // relaxed: destruction requires that no get() runs concurrently (the caller synchronised).
    if (state_.load(std::memory_order_relaxed) == state::ready) storage_.value.~T();
  }

  /// The value, computing it first if nobody has. Waits (task-aware) while another caller
  /// computes it. Rethrows init's exception to the caller that ran it.
  /// Memory ordering: everything init did (and the value it returned) is visible to every
  /// caller of get() after it returns.
  const T& get() {
    // acquire: seeing ready makes the value and init's writes visible; P1.
    if (state_.load(std::memory_order_acquire) == state::ready) [[likely]]
      return storage_.value;
    return get_slow();
  }

  /// True once the value is published (a later get() returns at once). Never blocks.
  /// Memory ordering: when true, as get().
  bool has_value() const noexcept {
    // acquire: as in get(); P1.
    return state_.load(std::memory_order_acquire) == state::ready;
  }

 private:
  enum class state : std::uint8_t { empty, running, ready };

  struct init_base {
    virtual ~init_base() = default;
    virtual T call() = 0;
  };
  template <class F>
  struct init_holder final : init_base {
    explicit init_holder(F f) : f_(std::move(f)) {}
    T call() override { return T(f_()); }
    F f_;
  };

  [[gnu::noinline]] const T& get_slow() {
    for (;;) {
      state s = state::empty;
      // acquire (success): a retry after a failed init sees that init's writes, like a
      // mutex; (failure) seeing ready makes the value visible; P1.
      if (state_.compare_exchange_strong(s, state::running, std::memory_order_acquire,
                                         std::memory_order_acquire)) {
        run_init();
        return storage_.value;
      }
      if (s == state::ready) return storage_.value;
      // running: wait for the running caller to publish or to fail.
      detail::note_blocking("once_value.wait", this);  // for dump_blocked
      (void)waiters_.wait_until(
          [this]() noexcept {
            // acquire: as in get(); under waiters_'s lock, so P2 holds.
            return state_.load(std::memory_order_acquire) != state::running;
          },
          []() noexcept {}, detail::no_deadline);
      detail::note_unblocked();
    }
  }

  void run_init() {
    try {
      ::new (static_cast<void*>(std::addressof(storage_.value))) T(init_->call());
    } catch (...) {
      // release: the next caller's CAS(acquire) sees what the failed init did; P1.
      state_.store(state::empty, std::memory_order_release);
      waiters_.notify_all();  // P2: they retry; one of them runs init next
      throw;
    }
    init_.reset();  // only the running caller touches init_, and nobody will again
    // release: the value and init's writes become visible with `ready`; P1.
    state_.store(state::ready, std::memory_order_release);
    waiters_.notify_all();  // P2
  }

  std::atomic<state> state_{state::empty};  // see the state word above
  detail::wait_list waiters_;               // callers waiting while state_ == running
  std::unique_ptr<init_base> init_;         // touched only by the caller that set running
  union storage {
    storage() noexcept {}
    ~storage() {}
    T value;  // constructed iff state_ == ready
  } storage_;
};

template <class F>
once_value(F) -> once_value<std::remove_cvref_t<std::invoke_result_t<F&>>>;

}  // namespace weft

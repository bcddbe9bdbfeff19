// weft/oneshot.hpp: a one-shot promise/future channel: one value (or failure) from one producer
// to one consumer. It is what spawn() and actor asks return results through.
//
//   auto [p, f] = weft::make_oneshot<int>();
//   std::thread t([p = std::move(p)]() mutable { p.set_value(42); });
//   weft::result<int> r = f.get();        // ok(42); or broken if p died unset; failed on exception
//
// Semantics: get() takes the outcome: after it returned a value, `broken` or `failed`, a later
// get()/try_get() returns `closed`. A promise destroyed without a value completes its future with
// `broken`. A value set after the future is gone is destroyed, not leaked. Destroying an unread
// future never blocks. try_get() returns `empty` while pending. A future is usable in select
// (on_recv(fut, f)). Setting a promise twice throws weft::error (code closed).
//
// Threads and tasks: get() parks the calling thread or task. Allocation: make_oneshot takes the
// shared state (<weft/detail/oneshot_state.hpp>: one state word, the outcome, a waker list) from
// a per-thread free list, so nothing is allocated in steady state; set/get never allocate.
// Memory ordering: everything before set_value()/set_exception() happens-before the get() that
// returns that outcome.
#pragma once

#include <chrono>
#include <exception>
#include <type_traits>
#include <utility>

#include <weft/chan.hpp>
#include <weft/detail/oneshot_state.hpp>
#include <weft/select.hpp>

namespace weft {

template <class T> class promise;
template <class T> class future;
template <class T>
std::pair<promise<T>, future<T>> make_oneshot();

namespace detail {
[[noreturn, gnu::cold, gnu::noinline]] void throw_promise_misuse(const char* what);
}  // namespace detail

/// The producing side: set it once (value or exception); destroying it unset gives `broken`.
template <class T>
class promise {
 public:
  promise() noexcept = default;
  promise(promise&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  promise& operator=(promise&& o) noexcept {
    if (this != &o) {
      abandon();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~promise() { abandon(); }

  /// Memory ordering: see the header comment.
  template <class U = T>
    requires(!std::is_void_v<T> && std::is_constructible_v<T, U &&>)
  void set_value(U&& v) {
    state("promise set twice (or moved from)")->complete(T(std::forward<U>(v)));
    s_ = nullptr;
  }
  void set_value()
    requires std::is_void_v<T>
  {
    state("promise set twice (or moved from)")->complete();
    s_ = nullptr;
  }
  void set_exception(std::exception_ptr e) {
    state("promise set twice (or moved from)")->complete(std::move(e));
    s_ = nullptr;
  }
  /// Completes the future with a non-ok status (e.g. `full` for an ask refused by a bounded
  /// mailbox). Precondition: s != ok (throws weft::error otherwise).
  void set_status(status s) {
    if (s == status::ok) detail::throw_promise_misuse("promise::set_status(ok): use set_value");
    state("promise set twice (or moved from)")->complete(s);
    s_ = nullptr;
  }
  /// True until set or moved from.
  bool valid() const noexcept { return s_ != nullptr; }

 private:
  friend std::pair<promise<T>, future<T>> make_oneshot<T>();
  explicit promise(detail::oneshot_state<T>* s) noexcept : s_(s) {}
  detail::oneshot_state<T>* state(const char* misuse) const {
    if (s_ == nullptr) detail::throw_promise_misuse(misuse);
    return s_;
  }
  void abandon() noexcept {
    if (s_ == nullptr) return;
    // result(status) of a non-ok status does not throw.
    std::exchange(s_, nullptr)->complete(status::broken);
  }
  detail::oneshot_state<T>* s_ = nullptr;
};

/// The consuming side. Move-only; get() takes the outcome once.
template <class T>
class future {
 public:
  using value_type = T;
  future() noexcept = default;
  future(future&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  future& operator=(future&& o) noexcept {
    if (this != &o) {
      drop();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~future() { drop(); }

  /// Blocks for the outcome: the value, broken, or failed; closed once taken.
  result<T> get() { return state("future::get")->wait_take(detail::no_deadline, "future::get"); }
  template <class Rep, class Period>
  result<T> get_for(std::chrono::duration<Rep, Period> d) {
    detail::oneshot_state<T>* s = state("future::get_for");
    return s->wait_take(detail::deadline_after(d), "future::get_for");
  }
  result<T> get_until(std::chrono::steady_clock::time_point t) {
    return state("future::get_until")->wait_take(t, "future::get_until");
  }
  /// empty while pending.
  result<T> try_get() { return state("future::try_get")->try_take(); }
  bool valid() const noexcept { return s_ != nullptr; }

  /// Internal (select): the shared state behind the future.
  detail::oneshot_state<T>* shared_state(const char* op) { return state(op); }

 private:
  friend std::pair<promise<T>, future<T>> make_oneshot<T>();
  explicit future(detail::oneshot_state<T>* s) noexcept : s_(s) {}
  detail::oneshot_state<T>* state(const char* op) const {
    if (s_ == nullptr) detail::throw_moved_from(op);
    return s_;
  }
  void drop() noexcept {
    if (s_ != nullptr) std::exchange(s_, nullptr)->drop_future();
  }
  detail::oneshot_state<T>* s_ = nullptr;
};

/// A connected promise/future pair.
template <class T>
std::pair<promise<T>, future<T>> make_oneshot() {
  detail::oneshot_state<T>* s = detail::oneshot_state<T>::make();
  return {promise<T>(s), future<T>(s)};
}

/// Select case on a future: f(result<T>&&) with the value, broken, failed, or closed (taken).
template <class T, class F>
detail::future_case<T, std::decay_t<F>> on_recv(future<T>& fut, F&& f) {
  static_assert(std::is_invocable_v<std::decay_t<F>&, result<T>&&>, "on_recv(future): the callback must accept weft::result<T>&&");
  return detail::future_case<T, std::decay_t<F>>(fut.shared_state("select on_recv(future)"), std::forward<F>(f));
}

}  // namespace weft

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
// Threads and tasks: get() parks the calling thread or task. Allocation: make_oneshot allocates
// the shared state (a capacity-1 channel); set/get do not allocate.
// Memory ordering: everything before set_value()/set_exception() happens-before the get() that
// returns that outcome.
#pragma once

#include <chrono>
#include <exception>
#include <type_traits>
#include <utility>

#include <weft/chan.hpp>
#include <weft/select.hpp>

namespace weft {

template <class T> class promise;
template <class T> class future;
template <class T>
std::pair<promise<T>, future<T>> make_oneshot();

namespace detail {
/// What travels through a oneshot's channel: the outcome (value, failed, broken).
template <class T>
using oneshot_item = result<T>;
[[noreturn, gnu::cold, gnu::noinline]] void throw_promise_misuse(const char* what);
}  // namespace detail

/// The producing side: set it once (value or exception); destroying it unset gives `broken`.
template <class T>
class promise {
 public:
  promise() noexcept = default;
  promise(promise&&) noexcept = default;
  promise& operator=(promise&& o) noexcept {
    if (this != &o) {
      abandon();
      tx_ = std::move(o.tx_);
    }
    return *this;
  }
  ~promise() { abandon(); }

  /// Memory ordering: see the header comment.
  template <class U = T>
    requires(!std::is_void_v<T> && std::is_constructible_v<T, U &&>)
  void set_value(U&& v) {
    complete(detail::oneshot_item<T>(T(std::forward<U>(v))));
  }
  void set_value()
    requires std::is_void_v<T>
  {
    complete(detail::oneshot_item<T>());
  }
  void set_exception(std::exception_ptr e) { complete(detail::oneshot_item<T>(std::move(e))); }
  /// Completes the future with a non-ok status (e.g. `full` for an ask refused by a bounded
  /// mailbox). Precondition: s != ok (throws weft::error otherwise).
  void set_status(status s) {
    if (s == status::ok) detail::throw_promise_misuse("promise::set_status(ok): use set_value");
    complete(detail::oneshot_item<T>(s));
  }
  /// True until set or moved from.
  bool valid() const noexcept { return static_cast<bool>(tx_); }

 private:
  friend std::pair<promise<T>, future<T>> make_oneshot<T>();
  explicit promise(sender<detail::oneshot_item<T>> tx) noexcept : tx_(std::move(tx)) {}
  void complete(detail::oneshot_item<T>&& item) {
    if (!tx_) detail::throw_promise_misuse("promise set twice (or moved from)");
    // Capacity 1 and only ever one send: never full. closed means the future is gone: the item
    // is destroyed here, not leaked.
    (void)tx_.try_send(std::move(item));
    sender<detail::oneshot_item<T>> drop(std::move(tx_));  // closes: the future sees no more
  }
  void abandon() noexcept {
    if (!tx_) return;
    (void)tx_.try_send(detail::oneshot_item<T>(status::broken));
    sender<detail::oneshot_item<T>> drop(std::move(tx_));
  }
  sender<detail::oneshot_item<T>> tx_;
};

/// The consuming side. Move-only; get() takes the outcome once.
template <class T>
class future {
 public:
  using value_type = T;
  future() noexcept = default;
  future(future&&) noexcept = default;
  future& operator=(future&&) noexcept = default;

  /// Blocks for the outcome: the value, broken, or failed; closed once taken.
  result<T> get() { return take(rx().recv()); }
  template <class Rep, class Period>
  result<T> get_for(std::chrono::duration<Rep, Period> d) {
    return take(rx().recv_for(d));
  }
  result<T> get_until(std::chrono::steady_clock::time_point t) { return take(rx().recv_until(t)); }
  /// empty while pending.
  result<T> try_get() { return take(rx().try_recv()); }
  bool valid() const noexcept { return static_cast<bool>(rx_); }

  /// Internal (select): the channel behind the future, and marking the outcome taken.
  receiver<detail::oneshot_item<T>>& channel() { return rx(); }

 private:
  friend std::pair<promise<T>, future<T>> make_oneshot<T>();
  explicit future(receiver<detail::oneshot_item<T>> rx) noexcept : rx_(std::move(rx)) {}
  receiver<detail::oneshot_item<T>>& rx() {
    if (!rx_) detail::throw_moved_from("future::get");
    return rx_;
  }
  static result<T> take(result<detail::oneshot_item<T>>&& r) {
    if (r) return std::move(*r);
    // closed: the outcome was taken already (the promise always sends one before closing).
    return r.code();
  }
  receiver<detail::oneshot_item<T>> rx_;
};

/// A connected promise/future pair.
template <class T>
std::pair<promise<T>, future<T>> make_oneshot() {
  chan<detail::oneshot_item<T>> c = make_chan<detail::oneshot_item<T>>(1);
  return {promise<T>(std::move(c.tx)), future<T>(std::move(c.rx))};
}

namespace detail {
template <class T, class F>
struct future_callback {
  F f;
  void operator()(result<oneshot_item<T>>&& r) {
    if (r) f(std::move(*r));
    else f(result<T>(r.code()));
  }
};
}  // namespace detail

/// Select case on a future: f(result<T>&&) with the value, broken, failed, or closed (taken).
template <class T, class F>
detail::recv_case<detail::oneshot_item<T>, detail::future_callback<T, std::decay_t<F>>> on_recv(future<T>& fut, F&& f) {
  static_assert(std::is_invocable_v<std::decay_t<F>&, result<T>&&>, "on_recv(future): the callback must accept weft::result<T>&&");
  return detail::recv_case<detail::oneshot_item<T>, detail::future_callback<T, std::decay_t<F>>>(
      fut.channel(), detail::future_callback<T, std::decay_t<F>>{std::forward<F>(f)});
}

}  // namespace weft

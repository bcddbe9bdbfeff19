// weft/select.hpp: wait on several channel operations at once; exactly one fires.
//
// select() takes cases and blocks until one of them fires, runs that case's callback, and
// returns its index. selector is the same over a set of cases built at run time.
//
//   weft::select(
//       weft::on_recv(quotes, [&](weft::result<quote>&& q) { if (q) book.update(*q); }),
//       weft::on_send(orders_tx, next_order, [&](weft::status s) { sent = s == weft::status::ok; }),
//       weft::on_done(ctx, [&] { stop = true; }),
//       weft::on_timeout(5ms, [&] { heartbeat(); }));
//
// Semantics: when several cases are ready, one is chosen uniformly at random. Exactly one case
// fires; the others have no effect: a send case that did not fire did not send, and its value
// stays in the select. on_timeout/on_deadline fire only when nothing else fired by then;
// otherwise() makes the select non-blocking (it fires when nothing was ready at once).
// on_recv's callback gets a value or `closed`; on_send's gets ok or `closed`.
//
// Threads and tasks: a blocked select parks its thread (after a short adaptive spin) or its
// task's fiber. Allocation: select() allocates nothing; a selector allocates as cases are added.
// Memory ordering: as the underlying send/recv (see chan.hpp) for the case that fired.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/chan.hpp>
#include <weft/context.hpp>
#include <weft/detail/select_engine.hpp>
#include <weft/detail/trace.hpp>

namespace weft {

namespace detail {

template <class T>
chan_state<T>* checked_state(const receiver<T>* rx) {
  chan_state<T>* s = state_of(*rx);
  if (s == nullptr) throw_moved_from("select on_recv");
  return s;
}
template <class T>
chan_state<T>* checked_state(const sender<T>* tx) {
  chan_state<T>* s = state_of(*tx);
  if (s == nullptr) throw_moved_from("select on_send");
  return s;
}

template <class T, class F>
class recv_case final : public select_case {
 public:
  recv_case(receiver<T>& rx, F f) : rx_(&rx), f_(std::move(f)) {}
  case_kind kind() const noexcept override { return case_kind::channel; }
  bool try_fire(const waiter*) override {
    out_ = do_try_recv(checked_state(rx_));
    return out_.code() != status::empty;
  }
  void register_entry(waker_entry& e) override {
    chan_state<T>* s = checked_state(rx_);
    switch (s->kind()) {
      case flavor::bounded: static_cast<bounded_chan<T>*>(s)->receivers().register_entry(e); return;
      case flavor::unbounded: static_cast<unbounded_chan<T>*>(s)->receivers().register_entry(e); return;
      case flavor::rendezvous:
        // relaxed: the packet is not shared until the entry is linked (under the channel lock).
        packet_.ready.store(false, std::memory_order_relaxed);
        e.packet = &packet_;
        static_cast<rendezvous_chan<T>*>(s)->register_receiver_always(e);
        return;
      case flavor::special: static_cast<special_chan<T>*>(s)->register_entry(e); return;
    }
  }
  void unregister_entry(waker_entry& e) override {
    chan_state<T>* s = checked_state(rx_);
    switch (s->kind()) {
      case flavor::bounded: static_cast<bounded_chan<T>*>(s)->receivers().unregister_entry(e); return;
      case flavor::unbounded: static_cast<unbounded_chan<T>*>(s)->receivers().unregister_entry(e); return;
      case flavor::rendezvous: static_cast<rendezvous_chan<T>*>(s)->unregister_receiver(e); return;
      case flavor::special: static_cast<special_chan<T>*>(s)->unregister_entry(e); return;
    }
  }
  bool is_ready(const waiter& self) override {
    chan_state<T>* s = checked_state(rx_);
    switch (s->kind()) {
      case flavor::bounded: return static_cast<bounded_chan<T>*>(s)->recv_ready();
      case flavor::unbounded: return static_cast<unbounded_chan<T>*>(s)->recv_ready();
      case flavor::rendezvous: return static_cast<rendezvous_chan<T>*>(s)->recv_ready(&self);
      case flavor::special: return static_cast<special_chan<T>*>(s)->is_ready();
    }
    return true;
  }
  bool complete_selected(waker_entry&, const waiter&) override {
    chan_state<T>* s = checked_state(rx_);
    if (s->kind() == flavor::rendezvous) {
      out_ = rendezvous_chan<T>::finish_recv(packet_);
      return out_.code() != status::empty;  // empty: the sender's move threw; retry the select
    }
    return try_fire(nullptr);
  }
  time_point ready_at() noexcept override {
    chan_state<T>* s = state_of(*rx_);
    if (s != nullptr && s->kind() == flavor::special) return static_cast<special_chan<T>*>(s)->ready_at();
    return no_deadline;
  }
  void fire() override {
    if (trace_chan_on()) [[unlikely]]
      trace_record_op(trace_kind::recv, state_of(*rx_), static_cast<std::uint64_t>(out_.code()) | trace_select_bit);
    f_(std::move(out_));
  }

 private:
  receiver<T>* rx_;
  F f_;
  result<T> out_{status::empty};
  rendezvous_packet<T> packet_;
};

template <class T, class F>
class send_case final : public select_case {
 public:
  send_case(sender<T>& tx, T v, F f) : tx_(&tx), f_(std::move(f)) { value_.emplace(std::move(v)); }
  case_kind kind() const noexcept override { return case_kind::channel; }
  bool exhausted() const noexcept override { return fired_; }
  bool try_fire(const waiter*) override {
    const status st = do_try_send(checked_state(tx_), *value_);
    if (st == status::full) return false;
    out_ = st;
    return true;
  }
  void register_entry(waker_entry& e) override {
    chan_state<T>* s = checked_state(tx_);
    switch (s->kind()) {
      case flavor::bounded: static_cast<bounded_chan<T>*>(s)->senders().register_entry(e); return;
      case flavor::rendezvous:
        packet_.src = &*value_;
        // relaxed: not shared until linked under the channel lock.
        packet_.ready.store(false, std::memory_order_relaxed);
        e.packet = &packet_;
        static_cast<rendezvous_chan<T>*>(s)->register_sender_always(e);
        return;
      case flavor::unbounded:  // never full: nothing to wait for
      case flavor::special: return;
    }
  }
  void unregister_entry(waker_entry& e) override {
    chan_state<T>* s = checked_state(tx_);
    switch (s->kind()) {
      case flavor::bounded: static_cast<bounded_chan<T>*>(s)->senders().unregister_entry(e); return;
      case flavor::rendezvous: static_cast<rendezvous_chan<T>*>(s)->unregister_sender(e); return;
      case flavor::unbounded:
      case flavor::special: return;
    }
  }
  bool is_ready(const waiter& self) override {
    chan_state<T>* s = checked_state(tx_);
    switch (s->kind()) {
      case flavor::bounded: return static_cast<bounded_chan<T>*>(s)->send_ready();
      case flavor::rendezvous: return static_cast<rendezvous_chan<T>*>(s)->send_ready(&self);
      case flavor::unbounded:
      case flavor::special: return true;
    }
    return true;
  }
  bool complete_selected(waker_entry&, const waiter&) override {
    chan_state<T>* s = checked_state(tx_);
    if (s->kind() == flavor::rendezvous) {
      rendezvous_chan<T>::finish_send(packet_);
      out_ = status::ok;
      return true;
    }
    return try_fire(nullptr);
  }
  void fire() override {
    fired_ = true;
    if (trace_chan_on()) [[unlikely]]
      trace_record_op(trace_kind::send, state_of(*tx_), static_cast<std::uint64_t>(out_) | trace_select_bit);
    f_(out_);
  }

 private:
  sender<T>* tx_;
  F f_;
  std::optional<T> value_;
  status out_ = status::full;
  bool fired_ = false;
  rendezvous_packet<T> packet_;
};

template <class F>
class done_case final : public select_case {
 public:
  done_case(const context& ctx, F f) : ctx_(ctx), s_(state_of(ctx_)), f_(std::move(f)) {}
  case_kind kind() const noexcept override { return case_kind::channel; }
  bool try_fire(const waiter*) override { return s_ != nullptr && s_->err() != status::ok; }
  void register_entry(waker_entry& e) override {
    if (s_ != nullptr) s_->waiters().register_entry(e);
  }
  void unregister_entry(waker_entry& e) override {
    if (s_ != nullptr) s_->waiters().unregister_entry(e);
  }
  bool is_ready(const waiter&) override { return try_fire(nullptr); }
  bool complete_selected(waker_entry&, const waiter&) override { return try_fire(nullptr); }
  time_point ready_at() noexcept override { return s_ != nullptr ? s_->deadline() : no_deadline; }
  void fire() override { f_(); }

 private:
  context ctx_;  // keeps the state alive for the select's duration
  context_state* s_;
  F f_;
};

template <class F>
class timer_case final : public select_case {
 public:
  timer_case(std::chrono::nanoseconds d, F f) : relative_(true), d_(d), f_(std::move(f)) {}
  timer_case(time_point t, F f) : relative_(false), t_(t), f_(std::move(f)) {}
  case_kind kind() const noexcept override { return case_kind::timer; }
  bool try_fire(const waiter*) override { return false; }
  void register_entry(waker_entry&) override {}
  void unregister_entry(waker_entry&) override {}
  bool is_ready(const waiter&) override { return false; }
  bool complete_selected(waker_entry&, const waiter&) override { return false; }
  time_point timer_deadline(time_point start) noexcept override {
    if (!relative_) return t_;
    if (d_ <= std::chrono::nanoseconds::zero()) return start;
    if (d_ >= no_deadline - start) return no_deadline;
    return start + d_;
  }
  void fire() override { f_(); }

 private:
  bool relative_;
  std::chrono::nanoseconds d_{};
  time_point t_{};
  F f_;
};

template <class F>
class otherwise_case final : public select_case {
 public:
  explicit otherwise_case(F f) : f_(std::move(f)) {}
  case_kind kind() const noexcept override { return case_kind::otherwise; }
  bool try_fire(const waiter*) override { return false; }
  void register_entry(waker_entry&) override {}
  void unregister_entry(waker_entry&) override {}
  bool is_ready(const waiter&) override { return false; }
  bool complete_selected(waker_entry&, const waiter&) override { return false; }
  void fire() override { f_(); }

 private:
  F f_;
};

/// Saturating conversion of any duration to nanoseconds (huge values mean "never").
template <class Rep, class Period>
std::chrono::nanoseconds to_nanos(std::chrono::duration<Rep, Period> d) noexcept {
  using ld = std::chrono::duration<long double, std::nano>;
  const ld x = std::chrono::duration_cast<ld>(d);
  if (x >= ld(static_cast<long double>(std::chrono::nanoseconds::max().count()))) return std::chrono::nanoseconds::max();
  if (x <= ld(0)) return std::chrono::nanoseconds::zero();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d);
}

}  // namespace detail

/// Receive case: f(result<T>&&) with a value or `closed`.
template <class T, class F>
detail::recv_case<T, std::decay_t<F>> on_recv(receiver<T>& rx, F&& f) {
  static_assert(std::is_invocable_v<std::decay_t<F>&, result<T>&&>, "on_recv: the callback must accept weft::result<T>&&");
  return detail::recv_case<T, std::decay_t<F>>(rx, std::forward<F>(f));
}
/// Send case: sends v only if this case fires; f(status): ok or `closed`.
template <class T, class F>
detail::send_case<T, std::decay_t<F>> on_send(sender<T>& tx, std::type_identity_t<T> v, F&& f) {
  static_assert(std::is_invocable_v<std::decay_t<F>&, status>, "on_send: the callback must accept weft::status");
  return detail::send_case<T, std::decay_t<F>>(tx, std::move(v), std::forward<F>(f));
}
/// Fires f() if nothing else fired within d of the select's start.
template <class Rep, class Period, class F>
detail::timer_case<std::decay_t<F>> on_timeout(std::chrono::duration<Rep, Period> d, F&& f) {
  return detail::timer_case<std::decay_t<F>>(detail::to_nanos(d), std::forward<F>(f));
}
/// Fires f() if nothing else fired by t.
template <class F>
detail::timer_case<std::decay_t<F>> on_deadline(std::chrono::steady_clock::time_point t, F&& f) {
  return detail::timer_case<std::decay_t<F>>(t, std::forward<F>(f));
}
/// Fires f() once ctx is cancelled or past its deadline.
template <class F>
detail::done_case<std::decay_t<F>> on_done(const context& ctx, F&& f) {
  return detail::done_case<std::decay_t<F>>(ctx, std::forward<F>(f));
}
/// Fires f() if no other case was ready at once: a non-blocking select.
template <class F>
detail::otherwise_case<std::decay_t<F>> otherwise(F&& f) {
  return detail::otherwise_case<std::decay_t<F>>(std::forward<F>(f));
}

namespace detail {

/// Tries case `c` once without blocking (channel cases only); fires it on success. The case
/// types are final, so these calls are direct (no virtual dispatch) and inline.
template <class Case>
bool fast_try_case(Case& c) {
  if (c.kind() != case_kind::channel || c.exhausted() || !c.try_fire(nullptr)) return false;
  c.fire();
  return true;
}

template <class Case>
inline constexpr bool is_clock_or_otherwise_case = false;
template <class F>
inline constexpr bool is_clock_or_otherwise_case<timer_case<F>> = true;
template <class F>
inline constexpr bool is_clock_or_otherwise_case<otherwise_case<F>> = true;
template <class Case>
inline constexpr bool is_otherwise_case = false;
template <class F>
inline constexpr bool is_otherwise_case<otherwise_case<F>> = true;

/// The indices of the cases that may complete on a channel (not timers, not otherwise).
template <class... Cases>
constexpr auto channel_case_indices() {
  constexpr bool skip[] = {is_clock_or_otherwise_case<std::remove_cvref_t<Cases>>...};
  constexpr std::size_t m = [&] {
    std::size_t c = 0;
    for (bool b : skip) c += b ? 0 : 1;
    return c;
  }();
  std::array<std::uint32_t, m> out{};
  std::size_t k = 0;
  for (std::size_t i = 0; i < sizeof...(Cases); ++i)
    if (!skip[i]) out[k++] = static_cast<std::uint32_t>(i);
  return out;
}

/// The index of the first otherwise case, or the number of cases.
template <class... Cases>
constexpr std::size_t first_otherwise_index() {
  constexpr bool is[] = {is_otherwise_case<std::remove_cvref_t<Cases>>...};
  for (std::size_t i = 0; i < sizeof...(Cases); ++i)
    if (is[i]) return i;
  return sizeof...(Cases);
}

/// The variadic select's inline first pass: every channel case once, in a uniformly random
/// order, firing the first that completes; returns its index, or n when none could. The engine
/// (run_select) handles the rest (otherwise, timers, spinning, parking); told that this pass
/// was done, it skips its own first pass. The same pass as the engine's, without the virtual
/// calls: this made a select over 4 ready channels 50 -> 31 ns (bench/RESULTS.md).
/// The order is Fisher-Yates drawn lazily (as shuffle_step): the next case is drawn only when
/// the one before could not complete, so a select whose first pick is ready draws once, not
/// m - 1 times with m swaps first (W6 -5 ns/msg, a select over 4 ready channels 30 -> 24 ns:
/// bench/RESULTS.md session 22). The first pick reads no array when the channel cases come
/// first (the usual select): the index drawn is the case's index.
template <std::size_t... I, class... Cases>
std::size_t select_fast_pass(std::index_sequence<I...>, Cases&... cases) {
  constexpr std::size_t n = sizeof...(Cases);
  static constexpr auto chan_idx = channel_case_indices<Cases...>();
  constexpr std::size_t m = chan_idx.size();
  // Dispatch a run-time index to its case: one comparison per case, no table.
  auto try_case = [&](std::uint32_t want) { return ((want == I && fast_try_case(cases)) || ...); };
  if constexpr (m == 0) {
    return n;
  } else {
    constexpr bool identity = chan_idx[m - 1] == m - 1;  // the m channel cases are 0..m-1
    auto order = chan_idx;
    for (std::size_t left = m; left > 0; --left) {
      const std::uint32_t j = left > 1 ? random_below(static_cast<std::uint32_t>(left)) : 0;
      const std::uint32_t want = identity && left == m ? j : order[j];
      order[j] = order[left - 1];
      if (try_case(want)) return want;
    }
    return n;
  }
}

}  // namespace detail

/// Blocks until one case fires; runs its callback; returns its index (0-based, in argument
/// order). A select with no cases throws weft::error.
template <class... Cases>
std::size_t select(Cases&&... cases) {
  static_assert((std::is_base_of_v<detail::select_case, std::remove_cvref_t<Cases>> && ...),
                "weft::select: every argument must be a case (on_recv, on_send, on_timeout, on_deadline, on_done, otherwise)");
  constexpr std::size_t n = sizeof...(Cases);
  if constexpr (n == 0) {
    return detail::run_select(nullptr, 0, nullptr, nullptr);
  } else {
    if (const std::size_t i = detail::select_fast_pass(std::index_sequence_for<Cases...>{}, cases...); i != n)
      return i;
    // Nothing was ready at once: an otherwise case fires now (as the engine would).
    constexpr std::size_t oth = detail::first_otherwise_index<Cases...>();
    if constexpr (oth != n) {
      std::get<oth>(std::forward_as_tuple(cases...)).fire();
      return oth;
    }
    detail::select_case* arr[n] = {static_cast<detail::select_case*>(&cases)...};
    detail::waker_entry entries[n];
    std::uint32_t order[n];
    return detail::run_select(arr, n, entries, order, /*scanned=*/true);
  }
}

/// select over a run-time set of cases. Each adder returns the case's index. wait() fires one
/// case and may be called again: on_timeout counts from the start of each wait(); a send case
/// that fired has no value left and is skipped by later waits; cases may be added between waits.
class selector {
 public:
  template <class T, class F>
  std::size_t on_recv(receiver<T>& rx, F&& f) {
    return add(std::make_unique<detail::recv_case<T, std::decay_t<F>>>(rx, std::forward<F>(f)));
  }
  template <class T, class F>
  std::size_t on_send(sender<T>& tx, std::type_identity_t<T> v, F&& f) {
    return add(std::make_unique<detail::send_case<T, std::decay_t<F>>>(tx, std::move(v), std::forward<F>(f)));
  }
  template <class Rep, class Period, class F>
  std::size_t on_timeout(std::chrono::duration<Rep, Period> d, F&& f) {
    return add(std::make_unique<detail::timer_case<std::decay_t<F>>>(detail::to_nanos(d), std::forward<F>(f)));
  }
  template <class F>
  std::size_t on_deadline(std::chrono::steady_clock::time_point t, F&& f) {
    return add(std::make_unique<detail::timer_case<std::decay_t<F>>>(t, std::forward<F>(f)));
  }
  template <class F>
  std::size_t on_done(const context& ctx, F&& f) {
    return add(std::make_unique<detail::done_case<std::decay_t<F>>>(ctx, std::forward<F>(f)));
  }
  template <class F>
  std::size_t otherwise(F&& f) {
    return add(std::make_unique<detail::otherwise_case<std::decay_t<F>>>(std::forward<F>(f)));
  }
  /// Adds a case built by weft::on_recv(...) etc. (also how futures join a selector).
  template <class Case>
    requires std::is_base_of_v<detail::select_case, std::remove_cvref_t<Case>>
  std::size_t add_case(Case&& c) {
    return add(std::make_unique<std::remove_cvref_t<Case>>(std::forward<Case>(c)));
  }

  /// Fires one case and returns its index. Throws weft::error if no case can fire.
  std::size_t wait() {
    return detail::run_select(ptrs_.data(), ptrs_.size(), entries_.data(), order_.data());
  }
  std::size_t size() const noexcept { return cases_.size(); }

 private:
  std::size_t add(std::unique_ptr<detail::select_case> c) {
    ptrs_.push_back(c.get());
    cases_.push_back(std::move(c));
    entries_.emplace_back();
    order_.push_back(0);
    return cases_.size() - 1;
  }
  std::vector<std::unique_ptr<detail::select_case>> cases_;
  std::vector<detail::select_case*> ptrs_;
  std::vector<detail::waker_entry> entries_;
  std::vector<std::uint32_t> order_;
};

}  // namespace weft

// weft/context.hpp: cancellation and deadlines that flow down a tree of operations.
//
// A context says when work should stop: when someone cancels it, or when its deadline passes.
// Pass it to blocking operations (`tx.send(v, ctx)`, `rx.recv(ctx)`, `select(..., on_done(ctx,
// ...))`) and to the functions you call, as Go does with context.Context. Cancelling a parent
// cancels every descendant with the parent's cause; a child never cancels its parent. The first
// cause sticks: err() never changes once it is not ok.
//
//   auto [ctx, cancel] = weft::with_timeout(weft::background(), 50ms);
//   weft::result<quote> q = quotes.recv(ctx);     // ok | closed | cancelled | timeout
//   cancel();                                      // release it early; idempotent, any thread
//
// Threads and tasks: every call works from both; done() is a receiver usable in select, closed
// once the context ends. Copying a context is one atomic increment; background() allocates
// nothing. with_* allocate one state object.
//
// Memory ordering: everything a thread did before calling a cancel_fn is visible to whoever
// observes the cancellation (err() != ok, done() closed, an operation returning cancelled).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include <weft/chan.hpp>
#include <weft/detail/context_state.hpp>

namespace weft {

class context {
 public:
  /// background(): never cancelled, no deadline.
  context() noexcept = default;

  /// A receiver closed when the context is cancelled or past its deadline (usable in select).
  /// background()'s never closes.
  receiver<std::monostate> done() const;
  /// ok | cancelled | timeout; the first cause sticks.
  status err() const noexcept { return s_ ? s_->err() : status::ok; }
  /// The earliest of its own and its ancestors' deadlines.
  std::optional<std::chrono::steady_clock::time_point> deadline() const noexcept {
    if (!s_ || s_->deadline() == detail::no_deadline) return std::nullopt;
    return s_->deadline();
  }

 private:
  friend detail::context_state* detail::state_of(const context&) noexcept;
  friend std::pair<context, class cancel_fn> make_child_context(const context&, detail::time_point);
  explicit context(std::shared_ptr<detail::context_state> s) noexcept : s_(std::move(s)) {}
  std::shared_ptr<detail::context_state> s_;
};

/// Cancels its context (cause: cancelled). Idempotent; callable from any thread; copyable.
class cancel_fn {
 public:
  cancel_fn() noexcept = default;
  /// Memory ordering: see the header comment.
  void operator()() const noexcept {
    if (s_) s_->cancel(status::cancelled);
  }

 private:
  friend std::pair<context, cancel_fn> make_child_context(const context&, detail::time_point);
  explicit cancel_fn(std::shared_ptr<detail::context_state> s) noexcept : s_(std::move(s)) {}
  std::shared_ptr<detail::context_state> s_;
};

/// Internal: a child of `parent` with an own deadline (no_deadline for none).
std::pair<context, cancel_fn> make_child_context(const context& parent, detail::time_point own_deadline);

inline context background() noexcept { return context(); }

inline std::pair<context, cancel_fn> with_cancel(const context& parent) {
  return make_child_context(parent, detail::no_deadline);
}
inline std::pair<context, cancel_fn> with_deadline(const context& parent, std::chrono::steady_clock::time_point t) {
  return make_child_context(parent, t);
}
/// A negative or zero duration gives a context already past its deadline.
template <class Rep, class Period>
std::pair<context, cancel_fn> with_timeout(const context& parent, std::chrono::duration<Rep, Period> d) {
  return make_child_context(parent, detail::deadline_after(d));
}

}  // namespace weft

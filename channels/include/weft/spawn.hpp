// weft/spawn.hpp: start a task (a green thread) and get the future of its result.
//
// `spawn(f)` runs `f()` as a task on the default runtime (`spawn(rt, f)` on another) and returns
// a `future<R>`, R = the result type of f(). The task's return value reaches the future; an
// exception thrown by f reaches it as status `failed` (result::exception() holds it) and never
// escapes into the scheduler. Dropping the future does not stop or detach anything: the task runs
// to its end either way (a runtime waits for all its tasks when destroyed).
//
// Threads and tasks: callable from both. From a task of the same runtime the new task goes on the
// caller's worker's local queue (other workers steal it if they are idle); from anywhere else, on
// the runtime's global queue.
// Allocation: none in steady state: the future's shared state comes from a per-thread free list
// (<weft/detail/oneshot_state.hpp>); the task, its stack and the closure (stored in place: in the
// task object up to detail::task_inline_closure_capacity bytes, else at the top of the task's
// stack up to detail::task_closure_capacity bytes) come from the runtime's pools: no system call
// once warm.
// Spawn site: each task records where it was spawned (a defaulted source_location argument);
// dump_blocked() prints it.
//
//   weft::future<int> f = weft::spawn([] { return 6 * 7; });
//   weft::result<int> r = f.get();                  // ok, 42
//   auto g = weft::spawn([]() -> int { throw std::runtime_error("no"); });
//   g.get().code();                                  // status::failed
//
// Memory ordering: everything the task did before f returned (or threw) happens-before the get()
// that returns its value (or failed); spawn() itself happens-before the first statement of f.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <weft/detail/source_location.hpp>
#include <weft/detail/task.hpp>
#include <weft/oneshot.hpp>
#include <weft/runtime.hpp>

namespace weft {

namespace detail {

/// The closure a spawned task runs: calls fn, destroys it, then completes the promise (so the
/// task's captures are gone by the time the future's get() returns).
template <class Fn, class R>
struct spawn_closure_body {
  std::optional<Fn> fn_;
  promise<R> promise_;

  void operator()() noexcept {
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(std::move(*fn_));
        fn_.reset();
        promise_.set_value();
      } else {
        R value = std::invoke(std::move(*fn_));
        fn_.reset();
        promise_.set_value(std::move(value));
      }
    } catch (...) {
      fn_.reset();  // a throwing destructor of the capture ends here (terminate): as for threads
      try {
        promise_.set_exception(std::current_exception());
      } catch (...) {
        // the promise cannot be completed (out of memory): its destructor reports broken
      }
    }
  }
};

}  // namespace detail

/// Starts f() as a task on `rt`. R = std::invoke_result_t<F>.
template <class F>
  requires std::is_invocable_v<std::decay_t<F>>
auto spawn(runtime& rt, F&& f, detail::source_location where = detail::source_location::current())
    -> future<std::invoke_result_t<std::decay_t<F>>> {
  using Fn = std::decay_t<F>;
  using R = std::invoke_result_t<Fn>;
  auto [p, fut] = make_oneshot<R>();
  detail::spawn_closure(rt,
                        detail::spawn_closure_body<Fn, R>{std::optional<Fn>(std::in_place, std::forward<F>(f)),
                                                          std::move(p)},
                        where);
  return std::move(fut);
}

/// Starts f() as a task on the default runtime (created on first use).
template <class F>
  requires std::is_invocable_v<std::decay_t<F>>
auto spawn(F&& f, detail::source_location where = detail::source_location::current())
    -> future<std::invoke_result_t<std::decay_t<F>>> {
  return spawn(default_runtime(), std::forward<F>(f), where);
}

}  // namespace weft

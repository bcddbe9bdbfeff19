// The runtime's primitive for starting a task, under `weft::spawn` (channels/spawn.hpp), which
// adds the future. A task is a closure run once on a pooled fiber:
//
//   task_handle h = prepare_task(rt, sizeof(C), alignof(C), where);  // a pooled task + storage
//   ::new (h.storage_) C(...);                                      // the caller builds it
//   submit_task(h, &invoke_and_destroy<C>);                         // runnable from here on
//
// The closure is stored in place, so a spawn allocates nothing in steady state: in the task
// object itself when it is small (task_inline_closure_capacity bytes, alignment up to 16: most
// closures, a few captures plus the future's promise), else at the top of the task's stack
// (task_closure_capacity bytes, alignment up to 64); a larger closure gets heap storage, freed by
// the runtime after it ran. Why small closures stay off the stack: a fresh stack's first write
// is a page fault (1.6-2.1 us per page on the project's VM), and it should be paid by the worker
// that first runs the task, not serially by the spawner: a task spawning a burst of tasks would
// otherwise fault in every one of their stacks on its own worker while the others wait for
// work. Under AddressSanitizer every closure goes on the stack (the task's own mapping there,
// unmapped when the task ends, so a pointer kept into a finished task's closure is reported).
//
// Observability: `where` (the spawn site) is what dump_blocked() prints for the task.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/detail/source_location.hpp>

namespace weft {
class runtime;
}

namespace weft::detail {

struct task;

/// Bytes of closure storage inside each task object, and the largest alignment it serves.
inline constexpr std::size_t task_inline_closure_capacity = 48;
inline constexpr std::size_t task_inline_closure_align = 16;
/// Bytes of in-place closure storage at the top of each task's stack, for closures that do not
/// fit in the task object (alignment up to task_closure_align).
inline constexpr std::size_t task_closure_capacity = 192;
inline constexpr std::size_t task_closure_align = 64;

/// Runs the closure at `storage` and destroys it. Must not throw (the runtime has nowhere to
/// put an exception: spawn's closure catches and hands it to the future).
using task_invoke_fn = void (*)(void* storage) noexcept;

struct task_handle {
  task* task_;
  void* storage_;  // where the caller constructs the closure
};

/// Takes a pooled task of `rt` (and its stack), records the spawn site and counts it live.
/// Returns storage for a closure of `size` bytes and alignment `align`. Never blocks.
task_handle prepare_task(runtime& rt, std::size_t size, std::size_t align, const source_location& where);
/// Makes the prepared task runnable: on the caller's worker's local queue if the caller runs
/// on one of rt's workers, else on rt's global queue (waking an idle worker if there is one).
void submit_task(task_handle h, task_invoke_fn invoke) noexcept;
/// Gives back a prepared task whose closure could not be built (its constructor threw).
void abandon_task(task_handle h) noexcept;

template <class Closure>
void invoke_and_destroy(void* storage) noexcept {
  Closure* c = static_cast<Closure*>(storage);
  (*c)();
  c->~Closure();
}

/// Builds `c` into a new task of `rt` and starts it.
template <class Closure>
void spawn_closure(runtime& rt, Closure&& c, const source_location& where) {
  using C = std::decay_t<Closure>;
  static_assert(std::is_nothrow_invocable_v<C&>,
                "a task closure must be noexcept: exceptions must not reach the scheduler");
  task_handle h = prepare_task(rt, sizeof(C), alignof(C), where);
  try {
    ::new (h.storage_) C(std::forward<Closure>(c));
  } catch (...) {
    abandon_task(h);
    throw;
  }
  submit_task(h, &invoke_and_destroy<C>);
}

}  // namespace weft::detail

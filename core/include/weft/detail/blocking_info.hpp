// What a task is blocked on, for stats() and dump_blocked(): a blocking operation calls
// note_blocking() on its slow path right before it parks, and note_unblocked() when its wait is
// over. Both are no-ops on plain OS threads. The runtime records "since when" for the first park
// of one blocking operation, stamped lazily (core/src/scheduler.cpp S1, park_clock).
//
//   detail::note_blocking("recv", state_ptr);   // then register the waiter, re-check, park
//   ...
//   detail::note_unblocked();
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace weft::detail {

/// What a task is blocked on: the fields note_blocking() writes. A base of the runtime's task
/// object (core/src/scheduler.hpp), reachable through current_note_tls, so that a channel
/// operation's note is a few inline stores (chan_state.hpp blocking_note) instead of two calls
/// into the runtime per blocking operation (those cost W5 ~10 ns per round trip: bench/RESULTS.md
/// session 13). Written only by the task itself; relaxed everywhere: observers read diagnostic
/// snapshots, nothing is published through them.
struct task_note {
  std::atomic<const char*> op_{nullptr};
  std::atomic<const void*> object_{nullptr};
  std::atomic<const char*> object_name_{nullptr};
  // "Blocked since" of op_: park_clock ticks at its first park; 0: none; since_pending | token:
  // parked, not stamped yet (scheduler.cpp S1). mutable: an observer that finds it pending
  // stamps it (since_ticks_of).
  mutable std::atomic<std::uint64_t> since_ticks_{0};
  // For channel dumps, leak_check and the watchdog (observe.cpp).
  std::atomic<std::size_t> chan_cap_{0};   // that channel's capacity
  std::atomic<std::size_t> chan_size_{0};  // its size when the wait began
  std::atomic<bool> on_chan_{false};       // op_ is on a channel: chan_cap_/chan_size_ hold

  /// A new blocking operation: its name, object and object name; "since" starts again.
  void begin(const char* op, const void* object, const char* name, bool on_chan) noexcept {
    // relaxed (all): diagnostic snapshot fields (see above).
    op_.store(op, std::memory_order_relaxed);
    object_.store(object, std::memory_order_relaxed);
    object_name_.store(name, std::memory_order_relaxed);
    since_ticks_.store(0, std::memory_order_relaxed);
    on_chan_.store(on_chan, std::memory_order_relaxed);
  }
};

/// The running task's note; nullptr on a plain OS thread (also in a worker's scheduler loop).
/// Written only by the runtime, together with current_task_tls, at every switch into a task.
extern constinit thread_local task_note* current_note_tls [[gnu::tls_model("initial-exec")]];

/// note_blocking(), inline: records the operation in the calling task's note and returns it
/// (nullptr: not in a task), for note_unblocked(n).
inline task_note* note_blocking_inline(const char* op, const void* object, const char* name = nullptr) noexcept {
  task_note* n = current_note_tls;
  if (n != nullptr) n->begin(op, object, name, false);
  return n;
}
/// note_blocking_chan(), inline: records the operation in the calling task's note and returns
/// it (nullptr: not in a task, nothing recorded), for note_unblocked(n) when the wait is over.
/// The returned pointer stays valid across parks (the task may resume on another thread).
inline task_note* note_blocking_chan_inline(const char* op, const void* object, const char* name,
                                            std::size_t capacity, std::size_t size) noexcept {
  task_note* n = current_note_tls;
  if (n == nullptr) return nullptr;
  // relaxed (both): diagnostic snapshot fields (task_note).
  n->chan_cap_.store(capacity, std::memory_order_relaxed);
  n->chan_size_.store(size, std::memory_order_relaxed);
  n->begin(op, object, name, true);
  return n;
}
/// note_unblocked() for a note that note_blocking_chan_inline() returned (nullptr: nothing).
inline void note_unblocked(task_note* n) noexcept {
  if (n == nullptr) return;
  // relaxed (both): as above.
  n->op_.store(nullptr, std::memory_order_relaxed);
  n->since_ticks_.store(0, std::memory_order_relaxed);
}

/// Records, in the calling task, the operation (`"recv"`, `"send"`, `"select"`, `"sleep"`, ...,
/// a string literal) and the object it is about to block on (a channel's shared state, or null),
/// plus an optional name for the object (a string that outlives the wait). Never blocks, never
/// allocates; a few relaxed stores.
void note_blocking(const char* op, const void* object, const char* object_name = nullptr) noexcept;
/// As note_blocking, for a channel operation: also records the channel's capacity (SIZE_MAX:
/// unbounded) and its size when the wait began, which dump_blocked() prints.
void note_blocking_chan(const char* op, const void* object, const char* name, std::size_t capacity,
                        std::size_t size) noexcept;
/// The operation the calling task has noted (nullptr: none, or not in a task). Lets a blocking
/// call made inside another one (group::wait -> wait_group's wait) keep the outer label.
const char* noted_blocking() noexcept;
/// Clears what note_blocking() recorded. Never blocks, never allocates.
void note_unblocked() noexcept;

// ---- hook for the actor layer: actors_live in runtime_stats -------------------------------
/// Adds `delta` (+1 when an actor starts, -1 when it ends) to the process-wide actor count.
void actors_live_add(std::ptrdiff_t delta) noexcept;
/// The process-wide count of live actors.
std::size_t actors_live() noexcept;

}  // namespace weft::detail

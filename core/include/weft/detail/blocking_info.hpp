// What a task is blocked on, for stats() and dump_blocked(): a blocking operation calls
// note_blocking() on its slow path right before it parks, and note_unblocked() when its wait is
// over. Both are no-ops on plain OS threads. The runtime records "since when" for the first park
// of one blocking operation, stamped lazily (core/src/scheduler.cpp S1, park_clock).
//
//   detail::note_blocking("recv", state_ptr);   // then register the waiter, re-check, park
//   ...
//   detail::note_unblocked();
#pragma once

#include <cstddef>

namespace weft::detail {

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

// Private: one task's observability fields read together, for dump_blocked() (runtime.cpp) and
// for leak_check / the watchdog (observe.cpp), so both print the same thing the same way.
//
// A snapshot is diagnostic: every field read here is an atomic written with relaxed stores
// (scheduler.hpp, task "Observability"), so one snapshot may mix two moments of a task that is
// changing as we read, never garbage. Callers hold the runtime's pool lock (the task registry).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "scheduler.hpp"

namespace weft::detail {

struct task_snapshot {
  const task* t;
  task_state state;
  std::int64_t since_ns;  // steady_clock ns at the first park of op (0: not parked yet)
  std::uint64_t since_ticks;  // the raw reading it came from: identifies one blocking episode
  const char* op;         // the blocking operation (nullptr: a bare park)
  const void* object;     // what it waits on (nullptr: nothing named)
  const char* name;       // the object's name, if it has one
  bool on_chan;           // object is a channel: cap and size hold
  std::size_t cap, size;  // SIZE_MAX cap: unbounded
  const char* file;       // spawn site
  std::uint32_t line;
  bool timed;             // the current park has a deadline
};

/// Reads t's observability fields; `st` is the state the caller already read, `pc` converts
/// the park time.
inline task_snapshot snapshot_of(const task& t, task_state st, const park_clock& pc) noexcept {
  task_snapshot s{};
  s.t = &t;
  s.state = st;
  // relaxed (every load below): diagnostic snapshot fields; see the file comment.
  s.since_ticks = since_ticks_of(t);
  s.since_ns = pc.ns(s.since_ticks);
  s.op = t.op_.load(std::memory_order_relaxed);  // relaxed: as above
  s.object = t.object_.load(std::memory_order_relaxed);  // relaxed: as above
  s.name = t.object_name_.load(std::memory_order_relaxed);  // relaxed: as above
  s.on_chan = t.on_chan_.load(std::memory_order_relaxed);  // relaxed: as above
  s.cap = t.chan_cap_.load(std::memory_order_relaxed);  // relaxed: as above
  s.size = t.chan_size_.load(std::memory_order_relaxed);  // relaxed: as above
  s.file = t.spawn_file_.load(std::memory_order_relaxed);  // relaxed: as above
  s.line = t.spawn_line_.load(std::memory_order_relaxed);  // relaxed: as above
  s.timed = t.timed_park_.load(std::memory_order_relaxed);  // relaxed: as above
  return s;
}

/// The object a blocked task waits on, without its name: "0x... cap=16 size=3",
/// "0x... cap=unbounded size=3", "0x..." or "-" (no object).
inline void format_blocked_object(char* buf, std::size_t n, const task_snapshot& s) noexcept {
  if (s.object != nullptr && s.on_chan && s.cap == SIZE_MAX)
    std::snprintf(buf, n, "%p cap=unbounded size=%zu", s.object, s.size);
  else if (s.object != nullptr && s.on_chan)
    std::snprintf(buf, n, "%p cap=%zu size=%zu", s.object, s.cap, s.size);
  else if (s.object != nullptr)
    std::snprintf(buf, n, "%p", s.object);
  else
    std::snprintf(buf, n, "-");
}

}  // namespace weft::detail

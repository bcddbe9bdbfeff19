// The flight recorder's hooks: one line in the runtime, the channels and the actors each, e.g.
//
//   WEFT_TRACE(unpark, t, 0);          // kind, object pointer, 64-bit argument
//
// When no trace is recording, a hook is one relaxed load of a global flag and one branch that
// is never taken (the call is laid out of line). When recording, it appends one 32-byte record
// to the calling OS thread's ring (see trace_buffer.hpp); the public API is <weft/trace.hpp>.
//
// Timestamps: records of the scheduler's switch-in (`run`, `handoff`), idle, spawn and actor
// handler events read the clock (the TSC on x86-64); records made inside a running task (send,
// recv, unpark, switch-out) do not, unless trace::options::precise_timestamps is set: the writer
// of the JSON places them in order between their ring's neighbouring stamped records. Threads
// outside the runtime stamp every record (they have no switch events).
//
// Folded records (a worker's ring): the commonest pairs of events share one record, and the
// JSON writer unfolds them (trace_json.cpp, unfold()):
//   - a wake-up made by a task on a worker is held in its ring (trace_ring::pending_wake_) and
//     rides in the next channel record of that thread (field b; the status moves to aux), or is
//     appended as its own `unpark` record before any other record (not with
//     precise_timestamps: then each wake-up is a stamped record of its own);
//   - a direct task-to-task switch (the parking task hands the worker to the task it woke) is
//     one `handoff` record: the previous task's switch-out to park and the next one's switch-in
//     (one instant, one stamp; with trace::options::stamp_every > 1, only one hand-off in k is
//     stamped, the others are placed between their stamped neighbours).
// On W5 (green ping-pong) this is 6 records per round trip instead of 10.
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::detail {

/// What a record says. Arguments (a = the pointer argument, b = the 64-bit one):
enum class trace_kind : std::uint8_t {
  spawn = 1,     ///< a = the new task (the record adds its spawn site) (stamped)
  run,           ///< a worker switches into task a (stamped)
  stop_park,     ///< task a switched out to park (the record adds its op and object)
  stop_yield,    ///< task a switched out by yield()
  stop_done,     ///< task a's closure returned
  unpark,        ///< the caller made parked task a runnable (a waker)
  timer_fire,    ///< a worker's timer made parked task a runnable
  send,          ///< a send on channel state a returned status aux (bit 8 set: try_send); b: a
                 ///< task this thread woke (a folded unpark) or 0
  recv,          ///< a receive on channel state a: as send (bit 8 of aux: try_recv); for both,
                 ///< bit 9 of aux: the case of a select that fired
  actor_begin,   ///< an actor (core a) starts handling one message (stamped)
  actor_end,     ///< ... and is done with it (stamped)
  idle_begin,    ///< a worker is about to sleep (no task anywhere) (stamped)
  idle_end,      ///< ... and woke (stamped)
  handoff,       ///< the running task parked (aux: its op, b: its object) and switched straight
                 ///< into task a (stamped, or one in k: options::stamp_every); the parking
                 ///< task is the ring's running one
};
inline constexpr unsigned trace_kind_count = 15;  // one past the last kind
inline constexpr std::uint64_t trace_try_bit = 1u << 8;     ///< in a send/recv status: try_*
inline constexpr std::uint64_t trace_select_bit = 1u << 9;  ///< ... a select's case that fired

/// True while a trace records. Written by trace::start/stop only.
extern std::atomic<bool> trace_flag;
/// True while a trace records channel operations (trace::options::channel_events).
extern std::atomic<bool> trace_chan_flag;
/// The current trace session (+1 at each start); a ring belongs to one session. Relaxed hint:
/// a writer that sees a new session re-registers under the registry's lock (trace.cpp P2).
extern std::atomic<std::uint64_t> trace_session;

/// relaxed: the flag publishes nothing (a hook that reads a stale value records one event more
/// or one fewer around start/stop; the record path synchronises with the registry itself).
inline bool trace_on() noexcept { return trace_flag.load(std::memory_order_relaxed); }

/// Appends one record to the calling thread's ring. Never blocks (except once per thread per
/// trace, to register its ring), never throws; allocation only at that registration.
void trace_record(trace_kind k, const void* a, std::uint64_t b) noexcept;
/// trace_record for kinds with no extra fields and no stamp of their own (send, recv; b = the
/// status and flags): the channel hooks' lean path.
void trace_record_op(trace_kind k, const void* a, std::uint64_t b) noexcept;

}  // namespace weft::detail

/// A trace hook: `WEFT_TRACE(kind, pointer, u64)`. Off: a relaxed load and an untaken branch.
#define WEFT_TRACE(kind, a, b)                                                                  \
  do {                                                                                          \
    if (::weft::detail::trace_on()) [[unlikely]]                                                \
      ::weft::detail::trace_record(::weft::detail::trace_kind::kind, (a),                       \
                                   static_cast<std::uint64_t>(b));                              \
  } while (0)

namespace weft::detail {
/// True while a trace records channel operations: for hooks whose arguments cost something to
/// compute (evaluate them inside the branch). relaxed: as trace_on().
inline bool trace_chan_on() noexcept { return trace_chan_flag.load(std::memory_order_relaxed); }

/// A channel operation's hook at the handle level: records (kind, channel, status) and returns
/// the status. Off (no trace, or options::channel_events false): a relaxed load and an untaken
/// branch.
template <class Status>
inline Status trace_chan_op(trace_kind k, const void* chan, Status st, std::uint64_t flags = 0) noexcept {
  // relaxed: as trace_on().
  if (trace_chan_flag.load(std::memory_order_relaxed)) [[unlikely]]
    trace_record_op(k, chan, static_cast<std::uint64_t>(st) | flags);
  return st;
}
}  // namespace weft::detail

namespace weft::detail {
/// Records `begin` now and `end` when the scope ends, if a trace was recording at the start.
class trace_scope {
 public:
  trace_scope(trace_kind begin, trace_kind end, const void* object) noexcept
      : object_(trace_on() ? object : nullptr), end_(end) {
    if (object_ != nullptr) [[unlikely]]
      trace_record(begin, object_, 0);
  }
  ~trace_scope() {
    if (object_ != nullptr) [[unlikely]]
      trace_record(end_, object_, 0);
  }
  trace_scope(const trace_scope&) = delete;
  trace_scope& operator=(const trace_scope&) = delete;

 private:
  const void* const object_;
  const trace_kind end_;
};
}  // namespace weft::detail

// The scheduler's flight-recorder hooks, inline: the worker appends to its own ring through the
// pointer it caches (trace.cpp T3), with the record's fields computed at the call site. One
// relaxed load and an untaken branch when no trace records; when one does, about a dozen
// instructions instead of a call into trace_record. W5's round trip is 10 events in 6 records:
// its two direct switches are a `handoff` record each, its two wake-ups ride in the next send's
// record (trace.hpp, "Folded records"); bench/micro/trace_bench.cpp measures it.
//
// Why not a thread_local in the hooks: they also run on task stacks (make_runnable is called by
// the waking task, direct_switch by the parking one), and a task can resume on another worker
// after a switch; a compiler may keep a thread-local's address across the switch. The worker
// pointer the caller already holds is always the right one.
#pragma once

#include <atomic>
#include <cstdint>

#include <weft/detail/trace.hpp>
#include <weft/detail/trace_buffer.hpp>

#include "scheduler.hpp"

namespace weft::detail {

/// w's ring for the current session, or nullptr: the caller then goes through trace_record,
/// which registers the ring (and fills in the fields itself). w->trace_ring_ is never null
/// (trace_no_ring before the first record: its session matches none).
[[gnu::always_inline]] inline trace_ring* current_worker_ring(worker* w) noexcept {
  trace_ring* r = w->trace_ring_;
  // relaxed: trace.cpp P2 (a stale session only sends us through trace_record, which re-checks).
  if (r->session_ != trace_session.load(std::memory_order_relaxed)) [[unlikely]] return nullptr;
  return r;
}

/// Appends (k, a, b, aux) to w's ring; w must be the calling thread's worker. `stamped`: the
/// kind always reads the clock (else only when the ring stamps everything: precise_timestamps).
[[gnu::always_inline]] inline void trace_on_worker(worker* w, trace_kind k, const void* a, std::uint64_t b,
                                                   std::uint64_t aux, bool stamped) noexcept {
  trace_ring* r = current_worker_ring(w);
  if (r == nullptr) [[unlikely]] {
    trace_record(k, a, b);
    return;
  }
  r->flush_wake();  // I3: a pending wake-up happened before this event
  r->append(stamped || r->stamp_all_ ? trace_ticks() | 1 : 0, static_cast<std::uint64_t>(k) | aux << 8,
            reinterpret_cast<std::uintptr_t>(a), b);
}

/// Task t made runnable by the calling thread, worker w: held in the ring until the next record
/// (trace_buffer.hpp I3), which a channel operation's record carries for free; with precise
/// timestamps, its own stamped record.
[[gnu::always_inline]] inline void trace_wake_on_worker(worker* w, const void* t) noexcept {
  trace_ring* r = current_worker_ring(w);
  if (r == nullptr) [[unlikely]] {
    trace_record(trace_kind::unpark, t, 0);
    return;
  }
  // One test for the two rare cases: a wake-up already held (a second one before any record:
  // the first gets its own) and precise_timestamps (no folding: a stamped record of its own).
  if ((reinterpret_cast<std::uintptr_t>(r->pending_wake_) | static_cast<std::uintptr_t>(r->stamp_all_)) != 0)
      [[unlikely]] {
    r->flush_wake();
    if (r->stamp_all_) {
      r->append(trace_ticks() | 1, static_cast<std::uint64_t>(trace_kind::unpark), reinterpret_cast<std::uintptr_t>(t), 0);
      return;
    }
  }
  r->pending_wake_ = t;
}

/// Whether the next direct switch on w's ring reads the clock (trace::options::stamp_every):
/// the park asks before it switches, to read the clock only when the record needs it (and then
/// to share the reading). A ring of another session may answer either way: the record then
/// goes through trace_record, which stamps.
[[gnu::always_inline]] inline bool trace_stamp_next_handoff(worker* w) noexcept {
  return w->trace_ring_->stamp_skip_ == 0;
}

/// The running task `from` parks on w and switches straight into `to`: one `handoff` record for
/// the switch-out and the switch-in (trace.hpp). `from`'s op and object were written by `from`
/// itself, which is the calling code. `now`: a tick reading taken by the park just before (its
/// "blocked since", read at the park only while a trace records and trace_stamp_next_handoff
/// said so: scheduler.cpp S1), or 0: read the clock here if this hand-off is one to stamp. One
/// reading serves both (bench/RESULTS.md sessions 8 and 9).
[[gnu::always_inline]] inline void trace_handoff_on_worker(worker* w, const task* from, const task* to,
                                                           std::uint64_t now) noexcept {
  // relaxed (x2): written by this task itself (note_blocking).
  const auto op = reinterpret_cast<std::uintptr_t>(from->op_.load(std::memory_order_relaxed));
  const auto object = reinterpret_cast<std::uintptr_t>(from->object_.load(std::memory_order_relaxed));
  trace_ring* r = current_worker_ring(w);
  if (r == nullptr) [[unlikely]] {  // the first record of a session: the two events unfolded
    trace_record(trace_kind::run, to, 0);
    trace_record(trace_kind::stop_park, from, 0);
    return;
  }
  r->flush_wake();
  // Also with precise_timestamps: the switch-out and the switch-in are the same instant.
  // stamp_every: every stamp_every-th direct switch in a row is stamped (stamp_skip_ counts down).
  std::uint64_t ts = 0;
  if (now != 0 || r->stamp_skip_ == 0) {
    ts = (now != 0 ? now : trace_ticks()) | 1;
    r->stamp_skip_ = r->stamp_every_ - 1;
  } else {
    --r->stamp_skip_;
  }
  r->append(ts, static_cast<std::uint64_t>(trace_kind::handoff) | op << 8, reinterpret_cast<std::uintptr_t>(to), object);
}

}  // namespace weft::detail

/// A scheduler hook on worker `w` (the calling thread's): `WEFT_TRACE_W(w, kind, a, b, aux,
/// stamped)`. Off: a relaxed load and an untaken branch.
#define WEFT_TRACE_W(w, kind, a, b, aux, stamped)                                                  \
  do {                                                                                             \
    if (::weft::detail::trace_on()) [[unlikely]]                                                   \
      ::weft::detail::trace_on_worker((w), ::weft::detail::trace_kind::kind, (a),                  \
                                      static_cast<std::uint64_t>(b), (aux), (stamped));            \
  } while (0)

/// The wake-up hook on worker `w` (the calling thread's): `WEFT_TRACE_WAKE_W(w, t)`.
#define WEFT_TRACE_WAKE_W(w, t)                                                                    \
  do {                                                                                             \
    if (::weft::detail::trace_on()) [[unlikely]]                                                   \
      ::weft::detail::trace_wake_on_worker((w), (t));                                              \
  } while (0)

/// The direct-switch hook on worker `w`: `WEFT_TRACE_HANDOFF_W(w, from, to, now)`.
#define WEFT_TRACE_HANDOFF_W(w, from, to, now)                                                     \
  do {                                                                                             \
    if (::weft::detail::trace_on()) [[unlikely]]                                                   \
      ::weft::detail::trace_handoff_on_worker((w), (from), (to), (now));                           \
  } while (0)

// The scheduler's flight-recorder hooks, inline: the worker appends to its own ring through the
// pointer it caches (trace.cpp T3), with the record's fields computed at the call site. One
// relaxed load and an untaken branch when no trace records; when one does, about a dozen
// instructions instead of a call into trace_record (W5 records 6 of its 10 events per round trip
// here: switch-ins, switch-outs and wake-ups; bench/micro/trace_bench.cpp measures it).
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

/// Appends (k, a, b, aux) to w's ring; w must be the calling thread's worker. `stamped`: the
/// kind always reads the clock (else only when the ring stamps everything: precise_timestamps).
/// Falls back to trace_record (which registers the ring and fills in the fields itself) when
/// the worker has no ring for the current session yet.
[[gnu::always_inline]] inline void trace_on_worker(worker* w, trace_kind k, const void* a, std::uint64_t b,
                                                   std::uint64_t aux, bool stamped) noexcept {
  trace_ring* r = w->trace_ring_;
  // relaxed: trace.cpp P2 (a stale session only sends us through trace_record, which re-checks).
  if (r == nullptr || r->session_ != trace_session.load(std::memory_order_relaxed)) [[unlikely]] {
    trace_record(k, a, b);
    return;
  }
  r->append(stamped || r->stamp_all_ ? trace_ticks() | 1 : 0, static_cast<std::uint64_t>(k) | aux << 8,
            reinterpret_cast<std::uintptr_t>(a), b);
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

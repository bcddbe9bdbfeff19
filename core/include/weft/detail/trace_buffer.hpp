// The flight recorder's per-thread ring and the snapshot handed to the JSON writer.
//
// One ring per OS thread that records (a worker records the events of the tasks it runs). The
// owner thread appends without a lock; a reader (trace::stop/snapshot) copies the ring under the
// registry mutex while the owner may keep writing, and throws away what may have been
// overwritten during the copy.
//
// Invariants:
//   I1  Record i (i < head_) lives in words_[4 * (i & mask_) .. + 4]; records older than
//       head_ - capacity have been overwritten (they count as dropped).
//   I2  session_ is the trace session the ring's records belong to; a ring is reset (head_ = 0,
//       pending_wake_ = nullptr) when its owner first records in a newer session.
//   I3  pending_wake_ (a worker's ring only, precise_timestamps off) is a wake-up made by this
//       thread and not yet in the ring: it goes into the next record, inside it (a channel
//       record's b) or as an `unpark` record before it (flush_wake), so the ring's order is the
//       order of the events (trace.hpp, "Folded records").
// Protocol (who may touch what):
//   words_, head_     appended by the owner thread only; read by a reader under registry_mu.
//   session_, stamp_all_   the owner; session_ also by readers under registry_mu (the owner
//                     changes it only under registry_mu).
//   pending_wake_     the owner only (a reader never sees it: a wake-up still pending when a
//                     trace is copied is not in that copy).
//   stamp_every_, stamp_skip_   the owner (stamp_every_ set under registry_mu at registration).
//   alive_, name_, os_tid_   under registry_mu.
// Orderings:
//   P1  owner: store the record's words (relaxed) then head_.store(i + 1, release)  ->  reader:
//       head_.load(acquire), copy words, head_.load(acquire) again: every record below the first
//       head is complete; those the owner may have overwritten since (index < second head -
//       capacity) are discarded (a seqlock's retry, per record).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <weft/detail/trace.hpp>

namespace weft::detail {

std::int64_t trace_steady_ns() noexcept;  // steady_clock in ns (trace.cpp)

/// Ticks of the cheapest monotonic counter: the TSC on x86 (invariant on the CPUs weft targets;
/// Linux's own clocksource on this VM), the virtual counter on AArch64, steady_clock elsewhere.
/// Measured on the project's VM (AMD EPYC, KVM): rdtsc 9.6 ns, clock_gettime(MONOTONIC) via the
/// vDSO 24 ns, CLOCK_MONOTONIC_COARSE 5.5 ns but 4 ms resolution.
inline std::uint64_t trace_ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#elif defined(__aarch64__)
  std::uint64_t v;
  asm volatile("mrs %0, cntvct_el0" : "=r"(v));
  return v;
#else
  return static_cast<std::uint64_t>(trace_steady_ns());
#endif
}

/// One record as copied out of a ring. meta = kind | aux << 8.
struct trace_raw {
  std::uint64_t ts;    ///< TSC ticks, or 0: not stamped (placed between stamped neighbours)
  std::uint64_t meta;  ///< trace_kind in the low 8 bits, a kind-specific value above
  std::uint64_t a;     ///< the object (task, channel state, actor)
  std::uint64_t b;     ///< a second value (status, object a task waits on, spawn file)
};

struct trace_ring {
  explicit trace_ring(std::size_t capacity)
      : words_(new std::atomic<std::uint64_t>[capacity * 4]), mask_(capacity - 1) {}
  /// The ring of no session (trace_no_ring): what a thread's ring pointer holds before its first
  /// record, so the hooks test the session alone, never a null pointer.
  struct none_t {};
  constexpr explicit trace_ring(none_t) noexcept : mask_(0), session_(~std::uint64_t{0}), alive_(false) {}

  std::size_t capacity() const noexcept { return static_cast<std::size_t>(mask_) + 1; }

  /// Owner only (P1).
  void append(std::uint64_t ts, std::uint64_t meta, std::uint64_t a, std::uint64_t b) noexcept {
    // relaxed: only the owner writes head_.
    const std::uint64_t i = head_.load(std::memory_order_relaxed);
    std::atomic<std::uint64_t>* w = &words_[4 * (i & mask_)];
    // relaxed (x4): published by the release store of head_ below; P1.
    w[0].store(ts, std::memory_order_relaxed);
    w[1].store(meta, std::memory_order_relaxed);
    w[2].store(a, std::memory_order_relaxed);
    w[3].store(b, std::memory_order_relaxed);
    // release: the record's words are visible to a reader that sees the new head; P1.
    head_.store(i + 1, std::memory_order_release);
  }

  /// Owner only: appends the pending wake-up, if any, as an `unpark` record (I3).
  void flush_wake() noexcept {
    if (pending_wake_ != nullptr) {
      append(0, static_cast<std::uint64_t>(trace_kind::unpark), reinterpret_cast<std::uintptr_t>(pending_wake_), 0);
      pending_wake_ = nullptr;
    }
  }

  /// Owner only: the pending wake-up for a channel record to carry, and none pending after (I3).
  std::uint64_t take_wake() noexcept {
    const auto t = reinterpret_cast<std::uintptr_t>(pending_wake_);
    pending_wake_ = nullptr;
    return t;
  }

  /// Reader, under registry_mu: the records still in the ring, oldest first; adds to `dropped`
  /// those overwritten before or during the copy (P1). `running`: running_at_reset_ when the
  /// copy starts at the ring's first record, else null (unknown).
  std::vector<trace_raw> copy_out(std::uint64_t& dropped, const void*& running) const;

  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
  const std::uint64_t mask_;
  std::atomic<std::uint64_t> head_{0};  // records ever appended in this session (I1)
  std::uint64_t session_ = 0;           // I2
  const void* pending_wake_ = nullptr;  // I3
  /// The task running on the owner thread when the ring was (re)started (head_ = 0), or null:
  /// the parking task of a `handoff` record when the ring holds no switch-in before it (the
  /// recording started inside that task). Owner only, under registry_mu; read by copy_out.
  const void* running_at_reset_ = nullptr;
  bool stamp_all_ = true;               // a worker: `precise_timestamps` (register_ring); others: true
  /// A worker's sampled hand-off stamps (trace::options::stamp_every; trace_hooks.hpp): every
  /// stamp_every_-th direct switch in a row reads the clock; stamp_skip_ = how many more to
  /// leave unstamped before the next one that does. Owner only.
  std::uint32_t stamp_every_ = 1;
  std::uint32_t stamp_skip_ = 0;
  bool alive_ = true;                   // the owner thread has not exited
  int os_tid_ = 0;
  char name_[16] = {};  // the thread's name (pthread names fit 16 bytes with their NUL)
};

/// Never recorded into: its session matches no trace (trace.cpp).
extern constinit trace_ring trace_no_ring;

/// What the JSON writer needs from one ring.
struct trace_ring_copy {
  std::string name;
  int os_tid = 0;
  std::vector<trace_raw> records;
  std::uint64_t running = 0;  ///< the task running before records[0], if known (else 0)
};

/// A whole trace, copied out of the rings (see trace.cpp) and written by trace_json.cpp.
struct trace_copy {
  std::vector<trace_ring_copy> rings;
  std::uint64_t tsc_start = 0;  // the session's start, in ticks
  std::int64_t ns_start = 0;    // ... and in steady_clock ns
  std::uint64_t tsc_end = 0;    // the copy's time, in ticks
  double ns_per_tick = 1.0;
  std::uint64_t dropped = 0;
};

struct trace_written {
  std::uint64_t events = 0;
  std::size_t tasks = 0;
};

/// Writes `t` as Chrome trace-event JSON ({"traceEvents": [...]}). Defined in trace_json.cpp.
trace_written write_trace_json(const trace_copy& t, std::ostream& os);

}  // namespace weft::detail

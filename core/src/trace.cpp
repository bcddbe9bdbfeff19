// The flight recorder's recording side: the global flag, per-thread rings, the registry of
// rings, start/stop/snapshot, the clock, and the WEFT_TRACE=<path> environment switch.
// The JSON writer is in trace_json.cpp; the ring itself in <weft/detail/trace_buffer.hpp>.
//
// Invariants:
//   T1  Every ring a thread has recorded into is owned by the registry (never freed while its
//       owner thread may append to it); a ring is freed only under registry_mu when its owner
//       has exited (alive_ == false) or replaces it by a ring of the current session's size.
//   T2  trace_session only grows; a session's options and start time are written under
//       registry_mu before trace_flag becomes true.
//   T3  A worker's trace_ring_ is &trace_no_ring or its own thread's tls_ring (which starts as
//       &trace_no_ring, never null: the hooks test the session alone): both are written together,
//       by that thread, in register_ring (the only place a live thread's ring changes).
// Protocol:
//   tls_ring, tls_dead, worker::trace_ring_   the owner thread only.
//   registry (rings, options, session times)   registry_mu.
// Orderings:
//   P1  see trace_buffer.hpp (a ring's records -> its reader).
//   P2  trace_flag and trace_session are relaxed hints: a writer that sees a new session
//       re-registers under registry_mu, which orders it after start()'s writes (T2).
//
// The design follows Go's runtime/trace (per-P buffers, timestamps from the CPU's tick counter
// calibrated against the monotonic clock at the start and end of a trace) and the Linux
// kernel's ftrace ring ("overwrite" mode: a flight recorder keeps the newest events).
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <ostream>
#include <vector>

#include <weft/detail/trace.hpp>
#include <weft/detail/trace_buffer.hpp>
#include <weft/status.hpp>
#include <weft/trace.hpp>

#include "scheduler.hpp"

namespace weft::detail {

std::atomic<bool> trace_flag{false};
std::atomic<bool> trace_chan_flag{false};
std::atomic<std::uint64_t> trace_session{0};  // T2
constinit trace_ring trace_no_ring{trace_ring::none_t{}};

std::int64_t trace_steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
}

namespace {

// ---- the clock (trace_ticks in trace_buffer.hpp) ----

std::int64_t steady_ns() noexcept { return trace_steady_ns(); }
inline std::uint64_t ticks() noexcept { return trace_ticks(); }

// ---- the registry ----

struct registry {
  std::mutex mu;
  std::vector<std::unique_ptr<trace_ring>> rings;  // T1
  std::size_t capacity = 16 * 1024;                // rings made in this session
  bool recording = false;
  std::uint64_t tsc_start = 0;
  std::int64_t ns_start = 0;
  std::uint64_t recycled_dropped = 0;  // records lost with rings of exited threads reused
};

/// Never destroyed: threads may record (and exit) during static destruction.
registry& reg() {
  static registry* r = new registry;
  return *r;
}

std::atomic<bool> precise{false};               // relaxed: an option, see P2
std::atomic<std::uint32_t> stamp_every{1};      // relaxed: an option, see P2

/// Rings of exited threads kept per session before they are reused for new threads.
constexpr std::size_t dead_rings_kept = 64;

// initial-exec: one %fs-relative load (the library is linked statically or loaded at start).
constinit thread_local trace_ring* tls_ring [[gnu::tls_model("initial-exec")]] = &trace_no_ring;
constinit thread_local bool tls_dead [[gnu::tls_model("initial-exec")]] = false;

/// Marks the thread's ring dead at thread exit. Constructed on the thread's first record.
struct ring_owner {
  ~ring_owner() {
    registry& r = reg();
    std::lock_guard lk(r.mu);
    if (tls_ring != &trace_no_ring) tls_ring->alive_ = false;
    tls_ring = &trace_no_ring;
    tls_dead = true;
  }
};

/// The calling thread's name into `out` (pthread names fit 16 bytes with their NUL), or "thread".
void thread_name(char (&out)[16]) noexcept {
  if (pthread_getname_np(pthread_self(), out, sizeof out) != 0 || out[0] == '\0') std::strcpy(out, "thread");
}

/// registry_mu held: a ring for a new thread, reusing the oldest dead ring of this session once
/// more than dead_rings_kept are dead (its records count as dropped).
trace_ring* new_ring_locked(registry& r, std::uint64_t session) {
  std::size_t dead = 0;
  for (auto& p : r.rings)
    if (!p->alive_) ++dead;
  if (dead > dead_rings_kept) {
    for (auto& p : r.rings) {
      if (!p->alive_ && p->capacity() == r.capacity) {
        // relaxed: we hold registry_mu and the ring's owner has exited (no writer).
        r.recycled_dropped += p->head_.load(std::memory_order_relaxed);
        // relaxed: as above.
        p->head_.store(0, std::memory_order_relaxed);
        p->alive_ = true;
        p->session_ = session;
        p->pending_wake_ = nullptr;
        p->running_at_reset_ = nullptr;
        p->stamp_all_ = true;
        p->stamp_every_ = 1;
        return p.get();
      }
    }
  }
  r.rings.push_back(std::make_unique<trace_ring>(r.capacity));
  r.rings.back()->session_ = session;
  return r.rings.back().get();
}

[[gnu::noinline, gnu::cold]] trace_ring* register_ring(std::uint64_t session) noexcept {
  if (tls_dead) return nullptr;  // recording from a thread_local destructor: dropped
  registry& r = reg();
  try {
    std::lock_guard lk(r.mu);
    // relaxed: under registry_mu, which start() held when it bumped it (P2).
    if (!r.recording || trace_session.load(std::memory_order_relaxed) != session) return nullptr;
    trace_ring* ring = tls_ring;
    if (ring != &trace_no_ring && ring->capacity() == r.capacity) {
      // relaxed: owner thread, under registry_mu (no reader meanwhile).
      ring->head_.store(0, std::memory_order_relaxed);
      ring->session_ = session;
      ring->pending_wake_ = nullptr;  // a wake-up of the previous session (I2)
      ring->stamp_all_ = true;
      ring->stamp_every_ = 1;
    } else {
      if (ring != &trace_no_ring) {  // a ring of an older session with another size: replace it
        std::erase_if(r.rings, [ring](const std::unique_ptr<trace_ring>& p) { return p.get() == ring; });
      } else {
        static thread_local ring_owner owner;  // marks the ring dead at thread exit
        (void)owner;
      }
      ring = new_ring_locked(r, session);
      tls_ring = ring;
    }
    thread_name(ring->name_);
    ring->os_tid_ = static_cast<int>(::syscall(SYS_gettid));
    // A worker's scheduler hooks append through its cached pointer (trace_hooks.hpp): keep it
    // equal to this thread's ring (T3), also when the ring was just replaced (the old one is freed).
    // The task this thread runs now (the recording started inside it), for a `handoff` whose
    // parking task has no switch-in in the ring (trace_json.cpp, unfold).
    ring->running_at_reset_ = current_task();
    if (worker* w = current_worker()) {
      w->trace_ring_ = ring;
      // A worker's time base is its switch-ins (stamped); the rest is stamped only when precise.
      // relaxed: under registry_mu, which start() held when it wrote it (P2).
      ring->stamp_all_ = precise.load(std::memory_order_relaxed);
      // relaxed: as above. Precise stamps every record, hand-offs included.
      ring->stamp_every_ = ring->stamp_all_ ? 1 : stamp_every.load(std::memory_order_relaxed);
    }
    ring->stamp_skip_ = 0;
    return ring;
  } catch (...) {
    return nullptr;  // no memory for a ring: this thread's events are lost
  }
}

}  // namespace

std::vector<trace_raw> trace_ring::copy_out(std::uint64_t& dropped, const void*& running) const {
  // acquire: P1 (every record below `end` is complete).
  const std::uint64_t end = head_.load(std::memory_order_acquire);
  const std::uint64_t cap = capacity();
  std::uint64_t begin = end > cap ? end - cap : 0;
  std::vector<trace_raw> out;
  out.reserve(static_cast<std::size_t>(end - begin));
  for (std::uint64_t i = begin; i < end; ++i) {
    const std::atomic<std::uint64_t>* w = &words_[4 * (i & mask_)];
    // relaxed (x4): validated by the second head load below (P1).
    out.push_back({w[0].load(std::memory_order_relaxed), w[1].load(std::memory_order_relaxed),
                   w[2].load(std::memory_order_relaxed), w[3].load(std::memory_order_relaxed)});
  }
  // acquire: P1; records the owner may have overwritten during the copy are discarded.
  const std::uint64_t after = head_.load(std::memory_order_acquire);
  const std::uint64_t safe_begin = after > cap ? after - cap + 1 : 0;  // +1: the one being written
  if (safe_begin > begin) {
    const std::uint64_t cut = std::min<std::uint64_t>(safe_begin - begin, out.size());
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(cut));
    begin += cut;
  }
  dropped += begin;
  running = begin == 0 ? running_at_reset_ : nullptr;
  return out;
}

void trace_record(trace_kind k, const void* a, std::uint64_t b) noexcept {
  // relaxed: P2.
  const std::uint64_t session = trace_session.load(std::memory_order_relaxed);
  trace_ring* ring = tls_ring;
  if (ring->session_ != session) [[unlikely]] {  // trace_no_ring, or a ring of an older session
    ring = register_ring(session);
    if (ring == nullptr) return;
  }
  std::uint64_t aux = 0;
  bool stamp = ring->stamp_all_;
  if (k == trace_kind::send || k == trace_kind::recv) {
    aux = b;  // the status; b carries a pending wake-up (as in trace_record_op)
    b = ring->take_wake();
  } else {
    ring->flush_wake();  // trace_buffer.hpp I3: a pending wake-up happened before this event
  }
  switch (k) {
    case trace_kind::run:  // a worker's time base (its stamp_all_ was set in register_ring)
    case trace_kind::idle_begin:
      stamp = true;
      break;
    case trace_kind::spawn: {
      const task* t = static_cast<const task*>(a);
      // relaxed: written by prepare_task on this thread before submit.
      b = reinterpret_cast<std::uintptr_t>(t->spawn_file_.load(std::memory_order_relaxed));
      aux = t->spawn_line_.load(std::memory_order_relaxed);  // relaxed: as above
      stamp = true;
      break;
    }
    case trace_kind::stop_park:
    case trace_kind::stop_yield:
    case trace_kind::stop_done: {
      if (k == trace_kind::stop_park) {
        const task* t = static_cast<const task*>(a);
        // relaxed: written by the task itself (note_blocking) before it switched out to us.
        aux = reinterpret_cast<std::uintptr_t>(t->op_.load(std::memory_order_relaxed));
        b = reinterpret_cast<std::uintptr_t>(t->object_.load(std::memory_order_relaxed));  // relaxed: as above
      }
      break;
    }
    case trace_kind::actor_begin:
    case trace_kind::actor_end:
    case trace_kind::idle_end: stamp = true; break;
    default:
      // relaxed: an option; see P2.
      if (precise.load(std::memory_order_relaxed)) stamp = true;
      break;
  }
  ring->append(stamp ? ticks() | 1 : 0, static_cast<std::uint64_t>(k) | aux << 8,
               reinterpret_cast<std::uintptr_t>(a), b);
}

void trace_record_op(trace_kind k, const void* a, std::uint64_t b) noexcept {
  // relaxed: P2.
  const std::uint64_t session = trace_session.load(std::memory_order_relaxed);
  trace_ring* ring = tls_ring;
  if (ring->session_ != session) [[unlikely]] {  // trace_no_ring, or a ring of an older session
    trace_record(k, a, b);  // registers the ring
    return;
  }
  // stamp_all_ is `precise` on a worker (set when its ring registered) and true on other
  // threads: the `default` case of trace_record without its loads. The status goes to aux, b
  // carries the wake-up this thread made during the operation, if any (trace.hpp, "Folded").
  ring->append(ring->stamp_all_ ? ticks() | 1 : 0, static_cast<std::uint64_t>(k) | b << 8,
               reinterpret_cast<std::uintptr_t>(a), ring->take_wake());
}

namespace {

/// registry_mu held: copies the current session's rings.
trace_copy copy_locked(registry& r) {
  trace_copy c;
  // relaxed: under registry_mu (P2).
  const std::uint64_t session = trace_session.load(std::memory_order_relaxed);
  c.dropped = r.recycled_dropped;
  for (const auto& p : r.rings) {
    if (p->session_ != session) continue;
    trace_ring_copy rc;
    rc.name = std::string(p->name_);
    rc.os_tid = p->os_tid_;
    const void* running = nullptr;
    rc.records = p->copy_out(c.dropped, running);
    rc.running = reinterpret_cast<std::uintptr_t>(running);
    if (!rc.records.empty()) c.rings.push_back(std::move(rc));
  }
  c.tsc_start = r.tsc_start;
  c.ns_start = r.ns_start;
  return c;
}

/// Without registry_mu (a thread registering its ring must not wait for this): calibrates ticks
/// against steady_clock over the whole session, at least 20 ms of it.
void calibrate(trace_copy& c) {
  std::int64_t ns_end = steady_ns();
  while (ns_end - c.ns_start < 20'000'000) ns_end = steady_ns();
  c.tsc_end = ticks();
  const double ticks_span = static_cast<double>(c.tsc_end - c.tsc_start);
  c.ns_per_tick = ticks_span > 0 ? static_cast<double>(ns_end - c.ns_start) / ticks_span : 1.0;
}

trace::summary write_copy(trace_copy& c, std::ostream& os) {
  calibrate(c);
  const trace_written w = write_trace_json(c, os);
  trace::summary s;
  s.events = w.events;
  s.dropped = c.dropped;
  s.threads = c.rings.size();
  s.tasks = w.tasks;
  for (const trace_ring_copy& rc : c.rings)
    for (const trace_raw& rec : rc.records) s.stamped += rec.ts != 0 ? 1 : 0;
  return s;
}

void check_recording(const registry& r, const char* what) {
  if (!r.recording) throw_error(status::closed, what);
}

}  // namespace
}  // namespace weft::detail

namespace weft::trace {

void start(const options& opts) {
  using namespace weft::detail;
  registry& r = reg();
  std::lock_guard lk(r.mu);
  if (r.recording) throw_error(status::closed, "weft::trace::start: a trace is already recording (call stop first)");
  if (opts.stamp_every == 0) throw_error(status::failed, "weft::trace::start: options::stamp_every must be >= 1");
  // Rings of exited threads are freed (T1); live threads' rings are reset on their next record.
  std::erase_if(r.rings, [](const std::unique_ptr<trace_ring>& p) { return !p->alive_; });
  std::size_t cap = 64;
  while (cap < opts.buffer_events && cap < (std::size_t{1} << 30)) cap *= 2;
  r.capacity = cap;
  r.recycled_dropped = 0;
  r.ns_start = steady_ns();
  r.tsc_start = ticks();
  r.recording = true;
  // relaxed: P2 (writers re-register under registry_mu, which we hold).
  precise.store(opts.precise_timestamps, std::memory_order_relaxed);
  // relaxed: P2.
  stamp_every.store(opts.stamp_every, std::memory_order_relaxed);
  // relaxed: P2.
  trace_session.fetch_add(1, std::memory_order_relaxed);
  // relaxed: the hooks' flags publish nothing (P2).
  trace_chan_flag.store(opts.channel_events, std::memory_order_relaxed);
  // relaxed: as above.
  trace_flag.store(true, std::memory_order_relaxed);
}

summary snapshot(std::ostream& os) {
  using namespace weft::detail;
  registry& r = reg();
  trace_copy c;
  {
    std::lock_guard lk(r.mu);
    check_recording(r, "weft::trace::snapshot: no trace is recording (call start first)");
    c = copy_locked(r);
  }
  return write_copy(c, os);
}

summary stop(std::ostream& os) {
  using namespace weft::detail;
  registry& r = reg();
  trace_copy c;
  {
    std::lock_guard lk(r.mu);
    check_recording(r, "weft::trace::stop: no trace is recording (call start first)");
    // relaxed: P2; a hook that still sees `true` appends to its ring, which copy_out tolerates.
    trace_flag.store(false, std::memory_order_relaxed);
    // relaxed: as above.
    trace_chan_flag.store(false, std::memory_order_relaxed);
    r.recording = false;
    c = copy_locked(r);
  }
  return write_copy(c, os);
}

summary stop(const std::string& path) {
  if (!is_recording()) detail::throw_error(status::closed, "weft::trace::stop: no trace is recording (call start first)");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  // The trace keeps recording when the file cannot be opened: the caller may try another path.
  if (!f) detail::throw_error(status::failed, ("weft::trace::stop: cannot open " + path + " for writing").c_str());
  summary s = stop(f);
  f.flush();
  if (!f) detail::throw_error(status::failed, ("weft::trace::stop: writing " + path + " failed").c_str());
  return s;
}

bool is_recording() noexcept {
  return detail::trace_on();
}

}  // namespace weft::trace

namespace weft::detail {
namespace {

// ---- WEFT_TRACE=<path>: record from library load to process exit ----

const char* env_trace_path = nullptr;

void write_env_trace() noexcept {
  try {
    const trace::summary s = trace::stop(std::string(env_trace_path));
    std::fprintf(stderr, "weft: trace written to %s (%llu events, %llu dropped, %zu threads)\n", env_trace_path,
                 static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.dropped), s.threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft: WEFT_TRACE: %s\n", e.what());
  }
}

/// Runs when the library is loaded (this file is linked whenever any hook is).
[[maybe_unused]] const bool env_trace_started = [] {
  const char* p = std::getenv("WEFT_TRACE");
  if (p == nullptr || *p == '\0') return false;
  env_trace_path = p;
  trace::options o;
  if (const char* n = std::getenv("WEFT_TRACE_BUFFER")) {
    const long long v = std::atoll(n);
    if (v > 0) o.buffer_events = static_cast<std::size_t>(v);
  }
  if (const char* pr = std::getenv("WEFT_TRACE_PRECISE")) o.precise_timestamps = pr[0] == '1';
  if (const char* ch = std::getenv("WEFT_TRACE_CHANNELS")) o.channel_events = ch[0] != '0';
  if (const char* se = std::getenv("WEFT_TRACE_STAMP_EVERY")) {
    const long long v = std::atoll(se);
    if (v > 0 && v <= 1'000'000) o.stamp_every = static_cast<std::uint32_t>(v);
  }
  trace::start(o);
  std::atexit([] {
    if (trace::is_recording()) write_env_trace();
  });
  return true;
}();

}  // namespace
}  // namespace weft::detail

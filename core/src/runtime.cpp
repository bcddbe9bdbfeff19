// weft::runtime's public entry points: construction and the waiting destructor, the default
// runtime, yield/sleep, stats and dump_blocked, and the blocking-info hooks. The scheduling
// itself is in scheduler.cpp.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <ostream>
#include <sstream>
#include <thread>

#include <weft/detail/blocking_info.hpp>
#include <weft/detail/trace_buffer.hpp>
#include <weft/runtime.hpp>

#include "scheduler.hpp"
#include "task_snapshot.hpp"

namespace weft {

namespace detail {

namespace {
std::atomic<std::int64_t> g_actors_live{0};

void futex_wait_word(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                     std::chrono::nanoseconds timeout) noexcept {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
  // Relative timeout (FUTEX_WAIT): only ~runtime's 1 s / 10 s reports use it.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected, &ts,
          nullptr, 0);
}

/// Every parked task of rt (dump_blocked's lines).
std::vector<task_snapshot> collect_blocked(runtime_impl* rt, const park_clock& pc) {
  std::vector<task_snapshot> out;
  std::lock_guard lk(rt->pool_mu_);
  for (task& t : rt->tasks_) {
    // relaxed: a diagnostic snapshot (task_snapshot.hpp); a task may change state as we read.
    if (t.state_.load(std::memory_order_relaxed) != task_state::parked) continue;
    out.push_back(snapshot_of(t, task_state::parked, pc));
  }
  return out;
}
}  // namespace

void note_blocking(const char* op, const void* object, const char* object_name) noexcept {
  (void)note_blocking_inline(op, object, object_name);
}

void note_blocking_chan(const char* op, const void* object, const char* name, std::size_t capacity,
                        std::size_t size) noexcept {
  (void)note_blocking_chan_inline(op, object, name, capacity, size);
}

const char* noted_blocking() noexcept {
  task_note* n = current_note_tls;
  // relaxed: only the calling task writes its own op_.
  return n != nullptr ? n->op_.load(std::memory_order_relaxed) : nullptr;
}

void note_unblocked() noexcept { note_unblocked(current_note_tls); }

void actors_live_add(std::ptrdiff_t delta) noexcept {
  // relaxed: a statistic; nothing is published through it.
  g_actors_live.fetch_add(delta, std::memory_order_relaxed);
}

std::size_t actors_live() noexcept {
  // relaxed: a statistic.
  const std::int64_t n = g_actors_live.load(std::memory_order_relaxed);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

runtime_impl::runtime_impl(const runtime_options& o)
    : opts_(o), stacks_(o.stack_size, o.guard_pages) {
  if (opts_.workers == 0) opts_.workers = std::max(1u, std::thread::hardware_concurrency());
  pooled_ = !asan_fibers;
  deterministic_ = opts_.seed != 0 && opts_.workers == 1;
  // For measuring only (bench/RESULTS.md A/B runs in one binary): WEFT_NO_DIRECT_HANDOFF=1 turns
  // the direct task-to-task switch off (scheduler.cpp D1-D3).
  const char* no_direct = std::getenv("WEFT_NO_DIRECT_HANDOFF");
  direct_handoff_ = no_direct == nullptr || no_direct[0] == '\0' || no_direct[0] == '0';
  workers_.reserve(opts_.workers);
  for (std::size_t i = 0; i < opts_.workers; ++i) workers_.push_back(new worker(this, i));
  park_clock_origin();
}

runtime_impl::~runtime_impl() {
  for (worker* w : workers_) delete w;
}

namespace {
struct clock_origin {
  std::uint64_t ticks;
  std::int64_t ns;
};
/// park_clock's origin: both clocks read once, when the first runtime is made (thread-safe
/// static initialisation).
const clock_origin& park_origin() noexcept {
  static const clock_origin o{trace_ticks(), trace_steady_ns()};
  return o;
}
}  // namespace

void park_clock_origin() noexcept { (void)park_origin(); }

park_clock::park_clock() noexcept {
  const clock_origin& o = park_origin();
  origin_ticks_ = o.ticks;
  origin_ns_ = o.ns;
  const std::uint64_t ticks = trace_ticks();
  now_ns_ = trace_steady_ns();
  // The rate over the whole span since the origin: a reading converts with about the two clock
  // reads' jitter (well under a microsecond). No span yet (the origin was this very moment): 1,
  // which only concerns readings from that moment.
  ns_per_tick_ = ticks > origin_ticks_ && now_ns_ > origin_ns_
                     ? static_cast<double>(now_ns_ - origin_ns_) / static_cast<double>(ticks - origin_ticks_)
                     : 1.0;
}

std::uint64_t since_ticks_of(const task& t) noexcept {
  // relaxed (load and CAS): diagnostic; the CAS on this one word decides between us, the task's
  // next operation and its worker's stamp pass (scheduler.cpp S1).
  std::uint64_t v = t.since_ticks_.load(std::memory_order_relaxed);
  while ((v & since_pending) != 0) {
    const std::uint64_t now = trace_ticks();
    if (t.since_ticks_.compare_exchange_weak(v, now, std::memory_order_relaxed, std::memory_order_relaxed))
      return now;
  }
  return v;
}

std::int64_t park_clock::ns(std::uint64_t ticks) const noexcept {
  if (ticks == 0) return 0;
  // Signed: tasks park only after the origin, but a reading on another core may lag it by the
  // cores' counter skew, and must not wrap around to 2^64.
  const auto delta = static_cast<std::int64_t>(ticks - origin_ticks_);
  return origin_ns_ + static_cast<std::int64_t>(static_cast<double>(delta) * ns_per_tick_);
}

void sleep_until(time_point deadline) noexcept {
  task* t = current_task_tls;
  if (t == nullptr) {
    parker& p = thread_parker();
    while (clock::now() < deadline) p.park_until(deadline);
    return;
  }
  note_blocking_inline("sleep", nullptr);
  while (clock::now() < deadline) park_task_until(t->parker_, deadline);
  note_unblocked(t);  // `t`, not the thread_local: we may have moved to another worker
}

}  // namespace detail

// ---- runtime ----

runtime::runtime(runtime_options options) : impl_(new detail::runtime_impl(options)) {
  for (detail::worker* w : impl_->workers_) w->thread_ = std::thread([w] { detail::run_worker(w); });
}

namespace {
void wait_for_tasks(runtime& rt) {
  detail::runtime_impl* r = &rt.impl();
  // seq_cst: store->load pair with end_task_bookkeeping (it decrements live_ then reads this).
  r->dtor_waiting_.store(1, std::memory_order_seq_cst);
  const auto start = std::chrono::steady_clock::now();
  auto next_report = start + std::chrono::seconds(1);
  for (;;) {
    // acquire: a bump means live_ may have reached 0; re-read it below.
    const std::uint32_t word = r->done_word_.load(std::memory_order_acquire);
    // seq_cst: see dtor_waiting_ above.
    const std::int64_t live = r->live_.load(std::memory_order_seq_cst);
    if (live == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_report) {
      std::ostringstream os;
      os << "weft: ~runtime has waited "
         << std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count() << " ms for " << live
         << " task(s); blocked tasks:\n";
      dump_blocked(rt, os);
      std::fputs(os.str().c_str(), stderr);
      std::fflush(stderr);
      next_report = now + std::chrono::seconds(10);
    }
    detail::futex_wait_word(&r->done_word_, word, next_report - std::chrono::steady_clock::now());
  }
}

/// Ends every pooled fiber (they wait in their loop for the next task) from this thread.
void end_fibers(detail::runtime_impl* r) {
  detail::fiber_side self = detail::this_thread_fiber_side();
  for (detail::task& t : r->tasks_) {
    if (t.ctx_) {
      t.quit_ = true;
      t.resumer_ = &self;
      detail::switch_fiber(t.ctx_, self, t.side_);
    }
    detail::tsan_destroy_fiber(t.side_.tsan_fiber_);
  }
}
}  // namespace

runtime::~runtime() {
  detail::task* self = detail::current_task_tls;
  if (self != nullptr && self->rt_ == impl_) {
    std::fputs("weft: ~runtime called from one of its own tasks: it would wait for itself forever\n", stderr);
    std::abort();
  }
  wait_for_tasks(*this);
  // I5 of scheduler.hpp: a thread that woke or spawned the last task may still be in inject().
  // acquire: pairs with inject()'s release decrement.
  while (impl_->injecting_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  // seq_cst: P3 of scheduler.cpp (idle workers re-check stopping_ after announcing idleness).
  impl_->stopping_.store(true, std::memory_order_seq_cst);
  for (detail::worker* w : impl_->workers_) {
    // release: pairs with sleep_until_woken's acquire exchange.
    w->wake_word_.store(1, std::memory_order_release);
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w->wake_word_), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1,
            nullptr, nullptr, 0);
  }
  for (detail::worker* w : impl_->workers_) w->thread_.join();
  end_fibers(impl_);
  delete impl_;
}

std::size_t runtime::workers() const noexcept { return impl_->workers_.size(); }
const runtime_options& runtime::options() const noexcept { return impl_->opts_; }

namespace {
// The default runtime once made (stats()/dump_blocked() do not make it just to report on it).
std::atomic<runtime*> g_default{nullptr};
}  // namespace

runtime* detail::default_runtime_if_made() noexcept {
  // acquire: pairs with default_runtime()'s release store.
  return g_default.load(std::memory_order_acquire);
}

runtime& default_runtime() {
  // Never destroyed: at process exit, tasks still blocked must not make exit wait.
  static runtime* rt = [] {
    auto* r = new runtime();
    // release: publishes the constructed runtime to stats()/dump_blocked()'s acquire load.
    g_default.store(r, std::memory_order_release);
    return r;
  }();
  return *rt;
}

// ---- yield ----

void yield() noexcept {
  detail::task* t = detail::current_task_tls;
  if (t == nullptr) {
    std::this_thread::yield();
    return;
  }
  detail::task_yield(t);
}

// ---- observability ----

runtime_stats stats() {
  // acquire: pairs with default_runtime()'s release store.
  if (runtime* rt = g_default.load(std::memory_order_acquire)) return stats(*rt);
  runtime_stats s;
  s.actors_live = detail::actors_live();
  return s;
}

runtime_stats stats(runtime& rt) {
  detail::runtime_impl* r = &rt.impl();
  runtime_stats s;
  // relaxed: a snapshot.
  const std::int64_t live = r->live_.load(std::memory_order_relaxed);
  s.tasks_live = live > 0 ? static_cast<std::size_t>(live) : 0;
  s.actors_live = detail::actors_live();
  // relaxed: a snapshot.
  const std::int64_t injected = r->inject_count_.load(std::memory_order_relaxed);
  s.global_queue_depth = injected > 0 ? static_cast<std::size_t>(injected) : 0;
  // tasks_blocked: parks that took effect minus resumptions after one, per worker (O(workers),
  // no lock: stats() stays well under 1 us with 100k tasks). A task woken but not yet running
  // still counts as blocked.
  std::int64_t blocked = 0;
  s.workers.reserve(r->workers_.size());
  for (detail::worker* w : r->workers_) {
    // relaxed (both): statistics with a single writer each.
    blocked += static_cast<std::int64_t>(w->blocked_in_.load(std::memory_order_relaxed));
    blocked -= static_cast<std::int64_t>(w->blocked_out_.load(std::memory_order_relaxed));  // relaxed: as above
  }
  s.tasks_blocked = blocked > 0 ? static_cast<std::size_t>(blocked) : 0;
  for (detail::worker* w : r->workers_) {
    worker_stats ws;
    // relaxed (all): statistics with a single writer each.
    ws.run_queue_depth = w->runq_.size() + (w->runnext_.load(std::memory_order_relaxed) != nullptr ? 1 : 0);
    ws.tasks_run = w->tasks_run_.load(std::memory_order_relaxed);
    ws.steals = w->steals_.load(std::memory_order_relaxed);
    ws.parks = w->parks_.load(std::memory_order_relaxed);
    s.workers.push_back(ws);
  }
  return s;
}

void dump_blocked(std::ostream& os, std::chrono::nanoseconds older_than) {
  // acquire: pairs with default_runtime()'s release store.
  if (runtime* rt = g_default.load(std::memory_order_acquire)) dump_blocked(*rt, os, older_than);
}

void dump_blocked(runtime& rt, std::ostream& os, std::chrono::nanoseconds older_than) {
  const detail::park_clock pc;
  std::vector<detail::task_snapshot> lines = detail::collect_blocked(&rt.impl(), pc);
  const std::int64_t now = pc.now_ns();
  std::sort(lines.begin(), lines.end(), [](const detail::task_snapshot& a, const detail::task_snapshot& b) {
    return a.since_ns < b.since_ns;
  });
  for (const detail::task_snapshot& l : lines) {
    const std::int64_t waited = l.since_ns != 0 ? std::max<std::int64_t>(0, now - l.since_ns) : 0;
    if (waited < older_than.count()) continue;
    char buf[512];
    char object[96];
    detail::format_blocked_object(object, sizeof object, l);
    std::snprintf(buf, sizeof buf, "%-8s object=%s%s%s%s spawned=%s:%u waiting=%.3fs\n",
                  l.op != nullptr ? l.op : "park", object, l.name != nullptr ? " (\"" : "",
                  l.name != nullptr ? l.name : "", l.name != nullptr ? "\")" : "", l.file != nullptr ? l.file : "?",
                  l.line, static_cast<double>(waited) / 1e9);
    os << buf;
  }
}

}  // namespace weft

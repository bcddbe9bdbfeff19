// Private: the runtime's task object, worker and shared state. See scheduler.cpp for the
// scheduling loop and the park/unpark protocol, runtime.cpp for the public entry points.
//
// Invariants:
//   I1  A task object is never freed while its runtime lives: tasks are pooled (per-worker free
//       lists over a shared pool), so a pointer to a task's parker never dangles. (No unpark
//       arrives late for a task: parker I3; the plain-store wake in scheduler.cpp depends on it.)
//   I2  task::state_ == parked iff the task's parker word is `parked` / `parked_timed` or a
//       waker/timer has just moved it off that and is about to make the task runnable; only the
//       one that moved the parker word off it makes the task runnable (exactly one enqueue per
//       park). (Briefly not while finalise_park undoes a park: a token that came during the
//       switch-out, or a failed deferred publish, scheduler.cpp P5; the worker runs the task
//       again itself.)
//   I3  A task's fiber is switched out completely before its parker word becomes `parked`
//       (`parked_timed`): only code that runs after the switch away from it returned publishes
//       it (its worker's scheduler loop, or the task it switched directly to: scheduler.cpp D2).
//   I4  runtime_impl::live_ counts tasks between prepare_task and the end of their closure.
//   I5  No thread touches a runtime_impl after ~runtime deleted it: workers are joined first, and
//       a thread in inject() is counted in injecting_ from before its enqueue to its last access.
//   I6  Only a worker's own thread stores into its runnext_, except a thief's exchange(nullptr);
//       with one worker (worker::sole_) steal() returns at once, so the owner is the only writer
//       and needs no read-modify-write on it (plain loads and stores, scheduler.cpp).
// Protocol (who may touch what):
//   task::ctx_, side_, reason_, park_deadline_, invoke_, closure_, publish_word_, publish_value_,
//       park_published_   the thread running the task or its scheduler loop (the publish fields:
//       set by park_task_publish, consumed by finalise_park on the same thread); handed between
//       workers through the run queues (release/acquire).
//   worker::free_, timers_, det_ready_, runnext_streak_   the worker's own thread only.
//   runtime_impl::pool_mu_   guards the shared free list, the task registry and the stack pool.
//   runtime_impl::idle_mu_   guards idle_ and worker::in_idle_.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include <weft/detail/blocking_info.hpp>
#include <weft/detail/fiber_switch.hpp>
#include <weft/detail/parker.hpp>
#include <weft/detail/platform.hpp>
#include <weft/detail/run_queue.hpp>
#include <weft/detail/stack_pool.hpp>
#include <weft/detail/task.hpp>
#include <weft/detail/timer_heap.hpp>
#include <weft/runtime.hpp>

namespace weft::detail {

struct trace_ring;
extern trace_ring trace_no_ring;  // <weft/detail/trace_buffer.hpp>
struct worker;
struct runtime_impl;

/// Why a task switched back to its scheduler; written by the task, read by the scheduler loop.
enum class switch_reason : std::uint8_t {
  park,      ///< park_task_until: finalise the park (publish `parked`, arm the timer)
  yield,     ///< yield(): requeue at the back
  finished,  ///< the closure returned: recycle the task
};

/// For observers (stats, dump_blocked). Written by the scheduler side, read by anyone.
enum class task_state : std::uint8_t {
  free,      ///< in a pool; observers skip it
  runnable,  ///< in a queue (or about to be)
  running,   ///< on a worker
  parked,    ///< blocked: counted in tasks_blocked, listed by dump_blocked (I2)
};

// The note (blocking_info.hpp: op_, object_, object_name_, since_ticks_, chan_cap_, chan_size_,
// on_chan_) is a base, so that channel code reaches it through current_note_tls.
struct task : task_note {
  explicit task(runtime_impl* rt) noexcept : parker_(this), rt_(rt) {}
  task(const task&) = delete;
  task& operator=(const task&) = delete;

  /// The task's stack: side_ describes it for the sanitizers' switch annotations anyway, so the
  /// task keeps it only there (a task object is part of every idle task's memory).
  stack_block stack() const noexcept { return stack_block{side_.stack_lo_, side_.stack_size_}; }

  // ---- switching (the running thread / its scheduler; see Protocol) ----
  boost::context::fiber ctx_;       // the other side of the current switch (see fiber_switch.hpp)
  fiber_side side_;                 // this task's stack (see stack()) and sanitizer state
  const fiber_side* resumer_ = nullptr;  // the scheduler side that resumed us (switch target)
  worker* worker_ = nullptr;        // the worker running the task (set before each switch-in)
  switch_reason reason_ = switch_reason::park;
  bool quit_ = false;               // ~runtime: leave the fiber's loop
  bool heap_closure_ = false;
  bool claim_canary_ = false;       // start_fiber writes the stack's canary (stack_pool.hpp I3)
  bool park_published_ = false;     // park_task_publish's outcome (finalise_park writes it)
  time_point park_deadline_{};
  task_invoke_fn invoke_ = nullptr;
  void* closure_ = nullptr;         // inline_closure_, the stack's top, or the heap (heap_closure_)
  task* next_free_ = nullptr;       // free-list link (pool side only)
  // park_task_publish's CAS of publish_word_ from 0 to publish_value_, for finalise_park.
  std::atomic<std::uintptr_t>* publish_word_ = nullptr;
  std::uintptr_t publish_value_ = 0;

  parker parker_;                   // the task's parker: token word shared with wakers
  runtime_impl* const rt_;

  // ---- shared with wakers, timers and observers ----
  // The park sequence number: +1 by the scheduler loop at each park; timers compare it to
  // recognise stale entries. relaxed everywhere: a stale read only causes a spurious wake-up,
  // which park_task_until() absorbs (it re-checks its deadline).
  std::atomic<std::uint64_t> park_seq_{0};
  std::atomic<task_state> state_{task_state::free};
  // Observability (relaxed: diagnostic snapshots; nothing is published through them); the
  // blocking note itself is the task_note base. The one-byte and four-byte fields sit together
  // after state_, so they fill one word.
  std::atomic<bool> timed_park_{false};       // the current park has a deadline (a timer pending)
  std::atomic<std::uint32_t> spawn_line_{0};
  std::atomic<const char*> spawn_file_{nullptr};
  std::atomic<std::uint64_t> scope_{0};       // leak_check scope, inherited from the spawner

  // A small closure lives here (task.hpp: why not on the stack). Last: only spawn and the task's
  // first run touch it.
  alignas(task_inline_closure_align) std::byte inline_closure_[task_inline_closure_capacity];
};

/// The leak_check scope of the calling OS thread (0: none); tasks inherit their spawner's.
extern constinit thread_local std::uint64_t leak_scope_tls [[gnu::tls_model("initial-exec")]];

struct worker {
  worker(runtime_impl* rt, std::size_t index) noexcept;

  runtime_impl* const rt_;
  const std::size_t index_;

  run_queue<task> runq_;
  // The run-next slot: the owner exchanges tasks in; thieves may take it with exchange(nullptr).
  // With one worker there is no thief: plain loads and stores (I6); observers only read it.
  alignas(cache_line_size) std::atomic<task*> runnext_{nullptr};
  // The worker's futex word: 1 = a wake-up token. Wakers store 1 and futex-wake.
  alignas(cache_line_size) std::atomic<std::uint32_t> wake_word_{0};
  bool in_idle_ = false;   // guarded by rt_->idle_mu_
  bool spinning_ = false;  // owner only; counted in rt_->nspinning_ while true

  // ---- owner only ----
  alignas(cache_line_size) std::uint32_t runnext_streak_ = 0;
  const bool sole_;        // the runtime's only worker: nobody steals from it (I6)
  const bool handoff_ok_;  // direct task-to-task switches allowed (direct_handoff_, not deterministic)
  std::uint32_t tick_;  // picks left until the global queue's turn (scheduler.cpp global_queue_turn)
  std::uint32_t npending_ = 0;  // entries in pending_ (scheduler.cpp S1)
  std::uint64_t rng_;
  timer_heap<task> timers_;
  std::size_t timers_compact_at_ = 1024;  // clean stale timer entries when the heap reaches this
  std::vector<task*> det_ready_;  // deterministic mode: every runnable task
  // Direct switch in flight (scheduler.cpp D1-D2): the task that switched straight into the one
  // now running, and the scheduler's context that task held (its way back to the loop).
  task* handoff_from_ = nullptr;
  boost::context::fiber sched_ctx_;
  task* free_ = nullptr;
  std::size_t nfree_ = 0;
  fiber_side side_;  // the worker thread's own stack (switch target for its tasks)
  moodycamel::ConsumerToken* inject_token_ = nullptr;
  trace_ring* trace_ring_ = &trace_no_ring;  // this thread's flight-recorder ring (trace.cpp T3)
  // Parks since the last return to the scheduler loop whose "blocked since" is still to be
  // stamped (scheduler.cpp S1): the task and the pending value its park stored.
  struct pending_stamp {
    task* t;
    std::uint64_t token;
  };
  static constexpr std::uint32_t pending_max = 64;  // > runnext_cap + 1: a chain never fills it
  pending_stamp pending_[pending_max];

  // ---- stats: written by the owner (relaxed load+store, one writer), read by anyone ----
  std::atomic<std::uint64_t> tasks_run_{0}, steals_{0}, parks_{0};
  // Parks (finalise_park) / resumptions after one (park_task_until): tasks_blocked = sum in -
  // sum out, O(workers).
  std::atomic<std::uint64_t> blocked_in_{0}, blocked_out_{0};

  std::thread thread_;
};

struct runtime_impl {
  explicit runtime_impl(const runtime_options& o);
  ~runtime_impl();

  runtime_options opts_;
  bool pooled_ = true;         // false under ASan: a fresh stack and fiber per task
  bool deterministic_ = false;
  bool direct_handoff_ = true;  // scheduler.cpp D1-D3 (off: WEFT_NO_DIRECT_HANDOFF=1, for measuring)
  std::vector<worker*> workers_;

  // Global injection queue (order does not matter here, so moodycamel fits).
  moodycamel::ConcurrentQueue<task*> inject_;
  // How many tasks inject_ holds, as a hint and for the wake protocol: +n after an enqueue
  // (seq_cst, see wake_one_if_needed), -n after a dequeue.
  alignas(cache_line_size) std::atomic<std::int64_t> inject_count_{0};
  alignas(cache_line_size) std::atomic<std::uint32_t> nspinning_{0};  // searching workers
  std::atomic<std::uint32_t> nidle_{0};                               // sleeping workers
  std::atomic<bool> stopping_{false};
  std::mutex idle_mu_;
  std::vector<worker*> idle_;

  alignas(cache_line_size) std::atomic<std::int64_t> live_{0};  // I4
  // Threads inside inject() (a spawn or a wake-up from outside the workers): ~runtime waits for
  // 0 after live_ reached 0, because the task they enqueued may run and end before inject()
  // returns (I5).
  std::atomic<std::uint32_t> injecting_{0};
  std::atomic<std::uint32_t> dtor_waiting_{0};
  std::atomic<std::uint32_t> done_word_{0};  // futex word bumped when live_ reaches 0

  std::mutex pool_mu_;
  std::deque<task> tasks_;       // the registry: every task ever made (I1)
  task* pool_free_ = nullptr;    // shared free list (pool_mu_)
  stack_pool stacks_;

  // ---- scheduling entry points (scheduler.cpp) ----
  void inject(task* t) noexcept;
  void wake_one_if_needed() noexcept;
  task* take_from_pool();                    // pool_mu_; grows the pool if empty (may throw bad_alloc)
  void give_to_pool(task* first, task* last, std::size_t n) noexcept;
};

/// The worker the calling thread is (nullptr on other threads). noinline: a fiber may resume on
/// another thread, so no caller may keep a thread_local's address across a switch.
[[gnu::noinline]] worker* current_worker() noexcept;

void run_worker(worker* w) noexcept;
void make_runnable(task* t) noexcept;          // a parked task that a waker/timer now owns (I2)
void release_task_stack(runtime_impl* rt, task* t) noexcept;
/// "Blocked since" (task::since_ticks_) is a reading of the CPU's tick counter (trace_ticks: the
/// TSC on x86-64, the virtual counter on AArch64, steady_clock elsewhere) for the first park of
/// each blocking operation, taken lazily (scheduler.cpp S1: a direct hand-off reads no clock).
/// Observers turn readings into steady_clock ns with a
/// park_clock, which measures the counter's rate against steady_clock since the first runtime
/// was made (the counter is invariant on the CPUs weft targets, as the flight recorder assumes).
class park_clock {
 public:
  park_clock() noexcept;
  /// steady_clock ns now.
  std::int64_t now_ns() const noexcept { return now_ns_; }
  /// steady_clock ns of a reading; 0 for 0 (no reading).
  std::int64_t ns(std::uint64_t ticks) const noexcept;

 private:
  std::uint64_t origin_ticks_;
  std::int64_t origin_ns_;
  std::int64_t now_ns_;
  double ns_per_tick_;
};
/// since_ticks_'s mark for a park not stamped yet (scheduler.cpp S1); below it, tick readings
/// (the TSC would need a century to reach it).
inline constexpr std::uint64_t since_pending = std::uint64_t{1} << 63;
/// t's "blocked since" reading for an observer (0: not blocked). A park not stamped yet gets the
/// observer's own clock reading now (later than the park, never earlier), and keeps it: later
/// looks see the same reading (the watchdog keys its reports on it).
std::uint64_t since_ticks_of(const task& t) noexcept;
/// Fixes park_clock's origin (the first call wins): every runtime_impl calls it when it is made,
/// before any of its tasks can park.
void park_clock_origin() noexcept;
/// Switches the calling task t out with reason `yield` (it is requeued at the back).
void task_yield(task* t) noexcept;

}  // namespace weft::detail

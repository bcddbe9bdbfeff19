// The worker loop, the park/unpark protocol for tasks, and the idle/wake protocol for workers.
//
// Each worker runs `run_worker`: pick a task (find_runnable), switch into its fiber (run_task),
// and when the fiber switches back, act on why (park, yield, finished). Picking order: due timers
// become runnable; every 61st pick looks at the global queue first (so injected tasks cannot
// starve); then the run-next slot (at most `runnext_cap` times in a row, so a pair of tasks that
// keep waking each other cannot starve the local queue); then the local queue; then the global
// queue; then stealing (as a "spinning" searcher, at most half the busy workers at once); then
// the worker parks on its futex until woken or until its earliest timer.
//
// Direct hand-off: a task that parks right after waking another (a rendezvous ping-pong, a
// request and its reply) switches straight into the woken task when that task is in its worker's
// run-next slot, instead of switching to the scheduler loop and from there to the woken task.
// Half the switches and no loop pass (W5: two tasks on one worker over unbuffered channels).
//
// Invariants (see also scheduler.hpp I1-I6):
//   D1  While a task runs, its ctx_ holds the context to leave by: the scheduler loop's. The loop's
//       own switch returns with whichever task switched back last (current_task_tls), and that
//       task's context is stored in it.
//   D2  worker::handoff_from_ != nullptr only between a direct switch and the resumed() call of
//       the task it switched to: that task takes the scheduler context from worker::sched_ctx_,
//       stores the switcher's context in the switcher, and completes the switcher's switch out
//       (canary check, finalise_park) as the loop would: I3 holds, since the switcher's fiber is
//       saved before the target runs.
//   D3  A direct switch consumes the run-next slot under the loop's fairness rules: it counts in
//       runnext_streak_ (at most runnext_cap in a row, then the loop runs: local queue, due
//       timers) and in tick_ (the global queue's turn every global_queue_interval picks goes
//       through the loop). Never in deterministic mode (the seed picks every next task).
//   S1  "Blocked since" is stamped lazily. A task's first park of an operation stores
//       since_pending | (its next park sequence) as a token and records (task, token) in its
//       worker's pending_ list, instead of reading the clock (a TSC read is ~10 ns here, about a
//       tenth of a W5 round trip, paid twice per round trip). The worker stamps the list with
//       one clock reading whenever a switch returns to its scheduler loop (stamp_pending), by
//       CAS from the token, so a park that is over (token gone) keeps whatever it has now. An
//       observer that finds a token stamps it with its own reading (since_ticks_of). So the
//       reading is never earlier than the park, and later by at most the direct hand-off chain
//       that followed it (at most runnext_cap task runs) or the time until someone looked.
//       Go's "waitsince" is stamped later still: at the next garbage collection. While a trace
//       records, the park reads the clock itself: the hand-off record needs that reading anyway
//       (unless trace::options::stamp_every skips this hand-off's stamp: then lazily, as above).
//   W1  nspinning_ counts workers with spinning_ == true, plus one for a worker a waker has
//       popped from idle_ and not yet seen wake up (it takes over the count when it wakes).
//   W2  nidle_ == idle_.size() whenever idle_mu_ is not held.
// Protocol:
//   Parking a task (I3): the task sets reason_ = park and switches out; its worker, after the
//     switch returned, CASes the parker word empty -> parked (no deadline) or parked_timed (a
//     deadline: a timer entry is added). A token that arrived meanwhile (word == notified)
//     makes the CAS fail and the worker runs the task again at once.
//   Parking with a deferred publish (park_task_publish; the unbuffered channel's plain waits by
//     tasks): the task's wait is not reachable yet when it switches out. Its worker then stores
//     the word `parked` without a CAS -- no waker can know the task, and parker I3 leaves no
//     earlier unpark in flight; a stale token is dropped, which costs only a spurious wake-up
//     that never happens -- and then makes the wait reachable by CASing the given word from 0
//     (the channel's slot). If that CAS fails, the word goes back to `empty` and the task is
//     runnable again at once (its worker runs it next from the loop; after a direct switch it
//     joins the local queue, as after a token race), told that nothing was published. Observers
//     count the task blocked from its switch-out on, before its wait is reachable. One locked
//     instruction per park fewer on W5's hand-off (the registration's CAS is needed anyway).
//     Go's gopark does the same: the channel's unlock runs on g0 after the switch
//     (runtime/proc.go, park_m).
//   Waking a task (I2): unpark_task first looks at the word. `parked` (no deadline): nobody but
//     this waker may write the word until the task runs again -- the task is switched out and
//     finalised, no timer may take a `parked` word (timers only CAS parked_timed, so a stale
//     entry of an earlier timed park cannot either), and no other unpark is in flight (parker
//     I3: the task's previous wait ended only after its waker's unpark returned, and this wait
//     has one waker) -- so the waker takes it with a plain store of `empty` and enqueues the
//     task: no locked instruction on the hand-off's critical path (W5). Otherwise (the owner is
//     still switching out, or parked with a deadline, which its timer may take) it exchanges
//     the word to notified; if it was parked or parked_timed, the waker owns the wake-up and
//     enqueues the task (run-next slot of the waker's worker, or the global queue). A due timer
//     CASes parked_timed -> empty for the same ownership.
//   Waking a worker: whoever publishes work calls wake_one_if_needed(); a worker going idle
//     registers in idle_ (nidle_ += 1) and then re-checks every queue before it sleeps.
// Orderings:
//   P1  finalise_park's CAS empty->parked/parked_timed (release) -> unpark_task's load or
//       exchange / the timer's CAS (acquire): the switched-out fiber (task::ctx_) is visible to
//       the waker that enqueues it.
//   P2  unpark_task's exchange(notified) (release) -> park_task_until's exchange(empty)
//       (acquire): the waker's writes before unpark are visible to the woken task (parker P1).
//       A plain-store wake leaves no token: the run queue's hand-off (P4) publishes them instead.
//   P3  Wake protocol, all seq_cst: [publish work (run_queue tail store, or inject_count_ RMW);
//       load nidle_; load nspinning_] vs [nidle_ RMW; load the queues]. Each side stores then
//       loads; with acquire/release both could miss the other and a task would sit in a queue
//       with every worker asleep.
//   P4  Run queues and the global queue hand a task (and all its fields) from the enqueuing
//       thread to the dequeuing one with release/acquire (run_queue.hpp P1, moodycamel).
//   P5  park_task_publish: the word's `parked` store (relaxed) and the switched-out fiber come
//       before the publishing CAS (release) in the worker's program order; whoever takes the
//       published wait does so with an acquire RMW of that word (the channel's claim or spill),
//       then unpark_task's acquire load finds `parked` (P1's role without finalise_park's CAS).
#include <linux/futex.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>

#include <weft/detail/trace.hpp>

#include "scheduler.hpp"
#include "trace_hooks.hpp"

namespace weft::detail {

// initial-exec (the libraries' thread_locals on hot paths): one %fs-relative load. The default
// model of -fPIC code calls __tls_get_addr, and even where the linker relaxes that call away,
// the compiler has already saved registers around it (note_blocking_chan pushed five for eight
// stores). Linked into a program (statically or as a shared library it loads at start), this
// always works; a shared object that contains weft and is loaded with dlopen needs about 200
// bytes of glibc's spare static TLS (512 by default, shared with other such libraries).
constinit thread_local task* current_task_tls [[gnu::tls_model("initial-exec")]] = nullptr;
constinit thread_local task_note* current_note_tls [[gnu::tls_model("initial-exec")]] = nullptr;
constinit thread_local std::uint64_t leak_scope_tls [[gnu::tls_model("initial-exec")]] = 0;

namespace {

constinit thread_local worker* tls_worker [[gnu::tls_model("initial-exec")]] = nullptr;

/// Consecutive run-next picks before the local queue gets a turn.
constexpr std::uint32_t runnext_cap = 32;
/// Every this many picks, the global queue is looked at first (Go's value).
constexpr std::uint32_t global_queue_interval = 61;
/// Rounds over all victims a searching worker makes before it parks.
constexpr int steal_rounds = 4;
/// Timers closer than this are waited for by spinning: a futex timeout wakes 5-60 us late on
/// this VM even with 1 ns timer slack (the same window as the thread parker).
constexpr auto final_spin_window = std::chrono::microseconds(100);
/// The idle spin before parking (see idle_spin()); a relax is ~10-40 ns on current x86.
constexpr int idle_spin_relaxes = 256;
/// Per-worker free-task cache bounds.
constexpr std::size_t free_cache_max = 256;
constexpr std::size_t pool_batch = 32;
constexpr std::size_t pool_grow = 64;

// ---- futex on a worker's wake word ----
timespec to_timespec(time_point t) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

void futex_wait_until(std::atomic<std::uint32_t>* word, std::uint32_t expected, time_point deadline) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t), "futex word is 32 bits");
  if (deadline == no_deadline) {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
            expected, nullptr, nullptr, FUTEX_BITSET_MATCH_ANY);
  } else {
    const timespec ts = to_timespec(deadline);  // absolute, CLOCK_MONOTONIC (= steady_clock)
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
            expected, &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
  }
}

void futex_wake(std::atomic<std::uint32_t>* word, int n) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, nullptr,
          nullptr, 0);
}

std::uint64_t next_random(std::uint64_t& s) noexcept {  // xorshift64*
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1Dull;
}

std::uint64_t splitmix(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void bump(std::atomic<std::uint64_t>& counter) noexcept {
  // relaxed: a statistic with one writer (the owning worker); readers want a recent value only.
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// ---- the task fiber ----

/// Boost.Context's stack allocator for preallocated stacks: the pool owns the memory.
struct pooled_stack {
  boost::context::stack_context allocate() { std::abort(); }
  void deallocate(boost::context::stack_context&) noexcept {}
};

void resumed(task* self, boost::context::fiber&& from) noexcept;
void switch_to_scheduler(task* t) noexcept;

boost::context::fiber task_main(task* t, boost::context::fiber&& from) noexcept {
  fiber_entered();
  resumed(t, std::move(from));
  for (;;) {
    t->invoke_(t->closure_);
    t->reason_ = switch_reason::finished;
    if (!t->rt_->pooled_) break;  // AddressSanitizer: this fiber and its stack end with the task
    switch_to_scheduler(t);
    if (t->quit_) break;  // ~runtime is taking the pool down
  }
  fiber_exiting(*t->resumer_);
  return std::move(t->ctx_);
}

/// Where a closure too large for the task object goes: task_closure_capacity bytes at the top of
/// the task's stack, aligned to task_closure_align (a slab stack ends 16 bytes below a page
/// boundary, stack_pool.hpp I3, so its top is not). The fiber's frames start below it.
std::byte* stack_closure_area(const task* t) noexcept {
  std::byte* area = t->stack().hi() - task_closure_capacity;
  return area - reinterpret_cast<std::uintptr_t>(area) % task_closure_align;
}

void start_fiber(task* t) {
  // A slab stack's canary lies in its neighbour's top page: write it rather than let the first
  // canary check read it (stack_pool.hpp I3). Once per stack (the fiber outlives reuse).
  if (t->claim_canary_) stack_pool::claim_canary(t->stack());
  std::byte* top = stack_closure_area(t);
  boost::context::stack_context sctx;
  sctx.sp = top;
  // The fiber's stack ends above the canary, so no legitimate frame ever writes it.
  sctx.size = static_cast<std::size_t>(top - (t->stack().lo_ + stack_pool::canary_bytes));
  t->ctx_ = boost::context::fiber(std::allocator_arg, boost::context::preallocated(top, sctx.size, sctx),
                                  pooled_stack{},
                                  [t](boost::context::fiber&& s) { return task_main(t, std::move(s)); });
}

[[noreturn, gnu::cold, gnu::noinline]] void report_stack_overflow(const task* t) noexcept {
  // relaxed: diagnostic reads of the spawn site (written before the task first ran).
  const char* file = t->spawn_file_.load(std::memory_order_relaxed);
  std::fprintf(stderr,
               "weft: stack overflow in a task spawned at %s:%u: it used more than its %zu-byte stack "
               "(the zero canary at the stack's low end was overwritten). Raise runtime_options::stack_size, "
               "or set runtime_options::guard_pages to fault at the overflowing frame.\n",
               file != nullptr ? file : "?",
               t->spawn_line_.load(std::memory_order_relaxed),  // relaxed: as above
               t->stack().size_);
  std::fflush(stderr);
  std::abort();
}

// ---- queues ----

/// The global queue (moodycamel) allocates a block now and then, and so does the deterministic
/// mode's ready list; if that fails, the runnable task we hold would be lost and whoever waits
/// for it would hang. Say so and stop instead.
[[noreturn, gnu::cold, gnu::noinline]] void report_lost_task(const char* where) noexcept {
  std::fprintf(stderr,
               "weft: out of memory: a run queue could not grow in %s; a runnable task would be "
               "lost (every wait on it would hang), so the process stops here.\n",
               where);
  std::fflush(stderr);
  std::abort();
}

#ifndef NDEBUG
/// Debug builds: two wake-ups of one parked task were in flight (parker I3 broken by a caller
/// of parker::unpark): the task would run twice. Stop here instead.
[[noreturn, gnu::cold, gnu::noinline]] void report_double_wake() noexcept {
  std::fprintf(stderr,
               "weft: two wake-ups of one parked task were in flight (parker I3: a task parker's "
               "unpark must return before its owner leaves the wait); the process stops here.\n");
  std::fflush(stderr);
  std::abort();
}
#endif

/// Deterministic mode: t joins the worker's ready list (the seed picks from it).
void det_push(worker* w, task* t) noexcept {
  try {
    w->det_ready_.push_back(t);
  } catch (...) {
    report_lost_task("the deterministic mode's ready list");
  }
}

void push_local(worker* w, task* t) noexcept {
  if (w->rt_->deterministic_) {
    det_push(w, t);
    return;
  }
  while (!w->runq_.push(t)) {
    // Full: move half of the queue, plus t, to the global queue (Go's runqputslow).
    task* batch[run_queue<task>::capacity / 2 + 1];
    const std::uint32_t n = w->runq_.pop_half(batch);
    if (n == 0) continue;  // a thief made room meanwhile
    batch[n] = t;
    runtime_impl* rt = w->rt_;
    if (!rt->inject_.enqueue_bulk(batch, n + 1)) report_lost_task("push_local (local queue overflow)");
    // seq_cst: P3 (the caller wakes a worker if needed after this).
    rt->inject_count_.fetch_add(static_cast<std::int64_t>(n) + 1, std::memory_order_seq_cst);
    return;
  }
}

/// The owner puts t in its run-next slot; returns what was there. On one worker without an
/// exchange (I6): W5 measured -31 ns per round trip (of ~172) on an Ice Lake VM, where a locked
/// exchange whose result the switch waits for costs far more than its instruction count.
inline task* replace_runnext(worker* w, task* t) noexcept {
  if (w->sole_) {
    // relaxed (both): no thief, this thread is the slot's only writer (I6); the task goes
    // nowhere else, so nothing needs publishing.
    task* old = w->runnext_.load(std::memory_order_relaxed);
    w->runnext_.store(t, std::memory_order_relaxed);
    return old;
  }
  // acq_rel: release publishes t to a thief that takes the slot (P4); acquire: the displaced
  // task was published to us by whoever put it there (this thread).
  return w->runnext_.exchange(t, std::memory_order_acq_rel);
}

/// The owner empties its run-next slot; returns what was there (nullptr: a thief took it).
inline task* take_runnext(worker* w) noexcept {
  if (w->sole_) {
    // relaxed (both): as in replace_runnext (I6).
    task* t = w->runnext_.load(std::memory_order_relaxed);
    if (t != nullptr) w->runnext_.store(nullptr, std::memory_order_relaxed);
    return t;
  }
  // acquire: P4 (a thief may have emptied the slot; whatever we get was published).
  return w->runnext_.exchange(nullptr, std::memory_order_acquire);
}

void push_runnext(worker* w, task* t) noexcept {
  if (w->rt_->deterministic_) {
    det_push(w, t);
    return;
  }
  task* old = replace_runnext(w, t);
  if (old != nullptr) {
    push_local(w, old);
    w->rt_->wake_one_if_needed();
  }
}

task* take_injected(worker* w) noexcept {
  runtime_impl* rt = w->rt_;
  // relaxed: a hint; the idle re-check reads it seq_cst (P3).
  if (rt->inject_count_.load(std::memory_order_relaxed) <= 0) return nullptr;
  task* buf[pool_batch];
  std::size_t want = 1;
  if (!rt->deterministic_) {
    const std::size_t room = run_queue<task>::capacity - w->runq_.size();
    want = std::min<std::size_t>(pool_batch, room / 2 + 1);
  } else {
    want = pool_batch;
  }
  const std::size_t n = rt->inject_.try_dequeue_bulk(*w->inject_token_, buf, want);
  if (n == 0) return nullptr;
  // relaxed: the count is a hint (dequeues need no ordering with it beyond the queue's own).
  rt->inject_count_.fetch_sub(static_cast<std::int64_t>(n), std::memory_order_relaxed);
  for (std::size_t i = 1; i < n; ++i) push_local(w, buf[i]);
  return buf[0];
}

void fire_timer(worker* w, const timer_heap<task>::entry& e) noexcept {
  task* t = e.task_;
  // relaxed: a stale sequence only means a spurious wake-up, which the task absorbs.
  if (t->park_seq_.load(std::memory_order_relaxed) != e.seq_) return;
  // Only a park with a deadline is a timer's to take: a stale entry (its park ended, the task
  // parked again) whose sequence check raced with that new park finds `parked` and leaves it
  // to the waker's plain store (Waking a task).
  auto expected = parker::state::parked_timed;
  // acq_rel: acquire pairs with finalise_park's release (P1); release keeps the word's history
  // ordered for the task's own exchange.
  if (!t->parker_.state_.compare_exchange_strong(expected, parker::state::empty, std::memory_order_acq_rel,
                                                  std::memory_order_relaxed))
    return;
  // relaxed: observers' snapshot; see task_state.
  t->state_.store(task_state::runnable, std::memory_order_relaxed);
  WEFT_TRACE(timer_fire, t, 0);
  push_local(w, t);
}

void run_due_timers(worker* w) noexcept {
  if (w->timers_.is_empty()) return;
  const time_point now = clock::now();
  while (!w->timers_.is_empty() && w->timers_.earliest() <= now) fire_timer(w, w->timers_.pop());
}

// ---- idle / wake ----

bool has_work_anywhere(worker* self) noexcept {
  runtime_impl* rt = self->rt_;
  // seq_cst: P3 (this worker announced itself idle, now looks for work published meanwhile).
  if (rt->stopping_.load(std::memory_order_seq_cst)) return true;
  // seq_cst: P3.
  if (rt->inject_count_.load(std::memory_order_seq_cst) > 0) return true;
  for (worker* v : rt->workers_)
    if (!v->runq_.is_empty()) return true;
  if (self->rt_->deterministic_ && !self->det_ready_.empty()) return true;
  return false;
}

void sleep_until_woken(worker* w, time_point deadline) noexcept {
  for (;;) {
    // acquire: pairs with the waker's release store; the work it published is visible (P3/P4).
    if (w->wake_word_.exchange(0, std::memory_order_acquire) != 0) return;
    if (deadline == no_deadline) {
      futex_wait_until(&w->wake_word_, 0, no_deadline);
      continue;
    }
    const time_point now = clock::now();
    if (now >= deadline) return;
    if (deadline - now > final_spin_window) {
      futex_wait_until(&w->wake_word_, 0, deadline - final_spin_window);
      continue;
    }
    // Final spin: a futex timeout would overshoot a close deadline by tens of microseconds.
    // relaxed: only a hint to stop spinning; the exchange above does the acquire.
    while (clock::now() < deadline && w->wake_word_.load(std::memory_order_relaxed) == 0) cpu_relax();
  }
}

void park_idle(worker* w) noexcept {
  runtime_impl* rt = w->rt_;
  if (w->spinning_) {
    w->spinning_ = false;
    // seq_cst: P3 (drop the searcher role before the re-check below, as Go does).
    rt->nspinning_.fetch_sub(1, std::memory_order_seq_cst);
  }
  {
    std::lock_guard lk(rt->idle_mu_);
    rt->idle_.push_back(w);
    w->in_idle_ = true;
    // seq_cst: P3 (announce idleness, then re-check the queues).
    rt->nidle_.fetch_add(1, std::memory_order_seq_cst);
  }
  if (!has_work_anywhere(w)) {
    bump(w->parks_);
    WEFT_TRACE(idle_begin, w, 0);
    sleep_until_woken(w, w->timers_.is_empty() ? no_deadline : w->timers_.earliest());
    WEFT_TRACE(idle_end, w, 0);
  }
  std::lock_guard lk(rt->idle_mu_);
  if (w->in_idle_) {
    rt->idle_.erase(std::find(rt->idle_.begin(), rt->idle_.end(), w));
    w->in_idle_ = false;
    // seq_cst: keeps nidle_ in one total order with the other P3 operations.
    rt->nidle_.fetch_sub(1, std::memory_order_seq_cst);
  } else {
    w->spinning_ = true;  // a waker popped us and counted us in nspinning_ (W1)
  }
}

task* found(worker* w, task* t) noexcept {
  if (w->spinning_) {
    w->spinning_ = false;
    // seq_cst: P3. The last searcher to find work wakes another, in case there is more.
    if (w->rt_->nspinning_.fetch_sub(1, std::memory_order_seq_cst) == 1) w->rt_->wake_one_if_needed();
  }
  return t;
}

task* steal(worker* w) noexcept {
  runtime_impl* rt = w->rt_;
  if (w->sole_) return nullptr;  // nobody to steal from; the sole worker's run-next relies on it (I6)
  const std::size_t n = rt->workers_.size();
  if (!w->spinning_) {
    // relaxed: a heuristic limit (at most half the busy workers search at once).
    const std::uint32_t spinning = rt->nspinning_.load(std::memory_order_relaxed);
    // relaxed: as above.
    const std::uint32_t idle = rt->nidle_.load(std::memory_order_relaxed);
    if (2 * spinning >= n - std::min<std::size_t>(idle, n)) return nullptr;
    w->spinning_ = true;
    // seq_cst: P3 (a publisher that sees a searcher relies on it to look).
    rt->nspinning_.fetch_add(1, std::memory_order_seq_cst);
  }
  for (int round = 0; round < steal_rounds; ++round) {
    const std::size_t start = static_cast<std::size_t>(next_random(w->rng_) % n);
    for (std::size_t i = 0; i < n; ++i) {
      worker* v = rt->workers_[(start + i) % n];
      if (v == w) continue;
      if (task* t = v->runq_.steal_into(w->runq_)) {
        bump(w->steals_);
        return t;
      }
      // The victim's run-next task will normally run as soon as its waker blocks: take it only
      // in the last round (the victim has been busy with one task for a while).
      // relaxed: a cheap look before the exchange, which does the acquire.
      if (round == steal_rounds - 1 && v->runnext_.load(std::memory_order_relaxed) != nullptr) {
        // acquire: P4 (the task was published with the owner's release exchange).
        if (task* t = v->runnext_.exchange(nullptr, std::memory_order_acquire)) {
          bump(w->steals_);
          return t;
        }
      }
    }
    if (task* t = take_injected(w)) return t;
    for (int k = 0; k < (16 << round); ++k) cpu_relax();
  }
  return nullptr;
}

/// The last spin before parking: an OS thread that spawns or wakes tasks in a burst would
/// otherwise pay a futex wake-up (5-60 us on a VM) per task. Bounded: idle_spin_relaxes CPU relax
/// instructions (about 10 us), watching only the global queue (other workers' queues were just
/// searched by steal()). Returns true if work appeared.
bool idle_spin(worker* w) noexcept {
  runtime_impl* rt = w->rt_;
  for (int i = 0; i < idle_spin_relaxes; ++i) {
    // relaxed: a hint; take_injected() does the real (ordered) dequeue.
    if (rt->inject_count_.load(std::memory_order_relaxed) > 0) return true;
    cpu_relax();
  }
  return false;
}

task* pick_deterministic(worker* w) noexcept {
  runtime_impl* rt = w->rt_;
  for (;;) {
    run_due_timers(w);
    while (task* t = take_injected(w)) det_push(w, t);
    if (!w->det_ready_.empty()) {
      const std::size_t i = static_cast<std::size_t>(next_random(w->rng_) % w->det_ready_.size());
      std::swap(w->det_ready_[i], w->det_ready_.back());
      task* t = w->det_ready_.back();
      w->det_ready_.pop_back();
      return found(w, t);
    }
    // acquire: after ~runtime saw every task end.
    if (rt->stopping_.load(std::memory_order_acquire)) return nullptr;
    if (idle_spin(w)) continue;
    park_idle(w);
  }
}

/// Counts one pick (a loop pick or a direct switch, D3); true at every global_queue_interval-th:
/// the global queue's turn. A countdown: no division on the hand-off path.
inline bool global_queue_turn(worker* w) noexcept {
  if (--w->tick_ != 0) return false;
  w->tick_ = global_queue_interval;
  return true;
}

task* find_runnable(worker* w) noexcept {
  runtime_impl* rt = w->rt_;
  if (rt->deterministic_) return pick_deterministic(w);
  for (;;) {
    run_due_timers(w);
    if (global_queue_turn(w)) {
      if (task* t = take_injected(w)) return found(w, t);
    }
    if (w->runnext_streak_ < runnext_cap) {
      // relaxed look first: the slot is usually empty when the queue is in use.
      if (w->runnext_.load(std::memory_order_relaxed) != nullptr) {
        if (task* t = take_runnext(w)) {
          ++w->runnext_streak_;
          return found(w, t);
        }
      }
    }
    w->runnext_streak_ = 0;
    if (task* t = w->runq_.pop()) return found(w, t);
    if (task* t = take_runnext(w)) {
      w->runnext_streak_ = 1;
      return found(w, t);
    }
    if (task* t = take_injected(w)) return found(w, t);
    if (task* t = steal(w)) return found(w, t);
    // acquire: after ~runtime saw every task end.
    if (rt->stopping_.load(std::memory_order_acquire)) return nullptr;
    if (idle_spin(w)) continue;
    park_idle(w);
  }
}

// ---- after a switch back ----

void add_timer(worker* w, time_point deadline, task* t, std::uint64_t seq) noexcept {
  w->timers_.push(deadline, t, seq);
  if (w->timers_.size() < w->timers_compact_at_) return;
  // Drop entries whose park is over (see timer_heap.hpp); reading another worker's task is safe
  // (type-stable, I1), and a wrong guess only keeps a stale entry or drops one whose task is
  // about to be woken anyway (fire_timer would then find it stale too, or the task re-checks its
  // deadline: a spurious wake is allowed, a lost one is not -- so only entries whose sequence
  // moved on are dropped; their park is over for good).
  w->timers_.remove_if([](const timer_heap<task>::entry& e) {
    // relaxed: see task::park_seq_; the sequence only grows, so a mismatch is final.
    return e.task_->park_seq_.load(std::memory_order_relaxed) != e.seq_;
  });
  w->timers_compact_at_ = std::max<std::size_t>(1024, 2 * w->timers_.size());
}

[[gnu::always_inline]] inline task* finalise_park(worker* w, task* t) noexcept {
  const time_point deadline = t->park_deadline_;
  // relaxed: see task::park_seq_.
  const std::uint64_t seq = t->park_seq_.load(std::memory_order_relaxed) + 1;
  // relaxed: see task::park_seq_.
  t->park_seq_.store(seq, std::memory_order_relaxed);
  // relaxed: observers' snapshot (ordered before any waker's `runnable` store by P1).
  t->state_.store(task_state::parked, std::memory_order_relaxed);
  // relaxed: observers' snapshot (the watchdog's "no timer pending").
  t->timed_park_.store(deadline != no_deadline, std::memory_order_relaxed);
  bump(w->blocked_in_);  // tasks_blocked + 1; park_task_until counts the resumption
  if (std::atomic<std::uintptr_t>* word = t->publish_word_) {
    // park_task_publish (P5): nobody can reach the wait before the CAS below publishes it, so
    // the parker word is ours and needs no CAS; a stale token of an earlier wait is dropped (it
    // would only have been a spurious wake-up).
    t->publish_word_ = nullptr;
    t->park_published_ = true;
    // relaxed: the publishing CAS (release) orders it before any waker's acquire (P5).
    t->parker_.state_.store(parker::state::parked, std::memory_order_relaxed);
    std::uintptr_t idle = 0;
    // release: P5 (the parked word, the switched-out fiber and the caller's wait to whoever
    // takes the published value). Failure relaxed: the wait stays unpublished; the task retries.
    if (word->compare_exchange_strong(idle, t->publish_value_, std::memory_order_release,
                                      std::memory_order_relaxed))
      return nullptr;  // t now belongs to whoever wakes it: do not touch it
    t->park_published_ = false;
    // relaxed: still unpublished, still ours.
    t->parker_.state_.store(parker::state::empty, std::memory_order_relaxed);
  } else {
    auto expected = parker::state::empty;
    // acq_rel: release publishes the switched-out fiber to the waker (P1, I3); acquire on
    // failure takes the token's writes (the task consumes the token itself when it runs).
    const auto parked = deadline != no_deadline ? parker::state::parked_timed : parker::state::parked;
    if (t->parker_.state_.compare_exchange_strong(expected, parked, std::memory_order_acq_rel,
                                                   std::memory_order_acquire)) {
      if (deadline != no_deadline) add_timer(w, deadline, t, seq);
      return nullptr;  // t now belongs to whoever wakes it: do not touch it
    }
  }
  // A token arrived while the fiber was switching out, or a deferred publish failed: run it again.
  // relaxed: observers' snapshot.
  t->state_.store(task_state::running, std::memory_order_relaxed);
  if (w->rt_->deterministic_) {
    det_push(w, t);
    return nullptr;
  }
  return t;
}

void free_task_local(worker* w, task* t) noexcept {
  t->next_free_ = w->free_;
  w->free_ = t;
  if (++w->nfree_ <= free_cache_max) return;
  // Give half back to the shared pool (tasks that finish on this worker but were spawned
  // elsewhere would otherwise pile up here).
  task* first = w->free_;
  task* last = first;
  for (std::size_t i = 1; i < free_cache_max / 2; ++i) last = last->next_free_;
  w->free_ = last->next_free_;
  w->nfree_ -= free_cache_max / 2;
  w->rt_->give_to_pool(first, last, free_cache_max / 2);
}

void end_task_bookkeeping(runtime_impl* rt) noexcept {
  // seq_cst: store->load pair with ~runtime (it sets dtor_waiting_ then reads live_; we
  // decrement live_ then read dtor_waiting_): one of the two sees the other.
  if (rt->live_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
      rt->dtor_waiting_.load(std::memory_order_seq_cst) != 0) {
    // release: the destructor's futex wait re-reads live_ after seeing the bump.
    rt->done_word_.fetch_add(1, std::memory_order_release);
    futex_wake(&rt->done_word_, 1);
  }
}

void clear_for_reuse(task* t) noexcept {
  if (t->heap_closure_) {
    ::operator delete(t->closure_, std::align_val_t{alignof(std::max_align_t)});
    t->heap_closure_ = false;
  }
  t->closure_ = nullptr;
  t->invoke_ = nullptr;
  // relaxed: observers' snapshot (they skip free tasks).
  t->state_.store(task_state::free, std::memory_order_relaxed);
  t->op_.store(nullptr, std::memory_order_relaxed);  // relaxed: diagnostic
  t->since_ticks_.store(0, std::memory_order_relaxed);  // relaxed: diagnostic
}

void finish_task(worker* w, task* t) noexcept {
  runtime_impl* rt = w->rt_;
  clear_for_reuse(t);
  if (!rt->pooled_) release_task_stack(rt, t);
  free_task_local(w, t);
  end_task_bookkeeping(rt);
}

/// A yielding task goes behind everything already waiting for this worker: the local queue's
/// tail, or the global queue's when that holds tasks (tasks moved there by a local-queue
/// overflow would otherwise wait behind a task that spawns and yields in a loop; Go's Gosched
/// uses the global queue for the same reason).
void requeue_yielded(worker* w, task* t) noexcept {
  runtime_impl* rt = w->rt_;
  // relaxed: a hint; either queue is correct, this only chooses the fairer one.
  if (!rt->deterministic_ && rt->inject_count_.load(std::memory_order_relaxed) > 0) {
    if (!rt->inject_.enqueue(t)) report_lost_task("requeue_yielded");
    // seq_cst: P3 (no wake needed: this worker itself is about to look for work).
    rt->inject_count_.fetch_add(1, std::memory_order_seq_cst);
    return;
  }
  push_local(w, t);
}

/// prepare_switch_in's rare part: a fiber's first start, the `run` trace record. Out of line so
/// that the common part needs no callee-saved registers (it is inlined into every switch).
[[gnu::noinline, gnu::cold]] void prepare_switch_in_rare(worker* w, task* t, bool trace_run) noexcept {
  if (!t->ctx_) start_fiber(t);
  current_task_tls = t;
  current_note_tls = t;
  if (trace_run) WEFT_TRACE_W(w, run, t, 0, 0, true);
}

/// Makes t the task running on w: the bookkeeping before any switch into it (from the
/// scheduler loop, or directly from the task it was handed to, see direct_switch, which traces
/// the switch itself).
[[gnu::always_inline]] inline void prepare_switch_in(worker* w, task* t, bool trace_run = true) noexcept {
  t->worker_ = w;
  t->resumer_ = &w->side_;
  // relaxed: observers' snapshot.
  t->state_.store(task_state::running, std::memory_order_relaxed);
  if (!t->ctx_ || (trace_run && trace_on())) [[unlikely]] {
    prepare_switch_in_rare(w, t, trace_run);
    return;
  }
  current_task_tls = t;
  current_note_tls = t;
}

/// complete_switch_out's rare part: a park while a trace records, a yield, a task's end.
[[gnu::noinline]] task* complete_switch_out_rare(worker* w, task* t, bool handed_off) noexcept {
  switch (t->reason_) {
    case switch_reason::park:
      // relaxed (x2): written by the task itself (note_blocking) before it switched out to us.
      if (!handed_off)
        WEFT_TRACE_W(w, stop_park, t, reinterpret_cast<std::uintptr_t>(t->object_.load(std::memory_order_relaxed)),
                     reinterpret_cast<std::uintptr_t>(t->op_.load(std::memory_order_relaxed)), false);
      return finalise_park(w, t);
    case switch_reason::yield:
      WEFT_TRACE_W(w, stop_yield, t, 0, 0, false);
      // relaxed: observers' snapshot.
      t->state_.store(task_state::runnable, std::memory_order_relaxed);
      requeue_yielded(w, t);
      return nullptr;
    case switch_reason::finished:
      WEFT_TRACE_W(w, stop_done, t, 0, 0, false);
      finish_task(w, t);
      return nullptr;
  }
  return nullptr;
}

/// What t's switch out (to the scheduler, or directly to another task) asked for. Returns a task
/// to run next at once (a park that raced with its wake-up). `handed_off`: t parked through
/// direct_switch, whose `handoff` trace record stands for t's switch-out too. The common case
/// (a park, no trace) inline; the rest in complete_switch_out_rare.
[[gnu::always_inline]] inline task* complete_switch_out(worker* w, task* t, bool handed_off = false) noexcept {
  if (!stack_pool::canary_intact(t->stack())) report_stack_overflow(t);
  bump(w->tasks_run_);
  if (t->reason_ == switch_reason::park && (handed_off || !trace_on())) [[likely]]
    return finalise_park(w, t);
  return complete_switch_out_rare(w, t, handed_off);
}

/// Switches into t; returns a task to run next at once (a park that raced with its wake-up).
/// The task that switches back is t, or the last of a chain of direct switches that started
/// with t (D1): current_task_tls names it.
task* run_task(worker* w, task* t) noexcept {
  prepare_switch_in(w, t);
  boost::context::fiber c = std::move(t->ctx_);
  switch_fiber(c, w->side_, t->side_);
  task* back = current_task_tls;
  current_task_tls = nullptr;
  current_note_tls = nullptr;
  move_into_empty(back->ctx_, c);
  return complete_switch_out(w, back);
}

/// Every task-side switch ends here, in the task that was resumed, with the context that
/// resumed it: the scheduler's (it becomes self->ctx_, the way back), or a task's that switched
/// directly to us (D2: that task's own context goes back into it, the scheduler's context comes
/// from the worker, and we finish the other task's switch out as the scheduler loop would).
void resumed(task* self, boost::context::fiber&& from) noexcept {
  worker* w = self->worker_;
  task* prev = w->handoff_from_;
  if (prev == nullptr) {
    move_into_empty(self->ctx_, from);
    return;
  }
  w->handoff_from_ = nullptr;
  move_into_empty(prev->ctx_, from);
  move_into_empty(self->ctx_, w->sched_ctx_);
  if (task* again = complete_switch_out(w, prev, true)) push_local(w, again);
}

void switch_to_scheduler(task* t) noexcept {
  boost::context::fiber c = std::move(t->ctx_);
  switch_fiber(c, t->side_, *t->resumer_);
  resumed(t, std::move(c));
}

/// The task a parking task on w may switch to directly: the run-next task, which is normally the
/// one the parking task has just woken (a hand-off), under the same fairness limits as the
/// scheduler loop's run-next pick (D3). nullptr: go through the scheduler.
[[gnu::always_inline]] inline task* take_handoff_target(worker* w) noexcept {
  if (!w->handoff_ok_ || w->runnext_streak_ >= runnext_cap) return nullptr;
  // relaxed: a cheap look first; take_runnext does the acquire where a thief may exist (I6).
  if (w->runnext_.load(std::memory_order_relaxed) == nullptr) return nullptr;
  // The global queue's turn is the loop's: leave the count at its last pick, so the loop's own
  // global_queue_turn() takes the turn (D3). Consuming it here would make the loop skip it.
  if (w->tick_ == 1) return nullptr;
  --w->tick_;
  task* next = take_runnext(w);
  if (next != nullptr) ++w->runnext_streak_;
  return next;
}

/// Task a (running on w, parking) switches straight into task b: one switch instead of two
/// (a -> scheduler -> b) and no scheduler loop pass. b finishes a's switch out (D2). `now`: the
/// park's own tick reading (its "blocked since"), or 0: the trace record reads the clock itself.
[[gnu::always_inline]] inline void direct_switch(worker* w, task* a, task* b, std::uint64_t now) noexcept {
  move_into_empty(w->sched_ctx_, a->ctx_);
  w->handoff_from_ = a;
  WEFT_TRACE_HANDOFF_W(w, a, b, now);  // a's switch-out to park and b's switch-in, one record
  prepare_switch_in(w, b, false);
  boost::context::fiber c = std::move(b->ctx_);
  switch_fiber(c, a->side_, b->side_);
  resumed(a, std::move(c));
}

/// A parking task's switch out: directly to the task it handed work to, if any, else to the
/// scheduler loop. `now`: as in direct_switch.
[[gnu::always_inline]] inline void park_switch(task* t, std::uint64_t now) noexcept {
  worker* w = t->worker_;
  if (task* next = take_handoff_target(w)) {
    direct_switch(w, t, next, now);
    return;
  }
  switch_to_scheduler(t);
}

}  // namespace

// ---- worker and runtime_impl ----

worker::worker(runtime_impl* rt, std::size_t index) noexcept
    : rt_(rt), index_(index), sole_(rt->opts_.workers == 1), handoff_ok_(rt->direct_handoff_ && !rt->deterministic_),
      tick_(global_queue_interval),
      rng_(splitmix(rt->opts_.seed != 0 ? rt->opts_.seed : index + 1) | 1) {}

worker* current_worker() noexcept { return tls_worker; }


void runtime_impl::inject(task* t) noexcept {
  // seq_cst: I5. Ordered before the enqueue, hence before the task's end and ~runtime's read of
  // live_ == 0, so ~runtime's later load of injecting_ sees this increment.
  injecting_.fetch_add(1, std::memory_order_seq_cst);
  if (!inject_.enqueue(t)) report_lost_task("inject (a spawn or wake-up from outside the runtime)");
  // seq_cst: P3 (publish, then look for idle workers).
  inject_count_.fetch_add(1, std::memory_order_seq_cst);
  wake_one_if_needed();
  // release: our accesses to *this above happen-before ~runtime's acquire load that sees 0 (I5).
  injecting_.fetch_sub(1, std::memory_order_release);
}

void runtime_impl::wake_one_if_needed() noexcept {
  // seq_cst: P3 (the caller has just published work).
  if (nidle_.load(std::memory_order_seq_cst) == 0) return;
  // seq_cst: P3 (a searcher exists: it will find the work or re-check after it gives up).
  if (nspinning_.load(std::memory_order_seq_cst) != 0) return;
  std::uint32_t zero = 0;
  // seq_cst: P3; one waker at a time becomes responsible for the new searcher (W1).
  if (!nspinning_.compare_exchange_strong(zero, 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return;
  worker* w = nullptr;
  {
    std::lock_guard lk(idle_mu_);
    if (!idle_.empty()) {
      w = idle_.back();
      idle_.pop_back();
      w->in_idle_ = false;
      // seq_cst: W2, in the P3 order.
      nidle_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
  if (w == nullptr) {
    // seq_cst: undo our W1 count.
    nspinning_.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  // release: pairs with sleep_until_woken's acquire exchange.
  w->wake_word_.store(1, std::memory_order_release);
  futex_wake(&w->wake_word_, 1);
}

void runtime_impl::give_to_pool(task* first, task* last, std::size_t) noexcept {
  std::lock_guard lk(pool_mu_);
  last->next_free_ = pool_free_;
  pool_free_ = first;
}

namespace {
void bind_stack(task& t, const stack_block& s) noexcept {
  t.side_.stack_lo_ = s.lo_;
  t.side_.stack_size_ = s.size_;
}

/// pool_mu_ held: adds pool_grow tasks (with a slab of stacks when pooled) to the free list.
void grow_pool_locked(runtime_impl* rt) {
  stack_block blocks[pool_grow];
  if (rt->pooled_) rt->stacks_.allocate_slab(pool_grow, blocks);
  // Linked in slab order, and worker_alloc keeps that order: stack i+1's canary lies in stack
  // i's top page (stack_pool.hpp I3), which task i+1's start commits for task i, handed out just
  // before it (claim_canary_). Stack 0 goes last: below it there is only the slab's spare page,
  // so a deep overflow of the first stack handed out would fault instead of reaching the canary
  // check.
  task* first = nullptr;
  task* last = nullptr;
  task* slab_first = nullptr;
  // Puts the tasks made so far on the free list, stack 0 last. Also on the way out of an
  // allocation failure part-way (the task registry grows): nothing made is lost (the slab's
  // unused stacks wait for ~runtime).
  auto publish = [&] {
    if (slab_first == nullptr) return;
    (last != nullptr ? last->next_free_ : first) = slab_first;
    slab_first->next_free_ = rt->pool_free_;
    rt->pool_free_ = first;
  };
  try {
    for (std::size_t i = 0; i < pool_grow; ++i) {
      task& t = rt->tasks_.emplace_back(rt);
      if (rt->pooled_) {
        bind_stack(t, blocks[i]);
        // Stack 0's canary is in the slab's spare first page, which nothing else writes: a read
        // maps the zero page there once per slab, cheaper than committing the page.
        t.claim_canary_ = !rt->opts_.guard_pages && i != 0;
      }
      t.side_.tsan_fiber_ = tsan_create_fiber();
      if (i == 0) {
        slab_first = &t;
        continue;
      }
      (last != nullptr ? last->next_free_ : first) = &t;
      last = &t;
    }
  } catch (...) {
    publish();
    throw;
  }
  publish();
}

task* worker_alloc(worker* w) {
  if (w->free_ == nullptr) {
    runtime_impl* rt = w->rt_;
    std::lock_guard lk(rt->pool_mu_);
    task* last = nullptr;  // keep the pool's order (see grow_pool_locked)
    for (std::size_t i = 0; i < pool_batch; ++i) {
      if (rt->pool_free_ == nullptr) grow_pool_locked(rt);
      task* t = rt->pool_free_;
      rt->pool_free_ = t->next_free_;
      t->next_free_ = nullptr;
      (last != nullptr ? last->next_free_ : w->free_) = t;
      last = t;
      ++w->nfree_;
    }
  }
  task* t = w->free_;
  w->free_ = t->next_free_;
  --w->nfree_;
  return t;
}
}  // namespace

task* runtime_impl::take_from_pool() {
  std::lock_guard lk(pool_mu_);
  if (pool_free_ == nullptr) grow_pool_locked(this);
  task* t = pool_free_;
  pool_free_ = t->next_free_;
  return t;
}

void release_task_stack(runtime_impl* rt, task* t) noexcept {
  std::lock_guard lk(rt->pool_mu_);
  rt->stacks_.free_one(t->stack());
  t->side_.stack_lo_ = nullptr;
  t->side_.stack_size_ = 0;
}

/// Stamps the parks w has recorded since its last pass here with one clock reading (S1).
[[gnu::noinline]] static void stamp_pending(worker* w) noexcept {
  const std::uint64_t now = trace_ticks();
  for (std::uint32_t i = 0; i < w->npending_; ++i) {
    const worker::pending_stamp& e = w->pending_[i];
    std::uint64_t token = e.token;
    // relaxed (load and CAS): diagnostic; the CAS on this one word decides between us, the
    // task's next operation (which overwrites the token) and an observer (which stamps it).
    // Reading another worker's task is safe: task objects are never freed (I1).
    if (e.t->since_ticks_.load(std::memory_order_relaxed) == token)
      e.t->since_ticks_.compare_exchange_strong(token, now, std::memory_order_relaxed, std::memory_order_relaxed);
  }
  w->npending_ = 0;
}

void run_worker(worker* w) noexcept {
  tls_worker = w;
  // Timer slack: a futex timeout may otherwise be 50 us late (the default slack); the workers'
  // timers promise a few microseconds. One system call per worker, once.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  char name[16];
  std::snprintf(name, sizeof name, "weft-w%zu", w->index_);
  pthread_setname_np(pthread_self(), name);
  w->side_ = this_thread_fiber_side();
  moodycamel::ConsumerToken token(w->rt_->inject_);
  w->inject_token_ = &token;
  task* next = nullptr;
  for (;;) {
    task* t = next != nullptr ? next : find_runnable(w);
    if (t == nullptr) break;
    next = run_task(w, t);
    if (w->npending_ != 0) stamp_pending(w);
  }
  w->inject_token_ = nullptr;
  tls_worker = nullptr;
}

// ---- spawning ----

task_handle prepare_task(runtime& rt, std::size_t size, std::size_t align, const source_location& where) {
  runtime_impl* r = &rt.impl();
  worker* w = current_worker();
  task* t = (w != nullptr && w->rt_ == r) ? worker_alloc(w) : r->take_from_pool();
  if (!r->pooled_) {
    std::lock_guard lk(r->pool_mu_);
    bind_stack(*t, r->stacks_.allocate_one());
  }
  // relaxed: diagnostic fields, read by dump_blocked under no lock.
  t->spawn_file_.store(where.file_name(), std::memory_order_relaxed);
  t->spawn_line_.store(static_cast<std::uint32_t>(where.line()), std::memory_order_relaxed);
  task* parent = current_task_tls;
  // relaxed (both): diagnostic; the leak_check scope is inherited from the spawner.
  t->scope_.store(parent != nullptr ? parent->scope_.load(std::memory_order_relaxed) : leak_scope_tls,
                  std::memory_order_relaxed);
  // Under AddressSanitizer (not pooled) every closure goes on the task's own stack mapping, which
  // is unmapped when the task ends: a pointer kept into a finished task's closure is reported
  // there (examples/patterns/dangling_result.cpp), where a task object is never freed.
  if (r->pooled_ && size <= task_inline_closure_capacity && align <= task_inline_closure_align) {
    t->closure_ = t->inline_closure_;
    t->heap_closure_ = false;
  } else if (size <= task_closure_capacity && align <= task_closure_align) {
    t->closure_ = stack_closure_area(t);
    t->heap_closure_ = false;
  } else {
    if (align > alignof(std::max_align_t)) {
      std::fprintf(stderr, "weft: spawn: a closure aligned to %zu bytes and larger than %zu bytes is not supported\n",
                   align, task_closure_capacity);
      std::abort();
    }
    t->closure_ = ::operator new(size, std::align_val_t{alignof(std::max_align_t)});
    t->heap_closure_ = true;
  }
  // relaxed: observers' snapshot.
  t->state_.store(task_state::runnable, std::memory_order_relaxed);
  // relaxed: the count only needs its own modification order: a task's increment precedes (in
  // that order) its spawner's later decrement, so live_ cannot touch 0 while a spawner lives.
  r->live_.fetch_add(1, std::memory_order_relaxed);
  return task_handle{t, t->closure_};
}

void submit_task(task_handle h, task_invoke_fn invoke) noexcept {
  task* t = h.task_;
  t->invoke_ = invoke;
  WEFT_TRACE(spawn, t, 0);
  runtime_impl* rt = t->rt_;
  worker* w = current_worker();
  if (w != nullptr && w->rt_ == rt) {
    push_local(w, t);
    if (!rt->deterministic_) rt->wake_one_if_needed();
  } else {
    rt->inject(t);
  }
}

void abandon_task(task_handle h) noexcept {
  task* t = h.task_;
  runtime_impl* rt = t->rt_;
  clear_for_reuse(t);
  if (!rt->pooled_) release_task_stack(rt, t);
  rt->give_to_pool(t, t, 1);
  end_task_bookkeeping(rt);
}

void make_runnable(task* t) noexcept {
  // The thread_local itself, not current_worker(): nothing here (or in unpark_task, the caller
  // that tail-calls it) switches fibers, so the thread cannot change under this read.
  worker* w = tls_worker;
  if (w != nullptr) WEFT_TRACE_WAKE_W(w, t);
  else WEFT_TRACE(unpark, t, 0);
  // relaxed: observers' snapshot (ordered after finalise_park's store by P1).
  t->state_.store(task_state::runnable, std::memory_order_relaxed);
  if (w != nullptr && w->rt_ == t->rt_) {
    push_runnext(w, t);
  } else {
    t->rt_->inject(t);
  }
}

// ---- the parker hooks (declared in <weft/detail/parker.hpp>) ----

parker& current_parker() noexcept {
  task* t = current_task_tls;
  return t != nullptr ? t->parker_ : thread_parker();
}

namespace {
/// The running task takes a token that is already in its parker word. The waker's writes before
/// unpark are then visible (acquire: P2). A relaxed look first: while the task runs only its own
/// exchange clears the word, so a `notified` seen is still there, and the usual case (no token)
/// costs no locked instruction (finalise_park's CAS catches a token that arrives later).
bool take_waiting_token(parker& p) noexcept {
  return p.state_.load(std::memory_order_relaxed) == parker::state::notified &&
         p.state_.exchange(parker::state::empty, std::memory_order_acquire) == parker::state::notified;
}
}  // namespace

/// The first park of t's current operation: its "blocked since" is stamped later (S1).
[[gnu::always_inline]] inline void stamp_later(task* t) noexcept {
  worker* w = t->worker_;
  // relaxed: park_seq_ changes only in finalise_park, while t is switched out; t runs now.
  const std::uint64_t token = since_pending | (t->park_seq_.load(std::memory_order_relaxed) + 1);
  // relaxed: diagnostic; observers may CAS it (since_ticks_of), a single word's order suffices.
  t->since_ticks_.store(token, std::memory_order_relaxed);
  // An entry of t's one or two back is over (t runs, so that park ended, and this is a new
  // operation's): reuse it. The tasks of a ping-pong alternate, so the list stays at two.
  std::uint32_t n = w->npending_;
  if (n >= 2 && w->pending_[n - 2].t == t) {
    w->pending_[n - 2].token = token;
    return;
  }
  if (n >= 1 && w->pending_[n - 1].t == t) {
    w->pending_[n - 1].token = token;
    return;
  }
  if (n == worker::pending_max) [[unlikely]] {
    stamp_pending(w);
    n = 0;
  }
  w->pending_[n] = {t, token};
  w->npending_ = n + 1;
}

/// A park's "blocked since": the first park of the operation note_blocking named (relaxed:
/// diagnostic). While a trace records, the park reads the clock, and the same reading stamps a
/// direct switch's record (a re-park of the operation passes 0: the record reads the clock then),
/// unless the trace samples its hand-off stamps (options::stamp_every) and this one is not due:
/// then it reads no clock at all, and "since" is stamped lazily as without a trace. Returns the
/// reading, or 0.
[[gnu::always_inline]] inline std::uint64_t stamp_park(task* t) noexcept {
  std::uint64_t now = 0;
  if (t->since_ticks_.load(std::memory_order_relaxed) == 0) {
    if (trace_on() && trace_stamp_next_handoff(t->worker_)) [[unlikely]] {
      now = trace_ticks();
      t->since_ticks_.store(now, std::memory_order_relaxed);  // relaxed: diagnostic; park_clock
    } else {
      stamp_later(t);
    }
  }
  return now;
}

bool park_task_until(parker& p, time_point deadline) noexcept {
  task* t = p.owner_task();
  if (take_waiting_token(p)) return true;
  if (deadline != no_deadline && clock::now() >= deadline) return false;
  const std::uint64_t now = stamp_park(t);
  t->park_deadline_ = deadline;
  t->reason_ = switch_reason::park;
  park_switch(t, now);
  bump(t->worker_->blocked_out_);  // tasks_blocked - 1, on the resuming worker's own counter
  // Resumed (perhaps on another worker): by an unpark (token), a timer (no token), or a
  // spurious wake-up.
  if (take_waiting_token(p)) return true;
  if (deadline == no_deadline) return true;
  return clock::now() < deadline;  // a stale timer may wake us early: that is a spurious wake
}

bool park_task_publish(parker& p, std::atomic<std::uintptr_t>& word, std::uintptr_t value) noexcept {
  task* t = p.owner_task();
  const std::uint64_t now = stamp_park(t);
  t->park_deadline_ = no_deadline;
  t->publish_word_ = &word;
  t->publish_value_ = value;
  t->reason_ = switch_reason::park;
  park_switch(t, now);
  bump(t->worker_->blocked_out_);  // tasks_blocked - 1, on the resuming worker's own counter
  // Written by finalise_park before publishing (or after its failure, by our own worker); a
  // waker's run-queue hand-off (P4) orders it before this read.
  return t->park_published_;
}

void unpark_task(parker& p) noexcept {
  // acquire: pairs with finalise_park's CAS (P1) so the fiber we enqueue is completely switched
  // out. Seeing `parked`, this waker is the only writer of the word until the task runs again
  // ("Waking a task"): a plain store takes the wake-up.
  if (p.state_.load(std::memory_order_acquire) == parker::state::parked) {
#ifdef NDEBUG
    // relaxed: nobody else writes the word now; the task reads it only after the run queue's
    // hand-off (P4), and the next finalise_park's CAS reads the latest value anyway (its
    // publish branch overwrites it: nobody else writes the word then, P5).
    p.state_.store(parker::state::empty, std::memory_order_relaxed);
#else
    // Debug builds check parker I3 instead of trusting it (acq_rel: as the exchange below): a
    // second wake-up in flight would make the task run twice.
    if (p.state_.exchange(parker::state::empty, std::memory_order_acq_rel) != parker::state::parked)
      report_double_wake();
#endif
    make_runnable(p.owner_task());
    return;
  }
  // acq_rel: release publishes the waker's writes to the task (P2); acquire pairs with
  // finalise_park's CAS (P1) so the fiber we enqueue is completely switched out.
  const parker::state old = p.state_.exchange(parker::state::notified, std::memory_order_acq_rel);
  if (old == parker::state::parked || old == parker::state::parked_timed) make_runnable(p.owner_task());
}

void task_yield(task* t) noexcept {
  t->reason_ = switch_reason::yield;
  switch_to_scheduler(t);
}

}  // namespace weft::detail

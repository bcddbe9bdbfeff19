// The actor's slow paths: the runner (run loop, restart, the end), stop(), the reservation that
// finds the actor idle and the runner's task (taken before that reservation, submitted after the
// push: I6), and monitors. The protocol (word layout, I1-I6, P1-P4) is in
// <weft/detail/actor_state.hpp>; this file keeps to it.
//
// Monitors are a lock-free stack of nodes, each holding the sender of one monitor's channel
// (capacity 1). monitor() pushes with a CAS unless the top is the `ended` sentinel; the end
// exchanges the whole stack for the sentinel and sends one exit_info into each channel. A
// monitor() that finds the sentinel sends into its own channel at once.
//
// Invariants:
//   M1  monitors_ is the sentinel iff the actor has ended and exit_* are final.
//   M2  Every monitor node is sent to and freed exactly once: by the end (nodes taken by the
//       exchange) or by the monitor() call that found the sentinel (its own node).
// Orderings:
//   P4  (actor_state.hpp) exit_* written, then monitors_.exchange(sentinel, acq_rel)  ->
//       monitor(): monitors_.load/CAS(acquire) that reads the sentinel, then reads exit_*.
//   M3  monitor(): CAS(release) pushing a node  ->  the end's exchange (acquire): the node's
//       sender is fully built before the end uses it.
#include <weft/actor.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <new>
#include <ostream>
#include <type_traits>
#include <utility>

#include <weft/detail/backoff.hpp>
#include <weft/detail/blocking_info.hpp>
#include <weft/detail/node_slab.hpp>
#include <weft/detail/platform.hpp>
#include <weft/detail/source_location.hpp>
#include <weft/detail/task.hpp>
#include <weft/detail/trace.hpp>
#include <weft/runtime.hpp>

namespace weft {

const char* to_string(exit_reason r) noexcept {
  switch (r) {
    case exit_reason::stopped: return "stopped";
    case exit_reason::failed: return "failed";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, exit_reason r) { return os << to_string(r); }

}  // namespace weft

namespace weft::detail {

namespace {

alignas(monitor_node*) char ended_sentinel_storage;

}  // namespace

struct monitor_node {
  sender<exit_info> tx;
  monitor_node* next = nullptr;
};

namespace {

/// The top of monitors_ once the actor has ended (M1). Never dereferenced.
monitor_node* ended_sentinel() noexcept { return reinterpret_cast<monitor_node*>(&ended_sentinel_storage); }

void tell_monitor(monitor_node* m, bool failed, const std::exception_ptr& error) noexcept {
  // A fresh channel of capacity 1: try_send succeeds, or returns closed if the receiver is gone.
  (void)m->tx.try_send(exit_info{failed ? exit_reason::failed : exit_reason::stopped, error});
  delete m;  // destroys the sender: the channel closes after the value
}

}  // namespace

// The runner's steps; defined below, a friend of actor_core.
struct actor_runner {
  static void run(actor_core* s) noexcept;
  static message_node* pop_node(actor_core* s) noexcept;
  static void wait_for_batch(actor_core* s, std::uint64_t& w) noexcept;
  static message_node* pop_reserved(actor_core* s) noexcept;
  static bool recover(actor_core* s, std::exception_ptr error) noexcept;
  static bool restart_allowed(actor_core* s) noexcept;
  static void fail(actor_core* s, std::exception_ptr error) noexcept;
  static void finish(actor_core* s, std::exception_ptr error) noexcept;
};

// Streamed-message batching (actor_options::batch_wait): the runner waits for a batch only when
// fewer than batch_target messages are queued; a wait that brought fewer than batch_useful more
// is not repeated for the next batch_backoff_runs occasions (an actor that tells itself, or
// senders too slow to fill a batch, stop paying for it).
constexpr std::uint64_t batch_target = 32;
constexpr std::uint64_t batch_useful = 4;
constexpr std::uint16_t batch_backoff_runs = 64;

// ---- construction -------------------------------------------------------------------------------

actor_core::actor_core(const actor_ops* ops, runtime* rt, std::size_t capacity, int max_restarts,
                       std::chrono::nanoseconds within, std::chrono::nanoseconds batch_wait)
    : capacity_(capacity),
      runtime_(rt),
      ops_(ops),
      max_restarts_(max_restarts),
      batch_wait_ns_(static_cast<std::uint32_t>(batch_wait.count())),
      within_(within) {
  in_.attach(out_);  // out_ is built after in_ (it lives on the runner's line)
  if (max_restarts_ > 0)
    restarts_ = new std::chrono::steady_clock::time_point[static_cast<std::size_t>(max_restarts_)];
  actors_live_add(+1);  // the runtime's count for stats().actors_live
}

actor_core::~actor_core() {
  // Normally the actor has ended (the last handle stops it; the runner holds a reference until
  // the end). If B's constructor threw in spawn_actor, nothing was ever queued.
  // relaxed: we are the last owner (P3 made every other owner's writes visible).
  if (actor_word::run(word_.load(std::memory_order_relaxed)) != run_state::ended) {
    while (mailbox_link* l = out_.try_pop(in_)) {
      auto* n = static_cast<message_node*>(l);
      n->ops_->drop(n);
    }
    node_slab_flush();
    // relaxed: the last owner; see above.
    monitor_node* m = monitors_.load(std::memory_order_relaxed);
    while (m != nullptr && m != ended_sentinel()) delete std::exchange(m, m->next);
    actors_live_add(-1);
  }
  delete[] restarts_;
}

// ---- senders' slow paths --------------------------------------------------------------------------

/// The runner task's closure: 8 bytes, stored in place in the pooled task object.
struct runner_closure {
  actor_core* actor;  // holds the runner's reference
  void operator()() noexcept { actor_runner::run(actor); }
};
// abandon_task gives back a task whose closure was already built (prepare_runner's callers, when
// the CAS that would make them responsible for a runner fails): only sound if there is nothing
// to destroy.
static_assert(std::is_trivially_destructible_v<runner_closure>, "abandon_task does not destroy the closure");

// The runtime's primitive under weft::spawn, in its two halves (core/include/weft/detail/task.hpp):
// no future to allocate (nobody waits for a runner), the closure in place in the pooled task.
// prepare_task is the half that can fail (bad_alloc when the task pool must grow); it runs
// before the CAS that makes the caller responsible for a runner, submit_task after it (I6).
task_handle actor_core::prepare_runner() {
  runtime& rt = runtime_ != nullptr ? *runtime_ : default_runtime();
  task_handle h = prepare_task(rt, sizeof(runner_closure), alignof(runner_closure), source_location::current());
  static_assert(std::is_nothrow_copy_constructible_v<runner_closure>, "building the closure cannot fail");
  ::new (h.storage_) runner_closure{this};  // holds no reference until submit_runner
  return h;
}

void actor_core::submit_runner(task_handle h) noexcept {
  add_ref();  // the runner's reference, released when its run ends
  submit_task(h, &invoke_and_destroy<runner_closure>);
}

/// The slow half of reserve(): the actor looked idle. The runner's task is taken first, while
/// nothing is reserved, so a bad_alloc leaves the actor and the message as they were (I6). If
/// meanwhile another sender (or stop()) moved the actor out of idle, the task goes back and the
/// reservation is an ordinary one; if the actor goes idle again before our CAS, we take a task
/// again.
reservation actor_core::reserve_idle() {
  task_handle h{nullptr, nullptr};
  // relaxed: a first guess for the CAS, which validates it.
  std::uint64_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    const bool idle = actor_word::run(w) == run_state::idle;
    if (h.task_ != nullptr && (!idle || actor_word::is_closed(w))) {
      abandon_task(h);  // someone else scheduled the runner (or closed the actor)
      h = task_handle{nullptr, nullptr};
    }
    if (actor_word::is_closed(w)) return {status::closed, {nullptr, nullptr}};
    if (capacity_ != 0 && actor_word::queued(w) >= capacity_) return {status::full, {nullptr, nullptr}};
    if (idle && h.task_ == nullptr) {
      h = prepare_runner();  // may throw: nothing is reserved yet
      // relaxed: a fresh guess (taking the task may have taken a while), validated by the CAS.
      w = word_.load(std::memory_order_relaxed);
      continue;
    }
    std::uint64_t next = w + actor_word::queued_one;
    if (idle) next = actor_word::with_run(next, run_state::scheduled);
    // acquire on success: P1 (when idle: a runner that went idle published its behaviour writes
    // and we submit the next runner; otherwise not needed, but this is the slow path). relaxed
    // on failure: we only retry with the new value.
    if (word_.compare_exchange_weak(w, next, std::memory_order_acquire, std::memory_order_relaxed))
      return {status::ok, h};
  }
}

void actor_core::stop() noexcept {
  task_handle h{nullptr, nullptr};  // the runner's task when the actor is idle (I6)
  bool no_task = false;             // taking it failed: end the actor here (see below)
  // relaxed: a first guess for the CAS, which validates it.
  std::uint64_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    const bool was_idle = actor_word::run(w) == run_state::idle;
    if (h.task_ != nullptr && (!was_idle || actor_word::is_closed(w))) {
      abandon_task(h);  // a sender scheduled the runner meanwhile: it will see closed and end
      h = task_handle{nullptr, nullptr};
    }
    if (actor_word::is_closed(w)) return;
    if (was_idle && h.task_ == nullptr && !no_task) {
      try {
        h = prepare_runner();
      } catch (...) {
        no_task = true;
      }
      // relaxed: a fresh guess, validated by the CAS.
      w = word_.load(std::memory_order_relaxed);
      continue;
    }
    std::uint64_t next = w | actor_word::closed_bit;
    if (was_idle) next = actor_word::with_run(next, run_state::scheduled);  // the runner will end it
    // acquire on success: P1 when we submit or end the actor here (the previous runner's
    // writes). relaxed on failure: retry with the fresh value.
    if (word_.compare_exchange_weak(w, next, std::memory_order_acquire, std::memory_order_relaxed)) {
      if (!was_idle) return;
      if (h.task_ != nullptr) {
        submit_runner(h);
        return;
      }
      // No runner task could be had (out of memory) and stop() must not fail (~actor_ref calls
      // it): the stopper does the runner's last step itself (I6). Our CAS moved the actor to
      // closed + scheduled with queued == 0 (I2): no runner exists, none will be submitted (only
      // a CAS from idle submits one) and no reservation succeeds (I4), so we own the behaviour
      // as a runner would, ordered after the last runner by the CAS's acquire (P1). The
      // behaviour is then destroyed on the stopper's thread or task instead of the runtime's.
      actor_runner::finish(this, nullptr);
      return;
    }
  }
}

void actor_core::add_monitor(monitor_node* m) noexcept {
  // acquire: P4 (if we read the sentinel, exit_* are visible).
  monitor_node* top = monitors_.load(std::memory_order_acquire);
  for (;;) {
    if (top == ended_sentinel()) {
      tell_monitor(m, exit_failed_, exit_error_);  // M2: the end will not see this node
      return;
    }
    m->next = top;
    // release: M3. acquire on failure: P4 if the new top is the sentinel.
    if (monitors_.compare_exchange_weak(top, m, std::memory_order_release, std::memory_order_acquire)) return;
  }
}

receiver<exit_info> make_monitor(actor_core* s) {
  chan<exit_info> ch = make_chan<exit_info>(1);
  s->add_monitor(new monitor_node{std::move(ch.tx)});
  return std::move(ch.rx);
}

// ---- the runner --------------------------------------------------------------------------------

/// The body of the runner task: handles messages until the mailbox is empty (then idle) or
/// the actor ends, yielding every mailbox_batch messages. Drops the runner's reference.
///
/// Two costs are kept off the per-message path:
/// - The count. A node reserved is a node that will be pushed (I5), so after one read of the
///   word the runner takes all the nodes it counts without reading the word again, and (for an
///   unbounded mailbox) takes them off the count with one fetch_sub per run of nodes instead of
///   one per message: the senders' line moves to the runner once per run, not per message. A
///   bounded mailbox still gives each slot back as its node is popped (its capacity excludes the
///   message being handled, I1).
/// - The idle -> scheduled submit. When the count reaches 0 right after an ask was answered,
///   the runner yields once before it goes idle: the asker it just woke (now in this worker's
///   run-next slot) usually asks again at once, and then finds the actor running (no new runner
///   task to spawn, no worker to wake). After tells it goes idle at once: nobody was woken, and
///   polling with yields for a sender on another worker costs a yield per message or two
///   (measured: W8 125 -> 218 ns/msg when every empty mailbox lingered). W7/W8 figures in
///   bench/RESULTS.md.
void actor_runner::run(actor_core* s) noexcept {
  // relaxed: scheduled -> running (+1 on the run field, I3) is bookkeeping; this runner was
  // ordered after the previous one by P1 and by the task spawn.
  std::uint64_t w = s->word_.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool bounded = s->capacity_ != 0;
  std::size_t handled = 0;
  bool linger = false;  // the last message handled was an ask: yield once before going idle
  bool streaming = false;  // messages arrived during the last run: a sender keeps telling
  for (;;) {
    const std::uint64_t avail = actor_word::queued(w);
    if (avail == 0) {
      // A stale `closed, queued == 0` is still true (I4): only this runner takes nodes.
      if (actor_word::is_closed(w)) {
        finish(s, nullptr);
        break;
      }
      if (linger) {
        linger = false;
        weft::yield();  // see above: let the asker we woke send its next message first
        // relaxed: a fresh guess, validated by the CAS below when it says 0.
        w = s->word_.load(std::memory_order_relaxed);
        continue;
      }
      // release: P1. relaxed on failure: a sender reserved or stop() closed; loop on the value.
      if (s->word_.compare_exchange_weak(w, actor_word::with_run(w, run_state::idle),
                                         std::memory_order_release, std::memory_order_relaxed))
        break;
      continue;
    }
    // Streaming and only a few queued: let a batch build up (actor_options::batch_wait).
    if (streaming && avail < batch_target && s->batch_wait_ns_ != 0) {
      streaming = false;
      // batch_skips_ lives in the actor, not here: an actor that goes idle between messages
      // starts a new runner each time, and must not wait afresh in each.
      if (s->batch_skips_ > 0) {
        --s->batch_skips_;
      } else {
        wait_for_batch(s, w);
        if (actor_word::queued(w) < avail + batch_useful) s->batch_skips_ = batch_backoff_runs;
        continue;  // the word again from the top (a stop() may have closed it meanwhile)
      }
    }
    if (handled >= mailbox_batch) {
      handled = 0;
      weft::yield();  // let the worker's other tasks run; we keep the mailbox (still running)
    }
    const std::uint64_t run_len = bounded ? 1 : std::min<std::uint64_t>(avail, mailbox_batch - handled);
    std::uint64_t taken = 0;  // popped and not yet taken off the count
    bool ended = false;
    for (std::uint64_t i = 0; i < run_len; ++i) {
      // A bounded mailbox gives the slot back before the handler runs (I1); an unbounded one
      // counts the node in `taken`, settled after the run.
      message_node* n = bounded ? pop_reserved(s) : pop_node(s);
      taken += bounded ? 0 : 1;
      ++handled;
      linger = n->ops_->replies;  // read before handle() frees the node
      detail::trace_scope traced(detail::trace_kind::actor_begin, detail::trace_kind::actor_end, s);
      if (std::exception_ptr e = n->ops_->handle(n, s->behaviour_)) [[unlikely]] {
        // relaxed: as below; the count must be exact before fail() reads it.
        if (taken != 0) s->word_.fetch_sub(taken * actor_word::queued_one, std::memory_order_relaxed);
        taken = 0;
        if (!recover(s, std::move(e))) {
          ended = true;
          break;
        }
      }
    }
    // Hand this run's freed nodes to their slab: a slab is reused only once counted back
    // (node_slab.hpp), and this thread may not free another node for a long time.
    node_slab_flush();
    if (ended) break;
    // relaxed: the count carries no data (message contents come through the mailbox, P2); a
    // sender that sees the freed slots reserves them with its own CAS. The returned value is a
    // fresh guess, validated by the idle CAS when it says 0.
    w = taken == 0 ? s->word_.load(std::memory_order_relaxed)
                   : s->word_.fetch_sub(taken * actor_word::queued_one, std::memory_order_relaxed) -
                         taken * actor_word::queued_one;
    // Never after an ask (its asker waits for the reply), never with a bounded mailbox (taken
    // is 0 there: its senders may be waiting for the slots).
    streaming = !linger && taken != 0 && actor_word::queued(w) != 0;
  }
  s->release_ref();
}

/// Waits up to batch_wait for streamed messages to queue up (actor_options::batch_wait): the
/// runner spins on its own (relax, clock) and reads the senders' word only a quarter of the way
/// in (nothing arrived: nobody is sending, stop) and at the end, so the sender runs undisturbed
/// meanwhile instead of handing the word's and the nodes' lines back and forth per message.
/// The worker is busy meanwhile: its other tasks wait at most batch_wait. Leaves a fresh word
/// in w.
void actor_runner::wait_for_batch(actor_core* s, std::uint64_t& w) noexcept {
  const std::uint64_t before = actor_word::queued(w);
  const std::chrono::nanoseconds wait(s->batch_wait_ns_);
  const auto start = std::chrono::steady_clock::now();
  bool looked = false;
  for (;;) {
    for (int i = 0; i < 4; ++i) cpu_relax();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed >= wait) break;
    // relaxed: a look at the count only; the run loop re-reads the word before relying on it.
    if (!looked && elapsed >= wait / 4) {
      looked = true;
      if (actor_word::queued(s->word_.load(std::memory_order_relaxed)) == before) break;
    }
  }
  // relaxed (load and store): a diagnostic counter that only the runner writes.
  s->batch_waits_.store(s->batch_waits_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  w = s->word_.load(std::memory_order_relaxed);  // relaxed: as above
}

/// Pops the next node, which a reservation guarantees (I5): its sender may still be between
/// its CAS and its link store, so spin briefly, then yield to other tasks, until it shows.
/// The caller takes it off the count (I1).
message_node* actor_runner::pop_node(actor_core* s) noexcept {
  mailbox_link* l = s->out_.try_pop(s->in_);
  if (l != nullptr) [[likely]]
    return static_cast<message_node*>(l);
  backoff b;
  std::uint32_t tries = 0;
  while ((l = s->out_.try_pop(s->in_)) == nullptr) {
    if (tries++ < backoff::spin_limit)
      b.spin();  // 1, 2, 4, ... relax instructions: the sender is usually two instructions away
    else
      weft::yield();  // it was preempted: let other tasks run meanwhile
  }
  return static_cast<message_node*>(l);
}

/// pop_node, then takes the node off the count (I1: it no longer counts against the capacity).
message_node* actor_runner::pop_reserved(actor_core* s) noexcept {
  message_node* n = pop_node(s);
  // relaxed: the count carries no data (message contents come through the mailbox, P2).
  s->word_.fetch_sub(actor_word::queued_one, std::memory_order_relaxed);
  return n;
}

/// After a handler threw: restart if the policy allows (true: go on), else end with failed.
bool actor_runner::recover(actor_core* s, std::exception_ptr error) noexcept {
  if (restart_allowed(s)) {
    std::exception_ptr ctor_error = s->ops_->rebuild(s);
    if (!ctor_error) return true;
    error = std::move(ctor_error);  // B could not be rebuilt: that is why the actor ends
  }
  fail(s, std::move(error));
  return false;
}

/// The sliding window: allowed iff fewer than max_restarts restarts happened in the last
/// `within`; if allowed, records this restart.
bool actor_runner::restart_allowed(actor_core* s) noexcept {
  if (s->max_restarts_ <= 0) return false;
  const auto max = static_cast<std::size_t>(s->max_restarts_);
  const auto now = std::chrono::steady_clock::now();
  while (s->restart_count_ > 0 && now - s->restarts_[s->restart_next_] >= s->within_) {
    s->restart_next_ = (s->restart_next_ + 1) % max;  // the oldest left the window
    --s->restart_count_;
  }
  if (s->restart_count_ >= max) return false;
  s->restarts_[(s->restart_next_ + s->restart_count_) % max] = now;
  ++s->restart_count_;
  return true;
}

/// Ends the actor with `failed`: refuses new messages, drops the queued ones (their asks
/// complete with broken), then finishes.
void actor_runner::fail(actor_core* s, std::exception_ptr error) noexcept {
  // relaxed: senders that read closed only return closed; nothing is published through it.
  std::uint64_t w = s->word_.fetch_or(actor_word::closed_bit, std::memory_order_relaxed);
  for (std::uint64_t left = actor_word::queued(w); left > 0; --left) {  // I4: it only falls
    message_node* n = pop_reserved(s);
    n->ops_->drop(n);
  }
  node_slab_flush();
  finish(s, std::move(error));
}

/// The end: destroys the behaviour, marks the actor ended, tells the monitors.
/// Precondition: closed is set and queued == 0 (so nobody else writes the word, I4).
void actor_runner::finish(actor_core* s, std::exception_ptr error) noexcept {
  s->ops_->destroy_behaviour(s);
  s->exit_failed_ = error != nullptr;
  s->exit_error_ = std::move(error);
  // release: has_ended() (acquire) then sees the behaviour destroyed. A plain store is safe:
  // with closed set and queued == 0 every other writer's CAS fails (I4).
  s->word_.store(actor_word::closed_bit | static_cast<std::uint64_t>(run_state::ended),
                 std::memory_order_release);
  actors_live_add(-1);
  // acq_rel: P4 (release: exit_* above) and M3 (acquire: the pushed nodes).
  monitor_node* m = s->monitors_.exchange(ended_sentinel(), std::memory_order_acq_rel);
  while (m != nullptr) tell_monitor(std::exchange(m, m->next), s->exit_failed_, s->exit_error_);
}

}  // namespace weft::detail

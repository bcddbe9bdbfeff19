// An actor's shared state: the mailbox, one state word that decides who runs the actor and
// whether it still accepts messages, the behaviour, the monitors and the restart bookkeeping.
//
// `actor_core` is the untyped part (the run loop, stop, monitors and the end live out of line in
// actors/src/actor.cpp); `actor_state<B, Args...>` adds the behaviour object and the decayed copies
// of the constructor arguments it is rebuilt from on restart.
//
// Scheduling. A sender reserves a mailbox slot with one CAS on `word_` that also checks `closed`
// and the capacity. A sender that finds the actor `idle` first takes the runner's task from the
// runtime (prepare_task: the only step of a tell that may fail for lack of memory, bad_alloc when
// the task pool must grow; it fails before anything is reserved, so nothing needs undoing), then
// CASes `idle` -> `scheduled`, pushes its node and submits that task (a submission allocates
// nothing). A sender that finds the actor scheduled or running takes no task: the common tell is
// one CAS and one exchange, as before. The runner pops and handles messages (a batch at a
// time, yielding between batches), decrementing the count as it pops; when the count is zero it
// CASes `running` -> `idle` and returns, giving its fiber back: an idle actor holds no stack. The
// count and the run state share one word, so "the runner went idle" and "a sender saw the runner
// still running and did not submit" cannot both happen (no lost wake-up) without seq_cst.
//
// Word layout (64 bits):
//
//     63                                   3    2     1   0
//    +--------------------------------------+--------+-------+
//    | queued: reserved, not yet popped      | closed | run   |
//    +--------------------------------------+--------+-------+
//
// Invariants:
//   I1  queued = slots reserved by senders minus nodes popped by runners. It counts a node from
//       its reservation (before its push) and stops counting it when it is popped, so the
//       message being handled does not count against the capacity.
//   I2  run == idle implies queued == 0 (a reservation that finds idle moves it to scheduled).
//   I3  At most one runner exists: only the CAS that moved run from idle (a sender's, or
//       stop()'s) submits one, and only a runner moves it back to idle or on to ended.
//   I4  Once closed is set no reservation succeeds, so queued only falls; the actor ends when the
//       runner sees closed and queued == 0 (stop), or after it drained the queue (failure).
//   I5  queued > 0 guarantees the reserved node will be pushed: the reserving sender pushes
//       right after its CAS, whatever happens (a tombstone if its message's constructor threw).
//   I6  Whoever moves run from idle to scheduled (a sender's reservation, stop()) already holds
//       the runner's prepared task, taken before its CAS: nothing between that CAS and the
//       runner's submission can fail, so no actor is left `scheduled` without a runner. A task
//       taken for a CAS that then found the actor no longer idle is given back (abandon_task)
//       before anything is reserved. stop() alone may proceed without a task (it must not fail):
//       it then ends the idle actor itself (actor.cpp).
// Protocol (who may touch what):
//   word_         senders: CAS to reserve (never once closed); stop(): CAS to set closed;
//                 the runner (or stop() in its place, I6): fetch_sub on pop, CAS to idle, store
//                 to ended.
//   in_, out_     the mailbox: push (in_) by senders that reserved a slot; pop (out_) by the
//                 runner only (I3).
//   behaviour     the runner only (constructed by spawn_actor before the actor is shared).
//   restart ring  the runner only.
//   monitors_     see actor.cpp (a lock-free stack closed by a sentinel at the end).
//   exit_*        written by the runner before it closes monitors_, read after (P4).
// Orderings:
//   P1  runner: word_ CAS -> idle (release)  ->  sender: reservation CAS (acquire) that sees idle
//       and submits the next runner: everything one runner did to the behaviour is visible to
//       the next (the submission itself, a task spawn, also orders them). A reservation that
//       finds the actor scheduled or running submits nothing and reads nothing the runner wrote:
//       its CAS is relaxed (the message travels by the mailbox, P2).
//   P2  message contents: published by the mailbox (mailbox.hpp P1, P2), not by word_.
//   P3  refs_: fetch_add relaxed (a new reference is made from a live one), fetch_sub acq_rel
//       (the last owner must see every other owner's writes before it deletes the state).
//   P4  exit_* then monitors_.exchange(sentinel, acq_rel)  ->  monitor(): load(acquire) that sees
//       the sentinel reads exit_*.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/detail/mailbox.hpp>
#include <weft/detail/message.hpp>
#include <weft/detail/platform.hpp>
#include <weft/detail/task.hpp>
#include <weft/status.hpp>

namespace weft {
class runtime;
}

namespace weft::detail {

/// The run-state field of an actor's word (bits 0-1).
enum class run_state : std::uint64_t {
  /// No runner exists and nothing is queued (I2). A sender or stop() that moves it to
  /// `scheduled` must submit the runner.
  idle = 0,
  /// A runner was submitted and has not started. Senders only enqueue.
  scheduled = 1,
  /// The runner owns the behaviour and the consumer side of the mailbox. Senders only enqueue.
  running = 2,
  /// The actor has ended (closed is set, queued is 0, the behaviour is destroyed). Terminal.
  ended = 3,
};

/// The accessors of the packed word; see the diagram at the top of the file.
struct actor_word {
  static constexpr std::uint64_t run_mask = 0b11;
  static constexpr std::uint64_t closed_bit = 0b100;
  static constexpr unsigned queued_shift = 3;
  static constexpr std::uint64_t queued_one = std::uint64_t{1} << queued_shift;
  static constexpr std::uint64_t max_queued = ~std::uint64_t{0} >> queued_shift;

  static_assert((run_mask & closed_bit) == 0 && ((run_mask | closed_bit) >> queued_shift) == 0,
                "run, closed and queued must not overlap");
  static_assert(static_cast<std::uint64_t>(run_state::ended) <= run_mask, "run_state fits in 2 bits");

  static run_state run(std::uint64_t w) noexcept { return static_cast<run_state>(w & run_mask); }
  static bool is_closed(std::uint64_t w) noexcept { return (w & closed_bit) != 0; }
  static std::uint64_t queued(std::uint64_t w) noexcept { return w >> queued_shift; }
  static std::uint64_t with_run(std::uint64_t w, run_state r) noexcept {
    return (w & ~run_mask) | static_cast<std::uint64_t>(r);
  }
};

/// How many messages a runner handles before it yields its worker to other tasks.
///
/// Trade: a larger batch amortises the runner's start-up (one spawn, one fiber switch) over more
/// messages and keeps the behaviour hot in cache; a smaller one bounds how long a busy actor keeps
/// its worker from the other tasks queued there (fairness, tail latency of its neighbours).
/// Between batches the runner calls yield() and goes on with the same fiber, so a batch boundary
/// costs one trip through the run queue, not a new task. Default 64: not measured yet (to be
/// decided with the actor workloads of bench/WORKLOADS.md on the project's 2-core VM).
inline constexpr std::size_t mailbox_batch = 64;

struct monitor_node;  // actor.cpp: one monitor's sender and the next node

/// Result of a reservation attempt. `runner.task_ != nullptr`: the caller moved the actor out of
/// idle and holds the runner's prepared task (I6), which commit() submits after the push.
struct reservation {
  status code;
  task_handle runner;
};

class actor_core;

/// The behaviour-specific operations of an actor: one static table per actor_state type, so the
/// untyped core (and the run loop in actor.cpp) needs no virtual functions.
struct actor_ops {
  /// Destroys the behaviour and builds a new one from the stored arguments; returns the
  /// constructor's exception (the behaviour is then left destroyed).
  std::exception_ptr (*rebuild)(actor_core* self) noexcept;
  /// Destroys the behaviour (at the end).
  void (*destroy_behaviour)(actor_core* self) noexcept;
  /// Deletes the whole state (the last reference is gone).
  void (*destroy)(actor_core* self) noexcept;
};

class actor_core {
 public:
  actor_core(const actor_core&) = delete;
  actor_core& operator=(const actor_core&) = delete;

  // ---- sender side (inline: the tell fast path) ----

  /// Reserves one mailbox slot: ok (then the caller must push exactly one node, I5, with
  /// commit()), closed (stopped or ended) or full (bounded mailbox at capacity). Never blocks.
  /// Throws std::bad_alloc (or what making the default runtime throws) only when it finds the
  /// actor idle and cannot take the runner's task; nothing is reserved then (I6).
  reservation reserve() {
    // relaxed: only a first guess for the CAS below, which validates it.
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (actor_word::is_closed(w)) [[unlikely]]
        return {status::closed, {}};
      if (capacity_ != 0 && actor_word::queued(w) >= capacity_) [[unlikely]]
        return {status::full, {}};
      if (actor_word::run(w) == run_state::idle) return reserve_idle();  // takes the runner's task first
      // relaxed on success: scheduled or running, so we submit nothing and read nothing the
      // runner wrote (P1); the message is published by the mailbox (P2). relaxed on failure: we
      // only retry with the new value.
      if (word_.compare_exchange_weak(w, w + actor_word::queued_one, std::memory_order_relaxed,
                                      std::memory_order_relaxed))
        return {status::ok, {}};
    }
  }

  /// Pushes a node whose slot was reserved; submits the runner if the reservation holds one.
  void commit(message_node* n, const reservation& r) noexcept {
    in_.push(n);
    if (r.runner.task_ != nullptr) submit_runner(r.runner);
  }

  /// Refuses new messages at once; the runner handles those already queued, then ends. Idempotent.
  void stop() noexcept;

  /// Batch waits so far (actor_options::batch_wait). relaxed: a diagnostic counter.
  std::uint64_t batch_waits() const noexcept { return batch_waits_.load(std::memory_order_relaxed); }

  /// Messages accepted and not yet taken by the runner (relaxed snapshot).
  std::size_t queued() const noexcept {
    // relaxed: a snapshot for size(); nothing is read through it.
    return static_cast<std::size_t>(actor_word::queued(word_.load(std::memory_order_relaxed)));
  }
  /// True once stop() was called or the actor failed for good (relaxed snapshot).
  bool is_closed() const noexcept {
    // relaxed: a snapshot; tell() validates closed with its own CAS.
    return actor_word::is_closed(word_.load(std::memory_order_relaxed));
  }
  /// True once the actor has ended (acquire: its behaviour is destroyed and exit info written).
  bool has_ended() const noexcept {
    // acquire: pairs with the release store of `ended` in finish().
    return actor_word::run(word_.load(std::memory_order_acquire)) == run_state::ended;
  }

  // ---- ownership ----

  /// References: every actor_ref, every submitted runner. handles: actor_refs only; the last
  /// handle to go stops the actor (nobody can send to it any more).
  void add_ref() noexcept {
    // relaxed: P3.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void release_ref() noexcept {
    // acq_rel: P3.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) ops_->destroy(this);
  }
  void add_handle() noexcept {
    // relaxed: a new handle is copied from a live one, which keeps the count above zero.
    handles_.fetch_add(1, std::memory_order_relaxed);
    add_ref();
  }
  void release_handle() noexcept {
    // acq_rel: whichever handle is last sees the others' operations before it stops the actor.
    if (handles_.fetch_sub(1, std::memory_order_acq_rel) == 1) stop();
    release_ref();
  }

  /// Registers a monitor channel's sender; defined in actor.cpp (needs the channel types).
  void add_monitor(monitor_node* m) noexcept;

 protected:
  actor_core(const actor_ops* ops, runtime* rt, std::size_t capacity, int max_restarts,
             std::chrono::nanoseconds within, std::chrono::nanoseconds batch_wait);
  ~actor_core();  // not virtual: the state is deleted through ops_->destroy, as its real type

  /// Where the behaviour lives (nullptr while it is destroyed); the derived class sets it.
  void set_behaviour(void* b) noexcept { behaviour_ = b; }
  void* behaviour() const noexcept { return behaviour_; }

 private:
  friend struct actor_runner;       // actor.cpp: the run loop, restart, the end
  friend struct actor_core_layout;  // the layout checks below

  /// reserve() for an actor found idle (out of line): takes the runner's task, then reserves
  /// (I6). Throws what prepare_task throws, before anything is reserved.
  reservation reserve_idle();
  /// A task of the actor's runtime with the runner's closure built in it, not yet runnable.
  /// Throws std::bad_alloc when the runtime's task pool cannot grow.
  task_handle prepare_runner();
  /// Makes a prepared runner runnable; it holds a reference until its run ends. Never fails.
  void submit_runner(task_handle h) noexcept;

  // ---- the senders' line: every tell CASes word_ and exchanges in_'s head; it reads the two
  // constants. The runner also writes word_ (one fetch_sub per message), so this line moves
  // between them either way; keeping the senders' fields on one line makes a tell touch one.
  std::atomic<std::uint64_t> word_{0};  // see the diagram; I1-I5
  mpsc_push_end in_;                    // the mailbox's push end (built from out_'s stub)
  const std::size_t capacity_;          // 0: unbounded; written once at construction
  runtime* const runtime_;              // nullptr: the default runtime
  static constexpr std::size_t senders_bytes =
      sizeof(std::atomic<std::uint64_t>) + sizeof(mpsc_push_end) + sizeof(std::size_t) + sizeof(runtime*);
  [[maybe_unused]] char senders_pad_[cache_line_size - senders_bytes];

  // ---- the runner's fields (I3), rarely touched by anyone else.
  mpsc_pop_end out_;                    // the mailbox's pop end
  void* behaviour_ = nullptr;           // the runner only (and the constructor)
  const actor_ops* const ops_;          // the behaviour's type-specific operations
  std::atomic<std::uint32_t> refs_{1};  // P3; the creator's handle holds the first reference
  std::atomic<std::uint32_t> handles_{1};
  std::atomic<monitor_node*> monitors_{nullptr};  // see actor.cpp; P4
  const int max_restarts_;
  const std::uint32_t batch_wait_ns_;  // actor_options::batch_wait (<= 1 s); fills max_restarts_' padding
  const std::chrono::nanoseconds within_;
  std::chrono::steady_clock::time_point* restarts_ = nullptr;  // ring of the last restarts (new[])
  std::size_t restart_next_ = 0;   // ring index of the oldest entry
  std::size_t restart_count_ = 0;  // entries in use (<= max_restarts_)
  bool exit_failed_ = false;       // P4
  std::uint16_t batch_skips_ = 0;  // the runner only: batch waits still to skip (actor.cpp); in the padding
  std::atomic<std::uint32_t> batch_waits_{0};  // the runner only writes it (relaxed); in the padding
  std::exception_ptr exit_error_;  // P4
};

// The object is not over-aligned: with alignas(cache_line_size) on the mailbox ends every actor
// was a memalign'd 512-byte object; measured, 1M idle actors (`counter`, each having handled two
// messages; gcc 12 -O2, 2-core x86-64 VM) cost 969 B of RSS each that way and 290 B each now
// (sizeof(actor_state<counter>) = 248). The senders' fields and the runner's are at least a
// line apart, so they never share a 64-byte line (with 128-byte pair prefetching they may share
// a pair when the object straddles one).
struct actor_core_layout {
  static_assert(std::is_standard_layout_v<actor_core>, "offsetof below needs a standard-layout actor_core");
  static_assert(offsetof(actor_core, out_) - offsetof(actor_core, word_) >= cache_line_size,
                "senders' line and runner's fields at least a cache line apart: no false sharing");
};

/// B can be built from const lvalues of type A... : by a constructor, or (an aggregate) by
/// brace initialization. The second form is spelled out because clang 14 lacks C++20's
/// parenthesized aggregate initialization.
template <class B, class... A>
inline constexpr bool is_buildable_from =
    std::is_constructible_v<B, const A&...> ||
    (std::is_aggregate_v<B> && requires(const A&... a) { B{a...}; });

/// The typed state: the behaviour B and the decayed copies of its constructor arguments.
template <class B, class... Args>
class actor_state final : public actor_core {
 public:
  /// Builds B from copies of args (throws what B's constructor throws; nothing is shared yet).
  template <class... A>
  actor_state(runtime* rt, std::size_t capacity, int max_restarts, std::chrono::nanoseconds within,
              std::chrono::nanoseconds batch_wait, A&&... args)
      : actor_core(&ops, rt, capacity, max_restarts, within, batch_wait), args_(std::forward<A>(args)...) {
    build();
  }
  ~actor_state() { destroy_behaviour(); }

 private:
  static std::exception_ptr rebuild_fn(actor_core* self) noexcept { return static_cast<actor_state*>(self)->rebuild(); }
  static void destroy_behaviour_fn(actor_core* self) noexcept { static_cast<actor_state*>(self)->destroy_behaviour(); }
  static void destroy_fn(actor_core* self) noexcept { delete static_cast<actor_state*>(self); }
  static constexpr actor_ops ops{&rebuild_fn, &destroy_behaviour_fn, &destroy_fn};

  void build() {
    std::apply(
        [this](const Args&... a) {
          if constexpr (std::is_constructible_v<B, const Args&...>)
            ::new (static_cast<void*>(storage_)) B(a...);
          else
            ::new (static_cast<void*>(storage_)) B{a...};
        },
        args_);
    set_behaviour(std::launder(reinterpret_cast<B*>(storage_)));
  }
  std::exception_ptr rebuild() noexcept {
    destroy_behaviour();
    try {
      build();
      return {};
    } catch (...) {
      return std::current_exception();
    }
  }
  void destroy_behaviour() noexcept {
    if (behaviour() == nullptr) return;
    static_cast<B*>(behaviour())->~B();
    set_behaviour(nullptr);
  }

  const std::tuple<Args...> args_;               // decayed copies; B is rebuilt from them on restart
  alignas(B) unsigned char storage_[sizeof(B)];  // B lives here while behaviour() != nullptr
};

}  // namespace weft::detail

// weft/actor.hpp: actors: a behaviour object that handles one message at a time, fed through a
// mailbox, run as a task only while it has messages.
//
// Use an actor to own state that many tasks or threads talk to (a connection, a cache shard, an
// order book) without locks: the state is touched only by its handlers, and handlers of one
// actor never run concurrently. `spawn_actor<B>(args...)` builds B(args...) and returns an
// `actor_ref<B>`; B's operator() overloads are its handlers, chosen by the message's type.
// `tell(m)` enqueues and returns at once; `ask(m)` returns a future of the handler's result.
//
// Stopping and ending: `stop()` refuses new messages at once (tell/ask then return `closed`),
// lets the actor handle what is already queued, then ends it. The actor also stops when its last
// actor_ref is destroyed (nobody could send to it any more) -- so a behaviour that keeps an
// actor_ref to itself keeps itself alive until stop(). A handler that throws fails the actor:
// the asker, if any, gets `failed` with the exception; with `restart.max_restarts > 0` the
// behaviour is rebuilt from copies of the original arguments (the mailbox is kept), otherwise
// the actor ends with `failed`. Asks still queued when an actor ends complete with `broken`.
// `monitor()` returns a receiver that gets one `exit_info` when the actor ends (at once if it has).
//
// Threads vs tasks: tell/ask/stop/monitor work from OS threads and from tasks; none of them
// blocks (ask's future is where a caller waits). Handlers run as tasks on the actor's runtime (the
// default one, or the runtime given to spawn_actor); a handler may block on a channel or another
// actor's ask, which parks only its own actor. The runtime must outlive its actors' activity.
//
// Allocation: one node per message (carved from the sending thread's 64 KiB slab, see
// detail/node_slab.hpp; operator new for messages over 1 KiB), plus the one-shot state for ask; the runner task is spawned when an
// idle actor receives a message (after answering an ask a runner lingers one yield before going
// idle, so an asker that asks again at once finds it running). The node and the runner's task
// are both taken before the message is enqueued, so a tell or ask that runs out of memory
// throws std::bad_alloc and changes nothing. An idle actor owns no stack: it costs its state (a
// few cache lines plus B) only.
//
// Guarantees: messages from one sender are handled in the order sent, and messages whose tells
// are ordered by happens-before (from any threads or tasks) are handled in that order; every
// accepted message is handled exactly once, or (when the actor ends first) destroyed exactly once.
//
//   struct counter {
//     int n = 0;
//     void operator()(int add) { n += add; }
//     int operator()(get_t) const { return n; }
//   };
//   weft::actor_ref<counter> c = weft::spawn_actor<counter>();
//   c.tell(2);
//   c.tell(3);
//   weft::result<int> total = c.ask(get_t{}).get();   // 5
//   c.stop();
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iosfwd>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/chan.hpp>
#include <weft/detail/actor_state.hpp>
#include <weft/detail/message.hpp>
#include <weft/oneshot.hpp>
#include <weft/runtime.hpp>
#include <weft/status.hpp>

namespace weft {

/// Why an actor ended.
enum class exit_reason {
  stopped,  ///< stop() was called (or its last actor_ref went away) and its queue was handled
  failed,   ///< a handler threw and no restart was left; see exit_info::error
};

/// "stopped" or "failed"; never null. operator<< writes the same.
const char* to_string(exit_reason r) noexcept;
std::ostream& operator<<(std::ostream& os, exit_reason r);

/// What a monitor receives when an actor ends.
struct exit_info {
  exit_reason reason;
  std::exception_ptr error;  ///< the handler's exception when reason == failed, else null
};

/// Restarts allowed when a handler throws: a failure is followed by a restart if fewer than
/// `max_restarts` restarts happened in the last `within` (a sliding window); otherwise the actor
/// ends with `failed`. 0: never restart. A `within` of zero or less makes the window empty: every
/// failure is restarted (when max_restarts > 0). A restart destroys the behaviour, then builds a
/// new one from copies of the original arguments; if that constructor throws, the actor ends with
/// `failed` and that exception.
struct restart_policy {
  int max_restarts = 0;
  std::chrono::nanoseconds within = std::chrono::seconds(5);
};

struct actor_options {
  /// Messages that may wait in the mailbox (the one being handled does not count); when it is
  /// full, tell returns `full` and ask a future completed with `full`. 0: unbounded.
  std::size_t mailbox_capacity = 0;
  restart_policy restart;
  /// Batching of streamed messages (unbounded mailboxes). When messages arrived while the actor
  /// was handling others (a sender on another thread keeps telling), the runner waits up to
  /// this long, without touching the senders' cache lines, for more to queue up before it
  /// takes the next ones: the sender then runs undisturbed and the runner takes the messages
  /// in batches (W8, one sender streaming tells to an actor on another core: 70 -> 27 ns per
  /// message on the project's VM; bench/RESULTS.md). The cost: a message that queues behind
  /// others while the actor is busy may wait up to this much longer. The runner stops waiting
  /// early when nothing arrives in the first quarter of the wait, and stops waiting for the next
  /// 64 runs when a wait brought fewer than 4 messages (so an actor that tells itself, or
  /// whose senders are slow, does not pay it). Never waits after an ask was answered (the
  /// asker is waiting for the reply), nor with a bounded mailbox. 0: never wait.
  std::chrono::nanoseconds batch_wait = std::chrono::microseconds(1);
};

namespace detail {

template <class B, class M>
inline constexpr bool has_handler = std::is_invocable_v<B&, std::decay_t<M>&&>;

template <class B, class M, bool = has_handler<B, M>>
struct ask_result {
  using type = void;  // no handler: the static_assert in ask() reports it
};
template <class B, class M>
struct ask_result<B, M, true> {
  using type = std::remove_cvref_t<std::invoke_result_t<B&, std::decay_t<M>&&>>;
};

/// Completes an ask's future at once with `closed` or `full` (the mailbox refused the message).
/// promise<R> has no public way to send a bare status yet; until it has one (`set_status`),
/// `closed` is produced exactly by letting the promise break and taking that outcome (a taken
/// future answers `closed`), and `full` travels as `failed` with a weft::error whose code() is
/// `full`.
template <class R>
void complete_with(promise<R>& p, future<R>& f, status s) {
  if constexpr (requires { p.set_status(s); }) {
    p.set_status(s);
  } else if (s == status::closed) {
    {
      promise<R> gone(std::move(p));  // destroyed unset: the future completes with broken
    }
    (void)f.try_get();  // takes `broken`; every later get() returns closed
  } else {
    p.set_exception(std::make_exception_ptr(error(s, "weft: actor_ref::ask: mailbox full")));
  }
}

}  // namespace detail

/// The handler result type of B for message type M: what `ask(M)` returns a future of.
template <class B, class M>
using ask_result_t = typename detail::ask_result<B, M>::type;

template <class Behavior>
class actor_ref;

namespace detail {
template <class B, class... Args>
actor_ref<B> make_actor(runtime* rt, const actor_options& opts, Args&&... args);
}  // namespace detail

/// A copyable handle to an actor with behaviour type `Behavior`. An empty (default-constructed
/// or moved-from) handle throws weft::error with code `closed` from every member call.
/// One handle may be used by several threads at once; copying, assigning or destroying it races
/// like shared_ptr.
template <class Behavior>
class actor_ref {
 public:
  actor_ref() noexcept = default;
  actor_ref(const actor_ref& o) noexcept : state_(o.state_) {
    if (state_ != nullptr) state_->add_handle();
  }
  actor_ref(actor_ref&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  actor_ref& operator=(actor_ref o) noexcept {
    std::swap(state_, o.state_);
    return *this;
  }
  ~actor_ref() {
    if (state_ != nullptr) state_->release_handle();
  }

  /// Enqueues m for the handler `Behavior::operator()(M)`. Returns ok, closed (stopped or
  /// ended) or full (bounded mailbox at capacity). Never blocks. On any status but ok, m is left
  /// untouched (an rvalue is not moved from). Throws std::bad_alloc when memory runs out (the
  /// message node, or the runner's task of an idle actor): then too m is untouched, nothing was
  /// enqueued, and the actor goes on as if this tell had not happened. Throws what M's
  /// constructor throws (the message is then not delivered).
  /// Memory ordering: everything the caller did before a tell() that returned ok is visible to
  /// the handler that handles the message.
  template <class M>
  status tell(M&& m) const {
    static_assert(detail::has_handler<Behavior, M>,
                  "weft::actor_ref<B>::tell(m): the behaviour B has no handler for this message "
                  "type. Add an overload `void operator()(Msg)` to B, or check the message's type "
                  "(it is passed to the handler as an rvalue of std::decay_t<M>).");
    if constexpr (detail::has_handler<Behavior, M>) {
      using node = detail::tell_node<Behavior, std::decay_t<M>>;
      detail::actor_core* s = checked("actor_ref::tell on an empty handle (default-constructed or moved from)");
      void* raw = detail::allocate_node<node>();
      const detail::reservation r = reserve_for<node>(s, raw);
      if (r.code != status::ok) [[unlikely]] {
        detail::free_node<node>(raw);
        return r.code;
      }
      s->commit(construct_node<node>(raw, s, r, std::forward<M>(m)), r);
      return status::ok;
    } else {
      return status::closed;
    }
  }

  /// Enqueues m and returns a future of the handler's result (future<void> for a void handler).
  /// The future completes with the value; `failed` (the handler threw; exception() holds it);
  /// `broken` (the actor ended before handling it); at once with `closed` (stopped or ended) or
  /// `full` (bounded mailbox at capacity; m is then left untouched). Never blocks. Throws
  /// std::bad_alloc as tell() does (m untouched, nothing enqueued).
  /// Memory ordering: as tell(); and everything the handler did is visible to whoever gets the
  /// future's value (set_value -> get).
  template <class M>
  future<ask_result_t<Behavior, M>> ask(M&& m) const {
    static_assert(detail::has_handler<Behavior, M>,
                  "weft::actor_ref<B>::ask(m): the behaviour B has no handler for this message "
                  "type. Add an overload `R operator()(Msg)` to B, or check the message's type "
                  "(it is passed to the handler as an rvalue of std::decay_t<M>).");
    using R = ask_result_t<Behavior, M>;
    auto [p, f] = make_oneshot<R>();
    if constexpr (detail::has_handler<Behavior, M>) {
      using node = detail::ask_node<Behavior, std::decay_t<M>, R>;
      detail::actor_core* s = checked("actor_ref::ask on an empty handle (default-constructed or moved from)");
      void* raw = detail::allocate_node<node>();
      const detail::reservation r = reserve_for<node>(s, raw);
      if (r.code != status::ok) [[unlikely]] {
        detail::free_node<node>(raw);
        detail::complete_with(p, f, r.code);
        return std::move(f);
      }
      s->commit(construct_node<node>(raw, s, r, std::forward<M>(m), std::move(p)), r);
    }
    return std::move(f);
  }

  /// Refuses new messages at once (tell/ask return closed); the actor handles the messages
  /// already queued, then ends with exit_reason::stopped. Idempotent; never blocks.
  /// Memory ordering: every tell()/ask() that returned ok before stop() (in happens-before) is
  /// handled before the actor ends.
  void stop() const { checked("actor_ref::stop on an empty handle (default-constructed or moved from)")->stop(); }

  /// A receiver that gets one exit_info when the actor ends, then is closed; if the actor has
  /// already ended, the value is there at once. Each call makes a new channel (capacity 1).
  /// Memory ordering: everything the actor's handlers did is visible to whoever receives the
  /// exit_info.
  receiver<exit_info> monitor() const;

  /// Messages queued and not yet taken by the actor (a snapshot).
  std::size_t mailbox_size() const { return checked("actor_ref::mailbox_size on an empty handle (default-constructed or moved from)")->queued(); }
  /// How many times the actor's runner waited for a batch of streamed messages
  /// (actor_options::batch_wait), modulo 2^32: a diagnostic.
  std::uint64_t batch_waits() const { return checked("actor_ref::batch_waits on an empty handle (default-constructed or moved from)")->batch_waits(); }
  /// True once stop() was called or the actor failed for good (a snapshot).
  bool is_stopped() const { return checked("actor_ref::is_stopped on an empty handle (default-constructed or moved from)")->is_closed(); }
  /// True if this handle refers to an actor (not default-constructed or moved from).
  explicit operator bool() const noexcept { return state_ != nullptr; }

  friend bool operator==(const actor_ref& a, const actor_ref& b) noexcept { return a.state_ == b.state_; }

 private:
  template <class B, class... Args>
  friend actor_ref<B> detail::make_actor(runtime* rt, const actor_options& opts, Args&&... args);

  explicit actor_ref(detail::actor_core* s) noexcept : state_(s) {}  // adopts the first handle

  detail::actor_core* checked(const char* what) const {
    if (state_ == nullptr) [[unlikely]]
      detail::throw_error(status::closed, what);
    return state_;
  }

  /// Reserves a slot for the node whose storage is `raw`. If the reservation throws (the actor
  /// was idle and its runner's task could not be taken: bad_alloc), frees `raw` and rethrows:
  /// nothing was reserved and the message was not touched (I6 of actor_state.hpp).
  template <class Node>
  static detail::reservation reserve_for(detail::actor_core* s, void* raw) {
    try {
      return s->reserve();
    } catch (...) {
      detail::free_node<Node>(raw);
      throw;
    }
  }

  /// Constructs the node in `raw`. If the message's constructor throws, the reserved slot still
  /// gets a node (a tombstone, I5 of actor_state.hpp) and the exception propagates.
  template <class Node, class... A>
  static detail::message_node* construct_node(void* raw, detail::actor_core* s, const detail::reservation& r,
                                              A&&... a) {
    try {
      return ::new (raw) Node(std::forward<A>(a)...);
    } catch (...) {
      s->commit(::new (raw) detail::tombstone_node<Node>(), r);
      throw;
    }
  }

  detail::actor_core* state_ = nullptr;
};

namespace detail {

/// Registers a new monitor channel with `s` (actor.cpp).
receiver<exit_info> make_monitor(actor_core* s);

template <class First, class Second, class...>
inline constexpr bool is_runtime_then_options =
    std::is_same_v<std::remove_cvref_t<First>, runtime> && std::is_same_v<std::remove_cvref_t<Second>, actor_options>;

/// True when spawn_actor's pack should go to B's constructor (it does not start with the
/// options, or with a runtime and the options, which select the other overloads).
template <class... Args>
inline constexpr bool plain_spawn_args = true;
template <class First, class... Rest>
inline constexpr bool plain_spawn_args<First, Rest...> =
    !std::is_same_v<std::remove_cvref_t<First>, actor_options> &&
    !is_runtime_then_options<First, Rest..., void, void>;

template <class B, class... Args>
void check_behaviour() {
  static_assert(std::is_object_v<B> && !std::is_abstract_v<B> && std::is_destructible_v<B>,
                "weft::spawn_actor<B>: B must be a complete, non-abstract, destructible class");
  static_assert(is_buildable_from<B, std::decay_t<Args>...>,
                "weft::spawn_actor<B>(args...): B must be constructible from const lvalue copies "
                "of args (the actor keeps decayed copies and rebuilds B from them on restart)");
}

}  // namespace detail

template <class Behavior>
receiver<exit_info> actor_ref<Behavior>::monitor() const {
  return detail::make_monitor(checked("actor_ref::monitor on an empty handle (default-constructed or moved from)"));
}

namespace detail {

/// Builds B from copies of args; rt == nullptr: the default runtime.
template <class B, class... Args>
actor_ref<B> make_actor(runtime* rt, const actor_options& opts, Args&&... args) {
  check_behaviour<B, Args...>();
  if constexpr (is_buildable_from<B, std::decay_t<Args>...>) {  // else: only the static_assert
    if (opts.restart.max_restarts < 0) [[unlikely]]
      throw_error(status::failed, "spawn_actor: restart.max_restarts must be >= 0");
    using state = actor_state<B, std::decay_t<Args>...>;
    if (opts.batch_wait.count() < 0 || opts.batch_wait > std::chrono::seconds(1)) [[unlikely]]
      throw_error(status::failed, "spawn_actor: batch_wait must be between 0 and 1 s");
    auto* s = new state(rt, opts.mailbox_capacity, opts.restart.max_restarts, opts.restart.within,
                        opts.batch_wait, std::forward<Args>(args)...);
    return actor_ref<B>(s);
  } else {
    return actor_ref<B>();
  }
}

}  // namespace detail

/// B(args...) on runtime `rt`, which must outlive the actor's activity (destroy or stop its
/// actor_refs first: dropping the last one submits the runner that ends the actor). Throws what B's
/// constructor throws (nothing is started then), std::bad_alloc, or weft::error (code failed)
/// for a negative restart.max_restarts.
template <class B, class... Args>
actor_ref<B> spawn_actor(runtime& rt, actor_options opts, Args&&... args) {
  return detail::make_actor<B>(&rt, opts, std::forward<Args>(args)...);
}

/// Memory ordering (all three forms): B's construction and everything the caller did before
/// spawn_actor happen-before the first handler.
///
/// B(args...) on the default runtime, with the given options.
template <class B, class... Args>
actor_ref<B> spawn_actor(actor_options opts, Args&&... args) {
  return detail::make_actor<B>(nullptr, opts, std::forward<Args>(args)...);
}

/// B(args...) on the default runtime: unbounded mailbox, no restarts.
template <class B, class... Args>
  requires detail::plain_spawn_args<Args...>
actor_ref<B> spawn_actor(Args&&... args) {
  return detail::make_actor<B>(nullptr, actor_options{}, std::forward<Args>(args)...);
}

}  // namespace weft

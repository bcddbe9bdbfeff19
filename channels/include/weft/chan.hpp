// weft/chan.hpp: typed MPMC channels: bounded, unbuffered (rendezvous) and unbounded.
//
// Use a channel to hand values from the threads or tasks that produce them to the ones that
// consume them, instead of writing results into shared variables.
//
//   auto [tx, rx] = weft::make_chan<order>(1024);   // bounded: send blocks while full
//   auto c0 = weft::make_chan<int>(0);              // unbuffered: send waits for a receiver
//   auto cu = weft::make_unbounded_chan<int>();     // unbounded: send never blocks
//   std::thread producer([tx = std::move(tx)]() mutable { for (auto& o : orders) tx.send(o); });
//   for (order& o : rx) handle(o);                  // until closed and drained
//
// Closing and draining: the sender side closes (tx.close(), or the last sender handle dies),
// the receiver side drains: receivers still get every buffered value, then `closed`. When the
// last receiver dies, every pending and later send returns `closed`: nobody blocks forever on a
// channel nobody reads. Close and disconnect wake every blocked operation on both sides.
//
// Threads and tasks: every operation works from plain OS threads and from weft tasks; a blocked
// task parks its fiber, never its worker thread. Each blocking form has deadline (`_for`,
// `_until`) and context forms; an operation that can complete at once completes whatever its
// deadline or context.
//
// Guarantees: linearizable FIFO (values from one sender arrive in order, and sends ordered by
// happens-before from any threads are received in that order); no value lost or delivered
// twice, under close, timeout and cancellation races too; on any status but ok the value passed
// in is left untouched in the caller's object (move-only types included); values are destroyed
// exactly once, also when a channel dies with values inside.
//
// Allocation: make_* allocates the channel (one block for bounded; blocks of 31 values for
// unbounded, given back as they drain). send/recv/try_* on bounded and unbuffered channels never
// allocate, lock-free on the bounded ring; the unbuffered flavor pairs partners under a short
// spin lock. Handles are one pointer; copying one is an atomic increment.
//
// Memory ordering: everything a thread did before a send that returned ok is visible to the
// thread whose receive returned that value; everything before close() is visible to a receive
// that returns `closed` because of it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/detail/chan_state.hpp>
#include <weft/detail/flavor_bounded.hpp>
#include <weft/detail/flavor_rendezvous.hpp>
#include <weft/detail/flavor_unbounded.hpp>
#include <weft/detail/source_location.hpp>
#include <weft/detail/switch_call.hpp>
#include <weft/detail/trace.hpp>
#include <weft/status.hpp>

namespace weft {

class context;
template <class T> class sender;
template <class T> class receiver;

namespace detail {
/// The shared state behind a context (nullptr for background()). Defined in context.cpp.
context_state* state_of(const context& ctx) noexcept;

template <class T>
chan_state<T>* state_of(const sender<T>& s) noexcept;
template <class T>
chan_state<T>* state_of(const receiver<T>& r) noexcept;

[[noreturn, gnu::cold, gnu::noinline]] void throw_moved_from(const char* what,
                                                             source_location where = source_location::current());

template <class T>
void free_state(chan_state<T>* s) noexcept {
  delete s;
}

// ---- per-flavor dispatch (the handles switch on the tag; no virtual call on a fast path) ----

template <class T>
status do_try_send(chan_state<T>* s, T& v) {
  switch (s->kind()) {
    case flavor::bounded: return static_cast<bounded_chan<T>*>(s)->try_send(v);
    case flavor::unbounded: return static_cast<unbounded_chan<T>*>(s)->try_send(v);
    case flavor::rendezvous: return static_cast<rendezvous_chan<T>*>(s)->try_send(v);
    case flavor::special: break;
  }
  return status::closed;
}

// ---- calling a blocking operation's slow path (it may switch fibers: switch_call.hpp) ----

/// A slow path called through switch_call only when it cannot throw: T's move is all it could
/// throw from (a throwing move goes back to the caller as an exception).
template <class T>
inline constexpr bool slow_by_switch_call = WEFT_DETAIL_SWITCH_CALL && std::is_nothrow_move_constructible_v<T>;

/// Slow(c, v, deadline, ctx): a blocking send's wait. Called by switch_call directly: its four
/// arguments go in the same four integer registers as switch_call_fn's (two references, a
/// time_point -- one 64-bit count, passed as an integer -- and a pointer) and its status comes
/// back in the result register's low byte, which is all that is read (x86-64 SysV; the
/// trampoline only exists there).
template <class T, class C, status (*Slow)(C&, T&, time_point, context_state*)>
[[gnu::always_inline]] inline status call_send_slow(C& c, T& v, time_point deadline, context_state* ctx) {
  if constexpr (slow_by_switch_call<T>) {
    static_assert(std::is_trivially_copyable_v<time_point> && sizeof(time_point) == sizeof(std::int64_t));
    static_assert(std::is_same_v<std::underlying_type_t<status>, std::uint8_t>);
    // Through void(*)(): the pointer is only handed to the trampoline, never called as converted.
    const auto fn = reinterpret_cast<switch_call_fn>(reinterpret_cast<void (*)()>(Slow));
    const std::uintptr_t r = switch_call(fn, &c, &v, deadline.time_since_epoch().count(), ctx);
    return static_cast<status>(static_cast<std::uint8_t>(r));
  } else {
    return Slow(c, v, deadline, ctx);
  }
}

template <class T, class C, result<T> (*Slow)(C&, time_point, context_state*)>
std::uintptr_t recv_slow_erased(void* out, void* c, std::int64_t d, void* ctx) noexcept {
  ::new (out) result<T>(Slow(*static_cast<C*>(c), time_point(time_point::duration(d)), static_cast<context_state*>(ctx)));
  return 0;
}
/// Slow(c, deadline, ctx): a blocking receive's wait. Through a wrapper that constructs the
/// result in the caller's buffer: how result<T> itself comes back (registers or memory) depends
/// on T.
template <class T, class C, result<T> (*Slow)(C&, time_point, context_state*)>
[[gnu::always_inline]] inline result<T> call_recv_slow(C& c, time_point deadline, context_state* ctx) {
  if constexpr (slow_by_switch_call<T>) {
    alignas(result<T>) unsigned char buf[sizeof(result<T>)];
    (void)switch_call(&recv_slow_erased<T, C, Slow>, buf, &c, deadline.time_since_epoch().count(), ctx);
    result<T>& r = *std::launder(reinterpret_cast<result<T>*>(buf));
    result<T> out(std::move(r));
    r.~result<T>();
    return out;
  } else {
    return Slow(c, deadline, ctx);
  }
}

/// A bounded send's wait (after try_send said full). Out of line, so that do_send's fast paths
/// (this one's try, a rendezvous hand-off) need no saved registers.
template <class T>
[[gnu::noinline]] status bounded_send_slow(bounded_chan<T>* b, T& v, time_point deadline, context_state* ctx) {
  chan_state<T>* const s = b;
  status out = status::full;
  auto try_once = [&] {
    out = b->try_send(v);
    return out != status::full;
  };
  // While spinning, look for a batch of free slots (send_peek) every send_look_every() relaxes
  // (each look takes a line from the receivers), trying at least every 64 looks. polls starts
  // at 32: the first forced try comes after 32 looks, then every 64. A sender that gives up
  // spinning re-checks for any free slot before it parks (wait_for_ring's is_ready).
  std::uint32_t polls = 32;
  std::uint32_t relaxes = 0;
  const std::uint32_t look_mask = b->send_look_every() - 1;
  auto poll = [&] { return (++relaxes & look_mask) == 0 && (b->send_peek() || (++polls & 63) == 0); };
  const status w = wait_for_ring(b->senders(), try_once, [b] { return b->send_ready(); }, deadline, ctx, "send", s,
                                 poll);
  return w == status::ok ? out : w;
}

// do_send and do_recv are inlined into the caller's code, so that a slow path called through
// switch_call returns by its jump straight into the caller's frame (switch_call.hpp): a frame
// of do_send's own between them would return by `ret` after the switch, and miss.
template <class T>
[[gnu::always_inline]] inline status do_send(chan_state<T>* s, T& v, time_point deadline, context_state* ctx) {
  switch (s->kind()) {
    case flavor::bounded: {
      auto* b = static_cast<bounded_chan<T>*>(s);
      const status st = b->try_send(v);
      if (st != status::full) [[likely]]
        return st;
      return bounded_send_slow(b, v, deadline, ctx);
    }
    case flavor::unbounded: return static_cast<unbounded_chan<T>*>(s)->try_send(v);
    case flavor::rendezvous: {
      auto* r = static_cast<rendezvous_chan<T>*>(s);
      const status st = r->try_send(v);
      if (st != status::full) return st;
      return call_send_slow<T, rendezvous_chan<T>, &rendezvous_send_slow<T>>(*r, v, deadline, ctx);
    }
    case flavor::special: break;
  }
  return status::closed;
}

template <class T>
result<T> special_recv_slow(special_chan<T>& c, time_point deadline, context_state* ctx);

template <class T>
result<T> do_try_recv(chan_state<T>* s) {
  switch (s->kind()) {
    case flavor::bounded: return static_cast<bounded_chan<T>*>(s)->try_recv();
    case flavor::unbounded: return static_cast<unbounded_chan<T>*>(s)->try_recv();
    case flavor::rendezvous: return static_cast<rendezvous_chan<T>*>(s)->try_recv();
    case flavor::special: return static_cast<special_chan<T>*>(s)->try_recv();
  }
  return status::closed;
}

/// A ring receive's wait (after the first try found the ring empty). Out of line, as
/// bounded_send_slow; wait_for_ring is inlined here, so a wait is one call deep.
/// A bounded receive in spin mode with neither deadline nor context (it never registers: only a
/// value or the close can end it) polls the head slot in a loop of its own and returns the value
/// it takes straight to the caller. For W3 spin (two threads, two cap-1 channels) the receive's
/// part of a hop was ~12 ns more than bounded_chan's bare try_recv; this loop halves a round
/// trip's distance to a minimal ring of the same protocol (bench/tools/w3floor; bench/RESULTS.md,
/// session 24).
template <class T, class Flavor>
[[gnu::noinline]] result<T> ring_recv_slow(Flavor* f, time_point deadline, context_state* ctx) {
  if constexpr (std::is_same_v<Flavor, bounded_chan<T>>) {
    // The strategy first: one call (a thread-local read) decides for adaptive threads and tasks.
    if (this_thread::get_wait_strategy() == wait_strategy::spin && deadline == no_deadline &&
        ctx == nullptr && !in_task()) {
      // The exact try_recv every 64 looks, the first after 32 (as the poll in wait_for_ring
      // below): it sees a close (a look does not).
      for (std::uint32_t i = 33;; ++i) {
        if constexpr (std::is_nothrow_move_constructible_v<T>) {
          result<T> r = (i & 63) != 0 ? f->try_take_head() : f->try_recv();
          if (r.code() != status::empty) return r;
        } else if (f->recv_peek() || (i & 63) == 0) {
          result<T> r = f->try_recv();
          if (r.code() != status::empty) return r;
        }
        cpu_relax();
      }
    }
  }
  result<T> out = status::empty;
  auto try_once = [&] {
    out = f->try_recv();
    return out.code() != status::empty;
  };
  // While spinning, a bounded receiver polls only the head slot's stamp (the line the sender
  // writes anyway) instead of re-reading tail, which the sender's CAS would have to steal back.
  // polls starts at 32, as in do_send: an exact try within adaptive_spin's free polls, so a
  // closed, drained channel is seen before any registration.
  std::uint32_t polls = 32;
  auto poll = [&] {
    if constexpr (std::is_same_v<Flavor, bounded_chan<T>>) return f->recv_peek() || (++polls & 63) == 0;
    else return true;
  };
  const status w = wait_for_ring(f->receivers(), try_once, [f] { return f->recv_ready(); }, deadline, ctx, "recv", f, poll);
  if (w != status::ok) return w;
  return out;
}

template <class T, class Flavor>
result<T> ring_recv(Flavor* f, time_point deadline, context_state* ctx) {
  result<T> out = [&] {
    // bounded without deadline or context: the inexact first attempt (bounded_chan::try_recv);
    // the wait re-checks exactly before blocking. With a deadline or a context the wait may end
    // before any re-check, so `closed` must be seen here already.
    if constexpr (std::is_same_v<Flavor, bounded_chan<T>>) {
      return f->try_recv(deadline != no_deadline || ctx != nullptr);
    } else {
      return f->try_recv();
    }
  }();
  if (out.code() != status::empty) [[likely]]
    return out;
  return ring_recv_slow<T>(f, deadline, ctx);
}

template <class T>
[[gnu::always_inline]] inline result<T> do_recv(chan_state<T>* s, time_point deadline, context_state* ctx) {
  switch (s->kind()) {
    case flavor::bounded: return ring_recv<T>(static_cast<bounded_chan<T>*>(s), deadline, ctx);
    case flavor::unbounded: return ring_recv<T>(static_cast<unbounded_chan<T>*>(s), deadline, ctx);
    case flavor::rendezvous: {
      auto* r = static_cast<rendezvous_chan<T>*>(s);
      if (r->recv_may_complete()) {
        result<T> out = r->try_recv();
        if (out.code() != status::empty) return out;
      }
      return call_recv_slow<T, rendezvous_chan<T>, &rendezvous_recv_slow<T>>(*r, deadline, ctx);
    }
    case flavor::special: {
      auto* c = static_cast<special_chan<T>*>(s);
      result<T> out = c->try_recv();
      if (out.code() != status::empty) return out;
      return special_recv_slow(*c, deadline, ctx);
    }
  }
  return status::closed;
}

template <class T>
bool do_is_closed(const chan_state<T>* s) noexcept {
  switch (s->kind()) {
    case flavor::bounded: return static_cast<const bounded_chan<T>*>(s)->is_closed();
    case flavor::unbounded: return static_cast<const unbounded_chan<T>*>(s)->is_closed();
    case flavor::rendezvous: return static_cast<const rendezvous_chan<T>*>(s)->is_closed();
    case flavor::special: return static_cast<const special_chan<T>*>(s)->is_closed();
  }
  return true;
}

template <class T>
std::size_t do_size(const chan_state<T>* s) noexcept {
  switch (s->kind()) {
    case flavor::bounded: return static_cast<const bounded_chan<T>*>(s)->size();
    case flavor::unbounded: return static_cast<const unbounded_chan<T>*>(s)->size();
    case flavor::rendezvous: return 0;
    case flavor::special: return static_cast<const special_chan<T>*>(s)->size();
  }
  return 0;
}

template <class T>
std::size_t do_capacity(const chan_state<T>* s) noexcept {
  switch (s->kind()) {
    case flavor::bounded: return static_cast<const bounded_chan<T>*>(s)->capacity();
    case flavor::unbounded: return std::numeric_limits<std::size_t>::max();
    case flavor::rendezvous: return 0;
    case flavor::special: return static_cast<const special_chan<T>*>(s)->capacity();
  }
  return 0;
}

template <class T>
void do_close(chan_state<T>* s) noexcept {
  switch (s->kind()) {
    case flavor::bounded: static_cast<bounded_chan<T>*>(s)->close(); return;
    case flavor::unbounded: static_cast<unbounded_chan<T>*>(s)->close(); return;
    case flavor::rendezvous: static_cast<rendezvous_chan<T>*>(s)->close(); return;
    case flavor::special: return;
  }
}

template <class T>
receiver<T> make_receiver(chan_state<T>* s) noexcept;

}  // namespace detail

/// The sending side of a channel. Copyable (the channel stays open while any sender lives);
/// one handle may be used by several threads at once; copying/assigning/destroying it races
/// like shared_ptr. A moved-from handle is empty: every member call on it throws weft::error
/// with code `closed`.
template <class T>
class sender {
 public:
  sender() noexcept = default;
  sender(const sender& o) noexcept : s_(o.s_) {
    if (s_ != nullptr) s_->acquire_sender();
  }
  sender(sender&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  sender& operator=(const sender& o) noexcept {
    sender tmp(o);
    std::swap(s_, tmp.s_);
    return *this;
  }
  sender& operator=(sender&& o) noexcept {
    sender tmp(std::move(o));
    std::swap(s_, tmp.s_);
    return *this;
  }
  ~sender() { reset(); }

  /// Blocks while full. ok | closed. On closed, v is untouched.
  /// Memory ordering: everything before a send that returns ok happens-before the receive that
  /// returns this value.
  [[gnu::always_inline]] status send(T&& v) {  // inlined: see do_send
    return detail::trace_chan_op(detail::trace_kind::send, s_,
                                 detail::do_send(state("send"), v, detail::no_deadline, nullptr));
  }
  [[gnu::always_inline]] status send(const T& v) requires std::is_copy_constructible_v<T> {
    T c(v);
    return detail::trace_chan_op(detail::trace_kind::send, s_,
                                 detail::do_send(state("send"), c, detail::no_deadline, nullptr));
  }
  /// ok | closed | cancelled | timeout (the context's deadline). v untouched unless ok.
  status send(T&& v, const context& ctx) { return send_ctx(v, ctx); }
  status send(const T& v, const context& ctx) requires std::is_copy_constructible_v<T> {
    T c(v);
    return send_ctx(c, ctx);
  }
  /// Never blocks: ok | full | closed. v untouched unless ok.
  status try_send(T&& v) {
    return detail::trace_chan_op(detail::trace_kind::send, s_,
                                 detail::do_try_send(state("try_send"), v), detail::trace_try_bit);
  }
  status try_send(const T& v) requires std::is_copy_constructible_v<T> {
    T c(v);
    return detail::trace_chan_op(detail::trace_kind::send, s_,
                                 detail::do_try_send(state("try_send"), c), detail::trace_try_bit);
  }
  /// ok | closed | timeout. A negative or zero duration tries once. v untouched unless ok.
  template <class Rep, class Period>
  status send_for(T&& v, std::chrono::duration<Rep, Period> d) {
    return detail::trace_chan_op(detail::trace_kind::send, s_,
                                 detail::do_send(state("send_for"), v, detail::deadline_after(d), nullptr));
  }
  template <class Rep, class Period>
  status send_for(const T& v, std::chrono::duration<Rep, Period> d) requires std::is_copy_constructible_v<T> {
    T c(v);
    return detail::trace_chan_op(detail::trace_kind::send, s_,
                                 detail::do_send(state("send_for"), c, detail::deadline_after(d), nullptr));
  }
  status send_until(T&& v, std::chrono::steady_clock::time_point t) {
    return detail::trace_chan_op(detail::trace_kind::send, s_,
                                 detail::do_send(state("send_until"), v, t, nullptr));
  }
  status send_until(const T& v, std::chrono::steady_clock::time_point t) requires std::is_copy_constructible_v<T> {
    T c(v);
    return detail::trace_chan_op(detail::trace_kind::send, s_,
                                 detail::do_send(state("send_until"), c, t, nullptr));
  }

  /// Closes the channel (idempotent): later sends return closed; receivers drain, then closed.
  /// Wakes every blocked operation on both sides.
  /// Memory ordering: everything before close() happens-before a receive that returns closed.
  void close() { detail::do_close(state("close")); }
  /// Closed, or every receiver gone.
  bool is_closed() const { return detail::do_is_closed(state("is_closed")); }
  std::size_t size() const { return detail::do_size(state("size")); }
  /// Unbounded: SIZE_MAX; unbuffered: 0.
  std::size_t capacity() const { return detail::do_capacity(state("capacity")); }

  /// True unless moved-from (or default-constructed).
  explicit operator bool() const noexcept { return s_ != nullptr; }

 private:
  template <class U> friend struct chan;
  template <class U> friend detail::chan_state<U>* detail::state_of(const sender<U>&) noexcept;

  explicit sender(detail::chan_state<T>* s) noexcept : s_(s) {}
  detail::chan_state<T>* state(const char* op) const {
    if (s_ == nullptr) [[unlikely]]
      detail::throw_moved_from(op);
    return s_;
  }
  status send_ctx(T& v, const context& ctx);
  void reset() noexcept {
    if (s_ != nullptr && s_->release_sender()) detail::free_state(s_);
    s_ = nullptr;
  }

  detail::chan_state<T>* s_ = nullptr;
};

/// The receiving side of a channel. Copyable: many receivers share one queue (MPMC). Same
/// handle rules as sender.
template <class T>
class receiver {
 public:
  receiver() noexcept = default;
  receiver(const receiver& o) noexcept : s_(o.s_) {
    if (s_ != nullptr) s_->acquire_receiver();
  }
  receiver(receiver&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  receiver& operator=(const receiver& o) noexcept {
    receiver tmp(o);
    std::swap(s_, tmp.s_);
    return *this;
  }
  receiver& operator=(receiver&& o) noexcept {
    receiver tmp(std::move(o));
    std::swap(s_, tmp.s_);
    return *this;
  }
  ~receiver() { reset(); }

  /// Blocks until a value or closed-and-drained. ok | closed.
  /// Memory ordering: see sender::send and sender::close.
  [[gnu::always_inline]] result<T> recv() {  // inlined: see do_send
    result<T> r = detail::do_recv(state("recv"), detail::no_deadline, nullptr);
    detail::trace_chan_op(detail::trace_kind::recv, s_, r.code());
    return r;
  }
  /// ok | closed | cancelled | timeout (the context's deadline).
  result<T> recv(const context& ctx);
  /// Never blocks: ok | empty | closed.
  result<T> try_recv() {
    result<T> r = detail::do_try_recv(state("try_recv"));
    detail::trace_chan_op(detail::trace_kind::recv, s_, r.code(), detail::trace_try_bit);
    return r;
  }
  /// ok | closed | timeout; recv_for(0s) is try_recv with timeout for empty.
  template <class Rep, class Period>
  result<T> recv_for(std::chrono::duration<Rep, Period> d) {
    result<T> r = detail::do_recv(state("recv_for"), detail::deadline_after(d), nullptr);
    detail::trace_chan_op(detail::trace_kind::recv, s_, r.code());
    return r;
  }
  result<T> recv_until(std::chrono::steady_clock::time_point t) {
    result<T> r = detail::do_recv(state("recv_until"), t, nullptr);
    detail::trace_chan_op(detail::trace_kind::recv, s_, r.code());
    return r;
  }

  /// Closed by close() or by the last sender leaving, even if values remain.
  bool is_closed() const { return detail::do_is_closed(state("is_closed")); }
  std::size_t size() const { return detail::do_size(state("size")); }
  std::size_t capacity() const { return detail::do_capacity(state("capacity")); }
  explicit operator bool() const noexcept { return s_ != nullptr; }

  /// Range-for: yields (moves out) values until closed and drained.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = T&&;
    iterator() noexcept : cur_(status::closed) {}
    explicit iterator(receiver* r) : r_(r), cur_(r->recv()) {
      if (!cur_) r_ = nullptr;
    }
    T&& operator*() { return std::move(*cur_); }
    iterator& operator++() {
      cur_ = r_->recv();
      if (!cur_) r_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.r_ == b.r_; }

   private:
    receiver* r_ = nullptr;
    result<T> cur_;
  };
  iterator begin() {
    (void)state("begin");
    return iterator(this);
  }
  iterator end() noexcept { return iterator(); }

 private:
  template <class U> friend struct chan;
  template <class U> friend detail::chan_state<U>* detail::state_of(const receiver<U>&) noexcept;
  template <class U> friend receiver<U> detail::make_receiver(detail::chan_state<U>*) noexcept;

  explicit receiver(detail::chan_state<T>* s) noexcept : s_(s) {}
  detail::chan_state<T>* state(const char* op) const {
    if (s_ == nullptr) [[unlikely]]
      detail::throw_moved_from(op);
    return s_;
  }
  void reset() noexcept {
    if (s_ != nullptr && s_->release_receiver()) detail::free_state(s_);
    s_ = nullptr;
  }

  detail::chan_state<T>* s_ = nullptr;
};

/// Both ends of a new channel.
template <class T>
struct chan {
  sender<T> tx;
  receiver<T> rx;

  /// Internal: adopts a freshly made state with one sender and one receiver reference.
  static chan adopt(detail::chan_state<T>* s) noexcept { return chan{sender<T>(s), receiver<T>(s)}; }
};

template <class T>
status sender<T>::send_ctx(T& v, const context& ctx) {
  return detail::do_send(state("send"), v, detail::no_deadline, detail::state_of(ctx));
}
template <class T>
result<T> receiver<T>::recv(const context& ctx) {
  return detail::do_recv(state("recv"), detail::no_deadline, detail::state_of(ctx));
}

namespace detail {

/// noinline: its blocking_note reads a thread_local; inlined into a caller's loop, a later
/// iteration (after a park that resumed on another worker) could reuse a thread pointer the
/// compiler computed before (chan_state.hpp, blocking_note).
template <class T>
[[gnu::noinline]] result<T> special_recv_slow(special_chan<T>& c, time_point deadline, context_state* ctx) {
  const time_point d = ctx != nullptr ? std::min(deadline, context_deadline(ctx)) : deadline;
  blocking_note note("recv", &c);
  for (;;) {
    if (ctx != nullptr) {
      if (status e = context_err(ctx); e != status::ok) return e;
    }
    const time_point now = clock::now();
    if (d != no_deadline && now >= d) return status::timeout;
    waiter w(current_parker());
    waker_entry e{&w, 0};
    c.register_entry(e);
    wait_also_on_context(w, std::min(d, c.ready_at()), ctx, [&c] { return c.is_ready(); });
    c.unregister_entry(e);
    result<T> r = c.try_recv();
    if (r.code() != status::empty) return r;
  }
}

template <class T>
chan_state<T>* state_of(const sender<T>& s) noexcept {
  return s.s_;
}
template <class T>
chan_state<T>* state_of(const receiver<T>& r) noexcept {
  return r.s_;
}
template <class T>
receiver<T> make_receiver(chan_state<T>* s) noexcept {
  return receiver<T>(s);
}
[[noreturn, gnu::cold, gnu::noinline]] void throw_bad_capacity(std::size_t capacity, const char* why,
                                                               source_location where);
}  // namespace detail

/// A new channel. capacity 0: unbuffered (a send completes when a receiver takes the value);
/// otherwise bounded with that capacity. A capacity that cannot be allocated throws weft::error
/// (code failed) naming the capacity.
template <class T>
chan<T> make_chan(std::size_t capacity, detail::source_location where = detail::source_location::current()) {
  static_assert(std::is_move_constructible_v<T>, "weft::make_chan<T>: T must be move-constructible");
  static_assert(std::is_nothrow_destructible_v<T>, "weft::make_chan<T>: T's destructor must not throw");
  if (capacity == 0) return chan<T>::adopt(new detail::rendezvous_chan<T>());
  // The ring needs capacity slots and position words with room for a lap counter.
  constexpr std::size_t slot_size = sizeof(T) + 2 * sizeof(std::size_t);
  if (capacity > (std::numeric_limits<std::size_t>::max() >> 4) / slot_size)
    detail::throw_bad_capacity(capacity, "too large for this address space", where);
  try {
    return chan<T>::adopt(new detail::bounded_chan<T>(capacity));
  } catch (const std::bad_alloc&) {
    detail::throw_bad_capacity(capacity, "out of memory", where);
  }
}

/// A new unbounded channel: send never blocks (memory permitting).
template <class T>
chan<T> make_unbounded_chan() {
  static_assert(std::is_move_constructible_v<T>, "weft::make_unbounded_chan<T>: T must be move-constructible");
  static_assert(std::is_nothrow_destructible_v<T>, "weft::make_unbounded_chan<T>: T's destructor must not throw");
  return chan<T>::adopt(new detail::unbounded_chan<T>());
}

/// As make_chan(capacity), with a name that dump_blocked() and the watchdog show for tasks
/// blocked on this channel. `name` must outlive the channel (a string literal is the usual).
template <class T>
chan<T> make_chan(std::size_t capacity, const char* name,
                  detail::source_location where = detail::source_location::current()) {
  chan<T> c = make_chan<T>(capacity, where);
  detail::state_of(c.tx)->set_name(name);
  return c;
}

/// As make_unbounded_chan(), with a name shown by dump_blocked() (see make_chan above).
template <class T>
chan<T> make_unbounded_chan(const char* name) {
  chan<T> c = make_unbounded_chan<T>();
  detail::state_of(c.tx)->set_name(name);
  return c;
}

}  // namespace weft

// The unbuffered flavor (capacity 0): rendezvous by direct hand-off between waiter packets.
//
// A send completes only when a receiver has taken the value. Whichever side arrives second finds
// the other's registered entry, selects its waiter with one CAS, and moves the value across
// (receiver-first: the sender constructs the value in the receiver's packet; sender-first: the
// receiver moves it out of the sender's packet, which points at the sender's own object). Then
// it sets the packet's `ready` flag and unparks. Pairing happens under one short spin lock per
// channel (as in Go and crossbeam's `zero` flavor): pairing two waiters and the disconnected flag
// must change together. The hand-off itself happens outside the lock.
//
// Invariants:
//   I1  Both waiter lists hold only entries of operations that were waiting when linked; an entry
//       is unlinked before its waiter can return (unregister takes the lock).
//   I2  A sender's value leaves its object only through the one receiver that selected the
//       sender's waiter; a send that did not complete (timeout, closed, cancelled) never moved it.
//   I3  disconnected_ set => both lists were emptied with `disconnected` and stay empty.
// Protocol (who may touch what):
//   packet.value   (sender-first) the sender's object: read only by the receiver that selected
//                  the sender, before it sets ready. (receiver-first) the receiver's slot: written
//                  only by the sender that selected the receiver, before it sets ready.
//   packet.ready   set once by the selecting side; the selected side waits for it before it
//                  returns (its frame holds the packet).
// Orderings:
//   P1  ready.store(release) -> ready.load(acquire): the hand-off of the value (either way).
//   P2  everything else is ordered by the lock (pairing) and the waiter CAS (waiter.hpp P1).
//   P3  has_*_ flags: written under the lock (release), read without it (acquire) by the try_
//       fast path only, to skip the lock when nobody waits. Nothing decides on them alone: a
//       blocking op that read a stale `false` registers under the lock, where it sees the
//       partner's entry (the lock orders the two registrations); a try_ that read a stale `false`
//       says full/empty while a partner's registration is in flight, and the partner's operation
//       is still pending then (it has not returned), so ordering the try_ first is a valid
//       linearization. Flags are flipped on every pairing of a ping-pong, so their store must
//       not be an xchg (seq_cst): release is a plain store on x86-64 and ARM64 (stlr). Once a
//       thread held the lock after the store, its later loads cannot return the older value
//       (write-read coherence), so a retry loop through the lock never spins on a stale flag.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/detail/backoff.hpp>
#include <weft/detail/chan_state.hpp>
#include <weft/detail/inject.hpp>
#include <weft/detail/platform.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/waiter.hpp>
#include <weft/detail/waker_list.hpp>
#include <weft/status.hpp>

namespace weft::detail {

template <class T>
struct rendezvous_packet {
  T* src = nullptr;  // sender-first: the sender's object
  alignas(T) unsigned char slot[sizeof(T)];  // receiver-first: where the sender constructs it
  std::atomic<bool> ready{false};
  bool has_value = false;  // receiver-first: the slot holds a value (false: the move threw)

  T* slot_value() noexcept { return std::launder(reinterpret_cast<T*>(slot)); }
  /// Selected side: wait until the partner finished the hand-off (it is already running).
  void wait_ready() const noexcept {
    backoff b;
    // acquire: P1.
    while (!ready.load(std::memory_order_acquire)) b.snooze();
  }
};

/// A blocked send's or receive's waiter, packet and list entry together on one aligned block of
/// its stack: the waker reads the entry, claims the waiter, writes the packet and releases the
/// waiter, and the owner (spinning on released_) reads it all back, in as few line transfers
/// as the hand-off allows. The waiter (24 bytes) and the entry's fields the waker reads (w, op,
/// packet, prev, next) share the first 64-byte line (select_one prefetches it writable, then
/// CASes the waiter); the entry's `linked` flag and the packet follow.
template <class T>
struct alignas(cache_line_size) rendezvous_frame {
  explicit rendezvous_frame(parker& pk) noexcept : w(pk) {}
  rendezvous_frame(const rendezvous_frame&) = delete;
  rendezvous_frame& operator=(const rendezvous_frame&) = delete;
  waiter w;
  waker_entry e{&w, 0, nullptr};
  rendezvous_packet<T> p;
};

template <class T>
class rendezvous_chan final : public chan_state<T> {
 public:
  using packet = rendezvous_packet<T>;

  rendezvous_chan() noexcept : chan_state<T>(flavor::rendezvous, 1, 1) {}

  /// ok (a waiting receiver took v), full (no receiver waiting), closed. `self`: the calling
  /// select's waiter (never pair with our own other case), or nullptr.
  status try_send(T& v, const waiter* self = nullptr) {
    // acquire: P3.
    if (!has_receivers_.load(std::memory_order_acquire)) {
      // seq_cst: pairs with close()'s seq_cst store (a caller that sees closed sees the close).
      return closed_.load(std::memory_order_seq_cst) ? status::closed : status::full;
    }
    waker_entry* e;
    {
      spin_guard g(lock_);
      if (closed_.load(std::memory_order_relaxed)) return status::closed;  // relaxed: under the lock
      e = receivers_.select_one(self);
      update_receivers_flag();
    }
    if (e == nullptr) return status::full;
    WEFT_INJECT_YIELD();  // partner selected, value not yet handed over
    give(*e, v);
    return status::ok;
  }

  /// ok (took a waiting sender's value), empty, closed.
  result<T> try_recv(const waiter* self = nullptr) {
    // acquire: P3.
    if (!has_senders_.load(std::memory_order_acquire)) {
      // seq_cst: as in try_send.
      return closed_.load(std::memory_order_seq_cst) ? result<T>(status::closed) : result<T>(status::empty);
    }
    waker_entry* e;
    {
      spin_guard g(lock_);
      e = senders_.select_one(self);
      update_senders_flag();
      // relaxed: under the lock, which orders it with close().
      if (e == nullptr) return closed_.load(std::memory_order_relaxed) ? result<T>(status::closed) : result<T>(status::empty);
    }
    WEFT_INJECT_YIELD();  // partner selected, value not yet taken
    return take(*e);
  }

  /// False when try_recv() would say `empty` (no sender waits, not closed; the same two reads,
  /// P3): a blocking receive then goes straight to its slow path without building that result.
  bool recv_may_complete() const noexcept {
    // acquire: P3. seq_cst: as in try_send.
    return has_senders_.load(std::memory_order_acquire) || closed_.load(std::memory_order_seq_cst);
  }

  // ---- registration (blocking send/recv and select) ----
  /// Registers a sender's entry (e.packet -> a packet whose src is the value) unless a receiver
  /// is waiting or the channel is closed; returns false in that case (try again instead).
  bool register_sender(waker_entry& e) noexcept {
    spin_guard g(lock_);
    if (closed_.load(std::memory_order_relaxed) || !receivers_.empty()) return false;  // relaxed: under the lock
    senders_.push(e);
    update_senders_flag();
    return true;
  }
  bool register_receiver(waker_entry& e) noexcept {
    spin_guard g(lock_);
    if (closed_.load(std::memory_order_relaxed) || !senders_.empty()) return false;  // relaxed: under the lock
    receivers_.push(e);
    update_receivers_flag();
    return true;
  }
  /// Registration for select: registers even when a partner waits (the select re-checks), but
  /// never on a closed channel (I3: an entry linked after close() could still be paired, and a
  /// select's send would then deliver after the close). The select's re-check sees closed and
  /// fires that; unregistering an entry that was never linked does nothing.
  void register_sender_always(waker_entry& e) noexcept {
    spin_guard g(lock_);
    if (closed_.load(std::memory_order_relaxed)) return;  // relaxed: under the lock
    senders_.push(e);
    update_senders_flag();
  }
  void register_receiver_always(waker_entry& e) noexcept {
    spin_guard g(lock_);
    if (closed_.load(std::memory_order_relaxed)) return;  // relaxed: under the lock
    receivers_.push(e);
    update_receivers_flag();
  }
  void unregister_sender(waker_entry& e) noexcept {
    spin_guard g(lock_);
    senders_.remove(e);
    update_senders_flag();
  }
  void unregister_receiver(waker_entry& e) noexcept {
    spin_guard g(lock_);
    receivers_.remove(e);
    update_receivers_flag();
  }
  /// A send could pair now (a receiver not `self` waits) or would see closed.
  bool send_ready(const waiter* self) noexcept {
    spin_guard g(lock_);
    return closed_.load(std::memory_order_relaxed) || has_other(receivers_peek(), self);  // relaxed: under the lock
  }
  bool recv_ready(const waiter* self) noexcept {
    spin_guard g(lock_);
    return closed_.load(std::memory_order_relaxed) || has_other(senders_peek(), self);  // relaxed: under the lock
  }

  bool is_closed() const noexcept {
    // acquire: a caller that sees closed may rely on the close having happened-before.
    return closed_.load(std::memory_order_acquire);
  }

  bool close() noexcept {
    spin_guard g(lock_);
    if (closed_.load(std::memory_order_relaxed)) return false;  // relaxed: under the lock
    // seq_cst: read without the lock by the try_ fast paths (after a `false` flag); close is
    // rare, so the strongest order costs nothing that matters.
    closed_.store(true, std::memory_order_seq_cst);
    senders_.disconnect_all();
    receivers_.disconnect_all();
    update_flags();
    return true;
  }
  void disconnect_senders() noexcept override { close(); }
  void disconnect_receivers() noexcept override { close(); }

  /// Selected side's completion, sender: wait until the receiver has moved the value out.
  static void finish_send(packet& p) noexcept { p.wait_ready(); }
  /// Selected side's completion, receiver: wait for the value, then move it out of the packet.
  /// `empty`: the sender's move into the packet threw (the exception went to the sender):
  /// nothing was delivered and the receive must wait again.
  static result<T> finish_recv(packet& p) {
    p.wait_ready();
    if (!p.has_value) return status::empty;
    // The packet's value is destroyed on every way out, also when T's move throws.
    struct destroy {
      T* v;
      ~destroy() { v->~T(); }
    } done{p.slot_value()};
    return result<T>(std::move(*done.v));
  }

 private:
  // Receiver-first hand-off: e was a waiting receiver we selected; construct v in its packet.
  void give(waker_entry& e, T& v) {
    packet& p = *static_cast<packet*>(e.packet);
    waiter* w = e.w;
    try {
      ::new (static_cast<void*>(p.slot)) T(std::move(v));
      p.has_value = true;
    } catch (...) {
      p.has_value = false;
      // release: P1.
      p.ready.store(true, std::memory_order_release);
      w->wake();
      throw;
    }
    // release: P1.
    p.ready.store(true, std::memory_order_release);
    w->wake();
  }
  // Sender-first hand-off: e was a waiting sender we selected; move its value out.
  result<T> take(waker_entry& e) {
    packet& p = *static_cast<packet*>(e.packet);
    struct release_on_exit {
      packet& p;
      waiter* w;
      ~release_on_exit() {
        // release: P1 (the sender's object is no longer read after this).
        p.ready.store(true, std::memory_order_release);
        w->wake();
      }
    } done{p, e.w};
    return result<T>(std::move(*p.src));
  }

  const waker_entry* receivers_peek() const noexcept { return receivers_.front(); }
  const waker_entry* senders_peek() const noexcept { return senders_.front(); }
  static bool has_other(const waker_entry* e, const waiter* self) noexcept {
    for (; e != nullptr; e = e->next)
      if (e->w != self && e->w->state() == waiter::waiting) return true;
    return false;
  }
  // Under the lock, after a list changed: each caller changed one list (close both), so each
  // refreshes that list's flag only. Written only under the lock, so a relaxed load under it
  // reads the current value; an unchanged flag is not stored again (the line stays shared with
  // the fast paths' readers).
  void update_senders_flag() noexcept {
    const bool s = !senders_.empty();
    // release: P3 (read by the try_ fast paths without the lock). relaxed load: see above.
    if (has_senders_.load(std::memory_order_relaxed) != s) has_senders_.store(s, std::memory_order_release);
  }
  void update_receivers_flag() noexcept {
    const bool r = !receivers_.empty();
    // release: P3, as above. relaxed load: see above.
    if (has_receivers_.load(std::memory_order_relaxed) != r) has_receivers_.store(r, std::memory_order_release);
  }
  void update_flags() noexcept {
    update_senders_flag();
    update_receivers_flag();
  }

  spin_lock lock_;
  waiter_queue senders_;    // blocked senders, each entry's packet has src set
  waiter_queue receivers_;  // blocked receivers, each entry's packet receives the value
  std::atomic<bool> closed_{false};
  std::atomic<bool> has_senders_{false};
  std::atomic<bool> has_receivers_{false};
};

}  // namespace weft::detail

namespace weft::detail {

/// Blocking send on a rendezvous channel (after try_send said full). Returns ok only once a
/// receiver has taken v; on any other status v is untouched (I2).
template <class T>
[[gnu::noinline]] status rendezvous_send_slow(rendezvous_chan<T>& c, T& v, time_point deadline, context_state* ctx) {
  const time_point d = ctx != nullptr ? std::min(deadline, context_deadline(ctx)) : deadline;
  blocking_note note("send", &c);
  for (;;) {
    if (ctx != nullptr) {
      if (status e = context_err(ctx); e != status::ok) return e;
    }
    if (d != no_deadline && clock::now() >= d) return status::timeout;
    rendezvous_frame<T> f(current_parker());
    waiter& w = f.w;
    rendezvous_packet<T>& p = f.p;
    waker_entry& e = f.e;
    e.packet = &p;
    p.src = &v;
    if (!c.register_sender(e)) {  // a receiver waits, or closed: complete at once
      if (status st = c.try_send(v); st != status::full) return st;
      continue;
    }
    const std::uintptr_t s = wait_also_on_context(w, d, ctx, [] { return false; });
    if (s == waiter::selected(0)) {  // a receiver is taking v (it unlinked our entry)
      rendezvous_chan<T>::finish_send(p);
      return status::ok;
    }
    c.unregister_sender(e);
    if (status st = c.try_send(v); st != status::full) return st;
  }
}

/// Blocking receive on a rendezvous channel (after try_recv said empty, or recv_may_complete
/// said it would).
template <class T>
[[gnu::noinline]] result<T> rendezvous_recv_slow(rendezvous_chan<T>& c, time_point deadline, context_state* ctx) {
  const time_point d = ctx != nullptr ? std::min(deadline, context_deadline(ctx)) : deadline;
  blocking_note note("recv", &c);
  for (;;) {
    if (ctx != nullptr) {
      if (status e = context_err(ctx); e != status::ok) return e;
    }
    if (d != no_deadline && clock::now() >= d) return status::timeout;
    rendezvous_frame<T> f(current_parker());
    waiter& w = f.w;
    rendezvous_packet<T>& p = f.p;
    waker_entry& e = f.e;
    e.packet = &p;
    if (!c.register_receiver(e)) {  // a sender waits, or closed
      result<T> r = c.try_recv();
      if (r.code() != status::empty) return r;
      continue;
    }
    const std::uintptr_t s = wait_also_on_context(w, d, ctx, [] { return false; });
    if (s == waiter::selected(0)) {
      result<T> r = rendezvous_chan<T>::finish_recv(p);
      if (r.code() != status::empty) return r;
      continue;  // the sender's move threw: nothing arrived, wait for the next sender
    }
    c.unregister_receiver(e);
    result<T> r = c.try_recv();
    if (r.code() != status::empty) return r;
  }
}

}  // namespace weft::detail

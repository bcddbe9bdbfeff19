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
// The exclusive slot (slot_): while nobody else waits, ONE blocked send or receive that can end
// only by being paired (no deadline, no context, not a select: an "exclusive" wait) waits in a
// word instead of a list, so the common ping-pong pairs without the lock: the waiter registers
// with one CAS (idle -> its frame) and its partner claims it with one CAS (frame -> idle), which
// also makes the waiter's selection a plain store (waiter.hpp claim), made by the claimer right
// before the wake-up so that its stores into the frame follow each other (waiter.hpp P4).
// Anything else (a second waiter, a timed or context-bound wait, a select, close) takes the
// lock, and the lock holder first turns the slot `slow`, moving a waiting entry into its list
// (spill), so under the lock the lists are the whole truth. The last lock holder to leave both
// lists empty sets it back to idle. (Go's and crossbeam's unbuffered channels take their lock
// for every pairing: runtime/chan.go's c.lock, crossbeam-channel's zero.rs Mutex around its
// waker lists.)
//
// Invariants:
//   I1  Both waiter lists hold only entries of operations that were waiting when linked; an entry
//       is unlinked before its waiter can return (unregister takes the lock).
//   I2  A sender's value leaves its object only through the one receiver that selected the
//       sender's waiter; a send that did not complete (timeout, closed, cancelled) never moved it.
//   I3  disconnected_ set => both lists were emptied with `disconnected` and stay empty.
//   F1  slot_ != slow => both lists are empty and the channel is open. Only a lock holder pushes
//       to a list or closes, and it makes the slot slow first (enter_slow); it sets the slot back
//       to idle only when it leaves both lists empty and the channel open (leave_slow). So a
//       waiter in the slot is older than every waiter in a list (FIFO holds), and a try_ that
//       sees the slot idle or holding its own side's waiter may say full/empty at once.
//   F2  A frame in the slot belongs to an exclusive wait (a plain send or receive: case 0): its
//       waiter is in no list and never aborts, so whoever takes the frame out of the slot owns
//       the waiter's state: a claimer (CAS frame -> idle) selects it with a plain store, a lock
//       holder (CAS frame -> slow) puts its entry in its list, where the usual CAS selection
//       applies. Ends an exclusive wait the same two ways only: paired, or disconnected by
//       close() from its list. (It never aborts: wait_until(no_deadline) aborts only when
//       park_until returns false, which parker.hpp allows only once the deadline has passed. A
//       claim's plain store would overwrite an abort, so an exclusive wait with a deadline or a
//       context would be a lost hand-off.)
// Protocol (who may touch what):
//   packet.value   (sender-first) the sender's object: read only by the receiver that selected
//                  the sender, before it sets ready. (receiver-first) the receiver's slot: written
//                  only by the sender that selected the receiver, before it sets ready.
//   packet.ready   set once by the selecting side; the selected side waits for it before it
//                  returns (its frame holds the packet).
// Orderings:
//   P1  ready.store(release) -> ready.load(acquire): the hand-off of the value (either way).
//   P2  everything else is ordered by the lock (pairing) and the waiter CAS (waiter.hpp P1).
//   P4  the slot's registering CAS (release) -> the claiming or spilling CAS (acquire): the
//       waiter's frame (entry, packet, a sender's value) is visible to whoever took the frame.
//   P5  A task's exclusive wait registers in the slot only after the task has switched out
//       (park_published -> park_task_publish, core/src/scheduler.cpp P5): its worker stores the
//       task's parker word `parked` and then makes the registering CAS, so by P4 the claimer's
//       unpark finds `parked` and the park needed no CAS of its own. If the slot is no longer
//       idle by then, nothing was registered and the task registers as a thread does.
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
// Hints (cost only, never correctness):
//   H1  try_send / try_recv ask for the slot's line exclusive (prefetchw) before they read it,
//       and for a waiting frame's line before they claim it: the claim writes both. A pairing
//       then costs one trip per line instead of a shared fetch plus an upgrade, and the
//       frame's trip overlaps the claim (W4 threads -16 ns per round trip, bench/RESULTS.md
//       session 23). A try_ that finds nobody waiting takes the line from its readers too:
//       unbuffered channels are polled only by a select's first pass.
//   H2  The home block: the channel holds one waiter block (waiter, packet, entry) in the slot's
//       own line. A thread's exclusive wait (never a task's) that finds it free takes it
//       (take_home: a CAS on home_busy_), builds it and waits in it instead of in a frame on its
//       stack, and gives it back once its wait has ended (put_home), that is after its waker
//       released it (waiter.hpp I2). A claimer of the home's waiter then finds the waiter, the
//       packet and the wake flag in the line its CAS already holds: a pairing moves one line to
//       the claimer and back, not the slot's line and then the frame's (W4 threads -50 ns per
//       round trip, bench/RESULTS.md session 23). To everything else (F1, F2, spill, lists,
//       close) it is a frame like any other. A wait that finds it taken uses its stack frame.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/detail/atomics_policy.hpp>
#include <weft/detail/backoff.hpp>
#include <weft/detail/chan_state.hpp>
#include <weft/detail/inject.hpp>
#include <weft/detail/platform.hpp>
#include <weft/detail/waiter.hpp>
#include <weft/detail/waker_list.hpp>
#include <weft/status.hpp>

namespace weft::detail {

template <class T, class Policy = std_atomics>
struct rendezvous_packet {
  T* src = nullptr;  // sender-first: the sender's object
  alignas(T) unsigned char slot[sizeof(T)];  // receiver-first: where the sender constructs it
  typename Policy::template atomic<bool> ready{false};
  bool has_value = false;  // receiver-first: the slot holds a value (false: the move threw)

  T* slot_value() noexcept { return std::launder(reinterpret_cast<T*>(slot)); }
  /// Selected side: wait until the partner finished the hand-off (it is already running).
  void wait_ready() const noexcept {
    typename Policy::backoff b;
    // acquire: P1.
    while (!ready.load(std::memory_order_acquire)) b.snooze();
  }
};

/// A blocked send's or receive's waiter, packet and list entry. The waker claims the waiter,
/// writes the packet and sets the waiter's released_; a thread's exclusive wait spins on
/// released_ (`flag_wait`, waiter.hpp P4) and then reads the state and the packet: for a value
/// of up to 8 bytes the waiter (24 bytes) and the packet (24) lie in one 64-byte line, so the
/// hand-off moves that one line to the owner. An exclusive wait reaches its claimer as the block
/// itself (the slot holds the block's address, F2), so the claimer never reads the entry that
/// follows; a list's waker does (prev, next, linked). A block lives on its waiter's stack (as a
/// rendezvous_frame) or is the channel's home block (H2).
template <class T, class Policy = std_atomics>
struct rendezvous_block {
  explicit rendezvous_block(typename Policy::parker& pk, bool flag_wait = false) noexcept
      : w(pk, flag_wait) {}
  rendezvous_block(const rendezvous_block&) = delete;
  rendezvous_block& operator=(const rendezvous_block&) = delete;
  basic_waiter<Policy> w;
  rendezvous_packet<T, Policy> p;
  basic_waker_entry<Policy> e{&w, 0, &p};
};

/// A block on its waiter's stack, on lines of its own: the waker's writes and the owner's polls
/// share no line with the owner's other stack data.
template <class T, class Policy = std_atomics>
struct alignas(cache_line_size) rendezvous_frame : rendezvous_block<T, Policy> {
  using rendezvous_block<T, Policy>::rendezvous_block;
};

template <class T, class Policy = std_atomics>
class rendezvous_chan final : public chan_state<T, Policy> {
 public:
  using packet = rendezvous_packet<T, Policy>;
  using frame = rendezvous_block<T, Policy>;  // a stack frame or the home block
  using waiter = basic_waiter<Policy>;
  using waker_entry = basic_waker_entry<Policy>;

  rendezvous_chan() noexcept : chan_state<T, Policy>(flavor::rendezvous, 1, 1) {}
  ~rendezvous_chan() override {
    if (home_built_) home()->~frame();  // the last handle's release ordered every use before
  }

  /// ok (a waiting receiver took v), full (no receiver waiting), closed. `self`: the calling
  /// select's waiter (never pair with our own other case), or nullptr.
  [[gnu::always_inline]] status try_send(T& v, const waiter* self = nullptr) {
    // The slot's line is asked for exclusive before it is read: a waiting partner's registering
    // CAS left it modified in the partner's cache, and a plain load would fetch it shared and
    // the claim's CAS then upgrade it, two cross-core trips instead of one (H1).
    prefetch_for_write(&slot_);
    // relaxed: only chooses the path; the claiming CAS takes the entry's frame (P4).
    const std::uintptr_t s = slot_.load(std::memory_order_relaxed);
    if (s != slot_slow) {
      if (!holds_receiver(s)) return status::full;  // idle, or a sender waits: no receiver (F1)
      prefetch_for_write(frame_in(s));  // H1: the frame's line comes while the claim runs
      if (frame* f = claim(s)) {
        WEFT_INJECT_YIELD();  // partner claimed, value not yet handed over
        give(f->w, f->p, v, true);
        return status::ok;
      }
      // The slot changed under us: decide under the lock.
    } else if (!has_receivers_.load(std::memory_order_acquire)) {  // acquire: P3.
      // seq_cst: pairs with close()'s seq_cst store (a caller that sees closed sees the close).
      return closed_.load(std::memory_order_seq_cst) ? status::closed : status::full;
    }
    return try_send_locked(v, self);
  }

  /// ok (took a waiting sender's value), empty, closed.
  [[gnu::always_inline]] result<T> try_recv(const waiter* self = nullptr) {
    prefetch_for_write(&slot_);  // H1, as in try_send
    // relaxed: as in try_send.
    const std::uintptr_t s = slot_.load(std::memory_order_relaxed);
    if (s != slot_slow) {
      if (!holds_sender(s)) return status::empty;  // idle, or a receiver waits: no sender (F1)
      prefetch_for_write(frame_in(s));  // H1
      if (frame* f = claim(s)) {
        WEFT_INJECT_YIELD();  // partner claimed, value not yet taken
        return take(f->w, f->p, true);
      }
    } else if (!has_senders_.load(std::memory_order_acquire)) {  // acquire: P3.
      // seq_cst: as in try_send.
      return closed_.load(std::memory_order_seq_cst) ? result<T>(status::closed) : result<T>(status::empty);
    }
    return try_recv_locked(self);
  }

 private:
  // try_send's and try_recv's part under the lock, out of line: the slot's paths above stay
  // small enough to inline into every send and receive.
  [[gnu::noinline]] status try_send_locked(T& v, const waiter* self) {
    waker_entry* e;
    {
      slow_guard g(*this);
      if (closed_.load(std::memory_order_relaxed)) return status::closed;  // relaxed: under the lock
      e = receivers_.select_one(self);
      update_receivers_flag();
    }
    if (e == nullptr) return status::full;
    WEFT_INJECT_YIELD();  // partner selected, value not yet handed over
    give(*e, v);
    return status::ok;
  }

  [[gnu::noinline]] result<T> try_recv_locked(const waiter* self) {
    waker_entry* e;
    {
      slow_guard g(*this);
      e = senders_.select_one(self);
      update_senders_flag();
      // relaxed: under the lock, which orders it with close().
      if (e == nullptr) return closed_.load(std::memory_order_relaxed) ? result<T>(status::closed) : result<T>(status::empty);
    }
    WEFT_INJECT_YIELD();  // partner selected, value not yet taken
    return take(*e);
  }

 public:
  /// False when try_recv() would say `empty` (no sender waits, not closed; the same two reads,
  /// P3): a blocking receive then goes straight to its slow path without building that result.
  bool recv_may_complete() const noexcept {
    // relaxed: a hint (a stale `idle` sends the receive to register, whose CAS sees the sender).
    const std::uintptr_t s = slot_.load(std::memory_order_relaxed);
    if (s != slot_slow) return holds_sender(s);
    // acquire: P3. seq_cst: as in try_send.
    return has_senders_.load(std::memory_order_acquire) || closed_.load(std::memory_order_seq_cst);
  }

  // ---- registration (blocking send/recv and select) ----
  /// Registers a sender's frame (f.e.packet -> f.p, whose src is the value) unless a receiver
  /// is waiting or the channel is closed; returns false in that case (try again instead).
  /// `exclusive`: the wait can end only by a pairing or a close, and f.e is its only entry (case
  /// 0), so it may use the slot (F2).
  bool register_sender(frame& f, bool exclusive = false) noexcept {
    if (exclusive) {
      std::uintptr_t s = slot_idle;
      if (publish(s, f, 0)) return true;
      if (holds_receiver(s)) return false;  // a receiver waits: pair with it (try_send)
    }
    slow_guard g(*this);
    if (closed_.load(std::memory_order_relaxed) || !receivers_.empty()) return false;  // relaxed: under the lock
    senders_.push(f.e);
    update_senders_flag();
    return true;
  }
  bool register_receiver(frame& f, bool exclusive = false) noexcept {
    if (exclusive) {
      std::uintptr_t s = slot_idle;
      if (publish(s, f, slot_receiver_bit)) return true;
      if (holds_sender(s)) return false;  // a sender waits: pair with it (try_recv)
    }
    slow_guard g(*this);
    if (closed_.load(std::memory_order_relaxed) || !senders_.empty()) return false;  // relaxed: under the lock
    receivers_.push(f.e);
    update_receivers_flag();
    return true;
  }
  /// Registration for select: registers even when a partner waits (the select re-checks), but
  /// never on a closed channel (I3: an entry linked after close() could still be paired, and a
  /// select's send would then deliver after the close). The select's re-check sees closed and
  /// fires that; unregistering an entry that was never linked does nothing.
  void register_sender_always(waker_entry& e) noexcept {
    slow_guard g(*this);
    if (closed_.load(std::memory_order_relaxed)) return;  // relaxed: under the lock
    senders_.push(e);
    update_senders_flag();
  }
  void register_receiver_always(waker_entry& e) noexcept {
    slow_guard g(*this);
    if (closed_.load(std::memory_order_relaxed)) return;  // relaxed: under the lock
    receivers_.push(e);
    update_receivers_flag();
  }
  /// Also for an entry that waited in the slot: the guard moves it into its list first.
  void unregister_sender(waker_entry& e) noexcept {
    slow_guard g(*this);
    senders_.remove(e);
    update_senders_flag();
  }
  void unregister_receiver(waker_entry& e) noexcept {
    slow_guard g(*this);
    receivers_.remove(e);
    update_receivers_flag();
  }
  /// A send could pair now (a receiver not `self` waits) or would see closed.
  bool send_ready(const waiter* self) noexcept {
    slow_guard g(*this);
    return closed_.load(std::memory_order_relaxed) || has_other(receivers_peek(), self);  // relaxed: under the lock
  }
  bool recv_ready(const waiter* self) noexcept {
    slow_guard g(*this);
    return closed_.load(std::memory_order_relaxed) || has_other(senders_peek(), self);  // relaxed: under the lock
  }

  bool is_closed() const noexcept {
    // acquire: a caller that sees closed may rely on the close having happened-before.
    return closed_.load(std::memory_order_acquire);
  }

  bool close() noexcept {
    slow_guard g(*this);  // a waiter in the slot joins its list, to be disconnected there
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
  void give(waker_entry& e, T& v) { give(*e.w, *static_cast<packet*>(e.packet), v); }
  // `claimed`: w came out of the slot (F2) and is selected here, last before the wake-up, so
  // the stores into its frame follow each other with no miss between them (a thread owner
  // polls that line: waiter.hpp P4).
  void give(waiter& w, packet& p, T& v, bool claimed = false) {
    try {
      ::new (static_cast<void*>(p.slot)) T(std::move(v));
      p.has_value = true;
    } catch (...) {
      p.has_value = false;
      if (claimed) w.claim(waiter::selected(0));
      // release: P1.
      p.ready.store(true, std::memory_order_release);
      w.wake();
      throw;
    }
    if (claimed) w.claim(waiter::selected(0));
    // release: P1.
    p.ready.store(true, std::memory_order_release);
    w.wake();
  }
  // Sender-first hand-off: e was a waiting sender we selected; move its value out.
  result<T> take(waker_entry& e) { return take(*e.w, *static_cast<packet*>(e.packet)); }
  result<T> take(waiter& w, packet& p, bool claimed = false) {
    struct release_on_exit {
      packet& p;
      waiter& w;
      bool claimed;
      ~release_on_exit() {
        if (claimed) w.claim(waiter::selected(0));  // as in give: after the value's read
        // release: P1 (the sender's object is no longer read after this).
        p.ready.store(true, std::memory_order_release);
        w.wake();
      }
    } done{p, w, claimed};
    return result<T>(std::move(*p.src));
  }

  // ---- the exclusive slot (F1, F2, P4) ----
  static constexpr std::uintptr_t slot_idle = 0;          // nobody waits
  static constexpr std::uintptr_t slot_slow = 1;          // the lists hold the waiters (lock)
  static constexpr std::uintptr_t slot_receiver_bit = 2;  // else: a frame's address | this bit
  static_assert(alignof(frame) >= 4, "a frame's address leaves the slot's two tag bits free");
  static bool holds_sender(std::uintptr_t s) noexcept { return s > slot_slow && (s & slot_receiver_bit) == 0; }
  static bool holds_receiver(std::uintptr_t s) noexcept { return (s & slot_receiver_bit) != 0; }
  static frame* frame_in(std::uintptr_t s) noexcept {
    return reinterpret_cast<frame*>(s & ~(slot_slow | slot_receiver_bit));
  }
  /// An exclusive wait's registration: idle -> f. On failure `s` holds what the slot holds.
  bool publish(std::uintptr_t& s, frame& f, std::uintptr_t side) noexcept {
    // release: P4 (the frame to whoever takes it). Failure relaxed: the caller only looks at the
    // value, and pairs through a claim (acquire) or the lock.
    return slot_.compare_exchange_strong(s, reinterpret_cast<std::uintptr_t>(&f) | side,
                                         Policy::rendezvous_slot_register, std::memory_order_relaxed);
  }

 public:
  /// A task's exclusive wait, registered only once the task has switched out (park_task_publish,
  /// P5): the publish CAS then also publishes the task's `parked` word, and its park needs no
  /// CAS of its own. True: published and woken (re-check the waiter). False: the slot was not
  /// idle by then; nothing was registered and the task ran on.
  bool park_published(frame& f, bool receiver, typename Policy::parker& pk) noexcept {
    static_assert(slot_idle == 0, "park_task_publish publishes by a CAS from 0");
    WEFT_INJECT_YIELD();  // the slot looked idle; another waiter may take it before the publish
    return park_task_publish(pk, slot_, reinterpret_cast<std::uintptr_t>(&f) | (receiver ? slot_receiver_bit : 0));
  }
  /// The home block for an exclusive wait of `pk`'s owner (H2), built for it, or nullptr (a
  /// task, or another thread's wait holds it: use a stack frame). The caller gives it back with
  /// put_home once the wait has ended.
  frame* take_home(typename Policy::parker& pk) noexcept {
    if (pk.owner_task() != nullptr) return nullptr;
    // relaxed: a look before the CAS, which decides.
    if (home_busy_.load(std::memory_order_relaxed)) return nullptr;
    bool expected = false;
    // acquire: the last holder's use of the block (its wait, its waker's) happened before ours
    // (with put_home's release). Failure relaxed: nothing is read through it.
    if (!home_busy_.compare_exchange_strong(expected, true, Policy::rendezvous_home_take,
                                            std::memory_order_relaxed))
      return nullptr;
    if (home_built_) home()->~frame();  // trivial for the production atomics
    home_built_ = true;
    return ::new (static_cast<void*>(home_)) frame(pk, true);
  }
  /// The wait that took the home block has ended (its waker released it, waiter.hpp I2).
  void put_home() noexcept {
    // release: see take_home.
    home_busy_.store(false, Policy::rendezvous_home_put);
  }
  /// The wait in the slot is the home block's (H2; for tests).
  bool home_in_slot() const noexcept {
    // relaxed: a look.
    const std::uintptr_t s = slot_.load(std::memory_order_relaxed);
    return s > slot_slow && frame_in(s) == reinterpret_cast<const frame*>(home_);
  }
  /// A hint: nobody waits in the slot or the lists.
  bool slot_is_idle() const noexcept {
    // relaxed: a hint; the publish CAS decides.
    return slot_.load(std::memory_order_relaxed) == slot_idle;
  }

 private:
  /// A partner takes the frame the slot held as `s` (F2): nullptr if the slot changed first.
  frame* claim(std::uintptr_t s) noexcept {
    // acquire: P4. Failure relaxed: the caller then decides under the lock.
    if (!slot_.compare_exchange_strong(s, slot_idle, Policy::rendezvous_slot_claim, std::memory_order_relaxed))
      return nullptr;
    return frame_in(s);  // the caller selects its waiter (give / take, `claimed`)
  }
  /// Under the lock, first thing: the slot becomes slow; a waiting entry joins its list (F1).
  void enter_slow() noexcept {
    // relaxed: the CAS below reads the latest value anyway.
    std::uintptr_t s = slot_.load(std::memory_order_relaxed);
    while (s != slot_slow) {
      // acquire: P4 (a spilled entry's frame). Failure relaxed: the loop looks again.
      if (!slot_.compare_exchange_weak(s, slot_slow, Policy::rendezvous_slot_spill, std::memory_order_relaxed))
        continue;
      if (s == slot_idle) return;
      // F1: both lists were empty, so the spilled waiter goes first, as the oldest.
      if (holds_receiver(s)) {
        receivers_.push(frame_in(s)->e);
        update_receivers_flag();
      } else {
        senders_.push(frame_in(s)->e);
        update_senders_flag();
      }
      return;
    }
  }
  /// Under the lock, last thing: nobody waits and the channel is open -> the slot is free again.
  void leave_slow() noexcept {
    // relaxed (load): written under the lock. relaxed (store): a slot user needs nothing this
    // critical section wrote (the lists are empty), and the next lock holder has the lock's order.
    if (!closed_.load(std::memory_order_relaxed) && senders_.empty() && receivers_.empty())
      slot_.store(slot_idle, std::memory_order_relaxed);
  }
  class slow_guard {
   public:
    explicit slow_guard(rendezvous_chan& c) noexcept : c_(c) {
      c_.lock_.lock();
      c_.enter_slow();
    }
    ~slow_guard() {
      c_.leave_slow();
      c_.lock_.unlock();
    }
    slow_guard(const slow_guard&) = delete;
    slow_guard& operator=(const slow_guard&) = delete;

   private:
    rendezvous_chan& c_;
  };

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

  frame* home() noexcept { return std::launder(reinterpret_cast<frame*>(home_)); }

  template <class U>
  using atomic = typename Policy::template atomic<U>;
  // The slot and the home block share the slot's line (H2): a claim of the home's waiter moves
  // one line, where a stack frame's claim moves two.
  alignas(cache_line_size) atomic<std::uintptr_t> slot_{slot_idle};  // F1, F2
  atomic<bool> home_busy_{false};                     // H2: a wait holds the home block
  bool home_built_ = false;                           // H2: by the holder (and the destructor)
  alignas(frame) unsigned char home_[sizeof(frame)];  // H2: built by take_home for each wait
  alignas(cache_line_size) typename Policy::lock lock_;
  basic_waiter_queue<Policy> senders_;    // blocked senders, each entry's packet has src set
  basic_waiter_queue<Policy> receivers_;  // blocked receivers, each entry's packet receives the value
  atomic<bool> closed_{false};
  atomic<bool> has_senders_{false};
  atomic<bool> has_receivers_{false};
};

}  // namespace weft::detail

namespace weft::detail {

/// Gives the home block back, if the wait took it, when the wait ends (also by an exception of
/// T's move).
template <class T>
struct home_guard {
  rendezvous_chan<T>& c;
  bool held;
  ~home_guard() {
    if (held) c.put_home();
  }
};

/// The block a wait uses: the home block if `Exclusive` and the caller is a thread that finds it
/// free (H2), else a frame built in `buf` (the caller's stack). One call site for both, so the
/// wait's code is not compiled twice (that pushed other calls out of line: +49 instructions per
/// W5 round trip).
template <bool Exclusive, class T>
[[gnu::always_inline]] inline rendezvous_block<T>* rendezvous_wait_block(rendezvous_chan<T>& c,
                                                                         parker& pk, void* buf) noexcept {
  static_assert(std::is_trivially_destructible_v<rendezvous_frame<T>>,
                "a frame is left without a destructor");
  static_assert(std::is_standard_layout_v<rendezvous_frame<T>>,
                "the caller tells a frame from the home block by its address (block at offset 0)");
  if (Exclusive && pk.owner_task() == nullptr) {
    if (rendezvous_block<T>* h = c.take_home(pk)) return h;
  }
  return ::new (buf) rendezvous_frame<T>(pk, Exclusive);
}

/// One registration and wait of a blocking send (rendezvous_send_wait) in the block `f` (a stack
/// frame or the home block): ok or a final status, or full to go round again.
template <bool Exclusive, class T>
[[gnu::always_inline]] inline status rendezvous_send_once(rendezvous_chan<T>& c, rendezvous_block<T>& f,
                                                          T& v, parker& pk, time_point d,
                                                          context_state* ctx) {
  waiter& w = f.w;
  f.p.src = &v;
  std::uintptr_t s;
  // A task's exclusive wait registers in the idle slot as it switches out (P5).
  if (Exclusive && pk.owner_task() != nullptr && c.slot_is_idle() && c.park_published(f, false, pk)) {
    s = w.wait_until_inline(no_deadline);
  } else {
    if (!c.register_sender(f, Exclusive)) return c.try_send(v);  // a receiver waits, or closed
    s = Exclusive ? w.wait_until(no_deadline) : wait_also_on_context(w, d, ctx, [] { return false; });
  }
  if (s == waiter::selected(0)) {  // a receiver is taking v (it unlinked our entry)
    rendezvous_chan<T>::finish_send(f.p);
    return status::ok;
  }
  c.unregister_sender(f.e);
  return c.try_send(v);
}

/// The wait of a blocking send (rendezvous_send_slow). `Exclusive`: no deadline and no context,
/// so the wait ends only paired or disconnected and may use the channel's slot (F2) and a
/// thread its home block (H2); the compiler then drops every deadline and context test.
template <bool Exclusive, class T>
[[gnu::always_inline]] inline status rendezvous_send_wait(rendezvous_chan<T>& c, T& v, time_point d,
                                                          context_state* ctx) {
  for (;;) {
    if constexpr (!Exclusive) {
      if (ctx != nullptr) {
        if (status e = context_err(ctx); e != status::ok) return e;
      }
      if (d != no_deadline && clock::now() >= d) return status::timeout;
    }
    parker& pk = current_parker();
    alignas(rendezvous_frame<T>) unsigned char buf[sizeof(rendezvous_frame<T>)];
    rendezvous_block<T>& f = *rendezvous_wait_block<Exclusive>(c, pk, buf);
    const home_guard<T> g{c, static_cast<void*>(&f) != static_cast<void*>(buf)};
    if (status st = rendezvous_send_once<Exclusive>(c, f, v, pk, d, ctx); st != status::full) return st;
  }
}

/// Blocking send on a rendezvous channel (after try_send said full). Returns ok only once a
/// receiver has taken v; on any other status v is untouched (I2). Throws only what T's move
/// throws (chan.hpp calls it through switch_call when that is nothing).
template <class T>
[[gnu::noinline]] status rendezvous_send_slow(rendezvous_chan<T>& c, T& v, time_point deadline,
                                              context_state* ctx) noexcept(std::is_nothrow_move_constructible_v<T>) {
  const time_point d = ctx != nullptr ? std::min(deadline, context_deadline(ctx)) : deadline;
  blocking_note note("send", &c);
  if (d == no_deadline && ctx == nullptr) return rendezvous_send_wait<true>(c, v, d, ctx);
  return rendezvous_send_wait<false>(c, v, d, ctx);
}

/// One registration and wait of a blocking receive (rendezvous_recv_wait) in the block `f`, as
/// in rendezvous_send_once: the value or a final status, or empty to go round again.
template <bool Exclusive, class T>
[[gnu::always_inline]] inline result<T> rendezvous_recv_once(rendezvous_chan<T>& c,
                                                             rendezvous_block<T>& f, parker& pk,
                                                             time_point d, context_state* ctx) {
  waiter& w = f.w;
  std::uintptr_t s;
  // A task's exclusive wait registers in the idle slot as it switches out (P5).
  if (Exclusive && pk.owner_task() != nullptr && c.slot_is_idle() && c.park_published(f, true, pk)) {
    s = w.wait_until_inline(no_deadline);
  } else {
    if (!c.register_receiver(f, Exclusive)) return c.try_recv();  // a sender waits, or closed
    s = Exclusive ? w.wait_until(no_deadline) : wait_also_on_context(w, d, ctx, [] { return false; });
  }
  // empty: the sender's move threw, nothing arrived; wait for the next sender.
  if (s == waiter::selected(0)) return rendezvous_chan<T>::finish_recv(f.p);
  c.unregister_receiver(f.e);
  return c.try_recv();
}

/// The wait of a blocking receive (rendezvous_recv_slow); `Exclusive` as in rendezvous_send_wait.
template <bool Exclusive, class T>
[[gnu::always_inline]] inline result<T> rendezvous_recv_wait(rendezvous_chan<T>& c, time_point d, context_state* ctx) {
  for (;;) {
    if constexpr (!Exclusive) {
      if (ctx != nullptr) {
        if (status e = context_err(ctx); e != status::ok) return e;
      }
      if (d != no_deadline && clock::now() >= d) return status::timeout;
    }
    parker& pk = current_parker();
    alignas(rendezvous_frame<T>) unsigned char buf[sizeof(rendezvous_frame<T>)];
    rendezvous_block<T>& f = *rendezvous_wait_block<Exclusive>(c, pk, buf);
    const home_guard<T> g{c, static_cast<void*>(&f) != static_cast<void*>(buf)};
    result<T> r = rendezvous_recv_once<Exclusive>(c, f, pk, d, ctx);
    if (r.code() != status::empty) return r;
  }
}

/// Blocking receive on a rendezvous channel (after try_recv said empty, or recv_may_complete
/// said it would).
template <class T>
[[gnu::noinline]] result<T> rendezvous_recv_slow(rendezvous_chan<T>& c, time_point deadline,
                                                 context_state* ctx) noexcept(std::is_nothrow_move_constructible_v<T>) {
  const time_point d = ctx != nullptr ? std::min(deadline, context_deadline(ctx)) : deadline;
  blocking_note note("recv", &c);
  if (d == no_deadline && ctx == nullptr) return rendezvous_recv_wait<true>(c, d, ctx);
  return rendezvous_recv_wait<false>(c, d, ctx);
}

}  // namespace weft::detail

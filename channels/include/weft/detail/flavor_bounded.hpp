// The bounded flavor (capacity >= 1): a lock-free ring of slots, each with a sequence stamp.
//
// The algorithm is the array queue of Dmitry Vyukov as refined by crossbeam-channel's `array`
// flavor (a stamp per slot; head and tail carry a lap counter above the index; a mark bit in
// tail closes the channel). Written here for weft: the fast path is one CAS on head or tail plus
// one stamp store; waker lists are touched only when `has_waiters()` says someone waits.
//
// Positions: tail and head are `lap | index` where index < cap_ and lap is a multiple of
// one_lap_ (a power of two > 2*cap_ ... see make); tail additionally carries mark_bit_ once
// closed (by close(), the last sender or the last receiver leaving).
//
// Slot placement: index i lives in buffer_[slot_of(i)]. When a slot takes at most half of
// cache_line_size (the destructive-interference unit: 128 on x86-64, platform.hpp), consecutive
// indices go per_unit slots apart (per_unit = the largest power of two of slots that fit in a
// unit, so more than half a unit apart): slot_of(i) = (i mod U) * per_unit + i / U over a buffer
// of span = next_pow2(cap_) slots, U = span / per_unit -- the transpose of a per_unit x U
// matrix, a bijection on [0, span), so injective on [0, cap_). A sender filling i + 1 while a
// receiver empties i (a ring running nearly empty or nearly full: W1, W2) then writes another
// line instead of stealing the one the receiver reads. Taken when the span has at least two
// units and wastes at most an eighth of it (cap_ 1000 -> 1024 slots; 100 -> identity); the
// unused slots are never touched. Otherwise slot_of(i) = i. The idea is atomic_queue's index
// remapping (github.com/max0x7ba/atomic_queue, "remap_index"); measured in bench/RESULTS.md,
// session 16. It depends on the CPU: a gain on Intel, a loss on AMD Zen 4, where four slots per
// line batch the transfers (session 18); platform.hpp spread_ring_slots() chooses.
//
// Invariants:
//   I1  A slot's stamp is `pos` while it is free for the send at position `pos`, and `pos + 1`
//       while it holds the value sent at `pos`; a receive at `pos` sets it to `pos + one_lap_`
//       (free for the next lap).
//   I2  head <= tail (ignoring the mark bit) and tail - head <= cap_ in position order.
//   I3  At rest (no operation in flight), a parked receiver implies an empty ring and a parked
//       sender implies a full or closed one.
// Protocol (who may touch what):
//   slot.storage  written only by the sender whose CAS moved `tail` past it, read (moved out and
//                 destroyed) only by the receiver whose CAS moved `head` past it; the stamp
//                 hands it over.
//   head_/tail_   CAS by receivers (try_recv, and try_take_head: a spin-mode receive's look,
//                 the same claim, free and wake-up as try_recv's) / senders; tail_ fetch_or by
//                 close.
// Orderings:
//   P1  slot stamp store(release) in the commit  ->  stamp load(acquire) in try_*: the value
//       (or the freed slot) is visible before the stamp says so.
//   P2  no lost wake-up. Sender: tail CAS(seq_cst) ... then has_waiters() load(seq_cst) in
//       notify_one; a receiver about to park: register's empty_ store(seq_cst), then
//       recv_ready()'s seq_cst loads of head and tail. Store->load on both sides (the SB
//       pattern): in the single total order of seq_cst operations either the receiver's tail
//       load sees the claimed position (it does not park; try_recv then waits the few
//       nanoseconds until the stamp lands) or the sender's has_waiters() sees the receiver and
//       wakes it. The same holds for senders waiting on a full ring (head CAS vs send_ready's
//       head load). Because the re-check reads head/tail, not the stamp, the stamp store can be
//       a release store (a plain mov on x86), not seq_cst (xchg): the claiming CAS already
//       carries the total order.
//   P3  close's tail fetch_or(seq_cst) -> then disconnect_all under each list's lock; a waiter
//       registering later re-checks with seq_cst loads and sees the mark bit.
// Written over an atomics policy (atomics_policy.hpp; each non-relaxed order is a named constant
// of it) so tests/models can check the ring with Relacy; production uses std_atomics.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/detail/atomics_policy.hpp>
#include <weft/detail/backoff.hpp>
#include <weft/detail/chan_state.hpp>
#include <weft/detail/inject.hpp>
#include <weft/detail/platform.hpp>
#include <weft/detail/waker_list.hpp>
#include <weft/status.hpp>

namespace weft::detail {

template <class T, class Policy = std_atomics>
class bounded_chan final : public chan_state<T, Policy> {
  static constexpr bool nothrow_move = std::is_nothrow_move_constructible_v<T>;
  template <class U>
  using atomic = typename Policy::template atomic<U>;
  using backoff = typename Policy::backoff;
  using waker_list = basic_waker_list<Policy>;
  struct no_poison {};
  struct slot {
    atomic<std::size_t> stamp;
    // Only for throwing moves: the send claimed the slot but its move threw. Absent (no bytes)
    // otherwise, so a slot of an 8-byte T is 16 bytes: 4 slots share a 64-byte line, not 2.7.
    [[no_unique_address]] std::conditional_t<nothrow_move, no_poison, bool> poisoned;
    alignas(T) unsigned char storage[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

 public:
  /// Precondition: cap >= 1. Throws std::bad_alloc (the caller turns it into weft::error).
  /// `spread_wanted`: may consecutive indices be spread over lines ("Slot placement"; the CPU's choice,
  /// platform.hpp spread_ring_slots, unless a test asks for one).
  explicit bounded_chan(std::size_t cap, bool spread_wanted = spread_ring_slots())
      : chan_state<T, Policy>(flavor::bounded, 1, 1),
        cap_(cap),
        mark_bit_(next_pow2(cap + 1)),
        one_lap_(mark_bit_ * 2),
        spread_(spread_of(cap, spread_wanted)) {
    // Aligned to the interference unit: a slot whose size divides a line never straddles two.
    buffer_ = static_cast<slot*>(::operator new(sizeof(slot) * spread_.slots, buffer_align));
    for (std::size_t i = 0; i < cap_; ++i) ::new (&at(i).stamp) atomic<std::size_t>(i);
  }

  ~bounded_chan() override {
    // Single-threaded now: destroy every value still inside (exactly once), then the buffer.
    // relaxed: no other thread touches the channel any more (the destroy_ exchange ordered it).
    std::size_t head = head_.load(std::memory_order_relaxed);
    const std::size_t tail = tail_.load(std::memory_order_relaxed) & ~mark_bit_;
    while (head != tail) {
      const std::size_t index = head & (mark_bit_ - 1);
      if constexpr (nothrow_move) {
        at(index).value()->~T();
      } else {
        if (!at(index).poisoned) at(index).value()->~T();
      }
      head = index + 1 < cap_ ? head + 1 : (head & ~(one_lap_ - 1)) + one_lap_;
    }
    for (std::size_t i = 0; i < cap_; ++i) std::destroy_at(&at(i).stamp);
    ::operator delete(buffer_, buffer_align);
  }

  std::size_t capacity() const noexcept { return cap_; }

  /// ok (v moved into the ring), full, or closed; v untouched unless ok.
  status try_send(T& v) noexcept(nothrow_move) {
    backoff b;
    // relaxed: a starting guess; the CAS below validates it.
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    // We load this slot's stamp, then write it: fetch its line writable at once (first attempt
    // only: a retry may be racing another sender's commit on it).
    prefetch_for_write(&at(tail & (mark_bit_ - 1)));
    for (;;) {
      if (tail & mark_bit_) return status::closed;
      const std::size_t index = tail & (mark_bit_ - 1);
      const std::size_t lap = tail & ~(one_lap_ - 1);
      const std::size_t next = index + 1 < cap_ ? tail + 1 : lap + one_lap_;
      slot& s = at(index);
      // acquire: P1 (the receiver that freed this slot has finished reading it).
      const std::size_t stamp = s.stamp.load(Policy::ring_free_stamp_load);
      if (stamp == tail) {
        // seq_cst on success: part of P2's single total order (a receiver's is_ready reads
        // tail); relaxed on failure: we only retry with the fresher value.
        if (tail_.compare_exchange_weak(tail, next, Policy::ring_tail_claim, std::memory_order_relaxed)) {
          WEFT_INJECT_YIELD();  // claimed, not yet published
          commit_send(s, tail, v);
          return status::ok;
        }
        b.spin();
      } else if (stamp + one_lap_ == tail + 1) {
        // The slot still holds last lap's value: full, unless head moved meanwhile.
        // seq_cst: a linearizable `full` must compare against the current head.
        const std::size_t head = head_.load(Policy::ring_full_check);
        if (head + one_lap_ == tail) return status::full;
        b.spin();
        // relaxed: retry guess.
        tail = tail_.load(std::memory_order_relaxed);
      } else {
        // A sender of this lap is between its CAS and its stamp store: wait for it.
        b.snooze();
        // relaxed: retry guess.
        tail = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  /// ok (a value), empty, or closed (closed and drained).
  /// `exact` false: the first attempt of a blocking receive. When the head slot is empty it
  /// answers `empty` at once without reading tail (which would pull the senders' line into this
  /// core just before the next send must take it back): the caller's wait re-checks with the
  /// exact try_recv and the seq_cst recv_ready() before it can block, so `closed` is still seen.
  result<T> try_recv(bool exact = true) noexcept(nothrow_move) {
    backoff b;
    // relaxed: a starting guess; the CAS validates it.
    std::size_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
      const std::size_t index = head & (mark_bit_ - 1);
      const std::size_t lap = head & ~(one_lap_ - 1);
      slot& s = at(index);
      // acquire: P1 (the sender's value is visible once the stamp says full).
      const std::size_t stamp = s.stamp.load(Policy::ring_full_stamp_load);
      if (head + 1 == stamp) {
        const std::size_t next = index + 1 < cap_ ? head + 1 : lap + one_lap_;
        // seq_cst on success: in P2's total order (a sender's full check and is_ready read
        // head); relaxed on failure: retry with the fresher value.
        if (head_.compare_exchange_weak(head, next, Policy::ring_head_claim, std::memory_order_relaxed)) {
          WEFT_INJECT_YIELD();  // claimed, slot not yet freed
          if constexpr (!nothrow_move) {
            if (s.poisoned) {  // a send whose move threw: nothing to deliver, free the slot
              // release: as the normal path below.
              s.stamp.store(head + one_lap_, Policy::ring_free_publish);
              senders_.notify_one();
              // relaxed: retry guess.
              head = head_.load(std::memory_order_relaxed);
              continue;
            }
          }
          // The value leaves the slot, is destroyed there and the slot is freed on every way
          // out, also when T's move throws (the exception reaches the receiver; the value,
          // which cannot be moved out, is destroyed in place and the ring stays usable).
          struct free_slot {
            bounded_chan* c;
            slot& s;
            std::size_t free_stamp;
            ~free_slot() {
              s.value()->~T();
              // release: P1 (the slot is free for the sender one lap later). The wake-up check
              // below is ordered by the head CAS (P2).
              s.stamp.store(free_stamp, Policy::ring_free_publish);
              c->senders_.notify_one();
            }
          } done{this, s, head + one_lap_};
          return result<T>(std::move(*s.value()));
        }
        b.spin();
      } else if (stamp == head) {
        if (!exact) return status::empty;
        // seq_cst: P2/P3 (see the close bit and the latest tail).
        const std::size_t tail = tail_.load(Policy::ring_empty_check);
        if ((tail & ~mark_bit_) == head) return (tail & mark_bit_) ? status::closed : status::empty;
        b.spin();
        // relaxed: retry guess.
        head = head_.load(std::memory_order_relaxed);
      } else {
        b.snooze();
        // relaxed: retry guess.
        head = head_.load(std::memory_order_relaxed);
      }
    }
  }

  /// A spinning receive's look (T's move must not throw): takes the head slot's value if its
  /// stamp shows one; otherwise, or if another receiver's CAS wins, empty at once (no tail read,
  /// no retry loop: the caller relaxes and looks again, and sees a close through try_recv).
  [[gnu::always_inline]] result<T> try_take_head() noexcept
    requires nothrow_move
  {
    // relaxed: a guess; the CAS validates it.
    std::size_t head = head_.load(std::memory_order_relaxed);
    const std::size_t index = head & (mark_bit_ - 1);
    slot& s = at(index);
    prefetch_for_write(&s);  // recv_peek: the claim writes this line
    // acquire: P1.
    if (s.stamp.load(Policy::ring_full_stamp_load) != head + 1) return status::empty;
    const std::size_t next = index + 1 < cap_ ? head + 1 : (head & ~(one_lap_ - 1)) + one_lap_;
    // seq_cst on success: as try_recv's claim (P2); relaxed on failure: nothing read.
    if (!head_.compare_exchange_strong(head, next, Policy::ring_head_claim,
                                       std::memory_order_relaxed)) {
      return status::empty;
    }
    WEFT_INJECT_YIELD();  // claimed, slot not yet freed
    result<T> out(std::move(*s.value()));
    s.value()->~T();
    // release: P1, as try_recv.
    s.stamp.store(head + one_lap_, Policy::ring_free_publish);
    senders_.notify_one();
    return out;
  }

  /// A send would not return full (it may still lose a race). seq_cst loads: P2/P3.
  bool send_ready() const noexcept {
    const std::size_t tail = tail_.load(Policy::ring_ready_check);
    if (tail & mark_bit_) return true;
    const std::size_t head = head_.load(Policy::ring_ready_check);
    return head + one_lap_ != tail;
  }
  /// A hint for spinning senders on a full ring: true once the receivers have freed a batch of
  /// slots (the slot `batch` positions past tail is free for this lap), or when the ring is
  /// closed. It reads tail (the senders' own line) and one slot stamp, never head: polling head,
  /// or the very slot the receiver frees next, steals the receiver's lines once per message
  /// (W6: 4 spinning senders against one selecting receiver). Waiting for a batch delays no
  /// value: the receivers have a full ring to work through meanwhile.
  bool send_peek() const noexcept {
    // relaxed x2: a hint only; try_send re-reads with the orderings that matter.
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail & mark_bit_) return true;
    std::size_t index = (tail & (mark_bit_ - 1)) + send_batch();
    std::size_t lap = tail & ~(one_lap_ - 1);
    if (index >= cap_) {
      index -= cap_;
      lap += one_lap_;
    }
    return at(index).stamp.load(std::memory_order_relaxed) == (lap | index);
  }
  /// How many relax instructions a spinning sender lets pass between two send_peek looks (a
  /// power of two, 1 to 64). Even the batch slot's line is one the receivers are emptying, and
  /// every look takes it from them: a sender that looks at every relax keeps the receivers
  /// waiting for their own lines (W1 on Zen 4: 20 ns/msg looking every relax, 12 every 64).
  /// The wait must stay shorter than the receivers' remaining work, the cap_ - send_batch()
  /// values still queued, at a few ns each, while a relax takes 25-45 ns (Zen 4, Ice Lake):
  /// one relax per 8 queued values, so caps below 31 look at every relax, as before.
  std::uint32_t send_look_every() const noexcept {
    const std::size_t queued = cap_ - send_batch();
    return static_cast<std::uint32_t>(std::bit_floor(std::clamp<std::size_t>(queued / 8, 1, 64)));
  }
  /// Consecutive indices go to different lines ("Slot placement"; for tests).
  bool spreads() const noexcept { return spread_.up != 0; }
  /// A hint for spinning receivers: the head slot holds a value. Reads only that slot's stamp
  /// (the line the sender must write anyway), never tail. The receive that follows will write
  /// the slot (its free stamp), so every poll asks for the line writable: the poll that sees
  /// the value then holds it exclusive, and no upgrade stalls the caller's next locked
  /// instruction. Session 21 issued the prefetchw only once the stamp showed a value (weft-spin
  /// W3 118 -> 95 ns per round trip, 8 of 8 gated rounds); on every poll it gained another
  /// 6.8-7.5 ns (6 of 6 gated rounds, twice; W1, W2, W6 no worse: bench/RESULTS.md session
  /// 23). Not in try_recv itself: there it gained W3 spin only ~5 ns, and a spinning select
  /// polling empty channels took their lines from the senders (W6 spin +12.7 ns).
  bool recv_peek() const noexcept {
    // relaxed x2: a hint only; try_recv re-reads both with the orderings that matter.
    const std::size_t head = head_.load(std::memory_order_relaxed);
    const slot& s = at(head & (mark_bit_ - 1));
    prefetch_for_write(&s);
    return s.stamp.load(std::memory_order_relaxed) == head + 1;
  }
  /// A receive would not return empty. seq_cst loads: P2/P3.
  bool recv_ready() const noexcept {
    const std::size_t head = head_.load(Policy::ring_ready_check);
    const std::size_t tail = tail_.load(Policy::ring_ready_check);
    return (tail & ~mark_bit_) != head || (tail & mark_bit_) != 0;
  }

  bool is_closed() const noexcept {
    // acquire: a caller that sees closed may rely on the close having happened-before.
    return (tail_.load(Policy::ring_closed_load) & mark_bit_) != 0;
  }

  std::size_t size() const noexcept {
    for (;;) {
      // relaxed x3: a snapshot for size(); the re-read of tail makes head/tail consistent;
      // nothing is published through it.
      const std::size_t tail = tail_.load(std::memory_order_relaxed) & ~mark_bit_;
      const std::size_t head = head_.load(std::memory_order_relaxed);
      if ((tail_.load(std::memory_order_relaxed) & ~mark_bit_) != tail) continue;
      const std::size_t hix = head & (mark_bit_ - 1), tix = tail & (mark_bit_ - 1);
      if (hix < tix) return tix - hix;
      if (hix > tix) return cap_ - hix + tix;
      return tail == head ? 0 : cap_;
    }
  }

  /// Sets the mark bit; returns true if this call closed the channel.
  bool close() noexcept {
    // seq_cst: P3.
    const std::size_t old = tail_.fetch_or(mark_bit_, Policy::ring_close);
    if (old & mark_bit_) return false;
    WEFT_INJECT_YIELD();  // marked closed, waiters not yet woken
    senders_.disconnect_all();
    receivers_.disconnect_all();
    return true;
  }
  void disconnect_senders() noexcept override { close(); }
  void disconnect_receivers() noexcept override { close(); }

  waker_list& senders() noexcept { return senders_; }
  waker_list& receivers() noexcept { return receivers_; }

 private:
  // A throwing move constructor must not leave a claimed slot empty forever: the slot is marked
  // poisoned (receivers skip it), the stamp still advances, and the exception reaches the sender
  // with its value as the move constructor left it (the strong guarantee of T's move, if any).
  void commit_send(slot& s, std::size_t tail, T& v) noexcept(nothrow_move) {
    if constexpr (nothrow_move) {
      ::new (static_cast<void*>(s.storage)) T(std::move(v));
    } else {
      try {
        ::new (static_cast<void*>(s.storage)) T(std::move(v));
        s.poisoned = false;
      } catch (...) {
        s.poisoned = true;
        // release: as below; the receiver that skips the slot frees it.
        s.stamp.store(tail + 1, Policy::ring_value_publish);
        receivers_.notify_one();
        throw;
      }
    }
    // release: P1 (publish the value). The wake-up check in notify_one is ordered by the tail
    // CAS that claimed the slot (P2).
    s.stamp.store(tail + 1, Policy::ring_value_publish);
    receivers_.notify_one();
  }

  /// The free slots a spinning sender waits for (send_peek): 16, or half a small ring.
  std::size_t send_batch() const noexcept { return cap_ >= 32 ? 16 : cap_ / 2; }

  static std::size_t next_pow2(std::size_t n) noexcept {
    std::size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }

  const std::size_t cap_;
  const std::size_t mark_bit_;  // the closed bit of tail; also 1 + the largest index
  const std::size_t one_lap_;   // the lap increment
  /// slot_of(i) = ((i & mask) << up) | (i >> down): see "Slot placement" above. The identity is
  /// mask = all ones, up = 0, down = 63 (indices stay far below 2^63).
  /// `slots`: the buffer's length (cap_, or the power of two the transpose runs over).
  struct spread {
    std::size_t mask, up, down, slots;
  };
  static spread spread_of(std::size_t cap, bool wanted) noexcept {
    constexpr std::size_t unit = cache_line_size;
    if constexpr (sizeof(slot) * 2 <= unit) {
      // A power of two (for the shifts) of slots per unit: neighbours end up more than half a
      // unit (64 bytes on x86-64) apart. They share no line when the slot size divides a line;
      // other sizes (40 bytes: 80 apart) may still meet at one line's two ends.
      constexpr std::size_t per_unit = std::bit_floor(unit / sizeof(slot));
      const std::size_t span = next_pow2(cap);
      if (wanted && span - cap <= span / 8 && span >= 2 * per_unit) {
        const std::size_t units = span / per_unit;
        return {units - 1, static_cast<std::size_t>(std::countr_zero(per_unit)),
                static_cast<std::size_t>(std::countr_zero(units)), span};
      }
    }
    return {~std::size_t{0}, 0, 63, cap};
  }
  slot& at(std::size_t index) const noexcept {
    return buffer_[((index & spread_.mask) << spread_.up) | (index >> spread_.down)];
  }

  static constexpr std::align_val_t buffer_align{alignof(slot) > cache_line_size ? alignof(slot) : cache_line_size};
  const spread spread_;
  slot* buffer_ = nullptr;
  alignas(cache_line_size) atomic<std::size_t> head_{0};  // receivers only, via CAS; I2
  alignas(cache_line_size) atomic<std::size_t> tail_{0};  // senders via CAS, close via fetch_or
  alignas(cache_line_size) waker_list senders_;     // blocked senders (ring full)
  alignas(cache_line_size) waker_list receivers_;   // blocked receivers (ring empty)

  static_assert(sizeof(std::size_t) == 8, "positions need 64 bits: lap counters must not wrap in practice");
};

}  // namespace weft::detail

// A worker's local run queue: a bounded lock-free ring of task pointers (Go's runq, also Tokio's
// local queue). The owning worker pushes at the tail and pops at the head; idle workers steal
// half of it at once (one CAS per batch), so stealing is cheap and rare.
//
// Invariants:
//   I1  0 <= tail_ - head_ <= capacity (u32 arithmetic, wrapping); the live entries are
//       buf_[head_ .. tail_) modulo capacity.
//   I2  Only the owner writes tail_ and writes slots; a slot at index i may be overwritten
//       only after head_ has moved past i (the owner checks that with the head_ it loaded).
// Protocol (who may touch what):
//   tail_    the owner only (push, and steal_into on its own queue).
//   head_    any consumer, by CAS: the owner's pop, or a thief committing a batch it copied.
//   buf_[i]  written by the owner at tail_; read by any consumer, which keeps the value only
//            if its CAS on head_ succeeds (a failed CAS discards what it read, which may be a
//            stale or overwritten slot: that is why slots are relaxed atomics, not plain).
// Orderings:
//   P1  push: tail_.store(seq_cst) -> consumers' tail_.load(acquire): the slot written before is
//       visible to whoever sees the new tail. seq_cst rather than release: the runtime's wake-up
//       protocol (a worker going idle re-checks every queue after announcing itself idle; a
//       pusher looks for idle workers after pushing) is a store->load race on both sides.
//   P2  consumers' head_ CAS (release on success) -> the owner's head_.load(acquire) in push:
//       a consumer has read a slot before the owner may overwrite it (I2).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <weft/detail/platform.hpp>

namespace weft::detail {

template <class T, std::uint32_t Capacity = 256>
class run_queue {
  static_assert((Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");
  static constexpr std::uint32_t mask = Capacity - 1;

 public:
  static constexpr std::uint32_t capacity = Capacity;

  run_queue() noexcept {
    for (auto& s : buf_) s.store(nullptr, std::memory_order_relaxed);  // relaxed: before sharing
  }
  run_queue(const run_queue&) = delete;
  run_queue& operator=(const run_queue&) = delete;

  /// Owner only. False when full (the caller then moves half to the global queue).
  bool push(T* t) noexcept {
    // acquire: a consumer that moved head_ past a slot has finished reading it; P2.
    const std::uint32_t h = head_.load(std::memory_order_acquire);
    // relaxed: tail_ is written only by this thread (the owner).
    const std::uint32_t tl = tail_.load(std::memory_order_relaxed);
    if (tl - h >= Capacity) return false;
    // relaxed: published by the tail_ store below; P1.
    buf_[tl & mask].store(t, std::memory_order_relaxed);
    // seq_cst: publishes the slot (release part, P1) and orders this push before the pusher's
    // look for idle workers (store->load, see the runtime's wake protocol).
    tail_.store(tl + 1, std::memory_order_seq_cst);
    return true;
  }

  /// Owner only: takes half of the queue (for an overflow to the global queue) into out[],
  /// which has room for Capacity / 2 entries. Returns how many it took (0 if it lost a race).
  std::uint32_t pop_half(T** out) noexcept {
    // acquire: see pop(); P2.
    std::uint32_t h = head_.load(std::memory_order_acquire);
    // relaxed: owner's own tail.
    const std::uint32_t tl = tail_.load(std::memory_order_relaxed);
    const std::uint32_t n = (tl - h) / 2;
    if (n == 0) return 0;
    for (std::uint32_t i = 0; i < n; ++i)
      out[i] = buf_[(h + i) & mask].load(std::memory_order_relaxed);  // relaxed: kept only if the CAS wins
    // acq_rel: release so the owner may reuse the slots (P2); acquire pairs with other consumers.
    if (!head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel, std::memory_order_relaxed))
      return 0;
    return n;
  }

  /// Owner only (thieves use steal_into). nullptr when empty.
  T* pop() noexcept {
    // acquire: synchronises with other consumers' CAS on head_; P2.
    std::uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      // relaxed: the owner's own tail.
      const std::uint32_t tl = tail_.load(std::memory_order_relaxed);
      if (tl == h) return nullptr;
      // relaxed: the slot was written by this thread; kept only if the CAS wins.
      T* t = buf_[h & mask].load(std::memory_order_relaxed);
      // acq_rel: release commits the consumption (P2); acquire reloads head on failure.
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        return t;
    }
  }

  /// Called by the owner of `dst` (which must be empty): moves about half of this queue into
  /// dst and returns one of the stolen tasks to run at once; nullptr if there was nothing.
  T* steal_into(run_queue& dst) noexcept {
    // relaxed: dst is the caller's own queue.
    const std::uint32_t dt = dst.tail_.load(std::memory_order_relaxed);
    // acquire: see pop().
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t n = 0;
    for (;;) {
      // acquire: the slots below the tail we see are written; P1.
      const std::uint32_t tl = tail_.load(std::memory_order_acquire);
      n = tl - h;
      n -= n / 2;
      if (n == 0) return nullptr;
      if (n > Capacity / 2) {  // inconsistent head/tail pair (we raced); reload
        // acquire: as above.
        h = head_.load(std::memory_order_acquire);
        continue;
      }
      for (std::uint32_t i = 0; i < n; ++i) {
        // relaxed: kept only if the CAS below wins; dst's slots are published by its tail store.
        dst.buf_[(dt + i) & mask].store(buf_[(h + i) & mask].load(std::memory_order_relaxed),
                                        std::memory_order_relaxed);
      }
      // acq_rel: release commits the batch (the victim may now overwrite those slots, P2);
      // acquire on failure reloads head_.
      if (head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel, std::memory_order_acquire))
        break;
    }
    --n;
    // relaxed: the caller's own slot, written just above by this thread.
    T* first = dst.buf_[(dt + n) & mask].load(std::memory_order_relaxed);
    // release: publishes the copied slots to dst's own thieves; P1.
    if (n != 0) dst.tail_.store(dt + n, std::memory_order_release);
    return first;
  }

  /// Approximate length (exact for the owner at rest).
  std::uint32_t size() const noexcept {
    // relaxed: a hint (stats, the idle re-check looks at emptiness with is_empty()).
    return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_relaxed);
  }
  /// True if empty. seq_cst loads: the idle worker's re-check in the wake protocol (P1).
  bool is_empty() const noexcept {
    // seq_cst: store->load pair with push's tail store; see the runtime's wake protocol.
    const std::uint32_t tl = tail_.load(std::memory_order_seq_cst);
    // seq_cst: as above.
    return tl == head_.load(std::memory_order_seq_cst);
  }

 private:
  alignas(cache_line_size) std::atomic<std::uint32_t> head_{0};  // consumers, by CAS; I1, P2
  alignas(cache_line_size) std::atomic<std::uint32_t> tail_{0};  // the owner only; P1
  alignas(cache_line_size) std::atomic<T*> buf_[Capacity];       // see Protocol
};

}  // namespace weft::detail

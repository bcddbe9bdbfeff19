// The unbounded flavor: a lock-free, linearizable FIFO of linked blocks of slots.
//
// The algorithm follows crossbeam-channel's `list` flavor (itself after Vyukov's and the
// "unbounded MPMC queue with blocks" designs), written here for weft. Positions count slots;
// each block holds block_cap slots and position offset block_cap (the lap's last index) is a
// "the next block is being installed" state. One CAS on tail claims a slot for a send, one CAS on
// head claims one for a receive, so the queue is linearizable FIFO across all threads (unlike
// moodycamel's per-producer sub-queues, see DESIGN.md). Blocks are freed as soon as every slot
// in them has been read, so memory is given back after a burst.
//
// Position word (head and tail): index << shift | flag. tail's flag = closed; head's flag =
// "a next block exists" (lets a receiver skip the emptiness check). offset = (index % lap).
//
// Invariants:
//   I1  A slot is written once (by the sender that claimed it) and read once (by the receiver
//       that claimed it); its state gains `written` then `read` (and maybe `destroy`).
//   I2  A block is freed exactly once: by the reader of its last slot, or by the reader of slot i
//       that finds `destroy` set by a destroyer that stopped at i (every slot before i was read).
//   I3  head.index <= tail.index (without flags); equal means empty.
// Protocol (who may touch what):
//   slot.storage  written by the claiming sender before `written`; read by the claiming receiver
//                 after it saw `written`.
//   block.next    written once by the sender that claimed the last offset of the block.
//   tail.block    written by the sender installing the next block (or the first one).
//   head.block    written by the receiver that claimed the last slot of a block.
// Orderings:
//   P1  slot state fetch_or(written, release) -> receiver's load(acquire): the value.
//   P2  tail CAS(seq_cst) -> notify's has_waiters() load(seq_cst); receiver registers (seq_cst
//       store) -> recv_ready()'s seq_cst loads of head/tail (waker_list.hpp P1).
//   P3  block pointers: store(release) -> load(acquire): a block is fully constructed before use.
//   P4  slot state fetch_or(read|destroy, acq_rel): the destroy hand-off of I2; the last one to
//       touch a block sees every other reader's completed read before freeing.
//   P5  the receiver's empty check loads tail with seq_cst after its head load (seq_cst):
//       together with the senders' seq_cst tail CAS this makes `empty` linearizable.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/detail/backoff.hpp>
#include <weft/detail/chan_state.hpp>
#include <weft/detail/inject.hpp>
#include <weft/detail/platform.hpp>
#include <weft/detail/waker_list.hpp>
#include <weft/status.hpp>

namespace weft::detail {

template <class T>
class unbounded_chan final : public chan_state<T> {
  static constexpr std::size_t shift = 1;
  static constexpr std::size_t flag = 1;  // tail: closed; head: next block exists
  static constexpr std::size_t lap = 32;
  static constexpr std::size_t block_cap = lap - 1;

  static constexpr std::uint32_t written = 1;
  static constexpr std::uint32_t read = 2;
  static constexpr std::uint32_t destroy = 4;
  static constexpr bool nothrow_move = std::is_nothrow_move_constructible_v<T>;

  struct slot {
    alignas(T) unsigned char storage[sizeof(T)];
    std::atomic<std::uint32_t> state{0};
    bool poisoned = false;  // only for throwing moves: claimed, but the move threw
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
    void wait_written() const noexcept {
      backoff b;
      // acquire: P1.
      while ((state.load(std::memory_order_acquire) & written) == 0) b.snooze();
    }
  };

  struct block {
    std::atomic<block*> next{nullptr};
    slot slots[block_cap];
    block* wait_next() const noexcept {
      backoff b;
      for (;;) {
        // acquire: P3.
        if (block* n = next.load(std::memory_order_acquire)) return n;
        b.snooze();
      }
    }
    // Frees (recycles) the block once slots [start, block_cap - 1) have all been read (I2). The
    // reader of the last slot calls it with start = 0; see read_slot.
    static void destroy_from(unbounded_chan& c, block* b, std::size_t start) noexcept {
      // The last slot is not checked: whoever read it started the destruction.
      for (std::size_t i = start; i + 1 < block_cap; ++i) {
        slot& s = b->slots[i];
        // acquire: P4 (see that the read finished); acq_rel on the RMW: P4.
        if ((s.state.load(std::memory_order_acquire) & read) == 0 &&
            (s.state.fetch_or(destroy, std::memory_order_acq_rel) & read) == 0) {
          return;  // that slot's reader will continue the destruction
        }
      }
      c.recycle(b);
    }
  };

  struct position {
    std::atomic<std::size_t> index{0};
    std::atomic<block*> blk{nullptr};
  };

 public:
  unbounded_chan() : chan_state<T>(flavor::unbounded, 1, 1) {
    block* b = new block;
    // relaxed: not yet shared (the handles that publish the channel synchronise).
    head_.blk.store(b, std::memory_order_relaxed);
    tail_.blk.store(b, std::memory_order_relaxed);
  }

  ~unbounded_chan() override {
    // Single-threaded: destroy remaining values, free remaining blocks. relaxed throughout:
    // the destroy_ exchange of chan_state ordered every other thread's operations before this.
    std::size_t head = head_.index.load(std::memory_order_relaxed) & ~flag;
    const std::size_t tail = tail_.index.load(std::memory_order_relaxed) & ~flag;
    block* b = head_.blk.load(std::memory_order_relaxed);
    while (head != tail) {
      const std::size_t offset = (head >> shift) % lap;
      if (offset < block_cap) {
        slot& s = b->slots[offset];
        if (nothrow_move || !s.poisoned) s.value()->~T();
      } else {
        block* next = b->next.load(std::memory_order_relaxed);
        delete b;
        b = next;
      }
      head += 1 << shift;
    }
    delete b;
    // relaxed: single-threaded now.
    delete spare_.load(std::memory_order_relaxed);
  }

  /// ok or closed (never full); v untouched unless ok. Throws std::bad_alloc if a new block
  /// cannot be allocated (v untouched, nothing claimed).
  status try_send(T& v) {
    backoff b;
    // acquire: P3 (the block pointer read with it must be the one for this index).
    std::size_t tail = tail_.index.load(std::memory_order_acquire);
    block* blk = tail_.blk.load(std::memory_order_acquire);
    block* spare = nullptr;  // pre-allocated next block (allocated before claiming a slot)
    for (;;) {
      if (tail & flag) {
        if (spare != nullptr) recycle(spare);
        return status::closed;
      }
      const std::size_t offset = (tail >> shift) % lap;
      if (offset == block_cap) {  // another sender is installing the next block
        b.snooze();
        // acquire: P3.
        tail = tail_.index.load(std::memory_order_acquire);
        blk = tail_.blk.load(std::memory_order_acquire);
        continue;
      }
      // Allocate before claiming the last slot, so an allocation failure loses nothing.
      if (offset + 1 == block_cap && spare == nullptr) spare = alloc_block();
      const std::size_t new_tail = tail + (1 << shift);
      // seq_cst on success: P2/P5; acquire on failure: the reloaded index pairs with blk below.
      if (tail_.index.compare_exchange_weak(tail, new_tail, std::memory_order_seq_cst, std::memory_order_acquire)) {
        WEFT_INJECT_YIELD();  // claimed, not yet published (nor the next block installed)
        if (offset + 1 == block_cap) {
          // We claimed the block's last slot: install the next block for everybody.
          block* next = spare;
          spare = nullptr;
          // release: P3.
          tail_.blk.store(next, std::memory_order_release);
          // release: P3 (skip the block_cap offset: the next block starts at offset 0).
          tail_.index.fetch_add(1 << shift, std::memory_order_release);
          // release: P3.
          blk->next.store(next, std::memory_order_release);
        }
        if (spare != nullptr) recycle(spare);
        write_slot(blk->slots[offset], v);
        return status::ok;
      }
      // acquire: P3.
      blk = tail_.blk.load(std::memory_order_acquire);
      b.spin();
    }
  }

  /// ok (a value), empty, or closed (closed and drained).
  result<T> try_recv() {
    backoff b;
    // seq_cst: P5.
    std::size_t head = head_.index.load(std::memory_order_seq_cst);
    // acquire: P3.
    block* blk = head_.blk.load(std::memory_order_acquire);
    for (;;) {
      const std::size_t offset = (head >> shift) % lap;
      if (offset == block_cap) {  // the receiver of the last slot is moving head to the next block
        b.snooze();
        // seq_cst: P5; acquire: P3.
        head = head_.index.load(std::memory_order_seq_cst);
        blk = head_.blk.load(std::memory_order_acquire);
        continue;
      }
      std::size_t new_head = head + (1 << shift);
      if ((new_head & flag) == 0) {
        // seq_cst: P5 (a linearizable empty) and P2.
        const std::size_t tail = tail_.index.load(std::memory_order_seq_cst);
        if ((head >> shift) == (tail >> shift)) {
          return (tail & flag) ? result<T>(status::closed) : result<T>(status::empty);
        }
        // head and tail in different blocks: a next block exists.
        if ((head >> shift) / lap != (tail >> shift) / lap) new_head |= flag;
      }
      // seq_cst on success: P5; acquire on failure: the reloaded index pairs with blk below.
      if (head_.index.compare_exchange_weak(head, new_head, std::memory_order_seq_cst, std::memory_order_acquire)) {
        WEFT_INJECT_YIELD();  // claimed, not yet read
        if (offset + 1 == block_cap) {
          block* next = blk->wait_next();
          std::size_t next_index = (new_head & ~flag) + (1 << shift);
          // relaxed: only a hint that the block after `next` exists already.
          if (next->next.load(std::memory_order_relaxed) != nullptr) next_index |= flag;
          // release: P3.
          head_.blk.store(next, std::memory_order_release);
          // release: P3.
          head_.index.store(next_index, std::memory_order_release);
        }
        return read_slot(blk, offset, head);
      }
      // acquire: P3.
      blk = head_.blk.load(std::memory_order_acquire);
      b.spin();
    }
  }

  bool send_ready() const noexcept { return true; }
  /// A receive would not return empty. seq_cst: P2.
  bool recv_ready() const noexcept {
    const std::size_t head = head_.index.load(std::memory_order_seq_cst);
    const std::size_t tail = tail_.index.load(std::memory_order_seq_cst);
    return (head >> shift) != (tail >> shift) || (tail & flag) != 0;
  }

  bool is_closed() const noexcept {
    // acquire: a caller that sees closed may rely on the close having happened-before.
    return (tail_.index.load(std::memory_order_acquire) & flag) != 0;
  }

  std::size_t size() const noexcept {
    for (;;) {
      // relaxed x3: a snapshot for size(); nothing is published through it.
      std::size_t tail = tail_.index.load(std::memory_order_relaxed);
      std::size_t head = head_.index.load(std::memory_order_relaxed);
      if (tail_.index.load(std::memory_order_relaxed) != tail) continue;
      tail = (tail & ~flag) >> shift;
      head = (head & ~flag) >> shift;
      if (head > tail) return 0;
      // Skip the per-lap "installing" offsets that hold no slot.
      auto slots_before = [](std::size_t i) { return i - i / lap; };
      return slots_before(tail) - slots_before(head);
    }
  }

  bool close() noexcept {
    // seq_cst: P2 (a receiver registering later re-checks tail with seq_cst and sees the flag).
    const std::size_t old = tail_.index.fetch_or(flag, std::memory_order_seq_cst);
    if (old & flag) return false;
    WEFT_INJECT_YIELD();  // marked closed, waiters not yet woken
    receivers_.disconnect_all();
    return true;
  }
  void disconnect_senders() noexcept override { close(); }
  void disconnect_receivers() noexcept override { close(); }

  waker_list& receivers() noexcept { return receivers_; }

 private:
  void write_slot(slot& s, T& v) noexcept(nothrow_move) {
    if constexpr (nothrow_move) {
      ::new (static_cast<void*>(s.storage)) T(std::move(v));
    } else {
      try {
        ::new (static_cast<void*>(s.storage)) T(std::move(v));
      } catch (...) {
        s.poisoned = true;
        // release: P1 (the receiver sees `poisoned` and skips the slot).
        s.state.fetch_or(written, std::memory_order_release);
        receivers_.notify_one();
        throw;
      }
    }
    // release: P1. (Also seq_cst-ordered before notify by the tail CAS: P2.)
    s.state.fetch_or(written, std::memory_order_release);
    receivers_.notify_one();
  }

  result<T> read_slot(block* blk, std::size_t offset, std::size_t& head) {
    slot& s = blk->slots[offset];
    s.wait_written();
    bool skip = false;
    if constexpr (!nothrow_move) skip = s.poisoned;
    {
      // Block reclamation (I2) on every way out, also when T's move throws in take_value.
      struct reclaim {
        unbounded_chan& c;
        block* blk;
        std::size_t offset;
        slot& s;
        ~reclaim() {
          if (offset + 1 == block_cap) {
            block::destroy_from(c, blk, 0);
          } else if ((s.state.fetch_or(read, std::memory_order_acq_rel) & destroy) != 0) {  // acq_rel: P4
            block::destroy_from(c, blk, offset + 1);
          }
        }
      } done{*this, blk, offset, s};
      if (!skip) return take_value(s);
    }
    // A poisoned slot delivered nothing: try the next one.
    (void)head;
    return try_recv();
  }

  // One drained block is kept for the next one the senders need, so a steady stream allocates
  // nothing (a block per 31 values otherwise). A block reaches recycle() only when no thread
  // can touch it any more (I2), exactly as it would reach delete.
  block* alloc_block() {
    // acquire: pairs with recycle's release (the reset block is fully written).
    if (block* b = spare_.exchange(nullptr, std::memory_order_acquire)) return b;
    return new block;
  }
  void recycle(block* b) noexcept {
    // relaxed x3: the block is private to us until the release CAS below publishes it.
    b->next.store(nullptr, std::memory_order_relaxed);
    for (slot& sl : b->slots) {
      sl.state.store(0, std::memory_order_relaxed);
      sl.poisoned = false;
    }
    block* expected = nullptr;
    // release: publishes the reset block to alloc_block's acquire; relaxed on failure (we keep
    // ownership and free it).
    if (!spare_.compare_exchange_strong(expected, b, std::memory_order_release, std::memory_order_relaxed)) delete b;
  }

  /// Moves the value out and destroys it in the slot, also when the move throws.
  static result<T> take_value(slot& s) noexcept(nothrow_move) {
    struct destroy {
      T* p;
      ~destroy() { p->~T(); }
    } done{s.value()};
    return result<T>(std::move(*done.p));
  }

  alignas(cache_line_size) position head_;  // receivers: index by CAS, blk by the last-slot reader
  alignas(cache_line_size) position tail_;  // senders: index by CAS, blk by the last-slot writer
  alignas(cache_line_size) waker_list receivers_;  // blocked receivers (queue empty)
  std::atomic<block*> spare_{nullptr};  // one recycled block, or null; see alloc_block
};

}  // namespace weft::detail

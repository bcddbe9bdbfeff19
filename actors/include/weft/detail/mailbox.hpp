// An actor's mailbox: an intrusive multi-producer single-consumer FIFO of message nodes
// (D. Vyukov's intrusive MPSC node queue; this is weft's own code).
//
// Any thread or task may push; only the actor's current runner pops. A push is one atomic
// exchange on `head_` plus one release store that links the previous node to the new one; a pop
// touches only consumer-owned fields and the link words. The exchange is the linearization
// point, so the queue is a linearizable FIFO: two pushes ordered by happens-before (from one
// thread, from several threads, or from one task that migrated between workers) are popped in
// that order. That is the guarantee moodycamel's per-producer-thread FIFO lacks (DESIGN.md).
//
// The price: a pusher that has exchanged `head_` but not yet stored the link hides its node, and
// every node pushed after it, from the consumer until it does (two instructions, but the pusher's
// thread can be preempted between them). try_pop() then returns nullptr although the queue is
// not empty; callers that know a node is coming (the actor's count says so) retry with backoff.
//
// The queue is two objects: `mpsc_push_end` (what pushers write) and `mpsc_pop_end` (what the
// consumer writes), so that an owner can place each next to the fields used with it and keep
// the two on separate cache lines; `mpsc_queue` is both ends with the padding between them.
//
// Nodes are not owned by the queue: the caller allocates a node before push() and frees it after
// try_pop() returned it. The queue's destructor frees nothing (the actor drains it first).
//
// Invariants:
//   I1  Walking `next_` from `tail_` reaches every pushed, not yet popped node whose link is
//       stored, in push order; the walk stops at the first node whose link is not stored yet.
//   I2  `stub_` is in the queue at most once: the consumer re-pushes it only after it has popped
//       past it (tail_ != &stub_) and `head_` was seen equal to `tail_` (nothing behind tail_).
//   I3  The last pushed node (`head_`) is never popped while it is the last: try_pop() first
//       pushes `stub_` behind it, so `head_` always names a live node.
// Protocol (who may touch what):
//   head_            (mpsc_push_end) every pusher, only through exchange.
//   node.next_       written once to nullptr by its pusher before the exchange, then once to the
//                    successor by the successor's pusher (or by the consumer when the successor
//                    is the stub); read by the consumer.
//   tail_, stub_     (mpsc_pop_end) the consumer only (one runner at a time; the actor's state word hands the
//                    consumer role from one runner to the next with release/acquire).
// Orderings:
//   P1  push: head_.exchange(acq_rel). Release: the new node's `next_ = nullptr` (and, for a
//       typed node, the message written into it) happens-before the next pusher's link store into
//       that node. Acquire: the previous node's `next_ = nullptr` happens-before our link store,
//       so our store is later in its modification order and cannot be overwritten.
//   P2  push: prev->next_.store(release)  ->  try_pop: next_.load(acquire). Whatever the pusher
//       wrote before push() (the message) is visible to the consumer that pops the node.
#pragma once

#include <atomic>
#include <cstddef>

#include <weft/detail/platform.hpp>

namespace weft::detail {

/// The link every mailbox node starts with. Typed nodes derive from it (see message.hpp).
struct mailbox_link {
  /// The next node in push order; see the Protocol above.
  std::atomic<mailbox_link*> next_{nullptr};
};

class mpsc_pop_end;

/// The pushers' end of the queue (`head_`). Kept apart from the consumer's end so an owner can
/// put each on the cache line of the fields used with it (an actor: its state word here).
class mpsc_push_end {
 public:
  /// An empty queue: head_ names q's stub. Both ends live as long as each other.
  explicit mpsc_push_end(mpsc_pop_end& q) noexcept { attach(q); }
  /// Not usable until attach(): for an owner that builds the pop end after this one.
  mpsc_push_end() noexcept = default;
  /// Makes this the push end of the empty queue whose pop end is q. Before any push.
  void attach(mpsc_pop_end& q) noexcept;
  mpsc_push_end(const mpsc_push_end&) = delete;
  mpsc_push_end& operator=(const mpsc_push_end&) = delete;

  /// Appends `n`. Any thread or task; never blocks, never fails, allocates nothing.
  /// Memory ordering: everything the caller wrote before push(n) is visible to the consumer
  /// after the try_pop() that returns n (P1, P2).
  void push(mailbox_link* n) noexcept {
    // relaxed: n is not shared yet; the release half of the exchange below publishes this store.
    n->next_.store(nullptr, std::memory_order_relaxed);
    // acq_rel: P1.
    mailbox_link* prev = head_.exchange(n, std::memory_order_acq_rel);
    // release: the consumer that reads this link must see the node's contents; P2.
    prev->next_.store(n, std::memory_order_release);
  }

 private:
  friend class mpsc_pop_end;
  std::atomic<mailbox_link*> head_{nullptr};  // pushers, via exchange (P1); the consumer compares it
};

/// The consumer's end of the queue (`tail_` and the stub). One consumer at a time.
class mpsc_pop_end {
 public:
  mpsc_pop_end() noexcept : tail_(&stub_) {}
  mpsc_pop_end(const mpsc_pop_end&) = delete;
  mpsc_pop_end& operator=(const mpsc_pop_end&) = delete;

  /// The oldest node whose link is visible, or nullptr if there is none: the queue is empty, or
  /// a pusher is between its exchange and its link store (then retry). Consumer only; `in` is
  /// this queue's push end.
  mailbox_link* try_pop(mpsc_push_end& in) noexcept {
    mailbox_link* tail = tail_;
    // acquire: P2 (the node we may return was published by this link).
    mailbox_link* next = tail->next_.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) return nullptr;  // empty, or the first pusher has not linked yet
      tail_ = next;  // step over the stub
      tail = next;
      // acquire: P2.
      next = next->next_.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    // `tail` is the last linked node. Pop it only if it is also the last pushed one (I3).
    // relaxed: compared, never dereferenced; a stale value only makes us push the stub behind a
    // node pushed meanwhile, which is harmless (we then wait for that node's link below).
    if (tail != in.head_.load(std::memory_order_relaxed)) return nullptr;  // a pusher is mid-push
    in.push(&stub_);  // I2: tail != &stub_ here, and nothing is behind tail
    // acquire: P2 (the successor is the stub, or a node pushed just before it).
    next = tail->next_.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    return nullptr;  // a pusher slipped in before the stub and has not linked yet
  }

 private:
  friend class mpsc_push_end;
  mailbox_link* tail_;  // the consumer only
  mailbox_link stub_;   // the consumer re-pushes it; I2
};

inline void mpsc_push_end::attach(mpsc_pop_end& q) noexcept {
  // relaxed: done while the owner is being built, before the queue is shared.
  head_.store(&q.stub_, std::memory_order_relaxed);
}

/// Both ends with a cache line between them, for an owner with nothing else to put next to them.
class mpsc_queue {
 public:
  mpsc_queue() noexcept : in_(out_) {}
  void push(mailbox_link* n) noexcept { in_.push(n); }
  mailbox_link* try_pop() noexcept { return out_.try_pop(in_); }

 private:
  mpsc_pop_end out_;  // declared first: in_ is built from its stub's address
  alignas(cache_line_size) mpsc_push_end in_;
};

}  // namespace weft::detail
